"""liqoctl install [k3s|kind|kubeadm] (cmd/liqoctl/cmd/install.go, pkg/liqoctl/install of v1.0.3).

The checks, value precedence, messages and cluster-ID rules are liqoctl's. Where liqoctl calls Helm, the stand-in
applies the chart objects it renders itself (chart.py), applies the CRDs server-side, stores a Helm release Secret
per revision (helm.py) and waits, like `helm --wait`, for the Deployments the lab's KWOK brings to Ready.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import sys
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from . import chart, crds, helm, liqo, names
from . import resources as res
from . import values as values_module
from .flags import parse_go_cidr
from .kube import Cluster, KubeError
from .output import LiqoctlExit, Printer

DEFAULT_REPO_URL = "https://github.com/liqotech/liqo"
DEFAULT_DUMP_VALUES_PATH = "./values.yaml"
LOCALHOST_VALUES = ("localhost", "127.0.0.1", "0.0.0.0")
MINIMUM_KERNEL = (5, 10, 0)
KCM_SELECTOR = "component=kube-controller-manager,tier=control-plane"
_GO_SEMVER = re.compile(
    r"^v(0|[1-9]\d*)(\.(0|[1-9]\d*)(\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?)?$"
)


class InstallError(Exception):
    """A step failed; the message is the Go error text liqoctl prints after the step's prefix."""


@dataclass
class Options:
    """install.Options and install.CommonOptions of liqoctl."""

    provider: str
    version: str
    repo_url: str
    chart_path: str
    only_output_values: bool
    values_path: str
    dry_run: bool
    timeout_seconds: float
    cluster_id: str
    cluster_labels: dict[str, str]
    reserved_subnets: list[str]
    override_values: list[str]
    override_string_values: list[str]
    values_files: list[str]
    disable_api_server_sanity_checks: bool
    skip_validation: bool
    enable_metrics: bool
    disable_telemetry: bool
    disable_kernel_version_check: bool
    api_server: str = ""
    pod_cidr: str = ""
    service_cidr: str = ""
    disable_api_server_defaulting: bool = False
    chart_values: dict[str, Any] = field(default_factory=values_module.chart_defaults)


def _options(invocation, provider: str) -> Options:
    flags = invocation.flags
    options = Options(
        provider=provider,
        version=invocation.value("version"),
        repo_url=invocation.value("repo-url"),
        chart_path=invocation.value("local-chart-path"),
        only_output_values=invocation.value("only-output-values"),
        values_path=invocation.value("dump-values-path"),
        dry_run=invocation.value("dry-run"),
        timeout_seconds=invocation.value("timeout") / 1e9,
        cluster_id=invocation.value("cluster-id"),
        cluster_labels=dict(invocation.value("cluster-labels")),
        reserved_subnets=list(invocation.value("reserved-subnets")),
        override_values=list(invocation.value("set")),
        override_string_values=list(invocation.value("set-string")),
        values_files=list(invocation.value("values")),
        disable_api_server_sanity_checks=invocation.value("disable-api-server-sanity-check"),
        skip_validation=invocation.value("skip-validation"),
        enable_metrics=invocation.value("enable-metrics"),
        disable_telemetry=invocation.value("disable-telemetry"),
        disable_kernel_version_check=invocation.value("disable-kernel-version-check"),
    )
    for name, attribute in (
        ("api-server-url", "api_server"),
        ("pod-cidr", "pod_cidr"),
        ("service-cidr", "service_cidr"),
    ):
        if flags.lookup(name) is not None:
            setattr(options, attribute, invocation.value(name))
    return options


# -- persistent pre-run ---------------------------------------------------------------------------------------


def persistent_pre_run(invocation) -> None:
    """install's PersistentPreRun: kernel version check and chart source checks."""
    printer = invocation.printer
    if not invocation.value("disable-kernel-version-check"):
        error = _kernel_version_error(invocation.local.cluster)
        if error:
            printer.error(f"{error}, disable this check with --disable-kernel-version-check")
            raise LiqoctlExit(1)
    repo_url = invocation.value("repo-url")
    chart_path = invocation.value("local-chart-path")
    version = invocation.value("version")
    if repo_url != DEFAULT_REPO_URL and chart_path:
        message = "Cannot specify both --repo-url and --local-chart-path at the same time"
    elif chart_path and version == "":
        message = "A version must be explicitly specified if the --local-chart-path flag is set"
    elif repo_url != DEFAULT_REPO_URL and version == "":
        message = "A version must be explicitly specified if the --repo-url flag is set"
    else:
        return
    printer.error(message)
    raise LiqoctlExit(1)


def _parse_kernel(release: str) -> tuple[int, int, int]:
    match = re.match(r"^\s*([+-]?\d+)\.([+-]?\d+)(.*)$", release)
    if not match:
        raise InstallError(f"Can't parse kernel version {release}")
    minor_match = re.match(r"^\.([+-]?\d+)", match.group(3))
    minor = int(minor_match.group(1)) if minor_match else 0
    return int(match.group(1)), int(match.group(2)), minor


def _kernel_version_error(cluster: Cluster) -> str:
    """kernelversion.CheckKernelVersionFromNodes: the lowest node kernel must be at least 5.10.0."""
    try:
        nodes = cluster.list(res.NODE.collection())
    except KubeError as error:
        return f"failed to get the current kernel version: {error.raw}"
    lowest = None
    for node in nodes:
        release = node.get("status", {}).get("nodeInfo", {}).get("kernelVersion", "")
        # liqoctl compares the liqo.io/type label with "liqo.io/virtual-node", so virtual nodes are not skipped.
        if not release or node["metadata"].get("labels", {}).get("liqo.io/type") == "liqo.io/virtual-node":
            continue
        try:
            version = _parse_kernel(release)
        except InstallError as error:
            return f"failed to get the current kernel version: {error}"
        if lowest is None or version < lowest:
            lowest = version
    if lowest is None:
        # liqoctl v1.0.3 dereferences the missing version and panics when no node reports a kernel version.
        raise _GoPanic()
    if lowest < MINIMUM_KERNEL:
        current = ".".join(str(part) for part in lowest)
        return f"kernel version {current} does not satisfy the minimum requirements 5.10.0"
    return ""


class _GoPanic(LiqoctlExit):
    def __init__(self):
        sys.stderr.write(
            "panic: runtime error: invalid memory address or nil pointer dereference\n"
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0]\n"
        )
        super().__init__(2)


# -- run ------------------------------------------------------------------------------------------------------


def run_generic(invocation) -> int:
    """liqoctl install (generic provider: --pod-cidr and --service-cidr are required)."""
    return _run(invocation, _options(invocation, provider=""))


def run_k3s(invocation) -> int:
    """liqoctl install k3s."""
    options = _options(invocation, provider="k3s")
    return _run(invocation, options)


def run_kind(invocation) -> int:
    """liqoctl install kind."""
    return _run(invocation, _options(invocation, provider="kind"))


def run_kubeadm(invocation) -> int:
    """liqoctl install kubeadm."""
    return _run(invocation, _options(invocation, provider="kubeadm"))


def _run(invocation, options: Options) -> int:
    factory = invocation.local
    printer = factory.printer
    cluster = factory.cluster
    namespace = factory.liqo_namespace

    spinner = printer.spinner("Initializing installer")
    try:
        _initialize(options, cluster, namespace, printer)
    except (InstallError, KubeError) as error:
        spinner.fail(f"Error initializing installer: {error}")
        return 1
    spinner.success("Installer initialized")

    spinner = printer.spinner("Retrieving cluster configuration")
    try:
        _provider_initialize(options, cluster)
    except (InstallError, KubeError) as error:
        spinner.fail(f"Error retrieving provider specific configuration: {error}")
        return 1
    if not options.skip_validation:
        try:
            _validate(options, factory, printer)
        except (InstallError, KubeError) as error:
            spinner.fail(f"Error retrieving configuration: {error}")
            return 1
    spinner.success("Cluster configuration correctly retrieved")

    spinner = printer.spinner("Generating installation parameters")
    try:
        values = _build_values(options)
        warnings = _values_warnings(values)
    except (values_module.ValuesError, InstallError) as error:
        spinner.fail(f"Error generating installation parameters: {error}")
        return 1
    for warning in warnings:
        spinner.warning(warning)
        spinner = printer.spinner(spinner.text)
    spinner.success("Installation parameters correctly generated")

    if options.only_output_values:
        return _write_values(printer, options, values)

    spinner = printer.spinner("Installing or upgrading Liqo... (this may take a few minutes)")
    try:
        _install_or_upgrade(cluster, namespace, options, values)
    except (helm.HelmError, chart.RenderError, crds.CRDError, KubeError) as error:
        text = str(error).replace("context deadline exceeded", "timed out waiting for the condition", 1)
        spinner.fail(f"Error installing or upgrading Liqo: {text}")
        if "timed out waiting for the condition" in text:
            for line in (
                "Likely causes for the installation/upgrade timeout could include:",
                "* One or more pods failed to start (e.g., they are in the ImagePullBackOff status)",
                "* A service of type LoadBalancer has been configured, but no provider is available",
                "You can add the --verbose flag for debug information concerning the failing resources",
                "Additionally, if necessary, you can increase the timeout value with the --timeout flag",
            ):
                printer.info(line)
        return 1
    if options.dry_run:
        spinner.success("Installation completed (dry-run)")
        return 0
    spinner.success(
        f"All Set! You can now proceed establishing a peering ({invocation.root_name} peer --help for more information)"
    )
    printer.info("Make sure to use the same version of Liqo on all remote clusters")
    return 0


def _is_release(version: str) -> bool:
    return version == "" or bool(_GO_SEMVER.match(version))


def _initialize(options: Options, cluster: Cluster, namespace: str, printer: Printer) -> None:
    if options.chart_path:
        # liqoctl disables telemetry for local charts; the stand-in renders its own chart either way.
        options.disable_telemetry = True
    elif not _is_release(options.version):
        printer.warning(f'Non-released version selected. Downloading repository from "{options.repo_url}"...')
        raise InstallError(
            f"the liqoctl stand-in cannot clone {options.repo_url} at {options.version}; "
            "install a released version (vX.Y.Z)"
        )
    printer.verbosef(f'Using chart from "{options.chart_path or "liqo/liqo"}"')
    if not options.cluster_id:
        options.cluster_id = _installed_cluster_id(cluster, namespace)
    if options.provider:
        options.cluster_labels["liqo.io/provider"] = options.provider


def _installed_cluster_id(cluster: Cluster, namespace: str) -> str:
    """utils.GetClusterID with the native client: NotFound means a fresh install."""
    items = cluster.list(
        res.CONFIG_MAP.collection(namespace), label_selector="app.kubernetes.io/name=clusterid-configmap"
    )
    if not items:
        return ""
    if len(items) > 1:
        raise InstallError("multiple clusterID configmaps found")
    data = items[0].get("data") or {}
    if "CLUSTER_ID" not in data:
        metadata = items[0]["metadata"]
        raise InstallError(
            f"unable to get cluster ID: field {{CLUSTER_ID}} not found in configmap "
            f"{{{metadata['namespace']}/{metadata['name']}}}"
        )
    return data["CLUSTER_ID"]


def _provider_initialize(options: Options, cluster: Cluster) -> None:
    if options.provider == "k3s":
        options.disable_api_server_sanity_checks = True
    elif options.provider in ("kind", "kubeadm"):
        if options.provider == "kind":
            options.disable_api_server_sanity_checks = True
            options.disable_api_server_defaulting = True
        _detect_cidrs(options, cluster)


def _argument(command: list[str], key: str, default: str) -> str:
    value = liqo.argument_value(command, key)
    return default if value is None else value


def _detect_cidrs(options: Options, cluster: Cluster) -> None:
    """kubeadm/kind: read the CIDRs from the kube-controller-manager pod's command."""
    pods = cluster.list(res.POD.collection("kube-system"), label_selector=KCM_SELECTOR)
    if not pods:
        raise InstallError("kube-controller-manager not found")
    containers = pods[0]["spec"]["containers"]
    if len(containers) != 1:
        raise InstallError("unexpected amount of containers in kube-controller-manager")
    command = containers[0].get("command") or []
    options.pod_cidr = _argument(command, "--cluster-cidr", "172.16.0.0/16")
    options.service_cidr = _argument(command, "--service-cluster-ip-range", "10.96.0.0/12")


def _validate(options: Options, factory, printer: Printer) -> None:
    if not options.cluster_id:
        options.cluster_id = names.generate()
        # liqoctl prints this with Printf, without a newline.
        printer.stream.write(printer.format("INFO", f'No cluster id specified. Generated: "{options.cluster_id}"'))
        printer.stream.flush()
    if not _is_dns1123_label(options.cluster_id):
        raise InstallError(
            "failed validating cluster id: the cluster name must be DNS-compatible (e.g., lowercase letters, "
            "numbers and hyphens) and\n\t\tmust be <= 63 characters. Try using 'liqoctl --cluster-id' to set "
            "another name and overcome this error"
        )
    printer.verbosef(f"Cluster id: {options.cluster_id}\n")

    try:
        _validate_api_server(options, factory.config.server)
    except InstallError as error:
        raise InstallError(f'failed validating API Server URL "{options.api_server}": {error}') from None
    printer.verbosef(f"Kubernetes API Server: {options.api_server}\n")

    cluster = factory.cluster
    try:
        _validate_pod_cidr(options.pod_cidr, cluster)
    except InstallError as error:
        raise InstallError(
            f'failed validating Pod CIDR "{options.pod_cidr}": {error}. Try setting the correct Pod '
            "CIDR using the vanilla *liqoctl install* command, or installing Liqo with Helm"
        ) from None
    printer.verbosef(f"Pod CIDR: {options.pod_cidr}\n")
    try:
        _validate_service_cidr(options.service_cidr, cluster)
    except InstallError as error:
        raise InstallError(
            f'failed validating Service CIDR "{options.service_cidr}": {error}. Try setting the '
            "correct Service CIDR using the vanilla *liqoctl install* command, or installing Liqo "
            "with Helm"
        ) from None
    printer.verbosef(f"Service CIDR: {options.service_cidr}\n")

    if options.values_path and not options.only_output_values:
        raise InstallError(
            "failed validating output values: --dump-values-path can only be used in conjunction "
            "with --only-output-values"
        )
    if not options.values_path:
        options.values_path = DEFAULT_DUMP_VALUES_PATH


def _is_dns1123_label(value: str) -> bool:
    return len(value) <= 63 and bool(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", value))


def _hostname(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or ""


def _host_port(url: str) -> tuple[str, str]:
    if not url.startswith("https://"):
        url = f"https://{url}"
    parsed = urllib.parse.urlsplit(url)
    return parsed.hostname or "", str(parsed.port) if parsed.port else "443"


def _validate_api_server(options: Options, kubeconfig_host: str) -> None:
    if not options.api_server:
        if options.disable_api_server_defaulting:
            return
        if _hostname(kubeconfig_host) not in LOCALHOST_VALUES:
            options.api_server = kubeconfig_host
        return
    if not options.disable_api_server_sanity_checks and _host_port(kubeconfig_host) != _host_port(options.api_server):
        raise InstallError(
            f'the retrieved API server URL ("{options.api_server}") does not match the kubeconfig one '
            f'("{kubeconfig_host}"). If correct, skip with --disable-api-server-sanity-check'
        )
    if _hostname(options.api_server) in LOCALHOST_VALUES:
        raise InstallError("cannot use localhost as API Server address")


def _parse_network(cidr: str):
    try:
        return parse_go_cidr(cidr)
    except ValueError as error:
        raise InstallError(str(error)) from None


def _validate_pod_cidr(pod_cidr: str, cluster: Cluster) -> None:
    pods = cluster.list(res.POD.collection(), label_selector="!liqo.io/shadowPod")
    network = _parse_network(pod_cidr)
    for pod in pods:
        address = (pod.get("status") or {}).get("podIP", "")
        if address and not (pod.get("spec") or {}).get("hostNetwork") and not _contains(network, address):
            raise InstallError(f'pod "{pod["metadata"]["name"]}" does not match the provided Pod CIDR (IP: {address})')


def _validate_service_cidr(service_cidr: str, cluster: Cluster) -> None:
    services = cluster.list(res.SERVICE.collection())
    network = _parse_network(service_cidr)
    for service in services:
        address = (service.get("spec") or {}).get("clusterIP", "")
        if address not in ("None", "") and not _contains(network, address):
            raise InstallError(
                f'service "{service["metadata"]["name"]}" does not match the provided Service CIDR (IP: {address})'
            )


def _contains(network, address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in network
    except ValueError:
        return False


# -- values ---------------------------------------------------------------------------------------------------


def _pre_provider_values(options: Options) -> dict[str, Any]:
    return {
        "tag": options.version,
        "requirements": {"kernel": {"disabled": options.disable_kernel_version_check}},
        "apiServer": {"address": options.api_server},
        "discovery": {"config": {"clusterID": options.cluster_id, "clusterLabels": dict(options.cluster_labels)}},
        "ipam": {
            "podCIDR": options.pod_cidr,
            "serviceCIDR": options.service_cidr,
            "reservedSubnets": list(options.reserved_subnets),
        },
        "metrics": {"enabled": options.enable_metrics, "prometheusOperator": {"enabled": options.enable_metrics}},
        "virtualKubelet": {
            "metrics": {"enabled": options.enable_metrics, "podMonitor": {"enabled": options.enable_metrics}}
        },
        "telemetry": {"enabled": not options.disable_telemetry},
    }


def _provider_values(provider: str) -> dict[str, Any]:
    if provider == "k3s":
        return {"networking": {"fabric": {"config": {"nftablesMonitor": False}}}}
    if provider == "kind":
        return {"networking": {"fabric": {"config": {"gatewayMasqueradeBypass": True}}}}
    return {}


def _build_values(options: Options) -> dict[str, Any]:
    merged = values_module.merge_maps(options.chart_values, _pre_provider_values(options))
    merged = values_module.merge_maps(merged, _provider_values(options.provider))
    merged = values_module.merge_maps(merged, {})
    merged = values_module.merge_maps(merged, values_module.read_values_files(options.values_files))
    for expression in options.override_values:
        try:
            values_module.parse_set(expression, merged, as_string=False)
        except values_module.ValuesError as error:
            raise values_module.ValuesError(f"failed parsing --set data: {error}") from None
    for expression in options.override_string_values:
        try:
            values_module.parse_set(expression, merged, as_string=True)
        except values_module.ValuesError as error:
            raise values_module.ValuesError(f"failed parsing --set-string data: {error}") from None
    return merged


def _values_warnings(values: dict[str, Any]) -> list[str]:
    warnings = []
    for component in ("gateway", "auth"):
        service_type = values_module.get(values, f"{component}.service.type", "")
        if service_type is None or not isinstance(service_type, str):
            raise InstallError(f"cannot check Service type: cannot cast {service_type} to string")
        if service_type == "ClusterIP":
            warnings.append(
                f"Service type of liqo-{component} is ClusterIP. It will not be reachable from outside the cluster"
            )
    return warnings


def _write_values(printer: Printer, options: Options, values: dict[str, Any]) -> int:
    path = options.values_path or DEFAULT_DUMP_VALUES_PATH
    spinner = printer.spinner("Generating values.yaml file with the Liqo chart parameters for your cluster")
    try:
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(values_module.dump(values))
    except OSError as error:
        spinner.fail(f'Unable to write the values file to "{path}": {error}')
        return 1
    spinner.success(f'All Set! Chart values written to "{path}"')
    return 0


# -- helm install/upgrade ------------------------------------------------------------------------------------


def _existing_cluster_id(cluster: Cluster, namespace: str) -> str | None:
    # The chart template looks the ConfigMap up by name, which is what Helm's lookup function does.
    config_map = cluster.get(res.CONFIG_MAP.item("liqo-clusterid-configmap", namespace))
    if config_map is None:
        return None
    return (config_map.get("data") or {}).get("CLUSTER_ID", "")


def _install_or_upgrade(cluster: Cluster, namespace: str, options: Options, values: dict[str, Any]) -> None:
    release = helm.Release(cluster, namespace)
    upgrading = release.exists()
    existing_id = None if options.dry_run else _existing_cluster_id(cluster, namespace)
    objects = chart.Renderer(values, namespace, existing_id).render()
    if options.dry_run:
        return

    crd_objects = crds.load()
    if not upgrading:
        _ensure_namespace(cluster, namespace)
    if not crds.apply(cluster, crd_objects, options.timeout_seconds):
        raise helm.HelmError("failed to install CRD: context deadline exceeded")

    history = release.history()
    previous = release.deployed()
    revision = (history[-1]["version"] if history else 0) + 1
    first_deployed = history[0]["info"]["first_deployed"] if history else ""
    manifest = helm.manifest_of(objects)
    if previous is not None:
        _delete_dropped(cluster, previous["manifest"], objects)
    helm.apply_objects(cluster, objects)
    _simulate_controllers(cluster, namespace, objects)

    ready = helm.wait_until(lambda: helm.workloads_ready(cluster, objects), options.timeout_seconds)
    if not ready:
        _roll_back(
            cluster, release, previous, _Attempt(objects, revision, values, manifest, first_deployed, options.version)
        )
    if previous is not None:
        release.set_status(previous, "superseded")
    description = "Upgrade complete" if upgrading else "Install complete"
    release.write(
        revision,
        values,
        manifest,
        status="deployed",
        description=description,
        first_deployed=first_deployed,
        version=options.version,
    )


def _ensure_namespace(cluster: Cluster, namespace: str) -> None:
    if cluster.get(res.NAMESPACE.item(namespace)) is None:
        body = res.NAMESPACE.skeleton(namespace)
        body["metadata"]["labels"] = {"name": namespace}
        cluster.create(res.NAMESPACE.collection(), body)


def _delete_dropped(cluster: Cluster, previous_manifest: str, objects: list[dict[str, Any]]) -> None:
    rendered = {helm.object_key(obj) for obj in objects}
    dropped = [obj for obj in helm.objects_of(previous_manifest) if helm.object_key(obj) not in rendered]
    helm.delete_objects(cluster, dropped)


@dataclass
class _Attempt:
    """The revision being installed, kept to roll it back."""

    objects: list[dict[str, Any]]
    revision: int
    values: dict[str, Any]
    manifest: str
    first_deployed: str
    version: str


def _roll_back(cluster: Cluster, release: helm.Release, previous: dict[str, Any] | None, attempt: _Attempt) -> None:
    """Helm's atomic behaviour on timeout: uninstall a fresh release, roll an upgrade back to the last one."""
    if previous is None:
        helm.delete_objects(cluster, attempt.objects)
        release.delete_all()
        raise helm.HelmError(
            "release liqo failed, and has been uninstalled due to atomic being set: context deadline exceeded"
        )
    release.write(
        attempt.revision,
        attempt.values,
        attempt.manifest,
        status="failed",
        description='Upgrade "liqo" failed: context deadline exceeded',
        first_deployed=attempt.first_deployed,
        version=attempt.version,
    )
    previous_objects = helm.objects_of(previous["manifest"])
    _delete_dropped(cluster, attempt.manifest, previous_objects)
    helm.apply_objects(cluster, previous_objects)
    release.set_status(previous, "superseded")
    release.write(
        attempt.revision + 1,
        previous["config"],
        previous["manifest"],
        status="deployed",
        description=f"Rollback to {previous['version']}",
        first_deployed=attempt.first_deployed,
        version=previous["chart"]["metadata"].get("version", attempt.version),
    )
    raise helm.HelmError(
        "release liqo failed, and has been rolled back due to atomic being set: context deadline exceeded"
    )


def _simulate_controllers(cluster: Cluster, namespace: str, objects: list[dict[str, Any]]) -> None:
    """What Liqo's pods do right after start: IPAM fills Network status, the controller-manager makes keys."""
    for obj in objects:
        if obj["kind"] == "Network":
            name = obj["metadata"]["name"]
            cluster.merge_patch(res.NETWORK.status(name, namespace), {"status": {"cidr": obj["spec"]["cidr"]}})
    _ensure_authentication_keys(cluster, namespace)


def _ensure_authentication_keys(cluster: Cluster, namespace: str) -> None:
    """Secret authentication-keys (an ed25519 key pair) that the controller-manager creates at start-up."""
    path = res.SECRET.item("authentication-keys", namespace)
    if cluster.get(path) is not None:
        return
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    secret = res.SECRET.skeleton("authentication-keys", namespace)
    secret["data"] = {"privateKey": base64.b64encode(private).decode(), "publicKey": base64.b64encode(public).decode()}
    cluster.create(res.SECRET.collection(namespace), secret)
