"""Kubeconfig resolution and a small JSON REST client for the lab's API servers.

Kubeconfig handling follows client-go's clientcmd as liqoctl uses it. --kubeconfig names one file, which must
exist. Without it the files in KUBECONFIG are merged (the first definition wins), else ~/.kube/config is read.
--context, --cluster, --user, --server, --token and the TLS flags override the chosen context. Errors carry the
messages kubectl's CheckErr would print.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes.config.kube_config import KubeConfigLoader

from . import goformat

EMPTY_CONFIG_MESSAGE = (
    "Error in configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable"
)


class ConfigError(Exception):
    """The kubeconfig could not be resolved; the message is what liqoctl prints after ERRO."""


class KubeError(Exception):
    """An API call failed; the message is formatted like kubectl's StandardErrorMessage."""

    def __init__(self, message: str, status: int = 0, reason: str = "", api_message: str = "", raw: str = ""):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.api_message = api_message
        # The text of the Go error before kubectl prettifies it, for messages liqoctl prints unprettified.
        self.raw = raw or api_message or message

    @property
    def not_found(self) -> bool:
        """Whether the server returned NotFound."""
        return self.status == 404

    @property
    def already_exists(self) -> bool:
        """Whether the server returned AlreadyExists."""
        return self.status == 409 and self.reason == "AlreadyExists"

    @property
    def conflict(self) -> bool:
        """Whether the server returned Conflict (stale resourceVersion)."""
        return self.status == 409 and self.reason == "Conflict"


@dataclass
class AccessFlags:
    """kubectl-style access flags of one cluster (liqoctl's local or remote factory)."""

    kubeconfig: str = ""
    context: str = ""
    cluster: str = ""
    user: str = ""
    server: str = ""
    token: str = ""
    certificate_authority: str = ""
    client_certificate: str = ""
    client_key: str = ""
    insecure_skip_tls_verify: bool = False
    tls_server_name: str = ""
    request_timeout: str = "0"
    impersonate: str = ""
    impersonate_uid: str = ""
    impersonate_groups: list[str] = field(default_factory=list)


@dataclass
class ResolvedConfig:
    """The cluster and user entries selected by the flags, with paths made absolute."""

    cluster: dict[str, Any]
    user: dict[str, Any]
    base_path: str
    timeout_seconds: float | None
    impersonation: dict[str, Any]

    @property
    def server(self) -> str:
        """API server URL."""
        return self.cluster.get("server", "")

    def identity(self) -> tuple:
        """A value that is equal for two configs reaching the same server as the same user."""
        return (json.dumps(self.cluster, sort_keys=True), json.dumps(self.user, sort_keys=True))

    def flattened_kubeconfig(self, name: str) -> str:
        """Return a self-contained kubeconfig (file references embedded as data) for this cluster and user."""
        cluster = _embed_files(self.cluster, self.base_path, {"certificate-authority": "certificate-authority-data"})
        user = _embed_files(
            self.user,
            self.base_path,
            {"client-certificate": "client-certificate-data", "client-key": "client-key-data"},
        )
        if "tokenFile" in user:
            with open(_absolute(user.pop("tokenFile"), self.base_path), encoding="utf-8") as handle:
                user["token"] = handle.read().strip()
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": cluster}],
            "users": [{"name": name, "user": user}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
        }
        return yaml.safe_dump(document, sort_keys=False)


def _absolute(path: str, base: str) -> str:
    return path if os.path.isabs(path) else os.path.join(base, path)


def _embed_files(entry: dict[str, Any], base: str, fields: dict[str, str]) -> dict[str, Any]:
    result = copy.deepcopy(entry)
    for path_key, data_key in fields.items():
        if path_key in result:
            with open(_absolute(result.pop(path_key), base), "rb") as handle:
                result[data_key] = base64.b64encode(handle.read()).decode()
    return result


def _load_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"error: error loading config file {goformat.quote(path)}: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"error: error loading config file {goformat.quote(path)}: not a kubeconfig object")
    return document


def _merge_named(target: dict[str, tuple[dict, str]], entries: list | None, key: str, base: str) -> None:
    for entry in entries or []:
        name = entry.get("name")
        if name is not None and name not in target:
            target[name] = (entry.get(key) or {}, base)


def load_merged(flags: AccessFlags) -> dict[str, Any]:
    """Load and merge the kubeconfig files selected by --kubeconfig, KUBECONFIG or the home default."""
    if flags.kubeconfig:
        if not os.path.exists(flags.kubeconfig):
            raise ConfigError(f"error: stat {flags.kubeconfig}: no such file or directory")
        paths = [flags.kubeconfig]
    elif os.environ.get("KUBECONFIG"):
        paths = [path for path in os.environ["KUBECONFIG"].split(os.pathsep) if path and os.path.exists(path)]
    else:
        default = os.path.join(os.path.expanduser("~"), ".kube", "config")
        paths = [default] if os.path.exists(default) else []
    merged = {"clusters": {}, "users": {}, "contexts": {}, "current-context": ""}
    for path in paths:
        document = _load_file(path)
        base = os.path.dirname(os.path.abspath(path))
        _merge_named(merged["clusters"], document.get("clusters"), "cluster", base)
        _merge_named(merged["users"], document.get("users"), "user", base)
        _merge_named(merged["contexts"], document.get("contexts"), "context", base)
        if not merged["current-context"] and document.get("current-context"):
            merged["current-context"] = document["current-context"]
    return merged


def resolve(flags: AccessFlags) -> ResolvedConfig:
    """Select cluster and user from the merged kubeconfig and apply the override flags."""
    merged = load_merged(flags)
    context_name = flags.context or merged["current-context"]
    context: dict[str, Any] = {}
    if context_name:
        if context_name not in merged["contexts"]:
            raise ConfigError(f"Error in configuration: context was not found for specified context: {context_name}")
        context = merged["contexts"][context_name][0]
    cluster_name = flags.cluster or context.get("cluster", "")
    user_name = flags.user or context.get("user", "")
    cluster, base = copy.deepcopy(merged["clusters"].get(cluster_name, ({}, os.getcwd())))
    user = copy.deepcopy(merged["users"].get(user_name, ({}, os.getcwd()))[0])
    _apply_overrides(flags, cluster, user)
    if not cluster.get("server"):
        if not cluster:
            raise ConfigError(EMPTY_CONFIG_MESSAGE)
        where = f"cluster {goformat.quote(cluster_name)}" if cluster_name else "default cluster"
        raise ConfigError(f"Error in configuration: no server found for {where}")
    timeout = goformat.parse_duration(flags.request_timeout) / 1e9 if flags.request_timeout not in ("", "0") else None
    impersonation = {
        "user": flags.impersonate,
        "uid": flags.impersonate_uid,
        "groups": list(flags.impersonate_groups),
    }
    return ResolvedConfig(
        cluster=cluster, user=user, base_path=base, timeout_seconds=timeout, impersonation=impersonation
    )


def _apply_overrides(flags: AccessFlags, cluster: dict[str, Any], user: dict[str, Any]) -> None:
    if flags.server:
        cluster["server"] = flags.server
    if flags.certificate_authority:
        cluster["certificate-authority"] = os.path.abspath(flags.certificate_authority)
        cluster.pop("certificate-authority-data", None)
    if flags.insecure_skip_tls_verify:
        cluster["insecure-skip-tls-verify"] = True
        cluster.pop("certificate-authority", None)
        cluster.pop("certificate-authority-data", None)
    if flags.tls_server_name:
        cluster["tls-server-name"] = flags.tls_server_name
    if flags.token:
        user["token"] = flags.token
    if flags.client_certificate:
        user["client-certificate"] = os.path.abspath(flags.client_certificate)
        user.pop("client-certificate-data", None)
    if flags.client_key:
        user["client-key"] = os.path.abspath(flags.client_key)
        user.pop("client-key-data", None)


def _build_api_client(config: ResolvedConfig) -> k8s_client.ApiClient:
    document = {
        "clusters": [{"name": "standin", "cluster": config.cluster}],
        "users": [{"name": "standin", "user": config.user}],
        "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "standin"}}],
        "current-context": "standin",
    }
    configuration = k8s_client.Configuration()
    KubeConfigLoader(config_dict=document, config_base_path=config.base_path).load_and_set(configuration)
    # Fail fast on refused connections, as client-go does, instead of urllib3's three retries.
    configuration.retries = 0
    api_client = k8s_client.ApiClient(configuration)
    if config.impersonation["user"]:
        api_client.set_default_header("Impersonate-User", config.impersonation["user"])
    if config.impersonation["uid"]:
        api_client.set_default_header("Impersonate-Uid", config.impersonation["uid"])
    return api_client


class Cluster:
    """JSON REST access to one API server."""

    def __init__(self, config: ResolvedConfig):
        self.config = config
        self._api_client: k8s_client.ApiClient | None = None

    @property
    def server(self) -> str:
        """API server URL from the kubeconfig."""
        return self.config.server

    def _client(self) -> k8s_client.ApiClient:
        if self._api_client is None:
            self._api_client = _build_api_client(self.config)
        return self._api_client

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """Send one request and return the decoded JSON response; raise KubeError on failure."""
        api = self._client()
        headers = {"Accept": "application/json", "Content-Type": content_type}
        method, url, headers, body, _unused = api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list((query or {}).items()),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        for attempt in range(MAX_RETRIES_AFTER + 1):
            try:
                response = api.call_api(
                    method, url, header_params=headers, body=body, _request_timeout=self.config.timeout_seconds
                )
                data = response.read()
            except (urllib3.exceptions.HTTPError, OSError) as error:
                raise self._connection_error(error, method, url) from None
            retry_after = _retry_after_seconds(response)
            if retry_after is None or attempt == MAX_RETRIES_AFTER:
                break
            # client-go retries such answers (for example "storage is (re)initializing" right after a CRD is
            # established), so the real liqoctl does not fail on them either.
            time.sleep(retry_after)
        if not 200 <= response.status < 300:
            raise _status_error(response.status, data)
        return json.loads(data) if data else None

    def _connection_error(self, error: Exception, method: str, url: str) -> KubeError:
        host = urllib.parse.urlparse(self.server).netloc
        text = str(error)
        verb = method.capitalize()
        if "Connection refused" in text or "ConnectionRefused" in text:
            raw = f"{verb} {goformat.quote(url)}: dial tcp {host}: connect: connection refused"
            return KubeError(
                f"The connection to the server {host} was refused - did you specify the right host or port?", raw=raw
            )
        return KubeError(f"Unable to connect to the server: {text}", raw=f"{verb} {goformat.quote(url)}: {text}")

    # Convenience wrappers -------------------------------------------------------------------------------------

    def get(self, path: str) -> dict[str, Any] | None:
        """GET an object, or None when it does not exist."""
        try:
            return self.request("GET", path)
        except KubeError as error:
            if error.not_found:
                return None
            raise

    def list(self, path: str, label_selector: str = "", field_selector: str = "") -> list[dict[str, Any]]:
        """GET a collection and return its items."""
        query = {}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        answer = self.request("GET", path, query=query)
        return answer.get("items") or []

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a new object."""
        return self.request("POST", path, body=body)

    def replace(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT an object."""
        return self.request("PUT", path, body=body)

    def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        """PATCH with a JSON merge patch."""
        return self.request("PATCH", path, body=patch, content_type="application/merge-patch+json")

    def apply(self, path: str, body: dict[str, Any], manager: str) -> dict[str, Any]:
        """Server-side apply, forcing ownership as Helm's --force-conflicts and kubectl apply --server-side do."""
        return self.request(
            "PATCH",
            path,
            body=body,
            query={"fieldManager": manager, "force": "true"},
            content_type="application/apply-patch+yaml",
        )

    def delete(self, path: str, propagation: str = "Background") -> bool:
        """DELETE an object; return False when it was already gone."""
        try:
            self.request(
                "DELETE", path, body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
            )
        except KubeError as error:
            if error.not_found:
                return False
            raise
        return True


# client-go's default for retries of responses that carry Retry-After (rest.Request maxRetries).
MAX_RETRIES_AFTER = 10


def _retry_after_seconds(response) -> int | None:
    """Return the seconds to wait when the API server requests a retry (429 or 5xx with Retry-After), else None."""
    header = response.headers.get("Retry-After") if response.headers else None
    if not header or not (response.status == 429 or 500 <= response.status < 600):
        return None
    try:
        return max(1, int(header))
    except (TypeError, ValueError):
        return 1


def _status_error(status: int, data: bytes) -> KubeError:
    try:
        body = json.loads(data)
    except ValueError:
        body = {}
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    message = body.get("message", "") if isinstance(body, dict) else ""
    if not message:
        message = data.decode(errors="replace").strip() or f"status {status}"
    if reason == "Unauthorized":
        text = f"error: You must be logged in to the server ({message})"
    elif reason:
        text = f"Error from server ({reason}): {message}"
    else:
        text = f"Error from server: {message}"
    return KubeError(text, status=status, reason=reason, api_message=message)


def not_found_error(resource: str, name: str) -> KubeError:
    """Build the NotFound error client-go would return for a missing object (apierrors.NewNotFound)."""
    message = f"{resource} {goformat.quote(name)} not found"
    return KubeError(f"Error from server (NotFound): {message}", status=404, reason="NotFound", api_message=message)
