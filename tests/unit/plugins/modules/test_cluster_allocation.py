# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""cluster_allocation and cluster_allocation_info through main(), with the SQLite backend in a temporary dir."""

import json
import os

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oss_mlops.multicloud.plugins.modules import cluster_allocation, cluster_allocation_info


@pytest.fixture
def run(capsys, monkeypatch, tmp_path):
    """Return run(module, args, check_mode=False, diff=False) -> parsed result, on a database in tmp_path."""
    # Module warnings go to the result only when the module believes it runs on a managed host.
    monkeypatch.setattr(_internal, "is_controller", False)
    monkeypatch.delenv("OSS_MLOPS_ALLOCATION_DATABASE", raising=False)
    database = str(tmp_path / "allocations.sqlite3")

    def run_module(module, args, check_mode=False, diff=False):
        module_args = {"database": database, **args}
        if check_mode:
            module_args["_ansible_check_mode"] = True
        if diff:
            module_args["_ansible_diff"] = True
        with patch_module_args(module_args), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    run_module.database = database
    return run_module


def test_present_allocates_once(run):
    first = run(cluster_allocation, {"key": "verda-v100-2", "cloud": "verda", "flavor_class": "gpu",
                                     "requester": "awx-job-17"})
    second = run(cluster_allocation, {"key": "verda-v100-2"})

    assert first["changed"] is True
    assert first["pod_cidr"] == "10.112.0.0/20"
    assert first["service_cidr"] == "10.48.0.0/22"
    assert first["cluster_id"] == first["name"]
    assert first["allocation"]["allocated_by"] == "awx-job-17"
    assert first["allocation"]["tenant_namespace"] == "liqo-tenant-" + first["name"]
    assert second["changed"] is False
    assert second["allocation"] == first["allocation"]


def test_check_mode_predicts_and_writes_nothing(run):
    predicted = run(cluster_allocation, {"key": "verda-v100-2"}, check_mode=True)

    assert predicted["changed"] is True
    assert predicted["pod_cidr"] == "10.112.0.0/20"
    assert not os.path.exists(run.database)


def test_check_mode_release_writes_nothing(run):
    run(cluster_allocation, {"key": "verda-v100-2"})

    predicted = run(cluster_allocation, {"key": "verda-v100-2", "state": "absent"}, check_mode=True)
    listed = run(cluster_allocation_info, {})

    assert predicted["changed"] is True
    assert predicted["allocation"]["state"] == "quarantined"
    assert listed["allocations"][0]["state"] == "allocated"


def test_diff_shows_release(run):
    run(cluster_allocation, {"key": "verda-v100-2"})

    result = run(cluster_allocation, {"key": "verda-v100-2", "state": "absent", "quarantine": "30m"}, diff=True)

    assert result["diff"]["before"]["state"] == "allocated"
    assert result["diff"]["after"]["state"] == "quarantined"
    assert result["diff"]["after"]["quarantine_until"]


def test_diff_of_new_allocation_starts_empty(run):
    result = run(cluster_allocation, {"key": "verda-v100-2"}, diff=True)

    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["key"] == "verda-v100-2"


def test_absent_for_unknown_key_is_unchanged(run):
    result = run(cluster_allocation, {"key": "never-allocated", "state": "absent"})

    assert result["changed"] is False
    assert result["allocation"] is None
    assert "name" not in result


def test_invalid_pool_fails_before_opening_database(run):
    result = run(cluster_allocation, {"key": "verda-v100-2",
                                      "pod_pools": [{"cidr": "10.112.0.0/16", "block_prefix": 8}]})

    assert result["failed"] is True
    assert "a /8 block is larger than the pool 10.112.0.0/16" in result["msg"]
    assert not os.path.exists(run.database)


def test_consumer_network_from_liqo_info(run):
    network = {"pod_cidr": "10.112.0.0/16", "service_cidr": "10.48.0.0/16", "external_cidr": "10.70.0.0/16",
               "internal_cidr": "10.80.0.0/16"}

    result = run(cluster_allocation, {"key": "verda-v100-2", "consumer_cidrs": network})

    assert result["pod_cidr"] == "10.113.0.0/20"
    assert result["service_cidr"] == "10.49.0.0/22"


def test_pinned_overlap_rejected(run):
    result = run(cluster_allocation, {"key": "verda-v100-1", "pod_cidr": "10.244.0.0/16"})

    assert result["failed"] is True
    assert "pod_cidr 10.244.0.0/16 overlaps" in result["msg"]
    assert result["backend"] == "sqlite"


def test_cloud_change_warns(run):
    run(cluster_allocation, {"key": "verda-v100-2", "cloud": "verda"})

    result = run(cluster_allocation, {"key": "verda-v100-2", "cloud": "cpouta"})

    # ansible-core 2.19 returns each warning as a summary dict with the text in event.msg.
    warnings = [item["event"]["msg"] if isinstance(item, dict) else item for item in result["warnings"]]
    assert result["changed"] is False
    assert "release it first" in warnings[0]


def test_timeout_must_be_positive(run):
    result = run(cluster_allocation, {"key": "verda-v100-2", "timeout": 0})

    assert result["failed"] is True
    assert "timeout: 0 is not a positive number" in result["msg"]


def test_kubernetes_backend_with_missing_kubeconfig(run, tmp_path):
    missing = str(tmp_path / "absent.kubeconfig")

    result = run(cluster_allocation, {"key": "verda-v100-2", "backend": "kubernetes", "kubeconfig": missing})

    assert result["failed"] is True
    assert f"kubeconfig {missing} does not exist" in result["msg"]


def test_kubernetes_backend_with_several_kubeconfigs(run, tmp_path):
    kubeconfigs = f"{tmp_path / 'a.kubeconfig'}:{tmp_path / 'b.kubeconfig'}"

    result = run(cluster_allocation_info, {"backend": "kubernetes", "kubeconfig": kubeconfigs})

    assert result["failed"] is True
    assert "lists several files" in result["msg"]


def test_info_lists_and_filters(run):
    for key in ("a", "b", "c"):
        run(cluster_allocation, {"key": key})
    run(cluster_allocation, {"key": "b", "state": "absent"})

    everything = run(cluster_allocation_info, {})
    quarantined = run(cluster_allocation_info, {"state": ["quarantined"]})
    by_key = run(cluster_allocation_info, {"key": ["a", "zzz"]})

    assert everything["changed"] is False
    assert [item["key"] for item in everything["allocations"]] == ["a", "b", "c"]
    assert [item["key"] for item in quarantined["allocations"]] == ["b"]
    assert [item["key"] for item in by_key["allocations"]] == ["a"]
    assert "reconcile" not in everything


def test_info_on_missing_database_is_empty(run):
    result = run(cluster_allocation_info, {"observed_providers": ["verda-v100-1"]})

    assert result["allocations"] == []
    assert result["reconcile"]["providers_without_allocation"] == [{"name": "verda-v100-1", "sources": []}]
    assert not os.path.exists(run.database)


def test_info_reconciles_with_virtual_nodes(run):
    held = run(cluster_allocation, {"key": "verda-v100-2"})
    orphan = run(cluster_allocation, {"key": "verda-v100-3"})
    virtual_nodes = [{"name": held["name"], "cluster_id": held["name"], "ready": True, "source": "liqo"},
                     {"name": "verda-v100-1", "cluster_id": "verda-v100-1", "ready": True}]

    result = run(cluster_allocation_info, {"observed_providers": virtual_nodes, "orphan_grace": 0})

    report = result["reconcile"]
    assert [item["name"] for item in report["matched"]] == [held["name"]]
    assert [item["name"] for item in report["allocations_without_provider"]] == [orphan["name"]]
    assert report["providers_without_allocation"] == [{"name": "verda-v100-1", "sources": []}]


def test_info_rejects_invalid_grace(run):
    result = run(cluster_allocation_info, {"observed_providers": [], "orphan_grace": "soon"})

    assert result["failed"] is True
    assert "orphan_grace" in result["msg"]
