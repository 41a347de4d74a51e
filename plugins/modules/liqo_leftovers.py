#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: liqo_leftovers
short_description: Find and remove Liqo state that one cluster still keeps about a remote cluster ID
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@OSS-MLOPS-PLATFORM)
description:
  - Runs against one cluster (O(kubeconfig), O(context)) and looks for everything tied to O(remote_cluster_id)
    there. It reads every Liqo custom resource (any CRD of a C(*.liqo.io) group) labelled with that ID
    (C(liqo.io/remote-cluster-id), C(liqo.io/remoteID), C(liqo.io/originID)) or living in a tenant namespace
    of that ID, the Secrets of those namespaces, the virtual Nodes of the ID, the pods bound to them and the
    ForeignCluster named after the ID.
  - With O(scope=stale), removes only what blocks or breaks a new peering with the same ID while no peering
    works, as Liqo 1.0.x leaves it after an unpeer or a failed peering. It removes the finalizers of
    objects stuck Terminating for at least O(stuck_after) seconds and of every object in a terminating tenant
    namespace. It deletes C(liqo-signed-nonce) and C(liqo-nonce) Secrets and ResourceSlices when this side no
    longer holds a Tenant or a control-plane Identity, and NamespaceMaps and virtual Nodes whose VirtualNode is
    gone. Last, it deletes a ForeignCluster with role C(Unknown) when nothing of the peering is left. A
    healthy peering is never touched.
  - With O(scope=all), removes everything tied to the ID, for a remote cluster that is gone for good.
    liqoctl 1.0.x cannot unpeer a cluster whose API server is unreachable. This scope force-deletes the pods
    on its virtual nodes, deletes every object found, strips the finalizers whose controller can no longer
    finish, and waits for the tenant namespaces to disappear.
  - Every deletion is followed by the removal of the object's finalizers when it is still there, because the
    controllers that would remove them wait for the remote cluster or are gone.
  - Talks to the Kubernetes API only; liqoctl is not run.
extends_documentation_fragment:
  - oss_mlops.multicloud.liqo
  - ansible.builtin.action_common_attributes
options:
  remote_cluster_id:
    description:
      - Liqo cluster ID of the other cluster of the pair, whose state this cluster holds.
    type: str
    required: true
  scope:
    description:
      - V(stale) removes only leftovers of an ended or broken peering; V(all) removes every object tied to
        O(remote_cluster_id).
    type: str
    choices: [stale, all]
    default: stale
  remote_authenticated:
    description:
      - Whether the other cluster still holds its half of the authentication (a Tenant on the provider for
        this consumer, a control-plane Identity on the consumer for this provider).
      - V(false) makes this side's Tenant or Identity for O(remote_cluster_id) stale, so a new peering starts
        from a clean pair instead of reusing a half that the peer no longer matches.
      - Not set means unknown; Tenants and Identities are then left alone.
    type: bool
  stuck_after:
    description:
      - Seconds an object must have been Terminating with finalizers before O(scope=stale) removes them.
        A shorter wait could race a Liqo controller that is still finishing its cleanup.
    type: int
    default: 60
  timeout:
    description:
      - Seconds to wait for deleted tenant namespaces and objects to disappear.
    type: int
    default: 120
attributes:
  check_mode:
    description: Reads the cluster and returns the plan in RV(leftovers) without changing anything.
    support: full
  diff_mode:
    description: Not supported; RV(leftovers) lists each object and what would happen to it.
    support: none
  platform:
    description: Runs where the kubeconfig is readable, usually the controller.
    platforms: posix
  action_group:
    description: Use C(group/oss_mlops.multicloud.liqo) in C(module_defaults) to set the shared options.
    support: full
    membership:
      - oss_mlops.multicloud.liqo
notes:
  - The options O(liqoctl_path) and O(liqoctl_version) are accepted so that the action group's
    C(module_defaults) apply, and are not used.
  - A second run finds nothing and reports no change.
  - Run it on both clusters of a pair, each time with the other cluster's ID.
seealso:
  - module: oss_mlops.multicloud.liqo_peering
  - module: oss_mlops.multicloud.liqo_install
"""

EXAMPLES = r"""
- name: Report what a re-peering with verda-v100-1 would trip over, without changing anything
  oss_mlops.multicloud.liqo_leftovers:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/mlops-consumer.yaml"
    remote_cluster_id: verda-v100-1
  check_mode: true
  register: leftovers

- name: Remove everything the consumer holds about a provider whose VM was deleted
  oss_mlops.multicloud.liqo_leftovers:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/mlops-consumer.yaml"
    remote_cluster_id: verda-v100-1
    scope: all
  register: removed

- name: Show what was removed
  ansible.builtin.debug:
    var: removed.removed
"""

RETURN = r"""
remote_cluster_id:
  description: The remote cluster ID the module looked for.
  returned: always
  type: str
  sample: verda-v100-1
leftovers:
  description:
    - Objects found for removal, in the order they are (or would be) handled. C(delete) false means only the
      finalizers are removed, and Kubernetes finishes the deletion that is already under way.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "ResourceSlice", "api_version": "authentication.liqo.io/v1beta1",
            "namespace": "liqo-tenant-verda-v100-1", "name": "verda-v100-1", "delete": false,
            "strip_finalizers": true, "finalizers": ["crdreplicator.liqo.io/resource"],
            "reason": "holds finalizers in a terminating tenant namespace"}]
summary:
  description: One line per entry of RV(leftovers).
  returned: always
  type: list
  elements: str
  sample: ["Secret liqo-tenant-verda-v100-1/liqo-signed-nonce: delete: signed nonce left from an earlier
           authentication; liqoctl rejects a new nonce while it exists"]
removed:
  description: The objects this run deleted or released from their finalizers; empty in check mode.
  returned: always
  type: list
  elements: str
  sample: ["Secret liqo-tenant-verda-v100-1/liqo-signed-nonce"]
blocked:
  description: Why some leftovers cannot be removed safely, such as pods still running on an orphaned virtual node.
  returned: always
  type: list
  elements: str
authenticated:
  description: Whether this cluster holds its half of the authentication with the remote cluster (a Tenant or a
    control-plane Identity) before the run.
  returned: always
  type: bool
"""

import time

from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_kube
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_leftovers as plan_rules
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo import LiqoError, LiqoModule

try:
    from kubernetes import client as kube_client
except ImportError:
    kube_client = None  # LiqoModule.check_prerequisites reports the missing library.

LIQO_GROUP_SUFFIX = "liqo.io"
# Seconds between two reads while waiting for deleted objects to disappear.
POLL_INTERVAL = 1
STRIP_FINALIZERS = {"metadata": {"finalizers": None}}


class LiqoResource:
    """One Liqo custom resource type as the API serves it."""

    def __init__(self, kind, group, version, plural, namespaced):
        self.kind = kind
        self.group = group
        self.version = version
        self.plural = plural
        self.namespaced = namespaced


class LiqoLeftovers(LiqoModule):
    """Find and remove what the cluster keeps about one remote cluster ID."""

    argument_spec = {
        "remote_cluster_id": {"type": "str", "required": True},
        "scope": {"type": "str", "default": "stale", "choices": ["stale", "all"]},
        "remote_authenticated": {"type": "bool"},
        "stuck_after": {"type": "int", "default": 60},
        "timeout": {"type": "int", "default": 120},
    }

    def validate(self):
        params = self.params
        if not params["remote_cluster_id"].strip():
            raise LiqoError("remote_cluster_id is empty; set it to the Liqo cluster ID of the other cluster")
        for name in ("stuck_after", "timeout"):
            if params[name] < 0:
                raise LiqoError(f"{name} {params[name]} must be zero or a positive number of seconds")

    def check_prerequisites(self):
        """Check the library and the API; unlike the other Liqo modules, this one needs no liqoctl."""
        if not liqo_kube.HAS_KUBERNETES:
            self.module.fail_json(msg="the kubernetes Python library is required", **self.result)
        self.mask_credentials()
        self.connect(self.local)

    def run(self):
        cluster_id = self.params["remote_cluster_id"].strip()
        self.api = self.local.api
        self.resources = self.discover_resources()
        snapshot = self.read_snapshot(cluster_id)
        plan, blocked = self.plan(snapshot)
        self.result.update(
            remote_cluster_id=cluster_id, leftovers=plan, summary=plan_rules.summarize(plan), removed=[],
            blocked=blocked, authenticated=snapshot.authenticated(),
        )
        if blocked:
            raise LiqoError(
                f"Cannot remove the leftovers of {cluster_id} on {self.local.describe()}: {'; '.join(blocked)}. "
                "Let those pods finish or move them, then run again"
            )
        if not plan:
            return
        self.result["changed"] = True
        if self.module.check_mode:
            return
        self.carry_out(plan)
        self.wait_until_gone(cluster_id)

    def plan(self, snapshot):
        now = plan_rules.now_utc()
        return plan_rules.plan_removals(
            snapshot, self.params["scope"], now, self.params["stuck_after"], self.params["remote_authenticated"]
        )

    # -- reading ----------------------------------------------------------------------------------------------

    def discover_resources(self):
        """Return kind -> LiqoResource for every resource of a *.liqo.io API group this cluster serves.

        Reads the discovery documents instead of the CRDs, whose OpenAPI schemas make a list of all CRDs several
        megabytes on a cluster with Kubeflow and Istio.
        """
        groups = self.api.to_dict(self.api.call(kube_client.ApisApi(self.api.api_client).get_api_versions)) or {}
        resources = {}
        for group in groups.get("groups") or []:
            name = group.get("name") or ""
            if not (name == LIQO_GROUP_SUFFIX or name.endswith("." + LIQO_GROUP_SUFFIX)):
                continue
            version = (group.get("preferredVersion") or {}).get("version")
            listing = self.api.to_dict(self.api.call(self.api.custom.get_api_resources, name, version)) or {}
            for resource in listing.get("resources") or []:
                if "/" in resource["name"]:
                    continue  # a subresource such as status
                resources[resource["kind"]] = LiqoResource(
                    resource["kind"], name, version, resource["name"], resource.get("namespaced", False)
                )
        return resources

    def read_snapshot(self, cluster_id):
        namespaces = self.read_tenant_namespaces(cluster_id)
        namespace_names = {namespace["metadata"]["name"] for namespace in namespaces}
        objects, foreign_cluster = [], None
        for resource in self.resources.values():
            for obj in self.list_custom(resource):
                in_tenant_namespace = obj["metadata"].get("namespace") in namespace_names
                if resource.kind == "ForeignCluster":
                    if obj["metadata"]["name"] == cluster_id or plan_rules.tied_to(obj, cluster_id):
                        foreign_cluster = obj
                elif in_tenant_namespace or plan_rules.tied_to(obj, cluster_id):
                    objects.append(obj)
        objects += self.read_secrets(cluster_id, namespace_names)
        nodes = self.read_virtual_nodes(cluster_id)
        pods = [pod for node in nodes for pod in self.read_pods(node["metadata"]["name"])]
        return plan_rules.Snapshot(
            cluster_id, objects=objects, namespaces=namespaces, nodes=nodes, pods=pods, foreign_cluster=foreign_cluster
        )

    def read_tenant_namespaces(self, cluster_id):
        selector = f"{plan_rules.REMOTE_CLUSTER_ID_LABEL}={cluster_id}"
        result = self.api.to_dict(self.api.call(self.api.core.list_namespace, label_selector=selector)) or {}
        namespaces = {item["metadata"]["name"]: item for item in result.get("items") or []}
        default_name = plan_rules.tenant_namespace_name(cluster_id)
        if default_name not in namespaces:
            namespace = self.api.get_namespace(default_name)
            if namespace:
                namespaces[default_name] = namespace
        return [with_kind(item, "Namespace", "v1") for item in namespaces.values()]

    def list_custom(self, resource):
        method = self.api.custom.list_cluster_custom_object
        result = self.api.call(method, resource.group, resource.version, resource.plural) or {}
        api_version = f"{resource.group}/{resource.version}"
        return [with_kind(item, resource.kind, api_version) for item in result.get("items") or []]

    def read_secrets(self, cluster_id, namespace_names):
        secrets = {}
        selector = f"{plan_rules.REMOTE_CLUSTER_ID_LABEL}={cluster_id}"
        labelled = self.api.call(self.api.core.list_secret_for_all_namespaces, label_selector=selector)
        for item in (self.api.to_dict(labelled) or {}).get("items") or []:
            secrets[(item["metadata"]["namespace"], item["metadata"]["name"])] = item
        for namespace in namespace_names:
            for item in self.api.list_secrets(namespace):
                secrets[(namespace, item["metadata"]["name"])] = item
        return [with_kind(item, "Secret", "v1") for item in secrets.values()]

    def read_virtual_nodes(self, cluster_id):
        selector = f"{plan_rules.VIRTUAL_NODE_LABEL}=virtual-node,{plan_rules.REMOTE_CLUSTER_ID_LABEL}={cluster_id}"
        return [with_kind(item, "Node", "v1") for item in self.api.list_nodes(label_selector=selector)]

    def read_pods(self, node_name):
        pods = self.api.call(self.api.core.list_pod_for_all_namespaces, field_selector=f"spec.nodeName={node_name}")
        return [with_kind(item, "Pod", "v1") for item in (self.api.to_dict(pods) or {}).get("items") or []]

    # -- removing ---------------------------------------------------------------------------------------------

    def carry_out(self, plan):
        for item in plan:
            if item["delete"]:
                self.delete(item)
            if item["strip_finalizers"]:
                self.strip_finalizers(item)
            self.result["removed"].append(plan_rules.describe(item))

    def delete(self, item):
        kind, namespace, name = item["kind"], item["namespace"], item["name"]
        core = self.api.core
        if kind == "Pod":
            # The pod's remote copy is gone with the remote cluster, so no kubelet will confirm a graceful stop.
            body = kube_client.V1DeleteOptions(grace_period_seconds=0)
            self.api.call(core.delete_namespaced_pod, name, namespace, body=body)
        elif kind in ("Namespace", "Node"):
            self.api.call(getattr(core, f"delete_{kind.lower()}"), name)
        elif kind == "Secret":
            self.api.call(core.delete_namespaced_secret, name, namespace)
        else:
            resource = self.resources[kind]
            if resource.namespaced:
                self.api.call(self.api.custom.delete_namespaced_custom_object, resource.group, resource.version,
                              namespace, resource.plural, name)
            else:
                self.api.call(self.api.custom.delete_cluster_custom_object, resource.group, resource.version,
                              resource.plural, name)

    def strip_finalizers(self, item):
        """Remove metadata.finalizers of an object that still exists; a missing object is fine."""
        kind, namespace, name = item["kind"], item["namespace"], item["name"]
        core = self.api.core
        if kind == "Pod":
            self.api.call(core.patch_namespaced_pod, name, namespace, STRIP_FINALIZERS)
        elif kind == "Secret":
            self.api.call(core.patch_namespaced_secret, name, namespace, STRIP_FINALIZERS)
        elif kind in ("Namespace", "Node"):
            self.api.call(getattr(core, f"patch_{kind.lower()}"), name, STRIP_FINALIZERS)
        else:
            resource = self.resources[kind]
            if resource.namespaced:
                self.api.call(self.api.custom.patch_namespaced_custom_object, resource.group, resource.version,
                              namespace, resource.plural, name, STRIP_FINALIZERS)
            else:
                self.api.call(self.api.custom.patch_cluster_custom_object, resource.group, resource.version,
                              resource.plural, name, STRIP_FINALIZERS)

    def wait_until_gone(self, cluster_id):
        """Wait for terminating tenant namespaces (all of them with scope all) and removed objects to go.

        The namespace controller deletes a namespace's contents asynchronously; objects it marks for deletion
        can still hold finalizers, which are removed here as they appear.
        """
        deadline = time.monotonic() + self.params["timeout"]
        while True:
            snapshot = self.read_snapshot(cluster_id)
            waiting = self.still_waiting_for(snapshot)
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise LiqoError(
                    f"Timed out after {self.params['timeout']}s waiting on {self.local.describe()} for "
                    f"{', '.join(waiting)} to disappear; check their finalizers with kubectl get -o yaml",
                    waiting_for=waiting,
                )
            for item in plan_rules.plan_removals(snapshot, "stale", plan_rules.now_utc(), 0)[0]:
                if not item["delete"] and item["finalizers"]:
                    self.strip_finalizers(item)
            time.sleep(POLL_INTERVAL)

    def still_waiting_for(self, snapshot):
        if self.params["scope"] == "all":
            names = [f"namespace {item['metadata']['name']}" for item in snapshot.namespaces]
            names += [plan_rules.describe(plan_rules.reference(node)) for node in snapshot.nodes]
            if snapshot.foreign_cluster:
                names.append(f"ForeignCluster {snapshot.foreign_cluster['metadata']['name']}")
            return names
        return [f"namespace {name}" for name in sorted(snapshot.terminating_namespaces())]


def with_kind(obj, kind, api_version):
    """Return obj with kind and apiVersion set; list calls leave them out of the items."""
    obj["kind"] = kind
    obj["apiVersion"] = api_version
    return obj


def main():
    LiqoLeftovers().execute()


if __name__ == "__main__":
    main()
