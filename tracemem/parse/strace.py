"""strace logs into events: line parsing plus the state that spans lines.

Speed comes from working a block of lines at a time: one regular expression (assembled from the
grammar's own terminals) runs over the whole block and yields a tuple per line; complete,
unfinished and resumed syscall lines are taken from those tuples, every other line goes through
the Lark grammar. Events are rows (tuples) appended when they complete; conversions that can be
done per column (times, return values, decoding of memory syscalls) run once per block.

State kept per file: pending "<unfinished ...>" starts per task (joined with their
"<... resumed>" ends), the live tasks (an unprefixed line in a multi-task stderr capture belongs
to the only live task), the clock (midnight rollover for -t/-tt, sums for -r), the last event
(``-k`` frame lines attach to it), the ``-c`` summary table, and lines that program output or an
attach notice cut in two.
"""

from __future__ import annotations

import errno as _errno
import os
import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any, Iterable

from ..events import LineIssue, ParseReport, Skip, State
from .grammar import terminal_regex
from .lines import LineRecord, LineSyntaxError, fast_line, lark_line
from .values import DECODED_SYSCALLS, decode

try:  # the compiled line splitter (tracemem/parse/_scan.c); optional, the pure-Python path is complete
    from . import _scan

    # a build left from an older _scan.c (an editable install not rebuilt) is not used
    _SCAN = _scan.scan if getattr(_scan, "ABI", None) == 2 else None
except ImportError:  # pragma: no cover - no compiler when the package was built
    _SCAN = None

#: use the compiled scanner when it is built (tests switch it off to compare both paths);
#: the environment variable TRACEMEM_PURE_PYTHON=1 switches it off too
USE_SCANNER = _SCAN is not None and not os.environ.get("TRACEMEM_PURE_PYTHON")
_SPECIAL_KINDS = re.compile(rb"[XG]")
# The scanner's columns (_scan.c) and the output columns each one serves.
_SCAN_COLUMNS = {"line": 0, "end_line": 1, "pid": 2, "time": 3, "syscall": 4, "args": 5, "ret": 6,
                 "ret_text": 6, "errno": 7, "errmsg": 8, "ret_detail": 9, "duration": 10}
_ALL_SCAN = (1 << 11) - 1


def scan_mask(columns: tuple[str, ...] | None) -> int:
    """The scanner columns a column selection needs (arguments always: decoding uses them)."""
    if columns is None:
        return _ALL_SCAN
    mask = 1 << 5
    for name in columns:
        if name in _SCAN_COLUMNS:
            mask |= 1 << _SCAN_COLUMNS[name]
        elif name not in ("decoded", "decode_error", "sysno", "ip", "stack", "state", "injected"):
            return _ALL_SCAN
    return mask


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_GLUED_NOTICE = re.compile(r"strace: Process \d+ (?:attached|detached)")
_LOOKS_LIKE_CALL = re.compile(
    r"[ \t]*(?:\d{1,9}(?:<[^<>\n]*>)?[ \t]+|\[pid +\d+[^\]]*\][ \t]*)?(?:[\d:.]+[ \t]+)?(?:\(\+ *[\d.]+\)[ \t]+)?"
    r"(?:\[[ \d]+\][ \t]+)?(?:\[[0-9a-f?]+\][ \t]+)?(?:[A-Za-z_][A-Za-z0-9_]*\(|<\.\.\. )"
)
_SUPERSEDED = re.compile(r"\+\+\+ superseded by execve in pid (\d+) \+\+\+")
_EXIT_RE = re.compile(r"\+\+\+ (?:exited with|killed by) ")
_ERRNO_N = re.compile(r"errno (\d+)")
_MAX_JOIN = 4
_FIRST_STAMP = re.compile(
    r"[ \t]*(?:\d{1,9}(?:<[^<>\n]*>)?[ \t]+|\[pid +\d+[^\]]*\][ \t]*)?"
    r"(\d\d:\d\d:\d\d(?:\.\d{1,9})?|\d+\.\d{1,9}|\d{10,})[ \t]+\S"
)
DAY = 86400.0

# Row layout (one tuple per event):
R_LINE, R_END, R_PID, R_STAMP, R_REL, R_SYSNO, R_IP, R_NAME, R_ARGS, R_RET, R_DECO, R_ERRNO, \
    R_PARENS, R_DUR, R_STATE, R_STACK = range(16)

_COMPLETE = State.COMPLETE.value
_UNFINISHED_S = State.UNFINISHED.value
_RESUMED_ONLY = State.RESUMED_ONLY.value
_DETACHED = State.DETACHED.value


class _Block:
    """The block regex: one tuple per line; common syscall shapes captured, the rest in `other`.

    Everything after the return value (decoration, errno, details, duration) is matched by a
    second, smaller expression only when present.
    """

    def __init__(self) -> None:
        t = terminal_regex
        prefix = (
            r"[ \t]*(?:(\d{1,9})[ \t]+|\[pid +(\d+)\][ \t]*)?"
            r"(?:(\d\d:\d\d:\d\d(?:\.\d{1,9})?|\d+\.\d{1,9}|\d{10,})[ \t]+)?"
        )
        name = r"(?:([A-Za-z_][A-Za-z0-9_]*)\(|<\.\.\. ([A-Za-z_][A-Za-z0-9_]*) resumed>)"
        tail = r"(?:[ \t]*(<unfinished \.\.\.>)|\)[ \t]*=[ \t]*(" + t("RETVAL") + r")(.*))"
        self.findall = re.compile(r"^(?:" + prefix + name + r"(.*)" + tail + r"|(.*))$", re.M).findall
        # The same with the argument extent checked by the ARGS terminal inside the expression,
        # and a plain " <duration>" ending split off: lines whose groups say "complete call,
        # nothing after the duration" need no Python code of their own.
        tailv = (r"(?:[ \t]*(<unfinished \.\.\.>)|\)[ \t]*=[ \t]*(" + t("RETVAL") + r")"
                 r"(?:[ \t]+<(\d+(?:\.\d{1,9})?)>[ \t]*$|(.*)))")
        self.vector = re.compile(
            r"^(?:" + prefix + name + r"(" + t("ARGS") + r")?" + tailv + r"|(.*))$", re.M).findall
        self.rest = re.compile(
            r"(?:[ \t]*((?!<(?:\d+(?:\.\d{1,9})?|unavailable)>)" + t("DECO") + "))?"
            r"(?:[ \t]*(" + t("ERRNO") + r"))?"
            r"((?:[ \t]*" + t("PAREN") + ")*)"
            r"(?:[ \t]*<(\d+(?:\.\d{1,9})?|unavailable)>)?[ \t]*"
        ).fullmatch
        # Text that can make an argument list unbalanced; without any, it is one ARGS token.
        self.needs_check = re.compile(r'["()\[\]{}<]|/\*').search
        self.args_ok = re.compile("(?:" + t("ARGS") + ")").fullmatch
        self.parens = re.compile(t("PAREN")).findall
        self._ok_cache: dict[str, bool] = {}

    def cached_args_ok(self, args: str) -> bool | None:
        """ARGS fullmatch, remembered per text (argument lists repeat: paths, structs)."""
        cache = self._ok_cache
        ok = cache.get(args)
        if ok is None:
            if len(cache) > 50_000:
                cache.clear()
            ok = cache[args] = self.args_ok(args) is not None
        return True if ok else None


_BLOCK: _Block | None = None


def _block() -> _Block:
    global _BLOCK
    if _BLOCK is None:
        _BLOCK = _Block()
    return _BLOCK


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
    from .values import unescape

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


class StraceFileReader:
    """Turns the lines of one strace file into event rows, accounting for every line.

    ``default_pid`` is the pid from an ``-ff`` file name (``trace.12345``); ``fast=False`` parses
    every line with plain Lark (the authority the fast path is tested against).
    """

    def __init__(self, path: str, report: ParseReport, default_pid: int | None = None, fast: bool = True):
        self.path = path
        self.report = report
        self.default_pid = str(default_pid) if default_pid is not None else None
        self.fast = fast
        self.pending: dict[str | None, list[Any]] = {}
        self.live: dict[str, None] = {}
        self.prefixed = False
        self.superseded: dict[str, str] = {}
        self.rows: list[tuple[Any, ...]] = []
        self.last_row: list[Any] | None = None  # frames attach here (a pending start or the last row)
        self.in_table = False
        self.carry: _Carry | None = None
        self.line_no = 0
        self.relative: bool | None = None
        self.rel_total = 0.0
        # Block-local mode (a worker parsing one block with no knowledge of calls pending from
        # earlier blocks): boundary interactions become markers in the rows for the stitcher,
        # and anything it cannot mark sets needs_sequential.
        self.block_local = False
        self.needs_sequential = False
        self.block_first = 1
        self.live_log: list[tuple[str, str]] = []
        self.vector_rows: Any = None
        self.frame_skip: Skip | None = None
        # Block-local mode: tasks whose calls from earlier blocks are already settled by a marker.
        self.touched: set[str | None] = set()
        self.unprefixed = False
        self.use_scanner = USE_SCANNER and fast
        self.want_columns(None)
        #: blocks the compiled scanner took (for tests and benchmarks)
        self.scanned_blocks = 0

    def want_columns(self, columns: tuple[str, ...] | None) -> None:
        """The output columns the caller will ask ``assemble`` for (None: all): the scanner builds
        only those, and argument text only where needed (decoding always needs it)."""
        #: the scanner's columns to build (see scan_mask)
        self.scan_mask = scan_mask(columns)
        #: syscall names whose argument text is needed (None: all); the others' may be left out
        self.args_for = None if columns is None or "args" in columns else DECODED_SYSCALLS

    def _relative(self, stamp: str) -> Any:
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

    def feed_block(self, lines: list[str]) -> list[Any]:
        """Parse a block of lines (no newlines); returns the rows of the events completed.

        A block must not start with a ``-k`` frame line: frames attach to the row of the line
        before them, which an earlier block has already finished (``iter_byte_blocks`` never
        cuts a block there).

        Lines that are complete calls ending at their duration are taken straight from the
        block regex's groups; every other line (and the lines a frame or a cut line needs)
        goes through the per-line state machine, in order.
        """
        if not self.fast or not lines or self.relative or (self.relative is None and self._detect_relative(lines)):
            return self._feed_loop(lines)
        block = _block()
        text = "\n".join(lines)
        if "\x1b" in text:
            text = _ANSI.sub("", text)
        elif self.use_scanner and self.carry is None:
            rows = self._feed_scanned(lines, text)
            if rows is not None:
                return rows
        found = block.vector(text)
        if len(found) != len(lines):  # pragma: no cover - a line end the split and the regex disagree on
            return self._feed_loop(lines)
        P, PB, ST, NM, RN, AR, UF, RT, DU, RS, OT = zip(*found)
        if any(PB):
            P = tuple(a or b for a, b in zip(P, PB))
        default_pid = self.default_pid
        has_pid = any(P)
        if has_pid or self.prefixed:
            if default_pid is None and "" in [p for p, nm, rn in zip(P, NM, RN) if nm or rn]:
                # An unprefixed line in a multi-task stderr capture: the live set decides.
                return self._feed_loop(lines)
        start = self.line_no
        count = len(lines)
        self.report.lines += count
        self.line_no += count
        self.block_first = start + 1
        self.rows = rows = []
        live = self.live
        if has_pid:
            for pid in dict.fromkeys(P):
                if pid and pid not in live:
                    self._seen(pid)
        elif default_pid is None and (any(NM) or any(RN)):
            self.unprefixed = True
        special = [i for i, (nm, u, e) in enumerate(zip(NM, UF, RS)) if not nm or u or e]
        if special:
            frames = [i - 1 for i in special if OT[i][:3] == " > " or OT[i][:2] == "> "]
            if frames:
                special = sorted(set(special).union(frames))
        if self.carry is not None and (not special or special[0] != 0):
            special.insert(0, 0)  # a line cut at the end of the previous block continues here
        simple_mask = [True] * count
        emitted: list[tuple[int, int]] = []  # (line index, number of items it added to rows)
        carry_until = -1
        parsed = 0
        for i in special:
            if i <= carry_until:
                continue
            j = i
            while True:
                simple_mask[j] = False
                before = len(rows)
                n = start + j + 1
                if self.carry is not None or not (NM[j] or RN[j]):
                    self._slow(lines[j], n)
                elif self._tuple(found[j], n):
                    parsed += 1
                else:
                    self._slow(lines[j], n)
                if self.needs_sequential:
                    return rows
                if len(rows) > before:
                    emitted.append((j, len(rows) - before))
                if self.carry is None or j + 1 >= count:
                    break
                j += 1
            carry_until = j
        if self.carry is not None and carry_until < count - 1:  # pragma: no cover - defensive
            pass
        simple = [i for i in range(count) if simple_mask[i]] if special else range(count)
        self.report.parsed += parsed + len(simple)
        self.vector_rows = (start, simple, P, ST, NM, AR, RT, DU, emitted)
        return rows

    def _feed_scanned(self, lines: list[str], text: str) -> list[Any] | None:
        """``feed_block`` with the compiled scanner: it takes the complete calls and the
        unfinished/resumed pairs it is sure of (see _scan.c); the other syscall, signal and exit
        lines go through the same per-line code as in the pure-Python path. None (before any
        state changed) when the block holds a line only that path handles."""
        out = _SCAN(text, self.args_for, self.scan_mask)
        if out is None:
            return None
        kinds, has_pid, missing_pid, pids, cols = out
        count = len(lines)
        if len(kinds) != count or b"O" in kinds:
            return None
        default_pid = self.default_pid
        if missing_pid and default_pid is None and (has_pid or self.prefixed):
            return None  # an unprefixed line in a multi-task capture: the live set decides
        special = [m.start() for m in _SPECIAL_KINDS.finditer(kinds)]
        block = _block()
        found = block.vector("\n".join([lines[i] for i in special])) if special else []
        if len(found) != len(special):  # pragma: no cover - defensive
            return None
        rest = block.rest
        for i, f in zip(special, found):
            if kinds[i] == 71:  # G: a signal or exit line; a notice glued into it cuts the line
                if "strace: Process" in lines[i]:
                    return None
            elif not (f[3] or f[4]) or (f[9] and rest(f[9]) is None):
                return None  # a line the per-line code would parse with Lark (it may be cut)
        start = self.line_no
        self.report.lines += count
        self.line_no += count
        self.block_first = start + 1
        self.rows = rows = []
        if has_pid:
            live = self.live
            for pid in pids:
                if pid not in live:
                    self._seen(pid)
        elif default_pid is None and kinds.count(b"G") < count:
            self.unprefixed = True
        emitted: list[tuple[int, int]] = []
        parsed = 0
        tuple_ = self._tuple
        for i, f in zip(special, found):
            before = len(rows)
            n = start + i + 1
            if kinds[i] == 71:
                self._slow(lines[i], n)
            else:
                tuple_(f, n)
                parsed += 1
            if self.needs_sequential:
                return rows
            if len(rows) > before:
                emitted.append((i, len(rows) - before))
        joined = kinds.count(b"J")
        self.report.parsed += parsed + len(cols[1]) + joined
        self.vector_rows = ("C", start, cols, emitted)
        self.scanned_blocks += 1
        return rows

    def _tuple(self, t: tuple[str, ...], n: int) -> bool:
        """A line taken from the block regex's groups that needs the state machine; False when
        its ending is not one the grammar allows (the caller then parses it with Lark)."""
        pid, pidb, stamp, name, rname, args, unf, ret, dur, rest, other = t
        pid = pid or pidb or self.default_pid or None
        if rest:
            m = _block().rest(rest)
            if m is None:
                return False
            deco, errno, parens, dur = m.groups("")
        else:
            deco = errno = parens = ""
        args = args.strip()
        if name:
            if unf:
                self._start([n, n, pid, stamp, None, None, None, name, args, None, None, None,
                             None, None, _UNFINISHED_S, None])
                return True
            row = [n, n, pid, stamp, None, None, None, name, args, ret, deco, errno, parens, dur,
                   _COMPLETE, None]
            self.rows.append(row)
            self.last_row = row
            return True
        self._resume(pid, rname, args, n, stamp, unf, ret, deco, errno, parens, dur)
        return True

    def _feed_loop(self, lines: list[str]) -> list[tuple[Any, ...]]:
        """Parse a block line by line (relative stamps, mixed prefixes, plain-Lark mode)."""
        self.vector_rows = None
        self.rows = rows = []
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
        block = _block()
        text = "\n".join(lines)
        if "\x1b" in text:
            text = _ANSI.sub("", text)
        needs_check = block.needs_check
        args_ok = block.cached_args_ok
        live = self.live
        append = rows.append
        parsed = 0
        rest_match = block.rest
        block_local = self.block_local
        default_pid = self.default_pid
        for (pid, pidb, stamp, name, rname, args, unf, ret, rest, other) in block.findall(text):
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
                    self._start([n, n, pid, stamp, None, None, None, name, args, None, None, None,
                                 None, None, _UNFINISHED_S, None])
                    continue
                row = [n, n, pid, stamp, None, None, None, name, args, ret, deco, errno, parens, dur,
                       _COMPLETE, None]
                append(row)
                self.last_row = row
                continue
            self._resume(pid, rname, args, n, stamp, unf, ret, deco, errno, parens, dur)
            if self.needs_sequential:
                return rows
        report.parsed += parsed
        return rows

    def finish(self) -> list[tuple[Any, ...]]:
        """End of file: calls that never resumed become events of their own."""
        self.rows = rows = []
        if self.carry is not None:
            # The last line(s) ended inside a call: the tracer was killed while writing.
            self.report.skip(Skip.TRUNCATED, self.carry.count)
            self.carry = None
        for start in self.pending.values():
            rows.append(start)
        self.pending.clear()
        return rows

    # -- rows -------------------------------------------------------------------------------------

    def _start(self, row: list[Any]) -> None:
        pid = row[R_PID]
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
            self.rows.append(("FLUSH", pid))

    def _resume(self, pid: str | None, name: str, args: str, n: int, stamp: str | None,
                unf: str, ret: str, deco: str, errno: str, parens: str, dur: str) -> None:
        pending = self.pending.get(pid)
        if pending is None and self.block_local and pid not in self.touched:
            self.touched.add(pid)
            if unf or (name == "execve" and self.superseded):
                self.needs_sequential = True
                return
            # The start may be in an earlier block: the stitcher decides. Frames that follow
            # (-k) collect in a holder and go to whatever event the stitcher makes of it.
            holder: list[Any] = [None] * 16
            self.rows.append(("ORPHAN", pid, name, args, n, stamp, ret, deco, errno, parens, dur, holder))
            self.last_row = holder
            return
        if (pending is None or pending[R_NAME] != name) and name == "execve" and pid in self.superseded:
            # A non-leader thread's execve completes under the leader's pid.
            thread = self.superseded.pop(pid)
            cand = self.pending.get(thread)
            if cand is not None and cand[R_NAME] == "execve":
                if pending is not None:
                    self.rows.append(self.pending.pop(pid))
                pending = self.pending.pop(thread)
                pending[R_PID] = pid
                self.pending[pid] = pending
        if pending is None or pending[R_NAME] != name:
            if pending is not None:
                self.rows.append(self.pending.pop(pid))
            if unf:
                self._start([n, n, pid, stamp, None, None, None, name, args, None, None, None, None,
                             None, _RESUMED_ONLY, None])
                return
            row = [n, n, pid, stamp, None, None, None, name, args, ret, deco, errno, parens, dur,
                   _RESUMED_ONLY, None]
            self.rows.append(row)
            self.last_row = row
            return
        if unf:
            # Resumed and blocked again: the final resumed line carries the rest of the arguments.
            self.last_row = pending
            return
        del self.pending[pid]
        pending[R_ARGS] = _join_args(pending[R_ARGS], args)
        pending[R_END] = n
        pending[R_RET] = ret
        pending[R_DECO] = deco
        pending[R_ERRNO] = errno
        pending[R_PARENS] = parens
        pending[R_DUR] = dur
        if pending[R_STATE] == _UNFINISHED_S:
            pending[R_STATE] = _COMPLETE
        self.rows.append(pending)
        self.last_row = pending

    # -- slow lines ---------------------------------------------------------------------------------

    def _slow(self, text: str, n: int) -> None:
        if "\x1b" in text:
            text = _ANSI.sub("", text)
        if self.carry is not None:
            self._continue(text, n)
            return
        if not text or text.isspace():
            self.report.skip(Skip.BLANK)
            return
        if self._glued_notice(text, n, 1):
            return
        try:
            rec = lark_line(text)
        except LineSyntaxError as exc:
            if not _LOOKS_LIKE_CALL.match(text):
                self.report.skip(Skip.PROGRAM_OUTPUT)
            elif exc.at_end:
                # Program output (or a notice) split this call; the next line may complete it.
                cut = _write_cut(text)
                output = [] if cut is not None and cut < len(text) else None
                self.carry = _Carry(text, n, 1, exc.column, exc.reason, text, output)
            else:
                self._error(n, exc.column, text, exc.reason)
            return
        self._record(rec, n, 1)

    def _glued_notice(self, text: str, n: int, count: int) -> bool:
        # "clone(...|SIGCHLDstrace: Process 28053 attached" then ", child_tidptr=...) = 28053"
        m = _GLUED_NOTICE.search(text)
        if m is None or m.start() == 0 or not text[: m.start()].strip():
            return False
        head = text[: m.start()] + text[m.end():]
        self.carry = _Carry(head, n - count + 1, count, len(head) + 1,
                            "line was cut by a strace notice and never continued", head)
        return True

    def _continue(self, text: str, n: int) -> None:
        carry = self.carry
        assert carry is not None
        self.carry = None
        if "\x1b" in text:
            text = _ANSI.sub("", text)
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
        if self._glued_notice(joined, n, count):
            self.carry.line = carry.line  # type: ignore[union-attr]
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
            target[R_STACK] = (target[R_STACK] or ()) + (rec.text,)
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
        if rec.stamp is not None and self.relative is None:
            self.relative = ":" not in rec.stamp and 0 <= rec.stamp.find(".") < 10
        if rec.stamp is not None and self.relative:
            rec = rec._replace(stamp=self._relative(rec.stamp))  # type: ignore[arg-type]
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
                self.live.pop(pid, None)
                if self.block_local:
                    self.live_log.append(("exit", pid))
            return
        report.parsed += lines
        parens = "".join(f"({p})" for p in rec.parens)
        if kind == "call":
            row = [n, end, pid, rec.stamp, rec.rel, rec.sysno, rec.ip, rec.name, rec.args, rec.ret,
                   f"<{rec.ret_deco}>" if rec.ret_deco is not None else "", rec.errno or "", parens,
                   rec.duration or "", _COMPLETE, None]
            self.rows.append(row)
            self.last_row = row
            return
        if kind in ("unfinished", "detached"):
            state = _UNFINISHED_S if kind == "unfinished" else _DETACHED
            row = [n, end, pid, rec.stamp, rec.rel, rec.sysno, rec.ip, rec.name, rec.args, None, None,
                   None, None, None, state, None]
            if kind == "detached":
                self._end_pending(pid)
                self.rows.append(row)
                self.last_row = row
                return
            self._start(row)
            return
        # resumed / resumed_unfinished
        self._resume(pid, rec.name or "", rec.args, end, rec.stamp,
                     "unf" if kind == "resumed_unfinished" else "", rec.ret or "",
                     f"<{rec.ret_deco}>" if rec.ret_deco is not None else "", rec.errno or "",
                     parens, rec.duration or "")


class Clock:
    """Turns stamp texts into seconds (-ttt epoch, -t/-tt seconds since midnight; -r stamps arrive
    already summed as floats). Midnight rollover is a separate pass over rows in event order."""

    def __init__(self) -> None:
        self.last: float | None = None
        self.day = 0.0
        self.kinds: set[str] = set()
        self._hm: dict[str, float] = {}

    def times(self, stamps: Iterable[Any]) -> list[float | None]:
        out: list[float | None] = []
        hm = self._hm
        kinds = self.kinds
        for stamp in stamps:
            if stamp.__class__ is float:
                # -r: the reader already summed the deltas (seconds since the first line).
                if "relative" not in kinds:
                    kinds.add("relative")
                out.append(stamp)
            elif not stamp:
                out.append(None)
            elif stamp[2:3] == ":":
                base = hm.get(stamp[:6])
                if base is None:
                    base = hm[stamp[:6]] = int(stamp[:2]) * 3600 + int(stamp[3:5]) * 60
                if "clock" not in kinds:
                    kinds.add("clock")
                out.append(base + float(stamp[6:]))
            else:
                if "epoch" not in kinds:
                    kinds.add("epoch")
                out.append(float(stamp))
        return out

    def note(self, stamps: Iterable[Any]) -> None:
        """Record the kind of timestamps (for reports) without converting them."""
        for stamp in stamps:
            if stamp:
                if stamp.__class__ is float:
                    self.kinds.add("relative")
                else:
                    self.kinds.add("clock" if stamp[2:3] == ":" else "epoch")
                return

    def rollover(self, times: list[float | None]) -> list[float | None]:
        """-t/-tt stamps carry no date: add a day whenever the clock falls back by over 12 h."""
        if "clock" not in self.kinds:
            return times
        last = self.last
        day = self.day
        if times and day == 0.0:
            # The usual case, no midnight in this batch: checked in bulk, the list kept as it is.
            import numpy as np

            values = np.fromiter((v if v is not None else np.nan for v in times), float, len(times))
            values = values[~np.isnan(values)]
            if last is not None:
                values = np.concatenate(([last], values))
            if len(values) and not (np.diff(values) < -DAY / 2).any():
                self.last = float(values[-1])
                return times
        out: list[float | None] = []
        for value in times:
            if value is None:
                out.append(None)
                continue
            if last is not None and value + day < last - DAY / 2:
                day += DAY
            value += day
            last = value
            out.append(value)
        self.last, self.day = last, day
        return out


_ALL_COLUMNS = ("line", "end_line", "pid", "time", "duration", "syscall", "args", "ret", "ret_text",
                "errno", "errmsg", "ret_detail", "state", "injected", "sysno", "ip", "stack",
                "decoded", "decode_error")


def finish_rows(rows: list[tuple[Any, ...]] | list[list[Any]], clock: Clock, fast: bool,
                columns: tuple[str, ...] | None = None) -> dict[str, list[Any]]:
    """Per-column conversions of a batch of rows: times, returns, errno, durations, decoding.

    Memory and process syscalls are always decoded; with ``columns`` only those columns are
    converted (``tracemem stats`` needs names, pids and states, not times or return values).
    """
    if not rows:
        return {}
    if columns is not None:
        return _finish_some(rows, clock, fast, columns)
    cols = list(zip(*rows))
    names = cols[R_NAME]
    args = cols[R_ARGS]
    rets_raw = cols[R_RET]
    ret: list[int | None] = []
    for r in rets_raw:
        if not r or r == "?":
            ret.append(None)
        elif r[1:2] == "x":
            ret.append(int(r, 16))
        else:
            ret.append(int(r))
    n = len(rows)
    errnos: list[str | None] = [e or None for e in cols[R_ERRNO]]
    errmsgs: list[str | None] = [None] * n
    details: list[str | None] = [None] * n
    injected: list[bool] = [False] * n
    block = _block()
    parens_col = cols[R_PARENS]
    deco_col = cols[R_DECO]
    for i in [i for i, (p, d) in enumerate(zip(parens_col, deco_col)) if p or d]:
        p, d, e, r = parens_col[i], deco_col[i], errnos[i], ret[i]
        plist = [x[1:-1] for x in block.parens(p)] if p else []
        msg = None
        if e and plist:
            msg = plist.pop(0)
        rest = []
        for x in plist:
            if x == "INJECTED":
                injected[i] = True
            elif x == "DELAYED":
                continue
            elif not e and r == -1 and _ERRNO_N.fullmatch(x):
                e = _errno.errorcode.get(int(x[6:]), "EUNKNOWN")
                msg = x
            else:
                rest.append(x)
        detail = "; ".join(rest) if rest else None
        if d:
            detail = d + (f"; {detail}" if detail else "")
        errnos[i] = e or None
        errmsgs[i] = msg
        details[i] = detail
    durations = [float(d) if d and d != "unavailable" else None for d in cols[R_DUR]]
    decoded: list[Any] = [None] * n
    why: list[str | None] = [None] * n
    states = cols[R_STATE]
    wanted = DECODED_SYSCALLS
    for i in [i for i, name in enumerate(names) if name in wanted]:
        d, w = decode(names[i], args[i], fast)
        decoded[i] = d
        if w is not None and states[i] != _COMPLETE:
            w = f"{states[i]} call: {w}"
        why[i] = w
    return {
        "line": list(cols[R_LINE]),
        "end_line": list(cols[R_END]),
        "pid": [int(p) if p else None for p in cols[R_PID]],
        "time": clock.times(cols[R_STAMP]),
        "duration": durations,
        "syscall": list(names),
        "args": list(args),
        "ret": ret,
        "ret_text": [r if r else None for r in rets_raw],
        "errno": errnos,
        "errmsg": errmsgs,
        "ret_detail": details,
        "state": list(states),
        "injected": injected,
        "sysno": list(cols[R_SYSNO]),
        "ip": list(cols[R_IP]),
        "stack": list(cols[R_STACK]),
        "decoded": decoded,
        "decode_error": why,
    }


def _finish_some(rows: list[Any], clock: Clock, fast: bool, columns: tuple[str, ...]) -> dict[str, list[Any]]:
    cols = list(zip(*rows))
    names = cols[R_NAME]
    args = cols[R_ARGS]
    states = cols[R_STATE]
    n = len(rows)
    decoded: list[Any] = [None] * n
    why: list[str | None] = [None] * n
    wanted = DECODED_SYSCALLS
    for i in [i for i, name in enumerate(names) if name in wanted]:
        d, w = decode(names[i], args[i], fast)
        decoded[i] = d
        if w is not None and states[i] != _COMPLETE:
            w = f"{states[i]} call: {w}"
        why[i] = w
    out: dict[str, list[Any]] = {"decoded": decoded, "decode_error": why}
    if "time" not in columns and not clock.kinds:
        clock.note(cols[R_STAMP])
    simple = {
        "line": lambda: list(cols[R_LINE]),
        "end_line": lambda: list(cols[R_END]),
        "pid": lambda: [int(p) if p else None for p in cols[R_PID]],
        "time": lambda: clock.times(cols[R_STAMP]),
        "syscall": lambda: list(names),
        "args": lambda: list(args),
        "state": lambda: list(states),
    }
    for name in columns:
        if name in out:
            continue
        make = simple.get(name)
        if make is None:
            full = finish_rows(rows, clock, fast)
            return {key: full[key] for key in dict.fromkeys(tuple(columns) + ("decoded", "decode_error"))}
        out[name] = make()
    return {key: out[key] for key in dict.fromkeys(tuple(columns) + ("decoded", "decode_error"))}


def assemble(reader: StraceFileReader, rows: list[Any], clock: Clock, fast: bool,
             columns: tuple[str, ...] | None) -> tuple[dict[str, list[Any]], list[tuple[int, Any]]]:
    """The finished columns of what one ``feed_block`` produced, in event order, and the
    stitching markers with their positions in that order."""
    vector = reader.vector_rows
    reader.vector_rows = None
    markers: list[tuple[int, Any]] = []
    plain: list[list[Any]] = []
    if vector is None:
        for row in rows:
            if row.__class__ is tuple:
                markers.append((len(plain), row))
            else:
                plain.append(row)
        return (finish_rows(plain, clock, fast, columns) if plain else {}), markers
    if vector[0] == "C":
        _, start, ccols, emitted = vector
        simple = ccols[1]
    else:
        start, simple, P, ST, NM, AR, RT, DU, emitted = vector
    lines_of: list[int] = []
    k = 0
    special_markers: list[tuple[int, int, Any]] = []
    for j, cnt in emitted:
        for item in rows[k:k + cnt]:
            if item.__class__ is tuple:
                special_markers.append((j, len(plain), item))
            else:
                plain.append(item)
                lines_of.append(j)
        k += cnt
    for item in rows[k:]:  # pragma: no cover - every item is emitted at a line
        if item.__class__ is not tuple:
            plain.append(item)
            lines_of.append(start + len(P))
    if vector[0] == "C":
        base = _scanned_columns(reader, start, ccols, clock, fast, columns)
    else:
        base = _simple_columns(reader, start, simple, P, ST, NM, AR, RT, DU, clock, fast, columns)
    if not plain:
        return base, [(bisect_left(simple, j) + idx, m) for j, idx, m in special_markers]
    special = finish_rows(plain, clock, fast, columns)
    keys = list(base.keys() if base else special.keys())
    if columns is not None and "line" not in columns and "time" not in columns:
        # Unordered use (counting): the special rows simply follow the simple ones.
        offset = len(simple)
        return ({key: base[key] + special[key] for key in keys},
                [(offset + idx, m) for j, idx, m in special_markers])
    out: dict[str, list[Any]] = {key: [] for key in keys}
    prev = 0
    run_start = 0
    # Splice runs of special rows into the simple rows at their line positions.
    i = 0
    total_special = len(plain)
    while i < total_special:
        pos = bisect_left(simple, lines_of[i])
        j = i
        while j + 1 < total_special and bisect_left(simple, lines_of[j + 1]) == pos:
            j += 1
        for key in keys:
            out[key].extend(base[key][prev:pos])
            out[key].extend(special[key][i:j + 1])
        prev = pos
        i = j + 1
    for key in keys:
        out[key].extend(base[key][prev:])
    markers = [(bisect_left(simple, j) + idx, m) for j, idx, m in special_markers]
    del run_start
    return out, markers


def _simple_columns(reader: StraceFileReader, start: int, simple: Any, P: Any, ST: Any, NM: Any,
                    AR: Any, RT: Any, DU: Any, clock: Clock, fast: bool,
                    columns: tuple[str, ...] | None) -> dict[str, list[Any]]:
    """Columns of the complete calls taken straight from the block regex (no errno, no
    details: those lines end at their return value or duration)."""
    count = len(simple)
    names = [NM[i] for i in simple]
    default = reader.default_pid
    args = [AR[i].strip() for i in simple]
    out, need = _decoded_start(names, args, fast, columns)
    lines = [start + i + 1 for i in simple]
    if "line" in need:
        out["line"] = lines
    if "end_line" in need:
        out["end_line"] = list(lines)
    if "pid" in need:
        pids = [P[i] or default for i in simple]
        out["pid"] = [int(p) if p else None for p in pids]
    if "time" in need:
        out["time"] = clock.times([ST[i] for i in simple])
    elif not clock.kinds and simple:
        clock.note(ST[i] for i in simple[:1])
    if "duration" in need:
        out["duration"] = [float(DU[i]) if DU[i] else None for i in simple]
    if "syscall" in need:
        out["syscall"] = names
    if "args" in need:
        out["args"] = args
    rets = [RT[i] for i in simple]
    if "ret" in need:
        out["ret"] = _ret_values(rets)
    if "ret_text" in need:
        out["ret_text"] = rets
    return _complete_columns(out, need, count, columns, ("errno", "errmsg", "ret_detail", "sysno", "ip", "stack"))


def _ret_values(rets: list[str]) -> list[int | None]:
    """Return-value texts of complete calls as integers ("?" as None)."""
    return [None if r == "?" else int(r, 16) if r[1:2] == "x" else int(r) for r in rets]


def _decoded_start(names: list[str], args: list[str], fast: bool,
                   columns: tuple[str, ...] | None) -> tuple[dict[str, list[Any]], set[str]]:
    """The decoded arguments of complete calls taken in bulk, and the columns wanted."""
    count = len(names)
    decoded: list[Any] = [None] * count
    why: list[str | None] = [None] * count
    wanted = DECODED_SYSCALLS
    for k in [k for k, name in enumerate(names) if name in wanted]:
        decoded[k], why[k] = decode(names[k], args[k], fast)
    need = set(columns) if columns is not None else set(_ALL_COLUMNS)
    return {"decoded": decoded, "decode_error": why}, need


def _complete_columns(out: dict[str, list[Any]], need: set[str], count: int, columns: tuple[str, ...] | None,
                      blank: tuple[str, ...]) -> dict[str, list[Any]]:
    """The columns that are constant for complete calls taken in bulk, and the selection."""
    for key in blank:
        if key in need:
            out[key] = [None] * count
    if "state" in need:
        out["state"] = [_COMPLETE] * count
    if "injected" in need:
        out["injected"] = [False] * count
    keys = _ALL_COLUMNS if columns is None else tuple(dict.fromkeys(tuple(columns) + ("decoded", "decode_error")))
    return {key: out[key] for key in keys}


def _scanned_columns(reader: StraceFileReader, start: int, cols: tuple[list[Any], ...], clock: Clock,
                     fast: bool, columns: tuple[str, ...] | None) -> dict[str, list[Any]]:
    """Columns of the rows the compiled scanner took (complete calls and joined pairs)."""
    first, at, pids, stamps, names, args, rets, errnos, msgs, details, durs = cols
    count = len(at)
    out, need = _decoded_start(names, args, fast, columns)
    if "line" in need:
        out["line"] = [start + i + 1 for i in first]
    if "end_line" in need:
        out["end_line"] = [start + i + 1 for i in at]
    if "pid" in need:
        default = reader.default_pid
        out["pid"] = [p if p is not None else int(default) for p in pids] if default is not None else pids
    if "time" in need:
        out["time"] = clock.times(stamps)
    elif not clock.kinds and count:
        clock.note(stamps[:1])
    if "duration" in need:
        out["duration"] = [float(d) if d else None for d in durs]
    if "syscall" in need:
        out["syscall"] = names
    if "args" in need:
        out["args"] = args
    if "ret" in need:
        out["ret"] = _ret_values(rets)
    if "ret_text" in need:
        out["ret_text"] = rets
    if "errno" in need:
        out["errno"] = errnos
    if "errmsg" in need:
        out["errmsg"] = msgs
    if "ret_detail" in need:
        out["ret_detail"] = details
    return _complete_columns(out, need, count, columns, ("sysno", "ip", "stack"))
