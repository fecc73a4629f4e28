"""Argument values: the generic form every strace argument parses into, and the grammar's
reading of argument text into it (:func:`parse_args`, the authority).

The grammar (``args`` and ``arg`` rules of strace.lark) yields the items of each argument
(numbers, strings, names, operators, comments, decorations, bracket groups); :func:`interpret`
makes one value of them. The fast parser (:mod:`.fastargs`) produces the same items without Lark
and goes through the same :func:`interpret`, so the two agree as long as they agree on the items,
which the differential tests check. Typed records (``Mmap``, ``Clone`` ...) are built from these
values in :mod:`.decoders`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any



@dataclass(frozen=True, slots=True)
class Flags:
    """A flag expression "A|B|0x10", or a single symbolic name such as NULL or MADV_FREE."""

    parts: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Str:
    """A quoted string, decoded from C escapes; ``truncated`` when strace printed "..." after it."""

    value: str
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Decorated:
    """A value with a -y/-yy/-Y decoration: 3</usr/lib/libc.so.6> is (3, "/usr/lib/libc.so.6")."""

    value: Any
    decoration: str


@dataclass(frozen=True, slots=True)
class Commented:
    """A value followed by a comment: 0x7ffd736431f0 /* 35 vars */, 0x8 /* MADV_FREE */."""

    value: Any
    comment: str


@dataclass(frozen=True, slots=True)
class Struct:
    """A brace group: fields are (name, value); a field without a name has name None."""

    fields: tuple[tuple[str | None, Any], ...]

    def get(self, name: str, default: Any = None) -> Any:
        for key, value in self.fields:
            if key == name:
                return value
        return default


@dataclass(frozen=True, slots=True)
class KeyValue:
    """name=value at the top level of an argument list (clone's child_stack=..., flags=...)."""

    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class Modified:
    """A value strace printed on entry and on exit: {...} => {...}."""

    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class Expr:
    """Anything else (macro expressions, calls, ~[...], sequences): its pieces in order."""

    items: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Call:
    """A function-like form: makedev(0xfe, 0), htons(80)."""

    name: str
    args: tuple[Any, ...]


class Ellipsis_:
    """strace's "..." (elided remainder)."""

    def __repr__(self) -> str:
        return "..."


ELLIPSIS = Ellipsis_()


@dataclass(frozen=True)
class Resuming:
    """restart_syscall's argument "<... resuming interrupted nanosleep ...>": the interrupted call."""

    call: str

_ESCAPES = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, "e": 27, '"': 34, "\\": 92, "'": 39, "?": 63}
_ESC_RE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)")


def unescape(body: str) -> str:
    """Decode the C escapes strace writes inside quotes into text (bytes as UTF-8, bad bytes kept
    as surrogate escapes so nothing is lost)."""
    if "\\" not in body:
        return body

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] == "x":
            return chr(0xDC00 + int(code[1:], 16)) if int(code[1:], 16) >= 0x80 else chr(int(code[1:], 16))
        if code[0] in "01234567":
            value = int(code, 8) & 0xFF
            return chr(0xDC00 + value) if value >= 0x80 else chr(value)
        return chr(_ESCAPES.get(code, ord(code)))

    text = _ESC_RE.sub(one, body)
    # Re-assemble UTF-8 sequences that were escaped byte by byte.
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
    except UnicodeError:
        return text


def parse_int(text: str) -> int:
    """An INT token: hex, decimal, or octal with a leading 0 (strace prints modes as 0644)."""
    neg = text.startswith("-")
    body = text[1:] if neg else text
    if body.startswith(("0x", "0X")):
        value = int(body, 16)
    elif len(body) > 1 and body[0] == "0":
        value = int(body, 8) if body.isdigit() and "8" not in body and "9" not in body else int(body)
    else:
        value = int(body)
    return -value if neg else value


def string_value(token: str) -> Str:
    truncated = token.endswith("...")
    body = token[1:-4] if truncated else token[1:-1]
    return Str(unescape(body), truncated)


def interpret(items: list[Any]) -> Any:
    """Turn the items of one argument into a value."""
    if not items:
        return None
    if len(items) == 1:
        return _single(items[0])
    first = items[0]
    if isinstance(first, NameItem) and isinstance(items[1], OpItem) and items[1].text == "=":
        return KeyValue(first.text, interpret(items[2:]))
    if isinstance(items[-1], CommentItem):
        core = [it for it in items if not isinstance(it, CommentItem)]
        if len(core) >= 3 and _flag_chain(core):
            # -X verbose: "0x1200000 /* CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID */|17 /* SIGCHLD */"
            comments = " ".join(it.text for it in items if isinstance(it, CommentItem))
            return Commented(interpret(core), comments)
        return Commented(interpret(items[:-1]), items[-1].text)
    if isinstance(items[-1], DecoItem) and len(items) == 2:
        return Decorated(_single(items[0]), items[-1].text)
    if (len(items) == 3 and isinstance(items[1], DecoItem) and isinstance(items[2], ParenItem)
            and len(items[2].values) == 1 and isinstance(items[2].values[0], Flags)):
        # -y on a file that was removed: 3</tmp/#2146456>(deleted)
        return Decorated(_single(items[0]), f"{items[1].text} ({items[2].values[0].parts[0]})")
    if len(items) >= 3 and _flag_chain(items):
        return Flags(tuple(it.text if isinstance(it, NameItem) else it for it in items[::2]))
    arrow = [i for i, it in enumerate(items) if isinstance(it, OpItem) and it.text == "=>"]
    if len(arrow) == 1:
        i = arrow[0]
        return Modified(interpret(items[:i]), interpret(items[i + 1 :]))
    if len(items) == 2 and isinstance(first, NameItem) and isinstance(items[1], ParenItem):
        return Call(first.text, items[1].values)
    return Expr(tuple(_single(it) for it in items))


def _flag_chain(items: list[Any]) -> bool:
    """NAME|NAME|0x10 ...: names or numbers joined by single "|" operators."""
    return len(items) % 2 == 1 and all(
        (isinstance(it, OpItem) and it.text == "|") if i % 2 else isinstance(it, (NameItem, int))
        for i, it in enumerate(items)
    )


def _single(item: Any) -> Any:
    if isinstance(item, NameItem):
        return Flags((item.text,))
    if isinstance(item, ParenItem):
        return Expr(item.values)
    if isinstance(item, CommentItem):
        return Commented(None, item.text)
    if isinstance(item, (OpItem, DecoItem)):
        return Expr((item.text,))
    return item


# The items of one argument as both argument parsers produce them (besides numbers, strings,
# arrays and structs, which are values already); interpret() makes one value of them.


@dataclass(frozen=True, slots=True)
class NameItem:
    """A bare name: a constant, a flag, a field name before "="."""

    text: str


@dataclass(frozen=True, slots=True)
class OpItem:
    """An operator: "|", "=", "=>", "&&", ..."""

    text: str


@dataclass(frozen=True, slots=True)
class CommentItem:
    """A /* comment */, its text stripped."""

    text: str


@dataclass(frozen=True, slots=True)
class DecoItem:
    """A <decoration>, without the brackets."""

    text: str


@dataclass(frozen=True, slots=True)
class ParenItem:
    """A parenthesised group: its values."""

    values: tuple[Any, ...]


def struct_value(args: list[Any]) -> Struct:
    fields: list[tuple[str | None, Any]] = []
    for value in args:
        if isinstance(value, KeyValue):
            fields.append((value.key, value.value))
        else:
            fields.append((None, value))
    return Struct(tuple(fields))




class ArgsSyntaxError(ValueError):
    """Argument text that the ``args`` rule rejects; ``column`` is 1-based within the text."""

    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.column = column


def parse_args(text: str) -> list[Any]:
    """Parse an argument list into generic values with the grammar (the on-demand path)."""
    if not text.strip():
        return []
    from .larkargs import lark_args  # Lark is imported when a line first needs it

    return lark_args(text)


def parse_arg(text: str) -> Any:
    """Parse one argument into a generic value with the grammar."""
    from .larkargs import lark_arg

    return lark_arg(text)
