"""The kernel is the oracle for every capture form a user makes (tests/data/captures, made by
tests/data/make_captures.sh): a C program with a thread and a fork child, a cgo Go server and a
JVM without -Xmx write their own /proc/self/maps and smaps at a marked point; the address space
rebuilt from the log, cut at the mark, must agree with them byte for byte (the exec-time
mappings left out), and reserved / committed with the kernel's PROT_NONE and ``ac`` sums."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracemem
from tracemem.space.kernelmaps import parse_maps

from conftest import DATA
from test_groundtruth import kernel_made, pages

CAPTURES = DATA / "captures"
MARK = 0x7ACE00000000

#: capture forms, and the reason where the model is known not to be exact yet
FORMS = {
    "f-memory": None,
    "f-memory-nopct": None,
    "f-z": None,
    "f-Xraw": None,
    "f-k": None,
    "f-r": None,
    "ff": None,
    "stderr": None,
}


def logs(name: str) -> list[Path]:
    if name.endswith("-ff"):
        return sorted(CAPTURES.glob(f"{name}.ff.[0-9]*"))
    return [CAPTURES / f"{name}.trace"]


def at_mark(trace: tracemem.Trace) -> tuple[int | None, int | None]:
    """The pid and seq of the marking mmap (None, None: compare at the end of the log)."""
    df = trace.df
    hit = df[(df["syscall"] == "mmap") & (df["addr"] == MARK)]
    if not len(hit):
        return None, None
    return int(hit["pid"].iloc[0]), int(hit["seq"].iloc[0])


def compare(name: str) -> dict[str, object]:
    trace = tracemem.read_trace(logs(name))
    assert trace.report.errors == [], trace.report.errors[:3]
    pid, seq = at_mark(trace)
    space = trace.address_space(pid, at=seq)
    kernel = parse_maps((CAPTURES / f"{name}.smaps").read_text())
    base = {k.start for k in kernel_made(kernel)}
    base_pages = pages((k.start, k.end, k.perms) for k in kernel if k.start in base)
    model = {p: v for p, v in pages(
        (r.start, r.end, ("r" if r.prot & 1 else "-") + ("w" if r.prot & 2 else "-") + ("x" if r.prot & 4 else "-")
         + ("s" if r.shared else "p")) for r in space).items() if p not in base_pages}
    truth = {p: v for p, v in pages((k.start, k.end, k.perms) for k in kernel).items() if p not in base_pages}
    m_committed = sum(4096 for r in space if r.accounted or (r.shared and r.anonymous)
                      for p in range(r.start, r.end, 4096) if p not in base_pages)
    k_committed = sum(k.size for k in kernel if k.start not in base and (k.accounted or k.shared_anonymous))
    k_file = sum(k.size for k in kernel if k.start not in base and k.inode != 0)
    return {
        "space": space, "model": model, "truth": truth,
        "wrong": sorted(p for p in set(model) | set(truth) if model.get(p) != truth.get(p)),
        "reserved": (sum(4096 for v in model.values() if v[:3] == "---"),
                     sum(4096 for v in truth.values() if v[:3] == "---")),
        "committed": (m_committed, k_committed),
        "file": (space.totals().file, k_file),
        "maps": (space.map_count, sum(1 for k in kernel if k.start not in base)),
    }


def _params(prog: str) -> list[object]:
    return [pytest.param(f"{prog}-{form}", marks=[pytest.mark.xfail(reason=why)] if why else [], id=f"{prog}-{form}")
            for form, why in FORMS.items()]


@pytest.mark.parametrize("name", _params("c"))
def test_c_program_every_capture_form(name: str) -> None:
    got = compare(name)
    assert not got["wrong"], f"{len(got['wrong'])} pages differ, first at {got['wrong'][0]:#x}"
    assert got["reserved"][0] == got["reserved"][1]
    assert got["committed"][0] == got["committed"][1]
    assert got["maps"][0] == got["maps"][1]   # the VMAs split and merged as the kernel's


@pytest.mark.parametrize("name", _params("go"))
def test_go_server_every_capture_form(name: str) -> None:
    got = compare(name)
    # the Go runtime's threads run on between the mark and the read of smaps: a few pages may
    # change in between (measured: none or a handful of the ~100,000 pages)
    union = len(set(got["model"]) | set(got["truth"]))
    assert len(got["wrong"]) <= 0.001 * union, f"{len(got['wrong'])} of {union} pages differ"
    model_r, kernel_r = got["reserved"]
    model_c, kernel_c = got["committed"]
    assert abs(model_r - kernel_r) <= 0.002 * kernel_r
    assert abs(model_c - kernel_c) <= 0.01 * kernel_c
    assert abs(got["maps"][0] - got["maps"][1]) <= 1


@pytest.mark.parametrize("prog", ["c", "go"])
def test_attach_claims_nothing_the_kernel_does_not_hold(prog: str) -> None:
    trace = tracemem.read_trace(CAPTURES / f"{prog}-attach.trace")
    pid, seq = at_mark(trace)
    space = trace.address_space(pid, at=seq)
    kernel = parse_maps((CAPTURES / f"{prog}-attach.smaps").read_text())
    truth = pages((k.start, k.end, k.perms) for k in kernel)
    mapped = pages((r.start, r.end, ("r" if r.prot & 1 else "-") + ("w" if r.prot & 2 else "-")
                    + ("x" if r.prot & 4 else "-") + ("s" if r.shared else "p")) for r in space)
    invented = [p for p, v in mapped.items() if truth.get(p) != v]
    assert len(invented) <= 0.001 * max(len(mapped), 1), f"{len(invented)} of {len(mapped)} pages not in the kernel's maps"


@pytest.mark.parametrize("prog", ["c", "go"])
def test_terminal_capture_first_events_go_to_their_task(prog: str) -> None:
    # strace -f without -o: "22:35:17.341558 execve(...)" and the loader's calls carry no
    # [pid N] until the first thread exists; the first prefixed task nobody created owns them
    trace = tracemem.read_trace(CAPTURES / f"{prog}-stderr.trace")
    assert not trace.df["pid"].isna().any()
    first = int(trace.df["pid"].iloc[0])
    assert trace.df["syscall"].iloc[0] == "execve"
    assert any(f"taken as pid {first}'s" in note for note in trace.report.notes)
    summary = trace.summary()
    assert summary.process(first).exe == "./" + prog
    assert any("terminal capture" in note for note in summary.notes)


def test_jvm_file_mappings_without_paths_are_files_and_not_charged() -> None:
    # strace -f -e trace=memory,process (no -y, no openat): the JVM's 123 MiB lib/modules is a
    # MAP_SHARED mapping of fd 3; it is file-backed and never commit-charged.
    name = "java-f-memory-process"
    got = compare(name)
    space = got["space"]
    modules = [r for r in space if r.size > 100 << 20 and r.shared]
    assert modules and all(r.path and not r.anonymous for r in modules)
    model_file, kernel_file = got["file"]
    assert model_file >= 0.9 * kernel_file
    model_c, kernel_c = got["committed"]
    assert abs(model_c - kernel_c) <= 0.02 * kernel_c, (model_c >> 20, kernel_c >> 20)


def test_jvm_heap_without_xmx_is_the_heap() -> None:
    trace = tracemem.read_trace(CAPTURES / "java-f-memory-process.trace")
    space = trace.address_space()
    heap = [r for r in space if r.role.startswith("JVM heap")]
    # mmap(0x687400000, 6320816128, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0):
    # the compressed-oops heap, sized by ergonomics (no -Xmx given), ending at 32 GiB
    assert heap and heap[0].start == 0x687400000
    assert not [r for r in space if r.role == "JVM class space reservation" and r.start == 0x687400000]


def test_dtruss_advice_keeps_macos_names(tmp_path: Path) -> None:
    from conftest import DTRUSS

    log = DTRUSS / "eddycjy-blog__why-vsz-large__go-dtruss-a.txt"
    if not log.exists():
        pytest.skip("../shared/corpus is not beside this checkout")
    from tracemem.reporters.export import write_events

    trace = tracemem.read_trace(log)
    write_events([trace.df], tmp_path / "events.jsonl")
    text = (tmp_path / "events.jsonl").read_text()
    # madvise(..., 0x8) on macOS is MADV_FREE_REUSE (Linux's 8 is MADV_FREE)
    assert '"advice": "MADV_FREE_REUSE"' in text and "MADV_FREE\"" not in text


def test_unknown_syscalls_are_counted_apart() -> None:
    stats = tracemem.count_events(DATA / "strace" / "go-http-ttt-T-y.trace")
    # 10130 1795636081.386284 ???( <unfinished ...>
    assert stats["unknown_syscalls"] == 1 and "???" not in stats["syscalls"]


def test_every_capture_parses_without_errors() -> None:
    for path in sorted(CAPTURES.iterdir()):
        if path.suffix in (".maps", ".smaps"):
            continue
        stats = tracemem.count_events(path)
        assert stats["errors"] == 0, (path.name, stats["error_details"][:2])


def test_restart_syscall_keeps_the_interrupted_call() -> None:
    from tracemem.parse.values import Resuming, parse_args

    # go-attach.trace: "26438 22:14:59.787655 restart_syscall(<... resuming interrupted read ...> <unfinished ...>"
    trace = tracemem.read_trace(CAPTURES / "go-attach.trace")
    rows = trace.df[trace.df["syscall"] == "restart_syscall"]
    assert len(rows) and trace.report.errors == []
    assert parse_args(rows["args"].iloc[0]) == [Resuming("read")]
    assert parse_args("<... resuming interrupted nanosleep ...>") == [Resuming("nanosleep")]


@pytest.mark.parametrize("prog", ["c", "go"])
def test_attach_capture_says_it_starts_mid_life(prog: str) -> None:
    # strace -f -p PID: the process mapped 3 MiB before the attach; the trace cannot show them
    trace = tracemem.read_trace(CAPTURES / f"{prog}-attach.trace")
    summary = trace.summary()
    pid, _ = at_mark(trace)
    main = summary.process(trace.replayer().task[pid].asid)
    assert any(f"process {main.asid} starts mid-life" in note and "--baseline-maps" in note
               for note in summary.notes), summary.notes
    assert main.ended == "exited with 0"


def test_a_current_maps_file_as_baseline_is_called_out() -> None:
    # --baseline-maps given the maps written at the mark (not at exec): the trace creates those
    # mappings again, so earlier figures count them twice; the summary says so
    from tracemem.space.kernelmaps import parse_maps

    trace = tracemem.read_trace(CAPTURES / "c-f-z.trace")
    late = parse_maps((CAPTURES / "c-f-z.maps").read_text())
    notes = trace.summary(late).notes
    assert any("taken after exec" in note for note in notes), notes
    exec_time = [k for k in late if k.path in ("[stack]", "[vdso]", "[vvar]", "[vsyscall]")]
    assert not any("taken after exec" in note for note in trace.summary(exec_time).notes)


def test_maps_with_a_baseline_keeps_the_kernels_names() -> None:
    # `tracemem maps --baseline-maps`: [stack], [vdso] and [vvar] lines stay named, so the output
    # lines up with the real /proc/PID/maps
    from tracemem.reporters.maps import format_maps

    kernel = parse_maps((CAPTURES / "c-f-z.smaps").read_text())
    made = [k for k in kernel if k.path in ("[stack]", "[vdso]", "[vvar]")]
    text = format_maps(tracemem.read_trace(CAPTURES / "c-f-z.trace").address_space(baseline=made))
    named = {line.split()[-1] for line in text.splitlines() if line.split()[-1].startswith("[")}
    assert {"[stack]", "[vdso]", "[vvar]"} <= named
    for k in made:
        assert f"{k.start:08x}-{k.end:08x} {k.perms}" in text


def test_vma_flags_split_mappings_as_the_kernel_does() -> None:
    # 11281 mlock(0x7f86bdc5f000, 4096)       = 0
    # 11281 mlock2(0x7f86bdc61000, 8192, MLOCK_ONFAULT) = 0
    # 11281 munlock(0x7f86bdc5f000, 4096)     = 0
    # 11281 syscall_0x1ce(0x7f86bdc66000, 0x1000, 0, 0xffffffff, 0, 0) = 0     (mseal, strace 6.1)
    got = compare("vmaflags")
    assert not got["wrong"]
    kernel = parse_maps((CAPTURES / "vmaflags.smaps").read_text())
    base = {k.start for k in kernel_made(kernel)}
    space = got["space"]
    assert space.map_count == sum(1 for k in kernel if k.start not in base)
    locked = [r for r in space if r.locked]
    assert [(r.size, r.locked) for r in locked] == [(8192, 2)]       # MLOCK_ONFAULT
    assert [r.size for r in space if r.sealed] == [4096]
    lk = {k.start: k for k in kernel}
    assert {"lo", "lf"} <= lk[locked[0].start].vmflags                  # the kernel agrees


def test_final_maps_give_the_exec_time_baseline(tmp_path: Path) -> None:
    # --final-maps: a maps file taken late (here at the mark) is reconciled, not seeded: what the
    # trace does not map is the exec-time baseline, so the figures are the kernel's VmSize and
    # nothing is counted twice
    from typer.testing import CliRunner

    from tracemem.cli import app

    trace = tracemem.read_trace(CAPTURES / "c-f-z.trace")
    pid, seq = at_mark(trace)
    late = parse_maps((CAPTURES / "c-f-z.maps").read_text())
    base = trace.baseline_from_final(late, pid, at=seq)
    assert {k.path for k in base} >= {"[stack]", "[vdso]", "[vvar]"}
    total = sum(k.size for k in late if k.path != "[vsyscall]")
    assert trace.address_space(pid, at=seq, baseline=base).totals().vsz == total
    summary = trace.summary(base)
    assert not any("taken after exec" in note for note in summary.notes)
    assert any("baseline from a final snapshot" in note for note in summary.notes)
    result = CliRunner().invoke(app, ["summary", str(CAPTURES / "c-f-z.trace"), "--final-maps",
                                      str(CAPTURES / "c-f-z.maps"), "--json"])
    assert result.exit_code == 0, result.output
    both = CliRunner().invoke(app, ["summary", str(CAPTURES / "c-f-z.trace"), "--final-maps", "x",
                                    "--baseline-maps", "y"])
    assert both.exit_code == 2 and "give one" in both.output
