"""The tracemem command line: a thin layer over the library (tracemem.read_trace and friends)."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import InputError, TracememError, UsageError
from .events import ParseReport
from .text import printable


def cell(text: object) -> str:
    """Untrusted trace text in a rich table: markup escaped, control characters shown as \\xNN."""
    return escape(printable(str(text)))

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=(
        "Where did the address space go? tracemem reads strace (Linux) and dtruss (macOS) logs "
        "and shows what was reserved, committed and released.\n\n"
        "Capture a log with:  strace -f -ttt -T -y -o run.trace <command>"
    ),
)

def _stdout_width() -> int | None:
    """Tables written to a pipe or file are never cut to 80 columns (rich's default there):
    COLUMNS when set, else wide enough for any table."""
    if sys.stdout.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 10_000


stdout = Console(highlight=False, soft_wrap=True, width=_stdout_width())
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

LogsArg = typer.Argument(..., help="strace or dtruss log files (.gz/.xz/.zst too), globs, or - for standard input.")
StrictOpt = typer.Option(False, "--strict", help="Stop with exit code 1 at the first line error.")


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A line counter on stderr while parsing, only when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("parsing: {task.completed:,} lines"), TimeElapsedColumn(),
                  console=stderr, transient=True) as bar:
        task = bar.add_task("parse", total=None)
        yield lambda n: bar.update(task, completed=n)


def _fail(exc: TracememError) -> None:
    stderr.print(f"[bold red]error:[/] {cell(exc)}")
    raise typer.Exit(1 if exc.__class__.__name__ == "TraceParseError" else 2)


def _print_errors(report: ParseReport, limit: int = 10) -> None:
    from .errors import TraceParseError

    for issue in report.errors[:limit]:
        err = TraceParseError(issue.file, issue.line, issue.column, issue.text, issue.reason)
        stderr.print(f"[red]line error:[/] {cell(err)}")
    if len(report.errors) > limit:
        stderr.print(f"... and {len(report.errors) - limit} more line errors")


@app.command()
def stats(
    logs: List[str] = LogsArg,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    strict: bool = StrictOpt,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress on stderr (terminal only)."),
) -> None:
    """Account for every line of the logs and count the syscalls."""
    from .trace import count_events

    try:
        with _progress(progress) as on_lines:
            result = count_events(logs, strict=strict, on_lines=on_lines)
    except TracememError as exc:
        _fail(exc)
        return
    if as_json:
        stdout.out(json.dumps(result, indent=2, ensure_ascii=False), highlight=False)
    else:
        _stats_tables(result)
    from .errors import TraceParseError

    for issue in result["error_details"][:10]:
        err = TraceParseError(issue["file"], issue["line"], issue["column"], issue["text"], issue["reason"])
        stderr.print(f"[red]line error:[/] {cell(err)}")
    if result["errors"] > 10:
        stderr.print(f"... and {result['errors'] - 10} more line errors (all counted above)")


def _stats_tables(result: dict[str, Any]) -> None:
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
    lines.add_row("processes/threads", f"{len(result['pids']):,}")
    lines.add_row("timestamps", str(result["time"] or "none"))
    stdout.print(lines)
    calls = Table(title="Syscalls", title_justify="left")
    calls.add_column("syscall")
    calls.add_column("events", justify="right")
    for name, count in list(result["syscalls"].items())[:40]:
        calls.add_row(cell(name), f"{count:,}")
    if len(result["syscalls"]) > 40:
        calls.add_row(f"... {len(result['syscalls']) - 40} more", "")
    stdout.print(calls)


@app.command()
def parse(
    logs: List[str] = LogsArg,
    output: Path = typer.Option(..., "-o", "--output", help="Output file: .parquet, .csv or .jsonl."),
    strict: bool = StrictOpt,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress on stderr (terminal only)."),
) -> None:
    """Write the events as a table (Parquet, CSV or JSON Lines, by the output's suffix)."""
    from .output import output_format, write_batches, write_events
    from .parse.source import expand
    from .trace import iter_batches, read_trace

    try:
        output_format(output)
        report = ParseReport()
        with _progress(progress) as on_lines:
            if len(expand(logs)) > 1:
                # -ff files of one run: merged and ordered by time, so the table is whole first.
                trace = read_trace(logs, strict=strict, on_lines=on_lines)
                report = trace.report
                rows = write_events([trace.df], output)
            else:
                rows = write_batches(iter_batches(logs, report=report, strict=strict, on_lines=on_lines), output)
    except TracememError as exc:
        _fail(exc)
        return
    _print_errors(report)
    skipped = sum(report.skipped.values())
    stderr.print(
        f"{rows:,} events written to {escape(str(output))} ({report.lines:,} lines: "
        f"{report.parsed:,} in events, {skipped:,} skipped, {len(report.errors):,} errors)"
    )


BaselineOpt = typer.Option(None, "--baseline-maps", help="A /proc/PID/maps or smaps snapshot taken at exec: "
                           "seeds the first process with the mappings the kernel made (otherwise figures are traced VSZ).")


OvercommitOpt = typer.Option("heuristic", "--overcommit", help="vm.overcommit_memory of the traced machine: "
                             "heuristic (0), always (1) or never (2; MAP_NORESERVE is then ignored).")
UnchargeOpt = typer.Option(False, "--uncharge-unfaulted", help="Removing write from a never-written private "
                           "region gives its charge back (Linux 6.7 and later); default: the charge is kept.")


def _options(overcommit: str, uncharge: bool) -> dict[str, Any]:

    if overcommit not in ("heuristic", "always", "never", "0", "1", "2"):
        raise UsageError(f"--overcommit {overcommit!r}: expected heuristic, always or never")
    return {"overcommit_never": overcommit in ("never", "2"),
            "mprotect_uncharge": "unfaulted" if uncharge else "never"}


def _load(logs: List[str], baseline: Optional[Path]) -> tuple[Any, Any]:
    from .kernelmaps import parse_snapshot as parse_maps
    from .trace import MODEL_SYSCALLS, read_trace

    trace = read_trace(logs, only=MODEL_SYSCALLS)
    regions = None
    if baseline is not None:
        try:
            text = baseline.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise InputError(f"{baseline}: cannot read ({exc.strerror})") from None
        regions = parse_maps(text, str(baseline))
    return trace, regions


def _mib(n: Any) -> str:
    return f"{int(n) / 2**20:,.1f} MiB"


@app.command()
def timeline(
    logs: List[str] = LogsArg,
    output: Path = typer.Option(..., "-o", "--output", help="Output file: .parquet or .csv."),
    baseline: Optional[Path] = BaselineOpt,
    overcommit: str = OvercommitOpt,
    uncharge_unfaulted: bool = UnchargeOpt,
) -> None:
    """Write the address-space timeline: one row per change, with each space's totals after it."""
    from .output import output_format

    try:
        if output_format(output) == "jsonl":
            raise UsageError(f"{output}: the timeline is written as .parquet or .csv")
        options = _options(overcommit, uncharge_unfaulted)
        trace, regions = _load(logs, baseline)
        df = trace.timeline(regions, **options)
        if output_format(output) == "parquet":
            df.to_parquet(output, index=False)
        else:
            df.to_csv(output, index=False)
    except TracememError as exc:
        _fail(exc)
        return
    stderr.print(f"{len(df):,} changes written to {escape(str(output))}")


@app.command()
def maps(
    logs: List[str] = LogsArg,
    pid: Optional[int] = typer.Option(None, "--pid", help="Process (as the log names it); default: the first traced."),
    roles: bool = typer.Option(False, "--roles", help="Add each region's role."),
    baseline: Optional[Path] = BaselineOpt,
    overcommit: str = OvercommitOpt,
    uncharge_unfaulted: bool = UnchargeOpt,
) -> None:
    """Print the reconstructed final mappings of a process in /proc/PID/maps format."""
    from .timeline import format_maps

    try:
        options = _options(overcommit, uncharge_unfaulted)
        trace, regions = _load(logs, baseline)
        space = trace.address_space(pid, baseline=regions, **options)
    except TracememError as exc:
        _fail(exc)
        return
    stdout.out(format_maps(space, roles=roles), end="", highlight=False)


@app.command()
def summary(
    logs: List[str] = LogsArg,
    baseline: Optional[Path] = BaselineOpt,
    top: int = typer.Option(8, "--top", help="How many of the largest regions to list per process."),
    processes: int = typer.Option(20, "--processes", help="How many processes to list (largest VSZ first)."),
    overcommit: str = OvercommitOpt,
    uncharge_unfaulted: bool = UnchargeOpt,
) -> None:
    """Per process: VSZ, reserved, committed, file, shared, released, peak VSZ, largest regions
    (the three largest processes)."""
    try:
        options = _options(overcommit, uncharge_unfaulted)
        trace, regions = _load(logs, baseline)
        replayer = trace.replayer(regions, **options)
        tl = replayer.frame()
    except TracememError as exc:
        _fail(exc)
        return
    label = "VSZ" if regions is not None else "traced VSZ"
    table = Table(title=f"Address spaces ({'with the exec baseline' if regions is not None else 'traced mappings only: add --baseline-maps for the exec-time baseline'})",
                  title_justify="left")
    for col in ("process", label, "reserved", "committed", "file", "shared", "released", "maps", f"peak {label}", "at"):
        table.add_column(col, justify="right" if col != "process" else "left")
    unique = []
    seen = set()
    for asid, sp in replayer.spaces.items():
        if id(sp) not in seen:
            seen.add(id(sp))
            unique.append((asid, sp))
    unique.sort(key=lambda item: -item[1].space.totals().vsz)
    shown = unique[:processes]
    for asid, sp in shown:
        t = sp.space.totals()
        rows = tl[tl["asid"] == asid] if asid is not None else tl[tl["asid"].isna()]
        if len(rows):
            peak = rows.loc[rows["vsz"].astype("int64").idxmax()]
            at = f"seq {int(peak['seq'])}" + (f", t={float(peak['time']):.6f}" if not _isna(peak["time"]) else "")
            peak_vsz = _mib(peak["vsz"])
        else:
            at, peak_vsz = "-", _mib(t.vsz)
        table.add_row(cell(asid) + (f" {cell(sp.exe)}" if sp.exe else ""), _mib(t.vsz), _mib(t.reserved),
                      _mib(t.committed), _mib(t.file), _mib(t.shared), _mib(t.released), f"{t.map_count:,}",
                      peak_vsz, at)
    if len(unique) > len(shown):
        table.add_row(f"... {len(unique) - len(shown):,} more (--processes N)", *[""] * 9)
    stdout.print(table)
    for asid, sp in shown[:3]:
        regions_by_size = sorted(sp.space, key=lambda r: r.size, reverse=True)[:top]
        if not regions_by_size:
            continue
        big = Table(title=f"Largest regions of {escape(str(asid))}", title_justify="left")
        for col in ("range", "size", "perms", "role", "path"):
            big.add_column(col)
        for r in regions_by_size:
            perms = ("r" if r.prot & 1 else "-") + ("w" if r.prot & 2 else "-") + ("x" if r.prot & 4 else "-") + ("s" if r.shared else "p")
            big.add_row(f"{r.start:x}-{r.end:x}", _mib(r.size), perms, cell(r.role), cell(r.path or r.name or ""))
        stdout.print(big)


PhaseOpt = typer.Option(None, "--phase", help="A phase of your own: NAME=SECONDS (from the start), "
                        "NAME=line:N or NAME=/regex/ (first event whose text matches); repeatable. "
                        "Replaces a detected phase of the same name.")


@app.command()
def plot(
    logs: List[str] = LogsArg,
    output: Path = typer.Option(..., "-o", "--output", help="Chart file: .png, .svg or .pdf."),
    phase: Optional[List[str]] = PhaseOpt,
    pid: Optional[int] = typer.Option(None, "--pid", help="Only this process (as the log names it)."),
    log: bool = typer.Option(False, "--log", help="Logarithmic byte axis."),
    panels: str = typer.Option("", "--panels", help="Extra panels, comma-separated: map_count, released."),
    baseline: Optional[Path] = BaselineOpt,
) -> None:
    """Chart VSZ over time: reserved, committed and file-backed bytes, phases shaded."""
    from .plot import chart_format, save

    try:
        chosen = tuple(p.strip() for p in panels.split(",") if p.strip())
        bad = [p for p in chosen if p not in ("map_count", "released")]
        if bad:
            raise UsageError(f"--panels {','.join(bad)}: choose from map_count, released")
        chart_format(output)  # before the (long) parse
        trace, regions = _load(logs, baseline)
        fig = trace.plot(phases=phase or (), pid=pid, log=log, panels=chosen, baseline=regions)
        save(fig, output)
    except TracememError as exc:
        _fail(exc)
        return
    stderr.print(f"chart written to {escape(str(output))}")


@app.command()
def phases(
    logs: List[str] = LogsArg,
    phase: Optional[List[str]] = PhaseOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the startup phases of each process with start, end and VSZ/reserved/committed deltas."""
    try:
        trace, _ = _load(logs, None)
        found, notes = trace.phases(phase or ())
    except TracememError as exc:
        _fail(exc)
        return
    if as_json:
        stdout.out(json.dumps({"phases": [p.__dict__ for p in found], "notes": notes}, indent=2), highlight=False)
        return
    if not found:
        stdout.print("no phases detected: the trace shows no execve, loader, runtime, thread, socket or exit evidence")
    table = Table(title="Phases", title_justify="left")
    for col in ("process", "phase", "start", "end", "Δ VSZ", "Δ reserved", "Δ committed", "evidence"):
        table.add_column(col, justify="right" if col.startswith("Δ") else "left")
    times = [p.start_time for p in found if p.start_time is not None]
    t0 = min(times) if times else None
    for p in found:
        def where(seq: int | None, t: float | None) -> str:
            if t is not None and t0 is not None:
                return f"{t - t0:.6f} s"
            return f"seq {seq}" if seq is not None else "-"
        short = p.evidence.split(": ", 1)[-1]
        table.add_row(str(p.asid), p.name, where(p.start_seq, p.start_time), where(p.end_seq, p.end_time),
                      _signed(p.vsz), _signed(p.reserved), _signed(p.committed),
                      cell(short if len(short) <= 60 else short[:57] + "..."))
    stdout.print(table)
    for note in notes:
        stderr.print(f"note: {cell(note)}")


def _signed(n: int) -> str:
    from .plot import human

    return ("+" if n > 0 else "−" if n < 0 else "") + human(abs(n))


def _isna(value: Any) -> bool:
    import pandas as pd

    return value is None or pd.isna(value)


def main(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point."""
    app(args=argv)


if __name__ == "__main__":  # pragma: no cover
    main()
