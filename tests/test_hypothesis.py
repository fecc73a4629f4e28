"""Property tests: lines generated from the event model parse back to the model; mangled lines
never raise, are always accounted for, and the fast path never accepts what Lark rejects."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracemem.events import Madvise, Mmap, Mprotect, Munmap, ParseReport
from tracemem.flags import Advice, MapFlags, Prot, flag_names
from tracemem.parse.lines import LineSyntaxError, fast_line, lark_line
from tracemem.parse.clock import Clock
from tracemem.parse.columns import assemble
from tracemem.parse.reader import StraceFileReader
from tracemem.table import batch_events

addresses = st.integers(min_value=0, max_value=(1 << 47) - 1).map(lambda a: a & ~0xFFF)
lengths = st.integers(min_value=1, max_value=1 << 40)
prots = st.sampled_from([0, 1, 3, 5, 7, 0x800003]).map(Prot)
mapflags = st.sampled_from([0x22, 0x4022, 0x32, 0x20022, 0x2, 0x1, 0x100022, 0x8022, 0x800022]).map(MapFlags)
advices = st.sampled_from(list(Advice))
pids = st.one_of(st.none(), st.integers(min_value=1, max_value=4194304))
stamps = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999999)).map(
        lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d}.{t[3]:06d}"),
    st.integers(1_000_000_000, 2_000_000_000).map(lambda s: f"{s}.123456"),
)
durations = st.one_of(st.none(), st.integers(0, 10**6).map(lambda u: f"{u / 1e6:.6f}"))


def num(value: int, hexa: bool) -> str:
    return hex(value) if hexa else str(value)


@st.composite
def memory_calls(draw):
    kind = draw(st.sampled_from(["mmap", "munmap", "mprotect", "madvise"]))
    addr, length = draw(addresses), draw(lengths)
    a = "NULL" if addr == 0 else hex(addr)
    if kind == "mmap":
        prot, flags = draw(prots), draw(mapflags)
        anon = flags & MapFlags.MAP_ANONYMOUS
        fd = -1 if anon else draw(st.integers(0, 1000))
        path = draw(st.one_of(st.none(), st.text(string.ascii_letters + "/._-, ", min_size=1, max_size=20)))
        fd_text = f"{fd}<{path}>" if (path and not anon and "<" not in path and ">" not in path) else str(fd)
        offset = draw(st.integers(0, 1 << 30)) & ~0xFFF
        text = f"{a}, {length}, {flag_names(prot, Prot)}, {flag_names(flags, MapFlags)}, {fd_text}, {num(offset, draw(st.booleans()))}"
        model = Mmap(addr, length, prot, flags, fd, offset, path if fd_text != str(fd) else None)
    elif kind == "munmap":
        text, model = f"{a}, {length}", Munmap(addr, length)
    elif kind == "mprotect":
        prot = draw(prots)
        text, model = f"{a}, {length}, {flag_names(prot, Prot)}", Mprotect(addr, length, prot)
    else:
        advice = draw(advices)
        style = draw(st.sampled_from(["abbrev", "raw", "verbose"]))
        adv = {"abbrev": advice.name, "raw": hex(advice), "verbose": f"{hex(advice)} /* {advice.name} */"}[style]
        text, model = f"{a}, {length}, {adv}", Madvise(addr, length, advice)
    return kind, text, model


@st.composite
def lines(draw):
    kind, args, model = draw(memory_calls())
    pid, stamp, dur = draw(pids), draw(stamps), draw(durations)
    bracket = draw(st.booleans())
    prefix = ""
    if pid is not None:
        prefix = f"[pid {pid:5d}] " if bracket else f"{pid:<5d} "
    if stamp is not None:
        prefix += stamp + " "
    ret = draw(st.sampled_from(["0", "0x7f0000000000", "-1 ENOMEM (Cannot allocate memory)"]))
    body = f"{kind}({args})"
    pad = " " * max(1, 39 - len(body))
    line = f"{prefix}{body}{pad}= {ret}" + (f" <{dur}>" if dur else "")
    return line, pid, model


def parse_text(text: str, fast: bool = True):
    report = ParseReport()
    reader = StraceFileReader("gen", report, None, fast)
    rows = reader.feed_block(text.split("\n"))
    cols, _ = assemble(reader, rows, Clock(), fast, None)
    rows2 = reader.finish()
    events = []
    if cols:
        cols["seq"] = list(range(len(cols["line"])))
        cols["file"] = ["gen"] * len(cols["line"])
        events += list(batch_events(cols))
    if rows2:
        more, _ = assemble(reader, rows2, Clock(), fast, None)
        more["seq"] = list(range(len(more["line"])))
        more["file"] = ["gen"] * len(more["line"])
        events += list(batch_events(more))
    return events, report


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(lines())
def test_generated_lines_round_trip(case) -> None:
    line, pid, model = case
    (event,), report = parse_text(line)
    assert event.decoded == model
    assert event.pid == pid
    assert report.errors == []
    slow, _ = parse_text(line, fast=False)
    assert slow[0].decoded == model and slow[0].args == event.args


def mangle(line: str, data) -> str:
    ops = data.draw(st.lists(st.tuples(st.sampled_from(["del", "ins", "cut"]), st.integers(0, max(0, len(line) - 1)),
                                       st.sampled_from(list('()[]{}<>",=| x0\\') + ["<unfinished ...>", "<... mmap resumed>"])),
                             min_size=1, max_size=3))
    for op, pos, ch in ops:
        if op == "del":
            line = line[:pos] + line[pos + 1:]
        elif op == "ins":
            line = line[:pos] + ch + line[pos:]
        else:
            line = line[:pos]
    return line


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(lines(), min_size=1, max_size=4), st.data())
def test_mangled_lines_never_raise(cases, data) -> None:
    texts = [mangle(line, data) if data.draw(st.booleans()) else line for line, _, _ in cases]
    text = "\n".join(texts)
    for fast in (True, False):
        events, report = parse_text(text, fast)
        assert report.lines == len(texts)
        assert report.lines == report.parsed + sum(report.skipped.values()) + len(report.errors)
    for t in texts:
        try:
            expected = lark_line(t)
        except LineSyntaxError:
            assert fast_line(t) is None
        else:
            got = fast_line(t)
            assert got is None or got == expected
