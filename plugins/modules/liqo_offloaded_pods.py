#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: liqo_offloaded_pods
short_description: List, wait for or evict the pods a consumer runs on a provider's virtual nodes
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@OSS-MLOPS-PLATFORM)
description:
  - Runs against the consumer. Finds the virtual Nodes of O(remote_cluster_id) (labels
    C(liqo.io/type=virtual-node) and C(liqo.io/remote-cluster-id)) and the pods bound to them.
  - With O(action=list), only reports the pods. With O(action=wait), waits up to O(timeout) seconds for the
    running ones to finish. With O(action=evict), asks the Eviction API to evict each running pod, so
    PodDisruptionBudgets are honoured, and waits up to O(timeout) seconds for them to go.
  - Never fails because pods remain; RV(remaining) and RV(blocked) say which pods and why, so the caller
    decides whether to stop. Liqo 1.0.x's unpeer evicts every offloaded pod without waiting for it to finish,
    so a long-running job is lost unless the caller stops first.
  - Does not cordon the nodes; cordon them first so that no new pod arrives while waiting.
extends_documentation_fragment:
  - oss_mlops.multicloud.liqo
  - ansible.builtin.action_common_attributes
options:
  remote_cluster_id:
    description:
      - Liqo cluster ID of the provider whose virtual nodes are checked.
    type: str
    required: true
  action:
    description:
      - V(list) reports, V(wait) waits for the running pods to finish, V(evict) evicts them through the Eviction API.
    type: str
    choices: [list, wait, evict]
    default: list
  timeout:
    description:
      - Seconds to wait for running pods to finish (V(wait)) or to go after their eviction (V(evict)).
    type: int
    default: 600
attributes:
  check_mode:
    description: Lists the pods; V(wait) and V(evict) return at once without waiting or evicting.
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    description: Use C(group/oss_mlops.multicloud.liqo) in C(module_defaults) to set the shared options.
    support: full
    membership:
      - oss_mlops.multicloud.liqo
notes:
  - The options O(liqoctl_path) and O(liqoctl_version) are accepted so that the action group's
    C(module_defaults) apply, and are not used.
  - Pods in phase C(Succeeded) or C(Failed) count as finished.
seealso:
  - module: oss_mlops.multicloud.liqo_peering
  - module: oss_mlops.multicloud.liqo_leftovers
"""

EXAMPLES = r"""
- name: Wait up to an hour for the jobs offloaded to verda-v100-1 to finish
  oss_mlops.multicloud.liqo_offloaded_pods:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/mlops-consumer.yaml"
    remote_cluster_id: verda-v100-1
    action: wait
    timeout: 3600
  register: offloaded

- name: Stop when pods still run there
  ansible.builtin.assert:
    that: offloaded.remaining | length == 0
    fail_msg: "Still running on verda-v100-1: {{ offloaded.remaining | map(attribute='pod') | join(', ') }}"
"""

RETURN = r"""
nodes:
  description: Names of the provider's virtual Nodes.
  returned: always
  type: list
  elements: str
  sample: ["verda-v100-1"]
pods:
  description: Every pod found on those Nodes at the start, with namespace/name, phase, node and owner.
  returned: always
  type: list
  elements: dict
  sample: [{"pod": "kubeflow/train-0", "phase": "Running", "node": "verda-v100-1", "owner": "Job/train"}]
remaining:
  description: Pods still running (not Succeeded or Failed) on those Nodes when the module returned.
  returned: always
  type: list
  elements: dict
blocked:
  description:
    - Eviction requests the API refused, one line per pod with the API's reason, usually a PodDisruptionBudget.
  returned: always
  type: list
  elements: str
  sample: ["kubeflow/train-0: Cannot evict pod as it would violate the pod's disruption budget."]
timed_out:
  description: Whether O(timeout) passed with pods still running.
  returned: always
  type: bool
"""

import json
import time

from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_kube
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo import LiqoError, LiqoModule

try:
    from kubernetes import client as kube_client
    from kubernetes.client.exceptions import ApiException
except ImportError:
    kube_client = None  # LiqoModule.check_prerequisites reports the missing library.

FINISHED_PHASES = ("Succeeded", "Failed")
# Seconds between two reads while waiting.
POLL_INTERVAL = 2


def describe_pod(pod):
    metadata = pod.get("metadata") or {}
    owners = metadata.get("ownerReferences") or []
    return {
        "pod": f"{metadata.get('namespace')}/{metadata.get('name')}",
        "phase": (pod.get("status") or {}).get("phase"),
        "node": (pod.get("spec") or {}).get("nodeName"),
        "owner": f"{owners[0]['kind']}/{owners[0]['name']}" if owners else None,
    }


def running(pods):
    return [pod for pod in pods if (pod.get("status") or {}).get("phase") not in FINISHED_PHASES]


def eviction_refusal(error):
    """Return the API's reason for refusing an eviction, from the Status body of the error."""
    try:
        return json.loads(error.body).get("message") or error.reason
    except (TypeError, ValueError, AttributeError):
        return f"HTTP {error.status} {error.reason}"


class LiqoOffloadedPods(LiqoModule):
    """Report, wait for or evict the pods on the virtual nodes of one provider."""

    argument_spec = {
        "remote_cluster_id": {"type": "str", "required": True},
        "action": {"type": "str", "default": "list", "choices": ["list", "wait", "evict"]},
        "timeout": {"type": "int", "default": 600},
    }
    local_role = "consumer"

    def validate(self):
        if self.params["timeout"] < 0:
            raise LiqoError(f"timeout {self.params['timeout']} must be zero or a positive number of seconds")

    def check_prerequisites(self):
        """Check the library and the API; this module needs no liqoctl."""
        if not liqo_kube.HAS_KUBERNETES:
            self.module.fail_json(msg="the kubernetes Python library is required", **self.result)
        self.mask_credentials()
        self.connect(self.local)

    def run(self):
        api = self.local.api
        cluster_id = self.params["remote_cluster_id"]
        selector = f"liqo.io/type=virtual-node,liqo.io/remote-cluster-id={cluster_id}"
        self.nodes = [node["metadata"]["name"] for node in api.list_nodes(label_selector=selector)]
        pods = self.read_pods()
        self.result.update(
            nodes=self.nodes, pods=[describe_pod(pod) for pod in pods], blocked=[], timed_out=False,
            remaining=[describe_pod(pod) for pod in running(pods)],
        )
        action = self.params["action"]
        if action == "list" or not running(pods) or self.module.check_mode:
            return
        if action == "evict":
            self.evict(running(pods))
        self.wait()

    def read_pods(self):
        api = self.local.api
        pods = []
        for node in self.nodes:
            result = api.call(api.core.list_pod_for_all_namespaces, field_selector=f"spec.nodeName={node}")
            pods += (api.to_dict(result) or {}).get("items") or []
        return pods

    def evict(self, pods):
        api = self.local.api
        for pod in pods:
            metadata = pod["metadata"]
            body = kube_client.V1Eviction(
                metadata=kube_client.V1ObjectMeta(name=metadata["name"], namespace=metadata["namespace"])
            )
            try:
                api.core.create_namespaced_pod_eviction(
                    metadata["name"], metadata["namespace"], body, _request_timeout=liqo_kube.REQUEST_TIMEOUT
                )
            except ApiException as error:
                if error.status == 404:
                    continue
                if error.status != 429:
                    raise LiqoError(
                        f"Evicting pod {metadata['namespace']}/{metadata['name']} failed on "
                        f"{self.local.describe()}: HTTP {error.status} {eviction_refusal(error)}"
                    ) from error
                self.result["blocked"].append(f"{metadata['namespace']}/{metadata['name']}: {eviction_refusal(error)}")
                continue
            self.result["changed"] = True

    def wait(self):
        """Poll until no pod runs on the nodes; pods whose eviction was refused end the wait at once."""
        deadline = time.monotonic() + self.params["timeout"]
        while True:
            remaining = running(self.read_pods())
            self.result["remaining"] = [describe_pod(pod) for pod in remaining]
            if not remaining or self.result["blocked"]:
                return
            if time.monotonic() >= deadline:
                self.result["timed_out"] = True
                return
            time.sleep(POLL_INTERVAL)


def main():
    LiqoOffloadedPods().execute()


if __name__ == "__main__":
    main()
