"""Go-compatible parsing and quoting, so flag errors read exactly like pflag's (pflag v1.0.5, Go strconv/time)."""

from __future__ import annotations

import re

_SIMPLE_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v"}


def quote(text: str) -> str:
    """Return text quoted the way Go's %q verb quotes a string."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def parse_bool(text: str) -> bool:
    """Parse a boolean like Go's strconv.ParseBool."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"strconv.ParseBool: parsing {quote(text)}: invalid syntax")


_BASE_PREFIXES = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}


def parse_int(text: str, bits: int) -> int:
    """Parse an integer like Go's strconv.ParseInt(text, 0, bits), including base prefixes and underscores."""
    syntax_error = ValueError(f"strconv.ParseInt: parsing {quote(text)}: invalid syntax")
    body = text
    sign = 1
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        raise syntax_error
    base = 10
    if body[:2] in _BASE_PREFIXES:
        base = _BASE_PREFIXES[body[:2]]
        body = body[2:]
    elif len(body) > 1 and body[0] == "0":
        base = 8
        body = body[1:]
    if base != 10 or "_" in body:
        # Go accepts underscores only between digits and only with base 0 parsing, which is the case here.
        if body.startswith("_") or body.endswith("_") or "__" in body:
            raise syntax_error
        body = body.replace("_", "")
    if not body:
        raise syntax_error
    try:
        value = sign * int(body, base)
    except ValueError:
        raise syntax_error from None
    limit = 1 << (bits - 1)
    if value < -limit or value >= limit:
        raise ValueError(f"strconv.ParseInt: parsing {quote(text)}: value out of range")
    return value


_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def parse_duration(text: str) -> int:
    """Parse a duration like Go's time.ParseDuration and return nanoseconds."""
    invalid = ValueError(f"time: invalid duration {quote(text)}")
    rest = text
    negative = False
    if rest[:1] in ("+", "-"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise invalid
    total = 0
    while rest:
        match = _DURATION_PART.match(rest)
        whole, fraction, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not fraction:
            raise invalid
        if not unit:
            raise ValueError(f"time: missing unit in duration {quote(text)}")
        if unit not in _DURATION_UNITS:
            raise ValueError(f"time: unknown unit {quote(unit)} in duration {quote(text)}")
        scale = _DURATION_UNITS[unit]
        value = int(whole or "0") * scale
        if fraction:
            value += int(fraction) * scale // (10 ** len(fraction))
        total += value
        rest = rest[match.end() :]
    return -total if negative else total


def format_duration(nanoseconds: int) -> str:
    """Format nanoseconds like Go's time.Duration.String (enough for help defaults such as 10m0s)."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    value = abs(nanoseconds)
    if value < 1_000_000_000:
        for unit, scale in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if value >= scale:
                return sign + _trim_fraction(value / scale) + unit
    seconds, remainder = divmod(value, 1_000_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    second_text = str(seconds)
    if remainder:
        second_text += "." + f"{remainder:09d}".rstrip("0")
    text = f"{second_text}s"
    if hours:
        text = f"{hours}h{minutes}m" + text
    elif minutes:
        text = f"{minutes}m" + text
    return sign + text


def _trim_fraction(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text
