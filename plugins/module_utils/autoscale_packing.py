# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bin-pack pending pods onto new providers and pick the cheapest set of flavors.

Pods of the same shape (GPU count, GPU model, cloud, CPU, memory) are packed together as one group, so
1,000 pods of a few shapes cost a few dozen steps. Groups are placed first-fit-decreasing by GPU, then CPU,
then memory. Several packings are compared by price per hour: one that picks the best-value flavor for each
new provider, and one that uses a single flavor for everything, for each flavor that fits every pod.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PendingPod:
    """A pod the scheduler marked unschedulable, with the resources a provider must offer for it."""

    namespace: str
    name: str
    cpu: float
    memory: float
    gpu: int
    created_at: float
    gpu_model: str | None = None
    cloud: str | None = None

    @property
    def key(self):
        return f"{self.namespace}/{self.name}"

    @property
    def shape(self):
        return (self.gpu, self.cpu, self.memory, self.gpu_model or "", self.cloud or "")


def flavor_accepts(flavor, pod):
    """Return whether an empty provider of this flavor could run the pod."""
    if pod.cloud and pod.cloud != flavor.cloud:
        return False
    if pod.gpu and pod.gpu_model and (flavor.gpu_model or "").lower() != pod.gpu_model.lower():
        return False
    return pod.gpu <= flavor.gpu and pod.cpu <= flavor.cpu and pod.memory <= flavor.memory


@dataclass
class Bin:
    """One provider being filled: its flavor, the capacity still free and the pods placed on it."""

    flavor: object
    free_gpu: float
    free_cpu: float
    free_memory: float
    pods: list = field(default_factory=list)
    source: str = "new"

    @classmethod
    def empty(cls, flavor, source="new"):
        return cls(flavor, flavor.gpu, flavor.cpu, flavor.memory, [], source)

    def count_fitting(self, pod, wanted):
        """Return how many pods of this pod's shape, up to wanted, fit in the free capacity."""
        if not flavor_accepts(self.flavor, pod):
            return 0
        count = wanted
        for request, free in ((pod.gpu, self.free_gpu), (pod.cpu, self.free_cpu), (pod.memory, self.free_memory)):
            if request > 0:
                count = min(count, int(free / request + 1e-9))
        return max(count, 0)

    def place(self, pods):
        for pod in pods:
            self.free_gpu -= pod.gpu
            self.free_cpu -= pod.cpu
            self.free_memory -= pod.memory
        self.pods.extend(pods)


def group_pods(pods):
    """Return lists of pods of equal shape, largest first (GPU, then CPU, then memory), oldest pod first."""
    groups = {}
    for pod in sorted(pods, key=lambda item: (item.created_at, item.key)):
        groups.setdefault(pod.shape, []).append(pod)
    return [groups[shape] for shape in sorted(groups, key=lambda shape: (-shape[0], -shape[1], -shape[2], shape[3:]))]


def fill_existing(bins, group):
    """Place as many pods of the group as fit into the bins, first fit; return the pods left over."""
    remaining = list(group)
    for target in bins:
        if not remaining:
            break
        count = target.count_fitting(remaining[0], len(remaining))
        if count:
            target.place(remaining[:count])
            remaining = remaining[count:]
    return remaining


def packed_value(flavor, groups, start, opener):
    """Return the GPUs (for a GPU pod) or CPU cores an empty provider of this flavor would take from the groups."""
    trial = Bin.empty(flavor)
    value = 0.0
    for index in range(start, len(groups)):
        group = groups[index]
        wanted = len(group) - (opener[1] if index == start else 0)
        if wanted <= 0:
            continue
        count = trial.count_fitting(group[0], wanted)
        if count:
            trial.place(group[:count])
            unit = group[0].gpu if opener[0].gpu else group[0].cpu
            value += count * unit
    return value


def best_value_flavor(flavors, groups, start, placed):
    """Return the flavor with the lowest price per GPU (or CPU core) it would carry, or None if none fits."""
    opener = groups[start][placed]
    best = None
    for flavor in flavors:
        if not flavor_accepts(flavor, opener):
            continue
        value = packed_value(flavor, groups, start, (opener, placed))
        if value <= 0:
            value = 1e-9
        score = (flavor.price_per_hour / value, flavor.price_per_hour, flavor.describe())
        if best is None or score < best[0]:
            best = (score, flavor)
    return best[1] if best else None


def pack(groups, flavors, bins=None, fixed_flavor=None):
    """Return (new bins, pods that fit no flavor), after filling the given bins first.

    With fixed_flavor every new provider is of that flavor; otherwise each new provider gets the flavor with
    the lowest price per GPU, or per CPU core for CPU-only pods, of what it would carry.
    """
    existing = list(bins or [])
    new_bins = []
    unplaced = []
    for index, group in enumerate(groups):
        remaining = fill_existing(existing + new_bins, group)
        while remaining:
            placed = len(group) - len(remaining)
            if fixed_flavor is not None:
                flavor = fixed_flavor if flavor_accepts(fixed_flavor, remaining[0]) else None
            else:
                flavor = best_value_flavor(flavors, groups, index, placed)
            if flavor is None:
                unplaced.extend(remaining)
                break
            target = Bin.empty(flavor)
            count = target.count_fitting(remaining[0], len(remaining))
            target.place(remaining[:count])
            new_bins.append(target)
            remaining = remaining[count:]
    return new_bins, unplaced


def price_of(bins):
    return sum(target.flavor.price_per_hour for target in bins)


def cheapest_packing(pods, flavors):
    """Return (bins, unplaced pods, comparison lines) of the cheapest packing of the pods onto new providers.

    Candidates are the best-value packing and one single-flavor packing per flavor that fits every pod. The
    one with the lowest price per hour wins, then the one with fewer providers.
    """
    groups = group_pods(pods)
    candidates = [("best-value flavor per provider", *pack(groups, flavors))]
    for flavor in flavors:
        bins, unplaced = pack(groups, flavors, fixed_flavor=flavor)
        if not unplaced:
            candidates.append((f"only {flavor.describe()}", bins, unplaced))
    fewest_unplaced = min(len(candidate[2]) for candidate in candidates)
    eligible = [candidate for candidate in candidates if len(candidate[2]) == fewest_unplaced]
    eligible.sort(key=lambda candidate: (round(price_of(candidate[1]), 6), len(candidate[1])))
    label, bins, unplaced = eligible[0]
    comparison = [f"{name}: {len(found)} provider(s) at {price_of(found):.2f}/h"
                  for name, found, _unplaced in candidates]
    return bins, unplaced, label, comparison
