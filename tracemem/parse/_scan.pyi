"""Types of the compiled line splitter (_scan.c; see its opening comment for what it takes)."""

from typing import AbstractSet, Any

#: bumped whenever scan()'s behaviour or result changes (strace.py ignores a stale build)
ABI: int

def scan(text: str, names: AbstractSet[str] | None = None, mask: int = ...
         ) -> tuple[bytes, bool, bool, list[str], tuple[list[Any], ...]] | None:
    """A block of strace lines (joined by "\\n"): (kinds, has_pid, missing_pid, pids, columns),
    one kind byte per line (S U J X G O); None when the text is not ASCII."""
