"""Fixtures for the liqoctl stand-in tests.

The parsing tests need no cluster. The effect tests run against a lab started with the same labctl helpers as
the `lab` fixture of tests/integration/conftest.py, and return the same lab.json shape. It cannot be that fixture
itself: pytest makes a conftest's fixtures visible only below its directory, and a second copy of the fixture
would start a second lab on the same address slot. So this lab uses its own slot (see
labkit.testing.SLOT_OFFSETS), and the default topology without its platform manifests, which these tests do
not need.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "lab"))

from labkit.testing import lab_slot_for, start_lab, stop_lab  # noqa: E402  (needs the path above)

LIQOCTL = HERE / "liqoctl.py"
# labkit.testing.SLOT_OFFSETS lists the slots every test lab uses.


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A lab with the default clusters, in slot session_lab_slot() + 3; yields lab.json plus `state_dir`."""
    state_dir = tmp_path_factory.mktemp("standin-lab")
    topology = yaml.safe_load((REPO / "tests" / "lab" / "topology.yml").read_text())
    for cluster in topology["clusters"]:
        cluster.pop("manifests", None)
    topology_path = state_dir.parent / "standin-topology.yml"
    topology_path.write_text(yaml.safe_dump(topology))
    try:
        yield start_lab(state_dir, lab_slot_for("liqoctl-standin"), topology=topology_path)
    finally:
        stop_lab(state_dir)


@pytest.fixture(scope="session")
def crds_dir(lab: dict) -> str:
    """The cached Liqo v1.0.3 CRDs, read from the wrapper labctl wrote."""
    for line in Path(lab["liqoctl"]).read_text().splitlines():
        if line.startswith("LIQOCTL_STANDIN_CRDS="):
            return line.split("=", 1)[1].strip("'\"")
    raise AssertionError("the lab's liqoctl wrapper does not set LIQOCTL_STANDIN_CRDS")


@pytest.fixture(scope="session")
def liqoctl(lab: dict, crds_dir: str):
    """Run the stand-in as a subprocess: liqoctl(*args, stdin=None, env=None) -> CompletedProcess."""

    def run(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        environment = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
        environment.update({"LIQOCTL_STANDIN_CRDS": crds_dir, **(env or {})})
        return subprocess.run(
            [sys.executable, str(LIQOCTL), *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=environment,
            timeout=timeout,
            check=False,
        )

    return run
