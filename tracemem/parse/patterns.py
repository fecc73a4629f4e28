"""The regular expressions the strace fast path runs over whole blocks, assembled from the
grammar's own terminals (so they accept what the grammar accepts, no more)."""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

from .grammar import terminal_regex

#: terminal colour codes (a log captured from a terminal); removed before parsing
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class BlockPatterns:
    """The block regex: one tuple per line; common syscall shapes captured, the rest in `other`.

    Everything after the return value (decoration, errno, details, duration) is matched by a
    second, smaller expression only when present.
    """

    # Each expression is compiled on first use: a block the compiled scanner reads whole needs
    # few of them, and compiling all costs ~30 ms of every command's start-up.
    def __init__(self) -> None:
        self._ok_cache: dict[str, bool] = {}

    @staticmethod
    def _prefix() -> str:
        # the grammar's prefix with the ranges lark_line checks (lines.py: a [pid N] of nine
        # digits at most, a time of day, an epoch stamp of 10 or 11 digits): a line out of
        # them is "other" here, and the per-line code reports it
        return (
            r"[ \t]*(?:(\d{1,9})[ \t]+|\[pid +(\d{1,9})\][ \t]*)?"
            r"(?:((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?|\d+\.\d{1,9}|\d{10,11})[ \t]+)?"
        )

    _NAME = r"(?:([A-Za-z_][A-Za-z0-9_]*)\(|<\.\.\. ([A-Za-z_][A-Za-z0-9_]*) resumed>)"

    @functools.cached_property
    def findall(self) -> Callable[[str], list[Any]]:
        """groups: pid, [pid N], stamp, name, resumed name, args, unfinished, ret, rest, other"""
        tail = r"(?:[ \t]*(<unfinished \.\.\.>)|\)[ \t]*=[ \t]*(" + terminal_regex("RETVAL") + r")(.*))"
        return re.compile(r"^(?:" + self._prefix() + self._NAME + r"(.*)" + tail + r"|(.*))$", re.M).findall

    @functools.cached_property
    def vector(self) -> Callable[[str], list[Any]]:
        """The same with the argument extent checked by the ARGS terminal inside the expression,
        and a plain " <duration>" ending split off: lines whose groups say "complete call,
        nothing after the duration" need no Python code of their own.

        groups: pid, [pid N], stamp, name, resumed name, args, unfinished, ret, duration, rest,
        other"""
        t = terminal_regex
        tailv = (r"(?:[ \t]*(<unfinished \.\.\.>)|\)[ \t]*=[ \t]*(" + t("RETVAL") + r")"
                 r"(?:[ \t]+<(\d+(?:\.\d{1,9})?)>[ \t]*$|(.*)))")
        return re.compile(
            r"^(?:" + self._prefix() + self._NAME + r"(" + t("ARGS") + r")?" + tailv + r"|(.*))$",
            re.M).findall

    @functools.cached_property
    def rest(self) -> Callable[[str], re.Match[str] | None]:
        """What may follow a return value: decoration, errno, (details), <duration>."""
        t = terminal_regex
        return re.compile(
            r"(?:[ \t]*((?!<(?:\d+(?:\.\d{1,9})?|unavailable)>)" + t("DECO") + "))?"
            r"(?:[ \t]*(" + t("ERRNO") + r"))?"
            r"((?:[ \t]*" + t("PAREN") + ")*)"
            r"(?:[ \t]*<(\d+(?:\.\d{1,9})?|unavailable)>)?[ \t]*"
        ).fullmatch

    @functools.cached_property
    def needs_check(self) -> Callable[[str], re.Match[str] | None]:
        """Text that can make an argument list unbalanced; without any, it is one ARGS token."""
        return re.compile(r'["()\[\]{}<]|/\*').search

    @functools.cached_property
    def args_ok(self) -> Callable[[str], re.Match[str] | None]:
        return re.compile("(?:" + terminal_regex("ARGS") + ")").fullmatch

    @functools.cached_property
    def parens(self) -> Callable[[str], list[str]]:
        return re.compile(terminal_regex("PAREN")).findall

    def compile_all(self) -> "BlockPatterns":
        """Compile every expression now (before a fork, so that workers inherit them)."""
        for name in ("findall", "vector", "rest", "needs_check", "args_ok", "parens"):
            getattr(self, name)
        return self

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
