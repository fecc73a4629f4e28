"""The cyclic collector is paused around tracemem's bulk work and left as the caller had it."""

from __future__ import annotations

import gc

import pytest

from tracemem.gcpause import gc_paused
from tracemem.trace import MODEL_SYSCALLS, count_events, read_trace

from conftest import STRACE_DATA

LOG = STRACE_DATA / "c-f-tt-T-y.trace"


def test_paused_inside_and_restored_after_even_on_an_error() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: still off, and not turned on by the inner exit
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gc_paused():
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_caller_that_turned_the_collector_off_keeps_it_off() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        read_trace([LOG])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_parsing_and_summarising_leave_the_collector_on() -> None:
    """read_trace, count_events and the summary pause the collector and turn it on again; a
    parse started with the collector already off gives the same table."""
    trace = read_trace([LOG], only=MODEL_SYSCALLS)
    assert gc.isenabled()
    stats = count_events([LOG])
    assert gc.isenabled() and stats["errors"] == 0
    summary = trace.summary()
    assert gc.isenabled() and summary.processes
    gc.disable()
    try:
        again = read_trace([LOG], only=MODEL_SYSCALLS)
    finally:
        gc.enable()
    assert again.df.equals(trace.df)
