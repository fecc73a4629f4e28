"""How many cores are idle: what the parser's worker pool may use (tracemem.parse.blocks)."""

from __future__ import annotations

import os
import threading
import time


def _proc_stat() -> tuple[int, int] | None:
    """(all, idle + iowait) ticks of the machine from /proc/stat; None off Linux."""
    try:
        with open("/proc/stat", "rb") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != b"cpu":
        return None
    values = [int(v) for v in fields[1:]]
    return sum(values), values[3] + (values[4] if len(values) > 4 else 0)


#: A CPU sample: /proc/stat's ticks, when (monotonic seconds), this process's CPU seconds (all
#: its threads), and which thread took it.
_Sample = tuple[tuple[int, int], float, float, int]


def _sample() -> _Sample | None:
    stat = _proc_stat()
    return None if stat is None else (stat, time.monotonic(), time.process_time(), threading.get_ident())


#: The sample taken when this module was imported (``import tracemem`` imports it first): the
#: first large file of a command measures the idle cores over the command's own start-up
#: (imports, options) instead of sleeping for the window (50 ms of every such command); used
#: once, and only while fresh.
_head_start = _sample()


def idle_cores(window: float = 0.05) -> int:
    """The cores idle now: from /proc/stat over ``window`` seconds on Linux (the load average
    lags by a minute: right after another heavy command it still says busy), else from the
    1-minute load average. When the window began at import (the command's start-up), the CPU
    this process used meanwhile counts as idle: its imports are done (pyarrow's and numpy's
    threads too, which start busy), and the pool's workers take those cores over."""
    global _head_start
    head, _head_start = _head_start, None
    usable = head is not None and head[3] == threading.get_ident() and 0 <= time.monotonic() - head[1] < 2.0
    first = head if usable else _sample()
    cpus = os.cpu_count() or 1
    if first is not None:
        waited = time.monotonic() - first[1]
        if waited < window:
            time.sleep(window - waited)
        second = _sample()
        if second is not None and second[0][0] > first[0][0]:
            (all0, idle0), (all1, idle1) = first[0], second[0]
            # (over a sleep: no correction, a busy thread of this process is load like any other)
            own = (second[2] - first[2]) * os.sysconf("SC_CLK_TCK") if usable else 0
            return int(cpus * min(1.0, (idle1 - idle0 + own) / (all1 - all0)) + 0.25)
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this system
        busy = 0.0
    return int(cpus - busy + 0.5)
