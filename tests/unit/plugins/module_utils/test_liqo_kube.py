# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KubeCluster against a small HTTP API server on loopback, so the real kubernetes client runs."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_kube
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_kube import KubeAccessError, KubeCluster

OBJECTS = {
    "/api/v1/namespaces": {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": []},
    "/api/v1/namespaces/liqo": {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "liqo"}},
    "/api/v1/namespaces/liqo/configmaps/liqo-clusterid-configmap": {
        "kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"name": "liqo-clusterid-configmap", "namespace": "liqo"}, "data": {"CLUSTER_ID": "gpu-1"}},
    "/api/v1/nodes": {"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": [
        {"metadata": {"name": "gpu-1", "labels": {"liqo.io/type": "virtual-node"}},
         "status": {"allocatable": {"nvidia.com/gpu": "1"}}}]},
    "/api/v1/namespaces/liqo/secrets": {"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": []},
    "/apis/core.liqo.io/v1beta1/foreignclusters": {"items": [{"metadata": {"name": "gpu-1"}}]},
    "/apis/core.liqo.io/v1beta1/foreignclusters/gpu-1": {"metadata": {"name": "gpu-1"}, "status": {"role": "Provider"}},
    "/apis/ipam.liqo.io/v1alpha1/namespaces/liqo/networks": {"items": [{"metadata": {"name": "pod-cidr"}}]},
}


class FakeApiHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (name required by BaseHTTPRequestHandler)
        parts = urlsplit(self.path)
        self.server.requests.append((parts.path, parse_qs(parts.query)))
        if self.server.status != 200:
            self.reply(self.server.status, {"kind": "Status", "code": self.server.status, "reason": "Forbidden"})
        elif parts.path in OBJECTS:
            self.reply(200, OBJECTS[parts.path])
        else:
            self.reply(404, {"kind": "Status", "code": 404, "reason": "NotFound"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002 (signature of BaseHTTPRequestHandler)
        pass


@pytest.fixture
def api_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApiHandler)
    server.requests = []
    server.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def write_kubeconfig(path, server, token="tok-abc123"):
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": server}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "admin"}}],
        "users": [{"name": "admin", "user": {"token": token}}],
    }))
    return str(path)


@pytest.fixture
def cluster(api_server, tmp_path):
    url = f"http://127.0.0.1:{api_server.server_address[1]}"
    return KubeCluster(write_kubeconfig(tmp_path / "kubeconfig", url))


def test_probe_lists_namespaces(cluster, api_server):
    cluster.probe()

    assert api_server.requests == [("/api/v1/namespaces", {"limit": ["1"]})]


def test_reads_core_objects(cluster):
    assert cluster.get_namespace("liqo")["metadata"]["name"] == "liqo"
    assert cluster.get_config_map("liqo", "liqo-clusterid-configmap")["data"] == {"CLUSTER_ID": "gpu-1"}
    assert cluster.list_nodes()[0]["status"]["allocatable"] == {"nvidia.com/gpu": "1"}
    assert cluster.list_secrets("liqo") == []


def test_missing_objects_are_none(cluster):
    assert cluster.get_namespace("absent") is None
    assert cluster.get_liqo_object("NamespaceOffloading", "offloading", namespace="ns") is None


def test_reads_liqo_objects(cluster, api_server):
    assert cluster.get_liqo_object("ForeignCluster", "gpu-1")["status"]["role"] == "Provider"
    assert cluster.list_liqo_objects("ForeignCluster", label_selector="a=b") == [{"metadata": {"name": "gpu-1"}}]
    assert cluster.list_liqo_objects("Network", namespace="liqo") == [{"metadata": {"name": "pod-cidr"}}]
    assert ("/apis/core.liqo.io/v1beta1/foreignclusters", {"labelSelector": ["a=b"]}) in api_server.requests


def test_missing_crd_lists_nothing(cluster):
    assert cluster.list_liqo_objects("ResourceSlice") == []


def test_forbidden_names_kubeconfig(cluster, api_server):
    api_server.status = 403

    with pytest.raises(KubeAccessError) as error:
        cluster.probe()

    assert f"the Kubernetes API at {cluster.api_url} (kubeconfig {cluster.kubeconfig})" in str(error.value)
    assert "rejected the request (HTTP 403" in str(error.value)
    assert "Check that the kubeconfig credentials are valid" in str(error.value)


def test_server_error_is_reported(cluster, api_server):
    api_server.status = 500

    with pytest.raises(KubeAccessError, match=r"failed \(HTTP 500"):
        cluster.get_namespace("liqo")


def test_unreachable_names_url(tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:1")
    cluster = KubeCluster(kubeconfig, context="lab")

    with pytest.raises(KubeAccessError) as error:
        cluster.probe()

    assert f"Cannot reach the Kubernetes API at https://127.0.0.1:1 (kubeconfig {kubeconfig} (context lab))" in str(
        error.value)


def test_several_kubeconfig_files_rejected(tmp_path):
    paths = os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")])

    with pytest.raises(KubeAccessError, match="lists several files; liqoctl takes one file"):
        KubeCluster(paths)


def test_unreadable_kubeconfig_rejected(tmp_path, monkeypatch):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:1")
    monkeypatch.setattr(liqo_kube.os, "access", lambda path, mode: False)

    with pytest.raises(KubeAccessError, match="is not readable by this user"):
        KubeCluster(kubeconfig)


def test_invalid_kubeconfig_rejected(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text("just text\n")

    with pytest.raises(KubeAccessError, match=f"Cannot load kubeconfig {path}"):
        KubeCluster(str(path))


def test_kubeconfig_credentials(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({"users": [
        {"name": "a", "user": {"token": "t-1", "client-certificate-data": "cert"}},
        {"name": "b", "user": {"client-key-data": "key-2", "password": "pw-3"}},
        {"name": "c", "user": {"auth-provider": {"config": {"id-token": "id-4", "refresh-token": "r-5"}}}},
    ]}))

    assert sorted(liqo_kube.kubeconfig_credentials(str(path))) == ["id-4", "key-2", "pw-3", "r-5", "t-1"]


def test_kubeconfig_credentials_of_missing_file(tmp_path):
    assert liqo_kube.kubeconfig_credentials(str(tmp_path / "missing")) == []
