"""Reading trace files into column batches: format detection (strace or dtruss), worker sizing,
block parallelism for large strace files, dtruss batching, and the per-file line accounting."""

from __future__ import annotations

import os
from concurrent.futures import Executor
from typing import Any, Callable, Iterable, Iterator, Union

from .. import progress
from ..errors import InputError, TraceParseError, UsageError
from ..events import ParseReport
from .blocks import default_workers, parse_blocks
from .columns import Kept
from .detect import looks_like_dtruss
from .source import CHUNK, LOCAL_CHUNK, Source, expand, ff_prefix, head as read_head, is_url, iter_byte_blocks
from ..text import export_text
from .clock import Clock

#: One block of events: column name -> list of values (see tracemem.table).
Batch = dict[str, list[Any]]

#: What the library takes as input: a path, or several (globs, and "-" for standard input).
PathsLike = Union[str, "os.PathLike[str]", Iterable[Union[str, "os.PathLike[str]"]]]

#: Files over this size are parsed by worker processes (when more than one core is there).
PARALLEL_MIN_BYTES = 64 << 20


def _paths(paths: PathsLike) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def iter_batches(paths: PathsLike, *, report: ParseReport | None = None, fast: bool = True,
                 strict: bool = False, on_lines: Callable[[int], None] | None = None,
                 workers: int | None = None, columns: tuple[str, ...] | None = None,
                 block_size: int | None = None, executor: Executor | None = None,
                 names: frozenset[str] | None = None) -> Iterator[Batch]:
    """Stream the events of one or more logs as column batches (the fast internal form).

    Every line is accounted for in ``report``. With ``strict`` the first line error raises
    :class:`TraceParseError`. ``on_lines`` is called with the number of lines read so far.
    ``columns`` limits the batch to those columns; ``fast=False`` parses every line with plain
    Lark (the differential tests' reference).

    Parallelism: ``executor`` (a ``concurrent.futures`` process pool of the caller's) parses the
    blocks of every strace file in it; otherwise ``workers`` > 1 parses the blocks of a large file
    in a process pool made for that file and shut down after it. The default is
    :func:`~tracemem.parse.blocks.default_workers` for files over 64 MiB: the idle cores, 1 when
    none is idle or inside a child process (never a pool inside a pool). With ``names`` (the
    address-space commands keep ~11% of the rows) the rows of other syscalls are dropped where
    a block is parsed, in the worker (batches are then :class:`~tracemem.parse.blocks.Kept`):
    only the kept rows are pickled back, numbered among all rows.
    """
    report = report if report is not None else ParseReport()
    sources = expand(_paths(paths))
    check_together(sources)
    shown = progress.current()
    if shown is not None:
        shown.reading(sources)
    seq = 0
    kinds: set[str] = set()
    if columns is not None:
        columns = tuple(dict.fromkeys(("state",) + tuple(columns)))
    for source in sources:
        report.files.append(source.label)
        errors_before = len(report.errors)
        lines_before = report.lines
        recognised_before = _recognised(report)
        if executor is not None:
            n_workers = workers or default_workers(ignore_daemon=True)
        else:
            n_workers = workers if workers is not None else (
                default_workers() if _size(source.path) > PARALLEL_MIN_BYTES else 1)
        clocks: list[Clock] = []
        # One process reads 256 KiB blocks: a block's text, lines and rows then stay in the CPU's
        # caches (measured on go build -a std: 1.07 s against 1.47 s with 1 MiB blocks and 1.54 s
        # with 4 MiB, peak RSS 117 against 130 and 184 MiB); a pool sends 1 MiB blocks, whose
        # results pickle in fewer round trips.
        blocks = iter_byte_blocks(source, block_size or (CHUNK if n_workers > 1 else LOCAL_CHUNK))
        first = next(blocks, None)
        head = first[0][:1 << 16].decode("utf-8", "replace").split("\n") if first else []
        if looks_like_dtruss(head):
            batches = _dtruss_batches(source.label, first, blocks, report, columns)
            fmt = "dtruss"
            _one_format(report, source.label, fmt)  # (standard input is told only here)
        else:
            _one_format(report, source.label, "strace")
            batches = parse_blocks(source.label, _chain(first, blocks), report, source.default_pid,
                                   fast, columns, n_workers, clocks, executor, names)
            fmt = "strace"
        unapplied: list[Any] = [0, None]
        for batch in batches:
            if strict and len(report.errors) > errors_before:
                _raise_first(report, errors_before)
            count = len(batch["state"])
            if "errno" in batch and "line" in batch and count - batch["decode_error"].count(None):
                _unapplied(batch, unapplied)
            if isinstance(batch, Kept):  # the kept rows of more (names): numbered among all of them
                batch.seq0 = seq
                batch["seq"] = [seq + p for p in batch.pos]
                total = batch.total
                for state, n in batch.states.items():
                    report.incomplete[state] = report.incomplete.get(state, 0) + n
            else:
                batch["seq"] = list(range(seq, seq + count))
                total = count
            batch["file"] = [source.label] * count
            seq += total
            report.events += total
            for state in batch["state"]:
                if state != "complete":
                    report.incomplete[state] = report.incomplete.get(state, 0) + 1
            if on_lines is not None:
                on_lines(report.lines)
            yield batch
        if strict and len(report.errors) > errors_before:
            _raise_first(report, errors_before)
        if unapplied[0]:
            line, name, why = unapplied[1]
            report.notes.append(
                f"{source.label}: {unapplied[0]:,} memory or process call(s) that the log shows succeeding could "
                f"not be decoded and are not applied to the address space (decode_error says why; the first: "
                f"line {line}, {name}: {why})")
        report.formats[source.label] = fmt
        if fmt == "dtruss":
            kinds.add("record order")
        kinds |= clocks[0].kinds if clocks else set()
        if (report.lines > lines_before and _recognised(report) == recognised_before
                and len(report.errors) == errors_before):
            raise InputError(
                f"{source.label}: no line looks like strace or dtruss output; is this a trace log? "
                "(capture one with: strace -f -ttt -T -y -o run.trace <command>)"
            )
    report.time_kind = sorted(kinds)[0] if len(kinds) == 1 else ("mixed" if kinds else None)
    if shown is not None:
        shown.read_done()


def check_together(sources: list[Source]) -> None:
    """Inputs that cannot be one trace are refused before any parse (UsageError, exit code 2),
    naming the files: the same file twice, ``strace -ff`` files of two runs (two files with the
    same pid, or two -o prefixes: each run writes one file per process), a strace log with a
    dtruss log. Merged, they made one set of processes out of two runs."""
    if len(sources) < 2:
        return
    seen: dict[tuple[int, int], str] = {}
    for s in sources:
        if s.path == "-" or is_url(s.path):
            continue
        st = os.stat(s.path)
        key = (st.st_dev, st.st_ino)
        if key in seen:
            raise UsageError(f"{seen[key]} and {s.label} are the same file, given twice: give it once")
        seen[key] = s.label
    ff = [s for s in sources if s.default_pid is not None]
    by_pid: dict[int, str] = {}
    for s in ff:
        assert s.default_pid is not None
        if s.default_pid in by_pid:
            raise UsageError(
                f"{by_pid[s.default_pid]} and {s.label} both hold pid {s.default_pid}: strace -ff files of two "
                f"runs (a run writes one file per process); give the files of one run, e.g. "
                f"'{export_text(ff_prefix(by_pid[s.default_pid]))}.*'")
        by_pid[s.default_pid] = s.label
    prefixes = dict.fromkeys(export_text(ff_prefix(s.path)) for s in ff)
    if len(prefixes) > 1:
        a, b = list(prefixes)[:2]
        raise UsageError(f"strace -ff files of two runs ({a}.* and {b}.*): a run writes all its files with one "
                         f"-o prefix; give the files of one run")
    formats = {}
    for s in sources:
        text = read_head(s)
        if text:
            formats[s.label] = "dtruss" if looks_like_dtruss(text.decode("utf-8", "replace").split("\n")) else "strace"
    if len(set(formats.values())) > 1:
        _mixed(formats)


def _one_format(report: ParseReport, label: str, fmt: str) -> None:
    """A strace log and a dtruss log are not one run (standard input is told apart only here)."""
    if any(f != fmt for f in report.formats.values()):
        _mixed({**report.formats, label: fmt})


def _mixed(formats: dict[str, str]) -> None:
    strace = next(k for k, v in formats.items() if v == "strace")
    dtruss = next(k for k, v in formats.items() if v == "dtruss")
    raise UsageError(f"{strace} is a strace log (Linux) and {dtruss} a dtruss log (macOS): they cannot be one "
                     "run; give them one at a time")


def _unapplied(batch: Batch, acc: list[Any]) -> None:
    """Count the calls with a decode error that did not fail (the model would apply them, and
    cannot); keep the first one's line, name and reason."""
    from .decode import DECODED_SYSCALLS

    names, errnos, lines = batch["syscall"], batch["errno"], batch["line"]
    for i, why in enumerate(batch["decode_error"]):
        if why is not None and errnos[i] is None and names[i] in DECODED_SYSCALLS:
            acc[0] += 1
            if acc[1] is None:
                acc[1] = (lines[i], names[i], why)


def _chain(first: tuple[bytes, int] | None, rest: Iterator[tuple[bytes, int]]) -> Iterator[tuple[bytes, int]]:
    if first is not None:
        yield first
    yield from rest


def _dtruss_batches(label: str, first: tuple[bytes, int] | None, blocks: Iterator[tuple[bytes, int]],
                    report: ParseReport,
                    columns: tuple[str, ...] | None) -> Iterator[Batch]:
    """A dtruss file as one batch (dtruss logs are small: one line per completed call)."""
    from .dtruss import DtrussFileReader, page_size, repair_mmap_returns
    from .source import split_lines

    reader = DtrussFileReader(label, report)
    rows: list[dict[str, Any]] = []
    for data, _ in _chain(first, blocks):
        rows.extend(reader.feed(split_lines(data)))
    repair_mmap_returns(rows, reader.wide_returns, reader.wide_args)
    report.page_sizes[label] = page_size(rows, reader.aligned16, reader.map_addrs)
    if not rows:
        return
    batch: Batch = {key: [row[key] for row in rows] for key in rows[0]}
    if columns is not None:
        batch = {key: batch[key] for key in dict.fromkeys(tuple(columns) + ("decoded", "decode_error"))}
    yield batch


def _size(path: str) -> int:
    try:
        return os.path.getsize(path) if path != "-" else 1 << 40
    except OSError:
        return 0


def _recognised(report: ParseReport) -> int:
    """Lines recognised as strace (events, signals, exits ...), not blank or program output."""
    return report.parsed + sum(n for k, n in report.skipped.items() if k not in ("program output", "blank"))


def _raise_first(report: ParseReport, index: int) -> None:
    issue = report.errors[index]
    raise TraceParseError(issue.file, issue.line, issue.column, issue.text, issue.reason)


