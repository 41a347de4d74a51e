# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Object shapes of the Kubernetes backend. Its transactions run against a real API server in
tests/integration/test_allocation_playbooks.py."""

import json
from pathlib import Path

import pytest
import yaml
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import allocation_kube
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation import QUARANTINED, Allocation
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_kube import (
    CRD_NAME,
    INDEX_NAME,
    SPEC_FIELDS,
    KubeStore,
    crd_established,
    crd_manifest,
    index_pending,
    operation_entry,
    record_from_object,
    record_to_object,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_sqlite import StoreError
from kubernetes.client.exceptions import ApiException

RECORD = Allocation(name="mlops-verda-gpu-k3x9q", key="verda-v100-2", pod_cidr="10.112.0.0/20",
                    service_cidr="10.48.0.0/22", cloud="verda", flavor_class="gpu", pinned=True,
                    allocated_at="2026-12-04T12:00:00Z", allocated_by="awx@controller-1")


def test_record_round_trips_through_object():
    item = record_to_object(RECORD, "oss-mlops-allocations")
    item["metadata"]["resourceVersion"] = "42"

    record = record_from_object(item)

    assert record.revision == "42"
    record.revision = ""
    assert record == RECORD


def test_object_shape():
    item = record_to_object(RECORD, "oss-mlops-allocations")

    assert item["apiVersion"] == "multicloud.oss-mlops.io/v1alpha1"
    assert item["kind"] == "ClusterAllocation"
    assert item["metadata"]["name"] == "mlops-verda-gpu-k3x9q"
    assert item["metadata"]["namespace"] == "oss-mlops-allocations"
    assert "resourceVersion" not in item["metadata"]
    assert item["spec"]["podCIDR"] == "10.112.0.0/20"
    assert item["spec"]["pinned"] is True


def test_crd_schema_lists_every_spec_field():
    manifest = crd_manifest()
    version = manifest["spec"]["versions"][0]
    properties = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]

    assert manifest["metadata"]["name"] == CRD_NAME
    assert sorted(properties) == sorted(SPEC_FIELDS.values())
    assert properties["state"]["enum"] == ["allocated", "quarantined"]


def test_operations_by_record_version():
    new = operation_entry("put", RECORD, "ns")
    stored = Allocation(**{**RECORD.__dict__, "revision": "7", "state": QUARANTINED})
    changed = operation_entry("put", stored, "ns")
    removed = operation_entry("delete", stored, "ns")

    assert new["action"] == "create"
    assert changed["action"] == "replace"
    assert changed["object"]["metadata"]["resourceVersion"] == "7"
    assert removed == {"action": "delete", "name": RECORD.name, "resourceVersion": "7"}


def test_index_pending_parsing():
    pending = {"transaction": "t-1", "operations": []}

    assert index_pending(None) is None
    assert index_pending({"data": {"pending": ""}}) is None
    assert index_pending({"data": {"pending": json.dumps(pending)}}) == pending


def test_index_pending_unreadable():
    with pytest.raises(StoreError) as raised:
        index_pending({"data": {"pending": "{not json"}})

    assert INDEX_NAME in str(raised.value)


def test_crd_in_docs_matches_code():
    docs = (Path(__file__).resolve().parents[4] / "docs" / "allocation.md").read_text()
    blocks = [yaml.safe_load(block.split("```", 1)[0]) for block in docs.split("```yaml\n")[1:]]

    documented = [block for block in blocks
                  if isinstance(block, dict) and block.get("kind") == "CustomResourceDefinition"]

    assert documented == [crd_manifest()]


class FakeCluster:
    api_client = None

    def where(self):
        return "the Kubernetes API at https://127.0.0.1:6443"


def bare_store():
    """A store without API clients, for the parts that only route calls and interpret answers."""
    store = KubeStore.__new__(KubeStore)
    store.cluster = FakeCluster()
    store.namespace = "oss-mlops-allocations"
    store.crd_seen = False
    return store


def api_error(status, body):
    error = ApiException(status=status, reason="Not Found")
    error.body = body
    return error


def answers(*results):
    """A fake API method that raises or returns results in order, and records how often it was called."""
    queue = list(results)

    def method(*args, **kwargs):
        method.calls += 1
        result = queue.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    method.calls = 0
    return method


STATUS_404 = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})


def test_unserved_resource_is_retried_until_served(monkeypatch):
    monkeypatch.setattr(allocation_kube.time, "sleep", lambda seconds: None)
    method = answers(api_error(404, "404 page not found\n"), api_error(404, "404 page not found\n"), {"items": []})

    assert bare_store().call(method) == {"items": []}
    assert method.calls == 3


def test_missing_object_is_not_retried():
    method = answers(api_error(404, STATUS_404))

    assert bare_store().call(method, missing_ok=True) is None
    assert method.calls == 1


def test_resource_never_served_fails_with_the_answer(monkeypatch):
    clock = iter(range(0, 1000, 5))
    monkeypatch.setattr(allocation_kube.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(allocation_kube.time, "sleep", lambda seconds: None)
    method = answers(*[api_error(404, "404 page not found\n")] * 10)

    with pytest.raises(StoreError) as raised:
        bare_store().call(method)

    assert "HTTP 404" in str(raised.value)
    assert "page not found" in str(raised.value)


def test_crd_created_by_another_run_is_waited_for(monkeypatch):
    monkeypatch.setattr(allocation_kube.time, "sleep", lambda seconds: None)
    pending = {"metadata": {"name": CRD_NAME}, "status": {"conditions": [{"type": "NamesAccepted", "status": "True"}]}}
    ready = {"metadata": {"name": CRD_NAME}, "status": {"conditions": [{"type": "Established", "status": "True"}]}}
    store = bare_store()
    reads = iter([pending, pending, ready])
    store.get_crd = lambda: next(reads)

    assert store.crd_exists() is True
    assert next(reads, None) is None


def test_crd_established_condition():
    assert crd_established({"status": {"conditions": [{"type": "Established", "status": "True"}]}})
    assert not crd_established({"status": {"conditions": [{"type": "Established", "status": "False"}]}})
    assert not crd_established({"metadata": {}})
    assert not crd_established(None)
