"""Command lines and environments of one cluster's components: etcd, kube-apiserver, KCM, scheduler, KWOK."""

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import paths
from .pki import ClusterFiles
from .topology import Cluster

PORTS = {
    "etcd": (2379, 2380),
    "kube-apiserver": (6443,),
    "kube-controller-manager": (10257,),
    "kube-scheduler": (10259,),
    "kwok": (10247,),
}
# Soft heap limits (GOMEMLIMIT): the Go runtime collects harder near them, so memory stays modest on
# small machines. They are not hard caps; a component may exceed its limit rather than fail.
MEMORY_LIMITS = {
    "etcd": "200MiB",
    "kube-apiserver": "600MiB",
    "kube-controller-manager": "200MiB",
    "kube-scheduler": "100MiB",
    "kwok": "100MiB",
}
HEALTH_PATHS = "/healthz,/readyz,/livez,/metrics"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node=fake"
KWOK_STAGE_FILES = ("node-initialize.yaml", "node-heartbeat-with-lease.yaml", "pod-ready.yaml",
                    "pod-complete.yaml", "pod-delete.yaml")


@dataclass(frozen=True)
class Component:
    name: str
    argv: list[str]
    env: dict[str, str]


def endpoints(cluster: Cluster) -> list[tuple[str, int]]:
    return [(cluster.address, port) for ports in PORTS.values() for port in ports]


def _env(component: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GOMEMLIMIT": MEMORY_LIMITS[component]}
    env.update(extra or {})
    return env


def write_egress_selector(files: ClusterFiles) -> None:
    """Route the API server's traffic to the cluster network (webhooks, aggregated APIs, kubelets) to a socket
    that no process listens on.

    Pods and Services in the lab have addresses outside loopback that no process serves, and the machine's
    default route would send such connections to another host. The API server dials this Unix socket
    instead and fails at once, so the lab never sends traffic off the machine. The path is relative to the
    cluster directory, the API server's working directory, because a Unix socket path has at most 107 bytes.
    """
    config = {
        "apiVersion": "apiserver.k8s.io/v1beta1",
        "kind": "EgressSelectorConfiguration",
        "egressSelections": [
            {
                "name": "cluster",
                "connection": {
                    "proxyProtocol": "HTTPConnect",
                    "transport": {"uds": {"udsName": str(files.egress_socket.relative_to(files.root))}},
                },
            }
        ],
    }
    files.egress_selector.write_text(yaml.safe_dump(config, sort_keys=False))


def etcd(cluster: Cluster, files: ClusterFiles) -> Component:
    client_url = f"http://{cluster.address}:2379"
    peer_url = f"http://{cluster.address}:2380"
    argv = [
        str(paths.etcd_binary()),
        f"--name={cluster.name}",
        f"--data-dir={files.etcd_data}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster={cluster.name}={peer_url}",
        "--initial-cluster-state=new",
        # A test lab trades crash safety for speed: no fsync on each write.
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]
    return Component("etcd", argv, _env("etcd"))


def kube_apiserver(cluster: Cluster, files: ClusterFiles) -> Component:
    binary = paths.kubernetes_bin_dir() / "kube-apiserver"
    argv = [
        str(binary),
        f"--etcd-servers=http://{cluster.address}:2379",
        f"--bind-address={cluster.address}",
        f"--advertise-address={cluster.address}",
        "--secure-port=6443",
        f"--tls-cert-file={files.apiserver_cert}",
        f"--tls-private-key-file={files.apiserver_key}",
        f"--client-ca-file={files.ca_cert}",
        f"--cert-dir={files.pki / 'apiserver'}",
        f"--token-auth-file={files.tokens}",
        "--authorization-mode=Node,RBAC",
        f"--service-account-issuer={cluster.api_server_url}",
        f"--service-account-key-file={files.sa_pub}",
        f"--service-account-signing-key-file={files.sa_key}",
        f"--service-cluster-ip-range={cluster.service_cidr}",
        "--allow-privileged=true",
        # The API server would publish its loopback address in the `kubernetes` Endpoints, which
        # validation rejects; nothing in the lab needs that Service to have endpoints.
        "--endpoint-reconciler-type=none",
        f"--egress-selector-config-file={files.egress_selector}",
        # One client per cluster: fairness queues only cost CPU here.
        "--enable-priority-and-fairness=false",
        "--profiling=false",
    ]
    return Component("kube-apiserver", argv, _env("kube-apiserver"))


def kube_controller_manager(cluster: Cluster, files: ClusterFiles) -> Component:
    binary = paths.kubernetes_bin_dir() / "kube-controller-manager"
    argv = [
        str(binary),
        f"--kubeconfig={files.kubeconfig}",
        f"--bind-address={cluster.address}",
        "--secure-port=10257",
        f"--cert-dir={files.pki / 'kube-controller-manager'}",
        "--leader-elect=false",
        "--controllers=*",
        f"--cluster-name={cluster.name}",
        f"--service-account-private-key-file={files.sa_key}",
        f"--root-ca-file={files.ca_cert}",
        # Like kind and k3s, give each node a /24 of the pod CIDR in spec.podCIDR.
        "--allocate-node-cidrs=true",
        f"--cluster-cidr={cluster.pod_cidr}",
        f"--service-cluster-ip-range={cluster.service_cidr}",
        f"--authorization-always-allow-paths={HEALTH_PATHS}",
        # The default, /usr/libexec/kubernetes/kubelet-plugins/volume/exec/, would be created on the host.
        f"--flex-volume-plugin-dir={files.root / 'flexvolume'}",
        "--kube-api-qps=100",
        "--kube-api-burst=200",
        "--profiling=false",
    ]
    return Component("kube-controller-manager", argv, _env("kube-controller-manager"))


def kube_scheduler(cluster: Cluster, files: ClusterFiles) -> Component:
    binary = paths.kubernetes_bin_dir() / "kube-scheduler"
    argv = [
        str(binary),
        f"--kubeconfig={files.kubeconfig}",
        f"--bind-address={cluster.address}",
        "--secure-port=10259",
        f"--cert-dir={files.pki / 'kube-scheduler'}",
        "--leader-elect=false",
        f"--authorization-always-allow-paths={HEALTH_PATHS}",
        "--profiling=false",
    ]
    return Component("kube-scheduler", argv, _env("kube-scheduler"))


def kwok(cluster: Cluster, files: ClusterFiles) -> Component:
    argv = [str(paths.kwok_binary()), f"--kubeconfig={files.kubeconfig}"]
    # KWOK v0.8.0 has no built-in stages; without these files it exits with "no stages found".
    argv += [f"--config={paths.KWOK_STAGES_DIR / name}" for name in KWOK_STAGE_FILES]
    argv += [
        f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}",
        f"--cidr={cluster.pod_cidr}",
        f"--node-ip={cluster.address}",
        "--node-port=10247",
        f"--server-address={cluster.address}:10247",
        "--node-lease-duration-seconds=40",
    ]
    # KWOK_WORKDIR keeps KWOK's default config and cache paths inside the state dir instead of ~/.kwok.
    return Component("kwok", argv, _env("kwok", {"KWOK_WORKDIR": str(files.kwok_workdir)}))


def control_plane(cluster: Cluster, files: ClusterFiles) -> list[Component]:
    """Return etcd and kube-apiserver, started first because the other components need a ready API."""
    return [etcd(cluster, files), kube_apiserver(cluster, files)]


def controllers(cluster: Cluster, files: ClusterFiles) -> list[Component]:
    return [kube_controller_manager(cluster, files), kube_scheduler(cluster, files), kwok(cluster, files)]


def all_binaries() -> list[Path]:
    kubernetes = paths.kubernetes_bin_dir()
    return [
        paths.etcd_binary(),
        kubernetes / "kube-apiserver",
        kubernetes / "kube-controller-manager",
        kubernetes / "kube-scheduler",
        paths.kwok_binary(),
    ]


def pid_file(files: ClusterFiles, component: Component | str) -> Path:
    name = component if isinstance(component, str) else component.name
    return files.run / f"{name}.pid"


def log_file(files: ClusterFiles, component: Component) -> Path:
    return files.logs / f"{component.name}.log"
