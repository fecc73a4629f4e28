"""The tracemem command line: typer over the library. Each command checks its options (and its
output path) before any parsing, calls one library function and one reporter; errors reach one
boundary, :func:`main`, which prints them and returns their exit code (README, "Exit codes")."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, Optional, Sequence, TextIO, TypedDict

import typer
from typer.core import TyperGroup

from .errors import InputError, OutputError, TraceParseError, TracememError, UsageError
from .events import ParseReport
from .progress import expect_replay, shown, stage
from .text import cell

if TYPE_CHECKING:
    # typer vendors click as typer._click; TyperGroup.invoke takes that Context (typer.Context is
    # a subclass, too narrow for the override), which typer exports under no public name.
    from matplotlib.figure import Figure
    from rich.console import Console
    from typer._click import Context as ClickContext

    from .space.kernelmaps import KernelRegion
    from .trace import Baseline, Trace

class _Boundary(TyperGroup):
    """The one error boundary of the command line: tracemem's own errors print as "error: ..."
    on stderr and end the command with their class's exit code (never a traceback)."""

    def invoke(self, ctx: "ClickContext") -> object:
        try:
            return super().invoke(ctx)
        except TracememError as exc:
            stderr.print(f"[bold red]error:[/] {cell(exc)}")
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=_Boundary,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help=(
        "Where did the address space go? tracemem reads strace (Linux) and dtruss (macOS) logs "
        "and shows what was reserved, committed and released.\n\n"
        "Capture a log with:  strace -f -ttt -T -y -o run.trace <command>"
    ),
)


class _Stream:
    """A standard stream for a rich Console, looked up when written (a test runner swaps them):
    a closed stream (``>&-``: None), a full disk (``> /dev/full``) or a closed pipe is an
    OutputError for standard output (exit code 2, said on stderr) and silence for stderr."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _file(self) -> "TextIO | None":
        file: TextIO | None = getattr(sys, self.name)
        return file

    def write(self, text: str) -> int:
        file = self._file()
        if file is None:
            return self._fail("it is closed")
        try:
            return file.write(text)
        except (OSError, ValueError) as exc:
            return self._fail(getattr(exc, "strerror", None) or str(exc))

    def flush(self) -> None:
        file = self._file()
        if file is None:
            return
        try:
            file.flush()
        except (OSError, ValueError) as exc:
            self._fail(getattr(exc, "strerror", None) or str(exc))

    def isatty(self) -> bool:
        file = self._file()
        try:
            return bool(file is not None and file.isatty())
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        file = self._file()
        if file is None:
            raise OSError("closed")
        return file.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._file(), "encoding", None) or "utf-8"

    def _fail(self, why: str) -> int:
        # what is still buffered for the stream would fail again when Python exits: it goes to
        # /dev/null (the error is said once, here)
        file = self._file()
        try:
            if file is not None:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, file.fileno())
                os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass
        if self.name == "stderr":
            return 0
        raise OutputError(f"standard output: cannot write ({why})")


def _stdout_width() -> int | None:
    """Tables written to a pipe or file are never cut to 80 columns (rich's default there):
    COLUMNS when set, else wide enough for any table."""
    if _Stream("stdout").isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 10_000


class _LazyConsole:
    """A rich Console made when first used: rich costs ~40 ms to import, and a command that writes
    JSON (:func:`_out`) or only files need not pay it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._console: "Console | None" = None

    def console(self) -> "Console":
        if self._console is None:
            from rich.console import Console

            width = _stdout_width() if self._name == "stdout" else None
            self._console = Console(file=_Stream(self._name), highlight=False, soft_wrap=True,  # type: ignore[arg-type]
                                    width=width)
        return self._console

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.console(), attr)


stdout = _LazyConsole("stdout")
stderr = _LazyConsole("stderr")


def _real(console: "_LazyConsole | Console") -> "Console":
    """The rich Console behind CONSOLE: a plain Console put in place of stdout or stderr (a test,
    a notebook capturing the output) is used as it is."""
    return console.console() if isinstance(console, _LazyConsole) else console


def _out(text: str, end: str = "\n") -> None:
    """TEXT and a newline on standard output as it is (no markup, no wrapping: JSON, maps),
    written and flushed through the same checks as the tables (an OutputError when it fails)."""
    stream = _Stream("stdout")
    stream.write(text + end)
    stream.flush()

LogsArg = typer.Argument(..., help="strace or dtruss log files (.gz/.xz/.zst too), globs, or - for standard input.")
StrictOpt = typer.Option(False, "--strict", help="Stop with exit code 1 at the first line error.")
ProgressOpt = typer.Option(True, "--progress/--no-progress", help="Progress on stderr (terminal only).")
BaselineOpt = typer.Option(None, "--baseline-maps", help="A /proc/PID/maps or smaps snapshot taken at exec: "
                           "seeds the first process with the mappings the kernel made (otherwise figures are traced VSZ).")
FinalOpt = typer.Option(None, "--final-maps", help="A /proc/PID/maps or smaps snapshot taken at the end "
                        "of the trace (or later, e.g. of the running service): its mappings the trace does not "
                        "make are taken as the exec-time baseline of the first process.")
OvercommitOpt = typer.Option("heuristic", "--overcommit", help="vm.overcommit_memory of the traced machine: "
                             "heuristic (0), always (1) or never (2; MAP_NORESERVE is then ignored).")
UnchargeOpt = typer.Option(False, "--uncharge-unfaulted", help="Removing write from a never-written private "
                           "region gives its charge back (Linux 6.7 and later); default: the charge is kept.")
PhaseOpt = typer.Option(None, "--phase", help="A phase of your own: NAME=SECONDS (from the start), "
                        "NAME=line:N or NAME=/regex/ (first event whose text matches); repeatable. "
                        "Replaces a detected phase of the same name.")


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A line counter on stderr while parsing, only when stderr is a terminal."""
    if not enabled or not _Stream("stderr").isatty():
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("parsing: {task.completed:,} lines"), TimeElapsedColumn(),
                  console=_real(stderr), transient=True) as bar:
        task = bar.add_task("parse", total=None)
        yield lambda n: bar.update(task, completed=n)


@contextmanager
def _long(enabled: bool) -> Iterator[None]:
    """The progress of a long command on stderr (reading, replaying, ...: tracemem.progress),
    on a terminal only and erased when done; a command writes to stdout after it, never inside."""
    with shown(_real(stderr), enabled=None if enabled else False):
        yield


def _print_errors(report: ParseReport, limit: int = 10) -> None:
    for issue in report.errors[:limit]:
        err = TraceParseError(issue.file, issue.line, issue.column, issue.text, issue.reason)
        stderr.print(f"[red]line error:[/] {cell(err)}")
    if len(report.errors) > limit:
        stderr.print(f"... and {len(report.errors) - limit} more line errors")


class _ReplayOptions(TypedDict):
    """The kernel options of the replaying Trace methods, as the CLI's options give them."""

    overcommit: str
    uncharge_unfaulted: bool


def _kernel(overcommit: str, uncharge: bool) -> _ReplayOptions:
    """The replay options, checked now (before the parse)."""
    from .space.replay import OVERCOMMIT

    if overcommit not in OVERCOMMIT:
        raise UsageError(f"--overcommit {overcommit!r}: expected heuristic, always or never")
    return {"overcommit": overcommit, "uncharge_unfaulted": uncharge}


def _snapshot(path: Path) -> "list[KernelRegion]":
    from .space.kernelmaps import read_snapshot

    return read_snapshot(path)


def _snapshots(*paths: Optional[Path]) -> list[str]:
    """The --baseline-maps / --final-maps files given: inputs an output must not overwrite."""
    return [str(p) for p in paths if p is not None]


def _load(logs: Sequence[str], baseline: Optional[Path],
          final: Optional[Path] = None) -> tuple["Trace", "Baseline"]:
    """The trace (only what the model and the phases read) and the exec-time baseline: the
    snapshot given with --baseline-maps, or the part of a --final-maps snapshot the trace does
    not explain."""
    from .trace import MODEL_SYSCALLS, read_trace

    if baseline is not None and final is not None:
        raise UsageError("--baseline-maps and --final-maps: give one (a snapshot from exec, or one from the end)")
    recorded = None
    if baseline is None and final is None:
        from .record import load_recorded_baselines, recorded_baseline

        first = recorded_baseline(logs)  # `tracemem record` left the exec-time maps beside the trace
        if first is not None:
            recorded = load_recorded_baselines(logs)
            count = sum(len(v) for v in recorded.values()) if isinstance(recorded, dict) else 1
            stderr.print(f"note: exec-time baseline{'s' if count > 1 else ''} from {cell(str(first.parent))} "
                         f"({count} snapshot{'s' if count > 1 else ''} recorded beside the trace)")
    regions: "Baseline" = _snapshot(baseline) if baseline is not None else recorded
    late = _snapshot(final) if final is not None else None
    trace = read_trace(logs, only=MODEL_SYSCALLS)
    expect_replay(trace)  # the replays' total: "replaying" shows a percentage
    # what the replay cannot use is said, not only counted: line errors, calls not applied
    _print_errors(trace.report)
    for note in trace.report.notes:
        stderr.print(f"note: {cell(note)}")
    if late is not None:
        stage("matching the final snapshot")
        regions = trace.baseline_from_final(late)
    return trace, regions


@app.command()
def stats(
    logs: List[str] = LogsArg,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    strict: bool = StrictOpt,
    progress: bool = ProgressOpt,
) -> None:
    """Account for every line of the logs and count the syscalls."""
    from .trace import count_events

    with _progress(progress) as on_lines:
        result = count_events(logs, strict=strict, on_lines=on_lines)
    if as_json:
        # ASCII JSON: valid UTF-8 whatever the trace held (undecodable bytes, C1 controls escaped)
        _out(json.dumps(result, indent=2, ensure_ascii=True))
    else:
        from .reporters.tables import stats_tables

        stats_tables(_real(stdout), result)
    for issue in result["error_details"][:10]:
        err = TraceParseError(issue["file"], issue["line"], issue["column"], issue["text"], issue["reason"])
        stderr.print(f"[red]line error:[/] {cell(err)}")
    if result["errors"] > 10:
        stderr.print(f"... and {result['errors'] - 10} more line errors (all counted above)")


@app.command()
def parse(
    logs: List[str] = LogsArg,
    output: Path = typer.Option(..., "-o", "--output", help="Output file: .parquet, .csv or .jsonl."),
    strict: bool = StrictOpt,
    progress: bool = ProgressOpt,
) -> None:
    """Write the events as a table (Parquet, CSV or JSON Lines, by the output's suffix)."""
    from .parse.files import iter_batches
    from .parse.source import expand
    from .reporters.export import check_writable, output_format, write_batches, write_events
    from .trace import read_trace

    check_writable(output, [s.path for s in expand(logs)])
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
    _print_errors(report)
    skipped = sum(report.skipped.values())
    stderr.print(
        f"{rows:,} events written to {cell(output)} ({report.lines:,} lines: "
        f"{report.parsed:,} in events, {skipped:,} skipped, {len(report.errors):,} errors)"
    )


@app.command()
def timeline(
    logs: List[str] = LogsArg,
    output: Path = typer.Option(..., "-o", "--output", help="Output file: .parquet or .csv."),
    baseline: Optional[Path] = BaselineOpt,
    final: Optional[Path] = FinalOpt,
    overcommit: str = OvercommitOpt,
    uncharge_unfaulted: bool = UnchargeOpt,
    progress: bool = ProgressOpt,
) -> None:
    """Write the address-space timeline: one row per change, with each space's totals after it."""
    from .parse.source import expand
    from .reporters.export import check_writable, output_format, write_table

    check_writable(output, [s.path for s in expand(logs)] + _snapshots(baseline, final))
    if output_format(output) == "jsonl":
        raise UsageError(f"{output}: the timeline is written as .parquet or .csv")
    options = _kernel(overcommit, uncharge_unfaulted)
    with _long(progress):
        trace, regions = _load(logs, baseline, final)
        df = trace.timeline(regions, **options)
        stage(f"writing {output}")
        write_table(df, output)
    stderr.print(f"{len(df):,} changes written to {cell(output)}")


@app.command()
def maps(
    logs: List[str] = LogsArg,
    pid: Optional[int] = typer.Option(None, "--pid", help="Process (as the log names it); default: the first traced."),
    roles: bool = typer.Option(False, "--roles", help="Add each region's role."),
    baseline: Optional[Path] = BaselineOpt,
    final: Optional[Path] = FinalOpt,
    overcommit: str = OvercommitOpt,
    uncharge_unfaulted: bool = UnchargeOpt,
    progress: bool = ProgressOpt,
) -> None:
    """Print the reconstructed final mappings of a process in /proc/PID/maps format."""
    from .reporters.maps import format_maps

    options = _kernel(overcommit, uncharge_unfaulted)
    with _long(progress):
        trace, regions = _load(logs, baseline, final)
        stage("replaying")
        space = trace.address_space(pid, baseline=regions, **options)
    _out(format_maps(space, roles=roles), end="")


@app.command()
def summary(
    logs: List[str] = LogsArg,
    baseline: Optional[Path] = BaselineOpt,
    final: Optional[Path] = FinalOpt,
    top: int = typer.Option(8, "--top", help="How many of the largest regions to list per process."),
    processes: int = typer.Option(20, "--processes", help="How many processes to list (largest VSZ first)."),
    phase: Optional[List[str]] = PhaseOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the whole summary as one JSON object "
                                 "(every process; keys in the README)."),
    overcommit: str = OvercommitOpt,
    uncharge_unfaulted: bool = UnchargeOpt,
    progress: bool = ProgressOpt,
) -> None:
    """Per process: VSZ, reserved, committed, file, shared, released, peak VSZ, largest regions
    (the three largest processes)."""
    from .reporters.tables import summary_tables

    if top < 0 or processes < 0:
        raise UsageError("--top and --processes take a number of 0 or more")
    options = _kernel(overcommit, uncharge_unfaulted)
    with _long(progress):
        trace, regions = _load(logs, baseline, final)
        result = trace.summary(regions, phases=phase or (), top=top, **options)
    if as_json:
        _out(result.to_json())
        return
    # one zero for the summary's peak times, the phases and the chart: the trace's first event
    summary_tables(_real(stdout), result, processes=processes, t0=trace.start_time())


@app.command()
def plot(
    logs: List[str] = LogsArg,
    output: Path = typer.Option(..., "-o", "--output", help="Chart file: .png, .svg or .pdf."),
    phase: Optional[List[str]] = PhaseOpt,
    pid: Optional[List[int]] = typer.Option(None, "--pid", help="Only the process with this task (as the log "
                                            "names it; a thread's pid picks its process); repeat for several."),
    process: Optional[str] = typer.Option(None, "--process", help="Only processes that ran this program "
                                          "(name, path or glob such as 'python*')."),
    processes: int = typer.Option(4, "--processes", min=1, max=24,
                                  help="Without --pid/--process: chart the N largest processes by peak VSZ."),
    log: bool = typer.Option(False, "--log", help="Logarithmic byte axis."),
    panels: str = typer.Option("", "--panels", help="Extra panels, comma-separated: map_count, released."),
    baseline: Optional[Path] = BaselineOpt,
    final: Optional[Path] = FinalOpt,
    progress: bool = ProgressOpt,
) -> None:
    """Chart VSZ over time: committed, reserved, file-backed and other bytes stacked (they add up
    to VSZ), phases shaded, one panel per process on one time axis."""
    from .parse.source import expand
    from .reporters.export import check_writable
    from .reporters.plot import chart_format, save

    chosen = tuple(p.strip() for p in panels.split(",") if p.strip())
    bad = [p for p in chosen if p not in ("map_count", "released")]
    if bad:
        raise UsageError(f"--panels {','.join(bad)}: choose from map_count, released")
    check_writable(output, [s.path for s in expand(logs)] + _snapshots(baseline, final))
    chart_format(output)
    with _long(progress):
        trace, regions = _load(logs, baseline, final)
        fig = trace.plot(phases=phase or (), pid=pid or None, process=process, log=log, panels=chosen,
                         baseline=regions, limit=processes)
        stage(f"writing {output}")
        save(fig, output)
    stderr.print(f"chart written to {cell(output)}")


@app.command()
def phases(
    logs: List[str] = LogsArg,
    phase: Optional[List[str]] = PhaseOpt,
    pid: Optional[List[int]] = typer.Option(None, "--pid", help="Only the process with this task (as the log "
                                            "names it; a thread's pid picks its process); repeat for several."),
    process: Optional[str] = typer.Option(None, "--process", help="Only processes that ran this program "
                                          "(name, path or glob such as 'python*')."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    progress: bool = ProgressOpt,
) -> None:
    """List the startup phases of each program run (they restart at each execve) with start, end
    and VSZ/reserved/committed deltas."""
    from .reporters.tables import phases_table

    with _long(progress):
        trace, _ = _load(logs, None)
        found, notes = trace.phases(phase or (), pids=pid or None, process=process)
    if as_json:
        _out(json.dumps({"phases": [p.__dict__ for p in found], "notes": notes}, indent=2))
        return
    # one zero for the table, the chart and --phase NAME=SECONDS: the trace's first event
    phases_table(_real(stdout), found, trace.start_time())
    for note in notes:
        stderr.print(f"note: {cell(note)}")


@app.command()
def diff(
    before: str = typer.Argument(..., help="The earlier run: a log, a glob, or a directory holding a -ff set."),
    after: str = typer.Argument(..., help="The later run, the same way."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Also write the overlay chart: "
                                          ".png, .svg or .pdf."),
    fail_on: Optional[List[str]] = typer.Option(None, "--fail-on", help="A threshold, e.g. committed>+10%, "
                                                "vsz>+256MiB, runtime-init:reserved>+5%, "
                                                "'role:glibc malloc arena:committed>+32MiB', map_count>+50; "
                                                "repeatable. Exit code 1 when one is crossed."),
    process: Optional[str] = typer.Option(None, "--process", help="Compare one process of each run: a program "
                                          "name, path or glob, or a pid (of that run)."),
    align: str = typer.Option("exec", "--align", help="The chart's zero: the start of this phase in each run."),
    top: int = typer.Option(10, "--top", help="Rows of the role, process and mapping tables."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as one JSON object (keys in the README)."),
    overcommit: str = OvercommitOpt,
    uncharge_unfaulted: bool = UnchargeOpt,
    progress: bool = ProgressOpt,
) -> None:
    """Compare two runs: what changed in the address space, in which phase and region role, per
    process (matched by program and argv, not pid); --fail-on gates CI on it."""
    from .compare import check_gates, compare_runs, load_run, parse_gate, side_paths
    from .parse.source import expand

    if top < 0:
        raise UsageError("--top takes a number of 0 or more")
    gates = [parse_gate(g) for g in fail_on or ()]
    options = _kernel(overcommit, uncharge_unfaulted)
    if output is not None:
        from .reporters.export import check_writable
        from .reporters.plot import chart_format

        chart_format(output)
        inputs = [src.path for side in (before, after) for src in expand(side_paths(side))]
        check_writable(output, inputs)
    with _long(progress):
        runs = []
        for label, side in (("before", before), ("after", after)):
            stage(f"reading the {label} run")
            run = load_run(side, label, process=process, **options)
            _print_errors(run.trace.report)
            for note in run.trace.report.notes:
                stderr.print(f"note ({label}): {cell(note)}")
            runs.append(run)
        stage("comparing")
        result = compare_runs(runs[0], runs[1])
        crossed = [line for line in check_gates(result, gates)]
        if output is not None:
            from .reporters.diffplot import diff_figure
            from .reporters.plot import save

            stage(f"writing {output}")
            save(diff_figure(result, align=align), output)
    if as_json:
        data = result.to_dict()
        data["gates"] = [{"expression": g.text, "crossed": g.check(result) is not None} for g in gates]
        _out(json.dumps(data, indent=2, ensure_ascii=True))
    else:
        from .reporters.difftables import diff_tables

        diff_tables(_real(stdout), result, top=top)
    if output is not None:
        stderr.print(f"chart written to {cell(output)}")
    for line in crossed:
        stderr.print(f"[bold red]threshold crossed:[/] {cell(line)}")
    if gates and not crossed:
        stderr.print(f"{len(gates)} threshold(s) hold")
    if crossed:
        raise typer.Exit(1)


@app.command()
def report(
    logs: List[str] = LogsArg,
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Report file: .html (one self-contained "
                                          "file) or .md (charts written beside it as SVG). Default: the verdict "
                                          "and the key tables on the terminal."),
    baseline_run: Optional[List[str]] = typer.Option(None, "--baseline", help="The trace of an earlier run to "
                                                     "compare with (a log, a glob or a -ff directory; repeat "
                                                     "for several files of one run)."),
    pid: Optional[List[int]] = typer.Option(None, "--pid", help="Only the process with this task (as the log "
                                            "names it; a thread's pid picks its process); repeat for several."),
    process: Optional[str] = typer.Option(None, "--process", help="Only processes that ran this program "
                                          "(name, path or glob such as 'python*')."),
    phase: Optional[List[str]] = PhaseOpt,
    top: int = typer.Option(12, "--top", help="Rows of the region, process and other tables."),
    baseline: Optional[Path] = BaselineOpt,
    final: Optional[Path] = FinalOpt,
    overcommit: str = OvercommitOpt,
    uncharge_unfaulted: bool = UnchargeOpt,
    progress: bool = ProgressOpt,
) -> None:
    """A postmortem report: the verdict in plain words (what is reserved, committed, and what would
    change it, with the trace lines behind each claim), the VSZ chart and phases, the largest
    regions, madvise and failed calls, the processes, and the parse accounting."""
    from .parse.source import expand
    from .reporters.report import build_report, print_report, report_format, write_html, write_markdown

    if top < 1:
        raise UsageError("--top takes a number of 1 or more")
    options = _kernel(overcommit, uncharge_unfaulted)
    kind = None
    written: list[Path] = []
    if output is not None:
        from .reporters.export import check_writable

        kind = report_format(output)
        inputs = [s.path for s in expand(logs)] + _snapshots(baseline, final)
        if baseline_run:
            from .compare import side_paths

            inputs += [s.path for side in baseline_run for s in expand(side_paths(side))]
        check_writable(output, inputs)
    with _long(progress):
        trace, regions = _load(logs, baseline, final)
        stage("replaying")
        r = trace.replayer(regions, **options)
        from .summary import summarize

        result = summarize(trace, regions, phases=phase or (), replayer=r)
        comparison = None
        if baseline_run:
            from .compare import compare_runs, load_run

            stage("reading the baseline run")
            before = load_run(list(baseline_run), "before",
                              process=process, **options)
            _print_errors(before.trace.report)
            after = load_run(trace, "after", process=process, **options)
            stage("comparing")
            comparison = compare_runs(before, after)
        stage("writing the report")
        rep = build_report(trace, result, baseline=regions, phases=phase or (), pids=pid or None, process=process,
                           replayer=r, comparison=comparison, top=top, charts=output is not None)
        if output is not None and kind == "html":
            write_html(rep, output)
        elif output is not None:
            written = write_markdown(rep, output)
    if output is None:
        print_report(rep, _real(stdout))
        return
    print_report(rep, _real(stdout), sections=("verdict",))
    if kind == "md":
        stderr.print(f"report written to {cell(output)} (charts: {', '.join(cell(p.name) for p in written[1:])})")
    else:
        stderr.print(f"report written to {cell(output)}")

@app.command(context_settings={"allow_interspersed_args": False})
def record(
    command: Optional[List[str]] = typer.Argument(None, help="The command to run and trace (after --)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="The trace file (default "
                                          "tracemem-PROG-PID.trace); snapshots go to FILE.maps/."),
    pid: Optional[int] = typer.Option(None, "-p", "--pid", help="Attach to this running process (all its "
                                      "threads) instead of running a command."),
    duration: Optional[float] = typer.Option(None, "--duration", help="With -p: stop after this many seconds "
                                             "(default: Ctrl-C or the process's exit)."),
) -> None:
    """Record a trace with strace (the flags of "Capture a trace"), with each process's
    /proc/PID/smaps snapshotted right after its execs (or at the attach) beside it: the commands
    that read the trace then show VSZ, not traced VSZ. The exit status is the command's."""
    from . import record as rec

    def message(text: str) -> None:
        stderr.print(cell(text))

    if pid is not None:
        if command:
            raise UsageError("record: give -p PID or a command, not both")

        def attached(p: int, out: Path) -> None:
            until = f"for {duration:g} s" if duration is not None else "until Ctrl-C or its exit"
            stderr.print(f"tracemem: attached to process {p}, tracing {until}; trace: {cell(out)}")

        try:
            result = rec.attach(pid, output, duration=duration, on_start=attached, on_message=message)
        except KeyboardInterrupt:  # before the attach was done; strace is stopped
            raise typer.Exit(130) from None
        stderr.print(f"detached from process {result.pid} ({result.stopped}): trace written to {cell(result.output)}, "
                     f"{len(result.snapshots)} snapshot(s) in {cell(result.maps_dir)}")
        for note in result.notes:
            stderr.print(f"note: {cell(note)}")
        return
    if duration is not None:
        raise UsageError("--duration goes with -p PID (a command is traced until it ends)")

    def started(p: int, out: Path) -> None:
        stderr.print(f"tracemem: tracing {cell(' '.join(command or []))} (pid {p}) to {cell(out)}")

    try:
        result = rec.record(command or [], output, on_start=started, on_message=message)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    stderr.print(f"tracemem: trace written to {cell(result.output)}, {len(result.snapshots)} snapshot(s) in "
                 f"{cell(result.maps_dir)}; the command exited with {result.exit_code}")
    for note in result.notes:
        stderr.print(f"note: {cell(note)}")
    raise typer.Exit(result.exit_code or 0)


@app.command()
def batch(
    inputs: List[str] = typer.Argument(..., help="Traces: files, directories (scanned: each file a trace, a -ff "
                                       "set PREFIX.PID one) or globs."),
    output: Path = typer.Option(..., "-o", "--output", help="The dataset's directory (hive-partitioned Parquet)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes of the local pool (default: the cores)."),
    label: Optional[List[str]] = typer.Option(None, "--label", help="KEY=REGEX: a column KEY, the first group of "
                                              "REGEX in the path, e.g. host=hosts/([^/]+)/; repeatable."),
    events: bool = typer.Option(False, "--events", help="Also the events and timeline tables."),
    force: bool = typer.Option(False, "--force", help="Redo the traces already done."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Run on a Dask cluster: tcp://HOST:PORT "
                                            "(its workers must see the inputs and the output)."),
    progress: bool = ProgressOpt,
) -> None:
    """Analyse many traces (a fleet, a history of runs) into a Parquet dataset: tables traces,
    processes, phases, roles (events, timeline with --events), for pandas, pyarrow or DuckDB.
    Exit code 1 when some trace failed (each is in the traces table with its error)."""
    from .batch import batch as run_batch

    result = run_batch(inputs, output, workers=workers, labels=label or (), events=events, force=force,
                       scheduler=scheduler, progress=None if progress else False)
    stderr.print(f"{len(result.done)} trace(s) analysed, {len(result.skipped)} skipped (done before), "
                 f"{len(result.failed)} failed; dataset in {cell(output)}")
    for name in result.failed:
        stderr.print(f"[bold red]failed:[/] {cell(name)}: {cell(result.errors[name])}")
    if result.failed:
        raise typer.Exit(1)


@app.command()
def fleet(
    dataset: Path = typer.Argument(..., help="A dataset written by tracemem batch (its -o folder)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Also write the chart (.png, .svg, .pdf) "
                                          "or the report (.html: one file; .md: charts as SVG beside it)."),
    by: Optional[str] = typer.Option(None, "--by", help="A label that orders the runs (version, date, build "
                                     "number): adds the trend over it, in natural order (1.9 < 1.10)."),
    metric: str = typer.Option("vsz", "--metric", help="vsz, reserved or committed: the figure shown "
                               "(--json has all three)."),
    group: str = typer.Option("exe", "--group", help="Compare traces within groups: exe (the program they run), "
                              "a label, or none (all together)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole result as one JSON object."),
) -> None:
    """Fleet questions over a batch dataset: VSZ, reserved and committed at the end of each phase
    across traces (median, quartiles), the outliers named with their labels, and the trend over
    a label (--by). Each trace counts by its root process."""
    from .fleet import fleet as run_fleet
    from .reporters.fleetplot import check_metric

    check_metric(metric)
    kind = None
    if output is not None:
        from .reporters.export import check_writable
        from .reporters.plot import chart_format
        from .reporters.report import report_format

        suffix = output.suffix.lower()
        if suffix in (".png", ".svg", ".pdf"):
            kind = chart_format(output) and "chart"
        elif suffix in (".html", ".htm", ".md", ".markdown"):
            kind = report_format(output)
        else:
            raise UsageError(f"{cell(output)}: unknown output format {cell(suffix or '(no suffix)')!r}; use .png, "
                             ".svg or .pdf (the chart), .html or .md (the report)")
        check_writable(output)
    result = run_fleet(dataset, by=by, group=None if group == "none" else group)
    written: list[Path] = []
    if output is not None:
        from .reporters.fleetplot import fleet_report

        if kind == "chart":
            from .reporters.plot import save

            save(result.figure(metric), output)
            written = [output]
        elif kind == "html":
            from .reporters.report import write_html

            write_html(fleet_report(result, metric), output)
            written = [output]
        else:
            from .reporters.report import write_markdown

            written = write_markdown(fleet_report(result, metric), output)
    if as_json:
        _out(result.to_json())
    else:
        from .reporters.fleetplot import fleet_report
        from .reporters.report import print_report

        print_report(fleet_report(result, metric, charts=False), _real(stdout), top=10_000,
                     sections=("overview", "distributions", "outliers", "trend", "failed"))
    if written:
        what = "chart" if kind == "chart" else "report"
        extra = f" (charts: {', '.join(cell(p.name) for p in written[1:])})" if len(written) > 1 else ""
        stderr.print(f"{what} written to {cell(output)}{extra}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with ``argv`` (default: sys.argv[1:]) and return its exit code:
    0 done, 1 a line error with --strict, 2 an input, output or usage problem (README)."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="tracemem")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def run() -> None:
    """The console script: exit with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
