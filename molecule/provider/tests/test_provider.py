"""Check what vm_bootstrap, k3s and liqo left in the Debian 12 chroot."""

import os
import stat
from pathlib import Path

import pytest
import yaml


# One command per check, because every command is a separate Ansible run through the chroot connection.
def test_base_packages_installed(host):
    packages = ["nftables", "chrony", "conntrack", "curl", "gnupg", "iptables"]
    query = "dpkg-query --show --showformat '${Package} ${db:Status-Status}\\n' "
    status = host.check_output(query + " ".join(packages))
    assert sorted(status.splitlines()) == sorted(f"{package} installed" for package in packages)


def test_kernel_modules_configured(host):
    config = host.file("/etc/modules-load.d/oss-mlops-provider.conf")
    modules = [line for line in config.content_string.splitlines() if line and not line.startswith("#")]
    assert modules == ["br_netfilter", "overlay", "wireguard", "geneve"]


def test_kernel_parameters_configured(host):
    config = host.file("/etc/sysctl.d/90-oss-mlops-provider.conf").content_string
    assert "net.ipv4.ip_forward = 1" in config
    assert "net.bridge.bridge-nf-call-iptables = 1" in config


def test_firewall_rules_allow_only_listed_ports(host):
    rules = host.file("/etc/nftables.d/oss-mlops-provider.nft").content_string
    assert 'iifname != "eth0" accept' in rules
    assert "tcp dport { 22, 6443 } accept" in rules
    assert "udp dport { 51840 } accept" in rules
    assert rules.rstrip().endswith("}")


def test_firewall_rules_parse(host):
    # --check parses against the kernel of the machine running the tests and loads nothing.
    result = host.run("nft --check --file /etc/nftables.d/oss-mlops-provider.nft")
    if "Operation not permitted" in result.stderr or "Protocol not supported" in result.stderr:
        pytest.skip(f"nftables is not usable on this kernel: {result.stderr.strip()}")
    assert result.rc == 0, result.stderr


def test_units_enabled(host):
    units = ["chrony.service", "oss-mlops-provider-firewall.service", "k3s.service"]
    states = host.run("systemctl is-enabled " + " ".join(units)).stdout.split()
    assert states == ["enabled"] * len(units)


def test_k3s_config_has_allocated_cidrs(host):
    config = host.file("/etc/rancher/k3s/config.yaml")
    assert config.mode == 0o600
    assert "cluster-cidr: 10.150.0.0/16" in config.content_string
    assert "service-cidr: 10.151.0.0/16" in config.content_string
    assert "- 198.51.100.20" in config.content_string


def test_k3s_binary_installed(host):
    assert host.run("/usr/local/bin/k3s --version").stdout.startswith("k3s version v1.31.4+k3s1")


def test_liqoctl_installed(host):
    assert host.file("/usr/local/bin/liqoctl").linked_to == "/opt/liqoctl/v1.0.3/liqoctl"
    assert host.run("liqoctl version --client").stdout.strip() == "Client version: v1.0.3"


def test_kubeconfig_fetched_with_public_server():
    # The kubeconfig lands on the controller, which is the machine running this test.
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "kubeconfigs" / "provider.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kubeconfig = yaml.safe_load(path.read_text())
    assert [cluster["cluster"]["server"] for cluster in kubeconfig["clusters"]] == ["https://198.51.100.20:6443"]
    assert kubeconfig["users"][0]["user"]["client-key-data"] == "c3RhbmQtaW4="
