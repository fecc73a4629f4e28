"""VSZ charts that explain themselves: reserved / committed / file-backed bytes stacked over time,
the VSZ line on top, startup phases shaded and labelled, the largest steps annotated.

Library functions return a matplotlib Figure made without pyplot: no backend is switched and
no figure is registered with pyplot, so a notebook's inline charts and the caller's own figures
are left as they were. The figure shows itself in Jupyter (as PNG) when it is a cell's value;
the CLI writes PNG, SVG or PDF by the output's suffix.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Sequence

from matplotlib.figure import Figure

from ..errors import UsageError
from ..phases import Phase
from ..text import human, printable

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.ticker import MultipleLocator


class ChartFigure(Figure):
    """A Figure that Jupyter shows as a PNG image when it is a cell's value, with or without
    pyplot's inline backend."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


COLOURS = {"reserved": "#c7d3e6", "committed": "#d9534f", "file": "#8fbf7f", "vsz": "#1f2d3d",
           "map_count": "#6c5b7b", "released": "#f0ad4e"}
PHASE_SHADES = ("#f2f2f2", "#e3e8ef")


def x_values(rows: "pd.DataFrame", t0: float | None) -> tuple[list[float], str]:
    """Seconds since the first event when the trace has timestamps, else the event order."""
    if t0 is not None and rows["time"].notna().all() and len(rows):
        return [float(t) - t0 for t in rows["time"]], "seconds since the first event"
    return [int(s) for s in rows["seq"]], "event order (seq): this trace has no timestamps"


def vsz_figure(timeline: "pd.DataFrame", phases: Sequence[Phase] = (), *, title: str = "",
               pids: Sequence[int] | None = None, log: bool = False, panels: Sequence[str] = (), annotate: int = 3,
               t0: float | None = None, traced_only: bool = True,
               last: dict[int | None, tuple[float | None, int]] | None = None) -> ChartFigure:
    """The main chart, one column of panels per address space (``pids`` picks them).
    ``traced_only``: the figures hold only what the trace shows (no exec-time baseline), and the
    VSZ line says "traced". ``t0``: the zero of the time axis (Trace.plot gives the trace's first
    event; default the first timeline row). ``last``: per address space, the time and seq of its
    last event: the axis runs to it, the last values held (a process's memory outlives its last
    change). Phase bands start at the phases' own times (or seqs, without timestamps)."""
    import pandas as pd
    from matplotlib.ticker import FuncFormatter

    # every address space, the one of tasks without a pid (strace without -f) included
    spaces: list[int | None] = list(dict.fromkeys(
        None if a is pd.NA else int(a) for a in timeline["asid"].astype(object).tolist())) if len(timeline) else []
    if pids is not None:
        spaces = [a for a in spaces if a is not None and a in set(int(p) for p in pids)]
    if not spaces:
        raise UsageError("nothing to plot: no address-space changes for the chosen process(es)")
    rows_per = 1 + len(panels)
    fig = ChartFigure(figsize=(11, 4.2 * len(spaces) + 1.6 * len(panels) * len(spaces)))
    axes = fig.subplots(rows_per * len(spaces), 1, squeeze=False, sharex=False,
                        gridspec_kw={"height_ratios": ([3] + [1] * len(panels)) * len(spaces)})
    if t0 is None and len(timeline) and timeline["time"].notna().any():
        t0 = float(timeline["time"].dropna().min())
    for k, asid in enumerate(spaces):
        rows = (timeline[timeline["asid"] == asid] if asid is not None
                else timeline[timeline["asid"].isna()]).sort_values("seq")
        xs, xlabel = x_values(rows, t0)
        ax = axes[k * rows_per][0]
        timed = xlabel.startswith("seconds")
        mine = [p for p in phases if p.asid == asid]
        end_x = _end_x(xs, timed, t0, (last or {}).get(asid), mine)
        held = bool(xs) and end_x > xs[-1]
        plot_xs = xs + [end_x] if held else xs

        def series(name: str) -> list[int]:
            values = rows[name].astype("int64").tolist()
            return values + values[-1:] if held else values

        reserved = series("reserved")
        committed = series("committed")
        file_ = series("file")
        vsz = series("vsz")
        ax.stackplot(plot_xs, reserved, committed, file_, step="post",
                     colors=[COLOURS["reserved"], COLOURS["committed"], COLOURS["file"]],
                     labels=["reserved (PROT_NONE: address space only)", "committed (charged)", "file-backed"],
                     alpha=0.9)
        ax.step(plot_xs, vsz, where="post", color=COLOURS["vsz"], linewidth=1.8,
                label="VSZ (traced)" if traced_only else "VSZ")
        _phase_bands(ax, mine, rows, xs, timed, t0, end_x)
        _annotate_steps(ax, rows, xs, annotate)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v)))
        ax.yaxis.set_major_locator(_binary_locator(max(vsz + [1])))
        if log:
            ax.set_yscale("symlog", linthresh=1 << 20)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v)))
        ax.set_ylabel("bytes")
        ax.set_xlabel(xlabel)
        ax.margins(x=0.01)
        who = f"process {asid}" if asid is not None else "the process without a pid in the trace"
        ax.set_title(f"{printable(title)} — {who}" if title else who, loc="left", fontsize=11, pad=8)
        ax.legend(loc="center left", fontsize=8, framealpha=0.85)
        ax.grid(axis="y", alpha=0.3)
        for j, panel in enumerate(panels, start=1):
            pax = axes[k * rows_per + j][0]
            values = series(panel)
            pax.step(plot_xs, values, where="post", color=COLOURS.get(panel, "#333333"), linewidth=1.4)
            pax.set_ylabel("maps" if panel == "map_count" else "released")
            if panel == "released":
                pax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v)))
                pax.yaxis.set_major_locator(_binary_locator(max(values + [1])))
            pax.set_xlabel(xlabel)
            pax.grid(axis="y", alpha=0.3)
            pax.margins(x=0.01)
    fig.tight_layout()
    return fig


def _binary_locator(top: float) -> "MultipleLocator":
    """Ticks at round binary sizes (64 MiB, 256 MiB, 1 GiB ...), about five of them."""
    from matplotlib.ticker import MultipleLocator

    step = 1
    while top / step > 6:
        step *= 2
    return MultipleLocator(step)


def _x_at_seq(rows: "pd.DataFrame", xs: list[float], seq: int) -> float:
    seqs = [int(s) for s in rows["seq"]]
    import bisect

    i = bisect.bisect_left(seqs, seq)
    if i >= len(xs):
        return xs[-1] if xs else 0.0
    return xs[i]


def _phase_x(p: Phase, timed: bool, t0: float | None, rows: "pd.DataFrame", xs: list[float],
             end: bool = False) -> float | None:
    """Where a phase starts (or ends) on the axis: its own time (or seq), not the next change."""
    t = p.end_time if end else p.start_time
    seq = p.end_seq if end else p.start_seq
    if timed:
        if t is not None and t0 is not None:
            return t - t0
        return _x_at_seq(rows, xs, seq) if seq is not None else None
    return float(seq) if seq is not None else None


def _end_x(xs: list[float], timed: bool, t0: float | None, last: tuple[float | None, int] | None,
           phases: Sequence[Phase]) -> float:
    """The right end of the axis: the process's last event (or the last phase's end)."""
    end = xs[-1] if xs else 0.0
    if last is not None:
        when, seq = last
        if timed and when is not None and t0 is not None:
            end = max(end, when - t0)
        elif not timed:
            end = max(end, float(seq))
    return end


def _phase_bands(ax: "Axes", phases: Sequence[Phase], rows: "pd.DataFrame", xs: list[float], timed: bool = True,
                 t0: float | None = None, end_x: float | None = None) -> None:
    if not xs:
        return
    right = end_x if end_x is not None else xs[-1]
    ordered = sorted(phases, key=lambda p: p.start_seq)
    for i, p in enumerate(ordered):
        x0 = _phase_x(p, timed, t0, rows, xs)
        if x0 is None:
            continue
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        x1 = (_phase_x(nxt, timed, t0, rows, xs) if nxt is not None else None)
        if x1 is None:
            x1 = right
        if x1 <= x0:
            x1 = x0 + (right - xs[0]) * 0.004 if right > xs[0] else x0 + 1
        ax.axvspan(x0, x1, color=PHASE_SHADES[i % 2], alpha=0.8, zorder=0, label=None,
                   gid=f"phase:{p.name}")
        ax.text((x0 + x1) / 2, 0.985, printable(p.name), transform=ax.get_xaxis_transform(), ha="center", va="top",
                fontsize=8, color="#333333", clip_on=True,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})


def _annotate_steps(ax: "Axes", rows: "pd.DataFrame", xs: list[float], n: int) -> None:
    if n <= 0 or len(rows) < 2:
        return
    vsz = rows["vsz"].astype("int64").tolist()
    steps = sorted(((vsz[i] - (vsz[i - 1] if i else 0), i) for i in range(len(vsz))), key=lambda s: -abs(s[0]))
    for delta, i in steps[:n]:
        if delta == 0:
            continue
        role = rows["role"].iloc[i]
        label = f"{'+' if delta > 0 else '−'}{human(abs(delta))} {printable(role) if isinstance(role, str) else ''}".strip()
        ax.annotate(label, xy=(xs[i], vsz[i]), xytext=(10, -14 if delta > 0 else 10), textcoords="offset points",
                    fontsize=8, arrowprops={"arrowstyle": "-", "color": "#555555", "lw": 0.7},
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#bbbbbb", "alpha": 0.9})


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
