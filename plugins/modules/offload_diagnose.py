#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: offload_diagnose
short_description: Explain why offloaded pods fail, with evidence and the fix
version_added: 0.1.0
author:
  - OSS MLOps Platform contributors (@OSS-MLOPS-PLATFORM)
description:
  - Runs against the consumer and only reads. Collects the pods of the offloaded namespaces (or of O(namespaces))
    and every pod bound to a virtual node, with their status, events and last log lines.
  - Classifies each failure into a known cause and returns the evidence and the fix, as structured
    RV(findings) and as a short text RV(report).
  - "Known causes: C(namespace_renamed) (a mapping other than EnforceSameName), C(platform_on_virtual_node),
    C(offloading_aborted), C(offloading_backoff_daemonset), C(namespace_not_offloaded),
    C(created_before_offloading), C(namespacemap_bidirectional_bug) (Liqo before v1.0.0),
    C(service_not_mirrored), C(service_not_found), C(mirrored_service_without_endpoints),
    C(resources_not_in_slice) (quota denials, missing GPUs), C(provider_lacks_resources),
    C(image_only_at_home), C(image_pull_failed), C(peering_unhealthy), C(data_plane_blocked)."
  - A failing pod that matches none of them gets the cause C(unknown) with its evidence; no cause is guessed.
  - Every host name and IP address in a failing pod's log lines is matched against the consumer's Services and
    pods, and the match is part of the evidence.
  - Log lines come from the pod log API and from the termination messages of terminated containers (what
    Kubernetes keeps with C(terminationMessagePolicy=FallbackToLogsOnError)). When the log API fails, the
    module goes on and lists the failure in RV(log_errors).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  kubeconfig:
    description:
      - Path to the consumer's kubeconfig. Defaults to E(K8S_AUTH_KUBECONFIG), then E(KUBECONFIG), then
        C(~/.kube/config). Credentials in it are masked in the output.
    type: path
  context:
    description: Kubeconfig context of the consumer; the file's current context when not set.
    type: str
  liqo_namespace:
    description: Namespace Liqo is installed in on the consumer.
    type: str
    default: liqo
  liqoctl_path:
    description:
      - Not used; the module reads the API only. Accepted so that C(module_defaults) for
        C(group/oss_mlops.multicloud.liqo) apply to this module too.
    type: path
  liqoctl_version:
    description: Not used, for the same reason as O(liqoctl_path).
    type: str
    default: v1.0.3
  namespaces:
    description:
      - Namespaces whose pods are examined, besides every pod bound to a virtual node.
      - When empty, the namespaces that have a NamespaceOffloading.
    type: list
    elements: str
    default: []
  platform_namespaces:
    description:
      - Namespaces of the platform. Pods of Deployments, StatefulSets and DaemonSets there must never run on a
        virtual node; pipeline step pods (Argo Workflow pods) are exempt.
    type: list
    elements: str
    default: [kubeflow, mlflow, istio-system, cert-manager, knative-serving, knative-eventing, kserve, monitoring]
  step_services:
    description:
      - Services that pipeline steps call, as C(namespace/name). Each one that exists must be mirrored to the
        providers and have a ready endpoint.
    type: list
    elements: str
    default: [kubeflow/ml-pipeline, kubeflow/metadata-grpc-service, kubeflow/minio-service, mlflow/mlflow,
              mlflow/mlflow-minio-service]
  log_lines:
    description: Number of log lines read from the end of each container's log.
    type: int
    default: 20
  fail_on_findings:
    description: Fail the task when there is at least one finding, after returning the report.
    type: bool
    default: false
attributes:
  check_mode:
    description: Runs normally in check mode; the module only reads.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: N/A
  platform:
    description: Runs where the consumer's API is reachable, usually the controller.
    support: full
    platforms: posix
  action_group:
    description: Use C(group/oss_mlops.multicloud.liqo) in C(module_defaults) to set kubeconfig and context.
    support: full
    membership:
      - oss_mlops.multicloud.liqo
requirements:
  - kubernetes >= 29.0.0 (Python library)
notes:
  - The module sees the consumer only. Remote pod state reaches it through Liqo's status reflection, and the
    provider's side of a mirrored Service is judged from the consumer's Service and EndpointSlices.
seealso:
  - module: oss_mlops.multicloud.liqo_info
  - module: oss_mlops.multicloud.liqo_offload
"""

EXAMPLES = r"""
- name: Explain failing offloaded pods
  oss_mlops.multicloud.offload_diagnose:
    kubeconfig: /etc/oss-mlops/consumer.kubeconfig
  register: diagnosis

- name: Show the report
  ansible.builtin.debug:
    msg: "{{ diagnosis.report }}"

- name: Fail a CI job when any offloaded pod fails
  oss_mlops.multicloud.offload_diagnose:
    kubeconfig: /etc/oss-mlops/consumer.kubeconfig
    namespaces: [kubeflow]
    fail_on_findings: true
"""

RETURN = r"""
findings:
  description: One entry per cause and object; C(cause) is one of the known causes or C(unknown).
  returned: always
  type: list
  elements: dict
  sample:
    - cause: namespace_renamed
      title: the namespace is offloaded with a mapping that renames it on the provider
      subject: {kind: Pod, namespace: kubeflow, name: demo-pipeline-2psln-pull-data-192244075, node: cluster-b}
      evidence:
        - 'log: ... lookup minio-service.kubeflow on 10.43.0.10:53: no such host'
        - minio-service.kubeflow is Service kubeflow/minio-service on the consumer (ClusterIP 10.96.10.9)
        - its copy on the provider is in namespace kubeflow-kind-mlops-platform, not kubeflow
      fix: Offloaded pods see namespace kubeflow-kind-mlops-platform instead of kubeflow ...
      details: {namespace: kubeflow, remote_namespace: kubeflow-kind-mlops-platform}
pods:
  description: The pods examined, with node, role (step, platform, other), state, events, log tail and causes.
  returned: always
  type: list
  elements: dict
causes:
  description: Number of findings per cause.
  returned: always
  type: dict
  sample: {namespace_renamed: 2, platform_on_virtual_node: 13}
report:
  description: The findings as short text, one block per finding; "No failing offloaded pods found." when none.
  returned: always
  type: str
report_lines:
  description: RV(report) split into lines, for readable C(debug) output.
  returned: always
  type: list
  elements: str
log_errors:
  description: Containers whose log could not be read, with the API's reason.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.oss_mlops.multicloud.plugins.module_utils import liqo_kube
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.diagnose import diagnose
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.diagnose_collect import SnapshotReader
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo import liqo_argument_spec, resolve_kubeconfig
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_kube import KubeAccessError, KubeCluster

PLATFORM_NAMESPACES = ["kubeflow", "mlflow", "istio-system", "cert-manager", "knative-serving", "knative-eventing",
                       "kserve", "monitoring"]
STEP_SERVICES = ["kubeflow/ml-pipeline", "kubeflow/metadata-grpc-service", "kubeflow/minio-service", "mlflow/mlflow",
                 "mlflow/mlflow-minio-service"]

ARGUMENT_SPEC = liqo_argument_spec({
    "namespaces": {"type": "list", "elements": "str", "default": []},
    "platform_namespaces": {"type": "list", "elements": "str", "default": PLATFORM_NAMESPACES},
    "step_services": {"type": "list", "elements": "str", "default": STEP_SERVICES},
    "log_lines": {"type": "int", "default": 20},
    "fail_on_findings": {"type": "bool", "default": False},
})


def subject_text(subject):
    name = "/".join(part for part in (subject.get("namespace"), subject.get("name")) if part)
    text = f"{subject.get('kind')} {name}"
    if subject.get("node"):
        text += f" on {subject['node']}"
    return text


def render_report(findings):
    """Return the findings as text: subject and cause, the evidence, then the fix."""
    if not findings:
        return "No failing offloaded pods found."
    blocks = []
    for item in findings:
        lines = [f"{subject_text(item['subject'])}: {item['cause']}: {item['title']}"]
        lines += [f"  evidence: {line}" for line in item["evidence"]]
        lines.append(f"  fix: {item['fix']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def count_causes(findings):
    counts = {}
    for item in findings:
        counts[item["cause"]] = counts.get(item["cause"], 0) + 1
    return counts


def check_options(module):
    params = module.params
    if params["log_lines"] < 1:
        module.fail_json(msg=f"log_lines {params['log_lines']} must be at least 1")
    malformed = [item for item in params["step_services"] if item.count("/") != 1 or item.startswith("/")
                 or item.endswith("/")]
    if malformed:
        module.fail_json(msg=f"step_services entries must be namespace/name, not {', '.join(malformed)}")


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not liqo_kube.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=liqo_kube.KUBERNETES_IMPORT_ERROR)
    check_options(module)
    params = module.params
    kubeconfig = resolve_kubeconfig(params["kubeconfig"])
    for credential in liqo_kube.kubeconfig_credentials(kubeconfig):
        module.no_log_values.add(credential)
    try:
        cluster = KubeCluster(kubeconfig, params["context"])
        cluster.probe()
        reader = SnapshotReader(cluster, params["liqo_namespace"], params["log_lines"])
        snapshot = reader.read(params["namespaces"])
    except KubeAccessError as error:
        module.fail_json(msg=str(error), changed=False)

    result = diagnose(snapshot, params["platform_namespaces"], params["step_services"])
    report = render_report(result["findings"])
    output = {
        "changed": False,
        "findings": result["findings"],
        "pods": result["pods"],
        "causes": count_causes(result["findings"]),
        "report": report,
        "report_lines": report.splitlines(),
        "log_errors": reader.log_errors,
    }
    if params["fail_on_findings"] and result["findings"]:
        module.fail_json(msg=f"{len(result['findings'])} finding(s) about offloaded pods; see report", **output)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
