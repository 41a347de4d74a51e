"""The ForeignCluster controller of liqo-controller-manager v1.0.3, run once on demand.

The status is derived from the peering objects present in the cluster (foreigncluster-controller/status.go):
modules are enabled by their objects, conditions keep their history (clearStatusExceptConditions) and the role
is Consumer when a Tenant exists, Provider when a control-plane Identity or a VirtualNode exists. Gateways count as
ready because the stand-in runs no gateway pods.
"""

from __future__ import annotations

from typing import Any

from . import objects
from . import resources as res
from .kube import Cluster

ID_LABEL = "liqo.io/remote-cluster-id"

_CONNECTION = {
    "Connected": (
        "Established",
        "ConnectionEstablished",
        "The network connection with the foreign cluster is established",
    ),
    "Connecting": ("Pending", "ConnectionPending", "The network connection with the foreign cluster is connecting"),
}
_CONNECTION_ERROR = ("Error", "ConnectionError", "The network connection with the foreign cluster is in error")


def _by_label(cluster: Cluster, kind, remote_id: str) -> list[dict[str, Any]]:
    return cluster.list(kind.collection(), label_selector=f"{ID_LABEL}={remote_id}")


def control_plane_identity(cluster: Cluster, remote_id: str) -> dict[str, Any] | None:
    """The Identity of type ControlPlane for remote_id, in any namespace."""
    for identity in _by_label(cluster, res.IDENTITY, remote_id):
        if identity.get("spec", {}).get("type") == "ControlPlane":
            return identity
    return None


def virtual_nodes(cluster: Cluster, remote_id: str) -> list[dict[str, Any]]:
    """VirtualNodes pointing to remote_id."""
    return [
        item
        for item in cluster.list(res.VIRTUAL_NODE.collection())
        if item.get("spec", {}).get("clusterID") == remote_id
    ]


def ensure(cluster: Cluster, remote_id: str, labels: dict[str, str]) -> dict[str, Any]:
    """Create the ForeignCluster for remote_id if missing (the controller does so when peering objects appear)."""

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: remote_id, **labels})
        obj["spec"] = {**obj.get("spec", {}), "clusterID": remote_id}

    return objects.create_or_update(cluster, res.FOREIGN_CLUSTER, remote_id, "", mutate)


def reconcile(cluster: Cluster, remote_id: str) -> None:
    """Recompute the status of ForeignCluster remote_id from the live objects (no-op when it does not exist)."""
    if cluster.get(res.FOREIGN_CLUSTER.item(remote_id)) is None:
        return
    objects.write_status(cluster, res.FOREIGN_CLUSTER, remote_id, "", lambda live: _status(cluster, remote_id, live))


def _status(cluster: Cluster, remote_id: str, live: dict[str, Any]) -> dict[str, Any]:
    previous = live.get("status") or {}
    modules = previous.get("modules") or {}

    def module(name: str) -> dict[str, Any]:
        return {"enabled": False, "conditions": (modules.get(name) or {}).get("conditions") or []}

    status: dict[str, Any] = {
        "role": "Unknown",
        "modules": {
            "networking": module("networking"),
            "authentication": module("authentication"),
            "offloading": module("offloading"),
        },
        "conditions": previous.get("conditions") or [],
    }
    _networking(cluster, remote_id, status["modules"]["networking"])
    consumer, provider = _authentication(cluster, remote_id, status)
    provider = _offloading(cluster, remote_id, status["modules"]["offloading"]) or provider
    if consumer and provider:
        status["role"] = "ConsumerAndProvider"
    elif consumer:
        status["role"] = "Consumer"
    elif provider:
        status["role"] = "Provider"
    if status.get("apiServerUrl") or status.get("foreignProxyUrl"):
        status["conditions"] = objects.ensure_condition(
            status["conditions"],
            "APIServerStatus",
            "Established",
            "APIServerReady",
            "The foreign cluster API Server is ready",
        )
    else:
        status["conditions"] = objects.delete_condition(status["conditions"], "APIServerStatus")
    for name in ("networking", "authentication", "offloading"):
        if not status["modules"][name]["conditions"]:
            status["modules"][name].pop("conditions")
    if not status["conditions"]:
        status.pop("conditions")
    return status


def _networking(cluster: Cluster, remote_id: str, module: dict[str, Any]) -> None:
    exceptions: dict[str, tuple[str, str, str]] = {}
    if _by_label(cluster, res.CONFIGURATION, remote_id):
        module["enabled"] = True
        module["conditions"] = objects.ensure_condition(
            module["conditions"],
            "NetworkConfigurationStatus",
            "Ready",
            "NetworkConfigurationPresence",
            "The network configuration of the peer cluster is present",
        )
    else:
        module["conditions"] = objects.delete_condition(module["conditions"], "NetworkConfigurationStatus")
        exceptions["NetworkConfigurationStatus"] = (
            "NotReady",
            "NetworkConfigurationMissing",
            "The network configuration for the connection with the foreign cluster is missing",
        )
    servers = _by_label(cluster, res.GATEWAY_SERVER, remote_id)
    clients = _by_label(cluster, res.GATEWAY_CLIENT, remote_id)
    if servers or clients:
        exceptions["NetworkGatewayPresence"] = (
            "Ready",
            "GatewayPresence",
            "There is a gateway connecting to the foreign cluster",
        )
    else:
        exceptions["NetworkGatewayPresence"] = (
            "NotReady",
            "GatewayMissing",
            "The gateway resource connecting to the foreign cluster is missing",
        )
    for gateways, condition in ((servers, "NetworkGatewayServerStatus"), (clients, "NetworkGatewayClientStatus")):
        if gateways:
            module["enabled"] = True
            module["conditions"] = objects.ensure_condition(
                module["conditions"], condition, "Ready", "GatewaysReady", "All gateway replicas are ready"
            )
        else:
            module["conditions"] = objects.delete_condition(module["conditions"], condition)
    connections = _by_label(cluster, res.CONNECTION, remote_id)
    if connections:
        module["enabled"] = True
        value = (connections[0].get("status") or {}).get("value", "")
        status, reason, message = _CONNECTION.get(value, _CONNECTION_ERROR)
        module["conditions"] = objects.ensure_condition(
            module["conditions"], "NetworkConnectionStatus", status, reason, message
        )
    else:
        module["conditions"] = objects.delete_condition(module["conditions"], "NetworkConnectionStatus")
        exceptions["NetworkConnectionStatus"] = (
            "NotReady",
            "ConnectionMissing",
            "There is no network connection with the foreign cluster",
        )
    if module["enabled"]:
        for condition, (status, reason, message) in exceptions.items():
            module["conditions"] = objects.ensure_condition(module["conditions"], condition, status, reason, message)


def _authentication(cluster: Cluster, remote_id: str, status: dict[str, Any]) -> tuple[bool, bool]:
    module = status["modules"]["authentication"]
    consumer = provider = False
    tenants = _by_label(cluster, res.TENANT, remote_id)
    if tenants:
        tenant = tenants[0]
        consumer = True
        module["enabled"] = True
        tenant_status = tenant.get("status") or {}
        if tenant_status.get("tenantNamespace"):
            status.setdefault("tenantNamespace", {})["local"] = tenant_status["tenantNamespace"]
        keys_exchange = tenant.get("spec", {}).get("authzPolicy", "KeysExchange") != "TolerateNoHandshake"
        if (keys_exchange and not tenant_status.get("authParams")) or not tenant_status.get("tenantNamespace"):
            module["conditions"] = objects.ensure_condition(
                module["conditions"],
                "AuthTenantStatus",
                "NotReady",
                "TenantNotReady",
                "The tenant is not correctly configured",
            )
        else:
            module["conditions"] = objects.ensure_condition(
                module["conditions"],
                "AuthTenantStatus",
                "Ready",
                "TenantReady",
                "The tenant has been successfully configured",
            )
    else:
        module["conditions"] = objects.delete_condition(module["conditions"], "AuthTenantStatus")
    identity = control_plane_identity(cluster, remote_id)
    if identity is None:
        module["conditions"] = objects.delete_condition(module["conditions"], "AuthIdentityControlPlaneStatus")
        return consumer, provider
    provider = True
    module["enabled"] = True
    spec = identity.get("spec") or {}
    auth_params = spec.get("authParams") or {}
    if auth_params.get("apiServer"):
        status["apiServerUrl"] = auth_params["apiServer"]
    if auth_params.get("proxyURL"):
        status["foreignProxyUrl"] = auth_params["proxyURL"]
    tenant_namespace = status.setdefault("tenantNamespace", {})
    tenant_namespace["local"] = identity["metadata"]["namespace"]
    if spec.get("namespace"):
        tenant_namespace["remote"] = spec["namespace"]
    secret_ref = (identity.get("status") or {}).get("kubeconfigSecretRef") or {}
    if secret_ref.get("name"):
        module["conditions"] = objects.ensure_condition(
            module["conditions"],
            "AuthIdentityControlPlaneStatus",
            "Ready",
            "IdentityReady",
            "The identity has been successfully configured",
        )
    else:
        module["conditions"] = objects.ensure_condition(
            module["conditions"],
            "AuthIdentityControlPlaneStatus",
            "NotReady",
            "IdentityNotReady",
            "The identity is not correctly configured",
        )
    return consumer, provider


def _offloading(cluster: Cluster, remote_id: str, module: dict[str, Any]) -> bool:
    nodes = virtual_nodes(cluster, remote_id)
    if not nodes:
        module["conditions"] = objects.delete_condition(module["conditions"], "OffloadingVirtualNodeStatus")
        module["conditions"] = objects.delete_condition(module["conditions"], "OffloadingNodeStatus")
        return False
    module["enabled"] = True
    # No virtual-kubelet pods run in the lab, and liqo counts a VirtualNode without pods as ready.
    module["conditions"] = objects.ensure_condition(
        module["conditions"], "OffloadingVirtualNodeStatus", "Ready", "VirtualNodesReady", "All virtual nodes are ready"
    )
    expected = sum(1 for item in nodes if item.get("spec", {}).get("createNode"))
    ready = 0
    for item in nodes:
        node = cluster.get(res.NODE.item(item["metadata"]["name"]))
        conditions = (node or {}).get("status", {}).get("conditions") or []
        if any(entry["type"] == "Ready" and entry["status"] == "True" for entry in conditions):
            ready += 1
    if ready == expected:
        condition = ("Ready", "NodesReady", "All nodes are ready")
    elif ready == 0:
        condition = ("NotReady", "NodesNotReady", "All nodes are not ready")
    else:
        condition = ("SomeNotReady", "NodesSomeNotReady", "Some nodes are not ready")
    module["conditions"] = objects.ensure_condition(module["conditions"], "OffloadingNodeStatus", *condition)
    return True
