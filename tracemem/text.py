"""Showing untrusted trace text safely."""

from __future__ import annotations


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
