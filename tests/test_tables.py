"""The terminal tables of `tracemem summary` and `tracemem phases` on real traces: at 80 columns
no line is wider than the terminal, no cell is cut with an ellipsis, and every figure (the
ledgers, the peak, the phase times and deltas, the region ranges and sizes) is printed whole on
its row; the evidence of a phase is wrapped, never cut. Also at 120 columns and on a pipe
(the command line's width of 10,000), the process without a pid, and dtruss logs."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Callable

import pytest
from rich.console import Console

import tracemem
from tracemem.phases import Phase
from tracemem.reporters.tables import phases_table, summary_tables
from tracemem.summary import RunSummary
from tracemem.text import human, printable, signed

from conftest import DATA, DTRUSS, PEERS, ROOT, SAMPLES, SHARED_REASON, STRACE_DATA, ids, peer_logs

OWN = (sorted(SAMPLES.glob("*.trace")) + sorted(p for p in STRACE_DATA.iterdir() if p.is_file())
       + sorted((DATA / "groundtruth").glob("*.trace")) + sorted((DATA / "captures").glob("*.trace"))
       + sorted((DATA / "phases").glob("*.trace")))
DTRUSS_LOGS = sorted(p for p in DTRUSS.glob("*.txt")) if DTRUSS.exists() else []
SHARED = peer_logs() + DTRUSS_LOGS
WIDTHS = (80, 120)


def render(draw: Callable[[Console], None], width: int, soft_wrap: bool = True) -> str:
    """What ``draw(console)`` prints on a terminal of ``width`` columns (soft-wrapping, as the
    command line's console, or not: the checks below find both the same)."""
    console = Console(file=io.StringIO(), width=width, record=True, soft_wrap=soft_wrap, highlight=False)
    draw(console)
    return console.export_text()


@lru_cache(maxsize=None)
def loaded(path: Path) -> tuple[RunSummary, list[Phase], float | None]:
    trace = tracemem.read_trace(path)
    times = trace.df["time"]
    t0 = float(times.min()) if times.notna().any() else None
    return trace.summary(), trace.phases()[0], t0


def mib(n: int) -> str:
    """A ledger as the summary prints it (MiB, one decimal, no unit)."""
    value = n / 2**20
    return "0" if n == 0 else "<0.1" if abs(value) < 0.05 else f"{value:,.1f}"


def squeezed(text: str) -> str:
    """Text without its blanks and line ends (as it reads once unwrapped), trace text escaped as
    the tables show it."""
    return re.sub(r"\s+", "", printable(text))


def fits(text: str, width: int) -> None:
    lines = text.splitlines()
    assert lines, "nothing printed"
    wide = [line for line in lines if len(line) > width]
    assert not wide, f"{len(wide)} line(s) wider than {width}: {wide[0]!r}"
    assert "…" not in text, next(line for line in lines if "…" in line)


def row_with(text: str, cells: list[str], first: str | None = None) -> str:
    """The line on which ``cells`` stand in this order, whole, separated by blanks only (and
    that starts with ``first`` and any text after it, when given: a process and its program)."""
    start = r"^" + re.escape(first) + r"(?: .*?)?\s+" if first is not None else r"(?:^|\s)"
    pattern = re.compile(start + r"\s+".join(map(re.escape, cells)) + r"(?:\s|$)")
    found = [line for line in text.splitlines() if pattern.search(line)]
    assert found, f"no line holds {cells} whole:\n{text}"
    return found[0]


def check_summary(path: Path, width: int) -> None:
    summary, _, t0 = loaded(path)
    text = render(lambda c: summary_tables(c, summary, t0=t0), width)
    assert render(lambda c: summary_tables(c, summary, t0=t0), width, soft_wrap=False) == text
    fits(text, width)
    assert text.startswith("Address spaces (MiB), ")
    assert "None" not in text
    for p in summary.processes[:20]:
        pid = "(no pid)" if p.asid is None else str(p.asid)
        row_with(text, [mib(p.vsz), mib(p.reserved), mib(p.committed), mib(p.file), mib(p.shared),
                        mib(p.released), f"{p.map_count:,}", mib(p.peak_vsz)], first=pid)
        if p.exe:
            assert squeezed(Path(p.exe).name) in squeezed(text)
    if len(summary.processes) > 20:
        assert f"... {len(summary.processes) - 20:,} more (--processes N)" in text
    for p in summary.processes[:3]:
        for r in p.largest:
            row_with(text, [f"{r.start:x}-{r.end:x}", human(r.size), r.perms])
            # role and path whole (a path may be folded onto the next lines, never cut)
            assert squeezed(r.role + (r.path or "")) in squeezed(text), r


def check_phases(path: Path, width: int) -> None:
    _, phases, t0 = loaded(path)
    text = render(lambda c: phases_table(c, phases, t0), width)
    assert render(lambda c: phases_table(c, phases, t0), width, soft_wrap=False) == text
    fits(text, width)
    if not phases:
        assert text.startswith("no phases detected")
        return
    spans = [abs(t - t0) for p in phases for t in (p.start_time, p.end_time) if t is not None and t0 is not None]
    ms = bool(spans) and 0 < max(spans) < 0.01
    assert ("times in ms" in text) == ms
    assert "None" not in text

    def when(seq: int | None, t: float | None) -> str:
        if t is None or t0 is None:
            return f"seq {seq}"
        return f"{(t - t0) * 1000:.3f}" if ms else f"{t - t0:.3f}"

    for p in phases:
        pid = "(no pid)" if p.asid is None else str(p.asid)
        row_with(text, [p.name, when(p.start_seq, p.start_time), when(p.end_seq, p.end_time),
                        signed(p.vsz), signed(p.reserved), signed(p.committed)], first=pid)
        # the evidence whole, wrapped or on one line
        assert squeezed(p.evidence.split(": ", 1)[-1]) in squeezed(text), p.evidence


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", OWN, ids=ids(OWN))
def test_summary_fits_the_terminal_with_every_figure_whole(path: Path, width: int) -> None:
    check_summary(path, width)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", OWN, ids=ids(OWN))
def test_phases_fit_the_terminal_with_every_figure_whole(path: Path, width: int) -> None:
    check_phases(path, width)


@pytest.mark.skipif(not PEERS.exists() and not DTRUSS.exists(), reason=SHARED_REASON)
@pytest.mark.parametrize("path", SHARED, ids=ids(SHARED))
def test_shared_corpus_tables_fit_80_columns(path: Path) -> None:
    check_summary(path, 80)
    check_phases(path, 80)


def test_the_shared_corpus_is_here_or_the_skip_says_why() -> None:
    if not PEERS.exists() or not DTRUSS.exists():
        pytest.skip(SHARED_REASON)
    assert len(peer_logs()) >= 19 and len(DTRUSS_LOGS) >= 10


def test_80_columns_layout_of_a_go_server() -> None:
    """The look at 80 columns: short headers, MiB said once, the evidence under the figures."""
    summary, phases, t0 = loaded(SAMPLES / "go-http-net.trace")
    text = render(lambda c: summary_tables(c, summary, t0=t0, detailed=1), 80)
    lines = text.splitlines()
    assert lines[0] == "Address spaces (MiB), traced mappings only: --baseline-maps adds exec-time ones"
    assert lines[1].split() == ["process", "VSZ", "resv", "commit", "file", "shared", "rel", "maps", "peak", "at"]
    assert re.match(r"27108 hello +1,055\.\d +960\.3 +92\.\d +1\.8 +0 +0 +\d+ +1,11\d\.\d +0\.0\d\d s$",
                    lines[3].rstrip()), lines[3]
    assert "resv: reserved, commit: committed (charged), rel: released, peak: highest VSZ" in lines
    assert "Largest regions of 27108 /tmp/hello" in lines
    text = render(lambda c: phases_table(c, phases, t0), 80)
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0] == "Phases: times in seconds from the trace's first event; Δ: change over the phase"
    assert lines[1].split() == ["process", "phase", "start", "end", "ΔVSZ", "Δresv", "Δcommit"]
    assert re.match(r"27108 hello +runtime-init +0\.028 +0\.045 +\+700\.3 MiB +\+649\.0 MiB +\+51\.4 MiB$",
                    lines[5]), lines[5]
    assert "What started each phase:" in lines
    assert any(re.match(r"27108 hello +exit +line 140: exit_group\(0\) = \?$", line) for line in lines)


def test_a_pipe_gets_the_evidence_as_a_column_on_one_line() -> None:
    _, phases, t0 = loaded(SAMPLES / "go-http-net.trace")
    text = render(lambda c: phases_table(c, phases, t0), 10_000)
    header = text.splitlines()[1].split()
    assert header[-1] == "evidence" and "What started each phase:" not in text
    for p in phases:
        assert any(line.rstrip().endswith(p.evidence.split(": ", 1)[-1]) for line in text.splitlines()), p.name


def test_paths_go_under_the_role_when_the_columns_would_not_fit() -> None:
    summary, _, t0 = loaded(SAMPLES / "python-startup.trace")
    path = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"
    wide = render(lambda c: summary_tables(c, summary, t0=t0), 10_000)
    assert re.search(r"r-xp +shared library +" + re.escape(path), wide)
    narrow = render(lambda c: summary_tables(c, summary, t0=t0), 100)
    assert "role, path" in narrow
    lines = narrow.splitlines()
    at = next(i for i, line in enumerate(lines) if line.rstrip().endswith("r-xp   shared library"))
    assert lines[at + 1].strip() == path


def test_a_process_without_a_pid_is_shown_as_no_pid() -> None:
    # strace without -f prints no pids; the fork child (untraced) has the pid the fork returned
    summary, phases, t0 = loaded(STRACE_DATA / "c-nof.trace")
    assert summary.processes[0].asid is None
    text = render(lambda c: summary_tables(c, summary, t0=t0), 80)
    assert "None" not in text
    assert re.search(r"^\(no pid\) memdemo +84\.7 ", text, re.M)
    assert "Largest regions of (no pid) ./memdemo" in text
    text = render(lambda c: phases_table(c, phases, t0), 80)
    assert "None" not in text and re.search(r"^\(no pid\) memdemo +exec +seq 0 +seq 8 ", text, re.M)
    # narrower: the program wraps under the pid, "(no pid)" stays whole
    for draw in (lambda c: summary_tables(c, summary, t0=t0), lambda c: phases_table(c, phases, t0)):
        text = render(draw, 72)
        fits(text, 72)
        assert re.search(r"^\(no pid\) .*\n(?:memdemo) ", text, re.M), text


DTRUSS_LOG = (
    "\tPID/THRD  RELATIVE  ELAPSD    CPU SYSCALL(args) \t\t = return\n"
    " 4374/0x206a2:     15899       7      2 mmap(0x0, 0x40000, 0x3, 0x1002, 0xFFFFFFFFFFFFFFFF, 0x0)\t\t = 0x4000000 0\n"
    " 4374/0x206a2:     15930       3      1 mmap(0xC000000000, 0x4000000, 0x0, 0x1002, 0xFFFFFFFFFFFFFFFF, 0x0)"
    "\t\t = 0xC000000000 0\n"
)


def test_dtruss_summary_says_commit_is_what_linux_would_charge(tmp_path: Path) -> None:
    log = tmp_path / "go.dtruss"
    log.write_text(DTRUSS_LOG)
    summary = tracemem.read_trace(log).summary()
    assert summary.from_dtruss
    text = render(lambda c: summary_tables(c, summary), 80)
    fits(text, 80)
    assert "commit: what Linux would charge for the same flags (a macOS dtruss log)" in text.splitlines()
    assert "committed (charged)" not in text
    linux = render(lambda c: summary_tables(c, loaded(SAMPLES / "go-http.trace")[0]), 80)
    assert "what Linux would charge" not in linux and "commit: committed (charged)" in linux


@pytest.mark.parametrize("path", OWN + SHARED, ids=ids(OWN + SHARED))
def test_the_summary_knows_a_dtruss_log(path: Path) -> None:
    """RunSummary.from_dtruss rests on time_kind ("record order" only for dtruss): pinned on
    every real log, strace ones with and without times."""
    trace = tracemem.read_trace(path)
    formats = set(trace.report.formats.values())
    assert len(formats) == 1
    assert trace.summary().from_dtruss == (formats == {"dtruss"})


def test_huge_address_spaces_change_the_unit_not_the_width() -> None:
    """A sanitizer's terabytes of shadow reservation in GiB (a figure in MiB would take 12
    columns); a few KiB is <0.1, nothing is 0."""
    summary, _, _ = loaded(SAMPLES / "go-http.trace")
    p = summary.processes[0]
    asan = dataclasses.replace(p, vsz=20 << 40, reserved=(20 << 40) - (1 << 30), committed=1 << 30,
                               file=4096, shared=0, peak_vsz=20 << 40, exe="./asan")
    text = render(lambda c: summary_tables(c, dataclasses.replace(summary, processes=[asan]), detailed=0), 80)
    fits(text, 80)
    assert text.startswith("Address spaces (GiB), ")
    row_with(text, ["20,480.0", "20,479.0", "1.0", "<0.1", "0"])
    tb = dataclasses.replace(asan, vsz=200_000 << 30, reserved=0, peak_vsz=200_000 << 30)
    text = render(lambda c: summary_tables(c, dataclasses.replace(summary, processes=[tb]), detailed=0), 80)
    assert text.startswith("Address spaces (TiB), ") and "195.3" in text


def test_short_traces_give_times_in_ms_and_traces_without_times_give_seq() -> None:
    phases = [Phase("exec", 7, 0, 5, 100.0, 100.0004, "why: line 1: execve()"),
              Phase("loader", 7, 5, 9, 100.0004, 100.0062, "why: line 6: openat()")]
    text = render(lambda c: phases_table(c, phases, 100.0), 80)
    assert "Phases: times in ms from the trace's first event" in text
    row_with(text, ["7", "loader", "0.400", "6.200"])
    # without the trace's first event: from the first phase, and the heading says so
    text = render(lambda c: phases_table(c, phases), 80)
    assert "times in ms from the first phase's start" in text
    untimed = [dataclasses.replace(p, start_time=None, end_time=None) for p in phases]
    text = render(lambda c: phases_table(c, untimed), 80)
    assert "no times in the trace, events by seq" in text
    row_with(text, ["7", "loader", "seq 5", "seq 9"])
    assert squeezed(render(lambda c: phases_table(c, []), 80)) == squeezed(
        "no phases detected: the trace shows no execve, loader, runtime, thread, socket or exit evidence")


def test_peak_at_is_a_time_with_the_first_event_else_a_seq() -> None:
    summary, _, t0 = loaded(SAMPLES / "go-http-net.trace")
    p = summary.processes[0]
    assert p.peak_time is not None and t0 is not None
    with_time = render(lambda c: summary_tables(c, summary, t0=t0, detailed=0), 80)
    assert re.search(rf" {p.peak_time - t0:.3f} s\s*$", with_time.splitlines()[3])
    without = render(lambda c: summary_tables(c, summary, detailed=0), 80)
    assert re.search(rf" seq {p.peak_seq}\s*$", without.splitlines()[3])


def test_trace_text_in_the_tables_is_not_markup_nor_escapes(tmp_path: Path) -> None:
    log = tmp_path / "evil.trace"
    log.write_text('1 execve("/tmp/[bold]x\\33]0;t\\7", ["x"], 0x1 /* 1 var */) = 0\n'
                   '1 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3</tmp/[red]\x1b]0;pwned\x07y>, 0) = 0x7f0000000000\n')
    trace = tracemem.read_trace(log)
    text = render(lambda c: summary_tables(c, trace.summary()), 80)
    text += render(lambda c: phases_table(c, trace.phases()[0]), 80)
    assert "\x1b" not in text and "\x07" not in text
    assert "/tmp/[red]\\x1b]0;pwned\\x07y" in squeezed(text)


@pytest.mark.parametrize("command", ["summary", "phases"])
@pytest.mark.parametrize("name", ["go-http-net", "python-startup", "memdemo"])
def test_the_command_line_at_80_columns(command: str, name: str) -> None:
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run([sys.executable, "-m", "tracemem", command, str(SAMPLES / f"{name}.trace")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    fits(done.stdout, 80)
    assert ("Address spaces (MiB)" if command == "summary" else "Phases: times in seconds") in done.stdout


@pytest.mark.parametrize("command", [["summary", "samples/go-http-net.trace", "--top", "3"],
                                     ["phases", "samples/go-http-net.trace"]], ids=["summary", "phases"])
def test_the_readme_shows_what_the_command_prints_at_80_columns(command: list[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    shown = f"`tracemem {' '.join(command)}`"
    assert shown in readme
    block = re.search(r"```text\n(.*?)\n```", readme.split(shown, 1)[1], re.S)
    assert block is not None
    done = subprocess.run([sys.executable, "-m", "tracemem", *command], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "80"}, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [line.rstrip() for line in done.stdout.splitlines()] == block.group(1).splitlines()
