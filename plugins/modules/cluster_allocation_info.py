#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_allocation_info
short_description: List provider allocations and compare them with the providers that exist
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@oss-mlops)
description:
  - Lists the allocation records that M(oss_mlops.multicloud.cluster_allocation) made, filtered by key and state.
  - With O(observed_providers), also compares the allocations with the providers that really exist, such as
    the virtual nodes or peerings from M(oss_mlops.multicloud.liqo_info) and the servers a cloud lists, and
    reports the differences on both sides.
  - Never changes anything. It opens an SQLite file read-only and does not create it; a missing file, namespace
    or CRD gives an empty list.
extends_documentation_fragment:
  - oss_mlops.multicloud.allocation
options:
  key:
    description: Only list the records of these keys. All keys when empty.
    type: list
    elements: str
    default: []
  state:
    description:
      - Only list records in these states. All states when empty.
      - V(allocated) records belong to their key. V(quarantined) records are released and still block their name
        and blocks. V(released) records are past their quarantine and block nothing.
    type: list
    elements: str
    choices: [allocated, quarantined, released]
    default: []
  observed_providers:
    description:
      - Providers that exist now. When set, even to an empty list, the module returns RV(reconcile).
      - Each item is a name, or a dict whose name is in C(cluster_id), C(name) or C(hostname), in that order,
        with an optional C(source) such as V(liqo) or V(verda) that is echoed in the report.
      - The RV(oss_mlops.multicloud.liqo_info#module:virtual_nodes) and
        RV(oss_mlops.multicloud.liqo_info#module:peerings) lists can be passed as they are.
      - The comparison uses every record, whatever O(key) and O(state) select.
    type: list
    elements: raw
  orphan_grace:
    description:
      - How long after its allocation a record without a provider counts as pending rather than orphaned,
        because its VM may still be starting. Seconds, or a number followed by V(s), V(m), V(h), V(d) or V(w).
    type: raw
    default: 15m
attributes:
  check_mode:
    description: Runs normally in check mode; the module only reads.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: N/A
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
  - The report is a snapshot. A provider that is being created or deleted while the module runs may show up on
    either side; act on an orphan only when it is reported by several runs some minutes apart.
seealso:
  - module: oss_mlops.multicloud.cluster_allocation
  - module: oss_mlops.multicloud.liqo_info
"""

EXAMPLES = r"""
- name: List the allocations in quarantine
  oss_mlops.multicloud.cluster_allocation_info:
    state: [quarantined]
  delegate_to: localhost
  register: quarantined

- name: Read the virtual nodes of the consumer
  oss_mlops.multicloud.liqo_info:
    kubeconfig: /etc/oss-mlops/consumer.kubeconfig
  delegate_to: localhost
  register: consumer_liqo

- name: Compare the allocations with the peered providers and the Verda servers
  oss_mlops.multicloud.cluster_allocation_info:
    observed_providers: "{{ consumer_liqo.peerings + (verda_servers | map(attribute='hostname') | list) }}"
  delegate_to: localhost
  register: allocations

- name: Fail when a provider runs without an allocation
  ansible.builtin.assert:
    that: allocations.reconcile.providers_without_allocation | length == 0
    fail_msg: "Providers without an allocation: {{ allocations.reconcile.providers_without_allocation }}"
"""

RETURN = r"""
allocations:
  description:
    - The selected records, sorted by key, then allocation time.
    - Each record has the keys of RV(oss_mlops.multicloud.cluster_allocation#module:allocation).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "verda-v100-2", "name": "mlops-verda-gpu-k3x9q", "cluster_id": "mlops-verda-gpu-k3x9q",
            "hostname": "mlops-verda-gpu-k3x9q", "tenant_namespace": "liqo-tenant-mlops-verda-gpu-k3x9q",
            "pod_cidr": "10.112.0.0/20", "service_cidr": "10.48.0.0/22", "state": "allocated", "cloud": "verda",
            "flavor_class": "gpu", "pinned": false, "allocated_at": "2026-12-04T16:10:44Z",
            "allocated_by": "awx@controller-1", "released_at": "", "released_by": "", "quarantine_until": ""}]
reconcile:
  description: Differences between the allocations and O(observed_providers).
  returned: when O(observed_providers) is set
  type: dict
  contains:
    matched:
      description: Allocated records whose name is among the observed providers.
      type: list
      elements: dict
    pending:
      description: Allocated records without a provider, younger than O(orphan_grace).
      type: list
      elements: dict
    allocations_without_provider:
      description: Allocated records without a provider, older than O(orphan_grace); release them if their VM is gone.
      type: list
      elements: dict
    providers_without_allocation:
      description:
        - Observed providers with no allocated or quarantined record, as C(name) and C(sources).
        - Their CIDRs may overlap future allocations; pin them with M(oss_mlops.multicloud.cluster_allocation).
      type: list
      elements: dict
      sample: [{"name": "verda-v100-1", "sources": ["liqo"]}]
    providers_in_quarantine:
      description:
        - Observed providers whose allocation is released but still in quarantine, as C(name), C(sources) and
          C(allocation). Delete the provider before the quarantine ends, or its name and blocks are handed out again.
      type: list
      elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation import (
    STATES,
    filter_records,
    reconcile,
    utc_now,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_ansible import (
    backend_argument_spec,
    open_store,
    read_records,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_settings import (
    AllocationError,
    parse_duration,
)


def argument_spec():
    return backend_argument_spec({
        "key": {"type": "list", "elements": "str", "default": [], "no_log": False},
        "state": {"type": "list", "elements": "str", "choices": list(STATES), "default": []},
        "observed_providers": {"type": "list", "elements": "raw"},
        "orphan_grace": {"type": "raw", "default": "15m"},
    })


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    now = utc_now()
    try:
        grace_seconds = parse_duration(params["orphan_grace"], "orphan_grace")
    except AllocationError as error:
        module.fail_json(msg=str(error))

    records = read_records(module, open_store(module))
    result = {"changed": False,
              "allocations": [record.to_result(now)
                              for record in filter_records(records, now, params["key"], params["state"])]}
    if params["observed_providers"] is not None:
        try:
            result["reconcile"] = reconcile(records, params["observed_providers"], now, grace_seconds)
        except AllocationError as error:
            module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
