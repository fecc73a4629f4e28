"""Startup phases, per process: detected from the event stream by data-driven rules, or given by
the user, each with the evidence that started it and the address-space deltas over it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from .errors import UsageError

#: The rules, in phase order. A phase starts at the first event (after the previous phase's
#: start) that matches its rule: a syscall name set, an optional argument regex, an optional
#: timeline role set (the role the event gave a region), an optional "clone of a thread" test.
#: README.md documents them; change them here.
PHASE_RULES: list[dict[str, Any]] = [
    {"phase": "exec", "syscalls": {"execve", "execveat"}, "success": True,
     "why": "the program image is replaced (execve)"},
    {"phase": "loader", "syscalls": {"openat", "open", "mmap", "mmap2"}, "args": r"\.so(?:\.[0-9.]+)?[\"'>]",
     "why": "the dynamic loader opens or maps a shared object"},
    {"phase": "runtime-init", "roles": {"Go runtime reservation", "Go heap arena", "glibc arena reservation",
                                        "JVM heap reservation", "JVM class space reservation",
                                        "JVM code cache reservation", "V8 pointer-compression cage reservation",
                                        "runtime reservation"},
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


def detect(df: Any, timeline: Any, asid_of: dict[Any, Any] | None = None) -> tuple[list[Phase], list[str]]:
    """Phases of each process from the events table and the timeline; plus notes on phases that
    could not be detected (no evidence in the trace). ``asid_of`` maps a task to its address
    space (threads to their process); by default the timeline's rows give it."""
    import pandas as pd

    phases: list[Phase] = []
    notes: list[str] = []
    roles_by_seq = {int(s): str(r) for s, r in zip(timeline["seq"], timeline["role"]) if not pd.isna(r)}
    asid_by_pid: dict[Any, Any] = dict(asid_of or {})
    for pid, asid in zip(timeline["pid"], timeline["asid"]):
        if not pd.isna(pid) and not pd.isna(asid):
            asid_by_pid.setdefault(int(pid), int(asid))
    events = df.sort_values("seq")
    per_space: dict[int | None, list[Phase]] = {}
    compiled = [(rule, re.compile(rule["args"]) if "args" in rule else None) for rule in PHASE_RULES]
    for row in events.itertuples(index=False):
        pid = None if pd.isna(row.pid) else int(row.pid)
        asid = asid_by_pid.get(pid, pid) if pid is not None else None
        found = per_space.setdefault(asid, [])
        done = {p.name for p in found}
        last_index = max((i for i, (rule, _) in enumerate(compiled) if rule["phase"] in done), default=-1)
        for i, (rule, pattern) in enumerate(compiled):
            if i <= last_index or rule["phase"] in done:
                continue
            if not _matches(rule, pattern, row, roles_by_seq):
                continue
            found.append(Phase(rule["phase"], asid, int(row.seq), None,
                               None if pd.isna(row.time) else float(row.time), None,
                               f"{rule['why']}: line {int(row.line)}: {_event_text(row)[:120]}"))
            break
    first = next(iter(per_space), None)
    for asid, found in per_space.items():
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


def _matches(rule: dict[str, Any], pattern: Any, row: Any, roles: dict[int, str]) -> bool:
    if "roles" in rule:
        return roles.get(int(row.seq)) in rule["roles"]
    if str(row.syscall) not in rule["syscalls"]:
        return False
    if rule.get("success") and (row.errno is not None and str(row.errno) != "<NA>" and str(row.errno) != "nan"):
        return False
    if pattern is not None and not pattern.search(str(row.args)):
        return False
    if rule.get("thread"):
        return "CLONE_THREAD" in str(row.args)
    return True


def parse_user_phase(text: str) -> tuple[str, str, Any]:
    """NAME=TIME (seconds from start), NAME=line:N, NAME=/regex/."""
    name, sep, spec = text.partition("=")
    if not sep or not name or not spec:
        raise UsageError(f"--phase {text!r}: expected NAME=SECONDS, NAME=line:N or NAME=/regex/")
    if spec.startswith("line:"):
        try:
            return name, "line", int(spec[5:])
        except ValueError:
            raise UsageError(f"--phase {text!r}: line:N needs a whole number") from None
    if len(spec) >= 2 and spec.startswith("/") and spec.endswith("/"):
        try:
            return name, "regex", re.compile(spec[1:-1])
        except re.error as exc:
            raise UsageError(f"--phase {text!r}: bad regular expression ({exc})") from None
    try:
        return name, "time", float(spec)
    except ValueError:
        raise UsageError(f"--phase {text!r}: expected seconds from the start, line:N or /regex/") from None


def apply_user(phases: list[Phase], df: Any, specs: Iterable[str]) -> list[Phase]:
    """Add or override phases from --phase options (they apply to the first process)."""
    import pandas as pd

    events = df.sort_values("seq")
    if not len(events):
        return phases
    t0 = events["time"].dropna().min() if events["time"].notna().any() else None
    first_asid = phases[0].asid if phases else (None if pd.isna(events["pid"].iloc[0]) else int(events["pid"].iloc[0]))
    for spec in specs:
        name, kind, value = parse_user_phase(spec)
        match = None
        for row in events.itertuples(index=False):
            if kind == "time":
                if t0 is None:
                    raise UsageError(f"--phase {spec!r}: this trace has no timestamps; use line:N or /regex/")
                hit = not pd.isna(row.time) and float(row.time) - t0 >= value
            elif kind == "line":
                hit = int(row.line) >= value
            else:
                hit = value.search(_event_text(row)) is not None
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


def finish(phases: list[Phase], df: Any, timeline: Any) -> list[Phase]:
    """Order phases per process, set their ends (the next phase's start, or the last event) and
    the VSZ/reserved/committed deltas over each from the timeline."""

    out: list[Phase] = []
    by_space: dict[Any, list[Phase]] = {}
    for p in phases:
        by_space.setdefault(p.asid, []).append(p)
    last_seq = int(df["seq"].max()) if len(df) else 0
    last_time = float(df["time"].max()) if len(df) and df["time"].notna().any() else None
    for asid, items in by_space.items():
        items.sort(key=lambda p: p.start_seq)
        rows = timeline[timeline["asid"] == asid] if asid is not None else timeline
        seqs = rows["seq"].astype("int64").tolist()
        cols = {k: rows[k].astype("int64").tolist() for k in ("vsz", "reserved", "committed")}

        def at(seq: int) -> dict[str, int]:
            # Totals after the last change before ``seq`` (zero before the first).
            import bisect

            i = bisect.bisect_left(seqs, seq) - 1
            return {k: (v[i] if i >= 0 else 0) for k, v in cols.items()}

        for i, p in enumerate(items):
            nxt = items[i + 1] if i + 1 < len(items) else None
            p.end_seq = nxt.start_seq if nxt else last_seq + 1
            p.end_time = nxt.start_time if nxt else last_time
            a, b = at(p.start_seq), at(p.end_seq)
            p.vsz, p.reserved, p.committed = (b[k] - a[k] for k in ("vsz", "reserved", "committed"))
            out.append(p)
    return out
