"""Many traces at once (issue 17): ``tracemem.batch`` serial against the local pool, in one run,
alternating.

    python benchmarks/bench_batch.py                    # 200 traces: 40 copies of samples/*.trace
    python benchmarks/bench_batch.py --copies 10 --rounds 1
    python benchmarks/bench_batch.py --corpus tests/data/fleet/traces --copies 2   # the fleet corpus, twice

The corpus is made in a temporary folder from the repository's own real traces (``samples/*.trace``,
copied ``--copies`` times into folders of their own), or with ``--corpus DIR`` from the traces
under DIR (its tree copied ``--copies`` times: e.g. the 100+ traces of tests/data/fleet, C, Go
and Python programs under several strace flag sets, ``-ff`` sets among them). Each round runs ``tracemem.batch`` with
``workers=1`` and then with the default pool (one worker a core), each into a fresh output
folder, and prints the wall time and the throughput; then the medians and the pool/serial
ratio of throughput (the issue's target on 2 cores: at least 1.8x). The tables of the two runs
are checked equal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.8


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--corpus", type=Path, default=None, help="a folder of traces to copy instead of samples/")
    ns = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import tracemem
    import tracemem.batch

    samples = sorted((ROOT / "samples").glob("*.trace"))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "in"
        for i in range(ns.copies):
            folder = corpus / f"run{i:03d}"
            if ns.corpus is not None:
                shutil.copytree(ns.corpus, folder)
                continue
            folder.mkdir(parents=True)
            for s in samples:
                shutil.copy(s, folder / s.name)
        n = len(tracemem.batch.discover([str(corpus)]))
        what = f"of {ns.corpus}" if ns.corpus is not None else f"of {len(samples)} samples"
        print(f"{n} traces ({ns.copies} copies {what}); cores: {os.cpu_count()}; load average: "
              f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        times: dict[str, list[float]] = {"serial": [], "pool": []}
        tables = {}
        failed: dict[str, list[str]] = {}  # (a corpus may hold broken traces on purpose: the same in every run)
        for r in range(ns.rounds):
            for mode, workers in (("serial", 1), ("pool", None)):
                out = Path(tmp) / f"out-{mode}"
                shutil.rmtree(out, ignore_errors=True)
                start = time.perf_counter()
                res = tracemem.batch([str(corpus)], str(out), workers=workers, progress=False)
                wall = time.perf_counter() - start
                times[mode].append(wall)
                failed.setdefault(mode, sorted(res.failed))
                if sorted(res.failed) != failed[mode] or failed[mode] != failed.get("serial", failed[mode]):
                    print(f"  {mode}: the traces that failed differ between runs: {res.errors}", file=sys.stderr)
                    return 1
                tables[mode] = res.processes.sort_values(list(res.processes.columns)).reset_index(drop=True)
                print(f"  round {r + 1} {mode:6} {wall:6.2f} s  {n / wall:6.1f} traces/s", flush=True)
        same = tables["serial"].equals(tables["pool"])
        med = {m: statistics.median(v) for m, v in times.items()}
        ratio = med["serial"] / med["pool"]
        print(f"median: serial {med['serial']:.2f} s ({n / med['serial']:.1f}/s), pool {med['pool']:.2f} s "
              f"({n / med['pool']:.1f}/s): pool/serial throughput {ratio:.2f}x (target at least {TARGET}x: "
              f"{'met' if ratio >= TARGET else 'NOT met'}); tables equal: {same}; failed (both): "
              f"{len(failed.get('serial', []))}")
        print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
