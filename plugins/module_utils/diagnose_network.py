# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Diagnosis rules about names, addresses and the clusters' setup: offloadings, peerings, mirrored services."""

from __future__ import annotations

from ansible_collections.oss_mlops.multicloud.plugins.module_utils import diagnose_logs, liqo_state
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.diagnose_causes import (
    finding,
    object_subject,
    pod_subject,
)

SKIP_REFLECTION = "liqo.io/skip-reflection"
FABRIC_DAEMONSET = "liqo-fabric"


def cluster_findings(view, step_services):
    """Return findings about the setup that make offloaded pods fail, independent of any one pod."""
    found = []
    for namespace in sorted(view.offloadings):
        found.extend(mapping_findings(view, namespace))
    found.extend(peering_findings(view))
    found.extend(data_plane_findings(view))
    if view.offloadings:
        for reference in step_services:
            namespace, _sep, name = reference.partition("/")
            found.extend(step_service_findings(view, namespace, name))
    return found


def mapping_findings(view, namespace):
    summary = view.offloading(namespace)
    remote = view.remote_namespace(namespace)
    if summary["mapping_strategy"] == "EnforceSameName" or remote == namespace:
        return []
    evidence = [
        f"NamespaceOffloading {namespace}/offloading has namespaceMappingStrategy {summary['mapping_strategy']}",
        f"remote namespace is {remote or 'not yet known'}",
    ]
    offloading = view.offloadings[namespace]
    return [finding("namespace_renamed", object_subject("NamespaceOffloading", offloading), evidence,
                    namespace=namespace, remote_namespace=remote or f"{namespace}-<consumer cluster ID>")]


def peering_findings(view):
    found = []
    for foreign_cluster in view.snapshot.get("foreign_clusters") or []:
        summary = liqo_state.summarize_foreign_cluster(foreign_cluster)
        evidence = []
        for module_name, module in summary["modules"].items():
            if module["status"] != "Unhealthy":
                continue
            failing = [c for c in module["conditions"] if c.get("status") not in liqo_state.HEALTHY_CONDITION_STATUSES]
            text = "; ".join(f"{c.get('type')} {c.get('status')} {c.get('message', '')}".strip() for c in failing)
            evidence.append(f"module {module_name} Unhealthy: {text}")
        for node_name in view.virtual_nodes:
            if view.cluster_of_node(node_name) == summary["cluster_id"]:
                evidence.extend(view.node_problems(node_name))
        if evidence:
            found.append(finding("peering_unhealthy", object_subject("ForeignCluster", foreign_cluster), evidence,
                                 cluster_id=summary["cluster_id"]))
    return found


def data_plane_findings(view):
    """Return a finding when Liqo's fabric misses nodes or NetworkPolicies guard the tenant namespaces."""
    evidence = []
    for daemon_set in view.snapshot.get("daemon_sets") or []:
        if daemon_set["metadata"]["name"] != FABRIC_DAEMONSET:
            continue
        status = daemon_set.get("status") or {}
        desired, ready = status.get("desiredNumberScheduled", 0), status.get("numberReady", 0)
        if ready < desired:
            evidence.append(f"DaemonSet {FABRIC_DAEMONSET} has {ready} of {desired} pods ready")
    for policy in view.snapshot.get("network_policies") or []:
        namespace = policy["metadata"].get("namespace", "")
        if namespace.startswith("liqo-tenant-") or namespace == "liqo":
            evidence.append(f"NetworkPolicy {namespace}/{policy['metadata']['name']} applies to Liqo's pods")
    if not evidence:
        return []
    detail = "; ".join(evidence) + "."
    subject = {"kind": "Cluster", "namespace": None, "name": "consumer", "node": None}
    return [finding("data_plane_blocked", subject, evidence, detail=detail)]


def step_service_findings(view, namespace, name):
    service = view.services.get((namespace, name))
    if not service:
        return []
    subject = object_subject("Service", service)
    summary = view.offloading(namespace)
    if not summary:
        why = (
            f"Namespace {namespace} is not offloaded, so Service {namespace}/{name} has no copy on the providers and "
            f"{name}.{namespace} does not resolve there. Offload {namespace} with EnforceSameName and the Local pod "
            "strategy, which mirrors its Services without moving its pods (mlops_offloading_mirror_namespaces)."
        )
        return [finding("service_not_mirrored", subject, [f"no NamespaceOffloading in {namespace}"], why=why)]
    annotations = (service["metadata"].get("annotations") or {})
    if annotations.get(SKIP_REFLECTION, "false").lower() != "false":
        why = f"Service {namespace}/{name} has annotation {SKIP_REFLECTION}; remove it so Liqo mirrors the Service."
        return [finding("service_not_mirrored", subject, [f"annotation {SKIP_REFLECTION}"], why=why)]
    return endpoint_findings(view, subject, namespace, name)


def endpoint_findings(view, subject, namespace, name):
    service = view.services[(namespace, name)]
    if not (service.get("spec") or {}).get("selector"):
        return []
    ready, not_ready = view.ready_endpoints(namespace, name)
    if ready:
        return []
    evidence = [f"Service {namespace}/{name} has no ready endpoint"]
    behind = []
    for address in not_ready:
        description = view.describe_pod_ip(address) or "no pod known"
        behind.append(f"{address} is {description}")
    evidence += behind
    behind_text = f" (not ready: {'; '.join(behind)})" if behind else ""
    return [finding("mirrored_service_without_endpoints", subject, evidence, service=name,
                    service_namespace=namespace, behind=behind_text)]


def name_findings(view, pod, unresolved):
    """Return findings for cluster DNS names in the pod's log that did not resolve on the provider."""
    found = []
    for entry in unresolved:
        reference = diagnose_logs.service_reference(entry["host"])
        if not reference:
            view.add_note(pod, f"host {entry['host']} did not resolve and is no <service>.<namespace> name")
            continue
        found.extend(name_finding(view, pod, entry, *reference))
    return found


def name_finding(view, pod, entry, service_name, namespace):
    subject = pod_subject(pod)
    evidence = [f"log: {entry['line'].strip()}"]
    service = view.services.get((namespace, service_name))
    if not service:
        view.add_note(pod, f"{entry['host']} names no Service of the consumer")
        if namespace not in {item[0] for item in view.services}:
            return []
        return [finding("service_not_found", subject, evidence, service=service_name, service_namespace=namespace)]
    cluster_ip = (service.get("spec") or {}).get("clusterIP")
    evidence.append(f"{entry['host']} is Service {namespace}/{service_name} on the consumer (ClusterIP {cluster_ip})")
    summary = view.offloading(namespace)
    if summary and view.remote_namespace(namespace) not in (None, namespace):
        remote = view.remote_namespace(namespace)
        evidence.append(f"its copy on the provider is in namespace {remote}, not {namespace}")
        return [finding("namespace_renamed", subject, evidence, namespace=namespace, remote_namespace=remote)]
    mirror = step_service_findings(view, namespace, service_name)
    for item in mirror:
        item["subject"] = subject
        item["evidence"] = evidence + item["evidence"]
    return mirror


def address_findings(view, pod, unreachable):
    """Return findings for IP addresses in the pod's log that did not answer, matched against the consumer."""
    found = []
    for entry in unreachable:
        address = entry["ip"]
        service = service_with_cluster_ip(view, address)
        evidence = [f"log: {entry['line'].strip()}"]
        if service:
            namespace, name = service["metadata"]["namespace"], service["metadata"]["name"]
            evidence.append(f"{address} is the ClusterIP of Service {namespace}/{name} on the consumer")
            items = endpoint_findings(view, pod_subject(pod), namespace, name)
            if items:
                items[0]["evidence"] = evidence + items[0]["evidence"]
                found.extend(items)
            else:
                view.add_note(pod, evidence[-1] + "; a consumer ClusterIP is not routed to providers")
            continue
        description = view.describe_pod_ip(address)
        if description is None:
            view.add_note(pod, f"{address} matches no Service or pod of the consumer")
            continue
        found.extend(pod_address_finding(view, pod, address, description, evidence))
    return found


def pod_address_finding(view, pod, address, description, evidence):
    target = view.pods_by_ip[address]
    if not_serving(target):
        evidence.append(f"{address} is {description}")
        namespace = target["metadata"]["namespace"]
        services = services_behind(view, namespace, address) or [view.owner_description(target)]
        return [finding("mirrored_service_without_endpoints", pod_subject(pod), evidence, service=services[0],
                        service_namespace=namespace, behind=f" ({address} is {description})")]
    view.add_note(pod, f"{address} is {description}, which is ready; the path between the clusters is suspect")
    return []


def services_behind(view, namespace, address):
    """Return the names of the Services in namespace whose EndpointSlices list address."""
    names = []
    for item in view.snapshot.get("endpoint_slices") or []:
        if item["metadata"].get("namespace") != namespace:
            continue
        addresses = [value for endpoint in item.get("endpoints") or [] for value in endpoint.get("addresses") or []]
        service = (item["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
        if address in addresses and service and service not in names:
            names.append(service)
    return names


def not_serving(pod):
    status = pod.get("status") or {}
    ready = liqo_state.find_condition(status.get("conditions"), "Ready")
    return status.get("phase") != "Running" or not ready or ready.get("status") != "True"


def service_with_cluster_ip(view, address):
    for service in view.services.values():
        spec = service.get("spec") or {}
        if address in (spec.get("clusterIPs") or [spec.get("clusterIP")]):
            return service
    return None
