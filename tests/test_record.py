"""`tracemem record`: real programs run (or attached to) under the recorder; the model rebuilt
from the trace with the recorded baseline must agree with what each program reads from its own
/proc/self/status and /proc/self/smaps just before it exits (the kernel is the oracle, as in
test_groundtruth.py): VSZ, reserved (PROT_NONE) and committed (VmFlags "ac") within 0.5%."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tracemem
from tracemem.record import load_recorded_baseline, ptrace_scope, record, recorded_baseline
from tracemem.summary import summarize

STRACE = shutil.which("strace")
GCC = shutil.which("gcc")
GO = shutil.which("go")


def _ptrace_ok() -> tuple[bool, str]:
    if STRACE is None:
        return False, "strace is not installed (apt-get install strace)"
    scope = ptrace_scope()
    if scope == 3:
        return False, "ptrace is disabled (kernel.yama.ptrace_scope = 3)"
    probe = subprocess.run([STRACE, "-o", os.devnull, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return False, f"ptrace is not permitted here (strace: {probe.stderr.strip()[:120]})"
    return True, ""


_OK, _WHY = _ptrace_ok()
needs_ptrace = pytest.mark.skipif(not _OK, reason=_WHY)
needs_gcc = pytest.mark.skipif(GCC is None, reason="gcc is not installed (apt-get install gcc)")

# What the programs print: their own VmSize, and from smaps the sizes of the PROT_NONE mappings
# and of those with the "ac" VmFlag (charged to the commit limit), in bytes, read just before exit.
C_COMMON = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char buf[8 << 20];

static size_t slurp(const char *path) {
    int fd = open(path, O_RDONLY);
    size_t n = 0;
    ssize_t r;
    if (fd < 0) _exit(90);
    while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
    close(fd);
    buf[n] = 0;
    return n;
}

/* VmSize, PROT_NONE bytes and "ac" bytes, written to `out` with no allocation on the way */
static void truth(const char *out) {
    unsigned long long vmsize = 0, reserved = 0, committed = 0, start = 0, end = 0;
    char line[64];
    slurp("/proc/self/status");
    char *p = strstr(buf, "VmSize:");
    if (p) vmsize = strtoull(p + 7, NULL, 10) * 1024;
    slurp("/proc/self/smaps");
    for (char *l = buf; l && *l; ) {
        char *nl = strchr(l, '\n');
        if (nl) *nl = 0;
        char perms[5];
        unsigned long long s, e;
        char *dash = strchr(l, '-'), *space = strchr(l, ' ');
        if (dash && space && dash < space && sscanf(l, "%llx-%llx %4s", &s, &e, perms) == 3) {
            start = s;
            end = e;
            if (strncmp(perms, "---", 3) == 0) reserved += end - start;
        } else if (strncmp(l, "VmFlags:", 8) == 0) {
            if (strstr(l, " ac")) committed += end - start;
        }
        l = nl ? nl + 1 : NULL;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int n = snprintf(line, sizeof line, "%llu %llu %llu\n", vmsize, reserved, committed);
    if (fd < 0 || write(fd, line, (size_t)n) != n) _exit(91);
    close(fd);
}
"""

C_WORK = C_COMMON + r"""
int main(int argc, char **argv) {
    (void)argc;
    /* a reservation committed in part */
    char *r = mmap(NULL, 256 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    mprotect(r + (16 << 20), 8 << 20, PROT_READ | PROT_WRITE);
    memset(r + (16 << 20), 1, 8 << 20);
    /* private writable, half given back */
    char *a = mmap(NULL, 32 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(a + (16 << 20), 16 << 20);
    madvise(a, 4 << 20, MADV_DONTNEED);
    /* not charged */
    mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    /* grown by mremap */
    char *g = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g = mremap(g, 4 << 20, 12 << 20, MREMAP_MAYMOVE);
    /* brk, malloc's own */
    sbrk(1 << 20);
    void *m = malloc(3 << 20);
    /* read-only, then writable made read-only (the charge stays) */
    char *w = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(w, 1, 2 << 20);  /* written first: the charge stays on any kernel (README, --uncharge-unfaulted) */
    mprotect(w, 1 << 20, PROT_READ);
    int fd = open(argv[0], O_RDONLY);
    mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
    (void)m; (void)g;
    truth(argv[1]);
    _exit(0);
}
"""

C_WAIT = C_COMMON + r"""
#include <signal.h>
int main(int argc, char **argv) {
    (void)argc;
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    char *a = mmap(NULL, 48 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(a, 1, 1 << 20);
    mmap(NULL, 128 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    write(1, "ready\n", 6);
    sigwait(&set, &sig);
    /* traced from here: more mapped, some unmapped */
    char *b = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    munmap(a, 16 << 20);
    mprotect(b, 8 << 20, PROT_NONE);
    mmap(NULL, 24 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    truth(argv[1]);
    write(1, "done\n", 5);
    for (;;) sigwait(&set, &sig);
}
"""

GO_WORK = r"""
package main

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

var buf = make([]byte, 8<<20)

func slurp(path string) []byte {
	fd, err := syscall.Open(path, syscall.O_RDONLY, 0)
	if err != nil {
		os.Exit(90)
	}
	n := 0
	for {
		r, err := syscall.Read(fd, buf[n:])
		if err != nil || r <= 0 {
			break
		}
		n += r
	}
	syscall.Close(fd)
	return buf[:n]
}

var keep [][]byte

func main() {
	out := make([]byte, 0, 128)
	for i := 0; i < 64; i++ { // the heap grows: arenas committed piece by piece
		b := make([]byte, 1<<20)
		b[0] = 1
		keep = append(keep, b)
	}
	done := make(chan bool)
	for i := 0; i < 4; i++ {
		go func() { x := make([]byte, 4<<20); x[0] = 1; done <- true }()
	}
	for i := 0; i < 4; i++ {
		<-done
	}
	var vmsize, reserved, committed, start, end uint64
	status := slurp("/proc/self/status")
	if i := bytes.Index(status, []byte("VmSize:")); i >= 0 {
		f := bytes.Fields(status[i+7 : i+40])
		v, _ := strconv.ParseUint(string(f[0]), 10, 64)
		vmsize = v * 1024
	}
	smaps := slurp("/proc/self/smaps")
	for len(smaps) > 0 {
		nl := bytes.IndexByte(smaps, '\n')
		if nl < 0 {
			nl = len(smaps)
		}
		line := smaps[:nl]
		if bytes.HasPrefix(line, []byte("VmFlags:")) {
			if bytes.Contains(line, []byte(" ac")) {
				committed += end - start
			}
		} else if dash := bytes.IndexByte(line, '-'); dash > 0 && bytes.IndexByte(line, ' ') > dash {
			sp := bytes.IndexByte(line, ' ')
			s, e1 := strconv.ParseUint(string(line[:dash]), 16, 64)
			e, e2 := strconv.ParseUint(string(line[dash+1:sp]), 16, 64)
			if e1 == nil && e2 == nil {
				start, end = s, e
				if bytes.HasPrefix(line[sp+1:], []byte("---")) {
					reserved += end - start
				}
			}
		}
		if nl >= len(smaps) {
			break
		}
		smaps = smaps[nl+1:]
	}
	out = strconv.AppendUint(out, vmsize, 10)
	out = append(out, ' ')
	out = strconv.AppendUint(out, reserved, 10)
	out = append(out, ' ')
	out = strconv.AppendUint(out, committed, 10)
	out = append(out, '\n')
	fd, _ := syscall.Open(os.Args[1], syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, 0o644)
	syscall.Write(fd, out)
	syscall.Close(fd)
	syscall.Exit(0)
}
"""

# the Python one-liner: numbers read into buffers made before, so nothing is mapped after them
PY_WORK = (
    "import os, re; bufs = [bytearray(8 << 20), bytearray(1 << 16)]; "
    "x = [bytearray(1 << 20) for _ in range(16)]; "
    "n = os.readv(os.open('/proc/self/status', os.O_RDONLY), [bufs[1]]); "
    "v = int(re.search(rb'VmSize:\\s+(\\d+)', bufs[1]).group(1)) * 1024; "
    "fd = os.open('/proc/self/smaps', os.O_RDONLY); m = memoryview(bufs[0]); k = 0\n"
    "while True:\n"
    "    r = os.readv(fd, [m[k:]])\n"
    "    if r <= 0: break\n"
    "    k += r\n"
    "s = bytes(m[:k]); res = com = 0; size = 0\n"
    "for line in s.split(b'\\n'):\n"
    "    h = re.match(rb'([0-9a-f]+)-([0-9a-f]+) (\\S+) ', line)\n"
    "    if h:\n"
    "        size = int(h.group(2), 16) - int(h.group(1), 16)\n"
    "        res += size if h.group(3).startswith(b'---') else 0\n"
    "    elif line.startswith(b'VmFlags:') and b' ac' in line: com += size\n"
    "o = os.open(os.environ['TRUTH'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC); "
    "os.write(o, b'%d %d %d\\n' % (v, res, com)); os._exit(3)"
)


def _build_c(tmp: Path, source: str, name: str) -> Path:
    src = tmp / f"{name}.c"
    src.write_text(source)
    exe = tmp / name
    subprocess.run([GCC or "gcc", "-O1", "-o", str(exe), str(src)], check=True)
    return exe


def _truth(path: Path) -> tuple[int, int, int]:
    vsz, reserved, committed = (int(x) for x in path.read_text().split())
    return vsz, reserved, committed


def _rebuilt(trace_path: Path, pid: int) -> tuple[int, int, int, "tracemem.RunSummary"]:
    trace = tracemem.read_trace(trace_path)
    assert trace.report.errors == []
    base = load_recorded_baseline(trace_path)
    assert base is not None
    s = summarize(trace, base)
    assert s.baseline and s.vsz_label == "VSZ"
    proc = next(p for p in s.processes if p.asid == pid)
    return proc.vsz, proc.reserved, proc.committed, s


def _close(model: int, truth: int, what: str) -> None:
    assert abs(model - truth) <= 0.005 * max(truth, 1), f"{what}: model {model:,} vs kernel {truth:,}"


def _check_recording(trace_path: Path, pid: int, truth: Path, label: str) -> None:
    vsz, reserved, committed, _ = _rebuilt(trace_path, pid)
    kv, kr, kc = _truth(truth)
    print(f"{label}: VSZ model {vsz:,} kernel {kv:,} ({(vsz - kv) / kv:+.4%}); reserved {reserved:,} / {kr:,}; "
          f"committed {committed:,} / {kc:,}")
    _close(vsz, kv, f"{label} VSZ")
    _close(reserved, kr, f"{label} reserved")
    _close(committed, kc, f"{label} committed")


@needs_ptrace
@needs_gcc
def test_record_c_program(tmp_path: Path) -> None:
    exe = _build_c(tmp_path, C_WORK, "work")
    out = tmp_path / "c.trace"
    result = record([str(exe), str(tmp_path / "truth")], out)
    assert result.exit_code == 0
    assert [s.kind for s in result.snapshots] == ["exec"]
    snap = result.snapshots[0]
    assert snap.held and not snap.late and snap.pid == result.pid
    assert recorded_baseline(out) == snap.path
    # the log begins with the command's own execve (the starter's stop and continue are signal lines)
    first = next(line for line in out.read_text().splitlines() if "---" not in line)
    assert f'execve("{exe}"' in first and "(DELAYED)" in first
    _check_recording(out, result.pid, tmp_path / "truth", "C")


@needs_ptrace
@needs_gcc
def test_record_cli_picks_up_the_baseline(tmp_path: Path) -> None:
    exe = _build_c(tmp_path, C_WORK, "work")
    out = tmp_path / "cli.trace"
    run = subprocess.run([sys.executable, "-m", "tracemem", "record", "-o", str(out), "--", str(exe),
                          str(tmp_path / "truth")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    summary = subprocess.run([sys.executable, "-m", "tracemem", "summary", str(out), "--json"],
                             capture_output=True, text=True)
    assert summary.returncode == 0, summary.stderr
    data = json.loads(summary.stdout)
    assert data["baseline"] is True and data["vsz_label"] == "VSZ"
    assert "recorded beside the trace" in summary.stderr
    kv, _, _ = _truth(tmp_path / "truth")
    _close(data["processes"][0]["vsz"], kv, "CLI VSZ")
    table = subprocess.run([sys.executable, "-m", "tracemem", "summary", str(out)], capture_output=True, text=True)
    assert "traced VSZ" not in table.stdout and "VSZ" in table.stdout


@needs_ptrace
def test_record_python_one_liner_and_its_exit_status(tmp_path: Path) -> None:
    python = os.path.realpath(sys.executable)  # the interpreter itself, not a shim that execs it
    out = tmp_path / "py.trace"
    os.environ["TRUTH"] = str(tmp_path / "truth")
    try:
        result = record([python, "-c", PY_WORK], out)
    finally:
        del os.environ["TRUTH"]
    assert result.exit_code == 3  # the command's
    assert result.snapshots and not result.snapshots[0].late
    _check_recording(out, result.pid, tmp_path / "truth", "Python")


@needs_ptrace
@pytest.mark.skipif(GO is None, reason="go is not installed (apt-get install golang-go)")
def test_record_go_program(tmp_path: Path) -> None:
    (tmp_path / "work.go").write_text(GO_WORK)
    exe = tmp_path / "gowork"
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod", GO111MODULE="off")
    subprocess.run([GO or "go", "build", "-o", str(exe), str(tmp_path / "work.go")], check=True, env=env,
                   cwd=tmp_path)
    out = tmp_path / "go.trace"
    result = record([str(exe), str(tmp_path / "truth")], out)
    assert result.exit_code == 0
    assert not result.snapshots[0].late
    _check_recording(out, result.pid, tmp_path / "truth", "Go")
    _, reserved, committed, _ = _rebuilt(out, result.pid)
    assert reserved > committed  # the Go story: most of it is only reserved


@needs_ptrace
@needs_gcc
def test_attach_then_detach(tmp_path: Path) -> None:
    exe = _build_c(tmp_path, C_WAIT, "waiter")
    truth = tmp_path / "truth"
    proc = subprocess.Popen([str(exe), str(truth)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        out = tmp_path / "attach.trace"
        rec = subprocess.Popen([sys.executable, "-m", "tracemem", "record", "-p", str(proc.pid), "-o", str(out),
                                "--duration", "3"], stderr=subprocess.PIPE, text=True)
        assert rec.stderr is not None
        said = []
        for line in rec.stderr:
            said.append(line)
            if "attached to process" in line:
                break
        assert any("attached to process" in s for s in said), "".join(said)
        proc.send_signal(signal.SIGUSR1)
        assert proc.stdout.readline() == "done\n"
        rest = rec.stderr.read()
        assert rec.wait(30) == 0, "".join(said) + rest
        assert "detached from process" in rest and "Traceback" not in rest
        # the process goes on: alive, not stopped, no longer traced
        time.sleep(0.1)
        assert proc.poll() is None
        status = Path(f"/proc/{proc.pid}/status").read_text()
        assert "TracerPid:\t0" in status
        assert "State:\tS" in status
        base = recorded_baseline(out)
        assert base is not None and base.name == f"0000-attach-{proc.pid}.smaps"
        vsz, _, _, s = _rebuilt(out, proc.pid)
        kv, _, _ = _truth(truth)
        print(f"attach: VSZ model {vsz:,} kernel {kv:,} ({(vsz - kv) / kv:+.4%})")
        _close(vsz, kv, "attach VSZ")
    finally:
        proc.kill()
        proc.wait()


def _cli(*args: str, env: "dict[str, str] | None" = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracemem", "record", *args], capture_output=True, text=True,
                          env=env)


def test_no_strace_on_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    run = _cli("-o", str(tmp_path / "x.trace"), "--", "true", env=dict(os.environ, PATH=str(empty)))
    assert run.returncode == 2
    assert "strace is not installed" in run.stderr and "apt-get install strace" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
def test_command_not_found(tmp_path: Path) -> None:
    run = _cli("-o", str(tmp_path / "x.trace"), "--", "no-such-command-tracemem")
    assert run.returncode == 2
    assert "no-such-command-tracemem: command not found" in run.stderr and "Traceback" not in run.stderr
    run = _cli("-o", str(tmp_path / "x.trace"), "--", str(tmp_path / "missing"))
    assert run.returncode == 2 and "command not found" in run.stderr


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
def test_pid_that_does_not_exist(tmp_path: Path) -> None:
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    pid = next(p for p in range(pid_max - 1, 1, -1) if not Path(f"/proc/{p}").exists())
    run = _cli("-p", str(pid), "-o", str(tmp_path / "x.trace"))
    assert run.returncode == 2
    assert f"-p {pid}: no such process" in run.stderr and "Traceback" not in run.stderr


def test_ptrace_not_permitted_is_said(tmp_path: Path) -> None:
    """strace's own refusal (a container without SYS_PTRACE, another user's process) becomes the
    advice, not strace's line: a stand-in strace that fails as the real one does then."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "strace"
    fake.write_text("#!/bin/sh\necho 'strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted' >&2\nexit 1\n")
    fake.chmod(0o755)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        run = _cli("-p", str(sleeper.pid), "-o", str(tmp_path / "x.trace"),
                   env=dict(os.environ, PATH=f"{bin_dir}:{os.environ.get('PATH', '')}"))
        assert run.returncode == 2, run.stderr
        assert "ptrace is not permitted" in run.stderr and "CAP_SYS_PTRACE" in run.stderr
        assert "Traceback" not in run.stderr
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_usage_errors(tmp_path: Path) -> None:
    run = _cli("-o", str(tmp_path / "x.trace"))
    assert run.returncode == 2 and "give a command" in run.stderr
    run = _cli("--duration", "3", "--", "true")
    assert run.returncode == 2 and "--duration goes with -p" in run.stderr


C_REEXEC = C_COMMON + r"""
int main(int argc, char **argv) {
    if (argc == 2) {   /* the first image: maps a little, then runs itself again */
        mmap(NULL, 32 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        execl(argv[0], argv[0], argv[1], "again", (char *)NULL);
        _exit(92);
    }
    char *r = mmap(NULL, 128 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    mprotect(r, 4 << 20, PROT_READ | PROT_WRITE);
    memset(r, 1, 4 << 20);
    truth(argv[1]);
    _exit(0);
}
"""


@needs_ptrace
@needs_gcc
def test_each_exec_of_a_recorded_process_has_its_own_baseline(tmp_path: Path) -> None:
    """A program that runs itself again (as a shim or a wrapper script does): the second image's
    exec-time mappings come from the snapshot of the second exec, and the figures at the end are
    the kernel's own (the first snapshot alone would describe the image that was replaced)."""
    from tracemem.record import load_recorded_baselines
    from tracemem.space.kernelmaps import ExecBaselines

    exe = _build_c(tmp_path, C_REEXEC, "reexec")
    out = tmp_path / "re.trace"
    result = record([str(exe), str(tmp_path / "truth")], out)
    assert result.exit_code == 0
    assert [s.kind for s in result.snapshots] == ["exec", "exec"]
    baselines = load_recorded_baselines(out)
    assert isinstance(baselines, ExecBaselines) and len(baselines[result.pid]) == 2
    trace = tracemem.read_trace(out)
    s = summarize(trace, baselines)
    proc = next(p for p in s.processes if p.asid == result.pid)
    kv, kr, kc = _truth(tmp_path / "truth")
    _close(proc.vsz, kv, "re-exec VSZ")
    _close(proc.reserved, kr, "re-exec reserved")
    _close(proc.committed, kc, "re-exec committed")
    # the command line takes the same snapshots
    run = subprocess.run([sys.executable, "-m", "tracemem", "summary", str(out), "--json"],
                         capture_output=True, text=True)
    assert run.returncode == 0 and "2 snapshots" in run.stderr
    data = json.loads(run.stdout)
    assert next(p for p in data["processes"] if p["asid"] == result.pid)["vsz"] == proc.vsz
