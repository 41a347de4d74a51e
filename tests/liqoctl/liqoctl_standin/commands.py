"""The liqoctl v1.0.3 command tree with every flag of the commands the stand-in implements.

Flag names, types, shorthands, defaults and hidden state come from cmd/liqoctl/cmd/*.go and
pkg/liqoctl/factory (which adds the kubectl access flags of k8s.io/cli-runtime v0.33 ConfigFlags, most of them
hidden). Commands the stand-in does not implement are present so that they are recognised, and fail when run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from .flags import Flag

MINUTE = 60 * 1_000_000_000
SECOND = 1_000_000_000


@dataclass
class Command:
    """One cobra command."""

    name: str
    short: str
    aliases: tuple[str, ...] = ()
    # "none": cobra.NoArgs; "any": arbitrary positional arguments.
    args: str = "none"
    handler: str = ""
    pre_run: str = ""
    local_flags: Callable[[], list[Flag]] = list
    persistent_flags: Callable[[], list[Flag]] = list
    children: list[Command] = field(default_factory=list)
    implemented: bool = True
    parent: Command | None = None

    @property
    def runnable(self) -> bool:
        """Whether cobra would run it (it has a Run function)."""
        return bool(self.handler) or not self.implemented

    def find_child(self, word: str) -> Command | None:
        """Return the subcommand named or aliased word."""
        for child in self.children:
            if word == child.name or word in child.aliases:
                return child
        return None

    def lineage(self) -> list[Command]:
        """This command and its ancestors, innermost first."""
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


def access_flags(remote: bool) -> list[Flag]:
    """The kubectl access flags of a liqoctl factory; remote ones get a prefix, no shorthand and a note."""
    prefix = "remote-" if remote else ""
    note = " (in the remote cluster)" if remote else ""
    cache_dir = os.path.join(os.path.expanduser("~"), ".kube", "cache")

    def flag(name, kind, default, usage, *, shorthand="", hidden=True):
        return Flag(prefix + name, kind, default, usage + note, shorthand="" if remote else shorthand, hidden=hidden)

    flags = [
        flag("kubeconfig", "string", "", "Path to the kubeconfig file to use for CLI requests", hidden=False),
        flag("cache-dir", "string", cache_dir, "Default cache directory"),
        flag("client-certificate", "string", "", "Path to a client certificate file for TLS"),
        flag("client-key", "string", "", "Path to a client key file for TLS"),
        flag("token", "string", "", "Bearer token for authentication to the API server"),
        flag("as", "string", "", "Username to impersonate for the operation"),
        flag("as-uid", "string", "", "UID to impersonate for the operation"),
        flag("as-group", "stringArray", [], "Group to impersonate for the operation, can be repeated"),
        flag("cluster", "string", "", "The name of the kubeconfig cluster to use", hidden=False),
        flag("user", "string", "", "The name of the kubeconfig user to use", hidden=False),
        flag("context", "string", "", "The name of the kubeconfig context to use", hidden=False),
        flag("server", "string", "", "The address and port of the Kubernetes API server", shorthand="s"),
        flag("tls-server-name", "string", "", "Server name to use for server certificate validation"),
        flag("insecure-skip-tls-verify", "bool", False, "If true, the server's certificate will not be checked"),
        flag("certificate-authority", "string", "", "Path to a cert file for the certificate authority"),
        flag("request-timeout", "string", "0", "The length of time to wait before giving up on a single request"),
        flag("disable-compression", "bool", False, "If true, opt-out of response compression"),
    ]
    if not remote:
        flags.append(Flag("verbose", "bool", False, "Enable verbose logs (default false)", shorthand="v"))
    return flags


def liqo_namespace_flag(remote: bool = False) -> Flag:
    """-n/--namespace (or --remote-namespace): the namespace where Liqo is installed."""
    if remote:
        return Flag(
            "remote-namespace", "string", "liqo", "The namespace where Liqo is installed in (in the remote cluster)"
        )
    return Flag("namespace", "string", "liqo", "The namespace where Liqo is installed in", shorthand="n")


def root_persistent_flags() -> list[Flag]:
    """Flags every command inherits."""
    return [
        *access_flags(remote=False),
        Flag("skip-confirm", "bool", False, "Skip the confirmation prompt (suggested for automation)"),
        Flag("global-labels", "stringToString", {}, "Global labels to be added to all created resources (key=value)"),
        Flag(
            "global-annotations",
            "stringToString",
            {},
            "Global annotations to be added to all created resources (key=value)",
        ),
    ]


def install_persistent_flags(client_version: str) -> list[Flag]:
    """Flags of `install`, inherited by its provider subcommands."""
    return [
        Flag(
            "version",
            "string",
            client_version,
            "The version of Liqo to be installed, among releases and commit SHAs. Defaults to the liqoctl version",
        ),
        Flag(
            "repo-url",
            "string",
            "https://github.com/liqotech/liqo",
            "The URL of the git repository used to retrieve the Helm chart, for non released versions",
        ),
        Flag("local-chart-path", "string", "", "The local path used to retrieve the Helm chart"),
        Flag("only-output-values", "bool", False, "Generate the values file instead of installing Liqo"),
        Flag(
            "dump-values-path",
            "string",
            "",
            "Where the values file is written with --only-output-values (default ./values.yaml)",
        ),
        Flag("dry-run", "bool", False, "Simulate the installation process"),
        Flag("timeout", "duration", 10 * MINUTE, "The timeout for the completion of the installation process"),
        Flag("cluster-id", "clusterID", "", "The id identifying the cluster in Liqo"),
        Flag(
            "cluster-labels",
            "stringMap",
            {},
            "Labels (key=value, comma separated) identifying this cluster, propagated to virtual nodes",
        ),
        Flag("reserved-subnets", "cidrList", [], "Private CIDRs already in use, excluded by the IPAM"),
        Flag("set", "stringArray", [], "Set additional values (repeatable, or key1=val1,key2=val2)"),
        Flag("set-string", "stringArray", [], "Set additional string values (repeatable)"),
        Flag("values", "stringArray", [], "Values files (repeatable)"),
        Flag("disable-api-server-sanity-check", "bool", False, "Disable the API server URL sanity checks"),
        Flag("skip-validation", "bool", False, "Skip the validation of the arguments (PodCIDR, ServiceCIDR)"),
        Flag("enable-metrics", "bool", False, "Enable metrics exposition through prometheus"),
        Flag("disable-telemetry", "bool", False, "Disable the anonymous Liqo telemetry collection"),
        Flag("disable-kernel-version-check", "bool", False, "Disable the minimum kernel version check"),
        liqo_namespace_flag(),
    ]


def generic_install_flags() -> list[Flag]:
    """Local flags of the generic `install` command."""
    return [
        Flag("api-server-url", "string", "", "The Kubernetes API Server URL (defaults to the kubeconfig one)"),
        Flag("pod-cidr", "string", "", "The Pod CIDR of the cluster", required=True),
        Flag("service-cidr", "string", "", "The Service CIDR of the cluster", required=True),
    ]


def k3s_install_flags() -> list[Flag]:
    """Local flags of `install k3s`."""
    return [
        Flag("api-server-url", "string", "", "The Kubernetes API Server URL (defaults to the kubeconfig one)"),
        Flag("pod-cidr", "string", "10.42.0.0/16", "The Pod CIDR of the cluster"),
        Flag("service-cidr", "string", "10.43.0.0/16", "The Service CIDR of the cluster"),
    ]


def two_cluster_flags(timeout: int, extra: list[Flag]) -> list[Flag]:
    """Persistent flags of peer and unpeer: access to both clusters and both Liqo namespaces."""
    return [
        Flag("timeout", "duration", timeout, "Timeout for completion"),
        *extra,
        *access_flags(remote=False),
        *access_flags(remote=True),
        liqo_namespace_flag(),
        liqo_namespace_flag(remote=True),
    ]


def peer_local_flags() -> list[Flag]:
    """Local flags of `peer`."""
    return [
        Flag("networking-disabled", "bool", False, "Disable networking between the two clusters"),
        Flag(
            "gw-server-service-location",
            "enum",
            "Provider",
            "Location of the Gateway Server service",
            choices=("Consumer", "Provider"),
        ),
        Flag(
            "gw-server-service-type",
            "enum",
            "LoadBalancer",
            "Service type of the Gateway Server service",
            choices=("LoadBalancer", "NodePort", "ClusterIP"),
        ),
        Flag("gw-server-service-port", "int32", 51840, "Port of the Gateway Server service"),
        Flag("gw-server-service-nodeport", "int32", 0, "Force the NodePort of the Gateway Server service"),
        Flag("gw-server-service-loadbalancerip", "string", "", "IP of the LoadBalancer for the Gateway Server"),
        Flag("gw-client-address", "string", "", "Address the gateway client uses to reach the gateway server"),
        Flag("gw-client-port", "int32", 0, "Port the gateway client uses to reach the gateway server"),
        Flag("mtu", "int", 1340, "MTU of the Gateway server and client"),
        Flag("create-resource-slice", "bool", True, "Create a ResourceSlice for the peering"),
        Flag("resource-slice-class", "string", "default", "The class of the ResourceSlice"),
        Flag("in-band", "bool", False, "Use in-band authentication"),
        Flag("proxy-url", "string", "", "The URL of the proxy to reach the remote cluster"),
        Flag("create-virtual-node", "bool", True, "Create a VirtualNode for the peering"),
        Flag("cpu", "string", "", "The amount of CPU requested for the VirtualNode"),
        Flag("memory", "string", "", "The amount of memory requested for the VirtualNode"),
        Flag("pods", "string", "", "The amount of pods requested for the VirtualNode"),
        Flag("resource", "stringToString", {}, "Other resources requested for the VirtualNode (name=quantity)"),
    ]


def offload_namespace_flags() -> list[Flag]:
    """Local flags of `offload namespace`."""
    return [
        Flag(
            "pod-offloading-strategy",
            "enum",
            "LocalAndRemote",
            "Where pods of the namespace may run",
            choices=("LocalAndRemote", "Remote", "Local"),
        ),
        Flag(
            "namespace-mapping-strategy",
            "enum",
            "DefaultName",
            "How remote namespaces are named",
            choices=("EnforceSameName", "DefaultName", "SelectedName"),
        ),
        Flag("timeout", "duration", 20 * SECOND, "The timeout for the offloading process"),
        Flag("remote-namespace-name", "string", "", "The remote namespace name, required with SelectedName"),
        Flag("selector", "stringArray", [], "Selector of the target clusters (repeat for alternatives)", shorthand="l"),
        Flag("ns-selector", "string", "", "Selector (label query) of the namespaces to offload"),
        Flag(
            "output",
            "enum",
            "",
            "Print the NamespaceOffloading instead of applying it (json, yaml)",
            shorthand="o",
            choices=("json", "yaml"),
        ),
    ]


def _unimplemented(
    name: str, short: str, children: list[Command] | None = None, aliases: tuple[str, ...] = ()
) -> Command:
    return Command(name, short, aliases=aliases, args="any", implemented=False, children=children or [])


def build(client_version: str) -> Command:
    """Build a fresh command tree (flag values are per invocation)."""
    install = Command(
        "install",
        "Install/upgrade Liqo in the selected cluster",
        aliases=("upgrade",),
        handler="install:run_generic",
        pre_run="install",
        local_flags=generic_install_flags,
        persistent_flags=lambda: install_persistent_flags(client_version),
        children=[
            Command(
                "k3s",
                "Install Liqo in the selected k3s cluster",
                handler="install:run_k3s",
                local_flags=k3s_install_flags,
            ),
            Command("kind", "Install Liqo in the selected kind cluster", handler="install:run_kind"),
            Command("kubeadm", "Install Liqo in the selected kubeadm cluster", handler="install:run_kubeadm"),
            *[
                _unimplemented(provider, f"Install Liqo in the selected {provider} cluster")
                for provider in ("aks", "eks", "gke", "openshift")
            ],
        ],
    )
    uninstall = Command(
        "uninstall",
        "Uninstall Liqo from the selected cluster",
        handler="uninstall:run",
        pre_run="single",
        local_flags=lambda: [
            Flag("purge", "bool", False, "Whether to purge all Liqo CRDs from the cluster (default false)"),
            Flag("timeout", "duration", 10 * MINUTE, "The timeout for the completion of the uninstallation process"),
            liqo_namespace_flag(),
        ],
    )
    peer = Command(
        "peer",
        "Enable a peering towards a remote cluster",
        handler="peer:run",
        pre_run="two",
        local_flags=peer_local_flags,
        persistent_flags=lambda: two_cluster_flags(
            10 * MINUTE, [Flag("skip-validation", "bool", False, "Skip the validation")]
        ),
    )
    unpeer = Command(
        "unpeer",
        "Disable a peering towards a remote provider cluster",
        handler="unpeer:run",
        pre_run="two",
        persistent_flags=lambda: two_cluster_flags(
            120 * SECOND,
            [
                Flag("wait", "bool", True, "Wait for resource to be deleted before returning"),
                Flag("delete-namespaces", "bool", False, "Delete the tenant namespace after unpeering"),
            ],
        ),
    )
    offload = Command(
        "offload",
        "Offload a resource to remote clusters",
        children=[
            Command(
                "namespace",
                "Offload namespaces to remote clusters",
                aliases=("ns", "namespaces"),
                args="any",
                handler="offload:run",
                pre_run="single",
                local_flags=offload_namespace_flags,
            )
        ],
    )
    unoffload = Command(
        "unoffload",
        "Unoffload a resource from remote clusters",
        children=[
            Command(
                "namespace",
                "Unoffload namespaces from remote clusters",
                aliases=("ns", "namespaces"),
                args="any",
                handler="unoffload:run",
                pre_run="single",
                local_flags=lambda: [
                    Flag("ns-selector", "string", "", "Selector (label query) of the namespaces"),
                    Flag("timeout", "duration", 120 * SECOND, "Timeout for the unoffload operation"),
                ],
            )
        ],
    )
    info = Command(
        "info",
        "Show info about the current Liqo instance",
        handler="info:run_local",
        pre_run="single",
        persistent_flags=lambda: [
            liqo_namespace_flag(),
            Flag("verbose", "bool", False, "Make info more verbose", shorthand="v"),
            Flag(
                "output",
                "enum",
                "",
                "Output format. Supported formats: json, yaml",
                shorthand="o",
                choices=("json", "yaml"),
            ),
            Flag("get", "string", "", "Path to the desired subfield in dot notation", shorthand="g"),
        ],
        children=[
            Command(
                "peer",
                "Show additional info about peered clusters",
                args="any",
                handler="info:run_peer",
                pre_run="single",
            )
        ],
    )
    version = Command(
        "version",
        "Print the liqo CLI version and the deployed Liqo version",
        handler="version:run",
        pre_run="single",
        local_flags=lambda: [
            Flag("client", "bool", False, "Show client version only (no server required) (default false)"),
            liqo_namespace_flag(),
        ],
    )
    others = [
        _unimplemented("network", "Manage liqo networking"),
        _unimplemented("authenticate", "Authenticate with a provider cluster"),
        _unimplemented("unauthenticate", "Unauthenticate a pair of consumer and provider clusters"),
        _unimplemented("move", "Move an object to a different cluster"),
        _unimplemented("activate", "Activate a resource"),
        _unimplemented("cordon", "Cordon a resource"),
        _unimplemented("uncordon", "Uncordon a resource"),
        _unimplemented("drain", "Drain a resource"),
        _unimplemented("create", "Create Liqo resources"),
        _unimplemented("generate", "Generate Liqo resources"),
        _unimplemented("get", "Get Liqo resources"),
        _unimplemented("delete", "Delete Liqo resources"),
        _unimplemented("test", "Test Liqo"),
        _unimplemented("completion", "Generate the autocompletion script for the specified shell"),
    ]
    root = Command(
        "liqoctl",
        "A CLI tool to install and manage Liqo",
        persistent_flags=root_persistent_flags,
        children=[install, uninstall, peer, unpeer, offload, unoffload, info, version, *others],
    )
    _link(root)
    return root


def _link(command: Command) -> None:
    for child in command.children:
        child.parent = command
        _link(child)
