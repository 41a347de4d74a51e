# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only Kubernetes API access for the Liqo modules, through the kubernetes Python client.

Every object comes back as a plain dict in the API's JSON shape (camelCase keys), whether it is
a core object or a Liqo custom resource. Failures raise KubeAccessError with a message that
names the kubeconfig, the context and the API URL, so the modules can stop before they change
anything.
"""

from __future__ import annotations

import os
import traceback

try:
    import urllib3
    from kubernetes import client as kube_client
    from kubernetes import config as kube_config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

try:
    import yaml

    HAS_YAML = True
except ImportError:
    HAS_YAML = False

# Exceptions the kubernetes client raises for a file that is not a usable kubeconfig. It parses the
# YAML and then indexes into it, so plain text or a list gives TypeError or AttributeError.
KUBECONFIG_ERRORS = (OSError, ValueError, TypeError, AttributeError, KeyError)
if HAS_KUBERNETES:
    KUBECONFIG_ERRORS += (ConfigException,)
if HAS_YAML:
    KUBECONFIG_ERRORS += (yaml.YAMLError,)

# Seconds for one API request (connect, read). A reachable API server responds well within this.
REQUEST_TIMEOUT = (10, 30)

# Liqo v1.0.3 custom resources the modules read: kind -> (group, version, plural, namespaced).
LIQO_RESOURCES = {
    "ForeignCluster": ("core.liqo.io", "v1beta1", "foreignclusters", False),
    "ResourceSlice": ("authentication.liqo.io", "v1beta1", "resourceslices", True),
    "VirtualNode": ("offloading.liqo.io", "v1beta1", "virtualnodes", True),
    "NamespaceOffloading": ("offloading.liqo.io", "v1beta1", "namespaceoffloadings", True),
    "Network": ("ipam.liqo.io", "v1alpha1", "networks", True),
}

# Keys of a kubeconfig user entry that hold credentials, masked from module output.
CREDENTIAL_KEYS = ("token", "password", "client-key-data", "id-token", "refresh-token", "access-token")


class KubeAccessError(Exception):
    """The API could not be reached or read. The message names the cluster and what to check."""


def describe_access(kubeconfig, context):
    """Return 'kubeconfig PATH (context NAME)' for messages."""
    text = f"kubeconfig {kubeconfig}"
    if context:
        text += f" (context {context})"
    return text


def check_kubeconfig_file(kubeconfig, context):
    """Raise KubeAccessError unless kubeconfig names one readable file."""
    if os.pathsep in kubeconfig:
        raise KubeAccessError(
            f"kubeconfig {kubeconfig} lists several files; liqoctl takes one file, so set kubeconfig "
            "(or K8S_AUTH_KUBECONFIG/KUBECONFIG) to a single path"
        )
    if not os.path.isfile(kubeconfig):
        raise KubeAccessError(
            f"{describe_access(kubeconfig, context)} does not exist; set kubeconfig to the cluster's kubeconfig file"
        )
    if not os.access(kubeconfig, os.R_OK):
        raise KubeAccessError(
            f"{describe_access(kubeconfig, context)} is not readable by this user; fix its owner or mode (0600)"
        )


def kubeconfig_credentials(kubeconfig):
    """Return the credential strings of a kubeconfig file, to add to the module's no_log values."""
    if not HAS_YAML:
        return []
    try:
        with open(kubeconfig, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError):
        return []
    return list(iter_credentials(document))


def iter_credentials(document):
    users = document.get("users") if isinstance(document, dict) else None
    for entry in users or []:
        user = (entry or {}).get("user") or {}
        for key in CREDENTIAL_KEYS:
            if isinstance(user.get(key), str) and user[key]:
                yield user[key]
        provider_config = (user.get("auth-provider") or {}).get("config") or {}
        for key in CREDENTIAL_KEYS:
            if isinstance(provider_config.get(key), str) and provider_config[key]:
                yield provider_config[key]


class KubeCluster:
    """Read access to one cluster's API, from a kubeconfig file and an optional context."""

    def __init__(self, kubeconfig, context=None):
        self.kubeconfig = kubeconfig
        self.context = context
        self.api_url = None
        check_kubeconfig_file(kubeconfig, context)
        configuration = kube_client.Configuration()
        try:
            kube_config.load_kube_config(
                config_file=kubeconfig, context=context, client_configuration=configuration, persist_config=False
            )
        except KUBECONFIG_ERRORS as error:
            raise KubeAccessError(
                f"Cannot load {describe_access(kubeconfig, context)}: {error}. Check that the file is a kubeconfig "
                "and that the context exists in it"
            ) from error
        self.api_url = configuration.host
        self.api_client = kube_client.ApiClient(configuration)
        self.core = kube_client.CoreV1Api(self.api_client)
        self.custom = kube_client.CustomObjectsApi(self.api_client)

    def where(self):
        return f"the Kubernetes API at {self.api_url} ({describe_access(self.kubeconfig, self.context)})"

    def probe(self):
        """Raise KubeAccessError unless the API responds to an authenticated request."""
        self.call(self.core.list_namespace, limit=1)

    def call(self, method, *args, **kwargs):
        """Run one client call; return None on 404 and raise KubeAccessError on any other failure."""
        try:
            return method(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except ApiException as error:
            if error.status == 404:
                return None
            raise KubeAccessError(self.explain_api_error(error)) from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise KubeAccessError(
                f"Cannot reach {self.where()}: {error}. Check that the cluster is running, that this host can reach "
                "the address in the kubeconfig, and that its certificates are valid"
            ) from error

    def explain_api_error(self, error):
        if error.status in (401, 403):
            return (
                f"{self.where()} rejected the request (HTTP {error.status} {error.reason}). Check that the "
                "kubeconfig credentials are valid and allowed to read Liqo objects (cluster-admin is expected)"
            )
        return f"Request to {self.where()} failed (HTTP {error.status} {error.reason}): {error.body}"

    def to_dict(self, model):
        return self.api_client.sanitize_for_serialization(model) if model is not None else None

    def get_namespace(self, name):
        return self.to_dict(self.call(self.core.read_namespace, name))

    def get_config_map(self, namespace, name):
        return self.to_dict(self.call(self.core.read_namespaced_config_map, name, namespace))

    def list_nodes(self, label_selector=None):
        result = self.to_dict(self.call(self.core.list_node, label_selector=label_selector or ""))
        return (result or {}).get("items") or []

    def list_secrets(self, namespace, label_selector=None):
        secrets = self.call(self.core.list_namespaced_secret, namespace, label_selector=label_selector or "")
        result = self.to_dict(secrets)
        return (result or {}).get("items") or []

    def get_liqo_object(self, kind, name, namespace=None):
        """Return one Liqo custom resource, or None when it or its CRD does not exist."""
        group, version, plural, namespaced = LIQO_RESOURCES[kind]
        if namespaced:
            return self.call(self.custom.get_namespaced_custom_object, group, version, namespace, plural, name)
        return self.call(self.custom.get_cluster_custom_object, group, version, plural, name)

    def list_liqo_objects(self, kind, namespace=None, label_selector=None):
        """Return Liqo custom resources of one kind (all namespaces unless one is given); [] without the CRD."""
        group, version, plural, _namespaced = LIQO_RESOURCES[kind]
        selector = label_selector or ""
        if namespace:
            result = self.call(
                self.custom.list_namespaced_custom_object, group, version, namespace, plural, label_selector=selector
            )
        else:
            result = self.call(self.custom.list_cluster_custom_object, group, version, plural, label_selector=selector)
        return (result or {}).get("items") or []
