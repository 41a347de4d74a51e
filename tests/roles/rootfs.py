"""Build and copy the Debian 12 root file system that the role scenarios run in through a chroot connection.

The base tree is built once with debootstrap and cached under ~/.cache/oss-mlops-roles, or under
OSS_MLOPS_ROLES_CACHE when set. Each scenario works on its own copy, so every run starts from a fresh system.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

SUITE = "bookworm"
# What a cloud image has and Ansible needs: python3 as the user data installs it, and systemd, so that
# systemctl can enable units offline inside the chroot.
INCLUDE_PACKAGES = ["python3", "python3-apt", "ca-certificates", "systemd"]
# dpkg asks policy-rc.d before starting a service, and exit code 101 means "not allowed". Package installs in
# the chroot therefore never start daemons on the machine that runs the tests.
POLICY_RC_D = "#!/bin/sh\nexit 101\n"


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "oss-mlops-roles"
    return Path(os.environ.get("OSS_MLOPS_ROLES_CACHE", default))


def debian_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """Return the first Debian mirror URI that this machine's apt configuration uses."""
    candidates = [sources_dir / "sources.list", *sorted((sources_dir / "sources.list.d").glob("*"))]
    for path in candidates:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            uris = [w for w in words if w.startswith(("http://", "https://"))]
            if uris and uris[0].rstrip("/").endswith("/debian"):
                return uris[0]
    raise SystemExit(f"No Debian mirror (a URI ending in /debian) found in {sources_dir}/sources.list*.")


def base_tree() -> Path:
    """Return the cached base tree, building it with debootstrap when it is missing."""
    base = cache_dir() / f"{SUITE}-base"
    if (base / "etc" / "debian_version").is_file():
        return base
    if shutil.which("debootstrap") is None:
        raise SystemExit("debootstrap is not installed; install it with: apt-get install -y debootstrap")

    # Build next to the final path and rename, so an interrupted build never looks complete.
    partial = base.with_name(base.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", "--include=" + ",".join(INCLUDE_PACKAGES),
         SUITE, str(partial), debian_mirror()],
        check=True,
    )
    policy = partial / "usr" / "sbin" / "policy-rc.d"
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)
    partial.rename(base)
    return base


def cloud_init_tree() -> Path:
    """Return a cached copy of the base tree with Debian's cloud-init installed, for its schema checker."""
    tree = cache_dir() / f"{SUITE}-cloud-init"
    if (tree / "usr" / "bin" / "cloud-init").is_file():
        return tree
    partial = tree.with_name(tree.name + ".partial")
    copy_tree(partial)
    subprocess.run(
        ["chroot", str(partial), "apt-get", "install", "--yes", "--no-install-recommends", "cloud-init"],
        check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    shutil.rmtree(tree, ignore_errors=True)
    partial.rename(tree)
    return tree


def cloud_init_schema(user_data: Path) -> subprocess.CompletedProcess:
    """Run `cloud-init schema` of Debian 12's cloud-init on a user data file; rc 0 means valid."""
    tree = cloud_init_tree()
    inside = Path("/tmp") / f"user-data-{os.getpid()}"
    shutil.copyfile(user_data, tree / inside.relative_to("/"))
    try:
        return subprocess.run(
            ["chroot", str(tree), "cloud-init", "schema", "--config-file", str(inside)],
            capture_output=True, text=True, check=False,
        )
    finally:
        (tree / inside.relative_to("/")).unlink()


def copy_tree(destination: Path) -> None:
    """Replace destination with a fresh copy of the base tree."""
    base = base_tree()
    shutil.rmtree(destination, ignore_errors=True)
    destination.parent.mkdir(parents=True, exist_ok=True)
    # cp -a keeps owners, device nodes and hard links, which shutil.copytree does not all keep.
    subprocess.run(["cp", "-a", str(base), str(destination)], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["build", "copy", "schema"])
    parser.add_argument("path", nargs="?", type=Path, help="copy: where the fresh tree goes; schema: user data")
    args = parser.parse_args()
    if args.command == "build":
        print(base_tree())
        return 0
    if args.command == "schema":
        result = cloud_init_schema(args.path)
        print(result.stdout + result.stderr, end="")
        return result.returncode
    if args.path is None:
        parser.error("copy needs a destination")
    copy_tree(args.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
