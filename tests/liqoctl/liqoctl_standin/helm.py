"""A Helm v3 release of the Liqo chart, stored the way Helm stores it, without Helm.

Each revision is a Secret `sh.helm.release.v1.liqo.v<N>` of type helm.sh/release.v1 in the release namespace,
labelled name/owner/status/version, whose `release` key holds base64(gzip(JSON release)). The JSON keeps Helm's
field names (name, info, chart.metadata, config, manifest, version, namespace), so tools that decode Helm
releases can read the installed values from `config`. An upgrade writes revision N+1 and marks N superseded, also
when nothing changed, as `helm upgrade` does.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import json
import time
from typing import Any

import yaml

from . import resources as res
from .kube import Cluster, KubeError

RELEASE_NAME = "liqo"
CHART_METADATA = {
    "name": "liqo",
    "description": "A Helm chart for Liqo",
    "icon": "https://liqo.io/imgs/favicon.svg",
    "apiVersion": "v2",
    "type": "application",
    "dependencies": [{"name": "liqo-crds", "version": "0.1.0", "repository": "file://./charts/liqo-crds"}],
}

# Helm's install order by kind (pkg/releaseutil/kind_sorter.go); kinds not listed go last.
INSTALL_ORDER = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
]


class HelmError(Exception):
    """A Helm operation failed; the message is the Go error text Helm returns."""


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def install_order(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort objects by Helm's install order, keeping the rendered order inside one kind."""

    def rank(obj: dict[str, Any]) -> int:
        return INSTALL_ORDER.index(obj["kind"]) if obj["kind"] in INSTALL_ORDER else len(INSTALL_ORDER)

    return sorted(objects, key=rank)


def encode_release(release: dict[str, Any]) -> str:
    """Encode a release as Helm stores it in the Secret's data (base64 of base64 of gzip of JSON)."""
    packed = base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()
    return base64.b64encode(packed.encode()).decode()


def decode_release(secret: dict[str, Any]) -> dict[str, Any]:
    """Decode the release JSON from a release Secret."""
    packed = base64.b64decode(secret["data"]["release"])
    return json.loads(gzip.decompress(base64.b64decode(packed)))


class Release:
    """The liqo release in one namespace of one cluster."""

    def __init__(self, cluster: Cluster, namespace: str):
        self.cluster = cluster
        self.namespace = namespace

    def secrets(self) -> list[dict[str, Any]]:
        """Release Secrets of every revision, oldest first."""
        items = self.cluster.list(
            res.SECRET.collection(self.namespace), label_selector=f"owner=helm,name={RELEASE_NAME}"
        )
        return sorted(items, key=lambda item: int(item["metadata"]["labels"].get("version", "0")))

    def history(self) -> list[dict[str, Any]]:
        """Decoded releases, oldest first."""
        return [decode_release(secret) for secret in self.secrets()]

    def deployed(self) -> dict[str, Any] | None:
        """The latest revision with status deployed, or None."""
        for release in reversed(self.history()):
            if release["info"]["status"] == "deployed":
                return release
        return None

    def exists(self) -> bool:
        """Whether any revision exists, which makes go-helm-client upgrade instead of install."""
        return bool(self.secrets())

    def write(
        self,
        revision: int,
        config: dict[str, Any],
        manifest: str,
        *,
        status: str,
        description: str,
        first_deployed: str,
        version: str,
    ) -> None:
        """Store one revision."""
        now = _now()
        release = {
            "name": RELEASE_NAME,
            "info": {
                "first_deployed": first_deployed or now,
                "last_deployed": now,
                "deleted": "",
                "description": description,
                "status": status,
            },
            "chart": {
                "metadata": {**CHART_METADATA, "version": version, "appVersion": version},
                "lock": None,
                "templates": [],
                "values": {},
                "schema": None,
                "files": [],
            },
            "config": config,
            "manifest": manifest,
            "version": revision,
            "namespace": self.namespace,
        }
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "helm.sh/release.v1",
            "metadata": {
                "name": f"sh.helm.release.v1.{RELEASE_NAME}.v{revision}",
                "namespace": self.namespace,
                "labels": {
                    "name": RELEASE_NAME,
                    "owner": "helm",
                    "status": status,
                    "version": str(revision),
                    "modifiedAt": str(int(time.time())),
                },
            },
            "data": {"release": encode_release(release)},
        }
        path = res.SECRET.item(secret["metadata"]["name"], self.namespace)
        if self.cluster.get(path) is None:
            self.cluster.create(res.SECRET.collection(self.namespace), secret)
        else:
            self.cluster.replace(path, secret)

    def set_status(self, release: dict[str, Any], status: str) -> None:
        """Change the status of a stored revision (e.g. deployed -> superseded)."""
        release = {**release, "info": {**release["info"], "status": status}}
        name = f"sh.helm.release.v1.{RELEASE_NAME}.v{release['version']}"
        path = res.SECRET.item(name, self.namespace)
        self.cluster.merge_patch(
            path, {"metadata": {"labels": {"status": status}}, "data": {"release": encode_release(release)}}
        )

    def delete_all(self) -> None:
        """Delete every revision (helm uninstall without --keep-history)."""
        for secret in self.secrets():
            self.cluster.delete(res.SECRET.item(secret["metadata"]["name"], self.namespace))


def manifest_of(objects: list[dict[str, Any]]) -> str:
    """Helm's manifest text for rendered objects (without the annotations Helm adds when applying)."""
    documents = []
    for obj in objects:
        clean = json.loads(json.dumps(obj))
        annotations = clean["metadata"].get("annotations", {})
        for key in ("meta.helm.sh/release-name", "meta.helm.sh/release-namespace"):
            annotations.pop(key, None)
        if not annotations:
            clean["metadata"].pop("annotations", None)
        documents.append("---\n" + yaml.safe_dump(clean, sort_keys=False))
    return "".join(documents)


def objects_of(manifest: str) -> list[dict[str, Any]]:
    """Objects listed in a stored manifest."""
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def object_key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """Identity of an object inside a release."""
    metadata = obj["metadata"]
    return obj["apiVersion"], obj["kind"], metadata.get("namespace", ""), metadata["name"]


def apply_objects(cluster: Cluster, objects: list[dict[str, Any]]) -> None:
    """Create or update the release objects with server-side apply (field manager "helm")."""
    for obj in install_order(objects):
        kind = res.kind_of(obj)
        namespace = obj["metadata"].get("namespace", "")
        cluster.apply(kind.item(obj["metadata"]["name"], namespace), obj, manager="helm")


def delete_objects(cluster: Cluster, objects: list[dict[str, Any]]) -> None:
    """Delete release objects in reverse install order, ignoring those already gone."""
    for obj in reversed(install_order(objects)):
        try:
            cluster.delete(res.path_of(obj))
        except KubeError as error:
            # A kind whose CRD was purged cannot be deleted any more, which Helm reports the same way.
            if error.status != 404:
                raise


def workloads_ready(cluster: Cluster, objects: list[dict[str, Any]]) -> bool:
    """Helm --wait readiness for the Deployments and DaemonSets of a release."""
    for obj in objects:
        if obj["kind"] not in ("Deployment", "DaemonSet"):
            continue
        live = cluster.get(res.path_of(obj))
        if live is None:
            return False
        status = live.get("status") or {}
        if status.get("observedGeneration", 0) < live["metadata"].get("generation", 1):
            return False
        if obj["kind"] == "Deployment":
            if status.get("readyReplicas", 0) < live["spec"].get("replicas", 1):
                return False
        else:
            desired = status.get("desiredNumberScheduled", 0)
            # Helm accepts maxUnavailable (default 1) DaemonSet pods not ready.
            if status.get("updatedNumberScheduled", 0) < desired or status.get("numberReady", 0) < desired - 1:
                return False
    return True


def wait_until(predicate, timeout_seconds: float, interval: float = 1.0) -> bool:
    """Poll predicate until it returns true or the timeout expires; return the last result."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
