# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and liqoctl argv of `liqoctl install` for liqo_install, in plain Python.

Every check raises ValueError with a message that names the option, the value and what to change.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from urllib.parse import urlsplit

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_selector import (
    SelectorError,
    validate_label_key,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_state import tenant_namespace_name

PROVIDERS = ("kind", "k3s", "kubeadm", "generic")
# liqoctl v1.0.3 has --pod-cidr, --service-cidr and --api-server-url only on `install k3s` and the
# generic `install`. `install kind` and `install kubeadm` discover the CIDRs themselves, so for them
# the module sets the chart values directly.
PROVIDERS_WITH_NETWORK_FLAGS = ("k3s", "generic")
PROVIDER_LABEL = "liqo.io/provider"
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
MAX_NAME_LENGTH = 63
# Host names liqoctl v1.0.3 rejects as an API server address, plus the IPv6 loopback.
LOCALHOST_NAMES = ("localhost", "127.0.0.1", "0.0.0.0", "::1")


def validate_cluster_id(cluster_id):
    """Raise ValueError unless cluster_id is a DNS-1123 label that keeps liqo-tenant-<id> within 63 characters."""
    if not DNS1123_LABEL.match(cluster_id or ""):
        raise ValueError(
            f"cluster_id {cluster_id!r} is not a DNS-1123 label; use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (for example mlops-consumer)"
        )
    tenant_namespace = tenant_namespace_name(cluster_id)
    if len(tenant_namespace) > MAX_NAME_LENGTH:
        limit = MAX_NAME_LENGTH - len(tenant_namespace_name(""))
        raise ValueError(
            f"cluster_id {cluster_id!r} has {len(cluster_id)} characters; peers name their tenant namespace "
            f"{tenant_namespace}, which must fit in {MAX_NAME_LENGTH} characters, so use at most {limit}"
        )


def parse_network(option, value):
    """Return the network of a CIDR option; ValueError names the option when it is invalid."""
    try:
        return ipaddress.ip_network(str(value).strip(), strict=True)
    except ValueError as error:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = f"; did you mean {ipaddress.ip_network(str(value).strip(), strict=False)}?"
        raise ValueError(f"{option} {value!r} is not a valid CIDR ({error}){hint}") from error


def validate_networks(pod_cidr, service_cidr, reserved_subnets):
    """Raise ValueError on an invalid CIDR, pod/service overlap, or a reserved subnet that overlaps either."""
    pod_network = parse_network("pod_cidr", pod_cidr)
    service_network = parse_network("service_cidr", service_cidr)
    if pod_network.overlaps(service_network):
        raise ValueError(
            f"pod_cidr {pod_network} and service_cidr {service_network} overlap; give the cluster's real, "
            "separate pod and service ranges"
        )
    seen = {}
    for subnet in reserved_subnets:
        network = parse_network("reserved_subnets entry", subnet)
        for option, cluster_network in (("pod_cidr", pod_network), ("service_cidr", service_network)):
            if network.overlaps(cluster_network):
                raise ValueError(
                    f"reserved_subnets entry {network} overlaps {option} {cluster_network}; Liqo reserves the pod "
                    "and service CIDRs itself, so list only other ranges in use (node or VM subnets, VPNs)"
                )
        if network in seen:
            raise ValueError(f"reserved_subnets lists {network} twice ({seen[network]!r} and {subnet!r}); list it once")
        seen[network] = subnet


def validate_api_server_url(url):
    """Raise ValueError unless url is an https URL with a host other than localhost."""
    parts = urlsplit(str(url).strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(
            f"api_server_url {url!r} is not an https URL with a host; give the address other clusters use "
            "to reach this API server, for example https://203.0.113.10:6443"
        )
    if parts.hostname in LOCALHOST_NAMES:
        raise ValueError(
            f"api_server_url {url!r} points at {parts.hostname}, which peers cannot reach and liqoctl rejects; "
            "give the public address of the API server (for k3s the VM's public IP or DNS name, which must be in "
            "the k3s certificate through --tls-san)"
        )
    if "," in url or any(char.isspace() for char in url):
        raise ValueError(f"api_server_url {url!r} contains a comma or whitespace; give a plain URL")


def validate_cluster_labels(cluster_labels):
    """Raise ValueError unless every key and value is a valid Kubernetes label."""
    for key, value in (cluster_labels or {}).items():
        try:
            validate_label_key(key, "cluster_labels")
        except SelectorError as error:
            raise ValueError(f"cluster_labels key {key!r} is not a valid label key") from error
        text = label_text(value)
        if len(text) > MAX_NAME_LENGTH or not LABEL_VALUE.match(text):
            raise ValueError(
                f"cluster_labels value {text!r} of {key!r} is not a valid label value (at most 63 letters, "
                "digits, '-', '_' or '.', starting and ending with a letter or digit)"
            )


def label_text(value):
    """Return a label value as text; YAML booleans become 'true'/'false' as Kubernetes expects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def expected_cluster_labels(provider, cluster_labels):
    """Return the labels liqoctl installs: the requested ones plus liqo.io/provider for named providers."""
    labels = {key: label_text(value) for key, value in (cluster_labels or {}).items()}
    if provider != "generic":
        labels[PROVIDER_LABEL] = provider
    return labels


def plan_reserved_subnets(installed, requested):
    """Return the --reserved-subnets order for an upgrade, or raise ValueError when it cannot work.

    The chart makes Network reserved-1, reserved-2, ... from the list, and a Network's CIDR is
    immutable. Subnets kept from the installed list must therefore keep their positions: new
    subnets go at the end, only subnets at the end of the installed list can be removed, and not in the
    same run that adds subnets.
    """
    requested_networks = {str(parse_network("reserved_subnets entry", subnet)): subnet for subnet in requested}
    installed_networks = [str(parse_network("installed reserved subnet", subnet)) for subnet in installed]
    kept_networks = [network for network in installed_networks if network in requested_networks]
    if kept_networks != installed_networks[: len(kept_networks)]:
        removed = [network for network in installed_networks if network not in requested_networks]
        raise ValueError(
            f"reserved_subnets removes {', '.join(removed)}, which is not at the end of the installed list "
            f"{', '.join(installed_networks)}; Liqo's reserved-N Network objects cannot change their CIDR, so keep "
            "those subnets, or unpeer, uninstall (liqo_install state=absent) and install again"
        )
    added = [requested_networks[network] for network in requested_networks if network not in installed_networks]
    removed = installed_networks[len(kept_networks):]
    if removed and added:
        # The added subnets would take the indexes of the removed ones, and so change those Networks' CIDRs.
        raise ValueError(
            f"reserved_subnets removes {', '.join(removed)} and adds {', '.join(added)} in one run; Liqo's "
            "reserved-N Network objects cannot change their CIDR, so remove subnets in one run and add new ones in "
            "a later run, or unpeer, uninstall (liqo_install state=absent) and install again"
        )
    return kept_networks + added


def network_set(subnets):
    return {parse_network("reserved subnet", subnet) for subnet in subnets or []}


def install_argv(params, plan):
    """Return the argv (after the liqoctl path) of `liqoctl install` for the module's parameters.

    plan holds: liqo_namespace, access_flags, version, reserved_subnets (ordered) and values_file
    (path or None).
    """
    provider = params["provider"]
    argv = ["install"] + ([] if provider == "generic" else [provider])
    argv += ["-n", plan["liqo_namespace"]] + plan["access_flags"]
    argv += ["--cluster-id", params["cluster_id"], "--version", plan["version"]]
    argv += ["--reserved-subnets", ",".join(plan["reserved_subnets"])]
    argv += network_arguments(params)
    labels = {key: label_text(value) for key, value in (params.get("cluster_labels") or {}).items()}
    if labels:
        argv += ["--cluster-labels", ",".join(f"{key}={labels[key]}" for key in sorted(labels))]
    if params["disable_telemetry"]:
        argv.append("--disable-telemetry")
    if params.get("disable_kernel_version_check"):
        argv.append("--disable-kernel-version-check")
    if plan.get("values_file"):
        argv += ["--values", plan["values_file"]]
    argv += ["--timeout", f"{params['timeout']}s", "--skip-confirm"]
    return argv


def network_arguments(params):
    """Return the flags (k3s, generic) or chart values (kind, kubeadm) that set CIDRs and API URL."""
    if params["provider"] in PROVIDERS_WITH_NETWORK_FLAGS:
        return [
            "--pod-cidr", params["pod_cidr"],
            "--service-cidr", params["service_cidr"],
            "--api-server-url", params["api_server_url"],
        ]
    return [
        "--set", f"ipam.podCIDR={params['pod_cidr']}",
        "--set", f"ipam.serviceCIDR={params['service_cidr']}",
        "--set", f"apiServer.address={params['api_server_url']}",
    ]
