"""Serve stand-in release artifacts (k3s, its install script, liqoctl) on loopback for the role scenarios.

The roles download from URLs with checksums that are variables, so a scenario points them here and the
download, checksum and unpack steps run unchanged. The stand-in k3s install script writes the files the real
one writes (unit, uninstall script). It also writes the kubeconfig that the real server writes on its first
start, because no server can start in a chroot.
"""

import argparse
import contextlib
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

K3S_VERSION = "v1.31.4+k3s1"
LIQOCTL_VERSION = "v1.0.3"

FAKE_K3S = f"""#!/bin/sh
# Stand-in k3s binary for chroot tests: it can only report its version.
echo "k3s version {K3S_VERSION} (stand-in)"
"""

FAKE_INSTALL_SCRIPT = """#!/bin/sh
# Stand-in for k3s's install script, for chroot tests.
set -eu
[ "${INSTALL_K3S_SKIP_DOWNLOAD:-}" = true ] || { echo "expected INSTALL_K3S_SKIP_DOWNLOAD=true" >&2; exit 1; }
[ "${INSTALL_K3S_SKIP_START:-}" = true ] || { echo "expected INSTALL_K3S_SKIP_START=true" >&2; exit 1; }
[ -x /usr/local/bin/k3s ] || { echo "/usr/local/bin/k3s is missing" >&2; exit 1; }
cat > /etc/systemd/system/k3s.service <<UNIT
[Unit]
Description=k3s (stand-in)
[Service]
ExecStart=/usr/local/bin/k3s ${INSTALL_K3S_EXEC:-server}
[Install]
WantedBy=multi-user.target
UNIT
cat > /usr/local/bin/k3s-uninstall.sh <<'UNINSTALL'
#!/bin/sh
rm -f /etc/systemd/system/k3s.service /etc/systemd/system/multi-user.target.wants/k3s.service
rm -f /usr/local/bin/k3s /usr/local/bin/k3s-uninstall.sh
rm -rf /etc/rancher/k3s /var/lib/rancher/k3s
UNINSTALL
chmod 0755 /usr/local/bin/k3s-uninstall.sh
# The real server writes this on its first start; the chroot cannot start it.
mkdir -p /etc/rancher/k3s
umask 077
cat > /etc/rancher/k3s/k3s.yaml <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: default
  cluster:
    certificate-authority-data: c3RhbmQtaW4=
    server: https://127.0.0.1:6443
contexts:
- name: default
  context: {cluster: default, user: default}
current-context: default
users:
- name: default
  user: {client-certificate-data: c3RhbmQtaW4=, client-key-data: c3RhbmQtaW4=}
KUBECONFIG
"""

FAKE_LIQOCTL = f"""#!/bin/sh
# Stand-in liqoctl for chroot tests: it can only report its version.
echo "Client version: {LIQOCTL_VERSION}"
"""


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def liqoctl_archive() -> bytes:
    """Return a tar.gz laid out like the liqoctl release archive: liqoctl and LICENSE at the top."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text, mode in (("liqoctl", FAKE_LIQOCTL, 0o755), ("LICENSE", "Apache-2.0 (stand-in)\n", 0o644)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_artifacts(directory: Path) -> dict:
    """Write the stand-in artifacts and return their checksums by file name."""
    files = {
        "k3s": FAKE_K3S.encode(),
        "install.sh": FAKE_INSTALL_SCRIPT.encode(),
        "liqoctl-linux-amd64.tar.gz": liqoctl_archive(),
        # Stand-in for the image archive of air-gapped mode; k3s would import it on start.
        "k3s-airgap-images-amd64.tar.zst": b"stand-in image archive\n",
    }
    # The release layout as well (<version>/k3s), so that a URL naming the pinned version can be served.
    (directory / K3S_VERSION).mkdir(parents=True, exist_ok=True)
    (directory / K3S_VERSION / "k3s").write_bytes(files["k3s"])
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return {name: sha256(data) for name, data in files.items()}


def start(state_dir: Path) -> dict:
    """Write the artifacts and serve them on a free loopback port; return the state written to server.json."""
    artifact_dir = state_dir / "artifacts"
    checksums = write_artifacts(artifact_dir)
    log = open(state_dir / "server.log", "wb")  # noqa: SIM115 - the server process keeps writing to it
    server = subprocess.Popen(
        [sys.executable, "-u", "-c", SERVE_SNIPPET, str(artifact_dir)],
        stdout=subprocess.PIPE, stderr=log, start_new_session=True,
    )
    port = int(server.stdout.readline())
    state = {
        "url": f"http://127.0.0.1:{port}",
        "pid": server.pid,
        "artifact_dir": str(artifact_dir),
        "checksums": checksums,
        "k3s_version": K3S_VERSION,
        "liqoctl_version": LIQOCTL_VERSION,
    }
    (state_dir / "server.json").write_text(json.dumps(state, indent=2))
    return state


def stop(state_dir: Path) -> None:
    state_file = state_dir / "server.json"
    if not state_file.is_file():
        return
    pid = json.loads(state_file.read_text())["pid"]
    # The server may be gone already, after a reboot or a manual kill.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    state_file.unlink()


# Binds port 0 so that parallel runs never collide, and prints the port the kernel chose.
SERVE_SNIPPET = """
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("state_dir", type=Path)
    args = parser.parse_args()
    args.state_dir.mkdir(parents=True, exist_ok=True)
    if args.command == "start":
        print(json.dumps(start(args.state_dir)))
    else:
        stop(args.state_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
