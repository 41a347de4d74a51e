"""Pytest fixtures that run the lab (tests/lab/labctl) for the integration tests.

`lab` starts the default topology once per test session in its own state dir and in slot 1
(`OSS_MLOPS_LAB_TEST_SLOT` overrides it), so it never collides with a developer's lab in slot 0. It
yields the parsed `lab.json` plus `state_dir`; run other tools against it with the environment from
`lab_env`, which sets `OSS_MLOPS_LAB_STATE`. The lab is stopped at the end of the session, also when
tests fail. If pytest itself is killed, the lab's watchdog notices that this process is gone and stops
the lab within seconds.

Helpers to start more labs (`start_lab`, `stop_lab`, `run_labctl`) are in tests/lab/labkit/testing.py.
"""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))

from labkit.testing import session_lab_slot, start_lab, stop_lab  # noqa: E402  (needs the path above)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Run the default topology for the whole session; yield lab.json plus `state_dir`."""
    state_dir = tmp_path_factory.mktemp("lab")
    try:
        yield start_lab(state_dir, session_lab_slot())
    finally:
        stop_lab(state_dir)


@pytest.fixture(scope="session")
def lab_env(lab: dict) -> dict[str, str]:
    """Environment for subprocesses (ansible-playbook, liqoctl) that should find the session lab."""
    return {**os.environ, "OSS_MLOPS_LAB_STATE": lab["state_dir"], "OSS_MLOPS_LAB_SLOT": str(lab["slot"])}


@pytest.fixture(scope="session")
def lab_api(lab: dict):
    """Return a factory: cluster name -> kubernetes.client.ApiClient authenticated with the admin kubeconfig."""
    clients: dict[str, client.ApiClient] = {}

    def api_client(cluster_name: str) -> client.ApiClient:
        if cluster_name not in clients:
            kubeconfig = lab["clusters"][cluster_name]["kubeconfig"]
            clients[cluster_name] = config.new_client_from_config(config_file=kubeconfig)
        return clients[cluster_name]

    yield api_client
    for api in clients.values():
        api.close()
