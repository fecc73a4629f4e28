"""The compiled line splitter (tracemem/parse/_scan.c) must change nothing but speed.

Every test here parses the same text with the scanner and with the pure-Python fast path (and,
where cheap, with plain Lark) and demands identical results: events, line accounting, pending
calls, stitching markers and worker state. The scanner is optional (no C compiler, no scanner);
these tests skip then, unless TRACEMEM_REQUIRE_SCANNER=1 (CI sets it: there the build must work).
"""

from __future__ import annotations

import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracemem.events import ParseReport
from tracemem.parse import strace
from tracemem.parse.clock import Clock
from tracemem.parse.columns import assemble, finish_rows
from tracemem.parse.reader import StraceFileReader

from conftest import STRACE_DATA

if strace._SCAN is None:
    if os.environ.get("TRACEMEM_REQUIRE_SCANNER"):
        raise RuntimeError("the compiled scanner tracemem.parse._scan was not built")
    pytest.skip("the compiled scanner (tracemem.parse._scan) is not built here: no C compiler "
                "when tracemem was installed; the pure-Python path is tested elsewhere",
                allow_module_level=True)

scan = strace._SCAN
#: generated blocks per property test (raise it to search harder: TRACEMEM_SCANNER_EXAMPLES=20000)
EXAMPLES = int(os.environ.get("TRACEMEM_SCANNER_EXAMPLES", "300"))


def parse_block(lines: list[str], scanner: bool, *, block_local: bool = False, fast: bool = True,
                columns: tuple[str, ...] | None = None, default_pid: int | None = None,
                names: frozenset[str] | None = None) -> object:
    """Everything one block leaves behind: columns, markers, pending calls, accounting, state."""
    report = ParseReport()
    reader = StraceFileReader("t", report, default_pid, fast)
    reader.use_scanner = scanner
    reader.block_local = block_local
    reader.want_columns(columns, names)
    clock = Clock()
    rows = reader.feed_block(lines)
    if reader.needs_sequential:
        return "needs sequential"
    cols, markers = assemble(reader, rows, clock, fast, columns)
    if block_local:
        pending = sorted((repr(r) for r in reader.pending.values()))
        # the live tasks a block leaves: each pid's last word (the scanner notes every syscall
        # line's pid up front, the per-line code as it reaches it; the stitcher applies the log
        # in order, and the live set's order counts only when it holds one task)
        last: dict[str, str] = {}
        for what, pid in reader.live_log:
            last[pid] = what
        end: object = (pending, sorted(last.items()), sorted(map(str, reader.touched)), reader.superseded)
    else:
        left = reader.finish()
        end = finish_rows(left, clock, fast, columns) if left else {}
    if names is not None and cols:
        # read_trace(only=names) keeps these rows alone: the scanner builds the others' line,
        # pid, name and time only
        keep = [i for i, n in enumerate(cols["syscall"]) if n in names]
        cols = {k: [v[i] for i in keep] for k, v in cols.items()}
        if isinstance(end, dict) and end:
            keep = [i for i, n in enumerate(end["syscall"]) if n in names]
            end = {k: [v[i] for i in keep] for k, v in end.items()}
    if columns is not None and "line" not in columns and "time" not in columns and cols:
        # Unordered use (counting): rows come in no particular order, compare them as a multiset.
        keys = sorted(cols)
        cols = sorted(map(repr, zip(*(cols[k] for k in keys))))
        markers = [(0, m) for _, m in markers]  # their order counts, their positions do not
    account = (report.lines, report.parsed, dict(report.skipped),
               [(e.line, e.column, e.reason) for e in report.errors])
    return cols, [(pos, repr(m)) for pos, m in markers], end, account, reader.carry is None, reader.unprefixed


def same(lines: list[str], **kw: object) -> None:
    with_scanner = parse_block(lines, True, **kw)
    without = parse_block(lines, False, **kw)
    assert with_scanner == without


TRICKY = [
    '100 12:00:00.000001 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000 <0.000010>',
    '101 12:00:00.000002 wait4(-1,  <unfinished ...>',
    '100 12:00:00.000003 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=102} ---',
    '101 12:00:00.000004 <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 102 <0.1>',
    '101 12:00:00.000005 futex(0x7f00, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>',
    '100 12:00:00.000006 futex(0x7f00, FUTEX_WAKE_PRIVATE, 1) = 1 <0.000005>',
    '101 12:00:00.000007 <... futex resumed>) = -1 EAGAIN (Resource temporarily unavailable) <0.000100>',
    '100 12:00:00.000008 poll([{fd=3, events=POLLIN}], 1, 0) = 0 (Timeout) <0.000003>',
    '100 12:00:00.000009 read(3, "a)b\\"c"..., 10) = 10 <0.000002>',
    '100 12:00:00.000010 ioctl(1, TCGETS, {c_iflag=0 /* a ) comment */}) = -1 ENOTTY (Inappropriate ioctl for device)',
    '100 12:00:00.000011 f(((((((1))))))) = 0',
    '100 12:00:00.000012 f((((((((1)))))))) = 0',
    '100 12:00:00.000013 openat(AT_FDCWD</root>, "a", O_RDONLY) = 3</root/a> <0.000020>',
    '100 12:00:00.000014 getpid() = 100 (INJECTED)',
    '100 12:00:00.000015 getpid() = -1 (errno 18)',
    '100 12:00:00.000016 getpid() = 100 <unavailable>',
    '100 12:00:00.000017 brk(NULL) = 0x5555 <0.0000000001>',
    '101 12:00:00.000018 epoll_wait(4,  <unfinished ...>',
    '101 12:00:00.000019 <... epoll_wait resumed>[], 64, 0) = 0 <0.1>',
    '101 12:00:00.000020 read(5, <unfinished ...>',
    '101 12:00:00.000021 <... read resumed> "x", 1) = 1',
    '101 12:00:00.000022 read(5, <unfinished ...>',
    '101 12:00:00.000023 <... write resumed> "x", 1) = 1',
    '102 12:00:00.000024 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 103',
    '103 12:00:00.000025 execve("/bin/true", ["true"], 0x7ffd /* 3 vars */ <unfinished ...>',
    '102 12:00:00.000026 wait4(-1,  <unfinished ...>',
    '103 12:00:00.000027 <... execve resumed>) = 0',
    '101 12:00:00.000028 <... read resumed>"y", 1) = 1',
    '102 12:00:00.000029 <... wait4 resumed>NULL, 0, NULL) = 103',
    '102 12:00:00.000030 wait4(-1,  <unfinished ...>',
    '102 12:00:00.000031 <... wait4 resumed>NULL, 0, NULL) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)',
    '102 12:00:00.000032 wait4(-1,  <unfinished ...>',
    '102 12:00:00.000033 <... wait4 resumed> <unfinished ...>) = ?',
    '102 12:00:00.000034 write(1, "a", 1) = 1 EXTRA garbage',
    '101 12:00:00.000035 +++ exited with 0 +++',
    '100 12:00:00.000036 munmap(0x7f0000000000, 8192) = 0',
]


def test_classification_of_tricky_lines() -> None:
    kinds, has_pid, missing_pid, pids, cols = scan("\n".join(TRICKY))
    kinds = kinds.decode()
    assert len(kinds) == len(TRICKY)
    assert has_pid and not missing_pid and pids == ["100", "101", "102", "103"]
    k = dict(zip(range(1, len(TRICKY) + 1), kinds))
    assert k[1] == "S"                          # a plain complete call
    assert k[2] == "X" and k[4] == "X"          # the task's first pair: its state is not known yet
    assert k[3] == "G"                          # a signal line
    assert (k[5], k[7]) == ("U", "J")          # paired across another task's line
    assert k[8] == "S" and k[9] == "S" and k[10] == "S"   # (Timeout), strings, comments
    assert k[11] == "S" and k[12] == "X"        # six nested brackets are the grammar's limit
    assert k[13] == "S"                         # -y decorations on arguments and return value
    assert k[14] == "X" and k[15] == "X" and k[16] == "X" and k[17] == "X"
    assert (k[18], k[19]) == ("U", "J")
    assert (k[20], k[21]) == ("U", "J")
    assert (k[22], k[23]) == ("X", "X")         # a resumed end of another call
    row = cols[1].index(12)
    assert (cols[5][row], cols[9][row], cols[10][row]) == ('AT_FDCWD</root>, "a", O_RDONLY', "</root/a>", "0.000020")
    assert k[25] == "X" and k[27] == "X"        # execve is never paired
    assert (k[30], k[31]) == ("U", "J")         # = ? with an errno
    assert k[34] == "X"                         # junk after the return value
    assert k[35] == "G" and k[36] == "X"        # the last line of a block is left to Python
    at = cols[1]
    assert [at[i] for i in range(len(at))] == sorted(at)
    # a joined pair: one row at its end, with the start's line and stamp and both halves' arguments
    row = cols[1].index(6)
    assert cols[0][row] == 4 and cols[3][row] == "12:00:00.000005"
    assert cols[5][row] == "0x7f00, FUTEX_WAIT_PRIVATE, 0, NULL"
    assert (cols[6][row], cols[7][row], cols[8][row], cols[10][row]) == (
        "-1", "EAGAIN", "Resource temporarily unavailable", "0.000100")


@pytest.mark.parametrize("block_local", [False, True])
@pytest.mark.parametrize("columns", [None, ("syscall", "pid", "decode_error"), ("line", "time", "syscall")])
def test_tricky_block_same_with_and_without_scanner(block_local: bool, columns: tuple[str, ...] | None) -> None:
    same(TRICKY, block_local=block_local, columns=columns)
    # every suffix, so that each line is once the first and once the last of a block
    for cut in range(1, len(TRICKY)):
        same(TRICKY[cut:], block_local=block_local, columns=columns)
        same(TRICKY[:cut], block_local=block_local, columns=columns)


def test_tricky_block_equals_plain_lark() -> None:
    cols, _, end, account, _, _ = parse_block(TRICKY, True)
    lark_cols, _, lark_end, lark_account, _, _ = parse_block(TRICKY, False, fast=False)
    cols.pop("decoded")
    lark_cols.pop("decoded")
    assert cols == lark_cols and account == lark_account
    assert {k: v for k, v in end.items() if k != "decoded"} == {k: v for k, v in lark_end.items() if k != "decoded"}


#: Short lines at the very end of the text, where nothing after them may be read (the signal/exit
#: check once compared "exited with " 12 bytes on from "+++ " whatever the line's length, past the
#: end of the text on "+++ x +++"; .ci/asan runs these under AddressSanitizer). Each with the kind
#: the scanner gives it there: syscall-form lines are X, being the block's last line.
SHORT_LAST_LINES = [
    ("+++ x +++", "O"), ("+++  +++", "O"), ("+++", "O"), ("---", "O"), ("--- SIG", "O"),
    ("+++ exited with 0 +++", "G"), ("+++ killed by SIGKILL +++", "G"), ("+++ exited with +++", "G"),
    ("+++ killed by +++", "G"), ("+++ exited with 0", "O"), ("+++ exited with", "O"), ("--- SIG ---", "G"),
    ("x", "O"), ("+", "O"), ("-", "O"), ("<", "O"), ("(", "O"), ("1", "O"), (" ", "O"), ("", "O"),
    ("[pid 1", "O"), ("12:00:00.", "O"), ("1795631117.", "O"), ("<... f", "O"), ("<... f resumed", "O"),
    ("f(", "X"), ("f() =", "X"), ("f() = 0x", "X"), ("f() = -", "X"), ("f() = 0 <0.", "X"), ("f() = 0 E", "X"),
    ("f() = 0 (", "X"), ("f() = 0 <unavailable", "X"), ("f() = 3</x", "X"), ('f("\\', "X"), ("f(/* *", "X"),
    ("f(<unfinished ...", "X"), ("f(<detached", "X"), ("<... f resumed>", "X"), ("f() = 0 (DELAYED)", "X"),
    ("???", "O"), ("???(", "X"), ("??", "O"), ("<... ??? resumed", "O"), ("<... ??? resumed>", "X"),
    ("<... ??? resumed>)", "X"), ("???() = ?", "X"),
]


@pytest.mark.parametrize("line, kind", SHORT_LAST_LINES, ids=repr)
def test_short_last_line_same_with_and_without_scanner(line: str, kind: str) -> None:
    prefixed = "101 12:00:00.000037 " + line
    # alone (the text is the line itself) and as the last line of the tricky block
    for text in (line, prefixed, "\n".join(TRICKY + [line]), "\n".join(TRICKY + [prefixed])):
        assert scan(text)[0][-1:] == kind.encode(), text
    for lines in ([line], [prefixed], TRICKY + [line], TRICKY + [prefixed]):
        for block_local in (False, True):
            same(lines, block_local=block_local)
    cols, _, end, account, _, _ = parse_block(TRICKY + [prefixed], True)
    lark_cols, _, lark_end, lark_account, _, _ = parse_block(TRICKY + [prefixed], False, fast=False)
    cols.pop("decoded")
    lark_cols.pop("decoded")
    assert cols == lark_cols and account == lark_account
    assert {k: v for k, v in end.items() if k != "decoded"} == {k: v for k, v in lark_end.items() if k != "decoded"}


def test_blocks_the_scanner_declines() -> None:
    # not ASCII, an unprefixed line among prefixed ones, program output, a -k frame
    assert scan("100 write(1, \"é\", 2) = 2") is None
    for lines in (
        ["100 getpid() = 100", "getpid() = 100", "100 getpid() = 100"],
        ["100 getpid() = 100", "hello from the program", "100 getpid() = 100"],
        ["100 getpid() = 100", " > /usr/lib/libc.so.6(getpid+0x7) [0xe8f37]", "100 getpid() = 100"],
        ["100 getpid() = 100", "", "100 getpid() = 100"],
        ["100 12:00:00.000001 --- SIGCHLD strace: Process 5 attached{si_signo=SIGCHLD} ---", "100 getpid() = 1"],
        ["100 getpid() = 1", "100 +++ superseded by execve in pid 101 +++", "100 getpid() = 1"],
    ):
        reader = StraceFileReader("t", ParseReport())
        reader.use_scanner = True
        reader.feed_block(lines)
        assert reader.scanned_blocks == 0, lines
        same(lines)


#: The forms a Go program's exit writes (issue 13), each once sent its whole block to the slow path.
GO_EXIT = [
    '7170  02:47:09.264300 nanosleep({tv_sec=0, tv_nsec=20000}, NULL) = 0 <0.000080>',
    '7179  02:47:09.264400 getpid() = 7179 <0.000003>',
    '7170  02:47:09.264401 nanosleep({tv_sec=0, tv_nsec=20000},  <unfinished ...>',
    '7171  02:47:09.264420 exit_group(0 <unfinished ...>',
    '7170  02:47:09.264437 <... nanosleep resumed> <unfinished ...>) = ?',
    '7179  02:47:09.314670 ???( <unfinished ...>',
    '7180  02:47:09.314680 futex(0xc000, FUTEX_WAKE_PRIVATE, 1) = 1 <0.000004>',
    '7179  02:47:09.314709 <... ??? resumed>) = ?',
    '7297  02:47:10.039002 ???()             = ?',
    '7042  02:47:09.426103 restart_syscall(<... resuming interrupted nanosleep ...> <unfinished ...>',
    '7043  02:47:09.426110 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=7042, si_uid=0} ---',
    '7042  02:47:09.426184 <... restart_syscall resumed>) = 0 <0.000076>',
    '7181  02:47:09.426190 wait4(-1,  <detached ...>',
    '7170  02:47:09.426200 +++ exited with 0 +++',
    '7042  02:47:09.426300 getpid() = 7042 <0.000003>',
]


def test_go_exit_lines_are_scanned_in_place() -> None:
    """A block holding the lines a Go program's exit writes is taken by the scanner (they are
    parsed where they stand, by the grammar when it settles them alone), and gives what the
    per-line code gives: the guard against losing the speed of issue 13 again."""
    kinds, *_ = scan("\n".join(GO_EXIT))
    k = dict(zip(range(1, len(GO_EXIT) + 1), kinds.decode()))
    assert k[6] == "X" and k[8] == "X"          # ???: a name now, the task's first pair
    assert k[9] == "S"                          # ???() = ?: a complete call
    assert k[11] == "G" and k[14] == "G"
    for block_local in (False, True):
        reader = StraceFileReader("t", ParseReport())
        reader.use_scanner = True
        reader.block_local = block_local
        reader.feed_block(GO_EXIT)
        assert reader.scanned_blocks == 1
        same(GO_EXIT, block_local=block_local)
    cols, _, _, account, _, _ = parse_block(GO_EXIT, True)
    assert account[3] == []                     # no line errors
    rows = dict(zip(cols["line"], cols["syscall"]))   # by each call's first line
    assert rows[6] == "???" and rows[9] == "???" and rows[10] == "restart_syscall"
    assert rows[3] == "nanosleep"                       # joined with its killed resumed end


@pytest.mark.parametrize("lines", [
    ["100 read()= 0", "100 +++ exited with 0 +++", "100 ???()= 0", "100 read()= 0"],
    ["100 read()= 0", "100 +++ exited with 0 +++", "101 getpid() = 1", "100 --- SIGCHLD {si_signo=SIGCHLD} ---",
     "101 <... nanosleep resumed> <unfinished ...>) = ?"],
    ["100 --- SIGCHLD {si_signo=SIGCHLD} ---", "<... read resumed> <unfinished ...>) = ?"],
    ["--- SIGCHLD {si_signo=SIGCHLD} ---", "100 <... read resumed> <unfinished ...>) = ?"],
], ids=["pid-reused-after-exit", "signal-after-exit", "prefixed-signal-then-unprefixed", "unprefixed-signal-first"])
def test_blocks_where_the_order_of_tasks_counts(lines: list[str]) -> None:
    """Blocks the per-line code reads in order, where a task's exit, reuse or missing prefix
    decides whose a line is: the scanner's bulk path must give the same, or decline them (found
    by the generated blocks once the Go forms were taken in place)."""
    for block_local in (False, True):
        same(lines, block_local=block_local)
        same(lines, block_local=block_local, names=frozenset({"read"}))


def test_scanner_takes_real_traces() -> None:
    """On a real -f -ttt -T trace (a JVM starting) nearly every line is taken by the scanner."""
    text = (STRACE_DATA / "java-ttt.trace").read_text()
    lines = text.split("\n")[:-1]
    kinds, *_ = scan("\n".join(lines))
    taken = sum(kinds.count(c) for c in b"SUJ")
    assert taken / len(lines) > 0.9
    reader = StraceFileReader("t", ParseReport())
    reader.use_scanner = True
    reader.feed_block(lines)
    assert reader.scanned_blocks == 1
    same(lines)


# -- generated blocks ------------------------------------------------------------------------------

names = st.sampled_from(["read", "futex", "wait4", "mmap", "epoll_wait", "execve", "clone", "poll", "???",
                         "restart_syscall", "nanosleep"])
plain_args = st.sampled_from([
    "", "3", "-1, NULL, 0, NULL", "NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0",
    '"/usr/lib/x.so", O_RDONLY', '[{fd=3, events=POLLIN}], 1, 1000', '"a)b\\"", 4', "0x7f /* c ) */",
    "3</etc/passwd>", 'AT_FDCWD</root>, "a", O_RDONLY', "1</dev/pts/1<char 136:1>>",
    "4<UNIX-STREAM:[1->2]>", "5<a->>", "6<a-->b>", "7<a->b>", "x<unfinished", "[3</x>, 4</y(z)>]",
    "3<>", "<...>", "8</a\"b>", "\x0b3\x0c", " \t", ",\x1c x", "x ,\r", "((((((1))))))", "(((((((1)))))))", '"unterminated', "{a=[1, 2], b=(3)}",
    '"/bin/true", ["true"], 0x7ffd /* 3 vars */', "a, b, <<", "x]", "tail,", ", lead",
    "<... resuming interrupted nanosleep ...>",
])
tails = st.sampled_from([
    "= 0", "= 0 <0.000010>", "= -1 EAGAIN (Resource temporarily unavailable) <0.000100>", "= 0 (Timeout)",
    "= ? ERESTARTSYS (To be restarted if SA_RESTART is set)", "= 0x7f0000000000", "= 3</x>",
    "= 1 (INJECTED)", "= -1 (errno 18)", "= 5 <unavailable>", "= -1 ENOENT", "= 0 (a) (b)", "= 0 junk",
    "=0<1.5>", "= -1ENOENT(x)", "= 0x", "= 1 (flags O_RDONLY) <0.1>",
    "= 3</x> <0.1>", "= -1</x> ENOENT (y)", "= 3</a->>", "= 3<12>", "= 3</x> (flags) <0.1>",
    "= 3<unavailable>", "= 3 </x>  ", "=3</x>E(x)", "= 3<</x>>", "= 3</x></y>", "= 3<...>",
])
pid_pool = st.sampled_from(["100", "101", "102", "[pid   103]", "104<comm>", ""])


@st.composite
def trace_lines(draw):
    pid = draw(pid_pool)
    prefix = "" if not pid else pid + " " if pid[0] != "[" else pid + " "
    stamp = draw(st.sampled_from(["", "12:00:00.000001 ", "1795631117.890103 ", "12:00:00 "]))
    form = draw(st.sampled_from(["call", "call", "unf", "res", "res", "res_unf", "res_unf_done", "detached",
                                 "reject", "sig", "exit", "junk"]))
    name, args, tail = draw(names), draw(plain_args), draw(tails)
    pad = draw(st.sampled_from(["", " ", "  "]))
    if form == "call":
        body = f"{name}({args}){pad}{tail}"
    elif form == "unf":
        body = f"{name}({args}{pad}<unfinished ...>"
    elif form == "res":
        body = f"<... {name} resumed>{args}){pad}{tail}"
    elif form == "res_unf":
        body = f"<... {name} resumed>{args} <unfinished ...>"
    elif form == "res_unf_done":  # a thread killed inside a resumed call (Go, at exit)
        body = f"<... {name} resumed> <unfinished ...>) = ?"
    elif form == "detached":
        body = f"{name}({args} <detached ...>"
    elif form == "reject":  # a syscall-form line the grammar rejects
        body = f"{name}({args}) = 0 EXTRA garbage"
    elif form == "sig":
        body = "--- SIGCHLD {si_signo=SIGCHLD} ---"
    elif form == "exit":
        body = draw(st.sampled_from(["+++ exited with 0 +++", "+++ killed by SIGKILL +++",
                                     "+++ superseded by execve in pid 100 +++"]))
    else:
        body = draw(st.text(string.printable.replace("\n", "") + "\x00\x1c", max_size=30))
    return prefix + stamp + body


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=EXAMPLES)
@given(st.lists(trace_lines(), min_size=1, max_size=25), st.booleans(),
       st.sampled_from([None, ("syscall", "pid", "decode_error")]))
def test_generated_blocks_same_with_and_without_scanner(lines, block_local, columns) -> None:
    same(lines, block_local=block_local, columns=columns)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=EXAMPLES)
@given(st.lists(trace_lines(), min_size=1, max_size=25), st.booleans())
def test_generated_blocks_same_when_the_caller_keeps_some_names(lines, block_local) -> None:
    """read_trace(only=...): the rows of the kept names are the same with the scanner (which
    builds the dropped rows' line, pid, name and time only) as without."""
    same(lines, block_local=block_local, names=frozenset({"mmap", "read", "execve", "???", "clone"}))


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=EXAMPLES)
@given(st.lists(trace_lines().filter(lambda t: not t.startswith(("104<", "[pid"))), min_size=1, max_size=25))
def test_generated_unprefixed_ff_blocks(lines) -> None:
    """-ff files: no pid on the lines, the file's pid for all of them."""
    stripped = [t.split(" ", 1)[1] if t[:1].isdigit() and " " in t else t for t in lines]
    same(stripped, default_pid=4242)
    same(stripped)
