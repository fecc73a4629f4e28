"""One address space (a Linux mm): its mappings and the ledgers the kernel keeps for them.

The region model and the kernel's rules for mmap, munmap, mprotect, mremap, brk, madvise and
fork copies (shared/reference/linux-address-space.md, sections 3-11), tested against the measured
truth table (tests/test_addrspace.py). tracemem.space.replay drives it from the event stream.

Regions live in a dict keyed by start address beside the sorted list of starts; every operation
splits at its range ends, changes the pieces, then merges neighbours the way the kernel merges
VMAs (same protection, flags, backing and contiguous file offset), so the map count is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Literal, NamedTuple, TypedDict

import heapq
import itertools
from bisect import bisect_left, bisect_right

from sortedcontainers import SortedDict

from ..flags import Advice, MapFlags, MremapFlags, Prot

PAGE = 4096
_SHARED_TYPES = (int(MapFlags.MAP_SHARED), int(MapFlags.MAP_SHARED_VALIDATE))
_ANON = int(MapFlags.MAP_ANONYMOUS)
_NORESERVE = int(MapFlags.MAP_NORESERVE)
_HUGETLB = int(MapFlags.MAP_HUGETLB)
_POPULATE = int(MapFlags.MAP_POPULATE)
_STACK = int(MapFlags.MAP_STACK)
_WRITE = int(Prot.PROT_WRITE)
_DONTUNMAP = int(MremapFlags.MREMAP_DONTUNMAP)

#: What removing write from a private anonymous region does to its charge (AddressSpace).
Uncharge = Literal["never", "unfaulted"]


def page_up(n: int, page: int = PAGE) -> int:
    return (n + page - 1) // page * page


class Region(NamedTuple):
    """One VMA. ``accounted`` is the kernel's VM_ACCOUNT (counts toward the commit charge)."""

    start: int
    end: int
    prot: int
    shared: bool
    anonymous: bool
    noreserve: bool = False
    accounted: bool = False
    path: str | None = None
    offset: int = 0
    name: str | None = None
    role: str = "anonymous"
    hugepage: int = 0  # 0 none, 1 MADV_HUGEPAGE, 2 MADV_NOHUGEPAGE
    dontfork: bool = False
    wipeonfork: bool = False
    locked: int = 0  # 0 none, 1 VM_LOCKED (mlock), 2 VM_LOCKED|VM_LOCKONFAULT (mlock2 MLOCK_ONFAULT)
    sealed: bool = False  # mseal: VM_SEALED

    @property
    def size(self) -> int:
        return self.end - self.start

    def mergeable(self, other: "Region") -> bool:
        """Whether the kernel would merge ``other`` (starting at self.end) into this VMA."""
        if self.end != other.start:
            return False
        # Fields 2..7 (prot ... path), 9 (name) and 11..15 (hugepage ... sealed) must be equal;
        # not start, end, offset or role.
        if self[2:8] != other[2:8] or self[9:10] != other[9:10] or self[11:16] != other[11:16]:
            return False
        if self.path is not None:
            return other.offset == self.offset + self.size
        return not self.shared  # shared anonymous mappings are separate shmem objects


#: replace(region, **changes): a copy of the region with some fields changed (NamedTuple._replace).
replace = Region._replace
_new = tuple.__new__


def cut(r: Region, start: int, end: int) -> Region:
    """The part [start, end) of region ``r`` (its file offset moved on): _replace's job in one
    tuple concatenation, for the splits every partial mprotect and munmap makes."""
    return _new(Region, (start, end, *r[2:8], r[8] + (start - r[0]), *r[9:]))


#: A placeholder for a region dropped from a list being walked.
_GONE = Region(0, 0, 0, False, True)


class _AdviceChange(TypedDict, total=False):
    """The VMA flags an madvise sets (Region fields)."""

    hugepage: int
    dontfork: bool
    wipeonfork: bool


#: Regions per chunk of a RegionIndex: a chunk is split when it grows past twice this.
CHUNK = 64
#: The largest regions each chunk keeps ready for RegionIndex.largest.
_TOP = 16


class _Chunk:
    """A run of regions in address order (their starts beside them), shared by forked indexes
    until one writes to it, with its totals cached (shared too)."""

    __slots__ = ("keys", "vals", "agg")

    def __init__(self, keys: list[int], vals: list["Region"]) -> None:
        self.keys = keys
        self.vals = vals
        self.agg: _ChunkTotals | None = None


class RegionIndex:
    """The regions by start address, kept in order in chunks (a list of short sorted lists, as
    sortedcontainers does), with the ledgers kept up to date on every change so the timeline
    reads totals in O(1) after each event.

    Every insertion or deletion costs a bisect over the chunks and a memmove within one chunk of
    at most 2 * CHUNK regions, wherever it lands: one flat sorted list made 1M top-down mmaps
    quadratic (issue 11). A fork shares the chunks (copy on write, chunk by chunk): a child
    costs what it changes, not what it inherits, so a deep fork chain stays linear. Each chunk
    also caches its regions' totals per role and its largest regions (dropped when it changes),
    so a summary of many copies reads each chunk they share once. ``special`` counts the regions
    a fork does not copy as they are (MADV_DONTFORK, MADV_WIPEONFORK, mlock)."""

    __slots__ = ("_chunks", "_mins", "_own", "count", "special",
                 "vsz", "reserved", "committed", "file", "shared", "reserved_uncharged", "file_uncharged")

    def __init__(self, other: "RegionIndex | None" = None) -> None:
        if other is None:
            self._chunks: list[_Chunk] = []
            self._mins: list[int] = []
            self._own: list[bool] = []
            self.count = self.special = 0
            self.vsz = self.reserved = self.committed = self.file = self.shared = 0
            self.reserved_uncharged = self.file_uncharged = 0
        else:
            # a fork: both share every chunk until one of them writes to it
            n = len(other._chunks)
            other._own = [False] * n
            self._chunks = list(other._chunks)
            self._mins = list(other._mins)
            self._own = [False] * n
            self.count, self.special = other.count, other.special
            self.vsz, self.reserved, self.committed, self.file, self.shared = (
                other.vsz, other.reserved, other.committed, other.file, other.shared)
            self.reserved_uncharged, self.file_uncharged = other.reserved_uncharged, other.file_uncharged

    def _count(self, r: "Region", sign: int) -> None:
        n = (r.end - r.start) * sign
        self.vsz += n
        if r.accounted or (r.shared and r.anonymous):
            self.committed += n
            if r.prot == 0:
                self.reserved += n
        elif r.prot == 0:
            self.reserved += n
            self.reserved_uncharged += n
        elif r.path is not None:
            self.file_uncharged += n
        if r.path is not None:
            self.file += n
        if r.shared:
            self.shared += n
        if r.dontfork or r.wipeonfork or r.locked:
            self.special += sign

    def _writable(self, c: int) -> "_Chunk":
        """Chunk ``c``, owned (copied when shared with a fork), its cached totals dropped."""
        if self._own[c]:
            chunk = self._chunks[c]
            chunk.agg = None
            return chunk
        old = self._chunks[c]
        chunk = self._chunks[c] = _Chunk(list(old.keys), list(old.vals))
        self._own[c] = True
        return chunk

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def get(self, key: int, default: "Region | None" = None) -> "Region | None":
        c = bisect_right(self._mins, key) - 1
        if c < 0:
            return default
        chunk = self._chunks[c]
        keys = chunk.keys
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            return chunk.vals[i]
        return default

    def __contains__(self, key: int) -> bool:
        return self.get(key) is not None

    def __getitem__(self, key: int) -> "Region":
        r = self.get(key)
        if r is None:
            raise KeyError(key)
        return r

    def __setitem__(self, key: int, value: "Region") -> None:
        mins = self._mins
        c = bisect_right(mins, key) - 1
        if c < 0:
            if not mins:
                self._chunks.append(_Chunk([key], [value]))
                mins.append(key)
                self._own.append(True)
                self.count = 1
                self._count(value, 1)
                return
            c = 0
        if self._own[c]:  # _writable(c), inline
            chunk = self._chunks[c]
            chunk.agg = None
        else:
            chunk = self._writable(c)
        keys = chunk.keys
        vals = chunk.vals
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            self._count(vals[i], -1)
            vals[i] = value
        else:
            keys.insert(i, key)
            vals.insert(i, value)
            self.count += 1
            if i == 0:
                mins[c] = key
            if len(keys) > 2 * CHUNK:
                self._split(c)
        # _count(value, +1), inline: this is the hottest line of a replay.
        n = value.end - value.start
        self.vsz += n
        if value.accounted or (value.shared and value.anonymous):
            self.committed += n
            if value.prot == 0:
                self.reserved += n
        elif value.prot == 0:
            self.reserved += n
            self.reserved_uncharged += n
        elif value.path is not None:
            self.file_uncharged += n
        if value.path is not None:
            self.file += n
        if value.shared:
            self.shared += n
        if value.dontfork or value.wipeonfork or value.locked:
            self.special += 1

    def _split(self, c: int) -> None:
        chunk = self._chunks[c]
        keys, vals = chunk.keys, chunk.vals
        half = len(keys) // 2
        self._chunks[c:c + 1] = [_Chunk(keys[:half], vals[:half]), _Chunk(keys[half:], vals[half:])]
        self._mins.insert(c + 1, keys[half])
        self._own[c:c + 1] = [True, True]

    def __delitem__(self, key: int) -> None:
        c = bisect_right(self._mins, key) - 1
        keys = self._chunks[c].keys if c >= 0 else []
        i = bisect_left(keys, key)
        if i == len(keys) or keys[i] != key:
            raise KeyError(key)
        chunk = self._writable(c)
        keys = chunk.keys
        del keys[i]
        r = chunk.vals.pop(i)
        self.count -= 1
        n = r.end - r.start  # _count(r, -1), inline
        self.vsz -= n
        if r.accounted or (r.shared and r.anonymous):
            self.committed -= n
            if r.prot == 0:
                self.reserved -= n
        elif r.prot == 0:
            self.reserved -= n
            self.reserved_uncharged -= n
        elif r.path is not None:
            self.file_uncharged -= n
        if r.path is not None:
            self.file -= n
        if r.shared:
            self.shared -= n
        if r.dontfork or r.wipeonfork or r.locked:
            self.special -= 1
        if not keys:
            del self._chunks[c], self._mins[c], self._own[c]
        elif i == 0:
            self._mins[c] = keys[0]

    def neighbours(self, key: int) -> tuple["Region | None", "Region | None"]:
        """(floor(key), above(key)) with one search of the chunks."""
        c = bisect_right(self._mins, key) - 1
        if c < 0:
            return None, (self._chunks[0].vals[0] if self._chunks else None)
        chunk = self._chunks[c]
        i = bisect_right(chunk.keys, key)
        prev = chunk.vals[i - 1]
        if i < len(chunk.keys):
            return prev, chunk.vals[i]
        return prev, (self._chunks[c + 1].vals[0] if c + 1 < len(self._chunks) else None)

    def floor(self, key: int) -> "Region | None":
        """The region with the greatest start <= key."""
        c = bisect_right(self._mins, key) - 1
        if c < 0:
            return None
        chunk = self._chunks[c]
        return chunk.vals[bisect_right(chunk.keys, key) - 1]  # >= 0: the chunk's first key is <= key

    def above(self, key: int) -> "Region | None":
        """The region with the smallest start > key."""
        c = max(bisect_right(self._mins, key) - 1, 0)
        chunks = self._chunks
        n = len(chunks)
        while c < n:
            chunk = chunks[c]
            i = bisect_right(chunk.keys, key)
            if i < len(chunk.keys):
                return chunk.vals[i]
            c += 1
        return None

    def below(self, key: int) -> "Region | None":
        """The region with the greatest start < key."""
        c = bisect_left(self._mins, key) - 1
        if c < 0:
            return None
        chunk = self._chunks[c]
        return chunk.vals[bisect_left(chunk.keys, key) - 1]  # >= 0: the chunk's first key is < key

    def starting_in(self, start: int, end: int) -> list["Region"]:
        """The regions whose start lies in [start, end), in address order."""
        out: list[Region] = []
        chunks = self._chunks
        c = max(bisect_right(self._mins, start) - 1, 0)
        n = len(chunks)
        while c < n:
            chunk = chunks[c]
            keys = chunk.keys
            i = bisect_left(keys, start)
            j = bisect_left(keys, end, i)
            out.extend(chunk.vals[i:j])
            if j < len(keys):
                break
            c += 1
        return out

    def replace_one(self, old: "Region", pieces: list["Region"]) -> None:
        """Replace the region ``old`` by ``pieces`` (sorted, within its range): a split in one
        chunk operation (an mprotect of part of a region makes up to three)."""
        c = bisect_right(self._mins, old.start) - 1
        chunk = self._writable(c)
        keys = chunk.keys
        i = bisect_left(keys, old.start)
        keys[i:i + 1] = [p.start for p in pieces]
        chunk.vals[i:i + 1] = pieces
        if i == 0:
            self._mins[c] = keys[0]
        self.count += len(pieces) - 1
        count = self._count
        count(old, -1)
        for p in pieces:
            count(p, 1)
        if len(keys) > 2 * CHUNK:
            self._split(c)

    def splice(self, start: int, end: int, new: list["Region"]) -> None:
        """Replace every region starting in [start, end) by ``new`` (sorted, inside the range):
        the chunks they touch are rebuilt at once, O(changed + CHUNK) whatever the count."""
        mins = self._mins
        chunks = self._chunks
        c0 = max(bisect_right(mins, start) - 1, 0)
        c1 = max(bisect_right(mins, end - 1) - 1, 0) if chunks else -1
        keys: list[int] = []
        vals: list[Region] = []
        if chunks:
            first, last = chunks[c0], chunks[c1]
            i = bisect_left(first.keys, start)
            j = bisect_left(last.keys, end)
            if c0 == c1:
                old = first.vals[i:j]
            else:
                old = first.vals[i:] + [r for c in range(c0 + 1, c1) for r in chunks[c].vals] + last.vals[:j]
            for r in old:
                self._count(r, -1)
            self.count -= len(old)
            keys = first.keys[:i] + [r.start for r in new] + last.keys[j:]
            vals = first.vals[:i] + new + last.vals[j:]
        else:
            c0, c1 = 0, -1
            keys, vals = [r.start for r in new], list(new)
        for r in new:
            self._count(r, 1)
        self.count += len(new)
        step = CHUNK
        fresh = [_Chunk(keys[k:k + step], vals[k:k + step]) for k in range(0, len(keys), step)]
        chunks[c0:c1 + 1] = fresh
        mins[c0:c1 + 1] = [f.keys[0] for f in fresh]
        self._own[c0:c1 + 1] = [True] * len(fresh)

    def values(self) -> list["Region"]:
        return [r for chunk in self._chunks for r in chunk.vals]

    def __iter__(self) -> Iterator["Region"]:
        for chunk in self._chunks:
            yield from chunk.vals

    @staticmethod
    def _totals(chunk: "_Chunk") -> "_ChunkTotals":
        agg = chunk.agg
        if agg is None:
            roles: dict[str, list[int]] = {}
            for r in chunk.vals:
                acc = roles.get(r.role)
                if acc is None:
                    acc = roles[r.role] = [0, 0, 0, 0]
                size = r.end - r.start
                acc[0] += 1
                acc[1] += size
                if r.prot == 0:
                    acc[2] += size
                if r.accounted or (r.shared and r.anonymous):
                    acc[3] += size
            # (-size, start, region): largest first, then in address order (starts are unique);
            # only the regions at least as large as the _TOP-th largest become tuples (what
            # heapq.nsmallest over every region gives, at a third of its cost)
            vals = chunk.vals
            if len(vals) <= _TOP:
                top = sorted([(r.start - r.end, r.start, r) for r in vals])
            else:
                sizes = [r.start - r.end for r in vals]
                cut = sorted(sizes)[_TOP - 1]
                top = sorted([(s, r.start, r) for s, r in zip(sizes, vals) if s <= cut])[:_TOP]
            agg = chunk.agg = _ChunkTotals(roles, top)
        return agg

    def role_totals(self) -> dict[str, list[int]]:
        """Per role: [regions, bytes, reserved bytes, committed bytes] (from the chunks' caches)."""
        out: dict[str, list[int]] = {}
        for chunk in self._chunks:
            for role, acc in self._totals(chunk).roles.items():
                mine = out.get(role)
                if mine is None:
                    out[role] = list(acc)
                else:
                    for k in range(4):
                        mine[k] += acc[k]
        return out

    def largest(self, k: int) -> list["Region"]:
        """The ``k`` largest regions, largest first (in address order among equal sizes)."""
        if k <= 0:
            return []
        if k > _TOP:
            return sorted(self, key=_by_size, reverse=True)[:k]
        tops = [self._totals(chunk).top for chunk in self._chunks]
        return [r for _, _, r in itertools.islice(heapq.merge(*tops), k)]


def _by_size(r: "Region") -> int:
    return r.end - r.start


class _ChunkTotals(NamedTuple):
    roles: dict[str, list[int]]
    top: list[tuple[int, int, "Region"]]


class RangeSet:
    """A union of [start, end) ranges (sortedcontainers), for page states such as "released"."""

    def __init__(self) -> None:
        self.ranges: SortedDict = SortedDict()
        self.total = 0

    def add(self, start: int, end: int) -> None:
        self.remove(start, end)
        self.total += end - start
        keys = self.ranges.keys()
        i = self.ranges.bisect_left(start)
        if i > 0 and self.ranges[keys[i - 1]] == start:
            start = keys[i - 1]
            del self.ranges[start]
        if end in self.ranges:
            end2 = self.ranges.pop(end)
            end = end2
        self.ranges[start] = end

    def remove(self, start: int, end: int) -> None:
        keys = self.ranges.keys()
        i = max(self.ranges.bisect_right(start) - 1, 0)
        while i < len(keys):
            a = keys[i]
            b = self.ranges[a]
            if a >= end:
                break
            if b <= start:
                i += 1
                continue
            del self.ranges[a]
            self.total -= min(b, end) - max(a, start)
            if a < start:
                self.ranges[a] = start
                i += 1
            if b > end:
                self.ranges[end] = b
                break

    def within(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of the set inside [start, end)."""
        out = []
        keys = self.ranges.keys()
        i = max(self.ranges.bisect_right(start) - 1, 0)
        while i < len(keys):
            a = keys[i]
            if a >= end:
                break
            b = self.ranges[a]
            if b > start:
                out.append((max(a, start), min(b, end)))
            i += 1
        return out

    def copy(self) -> "RangeSet":
        out = RangeSet()
        if self.ranges:
            out.ranges = SortedDict(self.ranges)
        out.total = self.total
        return out


@dataclass
class Totals:
    vsz: int = 0
    reserved: int = 0
    committed: int = 0
    file: int = 0
    shared: int = 0
    released: int = 0
    map_count: int = 0
    #: The disjoint split the chart stacks: committed + reserved_uncharged + file_uncharged + the
    #: rest (anonymous, accessible, not charged) == vsz.
    reserved_uncharged: int = 0
    file_uncharged: int = 0


class AddressSpace:
    """The mappings of one mm and its commit charge.

    ``mprotect_uncharge`` selects the kernel behaviour when write permission is removed from a
    private anonymous region (section 3.3): "never" keeps the charge (all kernels when the
    region was touched), "unfaulted" drops it (Linux >= ~6.7 for regions never written).
    ``overcommit_never`` (vm.overcommit_memory=2) ignores MAP_NORESERVE.
    """

    def __init__(self, page: int = PAGE, mprotect_uncharge: Uncharge = "never", overcommit_never: bool = False):
        self.page = page
        self.regions: RegionIndex = RegionIndex()
        self.mprotect_uncharge = mprotect_uncharge
        self.overcommit_never = overcommit_never
        self.brk_base: int | None = None
        self.brk_end: int | None = None
        # Pages handed back with MADV_DONTNEED/FREE/REMOVE/PAGEOUT and not populated since.
        self.released = RangeSet()

    # -- queries ----------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Region]:
        return iter(self.regions.values())

    def totals(self) -> Totals:
        g = self.regions
        return Totals(g.vsz, g.reserved, g.committed, g.file, g.shared, self.released.total, len(g),
                      g.reserved_uncharged, g.file_uncharged)

    @property
    def map_count(self) -> int:
        """The number of regions (lines of /proc/PID/maps)."""
        return self.regions.count

    def role_at(self, addr: int) -> str | None:
        """The role of the region holding ``addr`` (None where nothing is mapped)."""
        r = self.regions.floor(addr)
        return r.role if r is not None and r.end > addr else None

    def overlapping(self, start: int, end: int) -> list[Region]:
        """The regions that overlap [start, end), in address order."""
        regions = self.regions
        prev = regions.floor(start)
        inside = regions.starting_in(start + 1, end)
        if prev is not None and prev.end > start:
            inside.insert(0, prev)
        return inside

    def _carve(self, start: int, end: int) -> list[Region]:
        """Split regions at start and end; the regions now exactly inside [start, end)."""
        inside = self.overlapping(start, end)
        if not inside:
            return inside
        regions = self.regions
        first = inside[0]
        if first.start < start:  # split the first at start
            regions[first.start] = cut(first, first.start, start)
            first = cut(first, start, first.end)
            regions[start] = inside[0] = first
        last = inside[-1]
        if last.end > end:  # split the last at end
            regions[end] = cut(last, end, last.end)
            inside[-1] = last = cut(last, last.start, end)
            regions[last.start] = last
        return inside

    def _rewrite(self, start: int, end: int, change: Callable[[Region], Region]) -> None:
        """Split at start and end, change every region inside, and merge as the kernel does;
        in one pass, with merges made as it goes (an mprotect over 2M regions merged into one
        held both versions of every region, and deleted merged keys one at a time)."""
        pieces = self._carve(start, end)
        regions = self.regions
        if len(pieces) > 16:
            # many regions: the changed and merged run is made apart, then spliced in at once
            run: list[Region] = []
            for i, piece in enumerate(pieces):
                pieces[i] = _GONE
                new = change(piece)
                if run and run[-1].mergeable(new):
                    run[-1] = _new(Region, (run[-1][0], new[1], *run[-1][2:]))
                else:
                    run.append(new)
            regions.splice(start, end, run)
            self._merge_around(start, start)
            self._merge_around(end, end)
            return
        cur: Region | None = None
        written = True
        for i, piece in enumerate(pieces):
            pieces[i] = _GONE  # (drop the old version as we go)
            new = change(piece)
            if cur is not None and cur.mergeable(new):
                del regions[piece.start]
                cur = _new(Region, (cur[0], new[1], *cur[2:]))
                written = False
                continue
            if not written and cur is not None:
                regions[cur.start] = cur
            cur = new
            written = new is piece
        if not written and cur is not None:
            regions[cur.start] = cur
        # the changed run's two ends can merge with the neighbours outside it
        self._merge_around(start, start)
        self._merge_around(end, end)

    def _merge_around(self, start: int, end: int) -> None:
        regions = self.regions
        run = self.overlapping(start - 1, end + 1)
        if len(run) < 2:
            return
        cur = run[0]
        grown = False
        for b in run[1:]:
            if cur.mergeable(b):
                del regions[b.start]
                cur = cur._replace(end=b.end)
                grown = True
                continue
            if grown:
                regions[cur.start] = cur
                grown = False
            cur = b
        if grown:
            regions[cur.start] = cur

    # -- labels (no kernel effect: roles and names are tracemem's) ------------------------------

    def set_role(self, region: Region, role: str) -> None:
        """Give one region (as it is in the space now) another role."""
        self.regions[region.start] = replace(region, role=role)

    def relabel(self, start: int, end: int, role: str) -> None:
        """Give every region lying wholly inside [start, end) the role ``role``."""
        for r in self.overlapping(start, end):
            if r.start >= start and r.end <= end:
                self.regions[r.start] = replace(r, role=role)

    def name_range(self, start: int, end: int, name: str | None, role: str | None) -> None:
        """prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME): the kernel splits at the range ends, names
        the pieces (and merges equal neighbours); the name's role, when it gives one, replaces
        the pieces' roles."""
        self._rewrite(start, end, lambda r: replace(r, name=name, role=role or r.role))

    def add(self, region: Region) -> None:
        """Insert a region as it is (a baseline snapshot's mapping); no merging, no charge rules."""
        self.regions[region.start] = region

    # -- operations -------------------------------------------------------------------------------

    def mmap(self, addr: int, length: int, prot: int, flags: int, path: str | None = None,
             offset: int = 0, role: str | None = None,
             free: "tuple[Region | None, Region | None] | None" = None) -> Region:
        """A successful mmap at the returned address ``addr`` (``free``: the caller found the
        range free, and these are regions.neighbours(addr))."""
        page = self.page
        size = -(-length // page) * page
        end = addr + size
        flags = int(flags)
        prot = int(prot)
        if size <= 0:
            # mmap of length 0 fails with EINVAL: a log that says otherwise maps nothing
            return Region(addr, addr, prot, False, True)
        if free is None and not self._free(addr, end):
            self.munmap(addr, size)  # MAP_FIXED replaces what it covers
        if flags & _POPULATE and self.released.total:
            self.released.remove(addr, end)
        shared = flags & 0x03 in _SHARED_TYPES
        anonymous = bool(flags & _ANON) or path is None
        noreserve = bool(flags & _NORESERVE) and not self.overcommit_never
        accounted = bool(prot & _WRITE) and not shared and not noreserve and not (flags & _HUGETLB)
        region = Region(addr, end, prot, bool(shared), anonymous, noreserve, accounted,
                        None if anonymous else path, offset, role=role or ("file" if not anonymous else "anonymous"),
                        # Linux 6.7+ maps MAP_STACK to VM_NOHUGEPAGE ("nh"): a thread stack is
                        # never merged with a plain neighbour
                        hugepage=2 if flags & _STACK else 0)
        return self._place(region, free)

    def is_free(self, start: int, end: int) -> bool:
        """Whether nothing is mapped in [start, end)."""
        return self._free(start, end)

    def _free(self, start: int, end: int) -> bool:
        """Whether no region overlaps [start, end): the two neighbours of start tell."""
        return self.placement(start, end)[0]

    def placement(self, start: int, end: int) -> tuple[bool, tuple[Region | None, Region | None]]:
        """Whether [start, end) is free, and the neighbours of start (regions.neighbours), which
        mmap(..., free=) takes so that placing the region does not search again."""
        around = self.regions.neighbours(start)
        prev, nxt = around
        return (prev is None or prev.end <= start) and (nxt is None or nxt.start >= end), around

    def _place(self, region: Region,
               around: "tuple[Region | None, Region | None] | None" = None) -> Region:
        """Insert ``region`` into a range known to be free, merging with its two neighbours: one
        index operation unless it joins both (a merge into the next region takes that region's
        place, which keeps the order)."""
        regions = self.regions
        addr, end = region.start, region.end
        prev, nxt = around if around is not None else regions.neighbours(addr)
        join_prev = prev is not None and prev.end == addr and prev.mergeable(region)
        join_next = nxt is not None and nxt.start == end and region.mergeable(nxt)
        if join_prev:
            assert prev is not None
            if join_next:
                assert nxt is not None
                del regions[nxt.start]
                region = _new(Region, (prev[0], nxt[1], *prev[2:]))
            else:
                region = _new(Region, (prev[0], end, *prev[2:]))
            regions[prev.start] = region
        elif join_next:
            assert nxt is not None
            region = _new(Region, (addr, nxt[1], *region[2:]))
            regions.replace_one(nxt, [region])
        else:
            regions[addr] = region
        return region

    def munmap(self, addr: int, length: int, whole: Region | None = None) -> None:
        """``whole``: the region starting at ``addr`` when the caller has looked it up."""
        page = self.page
        end = addr + -(-length // page) * page
        regions = self.regions
        if whole is None:
            whole = regions.get(addr)
        if whole is not None and whole.end == end:
            del regions[addr]  # the usual case: exactly one mapping goes
        else:
            for r in self._carve(addr, end):
                del regions[r.start]
        if self.released.total:
            self.released.remove(addr, end)

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        end = addr + page_up(length, self.page)
        if end <= addr:
            return  # a length of 0 changes nothing
        prot = int(prot)
        regions = self.regions
        r = regions.floor(addr)
        if r is not None and r.end >= end:
            # The usual case: the range lies in one region. It splits in up to three, and only
            # the changed piece can merge, with the neighbour on a side where it is not cut.
            start = r.start
            mid = r if start == addr and r.end == end else cut(r, addr, end)
            new = self._protected(mid, prot)
            if new is mid:
                return  # nothing changes
            if addr > start:
                regions.replace_one(r, [cut(r, start, addr), new, cut(r, end, r.end)] if end < r.end
                                    else [cut(r, start, addr), new])
            elif end < r.end:
                regions.replace_one(r, [new, cut(r, end, r.end)])
            else:
                regions[addr] = new
            if end == r.end:
                nxt = regions.get(end)
                if nxt is not None and new.mergeable(nxt):
                    del regions[end]
                    new = new._replace(end=nxt.end)
                    regions[addr] = new
            if addr == start:
                prev = regions.below(addr)
                if prev is not None and prev.mergeable(new):
                    del regions[addr]
                    regions[prev.start] = prev._replace(end=new.end)
            return
        self._rewrite(addr, end, lambda piece: self._protected(piece, prot))

    def _protected(self, r: Region, prot: int) -> Region:
        accounted = r.accounted
        if prot & _WRITE and not (r.accounted or r.prot & _WRITE or r.shared or r.noreserve):
            accounted = True
        elif not prot & _WRITE and r.accounted and r.anonymous and self.mprotect_uncharge == "unfaulted":
            accounted = False
        if prot == r.prot and accounted == r.accounted:
            return r
        return _new(Region, (r[0], r[1], prot, r[3], r[4], r[5], accounted, *r[7:]))

    def madvise(self, addr: int, length: int, advice: int) -> None:
        end = addr + page_up(length, self.page)
        if advice in (Advice.MADV_DONTNEED, Advice.MADV_FREE, Advice.MADV_REMOVE, Advice.MADV_PAGEOUT):
            # A page state, not a VMA flag: no split. Only mapped parts count as released.
            for r in self.overlapping(addr, end):
                self.released.add(max(r.start, addr), min(r.end, end))
            return
        if advice in (Advice.MADV_POPULATE_READ, Advice.MADV_POPULATE_WRITE):
            self.released.remove(addr, end)
            return
        change: _AdviceChange = {}
        if advice == Advice.MADV_HUGEPAGE:
            change = {"hugepage": 1}
        elif advice == Advice.MADV_NOHUGEPAGE:
            change = {"hugepage": 2}
        elif advice == Advice.MADV_DONTFORK:
            change = {"dontfork": True}
        elif advice == Advice.MADV_DOFORK:
            change = {"dontfork": False}
        elif advice == Advice.MADV_WIPEONFORK:
            change = {"wipeonfork": True}
        elif advice == Advice.MADV_KEEPONFORK:
            change = {"wipeonfork": False}
        if not change:
            return
        self._rewrite(addr, end, lambda r: replace(r, **change))

    def mremap(self, old: int, old_len: int, new_len: int, flags: int, ret: int) -> None:
        """A successful mremap that returned ``ret`` (the new address)."""
        page = self.page
        old_size, new_size = -(-old_len // page) * page, -(-new_len // page) * page
        template = self.regions.get(old)
        if template is None:
            pieces = self.overlapping(old, old + max(old_size, 1))
            template = pieces[0] if pieces else Region(old, old + old_size, Prot.PROT_READ | Prot.PROT_WRITE, False,
                                                       True, accounted=True)
            if template.start < old:  # the range starts inside a region: its file offset moves on
                template = template._replace(start=old, offset=template.offset + (old - template.start))
        # Released pages (MADV_DONTNEED/FREE) move with the mapping: they stay released there.
        moved = self.released.within(old, old + min(old_size, new_size)) if self.released.total and ret != old else []
        if int(flags) & _DONTUNMAP:
            # Pages move, the old range stays mapped (empty); the new range is charged again.
            self.munmap(ret, new_size)
            self.regions[ret] = replace(template, start=ret, end=ret + new_size)
            self._merge_around(ret, ret + new_size)
            for a, b in moved:
                self.released.remove(a, b)
                self.released.add(a - old + ret, b - old + ret)
            return
        if ret == old:
            if new_size < old_size:
                self.munmap(old + new_size, old_size - new_size)
            elif new_size > old_size:
                tail = replace(template, start=old + old_size, end=old + new_size,
                               offset=template.offset + old_size)
                self.regions[tail.start] = tail
                self._merge_around(old, old + new_size)
            return
        self.munmap(old, old_size)
        if not self._free(ret, ret + new_size):
            self.munmap(ret, new_size)  # MREMAP_FIXED clobbers the target
        elif self.released.total:
            self.released.remove(ret, ret + new_size)
        self._place(template._replace(start=ret, end=ret + new_size))
        for a, b in moved:
            self.released.add(a - old + ret, b - old + ret)

    def brk(self, requested: int, ret: int) -> None:
        """The raw brk syscall: returns the new break, or the old one on failure."""
        if self.brk_base is None:
            self.brk_base = self.brk_end = ret
            if requested == 0:
                return
        assert self.brk_end is not None and self.brk_base is not None
        if requested and ret != requested:
            return  # failed: the break did not move
        old_top = page_up(self.brk_end, self.page)
        new_top = page_up(ret, self.page)
        if new_top > old_top:
            heap = Region(old_top, new_top, Prot.PROT_READ | Prot.PROT_WRITE, False, True, accounted=True,
                          role="heap")
            self.munmap(old_top, new_top - old_top)
            self.regions[old_top] = heap
            self._merge_around(old_top, new_top)
        elif new_top < old_top:
            self.munmap(new_top, old_top - new_top)
        self.brk_end = ret

    def mlock(self, addr: int, length: int, locked: int) -> None:
        """mlock/mlock2 (``locked`` 1, or 2 with MLOCK_ONFAULT) and munlock (0): VM_LOCKED is a VMA
        flag, so the range is split from its neighbours (and merged back by munlock)."""
        end = addr + page_up(length, self.page)
        self._rewrite(addr, end, lambda r: replace(r, locked=locked))

    def mseal(self, addr: int, length: int) -> None:
        """mseal: VM_SEALED on the range (split from its neighbours; kept across fork)."""
        end = addr + page_up(length, self.page)
        self._rewrite(addr, end, lambda r: replace(r, sealed=True))

    def fork(self) -> "AddressSpace":
        """The child's copy: every VMA but MADV_DONTFORK ones; WIPEONFORK ranges copied empty;
        memory locks are not inherited (the VMAs are copied one by one, unmerged)."""
        child = AddressSpace(self.page, self.mprotect_uncharge, self.overcommit_never)
        child.released = self.released.copy()
        if self.regions.special:
            for r in self.regions.values():
                if r.dontfork:
                    continue
                child.regions[r.start] = replace(r, locked=0) if r.locked else r
                if r.wipeonfork:
                    child.released.add(r.start, r.end)
        else:
            # The usual fork: copy everything at once, ledgers included.
            child.regions = RegionIndex(self.regions)
        child.brk_base, child.brk_end = self.brk_base, self.brk_end
        return child
