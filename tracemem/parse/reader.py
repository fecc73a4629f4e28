"""One strace file, a block of lines at a time: the fast paths that take whole blocks.

Speed comes from working a block of lines at a time: one regular expression (assembled from the
grammar's own terminals) runs over the whole block and yields a tuple per line, or the compiled
scanner (``_scan.c``) splits the block into columns. The complete calls either takes are left
as columns (no rows made: :class:`~.rows.RegexBulk`, :class:`~.rows.ScannedBulk`, turned into
output columns by :func:`tracemem.parse.columns.assemble`); unfinished and resumed halves, errno
and detail endings, frames, signals and everything else go through the per-line state machine
(:class:`~.statemachine.LineStateMachine`), in order.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from ..events import ParseReport
from . import strace as _strace
from .decode import CHECKED_SYSCALLS
from .patterns import ANSI, block_patterns
from .lines import LineRecord, LineSyntaxError, fast_event, lark_line
from .rows import Bulk, Item, RegexBulk, ScannedBulk
from .statemachine import LineStateMachine

_SYSCALL_KINDS = frozenset(("call", "unfinished", "resumed", "resumed_unfinished", "detached"))
_DIGITS = re.compile(r"\d+").match


def _reappears(exits: list[int], cols: Sequence[list[Any]], special: list[int], found: list[tuple[str, ...]],
               lines: list[str]) -> bool:
    """Whether a task whose exit line is at one of ``exits`` (line indexes in the block) has a
    line after it: a call (the scanner's rows, its X lines) or a signal."""
    at, pids = cols[1], cols[2]
    if len(pids) != len(at):  # (the pid column not built: say yes, the per-line code decides)
        return True
    last: dict[object, int] = dict(zip(pids, at))  # each pid's last row (rows are in line order)
    first_exit = exits[0]
    for i, f in zip(special, found):
        if i <= first_exit:
            continue
        digits = _DIGITS(f[0] or f[1])  # (a -Y pid is "104<comm>")
        if digits is not None:
            pid = int(digits.group())
            last[pid] = max(last.get(pid, -1), i)
        elif "---" in lines[i] or "+++" in lines[i]:
            event = fast_event(lines[i])
            if event is None:
                return True
            if event.pid is not None:
                last[int(str(event.pid))] = max(last.get(int(str(event.pid)), -1), i)
    for i in exits:
        event = fast_event(lines[i])
        if event is None:
            return True
        if event.pid is not None and last.get(int(str(event.pid)), -1) > i:
            return True
    return False


def _settled_alone(text: str) -> LineRecord | None:
    """The grammar's record of a syscall-form line when it needs no other line (no notice glued
    into it, not cut short); None otherwise."""
    if "strace: Process" in text:
        return None
    try:
        rec = lark_line(text)
    except LineSyntaxError:
        return None
    return rec if rec.kind in _SYSCALL_KINDS else None


_SPECIAL_KINDS = re.compile(rb"[XG]")
#: the syscalls whose argument text columns.py reads when no args column is asked for: the
#: decoded ones, and shmget (the size the model keys a segment by is checked there)
_ARGS_FOR = CHECKED_SYSCALLS


class StraceFileReader(LineStateMachine):
    """Turns the lines of one strace file into event rows, accounting for every line.

    ``default_pid`` is the pid from an ``-ff`` file name (``trace.12345``); ``fast=False`` parses
    every line with plain Lark (the authority the fast paths are tested against).
    """

    def __init__(self, path: str, report: ParseReport, default_pid: int | None = None, fast: bool = True):
        super().__init__(path, report, default_pid, fast)
        #: the lines the last ``feed_block`` took in bulk, for ``assemble`` (which clears it)
        self.bulk: Bulk | None = None
        self.use_scanner = _strace.USE_SCANNER and fast
        self.want_columns(None)
        #: blocks the compiled scanner took (for tests and benchmarks)
        self.scanned_blocks = 0

    def want_columns(self, columns: tuple[str, ...] | None, names: frozenset[str] | None = None) -> None:
        """The output columns the caller will ask ``assemble`` for (None: all): the scanner builds
        only those, and argument text only where needed (decoding always needs it). ``names``:
        the syscalls whose rows the caller keeps (``read_trace(only=...)``); the scanner builds
        the other rows' line numbers, pid, name and timestamp only (None in their other columns)."""
        #: the scanner's columns to build (see scan_mask)
        self.scan_mask = _strace.scan_mask(columns)
        #: syscall names whose argument text is needed (None: all); the others' may be left out
        #: (the scanner then builds return values and errnos only for those rows too)
        self.args_for = None if columns is None or {"args", "ret", "ret_text", "errno"} & set(columns) else _ARGS_FOR
        if self.args_for is None:
            self.scan_mask |= 1 << 6 | 1 << 7  # (every row's: columns.py checks the decoded calls' ranges)
        #: the syscalls whose rows the caller keeps (columns.assemble then gives Kept batches)
        self.keep = frozenset(names) if names is not None and columns is None else None
        if names is not None and columns is None:
            self.args_for = frozenset(names) | _ARGS_FOR
            self.scan_mask |= 1 << _strace.FILTER_BIT

    def feed_lines(self, lines: list[str]) -> list[Item]:
        """Parse a block line by line (see :meth:`LineStateMachine.feed_lines`): nothing in bulk."""
        self.bulk = None
        return super().feed_lines(lines)

    def feed_block(self, lines: list[str]) -> list[Item]:
        """Parse a block of lines (no newlines); returns the rows of the events completed.

        A block must not start with a ``-k`` frame line: frames attach to the row of the line
        before them, which an earlier block has already finished (``iter_byte_blocks`` never
        cuts a block there).

        Lines that are complete calls ending at their duration are taken straight from the
        block regex's groups; every other line (and the lines a frame or a cut line needs)
        goes through the per-line state machine, in order.
        """
        if not self.fast or not lines or self.relative or (self.relative is None and self._detect_relative(lines)):
            return self.feed_lines(lines)
        patterns = block_patterns()
        text = "\n".join(lines)
        if "\x1b" in text:
            text = ANSI.sub("", text)
        elif self.use_scanner and self.carry is None:
            scanned = self._feed_scanned(lines, text)
            if scanned is not None:
                return scanned
        found = patterns.vector(text)
        if len(found) != len(lines):  # pragma: no cover - a line end the split and the regex disagree on
            return self.feed_lines(lines)
        P, PB, ST, NM, RN, AR, UF, RT, DU, RS, OT = zip(*found)
        if any(PB):
            P = tuple(a or b for a, b in zip(P, PB))
        default_pid = self.default_pid
        has_pid = any(P)
        if has_pid or self.prefixed:
            if default_pid is None and "" in [p for p, nm, rn in zip(P, NM, RN) if nm or rn]:
                # An unprefixed line in a multi-task stderr capture: the live set decides.
                return self.feed_lines(lines)
        start = self.line_no
        count = len(lines)
        self.report.lines += count
        self.line_no += count
        self.block_first = start + 1
        rows: list[Item] = []
        self.rows = rows
        live = self.live
        if has_pid:
            for pid in dict.fromkeys(P):
                if pid and pid not in live:
                    self._seen(pid)
        elif default_pid is None and (any(NM) or any(RN)):
            self.unprefixed = True
        special = [i for i, (nm, u, e) in enumerate(zip(NM, UF, RS)) if not nm or u or e]
        if max(map(len, RT)) > 17:
            # a return value that may not fit in 64 signed bits: the row path reports it
            special = sorted(set(special).union(i for i, r in enumerate(RT) if len(r) > 17))
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
        taken = [i for i in range(count) if simple_mask[i]] if special else range(count)
        self.report.parsed += parsed + len(taken)
        self.bulk = RegexBulk(start, taken, P, ST, NM, AR, RT, DU, emitted)
        return rows

    def _feed_scanned(self, lines: list[str], text: str) -> list[Item] | None:
        """``feed_block`` with the compiled scanner: it takes the complete calls and the
        unfinished/resumed pairs it is sure of (see _scan.c); the other syscall, signal and exit
        lines go through the same per-line code as in the pure-Python path. None (before any
        state changed) when the block holds a line only that path handles."""
        scan = _strace._SCAN
        out = scan(text, self.args_for, self.scan_mask) if scan is not None else None
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
        patterns = block_patterns()
        found = patterns.vector("\n".join([lines[i] for i in special])) if special else []
        if len(found) != len(special):  # pragma: no cover - defensive
            return None
        rest = patterns.rest
        alone: dict[int, LineRecord] = {}
        for i, f in zip(special, found):
            if kinds[i] == 71:  # G: a signal or exit line; a notice glued into it cuts the line
                if "strace: Process" in lines[i]:
                    return None
            elif not (f[3] or f[4]) or (f[9] and rest(f[9]) is None):
                # a line the per-line code parses with Lark: taken here when the grammar settles
                # it alone (a line it rejects, or one a notice cut, may join the next line)
                rec = _settled_alone(lines[i])
                if rec is None:
                    return None
                alone[i] = rec
        exits = [i for i in special if kinds[i] == 71 and "+++" in lines[i]]
        if exits and has_pid and _reappears(exits, cols, special, found, lines):
            # an exit, then the same pid again later in the block (a pid reused): the per-line
            # code marks it live again after its exit, in order; in bulk it would stay exited
            return None
        if alone and default_pid is None and (has_pid or missing_pid):
            # The per-line code reads such a block (the pure path's block regex declines it) in
            # order, and a signal or exit line's pid (or its lack) counts there: one without a
            # pid before the first pid is the capture's unprefixed task (strace -f on a
            # terminal), and a pid on one makes later unprefixed lines that task's. Taken in
            # bulk only when every signal and exit line is prefixed as the calls are.
            for i in special:
                if kinds[i] == 71:
                    event = fast_event(lines[i])
                    if event is None or ((event.pid is None) != bool(missing_pid) and not self.prefixed):
                        return None
        start = self.line_no
        self.report.lines += count
        self.line_no += count
        self.block_first = start + 1
        rows: list[Item] = []
        self.rows = rows
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
            elif i in alone:
                self._record(alone[i], n, 1)
            else:
                tuple_(f, n)
                parsed += 1
            if self.needs_sequential:
                return rows
            if len(rows) > before:
                emitted.append((i, len(rows) - before))
        joined = kinds.count(b"J")
        self.report.parsed += parsed + len(cols[1]) + joined
        self.bulk = ScannedBulk(start, cols, emitted)
        self.scanned_blocks += 1
        return rows
