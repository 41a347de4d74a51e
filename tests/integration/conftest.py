"""Pytest fixtures that run the lab (tests/lab/labctl) for the integration tests.

`lab` starts the default topology once per test session in its own state dir and in slot 1, so it never
collides with a developer's lab in slot 0 (127.10.x.1). It yields the parsed `lab.json` plus
`state_dir`; run other tools against it with `OSS_MLOPS_LAB_STATE=<state_dir>` (see `lab_env`). The
lab is stopped at the end of the session, also when tests fail. If pytest itself is killed, the lab's
watchdog notices that this process is gone and stops the lab within seconds.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LABCTL = REPO_ROOT / "tests" / "lab" / "labctl"
SESSION_LAB_SLOT = 1
# A cold start includes building the binaries (about 6 minutes on 2 cores) before the lab starts.
START_TIMEOUT_SECONDS = 1800


def run_labctl(*args: str, timeout: float = START_TIMEOUT_SECONDS, env: dict | None = None):
    """Run `labctl ARGS` with this interpreter and return the completed process (output captured)."""
    return subprocess.run(
        [sys.executable, str(LABCTL), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def start_lab(state_dir: Path, slot: int, topology: Path | None = None, owner_pid: int | None = None) -> dict:
    """Start a lab and return its lab.json with `state_dir` added; fail the test with labctl's output if not."""
    args = ["start", "--state", str(state_dir), "--slot", str(slot)]
    if topology is not None:
        args += ["--topology", str(topology)]
    args += ["--owner-pid", str(owner_pid or os.getpid())]
    result = run_labctl(*args)
    if result.returncode != 0:
        pytest.fail(
            f"labctl start failed (exit {result.returncode}); component logs are in "
            f"{state_dir}/clusters/*/logs\n{result.stderr[-4000:]}",
            pytrace=False,
        )
    description = json.loads((state_dir / "lab.json").read_text())
    description["state_dir"] = str(state_dir)
    return description


def stop_lab(state_dir: Path) -> None:
    result = run_labctl("stop", "--state", str(state_dir), timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"labctl stop failed (exit {result.returncode}):\n{result.stderr[-4000:]}")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Run the default topology in slot 1 for the whole session; yield lab.json plus `state_dir`."""
    state_dir = tmp_path_factory.mktemp("lab")
    try:
        yield start_lab(state_dir, SESSION_LAB_SLOT)
    finally:
        stop_lab(state_dir)


@pytest.fixture(scope="session")
def lab_env(lab: dict) -> dict[str, str]:
    """Environment for subprocesses (ansible-playbook, liqoctl) that should find the session lab."""
    return {**os.environ, "OSS_MLOPS_LAB_STATE": lab["state_dir"], "OSS_MLOPS_LAB_SLOT": str(lab["slot"])}


@pytest.fixture(scope="session")
def lab_api(lab: dict):
    """Return a factory: cluster name -> kubernetes.client.ApiClient authenticated with the admin kubeconfig."""
    from kubernetes import client, config  # noqa: PLC0415  (only tests that use the lab pay for the import)

    clients = {}

    def api_client(cluster_name: str) -> client.ApiClient:
        if cluster_name not in clients:
            kubeconfig = lab["clusters"][cluster_name]["kubeconfig"]
            clients[cluster_name] = config.new_client_from_config(config_file=kubeconfig)
        return clients[cluster_name]

    yield api_client
    for api in clients.values():
        api.close()
