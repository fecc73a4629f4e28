"""Typed records of memory and process syscalls (``Mmap``, ``Clone`` ...) from their generic
argument values: the general path, which the fast decoders (:mod:`.fastdecode`) must equal."""

from __future__ import annotations

import re
from typing import Any, Callable

from .. import flags as F
from ..events import (
    Brk, Clone, Decoded, Execve, Exit, Madvise, Mlock, Mmap, Mprotect, Mremap, Mseal, Munmap,
    PrctlSetVma, ProcessMadvise, Shmat, Shmdt,
)
from .values import ELLIPSIS, Commented, Decorated, Expr, Flags, KeyValue, Modified, Str, Struct, unescape


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
    """A descriptor and the path of its -y decoration (strace's escapes in it decoded: the bytes
    of the path, as the execve and open paths are)."""
    if isinstance(value, Decorated):
        return as_int(value.value), unescape(value.decoration)
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


VARS_COMMENT = re.compile(r"(\d+) vars?")


def _env(value: Any) -> tuple[int | None, tuple[str, ...] | None, bool]:
    """envp forms: 0x7ffd... /* 35 vars */, [/* 61 vars */], ["A=b", ...], NULL."""
    if isinstance(value, Commented):
        m = VARS_COMMENT.fullmatch(value.comment)
        return (int(m.group(1)) if m else None), None, False
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], Commented) and value[0].value is None:
        m = VARS_COMMENT.fullmatch(value[0].comment)
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
    if name is not None and _ANON_NAME_BAD.search(name):
        # the kernel refuses such a name (EINVAL): a call the log says succeeded cannot be applied
        raise DecodeError("PR_SET_VMA_ANON_NAME name with a character the kernel refuses (EINVAL: "
                          "printable ASCII only, none of \\`$[])")
    return PrctlSetVma(attr, as_int(v[2]), as_int(v[3]), name)


# Linux's is_valid_name_char (kernel/sys.c): printable ASCII except \ ` $ [ ]
_ANON_NAME_BAD = re.compile(r"[^\x20-\x7e]|[\\`$\[\]]")


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


def _munmap(v: list[Any]) -> Munmap:
    _need(v, 2)
    return Munmap(as_int(v[0]), as_int(v[1]))


def _mprotect(v: list[Any]) -> Mprotect:
    _need(v, 3)
    return Mprotect(as_int(v[0]), as_int(v[1]), as_flags(v[2], F.Prot))


def _pkey_mprotect(v: list[Any]) -> Mprotect:
    _need(v, 4)
    return Mprotect(as_int(v[0]), as_int(v[1]), as_flags(v[2], F.Prot), as_int(v[3]))


def _madvise(v: list[Any]) -> Madvise:
    _need(v, 3)
    return Madvise(as_int(v[0]), as_int(v[1]), as_flags(v[2], F.Advice))


def _brk(v: list[Any]) -> Brk:
    _need(v, 1)
    return Brk(as_int(v[0]))


def _mlock(v: list[Any]) -> Mlock:
    _need(v, 2)
    return Mlock(as_int(v[0]), as_int(v[1]), True)


def _mlock2(v: list[Any]) -> Mlock:
    _need(v, 3)
    return Mlock(as_int(v[0]), as_int(v[1]), True, bool(as_flags(v[2], F.MlockFlags) & F.MlockFlags.MLOCK_ONFAULT))


def _munlock(v: list[Any]) -> Mlock:
    _need(v, 2)
    return Mlock(as_int(v[0]), as_int(v[1]), False)


def _mseal(v: list[Any]) -> Mseal:
    _need(v, 3)
    # mseal defines no flags (an enum without members cannot hold a value): kept as a number
    return Mseal(as_int(v[0]), as_int(v[1]), as_int(v[2]))


def _shmat(v: list[Any]) -> Shmat:
    _need(v, 3)
    return Shmat(as_int(v[0]), as_int(v[1]), as_flags(v[2], F.ShmFlags))


def _shmdt(v: list[Any]) -> Shmdt:
    _need(v, 1)
    return Shmdt(as_int(v[0]))


def _exit(v: list[Any]) -> Exit:
    _need(v, 1)
    return Exit(as_int(v[0]))


#: the decoder of each syscall with typed arguments, from its generic values
DECODERS: dict[str, Callable[[list[Any]], Decoded | None]] = {
    "mmap": lambda v: _mmap(v, False),
    "mmap2": lambda v: _mmap(v, True),
    "munmap": _munmap,
    "mprotect": _mprotect,
    "pkey_mprotect": _pkey_mprotect,
    "madvise": _madvise,
    "process_madvise": _process_madvise,
    "brk": _brk,
    "mremap": _mremap,
    "mseal": _mseal,
    # strace 6.1 predates mseal (Linux 6.10): it prints syscall 462 as syscall_0x1ce (the same
    # number on every architecture's unified table)
    "syscall_0x1ce": lambda v: _mseal(v[:3]),
    "mlock": _mlock,
    "mlock2": _mlock2,
    "munlock": _munlock,
    "shmat": _shmat,
    "shmdt": _shmdt,
    "prctl": _prctl,
    "execve": lambda v: _execve(v, False),
    "execveat": lambda v: _execve(v, True),
    "clone": _clone,
    "clone3": _clone3,
    "fork": lambda v: Clone(F.CloneFlags(0), F.SIGNALS["SIGCHLD"]),
    "vfork": lambda v: Clone(F.CloneFlags.CLONE_VM | F.CloneFlags.CLONE_VFORK, F.SIGNALS["SIGCHLD"]),
    "exit": _exit,
    "exit_group": _exit,
}
