"""liqoctl info and info peer (pkg/liqoctl/info of v1.0.3), computed from the live objects.

With -o json|yaml the data has liqoctl's shape: Go struct field order, map keys sorted, the untagged field
APIServerAddr under its Go name, omitempty fields dropped. --get walks the data by Go field names, case-insensitive,
and forces the verbose (network) section. Without -o the stand-in prints a plain-text summary instead of
liqoctl's pterm boxes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml

from . import liqo
from . import resources as res
from .kube import KubeError
from .output import LiqoctlExit

# Data are lists of (json key, Go field name, value) so --get can match Go names and output keeps field order.
Field = tuple[str, str, Any]


class Struct(list):
    """A Go struct: ordered (json key, Go name, value) fields."""


def _struct(*fields: Field, omit_empty: tuple[str, ...] = ()) -> Struct:
    return Struct((key, name, value) for key, name, value in fields if not (key in omit_empty and not value))


def to_plain(value: Any) -> Any:
    """Convert Structs to ordered dicts for JSON/YAML output."""
    if isinstance(value, Struct):
        return {key: to_plain(item) for key, _unused, item in value}
    if isinstance(value, dict):
        return {key: to_plain(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    return value


def _installation_check(invocation) -> None:
    factory = invocation.local
    try:
        factory.cluster.request("GET", res.NAMESPACE.item(factory.liqo_namespace))
    except KubeError as error:
        if error.not_found:
            factory.printer.error(
                "Liqo is not installed in the current cluster! \n\n"
                "You can install liqo via the 'liqoctl install' command.\n"
                "Check 'liqoctl install --help' for further information."
            )
        else:
            factory.printer.error(f"Unable to check if Liqo is installed: {error.raw}")
        raise LiqoctlExit(1) from None


def _module_status(module: dict[str, Any]) -> tuple[str, list[str] | None]:
    if not module.get("enabled"):
        return "Disabled", None
    bad = [item for item in module.get("conditions") or [] if item.get("status") not in ("Established", "Ready")]
    if bad:
        return "Unhealthy", [item.get("message", "") for item in bad]
    return "Healthy", None


# -- info -----------------------------------------------------------------------------------------------------


def _local(cluster, namespace: str, warnings: list[str]) -> Struct:
    cluster_id, version, labels, address = "", "", None, ""
    try:
        cluster_id = liqo.cluster_id(cluster, namespace)
    except KubeError as error:
        warnings.append(f"unable to get cluster id: {error.raw}")
    try:
        container = liqo.controller_manager_container(liqo.controller_manager(cluster, namespace))
    except KubeError as error:
        warnings.append(f"unable to get Liqo version and cluster labels: {error.raw}")
    else:
        try:
            version = liqo.image_version(container)
        except KubeError as error:
            warnings.append(f"unable to get Liqo version: {error.raw}")
        text = liqo.argument_value(container.get("args") or [], "--cluster-labels")
        if text is not None:
            try:
                labels = liqo.parse_key_values(text)
            except KubeError as error:
                warnings.append(f"unable to get cluster labels: {error.raw}")
        try:
            address = liqo.api_server_url(cluster, namespace)
        except KubeError as error:
            warnings.append(f"unable to get K8s API server: {error.raw}")
    return _struct(
        ("clusterID", "ClusterID", cluster_id),
        ("version", "Version", version),
        ("labels", "Labels", labels),
        ("APIServerAddr", "APIServerAddr", address),
    )


def _pod_ready(pod: dict[str, Any]) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition["type"] == "Ready":
            return condition["status"] == "True"
    return False


def _health(cluster, namespace: str, warnings: list[str]) -> Struct:
    try:
        pods = cluster.list(res.POD.collection(namespace))
    except KubeError as error:
        warnings.append(f"unable to get Liqo pods: {error.raw}")
        return _struct(("healthy", "Healthy", False), omit_empty=())
    unhealthy = {}
    for pod in pods:
        if _pod_ready(pod):
            continue
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        unhealthy[pod["metadata"]["name"]] = _struct(
            ("status", "Status", (pod.get("status") or {}).get("phase", "")),
            ("readyContainers", "ReadyContainers", sum(1 for item in statuses if item.get("ready"))),
            ("totalContainers", "TotalContainers", len(statuses)),
            ("restarts", "Restarts", sum(item.get("restartCount", 0) for item in statuses)),
        )
    return _struct(
        ("healthy", "Healthy", not unhealthy),
        ("unhealthyPods", "UnhealthyPods", unhealthy),
        omit_empty=("unhealthyPods",),
    )


def _network(cluster, warnings: list[str]) -> Struct:
    fields = []
    for key, name, network_type, label in (
        ("podCIDR", "PodCIDR", "pod-cidr", "pod"),
        ("serviceCIDR", "ServiceCIDR", "service-cidr", "service"),
        ("externalCIDR", "ExternalCIDR", "external-cidr", "external"),
        ("internalCIDR", "InternalCIDR", "internal-cidr", "internal"),
    ):
        value = ""
        try:
            items = cluster.list(res.NETWORK.collection(), label_selector=f"ipam.liqo.io/network-type={network_type}")
            if len(items) != 1:
                raise KubeError(
                    f'networks.ipam.liqo.io "{network_type}" not found' if not items else "multiple networks found"
                )
            value = (items[0].get("status") or {}).get("cidr", "")
            if not value:
                raise KubeError(f"the {label} CIDR is not yet configured: missing status on the Network resource")
        except KubeError as error:
            warnings.append(f"unable to get {name}: {error.raw}")
        fields.append((key, name, value))
    return _struct(*fields)


def _peerings(cluster, warnings: list[str]) -> Struct:
    try:
        foreign_clusters = cluster.list(res.FOREIGN_CLUSTER.collection())
    except KubeError as error:
        warnings.append(f"unable to retrieve peerings: {error.raw}")
        return _struct(("peers", "Peers", None))
    peers = []
    for item in foreign_clusters:
        status = item.get("status") or {}
        modules = status.get("modules") or {}
        peers.append(
            _struct(
                ("clusterID", "ClusterID", item["spec"]["clusterID"]),
                ("role", "Role", status.get("role", "")),
                ("networkingStatus", "NetworkingStatus", _module_status(modules.get("networking") or {})[0]),
                (
                    "authenticationStatus",
                    "AuthenticationStatus",
                    _module_status(modules.get("authentication") or {})[0],
                ),
                ("offloadingStatus", "OffloadingStatus", _module_status(modules.get("offloading") or {})[0]),
            )
        )
    return _struct(("peers", "Peers", peers))


def run_local(invocation) -> int:
    """liqoctl info."""
    _installation_check(invocation)
    factory = invocation.local
    cluster, namespace = factory.cluster, factory.liqo_namespace
    query = invocation.value("get")
    verbose = invocation.value("verbose") or bool(query)
    warnings: list[str] = []
    data: dict[str, Any] = {
        "local": _local(cluster, namespace, warnings),
        "health": _health(cluster, namespace, warnings),
    }
    if verbose:
        data["network"] = _network(cluster, warnings)
    data["peerings"] = _peerings(cluster, warnings)
    for warning in warnings:
        factory.printer.warning(warning)
    return _emit(invocation, data, {"clusterid": "local.clusterid"})


# -- info peer ------------------------------------------------------------------------------------------------


def _peer_network(cluster, foreign_cluster: dict[str, Any], warnings: list[str]) -> Struct:
    remote_id = foreign_cluster["spec"]["clusterID"]
    status, alerts = _module_status(
        ((foreign_cluster.get("status") or {}).get("modules") or {}).get("networking") or {}
    )
    cidrs: Struct = _struct(
        (
            "remote",
            "Remote",
            _struct(("pod", "Pod", None), ("external", "External", None), omit_empty=("pod", "external")),
        )
    )
    gateway = _struct(("address", "Address", None), ("port", "Port", 0), ("role", "Role", ""))
    if status != "Disabled":
        configurations = cluster.list(
            res.CONFIGURATION.collection(), label_selector=f"liqo.io/remote-cluster-id={remote_id}"
        )
        if configurations:
            configuration = configurations[0]
            remote = ((configuration.get("spec") or {}).get("remote") or {}).get("cidr") or {}
            remapped = (((configuration.get("status") or {}).get("remote") or {}).get("cidr")) or {}
            cidrs = _struct(
                (
                    "remote",
                    "Remote",
                    _struct(
                        ("pod", "Pod", remote.get("pod")),
                        ("external", "External", remote.get("external")),
                        omit_empty=("pod", "external"),
                    ),
                ),
                (
                    "remapped",
                    "Remapped",
                    _struct(
                        ("pod", "Pod", remapped.get("pod")),
                        ("external", "External", remapped.get("external")),
                        omit_empty=("pod", "external"),
                    ),
                ),
            )
        else:
            warnings.append(
                f'unable to get network configuration for cluster "{remote_id}": configurations.'
                f'networking.liqo.io "{remote_id}" not found'
            )
        gateway = _gateway(cluster, remote_id, gateway, warnings)
    return _struct(
        ("status", "Status", status),
        ("alerts", "Alerts", alerts),
        ("CIDRs", "CIDRs", cidrs),
        ("gateway", "Gateway", gateway),
        omit_empty=("alerts",),
    )


def _gateway(cluster, remote_id: str, default: Struct, warnings: list[str]) -> Struct:
    selector = f"liqo.io/remote-cluster-id={remote_id}"
    servers = cluster.list(res.GATEWAY_SERVER.collection(), label_selector=selector)
    clients = cluster.list(res.GATEWAY_CLIENT.collection(), label_selector=selector)
    if servers and clients:
        warnings.append(f'unable to get network gateway info for cluster "{remote_id}": multiple Gateways found')
        return default
    if clients:
        endpoint = clients[0]["spec"].get("endpoint") or {}
        return _struct(
            ("address", "Address", endpoint.get("addresses")),
            ("port", "Port", endpoint.get("port", 0)),
            ("role", "Role", "Server"),
        )
    if servers:
        endpoint = (servers[0].get("status") or {}).get("endpoint") or {}
        return _struct(
            ("address", "Address", endpoint.get("addresses")),
            ("port", "Port", endpoint.get("port", 0)),
            ("role", "Role", "Client"),
        )
    warnings.append(f'unable to get network gateway info for cluster "{remote_id}": no gateways found')
    return default


def _peer_authentication(cluster, foreign_cluster: dict[str, Any], warnings: list[str]) -> Struct:
    remote_id = foreign_cluster["spec"]["clusterID"]
    fc_status = foreign_cluster.get("status") or {}
    status, alerts = _module_status((fc_status.get("modules") or {}).get("authentication") or {})
    address = ""
    slices = None
    if status != "Disabled":
        if fc_status.get("role") == "Provider":
            identities = [
                item
                for item in cluster.list(
                    res.IDENTITY.collection(), label_selector=f"liqo.io/remote-cluster-id={remote_id}"
                )
                if item.get("spec", {}).get("type") == "ControlPlane"
            ]
            if identities:
                params = identities[0]["spec"].get("authParams") or {}
                address = params["proxyURL"] if params.get("proxyURL") is not None else params.get("apiServer", "")
            else:
                warnings.append(
                    f'unable to get API server address of cluster "{remote_id}": identities.'
                    f'authentication.liqo.io "{remote_id}" not found'
                )
        slices = []
        for item in cluster.list(
            res.RESOURCE_SLICE.collection(), label_selector=f"liqo.io/remote-cluster-id={remote_id}"
        ):
            conditions = (item.get("status") or {}).get("conditions") or []
            bad = [entry.get("message", "") for entry in conditions if entry.get("status") != "Accepted"]
            action = (
                "Providing"
                if (item["metadata"].get("labels") or {}).get("liqo.io/replicated", "").lower() == "true"
                else "Consuming"
            )
            slices.append(
                _struct(
                    ("name", "Name", item["metadata"]["name"]),
                    ("action", "Action", action),
                    ("accepted", "Accepted", bool(conditions) and not bad),
                    ("alerts", "Alerts", bad),
                    ("resources", "Resources", (item.get("status") or {}).get("resources")),
                    omit_empty=("alerts",),
                )
            )
    return _struct(
        ("status", "Status", status),
        ("alerts", "Alerts", alerts),
        ("APIServerAddr", "APIServerAddr", address),
        ("resourceSlices", "ResourceSlices", slices),
        omit_empty=("alerts",),
    )


def _peer_offloading(cluster, foreign_cluster: dict[str, Any]) -> Struct:
    remote_id = foreign_cluster["spec"]["clusterID"]
    status, alerts = _module_status(
        ((foreign_cluster.get("status") or {}).get("modules") or {}).get("offloading") or {}
    )
    nodes = []
    for item in cluster.list(res.VIRTUAL_NODE.collection()):
        if item.get("spec", {}).get("clusterID") != remote_id:
            continue
        health = "Unhealthy"
        for condition in (item.get("status") or {}).get("conditions") or []:
            if condition.get("status") in ("Running", "None"):
                health = "Healthy"
            else:
                health = "Unhealthy"
                break
        nodes.append(
            _struct(
                ("name", "Name", item["metadata"]["name"]),
                ("status", "Status", health),
                ("secret", "Secret", (item["spec"].get("kubeconfigSecretRef") or {}).get("name", "")),
                (
                    "resourceSlice",
                    "ResourceSlice",
                    (item["metadata"].get("labels") or {}).get("liqo.io/resourceslice-name", ""),
                ),
                ("resources", "Resources", (item["spec"].get("resourceQuota") or {}).get("hard")),
                omit_empty=("resourceSlice",),
            )
        )
    return _struct(
        ("status", "Status", status),
        ("alerts", "Alerts", alerts),
        ("virtualNodes", "VirtualNodes", nodes),
        omit_empty=("alerts",),
    )


def run_peer(invocation) -> int:
    """liqoctl info peer [CLUSTER_ID...]."""
    _installation_check(invocation)
    factory = invocation.local
    cluster = factory.cluster
    printer = factory.printer
    requested = list(invocation.args)
    selector = f"liqo.io/remote-cluster-id in ({','.join(requested)})" if requested else ""
    try:
        items = cluster.list(res.FOREIGN_CLUSTER.collection(), label_selector=selector)
    except KubeError as error:
        printer.error(f"Unable to retrieve peer clusters: {error.raw}")
        return 1
    foreign_clusters = {item["spec"]["clusterID"]: item for item in items}
    missing = [item for item in requested if item not in foreign_clusters]
    if missing:
        printer.error(f'Peer clusters "{", ".join(missing)}" not found in active peerings')
        return 1
    warnings: list[str] = []
    data: dict[str, Any] = {}
    for cluster_id, foreign_cluster in foreign_clusters.items():
        data[cluster_id] = {
            "info": _struct(
                ("clusterID", "ClusterID", cluster_id),
                ("role", "Role", (foreign_cluster.get("status") or {}).get("role", "")),
            ),
            "network": _peer_network(cluster, foreign_cluster, warnings),
            "authentication": _peer_authentication(cluster, foreign_cluster, warnings),
            "offloading": _peer_offloading(cluster, foreign_cluster),
        }
    for warning in warnings:
        printer.warning(warning)
    query = invocation.value("get")
    if query and data:
        trimmed = query.lstrip(".")
        parts = trimmed.split(".")
        ids = list(data)
        if len(ids) == 1 and parts[0] != ids[0]:
            selected, rest = ids[0], trimmed
        else:
            selected, rest = parts[0], ".".join(parts[1:])
        if selected not in data:
            printer.error(f'cluster "{selected}" in query "{query}" is not among the requested clusters')
            return 1
        return _emit(invocation, data[selected], None, rest)
    return _emit(invocation, data, None)


# -- output ---------------------------------------------------------------------------------------------------


def _emit(invocation, data: dict[str, Any], shortcuts: dict[str, str] | None, query: str | None = None) -> int:
    output_format = invocation.value("output")
    query = invocation.value("get") if query is None else query
    if query:
        try:
            text = _field(query, data, shortcuts or {}, output_format)
        except KeyError as error:
            invocation.printer.error(error.args[0])
            return 1
        sys.stdout.write(text + "\n")
        return 0
    if output_format:
        sys.stdout.write(_machine(to_plain(data), output_format) + "\n")
        return 0
    sys.stdout.write(_text(to_plain(data)))
    return 0


def _machine(value: Any, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(value, indent=2)
    return yaml.safe_dump(value, sort_keys=True, default_flow_style=False)


def _field(query: str, data: dict[str, Any], shortcuts: dict[str, str], output_format: str) -> str:
    query = shortcuts.get(query.lower(), query).lstrip(".")
    fields = query.split(".")
    if fields[0] not in data:
        raise KeyError(f'invalid query "{query}": "{fields[0]}" not found')
    current = data[fields[0]]
    for index, name in enumerate(fields[1:]):
        if not isinstance(current, Struct):
            raise KeyError(f'invalid query "{query}": "{fields[index]}" is not an object')
        match = next((item for item in current if item[1].lower() == name.lower()), None)
        # reflect.Value.IsZero: nil maps and slices are zero, empty non-nil ones are not.
        if match is None or match[2] is None or (not isinstance(match[2], (list, dict)) and not match[2]):
            raise KeyError(f'invalid query "{query}": "{name}" not found')
        current = match[2]
    if isinstance(current, (Struct, list, dict)):
        return _machine(to_plain(current), "json" if output_format == "json" else "yaml")
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def _text(value: Any, indent: int = 0) -> str:
    lines = []
    pad = "  " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                lines.append(f"{pad}{key}:")
                lines.append(_text(item, indent + 1).rstrip("\n"))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            lines.append(f"{pad}-")
            lines.append(_text(item, indent + 1).rstrip("\n"))
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return "\n".join(line for line in lines if line) + "\n"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
