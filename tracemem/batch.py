"""Many traces at once (issue 17, first part): ``tracemem batch`` and :func:`batch`.

Each trace (a file, a ``-ff`` set, or a trace recorded by ``tracemem record`` with its
``FILE.maps`` beside it) is one task: read, replay, summarise, phases, per-role totals. The
tasks run on a local process pool by default (one parsing process a task: never a pool inside a
pool) or, with ``scheduler``, on a Dask distributed cluster. Each task writes its own partitions
of a hive-partitioned Parquet dataset::

    OUT/traces/trace=NAME/part-0.parquet      one row a trace: path, lines, events, status, error
    OUT/processes/trace=NAME/part-0.parquet   RunSummary.frame()
    OUT/phases/trace=NAME/part-0.parquet      RunSummary.phases_frame()
    OUT/roles/trace=NAME/part-0.parquet       RunSummary.roles_frame()
    OUT/events/..., OUT/timeline/...          with events=True: the event table, the timeline

Every row carries the labels (``KEY=REGEX``: the first group of REGEX searched in the trace's
path); the trace's name is the ``trace`` partition column. A partition's bytes depend only on
its trace (no time, no host, no order of completion), so a serial run, the pool and a Dask
cluster write identical files. The ``traces`` partition is written last, once the others are in
place: it marks the trace done, and a re-run skips it unless ``force``. A trace that fails is
recorded in the ``traces`` table with ``status="failed"`` and its error; the run goes on.
"""

from __future__ import annotations

import glob as _glob
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from .errors import InputError, OutputError, TracememError, UsageError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

#: The tables every run writes, and those ``events=True`` adds.
TABLES = ("traces", "processes", "phases", "roles")
EVENT_TABLES = ("events", "timeline")

#: Names a label may not take (the partition column and the columns of the tables).
RESERVED = frozenset({
    "trace", "path", "files", "lines", "parsed", "events", "errors", "processes", "status", "error",
    "asid", "exe", "vsz", "reserved", "committed", "file", "shared", "released", "map_count",
    "peak_vsz", "peak_seq", "peak_time", "ended", "role", "regions", "name", "start_seq", "end_seq",
    "start_time", "end_time", "evidence", "source", "seq", "time", "pid", "syscall", "start", "end",
})

#: Files a directory scan passes over (not traces): documentation, data, pictures, scripts.
_NOT_TRACES = (".md", ".rst", ".json", ".parquet", ".png", ".svg", ".pdf", ".html", ".sh", ".py", ".tar.gz",
               ".tgz", ".tar", ".zip", ".maps", ".csv")
_FF = re.compile(r"^(?P<prefix>.+)\.(?P<pid>\d+)(?:\.(?:gz|xz|zst|bz2))?$")  # a -ff file, compressed or not
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
PART = "part-0.parquet"


@dataclass(frozen=True)
class Label:
    """``KEY=REGEX``: the column KEY holds the first group of REGEX searched in the path (the
    whole match when REGEX has no group; null when it does not match)."""

    key: str
    pattern: "re.Pattern[str]"

    @classmethod
    def parse(cls, text: str) -> "Label":
        key, sep, regex = text.partition("=")
        key = key.strip()
        if not sep or not key or not regex:
            raise UsageError(f"--label {text!r}: give KEY=REGEX, e.g. host=hosts/([^/]+)/")
        if not key.isidentifier() or key in RESERVED:
            raise UsageError(f"--label {text!r}: KEY must be a name (letters, digits, _) other than a "
                             f"column of the tables ({key!r} is not)")
        try:
            pattern = re.compile(regex)
        except re.error as exc:
            raise UsageError(f"--label {text!r}: bad regular expression ({exc})") from None
        return cls(key, pattern)

    def value(self, path: str) -> str | None:
        m = self.pattern.search(path)
        if m is None:
            return None
        return m.group(1) if m.re.groups else m.group(0)


@dataclass(frozen=True)
class TraceInput:
    """One task: the trace's name (its partition), its files, the path it was given as."""

    name: str
    paths: tuple[str, ...]
    path: str


@dataclass
class BatchResult:
    """What a :func:`batch` run did, and the tables it wrote (read back on demand)."""

    output_dir: Path
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def table(self, name: str) -> "pd.DataFrame":
        """One table of the dataset (every trace in it, this run's and earlier ones)."""
        return read_table(self.output_dir, name)

    @property
    def traces(self) -> "pd.DataFrame":
        return self.table("traces")

    @property
    def processes(self) -> "pd.DataFrame":
        return self.table("processes")

    @property
    def phases(self) -> "pd.DataFrame":
        return self.table("phases")

    @property
    def roles(self) -> "pd.DataFrame":
        return self.table("roles")


def read_table(output_dir: str | os.PathLike[str], name: str) -> "pd.DataFrame":
    """A table of a batch dataset as a DataFrame, ``trace`` (the partition) as a string column,
    rows in a fixed order (by trace, then as the trace gave them)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds

    folder = Path(output_dir) / name
    if not folder.is_dir() or not any(folder.glob(f"trace=*/{PART}")):
        return pd.DataFrame({"trace": pd.Series([], dtype="string")})
    part = ds.partitioning(pa.schema([("trace", pa.string())]), flavor="hive")
    files = sorted(str(p) for p in folder.glob(f"trace=*/{PART}"))
    dataset = ds.dataset(files, format="parquet", partitioning=part, partition_base_dir=str(folder))
    ints = {pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype(), pa.bool_(): pd.BooleanDtype()}
    df = dataset.to_table().to_pandas(types_mapper=ints.get)
    cols = ["trace", *[c for c in df.columns if c != "trace"]]
    ordered: "pd.DataFrame" = df[cols].sort_values("trace", kind="stable").reset_index(drop=True)
    return ordered


# -- inputs -----------------------------------------------------------------------------------

def _sets(folder: str, names: Iterable[str], join: Callable[[str, str], str]) -> list[tuple[str, ...]]:
    """The traces among the file names of one folder, in name order: each file, the files of a
    ``-ff`` set (PREFIX.PID) as one; hidden files and files that are not traces passed over."""
    sets: dict[str, list[str]] = {}
    for n in sorted(names):
        if n.startswith(".") or n.lower().endswith(_NOT_TRACES):
            continue
        m = _FF.match(n)
        sets.setdefault(m.group("prefix") if m else n, []).append(join(folder, n))
    return [tuple(v) for _, v in sorted(sets.items())]


def _scan(folder: str, output_dir: Path | None) -> list[tuple[str, ...]]:
    """The traces under a directory (:func:`_sets` of each folder), passing over hidden
    folders, ``FILE.maps`` snapshot folders and the output directory."""
    out: list[tuple[str, ...]] = []
    skip = output_dir.resolve() if output_dir is not None else None
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not d.endswith(".maps")
                         and (skip is None or Path(root, d).resolve() != skip))
        out.extend(_sets(root, files, os.path.join))
    return out


def _scan_url(url: str) -> list[tuple[str, ...]]:
    """:func:`_scan` of an fsspec URL: a folder of a store (s3://bucket/runs/), or a glob in one."""
    from .parse.source import url_fs

    fs, path = url_fs(url)
    try:
        if any(ch in path for ch in "*?["):
            hits = sorted(fs.glob(path))
            files = [h for h in hits if not fs.isdir(h)]
            for d in (h for h in hits if fs.isdir(h)):
                files.extend(fs.find(d))
        elif fs.isdir(path):
            files = list(fs.find(path))
        elif fs.exists(path):
            files = [path]
        else:
            raise InputError(f"{url}: no such file or folder")
    except OSError as exc:
        raise InputError(f"{url}: cannot list ({exc})") from None
    by_folder: dict[str, list[str]] = {}
    for f in files:
        folder, _, n = f.rpartition("/")
        if not any(part.startswith(".") or part.endswith(".maps") for part in folder.split("/")):
            by_folder.setdefault(folder, []).append(n)
    return [s for folder in sorted(by_folder)
            for s in _sets(folder, by_folder[folder], lambda d, n: fs.unstrip_protocol(f"{d}/{n}"))]


def discover(inputs: Iterable[str | os.PathLike[str] | Sequence[str | os.PathLike[str]]],
             output_dir: str | os.PathLike[str] | None = None) -> list[TraceInput]:
    """The traces of the inputs: a file, a directory (scanned, see :func:`_scan`), a glob (each
    match the same way), or a sequence of files (one ``-ff`` set). Each gets a name, the
    shortest tail of its path unique among them (``/`` as ``.``, only ``[A-Za-z0-9._-]``)."""
    out_dir = Path(output_dir) if output_dir is not None else None
    found: list[tuple[str, ...]] = []
    for item in inputs:
        if not isinstance(item, (str, os.PathLike)):
            files = tuple(os.fspath(p) for p in item)
            if not files:
                raise InputError("an empty set of trace files")
            for f in files:
                if not os.path.isfile(f):
                    raise InputError(f"{f}: no such trace file")
            found.append(files)
            continue
        text = os.fspath(item)
        from .parse.source import is_url

        if is_url(text):
            found.extend(_scan_url(text))
            continue
        matches = [text] if os.path.exists(text) else sorted(_glob.glob(text, recursive=True))
        if not matches:
            raise InputError(f"{text}: no such file or directory (nor a glob that matches one)")
        for m in matches:
            if os.path.isdir(m):
                found.extend(_scan(m, out_dir))
            elif not m.endswith(".maps"):
                found.append((m,))
    unique = list(dict.fromkeys(found))
    if not unique:
        raise InputError("no trace file in the inputs")
    return _named(unique)


def _named(sets: list[tuple[str, ...]]) -> list[TraceInput]:
    def parts(files: tuple[str, ...]) -> list[str]:
        from .parse.source import is_url

        first = files[0].split("://", 1)[1] if is_url(files[0]) else os.path.abspath(files[0])
        if len(files) > 1:  # a -ff set: PREFIX of PREFIX.PID
            m = _FF.match(os.path.basename(first))
            first = os.path.join(os.path.dirname(first), m.group("prefix") if m else os.path.basename(first))
        return [p for p in Path(first).parts if p not in ("/", "")]

    paths = [parts(s) for s in sets]
    depth = {i: 1 for i in range(len(sets))}
    while True:
        names = {i: _SAFE.sub("_", ".".join(paths[i][-depth[i]:])) for i in depth}
        seen: dict[str, list[int]] = {}
        for i, n in names.items():
            seen.setdefault(n, []).append(i)
        clash = [i for group in seen.values() if len(group) > 1 for i in group
                 if depth[i] < len(paths[i])]
        if not clash:
            break
        for i in clash:
            depth[i] += 1
    dupes = [n for n, group in seen.items() if len(group) > 1]
    if dupes:
        raise InputError(f"two inputs give the same trace name {dupes[0]!r}")
    return [TraceInput(names[i], s, s[0] if len(s) == 1 else s[0].rpartition("/")[0] or ".")
            for i, s in enumerate(sets)]


# -- one task ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Task:
    trace: TraceInput
    labels: tuple[tuple[str, str | None], ...]
    output_dir: str
    events: bool


def _arrow(df: "pd.DataFrame", labels: Sequence[tuple[str, str | None]]) -> "pa.Table":
    """A frame as an Arrow table with the labels appended; categories and untyped columns as
    strings, so that every partition of a table has one schema."""
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_null(t) or pa.types.is_large_string(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    table = table.cast(pa.schema(fields), safe=False).replace_schema_metadata(None)
    for key, value in labels:
        table = table.append_column(pa.field(key, pa.string()), pa.array([value] * table.num_rows, pa.string()))
    return table


def _partition(output_dir: str, table: str, name: str) -> Path:
    return Path(output_dir) / table / f"trace={name}"


def _write(table: "pa.Table", output_dir: str, name: str, trace: str) -> None:
    """Write one partition atomically (a temporary file renamed): a reader never sees half."""
    import pyarrow.parquet as pq

    folder = _partition(output_dir, name, trace)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{PART}.tmp{os.getpid()}"
    pq.write_table(table, tmp, compression="zstd", write_statistics=True)
    os.replace(tmp, folder / PART)


def _traces_row(task: _Task, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"path": task.trace.path, "files": len(task.trace.paths), "lines": None, "parsed": None,
                           "events": None, "errors": None, "processes": None, "status": "failed", "error": None}
    row.update(values)
    return row


TRACES_SCHEMA = (("path", "string"), ("files", "int64"), ("lines", "int64"), ("parsed", "int64"),
                 ("events", "int64"), ("errors", "int64"), ("processes", "int64"), ("status", "string"),
                 ("error", "string"))


def _run_task(task: _Task) -> dict[str, Any]:
    """Analyse one trace and write its data partitions; return its ``traces`` row (the caller
    writes it, last). Any failure is the row's error, never an exception."""
    name = task.trace.name
    written: list[str] = []
    try:
        from .record import load_recorded_baselines
        from .summary import summarize
        from .trace import MODEL_SYSCALLS, read_trace

        paths = list(task.trace.paths)
        baseline = load_recorded_baselines(paths[0]) if len(paths) == 1 else None
        trace = read_trace(paths, only=MODEL_SYSCALLS, workers=1)
        r = trace.replayer(baseline)
        summary = summarize(trace, baseline, replayer=r)
        frames: dict[str, "pd.DataFrame"] = {"processes": summary.frame(), "phases": summary.phases_frame(),
                                            "roles": summary.roles_frame()}
        if task.events:
            frames["events"] = trace.df
            frames["timeline"] = r.frame()
        for table, df in frames.items():
            _write(_arrow(df, task.labels), task.output_dir, table, name)
            written.append(table)
        rep = trace.report
        return _traces_row(task, lines=rep.lines, parsed=rep.parsed, events=rep.events, errors=len(rep.errors),
                           processes=len(summary.processes), status="ok")
    except (TracememError, Exception) as exc:  # noqa: BLE001 - a failed trace is a row, the run goes on
        for table in written:
            shutil.rmtree(_partition(task.output_dir, table, name), ignore_errors=True)
        text = str(exc) if isinstance(exc, TracememError) else f"{type(exc).__name__}: {exc}"
        return _traces_row(task, error=text)


def _write_traces(task: _Task, row: Mapping[str, Any]) -> None:
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64()}
    schema = pa.schema([pa.field(k, types[t]) for k, t in TRACES_SCHEMA]
                       + [pa.field(k, pa.string()) for k, _ in task.labels])
    values = {**row, **dict(task.labels)}
    _write(pa.Table.from_pylist([values], schema=schema), task.output_dir, "traces", task.trace.name)


# -- the run ----------------------------------------------------------------------------------

def _done(output_dir: Path, name: str) -> bool:
    """Whether a trace was analysed before (its traces partition says ok; a failed one is tried again)."""
    part = _partition(str(output_dir), "traces", name) / PART
    if not part.is_file():
        return False
    import pyarrow.parquet as pq

    try:
        return bool(pq.read_table(part, columns=["status"]).column("status").to_pylist() == ["ok"])
    except (OSError, ValueError, KeyError):
        return False


def _clear(output_dir: Path, name: str) -> None:
    for table in (*TABLES, *EVENT_TABLES):
        shutil.rmtree(_partition(str(output_dir), table, name), ignore_errors=True)


def _warm() -> None:
    """Import the modules a task uses and build the parser's expressions in this process (a
    pool's workers are forked from it on Linux: each would otherwise pay ~0.3 s of imports)."""
    import pyarrow.parquet  # noqa: F401
    from . import record, summary, trace  # noqa: F401
    from .parse.patterns import block_patterns

    block_patterns().compile_all()


def _local(tasks: list[_Task], workers: int) -> Iterator[tuple[_Task, dict[str, Any]]]:
    if workers <= 1:
        for t in tasks:
            yield t, _run_task(t)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    _warm()  # what every task imports and builds, once here: forked workers inherit it
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_run_task, t): t for t in tasks}
        for fut in as_completed(futures):
            t = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker that died (BrokenProcessPool, MemoryError)
                row = _traces_row(t, error=f"the worker failed: {type(exc).__name__}: {exc}")
            yield t, row


def _dask(tasks: list[_Task], scheduler: Any) -> Iterator[tuple[_Task, dict[str, Any]]]:
    import importlib

    try:  # (Any: typed the same with or without the optional dask extra installed)
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise UsageError("--scheduler needs dask and distributed: pip install 'dask[distributed]'") from None
    Client, as_completed = distributed.Client, distributed.as_completed
    client = scheduler if isinstance(scheduler, Client) else None
    try:
        if client is None:
            try:
                client = Client(scheduler, timeout=30)
            except (OSError, TimeoutError) as exc:
                raise UsageError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        futures = {client.submit(_run_task, t, pure=False, key=f"tracemem-{t.trace.name}-{id(t)}"): t
                   for t in tasks}
        for fut in as_completed(list(futures)):
            t = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker: the trace failed, the run goes on
                row = _traces_row(t, error=f"the worker failed: {type(exc).__name__}: {exc}")
            yield t, row
    finally:
        if client is not None and client is not scheduler:
            client.close()


def batch(inputs: Iterable[str | os.PathLike[str] | Sequence[str | os.PathLike[str]]] | str | os.PathLike[str],
          output_dir: str | os.PathLike[str], *, workers: int | None = None, labels: Sequence[str | Label] = (),
          events: bool = False, force: bool = False, scheduler: Any = None, progress: bool | None = None,
          on_trace: Callable[[str, Mapping[str, Any]], None] | None = None) -> BatchResult:
    """Analyse every trace of ``inputs`` into the Parquet dataset ``output_dir`` (module doc).

    ``workers``: processes of the local pool (default: the cores, at most one a trace; 1 runs
    in this process). ``labels``: ``KEY=REGEX`` strings or :class:`Label`. ``events``: also the
    events and timeline tables. ``force``: redo the traces already done. ``scheduler``: a Dask
    scheduler address (``tcp://HOST:PORT``) or a ``distributed.Client``; its workers must see
    the input paths and ``output_dir`` (a shared filesystem). ``progress``: a bar over the
    traces on stderr (default: on a terminal only). ``on_trace(name, row)`` is called as each
    trace ends."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    parsed = [lab if isinstance(lab, Label) else Label.parse(lab) for lab in labels]
    keys = [lab.key for lab in parsed]
    if len(set(keys)) != len(keys):
        raise UsageError("--label: a KEY given twice")
    if workers is not None and workers < 1:
        raise UsageError("--workers takes a number of 1 or more")
    out = Path(output_dir)
    traces = discover(list(inputs), out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".tracemem-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the dataset there ({exc.strerror or exc})") from None
    result = BatchResult(out)
    tasks = []
    for t in traces:
        if not force and _done(out, t.name):
            result.skipped.append(t.name)
            continue
        _clear(out, t.name)
        tasks.append(_Task(t, tuple((lab.key, lab.value(t.path)) for lab in parsed), str(out), events))
    if scheduler is not None:
        runs = _dask(tasks, scheduler)
    else:
        n = workers if workers is not None else (os.cpu_count() or 1)
        runs = _local(tasks, max(1, min(n, len(tasks))))
    with _bar(len(tasks), progress) as advance:
        for task, row in runs:
            _write_traces(task, row)
            if row["status"] == "ok":
                result.done.append(task.trace.name)
            else:
                result.failed.append(task.trace.name)
                result.errors[task.trace.name] = str(row["error"])
            if on_trace is not None:
                on_trace(task.trace.name, row)
            advance(task.trace.name)
    result.done.sort()
    result.failed.sort()
    return result


class _NoBar:
    def __enter__(self) -> Callable[[str], None]:
        return lambda name: None

    def __exit__(self, *exc: object) -> None:
        return None


def _bar(total: int, enabled: bool | None) -> Any:
    """A transient bar over the traces on stderr, on a terminal only (tracemem.progress.wanted)."""
    from contextlib import contextmanager

    from rich.console import Console

    from .progress import wanted

    console = Console(file=sys.stderr)
    if total == 0 or not wanted(console, enabled):
        return _NoBar()

    @contextmanager
    def shown() -> Iterator[Callable[[str], None]]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("traces"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console, transient=True) as bar:
            task = bar.add_task("", total=total)
            yield lambda name: bar.update(task, advance=1, description=name)

    return shown()


class _Callable(ModuleType):
    """``import tracemem.batch; tracemem.batch(...)``: the module calls :func:`batch`."""

    def __call__(self, *args: Any, **kwargs: Any) -> BatchResult:
        return batch(*args, **kwargs)


sys.modules[__name__].__class__ = _Callable
