# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Validate the allocator's settings: pools, block sizes, reserved ranges, name parts and quarantine.

Plain Python with no Ansible imports. Every check runs before a backend is opened, so invalid input
fails before anything is read or written.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.cidr import (
    DNS_LABEL,
    LIQO_DEFAULT_RANGES,
    MAX_CLUSTER_ID_LENGTH,
    TopologyError,
    parse_cidr,
)

# Pod blocks of /20 (4096 addresses, sixteen /24 node ranges) from 10.112.0.0/12: 256 providers.
# Service blocks of /22 (1024 addresses) from 10.48.0.0/12: 1024 providers.
# Neither pool overlaps a range of DEFAULT_RESERVED, nor Weave Net's 10.32.0.0/12 or OpenShift's 10.128.0.0/14.
DEFAULT_POD_POOLS = ({"cidr": "10.112.0.0/12", "block_prefix": 20},)
DEFAULT_SERVICE_POOLS = ({"cidr": "10.48.0.0/12", "block_prefix": 22},)

# Ranges that stock installs of k3s, kubeadm, kind, Docker and Liqo use, and the shared address space that VPN
# overlays such as Tailscale take addresses from. No allocated block may overlap them.
DEFAULT_RESERVED = {
    "k3s default cluster CIDR": "10.42.0.0/16",
    "k3s default service CIDR": "10.43.0.0/16",
    "kubeadm default service CIDR": "10.96.0.0/12",
    "kind and Flannel default pod CIDR": "10.244.0.0/16",
    "Docker default bridge and address pool": "172.16.0.0/12",
    "Docker second default address pool and Calico default pool": "192.168.0.0/16",
    "shared address space (RFC 6598)": "100.64.0.0/10",
}
DEFAULT_RESERVED.update(LIQO_DEFAULT_RANGES)

# The consumer of the OSS MLOps Platform: a kind cluster installed with these CIDRs.
DEFAULT_CONSUMER_CIDRS = {
    "platform consumer pod CIDR": "10.244.0.0/16",
    "platform consumer service CIDR": "10.96.0.0/16",
}

DEFAULT_NAME_PREFIX = "mlops"
NAME_SUFFIX_LENGTH = 5
DEFAULT_QUARANTINE = "24h"
# A name prefix must start with a letter, because some Kubernetes names (Services) are RFC 1035 labels.
NAME_PREFIX = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DURATION = re.compile(r"^\s*(-?\d+)\s*([smhdw]?)\s*$")
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
POOL_KINDS = ("pod", "service")


class AllocationError(ValueError):
    """Raised for invalid input or an allocation that cannot be made; the message names what to change."""


@dataclass(frozen=True)
class Pool:
    """A range that blocks of one size are cut from, for pod CIDRs or for service CIDRs."""

    kind: str
    network: ipaddress.IPv4Network
    block_prefix: int

    def describe(self):
        return f"{self.kind} pool {self.network} (/{self.block_prefix} blocks)"

    def block_count(self):
        return 2 ** (self.block_prefix - self.network.prefixlen)


@dataclass
class AllocatorSettings:
    """Validated settings of one allocation request."""

    pod_pools: list
    service_pools: list
    reserved: list  # (label, network) pairs: defaults, the admin's reserved ranges and the consumer's CIDRs
    name_prefix: str = DEFAULT_NAME_PREFIX
    cloud: str = ""
    flavor_class: str = ""
    quarantine_seconds: int = 86400
    pools: list = field(init=False)

    def __post_init__(self):
        self.pools = list(self.pod_pools) + list(self.service_pools)


def parse_duration(value, label="quarantine"):
    """Return seconds from an int or a string such as 3600, 90s, 30m, 24h, 7d or 2w; reject negative values."""
    if isinstance(value, bool):
        raise AllocationError(f"{label}: {value!r} is not a duration; write seconds or a number with s, m, h, d or w.")
    if isinstance(value, int):
        seconds = value
    else:
        match = DURATION.match(str(value))
        if not match:
            raise AllocationError(f"{label}: {value!r} is not a duration; write seconds (3600) or a number with "
                                  "s, m, h, d or w (30m, 24h, 7d).")
        seconds = int(match.group(1)) * DURATION_UNITS[match.group(2)]
    if seconds < 0:
        raise AllocationError(f"{label}: {value!r} is negative; set 0 to allow reuse at once, or a positive "
                              "duration such as 24h.")
    return seconds


def parse_network(value, label):
    """Return the IPv4 network of a CIDR string, raising AllocationError that names the value."""
    try:
        network = parse_cidr(value, label)
    except TopologyError as error:
        raise AllocationError(str(error)) from error
    if network.version != 4:
        raise AllocationError(f"{label}: {value} is an IPv6 network; the allocator hands out IPv4 blocks only.")
    return network


def parse_pool(kind, index, pool):
    """Return a Pool from a dict with cidr and block_prefix, raising AllocationError on invalid values."""
    label = f"{kind}_pools[{index}]"
    if not isinstance(pool, dict) or "cidr" not in pool:
        raise AllocationError(f"{label}: {pool!r} is not a pool; write a dict with cidr and block_prefix.")
    network = parse_network(pool["cidr"], f"{label}.cidr")
    block_prefix = pool.get("block_prefix")
    if isinstance(block_prefix, bool) or not isinstance(block_prefix, int):
        raise AllocationError(f"{label}.block_prefix: {block_prefix!r} is not a prefix length; write a number "
                              f"such as 20 for /20 blocks.")
    if block_prefix < network.prefixlen:
        raise AllocationError(f"{label}: a /{block_prefix} block is larger than the pool {network}; set "
                              f"block_prefix to {network.prefixlen} or more, or use a larger pool.")
    if block_prefix > 30:
        raise AllocationError(f"{label}.block_prefix: /{block_prefix} leaves no room for a cluster; use /30 or "
                              "a shorter prefix.")
    return Pool(kind, network, block_prefix)


def parse_reserved(reserved, default_reserved=True, consumer_cidrs=None):
    """Return (label, network) pairs: the built-in defaults, the admin's ranges and the consumer's CIDRs."""
    pairs = []
    if default_reserved:
        pairs.extend((label, ipaddress.ip_network(cidr)) for label, cidr in DEFAULT_RESERVED.items())
    for index, value in enumerate(reserved or []):
        pairs.append((f"reserved[{index}]", parse_network(value, f"reserved[{index}]")))
    for label, value in flatten_consumer_cidrs(consumer_cidrs):
        network = parse_consumer_network(value, label)
        if network is not None:
            pairs.append((label, network))
    return pairs


def parse_consumer_network(value, label):
    """Return the network of a consumer CIDR; IPv6 ranges are skipped because no IPv6 block is ever handed out."""
    try:
        network = parse_cidr(value, label)
    except TopologyError as error:
        raise AllocationError(str(error)) from error
    return network if network.version == 4 else None


def flatten_consumer_cidrs(consumer_cidrs):
    """Return (label, cidr) pairs from a list of CIDRs or from a dict such as liqo_info's network section.

    A dict value may be a CIDR, a list of CIDRs (reserved subnets) or empty; empty values are skipped, so the
    whole network section of liqo_info can be passed as it is.
    """
    if consumer_cidrs is None:
        return list(DEFAULT_CONSUMER_CIDRS.items())
    if isinstance(consumer_cidrs, str):
        consumer_cidrs = [consumer_cidrs]
    if isinstance(consumer_cidrs, dict):
        items = sorted(consumer_cidrs.items())
    elif isinstance(consumer_cidrs, (list, tuple)):
        items = [(f"consumer_cidrs[{index}]", value) for index, value in enumerate(consumer_cidrs)]
    else:
        raise AllocationError(f"consumer_cidrs: {consumer_cidrs!r} is neither a list of CIDRs nor a dict of them.")
    pairs = []
    for label, value in items:
        if isinstance(value, (list, tuple)):
            pairs.extend((f"consumer {label}[{index}]", item) for index, item in enumerate(value) if item)
        elif value:
            pairs.append((f"consumer {label}" if not label.startswith("consumer") else label, value))
    return pairs


def check_pools_apart(pools):
    """Raise AllocationError if two pools overlap, since a block could then be counted in both."""
    for index, pool in enumerate(pools):
        for other in pools[index + 1:]:
            if pool.network.overlaps(other.network):
                raise AllocationError(f"{pool.describe()} overlaps {other.describe()}; give every pool its own "
                                      "range, pod pools apart from service pools.")


def check_pools_usable(pools, reserved):
    """Raise AllocationError for a pool that lies wholly inside a reserved range, since it has no usable block."""
    for pool in pools:
        for label, network in reserved:
            if pool.network.subnet_of(network):
                raise AllocationError(f"{pool.describe()} lies inside {label} {network}, so no block of it may "
                                      "be used; pick a pool outside it.")


def name_part(value, label):
    """Return a cloud or flavor class as a DNS label part: lowercase, other characters turned into '-'."""
    if value is None:
        return ""
    part = re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")
    if str(value).strip() and not part:
        raise AllocationError(f"{label}: {value!r} has no letter or digit to put in a name.")
    return part


def check_name_prefix(prefix):
    if not isinstance(prefix, str) or not NAME_PREFIX.match(prefix):
        raise AllocationError(f"name_prefix: {prefix!r} is not a DNS label starting with a letter; use lowercase "
                              "letters, digits and '-', for example mlops.")


def longest_name_length(prefix, cloud, flavor_class):
    parts = [part for part in (prefix, cloud, flavor_class) if part]
    return sum(len(part) + 1 for part in parts) + NAME_SUFFIX_LENGTH


def check_name_length(prefix, cloud, flavor_class):
    """Raise AllocationError unless generated names fit Liqo's limit on cluster IDs."""
    length = longest_name_length(prefix, cloud, flavor_class)
    if length > MAX_CLUSTER_ID_LENGTH:
        example = "-".join(part for part in (prefix, cloud, flavor_class, "x" * NAME_SUFFIX_LENGTH) if part)
        raise AllocationError(f"Names such as {example} would have {length} characters, but a cluster ID may have "
                              f"at most {MAX_CLUSTER_ID_LENGTH} so that Liqo's namespace liqo-tenant-<cluster id> "
                              "fits in 63; shorten name_prefix, cloud or flavor_class.")


def build_settings(*, pod_pools=DEFAULT_POD_POOLS, service_pools=DEFAULT_SERVICE_POOLS, reserved=None,
                   default_reserved=True, consumer_cidrs=None, name_prefix=DEFAULT_NAME_PREFIX, cloud="",
                   flavor_class="", quarantine=DEFAULT_QUARANTINE):
    """Return AllocatorSettings after every check, or raise AllocationError naming the first invalid value."""
    pods = [parse_pool("pod", index, pool) for index, pool in enumerate(pod_pools or [])]
    services = [parse_pool("service", index, pool) for index, pool in enumerate(service_pools or [])]
    if not pods or not services:
        raise AllocationError("pod_pools and service_pools each need at least one pool.")
    check_pools_apart(pods + services)
    reserved_pairs = parse_reserved(reserved, default_reserved, consumer_cidrs)
    check_pools_usable(pods + services, reserved_pairs)

    check_name_prefix(name_prefix)
    cloud_part = name_part(cloud, "cloud")
    flavor_part = name_part(flavor_class, "flavor_class")
    check_name_length(name_prefix, cloud_part, flavor_part)

    return AllocatorSettings(pod_pools=pods, service_pools=services, reserved=reserved_pairs,
                             name_prefix=name_prefix, cloud=cloud_part, flavor_class=flavor_part,
                             quarantine_seconds=parse_duration(quarantine))


def check_pinned_name(name):
    """Raise AllocationError unless a pinned name is a DNS label short enough to be a Liqo cluster ID."""
    if not isinstance(name, str) or not DNS_LABEL.match(name):
        raise AllocationError(f"name: {name!r} is not a DNS-1123 label; use lowercase letters, digits and '-', "
                              "starting and ending with a letter or digit.")
    if len(name) > MAX_CLUSTER_ID_LENGTH:
        raise AllocationError(f"name: {name!r} has {len(name)} characters; Liqo names the tenant namespace "
                              f"liqo-tenant-<cluster id>, which must fit in 63 characters, so use at most "
                              f"{MAX_CLUSTER_ID_LENGTH}.")
