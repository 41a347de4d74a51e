"""liqoctl unpeer (pkg/liqoctl/unpeer of v1.0.3).

Order: read both cluster IDs, look up the local ForeignCluster of the provider (an error when it never existed),
delete the ResourceSlices, delete the VirtualNodes with their Nodes and NamespaceMaps, remove the Identity and
the Tenant, reset networking unless the peering is bidirectional, and with --delete-namespaces delete both tenant
namespaces. ForeignClusters are kept with role Unknown and all modules disabled, as in Liqo 1.0.x.
"""

from __future__ import annotations

from . import auth, foreigncluster, liqo, namespaces, network, offloading
from . import resources as res
from .helm import wait_until
from .kube import KubeError, not_found_error
from .network import StepFailed, cluster_id_or_exit


def run(invocation) -> int:
    """Tear down the peering from the local (consumer) cluster to the remote (provider) cluster."""
    local, remote = invocation.local, invocation.remote
    consumer_id = cluster_id_or_exit(local)
    provider_id = cluster_id_or_exit(remote)
    foreign_cluster = local.cluster.get(res.FOREIGN_CLUSTER.item(provider_id))
    matches = local.cluster.list(
        res.FOREIGN_CLUSTER.collection(), label_selector=f"liqo.io/remote-cluster-id={provider_id}"
    )
    if not matches:
        error = not_found_error("foreignclusters.core.liqo.io", f"foreign cluster with ID {provider_id}")
        local.check_err(f"an error occurred while checking bidirectional peering: {error}")
    foreign_cluster = matches[0]
    bidirectional = (foreign_cluster.get("status") or {}).get("role") == "ConsumerAndProvider"
    delete_namespaces = invocation.value("delete-namespaces")
    if bidirectional and delete_namespaces:
        local.check_err(
            "cannot delete the tenant namespace when a bidirectional is enabled, please remove the "
            "--delete-namespaces flag"
        )
    try:
        offloading.delete_resource_slices(local, remote, provider_id)
        offloading.delete_virtual_nodes(
            local, remote, provider_id, lambda peer: namespaces.drop_cluster(local.cluster, local.liqo_namespace, peer)
        )
    except (StepFailed, KubeError) as error:
        local.check_err(f"unable to disable offloading: {_raw(error)}")
    try:
        auth.unauthenticate(local, remote)
    except (StepFailed, KubeError) as error:
        local.check_err(f"unable to disable authentication: {_raw(error)}")
    if not bidirectional:
        try:
            network.reset(local, remote)
        except (StepFailed, KubeError) as error:
            local.check_err(f"unable to disable networking: {_raw(error)}")
    if delete_namespaces:
        timeout = invocation.value("timeout") / 1e9
        for factory, peer_id in ((local, provider_id), (remote, consumer_id)):
            if not _delete_tenant_namespace(factory, peer_id, invocation.value("wait"), timeout):
                return 1
    for factory, peer_id in ((local, provider_id), (remote, consumer_id)):
        foreigncluster.reconcile(factory.cluster, peer_id)
    return 0


def _raw(error: Exception) -> str:
    return error.raw if isinstance(error, KubeError) else str(error)


def _delete_tenant_namespace(factory, remote_id: str, wait: bool, timeout: float) -> bool:
    spinner = factory.printer.spinner("Deleting tenant namespace")
    try:
        namespace = liqo.get_tenant_namespace(factory.cluster, remote_id)
    except KubeError as error:
        if error.not_found:
            spinner.success("Tenant namespace already deleted")
            return True
        spinner.fail(f"Error while retrieving tenant namespace: {error}")
        return False
    name = namespace["metadata"]["name"]
    try:
        factory.cluster.delete(res.NAMESPACE.item(name))
    except KubeError as error:
        spinner.fail(f"Error while deleting tenant namespace: {error}")
        return False
    spinner.success("Tenant namespace deleted")
    if not wait:
        return True
    spinner = factory.printer.spinner("Waiting for tenant namespace to be deleted")
    if not wait_until(lambda: factory.cluster.get(res.NAMESPACE.item(name)) is None, timeout):
        spinner.fail("Failed waiting for tenant namespace to be deleted: timed out waiting for the condition")
        return False
    spinner.success("Ensured tenant namespace absence")
    return True
