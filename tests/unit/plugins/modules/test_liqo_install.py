# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import base64
import gzip
import json
import os
import stat

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.modules import liqo_install

LIQOCTL = "/opt/liqo/bin/liqoctl"
KUBECONFIG = "/etc/oss-mlops/provider.kubeconfig"
ACCESS = ["-n", "liqo", "--kubeconfig", KUBECONFIG]

K3S_ARGS = {
    "kubeconfig": KUBECONFIG,
    "provider": "k3s",
    "cluster_id": "verda-v100-1",
    "pod_cidr": "10.150.0.0/16",
    "service_cidr": "10.151.0.0/16",
    "api_server_url": "https://127.10.1.1:6443",
    "reserved_subnets": ["192.168.10.0/24"],
    "cluster_labels": {"liqo.example/gpu": "true"},
}
K3S_ARGV = [
    "install", "k3s", *ACCESS,
    "--cluster-id", "verda-v100-1", "--version", "v1.0.3", "--reserved-subnets", "192.168.10.0/24",
    "--pod-cidr", "10.150.0.0/16", "--service-cidr", "10.151.0.0/16", "--api-server-url", "https://127.10.1.1:6443",
    "--cluster-labels", "liqo.example/gpu=true", "--disable-telemetry", "--timeout", "600s", "--skip-confirm",
]
K3S_LABELS = {"liqo.example/gpu": "true", "liqo.io/provider": "k3s"}


def install_provider(env, **overrides):
    settings = {
        "labels": K3S_LABELS,
        "api_server_url": "https://127.10.1.1:6443",
        "pod_cidr": "10.150.0.0/16",
        "service_cidr": "10.151.0.0/16",
        "reserved_subnets": ["192.168.10.0/24"],
    }
    cluster_id = overrides.pop("cluster_id", "verda-v100-1")
    settings.update(overrides)
    env.install_liqo(env.provider, cluster_id, **settings)


def run_install(env, check_mode=False, diff=False, **overrides):
    args = dict(K3S_ARGS, **overrides)
    return env.run(liqo_install, args, check_mode=check_mode, diff=diff)


def test_install_k3s_runs_liqoctl(liqo_env):
    liqo_env.liqoctl.handlers["install"] = lambda argv: (install_provider(liqo_env), (0, "", ""))[1]

    result = run_install(liqo_env)

    assert result["changed"] is True
    assert liqo_env.liqoctl.mutating_calls() == [K3S_ARGV]
    assert result["installed"] is True
    assert result["cluster_id"] == "verda-v100-1"
    assert result["reserved_subnets"] == ["192.168.10.0/24"]
    assert result["changes"] == ["install Liqo v1.0.3"]


def test_install_kind_sets_chart_values(liqo_env):
    args = dict(K3S_ARGS, kubeconfig="/etc/oss-mlops/consumer.kubeconfig", provider="kind",
                cluster_id="mlops-consumer", pod_cidr="10.244.0.0/16", service_cidr="10.96.0.0/16",
                api_server_url="https://127.10.0.1:6443", reserved_subnets=[], cluster_labels={},
                disable_telemetry=False, timeout=900)

    liqo_env.run(liqo_install, args)

    assert liqo_env.liqoctl.mutating_calls() == [[
        "install", "kind", "-n", "liqo", "--kubeconfig", "/etc/oss-mlops/consumer.kubeconfig",
        "--cluster-id", "mlops-consumer", "--version", "v1.0.3", "--reserved-subnets", "",
        "--set", "ipam.podCIDR=10.244.0.0/16", "--set", "ipam.serviceCIDR=10.96.0.0/16",
        "--set", "apiServer.address=https://127.10.0.1:6443", "--timeout", "900s", "--skip-confirm",
    ]]


def test_install_can_skip_kernel_check(liqo_env):
    run_install(liqo_env, disable_kernel_version_check=True)

    [argv] = liqo_env.liqoctl.mutating_calls()
    assert argv[argv.index("--disable-telemetry") + 1] == "--disable-kernel-version-check"


def test_install_generic_has_no_provider_word(liqo_env):
    run_install(liqo_env, provider="generic", context="admin@provider", version="v1.0.2")

    [argv] = liqo_env.liqoctl.mutating_calls()
    assert argv[:7] == ["install", "-n", "liqo", "--kubeconfig", KUBECONFIG, "--context", "admin@provider"]
    assert argv[argv.index("--version") + 1] == "v1.0.2"


def test_install_values_go_through_private_file(liqo_env):
    seen = {}

    def capture_values(argv):
        path = argv[argv.index("--values") + 1]
        seen["path"] = path
        seen["mode"] = stat.S_IMODE(os.stat(path).st_mode)
        with open(path, encoding="utf-8") as handle:
            seen["values"] = json.load(handle)
        return 0, "", ""

    liqo_env.liqoctl.handlers["install"] = capture_values
    values = {"networking": {"gatewayTemplates": {"wireguard": {"implementation": "userspace"}}},
              "registry": {"user": "robot"}}
    secret_values = {"registry": {"password": "hunter2-registry"}}

    result = run_install(liqo_env, values=values, secret_values=secret_values)

    assert seen["values"] == {"networking": {"gatewayTemplates": {"wireguard": {"implementation": "userspace"}}},
                              "registry": {"user": "robot", "password": "hunter2-registry"}}
    assert seen["mode"] == 0o600
    assert not os.path.exists(seen["path"])
    [argv] = liqo_env.liqoctl.mutating_calls()
    assert "hunter2-registry" not in " ".join(argv)
    assert "hunter2-registry" not in json.dumps(result)


def test_install_check_mode_runs_no_install(liqo_env):
    result = run_install(liqo_env, check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["installed"] is True
    assert liqo_env.liqoctl.mutating_calls() == []
    assert result["diff"]["before"] == {"installed": False}
    assert result["diff"]["after"]["cluster_id"] == "verda-v100-1"
    assert result["diff"]["after"]["reserved_subnets"] == ["192.168.10.0/24"]


def test_install_matching_state_is_unchanged(liqo_env):
    install_provider(liqo_env)

    result = run_install(liqo_env)

    assert result["changed"] is False
    assert result["changes"] == []
    assert liqo_env.liqoctl.mutating_calls() == []
    assert liqo_env.liqoctl.argvs("info") == [["info", "-o", "json", "-v", *ACCESS]]
    assert result["network"]["pod_cidr"] == "10.150.0.0/16"


def test_install_reserved_subnet_order_is_not_a_change(liqo_env):
    install_provider(liqo_env, reserved_subnets=["192.168.10.0/24", "172.31.0.0/16"])

    result = run_install(liqo_env, reserved_subnets=["172.31.0.0/16", "192.168.10.0/24"])

    assert result["changed"] is False


def test_install_upgrades_changed_version(liqo_env):
    install_provider(liqo_env, version="v1.0.2")

    result = run_install(liqo_env, diff=True)

    assert result["changed"] is True
    assert result["changes"] == ["version: v1.0.2 -> v1.0.3"]
    assert liqo_env.liqoctl.mutating_calls() == [K3S_ARGV]
    assert result["diff"]["before"]["version"] == "v1.0.2"
    assert result["diff"]["after"]["version"] == "v1.0.3"


def test_install_upgrades_labels_and_url(liqo_env):
    install_provider(liqo_env, labels={"liqo.io/provider": "k3s"}, api_server_url="https://198.51.100.7:6443")

    result = run_install(liqo_env, check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["changes"] == [
        "api_server_url: https://198.51.100.7:6443 -> https://127.10.1.1:6443",
        "cluster_labels: {'liqo.io/provider': 'k3s'} -> {'liqo.example/gpu': 'true', 'liqo.io/provider': 'k3s'}",
    ]
    assert result["diff"]["before"]["cluster_labels"] == {"liqo.io/provider": "k3s"}
    assert liqo_env.liqoctl.mutating_calls() == []


def test_install_appends_new_reserved_subnet(liqo_env):
    install_provider(liqo_env, reserved_subnets=["192.168.10.0/24"])

    run_install(liqo_env, reserved_subnets=["172.31.0.0/16", "192.168.10.0/24"])

    [argv] = liqo_env.liqoctl.mutating_calls()
    assert argv[argv.index("--reserved-subnets") + 1] == "192.168.10.0/24,172.31.0.0/16"


def test_install_rejects_removing_middle_subnet(liqo_env):
    install_provider(liqo_env, reserved_subnets=["192.168.10.0/24", "172.31.0.0/16", "172.30.0.0/16"])

    result = run_install(liqo_env, reserved_subnets=["192.168.10.0/24", "172.30.0.0/16"])

    assert result["failed"] is True
    assert "reserved_subnets removes 172.31.0.0/16, which is not at the end" in result["msg"]
    assert "cannot change their CIDR" in result["msg"]
    assert liqo_env.liqoctl.mutating_calls() == []


def test_install_other_cluster_id_fails(liqo_env):
    install_provider(liqo_env, cluster_id="old-provider")

    result = run_install(liqo_env)

    assert result["failed"] is True
    assert "is installed with cluster ID old-provider, not verda-v100-1" in result["msg"]
    assert "The cluster ID cannot change" in result["msg"]
    assert "uninstall (state=absent)" in result["msg"]
    assert liqo_env.liqoctl.mutating_calls() == []


def test_install_other_pod_cidr_fails(liqo_env):
    install_provider(liqo_env, pod_cidr="10.42.0.0/16")

    result = run_install(liqo_env)

    assert result["failed"] is True
    assert "is installed with pod_cidr 10.42.0.0/16, not 10.150.0.0/16" in result["msg"]
    assert liqo_env.liqoctl.mutating_calls() == []


@pytest.mark.parametrize(("overrides", "message"), [
    ({"pod_cidr": "10.150.0.0/33"}, "pod_cidr '10.150.0.0/33' is not a valid CIDR"),
    ({"service_cidr": "10.151.0.1/16"}, "did you mean 10.151.0.0/16?"),
    ({"service_cidr": "10.150.128.0/17"}, "pod_cidr 10.150.0.0/16 and service_cidr 10.150.128.0/17 overlap"),
    ({"reserved_subnets": ["10.151.0.0/24"]}, "reserved_subnets entry 10.151.0.0/24 overlaps service_cidr"),
    ({"reserved_subnets": ["172.18.0.0/16", "172.18.0.0/16"]}, "reserved_subnets lists 172.18.0.0/16 twice"),
    ({"reserved_subnets": ["nonsense"]}, "reserved_subnets entry 'nonsense' is not a valid CIDR"),
    ({"cluster_id": "Verda_V100"}, "cluster_id 'Verda_V100' is not a DNS-1123 label"),
    ({"cluster_id": "p" * 52}, "peers name their tenant namespace liqo-tenant-pppp"),
    ({"api_server_url": "https://127.0.0.1:6443"}, "points at 127.0.0.1, which peers cannot reach and liqoctl rejects"),
    ({"api_server_url": "https://localhost:6443"}, "points at localhost"),
    ({"api_server_url": "http://203.0.113.10:6443"}, "is not an https URL with a host"),
    ({"cluster_labels": {"gpu": "yes please"}}, "cluster_labels value 'yes please' of 'gpu' is not a valid label"),
    ({"timeout": 0}, "timeout 0 must be a positive number of seconds"),
])
def test_install_invalid_request_fails_before_liqoctl(liqo_env, overrides, message):
    result = run_install(liqo_env, **overrides)

    assert result["failed"] is True
    assert message in result["msg"]
    assert liqo_env.liqoctl.calls == []


def test_install_cluster_id_limit_is_51(liqo_env):
    result = run_install(liqo_env, cluster_id="p" * 51, check_mode=True)

    assert "failed" not in result


def test_install_requires_reserved_subnets(liqo_env):
    args = dict(K3S_ARGS)
    del args["reserved_subnets"]

    result = liqo_env.run(liqo_install, args)

    assert result["failed"] is True
    assert "reserved_subnets" in result["msg"]
    assert liqo_env.liqoctl.calls == []


def test_install_wrong_liqoctl_version_fails(liqo_env):
    liqo_env.liqoctl.version = "v1.1.0"

    result = run_install(liqo_env)

    assert result["failed"] is True
    assert f"liqoctl at {LIQOCTL} reports version v1.1.0, but liqoctl_version is v1.0.3" in result["msg"]
    assert liqo_env.liqoctl.mutating_calls() == []


def test_install_failure_carries_stderr(liqo_env):
    liqo_env.liqoctl.results["install"] = (1, "", "\x1b[31mERRO\x1b[0m  Error installing or upgrading Liqo: "
                                                  "timed out waiting for the condition\n")

    result = run_install(liqo_env)

    assert result["failed"] is True
    assert "liqoctl install on the cluster (kubeconfig " + KUBECONFIG + ") failed (rc 1)" in result["msg"]
    assert "timed out waiting for the condition" in result["msg"]
    assert result["cmd"] == [LIQOCTL] + K3S_ARGV
    assert "\x1b" not in result["stderr"]


def helm_release_secret(config, revision=1):
    release = json.dumps({"name": "liqo", "version": revision, "config": config}).encode()
    helm_encoded = base64.b64encode(gzip.compress(release))
    return {
        "metadata": {"name": f"sh.helm.release.v1.liqo.v{revision}", "namespace": "liqo",
                     "labels": {"owner": "helm", "name": "liqo", "status": "deployed", "version": str(revision)}},
        "data": {"release": base64.b64encode(helm_encoded).decode()},
    }


def test_install_matching_helm_values_is_unchanged(liqo_env):
    install_provider(liqo_env)
    liqo_env.provider.put("Secret", helm_release_secret({
        "telemetry": {"enabled": False},
        "networking": {"gatewayTemplates": {"wireguard": {"implementation": "userspace"}, "replicas": 1}},
    }))

    values = {"networking": {"gatewayTemplates": {"wireguard": {"implementation": "userspace"}}}}
    result = run_install(liqo_env, values=values)

    assert result["changed"] is False
    assert liqo_env.liqoctl.mutating_calls() == []


def test_install_changed_helm_values_upgrade(liqo_env):
    install_provider(liqo_env)
    liqo_env.provider.put("Secret", helm_release_secret({"telemetry": {"enabled": True}, "registry": {"password": "a"}},
                                                        revision=2))

    result = run_install(liqo_env, diff=True, secret_values={"registry": {"password": "b-secret"}})

    assert result["changed"] is True
    assert result["changes"] == ["telemetry_enabled: True -> False", "values differ at: registry.password"]
    assert "b-secret" not in json.dumps(result)
    assert result["diff"]["after"]["values"] == "requested values (not shown), differing at: registry.password"
    assert len(liqo_env.liqoctl.mutating_calls()) == 1


def test_uninstall_runs_when_nothing_left(liqo_env):
    install_provider(liqo_env)
    liqo_env.add_foreign_cluster(liqo_env.provider, "mlops-consumer", role="Unknown", enabled=False)

    result = liqo_env.run(liqo_install, {"kubeconfig": KUBECONFIG, "state": "absent", "purge": True,
                                         "cluster_id": "verda-v100-1"}, diff=True)

    assert result["changed"] is True
    assert liqo_env.liqoctl.mutating_calls() == [
        ["uninstall", *ACCESS, "--timeout", "600s", "--skip-confirm", "--purge"]]
    assert liqo_env.liqoctl.argvs("info") == [["info", "-o", "json", *ACCESS]]
    assert result["diff"] == {"before": {"installed": True, "cluster_id": "verda-v100-1"},
                              "after": {"installed": False}}


def test_uninstall_not_installed_is_unchanged(liqo_env):
    result = liqo_env.run(liqo_install, {"kubeconfig": KUBECONFIG, "state": "absent"})

    assert result["changed"] is False
    assert result["installed"] is False
    assert liqo_env.liqoctl.mutating_calls() == []


def test_uninstall_check_mode_runs_nothing(liqo_env):
    install_provider(liqo_env)

    result = liqo_env.run(liqo_install, {"kubeconfig": KUBECONFIG, "state": "absent"}, check_mode=True)

    assert result["changed"] is True
    assert liqo_env.liqoctl.mutating_calls() == []


def test_uninstall_refuses_with_peering_and_offloading(liqo_env):
    install_provider(liqo_env)
    liqo_env.add_foreign_cluster(liqo_env.provider, "mlops-consumer", role="Consumer")
    liqo_env.add_offloading(liqo_env.provider, "batch-jobs")

    result = liqo_env.run(liqo_install, {"kubeconfig": KUBECONFIG, "state": "absent"})

    assert result["failed"] is True
    assert "offloaded namespaces batch-jobs (unoffload them with liqo_offload state=absent)" in result["msg"]
    assert "active peerings with mlops-consumer (unpeer them with liqo_peering state=absent" in result["msg"]
    assert "nothing was uninstalled" in result["msg"]
    assert result["active_peerings"] == ["mlops-consumer"]
    assert result["offloaded_namespaces"] == ["batch-jobs"]
    assert liqo_env.liqoctl.mutating_calls() == []


def test_uninstall_other_cluster_id_fails(liqo_env):
    install_provider(liqo_env)

    result = liqo_env.run(liqo_install, {"kubeconfig": KUBECONFIG, "state": "absent", "cluster_id": "other-gpu"})

    assert result["failed"] is True
    assert "runs Liqo with cluster ID verda-v100-1, not other-gpu; nothing was uninstalled" in result["msg"]
    assert liqo_env.liqoctl.mutating_calls() == []
