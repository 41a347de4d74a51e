# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Classify failing offloaded pods into known causes, from a snapshot of the consumer's API objects.

The snapshot is plain data (API JSON dicts), so every rule is unit-tested without a cluster. diagnose()
returns findings (cause, subject, evidence, fix) and per-pod summaries; a failing pod that no rule explains
gets the cause "unknown" with its evidence, never a guessed cause.
"""

from __future__ import annotations

from ansible_collections.oss_mlops.multicloud.plugins.module_utils import diagnose_logs
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.diagnose_causes import (
    finding,
    object_subject,
    pod_subject,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.diagnose_network import (
    address_findings,
    cluster_findings,
    name_findings,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.diagnose_state import (
    ClusterView,
    container_problems,
    is_failing,
    pod_key,
    pod_role,
    summarize_pod,
)

OFFLOADING_ABORTED = "OffloadingAborted"
OFFLOADING_BACKOFF = "OffloadingBackOff"
QUOTA_MESSAGES = (
    "quota limit not found for this peering",
    "quota usage exceeded",
    "requests not set for container",
    "limits and requests are not equal",
    "user is cordoned",
)
IMAGE_PULL_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
# Registries only the consumer host reaches: the platform's local registry (port 5001, kind-registry),
# loopback and cluster-local names.
HOME_REGISTRY_MARKERS = ("localhost", "127.", "kind-registry", ":5001/", ".local/", ".cluster.local")


def diagnose(snapshot, platform_namespaces=(), step_services=()):
    """Return {"findings": [...], "pods": [...]} for a snapshot of the consumer."""
    view = ClusterView(snapshot, platform_namespaces)
    findings = cluster_findings(view, step_services)
    pods = []
    for pod in snapshot.get("pods") or []:
        pod_findings = classify_pod(view, pod)
        summary = summarize_pod(view, pod)
        summary["causes"] = sorted({item["cause"] for item in pod_findings})
        pods.append(summary)
        findings.extend(pod_findings)
    return {"findings": deduplicate(findings), "pods": pods}


def deduplicate(findings):
    seen = set()
    unique = []
    for item in findings:
        subject = item["subject"]
        key = (item["cause"], subject.get("kind"), subject.get("namespace"), subject.get("name"))
        if key in seen:
            continue
        seen.add(key)
        unique.append(item)
    return unique


def classify_pod(view, pod):
    """Return the findings for one pod; a failing pod without a known cause gets one "unknown" finding."""
    found = []
    for rule in (
        platform_placement,
        offloading_reason,
        quota_denial,
        scheduling_shortage,
        remote_unschedulable,
        image_pull,
        peering_state,
        log_findings,
    ):
        found.extend(rule(view, pod))
    if not found and is_failing(pod):
        found.append(unknown_finding(view, pod))
    return found


def unknown_finding(view, pod):
    evidence = list(view.state_evidence(pod))
    evidence += [f"event {event}" for event in view.event_lines(pod)]
    evidence += [f"log {line}" for line in view.log_lines(pod)[-5:]]
    evidence += view.notes.get(pod_key(pod), [])
    return finding("unknown", pod_subject(pod), evidence)


def platform_placement(view, pod):
    if pod_role(view, pod) != "platform" or not view.on_virtual_node(pod):
        return []
    metadata = pod["metadata"]
    owner = view.owner_description(pod)
    evidence = [
        f"node {pod['spec']['nodeName']} has label liqo.io/type=virtual-node",
        f"owner {owner} in platform namespace {metadata['namespace']}",
    ] + list(view.state_evidence(pod))
    offloading = view.offloading(metadata["namespace"])
    if offloading:
        evidence.append(
            f"namespace {metadata['namespace']} is offloaded with pod strategy "
            f"{offloading['pod_offloading_strategy']}"
        )
    return [finding("platform_on_virtual_node", pod_subject(pod), evidence, namespace=metadata["namespace"],
                    owner=owner)]


def offloading_reason(view, pod):
    reason = (pod.get("status") or {}).get("reason")
    if reason == OFFLOADING_ABORTED:
        return [aborted_finding(view, pod)]
    if reason == OFFLOADING_BACKOFF:
        return backoff_findings(view, pod)
    return []


def aborted_finding(view, pod):
    namespace = pod["metadata"]["namespace"]
    cluster_id = view.cluster_of_node(pod["spec"].get("nodeName"))
    evidence = [f"status.reason {OFFLOADING_ABORTED}, phase {(pod.get('status') or {}).get('phase')}"]
    evidence += [f"event {event}" for event in view.event_lines(pod, "ReflectionDisabled")]
    return finding("offloading_aborted", pod_subject(pod), evidence, namespace=namespace, cluster_id=cluster_id,
                   why=view.reflection_gap(namespace, cluster_id))


def backoff_findings(view, pod):
    """Return why Liqo rejected a pod before it ran: DaemonSet, timing, NamespaceMap bug or namespace state."""
    namespace = pod["metadata"]["namespace"]
    cluster_id = view.cluster_of_node(pod["spec"].get("nodeName"))
    evidence = [f"status.reason {OFFLOADING_BACKOFF}, bound to virtual node {pod['spec'].get('nodeName')}"]
    evidence += [f"event {event}" for event in view.event_lines(pod, "ReflectionDisabled")]
    subject = pod_subject(pod)
    if view.owner_kind(pod) == "DaemonSet":
        return [finding("offloading_backoff_daemonset", subject, evidence, owner=view.owner_description(pod))]
    bug = view.bidirectional_namespace_maps(cluster_id)
    if bug:
        return [finding("namespacemap_bidirectional_bug", subject, evidence + bug, version=view.liqo_version)]
    created = view.offloading_created(namespace)
    pod_created = pod["metadata"].get("creationTimestamp")
    if created and pod_created and pod_created < created:
        evidence.append(f"pod created {pod_created}, NamespaceOffloading created {created}")
        return [finding("created_before_offloading", subject, evidence)]
    gap = view.reflection_gap(namespace, cluster_id)
    if gap:
        return [finding("namespace_not_offloaded", subject, evidence, why=gap)]
    return []


def quota_denial(view, pod):
    messages = [event for event in view.event_lines(pod, "FailedReflection")
                if any(text in event for text in QUOTA_MESSAGES)]
    if not messages:
        return []
    detail = "The provider's quota webhook rejected the pod: " + messages[-1]
    return [finding("resources_not_in_slice", pod_subject(pod), [f"event {line}" for line in messages],
                    detail=detail)]


def scheduling_shortage(view, pod):
    """Return a finding for an opted-in pod the scheduler keeps off virtual nodes for lack of a resource."""
    if (pod.get("spec") or {}).get("nodeName") or not view.virtual_nodes:
        return []
    shortages = view.virtual_node_shortages(pod)
    if not shortages:
        return []
    events = view.event_lines(pod, "FailedScheduling")
    detail = "; ".join(shortages) + "."
    return [finding("resources_not_in_slice", pod_subject(pod), shortages + [f"event {line}" for line in events],
                    detail=detail)]


def remote_unschedulable(view, pod):
    if not view.on_virtual_node(pod) or (pod.get("status") or {}).get("phase") != "Pending":
        return []
    condition = view.condition(pod, "PodScheduled")
    if not condition or condition.get("status") != "False" or condition.get("reason") != "Unschedulable":
        return []
    evidence = [f"on the provider: PodScheduled False Unschedulable: {condition.get('message', '')}".strip()]
    detail = (
        "Check that the provider has a free node with what the pod requests (for GPUs: driver, device plugin, "
        "a node of the GPU pool)."
    )
    if view.requests_gpu(pod) and not view.virtual_node_pins_pods(pod["spec"]["nodeName"]):
        detail += (
            " The virtual node has no offloadingPatch.nodeSelector, so GPU pods can land on any provider node; "
            "create a virtual node per GPU pool with `liqoctl create virtualnode --node-selector`."
        )
        evidence.append(f"VirtualNode {pod['spec']['nodeName']} has no offloadingPatch.nodeSelector")
    return [finding("provider_lacks_resources", pod_subject(pod), evidence, detail=detail)]


def image_pull(view, pod):
    if not view.on_virtual_node(pod):
        return []
    found = []
    images = view.container_images(pod)
    for problem in container_problems(pod):
        if problem["reason"] not in IMAGE_PULL_REASONS:
            continue
        image = images.get(problem["container"], "")
        evidence = [f"container {problem['container']} waiting: {problem['reason']} {problem['message']}".strip()]
        pull_policy = view.pull_policy(pod, problem["container"])
        home_only = any(marker in image for marker in HOME_REGISTRY_MARKERS) or pull_policy == "Never"
        if pull_policy == "Never":
            evidence.append(f"imagePullPolicy Never: the image must already be on the node ({image})")
        cause = "image_only_at_home" if home_only else "image_pull_failed"
        found.append(finding(cause, pod_subject(pod), evidence, image=image))
    return found


def peering_state(view, pod):
    node_name = (pod.get("spec") or {}).get("nodeName")
    evidence = []
    if view.on_virtual_node(pod):
        evidence += view.node_problems(node_name)
        if (pod["metadata"].get("labels") or {}).get("liqo.io/remote-unavailable") == "true":
            evidence.append("pod label liqo.io/remote-unavailable=true: the provider is unreachable")
    else:
        evidence += [f"event {line}" for line in view.event_lines(pod, "FailedScheduling")
                     if "network-unavailable" in line]
    if not evidence:
        return []
    cluster_id = view.cluster_of_node(node_name) if node_name else "<provider>"
    return [finding("peering_unhealthy", pod_subject(pod), evidence, cluster_id=cluster_id)]


def log_findings(view, pod):
    lines = view.log_lines(pod)
    if not lines:
        return []
    signatures = diagnose_logs.read_signatures(lines)
    found = name_findings(view, pod, signatures["unresolved"])
    found += address_findings(view, pod, signatures["unreachable"])
    found += renamed_namespace_mentions(view, pod, signatures["namespaces"])
    return found


def renamed_namespace_mentions(view, pod, mentions):
    namespace = pod["metadata"]["namespace"]
    offloading = view.offloading(namespace)
    remote = view.remote_namespace(namespace)
    if not offloading or not remote or remote == namespace:
        return []
    lines = [mention["line"] for mention in mentions if mention["namespace"] == remote]
    if not lines:
        return []
    evidence = [f"log names namespace {remote}, the provider's name for {namespace}: {lines[0]}"]
    return [finding("namespace_renamed", pod_subject(pod), evidence, namespace=namespace, remote_namespace=remote)]


__all__ = ["diagnose", "pod_key", "object_subject"]
