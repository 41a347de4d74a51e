# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The known causes of failing offloaded pods, each with a title and the fix in plain words.

A finding names one cause, the object it concerns and the evidence read from the API; the fix text may
contain {placeholders} filled from the finding's details.
"""

from __future__ import annotations

CAUSES = {
    "namespace_renamed": {
        "title": "the namespace is offloaded with a mapping that renames it on the provider",
        "fix": (
            "Offloaded pods see namespace {remote_namespace} instead of {namespace}, so names like "
            "<service>.{namespace} and API calls for namespace {remote_namespace} fail. Run "
            "`liqoctl unoffload namespace {namespace} --skip-confirm`, wait until {remote_namespace} is gone on the "
            "provider, then offload it again with `--namespace-mapping-strategy EnforceSameName "
            "--pod-offloading-strategy Local` (the role mlops_offloading does this)."
        ),
    },
    "platform_on_virtual_node": {
        "title": "a platform workload runs on a virtual node",
        "fix": (
            "Platform pods must stay on the consumer: offload {namespace} with the Local pod strategy, add the "
            "required node affinity liqo.io/type NotIn [virtual-node] to {owner}, and delete this pod so that it is "
            "recreated at home (the role mlops_offloading does all three)."
        ),
    },
    "offloading_aborted": {
        "title": "Liqo aborted the offloading of a running pod (OffloadingAborted)",
        "fix": (
            "The pod is a leftover: reflection of namespace {namespace} to {cluster_id} stopped while it ran, and "
            "Liqo never offloads it again. Delete it; its controller has already created a replacement. {why}"
        ),
    },
    "offloading_backoff_daemonset": {
        "title": "a DaemonSet pod was placed on a virtual node (OffloadingBackOff)",
        "fix": (
            "DaemonSets tolerate every taint, so they also target virtual nodes, where Liqo rejects their pods. Add "
            "the required node affinity liqo.io/type NotIn [virtual-node] to DaemonSet {owner}."
        ),
    },
    "namespace_not_offloaded": {
        "title": "the pod's namespace is not offloaded to this provider (OffloadingBackOff)",
        "fix": "{why}",
    },
    "created_before_offloading": {
        "title": "the pod was created before its namespace was offloaded",
        "fix": (
            "Liqo rejects pods that reached the virtual node before the namespace was offloaded and never retries "
            "them. Delete the pod (or rerun the pipeline step) now that the namespace is offloaded, and create pods "
            "only after the join has finished."
        ),
    },
    "namespacemap_bidirectional_bug": {
        "title": "bidirectional peering with a Liqo version that picks the wrong NamespaceMap",
        "fix": (
            "Liqo before v1.0.0 can choose the NamespaceMap of the other direction when two clusters peer both "
            "ways, and pods end in OffloadingBackOff. Upgrade Liqo to v1.0.3 on both clusters (found {version})."
        ),
    },
    "service_not_mirrored": {
        "title": "a service name the pod calls does not exist on the provider",
        "fix": "{why}",
    },
    "service_not_found": {
        "title": "a service name the pod calls does not exist on the consumer either",
        "fix": (
            "No Service {service} exists in namespace {service_namespace} on the consumer. Correct the name in the "
            "pipeline code or arguments, or deploy the service."
        ),
    },
    "mirrored_service_without_endpoints": {
        "title": "a service the pod calls has no ready endpoints",
        "fix": (
            "Service {service_namespace}/{service} has no ready pod behind it{behind}, so its copy on the provider "
            "has none either. Make its pods run and become ready on the consumer (delete leftovers on virtual "
            "nodes, keep platform pods at home)."
        ),
    },
    "resources_not_in_slice": {
        "title": "the pod requests resources the provider's ResourceSlice does not grant",
        "fix": (
            "{detail} Request the resource when peering (for GPUs `liqoctl peer ... --resource nvidia.com/gpu=N`, "
            "or liqo_peer_resources in the inventory) or lower the pod's requests."
        ),
    },
    "provider_lacks_resources": {
        "title": "the provider has no node that fits the pod",
        "fix": (
            "Liqo 1.0 grants what a ResourceSlice requests without checking the provider's capacity, so the pod "
            "waits on the provider. {detail}"
        ),
    },
    "image_only_at_home": {
        "title": "the image is only available to the consumer",
        "fix": (
            "Image {image} comes from a registry or image store that only the consumer reaches. Push it to a "
            "registry the provider can pull from and add imagePullSecrets if it is private."
        ),
    },
    "image_pull_failed": {
        "title": "the provider cannot pull the image",
        "fix": (
            "Check that image {image} exists, that the provider VM reaches its registry (outbound 443, proxy, "
            "Docker Hub rate limits) and that imagePullSecrets are set for private registries."
        ),
    },
    "peering_unhealthy": {
        "title": "the peering with the provider is not healthy",
        "fix": (
            "Run `liqoctl info peer {cluster_id}` on the consumer and fix the module it reports as unhealthy; pods "
            "on the virtual node cannot work until it is healthy."
        ),
    },
    "data_plane_blocked": {
        "title": "the network path between the clusters is broken",
        "fix": (
            "{detail} Liqo needs its fabric pod on every node and, where NetworkPolicies exist, traffic to the "
            "virtual kubelet on TCP 10250, the webhooks on 9443 and 8443, WireGuard on UDP 51840 and Geneve on "
            "UDP 6091."
        ),
    },
    "unknown": {
        "title": "the failure matches no known cause",
        "fix": "Read the evidence; no known cause matched, so none is guessed.",
    },
}


class SafeDetails(dict):
    """Format mapping that leaves unknown {placeholders} as they are instead of failing."""

    def __missing__(self, key):
        return "{" + key + "}"


def finding(cause, subject, evidence, **details):
    """Return one finding: the cause, its title, the object concerned, the evidence and the fix."""
    entry = CAUSES[cause]
    return {
        "cause": cause,
        "title": entry["title"],
        "subject": subject,
        "evidence": [line for line in evidence if line],
        "fix": entry["fix"].format_map(SafeDetails(details)).strip(),
        "details": details,
    }


def pod_subject(pod):
    metadata = pod.get("metadata") or {}
    return {
        "kind": "Pod",
        "namespace": metadata.get("namespace"),
        "name": metadata.get("name"),
        "node": (pod.get("spec") or {}).get("nodeName"),
    }


def object_subject(kind, obj):
    metadata = obj.get("metadata") or {}
    return {"kind": kind, "namespace": metadata.get("namespace"), "name": metadata.get("name"), "node": None}
