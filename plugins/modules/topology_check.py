#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: topology_check
short_description: Check cluster IDs and CIDRs of a consumer and its providers before joining them
version_added: 0.1.0
description:
  - Checks the names and networks of every cluster that a join will touch, before anything is changed.
  - Every cluster ID must be a DNS-1123 label short enough that Liqo's tenant namespace
    C(liqo-tenant-<cluster id>) fits in 63 characters, and no two clusters may share one.
  - Pod and service CIDRs must be valid network addresses and must not overlap each other, the pod or service
    CIDR of any other cluster, any reserved subnet, or Liqo's default external (10.70.0.0/16) and internal
    (10.80.0.0/16) CIDRs.
  - Fails with every problem found, each naming the cluster, the value and what to change.
  - Changes nothing, so it runs in check mode like in normal mode.
author:
  - OSS MLOps Platform contributors (@OSS-MLOPS-PLATFORM)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  clusters:
    description:
      - The clusters to check, usually the consumer and every provider of the inventory.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name used in messages, usually the inventory hostname.
        type: str
        required: true
      cluster_id:
        description: Liqo cluster ID of the cluster.
        type: str
        required: true
      pod_cidr:
        description: Pod CIDR of the cluster.
        type: str
        required: true
      service_cidr:
        description: Service CIDR of the cluster.
        type: str
        required: true
      reserved_subnets:
        description:
          - Networks the cluster must not use for pods or services, such as the VM's cloud network or the
            Docker network of a kind node. They may overlap the reserved subnets of other clusters.
        type: list
        elements: str
        default: []
  reserved_ranges:
    description:
      - Further networks that no pod or service CIDR may overlap, for example cloud networks shared by all VMs.
    type: list
    elements: str
    default: []
  liqo_defaults:
    description:
      - Whether Liqo's default external and internal CIDRs count as reserved.
      - Set to V(false) only if every cluster was installed with other C(ipam.externalCIDR) and
        C(ipam.internalCIDR) values.
    type: bool
    default: true
notes:
  - The module checks the values it is given; M(oss_mlops.multicloud.liqo_info) reads what a cluster really uses.
"""

EXAMPLES = r"""
- name: Check the consumer and one GPU provider
  oss_mlops.multicloud.topology_check:
    clusters:
      - name: mlops-consumer
        cluster_id: mlops-consumer
        pod_cidr: 10.244.0.0/16
        service_cidr: 10.96.0.0/16
        reserved_subnets:
          - 172.18.0.0/16
      - name: verda-v100-1
        cluster_id: verda-v100-1
        pod_cidr: 10.150.0.0/16
        service_cidr: 10.151.0.0/16
    reserved_ranges:
      - 192.168.1.0/24
"""

RETURN = r"""
clusters:
  description: The clusters checked, with CIDRs in normalised form.
  returned: success
  type: list
  elements: dict
  sample:
    - name: verda-v100-1
      cluster_id: verda-v100-1
      pod_cidr: 10.150.0.0/16
      service_cidr: 10.151.0.0/16
      reserved_subnets: []
problems:
  description: Every problem found, one sentence each; empty on success.
  returned: always
  type: list
  elements: str
  sample: ["verda-v100-1 pod_cidr 10.244.0.0/16 overlaps mlops-consumer pod_cidr 10.244.0.0/16; ..."]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.cidr import check_topology, parse_cidr


def normalise(cluster):
    result = dict(cluster)
    for key in ("pod_cidr", "service_cidr"):
        result[key] = str(parse_cidr(cluster[key], key))
    result["reserved_subnets"] = [str(parse_cidr(value, "reserved_subnets")) for value in cluster["reserved_subnets"]]
    return result


def main():
    cluster_spec = dict(
        name=dict(type="str", required=True),
        cluster_id=dict(type="str", required=True),
        pod_cidr=dict(type="str", required=True),
        service_cidr=dict(type="str", required=True),
        reserved_subnets=dict(type="list", elements="str", default=[]),
    )
    module = AnsibleModule(
        argument_spec=dict(
            clusters=dict(type="list", elements="dict", required=True, options=cluster_spec),
            reserved_ranges=dict(type="list", elements="str", default=[]),
            liqo_defaults=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    clusters = module.params["clusters"]

    problems = check_topology(clusters, module.params["reserved_ranges"], module.params["liqo_defaults"])
    if problems:
        module.fail_json(msg="The topology is invalid: " + " ".join(problems), problems=problems)

    module.exit_json(changed=False, clusters=[normalise(cluster) for cluster in clusters], problems=[])


if __name__ == "__main__":
    main()
