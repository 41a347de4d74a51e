# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Backend options of both allocation modules, shared through the action group oss_mlops.multicloud.allocation.
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - Where the allocation table is kept.
      - V(sqlite) keeps it in an SQLite file on the host that runs the module, usually the controller. It needs
        no setup and is safe for concurrent runs on that host, but not for several controllers.
      - V(kubernetes) keeps it in a cluster, usually the consumer, as one C(ClusterAllocation) object per
        allocation plus an index ConfigMap. Use it when several controllers or AWX jobs allocate.
    type: str
    choices: [sqlite, kubernetes]
    default: sqlite
  database:
    description:
      - Path of the SQLite file, with O(backend=sqlite).
      - When not set, the E(OSS_MLOPS_ALLOCATION_DATABASE) environment variable, else
        C($XDG_STATE_HOME/oss_mlops/cluster_allocations.sqlite3), where E(XDG_STATE_HOME) defaults to
        C(~/.local/state).
      - The directory is created with mode 0700 and the file with mode 0600 on the first write. Keep it on a
        local file system, because SQLite's locks are unreliable on NFS and similar shares.
    type: path
  kubeconfig:
    description:
      - Path to the kubeconfig file of the cluster that keeps the table, with O(backend=kubernetes).
      - When not set, the E(K8S_AUTH_KUBECONFIG) environment variable, then E(KUBECONFIG) (one file only),
        then C(~/.kube/config).
      - The file is only read. Credentials found in it are masked in the module output.
    type: path
  context:
    description:
      - Name of the kubeconfig context to use, with O(backend=kubernetes). The current context of the file
        when not set.
      - Can also be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  namespace:
    description:
      - Namespace that holds the table, with O(backend=kubernetes). It is created on the first write.
    type: str
    default: oss-mlops-allocations
  timeout:
    description:
      - Seconds one run may wait for other runs, with either backend.
      - With O(backend=sqlite), how long a write waits for the database lock.
      - With O(backend=kubernetes), how long a write retries after losing to concurrent writes. Keep it above 30,
        because a write left pending by a failed run is finished by the next run only after 30 seconds.
    type: int
    default: 60
requirements:
  - kubernetes >= 29.0.0 (Python library, on the host that runs the module), with O(backend=kubernetes)
notes:
  - Run the allocation modules on the controller, with C(delegate_to) set to V(localhost) or a local
    connection, so that every run of a playbook uses the same table.
  - Both allocation modules belong to the action group C(oss_mlops.multicloud.allocation), so O(backend),
    O(database), O(kubeconfig), O(context), O(namespace) and O(timeout) can be set once with C(module_defaults)
    and C(group/oss_mlops.multicloud.allocation).
"""
