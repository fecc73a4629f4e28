"""Startup phases detected on real traces (samples/), with the boundaries the traces show."""

from __future__ import annotations

import pytest

import tracemem
from tracemem.errors import UsageError

from conftest import SAMPLES


def detected(name: str, user=()):
    trace = tracemem.read_trace(SAMPLES / name)
    found, notes = trace.phases(user)
    return trace, found, notes


def starts(trace, found, asid=None):
    df = trace.df.set_index("seq")
    first = found[0].asid if asid is None else asid
    return {p.name: (int(df.loc[p.start_seq, "line"]), str(df.loc[p.start_seq, "syscall"]))
            for p in found if p.asid == first}


def test_go_http_server() -> None:
    trace, found, notes = detected("go-http-net.trace")
    got = starts(trace, found)
    assert list(got) == ["exec", "loader", "runtime-init", "threads", "main", "exit"]
    assert got["exec"] == (1, "execve")
    assert got["loader"] == (6, "openat")                 # first shared object opened
    assert got["runtime-init"] == (20, "mmap")            # the Go page-summary reservations start
    assert got["threads"] == (42, "clone3")
    assert got["main"] == (85, "socket")                  # the server's listening socket
    assert got["exit"] == (140, "exit_group")
    init = next(p for p in found if p.name == "runtime-init")
    assert init.reserved > 600 << 20 and init.committed < 64 << 20   # reserved, not committed
    assert notes == []


def test_c_program() -> None:
    trace, found, notes = detected("memdemo.trace")
    got = starts(trace, found)
    assert list(got) == ["exec", "loader", "threads", "exit"]
    assert got["threads"][1] == "clone3"
    assert any("no evidence for runtime-init, main" in n for n in notes)


def test_python_startup() -> None:
    trace, found, notes = detected("python-startup.trace")
    got = starts(trace, found)
    assert list(got) == ["exec", "loader", "threads", "main", "exit"]
    assert got["main"][1] == "socket"


def test_node_startup() -> None:
    trace, found, notes = detected("node-startup.trace")
    got = starts(trace, found)
    assert list(got) == ["exec", "loader", "threads", "main", "exit"]
    threads = next(p for p in found if p.name == "threads" and p.asid == found[0].asid)
    assert threads.vsz > 512 << 20   # V8 and libuv threads, their stacks and arenas


def test_user_phases_override_and_add() -> None:
    trace, found, _ = detected("go-http-net.trace", ["serving=/accept4|accept\\(/", "loader=line:10", "late=0.05"])
    got = starts(trace, found)
    assert got["loader"][0] >= 10
    assert "serving" in got and got["serving"][1].startswith("accept")
    assert "late" in got
    user = [p for p in found if p.source == "user"]
    assert {p.name for p in user} == {"serving", "loader", "late"}


@pytest.mark.parametrize("spec", ["bad", "x=line:y", "x=/(/", "x=abc", "x=/nothing matches this/",
                                  # once taken as "the first event": out-of-range lines and times
                                  "x=line:-5", "x=line:0", "x=-inf", "x=nan", "x=-1"])
def test_bad_phase_options(spec: str) -> None:
    trace = tracemem.read_trace(SAMPLES / "go-http-net.trace")
    with pytest.raises(UsageError):
        trace.phases([spec])


def test_a_backtracking_phase_regex_is_stopped(monkeypatch, tmp_path) -> None:
    """/(a|aa)+$/ on a 40-character path backtracks for minutes with the standard library's re:
    the search of all events together is bounded, and ends in a usage error naming the line."""
    from tracemem import phases

    monkeypatch.setattr(phases, "REGEX_BUDGET", 0.2)
    log = tmp_path / "p.trace"
    log.write_text('100 10:00:00.000001 openat(AT_FDCWD, "/tmp/' + "a" * 40 + 'b", O_RDONLY) = 3\n'
                   "100 10:00:00.000002 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, "
                   "-1, 0) = 0x7f0000000000\n")
    trace = tracemem.read_trace(log)
    with pytest.raises(UsageError, match=r"more than 0\.2 s \(stopped at line 1\)"):
        trace.phases(["x=/(a|aa)+$/"])
    found, _ = trace.phases(["x=/a{40}b/"])   # a plain pattern still works
    (x,) = [p for p in found if p.name == "x"]
    assert int(trace.df.set_index("seq").loc[x.start_seq, "line"]) == 1
