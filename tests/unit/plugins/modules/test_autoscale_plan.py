# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""autoscale_plan through main(), against an in-memory consumer."""

import json

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oss_mlops.multicloud.plugins.modules import autoscale_plan

NOW = "2026-12-04T19:00:00Z"
FLAVORS = [
    {"cloud": "verda", "name": "1V100.6V", "cpu": 5, "memory": "20Gi", "gpu": 1, "gpu_model": "v100",
     "price_per_hour": 0.39, "billing_increment": "10m", "boot_time": "8m"},
    {"cloud": "cpouta", "name": "standard.large", "cpu": 4, "memory": "7Gi", "price_per_hour": 0.05,
     "billing_increment": "1h", "boot_time": "6m"},
]
UNSCHEDULABLE = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}


class FakeCore:
    def __init__(self, consumer):
        self.consumer = consumer

    def list_pod_for_all_namespaces(self, field_selector=None):
        return {"items": list(self.consumer.pods)}


class FakeConsumer:
    """The reads autoscale_plan makes, served from lists of objects in the API's JSON shape."""

    def __init__(self):
        self.pods = []
        self.nodes = []
        self.offloadings = []
        self.config_maps = {}
        self.core = FakeCore(self)

    def call(self, method, *args, **kwargs):
        return method(*args, **kwargs)

    def to_dict(self, value):
        return value

    def get_config_map(self, namespace, name):
        return self.config_maps.get((namespace, name))

    def list_nodes(self, label_selector=None):
        return list(self.nodes)

    def list_liqo_objects(self, kind, namespace=None, label_selector=None):
        assert kind == "NamespaceOffloading"
        return list(self.offloadings)


@pytest.fixture
def consumer(monkeypatch):
    fake = FakeConsumer()
    fake.opened = []

    def open_cluster(kubeconfig, context):
        fake.opened.append(kubeconfig)
        return fake

    monkeypatch.setattr(autoscale_plan, "open_cluster", open_cluster)
    fake.offloadings.append({"metadata": {"name": "offloading", "namespace": "kubeflow"},
                             "spec": {"podOffloadingStrategy": "LocalAndRemote"}})
    return fake


@pytest.fixture
def run(capsys, monkeypatch):
    monkeypatch.setattr(_internal, "is_controller", False)

    def run_module(args, check_mode=False):
        module_args = {"kubeconfig": "/etc/oss-mlops/consumer.kubeconfig", "flavors": FLAVORS, "now": NOW, **args}
        if check_mode:
            module_args["_ansible_check_mode"] = True
        with patch_module_args(module_args), pytest.raises(SystemExit):
            autoscale_plan.main()
        return json.loads(capsys.readouterr().out)

    return run_module


def gpu_pod(name, created="2026-12-04T18:58:00Z"):
    return {"metadata": {"name": name, "namespace": "kubeflow", "creationTimestamp": created},
            "spec": {"containers": [{"name": "main", "resources": {
                "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}}}]},
            "status": {"phase": "Pending", "conditions": [UNSCHEDULABLE]}}


def virtual_node(name, annotations=None):
    return {"metadata": {"name": name, "creationTimestamp": "2026-12-04T17:00:00Z",
                         "labels": {"liqo.io/type": "virtual-node", "liqo.io/remote-cluster-id": name,
                                    "oss-mlops.io/cloud": "verda", "oss-mlops.io/flavor": "1V100.6V"},
                         "annotations": dict(annotations or {})},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def test_pending_gpu_pod_plans_provider(run, consumer):
    consumer.pods.append(gpu_pod("train"))

    result = run({})

    assert result["changed"] is False
    assert [entry["flavor"] for entry in result["scale_up"]] == ["1V100.6V"]
    assert result["scale_up"][0]["pods"] == ["kubeflow/train"]
    assert result["scale_up"][0]["request"] == "verda-1v100-6v-20261204t190000-0"
    assert result["pending_pods"][0]["gpu"] == 1
    assert result["now"] == NOW


def test_check_mode_plans_same(run, consumer):
    consumer.pods.append(gpu_pod("train"))

    normal = run({})
    checked = run({}, check_mode=True)

    assert checked["changed"] is False
    assert checked["scale_up"] == normal["scale_up"]


def test_in_flight_subtracted(run, consumer):
    consumer.pods.append(gpu_pod("train"))

    result = run({"in_flight": [{"cloud": "verda", "flavor": "1V100.6V"}]})

    assert result["scale_up"] == []
    assert any("being provisioned" in reason for reason in result["reasons"])


def test_idle_node_marked(run, consumer):
    consumer.nodes.append(virtual_node("verda-v100-1"))

    result = run({})

    assert result["idle_marks"] == [{"provider": "verda-v100-1", "node": "verda-v100-1", "idle_since": NOW}]
    assert result["scale_down"] == []


def test_idle_node_released(run, consumer):
    # Idle since 18:00 and billed since 17:01 in 10-minute increments: the next increment starts at 19:01,
    # inside the 2-minute release margin, so the provider is released now.
    consumer.nodes.append(virtual_node("verda-v100-1", {"oss-mlops.io/idle-since": "2026-12-04T18:00:00Z"}))

    result = run({"providers": [{"node": "verda-v100-1", "name": "gpu-host-1",
                                 "billing_start": "2026-12-04T17:01:00Z"}]})

    assert [entry["provider"] for entry in result["scale_down"]] == ["gpu-host-1"]
    assert result["scale_down"][0]["idle_since"] == "2026-12-04T18:00:00Z"


def test_config_map_overrides(run, consumer):
    consumer.nodes.append(virtual_node("verda-v100-1", {"oss-mlops.io/idle-since": "2026-12-04T18:00:00Z"}))
    consumer.config_maps[("oss-mlops", "oss-mlops-autoscale")] = {"data": {"warm_idle_time": "2h"}}

    result = run({})

    assert result["scale_down"] == []
    assert result["policy"]["warm_idle_time"] == 7200
    assert result["kept_idle"][0]["release_at"] == "2026-12-04T20:00:00Z"


def test_bad_config_map_named(run, consumer):
    consumer.config_maps[("oss-mlops", "oss-mlops-autoscale")] = {"data": {"idle_time": "-1m"}}

    result = run({})

    assert result["failed"] is True
    assert "ConfigMap oss-mlops/oss-mlops-autoscale" in result["msg"]
    assert "idle_time" in result["msg"]


@pytest.mark.parametrize(("args", "message"), [
    ({"min_providers": 3, "max_providers": 2}, "max_providers (2) is below min_providers (3)"),
    ({"idle_time": "-10m"}, "idle_time: '-10m' is negative"),
    ({"flavors": [dict(FLAVORS[0], price_per_hour=None)]}, "flavor verda/1V100.6V: price_per_hour is missing"),
])
def test_bad_policy_fails_before_reading(run, consumer, args, message):
    result = run(args)

    assert result["failed"] is True
    assert message in result["msg"]
    assert consumer.opened == []


def test_unknown_in_flight_flavor_fails(run, consumer):
    result = run({"in_flight": [{"cloud": "verda", "flavor": "8H100"}]})

    assert result["failed"] is True
    assert "verda/8H100, which is not in flavors" in result["msg"]
