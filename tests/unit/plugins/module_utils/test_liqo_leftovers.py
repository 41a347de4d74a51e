# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules of liqo_leftovers: what counts as a leftover of a Liqo 1.0.x peering, and what is never touched.

Fixtures are the objects Liqo v1.0.3 leaves, written as API JSON. Docstrings that name a Liqo
bug report (liqotech/liqo#N) reproduce the state that report describes.
"""

import datetime

from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_leftovers as rules

PROVIDER = "verda-v100-1"
CONSUMER = "mlops-consumer"
TENANT = "liqo-tenant-" + PROVIDER
NOW = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=rules.UTC)
LONG_AGO = "2026-12-04T11:50:00Z"
JUST_NOW = "2026-12-04T11:59:50Z"
REPLICATOR = "crdreplicator.liqo.io/resource"


def liqo_object(kind, name, *, namespace=TENANT, labels=None, finalizers=None, deleted=None, **fields):
    metadata = {"name": name, "labels": {"liqo.io/remote-cluster-id": PROVIDER, **(labels or {})}}
    if namespace:
        metadata["namespace"] = namespace
    if finalizers:
        metadata["finalizers"] = finalizers
    if deleted:
        metadata["deletionTimestamp"] = deleted
    return {"kind": kind, "apiVersion": "example.liqo.io/v1beta1", "metadata": metadata, **fields}


def tenant_namespace(deleted=None, finalizers=None):
    namespace = liqo_object("Namespace", TENANT, namespace=None, finalizers=finalizers, deleted=deleted,
                            labels={"liqo.io/tenant-namespace": "true"})
    namespace["apiVersion"] = "v1"
    return namespace


def foreign_cluster(role="Unknown"):
    return liqo_object("ForeignCluster", PROVIDER, namespace=None, status={"role": role},
                       finalizers=["api-server-checker.liqo.io/finalizer"])


def healthy_peering():
    return rules.Snapshot(
        PROVIDER,
        objects=[
            liqo_object("Identity", "controlplane-" + PROVIDER, spec={"type": "ControlPlane"}),
            liqo_object("ResourceSlice", PROVIDER, finalizers=[REPLICATOR]),
            liqo_object("VirtualNode", PROVIDER, finalizers=["virtualnode-controller.liqo.io/finalizer"]),
            liqo_object("NamespaceMap", PROVIDER, finalizers=[REPLICATOR]),
            liqo_object("Secret", "liqo-signed-nonce", labels={"liqo.io/signed-nonce": "true"}),
        ],
        namespaces=[tenant_namespace()],
        nodes=[liqo_object("Node", PROVIDER, namespace=None, labels={"liqo.io/type": "virtual-node"})],
        foreign_cluster=foreign_cluster(role="Provider"),
    )


def planned_names(plan):
    return [rules.describe(item) for item in plan]


def test_healthy_peering_untouched():
    plan, blocked = rules.plan_removals(healthy_peering(), "stale", NOW, 60)

    assert plan == []
    assert blocked == []


def test_healthy_peering_untouched_when_peer_state_unknown():
    plan, _blocked = rules.plan_removals(healthy_peering(), "stale", NOW, 60, remote_authenticated=None)

    assert plan == []


def test_after_unpeer_nonce_and_foreign_cluster_removed():
    snapshot = rules.Snapshot(
        PROVIDER,
        objects=[liqo_object("Secret", "liqo-signed-nonce", labels={"liqo.io/signed-nonce": "true"})],
        namespaces=[tenant_namespace()],
        foreign_cluster=foreign_cluster(),
    )

    plan, _blocked = rules.plan_removals(snapshot, "stale", NOW, 60)

    assert planned_names(plan) == ["Secret %s/liqo-signed-nonce" % TENANT, "ForeignCluster " + PROVIDER]
    assert all(item["delete"] for item in plan)


def test_tenant_namespace_kept_after_unpeer():
    snapshot = rules.Snapshot(PROVIDER, namespaces=[tenant_namespace()])

    plan, _blocked = rules.plan_removals(snapshot, "stale", NOW, 60)

    assert plan == []


def test_stuck_tenant_namespace_released():
    """The state of liqotech/liqo#1906: the tenant namespace stays Terminating on Liqo finalizers."""
    slice_left = liqo_object("ResourceSlice", PROVIDER, finalizers=[REPLICATOR], deleted=LONG_AGO)
    snapshot = rules.Snapshot(PROVIDER, objects=[slice_left], namespaces=[tenant_namespace(deleted=LONG_AGO)],
                              foreign_cluster=foreign_cluster())

    plan, _blocked = rules.plan_removals(snapshot, "stale", NOW, 60)

    by_name = {rules.describe(item): item for item in plan}
    assert by_name["Namespace " + TENANT]["delete"] is False
    assert by_name["ResourceSlice %s/%s" % (TENANT, PROVIDER)]["strip_finalizers"] is True
    assert by_name["ResourceSlice %s/%s" % (TENANT, PROVIDER)]["finalizers"] == [REPLICATOR]
    assert "ForeignCluster " + PROVIDER in by_name


def test_recent_deletion_left_to_its_controller():
    slice_going = liqo_object("ResourceSlice", PROVIDER, finalizers=[REPLICATOR], deleted=JUST_NOW)
    identity = liqo_object("Identity", "controlplane-" + PROVIDER, spec={"type": "ControlPlane"})
    snapshot = rules.Snapshot(PROVIDER, objects=[slice_going, identity], foreign_cluster=foreign_cluster("Provider"))

    plan, _blocked = rules.plan_removals(snapshot, "stale", NOW, 60)

    assert plan == []


def test_orphan_resource_slice_deleted_without_authentication():
    orphan = liqo_object("ResourceSlice", PROVIDER, finalizers=[REPLICATOR])
    snapshot = rules.Snapshot(PROVIDER, objects=[orphan])

    plan, _blocked = rules.plan_removals(snapshot, "stale", NOW, 60)

    assert planned_names(plan) == ["ResourceSlice %s/%s" % (TENANT, PROVIDER)]
    assert plan[0]["delete"] is True
    assert plan[0]["strip_finalizers"] is True


def test_stale_tenant_after_consumer_reinstall():
    """The state of liqotech/liqo#1598 in 1.0: the provider keeps a Tenant the consumer no longer matches."""
    tenant = liqo_object("Tenant", CONSUMER, namespace="liqo-tenant-" + CONSUMER, spec={"clusterID": CONSUMER})
    nonce = liqo_object("Secret", "liqo-nonce", namespace="liqo-tenant-" + CONSUMER, labels={"liqo.io/nonce": "true"})
    snapshot = rules.Snapshot(CONSUMER, objects=[tenant, nonce])

    kept, _blocked = rules.plan_removals(snapshot, "stale", NOW, 60)
    plan, _blocked = rules.plan_removals(snapshot, "stale", NOW, 60, remote_authenticated=False)

    assert kept == []
    assert planned_names(plan) == ["Tenant liqo-tenant-%s/%s" % (CONSUMER, CONSUMER),
                                   "Secret liqo-tenant-%s/liqo-nonce" % CONSUMER]


def test_orphan_virtual_node_with_running_pod_blocks():
    node = liqo_object("Node", PROVIDER, namespace=None, labels={"liqo.io/type": "virtual-node"})
    pod = {"kind": "Pod", "metadata": {"name": "train", "namespace": "kubeflow"},
           "spec": {"nodeName": PROVIDER}, "status": {"phase": "Running"}}
    snapshot = rules.Snapshot(PROVIDER, nodes=[node], pods=[pod])

    plan, blocked = rules.plan_removals(snapshot, "stale", NOW, 60)

    assert plan == []
    assert len(blocked) == 1
    assert "Pod kubeflow/train" in blocked[0]


def test_orphan_virtual_node_without_pods_deleted():
    node = liqo_object("Node", PROVIDER, namespace=None, labels={"liqo.io/type": "virtual-node"})
    namespace_map = liqo_object("NamespaceMap", PROVIDER, finalizers=[REPLICATOR])
    snapshot = rules.Snapshot(PROVIDER, objects=[namespace_map], nodes=[node])

    plan, _blocked = rules.plan_removals(snapshot, "stale", NOW, 60)

    assert planned_names(plan) == ["NamespaceMap %s/%s" % (TENANT, PROVIDER), "Node " + PROVIDER]


def test_half_made_peering_network_objects():
    """The state of liqotech/liqo#1710: a half-made peering keeps its network objects and ForeignCluster.

    Stale scope leaves a Configuration and a GatewayServer alone (liqoctl unpeer removes them while the
    provider answers), so the ForeignCluster stays too; scope all removes them.
    """
    objects = [liqo_object("Configuration", PROVIDER), liqo_object("GatewayServer", PROVIDER)]
    snapshot = rules.Snapshot(PROVIDER, objects=objects, namespaces=[tenant_namespace()],
                              foreign_cluster=foreign_cluster())

    stale, _blocked = rules.plan_removals(snapshot, "stale", NOW, 60)
    everything, _blocked = rules.plan_removals(snapshot, "all", NOW, 60)

    assert stale == []
    assert planned_names(everything) == [
        "Configuration %s/%s" % (TENANT, PROVIDER), "GatewayServer %s/%s" % (TENANT, PROVIDER),
        "Namespace " + TENANT, "ForeignCluster " + PROVIDER,
    ]


def test_scope_all_removal_order():
    snapshot = healthy_peering()
    snapshot.pods = [{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "train", "namespace": "kubeflow"},
                      "spec": {"nodeName": PROVIDER}, "status": {"phase": "Running"}}]

    plan, blocked = rules.plan_removals(snapshot, "all", NOW, 60)

    names = planned_names(plan)
    assert blocked == []
    assert names[0] == "Pod kubeflow/train"
    assert names[-1] == "ForeignCluster " + PROVIDER
    virtual_node = names.index("VirtualNode %s/%s" % (TENANT, PROVIDER))
    assert virtual_node < names.index("ResourceSlice %s/%s" % (TENANT, PROVIDER))
    assert "Secret %s/liqo-signed-nonce" % TENANT not in names
    assert "Namespace " + TENANT in names


def test_tied_to_matches_replication_labels():
    replicated = {"metadata": {"labels": {"liqo.io/originID": PROVIDER}}}
    other = {"metadata": {"labels": {"liqo.io/remote-cluster-id": "another"}}}

    assert rules.tied_to(replicated, PROVIDER)
    assert not rules.tied_to(other, PROVIDER)


def test_summary_names_action_and_finalizers():
    item = rules.entry(liqo_object("ResourceSlice", PROVIDER, finalizers=[REPLICATOR]), "orphan", delete=False)

    assert rules.summarize([item]) == [
        "ResourceSlice %s/%s: remove finalizers ['%s']: orphan" % (TENANT, PROVIDER, REPLICATOR)
    ]


def test_provider_namespace_map_copy_kept_while_peered():
    """The provider has the consumer's NamespaceMap copy and a Tenant, but no VirtualNode: a healthy peering."""
    namespace = "liqo-tenant-" + CONSUMER
    copy = liqo_object("NamespaceMap", PROVIDER, namespace=namespace,
                       labels={"liqo.io/replicated": "true", "liqo.io/originID": CONSUMER})
    tenant = liqo_object("Tenant", CONSUMER, namespace=namespace, spec={"clusterID": CONSUMER})
    snapshot = rules.Snapshot(CONSUMER, objects=[copy, tenant], foreign_cluster=foreign_cluster("Consumer"))

    kept, _blocked = rules.plan_removals(snapshot, "stale", NOW, 60, remote_authenticated=True)
    stale, _blocked = rules.plan_removals(snapshot, "stale", NOW, 60, remote_authenticated=False)

    assert kept == []
    assert "NamespaceMap %s/%s" % (namespace, PROVIDER) in planned_names(stale)
