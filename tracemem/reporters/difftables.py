"""The terminal tables of ``tracemem diff``: totals, phases, roles, processes, new and gone
mappings; signed deltas in binary units, percentages, largest change first. Trace text (program
names, argv, syscall lines) is escaped (see ``tables.cell``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console

from ..text import human
from ..text import cell
from .tables import _heading, _table

if TYPE_CHECKING:
    import pandas as pd

    from ..compare import Comparison

_LABELS = {"vsz": "VSZ", "reserved": "reserved", "committed": "committed", "file": "file-backed",
           "shared": "shared", "released": "released (madvise)", "map_count": "map count",
           "peak_vsz": "peak VSZ", "processes": "processes", "regions": "regions"}


def _bytes(n: Any) -> str:
    return human(int(n))


def _delta(n: Any, count: bool = False) -> str:
    n = int(n)
    if count:
        return f"{n:+,}" if n else "0"
    return ("+" if n > 0 else "−" if n < 0 else "") + human(abs(n))


def _pct(value: Any, before: Any = None, after: Any = None) -> str:
    if value == 0:
        return "0%"
    if value is None or value != value:
        if before is not None and int(before) == 0 and after is not None and int(after) != 0:
            return "new"
        return ""
    return f"{float(value):+.1f}%"


def diff_tables(console: Console, cmp: "Comparison", *, top: int = 10) -> None:
    """Everything ``tracemem diff`` prints without --json."""
    b, a = cmp.before.summary, cmp.after.summary
    _heading(console, f"before: {cell(', '.join(b.files))} ({b.lines:,} lines, {len(cmp.before.processes)} "
                      f"process(es))")
    _heading(console, f"after:  {cell(', '.join(a.files))} ({a.lines:,} lines, {len(cmp.after.processes)} "
                      f"process(es))")
    vsz = "VSZ" if b.baseline and a.baseline else "traced VSZ"
    t = _table()
    t.title = f"Totals (final state; {vsz}: what the traces show)"
    t.title_justify = "left"
    for col in ("", "before", "after", "change", "%"):
        t.add_column(col, justify="left" if not col else "right", no_wrap=True)
    for row in cmp.totals.to_dict("records"):
        count = row["metric"] in ("map_count", "processes")
        def fmt(v: Any) -> str:
            return f"{int(v):,}" if count else _bytes(v)

        t.add_row(_LABELS.get(row["metric"], row["metric"]), fmt(row["before"]), fmt(row["after"]),
                  _delta(row["change"], count), _pct(row["change_pct"], row["before"], row["after"]))
    console.print(t)
    _phases(console, cmp.phases)
    _roles(console, cmp.roles, top)
    _processes(console, cmp.processes, top)
    _regions(console, cmp.regions, top, cmp.processes)
    for note in cmp.notes:
        _heading(console, f"note: {cell(note)}")


def _changed(df: "pd.DataFrame", metrics: tuple[str, ...]) -> "pd.DataFrame":
    if not len(df):
        return df
    mask = (df[[f"{m}_change" for m in metrics]] != 0).any(axis=1) | (df["status"] != "both")
    return df[mask]


def _phases(console: Console, df: "pd.DataFrame") -> None:
    if not len(df):
        _heading(console, "Phases: none found in either run")
        return
    t = _table()
    t.title = "Phases (what each did: its change of VSZ, reserved, committed)"
    t.title_justify = "left"
    t.add_column("phase", overflow="fold")
    t.add_column("", overflow="fold")
    for col in ("ΔVSZ before", "after", "Δresv before", "after", "Δcommit before", "after", "Δcommit change"):
        t.add_column(col, justify="right", no_wrap=True)
    whys = []
    for row in df.to_dict("records"):
        status = "" if row["status"] == "both" else row["status"]
        t.add_row(cell(row["phase"]), status,
                  _delta(row["vsz_before"]), _delta(row["vsz_after"]),
                  _delta(row["reserved_before"]), _delta(row["reserved_after"]),
                  _delta(row["committed_before"]), _delta(row["committed_after"]),
                  _delta(row["committed_change"]))
        if row.get("why"):
            whys.append(f"{row['phase']}: {row['why']}")
    console.print(t)
    for why in whys:
        _heading(console, f"  {cell(why)}")


def _roles(console: Console, df: "pd.DataFrame", top: int) -> None:
    shown = _changed(df, ("vsz", "reserved", "committed", "regions"))
    if not len(shown):
        _heading(console, "Roles: no change in any region role")
        return
    t = _table()
    t.title = "Region roles (final state), largest change first"
    t.title_justify = "left"
    t.add_column("role", overflow="fold")
    t.add_column("", overflow="fold")
    for col in ("regions", "VSZ", "reserved", "committed", "committed %"):
        t.add_column(col, justify="right", no_wrap=True)
    for row in shown.head(top).to_dict("records"):
        t.add_row(cell(row["role"]), "" if row["status"] == "both" else row["status"],
                  _delta(row["regions_change"], True), _delta(row["vsz_change"]),
                  _delta(row["reserved_change"]), _delta(row["committed_change"]),
                  _pct(row["committed_change_pct"], row["committed_before"], row["committed_after"]))
    console.print(t)
    if len(shown) > top:
        _heading(console, f"... {len(shown) - top} more roles changed (--top N shows more; --json lists all)")


def _processes(console: Console, df: "pd.DataFrame", top: int) -> None:
    if len(df) <= 1 and (not len(df) or df.iloc[0]["status"] == "both"):
        return  # one process each side: the totals said it
    t = _table()
    t.title = "Processes (matched by program and argv, not pid), largest change first"
    t.title_justify = "left"
    t.add_column("process", overflow="fold")
    t.add_column("", overflow="fold")
    t.add_column("pids", no_wrap=True)
    for col in ("VSZ", "committed", "committed %"):
        t.add_column(col, justify="right", no_wrap=True)
    for row in df.head(top).to_dict("records"):
        pids = f"{_pid(row['pid_before'])} → {_pid(row['pid_after'])}"
        t.add_row(cell(row["process"]), "" if row["status"] == "both" else row["status"], pids,
                  _delta(row["vsz_change"]), _delta(row["committed_change"]),
                  _pct(row["committed_change_pct"], row["committed_before"], row["committed_after"]))
    console.print(t)
    if len(df) > top:
        _heading(console, f"... {len(df) - top} more processes (--top N shows more; --json lists all)")


def _pid(value: Any) -> str:
    from ..compare import _id

    pid = _id(value)
    return "-" if pid is None else str(pid)


def _regions(console: Console, df: "pd.DataFrame", top: int, cmp_processes: "pd.DataFrame") -> None:
    if not len(df):
        matched = (cmp_processes["status"] == "both").any() if len(cmp_processes) else False
        _heading(console, "Mappings: every mapping made in one run has its match in the other "
                          "(by role, size class and order)" if matched else
                          "Mappings: not compared (no process of one run matches one of the other)")
        return
    t = _table()
    t.title = "Mappings made in one run only (matched by role, size class and order), largest first"
    t.title_justify = "left"
    t.add_column("", no_wrap=True)
    t.add_column("size", justify="right", no_wrap=True)
    t.add_column("role", overflow="fold")
    t.add_column("line", justify="right", no_wrap=True)
    t.add_column("call", overflow="fold")
    for row in df.head(top).to_dict("records"):
        text = str(row["text"])
        t.add_row(row["status"], _bytes(row["size"]), cell(f"{row['role']} #{row['nth']}"),
                  "" if row["line"] is None or row["line"] != row["line"] else f"{int(row['line']):,}",
                  cell(text[:160] + ("..." if len(text) > 160 else "")))
    console.print(t)
    if len(df) > top:
        _heading(console, f"... {len(df) - top} more (--top N shows more; --json lists all)")
