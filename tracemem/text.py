"""Text for people: untrusted trace text shown safely, and byte counts in binary units."""

from __future__ import annotations

import re


def cell(text: object) -> str:
    """Untrusted trace text in a rich table or message: markup escaped, control characters shown
    as \\xNN. (rich is imported when the first one is made: a command that writes only JSON or
    files never loads it.)"""
    from rich.markup import escape

    return escape(printable(str(text)))


def printable(text: str) -> str:
    """Trace text for a terminal or a report: control characters (escape sequences a hostile trace
    could carry) and undecodable bytes shown as \\xNN, never passed through."""
    if text.isprintable() or "\n" in text and text.replace("\n", "").isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte kept as a surrogate escape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable() or ch == " " or ch == "\n":
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _byte_escape(m: "re.Match[str]") -> str:
    code = ord(m.group())
    return f"\\x{code - 0xDC00:02x}" if code >= 0xDC80 and code <= 0xDCFF else f"\\u{code:04x}"


def export_text(text: str) -> str:
    """Trace text as exports write it (CSV, JSON Lines, Parquet: valid UTF-8): each byte that is
    not UTF-8 (kept in memory as a surrogate escape, exact) becomes the four characters \\xNN
    (lowercase hex), as strace -x prints a byte; everything else is kept as it is."""
    if text.isascii():
        return text
    return _SURROGATE.sub(_byte_escape, text)


def has_undecodable(text: str) -> bool:
    """Whether ``text`` holds a byte that is not UTF-8 (a surrogate escape)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def human(n: float) -> str:
    """Bytes in binary units: 512 B, 4.0 KiB, 64.0 MiB, 1.2 GiB."""
    value = float(n)
    if value == 0:
        return "0 B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def signed(n: int) -> str:
    """A byte delta with its sign: +64.0 MiB, −4.0 KiB, 0 B."""
    return ("+" if n > 0 else "−" if n < 0 else "") + human(abs(n))


def mib(n: int) -> str:
    """Bytes as MiB with one decimal (the summary's unit): 1,024.0 MiB."""
    return f"{int(n) / 2**20:,.1f} MiB"
