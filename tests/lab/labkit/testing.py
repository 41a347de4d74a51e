"""Helpers for pytest code that runs labs: start and stop them through labctl, as a user would."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from . import paths

LABCTL = paths.LAB_DIR / "labctl"
# A cold start includes building the binaries (about 6.5 minutes on 2 cores) before the lab starts.
START_TIMEOUT_SECONDS = 1800
STOP_TIMEOUT_SECONDS = 120


# Test labs that need their own clusters run in slot session_lab_slot() + offset, so that two test runs with
# session slots at least SLOTS_PER_RUN apart never share a loopback address.
SLOT_OFFSETS = {
    "session": 0,
    "lab-scratch": 1,
    "lab-input-check": 2,
    "liqoctl-standin": 3,
    "join": 4,
    "allocation": 5,
    "unjoin": 6,
    "offloading": 7,
    "provision": 8,
    "autoscale": 9,
    "autoscale-rent": 10,
}
SLOTS_PER_RUN = 20


def session_lab_slot() -> int:
    """Return the slot of the session lab: $OSS_MLOPS_LAB_TEST_SLOT, default 1 (a developer's lab uses 0)."""
    return int(os.environ.get("OSS_MLOPS_LAB_TEST_SLOT", "1"))


def lab_slot_for(name: str) -> int:
    """Return the slot of the test lab called name in SLOT_OFFSETS."""
    return session_lab_slot() + SLOT_OFFSETS[name]


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
    """Start a lab and return its lab.json with `state_dir` added; fail the test with labctl's output if not.

    The lab stops by itself once `owner_pid` (default: this process) exits, even without a call to stop_lab.
    """
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
    """Stop the lab in `state_dir`; raise RuntimeError with labctl's output when something is left behind."""
    result = run_labctl("stop", "--state", str(state_dir), timeout=STOP_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise RuntimeError(f"labctl stop failed (exit {result.returncode}):\n{result.stderr[-4000:]}")


def wait_for(description: str, condition, timeout: float = 60, interval: float = 1.0):
    """Poll condition until it returns a true value and return that value; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {description}")
