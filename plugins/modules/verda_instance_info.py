#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: verda_instance_info
short_description: List Verda instances by hostname or tags, and the volumes that bill without an instance
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@oss-mlops)
description:
  - Lists the Verda instances that are not deleted, optionally only those with O(hostname) or carrying all of
    O(tags) (read from the description, where M(oss_mlops.multicloud.verda_instance) stores them).
  - Also lists the volumes that are detached or in the trash, which Verda keeps billing, so orphans can be found.
  - Never changes anything.
extends_documentation_fragment:
  - oss_mlops.multicloud.verda
  - ansible.builtin.action_common_attributes
options:
  hostname:
    description: Only list the instance with this hostname.
    type: str
  tags:
    description:
      - 'Only list instances whose tags contain all of these key and value pairs, such as
        V({"oss-mlops-managed": "true"}).'
    type: dict
    default: {}
attributes:
  check_mode:
    description: Runs normally in check mode; the module only reads.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: N/A
  platform:
    description: Runs on the host that reaches the Verda API, usually the controller.
    support: full
    platforms: posix
  action_group:
    description: Use C(group/oss_mlops.multicloud.verda) in C(module_defaults) to set the connection options.
    support: full
    membership:
      - oss_mlops.multicloud.verda
seealso:
  - module: oss_mlops.multicloud.verda_instance
"""

EXAMPLES = r"""
- name: List the instances this collection deployed
  oss_mlops.multicloud.verda_instance_info:
    tags:
      oss-mlops-managed: "true"
  delegate_to: localhost
  register: ours

- name: Show them
  ansible.builtin.debug:
    msg: "{{ item.hostname }} {{ item.status }} key={{ item.tags['oss-mlops-allocation-key'] | default('') }}"
  loop: "{{ ours.instances }}"
"""

RETURN = r"""
instances:
  description: The matching instances, as M(oss_mlops.multicloud.verda_instance) returns one.
  returned: always
  type: list
  elements: dict
detached_volumes:
  description:
    - Volumes attached to no instance, including those in the trash (C(status) V(deleted)). Each bills until
      it is deleted permanently.
    - With O(hostname), only the volume named C(<hostname>-os).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Volume ID.
      type: str
    name:
      description: Volume name.
      type: str
    status:
      description: V(detached), or V(deleted) for a volume in the trash.
      type: str
    size:
      description: Size in GB.
      type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.verda import GONE_STATUSES, VerdaError
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.verda_ansible import (
    connect,
    connection_argument_spec,
    instance_result,
)


def matches(instance, hostname, tags):
    if hostname and instance["hostname"] != hostname:
        return False
    return all(instance["tags"].get(key) == str(value) for key, value in tags.items())


def detached_volumes(api, hostname):
    volumes = [item for item in api.volumes() if not item.get("instance_id")] + api.trash()
    if hostname:
        volumes = [item for item in volumes if item.get("name") == f"{hostname}-os"]
    return [{field: item.get(field) for field in ("id", "name", "status", "size", "location")} for item in volumes]


def main():
    module = AnsibleModule(argument_spec=connection_argument_spec({
        "hostname": {"type": "str"},
        "tags": {"type": "dict", "default": {}},
    }), supports_check_mode=True)
    api = connect(module)
    params = module.params
    try:
        instances = [instance_result(item) for item in api.instances() if item.get("status") not in GONE_STATUSES]
        selected = [item for item in instances if matches(item, params["hostname"], params["tags"])]
        volumes = detached_volumes(api, params["hostname"])
    except VerdaError as error:
        module.fail_json(msg=f"{error}. Check the Verda status page and the credentials, then run again.")
    module.exit_json(changed=False, instances=selected, detached_volumes=volumes)


if __name__ == "__main__":
    main()
