# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import os

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_kube import KubeCluster
from ansible_collections.oss_mlops.multicloud.plugins.modules import liqo_info

LIQOCTL = "/opt/liqo/bin/liqoctl"
CONSUMER_KUBECONFIG = "/etc/oss-mlops/consumer.kubeconfig"

INFO_ARGV = ["info", "-o", "json", "-v", "-n", "liqo", "--kubeconfig", CONSUMER_KUBECONFIG]


def populate_consumer(env):
    env.install_liqo(env.consumer, "mlops-consumer", reserved_subnets=["172.18.0.0/16", "192.168.0.0/24"])
    env.add_foreign_cluster(env.consumer, "verda-v100-1")
    gpu_request = {"cpu": "8", "memory": "32Gi", "pods": "50", "nvidia.com/gpu": "1"}
    env.add_resource_slice(env.consumer, "verda-v100-1", "mlops-consumer", gpu_request)
    env.add_virtual_node(env.consumer, "verda-v100-1", dict(gpu_request, **{"ephemeral-storage": "20Gi"}))
    gpu_term = {"matchExpressions": [{"key": "liqo.example/gpu", "operator": "In", "values": ["true"]}]}
    env.add_offloading(env.consumer, "kubeflow-gpu", pod_strategy="Remote", terms=[gpu_term])


def test_info_not_installed_returns_empty(liqo_env):
    result = liqo_env.run(liqo_info, {"kubeconfig": CONSUMER_KUBECONFIG})

    assert result["installed"] is False
    assert result["changed"] is False
    assert "failed" not in result
    for key in ("peerings", "virtual_nodes", "resource_slices", "offloaded_namespaces", "reserved_subnets",
                "unhealthy_pods"):
        assert result[key] == []
    assert result["cluster_id"] is None
    assert result["liqoctl_version"] == "v1.0.3"
    assert liqo_env.liqoctl.argvs("info") == [INFO_ARGV]


def test_info_reports_installation(liqo_env):
    populate_consumer(liqo_env)

    result = liqo_env.run(liqo_info, {"kubeconfig": CONSUMER_KUBECONFIG})

    assert result["installed"] is True
    assert result["cluster_id"] == "mlops-consumer"
    assert result["version"] == "v1.0.3"
    assert result["api_server_url"] == "https://127.10.0.1:6443"
    assert result["cluster_labels"] == {"liqo.io/provider": "kind"}
    assert result["healthy"] is True
    assert result["network"] == {"pod_cidr": "10.244.0.0/16", "service_cidr": "10.96.0.0/16",
                                 "external_cidr": "10.70.0.0/16", "internal_cidr": "10.80.0.0/16"}
    assert result["reserved_subnets"] == ["172.18.0.0/16", "192.168.0.0/24"]


def test_info_reports_peering_objects(liqo_env):
    populate_consumer(liqo_env)

    result = liqo_env.run(liqo_info, {"kubeconfig": CONSUMER_KUBECONFIG})

    [peering] = result["peerings"]
    assert peering["cluster_id"] == "verda-v100-1"
    assert peering["role"] == "Provider"
    assert peering["modules"]["offloading"] == {"enabled": True, "status": "Healthy",
                                                "conditions": [{"type": "SomeStatus", "status": "Ready",
                                                                "message": "checked"}]}
    [virtual_node] = result["virtual_nodes"]
    assert virtual_node["name"] == "verda-v100-1"
    assert virtual_node["cluster_id"] == "verda-v100-1"
    assert virtual_node["ready"] is True
    assert virtual_node["allocatable"]["nvidia.com/gpu"] == "1"
    [resource_slice] = result["resource_slices"]
    assert resource_slice["requested"]["nvidia.com/gpu"] == "1"
    assert resource_slice["accepted"] is True
    [offloaded] = result["offloaded_namespaces"]
    assert offloaded["namespace"] == "kubeflow-gpu"
    assert offloaded["mapping_strategy"] == "EnforceSameName"
    assert offloaded["pod_offloading_strategy"] == "Remote"
    assert offloaded["phase"] == "Ready"
    assert offloaded["remote_namespace"] == "kubeflow-gpu"
    assert offloaded["cluster_selector"][0]["matchExpressions"][0]["key"] == "liqo.example/gpu"


def test_info_reports_unhealthy_pods(liqo_env):
    liqo_env.install_liqo(liqo_env.consumer, "mlops-consumer")
    pod = {"status": "Pending", "readyContainers": 0, "totalContainers": 1, "restarts": 2}
    liqo_env.consumer.liqo.update(healthy=False, unhealthy_pods={"liqo-controller-manager-abc": pod})

    result = liqo_env.run(liqo_info, {"kubeconfig": CONSUMER_KUBECONFIG})

    assert result["healthy"] is False
    assert result["unhealthy_pods"] == [{"name": "liqo-controller-manager-abc", "status": "Pending",
                                         "ready_containers": 0, "total_containers": 1, "restarts": 2}]


def test_info_check_mode_runs_reads_only(liqo_env):
    populate_consumer(liqo_env)

    result = liqo_env.run(liqo_info, {"kubeconfig": CONSUMER_KUBECONFIG}, check_mode=True)

    assert result["changed"] is False
    assert result["installed"] is True
    assert liqo_env.liqoctl.mutating_calls() == []


def test_info_uses_environment_kubeconfig(liqo_env, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", CONSUMER_KUBECONFIG)
    monkeypatch.setenv("K8S_AUTH_CONTEXT", "kind-mlops")

    liqo_env.run(liqo_info, {})

    assert liqo_env.opened == [(CONSUMER_KUBECONFIG, "kind-mlops")]
    assert liqo_env.liqoctl.argvs("info") == [INFO_ARGV + ["--context", "kind-mlops"]]
    assert liqo_env.liqoctl.argvs("version")[0][-2:] == ["--context", "kind-mlops"]


def test_info_runs_liqoctl_with_c_locale(liqo_env):
    liqo_env.run(liqo_info, {"kubeconfig": CONSUMER_KUBECONFIG})

    for call in liqo_env.liqoctl.calls:
        assert call["argv"][0] == LIQOCTL
        assert call["environ"]["LC_ALL"] == "C"


def test_info_wrong_liqoctl_version_fails(liqo_env):
    liqo_env.liqoctl.version = "v1.0.2"

    result = liqo_env.run(liqo_info, {"kubeconfig": CONSUMER_KUBECONFIG})

    assert result["failed"] is True
    assert "reports version v1.0.2, but liqoctl_version is v1.0.3" in result["msg"]
    assert LIQOCTL in result["msg"]
    assert "point liqoctl_path to a v1.0.3 binary" in result["msg"]
    assert liqo_env.liqoctl.argvs("info") == []


def test_info_accepts_version_without_v(liqo_env):
    result = liqo_env.run(liqo_info, {"kubeconfig": CONSUMER_KUBECONFIG, "liqoctl_version": "1.0.3"})

    assert "failed" not in result


def test_info_liqoctl_path_not_executable_fails(liqo_env, tmp_path):
    binary = tmp_path / "liqoctl"
    binary.write_text("not a binary")

    result = liqo_env.run(liqo_info, {"kubeconfig": CONSUMER_KUBECONFIG, "liqoctl_path": str(binary)})

    assert result["failed"] is True
    assert f"liqoctl_path {binary} is not an executable file" in result["msg"]
    assert liqo_env.liqoctl.calls == []


def test_info_liqoctl_error_is_reported(liqo_env):
    liqo_env.install_liqo(liqo_env.consumer, "mlops-consumer")
    liqo_env.liqoctl.results["info"] = (1, "", "\x1b[31mERRO\x1b[0m  Unable to check if Liqo is installed: forbidden\n")

    result = liqo_env.run(liqo_info, {"kubeconfig": CONSUMER_KUBECONFIG})

    assert result["failed"] is True
    assert "liqoctl info failed on the cluster (kubeconfig " + CONSUMER_KUBECONFIG + ") (rc 1)" in result["msg"]
    assert "ERRO  Unable to check if Liqo is installed: forbidden" in result["msg"]
    assert result["rc"] == 1
    assert result["cmd"] == [LIQOCTL] + INFO_ARGV


def write_kubeconfig(path, server, token="s3cr3t-token-value"):
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: lab\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\n"
        "contexts:\n- name: lab\n  context:\n    cluster: lab\n    user: admin\n"
        "current-context: lab\n"
        f"users:\n- name: admin\n  user:\n    token: {token}\n"
    )
    os.chmod(path, 0o600)
    return path


@pytest.fixture
def real_api(liqo_env, monkeypatch):
    """Use the real KubeCluster, so connection errors come from the kubernetes client."""
    monkeypatch.setattr(liqo, "KubeCluster", KubeCluster)
    return liqo_env


def test_info_unreachable_api_fails_before_liqoctl_info(real_api, tmp_path):
    # Port 1 on loopback refuses connections, so the client fails at once.
    kubeconfig = write_kubeconfig(tmp_path / "unreachable.kubeconfig", "https://127.0.0.1:1")

    result = real_api.run(liqo_info, {"kubeconfig": str(kubeconfig)})

    assert result["failed"] is True
    assert "Cannot reach the Kubernetes API at https://127.0.0.1:1" in result["msg"]
    assert f"kubeconfig {kubeconfig}" in result["msg"]
    assert "Check that the cluster is running" in result["msg"]
    assert real_api.liqoctl.argvs("info") == []


def test_info_missing_kubeconfig_fails(real_api, tmp_path):
    missing = tmp_path / "missing.kubeconfig"

    result = real_api.run(liqo_info, {"kubeconfig": str(missing)})

    assert result["failed"] is True
    assert f"kubeconfig {missing} does not exist" in result["msg"]


def test_info_unknown_context_fails(real_api, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "lab.kubeconfig", "https://127.0.0.1:1")

    result = real_api.run(liqo_info, {"kubeconfig": str(kubeconfig), "context": "nope"})

    assert result["failed"] is True
    assert f"Cannot load kubeconfig {kubeconfig} (context nope)" in result["msg"]
    assert "the context exists in it" in result["msg"]


def test_info_masks_kubeconfig_token(liqo_env, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "lab.kubeconfig", "https://127.0.0.1:1", token="tok-4f1b2c9e8d7a")
    liqo_env.clusters[str(kubeconfig)] = liqo_env.consumer
    # A liqoctl that echoes the token is the worst case the masking must cover.
    liqo_env.liqoctl.version = "tok-4f1b2c9e8d7a"

    result = liqo_env.run(liqo_info, {"kubeconfig": str(kubeconfig)})

    assert result["failed"] is True
    assert "reports version ********" in result["msg"]
    assert "tok-4f1b2c9e8d7a" not in str(result)


def test_info_version_check_reads_kubeconfig(liqo_env):
    liqo_env.run(liqo_info, {"kubeconfig": CONSUMER_KUBECONFIG, "context": "kind-mlops"})

    assert liqo_env.liqoctl.argvs("version") == [
        ["version", "--client", "--kubeconfig", CONSUMER_KUBECONFIG, "--context", "kind-mlops"]]
