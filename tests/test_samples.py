"""The samples recorded with ``tracemem record`` (samples/recorded/, made by
samples/make_recorded.sh): each parses clean, its recorded baseline is picked up ("VSZ", not
"traced VSZ"), and each shows what it was recorded for."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

import tracemem
from tracemem.record import load_recorded_baseline, recorded_baseline
from tracemem.summary import summarize

from conftest import ROOT

RECORDED = ROOT / "samples" / "recorded"
NAMES = ["go-http", "memdemo", "python-startup", "node-startup", "jvm-startup", "multiproc", "attach"]
MIB = 1 << 20


def _path(name: str) -> Path:
    return RECORDED / f"{name}.trace"


@lru_cache(maxsize=None)
def _load(name: str):
    trace = tracemem.read_trace(_path(name))
    base = load_recorded_baseline(_path(name))
    return trace, base, summarize(trace, base)


def test_every_recorded_sample_is_listed() -> None:
    assert sorted(p.stem for p in RECORDED.glob("*.trace")) == sorted(NAMES)
    readme = (ROOT / "samples" / "README.md").read_text()
    assert "Recorded with tracemem record" in readme
    for name in NAMES:
        assert f"`recorded/{name}.trace`" in readme


@pytest.mark.parametrize("name", NAMES)
def test_parses_clean_with_its_baseline(name: str) -> None:
    path = _path(name)
    assert path.stat().st_size < 300_000, "keep recorded samples small"
    trace, base, s = _load(name)
    assert trace.report.errors == []
    snap = recorded_baseline(path)
    assert snap is not None and snap.parent == RECORDED / f"{name}.trace.maps"
    kind = "attach" if name == "attach" else "exec"
    assert re.match(rf"0000-{kind}-\d+\.smaps$", snap.name)
    assert base, "the snapshot has regions"
    assert s.baseline and s.vsz_label == "VSZ" and s.errors == 0
    assert s.processes and all(p.vsz > 0 for p in s.processes)


def test_cli_summary_picks_up_the_baseline() -> None:
    run = subprocess.run([sys.executable, "-m", "tracemem", "summary", str(_path("go-http")), "--json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["baseline"] is True and data["errors"] == 0
    assert "recorded beside the trace" in run.stderr


def test_go_reservations_dominate_reserved() -> None:
    text = _path("go-http").read_text()
    assert "mmap(0xc000000000, 67108864, PROT_NONE" in text   # mallocinit's arena hint
    _, _, s = _load("go-http")
    proc = s.processes[0]
    assert proc.exe and proc.exe.endswith("/hello")
    go_reserved = sum(r.reserved for r in proc.roles if r.role.startswith("Go "))
    assert proc.reserved > 256 * MIB
    assert go_reserved >= 0.95 * proc.reserved
    assert proc.reserved > 5 * proc.committed      # "about 700 MB VSZ" is mostly address space


def test_c_sample_uses_every_memory_call() -> None:
    calls = set(re.findall(r"^\d+ [\d.]+ (\w+)\(", _path("memdemo").read_text(), re.M))
    assert {"mmap", "munmap", "mprotect", "madvise", "mremap", "brk", "prctl", "clone"} <= calls
    _, _, s = _load("memdemo")
    assert len(s.processes) == 2    # the fork's child has its own address space


def test_multiproc_forks_and_execs() -> None:
    text = _path("multiproc").read_text()
    # (an execve may be split into <unfinished ...> and <... execve resumed> lines)
    execs = set(re.findall(r'^(\d+) [\d.]+ execve\("', text, re.M))
    assert len(execs) >= 3                                # the program and its two children
    _, _, s = _load("multiproc")
    assert len(s.processes) >= 2
    exes = {p.exe for p in s.processes}
    assert {"/bin/true", "/bin/echo"} <= exes
    snaps = sorted(p.name for p in (RECORDED / "multiproc.trace.maps").iterdir())
    assert len(snaps) == len(execs)                       # one snapshot per successful exec


def test_attach_first_process_has_its_snapshot() -> None:
    trace, base, s = _load("attach")
    text = _path("attach").read_text()
    assert "execve" not in text                           # attached: no exec in the log
    proc = s.processes[0]
    kept = next(r for r in proc.roles if r.role == "kernel/exec baseline")
    assert kept.regions >= 10 and kept.vsz > 64 * MIB      # the program, libc, its 16 + 64 MiB
    assert any(r.path and r.path.endswith("/mapwait") for r in base)
    traced = summarize(tracemem.read_trace(_path("attach"))).processes[0]
    assert proc.vsz - traced.vsz > 64 * MIB                # without the snapshot: traced VSZ only


def test_make_recorded_script_is_posix_sh() -> None:
    script = ROOT / "samples" / "make_recorded.sh"
    text = script.read_text()
    assert text.startswith("#!/bin/sh\n") and "set -eu" in text
    for need in ("strace 6.1", "gcc", "golang-go", "python3", "node", "default-jdk"):
        assert need in text.split("set -eu")[0]
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
