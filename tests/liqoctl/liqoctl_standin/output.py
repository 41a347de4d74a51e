"""Log lines shaped like liqoctl's pterm printers (liqoctl v1.0.3 pkg/liqoctl/output, pterm v0.12.79).

liqoctl disables pterm styling when stdout is not a terminal. pterm then prints "INFO: message" and drops the
(local)/(remote) scope. Each spinner prints its text on start, then clears the line with carriage returns and
80 spaces before its final INFO/WARN/ERRO line. On a terminal the prefix is " INFO " and the scope stays. The stand-in
reproduces both forms without colours or spinner animation. Everything goes to stderr, as in liqoctl.
"""

from __future__ import annotations

import sys

# pterm's width fallback when stdout is not a terminal.
_TERMINAL_WIDTH_FALLBACK = 80


def styling_disabled() -> bool:
    """Return whether liqoctl would run pterm in raw mode (stdout is not a terminal)."""
    return not sys.stdout.isatty()


class Printer:
    """INFO/WARN/ERRO printer, optionally scoped to the local or remote cluster."""

    def __init__(self, scope: str = "", verbose: bool = False, stream=None):
        self.scope = scope
        self.verbose = verbose
        self._stream = stream

    @property
    def stream(self):
        """Output stream, resolved at use time so tests can swap sys.stderr."""
        return self._stream or sys.stderr

    def format(self, level: str, message: str) -> str:
        """Return one message formatted with its prefix, without the trailing newline."""
        if styling_disabled():
            return f"{level}: {message}"
        lines = message.split("\n")
        scope = f" ({self.scope}) " if self.scope else ""
        text = f" {level}  {scope}{lines[0]}"
        for line in lines[1:]:
            text += "\n" + " " * (len(level) + 2) + " " + line
        return text

    def info(self, message: str) -> None:
        """Print an INFO line."""
        self._write(self.format("INFO", message) + "\n")

    def warning(self, message: str) -> None:
        """Print a WARN line."""
        self._write(self.format("WARN", message) + "\n")

    def error(self, message: str) -> None:
        """Print an ERRO line."""
        self._write(self.format("ERRO", message) + "\n")

    def verbosef(self, message: str) -> None:
        """Print an INFO line only with -v/--verbose."""
        if self.verbose:
            self.info(message.rstrip("\n"))

    def spinner(self, text: str) -> Spinner:
        """Start a spinner; its outcome is printed by success(), warning() or fail()."""
        return Spinner(self, text)

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


class Spinner:
    """A pterm spinner reduced to its start line and final line."""

    def __init__(self, printer: Printer, text: str):
        self.printer = printer
        self.text = text
        if styling_disabled():
            printer._write(text + "\n")

    def _finish(self, level: str, message: str) -> None:
        cleared = "\r" + " " * _TERMINAL_WIDTH_FALLBACK if styling_disabled() else ""
        self.printer._write(f"{cleared}\r{self.printer.format(level, message)}\n")

    def success(self, message: str) -> None:
        """Finish with an INFO line."""
        self._finish("INFO", message)

    def warning(self, message: str) -> None:
        """Finish with a WARN line."""
        self._finish("WARN", message)

    def fail(self, message: str) -> None:
        """Finish with an ERRO line."""
        self._finish("ERRO", message)


class LiqoctlExit(Exception):  # noqa: N818 - it is a control-flow signal, like SystemExit
    """Stop the command with an exit code after the messages were printed (liqoctl's os.Exit paths)."""

    def __init__(self, code: int = 1):
        super().__init__(code)
        self.code = code
