"""Entry point: cobra v1.8.1 command lookup, flag parsing, help and error output, then the command handler.

The order of checks is cobra's: find the subcommand, parse flags ("Error: unknown flag: --x"), print help for
--help or a command that cannot run, validate positional arguments ("Error: unknown command "x" for "liqoctl
install""), run the persistent pre-run (kubeconfig loading), the pre-run, the required-flag check, then the
command. Errors cobra reports are printed as "Error: ..." on stderr with exit code 1; errors liqoctl reports go
through its printers (ERRO lines) and also exit 1.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field

from . import commands
from .commands import Command
from .factory import Factory
from .flags import Flag, FlagError, FlagSet
from .goformat import format_duration, quote
from .output import LiqoctlExit, Printer

VERSION_ENV = "LIQOCTL_STANDIN_VERSION"
DEFAULT_VERSION = "v1.0.3"
ARGV0_ENV = "LIQOCTL_STANDIN_ARGV0"


class CobraError(Exception):
    """An error cobra prints as "Error: <message>"."""


@dataclass
class Invocation:
    """Everything a command handler needs."""

    command: Command
    flags: FlagSet
    args: list[str]
    root_name: str
    client_version: str
    local: Factory | None = None
    remote: Factory | None = None
    extra: dict = field(default_factory=dict)

    def value(self, name: str):
        """Parsed value of a flag."""
        return self.flags.value(name)

    def changed(self, name: str) -> bool:
        """Whether the flag was given."""
        return self.flags.changed(name)

    @property
    def printer(self) -> Printer:
        """The local cluster's printer."""
        return self.local.printer

    def command_path(self) -> str:
        """Command path as cobra prints it, e.g. "liqoctl install"."""
        names = [command.name for command in reversed(self.command.lineage())]
        names[0] = self.root_name
        return " ".join(names)


def client_version() -> str:
    """The version the stand-in reports as its own (LIQOCTL_STANDIN_VERSION, default v1.0.3)."""
    return os.environ.get(VERSION_ENV) or DEFAULT_VERSION


def root_name() -> str:
    """liqoctl uses os.Args[0] as its command name; a wrapper script can pass its own $0 in LIQOCTL_STANDIN_ARGV0."""
    name = os.environ.get(ARGV0_ENV) or "liqoctl"
    base = os.path.basename(name)
    if base.startswith("kubectl-"):
        return base.replace("-", " ").replace("_", "-")
    return name


def merged_flags(command: Command) -> FlagSet:
    """The flags cobra parses for a command: its own, then persistent ones from itself and its ancestors."""
    flag_set = FlagSet()
    for flag in command.local_flags():
        flag_set.add(flag)
    for node in command.lineage():
        for flag in node.persistent_flags():
            flag_set.add(flag)
    flag_set.add(Flag("help", "bool", False, f"help for {command.name}", shorthand="h"))
    return flag_set


def _flag_takes_value(flag_set: FlagSet, arg: str) -> bool:
    # cobra's stripFlags: "--flag value" and "-f value" consume the next word unless the flag is boolean.
    if "=" in arg:
        return False
    if arg.startswith("--"):
        flag = flag_set.lookup(arg[2:])
        return flag is None or not flag.takes_no_argument
    if arg.startswith("-") and len(arg) == 2:
        flag = flag_set.lookup_shorthand(arg[1])
        return flag is None or not flag.takes_no_argument
    return False


def _strip_flags(args: list[str], command: Command) -> list[str]:
    flag_set = merged_flags(command)
    words: list[str] = []
    remaining = list(args)
    while remaining:
        arg = remaining.pop(0)
        if arg == "--":
            break
        if _flag_takes_value(flag_set, arg):
            if len(remaining) <= 1:
                break
            remaining.pop(0)
        elif arg and not arg.startswith("-"):
            words.append(arg)
    return words


def _without_first(args: list[str], word: str, command: Command) -> list[str]:
    flag_set = merged_flags(command)
    position = 0
    while position < len(args):
        arg = args[position]
        if arg == "--":
            break
        if _flag_takes_value(flag_set, arg):
            position += 2
            continue
        if not arg.startswith("-") and arg == word:
            return args[:position] + args[position + 1 :]
        position += 1
    return args


def find(root: Command, args: list[str]) -> tuple[Command, list[str]]:
    """Walk down the tree like cobra's Command.Find."""
    command = root
    while True:
        words = _strip_flags(args, command)
        if not words:
            return command, args
        child = command.find_child(words[0])
        if child is None:
            return command, args
        args = _without_first(args, words[0], command)
        command = child


def help_text(command: Command, path: str, flag_set: FlagSet) -> str:
    """A cobra-style help page for a command."""
    lines = [command.short, "", "Usage:"]
    if command.runnable or command.args == "any":
        suffix = " [flags]" if command.args == "none" else " [args] [flags]"
        lines.append(f"  {path}{suffix}")
    if command.children:
        lines.append(f"  {path} [command]")
    if command.aliases:
        lines += ["", "Aliases:", "  " + ", ".join((command.name, *command.aliases))]
    if command.children:
        lines += ["", "Available Commands:"]
        width = max(len(child.name) for child in command.children)
        lines += [f"  {child.name.ljust(width)}   {child.short}" for child in command.children]
    own = {flag.name for flag in command.local_flags()} | {flag.name for flag in command.persistent_flags()}
    own.add("help")
    local = [flag for flag in flag_set if flag.name in own and not flag.hidden]
    inherited = [flag for flag in flag_set if flag.name not in own and not flag.hidden]
    for title, group in (("Flags:", local), ("Global Flags:", inherited)):
        if group:
            lines += ["", title, *_flag_lines(group)]
    if command.children:
        lines += ["", f'Use "{path} [command] --help" for more information about a command.']
    return "\n".join(lines) + "\n"


def _flag_lines(group: list[Flag]) -> list[str]:
    entries = []
    for flag in group:
        head = f"  -{flag.shorthand}, --{flag.name}" if flag.shorthand else f"      --{flag.name}"
        if flag.type_name():
            head += f" {flag.type_name()}"
        usage = flag.usage
        default = flag.default
        if flag.kind == "duration":
            usage += f" (default {format_duration(default)})"
        elif flag.kind == "bool" and default:
            usage += " (default true)"
        elif flag.kind in ("string", "enum", "clusterID") and default:
            usage += f" (default {quote(default)})"
        elif flag.kind in ("int", "int32") and default:
            usage += f" (default {default})"
        entries.append((head, usage))
    width = max(len(head) for head, _unused in entries)
    return [f"{head.ljust(width)}   {usage}" for head, usage in entries]


def _fail(message: str) -> int:
    sys.stderr.write(f"Error: {message}\n")
    sys.stderr.flush()
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run liqoctl with argv (without the program name) and return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    version = client_version()
    root = commands.build(version)
    if argv[:1] == ["help"]:
        target, _unused = find(root, argv[1:])
        path = Invocation(target, FlagSet(), [], root_name(), version).command_path()
        sys.stdout.write(help_text(target, path, merged_flags(target)))
        return 0
    command, rest = find(root, argv)
    flag_set = merged_flags(command)
    invocation = Invocation(command, flag_set, [], root_name(), version)
    try:
        positional = flag_set.parse(rest)
    except FlagError as error:
        return _fail(str(error))
    invocation.args = positional
    if flag_set.value("help") or not command.runnable:
        sys.stdout.write(help_text(command, invocation.command_path(), flag_set))
        return 0
    if command.args == "none" and positional:
        return _fail(f'unknown command "{positional[0]}" for "{invocation.command_path()}"')
    try:
        return _execute(invocation)
    except LiqoctlExit as stop:
        return stop.code
    except CobraError as error:
        return _fail(str(error))


def _execute(invocation: Invocation) -> int:
    command = invocation.command
    if not command.implemented:
        raise CobraError(
            f'"{invocation.command_path()}" is not implemented by the liqoctl stand-in '
            "(tests/liqoctl); only version, info, install, uninstall, peer, unpeer, offload and "
            "unoffload are"
        )
    pre_run = next((node.pre_run for node in command.lineage() if node.pre_run), "single")
    module_name, function_name = command.handler.split(":")
    module = importlib.import_module(f"{__package__}.{module_name}")
    _persistent_pre_run(invocation, pre_run, module)
    pre = getattr(module, "pre_run", None)
    if pre is not None:
        pre(invocation)
    missing = invocation.flags.missing_required()
    if missing:
        raise CobraError('required flag(s) "' + '", "'.join(missing) + '" not set')
    result = getattr(module, function_name)(invocation)
    return 0 if result is None else result


def _persistent_pre_run(invocation: Invocation, pre_run: str, module) -> None:
    verbose_flag = invocation.flags.lookup("verbose")
    # info redefines -v/--verbose for its own output, so it does not make the printers verbose.
    verbose = bool(verbose_flag and verbose_flag.value) and invocation.command_path().split()[1:2] != ["info"]
    scoped = pre_run == "two"
    invocation.local = Factory(invocation.flags, remote=False, verbose=verbose, scoped=scoped)
    invocation.local.initialize()
    if pre_run == "two":
        invocation.remote = Factory(invocation.flags, remote=True, verbose=verbose, scoped=True)
        invocation.remote.initialize()
        if invocation.local.config.identity() == invocation.remote.config.identity():
            invocation.local.check_err("local and remote clusters must be different")
    if pre_run == "install":
        module.persistent_pre_run(invocation)
