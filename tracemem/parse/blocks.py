"""Parsing a strace file block by block, in worker processes, stitched into one sequential result.

A worker parses one block of lines with no knowledge of earlier blocks (``block_local`` mode of
:class:`StraceFileReader`). Where an earlier block could matter it leaves a marker: ``Flush``
(a call of this task pending from before would end here, unfinished) or ``Orphan`` (a resumed
half whose start may be in an earlier block). The main process replays the markers against the
calls still pending, in order, so the result is the same as reading the file line by line; the
cases a marker cannot express (a frame line or summary row continuing the previous block, a line
cut across the boundary, unprefixed lines in a multi-task stderr capture, a resumed-then-unfinished
or execve half with no start in the block) make the main process parse that block itself.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ..events import ParseReport
from ..gcpause import gc_paused
from .source import split_lines
from .clock import Clock
from .columns import Kept, in_order, assemble, finish_rows, keep_rows
from .cpus import idle_cores
from .patterns import block_patterns
from .reader import StraceFileReader
from .rows import Item, Marker, Row

if TYPE_CHECKING:
    from concurrent.futures import Executor

#: One block of events: column name -> list of values (see tracemem.table).
Batch = dict[str, list[Any]]


@dataclass
class BlockJob:
    path: str
    data: bytes
    start_line: int
    default_pid: int | None
    relative: bool | None
    fast: bool
    columns: tuple[str, ...] | None
    scanner: bool = False
    names: frozenset[str] | None = None


@dataclass
class BlockResult:
    needs_sequential: bool
    report: ParseReport | None = None
    columns: Batch | None = None
    markers: list[tuple[int, Marker]] = field(default_factory=list)
    open_pending: list[Row] = field(default_factory=list)
    carry: Any = None
    live_log: list[tuple[str, str]] = field(default_factory=list)
    superseded: dict[str, str] = field(default_factory=dict)
    in_table: bool = False
    rel_total: float = 0.0
    kinds: set[str] = field(default_factory=set)
    unprefixed: bool = False
    saw_prefix: bool = False
    last_line: int = 0


def _empty_kept() -> Kept:
    """A :class:`Kept` batch of no rows (its columns come with the rows spliced into it)."""
    return keep_rows({}, frozenset())


def _stitch_kept(base: Kept, inserts: list[tuple[int, list[Row]]], names: frozenset[str], offset: float,
                 clock: Clock, fast: bool) -> Kept:
    """A block's kept rows with the rows the markers made (``inserts``: rows at positions among
    all the block's rows, in order) spliced in as _merge_columns would, the times shifted by
    ``offset`` (the marker rows have it already) and rolled over at midnight; positions in the
    result are among all rows. The inserted rows are finished and filtered in one go."""
    import numpy as np

    base_times = base.times + offset if offset else base.times
    if not inserts:
        out = Kept(base)
        out.total, out.pids, out.states = base.total, base.pids, base.states
        order = np.asarray(base.pos, dtype=np.int64)
    else:
        rows = [row for _, part in inserts for row in part]
        part = keep_rows(finish_rows(rows, clock, fast, None), names)
        # each inserted row goes where _merge_columns puts it: its insert's position plus the
        # inserted rows before it; a base row moves down by the inserted rows at or before it
        at = np.repeat(np.asarray([pos for pos, _ in inserts], dtype=np.int64), [len(r) for _, r in inserts])
        ins_pos = at + np.arange(len(rows))
        base_pos = np.arange(base.total) + np.searchsorted(at, np.arange(base.total), "right")
        total = base.total + len(rows)
        pids = np.empty(total, dtype=np.int64)
        times = np.empty(total, dtype=float)
        pids[base_pos], times[base_pos] = base.pids, base_times
        pids[ins_pos], times[ins_pos] = part.pids, part.times
        kept_base = base_pos[np.asarray(base.pos, dtype=np.int64)] if base.pos else np.zeros(0, np.int64)
        kept_ins = ins_pos[np.asarray(part.pos, dtype=np.int64)] if part.pos else np.zeros(0, np.int64)
        positions = np.concatenate((kept_base, kept_ins))
        ordering = np.argsort(positions, kind="stable").tolist()
        keys = list(base.keys()) or list(part.keys())
        out = Kept({k: in_order(base.get(k, []), part.get(k, []), ordering) for k in keys})
        out.total, out.pids = total, pids
        base_times = times
        order = positions[ordering] if len(positions) else positions
        states = dict(base.states)
        for state, count in part.states.items():
            states[state] = states.get(state, 0) + count
        out.states = states
    out.times = clock.rollover_array(base_times)
    out.pos = order.tolist()
    if "time" in out and out.pos:
        out["time"] = [None if t != t else t for t in out.times[order].tolist()]
    return out


def _select(cols: Batch, columns: tuple[str, ...] | None) -> Batch:
    if columns is None:
        return cols
    return {name: cols[name] for name in columns}


@gc_paused()  # (see tracemem.gcpause)
def run_block(job: BlockJob) -> BlockResult:
    """Worker: parse one block in block-local mode."""
    if job.relative:
        # -r stamps are sums over every line: the main process adds them up in order.
        return BlockResult(True)
    lines = split_lines(job.data)
    report = ParseReport()
    reader = StraceFileReader(job.path, report, job.default_pid, job.fast)
    reader.want_columns(job.columns, job.names)
    reader.use_scanner = job.scanner
    reader.block_local = True
    reader.line_no = job.start_line - 1
    reader.relative = job.relative
    rows = reader.feed_block(lines)
    if reader.needs_sequential:
        return BlockResult(True)
    clock = Clock()
    cols, markers = assemble(reader, rows, clock, job.fast, job.columns)
    picked: Batch | None = _select(cols, job.columns) if cols else None
    if picked is not None and job.names is not None and job.columns is None and not isinstance(picked, Kept):
        picked = keep_rows(picked, job.names)  # only the kept rows are pickled back
    return BlockResult(
        False, report, picked, markers,
        list(reader.pending.values()), reader.carry, reader.live_log, reader.superseded,
        reader.in_table, reader.rel_total, clock.kinds, reader.unprefixed, reader.prefixed,
        reader.line_no,
    )


def merge_report(into: ParseReport, part: ParseReport) -> None:
    into.lines += part.lines
    into.parsed += part.parsed
    for key, value in part.skipped.items():
        into.skipped[key] = into.skipped.get(key, 0) + value
    into.errors.extend(part.errors)
    into.children.update(part.children)
    into.ends.update(part.ends)


def _merge_columns(base: Batch | None, inserts: list[tuple[int, Batch]], keys: Iterable[str]) -> Batch:
    """Insert small batches into a batch at row positions (positions in ``base`` order)."""
    if not inserts:
        return base or {}
    keys = list(keys)
    if base is None:
        base = {k: [] for k in keys}
    out: Batch = {k: [] for k in keys}
    prev = 0
    for pos, part in inserts:
        for k in keys:
            out[k].extend(base[k][prev:pos])
            out[k].extend(part[k])
        prev = pos
    for k in keys:
        out[k].extend(base[k][prev:])
    return out


class BlockStitcher:
    """The main-process side: keeps the sequential reader state and applies block results."""

    def __init__(self, path: str, report: ParseReport, default_pid: int | None, fast: bool,
                 columns: tuple[str, ...] | None, names: frozenset[str] | None = None):
        self.reader = StraceFileReader(path, report, default_pid, fast)
        self.reader.want_columns(columns, names)
        self.report = report
        self.fast = fast
        self.columns = columns
        self.clock = Clock()
        #: the syscalls whose rows are kept (the others are dropped here, see Kept)
        self.names = names if columns is None else None

    def sequential(self, data: bytes) -> Batch | None:
        """Parse a block here with the full state."""
        reader = self.reader
        rows = reader.feed_block(split_lines(data))
        return self._finish(rows)

    def finish(self) -> Batch | None:
        return self._finish(self.reader.finish())

    def _finish(self, rows: list[Item]) -> Batch | None:
        cols, markers = assemble(self.reader, rows, self.clock, self.fast, self.columns)
        assert not markers
        if isinstance(cols, Kept):  # (the rows of other names are not in it: see Kept)
            assert self.names is not None
            kept = _stitch_kept(cols, [], self.names, 0.0, self.clock, self.fast)
            return kept if kept.total else None
        if not cols or not cols.get("decoded"):
            return None
        if "time" in cols:
            cols["time"] = self.clock.rollover(cols["time"])
        picked = _select(cols, self.columns)
        return keep_rows(picked, self.names) if self.names is not None else picked

    def usable(self, result: BlockResult) -> bool:
        """Whether a worker's result equals what sequential parsing would give here."""
        reader = self.reader
        if result.needs_sequential or reader.carry is not None or reader.in_table:
            return False
        if result.unprefixed and reader.prefixed and reader.default_pid is None:
            return False
        return True

    def apply(self, result: BlockResult) -> Batch | None:
        """Stitch a usable worker result into the sequence; returns its finished batch."""
        reader = self.reader
        assert result.report is not None
        merge_report(self.report, result.report)
        offset = reader.rel_total if "relative" in result.kinds else 0.0
        inserts: list[tuple[int, list[Row]]] = []
        for pos, marker in result.markers:
            made = reader.replay(marker, offset)
            if made:
                inserts.append((pos, made))
        reader.adopt_pending(result.open_pending, offset)
        for what, pid in result.live_log:
            if what == "seen":
                reader.live[pid] = None
            else:
                reader.live.pop(pid, None)
        reader.superseded.update(result.superseded)
        reader.prefixed = reader.prefixed or result.saw_prefix
        reader.in_table = result.in_table
        reader.carry = result.carry
        reader.rel_total += result.rel_total
        reader.line_no = result.last_line
        reader.last_row = None
        self.clock.kinds |= result.kinds
        base = result.columns
        if self.names is not None:
            if base is None:
                if not inserts:
                    return None
                base = _empty_kept()
            assert isinstance(base, Kept)
            kept = _stitch_kept(base, inserts, self.names, offset, self.clock, self.fast)
            return kept if kept.total else None
        if base is not None and offset:
            base["time"] = [t + offset if t is not None else None for t in base["time"]]
        finished = [(pos, finish_rows(rows, self.clock, self.fast, self.columns)) for pos, rows in inserts]
        keys = self.columns or (base.keys() if base else finished[0][1].keys() if finished else ())
        merged = _merge_columns(base, [(p, _select(c, self.columns)) for p, c in finished], keys)
        if not merged or not merged.get("line", merged.get("syscall")):
            return None
        if "time" in merged:
            merged["time"] = self.clock.rollover(merged["time"])
        return merged


def default_workers(ignore_daemon: bool = False) -> int:
    """Worker processes for a large file: the idle cores, at most 4; 1 when no core is idle (the
    pool costs ~40% more CPU for its pickling and cold caches, and only pays back in wall time
    on a core nobody else uses: measured on 2 cores, issue 13), and 1 inside any child process
    (a pool's worker, a Dask worker: never a pool inside a pool; ``ignore_daemon`` is for the
    caller's own executor, which decides for itself)."""
    cores = max(1, min(os.cpu_count() or 1, 4))
    if ignore_daemon:
        return cores
    # multiprocessing is imported by every child it starts (spawned or forked); a process that
    # never imported it is no such child (and does not pay for the import just to ask).
    mp = sys.modules.get("multiprocessing")
    if mp is not None and (mp.parent_process() is not None or mp.current_process().daemon):
        return 1
    return max(1, min(cores, idle_cores()))


def _start_method() -> str:
    return "fork" if sys.platform.startswith("linux") else "spawn"


def parse_blocks(path: str, blocks: Iterator[tuple[bytes, int]], report: ParseReport,
                 default_pid: int | None, fast: bool, columns: tuple[str, ...] | None,
                 workers: int, clock_out: list[Clock], executor: Executor | None = None,
                 names: frozenset[str] | None = None) -> Iterator[Batch]:
    """Parse byte blocks (each with its first line number), in parallel when workers > 1 or an
    executor is given (the caller's pool; otherwise one is made here and shut down at the end)."""
    stitcher = BlockStitcher(path, report, default_pid, fast, columns, names)
    clock_out.append(stitcher.clock)
    first = next(blocks, None)
    if first is None:
        batch = stitcher.finish()
        if batch:
            yield batch
        return
    # The first block decides -r mode for the whole file and warms the caches.
    batch = stitcher.sequential(first[0])
    if executor is None and workers <= 1:
        if batch:
            yield batch
        for data, _ in blocks:
            batch = stitcher.sequential(data)
            if batch:
                yield batch
    else:
        # Build the grammar and regexes before forking so workers inherit them.
        block_patterns().compile_all()
        relative = stitcher.reader.relative
        own = executor is None
        if executor is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            pool: Executor = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context(_start_method()))
        else:
            pool = executor
        # At most a few blocks in flight: the file is read as the workers go, and results do
        # not pile up while the caller is busy with earlier batches (bounded memory).
        window: deque[tuple[bytes, Any]] = deque()
        limit = 2 * workers
        scanner = stitcher.reader.use_scanner

        def submit() -> None:
            item = next(blocks, None)
            if item is not None:
                data, start = item
                job = BlockJob(path, data, start, default_pid, relative, fast, columns, scanner, names)
                window.append((data, pool.submit(run_block, job)))

        try:
            for _ in range(limit):
                submit()
            # (yielded once the workers have blocks: what the caller does with it, such as
            # importing pandas for the events table, runs beside them)
            if batch:
                yield batch
            while window:
                data, pending_result = window.popleft()
                result = pending_result.result()
                submit()
                if stitcher.usable(result):
                    batch = stitcher.apply(result)
                else:
                    batch = stitcher.sequential(data)
                if batch:
                    yield batch
        finally:
            for _, left in window:
                left.cancel()
            if own:
                pool.shutdown(wait=True, cancel_futures=True)
    batch = stitcher.finish()
    if batch:
        yield batch
