"""REST paths of the Kubernetes and Liqo v1.0.3 kinds the stand-in reads and writes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One API kind: where it lives and whether it is namespaced."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    def collection(self, namespace: str = "") -> str:
        """Path of the collection, across all namespaces when namespace is empty."""
        prefix = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            return f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{prefix}/{self.plural}"

    def item(self, name: str, namespace: str = "") -> str:
        """Path of one object."""
        return f"{self.collection(namespace)}/{name}"

    def status(self, name: str, namespace: str = "") -> str:
        """Path of the status subresource of one object."""
        return f"{self.item(name, namespace)}/status"

    def skeleton(self, name: str, namespace: str = "") -> dict:
        """A minimal object of this kind, ready to be filled."""
        metadata = {"name": name}
        if self.namespaced:
            metadata["namespace"] = namespace
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": metadata}


NAMESPACE = Kind("v1", "Namespace", "namespaces", namespaced=False)
NODE = Kind("v1", "Node", "nodes", namespaced=False)
POD = Kind("v1", "Pod", "pods")
SERVICE = Kind("v1", "Service", "services")
SERVICE_ACCOUNT = Kind("v1", "ServiceAccount", "serviceaccounts")
SECRET = Kind("v1", "Secret", "secrets")
CONFIG_MAP = Kind("v1", "ConfigMap", "configmaps")
DEPLOYMENT = Kind("apps/v1", "Deployment", "deployments")
DAEMON_SET = Kind("apps/v1", "DaemonSet", "daemonsets")
CLUSTER_ROLE = Kind("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", namespaced=False)
CLUSTER_ROLE_BINDING = Kind(
    "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False
)
ROLE_BINDING = Kind("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings")
RUNTIME_CLASS = Kind("node.k8s.io/v1", "RuntimeClass", "runtimeclasses", namespaced=False)
STORAGE_CLASS = Kind("storage.k8s.io/v1", "StorageClass", "storageclasses", namespaced=False)
CRD = Kind("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", namespaced=False)

FOREIGN_CLUSTER = Kind("core.liqo.io/v1beta1", "ForeignCluster", "foreignclusters", namespaced=False)
RESOURCE_SLICE = Kind("authentication.liqo.io/v1beta1", "ResourceSlice", "resourceslices")
TENANT = Kind("authentication.liqo.io/v1beta1", "Tenant", "tenants")
IDENTITY = Kind("authentication.liqo.io/v1beta1", "Identity", "identities")
NETWORK = Kind("ipam.liqo.io/v1alpha1", "Network", "networks")
IP = Kind("ipam.liqo.io/v1alpha1", "IP", "ips")
CONFIGURATION = Kind("networking.liqo.io/v1beta1", "Configuration", "configurations")
GATEWAY_SERVER = Kind("networking.liqo.io/v1beta1", "GatewayServer", "gatewayservers")
GATEWAY_CLIENT = Kind("networking.liqo.io/v1beta1", "GatewayClient", "gatewayclients")
PUBLIC_KEY = Kind("networking.liqo.io/v1beta1", "PublicKey", "publickeies")
CONNECTION = Kind("networking.liqo.io/v1beta1", "Connection", "connections")
WG_SERVER_TEMPLATE = Kind("networking.liqo.io/v1beta1", "WgGatewayServerTemplate", "wggatewayservertemplates")
WG_CLIENT_TEMPLATE = Kind("networking.liqo.io/v1beta1", "WgGatewayClientTemplate", "wggatewayclienttemplates")
VIRTUAL_NODE = Kind("offloading.liqo.io/v1beta1", "VirtualNode", "virtualnodes")
NAMESPACE_OFFLOADING = Kind("offloading.liqo.io/v1beta1", "NamespaceOffloading", "namespaceoffloadings")
NAMESPACE_MAP = Kind("offloading.liqo.io/v1beta1", "NamespaceMap", "namespacemaps")
VK_OPTIONS_TEMPLATE = Kind("offloading.liqo.io/v1beta1", "VkOptionsTemplate", "vkoptionstemplates")

BY_KIND = {kind.kind: kind for kind in globals().values() if isinstance(kind, Kind)}

# The API groups whose CRDs `liqoctl uninstall --purge` deletes (pkg/liqoctl/uninstall).
LIQO_GROUP_VERSIONS = (
    "authentication.liqo.io/v1beta1",
    "core.liqo.io/v1beta1",
    "ipam.liqo.io/v1alpha1",
    "networking.liqo.io/v1beta1",
    "offloading.liqo.io/v1beta1",
)


def kind_of(obj: dict) -> Kind:
    """Return the Kind of an object by its kind field."""
    return BY_KIND[obj["kind"]]


def path_of(obj: dict) -> str:
    """Return the REST path of an object."""
    metadata = obj["metadata"]
    return kind_of(obj).item(metadata["name"], metadata.get("namespace", ""))
