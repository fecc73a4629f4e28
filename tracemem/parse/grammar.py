"""Loading the Lark grammars shipped with the package (``tracemem.grammars``)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..errors import InputError

if TYPE_CHECKING:
    from lark import Lark


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


def _lark_stamp() -> bytes:
    """What identifies the installed Lark, read without importing it (its ``__init__.py``, which
    holds the version): the compiled parser and the terminals depend on it."""
    import importlib.util

    spec = importlib.util.find_spec("lark")
    if spec is None or spec.origin is None:  # pragma: no cover - lark is a dependency
        return b""
    try:
        return Path(spec.origin).read_bytes()
    except OSError:  # pragma: no cover
        return b""


def _cache_file(text: str, kind: str) -> str | None:
    """A per-user cache file for what is built from a grammar (``kind``: the compiled parser, its
    terminals), named by the grammar's and lark's hash (Lark's own cache would go to the shared
    temp directory); None when there is no writable cache folder."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "tracemem")
    digest = hashlib.sha256(text.encode() + _lark_stamp()).hexdigest()[:16]
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    return os.path.join(folder, f"strace-{digest}.{kind}")


@functools.cache
def strace_parser() -> Lark:
    """The strace grammar as an LALR parser with the contextual lexer, for lines and arguments."""
    from lark import Lark

    text = grammar_text("strace.lark")
    options = dict(parser="lalr", lexer="contextual", start=["line", "args", "arg"],
                   propagate_positions=False, maybe_placeholders=False)
    cache = _cache_file(text, "lark-cache")
    if cache:
        try:
            return Lark(text, cache=cache, **options)
        except Exception:  # an unreadable or stale cache file: build without it
            pass
    return Lark(text, **options)


class Terminal(NamedTuple):
    """A terminal of the strace grammar as Lark compiled it: what the fast paths reuse."""

    name: str
    regexp: str
    priority: int
    max_width: int
    value_length: int  # the length of the pattern's source text (Lark's lexer orders by it)


@functools.cache
def strace_terminals() -> dict[str, Terminal]:
    """The strace grammar's terminals, in Lark's order. Kept in the per-user cache beside the
    compiled parser (named by the grammar's and Lark's hash): a command whose lines all take the
    fast paths then never imports Lark, ~45 ms of every start-up."""
    text = grammar_text("strace.lark")
    cache = _cache_file(text, "terminals.json")
    if cache:
        try:
            with open(cache, encoding="utf-8") as f:
                return {t[0]: Terminal(*t) for t in json.load(f)}
        except (OSError, ValueError, TypeError):  # absent, or not ours: rebuild it
            pass
    terms = [Terminal(t.name, t.pattern.to_regexp(), t.priority, t.pattern.max_width, len(t.pattern.value))
             for t in strace_parser().terminals]
    if cache:
        temp = f"{cache}.{os.getpid()}.tmp"
        try:
            with open(temp, "w", encoding="utf-8") as f:
                json.dump([list(t) for t in terms], f)
            os.replace(temp, cache)
        except OSError:  # a full disk, a read-only cache: the terminals are built each time
            try:
                os.unlink(temp)
            except OSError:
                pass
    return {t.name: t for t in terms}


def terminal_regex(name: str) -> str:
    """The regular expression of a terminal of the strace grammar (the fast path reuses them)."""
    return strace_terminals()[name].regexp
