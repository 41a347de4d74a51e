"""provision.yml and decommission.yml on OpenStack, against the loopback OpenStack double.

The double (tests/clouds/openstack_double.py) runs in this process on 127.0.0.1 with an ephemeral port;
ansible-playbook runs as a subprocess and reaches it through openstack.cloud and openstacksdk. The password
reaches the SDK only through a clouds.yaml of mode 0600 in the test's temporary directory
(OS_CLIENT_CONFIG_FILE); the inventory names the clouds.yaml entry only. The join step is skipped
(provision_join: false) because joining needs a real VM.
"""

import json
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "clouds"))

from openstack_double import FLOATING_NETWORK, IMAGE_NAME, PROJECT_NETWORK, OpenStackDouble  # noqa: E402
from playbook_runner import PlaybookRunner, failure_messages  # noqa: E402

USERNAME = "integration-user"
PASSWORD = "integration-password-do-not-log"
CLOUD_NAME = "double"
USER_DATA = "#cloud-config\nhostname_from_test: true\n"
GATEWAY_PORT = 51840
KEYS = ["pouta-gpu-1", "pouta-cpu-1"]
REQUESTS = {
    "pouta-gpu-1": {"provision_flavor": "gpu.1.1gpu", "provision_flavor_class": "gpu"},
    "pouta-cpu-1": {"provision_flavor": "standard.large", "provision_flavor_class": "cpu"},
}


@pytest.fixture
def cloud():
    with OpenStackDouble(USERNAME, PASSWORD) as double:
        yield double


class Runner(PlaybookRunner):
    """Runner of the playbooks against the OpenStack double, with a clouds.yaml for it."""

    def __init__(self, tmp_path, cloud):
        super().__init__(tmp_path, PASSWORD)
        self.clouds_yaml = tmp_path / "openstack" / "clouds.yaml"
        self.write_clouds_yaml(cloud)
        self.write_inventory({})

    def write_clouds_yaml(self, cloud):
        auth = {"auth_url": cloud.base_url + "/identity/v3", "username": USERNAME, "password": PASSWORD,
                "project_name": cloud.project_name, "user_domain_name": "Default",
                "project_domain_name": "Default"}
        self.clouds_yaml.parent.mkdir(mode=0o700)
        self.clouds_yaml.touch(mode=0o600)
        self.clouds_yaml.write_text(yaml.safe_dump({"clouds": {CLOUD_NAME: {
            "auth": auth, "auth_type": "password", "region_name": "regionOne", "identity_api_version": 3}}}))

    def write_inventory(self, extra_vars):
        common = {"provision_cloud": "openstack", "provision_image": IMAGE_NAME, "provision_user_data": USER_DATA,
                  "provider_vm_openstack_cloud": CLOUD_NAME, "provider_vm_openstack_network": PROJECT_NETWORK,
                  "provider_vm_openstack_floating_network": FLOATING_NETWORK,
                  "provider_vm_openstack_boot_volume_size": 20}
        self.write_requests({key: {**common, **REQUESTS[key], **extra_vars} for key in KEYS})

    def cloud_environment(self):
        return {"OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml)}

    def decommission(self):
        return self.run("decommission.yml", "-e", json.dumps({"decommission_providers": KEYS}))


@pytest.fixture
def runner(tmp_path, cloud):
    return Runner(tmp_path, cloud)


def stats(output):
    return output["stats"]


def report_of(output):
    """Return the differences reconcile.yml printed."""
    tasks = [task["hosts"]["localhost"] for task in output["plays"][0]["tasks"]
             if task["task"]["name"] == "Report the differences"]
    return tasks[0]["msg"]


def nothing_billed(cloud, keep_floating_ips=()):
    return cloud.billed_resources(keep_floating_ips) == {
        "servers": [], "ports": [], "floating_ips": [], "volumes": [], "security_groups": []}


def ingress_rules(cloud, group_name):
    group_id = cloud.security_group_id(group_name)
    return sorted((rule["protocol"], rule["port_range_min"], rule["port_range_max"], rule["remote_ip_prefix"])
                  for rule in cloud.security_group_rules.values()
                  if rule["security_group_id"] == group_id and rule["direction"] == "ingress")


def servers_by_name(cloud):
    return {server["name"]: server for server in cloud.servers.values()}


def floating_ips_by_server(cloud):
    """Return {server name: [floating IP addresses of its ports]}."""
    result = {}
    for server in cloud.servers.values():
        port_ids = {port["id"] for port in cloud.ports.values() if port["device_id"] == server["id"]}
        result[server["name"]] = sorted(item["floating_ip_address"] for item in cloud.floating_ips.values()
                                        if item["port_id"] in port_ids)
    return result


def test_openstack_rent_and_return(runner, cloud):
    leftover_ip = cloud.add_free_floating_ip()

    first = runner.run("provision.yml")
    second = runner.run("provision.yml")

    assert runner.clouds_yaml.stat().st_mode & 0o777 == 0o600
    assert failure_messages(first) == {}
    assert all(stats(first)[key]["changed"] > 0 for key in KEYS)
    assert all(stats(second)[key]["changed"] == 0 for key in KEYS)
    allocated = runner.allocated()
    assert sorted(allocated) == sorted(KEYS)
    servers = servers_by_name(cloud)
    assert sorted(servers) == sorted(allocated.values())
    for key, name in allocated.items():
        server = servers[name]
        assert server["status"] == "ACTIVE"
        assert server["metadata"]["oss-mlops-managed"] == "true"
        assert server["metadata"]["oss-mlops-allocation-key"] == key
        assert server["metadata"]["oss-mlops-created-at"].endswith("Z")
        assert server["security_groups"] == [{"name": name}]
        assert ingress_rules(cloud, name) == [("tcp", 6443, 6443, "0.0.0.0/0"),
                                              ("udp", GATEWAY_PORT, GATEWAY_PORT, "0.0.0.0/0")]
        boot_volumes = [cloud.volumes[volume_id] for volume_id in server["_volume_ids"]]
        assert [volume["_delete_on_termination"] for volume in boot_volumes] == [True]
    addresses = floating_ips_by_server(cloud)
    assert all(len(addresses[name]) == 1 for name in servers)
    assert len({addresses[name][0] for name in servers}) == len(servers)
    assert leftover_ip not in {addresses[name][0] for name in servers}
    labels = {item["floating_ip_address"]: item["description"] for item in cloud.floating_ips.values()}
    assert all(labels[addresses[name][0]] == f"oss-mlops-managed {name}" for name in servers)

    removed = runner.decommission()
    removed_again = runner.decommission()

    assert failure_messages(removed) == {}
    assert nothing_billed(cloud, keep_floating_ips={leftover_ip})
    assert leftover_ip in cloud.billed_resources()["floating_ips"]
    assert runner.allocated() == {}
    assert failure_messages(removed_again) == {}
    assert all(stats(removed_again)[key]["changed"] == 0 for key in KEYS)


def test_openstack_check_mode_changes_nothing(runner, cloud):
    output = runner.run("provision.yml", check=True)

    assert failure_messages(output) == {}
    assert nothing_billed(cloud)
    assert runner.allocated() == {}


FAULTS = [
    # (fault, seconds to wait for the server, words the failure message must contain)
    ("quota_exceeded", 900, "Quota exceeded for instances"),
    ("no_valid_host", 900, "No valid host was found"),
    ("stuck_build", 5, "Timeout waiting for the server to come up"),
    ("floating_ip_error", 900, "internal server error"),
    ("floating_ip_quota_exceeded", 900, "Quota exceeded for resources: ['floatingip']"),
]


@pytest.mark.parametrize(("fault", "timeout", "words"), FAULTS, ids=[fault[0] for fault in FAULTS])
def test_openstack_fault_leaves_nothing(runner, cloud, fault, timeout, words):
    cloud.faults.add(fault)

    output = runner.run("provision.yml", "-e", f"provider_vm_wait_timeout={timeout}")

    messages = failure_messages(output)
    assert sorted(messages) == sorted(KEYS)
    for key in KEYS:
        final = messages[key][-1]
        assert f"Provisioning {key} on openstack failed" in final
        assert words.lower() in final.lower()
        assert "allocation of " + key + " was released" in final
    assert nothing_billed(cloud)
    assert runner.allocated() == {}


def test_openstack_decommission_of_server_already_gone(runner, cloud):
    runner.run("provision.yml")
    cloud.faults.add("server_gone_on_delete")

    output = runner.decommission()

    assert failure_messages(output) == {}
    assert nothing_billed(cloud)
    assert runner.allocated() == {}


def test_openstack_keep_failed_is_reported_by_reconcile(runner, cloud):
    cloud.faults.add("stuck_build")
    runner.write_inventory({"provision_keep_failed": True})
    output = runner.run("provision.yml", "-e", "provider_vm_wait_timeout=5")
    cloud.faults.discard("stuck_build")

    assert sorted(failure_messages(output)) == sorted(KEYS)
    kept = servers_by_name(cloud)
    assert len(kept) == len(KEYS)
    assert all(server["metadata"]["oss-mlops-failed"].endswith("Z") for server in kept.values())
    assert runner.allocated() == {}

    report = runner.run("reconcile.yml", "-e", json.dumps({"reconcile_clouds": ["openstack"],
                                                           "reconcile_openstack_cloud": CLOUD_NAME}))
    assert failure_messages(report) == {}
    assert sorted(report_of(report)["vms_in_quarantine"]) == sorted(kept)


def test_openstack_decommission_after_console_delete(runner, cloud):
    runner.run("provision.yml")
    names = sorted(runner.allocated().values())
    for name in names:
        cloud.delete_server_out_of_band(name)
    leaked = cloud.billed_resources()["floating_ips"]
    assert len(leaked) == len(KEYS)

    report = runner.run("reconcile.yml", "-e", json.dumps({"reconcile_clouds": ["openstack"],
                                                           "reconcile_openstack_cloud": CLOUD_NAME}))
    output = runner.decommission()

    differences = report_of(report)
    assert sorted(differences["floating_ips_without_server"]) == leaked

    assert failure_messages(output) == {}
    assert nothing_billed(cloud)
    assert runner.allocated() == {}
