"""The objects the Liqo v1.0.3 Helm chart creates, rendered in Python from the merged values.

Names, labels, images and container arguments follow deployments/liqo/templates of v1.0.3 for the objects the
collection and the lab look at: the cluster-ID ConfigMap, the IPAM Networks, the RuntimeClass, the Deployments
and DaemonSet (so the lab's controller-manager creates pods that KWOK runs), their ServiceAccounts and Services,
the ClusterRoles that `liqoctl uninstall` checks, the VkOptionsTemplate and the WireGuard gateway templates.
Webhook configurations, the telemetry CronJob, the pre-delete Job and monitoring objects are left out: nothing
in the lab would serve or run them.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from . import values as values_module

RELEASE_NAME = "liqo"
CHART_NAME = "liqo"
_SEMVER = re.compile(
    r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
CLUSTER_ID_TEMPLATE = "liqo/templates/liqo-clusterid-configmap.yaml"


class RenderError(Exception):
    """A template called Helm's fail function; the message is Helm's "execution error" text."""


def _num(value: Any) -> Any:
    # Chart numbers are float64; Kubernetes fields want integers.
    return int(value) if isinstance(value, float) and value.is_integer() else value


class Renderer:
    """Render the chart for one release."""

    def __init__(self, values: dict[str, Any], namespace: str, existing_cluster_id: str | None):
        self.values = values
        self.namespace = namespace
        self.existing_cluster_id = existing_cluster_id
        self.tag = values.get("tag") or ""

    # -- helpers mirroring _helpers.tpl ---------------------------------------------------------------------

    def v(self, path: str, default: Any = None) -> Any:
        """Return a value by dotted path."""
        return values_module.get(self.values, path, default)

    def version(self, component_version: str = "") -> str:
        """liqo.version: the component image version, else the tag."""
        return component_version or self.tag

    def suffix(self, component_version: str = "") -> str:
        """liqo.suffix: "-ci" for non-semver tags (CI builds)."""
        if self.tag == "" or _SEMVER.match(self.tag) or component_version:
            return ""
        return "-ci"

    def image(self, path: str) -> str:
        """Image reference for the component whose image values sit at path."""
        component_version = self.v(f"{path}.version", "") or ""
        return f"{self.v(f'{path}.name')}{self.suffix(component_version)}:{self.version(component_version)}"

    def labels(self, name: str, module: str, component_version: str = "") -> dict[str, str]:
        """liqo.labels for a component."""
        version = self.version(component_version)
        return {
            **self.selector_labels(name, module),
            "helm.sh/chart": f"{CHART_NAME}-{version}".replace("+", "_")[:63].rstrip("-"),
            "app.kubernetes.io/version": version,
            "app.kubernetes.io/managed-by": "Helm",
        }

    @staticmethod
    def selector_labels(name: str, module: str) -> dict[str, str]:
        """liqo.selectorLabels for a component."""
        return {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/instance": f"{RELEASE_NAME}-{name}",
            "app.kubernetes.io/component": module,
            "app.kubernetes.io/part-of": CHART_NAME,
        }

    def metadata(
        self, name: str, labels: dict[str, str], namespaced: bool = True, annotations: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Object metadata carrying Helm's ownership annotations."""
        metadata: dict[str, Any] = {
            "name": name,
            "labels": labels,
            "annotations": {
                **(annotations or {}),
                "meta.helm.sh/release-name": RELEASE_NAME,
                "meta.helm.sh/release-namespace": self.namespace,
            },
        }
        if namespaced:
            metadata["namespace"] = self.namespace
        return metadata

    # -- objects --------------------------------------------------------------------------------------------

    def render(self) -> list[dict[str, Any]]:
        """Return every object of the release, in the order Helm would install them (by kind)."""
        objects = [self.cluster_id_config_map(), *self.networks(), self.runtime_class()]
        if self.v("storage.enabled"):
            objects.append(self.storage_class())
        objects.append(self.vk_options_template())
        if self.v("networking.enabled"):
            objects.extend(self.gateway_templates())
        for component in self.components():
            objects.extend(component)
        objects.extend(self.cluster_roles())
        return objects

    def cluster_id_config_map(self) -> dict[str, Any]:
        """ConfigMap liqo-clusterid-configmap, with the template's refusal to change an installed ID."""
        requested = self.v("discovery.config.clusterID", "") or ""
        if self.existing_cluster_id is not None:
            if requested and requested != self.existing_cluster_id:
                raise RenderError(
                    f"execution error at ({CLUSTER_ID_TEMPLATE}:14:7): Changing the cluster ID by providing a "
                    "different .discovery.config.clusterID value is not allowed."
                )
            cluster_id = self.existing_cluster_id
        elif requested:
            if not re.fullmatch(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?)", requested):
                raise RenderError(
                    f"execution error at ({CLUSTER_ID_TEMPLATE}:19:9): Provided cluster ID must be a valid "
                    "DNS-compatible name."
                )
            cluster_id = requested
        else:
            cluster_id = str(uuid.uuid4())
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self.metadata(
                "liqo-clusterid-configmap", self.labels("clusterid-configmap", "clusterid-configmap")
            ),
            "data": {"CLUSTER_ID": cluster_id},
        }

    def networks(self) -> list[dict[str, Any]]:
        """The Network CRs of liqo-ipam-networks.yaml."""
        labels = self.labels("ipam", "ipam")
        preinstalled = {"liqo.io/preinstalled": "true"}

        def network(name: str, network_type: str, cidr: str, not_remapped: bool, pre_allocated: int = 0):
            extra = {"ipam.liqo.io/network-type": network_type}
            if not_remapped:
                extra["ipam.liqo.io/network-not-remapped"] = "true"
            spec: dict[str, Any] = {"cidr": cidr}
            if pre_allocated:
                spec["preAllocated"] = pre_allocated
            return {
                "apiVersion": "ipam.liqo.io/v1alpha1",
                "kind": "Network",
                "metadata": self.metadata(name, {**labels, **extra}, annotations=preinstalled),
                "spec": spec,
            }

        objects = [
            network("pod-cidr", "pod-cidr", self.v("ipam.podCIDR"), True),
            network("service-cidr", "service-cidr", self.v("ipam.serviceCIDR"), True),
            # The first external address is reserved for traffic from unknown sources.
            network("external-cidr", "external-cidr", self.v("ipam.externalCIDR"), False, pre_allocated=1),
            network("internal-cidr", "internal-cidr", self.v("ipam.internalCIDR"), False),
        ]
        for index, cidr in enumerate(self.v("ipam.reservedSubnets") or [], start=1):
            objects.append(network(f"reserved-{index}", "reserved", cidr, True))
        return objects

    def runtime_class(self) -> dict[str, Any]:
        """RuntimeClass liqo, which schedules pods onto virtual nodes."""
        settings = self.v("offloading.runtimeClass")
        labels = {**self.labels("runtimeclass", "runtimeclass"), **(settings.get("labels") or {})}
        scheduling: dict[str, Any] = {}
        if settings["nodeSelector"]["enabled"]:
            scheduling["nodeSelector"] = settings["nodeSelector"]["labels"]
        if settings["tolerations"]["enabled"]:
            scheduling["tolerations"] = settings["tolerations"]["tolerations"]
        return {
            "apiVersion": "node.k8s.io/v1",
            "kind": "RuntimeClass",
            "metadata": self.metadata(
                settings["name"], labels, namespaced=False, annotations=settings.get("annotations") or {}
            ),
            "handler": settings["handler"],
            "scheduling": scheduling,
        }

    def storage_class(self) -> dict[str, Any]:
        """StorageClass liqo for PVCs of offloaded pods."""
        metadata = self.metadata(self.v("storage.virtualStorageClassName"), {}, namespaced=False)
        del metadata["labels"]
        return {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": metadata,
            "provisioner": "liqo.io/storage",
            "volumeBindingMode": "WaitForFirstConsumer",
        }

    def vk_options_template(self) -> dict[str, Any]:
        """VkOptionsTemplate virtual-kubelet-default."""
        version = self.v("virtualKubelet.image.version", "") or ""
        args = list(self.v("virtualKubelet.extra.args") or [])
        if not any(arg.startswith("--enable-apiserver-support") for arg in args):
            args.append("--enable-apiserver-support=true")
        return {
            "apiVersion": "offloading.liqo.io/v1beta1",
            "kind": "VkOptionsTemplate",
            "metadata": self.metadata(
                "virtual-kubelet-default", self.labels("virtual-kubelet", "virtualkubelet", version)
            ),
            "spec": {
                "replicas": _num(self.v("virtualKubelet.replicas")),
                "createNode": self.v("offloading.createNode"),
                "disableNetworkCheck": self.v("offloading.disableNetworkCheck"),
                "containerImage": self.image("virtualKubelet.image"),
                "metricsEnabled": self.v("metrics.enabled"),
                "pullPolicy": self.v("pullPolicy"),
                "extraArgs": args,
            },
        }

    def gateway_templates(self) -> list[dict[str, Any]]:
        """The WireGuard gateway server and client templates, reduced to what liqoctl peer checks."""
        labels = self.labels("gateway", "networking")
        server = {
            "apiVersion": "networking.liqo.io/v1beta1",
            "kind": "WgGatewayServerTemplate",
            "metadata": self.metadata("wireguard-server", labels),
            "spec": {
                "objectKind": {"apiVersion": "networking.liqo.io/v1beta1", "kind": "WgGatewayServer"},
                "template": {
                    "metadata": {"name": "{{ .Name }}", "namespace": "{{ .Namespace }}"},
                    "spec": {
                        "service": {
                            "spec": {
                                "type": "{{ .Spec.Endpoint.ServiceType }}",
                                "?loadBalancerIP": "{{ .Spec.Endpoint.LoadBalancerIP }}",
                                "ports": [
                                    {
                                        "port": "{{ .Spec.Endpoint.Port }}",
                                        "?nodePort": "{{ .Spec.Endpoint.NodePort }}",
                                        "protocol": "UDP",
                                    }
                                ],
                            }
                        },
                        "deployment": {"spec": {"replicas": _num(self.v("networking.gatewayTemplates.replicas"))}},
                    },
                },
            },
        }
        client = {
            "apiVersion": "networking.liqo.io/v1beta1",
            "kind": "WgGatewayClientTemplate",
            "metadata": self.metadata("wireguard-client", labels),
            "spec": {
                "objectKind": {"apiVersion": "networking.liqo.io/v1beta1", "kind": "WgGatewayClient"},
                "template": {
                    "metadata": {"name": "{{ .Name }}", "namespace": "{{ .Namespace }}"},
                    "spec": {
                        "deployment": {"spec": {"replicas": _num(self.v("networking.gatewayTemplates.replicas"))}}
                    },
                },
            },
        }
        return [server, client]

    # -- workloads ------------------------------------------------------------------------------------------

    def components(self) -> list[list[dict[str, Any]]]:
        """ServiceAccount, workload and Service of every enabled component."""
        out = [self.controller_manager(), self.crd_replicator(), self.webhook()]
        if self.v("networking.enabled") and not self.v("ipam.external.enabled"):
            out.append(self.ipam())
        if self.v("metricAgent.enabled"):
            out.append(self.metric_agent())
        if self.v("proxy.enabled"):
            out.append(self.proxy())
        if self.v("networking.enabled"):
            out.append(self.fabric())
        return out

    def _service_account(self, name: str, labels: dict[str, str]) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": self.metadata(name, labels)}

    def _pod_spec(self, service_account: str | None, containers: list[dict[str, Any]]) -> dict[str, Any]:
        spec: dict[str, Any] = {"containers": containers}
        if not self.v("openshiftConfig.enabled"):
            spec["securityContext"] = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}
        if service_account:
            spec["serviceAccountName"] = service_account
        for key in ("nodeSelector", "tolerations", "affinity"):
            if self.v(f"common.{key}"):
                spec[key] = self.v(f"common.{key}")
        return spec

    def _deployment(
        self, name: str, labels: dict[str, str], selector: dict[str, str], replicas: Any, pod_spec: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": self.metadata(name, labels),
            "spec": {
                "replicas": _num(replicas),
                "selector": {"matchLabels": selector},
                "template": {"metadata": {"labels": labels}, "spec": pod_spec},
            },
        }

    def _service(
        self,
        name: str,
        labels: dict[str, str],
        selector: dict[str, str],
        ports: list[dict[str, Any]],
        service_type: str = "ClusterIP",
    ) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": self.metadata(name, labels),
            "spec": {"type": service_type, "selector": selector, "ports": ports},
        }

    def _cluster_id_env(self) -> list[dict[str, Any]]:
        return [
            {
                "name": "CLUSTER_ID",
                "valueFrom": {"configMapKeyRef": {"name": "liqo-clusterid-configmap", "key": "CLUSTER_ID"}},
            },
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        ]

    def _extra_args(self, component: str) -> list[str]:
        return [*(self.v("common.extraArgs") or []), *(self.v(f"{component}.pod.extraArgs") or [])]

    @staticmethod
    def _joined_map(flag: str, mapping: dict[str, Any]) -> str:
        return f"{flag}=" + ",".join(f"{key}={mapping[key]}" for key in sorted(mapping))

    def controller_manager_args(self) -> list[str]:
        """Arguments of the liqo-controller-manager container (liqo-controller-manager-deployment.yaml)."""
        args = [
            "--cluster-id=$(CLUSTER_ID)",
            "--liqo-namespace=$(POD_NAMESPACE)",
            f"--networking-enabled={_go_bool(self.v('networking.enabled'))}",
            f"--authentication-enabled={_go_bool(self.v('authentication.enabled'))}",
            f"--tls-compatibility-mode={_go_bool(self.v('authentication.tlsCompatibilityMode'))}",
            f"--offloading-enabled={_go_bool(self.v('offloading.enabled'))}",
            f"--default-limits-enforcement={self.v('controllerManager.config.defaultLimitsEnforcement')}",
            self._joined_map("--default-node-resources", self.v("offloading.defaultNodeResources") or {}),
        ]
        if self.v("common.globalAnnotations"):
            args.append(self._joined_map("--global-annotations", self.v("common.globalAnnotations")))
        if self.v("common.globalLabels"):
            args.append(self._joined_map("--global-labels", self.v("common.globalLabels")))
        if self.v("apiServer.address"):
            args.append(f"--api-server-address-override={self.v('apiServer.address')}")
        if self.v("apiServer.ca"):
            args.append(f"--ca-override={self.v('apiServer.ca')}")
        if self.v("apiServer.trustedCA"):
            args.append("--trusted-ca")
        args += [
            f"--fabric-full-masquerade-enabled={_go_bool(self.v('networking.fabric.config.fullMasquerade'))}",
            "--gateway-masquerade-bypass-enabled="
            + _go_bool(self.v("networking.fabric.config.gatewayMasqueradeBypass")),
            f"--geneve-port={_num(self.v('networking.genevePort'))}",
            "--gateway-server-resources="
            + ",".join(
                f"{item['apiVersion']}/{item['resource']}" for item in self.v("networking.serverResources") or []
            ),
            "--gateway-client-resources="
            + ",".join(
                f"{item['apiVersion']}/{item['resource']}" for item in self.v("networking.clientResources") or []
            ),
        ]
        if self.v("networking.enabled"):
            if self.v("ipam.external.enabled"):
                args.append(f"--ipam-server={self.v('ipam.external.url')}")
            else:
                args.append(f"--ipam-server=liqo-ipam.{self.namespace}:6000")
        args += [
            f"--enable-storage={_go_bool(self.v('storage.enabled'))}",
            f"--webhook-port={_num(self.v('webhook.port'))}",
        ]
        if self.v("storage.enabled"):
            args += [
                f"--virtual-storage-class-name={self.v('storage.virtualStorageClassName')}",
                f"--real-storage-class-name={self.v('storage.realStorageClassName')}",
                f"--storage-namespace={self.v('storage.storageNamespace')}",
            ]
        args += ["--ingress-classes=", "--load-balancer-classes="]
        if self.v("controllerManager.config.enableNodeFailureController"):
            args.append("--enable-node-failure-controller")
        args += self._extra_args("controllerManager")
        if self.v("discovery.config.clusterLabels"):
            args.append(self._joined_map("--cluster-labels", self.v("discovery.config.clusterLabels")))
        if float(self.v("controllerManager.replicas")) > 1:
            args.append("--enable-leader-election=true")
        args.append(f"--enable-api-server-ip-remapping={_go_bool(self.v('proxy.enabled'))}")
        return args

    def controller_manager(self) -> list[dict[str, Any]]:
        """liqo-controller-manager: ServiceAccount, Deployment and webhook Service."""
        version = self.v("controllerManager.image.version", "") or ""
        labels = self.labels("controller-manager", "controller-manager", version)
        selector = self.selector_labels("controller-manager", "controller-manager")
        container = {
            "name": "controller-manager",
            "image": self.image("controllerManager.image"),
            "imagePullPolicy": self.v("pullPolicy"),
            "securityContext": {"allowPrivilegeEscalation": False},
            "command": ["/usr/bin/liqo-controller-manager"],
            "args": self.controller_manager_args(),
            "env": self._cluster_id_env(),
            "ports": [
                {"name": "webhook", "containerPort": _num(self.v("webhook.port")), "protocol": "TCP"},
                {"name": "healthz", "containerPort": 8081, "protocol": "TCP"},
                {"name": "metrics", "containerPort": 8082, "protocol": "TCP"},
            ],
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": "healthz"}},
        }
        name = "liqo-controller-manager"
        return [
            self._service_account(name, labels),
            self._deployment(
                name, labels, selector, self.v("controllerManager.replicas"), self._pod_spec(name, [container])
            ),
            self._service(
                name,
                labels,
                selector,
                [{"name": "webhook", "port": _num(self.v("webhook.port")), "targetPort": "webhook", "protocol": "TCP"}],
            ),
        ]

    def crd_replicator(self) -> list[dict[str, Any]]:
        """liqo-crd-replicator: ServiceAccount and Deployment."""
        version = self.v("crdReplicator.image.version", "") or ""
        labels = self.labels("crd-replicator", "dispatcher", version)
        selector = self.selector_labels("crd-replicator", "dispatcher")
        container = {
            "name": "crd-replicator",
            "image": self.image("crdReplicator.image"),
            "imagePullPolicy": self.v("pullPolicy"),
            "securityContext": {"allowPrivilegeEscalation": False},
            "command": ["/usr/bin/crd-replicator"],
            "args": ["--cluster-id=$(CLUSTER_ID)", *self._extra_args("crdReplicator")],
            "env": self._cluster_id_env(),
            "ports": [{"name": "metrics", "containerPort": 8082, "protocol": "TCP"}],
        }
        name = "liqo-crd-replicator"
        return [
            self._service_account(name, labels),
            self._deployment(name, labels, selector, 1, self._pod_spec(name, [container])),
        ]

    def webhook(self) -> list[dict[str, Any]]:
        """liqo-webhook: ServiceAccount, Deployment and Service (the webhook configurations are not created)."""
        version = self.v("webhook.image.version", "") or ""
        labels = self.labels("webhook", "webhook", version)
        selector = self.selector_labels("webhook", "webhook")
        args = [
            f"--webhook-port={_num(self.v('webhook.port'))}",
            "--cluster-id=$(CLUSTER_ID)",
            "--liqo-namespace=$(POD_NAMESPACE)",
            "--secret-name=liqo-webhook-certs",
            f"--liqo-runtime-class={self.v('offloading.runtimeClass.name')}",
            f"--podcidr={self.v('ipam.podCIDR')}",
            f"--vk-options-default-template={self.namespace}/virtual-kubelet-default",
        ]
        if float(self.v("webhook.replicas")) > 1:
            args.insert(1, "--enable-leader-election=true")
        if self.v("controllerManager.config.enableResourceEnforcement"):
            args.append("--enable-resource-enforcement")
        container = {
            "name": "webhook",
            "image": self.image("webhook.image"),
            "imagePullPolicy": self.v("pullPolicy"),
            "securityContext": {"allowPrivilegeEscalation": False},
            "command": ["/usr/bin/webhook"],
            "args": [*args, *self._extra_args("webhook")],
            "env": self._cluster_id_env(),
            "ports": [
                {"name": "webhook", "containerPort": _num(self.v("webhook.port")), "protocol": "TCP"},
                {"name": "healthz", "containerPort": 8081, "protocol": "TCP"},
                {"name": "metrics", "containerPort": 8082, "protocol": "TCP"},
            ],
        }
        name = "liqo-webhook"
        return [
            self._service_account(name, labels),
            self._deployment(name, labels, selector, self.v("webhook.replicas"), self._pod_spec(name, [container])),
            self._service(
                name, labels, selector, [{"name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP"}]
            ),
        ]

    def ipam(self) -> list[dict[str, Any]]:
        """liqo-ipam: ServiceAccount, Deployment and Service."""
        version = self.v("ipam.internal.image.version", "") or ""
        labels = self.labels("ipam", "ipam", version)
        selector = self.selector_labels("ipam", "ipam")
        args = ["--pod-name=$(POD_NAME)", "--port=6000", "--sync-interval=2m", "--sync-graceperiod=30s"]
        if float(self.v("ipam.internal.replicas")) > 1:
            args += ["--leader-election", "--leader-election-namespace=$(POD_NAMESPACE)", "--deployment-name=liqo-ipam"]
        if self.v("ipam.pools"):
            args.append("--pools=" + ",".join(self.v("ipam.pools")))
        args += [*self._extra_args("ipam.internal"), "--enable-graphviz=false"]
        container = {
            "name": "ipam",
            "image": self.image("ipam.internal.image"),
            "imagePullPolicy": self.v("pullPolicy"),
            "securityContext": {"allowPrivilegeEscalation": False},
            "command": ["/usr/bin/ipam"],
            "args": args,
            "env": [
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            ],
            "ports": [{"name": "ipam-api", "containerPort": 6000, "protocol": "TCP"}],
        }
        name = "liqo-ipam"
        return [
            self._service_account(name, labels),
            self._deployment(
                name, labels, selector, self.v("ipam.internal.replicas"), self._pod_spec(name, [container])
            ),
            self._service(
                name,
                labels,
                selector,
                [{"name": "ipam-api", "port": 6000, "targetPort": "ipam-api", "protocol": "TCP"}],
            ),
        ]

    def metric_agent(self) -> list[dict[str, Any]]:
        """liqo-metric-agent: ServiceAccount, Deployment and Service."""
        version = self.v("metricAgent.image.version", "") or ""
        labels = self.labels("metric-agent", "metrics", version)
        selector = self.selector_labels("metric-agent", "metrics")
        container = {
            "name": "metric-agent",
            "image": self.image("metricAgent.image"),
            "imagePullPolicy": self.v("pullPolicy"),
            "securityContext": {"allowPrivilegeEscalation": False},
            "command": ["/usr/bin/metric-agent"],
            "args": [
                "--key-path=/certs/key.pem",
                "--cert-path=/certs/cert.pem",
                "--read-timeout=30s",
                "--write-timeout=30s",
                *self._extra_args("metricAgent"),
            ],
            "ports": [{"name": "https", "containerPort": 8443, "protocol": "TCP"}],
        }
        name = "liqo-metric-agent"
        return [
            self._service_account(name, labels),
            self._deployment(name, {**labels, "run": "metric-agent"}, selector, 1, self._pod_spec(name, [container])),
            self._service(
                name, labels, selector, [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]
            ),
        ]

    def proxy(self) -> list[dict[str, Any]]:
        """liqo-proxy: Deployment and Service (it runs with the default ServiceAccount, as in the chart)."""
        version = self.v("proxy.image.version", "") or ""
        labels = self.labels("proxy", "networking", version)
        selector = self.selector_labels("proxy", "networking")
        port = _num(self.v("proxy.config.listeningPort"))
        container = {
            "name": "proxy",
            "image": self.image("proxy.image"),
            "imagePullPolicy": self.v("pullPolicy"),
            "ports": [{"name": "http", "containerPort": port}],
            "args": [f"--port={port}", "--force-host=kubernetes.default.svc:443", *self._extra_args("proxy")],
        }
        name = "liqo-proxy"
        return [
            self._deployment(name, labels, selector, self.v("proxy.replicas"), self._pod_spec(None, [container])),
            self._service(
                name,
                labels,
                selector,
                [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}],
                self.v("proxy.service.type"),
            ),
        ]

    def fabric(self) -> list[dict[str, Any]]:
        """liqo-fabric DaemonSet, kept off virtual nodes by node affinity as in the chart."""
        version = self.v("networking.fabric.image.version", "") or ""
        labels = self.labels("fabric", "networking", version)
        selector = self.selector_labels("fabric", "networking")
        config = self.v("networking.fabric.config")
        args = [
            "--podname=$(POD_NAME)",
            "--nodename=$(NODE_NAME)",
            f"--geneve-port={_num(self.v('networking.genevePort'))}",
            f"--health-probe-bind-address=:{config['healthProbeBindAddressPort']}",
            f"--metrics-address=:{config['metricsAddressPort']}",
            f"--enable-nft-monitor={_go_bool(config['nftablesMonitor'])}",
        ]
        if not self.v("requirements.kernel.enabled"):
            args.insert(5, "--disable-kernel-version-check")
        if self.v("common.globalAnnotations"):
            args.append(self._joined_map("--global-annotations", self.v("common.globalAnnotations")))
        if self.v("common.globalLabels"):
            args.append(self._joined_map("--global-labels", self.v("common.globalLabels")))
        container = {
            "name": "fabric",
            "image": self.image("networking.fabric.image"),
            "imagePullPolicy": self.v("pullPolicy"),
            "command": ["/usr/bin/fabric"],
            "args": [*args, *self._extra_args("networking.fabric")],
            "env": [
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            ],
            "securityContext": {"privileged": True},
        }
        pod_spec = {
            "serviceAccountName": "liqo-fabric",
            "hostNetwork": True,
            "tolerations": [
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"},
                {"key": "node-role.kubernetes.io/infra", "effect": "NoSchedule"},
                {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
            ],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "liqo.io/type", "operator": "NotIn", "values": ["virtual-node"]}
                                ]
                            }
                        ]
                    }
                }
            },
            "containers": [container],
        }
        return [
            self._service_account("liqo-fabric", labels),
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": self.metadata("liqo-fabric", labels),
                "spec": {
                    "selector": {"matchLabels": selector},
                    "template": {"metadata": {"labels": labels}, "spec": pod_spec},
                },
            },
        ]

    def cluster_roles(self) -> list[dict[str, Any]]:
        """ClusterRoles and bindings of the components; `liqoctl uninstall` checks these are gone afterwards."""
        objects: list[dict[str, Any]] = []
        read_all = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]
        for name, module in (
            ("controller-manager", "controller-manager"),
            ("crd-replicator", "dispatcher"),
            ("webhook", "webhook"),
            ("ipam", "ipam"),
            ("fabric", "networking"),
            ("metric-agent", "metrics"),
        ):
            labels = self.labels(name, module)
            role_name = f"liqo-{name}"
            objects.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": self.metadata(role_name, labels, namespaced=False),
                    "rules": read_all,
                }
            )
            objects.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": self.metadata(role_name, labels, namespaced=False),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
                    "subjects": [{"kind": "ServiceAccount", "name": role_name, "namespace": self.namespace}],
                }
            )
        remote_labels = self.labels("virtual-kubelet", "virtualkubelet")
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": self.metadata("liqo-virtual-kubelet-remote", remote_labels, namespaced=False),
                "rules": [
                    {
                        "apiGroups": ["", "apps", "discovery.k8s.io", "networking.k8s.io", "offloading.liqo.io"],
                        "resources": ["*"],
                        "verbs": ["*"],
                    }
                ],
            }
        )
        return objects


def _go_bool(value: Any) -> str:
    return "true" if value else "false"
