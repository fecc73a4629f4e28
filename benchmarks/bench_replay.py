"""Address-space replay speed: memory events replayed per second.

    python benchmarks/bench_replay.py bench-data/busy.trace [--repeat 3]

The trace is parsed once (not timed); then the events the model needs are replayed into
address spaces with the timeline recorded (``Replayer.apply_all``, as ``Trace.replayer`` does), best of ``--repeat``. Reported:
memory events (mmap, munmap, mprotect, madvise, mremap, brk, ...) per second, all replayed
events per second, the number of timeline rows, and the time with the timeline's DataFrame made.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

MEMORY = {"mmap", "mmap2", "munmap", "mprotect", "pkey_mprotect", "madvise", "mremap", "brk", "shmat",
          "shmdt", "prctl"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", type=Path, nargs="?", default=Path("bench-data/busy.trace"))
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args()

    import tracemem
    from tracemem.space.replay import Replayer

    trace = tracemem.read_trace(ns.trace)
    events = list(trace.replay_events())
    memory = sum(1 for e in events if e.syscall in MEMORY)
    best = best_frame = float("inf")
    rows = 0
    for _ in range(ns.repeat):
        replayer = Replayer(page=trace.page_size)
        start = time.perf_counter()
        replayer.apply_all(events)
        done = time.perf_counter()
        replayer.frame()
        best = min(best, done - start)
        best_frame = min(best_frame, time.perf_counter() - start)
        rows = replayer.row_count
    print(f"trace: {ns.trace} ({len(events):,} replayed events, {memory:,} memory events, "
          f"{len(replayer.spaces):,} address spaces)")
    print(f"replay: {best:.2f} s, {memory / best:,.0f} memory events/s, {len(events) / best:,.0f} events/s, "
          f"{rows:,} timeline rows")
    # the timeline as a DataFrame too: what every replay command builds (a replay packs the
    # rows into columns as it goes, so part of that cost is inside apply_all)
    print(f"replay + timeline frame: {best_frame:.2f} s")


if __name__ == "__main__":
    main()
