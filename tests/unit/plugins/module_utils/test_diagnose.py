# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Classifier tests on minimal API states: the manual attempt, each Liqo bug report about offloaded pods, and
every cause the module names. Each state holds only the fields the rule reads."""

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.diagnose import diagnose
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.diagnose_logs import read_signatures

PLATFORM = ("kubeflow", "mlflow")
STEP_SERVICES = ("kubeflow/ml-pipeline", "kubeflow/minio-service", "mlflow/mlflow")
PROVIDER = "cluster-b"
LOCAL_NODE = "mlops-platform-control-plane"


def virtual_node(name=PROVIDER, ready=True, allocatable=None, network_unavailable=False):
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    if network_unavailable:
        conditions.append({"type": "NetworkUnavailable", "status": "True"})
    return {
        "metadata": {"name": name, "labels": {"liqo.io/type": "virtual-node", "liqo.io/remote-cluster-id": name}},
        "status": {"conditions": conditions, "allocatable": allocatable or {"cpu": "16", "memory": "64Gi"}},
    }


def offloading(namespace, *, mapping="EnforceSameName", strategy="Local", remote=None, created="2026-01-01T10:00:00Z",
               cluster=PROVIDER, ready=True):
    return {
        "metadata": {"name": "offloading", "namespace": namespace, "creationTimestamp": created},
        "spec": {"namespaceMappingStrategy": mapping, "podOffloadingStrategy": strategy},
        "status": {
            "offloadingPhase": "Ready",
            "remoteNamespaceName": remote or namespace,
            "remoteNamespacesConditions": {cluster: [
                {"type": "OffloadingRequired", "status": "True", "reason": "ClusterSelected"},
                {"type": "Ready", "status": "True" if ready else "False",
                 "reason": "NamespaceCreated" if ready else "CreationLoopBackOff"},
            ]},
        },
    }


def pod(name, *, namespace="kubeflow", node=PROVIDER, phase="Running", reason=None, owner=("ReplicaSet", None),
        labels=None, created="2026-01-01T11:00:00Z", ip=None, ready=True, containers=None, statuses=None,
        conditions=None, tolerations=None):
    kind, owner_name = owner
    metadata = {"name": name, "namespace": namespace, "creationTimestamp": created, "labels": dict(labels or {})}
    if kind == "ReplicaSet":
        owner_name = owner_name or name.rsplit("-", 1)[0]
        metadata["labels"]["pod-template-hash"] = owner_name.rsplit("-", 1)[1]
    if kind:
        metadata["ownerReferences"] = [{"kind": kind, "name": owner_name or name, "controller": True}]
    status = {"phase": phase, "conditions": conditions or [{"type": "Ready", "status": "True" if ready else "False"}]}
    if reason:
        status["reason"] = reason
    if ip:
        status["podIPs"] = [{"ip": ip}]
        status["podIP"] = ip
    if statuses:
        status["containerStatuses"] = statuses
    spec = {"nodeName": node, "containers": containers or [{"name": "main", "image": "python:3.10"}]}
    if tolerations:
        spec["tolerations"] = tolerations
    return {"metadata": metadata, "spec": spec, "status": status}


def step_pod(name, *, node=PROVIDER, phase="Failed", message=None, **kwargs):
    statuses = [{"name": "main", "restartCount": 0,
                 "state": {"terminated": {"exitCode": 1, "reason": "Error", "message": message or ""}}}]
    return pod(name, node=node, phase=phase, owner=("Workflow", name.rsplit("-", 2)[0]),
               labels={"workflows.argoproj.io/workflow": name.rsplit("-", 2)[0]}, statuses=statuses, **kwargs)


def crash_looping(name, restarts, **kwargs):
    statuses = [{"name": "server", "restartCount": restarts,
                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting"}}}]
    return pod(name, statuses=statuses, ready=False, **kwargs)


def service(name, namespace, cluster_ip, selector=True, annotations=None):
    return {"metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
            "spec": {"clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                     "selector": {"app": name} if selector else {}}}


def endpoint_slice(service_name, namespace, ready=(), not_ready=()):
    endpoints = [{"addresses": [ip], "conditions": {"ready": True}} for ip in ready]
    endpoints += [{"addresses": [ip], "conditions": {"ready": False}} for ip in not_ready]
    return {"metadata": {"name": f"{service_name}-abcde", "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service_name}}, "endpoints": endpoints}


def snapshot(**parts):
    base = {"liqo_version": "v1.0.3", "virtual_nodes": [virtual_node()], "namespace_offloadings": [],
            "pods": [], "all_pods": [], "services": [], "endpoint_slices": [], "events": {}, "logs": {}}
    base.update(parts)
    return base


def run(state):
    return diagnose(state, platform_namespaces=PLATFORM, step_services=STEP_SERVICES)


def causes_of(result, name):
    return {item["cause"] for item in result["findings"] if item["subject"].get("name") == name}


def finding_for(result, name, cause):
    matches = [item for item in result["findings"]
               if item["subject"].get("name") == name and item["cause"] == cause]
    assert matches, f"no {cause} finding for {name}: {result['findings']}"
    return matches[0]


# The manual attempt: kubeflow offloaded with liqoctl's defaults (DefaultName, LocalAndRemote), platform pods on
# the virtual node (OffloadingAborted ghosts and crash loops), a step in Error that cannot reach minio-service.kubeflow.
MINIO_LOG = ('time="2026-01-01T11:03:45Z" level=fatal msg="failed to save log: dial tcp: lookup '
             'minio-service.kubeflow on 10.43.0.10:53: no such host"')


@pytest.fixture(name="manual_attempt")
def manual_attempt_fixture():
    pods = [
        pod("ml-pipeline-ui-7d9f8-x2x7k", reason="OffloadingAborted", phase="Failed", ip="10.42.0.20"),
        crash_looping("ml-pipeline-5b8c6-abcde", 19, ip="10.42.0.21"),
        crash_looping("metadata-grpc-deployment-6d4f9-qwert", 17, ip="10.42.0.22"),
        step_pod("demo-pipeline-2psln-pull-data-192244075", message=MINIO_LOG),
    ]
    events = {"kubeflow/ml-pipeline-ui-7d9f8-x2x7k": [{
        "type": "Warning", "reason": "ReflectionDisabled",
        "message": 'Reflection to cluster "cluster-b" disabled for namespace "kubeflow".'}]}
    return snapshot(
        namespace_offloadings=[offloading("kubeflow", mapping="DefaultName", strategy="LocalAndRemote",
                                          remote="kubeflow-kind-mlops-platform")],
        pods=pods, events=events,
        services=[service("minio-service", "kubeflow", "10.96.10.9"), service("ml-pipeline", "kubeflow", "10.96.10.8"),
                  service("mlflow", "mlflow", "10.96.20.5")],
        endpoint_slices=[endpoint_slice("minio-service", "kubeflow", ready=["10.244.0.9"]),
                         endpoint_slice("ml-pipeline", "kubeflow", not_ready=["10.42.0.21"])],
    )


def test_manual_attempt_names_renamed_namespace(manual_attempt):
    result = run(manual_attempt)

    offload = finding_for(result, "offloading", "namespace_renamed")
    assert "kubeflow-kind-mlops-platform" in offload["fix"]
    assert "EnforceSameName" in offload["fix"]


def test_manual_attempt_step_log_points_at_mapping(manual_attempt):
    result = run(manual_attempt)

    step = finding_for(result, "demo-pipeline-2psln-pull-data-192244075", "namespace_renamed")
    assert any("minio-service.kubeflow is Service kubeflow/minio-service" in line for line in step["evidence"])
    assert any("kubeflow-kind-mlops-platform" in line for line in step["evidence"])
    assert "unknown" not in causes_of(result, "demo-pipeline-2psln-pull-data-192244075")


def test_manual_attempt_platform_pods_on_virtual_node(manual_attempt):
    result = run(manual_attempt)

    for name in ("ml-pipeline-ui-7d9f8-x2x7k", "ml-pipeline-5b8c6-abcde", "metadata-grpc-deployment-6d4f9-qwert"):
        placed = finding_for(result, name, "platform_on_virtual_node")
        assert "liqo.io/type NotIn [virtual-node]" in placed["fix"]
    assert "Deployment kubeflow/ml-pipeline" in finding_for(result, "ml-pipeline-5b8c6-abcde",
                                                            "platform_on_virtual_node")["fix"]


def test_manual_attempt_ghost_is_offloading_aborted(manual_attempt):
    result = run(manual_attempt)

    ghost = finding_for(result, "ml-pipeline-ui-7d9f8-x2x7k", "offloading_aborted")
    assert "Delete it" in ghost["fix"]
    assert any("ReflectionDisabled" in line for line in ghost["evidence"])


def test_manual_attempt_api_service_without_ready_endpoints(manual_attempt):
    result = run(manual_attempt)

    api = finding_for(result, "ml-pipeline", "mirrored_service_without_endpoints")
    assert any("10.42.0.21 is pod kubeflow/ml-pipeline-5b8c6-abcde" in line for line in api["evidence"])


def test_manual_attempt_mlflow_not_mirrored(manual_attempt):
    result = run(manual_attempt)

    mlflow = finding_for(result, "mlflow", "service_not_mirrored")
    assert "Offload mlflow" in mlflow["fix"]


def test_fixed_layout_has_no_findings():
    state = snapshot(
        namespace_offloadings=[offloading("kubeflow"), offloading("mlflow")],
        pods=[pod("train-step-abc-123", owner=("Workflow", "train-step-abc"),
                  labels={"workflows.argoproj.io/workflow": "train-step-abc"})],
        services=[service("minio-service", "kubeflow", "10.96.10.9"), service("mlflow", "mlflow", "10.96.20.5")],
        endpoint_slices=[endpoint_slice("minio-service", "kubeflow", ready=["10.244.0.9"]),
                         endpoint_slice("mlflow", "mlflow", ready=["10.244.0.10"])],
    )

    result = run(state)

    assert result["findings"] == []
    assert result["pods"][0]["causes"] == []


# liqotech/liqo#1109: a pod in an offloaded namespace cannot resolve server.ns1 because ns1 is not offloaded.
def test_cross_namespace_name_needs_offloaded_namespace():
    log = "dial tcp: lookup server.ns1 on 10.43.0.10:53: no such host"
    state = snapshot(
        namespace_offloadings=[offloading("ns3", mapping="EnforceSameName", strategy="LocalAndRemote")],
        pods=[step_pod("client-run-1-2", message=log, namespace="ns3")],
        services=[service("server", "ns1", "10.96.30.3")],
        endpoint_slices=[endpoint_slice("server", "ns1", ready=["10.244.0.30"])],
    )

    result = run(state)

    found = finding_for(result, "client-run-1-2", "service_not_mirrored")
    assert "Offload ns1 with EnforceSameName" in found["fix"]


# liqotech/liqo#1109 with liqoctl's default mapping: ns3 itself is renamed on the provider.
def test_cross_namespace_name_with_default_mapping():
    log = "Failed to resolve 'server.ns3.svc.cluster.local' ([Errno -2] Name or service not known)"
    state = snapshot(
        namespace_offloadings=[offloading("ns3", mapping="DefaultName", remote="ns3-consumer")],
        pods=[step_pod("client-run-1-2", message=log, namespace="ns3")],
        services=[service("server", "ns3", "10.96.30.3")],
    )

    result = run(state)

    assert "namespace_renamed" in causes_of(result, "client-run-1-2")


# liqotech/liqo PR #2870: OffloadingBackOff after a bidirectional peering on Liqo before v1.0.0.
def test_bidirectional_namespace_map_bug_before_v1():
    local_labels = {"liqo.io/remote-cluster-id": PROVIDER, "liqo.io/replication": "true"}
    replicated_labels = {"liqo.io/remote-cluster-id": PROVIDER, "liqo.io/replicated": "true"}
    maps = [
        {"metadata": {"name": "cluster-b-local", "labels": local_labels}},
        {"metadata": {"name": "cluster-b-replicated", "labels": replicated_labels}},
    ]
    foreign = [{"metadata": {"name": PROVIDER}, "spec": {"clusterID": PROVIDER},
                "status": {"role": "ConsumerAndProvider"}}]
    state = snapshot(
        liqo_version="v1.0.0-rc.2", namespace_maps=maps, foreign_clusters=foreign,
        namespace_offloadings=[offloading("kubeflow", created="2026-01-01T09:00:00Z")],
        pods=[step_pod("run-a-train-1", phase="Pending", reason="OffloadingBackOff")],
    )

    result = run(state)

    found = finding_for(result, "run-a-train-1", "namespacemap_bidirectional_bug")
    assert "Upgrade Liqo" in found["fix"]


def test_bidirectional_peering_on_v1_is_not_the_bug():
    maps = [{"metadata": {"name": f"map-{i}", "labels": {"liqo.io/remote-cluster-id": PROVIDER}}} for i in range(2)]
    foreign = [{"metadata": {"name": PROVIDER}, "spec": {"clusterID": PROVIDER},
                "status": {"role": "ConsumerAndProvider"}}]
    state = snapshot(
        namespace_maps=maps, foreign_clusters=foreign,
        namespace_offloadings=[offloading("kubeflow", created="2026-01-01T09:00:00Z")],
        pods=[step_pod("run-a-train-1", phase="Pending", reason="OffloadingBackOff")],
    )

    result = run(state)

    assert causes_of(result, "run-a-train-1") == {"unknown"}


# liqotech/liqo#2909: an offloaded pod is unreachable because the fabric does not run on every node and
# NetworkPolicies guard the tenant namespace.
def test_data_plane_broken_fabric_and_policies():
    state = snapshot(
        daemon_sets=[{"metadata": {"name": "liqo-fabric", "namespace": "liqo"},
                      "status": {"desiredNumberScheduled": 3, "numberReady": 2}}],
        network_policies=[{"metadata": {"name": "default-deny", "namespace": "liqo-tenant-cluster-b"}}],
    )

    result = run(state)

    found = [item for item in result["findings"] if item["cause"] == "data_plane_blocked"]
    assert len(found) == 1
    assert any("2 of 3" in line for line in found[0]["evidence"])
    assert "UDP 51840" in found[0]["fix"]


# liqotech/liqo#1052 and #1478: the virtual node offers fewer GPUs than the step asks for.
def test_gpu_step_with_too_few_gpus_on_virtual_node():
    gpu = [{"name": "train", "image": "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime",
            "resources": {"limits": {"nvidia.com/gpu": "2"}}}]
    unscheduled = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": "0/2 nodes are available: 1 Insufficient nvidia.com/gpu"}]
    state = snapshot(
        virtual_nodes=[virtual_node(allocatable={"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "1"})],
        namespace_offloadings=[offloading("kubeflow")],
        pods=[pod("run-gpu-train-1", node=None, phase="Pending", owner=("Workflow", "run-gpu"),
                  labels={"workflows.argoproj.io/workflow": "run-gpu"}, containers=gpu, conditions=unscheduled,
                  tolerations=[{"key": "virtual-node.liqo.io/not-allowed", "operator": "Exists",
                                "effect": "NoExecute"}])],
    )

    result = run(state)

    found = finding_for(result, "run-gpu-train-1", "resources_not_in_slice")
    assert any("nvidia.com/gpu=2 but cluster-b offers 1" in line for line in found["evidence"])
    assert "--resource nvidia.com/gpu=N" in found["fix"]


# liqotech/liqo#3170 and #1478 on Liqo 1.0: the slice grants a GPU, the pod is offloaded, but no provider node fits.
def test_gpu_pod_pending_on_provider_without_pinning():
    gpu = [{"name": "train", "image": "pytorch/pytorch:2.3.0", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]
    remote_pending = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                       "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu"}]
    state = snapshot(
        virtual_node_objects=[{"metadata": {"name": PROVIDER}, "spec": {"offloadingPatch": {}}}],
        namespace_offloadings=[offloading("kubeflow")],
        pods=[pod("run-gpu-train-1", phase="Pending", owner=("Workflow", "run-gpu"),
                  labels={"workflows.argoproj.io/workflow": "run-gpu"}, containers=gpu, conditions=remote_pending)],
    )

    result = run(state)

    found = finding_for(result, "run-gpu-train-1", "provider_lacks_resources")
    assert "--node-selector" in found["fix"]
    assert any("no offloadingPatch.nodeSelector" in line for line in found["evidence"])


def test_gpu_pod_pending_on_pinned_virtual_node():
    gpu = [{"name": "train", "image": "pytorch/pytorch:2.3.0", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]
    remote_pending = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "no fit"}]
    state = snapshot(
        virtual_node_objects=[{"metadata": {"name": PROVIDER},
                               "spec": {"offloadingPatch": {"nodeSelector": {"nvidia.com/gpu.present": "true"}}}}],
        namespace_offloadings=[offloading("kubeflow")],
        pods=[pod("run-gpu-train-1", phase="Pending", owner=("Workflow", "run-gpu"), containers=gpu,
                  conditions=remote_pending)],
    )

    found = finding_for(run(state), "run-gpu-train-1", "provider_lacks_resources")

    assert "--node-selector" not in found["fix"]


def test_daemonset_pod_on_virtual_node_backs_off():
    state = snapshot(
        pods=[pod("node-exporter-x7", namespace="monitoring", phase="Pending", reason="OffloadingBackOff",
                  owner=("DaemonSet", "node-exporter"))],
    )

    found = finding_for(run(state), "node-exporter-x7", "offloading_backoff_daemonset")

    assert "DaemonSet monitoring/node-exporter" in found["fix"]


def test_pod_created_before_namespace_offloaded():
    state = snapshot(
        namespace_offloadings=[offloading("kubeflow", created="2026-01-01T12:00:00Z")],
        pods=[step_pod("run-b-train-1", phase="Pending", reason="OffloadingBackOff",
                       created="2026-01-01T11:59:58Z")],
    )

    found = finding_for(run(state), "run-b-train-1", "created_before_offloading")

    assert any("2026-01-01T11:59:58Z" in line for line in found["evidence"])


def test_backoff_in_namespace_not_offloaded():
    state = snapshot(pods=[step_pod("run-c-train-1", namespace="team-a", phase="Pending", reason="OffloadingBackOff")])

    found = finding_for(run(state), "run-c-train-1", "namespace_not_offloaded")

    assert "Namespace team-a is not offloaded" in found["fix"]


def test_backoff_when_remote_namespace_not_created():
    state = snapshot(
        namespace_offloadings=[offloading("kubeflow", ready=False, created="2026-01-01T09:00:00Z")],
        pods=[step_pod("run-d-train-1", phase="Pending", reason="OffloadingBackOff")],
    )

    found = finding_for(run(state), "run-d-train-1", "namespace_not_offloaded")

    assert "CreationLoopBackOff" in found["fix"]


def test_quota_denial_names_missing_resource():
    events = {"kubeflow/run-e-train-1": [{
        "type": "Warning", "reason": "FailedReflection",
        "message": 'Error reflecting object to cluster "cluster-b": admission webhook denied the request: '
                   "nvidia.com/gpu quota limit not found for this peering"}]}
    state = snapshot(namespace_offloadings=[offloading("kubeflow")], events=events,
                     pods=[pod("run-e-train-1", phase="Pending", owner=("Workflow", "run-e"))])

    found = finding_for(run(state), "run-e-train-1", "resources_not_in_slice")

    assert "quota limit not found" in found["fix"]


@pytest.mark.parametrize(("image", "policy", "cause"), [
    ("127.0.0.1:5001/wine-train:latest", "IfNotPresent", "image_only_at_home"),
    ("kind-registry:5000/wine-train:1", "IfNotPresent", "image_only_at_home"),
    ("wine-train:dev", "Never", "image_only_at_home"),
    ("gcr.io/kubebuilder/kube-rbac-proxy:v0.13.1", "IfNotPresent", "image_pull_failed"),
])
def test_image_pull_failures(image, policy, cause):
    statuses = [{"name": "main", "restartCount": 0,
                 "state": {"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}}}]
    containers = [{"name": "main", "image": image, "imagePullPolicy": policy}]
    state = snapshot(namespace_offloadings=[offloading("kubeflow")],
                     pods=[pod("run-f-train-1", phase="Pending", owner=("Workflow", "run-f"), containers=containers,
                               statuses=statuses)])

    assert causes_of(run(state), "run-f-train-1") == {cause}


def test_unhealthy_peering_and_unreachable_pods():
    foreign = [{"metadata": {"name": PROVIDER}, "spec": {"clusterID": PROVIDER}, "status": {
        "role": "Provider", "modules": {"networking": {"enabled": True, "conditions": [
            {"type": "NetworkConnectionStatus", "status": "Error", "message": "connection lost"}]}}}}]
    state = snapshot(
        foreign_clusters=foreign,
        virtual_nodes=[virtual_node(ready=False, network_unavailable=True)],
        namespace_offloadings=[offloading("kubeflow")],
        pods=[pod("run-g-train-1", owner=("Workflow", "run-g"), ready=False,
                  labels={"liqo.io/remote-unavailable": "true"})],
    )

    result = run(state)

    peering = finding_for(result, PROVIDER, "peering_unhealthy")
    assert any("NetworkConnectionStatus Error" in line for line in peering["evidence"])
    step = finding_for(result, "run-g-train-1", "peering_unhealthy")
    assert any("remote-unavailable" in line for line in step["evidence"])


def test_service_ip_without_ready_pod():
    log = "dial tcp 10.96.10.8:8887: i/o timeout"
    ghost = pod("ml-pipeline-5b8c6-abcde", node=LOCAL_NODE, ip="10.244.0.71", ready=False)
    state = snapshot(
        namespace_offloadings=[offloading("kubeflow")],
        pods=[step_pod("run-h-driver-1", message=log)], all_pods=[ghost],
        services=[service("ml-pipeline", "kubeflow", "10.96.10.8")],
        endpoint_slices=[endpoint_slice("ml-pipeline", "kubeflow", not_ready=["10.244.0.71"])],
    )

    found = finding_for(run(state), "run-h-driver-1", "mirrored_service_without_endpoints")

    assert any("10.96.10.8 is the ClusterIP of Service kubeflow/ml-pipeline" in line for line in found["evidence"])
    assert any("10.244.0.71 is pod kubeflow/ml-pipeline-5b8c6-abcde" in line for line in found["evidence"])


def test_pod_ip_of_failed_pod():
    log = "urllib3.exceptions.NewConnectionError: Failed to establish a new connection: [Errno 111] Connection " \
          "refused (10.42.0.18:8080)"
    ghost = pod("metadata-envoy-deployment-5f7c9-aaaaa", ip="10.42.0.18", phase="Failed", reason="OffloadingAborted")
    state = snapshot(
        namespace_offloadings=[offloading("kubeflow")],
        pods=[step_pod("run-i-train-1", message=log)], all_pods=[ghost],
        endpoint_slices=[endpoint_slice("metadata-envoy-service", "kubeflow", not_ready=["10.42.0.18"])],
    )

    found = finding_for(run(state), "run-i-train-1", "mirrored_service_without_endpoints")

    assert "kubeflow/metadata-envoy-service" in found["fix"]


def test_service_name_unknown_to_consumer():
    log = "lookup minio.kubeflow on 10.43.0.10:53: no such host"
    state = snapshot(namespace_offloadings=[offloading("kubeflow")],
                     pods=[step_pod("run-j-train-1", message=log)],
                     services=[service("minio-service", "kubeflow", "10.96.10.9")])

    found = finding_for(run(state), "run-j-train-1", "service_not_found")

    assert "No Service minio exists in namespace kubeflow" in found["fix"]


def test_unknown_failure_keeps_evidence():
    log = "ValueError: could not convert string to float: 'quality'"
    state = snapshot(namespace_offloadings=[offloading("kubeflow")],
                     pods=[step_pod("run-k-train-1", message=log)])

    result = run(state)

    found = finding_for(result, "run-k-train-1", "unknown")
    assert causes_of(result, "run-k-train-1") == {"unknown"}
    assert any("could not convert string to float" in line for line in found["evidence"])
    assert any("exit code 1" in line for line in found["evidence"])


def test_unknown_address_is_noted_not_classified():
    log = "dial tcp 10.42.0.99:9000: connect: connection refused"
    state = snapshot(namespace_offloadings=[offloading("kubeflow")], pods=[step_pod("run-l-train-1", message=log)])

    found = finding_for(run(state), "run-l-train-1", "unknown")

    assert any("10.42.0.99 matches no Service or pod" in line for line in found["evidence"])


def test_healthy_platform_pod_at_home_is_not_reported():
    state = snapshot(namespace_offloadings=[offloading("kubeflow")], pods=[pod("mysql-7f8d9-zzzzz", node=LOCAL_NODE)])

    assert run(state)["findings"] == []


@pytest.mark.parametrize(("line", "host"), [
    ("dial tcp: lookup minio-service.kubeflow on 10.43.0.10:53: no such host", "minio-service.kubeflow"),
    ("socket.gaierror: [Errno -2] Name or service not known (mlflow.mlflow.svc.cluster.local:5000)",
     "mlflow.mlflow.svc.cluster.local"),
    ("curl: (6) Could not resolve host: ml-pipeline.kubeflow", "ml-pipeline.kubeflow"),
])
def test_log_names_that_did_not_resolve(line, host):
    signatures = read_signatures([line])

    assert [entry["host"] for entry in signatures["unresolved"]] == [host]


def test_log_namespace_mentions():
    line = ('Failed to get MinIO credential from secret name="mlpipeline-minio-artifact" '
            'namespace="kubeflow-kind-mlops-platform": secrets not found')

    signatures = read_signatures([line])

    assert [entry["namespace"] for entry in signatures["namespaces"]] == ["kubeflow-kind-mlops-platform"]
