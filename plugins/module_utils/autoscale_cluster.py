# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the consumer's pods, virtual nodes and NamespaceOffloadings into the autoscaler's demand and supply.

Plain functions over objects in the API's JSON shape (as liqo_kube returns them), so the tests feed them
dicts. read_cluster() is the only function that talks to the API.
"""

from __future__ import annotations

import datetime
import os

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale import Provider
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale_packing import PendingPod
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.quantity import parse_quantity

VIRTUAL_NODE_TAINT = "virtual-node.liqo.io/not-allowed"
VIRTUAL_NODE_SELECTOR = "liqo.io/type=virtual-node"
REMOTE_CLUSTER_ID_LABEL = "liqo.io/remote-cluster-id"
GPU_RESOURCE = "nvidia.com/gpu"
# Labels a provider's Liqo cluster labels put on its virtual node, and that pods may select.
CLOUD_LABEL = "oss-mlops.io/cloud"
FLAVOR_LABEL = "oss-mlops.io/flavor"
GPU_MODEL_LABEL = "oss-mlops.io/gpu"
# Annotations on virtual nodes that the autoscale playbook writes or an administrator sets.
IDLE_SINCE_ANNOTATION = "oss-mlops.io/idle-since"
BILLING_START_ANNOTATION = "oss-mlops.io/billing-start"
SCALE_DOWN_DISABLED_ANNOTATION = "oss-mlops.io/scale-down-disabled"
TERMINAL_PHASES = ("Succeeded", "Failed")
# datetime.UTC needs Python 3.11, and modules may run on an older Python on the managed host.
UTC = datetime.timezone.utc  # noqa: UP017


def kubeconfig_path(value):
    """Return the kubeconfig to use: the given path, or ~/.kube/config as kubectl defaults to."""
    return os.path.expanduser(value or "~/.kube/config")


def parse_time(value):
    """Return seconds since the epoch from an RFC 3339 time (as the API writes) or a number; None if empty."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"{value!r} is not a time; use RFC 3339 such as 2026-12-04T19:00:00Z") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def format_time(seconds):
    """Return an RFC 3339 UTC time with second precision, as annotations and results carry it."""
    moment = datetime.datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def request_of(container, name):
    resources = container.get("resources") or {}
    value = (resources.get("requests") or {}).get(name)
    if value is None and name == GPU_RESOURCE:
        # The API server copies limits into requests for extended resources, but objects read back from
        # other sources may carry only the limit.
        value = (resources.get("limits") or {}).get(name)
    return float(parse_quantity(value)) if value is not None else 0.0


def pod_requests(pod):
    """Return (cpu, memory in bytes, GPUs) the scheduler reserves for a pod.

    That is the larger of the containers' sum and the largest init container, plus the pod overhead, as
    the Kubernetes scheduler computes it (sidecar init containers are counted as plain init containers).
    """
    spec = pod.get("spec") or {}
    totals = []
    for name in ("cpu", "memory", GPU_RESOURCE):
        running = sum(request_of(container, name) for container in spec.get("containers") or [])
        init = max((request_of(container, name) for container in spec.get("initContainers") or []), default=0.0)
        overhead = (spec.get("overhead") or {}).get(name)
        totals.append(max(running, init) + (float(parse_quantity(overhead)) if overhead is not None else 0.0))
    return totals[0], totals[1], int(round(totals[2]))


def is_unschedulable(pod):
    """Return whether the scheduler set PodScheduled=False with reason Unschedulable on an unbound pod."""
    status = pod.get("status") or {}
    if status.get("phase") != "Pending" or (pod.get("spec") or {}).get("nodeName"):
        return False
    return any(condition.get("type") == "PodScheduled" and condition.get("status") == "False"
               and condition.get("reason") == "Unschedulable" for condition in status.get("conditions") or [])


def tolerates_virtual_nodes(pod):
    for toleration in (pod.get("spec") or {}).get("tolerations") or []:
        key = toleration.get("key")
        operator = toleration.get("operator") or "Equal"
        if key is None and operator == "Exists":
            return True
        if key == VIRTUAL_NODE_TAINT and toleration.get("effect") in (None, "", "NoExecute"):
            return True
    return False


def remote_namespaces(offloadings):
    """Return the namespaces whose pods Liqo may send to providers without an explicit toleration.

    Liqo's webhook adds the virtual-node toleration to pods of namespaces offloaded with the Remote or
    LocalAndRemote pod offloading strategy. With Local, only pods that carry the toleration themselves may go.
    """
    namespaces = set()
    for item in offloadings:
        strategy = (item.get("spec") or {}).get("podOffloadingStrategy") or "LocalAndRemote"
        if strategy != "Local" and not (item.get("metadata") or {}).get("deletionTimestamp"):
            namespaces.add(item["metadata"]["namespace"])
    return namespaces


def may_run_on_provider(pod, offloaded):
    return pod["metadata"].get("namespace") in offloaded or tolerates_virtual_nodes(pod)


def pending_pod(pod):
    cpu, memory, gpu = pod_requests(pod)
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    metadata = pod["metadata"]
    return PendingPod(
        namespace=metadata.get("namespace", ""),
        name=metadata["name"],
        cpu=cpu,
        memory=memory,
        gpu=gpu,
        created_at=parse_time(metadata.get("creationTimestamp")) or 0.0,
        gpu_model=selector.get(GPU_MODEL_LABEL),
        cloud=selector.get(CLOUD_LABEL),
    )


def extract_demand(pods, offloadings):
    """Return (pending pods a provider could run, number of unschedulable pods that must stay on the consumer)."""
    offloaded = remote_namespaces(offloadings)
    demand, local_only = [], 0
    for pod in pods:
        if not is_unschedulable(pod):
            continue
        if may_run_on_provider(pod, offloaded):
            demand.append(pending_pod(pod))
        else:
            local_only += 1
    return demand, local_only


def node_ready(node):
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(condition.get("type") == "Ready" and condition.get("status") == "True" for condition in conditions)


def busy_nodes(pods):
    """Return the names of nodes that run at least one pod that has not finished, DaemonSet pods aside."""
    busy = set()
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            continue
        owners = (pod.get("metadata") or {}).get("ownerReferences") or []
        if any(owner.get("kind") == "DaemonSet" for owner in owners):
            continue
        busy.add(node)
    return busy


def last_finished(finished_pods):
    """Return {node name: latest time a container of a finished pod on that node terminated}."""
    latest = {}
    for pod in finished_pods:
        node = (pod.get("spec") or {}).get("nodeName")
        status = pod.get("status") or {}
        if not node or status.get("phase") not in TERMINAL_PHASES:
            continue
        for container in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
            finished = parse_time(((container.get("state") or {}).get("terminated") or {}).get("finishedAt"))
            if finished is not None and finished > latest.get(node, float("-inf")):
                latest[node] = finished
    return latest


def extract_providers(nodes, pods, policy, inventory=None, finished_pods=()):
    """Return a Provider per virtual node, with flavor, idle mark, billing start and last finished pod.

    inventory maps a virtual node name to {name, cloud, flavor, billing_start} given by the playbook; where it
    is silent the node's labels (oss-mlops.io/cloud, oss-mlops.io/flavor) and annotations are used.
    finished_pods are the Succeeded and Failed pods on the virtual nodes.
    """
    busy = busy_nodes(pods)
    finished = last_finished(finished_pods)
    providers = []
    for node in nodes:
        metadata = node["metadata"]
        labels = metadata.get("labels") or {}
        annotations = metadata.get("annotations") or {}
        known = (inventory or {}).get(metadata["name"], {})
        cloud = known.get("cloud") or labels.get(CLOUD_LABEL)
        flavor_name = known.get("flavor") or labels.get(FLAVOR_LABEL)
        billing_start = known.get("billing_start") or annotations.get(BILLING_START_ANNOTATION)
        providers.append(Provider(
            name=known.get("name") or labels.get(REMOTE_CLUSTER_ID_LABEL) or metadata["name"],
            node=metadata["name"],
            flavor=policy.flavor(cloud, flavor_name) if cloud and flavor_name else None,
            ready=node_ready(node),
            busy=metadata["name"] in busy,
            idle_since=parse_time(annotations.get(IDLE_SINCE_ANNOTATION)),
            billing_start=parse_time(billing_start) or parse_time(metadata.get("creationTimestamp")),
            scale_down_disabled=str(annotations.get(SCALE_DOWN_DISABLED_ANNOTATION, "")).lower() == "true",
            last_finished=finished.get(metadata["name"]),
        ))
    return providers


def read_cluster(cluster, config_map=None):
    """Return the objects the planner needs from the consumer: pods, virtual nodes, offloadings, settings."""
    pods = cluster.to_dict(cluster.call(cluster.core.list_pod_for_all_namespaces,
                                        field_selector="status.phase!=Succeeded,status.phase!=Failed"))
    settings = None
    if config_map:
        found = cluster.get_config_map(config_map["namespace"], config_map["name"])
        settings = (found or {}).get("data") if found else None
    nodes = cluster.list_nodes(label_selector=VIRTUAL_NODE_SELECTOR)
    # Finished pods show whether a provider worked since its idle mark. Only the pods on virtual nodes are read.
    finished_pods = []
    for node in nodes:
        on_node = cluster.to_dict(cluster.call(cluster.core.list_pod_for_all_namespaces,
                                               field_selector=f"spec.nodeName={node['metadata']['name']}"))
        finished_pods += [pod for pod in (on_node or {}).get("items") or []
                          if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES]
    return {
        "pods": (pods or {}).get("items") or [],
        "nodes": nodes,
        "finished_pods": finished_pods,
        "offloadings": cluster.list_liqo_objects("NamespaceOffloading"),
        "settings": settings,
    }
