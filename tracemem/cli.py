"""The tracemem command line: a thin layer over the library (tracemem.read_trace and friends)."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import TracememError
from .events import ParseReport

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=(
        "Where did the address space go? tracemem reads strace (Linux) and dtruss (macOS) logs "
        "and shows what was reserved, committed and released.\n\n"
        "Capture a log with:  strace -f -ttt -T -y -o run.trace <command>"
    ),
)

stdout = Console(highlight=False, soft_wrap=True)
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
    stderr.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(1 if exc.__class__.__name__ == "TraceParseError" else 2)


def _print_errors(report: ParseReport, limit: int = 10) -> None:
    from .errors import TraceParseError

    for issue in report.errors[:limit]:
        err = TraceParseError(issue.file, issue.line, issue.column, issue.text, issue.reason)
        stderr.print(f"[red]line error:[/] {escape(str(err))}")
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
        stderr.print(f"[red]line error:[/] {escape(str(err))}")
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
        calls.add_row(escape(name), f"{count:,}")
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


def main(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point."""
    app(args=argv)


if __name__ == "__main__":  # pragma: no cover
    main()
