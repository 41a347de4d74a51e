"""autoscale.yml end to end on the lab: rent a provider for a pending GPU pod, reuse it warm, then return it.

The lab (tests/lab) runs two real control planes with KWOK nodes: the platform's consumer and a k3s cluster
that plays the VM the autoscaler rents. Nothing is joined at the start. The Verda API is the loopback double
(tests/clouds/verda_double.py): it hands the new instance the address of that lab cluster, and the test role
fresh_vm_standin plays the last step of the k3s role (the kubeconfig arrives on the controller). Everything
else is the collection as an administrator runs it. autoscale.yml plans, provision.yml rents and join.yml
joins. Later runs mark the provider idle and reuse it for a second pod. Then decommission.yml unjoins it and
deletes the VM. Booting a real VM, k3s and the GPU driver are not covered here.
"""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation import (
    AllocationRequest,
    plan_allocate,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_settings import build_settings
from kubernetes import client, config

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lab"))
sys.path.insert(0, str(REPO / "tests" / "clouds"))

from labkit.testing import lab_slot_for, start_lab, stop_lab, wait_for  # noqa: E402  (needs the path above)
from playbook_runner import failure_messages  # noqa: E402
from verda_double import VerdaDouble  # noqa: E402

SLOT = lab_slot_for("autoscale-rent")
CONSUMER = "mlops-consumer"
RENTED = "rented-vm"
CLIENT_ID = "autoscale-client"
CLIENT_SECRET = "autoscale-secret-do-not-log"
TAINT = "virtual-node.liqo.io/not-allowed"
IDLE_SINCE = "oss-mlops.io/idle-since"
FLAVOR = {"cloud": "verda", "name": "1V100.6V", "cpu": 6, "memory": "23Gi", "gpu": 1, "gpu_model": "v100",
          "price_per_hour": 0.39, "billing_increment": "10m", "boot_time": "8m"}
# One warm provider keeps 30 minutes of idle time. The last run shortens it to return the provider.
POLICY = {"batching_window": "0s", "max_providers": 2, "warm_pool": 1, "warm_idle_time": "30m", "idle_time": "10m",
          "billing_aware": False}


def first_allocation():
    """Return the pod and service CIDRs that the allocator gives the first provider of an empty table."""
    settings = build_settings(cloud="verda")
    plan = plan_allocate([], AllocationRequest(key="first"), settings, datetime.now(UTC))
    return plan.allocation.pod_cidr, plan.allocation.service_cidr


def write_topology(path):
    """Write a topology of the default consumer and a k3s cluster with one V100 and the first rented VM's CIDRs."""
    default = yaml.safe_load((REPO / "tests" / "lab" / "topology.yml").read_text())
    consumer = next(cluster for cluster in default["clusters"] if cluster["name"] == CONSUMER)
    consumer["manifests"] = [str(REPO / "tests" / "lab" / item) for item in consumer.get("manifests", [])]
    pod_cidr, service_cidr = first_allocation()
    rented = {"name": RENTED, "role": "provider", "flavor": "k3s", "pod_cidr": pod_cidr,
              "service_cidr": service_cidr,
              "nodes": [{"name": RENTED,
                         "capacity": {"cpu": "6", "memory": "23Gi", "pods": "110", "ephemeral-storage": "80Gi",
                                      "nvidia.com/gpu": "1"},
                         "labels": {"node-role.kubernetes.io/control-plane": "true"}}]}
    path.write_text(yaml.safe_dump({"clusters": [consumer, rented]}))


def write_inventory(directory, lab, kubeconfigs):
    """Write an inventory that lists only the consumer, because rented providers come from the allocation table."""
    (directory / "group_vars").mkdir(parents=True)
    (directory / "host_vars").mkdir()
    (directory / "hosts.yml").write_text(yaml.safe_dump({"liqo_consumer": {"hosts": {CONSUMER: None}}}))
    (directory / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "liqo_cluster_liqoctl_path": lab["liqoctl"],
        "liqo_cluster_liqoctl_version": "v1.0.3",
        # Every rented provider: a k3s cluster whose kubeconfig the preparation roles leave here.
        "liqo_cluster_flavor": "k3s",
        "liqo_cluster_kubeconfig": str(kubeconfigs) + "/{{ inventory_hostname }}.kubeconfig",
        "liqo_cluster_reserved_subnets": [],
        "liqo_peer_cpu": "6", "liqo_peer_memory": "23Gi", "liqo_peer_pods": "110",
        "liqo_peer_resources": {"nvidia.com/gpu": 1},
        "provider_prepare_roles": ["fresh_vm_standin"],
        "provider_prepare_become": False,
        "fresh_vm_standin_source": lab["clusters"][RENTED]["kubeconfig"],
        "provision_image": "ubuntu-24.04",
        "provision_user_data": "#cloud-config\nhostname_from_test: true\n",
    }))
    consumer = yaml.safe_load((REPO / "inventories" / "lab" / "host_vars" / f"{CONSUMER}.yml").read_text())
    consumer.update({"liqo_cluster_kubeconfig": lab["clusters"][CONSUMER]["kubeconfig"],
                     "liqo_cluster_api_server_url": lab["clusters"][CONSUMER]["api_server_url"]})
    (directory / "host_vars" / f"{CONSUMER}.yml").write_text(yaml.safe_dump(consumer))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """Start the lab and the Verda double, and stop both afterwards, also when a test fails."""
    state_dir = tmp_path_factory.mktemp("autoscale-rent-lab")
    work = tmp_path_factory.mktemp("autoscale-rent")
    topology = work / "topology.yml"
    write_topology(topology)
    with VerdaDouble(CLIENT_ID, CLIENT_SECRET) as verda:
        try:
            lab = start_lab(state_dir, SLOT, topology)
            kubeconfigs = work / "kubeconfigs"
            kubeconfigs.mkdir()
            write_inventory(work / "inventory", lab, kubeconfigs)
            verda.next_addresses.append(urlsplit(lab["clusters"][RENTED]["api_server_url"]).hostname)
            settings = work / "autoscale-vars.yml"
            settings.write_text(yaml.safe_dump({"autoscale_flavors": [FLAVOR], "autoscale_policy": POLICY}))
            env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                   "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_NOCOLOR": "1",
                   "ANSIBLE_ROLES_PATH": str(REPO / "tests" / "integration" / "roles"),
                   "ANSIBLE_LOCAL_TEMP": str(work / "tmp"),
                   "OSS_MLOPS_ALLOCATION_DATABASE": str(work / "allocations.sqlite3"),
                   "VERDA_CLIENT_ID": CLIENT_ID, "VERDA_CLIENT_SECRET": CLIENT_SECRET,
                   "VERDA_BASE_URL": verda.base_url + "/v1"}
            api = client.CoreV1Api(config.new_client_from_config(config_file=lab["clusters"][CONSUMER]["kubeconfig"]))
            batch = client.BatchV1Api(api.api_client)
            yield {"work": work, "env": env, "settings": settings, "verda": verda, "core": api, "batch": batch,
                   "database": work / "allocations.sqlite3"}
        finally:
            stop_lab(state_dir)


def run_autoscale(scenario, *extra_args):
    """Run autoscale.yml with the flavor catalogue and return its JSON output, which must not contain the secret."""
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(scenario["work"] / "inventory"),
               str(REPO / "playbooks" / "autoscale.yml"), "-e", f"@{scenario['settings']}", *extra_args]
    completed = subprocess.run(command, env=scenario["env"], cwd=REPO, capture_output=True, text=True,
                               check=False, timeout=1500)
    assert CLIENT_SECRET not in completed.stdout + completed.stderr
    try:
        output = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"ansible-playbook printed no JSON; stdout:\n{completed.stdout[-4000:]}\n"
                    f"stderr:\n{completed.stderr[-4000:]}")
    assert completed.returncode == 0, (failure_messages(output), completed.stderr[-4000:])
    return output


def plan_of(output):
    for play in output["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == "Plan which providers to rent and which to return":
                return task["hosts"][CONSUMER]
    raise AssertionError("autoscale.yml did not plan")


def gpu_job(name):
    container = {"name": "main", "image": "busybox",
                 "resources": {"requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                               "limits": {"nvidia.com/gpu": "1"}}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "kubeflow"},
            "spec": {"backoffLimit": 0,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [container],
                                           "tolerations": [{"key": TAINT, "operator": "Exists",
                                                            "effect": "NoExecute"}]}}}}


def job_pod(scenario, job):
    pods = scenario["core"].list_namespaced_pod("kubeflow", label_selector=f"job-name={job}").items
    return pods[0] if pods else None


def unschedulable(pod):
    conditions = (pod.status.conditions or []) if pod else []
    return any(item.type == "PodScheduled" and item.reason == "Unschedulable" for item in conditions)


def job_succeeded(scenario, job):
    return (scenario["batch"].read_namespaced_job(job, "kubeflow").status.succeeded or 0) >= 1


def allocations(scenario):
    with sqlite3.connect(scenario["database"]) as database:
        return database.execute("SELECT key, name, state FROM allocations").fetchall()


def virtual_nodes(scenario):
    return scenario["core"].list_node(label_selector="liqo.io/type=virtual-node").items


def parse(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_pending_gpu_pod_rents_and_joins_a_provider(scenario):
    scenario["batch"].create_namespaced_job("kubeflow", gpu_job("train-1"))
    wait_for("the GPU pod of train-1 to be unschedulable", lambda: unschedulable(job_pod(scenario, "train-1")),
             timeout=120)

    checked = run_autoscale(scenario, "--check")
    assert [(entry["cloud"], entry["flavor"]) for entry in plan_of(checked)["scale_up"]] == [("verda", "1V100.6V")]
    assert scenario["verda"].billed_resources()["instances"] == []

    output = run_autoscale(scenario)

    plan = plan_of(output)
    assert plan["scale_up"][0]["pods"] == [f"kubeflow/{job_pod(scenario, 'train-1').metadata.name}"]
    [(key, name, state)] = allocations(scenario)
    assert state == "allocated"
    assert scenario["verda"].billed_resources()["instances"] == [name]
    nodes = virtual_nodes(scenario)
    assert [node.metadata.name for node in nodes] == [name]
    assert nodes[0].metadata.labels["oss-mlops.io/flavor"] == "1V100.6V"
    assert nodes[0].metadata.labels["oss-mlops.io/cloud"] == "verda"
    assert output["stats"][key]["failures"] == 0
    wait_for("train-1 to finish", lambda: job_succeeded(scenario, "train-1"), timeout=120)
    assert job_pod(scenario, "train-1").spec.node_name == name
    scenario["provider"] = (key, name)


def test_second_pod_reuses_the_warm_provider(scenario):
    key, name = scenario["provider"]
    marked = plan_of(run_autoscale(scenario))
    assert [mark["node"] for mark in marked["idle_marks"]] == [name]
    assert [entry["provider"] for entry in marked["kept_idle"]] == [key]
    assert marked["scale_down"] == []
    first_mark = parse(marked["idle_marks"][0]["idle_since"])

    scenario["batch"].create_namespaced_job("kubeflow", gpu_job("train-2"))
    wait_for("train-2 to finish", lambda: job_succeeded(scenario, "train-2"), timeout=120)
    assert job_pod(scenario, "train-2").spec.node_name == name

    again = plan_of(run_autoscale(scenario))
    assert again["scale_up"] == []
    assert again["scale_down"] == []
    # train-2 ran after the first mark, so the provider has been idle only since train-2 finished.
    assert [mark["node"] for mark in again["idle_marks"]] == [name]
    assert parse(again["idle_marks"][0]["idle_since"]) > first_mark
    node = scenario["core"].read_node(name)
    assert node.metadata.annotations[IDLE_SINCE] == again["idle_marks"][0]["idle_since"]
    assert scenario["verda"].billed_resources()["instances"] == [name]


def test_idle_provider_is_unjoined_and_deleted(scenario):
    key, name = scenario["provider"]
    shorter = json.dumps({"autoscale_policy": {**POLICY, "warm_idle_time": "0s", "idle_time": "0s"}})

    output = run_autoscale(scenario, "-e", shorter)

    assert [entry["provider"] for entry in plan_of(output)["scale_down"]] == [key]
    assert scenario["verda"].billed_resources() == {"instances": [], "volumes": [], "trash": []}
    assert virtual_nodes(scenario) == []
    wait_for(f"namespace liqo-tenant-{name} to go",
             lambda: not scenario["core"].list_namespace(field_selector=f"metadata.name=liqo-tenant-{name}").items,
             timeout=60)
    assert [(row[0], row[2]) for row in allocations(scenario)] == [(key, "quarantined")]


def test_nothing_to_do_changes_nothing(scenario):
    output = run_autoscale(scenario)

    plan = plan_of(output)
    assert plan["scale_up"] == []
    assert plan["scale_down"] == []
    assert CONSUMER in output["stats"]
    assert {host: stats["changed"] for host, stats in output["stats"].items()} == dict.fromkeys(output["stats"], 0)
