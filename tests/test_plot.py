"""Charts that fail when the chart is wrong: the plotted series are the timeline's numbers, phase
bands sit where the phases are, and the picture matches a committed baseline."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import pandas as pd  # noqa: E402

import tracemem  # noqa: E402
from tracemem.cli import app  # noqa: E402

from conftest import DTRUSS, PEERS, ROOT, SAMPLES, SHARED_REASON, STRACE_DATA, ids, own_logs, peer_logs  # noqa: E402

BASELINE = ROOT / "tests" / "baseline" / "vsz-go-http-net.png"


@pytest.fixture(autouse=True)
def default_style():
    with plt.style.context("default"):
        yield
    plt.close("all")


def go_chart():
    trace = tracemem.read_trace(SAMPLES / "go-http-net.trace")
    fig = trace.plot(panels=["map_count", "released"])
    return trace, fig


def test_plotted_series_are_the_timeline() -> None:
    trace, fig = go_chart()
    tl = trace.timeline().sort_values("seq")
    ax = fig.axes[0]
    (vsz_line,) = [line for line in ax.get_lines() if line.get_label() == "VSZ (traced)"]
    vsz = tl["vsz"].astype("int64").tolist()
    # the timeline's values, the last held to the process's last event (one zero: the trace's
    # first event)
    assert list(vsz_line.get_ydata()) == vsz + vsz[-1:]
    t0 = trace.df["time"].min()
    last = trace.df["time"].max()
    # (times in the order the calls were applied: a call that started before an earlier-applied
    # one, a resumed call of another thread, is drawn when that one was)
    times = [float(t) - t0 for t in tl["time"]]
    times = [max(times[:i + 1]) for i in range(len(times))]
    assert list(vsz_line.get_xdata()) == pytest.approx(times + [last - t0])
    # The stack, bottom first: committed, reserved (not charged), file-backed (not charged), other
    polys = {c.get_gid().split(":")[1]: c for c in ax.collections if (c.get_gid() or "").startswith("stack:")}
    assert list(polys) == ["committed", "reserved_uncharged", "file_uncharged", "other"]
    xs = list(vsz_line.get_xdata())
    committed = tl["committed"].astype("int64").tolist()
    for i in range(len(xs) - 1):
        if xs[i + 1] > xs[i]:
            mid = (xs[i] + xs[i + 1]) / 2
            assert edges_at(polys["committed"], mid) == (0, committed[i])
            assert edges_at(polys["other"], mid)[1] == vsz[i]
    maps_ax = fig.axes[1]
    maps = tl["map_count"].astype("int64").tolist()
    assert list(maps_ax.get_lines()[0].get_ydata()) == maps + maps[-1:]
    assert "seconds since the first event" in fig.axes[-1].get_xlabel()


def edges_at(poly, x: float) -> tuple[float, float]:
    """The lower and upper edge of a stacked step area at ``x`` (between two steps), read from
    the drawn polygon: the y of its horizontal segments that span x."""
    v = poly.get_paths()[0].vertices
    ys = [a[1] for a, b in zip(v, v[1:]) if a[1] == b[1] and min(a[0], b[0]) < x < max(a[0], b[0])]
    assert ys, f"no edge of {poly.get_gid()} spans x={x}"
    return min(ys), max(ys)


def test_phase_bands_are_where_the_phases_are() -> None:
    """Bands start at the phases' own times (issue 12: they were snapped to the next address-space
    change, `main` drawn as a sliver at 0.038 s where `tracemem phases` says 0.029 s), from the
    trace's first event, and the axis runs to the process's last event."""
    trace, fig = go_chart()
    found, _ = trace.phases()
    t0 = trace.df["time"].min()
    ax = fig.axes[0]
    bands = {p.get_gid().split(":", 1)[1]: p for p in ax.patches if (p.get_gid() or "").startswith("phase:")}
    assert set(bands) == {p.name for p in found}
    for phase in found:
        band = bands[phase.name]
        x0 = band.get_x() if hasattr(band, "get_x") else band.get_xy()[0][0]
        assert x0 == pytest.approx(phase.start_time - t0)
    assert ax.get_xlim()[1] >= trace.df["time"].max() - t0
    labels = {t.get_text() for t in ax.texts}
    assert {"exec", "loader", "runtime-init", "threads", "main", "exit"} <= labels
    assert any(t.startswith("+512.0 MiB Go runtime reservation") for t in labels)


def test_picture_matches_the_baseline(tmp_path: Path) -> None:
    _, fig = go_chart()
    out = tmp_path / "vsz.png"
    fig.savefig(out, dpi=80)
    if os.environ.get("TRACEMEM_UPDATE_BASELINE"):
        BASELINE.write_bytes(out.read_bytes())
    assert compare_images(str(BASELINE), str(out), tol=12) is None


def test_event_order_axis_and_one_panel_per_process() -> None:
    trace = tracemem.read_trace(STRACE_DATA / "c-f.trace")   # no timestamps; the program forks
    fig = trace.plot()
    main_axes = [ax for ax in fig.axes if ax.get_ylabel() == "bytes"]
    assert len(main_axes) == 2
    assert "event order" in fig.axes[-1].get_xlabel()
    one = trace.plot(pid=int(trace.df["pid"].iloc[0]), log=True)
    assert len([ax for ax in one.axes if ax.get_ylabel() == "bytes"]) == 1
    assert one.axes[0].get_yscale() == "symlog"


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_cli_writes_each_format(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"vsz{suffix}"
    result = CliRunner().invoke(app, ["plot", str(SAMPLES / "memdemo.trace"), "-o", str(out),
                                      "--phase", "late=line:60", "--panels", "map_count"])
    assert result.exit_code == 0, result.output
    head = out.read_bytes()[:8]
    assert head.startswith({".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}[suffix])


def test_cli_rejects_bad_requests(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["plot", str(SAMPLES / "memdemo.trace"), "-o", str(tmp_path / "x.gif")])
    assert bad.exit_code == 2 and "use .png, .svg or .pdf" in bad.output
    bad = runner.invoke(app, ["plot", str(SAMPLES / "memdemo.trace"), "-o", str(tmp_path / "x.png"), "--panels", "rss"])
    assert bad.exit_code == 2 and "choose from map_count, released" in bad.output
    bad = runner.invoke(app, ["plot", str(SAMPLES / "memdemo.trace"), "-o", str(tmp_path / "x.png"), "--pid", "1"])
    assert bad.exit_code == 2 and "--pid 1: no such task in the trace" in bad.output
    ok = runner.invoke(app, ["phases", str(SAMPLES / "go-http-net.trace"), "--json"])
    assert ok.exit_code == 0 and '"runtime-init"' in ok.stdout


def test_a_trace_without_pids_is_charted() -> None:
    """strace without -f: the tasks have no pid. The chart used to leave that process out and draw
    only its fork child (seen only in its clone) as an empty panel (issue 12). Now each is drawn,
    the unnamed process first, its values held to its last line, the child's to the trace's end."""
    trace = tracemem.read_trace(STRACE_DATA / "c-nof.trace")
    tl = trace.timeline()
    fig = trace.plot()
    main = [ax for ax in fig.axes if ax.get_ylabel() == "bytes"]
    assert [ax.get_title(loc="left").split("\n")[0] for ax in main] == [
        "memdemo (the process without a pid in the trace)", "memdemo (pid 9869)"]
    # the child's own calls are not in the trace: its panel says so, the parent's does not
    assert "\n" not in main[0].get_title(loc="left")
    assert "its own calls are not in the trace" in main[1].get_title(loc="left")
    (line,) = [ln for ln in main[0].get_lines() if ln.get_label() == "VSZ (traced)"]
    mine = tl[tl["asid"].isna()].sort_values("seq")
    vsz = mine["vsz"].astype("int64").tolist()
    assert list(line.get_ydata()) == vsz + vsz[-1:]
    assert line.get_xdata()[-1] == trace.df.loc[trace.df["pid"].isna(), "seq"].max()
    (child,) = [ln for ln in main[1].get_lines() if ln.get_label() == "VSZ (traced)"]
    assert len(child.get_xdata()) == 2 and child.get_xdata()[-1] == trace.df["seq"].max()


# --- every chart, every file: the stack adds up, bands and axis are where the trace says, and no
# text hides another (issue 12) -------------------------------------------------------------------

def dtruss_logs() -> list[Path]:
    if not DTRUSS.exists():
        return []
    return sorted(p for p in DTRUSS.rglob("*") if p.is_file() and p.suffix not in (".md", ".expected"))


EVERY = own_logs() + peer_logs() + dtruss_logs()


def spaces_of(trace: tracemem.Trace) -> dict[int | None, list[int]]:
    """Per address space, the seqs of its tasks' events (the process's first to last event)."""
    r = trace.replayer()
    out: dict[int | None, list[int]] = {}
    for pid, seq in zip(trace.df["pid"].astype("object").tolist(), trace.df["seq"].tolist()):
        sp = r.task.get(None if pd.isna(pid) else int(pid))
        if sp is not None:
            out.setdefault(sp.asid, []).append(int(seq))
    return out


def text_boxes(fig) -> tuple[list, list]:
    """The window boxes of the phase labels and step labels (with their axes) and of the legend."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = []
    for ax in fig.axes:
        for t in ax.texts:
            gid = t.get_gid() or ""
            if gid.startswith(("phase-label", "step-label")):
                labels.append((ax, t, t.get_window_extent(renderer)))
    legends = [lg.get_window_extent(renderer) for lg in fig.legends]
    return labels, legends


@pytest.mark.skipif(not PEERS.exists(), reason=SHARED_REASON + " (the fixtures and samples still run)")
def test_the_shared_corpus_is_charted_too() -> None:
    assert peer_logs() and dtruss_logs()


@pytest.mark.parametrize("path", EVERY, ids=ids(EVERY))
def test_chart_is_true_on_every_file(path: Path) -> None:
    trace = tracemem.read_trace(path)
    tl = trace.timeline()
    try:
        fig = trace.plot(panels=["map_count"])
    except tracemem.UsageError as exc:
        # said, not an empty chart with an invented axis: only when nothing is mapped at all
        assert "nothing to plot" in str(exc)
        assert not len(tl) or int(tl["vsz"].max()) == 0
        return
    found, _ = trace.phases()
    t0 = float(trace.df["time"].min()) if trace.df["time"].notna().any() else None
    timed = "seconds" in fig.axes[-1].get_xlabel()
    seq_time = dict(zip(trace.df["seq"].tolist(), trace.df["time"].tolist()))
    events = spaces_of(trace)
    main = [ax for ax in fig.axes if (ax.get_gid() or "").startswith("space:")]
    assert main
    for ax in main:
        tag = ax.get_gid().split(":", 1)[1]
        asid = int(tag) if tag else None
        mine = tl[tl["asid"] == asid] if asid is not None else tl[tl["asid"].isna()]
        mine = mine.sort_values("seq")
        # 1. the stacked areas add up to the VSZ line at every step (disjoint parts of VSZ)
        (line,) = [ln for ln in ax.get_lines() if (ln.get_gid() or "") == "line:vsz"]
        polys = {c.get_gid().split(":")[1]: c for c in ax.collections if (c.get_gid() or "").startswith("stack:")}
        xs, ys = list(line.get_xdata()), list(line.get_ydata())
        for i in range(len(xs) - 1):
            if xs[i + 1] <= xs[i]:
                continue
            mid = (xs[i] + xs[i + 1]) / 2
            bottom, top = 0.0, 0.0
            for name in ("committed", "reserved_uncharged", "file_uncharged", "other"):
                lo, hi = edges_at(polys[name], mid)
                assert lo == top and hi >= lo, (name, mid)   # each layer on the one below, none negative
                bottom, top = lo, hi
            assert top == ys[i], (mid, top, ys[i])
        assert max(ys) == int(mine["vsz"].max())
        # 2. the axis covers the process's first to last event
        # (a space whose tasks show no event of their own, a child seen only in its fork, runs
        # from its fork copy to the trace's end)
        seqs = events.get(asid) or [int(mine["seq"].min()), int(trace.df["seq"].max())]
        first, last = min(seqs + [int(mine["seq"].min())]), max(seqs)
        if timed:
            lo_x, hi_x = float(seq_time[first]) - t0, float(seq_time[last]) - t0
        else:
            lo_x, hi_x = float(first), float(last)
        left, right = ax.get_xlim()
        assert left <= min(lo_x, xs[0]) + 1e-9 and right >= hi_x - 1e-9
        # the last values held to the last event (or the last change, made by another task's event)
        last_row = float(mine["time"].max()) - t0 if timed else float(mine["seq"].max())
        assert xs[-1] == pytest.approx(max(hi_x, last_row))
        # 3. each band starts at its phase's own time (or seq), to the event
        bands = [p for p in ax.patches if (p.get_gid() or "").startswith("phase:")]
        starts = sorted(p.get_x() for p in bands)
        want = sorted((p.start_time - t0) if timed and p.start_time is not None else float(p.start_seq)
                      for p in found if p.asid == asid)
        assert starts == pytest.approx(want)
    # 4. no phase label, step label or legend overlaps another, and each label stays in its axes
    labels, legends = text_boxes(fig)
    boxes = [b for _, _, b in labels] + legends
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two texts overlap"
    # 5. titles, captions and the legend stay inside the figure (a long caption wraps)
    page = fig.bbox
    for ax in fig.axes:
        for t in (ax.title, ax._left_title, ax.xaxis.label):
            if t.get_text():
                box = t.get_window_extent()
                assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1, t.get_text()
    for box in legends:
        assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1
    for ax, t, box in labels:
        frame = ax.get_window_extent()
        assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1 and frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1, \
            t.get_text()


def test_the_largest_processes_are_charted_and_the_rest_named() -> None:
    """A 42-process trace: the 4 largest by peak VSZ, in trace order, each titled with its own
    program and pid, one shared time axis, and a caption saying how many more and how to choose
    (issue 12: every process got a panel, all titled with the trace's first program)."""
    trace = tracemem.read_trace(STRACE_DATA / "python-ttt-T-y.trace")
    tl = trace.timeline()
    peaks = tl.groupby("asid")["vsz"].max().sort_values(ascending=False, kind="stable")
    fig = trace.plot()
    main = [ax for ax in fig.axes if (ax.get_gid() or "").startswith("space:")]
    shown = [int(ax.get_gid().split(":")[1]) for ax in main]
    assert sorted(shown) == sorted(int(a) for a in peaks.index[:4])
    assert min(peaks.loc[shown]) >= peaks.iloc[4]
    r = trace.replayer()
    for ax, asid in zip(main, shown):
        prog = r.spaces[asid].exe.rsplit("/", 1)[-1]
        assert ax.get_title(loc="left").split("\n")[0] == f"{prog} (pid {asid})"
    assert len({ax.get_xlim() for ax in fig.axes}) == 1   # one time axis
    n = tl["asid"].nunique()
    assert f"4 of {n} processes, the largest by peak VSZ; {n - 4} more: choose with --pid or --process" \
        in fig.axes[-1].get_xlabel()
    # several pids, and a program name (glob)
    two = trace.plot(pid=shown[1:3])
    assert [ax.get_gid() for ax in two.axes if (ax.get_gid() or "").startswith("space:")] == \
        [f"space:{a}" for a in shown[1:3]]
    assert "more" not in two.axes[-1].get_xlabel()
    py = trace.plot(process="python3*")
    titles = [ax.get_title(loc="left") for ax in py.axes if (ax.get_gid() or "").startswith("space:")]
    assert titles and all(t.startswith("python3") for t in titles)
    # a program that runs many short phases: they are named in a caption that wraps inside the chart
    (caption,) = [ax.get_title(loc="left") for ax in py.axes if ax.get_title(loc="left").startswith("python3 (pid")]
    assert "phases too narrow to label: exec " in caption and "(tracemem phases --pid 10140 lists them)" in caption
    py.canvas.draw()
    assert all(ax._left_title.get_window_extent().x1 <= py.bbox.x1 for ax in py.axes)
    with pytest.raises(tracemem.UsageError, match="no process ran a program of that name .*bash"):
        trace.plot(process="perl")


def test_a_big_timeline_is_thinned_without_losing_steps_or_peaks() -> None:
    """200,000 changes draw as a few thousand points; the peak, the lowest point and every step
    wider than a pixel column are still there."""
    import numpy as np

    from tracemem.reporters.plot import DRAW_POINTS, _thin

    rng = np.random.default_rng(7)
    n = 200_000
    xs = np.sort(rng.uniform(0, 100, n))
    vsz = np.cumsum(rng.integers(-4096, 4097, n)) + (1 << 30)
    vsz[123_456] = 5 << 30   # one spike
    vsz[150_000:] -= 1 << 28  # one step down
    keep = _thin(xs, [vsz], 0.0, 100.0)
    assert len(keep) <= 4 * (DRAW_POINTS + 1) + 2 and keep[0] == 0 and keep[-1] == n - 1
    assert 123_456 in keep and vsz[keep].max() == vsz.max() and vsz[keep].min() == vsz.min()
    # in every pixel column, the lowest and highest value are kept
    col = np.clip((xs / 100.0 * DRAW_POINTS).astype(int), 0, DRAW_POINTS)
    for c in rng.choice(DRAW_POINTS, 50, replace=False):
        mine = np.flatnonzero(col == c)
        if len(mine):
            kept = np.intersect1d(mine, keep)
            assert vsz[kept].max() == vsz[mine].max() and vsz[kept].min() == vsz[mine].min()
    few = _thin(xs[:1000], [vsz[:1000]], 0.0, 100.0)
    assert list(few) == list(range(1000))   # small series are drawn whole


def test_a_big_trace_draws_a_bounded_figure(tmp_path: Path) -> None:
    """A 60,000-change strace log: the drawn lines hold a bounded number of points, the PNG a
    normal size, and the peak is on the chart."""
    lines = []
    base = 0x7f0000000000
    for i in range(30_000):
        addr = base + (i % 500) * 0x10000
        lines.append(f'100 mmap({hex(addr)}, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)'
                     f' = {hex(addr)}')
        if i % 3:
            lines.append(f"100 munmap({hex(addr)}, 65536) = 0")
    log = tmp_path / "big.trace"
    log.write_text("\n".join(lines) + "\n")
    trace = tracemem.read_trace(log)
    tl = trace.timeline()
    assert len(tl) > 45_000
    fig = trace.plot(tmp_path / "big.png")
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "line:vsz"]
    assert len(line.get_xdata()) < 12_000 and max(line.get_ydata()) == int(tl["vsz"].max())
    head = (tmp_path / "big.png").read_bytes()[16:24]
    width, height = int.from_bytes(head[:4], "big"), int.from_bytes(head[4:], "big")
    assert width < 2000 and height < 2000


@pytest.mark.skipif(not DTRUSS.exists(), reason=SHARED_REASON)
def test_a_macos_chart_says_the_charge_is_linux_s_rule() -> None:
    trace = tracemem.read_trace(DTRUSS / "eddycjy-blog__why-vsz-large__go-dtruss-a.txt")
    fig = trace.plot()
    texts = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert any("what Linux would charge for these flags" in t for t in texts)
    assert not any(t.startswith("committed (charged") for t in texts)
    linux = tracemem.read_trace(SAMPLES / "go-http.trace").plot()
    assert any(t.get_text().startswith("committed (charged") for lg in linux.legends for t in lg.get_texts())


def test_log_scale_ticks_are_binary_steps() -> None:
    trace = tracemem.read_trace(SAMPLES / "go-http-net.trace")
    fig = trace.plot(log=True)
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks[:3] == ["0 B", "1 MiB", "4 MiB"] and "1 GiB" in ticks
    assert not any("." in t for t in ticks)   # no 953.7 MiB
    # the committed band is drawn, and its top edge as a line, so a small charge stays visible
    (edge,) = [ln for ln in ax.get_lines() if ln.get_gid() == "line:committed"]
    assert max(edge.get_ydata()) == int(trace.timeline()["committed"].max())
