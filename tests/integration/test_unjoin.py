"""Run playbooks/unjoin.yml and join.yml against a lab of their own: re-join cycles, leftovers, running pods
and a provider that is gone.

The lab runs real kube-apiserver, etcd, kube-controller-manager and kube-scheduler processes; nodes are
simulated by KWOK and liqoctl is the stand-in under tests/liqoctl. No Liqo controller runs, so the leftovers
Liqo 1.0.x leaves are injected by the tests as the objects Liqo would leave. These tests prove what the
collection does to the Kubernetes API; they do not prove that a real unpeering between VMs works.

The tests share one lab and run in file order; each one starts by joining when the provider is not joined.
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lab"))

from labkit import processes  # noqa: E402  (needs the path above)
from labkit.testing import lab_slot_for, run_labctl, start_lab, stop_lab  # noqa: E402

JOIN = REPO / "playbooks" / "join.yml"
UNJOIN = REPO / "playbooks" / "unjoin.yml"
INVENTORY = REPO / "inventories" / "lab"
SLOT = lab_slot_for("unjoin")
CONSUMER = "mlops-consumer"
PROVIDER = "verda-v100-1"
TENANT_NAMESPACE = "liqo-tenant-" + PROVIDER
# Every unjoin in these tests re-joins the same provider name, so its allocation is released without quarantine.
UNJOIN_VARS = {"unjoin_providers": [PROVIDER], "unjoin_skip_confirmation": True,
               "liqo_unjoin_allocation_quarantine": "0"}
LIQO_FINALIZER = "crdreplicator.liqo.io/resource"


@pytest.fixture(scope="module")
def unjoin_lab(tmp_path_factory):
    """Start a lab used only by this module, and stop it afterwards, also when a test fails."""
    state_dir = tmp_path_factory.mktemp("unjoin-lab")
    env = {**os.environ, "OSS_MLOPS_LAB_STATE": str(state_dir), "OSS_MLOPS_LAB_SLOT": str(SLOT)}
    try:
        yield {"state_dir": state_dir, "env": env, "lab": start_lab(state_dir, SLOT)}
    finally:
        stop_lab(state_dir)


def run_playbook(unjoin_lab, playbook, extra_vars=None, *args):
    """Run a playbook with the JSON callback and no stdin; return (return code, parsed output, raw stderr)."""
    run_env = {
        **unjoin_lab["env"],
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_NOCOLOR": "1",
    }
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(INVENTORY), str(playbook), *args]
    if extra_vars is not None:
        command += ["-e", json.dumps(extra_vars)]
    completed = subprocess.run(command, env=run_env, cwd=REPO, capture_output=True, text=True, check=False,
                               stdin=subprocess.DEVNULL)
    try:
        output = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail("ansible-playbook printed no JSON; stdout:\n%s\nstderr:\n%s" % (completed.stdout, completed.stderr))
    return completed.returncode, output, completed.stderr


def failure_messages(output):
    messages = []
    for play in output["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed"):
                    messages.append("%s: %s: %s" % (host, task["task"]["name"], result.get("msg", "")))
    return messages


def task_results(output, name_part):
    """Return the results of every task whose name contains name_part."""
    return [result for play in output["plays"] for task in play["tasks"] if name_part in task["task"]["name"]
            for result in task["hosts"].values()]


def join(unjoin_lab, extra_vars=None):
    returncode, output, stderr = run_playbook(unjoin_lab, JOIN, extra_vars)
    assert returncode == 0, "\n".join(failure_messages(output)) or stderr
    return output


def unjoin(unjoin_lab, **extra_vars):
    returncode, output, stderr = run_playbook(unjoin_lab, UNJOIN, {**UNJOIN_VARS, **extra_vars})
    assert returncode == 0, "\n".join(failure_messages(output)) or stderr
    return output


def api(unjoin_lab, cluster):
    kubeconfig = unjoin_lab["lab"]["clusters"][cluster]["kubeconfig"]
    return config.new_client_from_config(config_file=kubeconfig)


def core(unjoin_lab, cluster):
    return client.CoreV1Api(api(unjoin_lab, cluster))


def custom(unjoin_lab, cluster):
    return client.CustomObjectsApi(api(unjoin_lab, cluster))


def virtual_nodes(unjoin_lab):
    return core(unjoin_lab, CONSUMER).list_node(label_selector="liqo.io/type=virtual-node").items


def ensure_joined(unjoin_lab):
    if not virtual_nodes(unjoin_lab):
        join(unjoin_lab)


def foreign_cluster(unjoin_lab, cluster, name):
    try:
        return custom(unjoin_lab, cluster).get_cluster_custom_object("core.liqo.io", "v1beta1", "foreignclusters", name)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def namespace_names(unjoin_lab, cluster):
    return [item.metadata.name for item in core(unjoin_lab, cluster).list_namespace().items]


def cluster_id_config_map_exists(unjoin_lab, cluster):
    """Return whether Liqo's cluster ID ConfigMap exists; uninstalling without purge keeps the namespace."""
    try:
        core(unjoin_lab, cluster).read_namespaced_config_map("liqo-clusterid-configmap", "liqo")
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def assert_joined(unjoin_lab):
    nodes = virtual_nodes(unjoin_lab)
    assert [node.metadata.name for node in nodes] == [PROVIDER]
    ready = [condition.status for condition in nodes[0].status.conditions if condition.type == "Ready"]
    assert ready == ["True"]
    assert foreign_cluster(unjoin_lab, CONSUMER, PROVIDER)["status"]["role"] == "Provider"


def assert_unjoined(unjoin_lab):
    assert virtual_nodes(unjoin_lab) == []
    assert foreign_cluster(unjoin_lab, CONSUMER, PROVIDER) is None
    assert foreign_cluster(unjoin_lab, PROVIDER, CONSUMER) is None
    secrets = core(unjoin_lab, CONSUMER).list_secret_for_all_namespaces(
        label_selector="liqo.io/remote-cluster-id=" + PROVIDER).items
    assert [item.metadata.name for item in secrets if "nonce" in item.metadata.name] == []


# -- leftovers as Liqo 1.0.x leaves them -------------------------------------------------------------------


def inject_leftovers(unjoin_lab, signed_nonce):
    """Leave on the consumer what an unpeer with a dead or interrupted Liqo controller leaves.

    A ForeignCluster with role Unknown and a ResourceSlice held by the crd-replicator finalizer, and with
    signed_nonce a liqo-signed-nonce Secret signed for a nonce the provider no longer has.
    """
    consumer_core = core(unjoin_lab, CONSUMER)
    consumer_custom = custom(unjoin_lab, CONSUMER)
    labels = {"liqo.io/remote-cluster-id": PROVIDER, "liqo.io/tenant-namespace": "true"}
    if TENANT_NAMESPACE not in namespace_names(unjoin_lab, CONSUMER):
        consumer_core.create_namespace({"metadata": {"name": TENANT_NAMESPACE, "labels": labels}})
    if signed_nonce:
        consumer_core.create_namespaced_secret(TENANT_NAMESPACE, {
            "metadata": {"name": "liqo-signed-nonce",
                         "labels": {"liqo.io/signed-nonce": "true", "liqo.io/remote-cluster-id": PROVIDER}},
            "data": {"nonce": "c3RhbGUtbm9uY2U=", "signedNonce": "c3RhbGU="},
        })
    consumer_custom.create_cluster_custom_object("core.liqo.io", "v1beta1", "foreignclusters", {
        "apiVersion": "core.liqo.io/v1beta1", "kind": "ForeignCluster",
        "metadata": {"name": PROVIDER, "labels": {"liqo.io/remote-cluster-id": PROVIDER}},
        "spec": {"clusterID": PROVIDER},
    })
    resource_slice = {
        "apiVersion": "authentication.liqo.io/v1beta1", "kind": "ResourceSlice",
        "metadata": {"name": PROVIDER, "finalizers": [LIQO_FINALIZER],
                     "labels": {"liqo.io/replication": "true", "liqo.io/remoteID": PROVIDER,
                                "liqo.io/remote-cluster-id": PROVIDER}},
        "spec": {"consumerClusterID": CONSUMER, "providerClusterID": PROVIDER, "class": "default"},
    }
    consumer_custom.create_namespaced_custom_object(
        "authentication.liqo.io", "v1beta1", TENANT_NAMESPACE, "resourceslices", resource_slice)


def stick_tenant_namespace(unjoin_lab):
    """Delete the consumer's tenant namespace, which the ResourceSlice finalizer keeps Terminating."""
    core(unjoin_lab, CONSUMER).delete_namespace(TENANT_NAMESPACE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        namespace = core(unjoin_lab, CONSUMER).read_namespace(TENANT_NAMESPACE)
        if namespace.metadata.deletion_timestamp and namespace.status.phase == "Terminating":
            return
        time.sleep(1)
    pytest.fail("the tenant namespace did not turn Terminating")


# -- tests ---------------------------------------------------------------------------------------------------


def test_unjoin_without_terminal_needs_skip_variable(unjoin_lab):
    returncode, output, _stderr = run_playbook(unjoin_lab, UNJOIN, {"unjoin_providers": [PROVIDER]})

    assert returncode != 0
    messages = failure_messages(output)
    assert any("unjoin_skip_confirmation" in message for message in messages), messages


def test_unjoin_unknown_provider_rejected(unjoin_lab):
    returncode, output, _stderr = run_playbook(unjoin_lab, UNJOIN, {**UNJOIN_VARS, "unjoin_providers": ["nope"]})

    assert returncode != 0
    messages = failure_messages(output)
    assert any("unjoin_providers" in message and "nope" in message for message in messages), messages


def test_join_unjoin_three_times_same_id(unjoin_lab):
    """Join, then unjoin and join again three times with the same provider name and cluster ID.

    Reproduces liqotech/liqo#1598 (peering not established the second time) in its 1.0 form: every re-join
    must start from a clean pair. The third unjoin also uninstalls Liqo from the provider, so the re-join installs
    it again with the same cluster ID.
    """
    ensure_joined(unjoin_lab)
    assert_joined(unjoin_lab)
    for cycle in range(3):
        uninstall = cycle == 2
        output = unjoin(unjoin_lab, liqo_unjoin_uninstall_liqo=uninstall)
        assert_unjoined(unjoin_lab)
        assert cluster_id_config_map_exists(unjoin_lab, PROVIDER) is not uninstall
        assert task_results(output, "Release the allocation")[0]["changed"]

        join(unjoin_lab)
        assert_joined(unjoin_lab)


def test_unjoin_again_changes_nothing(unjoin_lab):
    ensure_joined(unjoin_lab)
    unjoin(unjoin_lab)

    output = unjoin(unjoin_lab)

    assert output["stats"][CONSUMER]["changed"] == 0
    assert output["stats"][PROVIDER]["changed"] == 0


def test_unjoin_check_mode_changes_nothing(unjoin_lab):
    ensure_joined(unjoin_lab)

    output = run_playbook(unjoin_lab, UNJOIN, UNJOIN_VARS, "--check")[1]

    assert output["stats"][CONSUMER]["changed"] > 0
    assert_joined(unjoin_lab)
    assert not virtual_nodes(unjoin_lab)[0].spec.unschedulable


def test_rejoin_after_injected_leftovers_three_times(unjoin_lab):
    """Unjoin, leave Liqo 1.0.x leftovers on the consumer, and re-join, three times.

    Every round leaves a ForeignCluster and a ResourceSlice with the crd-replicator finalizer. Rounds one and
    three also delete the tenant namespace, which the finalizer keeps Terminating, the state behind
    liqotech/liqo#1906 (unpeer times out waiting for the tenant namespace). Round two leaves a stale
    liqo-signed-nonce Secret instead, which makes liqoctl v1.0.3 reject the new nonce. The first round also
    shows that the join preflight lists the leftovers with liqo_preflight_leftovers=report.
    """
    ensure_joined(unjoin_lab)
    for cycle in range(3):
        stuck_namespace = cycle != 1
        unjoin(unjoin_lab)
        inject_leftovers(unjoin_lab, signed_nonce=not stuck_namespace)
        if stuck_namespace:
            stick_tenant_namespace(unjoin_lab)
        expected = ["ForeignCluster " + PROVIDER, "ResourceSlice %s/%s" % (TENANT_NAMESPACE, PROVIDER)]
        expected.append("Namespace " + TENANT_NAMESPACE if stuck_namespace else "liqo-signed-nonce")

        if cycle == 0:
            returncode, output, _stderr = run_playbook(
                unjoin_lab, JOIN, {"liqo_preflight_leftovers": "report", "liqo_preflight_leftovers_stuck_after": 0})
            assert returncode != 0
            reported = " ".join(removed_leftovers(output))
            for name in expected:
                assert name in reported

        output = join(unjoin_lab, {"liqo_preflight_leftovers_stuck_after": 0})
        removed = " ".join(removed_leftovers(output))
        for name in expected:
            assert name in removed
        assert_joined(unjoin_lab)


def removed_leftovers(join_output):
    """Return the summary lines of the join preflight's leftover removal."""
    return [line for result in task_results(join_output, "Remove the leftovers")
            for item in result.get("results", []) for line in item.get("summary", [])]


def create_offloaded_pod(unjoin_lab, name, labels=None):
    """Create a pod bound to the provider's virtual node, as the scheduler would bind an offloaded pod."""
    core(unjoin_lab, CONSUMER).create_namespaced_pod("kubeflow", {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"nodeName": PROVIDER, "containers": [{"name": "train", "image": "busybox"}],
                 "tolerations": [{"key": "virtual-node.liqo.io/not-allowed", "operator": "Exists",
                                  "effect": "NoExecute"}]},
    })


def finish_pod_when_cordoned(unjoin_lab, name, record):
    """Mark the pod Succeeded, as its container would end, a while after unjoin cordons the virtual node.

    Records "finished" when the pod was still there to finish, so the unjoin waited instead of evicting it.
    """
    def finish():
        pods = core(unjoin_lab, CONSUMER)
        deadline = time.monotonic() + 600
        while not pods.read_node(PROVIDER).spec.unschedulable:
            if time.monotonic() > deadline:
                record.append("virtual node never cordoned")
                return
            time.sleep(1)
        time.sleep(15)
        try:
            pod = pods.read_namespaced_pod(name, "kubeflow")
            pod.status.phase = "Succeeded"
            pods.replace_namespaced_pod_status(name, "kubeflow", pod)
            record.append("finished")
        except ApiException as error:
            record.append("gone before it finished (HTTP %s)" % error.status)

    thread = threading.Thread(target=finish, daemon=True)
    thread.start()
    return thread


def test_running_pod_stops_unjoin(unjoin_lab):
    """Reproduces liqotech/liqo#1846: unpeer evicts long-running offloaded pods without waiting for them."""
    ensure_joined(unjoin_lab)
    create_offloaded_pod(unjoin_lab, "long-training")

    returncode, output, _stderr = run_playbook(unjoin_lab, UNJOIN, UNJOIN_VARS)

    assert returncode != 0
    messages = failure_messages(output)
    assert any("kubeflow/long-training" in message and "liqo_unjoin_pod_policy=wait" in message
               for message in messages), messages
    assert_joined(unjoin_lab)
    assert core(unjoin_lab, CONSUMER).read_namespaced_pod("long-training", "kubeflow").status.phase == "Running"

    # The failed run left the node cordoned; the helper waits for the next run to cordon it again.
    core(unjoin_lab, CONSUMER).patch_node(PROVIDER, {"spec": {"unschedulable": False}})
    record = []
    thread = finish_pod_when_cordoned(unjoin_lab, "long-training", record)
    unjoin(unjoin_lab, liqo_unjoin_pod_policy="wait", liqo_unjoin_pod_timeout=300)
    thread.join()

    assert record == ["finished"]
    assert_unjoined(unjoin_lab)


def test_eviction_blocked_by_disruption_budget_stops_unjoin(unjoin_lab):
    ensure_joined(unjoin_lab)
    create_offloaded_pod(unjoin_lab, "guarded", labels={"app": "guarded"})
    client.PolicyV1Api(api(unjoin_lab, CONSUMER)).create_namespaced_pod_disruption_budget("kubeflow", {
        "metadata": {"name": "guarded"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guarded"}}},
    })
    try:
        returncode, output, _stderr = run_playbook(
            unjoin_lab, UNJOIN, {**UNJOIN_VARS, "liqo_unjoin_pod_policy": "evict", "liqo_unjoin_pod_timeout": 30})

        assert returncode != 0
        messages = failure_messages(output)
        assert any("kubeflow/guarded" in message and "disruption budget" in message for message in messages), messages
        assert_joined(unjoin_lab)
    finally:
        client.PolicyV1Api(api(unjoin_lab, CONSUMER)).delete_namespaced_pod_disruption_budget("guarded", "kubeflow")
        core(unjoin_lab, CONSUMER).delete_namespaced_pod("guarded", "kubeflow", grace_period_seconds=0)


def stop_provider_control_plane(unjoin_lab):
    """Stop the provider's API server and etcd (processes this test's lab started), as if its VM were deleted."""
    run_dir = unjoin_lab["state_dir"] / "clusters" / PROVIDER / "run"
    pids = []
    for component in ("kube-apiserver", "etcd"):
        process = processes.read_pid_file(run_dir / (component + ".pid"))
        if process is not None:
            pids.append(process.pid)
    assert pids, "no running provider control plane found"
    assert processes.terminate(pids) == []


def test_provider_gone_leaves_consumer_clean(unjoin_lab):
    """Unjoin a provider whose control plane stopped: the consumer alone is cleaned, and the output lists what
    was removed.

    Reproduces liqotech/liqo#1710 (objects of a broken peering that block uninstall): nothing tied to the
    provider's cluster ID stays on the consumer.
    """
    ensure_joined(unjoin_lab)
    create_offloaded_pod(unjoin_lab, "lost-with-the-vm")
    stop_provider_control_plane(unjoin_lab)
    try:
        output = unjoin(unjoin_lab)

        paths = task_results(output, "Say which path provider")
        assert "provider gone" in paths[0]["msg"]
        removed = task_results(output, "Remove everything the consumer holds about gone provider")[0]["removed"]
        for expected in ("Pod kubeflow/lost-with-the-vm", "VirtualNode %s/%s" % (TENANT_NAMESPACE, PROVIDER),
                         "Node " + PROVIDER, "Namespace " + TENANT_NAMESPACE, "ForeignCluster " + PROVIDER):
            assert expected in removed
        assert virtual_nodes(unjoin_lab) == []
        assert foreign_cluster(unjoin_lab, CONSUMER, PROVIDER) is None
        assert TENANT_NAMESPACE not in namespace_names(unjoin_lab, CONSUMER)
        pods = core(unjoin_lab, CONSUMER).list_pod_for_all_namespaces(field_selector="spec.nodeName=" + PROVIDER)
        assert pods.items == []
    finally:
        # Bring the provider back for any test that runs later.
        run_labctl("stop", "--state", str(unjoin_lab["state_dir"]), env=unjoin_lab["env"])
        run_labctl("start", "--state", str(unjoin_lab["state_dir"]), "--slot", str(SLOT), env=unjoin_lab["env"])
