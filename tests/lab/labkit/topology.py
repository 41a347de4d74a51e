"""Read and validate a lab topology file and derive each cluster's loopback address.

The file lists clusters; exactly one has role `consumer` and becomes cluster 0, the providers follow in
file order. Cluster i of slot s binds every component to 127.<10+s>.<i>.1.
"""

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import paths

TOPOLOGY_KEYS = {"clusters"}
CLUSTER_KEYS = {"name", "role", "flavor", "pod_cidr", "service_cidr", "nodes", "manifests"}
REQUIRED_CLUSTER_KEYS = {"name", "role", "flavor", "pod_cidr", "service_cidr", "nodes"}
NODE_KEYS = {"name", "capacity", "labels"}
REQUIRED_CAPACITY = ("cpu", "memory", "pods")
ROLES = ("consumer", "provider")
FLAVORS = ("kind", "k3s", "kubeadm")
# kube-apiserver rejects IPv4 service ranges with more than 2^20 addresses.
MIN_SERVICE_PREFIX = 12
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class TopologyError(ValueError):
    """The topology file is invalid; the message names the file and the offending entry."""


@dataclass(frozen=True)
class Node:
    name: str
    capacity: dict[str, str]
    labels: dict[str, str]


@dataclass(frozen=True)
class Cluster:
    name: str
    role: str
    flavor: str
    index: int
    slot: int
    pod_cidr: str
    service_cidr: str
    nodes: tuple[Node, ...]
    manifests: tuple[Path, ...] = field(default=())

    @property
    def address(self) -> str:
        return f"127.{10 + self.slot}.{self.index}.1"

    @property
    def api_server_url(self) -> str:
        return f"https://{self.address}:6443"

    @property
    def first_service_ip(self) -> str:
        return str(ipaddress.ip_network(self.service_cidr)[1])


@dataclass(frozen=True)
class Topology:
    source: Path
    slot: int
    clusters: tuple[Cluster, ...]

    def describe(self) -> dict:
        """Return the cluster set in a comparable form, to detect a state dir made from another topology."""
        return {
            cluster.name: {
                "role": cluster.role,
                "flavor": cluster.flavor,
                "pod_cidr": cluster.pod_cidr,
                "service_cidr": cluster.service_cidr,
                "address": cluster.address,
            }
            for cluster in self.clusters
        }


def _check_keys(where: str, mapping: object, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(mapping, dict):
        raise TopologyError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise TopologyError(f"{where}: unknown keys {unknown}; allowed keys are {sorted(allowed)}")
    missing = sorted(required - set(mapping))
    if missing:
        raise TopologyError(f"{where}: missing keys {missing}")
    return mapping


def _parse_cidr(where: str, value: object) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.ip_network(str(value), strict=True)
    except ValueError as error:
        raise TopologyError(f"{where}: invalid CIDR {value!r}: {error}") from error
    if network.version != 4:
        raise TopologyError(f"{where}: {value} is not an IPv4 CIDR; the lab is IPv4 only")
    if network.overlaps(LOOPBACK):
        raise TopologyError(f"{where}: {value} overlaps 127.0.0.0/8, which the lab uses for its API servers")
    return network


def _check_name(where: str, value: object) -> str:
    name = str(value)
    if not DNS_LABEL.fullmatch(name):
        raise TopologyError(f"{where}: {name!r} is not a valid name (lowercase letters, digits and '-', at most 63)")
    return name


def _parse_node(where: str, raw: object) -> Node:
    node = _check_keys(where, raw, NODE_KEYS, {"name", "capacity"})
    capacity = node["capacity"]
    if not isinstance(capacity, dict):
        raise TopologyError(f"{where}.capacity: expected a mapping of resource names to quantities")
    missing = [key for key in REQUIRED_CAPACITY if key not in capacity]
    if missing:
        raise TopologyError(f"{where}.capacity: missing {missing}")
    labels = node.get("labels") or {}
    if not isinstance(labels, dict):
        raise TopologyError(f"{where}.labels: expected a mapping")
    return Node(
        name=_check_name(f"{where}.name", node["name"]),
        capacity={str(key): str(value) for key, value in capacity.items()},
        labels={str(key): "" if value is None else str(value) for key, value in labels.items()},
    )


def _parse_manifests(where: str, raw: object, base_dir: Path) -> tuple[Path, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TopologyError(f"{where}: expected a list of file paths")
    manifests = []
    for entry in raw:
        path = (base_dir / str(entry)).resolve()
        if not path.is_file():
            raise TopologyError(f"{where}: manifest file {path} not found")
        manifests.append(path)
    return tuple(manifests)


def _raw_clusters(source: Path) -> list:
    try:
        document = yaml.safe_load(source.read_text())
    except OSError as error:
        raise TopologyError(f"cannot read topology file {source}: {error}") from error
    except yaml.YAMLError as error:
        raise TopologyError(f"{source}: invalid YAML: {error}") from error
    document = _check_keys(str(source), document, TOPOLOGY_KEYS, TOPOLOGY_KEYS)
    clusters = document["clusters"]
    if not isinstance(clusters, list) or not clusters:
        raise TopologyError(f"{source}: clusters must be a non-empty list")
    return clusters


def _order_consumer_first(source: Path, clusters: list) -> list:
    consumers = [raw for raw in clusters if isinstance(raw, dict) and raw.get("role") == "consumer"]
    if len(consumers) != 1:
        raise TopologyError(f"{source}: expected exactly one cluster with role consumer, found {len(consumers)}")
    return consumers + [raw for raw in clusters if raw is not consumers[0]]


def _parse_cluster(source: Path, index: int, slot: int, raw: object) -> Cluster:
    where = f"{source}: clusters[{raw.get('name', index) if isinstance(raw, dict) else index}]"
    cluster = _check_keys(where, raw, CLUSTER_KEYS, REQUIRED_CLUSTER_KEYS)
    if cluster["role"] not in ROLES:
        raise TopologyError(f"{where}.role: {cluster['role']!r} is not one of {list(ROLES)}")
    if cluster["flavor"] not in FLAVORS:
        raise TopologyError(f"{where}.flavor: {cluster['flavor']!r} is not one of {list(FLAVORS)}")
    service = _parse_cidr(f"{where}.service_cidr", cluster["service_cidr"])
    if service.prefixlen < MIN_SERVICE_PREFIX:
        raise TopologyError(f"{where}.service_cidr: {service} is larger than /{MIN_SERVICE_PREFIX}")
    pod = _parse_cidr(f"{where}.pod_cidr", cluster["pod_cidr"])
    nodes = cluster["nodes"]
    if not isinstance(nodes, list) or not nodes:
        raise TopologyError(f"{where}.nodes: expected a non-empty list")
    return Cluster(
        name=_check_name(f"{where}.name", cluster["name"]),
        role=cluster["role"],
        flavor=cluster["flavor"],
        index=index,
        slot=slot,
        pod_cidr=str(pod),
        service_cidr=str(service),
        nodes=tuple(_parse_node(f"{where}.nodes[{i}]", node) for i, node in enumerate(nodes)),
        manifests=_parse_manifests(f"{where}.manifests", cluster.get("manifests"), source.parent),
    )


def _check_unique_names(source: Path, clusters: tuple[Cluster, ...]) -> None:
    names = [cluster.name for cluster in clusters]
    node_names = [node.name for cluster in clusters for node in cluster.nodes]
    for kind, values in (("cluster", names), ("node", node_names)):
        duplicates = sorted({value for value in values if values.count(value) > 1})
        if duplicates:
            raise TopologyError(f"{source}: duplicate {kind} names {duplicates}")


def _check_no_overlap(source: Path, clusters: tuple[Cluster, ...]) -> None:
    ranges = [(f"{c.name} pod_cidr", ipaddress.ip_network(c.pod_cidr)) for c in clusters]
    ranges += [(f"{c.name} service_cidr", ipaddress.ip_network(c.service_cidr)) for c in clusters]
    for i, (first_name, first) in enumerate(ranges):
        for second_name, second in ranges[i + 1 :]:
            if first.overlaps(second):
                raise TopologyError(f"{source}: {first_name} {first} overlaps {second_name} {second}")


def load(source: Path, slot: int) -> Topology:
    """Parse and validate the topology file; raise TopologyError with the reason when it is invalid."""
    if not 0 <= slot <= paths.MAX_SLOT:
        raise TopologyError(f"slot {slot} is out of range 0..{paths.MAX_SLOT}")
    source = source.resolve()
    ordered = _order_consumer_first(source, _raw_clusters(source))
    if len(ordered) > 256:
        raise TopologyError(f"{source}: at most 256 clusters fit in one slot")
    clusters = tuple(_parse_cluster(source, index, slot, raw) for index, raw in enumerate(ordered))
    _check_unique_names(source, clusters)
    _check_no_overlap(source, clusters)
    return Topology(source=source, slot=slot, clusters=clusters)
