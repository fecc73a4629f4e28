"""Scale: time and peak memory of ``tracemem summary`` on synthetic traces of legal shapes.

    python benchmarks/bench_scale.py                      # every shape at 3 sizes
    python benchmarks/bench_scale.py --shape topdown --sizes 1000000
    python benchmarks/bench_scale.py --keep bench-data/scale   # keep the generated traces

Each shape is a strace -f -tt log, written to a temporary folder and given to ``tracemem summary``
in a child process; reported are the wall time and the child's peak RSS (getrusage ru_maxrss),
and time per call in microseconds, so that growth faster than n log n shows as a rising last
column. The shapes (issue 11):

- ``topdown``: n 4 KiB anonymous mmaps at descending addresses one page apart (the order Linux
  hands out addresses; the gaps keep them from merging): n live regions, each inserted at the front.
- ``unmap``: n ascending mmaps (with gaps), then n munmaps in the same order: deletions at the front.
- ``mprotect``: one mapping of 2n pages, n mprotects of every other page (2n regions), then 200
  mprotects of the whole range (the first merges 2n regions into one).
- ``tiny``: n adjacent 4 KiB mmaps (merged into one region as the kernel merges them): the cost
  per event of a long, simple trace.
- ``forks``: a chain of n processes, each mapping a page then forking the next; all stay alive until
  the end (each copy holds every page its ancestors mapped).
- ``pids``: n processes forked by one parent, each making one mmap and exiting.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, TextIO

PAGE = 4096
ANON = "PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0"
CLONE = "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0000000a10)"


class Clock:
    """-tt times, one microsecond apart."""

    def __init__(self) -> None:
        self.us = 10 * 3600 * 10**6

    def __call__(self) -> str:
        self.us += 1
        s, us = divmod(self.us, 10**6)
        return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{us:06d}"


def _topdown(n: int, out: TextIO) -> None:
    t = Clock()
    top = 0x7F0000000000
    for i in range(n):
        out.write(f"100 {t()} mmap(NULL, 4096, {ANON}) = {top - 2 * PAGE * (i + 1):#x}\n")


def _unmap(n: int, out: TextIO) -> None:
    t = Clock()
    base = 0x7E0000000000
    for i in range(n):
        out.write(f"100 {t()} mmap(NULL, 4096, {ANON}) = {base + 2 * PAGE * i:#x}\n")
    for i in range(n):
        out.write(f"100 {t()} munmap({base + 2 * PAGE * i:#x}, 4096) = 0\n")


def _mprotect(n: int, out: TextIO) -> None:
    t = Clock()
    base = 0x7E0000000000
    out.write(f"100 {t()} mmap(NULL, {2 * n * PAGE}, {ANON}) = {base:#x}\n")
    for i in range(n):
        out.write(f"100 {t()} mprotect({base + 2 * PAGE * i:#x}, 4096, PROT_READ) = 0\n")
    for j in range(200):
        prot = "PROT_READ" if j % 2 == 0 else "PROT_READ|PROT_WRITE"
        out.write(f"100 {t()} mprotect({base:#x}, {2 * n * PAGE}, {prot}) = 0\n")


def _tiny(n: int, out: TextIO) -> None:
    t = Clock()
    top = 0x7F0000000000
    for i in range(n):
        out.write(f"100 {t()} mmap(NULL, 4096, {ANON}) = {top - PAGE * (i + 1):#x}\n")


def _forks(n: int, out: TextIO) -> None:
    t = Clock()
    top = 0x7F0000000000
    for i in range(n):
        pid = 1000 + i
        out.write(f"{pid} {t()} mmap(NULL, 4096, {ANON}) = {top - 2 * PAGE * (i + 1):#x}\n")
        out.write(f"{pid} {t()} {CLONE} = {pid + 1}\n")
    for i in reversed(range(n + 1)):
        out.write(f"{1000 + i} {t()} exit_group(0) = ?\n")
        out.write(f"{1000 + i} {t()} +++ exited with 0 +++\n")


def _pids(n: int, out: TextIO) -> None:
    t = Clock()
    top = 0x7F0000000000
    for i in range(n):
        pid = 1001 + i
        out.write(f"1000 {t()} {CLONE} = {pid}\n")
        out.write(f"{pid} {t()} mmap(NULL, 4096, {ANON}) = {top - 2 * PAGE:#x}\n")
        out.write(f"{pid} {t()} exit_group(0) = ?\n")
        out.write(f"{pid} {t()} +++ exited with 0 +++\n")
    out.write(f"1000 {t()} exit_group(0) = ?\n")
    out.write(f"1000 {t()} +++ exited with 0 +++\n")


SHAPES: dict[str, Callable[[int, TextIO], None]] = {
    "topdown": _topdown, "unmap": _unmap, "mprotect": _mprotect, "tiny": _tiny, "forks": _forks,
    "pids": _pids,
}
DEFAULT_SIZES = {
    "topdown": [250_000, 500_000, 1_000_000], "unmap": [250_000, 500_000, 1_000_000],
    "mprotect": [250_000, 500_000, 1_000_000], "tiny": [500_000, 1_000_000, 2_000_000],
    "forks": [2_500, 5_000, 10_000], "pids": [12_500, 25_000, 50_000],
}


def write_shape(shape: str, n: int, folder: Path) -> Path:
    path = folder / f"{shape}-{n}.trace"
    if not path.exists():
        with open(path, "w") as out:
            SHAPES[shape](n, out)
    return path


def run(path: Path, command: str) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of ``tracemem COMMAND PATH``."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tracemem", command, str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 and proc.stderr is not None:
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-2000:])
    return wall, usage.ru_maxrss / 1024, proc.returncode


def rows(shapes: list[str], sizes: list[int] | None, folder: Path, command: str) -> Iterator[str]:
    yield f"{'shape':<9} {'calls':>9} {'lines':>9} {'seconds':>8} {'peak MiB':>9} {'us/call':>8} {'us/(call*log2)':>14}"
    for shape in shapes:
        for n in sizes or DEFAULT_SIZES[shape]:
            path = write_shape(shape, n, folder)
            with open(path, "rb") as f:
                lines = sum(1 for _ in f)
            wall, peak, code = run(path, command)
            per = wall / n * 1e6
            note = "" if code == 0 else f"  exit {code}"
            yield (f"{shape:<9} {n:>9} {lines:>9} {wall:>8.2f} {peak:>9.0f} {per:>8.1f} "
                   f"{per / math.log2(n):>14.3f}{note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", action="append", choices=sorted(SHAPES), help="one shape (repeatable); default all")
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], help="comma-separated sizes")
    ap.add_argument("--command", default="summary", help="the tracemem command to time (default summary)")
    ap.add_argument("--keep", type=Path, help="write the traces to this folder and keep them")
    ns = ap.parse_args()
    shapes = ns.shape or list(SHAPES)
    if ns.keep:
        ns.keep.mkdir(parents=True, exist_ok=True)
        for line in rows(shapes, ns.sizes, ns.keep, ns.command):
            print(line, flush=True)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for line in rows(shapes, ns.sizes, Path(tmp), ns.command):
                print(line, flush=True)


if __name__ == "__main__":
    main()
