"""The events table: its columns and dtypes, and column batches -> typed records or a DataFrame.

A *batch* is the parser's internal form for one block of events: a dict of column name -> list
of values (plus ``decoded``, the typed arguments, one record or None per event). The parse stage
yields batches; this module turns them into :class:`~tracemem.events.SyscallEvent` records or
into the pandas events table whose schema is :data:`COLUMNS`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .events import (
    Brk, Clone, Execve, Madvise, Mlock, Mmap, Mprotect, Mremap, Mseal, Munmap, PrctlSetVma, ProcessMadvise,
    Shmat, Shmdt, State, SyscallEvent,
)
from .flags import flag_names

if TYPE_CHECKING:  # pandas is imported when a table is wanted, not for stats
    import pandas as pd


# Columns of the events table, in order, with their pandas dtypes.
COLUMNS: dict[str, str] = {
    "seq": "int64",
    "file": "category",
    "line": "int64",
    "end_line": "int64",
    "pid": "Int64",
    "time": "Float64",
    "duration": "Float64",
    "syscall": "category",
    "args": "string",
    "ret": "Int64",
    "ret_text": "string",
    "errno": "category",
    "errmsg": "string",
    "ret_detail": "string",
    "state": "category",
    "injected": "bool",
    "sysno": "Int64",
    "ip": "string",
    "stack": "string",
    "addr": "UInt64",
    "length": "UInt64",
    "prot": "Int64",
    "flags": "Int64",
    "fd": "Int64",
    "offset": "Int64",
    "advice": "Int64",
    "new_addr": "UInt64",
    "new_length": "UInt64",
    "fd_path": "string",
    "decode_error": "string",
    "tid": "Int64",
    "relative_us": "Int64",
    "cpu_us": "Int64",
    "raw_flags": "Int64",
    "vm_tag": "Int64",
    "uncertain": "bool",
    "platform": "category",
}

# The columns filled from the typed arguments of memory and process syscalls.
DECODED_COLUMNS = ("addr", "length", "prot", "flags", "fd", "offset", "advice", "new_addr",
                   "new_length", "fd_path", "raw_flags", "vm_tag")

#: One block of events: column name -> list of values (and ``decoded``: typed arguments or None).
Batch = dict[str, list[Any]]


def batch_events(batch: Batch) -> Iterator[SyscallEvent]:
    """The typed events of one column batch."""
    for i in range(len(batch["seq"])):
        stack = batch["stack"][i]
        yield SyscallEvent(
            seq=batch["seq"][i], file=batch["file"][i], line=batch["line"][i], pid=batch["pid"][i],
            syscall=batch["syscall"][i], args=batch["args"][i], ret=batch["ret"][i],
            errno=batch["errno"][i], errmsg=batch["errmsg"][i], time=batch["time"][i],
            duration=batch["duration"][i], end_line=batch["end_line"][i],
            ret_text=batch["ret_text"][i], ret_detail=batch["ret_detail"][i],
            injected=batch["injected"][i], state=State(batch["state"][i]),
            sysno=batch["sysno"][i], ip=batch["ip"][i], stack=tuple(stack) if stack else (),
            decoded=batch["decoded"][i], decode_error=batch["decode_error"][i],
            uncertain=bool(batch["uncertain"][i]) if "uncertain" in batch else False,
            platform=batch["platform"][i] if "platform" in batch else "linux",
            tid=batch["tid"][i] if "tid" in batch else None,
            relative_us=batch["relative_us"][i] if "relative_us" in batch else None,
            cpu_us=batch["cpu_us"][i] if "cpu_us" in batch else None,
        )


def decoded_columns(decoded: list[Any]) -> dict[str, Any]:
    """The typed-argument columns (addr, length, prot, ...) of a batch's decoded records.

    Records are grouped by type and each field is taken for the whole group at once."""
    import numpy as np

    n = len(decoded)
    # object arrays: a group's values land in their rows with one fancy assignment
    cols: dict[str, Any] = {name: np.full(n, None, dtype=object) for name in DECODED_COLUMNS}
    groups: dict[type, list[int]] = {}
    for i, d in enumerate(decoded):
        if d is not None:
            groups.setdefault(d.__class__, []).append(i)
    for cls, idx in groups.items():
        records = [decoded[i] for i in idx]
        for name, get in _decoded_spec().get(cls, ()):
            values = list(map(get, records))
            if name in _UNSIGNED:
                values = [_uint64(v) for v in values]
            target = np.empty(len(values), dtype=object)
            target[:] = values
            cols[name][idx] = target
    return cols


@functools.cache
def _decoded_spec() -> dict[type, tuple[tuple[str, Callable[[Any], Any]], ...]]:
    """Column -> getter, per record type (types not listed, e.g. Exit, fill no column)."""
    from operator import attrgetter as at

    def num(name: str) -> Callable[[Any], Any]:
        get = at(name)
        return lambda d: int(get(d))

    return {
        Mmap: (("addr", at("addr")), ("length", at("length")), ("prot", num("prot")), ("flags", num("flags")),
               ("fd", at("fd")), ("offset", at("offset")), ("fd_path", at("fd_path")),
               ("raw_flags", at("raw_flags")), ("vm_tag", at("vm_tag"))),
        Munmap: (("addr", at("addr")), ("length", at("length"))),
        Mprotect: (("addr", at("addr")), ("length", at("length")), ("prot", num("prot"))),
        Madvise: (("addr", at("addr")), ("length", at("length")), ("advice", num("advice"))),
        Brk: (("addr", at("addr")),),
        Mremap: (("addr", at("old_addr")), ("length", at("old_length")), ("new_length", at("new_length")),
                 ("flags", num("flags")), ("new_addr", at("new_addr"))),
        Mseal: (("addr", at("addr")), ("length", at("length")), ("flags", num("flags"))),
        Mlock: (("addr", at("addr")), ("length", at("length"))),
        ProcessMadvise: (("advice", num("advice")), ("fd", at("pidfd")), ("flags", at("flags"))),
        Shmat: (("addr", at("addr")), ("flags", num("flags"))),
        Shmdt: (("addr", at("addr")),),
        PrctlSetVma: (("addr", at("addr")), ("length", at("length"))),
        Execve: (("fd_path", at("path")),),
        Clone: (("flags", num("flags")),),
    }


# Addresses and lengths: unsigned 64-bit (a trace may print them negative or too wide).
_UNSIGNED = frozenset(("addr", "length", "new_addr", "new_length"))


def _int64(value: int | None) -> int | None:
    if value is None or -(1 << 63) <= value < (1 << 63):
        return value
    return None


def _uint64(value: int | None) -> int | None:
    if value is None or 0 <= value < (1 << 64):
        return value
    return value & ((1 << 64) - 1)


def _table_data(batch: Batch) -> tuple[dict[str, Any], int]:
    """A batch's columns as the events table has them (decoded arguments spread, stacks joined)."""
    data = dict(batch)
    n = len(data.get("seq", []))
    if "addr" not in data:
        data.update(decoded_columns(data.get("decoded") or [None] * n))
    else:
        for name in _UNSIGNED:
            data[name] = [_uint64(v) for v in data[name]]
    stacks = data.get("stack", [])
    if stacks.count(None) != len(stacks):
        data["stack"] = ["\n".join(st) if st else None for st in stacks]
    data.setdefault("uncertain", [False] * n)
    data.setdefault("platform", ["linux"] * n)
    return data, n


def events_frame(batch: Batch) -> "pd.DataFrame":
    """The typed events DataFrame of a batch (columns as in COLUMNS)."""
    import pandas as pd  # imported when a table is wanted (``stats`` never needs it)

    data, n = _table_data(batch)
    fixes = {"ret": _int64}
    return pd.DataFrame({
        name: _column(data[name] if name in data else [None] * n, dtype, fixes.get(name))
        for name, dtype in COLUMNS.items()
    })


def arrow_table(batch: Batch, schema: Any) -> Any:
    """The batch straight as an Arrow table of ``schema`` (the one an events frame of an earlier
    batch was written with), without a pandas frame between: what ``parse -o x.parquet`` writes
    for every batch but the first. None when a column needs the frame's way (a byte that is not
    UTF-8, which the export writes as \\xNN; a value out of its column's range)."""
    import pyarrow as pa

    data, n = _table_data(batch)
    arrays = []
    for name in COLUMNS:
        kind = schema.field(name).type
        values = data[name] if name in data else [None] * n
        try:
            arrays.append(pa.array(values, type=kind))
        except UnicodeEncodeError:
            return None
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            if name != "ret":
                return None
            arrays.append(pa.array([_int64(v) for v in values], type=kind))
    return pa.Table.from_arrays(arrays, schema=schema)


_ARROW_TYPES = {"Int64": "int64", "UInt64": "uint64", "Float64": "float64", "string": "string"}


def _column(values: list[Any], dtype: str, fix: Callable[[Any], Any] | None = None) -> "pd.Series":
    """A column of the events table. Nullable columns are built through Arrow (its C loop turns
    a list holding None into values and a mask several times faster than pandas does); ``fix``
    maps each value into range when Arrow refuses the list as it is."""
    import pandas as pd

    kind = _ARROW_TYPES.get(dtype)
    if kind is not None:
        import pyarrow as pa

        try:
            arr = pa.array(values, type=getattr(pa, kind)())
        except UnicodeEncodeError:
            # Trace text holding a byte that is not UTF-8 (kept as a surrogate escape, exact):
            # Arrow strings cannot hold it, so this column is a plain object column.
            return pd.Series(values, dtype=object)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            if fix is not None:
                return _column([fix(v) for v in values], dtype)
            return pd.Series(values, dtype=dtype)
        # (pandas-stubs declare __from_arrow__ on no dtype of _ARROW_TYPES, though each has it)
        return pd.Series(pd.api.types.pandas_dtype(dtype).__from_arrow__(arr))  # type: ignore[union-attr]
    return pd.Series(values, dtype=dtype)


def empty_batch() -> Batch:
    return {name: [] for name in list(COLUMNS) + ["decoded"]}


def format_flags(column: str, value: int | None, syscall: str | None = None,
                 platform: str | None = None) -> str | None:
    """A flag column's value as names joined by "|" (unknown bits as hex). ``platform`` "darwin":
    advice values are macOS's (madvise 0x8 is MADV_FREE_REUSE there, MADV_FREE on Linux)."""
    import pandas as pd

    from .flags import Advice, CloneFlags, MapFlags, MremapFlags, Prot, ShmFlags, MsealFlags

    if value is None or pd.isna(value):
        return None
    if column == "prot":
        return flag_names(int(value), Prot)
    if column == "advice":
        if platform == "darwin":
            from .flags import DarwinAdvice

            return flag_names(int(value), DarwinAdvice)
        return flag_names(int(value), Advice)
    if column == "flags":
        cls = {"mremap": MremapFlags, "shmat": ShmFlags, "clone": CloneFlags, "clone3": CloneFlags,
               "fork": CloneFlags, "vfork": CloneFlags, "mseal": MsealFlags, "syscall_0x1ce": MsealFlags}.get(syscall or "", MapFlags)
        return flag_names(int(value), cls)
    return str(value)
