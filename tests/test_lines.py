"""Line forms from shared/reference/strace-format.md, each a regression test with the literal
line, including the ones other parsers get wrong (section 15)."""

from __future__ import annotations

import pytest

from tracemem.events import ParseReport
from tracemem.flags import Advice, MapFlags, MremapFlags, Prot
from tracemem.parse.lines import LineSyntaxError, lark_line
from tracemem.table import batch_events
from tracemem.parse.files import iter_batches


def parse(tmp_path, text: str, name: str = "t.trace"):
    path = tmp_path / name
    path.write_text(text)
    report = ParseReport()
    evs = [e for b in iter_batches(path, report=report) for e in batch_events(b)]
    assert report.lines == report.parsed + sum(report.skipped.values()) + len(report.errors)
    return evs, report


@pytest.mark.parametrize("line, pid, time", [
    ("1081  18:31:46.529388 (+     0.000755) [   9] [00007fbd774b3ca3] mmap(NULL, 34547, PROT_READ, MAP_PRIVATE, 3</etc/ld.so.cache>, 0) = 0x7fbd77480000 <0.000104>", 1081, 18 * 3600 + 31 * 60 + 46.529388),
    ("[pid    74] 1787734451.075961 execve(\"/usr/bin/sh\", [\"sh\", \"-c\", \"sleep 0.3\"], 0xffffc6bf4618 /* 4 vars */) = 0 <0.001261>", 74, 1787734451.075961),
    ("28218<demo> clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fe353675a10) = 28220<demo>", 28218, None),
    ("1795631117.902804446 brk(NULL)          = 0x55aa9e338000", None, 1795631117.902804446),
    ("1795631506.562 munmap(0x7fc332ddd000, 34547) = 0", None, 1795631506.562),
    ("18:25:17 brk(NULL)                      = 0x55f222b6c000", None, 18 * 3600 + 25 * 60 + 17),
])
def test_prefixes_and_timestamps(tmp_path, line, pid, time) -> None:
    (e,), report = parse(tmp_path, line + "\n")
    assert e.pid == pid
    assert e.time == (pytest.approx(time) if time is not None else None)


def test_midnight_rollover(tmp_path) -> None:
    evs, _ = parse(tmp_path, "4711  23:59:59.999812 mmap(NULL, 262144, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f5c5462d000\n"
                             "4711  00:00:00.000140 munmap(0x7f5c5462d000, 262144) = 0\n")
    assert evs[1].time - evs[0].time == pytest.approx(0.000328)


@pytest.mark.parametrize("text, args, ret", [
    ("28012 18:25:06.573231 wait4(28014,  <unfinished ...>\n28012 18:25:06.585661 <... wait4 resumed>NULL, 0, NULL) = 28014 <0.012417>\n", "28014, NULL, 0, NULL", 28014),
    ("3668  23:21:23.850173 futex(0x7f, FUTEX_WAIT, 2, NULL <unfinished ...>\n3668  23:21:23.850173 <... futex resumed> ) = 0\n", "0x7f, FUTEX_WAIT, 2, NULL", 0),
    ("28247 clone3({flags=CLONE_VM, tls=0x7fa347e8c6c0} <unfinished ...>\n28247 <... clone3 resumed> => {parent_tid=[28248]}, 88) = 28248\n", "{flags=CLONE_VM, tls=0x7fa347e8c6c0} => {parent_tid=[28248]}, 88", 28248),
    ("28051 clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>\n28051 <... clone resumed>, child_tidptr=0x7ff5a909da10) = 28054\n", "child_stack=NULL, flags=SIGCHLD, child_tidptr=0x7ff5a909da10", 28054),
])
def test_unfinished_resumed_joined(tmp_path, text, args, ret) -> None:
    (e,), _ = parse(tmp_path, text)
    assert (e.args, e.ret, e.state.value) == (args, ret, "complete")


def test_thread_execve_resumes_under_leader(tmp_path) -> None:
    text = ('28248 execve("/bin/true", ["/bin/true"], 0x7ffeb1d6b548 /* 35 vars */ <unfinished ...>\n'
            "28247 +++ superseded by execve in pid 28248 +++\n"
            "28247 <... execve resumed>)             = 0\n")
    (e,), report = parse(tmp_path, text)
    assert (e.syscall, e.pid, e.ret, e.decoded.path) == ("execve", 28247, 0, "/bin/true")


def test_unmatched_halves_kept(tmp_path) -> None:
    text = ("28015 18:25:06.597347 pause( <unfinished ...>\n"
            "28016 18:25:06.597350 <... wait4 resumed>NULL, 0, NULL) = 12\n"
            "28017 18:25:06.597350 wait4(-1,  <detached ...>\n")
    evs, report = parse(tmp_path, text)
    assert sorted(e.state.value for e in evs) == ["detached", "resumed-only", "unfinished"]
    assert report.incomplete == {"detached": 1, "resumed-only": 1, "unfinished": 1}


def test_vfork_child_before_parent_returns(tmp_path) -> None:
    text = ("28914 vfork( <unfinished ...>\n"
            '28915 execve("/bin/true", ["true"], 0x7fff93305758 /* 35 vars */ <unfinished ...>\n'
            "28914 <... vfork resumed>)              = 28915\n"
            "28915 <... execve resumed>)             = 0\n")
    evs, _ = parse(tmp_path, text)
    assert [(e.syscall, e.pid, e.ret) for e in evs] == [("vfork", 28914, 28915), ("execve", 28915, 0)]


@pytest.mark.parametrize("line, check", [
    ("madvise(0x7fad6abdd000, 1048576, 0x8)   = 0", lambda d: d.advice is Advice.MADV_FREE),
    ("madvise(0x7f7cbb7b6000, 1048576, 0x8 /* MADV_FREE */) = 0", lambda d: d.advice is Advice.MADV_FREE),
    ("madvise(0x7f7cbb7b6000, 1048576, 0x99) = 0", lambda d: int(d.advice) == 0x99),
    ("mremap(0x7f7cbb7b6000, 1048576, 1048576, 0x5 /* MREMAP_MAYMOVE|MREMAP_DONTUNMAP */) = -1 EINVAL (Invalid argument)",
     lambda d: d.flags == MremapFlags.MREMAP_MAYMOVE | MremapFlags.MREMAP_DONTUNMAP),
    ("mmap(NULL, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_2MB, -1, 0) = 0x7f0000000000",
     lambda d: int(d.flags) >> 26 == 21 and d.flags & MapFlags.MAP_HUGETLB),
    ("mmap(NULL, 4096, PROT_READ|0x800000, MAP_PRIVATE|MAP_ANONYMOUS|0x800000, -1, 0) = 0x7f0000000000",
     lambda d: int(d.prot) & 0x800000 and int(d.flags) & 0x800000),
    ("mmap2(0xb7000000, 8192, PROT_READ, MAP_PRIVATE|MAP_FIXED, 3, 0x10) = 0xb7000000", lambda d: d.offset == 0x10 * 4096),
    ("pkey_mprotect(0x7f0000000000, 4096, PROT_READ, 1) = 0", lambda d: (d.prot, d.pkey) == (Prot.PROT_READ, 1)),
    ("brk(0x96407279a000)               = 0x56407279a000", lambda d: d.addr == 0x96407279A000),
    ('prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x7f0000000000, 8192, "heap") = 0', lambda d: d.name == "heap"),
    ("shmat(5, NULL, SHM_RDONLY) = 0x7f0000000000", lambda d: d.shmid == 5),
    # strace 6.1 does not know mseal (Linux 6.10, syscall 462 = 0x1ce): its first three arguments
    ("syscall_0x1ce(0, 0, 0, 0, 0x7ff107dcf6d0, 0x1) = 0", lambda d: (d.addr, d.length, d.flags) == (0, 0, 0)),
])
def test_memory_argument_forms(tmp_path, line, check) -> None:
    (e,), _ = parse(tmp_path, line + "\n")
    assert e.decode_error is None
    assert check(e.decoded)


def test_results(tmp_path) -> None:
    text = ("mmap(NULL, 1974096, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3, 0) = -1 ENOMEM (Cannot allocate memory) (INJECTED)\n"
            "munmap(0x7f114c497000, 34547)           = 0 (DELAYED)\n"
            "set_robust_list(0x7f60f8334a20, 24) = -1 (errno 18446744073709551554)\n"
            "fcntl(255, F_GETFL)                     = 0x8000 (flags O_RDONLY|O_LARGEFILE)\n"
            "<... futex resumed> ) = ? <unavailable>\n"
            "exit_group(0)                           = ?\n")
    evs, _ = parse(tmp_path, text)
    inj, delayed, unknown, fcntl, futex, exit_ = evs
    assert inj.injected and inj.failed and inj.errno == "ENOMEM"
    assert not delayed.injected and delayed.ret == 0
    assert (unknown.errno, unknown.errmsg) == ("EUNKNOWN", "errno 18446744073709551554")
    assert fcntl.ret == 0x8000 and fcntl.ret_detail == "flags O_RDONLY|O_LARGEFILE"
    assert futex.ret is None and futex.duration is None
    assert exit_.ret is None and exit_.decoded.status == 0


def test_non_syscall_lines(tmp_path) -> None:
    text = ("28012 18:25:06.585681 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=28014, si_uid=0, si_status=3, si_utime=0, si_stime=0} ---\n"
            "--- SIGCHLD (Child exited) @ 0 (0) ---\n"
            "1185  --- stopped by SIGSTOP ---\n"
            "28015 18:25:06.597547 +++ killed by SIGKILL +++\n"
            "+++ killed by SIGSEGV (core dumped) +++\n"
            "strace: Process 28053 attached\n"
            "[ Process PID=28 runs in 32 bit mode. ]\n"
            "\n"
            "hello from the program\n")
    evs, report = parse(tmp_path, text)
    assert evs == []
    assert report.skipped == {"signal": 3, "exit": 2, "strace notice": 2, "blank": 1, "program output": 1}


def test_notice_glued_into_a_line(tmp_path) -> None:
    text = ("clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLDstrace: Process 28053 attached\n"
            ", child_tidptr=0x7ff5a909da10) = 28053\n")
    (e,), report = parse(tmp_path, text)
    assert e.ret == 28053 and e.decoded.exit_signal == 17 and report.parsed == 2


def test_program_output_splits_a_write(tmp_path) -> None:
    text = 'write(2, "\\n", 1\n)                       = 1\n'
    (e,), report = parse(tmp_path, text)
    assert (e.syscall, e.ret, e.line, e.end_line) == ("write", 1, 1, 2)


def test_ansi_colour_codes(tmp_path) -> None:
    text = "\x1b[1m1234 \x1b[0mmmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = \x1b[32m0x7f5c5462d000\x1b[0m\n"
    (e,), _ = parse(tmp_path, text)
    assert (e.pid, e.ret, e.decoded.length) == (1234, 0x7F5C5462D000, 8192)


def test_summary_tables(tmp_path) -> None:
    text = ("% time     seconds  usecs/call     calls    errors syscall\n"
            "------ ----------- ----------- --------- --------- ----------------\n"
            "  0.00    0.000000           0        11         1 mmap\n"
            "------ ----------- ----------- --------- --------- ----------------\n"
            "100.00    0.000000           0        56         3 total\n"
            "syscall              calls    errors     seconds\n"
            "---------------- --------- --------- -----------\n"
            "mmap                     9              0.000819\n"
            "53,95    0,026222           1     1          0 read\n")
    evs, report = parse(tmp_path, text)
    assert evs == [] and report.skipped == {"summary table": 9}


def test_strings_and_decorations_with_delimiters(tmp_path) -> None:
    text = ('write(1, "hi) = 5 \\"there\\"\\n\\t\\1\\0", 14) = 14 <0.000009>\n'
            "dup2(4<pipe:[347379059]>, 1</dev/pts/14<char 136:14>>) = 1\n"
            "openat(AT_FDCWD</project/a,b>, \"x\", O_RDONLY) = 3</project/a,b/x>\n"
            "sendmsg(3<UNIX-STREAM:[14545->14546]>, {msg_name=NULL, msg_namelen=0}, 0) = 5\n"
            "capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_CHOWN|1<<CAP_KILL}) = 0\n")
    evs, report = parse(tmp_path, text)
    assert report.errors == [] and len(evs) == 5
    assert evs[0].args == '1, "hi) = 5 \\"there\\"\\n\\t\\1\\0", 14'
    assert evs[2].ret_detail == "</project/a,b/x>"


def test_errors_carry_file_line_column(tmp_path) -> None:
    text = "mmap(NULL, 8192, PROT_READ) = 0x7f\nmmap(NULL, 8192 = 3\nbrk(NULL) = 0x55\n"
    evs, report = parse(tmp_path, text)
    assert len(evs) == 2
    (err,) = report.errors
    assert (err.line, err.file.endswith("t.trace")) == (2, True)
    assert err.column >= 1 and err.reason


def test_lark_line_rejects_unbalanced() -> None:
    with pytest.raises(LineSyntaxError):
        lark_line('open("/foo) = 3')


def test_midnight_rollover_across_batches() -> None:
    """The clock carries over from batch to batch (the bulk check and the per-value loop)."""
    from tracemem.parse.clock import Clock

    clock = Clock()
    clock.kinds.add("clock")
    first = clock.times(["23:59:58.000000", None, "23:59:59.500000"])
    assert clock.rollover(first) == first                       # no midnight: kept as is
    second = clock.rollover(clock.times([None, "00:00:00.250000", "00:00:01.000000"]))
    assert second[0] is None and second[1] == pytest.approx(86400.25) and second[2] == pytest.approx(86401.0)
    third = clock.rollover(clock.times(["00:00:02.000000"]))       # the day stays added
    assert third == [pytest.approx(86402.0)]
    assert clock.rollover([None, None]) == [None, None]


def test_clock_stamps_in_bulk_are_the_per_stamp_floats() -> None:
    """-tt stamps converted in bulk (numpy, the exact microseconds over 10**6) are the very floats
    of HH*3600 + MM*60 + float("SS.ffffff"); other forms are left to the per-stamp path."""
    import random

    from tracemem.parse.clock import Clock, _clock_array

    rng = random.Random(7)
    stamps = [f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(10**6):06d}"
              for _ in range(20000)] + ["23:59:59.999999", "00:00:00.000000", "00:00:00.000001", "12:00:00.100000"]
    assert _clock_array(stamps) == [int(s[:2]) * 3600 + int(s[3:5]) * 60 + float(s[6:]) for s in stamps]
    assert Clock().times(stamps) == Clock()._times(stamps)
    for odd in ("10:00:00", "10:00:00.12345", "10:00:0a.123456", "10-00:00.123456", "10:00:00.1234567",
                "1700000000.123456"):
        assert _clock_array(stamps[:300] + [odd]) is None
        mixed = stamps[:300] + [odd]
        try:
            expected = Clock()._times(mixed)
        except ValueError:
            continue
        assert Clock().times(mixed) == expected


def test_cached_terminals_are_lark_s_own_and_a_bad_cache_is_rebuilt(tmp_path, monkeypatch) -> None:
    """The terminals kept in the per-user cache (so that start-up need not import Lark) are the
    ones Lark compiles from the grammar; a corrupt or foreign cache file is rebuilt, and an
    unwritable cache folder only costs the rebuild."""
    import json
    import os

    from tracemem.parse import grammar

    expected = {t.name: (t.pattern.to_regexp(), t.priority, t.pattern.max_width, len(t.pattern.value))
                for t in grammar.strace_parser().terminals}
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def fresh() -> dict[str, grammar.Terminal]:
        grammar.strace_terminals.cache_clear()
        try:
            return grammar.strace_terminals()
        finally:
            grammar.strace_terminals.cache_clear()

    def as_tuples(terms: dict[str, grammar.Terminal]) -> dict[str, tuple[object, ...]]:
        assert all(name == t.name for name, t in terms.items())
        return {name: (t.regexp, t.priority, t.max_width, t.value_length) for name, t in terms.items()}

    assert as_tuples(fresh()) == expected  # built, and written
    (cache,) = (tmp_path / "tracemem").glob("*.terminals.json")
    assert as_tuples(fresh()) == expected  # read back
    for bad in ("{not json", json.dumps({"a": 1}), json.dumps([["X"]])):
        cache.write_text(bad)
        assert as_tuples(fresh()) == expected
        assert as_tuples({t[0]: grammar.Terminal(*t) for t in json.loads(cache.read_text())}) == expected
    cache.unlink()
    os.chmod(tmp_path / "tracemem", 0o500)
    try:
        if not os.access(tmp_path / "tracemem", os.W_OK):  # (root may write anyway)
            assert as_tuples(fresh()) == expected
            assert not list((tmp_path / "tracemem").iterdir())
    finally:
        os.chmod(tmp_path / "tracemem", 0o700)
