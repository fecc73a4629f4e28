"""Typed arguments of memory and process syscalls, the one entry both parsers use:
:func:`decode` tries the fast decoders first (:mod:`.fastdecode`) and otherwise runs the
syscall's decoder (:mod:`.decoders`) on its generic values (:mod:`.fastargs`, or plain Lark)."""

from __future__ import annotations


from ..events import (
    Brk, Clone, Decoded, Execve, Madvise, Mlock, Mmap, Mprotect, Mremap, Mseal, Munmap, PrctlSetVma, ProcessMadvise, Shmat,
)
from .decoders import DECODERS, DecodeError
from .fastargs import generic_values
from .fastdecode import fast_typed
from .values import ArgsSyntaxError

#: the syscalls with typed arguments (the others keep their argument text)
DECODED_SYSCALLS = frozenset(DECODERS)
#: the rows columns.py checks: the decoded syscalls, and shmget (its size: columns._shm_size)
CHECKED_SYSCALLS = DECODED_SYSCALLS | {"shmget"}

_DECODE_CACHE: dict[tuple[str, str], tuple[Decoded | None, str | None, bool]] = {}


def decode(name: str, args: str, fast: bool = True) -> tuple[Decoded | None, str | None]:
    """Typed arguments of a memory or process syscall: (record, None) or (None, reason).

    The fast path remembers results by text (the records are immutable; mmap and brk argument
    lists repeat a lot across processes)."""
    d, why, _ = decode_checked(name, args, fast)
    return d, why


def decode_checked(name: str, args: str, fast: bool = True) -> tuple[Decoded | None, str | None, bool]:
    """:func:`decode`, and whether every address and length of the record is below 2^48 and
    not negative (then only a return value can put its range out of the model's reach; see
    :func:`unappliable`)."""
    if fast:
        key = (name, args)
        hit = _DECODE_CACHE.get(key)
        if hit is None:
            if len(_DECODE_CACHE) > 20_000:
                _DECODE_CACHE.clear()
            hit = _DECODE_CACHE[key] = _decode(name, args, fast)
        return hit
    return _decode(name, args, fast)


def _decode(name: str, args: str, fast: bool) -> tuple[Decoded | None, str | None, bool]:
    decoder = DECODERS.get(name)
    if decoder is None:
        return None, None, True
    if fast:
        try:
            typed = fast_typed(name, args)
        except (DecodeError, ArgsSyntaxError):
            typed = None
        if typed is not None:
            # (the fast decoders take only numbers below 2^48 for addresses and lengths, not
            # negative, and flags of 63 bits: in range and small by construction)
            return (typed, None, True) if typed.__class__ is not Execve else _in_range(typed, args)
    try:
        typed = decoder(generic_values(name, args, fast))
    except ArgsSyntaxError as exc:
        return None, f"arguments do not parse: {exc} at column {exc.column}", True
    except (DecodeError, ValueError, TypeError, ArithmeticError) as exc:
        return None, str(exc), True
    return _in_range(typed, args) if typed is not None else (None, None, True)


_I64 = 1 << 63
_U64 = 1 << 64

# Fields of the typed records that are addresses or sizes (unsigned 64-bit: the table's UInt64
# columns take them); every other number is a signed 64-bit one (Int64 columns).
_UNSIGNED = frozenset(("addr", "length", "old_addr", "old_length", "new_length", "new_addr", "child_stack",
                       "stack_size", "tls"))
_LIMITS: dict[type, tuple[tuple[int, str, int], ...]] = {}


def _limits(cls: type) -> tuple[tuple[int, str, int], ...]:
    fields: tuple[str, ...] = getattr(cls, "_fields", ())
    hints = getattr(cls, "__annotations__", {})
    out = tuple((i, f, _U64 if f in _UNSIGNED else _I64) for i, f in enumerate(fields)
                if ("int" in str(hints.get(f, "")) or f in ("prot", "flags", "advice"))
                and "tuple" not in str(hints.get(f, "")))
    _LIMITS[cls] = out
    return out


def _in_range(typed: Decoded, args: str) -> tuple[Decoded | None, str | None, bool]:
    """The record, or why not: every number of a syscall argument fits in 64 bits (strace prints
    64-bit registers: a wider one is no strace output), a signed one (offset, fd, flags ...) in
    63 bits and a sign, so the events table can hold it and the model apply it; and whether its
    addresses and lengths are below 2^48 and not negative (see decode_checked)."""
    limits = _LIMITS.get(typed.__class__) or _limits(typed.__class__)
    small = True
    for i, field, hi in limits:
        value: int | None = typed[i]  # type: ignore[assignment]  # (the fields _limits picked: numbers)
        if value is not None:
            if not -_I64 <= value < hi:
                return None, _range_reason(field, int(value), hi, args), True
            if hi == _U64 and not 0 <= value < _SMALL and typed.__class__ is not Clone:
                small = False  # (a clone's stack and tls are no range the model applies)
    if type(typed) is ProcessMadvise:
        for base, size in typed.iovec:
            for field, value in (("iov_base", base), ("iov_len", size)):
                if not -_I64 <= value < _U64:
                    return None, _range_reason(field, value, _U64, args), True
        small = False
    return typed, None, small


_SMALL = 1 << 48


def wide_ret_reason(text: str, value: int) -> str | None:
    """Why a return value cannot be the signed 64-bit ``ret`` (None when it can): the event keeps
    its text (ret_text), its ret is left empty, and the model does not apply it."""
    if -_I64 <= value < _I64:
        return None
    if value >= _U64 or value < -_I64:
        return (f"return value {text} does not fit in 64 bits (a trace prints 64-bit registers): ret is left "
                "empty (ret_text keeps it) and the call is not applied")
    return (f"return value {text} is 2^63 or more, beyond any user address space (47 or 56 bits): ret is left "
            "empty (ret_text keeps it) and the call is not applied")


def _range_reason(field: str, value: int, hi: int, args: str) -> str:
    where = ""
    lower = args.lower()
    for text in (str(value), hex(value)):
        at = lower.find(text)
        if at >= 0:
            where = f" at column {at + 1} of the arguments"
            break
    if value >= _U64 or value < -_I64:
        return f"{field} {value} does not fit in 64 bits (a trace prints 64-bit values){where}"
    return f"{field} {value} does not fit in a signed 64-bit {field} (2^63 or more){where}"


#: Where every range the model applies must end: no user address space reaches 2^63 (x86-64 has
#: 47 or 56 bits, arm64 48 or 52), and the timeline's signed 64-bit ledgers must hold the sum.
RANGE_END = (1 << 63) - (1 << 16)


def unappliable(d: Decoded, ret: str | None, errno: str | None) -> str | None:
    """Why the address-space model cannot apply a call the log shows succeeding (or an mprotect,
    which is applied up to a hole when it fails with ENOMEM): an address or a length below zero,
    or a range that ends past :data:`RANGE_END`. None when it can (or when it failed)."""
    if not isinstance(d, Mprotect) and (errno is not None or not ret or ret[0] == "-" or ret == "?"):
        return None
    spans: list[tuple[str, int, int]]
    if isinstance(d, (Mmap, Mremap, Shmat, Brk)):
        if not ret or ret[0] == "-" or ret == "?":
            return None
        try:
            at = int(ret, 16) if ret[1:2] == "x" else int(ret)
        except ValueError:
            return None
        spans = [("return value", at, d.length if isinstance(d, Mmap) else
                  d.new_length if isinstance(d, Mremap) else 0)]
        if isinstance(d, Mremap):
            spans.append(("old range", d.old_addr, d.old_length))
    elif isinstance(d, (Munmap, Mprotect, Madvise, Mlock, Mseal, PrctlSetVma)):
        spans = [("range", d.addr, d.length)]
    elif isinstance(d, ProcessMadvise):
        spans = [("iovec", base, size) for base, size in d.iovec]
    else:
        return None
    for what, start, size in spans:
        if start < 0 or size < 0:
            return f"{what} {start:#x} + {size:#x}: below zero (addresses and lengths are unsigned): not applied"
        if start + size > RANGE_END:
            return (f"{what} {start:#x} + {size:#x} ends past 2^63, beyond any user address space: "
                    "not applied")
    return None
