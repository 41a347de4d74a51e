"""cluster_allocation on both backends: concurrent ansible-playbook runs, exhaustion and invalid input.

The Kubernetes backend runs against a real kube-apiserver and etcd from the lab (tests/lab), started by this
module in its own slot with a one-cluster topology, so no other test shares its state. The SQLite tests need no lab.
"""

import ipaddress
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import allocation_kube
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation import (
    AllocationRequest,
    plan_allocate,
    utc_now,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_kube import KubeStore
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_settings import (
    DEFAULT_RESERVED,
    AllocationError,
    build_settings,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_sqlite import SqliteStore, StoreError
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_kube import KubeCluster

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lab"))

from labkit.testing import lab_slot_for  # noqa: E402  (needs the path above)

LABCTL = REPO / "tests" / "lab" / "labctl"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
# Its own slot keeps this lab's loopback addresses apart from a developer's lab (slot 0) and the other test labs.
SLOT = str(lab_slot_for("allocation"))
CONCURRENT_RUNS = 20
TOPOLOGY = {"clusters": [{
    "name": "mlops-consumer", "role": "consumer", "flavor": "kind",
    "pod_cidr": "10.244.0.0/16", "service_cidr": "10.96.0.0/16",
    "nodes": [{"name": "mlops-consumer-control-plane", "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"}}],
}]}
BACKENDS = ["sqlite", "kubernetes"]


@pytest.fixture(scope="module")
def allocation_lab(tmp_path_factory):
    """Start a one-cluster lab used only by this module, and stop it afterwards, also when a test fails."""
    work_dir = tmp_path_factory.mktemp("allocation-lab")
    topology = work_dir / "topology.yml"
    topology.write_text(yaml.safe_dump(TOPOLOGY))
    state_dir = work_dir / "state"
    subprocess.run([sys.executable, str(LABCTL), "start", "--state", str(state_dir), "--slot", SLOT,
                    "--topology", str(topology), "--owner-pid", str(os.getpid())], check=True)
    try:
        lab = json.loads((state_dir / "lab.json").read_text())
        yield {"kubeconfig": lab["clusters"]["mlops-consumer"]["kubeconfig"], "state_dir": state_dir}
    finally:
        subprocess.run([sys.executable, str(LABCTL), "stop", "--state", str(state_dir), "--wipe"], check=True)


class Backend:
    """Options and a direct reader for one backend; every test gets an empty table of its own."""

    def __init__(self, name, tmp_path, lab=None, namespace=None):
        self.name = name
        self.tmp_path = tmp_path
        if name == "sqlite":
            self.options = {"backend": "sqlite", "database": str(tmp_path / "state" / "allocations.sqlite3")}
        else:
            self.options = {"backend": "kubernetes", "kubeconfig": lab["kubeconfig"], "namespace": namespace}

    def store(self):
        if self.name == "sqlite":
            return SqliteStore(self.options["database"])
        return KubeStore(KubeCluster(self.options["kubeconfig"]), namespace=self.options["namespace"])

    def records(self):
        return self.store().read()

    def snapshot(self):
        """Return what a write would change: the table, and for Kubernetes the index ConfigMap's version too."""
        records = sorted((record.name, record.state, record.revision) for record in self.records())
        if self.name == "sqlite":
            path = Path(self.options["database"])
            return records, path.stat().st_mtime_ns if path.exists() else None
        index = self.store().read_index()
        return records, index["metadata"]["resourceVersion"] if index else None


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    if request.param == "sqlite":
        return Backend("sqlite", tmp_path)
    lab = request.getfixturevalue("allocation_lab")
    return Backend("kubernetes", tmp_path, lab, namespace=f"alloc-{tmp_path.name.lower().replace('_', '-')[-40:]}")


def write_playbook(directory, module_args, wait_for=None):
    tasks = []
    if wait_for:
        # Every run waits here, so the allocations of all runs start together and contend.
        tasks.append({"name": "Wait for the start signal",
                      "ansible.builtin.wait_for": {"path": str(wait_for), "timeout": 300}})
    tasks.append({"name": "Allocate", "oss_mlops.multicloud.cluster_allocation": module_args})
    playbook = [{"name": "Allocation", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    path = directory / "playbook.yml"
    path.write_text(yaml.safe_dump(playbook, sort_keys=False))
    return path


def playbook_environment(run_dir):
    return {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(run_dir / "tmp")}


def start_playbook(run_dir, module_args, wait_for=None):
    run_dir.mkdir(parents=True)
    playbook = write_playbook(run_dir, module_args, wait_for)
    command = [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local",
               "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)]
    return subprocess.Popen(command, cwd=REPO, env=playbook_environment(run_dir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def allocation_result(process):
    """Wait for an ansible-playbook run and return the result of its allocation task."""
    stdout, stderr = process.communicate(timeout=900)
    try:
        output = json.loads(stdout)
    except json.JSONDecodeError:
        pytest.fail(f"ansible-playbook printed no JSON; stdout:\n{stdout}\nstderr:\n{stderr}")
    task = output["plays"][0]["tasks"][-1]
    return task["hosts"]["localhost"]


def run_module(tmp_path, module_args):
    return allocation_result(start_playbook(tmp_path / f"run-{time.monotonic_ns()}", module_args))


def run_concurrently(backend, keys):
    start_signal = backend.tmp_path / "start"
    processes = [start_playbook(backend.tmp_path / f"run-{index}", {"key": key, **backend.options},
                                wait_for=start_signal)
                 for index, key in enumerate(keys)]
    time.sleep(5)  # most runs reach the wait task by now; the others join as soon as they get there
    start_signal.touch()
    return [allocation_result(process) for process in processes]


def networks_of(results):
    return [ipaddress.ip_network(result[field]) for result in results for field in ("pod_cidr", "service_cidr")]


def test_concurrent_runs_get_distinct_allocations(backend):
    keys = [f"provider-{index}" for index in range(CONCURRENT_RUNS)]

    results = run_concurrently(backend, keys)

    failures = [result.get("msg") for result in results if result.get("failed")]
    assert failures == []
    assert all(result["changed"] for result in results)
    assert sorted(result["allocation"]["key"] for result in results) == sorted(keys)
    assert len({result["name"] for result in results}) == CONCURRENT_RUNS
    networks = networks_of(results)
    for index, network in enumerate(networks):
        for other in networks[index + 1:]:
            assert not network.overlaps(other), f"{network} overlaps {other}"
    reserved = [ipaddress.ip_network(cidr) for cidr in DEFAULT_RESERVED.values()]
    reserved += [ipaddress.ip_network("10.244.0.0/16"), ipaddress.ip_network("10.96.0.0/16")]
    for network in networks:
        assert not any(network.overlaps(range_) for range_ in reserved), f"{network} overlaps a reserved range"
    assert len(backend.records()) == CONCURRENT_RUNS


def test_concurrent_runs_same_key_get_one_allocation(backend):
    results = run_concurrently(backend, ["verda-v100-2"] * CONCURRENT_RUNS)

    failures = [result.get("msg") for result in results if result.get("failed")]
    assert failures == []
    assert sum(result["changed"] for result in results) == 1
    assert len({(result["name"], result["pod_cidr"], result["service_cidr"]) for result in results}) == 1
    assert len(backend.records()) == 1


def test_repeat_and_release(backend, tmp_path):
    first = run_module(tmp_path, {"key": "verda-v100-2", "cloud": "verda", "flavor_class": "gpu",
                                  **backend.options})
    second = run_module(tmp_path, {"key": "verda-v100-2", **backend.options})
    released = run_module(tmp_path, {"key": "verda-v100-2", "state": "absent", "quarantine": "1h",
                                     **backend.options})
    released_again = run_module(tmp_path, {"key": "verda-v100-2", "state": "absent", **backend.options})
    renewed = run_module(tmp_path, {"key": "verda-v100-2", "cloud": "verda", "flavor_class": "gpu",
                                    **backend.options})

    assert first["changed"] is True
    assert first["name"].startswith("mlops-verda-gpu-")
    assert second["changed"] is False
    assert second["allocation"] == first["allocation"]
    assert released["changed"] is True
    assert released["allocation"]["state"] == "quarantined"
    assert released_again["changed"] is False
    assert renewed["changed"] is True
    assert renewed["name"] != first["name"]
    assert renewed["pod_cidr"] != first["pod_cidr"]


def test_exhaustion_writes_nothing(backend, tmp_path):
    small_pool = {"pod_pools": [{"cidr": "10.112.0.0/23", "block_prefix": 24}], "quarantine": "1h"}
    for key in ("provider-0", "provider-1"):
        assert run_module(tmp_path, {"key": key, **small_pool, **backend.options})["changed"] is True
    run_module(tmp_path, {"key": "provider-1", "state": "absent", **small_pool, **backend.options})
    before = backend.snapshot()

    result = run_module(tmp_path, {"key": "provider-2", **small_pool, **backend.options})

    assert result["failed"] is True
    assert "pod pool 10.112.0.0/23 (/24 blocks)" in result["msg"]
    assert "1 blocks are allocated and 1 are in quarantine, of 2 blocks" in result["msg"]
    assert backend.snapshot() == before


INVALID_INPUT = [
    ("pool not a CIDR", {"pod_pools": [{"cidr": "10.112.0.0", "block_prefix": 20}]}, "is not a CIDR"),
    ("block larger than pool", {"service_pools": [{"cidr": "10.48.0.0/16", "block_prefix": 14}]},
     "a /14 block is larger than the pool 10.48.0.0/16"),
    ("overlapping pools", {"service_pools": [{"cidr": "10.112.0.0/16", "block_prefix": 22}]},
     "overlaps service pool 10.112.0.0/16"),
    ("prefix makes names too long", {"name_prefix": "p" * 31, "cloud": "verda", "flavor_class": "gpu-v100"},
     "would have 52 characters"),
    ("negative quarantine", {"quarantine": -1}, "is negative"),
]


@pytest.mark.parametrize(("case", "options", "expected"), INVALID_INPUT, ids=[case[0] for case in INVALID_INPUT])
def test_invalid_input_writes_nothing(backend, tmp_path, case, options, expected):
    before = backend.snapshot()

    result = run_module(tmp_path, {"key": "provider-0", **options, **backend.options})

    assert result["failed"] is True
    assert expected in result["msg"]
    assert backend.snapshot() == before


def test_check_mode_writes_nothing(backend, tmp_path):
    before = backend.snapshot()
    run_dir = tmp_path / "check"
    run_dir.mkdir()
    playbook = write_playbook(run_dir, {"key": "provider-0", **backend.options})
    completed = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", "--check",
                                "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
                               cwd=REPO, env=playbook_environment(run_dir), capture_output=True, text=True,
                               check=False)

    result = json.loads(completed.stdout)["plays"][0]["tasks"][-1]["hosts"]["localhost"]
    assert result["changed"] is True
    assert result["pod_cidr"] == "10.112.0.0/20"
    assert backend.snapshot() == before


# The Kubernetes store's transaction protocol, driven directly.


@pytest.fixture
def kube_store(allocation_lab, tmp_path):
    namespace = f"store-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    return KubeStore(KubeCluster(allocation_lab["kubeconfig"]), namespace=namespace, timeout=60)


def allocate_with(store, key, settings=None):
    settings = settings or build_settings()
    return store.transact(lambda records: plan_allocate(records, AllocationRequest(key=key), settings, utc_now()))


def test_kube_store_creates_crd_namespace_and_index(kube_store):
    allocate_with(kube_store, "provider-0")

    crd = kube_store.get_crd()
    index = kube_store.read_index()
    assert crd["metadata"]["annotations"][allocation_kube.CRD_REVISION_ANNOTATION] == allocation_kube.CRD_REVISION
    assert index["data"]["generation"] == "1"
    assert index["data"]["pending"] == ""
    assert [record.key for record in kube_store.read()] == ["provider-0"]


def test_kube_store_retries_after_conflict(allocation_lab, kube_store):
    rival = KubeStore(KubeCluster(allocation_lab["kubeconfig"]), namespace=kube_store.namespace)
    allocate_with(rival, "provider-0")  # sets up the namespace and index
    settings = build_settings()
    interfered = []

    def decide_while_rival_writes(records):
        # The rival commits between this store's read and its index replacement, the race that optimistic
        # concurrency must catch: the first attempt has to lose, and the retry has to see the rival's block.
        if not interfered:
            interfered.append(allocate_with(rival, "provider-1").allocation)
        return plan_allocate(records, AllocationRequest(key="provider-2"), settings, utc_now())

    plan = kube_store.transact(decide_while_rival_writes)

    assert kube_store.conflicts == 1
    assert plan.allocation.pod_cidr != interfered[0].pod_cidr
    pods = sorted(record.pod_cidr for record in kube_store.read())
    assert pods == ["10.112.0.0/20", "10.112.16.0/20", "10.112.32.0/20"]


def test_kube_store_finishes_abandoned_write(kube_store):
    allocate_with(kube_store, "provider-0")
    settings = build_settings()
    # Commit a write and then stop, as a controller that dies between its index replacement and its object
    # writes would: the allocation exists only as a pending operation in the index.
    orphaned = plan_allocate(kube_store.read(), AllocationRequest(key="provider-1"), settings, utc_now())
    committed = kube_store.commit(kube_store.read_index(), orphaned.operations)
    assert committed is not None
    kube_store.takeover_seconds = 2

    plan = allocate_with(kube_store, "provider-2")

    records = {record.key: record for record in kube_store.read()}
    assert records["provider-1"].name == orphaned.allocation.name
    assert plan.allocation.pod_cidr != records["provider-1"].pod_cidr
    assert kube_store.read_index()["data"]["pending"] == ""


def test_kube_store_without_crd_management_fails_clearly(allocation_lab, monkeypatch):
    store = KubeStore(KubeCluster(allocation_lab["kubeconfig"]), namespace="no-crd", manage_crd=False)
    # The lab's CRD, applied by earlier tests, looks outdated to a collection with a newer CRD revision.
    monkeypatch.setattr(allocation_kube, "CRD_REVISION", "999")

    with pytest.raises(StoreError) as raised:
        allocate_with(store, "provider-0")

    assert "manage_crd is false" in str(raised.value)


def test_kube_store_exhaustion_leaves_no_objects(kube_store):
    settings = build_settings(pod_pools=[{"cidr": "10.112.0.0/24", "block_prefix": 24}])
    allocate_with(kube_store, "provider-0", settings)
    version = kube_store.read_index()["metadata"]["resourceVersion"]

    with pytest.raises(AllocationError):
        allocate_with(kube_store, "provider-1", settings)

    assert kube_store.read_index()["metadata"]["resourceVersion"] == version
    assert [record.key for record in kube_store.read()] == ["provider-0"]


def test_kube_store_threads_share_one_table(allocation_lab, kube_store):
    allocate_with(kube_store, "seed")
    stores = [KubeStore(KubeCluster(allocation_lab["kubeconfig"]), namespace=kube_store.namespace, timeout=120)
              for _repeat in range(8)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        plans = list(pool.map(lambda item: allocate_with(item[1], f"thread-{item[0]}"), enumerate(stores)))

    pods = [plan.allocation.pod_cidr for plan in plans]
    assert len(set(pods)) == 8
    assert len(kube_store.read()) == 9
