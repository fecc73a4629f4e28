"""The hot memory syscalls (and execve in strace's default form) decoded straight from their
argument text, with no generic values in between; None means "take the general path"
(:mod:`.decoders`), which is what these must equal (tested differentially)."""

from __future__ import annotations

import re
from typing import Any

from .. import flags as F
from ..events import Brk, Decoded, Execve, Exit, Madvise, Mmap, Mprotect, Munmap
from .decoders import VARS_COMMENT, DecodeError, as_flags
from .fastargs import fast_arg
from .values import parse_int, unescape


def _fast_int(t: str) -> int | None:
    """An INT token (or NULL) without a regex, below 2^48 in magnitude (14 digits, 12 hex digits
    at most: a longer one goes to the general path, which checks its range); None when it is
    anything else."""
    t = t.strip(" \t")
    if not t.isascii() or len(t) > 15:
        return None
    if t.isdigit():
        if len(t) > 14:
            return None
        return int(t) if t[0] != "0" or len(t) == 1 else parse_int(t)
    if t[:2] == "0x" and t[2:].isalnum():
        if len(t) > 14:
            return None
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
        value = as_flags(fast_arg(t), enum_cls)
        if not -(1 << 63) <= int(value) < 1 << 63:
            raise DecodeError(f"{t.strip()} does not fit in a signed 64-bit value")  # (the general path says which)
        _TYPED_FLAGS[key] = value
    return value


def fast_typed(name: str, text: str) -> Decoded | None:
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
            path = unescape(fd_text[cut + 1:-1])
            fd_text = fd_text[:cut]
        a, ln, fd, off = fi(parts[0]), fi(parts[1]), fi(fd_text), fi(parts[5])
        if a is None or ln is None or fd is None or off is None or a < 0 or ln < 0:
            return None
        return Mmap(a, ln, _fast_flag(F.Prot, parts[2]), _fast_flag(F.MapFlags, parts[3]), fd,
                    off * 4096 if name == "mmap2" else off, path)
    if name == "munmap":
        if n != 2:
            return None
        a, ln = fi(parts[0]), fi(parts[1])
        return None if a is None or ln is None or a < 0 or ln < 0 else Munmap(a, ln)
    if name == "mprotect":
        if n != 3:
            return None
        a, ln = fi(parts[0]), fi(parts[1])
        return None if a is None or ln is None or a < 0 or ln < 0 else Mprotect(a, ln, _fast_flag(F.Prot, parts[2]))
    if name == "madvise":
        if n != 3:
            return None
        a, ln = fi(parts[0]), fi(parts[1])
        return None if a is None or ln is None or a < 0 or ln < 0 else Madvise(a, ln, _fast_flag(F.Advice, parts[2]))
    if name == "brk":
        a = fi(text) if n == 1 else None
        return None if a is None or a < 0 else Brk(a)
    if name == "execve":
        return fast_execve(text)
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


def fast_execve(text: str) -> Execve | None:
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
    count = VARS_COMMENT.fullmatch(comment)
    return Execve(unescape(path), tuple(argv), int(count.group(1)) if count else None, None, None, None,
                  truncated)
