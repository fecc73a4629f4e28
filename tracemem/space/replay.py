"""Replaying events into address spaces: one per mm, shared by threads and vfork children, copied
by fork, replaced by execve; and the timeline of their totals after every change.

The kernel's rules live in tracemem.space.addrspace, the roles in tracemem.space.roles.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Sequence, TypedDict

from ..errors import UsageError
from ..gcpause import gc_paused
from ..text import printable
from ..events import (
    Brk, Clone, Execve, Madvise, Mlock, Mmap, Mprotect, Mremap, Mseal, Munmap, PrctlSetVma, Shmat, Shmdt,
    State, SyscallEvent,
)
from ..flags import Advice, CloneFlags, DarwinAdvice, MapFlags, Prot
from ..parse.values import unescape
from .addrspace import PAGE, AddressSpace, Region, Uncharge, page_up
from .roles import Runtime, name_role, role_after_mprotect, role_for_mmap

#: Timeline rows kept as tuples before apply_all turns them into columns.
PACK_ROWS = 1 << 16

if TYPE_CHECKING:
    from collections import deque
    from typing import Mapping

    import numpy as np
    import pandas as pd

    from .kernelmaps import KernelRegion

_ANONYMOUS = int(MapFlags.MAP_ANONYMOUS)
_FIXED = int(MapFlags.MAP_FIXED)

#: The name of a file mapping whose path the trace does not show.
UNNAMED_FILE = "[file not named in the trace]"

_COMPLETE = State.COMPLETE

TIMELINE_COLUMNS = ["time", "seq", "pid", "asid", "syscall", "start", "end", "role", "vsz",
                    "reserved", "committed", "file", "shared", "reserved_uncharged", "file_uncharged",
                    "released", "map_count", "uncertain"]

#: One timeline row, the values of TIMELINE_COLUMNS in order.
TimelineRow = tuple[float | None, int, int | None, int | None, str, int | None, int | None, str | None,
                    int, int, int, int, int, int, int, int, int, bool]

#: The timeline's ledgers: signed 64-bit, so that differences (``vsz.diff()``) can go negative.
LEDGERS = ("vsz", "reserved", "committed", "file", "shared", "reserved_uncharged", "file_uncharged", "released")

#: macOS madvise advice as the Linux advice with the same effect on the ledgers: FREE and
#: FREE_REUSABLE hand pages back, FREE_REUSE takes them again (as a populate would).
DARWIN_ADVICE = {
    DarwinAdvice.MADV_WILLNEED: Advice.MADV_WILLNEED,
    DarwinAdvice.MADV_DONTNEED: Advice.MADV_DONTNEED,
    DarwinAdvice.MADV_FREE: Advice.MADV_FREE,
    DarwinAdvice.MADV_FREE_REUSABLE: Advice.MADV_FREE,
    DarwinAdvice.MADV_FREE_REUSE: Advice.MADV_POPULATE_READ,
    DarwinAdvice.MADV_PAGEOUT: Advice.MADV_PAGEOUT,
}
_DARWIN_ADVICE = {int(k): int(v) for k, v in DARWIN_ADVICE.items()}

#: vm.overcommit_memory by name or number.
OVERCOMMIT = {"heuristic": 0, "always": 1, "never": 2, "0": 0, "1": 1, "2": 2}


class KernelOptions(TypedDict):
    """The kernel settings of an :class:`AddressSpace` that the replay options choose."""

    overcommit_never: bool
    mprotect_uncharge: Uncharge


class SpaceOptions(KernelOptions):
    """Every :class:`AddressSpace` setting of a replay: the kernel options and the page size."""

    page: int


def kernel_options(overcommit: str = "heuristic", uncharge_unfaulted: bool = False) -> KernelOptions:
    """The AddressSpace settings for the replay options (the CLI's words): ``overcommit`` is
    vm.overcommit_memory (heuristic/always/never or 0/1/2; never ignores MAP_NORESERVE),
    ``uncharge_unfaulted`` gives back the charge when write is removed from a never-written
    private region (Linux 6.7+)."""
    if str(overcommit) not in OVERCOMMIT:
        raise UsageError(f"overcommit {overcommit!r}: expected heuristic, always or never (or 0, 1, 2)")
    return {"overcommit_never": OVERCOMMIT[str(overcommit)] == 2,
            "mprotect_uncharge": "unfaulted" if uncharge_unfaulted else "never"}


@dataclass
class TracedSpace:
    """One address space as the replay knows it: its id (the pid that created it), the model,
    and what is known of the program running in it."""

    asid: int | None
    space: AddressSpace
    runtime: Runtime = field(default_factory=Runtime)

    @property
    def exe(self) -> str | None:
        """The executable the space runs (from the execve that made it), if the trace shows it."""
        return self.runtime.exe


class Replayer:
    """Applies typed events to address spaces and records a timeline row per change.

    ``spaces`` holds the live address space of each process by its id (the pid that made it);
    ``task`` maps every task to the space it runs in (threads share their process's);
    ``replaced`` keeps the spaces an execve replaced, in order. Kernel options as in
    :func:`kernel_options`."""

    def __init__(self, page: int = PAGE, *, overcommit: str = "heuristic", uncharge_unfaulted: bool = False):
        self.page = page
        self.options: SpaceOptions = {"page": page, **kernel_options(overcommit, uncharge_unfaulted)}
        self.spaces: dict[int | None, TracedSpace] = {}
        self.task: dict[int | None, TracedSpace] = {}
        self.replaced: list[TracedSpace] = []
        self.shm_sizes: dict[int, int] = {}
        self.rows: list[TimelineRow] = []
        #: Timeline rows already turned into columns (apply_all packs them as it goes: a row
        #: tuple of Python ints costs about 430 bytes, its columns about 150).
        self._packed: list["pd.DataFrame"] = []
        self._frame: tuple[tuple[int, int], "pd.DataFrame"] | None = None
        self.baseline: list["KernelRegion"] | None = None
        self.baseline_pid: int | None = None
        self.seeded = False
        #: Tasks the trace shows being created (clone/fork/vfork results); None: not known up
        #: front (streaming), and a task first seen without its creation is a space of its own.
        self.created: set[int] | None = None
        #: Tasks the trace shows to be child processes without their fork: the SIGCHLD that
        #: reported their end names them (si_pid), with the task it was delivered to.
        self.children: dict[int, int] = {}
        #: What the replay inferred about a task whose creation the trace does not show.
        self.inferred: dict[int, str] = {}
        #: Recent mmaps the kernel placed over a range the log still shows mapped (a concurrent
        #: munmap ran first): (space, start, end, the mmap's last line).
        self.raced: list[tuple[TracedSpace, int, int, int]] = []
        #: Spaces first seen mid-life: neither their exec nor their fork is in the trace (an
        #: attach, or a capture that started late), and no baseline seeded them.
        self.midlife: set[int] = set()
        #: Mappings of the baseline snapshot that a traced mmap later replaced without MAP_FIXED:
        #: the snapshot was taken after those mmaps (a current maps file, not one from exec).
        self.baseline_conflicts = 0
        #: What the baseline check found (a snapshot of another program, ...), in words.
        self.baseline_notes: list[str] = []
        #: pid -> the snapshots of its execs still to apply, in order (seed_execs)
        self.exec_snapshots: "dict[int, deque[list[KernelRegion]]]" = {}

    def hint_tasks(self, created: set[int], children: dict[int, int]) -> None:
        """What a filtered trace says of its tasks, for those whose clone it does not show
        (-e trace=%memory hides clone): ``created`` the pids some clone/fork/vfork returned,
        ``children`` child pid -> the task its SIGCHLD was delivered to. Such a task is a thread
        of the process of the nearest lower pid (thread ids are allocated right after their
        creator's), unless a SIGCHLD names it: then it is a child process, a copy of its
        parent's space when it is first seen. Each inference is kept in ``inferred``."""
        self.created = set(created)
        self.children = dict(children)

    # -- address spaces ---------------------------------------------------------------------------

    def _space_of(self, pid: int | None, event: SyscallEvent | None = None) -> TracedSpace:
        sp = self.task.get(pid)
        if sp is None and pid is not None and self.created is not None and pid not in self.created:
            sp = self._infer(pid, event)
        if sp is None:
            # First sight of a task whose creation the trace did not show (-e trace=%memory,
            # -ff, attach), with nothing to infer from: it is its own address space.
            sp = TracedSpace(pid, AddressSpace(**self.options))
            self.task[pid] = sp
            self.spaces[pid] = sp
            if self.baseline is not None and (self.baseline_pid is None or self.baseline_pid == pid):
                self._apply_baseline(sp)
            elif pid is not None:
                self.midlife.add(pid)
        return sp

    def inference_notes(self) -> list[str]:
        """What the trace cannot show and what was inferred, in words: processes first seen
        mid-life, a baseline taken too late, threads grouped by their process, child processes
        one by one."""
        threads: dict[int | None, list[int]] = {}
        notes = []
        for first in sorted(self.midlife):
            if first in self.spaces and self.spaces[first].asid == first and self.spaces[first].exe is None:
                notes.append(f"process {first} starts mid-life in the trace (no execve or fork of it: an "
                             f"attach, a capture started late, or a filter without %process): mappings made "
                             f"before its first event are not in the figures; give a /proc/{first}/maps taken "
                             f"at that moment as --baseline-maps")
        notes.extend(self.baseline_notes)
        if self.baseline_conflicts:
            notes.append(f"the baseline snapshot already holds {self.baseline_conflicts} mapping(s) that the trace "
                         f"creates later: it was taken after exec (a current maps file?); the final VSZ is "
                         f"right but earlier figures, the peak among them, count those mappings twice")
        for pid, why in self.inferred.items():
            if "thread of" in why:
                threads.setdefault(self.task[pid].asid, []).append(pid)
            else:
                notes.append(why)
        for owner, pids in threads.items():
            shown = ", ".join(str(p) for p in pids[:8]) + (f" and {len(pids) - 8} more" if len(pids) > 8 else "")
            many = len(pids) > 1
            notes.insert(0, f"{'tasks' if many else 'task'} {shown} "
                            f"{'appear without their' if many else 'appears without its'} clone (the capture's "
                            f"filter hides it): taken as {'threads' if many else 'a thread'} of {owner}, by their "
                            f"task ids, as no SIGCHLD names {'them' if many else 'it'} a child "
                            f"process; capture with -e trace=%memory,%process to make this exact")
        return notes

    def _infer(self, pid: int, event: SyscallEvent | None) -> TracedSpace | None:
        """The space of a task first seen without its creation (see :meth:`hint_tasks`)."""
        parent_pid = self.children.get(pid)
        if parent_pid is not None:
            parent = self.task.get(parent_pid)
            if parent is None:
                return None
            runtime = Runtime(exe=parent.runtime.exe, go=parent.runtime.go, fds=dict(parent.runtime.fds))
            sp = TracedSpace(pid, parent.space.fork(), runtime)
            self.task[pid] = sp
            self.spaces[pid] = sp
            self.inferred[pid] = (f"task {pid} appears without its fork: taken as a child process of "
                                  f"{parent.asid} (the SIGCHLD {parent.asid} received names it), with a copy of "
                                  f"{parent.asid}'s mappings as they were when {pid} was first seen")
            if event is not None:  # the copy's own row, before the event's (as a traced fork has)
                self._row(event, sp, None, None, "fork copy (inferred)", uncertain=True, pid=pid)
            return sp
        known = [t for t in self.task if t is not None]
        below = [t for t in known if t < pid]
        if not known:
            return None
        # thread ids follow their creator's; an attach lists a process's threads in any order
        owner = self.task[max(below) if below else min(known)]
        self.task[pid] = owner
        self.inferred[pid] = (f"task {pid} appears without its clone: taken as a thread of {owner.asid} "
                              f"(the nearest lower task id; no SIGCHLD names it a child process)")
        return owner

    def _new_space(self, pid: int | None, exe: str | None) -> TracedSpace:
        sp = TracedSpace(pid, AddressSpace(**self.options), Runtime(exe=exe))
        self.task[pid] = sp
        old = self.spaces.get(pid)
        if old is not None and old is not sp:
            self.replaced.append(old)
        self.spaces[pid] = sp
        return sp

    def seed_execs(self, snapshots: "Mapping[int, Sequence[Sequence[KernelRegion]]]") -> None:
        """Seed each successful execve of a task with its own snapshot, taken right after it (what
        ``tracemem record`` keeps): the k-th snapshot of pid P is the image of P's k-th exec. An
        exec of such a task with no snapshot left says so in a note."""
        from collections import deque

        from .kernelmaps import check_snapshot

        for regions in (r for seq in snapshots.values() for r in seq):
            check_snapshot(list(regions))
        self.exec_snapshots = {int(pid): deque(list(r) for r in seq) for pid, seq in snapshots.items()}

    def seed(self, regions: Sequence["KernelRegion"], pid: int | None = None) -> None:
        """Seed the first process's address space (or ``pid``'s) with a /proc/PID/maps (or
        smaps, or vmmap) snapshot: the mappings the kernel made at exec, which no syscall shows."""
        from .kernelmaps import check_snapshot

        self.baseline = list(regions)
        check_snapshot(self.baseline)
        self.baseline_pid = pid

    def _apply_baseline(self, sp: TracedSpace) -> None:
        exe = sp.exe.rsplit("/", 1)[-1] if sp.exe else None
        files = {k.path.rsplit("/", 1)[-1] for k in self.baseline or [] if k.path.startswith("/")}
        if exe and files and not any(f.startswith(exe) or exe.startswith(f) for f in files):
            self.baseline_notes.append(
                f"the baseline snapshot maps no file named like '{printable(exe)}', the program process "
                f"{sp.asid} runs: it may be another program's maps; its {len(self.baseline or [])} mappings are "
                f"counted as {sp.asid}'s exec-time mappings all the same")
        for k in self.baseline or []:
            if k.path == "[vsyscall]":
                continue  # the vsyscall gate page is no VMA of the mm: not in VmSize, never unmapped
            shared = k.perms[3] == "s"
            anonymous = k.inode == 0 and not k.path.startswith("/")
            accounted = k.accounted if k.fields else (bool(k.prot & 2) and not shared)
            sp.space.add(Region(k.start, k.end, k.prot, shared, anonymous, False, accounted,
                                None if anonymous or k.path.startswith("[") else k.path, k.offset,
                                # [stack], [vdso], [vvar] keep their names (an anon name cannot hold "[")
                                name=k.path if k.path.startswith("[") else None,
                                role="kernel/exec baseline"))
        self.baseline = None
        self.seeded = True

    # -- replay -----------------------------------------------------------------------------------

    def apply_all(self, events: Iterable[SyscallEvent]) -> "Replayer":
        """Apply events in order with the cyclic garbage collector paused (restored after).

        A replay allocates one acyclic row and a few regions per event; with the collector
        running, its generation scans over the growing row list cost about 8% of a replay of
        700,000 memory calls (benchmarks/bench_replay.py)."""
        from .. import progress

        shown = progress.current()
        applied = shown.replaying(events) if shown is not None else None  # progress: per 8,192 events
        with gc_paused():
            apply = self.apply
            it = iter(events)
            rows = self.rows
            while True:
                n = 0
                for event in itertools.islice(it, 8192):
                    apply(event)
                    n += 1
                if len(rows) >= PACK_ROWS:
                    self._pack()
                if applied is not None:
                    applied(n)
                if n < 8192:
                    break
            if shown is not None:
                shown.replayed()
        return self

    def apply(self, event: SyscallEvent) -> None:
        d = event.decoded
        name = event.syscall
        if type(d) is Mmap and event.state is _COMPLETE and event.errno is None and not event.injected:
            self._mmap(event, d)
            return
        if type(d) is Munmap and event.state is _COMPLETE and event.errno is None and not event.injected:
            sp = self.task.get(event.pid) or self._space_of(event.pid, event)
            space = sp.space
            lo = d.addr
            hi = lo + -(-d.length // self.page) * self.page
            exact = space.regions.get(lo)
            role = exact.role if exact is not None else space.role_at(lo)
            if self.raced and self._munmap_raced(event, sp, lo, hi):
                return
            space.munmap(lo, d.length, exact)
            g = space.regions  # self._row(...) inline: the commonest calls, the hottest lines of a replay
            self.rows.append((event.time, event.seq, event.pid, sp.asid, event.syscall, lo, hi, role, g.vsz,
                              g.reserved, g.committed, g.file, g.shared, g.reserved_uncharged, g.file_uncharged,
                              space.released.total, g.count,
                              event.uncertain))
            return
        if type(d) is Mremap and event.state is _COMPLETE and event.errno is None and not event.injected:
            ret = event.ret
            if ret is None or ret < 0:
                return
            sp = self.task.get(event.pid) or self._space_of(event.pid, event)
            space = sp.space
            page = self.page
            old = d.old_addr
            old_hi = old + -(-d.old_length // page) * page
            new_hi = ret + -(-d.new_length // page) * page
            exact = space.regions.get(old)
            role = exact.role if exact is not None else space.role_at(old)
            space.mremap(old, d.old_length, d.new_length, int(d.flags), ret)
            lo, hi = min(old, ret), max(old_hi, new_hi)
            g = space.regions  # self._row(...) inline: the commonest calls, the hottest lines of a replay
            self.rows.append((event.time, event.seq, event.pid, sp.asid, event.syscall, lo, hi, role, g.vsz,
                              g.reserved, g.committed, g.file, g.shared, g.reserved_uncharged, g.file_uncharged,
                              space.released.total, g.count,
                              event.uncertain))
            return
        if name in ("openat", "open", "creat") and event.ret is not None and event.ret >= 0:
            path = _path_arg(event.args, name)
            if path is not None:
                self._space_of(event.pid, event).runtime.fds[event.ret] = path
            return
        if type(d) is Mprotect and event.errno == "ENOMEM" and not event.injected:
            self._mprotect_hole(event, d)
            return
        if d is None or event.state is not _COMPLETE or event.failed:
            if name == "shmget" and event.ret is not None and event.ret >= 0:
                self._shmget(event)
            return
        if type(d) is Clone:
            self._clone(event, d)
            return
        if type(d) is Execve:
            if event.ret == 0:
                fresh = event.pid not in self.task
                sp = self._new_space(event.pid, d.path)
                sp.runtime.exec(d)
                queue = self.exec_snapshots.get(event.pid) if event.pid is not None else None
                if queue:
                    self.baseline = queue.popleft()
                    self._apply_baseline(sp)
                elif queue is not None:
                    self.baseline_notes.append(
                        f"the exec of {event.pid} at line {event.line} has no recorded snapshot: the mappings "
                        f"the kernel made for its image are not in the figures")
                elif fresh and self.baseline is not None and self.baseline_pid in (None, event.pid):
                    self._apply_baseline(sp)
                self._row(event, sp, None, None, "exec")
            return
        # Successful mmap, munmap and mremap took the fast paths above.
        sp = self._space_of(event.pid, event)
        space = sp.space
        page = self.page
        if type(d) is Mprotect:
            lo, hi = d.addr, d.addr + page_up(d.length, page)
            role = space.role_at(lo)
            space.mprotect(d.addr, d.length, int(d.prot))
            self._row(event, sp, lo, hi, role_after_mprotect(space, lo, hi, int(d.prot), role, page))
        elif type(d) is Madvise:
            lo, hi = d.addr, d.addr + page_up(d.length, page)
            advice = int(d.advice)
            if event.platform == "darwin":
                # macOS: FREE 5, FREE_REUSABLE 7 hand pages back; FREE_REUSE 8 takes them again.
                advice = _DARWIN_ADVICE.get(advice, -1)
            space.madvise(d.addr, d.length, advice)
            self._row(event, sp, lo, hi, space.role_at(lo))
        elif type(d) is Brk:
            ret = event.ret
            if ret is None:
                return
            brk_end = space.brk_end
            lo = min(brk_end or ret, ret)
            hi = max(brk_end or ret, ret, d.addr if d.addr else 0)
            lo, hi = lo - lo % page, page_up(hi, page)
            space.brk(d.addr, ret)
            self._row(event, sp, lo, hi, "heap")
        elif type(d) is Shmat:
            ret = event.ret
            size = self.shm_sizes.get(d.shmid)
            if ret is None or ret < 0 or size is None:
                self._row(event, sp, ret, None, "shared memory (size unknown)", uncertain=True)
                return
            prot = Prot.PROT_READ | (0 if int(d.flags) & 0o10000 else Prot.PROT_WRITE)
            space.mmap(ret, size, int(prot), int(MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS), None, 0,
                       "SysV shared memory")
            self._row(event, sp, ret, ret + page_up(size, page), "SysV shared memory")
        elif type(d) is Shmdt:
            region = space.regions.get(d.addr)
            if region is not None and region.shared:
                space.munmap(region.start, region.size)
                self._row(event, sp, region.start, region.end, "SysV shared memory")
        elif type(d) is PrctlSetVma:
            lo, hi = d.addr, d.addr + page_up(d.length, page)
            role = name_role(d.name)
            space.name_range(lo, hi, d.name, role)
            self._row(event, sp, lo, hi, role)
        elif type(d) is Mlock:
            lo, hi = d.addr - d.addr % page, page_up(d.addr + d.length, page)
            space.mlock(lo, hi - lo, (2 if d.onfault else 1) if d.lock else 0)
            self._row(event, sp, lo, hi, space.role_at(lo))
        elif type(d) is Mseal:
            lo, hi = d.addr, d.addr + page_up(d.length, page)
            space.mseal(lo, hi - lo)
            self._row(event, sp, lo, hi, space.role_at(lo))

    def _mmap(self, event: SyscallEvent, d: Mmap) -> None:
        ret = event.ret
        if ret is None or ret < 0:
            return
        sp = self.task.get(event.pid) or self._space_of(event.pid, event)
        flags = int(d.flags)
        if flags & _ANONYMOUS:
            path = None
        else:
            path = d.fd_path or sp.runtime.fds.get(d.fd)
            if path is None and d.fd is not None and d.fd >= 0:
                # a file mapping whose path the trace never names (no -y, no open in the filter):
                # still a file mapping (never charged when shared), its name unknown
                path = f"{UNNAMED_FILE} (fd {d.fd})"
        space = sp.space
        hi = ret + -(-d.length // self.page) * self.page
        free, around = space.placement(ret, hi)
        if not flags & _FIXED and not free:
            # A mapping the kernel chose never lands on a live one: another task's munmap of that
            # range ran first, though the log shows it ending later (<unfinished ...> meanwhile),
            # or the baseline snapshot already held it (taken later than exec).
            if self.seeded and space.role_at(ret) == "kernel/exec baseline":
                self.baseline_conflicts += 1
            self.raced.append((sp, ret, hi, event.end_line or event.line))
            del self.raced[:-32]
        role = role_for_mmap(sp.runtime, space, d, ret, path, event)
        space.mmap(ret, d.length, int(d.prot), flags, path, d.offset, role, around if free else None)
        g = space.regions  # self._row(...) inline: the commonest calls, the hottest lines of a replay
        self.rows.append((event.time, event.seq, event.pid, sp.asid, event.syscall, ret, hi, role, g.vsz,
                          g.reserved, g.committed, g.file, g.shared, g.reserved_uncharged, g.file_uncharged,
                          space.released.total, g.count,
                          event.uncertain))

    def _munmap_raced(self, event: SyscallEvent, sp: TracedSpace, lo: int, hi: int) -> bool:
        """A munmap that started before a raced mmap (see _mmap) ended, over its range: the munmap
        ran first in the kernel, so it leaves that mapping alone. Applied here, with the row
        flagged uncertain; False when no raced mapping is involved."""
        keep = sorted((a, b) for s, a, b, end in self.raced
                      if s is sp and end > event.line and a < hi and b > lo)
        if not keep:
            return False
        space = sp.space
        start = lo
        for a, b in keep:
            if a > start:
                space.munmap(start, a - start)
            start = max(start, b)
        if start < hi:
            space.munmap(start, hi - start)
        self._row(event, sp, lo, hi, space.role_at(lo), uncertain=True)
        return True

    def _mprotect_hole(self, event: SyscallEvent, d: Mprotect) -> None:
        """mprotect over a hole fails with ENOMEM but the kernel has already changed the mapped
        part before the hole (measured): apply that part and flag the row as uncertain."""
        sp = self._space_of(event.pid, event)
        space = sp.space
        lo, hi = d.addr, d.addr + page_up(d.length, self.page)
        end = lo
        for r in space.overlapping(lo, hi):
            if r.start > end:
                break
            end = min(r.end, hi)
        if end > lo:
            space.mprotect(lo, end - lo, int(d.prot))
        self._row(event, sp, lo, end, space.role_at(lo), uncertain=True)

    def _shmget(self, event: SyscallEvent) -> None:
        parts = [p.strip() for p in event.args.split(",")]
        if len(parts) >= 2:
            try:
                self.shm_sizes[int(event.ret or 0)] = int(parts[1], 0)
            except ValueError:
                pass

    def _clone(self, event: SyscallEvent, d: Clone) -> None:
        child = event.ret
        if child is None or child <= 0:
            return
        parent = self._space_of(event.pid, event)
        if d.flags & CloneFlags.CLONE_VM:
            existing = self.task.get(child)
            if existing is None or (not existing.space.regions and existing.exe is None):
                self.task[child] = parent
            return
        if child in self.task and self.task[child].exe is not None:
            return  # the child exec'd before the parent's clone returned
        runtime = Runtime(exe=parent.runtime.exe, go=parent.runtime.go, fds=dict(parent.runtime.fds))
        copy = TracedSpace(child, parent.space.fork(), runtime)
        self.task[child] = copy
        self.spaces[child] = copy
        self._row(event, copy, None, None, "fork copy", pid=child)

    # -- rows -------------------------------------------------------------------------------------

    def _row(self, event: SyscallEvent, sp: TracedSpace, lo: int | None, hi: int | None, role: str | None,
             uncertain: bool = False, pid: int | None = None) -> None:
        space = sp.space
        g = space.regions
        self.rows.append((event.time, event.seq, event.pid if pid is None else pid, sp.asid, event.syscall,
                          lo, hi, role, g.vsz, g.reserved, g.committed, g.file, g.shared,
                          g.reserved_uncharged, g.file_uncharged, space.released.total, g.count,
                          uncertain or event.uncertain))

    @property
    def row_count(self) -> int:
        """The number of timeline rows so far."""
        return sum(len(part) for part in self._packed) + len(self.rows)

    def _pack(self) -> None:
        """Turn the row tuples made so far into typed columns (frame() joins them)."""
        self._packed.append(_columns(self.rows))
        self.rows.clear()

    def frame(self) -> "pd.DataFrame":
        """The timeline: one row per change (columns TIMELINE_COLUMNS); addresses ``start`` and
        ``end`` unsigned, the ledgers signed 64-bit. The same DataFrame while no row is added
        (copy it before changing it)."""
        import pandas as pd

        key = (self.row_count, len(self.inferred))
        if self._frame is not None and self._frame[0] == key:
            return self._frame[1]
        if self.rows or not self._packed:
            self._pack()
        parts = self._packed
        if len(parts) == 1:
            df = parts[0]
        else:
            # a column at a time, each part's copy dropped as it goes (pd.concat of the parts
            # held the timeline twice)
            given = self._frame[1] if self._frame is not None else None  # a caller may hold it
            cols = {}
            for name in TIMELINE_COLUMNS:
                cols[name] = pd.concat([part[name] for part in parts], ignore_index=True)
                for part in parts:
                    if part is not given:
                        del part[name]
            df = pd.DataFrame(cols)
        df["syscall"] = df["syscall"].astype("category")
        df["role"] = df["role"].astype("category")
        if self.inferred:
            # the rows of tasks whose space was inferred are as sure as the inference
            df["uncertain"] = df["uncertain"] | df["pid"].isin(list(self.inferred)).fillna(False).astype(bool)
        # kept as the one packed part, and for the next call while no row is added
        self._packed = [df]
        self._frame = (key, df)
        return df


def _columns(rows: list[TimelineRow]) -> "pd.DataFrame":
    """Timeline rows as typed columns (syscall and role still plain objects)."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=TIMELINE_COLUMNS)
    for col in ("pid", "asid"):
        df[col] = df[col].astype("Int64")
    for col in ("start", "end"):
        df[col] = df[col].astype("UInt64")
    for col in LEDGERS:
        df[col] = df[col].astype("Int64")
    df["map_count"] = df["map_count"].astype("Int64")
    df["time"] = df["time"].astype("Float64")
    df["uncertain"] = df["uncertain"].astype(bool)
    return df


_PATH = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _path_arg(args: str, name: str) -> str | None:
    """The path an open/openat/creat names (its first string argument)."""
    i = args.find('"')
    j = args.find('"', i + 1) if i >= 0 else -1
    if j > i and "\\" not in args[i + 1:j]:
        return args[i + 1:j]   # (what _PATH matches when the text holds no escape; 4x faster)
    m = _PATH.search(args)
    # strace's escapes decoded (\351 -> the byte), as the -y decorations are: one form of a path
    return unescape(m.group(1)) if m else None


def replay(events: Iterable[SyscallEvent], page: int = PAGE, *, overcommit: str = "heuristic",
           uncharge_unfaulted: bool = False) -> Replayer:
    """Replay events (in order) and return the replayer with its spaces and timeline rows."""
    return Replayer(page, overcommit=overcommit, uncharge_unfaulted=uncharge_unfaulted).apply_all(events)


def space_changes(timeline: "pd.DataFrame", asids: Iterable[int | None],
                  column: str) -> "tuple[pd.DataFrame, np.ndarray]":
    """The timeline rows of the spaces ``asids`` (None: the space without a pid) and each row's
    change of ``column`` since its space's previous row (its value for a space's first row): their
    running sum is the ledger summed over those spaces, their rises and falls what came and went."""
    import numpy as np
    import pandas as pd

    chosen = set(asids)
    asid = timeline["asid"].astype("Int64")
    keep = asid.isin([a for a in chosen if a is not None]).fillna(False).to_numpy(bool)
    if None in chosen:
        keep |= asid.isna().to_numpy(bool)
    part = timeline[keep]
    values = part[column].to_numpy(np.int64)
    keys = part["asid"].astype("Int64").fillna(-1).to_numpy(np.int64)
    previous = pd.Series(values).groupby(keys).shift(1).fillna(0).to_numpy(np.int64)
    return part, values - previous

