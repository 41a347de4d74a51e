# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Allocation rules without a backend: settings checks, first-fit blocks, names, quarantine and reconcile."""

import datetime
import ipaddress
import random

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation import (
    ALLOCATED,
    PURGE_LIMIT,
    QUARANTINED,
    RELEASED,
    Allocation,
    AllocationRequest,
    Occupancy,
    cidr_range,
    filter_records,
    format_time,
    plan_allocate,
    plan_release,
    reconcile,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_settings import (
    DEFAULT_RESERVED,
    AllocationError,
    Pool,
    build_settings,
    parse_duration,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.cidr import DNS_LABEL, MAX_CLUSTER_ID_LENGTH

NOW = datetime.datetime(2026, 12, 4, 12, 0, 0, tzinfo=datetime.UTC)
LIQO_INFO_NETWORK = {"pod_cidr": "10.244.0.0/16", "service_cidr": "10.96.0.0/16", "external_cidr": "10.70.0.0/16",
                     "internal_cidr": "10.80.0.0/16"}


def later(seconds):
    return NOW + datetime.timedelta(seconds=seconds)


class Table:
    """An in-memory table that applies plans as a backend would."""

    def __init__(self, settings=None, seed=1):
        self.settings = settings or build_settings()
        self.records = {}
        self.randomness = random.Random(seed)

    def allocate(self, key, now=NOW, settings=None, **pins):
        request = AllocationRequest(key=key, requester="tester@controller", **pins)
        plan = plan_allocate(list(self.records.values()), request, settings or self.settings, now, self.randomness)
        self.apply(plan)
        return plan

    def release(self, key, now=NOW, settings=None):
        plan = plan_release(list(self.records.values()), key, settings or self.settings, now, "tester@controller")
        self.apply(plan)
        return plan

    def apply(self, plan):
        for action, record in plan.operations:
            if action == "delete":
                del self.records[record.name]
            else:
                self.records[record.name] = record


def networks_of(records, now=NOW):
    found = []
    for record in records:
        if record.effective_state(now) != RELEASED:
            found += [ipaddress.ip_network(record.pod_cidr), ipaddress.ip_network(record.service_cidr)]
    return found


def assert_no_overlaps(networks):
    for index, network in enumerate(networks):
        for other in networks[index + 1:]:
            assert not network.overlaps(other), f"{network} overlaps {other}"


# Settings


def test_default_settings_are_valid():
    settings = build_settings()

    assert [str(pool.network) for pool in settings.pod_pools] == ["10.112.0.0/12"]
    assert [str(pool.network) for pool in settings.service_pools] == ["10.48.0.0/12"]


def test_default_pools_avoid_every_default_range():
    settings = build_settings()
    reserved = [network for _label, network in settings.reserved]

    for pool in settings.pools:
        for network in reserved:
            assert not pool.network.overlaps(network), f"{pool.describe()} overlaps {network}"


def test_default_reserved_covers_stock_installs():
    reserved = {ipaddress.ip_network(cidr) for cidr in DEFAULT_RESERVED.values()}

    for cidr in ("10.42.0.0/16", "10.43.0.0/16", "10.96.0.0/12", "10.244.0.0/16", "172.17.0.0/16",
                 "192.168.0.0/16", "10.70.0.0/16", "10.80.0.0/16"):
        assert any(ipaddress.ip_network(cidr).subnet_of(network) for network in reserved), cidr


INVALID_SETTINGS = [
    ("pool not a CIDR", {"pod_pools": [{"cidr": "10.112.0.0", "block_prefix": 20}]}, "is not a CIDR"),
    ("pool with host bits", {"pod_pools": [{"cidr": "10.112.3.0/12", "block_prefix": 20}]},
     "use the network address"),
    ("pool in IPv6", {"pod_pools": [{"cidr": "fd00::/64", "block_prefix": 80}]}, "IPv6"),
    ("block larger than pool", {"pod_pools": [{"cidr": "10.112.0.0/16", "block_prefix": 12}]},
     "a /12 block is larger than the pool 10.112.0.0/16"),
    ("block too small", {"pod_pools": [{"cidr": "10.112.0.0/16", "block_prefix": 31}]}, "leaves no room"),
    ("block prefix not a number", {"pod_pools": [{"cidr": "10.112.0.0/16", "block_prefix": "20"}]},
     "is not a prefix length"),
    ("pod and service pools overlap", {"service_pools": [{"cidr": "10.112.0.0/16", "block_prefix": 22}]},
     "pod pool 10.112.0.0/12 (/20 blocks) overlaps service pool 10.112.0.0/16"),
    ("two pod pools overlap", {"pod_pools": [{"cidr": "10.112.0.0/12", "block_prefix": 20},
                                             {"cidr": "10.120.0.0/13", "block_prefix": 20}]}, "overlaps pod pool"),
    ("pool inside reserved range", {"pod_pools": [{"cidr": "10.42.0.0/17", "block_prefix": 20}]},
     "lies inside k3s default cluster CIDR 10.42.0.0/16"),
    ("no service pool", {"service_pools": []}, "each need at least one pool"),
    ("reserved not a CIDR", {"reserved": ["cloud-net"]}, "reserved[0]: 'cloud-net' is not a CIDR"),
    ("consumer CIDR invalid", {"consumer_cidrs": ["10.244.0.0/33"]}, "not a valid network CIDR"),
    ("prefix not a label", {"name_prefix": "MLOps"}, "is not a DNS label starting with a letter"),
    ("prefix starts with digit", {"name_prefix": "1mlops"}, "is not a DNS label starting with a letter"),
    ("names too long", {"name_prefix": "a" * 40, "cloud": "verda"}, "would have 52 characters"),
    ("quarantine negative", {"quarantine": "-5m"}, "is negative"),
    ("quarantine not a duration", {"quarantine": "a day"}, "is not a duration"),
    ("cloud without letters", {"cloud": "%%"}, "has no letter or digit"),
]


@pytest.mark.parametrize(("case", "options", "expected"), INVALID_SETTINGS, ids=[case[0] for case in INVALID_SETTINGS])
def test_invalid_settings_rejected(case, options, expected):
    with pytest.raises(AllocationError) as raised:
        build_settings(**options)

    assert expected in str(raised.value)


def test_name_length_limit_is_inclusive():
    # mlops- (6) + verda- (6) + suffix (5) leaves 34 characters for the flavor class and its dash.
    flavor = "g" * (MAX_CLUSTER_ID_LENGTH - 6 - 6 - 5 - 1)

    settings = build_settings(cloud="verda", flavor_class=flavor)
    with pytest.raises(AllocationError):
        build_settings(cloud="verda", flavor_class=flavor + "g")

    assert settings.flavor_class == flavor


@pytest.mark.parametrize(("value", "seconds"), [(0, 0), (3600, 3600), ("90", 90), ("90s", 90), ("30m", 1800),
                                                ("24h", 86400), ("7d", 604800), ("2w", 1209600), (" 5 m ", 300)])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


def test_parse_duration_rejects_bool():
    with pytest.raises(AllocationError):
        parse_duration(True)


def test_consumer_cidrs_from_liqo_info_network():
    settings = build_settings(consumer_cidrs=dict(LIQO_INFO_NETWORK, reserved_subnets=["172.18.0.0/16"],
                                                  remote=None))
    labels = {label: str(network) for label, network in settings.reserved if label.startswith("consumer")}

    assert labels["consumer pod_cidr"] == "10.244.0.0/16"
    assert labels["consumer reserved_subnets[0]"] == "172.18.0.0/16"
    assert len(labels) == 5


def test_consumer_cidrs_default_to_platform():
    labels = {label: str(network) for label, network in build_settings().reserved}

    assert labels["platform consumer pod CIDR"] == "10.244.0.0/16"
    assert labels["platform consumer service CIDR"] == "10.96.0.0/16"


def test_cloud_and_flavor_become_label_parts():
    settings = build_settings(cloud="Verda Cloud", flavor_class="1V100.6V")

    assert settings.cloud == "verda-cloud"
    assert settings.flavor_class == "1v100-6v"


# Blocks


def test_first_allocation_takes_lowest_blocks():
    plan = Table().allocate("verda-v100-2")

    assert plan.changed is True
    assert plan.allocation.pod_cidr == "10.112.0.0/20"
    assert plan.allocation.service_cidr == "10.48.0.0/22"
    assert plan.allocation.state == ALLOCATED
    assert plan.allocation.allocated_at == "2026-12-04T12:00:00Z"
    assert plan.allocation.allocated_by == "tester@controller"


def test_allocations_are_distinct_and_first_fit():
    table = Table()

    pods = [table.allocate(f"provider-{index}").allocation.pod_cidr for index in range(5)]

    assert pods == ["10.112.0.0/20", "10.112.16.0/20", "10.112.32.0/20", "10.112.48.0/20", "10.112.64.0/20"]
    assert_no_overlaps(networks_of(table.records.values()))


def test_blocks_skip_reserved_ranges():
    settings = build_settings(pod_pools=[{"cidr": "10.40.0.0/13", "block_prefix": 16}],
                              service_pools=[{"cidr": "10.160.0.0/16", "block_prefix": 24}],
                              reserved=["10.41.128.0/24"])
    table = Table(settings)

    pods = [table.allocate(f"provider-{index}").allocation.pod_cidr for index in range(4)]

    # 10.41/16 contains a reserved /24; 10.42/16 and 10.43/16 are the k3s defaults.
    assert pods == ["10.40.0.0/16", "10.44.0.0/16", "10.45.0.0/16", "10.46.0.0/16"]


def test_blocks_skip_consumer_cidrs():
    settings = build_settings(pod_pools=[{"cidr": "10.150.0.0/15", "block_prefix": 16}],
                              consumer_cidrs=["10.150.0.0/16"])

    plan = Table(settings).allocate("provider-0")

    assert plan.allocation.pod_cidr == "10.151.0.0/16"


def test_second_pool_used_when_first_is_full():
    settings = build_settings(pod_pools=[{"cidr": "10.112.0.0/23", "block_prefix": 24},
                                         {"cidr": "10.113.0.0/16", "block_prefix": 20}])
    table = Table(settings)

    pods = [table.allocate(f"provider-{index}").allocation.pod_cidr for index in range(3)]

    assert pods == ["10.112.0.0/24", "10.112.1.0/24", "10.113.0.0/20"]


def test_free_block_found_after_range_reaching_into_pool():
    occupied = Occupancy()
    occupied.add(ipaddress.ip_network("10.0.0.0/8"), "wide")
    occupied.add(ipaddress.ip_network("11.0.0.0/24"), "first block")
    pool = Pool("pod", ipaddress.ip_network("10.255.0.0/16"), 24)
    second_pool = Pool("pod", ipaddress.ip_network("11.0.0.0/16"), 24)

    assert occupied.first_free_block(pool) is None
    assert str(occupied.first_free_block(second_pool)) == "11.0.1.0/24"


def test_free_block_aligned_after_odd_range():
    occupied = Occupancy()
    occupied.add(ipaddress.ip_network("10.0.0.0/26"), "small")
    pool = Pool("pod", ipaddress.ip_network("10.0.0.0/16"), 24)

    assert str(occupied.first_free_block(pool)) == "10.0.1.0/24"


@pytest.mark.parametrize("cidr", ["10.112.0.0/20", "0.0.0.0/0", "255.255.255.255/32", "192.168.10.128/25"])
def test_cidr_range_matches_ipaddress(cidr):
    network = ipaddress.ip_network(cidr)

    assert cidr_range(cidr) == (int(network.network_address), int(network.broadcast_address))


def test_stored_record_with_invalid_cidr_reported():
    table = Table()
    table.records["edited"] = Allocation(name="edited", key="edited", pod_cidr="10.300.0.0/20",
                                         service_cidr="10.48.0.0/22")

    with pytest.raises(AllocationError) as raised:
        table.allocate("provider-0")

    assert "Allocation edited (key edited) has an invalid pod_cidr" in str(raised.value)


def test_exhaustion_names_pool_and_counts():
    settings = build_settings(pod_pools=[{"cidr": "10.112.0.0/22", "block_prefix": 24}],
                              quarantine="1h")
    table = Table(settings)
    for index in range(4):
        table.allocate(f"provider-{index}")
    table.release("provider-3")
    before = dict(table.records)

    with pytest.raises(AllocationError) as raised:
        table.allocate("provider-4")

    message = str(raised.value)
    assert "pod pool 10.112.0.0/22 (/24 blocks)" in message
    assert "3 blocks are allocated and 1 are in quarantine, of 4 blocks" in message
    assert "Nothing was written" in message
    assert table.records == before


def test_exhausted_pool_usable_after_quarantine():
    settings = build_settings(pod_pools=[{"cidr": "10.112.0.0/23", "block_prefix": 24}], quarantine="1h")
    table = Table(settings)
    table.allocate("provider-0")
    released = table.allocate("provider-1").allocation
    table.release("provider-1")

    with pytest.raises(AllocationError):
        table.allocate("provider-2", now=later(3599))
    plan = table.allocate("provider-2", now=later(3600))

    assert plan.allocation.pod_cidr == released.pod_cidr
    assert released.name not in table.records  # the expired record was purged by the same write


# Keys, idempotence and release


def test_same_key_returns_same_allocation():
    table = Table()
    first = table.allocate("verda-v100-2")

    second = table.allocate("verda-v100-2", now=later(60))

    assert second.changed is False
    assert second.operations == []
    assert second.allocation == first.allocation


def test_empty_key_rejected():
    with pytest.raises(AllocationError) as raised:
        Table().allocate(" ")

    assert "key is empty" in str(raised.value)


def test_release_quarantines_name_and_blocks():
    table = Table(build_settings(quarantine="2h"))
    allocation = table.allocate("verda-v100-2").allocation

    plan = table.release("verda-v100-2", now=later(10))

    assert plan.changed is True
    assert plan.allocation.state == QUARANTINED
    assert plan.allocation.released_at == format_time(later(10))
    assert plan.allocation.quarantine_until == format_time(later(7210))
    assert plan.allocation.released_by == "tester@controller"
    assert plan.before == allocation


def test_release_twice_reports_no_change():
    table = Table()
    table.allocate("verda-v100-2")
    table.release("verda-v100-2")

    plan = table.release("verda-v100-2")

    assert plan.changed is False
    assert plan.operations == []
    assert plan.allocation.state == QUARANTINED


def test_release_unknown_key_reports_nothing():
    plan = Table().release("never-allocated")

    assert plan.changed is False
    assert plan.allocation is None


def test_reallocation_after_release_avoids_quarantined_blocks():
    table = Table()
    old = table.allocate("verda-v100-2").allocation
    table.release("verda-v100-2")

    new = table.allocate("verda-v100-2").allocation

    assert new.name != old.name
    assert new.pod_cidr != old.pod_cidr
    assert new.service_cidr != old.service_cidr


def test_zero_quarantine_frees_at_once():
    table = Table(build_settings(quarantine=0))
    old = table.allocate("verda-v100-2").allocation
    table.release("verda-v100-2")

    new = table.allocate("verda-v100-3").allocation

    assert new.pod_cidr == old.pod_cidr
    assert old.name not in table.records


def test_purge_limited_per_write():
    table = Table(build_settings(quarantine=0))
    # Every write purges what earlier releases left, so a backlog of expired records only builds up outside
    # the allocator, for example after a long pause; make one by hand.
    backlog = {f"old-{index}": Allocation(name=f"old-{index}", key=f"old-{index}", pod_cidr=f"10.112.{index}.0/24",
                                          service_cidr=f"10.48.{index}.0/24", state=QUARANTINED,
                                          quarantine_until=format_time(NOW))
               for index in range(PURGE_LIMIT + 5)}
    table.records.update(backlog)

    plan = table.allocate("provider-new")

    deletes = [record for action, record in plan.operations if action == "delete"]
    assert len(deletes) == PURGE_LIMIT


# Names


def test_generated_name_format():
    settings = build_settings(cloud="verda", flavor_class="gpu")

    name = Table(settings).allocate("verda-v100-2").allocation.name

    assert name.startswith("mlops-verda-gpu-")
    assert len(name) == len("mlops-verda-gpu-") + 5
    assert DNS_LABEL.match(name)


def test_names_unique_even_with_repeating_suffixes():
    table = Table()
    table.randomness = random.Random(7)
    first = table.allocate("provider-0").allocation.name
    table.randomness = random.Random(7)  # replays the same suffix, which must be skipped

    second = table.allocate("provider-1").allocation.name

    assert first != second


def test_quarantined_name_not_reused():
    table = Table(build_settings(quarantine="1h"))
    old = table.allocate("provider-0").allocation
    table.release("provider-0")
    table.randomness = random.Random(1)  # the seed that produced the quarantined name

    new = table.allocate("provider-1").allocation

    assert new.name != old.name


# Pinned values


def test_pinned_values_recorded_and_avoided():
    table = Table()

    pinned = table.allocate("verda-v100-1", name="verda-v100-1", pod_cidr="10.112.0.0/16",
                            service_cidr="10.151.0.0/16").allocation
    other = table.allocate("verda-v100-2").allocation

    assert pinned.pinned is True
    assert (pinned.name, pinned.pod_cidr, pinned.service_cidr) == ("verda-v100-1", "10.112.0.0/16", "10.151.0.0/16")
    assert other.pod_cidr == "10.113.0.0/20"


def test_lab_inventory_pins_accepted():
    # The values inventories/lab pins for its k3s provider, next to the platform's kind consumer.
    plan = Table().allocate("verda-v100-1", name="verda-v100-1", pod_cidr="10.150.0.0/16",
                            service_cidr="10.151.0.0/16")

    assert plan.changed is True
    assert plan.allocation.name == "verda-v100-1"


def test_pinned_values_match_on_repeat():
    table = Table()
    table.allocate("verda-v100-1", name="verda-v100-1", pod_cidr="10.150.0.0/16", service_cidr="10.151.0.0/16")

    plan = table.allocate("verda-v100-1", name="verda-v100-1", pod_cidr="10.150.0.0/16",
                          service_cidr="10.151.0.0/16")

    assert plan.changed is False


PINNED_CONFLICTS = [
    ("pod CIDR on k3s default", {"pod_cidr": "10.42.0.0/16"}, "overlaps k3s default cluster CIDR 10.42.0.0/16"),
    ("service CIDR on consumer", {"service_cidr": "10.96.0.0/20"},
     "overlaps platform consumer service CIDR 10.96.0.0/16 and kubeadm default service CIDR 10.96.0.0/12"),
    ("pod CIDR on other allocation", {"pod_cidr": "10.112.0.0/24"},
     "overlaps pod_cidr 10.112.0.0/20 of mlops-"),
    ("pod and service the same", {"pod_cidr": "10.150.0.0/16", "service_cidr": "10.150.0.0/16"},
     "overlaps pod_cidr 10.150.0.0/16 of this request"),
    ("name taken", {"name": "taken-name"}, "name taken-name is held by taken-name (key holder, allocated)"),
    ("name not a label", {"name": "Verda_1"}, "is not a DNS-1123 label"),
    ("name too long", {"name": "n" * 52}, "has 52 characters"),
    ("CIDR with host bits", {"pod_cidr": "10.150.1.0/16"}, "use the network address"),
]


@pytest.mark.parametrize(("case", "pins", "expected"), PINNED_CONFLICTS, ids=[case[0] for case in PINNED_CONFLICTS])
def test_pinned_conflicts_rejected(case, pins, expected):
    table = Table()
    table.allocate("other")
    table.allocate("holder", name="taken-name")
    before = dict(table.records)

    with pytest.raises(AllocationError) as raised:
        table.allocate("verda-v100-1", **pins)

    assert expected in str(raised.value)
    assert table.records == before


def test_pinned_values_differing_from_held_rejected():
    table = Table()
    held = table.allocate("verda-v100-1").allocation

    with pytest.raises(AllocationError) as raised:
        table.allocate("verda-v100-1", pod_cidr="10.150.0.0/16")

    assert f"pod_cidr is pinned to 10.150.0.0/16 but the key holds {held.pod_cidr}" in str(raised.value)
    assert "Release the allocation" in str(raised.value)


def test_cloud_change_keeps_allocation_with_warning():
    table = Table(build_settings(cloud="verda"))
    held = table.allocate("provider-0").allocation

    plan = table.allocate("provider-0", settings=build_settings(cloud="cpouta"))

    assert plan.allocation == held
    assert "made for cloud 'verda' (requested 'cpouta')" in plan.warnings[0]


# Invariants over many random operations


def test_random_operations_never_overlap():
    settings = build_settings(pod_pools=[{"cidr": "10.112.0.0/18", "block_prefix": 22}],
                              service_pools=[{"cidr": "10.48.0.0/18", "block_prefix": 22}], quarantine="10m")
    table = Table(settings, seed=3)
    choices = random.Random(11)
    now = NOW
    reserved = [network for _label, network in settings.reserved]
    for _step in range(400):
        now += datetime.timedelta(seconds=choices.randint(0, 120))
        key = f"provider-{choices.randint(0, 20)}"
        try:
            if choices.random() < 0.6:
                table.allocate(key, now=now)
            else:
                table.release(key, now=now)
        except AllocationError as error:
            assert "No free block" in str(error)

        live = [record for record in table.records.values() if record.effective_state(now) != RELEASED]
        networks = networks_of(live, now)
        assert_no_overlaps(networks)
        assert not any(network.overlaps(other) for network in networks for other in reserved)
        allocated_keys = [record.key for record in live if record.state == ALLOCATED]
        assert len(allocated_keys) == len(set(allocated_keys))
        assert len({record.name for record in live}) == len(live)


# Listing and reconcile


def test_filter_by_key_and_state():
    table = Table(build_settings(quarantine="1h"))
    for key in ("a", "b", "c"):
        table.allocate(key)
    table.release("b")
    records = list(table.records.values())

    assert [record.key for record in filter_records(records, NOW, keys=["a", "b"])] == ["a", "b"]
    assert [record.key for record in filter_records(records, NOW, states=[QUARANTINED])] == ["b"]
    assert [record.key for record in filter_records(records, later(3600), states=[RELEASED])] == ["b"]
    assert filter_records(records, NOW, keys=["zzz"]) == []


def test_reconcile_reports_both_sides():
    table = Table(build_settings(quarantine="1h"))
    matched = table.allocate("matched").allocation
    orphan = table.allocate("orphan").allocation
    young = table.allocate("young", now=later(1000)).allocation
    released = table.allocate("released").allocation
    table.release("released", now=later(900))
    observed = [{"cluster_id": matched.name, "name": "ignored", "source": "liqo"}, matched.name,
                {"name": released.name, "source": "verda"}, {"hostname": "stray-vm", "source": "verda"}]

    report = reconcile(list(table.records.values()), observed, later(1200), grace_seconds=900)

    assert [item["name"] for item in report["matched"]] == [matched.name]
    assert [item["name"] for item in report["pending"]] == [young.name]
    assert [item["name"] for item in report["allocations_without_provider"]] == [orphan.name]
    assert report["providers_without_allocation"] == [{"name": "stray-vm", "sources": ["verda"]}]
    assert [item["name"] for item in report["providers_in_quarantine"]] == [released.name]
    assert report["providers_in_quarantine"][0]["allocation"]["state"] == QUARANTINED


def test_reconcile_with_no_providers():
    table = Table()
    table.allocate("orphan")

    report = reconcile(list(table.records.values()), [], later(3600), grace_seconds=60)

    assert len(report["allocations_without_provider"]) == 1
    assert report["providers_without_allocation"] == []


def test_reconcile_rejects_unnamed_provider():
    with pytest.raises(AllocationError) as raised:
        reconcile([], [{"source": "verda"}], NOW, 0)

    assert "observed_providers[0]" in str(raised.value)


def test_result_has_derived_names():
    allocation = Table().allocate("verda-v100-2").allocation

    result = allocation.to_result(NOW)

    assert result["cluster_id"] == allocation.name
    assert result["hostname"] == allocation.name
    assert result["tenant_namespace"] == "liqo-tenant-" + allocation.name
    assert "revision" not in result
