"""Replay a per-minute GPU demand trace through the autoscaler's decision code and a simulated cloud.

The trace gives, per minute, the GPUs that jobs of one cluster held or waited for (running + pending). It is
cut into one-GPU pods by levels: the k-th GPU of demand is one pod for as long as demand stays at k or more.
Each pod keeps its duration; when no GPU is free it waits, and its end moves by the wait.

The simulated cloud starts a provider boot_time after the request, bills each started increment in full
from the request on, and stops billing when the provider is released. A scheduler places pending pods,
oldest first, on the ready provider with the most GPUs in use (Kubernetes' MostAllocated scoring), so
emptied providers can go idle. Policies that use the planner call decide() from module_utils/autoscale.py
once a minute, 45 seconds after the trace minute, with the same inputs the module builds from the cluster.
"""

from __future__ import annotations

import csv
import datetime
import math
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / ".build" / "collections"))

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale import (  # noqa: E402
    Provider,
    decide,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale_packing import PendingPod  # noqa: E402

MINUTE = 60.0
PLAN_OFFSET = 45.0
# Requests of one trace pod: one GPU plus a share of CPU and memory that every GPU flavor offers per GPU.
POD_CPU = 4.0
POD_MEMORY = 16 * 2**30


def load_demand(path):
    """Return the per-minute GPU demand (running + pending) from a trace whose repeated rows were left out."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    start = parse_minute(rows[0]["time"])
    end = parse_minute(rows[-1]["time"])
    demand = [0] * (end - start + 1)
    for row, following in zip(rows, rows[1:] + [None], strict=True):
        first = parse_minute(row["time"]) - start
        last = (parse_minute(following["time"]) - start) if following else len(demand)
        value = int(row["running_gpu_num"]) + int(row["pending_gpu_num"])
        for minute in range(first, last):
            demand[minute] = value
    return demand, rows[0]["time"]


def parse_minute(text):
    moment = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    return int(moment.replace(tzinfo=datetime.UTC).timestamp() // 60)


@dataclass
class Job:
    """One one-GPU pod of the trace: when it arrives and how many minutes it runs once started."""

    index: int
    arrival: int
    duration: int
    start: int | None = None


def cut_into_jobs(demand):
    """Return one-GPU jobs, by levels: the k-th GPU of demand is one job while demand stays at k or more."""
    jobs, open_levels = [], []
    previous = 0
    for minute, value in enumerate(demand + [0]):
        while previous > value:
            arrival = open_levels.pop()
            jobs.append(Job(len(jobs), arrival, minute - arrival))
            previous -= 1
        while previous < value:
            open_levels.append(minute)
            previous += 1
    jobs.sort(key=lambda job: (job.arrival, job.index))
    return jobs


@dataclass
class Node:
    """A simulated provider: its flavor, when billing started, when it is ready and what runs on it."""

    name: str
    flavor: object
    requested_at: float
    ready_at: float
    released_at: float | None = None
    running: dict = field(default_factory=dict)
    idle_since: float | None = None

    def free_gpus(self):
        return self.flavor.gpu - len(self.running)

    def paid_seconds(self, end):
        lifetime = (self.released_at if self.released_at is not None else end) - self.requested_at
        increment = self.flavor.billing_increment
        if increment <= 0:
            return lifetime
        return math.ceil(lifetime / increment - 1e-9) * increment


class Cloud:
    """Providers, the scheduler and the bill of one simulated run."""

    def __init__(self):
        self.nodes = []
        self.active = []

    def request(self, flavor, now):
        node = Node(f"node-{len(self.nodes)}", flavor, now, now + flavor.boot_time)
        self.nodes.append(node)
        self.active.append(node)
        return node

    def release(self, name, now):
        node = next(item for item in self.active if item.name == name)
        if node.running:
            raise RuntimeError(f"policy released {name} while it runs pods")
        node.released_at = now
        self.active.remove(node)

    def finish(self, now):
        for node in self.active:
            for job_index, end in list(node.running.items()):
                if end <= now:
                    del node.running[job_index]

    def schedule(self, pending, now):
        """Place pending jobs, oldest first, on the ready node with the most GPUs in use; return those left."""
        left = []
        ready = [node for node in self.active if node.ready_at <= now]
        for job in pending:
            candidates = [node for node in ready if node.free_gpus() > 0]
            if not candidates:
                left.append(job)
                continue
            node = max(candidates, key=lambda item: (len(item.running), -item.requested_at))
            job.start = now
            node.running[job.index] = now + job.duration * MINUTE
        return left

    def provisioned_gpus(self):
        return sum(node.flavor.gpu for node in self.active)


class PlannerPolicy:
    """A policy that runs the autoscaler's planner with one Policy, as the module would."""

    def __init__(self, policy):
        self.policy = policy

    def setup(self, cloud, peak):
        return None

    def step(self, cloud, pending, now):
        pods = [PendingPod("trace", f"job-{job.index}", POD_CPU, POD_MEMORY, 1, job.arrival * MINUTE)
                for job in pending]
        providers = [Provider(name=node.name, node=node.name, flavor=node.flavor, ready=node.ready_at <= now,
                              busy=bool(node.running), idle_since=node.idle_since, billing_start=node.requested_at)
                     for node in cloud.active]
        plan = decide(self.policy, pods, providers, now=now)
        by_name = {node.name: node for node in cloud.active}
        for mark in plan["idle_marks"]:
            by_name[mark["node"]].idle_since = mark["idle_since"]
        for clear in plan["idle_clears"]:
            by_name[clear["node"]].idle_since = None
        for entry in plan["scale_down"]:
            cloud.release(entry["node"], now)
        for entry in plan["scale_up"]:
            cloud.request(self.policy.flavor(entry["cloud"], entry["flavor"]), now)


class StaticPool:
    """Enough of the largest flavor for the peak demand, ready from the start and never released."""

    def __init__(self, flavor):
        self.flavor = flavor

    def setup(self, cloud, peak):
        for _node in range(math.ceil(peak / self.flavor.gpu)):
            node = cloud.request(self.flavor, -self.flavor.boot_time)
            node.requested_at = 0.0

    def step(self, cloud, pending, now):
        return None


def simulate(demand, policy_runner):
    """Run one policy over the trace; return the jobs, the cloud and the per-minute provisioned GPUs."""
    jobs = cut_into_jobs(demand)
    cloud = Cloud()
    policy_runner.setup(cloud, max(demand))
    pending, arrivals, provisioned = [], 0, []
    horizon = len(demand)
    minute = 0
    while minute < horizon or pending or any(node.running for node in cloud.active):
        now = minute * MINUTE
        cloud.finish(now)
        while arrivals < len(jobs) and jobs[arrivals].arrival == minute:
            pending.append(jobs[arrivals])
            arrivals += 1
        pending = cloud.schedule(pending, now)
        policy_runner.step(cloud, pending, now + PLAN_OFFSET)
        provisioned.append(cloud.provisioned_gpus())
        minute += 1
        if minute > horizon * 2:
            raise RuntimeError("simulation does not drain; the policy leaves pods pending for ever")
    end = minute * MINUTE
    for node in list(cloud.active):
        if not node.running:
            cloud.release(node.name, end)
    return jobs, cloud, provisioned, end


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[position]


def measure(jobs, cloud, end):
    """Return cost, paid and idle GPU-minutes, providers started and waits in minutes of one run."""
    used = sum(job.duration for job in jobs)
    paid_gpu_minutes = sum(node.paid_seconds(end) / MINUTE * node.flavor.gpu for node in cloud.nodes)
    cost = sum(node.paid_seconds(end) / 3600.0 * node.flavor.price_per_hour for node in cloud.nodes)
    waits = [job.start - job.arrival * MINUTE for job in jobs]
    waits = [wait / MINUTE for wait in waits]
    return {
        "cost": cost,
        "paid_gpu_minutes": paid_gpu_minutes,
        "idle_gpu_minutes": paid_gpu_minutes - used,
        "providers_started": len(cloud.nodes),
        "waited_share": sum(1 for wait in waits if wait > 0) / len(waits) if waits else 0.0,
        "wait_mean": statistics.fmean(waits) if waits else 0.0,
        "wait_p95": percentile(waits, 0.95),
        "wait_max": max(waits) if waits else 0.0,
    }


def oracle(jobs, flavors):
    """Return the lower bound: every GPU-minute in use at the lowest price per GPU-minute, no wait, no idle."""
    used = sum(job.duration for job in jobs)
    cheapest = min(flavor.price_per_hour / flavor.gpu for flavor in flavors if flavor.gpu)
    return {"cost": used / 60.0 * cheapest, "paid_gpu_minutes": used, "idle_gpu_minutes": 0.0,
            "providers_started": 0, "waited_share": 0.0, "wait_mean": 0.0, "wait_p95": 0.0, "wait_max": 0.0}
