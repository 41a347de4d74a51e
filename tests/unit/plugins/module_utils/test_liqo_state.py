# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_state


@pytest.mark.parametrize(("module", "status"), [
    (None, "Disabled"),
    ({"enabled": False, "conditions": [{"status": "Error"}]}, "Disabled"),
    ({"enabled": True}, "Healthy"),
    ({"enabled": True, "conditions": [{"status": "Established"}, {"status": "Ready"}]}, "Healthy"),
    ({"enabled": True, "conditions": [{"status": "Ready"}, {"status": "Pending"}]}, "Unhealthy"),
    ({"enabled": True, "conditions": [{"status": "SomeNotReady"}]}, "Unhealthy"),
])
def test_module_status_like_liqoctl(module, status):
    assert liqo_state.module_status(module) == status


FOREIGN_CLUSTER = {
    "metadata": {"name": "verda-v100-1"},
    "spec": {"clusterID": "verda-v100-1"},
    "status": {
        "role": "Provider",
        "apiServerUrl": "https://127.10.1.1:6443",
        "tenantNamespace": {"local": "liqo-tenant-verda-v100-1", "remote": "liqo-tenant-mlops-consumer"},
        "modules": {
            "networking": {"enabled": True, "conditions": [
                {"type": "NetworkConnectionStatus", "status": "Established", "reason": "ConnectionEstablished",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
            "authentication": {"enabled": True},
            "offloading": {"enabled": False},
        },
    },
}


def test_summarize_foreign_cluster():
    summary = liqo_state.summarize_foreign_cluster(FOREIGN_CLUSTER)

    assert summary["cluster_id"] == "verda-v100-1"
    assert summary["role"] == "Provider"
    assert summary["tenant_namespace"] == "liqo-tenant-verda-v100-1"
    assert summary["modules"]["networking"] == {"enabled": True, "status": "Healthy", "conditions": [
        {"type": "NetworkConnectionStatus", "status": "Established", "reason": "ConnectionEstablished"}]}
    assert summary["modules"]["offloading"]["status"] == "Disabled"


def test_summarize_foreign_cluster_without_status():
    summary = liqo_state.summarize_foreign_cluster({"metadata": {"name": "new"}, "spec": {"clusterID": "new"}})

    assert summary["role"] == "Unknown"
    assert liqo_state.peering_is_active(summary) is False


@pytest.mark.parametrize(("role", "enabled", "active", "consumes"), [
    ("Unknown", False, False, False),
    ("Unknown", True, True, False),
    ("Consumer", True, True, False),
    ("Provider", True, True, True),
    ("ConsumerAndProvider", True, True, True),
])
def test_peering_roles(role, enabled, active, consumes):
    peering = {"role": role, "modules": {name: {"enabled": enabled} for name in liqo_state.PEERING_MODULES}}

    assert liqo_state.peering_is_active(peering) is active
    assert liqo_state.consumes_from(peering) is consumes


def test_summarize_info_peer():
    peer = {"clusterID": "x", "role": "Consumer", "networkingStatus": "Healthy", "authenticationStatus": "Disabled",
            "offloadingStatus": "Unhealthy"}

    summary = liqo_state.summarize_info_peer(peer)

    assert summary["modules"]["networking"] == {"enabled": True, "status": "Healthy", "conditions": []}
    assert summary["modules"]["authentication"]["enabled"] is False
    assert summary["modules"]["offloading"]["enabled"] is True


def slice_with(authentication, resources):
    conditions = [{"type": "Authentication", "status": authentication}, {"type": "Resources", "status": resources}]
    return {"metadata": {"name": "p", "namespace": "liqo-tenant-p"},
            "spec": {"providerClusterID": "p", "resources": {"cpu": "2"}},
            "status": {"conditions": conditions, "resources": {"cpu": "2", "memory": "8Gi"}}}


@pytest.mark.parametrize(("authentication", "resources", "accepted"), [
    ("Accepted", "Accepted", True),
    ("Accepted", "Denied", False),
    ("Denied", "Accepted", False),
])
def test_slice_accepted_needs_both_conditions(authentication, resources, accepted):
    assert liqo_state.slice_accepted(slice_with(authentication, resources)) is accepted


def test_slice_without_conditions_not_accepted():
    assert liqo_state.slice_accepted({"status": {}}) is False


def test_summarize_resource_slice():
    summary = liqo_state.summarize_resource_slice(slice_with("Accepted", "Denied"))

    assert summary["requested"] == {"cpu": "2"}
    assert summary["granted"] == {"cpu": "2", "memory": "8Gi"}
    assert summary["resources"] == "Denied"
    assert summary["class"] == "default"


def test_summarize_virtual_node():
    node = {"metadata": {"name": "p", "labels": {"liqo.io/remote-cluster-id": "p"}},
            "spec": {"unschedulable": True},
            "status": {"capacity": {"nvidia.com/gpu": "1"}, "allocatable": {"nvidia.com/gpu": "1"},
                       "conditions": [{"type": "MemoryPressure", "status": "False"},
                                      {"type": "Ready", "status": "True"}]}}

    summary = liqo_state.summarize_virtual_node(node)

    assert summary["cluster_id"] == "p"
    assert summary["ready"] is True
    assert summary["unschedulable"] is True
    assert summary["allocatable"] == {"nvidia.com/gpu": "1"}


def test_virtual_node_without_ready_condition():
    assert liqo_state.summarize_virtual_node({"metadata": {"name": "p"}})["ready"] is False


def test_summarize_namespace_offloading_defaults():
    summary = liqo_state.summarize_namespace_offloading({"metadata": {"namespace": "ns"}, "spec": {}})

    assert summary["mapping_strategy"] == "DefaultName"
    assert summary["pod_offloading_strategy"] == "LocalAndRemote"
    assert summary["cluster_selector"] == []
    assert summary["remote_namespace_name"] is None
    assert summary["terminating"] is False


def network(name, network_type, cidr):
    return {"metadata": {"name": name, "labels": {"ipam.liqo.io/network-type": network_type}}, "spec": {"cidr": cidr}}


def test_reserved_subnets_in_chart_order():
    networks = [network("reserved-10", "reserved", "10.10.0.0/16"), network("reserved-2", "reserved", "10.2.0.0/16"),
                network("pod-cidr", "pod-cidr", "10.244.0.0/16"), network("reserved-1", "reserved", "10.1.0.0/16")]

    assert liqo_state.reserved_subnets_from_networks(networks) == ["10.1.0.0/16", "10.2.0.0/16", "10.10.0.0/16"]


def test_cidrs_from_networks():
    cidrs = liqo_state.cidrs_from_networks([network("pod-cidr", "pod-cidr", "10.244.0.0/16")])

    assert cidrs == {"pod_cidr": "10.244.0.0/16", "service_cidr": None, "external_cidr": None, "internal_cidr": None}


def test_cidrs_from_info():
    info = {"network": {"podCIDR": "10.42.0.0/16", "serviceCIDR": "", "externalCIDR": "10.70.0.0/16"}}

    assert liqo_state.cidrs_from_info(info)["pod_cidr"] == "10.42.0.0/16"
    assert liqo_state.cidrs_from_info(info)["service_cidr"] is None
    assert liqo_state.cidrs_from_info(None)["pod_cidr"] is None


@pytest.mark.parametrize(("left", "right", "same"), [
    ("10.42.0.0/16", "10.42.0.0/16", True),
    ("10.42.0.1/16", "10.42.0.0/16", True),
    ("10.42.0.0/16", "10.43.0.0/16", False),
    (None, "10.43.0.0/16", False),
    ("garbage", "garbage", True),
])
def test_same_network(left, right, same):
    assert liqo_state.same_network(left, right) is same


def test_local_info():
    info = {"local": {"clusterID": "c", "version": "v1.0.3", "labels": None, "APIServerAddr": "https://a:6443"}}

    assert liqo_state.local_info(info) == {"cluster_id": "c", "version": "v1.0.3", "cluster_labels": {},
                                           "api_server_url": "https://a:6443"}
