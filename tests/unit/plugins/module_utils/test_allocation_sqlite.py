# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The SQLite backend on real files, with concurrent writer processes."""

import ipaddress
import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation import (
    ALLOCATED,
    AllocationRequest,
    plan_allocate,
    plan_release,
    utc_now,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_settings import (
    AllocationError,
    build_settings,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_sqlite import (
    SqliteStore,
    StoreError,
    default_database_path,
)

COLLECTIONS_PATH = Path(__file__).resolve().parents[4] / ".build" / "collections"
WRITERS = 20

# One writer process: wait for the start file, so that all writers contend at once, then allocate for a key.
WRITER = textwrap.dedent("""
    import json, os, sys, time
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation import (
        AllocationRequest, plan_allocate, utc_now)
    from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_settings import build_settings
    from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation_sqlite import SqliteStore

    database, key, start_file = sys.argv[2:5]
    while not os.path.exists(start_file):
        time.sleep(0.01)
    store = SqliteStore(database, timeout=120)
    settings = build_settings()
    plan = store.transact(lambda records: plan_allocate(records, AllocationRequest(key=key), settings, utc_now()))
    print(json.dumps({"changed": plan.changed, "name": plan.allocation.name, "pod_cidr": plan.allocation.pod_cidr,
                      "service_cidr": plan.allocation.service_cidr}))
""")


def allocate(store, key, settings=None, **pins):
    settings = settings or build_settings()
    request = AllocationRequest(key=key, requester="tester@controller", **pins)
    return store.transact(lambda records: plan_allocate(records, request, settings, utc_now()))


def release(store, key, settings=None):
    settings = settings or build_settings()
    return store.transact(lambda records: plan_release(records, key, settings, utc_now(), "tester@controller"))


def run_writers(database, keys, tmp_path):
    """Start one process per key, release them together, and return their parsed outputs."""
    start_file = tmp_path / "start"
    processes = [subprocess.Popen([sys.executable, "-c", WRITER, str(COLLECTIONS_PATH), str(database), key,
                                   str(start_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for key in keys]
    time.sleep(1)  # let the interpreters start, so the writers contend instead of running one after another
    start_file.touch()
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        results.append(json.loads(stdout))
    return results


@pytest.fixture
def store(tmp_path):
    return SqliteStore(tmp_path / "state" / "allocations.sqlite3")


def test_read_of_missing_file_is_empty_and_creates_nothing(store):
    assert store.read() == []
    assert not os.path.exists(store.path)
    assert not os.path.exists(os.path.dirname(store.path))


def test_first_write_creates_private_file(store):
    allocate(store, "verda-v100-2")

    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(store.path)).st_mode) == 0o700


def test_records_round_trip(store):
    made = allocate(store, "verda-v100-2", settings=build_settings(cloud="verda", flavor_class="gpu"),
                    pod_cidr="10.150.0.0/16").allocation

    records = store.read()

    assert records == [made]
    assert records[0].pinned is True


def test_repeat_allocation_unchanged(store):
    first = allocate(store, "verda-v100-2")

    second = allocate(store, "verda-v100-2")

    assert second.changed is False
    assert second.allocation == first.allocation
    assert len(store.read()) == 1


def test_release_persists_quarantine(store):
    allocate(store, "verda-v100-2")

    release(store, "verda-v100-2", settings=build_settings(quarantine="1h"))

    (record,) = store.read()
    assert record.state == "quarantined"
    assert record.quarantine_until


def test_failed_decision_writes_nothing(store):
    settings = build_settings(pod_pools=[{"cidr": "10.112.0.0/24", "block_prefix": 24}])
    allocate(store, "provider-0", settings=settings)
    before = store.read()
    modified = os.stat(store.path).st_mtime_ns

    with pytest.raises(AllocationError) as raised:
        allocate(store, "provider-1", settings=settings)

    assert "1 blocks are allocated and 0 are in quarantine" in str(raised.value)
    assert store.read() == before
    assert os.stat(store.path).st_mtime_ns == modified


def test_database_rejects_second_allocated_record_for_key(store):
    allocate(store, "verda-v100-2")
    connection = sqlite3.connect(store.path)

    with pytest.raises(sqlite3.IntegrityError):
        connection.execute("INSERT INTO allocations (name, key, pod_cidr, service_cidr, state) "
                           "VALUES ('other', 'verda-v100-2', '10.1.0.0/24', '10.2.0.0/24', 'allocated')")
    connection.close()


def test_lock_timeout_reported(store):
    allocate(store, "verda-v100-2")
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    store.timeout = 0.5

    try:
        with pytest.raises(StoreError) as raised:
            allocate(store, "verda-v100-3")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert "Timed out after 0.5 s waiting for the lock" in str(raised.value)


def test_newer_schema_rejected(store):
    allocate(store, "verda-v100-2")
    connection = sqlite3.connect(store.path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()

    with pytest.raises(StoreError) as raised:
        store.read()

    assert "schema version 99" in str(raised.value)


def test_unwritable_directory_reported(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    store = SqliteStore(locked / "sub" / "allocations.sqlite3")
    if os.access(locked, os.W_OK):
        pytest.skip("running as root, which can write into a read-only directory")

    with pytest.raises(StoreError) as raised:
        allocate(store, "verda-v100-2")

    assert "Cannot open SQLite database" in str(raised.value)


def test_default_path_follows_xdg_state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_database_path() == str(tmp_path / "oss_mlops" / "cluster_allocations.sqlite3")

    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_database_path() == os.path.expanduser("~/.local/state/oss_mlops/cluster_allocations.sqlite3")


def test_concurrent_writers_get_distinct_blocks(tmp_path):
    database = tmp_path / "allocations.sqlite3"

    results = run_writers(database, [f"provider-{index}" for index in range(WRITERS)], tmp_path)

    assert all(result["changed"] for result in results)
    assert len({result["name"] for result in results}) == WRITERS
    networks = [ipaddress.ip_network(result[field]) for result in results for field in ("pod_cidr", "service_cidr")]
    for index, network in enumerate(networks):
        for other in networks[index + 1:]:
            assert not network.overlaps(other), f"{network} overlaps {other}"
    records = SqliteStore(database).read()
    assert len(records) == WRITERS


def test_concurrent_writers_same_key_get_one_allocation(tmp_path):
    database = tmp_path / "allocations.sqlite3"

    results = run_writers(database, ["verda-v100-2"] * WRITERS, tmp_path)

    assert sum(result["changed"] for result in results) == 1
    assert len({(result["name"], result["pod_cidr"], result["service_cidr"]) for result in results}) == 1
    records = SqliteStore(database).read()
    assert [record.state for record in records] == [ALLOCATED]
