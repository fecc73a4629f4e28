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
    replayed = [e for e in trace.replay_events() if e.syscall == "mmap"][0]
    assert replayed.decoded.fd_path.encode("utf-8", "surrogateescape") == b"/tmp/caf\xe9.so"
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


# --- 2. numbers out of range ----------------------------------------------------------------

MMAP = "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000"
BIG = str(1 << 64)


@pytest.fixture(params=["scanner", "pure-python"])
def both_paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The compiled scanner and the pure-Python path must give the same answer."""
    from tracemem.parse import strace

    if request.param == "scanner" and not strace.USE_SCANNER:
        pytest.skip("the compiled scanner is not built")
    monkeypatch.setattr(strace, "USE_SCANNER", request.param == "scanner")
    return str(request.param)


def _log(tmp_path: Path, *lines: str) -> Path:
    # a few ordinary lines around the bad one: the fast paths take whole blocks
    good = [f"100 1.{i} {MMAP}" for i in range(3)]
    path = tmp_path / "t.trace"
    path.write_text("\n".join(good + list(lines) + good) + "\n")
    return path


#: A number of 2^64 or more in each argument the model reads: a decode error (with its column in
#: the arguments), the event kept, the call not applied.
BIG_ARGS = [
    ("length", f"100 2.0 mmap(NULL, {BIG}, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000"),
    ("addr", "100 2.0 mmap(0x10000000000000000, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000"),
    ("offset", "100 2.0 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0x10000000000000000) = 0x7f1000000000"),
    ("prot", "100 2.0 mprotect(0x7f0000000000, 4096, 0x10000000000000000) = 0"),
    ("length", f"100 2.0 munmap(0x7f0000000000, {BIG}) = 0"),
    ("addr", "100 2.0 brk(0x10000000000000000) = 0x10000000000000000"),
]


@pytest.mark.parametrize("field,line", BIG_ARGS, ids=[f"{f}-{l.split()[2][:6]}" for f, l in BIG_ARGS])
def test_number_of_2_64_or_more_is_a_decode_error(tmp_path: Path, both_paths: str, field: str, line: str) -> None:
    log = _log(tmp_path, line)
    stats = json.loads(run("stats", str(log), "--json").stdout)
    assert stats["errors"] == 0 and stats["events"] == 7 and stats["decode_errors"] == 1
    trace = tracemem.read_trace(log)
    bad = trace.df[trace.df["line"] == 4].iloc[0]
    assert f"{field} " in bad["decode_error"] and "does not fit in 64 bits" in bad["decode_error"]
    assert "column" in bad["decode_error"] or field == "addr" and "brk" in bad["syscall"]
    for command in (["summary"], ["maps"], ["phases"], ["timeline", "-o", str(tmp_path / "t.csv")],
                    ["parse", "-o", str(tmp_path / "e.parquet")], ["summary", "--json"]):
        result = run(command[0], str(log), *command[1:])
        assert result.exit_code == 0, (command, result.output)
    # the call the model cannot apply is counted and said, not dropped
    summary = run("summary", str(log))
    assert "1 memory or process call(s)" in summary.stderr and "line 4" in summary.stderr


def test_mmap_return_of_2_63_is_reported_not_dropped(tmp_path: Path, both_paths: str) -> None:
    """An unsigned 64-bit return below 2^64 that the signed ret column cannot hold: ret_text
    keeps it, the decode error says why, the summary's notes count it."""
    log = _log(tmp_path, "100 2.0 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x8000000000000000")
    trace = tracemem.read_trace(log)
    row = trace.df[trace.df["line"] == 4].iloc[0]
    assert row["ret_text"] == "0x8000000000000000" and pd.isna(row["ret"])
    assert "2^63 or more" in row["decode_error"]
    summary = trace.summary()
    assert any("1 memory or process call(s)" in n for n in summary.notes)
    assert json.loads(run("stats", str(log), "--json").stdout)["decode_errors"] == 1


@pytest.mark.parametrize("line,column,what", [
    (f"[pid 12345678901234567890123] {MMAP}", 6, "pid 12345678901234567890123 is out of range"),
    (f"[pid {BIG}] {MMAP}", 6, f"pid {BIG} is out of range"),
    (f"[pid 1234567890] {MMAP}", 6, "pid 1234567890 is out of range"),
    (f"12345678901234567890123 {MMAP}", 1, "a leading number of 23 digits"),
    (f"12345678901234567890123 2.5 {MMAP}", 1, "pid 12345678901234567890123 is out of range"),
    (f"2147483648 2.5 {MMAP}", 1, "pid 2147483648 is out of range"),
])
def test_out_of_range_pid_is_a_line_error(tmp_path: Path, both_paths: str, line: str, column: int, what: str) -> None:
    log = _log(tmp_path, line)
    result = run("stats", str(log), "--json")
    assert result.exit_code == 0
    stats = json.loads(result.stdout)
    assert stats["errors"] == 1 and stats["events"] == 6 and stats["pids"] == [100]
    assert stats["lines"] == stats["parsed"] + sum(stats["skipped"].values()) + stats["errors"]
    error = stats["error_details"][0]
    assert (error["line"], error["column"]) == (4, column) and what in error["reason"]
    assert f"t.trace:4:{column}: " in result.stderr
    assert run("stats", str(log), "--strict").exit_code == 1
    assert run("summary", str(log)).exit_code == 0


#: Ranges below 2^64 that no address space holds, in calls the log shows succeeding (and a
#: shmget of such a size): not applied, said in decode_error; nothing crashes downstream.
NEAR = [
    "100 2.0 mmap(NULL, 0xffffffffffffffff, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000",
    "100 2.0 mmap(0xfffffffffffff000, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0xfffffffffffff000",
    "100 2.0 munmap(0x7f0000000000, 0xffffffffffffffff) = 0",
    "100 2.0 mprotect(0x7f0000000000, 0xffffffffffffffff, PROT_READ|PROT_WRITE) = -1 ENOMEM (Cannot allocate memory)",
    "100 2.0 madvise(0x7f0000000000, 0xffffffffffffffff, MADV_DONTNEED) = 0",
    "100 2.0 mremap(0x7f0000000000, 4096, 0xffffffffffffffff, MREMAP_MAYMOVE) = 0x7f1000000000",
    "100 2.0 brk(0x7fffffffffffffff) = 0x7fffffffffffffff",
    "100 2.0 munmap(-1, -1) = 0",
    "100 2.0 mlock(0x7f0000000000, 0xffffffffffffffff) = 0",
    '100 2.0 prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x7f0000000000, 0xffffffffffffffff, "x") = 0',
    "100 2.0 shmat(1, 0xfffffffffffff000, 0) = 0xfffffffffffff000",
    "100 2.0 shmget(IPC_PRIVATE, 0xfffffffffffff000, IPC_CREAT|0600) = 6",
]


@pytest.mark.parametrize("line", NEAR, ids=[line.split()[2].split("(")[0] + str(i) for i, line in enumerate(NEAR)])
def test_range_past_2_63_is_not_applied(tmp_path: Path, both_paths: str, line: str) -> None:
    log = _log(tmp_path, line, "100 2.1 shmat(6, NULL, 0) = 0x7f2000000000")
    trace = tracemem.read_trace(log)
    assert "not applied" in trace.df[trace.df["line"] == 4].iloc[0]["decode_error"]
    for command in (["summary"], ["summary", "--json"], ["maps"], ["phases"], ["timeline", "-o", str(tmp_path / "t.csv")],
                    ["plot", "-o", str(tmp_path / "p.png")], ["parse", "-o", str(tmp_path / "e.csv")]):
        result = run(command[0], str(log), *command[1:])
        assert result.exit_code == 0, (command, result.output)


def test_failed_call_with_a_huge_length_is_no_decode_error(tmp_path: Path, both_paths: str) -> None:
    """A real log's failing probe (mmap of 2^64-1 bytes = -1 ENOMEM) is left as it is."""
    log = _log(tmp_path, "100 2.0 mmap(NULL, 18446744073709551615, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
                         " = -1 ENOMEM (Cannot allocate memory)")
    assert json.loads(run("stats", str(log), "--json").stdout)["decode_errors"] == 0
    row = tracemem.read_trace(log).df.iloc[3]
    assert row["length"] == (1 << 64) - 1 and pd.isna(row["decode_error"])


def test_dtruss_numbers_out_of_range(tmp_path: Path) -> None:
    log = tmp_path / "d.txt"
    log.write_text(
        "PID/THRD  RELATIVE  ELAPSD    CPU SYSCALL(args) \t\t = return\n"
        " 4374/0x206a2:     15899       7      2 mmap(0x0, 0x40000, 0x3, 0x1002, 0xFFFFFFFFFFFFFFFF, 0x0)\t\t = 0x4000000 0\n"
        " 4374/0x206a2:     15900       7      2 mmap(0x0, 0x10000000000000000, 0x3, 0x1002, 0xFFFFFFFFFFFFFFFF, 0x0)"
        "\t\t = 0x5000000 0\n"
        " 4374/0x206a2:     15901       7      2 mmap(0x0, 0x1000, 0x3, 0x1002, 0xFFFFFFFFFFFFFFFF, 0x0)\t\t = 0xFFFFFFFFFFFF0000 0\n"
        " 99999999999999999999999/0x206a2:     15904       7      2 mmap(0x0, 0x1000, 0x3, 0x1002, 0xFFFFFFFFFFFFFFFF, 0x0)"
        "\t\t = 0x6000000 0\n")
    stats = json.loads(run("stats", str(log), "--json").stdout)
    assert stats["errors"] == 1 and stats["error_details"][0]["line"] == 5 and stats["decode_errors"] == 2
    for command in (["summary"], ["maps"], ["parse", "-o", str(tmp_path / "e.parquet")]):
        assert run(command[0], str(log), *command[1:]).exit_code == 0


# --- 3. a -t/-tt time that is no time of day ------------------------------------------------

def test_time_of_day_out_of_range_is_a_line_error(tmp_path: Path, both_paths: str) -> None:
    lines = [f"100 10:00:00.000001 {MMAP}", f"100 99:99:99.999999 {MMAP}", f"100 23:59:60.000001 {MMAP}",
             f"100 24:00:00 {MMAP}", f"100 23:59:59.999999 {MMAP}", "100 10:00:01.000001 --- SIGCHLD {si_signo=SIGCHLD} ---",
             "100 99:00:01.000001 +++ exited with 0 +++"]
    log = tmp_path / "clock.trace"
    log.write_text("\n".join(lines) + "\n")
    stats = json.loads(run("stats", str(log), "--json").stdout)
    assert [(e["line"], e["column"]) for e in stats["error_details"]] == [(2, 5), (3, 5), (4, 5), (7, 5)]
    assert "not a time of day" in stats["error_details"][0]["reason"]
    assert stats["parsed"] == 2 and stats["skipped"] == {"signal": 1}
    assert run("stats", str(log), "--strict").exit_code == 1


# --- 4. line ends -------------------------------------------------------------------------

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "go-http.trace"


@pytest.mark.parametrize("ends", [b"\r", b"\r\n"], ids=["CR", "CRLF"])
def test_cr_and_crlf_line_ends(tmp_path: Path, both_paths: str, ends: bytes) -> None:
    """Old Mac line ends (every LF a CR) are line ends, as CR LF are: nothing is lost."""
    log = tmp_path / "t.trace"
    log.write_bytes(SAMPLE.read_bytes().replace(b"\n", ends))
    want = json.loads(run("stats", str(SAMPLE), "--json").stdout)
    got = json.loads(run("stats", str(log), "--json").stdout)
    for key in ("lines", "parsed", "skipped", "errors", "events", "syscalls", "pids", "decode_errors"):
        assert got[key] == want[key], key
    a = tracemem.read_trace(SAMPLE).df
    b = tracemem.read_trace(log).df
    assert b["line"].tolist() == a["line"].tolist() and b["args"].tolist() == a["args"].tolist()
    assert run("summary", str(log)).exit_code == 0


def test_cr_line_ends_keep_line_numbers(tmp_path: Path) -> None:
    log = tmp_path / "t.trace"
    log.write_bytes(f"100 1.0 {MMAP}\r100 1.1 mmap(NULL, 4096\r100 1.2 {MMAP}\r".encode())
    stats = json.loads(run("stats", str(log), "--json").stdout)
    assert stats["lines"] == 3 and stats["events"] == 2 and stats["errors"] == 1
    assert stats["error_details"][0]["line"] == 2


# --- 5. output paths, input paths, standard streams ---------------------------------------

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

LONG = "x" * 300  # past NAME_MAX (255): ENAMETOOLONG


def _tracemem(*args: str, stdin: int | None = None, stdout: int | None = subprocess.PIPE,
              stderr: int | None = subprocess.PIPE, pass_fds: tuple[int, ...] = (),
              prefix: tuple[str, ...] = (), cwd: str | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*prefix, sys.executable, "-m", "tracemem", *args], stdin=stdin, stdout=stdout,
                          stderr=stderr, pass_fds=pass_fds, cwd=cwd, timeout=120)


def _no_traceback(done: subprocess.CompletedProcess[bytes]) -> str:
    err = (done.stderr or b"").decode("utf-8", "replace")
    assert "Traceback" not in err and "Exception ignored" not in err, err
    return err


@pytest.mark.parametrize("command,suffix", [("parse", ".csv"), ("timeline", ".parquet"), ("plot", ".png")])
@pytest.mark.parametrize("case", ["folder", "missing-folder", "proc", "name-too-long", "folder-too-long",
                                  "unknown-suffix", "no-suffix"])
def test_bad_output_path_is_refused_before_the_parse(tmp_path: Path, command: str, suffix: str, case: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dir").mkdir()
    out = {"folder": str(tmp_path / "dir"), "missing-folder": str(tmp_path / "nope" / f"x{suffix}"),
           "proc": f"/proc/x{suffix}", "name-too-long": str(tmp_path / f"{LONG}{suffix}"),
           "folder-too-long": str(tmp_path / LONG / f"x{suffix}"), "unknown-suffix": str(tmp_path / "x.txt"),
           "no-suffix": str(tmp_path / "x")}[case]
    if case == "proc" and not os.path.isdir("/proc/self"):
        pytest.skip("no /proc")
    parsed = []
    import tracemem.trace as trace_module

    def no_parse(*args: object, **kw: object) -> None:  # the check comes first: no parse at all
        parsed.append(args)
        raise AssertionError("parsed before the output path was checked")

    monkeypatch.setattr(trace_module, "read_trace", no_parse)
    monkeypatch.setattr("tracemem.parse.files.iter_batches", no_parse)
    result = run(command, str(SAMPLE), "-o", out)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and not parsed
    assert not os.path.exists(out) or os.path.isdir(out)
    assert not any(p.name.startswith("x") for p in tmp_path.iterdir())


def test_read_only_folder_is_refused(tmp_path: Path) -> None:
    """As root the permission bits do not stop a write: the check runs as nobody then."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="tracemem-ro-"))  # (pytest's tmp_path is not open to nobody)
    try:
        os.chmod(base, 0o755)
        ro = base / "ro"
        ro.mkdir()
        log = base / "t.trace"
        shutil.copy(SAMPLE, log)
        os.chmod(log, 0o644)
        os.chmod(ro, 0o555)
        prefix: tuple[str, ...] = ()
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv")
            prefix = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
        for command, suffix in (("parse", ".csv"), ("timeline", ".csv"), ("plot", ".png")):
            done = _tracemem(command, str(log), "-o", str(ro / f"x{suffix}"), prefix=prefix, cwd=str(base))
            err = _no_traceback(done)
            assert done.returncode == 2 and "not writable" in err, err
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_input_path_too_long(tmp_path: Path) -> None:
    for name in (str(tmp_path / f"{LONG}.trace"), str(tmp_path / LONG / LONG)):
        result = run("stats", name)
        assert result.exit_code == 2 and "File name too long" in result.stderr


def test_closed_standard_input() -> None:
    # (subprocess cannot leave fd 0 closed: a shell does it)
    done = subprocess.run(["sh", "-c", f'"{sys.executable}" -m tracemem stats - <&-'], capture_output=True, timeout=60)
    err = _no_traceback(done)
    assert done.returncode == 2 and "standard input is closed" in err


STREAM_COMMANDS = [["stats"], ["stats", "--json"], ["summary"], ["summary", "--json"], ["maps"], ["phases"],
                   ["phases", "--json"]]


@pytest.mark.parametrize("command", STREAM_COMMANDS, ids=" ".join)
def test_full_disk_on_standard_output(command: list[str]) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "wb") as full:
        done = _tracemem(command[0], str(SAMPLE), *command[1:], stdout=full.fileno())
    err = _no_traceback(done)
    assert done.returncode == 2 and "standard output: cannot write (No space left on device)" in err


@pytest.mark.parametrize("command", STREAM_COMMANDS, ids=" ".join)
def test_closed_standard_output(command: list[str]) -> None:
    args = " ".join(command[1:])
    done = subprocess.run(["sh", "-c", f'"{sys.executable}" -m tracemem {command[0]} "{SAMPLE}" {args} >&-'],
                          capture_output=False, stderr=subprocess.PIPE, timeout=60)
    err = _no_traceback(done)
    assert done.returncode == 2 and "standard output: cannot write" in err


def test_closed_stderr_and_full_stdout() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    done = subprocess.run(["sh", "-c", f'"{sys.executable}" -m tracemem stats "{SAMPLE}" >/dev/full 2>&-'],
                          timeout=60)
    assert done.returncode == 2
    done = subprocess.run(["sh", "-c", f'"{sys.executable}" -m tracemem summary "{SAMPLE}" >/dev/null 2>&-'],
                          timeout=60)
    assert done.returncode == 0


def test_timeline_written_while_stdout_is_full(tmp_path: Path) -> None:
    """timeline and parse write their file, not standard output: a full stdout does not matter."""
    with open("/dev/full", "wb") as full:
        done = _tracemem("timeline", str(SAMPLE), "-o", str(tmp_path / "t.csv"), stdout=full.fileno())
    _no_traceback(done)
    assert done.returncode == 0 and (tmp_path / "t.csv").stat().st_size > 0


# --- 6. logs that are not one run ---------------------------------------------------------

CAPTURES = Path(__file__).resolve().parent / "data" / "captures"
DTRUSS_LOG = (b"\tPID/THRD  RELATIVE  ELAPSD    CPU SYSCALL(args) \t\t = return\n"
              b" 4374/0x206a2:     15930       3      1 mmap(0xC000000000, 0x4000000, 0x0, 0x1002,"
              b" 0xFFFFFFFFFFFFFFFF, 0x0)\t\t = 0xC000000000 0\n")


def _two_runs(tmp_path: Path) -> None:
    for run_name, files in (("run1", ("c-ff.ff.30658", "c-ff.ff.30659")), ("run2", ("go-ff.ff.30733", "go-ff.ff.30734"))):
        for pid, name in zip((100, 101), files):
            shutil.copy(CAPTURES / name, tmp_path / f"{run_name}.trace.{pid}")


COMMANDS_6 = [["stats"], ["stats", "--json"], ["summary"], ["maps"], ["phases"], ["parse", "-o", "{out}.csv"],
              ["timeline", "-o", "{out}.csv"], ["plot", "-o", "{out}.png"]]


@pytest.mark.parametrize("command", COMMANDS_6, ids=lambda c: " ".join(c).replace("{out}", ""))
def test_two_ff_runs_with_the_same_pids_are_refused(tmp_path: Path, command: list[str]) -> None:
    _two_runs(tmp_path)
    args = [a.format(out=tmp_path / "out") for a in command]
    result = run(args[0], str(tmp_path / "run*.trace.*"), *args[1:])
    assert result.exit_code == 2
    assert "run1.trace.100 and " in result.stderr and "run2.trace.100 both hold pid 100" in result.stderr
    assert not list(tmp_path.glob("out*"))
    # one run alone is fine
    assert run("stats", str(tmp_path / "run1.trace.*")).exit_code == 0


def test_two_ff_prefixes_are_refused(tmp_path: Path) -> None:
    _two_runs(tmp_path)
    (tmp_path / "run2.trace.100").rename(tmp_path / "run2.trace.200")
    result = run("summary", str(tmp_path / "run1.trace.100"), str(tmp_path / "run2.trace.200"))
    assert result.exit_code == 2 and "two runs" in result.stderr and "run2.trace.*" in result.stderr


@pytest.mark.parametrize("command", COMMANDS_6, ids=lambda c: " ".join(c).replace("{out}", ""))
def test_strace_and_dtruss_together_are_refused(tmp_path: Path, command: list[str]) -> None:
    mac = tmp_path / "mac.dtruss"
    mac.write_bytes(DTRUSS_LOG)
    args = [a.format(out=tmp_path / "out") for a in command]
    result = run(args[0], str(SAMPLE), str(mac), *args[1:])
    assert result.exit_code == 2
    assert "is a strace log" in result.stderr and "mac.dtruss a dtruss log" in result.stderr
    assert not list(tmp_path.glob("out*"))


def test_strace_on_stdin_with_dtruss(tmp_path: Path) -> None:
    mac = tmp_path / "mac.dtruss"
    mac.write_bytes(DTRUSS_LOG)
    result = run("stats", "-", str(mac), input=SAMPLE.read_bytes())
    assert result.exit_code == 2 and "<stdin> is a strace log" in result.stderr


def test_same_file_twice_is_refused(tmp_path: Path) -> None:
    result = run("stats", str(SAMPLE), str(SAMPLE))
    assert result.exit_code == 2 and "given twice" in result.stderr


# --- exports: a CR in trace text, an output name that is not UTF-8, an output that is an input

def test_csv_row_with_a_carriage_return(tmp_path: Path) -> None:
    """CSV rows end in CR LF (RFC 4180), so a field holding a bare CR is quoted: readers that take
    a CR as a line end read every row whole."""
    import csv

    log = tmp_path / "t.trace"
    log.write_bytes(b'100 1.0 openat(AT_FDCWD, "/tmp/a\rb", O_RDONLY) = 3</tmp/a\rb>\n'
                    b"100 1.1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3</tmp/a\rb>, 0) = 0x7f0000000000\n")
    out = tmp_path / "e.csv"
    assert run("parse", str(log), "-o", str(out)).exit_code == 0
    assert len(pd.read_csv(out)) == 2
    with open(out, newline="") as fh:
        assert len(list(csv.reader(fh))) == 3
    assert pd.read_csv(out)["fd_path"].iloc[1] == "/tmp/a\rb"
    timeline = tmp_path / "t.csv"
    assert run("timeline", str(log), "-o", str(timeline)).exit_code == 0
    assert len(pd.read_csv(timeline)) == 1


@pytest.mark.parametrize("command", ["parse", "timeline"])
def test_parquet_output_name_not_utf8(tmp_path: Path, command: str) -> None:
    out = tmp_path / "caf\udce9.parquet"  # the byte 0xe9 in the name: Arrow takes names as UTF-8
    result = run(command, str(SAMPLE), "-o", str(out))
    assert result.exit_code == 0, result.output
    with open(out, "rb") as fh:
        assert len(pd.read_parquet(fh)) > 0
    assert "caf\\xe9.parquet" in result.stderr


@pytest.mark.parametrize("option", ["--baseline-maps", "--final-maps"])
@pytest.mark.parametrize("command,suffix", [("timeline", ".csv"), ("plot", ".png")])
def test_output_that_is_the_snapshot_is_refused(tmp_path: Path, option: str, command: str, suffix: str) -> None:
    snap = tmp_path / f"snap{suffix}"
    snap.write_text("7f0000000000-7f0000001000 r--p 00000000 00:00 0\n")
    before = snap.read_bytes()
    result = run(command, str(SAMPLE), "-o", str(snap), option, str(snap))
    assert result.exit_code == 2 and "is also an input" in result.stderr
    assert snap.read_bytes() == before
