# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Keep the allocation table in a Kubernetes cluster, safe for several controllers and AWX jobs at once.

Layout, in one namespace of the consumer cluster:
  ClusterAllocation objects   one per allocation record, named after the allocation's name (a custom resource
                              of this collection; the module applies its CRD server-side when it is missing);
  ConfigMap cluster-allocation-index
                              a small object that every write changes, holding a generation counter and the
                              operations of the write in progress.

A write is optimistic: read the index, list the records, decide, then replace the index with the decided
operations as "pending", conditional on the index's resourceVersion. Only one writer can win that replace for
a given index version, and a loser (HTTP 409 Conflict) starts over with fresh data. The winner then creates,
replaces or deletes the records and clears "pending". Another writer that finds operations pending waits for
them to clear and, if their writer seems to have died, applies them itself (every operation can be applied
twice) before it decides anything. So every decision sees all earlier decisions, and no two writers hand out
the same block or name, however many controllers run.

Each record is its own object, so the table has no size limit of its own; the index stays a few kilobytes.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
import uuid

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation import Allocation
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_sqlite import StoreError

try:
    from kubernetes.client import (
        ApiextensionsV1Api,
        CoreV1Api,
        CustomObjectsApi,
        V1DeleteOptions,
        V1Preconditions,
    )
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError
except ImportError:  # reported by the module through liqo_kube.HAS_KUBERNETES
    ApiException = HTTPError = None

GROUP = "multicloud.oss-mlops.io"
VERSION = "v1alpha1"
KIND = "ClusterAllocation"
PLURAL = "clusterallocations"
CRD_NAME = f"{PLURAL}.{GROUP}"
DEFAULT_NAMESPACE = "oss-mlops-allocations"
INDEX_NAME = "cluster-allocation-index"
FIELD_MANAGER = "oss-mlops-multicloud"
MANAGED_BY = {"app.kubernetes.io/managed-by": "oss_mlops.multicloud"}
# Bumped whenever crd_manifest() changes, so the module re-applies an older CRD.
CRD_REVISION = "1"
CRD_REVISION_ANNOTATION = f"{GROUP}/crd-revision"

# Seconds a write in progress may stay pending before another writer applies it in its place. The writer that
# made it stops starting new requests after half this time, so a takeover normally begins after it stopped.
# Both applying the same operation does no harm either way.
TAKEOVER_SECONDS = 30.0
LIST_PAGE_SIZE = 500
REQUEST_TIMEOUT = (10, 60)
FIRST_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 1.0
CRD_ESTABLISHED_SECONDS = 30.0
# How long a 404 that is not a Status object (the resource is not served yet) is retried.
UNSERVED_RETRY_SECONDS = 10.0

# Record fields and the camelCase spec keys they are stored under.
SPEC_FIELDS = {
    "key": "key",
    "pod_cidr": "podCIDR",
    "service_cidr": "serviceCIDR",
    "state": "state",
    "cloud": "cloud",
    "flavor_class": "flavorClass",
    "pinned": "pinned",
    "allocated_at": "allocatedAt",
    "allocated_by": "allocatedBy",
    "released_at": "releasedAt",
    "released_by": "releasedBy",
    "quarantine_until": "quarantineUntil",
}


def crd_manifest():
    """Return the CustomResourceDefinition of ClusterAllocation."""
    string_fields = {key: {"type": "string"} for key in SPEC_FIELDS.values() if key not in ("pinned", "state")}
    spec_schema = {
        "type": "object",
        "required": ["key", "podCIDR", "serviceCIDR", "state"],
        "properties": {
            **string_fields,
            "state": {"type": "string", "enum": ["allocated", "quarantined"]},
            "pinned": {"type": "boolean"},
        },
    }
    columns = [
        ("Key", ".spec.key"), ("State", ".spec.state"), ("Pod CIDR", ".spec.podCIDR"),
        ("Service CIDR", ".spec.serviceCIDR"), ("Quarantine Until", ".spec.quarantineUntil"),
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME, "labels": dict(MANAGED_BY),
                     "annotations": {CRD_REVISION_ANNOTATION: CRD_REVISION}},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": KIND, "plural": PLURAL, "singular": "clusterallocation", "listKind": KIND + "List",
                      "shortNames": ["calloc"]},
            "versions": [{
                "name": VERSION,
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "required": ["spec"],
                                               "properties": {"spec": spec_schema}}},
                "additionalPrinterColumns": [
                    {"name": name, "type": "string", "jsonPath": path} for name, path in columns
                ] + [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
            }],
        },
    }


def record_to_object(record, namespace):
    spec = {spec_key: getattr(record, field_name) for field_name, spec_key in SPEC_FIELDS.items()}
    metadata = {"name": record.name, "namespace": namespace, "labels": dict(MANAGED_BY)}
    if record.revision:
        metadata["resourceVersion"] = record.revision
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": metadata, "spec": spec}


def record_from_object(item):
    spec = item.get("spec") or {}
    values = {field_name: spec.get(spec_key, "") for field_name, spec_key in SPEC_FIELDS.items()}
    values["pinned"] = bool(spec.get("pinned"))
    metadata = item.get("metadata") or {}
    return Allocation(name=metadata["name"], revision=metadata.get("resourceVersion", ""), **values)


def operation_entry(action, record, namespace):
    """Return one pending operation as stored in the index: create, replace (at a version) or delete."""
    if action == "delete":
        return {"action": "delete", "name": record.name, "resourceVersion": record.revision}
    body = record_to_object(record, namespace)
    return {"action": "replace" if record.revision else "create", "name": record.name,
            "resourceVersion": record.revision, "object": body}


class KubeStore:
    """The allocation table in one namespace of the cluster that cluster, a liqo_kube.KubeCluster, connects to.

    timeout is the time in seconds one write may spend retrying after conflicts. With manage_crd false the
    module never applies the CRD and fails when it is missing.
    """

    backend = "kubernetes"

    def __init__(self, cluster, namespace=DEFAULT_NAMESPACE, timeout=60, manage_crd=True,
                 takeover_seconds=TAKEOVER_SECONDS):
        self.cluster = cluster
        self.namespace = namespace
        self.timeout = timeout
        self.manage_crd = manage_crd
        self.takeover_seconds = takeover_seconds
        self.core = CoreV1Api(cluster.api_client)
        self.custom = CustomObjectsApi(cluster.api_client)
        self.extensions = ApiextensionsV1Api(cluster.api_client)
        self.crd_seen = False
        self.conflicts = 0  # index replacements lost to other writers, for the benchmark and tests

    def describe(self):
        return f"the ClusterAllocation table in namespace {self.namespace} of {self.cluster.where()}"

    # Reading

    def read(self):
        """Return every record; a cluster without the CRD has an empty table."""
        if not self.crd_exists():
            return []
        return self.list_records()

    def list_records(self):
        records = []
        token = None
        while True:
            page = self.call(self.custom.list_namespaced_custom_object, GROUP, VERSION, self.namespace, PLURAL,
                             limit=LIST_PAGE_SIZE, _continue=token)
            records.extend(record_from_object(item) for item in page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return records

    def crd_exists(self):
        """Return whether the CRD exists; once seen, it is assumed to stay for the life of this store.

        A CRD that another run has just created is waited for until the API server serves it, because its
        resources return 404 until then.
        """
        if not self.crd_seen:
            current = self.get_crd()
            if current is not None and not crd_established(current):
                self.wait_for_crd()
            self.crd_seen = current is not None
        return self.crd_seen

    def get_crd(self):
        return self.call_or_none(self.extensions.read_custom_resource_definition, CRD_NAME)

    def read_index(self):
        return self.call_or_none(self.core.read_namespaced_config_map, INDEX_NAME, self.namespace)

    # Writing

    def transact(self, decide):
        """Run decide(records) and apply its Plan's operations as one optimistic transaction.

        decide may raise; then nothing is written. Raises StoreError when conflicts last longer than timeout.
        """
        deadline = time.monotonic() + self.timeout
        backoff = FIRST_BACKOFF_SECONDS
        waiting = None  # (resourceVersion, first seen) of another writer's pending operations
        while True:
            crd_ready = self.crd_exists()
            index = self.read_index() if crd_ready else None
            pending = index_pending(index)
            if pending:
                waiting = self.wait_or_take_over(index, pending, waiting)
            else:
                records = self.list_records() if crd_ready else []
                plan = decide(records)
                if not plan.operations:
                    return plan
                if index is None:
                    self.set_up()
                    continue
                committed = self.commit(index, plan.operations)
                if committed is not None:
                    self.finish(committed, started=time.monotonic())
                    return plan
                self.conflicts += 1
            if time.monotonic() > deadline:
                raise StoreError(f"Gave up after {self.timeout} s on {self.describe()}: other runs kept changing "
                                 "it, or a write of theirs stayed pending. Retry, or raise timeout.")
            time.sleep(random.uniform(0, backoff))
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def commit(self, index, operations):
        """Replace the index with the operations as pending; return the new index, or None on a conflict."""
        transaction = {"transaction": str(uuid.uuid4()),
                       "operations": [operation_entry(action, record, self.namespace)
                                      for action, record in operations]}
        data = dict(index.get("data") or {})
        data["generation"] = str(int(data.get("generation") or 0) + 1)
        data["pending"] = json.dumps(transaction, sort_keys=True)
        return self.replace_index(index, data)

    def finish(self, index, started):
        """Apply the pending operations of index and clear them, unless another writer took over."""
        pending = index_pending(index)
        # NOTE: a create that reaches the API server after a takeover, and after a later write deleted the same
        # record at the end of its quarantine, would bring the record back. That needs one request delayed by
        # more than the quarantine plus half of takeover_seconds.
        for operation in pending["operations"]:
            if time.monotonic() - started > self.takeover_seconds / 2:
                raise StoreError(f"Applying a write to {self.describe()} took more than {self.takeover_seconds / 2} "
                                 "s; the next run finishes it. Rerun to get the result.")
            self.apply_operation(operation)
        self.clear_pending(index, pending["transaction"])

    def wait_or_take_over(self, index, pending, waiting):
        """Return the updated wait state; apply another writer's operations once they are pending too long."""
        version = index["metadata"]["resourceVersion"]
        if waiting is None or waiting[0] != version:
            return (version, time.monotonic())
        if time.monotonic() - waiting[1] < self.takeover_seconds:
            return waiting
        for operation in pending["operations"]:
            self.apply_operation(operation)
        self.clear_pending(index, pending["transaction"])
        return None

    def clear_pending(self, index, transaction):
        """Remove the pending operations of transaction from the index; someone else may have done it."""
        while index is not None:
            current = index_pending(index)
            if not current or current["transaction"] != transaction:
                return
            data = dict(index.get("data") or {})
            data["pending"] = ""
            if self.replace_index(index, data) is not None:
                return
            index = self.read_index()

    def replace_index(self, index, data):
        body = {"apiVersion": "v1", "kind": "ConfigMap", "data": data,
                "metadata": {"name": INDEX_NAME, "namespace": self.namespace, "labels": dict(MANAGED_BY),
                             "resourceVersion": index["metadata"]["resourceVersion"]}}
        try:
            return self.cluster.api_client.sanitize_for_serialization(
                self.call(self.core.replace_namespaced_config_map, INDEX_NAME, self.namespace, body, conflict_ok=True))
        except ConflictError:
            return None

    def apply_operation(self, operation):
        """Apply one pending operation; applying it a second time, or after its writer did, changes nothing."""
        name = operation["name"]
        if operation["action"] == "delete":
            self.delete_record(name, operation["resourceVersion"])
            return
        body = operation["object"]
        try:
            if operation["action"] == "create":
                self.call(self.custom.create_namespaced_custom_object, GROUP, VERSION, self.namespace, PLURAL, body,
                          conflict_ok=True)
            else:
                self.call(self.custom.replace_namespaced_custom_object, GROUP, VERSION, self.namespace, PLURAL,
                          name, body, conflict_ok=True)
        except ConflictError:
            current = self.call_or_none(self.custom.get_namespaced_custom_object, GROUP, VERSION, self.namespace,
                                        PLURAL, name)
            if current is None or current.get("spec") != body["spec"]:
                raise StoreError(f"ClusterAllocation {name} in namespace {self.namespace} was changed outside this "
                                 "collection while a write was in progress. Check it with kubectl, fix or delete "
                                 f"it, then set data.pending of ConfigMap {INDEX_NAME} to an empty string.") from None

    def delete_record(self, name, resource_version):
        """Delete an expired record unless it changed since it was read; a later write retries."""
        options = V1DeleteOptions(preconditions=V1Preconditions(resource_version=resource_version or None))
        with contextlib.suppress(ConflictError):
            self.call(self.custom.delete_namespaced_custom_object, GROUP, VERSION, self.namespace, PLURAL, name,
                      body=options, conflict_ok=True, missing_ok=True)

    # Setup on first write

    def set_up(self):
        """Create the namespace, the CRD (server-side apply, if allowed) and the index when they are missing."""
        self.ensure_crd()
        if self.call_or_none(self.core.read_namespace, self.namespace) is None:
            body = {"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": self.namespace, "labels": dict(MANAGED_BY)}}
            self.create_if_missing(self.core.create_namespace, body)
        if self.read_index() is None:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"generation": "0", "pending": ""},
                    "metadata": {"name": INDEX_NAME, "namespace": self.namespace, "labels": dict(MANAGED_BY)}}
            self.create_if_missing(self.core.create_namespaced_config_map, self.namespace, body)

    def create_if_missing(self, method, *args):
        # A conflict means that another writer created the object first.
        with contextlib.suppress(ConflictError):
            self.call(method, *args, conflict_ok=True)

    def ensure_crd(self):
        current = self.get_crd()
        revision = ((current or {}).get("metadata") or {}).get("annotations", {}).get(CRD_REVISION_ANNOTATION)
        if current is not None and revision == CRD_REVISION:
            if not crd_established(current):
                self.wait_for_crd()
            return
        if not self.manage_crd:
            raise StoreError(f"The CustomResourceDefinition {CRD_NAME} is missing or outdated in "
                             f"{self.cluster.where()}, and manage_crd is false; apply it as docs/allocation.md "
                             "shows, or set manage_crd to true.")
        self.call(self.extensions.patch_custom_resource_definition, CRD_NAME, crd_manifest(),
                  field_manager=FIELD_MANAGER, force=True, _content_type="application/apply-patch+yaml")
        self.wait_for_crd()

    def wait_for_crd(self):
        deadline = time.monotonic() + CRD_ESTABLISHED_SECONDS
        while time.monotonic() < deadline:
            if crd_established(self.get_crd()):
                return
            time.sleep(0.2)
        raise StoreError(f"The CustomResourceDefinition {CRD_NAME} was applied but is not Established after "
                         f"{CRD_ESTABLISHED_SECONDS} s in {self.cluster.where()}; check the API server's log.")

    # API calls

    def call_or_none(self, method, *args, **kwargs):
        """Run one API call and return its result as a dict, or None when the object does not exist."""
        result = self.call(method, *args, missing_ok=True, **kwargs)
        return self.cluster.api_client.sanitize_for_serialization(result) if result is not None else None

    def call(self, method, *args, conflict_ok=False, missing_ok=False, **kwargs):
        """Run one API call; raise ConflictError on 409 if conflict_ok, return None on 404 if missing_ok.

        A 404 without a Status body means that the API server does not serve the resource yet: a CRD created
        moments ago by another run reaches its request handlers a little after it reads as Established. Such
        responses are retried for up to UNSERVED_RETRY_SECONDS.
        """
        deadline = time.monotonic() + UNSERVED_RETRY_SECONDS
        while True:
            try:
                return method(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
            except ApiException as error:
                if error.status == 404 and not is_status_body(error.body) and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                if error.status == 409 and conflict_ok:
                    raise ConflictError() from None
                if error.status == 404 and missing_ok:
                    return None
                raise StoreError(self.explain(error)) from error
            except (HTTPError, OSError) as error:
                raise StoreError(f"Cannot reach {self.cluster.where()}: {error}. Check that the cluster runs and "
                                 "that this host can reach the address in the kubeconfig.") from error

    def explain(self, error):
        if error.status in (401, 403):
            return (f"{self.cluster.where()} rejected a request on {self.describe()} (HTTP {error.status} "
                    f"{error.reason}). The kubeconfig's user needs to read and write clusterallocations and "
                    f"configmaps in namespace {self.namespace}, and to create the namespace and the CRD "
                    f"{CRD_NAME} on first use (or set manage_crd to false once an admin applied the CRD).")
        return f"A request on {self.describe()} failed (HTTP {error.status} {error.reason}): {error.body}"


class ConflictError(Exception):
    """The API returned 409: the object changed since it was read, or it already exists."""


def is_status_body(body):
    """Return whether an error body is a Kubernetes Status object, as the API server sends for a missing object."""
    try:
        return json.loads(body or "").get("kind") == "Status"
    except (ValueError, AttributeError):
        return False


def crd_established(crd):
    """Return whether a CRD read from the API (a dict, or None) has the condition Established=True."""
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(item.get("type") == "Established" and item.get("status") == "True" for item in conditions)


def index_pending(index):
    """Return the pending transaction of an index ConfigMap as a dict, or None."""
    if index is None:
        return None
    text = (index.get("data") or {}).get("pending") or ""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError as error:
        raise StoreError(f"ConfigMap {INDEX_NAME} contains an unreadable pending write ({error}); it was changed "
                         "outside this collection. Set its data.pending to an empty string.") from error
