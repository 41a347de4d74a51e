"""Offloading on a lab of its own: the platform's real manifests, the real scheduler, join.yml, then the manual attempt.

No Liqo webhook or virtual kubelet runs in the lab. Where the test needs what they would do, it writes it itself
and says so: the toleration Liqo's webhook adds in a LocalAndRemote namespace, and the pod statuses the virtual
kubelet writes (OffloadingAborted, CrashLoopBackOff, a failed step with its termination message).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client, config

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lab"))

from labkit.testing import lab_slot_for, start_lab, stop_lab  # noqa: E402  (needs the path above)

INVENTORY = REPO / "inventories" / "lab"
SLOT = lab_slot_for("offloading")
CONSUMER = "mlops-consumer"
PROVIDER = "verda-v100-1"
HOME_NODE = "mlops-consumer-control-plane"
PLATFORM_NAMESPACES = ("kubeflow", "mlflow", "istio-system", "cert-manager", "knative-serving", "knative-eventing")
HOME_REQUIREMENT = {"key": "liqo.io/type", "operator": "NotIn", "values": ["virtual-node"]}
WEBHOOK_TOLERATION = {"key": "virtual-node.liqo.io/not-allowed", "operator": "Exists", "effect": "NoExecute"}
WAIT_SECONDS = 180
MINIO_LOG = ('time="2026-01-01T11:03:45Z" level=fatal msg="failed to save log: dial tcp: lookup '
             'minio-service.kubeflow on 10.43.0.10:53: no such host"')


@pytest.fixture(scope="module")
def offload_lab(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("offloading-lab")
    env = {**os.environ, "OSS_MLOPS_LAB_STATE": str(state_dir), "OSS_MLOPS_LAB_SLOT": str(SLOT)}
    try:
        lab = start_lab(state_dir, SLOT)
        kubeconfig = lab["clusters"][CONSUMER]["kubeconfig"]
        yield {"state_dir": state_dir, "env": env, "lab": lab,
               "api": config.new_client_from_config(config_file=kubeconfig)}
    finally:
        stop_lab(state_dir)


def run_playbook(offload_lab, playbook, *extra_args):
    run_env = {**offload_lab["env"], "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
               "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_NOCOLOR": "1"}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(INVENTORY),
               str(REPO / "playbooks" / playbook), *extra_args]
    completed = subprocess.run(command, env=run_env, cwd=REPO, capture_output=True, text=True, check=False)
    try:
        return completed.returncode, json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail("ansible-playbook printed no JSON; stderr:\n%s" % completed.stderr[-4000:])


def task_results(output, name_suffix):
    return [result for play in output["plays"] for task in play["tasks"]
            if task["task"]["name"].endswith(name_suffix) for result in task["hosts"].values()]


def core(offload_lab):
    return client.CoreV1Api(offload_lab["api"])


def apps(offload_lab):
    return client.AppsV1Api(offload_lab["api"])


def virtual_node_names(offload_lab):
    nodes = core(offload_lab).list_node(label_selector="liqo.io/type=virtual-node").items
    return {node.metadata.name for node in nodes}


def platform_pods_on(offload_lab, nodes):
    found = []
    for namespace in PLATFORM_NAMESPACES:
        for pod in core(offload_lab).list_namespaced_pod(namespace).items:
            step = "workflows.argoproj.io/workflow" in (pod.metadata.labels or {})
            if pod.spec.node_name in nodes and not step:
                found.append(f"{namespace}/{pod.metadata.name} on {pod.spec.node_name}")
    return found


def wait_for(what, check):
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(2)


def rollouts_done(offload_lab):
    for namespace in PLATFORM_NAMESPACES:
        for deployment in apps(offload_lab).list_namespaced_deployment(namespace).items:
            status = deployment.status
            replicas = deployment.spec.replicas or 0
            if status.observed_generation != deployment.metadata.generation or \
                    (status.updated_replicas or 0) < replicas or (status.replicas or 0) > replicas or \
                    (status.available_replicas or 0) < replicas:
                return False
    return True


def test_platform_scheduled_home_before_join(offload_lab):
    assert virtual_node_names(offload_lab) == set()
    pods = [pod for namespace in PLATFORM_NAMESPACES for pod in core(offload_lab).list_namespaced_pod(namespace).items]
    assert len(pods) >= 30
    assert {pod.spec.node_name for pod in pods} == {HOME_NODE}


def test_join_offloads_and_keeps_platform_home(offload_lab):
    returncode, output = run_playbook(offload_lab, "join.yml")
    assert returncode == 0, [r.get("msg") for p in output["plays"] for t in p["tasks"]
                             for r in t["hosts"].values() if r.get("failed")]

    assert virtual_node_names(offload_lab) == {PROVIDER}
    assert wait_for("rollouts", lambda: rollouts_done(offload_lab))
    assert platform_pods_on(offload_lab, {PROVIDER}) == []


def test_join_pins_every_platform_workload(offload_lab):
    unpinned = []
    for namespace in PLATFORM_NAMESPACES:
        for deployment in apps(offload_lab).list_namespaced_deployment(namespace).items:
            terms = deployment.to_dict()["spec"]["template"]["spec"]["affinity"]["node_affinity"][
                "required_during_scheduling_ignored_during_execution"]["node_selector_terms"]
            expressions = [term["match_expressions"] or [] for term in terms]
            if not all({"key": "liqo.io/type", "operator": "NotIn", "values": ["virtual-node"]} in exprs
                       for exprs in expressions):
                unpinned.append(f"{namespace}/{deployment.metadata.name}")
    assert unpinned == []


def test_join_offloads_pipeline_and_service_namespaces(offload_lab):
    custom = client.CustomObjectsApi(offload_lab["api"])
    for namespace in ("kubeflow", "mlflow"):
        offloading = custom.get_namespaced_custom_object(
            "offloading.liqo.io", "v1beta1", namespace, "namespaceoffloadings", "offloading")
        assert offloading["spec"]["namespaceMappingStrategy"] == "EnforceSameName"
        assert offloading["spec"]["podOffloadingStrategy"] == "Local"


def test_join_limits_reflected_secrets(offload_lab):
    annotations = {secret.metadata.name: secret.metadata.annotations or {}
                   for secret in core(offload_lab).list_namespaced_secret("kubeflow").items}

    assert annotations["mlpipeline-minio-artifact"].get("liqo.io/allow-reflection") == "true"
    assert "liqo.io/skip-reflection" not in annotations["mlpipeline-minio-artifact"]
    assert annotations["mysql-secret"].get("liqo.io/skip-reflection") == "true"
    mlflow = [secret.metadata.annotations or {} for secret in core(offload_lab).list_namespaced_secret("mlflow").items
              if secret.type != "kubernetes.io/service-account-token"]
    assert mlflow
    assert all(item.get("liqo.io/skip-reflection") == "true" for item in mlflow)


def test_restart_with_webhook_toleration_stays_home(offload_lab):
    # What Liqo's webhook would add to every new pod of a LocalAndRemote namespace, plus a rollout restart.
    patch = {"spec": {"template": {
        "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T12:00:00Z"}},
        "spec": {"tolerations": [WEBHOOK_TOLERATION]}}}}
    for namespace in ("kubeflow", "mlflow"):
        for deployment in apps(offload_lab).list_namespaced_deployment(namespace).items:
            apps(offload_lab).patch_namespaced_deployment(deployment.metadata.name, namespace, patch)

    assert wait_for("rollouts", lambda: rollouts_done(offload_lab))
    assert platform_pods_on(offload_lab, {PROVIDER}) == []


def step_pod(name, gpu=False, node_selector=None):
    resources = {"limits": {"nvidia.com/gpu": "1", "cpu": "1", "memory": "1Gi"}} if gpu else {
        "requests": {"cpu": "100m", "memory": "128Mi"}}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "kubeflow", "labels": {
            "workflows.argoproj.io/workflow": "demo-pipeline-2psln", "pipelines.kubeflow.org/v2_component": "true"}},
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": "pipeline-runner",
            "tolerations": [WEBHOOK_TOLERATION],
            "nodeSelector": node_selector or {"liqo.io/type": "virtual-node"},
            "containers": [{"name": "main", "image": "python:3.10", "command": ["python", "-c", "print(1)"],
                            "resources": resources}],
        },
    }


def bound_node(offload_lab, name):
    pod = core(offload_lab).read_namespaced_pod(name, "kubeflow")
    return pod.spec.node_name


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu-step", "gpu-step"])
def test_step_pod_lands_on_virtual_node(offload_lab, gpu):
    name = f"demo-pipeline-2psln-train-{'gpu' if gpu else 'cpu'}"
    core(offload_lab).create_namespaced_pod("kubeflow", step_pod(name, gpu=gpu))
    try:
        assert wait_for("binding", lambda: bound_node(offload_lab, name)) == PROVIDER
    finally:
        core(offload_lab).delete_namespaced_pod(name, "kubeflow", grace_period_seconds=0)


def liqoctl(offload_lab, *args):
    lab = offload_lab["lab"]
    command = [lab["liqoctl"], *args, "--kubeconfig", lab["clusters"][CONSUMER]["kubeconfig"]]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, env=offload_lab["env"])
    assert completed.returncode == 0, completed.stderr


def ghost_replica_set(name, app_label):
    """Return a ReplicaSet standing in for an earlier template of Deployment kubeflow/<name> that went remote."""
    template_hash = "5b8c6f"
    labels = {"app": app_label, "pod-template-hash": template_hash}
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{name}-{template_hash}", "namespace": "kubeflow", "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"tolerations": [WEBHOOK_TOLERATION], "nodeSelector": {"liqo.io/type": "virtual-node"},
                     "containers": [{"name": "server", "image": "ghcr.io/kubeflow/kfp-api-server:2.5.0"}]}}},
    }


def running_pod(offload_lab, selector):
    pods = [pod for pod in core(offload_lab).list_namespaced_pod("kubeflow", label_selector=selector).items
            if pod.status.phase == "Running" and pod.spec.node_name == PROVIDER]
    return pods[0] if pods else None


def write_status(offload_lab, pod, status):
    core(offload_lab).patch_namespaced_pod_status(pod.metadata.name, "kubeflow", {"status": status})


def test_manual_attempt_is_diagnosed(offload_lab):
    # The manual attempt: kubeflow offloaded with liqoctl's defaults (DefaultName mapping, LocalAndRemote).
    liqoctl(offload_lab, "unoffload", "namespace", "kubeflow", "--skip-confirm")
    liqoctl(offload_lab, "offload", "namespace", "kubeflow")
    for name, app_label in (("ml-pipeline-ui", "ml-pipeline-ui-ghost"), ("ml-pipeline", "ml-pipeline-ghost")):
        apps(offload_lab).create_namespaced_replica_set("kubeflow", ghost_replica_set(name, app_label))
    core(offload_lab).create_namespaced_pod("kubeflow", step_pod("demo-pipeline-2psln-pull-data-192244075"))

    # The statuses the virtual kubelet writes once reflection stops, the remote API server crash-loops, and the
    # step's wait container fails to upload its log to MinIO.
    ghost = wait_for("ghost", lambda: running_pod(offload_lab, "app=ml-pipeline-ui-ghost"))
    write_status(offload_lab, ghost, {"phase": "Failed", "reason": "OffloadingAborted"})
    crashing = wait_for("crashing", lambda: running_pod(offload_lab, "app=ml-pipeline-ghost"))
    write_status(offload_lab, crashing, {
        "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [{"name": "server", "image": "ghcr.io/kubeflow/kfp-api-server:2.5.0", "imageID": "",
                               "ready": False, "restartCount": 19,
                               "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}}]})
    step = wait_for("step", lambda: bound_node(offload_lab, "demo-pipeline-2psln-pull-data-192244075"))
    assert step == PROVIDER
    step_pod_object = wait_for("step running", lambda: running_pod(
        offload_lab, "workflows.argoproj.io/workflow=demo-pipeline-2psln"))
    write_status(offload_lab, step_pod_object, {"phase": "Failed", "containerStatuses": [{
        "name": "main", "image": "python:3.10", "imageID": "", "ready": False, "restartCount": 0,
        "state": {"terminated": {"exitCode": 1, "reason": "Error", "message": MINIO_LOG}}}]})

    returncode, output = run_playbook(offload_lab, "diagnose.yml")
    assert returncode == 0
    result = task_results(output, "Collect and classify failing offloaded pods")[0]
    by_subject = {}
    for item in result["findings"]:
        by_subject.setdefault(item["subject"]["name"], set()).add(item["cause"])

    assert "namespace_renamed" in by_subject["offloading"]
    assert "namespace_renamed" in by_subject["demo-pipeline-2psln-pull-data-192244075"]
    assert {"offloading_aborted", "platform_on_virtual_node"} <= by_subject[ghost.metadata.name]
    assert "platform_on_virtual_node" in by_subject[crashing.metadata.name]
    assert result["changed"] is False
    step_finding = [item for item in result["findings"]
                    if item["subject"]["name"] == "demo-pipeline-2psln-pull-data-192244075"][0]
    assert "EnforceSameName" in step_finding["fix"]
    assert any("minio-service.kubeflow is Service kubeflow/minio-service" in line
               for line in step_finding["evidence"])
    assert "namespace_renamed" in result["report"]
