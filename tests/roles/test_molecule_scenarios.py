"""Run the chroot molecule scenario of the provider roles: converge, idempotence and testinfra verify."""

import os
import re
import subprocess
import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def test_provider_scenario(chroot_capable):
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}", "ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1"}
    result = subprocess.run(
        [str(VENV_BIN / "molecule"), "test", "--scenario-name", "provider"],
        cwd=REPOSITORY_ROOT, capture_output=True, text=True, env=env, check=False,
    )
    # molecule colours its own log lines even without a terminal.
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode == 0, output[-6000:]
    assert "idempotence: Executed: Successful" in output
