"""Command-line flags with the semantics of spf13/pflag v1.0.5 as liqoctl v1.0.3 registers them.

Every value type liqoctl uses is here: string, bool, int, int32, duration, stringArray, stringToString, and the
Liqo types stringMap (--cluster-labels), cidrList (--reserved-subnets), clusterID and string enums. Error texts are
the ones pflag and Go's strconv/time/net packages produce, because callers match on them.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import ipaddress
import re
from collections.abc import Callable
from typing import Any

from . import goformat


class FlagError(Exception):
    """A flag could not be parsed; the message is the one cobra prints after "Error: "."""


@dataclasses.dataclass
class Flag:
    """One flag definition plus its parsed value."""

    name: str
    kind: str
    default: Any
    usage: str
    shorthand: str = ""
    hidden: bool = False
    required: bool = False
    choices: tuple[str, ...] = ()
    value: Any = None
    changed: bool = False

    def __post_init__(self):
        self.value = copy.deepcopy(self.default)

    @property
    def takes_no_argument(self) -> bool:
        """Whether `--flag` alone is complete (pflag's NoOptDefVal), true only for booleans here."""
        return self.kind == "bool"

    @property
    def display_name(self) -> str:
        """Name as pflag shows it in "invalid argument" errors."""
        if self.shorthand:
            return f"-{self.shorthand}, --{self.name}"
        return f"--{self.name}"

    def set(self, text: str) -> None:
        """Parse text into the value, with pflag's replace-then-append rules for repeatable types."""
        try:
            _SETTERS[self.kind](self, text)
        except ValueError as error:
            raise FlagError(
                f"invalid argument {goformat.quote(text)} for {goformat.quote(self.display_name)} flag: {error}"
            ) from None
        self.changed = True

    def type_name(self) -> str:
        """Type word shown in help, as pflag's Value.Type() returns it."""
        return {"bool": "", "enum": "string"}.get(self.kind, self.kind)


def _set_string(flag: Flag, text: str) -> None:
    flag.value = text


def _set_bool(flag: Flag, text: str) -> None:
    flag.value = goformat.parse_bool(text)


def _set_int(flag: Flag, text: str) -> None:
    flag.value = goformat.parse_int(text, 64)


def _set_int32(flag: Flag, text: str) -> None:
    flag.value = goformat.parse_int(text, 32)


def _set_duration(flag: Flag, text: str) -> None:
    flag.value = goformat.parse_duration(text)


def _set_string_array(flag: Flag, text: str) -> None:
    flag.value = [text] if not flag.changed else [*flag.value, text]


def _set_string_to_string(flag: Flag, text: str) -> None:
    count = text.count("=")
    if count == 0:
        raise ValueError(f"{text} must be formatted as key=value")
    pairs = [text.strip('"')] if count == 1 else _read_csv_record(text)
    parsed = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"{pair} must be formatted as key=value")
        key, value = pair.split("=", 1)
        parsed[key] = value
    flag.value = parsed if not flag.changed else {**flag.value, **parsed}


def _read_csv_record(text: str) -> list[str]:
    # pflag reads the value as one CSV record (Go encoding/csv), so quoted fields may hold commas.
    if '"' in text and not _GO_CSV_QUOTES.fullmatch(text):
        column = text.index('"') + 1
        raise ValueError(f'parse error on line 1, column {column}: bare " in non-quoted field')
    return next(csv.reader([text]))


_GO_CSV_QUOTES = re.compile(r'(?:"(?:[^"]|"")*"|[^",]*)(?:,(?:"(?:[^"]|"")*"|[^",]*))*')


def _set_string_map(flag: Flag, text: str) -> None:
    # Liqo's args.StringMap: comma-separated key=value chunks, merged into the map on every use.
    if text == "":
        return
    for chunk in text.split(","):
        if "=" not in chunk:
            raise ValueError(f"invalid value {chunk}: missing '=' separator")
        key, value = chunk.split("=", 1)
        flag.value[key] = value


def _set_cidr_list(flag: Flag, text: str) -> None:
    # Liqo's args.CIDRList keeps the strings as typed and validates each with Go's net.ParseCIDR.
    if text == "":
        return
    chunks = text.split(",")
    for chunk in chunks:
        parse_go_cidr(chunk)
    flag.value = [*flag.value, *chunks]


def _set_enum(flag: Flag, text: str) -> None:
    if text not in flag.choices:
        raise ValueError(f"{text} is not included in {','.join(flag.choices)}")
    flag.value = text


_SETTERS: dict[str, Callable[[Flag, str], None]] = {
    "string": _set_string,
    "clusterID": _set_string,
    "bool": _set_bool,
    "int": _set_int,
    "int32": _set_int32,
    "duration": _set_duration,
    "stringArray": _set_string_array,
    "stringToString": _set_string_to_string,
    "stringMap": _set_string_map,
    "cidrList": _set_cidr_list,
    "enum": _set_enum,
}

_IPV4_OCTET = re.compile(r"(0|[1-9][0-9]{0,2})")


def parse_go_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Parse "address/prefix" like Go's net.ParseCIDR: host bits allowed, leading zeros and bare addresses not."""
    invalid = ValueError(f"invalid CIDR address: {text}")
    address, slash, prefix = text.partition("/")
    if not slash or not prefix.isdigit() or not prefix.isascii() or (len(prefix) > 1 and prefix[0] == "0"):
        raise invalid
    if "." in address and ":" not in address:
        octets = address.split(".")
        if len(octets) != 4 or not all(_IPV4_OCTET.fullmatch(octet) for octet in octets):
            raise invalid
    try:
        return ipaddress.ip_network(f"{address}/{int(prefix)}", strict=False)
    except ValueError:
        raise invalid from None


class FlagSet:
    """An ordered set of flags, looked up by name and by one-letter shorthand."""

    def __init__(self, flags: list[Flag] | None = None):
        self._by_name: dict[str, Flag] = {}
        self._by_shorthand: dict[str, Flag] = {}
        for flag in flags or []:
            self.add(flag)

    def add(self, flag: Flag) -> None:
        """Register a flag unless one with the same name exists (cobra keeps the innermost definition)."""
        if flag.name in self._by_name:
            return
        self._by_name[flag.name] = flag
        if flag.shorthand and flag.shorthand not in self._by_shorthand:
            self._by_shorthand[flag.shorthand] = flag

    def lookup(self, name: str) -> Flag | None:
        """Return the flag called name, or None."""
        return self._by_name.get(name)

    def lookup_shorthand(self, letter: str) -> Flag | None:
        """Return the flag with this shorthand, or None."""
        return self._by_shorthand.get(letter)

    def __iter__(self):
        return iter(sorted(self._by_name.values(), key=lambda flag: flag.name))

    def value(self, name: str) -> Any:
        """Return the parsed value of a flag."""
        return self._by_name[name].value

    def changed(self, name: str) -> bool:
        """Return whether the flag appeared on the command line."""
        return self._by_name[name].changed

    def parse(self, args: list[str]) -> list[str]:
        """Parse args with pflag's interspersed rules; return the positional arguments."""
        positional: list[str] = []
        remaining = list(args)
        while remaining:
            arg = remaining.pop(0)
            if len(arg) < 2 or arg[0] != "-":
                positional.append(arg)
            elif arg == "--":
                positional.extend(remaining)
                break
            elif arg.startswith("--"):
                remaining = self._parse_long(arg, remaining)
            else:
                remaining = self._parse_short_group(arg[1:], remaining)
        return positional

    def _parse_long(self, arg: str, remaining: list[str]) -> list[str]:
        name = arg[2:]
        if not name or name[0] in "-=":
            raise FlagError(f"bad flag syntax: {arg}")
        name, has_value, inline = name.partition("=")
        flag = self._by_name.get(name)
        if flag is None:
            raise FlagError(f"unknown flag: --{name}")
        if has_value:
            value = inline
        elif flag.takes_no_argument:
            value = "true"
        elif remaining:
            value = remaining.pop(0)
        else:
            raise FlagError(f"flag needs an argument: {arg}")
        flag.set(value)
        return remaining

    def _parse_short_group(self, shorthands: str, remaining: list[str]) -> list[str]:
        while shorthands:
            letter = shorthands[0]
            flag = self._by_shorthand.get(letter)
            if flag is None:
                raise FlagError(f"unknown shorthand flag: {_go_quote_char(letter)} in -{shorthands}")
            if len(shorthands) > 2 and shorthands[1] == "=":
                value, rest = shorthands[2:], ""
            elif flag.takes_no_argument:
                value, rest = "true", shorthands[1:]
            elif len(shorthands) > 1:
                value, rest = shorthands[1:], ""
            elif remaining:
                value, rest = remaining.pop(0), ""
            else:
                raise FlagError(f"flag needs an argument: {_go_quote_char(letter)} in -{shorthands}")
            flag.set(value)
            shorthands = rest
        return remaining

    def missing_required(self) -> list[str]:
        """Names of required flags that were not given, in pflag's sorted order."""
        return [flag.name for flag in self if flag.required and not flag.changed]


def _go_quote_char(letter: str) -> str:
    # Go's %q on a byte prints a single-quoted character literal.
    if letter == "'":
        return "'\\''"
    if letter == "\\":
        return "'\\\\'"
    return f"'{letter}'"
