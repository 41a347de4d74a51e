#!/usr/bin/env python
"""Compare autoscaling policies on the Helios trace and time the planner; write results.md and demand.png.

Run from the repository root:  .venv/bin/python benchmarks/autoscale/run.py
The replay takes one to three minutes on 2 CPUs. The test suite does not run this script.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import matplotlib  # noqa: E402
import simulate  # noqa: E402
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale import Provider, decide  # noqa: E402
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale_packing import PendingPod  # noqa: E402
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale_policy import (  # noqa: E402
    build_policy,
    merge_settings,
)
from simulate import PlannerPolicy, StaticPool, load_demand, measure, oracle  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TRACE = HERE / "earth-vcMod-changes.csv"


# Example catalogue, prices per provider per hour in an arbitrary currency. Larger VMs are a little cheaper
# per GPU, so that packing has a choice to make. The numbers are illustrations, not any cloud's price list.
def catalogue(increment):
    return [
        {"cloud": "sim", "name": "gpu1", "cpu": 5, "memory": "20Gi", "gpu": 1, "price_per_hour": 1.00,
         "billing_increment": increment, "boot_time": "6m"},
        {"cloud": "sim", "name": "gpu2", "cpu": 10, "memory": "40Gi", "gpu": 2, "price_per_hour": 1.98,
         "billing_increment": increment, "boot_time": "7m"},
        {"cloud": "sim", "name": "gpu4", "cpu": 20, "memory": "80Gi", "gpu": 4, "price_per_hour": 3.90,
         "billing_increment": increment, "boot_time": "8m"},
        {"cloud": "sim", "name": "gpu8", "cpu": 40, "memory": "160Gi", "gpu": 8, "price_per_hour": 7.60,
         "billing_increment": increment, "boot_time": "10m"},
    ]


# Our policy: a warm pool of recently used providers kept for a while, surplus returned quickly, releases
# aligned to the billed increment. Cluster-Autoscaler-like: 10 minutes unneeded time, no warm pool, no
# billing awareness, no batching. Both share max_providers, so only the policy differs.
OURS = {"max_providers": 40, "warm_pool": 2, "warm_idle_time": "30m", "idle_time": "5m", "billing_aware": True,
        "release_margin": "1m", "batching_window": "30s"}
CA_LIKE = {"max_providers": 40, "warm_pool": 0, "idle_time": "10m", "billing_aware": False,
           "batching_window": "0s"}
SCENARIOS = [("10-minute billing increments", "10m"), ("1-hour billing increments", "1h")]


def run_scenario(demand, increment):
    flavors = catalogue(increment)
    ours = build_policy(merge_settings(OURS, None), flavors)
    ca_like = build_policy(merge_settings(CA_LIKE, None), flavors)
    largest = max(ours.flavors, key=lambda flavor: flavor.gpu)
    rows, series = {}, {}
    for label, runner in (("our policy", PlannerPolicy(ours)), ("static pool for the peak", StaticPool(largest)),
                          ("Cluster-Autoscaler-like", PlannerPolicy(ca_like))):
        started = time.perf_counter()
        jobs, cloud, provisioned, end = simulate.simulate(demand, runner)
        rows[label] = measure(jobs, cloud, end)
        rows[label]["seconds"] = time.perf_counter() - started
        series[label] = provisioned
    rows["oracle lower bound"] = oracle(jobs, ours.flavors)
    rows["oracle lower bound"]["seconds"] = 0.0
    return rows, series


def warm_pool_sweep(demand):
    """Return (increment, warm_pool, cost, wait mean, wait p95, providers started) for warm pools of 0 to 4."""
    rows = []
    for title, increment in SCENARIOS:
        for warm_pool in (0, 1, 2, 4):
            policy = build_policy(merge_settings(dict(OURS, warm_pool=warm_pool), None), catalogue(increment))
            jobs, cloud, _provisioned, end = simulate.simulate(demand, PlannerPolicy(policy))
            row = measure(jobs, cloud, end)
            rows.append((title, warm_pool, row["cost"], row["wait_mean"], row["wait_p95"], row["providers_started"]))
    return rows


def planner_speed(repeats):
    """Time decide() for 1,000 pending pods of mixed shapes against 100 providers (half idle)."""
    rng = random.Random(7)
    flavors = catalogue("10m") + [{"cloud": "sim", "name": "cpu16", "cpu": 16, "memory": "64Gi", "gpu": 0,
                                   "price_per_hour": 0.40, "billing_increment": "1h", "boot_time": "5m"}]
    policy = build_policy(merge_settings({"max_providers": 1000}, None), flavors)
    now = 1_000_000.0
    shapes = [(1, 4, 16), (2, 8, 32), (4, 16, 64), (8, 32, 128), (0, 2, 4), (0, 1, 2), (0, 8, 16), (1, 2, 8)]
    pods = []
    for index in range(1000):
        gpu, cpu, memory = rng.choice(shapes)
        pods.append(PendingPod("ml", f"pod-{index}", cpu * rng.choice((0.5, 1.0)), memory * 2**30, gpu,
                               now - rng.uniform(60, 3600)))
    providers = []
    for index in range(100):
        flavor = policy.flavors[index % len(policy.flavors)]
        busy = index % 2 == 0
        providers.append(Provider(f"p{index}", f"p{index}", flavor, ready=index % 10 != 0, busy=busy,
                                  idle_since=None if busy else now - rng.uniform(0, 7200), billing_start=now - 9000))
    timings = []
    for _run in range(repeats):
        started = time.perf_counter()
        plan = decide(policy, pods, providers, now=now)
        timings.append(time.perf_counter() - started)
    return {"median": statistics.median(timings), "max": max(timings), "repeats": repeats,
            "load_average": os.getloadavg()[0],
            "scale_up": len(plan["scale_up"]), "scale_down": len(plan["scale_down"])}


def format_row(label, row, oracle_cost):
    ratio = row["cost"] / oracle_cost if oracle_cost else float("nan")
    return (f"| {label} | {row['cost']:,.0f} | {ratio:.3f} | {row['idle_gpu_minutes']:,.0f} | "
            f"{row['providers_started']:,} | {row['waited_share']:.0%} |"
            f" {row['wait_mean']:.2f} | {row['wait_p95']:.1f} | {row['wait_max']:.0f} |")


def sweep_lines(sweep, results):
    lines = ["## Warm pool size", "",
             "Our policy with other warm pool sizes, everything else equal (cost relative to the oracle of its "
             "scenario):", "",
             "| billing | warm_pool | cost | cost / oracle | wait mean (min) | wait p95 (min) | providers started |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for title, warm_pool, cost, wait_mean, wait_p95, started in sweep:
        oracle_cost = results[title][0]["oracle lower bound"]["cost"]
        lines.append(f"| {title} | {warm_pool} | {cost:,.0f} | {cost / oracle_cost:.3f} | {wait_mean:.2f} | "
                     f"{wait_p95:.1f} | {started} |")
    return lines + [""]


def write_results(results, speed, trace_start, demand, sweep):
    lines = [
        "# Autoscaling benchmark results",
        "",
        f"Run on {datetime.date.today().isoformat()} by `benchmarks/autoscale/run.py` on {os.cpu_count()} CPUs "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}.",
        "",
        f"Trace: Helios Earth virtual cluster `vcMod`, per-minute GPU demand (running + pending) from {trace_start} "
        f"for {len(demand):,} minutes; peak {max(demand)} GPUs, mean {statistics.fmean(demand):.1f}, zero in "
        f"{sum(1 for value in demand if value == 0) / len(demand):.0%} of the minutes. Demand is cut into "
        "one-GPU pods (see README.md). Prices are per provider-hour in an example currency; the oracle pays "
        "every GPU-minute in use at the lowest price per GPU.",
        "",
        f"Our policy: `{OURS}`. Cluster-Autoscaler-like: `{CA_LIKE}`. Both run the same planner code.",
        "",
    ]
    for title, (rows, _series) in results.items():
        oracle_cost = rows["oracle lower bound"]["cost"]
        lines += [f"## {title}", "",
                  "| policy | cost | cost / oracle | GPU-minutes paid but idle | providers started | "
                  "pods that waited | wait mean (min) | wait p95 (min) | wait max (min) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [format_row(label, row, oracle_cost) for label, row in rows.items()]
        lines.append("")
    lines += sweep_lines(sweep, results)
    lines += [
        "## Planner speed",
        "",
        f"`decide()` for 1,000 pending pods of 8 shapes against 100 providers (half idle, a tenth joining) and "
        f"5 flavors: median {speed['median'] * 1000:.1f} ms, max {speed['max'] * 1000:.1f} ms over "
        f"{speed['repeats']} runs; the plan rents {speed['scale_up']} and releases {speed['scale_down']} providers. "
        f"The 1-minute load average was {speed['load_average']:.1f} on {os.cpu_count()} CPUs; above the CPU count, "
        "other processes competed for them.",
        "",
        "![demand and provisioned GPUs](demand.png)",
        "",
    ]
    (HERE / "results.md").write_text("\n".join(lines), encoding="utf-8")


def plot(results, demand):
    title = next(iter(results))
    _rows, series = results[title]
    figure, axes = plt.subplots(2, 1, figsize=(12, 7))
    windows = [(0, len(demand), "whole trace"), (7 * 1440, 9 * 1440, "days 8 and 9")]
    for axis, (first, last, label) in zip(axes, windows, strict=True):
        hours = [minute / 60 for minute in range(first, last)]
        axis.fill_between(hours, demand[first:last], step="post", color="0.8", label="GPU demand in the trace")
        for name, values in series.items():
            axis.plot(hours, values[first:last], drawstyle="steps-post", linewidth=0.8, label=f"GPUs: {name}")
        axis.set_title(f"{title}, {label}")
        axis.set_xlabel("hours from trace start")
        axis.set_ylabel("GPUs")
    axes[0].legend(loc="upper right", fontsize="small")
    figure.tight_layout()
    figure.savefig(HERE / "demand.png", dpi=90)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed planner runs (default 20)")
    args = parser.parse_args()
    demand, trace_start = load_demand(TRACE)
    results = {}
    for title, increment in SCENARIOS:
        results[title] = run_scenario(demand, increment)
        for label, row in results[title][0].items():
            print(f"{title}: {label}: {row}")
    sweep = warm_pool_sweep(demand)
    speed = planner_speed(args.repeats)
    print(f"planner: {speed}")
    write_results(results, speed, trace_start, demand, sweep)
    plot(results, demand)


if __name__ == "__main__":
    main()
