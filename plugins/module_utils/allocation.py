# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Decide allocations of names, pod CIDRs and service CIDRs for providers, and compare them with reality.

Plain Python with no Ansible imports. A backend reads every allocation record inside one transaction, calls
plan_allocate() or plan_release() with them, and applies the returned operations atomically, so the rules
here decide and the backends only store.

An allocation record is in one of three states:
  allocated    the key holds its name and blocks;
  quarantined  released, but its name and blocks are not handed out again until quarantine_until;
  released     quarantine is over; the record no longer blocks anything and is deleted by the next write.
"""

from __future__ import annotations

import bisect
import datetime
import ipaddress
import secrets
import socket
import string
from dataclasses import asdict, dataclass, replace

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_settings import (
    NAME_SUFFIX_LENGTH,
    AllocationError,
    check_pinned_name,
    parse_network,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.cidr import TENANT_NAMESPACE_PREFIX

ALLOCATED = "allocated"
QUARANTINED = "quarantined"
RELEASED = "released"
STATES = (ALLOCATED, QUARANTINED, RELEASED)

# Expired records deleted along with one write, so a write stays small even after a mass release.
PURGE_LIMIT = 50
NAME_ATTEMPTS = 50
SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# datetime.UTC needs Python 3.11, and modules may run on an older Python on the managed host.
UTC = datetime.timezone.utc  # noqa: UP017


@dataclass
class Allocation:
    """One allocation record, as every backend stores it."""

    name: str
    key: str
    pod_cidr: str
    service_cidr: str
    state: str = ALLOCATED
    cloud: str = ""
    flavor_class: str = ""
    pinned: bool = False
    allocated_at: str = ""
    allocated_by: str = ""
    released_at: str = ""
    released_by: str = ""
    quarantine_until: str = ""
    # The backend's version of the stored record (a Kubernetes resourceVersion); empty for a new record.
    revision: str = ""

    def effective_state(self, now):
        """Return allocated, quarantined, or released once the quarantine is over."""
        if self.state == QUARANTINED and self.quarantine_until and parse_time(self.quarantine_until) <= now:
            return RELEASED
        return self.state

    def blocks_reuse(self, now):
        return self.effective_state(now) != RELEASED

    def to_result(self, now):
        """Return the record as modules report it, with the names a provider derives from it."""
        result = asdict(self)
        del result["revision"]
        result["state"] = self.effective_state(now)
        result["cluster_id"] = self.name
        result["hostname"] = self.name
        result["tenant_namespace"] = TENANT_NAMESPACE_PREFIX + self.name
        return result


@dataclass
class Plan:
    """Outcome of one request: the operations to apply atomically and the allocation to report."""

    changed: bool
    allocation: Allocation | None
    # ("put", Allocation) creates or replaces a record; ("delete", Allocation) removes one.
    operations: list
    warnings: list
    # The key's record before the change, for the diff: None for a new allocation.
    before: Allocation | None = None


@dataclass
class AllocationRequest:
    """A request for the allocation of one key; pinned values are None unless the inventory sets them."""

    key: str
    requester: str = ""
    name: str | None = None
    pod_cidr: str | None = None
    service_cidr: str | None = None


def utc_now():
    return datetime.datetime.now(UTC).replace(microsecond=0)


def format_time(moment):
    return moment.strftime(TIME_FORMAT)


def parse_time(text):
    return datetime.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def network_range(network):
    return int(network.network_address), int(network.broadcast_address)


def cidr_range(cidr):
    """Return (first, last) addresses of an IPv4 CIDR string as ints; raise ValueError if it is invalid.

    Converts the canonical dotted form with socket.inet_aton, because building an ipaddress object for each of
    20,000 stored CIDRs takes most of an allocation's time at that table size. Anything else, such as a value
    edited by hand, goes through ipaddress.
    """
    address, _slash, prefix = cidr.partition("/")
    try:
        packed = socket.inet_aton(address)
        prefix_length = int(prefix)
    except (OSError, ValueError):
        return network_range(ipaddress.ip_network(cidr))
    # inet_aton also accepts short and octal forms; only the canonical form may skip ipaddress's checks.
    if socket.inet_ntoa(packed) != address or not 0 <= prefix_length <= 32:
        return network_range(ipaddress.ip_network(cidr))
    first = int.from_bytes(packed, "big")
    return first, first + 2 ** (32 - prefix_length) - 1


class Occupancy:
    """Address ranges no new block may overlap, with a label for each so messages can name the conflict."""

    def __init__(self, now=None):
        self.now = now
        # (first address, last address, position in self.labels), sorted before searching. The position keeps
        # the sort from comparing labels when two ranges are equal.
        self.ranges = []
        # A label is a string, or a (record, field name) pair turned into words only for an error message.
        self.labels = []
        self.sorted = True

    def add(self, network, label):
        self.add_range(*network_range(network), label)

    def add_range(self, first, last, label):
        self.ranges.append((first, last, len(self.labels)))
        self.labels.append(label)
        self.sorted = False

    def sort(self):
        if not self.sorted:
            self.ranges.sort()
            self.sorted = True

    def describe(self, position):
        label = self.labels[position]
        if isinstance(label, str):
            return label
        record, field_name = label
        return f"{field_name} {getattr(record, field_name)} of {describe_record(record, self.now)}"

    def conflicts(self, network):
        """Return the labels of every range that overlaps network."""
        first, last = network_range(network)
        return [self.describe(position) for start, end, position in self.ranges if start <= last and end >= first]

    def first_free_block(self, pool):
        """Return the lowest free, aligned block of the pool, or None.

        Walks the sorted ranges once from the pool's first address, jumping past each range that overlaps the
        candidate block to the next aligned address, so the cost grows with the number of ranges, not blocks.
        """
        self.sort()
        size = 2 ** (32 - pool.block_prefix)
        pool_first, pool_last = network_range(pool.network)
        candidate = pool_first
        # Ranges ending before the pool cannot matter; bisect skips most of them. A range may start before
        # pool_first and still reach into the pool, so the search starts from the longest such range.
        index = max(bisect.bisect_left(self.ranges, (pool_first - self.max_span(),)), 0)
        for start, end, _position in self.ranges[index:]:
            if candidate + size - 1 > pool_last:
                return None
            if end < candidate:
                continue
            if start > candidate + size - 1:
                break
            candidate = -(-(end + 1) // size) * size  # round up to the next block boundary
        if candidate + size - 1 > pool_last:
            return None
        return ipaddress.IPv4Network((candidate, pool.block_prefix))

    def max_span(self):
        return max((end - start for start, end, _position in self.ranges), default=0)


def occupancy(records, settings, now):
    """Return the Occupancy of reserved ranges, consumer CIDRs and every record that still blocks reuse."""
    occupied = Occupancy(now)
    for label, network in settings.reserved:
        occupied.add(network, f"{label} {network}")
    for record in records:
        if not record.blocks_reuse(now):
            continue
        for field_name in ("pod_cidr", "service_cidr"):
            try:
                first, last = cidr_range(getattr(record, field_name))
            except ValueError as error:
                raise AllocationError(f"Allocation {record.name} (key {record.key}) has an invalid {field_name}: "
                                      f"{error}. It was changed outside this collection; fix or delete it.") from error
            occupied.add_range(first, last, (record, field_name))
    return occupied


def describe_record(record, now):
    state = record.effective_state(now)
    if state == QUARANTINED:
        return f"{record.name} (key {record.key}, in quarantine until {record.quarantine_until})"
    return f"{record.name} (key {record.key}, {state})"


def find_allocated(records, key):
    matches = [record for record in records if record.key == key and record.state == ALLOCATED]
    return matches[0] if matches else None


def latest_released(records, key):
    released = [record for record in records if record.key == key and record.state == QUARANTINED]
    return max(released, key=lambda record: record.released_at) if released else None


def expired_records(records, now):
    return [record for record in records if not record.blocks_reuse(now)]


def purge_operations(records, now, keep_names=()):
    """Return delete operations for expired records: those named in keep_names first, then up to PURGE_LIMIT."""
    expired = expired_records(records, now)
    first = [record for record in expired if record.name in keep_names]
    rest = [record for record in expired if record.name not in keep_names]
    return [("delete", record) for record in first + rest[:PURGE_LIMIT]]


def count_blocks(pools, records, now):
    """Return (allocated, quarantined) counts of records whose pod or service CIDR lies in one of the pools."""
    allocated = quarantined = 0
    for record in records:
        state = record.effective_state(now)
        if state == RELEASED:
            continue
        for value in (record.pod_cidr, record.service_cidr):
            network = ipaddress.ip_network(value)
            if any(network.overlaps(pool.network) for pool in pools):
                if state == ALLOCATED:
                    allocated += 1
                else:
                    quarantined += 1
    return allocated, quarantined


def exhaustion_error(pools, records, now):
    allocated, quarantined = count_blocks(pools, records, now)
    capacity = sum(pool.block_count() for pool in pools)
    described = ", ".join(pool.describe() for pool in pools)
    kind = pools[0].kind
    return AllocationError(
        f"No free block is left in the {described}: {allocated} blocks are allocated and {quarantined} are in "
        f"quarantine, of {capacity} blocks in all (reserved ranges take the rest). Release unused allocations, "
        f"wait for the quarantine to end, or add a {kind} pool. Nothing was written.")


def allocate_block(pools, occupied, records, now):
    for pool in pools:
        block = occupied.first_free_block(pool)
        if block is not None:
            return block
    raise exhaustion_error(pools, records, now)


def pinned_block(value, field_name, occupied):
    """Return the pinned network after checking that it overlaps nothing occupied."""
    network = parse_network(value, field_name)
    conflicts = occupied.conflicts(network)
    if conflicts:
        raise AllocationError(f"{field_name} {network} overlaps {' and '.join(conflicts)}. Pin a free range or let "
                              "the allocator choose one. Nothing was written.")
    return network


def random_suffix(randomness):
    return "".join(randomness.choice(SUFFIX_ALPHABET) for _position in range(NAME_SUFFIX_LENGTH))


def generate_name(settings, taken_names, randomness):
    """Return prefix-cloud-flavor-suffix with a random suffix that no existing record uses."""
    parts = [part for part in (settings.name_prefix, settings.cloud, settings.flavor_class) if part]
    for _attempt in range(NAME_ATTEMPTS):
        name = "-".join(parts + [random_suffix(randomness)])
        if name not in taken_names:
            return name
    raise AllocationError(f"No unused name found after {NAME_ATTEMPTS} random suffixes for {'-'.join(parts)}; "
                          "check the allocation table for records that were never released.")


def check_pins_match(allocation, request):
    """Raise AllocationError if the inventory pins values other than those the key already holds."""
    mismatches = []
    for field_name in ("name", "pod_cidr", "service_cidr"):
        pinned = getattr(request, field_name)
        if pinned is None:
            continue
        held = getattr(allocation, field_name)
        same = pinned == held
        if field_name != "name":
            same = parse_network(pinned, field_name) == ipaddress.ip_network(held)
        if not same:
            mismatches.append(f"{field_name} is pinned to {pinned} but the key holds {held}")
    if mismatches:
        raise AllocationError(f"Key {request.key}: {'; '.join(mismatches)}. Release the allocation (state=absent) "
                              "before pinning other values, or remove the pins. Nothing was written.")


def plan_allocate(records, request, settings, now, randomness=None):
    """Return the Plan for state=present: the key's allocation, made now if the key has none."""
    randomness = randomness or secrets.SystemRandom()
    if not isinstance(request.key, str) or not request.key.strip():
        raise AllocationError("key is empty; set it to the stable identity of the provider, such as its "
                              "inventory hostname.")
    existing = find_allocated(records, request.key)
    if existing is not None:
        check_pins_match(existing, request)
        return Plan(changed=False, allocation=existing, operations=[], warnings=mismatch_warnings(existing, settings),
                    before=existing)

    occupied = occupancy(records, settings, now)
    pod_cidr = choose_block(request.pod_cidr, "pod_cidr", settings.pod_pools, occupied, (records, now))
    occupied.add(pod_cidr, f"pod_cidr {pod_cidr} of this request")
    service_cidr = choose_block(request.service_cidr, "service_cidr", settings.service_pools, occupied,
                                (records, now))
    name = choose_name(request.name, settings, records, now, randomness)

    allocation = Allocation(
        name=name, key=request.key, pod_cidr=str(pod_cidr), service_cidr=str(service_cidr), state=ALLOCATED,
        cloud=settings.cloud, flavor_class=settings.flavor_class,
        pinned=any(value is not None for value in (request.name, request.pod_cidr, request.service_cidr)),
        allocated_at=format_time(now), allocated_by=request.requester,
    )
    operations = purge_operations(records, now, keep_names={name}) + [("put", allocation)]
    return Plan(changed=True, allocation=allocation, operations=operations, warnings=[])


def choose_block(pinned, field_name, pools, occupied, table):
    """Return the pinned block after checking it, or the first free block; table is (records, now)."""
    if pinned is not None:
        return pinned_block(pinned, field_name, occupied)
    return allocate_block(pools, occupied, *table)


def choose_name(pinned, settings, records, now, randomness):
    """Return the pinned name after checking it is free, or a new random one."""
    if pinned is None:
        return generate_name(settings, {record.name for record in records}, randomness)
    check_pinned_name(pinned)
    holders = [record for record in records if record.name == pinned and record.blocks_reuse(now)]
    if holders:
        raise AllocationError(f"name {pinned} is held by {describe_record(holders[0], now)}; pin another name "
                              "or let the allocator choose one. Nothing was written.")
    return pinned


def mismatch_warnings(allocation, settings):
    """Return a warning when the key's allocation was made for another cloud or flavor class than requested."""
    differences = [f"{label} {held!r} (requested {requested!r})"
                   for label, held, requested in (("cloud", allocation.cloud, settings.cloud),
                                                  ("flavor_class", allocation.flavor_class, settings.flavor_class))
                   if requested and held != requested]
    if not differences:
        return []
    return [f"Key {allocation.key} keeps its allocation {allocation.name} made for {', '.join(differences)}; "
            "release it first to get a name for the new cloud or flavor class."]


def plan_release(records, key, settings, now, requester=""):
    """Return the Plan for state=absent: the key's allocation moved into quarantine, if it has one."""
    existing = find_allocated(records, key)
    if existing is None:
        previous = latest_released(records, key)
        return Plan(changed=False, allocation=previous, operations=[], warnings=[], before=previous)

    until = now + datetime.timedelta(seconds=settings.quarantine_seconds)
    released = replace(existing, state=QUARANTINED, released_at=format_time(now), released_by=requester,
                       quarantine_until=format_time(until))
    operations = purge_operations(records, now) + [("put", released)]
    return Plan(changed=True, allocation=released, operations=operations, warnings=[], before=existing)


def filter_records(records, now, keys=None, states=None):
    """Return records whose key is in keys and whose effective state is in states (None matches all)."""
    selected = []
    for record in records:
        if keys and record.key not in keys:
            continue
        if states and record.effective_state(now) not in states:
            continue
        selected.append(record)
    return sorted(selected, key=lambda record: (record.key, record.allocated_at, record.name))


def observed_names(observed):
    """Return {name: [sources]} from strings or dicts (liqo_info virtual nodes, cloud server listings).

    A dict gives its name in cluster_id, else name, else hostname; its source, if any, in source.
    """
    names = {}
    for index, item in enumerate(observed or []):
        if isinstance(item, str):
            name, source = item, ""
        elif isinstance(item, dict):
            name = item.get("cluster_id") or item.get("name") or item.get("hostname")
            source = str(item.get("source") or "")
        else:
            raise AllocationError(f"observed_providers[{index}]: {item!r} is neither a name nor a dict with "
                                  "cluster_id or name.")
        if not name:
            raise AllocationError(f"observed_providers[{index}]: {item!r} has no cluster_id, name or hostname.")
        names.setdefault(str(name), [])
        if source and source not in names[str(name)]:
            names[str(name)].append(source)
    return names


def reconcile(records, observed, now, grace_seconds):
    """Compare allocations with the providers that exist, and return the differences on both sides.

    Allocations younger than grace_seconds without a provider are reported as pending, not orphaned, because
    their VM may still be booting. Nothing is changed.
    """
    seen = observed_names(observed)
    grace_start = now - datetime.timedelta(seconds=grace_seconds)
    report = {"matched": [], "pending": [], "allocations_without_provider": [],
              "providers_without_allocation": [], "providers_in_quarantine": []}
    by_name = {record.name: record for record in records}

    for record in sorted(records, key=lambda item: item.name):
        if record.effective_state(now) != ALLOCATED:
            continue
        if record.name in seen:
            report["matched"].append(record.to_result(now))
        elif record.allocated_at and parse_time(record.allocated_at) > grace_start:
            report["pending"].append(record.to_result(now))
        else:
            report["allocations_without_provider"].append(record.to_result(now))

    for name in sorted(seen):
        record = by_name.get(name)
        entry = {"name": name, "sources": seen[name]}
        if record is None or record.effective_state(now) == RELEASED:
            report["providers_without_allocation"].append(entry)
        elif record.effective_state(now) == QUARANTINED:
            entry["allocation"] = record.to_result(now)
            report["providers_in_quarantine"].append(entry)
    return report
