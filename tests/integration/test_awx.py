"""playbooks/awx_configure.yml against the AWX API double in tests/awx: check mode, a real run, a rerun.

The double keeps what the awx.awx modules create in memory and rejects what AWX would reject (unknown ids,
duplicate names, injectors naming undefined inputs, invalid surveys). It is not AWX: job templates are not
launched, and AWX's check that a playbook exists in the synced project is replaced here by
`test_job_templates_name_existing_playbooks`, which reads the repository's playbooks/ directory.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "awx"))

from awx_double import AwxDouble  # noqa: E402  (needs the path above)


class SettingsLoader(yaml.SafeLoader):
    """YAML loader that reads Ansible's `!unsafe` strings (the credential types' injector templates) as text."""


SettingsLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
PLAYBOOK = REPO / "playbooks" / "awx_configure.yml"
SETTINGS = yaml.load((REPO / "playbooks" / "vars" / "awx_configure.yml").read_text(), Loader=SettingsLoader)
JOB_TEMPLATES = {template["name"]: template for template in SETTINGS["awx_configure_job_templates"]}
# Placeholder secrets; the test asserts that none of them shows up in the playbook's output.
SECRETS = {
    "awx_configure_openstack_clouds_yaml_secret": "clouds:\n  openstack:\n    auth: {password: cloud-pw-7f3a}\n",
    "awx_configure_verda_client_id_secret": "verda-id-19c2",
    "awx_configure_verda_client_secret_secret": "verda-secret-55e0",
    "awx_configure_platform_kubeconfig_secret":
        "apiVersion: v1\nkind: Config\nusers: [{name: admin, user: {token: kube-tok-8d1b}}]\n",
}
WRITE_METHODS = {"POST", "PATCH", "DELETE"}


@pytest.fixture(scope="module")
def secrets_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("awx") / "secrets.yml"
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(SECRETS))
    return path


def configure(awx, secrets_file, *extra_args):
    """Run awx_configure.yml against the double; return its stats for localhost and its whole output."""
    env = {**os.environ, "CONTROLLER_HOST": awx.url, "CONTROLLER_OAUTH_TOKEN": awx.token,
           "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_NOCOLOR": "1"}
    completed = subprocess.run([str(ANSIBLE_PLAYBOOK), str(PLAYBOOK), "-e", "@" + str(secrets_file), *extra_args],
                               cwd=REPO, env=env, capture_output=True, text=True, check=False)
    output = completed.stdout + completed.stderr
    # With -v, ansible-playbook prints the config file it uses before the JSON document.
    document = completed.stdout[completed.stdout.find("{"):]
    try:
        stats = json.loads(document)["stats"]["localhost"]
    except (json.JSONDecodeError, KeyError):
        pytest.fail("ansible-playbook printed no JSON result:\n" + output[-4000:])
    assert completed.returncode == 0, output[-4000:]
    return {"changed": stats["changed"], "failures": stats["failures"], "output": output}


def writes(awx):
    return [request for request in awx.requests if request[0] in WRITE_METHODS]


@pytest.fixture(scope="module")
def runs(secrets_file):
    """Run the playbook four times against one double: check mode on an empty AWX, a real run, a rerun with
    -vvv, and check mode again. Yield the double and each run's result with the number of writes before it."""
    with AwxDouble() as awx:
        results = {}
        for name, extra_args in (("check_empty", ["--check"]), ("first", []), ("rerun", ["-vvv"]),
                                 ("check_again", ["--check"])):
            writes_before = len(writes(awx))
            results[name] = configure(awx, secrets_file, *extra_args)
            results[name]["writes"] = len(writes(awx)) - writes_before
        yield awx, results


def test_check_mode_on_empty_awx_writes_nothing(runs):
    results = runs[1]
    check = results["check_empty"]

    assert check["failures"] == 0
    assert check["changed"] > 0
    assert check["writes"] == 0
    assert "would be created or changed" in check["output"]


def test_configure_creates_every_object(runs):
    awx, results = runs

    assert results["first"]["changed"] > 0
    assert awx.find("projects", SETTINGS["awx_configure_project_name"]) is not None
    assert awx.find("execution_environments", SETTINGS["awx_configure_execution_environment_name"]) is not None
    for credential_type in SETTINGS["awx_configure_credential_types"]:
        assert awx.find("credential_types", credential_type["name"]) is not None
    for credential in SETTINGS["awx_configure_credentials"]:
        assert awx.find("credentials", credential["name"]) is not None
    for inventory in SETTINGS["awx_configure_inventories"]:
        assert awx.find("inventories", inventory["name"]) is not None
        assert awx.find("inventory_sources", inventory["name"] + " from the project") is not None
    for name in JOB_TEMPLATES:
        assert awx.find("job_templates", name) is not None
    assert awx.find("schedules", SETTINGS["awx_configure_autoscale_schedule"]["name"]) is not None


def test_rerun_and_check_mode_report_no_change(runs):
    results = runs[1]

    assert results["rerun"]["changed"] == 0
    assert results["rerun"]["writes"] == 0
    assert results["check_again"]["changed"] == 0
    assert results["check_again"]["writes"] == 0


def test_credentials_inject_files_and_environment(runs):
    awx = runs[0]

    for credential_type in SETTINGS["awx_configure_credential_types"]:
        stored = awx.find("credential_types", credential_type["name"])
        assert stored["injectors"].get("env"), credential_type["name"]
        assert "extra_vars" not in stored["injectors"], credential_type["name"]
    kubeconfig_type = awx.find("credential_types", "OSS MLOps kubeconfig")
    assert kubeconfig_type["injectors"]["env"]["K8S_AUTH_KUBECONFIG"] == "{{ tower.filename.kubeconfig }}"
    kubeconfig = awx.find("credentials", "OSS MLOps platform kubeconfig")
    assert kubeconfig["inputs"]["kubeconfig"] == "$encrypted$"


def test_secrets_stay_out_of_output(runs):
    results = runs[1]

    for run in results.values():
        for value in ("cloud-pw-7f3a", "verda-id-19c2", "verda-secret-55e0", "kube-tok-8d1b"):
            assert value not in run["output"]


def test_job_templates_get_credentials_and_surveys(runs):
    awx = runs[0]

    for name, template in JOB_TEMPLATES.items():
        stored = awx.find("job_templates", name)
        credentials = awx.associated_names("job_templates", stored["id"], "credentials", "credentials")
        assert credentials == sorted(template["credentials"]), name
        survey = awx.state.surveys[stored["id"]]
        assert [question["variable"] for question in survey["spec"]] == [q["variable"] for q in template["survey"]]
        assert stored["survey_enabled"] is True, name
    unjoin = awx.find("job_templates", "OSS MLOps unjoin")
    assert json.loads(unjoin["extra_vars"]) == {"unjoin_skip_confirmation": True}


def test_schedule_runs_autoscale(runs):
    awx = runs[0]

    schedule = awx.find("schedules", SETTINGS["awx_configure_autoscale_schedule"]["name"])
    autoscale = awx.find("job_templates", "OSS MLOps autoscale")
    assert schedule["unified_job_template"] == autoscale["id"]
    assert "FREQ=MINUTELY" in schedule["rrule"]


@pytest.mark.parametrize("name", sorted(JOB_TEMPLATES))
def test_job_templates_name_existing_playbooks(name):
    playbook = JOB_TEMPLATES[name]["playbook"]

    assert (REPO / playbook).is_file(), f"job template {name} runs {playbook}, which is not in the repository"


@pytest.mark.parametrize("name", sorted(JOB_TEMPLATES))
def test_survey_variables_are_in_argument_spec(name):
    template = JOB_TEMPLATES[name]
    spec_name = Path(template["playbook"]).stem
    spec = yaml.safe_load((REPO / "playbooks" / "vars" / f"{spec_name}_argument_spec.yml").read_text())
    options = spec["argument_specs"][spec_name]["options"]

    for question in template["survey"]:
        assert question["variable"] in options, f"{name}: {question['variable']}"
        if question["type"] == "multiplechoice" and "choices" in options[question["variable"]]:
            assert set(question["choices"]) <= set(options[question["variable"]]["choices"])


def test_wrong_token_rejected(secrets_file):
    with AwxDouble() as awx:
        env = {**os.environ, "CONTROLLER_HOST": awx.url, "CONTROLLER_OAUTH_TOKEN": "wrong"}
        completed = subprocess.run([str(ANSIBLE_PLAYBOOK), str(PLAYBOOK), "-e", "@" + str(secrets_file)],
                                   cwd=REPO, env=env, capture_output=True, text=True, check=False)

    assert completed.returncode != 0
    assert "Invalid authentication credentials" in completed.stdout


def test_join_rejects_invalid_survey_answer():
    # The check is the play's first task and runs on the controller, so no lab is needed to reach it.
    completed = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), str(REPO / "playbooks" / "join.yml"), "-e", "liqo_preflight_allocation_backend=etcd"],
        cwd=REPO, capture_output=True, text=True, check=False)

    assert completed.returncode != 0
    assert "Check the extra variables against playbooks/vars/join_argument_spec.yml" in completed.stdout
    assert "liqo_preflight_allocation_backend must be one of: sqlite, kubernetes, got: etcd" in completed.stdout
    assert "Check the consumer and providers" in completed.stdout
    assert "TASK [oss_mlops.multicloud.liqo_preflight" not in completed.stdout
