"""The overlay chart of ``tracemem diff -o``: both runs' VSZ and committed on one time axis
(after in strong colours, before muted), aligned at a phase's start, the after run's phases
shaded and the before run's phase starts marked, the largest per-role changes written on it,
and a second panel with the per-role changes as bars.

Runs of very different lengths: the time axis is linear over the shorter run and logarithmic
beyond it (said in the axis label), so neither run is squeezed into a corner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..text import printable
from .plot import PHASE_SHADES, ChartFigure, _binary_locator, _bytes_formatter, _thin, _tick

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..compare import Comparison, Run

AFTER = {"vsz": "#1f4e9c", "committed": "#c0392b"}
BEFORE = {"vsz": "#9fb3d1", "committed": "#e6a9a3"}
#: Above this ratio of the runs' lengths the time axis turns logarithmic past the shorter run.
LENGTH_RATIO = 3.0
ROLE_BARS = 8


def _phase_starts(run: "Run", asids: list[int | None]) -> list[tuple[str, float | None, int]]:
    """(name, start time, start seq) of the phases of the given spaces, in order."""
    chosen = set(asids)
    out = []
    for p in run.processes:
        if p.asid in chosen:
            out += [(ph.name, ph.start_time, ph.start_seq) for ph in p.phases]
    return sorted(out, key=lambda t: t[2])


def _origin(run: "Run", align: str, timed: bool, asids: list[int | None]) -> tuple[float, str]:
    """Where x is 0 for the run: the start of its first ``align`` phase (the first event when the
    default exec is not in the trace). UsageError for another phase it does not have."""
    for name, t, seq in _phase_starts(run, asids):
        if name == align:
            return (float(t) if timed and t is not None else float(seq)), align
    if align != "exec":
        names = sorted({n for n, _, _ in _phase_starts(run, asids)})
        raise UsageError(f"--align {printable(align)}: the {run.label} run has no such phase "
                         f"(its phases: {', '.join(names) or 'none'})")
    tl = run.timeline
    if not len(tl):
        return 0.0, "the first event"
    return (float(tl["time"].min()) if timed else float(tl["seq"].min())), "the first event"


def overlay_series(cmp: "Comparison", align: str = "exec") -> dict[str, Any]:
    """The chart's data: per run and metric the aligned x and the values (what is drawn, before
    thinning), whether x is in seconds, and each run's origin."""
    from ..compare import run_series

    timed = all(run.summary.time_kind is not None and len(run.timeline) and run.timeline["time"].notna().all()
                for run in (cmp.before, cmp.after))
    out: dict[str, Any] = {"timed": bool(timed), "runs": {}}
    focus = _focus(cmp)
    for run in (cmp.before, cmp.after):
        zero, what = _origin(run, align, bool(timed), focus[run.label])
        series = {}
        for metric in ("vsz", "committed"):
            s = run_series(run, metric)
            xs = (s["x"].to_numpy(float) if timed else s["seq"].to_numpy(float)) - zero
            series[metric] = (xs, s["value"].to_numpy("int64"))
        last = run.trace.last_event()
        end = None if last is None else (last[0] if timed else float(last[1]))
        out["runs"][run.label] = {"series": series, "zero": zero, "origin": what, "focus": focus[run.label],
                                  "end": None if end is None else float(end) - zero}
    return out


def _focus(cmp: "Comparison") -> dict[str, list[int | None]]:
    """The spaces whose phases are drawn: the largest matched pair (else each run's largest)."""
    both = cmp.processes[cmp.processes["status"] == "both"] if len(cmp.processes) else cmp.processes
    if len(both):
        row = both.sort_values("vsz_after", ascending=False).iloc[0]

        from ..compare import _id

        return {"before": [_id(row["pid_before"])], "after": [_id(row["pid_after"])]}
    return {run.label: run.spaces[:1] for run in (cmp.before, cmp.after)}


def diff_figure(cmp: "Comparison", *, align: str = "exec", width: float = 11.0) -> ChartFigure:
    """The overlay chart (see the module's documentation)."""
    import numpy as np

    data = overlay_series(cmp, align)
    timed = data["timed"]
    fig = ChartFigure(figsize=(width, 7.4), layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=(3, 1.6))
    ax = fig.add_subplot(grid[0])
    bars = fig.add_subplot(grid[1])
    runs = data["runs"]
    lo = min((float(s[0][0]) for r in runs.values() for s in r["series"].values() if len(s[0])), default=0.0)
    hi = max([float(s[0][-1]) for r in runs.values() for s in r["series"].values() if len(s[0])]
             + [float(r["end"]) for r in runs.values() if r["end"] is not None] or [1.0])
    span = max(hi - lo, 1e-9)
    for label, colours, width_ in (("before", BEFORE, 1.4), ("after", AFTER, 2.0)):
        for metric in ("vsz", "committed"):
            xs, ys = runs[label]["series"][metric]
            if not len(xs):
                continue
            keep = _thin(xs, [ys.astype(float)], lo, span)
            ax.step(xs[keep], ys[keep], where="post", color=colours[metric], linewidth=width_,
                    label=f"{metric.replace('vsz', 'VSZ')} {label}", zorder=3 if label == "after" else 2)
            end = runs[label]["end"]
            if end is not None and end > xs[-1]:
                # the last value held to the run's last event (the run goes on without a change)
                ax.plot([xs[-1], end], [ys[-1], ys[-1]], color=colours[metric], linewidth=width_,
                        zorder=3 if label == "after" else 2)
    top = max((int(ys.max()) for r in runs.values() for _, ys in r["series"].values() if len(ys)), default=1)
    ax.set_ylim(0, max(top, 1) * 1.22)
    ax.yaxis.set_major_locator(_binary_locator(max(top, 1) * 1.22))
    ax.yaxis.set_major_formatter(_bytes_formatter())
    origins = {label: runs[label]["origin"] for label in runs}
    unit = "seconds" if timed else "events (seq; a trace has no timestamps)"
    where = origins["after"] if origins["after"] == origins["before"] else \
        f"{origins['before']} (before) / {origins['after']} (after)"
    xlabel = f"{unit} from the start of {where}"
    lengths = {label: max([float(s[0][-1]) for s in runs[label]["series"].values() if len(s[0])]
                          + ([float(runs[label]["end"])] if runs[label]["end"] is not None else []) or [0.0])
               for label in runs}
    short, long_ = sorted(max(v, 1e-9) for v in lengths.values())
    if timed and long_ / short > LENGTH_RATIO:
        ax.set_xscale("symlog", linthresh=short)
        xlabel += f" (linear to {short:.3g} s, logarithmic after: one run is {long_ / short:.0f}x longer)"
    ax.set_xlim(min(lo, 0.0), hi + (hi - min(lo, 0.0)) * 0.01)
    ax.set_xlabel(xlabel)
    _phases(ax, cmp, runs, timed)   # (after the axis's scale and limits: labels are spaced in pixels)
    ax.set_ylabel("bytes")
    ax.set_title(_title(cmp), loc="left", fontsize=11)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, ncol=5, frameon=False)
    _role_bars(bars, cmp)
    return fig


def _title(cmp: "Comparison") -> str:
    t = {str(r["metric"]): r for r in cmp.totals.to_dict("records")}

    def ch(m: str) -> str:
        v = int(t[m]["change"])
        return ("+" if v > 0 else "−" if v < 0 else "±") + _tick(abs(v))

    def level(m: str, side: str) -> str:
        return _tick(int(t[m][side]))

    return (f"before → after: VSZ {level('vsz', 'before')} → {level('vsz', 'after')} ({ch('vsz')}), "
            f"committed {level('committed', 'before')} → {level('committed', 'after')} ({ch('committed')})")


def _phases(ax: Any, cmp: "Comparison", runs: dict[str, Any], timed: bool) -> None:
    """The after run's phases shaded and named; the before run's starts as dashed lines."""
    for label in ("before", "after"):
        run = cmp.before if label == "before" else cmp.after
        starts = _phase_starts(run, runs[label]["focus"])
        zero = runs[label]["zero"]
        xs = [((float(t) if timed and t is not None else float(seq)) - zero, name) for name, t, seq in starts]
        if label == "before":
            for x, _ in xs:
                ax.axvline(x, color="#8a8a8a", linestyle=(0, (3, 3)), linewidth=0.8, zorder=1)
            continue
        end = max([float(s[0][-1]) for s in runs[label]["series"].values() if len(s[0])]
                  + ([float(runs[label]["end"])] if runs[label]["end"] is not None else []) or [0.0])
        gap = 11.0   # pixels: a name closer than this to the last one shown is left out
        last_label: float | None = None
        for i, (x, name) in enumerate(xs):
            nxt = xs[i + 1][0] if i + 1 < len(xs) else end
            ax.axvspan(x, max(nxt, x), color=PHASE_SHADES[i % 2], zorder=0, linewidth=0)
            px = float(ax.transData.transform((x, 0.0))[0])
            if last_label is None or px - last_label >= gap:
                ax.text(x, 0.985, f" {printable(name)}", transform=ax.get_xaxis_transform(), rotation=90,
                        va="top", ha="left", fontsize=7, color="#444444", clip_on=True)
                last_label = px
    ax.plot([], [], color="#8a8a8a", linestyle=(0, (3, 3)), linewidth=0.8, label="before's phase starts")


def _role_bars(ax: Any, cmp: "Comparison") -> None:
    """Per role: the change of committed and of the rest of its VSZ (reserved, file, other)."""
    import numpy as np

    roles = cmp.roles
    moved = roles[(roles["vsz_change"] != 0) | (roles["committed_change"] != 0)].head(ROLE_BARS) if len(roles) else roles
    if not len(moved):
        ax.text(0.5, 0.5, "no region role changed between the runs", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    names = [printable(str(r)) for r in moved["role"]][::-1]
    committed = moved["committed_change"].to_numpy("int64")[::-1]
    rest = (moved["vsz_change"].to_numpy("int64") - moved["committed_change"].to_numpy("int64"))[::-1]
    y = np.arange(len(names))
    ax.barh(y - 0.2, committed, height=0.38, color=AFTER["committed"], label="committed change")
    ax.barh(y + 0.2, rest, height=0.38, color=AFTER["vsz"], alpha=0.55, label="rest of VSZ (reserved, file, other)")
    ax.set_yticks(y, names, fontsize=8)
    # each bar with its figure: the largest per-role differences, written out
    for yy, values in ((y - 0.2, committed), (y + 0.2, rest)):
        for pos, v in zip(yy, values):
            if v:
                ax.annotate(("+" if v > 0 else "−") + _tick(abs(int(v))), (float(v), pos), fontsize=7,
                            xytext=(3 if v > 0 else -3, 0), textcoords="offset points", va="center",
                            ha="left" if v > 0 else "right", annotation_clip=False)
    if len(names) < 4:
        ax.set_ylim(-1.0, 4.0 - 0.5)
    lim = max(float(np.abs(committed).max()), float(np.abs(rest).max()), 1.0)
    ax.set_xlim(-lim * 1.25 if (committed < 0).any() or (rest < 0).any() else 0, lim * 1.25)
    ax.axvline(0, color="#444444", linewidth=0.8)
    ax.xaxis.set_major_locator(_binary_locator(lim * 1.25))
    ax.xaxis.set_major_formatter(_bytes_formatter())
    ax.set_title("change per region role (after − before): the largest first", loc="left", fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    ax.grid(True, axis="x", alpha=0.3)
