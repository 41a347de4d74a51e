"""provision.yml, decommission.yml and reconcile.yml against the loopback cloud API doubles.

The doubles (tests/clouds) run in this process on 127.0.0.1 with ephemeral ports; ansible-playbook runs as a
subprocess and reaches them through the real SDKs. Credentials travel only in the environment of that
subprocess. The allocation table is an SQLite file per test. No lab and no VM is needed, so the join step is
skipped (provision_join: false); joining needs a real VM.
"""

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "clouds"))

from playbook_runner import PlaybookRunner, failure_messages  # noqa: E402  (needs the path above)
from verda_double import VerdaDouble  # noqa: E402

CLIENT_ID = "integration-client"
CLIENT_SECRET = "integration-secret-do-not-log"
USER_DATA = "#cloud-config\nhostname_from_test: true\n"
KEYS = ["verda-gpu-1", "verda-cpu-1"]
REQUESTS = {
    "verda-gpu-1": {"provision_flavor": "1V100.6V", "provision_flavor_class": "gpu"},
    "verda-cpu-1": {"provision_flavor": "CPU.4V.16G", "provision_flavor_class": "cpu"},
}


@pytest.fixture
def verda():
    with VerdaDouble(CLIENT_ID, CLIENT_SECRET) as double:
        yield double


class Runner(PlaybookRunner):
    """Runner of the playbooks against the Verda double, with its credentials in the environment."""

    def __init__(self, tmp_path, verda):
        super().__init__(tmp_path, CLIENT_SECRET)
        self.verda = verda
        self.write_inventory({})

    def write_inventory(self, extra_vars):
        self.write_requests({key: {"provision_cloud": "verda", "provision_image": "ubuntu-24.04",
                                   "provision_user_data": USER_DATA, **REQUESTS[key], **extra_vars}
                             for key in KEYS})

    def cloud_environment(self):
        return {"VERDA_CLIENT_ID": CLIENT_ID, "VERDA_CLIENT_SECRET": CLIENT_SECRET,
                "VERDA_BASE_URL": self.verda.base_url + "/v1"}


@pytest.fixture
def runner(tmp_path, verda):
    return Runner(tmp_path, verda)


def stats(output):
    return output["stats"]


def nothing_billed(verda):
    return verda.billed_resources() == {"instances": [], "volumes": [], "trash": []}


def test_verda_rent_and_return(runner, verda):
    first = runner.run("provision.yml")
    second = runner.run("provision.yml")

    assert failure_messages(first) == {}
    assert all(stats(first)[key]["changed"] > 0 for key in KEYS)
    assert all(stats(second)[key]["changed"] == 0 for key in KEYS)
    allocated = runner.allocated()
    assert sorted(allocated) == sorted(KEYS)
    assert verda.billed_resources()["instances"] == sorted(allocated.values())
    tags = {item["hostname"]: dict(word.split("=", 1) for word in item["description"].split())
            for item in verda.instances.values()}
    for key, name in allocated.items():
        assert tags[name]["oss-mlops-managed"] == "true"
        assert tags[name]["oss-mlops-allocation-key"] == key
        assert tags[name]["oss-mlops-created-at"].endswith("Z")

    removed = runner.run("decommission.yml", "-e", json.dumps({"decommission_providers": KEYS}))
    removed_again = runner.run("decommission.yml", "-e", json.dumps({"decommission_providers": KEYS}))

    assert failure_messages(removed) == {}
    assert nothing_billed(verda)
    assert verda.scripts == {}
    assert runner.allocated() == {}
    assert failure_messages(removed_again) == {}
    assert all(stats(removed_again)[key]["changed"] == 0 for key in KEYS)


def test_verda_check_mode_changes_nothing(runner, verda):
    output = runner.run("provision.yml", check=True)

    assert failure_messages(output) == {}
    assert nothing_billed(verda)
    assert runner.allocated() == {}


FAULTS = [
    # (fault, setup, words the failure message must contain)
    ("quota_exceeded", lambda cloud: cloud.faults.add("quota_exceeded"), "quota exceeded"),
    ("no_stock", lambda cloud: (cloud.faults.add("no_stock"), cloud.out_of_stock.update({"1V100.6V", "CPU.4V.16G"})),
     "No stock"),
    ("error_after_create", lambda cloud: cloud.faults.add("error_after_create"), "entered status error"),
    ("stuck_ordered", lambda cloud: cloud.faults.add("stuck_ordered"), "wait_timeout"),
]


@pytest.mark.parametrize(("fault", "setup", "words"), FAULTS, ids=[fault[0] for fault in FAULTS])
def test_verda_fault_leaves_nothing(runner, verda, fault, setup, words):
    setup(verda)

    output = runner.run("provision.yml", "-e", "provider_vm_wait_timeout=3")

    messages = failure_messages(output)
    assert sorted(messages) == sorted(KEYS)
    for key in KEYS:
        final = messages[key][-1]
        assert f"Provisioning {key} on verda failed" in final
        assert words.lower() in final.lower()
        assert "allocation of " + key + " was released" in final
    assert nothing_billed(verda)
    assert runner.allocated() == {}


def test_verda_decommission_of_vanished_vm(runner, verda):
    runner.run("provision.yml")
    for name in runner.allocated().values():
        verda.delete_out_of_band(name)
    assert verda.billed_resources()["volumes"] != []

    output = runner.run("decommission.yml", "-e", json.dumps({"decommission_providers": KEYS}))

    assert failure_messages(output) == {}
    assert nothing_billed(verda)
    assert runner.allocated() == {}


def test_verda_keep_failed_is_reported_by_reconcile(runner, verda):
    verda.faults.add("stuck_ordered")
    runner.write_inventory({"provision_keep_failed": True})
    runner.run("provision.yml", "-e", "provider_vm_wait_timeout=3")
    verda.faults.discard("stuck_ordered")

    assert len(verda.billed_resources()["instances"]) == len(KEYS)
    assert runner.allocated() == {}

    report = runner.run("reconcile.yml", "-e", json.dumps({"reconcile_clouds": ["verda"]}))
    messages = [task["hosts"]["localhost"] for task in report["plays"][0]["tasks"]
                if task["task"]["name"] == "Report the differences"]
    assert failure_messages(report) == {}
    assert sorted(messages[0]["msg"]["vms_in_quarantine"]) == verda.billed_resources()["instances"]
