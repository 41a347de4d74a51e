"""Kubernetes resource quantities: parsing and the canonical text form of k8s.io/apimachinery resource.Quantity.

liqoctl serialises --cpu/--memory/--pods/--resource values through resource.Quantity, so "0.5" is stored as "500m",
"1024Mi" as "1Gi" and "2000" as "2k". The stand-in stores the same strings.
"""

from __future__ import annotations

import re
from fractions import Fraction

_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY_SUFFIX = {bits: suffix for suffix, bits in _BINARY.items()}

QUANTITY_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity."""


def parse(text: str) -> tuple[Fraction, str]:
    """Return the exact value and the format (DecimalSI, BinarySI or DecimalExponent) of a quantity."""
    match = _QUANTITY.match(text.strip()) if text else None
    if not match or text != text.strip():
        raise QuantityError(QUANTITY_ERROR)
    number, suffix = match.groups()
    if number.count(".") > 1 or number.strip("+-") in ("", "."):
        raise QuantityError(QUANTITY_ERROR)
    value = Fraction(number)
    if suffix in _BINARY:
        return value * (2 ** _BINARY[suffix]), "BinarySI"
    if suffix in _DECIMAL:
        return value * Fraction(10) ** _DECIMAL[suffix], "DecimalSI"
    exponent = re.fullmatch(r"[eE]([-+]?[0-9]+)", suffix)
    if exponent:
        return value * Fraction(10) ** int(exponent.group(1)), "DecimalExponent"
    raise QuantityError(QUANTITY_ERROR)


def _round_up_to_nano(value: Fraction) -> Fraction:
    # resource.Quantity keeps at most nano precision and rounds away from zero.
    scaled = value * 10**9
    whole = scaled.numerator // scaled.denominator
    if whole != scaled:
        whole = whole + 1 if value > 0 else whole
    return Fraction(whole, 10**9)


def canonical(text: str) -> str:
    """Return the canonical string Kubernetes prints for a quantity."""
    value, fmt = parse(text)
    value = _round_up_to_nano(value)
    if value == 0:
        return "0"
    if fmt == "BinarySI" and (abs(value) < 1024 or value.denominator != 1):
        fmt = "DecimalSI"
    if fmt == "BinarySI":
        return _binary_text(int(value))
    return _decimal_text(value, fmt)


def _binary_text(value: int) -> str:
    bits = 0
    while value % 1024 == 0 and bits < 60:
        value //= 1024
        bits += 10
    return f"{value}{_BINARY_SUFFIX.get(bits, '')}"


def _decimal_text(value: Fraction, fmt: str) -> str:
    exponent = 0
    while value.denominator != 1:
        value *= 10
        exponent -= 1
    mantissa = int(value)
    while mantissa != 0 and mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    remainder = exponent % 3
    if remainder:
        mantissa *= 10**remainder
        exponent -= remainder
    if fmt == "DecimalExponent":
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    if exponent in _DECIMAL_SUFFIX:
        return f"{mantissa}{_DECIMAL_SUFFIX[exponent]}"
    return f"{mantissa}e{exponent}"


def value_of(text: str) -> Fraction:
    """Return the exact numeric value of a quantity."""
    return parse(text)[0]
