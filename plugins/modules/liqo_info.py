#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: liqo_info
short_description: Read the Liqo installation, peerings, virtual nodes and offloaded namespaces of a cluster
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@oss-mlops)
description:
  - Runs C(liqoctl info -o json -v) and reads the Liqo objects through the Kubernetes API.
  - Returns whether Liqo is installed, its version, cluster ID, API server URL, labels and health,
    the network CIDRs and reserved subnets, the peerings with module states, the virtual nodes with
    capacity (GPUs included), the ResourceSlices and the offloaded namespaces.
  - Never changes anything. A cluster without Liqo gives RV(installed=false) and empty lists, not a failure.
extends_documentation_fragment:
  - oss_mlops.multicloud.liqo
options: {}
attributes:
  check_mode:
    description: Runs normally in check mode; the module only reads.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: N/A
  action_group:
    description: Use C(group/oss_mlops.multicloud.liqo) in C(module_defaults) to set the shared options.
    support: full
    membership:
      - oss_mlops.multicloud.liqo
notes:
  - The network section comes from C(liqoctl info -v); when liqoctl leaves a CIDR out, it is read
    from the Network objects the Liqo chart creates.
  - Virtual nodes show only the resources the consumer asked for in its ResourceSlice, because
    Liqo 1.0 does not discover provider resources.
seealso:
  - module: oss_mlops.multicloud.liqo_install
  - module: oss_mlops.multicloud.liqo_peering
  - module: oss_mlops.multicloud.liqo_offload
"""

EXAMPLES = r"""
- name: Read the Liqo state of the consumer
  oss_mlops.multicloud.liqo_info:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/mlops-consumer.yaml"
  delegate_to: localhost
  register: consumer_liqo

- name: Show the GPUs each virtual node offers
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.allocatable['nvidia.com/gpu'] | default(0) }} GPU(s), ready={{ item.ready }}"
  loop: "{{ consumer_liqo.virtual_nodes }}"

- name: Use the shared options for every Liqo module of a play
  module_defaults:
    group/oss_mlops.multicloud.liqo:
      kubeconfig: /etc/oss-mlops/consumer.kubeconfig
      liqoctl_path: /usr/local/bin/liqoctl
  block:
    - name: Fail when Liqo is unhealthy
      oss_mlops.multicloud.liqo_info:
      register: liqo
      failed_when: not liqo.installed or not liqo.healthy
"""

RETURN = r"""
installed:
  description: Whether Liqo is installed (C(liqoctl info) finds it and the cluster ID ConfigMap exists).
  returned: always
  type: bool
  sample: true
version:
  description: Installed Liqo version (tag of the controller-manager image).
  returned: always
  type: str
  sample: v1.0.3
cluster_id:
  description: Liqo cluster ID; null when Liqo is not installed.
  returned: always
  type: str
  sample: mlops-consumer
api_server_url:
  description: API server URL Liqo advertises to its peers.
  returned: always
  type: str
  sample: https://127.10.0.1:6443
cluster_labels:
  description: Cluster labels Liqo propagates to the virtual nodes peers create for this cluster.
  returned: always
  type: dict
  sample: {"liqo.io/provider": "kind"}
healthy:
  description: Whether every Liqo pod is healthy; false when Liqo is not installed.
  returned: always
  type: bool
unhealthy_pods:
  description: Liqo pods that are not healthy.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "liqo-controller-manager-5d8f", "status": "Pending", "ready_containers": 0,
            "total_containers": 1, "restarts": 3}]
network:
  description: Pod, service, external and internal CIDRs of the local cluster as Liqo records them.
  returned: always
  type: dict
  sample: {"pod_cidr": "10.244.0.0/16", "service_cidr": "10.96.0.0/16", "external_cidr": "10.70.0.0/16",
           "internal_cidr": "10.80.0.0/16"}
reserved_subnets:
  description: Reserved subnets, from the reserved-N Network objects, in chart order.
  returned: always
  type: list
  elements: str
  sample: ["172.18.0.0/16"]
peerings:
  description:
    - One entry per ForeignCluster, including those left with role C(Unknown) after an unpeer.
    - C(role) is the peer's role seen from this cluster; C(Provider) means this cluster consumes its resources.
  returned: always
  type: list
  elements: dict
  sample: [{"cluster_id": "verda-v100-1", "role": "Provider", "api_server_url": "https://127.10.1.1:6443",
            "tenant_namespace": "liqo-tenant-verda-v100-1",
            "modules": {"networking": {"enabled": true, "status": "Healthy", "conditions": []},
                        "authentication": {"enabled": true, "status": "Healthy", "conditions": []},
                        "offloading": {"enabled": true, "status": "Healthy", "conditions": []}},
            "conditions": []}]
virtual_nodes:
  description: Nodes labelled C(liqo.io/type=virtual-node), with capacity and allocatable resources.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "verda-v100-1", "cluster_id": "verda-v100-1", "ready": true, "unschedulable": false,
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "50", "nvidia.com/gpu": "1"},
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "50", "nvidia.com/gpu": "1"}, "labels": {}}]
resource_slices:
  description: ResourceSlices in every namespace, with requested (spec) and granted (status) resources.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "verda-v100-1", "namespace": "liqo-tenant-verda-v100-1", "provider_cluster_id": "verda-v100-1",
            "consumer_cluster_id": "mlops-consumer", "class": "default", "requested": {"cpu": "8"},
            "granted": {"cpu": "8", "memory": "8Gi"}, "authentication": "Accepted", "resources": "Accepted",
            "accepted": true, "conditions": []}]
offloaded_namespaces:
  description: NamespaceOffloading objects, one per offloaded namespace.
  returned: always
  type: list
  elements: dict
  sample: [{"namespace": "kubeflow-gpu", "mapping_strategy": "EnforceSameName", "remote_namespace_name": null,
            "pod_offloading_strategy": "Remote", "cluster_selector": [], "phase": "Ready",
            "remote_namespace": "kubeflow-gpu", "remote_namespaces_conditions": {}, "observed_generation": 1,
            "generation": 1, "terminating": false}]
liqoctl_version:
  description: Version reported by C(liqoctl version --client).
  returned: always
  type: str
  sample: v1.0.3
"""

from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_state
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo import LiqoModule


def empty_report():
    """Return the result of a cluster without Liqo: nothing installed, empty lists."""
    return {
        "installed": False,
        "version": None,
        "cluster_id": None,
        "api_server_url": None,
        "cluster_labels": {},
        "healthy": False,
        "unhealthy_pods": [],
        "network": {key: None for key in liqo_state.NETWORK_NAMES},
        "reserved_subnets": [],
        "peerings": [],
        "virtual_nodes": [],
        "resource_slices": [],
        "offloaded_namespaces": [],
    }


def merge_network(from_info, from_networks):
    return {key: from_info.get(key) or from_networks.get(key) for key in liqo_state.NETWORK_NAMES}


def peerings_report(foreign_clusters, info):
    """Return peerings from the ForeignClusters, plus info peers without a readable ForeignCluster."""
    peerings = [liqo_state.summarize_foreign_cluster(item) for item in foreign_clusters]
    known = {peering["cluster_id"] for peering in peerings}
    for peer in ((info or {}).get("peerings") or {}).get("peers") or []:
        if peer.get("clusterID") not in known:
            peerings.append(liqo_state.summarize_info_peer(peer))
    return sorted(peerings, key=lambda peering: peering["cluster_id"] or "")


class LiqoInfo(LiqoModule):
    """Report the Liqo state of one cluster without changing it."""

    def run(self):
        self.result.update(empty_report())
        info = self.liqoctl_info(self.local)
        cluster_id = self.read_cluster_id(self.local)
        if info is None or not (cluster_id or liqo_state.local_info(info)["cluster_id"]):
            return

        self.result.update(self.installation_report(info, cluster_id))
        self.result.update(self.object_report(info))

    def installation_report(self, info, cluster_id):
        local = liqo_state.local_info(info)
        return {
            "installed": True,
            "version": local["version"],
            "cluster_id": cluster_id or local["cluster_id"],
            "api_server_url": local["api_server_url"],
            "cluster_labels": local["cluster_labels"],
            "healthy": bool((info.get("health") or {}).get("healthy")),
            "unhealthy_pods": liqo_state.summarize_unhealthy_pods(info),
        }

    def object_report(self, info):
        api = self.local.api
        networks = api.list_liqo_objects("Network", namespace=self.local.liqo_namespace)
        virtual_nodes = api.list_nodes(label_selector=liqo_state.VIRTUAL_NODE_SELECTOR)
        return {
            "network": merge_network(liqo_state.cidrs_from_info(info), liqo_state.cidrs_from_networks(networks)),
            "reserved_subnets": liqo_state.reserved_subnets_from_networks(networks),
            "peerings": peerings_report(api.list_liqo_objects("ForeignCluster"), info),
            "virtual_nodes": sorted(
                (liqo_state.summarize_virtual_node(node) for node in virtual_nodes), key=lambda node: node["name"]
            ),
            "resource_slices": [
                liqo_state.summarize_resource_slice(item) for item in api.list_liqo_objects("ResourceSlice")
            ],
            "offloaded_namespaces": [
                liqo_state.summarize_namespace_offloading(item)
                for item in api.list_liqo_objects("NamespaceOffloading")
            ],
        }


def main():
    LiqoInfo().execute()


if __name__ == "__main__":
    main()
