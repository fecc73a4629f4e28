"""The state of one strace file that spans lines, and what each line does to it.

State kept per file: pending "<unfinished ...>" starts per task (joined with their
"<... resumed>" ends), the live tasks (an unprefixed line in a multi-task stderr capture belongs
to the only live task), -r sums, the last event (``-k`` frame lines attach to it), the ``-c``
summary table, and lines that program output or an attach notice cut in two.

Lines come in two ways: as the groups of the block regex (:meth:`LineStateMachine._tuple`, the
common shapes) or as text for the Lark grammar (:meth:`LineStateMachine._slow`, everything
else). :meth:`~LineStateMachine.feed_lines` feeds a block line by line;
:class:`~tracemem.parse.reader.StraceFileReader` adds the paths that take whole blocks at once.

In block-local mode (a worker parsing one block with no knowledge of calls pending from earlier
blocks) boundary interactions become markers among the rows (:class:`~.rows.Flush`,
:class:`~.rows.Orphan`), which the main process replays (:meth:`~LineStateMachine.replay`);
anything a marker cannot express sets ``needs_sequential``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..events import LineIssue, ParseReport, Skip
from .lines import LineRangeError, LineRecord, LineSyntaxError, fast_event, fast_line, lark_line
from .patterns import ANSI, block_patterns
from .rows import COMPLETE, DETACHED, RESUMED_ONLY, UNFINISHED, FrameTarget, Flush, Item, Marker, Orphan, \
    Row, Stamp
from .values import unescape
from ..text import export_text

_GLUED_NOTICE = re.compile(r"strace: Process \d+ (?:attached|detached)")
_LOOKS_LIKE_CALL = re.compile(
    r"[ \t]*(?:\d+(?:<[^<>\n]*>)?[ \t]+|\[pid +\d+[^\]]*\][ \t]*)?(?:[\d:.]+[ \t]+)?(?:\(\+ *[\d.]+\)[ \t]+)?"
    r"(?:\[[ \d]+\][ \t]+)?(?:\[[0-9a-f?]+\][ \t]+)?(?:[A-Za-z_][A-Za-z0-9_]*\(|<\.\.\. )"
)
_SUPERSEDED = re.compile(r"\+\+\+ superseded by execve in pid (\d+) \+\+\+")
_EXIT_RE = re.compile(r"\+\+\+ (?:exited with|killed by) ")
#: --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=30150, ...} ---
_SIGCHLD = re.compile(r"^--- SIGCHLD \{.*?\bsi_pid=(\d+)")
_MAX_JOIN = 4
_FIRST_STAMP = re.compile(
    r"[ \t]*(?:\d{1,9}(?:<[^<>\n]*>)?[ \t]+|\[pid +\d+[^\]]*\][ \t]*)?"
    r"(\d\d:\d\d:\d\d(?:\.\d{1,9})?|\d+\.\d{1,9}|\d{10,})[ \t]+\S"
)


@dataclass(slots=True)
class _Carry:
    """The start of a line that ended early, waiting for its continuation."""

    text: str
    line: int
    count: int
    column: int
    reason: str
    first: str
    #: a write() whose output landed inside its line: waiting for the ") = N" line, with the
    #: output lines in between
    output: list[tuple[int, str]] | None = None


_WRITE_HEAD = re.compile(r'(?:.*[ \t\]])?(?:write|pwrite64)\(\d+(?:<[^<>\n]*>)?, ("(?:[^"\\\n]|\\.)*")(?:\.\.\.)?, ')
# The end of a write() whose output was printed in the middle of its line: ") = N" at the start
# of a line (output ended with a newline) or glued to the end of the output's last line.
_RESUME_TAIL = re.compile(
    r"\)[ \t]*=[ \t]*(?:-?\d+|\?)(?:[ \t]+E[A-Z0-9_]+[ \t]+\([^()\n]*\))?(?:[ \t]*<[\d.]+>)?[ \t]*$")
_MAX_OUTPUT_LINES = 5000


def _write_cut(first: str) -> int | None:
    """Where a write() line's own text ends and the program's output (the written string,
    printed by the terminal while strace waited) begins: after the count argument."""
    m = _WRITE_HEAD.match(first)
    if m is None:
        return None

    content = unescape(m.group(1)[1:-1])
    prefix = content.split("\n", 1)[0][:16]
    after = first[m.end():]
    for i in range(1, len(after) + 1):
        if not after[:i].isdigit():
            break
        if (prefix and after[i:].startswith(prefix)) or (not prefix and i == len(after)):
            return m.end() + i
    return None


def _plain_duration(d: str) -> bool:
    """d matches \\d+(\\.\\d{1,9})? (ASCII digits)."""
    if not d.isascii():
        return False
    whole, dot, frac = d.partition(".")
    return whole.isdigit() and (not dot or (frac.isdigit() and len(frac) <= 9))


def _join_args(a: str, b: str) -> str:
    if not a:
        return b[1:].lstrip() if b.startswith(",") else b
    if not b:
        return a.rstrip(", ") if a.endswith(",") else a
    if b.startswith(","):
        return a.rstrip(", ") + b
    return a + " " + b


class LineStateMachine:
    """The lines of one strace file into event rows, one line at a time, accounting for every
    line.

    ``default_pid`` is the pid from an ``-ff`` file name (``trace.12345``); ``fast=False`` parses
    every line with plain Lark (the authority the fast paths are tested against).
    """

    def __init__(self, path: str, report: ParseReport, default_pid: int | None = None, fast: bool = True):
        self.path = path
        self.report = report
        self.default_pid = str(default_pid) if default_pid is not None else None
        self.fast = fast
        self.pending: dict[str | None, Row] = {}
        self.live: dict[str, None] = {}
        self.prefixed = False
        self.superseded: dict[str, str] = {}
        self.rows: list[Item] = []
        self.last_row: FrameTarget | None = None  # frames attach here (a pending start or the last row)
        self.in_table = False
        self.carry: _Carry | None = None
        self.line_no = 0
        self.relative: bool | None = None
        self.rel_total = 0.0
        # Block-local mode: boundary interactions become markers in the rows for the stitcher,
        # and anything it cannot mark sets needs_sequential.
        self.block_local = False
        self.needs_sequential = False
        self.block_first = 1
        self.live_log: list[tuple[str, str]] = []
        self.frame_skip: Skip | None = None
        # Block-local mode: tasks whose calls from earlier blocks are already settled by a marker.
        self.touched: set[str | None] = set()
        self.unprefixed = False

    def _relative(self, stamp: str) -> float | str:
        """A -r delta added to the running sum; an absolute stamp in a mixed file stays as is."""
        dot = stamp.find(".")
        if 0 <= dot < 10 and ":" not in stamp:
            self.rel_total += float(stamp)
            return self.rel_total
        return stamp

    def _seen(self, pid: str) -> None:
        self.prefixed = True
        self.live[pid] = None
        if self.block_local:
            self.live_log.append(("seen", pid))

    def _detect_relative(self, lines: list[str]) -> bool:
        """-r stamps are deltas between lines: decided by the first stamped line of the file."""
        for text in lines:
            m = _FIRST_STAMP.match(text)
            if m is not None:
                stamp = m.group(1)
                self.relative = ":" not in stamp and 0 <= stamp.find(".") < 10
                return self.relative
        return False

    # -- public ---------------------------------------------------------------------------------

    def feed_lines(self, lines: list[str]) -> list[Item]:
        """Parse a block line by line (relative stamps, mixed prefixes, plain-Lark mode); returns
        the rows of the events completed."""
        rows: list[Item] = []
        self.rows = rows
        if not lines:
            return rows
        report = self.report
        report.lines += len(lines)
        n = start = self.line_no
        self.block_first = start + 1
        self.line_no += len(lines)
        if not self.fast:
            for text in lines:
                n += 1
                self._slow(text, n)
                if self.needs_sequential:
                    return rows
            return rows
        if self.relative is None:
            self._detect_relative(lines)
        relative = self.relative
        patterns = block_patterns()
        text = "\n".join(lines)
        if "\x1b" in text:
            text = ANSI.sub("", text)
        needs_check = patterns.needs_check
        args_ok = patterns.cached_args_ok
        live = self.live
        append = rows.append
        parsed = 0
        rest_match = patterns.rest
        block_local = self.block_local
        default_pid = self.default_pid
        for (pid, pidb, stamp, name, rname, args, unf, ret, rest, other) in patterns.findall(text):
            n += 1
            if self.carry is not None or not (name or rname) or (
                    args and needs_check(args) and args_ok(args) is None):
                self._slow(lines[n - start - 1], n)
                if self.needs_sequential:
                    return rows
                continue
            if not rest:
                deco = errno = parens = dur = ""
            elif rest[:2] == " <" and rest[-1] == ">" and _plain_duration(rest[2:-1]):
                # The usual " <0.000012>" (the DURATION terminal), checked without a regex.
                deco = errno = parens = ""
                dur = rest[2:-1]
            else:
                m = rest_match(rest)
                if m is None:
                    self._slow(lines[n - start - 1], n)
                    if self.needs_sequential:
                        return rows
                    continue
                deco, errno, parens, dur = m.groups("")
            parsed += 1
            if relative and stamp:
                stamp = self._relative(stamp)
            if pidb:
                pid = pidb
            if pid:
                if pid not in live:
                    self._seen(pid)
            elif default_pid is not None:
                pid = default_pid
            elif self.prefixed:
                if block_local:
                    self.needs_sequential = True
                    return rows
                pid = next(iter(live)) if len(live) == 1 else None
            else:
                pid = None
                self.unprefixed = True
            args = args.strip()
            if name:
                if unf:
                    self._start(Row(n, n, pid, stamp, name, args, UNFINISHED))
                    continue
                row = Row(n, n, pid, stamp, name, args, COMPLETE, ret, deco, errno, parens, dur)
                append(row)
                self.last_row = row
                continue
            self._resume(pid, rname, args, n, stamp, unf, ret, deco, errno, parens, dur)
            if self.needs_sequential:
                return rows
        report.parsed += parsed
        return rows

    def finish(self) -> list[Item]:
        """End of file: calls that never resumed become events of their own."""
        rows: list[Item] = []
        self.rows = rows
        if self.carry is not None:
            # The last line(s) ended inside a call: the tracer was killed while writing.
            self.report.skip(Skip.TRUNCATED, self.carry.count)
            self.carry = None
        rows.extend(self.pending.values())
        self.pending.clear()
        return rows

    # -- stitching (the main process, with a block-local worker's results) ---------------------

    def replay(self, marker: Marker, offset: float) -> list[Row]:
        """A worker's marker applied to the calls pending here (``offset``: the -r sum of the
        lines before the worker's block); returns the rows it completes."""
        rows: list[Item] = []
        self.rows = rows
        if isinstance(marker, Flush):
            old = self.pending.pop(marker.pid, None)
            if old is not None:
                rows.append(old)
        else:
            stamp = marker.stamp
            if offset and type(stamp) is float:
                stamp += offset
            self._resume(marker.pid, marker.name, marker.args, marker.line, stamp, "", marker.ret,
                         marker.deco, marker.errno, marker.parens, marker.dur)
            made = self.last_row
            if marker.stack and made is not None:
                made.stack = (made.stack or ()) + marker.stack
        self.rows = []
        return [row for row in rows if isinstance(row, Row)]

    def adopt_pending(self, rows: list[Row], offset: float) -> None:
        """A worker's calls left pending at the end of its block become pending here."""
        for row in rows:
            if offset and type(row.stamp) is float:
                row.stamp += offset
            self.pending[row.pid] = row

    # -- rows -------------------------------------------------------------------------------------

    def _tuple(self, t: tuple[str, ...], n: int) -> bool:
        """A line taken from the block regex's groups that needs the state machine; False when
        its ending is not one the grammar allows (the caller then parses it with Lark)."""
        pid_, pidb, stamp, name, rname, args, unf, ret, dur, rest, other = t
        pid = pid_ or pidb or self.default_pid or None
        if rest:
            m = block_patterns().rest(rest)
            if m is None:
                return False
            deco, errno, parens, dur = m.groups("")
        else:
            deco = errno = parens = ""
        args = args.strip()
        if name:
            if unf:
                self._start(Row(n, n, pid, stamp, name, args, UNFINISHED))
                return True
            row = Row(n, n, pid, stamp, name, args, COMPLETE, ret, deco, errno, parens, dur)
            self.rows.append(row)
            self.last_row = row
            return True
        self._resume(pid, rname, args, n, stamp, unf, ret, deco, errno, parens, dur)
        return True

    def _start(self, row: Row) -> None:
        pid = row.pid
        self._end_pending(pid)
        self.pending[pid] = row
        self.last_row = row

    def _end_pending(self, pid: str | None) -> None:
        """A new call of a task ends the one it left unfinished (emitted as it is)."""
        old = self.pending.pop(pid, None)
        if old is not None:
            self.rows.append(old)
        elif self.block_local and pid not in self.touched:
            # A call of this task pending from an earlier block would end here, unfinished.
            self.touched.add(pid)
            self.rows.append(Flush(pid))

    def _resume(self, pid: str | None, name: str, args: str, n: int, stamp: Stamp,
                unf: str, ret: str, deco: str, errno: str, parens: str, dur: str) -> None:
        pending = self.pending.get(pid)
        if pending is None and self.block_local and pid not in self.touched:
            self.touched.add(pid)
            if unf or (name == "execve" and self.superseded):
                self.needs_sequential = True
                return
            # The start may be in an earlier block: the stitcher decides. Frames that follow
            # (-k) collect in the marker and go to whatever event the stitcher makes of it.
            orphan = Orphan(pid, name, args, n, stamp, ret, deco, errno, parens, dur)
            self.rows.append(orphan)
            self.last_row = orphan
            return
        if (pending is None or pending.name != name) and name == "execve" and pid in self.superseded:
            # A non-leader thread's execve completes under the leader's pid.
            thread = self.superseded.pop(pid)
            cand = self.pending.get(thread)
            if cand is not None and cand.name == "execve":
                if pending is not None:
                    self.rows.append(self.pending.pop(pid))
                pending = self.pending.pop(thread)
                pending.pid = pid
                self.pending[pid] = pending
        if pending is None or pending.name != name:
            if pending is not None:
                self.rows.append(self.pending.pop(pid))
            if unf:
                self._start(Row(n, n, pid, stamp, name, args, RESUMED_ONLY))
                return
            row = Row(n, n, pid, stamp, name, args, RESUMED_ONLY, ret, deco, errno, parens, dur)
            self.rows.append(row)
            self.last_row = row
            return
        if unf:
            # Resumed and blocked again: the final resumed line carries the rest of the arguments.
            self.last_row = pending
            return
        del self.pending[pid]
        pending.args = _join_args(pending.args, args)
        pending.end = n
        pending.ret = ret
        pending.deco = deco
        pending.errno = errno
        pending.parens = parens
        pending.dur = dur
        if pending.state == UNFINISHED:
            pending.state = COMPLETE
        self.rows.append(pending)
        self.last_row = pending

    # -- slow lines ---------------------------------------------------------------------------------

    def _slow(self, text: str, n: int) -> None:
        if "\x1b" in text:
            text = ANSI.sub("", text)
        if self.carry is not None:
            self._continue(text, n)
            return
        if not text or text.isspace():
            self.report.skip(Skip.BLANK)
            return
        if self._glued_notice(text, n, 1):
            return
        try:
            rec = (fast_event(text) if self.fast else None) or lark_line(text)
        except LineSyntaxError as exc:
            if not _LOOKS_LIKE_CALL.match(text) and not isinstance(exc, LineRangeError):
                self.report.skip(Skip.PROGRAM_OUTPUT)
            elif exc.at_end:
                # Program output (or a notice) split this call; the next line may complete it.
                cut = _write_cut(text)
                output: list[tuple[int, str]] | None = [] if cut is not None and cut < len(text) else None
                self.carry = _Carry(text, n, 1, exc.column, exc.reason, text, output)
            else:
                self._error(n, exc.column, text, exc.reason)
            return
        self._record(rec, n, 1)

    def _glued_notice(self, text: str, n: int, count: int, first: int | None = None) -> bool:
        """A strace notice glued into a line (the ``count`` lines up to line ``n``, the first
        one ``first``) cuts it: the rest comes on the next line."""
        # "clone(...|SIGCHLDstrace: Process 28053 attached" then ", child_tidptr=...) = 28053"
        m = _GLUED_NOTICE.search(text)
        if m is None or m.start() == 0 or not text[: m.start()].strip():
            return False
        head = text[: m.start()] + text[m.end():]
        self.carry = _Carry(head, n - count + 1 if first is None else first, count, len(head) + 1,
                            "line was cut by a strace notice and never continued", head)
        return True

    def _continue(self, text: str, n: int) -> None:
        carry = self.carry
        assert carry is not None
        self.carry = None
        if "\x1b" in text:
            text = ANSI.sub("", text)
        if carry.output is not None:
            self._continue_write(carry, text, n)
            return
        if self._is_strace(text):
            # The next line is a strace line of its own: the carried one was never continued.
            self._error(carry.line, carry.column, carry.first, carry.reason)
            if carry.count > 1:
                self.report.skip(Skip.PROGRAM_OUTPUT, carry.count - 1)
            self._slow(text, n)
            return
        joined = carry.text + text
        count = carry.count + 1
        if self._glued_notice(joined, n, count, carry.line):
            return
        try:
            rec = lark_line(joined)
        except LineSyntaxError as exc:
            if exc.at_end and count < _MAX_JOIN and _LOOKS_LIKE_CALL.match(joined):
                self.carry = _Carry(joined, carry.line, count, carry.column, carry.reason, carry.first)
                return
            if carry.count == 1 and _write_cut(carry.first) is not None and not self._is_strace(text):
                # The program's output went to the same terminal as strace: wait for ") = N".
                self.carry = _Carry(carry.first, carry.line, 1, carry.column, carry.reason,
                                    carry.first, [(n, text)])
                return
            # Joining did not help: the first line is the error, the next ones are parsed alone.
            self._error(carry.line, carry.column, carry.first, carry.reason)
            if carry.count > 1:
                self.report.skip(Skip.PROGRAM_OUTPUT, carry.count - 1)
            self._slow(text, n)
            return
        self._record(rec, carry.line, count, end=n)

    @staticmethod
    def _is_strace(text: str) -> bool:
        if fast_line(text) is not None:
            return True
        try:
            rec = lark_line(text)
        except LineRangeError:
            return True
        except LineSyntaxError:
            return bool(_LOOKS_LIKE_CALL.match(text))
        return rec.kind not in ("summary_row", "frame")

    def _continue_write(self, carry: _Carry, text: str, n: int) -> None:
        output = carry.output
        assert output is not None
        tail = _RESUME_TAIL.search(text)
        if tail is not None:
            cut = _write_cut(carry.first)
            try:
                rec = lark_line(carry.first[: cut] + text[tail.start():]) if cut is not None else None
            except LineSyntaxError:
                rec = None
            if rec is not None:
                # The write's own line and its ") = N" line make the event; between them, output.
                self.report.skip(Skip.PROGRAM_OUTPUT, len(output))
                self._record(rec, carry.line, 2, end=n)
                return
        elif len(output) < _MAX_OUTPUT_LINES and not self._is_strace(text):
            output.append((n, text))
            self.carry = carry
            return
        # Not the continuation after all: the first line is the error, the rest parse alone.
        self._error(carry.line, carry.column, carry.first, carry.reason)
        for k, line in output:
            self._slow(line, k)
        self._slow(text, n)

    def _error(self, n: int, column: int, text: str, reason: str) -> None:
        self.report.errors.append(LineIssue(self.path, n, column, text, reason))

    def _record(self, rec: LineRecord, n: int, lines: int, end: int | None = None) -> None:
        report = self.report
        kind = rec.kind
        end = n if end is None else end
        if kind == "frame":
            target = self.last_row
            if target is None and self.block_local and n == self.block_first:
                self.needs_sequential = True  # its syscall line is in the previous block
                return
            if target is None:
                # -k prints stacks for signals and exits too: they go with that line.
                report.skip(self.frame_skip or Skip.ORPHAN_FRAME, lines)
                return
            frame = rec.text or ""
            if not frame.isascii():
                # a frame is text for people (its role names the region): a byte that is not
                # UTF-8 is kept as \\xNN, the form exports and the chart take
                frame = export_text(frame)
            target.stack = (target.stack or ()) + (frame,)
            report.parsed += lines
            return
        if kind.startswith("summary"):
            if kind == "summary_header":
                self.in_table = True
            elif kind == "summary_row" and not self.in_table:
                if self.block_local:
                    self.needs_sequential = True  # the table may have started in an earlier block
                    return
                report.skip(Skip.PROGRAM_OUTPUT, lines)
                return
            elif kind == "summary_row" and (rec.text or "").split()[-1] == "total":
                self.in_table = False
            report.skip(Skip.SUMMARY, lines)
            return
        self.last_row = None
        self.frame_skip = None
        stamp: Stamp = rec.stamp
        if rec.stamp is not None:
            if self.relative is None:
                self.relative = ":" not in rec.stamp and 0 <= rec.stamp.find(".") < 10
            if self.relative:
                stamp = self._relative(rec.stamp)
        pid = str(rec.pid) if rec.pid is not None else None
        if pid is not None:
            if pid not in self.live:
                self._seen(pid)
        elif self.default_pid is not None:
            pid = self.default_pid
        elif self.prefixed:
            if self.block_local:
                self.needs_sequential = True
                return
            pid = next(iter(self.live)) if len(self.live) == 1 else None
        else:
            self.unprefixed = True
        if kind == "signal":
            report.skip(Skip.SIGNAL, lines)
            self.frame_skip = Skip.SIGNAL
            child = _SIGCHLD.search(rec.text or "")
            if child is not None and pid is not None and pid.isdigit():
                report.children[int(child.group(1))] = int(pid)
            return
        if kind == "notice":
            report.skip(Skip.NOTICE, lines)
            return
        if kind == "exited":
            report.skip(Skip.EXIT, lines)
            self.frame_skip = Skip.EXIT
            m = _SUPERSEDED.match(rec.text or "")
            if m is not None and pid is not None:
                self.superseded[pid] = m.group(1)
            elif pid is not None and _EXIT_RE.match(rec.text or ""):
                if pid.isdigit():
                    report.ends[int(pid)] = (n, (rec.text or "").strip("+ "))
                self.live.pop(pid, None)
                if self.block_local:
                    self.live_log.append(("exit", pid))
            return
        report.parsed += lines
        parens = "".join(f"({p})" for p in rec.parens)
        name = rec.name or ""
        deco = f"<{rec.ret_deco}>" if rec.ret_deco is not None else ""
        if kind == "call":
            row = Row(n, end, pid, stamp, name, rec.args, COMPLETE, rec.ret, deco, rec.errno or "",
                      parens, rec.duration or "", rec.sysno, rec.ip)
            self.rows.append(row)
            self.last_row = row
            return
        if kind in ("unfinished", "detached"):
            row = Row(n, end, pid, stamp, name, rec.args, UNFINISHED if kind == "unfinished" else DETACHED,
                      sysno=rec.sysno, ip=rec.ip)
            if kind == "detached":
                self._end_pending(pid)
                self.rows.append(row)
                self.last_row = row
                return
            self._start(row)
            return
        # resumed / resumed_unfinished
        self._resume(pid, name, rec.args, end, stamp, "unf" if kind == "resumed_unfinished" else "",
                     rec.ret or "", deco, rec.errno or "", parens, rec.duration or "")
