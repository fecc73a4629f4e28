"""Charts and the report of a fleet (:class:`tracemem.fleet.FleetResult`).

:func:`fleet_figure`: per group of traces (a row), the level of a metric at the end of each
phase across traces (a box from Q1 to Q3 with the median, whiskers to the furthest traces inside
the outlier fences, every trace a point, the outliers coloured and named) and, with ``by``, its
trend over the label (the median per value, one line a phase, the range as a bar). Made like
the VSZ chart (tracemem.reporters.plot): no pyplot, binary units on the byte axes, text from the
traces shown with control characters escaped and never read as mathtext.

:func:`fleet_report`: a :class:`tracemem.reporters.report.Report` (the charts inline as SVG,
the tables) that the report's writers render as HTML, Markdown or terminal tables.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import UsageError
from ..text import human, printable, signed
from .plot import ChartFigure, _binary_locator, _bytes_formatter, _inside, _overlaps

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.transforms import Bbox

    from ..fleet import FleetResult
    from .report import Report

METRIC_WORDS = {"vsz": "VSZ", "reserved": "reserved (PROT_NONE)", "committed": "committed"}
#: One colour an outlier trace (the same in every phase of its panel).
OUTLIER_COLOURS = ("#d9534f", "#7b3fa0", "#e07b00", "#1f77b4", "#2e8b57", "#c2185b", "#8c564b", "#17becf")
PHASE_COLOURS = ("#9aa7b5", "#6c8ebf", "#8fbf7f", "#e0a040", "#d9534f", "#1f2d3d", "#7b3fa0", "#8c564b")
POINT = "#5b6b7b"
BOX = "#c7d3e6"
#: Names drawn beside their points per panel; the others are listed under the panel.
LABELLED = 8
CAPTION_WIDTH = 120
#: A trend's median of fewer traces than this is drawn hollow.
FEW = 3


def check_metric(metric: str) -> str:
    from ..fleet import METRICS

    if metric not in METRICS:
        raise UsageError(f"--metric {printable(metric)!r}: choose vsz, reserved or committed")
    return metric


def _text(ax: "Axes", *args: Any, **kwargs: Any) -> Any:
    """Text from a trace (a name, a label, a phase): never mathtext ($ is a dollar sign)."""
    return ax.text(*args, parse_math=False, **kwargs)


def fleet_figure(result: "FleetResult", metric: str = "vsz",
                 parts: Sequence[str] = ("distribution", "trend")) -> ChartFigure:
    """The fleet chart of ``metric`` (module doc): a row per group, the distribution panel
    and, with ``by`` (and "trend" in ``parts``), the trend panel beside it."""
    check_metric(metric)
    wanted = [p for p in parts if p in ("distribution", "trend")]
    if "trend" in wanted and (result.trend is None or not len(result.trend)):
        wanted.remove("trend")
    if not wanted:
        raise UsageError("nothing to chart: the trend needs --by LABEL")
    groups = [g for g in result.groups if (result.levels["group"] == g).any()]
    if not groups:
        raise UsageError(f"nothing to chart: no trace of {printable(str(result.dataset))} has a phase "
                         f"({len(result.failed)} failed)")
    ratios = [3.0, 2.0] if len(wanted) == 2 else [1.0]
    fig = ChartFigure(figsize=(11, 0.9 + 3.6 * len(groups)), layout="constrained")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # a renderer to measure the names with
    axes = fig.subplots(len(groups), len(wanted), squeeze=False, gridspec_kw={"width_ratios": ratios})
    captions: list[list[str]] = []
    pending: dict[int, list[tuple[float, float, str, str]]] = {}
    legend: dict[str, Any] = {}
    for k, g in enumerate(groups):
        row: list[str] = []
        for j, part in enumerate(wanted):
            ax = axes[k][j]
            if part == "distribution":
                notes, pending[k] = _distribution(ax, result, g, metric)
                row += notes
            else:
                for line in _trend(ax, result, g, metric):
                    legend.setdefault(line.get_label(), line)
        captions.append(row)
    if legend:  # one legend of the phases (a colour a phase in every panel), under the panels
        ordered = [legend[p] for p in [printable(x) for x in result.phases] if p in legend]
        leg = fig.legend(handles=ordered, labels=[h.get_label() for h in ordered], loc="outside lower right",
                         ncols=min(len(ordered), 3), fontsize=8, frameon=False, title="trend lines: phase",
                         title_fontsize=8)
        for t in leg.get_texts():
            t.set_parse_math(False)
    words = METRIC_WORDS[metric]
    fig.suptitle(printable(f"{words} of each trace's root address space at the end of each phase: "
                           f"{printable(str(result.dataset))}"), fontsize=12, x=0.01, ha="left", parse_math=False)
    rule = result.rule
    lines = [] if "distribution" not in wanted else [
             f"box: quartiles and median; whiskers: the furthest traces inside the fences Q1 − w, Q3 + w, "
             f"w = max({rule.get('fence', 1.5):g} IQR, {human(rule.get('floor_bytes', 1 << 20))}, "
             f"{rule.get('floor_fraction', 0.02) * 100:g}% of the median); coloured and named: the outliers"]
    if "trend" in wanted:
        lines.append(f"trend: the median of each phase per {printable(str(result.by))} value, every trace a faint dot; "
                     f"hollow: a median of fewer than {FEW} traces")
    fig.canvas.draw()
    for k, g in enumerate(groups):
        ax = axes[k][wanted.index("distribution")] if "distribution" in wanted else None
        if ax is not None:
            left = _place_names(fig, ax, pending.get(k, []))
            notes = captions[k] + ([f"not named for lack of room: {', '.join(left)}"] if left else [])
            if notes:
                wrapped = "\n".join(textwrap.fill(printable(n), CAPTION_WIDTH // (2 if len(wanted) == 2 else 1))
                                    for n in notes)
                ax.set_xlabel(f"{ax.get_xlabel()}\n{wrapped}" if ax.get_xlabel() else wrapped, fontsize=8,
                              loc="left")
    width = CAPTION_WIDTH * 2 // 3 if legend else CAPTION_WIDTH   # (the legend is beside it, on the right)
    if lines:
        fig.supxlabel("\n".join(textwrap.fill(x, width) for x in lines), fontsize=8, x=0.01, ha="left")
    return fig


def _distribution(ax: "Axes", result: "FleetResult", group: str,
                  metric: str) -> tuple[list[str], list[tuple[float, float, str, str]]]:
    """One group's panel: a box and the points of each phase, the outliers coloured. Returns the
    panel's notes and the outliers to name (x, y, name, colour: placed once the layout is known)."""
    lv = result.levels[result.levels["group"] == group]
    st = result.stats[(result.stats["group"] == group) & (result.stats["metric"] == metric)].set_index("phase")
    out = result.outliers[(result.outliers["group"] == group) & (result.outliers["metric"] == metric)]
    phases = [p for p in result.phases if p in st.index]
    colour: dict[str, str] = {}
    for t in out["trace"]:   # in phase order, largest distance first: the colours follow
        if t not in colour:
            colour[t] = OUTLIER_COLOURS[len(colour) % len(OUTLIER_COLOURS)]
    flagged = {(str(t), str(p)) for t, p in zip(out["trace"], out["phase"])}
    named: set[str] = set()
    names: list[tuple[float, float, str, str]] = []
    top = max(1.0, float(lv[metric].max()) if len(lv) else 0.0)
    notes: list[str] = []
    for i, p in enumerate(phases):
        s: Any = st.loc[p]
        part = lv[lv["phase"] == p].sort_values([metric, "trace"], kind="stable")
        values = part[metric].to_numpy(dtype="float64")
        inside = values[(values >= s["low"]) & (values <= s["high"])]
        lo_w = float(inside.min()) if len(inside) else float(s["q1"])
        hi_w = float(inside.max()) if len(inside) else float(s["q3"])
        ax.vlines(i, lo_w, hi_w, color="#555555", linewidth=0.9, zorder=2)
        ax.hlines([lo_w, hi_w], i - 0.12, i + 0.12, color="#555555", linewidth=0.9, zorder=2)
        ax.bar(i, max(float(s["q3"] - s["q1"]), 0.0), bottom=float(s["q1"]), width=0.5, color=BOX,
               edgecolor="#6c7f95", linewidth=0.9, zorder=2)
        ax.hlines(float(s["median"]), i - 0.25, i + 0.25, color="#1f2d3d", linewidth=2.0, zorder=3)
        # the points: spread sideways within runs of equal value, so that identical runs show
        # as a row of dots rather than one; the outliers apart from the rest, wider spaced
        out_mask = [(str(t), p) in flagged for t in part["trace"]]
        plain = values[[not m for m in out_mask]]
        if len(plain):
            ax.scatter(_spread(plain) + i, plain, s=9, color=POINT, alpha=0.6, linewidths=0, zorder=4)
        odd = part[out_mask]
        ys = odd[metric].to_numpy(dtype="float64")
        for x, y, t in zip(_spread(ys, step=0.13, width=0.45, span=max(top, 1.0)) + i, ys, odd["trace"]):
            ax.scatter([x], [y], s=34, color=colour[str(t)], edgecolors="white", linewidths=0.8, zorder=5)
            if str(t) not in named:   # each outlier named once, at its first phase out
                named.add(str(t))
                names.append((float(x), float(y), printable(str(t)), colour[str(t)]))
        if not s["flagged"]:
            notes.append(f"{p}: {int(s['traces'])} trace(s), too few for outliers")
    ax.set_xticks(range(len(phases)))
    ticks = []
    for p in phases:
        s = st.loc[p]
        n, of = int(s["traces"]), int(s["of"])
        ticks.append(printable(p) + ("" if n == of else f"\n{n} of {of}"))
    ax.set_xticklabels(ticks, fontsize=8.5)
    for t in ax.get_xticklabels():
        t.set_parse_math(False)
    ax.set_xlim(-0.6, len(phases) - 0.4)
    ax.yaxis.set_major_locator(_binary_locator(top))
    ax.yaxis.set_major_formatter(_bytes_formatter())
    ax.set_ylim(0, top * 1.1)
    ax.grid(axis="y", alpha=0.3)
    ax.set_ylabel(METRIC_WORDS[metric])
    n = int(lv["trace"].nunique())
    title = ax.set_title(printable(f"{group}: {n} trace{'s' if n != 1 else ''}, {len(colour)} outlier"
                                   f"{'s' if len(colour) != 1 else ''} in {METRIC_WORDS[metric]}"),
                         loc="left", fontsize=10.5)
    title.set_parse_math(False)
    return notes, names


def _spread(values: Any, step: float = 0.03, width: float = 0.4, span: float | None = None) -> Any:
    """Sideways offsets for a strip of points: equal values (within 1% of ``span``, default the
    strip's own) side by side, centred, ``step`` apart (closer in a run too long for ``width``)."""
    import numpy as np

    xs = np.zeros(len(values))
    if not len(values):
        return xs
    span = span or float(values.max() - values.min()) or 1.0
    start = 0
    for k in range(1, len(values) + 1):
        if k == len(values) or abs(values[k] - values[start]) > span * 0.01:
            run = k - start
            half = min(width, step * (run - 1) / 2)
            xs[start:k] = np.linspace(-half, half, run) if run > 1 else 0.0
            start = k
    return xs


def _place_names(fig: "Any", ax: "Axes", names: Sequence[tuple[float, float, str, str]]) -> list[str]:
    """Name each outlier beside its point, a thin line to it, where the name overlaps no other
    name and no outlier point and stays inside the axes (tried right and left, level, above and
    below); the names that fit nowhere are returned (listed under the panel)."""
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    to_px = ax.transData.transform
    taken: list[Bbox] = []
    for x, y, _, _ in names:   # the points themselves are not to be covered
        px, py = to_px((x, y))
        taken.append(Bbox.from_extents(px - 4, py - 4, px + 4, py + 4))
    left: list[str] = []
    offsets = ((12, 0), (-12, 0), (12, 12), (12, -12), (-12, 12), (-12, -12), (14, 24), (14, -24), (-14, 24),
               (-14, -24), (16, 36), (-16, 36), (16, -36), (-16, -36))
    for x, y, text, colour in names:
        placed = False
        for dx, dy in offsets:
            note = ax.annotate(text, xy=(x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7.5,
                               color=colour, ha="left" if dx > 0 else "right", va="center", zorder=6,
                               gid="outlier-name", annotation_clip=False, parse_math=False,
                               arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.7, "shrinkA": 0,
                                           "shrinkB": 3},
                               bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9})
            note.update_positions(renderer)
            box = Text.get_window_extent(note, renderer)   # the name, not its line to the point
            if _inside(box, frame) and not _overlaps(box, taken, pad=1.5):
                taken.append(box)
                placed = True
                break
            note.remove()
        if not placed:
            left.append(text)
    return left


def _phase_colour(result: "FleetResult", phase: str) -> str:
    """A phase's colour, the same in every panel (by its place in the fleet's phase order)."""
    k = result.phases.index(phase) if phase in result.phases else len(result.phases)
    return PHASE_COLOURS[k % len(PHASE_COLOURS)]


def _trend(ax: "Axes", result: "FleetResult", group: str, metric: str) -> list[Any]:
    """One group's trend over ``by``: the median level of each phase per value (a line a phase)
    and every trace as a faint dot beside it. Returns the lines (for the legend)."""
    assert result.trend is not None and result.by is not None
    by = result.by
    tr = result.trend[(result.trend["group"] == group) & (result.trend["metric"] == metric)]
    lv = result.levels[result.levels["group"] == group]
    order = result.by_values
    present = [v for v in order if (tr[by] == v).any()]
    pos = {v: i for i, v in enumerate(present)}
    phases = [p for p in result.phases if (tr["phase"] == p).any()]
    top = 1.0
    lines = []
    for k, p in enumerate(phases):
        part = tr[tr["phase"] == p].sort_values("rank", kind="stable")
        shift = (k - (len(phases) - 1) / 2) * 0.05
        c = _phase_colour(result, p)
        pts = lv[(lv["phase"] == p) & lv[by].isin(pos)]
        if len(pts):
            ys = pts[metric].to_numpy(dtype="float64")
            top = max(top, float(ys.max()))
            ax.scatter([pos[v] + shift for v in pts[by]], ys, s=10, color=c, alpha=0.5, linewidths=0, zorder=2)
        med = part["median"].to_numpy(dtype="float64")
        top = max(top, float(med.max()) if len(med) else 0.0)
        xs = [pos[v] + shift for v in part[by]]
        line = ax.plot(xs, med, marker="o", markersize=4, linewidth=1.5, color=c, label=printable(p), zorder=3)[0]
        few = part["traces"].to_numpy() < FEW
        if few.any():   # a median of one or two traces: hollow
            ax.scatter([x for x, f in zip(xs, few) if f], med[few], s=22, facecolors="white", edgecolors=c,
                       linewidths=1.2, zorder=4)
        line.set_gid(f"trend:{p}")
        lines.append(line)
    tilt = len(present) > 6 or any(len(v) > 8 for v in present)
    ax.set_xticks(range(len(present)))
    ax.set_xticklabels([printable(v) for v in present], fontsize=8.5, rotation=30 if tilt else 0,
                       ha="right" if tilt else "center")
    for t in ax.get_xticklabels():
        t.set_parse_math(False)
    ax.set_xlim(-0.5, max(len(present) - 0.5, 0.5))
    ax.yaxis.set_major_locator(_binary_locator(top))
    ax.yaxis.set_major_formatter(_bytes_formatter())
    ax.set_ylim(0, top * 1.1)
    ax.grid(axis="y", alpha=0.3)
    ax.set_xlabel(printable(f"{by} ({result.by_order} order)"), fontsize=8.5).set_parse_math(False)
    title = ax.set_title(printable(f"{group}: median over {by} (dots: the traces)"), loc="left", fontsize=10.5)
    title.set_parse_math(False)
    return lines


# -- the report -------------------------------------------------------------------------------

def fleet_report(result: "FleetResult", metric: str = "vsz", *, charts: bool = True, top: int = 200) -> "Report":
    """The fleet as a report (tracemem.reporters.report): overview, the distribution of
    ``metric`` per group and phase, the outliers, the trend, failed traces and notes."""
    from .report import Chart, Para, Report, Section, Table, _fig_svg

    check_metric(metric)
    words = METRIC_WORDS[metric]
    labels = result.labels
    charts = charts and bool(len(result.levels))   # (no trace with figures: the tables say so, no chart)
    info = result.traces
    ok = int((info["status"] == "ok").sum())
    n_failed = len(result.failed)
    name = printable(str(result.dataset))
    report = Report(title=f"fleet {name}", files=[name],
                    vsz_label=f"the {words} of each trace's root address space at the end of each phase",
                    sections=[])

    sec = Section("overview", "Fleet overview")
    grouping = ("the program the trace runs (its root's executable)" if result.group == "exe"
                else "one group (the whole dataset)" if result.group is None else f"the label {result.group}")
    if result.groups:
        sec.blocks.append(Para(f"{len(info)} traces in the dataset: {ok} analysed, {n_failed} failed. Traces are "
                               f"compared within groups of {grouping}: "
                               + ", ".join(f"{g} ({int((info['group'] == g).sum())})" for g in result.groups) + "."))
    else:
        sec.blocks.append(Para(f"{len(info)} traces in the dataset: {ok} analysed, {n_failed} failed; no trace has a "
                               "phase in its root address space, so there is nothing to compare."))
    sec.blocks.append(Para("Each trace is measured by its root address space (the process started first; fork "
                           "children are in the batch's processes table, not here). The level at the end of a "
                           "phase is the space's final total minus the changes of the phases after it."))
    named = result.outlier_traces(metric)
    sec.blocks.append(Para(f"{len(named)} outlier trace(s) in {words}: " + (", ".join(named) if named else "none")
                           + "."))
    report.sections.append(sec)

    sec = Section("distributions", f"{words[0].upper()}{words[1:]} at the end of each phase")
    if charts:
        fig = fleet_figure(result, metric, parts=("distribution",))
        sec.blocks.append(Chart("distribution", _fig_svg(fig), f"{words} at the end of each phase across traces, "
                                "per group: box from Q1 to Q3 with the median, every trace a point, the outliers "
                                "coloured and named"))
    stats = result.stats[result.stats["metric"] == metric]
    for g in result.groups:
        part = stats[stats["group"] == g]
        recs: list[Any] = list(part.itertuples(index=False))
        rows = [[str(r.phase), f"{int(r.traces)} of {int(r.of)}", human(r.median), human(r.q1), human(r.q3),
                 human(r.iqr), human(r.min), human(r.max), human(max(r.high, 0.0)),
                 str(int(((result.outliers["group"] == g) & (result.outliers["phase"] == r.phase)
                          & (result.outliers["metric"] == metric)).sum())) if r.flagged else "too few"]
                for r in recs]
        sec.blocks.append(Table(f"{g}: {words} at the end of each phase",
                                ["phase", "traces", "median", "Q1", "Q3", "IQR", "min", "max", "high fence",
                                 "outliers"], rows, set(range(1, 10))))
    report.sections.append(sec)

    sec = Section("outliers", f"Outliers in {words}")
    rule = result.rule
    sec.blocks.append(Para(f"An outlier is a level outside Q1 − w or Q3 + w of its group and phase, w = "
                           f"max({rule['fence']:g} × IQR, {human(rule['floor_bytes'])}, "
                           f"{rule['floor_fraction'] * 100:g}% of the median): Tukey's fences, which the outliers "
                           "themselves do not move while they are fewer than a quarter of the traces, with a floor "
                           "so that runs differing by a page or an allocator's rounding are not outliers. Groups and "
                           f"phases with fewer than {int(rule['min_traces'])} traces flag none.", kind="note"))
    out = result.outliers[result.outliers["metric"] == metric]
    rows = [[str(r["trace"]), *[_label(r[lab]) for lab in labels], str(r["group"]), str(r["phase"]),
             human(r["value"]), human(r["median"]), signed(int(round(r["delta"]))),
             "" if r["ratio"] is None or r["ratio"] != r["ratio"] else f"{r['ratio']:.2f}×",
             f"{'above' if r['direction'] == 'high' else 'below'} {human(max(r['fence'], 0.0))}"]
            for r in out.to_dict("records")]
    note = (f"{len(rows) - top} more outliers not listed (tracemem fleet --json lists them all)"
            if len(rows) > top else "")
    if rows:
        sec.blocks.append(Table(f"Outliers in {words}", ["trace", *labels, "group", "phase", "value", "median",
                                                         "from the median", "× median", "fence"],
                                rows[:top], set(range(len(labels) + 3, len(labels) + 7)), note))
    else:
        sec.blocks.append(Para(f"No trace is an outlier in {words}."))
    report.sections.append(sec)

    if result.trend is not None and result.by is not None:
        by = result.by
        sec = Section("trend", f"Trend over {by}")
        if charts and len(result.trend):
            fig = fleet_figure(result, metric, parts=("trend",))
            sec.blocks.append(Chart("trend", _fig_svg(fig), f"median {words} at the end of each phase per {by} "
                                    f"value ({result.by_order} order), one line a phase, every trace a faint dot"))
        tr = result.trend[result.trend["metric"] == metric]
        for g in result.groups:
            part = tr[tr["group"] == g]
            phases = [p for p in result.phases if (part["phase"] == p).any()]
            values = [v for v in result.by_values if (part[by] == v).any()]
            cells = {(str(r["phase"]), str(r[by])): r for r in part.to_dict("records")}
            rows = []
            for v in values:
                n = max((int(cells[(p, v)]["traces"]) for p in phases if (p, v) in cells), default=0)
                rows.append([v, str(n), *[human(cells[(p, v)]["median"]) if (p, v) in cells else "" for p in phases]])
            sec.blocks.append(Table(f"{g}: median {words} at the end of each phase, by {by}",
                                    [by, "traces", *phases], rows, set(range(1, len(phases) + 2))))
        report.sections.append(sec)

    sec = Section("failed", "Failed traces and notes")
    frows = [[str(r["trace"]), *[_label(r[lab]) for lab in labels], str(r["error"] or "")]
             for r in result.failed.to_dict("records")]
    if frows:
        sec.blocks.append(Table("Failed traces (not in the figures)", ["trace", *labels, "error"], frows[:top],
                                note=f"{len(frows) - top} more" if len(frows) > top else ""))
    else:
        sec.blocks.append(Para("No trace of the dataset failed in the batch."))
    for text in result.notes:
        sec.blocks.append(Para(text, kind="note"))
    report.sections.append(sec)
    return report


def _label(v: Any) -> str:
    return v if isinstance(v, str) else ""
