"""Parse-speed benchmark (issue 13): tracemem against strace-process-tree, in one run, per trace.

    python benchmarks/bench_parse.py                       # go build trace and busy trace, 3 rounds
    python benchmarks/bench_parse.py bench-data/gobuild.trace --rounds 1
    python benchmarks/bench_parse.py --only baseline,stats,startup --rounds 5
    python benchmarks/bench_parse.py --pure --lark --json > notes.json

The default traces are ``bench-data/gobuild-std.trace`` and ``bench-data/busy.trace``; make them
once (they are large and machine-specific, so not committed; bench-data/ is gitignored) with

    sh benchmarks/make_gobuild_trace.sh bench-data/gobuild-std.trace   # go build -a std, ~0.95M lines
    sh benchmarks/make_busy_trace.sh bench-data/busy.trace             # a busy mixed workload, ~1.2M lines

Needs the ``bench`` extra (``pip install -e '.[bench]'``) for the baseline.

Commands (``--only`` takes a comma-separated list of these names; default: all but pure and lark):

* ``baseline``: strace-process-tree, a small ``python -c`` that runs ``strace_process_tree.events()``
  over the file (it splits each line into pid, timestamp and text and joins unfinished/resumed
  halves; no argument parsing);
* ``stats``: ``tracemem stats TRACE --json`` (every line accounted for, halves joined, memory and
  process syscalls decoded);
* ``parse``: ``tracemem parse TRACE -o events.parquet`` (every event, every column, written);
* ``summary``: ``tracemem summary TRACE``;
* ``timeline``: ``tracemem timeline TRACE -o t.parquet``;
* ``pure`` (also ``--pure``): ``tracemem stats --json`` with ``TRACEMEM_PURE_PYTHON=1`` (the
  compiled scanner off: what an install without a C compiler gets);
* ``lark`` (also ``--lark``): a plain per-line ``Lark.parse`` (LALR) of the first 20,000 lines, for
  scale; its figures are the parse loop's own (timed inside the child), over those lines;
* ``startup``: once, on the first 1,000 lines of the first trace, ``tracemem stats --json`` (and
  the baseline, when it is among the commands): start-up cost (the issue's target: under 0.15 s
  of CPU for tracemem).

Every measurement is a child process of this Python (``sys.executable``, so the same venv), the
baseline too, so that all are measured the same way: interpreter start-up and imports included.
For each trace the rounds alternate the commands (baseline, stats, parse, ..., baseline, stats,
...; ``--rounds`` times), so that drift in the machine's load falls on all of them alike. Measured
per run:

* wall: seconds from the start of the child to its exit;
* CPU: user + system seconds of the child and its descendants, from the growth of
  ``getrusage(RUSAGE_CHILDREN)`` across the run (runs are sequential; a descendant counts once its
  parent has waited for it, as tracemem's workers are);
* peak RSS: ``ru_maxrss`` from ``os.wait4``, which the kernel takes as the largest of the child and
  the descendants it reaped: the largest single process of the tree (e.g. a parse worker if it is
  bigger than the main process), not a sum. Linux also counts in it the peak RSS of the process it
  was forked from (this one) at the exec, so this script keeps itself small (it does not import
  tracemem) and prints that floor (about 15 MiB; a bare Python is about 10).

Printed: each run as it ends, then per trace the medians over the rounds that finished, lines per
second (wall), and the ratios to the baseline's medians, ``baseline / command`` for wall and for
CPU: above 1 means faster than strace-process-tree (2.00x: it takes half the baseline's time).
``--json`` prints the medians as one JSON object on stdout (the rest then goes to stderr).
The machine is shared and noisy: the load averages at the start and end are printed with the figures.
Exit code 0 when every run succeeded, 1 when one failed or timed out, 2 for a missing trace or a
missing baseline.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TRACES = [Path("bench-data/gobuild-std.trace"), Path("bench-data/busy.trace")]
MAIN = ["baseline", "stats", "parse", "summary", "timeline"]
NAMES = [*MAIN, "pure", "lark", "startup"]
LARK_LINES = 20_000
STARTUP_LINES = 1_000
STARTUP_TARGET = 0.15  # s of CPU (issue 13)

BASELINE_CODE = """\
import sys
import strace_process_tree as spt
with open(sys.argv[1], encoding="utf-8", errors="replace") as fh:
    for _ in spt.events(fh):
        pass
"""

LARK_CODE = """\
import json, sys, time
from lark.exceptions import LarkError
from tracemem.parse.grammar import strace_parser
path, limit = sys.argv[1], int(sys.argv[2])
parser = strace_parser()
lines = []
with open(path, encoding="utf-8", errors="surrogateescape") as fh:
    for line in fh:
        lines.append(line.rstrip("\\n"))
        if len(lines) >= limit:
            break
wall, cpu = time.perf_counter(), time.process_time()
for line in lines:
    try:
        parser.parse(line, start="line")
    except LarkError:
        pass
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "lines": len(lines)}))
"""

COMPILE_CODE = """\
import compileall, os, importlib.util
spec = importlib.util.find_spec("tracemem")
if spec is not None and spec.origin:
    compileall.compile_dir(os.path.dirname(spec.origin), quiet=2)
"""

PROBE_CODE = """\
from importlib.metadata import PackageNotFoundError, version
try:
    print(version("strace-process-tree"))
except PackageNotFoundError:
    print("-")
from tracemem.parse import strace
print(strace._SCAN is not None)
"""

LABELS = {
    "baseline": "strace-process-tree (baseline)",
    "stats": "tracemem stats --json",
    "parse": "tracemem parse -o events.parquet",
    "summary": "tracemem summary",
    "timeline": "tracemem timeline -o t.parquet",
    "pure": "tracemem stats --json, pure Python",
    "lark": f"plain Lark LALR per line ({LARK_LINES:,} lines)",
}

out = sys.stdout  # the human-readable report; stderr with --json


def say(text: str = "") -> None:
    print(text, file=out, flush=True)


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):   # small: this process's peak RSS is every child's floor
            n += block.count(b"\n")
    return n


@dataclass
class Run:
    wall: float          # seconds
    cpu: float           # user + sys seconds of the child's tree
    peak: float          # MiB (ru_maxrss of wait4)
    code: int            # exit code (negative: killed by that signal)
    timed_out: bool
    err: str             # the tail of stderr
    stdout: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 0 and not self.timed_out


def _cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> Run:
    """Run CMD as a child: wall, CPU of its tree, peak RSS (wait4) and exit code."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as so:
        cpu0 = _cpu_children()
        start = time.perf_counter()
        # a session of its own, so that a timeout kills the parse workers too
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=so, stderr=err,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        cpu = _cpu_children() - cpu0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if timed_out.is_set():   # the group's leftovers, if any
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        err.seek(0)
        tail = err.read()[-2000:].decode(errors="replace")
        so.seek(0)
        text = so.read(1 << 16).decode(errors="replace")
    return Run(wall, cpu, usage.ru_maxrss / 1024, proc.returncode, timed_out.is_set(), tail, text)


def tracemem(*args: str) -> list[str]:
    return [sys.executable, "-m", "tracemem", *args]


def command(name: str, trace: Path, tmp: Path) -> tuple[list[str], dict[str, str] | None]:
    t = str(trace)
    if name == "baseline":
        return [sys.executable, "-c", BASELINE_CODE, t], None
    if name == "stats":
        return tracemem("stats", t, "--json", "--no-progress"), None
    if name == "pure":
        return tracemem("stats", t, "--json", "--no-progress"), {"TRACEMEM_PURE_PYTHON": "1"}
    if name == "parse":
        return tracemem("parse", t, "-o", str(tmp / "events.parquet"), "--no-progress"), None
    if name == "summary":
        return tracemem("summary", t, "--no-progress"), None
    if name == "timeline":
        return tracemem("timeline", t, "-o", str(tmp / "t.parquet"), "--no-progress"), None
    if name == "lark":
        return [sys.executable, "-c", LARK_CODE, t, str(LARK_LINES)], None
    raise ValueError(name)


def measure(name: str, trace: Path, tmp: Path, timeout: float) -> Run:
    for stale in ("events.parquet", "t.parquet"):
        (tmp / stale).unlink(missing_ok=True)
    cmd, env = command(name, trace, tmp)
    r = run(cmd, timeout, env)
    if name == "lark" and r.ok:
        # the parse loop's own figures: not the child's start-up, import and grammar build
        try:
            inner = json.loads(r.stdout.strip().splitlines()[-1])
            r.wall, r.cpu = inner["wall"], inner["cpu"]
            r.stdout = str(inner["lines"])
        except (ValueError, IndexError, KeyError):
            r.code = 1
            r.err += f"\nunexpected output: {r.stdout[-500:]!r}"
    return r


def describe(r: Run, timeout: float) -> str:
    if r.timed_out:
        return f"{r.wall:8.2f} s  killed: exceeded --timeout {timeout:g} s"
    note = "" if r.code == 0 else f"  exit {r.code}"
    return f"{r.wall:8.2f} s wall {r.cpu:8.2f} s CPU {r.peak:7.0f} MiB{note}"


@dataclass
class Medians:
    wall: float | None
    cpu: float | None
    peak: float | None
    finished: int
    rounds: int
    extra: dict[str, object] = field(default_factory=dict)


def medians(runs: list[Run]) -> Medians:
    done = [r for r in runs if r.ok]

    def med(attr: str) -> float | None:
        return statistics.median(getattr(r, attr) for r in done) if done else None

    return Medians(med("wall"), med("cpu"), med("peak"), len(done), len(runs))


def rounds(names: list[str], trace: Path, tmp: Path, ns: argparse.Namespace,
           label: str = "") -> dict[str, list[Run]]:
    """Run NAMES round-robin, ``--rounds`` times, printing each run as it ends."""
    runs: dict[str, list[Run]] = {n: [] for n in names}
    width = max(len(n) for n in names)
    for i in range(1, ns.rounds + 1):
        for name in names:
            r = measure(name, trace, tmp, ns.timeout)
            runs[name].append(r)
            say(f"  {label}round {i} {name:{width}} {describe(r, ns.timeout)}")
            if not r.ok and not r.timed_out:
                sys.stderr.write(r.err.rstrip("\n") + "\n")
    return runs


def ratio(base: float | None, this: float | None) -> float | None:
    return base / this if base and this else None


def fmt(x: float | None, spec: str, width: int, suffix: str = "") -> str:
    return f"{format(x, spec)}{suffix}".rjust(width) if x is not None else "-".rjust(width)


def table(rows: dict[str, Medians], lines: dict[str, int], labels: dict[str, str]) -> dict[str, dict[str, object]]:
    """Print the medians of one set of runs against the baseline's; return them as JSON-ready dicts."""
    base = rows.get("baseline")
    say(f"  {'median of the rounds':44} {'wall s':>7} {'CPU s':>7} {'lines/s':>10} "
        f"{'base/this':>9} {'base/this':>9} {'peak RSS':>9} {'ok':>5}")
    say(f"  {'':44} {'':>7} {'':>7} {'(wall)':>10} {'wall':>9} {'CPU':>9} {'MiB':>9}")
    result: dict[str, dict[str, object]] = {}
    for name, m in rows.items():
        n = lines[name]
        rate = n / m.wall if m.wall else None
        bw: float | None
        bc: float | None
        if name == "lark" and base is not None and base.wall and base.cpu:
            # per line: the loop covers only LARK_LINES lines, the baseline the whole file
            bw = base.wall * n / lines["baseline"]
            bc = base.cpu * n / lines["baseline"]
        else:
            bw, bc = (base.wall, base.cpu) if base is not None else (None, None)
        rw, rc = ratio(bw, m.wall), ratio(bc, m.cpu)
        say(f"  {labels[name]:44} {fmt(m.wall, '.2f', 7)} {fmt(m.cpu, '.2f', 7)} {fmt(rate, ',.0f', 10)} "
            f"{fmt(rw, '.2f', 9, 'x')} {fmt(rc, '.2f', 9, 'x')} {fmt(m.peak, '.0f', 9)} "
            f"{m.finished:>2}/{m.rounds}")
        result[name] = {"label": labels[name], "wall_s": m.wall, "cpu_s": m.cpu, "lines": n,
                        "lines_per_s_wall": rate, "baseline_over_this_wall": rw,
                        "baseline_over_this_cpu": rc, "peak_rss_mib": m.peak,
                        "finished": m.finished, "rounds": m.rounds, **m.extra}
    return result


def bench(trace: Path, names: list[str], ns: argparse.Namespace) -> tuple[dict[str, object], bool]:
    lines = count_lines(trace)
    size = trace.stat().st_size
    say(f"trace: {trace} ({lines:,} lines, {size / 2**20:.0f} MiB); rounds: {ns.rounds}; "
        f"load average: {loadavg()}")
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        runs = rounds(names, trace, tmp, ns)
        rows = {n: medians(rs) for n, rs in runs.items()}
        labels = dict(LABELS)
        for name, fname in (("parse", "events.parquet"), ("timeline", "t.parquet")):
            if name in rows and (tmp / fname).exists():   # the last run's output
                mib = (tmp / fname).stat().st_size / 2**20
                labels[name] += f" ({mib:.0f} MiB)"
                rows[name].extra["output_mib"] = round(mib, 1)
    counts = {n: lines for n in names}
    if "lark" in runs:
        done = [int(r.stdout) for r in runs["lark"] if r.ok]
        counts["lark"] = done[-1] if done else min(lines, LARK_LINES)
        labels["lark"] = f"plain Lark LALR per line ({counts['lark']:,} lines)"
    result = table(rows, counts, labels)
    if "lark" in rows and "baseline" in rows:
        say(f"  (the Lark row's ratios are per line: the baseline's time for {counts['lark']:,} of its "
            f"{lines:,} lines over the loop's)")
    ok = all(r.ok for rs in runs.values() for r in rs)
    return {"trace": str(trace), "lines": lines, "bytes": size, "results": result}, ok


def startup(trace: Path, ns: argparse.Namespace, with_baseline: bool) -> tuple[dict[str, object], bool]:
    """``tracemem stats --json`` (and the baseline) on the first STARTUP_LINES lines of TRACE."""
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        small = tmp / f"first{STARTUP_LINES}.trace"
        with open(trace, "rb") as src, open(small, "wb") as dst:
            for i, line in enumerate(src):
                if i >= STARTUP_LINES:
                    break
                dst.write(line)
        n = count_lines(small)
        say(f"start-up: the first {n:,} lines of {trace}; rounds: {ns.rounds}")
        names = ["baseline", "stats"] if with_baseline else ["stats"]
        runs = rounds(names, small, tmp, ns, label="start-up ")
    rows = {name: medians(rs) for name, rs in runs.items()}
    labels = {"baseline": f"strace-process-tree, {n:,} lines",
              "stats": f"tracemem stats --json, {n:,} lines"}
    result = table(rows, {name: n for name in names}, labels)
    cpu = rows["stats"].cpu
    verdict = "-" if cpu is None else ("met" if cpu < STARTUP_TARGET else "NOT met")
    say(f"  start-up target: tracemem stats under {STARTUP_TARGET} s of CPU: "
        + (f"{cpu:.3f} s, {verdict}" if cpu is not None else "-"))
    ok = all(r.ok for rs in runs.values() for r in rs)
    return {"trace": str(trace), "lines": n, "target_cpu_s": STARTUP_TARGET,
            "target_met": None if cpu is None else cpu < STARTUP_TARGET, "results": result}, ok


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def revision() -> str:
    try:
        here = Path(__file__).resolve().parent
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "-"


def how_to_make(trace: Path) -> str:
    if "busy" in trace.name:
        return f"sh benchmarks/make_busy_trace.sh {trace}"
    if "go" in trace.name:
        return f"sh benchmarks/make_gobuild_trace.sh {trace}"
    return (f"sh benchmarks/make_gobuild_trace.sh {trace} (go build -a std) or "
            f"sh benchmarks/make_busy_trace.sh {trace} (the busy workload)")


def main() -> None:
    global out
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Commands: " + ", ".join(NAMES) + ". See the module docstring.")
    ap.add_argument("traces", type=Path, nargs="*", metavar="TRACE",
                    help="strace logs (default: " + " ".join(map(str, DEFAULT_TRACES)) + ")")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per trace (default 3)")
    ap.add_argument("--only", metavar="NAMES",
                    help="comma-separated commands to run, of: " + ",".join(NAMES)
                    + " (default: " + ",".join([*MAIN, "startup"]) + ", plus pure/lark if asked)")
    ap.add_argument("--pure", action="store_true", help="add stats with TRACEMEM_PURE_PYTHON=1")
    ap.add_argument("--lark", action="store_true",
                    help=f"add a plain per-line Lark parse of the first {LARK_LINES:,} lines")
    ap.add_argument("--json", action="store_true",
                    help="print the medians as JSON on stdout (the report goes to stderr)")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds per run before it is killed (default 1800)")
    ns = ap.parse_args()
    if ns.rounds < 1:
        ap.error("--rounds must be at least 1")
    if ns.only is not None:
        chosen = [n.strip() for n in ns.only.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in NAMES]
        if unknown or not chosen:
            ap.error(f"--only: unknown {', '.join(unknown) or '(nothing named)'}; choose from {','.join(NAMES)}")
        if ns.pure:
            chosen.append("pure")
        if ns.lark:
            chosen.append("lark")
    else:
        chosen = [*MAIN, "startup"] + ["pure"] * ns.pure + ["lark"] * ns.lark
    names = [n for n in NAMES if n in chosen and n != "startup"]   # in a fixed order
    if ns.json:
        out = sys.stderr
    traces = ns.traces or DEFAULT_TRACES
    for trace in traces:
        if not trace.is_file():
            print(f"error: {trace}: no such trace; make it with {how_to_make(trace)}", file=sys.stderr)
            sys.exit(2)
    if "baseline" in chosen and importlib.util.find_spec("strace_process_tree") is None:
        print(f"error: strace_process_tree is not importable by {sys.executable} (the baseline); "
              "install the bench extra: pip install -e '.[bench]'", file=sys.stderr)
        sys.exit(2)
    # asked of a child: importing tracemem here would raise this process's peak RSS, which every
    # child's ru_maxrss then starts from (see floor below)
    probe = subprocess.run([sys.executable, "-c", PROBE_CODE], capture_output=True, text=True)
    # tracemem's bytecode written once, as pip writes it for a wheel (and the baseline's): with
    # PYTHONDONTWRITEBYTECODE set, an editable checkout has none, and every command compiled the
    # whole package from source first (0.15 s of each run on this machine)
    subprocess.run([sys.executable, "-c", COMPILE_CODE], capture_output=True)
    found = probe.stdout.split()
    spt = found[0] if found else "-"
    scanner = {"True": True, "False": False}.get(found[1] if len(found) > 1 else "")
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start_load = os.getloadavg()
    rev = revision()
    say(f"python: {sys.executable}; tracemem {rev}; strace-process-tree {spt}; "
        f"cores: {os.cpu_count()}; load average: {loadavg()}")
    if scanner is False:
        say("note: the compiled scanner is not built here; tracemem runs its pure-Python path")
    elif scanner is None:
        say(f"note: could not import tracemem: {probe.stderr.strip().splitlines()[-1:] or probe.returncode}")
    say(f"peak RSS floor: {floor:.0f} MiB (this process's own peak, which Linux counts in each "
        "child's ru_maxrss: the child starts as a copy of it)")
    say("base/this: the baseline's median time over the command's (above 1: faster than "
        "strace-process-tree)")
    report: dict[str, object] = {"python": sys.executable, "tracemem": rev,
                                 "strace_process_tree": spt, "scanner": scanner,
                                 "cores": os.cpu_count(), "rounds": ns.rounds,
                                 "peak_rss_floor_mib": round(floor, 1),
                                 "load_average_start": list(start_load)}
    ok = True
    results = []
    if names:
        for trace in traces:
            r, good = bench(trace, names, ns)
            results.append(r)
            ok &= good
    report["traces"] = results
    if "startup" in chosen:
        r, good = startup(traces[0], ns, with_baseline="baseline" in chosen)
        report["startup"] = r
        ok &= good
    end_load = os.getloadavg()
    report["load_average_end"] = list(end_load)
    say(f"load average at the end: {loadavg()}")
    if ns.json:
        print(json.dumps(report, indent=2))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
