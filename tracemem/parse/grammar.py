"""Loading the Lark grammars shipped with the package (``tracemem.grammars``)."""

from __future__ import annotations

import functools
import os
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


def _cache_file(text: str) -> str | bool:
    """A per-user cache file for the compiled parser, named by the grammar's and lark's hash
    (Lark's own cache would go to the shared temp directory)."""
    import hashlib
    import lark

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "tracemem")
    digest = hashlib.sha256((text + lark.__version__).encode()).hexdigest()[:16]
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    if not os.access(folder, os.W_OK):
        return False
    return os.path.join(folder, f"strace-{digest}.lark-cache")


@functools.cache
def strace_parser() -> Lark:
    """The strace grammar as an LALR parser with the contextual lexer, for lines and arguments."""
    text = grammar_text("strace.lark")
    options = dict(parser="lalr", lexer="contextual", start=["line", "args", "arg"],
                   propagate_positions=False, maybe_placeholders=False)
    cache = _cache_file(text)
    if cache:
        try:
            return Lark(text, cache=cache, **options)
        except Exception:  # an unreadable or stale cache file: build without it
            pass
    return Lark(text, **options)


@functools.cache
def terminal_regex(name: str) -> str:
    """The regular expression of a terminal of the strace grammar (the fast path reuses them)."""
    for term in strace_parser().terminals:
        if term.name == name:
            return term.pattern.to_regexp()
    raise KeyError(name)
