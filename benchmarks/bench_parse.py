"""Parse-speed benchmark: tracemem against strace-process-tree's parser, in one run.

    python benchmarks/bench_parse.py bench-data/busy.trace [--repeat 3]

Make the trace first with ``sh benchmarks/make_busy_trace.sh bench-data/busy.trace``
(strace -f -tt -T of a real busy workload, about 1.2 million lines). Needs the ``bench`` extra
(``pip install -e '.[bench]'``) for the baseline.

Measured, best of ``--repeat`` runs each, on the same file in the same process:

* baseline: ``strace_process_tree.events()`` over the file (it splits each line into pid,
  timestamp and text and joins unfinished/resumed halves; no argument parsing);
* ``tracemem stats FILE --json`` as a subprocess (the full CLI: every line accounted for,
  unfinished/resumed joined, memory and process syscalls decoded), with the peak resident memory
  of its whole process tree (workers included);
* the same with ``TRACEMEM_PURE_PYTHON=1`` (the compiled scanner switched off: what an install
  without a C compiler gets);
* ``tracemem parse FILE -o events.parquet`` as a subprocess, the same way;
* plain Lark: a per-line ``Lark.parse`` (LALR) of the first 20,000 lines, for scale.

Figures are printed as lines per second and as ratios to the baseline.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            n += block.count(b"\n")
    return n


def baseline(path: Path) -> float:
    import strace_process_tree as spt

    start = time.perf_counter()
    with open(path, encoding="utf-8", errors="replace") as fh:
        for _ in spt.events(fh):
            pass
    return time.perf_counter() - start


def _tree_rss(pid: int) -> int:
    """Resident memory (bytes) of a process and all its descendants."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_cli(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall time and peak tree RSS of a tracemem command."""
    cmd = [sys.executable, "-m", "tracemem", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    peak = 0

    def poll() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode(errors='replace')}")
    return elapsed, peak


def plain_lark(path: Path, limit: int = 20_000) -> tuple[float, int]:
    from lark.exceptions import LarkError

    from tracemem.parse.grammar import strace_parser

    parser = strace_parser()
    lines = []
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        for line in fh:
            lines.append(line.rstrip("\n"))
            if len(lines) >= limit:
                break
    start = time.perf_counter()
    for line in lines:
        try:
            parser.parse(line, start="line")
        except LarkError:
            pass
    return time.perf_counter() - start, len(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", type=Path, nargs="?", default=Path("bench-data/busy.trace"))
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args()
    if not ns.trace.exists():
        raise SystemExit(f"{ns.trace}: missing; make it with sh benchmarks/make_busy_trace.sh {ns.trace}")
    lines = count_lines(ns.trace)
    size = ns.trace.stat().st_size
    print(f"trace: {ns.trace} ({lines:,} lines, {size / 2**20:.0f} MiB); cores: {os.cpu_count()}")
    base = min(baseline(ns.trace) for _ in range(ns.repeat))
    from tracemem.parse import strace

    if strace._SCAN is None:
        print("note: the compiled scanner is not built here; tracemem runs its pure-Python path")
    stats = min((run_cli(["stats", str(ns.trace), "--json", "--no-progress"]) for _ in range(ns.repeat)),
                key=lambda r: r[0])
    pure = min((run_cli(["stats", str(ns.trace), "--json", "--no-progress"], {"TRACEMEM_PURE_PYTHON": "1"})
                for _ in range(ns.repeat)), key=lambda r: r[0])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "events.parquet"
        parse = min((run_cli(["parse", str(ns.trace), "-o", str(out), "--no-progress"])
                     for _ in range(ns.repeat)), key=lambda r: r[0])
        parquet_mb = out.stat().st_size / 2**20
    lark_s, lark_n = plain_lark(ns.trace)
    rows = [
        ("strace-process-tree events() (baseline)", base, None),
        ("tracemem stats --json", stats[0], stats[1]),
        ("tracemem stats --json, pure Python (no scanner)", pure[0], pure[1]),
        (f"tracemem parse -o events.parquet ({parquet_mb:.0f} MiB)", parse[0], parse[1]),
    ]
    print(f"{'what':52} {'seconds':>8} {'lines/s':>10} {'vs baseline':>12} {'peak RSS':>10}")
    for name, secs, rss in rows:
        rate = lines / secs
        ratio = base / secs
        mem = f"{rss / 2**20:.0f} MiB" if rss else "-"
        print(f"{name:52} {secs:8.2f} {rate:10,.0f} {ratio:11.2f}x {mem:>10}")
    print(f"{'plain Lark LALR per line (first %d lines)' % lark_n:52} {lark_s:8.2f} {lark_n / lark_s:10,.0f}")


if __name__ == "__main__":
    main()
