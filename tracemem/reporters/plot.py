"""VSZ charts that explain themselves: the address space split into disjoint parts stacked over
time (committed, reserved, file-backed, other: they add up to the VSZ line on top), startup
phases shaded and labelled, the largest steps annotated.

Library functions return a matplotlib Figure made without pyplot: no backend is switched and
no figure is registered with pyplot, so a notebook's inline charts and the caller's own figures
are left as they were. The figure shows itself in Jupyter (as PNG) when it is a cell's value;
the CLI writes PNG, SVG or PDF by the output's suffix.

Big traces: each series is thinned for drawing to the points that matter at the chart's width
(per pixel column its first, last, lowest and highest values), so steps and peaks are kept and
a million-row timeline draws as a few thousand points.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from matplotlib.figure import Figure

from ..errors import UsageError
from ..phases import Phase
from ..text import human, printable

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox


class ChartFigure(Figure):
    """A Figure that Jupyter shows as a PNG image when it is a cell's value, with or without
    pyplot's inline backend."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


COLOURS = {"committed": "#d9534f", "committed_edge": "#9e2b27", "reserved_uncharged": "#c7d3e6",
           "file_uncharged": "#8fbf7f", "other": "#e8d9a8", "vsz": "#1f2d3d",
           "map_count": "#6c5b7b", "released": "#f0ad4e"}
PHASE_SHADES = ("#f2f2f2", "#e3e8ef")

#: The stack, bottom first: disjoint parts of VSZ (every mapped byte in exactly one). Committed
#: sits at the bottom so that a small charge stays visible under a large reservation.
STACK = ("committed", "reserved_uncharged", "file_uncharged", "other")
LABELS = {"committed": "committed (charged: can become resident)",
          "reserved_uncharged": "reserved (PROT_NONE, not charged: address space only)",
          "file_uncharged": "file-backed, not charged",
          "other": "other anonymous, not charged (MAP_NORESERVE, read-only)"}
MACOS_COMMITTED = "committed: what Linux would charge for these flags (macOS does not charge this way)"

#: Processes charted when none is chosen: the largest by peak VSZ.
DEFAULT_PANELS = 4
#: At most this many processes in one chart, even when chosen (each costs a panel's memory).
MAX_PANELS = 24
#: Pixel columns the series are thinned to (about twice the chart's width at 110 dpi).
DRAW_POINTS = 2400
#: Rows of phase labels above the data before a phase is listed in the caption instead.
LABEL_ROWS = 3
UNTRACED = ("its own calls are not in the trace (a child seen only in its fork: strace without -f?): "
            "drawn as the fork copied it, held to the trace's end")
#: Narrow phases named in a panel's caption; the rest are counted.
NARROW_LISTED = 4
#: Characters per line of a panel's caption (fits the 11-inch chart at its font size).
CAPTION_WIDTH = 120


#: The x axis's words, with timestamps and without.
TIMED_AXIS = "seconds since the first event of the trace"
UNTIMED_AXIS = "event order (seq): this trace has no timestamps"


def x_values(rows: "pd.DataFrame", t0: float | None) -> tuple["np.ndarray", bool]:
    """Seconds since ``t0`` (True) when every row has a timestamp, else the event order (False)."""
    times = rows["time"]
    if t0 is not None and len(rows) and bool(times.notna().all()):
        return times.to_numpy(dtype="float64") - t0, True
    return rows["seq"].to_numpy(dtype="float64"), False


@dataclass
class _Space:
    """One process's series, ready to draw: x, the stack's parts, VSZ, extra panels."""

    asid: int | None
    rows: "pd.DataFrame"
    xs: "np.ndarray"
    values: dict[str, "np.ndarray"]
    held: bool
    start: float
    end: float
    phases: list[Phase] = field(default_factory=list)

    def drawn(self, name: str, keep: "np.ndarray") -> list[int]:
        """Series ``name`` at the rows kept for drawing, its last value held to the end."""
        values: list[int] = self.values[name][keep].tolist()
        return values + values[-1:] if self.held else values

    def drawn_xs(self, keep: "np.ndarray") -> list[float]:
        """The x of the rows kept for drawing, and the end when the last values are held."""
        xs: list[float] = self.xs[keep].tolist()
        return xs + [self.end] if self.held else xs


def vsz_figure(timeline: "pd.DataFrame", phases: Sequence[Phase] = (), *, title: str = "",
               pids: Sequence[int | None] | None = None, log: bool = False, panels: Sequence[str] = (),
               annotate: int = 3, t0: float | None = None, traced_only: bool = True,
               spans: Mapping[int | None, tuple[tuple[float | None, int], tuple[float | None, int]]] | None = None,
               names: Mapping[int | None, str | None] | None = None, limit: int = DEFAULT_PANELS,
               macos: bool = False, caption: Sequence[str] = (),
               untraced: Sequence[int | None] = ()) -> ChartFigure:
    """The main chart: one panel per process on one shared time axis.

    ``pids``: the processes (address-space ids, as :meth:`Trace.select` gives them; None for the
    one without a pid), else the ``limit`` largest by peak VSZ, the rest named in the caption.
    ``traced_only``: the figures hold only what the trace shows (no exec-time baseline), and the
    VSZ line says "traced". ``t0``: the zero of the time axis (Trace.plot gives the trace's first
    event; default the first timeline row). ``spans``: per process, the (time, seq) of its first
    and last event (:meth:`Trace.event_spans`): the axis covers them, the last values held to
    the last event (a process's memory outlives its last change). ``names``: each process's
    program. ``macos``: a dtruss trace (the commit charge is Linux's rule, said on the legend).
    ``untraced``: processes whose own calls the trace does not show (a fork child of a capture
    without -f): their panels say so. Phase bands start at the phases' own times (or seqs,
    without timestamps)."""
    spaces, more = _choose(timeline, pids, limit)
    if t0 is None and len(timeline) and timeline["time"].notna().any():
        t0 = float(timeline["time"].dropna().min())
    drawn = [_prepare(timeline, asid, t0, spans, [p for p in phases if p.asid == asid], panels) for asid in spaces]
    timed = all(s.rows["time"].notna().all() for s in drawn) and t0 is not None
    if not timed:  # one axis for all: the event order when any of them lacks timestamps
        drawn = [_prepare(timeline, s.asid, None, spans, s.phases, panels) for s in drawn]
    xlabel = TIMED_AXIS if timed else UNTIMED_AXIS
    lo = min(s.start for s in drawn)
    hi = max(s.end for s in drawn)
    span = hi - lo if hi > lo else 1.0

    rows_per = 1 + len(panels)
    heights = ([3.0] + [1.0] * len(panels)) * len(drawn)
    fig = ChartFigure(figsize=(11, 1.4 + sum(h * 1.15 for h in heights)), layout="constrained")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # a renderer to measure text with (labels are placed so none overlap)
    axes = fig.subplots(len(heights), 1, squeeze=False, sharex=True, gridspec_kw={"height_ratios": heights})
    labels = dict(LABELS)
    if macos:
        labels["committed"] = MACOS_COMMITTED
    handles: list[Any] = []
    notes_per: list[list[str]] = []
    untraced_set = set(untraced)
    for k, s in enumerate(drawn):
        ax = axes[k * rows_per][0]
        keep = _thin(s.xs, [s.values[n] for n in (*STACK, "vsz")], lo, span)
        end_xs = s.drawn_xs(keep)
        stack = [s.drawn(n, keep) for n in STACK]
        polys = ax.stackplot(end_xs, *stack, step="post", colors=[COLOURS[n] for n in STACK],
                             labels=[labels[n] for n in STACK], alpha=0.95, linewidth=0)
        for poly, name in zip(polys, STACK):
            poly.set_gid(f"stack:{name}")
        # the committed level as a line too: a small charge under a large reservation stays visible
        ax.step(end_xs, stack[0], where="post", color=COLOURS["committed_edge"], linewidth=0.9, gid="line:committed")
        vsz = s.drawn("vsz", keep)
        (vline,) = ax.step(end_xs, vsz, where="post", color=COLOURS["vsz"], linewidth=1.8, solid_capstyle="butt",
                           label="VSZ (traced)" if traced_only else "VSZ", gid="line:vsz")
        if k == 0:  # row by row (the legend fills columns): VSZ, committed, reserved / file, other
            handles = [vline, polys[2], polys[0], polys[3], polys[1]]
        peak = max(vsz + [1])
        _y_axis(ax, peak, log)
        ax.set_gid(f"space:{'' if s.asid is None else s.asid}")
        who = _who(s.asid, names)
        ax.set_title(who, loc="left", fontsize=10.5, pad=6)
        ax.set_ylabel("bytes")
        ax.grid(axis="y", alpha=0.3)
        ax.set_xlim(lo - span * 0.005, hi + span * 0.005)
        notes_per.append([UNTRACED] if s.asid in untraced_set else [])
        for j, panel in enumerate(panels, start=1):
            pax = axes[k * rows_per + j][0]
            pkeep = _thin(s.xs, [s.values[panel]], lo, span)
            pv = s.drawn(panel, pkeep)
            pax.step(s.drawn_xs(pkeep), pv, where="post", color=COLOURS.get(panel, "#333333"), linewidth=1.4,
                     gid=f"line:{panel}")
            pax.set_ylabel("maps" if panel == "map_count" else "released")
            if panel == "released":
                pax.yaxis.set_major_formatter(_bytes_formatter())
                pax.yaxis.set_major_locator(_binary_locator(max(pv + [1])))
            pax.set_ylim(bottom=0, top=max(pv + [1]) * 1.1)
            pax.grid(axis="y", alpha=0.3)
        _phase_bands(ax, s, timed, t0)
    # one legend for every panel, outside the plots; the caption says what is not drawn
    fig.legend(handles=handles, labels=[h.get_label() for h in handles], loc="outside lower center",
               ncols=2 if macos else 3, fontsize=8, frameon=False)
    if title:
        fig.suptitle(printable(title), fontsize=12, x=0.01, ha="left")
    lines = [xlabel, *caption]
    if more:
        lines.append(f"{len(spaces)} of {len(spaces) + len(more)} processes, the largest by peak VSZ; "
                     f"{len(more)} more: choose with --pid or --process")
    axes[-1][0].set_xlabel("\n".join(printable(x) for x in lines))
    fig.canvas.draw()  # lay out, then place the texts that must not overlap
    for k, s in enumerate(drawn):
        ax = axes[k * rows_per][0]
        narrow = _place_phase_labels(fig, ax, timed)
        placed = [t.get_window_extent() for t in ax.texts if (t.get_gid() or "").startswith("phase-label")]
        _annotate_steps(fig, ax, s, annotate, placed)
        if narrow:
            shown = "; ".join(narrow[:NARROW_LISTED])
            if len(narrow) > NARROW_LISTED:
                where = f" --pid {s.asid}" if s.asid is not None else ""
                shown += f"; and {len(narrow) - NARROW_LISTED} more (tracemem phases{where} lists them)"
            notes_per[k].append("phases too narrow to label: " + shown)
        if notes_per[k]:
            import textwrap

            wrapped = [textwrap.fill(n, CAPTION_WIDTH, subsequent_indent="  ") for n in notes_per[k]]
            ax.set_title(f"{ax.get_title(loc='left')}\n" + "\n".join(wrapped), loc="left", fontsize=9.5, pad=6)
    return fig


def _choose(timeline: "pd.DataFrame", pids: Sequence[int | None] | None,
            limit: int) -> tuple[list[int | None], list[int | None]]:
    """The processes to chart and the ones left out (the largest by peak VSZ when none is chosen)."""
    if not len(timeline):
        raise UsageError("nothing to plot: the trace has no address-space changes (no mmap, munmap, brk, "
                         "mprotect, mremap or madvise it could apply); was it captured with a filter such as "
                         "-e trace=%network? Capture with the command in the README")
    peaks = timeline.groupby(timeline["asid"].astype("object").fillna(-1), sort=False)["vsz"].max()
    order: list[int | None] = [None if a == -1 else int(a) for a in peaks.index.tolist()]
    peak = {a: int(v) for a, v in zip(order, peaks.tolist())}
    if pids is not None:
        wanted = list(dict.fromkeys(pids))
        chosen = [a for a in wanted if a in peak]
        if not chosen:
            raise UsageError("nothing to plot: no address-space changes for the chosen process(es)")
        if len(chosen) > MAX_PANELS:
            return chosen[:MAX_PANELS], chosen[MAX_PANELS:]
        return chosen, []
    if not any(peak.values()):
        raise UsageError("nothing to plot: the trace maps no memory (every address-space total stays 0)")
    ranked = sorted(order, key=lambda a: -peak[a])  # (stable: ties in trace order)
    picked = {a for a in ranked[:max(1, limit)] if peak[a] > 0}
    return [a for a in order if a in picked], [a for a in order if a not in picked]  # in trace order


def _prepare(timeline: "pd.DataFrame", asid: int | None, t0: float | None,
             spans: Mapping[int | None, tuple[tuple[float | None, int], tuple[float | None, int]]] | None,
             phases: list[Phase],
             panels: Sequence[str]) -> _Space:
    import numpy as np

    rows = (timeline[timeline["asid"] == asid] if asid is not None
            else timeline[timeline["asid"].isna()]).sort_values("seq", kind="stable")
    xs, timed = x_values(rows, t0)
    if timed and len(xs):
        # a call that finished after a later-started one (threads; strace's unfinished/resumed
        # pairs) is applied in the order the replay applied them: its time never goes backwards
        xs = np.maximum.accumulate(xs)
    values = {n: rows[n].to_numpy(dtype="int64") for n in
              ("vsz", "committed", "reserved_uncharged", "file_uncharged", *panels)}
    values["other"] = values["vsz"] - values["committed"] - values["reserved_uncharged"] - values["file_uncharged"]
    start = float(xs[0]) if len(xs) else 0.0
    end = float(xs[-1]) if len(xs) else 0.0
    mine = (spans or {}).get(asid)
    if mine is not None:
        (t_first, s_first), (t_last, s_last) = mine
        if timed and t_first is not None and t_last is not None and t0 is not None:
            start, end = min(start, t_first - t0), max(end, t_last - t0)
        elif not timed:
            start, end = min(start, float(s_first)), max(end, float(s_last))
    return _Space(asid, rows, xs, values, bool(len(xs)) and end > float(xs[-1]), start, end, phases)


def _thin(xs: "np.ndarray", series: Sequence["np.ndarray"], lo: float, span: float,
          points: int = DRAW_POINTS) -> "np.ndarray":
    """The rows worth drawing at ``points`` pixel columns: in each column its first and last row
    and the rows where each series is lowest and highest (so every step and every peak is kept).
    All rows when there are few."""
    import numpy as np

    n = len(xs)
    if n <= 4 * points:
        return np.arange(n)
    col = np.clip(((xs - lo) / span * points).astype("int64"), 0, points)
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])  # runs of one column
    ends = np.r_[starts[1:] - 1, n - 1]
    keep = [starts, ends]
    run = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    for v in series:
        # the lowest and highest row of each run: sort by (run, value), take each run's ends
        order = np.lexsort((v, run))
        first = np.r_[0, np.flatnonzero(run[order][1:] != run[order][:-1]) + 1]
        lastpos = np.r_[first[1:] - 1, n - 1]
        keep += [order[first], order[lastpos]]
    return np.unique(np.concatenate(keep))


def _who(asid: int | None, names: Mapping[int | None, str | None] | None) -> str:
    exe = (names or {}).get(asid)
    prog = printable(exe.rsplit("/", 1)[-1]) if exe else None
    if asid is None:
        return f"{prog} (the process without a pid in the trace)" if prog else "the process without a pid in the trace"
    return f"{prog} (pid {asid})" if prog else f"pid {asid} (its program is not in the trace)"


def _tick(v: float, _pos: object = None) -> str:
    """A byte count for an axis tick: round binary sizes without a needless ``.0``."""
    text = human(v)
    return text.replace(".0 ", " ")


def _bytes_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_tick)


def _binary_locator(top: float) -> Any:
    """Ticks at round binary sizes (64 MiB, 256 MiB, 1 GiB ...), about five of them."""
    from matplotlib.ticker import MultipleLocator

    step = 1
    while top / step > 6:
        step *= 2
    return MultipleLocator(step)


def _y_axis(ax: "Axes", peak: int, log: bool) -> None:
    """Bytes on the y axis with room above the data for the phase labels (the top ~20%)."""
    if log:
        from matplotlib.ticker import FixedLocator, NullLocator

        ax.set_yscale("symlog", linthresh=1 << 20, linscale=0.6)
        scale = ax.yaxis.get_transform()
        top = float(scale.inverted().transform([[float(scale.transform([[peak]])[0][0]) / 0.78]])[0][0])
        ticks = [0.0]
        step = 4 if peak >= 1 << 26 else 2
        t = 1 << 20
        while t <= top:
            ticks.append(float(t))
            t *= step
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_ylim(0, top)
    else:
        ax.yaxis.set_major_locator(_binary_locator(peak))
        ax.set_ylim(0, peak / 0.78)
    ax.yaxis.set_major_formatter(_bytes_formatter())


def _x_at_seq(s: _Space, seq: int) -> float:
    import numpy as np

    seqs = s.rows["seq"].to_numpy(dtype="int64")
    i = int(np.searchsorted(seqs, seq))
    if i >= len(s.xs):
        return float(s.xs[-1]) if len(s.xs) else 0.0
    return float(s.xs[i])


def _phase_x(p: Phase, s: _Space, timed: bool, t0: float | None, end: bool = False) -> float | None:
    """Where a phase starts (or ends) on the axis: its own time (or seq), not the next change."""
    t = p.end_time if end else p.start_time
    seq = p.end_seq if end else p.start_seq
    if timed:
        if t is not None and t0 is not None:
            return t - t0
        return _x_at_seq(s, seq) if seq is not None else None
    return float(seq) if seq is not None else None


def _phase_bands(ax: "Axes", s: _Space, timed: bool, t0: float | None) -> None:
    """Shade each phase from its start to the next one's (the last to the process's end) and put
    its name at the top of the band (placed later, when the layout is known)."""
    if not len(s.xs):
        return
    ordered = sorted(s.phases, key=lambda p: p.start_seq)
    lo, hi = ax.get_xlim()
    for i, p in enumerate(ordered):
        x0 = _phase_x(p, s, timed, t0)
        if x0 is None:
            continue
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        x1 = _phase_x(nxt, s, timed, t0) if nxt is not None else None
        if x1 is None:
            x1 = s.end
        if x1 <= x0:  # a phase of no duration: a visible sliver
            x1 = x0 + (hi - lo) * 0.002
        ax.axvspan(x0, x1, color=PHASE_SHADES[i % 2], alpha=0.8, zorder=0, label=None, gid=f"phase:{p.name}")
        ax.text((x0 + x1) / 2, 0.985, printable(p.name), transform=ax.get_xaxis_transform(), ha="center",
                va="top", fontsize=8, color="#333333", gid=f"phase-label:{float(x0)!r}:{float(x1)!r}",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})


def _overlaps(box: "Bbox", others: Sequence["Bbox"], pad: float = 1.0) -> bool:
    return any(box.x0 < o.x1 + pad and o.x0 < box.x1 + pad and box.y0 < o.y1 + pad and o.y0 < box.y1 + pad
               for o in others)


def _inside(box: "Bbox", frame: "Bbox") -> bool:
    return bool(box.x0 >= frame.x0 - 0.5 and box.x1 <= frame.x1 + 0.5
                and box.y0 >= frame.y0 - 0.5 and box.y1 <= frame.y1 + 0.5)


def _place_phase_labels(fig: Figure, ax: "Axes", timed: bool) -> list[str]:
    """Each phase's name over its band, in the first of LABEL_ROWS rows where it overlaps no
    other name and stays inside the axes; the names that fit nowhere are returned (with their
    times) for the caption, and their texts removed."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)
    rows: list[list["Bbox"]] = [[] for _ in range(LABEL_ROWS)]
    narrow: list[str] = []
    to_px = ax.transData.transform
    for t in [t for t in ax.texts if (t.get_gid() or "").startswith("phase-label:")]:
        _, a, b = (t.get_gid() or "").split(":")
        x0, x1 = float(a), float(b)
        box = t.get_window_extent(renderer)
        w = box.width
        centre = (to_px((x0, 0))[0] + to_px((x1, 0))[0]) / 2
        left = min(max(centre - w / 2, frame.x0 + 2), frame.x1 - w - 2)
        placed = False
        for k, row in enumerate(rows):
            y_top = frame.y1 - 3 - k * (box.height + 3)
            from matplotlib.transforms import Bbox

            cand = Bbox.from_extents(left, y_top - box.height, left + w, y_top)
            if not _overlaps(cand, row, pad=3):
                xd = ax.transData.inverted().transform((left + w / 2, 0))[0]
                t.set_x(xd)
                t.set_y(1 - (frame.y1 - y_top) / frame.height)
                row.append(cand)
                placed = True
                break
        if not placed:
            narrow.append(f"{t.get_text()} {_span(x0, x1, timed)}")
            t.remove()
    return narrow


def _span(x0: float, x1: float, timed: bool) -> str:
    """A phase's span for a caption: seconds with as many decimals as tell its ends apart (at
    most 6), or event numbers."""
    if not timed:
        return f"seq {int(x0)}–{int(x1)}"
    digits = next((d for d in range(3, 7) if f"{x0:.{d}f}" != f"{x1:.{d}f}"), 6)
    return f"{x0:.{digits}f}–{x1:.{digits}f} s"


def _annotate_steps(fig: Figure, ax: "Axes", s: _Space, n: int, taken: list["Bbox"]) -> None:
    """The ``n`` largest VSZ steps, each labelled with its size and role, placed inside the axes
    where it overlaps no phase name and no other step's label (tried on both sides, above and
    below the point); a step that fits nowhere is not labelled."""
    import numpy as np

    vsz = s.values["vsz"]
    if n <= 0 or len(vsz) < 2:
        return
    deltas = np.diff(vsz, prepend=0)
    order = np.argsort(-np.abs(deltas), kind="stable")[:n]
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)
    roles = s.rows["role"]
    for i in order.tolist():
        delta = int(deltas[i])
        if delta == 0:
            continue
        role = roles.iloc[i]
        label = f"{'+' if delta > 0 else '−'}{human(abs(delta))} {printable(role) if isinstance(role, str) else ''}".strip()
        at = (float(s.xs[i]), int(vsz[i]))
        for dx, dy in ((10, -14), (-10, -14), (10, -34), (-10, -34), (10, 10), (-10, 10), (10, -54), (-10, -54)):
            note: "Text" = ax.annotate(label, xy=at, xytext=(dx, dy), textcoords="offset points", fontsize=8,
                                       ha="left" if dx > 0 else "right", va="center", gid="step-label",
                                       arrowprops={"arrowstyle": "-", "color": "#555555", "lw": 0.7},
                                       bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#bbbbbb",
                                             "alpha": 0.95})
            box = note.get_window_extent(renderer)
            if _inside(box, frame) and not _overlaps(box, taken, pad=2):
                taken.append(box)
                break
            note.remove()


def chart_format(path: str | os.PathLike[str]) -> str:
    """The chart format a path's suffix names (.png, .svg, .pdf); UsageError otherwise."""
    from pathlib import Path

    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg", ".pdf"):
        raise UsageError(f"{path}: unknown chart format {suffix or '(no suffix)'!r}; use .png, .svg or .pdf")
    return suffix


def save(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Write a figure as PNG, SVG or PDF by the suffix (OutputError when it cannot be written)."""
    from ..errors import OutputError

    suffix = chart_format(path)
    try:
        fig.savefig(path, dpi=110 if suffix == ".png" else None,
                    metadata={"Software": "tracemem"} if suffix == ".png" else None)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
