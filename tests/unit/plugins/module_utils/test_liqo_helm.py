# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import base64
import gzip
import json

from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_helm


def release_secret(config, revision, compress=True):
    payload = json.dumps({"name": "liqo", "version": revision, "config": config}).encode()
    if compress:
        payload = gzip.compress(payload)
    helm_encoded = base64.b64encode(payload)
    return {"metadata": {"labels": {"owner": "helm", "name": "liqo", "status": "deployed", "version": str(revision)}},
            "data": {"release": base64.b64encode(helm_encoded).decode()}}


def test_newest_revision_wins():
    secrets = [release_secret({"tag": "v1.0.2"}, 9), release_secret({"tag": "v1.0.3"}, 10)]

    assert liqo_helm.deployed_release_values(secrets) == {"tag": "v1.0.3"}


def test_uncompressed_release_is_read():
    assert liqo_helm.deployed_release_values([release_secret({"a": 1}, 1, compress=False)]) == {"a": 1}


def test_no_release_gives_none():
    assert liqo_helm.deployed_release_values([]) is None


def test_corrupt_release_gives_none():
    secret = {"metadata": {"labels": {"version": "1"}}, "data": {"release": "bm90IGJhc2U2NA=="}}

    assert liqo_helm.deployed_release_values([secret]) is None


class SecretReader:
    def __init__(self, secrets):
        self.secrets = secrets
        self.requests = []

    def list_secrets(self, namespace, label_selector=None):
        self.requests.append((namespace, label_selector))
        return self.secrets


def test_read_release_values_selects_deployed_release():
    reader = SecretReader([release_secret({"x": True}, 1)])

    assert liqo_helm.read_release_values(reader, "liqo") == {"x": True}
    assert reader.requests == [("liqo", "owner=helm,name=liqo,status=deployed")]


def test_values_differences_lists_paths():
    current = {"a": {"b": 1, "c": {"d": "x"}}, "e": [1, 2], "f": "same"}
    requested = {"a": {"b": 2, "c": {"d": "x"}, "new": 1}, "e": [1, 2], "f": "same", "g": {"h": 1}}

    assert liqo_helm.values_differences(requested, current) == ["a.b", "a.new", "g"]


def test_values_differences_empty_when_subset():
    assert liqo_helm.values_differences({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}, "d": 3}) == []


def test_values_differences_dict_replacing_scalar():
    assert liqo_helm.values_differences({"a": {"b": 1}}, {"a": "text"}) == ["a"]


def test_telemetry_enabled():
    assert liqo_helm.telemetry_enabled(None) is None
    assert liqo_helm.telemetry_enabled({}) is True
    assert liqo_helm.telemetry_enabled({"telemetry": {"enabled": False}}) is False


def test_merge_values_nested():
    base = {"a": {"b": 1, "c": 2}, "d": 3}
    overrides = {"a": {"c": 20, "e": 5}, "f": {"g": 1}}

    assert liqo_helm.merge_values(base, overrides) == {"a": {"b": 1, "c": 20, "e": 5}, "d": 3, "f": {"g": 1}}
    assert base == {"a": {"b": 1, "c": 2}, "d": 3}


def test_merge_values_scalar_replaces_dict():
    assert liqo_helm.merge_values({"a": {"b": 1}}, {"a": "x"}) == {"a": "x"}
