# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Demand and supply read from the consumer's pods, virtual nodes and NamespaceOffloadings."""

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale_cluster import (
    extract_demand,
    extract_providers,
    format_time,
    parse_time,
    pod_requests,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale_policy import build_policy, merge_settings

TAINT = "virtual-node.liqo.io/not-allowed"
FLAVORS = [{"cloud": "verda", "name": "1V100.6V", "cpu": 5, "memory": "20Gi", "gpu": 1, "price_per_hour": 0.39,
            "billing_increment": "10m"}]
UNSCHEDULABLE = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}


def pod(name, namespace="kubeflow", *, requests=None, tolerations=None, conditions=None, node=None,
        phase="Pending", init_requests=None, owner=None):
    spec = {"containers": [{"name": "main", "resources": {"requests": dict(requests or {"cpu": "1"})}}]}
    if init_requests:
        spec["initContainers"] = [{"name": "init", "resources": {"requests": dict(init_requests)}}]
    if tolerations:
        spec["tolerations"] = tolerations
    if node:
        spec["nodeName"] = node
    metadata = {"name": name, "namespace": namespace, "creationTimestamp": "2026-12-04T19:00:00Z"}
    if owner:
        metadata["ownerReferences"] = [{"kind": owner, "name": "x"}]
    return {"metadata": metadata, "spec": spec,
            "status": {"phase": phase, "conditions": [UNSCHEDULABLE] if conditions is None else conditions}}


def offloading(namespace, strategy="LocalAndRemote"):
    return {"metadata": {"name": "offloading", "namespace": namespace}, "spec": {"podOffloadingStrategy": strategy}}


def virtual_node(name, *, ready=True, labels=None, annotations=None):
    base_labels = {"liqo.io/type": "virtual-node", "liqo.io/remote-cluster-id": name}
    base_labels.update(labels or {})
    return {"metadata": {"name": name, "labels": base_labels, "annotations": dict(annotations or {}),
                         "creationTimestamp": "2026-12-04T18:00:00Z"},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def test_offloaded_namespace_pod_is_demand():
    pods = [pod("train", requests={"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"})]

    demand, local_only = extract_demand(pods, [offloading("kubeflow")])

    assert [item.key for item in demand] == ["kubeflow/train"]
    assert (demand[0].cpu, demand[0].memory, demand[0].gpu) == (4.0, 16 * 2**30, 1)
    assert demand[0].created_at == parse_time("2026-12-04T19:00:00Z")
    assert local_only == 0


def test_local_strategy_needs_toleration():
    pods = [pod("plain"), pod("tolerating", tolerations=[{"key": TAINT, "operator": "Exists",
                                                          "effect": "NoExecute"}])]

    demand, local_only = extract_demand(pods, [offloading("kubeflow", strategy="Local")])

    assert [item.name for item in demand] == ["tolerating"]
    assert local_only == 1


def test_not_offloaded_namespace_ignored():
    demand, local_only = extract_demand([pod("web", namespace="default")], [offloading("kubeflow")])

    assert demand == []
    assert local_only == 1


def test_wildcard_toleration_counts():
    demand, _local_only = extract_demand([pod("any", namespace="default", tolerations=[{"operator": "Exists"}])], [])

    assert [item.name for item in demand] == ["any"]


def test_scheduled_or_unmarked_pods_ignored():
    pods = [pod("fresh", conditions=[]),
            pod("bound", node="kind-worker"),
            pod("gated", conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
            pod("running", phase="Running", conditions=[])]

    demand, local_only = extract_demand(pods, [offloading("kubeflow")])

    assert demand == []
    assert local_only == 0


def test_init_container_max_counts():
    requests = pod_requests(pod("x", requests={"cpu": "500m", "memory": "1Gi"},
                                init_requests={"cpu": "2", "memory": "512Mi"}))

    assert requests == (2.0, 2**30, 0)


def test_gpu_limit_counts_without_request():
    item = pod("x")
    item["spec"]["containers"][0]["resources"]["limits"] = {"nvidia.com/gpu": "2"}

    assert pod_requests(item)[2] == 2


def test_gpu_model_selector_read():
    item = pod("x", requests={"nvidia.com/gpu": "1"})
    item["spec"]["nodeSelector"] = {"oss-mlops.io/gpu": "v100", "oss-mlops.io/cloud": "verda"}

    demand, _local_only = extract_demand([item], [offloading("kubeflow")])

    assert demand[0].gpu_model == "v100"
    assert demand[0].cloud == "verda"


def test_providers_from_labels_and_annotations():
    policy = build_policy(merge_settings({}, None), FLAVORS)
    nodes = [virtual_node("verda-v100-1", labels={"oss-mlops.io/cloud": "verda", "oss-mlops.io/flavor": "1V100.6V"},
                          annotations={"oss-mlops.io/idle-since": "2026-12-04T19:10:00Z"}),
             virtual_node("verda-v100-2", labels={"oss-mlops.io/cloud": "verda", "oss-mlops.io/flavor": "1V100.6V"},
                          ready=False),
             virtual_node("hand-made")]
    pods = [pod("train", node="verda-v100-2", phase="Running", conditions=[]),
            pod("agent", node="verda-v100-1", phase="Running", conditions=[], owner="DaemonSet"),
            pod("done", node="verda-v100-1", phase="Succeeded", conditions=[])]

    providers = {item.node: item for item in extract_providers(nodes, pods, policy)}

    assert providers["verda-v100-1"].flavor.name == "1V100.6V"
    assert providers["verda-v100-1"].busy is False
    assert providers["verda-v100-1"].idle_since == parse_time("2026-12-04T19:10:00Z")
    assert providers["verda-v100-1"].billing_start == parse_time("2026-12-04T18:00:00Z")
    assert providers["verda-v100-2"].busy is True
    assert providers["verda-v100-2"].ready is False
    assert providers["hand-made"].flavor is None


def test_last_finished_pod_per_node():
    policy = build_policy(merge_settings({}, None), FLAVORS)

    def finished(name, node, phase, *times):
        item = pod(name, node=node, phase=phase, conditions=[])
        item["status"]["containerStatuses"] = [{"name": f"c{index}", "state": {"terminated": {"finishedAt": when}}}
                                               for index, when in enumerate(times)]
        return item

    finished_pods = [finished("early", "verda-v100-1", "Succeeded", "2026-12-04T19:00:00Z"),
                     finished("late", "verda-v100-1", "Failed", "2026-12-04T19:20:00Z", "2026-12-04T19:05:00Z"),
                     finished("still-running", "verda-v100-1", "Running", "2026-12-04T19:40:00Z")]

    found = extract_providers([virtual_node("verda-v100-1"), virtual_node("verda-v100-2")], [], policy,
                              finished_pods=finished_pods)

    assert [item.last_finished for item in found] == [parse_time("2026-12-04T19:20:00Z"), None]


def test_inventory_overrides_labels():
    policy = build_policy(merge_settings({}, None), FLAVORS)
    inventory = {"mlops-verda-gpu-ab12c": {"name": "gpu-1", "cloud": "verda", "flavor": "1V100.6V",
                                           "billing_start": "2026-12-04T17:55:00Z"}}

    found = extract_providers([virtual_node("mlops-verda-gpu-ab12c")], [], policy, inventory)

    assert found[0].name == "gpu-1"
    assert found[0].flavor.name == "1V100.6V"
    assert found[0].billing_start == parse_time("2026-12-04T17:55:00Z")


def test_time_round_trip():
    assert format_time(parse_time("2026-12-04T19:00:00Z")) == "2026-12-04T19:00:00Z"
    assert parse_time("1764874800") == 1764874800.0
