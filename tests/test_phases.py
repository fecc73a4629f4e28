"""Startup phases detected on real traces (samples/, tests/data/), with the boundaries the traces
show. Where a boundary is a rule's (the loader's end, the script an interpreter opens, an execve
in the same process), the expected line is found in the trace's own text here, independently of
the detection."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tracemem
from tracemem.errors import UsageError

from conftest import DATA, SAMPLES, STRACE_DATA

PHASES = DATA / "phases"
GROUND = DATA / "groundtruth"
CAPTURES = DATA / "captures"
_CALL = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+[0-9:.]+\s+([a-z_0-9]+)\(")


def detected(path: Path | str, user=(), **pick):
    trace = tracemem.read_trace(SAMPLES / path if isinstance(path, str) else path)
    found, notes = trace.phases(user, **pick)
    return trace, found, notes


def starts(trace, found, asid=None):
    df = trace.df.set_index("seq")
    first = found[0].asid if asid is None else asid
    return {p.name: (int(df.loc[p.start_seq, "line"]), str(df.loc[p.start_seq, "syscall"]))
            for p in found if p.asid == first}


def runs(trace, found, asid):
    """The phases of one address space, split at its exec phases: [[(name, line, exe)], ...]."""
    df = trace.df.set_index("seq")
    out: list[list[tuple[str, int, str | None]]] = []
    for p in sorted((p for p in found if p.asid == asid), key=lambda p: p.start_seq):
        if p.name == "exec" or not out:
            out.append([])
        out[-1].append((p.name, int(df.loc[p.start_seq, "line"]), p.exe))
    return out


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def cache_unmaps(path: Path, pid: int) -> list[int]:
    """The lines where ``pid`` unmaps a mapping of /etc/ld.so.cache (named by -y), read from the
    text: the mmap's returned address, then the munmap of that address."""
    text = lines(path)
    found, pending = [], {}
    for n, line in enumerate(text, 1):
        m = _CALL.match(line)
        if not m or int(m.group(1)) != pid:
            continue
        if m.group(2) == "mmap" and "ld.so.cache>" in line:
            pending[line.rsplit("= ", 1)[1].split()[0]] = n
        elif m.group(2) == "munmap":
            addr = line.split("(", 1)[1].split(",", 1)[0]
            if pending.pop(addr, None):
                found.append(n)
    return found


def next_call(path: Path, pid: int, after: int) -> int:
    """The line of ``pid``'s first call (a syscall line, not a resumption) after line ``after``
    among the calls the model reads (MODEL_SYSCALLS: what the command line reads the trace for,
    so the phases are the same on a full table and on the CLI's)."""
    from tracemem.trace import MODEL_SYSCALLS

    for n, line in enumerate(lines(path), 1):
        m = _CALL.match(line)
        if n > after and m and int(m.group(1)) == pid and m.group(2) in MODEL_SYSCALLS:
            return n
    raise AssertionError(f"no call of {pid} after line {after}")


def execs(path: Path, pid: int) -> list[tuple[int, str]]:
    """(line, path) of ``pid``'s successful execve calls, from the text (resumed ones included)."""
    text, out, waiting = lines(path), [], None
    for n, line in enumerate(text, 1):
        if not line.startswith(f"{pid} "):
            continue
        m = re.search(r'execve\("([^"]*)"', line)
        if m and line.rstrip().endswith("<unfinished ...>"):
            waiting = (n, m.group(1))
        elif m:
            if re.search(r"\) = 0\b", line):
                out.append((n, m.group(1)))
        elif waiting and "<... execve resumed>" in line:
            if re.search(r"\) = 0\b", line):
                out.append(waiting)
            waiting = None
    return out


def test_go_http_server() -> None:
    trace, found, notes = detected("go-http-net.trace")
    got = starts(trace, found)
    assert list(got) == ["exec", "loader", "runtime-init", "threads", "main", "exit"]
    assert got["exec"] == (1, "execve")
    assert got["loader"] == (6, "openat")                 # first shared object opened
    assert got["runtime-init"] == (20, "mmap")            # the Go page-summary reservations start
    assert got["threads"] == (42, "clone3")
    assert got["main"] == (85, "socket")                  # the server's listening socket
    assert got["exit"] == (140, "exit_group")
    init = next(p for p in found if p.name == "runtime-init")
    assert init.reserved > 600 << 20 and init.committed < 64 << 20   # reserved, not committed
    assert {p.exe for p in found} == {"/tmp/hello"}
    assert notes == []


def test_c_program_gets_main_at_the_loaders_end() -> None:
    """A C program without sockets: main starts at its first call after ld.so unmaps its cache
    (the last thing the loader does), not at a socket call it never makes; its threads are its
    own work, inside main."""
    path = SAMPLES / "memdemo.trace"
    trace, found, notes = detected(path)
    pid = found[0].asid
    got = starts(trace, found)
    assert list(got) == ["exec", "loader", "main", "exit"]
    (unmap, *_) = cache_unmaps(path, pid)
    assert got["main"][0] == next_call(path, pid, unmap) > unmap > got["loader"][0]
    main = next(p for p in found if p.name == "main" and p.asid == pid)
    assert f"(line {unmap}, munmap of /etc/ld.so.cache, ld.so's last step" in main.evidence
    # the rule, then "line N: event" (what tables show: all after the rule's words)
    assert main.evidence.split(": ", 1)[1].startswith(f"line {got['main'][0]}: ")
    clone = next(n for n, line in enumerate(lines(path), 1) if "clone3(" in line)
    assert got["main"][0] < clone < got["exit"][0]
    assert main.vsz > 8 << 20            # the threads' stacks and arenas are main's
    assert notes == []                   # a full capture: nothing missing, no capture advice


@pytest.mark.parametrize("name", ["sh-c-full.trace", "sh-c-recommended.trace"])
def test_phases_restart_at_each_exec(name: str) -> None:
    """`sh -c './cwork one; exec ./cwork two'`: the forked child and the shell's own pid each run
    cwork; the shell's pid gets the shell's phases, then cwork's own exec, loader and main (the
    whole of the shell's run was "loader" before detection restarted at each execve)."""
    path = PHASES / name
    trace, found, notes = detected(path)
    shell = found[0].asid
    (sh_exec, sh), (cw_exec, cwork) = execs(path, shell)
    assert sh.endswith("/sh") and cwork == "./cwork"
    got = runs(trace, found, shell)
    assert [[n for n, _, _ in r] for r in got] == [["exec", "loader", "main"], ["exec", "loader", "main", "exit"]]
    assert [{e for _, _, e in r} for r in got] == [{sh}, {cwork}]
    assert got[0][0][1] == sh_exec and got[1][0][1] == cw_exec
    sh_unmap, cw_unmap = cache_unmaps(path, shell)
    assert got[0][2][1] == next_call(path, shell, sh_unmap) and got[0][1][1] < sh_unmap < cw_exec
    assert got[1][1][1] > cw_exec and got[1][2][1] == next_call(path, shell, cw_unmap)
    # the forked child: its own space, its own run of cwork
    child = next(pid for pid in {p.asid for p in found} if pid != shell)
    (one,) = runs(trace, found, child)
    assert [n for n, _, _ in one] == ["exec", "loader", "main", "exit"] and one[0][2] == "./cwork"
    assert one[2][1] == next_call(path, child, cache_unmaps(path, child)[0])
    assert notes == []   # the shell needs no exit of its own: it ran on as cwork


def test_a_wrappers_runs_each_get_their_phases() -> None:
    """A pyenv shim: one pid execs env (the shim's #! line), bash, pyenv, bash, pyenv-exec, bash
    and at last the interpreter. Each successful execve starts a run named by its program."""
    path = STRACE_DATA / "python-ttt-T-y.trace"
    trace, found, notes = detected(path)
    pid = found[0].asid
    expected = execs(path, pid)
    got = runs(trace, found, pid)
    assert [(r[0][1], r[0][2]) for r in got] == expected and len(expected) == 7
    assert all(r[1][0] == "loader" for r in got)
    # the shim is a script its #! line runs with env, which execs bash with the shim's path: env
    # is a native program (main after its loader), not the Python the shim's name says
    assert [n for n, _, _ in got[0]] == ["exec", "loader", "main"]
    python = got[-1]
    assert python[0][2].endswith("/versions/3.11.7/bin/python3")
    assert [n for n, _, _ in python] == ["exec", "loader", "runtime-init", "exit"]   # -c code: no script
    assert [n for n in notes if f"process {pid} " in n] == [
        n for n in notes if n.startswith(f"process {pid} (python3): no evidence for main")]
    # the capture (-e trace=%memory,%process,prctl) has no open call: that hides the script an
    # interpreter's main needs, not a native program's (its main is after a memory call), so
    # `true`, which does nothing after its loader, gets the reason but no capture advice
    assert "openat(" not in path.read_text()
    (python_note,) = [n for n in notes if f"process {pid} " in n]
    (true_note,) = [n for n in notes if "(true)" in n]
    assert "capture with" in python_note and "openat" in python_note.split("capture with")[1]
    assert "no event between the loader's end and the exit" in true_note and "capture with" not in true_note


@pytest.mark.parametrize("name", ["pywork-full.trace", "pywork-recommended.trace"])
def test_python_script_without_sockets(name: str) -> None:
    """The interpreter sets itself up from the loader's end (runtime-init) and the script's own
    work starts when it opens the script its command line names (main)."""
    path = PHASES / name
    trace, found, notes = detected(path)
    pid = found[0].asid
    got = starts(trace, found)
    assert list(got) == ["exec", "loader", "runtime-init", "main", "exit"]
    unmap = cache_unmaps(path, pid)[0]
    assert got["runtime-init"][0] == next_call(path, pid, unmap)
    script = next(n for n, line in enumerate(lines(path), 1) if re.search(r'open(at)?\(.*/pywork\.py"', line))
    assert got["main"] == (script, "openat")
    assert notes == []


def test_node_and_java_programs_start_at_their_script_and_class() -> None:
    node_path, java_path = PHASES / "node-script.trace", PHASES / "java-class.trace"
    trace, found, _ = detected(node_path)
    got = starts(trace, found)
    assert list(got) == ["exec", "loader", "runtime-init", "threads", "main", "exit"]
    assert got["main"][0] == next(n for n, line in enumerate(lines(node_path), 1) if '/nodework.js"' in line)
    # the JVM: the class named on the command line, found as PhaseWork.class; the VM's own
    # AF_UNIX socket (glibc's nscd lookup from the VM's set-up) is not the program's work
    trace, found, _ = detected(java_path)
    got = starts(trace, found)
    assert list(got) == ["exec", "loader", "runtime-init", "threads", "main", "exit"]
    text = lines(java_path)
    klass = next(n for n, line in enumerate(text, 1) if '/PhaseWork.class"' in line)
    unix = next(n for n, line in enumerate(text, 1) if "socket(AF_UNIX" in line)
    assert got["main"][0] == klass and got["threads"][0] < unix < klass


def test_python_startup() -> None:
    """python3 -c with a thread and a socket: no script file, so main is the socket call; the
    interpreter's set-up is runtime-init from the loader's end."""
    path = SAMPLES / "python-startup.trace"
    trace, found, notes = detected(path)
    got = starts(trace, found)
    assert list(got) == ["exec", "loader", "runtime-init", "threads", "main", "exit"]
    assert got["main"][1] == "socket"
    assert got["runtime-init"][0] == next_call(path, found[0].asid, cache_unmaps(path, found[0].asid)[0])


def test_node_startup() -> None:
    trace, found, notes = detected("node-startup.trace")
    got = starts(trace, found)
    assert list(got) == ["exec", "loader", "runtime-init", "threads", "main", "exit"]
    threads = next(p for p in found if p.name == "threads" and p.asid == found[0].asid)
    assert threads.vsz > 512 << 20   # V8 and libuv threads, their stacks and arenas


def test_go_without_sockets_has_no_invented_main() -> None:
    """A Go program whose capture shows no socket call: the runtime's set-up has no end its
    system calls show, so main is reported missing, with the reason."""
    trace, found, notes = detected(GROUND / "go-recommended.trace")
    assert "main" not in starts(trace, found)
    (note,) = notes
    assert "no evidence for main" in note and "language runtime" in note
    assert "capture with" not in note   # it shows opens: nothing says its filter hid sockets


FULL = [SAMPLES / "memdemo.trace", PHASES / "sh-c-full.trace", PHASES / "pywork-full.trace",
        GROUND / "c-full.trace", GROUND / "python-full.trace", STRACE_DATA / "c-crash.trace"]
#: captured with -e trace= lists without openat: files mapped from descriptors no open shows
NO_OPENS = [SAMPLES / "go-http.trace", GROUND / "python-recommended.trace", STRACE_DATA / "java-ttt.trace",
            STRACE_DATA / "node-ttt-T.trace"]


@pytest.mark.parametrize("path", FULL, ids=lambda p: p.name)
def test_no_capture_advice_on_full_traces(path: Path) -> None:
    text = path.read_text()
    assert "openat(" in text and "read(" in text          # the premise: every call was captured
    _, _, notes = detected(path)
    assert not any("capture with" in n for n in notes), notes


@pytest.mark.parametrize("path", NO_OPENS, ids=lambda p: p.name)
def test_capture_advice_when_opens_were_filtered(path: Path) -> None:
    text = path.read_text()
    assert "openat(" not in text and re.search(r"mmap\([^)]*, [0-9]+(<[^>]*>)?, 0", text)   # files by fd
    _, found, notes = detected(path)
    assert "main" not in {p.name for p in found if p.asid == found[0].asid}
    assert any("no open call though it maps files from descriptors" in n and "openat" in n.split("capture with")[1]
               for n in notes), notes


def test_capture_advice_when_process_calls_were_filtered() -> None:
    path = CAPTURES / "c-f-memory.trace"      # strace -f -e trace=%memory
    assert not re.search(r"\b(execve|clone3?|exit_group)\(", path.read_text())
    trace, found, notes = detected(path)
    got = starts(trace, found)
    assert list(got) == ["loader", "main"]    # the loader by its MAP_DENYWRITE mappings
    (note,) = notes
    assert "no evidence for exec, exit" in note and "no process call" in note and "%process" in note


def test_pids_and_process_pick_the_phases() -> None:
    path = PHASES / "sh-c-full.trace"
    trace = tracemem.read_trace(path)
    everything, _ = trace.phases()
    spaces = {p.asid for p in everything}
    assert len(spaces) == 2
    for asid in spaces:
        found, _ = trace.phases(pids=[asid])
        assert found and {p.asid for p in found} == {asid}
        assert [p.start_seq for p in found] == [p.start_seq for p in everything if p.asid == asid]
    both, _ = trace.phases(pids=sorted(spaces))
    assert {p.asid for p in both} == spaces
    shell = {p.asid for p in everything if p.exe and p.exe.endswith("/sh")}
    found, _ = trace.phases(process="sh")
    assert {p.asid for p in found} == shell
    found, _ = trace.phases(process="cw*")                  # both spaces ran cwork
    assert {p.asid for p in found} == spaces
    with pytest.raises(UsageError, match="no process ran a program"):
        trace.phases(process="nosuch")
    with pytest.raises(UsageError, match="no such task"):
        trace.phases(pids=[1])
    # --phase applies to the first process picked
    child = (spaces - shell).pop()
    found, _ = trace.phases(["late=line:100"], pids=[child])
    assert [p.asid for p in found if p.name == "late"] == [child]


def test_cli_phases_pid_and_process(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from tracemem.cli import app

    path = str(PHASES / "sh-c-full.trace")
    runner = CliRunner()
    every = json.loads(runner.invoke(app, ["phases", path, "--json"]).stdout)["phases"]
    spaces = sorted({p["asid"] for p in every})
    one = runner.invoke(app, ["phases", path, "--json", "--pid", str(spaces[1])])
    assert one.exit_code == 0, one.output
    assert {p["asid"] for p in json.loads(one.stdout)["phases"]} == {spaces[1]}
    two = runner.invoke(app, ["phases", path, "--json", "--pid", str(spaces[0]), "--pid", str(spaces[1])])
    assert {p["asid"] for p in json.loads(two.stdout)["phases"]} == set(spaces)
    named = runner.invoke(app, ["phases", path, "--json", "--process", "sh"])
    got = json.loads(named.stdout)["phases"]
    assert {p["exe"] for p in got} == {p["exe"] for p in every if p["asid"] == got[0]["asid"]} and len(
        {p["asid"] for p in got}) == 1
    bad = runner.invoke(app, ["phases", path, "--process", "nosuch"])
    assert bad.exit_code == 2 and "programs: cwork, sh" in bad.output


def test_user_phases_override_and_add() -> None:
    trace, found, _ = detected("go-http-net.trace", ["serving=/accept4|accept\\(/", "loader=line:10", "late=0.05"])
    got = starts(trace, found)
    assert got["loader"][0] >= 10
    assert "serving" in got and got["serving"][1].startswith("accept")
    assert "late" in got
    user = [p for p in found if p.source == "user"]
    assert {p.name for p in user} == {"serving", "loader", "late"}
    assert {p.exe for p in user} == {"/tmp/hello"}


def test_a_user_phase_replaces_only_its_own_runs() -> None:
    """--phase loader=line:N in the shell pid's second run (cwork) replaces cwork's loader and
    leaves the shell's."""
    path = PHASES / "sh-c-full.trace"
    trace, found, _ = detected(path)
    shell = found[0].asid
    (_, _), (cw_exec, _) = execs(path, shell)
    before = runs(trace, found, shell)
    trace, found, _ = detected(path, [f"loader=line:{cw_exec + 1}"])
    after = runs(trace, found, shell)
    assert after[0] == before[0]                             # the shell's own loader stays
    user = [p for p in found if p.source == "user"]
    assert [(p.name, p.exe) for p in user] == [("loader", "./cwork")]
    assert [n for n, _, _ in after[1]] == ["exec", "loader", "main", "exit"]


@pytest.mark.parametrize("spec", ["bad", "x=line:y", "x=/(/", "x=abc", "x=/nothing matches this/",
                                  # once taken as "the first event": out-of-range lines and times
                                  "x=line:-5", "x=line:0", "x=-inf", "x=nan", "x=-1"])
def test_bad_phase_options(spec: str) -> None:
    trace = tracemem.read_trace(SAMPLES / "go-http-net.trace")
    with pytest.raises(UsageError):
        trace.phases([spec])


def test_a_backtracking_phase_regex_is_stopped(monkeypatch, tmp_path) -> None:
    """/(a|aa)+$/ on a 40-character path backtracks for minutes with the standard library's re:
    the search of all events together is bounded, and ends in a usage error naming the line."""
    from tracemem import phases

    monkeypatch.setattr(phases, "REGEX_BUDGET", 0.2)
    log = tmp_path / "p.trace"
    log.write_text('100 10:00:00.000001 openat(AT_FDCWD, "/tmp/' + "a" * 40 + 'b", O_RDONLY) = 3\n'
                   "100 10:00:00.000002 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, "
                   "-1, 0) = 0x7f0000000000\n")
    trace = tracemem.read_trace(log)
    with pytest.raises(UsageError, match=r"more than 0\.2 s \(stopped at line 1\)"):
        trace.phases(["x=/(a|aa)+$/"])
    found, _ = trace.phases(["x=/a{40}b/"])   # a plain pattern still works
    (x,) = [p for p in found if p.name == "x"]
    assert int(trace.df.set_index("seq").loc[x.start_seq, "line"]) == 1


def test_exec_argv_reads_strace_text() -> None:
    from tracemem.phases import exec_argv

    path, argv = exec_argv('"/usr/bin/python3", ["python3", "/work/src/pymaps"..., "-x"], 0x7ff /* 3 vars */')
    assert path == "/usr/bin/python3"
    assert argv == [("python3", False), ("/work/src/pymaps", True), ("-x", False)]
    # strace -v: the environment is another list, not argv
    _, argv = exec_argv('"/bin/sh", ["sh", "-c", "a \\"b\\""], ["HOME=/root"]')
    assert argv == [("sh", False), ("-c", False), ('a "b"', False)]
