# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""verda_instance and verda_instance_info through main(), against the loopback Verda API double.

The double (tests/clouds/verda_double.py) serves the REST API the verda SDK calls, statefully, so these tests
run the real SDK HTTP client, token handling and error mapping. Credentials reach the module through the
environment only, as in real use.
"""

import json
import sys
from pathlib import Path

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oss_mlops.multicloud.plugins.modules import verda_instance, verda_instance_info

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "clouds"))

from verda_double import VerdaDouble  # noqa: E402  (needs the path above)

CLIENT_ID = "unit-test-client"
CLIENT_SECRET = "unit-test-secret-value"
TAGS = {"oss-mlops-managed": "true", "oss-mlops-allocation-key": "verda-v100-2"}
REQUEST = {"hostname": "mlops-verda-gpu-ab12c", "instance_type": "1V100.6V", "image": "ubuntu-24.04",
           "tags": TAGS, "startup_script": "#cloud-config\n{}\n", "api_retries": 2}


@pytest.fixture
def cloud(monkeypatch):
    with VerdaDouble(CLIENT_ID, CLIENT_SECRET) as double:
        monkeypatch.setenv("VERDA_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("VERDA_CLIENT_SECRET", CLIENT_SECRET)
        monkeypatch.setenv("VERDA_BASE_URL", double.base_url + "/v1")
        yield double


@pytest.fixture
def run(capsys, monkeypatch):
    """Return run(module, args, check_mode=False) -> parsed result."""
    monkeypatch.setattr(_internal, "is_controller", False)

    def run_module(module, args, check_mode=False):
        module_args = dict(args)
        if check_mode:
            module_args["_ansible_check_mode"] = True
        with patch_module_args(module_args), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return run_module


def nothing_billed(cloud):
    return cloud.billed_resources() == {"instances": [], "volumes": [], "trash": []}


def test_present_deploys_once(cloud, run):
    first = run(verda_instance, REQUEST)
    second = run(verda_instance, REQUEST)

    assert first["changed"] is True
    assert first["instance"]["status"] == "running"
    assert first["instance"]["tags"] == TAGS
    assert first["location"] == "FIN-01"
    assert second["changed"] is False
    assert second["instance"]["id"] == first["instance"]["id"]
    assert cloud.billed_resources()["instances"] == [REQUEST["hostname"]]
    assert [script["name"] for script in cloud.scripts.values()] == [REQUEST["hostname"]]


def test_absent_deletes_volumes_permanently(cloud, run):
    run(verda_instance, REQUEST)
    deleted = run(verda_instance, {**REQUEST, "state": "absent"})
    again = run(verda_instance, {**REQUEST, "state": "absent"})

    assert deleted["changed"] is True
    assert len(deleted["deleted_volumes"]) == 1
    assert again["changed"] is False
    assert nothing_billed(cloud)
    assert cloud.scripts == {}


def test_check_mode_changes_nothing(cloud, run):
    planned = run(verda_instance, REQUEST, check_mode=True)
    assert planned["changed"] is True
    assert planned["location"] == "FIN-01"
    assert nothing_billed(cloud)

    run(verda_instance, REQUEST)
    planned_delete = run(verda_instance, {**REQUEST, "state": "absent"}, check_mode=True)
    assert planned_delete["changed"] is True
    assert cloud.billed_resources()["instances"] == [REQUEST["hostname"]]


def test_unknown_type_lists_valid_ones(cloud, run):
    result = run(verda_instance, {**REQUEST, "instance_type": "9Z999"})
    assert result["failed"] is True
    assert "1V100.6V" in result["msg"]
    assert nothing_billed(cloud)


def test_no_stock_fails_before_deploying(cloud, run):
    cloud.faults.add("no_stock")
    cloud.out_of_stock.add("1V100.6V")
    result = run(verda_instance, REQUEST)
    assert result["failed"] is True
    assert "No stock" in result["msg"]
    assert nothing_billed(cloud)


def test_quota_exceeded_leaves_nothing(cloud, run):
    cloud.faults.add("quota_exceeded")
    result = run(verda_instance, REQUEST)
    assert result["failed"] is True
    assert "quota exceeded" in result["msg"].lower()
    assert cloud.billed_resources()["instances"] == []


def test_error_status_deletes_instance(cloud, run):
    cloud.faults.add("error_after_create")
    result = run(verda_instance, REQUEST)
    assert result["failed"] is True
    assert "entered status error" in result["msg"]
    assert "was deleted with its volumes" in result["msg"]
    assert nothing_billed(cloud)


def test_wait_timeout_deletes_instance(cloud, run):
    cloud.faults.add("stuck_ordered")
    result = run(verda_instance, {**REQUEST, "wait_timeout": 2})
    assert result["failed"] is True
    assert "wait_timeout" in result["msg"]
    assert nothing_billed(cloud)


def test_lost_create_response_is_not_resent(cloud, run):
    cloud.faults.add("create_response_timeout")
    cloud.create_response_delay = 3
    result = run(verda_instance, {**REQUEST, "api_timeout": 1})
    assert result["changed"] is True
    assert result["instance"]["status"] == "running"
    assert cloud.billed_resources()["instances"] == [REQUEST["hostname"]]


def test_transient_server_error_is_retried(cloud, run):
    cloud.faults.add("server_error_once")
    result = run(verda_instance, REQUEST)
    assert result["changed"] is True
    assert ("GET", f"/v1/instances/{result['instance']['id']}", 500) in cloud.requests


def test_instance_gone_counts_as_deleted(cloud, run):
    run(verda_instance, REQUEST)
    cloud.delete_out_of_band(REQUEST["hostname"])
    assert cloud.billed_resources()["instances"] == []
    assert cloud.billed_resources()["volumes"] == [REQUEST["hostname"] + "-os"]

    result = run(verda_instance, {**REQUEST, "state": "absent"})
    assert result["changed"] is True
    assert nothing_billed(cloud)


def test_missing_credentials_named(cloud, run, monkeypatch):
    monkeypatch.delenv("VERDA_CLIENT_SECRET")
    result = run(verda_instance, REQUEST)
    assert result["failed"] is True
    assert "client_secret" in result["msg"]


def test_wrong_credentials_fail_clearly(cloud, run, monkeypatch):
    monkeypatch.setenv("VERDA_CLIENT_SECRET", "not-the-secret")
    result = run(verda_instance, REQUEST)
    assert result["failed"] is True
    assert "unauthorized_request" in result["msg"]
    assert "not-the-secret" not in json.dumps(result)


def test_info_filters_by_tags(cloud, run):
    run(verda_instance, REQUEST)
    run(verda_instance, {**REQUEST, "hostname": "other-host", "tags": {"team": "x"}, "startup_script": None})
    ours = run(verda_instance_info, {"tags": {"oss-mlops-managed": "true"}})
    everything = run(verda_instance_info, {})

    assert [item["hostname"] for item in ours["instances"]] == [REQUEST["hostname"]]
    assert ours["instances"][0]["tags"]["oss-mlops-allocation-key"] == "verda-v100-2"
    assert len(everything["instances"]) == 2
    assert ours["changed"] is False
