"""Comparing two runs (issue 14): ``tracemem diff A B`` against ``tracemem summary A`` plus
``tracemem summary B``, in one run, alternating.

    python benchmarks/bench_diff.py bench-data/gobuild-std.trace bench-data/busy.trace --rounds 3
    python benchmarks/bench_diff.py A.trace B.trace --rounds 1 --diff-arg=--json

Make the traces first (about a million lines each; bench-data/ is gitignored) with
``sh benchmarks/make_gobuild_trace.sh bench-data/gobuild-std.trace`` and
``sh benchmarks/make_busy_trace.sh bench-data/busy.trace``.

Each round runs, as children of this Python (``sys.executable -m tracemem``, the same venv):
``summary A``, ``summary B``, ``diff A B`` (the diff's tables to a file; ``--diff-arg`` adds
options, e.g. ``-o chart.png``). Printed: each round's wall and CPU seconds and peak RSS, then the
medians and the ratio diff / (summary A + summary B) of wall time: the issue's target is at most
1.2. Exit code 0 when every command succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from bench_parse import Run, count_lines, run  # the scripts sit side by side in benchmarks/

TARGET = 1.2


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--diff-arg", action="append", default=[])
    ns = ap.parse_args()
    for p in (ns.before, ns.after):
        if not p.is_file():
            print(f"{p}: no such trace (see this script's help to make it)", file=sys.stderr)
            return 2
    tm = [sys.executable, "-m", "tracemem"]
    print(f"before: {ns.before} ({count_lines(ns.before):,} lines); after: {ns.after} "
          f"({count_lines(ns.after):,} lines); rounds: {ns.rounds}; load average: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    results: dict[str, list[Run]] = {"summary before": [], "summary after": [], "diff": []}
    ok = True
    cmds = {
        "summary before": [*tm, "summary", str(ns.before), "--no-progress"],
        "summary after": [*tm, "summary", str(ns.after), "--no-progress"],
        "diff": [*tm, "diff", str(ns.before), str(ns.after), "--no-progress", *ns.diff_arg],
    }
    for i in range(ns.rounds):
        for name, cmd in cmds.items():
            r = run(cmd, ns.timeout)
            results[name].append(r)
            ok = ok and r.ok
            print(f"  round {i + 1} {name:15} {r.wall:6.2f} s wall {r.cpu:6.2f} s CPU {r.peak:6.0f} MiB"
                  f"{'' if r.ok else f'  FAILED ({r.code}): ' + r.err[-300:]}", flush=True)
    med = {name: (statistics.median(r.wall for r in rs), statistics.median(r.cpu for r in rs),
                  statistics.median(r.peak for r in rs)) for name, rs in results.items() if rs}
    print("median of the rounds                 wall s   CPU s   peak MiB")
    for name, (w, c, p) in med.items():
        print(f"  {name:32} {w:7.2f} {c:7.2f} {p:9.0f}")
    both = med["summary before"][0] + med["summary after"][0]
    ratio = med["diff"][0] / both if both else float("nan")
    print(f"  diff / (summary before + summary after), wall: {ratio:.2f} "
          f"(target at most {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})")
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
