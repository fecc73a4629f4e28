"""Writing the events table (and the timeline) as Parquet, CSV or JSON Lines, chosen by the output
file's suffix; and checking an output path before any work is done."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from ..errors import OutputError, UsageError
from ..gcpause import gc_paused
from ..table import COLUMNS, Batch, empty_batch, events_frame, format_flags
from ..text import export_text, printable

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
BATCH = 100_000
#: CSV rows end in CR LF (RFC 4180): the csv writer then quotes a field holding a CR as well as
#: one holding a LF (with LF ends a bare CR in trace text was left unquoted, and readers split
#: the row there)
CSV_LINE_END = "\r\n"


def output_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(
            f"{path}: unknown output format {suffix or '(no suffix)'!r}; use .parquet, .csv or .jsonl"
        )
    return FORMATS[suffix]


def exportable(df: pd.DataFrame) -> pd.DataFrame:
    """The table with its text in the export form: a byte that is not UTF-8 (a surrogate escape in
    memory, where only object columns can hold one) written as \\xNN (tracemem.text.export_text),
    so every export is valid UTF-8. Columns of Arrow strings cannot hold such a byte: left alone."""
    out = df
    for name in df.columns:
        col = df[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            if col.cat.categories.dtype != object:
                continue
            values = col.astype(object)
        elif col.dtype == object:
            values = col
        else:
            continue
        if out is df:
            out = df.copy()
        out[name] = pd.Series([export_text(v) if isinstance(v, str) else v for v in values], index=df.index,
                              dtype=object)
    return out


def names_for_text(df: pd.DataFrame) -> pd.DataFrame:
    """Flag columns as names joined by "|" (PROT_READ|PROT_WRITE), for CSV and JSON."""
    out = df.copy()
    for column in ("prot", "advice", "flags"):
        values = df[column]
        if column == "flags":
            rendered = [format_flags(column, v, s) for v, s in zip(values, df["syscall"].astype(object))]
        elif column == "advice":
            rendered = [format_flags(column, v, None, p) for v, p in zip(values, df["platform"].astype(object))]
        else:
            rendered = [format_flags(column, v) for v in values]
        out[column] = pd.Series(rendered, dtype="string", index=df.index)
    return out


def write_events(frames: Iterable[Any], path: str | Path, schema_out: list[Any] | None = None) -> int:
    """Write event tables (batches of one table: DataFrames, or Arrow tables of the schema the
    first one was written with) to ``path``; returns the number of rows. ``schema_out`` is given
    that schema (Parquet) once the first table is written."""
    try:
        return _write_events(frames, path, schema_out)
    except OSError as exc:
        raise OutputError(f"{printable(str(path))}: cannot write ({exc.strerror or exc})") from None


def _write_events(frames: Iterable[Any], path: str | Path, schema_out: list[Any] | None = None) -> int:
    fmt = output_format(path)
    path = Path(path)
    rows = 0
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        schema = None
        # (opened here, not by Arrow: Arrow takes a path as a URI and refuses a name that is not
        # UTF-8, which Python keeps as surrogate escapes)
        sink = open(path, "wb")
        try:
            for frame in frames:
                if isinstance(frame, pa.Table):
                    table = frame
                else:
                    frame = exportable(frame).copy()
                    for column in ("file", "syscall", "errno", "state"):
                        frame[column] = frame[column].astype("string")
                    table = pa.Table.from_pandas(frame, preserve_index=False, schema=schema)
                if writer is None:
                    schema = table.schema
                    writer = pq.ParquetWriter(sink, schema, compression="zstd")
                    if schema_out is not None:
                        schema_out.append(schema)
                writer.write_table(table)
                rows += table.num_rows
            if writer is None:
                empty = events_frame(empty_batch())
                for column in ("file", "syscall", "errno", "state"):
                    empty[column] = empty[column].astype("string")
                pq.write_table(pa.Table.from_pandas(empty, preserve_index=False), sink)
        finally:
            if writer is not None:
                writer.close()
            sink.close()
        return rows
    with open(path, "w", encoding="utf-8", newline="") as fh:
        first = True
        for frame in frames:
            text = names_for_text(exportable(frame))
            if fmt == "csv":
                text.to_csv(fh, index=False, header=first, lineterminator=CSV_LINE_END)
            else:
                for record in text.to_dict(orient="records"):
                    fh.write(json.dumps({k: _jsonable(v) for k, v in record.items()}, ensure_ascii=False))
                    fh.write("\n")
            first = False
            rows += len(frame)
        if first and fmt == "csv":
            fh.write(",".join(COLUMNS) + CSV_LINE_END)
    return rows


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, str):
        return export_text(value)  # a byte that is not UTF-8 as \\xNN (exportable did it already)
    return value


@gc_paused()  # (the parse's millions of acyclic objects: see tracemem.gcpause)
def write_batches(batches: Iterable[Batch], path: str | Path) -> int:
    """Stream column batches to ``path`` (bounded memory). To Parquet, each batch after the first
    goes to Arrow directly (table.arrow_table: the same file, without a pandas frame between)."""
    if output_format(path) != "parquet":
        return write_events((events_frame(b) for b in batches), path)
    from ..table import arrow_table

    schema: list[Any] = []

    def tables() -> Iterator[Any]:
        for batch in batches:
            table = arrow_table(batch, schema[0]) if schema else None
            yield table if table is not None else events_frame(batch)

    return write_events(tables(), path, schema)


def check_writable(path: str | Path, inputs: Iterable[str] = ()) -> Path:
    """Check, before any work, that ``path`` can be written: it is not a folder, its folder
    exists, it is none of the ``inputs`` (writing would truncate the trace before it is read),
    and the file system lets it be created (tried: the file is opened for appending, which
    changes nothing, and a file that was not there is removed again). Raises OutputError saying
    which, also for a name too long or a folder where nothing can be made (/proc)."""
    try:
        return _check_writable(Path(path), path, inputs)
    except OSError as exc:  # a name too long, a loop of links ...: whatever the file system says
        raise OutputError(f"{printable(str(path))}: cannot write ({exc.strerror or exc})") from None


def _check_writable(out: Path, path: str | Path, inputs: Iterable[str]) -> Path:
    import os
    import stat

    shown = printable(str(path))
    if out.is_dir():
        raise OutputError(f"{shown}: is a folder; give a file name (e.g. {printable(str(out / 'out'))}"
                          f"{out.suffix or '.parquet'})")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"{shown}: the folder {printable(str(parent))} does not exist; create it first")
    if not parent.is_dir():
        raise OutputError(f"{shown}: {printable(str(parent))} is not a folder")
    existed = out.exists()
    if existed:
        for name in inputs:
            if name != "-" and os.path.exists(name) and os.path.samefile(name, out):
                raise OutputError(f"{shown}: is also an input ({printable(name)}); writing it would destroy the "
                                  "trace before it is read: choose another output")
    if not os.access(parent, os.W_OK | os.X_OK) or (existed and not os.access(out, os.W_OK)):
        raise OutputError(f"{shown}: not writable (permissions); choose another place")
    if existed and not stat.S_ISREG(os.stat(out).st_mode):
        return out  # a device or a pipe: opening it could block or write; the write will tell
    try:
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o666)
    except OSError as exc:
        raise OutputError(f"{shown}: cannot write ({exc.strerror or exc}); choose another place") from None
    os.close(fd)
    if not existed:
        try:
            os.unlink(out)
        except OSError:
            pass
    return out


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """A whole table (e.g. the timeline) as Parquet or CSV, by the suffix."""
    fmt = output_format(path)
    if fmt == "jsonl":
        raise UsageError(f"{path}: this table is written as .parquet or .csv")
    df = exportable(df)
    try:
        if fmt == "parquet":
            with open(path, "wb") as fh:  # (not by Arrow: see _write_events)
                df.to_parquet(fh, index=False)
        else:
            df.to_csv(path, index=False, lineterminator=CSV_LINE_END)
    except OSError as exc:
        raise OutputError(f"{printable(str(path))}: cannot write ({exc.strerror or exc})") from None
