# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: progress
type: aggregate
short_description: Print what a retried task waits for and how long it has waited
version_added: 0.1.0
description:
  - "For each retry of a task that uses C(until), prints one line such as this one:
    waiting for the scheduler to bind the smoke pod (mlops-consumer): 35 s of 600 s, attempt 8 of 121."
  - What it waits for is the task's name without a leading C(Wait for) or C(Wait until).
  - The time is counted from the start of the task on that host. The limit is C(retries) times C(delay), as set
    on the task; the task can run longer, because the time each attempt takes is not part of the limit.
  - The line goes to standard error, so that it does not mix with a JSON stdout callback.
  - Enable it with C(callbacks_enabled = oss_mlops.multicloud.progress) in C(ansible.cfg) or the
    E(ANSIBLE_CALLBACKS_ENABLED) environment variable.
author: OSS MLOps Platform contributors (@OSS-MLOPS-PLATFORM)
notes:
  - In a loop, each item's retries are timed from the start of the task, not from the start of the item.
"""

import re
import time

from ansible.plugins.callback import CallbackBase

WAIT_PREFIX = re.compile(r"^wait(?:ing)? (?:for|until) ", re.IGNORECASE)


def waiting_for(task_name):
    """Return what a task waits for, from its name: `Wait for the virtual node` -> `the virtual node`."""
    return WAIT_PREFIX.sub("", task_name.strip(), count=1) or task_name


def progress_line(task_name, host_name, elapsed_seconds, *, attempt, attempts, delay_seconds):
    """Format one progress line; `attempts` counts the first try and every retry."""
    limit_seconds = max(attempts - 1, 0) * delay_seconds
    return (f"waiting for {waiting_for(task_name)} ({host_name}): {int(elapsed_seconds)} s of {int(limit_seconds)} s, "
            f"attempt {attempt} of {attempts}")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "oss_mlops.multicloud.progress"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self._task_started = {}

    def v2_runner_on_start(self, host, task):
        self._task_started[(host.get_name(), task._uuid)] = time.monotonic()

    def v2_runner_retry(self, result):
        host_name = result._host.get_name()
        started = self._task_started.setdefault((host_name, result._task._uuid), time.monotonic())
        line = progress_line(
            result._task.get_name(),
            host_name,
            time.monotonic() - started,
            attempt=int(result._result.get("attempts", 0)),
            attempts=int(result._result.get("retries", 0)),
            delay_seconds=float(result._task.delay or 0),
        )
        self._display.display(line, stderr=True)
