# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide whether to rent providers for pending pods, return idle ones, or do nothing.

Plain Python with no Ansible imports: the autoscale_plan module and the simulator under benchmarks/autoscale
call decide() with the same inputs, so the benchmark measures the code that runs in production. Times are
seconds since the epoch; every decision carries the reasons behind it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale_packing import (
    Bin,
    cheapest_packing,
    flavor_accepts,
)


@dataclass(frozen=True)
class Provider:
    """A joined or joining provider, seen through its virtual node on the consumer."""

    name: str
    node: str
    flavor: object = None
    ready: bool = True
    busy: bool = False
    idle_since: float | None = None
    billing_start: float | None = None
    scale_down_disabled: bool = False
    # Time the last pod on the virtual node finished. A pod that ran and finished between two runs moves the
    # idle mark forward.
    last_finished: float | None = None


@dataclass(frozen=True)
class InFlight:
    """Providers of one flavor being created or joined that have no virtual node yet."""

    flavor: object
    count: int = 1


@dataclass(frozen=True)
class Failure:
    """The latest failure to provision a flavor, and how many failed in a row."""

    cloud: str
    flavor: str
    failed_at: float
    count: int = 1


def backoff_until(policy, failure):
    """Return when a flavor may be tried again: backoff_initial doubled per failure in a row, capped at backoff_max."""
    delay = min(policy.backoff_initial * 2 ** max(failure.count - 1, 0), policy.backoff_max)
    return failure.failed_at + delay


def flavors_in_backoff(policy, failures, now):
    """Return {(cloud, flavor): until} for the flavors whose backoff after a failure has not ended."""
    blocked = {}
    for failure in failures:
        if now - failure.failed_at >= policy.backoff_reset:
            continue
        until = backoff_until(policy, failure)
        if now < until:
            key = (failure.cloud, failure.flavor)
            blocked[key] = max(until, blocked.get(key, until))
    return blocked


def idle_times(policy, idle_providers):
    """Return {provider name: idle time}: the warm_pool most recently idle keep warm_idle_time, the rest idle_time.

    Ranking by most recent activity keeps the providers that served the last pods warm, as GitLab Runner's
    IdleCount keeps its first idle machines and reaps the surplus after IdleTime.
    """
    ranked = sorted(idle_providers, key=lambda provider: (-provider.idle_since, provider.name))
    return {provider.name: (policy.warm_idle_time if rank < policy.warm_pool else policy.idle_time)
            for rank, provider in enumerate(ranked)}


def next_billing_boundary(flavor, billing_start, now):
    """Return the start of the next billed increment after now, or None when billing is continuous."""
    increment = flavor.billing_increment
    if not increment or billing_start is None:
        return None
    elapsed = max(now - billing_start, 0.0)
    return billing_start + (math.floor(elapsed / increment) + 1) * increment


def release_decision(policy, provider, idle_time, now):
    """Return (release now?, release_at, reasons) for an idle provider.

    With billing_aware, a provider whose idle time has passed stays until release_margin before its paid
    increment ends, because each started increment is billed in full and the rest of this one costs nothing.
    """
    idle_for = now - provider.idle_since
    deadline = provider.idle_since + idle_time
    reasons = [f"idle for {idle_for / 60:.1f} min since {provider.idle_since:.0f}; its idle time is "
               f"{idle_time / 60:.1f} min"]
    if now < deadline:
        reasons.append("kept: idle time not reached")
        return False, deadline, reasons
    boundary = next_billing_boundary(provider.flavor, provider.billing_start, now) if policy.billing_aware else None
    if boundary is None:
        reasons.append("idle time reached")
        return True, now, reasons
    if boundary - now <= policy.release_margin:
        reasons.append(f"idle time reached and the next billed increment starts in {(boundary - now) / 60:.1f} min")
        return True, now, reasons
    release_at = boundary - policy.release_margin
    reasons.append(f"kept: the current billed increment is paid until {boundary:.0f}; release at {release_at:.0f}")
    return False, release_at, reasons


def pack_in_flight(pods, providers, in_flight):
    """Place pods on capacity that exists or is coming; return (pods still uncovered, those bins).

    That capacity is the providers being provisioned, the virtual nodes not Ready yet, and the Ready providers
    that run no pod. A provider that just became Ready may not have received the pending pods yet, and renting
    again for them is the double scale-up the Cluster Autoscaler guards against by simulating the scheduler
    on existing nodes first.
    """
    bins = [Bin.empty(entry.flavor, source="in flight") for entry in in_flight for _copy in range(entry.count)]
    bins += [Bin.empty(provider.flavor, source=f"joining {provider.node}")
             for provider in providers if not provider.ready and provider.flavor is not None]
    bins += [Bin.empty(provider.flavor, source=f"idle {provider.node}")
             for provider in providers if provider.ready and not provider.busy and provider.flavor is not None]
    uncovered = []
    for pod in sorted(pods, key=lambda item: (-item.gpu, -item.cpu, -item.memory, item.created_at, item.key)):
        target = next((candidate for candidate in bins if candidate.count_fitting(pod, 1)), None)
        if target is None:
            uncovered.append(pod)
        else:
            target.place([pod])
    return uncovered, bins


class Planner:
    """One planning pass over the pending pods and providers at time now."""

    def __init__(self, policy, pods, providers, *, in_flight=(), failures=(), now=0.0):
        self.policy = policy
        self.pods = list(pods)
        self.providers = list(providers)
        self.in_flight = [entry for entry in in_flight if entry.count > 0]
        self.failures = list(failures)
        self.now = now
        self.reasons = []
        self._usable = None

    def run(self):
        """Return the plan: scale_up and scale_down entries, idle marks and clears, and the reasons."""
        idle_marks, idle_clears = self.track_idle()
        scale_up = self.plan_scale_up()
        scale_down = self.plan_scale_down(len(scale_up))
        if not scale_up and not scale_down["released"]:
            self.reasons.append("nothing to do")
        return {
            "scale_up": scale_up,
            "scale_down": scale_down["released"],
            "kept_idle": scale_down["kept"],
            "idle_marks": idle_marks,
            "idle_clears": idle_clears,
            "reasons": self.reasons,
        }

    # Idle tracking.

    def track_idle(self):
        """Return (providers to mark idle since now, providers whose idle mark must go) and update the view."""
        marks, clears, updated = [], [], []
        for provider in self.providers:
            seen = provider
            if provider.ready and not provider.busy and provider.idle_since is None:
                marks.append({"provider": provider.name, "node": provider.node, "idle_since": self.now})
                seen = replace(provider, idle_since=self.now)
            elif (provider.ready and not provider.busy and provider.idle_since is not None
                  and provider.last_finished is not None and provider.last_finished > provider.idle_since):
                since = min(provider.last_finished, self.now)
                marks.append({"provider": provider.name, "node": provider.node, "idle_since": since})
                seen = replace(provider, idle_since=since)
            elif provider.busy and provider.idle_since is not None:
                clears.append({"provider": provider.name, "node": provider.node})
                seen = replace(provider, idle_since=None)
            updated.append(seen)
        self.providers = updated
        return marks, clears

    # Scale-up.

    def demand(self):
        """Return the pods old enough to act on; younger ones wait for the batching window to close."""
        cutoff = self.now - self.policy.batching_window
        ready = [pod for pod in self.pods if pod.created_at <= cutoff]
        young = len(self.pods) - len(ready)
        if young:
            self.reasons.append(f"{young} pending pod(s) younger than the batching window of "
                                f"{self.policy.batching_window:.0f}s wait for the next run")
        return ready

    def usable_flavors(self):
        if self._usable is None:
            self._usable = self.find_usable_flavors()
        return self._usable

    def find_usable_flavors(self):
        blocked = flavors_in_backoff(self.policy, self.failures, self.now)
        usable = []
        for flavor in self.policy.flavors:
            until = blocked.get(flavor.key)
            if until is None:
                usable.append(flavor)
            else:
                self.reasons.append(f"flavor {flavor.describe()} is in backoff after failed provisioning until "
                                    f"{until:.0f} ({(until - self.now) / 60:.1f} min)")
        return usable

    def plan_scale_up(self):
        pods = self.demand()
        if pods:
            pods, joining = pack_in_flight(pods, self.providers, self.in_flight)
            covered = sum(len(target.pods) for target in joining)
            if covered:
                self.reasons.append(f"{covered} pending pod(s) fit on capacity being provisioned or joined, or on "
                                    "idle providers")
        bins = []
        if pods:
            bins = self.pack(pods)
        bins = self.apply_limits(bins)
        bins += self.fill_to_minimum(len(bins))
        return [self.scale_up_entry(index, target) for index, target in enumerate(bins)]

    def pack(self, pods):
        flavors = self.usable_flavors()
        fitting_any = []
        for pod in pods:
            if any(flavor_accepts(flavor, pod) for flavor in self.policy.flavors):
                fitting_any.append(pod)
            else:
                self.reasons.append(f"pod {pod.key} requests {describe_request(pod)}, which no flavor offers; "
                                    "add a flavor that fits it or change its requests")
        if not fitting_any:
            return []
        bins, unplaced, label, comparison = cheapest_packing(fitting_any, flavors)
        for pod in unplaced:
            self.reasons.append(f"pod {pod.key} fits only flavors in backoff; it stays pending")
        if bins:
            self.reasons.append(f"{sum(len(target.pods) for target in bins)} pending pod(s) need "
                                f"{len(bins)} new provider(s); chose {label} (compared {'; '.join(comparison)})")
        return bins

    def current_count_and_spend(self):
        count = len(self.providers) + sum(entry.count for entry in self.in_flight)
        spend = sum(provider.flavor.price_per_hour for provider in self.providers if provider.flavor is not None)
        spend += sum(entry.flavor.price_per_hour * entry.count for entry in self.in_flight)
        return count, spend

    def apply_limits(self, bins):
        """Drop new providers from the end of the list until max_providers and max_spend_per_hour hold."""
        count, spend = self.current_count_and_spend()
        kept = []
        for target in bins:
            price = target.flavor.price_per_hour
            if count + len(kept) + 1 > self.policy.max_providers:
                self.reasons.append(f"not renting {target.flavor.describe()} for {len(target.pods)} pod(s): "
                                    f"max_providers {self.policy.max_providers} reached")
                continue
            limit = self.policy.max_spend_per_hour
            if limit is not None and spend + price > limit + 1e-9:
                self.reasons.append(f"not renting {target.flavor.describe()} for {len(target.pods)} pod(s): spend "
                                    f"would be {spend + price:.2f}/h, above max_spend_per_hour {limit:.2f}")
                continue
            kept.append(target)
            spend += price
        return kept

    def fill_to_minimum(self, planned):
        count, spend = self.current_count_and_spend()
        missing = self.policy.min_providers - count - planned
        if missing <= 0:
            return []
        flavors = sorted(self.usable_flavors(), key=lambda flavor: (flavor.price_per_hour, flavor.describe()))
        if not flavors:
            return []
        cheapest = flavors[0]
        bins = []
        for _provider in range(missing):
            limit = self.policy.max_spend_per_hour
            if limit is not None and spend + cheapest.price_per_hour > limit + 1e-9:
                self.reasons.append(f"below min_providers {self.policy.min_providers}, but max_spend_per_hour "
                                    f"{limit:.2f} leaves no room for {cheapest.describe()}")
                break
            bins.append(Bin.empty(cheapest, source="minimum"))
            spend += cheapest.price_per_hour
        if bins:
            self.reasons.append(f"{count + planned} provider(s) is below min_providers {self.policy.min_providers}; "
                                f"adding {len(bins)} of the cheapest flavor {cheapest.describe()}")
        return bins

    def scale_up_entry(self, index, target):
        flavor = target.flavor
        pods = [pod.key for pod in target.pods]
        if target.source == "minimum":
            reasons = [f"keeps min_providers {self.policy.min_providers}"]
        else:
            reasons = [f"{len(pods)} pending pod(s) fit: {', '.join(pods[:5])}{' ...' if len(pods) > 5 else ''}",
                       f"uses {flavor.gpu - target.free_gpu:g} of {flavor.gpu} GPU(s), "
                       f"{flavor.cpu - target.free_cpu:g} of {flavor.cpu:g} CPU(s)"]
        return {
            "action": "scale_up",
            "index": index,
            "cloud": flavor.cloud,
            "flavor": flavor.name,
            "price_per_hour": flavor.price_per_hour,
            "boot_time": flavor.boot_time,
            "pods": pods,
            "reasons": reasons,
        }

    # Scale-down.

    def plan_scale_down(self, planned_up):
        released, kept = [], []
        candidates = [provider for provider in self.providers if self.may_release(provider)]
        times = idle_times(self.policy, candidates)
        count, _spend = self.current_count_and_spend()
        blocking = {}
        for provider in sorted(candidates, key=lambda item: (item.idle_since, item.name)):
            release, release_at, reasons = release_decision(self.policy, provider, times[provider.name], self.now)
            if provider.flavor.key not in blocking:
                blocking[provider.flavor.key] = self.first_pod_fitting(provider.flavor)
            if release and blocking[provider.flavor.key]:
                release = False
                reasons.append(f"kept: pending pod {blocking[provider.flavor.key]} fits it and may still be "
                               "scheduled there")
            if release and count - len(released) <= self.policy.min_providers:
                release = False
                reasons.append(f"kept: min_providers is {self.policy.min_providers}")
            entry = {"action": "scale_down", "provider": provider.name, "node": provider.node,
                     "cloud": provider.flavor.cloud, "flavor": provider.flavor.name,
                     "idle_since": provider.idle_since, "idle_time": times[provider.name],
                     "release_at": release_at, "reasons": reasons}
            (released if release else kept).append(entry)
        if released:
            self.reasons.append(f"{len(released)} idle provider(s) to release: "
                                f"{', '.join(entry['provider'] for entry in released)}")
        return {"released": released, "kept": kept}

    def first_pod_fitting(self, flavor):
        """Return the key of a pending pod an empty provider of this flavor could run, or None."""
        return next((pod.key for pod in self.pods if flavor_accepts(flavor, pod)), None)

    def may_release(self, provider):
        if not provider.ready or provider.busy or provider.idle_since is None:
            return False
        if provider.flavor is None:
            self.reasons.append(f"provider {provider.name} is idle but its flavor is unknown, so it is never "
                                "released automatically; label its virtual node or list it in providers")
            return False
        if provider.scale_down_disabled:
            self.reasons.append(f"provider {provider.name} is idle but its scale-down is disabled by annotation")
            return False
        return True


def describe_request(pod):
    text = f"{pod.gpu} GPU(s), {pod.cpu:g} CPU(s), {pod.memory / 2**30:.1f} GiB"
    if pod.gpu_model:
        text += f" of GPU model {pod.gpu_model}"
    if pod.cloud:
        text += f" on cloud {pod.cloud}"
    return text


def decide(policy, pods, providers, *, in_flight=(), failures=(), now=0.0):
    """Return the plan for one pass: what to rent, what to release, which idle marks to write, and why."""
    return Planner(policy, pods, providers, in_flight=in_flight, failures=failures, now=now).run()
