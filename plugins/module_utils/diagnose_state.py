# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookups over a snapshot of the consumer for the diagnosis: pods, nodes, offloadings, services, events, logs."""

from __future__ import annotations

import re
from fractions import Fraction

from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_state
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.quantity import parse_quantity

VIRTUAL_NODE_LABEL = ("liqo.io/type", "virtual-node")
VIRTUAL_NODE_TAINT_KEY = "virtual-node.liqo.io/not-allowed"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
GPU_RESOURCE = "nvidia.com/gpu"
# Container waiting reasons that are part of a normal start, not a failure.
STARTING_REASONS = ("ContainerCreating", "PodInitializing")
PLATFORM_OWNER_KINDS = ("ReplicaSet", "StatefulSet", "DaemonSet", "Deployment")
# Liqo versions before this one pick the wrong NamespaceMap in bidirectional peerings.
NAMESPACE_MAP_FIX_VERSION = (1, 0, 0)
VERSION_NUMBERS = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.]+)?")


def pod_key(pod):
    metadata = pod.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"


def owner_reference(pod):
    owners = (pod.get("metadata") or {}).get("ownerReferences") or []
    controller = [owner for owner in owners if owner.get("controller")]
    return (controller or owners or [None])[0]


def pod_role(view, pod):
    """Return "step" (pipeline step), "platform" (Deployment, StatefulSet or DaemonSet of the platform) or "other"."""
    metadata = pod.get("metadata") or {}
    owner = owner_reference(pod) or {}
    if WORKFLOW_LABEL in (metadata.get("labels") or {}) or owner.get("kind") == "Workflow":
        return "step"
    if owner.get("kind") in PLATFORM_OWNER_KINDS and metadata.get("namespace") in view.platform_namespaces:
        return "platform"
    return "other"


def container_statuses(pod):
    status = pod.get("status") or {}
    return (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])


def container_problems(pod):
    """Return the containers that are waiting for a failure reason or ended with a non-zero exit code."""
    problems = []
    for container in container_statuses(pod):
        state = container.get("state") or {}
        waiting = state.get("waiting")
        terminated = state.get("terminated")
        if waiting and waiting.get("reason") and waiting["reason"] not in STARTING_REASONS:
            problems.append({"container": container.get("name"), "reason": waiting["reason"],
                             "message": waiting.get("message") or "", "restarts": container.get("restartCount", 0)})
        elif terminated and terminated.get("exitCode", 0) != 0:
            problems.append({"container": container.get("name"), "reason": terminated.get("reason") or "Error",
                             "message": f"exit code {terminated.get('exitCode')}",
                             "restarts": container.get("restartCount", 0)})
    return problems


def find_condition(pod, condition_type):
    return liqo_state.find_condition((pod.get("status") or {}).get("conditions"), condition_type)


def is_failing(pod):
    """Return whether the pod failed, was rejected, has a failing container or cannot be scheduled."""
    status = pod.get("status") or {}
    if status.get("phase") == "Failed" or status.get("reason"):
        return True
    if container_problems(pod):
        return True
    scheduled = find_condition(pod, "PodScheduled")
    return bool(scheduled and scheduled.get("status") == "False")


def termination_messages(pod):
    """Return the log lines that kubelets keep in terminated states (terminationMessagePolicy FallbackToLogsOnError)."""
    lines = []
    for container in container_statuses(pod):
        for state_key in ("lastState", "state"):
            message = ((container.get(state_key) or {}).get("terminated") or {}).get("message")
            if message:
                lines.extend(line for line in message.splitlines() if line.strip())
    return lines


def released_before(text, release):
    """Return whether version text (v1.0.0-rc.2, 1.0.3) comes before release; None when text is no version."""
    match = VERSION_NUMBERS.search(text or "")
    if not match:
        return None
    numbers = tuple(int(part) for part in match.groups()[:3])
    # A pre-release such as v1.0.0-rc.2 comes before v1.0.0.
    return numbers < release or (numbers == release and match.group(4) is not None)


def requested_resources(pod):
    """Return the pod's effective requests per resource: the sum over containers, at least any init container."""
    totals = {}
    spec = pod.get("spec") or {}
    for container in spec.get("containers") or []:
        for name, value in container_requests(container).items():
            totals[name] = totals.get(name, 0) + parse_quantity(value)
    for container in spec.get("initContainers") or []:
        for name, value in container_requests(container).items():
            totals[name] = max(totals.get(name, 0), parse_quantity(value))
    return totals


def container_requests(container):
    resources = container.get("resources") or {}
    # Extended resources such as GPUs are often set as limits only; requests then default to the limits.
    return {**(resources.get("limits") or {}), **(resources.get("requests") or {})}


def tolerates_virtual_nodes(pod):
    for toleration in (pod.get("spec") or {}).get("tolerations") or []:
        if toleration.get("key") == VIRTUAL_NODE_TAINT_KEY or (
            not toleration.get("key") and toleration.get("operator") == "Exists"
        ):
            return True
    return (pod.get("spec") or {}).get("runtimeClassName") == "liqo"


class ClusterView:
    """Indexes over one snapshot of the consumer, so each rule looks objects up by name, IP or label."""

    def __init__(self, snapshot, platform_namespaces):
        self.snapshot = snapshot
        self.platform_namespaces = set(platform_namespaces)
        self.liqo_version = snapshot.get("liqo_version")
        self.virtual_nodes = {node["metadata"]["name"]: node for node in snapshot.get("virtual_nodes") or []}
        self.virtual_node_objects = {
            item["metadata"]["name"]: item for item in snapshot.get("virtual_node_objects") or []
        }
        self.offloadings = {
            item["metadata"]["namespace"]: item for item in snapshot.get("namespace_offloadings") or []
        }
        self.services = {
            (item["metadata"]["namespace"], item["metadata"]["name"]): item for item in snapshot.get("services") or []
        }
        self.pods_by_ip = {}
        for pod in (snapshot.get("all_pods") or []) + (snapshot.get("pods") or []):
            for address in (pod.get("status") or {}).get("podIPs") or []:
                self.pods_by_ip.setdefault(address.get("ip"), pod)
        self.notes = {}

    def add_note(self, pod, text):
        self.notes.setdefault(pod_key(pod), []).append(text)

    def on_virtual_node(self, pod):
        return (pod.get("spec") or {}).get("nodeName") in self.virtual_nodes

    def cluster_of_node(self, node_name):
        node = self.virtual_nodes.get(node_name) or {}
        return ((node.get("metadata") or {}).get("labels") or {}).get(liqo_state.REMOTE_CLUSTER_ID_LABEL) or node_name

    def node_problems(self, node_name):
        node = self.virtual_nodes.get(node_name)
        if not node:
            return []
        problems = []
        if not liqo_state.node_ready(node):
            problems.append(f"virtual node {node_name} is not Ready")
        network = liqo_state.find_condition((node.get("status") or {}).get("conditions"), "NetworkUnavailable")
        if network and network.get("status") == "True":
            problems.append(f"virtual node {node_name} has NetworkUnavailable=True: the tunnel is not connected")
        return problems

    def virtual_node_pins_pods(self, node_name):
        patch = ((self.virtual_node_objects.get(node_name) or {}).get("spec") or {}).get("offloadingPatch") or {}
        return bool(patch.get("nodeSelector") or (patch.get("affinity") or {}).get("nodeAffinity"))

    def owner_kind(self, pod):
        return (owner_reference(pod) or {}).get("kind")

    def owner_description(self, pod):
        """Return 'Deployment ns/name' for a ReplicaSet's pod (the name without the template hash), else the owner."""
        owner = owner_reference(pod)
        namespace = pod["metadata"].get("namespace")
        if not owner:
            return f"pod {namespace}/{pod['metadata'].get('name')} (no owner)"
        template_hash = (pod["metadata"].get("labels") or {}).get("pod-template-hash")
        if owner.get("kind") == "ReplicaSet" and template_hash and owner["name"].endswith("-" + template_hash):
            return f"Deployment {namespace}/{owner['name'][: -len(template_hash) - 1]}"
        return f"{owner.get('kind')} {namespace}/{owner.get('name')}"

    def offloading(self, namespace):
        item = self.offloadings.get(namespace)
        return liqo_state.summarize_namespace_offloading(item) if item else None

    def offloading_created(self, namespace):
        return ((self.offloadings.get(namespace) or {}).get("metadata") or {}).get("creationTimestamp")

    def remote_namespace(self, namespace):
        summary = self.offloading(namespace)
        if not summary:
            return None
        return summary["remote_namespace"] or summary["remote_namespace_name"]

    def reflection_gap(self, namespace, cluster_id):
        """Return why namespace is not reflected to cluster_id, in plain words, or "" when it is."""
        summary = self.offloading(namespace)
        if not summary:
            return (
                f"Namespace {namespace} is not offloaded, so the virtual node of {cluster_id} does not run its pods. "
                f"Offload it (`liqoctl offload namespace {namespace} --namespace-mapping-strategy EnforceSameName`) "
                "or keep its pods off virtual nodes."
            )
        if summary["terminating"]:
            return f"The offloading of namespace {namespace} is being removed (unoffload in progress)."
        conditions = {item.get("type"): item for item in summary["remote_namespaces_conditions"].get(cluster_id, [])}
        required = conditions.get("OffloadingRequired")
        if not conditions or (required and required.get("status") != "True"):
            return (
                f"Namespace {namespace} is offloaded, but its cluster selector does not select {cluster_id}; add "
                f"{cluster_id} to the selector or keep the pod off that virtual node."
            )
        ready = conditions.get("Ready")
        if ready and ready.get("status") != "True":
            return (
                f"The remote namespace for {namespace} on {cluster_id} is not ready ({ready.get('reason')}); a "
                "namespace of that name may already exist on the provider without Liqo's annotation: delete it there."
            )
        return ""

    def bidirectional_namespace_maps(self, cluster_id):
        """Return evidence of the pre-1.0 NamespaceMap mix-up for cluster_id, or [] when it cannot apply."""
        if not released_before(self.liqo_version, NAMESPACE_MAP_FIX_VERSION):
            return []
        roles = {
            (item.get("spec") or {}).get("clusterID"): (item.get("status") or {}).get("role")
            for item in self.snapshot.get("foreign_clusters") or []
        }
        maps = [
            item for item in self.snapshot.get("namespace_maps") or []
            if ((item.get("metadata") or {}).get("labels") or {}).get(liqo_state.REMOTE_CLUSTER_ID_LABEL) == cluster_id
        ]
        if roles.get(cluster_id) != "ConsumerAndProvider" or len(maps) < 2:
            return []
        names = ", ".join(sorted(item["metadata"]["name"] for item in maps))
        return [
            f"ForeignCluster {cluster_id} has role ConsumerAndProvider",
            f"{len(maps)} NamespaceMaps for {cluster_id}: {names}",
            f"Liqo version {self.liqo_version}",
        ]

    def events(self, pod):
        return (self.snapshot.get("events") or {}).get(pod_key(pod)) or []

    def event_lines(self, pod, reason=None):
        return [
            f"{event.get('type', '')} {event.get('reason', '')}: {event.get('message', '')}".strip()
            for event in self.events(pod)
            if reason is None or event.get("reason") == reason
        ]

    def log_lines(self, pod):
        logs = (self.snapshot.get("logs") or {}).get(pod_key(pod)) or {}
        lines = []
        for container_lines in logs.values():
            lines.extend(container_lines)
        return lines + [line for line in termination_messages(pod) if line not in lines]

    def condition(self, pod, condition_type):
        return find_condition(pod, condition_type)

    def state_evidence(self, pod):
        status = pod.get("status") or {}
        evidence = [f"phase {status.get('phase')}" + (f", reason {status['reason']}" if status.get("reason") else "")]
        for problem in container_problems(pod):
            evidence.append(
                f"container {problem['container']} {problem['reason']} ({problem['message'] or 'no message'}, "
                f"{problem['restarts']} restarts)"
            )
        scheduled = find_condition(pod, "PodScheduled")
        if scheduled and scheduled.get("status") == "False":
            evidence.append(f"not scheduled: {scheduled.get('reason')} {scheduled.get('message', '')}".strip())
        return evidence

    def requests_gpu(self, pod):
        return requested_resources(pod).get(GPU_RESOURCE, 0) > 0

    def virtual_node_shortages(self, pod):
        """Return, for an opted-in pod, the resources it requests that no virtual node offers enough of."""
        scheduled = find_condition(pod, "PodScheduled")
        if not tolerates_virtual_nodes(pod) or not scheduled or scheduled.get("status") != "False":
            return []
        shortages = []
        for resource, amount in sorted(requested_resources(pod).items()):
            offers = {
                name: parse_quantity((node.get("status") or {}).get("allocatable", {}).get(resource, "0"))
                for name, node in self.virtual_nodes.items()
            }
            if offers and all(value < amount for value in offers.values()):
                offered = ", ".join(f"{name} offers {format_amount(value)}" for name, value in sorted(offers.items()))
                shortages.append(f"pod requests {resource}={format_amount(amount)} but {offered}")
        return shortages

    def container_images(self, pod):
        spec = pod.get("spec") or {}
        return {item["name"]: item.get("image", "") for item in (spec.get("initContainers") or [])
                + (spec.get("containers") or [])}

    def pull_policy(self, pod, container_name):
        spec = pod.get("spec") or {}
        for item in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            if item.get("name") == container_name:
                return item.get("imagePullPolicy")
        return None

    def endpoint_slices(self, namespace, service):
        return [
            item for item in self.snapshot.get("endpoint_slices") or []
            if item["metadata"].get("namespace") == namespace
            and (item["metadata"].get("labels") or {}).get("kubernetes.io/service-name") == service
        ]

    def ready_endpoints(self, namespace, service):
        """Return (ready addresses, not-ready addresses) of a Service, from its EndpointSlices."""
        ready, not_ready = [], []
        for endpoint_slice in self.endpoint_slices(namespace, service):
            for endpoint in endpoint_slice.get("endpoints") or []:
                conditions = endpoint.get("conditions") or {}
                # The EndpointSlice API counts an endpoint whose ready condition is unset as ready.
                target = ready if conditions.get("ready") is not False else not_ready
                target.extend(endpoint.get("addresses") or [])
        return ready, not_ready

    def describe_pod_ip(self, address):
        pod = self.pods_by_ip.get(address)
        if not pod:
            return None
        where = "virtual node " if self.on_virtual_node(pod) else "node "
        state = ", ".join(self.state_evidence(pod))
        return f"pod {pod_key(pod)} on {where}{(pod.get('spec') or {}).get('nodeName')} ({state})"


def format_amount(value):
    value = Fraction(value)
    return str(value.numerator) if value.denominator == 1 else str(float(value))


def summarize_pod(view, pod):
    """Return the pod's place, state, events and last log lines, as the module reports them."""
    metadata = pod.get("metadata") or {}
    status = pod.get("status") or {}
    return {
        "namespace": metadata.get("namespace"),
        "name": metadata.get("name"),
        "node": (pod.get("spec") or {}).get("nodeName"),
        "on_virtual_node": view.on_virtual_node(pod),
        "role": pod_role(view, pod),
        "owner": view.owner_description(pod),
        "phase": status.get("phase"),
        "reason": status.get("reason"),
        "pod_ip": status.get("podIP"),
        "failing": is_failing(pod),
        "state": view.state_evidence(pod),
        "events": view.event_lines(pod),
        "log_tail": view.log_lines(pod),
    }
