# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared base of the Liqo modules: kubeconfig, context, the liqoctl binary and the API client.

A module subclasses LiqoModule, adds its own options and implements validate() and run().
execute() validates the options, then checks the liqoctl version and that the cluster API
responds, all before run() is called, so invalid input, a wrong binary or an unreachable
kubeconfig stops the module before anything is changed. run() raises LiqoError for a failure
the user has to fix, and execute() turns it into fail_json.
"""

from __future__ import annotations

import copy
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_kube
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_kube import KubeAccessError, KubeCluster

DEFAULT_LIQOCTL_VERSION = "v1.0.3"
DEFAULT_KUBECONFIG = "~/.kube/config"

LIQO_COMMON_ARGUMENT_SPEC = {
    "kubeconfig": {"type": "path", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG", "KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "liqoctl_path": {"type": "path"},
    "liqoctl_version": {"type": "str", "default": DEFAULT_LIQOCTL_VERSION},
    "liqo_namespace": {"type": "str", "default": "liqo"},
}

# A fixed locale keeps liqoctl messages parseable. NO_COLOR and TERM=dumb ask terminal libraries that
# honour them for plain text, and strip_ansi() removes the colour codes that still come through.
LIQOCTL_ENVIRONMENT = {"LC_ALL": "C", "LANGUAGE": "C", "NO_COLOR": "1", "TERM": "dumb"}

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
CLIENT_VERSION_LINE = re.compile(r"Client version:\s*(\S+)")
NOT_INSTALLED_MESSAGE = "Liqo is not installed"
MAX_STDERR_LINES = 15
CLUSTER_ID_CONFIG_MAP = "liqo-clusterid-configmap"


class LiqoError(Exception):
    """A failure the user has to fix; details become extra keys of the failed result."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.details = details


def liqo_argument_spec(extra=None):
    """Return the shared options merged with a module's own options."""
    spec = copy.deepcopy(LIQO_COMMON_ARGUMENT_SPEC)
    spec.update(extra or {})
    return spec


def resolve_kubeconfig(value):
    """Return the kubeconfig path: the option, its environment fallbacks, then ~/.kube/config."""
    return os.path.expanduser(value or DEFAULT_KUBECONFIG)


def normalize_version(version):
    """Return a version with a leading 'v', as liqoctl and the Liqo chart tags write it."""
    version = str(version).strip()
    return version if version.startswith("v") else "v" + version


def strip_ansi(text):
    return ANSI_ESCAPE.sub("", text or "")


def stderr_summary(stderr):
    """Return the last meaningful lines of liqoctl's stderr, without colour codes or spinner frames."""
    lines = [line.strip() for line in strip_ansi(stderr).splitlines() if line.strip()]
    return "\n".join(lines[-MAX_STDERR_LINES:])


def parse_client_version(stdout):
    """Return the version printed by `liqoctl version --client`, or None."""
    match = CLIENT_VERSION_LINE.search(strip_ansi(stdout))
    return match.group(1) if match else None


def parse_info_json(stdout):
    """Return the object printed by `liqoctl info -o json`. Raise ValueError when stdout contains none."""
    text = strip_ansi(stdout).strip()
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object in the output")
    return json.loads(text[start:])


class ClusterConnection:
    """One cluster as the modules reach it: kubeconfig, context, Liqo namespace, API client."""

    def __init__(self, kubeconfig, context, liqo_namespace, role):
        self.kubeconfig = resolve_kubeconfig(kubeconfig)
        self.context = context
        self.liqo_namespace = liqo_namespace
        self.role = role
        self._api = None

    def describe(self):
        role = f"{self.role} " if self.role else ""
        text = f"the {role}cluster (kubeconfig {self.kubeconfig}"
        if self.context:
            text += f", context {self.context}"
        return text + ")"

    @property
    def api(self):
        """Return the API client, created and probed on first use."""
        if self._api is None:
            api = KubeCluster(self.kubeconfig, self.context)
            api.probe()
            self._api = api
        return self._api

    def flags(self, prefix=""):
        """Return liqoctl's access flags for this cluster (prefix 'remote-' on two-cluster commands)."""
        flags = [f"--{prefix}kubeconfig", self.kubeconfig]
        if self.context:
            flags += [f"--{prefix}context", self.context]
        return flags


class LiqoModule:
    """Base of the Liqo modules; subclasses define argument_spec and run()."""

    argument_spec = {}
    module_kwargs = {}
    # How messages name the cluster behind `kubeconfig`: "consumer" for the two-cluster modules.
    local_role = ""

    def __init__(self):
        self.module = AnsibleModule(
            argument_spec=liqo_argument_spec(self.argument_spec), supports_check_mode=True, **self.module_kwargs
        )
        self.params = self.module.params
        self.result = {"changed": False}
        self.local = ClusterConnection(
            self.params["kubeconfig"], self.params["context"], self.params["liqo_namespace"], self.local_role
        )
        # Every cluster the module reaches; two-cluster modules append the remote one in validate().
        self.connections = [self.local]
        self.liqoctl_path = None
        self.liqoctl_version = None

    def execute(self):
        """Validate the options, check the prerequisites, run the module and exit with its result."""
        try:
            self.validate()
            self.check_prerequisites()
            self.run()
        except KubeAccessError as error:
            self.module.fail_json(msg=str(error), **self.result)
        except LiqoError as error:
            self.module.fail_json(msg=str(error), **error.details, **self.result)
        self.module.exit_json(**self.result)

    def validate(self):
        """Check the options before any command runs; subclasses raise LiqoError on invalid input."""

    def run(self):
        raise NotImplementedError

    def check_prerequisites(self):
        """Fail early on a missing library, a wrong liqoctl or an unreachable cluster."""
        if not liqo_kube.HAS_KUBERNETES:
            self.module.fail_json(
                msg=missing_required_lib("kubernetes"), exception=liqo_kube.KUBERNETES_IMPORT_ERROR
            )
        self.mask_credentials()
        self.find_liqoctl()
        # liqoctl loads the kubeconfig even for `version --client`, so the kubeconfig is checked first.
        self.connect(self.local)
        self.check_liqoctl_version()

    def mask_credentials(self):
        """Add the credentials of every kubeconfig to no_log_values, so no output can show them."""
        for cluster in self.connections:
            for credential in liqo_kube.kubeconfig_credentials(cluster.kubeconfig):
                self.module.no_log_values.add(credential)

    def connect(self, cluster):
        """Return the cluster's API client after checking that the API responds.

        Raises KubeAccessError, naming the kubeconfig, when it does not.
        """
        return cluster.api

    def find_liqoctl(self):
        path = self.params["liqoctl_path"]
        if path is None:
            path = self.module.get_bin_path("liqoctl", required=True)
        elif not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise LiqoError(f"liqoctl_path {path} is not an executable file; set liqoctl_path to the liqoctl binary")
        self.liqoctl_path = path

    def check_liqoctl_version(self):
        """Fail unless `liqoctl version --client` reports liqoctl_version."""
        expected = normalize_version(self.params["liqoctl_version"])
        args = ["version", "--client"] + self.local.flags()
        rc, stdout, stderr = self.run_liqoctl(args, check_rc=False)
        reported = parse_client_version(stdout)
        if rc != 0 or reported is None:
            raise LiqoError(
                f"Cannot read the version of liqoctl at {self.liqoctl_path} (rc {rc}): {stderr_summary(stderr)}",
                **self.command_details(args, rc, stdout, stderr),
            )
        if normalize_version(reported) != expected:
            raise LiqoError(
                f"liqoctl at {self.liqoctl_path} reports version {reported}, but liqoctl_version is {expected}. "
                f"Install liqoctl {expected} there or point liqoctl_path to a {expected} binary; set "
                f"liqoctl_version to {reported} only if every peered cluster runs Liqo {reported}",
                liqoctl_version=reported,
            )
        self.liqoctl_version = reported
        self.result["liqoctl_version"] = reported

    def command_details(self, args, rc, stdout, stderr):
        return {"cmd": [self.liqoctl_path] + list(args), "rc": rc, "stdout": stdout, "stderr": strip_ansi(stderr)}

    def run_liqoctl(self, args, check_rc=True, action=None):
        """Run liqoctl with an argv list and a fixed locale; raise LiqoError on failure when check_rc."""
        argv = [self.liqoctl_path] + list(args)
        rc, stdout, stderr = self.module.run_command(argv, environ_update=LIQOCTL_ENVIRONMENT)
        if check_rc and rc != 0:
            action = action or "liqoctl " + " ".join(args[:2])
            raise LiqoError(
                f"{action} failed (rc {rc}): {stderr_summary(stderr) or strip_ansi(stdout).strip()}",
                **self.command_details(args, rc, stdout, stderr),
            )
        return rc, stdout, stderr

    def liqoctl_info(self, cluster, verbose=True):
        """Return `liqoctl info -o json [-v]` as a dict, or None when Liqo is not installed there."""
        args = ["info", "-o", "json"] + (["-v"] if verbose else []) + ["-n", cluster.liqo_namespace]
        args += cluster.flags()
        rc, stdout, stderr = self.run_liqoctl(args, check_rc=False)
        if rc != 0:
            if NOT_INSTALLED_MESSAGE in strip_ansi(stderr) + strip_ansi(stdout):
                return None
            raise LiqoError(
                f"liqoctl info failed on {cluster.describe()} (rc {rc}): {stderr_summary(stderr)}",
                **self.command_details(args, rc, stdout, stderr),
            )
        try:
            return parse_info_json(stdout)
        except ValueError as error:
            raise LiqoError(
                f"liqoctl info on {cluster.describe()} printed no readable JSON ({error}); "
                f"check that {self.liqoctl_path} is liqoctl {self.params['liqoctl_version']}",
                **self.command_details(args, rc, stdout, stderr),
            ) from error

    def read_cluster_id(self, cluster):
        """Return the Liqo cluster ID from the cluster ID ConfigMap, or None when Liqo is not installed."""
        config_map = cluster.api.get_config_map(cluster.liqo_namespace, CLUSTER_ID_CONFIG_MAP)
        return ((config_map or {}).get("data") or {}).get("CLUSTER_ID") or None
