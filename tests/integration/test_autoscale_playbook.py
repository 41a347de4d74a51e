"""Run playbooks/autoscale.yml against a joined lab: a pending GPU pod, then an idle provider.

The lab (tests/lab) runs real control planes with KWOK nodes and the liqoctl stand-in. join.yml peers the
consumer with the provider verda-v100-1, whose virtual node offers one GPU. The tests prove what the plan
contains and what the playbook writes to the consumer. Renting a VM and unjoining are other playbooks'
work; here the hand-over (group provision_requests, unjoin_providers) is checked, not the VM.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lab"))

from labkit.testing import lab_slot_for, start_lab, stop_lab, wait_for  # noqa: E402  (needs the path above)

INVENTORY = REPO / "inventories" / "lab"
SLOT = lab_slot_for("autoscale")
CONSUMER = "mlops-consumer"
PROVIDER = "verda-v100-1"
IDLE_SINCE = "oss-mlops.io/idle-since"
TAINT = "virtual-node.liqo.io/not-allowed"
SETTINGS = {
    # The lab inventory does not say which flavor its provider is; the planner learns it from these.
    "provision_cloud": "verda",
    "provision_flavor": "1V100.6V",
    "autoscale_flavors": [
        {"cloud": "verda", "name": "1V100.6V", "cpu": 5, "memory": "20Gi", "gpu": 1, "gpu_model": "v100",
         "price_per_hour": 0.39, "billing_increment": "10m", "boot_time": "8m"},
        {"cloud": "verda", "name": "2V100.12V", "cpu": 10, "memory": "40Gi", "gpu": 2, "gpu_model": "v100",
         "price_per_hour": 0.78, "billing_increment": "10m", "boot_time": "8m"},
    ],
    # No batching window, so a pod that just became unschedulable counts at once.
    "autoscale_policy": {"batching_window": "0s", "max_providers": 3},
}


@pytest.fixture(scope="module")
def autoscale_lab(tmp_path_factory):
    """Start a lab used only by this module, join it, and stop it afterwards, also when a test fails."""
    state_dir = tmp_path_factory.mktemp("autoscale-lab")
    env = {**os.environ, "OSS_MLOPS_LAB_STATE": str(state_dir), "OSS_MLOPS_LAB_SLOT": str(SLOT),
           "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
           "ANSIBLE_NOCOLOR": "1"}
    settings = state_dir / "autoscale-vars.yml"
    settings.write_text(yaml.safe_dump(SETTINGS))
    try:
        lab = start_lab(state_dir, SLOT)
        context = {"state_dir": state_dir, "env": env, "lab": lab, "settings": settings}
        returncode, output = run_playbook(context, "join.yml")
        assert returncode == 0, failure_messages(output)
        yield context
    finally:
        stop_lab(state_dir)


def run_playbook(context, name, *extra_args):
    playbook = Path(sys.executable).parent / "ansible-playbook"
    completed = subprocess.run(
        [str(playbook), "-i", str(INVENTORY), str(REPO / "playbooks" / name), *extra_args],
        env=context["env"], cwd=REPO, capture_output=True, text=True, check=False,
    )
    try:
        return completed.returncode, json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"ansible-playbook printed no JSON; stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}")


def run_autoscale(context, *extra_args):
    """Run autoscale.yml up to the hand-over; renting and returning VMs need a cloud, which this lab has not."""
    returncode, output = run_playbook(context, "autoscale.yml", "-e", f"@{context['settings']}",
                                      "--skip-tags", "provision,decommission", *extra_args)
    assert returncode == 0, failure_messages(output)
    return output


def failure_messages(output):
    return [f"{host}: {task['task']['name']}: {result.get('msg', '')}"
            for play in output["plays"] for task in play["tasks"]
            for host, result in task["hosts"].items() if result.get("failed")]


def task_result(output, name, host=CONSUMER):
    for play in output["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == name:
                return task["hosts"][host]
    raise AssertionError(f"task {name!r} did not run")


def plan_of(output):
    return task_result(output, "Plan which providers to rent and which to return")


def core(context):
    kubeconfig = context["lab"]["clusters"][CONSUMER]["kubeconfig"]
    return client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))


def gpu_pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "kubeflow"},
            "spec": {"containers": [{"name": "main", "image": "busybox",
                                     "resources": {"requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                                                   "limits": {"nvidia.com/gpu": "1"}}}],
                     "tolerations": [{"key": TAINT, "operator": "Exists", "effect": "NoExecute"}]}}


def pod_unschedulable(api, name):
    conditions = api.read_namespaced_pod(name, "kubeflow").status.conditions or []
    return any(item.type == "PodScheduled" and item.reason == "Unschedulable" for item in conditions)


def idle_annotation(context):
    return (core(context).read_node(PROVIDER).metadata.annotations or {}).get(IDLE_SINCE)


@pytest.fixture(scope="module")
def pending_gpu_pod(autoscale_lab):
    """Fill the provider's one GPU with a pod, then create a second GPU pod that cannot be scheduled."""
    api = core(autoscale_lab)
    api.create_namespaced_pod("kubeflow", gpu_pod("busy"))
    wait_for("pod busy to be bound", lambda: api.read_namespaced_pod("busy", "kubeflow").spec.node_name)
    api.create_namespaced_pod("kubeflow", gpu_pod("train"))
    wait_for("pod train to be unschedulable", lambda: pod_unschedulable(api, "train"))
    return api


def test_check_run_prints_plan(autoscale_lab, pending_gpu_pod):
    output = run_autoscale(autoscale_lab, "--check")

    plan = plan_of(output)
    assert [(entry["cloud"], entry["flavor"]) for entry in plan["scale_up"]] == [("verda", "1V100.6V")]
    assert plan["scale_up"][0]["pods"] == ["kubeflow/train"]
    assert plan["scale_down"] == []
    assert task_result(output, "Queue each provider to rent for the provisioning playbook").get("skipped")
    assert idle_annotation(autoscale_lab) is None


def test_real_run_queues_provider(autoscale_lab, pending_gpu_pod):
    output = run_autoscale(autoscale_lab)

    queued = task_result(output, "Queue each provider to rent for the provisioning playbook")["results"]
    assert len(queued) == 1
    assert queued[0]["add_host"]["groups"] == ["provision_requests"]
    assert queued[0]["add_host"]["host_vars"]["provision_cloud"] == "verda"
    assert queued[0]["add_host"]["host_vars"]["provision_flavor"] == "1V100.6V"
    assert idle_annotation(autoscale_lab) is None


def test_in_flight_provider_not_rented_twice(autoscale_lab, pending_gpu_pod):
    in_flight = json.dumps({"autoscale_in_flight": [{"cloud": "verda", "flavor": "1V100.6V"}]})

    output = run_autoscale(autoscale_lab, "--check", "-e", in_flight)

    assert plan_of(output)["scale_up"] == []


def test_idle_provider_marked_then_returned(autoscale_lab, pending_gpu_pod):
    api = pending_gpu_pod
    for name in ("busy", "train"):
        api.delete_namespaced_pod(name, "kubeflow", grace_period_seconds=0)
    wait_for("the GPU pods to go", lambda: not api.list_namespaced_pod("kubeflow",
                                                                       field_selector="metadata.name=busy").items
             and not api.list_namespaced_pod("kubeflow", field_selector="metadata.name=train").items)

    checked = run_autoscale(autoscale_lab, "--check")
    assert [mark["node"] for mark in plan_of(checked)["idle_marks"]] == [PROVIDER]
    assert idle_annotation(autoscale_lab) is None

    marked = run_autoscale(autoscale_lab)
    assert idle_annotation(autoscale_lab) == plan_of(marked)["idle_marks"][0]["idle_since"]
    assert plan_of(marked)["scale_down"] == []
    assert [entry["provider"] for entry in plan_of(marked)["kept_idle"]] == [PROVIDER]

    # An administrator shortens the idle time through the ConfigMap; the next run returns the provider.
    api.create_namespace({"metadata": {"name": "oss-mlops"}})
    api.create_namespaced_config_map("oss-mlops", {
        "metadata": {"name": "oss-mlops-autoscale"},
        "data": {"warm_idle_time": "0s", "idle_time": "0s", "billing_aware": "false"}})
    released = run_autoscale(autoscale_lab)

    assert [entry["provider"] for entry in plan_of(released)["scale_down"]] == [PROVIDER]
    handed_on = task_result(released, "List the providers to return as unjoin_providers")["results"]
    assert handed_on[0]["ansible_facts"]["unjoin_providers"] == [PROVIDER]
