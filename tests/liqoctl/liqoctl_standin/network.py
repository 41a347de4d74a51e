"""The networking part of peer and unpeer (pkg/liqoctl/network of v1.0.3), without gateway pods or tunnels.

liqoctl's steps and messages are kept: tenant namespaces, Configurations on both sides, template checks, the
GatewayServer on the server side and the GatewayClient on the other, PublicKeys and Connections. What Liqo's
controllers and gateway pods would write is written directly: the Configuration status (IPAM remapping), the
gateway Secrets holding WireGuard keys, the gateway status endpoints and Connections with status Connected.
The server endpoint address is the server cluster's first node address (there is no real Service).
"""

from __future__ import annotations

import base64
import ipaddress
import random
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519

from . import liqo, objects
from . import resources as res
from .factory import Factory
from .kube import KubeError
from .output import LiqoctlExit

NETWORKING_API = "networking.liqo.io/v1beta1"
ID_LABEL = "liqo.io/remote-cluster-id"
GATEWAY_RESOURCE_LABEL = "networking.liqo.io/gateway-resource"


class StepFailed(Exception):
    """A step failed after printing its ERRO line; the message is the Go error for the summary line."""


@dataclass
class Side:
    """One cluster in a network connect/reset: its factory, its ID, the peer's ID and its tenant namespace."""

    factory: Factory
    cluster_id: str = ""
    remote_id: str = ""
    namespace: str = ""
    configuration: dict[str, Any] | None = None

    @property
    def cluster(self):
        """REST access to this side."""
        return self.factory.cluster

    @property
    def printer(self):
        """This side's scoped printer."""
        return self.factory.printer


def cluster_id_or_exit(factory: Factory) -> str:
    """Read the cluster ID, or print liqoctl's CheckErr message and exit 1."""
    try:
        return liqo.cluster_id(factory.cluster, factory.liqo_namespace)
    except KubeError as error:
        factory.check_err(f"an error occurred while retrieving cluster id: {error}")
        raise


def new_sides(first: Factory, second: Factory, create_namespaces: bool) -> tuple[Side, Side]:
    """network.NewCluster for both sides: read both IDs and create (or find) both tenant namespaces."""
    first_side, second_side = Side(first), Side(second)
    for this, other in ((first_side, second_side), (second_side, first_side)):
        this.cluster_id = cluster_id_or_exit(this.factory)
        other.cluster_id = cluster_id_or_exit(other.factory)
        this.remote_id, other.remote_id = other.cluster_id, this.cluster_id
        this.namespace = _tenant_namespace(this, this.remote_id, create_namespaces, "local")
        other.namespace = _tenant_namespace(other, other.remote_id, create_namespaces, "remote")
    return first_side, second_side


def _tenant_namespace(side: Side, remote_id: str, create: bool, where: str) -> str:
    try:
        if create:
            namespace = liqo.ensure_tenant_namespace(side.cluster, remote_id)
        else:
            namespace = liqo.get_tenant_namespace(side.cluster, remote_id)
    except KubeError as error:
        verb = "creating" if create else "retrieving"
        side.factory.check_err(f"an error occurred while {verb} {where} tenant namespace: {error}")
        raise
    return namespace["metadata"]["name"]


# -- connect --------------------------------------------------------------------------------------------------


@dataclass
class ConnectOptions:
    """Gateway settings from the peer flags."""

    service_type: str
    port: int
    node_port: int
    load_balancer_ip: str
    client_address: str
    client_port: int
    mtu: int
    skip_validation: bool
    server_template_namespace: str
    client_template_namespace: str
    global_labels: dict[str, str]
    global_annotations: dict[str, str]


def connect(client_side: Factory, server_side: Factory, options: ConnectOptions) -> None:
    """network connect: client_side gets the GatewayClient, server_side the GatewayServer."""
    client_end, server_end = new_sides(client_side, server_side, create_namespaces=True)
    for side in (client_end, server_end):
        _retrieve_local_configuration(side)
    _setup_configuration(client_end, server_end.configuration, options)
    _setup_configuration(server_end, client_end.configuration, options)
    for side in (client_end, server_end):
        _wait_configuration(side)
    if not options.skip_validation:
        _check_template(server_end, "server", options.server_template_namespace, res.WG_SERVER_TEMPLATE, options)
        _check_template(client_end, "client", options.client_template_namespace, res.WG_CLIENT_TEMPLATE, options)
    for side in (client_end, server_end):
        _check_initialized(side)
    # A reverse peering may already have built the gateways between these clusters.
    if client_end.cluster.list(
        res.GATEWAY_SERVER.collection(client_end.namespace), label_selector=f"{ID_LABEL}={client_end.remote_id}"
    ):
        return
    if server_end.cluster.list(
        res.GATEWAY_CLIENT.collection(server_end.namespace), label_selector=f"{ID_LABEL}={server_end.remote_id}"
    ):
        return
    server = _ensure_gateway_server(server_end, options)
    server_end.printer.spinner(f"Waiting for gateway pod gw-{server['metadata']['name']} to be ready").success(
        f"Gateway pod gw-{server['metadata']['name']} is ready"
    )
    server = _set_server_status(server_end, server, options)
    server_end.printer.spinner("Waiting for gateway server Service to be created").success(
        "Gateway server Service created successfully"
    )
    endpoint = dict(server["status"]["endpoint"])
    if options.client_address:
        endpoint["addresses"] = [options.client_address]
    if options.client_port:
        endpoint["port"] = options.client_port
    client = _ensure_gateway_client(client_end, endpoint, options)
    client_end.printer.spinner(f"Waiting for gateway pod gw-{client['metadata']['name']} to be ready").success(
        f"Gateway pod gw-{client['metadata']['name']} is ready"
    )
    server_key = _gateway_keys(server_end, server, "server")
    server_end.printer.spinner("Waiting for gateway server Secret to be created").success(
        "Gateway server Secret created successfully"
    )
    _ensure_public_key(client_end, server_key, client, options)
    client_key = _gateway_keys(client_end, client, "client")
    client_end.printer.spinner("Waiting for gateway client Secret to be created").success(
        "Gateway client Secret created successfully"
    )
    _ensure_public_key(server_end, client_key, server, options)
    connection_two = _ensure_connection(server_end, server, "Server")
    connection_one = _ensure_connection(client_end, client, "Client")
    server_end.printer.spinner("Waiting for Connection to be created").success("Connection created successfully")
    client_end.printer.spinner("Waiting for Connection to be created").success("Connection created successfully")
    for side, connection in ((client_end, connection_one), (server_end, connection_two)):
        _establish(side, connection)
        side.printer.spinner("Waiting for Connection status to be established").success("Connection is established")


def _network_cidr(side: Side, network_type: str) -> str:
    items = side.cluster.list(
        res.NETWORK.collection(side.factory.liqo_namespace), label_selector=f"ipam.liqo.io/network-type={network_type}"
    )
    if len(items) != 1:
        if not items:
            raise KubeError(f'networks.ipam.liqo.io "{network_type}" not found')
        raise KubeError(f"multiple networks found with label ipam.liqo.io/network-type={network_type}")
    cidr = (items[0].get("status") or {}).get("cidr", "")
    if not cidr:
        kind = "pod" if network_type == "pod-cidr" else "external"
        raise KubeError(f"the {kind} CIDR is not yet configured: missing status on the Network resource")
    return cidr


def _retrieve_local_configuration(side: Side) -> None:
    spinner = side.printer.spinner("Retrieving network configuration")
    try:
        pod_cidr = _network_cidr(side, "pod-cidr")
    except KubeError as error:
        spinner.fail(f"An error occurred while retrieving network configuration: unable to retrieve pod CIDR: {error}")
        raise StepFailed(f"unable to retrieve pod CIDR: {error.raw}") from None
    try:
        external_cidr = _network_cidr(side, "external-cidr")
    except KubeError as error:
        spinner.fail(
            f"An error occurred while retrieving network configuration: unable to retrieve external CIDR: {error}"
        )
        raise StepFailed(f"unable to retrieve external CIDR: {error.raw}") from None
    side.configuration = {"pod": [pod_cidr], "external": [external_cidr], "id": side.cluster_id}
    spinner.success("Network configuration correctly retrieved")


def _setup_configuration(side: Side, peer: dict[str, Any], options: ConnectOptions) -> None:
    spinner = side.printer.spinner("Setting up network configuration")

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: peer["id"]})
        obj.setdefault("spec", {})["remote"] = {"cidr": {"pod": list(peer["pod"]), "external": list(peer["external"])}}

    try:
        objects.create_or_update(
            side.cluster,
            res.CONFIGURATION,
            peer["id"],
            side.namespace,
            mutate,
            global_labels=options.global_labels,
            global_annotations=options.global_annotations,
        )
        _remap(side, peer)
    except KubeError as error:
        spinner.fail(f"An error occurred while setting up network configuration: {error}")
        raise StepFailed(error.raw) from None
    spinner.success("Network configuration correctly set up")


def _allocated(side: Side, except_name: str) -> list:
    """Subnets the IPAM of this side already uses: its own Networks and earlier remappings."""
    allocated_networks = []
    for network in side.cluster.list(res.NETWORK.collection()):
        cidr = (network.get("status") or {}).get("cidr") or network.get("spec", {}).get("cidr")
        if cidr:
            allocated_networks.append(ipaddress.ip_network(cidr, strict=False))
    for configuration in side.cluster.list(res.CONFIGURATION.collection()):
        if (
            configuration["metadata"]["name"] == except_name
            and configuration["metadata"]["namespace"] == side.namespace
        ):
            continue
        remote = ((configuration.get("status") or {}).get("remote") or {}).get("cidr") or {}
        for cidr in [*(remote.get("pod") or []), *(remote.get("external") or [])]:
            allocated_networks.append(ipaddress.ip_network(cidr, strict=False))
    return allocated_networks


def _pools(side: Side) -> list:
    try:
        deployment = side.cluster.get(res.DEPLOYMENT.item("liqo-ipam", side.factory.liqo_namespace))
        args = deployment["spec"]["template"]["spec"]["containers"][0].get("args") or [] if deployment else []
        value = liqo.argument_value(args, "--pools")
    except (KubeError, KeyError, IndexError):
        value = None
    text = value or "10.0.0.0/8,192.168.0.0/16,172.16.0.0/12"
    return [ipaddress.ip_network(item, strict=False) for item in text.split(",") if item]


def _remap_one(cidr: str, allocated_networks: list, pools: list) -> str:
    network = ipaddress.ip_network(cidr, strict=False)
    if not any(network.overlaps(item) for item in allocated_networks):
        return cidr
    for pool in pools:
        if pool.prefixlen > network.prefixlen or pool.version != network.version:
            continue
        for candidate in pool.subnets(new_prefix=network.prefixlen):
            if not any(candidate.overlaps(item) for item in allocated_networks):
                return str(candidate)
    raise KubeError(f"no free network of size /{network.prefixlen} left in the IPAM pools for {cidr}")


def _remap(side: Side, peer: dict[str, Any]) -> None:
    """What the IPAM does with a new Configuration: keep the peer's CIDRs, or remap them when they collide."""
    allocated_networks = _allocated(side, peer["id"])
    pools = _pools(side)
    remapped: dict[str, list[str]] = {}
    for key in ("pod", "external"):
        remapped[key] = []
        for cidr in peer[key]:
            chosen = _remap_one(cidr, allocated_networks, pools)
            allocated_networks.append(ipaddress.ip_network(chosen, strict=False))
            remapped[key].append(chosen)
    objects.write_status(
        side.cluster,
        res.CONFIGURATION,
        peer["id"],
        side.namespace,
        lambda live: {**(live.get("status") or {}), "remote": {"cidr": remapped}},
    )


def _wait_configuration(side: Side) -> None:
    side.printer.spinner("Waiting for configuration to be applied").success("Configuration applied successfully")


def _check_template(side: Side, role: str, namespace: str, kind, options: ConnectOptions) -> None:
    name = f"wireguard-{role}"
    spinner = side.printer.spinner(f'Checking gateway {role} template "{name}/{namespace}"')
    try:
        template = side.cluster.request("GET", kind.item(name, namespace))
    except KubeError as error:
        spinner.fail(f'An error occurred while checking gateway {role} template "{name}/{namespace}": {error}')
        raise StepFailed(error.raw) from None
    problem = _template_service_problem(template, options) if role == "server" else ""
    if problem:
        spinner.fail(f'An error occurred while checking gateway {role} template "{name}/{namespace}": {problem}')
        raise StepFailed(problem)
    spinner.success(f'Gateway {role} template "{name}/{namespace}" correctly checked')


def _template_service_problem(template: dict[str, Any], options: ConnectOptions) -> str:
    service_spec = (((template.get("spec") or {}).get("template") or {}).get("spec") or {}).get("service") or {}
    service_spec = service_spec.get("spec") or {}
    if options.service_type == "NodePort" and options.node_port:
        ports = service_spec.get("ports")
        if not isinstance(ports, list) or not ports or not isinstance(ports[0], dict):
            return "unable to get spec.template.spec.service.spec.ports of the server template"
        if "nodePort" not in ports[0] and "?nodePort" not in ports[0]:
            return (
                "unable to get spec.template.spec.service.spec.ports[0].nodePort int the server template, since "
                'you specified the flag "--gw-server-service-nodeport" you need to add the "nodePort" field in '
                "the template"
            )
    if (
        options.service_type == "LoadBalancer"
        and options.load_balancer_ip
        and "loadBalancerIP" not in service_spec
        and "?loadBalancerIP" not in service_spec
    ):
        return (
            "unable to get spec.template.spec.service.spec of the server template, since you specified the "
            'flag "--gw-server-service-loadbalancerip" you need to add the "loadBalancerIP" field in the '
            "template"
        )
    return ""


def _check_initialized(side: Side) -> None:
    spinner = side.printer.spinner("Checking network is initialized correctly")
    live = side.cluster.get(res.CONFIGURATION.item(side.remote_id, side.namespace))
    remote = ((live or {}).get("status") or {}).get("remote") or {}
    if live is None or not (remote.get("cidr") or {}).get("pod"):
        message = (
            "network Configuration status is not set yet. Retry later. If the issue persist, you can try to "
            "reset the network with `liqoctl network reset`"
        )
        spinner.fail(message)
        raise StepFailed(message)
    spinner.success("Network correctly initialized")


def _node_address(side: Side) -> str:
    for node in side.cluster.list(res.NODE.collection()):
        if (node["metadata"].get("labels") or {}).get("liqo.io/type") == "virtual-node":
            continue
        addresses = {item["type"]: item["address"] for item in node.get("status", {}).get("addresses") or []}
        for address_type in ("ExternalDNS", "ExternalIP", "InternalDNS", "InternalIP"):
            if address_type in addresses:
                return addresses[address_type]
    return "127.0.0.1"


def _ensure_gateway_server(side: Side, options: ConnectOptions) -> dict[str, Any]:
    spinner = side.printer.spinner("Setting up gateway server")
    existing = side.cluster.list(
        res.GATEWAY_SERVER.collection(side.namespace), label_selector=f"{ID_LABEL}={side.remote_id}"
    )
    name = existing[0]["metadata"]["name"] if existing else side.remote_id

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: side.remote_id})
        endpoint: dict[str, Any] = {"port": options.port, "serviceType": options.service_type}
        if options.node_port:
            endpoint["nodePort"] = options.node_port
        if options.load_balancer_ip:
            endpoint["loadBalancerIP"] = options.load_balancer_ip
        obj["spec"] = {
            **(obj.get("spec") or {}),
            "mtu": options.mtu,
            "endpoint": endpoint,
            "serverTemplateRef": {
                "name": "wireguard-server",
                "namespace": options.server_template_namespace,
                "kind": "WgGatewayServerTemplate",
                "apiVersion": NETWORKING_API,
            },
        }

    try:
        server = objects.create_or_update(
            side.cluster,
            res.GATEWAY_SERVER,
            name,
            side.namespace,
            mutate,
            global_labels=options.global_labels,
            global_annotations=options.global_annotations,
        )
    except KubeError as error:
        spinner.fail(f"An error occurred while setting up gateway server: {error}")
        raise StepFailed(error.raw) from None
    spinner.success("Gateway server correctly set up")
    return server


def _set_server_status(side: Side, server: dict[str, Any], options: ConnectOptions) -> dict[str, Any]:
    name = server["metadata"]["name"]

    def build(live: dict[str, Any]) -> dict[str, Any]:
        previous = (live.get("status") or {}).get("endpoint") or {}
        if options.service_type == "NodePort":
            port = options.node_port or previous.get("port") or random.randint(30000, 32767)
        else:
            port = options.port
        address = (
            options.load_balancer_ip
            if options.service_type == "LoadBalancer" and options.load_balancer_ip
            else _node_address(side)
        )
        return {
            **(live.get("status") or {}),
            "endpoint": {"addresses": [address], "port": port, "protocol": "UDP"},
            "serverRef": {
                "apiVersion": NETWORKING_API,
                "kind": "WgGatewayServer",
                "name": name,
                "namespace": side.namespace,
            },
            "secretRef": {"name": f"gw-{name}", "namespace": side.namespace},
        }

    return objects.write_status(side.cluster, res.GATEWAY_SERVER, name, side.namespace, build)


def _ensure_gateway_client(side: Side, endpoint: dict[str, Any], options: ConnectOptions) -> dict[str, Any]:
    spinner = side.printer.spinner("Setting up gateway client")
    existing = side.cluster.list(
        res.GATEWAY_CLIENT.collection(side.namespace), label_selector=f"{ID_LABEL}={side.remote_id}"
    )
    name = existing[0]["metadata"]["name"] if existing else side.remote_id

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: side.remote_id})
        obj["spec"] = {
            **(obj.get("spec") or {}),
            "mtu": options.mtu,
            "endpoint": {
                "addresses": list(endpoint["addresses"]),
                "port": endpoint["port"],
                "protocol": endpoint.get("protocol", "UDP"),
            },
            "clientTemplateRef": {
                "name": "wireguard-client",
                "namespace": options.client_template_namespace,
                "kind": "WgGatewayClientTemplate",
                "apiVersion": NETWORKING_API,
            },
        }

    try:
        client = objects.create_or_update(
            side.cluster,
            res.GATEWAY_CLIENT,
            name,
            side.namespace,
            mutate,
            global_labels=options.global_labels,
            global_annotations=options.global_annotations,
        )
        client = objects.write_status(
            side.cluster,
            res.GATEWAY_CLIENT,
            name,
            side.namespace,
            lambda live: {
                **(live.get("status") or {}),
                "clientRef": {
                    "apiVersion": NETWORKING_API,
                    "kind": "WgGatewayClient",
                    "name": name,
                    "namespace": side.namespace,
                },
                "secretRef": {"name": f"gw-{name}", "namespace": side.namespace},
            },
        )
    except KubeError as error:
        spinner.fail(f"An error occurred while setting up gateway client: {error}")
        raise StepFailed(error.raw) from None
    spinner.success("Gateway client correctly set up")
    return client


def _gateway_keys(side: Side, gateway: dict[str, Any], role: str) -> str:
    """The gateway's WireGuard key Secret gw-<name> (made by the gateway controller); return the public key."""
    name = f"gw-{gateway['metadata']['name']}"
    live = side.cluster.get(res.SECRET.item(name, side.namespace))
    if live is not None and "publicKey" in (live.get("data") or {}):
        return live["data"]["publicKey"]
    private = x25519.X25519PrivateKey.generate()
    private_raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    secret = res.SECRET.skeleton(name, side.namespace)
    secret["metadata"]["labels"] = {
        ID_LABEL: side.remote_id,
        GATEWAY_RESOURCE_LABEL: "true",
        "networking.liqo.io/gateway-type": role,
    }
    objects.set_owner(secret, gateway)
    secret["data"] = {
        "privateKey": base64.b64encode(private_raw).decode(),
        "publicKey": base64.b64encode(public_raw).decode(),
    }
    side.cluster.create(res.SECRET.collection(side.namespace), secret)
    return secret["data"]["publicKey"]


def _ensure_public_key(side: Side, key: str, owner: dict[str, Any], options: ConnectOptions) -> None:
    spinner = side.printer.spinner("Creating public key")
    existing = side.cluster.list(
        res.PUBLIC_KEY.collection(side.namespace), label_selector=f"{ID_LABEL}={side.remote_id}"
    )
    name = existing[0]["metadata"]["name"] if existing else side.remote_id

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: side.remote_id, GATEWAY_RESOURCE_LABEL: "true"})
        obj["spec"] = {"publicKey": key}
        objects.set_owner(obj, owner)

    try:
        objects.create_or_update(
            side.cluster,
            res.PUBLIC_KEY,
            name,
            side.namespace,
            mutate,
            global_labels=options.global_labels,
            global_annotations=options.global_annotations,
        )
    except KubeError as error:
        spinner.fail(f"An error occurred while creating public key: {error}")
        raise StepFailed(error.raw) from None
    spinner.success("Public key correctly created")


def _ensure_connection(side: Side, gateway: dict[str, Any], connection_type: str) -> dict[str, Any]:
    """The Connection a gateway pod creates (name gw-<gateway>), owned by the gateway resource."""
    name = f"gw-{gateway['metadata']['name']}"
    managed_labels, managed_annotations = objects.controller_globals(side.cluster, side.factory.liqo_namespace)

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: side.remote_id})
        objects.set_owner(obj, gateway)
        kind = "WgGatewayServer" if connection_type == "Server" else "WgGatewayClient"
        obj["spec"] = {
            "type": connection_type,
            "gatewayRef": {
                "apiVersion": NETWORKING_API,
                "kind": kind,
                "name": gateway["metadata"]["name"],
                "namespace": side.namespace,
            },
        }

    return objects.create_or_update(
        side.cluster,
        res.CONNECTION,
        name,
        side.namespace,
        mutate,
        global_labels=managed_labels,
        global_annotations=managed_annotations,
    )


def _establish(side: Side, connection: dict[str, Any]) -> None:
    name = connection["metadata"]["name"]
    objects.write_status(
        side.cluster,
        res.CONNECTION,
        name,
        side.namespace,
        lambda live: {
            **(live.get("status") or {}),
            "value": "Connected",
            "latency": {"value": "1ms", "timestamp": objects.now()},
        },
    )


# -- reset ----------------------------------------------------------------------------------------------------


def reset(local: Factory, remote: Factory) -> None:
    """network reset: delete gateways and Configurations on both sides (tenant namespaces must exist)."""
    local_end, remote_end = new_sides(local, remote, create_namespaces=False)
    for side, target, kind, role in (
        (local_end, remote_end, res.GATEWAY_CLIENT, "client"),
        (remote_end, local_end, res.GATEWAY_CLIENT, "client"),
        (local_end, remote_end, res.GATEWAY_SERVER, "server"),
        (remote_end, local_end, res.GATEWAY_SERVER, "server"),
    ):
        _delete_gateway(side, target.cluster_id, kind, role)
    for side, target in ((local_end, remote_end), (remote_end, local_end)):
        _delete_configuration(side, target.cluster_id)


def _delete_gateway(side: Side, remote_id: str, kind, role: str) -> None:
    spinner = side.printer.spinner(f"Deleting gateway {role}")
    items = side.cluster.list(kind.collection(side.namespace), label_selector=f"{ID_LABEL}={remote_id}")
    if not items:
        spinner.success(f"Gateway {role} already deleted")
        return
    gateway = items[0]
    try:
        deleted = side.cluster.delete(kind.item(gateway["metadata"]["name"], side.namespace))
        _delete_gateway_dependents(side, gateway)
    except KubeError as error:
        spinner.fail(f"An error occurred while deleting gateway {role}: {error}")
        raise StepFailed(error.raw) from None
    spinner.success(f"Gateway {role} correctly deleted" if deleted else f"Gateway {role} already deleted")


def _delete_gateway_dependents(side: Side, gateway: dict[str, Any]) -> None:
    # The garbage collector removes these through their owner references; deleting them here avoids waiting.
    name = f"gw-{gateway['metadata']['name']}"
    side.cluster.delete(res.CONNECTION.item(name, side.namespace))
    side.cluster.delete(res.SECRET.item(name, side.namespace))
    for key in side.cluster.list(res.PUBLIC_KEY.collection(side.namespace)):
        owners = key["metadata"].get("ownerReferences") or []
        if any(owner.get("uid") == gateway["metadata"]["uid"] for owner in owners):
            side.cluster.delete(res.PUBLIC_KEY.item(key["metadata"]["name"], side.namespace))


def _delete_configuration(side: Side, remote_id: str) -> None:
    spinner = side.printer.spinner("Deleting network configuration")
    items = side.cluster.list(res.CONFIGURATION.collection(side.namespace), label_selector=f"{ID_LABEL}={remote_id}")
    if not items:
        spinner.success("Network configuration already deleted")
        return
    try:
        deleted = side.cluster.delete(res.CONFIGURATION.item(items[0]["metadata"]["name"], side.namespace))
    except KubeError as error:
        spinner.fail(f"An error occurred while deleting network configuration: {error}")
        raise StepFailed(error.raw) from None
    spinner.success("Network configuration correctly deleted" if deleted else "Network configuration already deleted")


def exit_on_step_failure(error: StepFailed, printer) -> None:
    """Print nothing more and exit 1 (the ERRO line was already printed)."""
    del error, printer
    raise LiqoctlExit(1)
