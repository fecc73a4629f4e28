"""Bad input (issue 11): each defect's smallest input, run through the commands it broke. No
traceback, exit codes 0/1/2 only, nothing lost without a word."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import tracemem
from tracemem.cli import app

runner = CliRunner()


def run(*args: str, input: str | bytes | None = None):
    # catch_exceptions=False: a traceback fails the test instead of becoming exit code 1
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


# --- 1. a byte that is not UTF-8 ------------------------------------------------------------

#: A Latin-1 file name (é is the single byte 0xe9) in an execve, an openat, its -y decoration and
#: an mmap of that descriptor: the smallest trace that crashed every table-building command.
LATIN1 = (
    b'100 1.0 execve("/tmp/caf\xe9", ["caf\xe9"], 0x7ff /* 1 vars */) = 0\n'
    b'100 1.1 openat(AT_FDCWD, "/tmp/caf\xe9.so", O_RDONLY|O_CLOEXEC) = 3</tmp/caf\xe9.so>\n'
    b"100 1.2 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3</tmp/caf\xe9.so>, 0) = 0x7f0000000000\n"
    b"100 1.3 exit_group(0) = ?\n"
    b"100 1.4 +++ exited with 0 +++\n"
)
#: The same byte as strace itself prints it (an octal escape in an ASCII log) gives the same path.
OCTAL = (
    b'100 1.0 execve("/tmp/caf\\351", ["caf\\351"], 0x7ff /* 1 vars */) = 0\n'
    b"100 1.2 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3</tmp/caf\\351.so>, 0) = 0x7f0000000000\n"
)
#: -k frames of a library with such a name (the region's role is named after the frame) and a
#: PR_SET_VMA_ANON_NAME name with it (the kernel refuses it: EINVAL).
FRAMES = (
    b"100 1.0 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
    b" > /tmp/libcaf\xe9.so(foo+0x1) [0x123]\n"
    b" > /usr/lib/libc.so.6(__libc_start_main+0x1) [0x123]\n"
    b"100 1.1 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000\n"
    b'100 1.2 prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x7f1000000000, 8192, "caf\xe9") = 0\n'
)

COMMANDS = [
    ("parse", "-o", "{out}.csv"), ("parse", "-o", "{out}.jsonl"), ("parse", "-o", "{out}.parquet"),
    ("summary",), ("summary", "--json"), ("maps",), ("maps", "--roles"),
    ("timeline", "-o", "{out}.csv"), ("timeline", "-o", "{out}.parquet"),
    ("phases",), ("phases", "--json"), ("plot", "-o", "{out}.png"), ("stats",), ("stats", "--json"),
]


@pytest.mark.parametrize("name,data", [("latin1", LATIN1), ("octal", OCTAL), ("frames", FRAMES)])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c).replace("{out}", ""))
def test_undecodable_byte_every_command(tmp_path: Path, name: str, data: bytes, command: tuple[str, ...]) -> None:
    log = tmp_path / f"{name}.trace"
    log.write_bytes(data)
    args = [a.format(out=tmp_path / "out") for a in command]
    result = run(args[0], str(log), *args[1:])
    assert result.exit_code == 0, result.output
    shown = result.stdout + result.stderr
    assert "\udce9" not in shown and "\xe9" not in shown  # escaped on display: \xe9
    if command[0] in ("summary", "maps") and "--json" not in command and name != "frames":
        assert "caf\\xe9" in shown


def test_undecodable_byte_kept_exact_in_memory(tmp_path: Path) -> None:
    log = tmp_path / "latin1.trace"
    log.write_bytes(LATIN1)
    trace = tracemem.read_trace(log)
    mmap = trace.df[trace.df["syscall"] == "mmap"].iloc[0]
    assert mmap["fd_path"] == "/tmp/caf\udce9.so"  # the bytes, as a surrogate escape
    assert trace.decoded[int(mmap["seq"])].fd_path.encode("utf-8", "surrogateescape") == b"/tmp/caf\xe9.so"
    assert trace.df["args"].iloc[1].encode("utf-8", "surrogateescape") == b'AT_FDCWD, "/tmp/caf\xe9.so", O_RDONLY|O_CLOEXEC'
    # strace's own escape of the byte decodes to the same path
    log.write_bytes(OCTAL)
    octal = tracemem.read_trace(log)
    assert octal.df[octal.df["syscall"] == "mmap"].iloc[0]["fd_path"] == "/tmp/caf\udce9.so"
    events = list(tracemem.iter_events(log))
    assert events[0].decoded.path == "/tmp/caf\udce9"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_undecodable_byte_export_form(tmp_path: Path, suffix: str) -> None:
    """Exports are valid UTF-8; a byte that is not UTF-8 is the four characters \\xNN."""
    log = tmp_path / "latin1.trace"
    log.write_bytes(LATIN1)
    out = tmp_path / f"events{suffix}"
    assert run("parse", str(log), "-o", str(out)).exit_code == 0
    if suffix == ".parquet":
        df = pd.read_parquet(out)
    else:
        out.read_bytes().decode("utf-8")  # strict: valid UTF-8
        df = pd.read_csv(out) if suffix == ".csv" else pd.DataFrame(
            [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()])
    mmap = df[df["syscall"] == "mmap"].iloc[0]
    assert mmap["fd_path"] == "/tmp/caf\\xe9.so"
    assert df["ret_detail"].iloc[1] == "</tmp/caf\\xe9.so>"
    assert df["args"].iloc[0] == '"/tmp/caf\\xe9", ["caf\\xe9"], 0x7ff /* 1 vars */'


def test_undecodable_frame_and_anon_name(tmp_path: Path) -> None:
    """A -k frame is text for people: its byte is kept as \\xNN (the role is named after it); an
    anon name the kernel refuses (EINVAL) is a decode error, so the call is not applied."""
    log = tmp_path / "frames.trace"
    log.write_bytes(FRAMES)
    trace = tracemem.read_trace(log)
    assert trace.df["stack"].iloc[0].startswith("/tmp/libcaf\\xe9.so(foo+0x1)")
    prctl = trace.df[trace.df["syscall"] == "prctl"].iloc[0]
    assert "kernel refuses" in prctl["decode_error"]
    roles = set(trace.timeline()["role"].astype(str))
    assert "anonymous (libcaf\\xe9.so(foo+0x1))" in roles


def test_undecodable_file_name(tmp_path: Path) -> None:
    """A trace whose file name is not UTF-8: labelled with \\xNN, opened as it is."""
    log = tmp_path / "n\udce9.trace"  # the byte 0xe9 in the name
    log.write_bytes(LATIN1)
    out = tmp_path / "out.parquet"
    result = run("parse", str(log), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(out)["file"].iloc[0].endswith("n\\xe9.trace")
    assert run("summary", str(log)).exit_code == 0
