# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_install_spec as spec


def test_cluster_id_accepts_dns_label():
    spec.validate_cluster_id("verda-v100-1")


@pytest.mark.parametrize("cluster_id", ["", "-gpu", "gpu-", "GPU", "gpu_1", "gpu.1", None])
def test_cluster_id_rejects_non_label(cluster_id):
    with pytest.raises(ValueError, match="is not a DNS-1123 label"):
        spec.validate_cluster_id(cluster_id)


def test_cluster_id_tenant_namespace_limit():
    spec.validate_cluster_id("a" * 51)
    with pytest.raises(ValueError, match="so use at most 51"):
        spec.validate_cluster_id("a" * 52)


def test_networks_accept_disjoint_ranges():
    spec.validate_networks("10.244.0.0/16", "10.96.0.0/16", ["172.18.0.0/16", "192.168.0.0/24"])


@pytest.mark.parametrize(("pod", "service", "reserved", "message"), [
    ("10.244.0.0/16", "10.244.128.0/20", [], "pod_cidr 10.244.0.0/16 and service_cidr 10.244.128.0/20 overlap"),
    ("10.0.0.0/8", "10.96.0.0/16", [], "overlap"),
    ("10.244.0.0/16", "10.96.0.0/16", ["10.244.3.0/24"], "entry 10.244.3.0/24 overlaps pod_cidr 10.244.0.0/16"),
    ("10.244.0.0/16", "10.96.0.0/16", ["10.0.0.0/8"], "entry 10.0.0.0/8 overlaps pod_cidr"),
    ("10.244.0.0/16", "10.96.0.0/16", ["10.96.0.0/16"], "overlaps service_cidr 10.96.0.0/16"),
    ("10.244.0.0", "10.96.0.0/16", [], None),
    ("10.244.0.0/16", "10.96.0.5/16", [], "did you mean 10.96.0.0/16?"),
    ("pods", "10.96.0.0/16", [], "pod_cidr 'pods' is not a valid CIDR"),
    ("10.244.0.0/16", "10.96.0.0/16", ["172.18.0.0/16", "172.18.0.0/16"], "lists 172.18.0.0/16 twice"),
])
def test_networks_rejected(pod, service, reserved, message):
    if message is None:
        # A bare address is a valid /32 network for Python, and it does not overlap here.
        spec.validate_networks(pod, service, reserved)
        return
    with pytest.raises(ValueError, match=message.replace("?", r"\?")):
        spec.validate_networks(pod, service, reserved)


@pytest.mark.parametrize("url", ["https://203.0.113.10:6443", "https://gpu.example.org", "https://127.10.1.1:6443",
                                 "https://[2001:db8::1]:6443"])
def test_api_server_url_accepted(url):
    spec.validate_api_server_url(url)


@pytest.mark.parametrize(("url", "message"), [
    ("https://localhost:6443", "points at localhost"),
    ("https://127.0.0.1:6443", "points at 127.0.0.1"),
    ("https://0.0.0.0:6443", "points at 0.0.0.0"),
    ("https://[::1]:6443", "points at ::1"),
    ("http://203.0.113.10:6443", "is not an https URL"),
    ("203.0.113.10:6443", "is not an https URL"),
    ("https://", "is not an https URL"),
    ("https://a.example,b.example:6443", "contains a comma"),
])
def test_api_server_url_rejected(url, message):
    with pytest.raises(ValueError, match=message):
        spec.validate_api_server_url(url)


def test_cluster_labels_accept_booleans():
    spec.validate_cluster_labels({"liqo.example/gpu": True, "region": "europe"})


@pytest.mark.parametrize(("labels", "message"), [
    ({"bad key": "x"}, "key 'bad key' is not a valid label key"),
    ({"region": "eu,us"}, "value 'eu,us' of 'region' is not a valid label value"),
    ({"region": "x" * 64}, "is not a valid label value"),
])
def test_cluster_labels_rejected(labels, message):
    with pytest.raises(ValueError, match=message):
        spec.validate_cluster_labels(labels)


def test_expected_labels_add_provider():
    assert spec.expected_cluster_labels("k3s", {"gpu": True}) == {"gpu": "true", "liqo.io/provider": "k3s"}


def test_expected_labels_generic_has_no_provider():
    assert spec.expected_cluster_labels("generic", {}) == {}


@pytest.mark.parametrize(("installed", "requested", "order"), [
    ([], ["10.1.0.0/16"], ["10.1.0.0/16"]),
    (["10.1.0.0/16"], ["10.2.0.0/16", "10.1.0.0/16"], ["10.1.0.0/16", "10.2.0.0/16"]),
    (["10.1.0.0/16", "10.2.0.0/16"], ["10.1.0.0/16"], ["10.1.0.0/16"]),
    (["10.1.0.0/16", "10.2.0.0/16"], [], []),
    (["10.1.0.0/16", "10.2.0.0/16"], ["10.2.0.0/16", "10.1.0.0/16"], ["10.1.0.0/16", "10.2.0.0/16"]),
])
def test_plan_reserved_subnets_keeps_positions(installed, requested, order):
    assert spec.plan_reserved_subnets(installed, requested) == order


def test_plan_reserved_subnets_rejects_middle_removal():
    with pytest.raises(ValueError, match="removes 10.1.0.0/16, which is not at the end"):
        spec.plan_reserved_subnets(["10.1.0.0/16", "10.2.0.0/16"], ["10.2.0.0/16"])


@pytest.mark.parametrize(("installed", "requested"), [
    (["192.168.100.0/24"], ["192.168.200.0/24"]),
    (["10.1.0.0/16", "10.2.0.0/16"], ["10.1.0.0/16", "10.3.0.0/16"]),
])
def test_plan_reserved_subnets_rejects_replacing_last(installed, requested):
    with pytest.raises(ValueError, match="in one run; Liqo's reserved-N Network objects cannot change their CIDR"):
        spec.plan_reserved_subnets(installed, requested)


PARAMS = {
    "provider": "k3s",
    "cluster_id": "verda-v100-1",
    "pod_cidr": "10.150.0.0/16",
    "service_cidr": "10.151.0.0/16",
    "api_server_url": "https://127.10.1.1:6443",
    "cluster_labels": {"zone": "b", "gpu": True},
    "disable_telemetry": True,
    "timeout": 600,
}
PLAN = {"liqo_namespace": "liqo", "access_flags": ["--kubeconfig", "/k"], "version": "v1.0.3",
        "reserved_subnets": ["192.168.1.0/24", "192.168.2.0/24"], "values_file": "/tmp/v.yaml"}


def test_install_argv_k3s():
    assert spec.install_argv(PARAMS, PLAN) == [
        "install", "k3s", "-n", "liqo", "--kubeconfig", "/k", "--cluster-id", "verda-v100-1", "--version", "v1.0.3",
        "--reserved-subnets", "192.168.1.0/24,192.168.2.0/24", "--pod-cidr", "10.150.0.0/16",
        "--service-cidr", "10.151.0.0/16", "--api-server-url", "https://127.10.1.1:6443",
        "--cluster-labels", "gpu=true,zone=b", "--disable-telemetry", "--values", "/tmp/v.yaml",
        "--timeout", "600s", "--skip-confirm",
    ]


@pytest.mark.parametrize("provider", ["kind", "kubeadm"])
def test_install_argv_sets_values_without_flags(provider):
    argv = spec.install_argv(dict(PARAMS, provider=provider), dict(PLAN, values_file=None))

    assert argv[1] == provider
    assert "--pod-cidr" not in argv
    assert argv[argv.index("--set") : argv.index("--set") + 6] == [
        "--set", "ipam.podCIDR=10.150.0.0/16", "--set", "ipam.serviceCIDR=10.151.0.0/16",
        "--set", "apiServer.address=https://127.10.1.1:6443"]
    assert "--values" not in argv
