"""The progress display of the long commands (tracemem.progress): shown on a terminal only, with a
percentage where the input's size is known, erased when done, never on stdout, and never a
change to what is parsed or replayed."""

from __future__ import annotations

import gzip
import io
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tracemem import progress
from tracemem.parse.files import iter_batches
from tracemem.trace import MODEL_SYSCALLS, read_trace

from conftest import SAMPLES

TRACE = SAMPLES / "python-startup.trace"
OTHER = SAMPLES / "node-startup.trace"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SPINNER = re.compile(r"^[\u2800-\u28ff\s]+")  # the spinner's frame before a stage's name


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No environment of the runner's decides for the tests (CI may set FORCE_COLOR or TERM)."""
    for name in (progress.NO_PROGRESS_ENV, "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120), out


def frames(text: str) -> list[str]:
    """Every line the display drew, without its colours."""
    return [_SPINNER.sub("", f).strip() for f in re.split(r"[\r\n]", _ANSI.sub("", text)) if f.strip()]


def screen(text: str) -> list[str]:
    """What a terminal shows after ``text``: the codes rich writes (CR, LF, cursor up, erase
    line, colours, cursor visibility) played on a grid; trailing blank lines dropped."""
    rows: list[list[str]] = [[]]
    row = col = 0
    for m in re.finditer(r"\x1b\[([0-9;?]*)([A-Za-z])|(.)", text, re.S):
        params, code, ch = m.group(1), m.group(2), m.group(3)
        if code == "A":
            row = max(0, row - int(params or 1))
        elif code == "K":
            assert params in ("2", ""), params
            rows[row] = [] if params == "2" else rows[row][:col]
        elif code == "G":
            col = int(params or 1) - 1
        elif code in ("m", "h", "l"):
            pass
        elif code is not None:
            raise AssertionError(f"unexpected control code {m.group(0)!r}")
        elif ch == "\r":
            col = 0
        elif ch == "\n":
            row, col = row + 1, 0
            while len(rows) <= row:
                rows.append([])
        else:
            line = rows[row]
            line.extend(" " * (col - len(line) + 1))
            line[col] = ch
            col += 1
    shown = ["".join(r).rstrip() for r in rows]
    while shown and not shown[-1]:
        shown.pop()
    return shown


def percents(lines: list[str]) -> list[int]:
    return [int(m.group(1)) for line in lines for m in [re.search(r"(\d+)%", line)] if m]


@pytest.fixture
def every_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """Draw each report (no throttle), so that a small file shows its way from 0 to 100%."""
    monkeypatch.setattr(progress, "PERIOD", 0.0)


def blocks_of(paths: list[Path] | list[str], block_size: int = 4096) -> list[dict[str, list[Any]]]:
    return list(iter_batches(paths, block_size=block_size, workers=1))


# -- shown: reading ----------------------------------------------------------------------------------


def test_a_file_of_known_size_shows_a_percentage_of_its_bytes(every_update: None) -> None:
    console, out = terminal()
    with progress.shown(console, enabled=True) as display:
        assert display is not None and progress.current() is display
        blocks_of([TRACE])
    reading = [f for f in frames(out.getvalue()) if f.startswith(f"reading {TRACE}")]
    assert len(reading) >= 5, reading
    seen = percents(reading)
    assert len(seen) == len(reading) and seen == sorted(seen), reading
    assert seen[0] == 0 and seen[-1] == 100 and any(0 < p < 100 for p in seen)
    size = TRACE.stat().st_size
    assert f"{size / 1024:,.1f}/{size / 1024:,.1f} KiB" in reading[-1]


def test_several_files_one_bar_over_their_sizes(every_update: None) -> None:
    console, out = terminal()
    with progress.shown(console, enabled=True):
        blocks_of([TRACE, OTHER])
    drawn = frames(out.getvalue())
    assert any(f.startswith(f"reading {TRACE} (1/2)") for f in drawn)
    second = [f for f in drawn if f.startswith(f"reading {OTHER} (2/2)")]
    assert second, drawn
    total = (TRACE.stat().st_size + OTHER.stat().st_size) / 1024
    assert f"{total:,.1f}/{total:,.1f} KiB" in second[-1] and "100%" in second[-1]
    # the second file goes on from the first's bytes, never back to 0
    assert percents(second)[0] >= 40


def test_a_compressed_file_counts_its_compressed_bytes(tmp_path: Path, every_update: None) -> None:
    packed = tmp_path / "run.trace.gz"
    packed.write_bytes(gzip.compress(TRACE.read_bytes() * 4))
    console, out = terminal()
    with progress.shown(console, enabled=True):
        blocks_of([packed])
    reading = [f for f in frames(out.getvalue()) if f.startswith("reading")]
    size = packed.stat().st_size
    assert size < TRACE.stat().st_size  # the display's total is what is on disk
    assert percents(reading)[-1] == 100
    assert progress._bytes(size, size) in reading[-1], reading[-1]


def _pipe_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    r, w = os.pipe()

    def feed() -> None:
        with os.fdopen(w, "wb") as pipe:
            pipe.write(data)

    threading.Thread(target=feed, daemon=True).start()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(os.fdopen(r, "rb")))


def test_standard_input_from_a_pipe_shows_bytes_without_a_percentage(monkeypatch: pytest.MonkeyPatch,
                                                                      every_update: None) -> None:
    data = TRACE.read_bytes()
    _pipe_stdin(monkeypatch, data)
    console, out = terminal()
    try:
        with progress.shown(console, enabled=True):
            blocks_of(["-"])
    finally:
        sys.stdin.close()
    reading = [f for f in frames(out.getvalue()) if f.startswith("reading")]
    assert reading and all(f.startswith("reading <stdin>") for f in reading), reading
    assert not any("%" in f for f in reading), reading
    assert progress._bytes(len(data)) in reading[-1], reading[-1]


def test_standard_input_from_a_file_has_its_size(monkeypatch: pytest.MonkeyPatch, every_update: None) -> None:
    with open(TRACE) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        console, out = terminal()
        with progress.shown(console, enabled=True):
            blocks_of(["-"])
    reading = [f for f in frames(out.getvalue()) if f.startswith("reading <stdin>")]
    assert percents(reading)[-1] == 100, reading


def test_a_file_name_is_shown_safely(tmp_path: Path) -> None:
    """A name with rich markup in it or an escape sequence is shown as it is spelt, escaped: the
    display neither fails on it nor passes the control character to the terminal."""
    name = tmp_path / "[bold] [red]x\x1b[2Jy\n.trace"
    name.write_bytes(TRACE.read_bytes())
    console, out = terminal()
    with progress.shown(console, enabled=True):
        blocks_of([name])
    text = out.getvalue()
    assert "\x1b[2J" not in text and "x\\x1b[2Jy\\n.trace" in text
    assert any(f.startswith(f"reading {tmp_path}/[bold] [red]x") for f in frames(text)), frames(text)


# -- shown: replaying and stages -----------------------------------------------------------------------


def test_replaying_shows_the_events_applied() -> None:
    console, out = terminal()
    with progress.shown(console, enabled=True):
        trace = read_trace([TRACE], only=MODEL_SYSCALLS)
        progress.expect_replay(trace)
        replayer = trace.replayer()
        progress.stage("drawing the chart")
    drawn = frames(out.getvalue())
    n = sum(1 for _ in trace.replay_events())
    assert n > 100
    assert any(f.startswith("replaying") and "100%" in f and f"{n:,}/{n:,} events" in f for f in drawn), drawn
    stages = ["reading", "building the event table", "replaying", "building the results", "drawing the chart"]
    order = [next(s for s in stages if f.startswith(s)) for f in drawn]
    assert list(dict.fromkeys(order)) == stages, order
    assert len(replayer.frame())


def test_a_replay_without_a_total_shows_a_count_only() -> None:
    trace = read_trace([TRACE], only=MODEL_SYSCALLS)
    console, out = terminal()
    with progress.shown(console, enabled=True):
        trace.replayer()  # no expect_replay: the events are a generator of unknown length
    replaying = [f for f in frames(out.getvalue()) if f.startswith("replaying")]
    n = sum(1 for _ in trace.replay_events())
    assert replaying and not any("%" in f for f in replaying), replaying
    assert any(f"{n:,} events" in f for f in replaying), replaying


def test_updates_are_throttled_to_a_few_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """A report per 4 KiB block (over 100 here) draws only when 0.1 s has gone since the last
    draw: a stage is drawn when it starts and ends, and no more often between."""
    clock = [0.0]
    monkeypatch.setattr(progress, "_now", lambda: clock[0])
    calls = []
    real = progress.Display._advance

    def advance(self: progress.Display, completed: float, force: bool = False) -> None:
        calls.append(completed)
        clock[0] += 0.01  # each report 10 ms after the last
        real(self, completed, force)

    monkeypatch.setattr(progress.Display, "_advance", advance)
    console, out = terminal()
    big = [TRACE, OTHER, TRACE.with_name("go-http.trace")]
    with progress.shown(console, enabled=True):
        batches = blocks_of(big, block_size=1024)
    lines = sum(len(b["seq"]) for b in batches)
    reading = [f for f in frames(out.getvalue()) if f.startswith("reading")]
    assert len(calls) > 100  # reports: one per block read, far fewer than the lines
    assert len(calls) < lines / 2
    assert len(reading) <= 2 + len(calls) // 10 + 1, len(reading)


def test_a_stage_without_reports_is_redrawn_and_reading_has_no_thread() -> None:
    """A stage that reports nothing (building a table, drawing a chart) is redrawn by a thread, its
    spinner and time going on; that thread is stopped while reading, when the parser may fork its
    worker processes, and at the end."""
    console, out = terminal()
    with progress.shown(console, enabled=True) as display:
        assert display is not None
        progress.stage("drawing the chart")
        time.sleep(0.5)
        assert display.ticker is not None and display.ticker.is_alive()
        ticker = display.ticker
        for _ in iter_batches([TRACE], workers=1):
            assert display.ticker is None and not ticker.is_alive()
        assert display.ticker is not None  # building the event table
        ticker = display.ticker
    assert display.ticker is None and not ticker.is_alive()
    drawing = [f for f in frames(out.getvalue()) if f.startswith("drawing the chart")]
    assert len(drawing) >= 3, drawing


# -- not shown -----------------------------------------------------------------------------------------


def test_nothing_when_disabled() -> None:
    console, out = terminal()
    with progress.shown(console, enabled=False) as display:
        assert display is None and progress.current() is None
        trace = read_trace([TRACE], only=MODEL_SYSCALLS)
        progress.expect_replay(trace)
        trace.replayer()
        progress.stage("drawing")
    assert out.getvalue() == ""


def test_nothing_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    with progress.shown(Console(file=out), enabled=None) as display:
        assert display is None
        read_trace([TRACE])
    # even asked for, or with FORCE_COLOR (rich then calls a pipe a terminal), a pipe gets none
    monkeypatch.setenv("FORCE_COLOR", "1")
    with progress.shown(Console(file=out)) as display:
        assert display is None
    monkeypatch.delenv("FORCE_COLOR")
    with progress.shown(Console(file=out), enabled=True) as display:
        assert display is None
    assert out.getvalue() == ""


def test_the_default_is_on_for_a_terminal_and_off_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a real terminal (a pty) the default shows progress; TRACEMEM_NO_PROGRESS or TERM=dumb
    turn it off."""
    master, slave = os.openpty()
    got = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            got.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    tty = open(slave, "w", encoding="utf-8")
    try:
        console = Console(file=tty, width=120)
        with progress.shown(console) as display:
            assert display is not None
            read_trace([TRACE])
        with progress.shown(console, enabled=False) as display:  # (--no-progress)
            assert display is None
        monkeypatch.setenv(progress.NO_PROGRESS_ENV, "1")
        with progress.shown(console) as display:
            assert display is None
        with progress.shown(console, enabled=True) as display:  # (--progress asks for it all the same)
            assert display is not None
        monkeypatch.delenv(progress.NO_PROGRESS_ENV)
        monkeypatch.setenv("TERM", "dumb")
        with progress.shown(console, enabled=True) as display:
            assert display is None
    finally:
        tty.close()
        reader.join(5)
        os.close(master)
    text = got.decode("utf-8", "replace").replace("\r\n", "\n")
    assert f"reading {TRACE}" in text
    assert screen(text) == []


def test_the_hooks_do_nothing_without_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a progress display was made")

    monkeypatch.setattr(progress, "Display", refuse)
    trace = read_trace([TRACE], only=MODEL_SYSCALLS)
    progress.expect_replay(trace)
    progress.stage("anything")
    trace.replayer()
    console, _ = terminal()
    with progress.shown(console, enabled=False):
        read_trace([TRACE]).replayer()


# -- what it leaves -------------------------------------------------------------------------------------


def test_nothing_is_left_on_the_terminal_but_what_was_printed() -> None:
    """The display is erased when done (and the cursor shown again); a message printed on the same
    console meanwhile (a note, a line error) stays, above it."""
    console, out = terminal()
    with progress.shown(console, enabled=True):
        trace = read_trace([TRACE], only=MODEL_SYSCALLS)
        console.print("note: something said while reading")
        progress.expect_replay(trace)
        trace.replayer()
    text = out.getvalue()
    assert "replaying" in text
    assert screen(text) == ["note: something said while reading"]
    assert text.rfind("\x1b[?25h") > text.rfind("\x1b[?25l") >= 0


def test_nothing_is_left_after_an_error() -> None:
    console, out = terminal()
    with pytest.raises(RuntimeError):
        with progress.shown(console, enabled=True):
            read_trace([TRACE])
            raise RuntimeError("stop")
    assert "reading" in out.getvalue() and screen(out.getvalue()) == []
    assert progress.current() is None


def test_stdout_is_untouched(capfd: pytest.CaptureFixture[str]) -> None:
    """The display writes to its console (here the process's stderr) only; what the program
    prints meanwhile goes to stdout as it is (rich's redirection of stdout is off)."""
    console = Console(file=sys.stderr, force_terminal=True, width=120)
    before = sys.stdout
    with progress.shown(console, enabled=True):
        assert sys.stdout is before and sys.stderr is not None
        trace = read_trace([TRACE], only=MODEL_SYSCALLS)
        progress.expect_replay(trace)
        trace.replayer()
        print("the table")
    out, err = capfd.readouterr()
    assert out == "the table\n"
    assert "replaying" in err and "the table" not in err


def test_a_nested_display_is_the_outer_one() -> None:
    console, out = terminal()
    with progress.shown(console, enabled=True) as outer:
        with progress.shown(Console(file=io.StringIO(), force_terminal=True), enabled=True) as inner:
            assert inner is outer
        assert progress.current() is outer
    assert progress.current() is None


# -- the same results -----------------------------------------------------------------------------------


def _result(paths: list[Path] | list[str], workers: int = 1) -> tuple[Any, ...]:
    trace = read_trace(paths, only=MODEL_SYSCALLS, workers=workers)
    progress.expect_replay(trace)
    frame = trace.replayer().frame()
    return trace, frame


@pytest.mark.parametrize("workers", [1, 2])
def test_results_are_the_same_with_and_without_progress(workers: int, every_update: None) -> None:
    paths = [TRACE, OTHER]
    plain, plain_frame = _result(paths, workers)
    console, out = terminal()
    with progress.shown(console, enabled=True):
        shown, shown_frame = _result(paths, workers)
    assert "replaying" in out.getvalue()
    assert shown.df.equals(plain.df)
    assert shown.report == plain.report
    assert dict(shown.decoded) == dict(plain.decoded)
    assert shown_frame.equals(plain_frame)


def test_standard_input_parses_the_same_with_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    data = TRACE.read_bytes()
    expected = read_trace([TRACE]).df.drop(columns="file")
    _pipe_stdin(monkeypatch, data)
    console, _ = terminal()
    try:
        with progress.shown(console, enabled=True):
            got = read_trace(["-"]).df.drop(columns="file")
    finally:
        sys.stdin.close()
    assert got.equals(expected)


def test_the_byte_units() -> None:
    assert progress._bytes(512) == "512 B"
    assert progress._bytes(1536, 1 << 20) == "0.0/1.0 MiB"
    assert progress._bytes(100, 900) == "100/900 B"
    assert progress._bytes(3 << 30) == "3.0 GiB"
    assert progress._events(1234, 5678) == "1,234/5,678 events"


@pytest.mark.parametrize("command", [["summary"], ["phases"], ["timeline", "-o", "{tmp}/t.parquet"],
                                     ["plot", "-o", "{tmp}/c.png"], ["maps"]])
def test_the_long_commands_show_progress_on_a_terminal_and_not_with_no_progress(
        command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's long commands: on a terminal stderr they show their stages; --no-progress shows
    none; stdout is the same either way."""
    from io import StringIO

    from rich.console import Console
    from typer.testing import CliRunner

    import tracemem.cli as cli
    import tracemem.progress as progress

    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    outs = {}
    for flag in ("--progress", "--no-progress"):
        screen = StringIO()
        monkeypatch.setattr(progress, "wanted", lambda c, enabled=None: enabled is not False)
        monkeypatch.setattr(cli, "stderr", Console(file=screen, force_terminal=True, width=100))
        result = CliRunner().invoke(cli.app, [args[0], str(SAMPLES / "go-http-net.trace"), *args[1:], flag])
        assert result.exit_code == 0, result.output
        outs[flag] = result.stdout
        drawn = screen.getvalue()
        if flag == "--progress":
            assert "reading" in drawn and "replaying" in drawn
        else:
            assert "reading" not in drawn and "replaying" not in drawn
    assert outs["--progress"] == outs["--no-progress"]
