"""Every role's meta/argument_specs.yml must describe exactly the variables its defaults/main.yml sets."""

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if (path / "meta" / "argument_specs.yml").is_file())


def load_yaml(path: Path) -> dict:
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def role_defaults(role: str) -> dict:
    return load_yaml(ROLES_DIR / role / "defaults" / "main.yml")


def role_options(role: str) -> dict:
    """Return the options of all entry points together; an option in two entry points must read the same."""
    specs = load_yaml(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]
    options: dict = {}
    for entry_point, spec in specs.items():
        for name, option in (spec.get("options") or {}).items():
            if name in options and options[name].get("default") != option.get("default"):
                raise AssertionError(f"{role}: option {name} of entry point {entry_point} has another default")
            options.setdefault(name, option)
    return options


def test_every_role_has_specs():
    roles_without_specs = [
        path.name for path in ROLES_DIR.iterdir()
        if path.is_dir() and not (path / "meta" / "argument_specs.yml").is_file()
    ]
    assert roles_without_specs == []


@pytest.mark.parametrize("role", ROLES)
def test_defaults_are_all_specified(role):
    missing = sorted(set(role_defaults(role)) - set(role_options(role)))
    assert missing == [], f"{role}: defaults/main.yml sets variables argument_specs.yml does not list"


@pytest.mark.parametrize("role", ROLES)
def test_specified_defaults_are_in_defaults(role):
    defaults = role_defaults(role)
    specified = {name for name, option in role_options(role).items() if "default" in option}
    missing = sorted(specified - set(defaults))
    assert missing == [], f"{role}: argument_specs.yml gives defaults that defaults/main.yml does not set"


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_match_defaults(role):
    defaults = role_defaults(role)
    options = role_options(role)
    # NOTE: liqo_peer and liqo_verify keep an empty placeholder in defaults/main.yml for a required option.
    # The placeholder satisfies the required check, so it is allowed here only when it is empty.
    different = {
        name: (options[name].get("default"), value)
        for name, value in defaults.items()
        if name in options and options[name].get("default") != value
        and not (options[name].get("required") and value in ("", None))
    }
    assert different == {}, f"{role}: (argument_specs default, defaults/main.yml value) differ"


@pytest.mark.parametrize("role", ROLES)
def test_options_without_default_are_required(role):
    options = role_options(role)
    loose = sorted(
        name for name, option in options.items()
        if "default" not in option and not option.get("required") and name not in role_defaults(role)
    )
    assert loose == [], f"{role}: options with neither a default nor required: true"


@pytest.mark.parametrize("role", ROLES)
def test_variables_carry_role_prefix(role):
    unprefixed = sorted(name for name in role_options(role) if not name.startswith(role + "_"))
    assert unprefixed == [], f"{role}: variables without the prefix {role}_"
