# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate the autoscaler's policy and flavor catalogue before any decision is made.

Plain Python with no Ansible imports, shared by the autoscale_plan module and the simulator under
benchmarks/autoscale. Durations are seconds internally; inputs accept seconds or a number with a unit
(30s, 10m, 1h). CPU and memory accept Kubernetes quantities (500m, 32Gi).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.quantity import parse_quantity

DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

# Defaults, in seconds. The warm idle time keeps a provider over a typical gap between pipeline runs; the
# short one returns surplus providers soon after their last pod. The backoff uses the Cluster Autoscaler's
# default node group backoff: 5 minutes doubling up to 30 minutes, reset after 3 hours.
DEFAULT_POLICY = {
    "min_providers": 0,
    "max_providers": 10,
    "max_spend_per_hour": None,
    "warm_pool": 1,
    "warm_idle_time": "60m",
    "idle_time": "10m",
    "billing_aware": True,
    "release_margin": "2m",
    "batching_window": "30s",
    "backoff_initial": "5m",
    "backoff_max": "30m",
    "backoff_reset": "3h",
}
DURATION_KEYS = ("warm_idle_time", "idle_time", "release_margin", "batching_window", "backoff_initial",
                 "backoff_max", "backoff_reset")
COUNT_KEYS = ("min_providers", "max_providers", "warm_pool")


class PolicyError(ValueError):
    """Invalid policy or catalogue input; the message names the value and what to change."""


def parse_duration(value, name):
    """Return a duration in seconds from a number of seconds or a string such as 90s, 10m or 1h."""
    if isinstance(value, bool):
        raise PolicyError(f"{name}: {value!r} is not a duration; give seconds or a number with s, m, h or d.")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = DURATION.match(str(value))
        if not match:
            raise PolicyError(f"{name}: {value!r} is not a duration; give seconds or a number with s, m, h or d, "
                              "such as 90s, 10m or 1h.")
        seconds = float(match.group(1)) * DURATION_UNITS[match.group(2)]
    if seconds < 0:
        raise PolicyError(f"{name}: {value!r} is negative; durations must be 0 or more.")
    return seconds


@dataclass(frozen=True)
class Flavor:
    """One VM type a cloud rents: what a provider of this flavor offers the consumer, and what it costs."""

    cloud: str
    name: str
    cpu: float
    memory: float
    gpu: int
    gpu_model: str | None
    price_per_hour: float
    billing_increment: float
    boot_time: float

    @property
    def key(self):
        return (self.cloud, self.name)

    def describe(self):
        return f"{self.cloud}/{self.name}"

    def capacity(self):
        return (self.gpu, self.cpu, self.memory)


@dataclass(frozen=True)
class Policy:
    """Limits and timers of the autoscaler, every duration in seconds."""

    min_providers: int
    max_providers: int
    max_spend_per_hour: float | None
    warm_pool: int
    warm_idle_time: float
    idle_time: float
    billing_aware: bool
    release_margin: float
    batching_window: float
    backoff_initial: float
    backoff_max: float
    backoff_reset: float
    flavors: tuple = field(default=())

    def flavor(self, cloud, name):
        for flavor in self.flavors:
            if flavor.cloud == cloud and flavor.name == name:
                return flavor
        return None

    def with_changes(self, **changes):
        return replace(self, **changes)


def parse_count(value, name):
    if isinstance(value, bool) or value is None:
        raise PolicyError(f"{name}: {value!r} is not a whole number.")
    try:
        number = int(str(value).strip())
    except ValueError as error:
        raise PolicyError(f"{name}: {value!r} is not a whole number.") from error
    if number < 0:
        raise PolicyError(f"{name}: {value!r} is negative; give 0 or more.")
    return number


def parse_price(value, name):
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        raise PolicyError(f"{name} is missing; every flavor needs its price per hour (0 for a free one).")
    try:
        price = float(value)
    except (TypeError, ValueError) as error:
        raise PolicyError(f"{name}: {value!r} is not a number.") from error
    if price < 0:
        raise PolicyError(f"{name}: {value!r} is negative.")
    return price


def parse_resource(value, name, default=None):
    if value is None:
        if default is None:
            raise PolicyError(f"{name} is missing.")
        return default
    try:
        amount = float(parse_quantity(value))
    except ValueError as error:
        raise PolicyError(f"{name}: {error}") from error
    if amount < 0:
        raise PolicyError(f"{name}: {value!r} is negative.")
    return amount


def build_flavor(entry, index):
    """Return a Flavor from one catalogue entry; raise PolicyError naming the entry when a field is invalid."""
    if not isinstance(entry, dict):
        raise PolicyError(f"flavors[{index}] is not a dict with cloud, name, cpu, memory and price_per_hour.")
    cloud = str(entry.get("cloud") or "").strip()
    name = str(entry.get("name") or "").strip()
    if not cloud or not name:
        raise PolicyError(f"flavors[{index}] needs both cloud and name.")
    label = f"flavor {cloud}/{name}"
    gpu = parse_count(entry.get("gpu", 0) or 0, f"{label}: gpu")
    return Flavor(
        cloud=cloud,
        name=name,
        cpu=parse_resource(entry.get("cpu"), f"{label}: cpu"),
        memory=parse_resource(entry.get("memory"), f"{label}: memory"),
        gpu=gpu,
        gpu_model=(str(entry["gpu_model"]) if entry.get("gpu_model") else None),
        price_per_hour=parse_price(entry.get("price_per_hour"), f"{label}: price_per_hour"),
        billing_increment=parse_duration(entry.get("billing_increment", "1h"), f"{label}: billing_increment"),
        boot_time=parse_duration(entry.get("boot_time", "10m"), f"{label}: boot_time"),
    )


def build_flavors(entries):
    flavors = []
    seen = set()
    for index, entry in enumerate(entries or []):
        flavor = build_flavor(entry, index)
        if flavor.key in seen:
            raise PolicyError(f"flavor {flavor.describe()} is listed twice; keep one entry per cloud and name.")
        seen.add(flavor.key)
        flavors.append(flavor)
    return tuple(flavors)


def merge_settings(options, overrides):
    """Return policy settings: DEFAULT_POLICY, then the options that are set, then the overrides that are set."""
    settings = dict(DEFAULT_POLICY)
    settings.update({key: value for key, value in (options or {}).items() if value is not None})
    # Every override key is kept, so that build_policy rejects a misspelt key instead of ignoring it.
    settings.update({key: value for key, value in (overrides or {}).items() if value is not None})
    return settings


def build_policy(settings, flavor_entries):
    """Return a validated Policy; raise PolicyError for the first invalid or contradictory value."""
    unknown = sorted(set(settings) - set(DEFAULT_POLICY))
    if unknown:
        raise PolicyError(f"Unknown policy settings {', '.join(unknown)}; valid ones are "
                          f"{', '.join(sorted(DEFAULT_POLICY))}.")
    values = {key: parse_count(settings[key], key) for key in COUNT_KEYS}
    values.update({key: parse_duration(settings[key], key) for key in DURATION_KEYS})
    if values["max_providers"] < values["min_providers"]:
        raise PolicyError(f"max_providers ({values['max_providers']}) is below min_providers "
                          f"({values['min_providers']}); raise max_providers or lower min_providers.")
    if values["backoff_max"] < values["backoff_initial"]:
        raise PolicyError(f"backoff_max ({settings['backoff_max']}) is below backoff_initial "
                          f"({settings['backoff_initial']}).")
    spend = settings["max_spend_per_hour"]
    values["max_spend_per_hour"] = None if spend in (None, "") else parse_price(spend, "max_spend_per_hour")
    values["billing_aware"] = parse_bool(settings["billing_aware"], "billing_aware")
    flavors = build_flavors(flavor_entries)
    if not flavors:
        raise PolicyError("flavors is empty; list at least one flavor with cloud, name, cpu, memory, gpu and "
                          "price_per_hour.")
    return Policy(flavors=flavors, **values)


def parse_bool(value, name):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise PolicyError(f"{name}: {value!r} is not a boolean (true or false).")


def policy_summary(policy):
    """Return the effective policy as plain values for the module result."""
    summary = {key: getattr(policy, key) for key in DEFAULT_POLICY}
    summary["flavors"] = [flavor_summary(flavor) for flavor in policy.flavors]
    return summary


def flavor_summary(flavor):
    return {
        "cloud": flavor.cloud,
        "name": flavor.name,
        "cpu": flavor.cpu,
        "memory": flavor.memory,
        "gpu": flavor.gpu,
        "gpu_model": flavor.gpu_model,
        "price_per_hour": flavor.price_per_hour,
        "billing_increment": flavor.billing_increment,
        "boot_time": flavor.boot_time,
    }
