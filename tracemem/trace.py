"""The library API: read a trace into events and a DataFrame, with the line accounting."""

from __future__ import annotations

import functools
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

if TYPE_CHECKING:  # pandas is imported when a table is wanted, not for stats
    import pandas as pd


from .errors import InputError, TraceParseError, UsageError
from .events import Clone, Madvise, Mmap, Mprotect, Mremap, Munmap, ParseReport, State, SyscallEvent
from .events import Brk, Mseal, Shmat, Shmdt, ProcessMadvise, PrctlSetVma, Execve
from .flags import flag_names
from .parse.blocks import default_workers, parse_blocks
from .parse.source import CHUNK, expand, iter_byte_blocks
from .parse.dtruss import looks_like_dtruss
from .parse.strace import Clock


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
    "tid": "Int64",
    "relative_us": "Int64",
    "cpu_us": "Int64",
    "raw_flags": "Int64",
    "vm_tag": "Int64",
    "uncertain": "bool",
    "platform": "category",
}

# The columns filled from the typed arguments of memory and process syscalls.
DECODED_COLUMNS = ("addr", "length", "prot", "flags", "fd", "offset", "advice", "new_addr",
                   "new_length", "fd_path", "raw_flags", "vm_tag")

Batch = dict  # column name -> list of values, for one block of events


def _pd() -> Any:
    """pandas, imported when a table is wanted (``stats`` never needs it)."""
    import pandas

    return pandas


def _paths(paths: Any) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def iter_batches(paths: Any, *, report: ParseReport | None = None, fast: bool = True,
                 strict: bool = False, on_lines: Callable[[int], None] | None = None,
                 workers: int | None = None, columns: tuple[str, ...] | None = None,
                 block_size: int | None = None) -> Iterator[Batch]:
    """Stream the events of one or more logs as column batches (the fast internal form).

    Every line is accounted for in ``report``. With ``strict`` the first line error raises
    :class:`TraceParseError`. ``on_lines`` is called with the number of lines read so far.
    ``workers`` > 1 parses blocks of a large file in that many processes (default: the number
    of cores, for files over 32 MiB); ``columns`` limits the batch to those columns.
    """
    report = report if report is not None else ParseReport()
    sources = expand(_paths(paths))
    seq = 0
    kinds: set[str] = set()
    if columns is not None:
        columns = tuple(dict.fromkeys(("state",) + tuple(columns)))
    for source in sources:
        report.files.append(source.label)
        errors_before = len(report.errors)
        lines_before = report.lines
        recognised_before = _recognised(report)
        n_workers = workers if workers is not None else (
            default_workers() if _size(source.path) > PARALLEL_MIN_BYTES else 1)
        clocks: list[Clock] = []
        # Small blocks balance the workers when little is sent back (stats); whole tables pickle
        # better in bigger ones.
        blocks = iter_byte_blocks(source, block_size or (CHUNK if columns is not None else 4 * CHUNK))
        first = next(blocks, None)
        head = first[0][:1 << 16].decode("utf-8", "replace").split("\n") if first else []
        if looks_like_dtruss(head):
            batches = _dtruss_batches(source.label, first, blocks, report, columns)
            fmt = "dtruss"
        else:
            batches = parse_blocks(source.label, _chain(first, blocks), report, source.default_pid,
                                   fast, columns, n_workers, clocks)
            fmt = "strace"
        for batch in batches:
            if strict and len(report.errors) > errors_before:
                _raise_first(report, errors_before)
            count = len(batch["state"])
            batch["seq"] = list(range(seq, seq + count))
            batch["file"] = [source.label] * count
            seq += count
            report.events += count
            for state in batch["state"]:
                if state != "complete":
                    report.incomplete[state] = report.incomplete.get(state, 0) + 1
            if on_lines is not None:
                on_lines(report.lines)
            yield batch
        if strict and len(report.errors) > errors_before:
            _raise_first(report, errors_before)
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


PARALLEL_MIN_BYTES = 32 << 20


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    if first is not None:
        yield first
    yield from rest


def _dtruss_batches(label: str, first: Any, blocks: Iterator[Any], report: ParseReport,
                    columns: tuple[str, ...] | None) -> Iterator[Batch]:
    """A dtruss file as one batch (dtruss logs are small: one line per completed call)."""
    from .parse.blocks import split_lines
    from .parse.dtruss import DtrussFileReader, page_size, repair_mmap_returns

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


def iter_events(paths: Any, *, report: ParseReport | None = None, fast: bool = True,
                strict: bool = False, on_lines: Callable[[int], None] | None = None) -> Iterator[SyscallEvent]:
    """Stream the events of one or more logs (globs and "-" for stdin accepted) as typed records.

    Every line is accounted for in ``report`` (created if not given): ``report.lines ==
    report.parsed + sum(report.skipped.values()) + len(report.errors)``.
    """
    for batch in iter_batches(paths, report=report, fast=fast, strict=strict, on_lines=on_lines):
        yield from batch_events(batch)


def batch_events(batch: Batch) -> Iterator[SyscallEvent]:
    """The typed events of one column batch."""
    for i in range(len(batch["seq"])):
        stack = batch["stack"][i]
        yield SyscallEvent(
            seq=batch["seq"][i], file=batch["file"][i], line=batch["line"][i], pid=batch["pid"][i],
            syscall=batch["syscall"][i], args=batch["args"][i], ret=batch["ret"][i],
            errno=batch["errno"][i], errmsg=batch["errmsg"][i], time=batch["time"][i],
            duration=batch["duration"][i], end_line=batch["end_line"][i],
            ret_text=batch["ret_text"][i], ret_detail=batch["ret_detail"][i],
            injected=batch["injected"][i], state=State(batch["state"][i]),
            sysno=batch["sysno"][i], ip=batch["ip"][i], stack=tuple(stack) if stack else (),
            decoded=batch["decoded"][i], decode_error=batch["decode_error"][i],
            uncertain=bool(batch["uncertain"][i]) if "uncertain" in batch else False,
            platform=batch["platform"][i] if "platform" in batch else "linux",
            tid=batch["tid"][i] if "tid" in batch else None,
            relative_us=batch["relative_us"][i] if "relative_us" in batch else None,
            cpu_us=batch["cpu_us"][i] if "cpu_us" in batch else None,
        )


def _recognised(report: ParseReport) -> int:
    """Lines recognised as strace (events, signals, exits ...), not blank or program output."""
    return report.parsed + sum(n for k, n in report.skipped.items() if k not in ("program output", "blank"))


def _raise_first(report: ParseReport, index: int) -> None:
    issue = report.errors[index]
    raise TraceParseError(issue.file, issue.line, issue.column, issue.text, issue.reason)


def decoded_columns(decoded: list[Any]) -> dict[str, Any]:
    """The typed-argument columns (addr, length, prot, ...) of a batch's decoded records.

    Records are grouped by type and each field is taken for the whole group at once."""
    import numpy as np

    n = len(decoded)
    # object arrays: a group's values land in their rows with one fancy assignment
    cols: dict[str, Any] = {name: np.full(n, None, dtype=object) for name in DECODED_COLUMNS}
    groups: dict[type, list[int]] = {}
    for i, d in enumerate(decoded):
        if d is not None:
            groups.setdefault(d.__class__, []).append(i)
    for cls, idx in groups.items():
        records = [decoded[i] for i in idx]
        for name, get in _decoded_spec().get(cls, ()):
            values = list(map(get, records))
            if name in _UNSIGNED:
                values = [_uint64(v) for v in values]
            target = np.empty(len(values), dtype=object)
            target[:] = values
            cols[name][idx] = target
    return cols


@functools.cache
def _decoded_spec() -> dict[type, tuple[tuple[str, Callable[[Any], Any]], ...]]:
    """Column -> getter, per record type (types not listed, e.g. Exit, fill no column)."""
    from operator import attrgetter as at

    def num(name: str) -> Callable[[Any], Any]:
        get = at(name)
        return lambda d: int(get(d))

    return {
        Mmap: (("addr", at("addr")), ("length", at("length")), ("prot", num("prot")), ("flags", num("flags")),
               ("fd", at("fd")), ("offset", at("offset")), ("fd_path", at("fd_path")),
               ("raw_flags", at("raw_flags")), ("vm_tag", at("vm_tag"))),
        Munmap: (("addr", at("addr")), ("length", at("length"))),
        Mprotect: (("addr", at("addr")), ("length", at("length")), ("prot", num("prot"))),
        Madvise: (("addr", at("addr")), ("length", at("length")), ("advice", num("advice"))),
        Brk: (("addr", at("addr")),),
        Mremap: (("addr", at("old_addr")), ("length", at("old_length")), ("new_length", at("new_length")),
                 ("flags", num("flags")), ("new_addr", at("new_addr"))),
        Mseal: (("addr", at("addr")), ("length", at("length")), ("flags", num("flags"))),
        ProcessMadvise: (("advice", num("advice")), ("fd", at("pidfd")), ("flags", at("flags"))),
        Shmat: (("addr", at("addr")), ("flags", num("flags"))),
        Shmdt: (("addr", at("addr")),),
        PrctlSetVma: (("addr", at("addr")), ("length", at("length"))),
        Execve: (("fd_path", at("path")),),
        Clone: (("flags", num("flags")),),
    }


# Addresses and lengths: unsigned 64-bit (a trace may print them negative or too wide).
_UNSIGNED = frozenset(("addr", "length", "new_addr", "new_length"))


def _int64(value: int | None) -> int | None:
    if value is None or -(1 << 63) <= value < (1 << 63):
        return value
    return None


def _uint64(value: int | None) -> int | None:
    if value is None or 0 <= value < (1 << 64):
        return value
    return value & ((1 << 64) - 1)


def events_frame(batch: Batch) -> "pd.DataFrame":
    """The typed events DataFrame of a batch (columns as in COLUMNS)."""
    pd = _pd()
    data = dict(batch)
    n = len(data.get("seq", []))
    if "addr" not in data:
        data.update(decoded_columns(data.get("decoded") or [None] * n))
    else:
        for name in _UNSIGNED:
            data[name] = [_uint64(v) for v in data[name]]
    stacks = data.get("stack", [])
    if stacks.count(None) != len(stacks):
        data["stack"] = ["\n".join(st) if st else None for st in stacks]
    data.setdefault("uncertain", [False] * n)
    data.setdefault("platform", ["linux"] * n)
    fixes = {"ret": _int64}
    return pd.DataFrame({
        name: _column(data[name] if name in data else [None] * n, dtype, fixes.get(name))
        for name, dtype in COLUMNS.items()
    })


_ARROW_TYPES = {"Int64": "int64", "UInt64": "uint64", "Float64": "float64", "string": "string"}


def _column(values: list[Any], dtype: str, fix: Callable[[Any], Any] | None = None) -> "pd.Series":
    """A column of the events table. Nullable columns are built through Arrow (its C loop turns
    a list holding None into values and a mask several times faster than pandas does); ``fix``
    maps each value into range when Arrow refuses the list as it is."""
    pd = _pd()
    kind = _ARROW_TYPES.get(dtype)
    if kind is not None:
        import pyarrow as pa

        try:
            arr = pa.array(values, type=getattr(pa, kind)())
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            if fix is not None:
                return _column([fix(v) for v in values], dtype)
            return pd.Series(values, dtype=dtype)
        return pd.Series(pd.api.types.pandas_dtype(dtype).__from_arrow__(arr))
    return pd.Series(values, dtype=dtype)


def empty_batch() -> Batch:
    return {name: [] for name in list(COLUMNS) + ["decoded"]}


@dataclass
class Trace:
    """A parsed trace: the events table (``df``), the line accounting (``report``), and the typed
    arguments of memory and process syscalls by ``seq`` (``decoded``)."""

    df: "pd.DataFrame"
    report: ParseReport
    decoded: dict[int, Any] = field(default_factory=dict, repr=False)

    def replay_events(self) -> Iterator[SyscallEvent]:
        """The events the address-space model needs (memory, process, open, shmget), in order."""
        df = self.df
        sub = df.loc[df["syscall"].isin(REPLAY_SYSCALLS)]
        # Column by column into Python lists (missing values as None): far faster than rows.
        col = {name: sub[name].to_numpy(dtype=object, na_value=None).tolist()
               for name in ("seq", "file", "line", "pid", "syscall", "args", "ret", "errno", "time",
                            "state", "injected", "stack", "uncertain", "platform")}
        decoded = self.decoded
        states = {s.value: s for s in State}
        for seq, file, line, pid, syscall, args, ret, errno, time, state, injected, stack, uncertain, \
                platform in zip(*col.values()):
            yield SyscallEvent(
                seq=seq, file=file, line=line, pid=pid, syscall=syscall, args=args, ret=ret,
                errno=errno, time=time, state=states[state], injected=bool(injected),
                stack=tuple(stack.split("\n")) if stack is not None else (),
                decoded=decoded.get(seq), uncertain=bool(uncertain), platform=platform,
            )

    def replayer(self, baseline: Any = None, **options: Any) -> Any:
        """Replay the trace into address spaces (tracemem.timeline.Replayer)."""
        from .timeline import Replayer

        page = self.report.page_sizes.get(self.report.files[0], 4096) if self.report.files else 4096
        r = Replayer(page=options.pop("page", page), **options)
        if baseline is not None:
            r.seed(baseline)
        return r.apply_all(self.replay_events())

    def timeline(self, baseline: Any = None, **options: Any) -> "pd.DataFrame":
        """One row per event that changed an address space, with that space's totals after it."""
        return self.replayer(baseline, **options).frame()

    def address_space(self, pid: int | None = None, at: float | int | None = None, baseline: Any = None,
                      **options: Any) -> Any:
        """The AddressSpace of a process (default: the first traced one) after the last event
        (or after the event with ``seq`` == at when ``at`` is an int, or at time ``at``)."""
        from .timeline import Replayer

        page = self.report.page_sizes.get(self.report.files[0], 4096) if self.report.files else 4096
        r = Replayer(page=options.pop("page", page), **options)
        if baseline is not None:
            r.seed(baseline)
        first = None
        for event in self.replay_events():
            if first is None and event.pid is not None:
                first = event.pid
            if at is not None and ((isinstance(at, int) and event.seq > at) or
                                   (isinstance(at, float) and event.time is not None and event.time > at)):
                break
            r.apply(event)
        target = pid if pid is not None else first
        sp = r.task.get(target)
        if sp is None:
            raise UsageError(f"no process {target} in the trace; processes: "
                             f"{', '.join(str(p) for p in sorted(k for k in r.task if k is not None))}")
        return sp.space

    def phases(self, user: Sequence[str] = (), replayer: Any = None) -> tuple[list[Any], list[str]]:
        """Startup phases per process (detected, plus --phase style overrides), with the
        VSZ/reserved/committed deltas over each; and notes on phases with no evidence."""
        from .phases import apply_user, detect, finish

        r = replayer if replayer is not None else self.replayer()
        timeline = r.frame()
        found, notes = detect(self.df, timeline, {pid: sp.asid for pid, sp in r.task.items()})
        found = apply_user(found, self.df, user)
        return finish(found, self.df, timeline), notes

    def plot(self, path: Any = None, *, phases: Sequence[str] = (), pid: int | None = None, log: bool = False,
             panels: Sequence[str] = (), baseline: Any = None) -> Any:
        """The VSZ chart (a matplotlib Figure); also written to ``path`` (.png/.svg/.pdf) if given."""
        from .plot import save, vsz_figure

        r = self.replayer(baseline)
        timeline = r.frame()
        found, _ = self.phases(phases, r)
        exe = next((sp.exe for sp in r.spaces.values() if sp.exe), None)
        name = self.report.files[0].rsplit("/", 1)[-1] if self.report.files else ""
        title = " — ".join(x for x in (exe.rsplit("/", 1)[-1] if exe else None, name) if x)
        fig = vsz_figure(timeline, found, title=title, pids=[pid] if pid is not None else None, log=log,
                         panels=panels)
        if path is not None:
            save(fig, path)
        return fig

    def stats(self) -> dict[str, Any]:
        """The line accounting and per-syscall counts (what ``tracemem stats --json`` prints)."""
        counts = self.df["syscall"].value_counts()
        pids = sorted(int(p) for p in self.df["pid"].dropna().unique())
        return stats_dict(self.report, {str(k): int(v) for k, v in counts.items() if v}, pids)


#: What the address-space model and the phase rules read (see ``read_trace(only=...)``).
MODEL_SYSCALLS = None  # set below

REPLAY_SYSCALLS = ["mmap", "mmap2", "munmap", "mprotect", "pkey_mprotect", "madvise", "mremap", "brk",
                   "shmat", "shmdt", "shmget", "prctl", "execve", "execveat", "clone", "clone3", "fork",
                   "vfork", "openat", "open", "creat"]


def _model_syscalls() -> list[str]:
    from .phases import PHASE_RULES

    names = set(REPLAY_SYSCALLS)
    for rule in PHASE_RULES:
        names |= set(rule.get("syscalls", ()))
    return sorted(names)


MODEL_SYSCALLS = _model_syscalls()


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
        "time": report.time_kind,
        "syscalls": dict(sorted(syscalls.items(), key=lambda kv: (-kv[1], kv[0]))),
        "pids": pids,
    }


def read_trace(paths: Any, *, fast: bool = True, strict: bool = False,
               on_lines: Callable[[int], None] | None = None, workers: int | None = None,
               only: Sequence[str] | None = None) -> Trace:
    """Parse logs into a :class:`Trace` (events DataFrame plus line accounting).

    Several ``-ff`` files of one run are merged into one table ordered by time when every file
    has timestamps (in the order given otherwise); ``seq`` numbers the merged order. ``only``
    keeps just those syscalls in the table (every line is still parsed and accounted for); the
    address-space commands use it on large traces.
    """
    pd = _pd()
    report = ParseReport()
    frames = []
    decoded: dict[int, Any] = {}
    keep = frozenset(only) if only is not None else None
    for batch in iter_batches(paths, report=report, fast=fast, strict=strict, on_lines=on_lines,
                              workers=workers):
        if keep is not None:
            idx = [i for i, name in enumerate(batch["syscall"]) if name in keep]
            if len(idx) != len(batch["syscall"]):
                batch = {k: [v[i] for i in idx] for k, v in batch.items()}
            if not idx:
                continue
        frames.append(events_frame(batch))
        for seq, d in zip(batch["seq"], batch["decoded"]):
            if d is not None:
                decoded[seq] = d
    df = pd.concat(frames, ignore_index=True) if frames else events_frame(empty_batch())
    if len(report.files) > 1 and len(df) and df["time"].notna().all():
        df = df.sort_values(["time", "seq"], kind="stable").reset_index(drop=True)
        old = df["seq"].to_numpy()
        df["seq"] = range(len(df))
        decoded = {new: decoded[int(o)] for new, o in enumerate(old) if int(o) in decoded}
    for column in ("file", "syscall", "errno", "state"):
        df[column] = df[column].astype("category")
    return Trace(df, report, decoded)


def count_events(paths: Any, *, fast: bool = True, strict: bool = False,
                 on_lines: Callable[[int], None] | None = None, workers: int | None = None) -> dict[str, Any]:
    """The ``stats`` figures computed while streaming (no table kept in memory)."""
    report = ParseReport()
    counts: Counter[str] = Counter()
    pids: set[int | None] = set()
    decode_errors = 0
    for batch in iter_batches(paths, report=report, fast=fast, strict=strict, on_lines=on_lines,
                              workers=workers, columns=("syscall", "pid", "decode_error")):
        counts.update(batch["syscall"])
        pids.update(batch["pid"])
        decode_errors += len(batch["decode_error"]) - batch["decode_error"].count(None)
    pids.discard(None)
    out = stats_dict(report, dict(counts), sorted(p for p in pids if p is not None))
    out["decode_errors"] = decode_errors
    out["error_details"] = [
        {"file": e.file, "line": e.line, "column": e.column, "reason": e.reason, "text": e.text}
        for e in report.errors[:50]
    ]
    return out


def format_flags(column: str, value: int | None, syscall: str | None = None) -> str | None:
    """A flag column's value as names joined by "|" (unknown bits as hex)."""
    from .flags import Advice, CloneFlags, MapFlags, MremapFlags, Prot, ShmFlags, MsealFlags

    if value is None or _pd().isna(value):
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
