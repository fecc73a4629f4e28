"""tracemem: where did the address space go?

Read strace and dtruss logs into typed syscall events with an exact account of every line,
rebuild the address space of every process from them, and summarise it::

    import tracemem
    trace = tracemem.read_trace("run.trace")
    trace.df                    # one row per syscall event (pandas)
    trace.report                # lines = parsed + skipped + errors
    trace.timeline()            # one row per address-space change, totals after it
    summary = tracemem.summarize(trace)   # per process: totals, peak, regions, roles, phases
    diff = tracemem.compare("before.trace", "after.trace")   # two runs: diff.totals, .phases ...
    summary.frame()             # ... as a DataFrame; summary.to_json() to keep it
    for event in tracemem.iter_events("run.trace"): ...

The pipeline, one module or package a stage: tracemem.parse -> tracemem.table -> tracemem.space
-> tracemem.phases -> tracemem.summary -> tracemem.reporters; tracemem.cli is the command line.
"""

from typing import TYPE_CHECKING, Any

from .errors import InputError, OutputError, TraceParseError, TracememError, UsageError
from .parse import cpus as _cpus  # noqa: F401  (the idle-core measure's window starts here)

if TYPE_CHECKING:
    from .events import ParseReport, Skip, State, SyscallEvent
    from .summary import ProcessSummary, RunSummary, summarize
    from .trace import Trace, count_events, iter_events, read_trace
    from .compare import Comparison, compare

# The rest is imported on first use (PEP 562): a command that only counts lines does not pay for
# the address-space model, and ``import tracemem`` stays cheap.
_LAZY = {
    "ParseReport": "events", "Skip": "events", "State": "events", "SyscallEvent": "events",
    "ProcessSummary": "summary", "RunSummary": "summary", "summarize": "summary",
    "Trace": "trace", "count_events": "trace", "iter_events": "trace", "read_trace": "trace",
    "Comparison": "compare", "compare": "compare",
}
#: Submodules that are also the function of their name (``tracemem.batch(...)``).
_CALLABLE_MODULES = frozenset({"batch", "fleet"})


def __getattr__(name: str) -> Any:
    if name in _CALLABLE_MODULES:
        import importlib

        mod = importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tracemem' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Comparison", "compare", "InputError", "OutputError", "ParseReport", "ProcessSummary", "RunSummary", "Skip", "State",
    "SyscallEvent", "Trace", "TraceParseError", "TracememError", "UsageError", "count_events",
    "iter_events", "read_trace", "summarize",
]
__version__ = "0.1.0"
