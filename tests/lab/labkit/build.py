"""Build the control-plane binaries from their Go wrapper modules and copy the Liqo CRDs into the cache.

Each cache entry is a directory named after its version with a `build.json` stamp. The stamp records a
hash of the inputs (wrapper module files and build flags) and the size and mtime of every output, so a
build is skipped when the cached outputs still match the inputs. GOCACHE and GOMODCACHE keep their
defaults (outside the repository), so a machine that built once compiles only what changed.
"""

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import paths

STAMP_NAME = "build.json"
KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


class BuildError(RuntimeError):
    """A Go build or module download failed."""


@dataclass(frozen=True)
class GoBuild:
    """One `go build` of a wrapper module under tests/lab/build/ into the cache."""

    name: str
    version: str
    module_dir: Path
    packages: tuple[str, ...]
    binaries: tuple[str, ...]
    tags: str = ""
    ldflags: str = "-s -w"

    @property
    def target_dir(self) -> Path:
        return paths.cache_dir() / f"{self.name}-{self.version}"

    def command(self, out_dir: Path) -> list[str]:
        # With one package, -o names the file, because Go would name etcd's binary "server"
        # after its module path.
        # A trailing slash makes go build write one binary per package into that directory.
        output = str(out_dir / self.binaries[0]) if len(self.packages) == 1 else f"{out_dir}{os.sep}"
        command = ["go", "build", "-trimpath", "-buildvcs=false", "-ldflags", self.ldflags]
        if self.tags:
            command += ["-tags", self.tags]
        return [*command, "-o", output, *self.packages]

    def inputs_digest(self) -> str:
        digest = hashlib.sha256()
        for name in ("go.mod", "go.sum", "tools.go"):
            digest.update(name.encode())
            digest.update((self.module_dir / name).read_bytes())
        digest.update(json.dumps([self.packages, self.binaries, self.tags, self.ldflags]).encode())
        return digest.hexdigest()


def _kubernetes_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "gitTreeState": "clean"}
    flags = ["-s", "-w"]
    # Upstream stamps both packages; without this the binaries report v0.0.0-master to every client.
    for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version"):
        flags += [f"-X {package}.{key}={value}" for key, value in values.items()]
    return " ".join(flags)


def go_builds() -> list[GoBuild]:
    build_root = paths.LAB_DIR / "build"
    return [
        GoBuild(
            name="kubernetes",
            version=paths.KUBERNETES_VERSION,
            module_dir=build_root / "k8s",
            packages=tuple(f"k8s.io/kubernetes/cmd/{cmd}" for cmd in KUBERNETES_COMMANDS),
            binaries=KUBERNETES_COMMANDS,
            tags="selinux,notest,grpcnotrace",
            ldflags=_kubernetes_ldflags(paths.KUBERNETES_VERSION),
        ),
        GoBuild(
            name="etcd",
            version=paths.ETCD_VERSION,
            module_dir=build_root / "etcd",
            packages=("go.etcd.io/etcd/server/v3",),
            binaries=("etcd",),
        ),
        GoBuild(
            name="kwok",
            version=paths.KWOK_VERSION,
            module_dir=build_root / "kwok",
            packages=("sigs.k8s.io/kwok/cmd/kwok",),
            binaries=("kwok",),
        ),
    ]


def _file_facts(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _read_stamp(target_dir: Path) -> dict | None:
    try:
        return json.loads((target_dir / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return None


def _outputs_match(stamp: dict, directory: Path) -> bool:
    recorded = stamp.get("outputs", {})
    if not recorded:
        return False
    for name, facts in recorded.items():
        path = directory / name
        if not path.is_file() or _file_facts(path) != facts:
            return False
    return True


def is_up_to_date(build: GoBuild) -> bool:
    stamp = _read_stamp(build.target_dir)
    if stamp is None or stamp.get("inputs") != build.inputs_digest():
        return False
    bin_dir = build.target_dir / "bin"
    return set(stamp.get("outputs", {})) == set(build.binaries) and _outputs_match(stamp, bin_dir)


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # Static binaries like upstream's release builds; never let go switch toolchains behind our back.
    env.update({"CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"})
    return env


def _go_version() -> str:
    try:
        result = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True)
    except FileNotFoundError as error:
        raise BuildError("go not found in PATH; install Go 1.26 or newer to build the lab binaries") from error
    return result.stdout.strip()


def _write_stamp(target_dir: Path, stamp: dict) -> None:
    tmp = target_dir / (STAMP_NAME + ".tmp")
    tmp.write_text(json.dumps(stamp, indent=2) + "\n")
    tmp.replace(target_dir / STAMP_NAME)


def run_go_build(build: GoBuild, log) -> float:
    """Build one wrapper module into a fresh directory, then swap it in and stamp it; return seconds spent."""
    go_version = _go_version()
    build.target_dir.mkdir(parents=True, exist_ok=True)
    staging = build.target_dir / "bin.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    log(f"building {build.name} {build.version} with {go_version} (this takes minutes on a cold Go cache)")
    started = time.monotonic()
    result = subprocess.run(build.command(staging), cwd=build.module_dir, env=_go_env(), check=False)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise BuildError(f"go build of {build.name} {build.version} failed with exit code {result.returncode}")
    final = build.target_dir / "bin"
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    stamp = {
        "inputs": build.inputs_digest(),
        "go": go_version,
        "seconds": round(seconds, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "outputs": {name: _file_facts(final / name) for name in build.binaries},
    }
    _write_stamp(build.target_dir, stamp)
    log(f"built {build.name} {build.version} in {seconds:.1f} s")
    return seconds


def _liqo_module_dir() -> Path:
    command = ["go", "mod", "download", "-json", f"{paths.LIQO_MODULE}@{paths.LIQO_VERSION}"]
    env = _go_env()
    env["GOFLAGS"] = "-mod=mod"
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=paths.cache_dir(), check=False)
    except FileNotFoundError as error:
        raise BuildError("go not found in PATH; it is needed to download the Liqo module") from error
    if result.returncode != 0:
        raise BuildError(f"go mod download of {paths.LIQO_MODULE}@{paths.LIQO_VERSION} failed: {result.stderr.strip()}")
    return Path(json.loads(result.stdout)["Dir"])


def _liqo_inputs_digest() -> str:
    return hashlib.sha256(f"{paths.LIQO_MODULE}@{paths.LIQO_VERSION}:{paths.LIQO_CRDS_SUBDIR}".encode()).hexdigest()


def liqo_crds_up_to_date() -> bool:
    crds_dir = paths.liqo_crds_dir()
    stamp = _read_stamp(crds_dir.parent)
    if stamp is None or stamp.get("inputs") != _liqo_inputs_digest():
        return False
    return len(stamp.get("outputs", {})) == paths.LIQO_CRD_COUNT and _outputs_match(stamp, crds_dir)


def copy_liqo_crds(log) -> None:
    source = _liqo_module_dir() / paths.LIQO_CRDS_SUBDIR
    files = sorted(source.glob("*.yaml"))
    if len(files) != paths.LIQO_CRD_COUNT:
        raise BuildError(f"expected {paths.LIQO_CRD_COUNT} CRD files in {source}, found {len(files)}")
    target = paths.liqo_crds_dir()
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for file in files:
        # The module cache is read-only; copy the content only, so the cache stays writable.
        (target / file.name).write_bytes(file.read_bytes())
    outputs = {file.name: _file_facts(target / file.name) for file in files}
    _write_stamp(target.parent, {"inputs": _liqo_inputs_digest(), "source": str(source), "outputs": outputs})
    log(f"copied {len(files)} Liqo {paths.LIQO_VERSION} CRDs to {target}")


def everything_up_to_date() -> bool:
    return all(is_up_to_date(build) for build in go_builds()) and liqo_crds_up_to_date()


def build_all(log, force: bool = False) -> dict[str, float]:
    """Build what is missing or stale; return the seconds spent per build (0 when skipped)."""
    paths.cache_dir().mkdir(parents=True, exist_ok=True)
    spent: dict[str, float] = {}
    for build in go_builds():
        if not force and is_up_to_date(build):
            log(f"{build.name} {build.version} is up to date in {build.target_dir}")
            spent[build.name] = 0.0
            continue
        spent[build.name] = run_go_build(build, log)
    if force or not liqo_crds_up_to_date():
        copy_liqo_crds(log)
    else:
        log(f"Liqo {paths.LIQO_VERSION} CRDs are up to date in {paths.liqo_crds_dir()}")
    return spent
