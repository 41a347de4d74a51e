"""Command-line behaviour of the liqoctl stand-in that needs no cluster: flags, arguments, errors, exit codes.

Expected texts are those of liqoctl v1.0.3 built with cobra v1.8.1 and pflag v1.0.5, as read in their sources.
The kubeconfig used here points at a closed port, so every case must finish before any API call.
"""

from __future__ import annotations

import json

import pytest
import yaml
from liqoctl_standin import goformat, quantity, selectors
from liqoctl_standin.cli import main

KUBECONFIG_TEXT = """
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}
- name: other
  cluster: {server: "https://127.0.0.1:10", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: not-a-secret}
contexts:
- name: lab
  context: {cluster: lab, user: admin}
- name: other
  context: {cluster: other, user: admin}
current-context: lab
"""


@pytest.fixture(autouse=True)
def kubeconfig(tmp_path, monkeypatch):
    """A kubeconfig in KUBECONFIG whose server refuses connections."""
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG_TEXT)
    path.chmod(0o600)
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("LIQOCTL_STANDIN_VERSION", raising=False)
    monkeypatch.delenv("LIQOCTL_STANDIN_ARGV0", raising=False)
    return path


def run(capsys, *args):
    """Run the stand-in in-process; return (exit code, stdout, stderr)."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- version ----------------------------------------------------------------------------------------------------


def test_version_client_prints_version(capsys):
    code, out, err = run(capsys, "version", "--client")
    assert code == 0
    assert out == "Client version: v1.0.3\n"
    assert err == ""


def test_version_env_overrides_client_version(capsys, monkeypatch):
    monkeypatch.setenv("LIQOCTL_STANDIN_VERSION", "v1.0.2")
    code, out, _stderr = run(capsys, "version", "--client")
    assert code == 0
    assert out == "Client version: v1.0.2\n"


def test_version_without_kubeconfig_fails(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    code, out, err = run(capsys, "version", "--client")
    assert code == 1
    assert out == ""
    assert err == (
        "ERRO: Error in configuration: no configuration has been provided, try setting KUBERNETES_MASTER "
        "environment variable\n"
    )


def test_missing_kubeconfig_file_fails(capsys):
    code, _stdout, err = run(capsys, "version", "--client", "--kubeconfig", "/nonexistent/kubeconfig")
    assert code == 1
    assert err == "ERRO: error: stat /nonexistent/kubeconfig: no such file or directory\n"


def test_unknown_context_fails(capsys):
    code, _stdout, err = run(capsys, "version", "--client", "--context", "missing")
    assert code == 1
    assert err == "ERRO: Error in configuration: context was not found for specified context: missing\n"


def test_version_server_unreachable(capsys):
    code, out, err = run(capsys, "version")
    assert code == 1
    assert out == "Client version: v1.0.3\nServer version: Unknown\n"
    assert (
        "WARN: Failed to retrieve Liqo server version: failed to retrieve the liqo controller manager "
        "deployment\n" in err
    )


# -- cobra: commands and positional arguments ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (["install", "foo"], "liqoctl install"),
        (["upgrade", "foo"], "liqoctl install"),
        (["install", "kind", "foo"], "liqoctl install kind"),
        (["uninstall", "foo"], "liqoctl uninstall"),
        (["peer", "foo"], "liqoctl peer"),
        (["unpeer", "foo"], "liqoctl unpeer"),
        (["info", "foo"], "liqoctl info"),
        (["version", "foo"], "liqoctl version"),
    ],
)
def test_positional_argument_rejected(capsys, args, path):
    code, out, err = run(capsys, *args)
    assert code == 1
    assert out == ""
    assert err == f'Error: unknown command "foo" for "{path}"\n'


def test_bool_flag_value_becomes_argument(capsys):
    # pflag never consumes the next word for a boolean flag, so "false" is a positional argument.
    code, _stdout, err = run(capsys, "uninstall", "--purge", "false")
    assert code == 1
    assert err == 'Error: unknown command "false" for "liqoctl uninstall"\n'


def test_argv0_names_the_command(capsys, monkeypatch):
    monkeypatch.setenv("LIQOCTL_STANDIN_ARGV0", "/opt/bin/liqoctl")
    code, _stdout, err = run(capsys, "peer", "foo")
    assert code == 1
    assert err == 'Error: unknown command "foo" for "/opt/bin/liqoctl peer"\n'


def test_unknown_top_level_word_prints_help(capsys):
    # The root command has cobra.NoArgs and no Run, so cobra shows the help instead of an error.
    code, out, err = run(capsys, "frobnicate")
    assert code == 0
    assert out.startswith("A CLI tool to install and manage Liqo\n")
    assert err == ""


@pytest.mark.parametrize("args", [["offload"], ["unoffload"], ["offload", "pods"], []])
def test_command_without_run_prints_help(capsys, args):
    code, out, _stderr = run(capsys, *args)
    assert code == 0
    assert "Usage:" in out


@pytest.mark.parametrize("args", [["install", "--help"], ["peer", "-h"], ["help", "install"]])
def test_help_exits_zero(capsys, args):
    code, out, err = run(capsys, *args)
    assert code == 0
    assert "Usage:" in out
    assert err == ""


def test_install_help_lists_provider_subcommands(capsys):
    _code, out, _stderr = run(capsys, "install", "--help")
    for provider in ("k3s", "kind", "kubeadm"):
        assert f"  {provider} " in out


@pytest.mark.parametrize(
    "args",
    [
        ["create", "resourceslice", "x"],
        ["network", "reset"],
        ["authenticate"],
        ["cordon", "tenant", "x"],
        ["generate", "peering-user"],
        ["install", "eks"],
        ["test", "network"],
    ],
)
def test_unimplemented_command_fails(capsys, args):
    code, _stdout, err = run(capsys, *args)
    assert code == 1
    assert err.startswith('Error: "liqoctl ')
    assert "is not implemented by the liqoctl stand-in" in err


# -- pflag: flag syntax and values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["install", "--x"], "unknown flag: --x"),
        (["install", "kind", "--pod-cidr", "10.0.0.0/16"], "unknown flag: --pod-cidr"),
        (["install", "kind", "--api-server-url=https://1.2.3.4:6443"], "unknown flag: --api-server-url"),
        (["install", "-x"], "unknown shorthand flag: 'x' in -x"),
        (["install", "--cluster-id"], "flag needs an argument: --cluster-id"),
        (["info", "-o"], "flag needs an argument: 'o' in -o"),
        (["offload", "namespace", "foo", "-n", "liqo"], "unknown shorthand flag: 'n' in -n"),
        (["offload", "namespace", "foo", "--remote-kubeconfig", "x"], "unknown flag: --remote-kubeconfig"),
        (["version", "---client"], "bad flag syntax: ---client"),
        (
            ["uninstall", "--purge=maybe"],
            'invalid argument "maybe" for "--purge" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
        ),
        (
            ["uninstall", "--timeout", "10"],
            'invalid argument "10" for "--timeout" flag: time: missing unit in duration "10"',
        ),
        (["uninstall", "--timeout=abc"], 'invalid argument "abc" for "--timeout" flag: time: invalid duration "abc"'),
        (
            ["peer", "--gw-server-service-port", "abc"],
            'invalid argument "abc" for "--gw-server-service-port" flag: strconv.ParseInt: parsing "abc": '
            "invalid syntax",
        ),
        (
            ["peer", "--gw-server-service-nodeport", "4294967296"],
            'invalid argument "4294967296" for "--gw-server-service-nodeport" flag: strconv.ParseInt: parsing '
            '"4294967296": value out of range',
        ),
        (
            ["peer", "--mtu", "1.5"],
            'invalid argument "1.5" for "--mtu" flag: strconv.ParseInt: parsing "1.5": invalid syntax',
        ),
        (
            ["peer", "--gw-server-service-type", "Foo"],
            'invalid argument "Foo" for "--gw-server-service-type" flag: Foo is not included in '
            "LoadBalancer,NodePort,ClusterIP",
        ),
        (
            ["peer", "--gw-server-service-location", "Remote"],
            'invalid argument "Remote" for "--gw-server-service-location" flag: Remote is not included in '
            "Consumer,Provider",
        ),
        (
            ["peer", "--resource", "nvidia.com/gpu"],
            'invalid argument "nvidia.com/gpu" for "--resource" flag: nvidia.com/gpu must be formatted as key=value',
        ),
        (["info", "-o", "xml"], 'invalid argument "xml" for "-o, --output" flag: xml is not included in json,yaml'),
        (
            ["offload", "ns", "foo", "--pod-offloading-strategy", "Anywhere"],
            'invalid argument "Anywhere" for "--pod-offloading-strategy" flag: Anywhere is not included in '
            "LocalAndRemote,Remote,Local",
        ),
        (
            ["install", "--reserved-subnets", "10.0.0.0"],
            'invalid argument "10.0.0.0" for "--reserved-subnets" flag: invalid CIDR address: 10.0.0.0',
        ),
        (
            ["install", "--reserved-subnets", "10.0.0.0/8,192.168.01.0/24"],
            'invalid argument "10.0.0.0/8,192.168.01.0/24" for "--reserved-subnets" flag: invalid CIDR address: '
            "192.168.01.0/24",
        ),
        (
            ["install", "--cluster-labels", "region"],
            'invalid argument "region" for "--cluster-labels" flag: invalid value region: missing \'=\' separator',
        ),
        (
            ["peer", "--global-labels", "a"],
            'invalid argument "a" for "--global-labels" flag: a must be formatted as key=value',
        ),
    ],
)
def test_flag_error_message(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 1
    assert out == ""
    assert err == f"Error: {message}\n"


@pytest.mark.parametrize(
    "args",
    [
        ["--kubeconfig", "{kubeconfig}", "version", "--client"],
        ["version", "--client=true", "--kubeconfig={kubeconfig}"],
        ["version", "--client", "-n", "liqo-system", "--skip-confirm", "--global-labels", "a=b,c=d"],
        ["version", "--client", "--namespace=liqo-system", "-v", "--global-annotations=x=y"],
        ["version", "--client", "--context", "other", "--cluster", "lab", "--user", "admin"],
        ["version", "--client", "--request-timeout", "5s", "--insecure-skip-tls-verify", "--cache-dir", "/tmp"],
        ["version", "--client", "-s", "https://127.0.0.1:11", "--token", "x", "--as", "someone", "--as-group", "g"],
        ["version", "--", "--client"],
    ],
)
def test_accepted_flag_forms(capsys, kubeconfig, args):
    arguments = [arg.replace("{kubeconfig}", str(kubeconfig)) for arg in args]
    code, out, _stderr = run(capsys, *arguments)
    if arguments[-1] == "--client" and arguments[-2] == "--":
        # Everything after "--" is positional, so version gets an argument.
        assert code == 1
        return
    assert code == 0
    assert out == "Client version: v1.0.3\n"


def test_install_generic_requires_cidrs(capsys):
    code, _stdout, err = run(capsys, "install", "--disable-kernel-version-check")
    assert code == 1
    assert err == 'Error: required flag(s) "pod-cidr", "service-cidr" not set\n'


def test_install_k3s_accepts_cidr_flags(capsys):
    # Everything parses; the run then stops at the unreachable API server.
    code, _stdout, err = run(
        capsys,
        "install",
        "k3s",
        "--pod-cidr",
        "10.42.0.0/16",
        "--service-cidr=10.43.0.0/16",
        "--api-server-url",
        "https://1.2.3.4:6443",
        "--disable-kernel-version-check",
        "--set",
        "a.b=c",
        "--set",
        "d=1",
        "--values",
        "/nonexistent.yaml",
        "--timeout=1s",
    )
    assert code == 1
    assert "Error:" not in err


def test_install_repo_url_needs_version(capsys):
    code, _stdout, err = run(
        capsys,
        "install",
        "kind",
        "--disable-kernel-version-check",
        "--version",
        "",
        "--repo-url",
        "https://example.invalid/liqo",
    )
    assert code == 1
    assert err == "ERRO: A version must be explicitly specified if the --repo-url flag is set\n"


def test_install_repo_url_and_chart_path_conflict(capsys):
    code, _stdout, err = run(
        capsys,
        "install",
        "kind",
        "--disable-kernel-version-check",
        "--repo-url",
        "https://example.invalid/liqo",
        "--local-chart-path",
        "./chart",
    )
    assert code == 1
    assert err == "ERRO: Cannot specify both --repo-url and --local-chart-path at the same time\n"


def test_peer_same_cluster_rejected(capsys, kubeconfig):
    code, _stdout, err = run(capsys, "peer", "--remote-kubeconfig", str(kubeconfig))
    assert code == 1
    assert err == "ERRO: error: local and remote clusters must be different\n"


def test_peer_remote_context_makes_clusters_differ(capsys, kubeconfig):
    # Accepted: both contexts resolve; the command then fails on the unreachable API servers.
    code, _stdout, err = run(
        capsys,
        "peer",
        "--remote-kubeconfig",
        str(kubeconfig),
        "--remote-context",
        "other",
        "--remote-namespace",
        "liqo",
        "-n",
        "liqo",
        "--cpu",
        "2",
        "--memory=4Gi",
        "--resource",
        "nvidia.com/gpu=1",
        "--resource",
        "example.com/fpga=2",
        "--mtu=1400",
        "--gw-server-service-type=NodePort",
        "--gw-server-service-nodeport",
        "31000",
        "--networking-disabled",
        "--create-virtual-node=false",
        "--timeout",
        "1m",
    )
    assert code == 1
    assert "local and remote clusters must be different" not in err
    assert "The connection to the server 127.0.0.1:9 was refused" in err


def test_unpeer_accepts_its_flags(capsys, kubeconfig):
    code, _stdout, err = run(
        capsys,
        "unpeer",
        "--remote-kubeconfig",
        str(kubeconfig),
        "--remote-context",
        "other",
        "--delete-namespaces",
        "--wait=false",
        "--timeout",
        "30s",
    )
    assert code == 1
    assert err.startswith("ERRO: error: an error occurred while retrieving cluster id: The connection to the server")


# -- confirmation prompts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "name"), [(["uninstall"], "uninstall"), (["unoffload", "namespace", "foo"], "unoffload")]
)
def test_prompt_without_terminal_fails(capsys, args, name):
    code, out, err = run(capsys, *args)
    assert code == 1
    assert out.startswith(f"{name} is a potentially destructive command.\nAre you sure you want to continue? [y/N]: ")
    assert "pass --skip-confirm" in err


# -- offload namespace without applying -------------------------------------------------------------------------


def test_offload_requires_namespace(capsys):
    code, _stdout, err = run(capsys, "offload", "namespace")
    assert code == 1
    assert err == "ERRO: namespace name or label selector must be specified\n"


def test_offload_rejects_names_with_selector(capsys):
    code, _stdout, err = run(capsys, "offload", "ns", "a", "--ns-selector", "x=y")
    assert code == 1
    assert err == "ERRO: namespace name and label selector must not be specified together\n"


def test_offload_rejects_remote_name_for_many(capsys):
    code, _stdout, err = run(capsys, "offload", "namespaces", "a", "b", "--remote-namespace-name", "c")
    assert code == 1
    assert err == "ERRO: the remote namespace name cannot be specified when offloading multiple namespaces at once\n"


def test_unoffload_requires_namespace(capsys):
    code, _stdout, err = run(capsys, "unoffload", "namespace", "--skip-confirm")
    assert code == 1
    assert err == "ERRO: namespace name or label selector must be specified\n"


def test_offload_output_json(capsys):
    code, out, err = run(
        capsys,
        "offload",
        "namespace",
        "team-a",
        "-ojson",
        "--namespace-mapping-strategy",
        "EnforceSameName",
        "--pod-offloading-strategy=Remote",
        "-l",
        "region in (us-west,europe), !staging, liqo.io/provider=k3s",
        "--selector",
        "gpu",
    )
    assert code == 0
    assert err == ""
    document = json.loads(out)
    assert document["apiVersion"] == "offloading.liqo.io/v1beta1"
    assert document["kind"] == "NamespaceOffloading"
    assert document["metadata"] == {"name": "offloading", "namespace": "team-a", "creationTimestamp": None}
    assert document["spec"]["namespaceMappingStrategy"] == "EnforceSameName"
    assert document["spec"]["podOffloadingStrategy"] == "Remote"
    assert document["spec"]["clusterSelector"] == {
        "nodeSelectorTerms": [
            {
                "matchExpressions": [
                    {"key": "region", "operator": "In", "values": ["europe", "us-west"]},
                    {"key": "staging", "operator": "DoesNotExist"},
                    {"key": "liqo.io/provider", "operator": "In", "values": ["k3s"]},
                ]
            },
            {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]},
        ]
    }
    assert document["status"] == {}


def test_offload_output_yaml_per_namespace(capsys):
    code, out, _stderr = run(capsys, "offload", "namespace", "a", "b", "-o", "yaml")
    assert code == 0
    documents = [doc for doc in yaml.safe_load_all(out) if doc]
    assert [doc["metadata"]["namespace"] for doc in documents] == ["a", "b"]
    assert documents[0]["spec"] == {
        "clusterSelector": {"nodeSelectorTerms": []},
        "namespaceMappingStrategy": "DefaultName",
        "podOffloadingStrategy": "LocalAndRemote",
    }
    assert out.endswith("---\n")


def test_offload_selected_name_in_output(capsys):
    code, out, _stderr = run(
        capsys,
        "offload",
        "namespace",
        "a",
        "-o",
        "yaml",
        "--namespace-mapping-strategy",
        "SelectedName",
        "--remote-namespace-name",
        "remote-a",
    )
    assert code == 0
    assert yaml.safe_load(out.split("---")[0])["spec"]["remoteNamespaceName"] == "remote-a"


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("a!=b", '"!=" isn\'t supported in label selectors'),
        ("a in (b", "couldn't parse the selector string \"a in (b\": found '', expected: ')'"),
    ],
)
def test_offload_invalid_cluster_selector(capsys, selector, message):
    code, _stdout, err = run(capsys, "offload", "namespace", "a", "-o", "yaml", "-l", selector)
    assert code == 1
    assert err == f"ERRO: error: {message}\n"


# -- helpers with Go semantics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", "2"),
        ("0.5", "500m"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("2000", "2k"),
        ("1500", "1500"),
        ("1e3", "1e3"),
        ("100m", "100m"),
        ("0.5Gi", "512Mi"),
        ("1000Ki", "1000Ki"),
        ("16Gi", "16Gi"),
        ("0", "0"),
        ("1.1", "1100m"),
    ],
)
def test_quantity_canonical_form(text, expected):
    assert quantity.canonical(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1..2", "2 Gi", "1Qi"])
def test_quantity_rejects_invalid(text):
    with pytest.raises(quantity.QuantityError):
        quantity.canonical(text)


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("10m", 600_000_000_000),
        ("1h2m3s", 3_723_000_000_000),
        ("1.5s", 1_500_000_000),
        ("0", 0),
        ("300ms", 300_000_000),
        ("-2s", -2_000_000_000),
    ],
)
def test_duration_parsing(text, nanoseconds):
    assert goformat.parse_duration(text) == nanoseconds


@pytest.mark.parametrize(
    ("nanoseconds", "text"), [(600_000_000_000, "10m0s"), (20_000_000_000, "20s"), (120_000_000_000, "2m0s")]
)
def test_duration_formatting(nanoseconds, text):
    assert goformat.format_duration(nanoseconds) == text


@pytest.mark.parametrize(
    ("labels", "expected"), [({"liqo.io/provider": "k3s"}, True), ({"liqo.io/provider": "kind"}, False), ({}, False)]
)
def test_node_selector_matching(labels, expected):
    selector = {"nodeSelectorTerms": [{"matchExpressions": selectors.to_match_expressions("liqo.io/provider=k3s")}]}
    assert selectors.node_selector_matches(selector, labels) is expected


def test_empty_node_selector_selects_all():
    assert selectors.node_selector_matches({"nodeSelectorTerms": []}, {"any": "thing"}) is True
