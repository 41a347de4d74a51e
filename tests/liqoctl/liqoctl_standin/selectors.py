"""Kubernetes label selectors (k8s.io/apimachinery labels.Parse) and node selector matching.

liqoctl turns each `offload namespace -l/--selector` value into one NodeSelectorTerm: metav1.ParseToLabelSelector
parses it (requirements sorted by key, In/NotIn values sorted), then the equality requirements are appended as In
expressions after the set-based ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import goformat


class SelectorError(ValueError):
    """The selector text is invalid."""


@dataclass
class Requirement:
    """One parsed requirement: key, operator (=, ==, !=, in, notin, exists, !, gt, lt) and values."""

    key: str
    operator: str
    values: list[str]


_SPECIAL = set("!=(),<> \t\r\n")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _tokens(text: str) -> list[str]:
    tokens = []
    position = 0
    while position < len(text):
        char = text[position]
        if char in " \t\r\n":
            position += 1
        elif text.startswith(("!=", "=="), position):
            tokens.append(text[position : position + 2])
            position += 2
        elif char in "!=(),<>":
            tokens.append(char)
            position += 1
        else:
            end = position
            while end < len(text) and text[end] not in _SPECIAL:
                end += 1
            tokens.append(text[position:end])
            position = end
    return tokens


def _validate_key(key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        raise SelectorError(f"unable to parse requirement: invalid label key {goformat.quote(key)}")
    if not name or len(name) > 63 or not _QUALIFIED_NAME.fullmatch(name):
        raise SelectorError(f"unable to parse requirement: invalid label key {goformat.quote(key)}")


def _validate_value(value: str) -> None:
    if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        raise SelectorError(f"unable to parse requirement: invalid label value: {goformat.quote(value)}")


def parse(text: str) -> list[Requirement]:
    """Parse a selector into requirements sorted by key, as labels.Parse returns them."""
    tokens = _tokens(text)
    requirements: list[Requirement] = []
    position = 0
    while position < len(tokens):
        requirement, position = _parse_requirement(tokens, position)
        requirements.append(requirement)
        if position < len(tokens):
            if tokens[position] != ",":
                raise SelectorError(f"found {goformat.quote(tokens[position])}, expected: ',' or 'end of string'")
            position += 1
            if position == len(tokens):
                raise SelectorError("found '', expected: identifier after ','")
    requirements.sort(key=lambda item: item.key)
    return requirements


def _parse_requirement(tokens: list[str], position: int) -> tuple[Requirement, int]:
    if tokens[position] == "!":
        key = tokens[position + 1] if position + 1 < len(tokens) else ""
        _validate_key(key)
        return Requirement(key, "!", []), position + 2
    key = tokens[position]
    if key in _SPECIAL or key in ("==", "!="):
        raise SelectorError(f"found {goformat.quote(key)}, expected: !, identifier, or 'end of string'")
    _validate_key(key)
    position += 1
    if position == len(tokens) or tokens[position] == ",":
        return Requirement(key, "exists", []), position
    operator = tokens[position]
    position += 1
    if operator in ("in", "notin"):
        values, position = _parse_set(tokens, position)
        return Requirement(key, operator, sorted(set(values))), position
    if operator in ("=", "==", "!=", ">", "<"):
        value = tokens[position] if position < len(tokens) and tokens[position] not in _SPECIAL else ""
        if value == "" and position < len(tokens) and tokens[position] not in (",",):
            raise SelectorError(f"found {goformat.quote(tokens[position])}, expected: identifier")
        if value:
            position += 1
        if operator in (">", "<") and not re.fullmatch(r"-?[0-9]+", value):
            raise SelectorError(
                f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {value}"
            )
        _validate_value(value)
        names = {"=": "=", "==": "==", "!=": "!=", ">": "gt", "<": "lt"}
        return Requirement(key, names[operator], [value]), position
    raise SelectorError(f"found {goformat.quote(operator)}, expected: in, notin, =, ==, !=, gt, lt")


def _parse_set(tokens: list[str], position: int) -> tuple[list[str], int]:
    if position >= len(tokens) or tokens[position] != "(":
        found = tokens[position] if position < len(tokens) else ""
        raise SelectorError(f"found {goformat.quote(found)}, expected: '('")
    position += 1
    values: list[str] = []
    expect_value = True
    while position < len(tokens) and tokens[position] != ")":
        token = tokens[position]
        if token == ",":
            if expect_value:
                values.append("")
            expect_value = True
        else:
            _validate_value(token)
            values.append(token)
            expect_value = False
        position += 1
    if position >= len(tokens):
        raise SelectorError("found '', expected: ')'")
    if expect_value and values:
        values.append("")
    return values, position + 1


def to_match_expressions(text: str) -> list[dict]:
    """Convert one --selector value into NodeSelectorRequirements the way liqoctl v1.0.3 does."""
    try:
        requirements = parse(text)
    except SelectorError as error:
        raise SelectorError(f"couldn't parse the selector string {goformat.quote(text)}: {error}") from None
    expressions: list[dict] = []
    match_labels: dict[str, str] = {}
    for requirement in requirements:
        if requirement.operator in ("=", "=="):
            match_labels[requirement.key] = requirement.values[0]
        elif requirement.operator in ("!=", "gt", "lt"):
            names = {"!=": "!=", "gt": "gt", "lt": "lt"}
            raise SelectorError(f"{goformat.quote(names[requirement.operator])} isn't supported in label selectors")
        else:
            operator = {"in": "In", "notin": "NotIn", "exists": "Exists", "!": "DoesNotExist"}[requirement.operator]
            expression = {"key": requirement.key, "operator": operator}
            if requirement.values:
                expression["values"] = requirement.values
            expressions.append(expression)
    # liqoctl iterates a Go map here, so its order is random; the stand-in sorts the keys for stable output.
    for key in sorted(match_labels):
        expressions.append({"key": key, "operator": "In", "values": [match_labels[key]]})
    return expressions


def requirement_matches(expression: dict, labels: dict[str, str]) -> bool:
    """Evaluate one NodeSelectorRequirement against node labels."""
    key = expression["key"]
    operator = expression["operator"]
    values = expression.get("values") or []
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(values) == 1:
        try:
            left, right = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return left > right if operator == "Gt" else left < right
    return False


def node_selector_matches(selector: dict, labels: dict[str, str]) -> bool:
    """Evaluate a NodeSelector: terms are ORed, expressions inside a term ANDed; no terms selects everything."""
    terms = selector.get("nodeSelectorTerms") or []
    if not terms:
        return True
    for term in terms:
        expressions = term.get("matchExpressions") or []
        if expressions and all(requirement_matches(expression, labels) for expression in expressions):
            return True
    return False
