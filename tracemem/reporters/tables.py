"""Terminal tables (rich) for the stats, the run summary and the phases, printed onto a Console
the caller passes in. Trace text is untrusted: every cell that comes from the trace goes
through :func:`cell` (markup escaped, control characters shown as \\xNN).

The summary and the phases fit an 80-column terminal without cutting a figure: short headers,
the units said once in a heading line (MiB for the summary, seconds or ms for times), sizes
never wrapped or cut, text (programs, paths, evidence) wrapped instead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..text import cell, human, printable, signed

if TYPE_CHECKING:
    from ..phases import Phase
    from ..summary import RegionInfo, RunSummary
    from ..trace import Stats


def stats_tables(console: Console, result: "Stats") -> None:
    """The line accounting and the syscall counts of ``count_events``."""
    lines = Table(title="Lines", show_header=False, title_justify="left")
    lines.add_column("what")
    lines.add_column("count", justify="right")
    lines.add_row("lines", f"{result['lines']:,}")
    lines.add_row("part of an event", f"{result['parsed']:,}")
    for reason, count in result["skipped"].items():
        lines.add_row(f"skipped: {escape(reason)}", f"{count:,}")
    lines.add_row("errors", f"{result['errors']:,}")
    lines.add_row("events", f"{result['events']:,}")
    for state, count in result["incomplete"].items():
        lines.add_row(f"  of which {escape(state)}", f"{count:,}")
    if result["unknown_syscalls"]:
        lines.add_row("  of which ??? (strace could not name the call)", f"{result['unknown_syscalls']:,}")
    lines.add_row("processes/threads", f"{len(result['pids']):,}")
    lines.add_row("timestamps", str(result["time"] or "none"))
    console.print(lines)
    calls = Table(title="Syscalls", title_justify="left")
    calls.add_column("syscall")
    calls.add_column("events", justify="right")
    for name, count in list(result["syscalls"].items())[:40]:
        calls.add_row(cell(name), f"{count:,}")
    if len(result["syscalls"]) > 40:
        calls.add_row(f"... {len(result['syscalls']) - 40} more", "")
    console.print(calls)


def summary_tables(console: Console, summary: RunSummary, *, processes: int = 20, detailed: int = 3,
                   t0: float | None = None) -> None:
    """The address spaces (largest VSZ first, ``processes`` of them) and the largest regions of
    the first ``detailed``. ``t0`` (the time of the trace's first event, as ``phases_table``
    takes it) gives the time of each peak in seconds from it; without it the peak is placed by
    its event's seq."""
    shown = summary.processes[:processes]
    unit = _Unit.for_sizes([n for p in shown for n in (p.vsz, p.reserved, p.committed, p.file, p.shared,
                                                       p.released, p.peak_vsz)])
    scope = ("with the exec baseline" if summary.baseline
             else "traced mappings only: --baseline-maps adds exec-time ones")
    _heading(console, f"Address spaces ({unit.name}), {scope}")
    if summary.from_dtruss:
        _heading(console, "commit: what Linux would charge for the same flags (a macOS dtruss log)")
    table = _table()
    table.add_column("process", overflow="fold")
    for col in LEDGER_HEADERS:
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("at", overflow="fold")
    clock = _Clock(t0, [p.peak_time for p in shown])
    for p in shown:
        if p.peak_time is not None and t0 is not None:
            at = f"{clock(p.peak_time)} {clock.unit}"
        else:
            at = f"seq {p.peak_seq}" if p.peak_seq is not None else "-"
        table.add_row(_process(p.asid, p.exe, short=True), unit(p.vsz), unit(p.reserved), unit(p.committed),
                      unit(p.file), unit(p.shared), unit(p.released), f"{p.map_count:,}", unit(p.peak_vsz), at)
    console.print(table)
    if len(summary.processes) > len(shown):
        _heading(console, f"... {len(summary.processes) - len(shown):,} more (--processes N)")
    commit = "" if summary.from_dtruss else "commit: committed (charged), "
    _heading(console, f"resv: reserved, {commit}rel: released, peak: highest VSZ")
    for p in shown[:detailed]:
        if not p.largest:
            continue
        console.print()
        _heading(console, Text("Largest regions of ") + _process(p.asid, p.exe))
        console.print(_regions(console, p.largest))


def _regions(console: Console, regions: Sequence[RegionInfo]) -> Table:
    """The largest regions: role and path in columns of their own when the console has room
    for them, else the path under the role (a path is folded only when it is wider than the
    room left)."""

    def table(merged: bool) -> Table:
        t = _table()
        t.add_column("range", no_wrap=True)
        t.add_column("size", justify="right", no_wrap=True)
        t.add_column("perms", no_wrap=True)
        if merged:
            t.add_column("role, path", overflow="fold")
        else:
            t.add_column("role")
            t.add_column("path", overflow="fold")
        for r in regions:
            if merged:
                what = [_text(r.role) + (Text("\n") + _text(r.path) if r.path else Text(""))]
            else:
                what = [_text(r.role), _text(r.path or "")]
            t.add_row(f"{r.start:x}-{r.end:x}", human(r.size), r.perms, *what)
        return t

    wide = table(False)
    return wide if _natural(console, wide) <= console.width else table(True)


def phases_table(console: Console, phases: Sequence[Phase], t0: float | None = None) -> None:
    """The phases with start, end (from ``t0``, the time of the trace's first event; else the
    earliest phase start; seq when the trace has no times), the deltas and the evidence. Each
    row names its process and program (a run restarts at each execve). The evidence is a column
    when the console has room for it, else listed under the table."""
    if not phases:
        _heading(console, "no phases detected: the trace shows no execve, loader, runtime, thread, socket or exit evidence")
        return
    zero = "the trace's first event"
    if t0 is None:
        times = [p.start_time for p in phases if p.start_time is not None]
        t0 = min(times) if times else None
        zero = "the first phase's start"
    clock = _Clock(t0, [t for p in phases for t in (p.start_time, p.end_time)])
    evidence = [_text(p.evidence.split(": ", 1)[-1] if p.source == "detected" else p.evidence) for p in phases]

    def table(with_evidence: bool) -> Table:
        t = _table()
        t.add_column("process", overflow="fold")
        t.add_column("phase", overflow="fold")
        for col in ("start", "end"):
            t.add_column(col, justify="right")   # "seq N" may wrap at its space
        for col in ("ΔVSZ", "Δresv", "Δcommit"):
            t.add_column(col, justify="right", no_wrap=True)
        if with_evidence:
            t.add_column("evidence", overflow="fold")
        for p, why in zip(phases, evidence):
            t.add_row(_process(p.asid, p.exe, short=True), _text(p.name),
                      clock.at(p.start_seq, p.start_time), clock.at(p.end_seq, p.end_time),
                      signed(p.vsz), signed(p.reserved), signed(p.committed), *([why] if with_evidence else []))
        return t

    if t0 is not None and any(p.start_time is not None for p in phases):
        when = f"times in {'ms' if clock.unit == 'ms' else 'seconds'} from {zero}"
    else:
        when = "no times in the trace, events by seq"
    _heading(console, f"Phases: {when}; Δ: change over the phase")
    figures = table(False)
    if console.width - _natural(console, figures) - 2 >= EVIDENCE_WIDTH:
        console.print(table(True))
        return
    console.print(figures)
    _heading(console, "What started each phase:")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(overflow="fold")
    grid.add_column(overflow="fold")
    grid.add_column(overflow="fold")
    for p, why in zip(phases, evidence):
        grid.add_row(_process(p.asid, p.exe, short=True), _text(p.name), why)
    console.print(grid)


#: The headers of the summary's ledger columns (sizes in the unit its heading names, and maps).
LEDGER_HEADERS = ("VSZ", "resv", "commit", "file", "shared", "rel", "maps", "peak")
#: The least width the phases' evidence gets as a column (an event's text of 120 characters in two
#: lines); with less room it is listed under the table, where it has the rest of each line.
EVIDENCE_WIDTH = 60


def _table() -> Table:
    """A compact table: a rule under the header, two spaces between columns, no outer border."""
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)


def _natural(console: Console, table: Table) -> int:
    """The width ``table`` takes when nothing constrains it (rich clamps a measure to the console)."""
    return console.measure(table, options=console.options.update_width(1_000_000)).maximum


def _heading(console: Console, text: "str | Text") -> None:
    """A line above or under a table, wrapped at the console's width (also on a console that
    soft-wraps, as the command line's does)."""
    console.print(text if isinstance(text, Text) else Text(text), soft_wrap=False)


def _text(text: object) -> Text:
    """Untrusted trace text as a rich Text (never markup), control characters shown as \\xNN."""
    return Text(printable(str(text)))


def _pid(asid: int | None) -> Text:
    """A process as the log names it: its pid, or "(no pid)" (strace without -f prints none)."""
    return Text("(no pid)" if asid is None else str(asid))


def _process(asid: int | None, exe: str | None, short: bool = False) -> Text:
    """The pid and the program (``short``: its file name, as ps shows a command); in a narrow
    column the program wraps under the pid."""
    if short and exe:
        exe = exe.rstrip("/").rsplit("/", 1)[-1] or exe
    return _pid(asid) + (Text(" ") + _text(exe) if exe else Text(""))


class _Unit:
    """Bytes in one unit for a whole table, without the unit (the heading says it), one
    decimal: 1,055.2. MiB, or GiB / TiB when a figure would pass 99,999.9 MiB (a sanitizer's
    terabytes of shadow reservation), so that a figure takes at most 8 columns. 0 for
    nothing, <0.1 for a few KiB (not 0.0, which would read as nothing)."""

    def __init__(self, name: str, shift: int) -> None:
        self.name, self.shift = name, shift

    @classmethod
    def for_sizes(cls, sizes: Sequence[int]) -> "_Unit":
        top = max((abs(int(n)) for n in sizes), default=0)
        for name, shift in (("MiB", 20), ("GiB", 30)):
            if top / 2**shift < 99_999.95:
                return cls(name, shift)
        return cls("TiB", 40)

    def __call__(self, n: int) -> str:
        if n == 0:
            return "0"
        value = int(n) / 2**self.shift
        return "<0.1" if abs(value) < 0.05 else f"{value:,.1f}"


class _Clock:
    """Times as the distance from ``t0``, in one unit for a whole table: seconds with three
    decimals (0.029), or milliseconds (0.206) when every time is within 10 ms of ``t0``."""

    def __init__(self, t0: float | None, times: Sequence[float | None]) -> None:
        self.t0 = t0
        spans = [abs(t - t0) for t in times if t is not None] if t0 is not None else []
        self.unit = "ms" if spans and 0 < max(spans) < 0.01 else "s"

    def __call__(self, t: float) -> str:
        assert self.t0 is not None
        delta = t - self.t0
        return f"{delta * 1000:.3f}" if self.unit == "ms" else f"{delta:.3f}"

    def at(self, seq: int | None, t: float | None) -> str:
        """The time of an event when the trace has one, else its seq."""
        if t is not None and self.t0 is not None:
            return self(t)
        return f"seq {seq}" if seq is not None else "-"
