#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_allocation
short_description: Allocate a name, a pod CIDR and a service CIDR for a provider cluster, or release them
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@oss-mlops)
description:
  - Gives each provider, identified by O(key), a name and a pod and a service CIDR that overlap neither another
    allocation, nor a reserved range, nor the consumer's CIDRs.
  - With O(state=present), returns the allocation the key holds, or makes a new one. Asking again with the
    same key returns the same allocation and reports no change.
  - With O(state=absent), releases the key's allocation into quarantine. Its name and blocks are not handed
    out again until O(quarantine) has passed, so a late VM with the old addresses never collides with a new one.
  - Blocks are cut from O(pod_pools) and O(service_pools), lowest free block first. A block is free when it
    overlaps no allocated or quarantined block, no O(reserved) range, none of the built-in defaults (see
    O(default_reserved)) and none of O(consumer_cidrs).
  - Names are V(<name_prefix>-<cloud>-<flavor_class>-<suffix>) with a random five-character suffix. They are
    lowercase RFC 1123 labels of at most 51 characters, so that Liqo's tenant namespace
    C(liqo-tenant-<cluster id>) fits in 63 characters.
  - Every input is checked before the table is opened, and a failed request writes nothing.
  - Concurrent runs are safe with either backend; see O(backend).
extends_documentation_fragment:
  - oss_mlops.multicloud.allocation
options:
  key:
    description:
      - Stable identity of the request, usually the provider's inventory hostname.
      - At most one allocation per key is allocated at any time.
    type: str
    required: true
  state:
    description:
      - V(present) returns the key's allocation, making one when it holds none.
      - V(absent) releases the key's allocation into quarantine.
    type: str
    choices: [present, absent]
    default: present
  cloud:
    description:
      - Cloud of the provider, such as V(verda) or V(cpouta); it becomes part of a new name.
      - Lowercased, and every run of other characters than letters and digits becomes C(-).
      - Changing it later does not rename an existing allocation; the module warns instead.
    type: str
    default: ""
  flavor_class:
    description:
      - Class of the VM flavor, such as V(gpu) or V(v100); it becomes part of a new name, like O(cloud).
    type: str
    default: ""
  name_prefix:
    description:
      - First part of every new name. A DNS label that starts with a letter.
      - The module fails before writing when O(name_prefix), O(cloud) and O(flavor_class) together make
        names longer than 51 characters.
    type: str
    default: mlops
  name:
    description:
      - Name the inventory pins for the provider instead of a generated one.
      - It must be a DNS-1123 label of at most 51 characters that no allocated or quarantined record holds.
      - If the key already holds an allocation with another name, the module fails; release it first.
    type: str
  pod_cidr:
    description:
      - Pod CIDR the inventory pins for the provider instead of a block from O(pod_pools).
      - It may lie outside the pools and have any size, but it must not overlap any allocated or quarantined
        block, reserved range or consumer CIDR. It is recorded, so later allocations avoid it.
      - If the key already holds an allocation with another pod CIDR, the module fails; release it first.
    type: str
  service_cidr:
    description:
      - Service CIDR the inventory pins for the provider, checked and recorded like O(pod_cidr).
    type: str
  pod_pools:
    description:
      - Ranges that pod CIDRs are cut from, tried in order.
      - No two pools, of pods or services, may overlap.
    type: list
    elements: dict
    default: [{cidr: 10.112.0.0/12, block_prefix: 20}]
    suboptions:
      cidr:
        description: The pool, an IPv4 network in CIDR notation.
        type: str
        required: true
      block_prefix:
        description:
          - Prefix length of every block cut from the pool, such as V(20) for /20 blocks of 4096 addresses.
          - At least the pool's own prefix length and at most 30.
        type: int
        required: true
  service_pools:
    description:
      - Ranges that service CIDRs are cut from, tried in order, like O(pod_pools).
    type: list
    elements: dict
    default: [{cidr: 10.48.0.0/12, block_prefix: 22}]
    suboptions:
      cidr:
        description: The pool, an IPv4 network in CIDR notation.
        type: str
        required: true
      block_prefix:
        description: Prefix length of every block cut from the pool, such as V(22) for /22 blocks.
        type: int
        required: true
  reserved:
    description:
      - Further ranges no block may overlap, such as the clouds' project networks and the VMs' subnets.
    type: list
    elements: str
    default: []
  default_reserved:
    description:
      - Whether the ranges of stock installs count as reserved.
      - They are the k3s defaults 10.42.0.0/16 and 10.43.0.0/16, the kubeadm service default 10.96.0.0/12,
        the kind and Flannel pod default 10.244.0.0/16, Docker's default bridge and address pools 172.16.0.0/12
        and 192.168.0.0/16 (also Calico's default pod pool), the shared address space 100.64.0.0/10 that VPN
        overlays use, and Liqo's default external and internal CIDRs 10.70.0.0/16 and 10.80.0.0/16.
    type: bool
    default: true
  consumer_cidrs:
    description:
      - CIDRs of the consumer cluster, which no block may overlap.
      - A list of CIDRs, or a dict whose values are CIDRs or lists of CIDRs, such as the
        RV(oss_mlops.multicloud.liqo_info#module:network) result. Empty values are skipped.
      - When not set, the CIDRs the OSS MLOps Platform installs its kind cluster with, 10.244.0.0/16 for pods
        and 10.96.0.0/16 for services.
    type: raw
  quarantine:
    description:
      - How long a released name and its blocks stay unusable, with O(state=absent).
      - Seconds as a number, or a number followed by V(s), V(m), V(h), V(d) or V(w), such as V(30m) or V(24h).
      - V(0) makes them reusable at once. A negative value is rejected.
    type: raw
    default: 24h
  requester:
    description:
      - Who asks, recorded with the allocation or release, such as an AWX job ID.
      - When not set, C(user@host) of the process that runs the module.
    type: str
  manage_crd:
    description:
      - With O(backend=kubernetes), whether the module applies the C(ClusterAllocation) CustomResourceDefinition
        (server-side apply) when it is missing or older than this collection's.
      - Set to V(false) when an administrator applies the CRD and the kubeconfig's user may not.
    type: bool
    default: true
attributes:
  check_mode:
    description:
      - Reads the table and returns the allocation a real run would make, writing nothing.
      - A new allocation's name in check mode has another random suffix than the real run will give it.
    support: full
  diff_mode:
    description: Returns the allocation record before and after the change.
    support: full
  platform:
    description: Runs on the host that keeps the SQLite file or reaches the cluster, usually the controller.
    support: full
    platforms: posix
  action_group:
    description: Use C(group/oss_mlops.multicloud.allocation) in C(module_defaults) to set the backend options.
    support: full
    membership:
      - oss_mlops.multicloud.allocation
notes:
  - Each allocation record is in one of three states. V(allocated) records belong to their key.
    V(quarantined) records are released, and their name and blocks stay unusable until RV(allocation.quarantine_until).
    V(released) records are past their quarantine and block nothing; the next write deletes them.
  - Blocks are IPv4 only.
  - Liqo remaps overlapping networks into its pools, which by default are all private ranges (10.0.0.0/8,
    172.16.0.0/12 and 192.168.0.0/16), so no pool can avoid them. Liqo only remaps when networks overlap,
    which the allocator prevents.
  - The same key always gets the same allocation, even when O(cloud), O(flavor_class) or the pools change;
    release it to get a new one.
seealso:
  - module: oss_mlops.multicloud.cluster_allocation_info
  - module: oss_mlops.multicloud.liqo_info
"""

EXAMPLES = r"""
- name: Allocate a name and CIDRs for a GPU provider
  oss_mlops.multicloud.cluster_allocation:
    key: "{{ inventory_hostname }}"
    cloud: verda
    flavor_class: gpu
  delegate_to: localhost
  register: allocation

- name: Show what the provider gets
  ansible.builtin.debug:
    msg: "{{ allocation.name }}: pods {{ allocation.pod_cidr }}, services {{ allocation.service_cidr }}"

- name: Allocate from the consumer's real CIDRs, with a table in the consumer cluster
  oss_mlops.multicloud.cluster_allocation:
    key: "{{ inventory_hostname }}"
    cloud: cpouta
    flavor_class: cpu
    backend: kubernetes
    kubeconfig: /etc/oss-mlops/consumer.kubeconfig
    consumer_cidrs: "{{ consumer_liqo.network }}"
    reserved:
      - 192.168.1.0/24
  delegate_to: localhost

- name: Record the CIDRs an existing provider was installed with
  oss_mlops.multicloud.cluster_allocation:
    key: verda-v100-1
    name: verda-v100-1
    pod_cidr: 10.150.0.0/16
    service_cidr: 10.151.0.0/16
  delegate_to: localhost

- name: Release the allocation of a deleted VM; its name and blocks stay unusable for two days
  oss_mlops.multicloud.cluster_allocation:
    key: "{{ inventory_hostname }}"
    state: absent
    quarantine: 2d
  delegate_to: localhost

- name: Use smaller pools and keep the table in a file next to the inventory
  module_defaults:
    group/oss_mlops.multicloud.allocation:
      database: "{{ inventory_dir }}/allocations.sqlite3"
  oss_mlops.multicloud.cluster_allocation:
    key: "{{ inventory_hostname }}"
    pod_pools:
      - cidr: 10.112.0.0/14
        block_prefix: 22
    service_pools:
      - cidr: 10.48.0.0/16
        block_prefix: 24
  delegate_to: localhost
"""

RETURN = r"""
allocation:
  description:
    - The key's allocation record; with O(state=absent), the released record, or null if the key never held one.
  returned: always
  type: dict
  contains:
    key:
      description: The key the allocation belongs to.
      type: str
      sample: verda-v100-2
    name:
      description: Name of the provider, to use for the VM, its hostname and its Liqo cluster ID.
      type: str
      sample: mlops-verda-gpu-k3x9q
    cluster_id:
      description: Liqo cluster ID of the provider, the same as RV(allocation.name).
      type: str
      sample: mlops-verda-gpu-k3x9q
    hostname:
      description: Hostname of the provider VM (and so the k3s node name), the same as RV(allocation.name).
      type: str
      sample: mlops-verda-gpu-k3x9q
    tenant_namespace:
      description: Namespace Liqo creates for the provider on the consumer.
      type: str
      sample: liqo-tenant-mlops-verda-gpu-k3x9q
    pod_cidr:
      description: Pod CIDR of the provider cluster.
      type: str
      sample: 10.112.0.0/20
    service_cidr:
      description: Service CIDR of the provider cluster.
      type: str
      sample: 10.48.0.0/22
    state:
      description: V(allocated), V(quarantined) or V(released).
      type: str
      sample: allocated
    cloud:
      description: Cloud the name was made for.
      type: str
      sample: verda
    flavor_class:
      description: Flavor class the name was made for.
      type: str
      sample: gpu
    pinned:
      description: Whether the inventory pinned the name or a CIDR.
      type: bool
      sample: false
    allocated_at:
      description: When the allocation was made, UTC.
      type: str
      sample: "2026-12-04T16:10:44Z"
    allocated_by:
      description: O(requester) of the allocating run.
      type: str
      sample: awx@controller-1
    released_at:
      description: When the allocation was released, UTC; empty while allocated.
      type: str
      sample: ""
    released_by:
      description: O(requester) of the releasing run; empty while allocated.
      type: str
      sample: ""
    quarantine_until:
      description: End of the quarantine, UTC; empty while allocated.
      type: str
      sample: ""
name:
  description: RV(allocation.name), for short references.
  returned: when the key has or had an allocation
  type: str
  sample: mlops-verda-gpu-k3x9q
cluster_id:
  description: RV(allocation.cluster_id).
  returned: when the key has or had an allocation
  type: str
  sample: mlops-verda-gpu-k3x9q
pod_cidr:
  description: RV(allocation.pod_cidr).
  returned: when the key has or had an allocation
  type: str
  sample: 10.112.0.0/20
service_cidr:
  description: RV(allocation.service_cidr).
  returned: when the key has or had an allocation
  type: str
  sample: 10.48.0.0/22
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation import (
    AllocationRequest,
    plan_allocate,
    plan_release,
    utc_now,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_ansible import (
    backend_argument_spec,
    default_requester,
    open_store,
    read_records,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_settings import (
    DEFAULT_NAME_PREFIX,
    DEFAULT_POD_POOLS,
    DEFAULT_QUARANTINE,
    DEFAULT_SERVICE_POOLS,
    AllocationError,
    build_settings,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_sqlite import StoreError

POOL_OPTIONS = {"cidr": {"type": "str", "required": True}, "block_prefix": {"type": "int", "required": True}}


def argument_spec():
    return backend_argument_spec({
        "key": {"type": "str", "required": True, "no_log": False},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "cloud": {"type": "str", "default": ""},
        "flavor_class": {"type": "str", "default": ""},
        "name_prefix": {"type": "str", "default": DEFAULT_NAME_PREFIX},
        "name": {"type": "str"},
        "pod_cidr": {"type": "str"},
        "service_cidr": {"type": "str"},
        "pod_pools": {"type": "list", "elements": "dict", "options": POOL_OPTIONS,
                      "default": [dict(pool) for pool in DEFAULT_POD_POOLS]},
        "service_pools": {"type": "list", "elements": "dict", "options": POOL_OPTIONS,
                          "default": [dict(pool) for pool in DEFAULT_SERVICE_POOLS]},
        "reserved": {"type": "list", "elements": "str", "default": []},
        "default_reserved": {"type": "bool", "default": True},
        "consumer_cidrs": {"type": "raw"},
        "quarantine": {"type": "raw", "default": DEFAULT_QUARANTINE},
        "requester": {"type": "str"},
        "manage_crd": {"type": "bool", "default": True},
    })


def settings_from(params):
    return build_settings(
        pod_pools=params["pod_pools"], service_pools=params["service_pools"], reserved=params["reserved"],
        default_reserved=params["default_reserved"], consumer_cidrs=params["consumer_cidrs"],
        name_prefix=params["name_prefix"], cloud=params["cloud"], flavor_class=params["flavor_class"],
        quarantine=params["quarantine"],
    )


def decision(params, settings, now):
    """Return decide(records) -> Plan for the requested state."""
    requester = params["requester"] or default_requester()
    if params["state"] == "absent":
        return lambda records: plan_release(records, params["key"], settings, now, requester)
    request = AllocationRequest(key=params["key"], requester=requester, name=params["name"],
                                pod_cidr=params["pod_cidr"], service_cidr=params["service_cidr"])
    return lambda records: plan_allocate(records, request, settings, now)


def result_of(plan, now, with_diff):
    allocation = plan.allocation.to_result(now) if plan.allocation else None
    result = {"changed": plan.changed, "allocation": allocation}
    if allocation:
        for field in ("name", "cluster_id", "pod_cidr", "service_cidr"):
            result[field] = allocation[field]
    if with_diff:
        result["diff"] = {"before": plan.before.to_result(now) if plan.before else {}, "after": allocation or {}}
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    now = utc_now()
    try:
        settings = settings_from(params)
    except AllocationError as error:
        module.fail_json(msg=str(error))

    store = open_store(module, manage_crd=params["manage_crd"])
    decide = decision(params, settings, now)
    try:
        plan = decide(read_records(module, store)) if module.check_mode else store.transact(decide)
    except (AllocationError, StoreError) as error:
        module.fail_json(msg=str(error), backend=store.backend)

    for warning in plan.warnings:
        module.warn(warning)
    module.exit_json(**result_of(plan, now, module._diff))


if __name__ == "__main__":
    main()
