"""The library API: read a trace into events and a DataFrame, with the line accounting."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import pandas as pd

from .errors import InputError, TraceParseError
from .events import Clone, Madvise, Mmap, Mprotect, Mremap, Munmap, ParseReport, SyscallEvent
from .events import Brk, Mseal, Shmat, Shmdt, ProcessMadvise, PrctlSetVma, Execve, Exit
from .flags import flag_names
from .parse.source import Source, expand, iter_lines
from .parse.strace import StraceFileReader

PathsArg = "str | os.PathLike[str] | Sequence[str | os.PathLike[str]]"

# Columns of the events table, in order, with their pandas dtypes.
COLUMNS: dict[str, str] = {
    "seq": "int64",
    "file": "category",
    "line": "int64",
    "end_line": "int64",
    "pid": "Int64",
    "time": "Float64",
    "duration": "Float64",
    "syscall": "category",
    "args": "string",
    "ret": "Int64",
    "ret_text": "string",
    "errno": "category",
    "errmsg": "string",
    "ret_detail": "string",
    "state": "category",
    "injected": "bool",
    "sysno": "Int64",
    "ip": "string",
    "stack": "string",
    "addr": "UInt64",
    "length": "UInt64",
    "prot": "Int64",
    "flags": "Int64",
    "fd": "Int64",
    "offset": "Int64",
    "advice": "Int64",
    "new_addr": "UInt64",
    "new_length": "UInt64",
    "fd_path": "string",
    "decode_error": "string",
}

# Which enum renders each flag column as names (CSV / JSON / display).
FLAG_COLUMNS = {"prot": "prot", "flags": None, "advice": "advice"}


def _paths(paths: Any) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def iter_events(paths: Any, *, report: ParseReport | None = None, fast: bool = True,
                strict: bool = False, on_lines: Callable[[int], None] | None = None) -> Iterator[SyscallEvent]:
    """Stream the events of one or more logs (globs and "-" for stdin accepted).

    Every line is accounted for in ``report`` (created if not given). With ``strict`` the first
    line error raises :class:`TraceParseError`. ``on_lines`` is called with the number of lines
    read so far, now and then (for progress bars).
    """
    report = report if report is not None else ParseReport()
    sources = expand(_paths(paths))
    seq = 0
    for source in sources:
        report.files.append(source.label)
        reader = StraceFileReader(source.label, report, seq, source.default_pid, fast)
        errors_before = len(report.errors)
        lines_before = report.lines
        recognised_before = _recognised(report)
        for event in _with_progress(reader.feed(iter_lines(source)), report, on_lines):
            if strict and len(report.errors) > errors_before:
                _raise_first(report, errors_before)
            yield event
        yield from reader.finish()
        if strict and len(report.errors) > errors_before:
            _raise_first(report, errors_before)
        seq = reader.seq
        report.formats[source.label] = "strace"
        kinds = sorted(reader.time_kinds)
        report.time_kind = kinds[0] if len(kinds) == 1 else ("mixed" if kinds else None)
        if (report.lines > lines_before and _recognised(report) == recognised_before
                and len(report.errors) == errors_before):
            raise InputError(
                f"{source.label}: no line looks like strace output; is this a strace log? "
                "(capture one with: strace -f -ttt -T -y -o run.trace <command>)"
            )
        if on_lines is not None:
            on_lines(report.lines)


def _recognised(report: ParseReport) -> int:
    """Lines recognised as strace (events, signals, exits ...), not blank or program output."""
    return report.parsed + sum(n for k, n in report.skipped.items() if k not in ("program output", "blank"))


def _with_progress(events: Iterator[SyscallEvent], report: ParseReport,
                   on_lines: Callable[[int], None] | None) -> Iterator[SyscallEvent]:
    if on_lines is None:
        yield from events
        return
    last = 0
    for event in events:
        if report.lines - last >= 50_000:
            last = report.lines
            on_lines(last)
        yield event


def _raise_first(report: ParseReport, index: int) -> None:
    issue = report.errors[index]
    raise TraceParseError(issue.file, issue.line, issue.column, issue.text, issue.reason)


def event_row(event: SyscallEvent) -> dict[str, Any]:
    """The events-table row of one event."""
    row: dict[str, Any] = {
        "seq": event.seq, "file": event.file, "line": event.line,
        "end_line": event.end_line if event.end_line is not None else event.line,
        "pid": event.pid, "time": event.time, "duration": event.duration,
        "syscall": event.syscall, "args": event.args, "ret": _int64(event.ret),
        "ret_text": event.ret_text, "errno": event.errno, "errmsg": event.errmsg,
        "ret_detail": event.ret_detail, "state": event.state.value, "injected": event.injected,
        "sysno": event.sysno, "ip": event.ip, "stack": "\n".join(event.stack) if event.stack else None,
        "addr": None, "length": None, "prot": None, "flags": None, "fd": None, "offset": None,
        "advice": None, "new_addr": None, "new_length": None, "fd_path": None,
        "decode_error": event.decode_error,
    }
    d = event.decoded
    if d is None:
        return row
    if isinstance(d, Mmap):
        row.update(addr=d.addr, length=d.length, prot=int(d.prot), flags=int(d.flags), fd=d.fd,
                   offset=d.offset, fd_path=d.fd_path)
    elif isinstance(d, (Munmap, Mseal)):
        row.update(addr=d.addr, length=d.length)
        if isinstance(d, Mseal):
            row["flags"] = int(d.flags)
    elif isinstance(d, Mprotect):
        row.update(addr=d.addr, length=d.length, prot=int(d.prot))
    elif isinstance(d, Madvise):
        row.update(addr=d.addr, length=d.length, advice=int(d.advice))
    elif isinstance(d, ProcessMadvise):
        row.update(advice=int(d.advice), fd=d.pidfd, flags=d.flags)
    elif isinstance(d, Brk):
        row.update(addr=d.addr)
    elif isinstance(d, Mremap):
        row.update(addr=d.old_addr, length=d.old_length, new_length=d.new_length,
                   flags=int(d.flags), new_addr=d.new_addr)
    elif isinstance(d, Shmat):
        row.update(addr=d.addr, flags=int(d.flags))
    elif isinstance(d, Shmdt):
        row.update(addr=d.addr)
    elif isinstance(d, PrctlSetVma):
        row.update(addr=d.addr, length=d.length)
    elif isinstance(d, Clone):
        row.update(flags=int(d.flags))
    elif isinstance(d, Execve):
        row.update(fd_path=d.path)
    return row


def _int64(value: int | None) -> int | None:
    if value is None or -(1 << 63) <= value < (1 << 63):
        return value
    return None


def events_frame(rows: list[dict[str, Any]] | dict[str, list[Any]]) -> pd.DataFrame:
    """A typed events DataFrame from row dicts or column lists."""
    if isinstance(rows, dict):
        data = rows
    else:
        data = {name: [r[name] for r in rows] for name in COLUMNS}
    frame = pd.DataFrame({name: pd.Series(data[name], dtype=_dtype(dtype)) for name, dtype in COLUMNS.items()})
    return frame


def _dtype(name: str) -> Any:
    return "object" if name == "object" else name


class _Columns:
    """Column lists filled event by event (cheaper than a list of row dicts)."""

    def __init__(self) -> None:
        self.data: dict[str, list[Any]] = {name: [] for name in COLUMNS}

    def add(self, event: SyscallEvent) -> None:
        row = event_row(event)
        for name, column in self.data.items():
            column.append(row[name])

    def __len__(self) -> int:
        return len(self.data["seq"])


@dataclass
class Trace:
    """A parsed trace: the events table (``df``), the line accounting (``report``)."""

    df: pd.DataFrame
    report: ParseReport
    decoded: dict[int, Any] = field(default_factory=dict, repr=False)

    def stats(self) -> dict[str, Any]:
        """The line accounting and per-syscall counts (what ``tracemem stats --json`` prints)."""
        counts = self.df["syscall"].value_counts()
        pids = sorted(int(p) for p in self.df["pid"].dropna().unique())
        return stats_dict(self.report, {str(k): int(v) for k, v in counts.items() if v}, pids)

    def events(self) -> Iterator[SyscallEvent]:
        """The events again as typed records, rebuilt from the table."""
        for row in self.df.itertuples(index=False):
            yield SyscallEvent(
                seq=int(row.seq), file=str(row.file), line=int(row.line),
                pid=None if pd.isna(row.pid) else int(row.pid), syscall=str(row.syscall),
                args=str(row.args), ret=None if pd.isna(row.ret) else int(row.ret),
                errno=None if pd.isna(row.errno) else str(row.errno),
                errmsg=None if pd.isna(row.errmsg) else str(row.errmsg),
                time=None if pd.isna(row.time) else float(row.time),
                duration=None if pd.isna(row.duration) else float(row.duration),
                end_line=int(row.end_line), ret_text=None if pd.isna(row.ret_text) else str(row.ret_text),
                injected=bool(row.injected), decoded=self.decoded.get(int(row.seq)),
            )


def stats_dict(report: ParseReport, syscalls: dict[str, int], pids: list[int]) -> dict[str, Any]:
    return {
        "files": report.files,
        "formats": report.formats,
        "lines": report.lines,
        "parsed": report.parsed,
        "skipped": dict(sorted(report.skipped.items())),
        "errors": len(report.errors),
        "events": report.events,
        "incomplete": dict(sorted(report.incomplete.items())),
        "decode_errors": report.decode_errors if hasattr(report, "decode_errors") else 0,
        "time": report.time_kind,
        "syscalls": dict(sorted(syscalls.items(), key=lambda kv: (-kv[1], kv[0]))),
        "pids": pids,
    }


def read_trace(paths: Any, *, fast: bool = True, strict: bool = False,
               on_lines: Callable[[int], None] | None = None) -> Trace:
    """Parse logs into a :class:`Trace` (events DataFrame plus line accounting).

    Several ``-ff`` files of one run are merged into one table ordered by time when every file
    has timestamps (in the order given otherwise); ``seq`` numbers the merged order.
    """
    report = ParseReport()
    columns = _Columns()
    decoded: dict[int, Any] = {}
    for event in iter_events(paths, report=report, fast=fast, strict=strict, on_lines=on_lines):
        columns.add(event)
        if event.decoded is not None:
            decoded[event.seq] = event.decoded
    df = events_frame(columns.data)
    if len(report.files) > 1 and len(df) and df["time"].notna().all():
        df = df.sort_values(["time", "seq"], kind="stable").reset_index(drop=True)
        old = df["seq"].to_numpy()
        df["seq"] = range(len(df))
        decoded = {new: decoded[int(o)] for new, o in enumerate(old) if int(o) in decoded}
    return Trace(df, report, decoded)


def count_events(paths: Any, *, fast: bool = True, strict: bool = False,
                 on_lines: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The ``stats`` figures computed while streaming (no table kept in memory)."""
    report = ParseReport()
    counts: Counter[str] = Counter()
    pids: set[int] = set()
    decode_errors = 0
    for event in iter_events(paths, report=report, fast=fast, strict=strict, on_lines=on_lines):
        counts[event.syscall] += 1
        if event.pid is not None:
            pids.add(event.pid)
        if event.decode_error is not None:
            decode_errors += 1
    out = stats_dict(report, dict(counts), sorted(pids))
    out["decode_errors"] = decode_errors
    out["error_details"] = [
        {"file": e.file, "line": e.line, "column": e.column, "reason": e.reason, "text": e.text}
        for e in report.errors[:50]
    ]
    return out


def format_flags(column: str, value: int | None, syscall: str | None = None) -> str | None:
    """A flag column's value as names joined by "|" (unknown bits as hex)."""
    from .flags import Advice, CloneFlags, MapFlags, MremapFlags, Prot, ShmFlags, MsealFlags

    if value is None or pd.isna(value):
        return None
    if column == "prot":
        return flag_names(int(value), Prot)
    if column == "advice":
        return flag_names(int(value), Advice)
    if column == "flags":
        cls = {"mremap": MremapFlags, "shmat": ShmFlags, "clone": CloneFlags, "clone3": CloneFlags,
               "fork": CloneFlags, "vfork": CloneFlags, "mseal": MsealFlags}.get(syscall or "", MapFlags)
        return flag_names(int(value), cls)
    return str(value)
