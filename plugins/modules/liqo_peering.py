#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: liqo_peering
short_description: Peer a consumer cluster with a Liqo provider, or remove the peering
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@oss-mlops)
description:
  - Runs against the consumer (O(kubeconfig), O(context)); O(remote_kubeconfig) and O(remote_context)
    reach the provider, whose resources the consumer gets as a virtual node.
  - Reads the provider's cluster ID with C(liqoctl info) on the provider, then the consumer's
    ForeignCluster and ResourceSlice for that provider.
  - With O(state=present), does nothing when the provider already has role C(Provider) (or
    C(ConsumerAndProvider)), its modules are enabled and healthy, and the ResourceSlice requests exactly
    the resources asked for and is accepted. Otherwise runs C(liqoctl peer), then waits until the
    ResourceSlice is accepted and the virtual node exists.
  - With O(state=absent), runs C(liqoctl unpeer) when the consumer still consumes from the provider.
extends_documentation_fragment:
  - oss_mlops.multicloud.liqo
options:
  state:
    description:
      - V(present) creates or updates the peering, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  remote_kubeconfig:
    description:
      - Path to the provider's kubeconfig. Only the path is passed to liqoctl; the file is read, never copied.
      - The provider API must be reachable for both states, because liqoctl reads the provider's cluster ID from it.
    type: path
    required: true
  remote_context:
    description:
      - Context of O(remote_kubeconfig) to use. Its current context when not set.
    type: str
  remote_liqo_namespace:
    description:
      - Namespace Liqo is installed in on the provider.
    type: str
    default: liqo
  cpu:
    description:
      - CPU the consumer asks of the provider, as a Kubernetes quantity (V(8), V(7500m)).
      - Keys not requested get the provider's defaults (cpu 4, memory 8Gi, pods 110, ephemeral-storage 20Gi
        in the Liqo v1.0.3 chart), so set O(cpu) and O(memory) to size the virtual node.
    type: raw
  memory:
    description:
      - Memory the consumer asks of the provider, as a Kubernetes quantity (V(32Gi)).
    type: raw
  pods:
    description:
      - Number of pods the consumer may run on the provider.
    type: raw
  resources:
    description:
      - Other resources to request, name to quantity, each passed as C(--resource name=quantity)
        (liqoctl v1.0.2 or later), for example C(nvidia.com/gpu) set to V(1).
      - Extended resources such as GPUs need whole numbers. Use O(cpu), O(memory) and O(pods) for those three.
      - Liqo 1.0 grants what is requested without checking the provider's capacity; ask only for GPUs the
        provider has, or GPU pods stay Pending there.
    type: dict
    default: {}
  gateway_server_service_type:
    description:
      - Service type of the WireGuard gateway server (C(--gw-server-service-type)). liqoctl's default is
        V(LoadBalancer); V(NodePort) suits VMs without a load balancer.
    type: str
    choices: [LoadBalancer, NodePort, ClusterIP]
  gateway_server_service_port:
    description:
      - UDP port of the gateway server Service (C(--gw-server-service-port), liqoctl default 51840).
    type: int
  gateway_server_service_nodeport:
    description:
      - Fixed NodePort of the gateway server Service (C(--gw-server-service-nodeport)), to match firewall rules.
    type: int
  gateway_server_service_location:
    description:
      - Cluster that hosts the gateway server (C(--gw-server-service-location)). liqoctl's default is
        V(Provider); use V(Consumer) when the provider is behind NAT and the consumer is reachable.
    type: str
    choices: [Provider, Consumer]
  gateway_client_address:
    description:
      - Address the gateway client dials instead of the one Liqo finds (C(--gw-client-address)), for a
        server behind NAT or a VM that has only a private IP.
    type: str
  gateway_client_port:
    description:
      - Port the gateway client dials instead of the one Liqo finds (C(--gw-client-port)).
    type: int
  mtu:
    description:
      - MTU of the WireGuard tunnel (C(--mtu), liqoctl default 1340).
    type: int
  networking_disabled:
    description:
      - Peer without the network module (C(--networking-disabled)); offloaded pods then cannot reach the consumer.
    type: bool
    default: false
  timeout:
    description:
      - Seconds liqoctl waits for the peering or unpeering to complete. After C(liqoctl peer), the module
        waits up to this long again for the ResourceSlice to be accepted and the virtual node to appear.
      - Unpeering evicts the offloaded pods first; liqoctl's own default of 2 minutes is often too short.
    type: int
    default: 600
  delete_namespaces:
    description:
      - With O(state=absent), also delete the tenant namespaces on both clusters (C(--delete-namespaces)).
        liqoctl rejects it for a bidirectional peering.
    type: bool
    default: false
attributes:
  check_mode:
    description: Reads both clusters and predicts changed without running C(liqoctl peer) or C(unpeer).
    support: full
  diff_mode:
    description: Returns the current and requested role, module states and resources.
    support: full
  action_group:
    description: Use C(group/oss_mlops.multicloud.liqo) in C(module_defaults) to set the shared options.
    support: full
    membership:
      - oss_mlops.multicloud.liqo
notes:
  - Gateway options, O(mtu) and O(networking_disabled) are applied when C(liqoctl peer) runs; they are not
    compared with the existing peering, so changing only them does not re-run the peering.
  - O(state=absent) runs C(liqoctl unpeer) only while the ForeignCluster has role C(Provider) or
    C(ConsumerAndProvider), or role C(Unknown) with a module still enabled (a half-made peering). In Liqo
    1.0.x the ForeignCluster stays after an unpeer with role C(Unknown); that is the unpeered state. A
    reverse peering (the provider consuming from this cluster, role C(Consumer)) is removed from the other side.
  - Quantities are compared by value, so V(32Gi) matches V(34359738368) and V(500m) matches V(0.5).
  - Unpeering a provider whose API is gone is not possible with liqoctl 1.0.x.
  - With O(state=absent), a provider where Liqo is no longer installed gives no change when the consumer
    consumes from no provider at all, and a failure otherwise, because the provider's cluster ID can no
    longer be read. A consumer without Liqo gives no change.
seealso:
  - module: oss_mlops.multicloud.liqo_install
  - module: oss_mlops.multicloud.liqo_offload
  - module: oss_mlops.multicloud.liqo_info
"""

EXAMPLES = r"""
- name: Peer the MLOps consumer with a V100 provider and ask for its GPU
  oss_mlops.multicloud.liqo_peering:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/mlops-consumer.yaml"
    remote_kubeconfig: "{{ playbook_dir }}/kubeconfigs/verda-v100-1.yaml"
    cpu: 8
    memory: 32Gi
    pods: 50
    resources:
      nvidia.com/gpu: 1
    gateway_server_service_type: NodePort
    gateway_server_service_nodeport: 30851
  delegate_to: localhost
  register: peering

- name: Show the virtual node of the provider
  ansible.builtin.debug:
    var: peering.virtual_nodes

- name: Remove the peering and the tenant namespaces
  oss_mlops.multicloud.liqo_peering:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/mlops-consumer.yaml"
    remote_kubeconfig: "{{ playbook_dir }}/kubeconfigs/verda-v100-1.yaml"
    state: absent
    delete_namespaces: true
  delegate_to: localhost
"""

RETURN = r"""
provider_cluster_id:
  description: Liqo cluster ID of the provider.
  returned: always
  type: str
  sample: verda-v100-1
consumer_cluster_id:
  description: Liqo cluster ID of the consumer.
  returned: always
  type: str
  sample: mlops-consumer
foreign_cluster:
  description: The consumer's ForeignCluster for the provider (role, tenant namespace, module states); null when absent.
  returned: always
  type: dict
  sample: {"cluster_id": "verda-v100-1", "role": "Provider", "api_server_url": "https://127.10.1.1:6443",
           "tenant_namespace": "liqo-tenant-verda-v100-1",
           "modules": {"networking": {"enabled": true, "status": "Healthy", "conditions": []},
                       "authentication": {"enabled": true, "status": "Healthy", "conditions": []},
                       "offloading": {"enabled": true, "status": "Healthy", "conditions": []}},
           "conditions": []}
resource_slice:
  description: The ResourceSlice named after the provider, with requested and granted resources; null when absent.
  returned: always
  type: dict
  sample: {"name": "verda-v100-1", "namespace": "liqo-tenant-verda-v100-1", "provider_cluster_id": "verda-v100-1",
           "consumer_cluster_id": "mlops-consumer", "class": "default",
           "requested": {"cpu": "8", "memory": "32Gi", "pods": "50", "nvidia.com/gpu": "1"},
           "granted": {"cpu": "8", "memory": "32Gi", "pods": "50", "nvidia.com/gpu": "1",
                       "ephemeral-storage": "20Gi"},
           "authentication": "Accepted", "resources": "Accepted", "accepted": true, "conditions": []}
virtual_nodes:
  description: Names of the virtual Nodes that represent the provider on the consumer.
  returned: always
  type: list
  elements: str
  sample: ["verda-v100-1"]
changes:
  description: Why the peering was (or would be) created, updated or removed; empty when nothing differs.
  returned: always
  type: list
  elements: str
  sample: ["resources: {'cpu': '4'} -> {'cpu': '8', 'memory': '32Gi'}"]
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

import time

from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_state
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo import (
    ClusterConnection,
    LiqoError,
    LiqoModule,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_selector import (
    SelectorError,
    validate_label_key,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.quantity import (
    is_whole_quantity,
    parse_quantity,
    quantity_to_string,
    resource_lists_equal,
)

# Option -> liqoctl peer flag, for the options passed only when set.
GATEWAY_FLAGS = {
    "gateway_server_service_type": "--gw-server-service-type",
    "gateway_server_service_port": "--gw-server-service-port",
    "gateway_server_service_nodeport": "--gw-server-service-nodeport",
    "gateway_server_service_location": "--gw-server-service-location",
    "gateway_client_address": "--gw-client-address",
    "gateway_client_port": "--gw-client-port",
    "mtu": "--mtu",
}
CORE_RESOURCES = ("cpu", "memory", "pods")
# Seconds between two reads while waiting for the ResourceSlice and the virtual node.
POLL_INTERVAL = 2


def validate_quantity(name, value, whole=False):
    """Raise LiqoError unless value is a positive quantity (a whole number when whole is set)."""
    try:
        amount = parse_quantity(value)
    except ValueError as error:
        raise LiqoError(f"{name}: {error}") from error
    if amount <= 0:
        reason = "; a virtual node without CPU or memory never becomes Ready" if name in ("cpu", "memory") else ""
        raise LiqoError(f"{name} {value!r} must be greater than zero{reason}")
    if whole and not is_whole_quantity(value):
        raise LiqoError(f"{name} {value!r} must be a whole number, as Kubernetes requires for this resource")


def requested_resources(params):
    """Return the resource list the ResourceSlice must request (name -> quantity string), after checking it."""
    request = {}
    for name in CORE_RESOURCES:
        if params[name] is not None:
            validate_quantity(name, params[name], whole=(name == "pods"))
            request[name] = quantity_to_string(params[name])
    for name, value in (params["resources"] or {}).items():
        validate_resource_name(name)
        validate_quantity(f"resources[{name}]", value, whole="/" in name)
        request[name] = quantity_to_string(value)
    return request


def validate_resource_name(name):
    if name in CORE_RESOURCES:
        raise LiqoError(f"resources key {name!r} has its own option; set {name} instead")
    try:
        validate_label_key(name, "resources")
    except SelectorError as error:
        raise LiqoError(f"resources key {name!r} is not a valid resource name (for example nvidia.com/gpu)") from error


def peering_differences(peering, resource_slice, request, networking_disabled):
    """Return why the consumer's state differs from a healthy peering with the requested resources."""
    if peering is None:
        return ["no ForeignCluster for the provider: not peered"]
    differences = []
    if not liqo_state.consumes_from(peering):
        differences.append(f"role {peering['role']}: this cluster does not consume from the provider")
    modules = ("authentication", "offloading") if networking_disabled else liqo_state.PEERING_MODULES
    for name in modules:
        status = peering["modules"][name]["status"]
        if status != "Healthy":
            differences.append(f"{name} module is {status}")
    if resource_slice is None:
        return differences + ["no ResourceSlice for the provider"]
    current = dict((resource_slice.get("spec") or {}).get("resources") or {})
    if not resource_lists_equal(current, request):
        differences.append(f"resources: {current} -> {request}")
    if not liqo_state.slice_accepted(resource_slice):
        summary = liqo_state.summarize_resource_slice(resource_slice)
        differences.append(
            f"ResourceSlice not accepted (Authentication {summary['authentication']}, "
            f"Resources {summary['resources']})"
        )
    return differences


def needs_unpeer(peering):
    """Return whether liqoctl unpeer has something to remove on the consumer side."""
    if peering is None:
        return False
    if liqo_state.consumes_from(peering):
        return True
    half_made = peering["role"] == "Unknown" and any(module["enabled"] for module in peering["modules"].values())
    return half_made


class LiqoPeering(LiqoModule):
    """Create, update or remove the peering of this consumer with one provider."""

    argument_spec = {
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "remote_kubeconfig": {"type": "path", "required": True},
        "remote_context": {"type": "str"},
        "remote_liqo_namespace": {"type": "str", "default": "liqo"},
        "cpu": {"type": "raw"},
        "memory": {"type": "raw"},
        "pods": {"type": "raw"},
        "resources": {"type": "dict", "default": {}},
        "gateway_server_service_type": {"type": "str", "choices": ["LoadBalancer", "NodePort", "ClusterIP"]},
        "gateway_server_service_port": {"type": "int"},
        "gateway_server_service_nodeport": {"type": "int"},
        "gateway_server_service_location": {"type": "str", "choices": ["Provider", "Consumer"]},
        "gateway_client_address": {"type": "str"},
        "gateway_client_port": {"type": "int"},
        "mtu": {"type": "int"},
        "networking_disabled": {"type": "bool", "default": False},
        "timeout": {"type": "int", "default": 600},
        "delete_namespaces": {"type": "bool", "default": False},
    }
    local_role = "consumer"

    def validate(self):
        params = self.params
        if params["timeout"] <= 0:
            raise LiqoError(f"timeout {params['timeout']} must be a positive number of seconds")
        self.request = requested_resources(params) if params["state"] == "present" else {}
        self.remote = ClusterConnection(
            params["remote_kubeconfig"], params["remote_context"], params["remote_liqo_namespace"], "provider"
        )
        self.connections.append(self.remote)

    def run(self):
        self.connect(self.remote)
        provider_id, consumer_id = self.read_cluster_ids()
        self.result.update(
            provider_cluster_id=provider_id, consumer_cluster_id=consumer_id, changes=[],
            foreign_cluster=None, resource_slice=None, virtual_nodes=[],
        )

        if self.params["state"] == "present":
            if self.module.check_mode and not (provider_id and consumer_id):
                self.predict_without_liqo(provider_id, consumer_id)
                return
            self.check_installed(provider_id, consumer_id)
            self.ensure_present(provider_id, self.request)
        elif consumer_id is None:
            return  # Without Liqo on the consumer there is no peering to remove.
        elif provider_id is None:
            self.check_no_orphaned_peering()
        else:
            self.ensure_absent(provider_id)

    def read_cluster_ids(self):
        """Return the (provider, consumer) cluster IDs, None where Liqo is not installed."""
        info = self.liqoctl_info(self.remote, verbose=False)
        provider_id = liqo_state.local_info(info)["cluster_id"] if info else None
        consumer_id = self.read_cluster_id(self.local)
        if provider_id and provider_id == consumer_id:
            raise LiqoError(
                f"kubeconfig and remote_kubeconfig both reach Liqo cluster {provider_id}; point remote_kubeconfig "
                "at the provider cluster"
            )
        return provider_id, consumer_id

    def predict_without_liqo(self, provider_id, consumer_id):
        """Report the peering as a change in check mode when liqo_install has only predicted an installation."""
        missing = [cluster.describe() for cluster_id, cluster in ((provider_id, self.remote), (consumer_id, self.local))
                   if not cluster_id]
        self.result.update(changed=True, changes=[
            f"peer once Liqo is installed on {' and '.join(missing)}"
        ])

    def check_installed(self, provider_id, consumer_id):
        """Fail when Liqo is missing on either cluster, which a peering needs."""
        for cluster_id, cluster, options in (
            (provider_id, self.remote, "remote_kubeconfig and remote_liqo_namespace"),
            (consumer_id, self.local, "kubeconfig and liqo_namespace"),
        ):
            if not cluster_id:
                raise LiqoError(
                    f"Liqo is not installed on {cluster.describe()} (namespace {cluster.liqo_namespace}); "
                    f"install it there first with liqo_install, or fix {options}"
                )

    def check_no_orphaned_peering(self):
        """With Liqo gone from the provider, fail only if the consumer still consumes from some provider.

        The provider's cluster ID cannot be read any more, so liqoctl unpeer cannot run. A consumer that
        consumes from nobody has nothing to remove, which keeps a re-run teardown idempotent.
        """
        foreign_clusters = self.local.api.list_liqo_objects("ForeignCluster")
        peerings = [liqo_state.summarize_foreign_cluster(item) for item in foreign_clusters]
        consumed = sorted(peering["cluster_id"] for peering in peerings if liqo_state.consumes_from(peering))
        if not consumed:
            return
        raise LiqoError(
            f"Liqo is not installed on {self.remote.describe()}, so its cluster ID cannot be read and liqoctl "
            f"unpeer cannot run, but {self.local.describe()} still consumes from {', '.join(consumed)}. If one of "
            "them was this provider, liqoctl 1.0.x cannot remove that peering, and it has to be cleaned up by hand "
            "as the Liqo FAQ 'How to force unpeer a cluster?' describes",
            consumed_providers=consumed,
        )

    def read_peering(self, provider_id):
        """Return (ForeignCluster summary or None, ResourceSlice or None, virtual Nodes) on the consumer."""
        api = self.local.api
        foreign_cluster = api.get_liqo_object("ForeignCluster", provider_id)
        peering = liqo_state.summarize_foreign_cluster(foreign_cluster) if foreign_cluster else None
        tenant_namespace = (peering or {}).get("tenant_namespace") or liqo_state.tenant_namespace_name(provider_id)
        resource_slice = api.get_liqo_object("ResourceSlice", provider_id, namespace=tenant_namespace)
        selector = f"{liqo_state.VIRTUAL_NODE_SELECTOR},{liqo_state.REMOTE_CLUSTER_ID_LABEL}={provider_id}"
        virtual_nodes = api.list_nodes(label_selector=selector)
        return peering, resource_slice, virtual_nodes

    def report(self, peering, resource_slice, virtual_nodes):
        self.result.update(
            foreign_cluster=peering,
            resource_slice=liqo_state.summarize_resource_slice(resource_slice) if resource_slice else None,
            virtual_nodes=sorted((node.get("metadata") or {}).get("name") for node in virtual_nodes),
        )

    def ensure_present(self, provider_id, request):
        peering, resource_slice, virtual_nodes = self.read_peering(provider_id)
        changes = peering_differences(peering, resource_slice, request, self.params["networking_disabled"])
        self.result["changes"] = changes
        if not changes:
            self.report(peering, resource_slice, virtual_nodes)
            return

        self.result["changed"] = True
        if self.module._diff:
            self.result["diff"] = self.present_diff(peering, resource_slice, request)
        if self.module.check_mode:
            self.report(peering, resource_slice, virtual_nodes)
            return
        self.run_liqoctl(self.peer_argv(request), action=f"liqoctl peer with {self.remote.describe()}")
        self.report(*self.wait_for_virtual_node(provider_id))

    def peer_argv(self, request):
        params = self.params
        argv = ["peer", "-n", self.local.liqo_namespace] + self.local.flags() + self.remote.flags("remote-")
        argv += ["--remote-namespace", self.remote.liqo_namespace, "--timeout", f"{params['timeout']}s"]
        for name in CORE_RESOURCES:
            if name in request:
                argv += [f"--{name}", request[name]]
        for name in sorted(set(request) - set(CORE_RESOURCES)):
            argv += ["--resource", f"{name}={request[name]}"]
        for option, flag in GATEWAY_FLAGS.items():
            if params[option] is not None:
                argv += [flag, str(params[option])]
        if params["networking_disabled"]:
            argv.append("--networking-disabled")
        return argv

    def wait_for_virtual_node(self, provider_id):
        """Poll until the ResourceSlice is accepted and the virtual Node exists; fail at the timeout."""
        deadline = time.monotonic() + self.params["timeout"]
        while True:
            peering, resource_slice, virtual_nodes = self.read_peering(provider_id)
            accepted = resource_slice is not None and liqo_state.slice_accepted(resource_slice)
            if accepted and virtual_nodes:
                return peering, resource_slice, virtual_nodes
            denied = resource_slice is not None and "Denied" in (
                liqo_state.slice_condition_status(resource_slice, "Authentication"),
                liqo_state.slice_condition_status(resource_slice, "Resources"),
            )
            if denied or time.monotonic() >= deadline:
                self.report(peering, resource_slice, virtual_nodes)
                raise LiqoError(self.peering_incomplete_message(provider_id, resource_slice, accepted, denied))
            time.sleep(POLL_INTERVAL)

    def peering_incomplete_message(self, provider_id, resource_slice, accepted, denied):
        where = f"on {self.local.describe()}"
        if resource_slice is None:
            return f"liqoctl peer finished but no ResourceSlice {provider_id} exists {where}; check liqoctl's output"
        summary = liqo_state.summarize_resource_slice(resource_slice)
        state = f"Authentication {summary['authentication']}, Resources {summary['resources']}"
        if denied:
            return (
                f"Provider {provider_id} denied ResourceSlice {summary['namespace']}/{summary['name']} ({state}); "
                "the provider may have cordoned the tenant or the slice, or its ResourceSlice class refuses the request"
            )
        if not accepted:
            return (
                f"ResourceSlice {summary['namespace']}/{summary['name']} was not accepted within "
                f"{self.params['timeout']}s ({state}); check the provider's liqo-controller-manager"
            )
        return (
            f"ResourceSlice {summary['namespace']}/{summary['name']} is accepted, but no virtual node for "
            f"{provider_id} appeared {where} within {self.params['timeout']}s; check the VirtualNode in "
            f"{summary['namespace']}"
        )

    def present_diff(self, peering, resource_slice, request):
        before = {
            "role": (peering or {}).get("role"),
            "modules": {name: module["status"] for name, module in ((peering or {}).get("modules") or {}).items()},
            "resources": dict(((resource_slice or {}).get("spec") or {}).get("resources") or {}),
            "accepted": bool(resource_slice and liqo_state.slice_accepted(resource_slice)),
        }
        role = "ConsumerAndProvider" if before["role"] in ("Consumer", "ConsumerAndProvider") else "Provider"
        after = {
            "role": role,
            "modules": {
                name: "Disabled" if name == "networking" and self.params["networking_disabled"] else "Healthy"
                for name in liqo_state.PEERING_MODULES
            },
            "resources": dict(request),
            "accepted": True,
        }
        return {"before": before, "after": after}

    def ensure_absent(self, provider_id):
        peering, resource_slice, virtual_nodes = self.read_peering(provider_id)
        if not needs_unpeer(peering):
            self.report(peering, resource_slice, virtual_nodes)
            return

        role_after = "Consumer" if peering["role"] == "ConsumerAndProvider" else "Unknown"
        self.result.update(changed=True, changes=[f"unpeer: role {peering['role']} -> {role_after}"])
        if self.module._diff:
            self.result["diff"] = {"before": {"role": peering["role"]}, "after": {"role": role_after}}
        if self.module.check_mode:
            self.report(peering, resource_slice, virtual_nodes)
            return
        self.run_liqoctl(self.unpeer_argv(), action=f"liqoctl unpeer from {self.remote.describe()}")
        self.report(*self.read_peering(provider_id))

    def unpeer_argv(self):
        argv = ["unpeer", "-n", self.local.liqo_namespace] + self.local.flags() + self.remote.flags("remote-")
        argv += ["--remote-namespace", self.remote.liqo_namespace, "--timeout", f"{self.params['timeout']}s"]
        if self.params["delete_namespaces"]:
            argv.append("--delete-namespaces")
        return argv


def main():
    LiqoPeering().execute()


if __name__ == "__main__":
    main()
