"""Namespace offloading as Liqo v1.0.3 controllers carry it out, run once on demand.

The NamespaceOffloading controller labels the namespace liqo.io/scheduling-enabled=true, matches every
VirtualNode (through its Node's labels) against the cluster selector and writes desired mappings into the
NamespaceMaps. The NamespaceMap controller on each provider creates the remote namespace, annotated
liqo.io/managed-by-namespace-map and liqo.io/original-name, labelled with the consumer's ID, plus a RoleBinding to
ClusterRole liqo-virtual-kubelet-remote. It reports Accepted, or CreationLoopBackOff when a namespace with that name
already exists without the annotation. Providers are reached with the kubeconfig Secret stored at peer time.
"""

from __future__ import annotations

import base64
from typing import Any

import yaml

from . import liqo, objects, selectors
from . import resources as res
from .kube import Cluster, KubeError, ResolvedConfig
from .offloading import replicate_namespace_map

ID_LABEL = "liqo.io/remote-cluster-id"
SCHEDULING_LABEL = "liqo.io/scheduling-enabled"
MANAGED_BY_ANNOTATION = "liqo.io/managed-by-namespace-map"
ORIGINAL_NAME_ANNOTATION = "liqo.io/original-name"
ORIGIN_LABEL = "liqo.io/originID"


def provider_cluster(consumer: Cluster, provider_id: str) -> Cluster | None:
    """A client for the provider, built from the kubeconfig Secret of its Identity in the consumer."""
    secrets = consumer.list(res.SECRET.collection(), label_selector=f"{ID_LABEL}={provider_id},liqo.io/identity-type")
    secrets.sort(key=lambda item: item["metadata"]["labels"]["liqo.io/identity-type"] != "ResourceSlice")
    for secret in secrets:
        data = (secret.get("data") or {}).get("kubeconfig")
        if not data:
            continue
        document = yaml.safe_load(base64.b64decode(data))
        context = document["contexts"][0]["context"]
        cluster = next(item["cluster"] for item in document["clusters"] if item["name"] == context["cluster"])
        user = next(item["user"] for item in document["users"] if item["name"] == context["user"])
        return Cluster(
            ResolvedConfig(
                cluster=cluster,
                user=user,
                base_path="/",
                timeout_seconds=None,
                impersonation={"user": "", "uid": "", "groups": []},
            )
        )
    return None


def remote_namespace_name(offloading: dict[str, Any], consumer_id: str) -> str:
    """The remote namespace name for the mapping strategy."""
    spec = offloading.get("spec") or {}
    namespace = offloading["metadata"]["namespace"]
    strategy = spec.get("namespaceMappingStrategy")
    if strategy == "EnforceSameName":
        return namespace
    if strategy == "SelectedName":
        return spec.get("remoteNamespaceName", "")
    return f"{namespace}-{consumer_id}"


def _node_labels(consumer: Cluster, virtual_node: dict[str, Any]) -> dict[str, str]:
    node = consumer.get(res.NODE.item(virtual_node["metadata"]["name"]))
    if node is not None:
        return node["metadata"].get("labels") or {}
    spec = virtual_node.get("spec") or {}
    return {
        **(spec.get("labels") or {}),
        ID_LABEL: spec.get("clusterID", ""),
        "storage.liqo.io/available": "true" if not spec.get("storageClasses") else "false",
    }


def _namespace_maps(consumer: Cluster) -> dict[str, dict[str, Any]]:
    items = consumer.list(res.NAMESPACE_MAP.collection(), label_selector="liqo.io/replication=true")
    return {item["metadata"]["labels"].get(ID_LABEL, ""): item for item in items}


def set_scheduling_label(consumer: Cluster, namespace: str, present: bool) -> None:
    """Add or remove liqo.io/scheduling-enabled=true on the namespace."""
    live = consumer.get(res.NAMESPACE.item(namespace))
    if live is None:
        return
    labels = live["metadata"].get("labels") or {}
    if present and labels.get(SCHEDULING_LABEL) != "true":
        consumer.merge_patch(res.NAMESPACE.item(namespace), {"metadata": {"labels": {SCHEDULING_LABEL: "true"}}})
    if not present and labels.get(SCHEDULING_LABEL) == "true":
        consumer.merge_patch(res.NAMESPACE.item(namespace), {"metadata": {"labels": {SCHEDULING_LABEL: None}}})


def reconcile_offloading(consumer: Cluster, liqo_namespace: str, namespace: str, deleting: bool = False) -> None:
    """Run the NamespaceOffloading and NamespaceMap controllers for one namespace."""
    offloading = consumer.get(res.NAMESPACE_OFFLOADING.item("offloading", namespace))
    if offloading is None:
        return
    consumer_id = liqo.cluster_id(consumer, liqo_namespace)
    set_scheduling_label(consumer, namespace, not deleting)
    maps = _namespace_maps(consumer)
    remote_name = remote_namespace_name(offloading, consumer_id)
    selector = (offloading.get("spec") or {}).get("clusterSelector") or {}
    for virtual_node in consumer.list(res.VIRTUAL_NODE.collection()):
        provider_id = virtual_node.get("spec", {}).get("clusterID", "")
        namespace_map = maps.get(provider_id)
        if namespace_map is None:
            continue
        selected = not deleting and selectors.node_selector_matches(selector, _node_labels(consumer, virtual_node))
        desired = dict((namespace_map.get("spec") or {}).get("desiredMapping") or {})
        if selected:
            desired[namespace] = remote_name
        else:
            desired.pop(namespace, None)
        maps[provider_id] = sync_namespace_map(consumer, namespace_map, desired, consumer_id)
    write_offloading_status(consumer, namespace, maps, consumer_id)


def sync_namespace_map(
    consumer: Cluster, namespace_map: dict[str, Any], desired: dict[str, str], consumer_id: str
) -> dict[str, Any]:
    """Write the desired mapping, let the provider enforce it, and copy the resulting status back."""
    metadata = namespace_map["metadata"]
    provider_id = metadata["labels"].get(ID_LABEL, "")

    def mutate(obj: dict[str, Any]) -> None:
        obj.setdefault("spec", {})["desiredMapping"] = desired
        if not desired:
            obj["spec"].pop("desiredMapping")

    local = objects.create_or_update(consumer, res.NAMESPACE_MAP, metadata["name"], metadata["namespace"], mutate)
    current = dict(((local.get("status") or {}).get("currentMapping")) or {})
    provider = provider_cluster(consumer, provider_id)
    if provider is not None:
        current = _enforce_on_provider(provider, local, desired, current, consumer_id)
    return objects.write_status(
        consumer,
        res.NAMESPACE_MAP,
        metadata["name"],
        metadata["namespace"],
        lambda live: {"currentMapping": current} if current else {},
    )


def _enforce_on_provider(
    provider: Cluster, local: dict[str, Any], desired: dict[str, str], current: dict[str, Any], consumer_id: str
) -> dict[str, Any]:
    try:
        provider_namespace = liqo.get_tenant_namespace(provider, consumer_id)["metadata"]["name"]
    except KubeError:
        return current
    remote_map = replicate_namespace_map(local, provider, consumer_id, provider_namespace)
    owner_id = f"{provider_namespace}/{remote_map['metadata']['name']}"
    for original, destination in desired.items():
        phase = (
            "Accepted"
            if _create_remote_namespace(provider, destination, original, owner_id, consumer_id)
            else "CreationLoopBackOff"
        )
        current[original] = {"remoteNamespace": destination, "phase": phase}
    for original in list(current):
        if original in desired:
            continue
        if _delete_remote_namespace(provider, current[original]["remoteNamespace"], owner_id):
            current[original] = {"remoteNamespace": current[original]["remoteNamespace"], "phase": "Terminating"}
        else:
            del current[original]
    objects.write_status(
        provider,
        res.NAMESPACE_MAP,
        remote_map["metadata"]["name"],
        provider_namespace,
        lambda live: {"currentMapping": current} if current else {},
    )
    return current


def _create_remote_namespace(provider: Cluster, name: str, original: str, owner_id: str, consumer_id: str) -> bool:
    namespace = provider.get(res.NAMESPACE.item(name))
    if namespace is None:
        body = res.NAMESPACE.skeleton(name)
        body["metadata"]["annotations"] = {MANAGED_BY_ANNOTATION: owner_id, ORIGINAL_NAME_ANNOTATION: original}
        body["metadata"]["labels"] = {ID_LABEL: consumer_id}
        try:
            namespace = provider.create(res.NAMESPACE.collection(), body)
        except KubeError as error:
            if not error.already_exists:
                return False
            namespace = provider.get(res.NAMESPACE.item(name)) or {}
    if (namespace["metadata"].get("annotations") or {}).get(MANAGED_BY_ANNOTATION) != owner_id:
        return False
    tenant_namespace = owner_id.split("/", 1)[0]

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_annotations(obj, {MANAGED_BY_ANNOTATION: owner_id})
        objects.merge_labels(obj, {"app.kubernetes.io/managed-by": "liqo", ID_LABEL: consumer_id})
        obj.setdefault("subjects", [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": consumer_id}])
        obj.setdefault(
            "roleRef",
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "liqo-virtual-kubelet-remote"},
        )

    objects.create_or_update(provider, res.ROLE_BINDING, tenant_namespace, name, mutate)
    return True


def _delete_remote_namespace(provider: Cluster, name: str, owner_id: str) -> bool:
    """Delete a namespace this NamespaceMap created; return whether it still exists (terminating)."""
    namespace = provider.get(res.NAMESPACE.item(name))
    if namespace is None:
        return False
    if (namespace["metadata"].get("annotations") or {}).get(MANAGED_BY_ANNOTATION) != owner_id:
        return False
    provider.delete(res.NAMESPACE.item(name))
    return provider.get(res.NAMESPACE.item(name)) is not None


def write_offloading_status(
    consumer: Cluster, namespace: str, maps: dict[str, dict[str, Any]], consumer_id: str
) -> None:
    """The NamespaceOffloading status: per-cluster conditions and the overall phase."""

    def build(live: dict[str, Any]) -> dict[str, Any]:
        previous = live.get("status") or {}
        names = {item["metadata"]["name"] for item in maps.values()}
        conditions = {
            key: value for key, value in (previous.get("remoteNamespacesConditions") or {}).items() if key in names
        }
        required = ready = failed = 0
        for namespace_map in maps.values():
            requested = namespace in ((namespace_map.get("spec") or {}).get("desiredMapping") or {})
            phase = (((namespace_map.get("status") or {}).get("currentMapping") or {}).get(namespace) or {}).get(
                "phase", ""
            )
            required += requested
            ready += phase == "Accepted"
            failed += phase == "CreationLoopBackOff"
            name = namespace_map["metadata"]["name"]
            entries = conditions.get(name) or []
            entries = _set_remote_condition(entries, *_required_condition(requested))
            if requested or phase:
                entries = _set_remote_condition(entries, *_ready_condition(phase))
            conditions[name] = entries
        if required == 0:
            phase_text = "NoClusterSelected"
        elif ready == required:
            phase_text = "Ready"
        elif failed == required:
            phase_text = "AllFailed"
        elif failed > 0:
            phase_text = "SomeFailed"
        else:
            phase_text = "InProgress"
        status: dict[str, Any] = {
            "remoteNamespaceName": remote_namespace_name(live, consumer_id),
            "offloadingPhase": phase_text,
            "observedGeneration": live["metadata"].get("generation", 1),
        }
        if conditions:
            status["remoteNamespacesConditions"] = conditions
        return {key: value for key, value in status.items() if value != ""}

    objects.write_status(consumer, res.NAMESPACE_OFFLOADING, "offloading", namespace, build)


def _set_remote_condition(
    entries: list[dict[str, Any]], condition_type: str, status: str, reason: str, message: str
) -> list[dict[str, Any]]:
    result = [dict(item) for item in entries]
    for item in result:
        if item["type"] == condition_type:
            if (item.get("status"), item.get("reason")) != (status, reason):
                item.update(
                    {
                        "status": status,
                        "reason": reason,
                        "message": message,
                        "lastTransitionTime": objects.now(),
                    }
                )
            return result
    result.append(
        {
            "type": condition_type,
            "status": status,
            "lastTransitionTime": objects.now(),
            "reason": reason,
            "message": message,
        }
    )
    return result


def _required_condition(requested: bool) -> tuple[str, str, str, str]:
    if requested:
        return (
            "OffloadingRequired",
            "True",
            "ClusterSelected",
            "The remote cluster has been selected through the ClusterSelector field",
        )
    return (
        "OffloadingRequired",
        "False",
        "ClusterNotSelected",
        "The remote cluster has not been selected through the ClusterSelector field",
    )


def _ready_condition(phase: str) -> tuple[str, str, str, str]:
    if phase == "Accepted":
        return "Ready", "True", "NamespaceCreated", "Namespace correctly offloaded to the remote cluster"
    if phase == "CreationLoopBackOff":
        return "Ready", "False", "CreationLoopBackOff", "Some problems occurred during remote namespace creation"
    if phase == "Terminating":
        return "Ready", "False", "Terminating", "The remote namespace is being deleted"
    return "Ready", "False", "Creating", "The remote namespace is being created"


def drop_cluster(consumer: Cluster, liqo_namespace: str, provider_id: str) -> None:
    """What happens when a VirtualNode goes away: its NamespaceMaps and remote namespaces are deleted."""
    maps = consumer.list(
        res.NAMESPACE_MAP.collection(), label_selector=f"{ID_LABEL}={provider_id},liqo.io/replication=true"
    )
    if not maps:
        return
    consumer_id = liqo.cluster_id(consumer, liqo_namespace)
    provider = provider_cluster(consumer, provider_id)
    for namespace_map in maps:
        if provider is not None:
            sync_namespace_map(consumer, namespace_map, {}, consumer_id)
            try:
                provider_namespace = liqo.get_tenant_namespace(provider, consumer_id)["metadata"]["name"]
                provider.delete(res.NAMESPACE_MAP.item(namespace_map["metadata"]["name"], provider_namespace))
            except KubeError as error:
                if not error.not_found:
                    raise
        consumer.delete(
            res.NAMESPACE_MAP.item(namespace_map["metadata"]["name"], namespace_map["metadata"]["namespace"])
        )
    for offloading in consumer.list(res.NAMESPACE_OFFLOADING.collection()):
        write_offloading_status(consumer, offloading["metadata"]["namespace"], _namespace_maps(consumer), consumer_id)
