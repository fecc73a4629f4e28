"""Argument text into generic values without Lark, equal to :func:`.values.parse_args` (tested
differentially): integers by the grammar's own INT terminal, other single arguments parsed once
per distinct text and remembered, whole argument lists by a tokenizer built from the grammar's
terminals and a recursive-descent reading of the ``args`` rule."""

from __future__ import annotations

import re
from typing import Any

from .grammar import strace_terminals
from .values import (
    ELLIPSIS, CommentItem, DecoItem, NameItem, OpItem, ParenItem, Str, interpret, parse_arg, parse_args, parse_int,
    string_value, struct_value, unescape,
)

_HEX = frozenset("0123456789abcdefABCDEF")
_ARG_CACHE: dict[str, Any] = {}
_ARG_CACHE_MAX = 200_000


def fast_arg(text: str) -> Any:
    """The generic value of one argument; equal to ``parse_arg(text)`` (tested differentially)."""
    t = text.strip(" \t")
    if t.isascii():
        # The INT terminal: -?(0x[0-9a-fA-F]+|[0-9]+) and nothing else.
        body = t[1:] if t[:1] == "-" else t
        if body.isdigit():
            return parse_int(t)
        if body[:2] == "0x" and len(body) > 2 and all(c in _HEX for c in body[2:]):
            return -int(body, 16) if t[:1] == "-" else int(body, 16)
    value = _ARG_CACHE.get(text)
    if value is None:
        if len(_ARG_CACHE) >= _ARG_CACHE_MAX:
            _ARG_CACHE.clear()
        value = _ARG_CACHE[text] = _one_arg(text)
    return value


def _one_arg(text: str) -> Any:
    """``parse_arg`` by the Lark-free tokenizer when it reads the text as one argument (a flag
    chain, a struct): Lark decides otherwise."""
    global _FAST_ARGS
    if _FAST_ARGS is None:
        _FAST_ARGS = _FastArgs()
    try:
        values = _FAST_ARGS.parse(text)
    except (ValueError, IndexError, KeyError):
        values = None
    return values[0] if values is not None and len(values) == 1 else parse_arg(text)


# Syscalls whose arguments never contain strings or brackets, so ", " splits them; the number of
# arguments each takes (a different count sends the line through the full grammar).
SPLITTABLE = {
    "mmap": (6,), "mmap2": (6,), "munmap": (2,), "mprotect": (3,), "pkey_mprotect": (4,),
    "madvise": (3,), "brk": (1,), "mremap": (4, 5), "mseal": (3,), "shmat": (3,), "shmdt": (1,),
    "exit": (1,), "exit_group": (1,),
}


class _FastArgs:
    """A tokenizer built from the grammar's own terminals (in the order Lark's lexer tries them)
    and a recursive-descent reading of the ``args`` rule; equal to ``parse_args`` on every
    argument list the grammar accepts (tested differentially). Anything unusual raises, and
    the caller falls back to Lark."""

    NAMES = ("STRING", "COMMENT", "DECO", "INT", "NAME", "WORD", "OP", "ELLIPSIS", "CHAR", "LPAR", "RPAR",
             "LSQB", "RSQB", "LBRACE", "RBRACE", "COMMA")

    def __init__(self) -> None:
        terms = [t for t in strace_terminals().values() if t.name in self.NAMES]
        terms.sort(key=lambda t: (-t.priority, -t.max_width, -t.value_length, t.name))
        parts = [f"(?P<{t.name}>{t.regexp})" for t in terms]
        self.scan = re.compile("|".join(parts + [r"(?P<WS>[ \t]+)"])).match

    def tokens(self, text: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        pos = 0
        scan = self.scan
        end = len(text)
        while pos < end:
            m = scan(text, pos)
            if m is None:
                raise ValueError(pos)
            kind = m.lastgroup or ""  # every alternative is a named group
            if kind != "WS":
                out.append((kind, m.group()))
            pos = m.end()
        return out

    def parse(self, text: str) -> list[Any]:
        toks = self.tokens(text)
        toks.append(("$END", ""))
        values, pos = self._args(toks, 0, "$END")
        return values

    _CLOSE = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}

    def _args(self, toks: list[tuple[str, str]], pos: int, closer: str) -> tuple[list[Any], int]:
        args: list[Any] = []
        items: list[Any] = []
        while True:
            kind, value = toks[pos]
            pos += 1
            if kind == closer:
                args.append(interpret(items))
                break
            if kind == "COMMA":
                args.append(interpret(items))
                items = []
            elif kind in self._CLOSE:
                inner, pos = self._args(toks, pos, self._CLOSE[kind])
                if kind == "LPAR":
                    items.append(ParenItem(tuple(inner)))
                elif kind == "LSQB":
                    items.append(list(inner))
                else:
                    items.append(struct_value(inner))
            elif kind == "STRING":
                items.append(string_value(value))
            elif kind == "INT":
                items.append(parse_int(value))
            elif kind == "NAME" or kind == "WORD":
                items.append(NameItem(value))
            elif kind == "OP":
                items.append(OpItem(value))
            elif kind == "COMMENT":
                items.append(CommentItem(value[2:-2].strip()))
            elif kind == "DECO":
                items.append(DecoItem(value[1:-1]))
            elif kind == "ELLIPSIS":
                items.append(ELLIPSIS)
            elif kind == "CHAR":
                items.append(Str(unescape(value[1:-1])))
            else:
                raise ValueError(kind)
        if len(args) == 1 and args[0] is None:
            args = []
        return args, pos


_FAST_ARGS: _FastArgs | None = None


def fast_parse_args(text: str) -> list[Any]:
    """``parse_args`` without Lark for the argument lists it accepts; Lark decides otherwise."""
    global _FAST_ARGS
    if not text.strip():
        return []
    if _FAST_ARGS is None:
        _FAST_ARGS = _FastArgs()
    try:
        return _FAST_ARGS.parse(text)
    except (ValueError, IndexError, KeyError):
        return parse_args(text)


def generic_values(name: str, text: str, fast: bool) -> list[Any]:
    """Generic values of a decoded syscall's arguments, by the fast path or by plain Lark."""
    if fast:
        counts = SPLITTABLE.get(name)
        if counts is not None:
            if not text:
                parts: list[str] = []
            else:
                parts = text.split(",")
            if len(parts) in counts:
                return [fast_arg(p) for p in parts]
        return fast_parse_args(text)
    return parse_args(text)
