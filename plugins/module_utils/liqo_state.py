# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Summaries of Liqo v1.0.3 objects (API JSON dicts) in the shape the modules return.

Plain Python, no Ansible or Kubernetes client needed, so every rule here is unit-tested alone.
"""

from __future__ import annotations

import ipaddress

PEERING_MODULES = ("networking", "authentication", "offloading")
HEALTHY_CONDITION_STATUSES = ("Established", "Ready")
PROVIDER_ROLES = ("Provider", "ConsumerAndProvider")
VIRTUAL_NODE_SELECTOR = "liqo.io/type=virtual-node"
REMOTE_CLUSTER_ID_LABEL = "liqo.io/remote-cluster-id"
NETWORK_TYPE_LABEL = "ipam.liqo.io/network-type"
# Network CR names the v1.0.3 chart gives the CIDRs of the local cluster.
NETWORK_NAMES = {
    "pod_cidr": "pod-cidr",
    "service_cidr": "service-cidr",
    "external_cidr": "external-cidr",
    "internal_cidr": "internal-cidr",
}
# Keys of the `network` section of `liqoctl info -o json -v`.
INFO_NETWORK_KEYS = {
    "pod_cidr": "podCIDR",
    "service_cidr": "serviceCIDR",
    "external_cidr": "externalCIDR",
    "internal_cidr": "internalCIDR",
}


def tenant_namespace_name(cluster_id):
    """Return the tenant namespace Liqo creates for a peer: liqo-tenant-<cluster id>."""
    return f"liqo-tenant-{cluster_id}"


def module_status(module):
    """Return Healthy, Unhealthy or Disabled for a ForeignCluster module, as liqoctl info computes it."""
    if not (module or {}).get("enabled"):
        return "Disabled"
    for condition in module.get("conditions") or []:
        if condition.get("status") not in HEALTHY_CONDITION_STATUSES:
            return "Unhealthy"
    return "Healthy"


def summarize_conditions(conditions):
    keys = ("type", "status", "reason", "message")
    return [
        {key: condition.get(key) for key in keys if condition.get(key) is not None} for condition in conditions or []
    ]


def summarize_foreign_cluster(foreign_cluster):
    """Return cluster_id, role, API URL, tenant namespace and per-module enabled/status of a ForeignCluster."""
    spec = foreign_cluster.get("spec") or {}
    status = foreign_cluster.get("status") or {}
    modules = status.get("modules") or {}
    return {
        "cluster_id": spec.get("clusterID") or foreign_cluster.get("metadata", {}).get("name"),
        "role": status.get("role") or "Unknown",
        "api_server_url": status.get("apiServerUrl"),
        "tenant_namespace": (status.get("tenantNamespace") or {}).get("local"),
        "modules": {name: summarize_module(modules.get(name) or {}) for name in PEERING_MODULES},
        "conditions": summarize_conditions(status.get("conditions")),
    }


def summarize_module(module):
    return {
        "enabled": bool(module.get("enabled")),
        "status": module_status(module),
        "conditions": summarize_conditions(module.get("conditions")),
    }


def summarize_info_peer(peer):
    """Return a peering from `liqoctl info` peers, for a peer whose ForeignCluster could not be read."""
    statuses = {
        "networking": peer.get("networkingStatus"),
        "authentication": peer.get("authenticationStatus"),
        "offloading": peer.get("offloadingStatus"),
    }
    return {
        "cluster_id": peer.get("clusterID"),
        "role": peer.get("role") or "Unknown",
        "api_server_url": None,
        "tenant_namespace": None,
        "modules": {
            name: {"enabled": status not in (None, "Disabled"), "status": status or "Disabled", "conditions": []}
            for name, status in statuses.items()
        },
        "conditions": [],
    }


def peering_is_active(peering):
    """Return whether a peering summary still holds anything that blocks `liqoctl uninstall`."""
    return peering["role"] != "Unknown" or any(module["enabled"] for module in peering["modules"].values())


def consumes_from(peering):
    """Return whether this cluster consumes resources of the peer (role Provider or ConsumerAndProvider)."""
    return peering["role"] in PROVIDER_ROLES


def find_condition(conditions, condition_type):
    return next((condition for condition in conditions or [] if condition.get("type") == condition_type), None)


def slice_condition_status(resource_slice, condition_type):
    condition = find_condition((resource_slice.get("status") or {}).get("conditions"), condition_type)
    return condition.get("status") if condition else None


def slice_accepted(resource_slice):
    """Return whether both ResourceSlice conditions (Authentication and Resources) are Accepted."""
    return all(
        slice_condition_status(resource_slice, condition_type) == "Accepted"
        for condition_type in ("Authentication", "Resources")
    )


def summarize_resource_slice(resource_slice):
    """Return the requested and granted resources and the acceptance state of a ResourceSlice."""
    metadata = resource_slice.get("metadata") or {}
    spec = resource_slice.get("spec") or {}
    status = resource_slice.get("status") or {}
    return {
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "provider_cluster_id": spec.get("providerClusterID"),
        "consumer_cluster_id": spec.get("consumerClusterID"),
        "class": spec.get("class") or "default",
        "requested": dict(spec.get("resources") or {}),
        "granted": dict(status.get("resources") or {}),
        "authentication": slice_condition_status(resource_slice, "Authentication"),
        "resources": slice_condition_status(resource_slice, "Resources"),
        "accepted": slice_accepted(resource_slice),
        "conditions": summarize_conditions(status.get("conditions")),
    }


def node_ready(node):
    condition = find_condition((node.get("status") or {}).get("conditions"), "Ready")
    return bool(condition and condition.get("status") == "True")


def summarize_virtual_node(node):
    """Return name, remote cluster, readiness, capacity and allocatable (GPUs included) of a virtual Node."""
    metadata = node.get("metadata") or {}
    status = node.get("status") or {}
    return {
        "name": metadata.get("name"),
        "cluster_id": (metadata.get("labels") or {}).get(REMOTE_CLUSTER_ID_LABEL),
        "ready": node_ready(node),
        "capacity": dict(status.get("capacity") or {}),
        "allocatable": dict(status.get("allocatable") or {}),
        "labels": dict(metadata.get("labels") or {}),
        "unschedulable": bool((node.get("spec") or {}).get("unschedulable")),
    }


def summarize_namespace_offloading(offloading):
    """Return strategies, selector, phase and remote namespace of a NamespaceOffloading."""
    metadata = offloading.get("metadata") or {}
    spec = offloading.get("spec") or {}
    status = offloading.get("status") or {}
    return {
        "namespace": metadata.get("namespace"),
        "mapping_strategy": spec.get("namespaceMappingStrategy") or "DefaultName",
        "remote_namespace_name": spec.get("remoteNamespaceName") or None,
        "pod_offloading_strategy": spec.get("podOffloadingStrategy") or "LocalAndRemote",
        "cluster_selector": list((spec.get("clusterSelector") or {}).get("nodeSelectorTerms") or []),
        "phase": status.get("offloadingPhase"),
        "remote_namespace": status.get("remoteNamespaceName"),
        "remote_namespaces_conditions": {
            cluster_id: summarize_conditions(conditions)
            for cluster_id, conditions in (status.get("remoteNamespacesConditions") or {}).items()
        },
        "observed_generation": status.get("observedGeneration"),
        "generation": metadata.get("generation"),
        "terminating": bool(metadata.get("deletionTimestamp")),
    }


def network_cidr(network):
    return (network.get("spec") or {}).get("cidr")


def reserved_index(network):
    """Return N of a reserved-N Network, so reserved subnets keep the order the chart gave them."""
    name = (network.get("metadata") or {}).get("name") or ""
    suffix = name.rpartition("-")[2]
    return int(suffix) if suffix.isdigit() else 0


def reserved_subnets_from_networks(networks):
    """Return the reserved subnets of the local cluster, in chart order (reserved-1, reserved-2, ...)."""
    reserved = [
        network
        for network in networks
        if ((network.get("metadata") or {}).get("labels") or {}).get(NETWORK_TYPE_LABEL) == "reserved"
    ]
    return [network_cidr(network) for network in sorted(reserved, key=reserved_index)]


def cidrs_from_networks(networks):
    """Return pod, service, external and internal CIDRs from the Network CRs the chart creates."""
    by_name = {(network.get("metadata") or {}).get("name"): network for network in networks}
    return {key: network_cidr(by_name[name]) if name in by_name else None for key, name in NETWORK_NAMES.items()}


def cidrs_from_info(info):
    network = (info or {}).get("network") or {}
    return {key: network.get(info_key) or None for key, info_key in INFO_NETWORK_KEYS.items()}


def same_network(left, right):
    """Return whether two CIDR strings name the same network (host bits ignored)."""
    if not left or not right:
        return left == right
    try:
        return ipaddress.ip_network(left, strict=False) == ipaddress.ip_network(right, strict=False)
    except ValueError:
        return left == right


def summarize_unhealthy_pods(info):
    pods = ((info or {}).get("health") or {}).get("unhealthyPods") or {}
    return [
        {
            "name": name,
            "status": details.get("status"),
            "ready_containers": details.get("readyContainers"),
            "total_containers": details.get("totalContainers"),
            "restarts": details.get("restarts"),
        }
        for name, details in sorted(pods.items())
    ]


def local_info(info):
    """Return cluster ID, version, labels and API server URL from the `local` section of liqoctl info."""
    local = (info or {}).get("local") or {}
    return {
        "cluster_id": local.get("clusterID") or None,
        "version": local.get("version") or None,
        "cluster_labels": dict(local.get("labels") or {}),
        "api_server_url": local.get("APIServerAddr") or None,
    }
