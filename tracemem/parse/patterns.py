"""The regular expressions the strace fast path runs over whole blocks, assembled from the
grammar's own terminals (so they accept what the grammar accepts, no more)."""

from __future__ import annotations

import re

from .grammar import terminal_regex

#: terminal colour codes (a log captured from a terminal); removed before parsing
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class BlockPatterns:
    """The block regex: one tuple per line; common syscall shapes captured, the rest in `other`.

    Everything after the return value (decoration, errno, details, duration) is matched by a
    second, smaller expression only when present.
    """

    def __init__(self) -> None:
        t = terminal_regex
        # the grammar's prefix with the ranges lark_line checks (lines.py: a [pid N] of nine
        # digits at most, a time of day, an epoch stamp of 10 or 11 digits): a line out of
        # them is "other" here, and the per-line code reports it
        prefix = (
            r"[ \t]*(?:(\d{1,9})[ \t]+|\[pid +(\d{1,9})\][ \t]*)?"
            r"(?:((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?|\d+\.\d{1,9}|\d{10,11})[ \t]+)?"
        )
        name = r"(?:([A-Za-z_][A-Za-z0-9_]*)\(|<\.\.\. ([A-Za-z_][A-Za-z0-9_]*) resumed>)"
        tail = r"(?:[ \t]*(<unfinished \.\.\.>)|\)[ \t]*=[ \t]*(" + t("RETVAL") + r")(.*))"
        #: groups: pid, [pid N], stamp, name, resumed name, args, unfinished, ret, rest, other
        self.findall = re.compile(r"^(?:" + prefix + name + r"(.*)" + tail + r"|(.*))$", re.M).findall
        # The same with the argument extent checked by the ARGS terminal inside the expression,
        # and a plain " <duration>" ending split off: lines whose groups say "complete call,
        # nothing after the duration" need no Python code of their own.
        tailv = (r"(?:[ \t]*(<unfinished \.\.\.>)|\)[ \t]*=[ \t]*(" + t("RETVAL") + r")"
                 r"(?:[ \t]+<(\d+(?:\.\d{1,9})?)>[ \t]*$|(.*)))")
        #: groups: pid, [pid N], stamp, name, resumed name, args, unfinished, ret, duration, rest,
        #: other
        self.vector = re.compile(
            r"^(?:" + prefix + name + r"(" + t("ARGS") + r")?" + tailv + r"|(.*))$", re.M).findall
        #: what may follow a return value: decoration, errno, (details), <duration>
        self.rest = re.compile(
            r"(?:[ \t]*((?!<(?:\d+(?:\.\d{1,9})?|unavailable)>)" + t("DECO") + "))?"
            r"(?:[ \t]*(" + t("ERRNO") + r"))?"
            r"((?:[ \t]*" + t("PAREN") + ")*)"
            r"(?:[ \t]*<(\d+(?:\.\d{1,9})?|unavailable)>)?[ \t]*"
        ).fullmatch
        # Text that can make an argument list unbalanced; without any, it is one ARGS token.
        self.needs_check = re.compile(r'["()\[\]{}<]|/\*').search
        self.args_ok = re.compile("(?:" + t("ARGS") + ")").fullmatch
        self.parens = re.compile(t("PAREN")).findall
        self._ok_cache: dict[str, bool] = {}

    def cached_args_ok(self, args: str) -> bool | None:
        """ARGS fullmatch, remembered per text (argument lists repeat: paths, structs)."""
        cache = self._ok_cache
        ok = cache.get(args)
        if ok is None:
            if len(cache) > 50_000:
                cache.clear()
            ok = cache[args] = self.args_ok(args) is not None
        return True if ok else None


_PATTERNS: BlockPatterns | None = None


def block_patterns() -> BlockPatterns:
    """The patterns, built on first use (the grammar must be loaded for its terminals)."""
    global _PATTERNS
    if _PATTERNS is None:
        _PATTERNS = BlockPatterns()
    return _PATTERNS
