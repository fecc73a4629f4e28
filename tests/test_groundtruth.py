"""The kernel is the oracle: programs print their own /proc/self/smaps at exit
(tests/data/groundtruth, made by tests/data/make_traces.sh); the model rebuilt from the trace
must agree with it page for page on everything syscalls created, and on the charge: C, Go and
Python, each with the recommended capture and with plain -f."""

from __future__ import annotations

import pytest

import tracemem
from tracemem.space.kernelmaps import KERNEL_MADE, parse_maps, status_fields

from conftest import DATA

GT = DATA / "groundtruth"
CASES = ["c-recommended", "c-full", "go-recommended", "go-full", "python-recommended", "python-full"]


def kernel_made(regions):
    """The mappings the kernel made at exec: the executable (and its bss right after it), the
    ELF interpreter, stack, vdso, vvar, vsyscall."""
    exe = regions[0].path
    interp = next((k.path for k in regions if "ld-linux" in k.path), None)
    made = set()
    after_exe = False
    prev_end = None
    for k in regions:
        if k.path in KERNEL_MADE or k.path == exe or (interp and k.path == interp):
            made.add(k.start)
            after_exe = k.path == exe
        elif after_exe and k.inode == 0 and not k.path and k.start == prev_end:
            made.add(k.start)  # the executable's bss, right after its last mapping
            after_exe = False
        else:
            after_exe = False
        prev_end = k.end
    return [k for k in regions if k.start in made]


def pages(regions):
    out = {}
    for start, end, perms in regions:
        for p in range(start, end, 4096):
            out[p] = perms
    return out


@pytest.mark.parametrize("name", CASES)
def test_model_agrees_with_the_kernel(name: str) -> None:
    text = (GT / f"{name}.smaps").read_text()
    kernel = parse_maps(text)
    base = kernel_made(kernel)
    base_pages = pages((k.start, k.end, k.perms) for k in base)
    trace = tracemem.read_trace(GT / f"{name}.trace")
    assert trace.report.errors == []
    space = trace.address_space()
    model = {p: v for p, v in pages(
        (r.start, r.end, ("r" if r.prot & 1 else "-") + ("w" if r.prot & 2 else "-") + ("x" if r.prot & 4 else "-")
         + ("s" if r.shared else "p")) for r in space).items() if p not in base_pages}
    truth = {p: v for p, v in pages((k.start, k.end, k.perms) for k in kernel).items() if p not in base_pages}
    union = set(model) | set(truth)
    agree = sum(1 for p in union if model.get(p) == truth.get(p))
    assert agree / len(union) >= 0.999, f"{agree}/{len(union)} pages agree"
    base_set = {k.start for k in base}
    k_committed = sum(k.size for k in kernel if k.start not in base_set and (k.accounted or k.shared_anonymous))
    k_reserved = sum(k.size for k in kernel if k.start not in base_set and k.perms[:3] == "---")
    m_committed = sum(4096 for r in space if r.accounted or (r.shared and r.anonymous)
                      for p in range(r.start, r.end, 4096) if p not in base_pages)
    m_reserved = sum(4096 for v in model.values() if v[:3] == "---")
    assert abs(m_committed - k_committed) <= 0.005 * k_committed
    assert abs(m_reserved - k_reserved) <= 0.005 * max(k_reserved, 1)
    # VmSize = the model's VSZ plus the exec-time baseline the trace cannot show.
    vmsize = status_fields(text)["VmSize"] * 1024
    baseline = sum(k.size for k in base if k.path != "[vsyscall]")
    assert abs(space.totals().vsz + baseline - vmsize) <= 0.001 * vmsize


def test_baseline_maps_seed_the_model() -> None:
    text = (GT / "c-recommended.smaps").read_text()
    kernel = parse_maps(text)
    trace = tracemem.read_trace(GT / "c-recommended.trace")
    space = trace.address_space(baseline=kernel_made(kernel))
    vmsize = status_fields(text)["VmSize"] * 1024
    assert abs(space.totals().vsz - vmsize - 4096) <= 0.001 * vmsize  # [vsyscall] is not in VmSize


def test_go_story() -> None:
    trace = tracemem.read_trace(GT / "go-recommended.trace")
    tl = trace.timeline()
    first = tl.iloc[: len(tl) // 3]
    assert (first["reserved"].astype("int64").max()) > 500 << 20   # large PROT_NONE reservations early
    roles = set(tl["role"].dropna())
    assert {"Go heap arena", "Go heap", "Go runtime reservation"} <= roles
    last = tl.iloc[-1]
    assert int(last["committed"]) < int(last["reserved"])          # most of VSZ is only reserved
