# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Ansible glue shared by verda_instance and verda_instance_info: connection options and the client."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.verda import (
    DEFAULT_BASE_URL,
    HAS_VERDA,
    VERDA_IMPORT_ERROR,
    VerdaApi,
    VerdaError,
    decode_tags,
)

CONNECTION_ARGUMENT_SPEC = {
    "client_id": {"type": "str", "no_log": True, "fallback": (env_fallback, ["VERDA_CLIENT_ID"])},
    "client_secret": {"type": "str", "no_log": True, "fallback": (env_fallback, ["VERDA_CLIENT_SECRET"])},
    "base_url": {"type": "str", "fallback": (env_fallback, ["VERDA_BASE_URL"])},
    "api_timeout": {"type": "int", "default": 30},
    "api_retries": {"type": "int", "default": 3},
}


def connection_argument_spec(extra):
    spec = {name: dict(option) for name, option in CONNECTION_ARGUMENT_SPEC.items()}
    spec.update(extra)
    return spec


def connect(module):
    """Return a logged-in VerdaApi, or fail the module saying which setting to fix."""
    if not HAS_VERDA:
        module.fail_json(msg=missing_required_lib("verda"), exception=VERDA_IMPORT_ERROR)
    params = module.params
    missing = [name for name in ("client_id", "client_secret") if not params[name]]
    if missing:
        module.fail_json(msg=f"Missing Verda credentials: set {' and '.join(missing)}, or the environment "
                             "variables VERDA_CLIENT_ID and VERDA_CLIENT_SECRET.")
    if params["api_timeout"] < 1 or params["api_retries"] < 0:
        module.fail_json(msg=f"api_timeout must be at least 1 and api_retries at least 0, not "
                             f"{params['api_timeout']} and {params['api_retries']}.")
    try:
        return VerdaApi(params["client_id"], params["client_secret"], params["base_url"] or DEFAULT_BASE_URL,
                        timeout=params["api_timeout"], retries=params["api_retries"])
    except VerdaError as error:
        module.fail_json(msg=str(error))


def instance_result(instance):
    """Return the fields of an API instance record that the modules report, with its tags decoded."""
    if instance is None:
        return None
    fields = ("id", "hostname", "status", "instance_type", "location", "ip", "os_volume_id", "description",
              "created_at", "image", "is_spot", "price_per_hour", "startup_script_id")
    result = {field: instance.get(field) for field in fields}
    result["tags"] = decode_tags(instance.get("description"))
    return result
