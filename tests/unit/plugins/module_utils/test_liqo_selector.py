# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_selector import (
    SelectorError,
    normalize_terms,
    parse_selector_term,
    selector_terms,
    terms_equal,
)

# Expected requirements: the output of k8s.io/apimachinery v0.36.3 metav1.ParseToLabelSelector for each
# string, with MatchLabels turned into `In` requirements as liqoctl v1.0.3 does. A Go program run
# against the real function produced the same tables. Order inside a term does not matter.
CONVERSIONS = [
    ("a=b", [("a", "In", ["b"])]),
    ("a==b", [("a", "In", ["b"])]),
    ("a", [("a", "Exists", [])]),
    ("!a", [("a", "DoesNotExist", [])]),
    ("a in (y, x)", [("a", "In", ["x", "y"])]),
    ("a notin (x)", [("a", "NotIn", ["x"])]),
    ("a=", [("a", "In", [""])]),
    ("a in ()", [("a", "In", [""])]),
    ("a in (,)", [("a", "In", [""])]),
    ("a in (x,)", [("a", "In", ["", "x"])]),
    ("x in (in)", [("x", "In", ["in"])]),
    ("in in (notin)", [("in", "In", ["notin"])]),
    ("a=notin", [("a", "In", ["notin"])]),
    ("  a  =  b  ", [("a", "In", ["b"])]),
    ("a.b/c-D=E_f", [("a.b/c-D", "In", ["E_f"])]),
    ("a==", [("a", "In", [""])]),
    ("liqo.io/remote-cluster-id=verda-v100-1", [("liqo.io/remote-cluster-id", "In", ["verda-v100-1"])]),
    ("liqo.example/gpu=true,region in (europe,us-west)",
     [("liqo.example/gpu", "In", ["true"]), ("region", "In", ["europe", "us-west"])]),
    ("region in (europe,us-west), !staging",
     [("region", "In", ["europe", "us-west"]), ("staging", "DoesNotExist", [])]),
    ("a notin (x),a in (y)", [("a", "NotIn", ["x"]), ("a", "In", ["y"])]),
    ("a in (x),b notin (y,z),!c,d",
     [("a", "In", ["x"]), ("b", "NotIn", ["y", "z"]), ("c", "DoesNotExist", []), ("d", "Exists", [])]),
]

# Strings the real parser rejects too, with the reason this parser gives.
REJECTED = [
    ("a!=b", "write 'a notin (value)'"),
    ("a>1", "'>' is not supported"),
    ("a<2", "'<' is not supported"),
    ("a=b=c", "expected ',' or the end of the selector"),
    ("a=(b)", "expected a value"),
    ("a in x", "expected '(' after the operator of 'a'"),
    ("a in (x y)", "in the value list of 'a'"),
    ("-a=b", "'-a' is not a valid label key"),
    ("a/b/c=d", "'a/b/c' is not a valid label key"),
    ("a=b,", "expected a requirement after ','"),
    (",a=b", "expected a label key or '!'"),
    ("a,,b", "expected a requirement after ','"),
    ("!a=b", "'!a' cannot be followed by an operator"),
    ("!!a", "expected a label key"),
    ("key with space=1", "found 'with', expected one of =, ==, in, notin"),
    ("A.b/c=d", "'A.b/c' is not a valid label key"),
    ("a=" + "v" * 64, "is not a valid value for 'a'"),
    ("k" * 64 + "=v", "is not a valid label key"),
    ("a!", "expected one of =, ==, in, notin"),
]


def as_tuples(term):
    return sorted((e["key"], e["operator"], e.get("values", [])) for e in term["matchExpressions"])


@pytest.mark.parametrize(("selector", "requirements"), CONVERSIONS)
def test_selector_conversion_matches_liqoctl(selector, requirements):
    assert as_tuples(parse_selector_term(selector)) == sorted(requirements)


@pytest.mark.parametrize(("selector", "reason"), REJECTED)
def test_selector_rejected_like_liqoctl(selector, reason):
    with pytest.raises(SelectorError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_selector_term(selector)


def test_selector_empty_string_rejected():
    # liqoctl would write a term without requirements, which selects no cluster.
    with pytest.raises(SelectorError, match="a cluster selector string is empty"):
        parse_selector_term("")


def test_selector_repeated_equality_rejected():
    # liqoctl keeps one value of a key given twice with '=', chosen by an unstable sort.
    with pytest.raises(SelectorError, match="'a' is matched with '=' twice"):
        parse_selector_term("a=b,a=c")


def test_selector_values_omitted_for_exists():
    assert parse_selector_term("gpu") == {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}


def test_selector_terms_one_per_string():
    terms = selector_terms(["a=b", "c"])

    assert terms == [{"matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]},
                     {"matchExpressions": [{"key": "c", "operator": "Exists"}]}]


def test_selector_terms_none_is_empty():
    assert selector_terms(None) == []


def test_terms_equal_ignores_order():
    left = [{"matchExpressions": [{"key": "b", "operator": "Exists"},
                                  {"key": "a", "operator": "In", "values": ["y", "x"]}]},
            {"matchExpressions": [{"key": "c", "operator": "DoesNotExist"}]}]
    right = selector_terms(["!c", "a in (x, y),b"])

    assert terms_equal(left, right)


def test_terms_differ_by_operator():
    assert not terms_equal(selector_terms(["a in (x)"]), selector_terms(["a notin (x)"]))


def test_terms_differ_by_grouping():
    # "a,b" (one term: both) is not "a" OR "b".
    assert not terms_equal(selector_terms(["a,b"]), selector_terms(["a", "b"]))


def test_normalize_terms_handles_missing_fields():
    assert normalize_terms([{}, {"matchExpressions": None}]) == [(), ()]
