# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import os

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo


def test_parse_client_version():
    assert liqo.parse_client_version("Client version: v1.0.3\n") == "v1.0.3"
    assert liqo.parse_client_version("\x1b[1mClient version:\x1b[0m v1.0.3\nServer version: v1.0.3\n") == "v1.0.3"
    assert liqo.parse_client_version("liqoctl v1.0.3") is None


@pytest.mark.parametrize(("version", "normalized"), [("v1.0.3", "v1.0.3"), ("1.0.3", "v1.0.3"), (" v1.0.3 ", "v1.0.3")])
def test_normalize_version(version, normalized):
    assert liqo.normalize_version(version) == normalized


def test_parse_info_json_skips_leading_text():
    assert liqo.parse_info_json('WARN collection error\n{"local": {"clusterID": "c"}}\n') == {
        "local": {"clusterID": "c"}}


def test_parse_info_json_without_object():
    with pytest.raises(ValueError, match="no JSON object"):
        liqo.parse_info_json("ERRO something\n")


def test_stderr_summary_strips_colour_and_spinner_frames():
    stderr = "\x1b[31mERRO\x1b[0m  first\r\n\n" + "".join(f"line {index}\n" for index in range(30))

    summary = liqo.stderr_summary(stderr)

    assert "\x1b" not in summary
    assert summary.splitlines()[0] == "line 15"
    assert summary.splitlines()[-1] == "line 29"


def test_resolve_kubeconfig_default():
    assert liqo.resolve_kubeconfig(None) == os.path.expanduser("~/.kube/config")
    assert liqo.resolve_kubeconfig("/etc/k") == "/etc/k"


def test_connection_flags():
    connection = liqo.ClusterConnection("/k", "ctx", "liqo", "provider")

    assert connection.flags() == ["--kubeconfig", "/k", "--context", "ctx"]
    assert connection.flags("remote-") == ["--remote-kubeconfig", "/k", "--remote-context", "ctx"]
    assert connection.describe() == "the provider cluster (kubeconfig /k, context ctx)"


def test_connection_without_context():
    connection = liqo.ClusterConnection("/k", None, "liqo", "")

    assert connection.flags() == ["--kubeconfig", "/k"]
    assert connection.describe() == "the cluster (kubeconfig /k)"


def test_argument_spec_keeps_shared_options():
    spec = liqo.liqo_argument_spec({"state": {"type": "str"}})

    assert set(spec) == {"kubeconfig", "context", "liqoctl_path", "liqoctl_version", "liqo_namespace", "state"}
    assert spec["liqoctl_version"]["default"] == "v1.0.3"
    assert liqo.LIQO_COMMON_ARGUMENT_SPEC.get("state") is None
