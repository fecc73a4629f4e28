"""The front door: read a trace into events and a DataFrame, with the line accounting; and the
:class:`Trace` facade whose methods run the later stages (replay, phases, summary, chart).

    parse (tracemem.parse) -> events table (tracemem.table) -> address spaces (tracemem.space)
    -> phases (tracemem.phases) -> summary (tracemem.summary) -> reporters (tracemem.reporters)
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence, TypedDict, Union

from .errors import UsageError
from .gcpause import gc_paused
from .flags import MapFlags, Prot
from .events import Brk, Decoded, Mmap, Mprotect, Munmap, ParseReport, State, SyscallEvent
from .parse.columns import Kept
from .parse.files import PathsLike as PathsLike, iter_batches
from .table import Batch, batch_events, empty_batch, events_frame

if TYPE_CHECKING:  # pandas, matplotlib and the model are imported when they are wanted
    import pandas as pd
    from matplotlib.figure import Figure

    from .phases import Phase
    from .space.addrspace import AddressSpace
    from .space.kernelmaps import ExecBaselines, KernelRegion
    from .space.replay import Replayer
    from .summary import RunSummary

#: A baseline: the regions of a /proc/PID/maps, smaps or vmmap snapshot taken at exec
#: (tracemem.space.kernelmaps.parse_snapshot), or None for "traced VSZ" only.
#: An exec-time snapshot of the first process, or one per exec of every task (ExecBaselines).
Baseline = Union[Sequence["KernelRegion"], "ExecBaselines", None]


def iter_events(paths: PathsLike, *, report: ParseReport | None = None, strict: bool = False,
                on_lines: Callable[[int], None] | None = None,
                workers: int | None = None) -> Iterator[SyscallEvent]:
    """Stream the events of one or more logs (globs and "-" for stdin accepted) as typed records.

    Every line is accounted for in ``report`` (created if not given): ``report.lines ==
    report.parsed + sum(report.skipped.values()) + len(report.errors)``. ``workers``: see
    :func:`read_trace`.
    """
    for batch in iter_batches(paths, report=report, strict=strict, on_lines=on_lines, workers=workers):
        yield from batch_events(batch)


@dataclass
class Trace:
    """A parsed trace: the events table (``df``), the line accounting (``report``), and the typed
    arguments of memory and process syscalls by ``seq`` (``decoded``).

    The kernel options of the replaying methods are the CLI's: ``overcommit`` is
    vm.overcommit_memory of the traced machine ("heuristic", "always" or "never"; "never" makes
    the kernel ignore MAP_NORESERVE), ``uncharge_unfaulted`` gives the charge back when write is
    removed from a never-written private region (Linux 6.7+)."""

    df: "pd.DataFrame"
    report: ParseReport
    decoded: Mapping[int, Decoded] = field(default_factory=dict, repr=False)
    #: Per task (None: no pid), the (time, seq) of its first and last event among all the
    #: trace's events, kept when ``read_trace(only=...)`` drops some (a process's last call may
    #: be one the model does not read): the chart's axis and the last phase's end use them.
    #: None: take them from ``df`` (it holds every event).
    task_spans: "dict[int | None, Span] | None" = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.decoded, DecodedRecords):
            self.decoded = DecodedRecords(dict(self.decoded), self)

    @property
    def page_size(self) -> int:
        """The page size of the traced machine (16 KiB for Apple-silicon dtruss logs)."""
        return self.report.page_sizes.get(self.report.files[0], 4096) if self.report.files else 4096

    def replay_events(self) -> Iterator[SyscallEvent]:
        """The events the address-space model needs (memory, process, open, shmget), in order."""
        df = self.df
        sub = df.loc[df["syscall"].isin(REPLAY_SYSCALLS)]
        records = self.decoded
        decoded = records.kept if isinstance(records, DecodedRecords) else records
        states = {s.value: s for s in State}
        Event = SyscallEvent

        # Column by column into Python lists (missing values as None): far faster than rows; a
        # slice at a time, so that a trace of millions of calls is not all Python objects at once.
        step = 1 << 13
        for at in range(0, len(sub), step):
            part = sub.iloc[at:at + step]
            # (pandas-stubs type na_value as a non-None scalar; pandas takes None)
            col = {name: part[name].to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]
                   for name in ("seq", "file", "line", "end_line", "pid", "syscall", "args", "ret", "errno",
                                "time", "state", "injected", "stack", "uncertain", "platform", "addr", "length",
                                "prot", "flags", "fd", "offset", "fd_path", "raw_flags", "vm_tag")}
            for seq, file, line, end_line, pid, syscall, args, ret, errno, time, state, injected, stack, \
                    uncertain, platform, addr, length, prot, flags, fd, offset, fd_path, raw_flags, vm_tag \
                    in zip(*col.values()):
                d = decoded.get(seq)
                if d is None and addr is not None and syscall in _REMADE:
                    d = _remake(syscall, addr, length, prot, flags, fd, offset, fd_path, raw_flags, vm_tag)
                # positional (the field order of SyscallEvent): keywords cost a third more here
                yield Event(seq, file, line, pid, syscall, args, ret, errno, None, time, None, end_line, None, None,
                            bool(injected), states[state], None, None,
                            tuple(stack.split("\n")) if stack is not None else (), d, None, bool(uncertain),
                            platform)

    def _new_replayer(self, baseline: Baseline, overcommit: str, uncharge_unfaulted: bool) -> "Replayer":
        from .space.replay import Replayer

        r = Replayer(page=self.page_size, overcommit=overcommit, uncharge_unfaulted=uncharge_unfaulted)
        from .space.kernelmaps import ExecBaselines

        if isinstance(baseline, ExecBaselines):
            r.seed_execs(baseline)
        elif baseline is not None:
            r.seed(baseline)
        df = self.df
        made = df.loc[df["syscall"].isin(["clone", "clone3", "fork", "vfork"]) & df["errno"].isna()
                      & (df["ret"] > 0), "ret"]
        r.hint_tasks({int(p) for p in made.dropna()}, self.report.children)
        return r

    def replayer(self, baseline: Baseline = None, *, overcommit: str = "heuristic",
                 uncharge_unfaulted: bool = False) -> "Replayer":
        """Replay the trace into address spaces (a :class:`tracemem.space.replay.Replayer`)."""
        return self._new_replayer(baseline, overcommit, uncharge_unfaulted).apply_all(self.replay_events())

    def timeline(self, baseline: Baseline = None, *, overcommit: str = "heuristic",
                 uncharge_unfaulted: bool = False) -> "pd.DataFrame":
        """One row per event that changed an address space, with that space's totals after it
        (signed 64-bit ledgers, so ``timeline.vsz.diff()`` is negative at a munmap)."""
        return self.replayer(baseline, overcommit=overcommit, uncharge_unfaulted=uncharge_unfaulted).frame()

    def address_space(self, pid: int | None = None, at: float | int | None = None, baseline: Baseline = None,
                      *, overcommit: str = "heuristic", uncharge_unfaulted: bool = False) -> "AddressSpace":
        """The AddressSpace of a process (default: the first traced one) after the last event
        (or after the event with ``seq`` == at when ``at`` is an int, or at time ``at``)."""
        r = self._new_replayer(baseline, overcommit, uncharge_unfaulted)
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

    @gc_paused()
    def phases(self, user: Sequence[str] = (), replayer: "Replayer | None" = None, *,
               pids: Sequence[int] | None = None, process: str | None = None) -> tuple[list["Phase"], list[str]]:
        """Startup phases per program run (detection restarts at each execve; each phase names
        its program in ``exe``), plus --phase style overrides, with the VSZ/reserved/committed
        deltas over each; and notes on phases with no evidence. ``pids`` / ``process`` keep only
        the address spaces :meth:`select` picks (the --phase options then apply to the first)."""
        from .phases import apply_user, detect, finish

        r = replayer if replayer is not None else self.replayer()
        timeline = r.frame()
        chosen = self.select(pids, process, r)
        # the program each space runs before its first execve in the trace (a fork child's parent's)
        exe_of: dict[int | None, str | None] = {}
        for sp in [*r.replaced, *r.spaces.values()]:
            exe_of.setdefault(sp.asid, sp.exe)
        found, notes = detect(self.df, timeline, {pid: sp.asid for pid, sp in r.task.items()}, exe_of, chosen)
        found = apply_user(found, self.df, user, asid=chosen[0] if chosen else None, t0=self.start_time())
        return finish(found, self.df, timeline, self.last_event()), notes

    def select(self, pids: Sequence[int] | None = None, process: str | None = None,
               replayer: "Replayer | None" = None) -> list[int | None] | None:
        """The address spaces (their ids) that ``pids`` (any task of the process, threads
        included) and ``process`` (a program name, its path, or a glob like ``go*``, matched
        against every program the space ran) pick, in the order they appear; None when neither
        is given. UsageError, naming what there is, when they pick nothing."""
        from fnmatch import fnmatchcase

        if not pids and not process:
            return None
        r = replayer if replayer is not None else self.replayer()
        order = list(r.spaces)
        ran: dict[int | None, list[str]] = {}
        for sp in [*r.replaced, *r.spaces.values()]:
            if sp.exe:
                ran.setdefault(sp.asid, []).append(sp.exe)
        chosen: set[int | None] = set(order)
        if pids:
            wanted = {int(p) for p in pids}
            missing = sorted(p for p in wanted if p not in r.task)
            if missing:
                known = ", ".join(str(a) for a in order[:12] if a is not None) or "none"
                raise UsageError(f"--pid {', '.join(map(str, missing))}: no such task in the trace "
                                 f"(processes: {known}{' ...' if len(order) > 12 else ''})")
            chosen &= {r.task[p].asid for p in wanted}
        if process:
            def hit(exe: str) -> bool:
                return exe == process or exe.rsplit("/", 1)[-1] == process or fnmatchcase(exe.rsplit("/", 1)[-1], process)
            chosen &= {a for a, exes in ran.items() if any(hit(e) for e in exes)}
            if not chosen:
                names = sorted({e.rsplit("/", 1)[-1] for exes in ran.values() for e in exes})
                from .text import printable

                shown = ", ".join(printable(n) for n in names[:12]) or "none (the trace shows no execve)"
                raise UsageError(f"--process {printable(process)}: no process ran a program of that name "
                                 f"(programs: {shown}{' ...' if len(names) > 12 else ''})")
        if not chosen:
            raise UsageError("--pid and --process together pick no process")
        return [a for a in order if a in chosen]

    def baseline_from_final(self, final: Sequence["KernelRegion"], pid: int | None = None,
                            at: float | int | None = None) -> list["KernelRegion"]:
        """The exec-time baseline out of a snapshot taken at the end of the trace (or at event
        ``at``, as :meth:`address_space` takes it): the snapshot's mappings that overlap nothing
        the trace maps in the process (default: the first one) were there before its first
        event. Said in ``report.notes``."""
        space = self.address_space(pid, at=at)
        starts = [r.start for r in space]
        regions = list(space)
        from bisect import bisect_right

        def traced(lo: int, hi: int) -> bool:
            i = bisect_right(starts, lo)
            if i and regions[i - 1].end > lo:
                return True
            return i < len(starts) and starts[i] < hi

        before = [k for k in final if not traced(k.start, k.end)]
        self.report.notes.append(
            f"exec-time baseline from a final snapshot: {len(before)} of its {len(final)} mappings "
            f"({sum(k.size for k in before) / 2**20:,.1f} MiB) are not made by the trace and are taken as there "
            f"before its first event")
        return before

    def summary(self, baseline: Baseline = None, *, phases: Sequence[str] = (), top: int = 8,
                overcommit: str = "heuristic", uncharge_unfaulted: bool = False) -> "RunSummary":
        """The run summary (see :func:`tracemem.summarize`)."""
        from .summary import summarize

        return summarize(self, baseline, phases=phases, top=top, overcommit=overcommit,
                         uncharge_unfaulted=uncharge_unfaulted)

    def plot(self, path: str | os.PathLike[str] | None = None, *, phases: Sequence[str] = (),
             pid: int | Sequence[int] | None = None, process: str | None = None, log: bool = False,
             panels: Sequence[str] = (), baseline: Baseline = None, limit: int | None = None) -> "Figure":
        """The VSZ chart (a matplotlib Figure, made without pyplot: the caller's backend and
        figures are left alone); also written to ``path`` (.png/.svg/.pdf) if given.

        ``pid`` (one or several, any task of the process) and ``process`` (a program name or
        glob) choose the processes, as :meth:`select` does; else the ``limit`` (default 4)
        largest by peak VSZ are drawn and the caption says how many more there are."""
        from .reporters.plot import DEFAULT_PANELS, chart_format, save, vsz_figure

        if path is not None:
            chart_format(path)
        r = self.replayer(baseline)
        pids = [pid] if isinstance(pid, int) else list(pid) if pid is not None else None
        chosen = self.select(pids, process, r)
        timeline = r.frame()
        found, _ = self.phases(phases, r)
        names = {asid: sp.exe for asid, sp in r.spaces.items()}
        title = self.report.files[0].rsplit("/", 1)[-1] if self.report.files else ""
        if len(self.report.files) > 1:
            title += f" and {len(self.report.files) - 1} more file{'s' if len(self.report.files) > 2 else ''}"
        macos = any(f == "dtruss" for f in self.report.formats.values())
        df = self.df
        t0 = self.start_time()
        # spaces whose tasks show no call of their own (a fork child of a trace without -f)
        own = {r.task[int(p)].asid for p in df["pid"].dropna().unique().tolist() if int(p) in r.task}
        if df["pid"].isna().any():
            own.add(None)
        fig = vsz_figure(timeline, found, title=title, pids=chosen, log=log, panels=panels,
                         traced_only=baseline is None, t0=t0, spans=self.event_spans(r), names=names,
                         limit=DEFAULT_PANELS if limit is None else limit, macos=macos,
                         untraced=[a for a in r.spaces if a not in own])
        if path is not None:
            save(fig, path)
        return fig

    def start_time(self) -> float | None:
        """The time of the trace's first event (of all its events: the zero of the chart, the
        phases table and ``--phase NAME=SECONDS``); None without timestamps."""
        if self.task_spans is not None:
            firsts = [s[0][0] for s in self.task_spans.values() if s[0][0] is not None]
            return min(firsts) if firsts else None
        times = self.df["time"]
        return float(times.min()) if len(times) and times.notna().any() else None

    def last_event(self) -> tuple[float | None, int] | None:
        """The (time, seq) of the trace's last event (of all its events; None: no events)."""
        if self.task_spans is not None:
            ends = [s[1] for s in self.task_spans.values()]
            if not ends:
                return None
            seq = max(e[1] for e in ends)
            times = [e[0] for e in ends if e[0] is not None]
            return (max(times) if times else None, seq)
        df = self.df
        if not len(df):
            return None
        when = df["time"].max()
        return (None if _na(when) else float(when), int(df["seq"].max()))

    def event_spans(self, replayer: "Replayer | None" = None) -> dict[int | None, Span]:
        """Per address space, the (time, seq) of the first and of the last event of any of its
        tasks (None: the tasks without a pid); a space whose tasks show no event of their own (a
        child seen only in its fork) runs from its fork to the trace's end."""
        r = replayer if replayer is not None else self.replayer()
        spans: dict[int | None, Span] = {}
        for task, span in self._spans_by_task().items():
            asid = None if task is None else getattr(r.task.get(task), "asid", None)
            if task is None or asid is not None:
                old = spans.get(asid)
                spans[asid] = span if old is None else _merge_span(old, span)
        end = self.last_event()
        missing = [a for a in r.spaces if a is not None and a not in spans]
        if end is not None and missing:
            timeline = r.frame()
            rows = timeline[timeline["asid"].isin(missing)]
            per = rows.groupby("asid", observed=True).agg(t=("time", "min"), s=("seq", "min"))
            for asid, t, seq in zip(per.index.tolist(), per["t"].tolist(), per["s"].tolist()):
                spans[int(asid)] = ((None if _na(t) else float(t), int(seq)), end)
        return spans

    def _spans_by_task(self) -> dict[int | None, Span]:
        """Each task's first and last event (None: the tasks without a pid): kept by read_trace
        when it dropped events, else from the table."""
        if self.task_spans is not None:
            return self.task_spans
        df = self.df
        out: dict[int | None, Span] = {}

        def when(v: object) -> float | None:
            return None if _na(v) else float(v)  # type: ignore[arg-type]

        named = df[df["pid"].notna()]
        if len(named):
            per = named.groupby("pid", observed=True).agg(t0=("time", "min"), s0=("seq", "min"),
                                                          t1=("time", "max"), s1=("seq", "max"))
            for task, t_a, s_a, t_b, s_b in zip(per.index.tolist(), per["t0"].tolist(), per["s0"].tolist(),
                                                per["t1"].tolist(), per["s1"].tolist()):
                out[int(task)] = ((when(t_a), int(s_a)), (when(t_b), int(s_b)))
        unnamed = df[df["pid"].isna()]
        if len(unnamed):
            out[None] = ((when(unnamed["time"].min()), int(unnamed["seq"].min())),
                         (when(unnamed["time"].max()), int(unnamed["seq"].max())))
        return out

    def stats(self) -> "Stats":
        """The line accounting and per-syscall counts: the keys ``tracemem stats --json`` prints.

        With ``read_trace(only=...)`` the syscall counts are those of the kept events."""
        counts = self.df["syscall"].value_counts()
        pids = sorted(int(p) for p in self.df["pid"].dropna().unique())
        out = stats_dict(self.report, {str(k): int(v) for k, v in counts.items() if v}, pids)
        return {**out, "decode_errors": int(self.df["decode_error"].notna().sum()),
                "error_details": error_details(self.report)}


REPLAY_SYSCALLS = ["mmap", "mmap2", "munmap", "mprotect", "pkey_mprotect", "madvise", "mremap", "brk",
                   "shmat", "shmdt", "shmget", "prctl", "execve", "execveat", "clone", "clone3", "fork",
                   "vfork", "openat", "open", "creat", "mlock", "mlock2", "munlock", "mseal", "syscall_0x1ce"]


def _model_syscalls() -> list[str]:
    from .phases import PHASE_RULES

    names = set(REPLAY_SYSCALLS)
    for rule in PHASE_RULES:
        names |= set(rule.get("syscalls", ()))
    return sorted(names)


#: What the address-space model and the phase rules read (see ``read_trace(only=...)``).
MODEL_SYSCALLS: list[str] = _model_syscalls()


class LineStats(TypedDict):
    """The line accounting of a parse and its syscall counts (:func:`stats_dict`)."""

    files: list[str]
    formats: dict[str, str]
    lines: int
    parsed: int
    skipped: dict[str, int]
    errors: int
    events: int
    incomplete: dict[str, int]
    time: str | None
    syscalls: dict[str, int]
    unknown_syscalls: int
    pids: list[int]


class ErrorDetail(TypedDict):
    """One line error, JSON-ready (:func:`error_details`)."""

    file: str
    line: int
    column: int
    reason: str
    text: str


class Stats(LineStats):
    """What ``tracemem stats --json`` prints (:func:`count_events`, :meth:`Trace.stats`)."""

    decode_errors: int
    error_details: list[ErrorDetail]


#: The name strace prints for a call it could not tell (an exiting thread's): counted apart.
UNKNOWN_SYSCALL = "???"


def stats_dict(report: ParseReport, syscalls: dict[str, int], pids: list[int]) -> LineStats:
    syscalls = dict(syscalls)
    unknown = syscalls.pop(UNKNOWN_SYSCALL, 0)
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
        "unknown_syscalls": unknown,
        "pids": pids,
    }


def error_details(report: ParseReport, limit: int = 50) -> list[ErrorDetail]:
    """The first ``limit`` line errors as JSON-ready dicts."""
    return [
        {"file": e.file, "line": e.line, "column": e.column, "reason": e.reason, "text": e.text}
        for e in report.errors[:limit]
    ]


@gc_paused()  # (the parse's millions of acyclic objects: see tracemem.gcpause)
def read_trace(paths: PathsLike, *, strict: bool = False, on_lines: Callable[[int], None] | None = None,
               workers: int | None = None, only: Sequence[str] | None = None) -> Trace:
    """Parse logs into a :class:`Trace` (events DataFrame plus line accounting).

    Several ``-ff`` files of one run are merged into one table ordered by time when every file
    has timestamps (in the order given otherwise); ``seq`` numbers the merged order. ``only``
    keeps just those syscalls in the table (every line is still parsed and accounted for); the
    address-space commands use it on large traces. ``workers``: processes for files over 32 MiB
    (default: up to 4 by the cores; 1 inside a daemonic process such as a multiprocessing.Pool
    worker, which may not have children); 1 parses in this process.
    """
    # (pandas is imported when the first part of the table is framed: with a pool, beside the
    # workers, which are forked without it)
    report = ParseReport()
    frames = []
    pending: list[Batch] = []
    waiting = 0
    decoded: dict[int, Decoded] = {}
    keep = frozenset(only) if only is not None else None
    spans: dict[int | None, Span] = {}
    # (the compiled scanner builds only the line, name, pid and time of the rows it drops)
    for batch in iter_batches(paths, report=report, strict=strict, on_lines=on_lines, workers=workers,
                              names=keep):
        if isinstance(batch, Kept):  # (filtered where it was parsed)
            _spans_of_arrays(spans, batch.pids, batch.times, batch.seq0, None)
            if not batch["seq"]:
                continue
        elif keep is not None:
            _task_spans(spans, batch)
            idx = [i for i, name in enumerate(batch["syscall"]) if name in keep]
            if len(idx) != len(batch["syscall"]):
                batch = {k: [v[i] for i in idx] for k, v in batch.items()}
            if not idx:
                continue
        for seq, d in zip(batch["seq"], batch["decoded"]):
            if d is not None and not _in_columns(d):
                decoded[seq] = d
        # batches (a 1 MiB block each, ~2,500 lines) are framed 65,536 rows at a time: columns of
        # small parts fragment the heap, which then holds what was freed (on a 2M-line trace
        # that was a third of the peak)
        pending.append(batch)
        waiting += len(batch["seq"])
        if waiting >= FRAME_ROWS:
            frames.append(_share_empty_columns(events_frame(_join(pending))))
            pending, waiting = [], 0
    if pending:
        frames.append(_share_empty_columns(events_frame(_join(pending))))
        pending = []
    df = _concat(frames) if frames else events_frame(empty_batch())
    if len(report.files) > 1 and len(df) and df["time"].notna().all():
        df = df.sort_values(["time", "seq"], kind="stable").reset_index(drop=True)
        old = df["seq"].to_numpy()
        df["seq"] = range(len(df))
        decoded = {new: decoded[int(o)] for new, o in enumerate(old) if int(o) in decoded}
    for column in ("file", "syscall", "errno", "state"):
        df[column] = df[column].astype("category")
    owner = _name_unprefixed_task(df, report)
    # (a merge of -ff files renumbers the kept events: the spans' seqs would not match them)
    kept_spans = spans if keep is not None and len(report.files) == 1 else None
    if kept_spans is not None and owner is not None and None in kept_spans:
        unprefixed = kept_spans.pop(None)   # the unprefixed events are the owner's
        known = kept_spans.get(owner)
        kept_spans[owner] = unprefixed if known is None else _merge_span(known, unprefixed)
    return Trace(_share_empty_columns(df), report, decoded, kept_spans)


#: A task's first and last event: ((earliest time, first seq), (latest time, last seq)).
Span = tuple[tuple[float | None, int], tuple[float | None, int]]


def _merge_span(a: Span, b: Span) -> Span:
    """The span covering both (times may be missing: None)."""
    def pick(f: Callable[..., Any], x: float | None, y: float | None) -> float | None:
        return x if y is None else y if x is None else f(x, y)

    (ta, sa), (tb, sb) = a
    (ua, ra), (ub, rb) = b
    return (pick(min, ta, ua), min(sa, ra)), (pick(max, tb, ub), max(sb, rb))


def _task_spans(spans: dict[int | None, Span], batch: Batch) -> None:
    """Update each task's (earliest time, first seq) and (latest time, last seq) with a batch's
    rows (every row, before a filter), as Trace.event_spans takes them from a whole table."""
    import numpy as np

    pids, times = batch["pid"], batch["time"]
    if not pids:
        return
    p = np.array([-1 if v is None else v for v in pids] if None in pids else pids, dtype=np.int64)
    _spans_of_arrays(spans, p, np.array(times, dtype=float), 0, batch["seq"])


def _spans_of_arrays(spans: dict[int | None, Span], p: Any, ts: Any, seq0: int, seqs: list[int] | None) -> None:
    """_task_spans of rows given as arrays: pids (-1: none), times (NaN: none), and the rows'
    seqs (None: ``seq0`` and on)."""
    import numpy as np

    n = len(p)
    if not n:
        return
    # grouped by task with one stable sort: each group's first and last row, lowest and highest
    # time (NaN: no time) without a Python loop over the rows
    order = np.argsort(p, kind="stable")
    ps = p[order]
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    ends = np.r_[starts[1:], n] - 1
    ts = ts[order]
    lows = np.fmin.reduceat(ts, starts)
    highs = np.fmax.reduceat(ts, starts)
    firsts, lasts = order[starts], order[ends]
    for k in range(len(starts)):
        lo, hi = float(lows[k]), float(highs[k])
        first, last = int(firsts[k]), int(lasts[k])
        span: Span = ((None if lo != lo else lo, seq0 + first if seqs is None else seqs[first]),
                      (None if hi != hi else hi, seq0 + last if seqs is None else seqs[last]))
        pid = int(ps[starts[k]])
        key = None if pid == -1 else pid
        old = spans.get(key)
        spans[key] = span if old is None else _merge_span(old, span)


def _share_empty_columns(df: "pd.DataFrame") -> "pd.DataFrame":
    """``df`` with each numeric column that holds no value at all (no -T durations, no dtruss
    fields, no mremap in the trace ...) made a view of one value: 9 bytes a row less per such
    column, which is most of them on a plain mmap-heavy trace (about 270 MB of a 2M-line one).
    Reads are the same; a write copies first (pandas copy-on-write). The other columns are not
    copied."""
    import pandas as pd

    if len(df) < 4096:
        return df
    empty = [name for name in df.columns if _is_empty(df[name])]
    if not empty:
        return df
    n = len(df)
    return pd.DataFrame({name: _empty(df[name], n) if name in empty else df[name].array for name in df.columns},
                        index=df.index, copy=False)


def _is_empty(col: "pd.Series") -> bool:
    import pandas as pd

    return isinstance(col.array, pd.arrays.IntegerArray | pd.arrays.FloatingArray) and not col.notna().any()


def _empty(like: "pd.Series", n: int) -> Any:
    """An array of ``n`` missing values of ``like``'s masked dtype, backed by one value."""
    import numpy as np

    values: Any = np.broadcast_to(np.zeros(1, dtype=like.array.dtype.type), n)
    mask = np.broadcast_to(np.True_, n)
    return type(like.array)(values, mask)


#: Rows per events-table part while a trace is read (read_trace).
FRAME_ROWS = 16384


def _join(batches: list[Batch]) -> Batch:
    """Batches as one (their columns end to end)."""
    if len(batches) == 1:
        return batches[0]
    return {name: list(itertools.chain.from_iterable(b[name] for b in batches)) for name in batches[0]}


def _concat(frames: list["pd.DataFrame"]) -> "pd.DataFrame":
    """The batches' frames as one, a column at a time, each part dropped once copied: the peak is
    the table and one column, not twice the table (pd.concat holds every part to the end)."""
    import pandas as pd

    if len(frames) == 1:
        return frames[0]
    cols: dict[str, Any] = {}
    total = sum(len(f) for f in frames)
    for name in list(frames[0].columns):
        parts = [f[name] for f in frames]
        if all(_is_empty(part) for part in parts) and len({part.dtype for part in parts}) == 1:
            cols[name] = _empty(parts[0], total)  # a column with no value anywhere stays a view
        else:
            cols[name] = pd.concat(parts, ignore_index=True).array
        del parts
        for f in frames:
            del f[name]
    frames.clear()
    return pd.DataFrame(cols, copy=False)


_CREATORS = ("clone", "clone3", "fork", "vfork")
_U64 = 1 << 64
_I64 = 1 << 63


_REMADE = frozenset(("munmap", "mprotect", "mmap", "mmap2", "brk"))


def _remake(syscall: str, addr: Any, length: Any, prot: Any, flags: Any, fd: Any, offset: Any, fd_path: Any,
            raw_flags: Any, vm_tag: Any) -> Decoded:
    """The record of a munmap, mprotect, mmap or brk from its table columns (see _in_columns)."""
    if syscall == "munmap":
        return Munmap(addr, length)
    if syscall == "brk":
        return Brk(addr)
    p = _PROTS.get(prot)
    if p is None:
        p = _PROTS[prot] = Prot(prot)
    if syscall == "mprotect":
        return Mprotect(addr, length, p)
    f = _MAPFLAGS.get(flags)
    if f is None:
        f = _MAPFLAGS[flags] = MapFlags(flags)
    return Mmap(addr, length, p, f, fd, offset, fd_path, raw_flags, vm_tag)


# The flag values made again, by int (an IntFlag call costs about a microsecond).
_PROTS: dict[int, Prot] = {}
_MAPFLAGS: dict[int, MapFlags] = {}


class DecodedRecords(Mapping[int, Decoded]):
    """Trace.decoded: the typed record of each event that has one, by ``seq``. The records the
    events table's columns hold whole (munmap, mprotect, mmap, brk) are made again from the
    table when asked for; the others are kept (``kept``)."""

    def __init__(self, kept: dict[int, Decoded], trace: "Trace") -> None:
        self.kept = kept
        self._trace = trace

    def _row(self, seq: int) -> Decoded | None:
        import numpy as np

        df = self._trace.df
        hit = np.flatnonzero(df["seq"].to_numpy() == seq)
        if not len(hit):
            return None
        row = df.iloc[int(hit[0])]
        syscall = str(row["syscall"])
        if syscall not in _REMADE or _na(row["addr"]):
            return None
        values = [None if _na(row[k]) else row[k] for k in
                  ("addr", "length", "prot", "flags", "fd", "offset", "fd_path", "raw_flags", "vm_tag")]
        ints = [v if v is None or k == 6 else int(v) for k, v in enumerate(values)]
        return _remake(syscall, *ints)

    def __getitem__(self, seq: int) -> Decoded:
        d = self.kept.get(seq)
        if d is None:
            d = self._row(seq)
        if d is None:
            raise KeyError(seq)
        return d

    def __contains__(self, seq: object) -> bool:
        return seq in self.kept or (isinstance(seq, int) and self._row(seq) is not None)

    def _remade(self) -> list[int]:
        df = self._trace.df
        made = df.loc[df["syscall"].isin(list(_REMADE)) & df["addr"].notna(), "seq"].tolist()
        return [int(s) for s in made if int(s) not in self.kept]

    def __iter__(self) -> Iterator[int]:
        return iter(sorted([*self.kept, *self._remade()]))

    def __len__(self) -> int:
        return len(self.kept) + len(self._remade())


def _na(value: object) -> bool:
    import pandas as pd

    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _in_columns(d: Decoded) -> bool:
    """Whether the events table's columns hold this record whole, so that Trace.replay_events
    can make it again and read_trace keeps no copy: munmap, mprotect (no pkey), mmap and brk
    with every value in its column's range. On a trace of a million calls the copies were a
    quarter of the memory (issue 11)."""
    if isinstance(d, Munmap):
        return 0 <= d.addr < _U64 and 0 <= d.length < _U64
    if isinstance(d, Mprotect):
        return 0 <= d.addr < _U64 and 0 <= d.length < _U64 and d.pkey is None and -_I64 <= d.prot < _I64
    if isinstance(d, Mmap):
        return (0 <= d.addr < _U64 and 0 <= d.length < _U64 and -_I64 <= d.offset < _I64
                and -_I64 <= d.fd < _I64 and -_I64 <= d.prot < _I64 and -_I64 <= d.flags < _I64)
    return isinstance(d, Brk) and 0 <= d.addr < _U64


def pd_na() -> object:
    import pandas as pd

    return pd.NA


def _name_unprefixed_task(df: "pd.DataFrame", report: ParseReport) -> int | None:
    """A terminal capture (strace -f without -o) prints no ``[pid N]`` prefix until a second
    task exists: those first events have no pid. The first prefixed pid that is not a task
    created so far is the same task; its pid is given to them (and said in report.notes).
    Returns that pid (the last file's, if several)."""
    named = None
    if not len(df) or not df["pid"].isna().any():
        return None
    for file in df["file"].unique():
        rows = df.index[df["file"] == file]
        pids = df.loc[rows, "pid"]
        missing = pids.isna()
        if not missing.any() or missing.all():
            continue
        sub = df.loc[rows]
        created: set[int] = set()
        owner = None
        for pid, syscall, ret in zip(sub["pid"].tolist(), sub["syscall"].astype(object).tolist(),
                                     sub["ret"].tolist()):
            if pid is pd_na():
                if syscall in _CREATORS and ret is not pd_na() and ret > 0:
                    created.add(int(ret))
                continue
            if int(pid) not in created:
                owner = int(pid)
                break
            if syscall in _CREATORS and ret is not pd_na() and ret > 0:
                created.add(int(ret))
        if owner is None:
            continue
        named = owner
        df.loc[rows[missing.to_numpy()], "pid"] = owner
        report.notes.append(
            f"{file}: {int(missing.sum()):,} events before the first [pid N] prefix (a terminal capture) "
            f"taken as pid {owner}'s: the first prefixed task that none of them created")
    return named


@gc_paused()
def count_events(paths: PathsLike, *, strict: bool = False, on_lines: Callable[[int], None] | None = None,
                 workers: int | None = None) -> Stats:
    """The ``stats`` figures computed while streaming (no table kept in memory): exactly what
    ``tracemem stats --json`` prints (README, "Command line")."""
    report = ParseReport()
    counts: Counter[str] = Counter()
    pids: set[int | None] = set()
    decode_errors = 0
    for batch in iter_batches(paths, report=report, strict=strict, on_lines=on_lines,
                              workers=workers, columns=("syscall", "pid", "decode_error")):
        counts.update(batch["syscall"])
        pids.update(batch["pid"])
        decode_errors += len(batch["decode_error"]) - batch["decode_error"].count(None)
    out = stats_dict(report, dict(counts), sorted(p for p in pids if p is not None))
    return {**out, "decode_errors": decode_errors, "error_details": error_details(report)}


__all__ = ["Batch", "ErrorDetail", "LineStats", "MODEL_SYSCALLS", "PathsLike", "REPLAY_SYSCALLS", "Stats",
           "Trace", "count_events", "iter_events", "read_trace", "stats_dict"]
