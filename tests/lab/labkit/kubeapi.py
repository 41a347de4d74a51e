"""A small Kubernetes REST client for the lab's own bootstrap (no discovery of every group at start-up).

A start sends several hundred requests from several threads. The official client's import time and
start-up discovery of every API group would cost more than the requests, so this client keeps one
keep-alive HTTPS connection per thread and resolves kinds lazily.
"""

import http.client
import json
import ssl
import threading
import urllib.parse
from dataclasses import dataclass

APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
FIELD_MANAGER = "labctl"


class ApiError(RuntimeError):
    """The API server returned an error status."""

    def __init__(self, status: int, method: str, path: str, body: bytes):
        self.status = status
        try:
            details = json.loads(body)
            message = details.get("message", "")
            self.reason = details.get("reason", "")
        except ValueError:
            message = body[:300].decode(errors="replace")
            self.reason = ""
        super().__init__(f"{method} {path} failed with HTTP {status}: {message}")


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the REST API."""

    group_version: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        prefix = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        parts = [prefix]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name:
            parts.append(name)
        if subresource:
            parts.append(subresource)
        return "/".join(parts)


class KubeClient:
    """Token-authenticated client for one API server, safe to share between threads."""

    def __init__(self, host: str, port: int, ca_file: str, token: str, timeout: float = 30.0):
        self.host = host
        self.port = port
        self._token = token
        self._timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_file)
        self._local = threading.local()
        self._resources: dict[tuple[str, str], Resource] = {}
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPSConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPSConnection(
                self.host, self.port, context=self._context, timeout=self._timeout
            )
            self._local.connection = connection
        return connection

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def request(self, method: str, path: str, body: object = None, content_type: str = "application/json"):
        """Send one request and return the decoded JSON (or plain text) body; raise ApiError on an error status."""
        payload = body
        if body is not None and not isinstance(body, bytes):
            payload = json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                # The server closed an idle keep-alive connection; reconnect once.
                self.close()
                if attempt == 2:
                    raise
        if response.status >= 400:
            raise ApiError(response.status, method, path, data)
        if not data:
            return {}
        # Health endpoints such as /readyz return plain text.
        if not response.getheader("Content-Type", "").startswith("application/json"):
            return data.decode(errors="replace")
        return json.loads(data)

    def get(self, path: str, **query):
        if query:
            path = f"{path}?{urllib.parse.urlencode(query)}"
        return self.request("GET", path)

    def apply(self, resource: Resource, manifest: dict, subresource: str | None = None):
        """Server-side apply one object as field manager `labctl`, taking over conflicting fields."""
        metadata = manifest["metadata"]
        path = resource.path(metadata.get("namespace"), metadata["name"], subresource)
        query = urllib.parse.urlencode({"fieldManager": FIELD_MANAGER, "force": "true"})
        return self.request("PATCH", f"{path}?{query}", manifest, APPLY_PATCH)

    def resource_for(self, api_version: str, kind: str) -> Resource:
        """Map apiVersion and kind to the REST resource, reading the group's discovery document on a miss."""
        key = (api_version, kind)
        with self._lock:
            if key in self._resources:
                return self._resources[key]
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        listing = self.get(prefix)
        with self._lock:
            for entry in listing.get("resources", []):
                if "/" not in entry["name"]:
                    resource = Resource(api_version, entry["name"], entry["namespaced"])
                    self._resources[(api_version, entry["kind"])] = resource
            if key not in self._resources:
                raise ApiError(404, "GET", prefix, json.dumps({"message": f"kind {kind} not served"}).encode())
            return self._resources[key]

    def forget_resources(self) -> None:
        with self._lock:
            self._resources.clear()


def is_not_found(error: Exception) -> bool:
    return isinstance(error, ApiError) and error.status == 404
