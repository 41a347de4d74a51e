# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Keep the allocation table in an SQLite file on the controller.

Every write runs in one BEGIN IMMEDIATE transaction: SQLite grants the write lock to one connection at a time
across processes, and the others wait up to the busy timeout. Reading the table, deciding and writing all
happen under that lock, so concurrent runs on one controller serialise and never hand out the same block.
A partial unique index also rejects a second allocated record for one key at the database level.

The file must be on a local file system: SQLite's locks are unreliable on NFS and similar shares.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse

from ansible_collections.oss_mlops.multicloud.plugins.module_utils.allocation import Allocation

SCHEMA_VERSION = 1
COLUMNS = ("name", "key", "pod_cidr", "service_cidr", "state", "cloud", "flavor_class", "pinned", "allocated_at",
           "allocated_by", "released_at", "released_by", "quarantine_until")
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS allocations (
        name TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        pod_cidr TEXT NOT NULL,
        service_cidr TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('allocated', 'quarantined')),
        cloud TEXT NOT NULL DEFAULT '',
        flavor_class TEXT NOT NULL DEFAULT '',
        pinned INTEGER NOT NULL DEFAULT 0,
        allocated_at TEXT NOT NULL DEFAULT '',
        allocated_by TEXT NOT NULL DEFAULT '',
        released_at TEXT NOT NULL DEFAULT '',
        released_by TEXT NOT NULL DEFAULT '',
        quarantine_until TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS one_allocation_per_key ON allocations (key) WHERE state = 'allocated'",
)


class StoreError(Exception):
    """The allocation table could not be read or written; the message names the table and what to check."""


def default_database_path():
    """Return $XDG_STATE_HOME/oss_mlops/cluster_allocations.sqlite3, with ~/.local/state when it is unset."""
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state_home, "oss_mlops", "cluster_allocations.sqlite3")


def record_from_row(row):
    values = {column: row[index] for index, column in enumerate(COLUMNS)}
    values["pinned"] = bool(values["pinned"])
    return Allocation(**values)


def row_from_record(record):
    return tuple(int(record.pinned) if column == "pinned" else getattr(record, column) for column in COLUMNS)


class SqliteStore:
    """The allocation table in one SQLite file; timeout is how long a write waits for the lock, in seconds."""

    backend = "sqlite"

    def __init__(self, path, timeout=60):
        self.path = os.path.abspath(os.path.expanduser(path))
        self.timeout = timeout

    def describe(self):
        return f"SQLite database {self.path}"

    def read(self):
        """Return every record, opening the file read-only; an absent file is an empty table."""
        if not os.path.exists(self.path):
            return []
        uri = "file:" + urllib.parse.quote(self.path) + "?mode=ro"
        try:
            connection = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as error:
            message = f"Cannot open {self.describe()} for reading: {error}. Check its mode and owner."
            raise StoreError(message) from error
        try:
            self.check_version(connection)
            return self.select_records(connection)
        except sqlite3.Error as error:
            raise self.explain(error, "read") from error
        finally:
            connection.close()

    def transact(self, decide):
        """Run decide(records) and apply its Plan's operations, all under the database's write lock.

        decide may raise; then the transaction is rolled back and nothing is written.
        """
        connection = self.connect_for_writing()
        try:
            connection.execute("BEGIN IMMEDIATE")
            self.create_schema(connection)
            plan = decide(self.select_records(connection))
            self.apply(connection, plan.operations)
            connection.execute("COMMIT")
            return plan
        except sqlite3.Error as error:
            self.rollback(connection)
            raise self.explain(error, "write") from error
        except BaseException:
            self.rollback(connection)
            raise
        finally:
            connection.close()

    def connect_for_writing(self):
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            # Create the file 0600 before SQLite does, since SQLite would create it with the umask's mode.
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
            return sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"Cannot open {self.describe()} for writing: {error}. Check that {directory} is "
                             "writable by this user.") from error

    @staticmethod
    def rollback(connection):
        if connection.in_transaction:
            connection.execute("ROLLBACK")

    def explain(self, error, action):
        if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
            return StoreError(f"Timed out after {self.timeout} s waiting for the lock on {self.describe()} to "
                              f"{action} it, because another run has it. Retry, or raise timeout.")
        return StoreError(f"Cannot {action} {self.describe()}: {error}.")

    def check_version(self, connection):
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.describe()} has schema version {version}, newer than this collection's "
                             f"{SCHEMA_VERSION}; upgrade the oss_mlops.multicloud collection.")

    def create_schema(self, connection):
        self.check_version(connection)
        for statement in SCHEMA:
            connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @staticmethod
    def select_records(connection):
        exists = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'allocations'").fetchone()
        if not exists:
            return []
        rows = connection.execute(f"SELECT {', '.join(COLUMNS)} FROM allocations ORDER BY name").fetchall()
        return [record_from_row(row) for row in rows]

    @staticmethod
    def apply(connection, operations):
        placeholders = ", ".join(["?"] * len(COLUMNS))
        for action, record in operations:
            if action == "delete":
                connection.execute("DELETE FROM allocations WHERE name = ?", (record.name,))
            else:
                connection.execute(f"INSERT OR REPLACE INTO allocations ({', '.join(COLUMNS)}) "
                                   f"VALUES ({placeholders})", row_from_record(record))
