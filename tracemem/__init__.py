"""tracemem: where did the address space go?

Read strace and dtruss logs into typed syscall events with an exact account of every line,
rebuild the address space of every process from them, and summarise it::

    import tracemem
    trace = tracemem.read_trace("run.trace")
    trace.df                    # one row per syscall event (pandas)
    trace.report                # lines = parsed + skipped + errors
    trace.timeline()            # one row per address-space change, totals after it
    summary = tracemem.summarize(trace)   # per process: totals, peak, regions, roles, phases
    summary.frame()             # ... as a DataFrame; summary.to_json() to keep it
    for event in tracemem.iter_events("run.trace"): ...

The pipeline, one module or package a stage: tracemem.parse -> tracemem.table -> tracemem.space
-> tracemem.phases -> tracemem.summary -> tracemem.reporters; tracemem.cli is the command line.
"""

from .errors import InputError, OutputError, TraceParseError, TracememError, UsageError
from .events import ParseReport, Skip, State, SyscallEvent
from .summary import ProcessSummary, RunSummary, summarize
from .trace import Trace, count_events, iter_events, read_trace

__all__ = [
    "InputError", "OutputError", "ParseReport", "ProcessSummary", "RunSummary", "Skip", "State",
    "SyscallEvent", "Trace", "TraceParseError", "TracememError", "UsageError", "count_events",
    "iter_events", "read_trace", "summarize",
]
__version__ = "0.1.0"
