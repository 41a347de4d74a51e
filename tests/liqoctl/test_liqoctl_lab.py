"""Effects of the liqoctl stand-in on the lab's API servers (install, peer, offload, info, unpeer, uninstall).

The tests run in file order against one lab: the module installs Liqo on both clusters once, each peering test
peers and unpeers again. They check the objects the collection's modules read, with the names, labels and
shapes of Liqo v1.0.3.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections.abc import Iterator

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

CONSUMER = "mlops-consumer"
PROVIDER = "verda-v100-1"
KERNEL_FLAG = "--disable-kernel-version-check"


class Api:
    """Read access to one lab cluster with the official Kubernetes client."""

    def __init__(self, kubeconfig: str):
        self.kubeconfig = kubeconfig
        self.api_client = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api_client)
        self.apps = client.AppsV1Api(self.api_client)
        self.custom = client.CustomObjectsApi(self.api_client)

    def liqo(self, group: str, plural: str, name: str, namespace: str = "", version: str = "v1beta1") -> dict | None:
        """Get one Liqo object, or None."""
        try:
            if namespace:
                return self.custom.get_namespaced_custom_object(f"{group}.liqo.io", version, namespace, plural, name)
            return self.custom.get_cluster_custom_object(f"{group}.liqo.io", version, plural, name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def liqo_list(self, group: str, plural: str, version: str = "v1beta1", selector: str = "") -> list[dict]:
        """List Liqo objects in all namespaces."""
        answer = self.custom.list_cluster_custom_object(f"{group}.liqo.io", version, plural, label_selector=selector)
        return answer["items"]

    def namespace(self, name: str):
        """Get a namespace, or None."""
        try:
            return self.core.read_namespace(name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def node(self, name: str):
        """Get a node, or None."""
        try:
            return self.core.read_node(name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise


@pytest.fixture(scope="module")
def consumer(lab) -> Api:
    """The consumer cluster (kind flavor)."""
    return Api(lab["clusters"][CONSUMER]["kubeconfig"])


@pytest.fixture(scope="module")
def provider(lab) -> Api:
    """The provider cluster (k3s flavor)."""
    return Api(lab["clusters"][PROVIDER]["kubeconfig"])


def ok(result) -> str:
    """Assert a liqoctl run succeeded and return its stderr."""
    assert result.returncode == 0, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def installed(lab, liqoctl, consumer, provider) -> Iterator[None]:
    """Liqo installed on both clusters; everything is torn down again at the end of the module."""
    ok(liqoctl("install", "kind", "--kubeconfig", consumer.kubeconfig, "--cluster-id", CONSUMER, KERNEL_FLAG))
    ok(
        liqoctl(
            "install",
            "k3s",
            "--kubeconfig",
            provider.kubeconfig,
            "--cluster-id",
            PROVIDER,
            KERNEL_FLAG,
            "--pod-cidr",
            lab["clusters"][PROVIDER]["pod_cidr"],
            "--service-cidr",
            lab["clusters"][PROVIDER]["service_cidr"],
            "--cluster-labels",
            "liqo.example/gpu=true",
        )
    )
    yield
    for item in consumer.liqo_list("offloading", "namespaceoffloadings"):
        liqoctl(
            "unoffload",
            "namespace",
            item["metadata"]["namespace"],
            "--skip-confirm",
            "--kubeconfig",
            consumer.kubeconfig,
        )
    liqoctl("unpeer", "--kubeconfig", consumer.kubeconfig, "--remote-kubeconfig", provider.kubeconfig)
    liqoctl("uninstall", "--purge", "--skip-confirm", "--kubeconfig", consumer.kubeconfig)
    liqoctl("uninstall", "--purge", "--skip-confirm", "--kubeconfig", provider.kubeconfig)


def release_secrets(api: Api) -> list:
    """Helm release Secrets of liqo, oldest first."""
    items = api.core.list_namespaced_secret("liqo", label_selector="owner=helm,name=liqo").items
    return sorted(items, key=lambda item: int(item.metadata.labels["version"]))


def decode_release(secret) -> dict:
    """The Helm release JSON stored in a release Secret."""
    packed = base64.b64decode(secret.data["release"])
    return json.loads(gzip.decompress(base64.b64decode(packed)))


# -- install ----------------------------------------------------------------------------------------------------


def test_install_fails_on_unparsable_or_old_kernel(lab, liqoctl, consumer):
    # KWOK nodes report "kwok-<version>" unless the lab sets a kernel; a node with 4.19 is too old either way.
    body = client.V1Node(metadata=client.V1ObjectMeta(name="a-old-kernel"))
    consumer.core.create_node(body)
    try:
        consumer.core.patch_node_status("a-old-kernel", {"status": {"nodeInfo": {"kernelVersion": "4.19.0-1-amd64"}}})
        result = liqoctl("install", "kind", "--kubeconfig", consumer.kubeconfig, "--cluster-id", CONSUMER)
    finally:
        consumer.core.delete_node("a-old-kernel")
    assert result.returncode == 1
    assert result.stderr.startswith("ERRO: ")
    assert "kernel version" in result.stderr
    assert result.stderr.endswith(", disable this check with --disable-kernel-version-check\n")
    assert consumer.namespace("liqo") is None


def test_install_kind_detects_cidrs(installed, consumer):
    networks = {item["metadata"]["name"]: item for item in consumer.liqo_list("ipam", "networks", "v1alpha1")}
    assert networks["pod-cidr"]["spec"]["cidr"] == "10.244.0.0/16"
    assert networks["pod-cidr"]["status"]["cidr"] == "10.244.0.0/16"
    assert networks["service-cidr"]["spec"]["cidr"] == "10.96.0.0/16"
    assert networks["external-cidr"]["spec"] == {"cidr": "10.70.0.0/16", "preAllocated": 1}
    assert networks["internal-cidr"]["spec"]["cidr"] == "10.80.0.0/16"
    assert networks["pod-cidr"]["metadata"]["labels"]["ipam.liqo.io/network-not-remapped"] == "true"
    assert networks["pod-cidr"]["metadata"]["annotations"]["liqo.io/preinstalled"] == "true"


def test_install_writes_cluster_id_configmap(installed, consumer):
    config_map = consumer.core.read_namespaced_config_map("liqo-clusterid-configmap", "liqo")
    assert config_map.data == {"CLUSTER_ID": CONSUMER}
    assert config_map.metadata.labels["app.kubernetes.io/name"] == "clusterid-configmap"


def test_install_deploys_ready_controller_manager(installed, consumer, provider, lab):
    deployment = consumer.apps.read_namespaced_deployment("liqo-controller-manager", "liqo")
    container = deployment.spec.template.spec.containers[0]
    assert container.image == "ghcr.io/liqotech/liqo-controller-manager:v1.0.3"
    assert "--cluster-id=$(CLUSTER_ID)" in container.args
    assert "--cluster-labels=liqo.io/provider=kind" in container.args
    assert deployment.status.ready_replicas == 1
    remote = provider.apps.read_namespaced_deployment("liqo-controller-manager", "liqo")
    remote_args = remote.spec.template.spec.containers[0].args
    assert f"--api-server-address-override={lab['clusters'][PROVIDER]['api_server_url']}" in remote_args
    assert "--cluster-labels=liqo.example/gpu=true,liqo.io/provider=k3s" in remote_args


def test_install_creates_runtime_class(installed, consumer):
    runtime_class = client.NodeV1Api(consumer.api_client).read_runtime_class("liqo")
    assert runtime_class.handler == "liqo"
    assert runtime_class.scheduling.node_selector == {"liqo.io/type": "virtual-node"}
    assert runtime_class.scheduling.tolerations[0].key == "virtual-node.liqo.io/not-allowed"


def test_install_stores_helm_release(installed, provider):
    secrets = release_secrets(provider)
    assert secrets[-1].type == "helm.sh/release.v1"
    assert secrets[-1].metadata.labels["status"] == "deployed"
    release = decode_release(secrets[-1])
    assert release["name"] == "liqo"
    assert release["namespace"] == "liqo"
    assert release["config"]["discovery"]["config"]["clusterID"] == PROVIDER
    assert release["config"]["ipam"]["podCIDR"] == "10.150.0.0/16"
    assert release["config"]["networking"]["fabric"]["config"]["nftablesMonitor"] is False


def test_reinstall_same_input_adds_revision(installed, liqoctl, consumer):
    before = release_secrets(consumer)
    deployment_version = consumer.apps.read_namespaced_deployment(
        "liqo-controller-manager", "liqo"
    ).metadata.resource_version
    ok(liqoctl("install", "kind", "--kubeconfig", consumer.kubeconfig, "--cluster-id", CONSUMER, KERNEL_FLAG))
    after = release_secrets(consumer)
    assert len(after) == len(before) + 1
    assert after[-2].metadata.labels["status"] == "superseded"
    assert after[-1].metadata.labels["status"] == "deployed"
    assert decode_release(after[-1])["info"]["description"] == "Upgrade complete"
    assert (
        consumer.apps.read_namespaced_deployment("liqo-controller-manager", "liqo").metadata.resource_version
        == deployment_version
    )


def test_reinstall_with_other_cluster_id_fails(installed, liqoctl, consumer):
    before = len(release_secrets(consumer))
    result = liqoctl("install", "kind", "--kubeconfig", consumer.kubeconfig, "--cluster-id", "another", KERNEL_FLAG)
    assert result.returncode == 1
    assert (
        "ERRO: Error installing or upgrading Liqo: execution error at "
        "(liqo/templates/liqo-clusterid-configmap.yaml:14:7): Changing the cluster ID by providing a different "
        ".discovery.config.clusterID value is not allowed."
    ) in result.stderr
    assert len(release_secrets(consumer)) == before


def test_install_rejects_wrong_pod_cidr(installed, liqoctl, consumer):
    result = liqoctl("install", "k3s", "--kubeconfig", consumer.kubeconfig, KERNEL_FLAG)
    assert result.returncode == 1
    assert 'ERRO: Error retrieving configuration: failed validating Pod CIDR "10.42.0.0/16": pod "' in result.stderr
    assert "does not match the provided Pod CIDR (IP: 10.244." in result.stderr


def test_install_rejects_localhost_api_server(installed, liqoctl, lab, provider):
    result = liqoctl(
        "install",
        "k3s",
        "--kubeconfig",
        provider.kubeconfig,
        KERNEL_FLAG,
        "--api-server-url",
        "https://localhost:6443",
        "--pod-cidr",
        lab["clusters"][PROVIDER]["pod_cidr"],
        "--service-cidr",
        lab["clusters"][PROVIDER]["service_cidr"],
    )
    assert result.returncode == 1
    assert (
        'failed validating API Server URL "https://localhost:6443": cannot use localhost as API Server address'
        in result.stderr
    )


def test_version_reports_installed_version(installed, liqoctl, consumer):
    result = liqoctl("version", "--kubeconfig", consumer.kubeconfig)
    assert result.returncode == 0
    assert result.stdout == "Client version: v1.0.3\nServer version: v1.0.3\n"
    mismatch = liqoctl("version", "--kubeconfig", consumer.kubeconfig, env={"LIQOCTL_STANDIN_VERSION": "v1.0.2"})
    assert mismatch.returncode == 0
    assert mismatch.stdout == "Client version: v1.0.2\nServer version: v1.0.3\n"
    assert "WARN: The version of liqoctl does not match the Liqo server version." in mismatch.stderr


def test_info_local_json(installed, liqoctl, consumer, lab):
    result = liqoctl("info", "--kubeconfig", consumer.kubeconfig, "-o", "json", "-v")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert list(data) == ["health", "local", "network", "peerings"]
    assert data["local"] == {
        "clusterID": CONSUMER,
        "version": "v1.0.3",
        "labels": {"liqo.io/provider": "kind"},
        "APIServerAddr": lab["clusters"][CONSUMER]["api_server_url"],
    }
    assert data["health"] == {"healthy": True}
    assert data["network"] == {
        "podCIDR": "10.244.0.0/16",
        "serviceCIDR": "10.96.0.0/16",
        "externalCIDR": "10.70.0.0/16",
        "internalCIDR": "10.80.0.0/16",
    }
    assert isinstance(data["peerings"]["peers"], list)


def test_info_get_cluster_id(installed, liqoctl, consumer):
    result = liqoctl("info", "--kubeconfig", consumer.kubeconfig, "--get", "clusterid")
    assert result.returncode == 0
    assert result.stdout == f"{CONSUMER}\n"


# -- peering ----------------------------------------------------------------------------------------------------


@pytest.fixture
def peered(installed, liqoctl, consumer, provider) -> Iterator[str]:
    """A peering consumer -> provider asking for 4 CPUs, 16Gi and one GPU; yields peer's stderr."""
    result = ok(
        liqoctl(
            "peer",
            "--kubeconfig",
            consumer.kubeconfig,
            "--remote-kubeconfig",
            provider.kubeconfig,
            "--cpu",
            "4",
            "--memory",
            "16Gi",
            "--resource",
            "nvidia.com/gpu=1",
        )
    )
    yield result
    ok(liqoctl("unpeer", "--kubeconfig", consumer.kubeconfig, "--remote-kubeconfig", provider.kubeconfig))


def test_peer_prints_liqoctl_progress(peered):
    lines = [line.split("\r")[-1] for line in peered.splitlines() if "INFO:" in line]
    assert "INFO: Connection is established" in lines
    assert "INFO: Identity status is filled" in lines
    assert lines[-2:] == ["INFO: ResourceSlice authentication: Accepted", "INFO: ResourceSlice resources: Accepted"]


def test_peer_sets_foreign_cluster_status(peered, consumer, provider):
    remote = consumer.liqo("core", "foreignclusters", PROVIDER)
    assert remote["status"]["role"] == "Provider"
    assert remote["status"]["tenantNamespace"] == {
        "local": f"liqo-tenant-{PROVIDER}",
        "remote": f"liqo-tenant-{CONSUMER}",
    }
    for module in ("networking", "authentication", "offloading"):
        assert remote["status"]["modules"][module]["enabled"] is True
        statuses = {item["status"] for item in remote["status"]["modules"][module]["conditions"]}
        assert statuses <= {"Ready", "Established"}
    assert remote["status"]["apiServerUrl"].startswith("https://")
    local = provider.liqo("core", "foreignclusters", CONSUMER)
    assert local["status"]["role"] == "Consumer"
    assert local["status"]["modules"]["authentication"]["enabled"] is True
    assert local["status"]["modules"]["offloading"]["enabled"] is False


def test_peer_creates_resource_slice(peered, consumer, provider):
    resource_slice = consumer.liqo("authentication", "resourceslices", PROVIDER, f"liqo-tenant-{PROVIDER}")
    assert resource_slice["spec"]["resources"] == {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}
    assert resource_slice["spec"]["providerClusterID"] == PROVIDER
    assert resource_slice["metadata"]["labels"]["liqo.io/replication"] == "true"
    assert resource_slice["metadata"]["annotations"]["liqo.io/create-virtual-node"] == "true"
    conditions = {item["type"]: item["status"] for item in resource_slice["status"]["conditions"]}
    assert conditions == {"Authentication": "Accepted", "Resources": "Accepted"}
    assert resource_slice["status"]["resources"] == {
        "cpu": "4",
        "memory": "16Gi",
        "nvidia.com/gpu": "1",
        "pods": "110",
        "ephemeral-storage": "20Gi",
    }
    copy = provider.liqo("authentication", "resourceslices", PROVIDER, f"liqo-tenant-{CONSUMER}")
    assert copy["metadata"]["labels"]["liqo.io/replicated"] == "true"
    assert copy["status"]["resources"] == resource_slice["status"]["resources"]


def settled_node(api: Api, name: str, timeout_seconds: float = 60.0):
    """Return a node once the node lifecycle controller has dropped its not-ready taint.

    The stand-in creates the virtual node before KWOK marks it Ready, as Liqo's virtual kubelet does, so
    kube-controller-manager may taint it `node.kubernetes.io/not-ready` for a moment and remove the taint a
    few seconds after the node turns Ready.
    """
    deadline = time.monotonic() + timeout_seconds
    while True:
        node = api.node(name)
        taints = [taint.key for taint in (node.spec.taints or [])] if node else []
        if node is not None and "node.kubernetes.io/not-ready" not in taints:
            return node
        if time.monotonic() > deadline:
            return node
        time.sleep(1)


def test_peer_registers_virtual_node(peered, consumer):
    virtual_node = consumer.liqo("offloading", "virtualnodes", PROVIDER, f"liqo-tenant-{PROVIDER}")
    assert virtual_node["spec"]["resourceQuota"]["hard"]["nvidia.com/gpu"] == "1"
    node = settled_node(consumer, PROVIDER)
    assert node.metadata.labels["liqo.io/type"] == "virtual-node"
    assert node.metadata.labels["liqo.io/remote-cluster-id"] == PROVIDER
    assert node.metadata.labels["liqo.io/provider"] == "k3s"
    assert node.metadata.labels["liqo.example/gpu"] == "true"
    assert node.metadata.annotations["kwok.x-k8s.io/node"] == "fake"
    assert [(taint.key, taint.value, taint.effect) for taint in node.spec.taints] == [
        ("virtual-node.liqo.io/not-allowed", "true", "NoExecute")
    ]
    assert node.status.capacity["cpu"] == "4"
    assert node.status.allocatable["nvidia.com/gpu"] == "1"
    ready = [condition.status for condition in node.status.conditions if condition.type == "Ready"]
    assert ready == ["True"]


def test_peer_stores_provider_kubeconfig(peered, consumer):
    secret = consumer.core.read_namespaced_secret(f"kubeconfig-controlplane-{PROVIDER}", f"liqo-tenant-{PROVIDER}")
    assert secret.metadata.labels["liqo.io/identity-type"] == "ControlPlane"
    kubeconfig = yaml.safe_load(base64.b64decode(secret.data["kubeconfig"]))
    remote = config.new_client_from_config_dict(kubeconfig)
    names = [item.metadata.name for item in client.CoreV1Api(remote).list_namespace().items]
    assert "kube-system" in names
    identity = consumer.liqo("authentication", "identities", f"controlplane-{PROVIDER}", f"liqo-tenant-{PROVIDER}")
    assert identity["status"]["kubeconfigSecretRef"]["name"] == secret.metadata.name


def test_peer_builds_networking(peered, consumer, provider):
    configuration = consumer.liqo("networking", "configurations", PROVIDER, f"liqo-tenant-{PROVIDER}")
    assert configuration["spec"]["remote"]["cidr"] == {"pod": ["10.150.0.0/16"], "external": ["10.70.0.0/16"]}
    remapped = configuration["status"]["remote"]["cidr"]
    assert remapped["pod"] == ["10.150.0.0/16"]
    assert remapped["external"] != ["10.70.0.0/16"]
    assert provider.liqo_list("networking", "gatewayservers", selector=f"liqo.io/remote-cluster-id={CONSUMER}")
    assert consumer.liqo_list("networking", "gatewayclients", selector=f"liqo.io/remote-cluster-id={PROVIDER}")
    for api, remote_id in ((consumer, PROVIDER), (provider, CONSUMER)):
        connections = api.liqo_list("networking", "connections", selector=f"liqo.io/remote-cluster-id={remote_id}")
        assert [item["status"]["value"] for item in connections] == ["Connected"]


def test_repeer_rewrites_slice_spec(peered, liqoctl, consumer, provider):
    ok(
        liqoctl(
            "peer",
            "--kubeconfig",
            consumer.kubeconfig,
            "--remote-kubeconfig",
            provider.kubeconfig,
            "--cpu",
            "2",
            "--memory",
            "4096Mi",
        )
    )
    slices = consumer.liqo_list("authentication", "resourceslices")
    assert len(slices) == 1
    assert slices[0]["spec"]["resources"] == {"cpu": "2", "memory": "4Gi"}
    assert consumer.node(PROVIDER).status.capacity["cpu"] == "2"


def test_info_peer_json(peered, liqoctl, consumer):
    result = liqoctl("info", "peer", "--kubeconfig", consumer.kubeconfig, "-o", "json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert list(data) == [PROVIDER]
    peer = data[PROVIDER]
    assert list(peer) == ["authentication", "info", "network", "offloading"]
    assert peer["info"] == {"clusterID": PROVIDER, "role": "Provider"}
    assert peer["network"]["status"] == "Healthy"
    assert peer["network"]["gateway"]["role"] == "Server"
    assert peer["authentication"]["resourceSlices"][0]["action"] == "Consuming"
    assert peer["authentication"]["resourceSlices"][0]["accepted"] is True
    assert peer["offloading"]["virtualNodes"][0]["secret"] == f"kubeconfig-resourceslice-{PROVIDER}"


def test_info_peer_unknown_cluster(peered, liqoctl, consumer):
    result = liqoctl("info", "peer", "nope", "--kubeconfig", consumer.kubeconfig, "-o", "json")
    assert result.returncode == 1
    assert result.stderr == 'ERRO: Peer clusters "nope" not found in active peerings\n'


def test_uninstall_refused_while_peered(peered, liqoctl, consumer):
    result = liqoctl("uninstall", "--skip-confirm", "--kubeconfig", consumer.kubeconfig)
    assert result.returncode == 1
    assert (
        "ERRO: Pre-uninstall checks failed: you should:\n\ndisable networking for clusters:\n- verda-v100-1\n"
        in result.stderr
    )
    assert (
        "ERRO: You must remove all the active peerings with other clusters before uninstalling Liqo." in result.stderr
    )


# -- offloading -------------------------------------------------------------------------------------------------


@pytest.fixture
def team_namespace(consumer, request) -> Iterator[str]:
    """A namespace to offload, named after the test and deleted afterwards (deletion finishes asynchronously)."""
    name = "team-" + request.node.name.removeprefix("test_").replace("_", "-")[:40]
    consumer.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    consumer.core.delete_namespace(name)


def test_offload_creates_remote_namespace(peered, team_namespace, liqoctl, consumer, provider):
    result = liqoctl(
        "offload",
        "namespace",
        team_namespace,
        "--kubeconfig",
        consumer.kubeconfig,
        "-l",
        "liqo.io/provider=k3s",
        "--pod-offloading-strategy",
        "Remote",
    )
    assert "INFO: Offloading completed successfully" in ok(result)
    offloading = consumer.liqo("offloading", "namespaceoffloadings", "offloading", team_namespace)
    assert offloading["spec"]["clusterSelector"] == {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "liqo.io/provider", "operator": "In", "values": ["k3s"]}]}]
    }
    status = offloading["status"]
    assert status["offloadingPhase"] == "Ready"
    assert status["remoteNamespaceName"] == f"{team_namespace}-{CONSUMER}"
    assert status["observedGeneration"] == offloading["metadata"]["generation"]
    conditions = {item["type"]: item["status"] for item in status["remoteNamespacesConditions"][PROVIDER]}
    assert conditions == {"OffloadingRequired": "True", "Ready": "True"}
    remote = provider.namespace(f"{team_namespace}-{CONSUMER}")
    assert remote.metadata.annotations["liqo.io/original-name"] == team_namespace
    assert remote.metadata.annotations["liqo.io/managed-by-namespace-map"] == f"liqo-tenant-{CONSUMER}/{PROVIDER}"
    assert remote.metadata.labels["liqo.io/remote-cluster-id"] == CONSUMER
    assert consumer.namespace(team_namespace).metadata.labels["liqo.io/scheduling-enabled"] == "true"


def test_offload_rejects_changed_mapping(peered, team_namespace, liqoctl, consumer):
    ok(liqoctl("offload", "namespace", team_namespace, "--kubeconfig", consumer.kubeconfig))
    result = liqoctl(
        "offload",
        "namespace",
        team_namespace,
        "--kubeconfig",
        consumer.kubeconfig,
        "--namespace-mapping-strategy",
        "EnforceSameName",
    )
    assert result.returncode == 1
    assert (
        "ERRO: Failed enabling namespace offloading: Error from server (Forbidden): admission webhook "
        '"nsoff.validate.liqo.io" denied the request: The NamespaceMappingStrategy value cannot be modified '
        "after creation"
    ) in result.stderr


def test_offload_without_matching_cluster(peered, team_namespace, liqoctl, consumer):
    result = liqoctl(
        "offload", "namespace", team_namespace, "--kubeconfig", consumer.kubeconfig, "-l", "liqo.io/provider=eks"
    )
    assert "WARN: Offloading completed, but no cluster was selected" in ok(result)
    offloading = consumer.liqo("offloading", "namespaceoffloadings", "offloading", team_namespace)
    assert offloading["status"]["offloadingPhase"] == "NoClusterSelected"


def test_offload_missing_namespace_fails(peered, liqoctl, consumer):
    result = liqoctl("offload", "namespace", "does-not-exist", "--kubeconfig", consumer.kubeconfig)
    assert result.returncode == 1
    assert (
        'ERRO: Failed enabling namespace offloading: Error from server (NotFound): namespaces "does-not-exist" '
        "not found"
    ) in result.stderr


def test_unoffload_removes_everything(peered, team_namespace, liqoctl, consumer, provider):
    ok(liqoctl("offload", "namespace", team_namespace, "--kubeconfig", consumer.kubeconfig))
    ok(liqoctl("unoffload", "namespace", team_namespace, "--skip-confirm", "--kubeconfig", consumer.kubeconfig))
    assert consumer.liqo("offloading", "namespaceoffloadings", "offloading", team_namespace) is None
    assert "liqo.io/scheduling-enabled" not in (consumer.namespace(team_namespace).metadata.labels or {})
    assert provider.namespace(f"{team_namespace}-{CONSUMER}") is None


# -- unpeer and uninstall ---------------------------------------------------------------------------------------


def test_unpeer_keeps_foreign_cluster(installed, liqoctl, consumer, provider):
    ok(liqoctl("peer", "--kubeconfig", consumer.kubeconfig, "--remote-kubeconfig", provider.kubeconfig))
    ok(liqoctl("unpeer", "--kubeconfig", consumer.kubeconfig, "--remote-kubeconfig", provider.kubeconfig))
    remote = consumer.liqo("core", "foreignclusters", PROVIDER)
    assert remote["status"]["role"] == "Unknown"
    assert {module["enabled"] for module in remote["status"]["modules"].values()} == {False}
    assert consumer.node(PROVIDER) is None
    assert consumer.liqo_list("authentication", "resourceslices") == []
    assert consumer.namespace(f"liqo-tenant-{PROVIDER}") is not None
    assert provider.liqo_list("authentication", "tenants") == []


def test_repeer_rejects_stale_signed_nonce(installed, liqoctl, consumer, provider):
    """A liqo-signed-nonce Secret left from an earlier peering blocks a new nonce, as in liqoctl v1.0.3."""
    access = ("--kubeconfig", consumer.kubeconfig, "--remote-kubeconfig", provider.kubeconfig)
    ok(liqoctl("peer", *access))
    ok(liqoctl("unpeer", *access))
    # The provider makes a new nonce when its nonce Secret is gone, as after a reinstall.
    provider.core.delete_namespaced_secret("liqo-nonce", f"liqo-tenant-{CONSUMER}")

    result = liqoctl("peer", *access)

    assert result.returncode == 1
    assert "nonce secret already exists with a different nonce" in result.stderr
    consumer.core.delete_namespaced_secret("liqo-signed-nonce", f"liqo-tenant-{PROVIDER}")
    ok(liqoctl("peer", *access))
    ok(liqoctl("unpeer", *access))


def test_unpeer_without_foreign_cluster_fails(installed, liqoctl, consumer, provider):
    consumer.custom.delete_cluster_custom_object("core.liqo.io", "v1beta1", "foreignclusters", PROVIDER)
    result = liqoctl("unpeer", "--kubeconfig", consumer.kubeconfig, "--remote-kubeconfig", provider.kubeconfig)
    assert result.returncode == 1
    assert result.stderr == (
        "ERRO: error: an error occurred while checking bidirectional peering: Error from server (NotFound): "
        f'foreignclusters.core.liqo.io "foreign cluster with ID {PROVIDER}" not found\n'
    )


def test_unpeer_delete_namespaces(installed, liqoctl, consumer, provider):
    ok(liqoctl("peer", "--kubeconfig", consumer.kubeconfig, "--remote-kubeconfig", provider.kubeconfig))
    ok(
        liqoctl(
            "unpeer",
            "--kubeconfig",
            consumer.kubeconfig,
            "--remote-kubeconfig",
            provider.kubeconfig,
            "--delete-namespaces",
        )
    )
    assert consumer.namespace(f"liqo-tenant-{PROVIDER}") is None
    assert provider.namespace(f"liqo-tenant-{CONSUMER}") is None
    again = liqoctl("unpeer", "--kubeconfig", consumer.kubeconfig, "--remote-kubeconfig", provider.kubeconfig)
    assert again.returncode == 1
    assert "ERRO: Error while retrieving tenant namespace: Error from server (NotFound): Namespace" in again.stderr


def test_uninstall_purge_then_peer_fails(installed, liqoctl, lab, consumer, provider):
    ok(liqoctl("uninstall", "--purge", "--skip-confirm", "--kubeconfig", provider.kubeconfig))
    # The purge deletes the namespaces without waiting; the lab's namespace controller finishes the job.
    deadline = time.monotonic() + 120
    while provider.namespace("liqo") is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert provider.namespace("liqo") is None
    crds = client.ApiextensionsV1Api(provider.api_client).list_custom_resource_definition().items
    assert [crd.metadata.name for crd in crds if crd.metadata.name.endswith(".liqo.io")] == []
    result = liqoctl("peer", "--kubeconfig", consumer.kubeconfig, "--remote-kubeconfig", provider.kubeconfig)
    assert result.returncode == 1
    assert result.stderr.endswith(
        "ERRO: error: an error occurred while retrieving cluster id: Error from server (NotFound): configmaps "
        '"configmaps" not found\n'
    )
    info = liqoctl("info", "--kubeconfig", provider.kubeconfig)
    assert info.returncode == 1
    assert info.stderr.startswith("ERRO: Liqo is not installed in the current cluster!")
