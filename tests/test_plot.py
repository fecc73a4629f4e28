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

import tracemem  # noqa: E402
from tracemem.cli import app  # noqa: E402

from conftest import ROOT, SAMPLES, STRACE_DATA  # noqa: E402

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
    assert list(vsz_line.get_xdata()) == pytest.approx([float(t) - t0 for t in tl["time"]] + [last - t0])
    # The stack: reserved, then committed on it, then file-backed on top (cumulative heights).
    polys = [c for c in ax.collections if c.get_label().startswith(("reserved", "committed", "file"))]
    assert [c.get_label().split()[0] for c in polys] == ["reserved", "committed", "file-backed"]
    top_of_reserved = polys[0].get_paths()[0].vertices[:, 1].max()
    assert top_of_reserved == tl["reserved"].astype("int64").max()
    maps_ax = fig.axes[1]
    maps = tl["map_count"].astype("int64").tolist()
    assert list(maps_ax.get_lines()[0].get_ydata()) == maps + maps[-1:]
    assert "seconds since the first event" in ax.get_xlabel()


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
    assert "event order" in main_axes[0].get_xlabel()
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
    assert bad.exit_code == 2 and "nothing to plot" in bad.output
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
    assert [ax.get_title(loc="left").rsplit(" — ", 1)[-1] for ax in main] == [
        "the process without a pid in the trace", "process 9869"]
    (line,) = [ln for ln in main[0].get_lines() if ln.get_label() == "VSZ (traced)"]
    mine = tl[tl["asid"].isna()].sort_values("seq")
    vsz = mine["vsz"].astype("int64").tolist()
    assert list(line.get_ydata()) == vsz + vsz[-1:]
    assert line.get_xdata()[-1] == trace.df.loc[trace.df["pid"].isna(), "seq"].max()
    (child,) = [ln for ln in main[1].get_lines() if ln.get_label() == "VSZ (traced)"]
    assert len(child.get_xdata()) == 2 and child.get_xdata()[-1] == trace.df["seq"].max()
