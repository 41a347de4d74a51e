#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: verda_instance
short_description: Deploy or delete a Verda (formerly DataCrunch) cloud instance, volumes included
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@oss-mlops)
description:
  - Deploys an instance with a given O(hostname), or deletes it, through the Verda public API.
  - The hostname identifies the instance, so a second run with the same hostname changes nothing. Verda cannot
    change the type, location or image of an instance; if they differ from the request, the module warns and
    leaves the instance as it is.
  - Before deploying, looks up the instance types, the locations and the current availability, and fails
    with the valid values or the locations that have stock when the request cannot be met.
  - With O(state=absent), deletes the instance together with its OS volume and every other volume attached to
    it, permanently (not into Verda's 96-hour trash), then checks that no volume named after the hostname is
    left, detached or in the trash, and deletes those too. Verda bills stopped instances and detached or
    trashed volumes, so nothing is stopped or kept.
  - An instance that is already gone, or gone while being deleted, counts as deleted.
  - Tags go into the instance description as C(key=value) words, because Verda instances have no tags.
extends_documentation_fragment:
  - oss_mlops.multicloud.verda
  - ansible.builtin.action_common_attributes
options:
  hostname:
    description:
      - Hostname of the instance, and its identity for this module. Letters, digits and hyphens, at least one
        letter, no hyphen at either end; at most 63 characters. It cannot be changed after deployment.
    type: str
    required: true
  state:
    description:
      - V(present) deploys the instance unless one with O(hostname) exists.
      - V(absent) deletes it and its volumes.
    type: str
    choices: [present, absent]
    default: present
  instance_type:
    description:
      - Verda instance type, such as V(1V100.6V) or V(CPU.4V.16G). Required with O(state=present).
    type: str
  image:
    description:
      - OS image type, such as V(ubuntu-24.04-cuda-12.8-open-docker). Required with O(state=present).
    type: str
  location:
    description:
      - Location code, such as V(FIN-01).
      - When not set, the first location (in the order of the locations list) that has O(instance_type) in stock.
    type: str
  ssh_key_ids:
    description:
      - IDs of SSH keys registered in Verda to install for the default user.
    type: list
    elements: str
    default: []
  startup_script:
    description:
      - Content of a startup script run at first boot, such as cloud-init user data.
      - The module stores it as a Verda startup script named after O(hostname). O(state=absent) deletes every
        startup script with that name.
      - Mutually exclusive with O(startup_script_id).
    type: str
  startup_script_id:
    description:
      - ID of an existing Verda startup script to run at first boot.
    type: str
  os_volume_size:
    description:
      - Size of the OS volume in GB. The volume is named C(<hostname>-os).
    type: int
    default: 100
  is_spot:
    description:
      - Whether to deploy a spot instance. Spot OS volumes are deleted permanently when Verda discontinues the
        instance.
    type: bool
    default: false
  tags:
    description:
      - 'Tags to store in the description, such as V({"oss-mlops-managed": "true"}). Keys and values without spaces.'
      - Only set at deployment, because Verda cannot change a description afterwards.
    type: dict
    default: {}
  wait:
    description:
      - With O(state=present), whether to wait until the instance is V(running).
      - With O(state=absent), whether to wait until the API no longer lists the instance.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for O(wait).
    type: int
    default: 900
  delete_on_failure:
    description:
      - When the instance was deployed by this run but does not become V(running) (error status or
        O(wait_timeout)), delete it with its volumes before failing, so a failed run leaves nothing billed.
      - Set V(false) to keep it for debugging; the failure message then names what was left.
    type: bool
    default: true
attributes:
  check_mode:
    description: Looks up the instance, the type, the location and the availability, and changes nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  platform:
    description: Runs on the host that reaches the Verda API, usually the controller.
    support: full
    platforms: posix
  action_group:
    description: Use C(group/oss_mlops.multicloud.verda) in C(module_defaults) to set the connection options.
    support: full
    membership:
      - oss_mlops.multicloud.verda
notes:
  - Verda hostnames need not be unique. If more than one instance has O(hostname), the module fails and
    changes nothing.
  - The Verda SDK has no request timeout and no retry; this module adds both (O(api_timeout), O(api_retries)).
seealso:
  - module: oss_mlops.multicloud.verda_instance_info
"""

EXAMPLES = r"""
- name: Deploy a V100 provider with cloud-init user data, in any location that has stock
  oss_mlops.multicloud.verda_instance:
    hostname: mlops-verda-gpu-k3x9q
    instance_type: 1V100.6V
    image: ubuntu-24.04-cuda-12.8-open-docker
    ssh_key_ids: ["{{ verda_ssh_key_id }}"]
    startup_script: "{{ vm_bootstrap_user_data }}"
    tags:
      oss-mlops-managed: "true"
      oss-mlops-allocation-key: verda-v100-2
  delegate_to: localhost
  register: vm

- name: Delete it with its volumes, permanently
  oss_mlops.multicloud.verda_instance:
    hostname: mlops-verda-gpu-k3x9q
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
instance:
  description: The instance as the API returns it, or null when there is none (after deletion, or in check mode
    before deployment).
  returned: always
  type: dict
  contains:
    id:
      description: Instance ID.
      type: str
    hostname:
      description: Hostname.
      type: str
    status:
      description: Status, such as V(running), V(provisioning) or V(error).
      type: str
    instance_type:
      description: Instance type.
      type: str
    location:
      description: Location code.
      type: str
    ip:
      description: Public IPv4 address; null until the instance is provisioned.
      type: str
    os_volume_id:
      description: ID of the OS volume.
      type: str
    tags:
      description: Tags decoded from the description.
      type: dict
    created_at:
      description: Creation time as the API reports it.
      type: str
deleted_volumes:
  description: IDs of the volumes this run deleted permanently.
  returned: always
  type: list
  elements: str
location:
  description: Location the instance runs in, or would be deployed to in check mode.
  returned: with O(state=present)
  type: str
  sample: FIN-01
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.verda import (
    FAILED_STATUSES,
    VerdaError,
    encode_tags,
    validate_tags,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.verda_ansible import (
    connect,
    connection_argument_spec,
    instance_result,
)

HOSTNAME = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def argument_spec():
    return connection_argument_spec({
        "hostname": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "instance_type": {"type": "str"},
        "image": {"type": "str"},
        "location": {"type": "str"},
        "ssh_key_ids": {"type": "list", "elements": "str", "default": [], "no_log": False},
        "startup_script": {"type": "str"},
        "startup_script_id": {"type": "str"},
        "os_volume_size": {"type": "int", "default": 100},
        "is_spot": {"type": "bool", "default": False},
        "tags": {"type": "dict", "default": {}},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 900},
        "delete_on_failure": {"type": "bool", "default": True},
    })


def check_input(module):
    params = module.params
    if not HOSTNAME.match(params["hostname"]):
        module.fail_json(msg=f"hostname {params['hostname']!r} is invalid: use letters, digits and hyphens, at "
                             "least one letter, no hyphen at either end, at most 63 characters.")
    problems = validate_tags(params["tags"])
    if problems:
        module.fail_json(msg="Invalid tags: " + "; ".join(problems) + ".")
    if params["state"] == "present":
        missing = [name for name in ("instance_type", "image") if not params[name]]
        if missing:
            module.fail_json(msg=f"state=present needs {' and '.join(missing)}.")
    if params["wait_timeout"] < 1 or params["os_volume_size"] < 1:
        module.fail_json(msg="wait_timeout and os_volume_size must be positive numbers.")


def find_instance(module, api):
    """Return the one live instance with the hostname, or None; fail when several share it."""
    found = api.find_instances(module.params["hostname"])
    if len(found) > 1:
        module.fail_json(msg=f"{len(found)} instances have hostname {module.params['hostname']} "
                             f"({', '.join(item['id'] for item in found)}). Delete the extra ones in the Verda "
                             "console; this module manages exactly one instance per hostname.")
    return found[0] if found else None


def choose_location(module, api):
    """Check type and location against the API and return a location that has the type in stock."""
    params = module.params
    types = sorted(item["instance_type"] for item in api.instance_types())
    if params["instance_type"] not in types:
        module.fail_json(msg=f"instance_type {params['instance_type']} is not offered by Verda. Valid types: "
                             f"{', '.join(types)}.")
    codes = [item["code"] for item in api.locations()]
    if params["location"] and params["location"] not in codes:
        module.fail_json(msg=f"location {params['location']} is not a Verda location. Valid locations: "
                             f"{', '.join(codes)}.")
    in_stock = [entry["location_code"] for entry in api.availability(params["is_spot"], params["location"])
                if params["instance_type"] in entry.get("availabilities", [])]
    in_stock = sorted(in_stock, key=lambda code: codes.index(code) if code in codes else len(codes))
    if not in_stock:
        where = params["location"] or "any location"
        module.fail_json(msg=f"No stock: instance type {params['instance_type']} "
                             f"({'spot' if params['is_spot'] else 'on demand'}) is not available in {where}. "
                             "Choose another type or location, or try again later. Nothing was deployed.")
    return in_stock[0]


def deploy_payload(module, location, script_id):
    params = module.params
    payload = {
        "instance_type": params["instance_type"], "image": params["image"], "hostname": params["hostname"],
        "description": encode_tags(params["tags"]) or params["hostname"], "location_code": location,
        "ssh_key_ids": params["ssh_key_ids"], "startup_script_id": script_id,
        "os_volume": {"name": f"{params['hostname']}-os", "size": params["os_volume_size"]},
        "volumes": [], "existing_volumes": [], "is_spot": params["is_spot"],
    }
    if params["is_spot"]:
        payload["os_volume"]["on_spot_discontinue"] = "delete_permanently"
    return payload


def ensure_present(module, api):
    params = module.params
    existing = find_instance(module, api)
    if existing:
        warn_on_drift(module, existing)
        if params["wait"] and existing["status"] != "running" and not module.check_mode:
            existing = wait_until_running(module, api, existing["id"], created=False)
        module.exit_json(changed=False, instance=instance_result(existing), deleted_volumes=[],
                         location=existing.get("location"))
    location = choose_location(module, api)
    if module.check_mode:
        module.exit_json(changed=True, instance=None, deleted_volumes=[], location=location)
    script_id = params["startup_script_id"]
    if params["startup_script"]:
        script_id = api.create_script(params["hostname"], params["startup_script"])
    instance_id = api.create_instance(deploy_payload(module, location, script_id))
    try:
        instance = api.instance(instance_id)
        if params["wait"]:
            instance = wait_until_running(module, api, instance_id, created=True)
    except VerdaError as error:
        fail_deployment(module, api, instance_id, None, f"could not be followed after deployment ({error})",
                        created=True)
    module.exit_json(changed=True, instance=instance_result(instance), deleted_volumes=[], location=location)


def warn_on_drift(module, instance):
    for option, field in (("instance_type", "instance_type"), ("location", "location"), ("image", "image")):
        wanted = module.params[option]
        if wanted and instance.get(field) and instance[field] != wanted:
            module.warn(f"Instance {instance['hostname']} has {option} {instance[field]}, not {wanted}. Verda "
                        "cannot change it; delete the instance (state=absent) and deploy it again to change it.")


def wait_until_running(module, api, instance_id, created):
    params = module.params
    started = time.monotonic()
    instance, done = api.wait_for(instance_id, lambda item: item is None or item["status"] == "running"
                                  or item["status"] in FAILED_STATUSES, params["wait_timeout"])
    if done and instance is not None and instance["status"] == "running":
        return instance
    if instance is None:
        problem = "disappeared while it was being deployed"
    elif done:
        problem = f"entered status {instance['status']}"
    else:
        problem = f"is still {instance['status']} after {int(time.monotonic() - started)} s (wait_timeout)"
    fail_deployment(module, api, instance_id, instance, problem, created=created)


def fail_deployment(module, api, instance_id, instance, problem, *, created):
    hostname = module.params["hostname"]
    if not created or not module.params["delete_on_failure"]:
        module.fail_json(msg=f"Instance {hostname} ({instance_id}) {problem}. It was left as it is and keeps "
                             "billing; delete it with state=absent.", instance=instance_result(instance))
    try:
        deleted = delete_everything(module, api, instance, instance_id)
    except VerdaError as error:
        module.fail_json(msg=f"Instance {hostname} ({instance_id}) {problem}. Deleting it failed too ({error}), "
                             "so it may still be billed; run again with state=absent.",
                         instance=instance_result(instance))
    module.fail_json(msg=f"Instance {hostname} ({instance_id}) {problem}. It was deleted with its volumes "
                         f"({', '.join(deleted) or 'none left'}).", instance=instance_result(instance),
                     deleted_volumes=deleted)


def attached_volume_ids(api, instance, instance_id):
    ids = [instance["os_volume_id"]] if instance and instance.get("os_volume_id") else []
    ids += [item["id"] for item in api.volumes() if item.get("instance_id") == instance_id and item["id"] not in ids]
    return ids


def delete_everything(module, api, instance, instance_id):
    """Delete the instance with its volumes permanently, then any volume left with our name; return volume IDs."""
    volume_ids = attached_volume_ids(api, instance, instance_id) if instance_id else []
    if instance_id:
        api.delete_instance(instance_id, volume_ids)
        if module.params["wait"]:
            remaining, gone = api.wait_for(instance_id, lambda item: item is None, module.params["wait_timeout"])
            if not gone:
                module.fail_json(msg=f"Instance {module.params['hostname']} ({instance_id}) is still listed with "
                                     f"status {remaining['status']} after {module.params['wait_timeout']} s. "
                                     "The delete was accepted; run again to check that it is gone.")
    deleted = list(volume_ids)
    deleted += delete_leftover_volumes(module, api)
    delete_startup_scripts(module, api)
    return deleted


def delete_leftover_volumes(module, api):
    """Delete volumes named after the hostname that are detached or in the trash; both keep billing."""
    name = f"{module.params['hostname']}-os"
    leftovers = [item for item in api.volumes() if item.get("name") == name and not item.get("instance_id")]
    leftovers += [item for item in api.trash() if item.get("name") == name]
    return [item["id"] for item in leftovers if api.delete_volume(item["id"])]


def delete_startup_scripts(module, api):
    """Delete the startup scripts named after the hostname, which this module creates from startup_script."""
    for script in api.scripts():
        if script.get("name") == module.params["hostname"]:
            api.delete_script(script["id"])


def ensure_absent(module, api):
    instance = find_instance(module, api)
    name = f"{module.params['hostname']}-os"
    leftovers = [item for item in api.volumes() if item.get("name") == name and not item.get("instance_id")]
    leftovers += [item for item in api.trash() if item.get("name") == name]
    if instance is None and not leftovers:
        if not module.check_mode:
            delete_startup_scripts(module, api)
        module.exit_json(changed=False, instance=None, deleted_volumes=[])
    if module.check_mode:
        module.exit_json(changed=True, instance=instance_result(instance), deleted_volumes=[])
    deleted = delete_everything(module, api, instance, instance["id"] if instance else None)
    module.exit_json(changed=True, instance=None, deleted_volumes=deleted)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[("startup_script", "startup_script_id")])
    check_input(module)
    api = connect(module)
    try:
        if module.params["state"] == "present":
            ensure_present(module, api)
        else:
            ensure_absent(module, api)
    except VerdaError as error:
        module.fail_json(msg=f"{error}. Check the Verda status page and the credentials, then run again; "
                             "a run with state=absent removes whatever this run left.")


if __name__ == "__main__":
    main()
