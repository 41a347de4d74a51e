# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the snapshot that diagnose() classifies from the consumer's API. Only list, get and log calls are made."""

from __future__ import annotations

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.diagnose_state import (
    VIRTUAL_NODE_LABEL,
    is_failing,
    pod_key,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_kube import KubeAccessError

try:
    from kubernetes import client as kube_client
    from kubernetes.client.exceptions import ApiException
except ImportError:  # liqo_kube reports the missing library
    kube_client = None
    ApiException = Exception

NAMESPACE_MAPS = ("offloading.liqo.io", "v1beta1", "namespacemaps")
CONTROLLER_MANAGER = "liqo-controller-manager"
FABRIC_DAEMONSET = "liqo-fabric"


class SnapshotReader:
    """Collect pods, events, logs and the Liqo objects of one consumer into a plain-data snapshot."""

    def __init__(self, cluster, liqo_namespace, log_lines):
        self.cluster = cluster
        self.liqo_namespace = liqo_namespace
        self.log_lines = log_lines
        self.apps = kube_client.AppsV1Api(cluster.api_client)
        self.discovery = kube_client.DiscoveryV1Api(cluster.api_client)
        self.networking = kube_client.NetworkingV1Api(cluster.api_client)
        self.log_errors = []

    def items(self, method, *args, **kwargs):
        result = self.cluster.to_dict(self.cluster.call(method, *args, **kwargs))
        return (result or {}).get("items") or []

    def read(self, namespaces):
        """Return the snapshot for pods in the offloaded namespaces (or in `namespaces`) and on virtual nodes."""
        core = self.cluster.core
        offloadings = self.cluster.list_liqo_objects("NamespaceOffloading")
        wanted = set(namespaces) or {item["metadata"]["namespace"] for item in offloadings}
        all_pods = self.items(core.list_pod_for_all_namespaces)
        virtual_nodes = self.cluster.list_nodes("=".join(VIRTUAL_NODE_LABEL))
        virtual_names = {node["metadata"]["name"] for node in virtual_nodes}
        pods = [
            pod for pod in all_pods
            if pod["metadata"]["namespace"] in wanted or (pod.get("spec") or {}).get("nodeName") in virtual_names
        ]
        snapshot = {
            "liqo_version": self.liqo_version(),
            "namespace_offloadings": offloadings,
            "foreign_clusters": self.cluster.list_liqo_objects("ForeignCluster"),
            "virtual_node_objects": self.cluster.list_liqo_objects("VirtualNode"),
            "namespace_maps": self.namespace_maps(),
            "virtual_nodes": virtual_nodes,
            "pods": pods,
            "all_pods": all_pods,
            "services": self.items(core.list_service_for_all_namespaces),
            "endpoint_slices": self.items(self.discovery.list_endpoint_slice_for_all_namespaces),
            "daemon_sets": self.items(self.apps.list_namespaced_daemon_set, self.liqo_namespace),
            "network_policies": self.items(self.networking.list_network_policy_for_all_namespaces),
        }
        failing = [pod for pod in pods if is_failing(pod) or (pod.get("spec") or {}).get("nodeName") in virtual_names]
        snapshot["events"] = {pod_key(pod): self.pod_events(pod) for pod in failing}
        snapshot["logs"] = {pod_key(pod): self.pod_logs(pod) for pod in failing if is_failing(pod)}
        return snapshot

    def liqo_version(self):
        """Return the image tag of Liqo's controller-manager, which is the installed Liqo version, or None."""
        deployment = self.cluster.to_dict(
            self.cluster.call(self.apps.read_namespaced_deployment, CONTROLLER_MANAGER, self.liqo_namespace)
        )
        containers = (((deployment or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("containers")
        image = (containers or [{}])[0].get("image") or ""
        return image.rpartition(":")[2] if ":" in image else None

    def namespace_maps(self):
        group, version, plural = NAMESPACE_MAPS
        result = self.cluster.call(self.cluster.custom.list_cluster_custom_object, group, version, plural)
        return (result or {}).get("items") or []

    def pod_events(self, pod):
        metadata = pod["metadata"]
        selector = f"involvedObject.name={metadata['name']},involvedObject.kind=Pod"
        events = self.items(self.cluster.core.list_namespaced_event, metadata["namespace"], field_selector=selector)
        events.sort(key=lambda event: event.get("lastTimestamp") or event.get("eventTime") or "")
        return [{"type": event.get("type"), "reason": event.get("reason"), "message": event.get("message"),
                 "count": event.get("count")} for event in events]

    def pod_logs(self, pod):
        """Return the last log lines of each container; a container whose log cannot be read is noted and skipped."""
        logs = {}
        spec = pod.get("spec") or {}
        restarted = {item.get("name") for item in (pod.get("status") or {}).get("containerStatuses") or []
                     if item.get("restartCount")}
        for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            name = container["name"]
            text = self.read_log(pod, name, previous=name in restarted)
            if text:
                logs[name] = text.splitlines()[-self.log_lines:]
        return logs

    def read_log(self, pod, container, previous):
        metadata = pod["metadata"]
        try:
            return self.cluster.core.read_namespaced_pod_log(
                metadata["name"], metadata["namespace"], container=container, previous=previous,
                tail_lines=self.log_lines, _request_timeout=(10, 30),
            )
        except (ApiException, KubeAccessError, OSError) as error:
            # Pods that never started, or nodes whose kubelet does not serve logs, have none. The module reports it.
            reason = getattr(error, "reason", None) or str(error).splitlines()[0]
            self.log_errors.append(f"{pod_key(pod)} container {container}: {reason}")
            return ""
