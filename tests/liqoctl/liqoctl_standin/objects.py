"""Generic object operations: CreateOrUpdate, status writes, conditions, owner references, global labels."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from typing import Any

from . import liqo
from .kube import Cluster, KubeError
from .resources import Kind


def now() -> str:
    """RFC 3339 timestamp with second precision, as metav1.Time serialises."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_or_update(
    cluster: Cluster,
    kind: Kind,
    name: str,
    namespace: str,
    mutate: Callable[[dict[str, Any]], None],
    *,
    global_labels: dict[str, str] | None = None,
    global_annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Get the object (or a skeleton), let mutate change it, then create or update it when it changed.

    Like Liqo's resource.CreateOrUpdate, global labels and annotations are added before writing. A conflict
    (someone else updated the object meanwhile) is retried.
    """
    for _repeat in range(5):
        live = cluster.get(kind.item(name, namespace))
        obj = copy.deepcopy(live) if live is not None else kind.skeleton(name, namespace)
        mutate(obj)
        metadata = obj["metadata"]
        if global_labels:
            metadata["labels"] = {**(metadata.get("labels") or {}), **global_labels}
        if global_annotations:
            metadata["annotations"] = {**(metadata.get("annotations") or {}), **global_annotations}
        try:
            if live is None:
                return cluster.create(kind.collection(namespace), obj)
            if _without_status(obj) == _without_status(live):
                return live
            return cluster.replace(kind.item(name, namespace), obj)
        except KubeError as error:
            if not (error.conflict or error.already_exists):
                raise
    raise KubeError(f"too many conflicts updating {kind.kind} {namespace}/{name}")


def _without_status(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key != "status"}


def write_status(
    cluster: Cluster, kind: Kind, name: str, namespace: str, build: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """Replace the status of an object with build(current object), retrying on conflicts."""
    for _repeat in range(5):
        live = cluster.get(kind.item(name, namespace))
        if live is None:
            raise KubeError(f"{kind.kind} {namespace}/{name} disappeared while its status was written")
        status = build(live)
        if live.get("status") == status:
            return live
        live["status"] = status
        try:
            return cluster.replace(kind.status(name, namespace), live)
        except KubeError as error:
            if not error.conflict:
                raise
    raise KubeError(f"too many conflicts updating the status of {kind.kind} {namespace}/{name}")


def ensure_condition(
    conditions: list[dict[str, Any]] | None,
    condition_type: str,
    status: str,
    reason: str,
    message: str,
    *,
    timestamp_key: str = "lastTransitionTime",
) -> list[dict[str, Any]]:
    """Set one condition, keeping its transition time when nothing changed (Liqo's EnsureCondition helpers)."""
    result = [dict(item) for item in conditions or []]
    for item in result:
        if item.get("type") == condition_type:
            if (item.get("status"), item.get("reason"), item.get("message")) != (status, reason, message):
                item.update({"status": status, "reason": reason, "message": message, timestamp_key: now()})
            return result
    result.append(
        {
            "type": condition_type,
            "status": status,
            timestamp_key: now(),
            "reason": reason,
            "message": message,
        }
    )
    return result


def delete_condition(conditions: list[dict[str, Any]] | None, condition_type: str) -> list[dict[str, Any]]:
    """Drop one condition type."""
    return [dict(item) for item in conditions or [] if item.get("type") != condition_type]


def owner_reference(owner: dict[str, Any], controller: bool = False) -> dict[str, Any]:
    """An ownerReference to owner, so the lab's garbage collector removes dependents with it."""
    reference = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }
    if controller:
        reference.update({"controller": True, "blockOwnerDeletion": True})
    return reference


def set_owner(obj: dict[str, Any], owner: dict[str, Any], controller: bool = False) -> None:
    """Add or refresh an ownerReference on obj."""
    reference = owner_reference(owner, controller)
    references = [
        item
        for item in obj["metadata"].get("ownerReferences") or []
        if item.get("uid") != reference["uid"]
        and not (item.get("kind") == reference["kind"] and item.get("name") == reference["name"])
    ]
    obj["metadata"]["ownerReferences"] = [*references, reference]


def merge_labels(obj: dict[str, Any], labels: dict[str, str]) -> None:
    """Add labels to obj's metadata."""
    obj["metadata"]["labels"] = {**(obj["metadata"].get("labels") or {}), **labels}


def merge_annotations(obj: dict[str, Any], annotations: dict[str, str]) -> None:
    """Add annotations to obj's metadata."""
    obj["metadata"]["annotations"] = {**(obj["metadata"].get("annotations") or {}), **annotations}


def controller_globals(cluster: Cluster, liqo_namespace: str) -> tuple[dict[str, str], dict[str, str]]:
    """Global labels and annotations the installed controller-manager adds to what it creates."""
    try:
        container = liqo.controller_manager_container(liqo.controller_manager(cluster, liqo_namespace))
    except KubeError:
        return {}, {}
    args = container.get("args") or []
    labels = liqo.argument_value(args, "--global-labels")
    annotations = liqo.argument_value(args, "--global-annotations")
    return (liqo.parse_key_values(labels) if labels else {}, liqo.parse_key_values(annotations) if annotations else {})
