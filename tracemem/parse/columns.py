"""What the strace reader made of a block, into output columns (see tracemem.table).

Conversions that can be done per column (times, return values, errno and details, durations,
decoding of memory and process syscalls) run once per block, here: the reader keeps texts as
the lines had them. Rows (:class:`~.rows.Row`) and the lines the block fast paths took in bulk
(:class:`~.rows.RegexBulk`, :class:`~.rows.ScannedBulk`) are spliced together in line order.
"""

from __future__ import annotations

import errno as _errno
import re
from bisect import bisect_left
from typing import Any, Callable, Sequence

from .clock import Clock
from .decode import CHECKED_SYSCALLS, RANGE_END, decode_checked, unappliable, wide_ret_reason
from .patterns import block_patterns
from .reader import StraceFileReader
from .rows import COMPLETE, Item, Marker, RegexBulk, Row, ScannedBulk

Columns = dict[str, list[Any]]

_ERRNO_N = re.compile(r"errno (\d+)")

ALL_COLUMNS = ("line", "end_line", "pid", "time", "duration", "syscall", "args", "ret", "ret_text",
               "errno", "errmsg", "ret_detail", "state", "injected", "sysno", "ip", "stack",
               "decoded", "decode_error")


def _decoded(names: Sequence[str], args: Sequence[str], states: Sequence[str] | None, fast: bool,
             rets: Sequence[str | None] | None, errnos: Sequence[str | None] | None, sparse: bool = False
             ) -> tuple[list[Any], list[str | None], list[int]]:
    """The typed arguments of the memory and process syscalls among ``names``, why not where
    decoding failed (for a call that did not complete, its state says so), and the shmget rows
    whose ret must be left empty (:func:`_shm_size`).

    A call the address-space model would apply whose range it cannot hold (see
    :func:`~.decode.unappliable`) gets a decode error instead of its record: ``rets`` and
    ``errnos`` (one per row, or with ``sparse`` one per row of :data:`CHECKED_SYSCALLS`, in
    order, as the scanner gives them) tell what succeeded."""
    n = len(names)
    decoded: list[Any] = [None] * n
    why: list[str | None] = [None] * n
    drop: list[int] = []
    wanted = CHECKED_SYSCALLS
    for k, i in enumerate([i for i, name in enumerate(names) if name in wanted]):
        name = names[i]
        if name == "shmget":
            w = _shm_size(args[i])
            if w is not None:
                why[i] = w
                drop.append(i)
            continue
        d, w, small = decode_checked(name, args[i], fast)
        # (with addresses and lengths below 2^48, only a return value past 2^48 can put a range
        # out of reach: the common case costs one length)
        if d is not None and rets is not None:
            j = k if sparse else i
            ret = rets[j]
            if not small or (ret is not None and len(ret) > 14):
                w = unappliable(d, ret, errnos[j] if errnos is not None else None)
                if w is not None:
                    d = None
        decoded[i] = d
        if w is not None and states is not None and states[i] != COMPLETE:
            w = f"{states[i]} call: {w}"
        why[i] = w
    return decoded, why, drop


def _shm_size(args: str) -> str | None:
    """Why a shmget's size cannot be held by the model (below zero, or past 2^63: the model takes
    a segment's size from shmget's own text, which is not decoded); the caller leaves that row's
    ret (the segment id the model keys the size by) empty."""
    parts = args.split(",")
    if len(parts) < 2:
        return None
    try:
        size = int(parts[1], 0)
    except ValueError:
        return None
    if 0 <= size <= RANGE_END:
        return None
    return (f"shmget size {parts[1].strip()} is below zero or past 2^63, beyond any user address space: "
            "ret is left empty (ret_text keeps it) and the segment is not applied")


def _wide_rets(rets: Sequence[str | None], decoded: list[Any], why: list[str | None]) -> list[int]:
    """The rows whose return value does not fit the signed 64-bit ``ret`` column: each gets a
    decode error saying so (ret stays empty, ret_text keeps the text) and no typed arguments, so
    the model does not apply it (no user mapping lies at 2^63 or above). Only rows the state
    machine made can hold one: both fast paths hand such lines to it."""
    out = []
    for i, r in enumerate(rets):
        if r is None or len(r) < 18 or r == "?":
            continue
        reason = wide_ret_reason(r, int(r, 16) if r[1:2] == "x" else int(r))
        if reason is None:
            continue
        # (a range message about the same return value says less)
        before = why[i]
        why[i] = reason if before is None or before.startswith("return value") else f"{before}; {reason}"
        decoded[i] = None
        out.append(i)
    return out


def finish_rows(rows: Sequence[Row], clock: Clock, fast: bool,
                columns: tuple[str, ...] | None = None) -> Columns:
    """Per-column conversions of a batch of rows: times, returns, errno, durations, decoding.

    Memory and process syscalls are always decoded; with ``columns`` only those columns are
    converted (``tracemem stats`` needs names, pids and states, not times or return values).
    """
    if not rows:
        return {}
    if columns is not None:
        return _finish_some(rows, clock, fast, columns)
    names = [r.name for r in rows]
    args = [r.args for r in rows]
    rets_raw = [r.ret for r in rows]
    ret: list[int | None] = []
    for r in rets_raw:
        if not r or r == "?":
            ret.append(None)
        elif r[1:2] == "x":
            ret.append(int(r, 16))
        else:
            ret.append(int(r))
    n = len(rows)
    errnos: list[str | None] = [r.errno or None for r in rows]
    errmsgs: list[str | None] = [None] * n
    details: list[str | None] = [None] * n
    injected: list[bool] = [False] * n
    parens_of = block_patterns().parens
    for i in [i for i, r in enumerate(rows) if r.parens or r.deco]:
        row = rows[i]
        p, d, e, rv = row.parens, row.deco, errnos[i], ret[i]
        plist = [x[1:-1] for x in parens_of(p)] if p else []
        msg = None
        if e and plist:
            msg = plist.pop(0)
        rest = []
        for x in plist:
            if x == "INJECTED":
                injected[i] = True
            elif x == "DELAYED":
                continue
            elif not e and rv == -1 and _ERRNO_N.fullmatch(x):
                e = _errno.errorcode.get(int(x[6:]), "EUNKNOWN")
                msg = x
            else:
                rest.append(x)
        detail = "; ".join(rest) if rest else None
        if d:
            detail = d + (f"; {detail}" if detail else "")
        errnos[i] = e or None
        errmsgs[i] = msg
        details[i] = detail
    durations = [float(d) if d and d != "unavailable" else None for d in [r.dur for r in rows]]
    states = [r.state for r in rows]
    decoded, why, drop = _decoded(names, args, states, fast, rets_raw, errnos)
    for i in _wide_rets(rets_raw, decoded, why) + drop:
        ret[i] = None
    return {
        "line": [r.line for r in rows],
        "end_line": [r.end for r in rows],
        "pid": [int(p) if p else None for p in [r.pid for r in rows]],
        "time": clock.times([r.stamp for r in rows]),
        "duration": durations,
        "syscall": names,
        "args": args,
        "ret": ret,
        "ret_text": [r if r else None for r in rets_raw],
        "errno": errnos,
        "errmsg": errmsgs,
        "ret_detail": details,
        "state": states,
        "injected": injected,
        "sysno": [r.sysno for r in rows],
        "ip": [r.ip for r in rows],
        "stack": [r.stack for r in rows],
        "decoded": decoded,
        "decode_error": why,
    }


def _finish_some(rows: Sequence[Row], clock: Clock, fast: bool, columns: tuple[str, ...]) -> Columns:
    names = [r.name for r in rows]
    args = [r.args for r in rows]
    states = [r.state for r in rows]
    rets = [r.ret for r in rows]
    decoded, why, _ = _decoded(names, args, states, fast, rets, [r.errno or None for r in rows])
    _wide_rets(rets, decoded, why)
    out: Columns = {"decoded": decoded, "decode_error": why}
    if "time" not in columns and not clock.kinds:
        clock.note(r.stamp for r in rows)
    simple: dict[str, Callable[[], list[Any]]] = {
        "line": lambda: [r.line for r in rows],
        "end_line": lambda: [r.end for r in rows],
        "pid": lambda: [int(p) if p else None for p in [r.pid for r in rows]],
        "time": lambda: clock.times([r.stamp for r in rows]),
        "syscall": lambda: names,
        "args": lambda: args,
        "state": lambda: states,
    }
    for name in columns:
        if name in out:
            continue
        make = simple.get(name)
        if make is None:
            full = finish_rows(rows, clock, fast)
            return {key: full[key] for key in dict.fromkeys(tuple(columns) + ("decoded", "decode_error"))}
        out[name] = make()
    return {key: out[key] for key in dict.fromkeys(tuple(columns) + ("decoded", "decode_error"))}


class Kept(dict[str, list[Any]]):
    """The rows of a batch whose syscall the caller keeps (``read_trace(only=...)``), with what
    the dropped rows still tell: ``total`` rows in all, ``pos`` the kept rows' positions among
    them, ``pids`` and ``times`` of every row in order (numpy; pid -1: none, time NaN: none) for
    the tasks' first and last events and the midnight rollover, and ``states`` the counts of the
    dropped rows' states other than complete. Built where the block is parsed (in a worker: only
    the kept rows are pickled back)."""

    total: int
    pos: list[int]
    pids: Any
    times: Any
    states: dict[str, int]
    #: the seq of the first of all the rows (set by iter_batches)
    seq0: int = 0


def keep_rows(cols: Columns, names: frozenset[str]) -> Kept:
    """``cols`` (every row of a block, in order) as a :class:`Kept` batch of the rows named in
    ``names``."""
    import numpy as np

    syscalls = cols.get("syscall", [])
    n = len(syscalls)
    pos = [i for i, name in enumerate(syscalls) if name in names]
    kept = Kept({k: v for k, v in cols.items()} if len(pos) == n else {k: [v[i] for i in pos] for k, v in cols.items()})
    kept.total, kept.pos = n, pos
    pids = cols.get("pid", [])
    kept.pids = (np.array(pids, dtype=np.int64) if None not in pids
                 else np.array([-1 if p is None else p for p in pids], dtype=np.int64))
    times = cols.get("time", [])
    kept.times = np.array([np.nan if t is None else t for t in times] if None in times else times, dtype=float)
    states: dict[str, int] = {}
    if len(pos) != n:
        wanted = set(pos)
        for i, state in enumerate(cols.get("state", [])):
            if state != "complete" and i not in wanted:
                states[state] = states.get(state, 0) + 1
    kept.states = states
    return kept


def assemble(reader: StraceFileReader, items: list[Item], clock: Clock, fast: bool,
             columns: tuple[str, ...] | None) -> tuple[Columns, list[tuple[int, Marker]]]:
    """The finished columns of what one ``feed_block`` produced, in event order, and the
    stitching markers with their positions in that order."""
    bulk = reader.bulk
    reader.bulk = None
    markers: list[tuple[int, Marker]] = []
    plain: list[Row] = []
    if bulk is None:
        for item in items:
            if isinstance(item, Row):
                plain.append(item)
            else:
                markers.append((len(plain), item))
        return (finish_rows(plain, clock, fast, columns) if plain else {}), markers
    # the bulk-taken events' line indexes, in order (rows are spliced in among them by line)
    taken: Sequence[int] = bulk.cols[1] if isinstance(bulk, ScannedBulk) else bulk.taken
    lines_of: list[int] = []
    k = 0
    special_markers: list[tuple[int, int, Marker]] = []
    for j, cnt in bulk.emitted:
        for item in items[k:k + cnt]:
            if isinstance(item, Row):
                plain.append(item)
                lines_of.append(j)
            else:
                special_markers.append((j, len(plain), item))
        k += cnt
    for item in items[k:]:  # pragma: no cover - every item is emitted at a line
        if isinstance(item, Row):
            plain.append(item)
            lines_of.append(1 << 40)  # after every line of the block
    keep = reader.keep
    if keep is not None and columns is None and isinstance(bulk, ScannedBulk):
        count = len(bulk.cols[1])
        if all(len(col) == count for col in bulk.cols):
            kept = _assemble_kept(reader, bulk, keep, plain, taken, lines_of, clock, fast)
            return kept, [(bisect_left(taken, j) + idx, m) for j, idx, m in special_markers]
    if isinstance(bulk, ScannedBulk):
        base = _scanned_columns(reader, bulk, clock, fast, columns)
    else:
        base = _regex_columns(reader, bulk, clock, fast, columns)
    if not plain:
        return base, [(bisect_left(taken, j) + idx, m) for j, idx, m in special_markers]
    special = finish_rows(plain, clock, fast, columns)
    keys = list(base.keys() if base else special.keys())
    if columns is not None and "line" not in columns and "time" not in columns:
        # Unordered use (counting): the special rows simply follow the simple ones.
        offset = len(taken)
        return ({key: base[key] + special[key] for key in keys},
                [(offset + idx, m) for j, idx, m in special_markers])
    out: Columns = {key: [] for key in keys}
    prev = 0
    # Splice runs of special rows into the simple rows at their line positions.
    i = 0
    total_special = len(plain)
    while i < total_special:
        pos = bisect_left(taken, lines_of[i])
        j = i
        while j + 1 < total_special and bisect_left(taken, lines_of[j + 1]) == pos:
            j += 1
        for key in keys:
            out[key].extend(base[key][prev:pos])
            out[key].extend(special[key][i:j + 1])
        prev = pos
        i = j + 1
    for key in keys:
        out[key].extend(base[key][prev:])
    return out, [(bisect_left(taken, j) + idx, m) for j, idx, m in special_markers]


def _assemble_kept(reader: StraceFileReader, bulk: ScannedBulk, keep: frozenset[str], plain: list[Row],
                   taken: Sequence[int], lines_of: list[int], clock: Clock, fast: bool) -> Kept:
    """assemble's result as :class:`Kept` (read_trace(only=...)): the scanner's rows of other
    names never become columns (only their pids and times, as arrays); the kept ones and the
    per-line path's rows are put in order as assemble splices them (a per-line row before the
    scanner's rows of its line and later ones)."""
    import numpy as np

    cols = bulk.cols
    count = len(cols[1])
    names, pids, stamps = cols[4], cols[2], cols[3]
    times = clock.times(stamps) if count else []
    sel = [i for i, name in enumerate(names) if name in keep]
    sub = ScannedBulk(bulk.start, tuple([col[i] for i in sel] for col in cols), bulk.emitted)
    base = _scanned_columns(reader, sub, clock, fast, None, [times[i] for i in sel])
    special = finish_rows(plain, clock, fast, None) if plain else {}
    s_count = len(plain)
    # every row's place: a per-line row goes before the scanner's rows at or after its line
    before = np.searchsorted(np.asarray(taken, dtype=np.int64), np.asarray(lines_of, dtype=np.int64), "left")
    spec_pos = before + np.arange(s_count)
    bulk_pos = np.arange(count) + np.searchsorted(before, np.arange(count), "right")
    total = count + s_count
    all_pids = np.empty(total, dtype=np.int64)
    all_times = np.empty(total, dtype=float)
    default = reader.default_pid
    bulk_pids = [p if p is not None else (int(default) if default is not None else -1) for p in pids] \
        if None in pids else pids
    all_pids[bulk_pos] = np.asarray(bulk_pids, dtype=np.int64) if count else all_pids[:0]
    all_times[bulk_pos] = np.array([np.nan if t is None else t for t in times] if None in times else times, float)
    states: dict[str, int] = {}
    if s_count:
        sp = special["pid"]
        all_pids[spec_pos] = np.array([-1 if p is None else p for p in sp] if None in sp else sp, dtype=np.int64)
        st = special["time"]
        all_times[spec_pos] = np.array([np.nan if t is None else t for t in st] if None in st else st, float)
        s_keep = [k for k, name in enumerate(special["syscall"]) if name in keep]
        wanted = set(s_keep)
        for k, state in enumerate(special["state"]):
            if state != COMPLETE and k not in wanted:
                states[state] = states.get(state, 0) + 1
    else:
        s_keep = []
    kept_bulk_pos = bulk_pos[sel] if sel else np.zeros(0, dtype=np.int64)
    if s_keep:
        positions = np.concatenate((kept_bulk_pos, spec_pos[s_keep]))
        order = np.argsort(positions, kind="stable").tolist()
        out = Kept({key: in_order(base[key], [special[key][k] for k in s_keep], order) for key in base})
        out.pos = np.sort(positions).tolist()
    else:
        out = Kept(base)
        out.pos = kept_bulk_pos.tolist()
    out.total, out.pids, out.times, out.states = total, all_pids, all_times, states
    return out


def in_order(first: list[Any], second: list[Any], order: list[int]) -> list[Any]:
    """The values of ``first`` then ``second`` (end to end) in the order of ``order``'s indexes."""
    both = first + second
    return [both[j] for j in order]


def _regex_columns(reader: StraceFileReader, bulk: RegexBulk, clock: Clock, fast: bool,
                   columns: tuple[str, ...] | None) -> Columns:
    """Columns of the complete calls taken straight from the block regex (no errno, no
    details: those lines end at their return value or duration)."""
    taken = bulk.taken
    start = bulk.start
    P, ST, NM, AR, RT, DU = bulk.pids, bulk.stamps, bulk.names, bulk.args, bulk.rets, bulk.durs
    count = len(taken)
    names = [NM[i] for i in taken]
    default = reader.default_pid
    args = [AR[i].strip() for i in taken]
    rets = [RT[i] for i in taken]
    out, need, drop = _decoded_start(names, args, fast, columns, rets, None)
    lines = [start + i + 1 for i in taken]
    if "line" in need:
        out["line"] = lines
    if "end_line" in need:
        out["end_line"] = list(lines)
    if "pid" in need:
        pids = [P[i] or default for i in taken]
        out["pid"] = [int(p) if p else None for p in pids]
    if "time" in need:
        out["time"] = clock.times([ST[i] for i in taken])
    elif not clock.kinds and taken:
        clock.note(ST[i] for i in taken[:1])
    if "duration" in need:
        out["duration"] = [float(DU[i]) if DU[i] else None for i in taken]
    _call_columns(out, need, names, args, rets, drop)
    return _complete_columns(out, need, count, columns, ("errno", "errmsg", "ret_detail", "sysno", "ip", "stack"))


def _call_columns(out: Columns, need: set[str], names: list[str], args: list[str], rets: list[str],
                  drop: list[int]) -> None:
    """syscall, args, ret (left empty in the rows ``drop`` names) and ret_text of calls taken in bulk."""
    if "syscall" in need:
        out["syscall"] = names
    if "args" in need:
        out["args"] = args
    if "ret" in need:
        out["ret"] = _ret_values(rets)
        for i in drop:
            out["ret"][i] = None
    if "ret_text" in need:
        out["ret_text"] = rets


def _ret_values(rets: list[str]) -> list[int | None]:
    """Return-value texts of complete calls as integers ("?" as None)."""
    return [None if r is None or r == "?" else int(r, 16) if r[1:2] == "x" else int(r) for r in rets]


def _decoded_start(names: list[str], args: list[str], fast: bool, columns: tuple[str, ...] | None,
                   rets: Sequence[str] | None, errnos: Sequence[str | None] | None,
                   sparse: bool = False) -> tuple[Columns, set[str], list[int]]:
    """The decoded arguments of complete calls taken in bulk, the columns wanted, and the rows
    whose ret must be left empty."""
    decoded, why, drop = _decoded(names, args, None, fast, rets, errnos, sparse)
    need = set(columns) if columns is not None else set(ALL_COLUMNS)
    return {"decoded": decoded, "decode_error": why}, need, drop


def _complete_columns(out: Columns, need: set[str], count: int, columns: tuple[str, ...] | None,
                      blank: tuple[str, ...]) -> Columns:
    """The columns that are constant for complete calls taken in bulk, and the selection."""
    for key in blank:
        if key in need:
            out[key] = [None] * count
    if "state" in need:
        out["state"] = [COMPLETE] * count
    if "injected" in need:
        out["injected"] = [False] * count
    keys = ALL_COLUMNS if columns is None else tuple(dict.fromkeys(tuple(columns) + ("decoded", "decode_error")))
    return {key: out[key] for key in keys}


def _scanned_columns(reader: StraceFileReader, bulk: ScannedBulk, clock: Clock, fast: bool,
                     columns: tuple[str, ...] | None, times: list[float | None] | None = None) -> Columns:
    """Columns of the rows the compiled scanner took (complete calls and joined pairs)."""
    start = bulk.start
    first, at, pids, stamps, names, args, rets, errnos, msgs, details, durs = bulk.cols
    count = len(at)
    # the return values and errnos: of every row, or (SPARSE, see _scan.c) of the checked ones
    sparse = len(rets) != count
    out, need, drop = _decoded_start(names, args, fast, columns, rets if rets or not count else None,
                                     errnos if errnos or not count else None, sparse)
    if "line" in need:
        out["line"] = [start + i + 1 for i in first]
    if "end_line" in need:
        out["end_line"] = [start + i + 1 for i in at]
    if "pid" in need:
        default = reader.default_pid
        out["pid"] = [p if p is not None else int(default) for p in pids] if default is not None else pids
    if "time" in need:
        out["time"] = clock.times(stamps) if times is None else times
    elif not clock.kinds and count:
        clock.note(stamps[:1])
    if "duration" in need:
        out["duration"] = [float(d) if d else None for d in durs]
    _call_columns(out, need, names, args, rets, drop)
    if "errno" in need:
        out["errno"] = errnos
    if "errmsg" in need:
        out["errmsg"] = msgs
    if "ret_detail" in need:
        out["ret_detail"] = details
    return _complete_columns(out, need, count, columns, ("sysno", "ip", "stack"))
