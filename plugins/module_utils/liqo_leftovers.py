# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the removal of Liqo v1.0.x state that one cluster still keeps about a remote cluster ID.

Plain Python over API JSON dicts, so every rule is unit-tested without a cluster. The module
liqo_leftovers reads the objects, calls plan_removals() and carries the plan out.

Two scopes:

- "stale": only what blocks or breaks a new peering with the same cluster ID while no peering is
  working: objects stuck Terminating on finalizers whose controller is gone, everything inside a
  terminating tenant namespace, nonce Secrets and ResourceSlices left after the authentication was
  removed, NamespaceMaps and Nodes without their VirtualNode, and a ForeignCluster with nothing left
  behind it. A healthy peering gives an empty plan.
- "all": every object tied to the remote cluster ID, for a remote cluster that is gone for good
  (liqoctl 1.0.x has no forced unpeer): pods on its virtual nodes, its virtual nodes, every Liqo
  object labelled with its ID or in its tenant namespace, the tenant namespace and the ForeignCluster.
"""

from __future__ import annotations

import datetime

# datetime.UTC needs Python 3.11, and modules may run on an older Python on the managed host.
UTC = datetime.timezone.utc  # noqa: UP017

REMOTE_CLUSTER_ID_LABEL = "liqo.io/remote-cluster-id"
TENANT_NAMESPACE_LABEL = "liqo.io/tenant-namespace"
VIRTUAL_NODE_LABEL = "liqo.io/type"
# Replication labels of ResourceSlices and NamespaceMaps: the local copy names the destination with remoteID,
# the copy the crd-replicator wrote from the peer names the origin with originID.
REPLICATION_DESTINATION_LABEL = "liqo.io/remoteID"
REPLICATION_ORIGIN_LABEL = "liqo.io/originID"
REPLICATED_LABEL = "liqo.io/replicated"
SIGNED_NONCE_LABEL = "liqo.io/signed-nonce"
NONCE_LABEL = "liqo.io/nonce"
SIGNED_NONCE_SECRET = "liqo-signed-nonce"
NONCE_SECRET = "liqo-nonce"
FINISHED_POD_PHASES = ("Succeeded", "Failed")
# Kinds whose objects are the peering itself; while one exists, the ForeignCluster is still in use.
PEERING_KINDS = (
    "Identity", "Tenant", "ResourceSlice", "VirtualNode", "Configuration", "GatewayServer", "GatewayClient",
    "Connection",
)
# Order of removal in scope "all": pods, virtual nodes and replicated objects first, the ForeignCluster last.
REMOVAL_ORDER = ("Pod", "VirtualNode", "Node", "NamespaceMap", "ResourceSlice")


def tenant_namespace_name(cluster_id):
    return f"liqo-tenant-{cluster_id}"


def parse_time(value):
    """Return an aware datetime for a Kubernetes RFC 3339 timestamp, or None."""
    if not value:
        return None
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def metadata(obj):
    return obj.get("metadata") or {}


def labels(obj):
    return metadata(obj).get("labels") or {}


def reference(obj):
    """Return kind, apiVersion, namespace and name of an object, the keys every plan entry starts with."""
    meta = metadata(obj)
    return {
        "kind": obj.get("kind"),
        "api_version": obj.get("apiVersion"),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
    }


def describe(entry):
    where = f"{entry['namespace']}/" if entry.get("namespace") else ""
    return f"{entry['kind']} {where}{entry['name']}"


def terminating_since(obj):
    return parse_time(metadata(obj).get("deletionTimestamp"))


def is_stuck(obj, now, stuck_after):
    """Return whether obj has been Terminating with finalizers for at least stuck_after seconds."""
    since = terminating_since(obj)
    if since is None or not metadata(obj).get("finalizers"):
        return False
    return (now - since).total_seconds() >= stuck_after


def tied_to(obj, cluster_id):
    """Return whether a label of obj names cluster_id as the remote cluster, destination or origin."""
    values = labels(obj)
    return cluster_id in (
        values.get(REMOTE_CLUSTER_ID_LABEL),
        values.get(REPLICATION_DESTINATION_LABEL),
        values.get(REPLICATION_ORIGIN_LABEL),
    )


def is_signed_nonce(secret):
    return metadata(secret).get("name") == SIGNED_NONCE_SECRET or labels(secret).get(SIGNED_NONCE_LABEL) == "true"


def is_nonce(secret):
    return metadata(secret).get("name") == NONCE_SECRET or labels(secret).get(NONCE_LABEL) == "true"


def is_replicated(obj):
    """Return whether obj is the copy the peer's crd-replicator wrote here."""
    return labels(obj).get(REPLICATED_LABEL) == "true"


def is_control_plane_identity(obj):
    return obj.get("kind") == "Identity" and (obj.get("spec") or {}).get("type") == "ControlPlane"


def active_pods(pods):
    return [pod for pod in pods if (pod.get("status") or {}).get("phase") not in FINISHED_POD_PHASES]


class Snapshot:
    """The objects one cluster keeps about a remote cluster ID, read by the module.

    objects: Liqo custom resources tied to the ID by label or by living in one of its tenant namespaces,
    plus the Secrets of those namespaces. namespaces: the tenant namespaces. nodes: the virtual Nodes of
    the ID. pods: pods bound to those Nodes. foreign_cluster: the ForeignCluster named after the ID, or None.
    """

    def __init__(self, cluster_id, *, objects=(), namespaces=(), nodes=(), pods=(), foreign_cluster=None):
        self.cluster_id = cluster_id
        self.objects = list(objects)
        self.namespaces = list(namespaces)
        self.nodes = list(nodes)
        self.pods = list(pods)
        self.foreign_cluster = foreign_cluster

    def of_kind(self, kind):
        return [obj for obj in self.objects if obj.get("kind") == kind]

    def authenticated(self):
        """Return whether this side holds its half of the authentication: a Tenant or a control-plane Identity."""
        return bool(self.of_kind("Tenant")) or any(is_control_plane_identity(obj) for obj in self.objects)

    def terminating_namespaces(self):
        return {metadata(namespace).get("name") for namespace in self.namespaces if terminating_since(namespace)}


def entry(obj, reason, delete=True, strip=True):
    return {**reference(obj), "reason": reason, "delete": delete, "strip_finalizers": strip,
            "finalizers": list(metadata(obj).get("finalizers") or [])}


def now_utc():
    return datetime.datetime.now(UTC)


def plan_removals(snapshot, scope, now, stuck_after, remote_authenticated=None):
    """Return (plan, blocked): the objects to remove with the reason for each, and what stops the removal.

    remote_authenticated is whether the other cluster of the pair still holds its half of the
    authentication (None when unknown). False makes this side's half stale.
    """
    if scope == "all":
        return plan_all(snapshot), []
    return plan_stale(snapshot, now, stuck_after, remote_authenticated)


def plan_all(snapshot):
    plan = [entry(pod, "runs on a virtual node of the removed cluster; force-deleted, its remote pod is gone")
            for pod in snapshot.pods]
    tenant_namespaces = {metadata(namespace).get("name") for namespace in snapshot.namespaces}
    for obj in sorted(snapshot.objects, key=removal_rank):
        # Secrets of a tenant namespace go with the namespace; labelled ones elsewhere need their own deletion.
        if obj.get("kind") == "Secret" and metadata(obj).get("namespace") in tenant_namespaces:
            continue
        plan.append(entry(obj, f"tied to removed cluster {snapshot.cluster_id}"))
    plan += [entry(node, "virtual node of the removed cluster") for node in snapshot.nodes]
    plan += [entry(namespace, "tenant namespace of the removed cluster") for namespace in snapshot.namespaces]
    if snapshot.foreign_cluster:
        plan.append(entry(snapshot.foreign_cluster, "ForeignCluster of the removed cluster"))
    return plan


def removal_rank(obj):
    kind = obj.get("kind")
    return REMOVAL_ORDER.index(kind) if kind in REMOVAL_ORDER else len(REMOVAL_ORDER)


def plan_stale(snapshot, now, stuck_after, remote_authenticated):
    plan, blocked = [], []
    planned = set()

    def add(obj, reason, delete=True):
        key = (obj.get("kind"), metadata(obj).get("namespace"), metadata(obj).get("name"))
        if key not in planned:
            planned.add(key)
            plan.append(entry(obj, reason, delete=delete))

    terminating_namespaces = snapshot.terminating_namespaces()
    for namespace in snapshot.namespaces:
        if is_stuck_namespace(namespace, now, stuck_after):
            add(namespace, "tenant namespace stuck Terminating", delete=False)
    for obj in snapshot.objects:
        in_terminating = metadata(obj).get("namespace") in terminating_namespaces
        if in_terminating and metadata(obj).get("finalizers"):
            add(obj, "holds finalizers in a terminating tenant namespace", delete=False)
        elif is_stuck(obj, now, stuck_after):
            add(obj, f"stuck Terminating on finalizers {metadata(obj).get('finalizers')}", delete=False)

    authenticated = snapshot.authenticated()
    for reason, obj in stale_authentication(snapshot, authenticated, remote_authenticated):
        add(obj, reason)
    if not authenticated or remote_authenticated is False:
        for obj in snapshot.of_kind("ResourceSlice"):
            add(obj, "ResourceSlice without the authentication it needs; unauthenticate would refuse to run")

    virtual_node_names = {metadata(obj).get("name") for obj in snapshot.of_kind("VirtualNode")}
    for obj in snapshot.of_kind("NamespaceMap"):
        # The provider's copy, written by the consumer's crd-replicator, has no VirtualNode beside it; it is stale
        # only when the provider no longer holds the consumer's Tenant.
        if is_replicated(obj):
            if not authenticated or remote_authenticated is False:
                add(obj, "replicated NamespaceMap of a consumer that is no longer authenticated")
        elif not virtual_node_names:
            add(obj, "NamespaceMap without a VirtualNode; its remote namespaces are no longer managed")
    for node in snapshot.nodes:
        if metadata(node).get("name") in virtual_node_names:
            continue
        pods = active_pods([pod for pod in snapshot.pods
                            if (pod.get("spec") or {}).get("nodeName") == metadata(node).get("name")])
        if pods:
            blocked += [f"{describe(entry(pod, ''))} still runs on virtual node {metadata(node).get('name')}, "
                        "which has no VirtualNode any more" for pod in pods]
        else:
            add(node, "virtual Node without its VirtualNode")

    if snapshot.foreign_cluster and foreign_cluster_unused(snapshot, planned):
        add(snapshot.foreign_cluster, "ForeignCluster with no peering left behind it")
    return plan, blocked


def is_stuck_namespace(namespace, now, stuck_after):
    since = terminating_since(namespace)
    return since is not None and (now - since).total_seconds() >= stuck_after


def stale_authentication(snapshot, authenticated, remote_authenticated):
    """Yield (reason, object) for nonce Secrets, Tenants and Identities the pair no longer uses."""
    if remote_authenticated is False:
        for obj in snapshot.of_kind("Tenant"):
            yield "Tenant whose consumer no longer holds its Identity; a new peering must start fresh", obj
        for obj in snapshot.objects:
            if is_control_plane_identity(obj):
                yield "Identity whose provider no longer holds its Tenant; a new peering must start fresh", obj
        authenticated = False
    if authenticated:
        return
    for obj in snapshot.of_kind("Secret"):
        if is_signed_nonce(obj):
            yield ("signed nonce left from an earlier authentication; liqoctl rejects a new nonce while it "
                   "exists"), obj
        elif is_nonce(obj):
            yield "nonce left from an earlier authentication", obj


def foreign_cluster_unused(snapshot, planned):
    """Return whether the ForeignCluster is disabled and every peering object is gone or planned for removal."""
    status = snapshot.foreign_cluster.get("status") or {}
    if status.get("role") not in (None, "", "Unknown"):
        return False
    remaining = [obj for obj in snapshot.objects if obj.get("kind") in PEERING_KINDS
                 and (obj.get("kind"), metadata(obj).get("namespace"), metadata(obj).get("name")) not in planned]
    return not remaining and not snapshot.nodes


def summarize(plan):
    """Return one readable line per planned removal, for messages and logs."""
    lines = []
    for item in plan:
        action = "delete" if item["delete"] else "remove finalizers"
        if item["delete"] and item["finalizers"]:
            action += f" (and finalizers {item['finalizers']})"
        elif not item["delete"]:
            action += f" {item['finalizers']}"
        lines.append(f"{describe(item)}: {action}: {item['reason']}")
    return lines
