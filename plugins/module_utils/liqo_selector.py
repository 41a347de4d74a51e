# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn `liqoctl offload namespace -l` strings into the NodeSelectorTerms liqoctl v1.0.3 writes.

liqoctl parses each `-l` string with metav1.ParseToLabelSelector (the Kubernetes label selector
grammar), turns `key=value` into an `In` requirement with one value, keeps `in`, `notin`,
`key` (Exists) and `!key` (DoesNotExist), and makes one NodeSelectorTerm per string. Terms are
ORed, requirements inside a term are ANDed. `!=`, `>` and `<` make liqoctl exit with an error.
Because liqoctl appends the `=` requirements in Go map order, requirement order inside a term
is not stable, so terms are compared as sets.

Two inputs liqoctl accepts are rejected here: an empty string (a term without requirements,
which selects no cluster) and a key matched with `=` twice (liqoctl keeps one value, chosen by
an unstable sort).
"""

from __future__ import annotations

import re

SPECIAL_SYMBOLS = "=!(),<>"
WHITESPACE = " \t\r\n"
KEYWORDS = {"in": "in", "notin": "notin"}
SYMBOL_TOKENS = ("==", "!=", "=", "!", "(", ")", ",", "<", ">")

LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class SelectorError(ValueError):
    """A cluster selector string that liqoctl v1.0.3 would reject."""


def tokenize(selector):
    """Split a label selector into (kind, text) tokens the way the Kubernetes lexer does."""
    tokens = []
    position = 0
    while position < len(selector):
        char = selector[position]
        if char in WHITESPACE:
            position += 1
        elif char in SPECIAL_SYMBOLS:
            symbol = next((s for s in SYMBOL_TOKENS if selector.startswith(s, position)), None)
            if symbol is None:
                raise SelectorError(f"unexpected character {char!r} in selector {selector!r}")
            tokens.append((symbol, symbol))
            position += len(symbol)
        else:
            end = position
            while end < len(selector) and selector[end] not in SPECIAL_SYMBOLS + WHITESPACE:
                end += 1
            word = selector[position:end]
            tokens.append((KEYWORDS.get(word, "identifier"), word))
            position = end
    tokens.append(("end", ""))
    return tokens


class SelectorParser:
    """Recursive-descent parser for one label selector string (one NodeSelectorTerm)."""

    def __init__(self, selector):
        self.selector = selector
        self.tokens = tokenize(selector)
        self.position = 0
        # Keys matched with '=' or '==': liqoctl stores them in a map, so a repeated key keeps one value.
        self.equality_keys = set()

    def peek(self, as_value=False):
        kind, text = self.tokens[self.position]
        if as_value and kind in ("in", "notin"):
            kind = "identifier"
        return kind, text

    def take(self, as_value=False):
        token = self.peek(as_value)
        self.position += 1
        return token

    def fail(self, problem):
        raise SelectorError(f"invalid cluster selector {self.selector!r}: {problem}")

    def parse(self):
        """Return the requirements of the selector as (key, operator, values) tuples."""
        requirements = []
        while True:
            kind, text = self.peek(as_value=True)
            if kind == "end":
                return requirements
            if kind not in ("identifier", "!"):
                self.fail(f"found {text!r}, expected a label key or '!'")
            requirements.append(self.parse_requirement())
            kind, text = self.take(as_value=True)
            if kind == "end":
                return requirements
            if kind != ",":
                self.fail(f"found {text!r}, expected ',' or the end of the selector")
            if self.peek(as_value=True)[0] not in ("identifier", "!"):
                self.fail("expected a requirement after ','")

    def parse_requirement(self):
        negated = self.peek(as_value=True)[0] == "!"
        if negated:
            self.take()
        kind, key = self.take(as_value=True)
        if kind != "identifier":
            self.fail(f"found {key!r}, expected a label key")
        validate_label_key(key, self.selector)
        if self.peek(as_value=True)[0] in (",", "end"):
            return (key, "DoesNotExist" if negated else "Exists", ())
        if negated:
            self.fail(f"'!{key}' cannot be followed by an operator")
        return self.parse_operator_and_values(key)

    def parse_operator_and_values(self, key):
        kind, text = self.take()
        if kind in ("=", "=="):
            if key in self.equality_keys:
                self.fail(f"{key!r} is matched with '=' twice; liqoctl keeps only one of the values, so give it once")
            self.equality_keys.add(key)
            return (key, "In", (self.parse_exact_value(key),))
        if kind in ("in", "notin"):
            return (key, "In" if kind == "in" else "NotIn", self.parse_value_set(key))
        if kind == "!=":
            self.fail(f"'!=' is not accepted by liqoctl v1.0.3 cluster selectors; write '{key} notin (value)'")
        if kind in ("<", ">"):
            self.fail(f"{text!r} is not supported in label selectors")
        self.fail(f"found {text!r}, expected one of =, ==, in, notin")
        return None

    def parse_exact_value(self, key):
        kind, text = self.peek(as_value=True)
        if kind in (",", "end"):
            return ""
        self.take(as_value=True)
        if kind != "identifier":
            self.fail(f"found {text!r}, expected a value")
        validate_label_value(key, text, self.selector)
        return text

    def parse_value_set(self, key):
        if self.take()[0] != "(":
            self.fail(f"expected '(' after the operator of {key!r}")
        values = set()
        expect_value = True
        while True:
            kind, text = self.take(as_value=True)
            if kind == ")":
                if expect_value:
                    values.add("")
                return tuple(sorted(values))
            if kind == "identifier" and expect_value:
                validate_label_value(key, text, self.selector)
                values.add(text)
                expect_value = False
            elif kind == ",":
                if expect_value:
                    values.add("")
                expect_value = True
            else:
                self.fail(f"found {text!r} in the value list of {key!r}")


def validate_label_key(key, selector):
    """Raise SelectorError unless key is a valid label key ([prefix/]name)."""
    prefix, _separator, name = key.rpartition("/")
    valid_name = len(name) <= 63 and LABEL_NAME.match(name)
    valid_prefix = not prefix or (len(prefix) <= 253 and DNS_SUBDOMAIN.match(prefix))
    if not (valid_name and valid_prefix) or key.startswith("/"):
        raise SelectorError(f"invalid cluster selector {selector!r}: {key!r} is not a valid label key")


def validate_label_value(key, value, selector):
    """Raise SelectorError unless value is a valid label value."""
    if value and (len(value) > 63 or not LABEL_NAME.match(value)):
        raise SelectorError(f"invalid cluster selector {selector!r}: {value!r} is not a valid value for {key!r}")


def parse_selector_term(selector):
    """Return the NodeSelectorTerm liqoctl builds from one `-l` string."""
    if not str(selector).strip():
        raise SelectorError("a cluster selector string is empty; remove it or write a label query")
    requirements = SelectorParser(str(selector)).parse()
    return {"matchExpressions": [requirement_to_dict(requirement) for requirement in requirements]}


def requirement_to_dict(requirement):
    key, operator, values = requirement
    expression = {"key": key, "operator": operator}
    if values:
        expression["values"] = list(values)
    return expression


def selector_terms(selectors):
    """Return the NodeSelectorTerms liqoctl builds from a list of `-l` strings (ORed)."""
    return [parse_selector_term(selector) for selector in selectors or []]


def normalize_terms(terms):
    """Return terms in an order-free form, so equal selectors compare equal.

    Each term becomes a sorted tuple of (key, operator, sorted values), and the terms are
    sorted too because they are ORed.
    """
    normalized = []
    for term in terms or []:
        expressions = term.get("matchExpressions") or []
        requirements = sorted(
            (expression.get("key"), expression.get("operator"), tuple(sorted(expression.get("values") or [])))
            for expression in expressions
        )
        normalized.append(tuple(requirements))
    return sorted(normalized)


def terms_equal(left, right):
    """Return whether two lists of NodeSelectorTerms select the same clusters, as liqoctl writes them."""
    return normalize_terms(left) == normalize_terms(right)
