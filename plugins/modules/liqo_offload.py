#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: liqo_offload
short_description: Offload a namespace of the consumer to Liqo providers, or stop offloading it
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@oss-mlops)
description:
  - Runs against the consumer. Reads the NamespaceOffloading C(offloading) of O(namespace) first.
  - With O(state=present), runs C(liqoctl offload namespace) when the namespace is not offloaded yet, or when
    only the pod offloading strategy or the cluster selector differ. Does nothing when everything matches.
  - With O(state=absent), runs C(liqoctl unoffload namespace) when the namespace is offloaded.
extends_documentation_fragment:
  - oss_mlops.multicloud.liqo
options:
  namespace:
    description:
      - Namespace of the consumer to offload. It must exist.
    type: str
    required: true
  state:
    description:
      - V(present) offloads the namespace, V(absent) stops offloading it.
      - V(absent) deletes the remote namespaces on the providers and everything in them, PVCs included.
    type: str
    choices: [present, absent]
    default: present
  mapping_strategy:
    description:
      - How the remote namespaces are named (C(--namespace-mapping-strategy)).
      - Defaults to V(EnforceSameName), not Liqo's V(DefaultName), because pipeline code finds services by
        namespace (C(ml-pipeline.kubeflow.svc)); with V(DefaultName) the remote namespace is
        C(<namespace>-<consumer cluster ID>) and such names do not resolve on the provider.
      - V(SelectedName) uses O(remote_namespace_name).
      - This value cannot be updated on an offloaded namespace; the module fails instead.
    type: str
    choices: [EnforceSameName, DefaultName, SelectedName]
    default: EnforceSameName
  remote_namespace_name:
    description:
      - Name of the remote namespaces, with O(mapping_strategy=SelectedName) only.
      - This value cannot be updated on an offloaded namespace.
    type: str
  pod_offloading_strategy:
    description:
      - Where the pods of the namespace may run (C(--pod-offloading-strategy)). V(LocalAndRemote) is Liqo's default,
        V(Remote) sends every pod to a virtual node, V(Local) keeps them on the consumer unless a pod asks for
        the C(liqo) runtime class.
      - Making it stricter does not move pods that already run.
    type: str
    choices: [LocalAndRemote, Remote, Local]
    default: LocalAndRemote
  cluster_selector:
    description:
      - Label selectors on the labels of the virtual nodes (for example V(liqo.io/remote-cluster-id=verda-v100-1)
        or V(liqo.example/gpu=true)), each passed as one C(--selector) flag.
      - Each string is one term; requirements inside a string, separated by commas, must all match, and the
        terms are ORed, exactly as repeated C(-l) flags of liqoctl.
      - Supported operators are C(=), C(==), C(in), C(notin), C(key) (exists) and C(!key) (does not exist);
        liqoctl v1.0.3 rejects C(!=), so write C(key notin (value)) instead.
      - An empty list selects every provider.
    type: list
    elements: str
    default: []
  timeout:
    description:
      - Seconds liqoctl waits for the offloading to become ready, or for the unoffloading to finish.
    type: int
    default: 120
attributes:
  check_mode:
    description: Reads the NamespaceOffloading and predicts changed without running liqoctl.
    support: full
  diff_mode:
    description: Returns the current and requested strategies and cluster selector.
    support: full
  action_group:
    description: Use C(group/oss_mlops.multicloud.liqo) in C(module_defaults) to set the shared options.
    support: full
    membership:
      - oss_mlops.multicloud.liqo
notes:
  - Selectors are compared as liqoctl v1.0.3 converts them into NodeSelectorTerms, ignoring the order of
    terms and of requirements, so rewriting a selector in another order does not re-run liqoctl.
  - The module warns when no cluster matches the selector (phase C(NoClusterSelected)) or when creating a
    remote namespace failed (C(SomeFailed), C(AllFailed)).
  - Create the pods after the namespace is offloaded; pods created at the same time can be scheduled before
    Liqo's webhook knows the namespace.
seealso:
  - module: oss_mlops.multicloud.liqo_peering
  - module: oss_mlops.multicloud.liqo_info
"""

EXAMPLES = r"""
- name: Offload the GPU pipeline namespace to GPU providers only
  oss_mlops.multicloud.liqo_offload:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/mlops-consumer.yaml"
    namespace: kubeflow-gpu
    pod_offloading_strategy: Remote
    cluster_selector:
      - liqo.example/gpu=true
  delegate_to: localhost
  register: offload

- name: Offload a namespace to one provider, or to any k3s provider in Europe
  oss_mlops.multicloud.liqo_offload:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/mlops-consumer.yaml"
    namespace: batch-jobs
    cluster_selector:
      - liqo.io/remote-cluster-id=verda-v100-1
      - liqo.io/provider=k3s,region in (europe)
  delegate_to: localhost

- name: Stop offloading; the remote namespaces and their pods are deleted
  oss_mlops.multicloud.liqo_offload:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/mlops-consumer.yaml"
    namespace: kubeflow-gpu
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
namespace:
  description: The namespace the module worked on.
  returned: always
  type: str
  sample: kubeflow-gpu
offloading:
  description: The NamespaceOffloading after the module ran; null when the namespace is not offloaded.
  returned: always
  type: dict
  sample: {"namespace": "kubeflow-gpu", "mapping_strategy": "EnforceSameName", "remote_namespace_name": null,
           "pod_offloading_strategy": "Remote",
           "cluster_selector": [{"matchExpressions": [{"key": "liqo.example/gpu", "operator": "In",
                                                      "values": ["true"]}]}],
           "phase": "Ready", "remote_namespace": "kubeflow-gpu",
           "remote_namespaces_conditions": {"verda-v100-1": [{"type": "Ready", "status": "True",
                                                              "reason": "NamespaceCreated"}]},
           "observed_generation": 1, "generation": 1, "terminating": false}
phase:
  description: Offloading phase (Ready, NoClusterSelected, InProgress, SomeFailed, AllFailed, Terminating).
  returned: when the namespace is offloaded
  type: str
  sample: Ready
remote_namespace:
  description: Name of the namespace created on the selected providers.
  returned: when the namespace is offloaded
  type: str
  sample: kubeflow-gpu
remote_namespaces_conditions:
  description: Conditions of the remote namespace, per provider cluster ID.
  returned: when the namespace is offloaded
  type: dict
  sample: {"verda-v100-1": [{"type": "OffloadingRequired", "status": "True", "reason": "ClusterSelected"}]}
changes:
  description: What differs from the request; empty when nothing does.
  returned: always
  type: list
  elements: str
  sample: ["pod_offloading_strategy: LocalAndRemote -> Remote"]
liqoctl_version:
  description: Version reported by C(liqoctl version --client).
  returned: always
  type: str
  sample: v1.0.3
cmd:
  description: The liqoctl command that failed.
  returned: on liqoctl failure
  type: list
  elements: str
stderr:
  description: Standard error of the liqoctl command that failed, without colour codes.
  returned: on liqoctl failure
  type: str
"""

from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_state
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo import LiqoError, LiqoModule
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_install_spec import DNS1123_LABEL
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_selector import (
    SelectorError,
    selector_terms,
    terms_equal,
)

OFFLOADING_NAME = "offloading"
FAILED_PHASES = ("SomeFailed", "AllFailed")


def format_terms(terms):
    """Return NodeSelectorTerms as short text ('a In [x] AND b Exists OR ...') for messages."""
    if not terms:
        return "all clusters"
    rendered = []
    for term in terms:
        expressions = term.get("matchExpressions") or []
        parts = [f"{e.get('key')} {e.get('operator')} {e.get('values') or ''}".strip() for e in expressions]
        rendered.append(" AND ".join(parts))
    return " OR ".join(rendered)


class LiqoOffload(LiqoModule):
    """Offload one namespace of the consumer, or stop offloading it."""

    argument_spec = {
        "namespace": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "mapping_strategy": {
            "type": "str",
            "default": "EnforceSameName",
            "choices": ["EnforceSameName", "DefaultName", "SelectedName"],
        },
        "remote_namespace_name": {"type": "str"},
        "pod_offloading_strategy": {
            "type": "str",
            "default": "LocalAndRemote",
            "choices": ["LocalAndRemote", "Remote", "Local"],
        },
        "cluster_selector": {"type": "list", "elements": "str", "default": []},
        "timeout": {"type": "int", "default": 120},
    }
    module_kwargs = {"required_if": [("mapping_strategy", "SelectedName", ("remote_namespace_name",))]}
    local_role = "consumer"

    def validate(self):
        params = self.params
        if params["timeout"] <= 0:
            raise LiqoError(f"timeout {params['timeout']} must be a positive number of seconds")
        remote_name = params["remote_namespace_name"]
        if remote_name and params["mapping_strategy"] != "SelectedName":
            raise LiqoError(
                f"remote_namespace_name {remote_name} is only used with mapping_strategy SelectedName, not "
                f"{params['mapping_strategy']}; remove it or set mapping_strategy to SelectedName"
            )
        if remote_name and not (len(remote_name) <= 63 and DNS1123_LABEL.match(remote_name)):
            raise LiqoError(f"remote_namespace_name {remote_name!r} is not a valid namespace name (DNS-1123 label)")
        try:
            self.requested_terms = selector_terms(params["cluster_selector"])
        except SelectorError as error:
            raise LiqoError(str(error)) from error

    def run(self):
        namespace = self.params["namespace"]
        self.result.update(namespace=namespace, changes=[], offloading=None)
        api = self.local.api
        exists = api.get_namespace(namespace) is not None
        current = api.get_liqo_object("NamespaceOffloading", OFFLOADING_NAME, namespace=namespace) if exists else None

        if self.params["state"] == "absent":
            self.ensure_absent(current)
            return
        if not exists:
            raise LiqoError(
                f"Namespace {namespace} not found on {self.local.describe()}; create it before offloading it"
            )
        if current is None and self.read_cluster_id(self.local) is None:
            if self.module.check_mode:
                # In a check-mode run of a whole join, liqo_install only predicted the installation.
                self.result.update(changed=True, changes=[
                    f"offload namespace {namespace} once Liqo is installed on {self.local.describe()}"
                ])
                return
            raise LiqoError(
                f"Liqo is not installed on {self.local.describe()} (namespace {self.local.liqo_namespace}); "
                "install it and peer with a provider before offloading a namespace"
            )
        self.ensure_present(current)

    def requested(self):
        params = self.params
        return {
            "mapping_strategy": params["mapping_strategy"],
            "remote_namespace_name": params["remote_namespace_name"] or None,
            "pod_offloading_strategy": params["pod_offloading_strategy"],
            "cluster_selector": self.requested_terms,
        }

    def ensure_present(self, current):
        summary = liqo_state.summarize_namespace_offloading(current) if current else None
        if summary:
            self.check_unchangeable(summary)
            changes = self.differences(summary)
        else:
            changes = [f"offload namespace {self.params['namespace']}"]
        self.result["changes"] = changes
        if not changes:
            self.report(summary)
            return

        self.result["changed"] = True
        if self.module._diff:
            self.result["diff"] = {"before": self.comparable(summary), "after": self.requested()}
        if self.module.check_mode:
            self.report(summary)
            return
        self.run_liqoctl(self.offload_argv(), action=f"liqoctl offload namespace {self.params['namespace']}")
        self.report(self.read_offloading())

    def comparable(self, summary):
        if summary is None:
            return {}
        return {key: summary[key] for key in self.requested()}

    def check_unchangeable(self, summary):
        """Fail when the request would change the mapping strategy or the remote namespace name."""
        namespace = self.params["namespace"]
        if summary["terminating"]:
            raise LiqoError(
                f"Namespace {namespace} is still being unoffloaded (its NamespaceOffloading is terminating); "
                "run the module again when it is gone"
            )
        requested = self.requested()
        if all(summary[key] == requested[key] for key in ("mapping_strategy", "remote_namespace_name")):
            return
        current_remote = summary["remote_namespace"] or summary["remote_namespace_name"]
        requested_text = f"mapping strategy {requested['mapping_strategy']}"
        if requested["remote_namespace_name"]:
            requested_text += f" with remote namespace {requested['remote_namespace_name']}"
        raise LiqoError(
            f"Namespace {namespace} is offloaded with mapping strategy {summary['mapping_strategy']} (remote "
            f"namespace {current_remote}), but {requested_text} was requested. Liqo cannot change the mapping "
            "strategy or the remote namespace name of an offloaded namespace: request the current values, or run "
            "liqo_offload with state=absent and then state=present, which deletes the remote namespaces and "
            "everything running in them"
        )

    def differences(self, summary):
        requested = self.requested()
        changes = []
        if summary["pod_offloading_strategy"] != requested["pod_offloading_strategy"]:
            changes.append(
                f"pod_offloading_strategy: {summary['pod_offloading_strategy']} -> "
                f"{requested['pod_offloading_strategy']}"
            )
        if not terms_equal(summary["cluster_selector"], requested["cluster_selector"]):
            changes.append(
                f"cluster_selector: {format_terms(summary['cluster_selector'])} -> "
                f"{format_terms(requested['cluster_selector'])}"
            )
        return changes

    def offload_argv(self):
        params = self.params
        argv = ["offload", "namespace", params["namespace"]] + self.local.flags()
        argv += ["--namespace-mapping-strategy", params["mapping_strategy"]]
        if params["mapping_strategy"] == "SelectedName":
            argv += ["--remote-namespace-name", params["remote_namespace_name"]]
        argv += ["--pod-offloading-strategy", params["pod_offloading_strategy"]]
        for selector in params["cluster_selector"]:
            argv += ["--selector", selector]
        argv += ["--timeout", f"{params['timeout']}s"]
        return argv

    def read_offloading(self):
        namespace = self.params["namespace"]
        current = self.local.api.get_liqo_object("NamespaceOffloading", OFFLOADING_NAME, namespace=namespace)
        return liqo_state.summarize_namespace_offloading(current) if current else None

    def report(self, summary):
        self.result["offloading"] = summary
        if summary is None:
            return
        self.result.update(
            phase=summary["phase"],
            remote_namespace=summary["remote_namespace"],
            remote_namespaces_conditions=summary["remote_namespaces_conditions"],
        )
        self.warn_about_phase(summary)

    def warn_about_phase(self, summary):
        namespace = self.params["namespace"]
        if summary["phase"] == "NoClusterSelected":
            self.module.warn(
                f"Namespace {namespace} is offloaded, but no cluster matches the cluster selector "
                f"({format_terms(summary['cluster_selector'])}), so no pod can run remotely; check the labels of the "
                "virtual nodes"
            )
        elif summary["phase"] in FAILED_PHASES:
            self.module.warn(
                f"Offloading of namespace {namespace} is {summary['phase']}: a remote namespace could not be created "
                "(see remote_namespaces_conditions); a namespace of that name may already exist on the provider"
            )

    def ensure_absent(self, current):
        if current is None:
            return
        namespace = self.params["namespace"]
        self.result.update(changed=True, changes=[f"unoffload namespace {namespace}"])
        if self.module._diff:
            before = self.comparable(liqo_state.summarize_namespace_offloading(current))
            self.result["diff"] = {"before": before, "after": {}}
        if self.module.check_mode:
            self.result["offloading"] = liqo_state.summarize_namespace_offloading(current)
            return
        argv = ["unoffload", "namespace", namespace] + self.local.flags()
        argv += ["--timeout", f"{self.params['timeout']}s", "--skip-confirm"]
        self.run_liqoctl(argv, action=f"liqoctl unoffload namespace {namespace}")
        self.result["offloading"] = self.read_offloading()


def main():
    LiqoOffload().execute()


if __name__ == "__main__":
    main()
