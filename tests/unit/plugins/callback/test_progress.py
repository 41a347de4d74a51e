"""The progress callback: its line format, and its output in a real ansible-playbook run of a retried task."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.callback.progress import progress_line, waiting_for

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
REPO = Path(__file__).resolve().parents[4]
# Fails twice, then succeeds: two retries, one second apart.
RETRY_PLAYBOOK = """
- name: Retry a task
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Wait for the third attempt
      ansible.builtin.command: "true"
      register: attempt_result
      changed_when: false
      until: attempt_result.attempts | default(1) >= 3
      retries: 4
      delay: 1
"""


@pytest.mark.parametrize(("task_name", "expected"), [
    ("Wait for the virtual node", "the virtual node"),
    ("wait until the pod is drained", "the pod is drained"),
    ("Waiting for VM boot", "VM boot"),
    ("Peer with the provider", "Peer with the provider"),
])
def test_waiting_for_strips_wait_prefix(task_name, expected):
    assert waiting_for(task_name) == expected


def test_progress_line_states_elapsed_and_limit():
    line = progress_line("Wait for the virtual node", "mlops-consumer", 35.7, attempt=8, attempts=61, delay_seconds=10)

    assert line == "waiting for the virtual node (mlops-consumer): 35 s of 600 s, attempt 8 of 61"


def test_retried_task_prints_progress(tmp_path):
    playbook = tmp_path / "retry.yml"
    playbook.write_text(RETRY_PLAYBOOK)
    env = {**os.environ, "ANSIBLE_CALLBACKS_ENABLED": "oss_mlops.multicloud.progress", "ANSIBLE_NOCOLOR": "1"}

    completed = subprocess.run([str(ANSIBLE_PLAYBOOK), str(playbook)], cwd=REPO, env=env,
                               capture_output=True, text=True, check=False)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = re.findall(r"waiting for the third attempt \(localhost\): (\d+) s of 4 s, attempt (\d) of 5",
                       completed.stderr)
    assert [attempt for elapsed, attempt in lines] == ["1", "2"]
    assert "waiting for" not in completed.stdout
