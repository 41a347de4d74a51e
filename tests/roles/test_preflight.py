"""Each role's preflight rejects contradictory input with a message that names the variable to change."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from roletest import run_playbook  # noqa: E402


def preflight(role: str, gather: bool = False) -> list:
    tasks = [{"ansible.builtin.setup": {"gather_subset": ["min", "hardware", "network"]}}] if gather else []
    include = {"name": f"oss_mlops.multicloud.{role}", "tasks_from": "preflight"}
    return tasks + [{"ansible.builtin.include_role": include}]


K3S_OK = {"k3s_pod_cidr": "10.150.0.0/16", "k3s_service_cidr": "10.151.0.0/16", "k3s_public_address": "198.51.100.20"}
KUBEADM_OK = {"kubeadm_pod_cidr": "10.150.0.0/16", "kubeadm_service_cidr": "10.151.0.0/16"}
VM_OK = {"vm_bootstrap_min_free_disk_gb": 0, "vm_bootstrap_firewall_interface": "eth0"}

# case name: (role, gather facts first, variables, part of the expected message)
# NOTE: vm_bootstrap's SSH port check applies to SSH connections only, and these tests connect locally.
CASES = {
    "k3s equal CIDRs": (
        "k3s", False, {**K3S_OK, "k3s_service_cidr": "10.150.0.0/16"},
        "Set k3s_pod_cidr and k3s_service_cidr to two different IPv4 CIDRs"),
    "k3s missing CIDRs": (
        "k3s", False, {"k3s_public_address": "198.51.100.20"},
        "Set k3s_pod_cidr and k3s_service_cidr"),
    "k3s certificate lacks API host": (
        "k3s", False, {**K3S_OK, "liqo_cluster_api_server_url": "https://provider.example.org:6443"},
        "Set k3s_public_address to 'provider.example.org' or add it to k3s_tls_san"),
    "k3s air-gapped with checksum URL": (
        "k3s", False, {**K3S_OK, "k3s_airgap": True, "k3s_airgap_artifact_dir": "/srv"},
        "a checksum URL cannot be read offline"),
    "k3s URL of another version": (
        "k3s", False, {**K3S_OK, "k3s_binary_url": "https://example.org/v1.30.0+k3s1/k3s"},
        "does not name k3s_version"),
    "kubeadm without CNI checksum": (
        "kubeadm", False, KUBEADM_OK,
        "Set kubeadm_cni_manifest_checksum"),
    "kubeadm package of other release": (
        "kubeadm", False, {**KUBEADM_OK, "kubeadm_package_version": "1.30.2-1.1"},
        "must name the same release"),
    "vm_bootstrap bridge without module": (
        "vm_bootstrap", True, {**VM_OK, "vm_bootstrap_kernel_modules": ["overlay"]},
        "Add br_netfilter to vm_bootstrap_kernel_modules"),
    "vm_bootstrap too little disk": (
        "vm_bootstrap", True, {**VM_OK, "vm_bootstrap_min_free_disk_gb": 1000000},
        "lower vm_bootstrap_min_free_disk_gb"),
    "nvidia_gpu Ubuntu packages on Debian": (
        "nvidia_gpu", True, {"nvidia_gpu_kubeconfig": "/dev/null"},
        "On Debian 12 enable the non-free component"),
}


def controller_is_debian() -> bool:
    os_release = Path("/etc/os-release")
    return os_release.is_file() and "ID=debian" in os_release.read_text().splitlines()


@pytest.mark.parametrize("case", sorted(CASES))
def test_preflight_rejects(tmp_path, case):
    role, gather, variables, message = CASES[case]
    if case.endswith("on Debian") and not controller_is_debian():
        pytest.skip("this case reads the controller's own distribution, which is not Debian")
    result = run_playbook(tmp_path, preflight(role, gather), variables)
    assert result.returncode != 0, result.stdout
    assert message in " ".join(result.stdout.split()), result.stdout[-3000:]
