"""tracemem: where did the address space go?

Read strace logs into typed syscall events and an exact account of every line::

    import tracemem
    trace = tracemem.read_trace("run.trace")
    trace.df            # one row per syscall event (pandas)
    trace.report        # lines = parsed + skipped + errors
    for event in tracemem.iter_events("run.trace"): ...
"""

from .errors import InputError, TraceParseError, TracememError, UsageError
from .events import ParseReport, Skip, State, SyscallEvent
from .trace import Trace, count_events, iter_events, read_trace

__all__ = [
    "InputError", "ParseReport", "Skip", "State", "SyscallEvent", "Trace", "TraceParseError",
    "TracememError", "UsageError", "count_events", "iter_events", "read_trace",
]
__version__ = "0.1.0"
