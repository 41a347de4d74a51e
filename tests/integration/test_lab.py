"""Tests that the lab behaves like the clusters it stands for.

The session `lab` (default topology, slot s = 1 unless OSS_MLOPS_LAB_TEST_SLOT is set) serves the node,
GPU and scheduling checks. Checks that install CRDs, stop a lab or feed bad input use small labs of
their own in slots s+1 and s+2, so they never disturb the session lab that other test files use.
"""

import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException
from labkit import paths
from labkit.testing import lab_slot_for, run_labctl, session_lab_slot, start_lab, stop_lab, wait_for

CONSUMER = "mlops-consumer"
PROVIDER = "verda-v100-1"
SESSION_SLOT = session_lab_slot()
SCRATCH_SLOT = lab_slot_for("lab-scratch")
INPUT_CHECK_SLOT = lab_slot_for("lab-input-check")
WAIT_SECONDS = 60
POLL_SECONDS = 0.5
LAB_PORTS = (2379, 2380, 6443, 10247, 10257, 10259)
FOREIGN_CLUSTER_API = "core.liqo.io/v1beta1"

SCRATCH_TOPOLOGY = {
    "clusters": [
        {
            "name": "scratch",
            "role": "consumer",
            "flavor": "kind",
            "pod_cidr": "10.244.0.0/16",
            "service_cidr": "10.96.0.0/16",
            "nodes": [{"name": "scratch-control-plane", "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"}}],
        }
    ]
}


def loopback_address(slot: int, cluster_index: int) -> str:
    return f"127.{10 + slot}.{cluster_index}.1"


def wait_until(description: str, check, timeout: float = WAIT_SECONDS):
    """Poll `check` until it returns a truthy value and return it; fail the test on timeout."""
    return wait_for(description, check, timeout=timeout, interval=POLL_SECONDS)


def node_is_ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def listening_ports(address: str) -> list[int]:
    """Return the lab ports on `address` that still accept TCP connections."""
    open_ports = []
    for port in LAB_PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(1)
            if probe.connect_ex((address, port)) == 0:
                open_ports.append(port)
    return open_ports


def write_topology(directory: Path, topology: dict) -> Path:
    path = directory / "topology.yml"
    path.write_text(yaml.safe_dump(topology))
    return path


def recorded_pids(state_dir: Path) -> list[int]:
    return [int(f.read_text().split()[0]) for f in state_dir.glob("**/run/*.pid")]


def pid_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not collected it yet.
    return " Z " not in Path(f"/proc/{pid}/stat").read_text()


# --- session lab: nodes, GPU, scheduling -------------------------------------------------------------


def test_lab_json_follows_contract(lab):
    assert lab["slot"] == SESSION_SLOT
    assert Path(lab["liqoctl"]) == Path(lab["state_dir"]) / "bin" / "liqoctl"
    assert os.access(lab["liqoctl"], os.X_OK)
    consumer = lab["clusters"][CONSUMER]
    assert consumer["role"] == "consumer"
    assert consumer["flavor"] == "kind"
    assert consumer["api_server_url"] == f"https://{loopback_address(SESSION_SLOT, 0)}:6443"
    assert consumer["pod_cidr"] == "10.244.0.0/16"
    assert consumer["service_cidr"] == "10.96.0.0/16"
    assert consumer["nodes"] == ["mlops-consumer-control-plane"]
    provider = lab["clusters"][PROVIDER]
    assert provider["role"] == "provider"
    assert provider["flavor"] == "k3s"
    assert provider["api_server_url"] == f"https://{loopback_address(SESSION_SLOT, 1)}:6443"
    assert Path(provider["kubeconfig"]).stat().st_mode & 0o777 == 0o600


def test_every_node_ready(lab, lab_api):
    for name, cluster in lab["clusters"].items():
        nodes = client.CoreV1Api(lab_api(name)).list_node().items
        assert sorted(n.metadata.name for n in nodes) == sorted(cluster["nodes"])
        for node in nodes:
            assert node_is_ready(node), f"node {node.metadata.name} of {name} is not Ready"


def test_api_server_is_real_kubernetes(lab, lab_api):
    version = client.VersionApi(lab_api(CONSUMER)).get_code()
    assert version.git_version == "v1.36.3"


def test_provider_node_has_one_gpu(lab_api):
    node = client.CoreV1Api(lab_api(PROVIDER)).read_node(PROVIDER)
    assert node.status.allocatable["nvidia.com/gpu"] == "1"
    assert node.status.capacity["nvidia.com/gpu"] == "1"


def test_consumer_has_kind_like_controller_manager_pod(lab_api):
    pods = client.CoreV1Api(lab_api(CONSUMER)).list_namespaced_pod(
        "kube-system", label_selector="component=kube-controller-manager,tier=control-plane"
    )
    assert len(pods.items) == 1
    command = pods.items[0].spec.containers[0].command
    assert "--cluster-cidr=10.244.0.0/16" in command
    assert "--service-cluster-ip-range=10.96.0.0/16" in command


def test_platform_deployments_available(lab_api):
    deployments = client.AppsV1Api(lab_api(CONSUMER)).list_namespaced_deployment("kubeflow").items
    names = {d.metadata.name for d in deployments}
    assert {"ml-pipeline", "mysql", "minio", "workflow-controller"} <= names
    for deployment in deployments:
        desired = deployment.spec.replicas
        assert (deployment.status.ready_replicas or 0) == desired, f"{deployment.metadata.name} not ready"


def test_platform_claims_bound(lab_api):
    claims = client.CoreV1Api(lab_api(CONSUMER)).list_persistent_volume_claim_for_all_namespaces().items
    assert {c.metadata.name for c in claims} >= {"mysql-pv-claim", "minio-pvc"}
    for claim in claims:
        assert claim.status.phase == "Bound", f"{claim.metadata.name} is {claim.status.phase}"


@pytest.fixture
def provider_namespace(lab_api, request):
    """A namespace on the provider for one test; deleted afterwards, waiting until it is gone."""
    core = client.CoreV1Api(lab_api(PROVIDER))
    name = "lab-test-" + request.node.name.removeprefix("test_").replace("_", "-")[:40]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))

    def default_account_exists():
        return any(a.metadata.name == "default" for a in core.list_namespaced_service_account(name).items)

    wait_until(f"ServiceAccount default in {name}", default_account_exists)
    yield name
    core.delete_namespace(name)
    wait_until(f"namespace {name} to be deleted", lambda: name not in namespace_names(core))


def namespace_names(core: client.CoreV1Api) -> list[str]:
    return [namespace.metadata.name for namespace in core.list_namespace().items]


def gpu_pod(name: str, gpus: int) -> client.V1Pod:
    resources = client.V1ResourceRequirements(limits={"nvidia.com/gpu": str(gpus)})
    container = client.V1Container(name="train", image="nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04",
                                   resources=resources)
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=client.V1PodSpec(containers=[container]))


def test_gpu_pod_scheduled_to_provider_and_running(lab_api, provider_namespace):
    core = client.CoreV1Api(lab_api(PROVIDER))
    core.create_namespaced_pod(provider_namespace, gpu_pod("one-gpu", 1))

    def running_pod():
        pod = core.read_namespaced_pod("one-gpu", provider_namespace)
        return pod if pod.status.phase == "Running" else None

    pod = wait_until("the one-GPU pod to run", running_pod)
    assert pod.spec.node_name == PROVIDER
    assert pod.spec.scheduler_name == "default-scheduler"
    scheduled = [c for c in pod.status.conditions if c.type == "PodScheduled"]
    assert scheduled[0].status == "True"
    assert pod.status.container_statuses[0].ready is True


def test_pod_wanting_two_gpus_stays_pending(lab_api, provider_namespace):
    core = client.CoreV1Api(lab_api(PROVIDER))
    core.create_namespaced_pod(provider_namespace, gpu_pod("two-gpus", 2))

    def unschedulable_condition():
        pod = core.read_namespaced_pod("two-gpus", provider_namespace)
        conditions = [c for c in pod.status.conditions or [] if c.type == "PodScheduled"]
        return conditions[0] if conditions and conditions[0].reason == "Unschedulable" else None

    condition = wait_until("the scheduler to reject the two-GPU pod", unschedulable_condition)
    assert "nvidia.com/gpu" in condition.message
    assert core.read_namespaced_pod("two-gpus", provider_namespace).status.phase == "Pending"


# --- scratch lab (slot s+1): Liqo CRDs, webhooks, start twice, stop ------------------------------------


@pytest.fixture(scope="module")
def scratch_lab(tmp_path_factory):
    """A one-cluster lab without platform manifests; test_stop_frees_every_port stops it, so it runs last."""
    state_dir = tmp_path_factory.mktemp("scratch-lab")
    topology = write_topology(tmp_path_factory.mktemp("scratch-topology"), SCRATCH_TOPOLOGY)
    try:
        yield start_lab(state_dir, SCRATCH_SLOT, topology=topology)
    finally:
        stop_lab(state_dir)


def liqo_crds() -> list[dict]:
    files = sorted(paths.liqo_crds_dir().glob("*.yaml"))
    return [yaml.safe_load(file.read_text()) for file in files]


def test_liqo_crds_validate_foreign_clusters(scratch_lab):
    api = config.new_client_from_config(config_file=scratch_lab["clusters"]["scratch"]["kubeconfig"])
    resources = dynamic.DynamicClient(api).resources
    crd_api = resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds = liqo_crds()
    assert len(crds) == 28
    for crd in crds:
        crd_api.server_side_apply(body=crd, field_manager="lab-test", force_conflicts=True)

    def established(name):
        conditions = crd_api.get(name=name).status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    for crd in crds:
        wait_until(f"CRD {crd['metadata']['name']} established", lambda n=crd["metadata"]["name"]: established(n))
    foreign_clusters = dynamic.DynamicClient(api).resources.get(api_version=FOREIGN_CLUSTER_API, kind="ForeignCluster")

    invalid = {"apiVersion": FOREIGN_CLUSTER_API, "kind": "ForeignCluster",
               "metadata": {"name": "bad"}, "spec": {"clusterID": "Not_A_Cluster_ID"}}
    with pytest.raises(ApiException) as rejected:
        foreign_clusters.create(body=invalid)
    assert rejected.value.status == 422
    assert "spec.clusterID" in rejected.value.body

    valid = {"apiVersion": FOREIGN_CLUSTER_API, "kind": "ForeignCluster",
             "metadata": {"name": "provider-1"}, "spec": {"clusterID": "provider-1"}}
    foreign_clusters.create(body=valid)
    with pytest.raises(ApiException) as immutable:
        foreign_clusters.patch(name="provider-1", body={"spec": {"clusterID": "other"}},
                               content_type="application/merge-patch+json")
    assert immutable.value.status == 422
    assert "ClusterID field is immutable" in immutable.value.body


def test_webhook_calls_never_leave_machine(scratch_lab):
    api = config.new_client_from_config(config_file=scratch_lab["clusters"]["scratch"]["kubeconfig"])
    core = client.CoreV1Api(api)
    admission = client.AdmissionregistrationV1Api(api)
    core.create_namespaced_service("default", {"metadata": {"name": "webhook"}, "spec": {"ports": [{"port": 443}]}})
    webhook = {
        "name": "reject.lab.invalid",
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": "Fail",
        "clientConfig": {"service": {"namespace": "default", "name": "webhook"}},
        "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}],
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "default"}},
    }
    admission.create_validating_webhook_configuration({"metadata": {"name": "lab-test"}, "webhooks": [webhook]})

    # kube-apiserver loads a new webhook configuration through an informer, a moment after it is created.
    # Until then a ConfigMap is admitted without the call, so it is deleted before the next try.
    def rejected():
        try:
            core.create_namespaced_config_map("default", {"metadata": {"name": "needs-webhook"}})
        except ApiException as error:
            return error
        core.delete_namespaced_config_map("needs-webhook", "default")
        return None

    try:
        failed = wait_until("the webhook to reject a ConfigMap", rejected)
    finally:
        admission.delete_validating_webhook_configuration("lab-test")
        core.delete_namespaced_service("webhook", "default")
    # The API server dialed the lab's blocked socket, not the Service's address through the default route.
    assert "egress-blocked.sock" in failed.body


def test_start_on_running_lab_is_noop(scratch_lab, tmp_path):
    topology = write_topology(tmp_path, SCRATCH_TOPOLOGY)
    pids_before = sorted(recorded_pids(Path(scratch_lab["state_dir"])))
    result = run_labctl("start", "--state", scratch_lab["state_dir"], "--slot", str(SCRATCH_SLOT),
                        "--topology", str(topology), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "already running" in result.stderr
    assert sorted(recorded_pids(Path(scratch_lab["state_dir"]))) == pids_before


def test_status_reports_ready_cluster(scratch_lab):
    result = run_labctl("status", "--state", scratch_lab["state_dir"], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scratch" in result.stdout
    assert f"https://{loopback_address(SCRATCH_SLOT, 0)}:6443" in result.stdout
    assert "ready" in result.stdout


def test_stop_frees_every_port(scratch_lab):
    state_dir = Path(scratch_lab["state_dir"])
    pids = recorded_pids(state_dir)
    assert len(pids) >= 5
    result = run_labctl("stop", "--state", str(state_dir), timeout=120)
    assert result.returncode == 0, result.stderr
    assert listening_ports(loopback_address(SCRATCH_SLOT, 0)) == []
    assert [pid for pid in pids if pid_is_alive(pid)] == []


# --- lab owned by a process that dies (slot s+1 again, after the scratch lab stopped) ------------------


def test_watchdog_stops_lab_when_owner_exits(tmp_path):
    state_dir = tmp_path / "state"
    topology = write_topology(tmp_path, SCRATCH_TOPOLOGY)
    owner = subprocess.Popen(["sleep", "600"])
    try:
        start_lab(state_dir, SCRATCH_SLOT, topology=topology, owner_pid=owner.pid)
        pids = recorded_pids(state_dir)
        assert listening_ports(loopback_address(SCRATCH_SLOT, 0)) != []
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        address = loopback_address(SCRATCH_SLOT, 0)
        wait_until("the watchdog to stop the lab", lambda: listening_ports(address) == [])
        wait_until("every lab process to exit", lambda: not [pid for pid in pids if pid_is_alive(pid)])
    finally:
        owner.kill()
        stop_lab(state_dir)


# --- bad input: rejected before anything starts (slot s+2) ----------------------------------------------


def start_rejected(tmp_path: Path, topology: dict) -> subprocess.CompletedProcess:
    path = write_topology(tmp_path, topology)
    state_dir = tmp_path / "state"
    result = run_labctl("start", "--state", str(state_dir), "--slot", str(INPUT_CHECK_SLOT),
                        "--topology", str(path), timeout=120)
    assert result.returncode == 1
    assert not list(state_dir.glob("**/*.pid"))
    return result


def test_unknown_topology_key_rejected(tmp_path):
    topology = json.loads(json.dumps(SCRATCH_TOPOLOGY))
    topology["clusters"][0]["pod_cidrs"] = "10.1.0.0/16"
    result = start_rejected(tmp_path, topology)
    assert "unknown keys ['pod_cidrs']" in result.stderr


def test_overlapping_cidrs_rejected(tmp_path):
    topology = json.loads(json.dumps(SCRATCH_TOPOLOGY))
    provider = json.loads(json.dumps(topology["clusters"][0]))
    provider.update(name="provider", role="provider", flavor="k3s", pod_cidr="10.244.128.0/17",
                    service_cidr="10.43.0.0/16")
    provider["nodes"][0]["name"] = "provider"
    topology["clusters"].append(provider)
    result = start_rejected(tmp_path, topology)
    assert "overlaps" in result.stderr
    assert "10.244.128.0/17" in result.stderr


def test_taken_port_rejected(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        address = loopback_address(INPUT_CHECK_SLOT, 0)
        squatter.bind((address, 6443))
        squatter.listen()
        result = start_rejected(tmp_path, SCRATCH_TOPOLOGY)
    assert f"{address}:6443" in result.stderr
    assert listening_ports(address) == []


def test_labctl_help_lists_commands():
    result = subprocess.run([str(paths.LAB_DIR / "labctl"), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in ("build", "start", "stop", "status"):
        assert command in result.stdout
