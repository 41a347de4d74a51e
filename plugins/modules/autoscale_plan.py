#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: autoscale_plan
short_description: Plan which providers to rent for pending pods and which idle providers to return
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@OSS-MLOPS-PLATFORM)
description:
  - Reads the consumer cluster and returns a plan. It never changes anything; the C(autoscale.yml) playbook
    acts on the plan.
  - Demand is every pod the scheduler marked C(PodScheduled=False) with reason C(Unschedulable) that may run
    on a provider, because its namespace is offloaded with the C(Remote) or C(LocalAndRemote) pod offloading
    strategy or because it tolerates the taint C(virtual-node.liqo.io/not-allowed). Its CPU, memory and
    C(nvidia.com/gpu) requests count. Pods younger than O(batching_window) wait for the next run.
  - Capacity that exists or is coming takes pods first, so it is not rented twice. That is providers being
    provisioned (O(in_flight)), virtual nodes that are not Ready yet, and Ready providers that run no pod.
  - The remaining pods are bin-packed onto new providers, first fit by GPU, then CPU, then memory. The module
    compares a best-value packing with one single-flavor packing per flavor and picks the cheapest per hour,
    within O(max_providers), O(max_spend_per_hour) and the backoff of flavors that failed to provision.
  - A provider is idle when no unfinished pod runs on its virtual node. The time it became idle is kept in the
    annotation C(oss-mlops.io/idle-since) of the virtual node, which the playbook writes from RV(idle_marks), so
    it survives restarts of the controller.
  - The O(warm_pool) most recently idle providers are returned after O(warm_idle_time), the others after
    O(idle_time). With O(billing_aware), a provider past its idle time stays until O(release_margin) before
    its current billed increment ends.
  - Every decision carries its reasons.
options:
  kubeconfig:
    description:
      - Kubeconfig of the consumer cluster. Defaults to E(K8S_AUTH_KUBECONFIG), then E(KUBECONFIG), then
        C(~/.kube/config).
    type: path
  context:
    description: Context in O(kubeconfig); the current context when not set.
    type: str
  flavors:
    description:
      - Catalogue of the flavors the clouds rent.
    type: list
    elements: dict
    required: true
    suboptions:
      cloud:
        description: Cloud of the flavor, as in the C(oss-mlops.io/cloud) label of its virtual nodes.
        type: str
        required: true
      name:
        description: Flavor name, as in the C(oss-mlops.io/flavor) label of its virtual nodes.
        type: str
        required: true
      cpu:
        description: CPUs a provider of this flavor offers the consumer, as a Kubernetes quantity.
        type: raw
        required: true
      memory:
        description: Memory it offers, as a Kubernetes quantity such as V(20Gi).
        type: raw
        required: true
      gpu:
        description: Number of C(nvidia.com/gpu) it offers.
        type: int
        default: 0
      gpu_model:
        description: GPU model, matched against a pod's C(oss-mlops.io/gpu) node selector.
        type: str
      price_per_hour:
        description: Price per hour of one provider, in any currency used for all flavors. Required.
        type: float
      billing_increment:
        description:
          - Billed unit of time; each started increment is assumed to be charged in full. Seconds or a number
            with V(s), V(m), V(h), such as V(10m). V(0) for per-second billing.
        type: raw
        default: 1h
      boot_time:
        description: Estimate of the time from the create request to a Ready virtual node, such as V(8m).
        type: raw
        default: 10m
  min_providers:
    description: Providers kept at all times; idle ones are not released below this count.
    type: int
  max_providers:
    description: Maximum number of providers, joined, joining and in flight together. Default V(10).
    type: int
  max_spend_per_hour:
    description: Maximum total price per hour of all providers together. No limit when not set.
    type: float
  warm_pool:
    description: Number of idle providers that keep O(warm_idle_time); extra idle ones get O(idle_time). Default V(1).
    type: int
  warm_idle_time:
    description: Idle time of the warm pool, such as V(60m) (the default).
    type: raw
  idle_time:
    description: Idle time of idle providers beyond the warm pool, such as V(10m) (the default).
    type: raw
  billing_aware:
    description: Whether a provider past its idle time stays until just before its next billed increment.
    type: bool
  release_margin:
    description:
      - How long before a billed increment ends the release starts, such as V(2m) (the default). It must cover
        the unjoin and the delete request.
    type: raw
  batching_window:
    description: Pending pods younger than this are left for the next run, such as V(30s) (the default).
    type: raw
  backoff_initial:
    description: Backoff of a flavor after its first failed provisioning, doubled per failure. Default V(5m).
    type: raw
  backoff_max:
    description: Maximum backoff of a flavor. Default V(30m).
    type: raw
  backoff_reset:
    description: Failures older than this are forgotten. Default V(3h).
    type: raw
  in_flight:
    description: Providers being created that have no virtual node yet.
    type: list
    elements: dict
    default: []
    suboptions:
      cloud:
        description: Cloud of the flavor.
        type: str
        required: true
      flavor:
        description: Flavor name from O(flavors).
        type: str
        required: true
      count:
        description: Number of providers of this flavor being created.
        type: int
        default: 1
  failures:
    description: Latest failed provisioning per flavor, for the backoff.
    type: list
    elements: dict
    default: []
    suboptions:
      cloud:
        description: Cloud of the flavor.
        type: str
        required: true
      flavor:
        description: Flavor name.
        type: str
        required: true
      failed_at:
        description: When the last failure happened, RFC 3339 or seconds since the epoch.
        type: str
        required: true
      count:
        description: Failures in a row.
        type: int
        default: 1
  providers:
    description:
      - Inventory facts of providers, by virtual node name; they take precedence over the node's labels.
      - O(providers[].name) is the inventory hostname returned in RV(scale_down).
    type: list
    elements: dict
    default: []
    suboptions:
      node:
        description: Virtual node name, the provider's Liqo cluster ID.
        type: str
        required: true
      name:
        description: Inventory hostname of the provider.
        type: str
      cloud:
        description: Cloud of the provider.
        type: str
      flavor:
        description: Flavor of the provider.
        type: str
      billing_start:
        description: When the cloud started billing the VM, RFC 3339 or seconds since the epoch.
        type: str
  config_map:
    description:
      - ConfigMap in the consumer whose data overrides the policy options, so an administrator can change
        them without touching the inventory. Keys are the option names (O(idle_time), O(warm_pool), ...).
      - A missing ConfigMap is not an error.
    type: dict
    default: {namespace: oss-mlops, name: oss-mlops-autoscale}
    suboptions:
      namespace:
        description: Namespace of the ConfigMap.
        type: str
        default: oss-mlops
      name:
        description: Name of the ConfigMap.
        type: str
        default: oss-mlops-autoscale
  now:
    description: Time to plan for, RFC 3339 or seconds since the epoch; the current time when not set. For replays.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    description: Runs normally in check mode; the module only reads.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: N/A
  platform:
    description: Runs wherever the consumer's API is reachable, usually the controller.
    support: full
    platforms: posix
notes:
  - Prices are compared as given; every flavor must use the same currency.
  - Idle means no pod on the virtual node; utilisation below a threshold, as the Cluster Autoscaler uses, does
    not make a provider idle, because running GPU jobs cannot be moved.
seealso:
  - module: oss_mlops.multicloud.liqo_info
"""

EXAMPLES = r"""
- name: Plan the providers
  oss_mlops.multicloud.autoscale_plan:
    kubeconfig: /etc/oss-mlops/consumer.kubeconfig
    flavors:
      - {cloud: verda, name: 1V100.6V, cpu: 5, memory: 20Gi, gpu: 1, gpu_model: v100,
         price_per_hour: 0.39, billing_increment: 10m, boot_time: 8m}
      - {cloud: cpouta, name: standard.large, cpu: 3, memory: 7Gi, price_per_hour: 0.05,
         billing_increment: 1h, boot_time: 6m}
    max_providers: 4
    max_spend_per_hour: 3
    warm_pool: 1
  delegate_to: localhost
  register: plan

- name: Show why
  ansible.builtin.debug:
    var: plan.reasons
"""

RETURN = r"""
scale_up:
  description: One entry per provider to rent, with the pods it is for.
  returned: always
  type: list
  elements: dict
  sample: [{"action": "scale_up", "index": 0, "request": "verda-1v100-6v-20261204t190000-0", "cloud": "verda",
            "flavor": "1V100.6V", "price_per_hour": 0.39, "boot_time": 480.0, "pods": ["kubeflow/train-1"],
            "reasons": ["1 pending pod(s) fit: kubeflow/train-1", "uses 1 of 1 GPU(s), 4 of 5 CPU(s)"]}]
scale_down:
  description: Idle providers to unjoin and delete now.
  returned: always
  type: list
  elements: dict
  sample: [{"action": "scale_down", "provider": "verda-v100-1", "node": "verda-v100-1", "cloud": "verda",
            "flavor": "1V100.6V", "idle_since": "2026-12-04T18:00:00Z", "idle_time": 600.0,
            "release_at": "2026-12-04T19:00:00Z", "reasons": ["idle for 60.0 min since ...", "idle time reached"]}]
kept_idle:
  description: Idle providers kept for now, with the time of their release if nothing changes.
  returned: always
  type: list
  elements: dict
idle_marks:
  description: Virtual nodes that became idle in this run, with the time to write into their idle annotation.
  returned: always
  type: list
  elements: dict
  sample: [{"provider": "verda-v100-1", "node": "verda-v100-1", "idle_since": "2026-12-04T19:00:00Z"}]
idle_clears:
  description: Virtual nodes that run pods again; remove their idle annotation.
  returned: always
  type: list
  elements: dict
unprovidable_pods:
  description: Number of unschedulable pods that may not run on a provider (not offloaded, no toleration).
  returned: always
  type: int
pending_pods:
  description: Pods counted as demand, with their requests.
  returned: always
  type: list
  elements: dict
policy:
  description: The policy in effect after the ConfigMap overrides; durations in seconds.
  returned: always
  type: dict
reasons:
  description: Why the plan is what it is, one sentence each.
  returned: always
  type: list
  elements: str
now:
  description: Time the plan was made for.
  returned: always
  type: str
"""

import re
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import autoscale_cluster, liqo_kube
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale import Failure, InFlight, decide
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale_policy import (
    DEFAULT_POLICY,
    PolicyError,
    build_policy,
    merge_settings,
    policy_summary,
)

FLAVOR_SPEC = {
    "cloud": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "cpu": {"type": "raw", "required": True},
    "memory": {"type": "raw", "required": True},
    "gpu": {"type": "int", "default": 0},
    "gpu_model": {"type": "str"},
    "price_per_hour": {"type": "float"},
    "billing_increment": {"type": "raw", "default": "1h"},
    "boot_time": {"type": "raw", "default": "10m"},
}

ARGUMENT_SPEC = {
    "kubeconfig": {"type": "path", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG", "KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "flavors": {"type": "list", "elements": "dict", "required": True, "options": FLAVOR_SPEC},
    "min_providers": {"type": "int"},
    "max_providers": {"type": "int"},
    "max_spend_per_hour": {"type": "float"},
    "warm_pool": {"type": "int"},
    "warm_idle_time": {"type": "raw"},
    "idle_time": {"type": "raw"},
    "billing_aware": {"type": "bool"},
    "release_margin": {"type": "raw"},
    "batching_window": {"type": "raw"},
    "backoff_initial": {"type": "raw"},
    "backoff_max": {"type": "raw"},
    "backoff_reset": {"type": "raw"},
    "in_flight": {"type": "list", "elements": "dict", "default": [], "options": {
        "cloud": {"type": "str", "required": True},
        "flavor": {"type": "str", "required": True},
        "count": {"type": "int", "default": 1},
    }},
    "failures": {"type": "list", "elements": "dict", "default": [], "options": {
        "cloud": {"type": "str", "required": True},
        "flavor": {"type": "str", "required": True},
        "failed_at": {"type": "str", "required": True},
        "count": {"type": "int", "default": 1},
    }},
    "providers": {"type": "list", "elements": "dict", "default": [], "options": {
        "node": {"type": "str", "required": True},
        "name": {"type": "str"},
        "cloud": {"type": "str"},
        "flavor": {"type": "str"},
        "billing_start": {"type": "str"},
    }},
    "config_map": {"type": "dict", "default": {"namespace": "oss-mlops", "name": "oss-mlops-autoscale"}, "options": {
        "namespace": {"type": "str", "default": "oss-mlops"},
        "name": {"type": "str", "default": "oss-mlops-autoscale"},
    }},
    "now": {"type": "str"},
}


def open_cluster(kubeconfig, context):
    """Return the consumer's API access; tests replace this function."""
    return liqo_kube.KubeCluster(kubeconfig, context)


def build_in_flight(policy, entries):
    found = []
    for entry in entries:
        flavor = policy.flavor(entry["cloud"], entry["flavor"])
        if flavor is None:
            raise PolicyError(f"in_flight names flavor {entry['cloud']}/{entry['flavor']}, which is not in flavors.")
        if entry["count"] < 0:
            raise PolicyError(f"in_flight count for {entry['cloud']}/{entry['flavor']} is negative.")
        found.append(InFlight(flavor, entry["count"]))
    return found


def build_failures(entries):
    failures = []
    for entry in entries:
        try:
            failed_at = autoscale_cluster.parse_time(entry["failed_at"])
        except ValueError as error:
            raise PolicyError(f"failures: {error}") from error
        failures.append(Failure(entry["cloud"], entry["flavor"], failed_at, max(entry["count"], 1)))
    return failures


def request_name(entry, now):
    """Return a DNS-label name for a scale-up request, unique per flavor, run time and position."""
    stamp = time.strftime("%Y%m%dt%H%M%S", time.gmtime(now))
    text = f"{entry['cloud']}-{entry['flavor']}-{stamp}-{entry['index']}".lower()
    return re.sub(r"[^a-z0-9-]+", "-", text).strip("-")[:63]


def format_plan(plan, now):
    """Return the plan with times in RFC 3339, as annotations and logs carry them."""
    fmt = autoscale_cluster.format_time
    for entry in plan["scale_up"]:
        entry["request"] = request_name(entry, now)
    for entry in plan["scale_down"] + plan["kept_idle"]:
        entry["idle_since"] = fmt(entry["idle_since"])
        entry["release_at"] = fmt(entry["release_at"])
    for entry in plan["idle_marks"]:
        entry["idle_since"] = fmt(entry["idle_since"])
    return plan


def pod_summary(pod):
    return {"pod": pod.key, "cpu": pod.cpu, "memory": pod.memory, "gpu": pod.gpu, "gpu_model": pod.gpu_model,
            "created_at": autoscale_cluster.format_time(pod.created_at)}


def run_module(module):
    params = module.params
    options = {key: params.get(key) for key in DEFAULT_POLICY}
    try:
        now = autoscale_cluster.parse_time(params["now"]) if params["now"] else time.time()
        # Check the options alone first, so invalid input fails before the cluster is read.
        build_policy(merge_settings(options, None), params["flavors"])
    except (PolicyError, ValueError) as error:
        module.fail_json(msg=f"Invalid autoscaling policy: {error}")

    if not liqo_kube.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=liqo_kube.KUBERNETES_IMPORT_ERROR)
    kubeconfig = autoscale_cluster.kubeconfig_path(params["kubeconfig"])
    try:
        cluster = open_cluster(kubeconfig, params["context"])
        state = autoscale_cluster.read_cluster(cluster, params["config_map"])
    except liqo_kube.KubeAccessError as error:
        module.fail_json(msg=str(error))

    try:
        policy = build_policy(merge_settings(options, state["settings"]), params["flavors"])
        in_flight = build_in_flight(policy, params["in_flight"])
        failures = build_failures(params["failures"])
    except PolicyError as error:
        source = params["config_map"]
        module.fail_json(msg=f"Invalid autoscaling policy after the ConfigMap {source['namespace']}/{source['name']} "
                             f"overrides: {error}")

    inventory = {entry["node"]: entry for entry in params["providers"]}
    try:
        pods, unprovidable = autoscale_cluster.extract_demand(state["pods"], state["offloadings"])
        providers = autoscale_cluster.extract_providers(state["nodes"], state["pods"], policy, inventory,
                                                        state.get("finished_pods", ()))
    except ValueError as error:
        module.fail_json(msg=f"Cannot read the consumer's pods or virtual nodes: {error}")

    plan = format_plan(decide(policy, pods, providers, in_flight=in_flight, failures=failures, now=now), now)
    module.exit_json(
        changed=False,
        now=autoscale_cluster.format_time(now),
        policy=policy_summary(policy),
        pending_pods=[pod_summary(pod) for pod in pods],
        unprovidable_pods=unprovidable,
        **plan,
    )


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        run_module(module)
    except liqo_kube.KubeAccessError as error:
        module.fail_json(msg=str(error), exception=traceback.format_exc())


if __name__ == "__main__":
    main()
