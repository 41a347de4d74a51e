# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Parse CIDRs and DNS labels and find overlaps between the networks of a Liqo topology.

Plain Python with no Ansible imports, so the rules are unit-tested on their own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

# Ranges that Liqo 1.0.x uses on every cluster unless configured otherwise (Helm values ipam.externalCIDR and
# ipam.internalCIDR of the v1.0.3 chart). A pod or service CIDR inside them breaks Liqo's own routing.
LIQO_DEFAULT_RANGES = {
    "Liqo external CIDR default": "10.70.0.0/16",
    "Liqo internal CIDR default": "10.80.0.0/16",
}

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# Liqo names the tenant namespace "liqo-tenant-<cluster id>", and a namespace name is a DNS label of at most
# 63 characters, so a cluster ID may have at most 63 - len("liqo-tenant-") characters.
TENANT_NAMESPACE_PREFIX = "liqo-tenant-"
MAX_CLUSTER_ID_LENGTH = 63 - len(TENANT_NAMESPACE_PREFIX)


class TopologyError(ValueError):
    """Raised when a value of the topology is invalid; the message names the value and what to change."""


def parse_cidr(value, label):
    """Return the IPv4 or IPv6 network of a CIDR string, or raise TopologyError naming the value."""
    if not isinstance(value, str) or "/" not in value:
        raise TopologyError("%s: %r is not a CIDR; write it as address/prefix, for example 10.150.0.0/16."
                            % (label, value))
    try:
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as error:
        raise TopologyError("%s: %r is not a valid network CIDR (%s); use the network address, for example %s."
                            % (label, value, error, _network_address_hint(value))) from error


def _network_address_hint(value):
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        return "10.150.0.0/16"


def check_cluster_id(cluster_id, label):
    """Raise TopologyError unless cluster_id is a DNS-1123 label short enough for Liqo's tenant namespace."""
    if not isinstance(cluster_id, str) or not cluster_id:
        raise TopologyError("%s: the cluster ID is missing; set it to a lowercase DNS label such as verda-v100-1."
                            % label)
    if not DNS_LABEL.match(cluster_id):
        raise TopologyError("%s: cluster ID %r is not a DNS-1123 label; use lowercase letters, digits and '-', "
                            "starting and ending with a letter or digit." % (label, cluster_id))
    if len(cluster_id) > MAX_CLUSTER_ID_LENGTH:
        raise TopologyError("%s: cluster ID %r has %d characters; Liqo names the tenant namespace %s<id>, which "
                            "must fit in 63 characters, so use at most %d."
                            % (label, cluster_id, len(cluster_id), TENANT_NAMESPACE_PREFIX, MAX_CLUSTER_ID_LENGTH))


def find_overlaps(named_networks):
    """Return (name_a, network_a, name_b, network_b) for every pair of overlapping networks, in input order."""
    overlaps = []
    for index, (name_a, network_a) in enumerate(named_networks):
        for name_b, network_b in named_networks[index + 1:]:
            if network_a.version == network_b.version and network_a.overlaps(network_b):
                overlaps.append((name_a, network_a, name_b, network_b))
    return overlaps


def describe_overlap(overlap):
    name_a, network_a, name_b, network_b = overlap
    return "%s %s overlaps %s %s" % (name_a, network_a, name_b, network_b)


def cluster_networks(cluster):
    """Return the named pod, service and reserved networks of one cluster dict, raising on invalid values."""
    name = cluster["name"]
    networks = []
    for key in ("pod_cidr", "service_cidr"):
        label = "%s %s" % (name, key)
        if not cluster.get(key):
            raise TopologyError("%s is missing; set it to the CIDR the cluster really uses." % label)
        networks.append((label, parse_cidr(cluster[key], label)))
    for index, value in enumerate(cluster.get("reserved_subnets") or []):
        label = "%s reserved_subnets[%d]" % (name, index)
        networks.append((label, parse_cidr(value, label)))
    return networks


def check_topology(clusters, extra_reserved=None, liqo_defaults=True):
    """Check names and CIDRs of every cluster of a topology and return a list of problems (empty when valid).

    Pod and service CIDRs must not overlap anything: neither each other, nor another cluster's pod or service
    CIDR, nor a reserved subnet (cloud networks, Docker bridges), nor Liqo's default external and internal CIDRs.
    Reserved subnets may overlap each other, because several clusters often sit in the same cloud network.
    """
    problems = []
    seen_ids = {}
    routed = []
    reserved = []
    for cluster in clusters:
        try:
            check_cluster_id(cluster.get("cluster_id"), cluster["name"])
        except TopologyError as error:
            problems.append(str(error))
        cluster_id = cluster.get("cluster_id")
        if cluster_id in seen_ids:
            problems.append("%s and %s both use cluster ID %r; every cluster needs its own."
                            % (seen_ids[cluster_id], cluster["name"], cluster_id))
        seen_ids.setdefault(cluster_id, cluster["name"])
        try:
            networks = cluster_networks(cluster)
        except TopologyError as error:
            problems.append(str(error))
            continue
        routed.extend(networks[:2])
        reserved.extend(networks[2:])

    for index, value in enumerate(extra_reserved or []):
        label = "reserved_ranges[%d]" % index
        try:
            reserved.append((label, parse_cidr(value, label)))
        except TopologyError as error:
            problems.append(str(error))
    if liqo_defaults:
        reserved.extend((name, ipaddress.ip_network(value)) for name, value in LIQO_DEFAULT_RANGES.items())

    for overlap in find_overlaps(routed):
        problems.append(describe_overlap(overlap) + "; give each cluster its own pod and service CIDRs.")
    for label, network in routed:
        for reserved_label, reserved_network in reserved:
            if network.version == reserved_network.version and network.overlaps(reserved_network):
                problems.append("%s %s overlaps %s %s; pick a %s outside it."
                                % (label, network, reserved_label, reserved_network, label.rsplit(" ", 1)[-1]))
    return problems
