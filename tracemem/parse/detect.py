"""Which format a log is in (strace or dtruss), from its first lines: a module of its own so
that reading a strace log does not import the dtruss reader (and Lark with it)."""

from __future__ import annotations

import re

_DTRUSS_EVIDENCE = re.compile(
    r"SYSCALL\(args\)[ \t]*=[ \t]*return|^[ \t]*\d+/(?:0x[0-9a-f]+|\d+):[ \t]|"
    r"\)\t\t = (?:-?\d+|0x[0-9A-F]+) (?:0|Err#-?\d+)$|= -1 Err#\d+[ \t]*$"
)
_STRACE_EVIDENCE = re.compile(r"\) += (?:-?\d+|0x[0-9a-f]+|\?)(?: E[A-Z]+ \(.*\))?(?: <[\d.]+>)?$|^\+\+\+ |^--- SIG")


def looks_like_dtruss(lines: list[str]) -> bool:
    """Format detection from the first lines of a file."""
    d = s = 0
    for line in lines[:400]:
        if _DTRUSS_EVIDENCE.search(line):
            d += 1
        elif _STRACE_EVIDENCE.search(line):
            s += 1
    return d > s
