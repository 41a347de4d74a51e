#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: liqo_install
short_description: Install, upgrade or uninstall Liqo on one cluster with liqoctl
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@oss-mlops)
description:
  - With O(state=present), installs Liqo with C(liqoctl install <provider>) when it is missing, and runs the
    install again (a Helm upgrade) when the version, API server URL, cluster labels, reserved subnets,
    telemetry setting or extra values differ from the request. Does nothing when everything matches.
  - With O(state=absent), runs C(liqoctl uninstall) when Liqo is installed, after checking that no
    peering and no offloaded namespace is left.
  - The installed state is read from C(liqoctl info -o json -v), the cluster ID ConfigMap, the Network
    objects of the Liqo chart and, when readable, the values of the deployed C(liqo) Helm release.
extends_documentation_fragment:
  - oss_mlops.multicloud.liqo
options:
  state:
    description:
      - V(present) installs or upgrades Liqo, V(absent) uninstalls it.
    type: str
    choices: [present, absent]
    default: present
  provider:
    description:
      - Kind of cluster, which selects the C(liqoctl install) sub-command.
      - V(k3s) and V(generic) get O(pod_cidr), O(service_cidr) and O(api_server_url) as liqoctl flags.
      - liqoctl v1.0.3 has no such flags for V(kind) and V(kubeadm), so the module sets the chart values
        C(ipam.podCIDR), C(ipam.serviceCIDR) and C(apiServer.address) with C(--set) instead.
      - Required when O(state=present).
    type: str
    choices: [kind, k3s, kubeadm, generic]
  cluster_id:
    description:
      - Liqo cluster ID, a DNS-1123 label of at most 51 characters, because peers name their tenant
        namespace C(liqo-tenant-<cluster_id>), which must fit in 63 characters.
      - This value cannot be updated. The module fails when Liqo is installed with another ID; uninstall
        first to change it.
      - Required when O(state=present). With O(state=absent) it is optional; when given, the module fails
        instead of uninstalling a cluster with another ID.
    type: str
  pod_cidr:
    description:
      - Pod CIDR of the cluster, for example V(10.244.0.0/16) on kind or V(10.42.0.0/16) on k3s.
      - Must not overlap O(service_cidr) or a reserved subnet.
      - This value cannot be updated, because Liqo stores it in an immutable Network object.
      - Required when O(state=present).
    type: str
  service_cidr:
    description:
      - Service CIDR of the cluster, for example V(10.96.0.0/16) on kind or V(10.43.0.0/16) on k3s.
      - This value cannot be updated, for the same reason as O(pod_cidr).
      - Required when O(state=present).
    type: str
  api_server_url:
    description:
      - HTTPS URL other clusters use to reach this cluster's API server.
      - For k3s on a VM, the public address, which must also be in the k3s serving certificate
        (C(--tls-san)); the kubeconfig usually says C(https://127.0.0.1:6443), which peers cannot use.
      - V(localhost), V(127.0.0.1), V(0.0.0.0) and V(::1) are rejected, as liqoctl rejects the first three.
      - Required when O(state=present).
    type: str
  reserved_subnets:
    description:
      - Subnets already in use around the cluster (node or VM subnets, the kind Docker network, VPNs),
        which Liqo must not use when it remaps a peer's CIDRs. Do not list O(pod_cidr) or O(service_cidr).
      - Required when O(state=present); give V([]) when there is none, so the choice is explicit.
      - On an upgrade, new subnets are added after the installed ones, and only subnets at the end of
        the installed list can be removed, because Liqo's C(reserved-N) Network objects cannot change.
    type: list
    elements: str
  cluster_labels:
    description:
      - Labels of this cluster, which peers put on the virtual node that represents it (for example
        V(liqo.example/gpu=true)), so namespaces can be offloaded to clusters by label.
      - liqoctl adds C(liqo.io/provider=<provider>) for every provider but V(generic).
    type: dict
    default: {}
  version:
    description:
      - Liqo chart version to install. Defaults to O(liqoctl_version); Liqo expects the chart and liqoctl
        to have the same version.
    type: str
  disable_telemetry:
    description:
      - Disable Liqo's anonymous telemetry CronJob.
      - Defaults to V(true) because the clusters of this collection often run on rented VMs without
        outbound access to the telemetry endpoint, and a failing CronJob only adds noise; set V(false)
        to send Liqo's anonymous usage report.
    type: bool
    default: true
  values:
    description:
      - Extra Helm values for the Liqo chart, as a nested dictionary, for example one that sets
        C(networking.gatewayTemplates.wireguard.implementation) to V(userspace).
      - They are written to a temporary file readable only by the module's user and passed with
        C(--values), never on the command line. The module returns only the paths of keys that differ.
      - Ansible still echoes module arguments in verbose output, so put secrets in O(secret_values).
      - The options of this module take precedence over the same keys in O(values).
    type: dict
    default: {}
  secret_values:
    description:
      - Helm values that hold secrets (registry credentials, tokens), merged over O(values) into the same
        temporary file.
      - Every value in them is masked in the module's output. They are kept apart from O(values) because
        masking replaces each masked string wherever it appears, which would garble the output if short,
        common values such as V(1) or V(true) were masked.
    type: dict
    default: {}
  disable_kernel_version_check:
    description:
      - Skip liqoctl's check that every node runs Linux 5.10 or later, which the WireGuard gateway needs
        (C(--disable-kernel-version-check)). liqoctl also fails when a node reports a kernel version it
        cannot parse, as simulated (KWOK) nodes do.
      - This skips liqoctl's check only. To let the Liqo gateway and fabric start on an older kernel too,
        set C(requirements.kernel.enabled) to V(false) in O(values).
      - Not compared with the installed state; it only affects a run of C(liqoctl install).
    type: bool
    default: false
  timeout:
    description:
      - Seconds liqoctl waits for the install, upgrade or uninstall to complete.
    type: int
    default: 600
  purge:
    description:
      - With O(state=absent), also delete the Liqo CRDs, the tenant namespaces and the Liqo namespace
        (C(liqoctl uninstall --purge)).
    type: bool
    default: false
attributes:
  check_mode:
    description: Reads the installed state and predicts changed without running C(liqoctl install) or C(uninstall).
    support: full
  diff_mode:
    description: Returns the installed and requested settings as before and after.
    support: full
  action_group:
    description: Use C(group/oss_mlops.multicloud.liqo) in C(module_defaults) to set the shared options.
    support: full
    membership:
      - oss_mlops.multicloud.liqo
notes:
  - Changes of O(values) and O(disable_telemetry) are detected only when the deployed Helm release
    of Liqo is readable (Secret C(sh.helm.release.v1.liqo.*) in O(liqo_namespace)); otherwise only the
    version, API server URL, cluster labels and reserved subnets are compared. A key removed from
    O(values) is not detected, because the release also holds the chart defaults.
  - With O(provider=generic), liqoctl checks that O(api_server_url) matches the address in the kubeconfig.
  - liqoctl also checks that running pods and services fit O(pod_cidr) and O(service_cidr); for kind and
    kubeadm it takes the CIDRs it checks from the kube-controller-manager pod.
  - O(state=absent) with O(purge=true) does nothing when Liqo was already uninstalled without purge.
  - A Helm upgrade does not recreate objects that Liqo derived from the old values (for example the
    virtual kubelet of existing peerings); re-peer after changing the API server URL.
seealso:
  - module: oss_mlops.multicloud.liqo_info
  - module: oss_mlops.multicloud.liqo_peering
"""

EXAMPLES = r"""
- name: Install Liqo on the kind consumer of the OSS MLOps Platform
  oss_mlops.multicloud.liqo_install:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/mlops-consumer.yaml"
    provider: kind
    cluster_id: mlops-consumer
    pod_cidr: 10.244.0.0/16
    service_cidr: 10.96.0.0/16
    api_server_url: https://192.0.2.10:6443
    reserved_subnets:
      - 172.18.0.0/16
  delegate_to: localhost

- name: Install Liqo on a k3s GPU provider, advertising its public address
  oss_mlops.multicloud.liqo_install:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/verda-v100-1.yaml"
    provider: k3s
    cluster_id: verda-v100-1
    pod_cidr: 10.42.0.0/16
    service_cidr: 10.43.0.0/16
    api_server_url: "https://{{ hostvars['verda-v100-1'].public_ip }}:6443"
    reserved_subnets: []
    cluster_labels:
      liqo.example/gpu: "true"
    values:
      networking:
        gatewayTemplates:
          wireguard:
            implementation: userspace
  delegate_to: localhost

- name: Uninstall Liqo from a provider that leaves, removing its CRDs and namespaces
  oss_mlops.multicloud.liqo_install:
    kubeconfig: "{{ playbook_dir }}/kubeconfigs/verda-v100-1.yaml"
    state: absent
    cluster_id: verda-v100-1
    purge: true
  delegate_to: localhost
"""

RETURN = r"""
installed:
  description: Whether Liqo is installed after the module ran (predicted in check mode).
  returned: always
  type: bool
  sample: true
cluster_id:
  description: Installed Liqo cluster ID.
  returned: when Liqo is installed
  type: str
  sample: verda-v100-1
version:
  description: Installed Liqo version.
  returned: when Liqo is installed
  type: str
  sample: v1.0.3
api_server_url:
  description: API server URL Liqo advertises.
  returned: when Liqo is installed
  type: str
  sample: https://203.0.113.10:6443
cluster_labels:
  description: Installed cluster labels.
  returned: when Liqo is installed
  type: dict
  sample: {"liqo.io/provider": "k3s", "liqo.example/gpu": "true"}
network:
  description: Pod, service, external and internal CIDRs Liqo uses for this cluster.
  returned: when Liqo is installed
  type: dict
  sample: {"pod_cidr": "10.42.0.0/16", "service_cidr": "10.43.0.0/16", "external_cidr": "10.70.0.0/16",
           "internal_cidr": "10.80.0.0/16"}
reserved_subnets:
  description: Installed reserved subnets, in chart order.
  returned: when Liqo is installed
  type: list
  elements: str
  sample: ["192.168.10.0/24"]
changes:
  description: What differs between the installed state and the request, one line per setting.
  returned: always
  type: list
  elements: str
  sample: ["version: v1.0.2 -> v1.0.3", "reserved_subnets: [] -> ['192.168.10.0/24']"]
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

import json
import os
import tempfile

from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_helm, liqo_state
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_install_spec as spec
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo import (
    LiqoError,
    LiqoModule,
    normalize_version,
)

REQUIRED_WHEN_PRESENT = ("provider", "cluster_id", "pod_cidr", "service_cidr", "api_server_url", "reserved_subnets")


def comparable_url(url):
    return (url or "").strip().rstrip("/").lower() or None


def describe_change(name, before, after):
    return f"{name}: {before} -> {after}"


class LiqoInstall(LiqoModule):
    """Install, upgrade or uninstall Liqo on one cluster."""

    argument_spec = {
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "provider": {"type": "str", "choices": list(spec.PROVIDERS)},
        "cluster_id": {"type": "str"},
        "pod_cidr": {"type": "str"},
        "service_cidr": {"type": "str"},
        "api_server_url": {"type": "str"},
        "reserved_subnets": {"type": "list", "elements": "str"},
        "cluster_labels": {"type": "dict", "default": {}},
        "version": {"type": "str"},
        "disable_telemetry": {"type": "bool", "default": True},
        "disable_kernel_version_check": {"type": "bool", "default": False},
        "values": {"type": "dict", "default": {}},
        "secret_values": {"type": "dict", "default": {}, "no_log": True},
        "timeout": {"type": "int", "default": 600},
        "purge": {"type": "bool", "default": False},
    }
    module_kwargs = {"required_if": [("state", "present", REQUIRED_WHEN_PRESENT)]}

    def run(self):
        self.result["changes"] = []
        if self.params["state"] == "present":
            self.ensure_present()
        else:
            self.ensure_absent()

    def validate(self):
        """Fail on invalid options before any command runs."""
        params = self.params
        if params["timeout"] <= 0:
            raise LiqoError(f"timeout {params['timeout']} must be a positive number of seconds")
        if params["state"] == "absent":
            return
        try:
            spec.validate_cluster_id(params["cluster_id"])
            spec.validate_networks(params["pod_cidr"], params["service_cidr"], params["reserved_subnets"])
            spec.validate_api_server_url(params["api_server_url"])
            spec.validate_cluster_labels(params["cluster_labels"])
        except ValueError as error:
            raise LiqoError(str(error)) from error

    def requested_version(self):
        return normalize_version(self.params["version"] or self.params["liqoctl_version"])

    def read_installed(self):
        """Return the installed settings, or None when Liqo is not installed."""
        info = self.liqoctl_info(self.local)
        cluster_id = self.read_cluster_id(self.local)
        if info is None or not cluster_id:
            return None
        api = self.local.api
        networks = api.list_liqo_objects("Network", namespace=self.local.liqo_namespace)
        cidrs = liqo_state.cidrs_from_info(info)
        from_networks = liqo_state.cidrs_from_networks(networks)
        helm_values = liqo_helm.read_release_values(api, self.local.liqo_namespace)
        return dict(
            liqo_state.local_info(info),
            cluster_id=cluster_id,
            network={key: cidrs[key] or from_networks[key] for key in cidrs},
            reserved_subnets=liqo_state.reserved_subnets_from_networks(networks),
            telemetry_enabled=liqo_helm.telemetry_enabled(helm_values),
            helm_values=helm_values,
        )

    def ensure_present(self):
        installed = self.read_installed()
        if installed is not None:
            self.check_unchangeable(installed)
        reserved_order, changes = self.plan(installed)
        self.result["changes"] = changes
        if not changes:
            self.report_installed(installed)
            return

        self.result["changed"] = True
        if self.module._diff:
            self.result["diff"] = self.diff(installed, reserved_order)
        if self.module.check_mode:
            self.result["installed"] = True
            return
        self.install(reserved_order)
        self.report_installed(self.read_installed())

    def check_unchangeable(self, installed):
        """Fail when the request would change the cluster ID or the pod or service CIDR."""
        where = self.local.describe()
        if installed["cluster_id"] != self.params["cluster_id"]:
            raise LiqoError(
                f"Liqo on {where} is installed with cluster ID {installed['cluster_id']}, not "
                f"{self.params['cluster_id']}. The cluster ID cannot change: set cluster_id to "
                f"{installed['cluster_id']}, or unpeer, uninstall (state=absent) and install again"
            )
        for option in ("pod_cidr", "service_cidr"):
            current = installed["network"][option]
            if current and not liqo_state.same_network(current, self.params[option]):
                raise LiqoError(
                    f"Liqo on {where} is installed with {option} {current}, not {self.params[option]}. "
                    f"Liqo keeps {option} in an immutable Network object: set {option} to {current} if that is "
                    "the cluster's real range, or unpeer, uninstall (state=absent) and install again"
                )

    def plan(self, installed):
        """Return the --reserved-subnets order and the list of changes (empty when nothing differs)."""
        requested = self.params["reserved_subnets"]
        if installed is None:
            return list(requested), ["install Liqo " + self.requested_version()]
        try:
            order = spec.plan_reserved_subnets(installed["reserved_subnets"], requested)
        except ValueError as error:
            raise LiqoError(f"Cannot upgrade Liqo on {self.local.describe()}: {error}") from error
        return order, self.upgrade_changes(installed, order)

    def upgrade_changes(self, installed, reserved_order):
        params = self.params
        changes = []
        labels = spec.expected_cluster_labels(params["provider"], params["cluster_labels"])
        compared = [
            ("version", installed["version"], self.requested_version(), lambda a, b: normalize_version(a or "") == b),
            ("api_server_url", installed["api_server_url"], params["api_server_url"],
             lambda a, b: comparable_url(a) == comparable_url(b)),
            ("cluster_labels", installed["cluster_labels"], labels, lambda a, b: a == b),
            ("reserved_subnets", installed["reserved_subnets"], reserved_order,
             lambda a, b: spec.network_set(a) == spec.network_set(b)),
        ]
        for name, before, after, same in compared:
            if not same(before, after):
                changes.append(describe_change(name, before, after))
        changes += self.helm_value_changes(installed)
        return changes

    def helm_value_changes(self, installed):
        """Return changes of telemetry and extra values, when the Helm release is readable."""
        if installed["helm_values"] is None:
            return []
        changes = []
        requested_telemetry = not self.params["disable_telemetry"]
        if installed["telemetry_enabled"] != requested_telemetry:
            changes.append(describe_change("telemetry_enabled", installed["telemetry_enabled"], requested_telemetry))
        differing = liqo_helm.values_differences(self.requested_values(), installed["helm_values"])
        if differing:
            # Values may contain secrets, so only their paths are reported.
            changes.append("values differ at: " + ", ".join(differing))
        return changes

    def diff(self, installed, reserved_order):
        """Return before/after of the compared settings; values are summarised, never shown."""
        params = self.params
        after = {
            "installed": True,
            "cluster_id": params["cluster_id"],
            "version": self.requested_version(),
            "api_server_url": params["api_server_url"],
            "cluster_labels": spec.expected_cluster_labels(params["provider"], params["cluster_labels"]),
            "pod_cidr": params["pod_cidr"],
            "service_cidr": params["service_cidr"],
            "reserved_subnets": reserved_order,
        }
        if installed is None:
            return {"before": {"installed": False}, "after": after}

        before = dict(installed["network"], installed=True, reserved_subnets=installed["reserved_subnets"])
        before.update({key: installed[key] for key in ("cluster_id", "version", "api_server_url", "cluster_labels")})
        before = {key: before.get(key) for key in after}
        if installed["helm_values"] is not None:
            before["telemetry_enabled"] = installed["telemetry_enabled"]
            after["telemetry_enabled"] = not params["disable_telemetry"]
            differing = liqo_helm.values_differences(self.requested_values(), installed["helm_values"])
            if differing:
                before["values"] = "installed values (not shown)"
                after["values"] = "requested values (not shown), differing at: " + ", ".join(differing)
        return {"before": before, "after": after}

    def install(self, reserved_order):
        values_file = self.write_values_file()
        try:
            argv = spec.install_argv(self.params, {
                "liqo_namespace": self.local.liqo_namespace,
                "access_flags": self.local.flags(),
                "version": self.requested_version(),
                "reserved_subnets": reserved_order,
                "values_file": values_file,
            })
            self.run_liqoctl(argv, action=f"liqoctl install on {self.local.describe()}")
        finally:
            if values_file:
                os.remove(values_file)

    def requested_values(self):
        """Return values with secret_values merged over them."""
        return liqo_helm.merge_values(self.params["values"], self.params["secret_values"])

    def write_values_file(self):
        """Write the extra values to a 0600 temporary file; return its path, or None without values."""
        values = self.requested_values()
        if not values:
            return None
        descriptor, path = tempfile.mkstemp(prefix="liqo-values-", suffix=".yaml", dir=self.module.tmpdir)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            # JSON is valid YAML, and keeps the file independent of a YAML library.
            json.dump(values, handle)
        return path

    def report_installed(self, installed):
        if installed is None:
            self.result["installed"] = False
            return
        self.result.update(
            installed=True,
            cluster_id=installed["cluster_id"],
            version=installed["version"],
            api_server_url=installed["api_server_url"],
            cluster_labels=installed["cluster_labels"],
            network=installed["network"],
            reserved_subnets=installed["reserved_subnets"],
        )

    def ensure_absent(self):
        info = self.liqoctl_info(self.local, verbose=False)
        cluster_id = self.read_cluster_id(self.local)
        if info is None or not cluster_id:
            self.result["installed"] = False
            return

        self.check_uninstall_target(cluster_id)
        self.check_nothing_left()
        self.result.update(changed=True, changes=["uninstall Liqo"], installed=False)
        if self.module._diff:
            before = {"installed": True, "cluster_id": cluster_id}
            self.result["diff"] = {"before": before, "after": {"installed": False}}
        if self.module.check_mode:
            return
        argv = ["uninstall", "-n", self.local.liqo_namespace] + self.local.flags()
        argv += ["--timeout", f"{self.params['timeout']}s", "--skip-confirm"]
        if self.params["purge"]:
            argv.append("--purge")
        self.run_liqoctl(argv, action=f"liqoctl uninstall on {self.local.describe()}")

    def check_uninstall_target(self, cluster_id):
        requested = self.params["cluster_id"]
        if requested and requested != cluster_id:
            raise LiqoError(
                f"{self.local.describe()} runs Liqo with cluster ID {cluster_id}, not {requested}; nothing was "
                "uninstalled. Check that kubeconfig and context point at the cluster you mean to remove"
            )

    def check_nothing_left(self):
        """Fail, naming them, when peerings or offloaded namespaces would block the uninstall."""
        api = self.local.api
        peerings = [liqo_state.summarize_foreign_cluster(item) for item in api.list_liqo_objects("ForeignCluster")]
        active = sorted(peering["cluster_id"] for peering in peerings if liqo_state.peering_is_active(peering))
        offloaded = sorted(
            (item.get("metadata") or {}).get("namespace") for item in api.list_liqo_objects("NamespaceOffloading")
        )
        if not active and not offloaded:
            return
        problems = []
        if offloaded:
            names = ", ".join(offloaded)
            problems.append(f"offloaded namespaces {names} (unoffload them with liqo_offload state=absent)")
        if active:
            names = ", ".join(active)
            problems.append(
                f"active peerings with {names} (unpeer them with liqo_peering state=absent, run against the "
                "consumer of each peering)"
            )
        raise LiqoError(
            f"Liqo on {self.local.describe()} still has " + " and ".join(problems) + ". Remove them first, "
            "offloaded namespaces before peerings; nothing was uninstalled",
            active_peerings=active,
            offloaded_namespaces=offloaded,
        )


def main():
    LiqoInstall().execute()


if __name__ == "__main__":
    main()
