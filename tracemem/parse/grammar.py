"""Loading the Lark grammars shipped with the package (``tracemem.grammars``)."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lark import Lark

from ..errors import InputError


def grammar_text(name: str) -> str:
    """The text of a grammar file: from the installed package, else from a source checkout."""
    try:
        return resources.files("tracemem.grammars").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        # A checkout imported without installing: grammars/ sits beside tracemem/.
        path = Path(__file__).resolve().parents[2] / "grammars" / name
        if path.exists():
            return path.read_text(encoding="utf-8")
        raise InputError(
            f"grammar {name} not found: reinstall tracemem (pip install .) so that the "
            "tracemem.grammars package is present"
        ) from None


@functools.cache
def strace_parser() -> Lark:
    """The strace grammar as an LALR parser with the contextual lexer, for lines and arguments."""
    return Lark(
        grammar_text("strace.lark"),
        parser="lalr",
        lexer="contextual",
        start=["line", "args", "arg"],
        propagate_positions=False,
        maybe_placeholders=False,
    )


@functools.cache
def terminal_regex(name: str) -> str:
    """The regular expression of a terminal of the strace grammar (the fast path reuses them)."""
    for term in strace_parser().terminals:
        if term.name == name:
            return term.pattern.to_regexp()
    raise KeyError(name)
