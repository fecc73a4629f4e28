"""One exception hierarchy for tracemem: every message says where and what to do, and every
class carries the exit code the command line ends with (README, "Exit codes")."""

from __future__ import annotations


class TracememError(Exception):
    """Base class of every error tracemem raises on purpose."""

    #: The exit code of ``tracemem`` when this error ends a command.
    exit_code = 2


class InputError(TracememError):
    """An input file cannot be read: missing, unreadable, corrupt compression, or not a trace."""


class UsageError(TracememError):
    """An option or argument given to the library or the CLI is not valid."""


class OutputError(UsageError):
    """An output cannot be written: its folder is missing or not writable, it names a folder, or
    writing failed (disk full, permissions)."""


class TraceParseError(TracememError):
    """A line of a trace does not follow the strace or dtruss syntax.

    Carries the file, the 1-based line and column, the offending line and a short reason,
    and renders them with a caret under the column. Raised on a line error with ``strict``.
    """

    exit_code = 1

    def __init__(self, path: str, line_no: int, column: int, line: str, reason: str):
        self.path = path
        self.line_no = line_no
        self.column = column
        self.line = line
        self.reason = reason
        super().__init__(self.render())

    def excerpt(self, width: int = 100) -> str:
        """The line (cut around the column when long) with a caret under the column."""
        text = self.line.replace("\t", " ")
        col = max(self.column - 1, 0)
        start = 0
        if len(text) > width:
            start = max(0, min(col - width // 2, len(text) - width))
            text = text[start : start + width]
            if start > 0:
                text = "..." + text
                col += 3
            if start + width < len(self.line):
                text = text + "..."
        safe = "".join(ch if ch.isprintable() else "?" for ch in text)
        return f"  {safe}\n  {' ' * (col - start)}^"

    def render(self) -> str:
        return (
            f"{self.path}:{self.line_no}:{self.column}: {self.reason}\n{self.excerpt()}"
        )
