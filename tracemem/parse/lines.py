"""One physical strace line into a :class:`LineRecord`, by two parsers that must agree.

``lark_line`` is the plain grammar parse (the authority). ``fast_line`` handles the common shapes
(complete, unfinished and resumed syscall lines) with regular expressions assembled from the
grammar's own terminals, and returns None for anything else so the caller falls back to Lark.
The differential tests run both on every line of every corpus file.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, cast

if TYPE_CHECKING:
    from lark import Token, Tree

from .grammar import strace_parser, terminal_regex
from .patterns import block_patterns


class LineRecord(NamedTuple):
    """What one line says, before any state (joining, pid attribution, time) is applied.

    kind: call | unfinished | resumed | resumed_unfinished | detached | signal | exited | notice |
    frame | summary_header | summary_separator | summary_row.
    """

    kind: str
    pid: int | None = None
    stamp: str | None = None
    rel: str | None = None
    sysno: int | None = None
    ip: str | None = None
    name: str | None = None
    args: str = ""
    ret: str | None = None
    ret_deco: str | None = None
    errno: str | None = None
    parens: tuple[str, ...] = ()
    duration: str | None = None
    text: str | None = None


class LineSyntaxError(Exception):
    """A line the grammar rejects: 1-based column, reason, and whether the line just ended early."""

    def __init__(self, column: int, reason: str, at_end: bool):
        super().__init__(reason)
        self.column = column
        self.reason = reason
        self.at_end = at_end


class LineRangeError(LineSyntaxError):
    """A line the grammar takes whose number is out of range (a pid, a time of day): an error
    whatever the line looks like, never program output."""

    def __init__(self, column: int, reason: str):
        super().__init__(column, reason, False)


def _pid(tok: Token) -> int:
    text = str(tok)
    if text.startswith("[pid"):
        text = text[4:-1].strip()
    cut = text.find("<")
    return int(text[:cut] if cut >= 0 else text)


#: The longest pid: nine digits, as a bare prefix has (Linux's pid_max is at most 4194304).
PID_DIGITS = 9
#: An epoch stamp without a fraction (-ttt at precision s) has 10 or 11 digits (until year 5138):
#: a longer leading number is neither a pid nor a time.
EPOCH_DIGITS = 11


def _check_pid(tok: Token) -> None:
    """The range the grammar does not say: a [pid N] of more than nine digits is no pid."""
    text = str(tok)
    if not text.startswith("[pid"):
        return
    digits = text[4:].lstrip(" ")
    end = len(digits) - len(digits.lstrip("0123456789"))
    if end > PID_DIGITS:
        column = (tok.column or 1) + len(text) - len(digits)
        raise LineRangeError(column, f"pid {digits[:end]} is out of range (a pid has at most {PID_DIGITS} "
                                     "digits; Linux's pid_max is at most 4194304)")


def _check_stamp(tok: Token) -> None:
    """The ranges the grammar does not say: a -t/-tt time of day has hours 0-23 and minutes and
    seconds 0-59; an epoch stamp without a fraction has 10 or 11 digits."""
    text = str(tok)
    column = tok.column or 1
    if text[2:3] == ":":
        if int(text[:2]) > 23 or int(text[3:5]) > 59 or int(text[6:8]) > 59:
            raise LineRangeError(column, f"time {text} is not a time of day (hours 0-23, minutes and seconds "
                                         "0-59)")
    elif "." not in text and len(text) > EPOCH_DIGITS:
        raise LineRangeError(column, f"a leading number of {len(text)} digits is neither a pid (at most "
                                     f"{PID_DIGITS} digits) nor a timestamp (epoch seconds have 10 or 11)")


#: a leading number too long for a pid before a timestamp and a call ("12345678901 1.5 mmap(")
_LONG_PID = re.compile(r"[ \t]*(\d{10,})[ \t]+[\d:.]+[ \t]+(?:[A-Za-z_]|<\.\.\. )")


def lark_line(text: str) -> LineRecord:
    """Parse one line with the grammar. Raises LineSyntaxError."""
    try:
        return _lark_line(text)
    except LineSyntaxError:
        m = _LONG_PID.match(text)
        if m is not None:
            raise LineRangeError(m.start(1) + 1, f"pid {m.group(1)} is out of range (a pid has at most "
                                                 f"{PID_DIGITS} digits; Linux's pid_max is at most 4194304)") from None
        raise


def _lark_line(text: str) -> LineRecord:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

    try:
        tree = strace_parser().parse(text, start="line")
    except UnexpectedEOF:
        raise LineSyntaxError(len(text) + 1, "line ends too early", True) from None
    except UnexpectedToken as exc:
        at_end = exc.token.type == "$END"
        col = exc.column if isinstance(exc.column, int) and exc.column > 0 else len(text) + 1
        if at_end:
            reason = "line ends too early: expected " + _expected(exc.expected)
        else:
            reason = f"unexpected {str(exc.token)[:30]!r}: expected " + _expected(exc.expected)
        raise LineSyntaxError(col, reason, at_end) from None
    except UnexpectedCharacters as exc:
        allowed = _expected(exc.allowed) if exc.allowed else "nothing more"
        raise LineSyntaxError(exc.column, f"unexpected character {exc.char!r}: expected {allowed}", False) from None
    except UnexpectedInput as exc:  # pragma: no cover
        raise LineSyntaxError(getattr(exc, "column", 1) or 1, "syntax error", False) from None
    return _record(tree)


_FRIENDLY = {
    "RPAR": "')'", "LPAR": "'('", "EQUAL": "'='", "ARGS": "arguments", "UNFINISHED": "<unfinished ...>",
    "RETVAL": "a return value", "NAME": "a syscall name", "DURATION": "<duration>",
}


def _expected(names: set[str] | frozenset[str]) -> str:
    shown = sorted({_FRIENDLY.get(n, n) for n in names})
    if len(shown) > 5:
        shown = shown[:5] + ["..."]
    return ", ".join(shown)


def _record(tree: Tree[Any]) -> LineRecord:
    # The grammar fixes the shape: which children are subtrees and which are tokens.
    kind = tree.data
    if kind == "frame_line":
        return LineRecord("frame", text=str(tree.children[0])[2:])
    if kind in ("summary_header", "summary_separator", "summary_row"):
        return LineRecord(str(kind), text=str(tree.children[0]))
    pid = stamp = rel = sysno = ip = None
    body = tree.children[-1]  # pid? stamp? relstamp? sysno? ip? body
    for child in tree.children[:-1]:
        data = child.data
        if data == "pid":
            tok = cast("Token", child.children[0])
            _check_pid(tok)
            pid = _pid(tok)
        elif data == "stamp":
            tok = cast("Token", child.children[0])
            _check_stamp(tok)
            stamp = str(tok)
        elif data == "relstamp":
            rel = str(child.children[0])[2:-1].strip()
        elif data == "sysno":
            sysno = int(str(child.children[0])[1:-1])
        elif data == "ip":
            ip = str(child.children[0])[1:-1]
    if body.data in ("signal", "exited", "notice"):
        return LineRecord(str(body.data), pid, stamp, rel, sysno, ip, text=str(body.children[0]))
    head = str(body.children[0])
    if body.data == "syscall":
        name, resumed = head, False
    else:
        name, resumed = head[4:-9].strip(), True  # "<... NAME resumed>"
    args = ""
    tail = body.children[-1]
    if len(body.children) == 3:
        args = str(body.children[1]).strip()
    if tail.data == "unfinished":
        kind = "resumed_unfinished" if resumed else "unfinished"
        return LineRecord(kind, pid, stamp, rel, sysno, ip, name, args)
    if tail.data == "detached":
        return LineRecord("detached", pid, stamp, rel, sysno, ip, name, args)
    result = tail.children[-1]
    ret = ret_deco = errno = duration = None
    parens: list[str] = []
    for tok in cast("list[Token]", result.children):
        t = tok.type
        if t == "RETVAL":
            ret = str(tok)
        elif t == "DECO":
            ret_deco = str(tok)[1:-1]
        elif t == "ERRNO":
            errno = str(tok)
        elif t == "PAREN":
            parens.append(str(tok)[1:-1])
        elif t == "DURATION":
            duration = str(tok).strip()[1:-1]
    return LineRecord("resumed" if resumed else "call", pid, stamp, rel, sysno, ip, name, args,
                      ret, ret_deco, errno, tuple(parens), duration)


# ----------------------------------------------------------------------------------------------
# The fast path
# ----------------------------------------------------------------------------------------------

# The prefix of the grammar, with the ranges lark_line checks after its parse (a [pid N] of nine
# digits at most, a time of day, an epoch stamp of 10 or 11 digits): other lines go to Lark.
_PREFIX = (
    r"[ \t]*(?:(?P<pid>\d{1,9})[ \t]+|\[pid +(?P<pidb>\d{1,9})\][ \t]*)?"
    r"(?:(?P<stamp>(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?|\d+\.\d{1,9}|\d{10,11})[ \t]+)?"
)
_NAME = r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)"


class _Fast:
    """The fast path's regular expressions, assembled from the grammar's terminals, each compiled
    on first use (a trace whose odd lines are all signals needs only ``event``)."""

    @staticmethod
    def _result() -> str:
        t = terminal_regex
        return (
            r"\)[ \t]*=[ \t]*(?P<ret>" + t("RETVAL") + ")"
            r"(?P<deco>(?!<(?:\d+(?:\.\d{1,9})?|unavailable)>)" + t("DECO") + ")?"
            r"(?:[ \t]*(?P<errno>" + t("ERRNO") + r"))?"
            r"(?P<parens>(?:[ \t]*" + t("PAREN") + ")*)"
            r"(?:[ \t]*<(?P<dur>\d+(?:\.\d{1,9})?|unavailable)>)?[ \t]*"
        )

    @functools.cached_property
    def call(self) -> Callable[[str], re.Match[str] | None]:
        return re.compile(_PREFIX + _NAME + r"\((?P<args>.*?)" + self._result()).fullmatch

    @functools.cached_property
    def unfinished(self) -> Callable[[str], re.Match[str] | None]:
        return re.compile(
            _PREFIX + _NAME + r"\((?P<args>.*?)[ \t]*<unfinished \.\.\.>[ \t]*").fullmatch

    @functools.cached_property
    def resumed(self) -> Callable[[str], re.Match[str] | None]:
        return re.compile(
            _PREFIX + r"<\.\.\. " + _NAME + r" resumed>(?P<args>.*?)" + self._result()).fullmatch

    @property
    def args_ok(self) -> Callable[[str], re.Match[str] | None]:
        return block_patterns().args_ok   # (one compiled ARGS terminal for both fast paths)

    @property
    def parens(self) -> Callable[[str], list[str]]:
        return block_patterns().parens

    @functools.cached_property
    def event(self) -> Callable[[str], re.Match[str] | None]:
        """A signal or exit line: the grammar's SIGNAL and EXITED terminals after the prefix."""
        t = terminal_regex
        return re.compile(
            _PREFIX + "(?:(?P<signal>" + t("SIGNAL") + ")|(?P<exited>" + t("EXITED") + "))[ \t]*").fullmatch


_FAST: _Fast | None = None


def fast_event(text: str) -> LineRecord | None:
    """The record of a signal or exit line ("--- SIGURG {...} ---", "+++ exited with 0 +++"),
    equal to ``lark_line(text)``; None for other lines."""
    global _FAST
    fast = _FAST or _Fast()
    _FAST = fast
    m = fast.event(text)
    if m is None:
        return None
    body = m.group("signal")
    kind = "signal"
    if body is None:
        body = m.group("exited")
        kind = "exited"
    return LineRecord(kind, _fpid(m), m.group("stamp"), text=body)


def fast_line(text: str) -> LineRecord | None:
    """The record for a common-shape line, equal to ``lark_line(text)``; None for other lines."""
    global _FAST
    fast = _FAST or _Fast()
    _FAST = fast
    if text.endswith(("---", "+++")) or text.rstrip(" \t").endswith(("---", "+++")):
        return fast_event(text)
    if text.endswith("<unfinished ...>"):
        if "resumed>" in text:
            return None
        m = fast.unfinished(text)
        if m is None:
            return None
        args = m.group("args")
        if args and fast.args_ok(args) is None:
            return None
        return LineRecord("unfinished", _fpid(m), m.group("stamp"), None, None, None,
                          m.group("name"), args.strip())
    if "resumed>" in text:
        m = fast.resumed(text)
        kind = "resumed"
    else:
        m = fast.call(text)
        kind = "call"
    if m is None:
        return None
    args = m.group("args")
    # The lazy ".*?" stops at the first ") = " after which the line can end; strings and macros
    # can hold one, so the arguments must also be exactly one ARGS token, else Lark decides.
    if args and fast.args_ok(args) is None:
        return None
    parens = m.group("parens")
    deco = m.group("deco")
    return LineRecord(kind, _fpid(m), m.group("stamp"), None, None, None, m.group("name"),
                      args.strip(), m.group("ret"), deco[1:-1] if deco else None, m.group("errno"),
                      tuple(p[1:-1] for p in fast.parens(parens)) if parens else (), m.group("dur"))


def _fpid(m: re.Match[str]) -> int | None:
    pid = m.group("pid") or m.group("pidb")
    return int(pid) if pid is not None else None
