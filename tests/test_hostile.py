"""The hostile-input battery (issue 11): every command on inputs written to break it.

Whatever the input, option or stream, a command must end in a clear answer:

* no traceback (none printed, and in-process no exception but SystemExit leaves ``main``);
* exit code 0 or 2 (1 only with ``--strict``), and a message on stderr when it is not 0;
* the line accounting balanced whenever ``stats --json`` succeeds (README: ``lines == parsed +
  sum(skipped) + errors``; also ``events == sum(syscalls) + unknown_syscalls``), and ``parse``
  saying the same numbers and writing as many rows as it reports;
* ``--json`` output valid UTF-8 and valid JSON (ASCII, as the README promises);
* nothing on stdout or stderr that could act on a terminal: no ESC (no escape sequence at all
  when the output is not a terminal; on a terminal only SGR colours ``ESC [ ... m``), no C1
  control (U+0080-U+009F), no BEL, BS, CR or other C0 control but tab and newline;
* no input file changed (every input is hashed before and after).

Most cases run in-process through ``tracemem.cli.main`` with stdout and stderr captured as bytes
(stdout strict UTF-8, stderr backslashreplace, as Python sets them up for a UTF-8 locale);
closed and full standard streams, a pseudo-terminal and a regex hang run as subprocesses, in the
background while the in-process cases run. The inputs are built by tests/hostile_inputs.py
(deterministic). A failing mutated log is shrunk to the one mutated line that breaks it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import traceback
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

import hostile_inputs as hi
from hostile_inputs import Hostile

from tracemem import cli
from tracemem.cli import main

# --- running a command in-process -------------------------------------------------------------


@dataclass
class Run:
    argv: list[str]
    rc: int | None
    out: bytes
    err: bytes
    exception: str | None = None  # the traceback of an exception that left main()
    seconds: float = 0.0

    def brief(self) -> str:
        shown = " ".join(printable_arg(a) for a in self.argv)
        text = f"$ tracemem {shown}\n  exit code: {self.rc}\n"
        if self.exception:
            text += "  exception left main():\n    " + "\n    ".join(self.exception.rstrip().splitlines()[-6:]) + "\n"
        text += f"  stdout: {self.out[:600]!r}\n  stderr: {self.err[-1500:]!r}\n"
        return text


def printable_arg(arg: str) -> str:
    """An argument shown in a failure report: controls and non-ASCII escaped (the report goes to a
    terminal too)."""
    return ascii(arg)[1:-1]


#: Python's default warning filters (a user of the CLI sees these, not pytest's).
_DEFAULT_IGNORED = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def run_cli(argv: list[str], stdin: bytes = b"") -> Run:
    """``main(argv)`` with the standard streams replaced by byte buffers; warnings printed to the
    captured stderr the way Python prints them for a user."""
    out, err = io.BytesIO(), io.BytesIO()
    fout = io.TextIOWrapper(out, encoding="utf-8", errors="strict", newline="\n", write_through=True)
    ferr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", newline="\n", write_through=True)
    fin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors="surrogateescape")
    saved = sys.stdin, sys.stdout, sys.stderr
    rc: int | None = None
    exception = None
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for category in _DEFAULT_IGNORED:
            warnings.simplefilter("ignore", category)
        sys.stdin, sys.stdout, sys.stderr = fin, fout, ferr
        try:
            rc = main(argv)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - anything leaving main() is the finding
            exception = "".join(traceback.format_exception(exc))
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved
    for w in caught:
        ferr.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, None))
    ferr.flush()
    return Run(argv, rc, out.getvalue(), err.getvalue(), exception, time.perf_counter() - start)


# --- what every run must satisfy ----------------------------------------------------------------

_COLOUR_FORCED = any(os.environ.get(v) for v in ("FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "TTY_COMPATIBLE"))
#: SGR colour sequences are allowed in-process only when the environment forces colour (rich and
#: typer then colour captured output on purpose) or tracemem's consoles were made on a terminal
#: (pytest -s): otherwise rich emits no escape sequence at all into a captured stream.
SGR_IN_PROCESS = _COLOUR_FORCED or cli.stdout.color_system is not None or cli.stderr.color_system is not None

_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_BAD_CHAR = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_problems(data: bytes, stream: str, *, allow_sgr: bool) -> list[str]:
    """What in ``data`` could act on a terminal: escape sequences (other than SGR colours when
    allowed), C1 controls, BEL/BS/CR and the other C0 controls but tab and newline."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"unsafe-bytes: {stream} is not UTF-8 ({exc}): {data[max(0, exc.start - 40):exc.end + 40]!r}"]
    if allow_sgr:
        text = _SGR.sub("", text)
    problems = []
    for m in list(_BAD_CHAR.finditer(text))[:3]:
        around = text[max(0, m.start() - 30): m.end() + 30]
        problems.append(f"unsafe-bytes: {stream} holds {m.group()!r} at {m.start()}: {around!r}")
    return problems


def common_problems(run: Run, *, strict: bool = False, allow_sgr: bool = SGR_IN_PROCESS) -> list[str]:
    problems = []
    if run.exception:
        last = run.exception.rstrip().splitlines()[-1]
        problems.append(f"exception: {last}")
    for name, data in (("stdout", run.out), ("stderr", run.err)):
        if b"Traceback" in data:
            problems.append(f"traceback: printed on {name}")
    allowed = {0, 1, 2} if strict else {0, 2}
    if run.exception is None and run.rc not in allowed:
        problems.append(f"exit-code: {run.rc} (allowed: {sorted(allowed)})")
    if run.rc not in (0, None) and not run.err.strip() and not run.out.strip():
        problems.append(f"silent-failure: exit code {run.rc} and not a word on stdout or stderr")
    problems += terminal_problems(run.out, "stdout", allow_sgr=allow_sgr)
    problems += terminal_problems(run.err, "stderr", allow_sgr=allow_sgr)
    return problems


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def json_problems(run: Run) -> tuple[object, list[str]]:
    if run.rc != 0:
        return None, []
    try:
        text = run.out.decode("ascii")
    except UnicodeDecodeError as exc:
        return None, [f"json: --json output is not ASCII ({exc})"]
    try:
        return json.loads(text, parse_constant=_no_constants), []
    except ValueError as exc:
        return None, [f"json: not valid JSON ({exc}): {text[:200]!r}"]


def accounting_problems(data: object) -> list[str]:
    if not isinstance(data, dict):
        return ["accounting: stats --json is not an object"]
    try:
        skipped = sum(data["skipped"].values())
        problems = []
        if data["lines"] != data["parsed"] + skipped + data["errors"]:
            problems.append(f"accounting: lines {data['lines']} != parsed {data['parsed']} + skipped {skipped} "
                            f"+ errors {data['errors']}")
        if data["events"] != sum(data["syscalls"].values()) + data["unknown_syscalls"]:
            problems.append(f"accounting: events {data['events']} != sum(syscalls) + unknown_syscalls")
        if len(data["error_details"]) != min(data["errors"], 50):
            problems.append(f"accounting: {len(data['error_details'])} error_details for {data['errors']} errors")
        if min(data["lines"], data["parsed"], data["errors"], data["events"], skipped) < 0:
            problems.append("accounting: a negative count")
        return problems
    except (KeyError, TypeError, AttributeError) as exc:
        return [f"accounting: stats --json lacks a documented key ({exc!r})"]


# --- the commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    name: str
    words: tuple[str, ...]
    output: str | None = None       # suffix of the file written with -o
    json: bool = False
    strict: bool = False
    replay: bool = False            # takes --baseline-maps / --final-maps

    def argv(self, inputs: list[str], out_dir: Path, baseline: str | None = None, final: bool = False) -> list[str]:
        argv = [self.words[0], *inputs, *self.words[1:]]
        if self.output:
            argv += ["-o", str(out_dir / f"out{self.output}")]
        if baseline and self.replay:
            argv += ["--final-maps" if final else "--baseline-maps", baseline]
        return argv


COMMANDS = {c.name: c for c in [
    Command("stats", ("stats", "--no-progress")),
    Command("stats-json", ("stats", "--json"), json=True),
    Command("stats-strict", ("stats", "--json", "--strict"), json=True, strict=True),
    Command("parse-jsonl", ("parse", "--no-progress"), output=".jsonl"),
    Command("parse-csv", ("parse",), output=".csv"),
    Command("parse-parquet", ("parse",), output=".parquet"),
    Command("summary", ("summary",), replay=True),
    Command("summary-json", ("summary", "--json"), json=True, replay=True),
    Command("maps", ("maps",), replay=True),
    Command("maps-roles", ("maps", "--roles"), replay=True),
    Command("timeline-csv", ("timeline",), output=".csv", replay=True),
    Command("timeline-parquet", ("timeline",), output=".parquet", replay=True),
    Command("phases", ("phases",)),
    Command("phases-json", ("phases", "--json"), json=True),
    Command("plot-png", ("plot",), output=".png", replay=True),
]}

#: Which commands run on which kind of case (every command runs on the general ones).
COMMAND_SETS = {
    "all": [c for c in COMMANDS if c not in ("maps-roles", "timeline-parquet", "plot-png")],
    "text": ["stats", "stats-json", "parse-jsonl", "parse-csv", "summary", "summary-json", "maps-roles",
             "timeline-csv", "phases", "phases-json"],
    "compressed": ["stats-json", "parse-jsonl", "summary", "maps", "timeline-csv", "phases"],
    "numbers": ["stats-json", "parse-jsonl", "parse-parquet", "summary-json", "maps", "timeline-csv", "phases-json"],
    "long": ["stats-json", "parse-jsonl", "summary-json", "plot-png"],
    "baseline": ["summary", "summary-json", "summary-json-final", "maps", "timeline-csv"],
    "mutation": ["stats-json", "parse-jsonl", "summary-json", "maps", "timeline-csv", "phases-json"],
}
#: The chart is the slowest command (a quarter second, more with glyph warnings): drawn for a sample
#: of each kind of case.
PLOTTED = {"plain-control", "empty-file", "random-bytes", "token-soup", "elf-binary", "nuls-64k", "nuls-then-log",
           "utf16-log", "deep-nesting-brackets", "crlf", "cr-only", "last-line-cut", "nonutf8-execve",
           "nonutf8-mmap-fd-path", "nonutf8-latin1-whole-log", "nonutf8-input-file-name", "nonutf8-ff-file-names",
           "escape-osc-title", "escape-c1-csi-u009b", "escape-rich-markup", "escape-bs-cr-bel",
           "escape-all-strace-escaped", "escape-in-input-file-name", "two-ff-sets-same-pids", "strace-and-dtruss",
           "gz-truncated", "zst-valid", "number-mmap-len-2^64", "number-mmap-ret-2^63", "number-mmap-addr-2^64",
           "number-time-huge", "number-duration-huge", "number-pid-2^64", "number-clock-99:99:99",
           "baseline-range-2^64", "baseline-escapes-in-paths", "baseline-nonutf8-path",
           *(f"mutated-{i:02d}" for i in range(0, 40, 8))}


# --- the inputs on disk -----------------------------------------------------------------------


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Placed:
    case: Hostile
    folder: Path
    paths: list[Path]                     # every file of the case
    inputs: list[str]                     # as given on the command line
    hashes: dict[Path, str] = field(default_factory=dict)
    baseline: str | None = None

    def changed(self) -> list[str]:
        return [f"input-changed: {p.name!r} was modified" for p, h in self.hashes.items()
                if not p.exists() or sha(p) != h]


def _fs_name(name: str | bytes) -> str:
    return os.fsdecode(name) if isinstance(name, bytes) else name


def place(case: Hostile, root: Path) -> Placed:
    folder = root / re.sub(r"[^A-Za-z0-9_.^-]", "_", case.name)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in case.files.items():
        path = folder / _fs_name(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    args = case.args if case.args is not None else tuple(n for n in case.files if n != case.baseline)
    inputs = [str(folder / _fs_name(a)) for a in args]
    placed = Placed(case, folder, paths, inputs, baseline=str(folder / case.baseline) if case.baseline else None)
    placed.hashes = {p: sha(p) for p in paths}
    return placed


FIXED = hi.fixed_cases()
MUTATED = hi.mutation_cases(40)
CASES = {c.name: c for c in FIXED + MUTATED}
assert len(CASES) == len(FIXED) + len(MUTATED), "case names must be unique"


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Iterator["Arena"]:
    root = tmp_path_factory.mktemp("hostile")
    yield Arena(root)
    # read-only folders made by the odd-output cases: writable again, so pytest can clean up
    for p in root.rglob("*"):
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)


class Arena:
    """The cases' files (made once per module, on first use) and a fresh output folder per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.placed: dict[str, Placed] = {}
        self.stats: dict[str, object] = {}
        self._outs = 0

    def get(self, name: str) -> Placed:
        if name not in self.placed:
            self.placed[name] = place(CASES[name], self.root / "in")
        return self.placed[name]

    def out_dir(self) -> Path:
        self._outs += 1
        path = self.root / "out" / str(self._outs)
        path.mkdir(parents=True)
        return path

    def stats_of(self, name: str) -> dict | None:
        """stats --json of a case (None if it fails): the reference for cross-checks."""
        if name not in self.stats:
            placed = self.get(name)
            run = run_cli(["stats", *placed.inputs, "--json"])
            data = None
            if run.rc == 0 and run.exception is None:
                try:
                    data = json.loads(run.out)
                except ValueError:
                    data = None
            self.stats[name] = data
        return self.stats[name]  # type: ignore[return-value]


# --- checks of one command on one case ------------------------------------------------------------

_PARSE_DONE = re.compile(r"([\d,]+) events written to .* \(([\d,]+) lines: ([\d,]+) in events, ([\d,]+) skipped, "
                         r"([\d,]+) errors\)")
_TIMELINE_DONE = re.compile(r"([\d,]+) changes written to ")


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def output_problems(command: Command, run: Run, out_file: Path, reference: dict | None) -> list[str]:
    """A written file: there, readable, as many rows as the message says, the numbers of stats."""
    if run.rc != 0 or command.output is None:
        return []
    if not out_file.exists():
        return [f"output: exit 0 but {out_file.name} was not written"]
    err = run.err.decode("utf-8", "replace")
    problems = []
    if command.words[0] == "parse":
        m = _PARSE_DONE.search(err)
        if not m:
            return [f"output: no 'N events written ... (L lines: ...)' message: {err[-300:]!r}"]
        rows, lines, parsed, skipped, errors = map(_int, m.groups())
        if lines != parsed + skipped + errors:
            problems.append(f"accounting: parse says {lines} lines != {parsed} + {skipped} + {errors}")
        if reference is not None:
            if (lines, errors, rows) != (reference["lines"], reference["errors"], reference["events"]):
                problems.append(f"accounting: parse says {lines} lines, {errors} errors, {rows} events; "
                                f"stats --json {reference['lines']}, {reference['errors']}, {reference['events']}")
        problems += _table_rows(out_file, rows)
    elif command.words[0] == "timeline":
        m = _TIMELINE_DONE.search(err)
        if not m:
            return [f"output: no 'N changes written' message: {err[-300:]!r}"]
        problems += _table_rows(out_file, _int(m.group(1)))
    elif command.words[0] == "plot":
        if not out_file.read_bytes().startswith(b"\x89PNG"):
            problems.append("output: the chart is not a PNG")
    return problems


def _table_rows(path: Path, rows: int) -> list[str]:
    try:
        if path.suffix.lower() == ".jsonl":
            data = path.read_bytes()
            text = data.decode("utf-8")  # strict: the export is one documented form, valid UTF-8
            found = 0
            for line in text.split("\n"):  # (not splitlines: U+2028 may stand unescaped in a JSON string)
                if line:
                    json.loads(line, parse_constant=_no_constants)
                    found += 1
        elif path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            with open(path, "rb") as f:  # (Arrow refuses a file name that is not UTF-8)
                found = pq.ParquetFile(f).metadata.num_rows
        else:
            import pandas as pd

            found = len(pd.read_csv(path, low_memory=False))
    except (ValueError, OSError, ImportError) as exc:
        return [f"output: {path.name} cannot be read back ({type(exc).__name__}: {str(exc)[:200]})"]
    if found != rows:
        return [f"output: {path.name} holds {found} rows, the message says {rows}"]
    return []


def kept_problems(kept: tuple[int, str], path: Path, reference: dict | None) -> list[str]:
    """An out-of-range number is kept in its column, or its line is reported (a line error or the
    event's decode_error): never silently null, never an event lost."""
    line, column = kept
    if reference is not None and any(e["line"] == line for e in reference["error_details"]):
        return []
    try:
        rows = [json.loads(text) for text in path.read_text(encoding="utf-8").split("\n") if text]
    except (OSError, ValueError):
        return []  # reported by output_problems
    mine = [r for r in rows if r.get("line") is not None and r["line"] <= line <= (r.get("end_line") or r["line"])]
    if not mine:
        return [f"value-dropped: line {line} is neither an event nor a line error"]
    row = mine[0]
    if row.get(column) is None and not row.get("decode_error"):
        return [f"value-dropped: line {line} became an event with {column} = null and no decode_error "
                f"(syscall {row.get('syscall')!r}, args {str(row.get('args'))[:80]!r})"]
    return []


def check(command: Command, placed: Placed, arena: Arena, *, final: bool = False,
          argv: list[str] | None = None) -> tuple[Run, list[str]]:
    case = placed.case
    out_dir = arena.out_dir()
    argv = argv or command.argv(placed.inputs, out_dir, placed.baseline, final)
    run = run_cli(argv)
    problems = common_problems(run, strict=command.strict)
    if case.expect_rc is not None and run.rc != case.expect_rc:
        problems.append(f"exit-code: {run.rc}, expected {case.expect_rc}")
    if case.message and run.rc and case.message not in run.err.decode("utf-8", "replace"):
        problems.append(f"message: stderr does not say {case.message!r}")
    if case.must_speak and command.words[0] in ("summary", "maps", "timeline", "phases", "plot") \
            and run.rc == 0 and not run.err.strip():
        problems.append("wrong-without-a-word: logs of different runs replayed together, exit 0 and nothing on stderr")
    reference = None
    if command.json:
        data, bad = json_problems(run)
        problems += bad
        if command.words[0] == "stats" and data is not None:
            problems += accounting_problems(data)
            if case.same_as:
                want = arena.stats_of(case.same_as)
                got = {k: data.get(k) for k in ("lines", "events", "errors")}  # type: ignore[union-attr]
                if want is not None and got != {k: want[k] for k in got}:
                    problems.append(f"same-as: {got} but {case.same_as} gives "
                                    f"{ {k: want[k] for k in got} }")
    if command.output and run.rc == 0:
        if command.words[0] == "parse":
            reference = arena.stats_of(case.name)
        problems += output_problems(command, run, out_dir / f"out{command.output}", reference)
        if case.kept and command.output == ".jsonl":
            problems += kept_problems(case.kept, out_dir / "out.jsonl", reference)
    problems += placed.changed()
    return run, problems


def report(run: Run, problems: list[str], extra: str = "") -> str:
    return "\n".join(["", *("  * " + p for p in problems), run.brief() + extra])


def _kinds(problems: list[str]) -> set[str]:
    """A problem's kind: its tag, and for an exception its class (``exception:OverflowError``)."""
    kinds = set()
    for p in problems:
        tag, _, rest = p.partition(":")
        if tag == "exception":
            tag += ":" + rest.strip().split(":")[0]
        kinds.add(tag)
    return kinds


def shrink(command: Command, placed: Placed, arena: Arena, problems: list[str], budget: float = 3.0) -> str:
    """The one mutated line (alone, else in its log) that shows the same kind of failure."""
    case = placed.case
    if not case.mutated:
        return ""
    kinds = _kinds(problems)
    source = next(iter(case.files))
    deadline = time.monotonic() + budget
    folder = arena.root / "shrink" / case.name
    folder.mkdir(parents=True, exist_ok=True)
    for alone in (True, False):
        for line_no, before, after in case.mutated:
            if time.monotonic() > deadline:
                return "\n  (shrinking ran out of time)"
            data = after + b"\n" if alone else hi.apply_mutations(str(source), [(line_no, before, after)])
            path = folder / f"{line_no}-{int(alone)}.trace"
            path.write_bytes(data)
            out_dir = arena.out_dir()
            run = run_cli(command.argv([str(path)], out_dir))
            found = common_problems(run, strict=command.strict)
            if command.json:
                found += json_problems(run)[1]
            if kinds & _kinds(found):
                where = "alone" if alone else f"as line {line_no} of {source}"
                return (f"\n  smallest input found: the mutated line {where}:\n    {after!r}\n"
                        f"  (originally {before!r})\n  its run:\n{run.brief()}")
    return "\n  (no single mutated line shows it: the combination does)"


# --- the battery: general cases × commands ------------------------------------------------------------


def _case_params() -> list:
    params = []
    for case in FIXED + MUTATED:
        names = COMMAND_SETS[case.commands]
        if "plot-png" not in names and any(case.name == p or case.name.startswith(p + "-") for p in PLOTTED):
            names = [*names, "plot-png"]
        for name in names:
            params.append(pytest.param(case.name, name, id=f"{case.name}--{name}"))
    return params


@pytest.mark.parametrize("case_name,command_name", _case_params())
def test_hostile_input(arena: Arena, case_name: str, command_name: str) -> None:
    placed = arena.get(case_name)
    final = command_name.endswith("-final")
    command = COMMANDS[command_name.removesuffix("-final")]
    run, problems = check(command, placed, arena, final=final)
    if problems:
        extra = shrink(command, placed, arena, problems)
        if placed.case.mutated:
            extra += "\n  mutated lines: " + "; ".join(f"{n}: {a!r}" for n, _, a in placed.case.mutated)
        pytest.fail(report(run, problems, extra), pytrace=False)


# --- odd options and command lines ----------------------------------------------------------------------

_P = {k: v.decode("utf-8", "surrogateescape") for k, v in hi.PAYLOADS.items()}


def fname(text: str) -> str:
    """Payload text usable in one file name (a markup closing tag's "/" would make a folder)."""
    return text.replace("/", "")
N64, D23 = hi.N64.decode(), hi.D23.decode()


@dataclass(frozen=True)
class OptionCase:
    name: str
    argv: Callable[[str, Path], list[str]]   # (the log, an output folder) -> argv
    expect_rc: int | None = None             # None: 0 or 2


def _option_cases() -> list[OptionCase]:
    cases: list[OptionCase] = []
    add = cases.append
    # --phase names with escapes and markup, on every command that takes --phase
    for key, payload in _P.items():
        phase = payload.replace("=", "") + "=0.0005"  # (the first "=" ends the name)
        add(OptionCase(f"phase-name-{key}-summary", lambda log, o, p=phase: ["summary", log, "--phase", p], 0))
        add(OptionCase(f"phase-name-{key}-phases", lambda log, o, p=phase: ["phases", log, "--phase", p], 0))
        add(OptionCase(f"phase-name-{key}-phases-json", lambda log, o, p=phase: ["phases", log, "--json", "--phase", p], 0))
        if key in ("osc-title", "c1-csi-u009b", "rich-markup", "bs-cr-bel"):
            add(OptionCase(f"phase-name-{key}-plot",
                           lambda log, o, p=phase: ["plot", log, "-o", str(o / "p.png"), "--phase", p], 0))
        add(OptionCase(f"output-name-{key}-parse",
                       lambda log, o, p=payload: ["parse", log, "-o", str(o / fname(f"{p}.jsonl"))], 0))
        add(OptionCase(f"pid-{key}-maps", lambda log, o, p=payload: ["maps", log, "--pid", p], 2))
    # --phase values out of range or malformed
    for key, value in {"nan": "x=nan", "inf": "x=inf", "minus-inf": "x=-inf", "1e400": "x=1e400", "negative": "x=-5",
                       "line-0": "x=line:0", "line-negative": "x=line:-5", "line-23-digits": f"x=line:{D23}",
                       "bad-regex": "x=/[/", "empty-regex": "x=//", "no-name": "=1", "no-value": "x=", "bare": "x",
                       "clock-99": "x=99:99:99.999999", "regex-escape": "x=/\x1b]0;t\x07/",
                       "line-escape": "x=line:\x1b[2J", "400-nines": "x=" + "9" * 400,
                       "markup-value": "x=[bold]1[/]"}.items():
        add(OptionCase(f"phase-value-{key}-summary", lambda log, o, v=value: ["summary", log, "--phase", v]))
        add(OptionCase(f"phase-value-{key}-phases-json", lambda log, o, v=value: ["phases", log, "--json", "--phase", v]))
    # numbers and words where a count or a pid goes
    for key, value in {"minus-1": "-1", "2^64": N64, "23-digits": D23, "markup": "[bold]3[/]", "empty": "",
                       "escape": "\x1b[2J"}.items():
        add(OptionCase(f"top-{key}", lambda log, o, v=value: ["summary", log, "--top", v]))
        add(OptionCase(f"processes-{key}", lambda log, o, v=value: ["summary", log, "--processes", v]))
        add(OptionCase(f"pid-{key}-maps", lambda log, o, v=value: ["maps", log, "--pid", v]))
        add(OptionCase(f"pid-{key}-plot", lambda log, o, v=value: ["plot", log, "-o", str(o / "p.png"), "--pid", v]))
    add(OptionCase("pid-0-maps", lambda log, o: ["maps", log, "--pid", "0"]))
    add(OptionCase("overcommit-escape", lambda log, o: ["summary", log, "--overcommit", _P["osc-title"]], 2))
    add(OptionCase("overcommit-markup", lambda log, o: ["summary", log, "--overcommit", _P["rich-markup"]], 2))
    add(OptionCase("panels-escape", lambda log, o: ["plot", log, "-o", str(o / "p.png"), "--panels", _P["csi-clear"]], 2))
    add(OptionCase("panels-empty-items", lambda log, o: ["plot", log, "-o", str(o / "p.png"), "--panels", ",,map_count,,"]))
    add(OptionCase("unknown-command-escape", lambda log, o: [_P["osc-title"], log], 2))
    add(OptionCase("unknown-command-markup", lambda log, o: [_P["rich-markup"], log], 2))
    add(OptionCase("unknown-option-escape", lambda log, o: ["stats", log, "--" + _P["osc52-clipboard"]], 2))
    add(OptionCase("unknown-option-c1", lambda log, o: ["summary", log, "--x" + _P["c1-csi-u009b"]], 2))
    add(OptionCase("no-arguments", lambda log, o: [], None))
    for name in ("stats", "parse", "summary", "maps", "timeline", "phases", "plot"):
        add(OptionCase(f"help-{name}", lambda log, o, n=name: [n, "--help"], 0))
        add(OptionCase(f"no-input-{name}", lambda log, o, n=name: [n], 2))
    add(OptionCase("help", lambda log, o: ["--help"], 0))
    # odd input names, on every command
    inputs = {
        "missing-escape-name": lambda o: [str(o / fname(_P["osc-title"] + _P["rich-markup"] + ".trace"))],
        "missing-nonutf8-name": lambda o: [str(o / os.fsdecode(b"caf\xe9.trace"))],
        "name-300-chars": lambda o: [str(o / ("a" * 300 + ".trace"))],
        "path-5000-chars": lambda o: [str(o / "/".join(["d" * 200] * 25) / "x.trace")],
        "empty-string": lambda o: [""],
        "directory": lambda o: [str(o)],
        "dev-null": lambda o: ["/dev/null"],
        "proc-self-maps": lambda o: ["/proc/self/maps"],
        "glob-no-match": lambda o: [str(o / "*.nothing")],
        "glob-bracket": lambda o: [str(o / "[")],
        "glob-escape": lambda o: [str(o / ("*" + _P["csi-clear"]))],
        "file-under-a-file": lambda o: [str(hi.PLAIN / "x.trace")],
    }
    for key, make in inputs.items():
        for name, words in (("stats", ["stats"]), ("parse", ["parse"]), ("summary", ["summary"]), ("maps", ["maps"]),
                            ("timeline", ["timeline"]), ("phases", ["phases"]), ("plot", ["plot"])):
            suffix = {"parse": ".jsonl", "timeline": ".csv", "plot": ".png"}.get(name)
            expect = None if key in ("dev-null", "proc-self-maps") else 2

            def argv(log: str, o: Path, w: list[str] = words, m: Callable = make, s: str | None = suffix) -> list[str]:
                return [*w, *m(o), *(["-o", str(o / f"out{s}")] if s else [])]

            add(OptionCase(f"input-{key}-{name}", argv, expect))
    # odd snapshots given by name
    for key, value in {"missing-escape": lambda o: str(o / (_P["osc-title"] + ".maps")), "directory": lambda o: str(o),
                       "proc-self-maps": lambda o: "/proc/self/maps", "dev-null": lambda o: "/dev/null"}.items():
        add(OptionCase(f"baseline-{key}-summary", lambda log, o, v=value: ["summary", log, "--baseline-maps", v(o)],
                       None if key in ("proc-self-maps", "dev-null") else 2))
        add(OptionCase(f"final-{key}-maps", lambda log, o, v=value: ["maps", log, "--final-maps", v(o)],
                       None if key in ("proc-self-maps", "dev-null") else 2))
    add(OptionCase("baseline-and-final", lambda log, o: ["summary", log, "--baseline-maps", "/proc/self/maps",
                                                         "--final-maps", "/proc/self/maps"], 2))
    return cases


OPTION_CASES = {c.name: c for c in _option_cases()}
assert len(OPTION_CASES) == len(_option_cases())


@pytest.mark.parametrize("name", list(OPTION_CASES))
def test_hostile_option(arena: Arena, name: str) -> None:
    case = OPTION_CASES[name]
    placed = arena.get("plain-control")
    run = run_cli(case.argv(placed.inputs[0], arena.out_dir()))
    problems = common_problems(run)
    if case.expect_rc is not None and run.rc != case.expect_rc:
        problems.append(f"exit-code: {run.rc}, expected {case.expect_rc}")
    if "--json" in run.argv:
        problems += json_problems(run)[1]
    problems += placed.changed()
    if problems:
        pytest.fail(report(run, problems), pytrace=False)


# --- odd output paths ----------------------------------------------------------------------------

WRITERS = ["parse-jsonl", "parse-csv", "parse-parquet", "timeline-csv", "timeline-parquet", "plot-png"]
IS_ROOT = os.geteuid() == 0


def _odd_output(kind: str, folder: Path, suffix: str, log: Path) -> tuple[str, int | None]:
    """An output path of the given kind (made in ``folder``), and the exit code it must give."""
    if kind == "a-directory":
        (folder / f"dir{suffix}").mkdir()
        return str(folder / f"dir{suffix}"), 2
    if kind == "missing-directory":
        return str(folder / "missing" / f"x{suffix}"), 2
    if kind == "read-only-directory":
        ro = folder / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return str(ro / f"x{suffix}"), None if IS_ROOT else 2  # root writes anyway
    if kind == "proc":
        return f"/proc/x{suffix}", 2
    if kind == "dev-full":
        return "/dev/full", 2
    if kind == "full-disk":  # a symlink with the right suffix to /dev/full: every write fails, ENOSPC
        (folder / f"full{suffix}").symlink_to("/dev/full")
        return str(folder / f"full{suffix}"), 2
    if kind == "name-300-chars":
        return str(folder / ("n" * 300 + suffix)), 2
    if kind == "path-5000-chars":
        return str(folder / "/".join(["d" * 200] * 25) / f"x{suffix}"), 2
    if kind == "unsupported-suffix":
        return str(folder / "out.txt"), 2
    if kind == "no-suffix":
        return str(folder / "out"), 2
    if kind == "only-a-suffix":
        return str(folder / suffix), None
    if kind == "upper-case-suffix":
        return str(folder / f"out{suffix.upper()}"), 0
    if kind == "empty-string":
        return "", 2
    if kind == "parent-is-a-file":
        (folder / "afile").write_text("x")
        return str(folder / "afile" / f"x{suffix}"), 2
    if kind == "escape-and-markup-name":
        return str(folder / fname(_P["osc-title"] + _P["rich-markup"] + _P["c1-csi-u009b"] + suffix)), 0
    if kind == "nonutf8-name":
        return str(folder / os.fsdecode(b"caf\xe9" + suffix.encode())), None
    if kind == "existing-file":
        (folder / f"old{suffix}").write_bytes(b"old contents")
        return str(folder / f"old{suffix}"), 0
    if kind == "same-as-input":
        return str(log), 2
    if kind == "same-via-symlink":
        (folder / f"link{suffix}").symlink_to(log)
        return str(folder / f"link{suffix}"), 2
    if kind == "same-via-hardlink":
        os.link(log, folder / f"hard{suffix}")
        return str(folder / f"hard{suffix}"), 2
    if kind == "same-via-dotdot":
        return str(log.parent / ".." / log.parent.name / log.name), 2
    if kind == "same-as-baseline":
        return str(folder / f"snap{suffix}"), None
    raise AssertionError(kind)


ODD_OUTPUTS = ["a-directory", "missing-directory", "read-only-directory", "proc", "dev-full", "full-disk",
               "name-300-chars", "path-5000-chars", "unsupported-suffix", "no-suffix", "only-a-suffix",
               "upper-case-suffix", "empty-string", "parent-is-a-file", "escape-and-markup-name", "nonutf8-name",
               "existing-file", "same-as-input", "same-via-symlink", "same-via-hardlink", "same-via-dotdot",
               "same-as-baseline"]


@pytest.mark.parametrize("kind", ODD_OUTPUTS)
@pytest.mark.parametrize("command_name", WRITERS)
def test_odd_output_path(arena: Arena, command_name: str, kind: str) -> None:
    command = COMMANDS[command_name]
    folder = arena.out_dir()
    suffix = command.output or ""
    log = folder / f"run{suffix}"          # the log itself, named like the output (input = output cases)
    log.write_bytes(hi.PLAIN.read_bytes())
    output, expect = _odd_output(kind, folder, suffix, log)
    argv = [command.words[0], str(log), *command.words[1:], "-o", output]
    watched = [log]
    if kind == "same-as-baseline":
        snap = Path(output)
        snap.write_bytes((hi.CAPTURES / "go-f-memory.maps").read_bytes())
        watched.append(snap)
        if command.replay:
            argv += ["--baseline-maps", output]
        else:
            argv = [command.words[0], str(log), str(snap), *command.words[1:], "-o", output]  # a second input
    hashes = {p: sha(p) for p in watched}
    run = run_cli(argv)
    problems = common_problems(run)
    if expect is not None and run.rc != expect:
        problems.append(f"exit-code: {run.rc}, expected {expect}")
    if run.rc == 2 and b"error:" not in run.err:
        problems.append("message: exit code 2 without an 'error:' line")
    problems += [f"input-changed: {p.name} was modified" for p, h in hashes.items() if not p.exists() or sha(p) != h]
    if run.rc == 0 and kind not in ("dev-full", "full-disk", "proc"):
        problems += output_problems(command, run, Path(output), None)
    if problems:
        pytest.fail(report(run, problems), pytrace=False)


# --- closed and full standard streams, a terminal, a regex that never ends: real processes ---------------

SCRUBBED_ENV = ("FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR",
                "CLICOLOR_FORCE", "COLUMNS", "LINES", "PYTHONIOENCODING", "TERMINAL_WIDTH")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(extra)
    return env


@dataclass(frozen=True)
class StreamCase:
    name: str
    args: tuple[str | bytes, ...]      # after `python -m tracemem`; "{log}", "{bad}", "{out}" are filled in
    stdin: str = "devnull"            # devnull | closed | gzip | random (a file)
    stdout: str = "pipe"              # pipe | closed | full | broken-pipe
    stderr: str = "pipe"              # pipe | closed | full
    expect_rc: int | None = None       # None: 0 or 2
    timeout: float = 120.0


STREAM_CASES = {c.name: c for c in [
    StreamCase("stdin-closed-stats", ("stats", "-"), stdin="closed", expect_rc=2),
    StreamCase("stdin-empty-stats-json", ("stats", "-", "--json"), stdin="devnull"),
    StreamCase("stdin-gzip-stats-json", ("stats", "-", "--json"), stdin="gzip", expect_rc=0),
    StreamCase("stdin-random-bytes-maps", ("maps", "-"), stdin="random"),
    StreamCase("stdout-closed-stats-json", ("stats", "{log}", "--json"), stdout="closed", expect_rc=2),
    StreamCase("stdout-closed-summary", ("summary", "{log}"), stdout="closed", expect_rc=2),
    StreamCase("stdout-closed-maps", ("maps", "{log}"), stdout="closed", expect_rc=2),
    StreamCase("stdout-closed-parse", ("parse", "{log}", "-o", "{out}/e.jsonl"), stdout="closed", expect_rc=0),
    StreamCase("stdout-full-stats-json", ("stats", "{log}", "--json"), stdout="full", expect_rc=2),
    StreamCase("stdout-full-summary", ("summary", "{log}"), stdout="full", expect_rc=2),
    StreamCase("stdout-full-maps", ("maps", "{log}"), stdout="full", expect_rc=2),
    StreamCase("stdout-broken-pipe-maps", ("maps", "{log}"), stdout="broken-pipe"),
    StreamCase("stderr-closed-missing-input", ("stats", "/nonexistent/x.trace"), stderr="closed", expect_rc=2),
    StreamCase("stderr-closed-parse", ("parse", "{log}", "-o", "{out}/e.jsonl"), stderr="closed"),
    StreamCase("stderr-full-missing-input", ("stats", "/nonexistent/x.trace"), stderr="full", expect_rc=2),
    StreamCase("stderr-full-line-errors", ("stats", "{bad}"), stderr="full"),
    StreamCase("all-closed-stats", ("stats", "{log}"), stdin="closed", stdout="closed", stderr="closed", expect_rc=2),
    StreamCase("nonutf8-argv-input-name", ("summary", b"/nonexistent/caf\xe9.trace"), expect_rc=2),
    StreamCase("strict-utf8-stdout-stats-json", ("stats", "{bad}", "--json"), expect_rc=0),
    StreamCase("phase-regex-catastrophic", ("summary", "{redos}", "--phase", "x=/(a+)+$/"), timeout=15.0),
]}

#: On a pseudo-terminal: trace text and option text with every payload (only SGR colours may pass).
_ALL_PAYLOADS = "".join(_P.values())
PTY_CASES = {
    "pty-stats": ("stats", "{esc}", "--no-progress"),
    "pty-summary": ("summary", "{esc}"),
    "pty-maps": ("maps", "{esc}", "--roles"),
    "pty-summary-phase-name": ("summary", "{log}", "--phase", _ALL_PAYLOADS + "=0.0005"),
    "pty-plot-phase-name": ("plot", "{log}", "-o", "{out}/p.png", "--phase", _ALL_PAYLOADS + "=0.0005"),
    "pty-parse-output-name": ("parse", "{log}", "--no-progress", "-o", "{out}/" + fname(_P["osc-title"] + _P["rich-markup"] + ".jsonl")),
    "pty-usage-error-pid": ("maps", "{log}", "--pid", _ALL_PAYLOADS),
    "pty-unknown-command": (_ALL_PAYLOADS, "{log}"),
}


@dataclass
class ProcResult:
    argv: list[str | bytes]
    rc: int | None
    out: bytes
    err: bytes
    seconds: float
    timed_out: bool = False
    skipped: str = ""

    def as_run(self) -> Run:
        return Run([os.fsdecode(a) for a in self.argv], self.rc, self.out, self.err, None, self.seconds)


def _fill(args: tuple[str | bytes, ...], files: dict[str, str]) -> list[str | bytes]:
    out: list[str | bytes] = []
    for a in args:
        if isinstance(a, str):
            for key, value in files.items():
                a = a.replace("{" + key + "}", value)
        out.append(a)
    return out


def _stream_files(root: Path) -> dict[str, str]:
    import gzip

    root.mkdir(parents=True, exist_ok=True)
    log = root / "run.trace"
    log.write_bytes(hi.PLAIN.read_bytes())
    bad = root / "bad.trace"  # line errors whose excerpts hold undecodable bytes and C1 controls
    bad.write_bytes(hi.mini(extra=(b"mmap(\xe9\xc2\x9b31m = 0x1", b'openat(AT_FDCWD, "/tmp/caf\xe9.so", O_RDONLY) = 3')))
    redos = root / "redos.trace"
    redos.write_bytes(hi.mini(extra=(b'openat(AT_FDCWD, "/' + b"a" * 40 + b'!", O_RDONLY) = 4',)))
    esc = root / "esc.trace"
    esc.write_bytes(hi.payload_log(b"".join(hi.PAYLOADS.values())))
    (root / "stdin.gz").write_bytes(gzip.compress(hi.PLAIN.read_bytes()))
    (root / "stdin.random").write_bytes(hi.random.Random(17).randbytes(32 << 10))
    out = root / "out"
    out.mkdir(exist_ok=True)
    return {"log": str(log), "bad": str(bad), "redos": str(redos), "esc": str(esc),
            "out": str(out), "root": str(root)}


def _run_stream(case: StreamCase, files: dict[str, str]) -> ProcResult:
    argv: list[str | bytes] = [sys.executable, "-m", "tracemem", *_fill(case.args, files)]
    root = Path(files["root"])
    opened: list = []
    close_fds: list[int] = []

    def stream(kind: str, name: str) -> object:
        if kind == "pipe":
            return subprocess.PIPE
        if kind == "devnull":
            return subprocess.DEVNULL
        if kind == "closed":
            close_fds.append({"stdin": 0, "stdout": 1, "stderr": 2}[name])
            return subprocess.DEVNULL
        if kind == "full":
            f = open("/dev/full", "wb")
            opened.append(f)
            return f
        if kind == "broken-pipe":
            r, w = os.pipe()
            os.close(r)
            opened.append(os.fdopen(w, "wb"))
            return opened[-1]
        if kind in ("gzip", "random"):
            f = open(root / f"stdin.{ 'gz' if kind == 'gzip' else 'random'}", "rb")
            opened.append(f)
            return f
        raise AssertionError(kind)

    stdin = stream(case.stdin, "stdin")
    stdout = stream(case.stdout, "stdout")
    stderr = stream(case.stderr, "stderr")
    fds = tuple(close_fds)

    def preexec() -> None:  # the streams the case wants closed: closed before tracemem starts
        for fd in fds:
            os.close(fd)

    env = _env()
    if case.name.startswith("strict-utf8"):
        env["PYTHONIOENCODING"] = "utf-8:strict"
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, env=env, preexec_fn=preexec,
                            cwd=files["root"])
    for f in opened:
        f.close()
    try:
        out, err = proc.communicate(timeout=case.timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        timed_out = True
    return ProcResult(argv[3:], proc.returncode, out or b"", err or b"", time.perf_counter() - start, timed_out)


def _run_pty(args: tuple[str, ...], files: dict[str, str]) -> ProcResult:
    argv: list[str | bytes] = [sys.executable, "-m", "tracemem", *_fill(args, files)]
    try:
        master, slave = pty.openpty()
    except OSError as exc:
        return ProcResult(argv[3:], None, b"", b"", 0.0, skipped=f"no pseudo-terminal here ({exc})")
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST  # the bytes as the program wrote them (no \n -> \r\n)
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            env=_env(TERM="xterm-256color"), cwd=files["root"])
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError as exc:
                if exc.errno == errno.EIO:
                    break
                raise
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    return ProcResult(argv[3:], rc, b"", b"".join(chunks), time.perf_counter() - start)


class Background:
    """The subprocess cases, run on one thread from the start of the module (a second core works
    on them while the in-process cases run)."""

    def __init__(self, root: Path, wanted: set[str]) -> None:
        self.files = _stream_files(root)
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.futures: dict[str, Future] = {}
        for name, case in STREAM_CASES.items():
            if name in wanted:
                self.futures[name] = self.pool.submit(_run_stream, case, self.files)
        for name, args in PTY_CASES.items():
            if name in wanted:
                self.futures[name] = self.pool.submit(_run_pty, args, self.files)

    def result(self, name: str) -> ProcResult:
        if name not in self.futures:
            self.futures[name] = self.pool.submit(
                _run_stream if name in STREAM_CASES else _run_pty,
                STREAM_CASES[name] if name in STREAM_CASES else PTY_CASES[name], self.files)
        return self.futures[name].result()


@pytest.fixture(scope="module", autouse=True)
def background(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Background]:
    wanted = {item.callspec.params.get("name") for item in request.session.items
              if getattr(item, "module", None) is request.module and hasattr(item, "callspec")
              and item.originalname in ("test_standard_stream", "test_on_a_terminal")}
    bg = Background(tmp_path_factory.mktemp("streams"), {w for w in wanted if w})
    yield bg
    bg.pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("name", list(STREAM_CASES))
def test_standard_stream(background: Background, name: str) -> None:
    case = STREAM_CASES[name]
    if "full" in (case.stdout, case.stderr) and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    result = background.result(name)
    run = result.as_run()
    problems = []
    if result.timed_out:
        problems.append(f"hang: still running after {case.timeout:.0f} s (killed)")
    else:
        problems += common_problems(run, allow_sgr=False)
        if case.stderr in ("closed", "full"):
            # with stderr closed or full there is nowhere to say it (stdout is the data's, and may
            # be piped): the exit code is the message
            problems = [p for p in problems if not p.startswith("silent-failure")]
        if case.expect_rc is not None and run.rc != case.expect_rc:
            problems.append(f"exit-code: {run.rc}, expected {case.expect_rc}")
        if case.stderr == "pipe" and run.rc == 2 and b"error:" not in run.err:
            problems.append("message: exit code 2 without an 'error:' line")
        if "--json" in case.args and case.stdout == "pipe":
            problems += json_problems(run)[1]
            data, _ = json_problems(run)
            if data is not None and case.args[0] == "stats":
                problems += accounting_problems(data)
                if case.stdin == "gzip":
                    want = json.loads(run_cli(["stats", str(hi.PLAIN), "--json"]).out)
                    if (data["lines"], data["events"]) != (want["lines"], want["events"]):  # type: ignore[index]
                        problems.append("same-as: gzip on stdin does not give the plain log's lines and events")
    if problems:
        pytest.fail(report(run, problems), pytrace=False)


#: The controls the progress line (tracemem.progress, rich) writes on a terminal and nothing else
#: does: hide/show the cursor, go to the line's start and erase it, go up a line and erase it.
#: Only these exact sequences are taken out before the check; a lone CR or any other escape stays.
_PROGRESS_CONTROLS = re.compile(rb"\x1b\[\?25[lh]|\r\x1b\[2K|\r?\x1b\[1A\x1b\[2K")


@pytest.mark.parametrize("name", list(PTY_CASES))
def test_on_a_terminal(background: Background, name: str) -> None:
    result = background.result(name)
    if result.skipped:
        pytest.skip(result.skipped)
    run = result.as_run()  # stdout and stderr both went to the terminal: all in .err
    run = dataclasses.replace(run, out=_PROGRESS_CONTROLS.sub(b"", run.out), err=_PROGRESS_CONTROLS.sub(b"", run.err))
    problems = common_problems(run, allow_sgr=True)
    if problems:
        pytest.fail(report(run, problems), pytrace=False)
