# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from fractions import Fraction

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.quantity import (
    is_whole_quantity,
    normalize_resource_list,
    parse_quantity,
    quantities_equal,
    quantity_to_string,
    resource_lists_equal,
)


@pytest.mark.parametrize(("text", "value"), [
    ("0", Fraction(0)),
    ("4", Fraction(4)),
    ("500m", Fraction(1, 2)),
    ("0.5", Fraction(1, 2)),
    (".5", Fraction(1, 2)),
    ("1.", Fraction(1)),
    ("250u", Fraction(1, 4000)),
    ("5n", Fraction(5, 10**9)),
    ("2k", Fraction(2000)),
    ("3M", Fraction(3 * 10**6)),
    ("1G", Fraction(10**9)),
    ("1T", Fraction(10**12)),
    ("1P", Fraction(10**15)),
    ("1E", Fraction(10**18)),
    ("1Ki", Fraction(1024)),
    ("32Gi", Fraction(34359738368)),
    ("1.5Gi", Fraction(3 * 2**29)),
    ("1Ti", Fraction(2**40)),
    ("1Pi", Fraction(2**50)),
    ("1Ei", Fraction(2**60)),
    ("1e3", Fraction(1000)),
    ("1E3", Fraction(1000)),
    ("25e-2", Fraction(1, 4)),
    ("+7", Fraction(7)),
    ("-1Gi", Fraction(-(2**30))),
    (" 8 ", Fraction(8)),
    (110, Fraction(110)),
    (0.25, Fraction(1, 4)),
])
def test_parse_quantity_value(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "Gi", "1GB", "1 Gi", "1g", "1.2.3", "0x10", "1e", "1e1.5", "ten", "1Ki2", None,
                                  True])
def test_parse_quantity_rejects(text):
    with pytest.raises(ValueError, match="is not a Kubernetes quantity"):
        parse_quantity(text)


@pytest.mark.parametrize(("left", "right"), [
    ("32Gi", "34359738368"),
    ("500m", "0.5"),
    ("8", "8000m"),
    ("1k", "1e3"),
    ("1Gi", "1024Mi"),
    (50, "50"),
])
def test_quantities_equal(left, right):
    assert quantities_equal(left, right)


def test_quantities_differ():
    assert not quantities_equal("1G", "1Gi")


def test_whole_quantity():
    assert is_whole_quantity("2")
    assert is_whole_quantity("2000m")
    assert not is_whole_quantity("1500m")


def test_resource_lists_equal_by_value():
    assert resource_lists_equal({"cpu": "8", "memory": "32Gi"}, {"memory": "34359738368", "cpu": "8000m"})


def test_resource_lists_differ_in_keys():
    assert not resource_lists_equal({"cpu": "8"}, {"cpu": "8", "nvidia.com/gpu": "1"})


def test_resource_lists_empty_equal():
    assert resource_lists_equal(None, {})


def test_normalize_resource_list():
    assert normalize_resource_list({"pods": 50, "cpu": 8.0, "memory": "32Gi"}) == {
        "cpu": "8", "memory": "32Gi", "pods": "50"}


def test_quantity_to_string_keeps_fractions():
    assert quantity_to_string(0.5) == "0.5"
