"""Postmortem reports: one file (HTML or Markdown) or a terminal page that says in plain words what
a traced run did to its address spaces, with the evidence (trace lines) and the charts inside.

:func:`build_report` computes a :class:`Report` (plain data: sections of paragraphs, tables and
SVG charts; every string from the trace kept raw), and the writers render it:
:func:`write_html` (one self-contained file, inline SVG and CSS, no script, nothing fetched),
:func:`write_markdown` (the charts as SVG files beside the .md, linked by relative paths) and
:func:`print_report` (the verdict and the key tables on a rich Console). Trace text is escaped by
each renderer for its own syntax (``html_text``, ``md_text``, ``tables.cell``).
"""

from __future__ import annotations

import html
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, Union

from ..errors import OutputError, UsageError
from ..text import human, printable, signed
from ..verdict import SpaceFacts, Statement, creator_seqs, verdict

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from rich.console import Console

    from ..compare import Comparison, Run
    from ..space.kernelmaps import KernelRegion
    from ..space.replay import Replayer
    from ..summary import ProcessSummary, RunSummary
    from ..trace import Baseline, Trace

#: Address spaces that get a section of their own (verdict, phases, regions); the rest: one table.
SPACES = 3
#: Rows of a cut table (the rest summed in a last row).
TOP = 12
#: VSZ steps per chart panel that carry a hover title (the largest changes).
HOVER_STEPS = 40
MEMORY_CALLS = frozenset(("mmap", "mmap2", "munmap", "mprotect", "pkey_mprotect", "madvise", "process_madvise",
                          "brk", "mremap", "mseal", "mlock", "mlock2", "munlock", "shmat", "shmdt", "prctl",
                          "clone", "clone3", "fork", "vfork", "execve", "execveat"))

#: One sentence per role: what the role means.
ROLE_MEANINGS = {
    "Go runtime reservation": "the Go runtime reserves PROT_NONE address space up front for its heap index, page "
                              "cache and other metadata; it costs no memory until parts are made accessible.",
    "Go heap arena": "the Go runtime reserves address space for its heap in 64 MiB arenas up front and commits "
                     "it as the heap grows.",
    "Go heap": "the part of a Go heap arena the runtime has made accessible (committed).",
    "Go runtime": "memory the Go runtime made accessible for its own structures.",
    "glibc arena reservation": "a glibc malloc arena's 64 MiB reservation (PROT_NONE) that malloc makes accessible "
                               "as the arena grows; glibc makes one per thread that finds the other arenas busy.",
    "glibc malloc arena": "the accessible part of a glibc malloc arena (heap of a thread).",
    "heap": "the brk heap (glibc's main malloc arena), charged as it grows.",
    "thread stack": "a thread's stack (MAP_STACK or a pthread stack), charged in full at creation.",
    "thread stack guard": "the PROT_NONE guard page below a thread stack.",
    "shared library": "a shared object mapped by the loader (file-backed; its writable data is charged).",
    "executable": "the program's own binary mapped from its file.",
    "file": "a file mapped into memory (page cache; charged only where private and writable).",
    "anonymous": "private anonymous memory with no more specific role (malloc's large blocks, runtimes' "
                 "own allocations).",
    "shared anonymous": "MAP_SHARED|MAP_ANONYMOUS memory (shmem), charged at mapping.",
    "SysV shared memory": "a System V shared memory segment attached with shmat.",
    "JVM heap reservation": "the Java heap's reservation, sized by -Xmx or by the JVM's ergonomics; committed as "
                            "the heap grows.",
    "JVM heap": "the committed part of the Java heap.",
    "JVM class space reservation": "HotSpot's compressed class space (1 GiB by default), reserved up front.",
    "JVM class space": "the committed part of the compressed class space.",
    "JVM code cache reservation": "HotSpot's code cache for compiled code (240 MiB by default), reserved up front.",
    "JVM code cache": "the committed part of the code cache.",
    "JVM reservation": "address space HotSpot reserved for one of its own areas.",
    "V8 pointer-compression cage reservation": "V8's pointer-compression cage: a fixed reservation the JavaScript "
                                              "heap is placed in.",
    "reservation (NORESERVE)": "address space mapped with MAP_NORESERVE: not charged, backed only when touched.",
    "grows down (extends invisibly on faults)": "a MAP_GROWSDOWN region, which the kernel extends on faults the "
                                                "trace cannot see.",
}


# -- the report's data --------------------------------------------------------------------------

@dataclass
class Para:
    """A paragraph (raw text; ``refs``: the trace lines behind it, "line 17")."""

    text: str
    refs: list[str] = field(default_factory=list)
    kind: str = "fact"


@dataclass
class Table:
    """A table of raw cell strings; ``numeric`` columns are right-aligned."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)
    note: str = ""


@dataclass
class Chart:
    """An SVG chart (its text) and what it shows."""

    name: str
    svg: str
    alt: str


Block = Union[Para, Table, Chart]


@dataclass
class Section:
    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)


#: The sections, in the issue's order (comparison only with a baseline run).
SECTION_ORDER = (("verdict", "Verdict"), ("chart", "VSZ over time and phases"),
                 ("regions", "Largest regions and their roles"),
                 ("activity", "madvise, failed calls and processes"),
                 ("comparison", "Comparison with the baseline run"),
                 ("accounting", "Parse accounting and what the trace cannot show"))


@dataclass
class Report:
    title: str
    files: list[str]
    vsz_label: str
    sections: list[Section]
    facts: dict[int | None, list[Statement]] = field(default_factory=dict)   # verdict per space

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)


# -- building -----------------------------------------------------------------------------------

class _Lines:
    """seq -> "line N" (or "file:N" when the trace has several files) and the event's text."""

    def __init__(self, df: "pd.DataFrame", files: Sequence[str]) -> None:
        self.df = df
        self.many = len(files) > 1
        self._by_seq: "pd.DataFrame | None" = None

    def _table(self) -> "pd.DataFrame":
        if self._by_seq is None:
            self._by_seq = self.df.set_index("seq", drop=False)
        return self._by_seq

    def ref(self, seq: int | None) -> str:
        if seq is None:
            return ""
        t = self._table()
        if seq not in t.index:
            return f"event {seq}"
        row: Any = t.loc[seq]
        return f"{row['file']}:{int(row['line'])}" if self.many else f"line {int(row['line'])}"

    def text(self, seq: int) -> str:
        t = self._table()
        if seq not in t.index:
            return ""
        row: Any = t.loc[seq]
        ret = row["ret_text"]
        return f"{row['syscall']}({row['args']}) = {'?' if _na(ret) else ret}"


def _na(v: Any) -> bool:
    import pandas as pd

    return v is None or bool(pd.isna(v))


def _cut(rows: list[list[str]], sizes: list[int], top: int, what: str, sum_col: int | None) -> tuple[list[list[str]], str]:
    """The first ``top`` rows and a note on the rest (their count and, for ``sum_col``, bytes)."""
    if len(rows) <= top:
        return rows, ""
    rest = sizes[top:]
    note = f"{len(rows) - top} more {what} not listed"
    if sum_col is not None:
        note += f" ({human(sum(rest))} together)"
    return rows[:top], note


def build_report(trace: "Trace", summary: "RunSummary | None" = None, *, baseline: "Baseline" = None,
                 phases: Sequence[str] = (), pids: Sequence[int] | None = None, process: str | None = None,
                 replayer: "Replayer | None" = None, comparison: "Comparison | None" = None,
                 top: int = TOP, spaces: int = SPACES, charts: bool = True) -> Report:
    """The report of a trace (see the module docstring). ``summary`` and ``replayer``: the run's
    summary and the replay it came from (made here when not given); ``pids``/``process``: only
    those address spaces in the per-space sections and the chart; ``comparison``: the comparison
    with a baseline run (:func:`tracemem.compare.compare_runs`), which adds its section."""
    from ..summary import summarize

    r = replayer if replayer is not None else trace.replayer(baseline)
    if summary is None:
        summary = summarize(trace, baseline, phases=phases, replayer=r)
    timeline = r.frame()
    lines = _Lines(trace.df, summary.files)
    chosen = trace.select(list(pids) if pids else None, process, r)
    procs = summary.processes if chosen is None else [p for p in summary.processes if p.asid in set(chosen)]
    if not procs:
        raise UsageError("nothing to report: the trace has no address space (no memory or process call the "
                         "model reads); was it captured with a filter such as -e trace=%network?")
    main = procs[:max(1, spaces)]
    t0 = trace.start_time()
    label = summary.vsz_label
    title = ", ".join(Path(f).name for f in summary.files[:3]) + (" ..." if len(summary.files) > 3 else "")
    report = Report(title=title, files=list(summary.files), vsz_label=label, sections=[])

    # 1. verdict
    sec = Section("verdict", "Verdict")
    if len(procs) > 1:
        vsz = sum(p.vsz for p in procs)
        com = sum(p.committed for p in procs)
        res = sum(p.reserved for p in procs)
        sec.blocks.append(Para(f"The trace shows {len(procs)} address spaces (processes): together {label} "
                               f"{human(vsz)} at the end, {human(res)} of it reserved (PROT_NONE) and "
                               f"{human(com)} committed. The {len(main)} largest follow, largest first."))
    by_asid = {sp.asid: sp for sp in r.spaces.values()}
    for p in main:
        facts = _facts(p, by_asid, timeline, trace.df)
        stmts = verdict(facts, label)
        report.facts[p.asid] = stmts
        sec.blocks.append(Para(_who(p), kind="heading"))
        for st in stmts:
            sec.blocks.append(Para(st.text, [lines.ref(q) for q in st.seqs], st.kind))
    report.sections.append(sec)

    # 2. chart and phases
    sec = Section("chart", "VSZ over time and phases")
    if charts:
        fig = _vsz_chart(trace, r, summary, [p.asid for p in main] if chosen is not None or len(procs) > 1 else None)
        sec.blocks.append(Chart("vsz", _svg(fig, timeline, [p.asid for p in main], lines, t0),
                                f"{label} over time, stacked committed / reserved / file-backed / other, phases "
                                "shaded; hover a dot for the call behind a step"))
    for p in main:
        rows = []
        for ph in p.phases:
            start = "" if ph.start_time is None or t0 is None else f"{ph.start_time - t0:.3f}"
            dur = ("" if ph.start_time is None or ph.end_time is None else f"{ph.end_time - ph.start_time:.3f}")
            rows.append([ph.name, start, dur, signed(ph.vsz), signed(ph.reserved), signed(ph.committed), ph.evidence])
        unit = "s" if t0 is not None else "seq"
        sec.blocks.append(Table(f"Phases of {_who(p)}", ["phase", f"start ({unit})", f"duration ({unit})", "ΔVSZ",
                                                        "Δreserved", "Δcommitted", "evidence"],
                                rows, {1, 2, 3, 4, 5},
                                note="" if rows else "no phase detected in this address space"))
    notes = [n for n in summary.notes if "no evidence" in n]
    for n in notes[:top]:
        sec.blocks.append(Para(n, kind="note"))
    report.sections.append(sec)

    # 3. regions and roles
    sec = Section("regions", "Largest regions and their roles")
    seen_roles: list[str] = []
    for p in main:
        facts = _facts(p, by_asid, timeline, trace.df)
        rows = []
        for reg in p.largest[:top]:
            made = creator_seqs(facts, [_Reg(reg.start, reg.end)], limit=1)
            where = f"{lines.ref(made[0])}: {lines.text(made[0])}" if made else "(not made by a traced call)"
            rows.append([f"{reg.start:x}-{reg.end:x}", human(reg.size), reg.perms, reg.role, reg.path or "", where])
        sec.blocks.append(Table(f"Largest regions of {_who(p)}", ["range", "size", "perms", "role", "path",
                                                                 "made by (the call behind its first page)"], rows, {1},
                                note=f"{p.map_count} mappings in all" if p.map_count > len(rows) else ""))
        rrows = [[t.role, str(t.regions), human(t.vsz), human(t.reserved), human(t.committed)] for t in p.roles]
        cut, note = _cut(rrows, [t.vsz for t in p.roles], top, "roles", 2)
        sec.blocks.append(Table(f"Bytes per role of {_who(p)}", ["role", "regions", "VSZ", "reserved", "committed"],
                                cut, {1, 2, 3, 4}, note))
        seen_roles += [t.role for t in p.roles if t.role not in seen_roles]
    meanings = [[role, ROLE_MEANINGS.get(role, "a role named by the program (PR_SET_VMA_ANON_NAME) or by a "
                                         "stack frame (-k).")] for role in seen_roles]
    sec.blocks.append(Table("What each role means", ["role", "meaning"], meanings))
    report.sections.append(sec)

    # 4. madvise, failed calls, processes
    sec = Section("activity", "madvise, failed calls and processes")
    sec.blocks += _madvise(trace.df, procs, lines, top, r.frame(), [p.asid for p in procs])
    sec.blocks += _failed(trace.df, lines, top)
    sec.blocks.append(_process_table(trace.df, r, procs, lines, top))
    report.sections.append(sec)

    # 5. comparison
    if comparison is not None:
        report.sections.append(_comparison(comparison, top, charts))

    # 6. accounting
    report.sections.append(_accounting(trace, summary, top))
    return report


@dataclass
class _Reg:
    start: int
    end: int


def _who(p: "ProcessSummary") -> str:
    name = (p.exe or "").rsplit("/", 1)[-1]
    pid = "the process without a pid" if p.asid is None else f"process {p.asid}"
    return f"{pid} ({name})" if name else f"{pid} (its program is not in the trace)"


def _facts(p: "ProcessSummary", by_asid: dict[int | None, Any], timeline: "pd.DataFrame",
           df: "pd.DataFrame") -> SpaceFacts:
    from ..phases import exec_argv

    sp = by_asid.get(p.asid)
    regions = list(sp.space.regions) if sp is not None else []
    rows = (timeline[timeline["asid"] == p.asid] if p.asid is not None
            else timeline[timeline["asid"].isna()]).sort_values("seq", kind="stable")
    execs = rows[rows["syscall"].astype(str).isin(("execve", "execveat"))]
    argv: list[str] = []
    exec_seq = None
    if len(execs):
        exec_seq = int(execs["seq"].iloc[-1])
        hit = df.loc[df["seq"] == exec_seq, "args"]
        if len(hit):
            _, args = exec_argv(str(hit.iloc[0]))
            argv = [a for a, _ in args]
    return SpaceFacts(p, regions, rows, argv, exec_seq)


def _vsz_chart(trace: "Trace", r: "Replayer", summary: "RunSummary", chosen: list[int | None] | None) -> "Figure":
    """The chart of ``tracemem plot`` from the replay already made (Trace.plot replays again)."""
    from .plot import vsz_figure

    timeline = r.frame()
    found = [ph for p in summary.processes for ph in p.phases]
    names = {asid: sp.exe for asid, sp in r.spaces.items()}
    df = trace.df
    own = {r.task[int(q)].asid for q in df["pid"].dropna().unique().tolist() if int(q) in r.task}
    if df["pid"].isna().any():
        own.add(None)
    macos = any(f == "dtruss" for f in trace.report.formats.values())
    return vsz_figure(timeline, found, title="", pids=chosen, traced_only=not summary.baseline,
                      t0=trace.start_time(), spans=trace.event_spans(r), names=names, limit=SPACES, macos=macos,
                      untraced=[a for a in r.spaces if a not in own])


def _svg(fig: "Figure", timeline: "pd.DataFrame", asids: list[int | None], lines: _Lines, t0: float | None) -> str:
    """The figure as inline SVG text, each of the largest VSZ steps of each panel marked with a dot
    whose <title> is the call behind it (line, text, role, size)."""
    import matplotlib
    import numpy as np

    from .plot import x_values

    titles: dict[str, str] = {}
    timed = t0 is not None and bool(timeline["time"].notna().all())
    k = 0
    for ax in fig.axes:
        gid = ax.get_gid() or ""
        if not gid.startswith("space:"):
            continue
        asid = int(gid[6:]) if gid[6:] else None
        rows = (timeline[timeline["asid"] == asid] if asid is not None
                else timeline[timeline["asid"].isna()]).sort_values("seq", kind="stable")
        if len(rows) < 1:
            continue
        xs, ok = x_values(rows, t0 if timed else None)
        if ok and len(xs):
            xs = np.maximum.accumulate(xs)
        vsz = rows["vsz"].to_numpy(dtype="int64")
        deltas = np.diff(vsz, prepend=0)
        order = [i for i in np.argsort(-np.abs(deltas), kind="stable")[:HOVER_STEPS].tolist() if deltas[i] != 0]
        xlim, ylim = ax.get_xlim(), ax.get_ylim()
        seqs = rows["seq"].to_numpy(dtype="int64")
        roles = rows["role"].tolist()
        for i in sorted(order):
            seq = int(seqs[i])
            role = roles[i] if isinstance(roles[i], str) else ""
            text = (f"{lines.ref(seq)}: {lines.text(seq)}\nrole: {role}\nΔVSZ {signed(int(deltas[i]))} "
                    f"→ {human(int(vsz[i]))}")
            g = f"tmstep-{k}"
            k += 1
            ax.plot([float(xs[i])], [int(vsz[i])], marker="o", markersize=5, color="#1f2d3d", alpha=0.35,
                    linestyle="none", gid=g, zorder=5)
            titles[g] = text
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    svg = svg[svg.find("<svg"):]
    for g, text in titles.items():
        svg = svg.replace(f'<g id="{g}">', f'<g id="{g}" class="step"><title>{html_text(text)}</title>', 1)
    return _strip_svg(svg)


def _strip_svg(svg: str) -> str:
    """An SVG for inline use: no XML prolog or doctype, metadata dropped, responsive width."""
    svg = svg[svg.find("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    svg = re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r'\1', svg, count=1)
    return svg


def _fig_svg(fig: "Figure") -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg")
    return _strip_svg(buf.getvalue())


def _released_flows(timeline: "pd.DataFrame", asids: Sequence[int | None]) -> tuple[int, dict[str, int]]:
    """Of the spaces ``asids``: the bytes handed back over the run (the rises of the released
    ledger) and, by the call, the released bytes that later stopped being released: mapped again
    over (mmap, mremap), unmapped (munmap), or made released no more by another call."""
    from ..space.replay import space_changes

    if not len(timeline):
        return 0, {}
    part, delta = space_changes(timeline, asids, "released")
    handed = int(delta[delta > 0].sum())
    back: dict[str, int] = {}
    for name, d in zip(part["syscall"].astype(str), delta):
        if d < 0:
            back[name] = back.get(name, 0) - int(d)
    return handed, back


def _madvise(df: "pd.DataFrame", procs: Sequence["ProcessSummary"], lines: _Lines, top: int,
             timeline: "pd.DataFrame | None" = None, asids: Sequence[int | None] = ()) -> list[Block]:
    sub = df[df["syscall"].astype(str).isin(("madvise", "process_madvise")) & df["errno"].isna()]
    released = sum(p.released for p in procs)
    if not len(sub):
        return [Para("No madvise call succeeded in the trace: nothing was handed back"
                     + (f" ({human(released)} released)." if released else "."))]
    rows = []
    groups = []
    from ..table import format_flags

    # the advice by name as the events table decodes it (macOS values by macOS's names); the
    # argument text where a call has no decoded advice
    texts = sub["args"].astype(str).str.extract(r"(MADV_[A-Z_]+|\b\d+\s*$)")[0].fillna("?")
    names = [format_flags("advice", a, platform=str(p)) or t
             for a, p, t in zip(sub["advice"], sub["platform"], texts)]
    import pandas as pd

    for advice, g in sub.groupby(pd.Series(names, index=sub.index), sort=False):
        size = int(g["length"].fillna(0).astype("int64").sum())
        groups.append((size, [str(advice), str(len(g)), human(size),
                              ", ".join(lines.ref(int(q)) for q in g["seq"].head(5)) + (" ..." if len(g) > 5 else "")]))
    groups.sort(key=lambda x: -x[0])
    rows = [row for _, row in groups]
    cut, note = _cut(rows, [s for s, _ in groups], top, "kinds of advice", 2)
    flows = ""
    if timeline is not None:
        handed, back = _released_flows(timeline, asids)
        words = {"mmap": "mapped again over (mmap)", "mmap2": "mapped again over (mmap2)",
                 "mremap": "moved or resized (mremap)", "munmap": "unmapped (munmap)"}
        parts = [f"{human(n)} {words.get(name, 'by ' + name)}" for name, n in sorted(back.items(), key=lambda x: -x[1])]
        flows = (f" Over the run {human(handed)} was handed back"
                 + (f"; of the released bytes, {', '.join(parts)}" if parts else "") + ".")
    return [Para(f"{len(sub)} successful madvise call(s); {human(released)} is released at the end of the trace "
                 "(handed back and not mapped again; the trace cannot see pages faulted back in, so what was "
                 f"repopulated by a touch is not known).{flows}"),
            Table("madvise calls by advice", ["advice", "calls", "bytes advised", "lines"], cut, {1, 2}, note)]


def _failed(df: "pd.DataFrame", lines: _Lines, top: int) -> list[Block]:
    bad = df[df["errno"].notna()]
    mem = bad[bad["syscall"].astype(str).isin(MEMORY_CALLS)]
    other = len(bad) - len(mem)
    if not len(mem):
        return [Para("No memory or process call failed in the trace"
                     + (f" ({other} other calls failed, e.g. opens of missing files)." if other else "."))]
    rows = [[lines.ref(int(q)), str(s), str(e), lines.text(int(q))]
            for q, s, e in zip(mem["seq"], mem["syscall"], mem["errno"])]
    cut, note = _cut(rows, [0] * len(rows), top, "failed calls", None)
    counts = mem.groupby(mem["errno"].astype(str)).size().sort_values(ascending=False)
    said = ", ".join(f"{n} {e}" for e, n in counts.items())
    return [Para(f"{len(mem)} memory or process call(s) failed ({said}); a failed call changes nothing in the "
                 f"model{f'; {other} other calls failed' if other else ''}."),
            Table("Failed memory and process calls", ["line", "syscall", "errno", "call"], cut, note=note)]


def _process_table(df: "pd.DataFrame", r: "Replayer", procs: Sequence["ProcessSummary"], lines: _Lines,
                   top: int) -> Table:
    """Each address space with its parent (the task whose clone/fork returned its pid)."""
    parents: dict[int, int] = {}
    forks = df[df["syscall"].astype(str).isin(("clone", "clone3", "fork", "vfork")) & df["errno"].isna()]
    for pid, ret in zip(forks["pid"], forks["ret"]):
        if not _na(pid) and not _na(ret):
            sp = r.task.get(int(pid))
            parents[int(ret)] = sp.asid if sp is not None and sp.asid is not None else int(pid)
    rows = []
    for p in procs:
        parent = parents.get(p.asid) if p.asid is not None else None
        rows.append(["" if p.asid is None else str(p.asid), "" if parent is None else str(parent), p.exe or "",
                     str(len(p.tasks)), human(p.peak_vsz), human(p.vsz), human(p.committed), p.ended])
    cut, note = _cut(rows, [p.vsz for p in procs], top, "processes", 5)
    if note:
        rest = procs[top:]
        note += (f"; their peak VSZ {human(sum(p.peak_vsz for p in rest))}, committed "
                 f"{human(sum(p.committed for p in rest))}")
    return Table("Processes (address spaces), largest VSZ first", ["pid", "parent", "program", "tasks", "peak VSZ",
                                                                   "VSZ", "committed", "ended"], cut, {3, 4, 5, 6}, note)


def _comparison(cmp: "Comparison", top: int, charts: bool) -> Section:
    sec = Section("comparison", "Comparison with the baseline run")
    b, a = cmp.before, cmp.after
    sec.blocks.append(Para(f"Before: {', '.join(b.trace.report.files)}; after (this trace): "
                           f"{', '.join(a.trace.report.files)}."))
    counts = {"processes", "map_count"}
    rows = []
    for rec in cmp.totals.to_dict("records"):
        m = str(rec["metric"])
        ch = int(rec["change"])
        rows.append([m, _amount(rec["before"], m in counts), _amount(rec["after"], m in counts),
                     (f"{ch:+,}" if m in counts else signed(ch)),
                     _pct(rec.get("change_pct"))])
    sec.blocks.append(Table("Totals", ["metric", "before", "after", "change", "%"], rows, {1, 2, 3, 4}))
    if len(cmp.phases):
        rows = [[str(x["phase"]), str(x["status"]), signed(_int(x.get("vsz_change"))),
                 signed(_int(x.get("reserved_change"))), signed(_int(x.get("committed_change"))), str(x.get("why") or "")]
                for x in cmp.phases.to_dict("records")]
        sec.blocks.append(Table("Phases", ["phase", "status", "ΔVSZ change", "Δreserved change",
                                           "Δcommitted change", "why"], rows, {2, 3, 4}))
    if len(cmp.roles):
        recs = cmp.roles.to_dict("records")
        rows = [[str(x["role"]), str(x["status"]), human(_int(x.get("vsz_before"))), human(_int(x.get("vsz_after"))),
                 signed(_int(x.get("vsz_change"))), signed(_int(x.get("committed_change")))] for x in recs]
        cut, note = _cut(rows, [abs(_int(x.get("vsz_change"))) for x in recs], top, "roles", None)
        sec.blocks.append(Table("Region roles that changed", ["role", "status", "VSZ before", "VSZ after",
                                                              "VSZ change", "committed change"], cut, {2, 3, 4, 5}, note))
    if len(cmp.regions):
        recs = cmp.regions.to_dict("records")
        rows = [[str(x["status"]), str(x["process"]), str(x["role"]), human(_int(x["size"])),
                 f"line {_int(x['line'])}" if not _na(x.get("line")) else "", str(x.get("text") or "")] for x in recs]
        cut, note = _cut(rows, [_int(x["size"]) for x in recs], top, "mappings", 3)
        sec.blocks.append(Table("Mappings made in one run only", ["status", "process", "role", "size", "line", "call"],
                                cut, {3}, note))
    for n in cmp.notes:
        sec.blocks.append(Para(n, kind="note"))
    if charts:
        from .diffplot import diff_figure

        sec.blocks.append(Chart("diff", _fig_svg(diff_figure(cmp)),
                                "VSZ and committed of both runs over time (after strong, before muted); below, each "
                                "role's change"))
    return sec


def _amount(v: Any, count: bool) -> str:
    return f"{_int(v):,}" if count else human(_int(v))


def _int(v: Any) -> int:
    return 0 if _na(v) else int(v)


def _pct(v: Any) -> str:
    return "" if _na(v) else f"{float(v):+.1f}%"


def _accounting(trace: "Trace", summary: "RunSummary", top: int) -> Section:
    sec = Section("accounting", "Parse accounting and what the trace cannot show")
    rep = trace.report
    rows = [["lines", f"{rep.lines:,}"], ["part of an event", f"{rep.parsed:,}"]]
    rows += [[f"skipped: {why}", f"{n:,}"] for why, n in rep.skipped.items()]
    rows += [[f"incomplete: {why}", f"{n:,}"] for why, n in rep.incomplete.items()]
    rows += [["line errors", f"{len(rep.errors):,}"], ["events", f"{rep.events:,}"]]
    sec.blocks.append(Table("Lines of " + ", ".join(rep.files[:3]) + (" ..." if len(rep.files) > 3 else ""),
                            ["what", "count"], rows, {1}))
    if rep.errors:
        erows = [[f"{e.file}:{e.line}", str(e.column), e.reason, e.text] for e in rep.errors[:top]]
        sec.blocks.append(Table("Line errors", ["where", "column", "reason", "text"], erows,
                                note=f"{len(rep.errors) - top} more" if len(rep.errors) > top else ""))
    sec.blocks.append(Table("Capture flags", ["flag", "seen", "what it gives"], _flags(trace.df, summary)))
    for advice in _capture_advice(trace.df, summary):
        sec.blocks.append(Para(advice, kind="advice"))
    cannot = []
    if not summary.baseline:
        cannot.append("the mappings the kernel made at exec (the binary, ld.so, the stack, vdso, vvar): figures are "
                      "traced VSZ; --baseline-maps with a /proc/PID/maps snapshot taken at exec adds them")
    cannot += ["page faults and residency (RSS, PSS): committed is the kernel's charge, not what was touched",
               "tasks and calls the capture did not trace (processes started before an attach, filtered calls)",
               "memory the kernel allocates for the process outside its address space (page tables, socket buffers)"]
    sec.blocks.append(Table("What the trace cannot show", ["cannot show"], [[c] for c in cannot]))
    for n in [n for n in summary.notes if "no evidence" not in n][:top]:   # (those are under the phases)
        sec.blocks.append(Para(n, kind="note"))
    return sec


def _flags(df: "pd.DataFrame", summary: "RunSummary") -> list[list[str]]:
    times = {"epoch": "-ttt", "clock": "-tt or -t", "relative": "-r", "record order": "(dtruss: no clock)"}
    tk = summary.time_kind
    maps = df[df["syscall"].astype(str).isin(("mmap", "mmap2"))]
    named = bool(len(maps)) and bool(maps["fd_path"].notna().any())
    return [
        ["-f", "yes" if df["pid"].notna().any() else "no", "each line's pid: threads and children"],
        ["timestamps", times.get(str(tk), str(tk)) if tk else "no", "phase times and a time axis"],
        ["-T", "yes" if df["duration"].notna().any() else "no", "time spent in each call"],
        ["-y", "yes" if named else "no", "the file behind each descriptor"],
        ["-k", "yes" if df["stack"].notna().any() else "no", "stack frames: roles by the caller"],
    ]


def _capture_advice(df: "pd.DataFrame", summary: "RunSummary") -> list[str]:
    out = []
    maps = df[df["syscall"].astype(str).isin(("mmap", "mmap2")) & df["errno"].isna()]
    fds = maps["fd"].fillna(-1).astype("int64") if len(maps) else None
    if fds is not None:
        unnamed = int(((fds >= 0) & maps["fd_path"].isna()).sum())
        if unnamed:
            out.append(f"-y would name the files behind {unnamed} file mapping(s) the trace shows only by descriptor.")
    if not df["pid"].notna().any():
        out.append("-f would follow threads and child processes (this trace has no pids).")
    if summary.time_kind is None:
        out.append("-ttt would give the phases times and the chart a time axis (this trace has no timestamps).")
    return out


# -- escaping -----------------------------------------------------------------------------------

def html_text(text: object) -> str:
    """Trace text for HTML (and SVG): control characters shown as \\xNN, markup escaped."""
    return html.escape(printable(str(text)), quote=True)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_MD_SCHEME = re.compile(r"(?i)\b(javascript|vbscript|data|https?|ftp|file|mailto)\s*:")


def md_text(text: object) -> str:
    """Trace text for Markdown: control characters shown, newlines as spaces, every character
    that could start markup or a link backslash-escaped, < > & as entities, and URL schemes
    broken (no autolink)."""
    s = printable(str(text)).replace("\r", " ").replace("\n", " ")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = _MD_SCHEME.sub(r"\1&#58;", s).replace("www.", "www&#46;")
    return s


# -- HTML ---------------------------------------------------------------------------------------

CSS = """
:root{--fg:#1f2d3d;--muted:#5b6b7b;--line:#d8dee6;--bg:#fff;--accent:#d9534f}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);
max-width:1200px;margin:0 auto;padding:1rem 1.5rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;border-bottom:2px solid var(--line);padding-bottom:.2rem;
margin-top:2rem}h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
p{margin:.45rem 0}.refs{color:var(--muted);font-size:.85em}.note{color:var(--muted)}
.advice{border-left:3px solid #f0ad4e;padding-left:.6rem}.limit{border-left:3px solid var(--accent);padding-left:.6rem}
.tablewrap{overflow-x:auto;margin:.4rem 0 1rem}
table{border-collapse:collapse;font-size:.88rem;min-width:40%}
caption{text-align:left;font-weight:600;padding:.2rem 0}
th,td{border-bottom:1px solid var(--line);padding:.25rem .6rem;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td{overflow-wrap:break-word}td.long{min-width:22em}td:first-child{overflow-wrap:normal}
.tnote{color:var(--muted);font-size:.85em;margin-top:-.6rem}
figure{margin:.5rem 0 1rem}figure svg{width:100%;height:auto;display:block}
figcaption{color:var(--muted);font-size:.85em}
g.step{cursor:help}g.step:hover path{fill-opacity:1;stroke-opacity:1;stroke:#d9534f}
nav ol{columns:2;font-size:.9rem}
code{font-size:.9em}
@media (max-width:700px){body{font-size:14px;padding:.5rem}nav ol{columns:1}table{font-size:.8rem}
th,td{padding:.2rem .35rem}}
@media print{body{max-width:none;padding:0;font-size:10.5pt}nav{display:none}h2{break-after:avoid}
figure,table{break-inside:avoid}.tablewrap{overflow:visible}a{color:inherit;text-decoration:none}}
"""


def render_html(report: Report) -> str:
    e = html_text
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>tracemem report: {e(report.title)}</title>", f"<style>{CSS}</style></head><body>",
           f"<header><h1>Memory report: {e(report.title)}</h1>",
           f'<p class="note">Made by tracemem from {e(", ".join(report.files))}. Figures are {e(report.vsz_label)} '
           "unless said otherwise; sizes in binary units.</p></header>",
           "<nav><ol>" + "".join(f'<li><a href="#{s.key}">{e(s.title)}</a></li>' for s in report.sections)
           + "</ol></nav>"]
    for s in report.sections:
        out.append(f'<section id="{s.key}"><h2>{e(s.title)}</h2>')
        for b in s.blocks:
            out.append(_html_block(b))
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_block(b: Block) -> str:
    e = html_text
    if isinstance(b, Para):
        if b.kind == "heading":
            return f"<h3>{e(b.text)}</h3>"
        refs = f' <span class="refs">({e(", ".join(b.refs))})</span>' if b.refs else ""
        return f'<p class="{b.kind}">{e(b.text)}{refs}</p>'
    if isinstance(b, Chart):
        return f'<figure role="img" aria-label="{e(b.alt)}">{b.svg}<figcaption>{e(b.alt)}</figcaption></figure>'
    # a column of long text (calls, evidence) keeps a readable width: the table scrolls instead
    long = {i for i in range(len(b.columns)) if any(len(row[i]) > 40 for row in b.rows if i < len(row))}
    cls = {i: ' class="n"' if i in b.numeric else ' class="long"' if i in long else "" for i in range(len(b.columns))}
    head = "".join(f"<th{cls[i]}>{e(c)}</th>" for i, c in enumerate(b.columns))
    body = "".join("<tr>" + "".join(f"<td{cls.get(i, '')}>{e(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in b.rows)
    note = f'<p class="tnote">{e(b.note)}</p>' if b.note else ""
    return (f'<div class="tablewrap"><table><caption>{e(b.title)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{note}")


def write_html(report: Report, path: str | os.PathLike[str]) -> None:
    _write(Path(path), render_html(report))


# -- Markdown -----------------------------------------------------------------------------------

def render_markdown(report: Report, chart_names: dict[str, str] | None = None) -> str:
    """The report as Markdown; ``chart_names``: chart name -> the relative path of its file."""
    m = md_text
    out = [f"# Memory report: {m(report.title)}", "",
           f"Made by tracemem from {m(', '.join(report.files))}. Figures are {m(report.vsz_label)} unless said "
           "otherwise; sizes in binary units.", ""]
    for s in report.sections:
        out += [f"## {m(s.title)}", ""]
        for b in s.blocks:
            if isinstance(b, Para):
                if b.kind == "heading":
                    out += [f"### {m(b.text)}", ""]
                    continue
                refs = f" ({m(', '.join(b.refs))})" if b.refs else ""
                prefix = "> " if b.kind in ("advice", "limit") else ""
                out += [f"{prefix}{m(b.text)}{refs}", ""]
            elif isinstance(b, Chart):
                rel = (chart_names or {}).get(b.name)
                if rel:
                    out += [f"![{m(b.alt)}]({rel})", ""]
            else:
                out += [f"**{m(b.title)}**", ""]
                out.append("| " + " | ".join(m(c) for c in b.columns) + " |")
                out.append("|" + "|".join("---:" if i in b.numeric else "---" for i in range(len(b.columns))) + "|")
                for row in b.rows:
                    out.append("| " + " | ".join(m(c) for c in row) + " |")
                out.append("")
                if b.note:
                    out += [f"*{m(b.note)}*", ""]
    return "\n".join(out)


def write_markdown(report: Report, path: str | os.PathLike[str]) -> list[Path]:
    """The .md at ``path`` and its charts beside it (``NAME-vsz.svg`` ...); returns the files written."""
    path = Path(path)
    names: dict[str, str] = {}
    written = []
    for s in report.sections:
        for b in s.blocks:
            if isinstance(b, Chart):
                chart = path.with_name(f"{path.stem}-{b.name}.svg")
                _write(chart, '<?xml version="1.0" encoding="utf-8"?>\n' + _standalone(b.svg))
                names[b.name] = chart.name
                written.append(chart)
    _write(path, render_markdown(report, names))
    return [path, *written]


def _standalone(svg: str) -> str:
    """An inline SVG as a file of its own (it keeps its viewBox; a width for viewers)."""
    m = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    if m and ' width="' not in svg[:svg.find(">")]:
        svg = svg.replace("<svg", f'<svg width="{m.group(1)}pt" height="{m.group(2)}pt"', 1)
    return svg


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None


def report_format(path: str | os.PathLike[str]) -> str:
    """"html" or "md" by the suffix (.html/.htm, .md/.markdown); UsageError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix in (".html", ".htm"):
        return "html"
    if suffix in (".md", ".markdown"):
        return "md"
    raise UsageError(f"{path}: unknown report format {suffix or '(no suffix)'!r}; use .html or .md")


# -- terminal -----------------------------------------------------------------------------------

def print_report(report: Report, console: "Console", top: int = 8,
                 sections: Sequence[str] = ("verdict", "chart", "regions", "activity", "comparison")) -> None:
    """The verdict and the key tables (phases, regions, processes) on a rich Console; ``sections``:
    which (by key)."""
    from rich.table import Table as RichTable

    from ..text import cell

    wanted = set(sections)
    for s in report.sections:
        if s.key not in wanted:
            continue
        console.print(f"[bold]{cell(s.title)}[/]")
        for b in s.blocks:
            if isinstance(b, Para):
                if b.kind == "heading":
                    console.print(f"[bold]{cell(b.text)}[/]")
                else:
                    refs = f" [dim]({cell(', '.join(b.refs))})[/]" if b.refs else ""
                    console.print(f"{'→ ' if b.kind == 'advice' else ''}{cell(b.text)}{refs}")
            elif isinstance(b, Table):
                if b.title.startswith("What each role") or b.title.startswith("Bytes per role"):
                    continue
                t = RichTable(title=cell(b.title), title_justify="left")
                for i, c in enumerate(b.columns):
                    t.add_column(cell(c), justify="right" if i in b.numeric else "left",
                                 overflow="fold")
                for row in b.rows[:top]:
                    t.add_row(*[cell(c) for c in row])
                console.print(t)
                if b.note or len(b.rows) > top:
                    console.print(cell(b.note or f"{len(b.rows) - top} more rows in the file report"))
        console.print()
