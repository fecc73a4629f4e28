"""Replaying events into address spaces: the traps of shared/reference/linux-address-space.md
section 11, with the literal line forms strace prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tracemem

MiB = 1 << 20


def replay(tmp_path: Path, text: str):
    path = tmp_path / "t.trace"
    path.write_text(text)
    trace = tracemem.read_trace(path)
    assert trace.report.errors == []
    return trace, trace.replayer()


def test_threads_share_fork_copies(tmp_path: Path) -> None:
    trace, r = replay(tmp_path, (
        "100 mmap(NULL, 1048576, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
        "100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f, parent_tid=0x7f, exit_signal=0, stack=0x7f, stack_size=0x7fff80, tls=0x7f} => {parent_tid=[101]}, 88) = 101\n"
        "101 mmap(NULL, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000\n"
        "100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 102\n"
        "102 munmap(0x7f0000000000, 1048576) = 0\n"
        "102 mmap(NULL, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f2000000000\n"))
    parent = r.task[100].space.totals()
    child = r.task[102].space.totals()
    assert r.task[101] is r.task[100]
    assert parent.vsz == 3 * MiB                  # its own 1 MiB and the thread's 2 MiB
    assert child.vsz == 6 * MiB                   # the copy, minus 1 MiB, plus 4 MiB
    tl = trace.timeline()
    assert set(tl["asid"].dropna().astype(int)) == {100, 102}


def test_memory_only_trace_child_is_its_own_space(tmp_path: Path) -> None:
    # -e trace=%memory: no clone lines; the SIGCHLD delivered to 200 names 201 a child process:
    # a space of its own (a copy of its parent's), not the first one's.
    _, r = replay(tmp_path, (
        "200 mmap(NULL, 1048576, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
        "201 munmap(0x7f0000000000, 1048576) = 0\n"
        "201 mmap(NULL, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000\n"
        "201 +++ exited with 0 +++\n"
        "200 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=201, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---\n"))
    assert r.task[200] is not r.task[201]
    assert r.task[200].space.totals().vsz == MiB      # the child's munmap is its own copy's
    assert r.task[201].space.totals().vsz == 4 * MiB
    assert "child process of 200" in r.inferred[201]


def test_memory_only_trace_unknown_task_is_a_thread(tmp_path: Path) -> None:
    # -e trace=%memory: no clone lines and no SIGCHLD: 301 is a thread of 300 (thread ids follow
    # their creator's), and its arena is 300's; the inference is said and its rows uncertain.
    trace, r = replay(tmp_path, (
        "300 mmap(NULL, 1048576, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
        "301 mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f1000000000\n"))
    assert r.task[301] is r.task[300]
    assert r.task[300].space.totals().vsz == MiB + 128 * MiB
    assert "thread of 300" in r.inferred[301]
    tl = trace.timeline()
    assert tl["uncertain"].tolist() == [False, True]


def test_vfork_child_exec_before_parent_returns(tmp_path: Path) -> None:
    _, r = replay(tmp_path, (
        "28914 mmap(NULL, 1048576, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
        "28914 vfork( <unfinished ...>\n"
        '28915 execve("/bin/true", ["true"], 0x7fff93305758 /* 35 vars */ <unfinished ...>\n'
        "28914 <... vfork resumed>)              = 28915\n"
        "28915 <... execve resumed>)             = 0\n"
        "28915 brk(NULL) = 0x555555554000\n"))
    assert r.task[28915] is not r.task[28914]
    assert r.task[28915].exe == "/bin/true"
    assert r.task[28914].space.totals().vsz == MiB


def test_thread_execve_replaces_the_leader(tmp_path: Path) -> None:
    _, r = replay(tmp_path, (
        "28247 mmap(NULL, 1048576, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
        '28248 execve("/bin/true", ["/bin/true"], 0x7ffeb1d6b548 /* 35 vars */ <unfinished ...>\n'
        "28247 +++ superseded by execve in pid 28248 +++\n"
        "28247 <... execve resumed>)             = 0\n"))
    assert r.task[28247].exe == "/bin/true" and r.task[28247].space.totals().vsz == 0


def test_failed_and_injected_calls_change_nothing(tmp_path: Path) -> None:
    _, r = replay(tmp_path, (
        "1 mmap(NULL, 1125899906842624, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)\n"
        "1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000 (INJECTED)\n"
        '1 prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x7ff65b200000, 1048576, "demo") = -1 EINVAL (Invalid argument)\n'
        "1 brk(NULL) = 0x56407279a000\n"
        "1 brk(0x96407279a000) = 0x56407279a000\n"))
    t = r.task[1].space.totals()
    assert (t.vsz, t.committed, t.map_count) == (0, 0, 0)


def test_mremap_dontunmap_and_names(tmp_path: Path) -> None:
    trace, r = replay(tmp_path, (
        "1 mmap(NULL, 1048576, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7fc26e138000\n"
        "1 mremap(0x7fc26e138000, 1048576, 1048576, MREMAP_MAYMOVE|MREMAP_DONTUNMAP) = 0x7fc26df38000\n"
        '1 prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x7fc26e138000, 1048576, "cache") = 0\n'))
    space = r.task[1].space
    assert space.totals().vsz == 2 * MiB and space.totals().committed == 2 * MiB
    assert {reg.role for reg in space} >= {"[anon:cache]"}


def test_shm_segments(tmp_path: Path) -> None:
    trace, r = replay(tmp_path, (
        "1 shmget(IPC_PRIVATE, 1048576, IPC_CREAT|0600) = 7\n"
        "1 shmat(7, NULL, 0) = 0x7f0000000000\n"
        "1 shmat(9, NULL, SHM_RDONLY) = 0x7f1000000000\n"))
    t = r.task[1].space.totals()
    assert (t.vsz, t.shared, t.committed) == (MiB, MiB, MiB)
    tl = trace.timeline()
    assert tl["uncertain"].tolist() == [False, True]   # the second segment's size is unknown


def test_runtime_roles_and_names(tmp_path: Path) -> None:
    # HotSpot reservations (NORESERVE PROT_NONE), committed in place with MAP_FIXED.
    trace, r = replay(tmp_path, (
        '7 execve("/usr/bin/java", ["java", "-Xmx64m", "-version"], 0x7ffd /* 3 vars */) = 0\n'
        "7 mmap(NULL, 251658240, PROT_NONE, MAP_PRIVATE|MAP_NORESERVE|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000\n"
        "7 mmap(0x7f1000000000, 2555904, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000\n"
        "7 mmap(0xfc000000, 67108864, PROT_NONE, MAP_PRIVATE|MAP_NORESERVE|MAP_ANONYMOUS, -1, 0) = 0xfc000000\n"
        "7 mmap(NULL, 1090519040, PROT_NONE, MAP_PRIVATE|MAP_NORESERVE|MAP_ANONYMOUS, -1, 0) = 0x7f2000000000\n"
        "7 mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_NORESERVE|MAP_ANONYMOUS, -1, 0) = 0x7f3000000000\n"
        '7 prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x7f3000000000, 4096, " Go: heap") = 0\n'
        "7 mmap(NULL, 8392704, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_GROWSDOWN, -1, 0) = 0x7f4000000000\n"))
    roles = [reg.role for reg in r.task[7].space]
    assert roles[:1] == ["JVM heap reservation"]
    assert {"JVM code cache", "JVM code cache reservation", "JVM class space reservation", "Go heap",
            "glibc arena reservation", "grows down (extends invisibly on faults)"} <= set(roles)


def test_mprotect_over_a_hole_applies_the_part_before_it(tmp_path: Path) -> None:
    trace, r = replay(tmp_path, (
        "1 mmap(NULL, 12288, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
        "1 munmap(0x7f0000001000, 4096) = 0\n"
        "1 mprotect(0x7f0000000000, 12288, PROT_READ) = -1 ENOMEM (Cannot allocate memory)\n"))
    perms = [(reg.start, reg.prot) for reg in r.task[1].space]
    assert perms == [(0x7F0000000000, 1), (0x7F0000002000, 3)]
    assert trace.timeline()["uncertain"].tolist() == [False, False, True]


def test_vmmap_baseline() -> None:
    from tracemem.space.kernelmaps import parse_snapshot

    text = (
        "==== Non-writable regions for process 4374\n"
        "REGION TYPE                    START - END         [ VSIZE  RSDNT  DIRTY   SWAP] PRT/MAX SHRMOD PURGE    REGION DETAIL\n"
        "__TEXT                      100000000-100004000    [   16K    16K     0K     0K] r-x/r-x SM=COW          /tmp/a.out\n"
        "MALLOC_TINY                 7f8a5c800000-7f8a5c900000 [ 1024K    16K    16K     0K] rw-/rwx SM=PRV          DefaultMallocZone_0x100b4c000\n")
    regions = parse_snapshot(text)
    assert [(r.start, r.perms, r.path) for r in regions] == [
        (0x100000000, "r-xp", "/tmp/a.out"), (0x7F8A5C800000, "rw-p", "[MALLOC_TINY]")]


def test_apply_all_pauses_the_collector_and_restores_it(tmp_path: Path) -> None:
    import gc

    from tracemem.space.replay import Replayer

    path = tmp_path / "t.trace"
    path.write_text(
        "100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
        "100 mremap(0x7f0000000000, 8192, 16384, MREMAP_MAYMOVE) = 0x7f0000100000\n"
        "100 munmap(0x7f0000100000, 4096) = 0\n")
    events = list(tracemem.read_trace(path).replay_events())
    seen = []

    def watched():
        for e in events:
            seen.append(gc.isenabled())
            yield e

    assert gc.isenabled()
    r = Replayer().apply_all(watched())
    assert seen == [False, False, False] and gc.isenabled()
    assert r.task[100].space.totals().vsz == 16384 - 4096  # moved, grown, then one page unmapped
    gc.disable()
    try:
        Replayer().apply_all(iter(events))
        assert not gc.isenabled()  # a caller's own pause is left alone
    finally:
        gc.enable()

    def broken():
        yield events[0]
        raise RuntimeError("boom")

    try:
        Replayer().apply_all(broken())
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_mremap_from_inside_a_file_mapping_keeps_the_file_offset(tmp_path: Path) -> None:
    _, r = replay(tmp_path, (
        "100 mmap(NULL, 16384, PROT_READ, MAP_PRIVATE, 3</srv/data.bin>, 0) = 0x7f0000000000\n"
        "100 mremap(0x7f0000001000, 4096, 8192, MREMAP_MAYMOVE) = 0x7f0000100000\n"))
    space = r.task[100].space
    moved = space.regions.get(0x7F0000100000)
    assert moved is not None and moved.path == "/srv/data.bin"
    assert (moved.end - moved.start, moved.offset) == (8192, 4096)
    # the hole it left splits the original: [0, 4096) and [8192, 16384) of the file stay
    assert [(x.start - 0x7F0000000000, x.offset) for x in space if x.path and x.start < 0x7F0000100000] == [
        (0, 0), (8192, 8192)]


def test_munmap_that_ran_before_a_concurrent_mmap(tmp_path: Path) -> None:
    # strace -f -e trace=memory of a cgo Go server: thread 30689 trims its new arena while
    # 30688 maps a thread stack; the kernel ran the munmap first (the stack lands in the trimmed
    # range), though the munmap's line ends after the mmap's. The stack must survive the munmap.
    trace, r = replay(tmp_path, (
        "30688 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f9081889000\n"
        "30689 mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f9051c00000\n"
        "30689 munmap(0x7f9051c00000, 37748736 <unfinished ...>\n"
        "30688 mmap(NULL, 8392704, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = 0x7f90537ff000\n"
        "30689 <... munmap resumed>)             = 0\n"
        "30688 mprotect(0x7f9053800000, 8388608, PROT_READ|PROT_WRITE) = 0\n"
        "30689 munmap(0x7f9058000000, 29360128)  = 0\n"))
    space = r.task[30688].space
    assert r.task[30689] is r.task[30688]                 # a thread (no clone in the filter)
    stack = [reg for reg in space if reg.start >= 0x7f90537ff000 and reg.end <= 0x7f9054000000]
    assert sum(reg.size for reg in stack) == 8392704       # guard page + 8 MiB stack
    arena = [reg for reg in space if reg.start == 0x7f9054000000]
    assert arena and arena[0].end == 0x7f9058000000        # the 64 MiB aligned arena left
    assert trace.timeline()["uncertain"].any()


def test_a_zero_length_mapping_maps_nothing(tmp_path: Path) -> None:
    # a hostile or broken log: the kernel fails mmap of length 0 with EINVAL, never succeeds
    _, r = replay(tmp_path, (
        "1 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
        "1 mmap(NULL, 0, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000\n"))
    t = r.task[1].space.totals()
    assert (t.vsz, t.map_count) == (4096, 1)


# --- a baseline snapshot is checked as one address space ----------------------------------------

GOOD = "555555554000-555555556000 r--p 00000000 08:01 42 /usr/bin/prog\n"


@pytest.mark.parametrize("line, said", [
    ("7f0000002000-7f0000001000 rw-p 00000000 00:00 0\n", "does not end after it starts"),
    ("7f0000001000-7f0000001000 rw-p 00000000 00:00 0\n", "does not end after it starts"),
    ("7f0000001000-7f0000001800 rw-p 00000000 00:00 0\n", "not page aligned"),
    ("fffffffffffff000-10000000000001000 rw-p 00000000 00:00 0\n", "beyond the 64-bit address space"),
    ("555555555000-555555557000 rw-p 00000000 00:00 0\n", "overlaps 555555554000-555555556000 (line 1)"),
])
def test_a_baseline_that_is_no_address_space_is_refused(line: str, said: str) -> None:
    """Reversed, empty, unaligned, past 2^64 or overlapping mappings were taken as they were
    (a reversed one subtracted from VSZ, overlapping ones counted twice): an input error at the
    snapshot's line."""
    from tracemem.errors import InputError
    from tracemem.space.kernelmaps import parse_snapshot
    from tracemem.space.replay import Replayer

    with pytest.raises(InputError, match="snap:2: .*" + re.escape(said)):
        parse_snapshot(GOOD + line, "snap")
    # the library's own way in (regions made by hand) is checked too
    from tracemem.space.kernelmaps import parse_maps

    with pytest.raises(InputError, match=re.escape(said)):
        Replayer().seed(parse_maps(GOOD + line))


def test_a_baseline_of_another_program_is_said() -> None:
    """The C capture's maps given as the Go capture's baseline: taken, with a note that the
    snapshot maps no file named like the traced program."""
    captures = Path(__file__).parent / "data" / "captures"
    from tracemem.space.kernelmaps import parse_snapshot

    trace = tracemem.read_trace(captures / "go-f-z.trace")
    other = parse_snapshot((captures / "c-f-z.maps").read_text())
    notes = trace.summary(other).notes
    assert any("maps no file named like 'go'" in n and "another program's maps" in n for n in notes)
    own = parse_snapshot((captures / "go-f-z.maps").read_text())
    assert not any("maps no file named like" in n for n in trace.summary(own).notes)


# --- the records read_trace keeps no copy of are made again exactly ------------------------------

def _all_logs() -> list[Path]:
    from conftest import DTRUSS, own_logs, peer_logs

    captures = sorted((Path(__file__).parent / "data" / "captures").glob("*.trace"))
    dtruss = sorted(p for p in DTRUSS.glob("*.txt")) if DTRUSS.exists() else []
    return own_logs() + captures + peer_logs() + dtruss


def test_replay_events_carry_the_records_the_parser_made() -> None:
    """read_trace keeps no copy of the munmap, mprotect, mmap and brk records its columns hold;
    Trace.replay_events makes them again. On every real log (own, samples, captures, the shared
    strace and dtruss corpus), each replayed event's record equals the parser's, field by field
    and type by type (a NamedTuple equals any tuple of its values, so types are compared)."""
    from tracemem.trace import REPLAY_SYSCALLS

    checked = 0
    for path in _all_logs():
        parsed = {e.seq: e.decoded for e in tracemem.iter_events(path) if e.syscall in REPLAY_SYSCALLS}
        trace = tracemem.read_trace(path)
        if len(trace.report.files) > 1:
            continue  # several files are renumbered by time
        for event in trace.replay_events():
            want = parsed[event.seq]
            got = event.decoded
            assert type(got) is type(want), (path, event.line)
            if want is not None:
                assert tuple(got) == tuple(want), (path, event.line)
                assert [type(v) for v in got] == [type(v) for v in want], (path, event.line)
            checked += 1
        if path.parent.name == "samples":  # the public mapping agrees too (records made on demand)
            whole = {seq: d for seq, d in trace.decoded.items() if seq in parsed}
            assert whole == {seq: d for seq, d in parsed.items() if d is not None}
            assert len(trace.decoded) >= len(whole)
    from conftest import PEERS

    assert checked > (10_000 if PEERS.exists() else 5_000)  # own logs, samples, captures: 8,776


def test_the_opened_path_without_escapes_is_the_regex_s() -> None:
    """_path_arg takes the first quoted text by finding quotes when it holds no backslash; it is
    what the quoted-string expression (with strace's escapes decoded) gives, on any text."""
    import random

    from tracemem.parse.values import unescape
    from tracemem.space.replay import _PATH, _path_arg

    def reference(args: str) -> str | None:
        m = _PATH.search(args)
        return unescape(m.group(1)) if m else None

    def outcome(f, args: str) -> object:
        try:
            return f(args)
        except ValueError as e:   # (a cut escape such as "\\x": strace never writes one)
            return type(e)

    rng = random.Random(5)
    for _ in range(5000):
        text = "".join(rng.choice(['"', "\\", "a", "/", ",", " ", "351", "x"]) for _ in range(rng.randint(0, 14)))
        assert outcome(lambda a: _path_arg(a, "openat"), text) == outcome(reference, text), text
