"""execution-environment.yml: pinned dependencies, and the build step that downloads liqoctl, kubectl and helm.

The download step runs here with file:// URLs to stand-in archives and /usr/local/bin replaced by a temporary
directory, so its checksum handling is tested without network access or a container build.
"""

import hashlib
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEFINITION = yaml.safe_load((REPO / "execution-environment.yml").read_text())
FINAL_STEPS = DEFINITION["additional_build_steps"]["append_final"]
TOOLS = ("LIQOCTL", "KUBECTL", "HELM")


def build_args():
    """Return the ARG defaults of the final stage, with ${NAME} references expanded."""
    values = {}
    for step in FINAL_STEPS:
        match = re.fullmatch(r"ARG (\w+)=(.*)", step)
        if match:
            values[match[1]] = re.sub(r"\$\{(\w+)\}", lambda ref: values[ref[1]], match[2])
    return values


def download_step():
    return next(step for step in FINAL_STEPS if step.startswith("RUN ") and "sha256sum" in step)[len("RUN "):]


def write_tool(path, output):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(0o755)


def stand_in_artifacts(tmp_path):
    """Write archives shaped like the three release files; return {tool: (file URL, sha256)}."""
    source = tmp_path / "source"
    write_tool(source / "liqoctl", "liqoctl stand-in")
    write_tool(source / "kubectl", "kubectl stand-in")
    write_tool(source / "linux-amd64" / "helm", "helm stand-in")
    files = {"LIQOCTL": tmp_path / "liqoctl.tar.gz", "KUBECTL": source / "kubectl",
             "HELM": tmp_path / "helm.tar.gz"}
    with tarfile.open(files["LIQOCTL"], "w:gz") as archive:
        archive.add(source / "liqoctl", arcname="liqoctl")
    with tarfile.open(files["HELM"], "w:gz") as archive:
        archive.add(source / "linux-amd64" / "helm", arcname="linux-amd64/helm")
    return {tool: (path.as_uri(), hashlib.sha256(path.read_bytes()).hexdigest()) for tool, path in files.items()}


def run_download_step(tmp_path, sums):
    artifacts = stand_in_artifacts(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    for tool in TOOLS:
        env[f"{tool}_URL"] = artifacts[tool][0]
        env[f"{tool}_SHA256"] = sums.get(tool, artifacts[tool][1])
    script = download_step().replace("/usr/local/bin/", f"{bin_dir}/")
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=False), bin_dir


def test_tools_pinned_to_versions():
    args = build_args()

    assert args["LIQOCTL_VERSION"] == "v1.0.3"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", args["KUBECTL_VERSION"])
    assert re.fullmatch(r"v\d+\.\d+\.\d+", args["HELM_VERSION"])
    for tool in TOOLS:
        assert args[f"{tool}_URL"].startswith("https://"), tool
        assert args[f"{tool}_SHA256"] == "", f"{tool}_SHA256 must come from the release page, not a guess"


def test_galaxy_requirements_pinned():
    requirements = yaml.safe_load((REPO / DEFINITION["dependencies"]["galaxy"]).read_text())

    for collection in requirements["collections"]:
        assert re.fullmatch(r"\d+\.\d+\.\d+", collection["version"]), collection["name"]


def test_dependency_files_exist():
    for key in ("python", "system", "galaxy"):
        assert (REPO / DEFINITION["dependencies"][key]).is_file(), key


def test_download_installs_matching_files(tmp_path):
    completed, bin_dir = run_download_step(tmp_path, {})

    assert completed.returncode == 0, completed.stderr
    for tool in ("liqoctl", "kubectl", "helm"):
        assert (bin_dir / tool).is_file(), tool
    assert "helm stand-in" in completed.stdout


@pytest.mark.parametrize("tool", TOOLS)
def test_download_rejects_wrong_checksum(tmp_path, tool):
    completed, bin_dir = run_download_step(tmp_path, {tool: "0" * 64})

    assert completed.returncode != 0
    assert "FAILED" in completed.stdout + completed.stderr


@pytest.mark.parametrize("tool", TOOLS)
def test_download_requires_checksum(tmp_path, tool):
    completed, bin_dir = run_download_step(tmp_path, {tool: ""})

    assert completed.returncode != 0
    assert f"{tool}_SHA256 is empty" in completed.stderr
    assert list(bin_dir.iterdir()) == []
