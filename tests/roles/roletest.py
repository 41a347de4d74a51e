"""Run a playbook on the controller with the collection from this checkout, for the role tests."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def run_playbook(tmp_path: Path, tasks: list, extra_vars: dict) -> subprocess.CompletedProcess:
    """Run the given tasks on localhost with the collection from this checkout; return the finished process."""
    playbook = [{"name": "Role test", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    (tmp_path / "playbook.yml").write_text(json.dumps(playbook))
    (tmp_path / "vars.json").write_text(json.dumps({"ansible_python_interpreter": sys.executable, **extra_vars}))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPOSITORY_ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(REPOSITORY_ROOT / ".build" / "collections"),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    }
    return subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", f"@{tmp_path / 'vars.json'}", str(tmp_path / "playbook.yml")],
        capture_output=True, text=True, env=env, check=False,
    )
