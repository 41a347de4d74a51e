"""liqoctl offload namespace (cmd/liqoctl/cmd/offload.go, pkg/liqoctl/offload of v1.0.3).

The NamespaceOffloading `offloading` is built exactly as liqoctl builds it. The checks of Liqo's validating
webhook (nsoff.validate.liqo.io) are applied here, since the stand-in registers no webhook: SelectedName needs a
remote name, and the mapping strategy and remote name cannot change after creation.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml

from . import namespaces, objects, selectors
from . import resources as res
from .kube import KubeError
from .output import LiqoctlExit

WEBHOOK = "nsoff.validate.liqo.io"


def pre_run(invocation) -> None:
    """Parse the -l/--selector values into NodeSelectorTerms, failing like liqoctl's CheckErr."""
    terms = []
    for text in invocation.value("selector"):
        try:
            terms.append({"matchExpressions": selectors.to_match_expressions(text)})
        except selectors.SelectorError as error:
            invocation.local.check_err(str(error))
    invocation.extra["cluster_selector"] = {"nodeSelectorTerms": terms}


def run(invocation) -> int:
    """Offload the named namespaces (or those matching --ns-selector)."""
    printer = invocation.printer
    names = list(invocation.args)
    label_selector = invocation.value("ns-selector")
    if not names and not label_selector:
        printer.error("namespace name or label selector must be specified")
        raise LiqoctlExit(1)
    if names and label_selector:
        printer.error("namespace name and label selector must not be specified together")
        raise LiqoctlExit(1)
    if (len(names) > 1 or label_selector) and invocation.value("remote-namespace-name"):
        printer.error("the remote namespace name cannot be specified when offloading multiple namespaces at once")
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
        printer.info("No namespaces can be offloaded")
        return 0
    failures = 0
    for name in names:
        failures += not _offload(invocation, name)
    return 1 if failures else 0


def _spec(invocation) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "namespaceMappingStrategy": invocation.value("namespace-mapping-strategy"),
        "podOffloadingStrategy": invocation.value("pod-offloading-strategy"),
        "clusterSelector": invocation.extra["cluster_selector"],
    }
    if invocation.value("remote-namespace-name"):
        spec["remoteNamespaceName"] = invocation.value("remote-namespace-name")
    return spec


def _print_manifest(invocation, namespace: str) -> None:
    obj = {
        "kind": "NamespaceOffloading",
        "apiVersion": "offloading.liqo.io/v1beta1",
        "metadata": {"name": "offloading", "namespace": namespace, "creationTimestamp": None},
        "spec": {
            "namespaceMappingStrategy": invocation.value("namespace-mapping-strategy"),
            **(
                {"remoteNamespaceName": invocation.value("remote-namespace-name")}
                if invocation.value("remote-namespace-name")
                else {}
            ),
            "podOffloadingStrategy": invocation.value("pod-offloading-strategy"),
            "clusterSelector": invocation.extra["cluster_selector"],
        },
        "status": {},
    }
    if invocation.value("output") == "json":
        sys.stdout.write(json.dumps(obj, indent=4) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(_sorted(obj), sort_keys=False, default_flow_style=False) + "---\n")
    sys.stdout.flush()


def _sorted(value: Any) -> Any:
    # sigs.k8s.io/yaml (used by kubectl's YAML printer) emits keys in sorted order.
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _webhook_denial(message: str) -> KubeError:
    text = f'admission webhook "{WEBHOOK}" denied the request: {message}'
    return KubeError(f"Error from server (Forbidden): {text}", status=403, reason="Forbidden", api_message=text)


def _offload(invocation, namespace: str) -> bool:
    if invocation.value("output"):
        _print_manifest(invocation, namespace)
        return True
    factory = invocation.local
    printer = factory.printer
    cluster = factory.cluster
    spinner = printer.spinner(f'Enabling namespace offloading for "{namespace}"')
    spec = _spec(invocation)
    old_strategy = ""

    def mutate(obj: dict[str, Any]) -> None:
        nonlocal old_strategy
        previous = obj.get("spec") or {}
        old_strategy = previous.get("podOffloadingStrategy", "")
        if previous:
            if previous.get("namespaceMappingStrategy") != spec["namespaceMappingStrategy"]:
                raise _webhook_denial("The NamespaceMappingStrategy value cannot be modified after creation")
            if previous.get("remoteNamespaceName", "") != spec.get("remoteNamespaceName", ""):
                raise _webhook_denial("The RemoteNamespaceName value cannot be modified after creation")
        elif spec["namespaceMappingStrategy"] == "SelectedName" and not spec.get("remoteNamespaceName"):
            raise _webhook_denial(
                "The RemoteNamespaceName value cannot be empty when using the SelectedName NamespaceMappingStrategy"
            )
        obj["spec"] = {**previous, **spec}
        if "remoteNamespaceName" not in spec:
            obj["spec"].pop("remoteNamespaceName", None)

    labels = dict(invocation.value("global-labels"))
    annotations = dict(invocation.value("global-annotations"))
    try:
        objects.create_or_update(
            cluster,
            res.NAMESPACE_OFFLOADING,
            "offloading",
            namespace,
            mutate,
            global_labels=labels,
            global_annotations=annotations,
        )
    except KubeError as error:
        spinner.fail(f"Failed enabling namespace offloading: {error}")
        return False
    spinner.success(f'Offloading of namespace "{namespace}" correctly enabled')
    new_strategy = spec["podOffloadingStrategy"]
    if old_strategy and new_strategy not in (old_strategy, "LocalAndRemote"):
        printer.warning("The PodOffloadingStrategy was mutated to a more restrictive setting")
        printer.warning("Existing pods violating this policy might still be running")
    spinner = printer.spinner(f'Waiting for offloading of namespace "{namespace}" to complete')
    try:
        namespaces.reconcile_offloading(cluster, factory.liqo_namespace, namespace)
        live = cluster.get(res.NAMESPACE_OFFLOADING.item("offloading", namespace)) or {}
    except KubeError as error:
        spinner.fail(f"Failed waiting for offloading to complete: {error}")
        return False
    phase = (live.get("status") or {}).get("offloadingPhase", "")
    if phase in ("SomeFailed", "AllFailed"):
        spinner.fail(f'Failed waiting for offloading to complete: the offloading is in "{phase}" state')
        return False
    if phase == "NoClusterSelected":
        spinner.warning("Offloading completed, but no cluster was selected")
        return True
    spinner.success("Offloading completed successfully")
    return True
