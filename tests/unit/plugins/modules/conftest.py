# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fakes for the Liqo module tests: in-memory clusters and a scripted liqoctl.

FakeCluster replaces KubeCluster (the API reads) and FakeLiqoctl replaces AnsibleModule.run_command.
The real exit_json/fail_json run, so results go through Ansible's JSON output and no_log masking.
"""

import json

import pytest
from ansible.module_utils import _internal, basic
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_kube import KubeAccessError
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_state import module_status

LIQOCTL = "/opt/liqo/bin/liqoctl"
CONSUMER_KUBECONFIG = "/etc/oss-mlops/consumer.kubeconfig"
PROVIDER_KUBECONFIG = "/etc/oss-mlops/provider.kubeconfig"
CONSUMER_URL = "https://127.10.0.1:6443"
PROVIDER_URL = "https://127.10.1.1:6443"
READ_ONLY_COMMANDS = ("version", "info")


def matches_selector(labels, selector):
    """Return whether labels match a selector of `key=value` and `key` terms, as the fake API needs."""
    for term in filter(None, (selector or "").split(",")):
        key, _sep, value = term.partition("=")
        if key not in labels or (value and labels[key] != value):
            return False
    return True


def flag_value(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None


class FakeCluster:
    """In-memory cluster: objects by kind, plus what `liqoctl info` reports when Liqo is installed."""

    def __init__(self, name, api_url):
        self.name = name
        self.api_url = api_url
        self.objects = {}
        self.liqo = None

    def put(self, kind, obj):
        metadata = obj["metadata"]
        self.objects.setdefault(kind, {})[(metadata.get("namespace"), metadata["name"])] = obj
        return obj

    def remove(self, kind, name, namespace=None):
        self.objects.get(kind, {}).pop((namespace, name), None)

    def items(self, kind, namespace=None, label_selector=None):
        found = []
        for (item_namespace, _name), obj in sorted(self.objects.get(kind, {}).items(), key=lambda entry: str(entry[0])):
            if namespace and item_namespace != namespace:
                continue
            if matches_selector(obj["metadata"].get("labels") or {}, label_selector):
                found.append(obj)
        return found

    def probe(self):
        return True

    def get_namespace(self, name):
        return self.objects.get("Namespace", {}).get((None, name))

    def get_config_map(self, namespace, name):
        return self.objects.get("ConfigMap", {}).get((namespace, name))

    def list_nodes(self, label_selector=None):
        return self.items("Node", label_selector=label_selector)

    def list_secrets(self, namespace, label_selector=None):
        return self.items("Secret", namespace, label_selector)

    def get_liqo_object(self, kind, name, namespace=None):
        return self.objects.get(kind, {}).get((namespace, name))

    def list_liqo_objects(self, kind, namespace=None, label_selector=None):
        return self.items(kind, namespace, label_selector)

    def info_json(self, verbose):
        """Return `liqoctl info -o json` as liqoctl v1.0.3 shapes it."""
        config_map = self.get_config_map("liqo", "liqo-clusterid-configmap") or {"data": {}}
        document = {
            "local": {
                "clusterID": config_map["data"].get("CLUSTER_ID", ""),
                "version": self.liqo["version"],
                "labels": self.liqo["labels"],
                "APIServerAddr": self.liqo["api_server_url"],
            },
            "health": {"healthy": self.liqo.get("healthy", True)},
            "peerings": {"peers": [info_peer(item) for item in self.items("ForeignCluster")]},
        }
        if self.liqo.get("unhealthy_pods"):
            document["health"]["unhealthyPods"] = self.liqo["unhealthy_pods"]
        if verbose:
            networks = {item["metadata"]["name"]: item["spec"]["cidr"] for item in self.items("Network")}
            document["network"] = {
                "podCIDR": networks.get("pod-cidr", ""),
                "serviceCIDR": networks.get("service-cidr", ""),
                "externalCIDR": networks.get("external-cidr", ""),
                "internalCIDR": networks.get("internal-cidr", ""),
            }
        return document


def info_peer(foreign_cluster):
    modules = foreign_cluster["status"].get("modules", {})
    return {
        "clusterID": foreign_cluster["spec"]["clusterID"],
        "role": foreign_cluster["status"]["role"],
        "networkingStatus": module_status(modules.get("networking")),
        "authenticationStatus": module_status(modules.get("authentication")),
        "offloadingStatus": module_status(modules.get("offloading")),
    }


class FakeLiqoctl:
    """Scripted liqoctl: returns version and info output from the fake clusters and records every call."""

    def __init__(self, clusters):
        self.clusters = clusters
        self.calls = []
        self.version = "v1.0.3"
        self.handlers = {}
        self.results = {}

    def __call__(self, argv, environ_update=None, **kwargs):
        self.calls.append({"argv": list(argv), "environ": dict(environ_update or {})})
        command = argv[1]
        if command == "version":
            return 0, f"Client version: {self.version}\n", ""
        if command in self.results:
            return self.results[command]
        if command == "info":
            return self.info(argv)
        if command in self.handlers:
            return self.handlers[command](argv)
        return 0, "", "INFO  done\n"

    def info(self, argv):
        cluster = self.clusters[flag_value(argv, "--kubeconfig")]
        if cluster.liqo is None:
            return 1, "", "ERRO  Liqo is not installed in the current cluster! \n\nYou can install liqo via ...\n"
        return 0, json.dumps(cluster.info_json(verbose="-v" in argv)) + "\n", ""

    def argvs(self, command=None):
        return [call["argv"][1:] for call in self.calls if command is None or call["argv"][1] == command]

    def mutating_calls(self):
        return [call["argv"][1:] for call in self.calls if call["argv"][1] not in READ_ONLY_COMMANDS]


class LiqoTestEnv:
    """Two fake clusters (consumer and provider), a fake liqoctl and a module runner."""

    def __init__(self, capsys):
        self.capsys = capsys
        self.consumer = FakeCluster("consumer", CONSUMER_URL)
        self.provider = FakeCluster("provider", PROVIDER_URL)
        self.clusters = {CONSUMER_KUBECONFIG: self.consumer, PROVIDER_KUBECONFIG: self.provider}
        self.liqoctl = FakeLiqoctl(self.clusters)
        self.opened = []

    def open_cluster(self, kubeconfig, context=None):
        self.opened.append((kubeconfig, context))
        if kubeconfig not in self.clusters:
            raise KubeAccessError(f"kubeconfig {kubeconfig} does not exist; set kubeconfig to the cluster's kubeconfig")
        return self.clusters[kubeconfig]

    def run(self, module, args, check_mode=False, diff=False):
        """Run a module's main() and return its parsed JSON result."""
        module_args = dict(args)
        if check_mode:
            module_args["_ansible_check_mode"] = True
        if diff:
            module_args["_ansible_diff"] = True
        # Warnings are process-wide in ansible-core; a real module run starts with none.
        module_warnings._global_warnings.clear()
        module_warnings._global_deprecations.clear()
        with patch_module_args(module_args), pytest.raises(SystemExit):
            module.main()
        output = self.capsys.readouterr().out
        return json.loads(output)


@pytest.fixture
def liqo_env(monkeypatch, capsys):
    env = LiqoTestEnv(capsys)
    # Other tests import controller code, which sends module warnings to the controller display
    # instead of the module result. The modules under test must run as on a managed host.
    monkeypatch.setattr(_internal, "is_controller", False)
    monkeypatch.setattr(liqo, "KubeCluster", env.open_cluster)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", env.liqoctl)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: LIQOCTL)
    monkeypatch.delenv("K8S_AUTH_KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("K8S_AUTH_CONTEXT", raising=False)
    return env


# Builders of the objects Liqo v1.0.3 leaves in the API.


def install_liqo(cluster, cluster_id, *, version="v1.0.3", labels=None, api_server_url=None, pod_cidr="10.244.0.0/16",
                 service_cidr="10.96.0.0/16", reserved_subnets=()):
    """Make the cluster look like a Liqo install: namespace, cluster ID ConfigMap, Network CRs."""
    cluster.put("Namespace", {"metadata": {"name": "liqo"}})
    cluster.put("ConfigMap", {
        "metadata": {"name": "liqo-clusterid-configmap", "namespace": "liqo",
                     "labels": {"app.kubernetes.io/name": "clusterid-configmap"}},
        "data": {"CLUSTER_ID": cluster_id},
    })
    networks = [("pod-cidr", "pod-cidr", pod_cidr), ("service-cidr", "service-cidr", service_cidr),
                ("external-cidr", "external-cidr", "10.70.0.0/16"), ("internal-cidr", "internal-cidr", "10.80.0.0/16")]
    networks += [(f"reserved-{index}", "reserved", cidr) for index, cidr in enumerate(reserved_subnets, start=1)]
    for name, network_type, cidr in networks:
        cluster.put("Network", {
            "metadata": {"name": name, "namespace": "liqo", "labels": {"ipam.liqo.io/network-type": network_type}},
            "spec": {"cidr": cidr},
        })
    cluster.liqo = {
        "version": version,
        "labels": dict(labels if labels is not None else {"liqo.io/provider": "kind"}),
        "api_server_url": api_server_url or cluster.api_url,
    }


def module_state(enabled=True, healthy=True):
    if not enabled:
        return {"enabled": False}
    status = "Ready" if healthy else "NotReady"
    return {"enabled": True, "conditions": [{"type": "SomeStatus", "status": status, "message": "checked"}]}


def add_foreign_cluster(cluster, cluster_id, *, role="Provider", enabled=True, healthy=True):
    modules = {name: module_state(enabled, healthy) for name in ("networking", "authentication", "offloading")}
    return cluster.put("ForeignCluster", {
        "metadata": {"name": cluster_id, "labels": {"liqo.io/remote-cluster-id": cluster_id}},
        "spec": {"clusterID": cluster_id},
        "status": {
            "role": role,
            "modules": modules,
            "apiServerUrl": PROVIDER_URL,
            "tenantNamespace": {"local": f"liqo-tenant-{cluster_id}"},
        },
    })


def add_resource_slice(cluster, provider_id, consumer_id, resources, *, accepted=True, resources_status="Accepted"):
    granted = {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "20Gi"}
    granted.update(resources)
    authentication = "Accepted" if accepted else "Denied"
    return cluster.put("ResourceSlice", {
        "metadata": {"name": provider_id, "namespace": f"liqo-tenant-{provider_id}",
                     "labels": {"liqo.io/remote-cluster-id": provider_id}},
        "spec": {"providerClusterID": provider_id, "consumerClusterID": consumer_id, "class": "default",
                 "resources": dict(resources)},
        "status": {
            "conditions": [{"type": "Authentication", "status": authentication},
                           {"type": "Resources", "status": resources_status}],
            "resources": granted,
        },
    })


def add_virtual_node(cluster, provider_id, resources, ready=True):
    return cluster.put("Node", {
        "metadata": {"name": provider_id, "labels": {"liqo.io/type": "virtual-node",
                                                     "liqo.io/remote-cluster-id": provider_id}},
        "spec": {"taints": [{"key": "virtual-node.liqo.io/not-allowed", "value": "true", "effect": "NoExecute"}]},
        "status": {"capacity": dict(resources), "allocatable": dict(resources),
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    })


def add_offloading(cluster, namespace, *, mapping="EnforceSameName", pod_strategy="LocalAndRemote", terms=(),
                   phase="Ready", remote_name=None):
    spec = {"namespaceMappingStrategy": mapping, "podOffloadingStrategy": pod_strategy,
            "clusterSelector": {"nodeSelectorTerms": list(terms)}}
    if remote_name:
        spec["remoteNamespaceName"] = remote_name
    remote = remote_name or (namespace if mapping == "EnforceSameName" else f"{namespace}-mlops-consumer")
    return cluster.put("NamespaceOffloading", {
        "metadata": {"name": "offloading", "namespace": namespace, "generation": 1},
        "spec": spec,
        "status": {"offloadingPhase": phase, "remoteNamespaceName": remote, "observedGeneration": 1,
                   "remoteNamespacesConditions": {"verda-v100-1": [
                       {"type": "OffloadingRequired", "status": "True", "reason": "ClusterSelected"},
                       {"type": "Ready", "status": "True", "reason": "NamespaceCreated"}]}},
    })


for _builder in (install_liqo, add_foreign_cluster, add_resource_slice, add_virtual_node, add_offloading):
    setattr(LiqoTestEnv, _builder.__name__, staticmethod(_builder))
