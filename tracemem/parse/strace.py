"""strace logs into events: line parsing plus the state that spans lines.

State kept per file: pending "<unfinished ...>" starts per task (joined with their
"<... resumed>" ends), the live tasks (an unprefixed line in a multi-task stderr capture belongs
to the only live task), the clock (midnight rollover for -t/-tt, sums for -r), the last event
(``-k`` frame lines attach to it), the ``-c`` summary table, and lines that program output or an
attach notice cut in two.
"""

from __future__ import annotations

import errno as _errno
import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from ..events import LineIssue, ParseReport, Skip, State, SyscallEvent
from .lines import LineRecord, LineSyntaxError, fast_line, lark_line
from .values import decode

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_GLUED_NOTICE = re.compile(r"strace: Process \d+ (?:attached|detached)")
_LOOKS_LIKE_CALL = re.compile(
    r"[ \t]*(?:\d{1,9}[ \t]+|\[pid +\d+\][ \t]*)?(?:[\d:.]+[ \t]+)?(?:\(\+ *[\d.]+\)[ \t]+)?"
    r"(?:\[[ \d]+\][ \t]+)?(?:\[[0-9a-f?]+\][ \t]+)?(?:[A-Za-z_][A-Za-z0-9_]*\(|<\.\.\. )"
)
_SUPERSEDED = re.compile(r"\+\+\+ superseded by execve in pid (\d+) \+\+\+")
_EXIT_RE = re.compile(r"\+\+\+ (?:exited with|killed by) ")
_ERRNO_N = re.compile(r"errno (\d+)")
DAY = 86400.0


_MAX_JOIN = 4


@dataclass(slots=True)
class _Carry:
    """The start of a line that ended early, waiting for its continuation."""

    text: str
    line: int
    count: int
    column: int
    reason: str
    first: str = ""


@dataclass(slots=True)
class _Pending:
    rec: LineRecord
    line: int
    time: float | None
    stack: list[str] = field(default_factory=list)
    args: str = ""


def _join_args(a: str, b: str) -> str:
    if not a:
        return b.lstrip(", ") if b.startswith(",") else b
    if not b:
        return a.rstrip(", ")
    if b.startswith(","):
        return a.rstrip(", ") + b
    if a.endswith(","):
        return a + " " + b
    return a + " " + b


class StraceFileReader:
    """Turns the lines of one strace file into events, accounting for every line.

    ``default_pid`` is the pid from an ``-ff`` file name (``trace.12345``); ``fast=False`` parses
    every line with plain Lark (the authority the fast path is tested against).
    """

    def __init__(self, path: str, report: ParseReport, seq_start: int = 0,
                 default_pid: int | None = None, fast: bool = True):
        self.path = path
        self.report = report
        self.seq = seq_start
        self.default_pid = default_pid
        self.fast = fast
        self.pending: dict[int | None, _Pending] = {}
        self.live: dict[int, None] = {}
        self.prefixed = False
        self.superseded: dict[int, int] = {}
        self.held: SyscallEvent | None = None
        self.frame_target: SyscallEvent | _Pending | None = None
        self.in_table = False
        self.carry: _Carry | None = None
        self.clock_last: float | None = None
        self.clock_day = 0.0
        self.rel_total = 0.0
        self.time_kinds: set[str] = set()

    # -- public ---------------------------------------------------------------------------------

    def feed(self, lines: Iterable[str], first_line_no: int = 1) -> Iterator[SyscallEvent]:
        """Parse lines (without their newlines); yields events as they complete."""
        report = self.report
        fast = self.fast
        n = first_line_no - 1
        for text in lines:
            n += 1
            report.lines += 1
            if "\x1b" in text:
                text = _ANSI.sub("", text)
            if self.carry is not None:
                yield from self._continue(text, n)
                continue
            if not text or text.isspace():
                report.skip(Skip.BLANK)
                continue
            rec = fast_line(text) if fast else None
            if rec is not None:
                yield from self._record(rec, n, n)
            else:
                yield from self._line(text, n)

    def finish(self) -> Iterator[SyscallEvent]:
        """End of file: flush the held event and calls that never resumed."""
        if self.carry is not None:
            # The last line(s) ended inside a call: the tracer was killed while writing.
            self.report.skip(Skip.TRUNCATED, self.carry.count)
            self.carry = None
        if self.held is not None:
            yield self.held
            self.held = None
        for pending in list(self.pending.values()):
            yield self._event(pending.rec, pending.line, pending.line, pending.time, pending.args,
                              None, State.UNFINISHED, pending.stack)
        self.pending.clear()

    # -- lines ----------------------------------------------------------------------------------

    def _line(self, text: str, line_no: int) -> Iterator[SyscallEvent]:
        """A line the fast path did not take: notices glued mid-line, then the grammar."""
        if self._glued_notice(text, line_no, 1):
            return
        try:
            rec = lark_line(text)
        except LineSyntaxError as exc:
            if not _LOOKS_LIKE_CALL.match(text):
                self.report.skip(Skip.PROGRAM_OUTPUT)
            elif exc.at_end:
                # Program output (or a notice) split this call; the next line may complete it.
                self.carry = _Carry(text, line_no, 1, exc.column, exc.reason, text)
            else:
                self._error(line_no, exc.column, text, exc.reason)
            return
        yield from self._record(rec, line_no, line_no)

    def _glued_notice(self, text: str, line_no: int, count: int) -> bool:
        # "clone(...|SIGCHLDstrace: Process 28053 attached" then ", child_tidptr=...) = 28053"
        m = _GLUED_NOTICE.search(text)
        if m is None or m.start() == 0 or not text[: m.start()].strip():
            return False
        head = text[: m.start()] + text[m.end():]
        self.carry = _Carry(head, line_no, count, len(head) + 1, "line was cut by a strace notice", head)
        return True

    def _continue(self, text: str, line_no: int) -> Iterator[SyscallEvent]:
        carry = self.carry
        assert carry is not None
        self.carry = None
        joined = carry.text + text
        count = carry.count + 1
        if self._glued_notice(joined, carry.line, count):
            return
        try:
            rec = lark_line(joined)
        except LineSyntaxError as exc:
            if exc.at_end and count < _MAX_JOIN and _LOOKS_LIKE_CALL.match(joined):
                self.carry = _Carry(joined, carry.line, count, carry.column, carry.reason, carry.first)
                return
            # Joining did not help: the first line is the error, the rest are parsed on their own.
            self._error(carry.line, carry.column, carry.first, carry.reason)
            self.report.skip(Skip.PROGRAM_OUTPUT, carry.count - 1)
            if not text or text.isspace():
                self.report.skip(Skip.BLANK)
                return
            yield from self._line(text, line_no)
            return
        yield from self._record(rec, carry.line, line_no, lines=count)

    def _error(self, line_no: int, column: int, text: str, reason: str) -> None:
        self.report.errors.append(LineIssue(self.path, line_no, column, text, reason))

    # -- records --------------------------------------------------------------------------------

    def _record(self, rec: LineRecord, line_no: int, end_no: int, lines: int = 1) -> Iterator[SyscallEvent]:
        report = self.report
        kind = rec.kind
        if kind == "frame":
            target = self.frame_target
            if target is None:
                report.skip(Skip.ORPHAN_FRAME, lines)
            else:
                if isinstance(target, _Pending):
                    target.stack.append(rec.text)
                else:
                    target.stack = target.stack + (rec.text,)
                report.parsed += lines
            return
        if self.held is not None:
            yield self.held
            self.held = None
        self.frame_target = None
        if kind.startswith("summary"):
            if kind == "summary_header":
                self.in_table = True
            elif kind == "summary_row" and not self.in_table:
                report.skip(Skip.PROGRAM_OUTPUT, lines)
                return
            elif kind == "summary_row" and rec.text.split()[-1] == "total":
                self.in_table = False
            report.skip(Skip.SUMMARY, lines)
            return
        pid = rec.pid
        if pid is not None:
            if not self.prefixed:
                self.prefixed = True
            self.live[pid] = None
        elif self.default_pid is not None:
            pid = self.default_pid
        elif self.prefixed and len(self.live) == 1:
            # stderr capture: strace drops the prefix while only one task is traced.
            pid = next(iter(self.live))
        time = self._time(rec)
        if kind == "signal":
            report.skip(Skip.SIGNAL, lines)
            return
        if kind == "notice":
            report.skip(Skip.NOTICE, lines)
            return
        if kind == "exited":
            report.skip(Skip.EXIT, lines)
            m = _SUPERSEDED.match(rec.text)
            if m is not None and pid is not None:
                self.superseded[pid] = int(m.group(1))
            elif pid is not None and _EXIT_RE.match(rec.text):
                self.live.pop(pid, None)
            return
        report.parsed += lines
        if kind == "call":
            event = self._event(rec, line_no, end_no, time, rec.args, rec, State.COMPLETE, None)
            self._hold(event)
            return
        if kind in ("unfinished", "detached"):
            old = self.pending.pop(pid, None)
            if old is not None:
                yield self._event(old.rec, old.line, old.line, old.time, old.args, None, State.UNFINISHED, old.stack)
            if kind == "detached":
                event = self._event(rec._replace(pid=pid), line_no, end_no, time, rec.args, None, State.DETACHED, None)
                self._hold(event)
                return
            pending = _Pending(rec._replace(pid=pid), line_no, time, [], rec.args)
            self.pending[pid] = pending
            self.frame_target = pending
            return
        # resumed / resumed_unfinished
        pending = self.pending.get(pid)
        if pending is None or pending.rec.name != rec.name:
            if rec.name == "execve" and pid in self.superseded:
                # A non-leader thread's execve completes under the leader's pid.
                thread = self.superseded.pop(pid)
                cand = self.pending.get(thread)
                if cand is not None and cand.rec.name == "execve":
                    pending = self.pending.pop(thread)
                    self.pending[pid] = pending
        if pending is None or pending.rec.name != rec.name:
            if pending is not None:
                self.pending.pop(pid, None)
                yield self._event(pending.rec, pending.line, pending.line, pending.time, pending.args,
                                  None, State.UNFINISHED, pending.stack)
            if kind == "resumed_unfinished":
                pending = _Pending(rec._replace(pid=pid), line_no, time, [], rec.args)
                self.pending[pid] = pending
                self.frame_target = pending
                return
            event = self._event(rec._replace(pid=pid), line_no, end_no, time, rec.args, rec, State.RESUMED_ONLY, None)
            self._hold(event)
            return
        if kind == "resumed_unfinished":
            # Resumed and blocked again: the rest printed so far is replaced by the final one.
            self.frame_target = pending
            return
        del self.pending[pid]
        args = _join_args(pending.args, rec.args)
        event = self._event(pending.rec._replace(pid=pid), pending.line, end_no, pending.time, args,
                            rec, State.COMPLETE, pending.stack)
        self._hold(event)

    def _hold(self, event: SyscallEvent) -> None:
        self.held = event
        self.frame_target = event

    def _time(self, rec: LineRecord) -> float | None:
        stamp = rec.stamp
        if stamp is None:
            if rec.rel is not None:
                return None
            return None
        if ":" in stamp:
            h, m, s = stamp.split(":")
            value = int(h) * 3600 + int(m) * 60 + float(s)
            last = self.clock_last
            if last is not None and value + self.clock_day < last - DAY / 2:
                self.clock_day += DAY
            value += self.clock_day
            self.clock_last = value
            self.time_kinds.add("clock")
            return value
        dot = stamp.find(".")
        if dot == -1 or dot >= 10:
            self.time_kinds.add("epoch")
            return float(stamp)
        # -r: delta since the previous line; time is the running sum (seconds since the start).
        self.rel_total += float(stamp)
        self.time_kinds.add("relative")
        return self.rel_total

    def _event(self, start: LineRecord, line_no: int, end_no: int, time: float | None, args: str,
               end: LineRecord | None, state: State, stack: list[str] | None) -> SyscallEvent:
        seq = self.seq
        self.seq += 1
        self.report.events += 1
        name = start.name or ""
        ret_text = end.ret if end is not None else None
        ret = None
        errno = errmsg = detail = None
        injected = False
        duration = None
        if end is not None:
            if ret_text is not None and ret_text != "?":
                ret = int(ret_text, 16) if ret_text.startswith("0x") else int(ret_text)
            errno = end.errno
            parens = end.parens
            if errno is not None and parens:
                errmsg = parens[0]
                parens = parens[1:]
            rest = []
            for p in parens:
                if p == "INJECTED":
                    injected = True
                elif p == "DELAYED":
                    continue
                elif errno is None and ret == -1 and _ERRNO_N.fullmatch(p):
                    number = int(p[6:])
                    errno = _errno.errorcode.get(number, "EUNKNOWN")
                    errmsg = p
                else:
                    rest.append(p)
            detail = "; ".join(rest) if rest else None
            if end.ret_deco is not None:
                detail = f"<{end.ret_deco}>" + (f"; {detail}" if detail else "")
            dur = end.duration
            if dur is not None and dur != "unavailable":
                duration = float(dur)
        if state is not State.COMPLETE:
            self.report.incomplete[state.value] = self.report.incomplete.get(state.value, 0) + 1
        decoded, why = decode(name, args, self.fast)
        if why is not None and state is not State.COMPLETE:
            why = f"{state.value} call: {why}"
        return SyscallEvent(
            seq=seq, file=self.path, line=line_no, pid=start.pid, syscall=name, args=args,
            ret=ret, errno=errno, errmsg=errmsg, time=time, duration=duration,
            end_line=end_no, ret_text=ret_text, ret_detail=detail, injected=injected,
            state=state, sysno=start.sysno, ip=start.ip, stack=tuple(stack or ()),
            decoded=decoded, decode_error=why,
        )
