"""ResourceSlice, VirtualNode, virtual Node and NamespaceMap: the offloading part of peer and unpeer.

liqoctl creates the ResourceSlice (pkg/liqoctl/rest/resourceslice). The rest is what Liqo v1.0.3 controllers do:
the CRD replicator copies the slice to the provider; the provider's default slice class accepts it and fills the
status with every requested resource plus the provider's default node resources for keys not requested (earlier
status keys are kept, as the controller never clears them); the identity creator makes the ResourceSlice
Identity and kubeconfig Secret; the virtual-node creator makes the VirtualNode; the virtual-node controller makes
the NamespaceMap; the virtual kubelet makes the Node. The Node carries `kwok.x-k8s.io/node: fake` so the lab's
KWOK keeps it Ready.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from . import auth, liqo, objects, quantity
from . import resources as res
from .factory import Factory
from .foreigncluster import virtual_nodes
from .kube import Cluster, KubeError
from .network import StepFailed

ID_LABEL = "liqo.io/remote-cluster-id"
REPLICATION_LABEL = "liqo.io/replication"
DESTINATION_LABEL = "liqo.io/remoteID"
ORIGIN_LABEL = "liqo.io/originID"
REPLICATED_LABEL = "liqo.io/replicated"
CREATE_VIRTUAL_NODE_ANNOTATION = "liqo.io/create-virtual-node"
SLICE_NAME_LABEL = "liqo.io/resourceslice-name"
VIRTUAL_NODE_TAINT = {"key": "virtual-node.liqo.io/not-allowed", "value": "true", "effect": "NoExecute"}


def requested_resources(cpu: str, memory: str, pods: str, others: dict[str, str]) -> dict[str, str]:
    """buildResourceMap + resourceList: empty values dropped, quantities in canonical form."""
    wanted = {"cpu": cpu, "memory": memory, "pods": pods, **others}
    return {name: quantity.canonical(value) for name, value in wanted.items() if value != ""}


def create_resource_slice(
    consumer: Factory,
    provider: Factory,
    *,
    resource_class: str,
    create_virtual_node: bool,
    resources: dict[str, str] | Exception,
    global_labels: dict[str, str],
    global_annotations: dict[str, str],
) -> None:
    """HandleCreate for the slice named after the provider, then the controllers' work; print liqoctl's lines."""
    provider_id = liqo.cluster_id(provider.cluster, provider.liqo_namespace)
    consumer_id = liqo.cluster_id(consumer.cluster, consumer.liqo_namespace)
    printer = consumer.printer
    spinner = printer.spinner("Creating ResourceSlice")
    try:
        namespace = liqo.get_tenant_namespace(consumer.cluster, provider_id)["metadata"]["name"]
    except KubeError as error:
        message = f'tenant namespace not found for cluster "{provider_id}"' if error.not_found else str(error)
        spinner.fail(f"Unable to get tenant namespace: {message}")
        raise StepFailed(message if error.not_found else error.raw) from None
    if isinstance(resources, Exception):
        # liqoctl passes the arguments to pterm unformatted here, so "%v" shows up literally.
        spinner.fail(f"Unable to create ResourceSlice: %v{resources}")
        raise StepFailed(str(resources))

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {REPLICATION_LABEL: "true", DESTINATION_LABEL: provider_id, ID_LABEL: provider_id})
        if create_virtual_node:
            objects.merge_annotations(obj, {CREATE_VIRTUAL_NODE_ANNOTATION: "true"})
        obj["spec"] = {"class": resource_class, "providerClusterID": provider_id, "resources": dict(resources)}

    try:
        objects.create_or_update(
            consumer.cluster,
            res.RESOURCE_SLICE,
            provider_id,
            namespace,
            mutate,
            global_labels=global_labels,
            global_annotations=global_annotations,
        )
    except KubeError as error:
        spinner.fail(f"Unable to create ResourceSlice: %v{error}")
        raise StepFailed(error.raw) from None
    spinner.success("ResourceSlice created")
    live = reconcile_slice(consumer, provider, consumer_id, provider_id, namespace)
    printer.spinner("Waiting for ResourceSlice authentication to be accepted").success(
        "ResourceSlice authentication: Accepted"
    )
    conditions = {item["type"]: item["status"] for item in (live.get("status") or {}).get("conditions") or []}
    if conditions.get("Resources") != "Accepted":
        printer.warning(
            "ResourceSlice resources not accepted. The provider cluster may have cordoned the tenant or "
            "the resourceslice"
        )
        return
    printer.info("ResourceSlice resources: Accepted")


def reconcile_slice(
    consumer: Factory, provider: Factory, consumer_id: str, provider_id: str, namespace: str
) -> dict[str, Any]:
    """Run the controllers that act on a new or changed ResourceSlice; return the consumer's slice."""
    consumer_cluster, provider_cluster = consumer.cluster, provider.cluster
    key = auth.cluster_key(consumer_cluster, consumer.liqo_namespace)

    def local_controller(obj: dict[str, Any]) -> None:
        spec = obj.setdefault("spec", {})
        spec["consumerClusterID"] = consumer_id
        if not spec.get("csr"):
            spec["csr"] = auth._b64(auth._certificate_request(key, consumer_id))

    local = objects.create_or_update(consumer_cluster, res.RESOURCE_SLICE, provider_id, namespace, local_controller)
    provider_namespace = liqo.ensure_tenant_namespace(provider_cluster, consumer_id)["metadata"]["name"]
    remote = _replicate_slice(local, provider_cluster, consumer_id, provider_namespace)
    status = _provider_slice_status(provider, consumer_id, provider_namespace, remote)
    objects.write_status(
        provider_cluster, res.RESOURCE_SLICE, remote["metadata"]["name"], provider_namespace, lambda live: status
    )
    local = objects.write_status(consumer_cluster, res.RESOURCE_SLICE, provider_id, namespace, lambda live: status)
    _after_acceptance(consumer, provider, local, provider_namespace)
    return local


def _replicate_slice(
    local: dict[str, Any], provider_cluster: Cluster, consumer_id: str, provider_namespace: str
) -> dict[str, Any]:
    """The CRD replicator's copy of the slice in the provider's tenant namespace."""
    labels = {
        key: value
        for key, value in (local["metadata"].get("labels") or {}).items()
        if key not in (REPLICATION_LABEL, DESTINATION_LABEL)
    }
    labels.update({ORIGIN_LABEL: consumer_id, REPLICATED_LABEL: "true", ID_LABEL: consumer_id})

    def mutate(obj: dict[str, Any]) -> None:
        obj["metadata"]["labels"] = labels
        obj["metadata"]["annotations"] = dict(local["metadata"].get("annotations") or {})
        obj["spec"] = dict(local["spec"])

    return objects.create_or_update(
        provider_cluster, res.RESOURCE_SLICE, local["metadata"]["name"], provider_namespace, mutate
    )


def _storage_classes(cluster: Cluster) -> list[dict[str, Any]]:
    classes = []
    for item in cluster.list(res.STORAGE_CLASS.collection()):
        if item.get("provisioner") == "liqo.io/storage":
            continue
        annotations = item["metadata"].get("annotations") or {}
        entry: dict[str, Any] = {"storageClassName": item["metadata"]["name"]}
        if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
            entry["default"] = True
        classes.append(entry)
    return classes


def _provider_slice_status(
    provider: Factory, consumer_id: str, provider_namespace: str, remote: dict[str, Any]
) -> dict[str, Any]:
    """Status written by the provider's remote-resourceslice controller for the default class."""
    cluster = provider.cluster
    previous = remote.get("status") or {}
    tenant = cluster.get(res.TENANT.item(consumer_id, provider_namespace)) or {}
    condition = (tenant.get("spec") or {}).get("tenantCondition", "Active")
    conditions = objects.ensure_condition(
        previous.get("conditions"),
        "Authentication",
        "Accepted",
        "ResourceSliceAuthenticationAccepted",
        "ResourceSlice authentication accepted",
    )
    status: dict[str, Any] = {**previous, "conditions": conditions}
    status["authParams"] = (tenant.get("status") or {}).get("authParams") or auth.provider_auth_params(
        provider, consumer_id, ""
    )
    spec_resources = remote["spec"].get("resources") or {}
    resource_class = remote["spec"].get("class") or ""
    if condition == "Active" and resource_class in ("", "default"):
        resources = dict(previous.get("resources") or {})
        for name, value in liqo.default_node_resources(cluster, provider.liqo_namespace).items():
            resources[name] = spec_resources.get(name, quantity.canonical(value))
        resources.update(spec_resources)
        status["resources"] = resources
        status["storageClasses"] = _storage_classes(cluster)
        status["ingressClasses"] = []
        status["loadBalancerClasses"] = []
        status["nodeLabels"] = liqo.cluster_labels(cluster, provider.liqo_namespace)
        status["conditions"] = objects.ensure_condition(
            status["conditions"],
            "Resources",
            "Accepted",
            "ResourceSliceResourcesAccepted",
            "ResourceSlice resources accepted",
        )
    elif condition == "Drained" or (
        condition == "Cordoned" and not any(item["type"] == "Resources" for item in status["conditions"])
    ):
        status["conditions"] = objects.ensure_condition(
            status["conditions"],
            "Resources",
            "Denied",
            "ResourceSliceResourcesDenied",
            "ResourceSlice resources denied",
        )
    return {key: value for key, value in status.items() if value is not None}


def _after_acceptance(consumer: Factory, provider: Factory, local: dict[str, Any], provider_namespace: str) -> None:
    """Identity creator, virtual-node creator, virtual-node controller and virtual kubelet on the consumer."""
    conditions = (local.get("status") or {}).get("conditions") or []
    accepted = bool(conditions) and all(item["status"] == "Accepted" for item in conditions)
    statuses = {item["type"]: item["status"] for item in conditions}
    if statuses.get("Authentication") != "Accepted":
        return
    secret_name = _ensure_slice_identity(consumer, provider, local, provider_namespace)
    annotation = (local["metadata"].get("annotations") or {}).get(CREATE_VIRTUAL_NODE_ANNOTATION, "")
    if not accepted or annotation == "" or annotation.lower() == "false":
        return
    virtual_node = ensure_virtual_node(consumer, local, secret_name)
    ensure_namespace_map(consumer, provider, virtual_node, provider_namespace)
    ensure_node(consumer, virtual_node)


def _ensure_slice_identity(consumer: Factory, provider: Factory, local: dict[str, Any], provider_namespace: str) -> str:
    cluster = consumer.cluster
    metadata = local["metadata"]
    provider_id = metadata["labels"][ID_LABEL]
    managed_labels, managed_annotations = objects.controller_globals(cluster, consumer.liqo_namespace)

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: provider_id, SLICE_NAME_LABEL: metadata["name"]})
        objects.set_owner(obj, local, controller=True)
        obj["spec"] = {
            "clusterID": provider_id,
            "type": "ResourceSlice",
            "authParams": local["status"].get("authParams") or {},
            "namespace": provider_namespace,
        }

    identity = objects.create_or_update(
        cluster,
        res.IDENTITY,
        f"resourceslice-{metadata['name']}",
        metadata["namespace"],
        mutate,
        global_labels=managed_labels,
        global_annotations=managed_annotations,
    )
    return auth.ensure_kubeconfig_secret(consumer, provider, identity)


def ensure_virtual_node(consumer: Factory, local: dict[str, Any], secret_name: str) -> dict[str, Any]:
    """The VirtualNode named after the slice, owned by it, with the slice's resources as quota."""
    cluster = consumer.cluster
    metadata = local["metadata"]
    provider_id = metadata["labels"][ID_LABEL]
    status = local["status"]
    managed_labels, managed_annotations = objects.controller_globals(cluster, consumer.liqo_namespace)

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: provider_id, SLICE_NAME_LABEL: metadata["name"]})
        objects.set_owner(obj, local, controller=True)
        spec = obj.setdefault("spec", {})
        spec["labels"] = {**(spec.get("labels") or {}), ID_LABEL: provider_id, **(status.get("nodeLabels") or {})}
        spec["clusterID"] = provider_id
        spec.setdefault("createNode", True)
        spec.setdefault("disableNetworkCheck", False)
        spec["kubeconfigSecretRef"] = {"name": secret_name}
        spec.setdefault(
            "vkOptionsTemplateRef", {"name": "virtual-kubelet-default", "namespace": consumer.liqo_namespace}
        )
        spec["resourceQuota"] = {"hard": dict(status.get("resources") or {})}
        spec["storageClasses"] = list(status.get("storageClasses") or [])
        spec["ingressClasses"] = list(status.get("ingressClasses") or [])
        spec["loadBalancerClasses"] = list(status.get("loadBalancerClasses") or [])

    virtual_node = objects.create_or_update(
        cluster,
        res.VIRTUAL_NODE,
        metadata["name"],
        metadata["namespace"],
        mutate,
        global_labels=managed_labels,
        global_annotations=managed_annotations,
    )
    create_node = virtual_node["spec"].get("createNode", True)
    return objects.write_status(
        cluster,
        res.VIRTUAL_NODE,
        metadata["name"],
        metadata["namespace"],
        lambda live: {
            "conditions": _virtual_node_conditions((live.get("status") or {}).get("conditions"), create_node)
        },
    )


def _virtual_node_conditions(previous, create_node: bool) -> list[dict[str, Any]]:
    conditions = objects.ensure_condition(previous, "VirtualKubelet", "Running", "", "")
    return objects.ensure_condition(conditions, "Node", "Running" if create_node else "None", "", "")


def ensure_namespace_map(
    consumer: Factory, provider: Factory, virtual_node: dict[str, Any], provider_namespace: str
) -> None:
    """NamespaceMap <provider id> in the consumer tenant namespace, and its copy on the provider."""
    provider_id = virtual_node["spec"]["clusterID"]
    consumer_id = liqo.cluster_id(consumer.cluster, consumer.liqo_namespace)
    namespace = virtual_node["metadata"]["namespace"]
    managed_labels, managed_annotations = objects.controller_globals(consumer.cluster, consumer.liqo_namespace)

    def local_mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: provider_id, REPLICATION_LABEL: "true", DESTINATION_LABEL: provider_id})

    local = objects.create_or_update(
        consumer.cluster,
        res.NAMESPACE_MAP,
        provider_id,
        namespace,
        local_mutate,
        global_labels=managed_labels,
        global_annotations=managed_annotations,
    )
    replicate_namespace_map(local, provider.cluster, consumer_id, provider_namespace)


def replicate_namespace_map(
    local: dict[str, Any], provider_cluster: Cluster, consumer_id: str, provider_namespace: str
) -> dict[str, Any]:
    """The CRD replicator's copy of a NamespaceMap (spec only) in the provider's tenant namespace."""
    labels = {
        key: value
        for key, value in (local["metadata"].get("labels") or {}).items()
        if key not in (REPLICATION_LABEL, DESTINATION_LABEL)
    }
    labels.update({ORIGIN_LABEL: consumer_id, REPLICATED_LABEL: "true", ID_LABEL: consumer_id})

    def mutate(obj: dict[str, Any]) -> None:
        obj["metadata"]["labels"] = labels
        obj["spec"] = dict(local.get("spec") or {})

    return objects.create_or_update(
        provider_cluster, res.NAMESPACE_MAP, local["metadata"]["name"], provider_namespace, mutate
    )


def _node_address(cluster: Cluster, liqo_namespace: str) -> str:
    # The virtual kubelet reports its pod IP; no such pod runs in the lab, so take the last address of the pod CIDR.
    network = cluster.get(res.NETWORK.item("pod-cidr", liqo_namespace))
    cidr = ((network or {}).get("status") or {}).get("cidr") or (network or {}).get("spec", {}).get("cidr")
    if cidr:
        subnet = ipaddress.ip_network(cidr, strict=False)
        return str(subnet.broadcast_address - 1)
    return "127.0.0.1"


def ensure_node(consumer: Factory, virtual_node: dict[str, Any]) -> None:
    """The Node the virtual kubelet registers, with the VirtualNode's labels, taint and resources."""
    cluster = consumer.cluster
    spec = virtual_node["spec"]
    name = virtual_node["metadata"]["name"]
    if not spec.get("createNode", True):
        return
    provider_id = spec["clusterID"]
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/role": "agent",
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "liqo.io/type": "virtual-node",
        ID_LABEL: provider_id,
        "node.kubernetes.io/exclude-from-external-load-balancers": "true",
        "alpha.service-controller.kubernetes.io/exclude-balancer": "true",
        **(spec.get("labels") or {}),
        "storage.liqo.io/available": "true" if spec.get("storageClasses") else "false",
    }
    resources = (spec.get("resourceQuota") or {}).get("hard") or {}
    taints = [dict(VIRTUAL_NODE_TAINT), *(spec.get("taints") or [])]
    live = cluster.get(res.NODE.item(name))
    if live is None:
        body = res.NODE.skeleton(name)
        body["metadata"]["labels"] = labels
        body["metadata"]["annotations"] = {**(spec.get("annotations") or {}), "kwok.x-k8s.io/node": "fake"}
        body["spec"] = {"taints": taints}
        body["status"] = _node_status(cluster, consumer.liqo_namespace, resources, None)
        cluster.create(res.NODE.collection(), body)
        # Write the status through the subresource too, in case the API server dropped it on create.
        objects.write_status(
            cluster,
            res.NODE,
            name,
            "",
            lambda current: _node_status(cluster, consumer.liqo_namespace, resources, current.get("status")),
        )
        return

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, labels)
        objects.merge_annotations(obj, {"kwok.x-k8s.io/node": "fake"})
        obj["spec"]["taints"] = taints + [
            item
            for item in obj["spec"].get("taints") or []
            if item.get("key") not in {taint["key"] for taint in taints}
        ]

    objects.create_or_update(cluster, res.NODE, name, "", mutate)
    objects.write_status(
        cluster,
        res.NODE,
        name,
        "",
        lambda current: _node_status(cluster, consumer.liqo_namespace, resources, current.get("status")),
    )


def _node_status(
    cluster: Cluster, liqo_namespace: str, resources: dict[str, str], previous: dict[str, Any] | None
) -> dict[str, Any]:
    stamp = objects.now()
    conditions = []
    old = {item["type"]: item for item in (previous or {}).get("conditions") or []}
    for condition_type, value, reason in (
        ("Ready", "True", "KubeletReady"),
        ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID"),
        ("NetworkUnavailable", "False", "LiqoNetworkingUp"),
    ):
        transition = (
            old.get(condition_type, {}).get("lastTransitionTime", stamp)
            if old.get(condition_type, {}).get("status") == value
            else stamp
        )
        conditions.append(
            {
                "type": condition_type,
                "status": value,
                "reason": reason,
                "message": "",
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": transition,
            }
        )
    status = dict(previous or {})
    status.update(
        {
            "capacity": dict(resources),
            "allocatable": dict(resources),
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": _node_address(cluster, liqo_namespace)}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                **(status.get("nodeInfo") or {}),
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "",
                "kernelVersion": "",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "osImage": "",
                "containerRuntimeVersion": "",
                "kubeProxyVersion": "",
            },
        }
    )
    return status


# -- unpeer ---------------------------------------------------------------------------------------------------

# liqoctl unpeer's default --timeout.
SLICE_DELETION_TIMEOUT_SECONDS = 120


def delete_resource_slices(consumer: Factory, provider: Factory, provider_id: str) -> None:
    """Delete the consumer's slices towards provider_id and their provider copies and identities."""
    printer = consumer.printer
    spinner = printer.spinner("Deleting resourceslices")
    selector = f"{REPLICATION_LABEL}=true,{DESTINATION_LABEL}={provider_id}"
    try:
        slices = consumer.cluster.list(res.RESOURCE_SLICE.collection(), label_selector=selector)
    except KubeError as error:
        spinner.fail(f"Error while retrieving resourceslices: {error}")
        raise StepFailed(error.raw) from None
    if not slices:
        spinner.success("No resourceslices found")
        return
    consumer_id = liqo.cluster_id(consumer.cluster, consumer.liqo_namespace)
    for item in slices:
        name, namespace = item["metadata"]["name"], item["metadata"]["namespace"]
        try:
            # Orphan the VirtualNode: liqoctl deletes it in the next step, with its Node.
            consumer.cluster.delete(res.RESOURCE_SLICE.item(name, namespace), propagation="Orphan")
            consumer.cluster.delete(res.IDENTITY.item(f"resourceslice-{name}", namespace))
            consumer.cluster.delete(res.SECRET.item(f"kubeconfig-resourceslice-{name}", namespace))
            _delete_remote_slice_copy(provider, consumer_id, name)
        except KubeError as error:
            spinner.fail(f"Error while deleting resourceslice {namespace}/{name}: {error}")
            raise StepFailed(error.raw) from None
    spinner.success("All resourceslices deleted")
    waiting = printer.spinner("Waiting for resource slices to be deleted")
    # An orphaning delete only marks the slice, and the garbage collector removes it a moment later. The next
    # unpeer step fails while any slice is left, so wait for them to disappear as liqoctl does.
    deadline = time.monotonic() + SLICE_DELETION_TIMEOUT_SECONDS
    while consumer.cluster.list(res.RESOURCE_SLICE.collection(), label_selector=selector):
        if time.monotonic() > deadline:
            waiting.fail("timed out waiting for the condition")
            raise StepFailed("timed out waiting for resource slices to be deleted")
        time.sleep(0.2)
    waiting.success("Ensured resourceslices absence")


def _delete_remote_slice_copy(provider: Factory, consumer_id: str, name: str) -> None:
    try:
        namespace = liqo.get_tenant_namespace(provider.cluster, consumer_id)["metadata"]["name"]
    except KubeError as error:
        if error.not_found:
            return
        raise
    provider.cluster.delete(res.RESOURCE_SLICE.item(name, namespace))


def delete_virtual_nodes(consumer: Factory, provider: Factory, provider_id: str, on_namespace_map_gone) -> None:
    """Delete the VirtualNodes towards provider_id: evict their pods, drop NamespaceMaps, delete the Nodes."""
    printer = consumer.printer
    spinner = printer.spinner("Deleting virtualnodes")
    try:
        nodes = virtual_nodes(consumer.cluster, provider_id)
    except KubeError as error:
        spinner.fail(f"Error while retrieving virtualnodes: {error}")
        raise StepFailed(error.raw) from None
    for item in nodes:
        try:
            consumer.cluster.delete(res.VIRTUAL_NODE.item(item["metadata"]["name"], item["metadata"]["namespace"]))
        except KubeError as error:
            spinner.fail(
                f"Error while deleting virtualnode {item['metadata']['namespace']}/{item['metadata']['name']}: {error}"
            )
            raise StepFailed(error.raw) from None
    # The deletion routine of each VirtualNode: pods on the node, the NamespaceMap, then the Node.
    for item in nodes:
        _evict_pods(consumer.cluster, item["metadata"]["name"])
        consumer.cluster.delete(res.NODE.item(item["metadata"]["name"]))
    on_namespace_map_gone(provider_id)
    if nodes:
        spinner.success("All virtualnodes deleted")
        printer.spinner("Waiting for virtual nodes to be deleted").success("Ensured virtualnodes absence")
    else:
        spinner.success("No virtualnodes found")


def _evict_pods(cluster: Cluster, node_name: str) -> None:
    for pod in cluster.list(res.POD.collection(), field_selector=f"spec.nodeName={node_name}"):
        cluster.delete(res.POD.item(pod["metadata"]["name"], pod["metadata"]["namespace"]))
