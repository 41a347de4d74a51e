# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.modules import liqo_offload

KUBECONFIG = "/etc/oss-mlops/consumer.kubeconfig"
ACCESS = ["--kubeconfig", KUBECONFIG]
GPU_TERM = {"matchExpressions": [{"key": "liqo.example/gpu", "operator": "In", "values": ["true"]}]}
PROVIDER_TERM = {"matchExpressions": [{"key": "liqo.io/remote-cluster-id", "operator": "In",
                                       "values": ["verda-v100-1"]}]}


@pytest.fixture
def consumer(liqo_env):
    liqo_env.install_liqo(liqo_env.consumer, "mlops-consumer")
    liqo_env.consumer.put("Namespace", {"metadata": {"name": "kubeflow-gpu"}})
    return liqo_env


def warning_messages(result):
    """Return the warning texts; ansible-core 2.19 returns each warning as a structured summary."""
    return [warning["event"]["msg"] if isinstance(warning, dict) else warning for warning in result.get("warnings", [])]


def offload_like_liqoctl(env, phase="Ready"):
    """Return a liqoctl offload handler that writes the NamespaceOffloading liqoctl v1.0.3 writes."""

    def handler(argv):
        namespace = argv[3]
        selectors = [argv[index + 1] for index, word in enumerate(argv) if word == "--selector"]
        terms = [{"matchExpressions": [
            {"key": key, "operator": "In", "values": [value]}
            for key, _sep, value in (part.partition("=") for part in selector.split(","))
        ]} for selector in selectors]
        mapping = argv[argv.index("--namespace-mapping-strategy") + 1]
        pod_strategy = argv[argv.index("--pod-offloading-strategy") + 1]
        remote_name = argv[argv.index("--remote-namespace-name") + 1] if "--remote-namespace-name" in argv else None
        env.add_offloading(env.consumer, namespace, mapping=mapping, pod_strategy=pod_strategy, terms=terms,
                           phase=phase, remote_name=remote_name)
        return 0, "", "INFO  Offloading of namespace correctly enabled\n"

    return handler


def test_offload_runs_liqoctl(consumer):
    consumer.liqoctl.handlers["offload"] = offload_like_liqoctl(consumer)

    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu",
                                         "pod_offloading_strategy": "Remote",
                                         "cluster_selector": ["liqo.example/gpu=true",
                                                              "liqo.io/remote-cluster-id=verda-v100-1"]})

    assert result["changed"] is True
    assert consumer.liqoctl.mutating_calls() == [[
        "offload", "namespace", "kubeflow-gpu", *ACCESS, "--namespace-mapping-strategy", "EnforceSameName",
        "--pod-offloading-strategy", "Remote", "--selector", "liqo.example/gpu=true",
        "--selector", "liqo.io/remote-cluster-id=verda-v100-1", "--timeout", "120s",
    ]]
    assert result["phase"] == "Ready"
    assert result["remote_namespace"] == "kubeflow-gpu"
    assert result["remote_namespaces_conditions"]["verda-v100-1"][1]["reason"] == "NamespaceCreated"
    assert result["offloading"]["cluster_selector"] == [GPU_TERM, PROVIDER_TERM]


def test_offload_selected_name_passes_remote_name(consumer):
    consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu", "context": "kind-mlops",
                                "mapping_strategy": "SelectedName", "remote_namespace_name": "gpu-jobs",
                                "timeout": 30})

    assert consumer.liqoctl.mutating_calls() == [[
        "offload", "namespace", "kubeflow-gpu", *ACCESS, "--context", "kind-mlops",
        "--namespace-mapping-strategy", "SelectedName", "--remote-namespace-name", "gpu-jobs",
        "--pod-offloading-strategy", "LocalAndRemote", "--timeout", "30s",
    ]]


def test_offload_matching_is_unchanged(consumer):
    # liqoctl appends `=` requirements in map order and the API keeps whatever order it got.
    term = {"matchExpressions": [{"key": "region", "operator": "In", "values": ["europe", "us-west"]},
                                 {"key": "liqo.example/gpu", "operator": "In", "values": ["true"]}]}
    consumer.add_offloading(consumer.consumer, "kubeflow-gpu", pod_strategy="Remote", terms=[term, PROVIDER_TERM])

    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu",
                                         "pod_offloading_strategy": "Remote",
                                         "cluster_selector": ["liqo.io/remote-cluster-id=verda-v100-1",
                                                              "liqo.example/gpu=true,region in (us-west, europe)"]})

    assert result["changed"] is False
    assert result["changes"] == []
    assert consumer.liqoctl.mutating_calls() == []
    assert result["phase"] == "Ready"


def test_offload_changed_pod_strategy_reruns(consumer):
    consumer.add_offloading(consumer.consumer, "kubeflow-gpu", pod_strategy="LocalAndRemote")
    consumer.liqoctl.handlers["offload"] = offload_like_liqoctl(consumer)

    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu",
                                         "pod_offloading_strategy": "Remote"}, diff=True)

    assert result["changed"] is True
    assert result["changes"] == ["pod_offloading_strategy: LocalAndRemote -> Remote"]
    assert len(consumer.liqoctl.mutating_calls()) == 1
    assert result["diff"]["before"]["pod_offloading_strategy"] == "LocalAndRemote"
    assert result["diff"]["after"]["pod_offloading_strategy"] == "Remote"


def test_offload_changed_selector_reruns(consumer):
    consumer.add_offloading(consumer.consumer, "kubeflow-gpu", terms=[PROVIDER_TERM])
    consumer.liqoctl.handlers["offload"] = offload_like_liqoctl(consumer)

    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu",
                                         "cluster_selector": ["liqo.example/gpu=true"]})

    assert result["changes"] == [
        "cluster_selector: liqo.io/remote-cluster-id In ['verda-v100-1'] -> liqo.example/gpu In ['true']"]
    assert consumer.liqoctl.mutating_calls()[0][-3:] == ["liqo.example/gpu=true", "--timeout", "120s"]


def test_offload_check_mode_runs_nothing(consumer):
    consumer.add_offloading(consumer.consumer, "kubeflow-gpu", pod_strategy="LocalAndRemote")

    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu",
                                         "pod_offloading_strategy": "Local"}, check_mode=True)

    assert result["changed"] is True
    assert consumer.liqoctl.mutating_calls() == []


def test_offload_changed_mapping_strategy_fails(consumer):
    consumer.add_offloading(consumer.consumer, "kubeflow-gpu", mapping="DefaultName")

    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu"})

    assert result["failed"] is True
    assert ("Namespace kubeflow-gpu is offloaded with mapping strategy DefaultName (remote namespace "
            "kubeflow-gpu-mlops-consumer), but mapping strategy EnforceSameName was requested") in result["msg"]
    assert "state=absent and then state=present" in result["msg"]
    assert "deletes the remote namespaces and everything running in them" in result["msg"]
    assert consumer.liqoctl.mutating_calls() == []


def test_offload_changed_remote_name_fails(consumer):
    consumer.add_offloading(consumer.consumer, "kubeflow-gpu", mapping="SelectedName", remote_name="gpu-jobs")

    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu",
                                         "mapping_strategy": "SelectedName", "remote_namespace_name": "gpu-batch"})

    assert result["failed"] is True
    assert ("offloaded with mapping strategy SelectedName (remote namespace gpu-jobs), but mapping strategy "
            "SelectedName with remote namespace gpu-batch was requested") in result["msg"]
    assert consumer.liqoctl.mutating_calls() == []


def test_offload_missing_namespace_fails(consumer):
    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "not-there"})

    assert result["failed"] is True
    assert f"Namespace not-there not found on the consumer cluster (kubeconfig {KUBECONFIG})" in result["msg"]
    assert consumer.liqoctl.mutating_calls() == []


def test_offload_no_cluster_selected_warns(consumer):
    consumer.liqoctl.handlers["offload"] = offload_like_liqoctl(consumer, phase="NoClusterSelected")

    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu",
                                         "cluster_selector": ["liqo.example/gpu=true"]})

    assert result["phase"] == "NoClusterSelected"
    [warning] = warning_messages(result)
    assert "no cluster matches the cluster selector (liqo.example/gpu In ['true'])" in warning


def test_offload_terminating_fails(consumer):
    offloading = consumer.add_offloading(consumer.consumer, "kubeflow-gpu")
    offloading["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"

    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu"})

    assert result["failed"] is True
    assert "is still being unoffloaded" in result["msg"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"cluster_selector": ["liqo.example/gpu!=false"]}, "write 'liqo.example/gpu notin (value)'"),
    ({"cluster_selector": ["gpus>1"]}, "'>' is not supported in label selectors"),
    ({"cluster_selector": [" "]}, "a cluster selector string is empty"),
    ({"cluster_selector": ["region in europe"]}, "expected '(' after the operator of 'region'"),
    ({"remote_namespace_name": "gpu-jobs"}, "remote_namespace_name gpu-jobs is only used with mapping_strategy "
                                            "SelectedName, not EnforceSameName"),
    ({"mapping_strategy": "SelectedName", "remote_namespace_name": "Gpu_Jobs"}, "is not a valid namespace name"),
    ({"mapping_strategy": "SelectedName"}, "mapping_strategy is SelectedName but all of the following are missing: "
                                           "remote_namespace_name"),
])
def test_offload_invalid_request_fails_before_liqoctl(consumer, overrides, message):
    args = dict({"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu"}, **overrides)

    result = consumer.run(liqo_offload, args)

    assert result["failed"] is True
    assert message in result["msg"]
    assert consumer.liqoctl.calls == []


def test_unoffload_runs_liqoctl(consumer):
    consumer.add_offloading(consumer.consumer, "kubeflow-gpu")
    consumer.liqoctl.handlers["unoffload"] = lambda argv: (
        consumer.consumer.remove("NamespaceOffloading", "offloading", "kubeflow-gpu"), (0, "", ""))[1]

    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu", "state": "absent"},
                          diff=True)

    assert result["changed"] is True
    assert consumer.liqoctl.mutating_calls() == [
        ["unoffload", "namespace", "kubeflow-gpu", *ACCESS, "--timeout", "120s", "--skip-confirm"]]
    assert result["offloading"] is None
    assert result["diff"]["after"] == {}
    assert result["diff"]["before"]["mapping_strategy"] == "EnforceSameName"


def test_unoffload_not_offloaded_is_unchanged(consumer):
    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu", "state": "absent"})

    assert result["changed"] is False
    assert consumer.liqoctl.mutating_calls() == []


def test_unoffload_missing_namespace_is_unchanged(consumer):
    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "gone", "state": "absent"})

    assert result["changed"] is False
    assert consumer.liqoctl.mutating_calls() == []


def test_unoffload_check_mode_runs_nothing(consumer):
    consumer.add_offloading(consumer.consumer, "kubeflow-gpu")

    result = consumer.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu", "state": "absent"},
                          check_mode=True)

    assert result["changed"] is True
    assert consumer.liqoctl.mutating_calls() == []


def test_offload_without_liqo_fails(liqo_env):
    liqo_env.consumer.put("Namespace", {"metadata": {"name": "kubeflow-gpu"}})

    result = liqo_env.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu"})

    assert result["failed"] is True
    assert f"Liqo is not installed on the consumer cluster (kubeconfig {KUBECONFIG})" in result["msg"]
    assert liqo_env.liqoctl.mutating_calls() == []


def test_offload_without_liqo_check_mode_predicts(liqo_env):
    liqo_env.consumer.put("Namespace", {"metadata": {"name": "kubeflow-gpu"}})

    result = liqo_env.run(liqo_offload, {"kubeconfig": KUBECONFIG, "namespace": "kubeflow-gpu"}, check_mode=True)

    assert result.get("failed") is not True
    assert result["changed"] is True
    assert result["changes"] == [f"offload namespace kubeflow-gpu once Liqo is installed on the consumer cluster "
                                 f"(kubeconfig {KUBECONFIG})"]
    assert liqo_env.liqoctl.mutating_calls() == []
