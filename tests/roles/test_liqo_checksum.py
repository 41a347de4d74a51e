"""The liqo role installs liqoctl only when the downloaded archive matches its checksum."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import artifacts  # noqa: E402 - a script next to this test, not a package
from roletest import run_playbook  # noqa: E402


@pytest.fixture
def artifact_server(tmp_path):
    state = artifacts.start(tmp_path / "server")
    yield state
    artifacts.stop(tmp_path / "server")


def liqo_vars(tmp_path: Path, server: dict, checksum: str) -> dict:
    # Every path under tmp_path, so the role running on this machine touches nothing else.
    return {
        "liqo_liqoctl_url": f"{server['url']}/liqoctl-linux-amd64.tar.gz",
        "liqo_liqoctl_checksum": checksum,
        "liqo_liqoctl_install_dir": str(tmp_path / "opt"),
        "liqo_liqoctl_path": str(tmp_path / "bin" / "liqoctl"),
        "liqo_liqoctl_download_dir": str(tmp_path / "cache"),
    }


ROLE = [{"ansible.builtin.include_role": {"name": "oss_mlops.multicloud.liqo"}}]


def test_bad_checksum_fails_before_install(tmp_path, artifact_server):
    (tmp_path / "bin").mkdir()
    result = run_playbook(tmp_path, ROLE, liqo_vars(tmp_path, artifact_server, "sha256:" + "0" * 64))
    assert result.returncode != 0
    assert "checksum" in result.stdout.lower()
    assert not (tmp_path / "bin" / "liqoctl").exists()
    assert not (tmp_path / "opt" / "v1.0.3" / "liqoctl").exists()


def test_good_checksum_installs_once(tmp_path, artifact_server):
    (tmp_path / "bin").mkdir()
    variables = liqo_vars(tmp_path, artifact_server, artifact_server["checksums"]["liqoctl-linux-amd64.tar.gz"])
    first = run_playbook(tmp_path, ROLE + [{"ansible.builtin.debug": {"msg": "done"}}], variables)
    assert first.returncode == 0, first.stdout
    assert (tmp_path / "bin" / "liqoctl").resolve() == tmp_path / "opt" / "v1.0.3" / "liqoctl"

    second = run_playbook(tmp_path, ROLE, variables)
    assert second.returncode == 0, second.stdout
    assert "changed=0" in second.stdout, json.dumps(second.stdout)
