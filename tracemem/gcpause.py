"""Python's cyclic garbage collector paused around tracemem's bulk work.

Parsing and replaying make millions of short-lived, acyclic objects (rows, column lists, tuples,
regions) that reference counting frees as soon as they are done with. With the cyclic collector
on, each generation-0 collection (one per ~700 allocations) also walks the younger survivors,
and its generation-2 passes walk the whole growing table: on a 0.9M-line go build trace that was
5-8% of ``tracemem summary``'s wall time and 6-18% of its CPU (issue 13), and about 8% of a
replay of 700,000 memory calls (benchmarks/bench_replay.py). Reference cycles made meanwhile (an
exception that keeps its parser state, a few per rejected line) wait for the collector's next
run after the work.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic collector off inside the block, and as it was after (it stays off if the
    caller had turned it off; nesting is harmless)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
