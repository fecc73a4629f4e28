"""Recording a trace with the flags the analysis needs, and the part a trace cannot show beside it.

``record(command, output)`` runs a command under strace (``phases.CAPTURE``: threads and
children followed, ``-ttt -T -y``, the memory, process, prctl, openat and network calls) and
snapshots ``/proc/PID/smaps`` of every process right after each successful execve, before the
new image runs on; ``attach(pid, output)`` traces a running process (all its threads) and
snapshots its mappings at the attach. The snapshots are stored beside the trace, in
``FILE.maps/`` (``NNNN-exec-PID.smaps``, ``NNNN-attach-PID.smaps``, in the order taken), and
every command that reads the trace takes the first one as the exec-time baseline
(:func:`recorded_baseline`), so the figures are the process's VSZ, not "traced VSZ".

How the exec-time snapshot is held still: strace's ``-e inject=execve:delay_exit=N`` keeps each
execve from returning to the new image for N µs after strace has printed its result (it prints
``= 0 (DELAYED)``); strace writes the log line by line, so the recorder, which follows the log
as it grows, reads the maps of the pid on that line while the process waits. strace never
delays the execve of the command it starts itself (it disables injection until that first exec
is done), so the command is started by a stub (a Python one that stops itself with SIGSTOP),
strace attaches to the stub (``-p``) and the stub, continued, execs the command (its argv[0]
kept): that execve is an ordinary traced one, held like the others. Each snapshot is checked afterwards: the next line of
that pid must start after the snapshot was read (the log's ``-ttt`` times and the recorder's
share the wall clock); a snapshot that was not held is kept and flagged ``late``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable, Optional, Sequence

from .errors import TracememError, UsageError
from .phases import CAPTURE

if TYPE_CHECKING:
    from .space.kernelmaps import ExecBaselines, KernelRegion

#: How long each execve is held after it returns (µs): the time the recorder has to read the maps.
HOLD_US = 100_000
#: The strace options of a recording: phases.CAPTURE's, without "strace".
STRACE_OPTIONS: list[str] = shlex.split(CAPTURE)[1:]
#: A snapshot's file name in FILE.maps/: the order it was taken in, why, and the process.
SNAPSHOT_NAME = re.compile(r"^(\d{4,})-(exec|attach)-(\d+)\.smaps$")

#: The starter: it lets the recorder's descendants trace it (Yama ptrace_scope 1 allows only
#: ancestors, and strace is the recorder's child, not the starter's parent), restores the signal
#: dispositions Python changes, stops itself, and once traced and continued execs the command.
_STUB = ("import os, signal, sys\n"
         "for name in ('SIGPIPE', 'SIGXFSZ'):\n"
         "    if hasattr(signal, name): signal.signal(getattr(signal, name), signal.SIG_DFL)\n"
         "try:\n"
         "    import ctypes\n"
         "    ctypes.CDLL(None).prctl(0x59616d61, ctypes.c_ulong(os.getppid()), 0, 0, 0)\n"
         "except Exception:\n"
         "    pass\n"
         "os.kill(os.getpid(), signal.SIGSTOP)\n"
         "try:\n"
         "    os.execv(sys.argv[1], sys.argv[2:])\n"
         "except OSError as exc:\n"
         "    sys.stderr.write(f'tracemem record: cannot run {sys.argv[1]}: {exc.strerror}\\n')\n"
         "    os._exit(126)\n")
_EXEC_DONE = re.compile(
    rb"^(?:(\d+)\s+)?(\d+\.\d+)\s+(?:execve(?:at)?\(|<\.\.\. execve(?:at)? resumed>).*\) = 0( \(DELAYED\))?(?: <[\d.]+>)?$")
_PREFIX = re.compile(rb"^(?:(\d+)\s+)?(\d+\.\d+)\s")
_CAP_SYS_PTRACE = 19


class RecordError(TracememError):
    """A recording cannot be made: strace missing, ptrace not permitted, no such command or
    process (exit code 2)."""


@dataclass
class Snapshot:
    """One /proc/PID/smaps snapshot stored beside the trace."""

    path: Path
    pid: int
    kind: str                 # "exec" (right after an execve) or "attach"
    time: float               # when it was read (seconds since the epoch, as -ttt)
    held: bool                # the process was held still while it was read (exec: "(DELAYED)")
    late: bool = False        # the process made a traced call before the snapshot was read


@dataclass
class RecordResult:
    """What :func:`record` or :func:`attach` made."""

    output: Path
    maps_dir: Path
    pid: int
    snapshots: list[Snapshot] = field(default_factory=list)
    #: The command's exit status (128 + N when killed by signal N); None for an attach.
    exit_code: Optional[int] = None
    #: Why the recording stopped (attach): "duration", "interrupted", "process exited".
    stopped: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def baseline(self) -> Optional[Path]:
        """The snapshot the commands reading the trace take as the first process's baseline."""
        return self.snapshots[0].path if self.snapshots else None


def maps_dir(trace: str | Path) -> Path:
    """The folder of the snapshots of a recorded trace: ``FILE.maps`` beside ``FILE``."""
    return Path(str(trace) + ".maps")


def recorded_baseline(logs: str | Path | Sequence[str | Path]) -> Optional[Path]:
    """The first snapshot recorded beside a trace (``FILE.maps/NNNN-*.smaps``), or None: a
    single log named as a file, with the folder :func:`record` writes."""
    if isinstance(logs, (str, Path)):
        logs = [logs]
    if len(logs) != 1 or str(logs[0]) == "-":
        return None
    try:
        folder = maps_dir(logs[0])
        if not Path(logs[0]).is_file() or not folder.is_dir():
            return None
        names = sorted((int(m.group(1)), name) for name in os.listdir(folder) if (m := SNAPSHOT_NAME.match(name)))
    except (OSError, ValueError):  # a name too long, a NUL: no recording beside it
        return None
    return folder / names[0][1] if names else None


def load_recorded_baseline(trace: str | Path) -> "list[KernelRegion] | None":
    """The regions of :func:`recorded_baseline` (checked as one address space), or None."""
    from .space.kernelmaps import read_snapshot

    path = recorded_baseline(trace)
    return read_snapshot(path) if path is not None else None


def load_recorded_baselines(trace: str | Path | Sequence[str | Path]) -> "ExecBaselines | list[KernelRegion] | None":
    """Every snapshot recorded beside a trace, as the replay takes them: one per exec
    (:class:`~tracemem.space.kernelmaps.ExecBaselines`, the k-th snapshot of a pid for its k-th
    execve), or the attach snapshot of the process attached to; None without a recording."""
    from .space.kernelmaps import ExecBaselines, read_snapshot

    first = recorded_baseline(trace)
    if first is None:
        return None
    folder = first.parent
    found = sorted((int(m.group(1)), m.group(2), int(m.group(3)), name) for name in os.listdir(folder)
                   if (m := SNAPSHOT_NAME.match(name)))
    if found[0][1] == "attach":
        return read_snapshot(folder / found[0][3])
    out = ExecBaselines()
    for _, kind, pid, name in found:
        if kind == "exec":
            out.setdefault(pid, []).append(read_snapshot(folder / name))
    return out


# -- checks -------------------------------------------------------------------------------------


def find_strace() -> str:
    path = shutil.which("strace")
    if path is None:
        raise RecordError("strace is not installed (not on PATH); install it: apt-get install strace "
                          "(Debian, Ubuntu), dnf install strace (Fedora), apk add strace (Alpine)")
    return path


def ptrace_scope() -> Optional[int]:
    """kernel.yama.ptrace_scope (0 classic, 1 descendants only, 2 CAP_SYS_PTRACE only, 3 none), or
    None without Yama."""
    try:
        return int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip())
    except (OSError, ValueError):
        return None


def _has_cap_sys_ptrace() -> bool:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> _CAP_SYS_PTRACE & 1)
    except (OSError, ValueError, IndexError):
        pass
    return os.geteuid() == 0


def _ptrace_help(pid: Optional[int]) -> str:
    scope = ptrace_scope()
    what = f"process {pid}" if pid is not None else "the command"
    parts = [f"ptrace is not permitted here, so strace cannot trace {what}"]
    if scope is not None:
        parts.append(f"/proc/sys/kernel/yama/ptrace_scope is {scope}"
                     + {1: " (only descendants may be traced)", 2: " (only with CAP_SYS_PTRACE)",
                        3: " (no process may be traced until reboot)"}.get(scope, ""))
    parts.append("run as root or with CAP_SYS_PTRACE (a container: --cap-add SYS_PTRACE, and a seccomp "
                 "profile that allows ptrace), or lower it: sysctl kernel.yama.ptrace_scope=0"
                 if scope != 3 else "it can only be lowered by a reboot")
    if pid is not None:
        parts.append("another user's process needs root")
    return "; ".join(parts)


def _check_ptrace(pid: Optional[int]) -> None:
    """What can be known before trying: Yama forbids it (3), or it needs CAP_SYS_PTRACE (2, or 1
    for a process that is not our descendant)."""
    scope = ptrace_scope()
    if scope == 3 or (scope == 2 or (scope == 1 and pid is not None)) and not _has_cap_sys_ptrace():
        raise RecordError(_ptrace_help(pid))


def _check_pid(pid: int) -> int:
    """The process (thread group) of ``pid``; RecordError when there is none."""
    if pid <= 0:
        raise UsageError(f"-p {pid}: a pid is a positive number")
    if pid == os.getpid():
        raise UsageError(f"-p {pid}: that is tracemem itself")
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        raise RecordError(f"-p {pid}: no such process (nothing in /proc/{pid}); check the pid "
                          "(pgrep NAME, ps aux)") from None
    except OSError as exc:
        raise RecordError(f"-p {pid}: cannot read /proc/{pid}/status ({exc.strerror})") from None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if fields.get("State", "").strip().startswith("Z"):
        raise RecordError(f"-p {pid}: the process has exited (a zombie): there is nothing to trace")
    tgid = int(fields.get("Tgid", str(pid)).strip() or pid)
    if fields.get("TracerPid", "0").strip() not in ("0", ""):
        raise RecordError(f"-p {pid}: already traced by process {fields['TracerPid'].strip()} (a debugger or "
                          "another strace); stop that one first")
    return tgid


def _resolve(command: Sequence[str]) -> str:
    if not command:
        raise UsageError("record: give a command after --, e.g. tracemem record -- python3 -c 'pass', or -p PID")
    name = command[0]
    if "/" in name:
        if not os.path.exists(name):
            raise RecordError(f"{name}: command not found (no such file)")
        if os.path.isdir(name) or not os.access(name, os.X_OK):
            raise RecordError(f"{name}: cannot run it (not an executable file)")
        return os.path.abspath(name)
    found = shutil.which(name)
    if found is None:
        raise RecordError(f"{name}: command not found (not on PATH)")
    return os.path.abspath(found)


def default_output(program: str, pid: int) -> Path:
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", os.path.basename(program)) or "program"
    return Path(f"tracemem-{name}-{pid}.trace")


def _prepare(output: Path) -> Path:
    """Check the output can be written (before anything runs) and empty its snapshot folder of an
    earlier recording's snapshots."""
    from .reporters.export import check_writable

    check_writable(output)
    folder = maps_dir(output)
    try:
        folder.mkdir(exist_ok=True)
        for name in os.listdir(folder):
            if SNAPSHOT_NAME.match(name):
                (folder / name).unlink()
    except OSError as exc:
        from .errors import OutputError

        raise OutputError(f"{folder}: cannot make the snapshot folder ({exc.strerror})") from None
    return folder


# -- following the log ----------------------------------------------------------------------------


def _read_maps(pid: int) -> Optional[bytes]:
    for name in ("smaps", "maps"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as f:
                return f.read()
        except OSError:
            continue
    return None


class _Follower(threading.Thread):
    """Follows the log strace writes (``-o FILE``) as it grows: at each successful execve it
    snapshots the maps of that pid (held by strace meanwhile) and checks afterwards that the
    snapshot came before the pid's next traced call."""

    def __init__(self, log: Path, folder: Path, main_pid: int, seq: int = 0) -> None:
        super().__init__(daemon=True)
        self.log = log
        self.folder = folder
        self.main_pid = main_pid
        self.seq = seq
        self.snapshots: list[Snapshot] = []
        self.pending: dict[int, Snapshot] = {}
        self.lines = 0
        self.done = threading.Event()
        self.error: Optional[BaseException] = None
        self.first_exec = threading.Event()

    def snapshot(self, pid: int, kind: str, held: bool) -> Optional[Snapshot]:
        data = _read_maps(pid)
        now = time.time()
        if data is None:
            return None
        path = self.folder / f"{self.seq:04d}-{kind}-{pid}.smaps"
        path.write_bytes(data)
        self.seq += 1
        snap = Snapshot(path, pid, kind, now, held)
        self.snapshots.append(snap)
        return snap

    def _line(self, line: bytes) -> None:
        self.lines += 1
        m = _PREFIX.match(line)
        if m is None:
            return
        pid = int(m.group(1)) if m.group(1) else self.main_pid
        waiting = self.pending.pop(pid, None)
        if waiting is not None and float(m.group(2)) < waiting.time:
            waiting.late = True
        e = _EXEC_DONE.match(line)
        if e is not None:
            snap = self.snapshot(pid, "exec", held=e.group(3) is not None)
            if snap is not None:
                snap.late = not snap.held
                self.pending[pid] = snap
            self.first_exec.set()

    def run(self) -> None:
        try:
            with open(self.log, "rb") as f:
                rest = b""
                while True:
                    chunk = f.read(1 << 16)
                    if not chunk:
                        if self.done.is_set():
                            chunk = f.read()  # what strace wrote before it ended
                            if not chunk:
                                break
                        else:
                            time.sleep(0.001)
                            continue
                    lines = (rest + chunk).split(b"\n")
                    rest = lines.pop()
                    for line in lines:
                        self._line(line.rstrip(b"\r"))
                if rest:
                    self._line(rest)
        except BaseException as exc:  # said by the caller
            self.error = exc


class _Strace:
    """strace -p PID writing ``log``, in a session of its own (a Ctrl-C on the terminal is the
    recorder's to pass on), its stderr forwarded line by line and watched for the attach."""

    def __init__(self, pid: int, log: Path, strace: str, on_message: Callable[[str], None]) -> None:
        argv = [strace, *STRACE_OPTIONS, "-e", f"inject=execve,execveat:delay_exit={HOLD_US}",
                "-o", str(log), "-p", str(pid)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.attached = threading.Event()
        self.messages: list[str] = []
        self.on_message = on_message
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        stream: IO[bytes] = self.proc.stderr
        for raw in stream:
            text = raw.decode("utf-8", "replace").rstrip("\n")
            self.messages.append(text)
            if " attached" in text:
                self.attached.set()
            elif not re.match(r"^strace: Process \d+ detached", text):
                self.on_message(text)

    def wait_attached(self, pid: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.attached.is_set():
            if self.proc.poll() is not None:
                self.reader.join(1)
                self._fail(pid)
            if time.monotonic() > deadline:
                self.stop()
                raise RecordError(f"strace did not attach to process {pid} within {timeout:.0f} s")
            self.attached.wait(0.01)
        while _tracer(pid) == 0 and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)

    def _fail(self, pid: int) -> None:
        said = " ".join(self.messages)
        if "Operation not permitted" in said or "EPERM" in said:
            raise RecordError(_ptrace_help(pid))
        if "No such process" in said or "ESRCH" in said:
            raise RecordError(f"process {pid} exited before strace could attach")
        raise RecordError(f"strace failed (exit {self.proc.returncode}): {said or 'no message'}")

    def stop(self, timeout: float = 15.0) -> None:
        """Detach: strace takes SIGINT as the order to detach from every tracee and end."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # the kernel detaches the tracees of a tracer that ends
                self.proc.wait()
        self.reader.join(2)


def _tracer(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return -1
    return 0


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _finish(follower: _Follower, result: RecordResult) -> RecordResult:
    follower.done.set()
    follower.join()
    if follower.error is not None:
        raise RecordError(f"{result.output}: following the log failed ({follower.error})")
    result.snapshots = follower.snapshots + result.snapshots
    result.snapshots.sort(key=lambda s: s.path.name)
    late = [s for s in result.snapshots if s.late]
    if late:
        result.notes.append(f"{len(late)} of {len(result.snapshots)} snapshot(s) may have been read after the "
                            f"process ran on ({', '.join(s.path.name for s in late[:4])}): their mappings may "
                            "include some the trace also shows")
    return result


def record(command: Sequence[str], output: Optional[Path | str] = None, *,
           on_start: Optional[Callable[[int, Path], None]] = None,
           on_message: Callable[[str], None] = lambda text: None) -> RecordResult:
    """Run ``command`` under strace, writing the trace to ``output`` (default
    ``tracemem-PROG-PID.trace``) and a snapshot of each process's maps right after each of its
    execs to ``output.maps/``. Returns when the command has ended, with its exit status;
    the command's standard streams are this process's. ``on_start(pid, output)`` is called once
    the command is traced, ``on_message`` with each message of strace's."""
    strace = find_strace()
    program = _resolve(command)
    _check_ptrace(None)
    out = Path(output) if output is not None else None
    if out is not None:
        _prepare(out)
    import sys

    stub = subprocess.Popen([sys.executable, "-I", "-S", "-c", _STUB, program, *command])
    tracer: Optional[_Strace] = None
    follower: Optional[_Follower] = None
    continued = False
    try:
        while _state(stub.pid) != "T":
            if stub.poll() is not None:
                raise RecordError(f"{command[0]}: the starter ended before the command ran "
                                  f"(exit {stub.returncode})")
            time.sleep(0.0005)
        if out is None:
            out = default_output(program, stub.pid)
            _prepare(out)
        folder = maps_dir(out)
        out.write_bytes(b"")
        follower = _Follower(out, folder, stub.pid)
        follower.start()
        tracer = _Strace(stub.pid, out, strace, on_message)
        tracer.wait_attached(stub.pid)
        os.kill(stub.pid, signal.SIGCONT)
        continued = True
        if on_start is not None:
            on_start(stub.pid, out)
        while True:
            try:
                status = stub.wait()
                break
            except KeyboardInterrupt:
                continue  # the terminal's Ctrl-C reached the command too: it decides when it ends
        while True:
            try:
                tracer.proc.wait()
                break
            except KeyboardInterrupt:
                tracer.stop()
        tracer.reader.join(2)
        result = RecordResult(out, folder, stub.pid,
                              exit_code=128 - status if status < 0 else status, stopped="process exited")
        return _finish(follower, result)
    finally:
        if not continued and stub.poll() is None:
            stub.kill()  # never started: it must not stay stopped
            stub.wait()
        if tracer is not None and tracer.proc.poll() is None:
            tracer.stop()
        if follower is not None and follower.is_alive():
            follower.done.set()
            follower.join(5)


def attach(pid: int, output: Optional[Path | str] = None, *, duration: Optional[float] = None,
           on_start: Optional[Callable[[int, Path], None]] = None,
           on_message: Callable[[str], None] = lambda text: None,
           stop: Optional[threading.Event] = None) -> RecordResult:
    """Trace the running process ``pid`` (all its threads, and the children it makes from now
    on) until ``duration`` seconds have passed, ``stop`` is set, Ctrl-C (KeyboardInterrupt), or
    it exits; then detach (the process goes on). Its maps are snapshotted once strace has
    attached (``NNNN-attach-PID.smaps``, the baseline: what was mapped before the attach), and
    after each exec as :func:`record` does."""
    strace = find_strace()
    tgid = _check_pid(pid)
    _check_ptrace(tgid)
    out = Path(output) if output is not None else None
    if out is None:
        try:
            comm = Path(f"/proc/{tgid}/comm").read_text().strip()
        except OSError:
            comm = "process"
        out = default_output(comm, tgid)
    folder = _prepare(out)
    if duration is not None and duration <= 0:
        raise UsageError(f"--duration {duration}: give a number of seconds above 0")
    out.write_bytes(b"")
    follower = _Follower(out, folder, tgid, seq=1)
    follower.start()
    tracer = _Strace(tgid, out, strace, on_message)
    result = RecordResult(out, folder, tgid)
    try:
        tracer.wait_attached(tgid)
        # after the attach: every call from here on is in the log; the replay takes a mapping made
        # between the attach and this read as the same one (the final VSZ stays right)
        data = _read_maps(tgid)
        if data is None:
            raise RecordError(f"process {tgid} exited right after the attach")
        path = folder / f"0000-attach-{tgid}.smaps"
        path.write_bytes(data)
        result.snapshots.append(Snapshot(path, tgid, "attach", time.time(), held=False))
        if on_start is not None:
            on_start(tgid, out)
        deadline = None if duration is None else time.monotonic() + duration
        result.stopped = "process exited"
        try:
            while tracer.proc.poll() is None:
                if stop is not None and stop.is_set():
                    result.stopped = "stopped"
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    result.stopped = "duration"
                    break
                time.sleep(0.02)
        except KeyboardInterrupt:
            result.stopped = "interrupted"
        tracer.stop()
        return _finish(follower, result)
    finally:
        if tracer.proc.poll() is None:
            tracer.stop()
        if follower.is_alive():
            follower.done.set()
            follower.join(5)
