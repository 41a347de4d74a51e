"""Run playbooks/join.yml against a lab of its own: bad input first, then the join twice.

The lab runs real kube-apiserver, etcd, kube-controller-manager and kube-scheduler processes; nodes are
simulated by KWOK and liqoctl is the stand-in under tests/liqoctl. These tests prove what the collection does
to the Kubernetes API; they do not prove that a real Liqo peering between VMs works.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lab"))

from labkit.testing import lab_slot_for, start_lab, stop_lab  # noqa: E402  (needs the path above)

JOIN = REPO / "playbooks" / "join.yml"
INVENTORY = REPO / "inventories" / "lab"
# Its own slot keeps this lab's loopback addresses apart from a developer's lab (slot 0) and other test labs.
SLOT = lab_slot_for("join")
CONSUMER = "mlops-consumer"
PROVIDER = "verda-v100-1"


@pytest.fixture(scope="module")
def join_lab(tmp_path_factory):
    """Start a lab used only by this module, and stop it afterwards, also when a test fails."""
    state_dir = tmp_path_factory.mktemp("join-lab")
    env = {**os.environ, "OSS_MLOPS_LAB_STATE": str(state_dir), "OSS_MLOPS_LAB_SLOT": str(SLOT)}
    try:
        yield {"state_dir": state_dir, "env": env, "lab": start_lab(state_dir, SLOT)}
    finally:
        stop_lab(state_dir)


def run_join(join_lab, *extra_args, env=None, inventory=INVENTORY):
    """Run join.yml with the JSON callback and return (return code, parsed output, raw stderr)."""
    run_env = {
        **join_lab["env"],
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_NOCOLOR": "1",
        **(env or {}),
    }
    playbook = Path(sys.executable).parent / "ansible-playbook"
    completed = subprocess.run(
        [str(playbook), "-i", str(inventory), str(JOIN), *extra_args],
        env=run_env, cwd=REPO, capture_output=True, text=True, check=False,
    )
    try:
        output = json.loads(completed.stdout)
    except json.JSONDecodeError:
        message = "ansible-playbook printed no JSON; stdout:\n%s\nstderr:\n%s" % (completed.stdout, completed.stderr)
        pytest.fail(message)
    return completed.returncode, output, completed.stderr


def failure_messages(output):
    messages = []
    for play in output["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed"):
                    messages.append("%s: %s: %s" % (host, task["task"]["name"], result.get("msg", "")))
    return messages


def api(join_lab, cluster):
    kubeconfig = join_lab["lab"]["clusters"][cluster]["kubeconfig"]
    return config.new_client_from_config(config_file=kubeconfig)


def namespace_exists(join_lab, cluster, name):
    names = [item.metadata.name for item in client.CoreV1Api(api(join_lab, cluster)).list_namespace().items]
    return name in names


def assert_nothing_installed(join_lab):
    for cluster in (CONSUMER, PROVIDER):
        assert not namespace_exists(join_lab, cluster, "liqo"), "Liqo was installed on %s" % cluster
    assert not allocation_table(join_lab).exists(), "the allocation table was written"


def allocation_table(join_lab):
    """Return the path of the lab inventory's allocation table (liqo_preflight_allocation_database)."""
    return join_lab["state_dir"] / "data" / "cluster_allocations.sqlite3"


BAD_INPUT = [
    ("overlapping pod CIDRs", ["-e", "liqo_cluster_pod_cidr=10.244.0.0/16"],
     "pod_cidr 10.244.0.0/16 overlaps"),
    ("cluster ID not a DNS label", ["-e", "liqo_cluster_id=GPU_Node"], "is not a DNS-1123 label"),
    ("missing service CIDR", ["-e", "liqo_cluster_service_cidr="], "service_cidr is missing"),
    ("pod CIDR with host bits", ["-e", "liqo_cluster_pod_cidr=10.150.3.0/16"], "use the network address"),
    ("missing peer CPU", ["-e", '{"liqo_peer_cpu": ""}'], "Set liqo_peer_cpu, liqo_peer_memory and liqo_peer_pods"),
]


@pytest.mark.parametrize(("case", "extra_args", "expected"), BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
def test_bad_input_rejected_before_changes(join_lab, case, extra_args, expected):
    returncode, output, _stderr = run_join(join_lab, *extra_args)

    assert returncode != 0
    messages = failure_messages(output)
    assert any(expected in message for message in messages), messages
    assert_nothing_installed(join_lab)


def test_unreachable_kubeconfig_rejected(join_lab, tmp_path):
    kubeconfig = tmp_path / "unreachable.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": "https://127.10.250.1:6443",
                                                  "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}],
        "users": [{"name": "gone", "user": {}}],
    }))
    kubeconfig.chmod(0o600)

    returncode, output, _stderr = run_join(join_lab, "-e", "liqo_cluster_kubeconfig=%s" % kubeconfig)

    assert returncode != 0
    messages = failure_messages(output)
    assert any(str(kubeconfig) in message and "127.10.250.1" in message for message in messages), messages
    assert_nothing_installed(join_lab)


def test_other_liqoctl_version_rejected(join_lab):
    returncode, output, _stderr = run_join(join_lab, env={"LIQOCTL_STANDIN_VERSION": "v1.1.0"})

    assert returncode != 0
    messages = failure_messages(output)
    assert any("v1.1.0" in message and "v1.0.3" in message for message in messages), messages
    assert_nothing_installed(join_lab)


def test_check_mode_on_fresh_lab_changes_nothing(join_lab):
    returncode, output, stderr = run_join(join_lab, "--check")

    assert returncode == 0, "\n".join(failure_messages(output)) or stderr
    assert output["stats"][CONSUMER]["changed"] > 0
    assert_nothing_installed(join_lab)


def test_join_changes_then_rerun_is_unchanged(join_lab):
    returncode, first, stderr = run_join(join_lab)
    assert returncode == 0, "\n".join(failure_messages(first)) or stderr
    assert first["stats"][CONSUMER]["changed"] > 0
    assert first["stats"][PROVIDER]["changed"] > 0

    returncode, second, stderr = run_join(join_lab)
    assert returncode == 0, "\n".join(failure_messages(second)) or stderr
    assert second["stats"][CONSUMER]["changed"] == 0
    assert second["stats"][PROVIDER]["changed"] == 0

    returncode, checked, stderr = run_join(join_lab, "--check")
    assert returncode == 0, "\n".join(failure_messages(checked)) or stderr
    assert checked["stats"][CONSUMER]["changed"] == 0
    assert checked["stats"][PROVIDER]["changed"] == 0


def test_join_records_provider_allocation(join_lab):
    with sqlite3.connect(allocation_table(join_lab)) as database:
        database.row_factory = sqlite3.Row
        records = [dict(row) for row in database.execute("SELECT * FROM allocations")]

    assert [record["key"] for record in records] == [PROVIDER]
    assert records[0]["pod_cidr"] == "10.150.0.0/16"
    assert records[0]["service_cidr"] == "10.151.0.0/16"


def test_join_leaves_gpu_virtual_node(join_lab):
    nodes = client.CoreV1Api(api(join_lab, CONSUMER)).list_node(label_selector="liqo.io/type=virtual-node").items

    assert [node.metadata.labels["liqo.io/remote-cluster-id"] for node in nodes] == [PROVIDER]
    allocatable = nodes[0].status.allocatable
    assert allocatable["nvidia.com/gpu"] == "1"
    assert allocatable["cpu"] == "16"
    assert allocatable["memory"] == "64Gi"
    assert allocatable["pods"] == "110"


def test_join_offloads_kubeflow_with_same_name(join_lab):
    offloading = client.CustomObjectsApi(api(join_lab, CONSUMER)).get_namespaced_custom_object(
        "offloading.liqo.io", "v1beta1", "kubeflow", "namespaceoffloadings", "offloading")

    assert offloading["spec"]["namespaceMappingStrategy"] == "EnforceSameName"
    assert offloading["spec"]["podOffloadingStrategy"] == "Local"
    assert offloading["status"]["offloadingPhase"] == "Ready"
    assert namespace_exists(join_lab, PROVIDER, "kubeflow")


def test_join_reports_smoke_pod_node_and_removes_pod(join_lab):
    returncode, output, stderr = run_join(join_lab)
    assert returncode == 0, stderr

    reports = [result.get("msg", "") for play in output["plays"] for task in play["tasks"]
               if task["task"]["name"].endswith(" : Report where the GPU smoke pod ran")
               for result in task["hosts"].values()]
    assert len(reports) == 1
    assert re.fullmatch(r"GPU smoke pod kubeflow/liqo-gpu-smoke-verda-v100-1 was scheduled onto virtual node "
                        r"verda-v100-1 \(provider verda-v100-1\), phase (Pending|Running)\.", reports[0]), reports
    pods = client.CoreV1Api(api(join_lab, CONSUMER)).list_namespaced_pod(
        "kubeflow", label_selector="app.kubernetes.io/name=liqo-gpu-smoke").items
    assert pods == []


def task_results(output, words, host):
    """Return the results for host of every task whose name contains words."""
    return [task["hosts"][host] for play in output["plays"] for task in play["tasks"]
            if words in task["task"]["name"] and host in task["hosts"]]


def test_fresh_provider_is_checked_before_its_cluster_exists(join_lab, tmp_path):
    """A provider whose preparation roles create its cluster has no kubeconfig when the checks run."""
    inventory = tmp_path / "inventory"
    shutil.copytree(INVENTORY, inventory)
    kubeconfig = tmp_path / "fresh" / "provider.kubeconfig"
    kubeconfig.parent.mkdir()
    host_vars = inventory / "host_vars" / f"{PROVIDER}.yml"
    provider_vars = yaml.safe_load(host_vars.read_text())
    provider_vars.update({
        "liqo_cluster_kubeconfig": str(kubeconfig),
        "provider_prepare_roles": ["fresh_vm_standin"],
        "provider_prepare_become": False,
        "fresh_vm_standin_source": join_lab["lab"]["clusters"][PROVIDER]["kubeconfig"],
    })
    host_vars.write_text(yaml.safe_dump(provider_vars))
    env = {"ANSIBLE_ROLES_PATH": str(REPO / "tests" / "integration" / "roles")}

    returncode, output, stderr = run_join(join_lab, env=env, inventory=inventory)

    assert returncode == 0, (failure_messages(output), stderr)
    looked_up = task_results(output, "Look for the kubeconfig that the preparation roles create", PROVIDER)
    assert [result["stat"]["exists"] for result in looked_up] == [False]
    read_state = task_results(output, "Read the Liqo state of", PROVIDER)
    assert read_state and all(result.get("skipped") for result in read_state), read_state
    written = task_results(output, "Write the kubeconfig of the cluster the preparation created", PROVIDER)
    assert [result.get("changed") for result in written] == [True]
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
