"""Command-line interface of tests/lab/labctl."""

import argparse
import sys
import time
from pathlib import Path

from . import build, lab, paths, topology
from .bootstrap import BootstrapError
from .kubeapi import ApiError

DESCRIPTION = """\
Build, start, stop and inspect the lab: real kube-apiserver, etcd, kube-controller-manager and
kube-scheduler per cluster, nodes simulated by KWOK, all on loopback addresses 127.<10+slot>.<i>.1.
"""


def log(message: str) -> None:
    print(f"labctl: {message}", file=sys.stderr, flush=True)


def command_build(args: argparse.Namespace) -> int:
    started = time.monotonic()
    build.build_all(log, force=args.force)
    log(f"build finished in {time.monotonic() - started:.1f} s")
    return 0


def command_start(args: argparse.Namespace) -> int:
    lab_topology = topology.load(Path(args.topology), args.slot)
    lab.start(args.state.resolve(), lab_topology, log, owner_pid=args.owner_pid)
    return 0


def command_stop(args: argparse.Namespace) -> int:
    lab.stop(args.state.resolve(), log, wipe=args.wipe)
    return 0


def command_status(args: argparse.Namespace) -> int:
    return 0 if lab.status(args.state.resolve(), print) else 1


def command_watch(args: argparse.Namespace) -> int:
    lab.watch(args.state.resolve(), args.owner_pid, log)
    return 0


def slot_number(text: str) -> int:
    try:
        slot = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid slot {text!r}: expected a number 0..{paths.MAX_SLOT}") from None
    if not 0 <= slot <= paths.MAX_SLOT:
        raise argparse.ArgumentTypeError(f"slot {slot} is out of range 0..{paths.MAX_SLOT}")
    return slot


def _add_state_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--state",
        type=Path,
        default=paths.default_state_dir(),
        help="state directory of the lab (default: $OSS_MLOPS_LAB_STATE or <repo>/.lab)",
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="labctl", description=DESCRIPTION)
    commands = root.add_subparsers(dest="command", required=True)

    build_command = commands.add_parser("build", help="build the control-plane binaries and cache the Liqo CRDs")
    build_command.add_argument("--force", action="store_true", help="rebuild even when the cached outputs match")
    build_command.set_defaults(handler=command_build)

    start_command = commands.add_parser("start", help="build if needed, start every cluster and wait until ready")
    _add_state_option(start_command)
    start_command.add_argument("--topology", default=str(paths.DEFAULT_TOPOLOGY), help="topology file (YAML)")
    start_command.add_argument(
        "--slot",
        type=slot_number,
        default=paths.default_slot(),
        help="address slot 0..245: cluster i listens on 127.<10+slot>.<i>.1 (default: $OSS_MLOPS_LAB_SLOT or 0)",
    )
    start_command.add_argument(
        "--owner-pid",
        type=int,
        help="stop the lab automatically once this process exits (used by the pytest fixture)",
    )
    start_command.set_defaults(handler=command_start)

    stop_command = commands.add_parser("stop", help="stop every process of the lab and wait until its ports are free")
    _add_state_option(stop_command)
    stop_command.add_argument("--wipe", action="store_true", help="also remove the state directory")
    stop_command.set_defaults(handler=command_stop)

    status_command = commands.add_parser("status", help="print each cluster, its API URL and whether /readyz answers")
    _add_state_option(status_command)
    status_command.set_defaults(handler=command_status)

    watch_command = commands.add_parser("watch", help=argparse.SUPPRESS)
    _add_state_option(watch_command)
    watch_command.add_argument("--owner-pid", type=int, required=True)
    watch_command.set_defaults(handler=command_watch)
    return root


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except topology.TopologyError as error:
        log(f"invalid topology: {error}")
    except (build.BuildError, lab.LabError, BootstrapError, ApiError) as error:
        log(f"error: {error}")
    except KeyboardInterrupt:
        log("interrupted")
    return 1
