# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse and compare Kubernetes resource quantities ("32Gi", "500m", "1e3") exactly.

The grammar follows k8s.io/apimachinery resource.Quantity: a signed decimal number followed by
a binary suffix (Ki..Ei), a decimal SI suffix (n, u, m, k, M, G, T, P, E) or a decimal exponent
(e3, E-2). Values are kept as fractions, so "32Gi" equals "34359738368" and "500m" equals "0.5".
"""

from __future__ import annotations

import re
from fractions import Fraction

BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL_SUFFIXES = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}

# "1E" is exa and "1E3" is an exponent: the regular expression tries the suffix first and
# backtracks to the exponent form when digits follow the E, as the Kubernetes parser does.
QUANTITY_PATTERN = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE](?P<exponent>[+-]?[0-9]+))?$"
)


def parse_quantity(value):
    """Return the exact value of a Kubernetes quantity as a Fraction.

    Accepts strings and plain numbers (YAML gives `pods: 110` as an int). Raises ValueError
    naming the value when it is not a valid quantity.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a Kubernetes quantity")
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, float):
        value = repr(value)

    text = str(value).strip()
    match = QUANTITY_PATTERN.match(text)
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 4, 500m, 32Gi, 1e3)")

    number = Fraction(match.group("number"))
    if match.group("exponent") is not None:
        return number * Fraction(10) ** int(match.group("exponent"))
    suffix = match.group("suffix") or ""
    if suffix in BINARY_SUFFIXES:
        return number * BINARY_SUFFIXES[suffix]
    return number * DECIMAL_SUFFIXES[suffix]


def quantities_equal(left, right):
    """Return whether two quantities have the same value, whatever their notation."""
    return parse_quantity(left) == parse_quantity(right)


def is_whole_quantity(value):
    """Return whether a quantity is a whole number, as extended resources such as GPUs require."""
    return parse_quantity(value).denominator == 1


def resource_lists_equal(left, right):
    """Return whether two resource lists (name -> quantity) hold the same names and values."""
    left = left or {}
    right = right or {}
    if set(left) != set(right):
        return False
    return all(quantities_equal(left[name], right[name]) for name in left)


def normalize_resource_list(resources):
    """Return a copy of a resource list with every quantity as a string, in sorted name order."""
    return {name: quantity_to_string(resources[name]) for name in sorted(resources or {})}


def quantity_to_string(value):
    """Return the string form liqoctl receives for a quantity given as a string or a number."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
