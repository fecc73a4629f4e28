"""Startup phases, per process: detected from the event stream by data-driven rules, or given by
the user, each with the evidence that started it and the address-space deltas over it."""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, NotRequired, TypedDict

from .errors import UsageError

#: Seconds a --phase NAME=/regex/ may spend searching the events, all events together: a
#: pattern with nested repeats such as /(a|aa)+$/ backtracks exponentially (the ``regex`` module
#: checks the time while it searches, which the standard library's ``re`` cannot).
REGEX_BUDGET = 5.0
from .space.roles import RUNTIME_RESERVATIONS

if TYPE_CHECKING:
    import pandas as pd


class PhaseRule(TypedDict):
    """What starts a phase (PHASE_RULES): a syscall name set, or a timeline role set; optionally
    an argument regex, success only, a clone of a thread."""

    phase: str
    why: str
    syscalls: NotRequired[set[str]]
    roles: NotRequired[set[str]]
    args: NotRequired[str]
    success: NotRequired[bool]
    thread: NotRequired[bool]


#: The rules, in phase order. A phase starts at the first event (after the previous phase's
#: start) that matches its rule: a syscall name set, an optional argument regex, an optional
#: timeline role set (the role the event gave a region), an optional "clone of a thread" test.
#: README.md documents them; change them here.
PHASE_RULES: list[PhaseRule] = [
    {"phase": "exec", "syscalls": {"execve", "execveat"}, "success": True,
     "why": "the program image is replaced (execve)"},
    {"phase": "loader", "syscalls": {"openat", "open", "mmap", "mmap2"}, "args": r"\.so(?:\.[0-9.]+)?[\"'>]",
     "why": "the dynamic loader opens or maps a shared object"},
    {"phase": "runtime-init", "roles": set(RUNTIME_RESERVATIONS),
     "why": "the language runtime reserves its address space"},
    {"phase": "threads", "syscalls": {"clone", "clone3"}, "thread": True,
     "why": "the first thread is created"},
    {"phase": "main", "syscalls": {"socket", "bind", "listen", "accept", "accept4", "connect"},
     "why": "the program's own work starts (first socket activity)"},
    {"phase": "exit", "syscalls": {"exit_group"},
     "why": "the process exits (exit_group)"},
]


@dataclass
class Phase:
    """One phase of one process: where it starts and ends, why, and what it did to the space."""

    name: str
    asid: int | None
    start_seq: int
    end_seq: int | None
    start_time: float | None
    end_time: float | None
    evidence: str
    source: str = "detected"
    vsz: int = 0
    reserved: int = 0
    committed: int = 0


def _event_text(row: Any) -> str:
    return f"{row.syscall}({row.args}) = {row.ret_text}"


def detect(df: "pd.DataFrame", timeline: "pd.DataFrame",
           asid_of: dict[int | None, int | None] | None = None) -> tuple[list[Phase], list[str]]:
    """Phases of each process from the events table and the timeline; plus notes on phases that
    could not be detected (no evidence in the trace). ``asid_of`` maps a task to its address
    space (threads to their process); by default the timeline's rows give it.

    Per address space, in event order: a phase starts at the first event after the previous
    phase's start that matches a later rule (the earliest rule when one event matches several).
    Each rule's matching events are found for the whole table at once (column operations), then
    the phases are picked from them: a handful of steps per process, whatever the trace's size."""
    import numpy as np
    import pandas as pd

    asid_by_pid: dict[int | None, int | None] = dict(asid_of or {})
    pairs = timeline[["pid", "asid"]].dropna().drop_duplicates()
    for pid, asid in zip(pairs["pid"].tolist(), pairs["asid"].tolist()):
        asid_by_pid.setdefault(int(pid), int(asid))
    events = df if df["seq"].is_monotonic_increasing else df.sort_values("seq")
    # each event's address space (its pid's, the pid itself when unknown; -1: no pid), as one
    # array: a trace of millions of events is not made into Python lists here
    pid_arr = events["pid"].to_numpy(dtype="float64", na_value=np.nan)
    known = {int(k): int(v) for k, v in asid_by_pid.items() if k is not None and v is not None}
    asid_arr = np.nan_to_num(pid_arr, nan=-1).astype("int64")
    if known:
        mapped = pd.Series(asid_arr).map(known)
        asid_arr = np.where(mapped.isna().to_numpy(), asid_arr,
                            mapped.fillna(-1).to_numpy(dtype="float64")).astype("int64")
    # each rule's matching rows (positions in ``events``), by address space, in event order
    per_rule: list[dict[int | None, list[int]]] = []
    for rule in PHASE_RULES:
        if "roles" in rule:
            made = timeline.loc[timeline["role"].isin(list(rule["roles"])), "seq"]
            mask = events["seq"].isin(made.to_numpy()).to_numpy().copy()
        else:
            mask = events["syscall"].isin(list(rule["syscalls"])).to_numpy().copy()
            if rule.get("success"):
                mask &= events["errno"].isna().to_numpy()
            if "args" in rule:
                # an anonymous mmap (fd -1) names no file: not searched (most mmaps of a big trace)
                anon = events["syscall"].isin(["mmap", "mmap2"]).to_numpy() & (
                    events["fd"].fillna(0).to_numpy(dtype="int64") < 0)
                mask &= ~anon
            if "args" in rule or rule.get("thread"):
                idx = mask.nonzero()[0]
                args = events["args"].iloc[idx]
                keep = np.ones(len(idx), dtype=bool)
                if "args" in rule:
                    keep &= args.str.contains(rule["args"], regex=True, na=False).to_numpy(dtype=bool)
                if rule.get("thread"):
                    keep &= args.str.contains("CLONE_THREAD", regex=False, na=False).to_numpy(dtype=bool)
                mask[idx[~keep]] = False
        by_space: dict[int | None, list[int]] = {}
        matched = mask.nonzero()[0]
        for k, a in zip(matched.tolist(), asid_arr[matched].tolist()):
            by_space.setdefault(None if a == -1 else a, []).append(k)
        per_rule.append(by_space)
    order: list[int | None] = [None if a == -1 else a for a in pd.unique(asid_arr).tolist()]
    first = order[0] if order else None
    picks: dict[int | None, list[tuple[int, int]]] = {}   # asid -> (row position, rule index)
    for asid in order:
        pos, last = -1, -1
        while True:
            best: tuple[int, int] | None = None
            for i in range(last + 1, len(PHASE_RULES)):
                hits = per_rule[i].get(asid)
                if not hits:
                    continue
                j = bisect_right(hits, pos)
                if j < len(hits) and (best is None or hits[j] < best[0]):
                    best = (hits[j], i)
            if best is None:
                break
            pos, last = best
            picks.setdefault(asid, []).append(best)
    # the evidence rows, taken from the table in one go (a row at a time costs ms each)
    wanted = sorted({pos for found in picks.values() for pos, _ in found})
    rows: dict[int, Any] = dict(zip(wanted, events.iloc[wanted][
        ["seq", "time", "line", "syscall", "args", "ret_text"]].itertuples(index=False)))
    phases: list[Phase] = []
    notes: list[str] = []
    for asid in order:
        found = []
        for pos, index in picks.get(asid, []):
            rule = PHASE_RULES[index]
            row = rows[pos]
            found.append(Phase(rule["phase"], asid, int(row.seq), None,
                               None if pd.isna(row.time) else float(row.time), None,
                               f"{rule['why']}: line {int(row.line)}: {_event_text(row)[:120]}"))
        if not found:
            continue
        names = [p.name for p in found]
        missing = [r["phase"] for r in PHASE_RULES if r["phase"] not in names]
        if missing and (asid == first or "exec" in names):
            notes.append(f"process {asid}: no evidence for {', '.join(missing)}"
                         + (" (a capture that includes process, network and open calls shows them, e.g. "
                            "strace -e trace=%memory,%process,%network,openat)"
                            if "main" in missing or "loader" in missing else ""))
        phases.extend(found)
    return phases, notes


def parse_user_phase(text: str) -> tuple[str, str, Any]:
    """NAME=TIME (seconds from start), NAME=line:N, NAME=/regex/."""
    name, sep, spec = text.partition("=")
    if not sep or not name or not spec:
        raise UsageError(f"--phase {text!r}: expected NAME=SECONDS, NAME=line:N or NAME=/regex/")
    if spec.startswith("line:"):
        try:
            line = int(spec[5:])
        except ValueError:
            raise UsageError(f"--phase {text!r}: line:N needs a whole number") from None
        if line < 1:
            raise UsageError(f"--phase {text!r}: lines are numbered from 1")
        return name, "line", line
    if len(spec) >= 2 and spec.startswith("/") and spec.endswith("/"):
        import regex

        try:
            return name, "regex", regex.compile(spec[1:-1])
        except (regex.error, ValueError, OverflowError) as exc:
            raise UsageError(f"--phase {text!r}: bad regular expression ({exc})") from None
    try:
        seconds = float(spec)
    except ValueError:
        raise UsageError(f"--phase {text!r}: expected seconds from the start, line:N or /regex/") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"--phase {text!r}: seconds from the start are a finite number of 0 or more")
    return name, "time", seconds


def apply_user(phases: list[Phase], df: "pd.DataFrame", specs: Iterable[str]) -> list[Phase]:
    """Add or override phases from --phase options (they apply to the first process)."""
    import pandas as pd

    events = df.sort_values("seq")
    if not len(events):
        return phases
    t0 = events["time"].dropna().min() if events["time"].notna().any() else None
    first_asid = phases[0].asid if phases else (None if pd.isna(events["pid"].iloc[0]) else int(events["pid"].iloc[0]))
    row: Any  # an itertuples row (as in detect)
    match: Any  # the row of the first matching event, or None
    import time

    for spec in specs:
        name, kind, value = parse_user_phase(spec)
        match = None
        deadline = time.monotonic() + REGEX_BUDGET
        for row in events.itertuples(index=False):
            if kind == "time":
                if t0 is None:
                    raise UsageError(f"--phase {spec!r}: this trace has no timestamps; use line:N or /regex/")
                hit = not pd.isna(row.time) and float(row.time) - t0 >= value
            elif kind == "line":
                hit = int(row.line) >= value
            else:
                try:
                    hit = value.search(_event_text(row), timeout=max(deadline - time.monotonic(), 0.001)) is not None
                except TimeoutError:
                    raise UsageError(
                        f"--phase {spec!r}: the regular expression took more than {REGEX_BUDGET:g} s "
                        f"(stopped at line {int(row.line)}); nested repeats such as (a+)+ backtrack "
                        f"without end: simplify it") from None
            if hit:
                match = row
                break
        if match is None:
            raise UsageError(f"--phase {spec!r}: no event matches")
        phases = [p for p in phases if not (p.name == name and p.asid == first_asid)]
        phases.append(Phase(name, first_asid, int(match.seq), None,
                            None if pd.isna(match.time) else float(match.time), None,
                            f"given by --phase {spec}: line {int(match.line)}", source="user"))
    return phases


def finish(phases: list[Phase], df: "pd.DataFrame", timeline: "pd.DataFrame") -> list[Phase]:
    """Order phases per process, set their ends (the next phase's start, or the last event) and
    the VSZ/reserved/committed deltas over each from the timeline."""
    import pandas as pd

    out: list[Phase] = []
    by_space: dict[int | None, list[Phase]] = {}
    for p in phases:
        by_space.setdefault(p.asid, []).append(p)
    last_seq = int(df["seq"].max()) if len(df) else 0
    last_time = float(df["time"].max()) if len(df) and df["time"].notna().any() else None
    # the timeline's rows of each address space, split once (a mask per space is quadratic)
    import numpy as np

    seq_all = timeline["seq"].to_numpy(dtype="int64", na_value=0)
    cols_all = {k: timeline[k].to_numpy(dtype="int64", na_value=0) for k in ("vsz", "reserved", "committed")}
    positions: dict[int, Any] = {}
    if len(timeline) and any(asid is not None for asid in by_space):
        keys = timeline["asid"].astype("float64").fillna(-1.0).to_numpy()
        groups: dict[Any, Any] = pd.Series(keys).groupby(keys, sort=False).indices
        positions = {int(k): v for k, v in groups.items()}
    nothing = np.zeros(0, dtype="int64")
    for asid, items in by_space.items():
        items.sort(key=lambda p: p.start_seq)
        found = None if asid is None else positions.get(asid, nothing)
        seqs = seq_all if found is None else seq_all[found]
        ends = [items[i + 1].start_seq if i + 1 < len(items) else last_seq + 1 for i in range(len(items))]
        # Totals after the last change before a seq (zero before the first)
        before_start = np.searchsorted(seqs, [p.start_seq for p in items], side="left") - 1
        before_end = np.searchsorted(seqs, ends, side="left") - 1
        deltas = {}
        for k, col in cols_all.items():
            v = col if found is None else col[found]
            a = np.where(before_start >= 0, v[np.maximum(before_start, 0)] if len(v) else 0, 0)
            b = np.where(before_end >= 0, v[np.maximum(before_end, 0)] if len(v) else 0, 0)
            deltas[k] = (b - a).tolist()
        for i, p in enumerate(items):
            nxt = items[i + 1] if i + 1 < len(items) else None
            p.end_seq = ends[i]
            p.end_time = nxt.start_time if nxt else last_time
            p.vsz, p.reserved, p.committed = (int(deltas[k][i]) for k in ("vsz", "reserved", "committed"))
            out.append(p)
    return out
