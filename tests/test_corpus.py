"""Every real log parses with zero errors and a complete account of its lines, and specific
events decode to what the log says."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracemem
from tracemem.events import Clone, Execve, Exit, Madvise, Mmap, Mremap, PrctlSetVma
from tracemem.flags import Advice, CloneFlags, MapFlags, MremapFlags, Prot

from conftest import PEERS, STRACE_DATA, ids, needs_shared, own_logs, peer_logs

ALL = peer_logs() + own_logs()


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_parses_without_errors_and_accounts_for_every_line(path: Path) -> None:
    trace = tracemem.read_trace(path)
    report = trace.report
    assert report.errors == []
    assert report.lines == report.parsed + sum(report.skipped.values()) + len(report.errors)
    with open(path, "rb") as fh:
        data = fh.read()
    assert report.lines == data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    assert report.events == len(trace.df)
    assert trace.df["decode_error"].isna().all()


def test_peer_corpus_present_or_skipped() -> None:
    if not PEERS.exists():
        pytest.skip("../shared/corpus absent")
    assert len(peer_logs()) >= 19


def events(path: Path) -> list[tracemem.SyscallEvent]:
    return list(tracemem.iter_events(path))


def one(evs: list[tracemem.SyscallEvent], line: int) -> tracemem.SyscallEvent:
    (found,) = [e for e in evs if e.line == line]
    return found


# --- the shared corpus ---------------------------------------------------------------------------


@needs_shared()
def test_stracetools_ls_mmap() -> None:
    evs = events(PEERS / "Alex-XJK-stracetools" / "ls.strace.out")
    e = one(evs, 4)
    assert (e.pid, e.syscall, e.ret, e.duration) == (993599, "mmap", 0x774371F18000, 0.000056)
    assert e.time == pytest.approx(16 * 3600 + 27 * 60 + 25.066593)
    assert e.decoded == Mmap(0, 8192, Prot.PROT_READ | Prot.PROT_WRITE,
                             MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS, -1, 0)
    denied = one(evs, 3)
    assert (denied.syscall, denied.ret, denied.errno, denied.errmsg) == (
        "arch_prctl", -1, "EINVAL", "Invalid argument")


@needs_shared()
def test_multithread_mremap_and_joined_calls() -> None:
    evs = events(PEERS / "arastoob-strace-parser" / "multithread_strace1.log")
    e = one(evs, 246)
    assert e.decoded == Mremap(0x7FDFC7EB8000, 266240, 528384, MremapFlags.MREMAP_MAYMOVE)
    assert e.ret == 0x7FDFC7E37000
    joined = [e for e in evs if e.end_line != e.line]
    assert len(joined) == 224  # every <unfinished ...> met its <... resumed>
    assert all(e.state is tracemem.State.COMPLETE for e in evs)


@needs_shared()
def test_decorated_return_value() -> None:
    evs = events(PEERS / "bmwcarit-stracepy" / "strace_firefox_startup.log")
    e = one(evs, 6)
    assert (e.syscall, e.ret, e.ret_detail, e.duration) == ("openat", 3, "</etc/ld.so.cache>", 0.000015)


@needs_shared()
def test_resumed_then_unfinished() -> None:
    (e,) = events(PEERS / "google-perfetto" / "resumed_then_unfinished.strace")
    assert (e.syscall, e.args, e.ret, e.line, e.end_line) == ("epoll_wait", "4, {}, 64, 100", 1, 1, 3)


@needs_shared()
def test_stderr_capture_with_macro_arguments() -> None:
    evs = events(PEERS / "google-perfetto" / "pid_prefix_durations.strace")
    wait4 = [e for e in evs if e.syscall == "wait4"]
    assert wait4[0].args.startswith("-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}]")
    execve = [e for e in evs if e.syscall == "execve" and e.pid == 75][0]
    assert execve.decoded.path == "/usr/bin/sleep" and execve.decoded.argv == ("sleep", "0.3")
    assert execve.duration == 0.000328


@needs_shared()
def test_anonymised_errno_and_old_forms() -> None:
    evs = events(PEERS / "chrahunt-strace-parser" / "samples.txt")
    assert (evs[0].ret, evs[0].errno) == (-123, "ENOENT")
    old = events(PEERS / "johnlcf-Stana" / "ls.out")
    brk = [e for e in old if e.syscall == "brk"][0]
    assert brk.args == "0" and brk.decoded.addr == 0
    execve = old[0].decoded
    assert isinstance(execve, Execve) and execve.env_count == 61


@needs_shared()
def test_junk_line_is_program_output() -> None:
    trace = tracemem.read_trace(PEERS / "google-perfetto" / "basic.strace")
    assert trace.report.skipped == {"exit": 1, "program output": 1, "signal": 1}
    assert trace.report.errors == []


# --- our own captures -------------------------------------------------------------------------


def test_memdemo_memory_calls_decode() -> None:
    evs = events(STRACE_DATA / "c-f-tt-T-y.trace")
    by_line = {e.line: e for e in evs}
    reservation = by_line[31].decoded
    assert reservation == Mmap(0, 64 << 20, Prot.PROT_NONE,
                               MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS | MapFlags.MAP_NORESERVE, -1, 0)
    assert by_line[37].decoded == Mremap(0x7F96FC233000, 262144, 1 << 20, MremapFlags.MREMAP_MAYMOVE)
    assert by_line[40].decoded == Madvise(0x7F96F8200000, 2 << 20, Advice.MADV_FREE)
    assert by_line[47].decoded == PrctlSetVma(0, 0x7F96FC55C000, 8192, "memdemo-named")
    assert (by_line[47].errno, by_line[47].failed) == ("EINVAL", True)
    assert by_line[49].errno == "ENOMEM" and by_line[49].decoded.length == 1 << 50
    stack = by_line[61]  # mmap <unfinished ...> joined with its resumed half
    assert stack.state is tracemem.State.COMPLETE and stack.end_line > 61
    assert stack.decoded.flags & MapFlags.MAP_STACK and stack.ret is not None
    thread = by_line[55].decoded
    assert isinstance(thread, Clone) and thread.flags & CloneFlags.CLONE_VM and thread.stack_size == 0x7FFF80
    assert evs[-1].decoded == Exit(0) or any(e.decoded == Exit(0) for e in evs)


@pytest.mark.parametrize("variant", ["c-f-Xraw.trace", "c-f-Xverbose.trace", "c-f.trace"])
def test_constant_styles_decode_alike(variant: str) -> None:
    advices = [e.decoded.advice for e in events(STRACE_DATA / variant) if e.syscall == "madvise"]
    assert advices[:3] == [Advice.MADV_DONTNEED, Advice.MADV_FREE, Advice.MADV_HUGEPAGE]
    clones = [e.decoded for e in events(STRACE_DATA / variant) if e.syscall == "clone"]
    assert clones and clones[0].exit_signal == 17


def test_timestamp_forms() -> None:
    ns = events(STRACE_DATA / "c-f-ttt-ns-T-ns.trace")
    assert ns[0].time > 1.7e9 and ns[0].duration is not None
    rel = sorted(events(STRACE_DATA / "c-f-r.trace"), key=lambda e: e.line)
    times = [e.time for e in rel]  # -r deltas summed: seconds since the first line
    assert times[0] == 0.0 and times == sorted(times) and times[1] == pytest.approx(0.000296)
    clock = tracemem.read_trace(STRACE_DATA / "c-f-t-r.trace")
    assert clock.report.time_kind == "clock"
    assert tracemem.read_trace(STRACE_DATA / "c-f-tt-ns.trace").df["time"].notna().all()


def test_stack_frames_attach_to_their_call() -> None:
    evs = events(STRACE_DATA / "c-f-k.trace")
    mmaps = [e for e in evs if e.syscall == "mmap" and e.state is tracemem.State.COMPLETE]
    assert all(e.stack for e in mmaps)
    assert any("memdemo(main+" in frame for e in mmaps for frame in e.stack)


def test_ff_files_take_pid_from_name() -> None:
    files = sorted(STRACE_DATA.glob("ff.*"))
    trace = tracemem.read_trace(files)
    pids = {int(p.suffix[1:]) for p in files}
    assert set(trace.df["pid"].dropna().astype(int)) == pids
    assert trace.df["time"].is_monotonic_increasing
    assert list(trace.df["seq"]) == list(range(len(trace.df)))


def test_stderr_capture_with_program_output() -> None:
    trace = tracemem.read_trace(STRACE_DATA / "c-stderr-mixed.trace")
    writes = trace.df[trace.df["syscall"] == "write"]
    assert list(writes["ret"]) == [4096, 189]
    assert trace.report.skipped["program output"] >= 90
    assert trace.report.errors == []


def test_crashing_tracee_and_killed_tracer() -> None:
    crash = tracemem.read_trace(STRACE_DATA / "c-crash.trace")
    assert crash.report.skipped["signal"] == 2
    killed = tracemem.read_trace(STRACE_DATA / "killed-tracer.trace")
    assert killed.report.skipped["truncated last line"] == 1
    assert killed.report.errors == []


def test_summary_table_only() -> None:
    trace = tracemem.read_trace(STRACE_DATA / "c-f-c.trace")
    assert len(trace.df) == 0 and trace.report.skipped == {"summary table": 30}


def test_runtimes() -> None:
    go = tracemem.read_trace(STRACE_DATA / "go-http-ttt-T-y.trace").df
    arena = go[(go["syscall"] == "mmap") & (go["addr"] == 0xC000000000)]
    # The Go heap arena: reserved PROT_NONE at the 0xc000000000 hint, then committed in place.
    assert list(arena["prot"]) == [0, int(Prot.PROT_READ | Prot.PROT_WRITE)]
    assert arena["flags"].iloc[1] & MapFlags.MAP_FIXED
    java = tracemem.read_trace(STRACE_DATA / "java-ttt.trace").df
    assert (java["syscall"] == "clone3").sum() >= 5
    node = tracemem.read_trace(STRACE_DATA / "node-ttt-T.trace").df
    assert (node["syscall"] == "mmap").sum() > 20


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_the_model_view_of_a_trace_is_the_full_one(path: Path) -> None:
    """The command line reads traces with read_trace(only=MODEL_SYSCALLS), and the compiled
    scanner then builds only the line, pid, name and time of the rows it drops (issue 13). What
    is drawn and listed from it must be what the whole table gives: the kept events, the phases
    ("the first event after" the loader's end is among the model's calls), the zero of the time
    axis, each process's first and last event (a process's last call may be one the model does
    not read) and the summary."""
    import json

    from tracemem.trace import MODEL_SYSCALLS

    try:
        model = tracemem.read_trace(path, only=MODEL_SYSCALLS)
    except tracemem.TracememError:
        pytest.skip("not a trace tracemem reads")
    full = tracemem.read_trace(path)
    kept = full.df[full.df["syscall"].isin(MODEL_SYSCALLS)].reset_index(drop=True)
    assert model.df.astype(object).equals(kept.astype(object))
    assert (model.report.lines, model.report.events) == (full.report.lines, full.report.events)
    assert [p.__dict__ for p in model.phases()[0]] == [p.__dict__ for p in full.phases()[0]]
    assert model.phases()[1] == full.phases()[1]
    assert model.start_time() == full.start_time() and model.last_event() == full.last_event()
    assert model.event_spans() == full.event_spans()
    a, b = json.loads(model.summary().to_json()), json.loads(full.summary().to_json())
    a.pop("notes"), b.pop("notes")   # (a terminal capture's note counts the events it kept)
    assert a == b
