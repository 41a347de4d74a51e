"""liqoctl unoffload namespace (pkg/liqoctl/unoffload of v1.0.3).

The command prompts for confirmation unless --skip-confirm. liqoctl's prompt reads keys from a terminal, and with
a non-terminal stdin it loops for ever; the stand-in exits 1 instead (see prompt.py). For each namespace it deletes
the NamespaceOffloading (NotFound ignored) and waits until it is gone. Liqo's controllers delete the remote
namespaces first and remove the liqo.io/scheduling-enabled label; the stand-in does the same.
"""

from __future__ import annotations

from . import liqo, namespaces, prompt, selectors
from . import resources as res
from .helm import wait_until
from .kube import KubeError
from .output import LiqoctlExit


def pre_run(invocation) -> None:
    """Ask for confirmation (AskConfirm("unoffload"))."""
    prompt.confirm(invocation, "unoffload")


def run(invocation) -> int:
    """Unoffload the named namespaces (or those matching --ns-selector)."""
    printer = invocation.printer
    names = list(invocation.args)
    label_selector = invocation.value("ns-selector")
    if not names and not label_selector:
        printer.error("namespace name or label selector must be specified")
        raise LiqoctlExit(1)
    if names and label_selector:
        printer.error("namespace name and label selector must not be specified together")
        raise LiqoctlExit(1)
    cluster = invocation.local.cluster
    if label_selector:
        try:
            selectors.parse(label_selector)
        except selectors.SelectorError:
            return 1
        for namespace in cluster.list(res.NAMESPACE.collection(), label_selector=label_selector):
            if namespace["metadata"]["name"] not in names:
                names.append(namespace["metadata"]["name"])
    if not names:
        printer.info("No namespaces can be unoffloaded")
        return 0
    failures = 0
    for name in names:
        failures += not _unoffload(invocation, name)
    return 1 if failures else 0


def _unoffload(invocation, namespace: str) -> bool:
    factory = invocation.local
    cluster = factory.cluster
    printer = factory.printer
    timeout = invocation.value("timeout") / 1e9
    spinner = printer.spinner(f'Disabling namespace offloading for "{namespace}"')
    try:
        # Deleting the CR starts the controllers' cleanup; the CR stays until the remote namespaces are gone.
        namespaces.reconcile_offloading(cluster, factory.liqo_namespace, namespace, deleting=True)
    except KubeError as error:
        spinner.fail(f"Failed disabling namespace offloading: {error.raw}")
        return False
    spinner.success(f'Offloading of namespace "{namespace}" correctly disabled')
    spinner = printer.spinner(f'Waiting for unoffloading of namespace "{namespace}" to complete')
    try:
        gone = wait_until(lambda: _remote_namespaces_gone(cluster, factory.liqo_namespace, namespace), timeout)
        if gone:
            cluster.delete(res.NAMESPACE_OFFLOADING.item("offloading", namespace))
    except KubeError as error:
        spinner.fail(f"Failed waiting for unoffloading to complete: {error}")
        return False
    if not gone:
        spinner.fail("Failed waiting for unoffloading to complete: timed out waiting for the condition")
        return False
    spinner.success("Unoffloading completed successfully")
    return True


def _remote_namespaces_gone(cluster, liqo_namespace: str, namespace: str) -> bool:
    """Whether no NamespaceMap still reports a remote namespace for this namespace (re-checking the providers)."""
    pending = False
    for namespace_map in cluster.list(res.NAMESPACE_MAP.collection(), label_selector="liqo.io/replication=true"):
        current = (namespace_map.get("status") or {}).get("currentMapping") or {}
        if namespace in current:
            consumer_id = liqo.cluster_id(cluster, liqo_namespace)
            desired = dict((namespace_map.get("spec") or {}).get("desiredMapping") or {})
            refreshed = namespaces.sync_namespace_map(cluster, namespace_map, desired, consumer_id)
            pending = pending or namespace in ((refreshed.get("status") or {}).get("currentMapping") or {})
    return not pending
