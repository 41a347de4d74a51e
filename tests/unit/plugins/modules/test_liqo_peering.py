# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.modules import liqo_peering

CONSUMER_KUBECONFIG = "/etc/oss-mlops/consumer.kubeconfig"
PROVIDER_KUBECONFIG = "/etc/oss-mlops/provider.kubeconfig"
PROVIDER_ID = "verda-v100-1"
CONSUMER_ID = "mlops-consumer"
ACCESS = ["-n", "liqo", "--kubeconfig", CONSUMER_KUBECONFIG, "--remote-kubeconfig", PROVIDER_KUBECONFIG]
GPU_REQUEST = {"cpu": "8", "memory": "32Gi", "pods": "50", "nvidia.com/gpu": "1"}

PEER_ARGS = {
    "kubeconfig": CONSUMER_KUBECONFIG,
    "remote_kubeconfig": PROVIDER_KUBECONFIG,
    "cpu": 8,
    "memory": "32Gi",
    "pods": 50,
    "resources": {"nvidia.com/gpu": 1},
}
PEER_ARGV = [
    "peer", *ACCESS, "--remote-namespace", "liqo", "--timeout", "600s",
    "--cpu", "8", "--memory", "32Gi", "--pods", "50", "--resource", "nvidia.com/gpu=1",
]
UNPEER_ARGV = ["unpeer", *ACCESS, "--remote-namespace", "liqo", "--timeout", "600s"]


@pytest.fixture
def clusters(liqo_env):
    liqo_env.install_liqo(liqo_env.consumer, CONSUMER_ID)
    liqo_env.install_liqo(liqo_env.provider, PROVIDER_ID, labels={"liqo.io/provider": "k3s"},
                          pod_cidr="10.150.0.0/16", service_cidr="10.151.0.0/16")
    return liqo_env


def peer_like_liqoctl(env, accepted=True, create_node=True):
    """Return a liqoctl peer handler that leaves the objects liqoctl v1.0.3 leaves on the consumer."""

    def handler(argv):
        resources = {}
        for flag in ("--cpu", "--memory", "--pods"):
            if flag in argv:
                resources[flag[2:]] = argv[argv.index(flag) + 1]
        for index, word in enumerate(argv):
            if word == "--resource":
                name, _sep, quantity = argv[index + 1].partition("=")
                resources[name] = quantity
        env.add_foreign_cluster(env.consumer, PROVIDER_ID)
        env.add_resource_slice(env.consumer, PROVIDER_ID, CONSUMER_ID, resources, accepted=accepted)
        if create_node:
            env.add_virtual_node(env.consumer, PROVIDER_ID, resources)
        return 0, "", "INFO  (local) ResourceSlice resources: Accepted\n"

    return handler


def existing_peering(env, resources=None, role="Provider", healthy=True):
    env.add_foreign_cluster(env.consumer, PROVIDER_ID, role=role, healthy=healthy)
    env.add_resource_slice(env.consumer, PROVIDER_ID, CONSUMER_ID, resources if resources is not None else GPU_REQUEST)
    env.add_virtual_node(env.consumer, PROVIDER_ID, GPU_REQUEST)


def test_peer_creates_peering(clusters):
    clusters.liqoctl.handlers["peer"] = peer_like_liqoctl(clusters)

    result = clusters.run(liqo_peering, PEER_ARGS)

    assert result["changed"] is True
    assert clusters.liqoctl.mutating_calls() == [PEER_ARGV]
    assert result["provider_cluster_id"] == PROVIDER_ID
    assert result["consumer_cluster_id"] == CONSUMER_ID
    assert result["foreign_cluster"]["role"] == "Provider"
    assert result["resource_slice"]["requested"] == GPU_REQUEST
    assert result["resource_slice"]["accepted"] is True
    assert result["virtual_nodes"] == [PROVIDER_ID]
    assert result["changes"] == ["no ForeignCluster for the provider: not peered"]


def test_peer_reads_provider_id_with_liqoctl_info(clusters):
    clusters.liqoctl.handlers["peer"] = peer_like_liqoctl(clusters)

    clusters.run(liqo_peering, dict(PEER_ARGS, remote_context="k3s-admin", remote_liqo_namespace="liqo-system"))

    assert clusters.liqoctl.argvs("info") == [
        ["info", "-o", "json", "-n", "liqo-system", "--kubeconfig", PROVIDER_KUBECONFIG, "--context", "k3s-admin"]]
    [argv] = clusters.liqoctl.mutating_calls()
    assert argv[:10] == ["peer", "-n", "liqo", "--kubeconfig", CONSUMER_KUBECONFIG, "--remote-kubeconfig",
                         PROVIDER_KUBECONFIG, "--remote-context", "k3s-admin", "--remote-namespace"]
    assert argv[10] == "liqo-system"


def test_peer_passes_gateway_options(clusters):
    clusters.liqoctl.handlers["peer"] = peer_like_liqoctl(clusters)
    args = {"kubeconfig": CONSUMER_KUBECONFIG, "remote_kubeconfig": PROVIDER_KUBECONFIG,
            "gateway_server_service_type": "NodePort", "gateway_server_service_port": 51840,
            "gateway_server_service_nodeport": 30851, "gateway_server_service_location": "Provider",
            "gateway_client_address": "203.0.113.10", "gateway_client_port": 30851, "mtu": 1420,
            "networking_disabled": True, "timeout": 300}

    clusters.run(liqo_peering, args)

    assert clusters.liqoctl.mutating_calls() == [[
        "peer", *ACCESS, "--remote-namespace", "liqo", "--timeout", "300s",
        "--gw-server-service-type", "NodePort", "--gw-server-service-port", "51840",
        "--gw-server-service-nodeport", "30851", "--gw-server-service-location", "Provider",
        "--gw-client-address", "203.0.113.10", "--gw-client-port", "30851", "--mtu", "1420",
        "--networking-disabled",
    ]]


def test_peer_matching_is_unchanged(clusters):
    # The API may return quantities in another notation than requested.
    existing_peering(clusters, resources={"cpu": "8000m", "memory": "34359738368", "pods": "50",
                                          "nvidia.com/gpu": "1"})

    result = clusters.run(liqo_peering, PEER_ARGS)

    assert result["changed"] is False
    assert result["changes"] == []
    assert clusters.liqoctl.mutating_calls() == []
    assert result["virtual_nodes"] == [PROVIDER_ID]


def test_peer_changed_resources_rerun_peer(clusters):
    existing_peering(clusters, resources={"cpu": "4"})
    clusters.liqoctl.handlers["peer"] = peer_like_liqoctl(clusters)

    result = clusters.run(liqo_peering, PEER_ARGS, diff=True)

    assert result["changed"] is True
    assert clusters.liqoctl.mutating_calls() == [PEER_ARGV]
    assert result["diff"]["before"]["resources"] == {"cpu": "4"}
    assert result["diff"]["after"]["resources"] == GPU_REQUEST
    assert result["diff"]["after"]["role"] == "Provider"


def test_peer_unhealthy_module_rerun_peer(clusters):
    existing_peering(clusters, healthy=False)
    clusters.liqoctl.handlers["peer"] = peer_like_liqoctl(clusters)

    result = clusters.run(liqo_peering, PEER_ARGS)

    assert result["changes"] == ["networking module is Unhealthy", "authentication module is Unhealthy",
                                 "offloading module is Unhealthy"]
    assert clusters.liqoctl.mutating_calls() == [PEER_ARGV]


def test_peer_check_mode_runs_no_peer(clusters):
    result = clusters.run(liqo_peering, PEER_ARGS, check_mode=True, diff=True)

    assert result["changed"] is True
    assert clusters.liqoctl.mutating_calls() == []
    assert result["diff"]["before"]["role"] is None
    assert result["foreign_cluster"] is None


def test_peer_denied_slice_fails(clusters):
    clusters.liqoctl.handlers["peer"] = peer_like_liqoctl(clusters, accepted=False)

    result = clusters.run(liqo_peering, PEER_ARGS)

    assert result["failed"] is True
    assert "Provider verda-v100-1 denied ResourceSlice liqo-tenant-verda-v100-1/verda-v100-1" in result["msg"]
    assert "Authentication Denied" in result["msg"]
    assert result["resource_slice"]["accepted"] is False


def test_peer_missing_virtual_node_times_out(clusters, monkeypatch):
    clock = iter(range(0, 10000, 5))
    monkeypatch.setattr(liqo_peering.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(liqo_peering.time, "sleep", lambda seconds: None)
    clusters.liqoctl.handlers["peer"] = peer_like_liqoctl(clusters, create_node=False)

    result = clusters.run(liqo_peering, dict(PEER_ARGS, timeout=30))

    assert result["failed"] is True
    assert "is accepted, but no virtual node for verda-v100-1 appeared" in result["msg"]
    assert "within 30s" in result["msg"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"cpu": "lots"}, "cpu: 'lots' is not a Kubernetes quantity"),
    ({"cpu": 0}, "cpu 0 must be greater than zero"),
    ({"memory": "-1Gi"}, "memory '-1Gi' must be greater than zero"),
    ({"pods": "10.5"}, "pods '10.5' must be a whole number"),
    ({"resources": {"nvidia.com/gpu": "0.5"}}, "resources[nvidia.com/gpu] '0.5' must be a whole number"),
    ({"resources": {"cpu": 4}}, "resources key 'cpu' has its own option; set cpu instead"),
    ({"resources": {"nvidia.com/gpu=2,x": 1}}, "is not a valid resource name"),
    ({"timeout": -5}, "timeout -5 must be a positive number of seconds"),
])
def test_peer_invalid_request_fails_before_liqoctl(clusters, overrides, message):
    result = clusters.run(liqo_peering, dict(PEER_ARGS, **overrides))

    assert result["failed"] is True
    assert message in result["msg"]
    assert clusters.liqoctl.calls == []


def test_peer_provider_without_liqo_fails(liqo_env):
    liqo_env.install_liqo(liqo_env.consumer, CONSUMER_ID)

    result = liqo_env.run(liqo_peering, PEER_ARGS)

    assert result["failed"] is True
    assert f"Liqo is not installed on the provider cluster (kubeconfig {PROVIDER_KUBECONFIG})" in result["msg"]
    assert liqo_env.liqoctl.mutating_calls() == []


def test_peer_same_cluster_fails(clusters):
    result = clusters.run(liqo_peering, dict(PEER_ARGS, remote_kubeconfig=CONSUMER_KUBECONFIG))

    assert result["failed"] is True
    assert "both reach Liqo cluster mlops-consumer" in result["msg"]


def test_peer_unreachable_provider_fails(clusters):
    result = clusters.run(liqo_peering, dict(PEER_ARGS, remote_kubeconfig="/etc/oss-mlops/gone.kubeconfig"))

    assert result["failed"] is True
    assert "kubeconfig /etc/oss-mlops/gone.kubeconfig does not exist" in result["msg"]
    assert clusters.liqoctl.mutating_calls() == []


def test_peer_wrong_liqoctl_version_fails(clusters):
    clusters.liqoctl.version = "v1.0.1"

    result = clusters.run(liqo_peering, PEER_ARGS)

    assert result["failed"] is True
    assert "reports version v1.0.1, but liqoctl_version is v1.0.3" in result["msg"]
    assert clusters.liqoctl.mutating_calls() == []


def test_unpeer_runs_for_provider_role(clusters):
    existing_peering(clusters)

    result = clusters.run(liqo_peering, {"kubeconfig": CONSUMER_KUBECONFIG, "remote_kubeconfig": PROVIDER_KUBECONFIG,
                                         "state": "absent", "delete_namespaces": True}, diff=True)

    assert result["changed"] is True
    assert clusters.liqoctl.mutating_calls() == [UNPEER_ARGV + ["--delete-namespaces"]]
    assert result["diff"] == {"before": {"role": "Provider"}, "after": {"role": "Unknown"}}


@pytest.mark.parametrize("role", ["Unknown", "Consumer"])
def test_unpeer_skips_roles_without_consumption(clusters, role):
    clusters.add_foreign_cluster(clusters.consumer, PROVIDER_ID, role=role, enabled=(role == "Consumer"))

    result = clusters.run(liqo_peering, {"kubeconfig": CONSUMER_KUBECONFIG, "remote_kubeconfig": PROVIDER_KUBECONFIG,
                                         "state": "absent"})

    assert result["changed"] is False
    assert clusters.liqoctl.mutating_calls() == []
    assert result["foreign_cluster"]["role"] == role


def test_unpeer_cleans_half_made_peering(clusters):
    clusters.add_foreign_cluster(clusters.consumer, PROVIDER_ID, role="Unknown", enabled=True)

    result = clusters.run(liqo_peering, {"kubeconfig": CONSUMER_KUBECONFIG, "remote_kubeconfig": PROVIDER_KUBECONFIG,
                                         "state": "absent"})

    assert result["changed"] is True
    assert clusters.liqoctl.mutating_calls() == [UNPEER_ARGV]


def test_unpeer_without_foreign_cluster_is_unchanged(clusters):
    result = clusters.run(liqo_peering, {"kubeconfig": CONSUMER_KUBECONFIG, "remote_kubeconfig": PROVIDER_KUBECONFIG,
                                         "state": "absent"})

    assert result["changed"] is False
    assert result["foreign_cluster"] is None
    assert clusters.liqoctl.mutating_calls() == []


def test_unpeer_check_mode_runs_nothing(clusters):
    existing_peering(clusters)

    result = clusters.run(liqo_peering, {"kubeconfig": CONSUMER_KUBECONFIG, "remote_kubeconfig": PROVIDER_KUBECONFIG,
                                         "state": "absent"}, check_mode=True)

    assert result["changed"] is True
    assert clusters.liqoctl.mutating_calls() == []


def test_unpeer_failure_carries_stderr(clusters):
    existing_peering(clusters)
    clusters.liqoctl.results["unpeer"] = (1, "", "ERRO  unable to disable offloading: timed out waiting for the "
                                                 "condition\n")

    result = clusters.run(liqo_peering, {"kubeconfig": CONSUMER_KUBECONFIG, "remote_kubeconfig": PROVIDER_KUBECONFIG,
                                         "state": "absent"})

    assert result["failed"] is True
    assert f"liqoctl unpeer from the provider cluster (kubeconfig {PROVIDER_KUBECONFIG}) failed" in result["msg"]
    assert "unable to disable offloading" in result["msg"]


def test_unpeer_without_consumer_liqo_is_unchanged(liqo_env):
    liqo_env.install_liqo(liqo_env.provider, PROVIDER_ID)

    result = liqo_env.run(liqo_peering, {"kubeconfig": CONSUMER_KUBECONFIG, "remote_kubeconfig": PROVIDER_KUBECONFIG,
                                         "state": "absent"})

    assert result["changed"] is False
    assert result["consumer_cluster_id"] is None
    assert liqo_env.liqoctl.mutating_calls() == []


def test_unpeer_after_provider_uninstall_is_unchanged(liqo_env):
    liqo_env.install_liqo(liqo_env.consumer, CONSUMER_ID)
    liqo_env.add_foreign_cluster(liqo_env.consumer, PROVIDER_ID, role="Unknown", enabled=False)

    result = liqo_env.run(liqo_peering, {"kubeconfig": CONSUMER_KUBECONFIG, "remote_kubeconfig": PROVIDER_KUBECONFIG,
                                         "state": "absent"})

    assert result["changed"] is False
    assert result["provider_cluster_id"] is None
    assert liqo_env.liqoctl.mutating_calls() == []


def test_unpeer_orphaned_peering_fails(liqo_env):
    liqo_env.install_liqo(liqo_env.consumer, CONSUMER_ID)
    liqo_env.add_foreign_cluster(liqo_env.consumer, PROVIDER_ID)

    result = liqo_env.run(liqo_peering, {"kubeconfig": CONSUMER_KUBECONFIG, "remote_kubeconfig": PROVIDER_KUBECONFIG,
                                         "state": "absent"})

    assert result["failed"] is True
    assert "so its cluster ID cannot be read and liqoctl unpeer cannot run" in result["msg"]
    assert "still consumes from verda-v100-1" in result["msg"]
    assert result["consumed_providers"] == [PROVIDER_ID]
    assert liqo_env.liqoctl.mutating_calls() == []


def test_peer_consumer_without_liqo_fails(liqo_env):
    liqo_env.install_liqo(liqo_env.provider, PROVIDER_ID)

    result = liqo_env.run(liqo_peering, PEER_ARGS)

    assert result["failed"] is True
    assert f"Liqo is not installed on the consumer cluster (kubeconfig {CONSUMER_KUBECONFIG})" in result["msg"]
    assert "fix kubeconfig and liqo_namespace" in result["msg"]


def test_peer_without_liqo_check_mode_predicts(liqo_env):
    liqo_env.install_liqo(liqo_env.consumer, CONSUMER_ID)

    result = liqo_env.run(liqo_peering, PEER_ARGS, check_mode=True)

    assert result.get("failed") is not True
    assert result["changed"] is True
    assert result["changes"] == [f"peer once Liqo is installed on the provider cluster (kubeconfig "
                                 f"{PROVIDER_KUBECONFIG})"]
    assert liqo_env.liqoctl.mutating_calls() == []
