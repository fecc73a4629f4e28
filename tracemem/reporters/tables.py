"""Terminal tables (rich) for the stats, the run summary and the phases, printed onto a Console
the caller passes in. Trace text is untrusted: every cell that comes from the trace goes
through :func:`cell` (markup escaped, control characters shown as \\xNN)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..phases import Phase
from ..summary import RunSummary
from ..text import mib, printable, signed

if TYPE_CHECKING:
    from ..trace import Stats


def cell(text: object) -> str:
    """Untrusted trace text in a rich table: markup escaped, control characters shown as \\xNN."""
    return escape(printable(str(text)))


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


def summary_tables(console: Console, summary: RunSummary, *, processes: int = 20, detailed: int = 3) -> None:
    """The address spaces (largest VSZ first, ``processes`` of them) and the largest regions of
    the first ``detailed``."""
    label = summary.vsz_label
    title = ("with the exec baseline" if summary.baseline
             else "traced mappings only: add --baseline-maps for the exec-time baseline")
    table = Table(title=f"Address spaces ({title})", title_justify="left")
    for col in ("process", label, "reserved", "committed", "file", "shared", "released", "maps",
                f"peak {label}", "at"):
        table.add_column(col, justify="right" if col != "process" else "left")
    shown = summary.processes[:processes]
    for p in shown:
        if p.peak_seq is not None:
            at = f"seq {p.peak_seq}" + (f", t={p.peak_time:.6f}" if p.peak_time is not None else "")
        else:
            at = "-"
        table.add_row(cell(p.asid) + (f" {cell(p.exe)}" if p.exe else ""), mib(p.vsz), mib(p.reserved),
                      mib(p.committed), mib(p.file), mib(p.shared), mib(p.released), f"{p.map_count:,}",
                      mib(p.peak_vsz), at)
    if len(summary.processes) > len(shown):
        table.add_row(f"... {len(summary.processes) - len(shown):,} more (--processes N)", *[""] * 9)
    console.print(table)
    for p in shown[:detailed]:
        if not p.largest:
            continue
        big = Table(title=f"Largest regions of {escape(str(p.asid))}", title_justify="left")
        for col in ("range", "size", "perms", "role", "path"):
            big.add_column(col)
        for r in p.largest:
            big.add_row(f"{r.start:x}-{r.end:x}", mib(r.size), r.perms, cell(r.role), cell(r.path or ""))
        console.print(big)


def phases_table(console: Console, phases: Sequence[Phase], t0: float | None = None) -> None:
    """The phases with start, end (seconds from ``t0``, or seq) and deltas."""
    if not phases:
        console.print("no phases detected: the trace shows no execve, loader, runtime, thread, socket or exit evidence")
    table = Table(title="Phases", title_justify="left")
    for col in ("process", "phase", "start", "end", "Δ VSZ", "Δ reserved", "Δ committed", "evidence"):
        table.add_column(col, justify="right" if col.startswith("Δ") else "left")
    if t0 is None:
        times = [p.start_time for p in phases if p.start_time is not None]
        t0 = min(times) if times else None

    def where(seq: int | None, t: float | None) -> str:
        if t is not None and t0 is not None:
            return f"{t - t0:.6f} s"
        return f"seq {seq}" if seq is not None else "-"

    for p in phases:
        short = p.evidence.split(": ", 1)[-1]
        table.add_row(str(p.asid), cell(p.name), where(p.start_seq, p.start_time), where(p.end_seq, p.end_time),
                      signed(p.vsz), signed(p.reserved), signed(p.committed),
                      cell(short if len(short) <= 60 else short[:57] + "..."))
    console.print(table)
