"""Big traces (issue 12): time and peak memory of ``tracemem plot`` against ``tracemem summary``.

    python benchmarks/bench_plot.py bench-data/gobuild-std.trace [more.trace ...] [--rounds 3]
    python benchmarks/bench_plot.py bench-data/gobuild.trace --rounds 1 --keep bench-data/plots
    python benchmarks/bench_plot.py bench-data/gobuild.trace --plot-arg=--pid=20901 --timeout 600

Make the big trace first with ``sh benchmarks/make_gobuild_trace.sh bench-data/gobuild-std.trace``
(strace -f -tt -T of ``go build -a std`` with an empty GOCACHE: about 0.95 million lines with
go1.19; add ``std cmd`` after the file name for about 1.7 million).

For each trace, in the same run and alternating (summary, plot, summary, plot, ...), ``--rounds``
times: ``tracemem summary TRACE`` and ``tracemem plot TRACE -o chart.png [--plot-arg ...]``, each
as a child process of this Python (``sys.executable -m tracemem``, so the same venv). Measured per
child: the wall time, and the peak resident memory from ``os.wait4`` (``ru_maxrss`` of the child,
which the kernel takes as the largest of it and the children it reaped: the largest single process
of its tree, e.g. a parse worker if that is bigger, not a sum). Printed: each round as it ends,
then the medians, the plot/summary ratios of time and memory, and the chart's pixel size (from the
PNG's IHDR) and file size. A command that runs past ``--timeout`` seconds is killed (its whole
process group) and reported as such; the medians are over the rounds that finished. Exit code 0
when every command succeeded, 1 when one failed or timed out, 2 for a missing trace.

Timings are wall-clock on a shared machine: the load averages at the start and end are printed
with the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench_parse import Run, count_lines, run as _run  # the scripts sit side by side in benchmarks/

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int] | None:
    """Width and height in pixels from a PNG's IHDR chunk (bytes 16..24), or None if not a PNG."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def run(args: list[str], timeout: float) -> Run:
    """Run ``tracemem ARGS`` as a child (bench_parse.run): wall time, peak RSS (wait4), exit code."""
    return _run([sys.executable, "-m", "tracemem", *args], timeout)


def describe(r: Run, timeout: float) -> str:
    if r.timed_out:
        return f"{r.wall:8.2f} s  killed: exceeded --timeout {timeout:g} s"
    note = "" if r.code == 0 else f"  exit {r.code}"
    return f"{r.wall:8.2f} s {r.peak:8.0f} MiB{note}"


def median(runs: list[Run], attr: str) -> float | None:
    done = [getattr(r, attr) for r in runs if r.code == 0 and not r.timed_out]
    return statistics.median(done) if done else None


def bench(trace: Path, ns: argparse.Namespace, folder: Path) -> bool:
    """Run and print the rounds for one trace; False if a command failed or timed out."""
    lines = count_lines(trace)
    size = trace.stat().st_size
    print(f"trace: {trace} ({lines:,} lines, {size / 2**20:.0f} MiB); rounds: {ns.rounds}; "
          f"plot args: {' '.join(ns.plot_arg) or '-'}", flush=True)
    summaries: list[Run] = []
    plots: list[Run] = []
    chart = None
    for i in range(1, ns.rounds + 1):
        s = run(["summary", str(trace)], ns.timeout)
        summaries.append(s)
        print(f"  round {i} summary {describe(s, ns.timeout)}", flush=True)
        if s.code != 0 and not s.timed_out:
            sys.stderr.write(s.err.rstrip("\n") + "\n")
        chart = folder / f"{trace.name}.round{i}.png"
        p = run(["plot", str(trace), "-o", str(chart), *ns.plot_arg], ns.timeout)
        plots.append(p)
        print(f"  round {i} plot    {describe(p, ns.timeout)}", flush=True)
        if p.code != 0 and not p.timed_out:
            sys.stderr.write(p.err.rstrip("\n") + "\n")
    print(f"  {'median':14} {'seconds':>8} {'peak MiB':>9} {'finished':>9}")
    ms, mp = {}, {}
    for name, runs, into in (("summary", summaries, ms), ("plot", plots, mp)):
        into["wall"], into["peak"] = median(runs, "wall"), median(runs, "peak")
        ok = sum(1 for r in runs if r.code == 0 and not r.timed_out)
        wall = f"{into['wall']:8.2f}" if into["wall"] is not None else f"{'-':>8}"
        peak = f"{into['peak']:9.0f}" if into["peak"] is not None else f"{'-':>9}"
        print(f"  {name:14} {wall} {peak} {ok:>5}/{len(runs)}")
    if ms["wall"] and mp["wall"]:
        print(f"  plot/summary: time {mp['wall'] / ms['wall']:.2f}x, peak memory {mp['peak'] / ms['peak']:.2f}x")
    else:
        print("  plot/summary: - (a command did not finish in every round)")
    if any(r.timed_out for r in plots):
        print(f"  plot exceeded --timeout {ns.timeout:g} s in {sum(r.timed_out for r in plots)} of {len(plots)} rounds")
    if chart is not None and chart.exists():
        px = png_size(chart)
        dims = f"{px[0]} x {px[1]} px" if px else "not a PNG"
        print(f"  chart: {dims}, {chart.stat().st_size / 1024:,.0f} KiB"
              + (f" ({chart.parent})" if ns.keep else ""), flush=True)
    else:
        print("  chart: none written", flush=True)
    return all(r.code == 0 and not r.timed_out for r in summaries + plots)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("traces", type=Path, nargs="+", metavar="TRACE")
    ap.add_argument("--rounds", type=int, default=3, help="summary/plot pairs per trace (default 3)")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="write the charts to this folder and keep them")
    ap.add_argument("--plot-arg", action="append", default=[], metavar="ARG",
                    help="an extra argument for plot, e.g. --plot-arg=--pid=123 (repeatable)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per command before it is killed (default 1800)")
    ns = ap.parse_args()
    if ns.rounds < 1:
        ap.error("--rounds must be at least 1")
    for trace in ns.traces:
        if not trace.is_file():
            print(f"error: {trace}: no such trace; make it with "
                  f"sh benchmarks/make_gobuild_trace.sh {trace}", file=sys.stderr)
            sys.exit(2)
    print(f"python: {sys.executable}; cores: {os.cpu_count()}; "
          f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if ns.keep:
        ns.keep.mkdir(parents=True, exist_ok=True)
        ok = [bench(trace, ns, ns.keep) for trace in ns.traces]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            ok = [bench(trace, ns, Path(tmp)) for trace in ns.traces]
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not all(ok):
        sys.exit(1)


if __name__ == "__main__":
    main()
