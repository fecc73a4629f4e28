"""The run summary: per address space, the totals at the end of the trace, the peak VSZ, the
largest regions, the bytes per region role, the startup phases and how the process ended.

This is the middle layer the comparison, the reports and the fleet tables are built on: a
:class:`RunSummary` is plain data (dataclasses of numbers and strings), turns into pandas
DataFrames, and goes to JSON and back, so a stored summary can be compared later without the
trace (``tracemem summary --json``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from .gcpause import gc_paused
from .phases import Phase
from .reporters.maps import perms

if TYPE_CHECKING:
    import pandas as pd

    from .space.replay import Replayer, TracedSpace
    from .trace import Baseline, Trace

#: The version of the JSON form (``RunSummary.to_dict``); bumped when a key changes meaning.
SCHEMA = 1

LEDGERS = ("vsz", "reserved", "committed", "file", "shared", "released")


@dataclass
class RegionInfo:
    """One region of the final address space."""

    start: int
    end: int
    perms: str
    role: str
    path: str | None = None    # the file, or the PR_SET_VMA_ANON_NAME name

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass
class RoleTotals:
    """The bytes of one region role in the final address space."""

    role: str
    regions: int
    vsz: int
    reserved: int
    committed: int


@dataclass
class ProcessSummary:
    """One address space (a process; its threads share it) at the end of the trace."""

    asid: int | None            # the pid that created the space, as the log names it
    exe: str | None             # from its execve, when the trace shows one
    vsz: int
    reserved: int
    committed: int
    file: int
    shared: int
    released: int
    map_count: int
    peak_vsz: int
    peak_seq: int | None        # the event after which VSZ was highest (None: no change seen)
    peak_time: float | None
    ended: str                  # "exited with 0", "killed by SIGKILL" (the +++ line), else "exit_group(0)",
                                # else "no exit in the trace" (running at its end, or not captured)
    tasks: list[int] = field(default_factory=list)
    ended_line: int | None = None     # the line of its +++ exit line (its bytes then: the totals above)
    largest: list[RegionInfo] = field(default_factory=list)
    roles: list[RoleTotals] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)


@dataclass
class RunSummary:
    """What one traced run did to its address spaces (see the module docstring)."""

    files: list[str]
    baseline: bool              # an exec-time snapshot seeded the first process ("VSZ", not "traced VSZ")
    overcommit: str
    uncharge_unfaulted: bool
    lines: int
    events: int
    errors: int
    time_kind: str | None
    processes: list[ProcessSummary]   # largest final VSZ first
    notes: list[str] = field(default_factory=list)
    schema: int = SCHEMA

    @property
    def vsz_label(self) -> str:
        """ "VSZ" with an exec-time baseline, "traced VSZ" without (the trace alone misses the
        mappings the kernel made at exec)."""
        return "VSZ" if self.baseline else "traced VSZ"

    @property
    def from_dtruss(self) -> bool:
        """Whether the trace is a dtruss (macOS) log: its "committed" figures are then what Linux
        would charge for the same flags, not a macOS figure. Known from ``time_kind``: only a
        dtruss log gives "record order" (dtruss prints no clock; a strace log without times
        gives None, and strace and dtruss logs are never read together)."""
        return self.time_kind == "record order"

    def process(self, asid: int) -> ProcessSummary:
        """The summary of one address space by its id."""
        for p in self.processes:
            if p.asid == asid:
                return p
        from .errors import UsageError

        raise UsageError(f"no process {asid} in the summary; processes: "
                         f"{', '.join(str(p.asid) for p in self.processes)}")

    # -- tables -----------------------------------------------------------------------------------

    def frame(self) -> "pd.DataFrame":
        """One row per address space: asid, exe, the ledgers, map_count, the peak, how it ended."""
        cols = ["asid", "exe", *LEDGERS, "map_count", "peak_vsz", "peak_seq", "peak_time", "ended"]
        df = _table([{c: getattr(p, c) for c in cols} for p in self.processes], cols)
        return df.astype({"asid": "Int64", "peak_seq": "Int64", "peak_time": "Float64",
                          **{c: "int64" for c in (*LEDGERS, "map_count", "peak_vsz")}})

    def roles_frame(self) -> "pd.DataFrame":
        """One row per (address space, role): regions, vsz, reserved, committed bytes."""
        rows = [{"asid": p.asid, **asdict(r)} for p in self.processes for r in p.roles]
        df = _table(rows, ["asid", "role", "regions", "vsz", "reserved", "committed"])
        return df.astype({"asid": "Int64"})

    def regions_frame(self) -> "pd.DataFrame":
        """The largest regions of each address space (as many as ``top`` asked for)."""
        rows = [{"asid": p.asid, **asdict(r), "size": r.size} for p in self.processes for r in p.largest]
        df = _table(rows, ["asid", "start", "end", "size", "perms", "role", "path"])
        return df.astype({"asid": "Int64"})

    def phases_frame(self) -> "pd.DataFrame":
        """Every phase of every address space, with its deltas."""
        names = list(Phase.__dataclass_fields__)
        return _table([asdict(ph) for p in self.processes for ph in p.phases], names)

    # -- JSON -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (README, "summary --json")."""
        out = asdict(self)
        out["vsz_label"] = self.vsz_label
        return out

    def to_json(self, indent: int | None = 2) -> str:
        # ASCII: valid UTF-8 and no control character from the trace, whatever it held
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunSummary":
        """The summary back from :meth:`to_dict` (a stored ``summary --json``)."""
        from .errors import InputError

        if not isinstance(data, dict) or data.get("schema") != SCHEMA or "processes" not in data:
            raise InputError(f"not a tracemem summary of schema {SCHEMA} (expected the output of "
                             "'tracemem summary --json')")
        try:
            processes = [
                ProcessSummary(**{**p, "largest": [RegionInfo(**r) for r in p["largest"]],
                                  "roles": [RoleTotals(**r) for r in p["roles"]],
                                  "phases": [Phase(**ph) for ph in p["phases"]]})
                for p in data["processes"]
            ]
            fields = {k: v for k, v in data.items() if k not in ("processes", "vsz_label")}
            return cls(**fields, processes=processes)
        except (TypeError, KeyError) as exc:
            raise InputError(f"a tracemem summary with a missing or unknown key ({exc})") from None

    @classmethod
    def from_json(cls, text: str) -> "RunSummary":
        from .errors import InputError

        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
        return cls.from_dict(data)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> "pd.DataFrame":
    """A DataFrame of ``rows`` a column at a time: a text column holding a byte that is not UTF-8
    (kept as a surrogate escape: a path, an exe) is a plain object column, as in the events
    table (pandas' Arrow strings refuse it)."""
    import pandas as pd

    data = {}
    for c in columns:
        values = [row.get(c) for row in rows]
        try:
            data[c] = pd.Series(values)
        except UnicodeEncodeError:
            data[c] = pd.Series(values, dtype=object)
    return pd.DataFrame(data, columns=columns)


@gc_paused()  # (a summary of thousands of processes: see tracemem.gcpause)
def summarize(trace: "Trace", baseline: "Baseline" = None, *, phases: Sequence[str] = (), top: int = 8,
              overcommit: str = "heuristic", uncharge_unfaulted: bool = False,
              replayer: "Replayer | None" = None) -> RunSummary:
    """The :class:`RunSummary` of a trace: replays it (with the exec-time ``baseline`` when
    given), detects the phases (``phases``: ``--phase`` style additions), and keeps the ``top``
    largest regions of every address space."""
    r = replayer if replayer is not None else trace.replayer(
        baseline, overcommit=overcommit, uncharge_unfaulted=uncharge_unfaulted)
    timeline = r.frame()
    found, notes = trace.phases(phases, r)
    exits = _exits(trace)
    unique: list[tuple[int | None, "TracedSpace"]] = []
    seen: set[int] = set()
    for asid, sp in r.spaces.items():
        if id(sp) not in seen:
            seen.add(id(sp))
            unique.append((asid, sp))
    unique.sort(key=lambda item: -item[1].space.regions.vsz)
    tasks: dict[int, list[int]] = {}
    for pid, sp in r.task.items():
        if pid is not None:
            tasks.setdefault(id(sp), []).append(pid)
    peaks = _peaks(timeline)
    phases_of: dict[int | None, list[Phase]] = {}
    for p in found:
        phases_of.setdefault(p.asid, []).append(p)
    processes = []
    for asid, sp in unique:
        processes.append(_process(asid, sp, phases_of.get(asid, []), sorted(tasks.get(id(sp), [])), exits,
                                  trace.report.ends, top, peaks))
    return RunSummary(
        files=list(trace.report.files), baseline=baseline is not None or r.seeded,
        overcommit=str(overcommit), uncharge_unfaulted=uncharge_unfaulted, lines=trace.report.lines,
        events=trace.report.events, errors=len(trace.report.errors), time_kind=trace.report.time_kind,
        processes=processes, notes=[*trace.report.notes, *r.inference_notes(), *notes],
    )


def _process(asid: int | None, sp: "TracedSpace", phases: list[Phase],
             tasks: list[int], exits: dict[int | None, str], ends: dict[int, tuple[int, str]], top: int,
             peaks: dict[int | None, tuple[int, int, float | None]]) -> ProcessSummary:
    space = sp.space
    t = space.totals()
    peak = peaks.get(asid)
    if peak is not None:
        peak_vsz, peak_seq, peak_time = peak
    else:
        peak_vsz, peak_seq, peak_time = t.vsz, None, None
    largest = [RegionInfo(r.start, r.end, perms(r), r.role, r.path or r.name) for r in space.regions.largest(top)]
    by_role = space.regions.role_totals()
    roles = sorted((RoleTotals(role, *acc) for role, acc in by_role.items()), key=lambda x: (-x.vsz, x.role))
    ender = next((p for p in [asid, *tasks] if p is not None and p in ends), None)
    # (the space without a pid is the unprefixed task's: its exit_group has no pid either)
    ended = ends[ender][1] if ender is not None else next(
        (exits[p] for p in [asid, *tasks] if (p is not None or asid is None) and p in exits), "no exit in the trace")
    ended_line = ends[ender][0] if ender is not None else None
    return ProcessSummary(
        asid=asid, exe=sp.exe, vsz=t.vsz, reserved=t.reserved, committed=t.committed, file=t.file,
        shared=t.shared, released=t.released, map_count=t.map_count, peak_vsz=peak_vsz,
        peak_seq=peak_seq, peak_time=peak_time, ended=ended, tasks=tasks, ended_line=ended_line,
        largest=largest, roles=roles,
        phases=phases,
    )


def _peaks(timeline: "pd.DataFrame") -> dict[int | None, tuple[int, int, float | None]]:
    """Per address space (None: rows without one), the first row of its highest VSZ: (vsz, seq,
    time). One pass over the timeline for all spaces."""
    import pandas as pd

    out: dict[int | None, tuple[int, int, float | None]] = {}
    if not len(timeline):
        return out
    vsz = timeline["vsz"].astype("int64")
    keys = timeline["asid"].astype("float64").fillna(-1.0)   # NA as a key of its own
    first = vsz.groupby(keys, sort=False).idxmax()             # the first label of each maximum
    rows = timeline.loc[first.to_numpy(), ["asid", "vsz", "seq", "time"]]
    for asid, v, seq, time in rows.itertuples(index=False):
        out[None if asid is pd.NA else int(asid)] = (int(v), int(seq), None if time is pd.NA else float(time))
    return out


def _exits(trace: "Trace") -> dict[int | None, str]:
    """pid -> "exit_group(N)" for the tasks whose exit_group the trace shows (the last one); None:
    the task of a trace without pids."""
    df = trace.df
    sub = df.loc[df["syscall"] == "exit_group", ["pid", "args"]]
    out: dict[int | None, str] = {}
    for pid, args in zip(sub["pid"], sub["args"]):
        out[None if _isna(pid) else int(pid)] = f"exit_group({args})"
    return out


def _isna(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))
