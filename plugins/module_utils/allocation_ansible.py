# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Ansible glue shared by cluster_allocation and cluster_allocation_info: backend options and store access."""

from __future__ import annotations

import getpass
import os
import socket

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_kube
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_kube import DEFAULT_NAMESPACE, KubeStore
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_sqlite import (
    SqliteStore,
    StoreError,
    default_database_path,
)

DEFAULT_KUBECONFIG = "~/.kube/config"

BACKEND_ARGUMENT_SPEC = {
    "backend": {"type": "str", "choices": ["sqlite", "kubernetes"], "default": "sqlite"},
    "database": {"type": "path", "fallback": (env_fallback, ["OSS_MLOPS_ALLOCATION_DATABASE"])},
    "kubeconfig": {"type": "path", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG", "KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "namespace": {"type": "str", "default": DEFAULT_NAMESPACE},
    "timeout": {"type": "int", "default": 60},
}


def backend_argument_spec(extra):
    spec = {name: dict(option) for name, option in BACKEND_ARGUMENT_SPEC.items()}
    spec.update(extra)
    return spec


def default_requester():
    """Return user@host of the process, recorded with each allocation and release."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def open_store(module, manage_crd=False):
    """Return the store the backend options select; fail the module with a clear message if it cannot open."""
    params = module.params
    if params["timeout"] < 1:
        module.fail_json(msg=f"timeout: {params['timeout']} is not a positive number of seconds.")
    if params["backend"] == "sqlite":
        return SqliteStore(params["database"] or default_database_path(), timeout=params["timeout"])

    if not liqo_kube.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=liqo_kube.KUBERNETES_IMPORT_ERROR)
    kubeconfig = os.path.expanduser(params["kubeconfig"] or DEFAULT_KUBECONFIG)
    if os.pathsep in kubeconfig:
        module.fail_json(msg=f"kubeconfig {kubeconfig} lists several files; set kubeconfig (or K8S_AUTH_KUBECONFIG "
                             "or KUBECONFIG) to the one file of the cluster that keeps the allocation table.")
    for secret in liqo_kube.kubeconfig_credentials(kubeconfig):
        module.no_log_values.add(secret)
    try:
        cluster = liqo_kube.KubeCluster(kubeconfig, params["context"])
    except liqo_kube.KubeAccessError as error:
        module.fail_json(msg=str(error))
    return KubeStore(cluster, namespace=params["namespace"], timeout=params["timeout"], manage_crd=manage_crd)


def read_records(module, store):
    try:
        return store.read()
    except StoreError as error:
        module.fail_json(msg=str(error), backend=store.backend)
