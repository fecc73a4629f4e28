"""The command line, run as a user would: real logs in, files and exit codes out."""

from __future__ import annotations

import gzip
import json
import lzma
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import zstandard
from typer.testing import CliRunner

from tracemem.cli import app

from conftest import STRACE_DATA

runner = CliRunner()
LOG = STRACE_DATA / "c-f-tt-T-y.trace"


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def test_stats_json_accounts_for_every_line() -> None:
    result = run("stats", str(LOG), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["lines"] == data["parsed"] + sum(data["skipped"].values()) + data["errors"]
    assert data["lines"] == len(LOG.read_text().splitlines())
    assert data["syscalls"]["mmap"] == 19 and data["errors"] == 0
    assert set(data["pids"]) >= {9749}
    assert {"lines", "parsed", "skipped", "errors", "events", "syscalls", "pids"} <= set(data)


def test_stats_table() -> None:
    result = run("stats", str(LOG))
    assert result.exit_code == 0
    assert "part of an event" in result.stdout and "mmap" in result.stdout


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_parse_writes_each_format(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"events{suffix}"
    result = run("parse", str(LOG), "-o", str(out))
    assert result.exit_code == 0, result.output
    if suffix == ".parquet":
        df = pd.read_parquet(out)
        assert df["prot"].dtype == "Int64" and df["addr"].dtype == "UInt64"
        reservation = df[(df["syscall"] == "mmap") & (df["length"] == 64 << 20)].iloc[0]
        assert reservation["prot"] == 0 and reservation["fd"] == -1
    elif suffix == ".csv":
        df = pd.read_csv(out)
        row = df[(df["syscall"] == "mmap") & (df["length"] == 64 << 20)].iloc[0]
        assert row["prot"] == "PROT_NONE" and row["flags"] == "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE"
    else:
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        madv = [r for r in rows if r["syscall"] == "madvise"]
        assert madv[0]["advice"] == "MADV_DONTNEED" and isinstance(madv[0]["addr"], int)
    columns = {"seq", "file", "line", "pid", "time", "duration", "syscall", "ret", "errno", "addr",
               "length", "prot", "flags", "fd", "offset", "advice", "new_addr", "new_length"}
    head = pd.read_parquet(out) if suffix == ".parquet" else (
        pd.read_csv(out) if suffix == ".csv" else pd.read_json(out, lines=True))
    assert columns <= set(head.columns)


def test_compressed_inputs_and_stdin(tmp_path: Path) -> None:
    raw = LOG.read_bytes()
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "a.xz").write_bytes(lzma.compress(raw))
    (tmp_path / "a.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    plain = json.loads(run("stats", str(LOG), "--json").stdout)
    for name in ("a.gz", "a.xz", "a.zst"):
        data = json.loads(run("stats", str(tmp_path / name), "--json").stdout)
        assert (data["lines"], data["events"], data["syscalls"]) == (plain["lines"], plain["events"], plain["syscalls"])
    data = json.loads(run("stats", "-", "--json", input=raw.decode()).stdout)
    assert data["events"] == plain["events"]


def test_glob_of_ff_files() -> None:
    result = run("stats", str(STRACE_DATA / "ff.*"), "--json")
    data = json.loads(result.stdout)
    assert len(data["files"]) == 4 and len(data["pids"]) == 4


def test_bad_inputs_fail_cleanly(tmp_path: Path) -> None:
    missing = run("stats", str(tmp_path / "nope.trace"))
    assert missing.exit_code == 2 and "no such file" in missing.output
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 100)
    result = run("stats", str(junk))
    assert result.exit_code == 2 and "no line looks like strace or dtruss output" in result.output
    bad_zip = tmp_path / "bad.gz"
    bad_zip.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    result = run("stats", str(bad_zip))
    assert result.exit_code == 2 and "corrupt" in result.output
    result = run("parse", str(LOG), "-o", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 2 and "unknown output format" in result.output
    assert "Traceback" not in result.output


def test_strict_stops_at_first_error(tmp_path: Path) -> None:
    log = tmp_path / "bad.trace"
    log.write_text("brk(NULL) = 0x55\nmmap(NULL, 8192 = 3\nbrk(NULL) = 0x56\n")
    lenient = run("stats", str(log), "--json")
    assert lenient.exit_code == 0 and json.loads(lenient.stdout)["errors"] == 1
    assert "bad.trace:2:" in lenient.stderr
    strict = run("stats", str(log), "--strict")
    assert strict.exit_code == 1 and "bad.trace:2:" in strict.output and "^" in strict.output


def test_untrusted_text_is_escaped_in_tables(tmp_path: Path) -> None:
    log = tmp_path / "evil.trace"
    log.write_text('brk(NULL) = 0x55\nopen("[bold red]evil[/]\x1b[2J" = 3\nbrk(NULL) = 0x56\n')
    result = run("stats", str(log))
    assert result.exit_code == 0
    assert "[bold red]evil[/]" in result.stderr  # shown as text, not interpreted as markup
    assert "\x1b" not in result.stderr  # terminal escapes from the trace are not passed through


def test_module_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "tracemem", "stats", str(LOG), "--json"],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["errors"] == 0


def test_stats_json_loads_neither_rich_nor_lark_nor_pandas() -> None:
    """Start-up (issue 13): ``stats --json`` on a clean trace writes its JSON without importing
    rich (~40 ms), Lark or pandas; the table form does use rich."""
    code = ("import sys, json; from tracemem.cli import main; sys.argv = ['tracemem', 'stats', '--json', %r]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(m for m in ('rich', 'lark', 'pandas') if m in sys.modules)), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code % str(LOG)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["errors"] == 0
    assert json.loads(out.stderr.splitlines()[-1]) == []
    tables = subprocess.run([sys.executable, "-c", code.replace("'--json', ", "") % str(LOG)],
                            capture_output=True, text=True, check=True)
    assert "mmap" in tables.stdout and json.loads(tables.stderr.splitlines()[-1]) == ["rich"]


def test_summary_of_a_clean_trace_does_not_load_lark() -> None:
    """Start-up (issue 13): the replay reads macOS advice from tracemem.flags, so an
    address-space command on a trace whose every line the fast path takes never imports Lark
    (the dtruss parser imports it); a trace with a line only the grammar settles does."""
    code = ("import sys, json; from tracemem.cli import main; sys.argv = ['tracemem', 'summary', '--json', %r]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(m for m in ('lark', 'tracemem.parse.dtruss') if m in sys.modules)), file=sys.stderr)")
    samples = Path(__file__).resolve().parent.parent / "samples"
    clean = subprocess.run([sys.executable, "-c", code % str(samples / "node-startup.trace")],
                           capture_output=True, text=True, check=True)
    assert json.loads(clean.stdout)["errors"] == 0 and json.loads(clean.stdout)["processes"]
    assert json.loads(clean.stderr.splitlines()[-1]) == []
    odd = subprocess.run([sys.executable, "-c", code % str(samples / "go-http.trace")],
                         capture_output=True, text=True, check=True)
    assert json.loads(odd.stderr.splitlines()[-1]) == ["lark"]


def test_address_space_commands(tmp_path: Path) -> None:
    gt = STRACE_DATA.parent / "groundtruth"
    out = tmp_path / "tl.parquet"
    result = run("timeline", str(gt / "go-recommended.trace"), "-o", str(out))
    assert result.exit_code == 0, result.output
    tl = pd.read_parquet(out)
    assert {"time", "seq", "pid", "asid", "syscall", "start", "end", "role", "vsz", "reserved", "committed",
            "file", "shared", "released", "map_count"} <= set(tl.columns)
    maps = run("maps", str(gt / "c-recommended.trace"), "--roles")
    assert maps.exit_code == 0 and "[heap]" in maps.stdout and "# thread stack guard" in maps.stdout
    line = maps.stdout.splitlines()[0]
    assert line.split()[1] in ("rw-p", "r--p", "---p", "rw-s", "r-xp")
    summary = run("summary", str(gt / "c-recommended.trace"), "--baseline-maps", str(gt / "c-recommended.smaps"))
    assert summary.exit_code == 0 and "with the exec baseline" in summary.stdout
    traced = run("summary", str(gt / "c-recommended.trace"))
    assert "traced" in traced.stdout
    missing = run("maps", str(gt / "c-recommended.trace"), "--pid", "1")
    assert missing.exit_code == 2 and "no process 1" in missing.output
    bad = tmp_path / "bad.maps"
    bad.write_text("hello\n")
    result = run("summary", str(gt / "c-recommended.trace"), "--baseline-maps", str(bad))
    assert result.exit_code == 2 and "neither /proc/PID/maps or smaps lines nor macOS vmmap output" in result.output


def test_terminal_escapes_in_trace_text_are_neutralised(tmp_path: Path) -> None:
    # An OSC sequence (set the terminal title) and a bell inside a mapped file's path; colour (SGR)
    # codes are removed at parse time anyway (strace --color logs).
    log = tmp_path / "evil.trace"
    log.write_text('1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3</tmp/\x1b]0;pwned\x07x>, 0) = 0x7f0000000000\n')
    result = run("maps", str(log))
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "/tmp/\\x1b]0;pwned\\x07x" in result.stdout
    summary = run("summary", str(log))
    assert "\x1b" not in summary.stdout and "\x07" not in summary.stdout


def test_tables_written_to_a_pipe_are_not_cut() -> None:
    """Piped or redirected output keeps whole tables (rich would cut them to 80 columns)."""
    import subprocess
    import sys

    from conftest import SAMPLES

    out = subprocess.run([sys.executable, "-m", "tracemem", "summary", str(SAMPLES / "python-startup.trace")],
                         capture_output=True, text=True, env={k: v for k, v in __import__("os").environ.items()
                                                               if k != "COLUMNS"})
    assert out.returncode == 0, out.stderr
    # the region table's role and path side by side: wider than 80 columns, nothing folded or cut
    assert re.search(r"shared library +/root/\.pyenv/versions/3\.11\.7/lib/libpython3\.11\.so\.1\.0", out.stdout)
    assert "…" not in out.stdout
    assert max(map(len, out.stdout.splitlines())) > 80
