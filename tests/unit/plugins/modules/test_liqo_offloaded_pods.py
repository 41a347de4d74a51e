# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import json

from ansible_collections.oss_mlops.multicloud.plugins.modules import liqo_offloaded_pods
from kubernetes.client.exceptions import ApiException


def pod(name, phase, owner=None):
    metadata = {"name": name, "namespace": "kubeflow"}
    if owner:
        metadata["ownerReferences"] = [{"kind": "Job", "name": owner}]
    return {"metadata": metadata, "spec": {"nodeName": "verda-v100-1"}, "status": {"phase": phase}}


def test_describe_pod_names_owner():
    described = liqo_offloaded_pods.describe_pod(pod("train-0", "Running", owner="train"))

    assert described == {"pod": "kubeflow/train-0", "phase": "Running", "node": "verda-v100-1", "owner": "Job/train"}


def test_describe_pod_without_owner():
    assert liqo_offloaded_pods.describe_pod(pod("bare", "Pending"))["owner"] is None


def test_running_skips_finished_pods():
    pods = [pod("done", "Succeeded"), pod("broken", "Failed"), pod("busy", "Running"), pod("waiting", "Pending")]

    names = [item["metadata"]["name"] for item in liqo_offloaded_pods.running(pods)]

    assert names == ["busy", "waiting"]


def test_eviction_refusal_reads_status_message():
    message = "Cannot evict pod as it would violate the pod's disruption budget."
    error = ApiException(status=429, reason="Too Many Requests")
    error.body = json.dumps({"kind": "Status", "message": message})

    assert liqo_offloaded_pods.eviction_refusal(error) == message


def test_eviction_refusal_without_body():
    error = ApiException(status=429, reason="Too Many Requests")
    error.body = "not json"

    assert liqo_offloaded_pods.eviction_refusal(error) == "HTTP 429 Too Many Requests"
