"""The measured truth table of shared/reference/linux-address-space.md section 13, row by row:
ΔVSZ, Δcommit and ΔVMAs of each step (MiB), against the region model."""

from __future__ import annotations


from tracemem.space.addrspace import AddressSpace, Region, Totals
from tracemem.flags import Advice, MapFlags, MremapFlags, Prot

MiB = 1 << 20
GiB = 1 << 30
NONE, R, RW = 0, int(Prot.PROT_READ), int(Prot.PROT_READ | Prot.PROT_WRITE)
PA = int(MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS)
SA = int(MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS)
NORES = int(MapFlags.MAP_NORESERVE)
FIXED = int(MapFlags.MAP_FIXED)
BASE = 0x7F0000000000


class Steps:
    """Apply steps and read deltas as in the table."""

    def __init__(self, **kw) -> None:
        self.space = AddressSpace(**kw)
        self.last = self.space.totals()

    def delta(self) -> tuple[int, int, int]:
        now = self.space.totals()
        d = ((now.vsz - self.last.vsz) // MiB, (now.committed - self.last.committed) // MiB,
             now.map_count - self.last.map_count)
        self.last = now
        return d


def test_rows_1_to_6_protections_of_a_reservation() -> None:
    s = Steps(mprotect_uncharge="unfaulted")
    s.space.mmap(BASE, GiB, NONE, PA)
    assert s.delta() == (1024, 0, 1)                      # 1
    s.space.mprotect(BASE, GiB, RW)
    assert s.delta() == (0, 1024, 0)                      # 2
    s.space.mprotect(BASE, GiB, NONE)
    assert s.delta() == (0, -1024, 0)                     # 3 never faulted, Linux >= 6.7
    s.space.mprotect_uncharge = "never"
    s.space.mprotect(BASE, GiB, RW)
    assert s.delta() == (0, 1024, 0)                      # 4
    s.space.mprotect(BASE, GiB, NONE)
    assert s.delta() == (0, 0, 0)                         # 5 after a fault: the charge is kept
    s.space.munmap(BASE, GiB)
    assert s.delta() == (-1024, -1024, -1)                # 6


def test_rows_7_to_14_which_mappings_are_charged() -> None:
    s = Steps()
    s.space.mmap(BASE, GiB, RW, PA | NORES)
    assert s.delta() == (1024, 0, 1)                      # 7
    s.space.mprotect(BASE, GiB, NONE)
    s.delta()
    s.space.mprotect(BASE, GiB, RW)
    assert s.delta() == (0, 0, 0)                         # 8 NORESERVE stays uncharged
    s.space.mmap(BASE + 2 * GiB, GiB, NONE, PA | NORES)
    s.space.mprotect(BASE + 2 * GiB, GiB // 2, RW)
    assert s.delta() == (1024, 0, 2)                      # 10 glibc arena pattern
    s.space.mmap(BASE + 4 * GiB, GiB, RW, SA)
    assert s.delta() == (1024, 1024, 1)                   # 11 shared anonymous (shmem)
    s.space.mmap(BASE + 6 * GiB, GiB, RW, int(MapFlags.MAP_PRIVATE), path="/tmp/sparse")
    assert s.delta() == (1024, 1024, 1)                   # 12 file private writable
    s.space.mmap(BASE + 8 * GiB, GiB, RW, int(MapFlags.MAP_SHARED), path="/tmp/sparse2")
    assert s.delta() == (1024, 0, 1)                      # 13 file shared
    s.space.mmap(BASE + 10 * GiB, GiB, R, PA)
    assert s.delta() == (1024, 0, 1)                      # 14 read-only private anon


def test_rows_15_to_17_fixed_overlay_and_hole() -> None:
    s = Steps()
    s.space.mmap(BASE, GiB, RW, PA)
    assert s.delta() == (1024, 1024, 1)                   # 15
    s.space.mmap(BASE + GiB // 2, GiB // 2, NONE, PA | FIXED)
    assert s.delta() == (0, -512, 1)                      # 16 MAP_FIXED replaces
    s.space.munmap(BASE + 64 * MiB, 128 * MiB)
    assert s.delta() == (-128, -128, 1)                   # 17 a hole splits


def test_rows_19_20_mremap() -> None:
    s = Steps()
    s.space.mmap(BASE, GiB, RW, PA)
    s.delta()
    s.space.mremap(BASE, GiB, 2 * GiB, int(MremapFlags.MREMAP_MAYMOVE), BASE + 4 * GiB)
    assert s.delta() == (1024, 1024, 0)                   # 19 grow, moved
    t = Steps()
    t.space.mmap(BASE, GiB, RW, PA)
    t.space.mmap(BASE + 2 * GiB, GiB, RW, PA)
    t.delta()
    t.space.mremap(BASE, GiB, GiB, int(MremapFlags.MREMAP_MAYMOVE | MremapFlags.MREMAP_DONTUNMAP), BASE + GiB)
    assert t.delta() == (1024, 1024, -1)                  # 20 old range kept; new one merges


def test_rows_21_to_27_madvise_never_changes_vsz_or_commit() -> None:
    s = Steps()
    s.space.mmap(BASE, 256 * MiB, RW, PA)
    assert s.delta() == (256, 256, 1)                     # 21
    for advice in (Advice.MADV_FREE, Advice.MADV_DONTNEED, Advice.MADV_POPULATE_WRITE,
                   Advice.MADV_COLD, Advice.MADV_WILLNEED):
        s.space.madvise(BASE, 256 * MiB, int(advice))
        assert s.delta() == (0, 0, 0)                     # 22-25
    s.space.madvise(BASE + 96 * MiB, 64 * MiB, int(Advice.MADV_HUGEPAGE))
    assert s.delta() == (0, 0, 2)                         # 26 splits
    s.space.madvise(BASE + 96 * MiB, 64 * MiB, int(Advice.MADV_NOHUGEPAGE))
    assert s.delta() == (0, 0, 0)                         # 27 no re-merge


def test_released_bytes() -> None:
    space = AddressSpace()
    space.mmap(BASE, 256 * MiB, RW, PA)
    space.madvise(BASE, 64 * MiB, int(Advice.MADV_DONTNEED))
    space.madvise(BASE + 32 * MiB, 64 * MiB, int(Advice.MADV_FREE))
    assert space.totals().released == 96 * MiB and space.totals().map_count == 1
    space.madvise(BASE, 16 * MiB, int(Advice.MADV_POPULATE_WRITE))
    assert space.totals().released == 80 * MiB
    space.munmap(BASE + 80 * MiB, 32 * MiB)
    assert space.totals().released == 64 * MiB


def test_rows_30_to_32_populate_and_brk() -> None:
    s = Steps()
    s.space.mmap(BASE, 256 * MiB, RW, PA | int(MapFlags.MAP_POPULATE))
    assert s.delta() == (256, 256, 1)                     # 30
    s.space.brk(0, 0x555555554000)
    s.delta()
    s.space.brk(0x555555554000 + 64 * MiB, 0x555555554000 + 64 * MiB)
    assert s.delta() == (64, 64, 1)                       # 31 (the first growth creates [heap])
    s.space.brk(0x555555554000, 0x555555554000)
    assert s.delta() == (-64, -64, -1)                    # 32
    s.space.brk(0x955555554000, 0x555555554000)
    assert s.delta() == (0, 0, 0)                         # a failed brk: returned != requested


def test_fork_copies_minus_dontfork() -> None:
    space = AddressSpace()
    space.mmap(BASE, 16 * MiB, RW, PA)
    space.mmap(BASE + 32 * MiB, 16 * MiB, RW, PA)
    space.madvise(BASE + 32 * MiB, 16 * MiB, int(Advice.MADV_DONTFORK))
    child = space.fork()
    assert child.totals().vsz == 16 * MiB and child.totals().committed == 16 * MiB
    assert space.totals().vsz == 32 * MiB


# --- the region structure against a page-by-page model -----------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PAGES = 64
P = 4096

ops = st.lists(st.tuples(
    st.sampled_from(["mmap", "munmap", "mprotect", "hugepage", "dontneed"]),
    st.integers(0, PAGES - 1), st.integers(1, 16), st.sampled_from([NONE, R, RW]),
    st.sampled_from(["private", "noreserve", "file", "shared-file", "shared-anon"])), max_size=40)

KINDS = {"private": (PA, None), "noreserve": (PA | NORES, None),
         "file": (int(MapFlags.MAP_PRIVATE), "/lib/x.so"), "shared-file": (int(MapFlags.MAP_SHARED), "/dev/shm/y"),
         "shared-anon": (int(MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS), None)}


@settings(deadline=None)
@given(ops)
def test_regions_match_a_page_map(steps) -> None:
    space = AddressSpace()
    pages: dict[int, tuple[int, bool]] = {}   # page -> (prot, accounted)
    released: set[int] = set()
    for op, first, count, prot, kind in steps:
        last = min(first + count, PAGES)
        addr, length = BASE + first * P, (last - first) * P
        rng = range(first, last)
        if op == "mmap":
            flags, path = KINDS[kind]
            space.mmap(addr, length, prot, flags | FIXED, path, (first * P) if path else 0)
            for p in rng:
                pages[p] = (prot, bool(prot & 2) and kind in ("private", "file"))
                released.discard(p)
        elif op == "munmap":
            space.munmap(addr, length)
            for p in rng:
                pages.pop(p, None)
                released.discard(p)
        elif op == "mprotect":
            space.mprotect(addr, length, prot)
            for p in rng:
                if p in pages:
                    old_prot, acc = pages[p]
                    pages[p] = (prot, acc)
        elif op == "hugepage":
            space.madvise(addr, length, int(Advice.MADV_HUGEPAGE))
        else:
            space.madvise(addr, length, int(Advice.MADV_DONTNEED))
            released |= {p for p in rng if p in pages}
    regions = list(space)
    for a, b in zip(regions, regions[1:]):
        assert a.end <= b.start and not a.mergeable(b)   # sorted, disjoint, merged like the kernel
    got = {}
    for r in regions:
        assert r.start % P == 0 and r.end % P == 0 and r.end > r.start
        for p in range((r.start - BASE) // P, (r.end - BASE) // P):
            got[p] = r.prot
    assert got == {p: v[0] for p, v in pages.items()}
    t = space.totals()
    assert t.vsz == len(pages) * P
    assert t.reserved == sum(1 for v in pages.values() if v[0] == 0) * P
    assert t.released == len(released) * P
    assert t.committed <= t.vsz
    _check_disjoint(t, regions)


def _check_disjoint(t: "Totals", regions: list[Region]) -> None:
    """The chart's split of VSZ: charged, PROT_NONE not charged, file-backed not charged, the rest
    (each region in exactly one), recounted from the regions."""
    def charged(r: Region) -> bool:
        return r.accounted or (r.shared and r.anonymous)

    assert t.committed == sum(r.size for r in regions if charged(r))
    assert t.reserved_uncharged == sum(r.size for r in regions if not charged(r) and r.prot == 0)
    assert t.file_uncharged == sum(r.size for r in regions if not charged(r) and r.prot and r.path is not None)
    assert t.committed + t.reserved_uncharged + t.file_uncharged <= t.vsz
    assert t.reserved_uncharged <= t.reserved and t.file_uncharged <= t.file


def test_released_pages_move_with_mremap() -> None:
    """MADV_DONTNEED/FREE pages stay released when mremap moves the mapping (the kernel moves
    the page tables, absent pages stay absent); a shrink drops the cut part's."""
    space = AddressSpace()
    space.mmap(BASE, 64 * MiB, RW, PA)
    space.madvise(BASE + 16 * MiB, 16 * MiB, int(Advice.MADV_DONTNEED))
    space.madvise(BASE + 48 * MiB, 16 * MiB, int(Advice.MADV_FREE))
    new = BASE + GiB
    space.mremap(BASE, 64 * MiB, 128 * MiB, int(MremapFlags.MREMAP_MAYMOVE), new)
    assert space.totals().released == 32 * MiB
    assert space.released.within(0, 1 << 48) == [(new + 16 * MiB, new + 32 * MiB), (new + 48 * MiB, new + 64 * MiB)]
    # moved and shrunk: only the part kept moves
    other = BASE + 2 * GiB
    space.mremap(new, 128 * MiB, 40 * MiB, int(MremapFlags.MREMAP_MAYMOVE), other)
    assert space.released.within(0, 1 << 48) == [(other + 16 * MiB, other + 32 * MiB)]
    # DONTUNMAP: the pages go, the old range stays mapped and holds none of them
    last = BASE + 3 * GiB
    space.mremap(other, 40 * MiB, 40 * MiB, int(MremapFlags.MREMAP_MAYMOVE | MremapFlags.MREMAP_DONTUNMAP), last)
    assert space.released.within(0, 1 << 48) == [(last + 16 * MiB, last + 32 * MiB)]
    assert space.totals().released == 16 * MiB
    # in place: nothing moves
    space.mremap(last, 40 * MiB, 20 * MiB, 0, last)
    assert space.released.within(0, 1 << 48) == [(last + 16 * MiB, last + 20 * MiB)]


# --- the chunked index: tiny chunks and forks that share them, against page maps ----------------

fork_ops = st.lists(st.tuples(
    st.sampled_from(["mmap", "munmap", "mprotect", "hugepage", "dontfork", "fork", "switch"]),
    st.integers(0, PAGES - 1), st.integers(1, PAGES), st.sampled_from([NONE, R, RW]),
    st.sampled_from(["a", "b", "c"])), max_size=60)


def _check(space: AddressSpace, pages: dict[int, int]) -> None:
    regions = list(space)
    for a, b in zip(regions, regions[1:]):
        assert a.end <= b.start and not a.mergeable(b)
    got = {}
    for r in regions:
        for p in range((r.start - BASE) // P, (r.end - BASE) // P):
            got[p] = r.prot
    assert got == pages
    t = space.totals()
    assert t.vsz == len(pages) * P and t.map_count == len(regions)
    assert t.reserved == sum(1 for v in pages.values() if v == 0) * P
    assert t.committed == sum(r.size for r in regions if r.accounted)
    _check_disjoint(t, regions)
    assert space.regions.special == sum(1 for r in regions if r.dontfork or r.wipeonfork or r.locked)
    by_role: dict[str, list[int]] = {}
    for r in regions:
        acc = by_role.setdefault(r.role, [0, 0, 0, 0])
        acc[0] += 1
        acc[1] += r.size
        acc[2] += r.size if r.prot == 0 else 0
        acc[3] += r.size if r.accounted else 0
    assert space.regions.role_totals() == by_role
    for k in (1, 3, 40):
        assert space.regions.largest(k) == sorted(regions, key=lambda r: r.size, reverse=True)[:k]
    for r in regions:
        assert space.regions.get(r.start) == r and space.role_at(r.end - 1) == r.role


@settings(deadline=None, max_examples=300)
@given(fork_ops)
def test_chunked_index_and_shared_forks_match_page_maps(steps) -> None:
    """With chunks of 2 (so every step splits, empties or shares chunks), several forked copies
    changed in turn each match their own page map: a fork's writes never reach its parent."""
    from tracemem.space import addrspace

    saved = addrspace.CHUNK
    addrspace.CHUNK = 1
    try:
        spaces = [AddressSpace()]
        models: list[dict[int, int]] = [{}]
        cur = 0
        for op, first, count, prot, role in steps:
            space, pages = spaces[cur], models[cur]
            last = min(first + count, PAGES)
            addr, length = BASE + first * P, (last - first) * P
            rng = range(first, last)
            if op == "fork":
                spaces.append(space.fork())
                models.append({p: v for p, v in pages.items() if not any(
                    r.dontfork for r in space.overlapping(BASE + p * P, BASE + p * P + P))})
            elif op == "switch":
                cur = first % len(spaces)
            elif op == "mmap":
                # roles are labels: merged neighbours keep one (checked against the regions)
                space.mmap(addr, length, prot, PA | FIXED, role=role)
                for p in rng:
                    pages[p] = prot
            elif op == "munmap":
                space.munmap(addr, length)
                for p in rng:
                    pages.pop(p, None)
            elif op == "mprotect":
                space.mprotect(addr, length, prot)
                for p in rng:
                    if p in pages:
                        pages[p] = prot
            elif op == "dontfork":
                space.madvise(addr, length, int(Advice.MADV_DONTFORK))
            else:
                space.madvise(addr, length, int(Advice.MADV_HUGEPAGE))
        for space, pages in zip(spaces, models):
            _check(space, pages)
    finally:
        addrspace.CHUNK = saved


def test_a_change_over_many_regions_is_spliced_in_whole() -> None:
    """mprotect, madvise and mlock over more than 16 regions build the merged run apart and
    splice it into the index at once (RegionIndex.splice), in tiny chunks here; holes stay."""
    from tracemem.space import addrspace

    saved = addrspace.CHUNK
    addrspace.CHUNK = 2
    try:
        space = AddressSpace()
        space.mmap(BASE, 200 * P, RW, PA | FIXED)
        for i in range(0, 200, 2):
            space.mprotect(BASE + i * P, P, R)
        space.munmap(BASE + 101 * P, P)          # a hole in the middle
        parent = space.fork()
        assert space.map_count == 199
        space.mprotect(BASE + 10 * P, 180 * P, NONE)
        _check(space, {p: (R if p % 2 == 0 else RW) if p < 10 or p >= 190 else NONE
                       for p in range(200) if p != 101})
        assert space.map_count == 10 + 2 + 10
        _check(parent, {p: R if p % 2 == 0 else RW for p in range(200) if p != 101})
        space.madvise(BASE, 200 * P, int(Advice.MADV_HUGEPAGE))
        assert space.map_count == 10 + 2 + 10 and all(r.hugepage == 1 for r in space)
        _check(space, {p: (R if p % 2 == 0 else RW) if p < 10 or p >= 190 else NONE
                       for p in range(200) if p != 101})
    finally:
        addrspace.CHUNK = saved
