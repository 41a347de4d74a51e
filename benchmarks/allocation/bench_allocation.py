#!/usr/bin/env python
"""Time allocate, release and list on both allocation backends at growing table sizes.

For each backend the table is filled to each size in turn (100, 1,000, 10,000 records by default), and at
each size the script times REPEATS allocations of new keys, REPEATS releases of those keys, and REPEATS full
listings, through the stores' own transactions, the code path of the modules without Ansible's process start.
Results go to results.json and results.md next to this script.

The Kubernetes backend runs against a lab cluster (tests/lab) that this script starts and stops, in the slot
given by --slot (default 8), so it does not disturb a developer's lab in slot 0.
Run from the repository root:  .venv/bin/python benchmarks/allocation/bench_allocation.py
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / ".build" / "collections"))

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation import (  # noqa: E402
    Allocation,
    AllocationRequest,
    format_time,
    plan_allocate,
    plan_release,
    utc_now,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_kube import (  # noqa: E402
    GROUP,
    PLURAL,
    VERSION,
    KubeStore,
    record_to_object,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_settings import (  # noqa: E402
    build_settings,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_sqlite import (  # noqa: E402
    COLUMNS,
    SqliteStore,
    row_from_record,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.liqo_kube import KubeCluster  # noqa: E402

HERE = Path(__file__).resolve().parent
LABCTL = REPO / "tests" / "lab" / "labctl"
DEFAULT_LAB_SLOT = 8
TOPOLOGY = """clusters:
  - name: mlops-consumer
    role: consumer
    flavor: kind
    pod_cidr: 10.244.0.0/16
    service_cidr: 10.96.0.0/16
    nodes:
      - name: mlops-consumer-control-plane
        capacity: {cpu: "8", memory: 32Gi, pods: "110"}
"""
# Pools big enough for 10,000 providers and the timed allocations: 32,768 /24 blocks each, less reserved ranges.
SETTINGS = build_settings(pod_pools=[{"cidr": "10.0.0.0/9", "block_prefix": 24}],
                          service_pools=[{"cidr": "10.128.0.0/9", "block_prefix": 24}], quarantine="24h")
PREFILL_THREADS = 8


def free_blocks(pool, reserved):
    """Yield the pool's blocks that overlap no reserved range, lowest first."""
    for block in pool.network.subnets(new_prefix=pool.block_prefix):
        if not any(block.overlaps(network) for _label, network in reserved):
            yield block


def prefill_records(start, count):
    """Return count allocated records for keys prefill-<start>..., on consecutive free blocks."""
    pods = free_blocks(SETTINGS.pod_pools[0], SETTINGS.reserved)
    services = free_blocks(SETTINGS.service_pools[0], SETTINGS.reserved)
    for _repeat in range(start):
        next(pods)
        next(services)
    now = format_time(utc_now())
    return [Allocation(name=f"prefill-{index:05d}", key=f"prefill-{index}", pod_cidr=str(next(pods)),
                       service_cidr=str(next(services)), allocated_at=now, allocated_by="benchmark")
            for index in range(start, start + count)]


def fill_sqlite(store, records):
    store.transact(lambda existing: plan_allocate(existing, AllocationRequest(key="setup"), SETTINGS, utc_now()))
    connection = store.connect_for_writing()
    placeholders = ", ".join("?" for _column in COLUMNS)
    with connection:
        connection.executemany(f"INSERT INTO allocations ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                               [row_from_record(record) for record in records])
    connection.close()


def fill_kube(store, records):
    store.transact(lambda existing: plan_allocate(existing, AllocationRequest(key="setup"), SETTINGS, utc_now()))

    def create(record):
        store.call(store.custom.create_namespaced_custom_object, GROUP, VERSION, store.namespace, PLURAL,
                   record_to_object(record, store.namespace))

    with ThreadPoolExecutor(max_workers=PREFILL_THREADS) as pool:
        list(pool.map(create, records))


def timed(operation):
    started = time.perf_counter()
    operation()
    return time.perf_counter() - started


def summary(seconds):
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered) * 1000, 1), "p95_ms": round(p95 * 1000, 1),
            "runs": len(ordered)}


def measure(store, size, repeats):
    keys = [f"bench-{size}-{index}" for index in range(repeats)]
    allocate = [timed(lambda key=key: store.transact(
        lambda records, key=key: plan_allocate(records, AllocationRequest(key=key), SETTINGS, utc_now())))
        for key in keys]
    release = [timed(lambda key=key: store.transact(
        lambda records, key=key: plan_release(records, key, SETTINGS, utc_now())))
        for key in keys]
    listing = [timed(store.read) for _repeat in range(repeats)]
    return {"allocate": summary(allocate), "release": summary(release), "list": summary(listing)}


def run_backend(name, store, fill, *, sizes, repeats, log):
    results = []
    filled = 0
    for size in sizes:
        started = time.perf_counter()
        fill(store, prefill_records(filled, size - filled))
        filled = size
        log(f"{name}: filled to {size} records in {time.perf_counter() - started:.1f} s")
        load_before = os.getloadavg()[0]
        result = {"backend": name, "table_size": size, **measure(store, size, repeats)}
        # Other processes on the machine slow the timed operations; the 1-minute load average shows how busy it was.
        result["load_average"] = round((load_before + os.getloadavg()[0]) / 2, 1)
        result["records_after"] = len(store.read())
        log(f"{name} at {size}: allocate {result['allocate']}, release {result['release']}, list {result['list']}")
        results.append(result)
    return results


def start_lab(work_dir, slot, log):
    topology = work_dir / "topology.yml"
    topology.write_text(TOPOLOGY)
    state_dir = work_dir / "lab"
    subprocess.run([sys.executable, str(LABCTL), "start", "--state", str(state_dir), "--slot", str(slot),
                    "--topology", str(topology), "--owner-pid", str(os.getpid())], check=True)
    log(f"lab started in {state_dir}")
    lab = json.loads((state_dir / "lab.json").read_text())
    return state_dir, lab["clusters"]["mlops-consumer"]["kubeconfig"]


def machine():
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        memory_kib = int(meminfo.readline().split()[1])
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_gib": round(memory_kib / 2**20, 1),
            "python": platform.python_version(), "kernel": platform.release()}


def write_markdown(path, report):
    lines = [
        "# Allocation benchmark results",
        "",
        f"Run on {report['date']} by `benchmarks/allocation/bench_allocation.py` on {report['machine']['cpus']} "
        f"CPUs ({report['machine']['cpu_model']}), {report['machine']['memory_gib']} GiB, Python "
        f"{report['machine']['python']}."
        + (f" The Kubernetes backend ran against the lab's kube-apiserver {report['kubernetes_version']} and etcd "
           "on the same machine." if any(row["backend"] == "kubernetes" for row in report["results"]) else ""),
        "",
        f"Each row: {report['repeats']} operations on a table that holds the given number of allocated records "
        "before the timed operations start. Times are per operation, in milliseconds, measured around the "
        "store's transaction (no Ansible process start). The load average is the machine's 1-minute load "
        f"while the row was measured; with {report['machine']['cpus']} CPUs, a value above that means other "
        "processes competed for them.",
        "",
        "| backend | table size | allocate median | allocate p95 | release median | release p95 | list median |"
        " list p95 | load average |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["results"]:
        lines.append(f"| {row['backend']} | {row['table_size']:,} | {row['allocate']['median_ms']} | "
                     f"{row['allocate']['p95_ms']} | {row['release']['median_ms']} | {row['release']['p95_ms']} | "
                     f"{row['list']['median_ms']} | {row['list']['p95_ms']} | {row['load_average']} |")
    lines += ["", "## Growth with the table size", "",
              "Median time at each size divided by the median at the smallest size:", ""]
    lines += growth_lines(report["results"])
    lines.append("")
    path.write_text("\n".join(lines))


def growth_lines(results):
    lines = []
    for backend in dict.fromkeys(row["backend"] for row in results):
        rows = [row for row in results if row["backend"] == backend]
        for operation in ("allocate", "release", "list"):
            base = rows[0][operation]["median_ms"]
            steps = ", ".join(f"x{row[operation]['median_ms'] / base:.1f} at {row['table_size']:,}" for row in rows[1:])
            lines.append(f"- {backend} {operation}: {steps} (table x{rows[-1]['table_size'] // rows[0]['table_size']} "
                         "in all)")
    return lines


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000", help="comma-separated table sizes, ascending")
    parser.add_argument("--repeats", type=int, default=30, help="timed operations of each kind per size")
    parser.add_argument("--backends", default="sqlite,kubernetes", help="comma-separated backends to run")
    parser.add_argument("--slot", type=int, default=DEFAULT_LAB_SLOT, help="lab slot for the Kubernetes backend")
    parser.add_argument("--output", default=str(HERE), help="directory for results.json and results.md")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]

    def log(message):
        print(f"bench: {message}", file=sys.stderr, flush=True)

    results = []
    with tempfile.TemporaryDirectory(prefix="allocation-bench-") as work:
        work_dir = Path(work)
        if "sqlite" in args.backends:
            store = SqliteStore(work_dir / "allocations.sqlite3")
            results += run_backend("sqlite", store, fill_sqlite, sizes=sizes, repeats=args.repeats, log=log)
        if "kubernetes" in args.backends:
            state_dir, kubeconfig = start_lab(work_dir, args.slot, log)
            try:
                store = KubeStore(KubeCluster(kubeconfig), namespace="allocation-bench", timeout=300)
                results += run_backend("kubernetes", store, fill_kube, sizes=sizes, repeats=args.repeats,
                                       log=log)
            finally:
                subprocess.run([sys.executable, str(LABCTL), "stop", "--state", str(state_dir), "--wipe"],
                               check=True)

    report = {"date": datetime.date.today().isoformat(), "machine": machine(), "repeats": args.repeats,
              "kubernetes_version": "v1.36.3", "results": results}
    output = Path(args.output)
    (output / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(output / "results.md", report)
    log(f"wrote {output / 'results.json'} and {output / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
