"""Fleet questions over a ``tracemem batch`` dataset (issue 17, second part): ``tracemem fleet``
and :func:`fleet`.

Per trace and phase, the VSZ / reserved / committed **levels at the end of the phase**; per
group of comparable traces (by default the program they run) and phase, their distribution
(median, quartiles, IQR); the **outliers**, named; and, with ``by=LABEL``, the **trend** over
that label in its natural order.

What is measured
    The phases table of a dataset holds, per address space, each phase's *deltas* (the change
    of the space's totals from the phase's start to its end: the next phase's start, the last
    phase to the end of the trace; ``phases.finish``). The phases of a space cover it
    contiguously from its first phase to the end of the trace, so the level at the end of
    phase *i* is the space's final total (the processes table) minus the deltas of the phases
    after *i*. A trace is represented by its **root address space**: the one whose first phase
    starts first in the trace (the process that was started, not its fork children, whose
    figures are in the processes table but in no level here). A phase name that occurs more
    than once in the root (a program that executes another: each run restarts the phases) is
    measured at the end of its **last** occurrence; ``occurrences`` says how many there were.

Groups
    ``group="exe"`` (default): traces running the same program (the basename of the root's
    executable) are compared with each other, never a C tool with a Go service; ``group=LABEL``
    groups by a label; ``group=None``: the whole dataset is one group.

Outliers
    In each (group, phase, metric) with at least ``min_traces`` traces: Q1, median and Q3 of
    the levels (linear interpolation, numpy's default), IQR = Q3 - Q1, and the fences
    ``Q1 - w`` and ``Q3 + w`` with ``w = max(fence * IQR, floor)`` and ``floor =
    max(floor_bytes, floor_fraction * |median|)`` (default 1.5 IQR, 1 MiB, 2%). A level outside
    the fences is an outlier. Tukey's fences are distribution-free and robust: the quartiles do
    not move with the outliers themselves as long as they are fewer than a quarter of the
    traces. The floor keeps identical runs that differ by a page (IQR 0) or by the allocator's
    rounding from being outliers: a level must be at least 1 MiB (and 2% of the median) beyond
    the quartile to count. Each outlier is given with its trace, labels, the value, the median,
    ``delta = value - median`` and the fence it crossed.

Phases present in only some traces
    Counted per group (``stats.traces`` of ``stats.of``) and said in ``notes``: where a phase
    is missing, the phase before it runs on to the next one found, so that earlier phase's end
    level there includes the missing phase's work. Such a level is not flagged as an outlier:
    where a trace lacks a phase that most traces of its group have, its phase just before runs
    over a longer span than theirs (a trace without ``threads`` ends ``runtime-init`` where the
    others end ``threads``), so it is kept in the distribution and named in ``notes`` instead.

Trend
    ``by=LABEL``: the label's values in natural order (:func:`order_values`): versions and
    build numbers part by part (``1.9 < 1.10``), other numbers as numbers, ISO dates as text,
    else by their digit runs (``v1.9 < v1.10``); per (group, phase, metric, value) the median,
    min and max of the levels.

Failed traces (``status="failed"`` in the traces table) are listed in ``failed`` with their
error, never dropped silently.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .errors import InputError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from .reporters.plot import ChartFigure

METRICS = ("vsz", "reserved", "committed")
#: The floor of the fences (module doc): at least this many bytes beyond a quartile ...
FLOOR_BYTES = 1 << 20
#: ... and at least this fraction of the median.
FLOOR_FRACTION = 0.02
#: Tukey's multiple of the IQR.
FENCE = 1.5
#: Fewer traces than this in a (group, phase): its distribution is given, no outlier flagged.
MIN_TRACES = 5
#: The group of traces whose root runs no program the trace names (an attach, a filtered exec).
NO_PROGRAM = "(program not in the trace)"
#: The value of a label that did not match a trace's path.
NO_VALUE = "(none)"
_TRACES_COLUMNS = ("trace", "path", "files", "lines", "parsed", "events", "errors", "processes", "status", "error")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T _].*)?")
_DIGITS = re.compile(r"(\d+)")
_DOTTED = re.compile(r"\d+(?:\.\d+)*")


@dataclass
class FleetResult:
    """What :func:`fleet` found (module doc). Every frame carries the dataset's label columns.

    ``levels``: one row per (trace, phase) of the root address space: the levels at the phase's
    end (``vsz``, ``reserved``, ``committed``), the phase's ``order`` in the root and how often
    it occurred. ``stats``: one row per (group, phase, metric): ``traces`` with the phase, ``of``
    traces in the group, median, q1, q3, iqr, min, max, the fences ``low``/``high`` and the
    ``floor`` they were widened to. ``outliers``: one row per (trace, phase, metric) outside the
    fences. ``trend``: with ``by``, one row per (group, phase, metric, value of ``by``).
    ``traces``: one row per trace of the dataset (failed ones too): its group, root, program,
    processes and phases, and the totals of all its address spaces at the end. ``failed``: the
    failed traces with their error."""

    dataset: Path
    labels: list[str]
    group: str | None
    by: str | None
    by_order: str | None               # "version", "numeric", "date" or "natural" (with ``by``)
    phases: list[str]                  # every phase found, in phase order
    groups: list[str]
    levels: "pd.DataFrame"
    stats: "pd.DataFrame"
    outliers: "pd.DataFrame"
    trend: "pd.DataFrame | None"
    traces: "pd.DataFrame"
    failed: "pd.DataFrame"
    notes: list[str] = field(default_factory=list)
    rule: dict[str, float] = field(default_factory=dict)

    @property
    def by_values(self) -> list[str]:
        """The values of ``by`` in trend order (empty without ``by``)."""
        if self.trend is None or not len(self.trend):
            return []
        return list(dict.fromkeys(self.trend.sort_values("rank", kind="stable")[self.by or "trace"].tolist()))

    def outlier_traces(self, metric: str | None = None) -> list[str]:
        """The names of the traces that are an outlier somewhere (in ``metric``, or any)."""
        df = self.outliers if metric is None else self.outliers[self.outliers["metric"] == metric]
        return sorted(set(df["trace"].tolist()))

    def figure(self, metric: str = "vsz", parts: Sequence[str] = ("distribution", "trend")) -> "ChartFigure":
        """The chart of ``metric``: per group, the levels at each phase's end across traces
        (box and points, outliers named) and, with ``by``, the trend (tracemem.reporters.fleetplot)."""
        from .reporters.fleetplot import fleet_figure

        return fleet_figure(self, metric, parts=parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the frames as lists of records (NaN and NA as null)."""
        return {
            "dataset": str(self.dataset), "labels": self.labels, "group": self.group, "by": self.by,
            "by_order": self.by_order, "by_values": self.by_values, "phases": self.phases, "groups": self.groups,
            "rule": self.rule, "aggregation": "root address space (the first to start a phase); levels at each "
            "phase's end = final total - the deltas of the later phases",
            "notes": self.notes, "failed": _records(self.failed), "traces": _records(self.traces),
            "stats": _records(self.stats), "outliers": _records(self.outliers),
            "trend": None if self.trend is None else _records(self.trend), "levels": _records(self.levels),
        }

    def to_json(self, indent: int | None = 2) -> str:
        # ASCII: names and labels come from paths (any byte); the JSON stays valid UTF-8
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=True, allow_nan=False)


def _records(df: "pd.DataFrame") -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict("records"):
        out.append({str(k): _plain(v) for k, v in row.items()})
    return out


def _plain(v: Any) -> Any:
    import numpy as np
    import pandas as pd

    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        f = float(v)
        return None if math.isnan(f) else (int(f) if f.is_integer() and abs(f) < 2**62 else f)
    if isinstance(v, float):
        return int(v) if v.is_integer() and abs(v) < 2**62 else v
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


# -- ordering ---------------------------------------------------------------------------------

def order_values(values: Iterable[str]) -> tuple[list[str], str]:
    """The distinct values in natural order and which order it is: "version" when every value
    is digits with dots (1.9 < 1.10 < 2.0: compared part by part, never as decimals), "numeric"
    when every value is a number (build numbers 9 < 10; -10 < -2.5 < 1e3), "date" when every
    value is an ISO date (text order is time order), else "natural": runs of digits compared
    as numbers, the rest as text (v1.9 < v1.10, build-9 < build-10)."""
    distinct = sorted(set(values))
    if not distinct:
        return [], "natural"
    if all(_DOTTED.fullmatch(v) for v in distinct):
        return sorted(distinct, key=natural_key), "numeric" if all(v.isdigit() for v in distinct) else "version"
    numbers: dict[str, float] = {}
    for v in distinct:
        try:
            f = float(v)
        except ValueError:
            break
        if math.isnan(f):
            break
        numbers[v] = f
    else:
        return sorted(distinct, key=lambda v: (numbers[v], v)), "numeric"
    if all(_ISO_DATE.fullmatch(v) for v in distinct):
        return distinct, "date"
    return sorted(distinct, key=natural_key), "natural"


def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """A sort key comparing runs of digits as numbers and the rest as text ("1.9" < "1.10")."""
    parts = _DIGITS.split(text)
    return tuple((1, int(p), p) if i % 2 else (0, 0, p) for i, p in enumerate(parts) if p)


# -- reading ----------------------------------------------------------------------------------

def _read(dataset: Path) -> tuple["pd.DataFrame", "pd.DataFrame", "pd.DataFrame"]:
    from .batch import PART, read_table

    shown = _shown(dataset)
    if not dataset.exists():
        raise InputError(f"{shown}: no such folder (give the -o folder of a 'tracemem batch' run)")
    if not dataset.is_dir():
        raise InputError(f"{shown}: not a folder; a fleet dataset is the -o folder of 'tracemem batch'")
    if not any((dataset / "traces").glob(f"trace=*/{PART}")):
        raise InputError(f"{shown}: not a tracemem batch dataset (no traces/trace=NAME/{PART} in it); make one "
                         f"with: tracemem batch TRACES... -o {shown}")
    try:
        return read_table(dataset, "traces"), read_table(dataset, "processes"), read_table(dataset, "phases")
    except (OSError, ValueError, TypeError, KeyError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"{shown}: a table of the dataset cannot be read ({type(exc).__name__}: "
                         f"{_short(str(exc))}); run tracemem batch again with --force") from None


def _shown(path: Path) -> str:
    from .text import printable

    return printable(str(path))


def _short(text: str, n: int = 200) -> str:
    from .text import printable

    text = printable(text.splitlines()[0] if text else "")
    return text if len(text) <= n else text[:n] + "..."


def _labels(traces: "pd.DataFrame") -> list[str]:
    return [c for c in traces.columns if c not in _TRACES_COLUMNS]


def _program(exe: Any) -> str:
    if exe is None or (not isinstance(exe, str)):
        return NO_PROGRAM
    name = exe.rsplit("/", 1)[-1]
    return name or NO_PROGRAM


def _phase_order(names: Iterable[str]) -> list[str]:
    from .phases import PHASE_RULES

    canon = [r["phase"] for r in PHASE_RULES]
    found = set(names)
    return [n for n in canon if n in found] + sorted(found - set(canon))


# -- the analysis -----------------------------------------------------------------------------

def fleet(dataset: str | os.PathLike[str], *, by: str | None = None, group: str | None = "exe",
          fence: float = FENCE, floor_bytes: int = FLOOR_BYTES, floor_fraction: float = FLOOR_FRACTION,
          min_traces: int = MIN_TRACES) -> FleetResult:
    """Distributions, outliers and the trend over a ``tracemem batch`` dataset (module doc).

    ``by``: a label that orders the runs (a version, a date, a build number): adds the trend.
    ``group``: "exe" (the root's program, default), a label, or None (one group). ``fence``,
    ``floor_bytes``, ``floor_fraction``, ``min_traces``: the outlier rule."""
    import numpy as np
    import pandas as pd

    path = Path(dataset)
    if fence < 0 or floor_bytes < 0 or floor_fraction < 0 or min_traces < 1:
        raise UsageError("fleet: fence, floor_bytes and floor_fraction take 0 or more, min_traces 1 or more")
    traces, procs, phases = _read(path)
    labels = _labels(traces)
    known = ", ".join(labels) if labels else "none (tracemem batch --label KEY=REGEX adds them)"
    if by is not None and by not in labels:
        raise UsageError(f"--by {_short(by)}: no such label in {_shown(path)}; its labels: {known}")
    if group is not None and group != "exe" and group not in labels:
        raise UsageError(f"--group {_short(group)}: expected exe, none or a label of {_shown(path)}; "
                         f"its labels: {known}")
    notes: list[str] = []

    # per trace: status, root, program
    traces = traces.copy()
    ok = traces["status"].astype("string") == "ok"
    failed = traces.loc[~ok, ["trace", *labels, "path", "error"]].reset_index(drop=True)
    if len(failed):
        notes.append(f"{len(failed)} trace(s) failed in the batch and have no figures: "
                     + ", ".join(failed["trace"].astype(str).head(8)) + (" ..." if len(failed) > 8 else "")
                     + " (see failed)")

    ph = phases[phases["trace"].isin(set(traces.loc[ok, "trace"]))].copy() if len(phases) else phases
    if len(ph):
        ph["_key"] = ph["asid"].astype("float64").fillna(-1.0).astype("int64")
        ph["_seq"] = ph["start_seq"].astype("int64")
        ph = ph.sort_values(["trace", "_seq", "_key"], kind="stable")
        root = ph.groupby("trace", sort=False)["_key"].first()
        ph = ph[ph["_key"].to_numpy() == ph["trace"].map(root).to_numpy()]
    else:
        root = pd.Series(dtype="int64")
    if len(procs):
        procs = procs.copy()
        procs["_key"] = procs["asid"].astype("float64").fillna(-1.0).astype("int64")
    final = procs.set_index(["trace", "_key"]) if len(procs) else None

    # levels at each phase's end: final - the deltas of the later phases
    rows: list[dict[str, Any]] = []
    missing_final: list[str] = []
    for name, part in ph.groupby("trace", sort=True) if len(ph) else []:
        key = int(part["_key"].iloc[0])
        if final is None or (name, key) not in final.index:
            missing_final.append(str(name))
            continue
        found: Any = final.loc[(str(name), key)]
        fin: Any = found.iloc[0] if isinstance(found, pd.DataFrame) else found
        deltas = {m: part[m].astype("int64").to_numpy() for m in METRICS}
        levels = {m: int(fin[m]) - (np.cumsum(deltas[m][::-1])[::-1] - deltas[m]) for m in METRICS}
        names = part["name"].astype(str).tolist()
        counts = {ph_name: names.count(ph_name) for ph_name in names}
        last = {ph_name: i for i, ph_name in enumerate(names)}
        for i, ph_name in enumerate(names):
            if last[ph_name] != i:
                continue
            rows.append({"trace": name, "phase": ph_name, "order": i, "occurrences": counts[ph_name],
                         "asid": None if key == -1 else key,
                         **{m: int(levels[m][i]) for m in METRICS}})
    if missing_final:
        notes.append(f"{len(missing_final)} trace(s) have phases but no process row for their root space and are "
                     "left out: " + ", ".join(missing_final[:8]))
    levels_df = pd.DataFrame(rows, columns=["trace", "phase", "order", "occurrences", "asid", *METRICS])
    levels_df = levels_df.astype({"order": "int64", "occurrences": "int64", "asid": "Int64",
                                  **{m: "int64" for m in METRICS}})

    # the per-trace table (every trace, failed ones too)
    exe_of: dict[str, Any] = {}
    if len(ph):
        exe_of = {str(t): e for t, e in ph.groupby("trace", sort=False)["exe"].last().items()}
    info = traces[["trace", *labels, "status", "error"]].copy()
    info["exe"] = [exe_of.get(str(t)) if isinstance(exe_of.get(str(t)), str) else None for t in info["trace"]]
    info["program"] = [_program(e) if ok_ else None for e, ok_ in zip(info["exe"], ok)]
    info["root"] = pd.array([None if str(t) not in root.index or int(root[str(t)]) == -1 else int(root[str(t)])
                             for t in info["trace"]], dtype="Int64")
    nproc = procs.groupby("trace")["_key"].size() if len(procs) else pd.Series(dtype="int64")
    info["processes"] = pd.array([int(nproc.get(t, 0)) if o else None for t, o in zip(info["trace"], ok)],
                                 dtype="Int64")
    nphase = levels_df.groupby("trace")["phase"].size()
    info["phases"] = pd.array([int(nphase.get(t, 0)) if o else None for t, o in zip(info["trace"], ok)],
                              dtype="Int64")
    for m in METRICS:
        tot = procs.groupby("trace")[m].sum() if len(procs) else pd.Series(dtype="int64")
        info[f"all_{m}"] = pd.array([int(tot.get(t, 0)) if o else None for t, o in zip(info["trace"], ok)],
                                    dtype="Int64")
    if group is None:
        info["group"] = [("all" if o else None) for o in ok]
    elif group == "exe":
        info["group"] = info["program"]
    else:
        info["group"] = [(str(v) if isinstance(v, str) else NO_VALUE) if o else None
                         for v, o in zip(info[group], ok)]
    info = info.reset_index(drop=True)
    no_phase = info[ok.to_numpy() & (info["phases"].fillna(0).to_numpy() == 0)]["trace"].astype(str).tolist()
    if no_phase:
        notes.append(f"{len(no_phase)} trace(s) analysed without a phase in their root space (no process call in "
                     "the capture?) have no level: " + ", ".join(no_phase[:8]) + (" ..." if len(no_phase) > 8 else ""))

    meta = info.set_index("trace")
    keep = ["group", *labels, "program"]
    lv = levels_df.merge(meta[keep], left_on="trace", right_index=True, how="left")
    lv = lv[["trace", *labels, "group", "program", "phase", "order", "occurrences", "asid", *METRICS]]
    phase_names = _phase_order(lv["phase"].tolist())
    rank = {n: i for i, n in enumerate(phase_names)}
    lv = lv.sort_values(["group", "trace", "order"], kind="stable").reset_index(drop=True)
    multi = lv[lv["occurrences"] > 1]
    if len(multi):
        notes.append(f"{multi['trace'].nunique()} trace(s) run a phase more than once in their root space (an exec "
                     "of another program): measured at the end of its last occurrence")
    group_names = sorted(set(lv["group"].astype(str)), key=natural_key)
    group_size = {g: int(n) for g, n in info[info["phases"].fillna(0) > 0].groupby("group")["trace"].size().items()}

    # (trace, phase) levels that span a phase most of the group has and the trace lacks: not
    # comparable with the others' (module doc), so never flagged
    having: dict[str, dict[str, int]] = {}
    for g_name, q_name in zip(lv["group"].astype(str), lv["phase"].astype(str)):
        row_counts = having.setdefault(g_name, {})
        row_counts[q_name] = row_counts.get(q_name, 0) + 1
    usual = {g: {q for q, c in having.get(g, {}).items() if 2 * c > group_size.get(g, 0)} for g in group_names}
    spans_over: dict[tuple[str, str], list[str]] = {}
    for (g, t), part in lv.groupby(["group", "trace"], sort=False):
        own = sorted((rank[str(q)] for q in part["phase"]))
        lacking = sorted(rank[q] for q in usual.get(str(g), set()) - set(part["phase"].astype(str)))
        for i, r in enumerate(own):
            nxt = own[i + 1] if i + 1 < len(own) else len(phase_names)
            over = [phase_names[x] for x in lacking if r < x < nxt]
            if over:
                spans_over[(str(t), phase_names[r])] = over
    # distributions and outliers
    stat_rows: list[dict[str, Any]] = []
    out_rows: list[dict[str, Any]] = []
    unflagged: list[str] = []
    for (g, p), part in lv.groupby(["group", "phase"], sort=False):
        n: int = len(part)
        of: int = group_size.get(str(g), n)
        if n < of:
            without = sorted(set(info[(info["group"] == g) & (info["phases"].fillna(0) > 0)]["trace"].astype(str))
                             - set(part["trace"].astype(str)), key=natural_key)
            notes.append(f"phase {p}: in {n} of {of} traces of {g}; missing in "
                         + ", ".join(without[:5]) + (f" and {len(without) - 5} more" if len(without) > 5 else "")
                         + ": there the phase before it runs on to the next one found, and its end level includes "
                         f"the work of {p}")
        for m in METRICS:
            v = part[m].to_numpy(dtype="float64")
            q1, med, q3 = (float(x) for x in np.percentile(v, [25, 50, 75]))
            iqr = q3 - q1
            floor = max(float(floor_bytes), floor_fraction * abs(med))
            width = max(fence * iqr, floor)
            low, high = q1 - width, q3 + width
            flagged = n >= min_traces
            stat_rows.append({"group": g, "phase": p, "metric": m, "traces": n, "of": of, "median": med, "q1": q1,
                              "q3": q3, "iqr": iqr, "min": float(v.min()), "max": float(v.max()), "low": low,
                              "high": high, "floor": floor, "flagged": flagged})
            if not flagged:
                continue
            for row in part.itertuples(index=False):
                value = int(getattr(row, m))
                if low <= value <= high:
                    continue
                spanned = spans_over.get((str(row.trace), str(p)))
                if spanned is not None:
                    unflagged.append(f"{row.trace} ({p} {m}: its {p} runs over {', '.join(spanned)}, which it lacks)")
                    continue
                rec = {"trace": row.trace, **{lab: getattr(row, lab) for lab in labels}, "group": g, "phase": p,
                       "metric": m, "value": value, "median": med, "delta": value - med,
                       "ratio": (value / med) if med else None,
                       "direction": "high" if value > high else "low", "fence": high if value > high else low,
                       "q1": q1, "q3": q3, "iqr": iqr}
                out_rows.append(rec)
    if unflagged:
        notes.append(f"{len(unflagged)} level(s) beyond the fences not flagged, as their phase spans one the others "
                     "of their group have: " + "; ".join(unflagged[:8]) + (" ..." if len(unflagged) > 8 else ""))
    small = sorted({(str(r["group"]), str(r["phase"])) for r in stat_rows if not r["flagged"]})
    if small:
        notes.append(f"fewer than {min_traces} traces, distribution given but no outlier flagged: "
                     + "; ".join(f"{p} of {g}" for g, p in small[:8]) + (" ..." if len(small) > 8 else ""))
    stats = pd.DataFrame(stat_rows, columns=["group", "phase", "metric", "traces", "of", "median", "q1", "q3", "iqr",
                                             "min", "max", "low", "high", "floor", "flagged"])
    if len(stats):
        stats["_g"] = stats["group"].map({g: i for i, g in enumerate(group_names)})
        stats["_p"] = stats["phase"].map(rank)
        stats["_m"] = stats["metric"].map({m: i for i, m in enumerate(METRICS)})
        stats = stats.sort_values(["_g", "_p", "_m"], kind="stable").drop(columns=["_g", "_p", "_m"])
    stats = stats.reset_index(drop=True)
    out_cols = ["trace", *labels, "group", "phase", "metric", "value", "median", "delta", "ratio", "direction",
                "fence", "q1", "q3", "iqr"]
    outliers = pd.DataFrame(out_rows, columns=out_cols)
    if len(outliers):
        outliers["_g"] = outliers["group"].map({g: i for i, g in enumerate(group_names)})
        outliers["_p"] = outliers["phase"].map(rank)
        outliers["_m"] = outliers["metric"].map({m: i for i, m in enumerate(METRICS)})
        outliers["_d"] = -outliers["delta"].abs()
        outliers = outliers.sort_values(["_g", "_p", "_m", "_d", "trace"], kind="stable")
        outliers = outliers.drop(columns=["_g", "_p", "_m", "_d"])
    outliers = outliers.reset_index(drop=True)

    # the trend
    trend = None
    by_order = None
    if by is not None:
        values = lv[by]
        present = [str(v) for v in values if isinstance(v, str)]
        ordered, by_order = order_values(present)
        unlabelled = int(sum(1 for v in values if not isinstance(v, str)))
        if unlabelled:
            notes.append(f"--by {by}: {lv.loc[[not isinstance(v, str) for v in values], 'trace'].nunique()} "
                         f"trace(s) without a {by} value are left out of the trend")
        pos = {v: i for i, v in enumerate(ordered)}
        tl = lv[[isinstance(v, str) for v in values]]
        trows = []
        for (g, p, val), part in tl.groupby(["group", "phase", by], sort=False):
            for m in METRICS:
                v = part[m].to_numpy(dtype="float64")
                trows.append({"group": g, "phase": p, "metric": m, by: val, "rank": pos[str(val)],
                              "traces": len(part), "median": float(np.median(v)), "min": float(v.min()),
                              "max": float(v.max())})
        trend = pd.DataFrame(trows, columns=["group", "phase", "metric", by, "rank", "traces", "median", "min", "max"])
        if len(trend):
            trend["_g"] = trend["group"].map({g: i for i, g in enumerate(group_names)})
            trend["_p"] = trend["phase"].map(rank)
            trend["_m"] = trend["metric"].map({m: i for i, m in enumerate(METRICS)})
            trend = trend.sort_values(["_g", "_p", "_m", "rank"], kind="stable").drop(columns=["_g", "_p", "_m"])
        trend = trend.reset_index(drop=True)
        if ordered:
            shown = " < ".join(ordered[:6]) + (" < ..." if len(ordered) > 6 else "")
            notes.append(f"trend over {by}, {len(ordered)} values in {by_order} order: {shown}")

    return FleetResult(
        dataset=path, labels=labels, group=group, by=by, by_order=by_order, phases=phase_names,
        groups=group_names, levels=lv, stats=stats, outliers=outliers, trend=trend, traces=info, failed=failed,
        notes=notes, rule={"fence": fence, "floor_bytes": floor_bytes, "floor_fraction": floor_fraction,
                           "min_traces": min_traces},
    )


class _Callable(ModuleType):
    """``import tracemem.fleet; tracemem.fleet(...)``: the module calls :func:`fleet`."""

    def __call__(self, *args: Any, **kwargs: Any) -> FleetResult:
        return fleet(*args, **kwargs)


sys.modules[__name__].__class__ = _Callable
