"""liqoctl uninstall [--purge] (pkg/liqoctl/uninstall and pkg/utils/preuninstall.go of v1.0.3).

The pre-uninstall checks refuse while any ForeignCluster has a module enabled, any NamespaceOffloading,
ResourceSlice or Configuration exists, or a non-preinstalled IP/Network carries finalizers. Then the release is
removed: the chart's pre-delete job deletes ForeignClusters, the release objects and revisions go, and liqoctl
checks that no ClusterRole labelled app.kubernetes.io/part-of=liqo is left. --purge also deletes the CRDs of
the five Liqo API groups, the tenant namespaces and the Liqo namespace, without waiting.
"""

from __future__ import annotations

from typing import Any

from . import helm, prompt
from . import resources as res
from .kube import Cluster, KubeError


def pre_run(invocation) -> None:
    """Ask for confirmation (AskConfirm("uninstall"))."""
    prompt.confirm(invocation, "uninstall")


def _list_or_empty(cluster: Cluster, kind) -> list[dict[str, Any]]:
    # IgnoreNoMatchError: a kind whose CRD is missing has no objects.
    try:
        return cluster.list(kind.collection())
    except KubeError as error:
        if error.status == 404:
            return []
        raise


def pre_uninstall_error(cluster: Cluster) -> tuple[str, set[str]]:
    """The "you should: ..." message of PreUninstall and the kinds of problems found."""
    errors: dict[str, list[str]] = {
        "networking": [],
        "authentication": [],
        "offloading": [],
        "namespaces": [],
        "generic": [],
    }
    foreign_clusters = _list_or_empty(cluster, res.FOREIGN_CLUSTER)
    known_ids = {item["spec"]["clusterID"] for item in foreign_clusters}
    for item in foreign_clusters:
        modules = (item.get("status") or {}).get("modules") or {}
        for name in ("networking", "authentication", "offloading"):
            if (modules.get(name) or {}).get("enabled"):
                errors[name].append(item["spec"]["clusterID"])
    for item in _list_or_empty(cluster, res.NAMESPACE_OFFLOADING):
        errors["namespaces"].append(item["metadata"]["namespace"])

    def add(obj: dict[str, Any], group: str, kind_name: str) -> None:
        remote_id = (obj["metadata"].get("labels") or {}).get("liqo.io/remote-cluster-id", "")
        if remote_id and remote_id in known_ids:
            if remote_id not in errors[group]:
                errors[group].append(remote_id)
            return
        entry = f"{kind_name}: {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
        if entry not in errors["generic"]:
            errors["generic"].append(entry)

    for item in _list_or_empty(cluster, res.RESOURCE_SLICE):
        add(item, "authentication", "ResourceSlice.authentication.liqo.io")
    for item in _list_or_empty(cluster, res.CONFIGURATION):
        add(item, "networking", "Configuration.networking.liqo.io")
    for kind, kind_name in ((res.IP, "IP.ipam.liqo.io"), (res.NETWORK, "Network.ipam.liqo.io")):
        for item in _list_or_empty(cluster, kind):
            annotations = item["metadata"].get("annotations") or {}
            preinstalled = (
                "liqo.io/preinstalled" in annotations and annotations["liqo.io/preinstalled"].lower() != "false"
            )
            ip_type = (item["metadata"].get("labels") or {}).get("ipam.liqo.io/ip-type", "")
            if preinstalled or ip_type in ("api-server", "api-server-proxy"):
                continue
            if item["metadata"].get("finalizers"):
                add(item, "networking", kind_name)
    text = ""
    kinds: set[str] = set()
    for key, title, kind in (
        ("networking", "disable networking for clusters", "peerings"),
        ("authentication", "disable authentication for clusters", "peerings"),
        ("offloading", "disable offloading for clusters", "peerings"),
        ("namespaces", "unoffload the following namespaces", "namespaces"),
        ("generic", "remove the following resources", "generic"),
    ):
        if errors[key]:
            text += f"\n{title}:\n" + "".join(f"- {entry}\n" for entry in errors[key])
            kinds.add(kind)
    return (f"you should:\n{text}" if kinds else ""), kinds


def run(invocation) -> int:
    """Uninstall Liqo from the local cluster."""
    factory = invocation.local
    printer = factory.printer
    cluster = factory.cluster
    namespace = factory.liqo_namespace
    spinner = printer.spinner("Running pre-uninstall checks")
    try:
        message, kinds = pre_uninstall_error(cluster)
    except KubeError as error:
        spinner.fail(f"Pre-uninstall checks failed: {error}")
        return 1
    if message:
        spinner.fail(f"Pre-uninstall checks failed: {message}")
        if "peerings" in kinds:
            printer.error(
                "You must remove all the active peerings with other clusters before uninstalling Liqo.\n"
                "You can disable the active peerings via the 'liqoctl unpeer' command.\n"
                "Check 'liqoctl unpeer --help' for further information."
            )
        if "namespaces" in kinds:
            printer.error(
                "You must remove all the offloaded namespaces before uninstalling Liqo.\n"
                "You can disable the namespace offloading 'liqoctl unoffload' command.\n"
                "Check 'liqoctl unoffload --help' for further information.\n"
            )
        return 1
    spinner.success("Pre-uninstall checks passed")
    spinner = printer.spinner("Uninstalling Liqo")
    try:
        _uninstall_release(cluster, namespace)
        leftovers = cluster.list(res.CLUSTER_ROLE.collection(), label_selector="app.kubernetes.io/part-of=liqo")
    except KubeError as error:
        spinner.fail(f"Error uninstalling Liqo: {error}")
        return 1
    if leftovers:
        spinner.fail(
            "Error uninstalling Liqo: cluster-wide resources are still present - did you specify the right namespace?"
        )
        return 1
    spinner.success("Liqo uninstalled")
    if not invocation.value("purge"):
        return 0
    spinner = printer.spinner("Purging Liqo CRDs")
    try:
        _purge_crds(cluster)
    except KubeError as error:
        spinner.fail(f"Error purging CRDs: {error}")
        return 1
    spinner.success("Liqo CRDs purged")
    spinner = printer.spinner("Deleting Liqo namespaces")
    try:
        _delete_namespaces(cluster, namespace)
    except KubeError as error:
        spinner.fail(f"Error deleting namespaces: {error}")
        return 1
    spinner.success("Liqo namespaces deleted")
    return 0


def _uninstall_release(cluster: Cluster, namespace: str) -> None:
    """helm uninstall liqo: the pre-delete job's cleanup, the release objects, then the release history."""
    release = helm.Release(cluster, namespace)
    history = release.history()
    if not history:
        return
    for item in _list_or_empty(cluster, res.FOREIGN_CLUSTER):
        cluster.delete(res.FOREIGN_CLUSTER.item(item["metadata"]["name"]))
    for kind in (res.IP, res.NETWORK):
        for item in _list_or_empty(cluster, kind):
            if item["metadata"].get("namespace") == namespace and (item["metadata"].get("annotations") or {}).get(
                "liqo.io/preinstalled"
            ):
                continue
            cluster.delete(res.path_of({**item, "kind": kind.kind}))
    latest = history[-1]
    helm.delete_objects(cluster, helm.objects_of(latest["manifest"]))
    release.delete_all()


def _purge_crds(cluster: Cluster) -> None:
    for group_version in res.LIQO_GROUP_VERSIONS:
        try:
            resources = cluster.request("GET", f"/apis/{group_version}")
        except KubeError as error:
            if error.not_found:
                continue
            raise
        group = group_version.split("/", maxsplit=1)[0]
        for item in resources.get("resources") or []:
            if "/" in item["name"]:
                continue
            cluster.delete(res.CRD.item(f"{item['name']}.{group}"))


def _delete_namespaces(cluster: Cluster, namespace: str) -> None:
    for item in cluster.list(res.NAMESPACE.collection(), label_selector="liqo.io/tenant-namespace=true"):
        cluster.delete(res.NAMESPACE.item(item["metadata"]["name"]))
    cluster.delete(res.NAMESPACE.item(namespace))
    for item in cluster.list(res.NAMESPACE.collection(), label_selector="liqo.io/storage-provisioner=true"):
        cluster.delete(res.NAMESPACE.item(item["metadata"]["name"]))
