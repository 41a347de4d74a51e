"""Shared runner of the provisioning playbooks for the tests against the loopback cloud API doubles."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


class PlaybookRunner:
    """Runner of the playbooks with one inventory, one allocation table and one cloud's credentials.

    Subclasses write the inventory and return the cloud's environment variables from cloud_environment().
    """

    def __init__(self, tmp_path, secret):
        self.tmp_path = tmp_path
        self.secret = secret
        self.database = tmp_path / "state" / "allocations.sqlite3"
        self.inventory = tmp_path / "inventory.yml"

    def write_requests(self, hosts):
        """Write the inventory with hosts, a dict of host name to host variables, in group provision_requests."""
        self.inventory.write_text(yaml.safe_dump({"provision_requests": {"hosts": hosts}}))

    def cloud_environment(self):
        raise NotImplementedError

    def environment(self):
        return {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_LOCAL_TEMP": str(self.tmp_path / "tmp"),
                "OSS_MLOPS_ALLOCATION_DATABASE": str(self.database),
                **self.cloud_environment()}

    def run(self, playbook, *extra, check=False):
        """Run a playbook without the join step and return its JSON output; the secret must not appear in it."""
        command = [str(ANSIBLE_PLAYBOOK), "-i", str(self.inventory), str(REPO / "playbooks" / playbook),
                   "-e", "provision_join=false", *extra]
        if check:
            command.append("--check")
        # A failed run is a result to inspect, not an error.
        process = subprocess.run(command, check=False, cwd=REPO, env=self.environment(), capture_output=True,
                                 text=True, timeout=900)
        assert self.secret not in process.stdout + process.stderr
        try:
            return json.loads(process.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"ansible-playbook printed no JSON; stdout:\n{process.stdout}\nstderr:\n{process.stderr}")

    def allocated(self):
        """Return the allocated records as {key: name}."""
        if not self.database.exists():
            return {}
        with sqlite3.connect(self.database) as connection:
            rows = connection.execute("SELECT key, name FROM allocations WHERE state = 'allocated'").fetchall()
        return dict(rows)


def failure_messages(output):
    """Return {host: [message, ...]} for every failed task whose error was not ignored.

    A failed loop contributes the message of each failed item in place of "One or more items failed".
    """
    messages = {}
    for play in output["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if not result.get("failed") or result.get("ignore_errors"):
                    continue
                items = [item.get("msg", "") for item in result.get("results", []) if item.get("failed")]
                messages.setdefault(host, []).extend(items or [result.get("msg", "")])
    return messages
