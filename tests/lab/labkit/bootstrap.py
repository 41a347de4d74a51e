"""Fill a freshly started cluster: nodes, default StorageClass, the kind-like KCM Pod and the topology's manifests.

Everything here is idempotent (server-side apply or create-if-missing), so a restarted lab converges to
the same objects.
"""

import concurrent.futures
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from . import paths
from .components import KWOK_NODE_ANNOTATION
from .kubeapi import ApiError, KubeClient, Resource, is_not_found
from .topology import Cluster, Node

NODES = Resource("v1", "nodes", namespaced=False)
PODS = Resource("v1", "pods", namespaced=True)
PVCS = Resource("v1", "persistentvolumeclaims", namespaced=True)
PVS = Resource("v1", "persistentvolumes", namespaced=False)
SERVICE_ACCOUNTS = Resource("v1", "serviceaccounts", namespaced=True)
STORAGE_CLASSES = Resource("storage.k8s.io/v1", "storageclasses", namespaced=False)
CRDS = Resource("apiextensions.k8s.io/v1", "customresourcedefinitions", namespaced=False)
DEPLOYMENTS = Resource("apps/v1", "deployments", namespaced=True)

# The lab has no webhook servers: a webhook registration would make the API server reject (failurePolicy
# Fail) or delay every matching request, so labctl does not apply them.
SKIPPED_KINDS = {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
FIRST_KINDS = ("Namespace", "CustomResourceDefinition")
APPLY_THREADS = 8
POLL_SECONDS = 0.5
STATIC_VOLUME_LABEL = "lab.oss-mlops.invalid/static-volume"

# What each flavor's kubelet would report, so clients that read nodeInfo see a plausible cluster. The kernel is
# Ubuntu 24.04's (kind nodes share their host's kernel); liqoctl install refuses nodes whose kernel version it
# cannot parse or that is older than 5.10, so KWOK's default "kwok-<version>" would not pass.
UBUNTU_2404_KERNEL = "6.8.0-48-generic"
FLAVOR_NODE_INFO = {
    "kind": {"kubeletVersion": paths.KUBERNETES_VERSION, "osImage": "Debian GNU/Linux 12 (bookworm)",
             "kernelVersion": UBUNTU_2404_KERNEL, "containerRuntimeVersion": "containerd://2.1.3"},
    "k3s": {"kubeletVersion": f"{paths.KUBERNETES_VERSION}+k3s1", "osImage": "Ubuntu 24.04.3 LTS",
            "kernelVersion": UBUNTU_2404_KERNEL, "containerRuntimeVersion": "containerd://2.0.5-k3s1"},
    "kubeadm": {"kubeletVersion": paths.KUBERNETES_VERSION, "osImage": "Ubuntu 24.04.3 LTS",
                "kernelVersion": UBUNTU_2404_KERNEL, "containerRuntimeVersion": "containerd://2.1.3"},
}
# Default StorageClass that each flavor ships (kind and k3s both use Rancher's local-path provisioner).
FLAVOR_STORAGE_CLASS = {"kind": "standard", "k3s": "local-path"}

Log = Callable[[str], None]


class BootstrapError(RuntimeError):
    """A cluster did not reach the expected state."""


def _provider_id(cluster: Cluster, node: Node) -> str | None:
    if cluster.flavor == "kind":
        return f"kind://docker/{cluster.name}/{node.name}"
    if cluster.flavor == "k3s":
        return f"k3s://{node.name}"
    return None


def node_manifest(cluster: Cluster, node: Node) -> dict:
    labels = {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        **node.labels,
    }
    annotation_key, annotation_value = KWOK_NODE_ANNOTATION.split("=")
    spec = {}
    provider_id = _provider_id(cluster, node)
    if provider_id:
        spec["providerID"] = provider_id
    node_info = {"architecture": "amd64", "operatingSystem": "linux", **FLAVOR_NODE_INFO[cluster.flavor]}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name, "labels": labels, "annotations": {annotation_key: annotation_value}},
        "spec": spec,
        "status": {
            "capacity": dict(node.capacity),
            "allocatable": dict(node.capacity),
            "addresses": [
                {"type": "InternalIP", "address": cluster.address},
                {"type": "Hostname", "address": node.name},
            ],
            "nodeInfo": node_info,
        },
    }


def ensure_nodes(client: KubeClient, cluster: Cluster) -> None:
    """Register the topology's nodes with capacity in their status, as a kubelet does on first start."""
    for node in cluster.nodes:
        manifest = node_manifest(cluster, node)
        try:
            # Create the Node with its status in one request. KWOK would fill in its default capacity
            # for a Node that it reads before the status is set.
            client.request("POST", NODES.path(), manifest)
        except ApiError as error:
            if error.status != 409:
                raise
            status = {"status": {key: manifest["status"][key] for key in ("capacity", "allocatable")}}
            client.request("PATCH", NODES.path(name=node.name, subresource="status"), status,
                           "application/merge-patch+json")
            metadata = {"metadata": {key: manifest["metadata"][key] for key in ("labels", "annotations")}}
            client.request("PATCH", NODES.path(name=node.name), metadata, "application/merge-patch+json")


def ensure_storage_class(client: KubeClient, cluster: Cluster) -> None:
    name = FLAVOR_STORAGE_CLASS.get(cluster.flavor)
    if name is None:
        return
    manifest = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }
    client.apply(STORAGE_CLASSES, manifest)


def controller_manager_pod(cluster: Cluster) -> dict:
    """Return a Pod shaped like kind's static kube-controller-manager Pod (labels, one container, flags).

    liqoctl's kind and kubeadm providers read the pod and service CIDRs from this Pod's command. The
    real KCM runs as a host process, so this object only carries the flags.
    """
    node = cluster.nodes[0].name
    command = [
        "kube-controller-manager",
        "--allocate-node-cidrs=true",
        "--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--bind-address=127.0.0.1",
        "--client-ca-file=/etc/kubernetes/pki/ca.crt",
        f"--cluster-cidr={cluster.pod_cidr}",
        f"--cluster-name={cluster.name}",
        "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt",
        "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key",
        "--controllers=*,bootstrapsigner,tokencleaner",
        "--kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--leader-elect=true",
        "--root-ca-file=/etc/kubernetes/pki/ca.crt",
        "--service-account-private-key-file=/etc/kubernetes/pki/sa.key",
        f"--service-cluster-ip-range={cluster.service_cidr}",
        "--use-service-account-credentials=true",
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"kube-controller-manager-{node}",
            "namespace": "kube-system",
            "labels": {"component": "kube-controller-manager", "tier": "control-plane"},
        },
        "spec": {
            "nodeName": node,
            "hostNetwork": True,
            "priorityClassName": "system-node-critical",
            "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
            "containers": [
                {
                    "name": "kube-controller-manager",
                    "image": f"registry.k8s.io/kube-controller-manager:{paths.KUBERNETES_VERSION}",
                    "command": command,
                    "resources": {"requests": {"cpu": "200m"}},
                }
            ],
        },
    }


def wait_for(description: str, check: Callable[[], object], timeout: float) -> object:
    """Poll `check` until it returns a truthy value; raise BootstrapError naming `description` on timeout."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (ApiError, OSError) as error:
            last_error = error
        time.sleep(POLL_SECONDS)
    detail = f" (last error: {last_error})" if last_error else ""
    raise BootstrapError(f"timed out after {timeout:.0f} s waiting for {description}{detail}")


def _exists(client: KubeClient, path: str) -> bool:
    try:
        client.get(path)
    except ApiError as error:
        if is_not_found(error):
            return False
        raise
    return True


def wait_for_service_account(client: KubeClient, namespace: str, timeout: float) -> None:
    path = SERVICE_ACCOUNTS.path(namespace, "default")
    wait_for(f"ServiceAccount default in namespace {namespace}", lambda: _exists(client, path), timeout)


def ensure_controller_manager_pod(client: KubeClient, cluster: Cluster, timeout: float) -> None:
    if cluster.flavor not in ("kind", "kubeadm"):
        return
    # The ServiceAccount admission plugin rejects pods until the controller created `default`.
    wait_for_service_account(client, "kube-system", timeout)
    client.apply(PODS, controller_manager_pod(cluster))


def load_manifests(files: Iterable[Path]) -> list[dict]:
    """Read YAML files of objects or `kind: List` documents, dropping webhook registrations (see SKIPPED_KINDS)."""
    objects = []
    for file in files:
        with open(file, encoding="utf-8") as handle:
            for document in yaml.load_all(handle, Loader=yaml.CSafeLoader):
                items = document.get("items", []) if document and document.get("kind") == "List" else [document]
                objects.extend(item for item in items if item and item.get("kind") not in SKIPPED_KINDS)
    return objects


def _apply_one(client: KubeClient, manifest: dict, retries: int = 20) -> None:
    for attempt in range(retries):
        try:
            resource = client.resource_for(manifest["apiVersion"], manifest["kind"])
            client.apply(resource, manifest)
            return
        except ApiError as error:
            # Discovery of a just-established CRD, or a namespace still being created, can lag briefly.
            if error.status not in (404, 409, 429, 500, 503) or attempt == retries - 1:
                raise
            client.forget_resources()
            time.sleep(POLL_SECONDS)


def _describe(manifest: dict) -> str:
    metadata = manifest["metadata"]
    namespace = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{manifest['kind']} {namespace}{metadata['name']}"


def _apply_batch(client: KubeClient, manifests: list[dict]) -> None:
    errors = []
    with concurrent.futures.ThreadPoolExecutor(APPLY_THREADS) as pool:
        futures = {pool.submit(_apply_one, client, manifest): manifest for manifest in manifests}
        for future in concurrent.futures.as_completed(futures):
            error = future.exception()
            if error is not None:
                errors.append(f"{_describe(futures[future])}: {error}")
    if errors:
        first_errors = "\n  ".join(sorted(errors)[:10])
        raise BootstrapError(f"server-side apply failed for {len(errors)} objects:\n  {first_errors}")


def _crd_established(client: KubeClient, name: str) -> bool:
    crd = client.get(CRDS.path(name=name))
    conditions = crd.get("status", {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def apply_manifests(client: KubeClient, manifests: list[dict], timeout: float) -> None:
    """Server-side apply the objects: namespaces and CRDs first, then everything else once the CRDs serve.

    Server-side apply keeps no last-applied annotation, which several platform CRDs would overflow.
    """
    first = [m for m in manifests if m["kind"] in FIRST_KINDS]
    rest = [m for m in manifests if m["kind"] not in FIRST_KINDS]
    _apply_batch(client, first)
    for manifest in first:
        if manifest["kind"] == "CustomResourceDefinition":
            name = manifest["metadata"]["name"]
            wait_for(f"CRD {name} to be established", lambda n=name: _crd_established(client, n), timeout)
    _apply_batch(client, rest)


def _static_volume(cluster: Cluster, claim: dict) -> dict:
    metadata = claim["metadata"]
    spec = claim["spec"]
    name = f"lab-{metadata['namespace']}-{metadata['name']}"[:253]
    node = cluster.nodes[0].name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {STATIC_VOLUME_LABEL: "true"}},
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": spec.get("accessModes", ["ReadWriteOnce"]),
            "volumeMode": spec.get("volumeMode", "Filesystem"),
            "storageClassName": spec.get("storageClassName") or "",
            "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": metadata["namespace"], "name": metadata["name"]},
            # Shaped like a local-path volume: a node-local path, pinned to the first node. No kubelet
            # runs, so nothing is ever written there.
            "hostPath": {"path": f"/var/lib/oss-mlops-lab/{name}", "type": "DirectoryOrCreate"},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}
                    ]
                }
            },
        },
    }


def bind_claims_to_static_volumes(client: KubeClient, cluster: Cluster, manifests: list[dict]) -> int:
    """Create one pre-bound PersistentVolume per PVC of the manifests; return how many were created.

    The lab runs no storage provisioner, so without these volumes the claims and their pods stay Pending.
    """
    created = 0
    for manifest in manifests:
        if manifest["kind"] != "PersistentVolumeClaim":
            continue
        claim = client.get(PVCS.path(manifest["metadata"]["namespace"], manifest["metadata"]["name"]))
        if claim["spec"].get("volumeName"):
            continue
        client.apply(PVS, _static_volume(cluster, claim))
        created += 1
    return created


def _node_is_ready(node: dict) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def wait_for_nodes(client: KubeClient, cluster: Cluster, timeout: float) -> None:
    def all_ready() -> bool:
        return all(_node_is_ready(client.get(NODES.path(name=node.name))) for node in cluster.nodes)

    wait_for(f"the nodes of {cluster.name} to be Ready", all_ready, timeout)


def _unready_deployments(client: KubeClient, manifests: list[dict]) -> list[str]:
    unready = []
    for manifest in manifests:
        if manifest["kind"] != "Deployment":
            continue
        metadata = manifest["metadata"]
        deployment = client.get(DEPLOYMENTS.path(metadata["namespace"], metadata["name"]))
        desired = deployment["spec"].get("replicas", 1)
        status = deployment.get("status", {})
        stale = status.get("observedGeneration", 0) < deployment["metadata"]["generation"]
        if stale or status.get("readyReplicas", 0) < desired or status.get("updatedReplicas", 0) < desired:
            unready.append(_describe(manifest))
    return unready


def _pending_pod_reasons(client: KubeClient) -> list[str]:
    pods = client.get(PODS.path(), fieldSelector="status.phase=Pending")
    reasons = []
    for pod in pods.get("items", []):
        messages = [c.get("message", "") for c in pod.get("status", {}).get("conditions") or [] if c.get("message")]
        name = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        reasons.append(f"{name}: {'; '.join(messages) or 'no condition yet'}")
    return reasons


def wait_for_deployments(client: KubeClient, manifests: list[dict], timeout: float) -> None:
    """Wait until every Deployment of the manifests has its pods Running and Ready, or explain which do not."""
    try:
        wait_for("platform Deployments to be ready", lambda: not _unready_deployments(client, manifests), timeout)
    except BootstrapError as error:
        unready = _unready_deployments(client, manifests)
        pending = _pending_pod_reasons(client)[:10]
        raise BootstrapError(f"{error}; not ready: {unready}; pending pods: {pending}") from error


def namespaces_of(manifests: list[dict]) -> list[str]:
    return [m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"]
