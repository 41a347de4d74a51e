# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of the autoscaler's policy and flavor catalogue."""

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale_policy import (
    PolicyError,
    build_policy,
    merge_settings,
    parse_duration,
)

FLAVOR = {"cloud": "verda", "name": "1V100", "cpu": "5", "memory": "20Gi", "gpu": 1, "price_per_hour": 0.39,
          "billing_increment": "10m", "boot_time": "8m"}


def build(settings=None, flavors=None, overrides=None):
    return build_policy(merge_settings(settings or {}, overrides), [FLAVOR] if flavors is None else flavors)


def test_defaults_are_valid():
    policy = build()

    assert policy.max_providers == 10
    assert policy.warm_pool == 1
    assert policy.warm_idle_time == 3600
    assert policy.idle_time == 600
    assert policy.billing_aware is True
    assert policy.flavor("verda", "1V100").memory == 20 * 2**30
    assert policy.flavor("verda", "1V100").billing_increment == 600


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("1h", 3600), (45, 45), ("0", 0)])
def test_durations_parsed(text, seconds):
    assert parse_duration(text, "idle_time") == seconds


def test_max_below_min_rejected():
    with pytest.raises(PolicyError, match=r"max_providers \(1\) is below min_providers \(2\)"):
        build({"min_providers": 2, "max_providers": 1})


def test_flavor_without_price_rejected():
    flavor = {key: value for key, value in FLAVOR.items() if key != "price_per_hour"}

    with pytest.raises(PolicyError, match="flavor verda/1V100: price_per_hour is missing"):
        build(flavors=[flavor])


def test_negative_idle_time_rejected():
    with pytest.raises(PolicyError, match="idle_time: '-5m' is negative"):
        build({"idle_time": "-5m"})


def test_invalid_duration_rejected():
    with pytest.raises(PolicyError, match="warm_idle_time: 'soon' is not a duration"):
        build({"warm_idle_time": "soon"})


def test_negative_price_rejected():
    with pytest.raises(PolicyError, match="price_per_hour: -1 is negative"):
        build(flavors=[dict(FLAVOR, price_per_hour=-1)])


def test_invalid_memory_rejected():
    with pytest.raises(PolicyError, match="flavor verda/1V100: memory"):
        build(flavors=[dict(FLAVOR, memory="lots")])


def test_duplicate_flavor_rejected():
    with pytest.raises(PolicyError, match="listed twice"):
        build(flavors=[FLAVOR, FLAVOR])


def test_empty_catalogue_rejected():
    with pytest.raises(PolicyError, match="flavors is empty"):
        build(flavors=[])


def test_negative_spend_rejected():
    with pytest.raises(PolicyError, match="max_spend_per_hour: -2 is negative"):
        build({"max_spend_per_hour": -2})


def test_overrides_win_over_options():
    policy = build({"idle_time": "10m", "warm_pool": 1}, overrides={"idle_time": "3m", "warm_pool": "0"})

    assert policy.idle_time == 180
    assert policy.warm_pool == 0


def test_unknown_override_rejected():
    with pytest.raises(PolicyError, match="Unknown policy settings idel_time"):
        build(overrides={"idel_time": "3m"})


def test_override_bool_parsed():
    assert build(overrides={"billing_aware": "false"}).billing_aware is False
