"""liqoctl peer (pkg/liqoctl/peer of v1.0.3): networking, then authentication, then the ResourceSlice.

Run with the consumer's kubeconfig and --remote-kubeconfig for the provider. Every object is created or
updated, so running peer again is safe and rewrites the ResourceSlice spec. A failing step prints liqoctl's ERRO
line and the summary "Unable to ensure <step>: <error>", and exits 1.
"""

from __future__ import annotations

from . import auth, foreigncluster, liqo, namespaces, network, objects, offloading, quantity
from . import resources as res
from .kube import KubeError
from .network import StepFailed


def run(invocation) -> int:
    """Peer the local (consumer) cluster with the remote (provider) cluster."""
    labels = dict(invocation.value("global-labels"))
    annotations = dict(invocation.value("global-annotations"))
    try:
        return _peer(invocation, labels, annotations)
    finally:
        # Liqo's controllers react to whatever objects were created, also when a step failed.
        try:
            _refresh_controllers(invocation.local, invocation.remote)
        except KubeError as error:
            invocation.local.printer.verbosef(f"stand-in: could not refresh the controllers' view: {error}")


def _peer(invocation, labels, annotations) -> int:
    local, remote = invocation.local, invocation.remote
    global_printer = local.global_printer
    if not invocation.value("networking-disabled"):
        try:
            _ensure_networking(invocation, labels, annotations)
        except (StepFailed, KubeError) as error:
            global_printer.error(f"Unable to ensure networking: {_raw(error)}")
            return 1
    try:
        auth.authenticate(
            local,
            remote,
            in_band=invocation.value("in-band"),
            proxy_url=invocation.value("proxy-url"),
            global_labels=labels,
            global_annotations=annotations,
        )
    except (StepFailed, KubeError) as error:
        global_printer.error(f"Unable to ensure authentication: {_raw(error)}")
        return 1
    if invocation.value("create-resource-slice"):
        try:
            _ensure_offloading(invocation, labels, annotations)
        except (StepFailed, KubeError) as error:
            global_printer.error(f"Unable to ensure offloading: {_raw(error)}")
            return 1
    return 0


def _raw(error: Exception) -> str:
    return error.raw if isinstance(error, KubeError) else str(error)


def _ensure_networking(invocation, labels, annotations) -> None:
    local, remote = invocation.local, invocation.remote
    client_side, server_side = local, remote
    if invocation.value("gw-server-service-location") == "Consumer":
        client_side, server_side = remote, local
    options = network.ConnectOptions(
        service_type=invocation.value("gw-server-service-type"),
        port=invocation.value("gw-server-service-port"),
        node_port=invocation.value("gw-server-service-nodeport"),
        load_balancer_ip=invocation.value("gw-server-service-loadbalancerip"),
        client_address=invocation.value("gw-client-address"),
        client_port=invocation.value("gw-client-port"),
        mtu=invocation.value("mtu"),
        skip_validation=invocation.value("skip-validation"),
        server_template_namespace=server_side.liqo_namespace,
        client_template_namespace=client_side.liqo_namespace,
        global_labels=labels,
        global_annotations=annotations,
    )
    network.connect(client_side, server_side, options)


def _ensure_offloading(invocation, labels, annotations) -> None:
    local, remote = invocation.local, invocation.remote
    others = dict(invocation.value("resource"))
    try:
        resources = offloading.requested_resources(
            invocation.value("cpu"), invocation.value("memory"), invocation.value("pods"), others
        )
    except quantity.QuantityError as error:
        resources = error
    offloading.create_resource_slice(
        local,
        remote,
        resource_class=invocation.value("resource-slice-class"),
        create_virtual_node=invocation.value("create-virtual-node"),
        resources=resources,
        global_labels=labels,
        global_annotations=annotations,
    )


def _refresh_controllers(local, remote) -> None:
    """ForeignClusters on both sides, and namespace offloadings that may now select the new virtual node."""
    try:
        local_id = liqo.cluster_id(local.cluster, local.liqo_namespace)
        remote_id = liqo.cluster_id(remote.cluster, remote.liqo_namespace)
    except KubeError:
        return
    for factory, peer_id in ((local, remote_id), (remote, local_id)):
        if not _has_peering_objects(factory.cluster, peer_id):
            continue
        labels, _unused = objects.controller_globals(factory.cluster, factory.liqo_namespace)
        foreigncluster.ensure(factory.cluster, peer_id, labels)
        foreigncluster.reconcile(factory.cluster, peer_id)
    for item in local.cluster.list(res.NAMESPACE_OFFLOADING.collection()):
        namespaces.reconcile_offloading(local.cluster, local.liqo_namespace, item["metadata"]["namespace"])


def _has_peering_objects(cluster, peer_id: str) -> bool:
    selector = f"liqo.io/remote-cluster-id={peer_id}"
    kinds = (res.CONFIGURATION, res.TENANT, res.IDENTITY, res.VIRTUAL_NODE, res.GATEWAY_SERVER, res.GATEWAY_CLIENT)
    return any(cluster.list(kind.collection(), label_selector=selector) for kind in kinds)
