"""Typed arguments of memory and process syscalls, the one entry both parsers use:
:func:`decode` tries the fast decoders first (:mod:`.fastdecode`) and otherwise runs the
syscall's decoder (:mod:`.decoders`) on its generic values (:mod:`.fastargs`, or plain Lark)."""

from __future__ import annotations

from ..events import Decoded
from .decoders import DECODERS, DecodeError
from .fastargs import generic_values
from .fastdecode import fast_typed
from .values import ArgsSyntaxError

#: the syscalls with typed arguments (the others keep their argument text)
DECODED_SYSCALLS = frozenset(DECODERS)

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
    decoder = DECODERS.get(name)
    if decoder is None:
        return None, None
    if fast:
        try:
            typed = fast_typed(name, args)
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
