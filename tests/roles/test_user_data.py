"""The user data of vm_bootstrap: rendered by the role, then checked by Debian 12's own cloud-init."""

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))

import rootfs  # noqa: E402 - a script next to this test, not a package
from roletest import run_playbook  # noqa: E402

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxvb3BiYWNrLW9ubHktdGVzdC1rZXk admin@example.org"


def render_tasks(dest: Path) -> list:
    return [
        {"ansible.builtin.include_role": {"name": "oss_mlops.multicloud.vm_bootstrap", "tasks_from": "user_data"}},
        {"ansible.builtin.copy": {"content": "{{ vm_bootstrap_user_data }}", "dest": str(dest), "mode": "0600"}},
    ]


def test_user_data_passes_cloud_init_schema(tmp_path, chroot_capable):
    user_data = tmp_path / "user-data"
    result = run_playbook(tmp_path, render_tasks(user_data), {"vm_bootstrap_ssh_authorized_keys": [KEY]})
    assert result.returncode == 0, result.stdout

    schema = rootfs.cloud_init_schema(user_data)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    assert "Valid cloud-config" in schema.stdout


def test_cloud_init_schema_rejects_wrong_types(tmp_path, chroot_capable):
    user_data = tmp_path / "user-data"
    user_data.write_text("#cloud-config\npackages: 5\n")
    schema = rootfs.cloud_init_schema(user_data)
    assert schema.returncode != 0
    assert "packages" in schema.stdout + schema.stderr


def test_user_data_content(tmp_path):
    user_data = tmp_path / "user-data"
    result = run_playbook(tmp_path, render_tasks(user_data),
                          {"vm_bootstrap_ssh_authorized_keys": [KEY], "vm_bootstrap_admin_user": "ops"})
    assert result.returncode == 0, result.stdout
    text = user_data.read_text()
    assert text.startswith("#cloud-config\n")
    config = yaml.safe_load(text)
    assert config["users"][0]["name"] == "ops"
    assert config["users"][0]["ssh_authorized_keys"] == [KEY]
    assert config["ssh_pwauth"] is False
    assert "python3" in config["packages"]


def test_user_data_rejects_missing_keys(tmp_path):
    result = run_playbook(tmp_path, render_tasks(tmp_path / "user-data"), {})
    assert result.returncode != 0
    assert "Set vm_bootstrap_ssh_authorized_keys" in result.stdout


def test_user_data_rejects_private_key(tmp_path):
    result = run_playbook(tmp_path, render_tasks(tmp_path / "user-data"),
                          {"vm_bootstrap_ssh_authorized_keys": ["-----BEGIN OPENSSH PRIVATE KEY-----"]})
    assert result.returncode != 0
    assert "not public keys: 1" in result.stdout


def test_user_data_rejects_root_user(tmp_path):
    result = run_playbook(tmp_path, render_tasks(tmp_path / "user-data"),
                          {"vm_bootstrap_ssh_authorized_keys": [KEY], "vm_bootstrap_admin_user": "root"})
    assert result.returncode != 0
    assert "other than root" in result.stdout


def test_user_data_size_limit(tmp_path):
    result = run_playbook(tmp_path, render_tasks(tmp_path / "user-data"),
                          {"vm_bootstrap_ssh_authorized_keys": [KEY] * 20, "vm_bootstrap_user_data_max_bytes": 1024})
    assert result.returncode != 0
    assert "more than vm_bootstrap_user_data_max_bytes (1024)" in result.stdout
