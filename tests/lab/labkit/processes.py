"""Start lab components as detached process groups and stop them again by pid file.

Each component runs in its own session (so a Ctrl-C in the caller's terminal does not reach it) and
writes a pid file `<pid> <start time>`. The start time, read from /proc, guards against a reused pid:
stop signals a process only when both match.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

STOP_GRACE_SECONDS = 10.0
LISTEN_STATE = "0A"


@dataclass(frozen=True)
class RunningProcess:
    name: str
    pid: int
    pid_file: Path


def process_start_time(pid: int) -> str | None:
    """Return the process start time in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in field 2 may contain spaces; the fields after the closing parenthesis do not.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return fields[19]


def start(name: str, argv: list[str], *, log_file: Path, pid_file: Path, env: dict[str, str], cwd: Path) -> int:
    """Start one component with stdout and stderr appended to its log; return its pid."""
    with open(log_file, "ab") as log:
        log.write(f"---- labctl starting {name}: {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    pid_file.write_text(f"{process.pid} {process_start_time(process.pid)}\n")
    return process.pid


def read_pid_file(pid_file: Path) -> RunningProcess | None:
    """Return the process a pid file names if that very process is still alive, else None."""
    try:
        pid_text, started = pid_file.read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    if process_start_time(pid) != started:
        return None
    return RunningProcess(pid_file.stem, pid, pid_file)


def alive_processes(run_dirs: list[Path]) -> list[RunningProcess]:
    running = []
    for run_dir in run_dirs:
        for pid_file in sorted(run_dir.glob("*.pid")):
            process = read_pid_file(pid_file)
            if process is not None:
                running.append(process)
    return running


def processes_running(executables: list[str], argument_text: str) -> list[int]:
    """Return pids whose argv[0] is one of `executables` and whose arguments contain `argument_text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        matches = argv[0] in executables and argument_text in " ".join(argv[1:])
        if matches and process_start_time(int(entry.name)) is not None:
            found.append(int(entry.name))
    return found


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        # Not a group leader (any more): signal the process itself.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def terminate(pids: list[int], grace_seconds: float = STOP_GRACE_SECONDS) -> list[int]:
    """Send SIGTERM to each pid's process group, SIGKILL after the grace period; return pids still alive."""
    started = {pid: process_start_time(pid) for pid in pids}
    targets = [pid for pid, start_time in started.items() if start_time is not None]
    for pid in targets:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        targets = [pid for pid in targets if process_start_time(pid) == started[pid]]
        if not targets:
            return []
        time.sleep(0.1)
    for pid in targets:
        _signal_group(pid, signal.SIGKILL)
    time.sleep(0.5)
    return [pid for pid in targets if process_start_time(pid) == started[pid]]


def _hex_address(address: str, port: int) -> str:
    octets = socket.inet_aton(address)
    return f"{int.from_bytes(octets, 'little'):08X}:{port:04X}"


def listening_sockets(endpoints: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Return the endpoints that have a TCP socket in LISTEN state, read from /proc/net/tcp."""
    endpoint_by_key = {_hex_address(address, port): (address, port) for address, port in endpoints}
    found = []
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if fields[3] == LISTEN_STATE and fields[1] in endpoint_by_key:
            found.append(endpoint_by_key[fields[1]])
    return found


def port_is_free(address: str, port: int) -> bool:
    """Try to bind address:port the way Go servers do (SO_REUSEADDR), so TIME_WAIT sockets do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True
