"""Argument values: the generic form every strace argument parses into, and the typed form of
memory and process syscalls built from it.

The grammar (``args`` and ``arg`` rules of strace.lark) turns argument text into generic values;
:func:`decode` maps a syscall's generic values onto its typed record (``Mmap``, ``Clone`` ...).
Both parsers (the fast path and plain Lark) go through :func:`decode`, so they agree on typing
as long as they agree on the generic values, which the differential tests check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from lark import Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedInput

from .. import flags as F
from ..events import (
    Brk, Clone, Decoded, Execve, Exit, Madvise, Mmap, Mprotect, Mremap, Mseal, Munmap,
    PrctlSetVma, ProcessMadvise, Shmat, Shmdt,
)
from .grammar import strace_parser


# ----------------------------------------------------------------------------------------------
# Generic values
# ----------------------------------------------------------------------------------------------


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


def _string(token: str) -> Str:
    truncated = token.endswith("...")
    body = token[1:-4] if truncated else token[1:-1]
    return Str(unescape(body), truncated)


def _interpret(items: list[Any]) -> Any:
    """Turn the items of one argument into a value."""
    if not items:
        return None
    if len(items) == 1:
        return _single(items[0])
    first = items[0]
    if isinstance(first, _Name) and isinstance(items[1], _Op) and items[1].text == "=":
        return KeyValue(first.text, _interpret(items[2:]))
    if isinstance(items[-1], _Comment):
        core = [it for it in items if not isinstance(it, _Comment)]
        if len(core) >= 3 and _flag_chain(core):
            # -X verbose: "0x1200000 /* CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID */|17 /* SIGCHLD */"
            comments = " ".join(it.text for it in items if isinstance(it, _Comment))
            return Commented(_interpret(core), comments)
        return Commented(_interpret(items[:-1]), items[-1].text)
    if isinstance(items[-1], _Deco) and len(items) == 2:
        return Decorated(_single(items[0]), items[-1].text)
    if (len(items) == 3 and isinstance(items[1], _Deco) and isinstance(items[2], _Paren)
            and len(items[2].values) == 1 and isinstance(items[2].values[0], Flags)):
        # -y on a file that was removed: 3</tmp/#2146456>(deleted)
        return Decorated(_single(items[0]), f"{items[1].text} ({items[2].values[0].parts[0]})")
    if len(items) >= 3 and _flag_chain(items):
        return Flags(tuple(it.text if isinstance(it, _Name) else it for it in items[::2]))
    arrow = [i for i, it in enumerate(items) if isinstance(it, _Op) and it.text == "=>"]
    if len(arrow) == 1:
        i = arrow[0]
        return Modified(_interpret(items[:i]), _interpret(items[i + 1 :]))
    if len(items) == 2 and isinstance(first, _Name) and isinstance(items[1], _Paren):
        return Call(first.text, items[1].values)
    return Expr(tuple(_single(it) for it in items))


def _flag_chain(items: list[Any]) -> bool:
    """NAME|NAME|0x10 ...: names or numbers joined by single "|" operators."""
    return len(items) % 2 == 1 and all(
        (isinstance(it, _Op) and it.text == "|") if i % 2 else isinstance(it, (_Name, int))
        for i, it in enumerate(items)
    )


def _single(item: Any) -> Any:
    if isinstance(item, _Name):
        return Flags((item.text,))
    if isinstance(item, _Paren):
        return Expr(item.values)
    if isinstance(item, _Comment):
        return Commented(None, item.text)
    if isinstance(item, (_Op, _Deco)):
        return Expr((item.text,))
    return item


@dataclass(frozen=True, slots=True)
class _Name:
    text: str


@dataclass(frozen=True, slots=True)
class _Op:
    text: str


@dataclass(frozen=True, slots=True)
class _Comment:
    text: str


@dataclass(frozen=True, slots=True)
class _Deco:
    text: str


@dataclass(frozen=True, slots=True)
class _Paren:
    values: tuple[Any, ...]


class ArgsTransformer(Transformer):
    """Builds generic values from the ``args``/``arg`` parse tree."""

    def args(self, children: list[Any]) -> list[Any]:
        if len(children) == 1 and children[0] is None:
            return []
        return list(children)

    def arg(self, children: list[Any]) -> Any:
        return _interpret(children)

    @v_args(inline=True)
    def string(self, tok: Token) -> Str:
        return _string(str(tok))

    @v_args(inline=True)
    def comment(self, tok: Token) -> _Comment:
        return _Comment(str(tok)[2:-2].strip())

    @v_args(inline=True)
    def deco(self, tok: Token) -> _Deco:
        return _Deco(str(tok)[1:-1])

    @v_args(inline=True)
    def int(self, tok: Token) -> int:
        return parse_int(str(tok))

    @v_args(inline=True)
    def name(self, tok: Token) -> _Name:
        return _Name(str(tok))

    @v_args(inline=True)
    def op(self, tok: Token) -> _Op:
        return _Op(str(tok))

    @v_args(inline=True)
    def ellipsis(self, tok: Token) -> Ellipsis_:
        return ELLIPSIS

    @v_args(inline=True)
    def char(self, tok: Token) -> Str:
        return Str(unescape(str(tok)[1:-1]))

    @v_args(inline=True)
    def paren(self, args: list[Any]) -> _Paren:
        return _Paren(tuple(args))

    @v_args(inline=True)
    def array(self, args: list[Any]) -> list[Any]:
        return list(args)

    @v_args(inline=True)
    def struct(self, args: list[Any]) -> Struct:
        return _struct(args)


def _struct(args: list[Any]) -> Struct:
    fields = []
    for value in args:
        if isinstance(value, KeyValue):
            fields.append((value.key, value.value))
        else:
            fields.append((None, value))
    return Struct(tuple(fields))


_TRANSFORMER = ArgsTransformer()


class ArgsSyntaxError(ValueError):
    """Argument text that the ``args`` rule rejects; ``column`` is 1-based within the text."""

    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.column = column


def parse_args(text: str) -> list[Any]:
    """Parse an argument list into generic values with the grammar (the on-demand path)."""
    if not text.strip():
        return []
    try:
        tree = strace_parser().parse(text, start="args")
    except UnexpectedInput as exc:
        raise ArgsSyntaxError(_describe(exc), exc.column if isinstance(exc.column, int) else 1) from None
    except LarkError as exc:  # pragma: no cover - grammar-level failures
        raise ArgsSyntaxError(str(exc), 1) from None
    return _TRANSFORMER.transform(tree)


def parse_arg(text: str) -> Any:
    """Parse one argument into a generic value with the grammar."""
    try:
        tree = strace_parser().parse(text, start="arg")
    except UnexpectedInput as exc:
        raise ArgsSyntaxError(_describe(exc), exc.column if isinstance(exc.column, int) else 1) from None
    return _TRANSFORMER.transform(tree)


def _describe(exc: UnexpectedInput) -> str:
    token = getattr(exc, "token", None)
    if token is not None and getattr(token, "type", None) == "$END":
        return "unexpected end of line"
    char = getattr(exc, "char", None)
    if char is not None:
        return f"unexpected character {char!r}"
    if token is not None:
        return f"unexpected {str(token)!r}"
    return "syntax error"


# ----------------------------------------------------------------------------------------------
# Fast per-argument decoding for memory syscalls: integers by the grammar's own INT terminal,
# everything else parsed once per distinct text with the grammar and cached.
# ----------------------------------------------------------------------------------------------

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
        value = _ARG_CACHE[text] = parse_arg(text)
    return value


# Syscalls whose arguments never contain strings or brackets, so ", " splits them; the number of
# arguments each takes (a different count sends the line through the full grammar).
SPLITTABLE = {
    "mmap": (6,), "mmap2": (6,), "munmap": (2,), "mprotect": (3,), "pkey_mprotect": (4,),
    "madvise": (3,), "brk": (1,), "mremap": (4, 5), "mseal": (3,), "shmat": (3,), "shmdt": (1,),
    "exit": (1,), "exit_group": (1,),
}

DECODED_SYSCALLS = frozenset(
    list(SPLITTABLE) + ["process_madvise", "prctl", "execve", "execveat", "clone", "clone3", "fork", "vfork"]
)


class _FastArgs:
    """A tokenizer built from the grammar's own terminals (in the order Lark's lexer tries them)
    and a recursive-descent reading of the ``args`` rule; equal to ``parse_args`` on every
    argument list the grammar accepts (tested differentially). Anything unusual raises, and
    the caller falls back to Lark."""

    NAMES = ("STRING", "COMMENT", "DECO", "INT", "NAME", "WORD", "OP", "ELLIPSIS", "CHAR", "LPAR", "RPAR",
             "LSQB", "RSQB", "LBRACE", "RBRACE", "COMMA")

    def __init__(self) -> None:
        terms = [t for t in strace_parser().terminals if t.name in self.NAMES]
        terms.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
        parts = [f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terms]
        self.scan = re.compile("|".join(parts + [r"(?P<WS>[ \t]+)"])).match

    def tokens(self, text: str) -> list[tuple[str, str]]:
        out = []
        pos = 0
        scan = self.scan
        end = len(text)
        while pos < end:
            m = scan(text, pos)
            if m is None:
                raise ValueError(pos)
            kind = m.lastgroup
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
                args.append(_interpret(items))
                break
            if kind == "COMMA":
                args.append(_interpret(items))
                items = []
            elif kind in self._CLOSE:
                inner, pos = self._args(toks, pos, self._CLOSE[kind])
                if kind == "LPAR":
                    items.append(_Paren(tuple(inner)))
                elif kind == "LSQB":
                    items.append(list(inner))
                else:
                    items.append(_struct(inner))
            elif kind == "STRING":
                items.append(_string(value))
            elif kind == "INT":
                items.append(parse_int(value))
            elif kind == "NAME" or kind == "WORD":
                items.append(_Name(value))
            elif kind == "OP":
                items.append(_Op(value))
            elif kind == "COMMENT":
                items.append(_Comment(value[2:-2].strip()))
            elif kind == "DECO":
                items.append(_Deco(value[1:-1]))
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


# ----------------------------------------------------------------------------------------------
# Typed decoding
# ----------------------------------------------------------------------------------------------


class DecodeError(ValueError):
    """The arguments parsed but do not have the shape the syscall's decoder expects."""


def as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise DecodeError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, Commented):
        return as_int(value.value)
    if isinstance(value, Decorated):
        return as_int(value.value)
    if isinstance(value, Flags) and len(value.parts) == 1:
        part = value.parts[0]
        if part == "NULL":
            return 0
        if isinstance(part, int):
            return part
    raise DecodeError(f"expected a number, got {_show(value)}")


_FLAGS_CACHE: dict[tuple[type, Any], Any] = {}


def as_flags(value: Any, enum_cls: type) -> Any:
    """A flag value of ``enum_cls``; results are cached (flag texts repeat, enum calls are slow)."""
    key = (enum_cls, value)
    try:
        return _FLAGS_CACHE[key]
    except KeyError:
        pass
    except TypeError:  # unhashable (a list): not a flag value anyway
        return _as_flags(value, enum_cls)
    result = _as_flags(value, enum_cls)
    if len(_FLAGS_CACHE) > 100_000:
        _FLAGS_CACHE.clear()
    _FLAGS_CACHE[key] = result
    return result


def _as_flags(value: Any, enum_cls: type) -> Any:
    if isinstance(value, Commented):
        return _as_flags(value.value, enum_cls)
    if isinstance(value, int):
        return enum_cls(value)
    if isinstance(value, Flags):
        total = 0
        for part in value.parts:
            if isinstance(part, int):
                total |= part
                continue
            bit = F.flag_value(enum_cls, part)
            if bit is None:
                raise DecodeError(f"unknown {enum_cls.__name__} name {part}")
            total |= bit
        return enum_cls(total)
    raise DecodeError(f"expected {enum_cls.__name__} flags, got {_show(value)}")


def as_fd(value: Any) -> tuple[int, str | None]:
    if isinstance(value, Decorated):
        return as_int(value.value), value.decoration
    return as_int(value), None


def as_str(value: Any) -> Str:
    if isinstance(value, Str):
        return value
    raise DecodeError(f"expected a string, got {_show(value)}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _need(values: list[Any], *counts: int) -> None:
    if len(values) not in counts:
        raise DecodeError(f"expected {' or '.join(map(str, counts))} arguments, got {len(values)}")


def _strings(value: Any) -> tuple[tuple[str, ...], bool]:
    """An argv/envp array: its strings, and whether strace elided part of it."""
    if isinstance(value, Commented):
        value = value.value
    if value is None or (isinstance(value, Flags) and value.parts == ("NULL",)):
        return (), False
    if not isinstance(value, list):
        raise DecodeError(f"expected an array of strings, got {_show(value)}")
    out: list[str] = []
    truncated = False
    for item in value:
        if item is ELLIPSIS or item is None:
            truncated = True
        elif isinstance(item, Str):
            out.append(item.value)
            truncated = truncated or item.truncated
        elif isinstance(item, Commented) and item.value is None:
            continue
        else:
            raise DecodeError(f"expected a string in the array, got {_show(item)}")
    return tuple(out), truncated


_VARS_RE = re.compile(r"(\d+) vars?")


def _env(value: Any) -> tuple[int | None, tuple[str, ...] | None, bool]:
    """envp forms: 0x7ffd... /* 35 vars */, [/* 61 vars */], ["A=b", ...], NULL."""
    if isinstance(value, Commented):
        m = _VARS_RE.fullmatch(value.comment)
        return (int(m.group(1)) if m else None), None, False
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], Commented) and value[0].value is None:
        m = _VARS_RE.fullmatch(value[0].comment)
        return (int(m.group(1)) if m else None), None, False
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], Expr):
        return None, None, True
    if isinstance(value, int) or (isinstance(value, Flags) and value.parts == ("NULL",)):
        return (0 if as_int(value) == 0 else None), (() if as_int(value) == 0 else None), False
    strings, truncated = _strings(value)
    return len(strings), strings, truncated


def _mmap(v: list[Any], pages: bool) -> Mmap:
    _need(v, 6)
    fd, path = as_fd(v[4])
    offset = as_int(v[5])
    return Mmap(as_int(v[0]), as_int(v[1]), as_flags(v[2], F.Prot), as_flags(v[3], F.MapFlags),
                fd, offset * 4096 if pages else offset, path)


def _mremap(v: list[Any]) -> Mremap:
    _need(v, 4, 5)
    return Mremap(as_int(v[0]), as_int(v[1]), as_int(v[2]), as_flags(v[3], F.MremapFlags),
                  as_int(v[4]) if len(v) == 5 else None)


def _process_madvise(v: list[Any]) -> ProcessMadvise:
    _need(v, 5)
    iov = v[1]
    pairs: list[tuple[int, int]] = []
    if isinstance(iov, list):
        for item in iov:
            if isinstance(item, Struct):
                pairs.append((as_int(item.get("iov_base", 0)), as_int(item.get("iov_len", 0))))
    pidfd, _ = as_fd(v[0])
    return ProcessMadvise(pidfd, tuple(pairs), as_int(v[2]), as_flags(v[3], F.Advice), as_int(v[4]))


def _prctl(v: list[Any]) -> PrctlSetVma | None:
    if not v:
        raise DecodeError("prctl without arguments")
    try:
        option = as_int(v[0])
    except DecodeError:
        option = None
    first = v[0]
    if not (option == F.PrctlOption.PR_SET_VMA or (isinstance(first, Flags) and first.parts == ("PR_SET_VMA",))):
        return None
    _need(v, 5)
    attr_v = v[1]
    attr = 0 if isinstance(attr_v, Flags) and attr_v.parts == ("PR_SET_VMA_ANON_NAME",) else as_int(attr_v)
    name_v = v[4]
    if isinstance(name_v, Str):
        name = name_v.value
    elif as_int(name_v) == 0:
        name = None
    else:
        raise DecodeError(f"expected a name string, got {_show(name_v)}")
    return PrctlSetVma(attr, as_int(v[2]), as_int(v[3]), name)


def _execve(v: list[Any], at: bool) -> Execve:
    if at:
        _need(v, 5)
        dirfd, _ = as_fd(v[0]) if not (isinstance(v[0], (Flags, Decorated)) and "AT_FDCWD" in repr(v[0])) else (-100, None)
        path, argv_v, env_v, flags = v[1], v[2], v[3], as_flags(v[4], F.ExecveatFlags)
    else:
        _need(v, 3)
        dirfd, flags = None, None
        path, argv_v, env_v = v
    p = as_str(path)
    argv, argv_trunc = _strings(argv_v)
    env_count, env, env_trunc = _env(env_v)
    return Execve(p.value, argv, env_count, env, dirfd, flags, p.truncated or argv_trunc or env_trunc)


def _clone_flags(value: Any) -> tuple[F.CloneFlags, int | None]:
    flags = as_flags(value, F.CloneFlags)
    signal = int(flags) & 0xFF if not int(flags) & F.CloneFlags.CLONE_NEWTIME else int(flags) & 0x7F
    return F.CloneFlags(int(flags) & ~0xFF | (int(flags) & F.CloneFlags.CLONE_NEWTIME)), signal or None


def _clone(v: list[Any]) -> Clone:
    kw = {item.key: item.value for item in v if isinstance(item, KeyValue)}
    if "flags" not in kw:
        raise DecodeError("clone without flags=")
    flags, signal = _clone_flags(kw["flags"])
    stack = kw.get("child_stack", kw.get("stack"))
    return Clone(flags, signal, as_int(stack) if stack is not None else None, None,
                 as_int(kw["tls"]) if "tls" in kw else None)


def _clone3(v: list[Any]) -> Clone:
    if not v:
        raise DecodeError("clone3 without arguments")
    args = v[0]
    if isinstance(args, Modified):
        args = args.before
    if not isinstance(args, Struct):
        raise DecodeError(f"expected clone_args struct, got {_show(args)}")
    flags = as_flags(args.get("flags", 0), F.CloneFlags)
    sig = args.get("exit_signal")
    signal: int | None = None
    if isinstance(sig, Flags) and len(sig.parts) == 1 and isinstance(sig.parts[0], str):
        signal = F.SIGNALS.get(sig.parts[0])
    elif sig is not None:
        signal = as_int(sig) or None
    stack = args.get("stack")
    size = args.get("stack_size")
    tls = args.get("tls")
    return Clone(flags, signal, as_int(stack) if stack is not None else None,
                 as_int(size) if size is not None else None, as_int(tls) if tls is not None else None)


_DECODERS: dict[str, Callable[[list[Any]], Decoded | None]] = {
    "mmap": lambda v: _mmap(v, False),
    "mmap2": lambda v: _mmap(v, True),
    "munmap": lambda v: (_need(v, 2), Munmap(as_int(v[0]), as_int(v[1])))[1],
    "mprotect": lambda v: (_need(v, 3), Mprotect(as_int(v[0]), as_int(v[1]), as_flags(v[2], F.Prot)))[1],
    "pkey_mprotect": lambda v: (_need(v, 4), Mprotect(as_int(v[0]), as_int(v[1]), as_flags(v[2], F.Prot), as_int(v[3])))[1],
    "madvise": lambda v: (_need(v, 3), Madvise(as_int(v[0]), as_int(v[1]), as_flags(v[2], F.Advice)))[1],
    "process_madvise": _process_madvise,
    "brk": lambda v: (_need(v, 1), Brk(as_int(v[0])))[1],
    "mremap": _mremap,
    "mseal": lambda v: (_need(v, 3), Mseal(as_int(v[0]), as_int(v[1]), as_flags(v[2], F.MsealFlags)))[1],
    "shmat": lambda v: (_need(v, 3), Shmat(as_int(v[0]), as_int(v[1]), as_flags(v[2], F.ShmFlags)))[1],
    "shmdt": lambda v: (_need(v, 1), Shmdt(as_int(v[0])))[1],
    "prctl": _prctl,
    "execve": lambda v: _execve(v, False),
    "execveat": lambda v: _execve(v, True),
    "clone": _clone,
    "clone3": _clone3,
    "fork": lambda v: Clone(F.CloneFlags(0), F.SIGNALS["SIGCHLD"]),
    "vfork": lambda v: Clone(F.CloneFlags.CLONE_VM | F.CloneFlags.CLONE_VFORK, F.SIGNALS["SIGCHLD"]),
    "exit": lambda v: (_need(v, 1), Exit(as_int(v[0])))[1],
    "exit_group": lambda v: (_need(v, 1), Exit(as_int(v[0])))[1],
}


def _fast_int(t: str) -> int | None:
    """An INT token (or NULL) without a regex; None when it is anything else."""
    t = t.strip(" \t")
    if not t.isascii():
        return None
    if t.isdigit():
        return int(t) if t[0] != "0" or len(t) == 1 else parse_int(t)
    if t[:2] == "0x" and t[2:].isalnum():
        try:
            return int(t[2:], 16)
        except ValueError:
            return None
    if t == "NULL":
        return 0
    if t[:1] == "-" and t[1:].isdigit():
        return int(t) if t[1] != "0" or len(t) == 2 else parse_int(t)
    return None


_TYPED_FLAGS: dict[tuple[type, str], Any] = {}


def _fast_flag(enum_cls: type, t: str) -> Any:
    """A flag argument by its text, decoded once through the grammar and remembered."""
    key = (enum_cls, t)
    value = _TYPED_FLAGS.get(key)
    if value is None:
        if len(_TYPED_FLAGS) > 50_000:
            _TYPED_FLAGS.clear()
        value = _TYPED_FLAGS[key] = as_flags(fast_arg(t), enum_cls)
    return value


def _fast_typed(name: str, text: str) -> Decoded | None:
    """The hot memory syscalls decoded straight from their text; None means "take the general
    path" (which is what this must equal: tested differentially)."""
    parts = text.split(",")
    n = len(parts)
    fi = _fast_int
    if name == "mmap" or name == "mmap2":
        if n != 6:
            return None
        fd_text = parts[4].strip(" \t")
        path = None
        if fd_text.endswith(">"):
            cut = fd_text.find("<")
            if cut <= 0 or "<" in fd_text[cut + 1:-1] or ">" in fd_text[cut + 1:-1]:
                return None
            path = fd_text[cut + 1:-1]
            fd_text = fd_text[:cut]
        a, ln, fd, off = fi(parts[0]), fi(parts[1]), fi(fd_text), fi(parts[5])
        if a is None or ln is None or fd is None or off is None:
            return None
        return Mmap(a, ln, _fast_flag(F.Prot, parts[2]), _fast_flag(F.MapFlags, parts[3]), fd,
                    off * 4096 if name == "mmap2" else off, path)
    if name == "munmap":
        if n != 2:
            return None
        a, ln = fi(parts[0]), fi(parts[1])
        return None if a is None or ln is None else Munmap(a, ln)
    if name == "mprotect":
        if n != 3:
            return None
        a, ln = fi(parts[0]), fi(parts[1])
        return None if a is None or ln is None else Mprotect(a, ln, _fast_flag(F.Prot, parts[2]))
    if name == "madvise":
        if n != 3:
            return None
        a, ln = fi(parts[0]), fi(parts[1])
        return None if a is None or ln is None else Madvise(a, ln, _fast_flag(F.Advice, parts[2]))
    if name == "brk":
        a = fi(text) if n == 1 else None
        return None if a is None else Brk(a)
    if name == "execve":
        return _fast_execve(text)
    if name == "exit_group" or name == "exit":
        a = fi(text) if n == 1 else None
        return None if a is None else Exit(a)
    return None


_STR = r'"([^"\\\n]*+(?:\\.[^"\\\n]*+)*+)"(\.\.\.)?'
# execve(path, argv, envp) in strace's default form: a string, an array of strings (maybe ending
# in "..."), and the environment as an address with a "/* N vars */" comment.
_EXECVE_RE = re.compile(
    _STR + r', \[((?:"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"(?:\.\.\.)?, )*"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"(?:\.\.\.)?)?(, \.\.\.)?\]'
    r', (?:0x[0-9a-f]+|NULL) /\* (\d+ vars?) \*/')
_ARGV_ITEM = re.compile(_STR)


def _fast_execve(text: str) -> Execve | None:
    m = _EXECVE_RE.fullmatch(text)
    if m is None:
        return None
    path, path_cut, items, more, comment = m.groups()
    truncated = bool(path_cut or more)
    argv: list[str] = []
    if items:
        for body, cut in _ARGV_ITEM.findall(items):
            argv.append(unescape(body))
            truncated = truncated or bool(cut)
    count = _VARS_RE.fullmatch(comment)
    return Execve(unescape(path), tuple(argv), int(count.group(1)) if count else None, None, None, None,
                  truncated)


_DECODE_CACHE: dict[tuple[str, str], tuple[Decoded | None, str | None]] = {}


def decode(name: str, args: str, fast: bool = True) -> tuple[Decoded | None, str | None]:
    """Typed arguments of a memory or process syscall: (record, None) or (None, reason).

    The fast path remembers results by text (the records are immutable; mmap and brk argument
    lists repeat a lot across processes)."""
    if fast:
        key = (name, args)
        hit = _DECODE_CACHE.get(key)
        if hit is None:
            if len(_DECODE_CACHE) > 20_000:
                _DECODE_CACHE.clear()
            hit = _DECODE_CACHE[key] = _decode(name, args, fast)
        return hit
    return _decode(name, args, fast)


def _decode(name: str, args: str, fast: bool) -> tuple[Decoded | None, str | None]:
    decoder = _DECODERS.get(name)
    if decoder is None:
        return None, None
    if fast:
        try:
            typed = _fast_typed(name, args)
        except (DecodeError, ArgsSyntaxError):
            typed = None
        if typed is not None:
            return typed, None
    try:
        return decoder(generic_values(name, args, fast)), None
    except ArgsSyntaxError as exc:
        return None, f"arguments do not parse: {exc} at column {exc.column}"
    except (DecodeError, ValueError, TypeError) as exc:
        return None, str(exc)
