"""Lookups of installed Liqo state that several commands share (cluster ID, tenant namespaces, versions)."""

from __future__ import annotations

from typing import Any

from . import resources as res
from .kube import Cluster, KubeError, not_found_error

CLUSTER_ID_SELECTOR = "app.kubernetes.io/name in (clusterid-configmap)"
CONTROLLER_MANAGER_SELECTOR = "app.kubernetes.io/name=controller-manager,app.kubernetes.io/component=controller-manager"
TENANT_PREFIX = "liqo-tenant"
REMOTE_CLUSTER_ID = "liqo.io/remote-cluster-id"
TENANT_NAMESPACE_LABEL = "liqo.io/tenant-namespace"


def cluster_id(cluster: Cluster, liqo_namespace: str) -> str:
    """Read the cluster ID from the ConfigMap labelled app.kubernetes.io/name=clusterid-configmap.

    Raises KubeError NotFound `configmaps "configmaps" not found` when Liqo is not installed, as
    liqoutils.GetClusterIDWithControllerClient does in v1.0.3.
    """
    items = cluster.list(res.CONFIG_MAP.collection(liqo_namespace), label_selector=CLUSTER_ID_SELECTOR)
    if not items:
        raise not_found_error("configmaps", "configmaps")
    if len(items) > 1:
        raise KubeError(
            "multiple resources of type {configmaps} found for label selector "
            f"{{app.kubernetes.io/name in (clusterid-configmap)}} in namespace {{{liqo_namespace}}}, "
            "when only one was expected"
        )
    config_map = items[0]
    value = (config_map.get("data") or {}).get("CLUSTER_ID")
    if value is None:
        metadata = config_map["metadata"]
        raise KubeError(
            f"unable to get cluster ID: field {{CLUSTER_ID}} not found in configmap "
            f"{{{metadata['namespace']}/{metadata['name']}}}"
        )
    return value


def tenant_namespace_name(remote_id: str) -> str:
    """Default tenant namespace name for a remote cluster."""
    return f"{TENANT_PREFIX}-{remote_id}"


def get_tenant_namespace(cluster: Cluster, remote_id: str) -> dict[str, Any]:
    """The tenant namespace of remote_id, found by label; NotFound `Namespace "<id>" not found` otherwise."""
    items = cluster.list(
        res.NAMESPACE.collection(), label_selector=f"{REMOTE_CLUSTER_ID}={remote_id},{TENANT_NAMESPACE_LABEL}"
    )
    if not items:
        raise not_found_error("Namespace", remote_id)
    if len(items) > 1:
        raise KubeError(f"multiple tenant namespaces found for clusterid {remote_id}")
    return items[0]


def ensure_tenant_namespace(cluster: Cluster, remote_id: str) -> dict[str, Any]:
    """Return the tenant namespace of remote_id, creating it when missing (tenantnamespace.CreateNamespace)."""
    try:
        return get_tenant_namespace(cluster, remote_id)
    except KubeError as error:
        if not error.not_found:
            raise
    namespace = res.NAMESPACE.skeleton(tenant_namespace_name(remote_id))
    namespace["metadata"]["labels"] = {REMOTE_CLUSTER_ID: remote_id, TENANT_NAMESPACE_LABEL: "true"}
    return cluster.create(res.NAMESPACE.collection(), namespace)


def controller_manager(cluster: Cluster, liqo_namespace: str) -> dict[str, Any]:
    """The liqo-controller-manager Deployment, found by its component labels."""
    try:
        items = cluster.list(res.DEPLOYMENT.collection(liqo_namespace), label_selector=CONTROLLER_MANAGER_SELECTOR)
    except KubeError:
        raise KubeError("failed to retrieve the liqo controller manager deployment") from None
    if not items:
        raise not_found_error("deployments.apps", "liqo-controller-manager")
    if len(items) > 1:
        raise KubeError(f"retrieved multiple liqo-controller-manager deployments: {len(items)}")
    return items[0]


def controller_manager_container(deployment: dict[str, Any]) -> dict[str, Any]:
    """The controller-manager container of the Deployment."""
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        if container["name"] == "controller-manager":
            return container
    raise KubeError('invalid controller manager deployment: no container with name "controller-manager" found')


def image_version(container: dict[str, Any]) -> str:
    """Tag of a container image (getters.GetContainerImageVersion)."""
    parts = container["image"].split(":")
    if len(parts) == 1:
        raise KubeError("missing version in container image")
    return parts[-1]


def argument_value(args: list[str], key: str) -> str | None:
    """Value of `key=value` in an argument list, "" for a bare key, None when absent."""
    for argument in args:
        if argument.startswith(key + "="):
            return argument.split("=", 1)[1]
        if argument == key:
            return ""
    return None


def parse_key_values(text: str) -> dict[str, str]:
    """Parse `k1=v1,k2=v2` as liqoctl's ParseArgsMultipleValues does (each item needs exactly one '=')."""
    result = {}
    for item in text.split(","):
        parts = item.split("=")
        if len(parts) != 2:
            raise KubeError(f"invalid value {item}")
        result[parts[0]] = parts[1]
    return result


_ADDRESS_PREFERENCE = ("ExternalDNS", "ExternalIP", "InternalDNS", "InternalIP")


def api_server_url(cluster: Cluster, liqo_namespace: str) -> str:
    """The API server address Liqo advertises: the override argument, else the first control-plane node."""
    container = controller_manager_container(controller_manager(cluster, liqo_namespace))
    override = argument_value(container.get("args") or [], "--api-server-address-override") or ""
    if override:
        return override if override.startswith("https://") else f"https://{override}"
    nodes: list[dict[str, Any]] = []
    for label in (
        "node-role.kubernetes.io/control-plane",
        "node-role.kubernetes.io/master",
        "node-role.kubernetes.io/controlplane",
    ):
        nodes = cluster.list(res.NODE.collection(), label_selector=label)
        if nodes:
            break
    if not nodes:
        raise KubeError(
            "no ApiServer.Address variable provided and no master node found, one of the two values must be present"
        )
    for address_type in _ADDRESS_PREFERENCE:
        for node in nodes:
            for address in node.get("status", {}).get("addresses") or []:
                if address["type"] == address_type:
                    return f"https://{address['address']}:6443"
    raise KubeError("no address found")


def cluster_labels(cluster: Cluster, liqo_namespace: str) -> dict[str, str]:
    """Cluster labels from the controller-manager --cluster-labels argument."""
    container = controller_manager_container(controller_manager(cluster, liqo_namespace))
    text = argument_value(container.get("args") or [], "--cluster-labels")
    return parse_key_values(text) if text else {}


def default_node_resources(cluster: Cluster, liqo_namespace: str) -> dict[str, str]:
    """The provider's --default-node-resources (offloading.defaultNodeResources in the chart values)."""
    container = controller_manager_container(controller_manager(cluster, liqo_namespace))
    text = argument_value(container.get("args") or [], "--default-node-resources")
    return parse_key_values(text) if text else {}
