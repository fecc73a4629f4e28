"""dtruss logs (macOS, and Solaris DTraceToolkit) become the same typed events as strace logs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracemem
from tracemem.events import Madvise, Mmap
from tracemem.flags import MapFlags, Prot
from tracemem.reporters.export import write_events
from tracemem.parse.detect import looks_like_dtruss
from tracemem.parse.dtruss import DarwinAdvice, DarwinMapFlags

from conftest import DTRUSS, SHARED_REASON, STRACE_DATA

FILES = sorted(DTRUSS.glob("*.txt")) if DTRUSS.exists() else []
needs_dtruss = pytest.mark.skipif(not DTRUSS.exists(), reason=SHARED_REASON)


@pytest.mark.parametrize("path", FILES, ids=[p.name[:60] for p in FILES])
def test_every_dtruss_sample_parses(path: Path) -> None:
    trace = tracemem.read_trace(path)
    report = trace.report
    assert report.formats[str(path)] == "dtruss"
    assert report.errors == []
    assert report.lines == report.parsed + sum(report.skipped.values())
    assert report.lines == len(path.read_bytes().decode(errors="replace").splitlines())


def load(name: str) -> tracemem.Trace:
    return tracemem.read_trace(DTRUSS / name)


@needs_dtruss
def test_go_heap_arena_reserve_then_commit() -> None:
    trace = load("eddycjy-blog__why-vsz-large__go-dtruss-a.txt")
    df = trace.df
    arena = df[(df["syscall"] == "mmap") & (df["addr"] == 0xC000000000)]
    reserve, commit = (trace.decoded[int(s)] for s in arena["seq"])
    assert reserve == Mmap(0xC000000000, 64 << 20, Prot.PROT_NONE,
                           MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS, -1, 0, None, 0x1002, None)
    assert commit.flags == MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS | MapFlags.MAP_FIXED
    assert commit.prot == Prot.PROT_READ | Prot.PROT_WRITE and commit.raw_flags == 0x1012
    madvise = trace.decoded[int(df[df["syscall"] == "madvise"]["seq"].iloc[0])]
    assert madvise == Madvise(0xC000000000, 0x2000, DarwinAdvice.MADV_FREE_REUSE)
    first = df.iloc[0]
    assert (first["pid"], first["tid"], first["relative_us"], first["duration"], first["cpu_us"]) == (
        4374, 0x206A2, 15620, 6e-6, 3)
    assert df["time"].isna().all() and trace.report.time_kind == "record order"


@needs_dtruss
def test_2010_truncated_mmap_returns() -> None:
    trace = load("git-mailing-list-2010-12-12__t9300-dd__osx-dtruss-plain.txt")
    df = trace.df
    mmaps = df[df["syscall"] == "mmap"]
    flagged = mmaps[mmaps["uncertain"]]
    assert len(flagged) == 11 and (flagged["ret"] < 1 << 32).all()
    repaired = mmaps[(mmaps["flags"] & int(MapFlags.MAP_FIXED)) > 0]
    assert (repaired["ret"] == repaired["addr"]).all() and not repaired["uncertain"].any()
    assert repaired["ret_text"].iloc[0] == "0x8000" and repaired["ret"].iloc[0] == 0x100008000
    tags = set(mmaps["vm_tag"].dropna())
    assert tags == {1, 3, 7}  # MALLOC, MALLOC_LARGE, MALLOC_TINY in the fd argument
    cut = df[df["args"].str.contains("0x7FFF5FBFCD50", regex=False)]
    assert len(cut) == 1 and cut["ret"].iloc[0] == 0  # the line whose ")\t\t" is missing
    assert df[df["errno"] == "ESPIPE"]["errmsg"].iloc[0] == "Err#29"


@needs_dtruss
def test_arm64_run_with_count_table() -> None:
    trace = load("unidentified-github__rust-a01_dtruss_test__arm64-dtruss-a.txt")
    report = trace.report
    assert len(trace.df) == 111  # the count table says 112 = 111 printed + exit (never prints)
    assert report.skipped["thread first seen"] == 1
    assert report.page_sizes[report.files[0]] == 16384
    unix03 = trace.df[(trace.df["raw_flags"].fillna(0) & int(DarwinMapFlags.MAP_UNIX03)) > 0]
    assert len(unix03) >= 4


@needs_dtruss
def test_stack_blocks_attach_to_their_record() -> None:
    trace = load("unidentified-github__lix-blog__nix-daemon-dtruss-d-s.txt")
    write, poll = trace.df["stack"]
    assert write.splitlines()[0] == "libsystem_kernel.dylib`write+0x8"
    assert len(write.splitlines()) == 12 and poll.splitlines()[-1] == "libsystem_pthread.dylib`thread_start+0x8"
    assert trace.df["relative_us"].tolist() == [2865, 26]


@needs_dtruss
def test_solaris_variant() -> None:
    trace = load("apple-dtrace-409__DTTk-Docs-Notes__dtruss_notes.txt")
    mmap = trace.df[trace.df["syscall"] == "mmap"]
    assert (mmap["ret"] == -763559936).any()
    assert mmap["decode_error"].str.contains("3 of mmap's 6 arguments").all()
    example = load("apple-dtrace-409__DTTk-Docs-Examples__dtruss_example.txt")
    assert set(example.df["tid"].dropna()) >= {1}


@needs_dtruss
def test_follow_mode_markers_and_dtrace_messages() -> None:
    trace = load("simoncblyth-opticks__macos-dtruss-monitor-file-opens__dtruss-f-t-open.txt")
    assert trace.report.skipped["thread first seen"] == 4
    assert trace.report.skipped["dtrace message"] == 7


def test_same_columns_and_dtypes_as_strace(tmp_path: Path) -> None:
    log = tmp_path / "go.dtruss"
    log.write_text(
        "\tPID/THRD  RELATIVE  ELAPSD    CPU SYSCALL(args) \t\t = return\n"
        " 4374/0x206a2:     15930       3      1 mmap(0xC000000000, 0x4000000, 0x0, 0x1002, 0xFFFFFFFFFFFFFFFF, 0x0)\t\t = 0xC000000000 0\n"
    )
    dtruss = tracemem.read_trace(log).df
    strace = tracemem.read_trace(STRACE_DATA / "c-f-tt-T-y.trace").df
    assert list(dtruss.columns) == list(strace.columns)
    assert dict(dtruss.dtypes.astype(str)) == dict(strace.dtypes.astype(str))
    for trace in (dtruss, strace):
        write_events([trace], tmp_path / "x.parquet")
        assert list(pd.read_parquet(tmp_path / "x.parquet").columns) == list(strace.columns)


def test_detection() -> None:
    assert looks_like_dtruss(["SYSCALL(args) \t\t = return", "close(0x3)\t\t = 0 0"])
    assert not looks_like_dtruss((STRACE_DATA / "c-f.trace").read_text().splitlines())


# --- generated lines, one header variant at a time -------------------------------------------

VARIANTS = {
    "none": ("SYSCALL(args) \t\t = return", ""),
    "-a": ("\tPID/THRD  RELATIVE  ELAPSD    CPU SYSCALL(args) \t\t = return", "{pid:5d}/0x{tid:x}:  {rel:8d} {el:7d} {cpu:6d} "),
    "-l": ("\tPID/THRD  SYSCALL(args) \t\t = return", "{pid:5d}/0x{tid:x}:  "),
    "-d -l": ("\tPID/THRD  RELATIVE SYSCALL(args) \t\t = return", "{pid:5d}/0x{tid:x}:  {rel:8d} "),
    "-e": (" ELAPSD SYSCALL(args) \t\t = return", "{el:7d} "),
    "-o": ("   CPU SYSCALL(args) \t\t = return", "{cpu:6d} "),
    "solaris -eo": (" PID/LWP    ELAPSD    CPU SYSCALL(args)           = return", "{pid:6d}/{lwp}:  {el:7d} {cpu:6d} "),
}


@st.composite
def records(draw):
    variant = draw(st.sampled_from(sorted(VARIANTS)))
    header, prefix = VARIANTS[variant]
    values = dict(pid=draw(st.integers(1, 99999)), tid=draw(st.integers(1, 1 << 40)), lwp=draw(st.integers(1, 64)),
                  rel=draw(st.integers(0, 10**7)), el=draw(st.integers(0, 10**6)), cpu=draw(st.integers(0, 10**6)))
    addr = draw(st.integers(0, (1 << 47) - 1)) & ~0x3FFF
    length = draw(st.integers(1, 1 << 36))
    prot = draw(st.sampled_from([0, 1, 3, 5]))
    flags = draw(st.sampled_from([0x1002, 0x1012, 0x12, 0x40002, 0x41002, 0x2, 0x1, 0x1802]))
    anon = flags & 0x1000
    tag = draw(st.one_of(st.none(), st.integers(1, 255))) if anon else None
    fd = (0xFFFFFFFFFFFFFFFF if tag is None else tag << 24) if anon else draw(st.integers(0, 100))
    err = draw(st.booleans())
    tail = " = -1 Err#12" if err else f" = 0x{addr or 0x100000000:X} 0"
    sep = draw(st.sampled_from(["\t\t", "\t", "", "            "]))
    body = f"mmap(0x{addr:X}, 0x{length:X}, 0x{prot:X}, 0x{flags:X}, 0x{fd:X}, 0x0)"
    line = prefix.format(**values) + body[:-1] + (")" if sep or draw(st.booleans()) else "") + sep + tail
    return variant, header, line, values, (addr, length, prot, flags, tag, err)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], deadline=None)
@given(records())
def test_generated_records(tmp_path: Path, case) -> None:
    variant, header, line, values, (addr, length, prot, flags, tag, err) = case
    log = tmp_path / "gen.dtruss"
    log.write_text(f"{header}\n{line}\n")
    trace = tracemem.read_trace(log)
    assert trace.report.errors == [] and len(trace.df) == 1
    row = trace.df.iloc[0]
    d = trace.decoded[0]
    assert (d.addr, d.length, int(d.prot), d.raw_flags, d.vm_tag) == (addr, length, prot, flags, tag)
    assert bool(d.flags & MapFlags.MAP_ANONYMOUS) == bool(flags & 0x1000)
    assert bool(d.flags & MapFlags.MAP_FIXED) == bool(flags & 0x10)
    assert (row["errno"] == "ENOMEM") == err
    if "PID" in header:
        assert row["pid"] == values["pid"]
    if "ELAPSD" in header:
        assert row["duration"] == pytest.approx(values["el"] / 1e6)
    if "RELATIVE" in header:
        assert row["relative_us"] == values["rel"]
    if "CPU" in header:
        assert row["cpu_us"] == values["cpu"]
