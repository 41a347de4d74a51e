"""The confirmation prompt of uninstall and unoffload (Printer.AskConfirm in pkg/liqoctl/output).

liqoctl prints "<command> is a potentially destructive command." and pterm's "Are you sure you want to continue?
[y/N]: " on stdout, then reads one key from the terminal. When stdin is not a terminal, liqoctl v1.0.3 never returns:
its keyboard library reads from a nil file in a loop. The stand-in prints the same text, then an ERRO line saying
so, and exits 1, so a caller that forgot --skip-confirm fails instead of hanging.
"""

from __future__ import annotations

import sys

from .output import LiqoctlExit


def confirm(invocation, command_name: str) -> None:
    """Return when confirmed (or --skip-confirm); otherwise exit 1 like liqoctl's "action aborted"."""
    if invocation.value("skip-confirm"):
        return
    sys.stdout.write(f"{command_name} is a potentially destructive command.\n")
    sys.stdout.write("Are you sure you want to continue? [y/N]: ")
    sys.stdout.flush()
    if not sys.stdin.isatty():
        sys.stdout.write("\n")
        sys.stdout.flush()
        invocation.printer.error(
            "stdin is not a terminal: real liqoctl would wait here for ever; pass --skip-confirm (liqoctl stand-in)"
        )
        raise LiqoctlExit(1)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise LiqoctlExit(1)
