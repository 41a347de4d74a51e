"""Start, stop, inspect and watch a lab in one state directory.

Layout of a state dir:
  topology.json              clusters, slot and addresses of the lab made here (written before anything starts)
  lab.json                   the contract file for tests and playbooks (written once the lab is ready)
  bin/liqoctl                wrapper that runs the liqoctl stand-in with the cached Liqo CRDs
  run/start.lock             held while `labctl start` runs
  run/watchdog.{pid,log}     watchdog that stops the lab when its owner process exits (optional)
  clusters/<name>/           pki/, admin.kubeconfig, etcd/, logs/<component>.log, run/<component>.pid
"""

import concurrent.futures
import contextlib
import fcntl
import http.client
import json
import os
import shutil
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from . import bootstrap, build, components, paths, pki, processes
from .kubeapi import ApiError, KubeClient
from .topology import Cluster, Topology

Log = Callable[[str], None]

API_READY_TIMEOUT = 90.0
BOOTSTRAP_TIMEOUT = 240.0
PORT_RELEASE_TIMEOUT = 15.0
WATCH_INTERVAL = 1.0
# "data" contains files that tools using the lab keep with it, such as the lab inventory's allocation table.
STATE_ENTRIES = {"topology.json", "lab.json", "bin", "run", "clusters", "data"}
LOG_TAIL_LINES = 15


class LabError(RuntimeError):
    """The lab could not be started or stopped; the message states what to do next."""


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _recorded_topology(state_dir: Path) -> dict | None:
    return _read_json(state_dir / "topology.json")


def _run_dirs(state_dir: Path) -> list[Path]:
    return [state_dir / "run", *sorted((state_dir / "clusters").glob("*/run"))]


def _recorded_endpoints(recorded: dict | None) -> list[tuple[str, int]]:
    if not recorded:
        return []
    return [(entry["address"], port) for entry in recorded["clusters"].values() for port in entry["ports"]]


def _log_tail(log_file: Path) -> str:
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n    ".join(lines[-LOG_TAIL_LINES:])


class ClusterRuntime:
    """One cluster of a starting or running lab: its files, processes and API client."""

    def __init__(self, state_dir: Path, cluster: Cluster):
        self.cluster = cluster
        self.files = pki.ClusterFiles(state_dir, cluster)
        self._client: KubeClient | None = None

    @property
    def client(self) -> KubeClient:
        if self._client is None:
            token = pki.read_admin_token(self.files)
            self._client = KubeClient(self.cluster.address, 6443, str(self.files.ca_cert), token)
        return self._client

    def prepare(self) -> None:
        pki.ensure_credentials(self.files, self.cluster)
        components.write_egress_selector(self.files)

    def launch(self, group: list[components.Component]) -> None:
        for component in group:
            processes.start(
                component.name,
                component.argv,
                log_file=components.log_file(self.files, component),
                pid_file=components.pid_file(self.files, component),
                env=component.env,
                cwd=self.files.root,
            )

    def check_alive(self, group: list[components.Component]) -> None:
        for component in group:
            if processes.read_pid_file(components.pid_file(self.files, component)) is None:
                log_file = components.log_file(self.files, component)
                raise LabError(
                    f"{component.name} of cluster {self.cluster.name} exited; last lines of {log_file}:\n"
                    f"    {_log_tail(log_file)}"
                )

    def api_is_ready(self) -> bool:
        try:
            return self.client.request("GET", "/readyz") == "ok"
        except (ApiError, OSError, http.client.HTTPException):
            self.client.close()
            return False

    def wait_for_api(self, timeout: float) -> None:
        group = components.control_plane(self.cluster, self.files)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive(group)
            if self.api_is_ready():
                return
            time.sleep(0.25)
        log_file = self.files.logs / "kube-apiserver.log"
        raise LabError(
            f"API server of {self.cluster.name} not ready after {timeout:.0f} s; see {log_file}:\n"
            f"    {_log_tail(log_file)}"
        )

    def populate(self, log: Log) -> None:
        """Register nodes and apply the cluster's objects, then wait until they are ready."""
        client = self.client
        started = time.monotonic()
        bootstrap.ensure_nodes(client, self.cluster)
        bootstrap.ensure_storage_class(client, self.cluster)
        manifests = bootstrap.load_manifests(self.cluster.manifests)
        if manifests:
            bootstrap.apply_manifests(client, manifests, BOOTSTRAP_TIMEOUT)
            bound = bootstrap.bind_claims_to_static_volumes(client, self.cluster, manifests)
            log(f"{self.cluster.name}: applied {len(manifests)} objects, {bound} static volumes "
                f"({time.monotonic() - started:.1f} s)")
        bootstrap.ensure_controller_manager_pod(client, self.cluster, BOOTSTRAP_TIMEOUT)
        bootstrap.wait_for_nodes(client, self.cluster, BOOTSTRAP_TIMEOUT)
        for namespace in ["default", *bootstrap.namespaces_of(manifests)]:
            bootstrap.wait_for_service_account(client, namespace, BOOTSTRAP_TIMEOUT)
        if manifests:
            bootstrap.wait_for_deployments(client, manifests, BOOTSTRAP_TIMEOUT)
        log(f"{self.cluster.name}: ready ({time.monotonic() - started:.1f} s after its API)")

    def contract_entry(self) -> dict:
        return {
            "role": self.cluster.role,
            "flavor": self.cluster.flavor,
            "api_server_url": self.cluster.api_server_url,
            "kubeconfig": str(self.files.kubeconfig),
            "pod_cidr": self.cluster.pod_cidr,
            "service_cidr": self.cluster.service_cidr,
            "nodes": [node.name for node in self.cluster.nodes],
        }


def _recorded_form(topology: Topology) -> dict:
    clusters = topology.describe()
    for cluster in topology.clusters:
        clusters[cluster.name]["ports"] = [port for _name, port in components.endpoints(cluster)]
    return {"slot": topology.slot, "source": str(topology.source), "clusters": clusters}


def _check_state_matches(state_dir: Path, topology: Topology) -> None:
    recorded = _recorded_topology(state_dir)
    if recorded is None:
        return
    expected = _recorded_form(topology)
    if recorded["slot"] != expected["slot"] or recorded["clusters"] != expected["clusters"]:
        raise LabError(
            f"state dir {state_dir} contains a lab made from another topology or slot "
            f"(slot {recorded['slot']}, clusters {sorted(recorded['clusters'])}); "
            f"run `labctl stop --wipe` first or choose another state dir"
        )


def _check_ports_free(topology: Topology) -> None:
    in_use = [
        f"{address}:{port}"
        for cluster in topology.clusters
        for address, port in components.endpoints(cluster)
        if not processes.port_is_free(address, port)
    ]
    if in_use:
        raise LabError(
            f"ports already in use: {', '.join(in_use)}; stop whatever listens there, "
            f"or use another slot (OSS_MLOPS_LAB_SLOT / --slot)"
        )


def _write_liqoctl_wrapper(state_dir: Path) -> Path:
    wrapper = state_dir / "bin" / "liqoctl"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    python = paths.python_for_tools() if paths.python_for_tools().exists() else Path(sys.executable)
    wrapper.write_text(
        "#!/bin/sh\n"
        "# Written by tests/lab/labctl: runs the repository's liqoctl stand-in with the cached Liqo CRDs.\n"
        f"LIQOCTL_STANDIN_CRDS='{paths.liqo_crds_dir()}'\n"
        "export LIQOCTL_STANDIN_CRDS\n"
        f"exec '{python}' '{paths.LIQOCTL_STANDIN}' \"$@\"\n"
    )
    wrapper.chmod(0o755)
    return wrapper


def _write_contract(state_dir: Path, topology: Topology, runtimes: list[ClusterRuntime]) -> None:
    wrapper = _write_liqoctl_wrapper(state_dir)
    contract = {
        "slot": topology.slot,
        "clusters": {runtime.cluster.name: runtime.contract_entry() for runtime in runtimes},
        "liqoctl": str(wrapper),
    }
    _write_json(state_dir / "lab.json", contract)


def _start_watchdog(state_dir: Path, owner_pid: int) -> None:
    run_dir = state_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    labctl = paths.LAB_DIR / "labctl"
    argv = [sys.executable, str(labctl), "watch", "--state", str(state_dir), "--owner-pid", str(owner_pid)]
    processes.start(
        "watchdog",
        argv,
        log_file=run_dir / "watchdog.log",
        pid_file=run_dir / "watchdog.pid",
        env=dict(os.environ),
        cwd=state_dir,
    )


def _running_report(state_dir: Path, topology: Topology, runtimes: list[ClusterRuntime]) -> bool:
    """Return True when the whole lab already runs, False when nothing runs; raise when only part of it does."""
    alive = processes.alive_processes(_run_dirs(state_dir))
    if not alive:
        return False
    alive_names = {f"{p.pid_file.parent.parent.name}/{p.name}" for p in alive if p.name != "watchdog"}
    expected = {f"{cluster.name}/{component}" for cluster in topology.clusters for component in components.PORTS}
    missing = sorted(expected - alive_names)
    not_ready = [runtime.cluster.name for runtime in runtimes if not runtime.api_is_ready()]
    # lab.json is written last, so without it a start is still in progress or failed half-way.
    complete = (state_dir / "lab.json").exists()
    if complete and not missing and not not_ready:
        return True
    problems = [f"not running: {', '.join(missing)}"] if missing else []
    problems += [f"API not ready: {', '.join(not_ready)}"] if not_ready else []
    problems += [] if complete else ["lab.json missing (a start is in progress or failed)"]
    raise LabError(f"the lab in {state_dir} is partly running ({'; '.join(problems)}); run `labctl stop` first")


def _launch_all(runtimes: list[ClusterRuntime], log: Log, started: float) -> None:
    for runtime in runtimes:
        runtime.launch(components.control_plane(runtime.cluster, runtime.files))
    for runtime in runtimes:
        runtime.wait_for_api(API_READY_TIMEOUT)
    log(f"API servers ready ({time.monotonic() - started:.1f} s)")
    for runtime in runtimes:
        runtime.launch(components.controllers(runtime.cluster, runtime.files))


def _populate_all(runtimes: list[ClusterRuntime], log: Log) -> None:
    with concurrent.futures.ThreadPoolExecutor(len(runtimes)) as pool:
        futures = [pool.submit(runtime.populate, log) for runtime in runtimes]
        for future in futures:
            future.result()
    for runtime in runtimes:
        runtime.check_alive(components.control_plane(runtime.cluster, runtime.files))
        runtime.check_alive(components.controllers(runtime.cluster, runtime.files))


def _raise_on_sigterm() -> None:
    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


@contextlib.contextmanager
def start_lock(state_dir: Path, wait: bool = False) -> Iterator[None]:
    """Hold the state dir's start lock, so only one `labctl start` works on a state dir at a time."""
    lock_path = state_dir / "run" / "start.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabError(f"another `labctl start` is running for {state_dir}; wait for it to finish") from None
        yield


def start(state_dir: Path, topology: Topology, log: Log, owner_pid: int | None = None) -> None:
    """Start every cluster of the topology and wait until it is ready; stop what started if anything fails."""
    with start_lock(state_dir):
        _start_locked(state_dir, topology, log, owner_pid)


def _start_locked(state_dir: Path, topology: Topology, log: Log, owner_pid: int | None) -> None:
    started = time.monotonic()
    runtimes = [ClusterRuntime(state_dir, cluster) for cluster in topology.clusters]
    _check_state_matches(state_dir, topology)
    if _running_report(state_dir, topology, runtimes):
        log(f"the lab in {state_dir} is already running; nothing to do")
        return
    _check_ports_free(topology)

    if not build.everything_up_to_date():
        build.build_all(log)

    _write_json(state_dir / "topology.json", _recorded_form(topology))
    (state_dir / "lab.json").unlink(missing_ok=True)
    for runtime in runtimes:
        runtime.prepare()

    _raise_on_sigterm()
    try:
        if owner_pid:
            _start_watchdog(state_dir, owner_pid)
        _launch_all(runtimes, log, started)
        _populate_all(runtimes, log)
        _write_contract(state_dir, topology, runtimes)
    except BaseException:
        log("start failed; stopping the components that were started")
        stop(state_dir, log, wipe=False)
        raise

    clusters = ", ".join(f"{runtime.cluster.name} {runtime.cluster.api_server_url}" for runtime in runtimes)
    log(f"lab ready in {time.monotonic() - started:.1f} s; clusters: {clusters}")
    log(f"lab description: {state_dir / 'lab.json'}")


STOP_ORDER = (("watchdog",), ("kwok", "kube-scheduler", "kube-controller-manager"), ("kube-apiserver",), ("etcd",))


def _stray_components(state_dir: Path) -> list[int]:
    """Return lab binaries whose arguments name this state dir but that have no pid file (a crashed start)."""
    binaries = [str(binary) for binary in components.all_binaries()]
    return processes.processes_running(binaries, f"{state_dir}{os.sep}")


def _stop_in_order(state_dir: Path) -> None:
    alive = [p for p in processes.alive_processes(_run_dirs(state_dir)) if p.pid != os.getpid()]
    for group in STOP_ORDER:
        pids = [process.pid for process in alive if process.name in group]
        if pids:
            processes.terminate(pids)
    strays = _stray_components(state_dir)
    if strays:
        processes.terminate(strays)


def _wait_for_ports(endpoints: list[tuple[str, int]]) -> list[tuple[str, int]]:
    deadline = time.monotonic() + PORT_RELEASE_TIMEOUT
    while True:
        listening = processes.listening_sockets(endpoints)
        if not listening or time.monotonic() > deadline:
            return listening
        time.sleep(0.2)


def _wipe(state_dir: Path) -> None:
    unexpected = sorted(entry.name for entry in state_dir.iterdir() if entry.name not in STATE_ENTRIES)
    if unexpected:
        raise LabError(f"not wiping {state_dir}: it contains entries a lab does not create: {unexpected}")
    shutil.rmtree(state_dir)


def stop(state_dir: Path, log: Log, wipe: bool = False) -> None:
    """Stop every process of the state dir and wait until its ports are free; raise LabError on leftovers."""
    if not state_dir.exists():
        log(f"no lab in {state_dir}")
        return
    started = time.monotonic()
    _stop_in_order(state_dir)
    leftovers = [p for p in processes.alive_processes(_run_dirs(state_dir)) if p.pid != os.getpid()]
    strays = _stray_components(state_dir)
    listening = _wait_for_ports(_recorded_endpoints(_recorded_topology(state_dir)))
    problems = [f"{p.name} (pid {p.pid})" for p in leftovers] + [f"pid {pid}" for pid in strays]
    problems += [f"port {address}:{port} still listening" for address, port in listening]
    if problems:
        raise LabError(f"stop left these behind: {', '.join(problems)}")
    for run_dir in _run_dirs(state_dir):
        for pid_file in run_dir.glob("*.pid"):
            pid_file.unlink(missing_ok=True)
    log(f"lab in {state_dir} stopped ({time.monotonic() - started:.1f} s)")
    if wipe:
        _wipe(state_dir)
        log(f"removed {state_dir}")


def _probe_readyz(address: str, ca_file: Path, token: str) -> str:
    context = ssl.create_default_context(cafile=str(ca_file))
    request = urllib.request.Request(f"https://{address}:6443/readyz", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=3) as response:
            return "ready" if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"not ready (HTTP {error.code})"
    except (OSError, ssl.SSLError) as error:
        return f"not answering ({getattr(error, 'reason', error)})"


def status(state_dir: Path, out: Callable[[str], None]) -> bool:
    """Print each cluster, its API URL, /readyz result and live processes; return True when all are up."""
    recorded = _recorded_topology(state_dir)
    if recorded is None:
        out(f"no lab in {state_dir}")
        return False
    all_ready = True
    for name, entry in recorded["clusters"].items():
        files_root = state_dir / "clusters" / name
        running = processes.alive_processes([files_root / "run"])
        try:
            token = (files_root / "pki" / "tokens.csv").read_text().split(",", 1)[0]
            readiness = _probe_readyz(entry["address"], files_root / "pki" / "ca.crt", token)
        except OSError:
            readiness = "no credentials"
        all_ready = all_ready and readiness == "ready" and len(running) == len(components.PORTS)
        url = f"https://{entry['address']}:6443"
        out(f"{name:24} {entry['role']:9} {url:26} {readiness:12} {len(running)}/{len(components.PORTS)} processes")
    return all_ready


def _stop_logging_errors(state_dir: Path, log: Log) -> None:
    try:
        stop(state_dir, log)
    except LabError as error:
        log(f"error: {error}")


def watch(state_dir: Path, owner_pid: int, log: Log) -> None:
    """Stop the lab once the owner process exits; return early when the lab was stopped some other way."""
    owner_started = processes.process_start_time(owner_pid)
    while True:
        time.sleep(WATCH_INTERVAL)
        if processes.process_start_time(owner_pid) != owner_started or owner_started is None:
            break
        alive = [p for p in processes.alive_processes(_run_dirs(state_dir)) if p.name != "watchdog"]
        if not alive and (state_dir / "lab.json").exists():
            return
    log(f"owner process {owner_pid} exited; stopping the lab in {state_dir}")
    _stop_logging_errors(state_dir, log)
    # A `labctl start` that outlived the owner may still launch components: wait until it has
    # finished or died, then stop again.
    with start_lock(state_dir, wait=True):
        _stop_logging_errors(state_dir, log)
