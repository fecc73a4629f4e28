"""The edges of the library and the command line: one error boundary with exit codes carried by
the exceptions, output paths checked before any parse, the parser inside a process pool's
worker, and a chart that leaves the caller's matplotlib alone."""

from __future__ import annotations

import multiprocessing
from collections import Counter
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tracemem
from tracemem.cli import app, main
from tracemem.errors import InputError, OutputError, TraceParseError, TracememError, UsageError

from conftest import SAMPLES

SAMPLE = SAMPLES / "go-http.trace"

#: Every command that writes a file, with an output of the right suffix.
WRITERS = [("parse", ".parquet"), ("parse", ".csv"), ("timeline", ".parquet"), ("plot", ".png")]


def test_exceptions_carry_their_exit_codes() -> None:
    assert TracememError.exit_code == InputError.exit_code == UsageError.exit_code == OutputError.exit_code == 2
    assert TraceParseError("f", 1, 1, "x", "bad").exit_code == 1
    assert issubclass(OutputError, UsageError)


def bad_outputs(tmp_path: Path, suffix: str) -> list[tuple[Path, str]]:
    folder = tmp_path / f"a-folder{suffix}"
    folder.mkdir()
    afile = tmp_path / "plain-file"
    afile.write_text("x")
    return [
        (Path("/nonexistent-tracemem-dir") / f"x{suffix}", "does not exist"),
        (folder, "is a folder"),
        (afile / f"x{suffix}", "is not a folder"),
    ]


@pytest.mark.parametrize("command,suffix", WRITERS)
def test_unwritable_output_exits_2_before_any_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    command: str, suffix: str) -> None:
    import tracemem.parse.files
    import tracemem.trace

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsing started before the output was checked")

    monkeypatch.setattr(tracemem.parse.files, "iter_batches", no_parse)
    monkeypatch.setattr(tracemem.trace, "iter_batches", no_parse)
    for output, message in bad_outputs(tmp_path, suffix):
        result = CliRunner().invoke(app, [command, str(SAMPLE), "-o", str(output)], catch_exceptions=False)
        assert result.exit_code == 2, (output, result.output)
        assert message in result.output and "error:" in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("command,suffix", WRITERS)
def test_unwritable_output_in_a_real_process(command: str, suffix: str) -> None:
    done = subprocess.run([sys.executable, "-m", "tracemem", command, str(SAMPLE), "-o",
                           f"/nonexistent-tracemem-dir/x{suffix}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr + done.stdout


def test_write_failure_after_the_check_is_an_output_error(tmp_path: Path) -> None:
    from tracemem.reporters.export import write_table

    import pandas as pd

    with pytest.raises(OutputError, match="cannot write"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "gone" / "t.csv")


def test_main_returns_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(SAMPLE), "--json"]) == 0
    assert '"lines"' in capsys.readouterr().out
    assert main(["stats", "/nonexistent-tracemem.trace"]) == 2
    assert main(["no-such-command"]) == 2
    assert main(["--help"]) == 0
    assert main(["summary", str(SAMPLE), "--overcommit", "sometimes"]) == 2
    assert "--overcommit 'sometimes'" in capsys.readouterr().err


def _count_in_worker(path: str) -> dict:
    # runs in a daemonic multiprocessing.Pool worker, which may not start processes of its own
    return tracemem.count_events(path)


@pytest.fixture(scope="module")
def big_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real trace repeated past the 64 MiB at which the parser goes parallel (on idle cores)."""
    from tracemem.parse.files import PARALLEL_MIN_BYTES

    text = SAMPLE.read_bytes()
    path = tmp_path_factory.mktemp("big") / "big.trace"
    copies = (PARALLEL_MIN_BYTES + (1 << 20)) // len(text) + 1
    with open(path, "wb") as fh:
        for _ in range(copies):
            fh.write(text)
    assert path.stat().st_size > PARALLEL_MIN_BYTES
    return path


def _workers_here(_: object) -> int:
    from tracemem.parse.blocks import default_workers

    return default_workers()


def test_idle_cores_are_measured_now() -> None:
    """From /proc/stat over a short window: a core kept busy here is not idle."""
    import os
    import threading
    import time

    from tracemem.parse.blocks import idle_cores

    cpus = os.cpu_count() or 1
    assert 0 <= idle_cores() <= cpus
    stop = time.monotonic() + 0.5

    def spin() -> None:
        while time.monotonic() < stop:
            pass

    busy = threading.Thread(target=spin)
    busy.start()
    try:
        assert idle_cores(0.2) <= cpus - 1
    finally:
        busy.join()


def test_idle_cores_measured_over_the_start_up_without_a_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first measure of a command spans its start-up (the sample ``import tracemem`` took):
    no sleep once the window has passed, this process's own busy time counted as idle; a sample
    gone stale or taken by another thread is not used."""
    import os
    import threading
    import time

    import tracemem.parse.cpus as cpus

    count = os.cpu_count() or 1
    monkeypatch.setattr(cpus, "_head_start", cpus._sample())
    stop = time.monotonic() + 0.06
    while time.monotonic() < stop:   # this process on a core, as the command's imports are
        pass
    t = time.monotonic()
    n = cpus.idle_cores()
    assert time.monotonic() - t < 0.04 and 0 <= n <= count
    assert cpus._head_start is None   # used once
    old = cpus._sample()
    assert old is not None
    monkeypatch.setattr(cpus, "_head_start", (old[0], old[1] - 5.0, old[2], old[3]))
    t = time.monotonic()
    cpus.idle_cores()
    assert time.monotonic() - t >= 0.045   # stale: measured afresh over the window
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(cpus._sample()))
    thread.start()
    thread.join()
    monkeypatch.setattr(cpus, "_head_start", other[0])
    time.sleep(0.06)
    t = time.monotonic()
    cpus.idle_cores()
    assert time.monotonic() - t >= 0.045   # another thread's sample: measured afresh


def test_workers_only_on_idle_cores_and_never_a_pool_in_a_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser's own pool: one worker per idle core (by the load average), none when no core
    is idle, and none inside any child process: a ProcessPoolExecutor's workers are not daemonic,
    and one used to start a pool of its own (issue 13)."""
    from concurrent.futures import ProcessPoolExecutor

    from tracemem.parse import blocks

    monkeypatch.setattr(blocks.os, "cpu_count", lambda: 2)
    for idle, want in ((2, 2), (1, 1), (0, 1)):
        monkeypatch.setattr(blocks, "idle_cores", lambda idle=idle: idle)
        assert blocks.default_workers() == want
    assert blocks.default_workers(ignore_daemon=True) == 2   # the caller's own executor decides
    monkeypatch.setattr(blocks, "idle_cores", lambda: 2)   # (a forked child sees it too)
    for context in ("fork", "spawn"):
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(context)) as pool:
            assert pool.submit(_workers_here, 0).result() == 1


def test_count_events_inside_a_pool_worker(big_trace: Path) -> None:
    with multiprocessing.get_context("fork").Pool(1) as pool:
        in_worker = pool.apply(_count_in_worker, (str(big_trace),))
    here = tracemem.count_events(big_trace, workers=1)
    assert in_worker == here
    assert in_worker["errors"] == 0 and in_worker["events"] > 200_000


def test_caller_executor_gives_the_sequential_result(big_trace: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor

    from tracemem.parse.files import iter_batches

    def account(**kw: object) -> tuple:
        # (without the line and time columns the rows of a block come in no promised order:
        # columns.assemble puts the per-line path's after the scanner's; pools and one process
        # cut different blocks, so what is compared is which rows there are)
        report = tracemem.ParseReport()
        rows: Counter = Counter()
        ordered: list = []
        for batch in iter_batches(big_trace, report=report, columns=("syscall", "pid"), **kw):
            rows.update(zip(batch["syscall"], batch["pid"]))
        for batch in iter_batches(big_trace, columns=("syscall", "line"), **kw):
            ordered.extend(zip(batch["line"], batch["syscall"]))
        return report.lines, report.parsed, report.events, rows, ordered[:1000], ordered[-1000:]

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        pooled = account(executor=pool)
        again = account(executor=pool)  # the caller's pool is not shut down by the parser
    assert pooled == again == account(workers=1)


def test_plot_leaves_the_callers_matplotlib_alone(tmp_path: Path) -> None:
    import matplotlib
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    try:
        plt.switch_backend("pdf")
        mine = plt.figure()
        open_before = plt.get_fignums()
        fig = tracemem.read_trace(SAMPLES / "go-http-net.trace").plot(tmp_path / "vsz.png")
        assert matplotlib.get_backend() == "pdf"
        assert plt.get_fignums() == open_before and plt.fignum_exists(mine.number)
        assert fig not in [plt.figure(n) for n in plt.get_fignums()]
        assert fig._repr_png_().startswith(b"\x89PNG")  # how Jupyter shows it, with or without pyplot
        assert (tmp_path / "vsz.png").read_bytes().startswith(b"\x89PNG")
    finally:
        plt.close("all")
        plt.switch_backend(before)


@pytest.mark.parametrize("command,suffix", [("parse", ".jsonl"), ("parse", ".parquet"), ("timeline", ".csv"),
                                            ("plot", ".png")])
def test_output_that_is_an_input_is_refused(tmp_path: Path, command: str, suffix: str) -> None:
    # `tracemem parse run.jsonl -o run.jsonl` once truncated the input and wrote "0 events"
    log = tmp_path / f"run{suffix}"
    log.write_bytes(SAMPLE.read_bytes())
    before = log.read_bytes()
    result = CliRunner().invoke(app, [command, str(log), "-o", str(log)], catch_exceptions=False)
    assert result.exit_code == 2 and "is also an input" in result.output
    assert log.read_bytes() == before


def test_broken_compressed_inputs_are_input_errors(tmp_path: Path) -> None:
    import gzip

    import zstandard

    data = SAMPLE.read_bytes() * 20
    packed = zstandard.ZstdCompressor().compress(data)
    (tmp_path / "two.zst").write_bytes(packed + packed)   # two frames: read whole
    assert tracemem.count_events(tmp_path / "two.zst")["lines"] == 2 * tracemem.count_events(SAMPLE)["lines"] * 20
    (tmp_path / "cut.zst").write_bytes(packed[: len(packed) // 2])   # was read silently to the cut
    (tmp_path / "header.zst").write_bytes(packed[:6])                # was 0 lines, exit 0
    bad = bytearray(gzip.compress(data))
    bad[len(bad) // 2] ^= 0xFF                                       # was a zlib.error traceback
    (tmp_path / "bad.gz").write_bytes(bytes(bad))
    for name in ("cut.zst", "header.zst", "bad.gz"):
        result = CliRunner().invoke(app, ["stats", str(tmp_path / name)], catch_exceptions=False)
        assert result.exit_code == 2 and "corrupt or truncated" in result.output, (name, result.output)


def test_json_output_is_ascii_whatever_the_trace_holds(tmp_path: Path) -> None:
    import json

    log = tmp_path / "odd.trace"
    # an undecodable byte and a C1 control (CSI) in a line error's excerpt
    log.write_bytes(b'1 openat(AT_FDCWD, "/tmp/caf\xe9.so", O_RDONLY) = 3\n1 mmap(\xc2\x9b31m\xe9 = 0x1\n'
                    b'1 brk(NULL) = 0x1000\n')
    result = CliRunner().invoke(app, ["stats", str(log), "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    out = result.stdout_bytes.decode("ascii")   # raises on anything but ASCII
    data = json.loads(out)
    assert data["errors"] == 1 and "\u009b" in data["error_details"][0]["text"]


@pytest.mark.parametrize("name", ["go-build-cut.trace", "java-ttt.trace", "c-f-tt-T-y.trace", "killed-tracer.trace"])
def test_parquet_straight_from_batches_is_the_frames_file(name: str, tmp_path: Path) -> None:
    """parse -o x.parquet writes every batch after the first straight to Arrow (issue 13): the
    file is the one the pandas frames give, schema and metadata included (4 KiB blocks, so many
    batches go the direct way)."""
    import pyarrow.parquet as pq

    from tracemem.parse.files import iter_batches
    from tracemem.reporters.export import write_batches, write_events
    from tracemem.table import events_frame

    from conftest import STRACE_DATA

    path = STRACE_DATA / name
    new, old = tmp_path / "new.parquet", tmp_path / "old.parquet"
    rows = write_batches(iter_batches(path, report=tracemem.ParseReport(), block_size=1 << 12), new)
    write_events((events_frame(b) for b in iter_batches(path, report=tracemem.ParseReport(), block_size=1 << 12)), old)
    a, b = pq.read_table(new), pq.read_table(old)
    assert rows == a.num_rows > 0
    assert a.equals(b) and a.schema.equals(b.schema, check_metadata=True)
