"""Two runs side by side: what changed in the address space, in which phase, in which kind of
memory (``tracemem diff``, :func:`compare`).

Nothing is matched by address or pid (ASLR and pids differ from run to run):

* processes by their program (the path and argv of their last execve), then by the order they
  were created among equals; a path that differs only in its folder (a build directory) and then
  the program's name alone match next, and ``matched_by`` says which;
* phases by name, the n-th run of a phase in a process with the n-th;
* region roles by name;
* the mappings a process made (mmap, mmap2, shmat) by role, then size class (the power of two
  below the size), then order of creation within both: the 3rd glibc arena reservation of one
  run meets the 3rd of the other.

What exists in one run only is "new" or "gone", never forced into a pair. A phase that one
run's capture cannot show (its trace has none of the syscalls the phase's rule looks for: a
``-e trace=memory`` capture has no sockets) is "not comparable", not "gone".
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence, Union

from .errors import InputError, UsageError
from .phases import PHASE_RULES, exec_argv
from .text import human, printable

if TYPE_CHECKING:
    import pandas as pd

    from .space.replay import Replayer
    from .summary import ProcessSummary, RunSummary
    from .trace import Baseline, Trace

#: One side of a comparison: a Trace, a path, a glob, a directory (its files: a -ff set), a list.
Side = Union["Trace", str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]

#: The totals compared, in the order shown.
TOTAL_METRICS = ("vsz", "reserved", "committed", "file", "shared", "released", "map_count", "peak_vsz",
                 "processes")
#: What a phase did (its own change of each), and a role's final state.
PHASE_METRICS = ("vsz", "reserved", "committed")
ROLE_METRICS = ("vsz", "reserved", "committed", "regions")
PROCESS_METRICS = ("vsz", "reserved", "committed", "file", "map_count", "peak_vsz")
#: Metrics that are counts, not bytes.
COUNTS = frozenset({"map_count", "processes", "regions"})
#: The syscalls that make regions ("mappings made", matched one by one).
_MAKERS = frozenset({"mmap", "mmap2", "shmat"})


@dataclass
class Run:
    """One side, read and replayed: the trace, its replay, its summary and timeline."""

    label: str
    trace: "Trace"
    replayer: "Replayer"
    summary: "RunSummary"
    timeline: "pd.DataFrame"
    spaces: list[int | None]                # the address spaces compared (all, or --process's)
    syscalls: frozenset[str]

    _events: dict[int, tuple[int, str]] | None = None

    def event(self, seq: int) -> tuple[int, str] | None:
        """The line number and text ("mmap(...) = 0x...") of the event ``seq``."""
        if self._events is None:
            df = self.trace.df
            self._events = {
                int(q): (int(line), f"{name}({args}) = {ret}")
                for q, line, name, args, ret in zip(df["seq"], df["line"], df["syscall"], df["args"], df["ret_text"])}
        return self._events.get(int(seq))

    @property
    def processes(self) -> list["ProcessSummary"]:
        chosen = set(self.spaces)
        return [p for p in self.summary.processes if p.asid in chosen]


@dataclass
class Comparison:
    """What :func:`compare` finds. Every table is a pandas DataFrame with ``before``, ``after``,
    ``change`` and ``change_pct`` columns per metric (``vsz_before`` ...) and a ``status``: both,
    new (after only), gone (before only) or not comparable."""

    before: Run
    after: Run
    totals: "pd.DataFrame"      # one row per metric
    phases: "pd.DataFrame"      # one row per phase name (summed over matched processes)
    roles: "pd.DataFrame"       # one row per region role (final state, summed over processes)
    processes: "pd.DataFrame"   # one row per matched, new or gone process
    regions: "pd.DataFrame"     # the mappings made in one run only (new / gone), largest first
    notes: list[str] = field(default_factory=list)

    def value(self, metric: str, scope: str | None = None, kind: str = "total") -> "Figure":
        """The before/after figure of ``metric`` in ``scope`` (``kind``: total, phase or role);
        what a --fail-on expression reads. UsageError when the scope is in neither run."""
        if kind == "total":
            table, key = self.totals, "metric"
            rows = table[table[key] == metric]
            if rows.empty:
                raise UsageError(f"unknown metric {metric!r}: one of {', '.join(TOTAL_METRICS)}")
            row = rows.iloc[0]
            return Figure(metric, None, kind, int(row["before"]), int(row["after"]), "both")
        table = self.phases if kind == "phase" else self.roles
        allowed = PHASE_METRICS if kind == "phase" else ROLE_METRICS
        if metric not in allowed:
            raise UsageError(f"{kind} {scope}: unknown metric {metric!r}: one of {', '.join(allowed)}")
        rows = table[table[kind] == scope]
        if rows.empty:
            there = ", ".join(printable(str(v)) for v in table[kind]) or "none"
            raise UsageError(f"no {kind} {printable(str(scope))!r} in either run ({kind}s: {there})")
        row = rows.iloc[0]
        return Figure(metric, scope, kind, int(row[f"{metric}_before"]), int(row[f"{metric}_after"]),
                      str(row["status"]), str(row.get("why", "") or ""))

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """The comparison as JSON-ready data (``tracemem diff --json``; README documents it)."""

        def records(df: "pd.DataFrame", n: int | None = None) -> list[dict[str, Any]]:
            part = df if n is None else df.head(n)
            return [{str(k): _plain(v) for k, v in row.items()} for row in part.to_dict("records")]

        return {
            "before": _side(self.before), "after": _side(self.after),
            "totals": records(self.totals), "phases": records(self.phases), "roles": records(self.roles),
            "processes": records(self.processes, top), "processes_total": len(self.processes),
            "regions": records(self.regions, top), "regions_total": len(self.regions),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Figure:
    """One metric of one scope in both runs."""

    metric: str
    scope: str | None
    kind: str
    before: int
    after: int
    status: str
    why: str = ""

    @property
    def change(self) -> int:
        return self.after - self.before

    @property
    def change_pct(self) -> float | None:
        """The change relative to before, in percent (None when before is 0)."""
        return None if self.before == 0 else 100.0 * self.change / self.before


def _plain(value: Any) -> Any:
    """A JSON-ready scalar (numpy and pandas missing values to None)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _side(run: Run) -> dict[str, Any]:
    s = run.summary
    return {"label": run.label, "files": list(s.files), "lines": s.lines, "events": s.events,
            "errors": s.errors, "time_kind": s.time_kind, "vsz_label": s.vsz_label,
            "processes": len(run.processes)}


# -- reading a side ---------------------------------------------------------------------------

def side_paths(side: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """The files of one side: a path, a glob, or a directory (its files, e.g. a -ff set)."""
    items = [side] if isinstance(side, (str, os.PathLike)) else list(side)
    out: list[str] = []
    for item in items:
        text = os.fspath(item)
        if os.path.isdir(text):
            files = sorted(os.path.join(text, n) for n in os.listdir(text)
                           if os.path.isfile(os.path.join(text, n)) and not n.startswith("."))
            if not files:
                raise InputError(f"{printable(text)}: the directory holds no trace file")
            out.extend(files)
        else:
            out.append(text)
    if not out:
        raise InputError("nothing to compare: give a trace file, a glob or a directory for each side")
    return out


def load_run(side: Side, label: str, *, process: str | None = None, overcommit: str = "heuristic",
             uncharge_unfaulted: bool = False) -> Run:
    """Read, replay and summarise one side (a Trace is used as it is). A single trace recorded by
    ``tracemem record`` is seeded with the exec-time snapshot beside it."""
    from .summary import summarize
    from .trace import MODEL_SYSCALLS, Trace, read_trace

    baseline: "Baseline" = None
    if isinstance(side, Trace):
        trace = side
    else:
        from .record import load_recorded_baselines

        paths = side_paths(side)
        # a trace `tracemem record` made has its exec-time maps beside it: "VSZ", as elsewhere
        baseline = load_recorded_baselines(paths[0]) if len(paths) == 1 else None
        trace = read_trace(paths, only=MODEL_SYSCALLS)
    r = trace.replayer(baseline, overcommit=overcommit, uncharge_unfaulted=uncharge_unfaulted)
    summary = summarize(trace, baseline, replayer=r)
    timeline = r.frame()
    spaces = _pick(trace, r, process, label)
    syscalls = frozenset(str(s) for s in trace.df["syscall"].unique()) if len(trace.df) else frozenset()
    return Run(label, trace, r, summary, timeline, spaces, syscalls)


def _pick(trace: "Trace", r: "Replayer", process: str | None, label: str) -> list[int | None]:
    """The spaces compared: all, or those of --process NAME|PID (in this run)."""
    order = [p.asid for p in _summary_order(r)]
    if not process:
        return order
    try:
        if process.isdigit():
            chosen = trace.select(pids=[int(process)], replayer=r)
        else:
            chosen = trace.select(process=process, replayer=r)
    except UsageError as exc:
        raise UsageError(f"{label}: {exc}") from None
    return list(chosen or [])


def _summary_order(r: "Replayer") -> list[Any]:
    seen: set[int] = set()
    out = []
    for sp in r.spaces.values():
        if id(sp) not in seen:
            seen.add(id(sp))
            out.append(sp)
    return out


# -- matching ---------------------------------------------------------------------------------

@dataclass
class _Proc:
    summary: "ProcessSummary"
    exe: str | None
    argv: tuple[str, ...]
    order: int

    @property
    def name(self) -> str:
        return (self.exe or "").rsplit("/", 1)[-1]

    def label(self) -> str:
        if self.exe is None:
            return f"(no exec in the trace, pid {self.summary.asid})"
        args = " ".join(self.argv[1:])
        return self.name + (f" {args}" if args else "")


def _id(value: Any) -> int | None:
    """A pid or space id of a table cell: None for a missing one (None, NaN or pandas' NA)."""
    import pandas as pd

    return None if value is None or bool(pd.isna(value)) else int(value)


def _procs(run: Run) -> list[_Proc]:
    """The compared processes with their program and argv, in creation order (the order their
    first event appears)."""
    df = run.trace.df
    tl = run.timeline
    argv: dict[Any, tuple[str, ...]] = {}
    if len(tl):
        execs = tl[tl["syscall"].isin(["execve", "execveat"])]
        if len(execs):
            by_seq = df.set_index("seq")
            for seq, asid in zip(execs["seq"], execs["asid"]):
                try:
                    args = str(by_seq.at[int(seq), "args"])
                except KeyError:
                    continue
                _, parts = exec_argv(args)
                argv[_id(asid)] = tuple(a for a, _ in parts)
    first: dict[Any, int] = {}
    if len(tl):
        for asid, seq in zip(tl["asid"], tl["seq"]):
            key = _id(asid)
            if key not in first:
                first[key] = int(seq)
    procs = [_Proc(p, p.exe, argv.get(p.asid, ()), first.get(p.asid, 1 << 62)) for p in run.processes]
    procs.sort(key=lambda p: (p.order, -1 if p.summary.asid is None else p.summary.asid))
    return procs


def _match_processes(before: list[_Proc], after: list[_Proc]) -> tuple[list[tuple[_Proc, _Proc, str]],
                                                                        list[_Proc], list[_Proc]]:
    """Pairs (with how they matched), the gone and the new: exact program and argv first, then
    the same program name and arguments (another folder), then the program name alone; among
    equals, in creation order. Different programs never pair (one is new, the other gone)."""
    left = list(before)
    right = list(after)
    pairs: list[tuple[_Proc, _Proc, str]] = []
    keys = (
        ("path and argv", lambda p: (p.exe, p.argv)),
        ("program name and arguments", lambda p: (p.name, p.argv[1:])),
        ("program name", lambda p: p.name),
    )
    for how, key in keys:
        queues: dict[Any, list[_Proc]] = {}
        for p in right:
            queues.setdefault(key(p), []).append(p)
        rest: list[_Proc] = []
        for p in left:
            q = queues.get(key(p))
            if q:
                other = q.pop(0)
                pairs.append((p, other, how))
                right.remove(other)
            else:
                rest.append(p)
        left = rest
    pairs.sort(key=lambda t: t[1].order)
    return pairs, left, right


def _size_class(size: int) -> int:
    """The power of two at or below ``size`` (4 KiB for 4-8 KiB ...)."""
    return 1 << (max(int(size), 1).bit_length() - 1)


def _made(run: Run) -> dict[int | None, list[dict[str, Any]]]:
    """The mappings each process made (mmap, mmap2, shmat rows of the timeline), in order: one
    pass over the timeline for all processes."""
    tl = run.timeline
    out: dict[int | None, list[dict[str, Any]]] = {}
    if not len(tl):
        return out
    rows = tl[tl["syscall"].isin(list(_MAKERS)) & tl["start"].notna()]
    for seq, start, end, role, pid, asid in zip(rows["seq"], rows["start"], rows["end"], rows["role"], rows["pid"],
                                                rows["asid"]):
        size = int(end) - int(start)
        if size <= 0:
            continue
        found = run.event(int(seq))
        line, text = found if found is not None else (None, "")
        key = _id(asid)
        out.setdefault(key, []).append({"role": str(role), "size": size, "line": line, "text": text,
                                        "pid": _id(pid)})
    return out


def _match_regions(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                                                      list[dict[str, Any]]]:
    """The mappings of one side only: (gone, new), each with its index within (role, class)."""
    def groups(made: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
        out: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for m in made:
            out.setdefault((m["role"], _size_class(m["size"])), []).append(m)
        return out

    b, a = groups(before), groups(after)
    gone: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for key in sorted(set(b) | set(a)):
        mb, ma = b.get(key, []), a.get(key, [])
        for i, m in enumerate(mb[len(ma):], start=len(ma)):
            gone.append({**m, "nth": i + 1, "size_class": key[1]})
        for i, m in enumerate(ma[len(mb):], start=len(mb)):
            new.append({**m, "nth": i + 1, "size_class": key[1]})
    return gone, new


# -- phases that a capture cannot show -------------------------------------------------------

#: The phase-rule calls a capture filter leaves out (a -e trace=memory,process capture has none)
#: while a program doing the same work makes them: absent from one run only, they say more
#: about the capture than about the program. (A clone, an exit_group or an execve absent from one
#: run is the program's own difference: a %process filter keeps them.)
FILTERED_CALLS = frozenset({"openat", "open", "socket", "bind", "listen", "accept", "accept4", "connect"})

_RULE_SYSCALLS: dict[str, frozenset[str]] = {
    str(rule["phase"]): frozenset(rule["syscalls"]) for rule in PHASE_RULES if "syscalls" in rule}


def _detectable(phase: str, syscalls: frozenset[str]) -> bool:
    """Whether a trace holding these syscalls can show the phase at all (a rule's syscalls
    absent from the whole trace: a filtered capture). ``main`` is also found without sockets
    (after the loader, at the script's open) and is only undetectable with neither."""
    need = _RULE_SYSCALLS.get(phase)
    if need is None or not need & FILTERED_CALLS:
        return True   # a rule on memory or process calls: their absence is the program's own
    if phase == "main":
        return bool(need & syscalls) or bool({"openat", "open", "mmap", "mmap2"} & syscalls)
    return bool(need & syscalls)


_EVIDENCE_CALL = re.compile(r": line \d+: ([A-Za-z_][A-Za-z0-9_]*)\(")


def _evidence_call(evidence: str) -> str | None:
    """The syscall of the event a phase starts at (its evidence: "WHY: line N: CALL(...) = R")."""
    m = _EVIDENCE_CALL.search(evidence)
    return m.group(1) if m else None


_LINE_REF = re.compile(r"\s*\(line \d+[^)]*\)")


def _rule_of(evidence: str) -> str:
    """The rule a phase start came from: the evidence text before its line number, without the
    line references inside it ("... the dynamic loader's end (line 29, munmap of ...)")."""
    return _LINE_REF.sub("", evidence.split(": line", 1)[0]).strip()


# -- the comparison ---------------------------------------------------------------------------

def compare(before: Side, after: Side, *, process: str | None = None, overcommit: str = "heuristic",
            uncharge_unfaulted: bool = False) -> Comparison:
    """Compare two runs (each a :class:`~tracemem.trace.Trace`, a path, a glob, a directory of a
    ``-ff`` set, or a list of files): see the module's documentation for how they are matched.
    ``process`` (a program name or glob, or a pid) compares that process of each run only."""
    b = before if isinstance(before, Run) else load_run(before, "before", process=process, overcommit=overcommit,
                                                        uncharge_unfaulted=uncharge_unfaulted)
    a = after if isinstance(after, Run) else load_run(after, "after", process=process, overcommit=overcommit,
                                                      uncharge_unfaulted=uncharge_unfaulted)
    return compare_runs(b, a)


def compare_runs(b: Run, a: Run) -> Comparison:
    """The comparison of two loaded runs."""
    import pandas as pd

    notes = _capture_notes(b, a)
    pb, pa = _procs(b), _procs(a)
    pairs, gone, new = _match_processes(pb, pa)

    totals = _totals(b, a)
    # processes
    prow: list[dict[str, Any]] = []
    for x, y, how in pairs:
        prow.append(_proc_row("both", x, y, how))
    for x in gone:
        prow.append(_proc_row("gone", x, None, ""))
    for y in new:
        prow.append(_proc_row("new", None, y, ""))
    pcols = ["process", "status", "matched_by", "pid_before", "pid_after"] + _metric_columns(PROCESS_METRICS)
    processes = _sorted(pd.DataFrame(prow, columns=pcols), PROCESS_METRICS)

    # phases: per matched pair by (name, n); summed per name
    phase_acc: dict[str, dict[str, Any]] = {}

    def acc(name: str) -> dict[str, Any]:
        return phase_acc.setdefault(name, {"phase": name, "status": set(), "why": set(),
                                          **{f"{m}_{s}": 0 for m in PHASE_METRICS for s in ("before", "after")}})

    for x, y, _ in pairs:
        runs_b = _phase_runs(x.summary)
        runs_a = _phase_runs(y.summary)
        for key in sorted(set(runs_b) | set(runs_a), key=lambda k: (_phase_order(k[0]), k[1])):
            name = key[0]
            rec = acc(name)
            ph_b, ph_a = runs_b.get(key), runs_a.get(key)
            if ph_b is not None and ph_a is not None:
                rec["status"].add("both")
                if _rule_of(ph_b.evidence) != _rule_of(ph_a.evidence):
                    rec["why"].add(f"found by different rules ({_rule_of(ph_b.evidence)} / "
                                   f"{_rule_of(ph_a.evidence)}): the runs' phases have different bounds")
            else:
                present, side, other = (ph_a, "before", b) if ph_b is None else (ph_b, "after", a)
                assert present is not None
                call = _evidence_call(present.evidence)
                if call is not None and call in FILTERED_CALLS and call not in other.syscalls:
                    rec["status"].add("not comparable")
                    rec["why"].add(f"the {side} trace has no {call} call at all (a filtered capture?): "
                                   f"it cannot show the start the other run's {name} phase has")
                elif not _detectable(name, other.syscalls):
                    rec["status"].add("not comparable")
                    rec["why"].add(_cannot_show(side, name))
                else:
                    rec["status"].add("new" if ph_b is None else "gone")
            for m in PHASE_METRICS:
                if ph_b is not None:
                    rec[f"{m}_before"] += int(getattr(ph_b, m))
                if ph_a is not None:
                    rec[f"{m}_after"] += int(getattr(ph_a, m))
    prows = []
    for name in sorted(phase_acc, key=_phase_order):
        rec = phase_acc[name]
        statuses = rec.pop("status")
        status = ("not comparable" if "not comparable" in statuses else "both" if "both" in statuses
                  else "new" if statuses == {"new"} else "gone" if statuses == {"gone"} else "both")
        rec["status"] = status
        whys = sorted(rec["why"])
        rec["why"] = "; ".join(whys[:3]) + (f"; and {len(whys) - 3} more reasons" if len(whys) > 3 else "")
        _changes(rec, PHASE_METRICS)
        prows.append(rec)
    phases = pd.DataFrame(prows, columns=["phase", "status", *_metric_columns(PHASE_METRICS), "why"])

    # roles: final state, summed over the compared processes (matched or not: the whole run)
    rb = _role_totals(b.processes)
    ra = _role_totals(a.processes)
    rrows = []
    for role in sorted(set(rb) | set(ra)):
        rec = {"role": role, "status": "both" if role in rb and role in ra else "gone" if role in rb else "new"}
        for m in ROLE_METRICS:
            rec[f"{m}_before"] = rb.get(role, {}).get(m, 0)
            rec[f"{m}_after"] = ra.get(role, {}).get(m, 0)
        _changes(rec, ROLE_METRICS)
        rrows.append(rec)
    roles = _sorted(pd.DataFrame(rrows, columns=["role", "status", *_metric_columns(ROLE_METRICS)]),
                    ("vsz", "reserved", "committed"))

    # the mappings made in one run only, within matched processes
    reg: list[dict[str, Any]] = []
    made_b, made_a = _made(b), _made(a)
    for x, y, _ in pairs:
        g, n = _match_regions(made_b.get(x.summary.asid, []), made_a.get(y.summary.asid, []))
        for made in g:
            reg.append({"status": "gone", "process": x.label(), **made})
        for made in n:
            reg.append({"status": "new", "process": y.label(), **made})
    rcols = ["status", "process", "role", "size", "size_class", "nth", "pid", "line", "text"]
    regions = pd.DataFrame(reg, columns=rcols)
    if len(regions):
        regions = regions.sort_values(["size", "status", "line"], ascending=[False, True, True],
                                      kind="stable").reset_index(drop=True)
    if gone or new:
        notes.append(f"{len(new)} process(es) only in the after run, {len(gone)} only in the before run "
                     "(matched by program and argv, not pid): their memory is in the totals")
    return Comparison(b, a, totals, phases, roles, processes, regions, notes)


def _phase_order(name: str) -> int:
    order = [str(r["phase"]) for r in PHASE_RULES]
    return order.index(name) if name in order else len(order)


def _phase_runs(p: "ProcessSummary") -> dict[tuple[str, int], Any]:
    out: dict[tuple[str, int], Any] = {}
    count: dict[str, int] = {}
    for ph in p.phases:
        n = count.get(ph.name, 0)
        count[ph.name] = n + 1
        out[(ph.name, n)] = ph
    return out


def _cannot_show(side: str, phase: str) -> str:
    need = sorted(_RULE_SYSCALLS.get(phase, ()))
    return (f"the {side} trace has no {', '.join(need)} call at all (a filtered capture?): "
            f"it cannot show the {phase} phase")


def _metric_columns(metrics: Iterable[str]) -> list[str]:
    return [f"{m}_{s}" for m in metrics for s in ("before", "after", "change", "change_pct")]


def _changes(rec: dict[str, Any], metrics: Iterable[str]) -> None:
    for m in metrics:
        before, after = int(rec.get(f"{m}_before") or 0), int(rec.get(f"{m}_after") or 0)
        rec[f"{m}_change"] = after - before
        rec[f"{m}_change_pct"] = None if before == 0 else round(100.0 * (after - before) / before, 3)


def _sorted(df: "pd.DataFrame", metrics: Sequence[str]) -> "pd.DataFrame":
    """Rows by the size of their largest byte change, largest first."""
    if not len(df):
        return df
    cols = [f"{m}_change" for m in metrics if m not in COUNTS]
    key = df[cols].abs().max(axis=1)
    return df.assign(_k=key).sort_values("_k", ascending=False, kind="stable").drop(columns="_k").reset_index(drop=True)


def _proc_row(status: str, x: _Proc | None, y: _Proc | None, how: str) -> dict[str, Any]:
    shown = y if y is not None else x
    rec: dict[str, Any] = {"process": shown.label() if shown is not None else "", "status": status, "matched_by": how,
                           "pid_before": x.summary.asid if x else None, "pid_after": y.summary.asid if y else None}
    for m in PROCESS_METRICS:
        rec[f"{m}_before"] = int(getattr(x.summary, m)) if x else 0
        rec[f"{m}_after"] = int(getattr(y.summary, m)) if y else 0
    _changes(rec, PROCESS_METRICS)
    return rec


def _role_totals(processes: Sequence["ProcessSummary"]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for p in processes:
        for r in p.roles:
            acc = out.setdefault(r.role, {m: 0 for m in ROLE_METRICS})
            acc["vsz"] += r.vsz
            acc["reserved"] += r.reserved
            acc["committed"] += r.committed
            acc["regions"] += r.regions
    return out


def _totals(b: Run, a: Run) -> "pd.DataFrame":
    import pandas as pd

    def figures(run: Run) -> dict[str, int]:
        ps = run.processes
        out = {m: sum(int(getattr(p, m)) for p in ps) for m in TOTAL_METRICS if m not in ("peak_vsz", "processes")}
        out["peak_vsz"] = max((int(p.peak_vsz) for p in ps), default=0) if len(ps) <= 1 else _peak_sum(run)
        out["processes"] = len(ps)
        return out

    fb, fa = figures(b), figures(a)
    rows = []
    for m in TOTAL_METRICS:
        rec = {"metric": m, "before": fb[m], "after": fa[m]}
        rec["change"] = fa[m] - fb[m]
        rec["change_pct"] = None if fb[m] == 0 else round(100.0 * (fa[m] - fb[m]) / fb[m], 3)
        rows.append(rec)
    return pd.DataFrame(rows, columns=["metric", "before", "after", "change", "change_pct"])


def run_series(run: Run, column: str) -> "pd.DataFrame":
    """The run's ``column`` (vsz, committed ...) summed over its compared spaces after every
    change: columns x (seconds, or the event number when the trace has no times), seq, value."""
    import numpy as np
    import pandas as pd

    from .space.replay import space_changes

    tl = run.timeline
    if not len(tl):
        return pd.DataFrame({"x": [], "seq": [], "value": []})
    part, changes = space_changes(tl, run.spaces, column)
    total = np.cumsum(changes)   # the sum over spaces after every row
    timed = part["time"].notna().all() and len(part)
    x = part["time"].to_numpy(float) if timed else part["seq"].to_numpy(float)
    return pd.DataFrame({"x": x, "seq": part["seq"].to_numpy(np.int64), "value": total})


def _peak_sum(run: Run) -> int:
    s = run_series(run, "vsz")
    return int(s["value"].max()) if len(s) else 0


def _capture_notes(b: Run, a: Run) -> list[str]:
    """What the two captures' differences limit."""
    notes: list[str] = []
    for side, run, other in (("before", b, a), ("after", a, b)):
        missing = sorted((other.syscalls - run.syscalls) & FILTERED_CALLS)
        if missing:
            notes.append(f"the {side} trace has no {', '.join(missing)} call and the other has: if both runs did "
                         "the same work, it was captured with a filter (e.g. -e trace=memory,process); phases "
                         "found by these calls are not comparable")
    if (b.summary.time_kind is None) != (a.summary.time_kind is None):
        notes.append("one trace has timestamps and the other not: the chart's x axis is the event number")
    if b.summary.baseline != a.summary.baseline:
        notes.append("one run has an exec-time baseline and the other not: VSZ against traced VSZ")
    if b.summary.from_dtruss != a.summary.from_dtruss:
        notes.append("one trace is a macOS dtruss log and the other a Linux strace log: roles and "
                     "phases differ by platform")
    return notes


# -- the --fail-on gate -----------------------------------------------------------------------

GATE_FORM = ("[PHASE:|role:ROLE:]METRIC(>|<)[+|-]NUMBER[%|B|KiB|MiB|GiB|TiB], e.g. committed>+10%, "
             "vsz>+256MiB, runtime-init:reserved>+5%, 'role:glibc malloc arena:committed>+32MiB', "
             "map_count>+50 (a sign: the change; no sign: the after run's level)")
_GATE = re.compile(
    r"^\s*(?:role:(?P<role>.+?):|(?P<phase>[A-Za-z][\w-]*):)?(?P<metric>[a-z_]+)\s*(?P<op>[<>])\s*"
    r"(?P<sign>[+-])?(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>%|[KMGT]i?B|[kKMGT]|B)?\s*$")
_UNITS = {"B": 1, "K": 1024, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "TiB": 1024 ** 4, "KB": 1000,
          "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3, "TB": 1000 ** 4, "M": 1024 ** 2, "G": 1024 ** 3,
          "T": 1024 ** 4, "k": 1024}


@dataclass(frozen=True)
class Gate:
    """One --fail-on threshold."""

    text: str
    kind: str             # total, phase, role
    scope: str | None
    metric: str
    op: str               # > or <
    value: float          # bytes or count (absolute), or percent (relative)
    relative: bool
    change: bool          # signed: the change; unsigned: the after run's level

    def check(self, cmp: Comparison) -> str | None:
        """None when the threshold holds; else one line saying which and by how much."""
        fig = cmp.value(self.metric, self.scope, self.kind)
        where = self.metric if self.kind == "total" else f"{self.scope}:{self.metric}" if self.kind == "phase" \
            else f"role:{self.scope}:{self.metric}"
        def unit(v: float) -> str:
            return (f"{int(v):+,}" if v else "0") if self.metric in COUNTS else _signed_h(int(v))

        if fig.status == "not comparable":
            return f"{self.text}: cannot be checked: {where} is not comparable ({fig.why})"
        if not self.change:
            level = fig.after   # (parse_gate refuses a percentage without a sign)
            crossed = level > self.value if self.op == ">" else level < self.value
            if crossed:
                shown = f"{level:,}" if self.metric in COUNTS else human(level)
                limit = f"{int(self.value):,}" if self.metric in COUNTS else human(self.value)
                return f"{self.text}: {where} is {shown} in the after run ({'above' if self.op == '>' else 'below'} {limit})"
            return None
        if self.relative:
            pct = fig.change_pct
            if pct is None:
                pct = float("inf") if fig.change > 0 else float("-inf") if fig.change < 0 else 0.0
            crossed = pct > self.value if self.op == ">" else pct < self.value
            amount = "from nothing" if fig.before == 0 else f"{pct:+.1f}%"
        else:
            crossed = fig.change > self.value if self.op == ">" else fig.change < self.value
            amount = unit(fig.change)
        if not crossed:
            return None
        before = f"{fig.before:,}" if self.metric in COUNTS else human(fig.before)
        after = f"{fig.after:,}" if self.metric in COUNTS else human(fig.after)
        limit = f"{self.value:+g}%" if self.relative else unit(self.value)
        detail = f"{unit(fig.change)}: {before} -> {after}" if self.relative else f"{before} -> {after}"
        return f"{self.text}: {where} changed {amount} ({detail}; the limit is {limit})"


def _signed_h(n: int) -> str:
    return ("+" if n > 0 else "-" if n < 0 else "") + human(abs(n))


def parse_gate(text: str) -> Gate:
    """A --fail-on expression (GATE_FORM); UsageError showing the accepted form otherwise."""
    m = _GATE.match(text)
    if m is None:
        raise UsageError(f"--fail-on {printable(text)!r}: not an expression of the form {GATE_FORM}")
    role, phase, metric = m.group("role"), m.group("phase"), m.group("metric")
    kind = "role" if role is not None else "phase" if phase is not None else "total"
    allowed = {"total": TOTAL_METRICS, "phase": PHASE_METRICS, "role": ROLE_METRICS}[kind]
    if metric not in allowed:
        raise UsageError(f"--fail-on {printable(text)!r}: unknown {'' if kind == 'total' else kind + ' '}metric "
                         f"{metric!r} (one of {', '.join(allowed)}); the form is {GATE_FORM}")
    unit = m.group("unit")
    relative = unit == "%"
    number = float(m.group("num"))
    if not relative:
        if metric in COUNTS and unit not in (None,):
            raise UsageError(f"--fail-on {printable(text)!r}: {metric} is a count: no unit (e.g. {metric}>+50)")
        number *= _UNITS.get(unit or "B", 1)
    sign = m.group("sign")
    value = -number if sign == "-" else number
    if relative and sign is None:
        raise UsageError(f"--fail-on {printable(text)!r}: a percentage needs a sign (+ or -): the change; "
                         f"the form is {GATE_FORM}")
    return Gate(text, kind, role if role is not None else phase, metric, m.group("op"), value, relative,
                sign is not None)


def check_gates(cmp: Comparison, gates: Sequence[Gate]) -> list[str]:
    """The crossed thresholds, one line each (empty: all hold)."""
    out = []
    for g in gates:
        line = g.check(cmp)
        if line is not None:
            out.append(line)
    return out


__all__ = ["Comparison", "Figure", "GATE_FORM", "Gate", "Run", "check_gates", "compare", "compare_runs",
           "load_run", "parse_gate", "run_series", "side_paths"]
