"""Startup phases, per program run: detected from the event stream by data-driven rules, or given
by the user, each with the evidence that started it and the address-space deltas over it."""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Collection, Iterable, NotRequired, Sequence, TypedDict

from .errors import UsageError

#: Seconds a --phase NAME=/regex/ may spend searching the events, all events together: a
#: pattern with nested repeats such as /(a|aa)+$/ backtracks exponentially (the ``regex`` module
#: checks the time while it searches, which the standard library's ``re`` cannot).
REGEX_BUDGET = 5.0
from .space.roles import RUNTIME_RESERVATIONS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class PhaseRule(TypedDict):
    """What starts a phase (PHASE_RULES): a syscall name set, or a timeline role set; optionally
    an argument regex (for all its syscalls, or ``args_of`` for some), a Linux ``MAP_DENYWRITE``
    file mapping, success only, a clone of a thread."""

    phase: str
    why: str
    syscalls: NotRequired[set[str]]
    roles: NotRequired[set[str]]
    args: NotRequired[str]
    args_of: NotRequired[dict[str, str]]
    denywrite: NotRequired[bool]
    success: NotRequired[bool]
    thread: NotRequired[bool]


#: The rules, in phase order. A phase starts at the first event (after the previous phase's
#: start) that matches its rule: a syscall name set, an optional argument regex, an optional
#: timeline role set (the role the event gave a region), an optional "clone of a thread" test.
#: ``runtime-init`` and ``main`` have more starts, worked out per program run (``detect``;
#: ``WHY`` words them). Detection restarts at each successful execve. README.md documents the
#: rules; change them here.
PHASE_RULES: list[PhaseRule] = [
    {"phase": "exec", "syscalls": {"execve", "execveat"}, "success": True,
     "why": "the program image is replaced (execve)"},
    {"phase": "loader", "syscalls": {"openat", "open", "mmap", "mmap2"}, "args": r"\.so(?:\.[0-9.]+)?[\"'>]",
     "denywrite": True, "why": "the dynamic loader opens or maps a shared object"},
    {"phase": "runtime-init", "roles": set(RUNTIME_RESERVATIONS),
     "why": "the language runtime reserves its address space"},
    {"phase": "threads", "syscalls": {"clone", "clone3"}, "thread": True,
     "why": "the first thread is created"},
    # socket and connect of the internet families only: glibc's user and host lookups connect
    # to nscd over AF_UNIX from inside a runtime's set-up (the JVM's does)
    {"phase": "main", "syscalls": {"socket", "bind", "listen", "accept", "accept4", "connect"},
     "args_of": {"socket": r"^\s*(?:AF_INET|2\b|10\b)", "connect": r"sa_family=(?:AF_INET|2\b|10\b)"},
     "why": "the program's own work starts (first socket activity)"},
    {"phase": "exit", "syscalls": {"exit_group"},
     "why": "the process exits (exit_group)"},
]

#: The evidence words of the starts that are worked out per run rather than matched by a rule.
WHY = {   # (no ": " inside: the evidence is "WHY: line N: EVENT", and tables cut at the first)
    "native-main": "the program's own code starts at the first event after the dynamic loader's end",
    "static-main": "the program's own code starts at the first event after the exec (no dynamic loader "
                   "in the trace, as in a static program or a capture that names no shared object)",
    "script-main": "the program's own work starts when the runtime opens the file its command line names",
    "interp-init": "the interpreter or VM sets itself up from the first event after the dynamic loader's end",
    "interp-init-static": "the interpreter or VM sets itself up from the first event after the exec",
}

#: Executables (by name, with an optional version such as python3.11) that are interpreters or
#: VMs: after the loader they set themselves up (``runtime-init``), and their program's own work
#: (``main``) starts when they open the script, class or jar their command line names.
INTERPRETERS = re.compile(r"(?:python|pypy|ruby|perl|php|lua|luajit|node|nodejs|deno|bun|java|julia|"
                          r"Rscript|dotnet|tclsh|erl|beam\.smp)(?:[0-9][0-9.]*)?")

#: Region roles only a language runtime makes (Go's heap arena, HotSpot's reservations, V8's
#: cage): a program run that shows one is a runtime whose own work no loader's end marks. (The
#: glibc arena reservation and the generic PROT_NONE reservation are made by C programs too.)
LANGUAGE_RUNTIME_ROLES = frozenset(RUNTIME_RESERVATIONS) - {"glibc arena reservation", "runtime reservation",
                                                             "Go runtime reservation"}

#: The capture that shows every phase the rules look for (README, "Capture a trace").
CAPTURE = "strace -f -ttt -T -y -e trace=%memory,%process,prctl,openat,%network"

_MAP_DENYWRITE = 0x800   # Linux: glibc's ld.so maps ELF objects MAP_PRIVATE|MAP_DENYWRITE
#: How many munmaps after the loader's start are searched for the one that removes a whole file
#: mapping (ld.so's unmapping of /etc/ld.so.cache comes before any of the program's own).
_LOADER_MUNMAPS = 256
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"(\.\.\.)?')
_DOTTED = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
_NOT_READ = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_DIRECTORY|O_PATH")


@dataclass
class Phase:
    """One phase of one program run: where it starts and ends, why, and what it did to the
    space; ``exe`` is the program the run executes (its execve's path), when the trace shows it."""

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
    exe: str | None = None


def _event_text(row: Any) -> str:
    return f"{row.syscall}({row.args}) = {row.ret_text}"


def _unquote(text: str) -> str:
    return text.replace('\\"', '"').replace("\\\\", "\\").removesuffix("\\0")


def exec_argv(args: str) -> tuple[str | None, list[tuple[str, bool]]]:
    """The path and argv (each with "strace cut it short") of an execve's argument text."""
    found = list(_QUOTED.finditer(args))
    if not found:
        return None, []
    path = _unquote(found[0].group(1))
    bracket = args.find("[", found[0].end())
    argv: list[tuple[str, bool]] = []
    if bracket < 0:
        return path, argv
    at = bracket
    for m in found[1:]:
        if m.start() < bracket:
            continue
        if "]" in args[at:m.start()]:
            break
        argv.append((_unquote(m.group(1)), m.group(2) is not None))
        at = m.end()
    return path, argv


def _names_file(argv: Sequence[tuple[str, bool]]) -> list[Any]:
    """Tests for "this opened path is a file the command line names": an argument after argv[0]
    (not an option), as given or as its last part after a directory, or cut short by strace as
    a prefix; a dotted name (a Java class, a Python module) also as its .class / .py file."""
    tests = []
    for arg, cut in argv[1:]:
        if not arg or arg.startswith("-") or arg in (".", ".."):
            continue
        a = arg[2:] if arg.startswith("./") else arg
        if cut:
            tests.append(lambda p, arg=arg, a=a: p.startswith(arg) or ("/" + a) in p)
            continue
        forms = {a}
        if _DOTTED.fullmatch(a):
            forms |= {a.replace(".", "/") + ".class", a.replace(".", "/") + ".py"}
        tests.append(lambda p, arg=arg, forms=frozenset(forms): p == arg or any(
            p == f or p.endswith("/" + f) for f in forms))
    return tests


def _opened_path(args: str) -> str | None:
    """The path a successful open/openat opened for reading (None when written, created, a
    directory, or not named)."""
    m = _QUOTED.search(args)
    if m is None or _NOT_READ.search(args, m.end()):
        return None
    return _unquote(m.group(1))


@dataclass
class _Run:
    """One program run of an address space: from an execve (or the trace's first event of the
    space) to the next execve."""

    asid: int | None
    lo: int                 # first position in the events (the execve's, when there is one)
    hi: int                 # one past the last position
    exec_pos: int | None
    exe: str | None
    argv: list[tuple[str, bool]]


def detect(df: "pd.DataFrame", timeline: "pd.DataFrame",
           asid_of: dict[int | None, int | None] | None = None,
           exe_of: dict[int | None, str | None] | None = None,
           spaces: Collection[int | None] | None = None) -> tuple[list[Phase], list[str]]:
    """Phases of each program run from the events table and the timeline; plus notes on phases
    that could not be detected (no evidence in the trace). ``asid_of`` maps a task to its address
    space (threads to their process); by default the timeline's rows give it. ``exe_of``: the
    program each space runs before its first execve in the trace (a fork child's parent's).
    ``spaces``: only these address spaces (default: all).

    Per address space, the events are split into runs at each successful execve; per run, in
    event order, a phase starts at the first event after the previous phase's start that matches
    a later rule (the earliest rule when one event matches several). ``main`` and
    ``runtime-init`` have more starts, by the kind of program (README, "Startup phases"):

    * a native program (C, C++, Rust, a shell ...): ``main`` starts at the first event after the
      dynamic loader's end (the first munmap after the loader's start that removes a whole file
      mapping: glibc's ld.so unmapping /etc/ld.so.cache before the program's code runs; without
      one, the loader's last shared-object mapping before a thread, socket call, language-runtime
      reservation or exit), or after the exec when the run shows no loader;
    * an interpreter or VM by name (``INTERPRETERS``): ``runtime-init`` also starts at the first
      event after the loader's end, and ``main`` at its first open, for reading, of a file its
      command line names (after its first language-runtime reservation, if it makes one: the
      java launcher reads a jar's manifest before the VM starts), or its first socket call;
    * a language runtime by its reservations (``LANGUAGE_RUNTIME_ROLES``: Go): ``main`` starts at
      the first socket call (its set-up has no end its system calls show).

    Each rule's matching events are found for the whole table at once (column operations), then
    the phases are picked from them: a handful of steps per run, whatever the trace's size."""
    import numpy as np
    import pandas as pd

    asid_by_pid: dict[int | None, int | None] = dict(asid_of or {})
    pairs = timeline[["pid", "asid"]].dropna().drop_duplicates()
    for pid, asid in zip(pairs["pid"].tolist(), pairs["asid"].tolist()):
        asid_by_pid.setdefault(int(pid), int(asid))
    events = df if df["seq"].is_monotonic_increasing else df.sort_values("seq")
    # Only the calls the model reads (MODEL_SYSCALLS): the command line reads the trace with
    # read_trace(only=MODEL_SYSCALLS), and "the first event after" the loader's end or the exec
    # must be the same event on a full table and a filtered one.
    from .trace import MODEL_SYSCALLS

    model = events["syscall"].isin(MODEL_SYSCALLS).to_numpy()
    if not model.all():
        events = events[model]
    # each event's address space (its pid's, the pid itself when unknown; -1: no pid), as one
    # array: a trace of millions of events is not made into Python lists here
    pid_arr = events["pid"].to_numpy(dtype="float64", na_value=np.nan)
    known = {int(k): int(v) for k, v in asid_by_pid.items() if k is not None and v is not None}
    asid_arr = np.nan_to_num(pid_arr, nan=-1).astype("int64")
    if known:
        mapped = pd.Series(asid_arr).map(known)
        asid_arr = np.where(mapped.isna().to_numpy(), asid_arr,
                            mapped.fillna(-1).to_numpy(dtype="float64")).astype("int64")
    syscall = events["syscall"]
    ok = events["errno"].isna().to_numpy()
    fd = events["fd"].fillna(-1).to_numpy(dtype="int64")
    is_mmap = syscall.isin(["mmap", "mmap2"]).to_numpy()

    def by_space(mask: "np.ndarray") -> dict[int | None, list[int]]:
        """The positions of ``mask``'s rows by address space, in increasing order (grouped by a
        stable sort of their spaces: a row at a time cost 0.1 s on a busy trace)."""
        matched = mask.nonzero()[0]
        if not len(matched):
            return {}
        spaces = asid_arr[matched]
        order = np.argsort(spaces, kind="stable")
        spaces, matched = spaces[order], matched[order]
        cuts = np.flatnonzero(spaces[1:] != spaces[:-1]) + 1
        keys = spaces[np.concatenate(([0], cuts))].tolist()
        return {None if a == -1 else a: part.tolist() for a, part in zip(keys, np.split(matched, cuts))}

    def role_mask(roles: Collection[str]) -> "np.ndarray":
        made = timeline.loc[timeline["role"].isin(list(roles)), "seq"]
        return events["seq"].isin(made.to_numpy()).to_numpy().copy()

    # each rule's matching rows (positions in ``events``), by address space, in event order
    per_rule: list[dict[int | None, list[int]]] = []
    for rule in PHASE_RULES:
        if "roles" in rule:
            mask = role_mask(rule["roles"])
        else:
            mask = syscall.isin(list(rule["syscalls"])).to_numpy().copy()
            if rule.get("success"):
                mask &= ok
            if "args" in rule:
                # an anonymous mmap (fd -1) names no file: not searched (most mmaps of a big trace)
                mask &= ~(is_mmap & (fd < 0))
            deny = np.zeros(len(mask), dtype=bool)
            if rule.get("denywrite"):
                flags = events["flags"].fillna(0).to_numpy(dtype="int64")
                deny = mask & is_mmap & ok & (fd >= 0) & ((flags & _MAP_DENYWRITE) != 0) & (
                    events["platform"] == "linux").to_numpy()
            for name, pattern in rule.get("args_of", {}).items():
                idx = (mask & (syscall == name).to_numpy()).nonzero()[0]
                hit = events["args"].iloc[idx].str.contains(pattern, regex=True, na=False).to_numpy(dtype=bool)
                mask[idx[~hit]] = False
            if "args" in rule or rule.get("thread"):
                idx = (mask & ~deny).nonzero()[0]
                args = events["args"].iloc[idx]
                keep = np.ones(len(idx), dtype=bool)
                if "args" in rule:
                    keep &= args.str.contains(rule["args"], regex=True, na=False).to_numpy(dtype=bool)
                if rule.get("thread"):
                    keep &= args.str.contains("CLONE_THREAD", regex=False, na=False).to_numpy(dtype=bool)
                mask[idx[~keep]] = False
        per_rule.append(by_space(mask))
    names = [r["phase"] for r in PHASE_RULES]
    EXEC, LOADER, INIT, THREADS, MAIN, EXIT = (names.index(n) for n in
                                               ("exec", "loader", "runtime-init", "threads", "main", "exit"))
    language = by_space(role_mask(LANGUAGE_RUNTIME_ROLES))
    # the loader's end: whole-file munmaps (by address and length), the file mappings they undo
    file_maps = by_space(is_mmap & ok & (fd >= 0))
    munmaps = by_space((syscall == "munmap").to_numpy() & ok)
    opens = by_space(syscall.isin(["openat", "open"]).to_numpy() & ok)
    # addresses and lengths as floats (exact below 2**53; NaN: none)
    ret = events["ret"].to_numpy(dtype="float64", na_value=np.nan)
    addr = events["addr"].to_numpy(dtype="float64", na_value=np.nan)
    length = events["length"].to_numpy(dtype="float64", na_value=np.nan)
    lines = events["line"].to_numpy()
    groups: dict[Any, Any] = pd.Series(asid_arr).groupby(asid_arr, sort=False).indices
    positions: dict[int | None, Any] = {None if int(k) == -1 else int(k): v for k, v in groups.items()}

    order: list[int | None] = [None if a == -1 else a for a in pd.unique(asid_arr).tolist()]
    first = order[0] if order else None
    if spaces is not None:
        wanted = set(spaces)
        order = [a for a in order if a in wanted]

    # the opens' texts, taken in one go when a run first needs them (a cell at a time costs
    # ~10 us: 0.1 s on a busy trace's scripts)
    open_text: dict[int, Any] = {}
    fd_paths = events["fd_path"]

    def opened_text(pos: int) -> Any:
        if not open_text:
            at = sorted(p for hits in opens.values() for p in hits)
            open_text.update(zip(at, events["args"].iloc[at].tolist()))
        return open_text.get(pos)

    def after(asid: int | None, pos: int, hi: int) -> int | None:
        """The position of the space's first event after ``pos`` (None: none before ``hi``)."""
        where = positions.get(asid)
        if where is None:
            return None
        j = int(np.searchsorted(where, pos, side="right"))
        return int(where[j]) if j < len(where) and where[j] < hi else None

    def first_in(hits: Sequence[int] | None, lo: int, hi: int) -> int | None:
        if not hits:
            return None
        j = bisect_right(hits, lo - 1)
        return hits[j] if j < len(hits) and hits[j] < hi else None

    def loader_end(run: _Run, start: int) -> tuple[int, str] | None:
        """Where the loader's work ends, and how that is known (see ``detect``)."""
        stops = [p for p in (first_in(per_rule[i].get(run.asid), start + 1, run.hi) for i in (THREADS, MAIN, EXIT))
                 if p is not None]
        role = first_in(language.get(run.asid), start + 1, run.hi)
        stop = min(stops + ([role] if role is not None else []), default=run.hi)
        mapped: dict[tuple[int, int], int] = {}
        maps = file_maps.get(run.asid, [])
        k = bisect_right(maps, run.lo - 1)
        unmaps = munmaps.get(run.asid, [])
        j = bisect_right(unmaps, start)
        for pos in unmaps[j:j + _LOADER_MUNMAPS]:
            if pos >= stop:
                break
            while k < len(maps) and maps[k] < pos:
                r, n = ret[maps[k]], length[maps[k]]
                if not (np.isnan(r) or np.isnan(n)):
                    mapped[(int(r), int(n))] = maps[k]
                k += 1
            a, n = addr[pos], length[pos]
            if np.isnan(a) or np.isnan(n) or (int(a), int(n)) not in mapped:
                continue
            path = fd_paths.iat[mapped[(int(a), int(n))]]
            what = f"munmap of {path}" if isinstance(path, str) and path else "munmap of a whole file mapping"
            return pos, f"{what}, ld.so's last step before the program runs"
        hits = per_rule[LOADER].get(run.asid, [])
        j = bisect_right(hits, stop - 1) - 1
        if j >= 0 and hits[j] >= start:
            return hits[j], "its last shared-object mapping"
        return None

    def script_opens(run: _Run, lo: int) -> list[int]:
        """The first open, for reading, of a file the run's command line names (a list of 0 or 1)."""
        tests = _names_file(run.argv)
        if not tests:
            return []
        hits = opens.get(run.asid, [])
        exe = run.exe or ""
        for pos in hits[bisect_right(hits, lo - 1):]:
            if pos >= run.hi:
                break
            text = opened_text(pos)
            path = _opened_path(text) if isinstance(text, str) else None
            if path and path != exe and any(t(path) for t in tests):
                return [pos]
        return []

    # the runs: each space's events split at its successful execve calls (the execve rows' texts
    # taken in one go: a cell at a time costs ~0.1 ms, a second on a build's thousands of runs)
    exec_at = sorted({p for hits in per_rule[EXEC].values() for p in hits})
    exec_args = dict(zip(exec_at, events["args"].iloc[exec_at].tolist()))
    exec_named = dict(zip(exec_at, events["fd_path"].iloc[exec_at].tolist()))
    runs: list[_Run] = []
    for asid in order:
        own = positions.get(asid)
        if own is None or not len(own):
            continue
        starts = per_rule[EXEC].get(asid, [])
        bounds = [int(own[0])] + [s for s in starts if s > int(own[0])]
        for i, lo in enumerate(bounds):
            hi = bounds[i + 1] if i + 1 < len(bounds) else int(own[-1]) + 1
            execd = lo in starts
            exe: str | None = None
            argv: list[tuple[str, bool]] = []
            if execd:
                text = exec_args[lo]
                exe, argv = exec_argv(text) if isinstance(text, str) else (None, [])
                named = exec_named[lo]
                exe = named if isinstance(named, str) and named else exe
            else:
                exe = (exe_of or {}).get(asid)
            runs.append(_Run(asid, lo, hi, lo if execd else None, exe, argv))

    # per run: each phase's starts (sorted positions, each with its words), then the picking
    picks: list[tuple[_Run, list[tuple[int, int, str]], str]] = []
    for n, run in enumerate(runs):
        nxt = runs[n + 1] if n + 1 < len(runs) and runs[n + 1].asid == run.asid else None
        # a script run by its #! line's "env": the kernel runs env, which execs the interpreter
        # with the script's path among its arguments (pyenv and nvm shims): env is the program
        launcher = bool(run.exe and nxt and any(a == run.exe for a, _ in nxt.argv[1:]))
        sources: list[list[tuple[Sequence[int], str]]] = [
            [(per_rule[i].get(run.asid, []), PHASE_RULES[i]["why"])] for i in range(len(PHASE_RULES))]
        sources[EXEC] = [([run.exec_pos], PHASE_RULES[EXEC]["why"])] if run.exec_pos is not None else []
        name = (run.exe or "").rsplit("/", 1)[-1]
        interpreter = bool(INTERPRETERS.fullmatch(name)) and not launcher
        runtime = first_in(language.get(run.asid), run.lo, run.hi) is not None
        kind = "interpreter" if interpreter else "runtime" if runtime else "native"
        loader = first_in(per_rule[LOADER].get(run.asid), run.lo, run.hi)
        end = loader_end(run, loader) if loader is not None else None
        base = run.exec_pos if end is None else end[0]
        how = "" if end is None else f" (line {int(lines[end[0]])}, {end[1]})"
        start = after(run.asid, base, run.hi) if base is not None else None
        if kind == "native" and start is not None:
            why = WHY["native-main" if end is not None else "static-main"] + how
            sources[MAIN].append(([start], why))
        if kind == "interpreter":
            if start is not None:
                sources[INIT].append(([start], WHY["interp-init" if end is not None else "interp-init-static"] + how))
            role = first_in(language.get(run.asid), run.lo, run.hi)
            sources[MAIN].append((script_opens(run, run.lo if role is None else role), WHY["script-main"]))
        exits = first_in(per_rule[EXIT].get(run.asid), run.lo, run.hi)
        found: list[tuple[int, int, str]] = []
        pos, last = run.lo - 1, -1
        while True:
            best: tuple[int, int, str] | None = None
            for i in range(last + 1, len(PHASE_RULES)):
                for hits, why in sources[i]:
                    p = first_in(hits, pos + 1, run.hi)
                    if p is None or (i == MAIN and exits is not None and p >= exits and why != PHASE_RULES[MAIN]["why"]):
                        continue   # a derived main is never the exit itself
                    if best is None or p < best[0]:
                        best = (p, i, why)
            if best is None:
                break
            pos, last = best[0], best[1]
            found.append(best)
        picks.append((run, found, kind))

    # the evidence rows, taken from the table in one go (a row at a time costs ms each)
    wanted_rows = sorted({pos for _, found, _ in picks for pos, _, _ in found})
    rows: dict[int, Any] = dict(zip(wanted_rows, events.iloc[wanted_rows][
        ["seq", "time", "line", "syscall", "args", "ret_text"]].itertuples(index=False)))
    capture = _capture_gaps(events, syscall, fd, is_mmap, ok)
    phases: list[Phase] = []
    notes: list[str] = []
    for run, found, kind in picks:
        if not found:
            continue
        for pos, index, why in found:
            row = rows[pos]
            phases.append(Phase(PHASE_RULES[index]["phase"], run.asid, int(row.seq), None,
                                None if pd.isna(row.time) else float(row.time), None,
                                f"{why}: line {int(row.line)}: {_event_text(row)[:120]}", exe=run.exe))
        if run.exec_pos is None and not (run.asid == first and run.lo == int(positions[first][0])):
            continue   # a fork child before its exec: its parent's program, noted there
        got = {PHASE_RULES[i]["phase"] for _, i, _ in found}
        optional = {"native": {"runtime-init", "threads"}, "interpreter": {"threads"}, "runtime": set()}[kind]
        missing = [n for n in names if n not in got and n not in optional]
        if run.exec_pos is None:
            missing = [n for n in missing if n != "exec" or "process" in capture]
        if run.hi in per_rule[EXEC].get(run.asid, ()):
            missing = [n for n in missing if n != "exit"]   # it ran on as the next program
        if missing:
            notes.append(_note(run, missing, kind, capture))
    return phases, notes


def _capture_gaps(events: "pd.DataFrame", syscall: "pd.Series", fd: "np.ndarray", is_mmap: "np.ndarray",
                  ok: "np.ndarray") -> dict[str, str]:
    """The kinds of call the capture's filter left out ("opens", "process"), each with how the
    trace shows it: no open call at all while it maps files from descriptors (a full capture
    shows their opens), or no process call at all (execve, clone, fork, exit_group) while it
    shows other calls."""
    gaps: dict[str, str] = {}
    if not len(events):
        return gaps
    present = set(syscall.unique().tolist())
    if not present & {"openat", "open", "creat", "openat2"} and bool((is_mmap & ok & (fd >= 0)).any()):
        gaps["opens"] = "it shows no open call though it maps files from descriptors"
    if not present & {"execve", "execveat", "clone", "clone3", "fork", "vfork", "exit_group"}:
        gaps["process"] = "it shows no process call (execve, clone, exit_group)"
    return gaps


def _note(run: _Run, missing: list[str], kind: str, capture: dict[str, str]) -> str:
    """The note on a run's missing phases: which, why main could not be placed, and the capture
    that would show them when the trace shows its filter left their calls out."""
    name = (run.exe or "").rsplit("/", 1)[-1]
    who = (f"process {run.asid}" if run.asid is not None else "the process without a pid") + (f" ({name})" if name else "")
    text = f"{who}: no evidence for {', '.join(missing)}"
    if "loader" in missing and "opens" not in capture:
        text += "; loader: a statically linked program has none"
    if "main" in missing:
        if kind == "native":
            text += ("; main: the run shows neither its execve nor a loader" if run.exec_pos is None
                     else "; main: no event between its execve and its exit" if "loader" in missing
                     else "; main: no event between the loader's end and the exit")
        elif kind == "interpreter":
            text += (f"; main: {name} opened no file its command line names (a script, class or jar: "
                     "none when the code is given with -c or -e) and made no network socket call")
        elif kind == "runtime":
            text += ("; main: the language runtime's set-up has no end its system calls show, and the "
                     "program made no network socket call")
        text += "; --phase main=... sets it"
    # what each missing phase needs that the filter left out: a native program's main needs no
    # open call (its loader's end is a memory call), an interpreter's its script's open, a
    # runtime's a socket call (a filter that drops the opens may drop those too)
    needs = {"loader": ("opens",), "exec": ("process",), "threads": ("process",), "exit": ("process",),
             "main": {"native": ("process",), "interpreter": ("opens", "process"),
                      "runtime": ("opens", "process")}[kind]}
    gaps = sorted({capture[g] for m in missing for g in needs.get(m, ()) if g in capture})
    if gaps:
        text += (f" (the capture's filter left those calls out: {'; '.join(gaps)}; "
                 f"capture with {CAPTURE})")
    return text


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


def apply_user(phases: list[Phase], df: "pd.DataFrame", specs: Iterable[str], *,
               asid: int | None = None, t0: float | None = None) -> list[Phase]:
    """Add or override phases from --phase options. They apply to the address space ``asid``
    (default: the first process); a phase given replaces the detected one of that name in the
    program run the matched event falls in (a run starts at each execve), and names its program."""
    import pandas as pd

    events = df.sort_values("seq")
    if not len(events):
        return phases
    if t0 is None:  # (the trace's first event: Trace.start_time, which sees dropped events too)
        t0 = events["time"].dropna().min() if events["time"].notna().any() else None
    first_asid = asid if asid is not None else (
        phases[0].asid if phases else (None if pd.isna(events["pid"].iloc[0]) else int(events["pid"].iloc[0])))
    # the detected runs of that space: each starts at an exec phase
    execs = sorted(p.start_seq for p in phases if p.asid == first_asid and p.name == "exec" and p.source == "detected")

    def run_of(seq: int) -> int:
        return bisect_right(execs, seq)

    exe_of_run = {run_of(p.start_seq): p.exe for p in phases if p.asid == first_asid and p.source == "detected"}
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
        run = run_of(int(match.seq))
        phases = [p for p in phases if not (p.name == name and p.asid == first_asid and run_of(p.start_seq) == run)]
        phases.append(Phase(name, first_asid, int(match.seq), None,
                            None if pd.isna(match.time) else float(match.time), None,
                            f"given by --phase {spec}: line {int(match.line)}", source="user",
                            exe=exe_of_run.get(run)))
    return phases


def finish(phases: list[Phase], df: "pd.DataFrame", timeline: "pd.DataFrame",
           last: tuple[float | None, int] | None = None) -> list[Phase]:
    """Order phases per process, set their ends (the next phase's start, or the trace's last
    event: ``last``, its (time, seq), default the last of ``df``) and the VSZ/reserved/committed
    deltas over each from the timeline."""
    import pandas as pd

    out: list[Phase] = []
    by_space: dict[int | None, list[Phase]] = {}
    for p in phases:
        by_space.setdefault(p.asid, []).append(p)
    if last is not None:
        last_time, last_seq = last
    else:
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
