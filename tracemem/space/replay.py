"""Replaying events into address spaces: one per mm, shared by threads and vfork children, copied
by fork, replaced by execve; and the timeline of their totals after every change.

Work in progress for the address-space issue (see tracemem/addrspace.py for the rules).
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass
from typing import Any, Iterable

from .addrspace import PAGE, AddressSpace, Region, page_up, replace
from .events import (
    Brk, Clone, Execve, Madvise, Mmap, Mprotect, Mremap, Munmap, PrctlSetVma, Shmat, Shmdt, State,
    SyscallEvent,
)
from .flags import CloneFlags, MapFlags, Prot
from .text import printable

GO_ARENA_HINT = re.compile(r"^0x[0-9a-f]{0,2}c0[0-9a-f]{8}$")
_LIB = re.compile(r"\.so(?:\.[0-9.]+)?$")
_LIBC_FRAME = re.compile(r"/(?:libc|ld-linux[^/]*|libpthread)[.-][^/]*\(")

_SHARED = int(MapFlags.MAP_SHARED)
_STACK = int(MapFlags.MAP_STACK)
_FIXED = int(MapFlags.MAP_FIXED)
_NORESERVE = int(MapFlags.MAP_NORESERVE)
_ANONYMOUS = int(MapFlags.MAP_ANONYMOUS)
_GROWSDOWN = int(MapFlags.MAP_GROWSDOWN)

_COMPLETE = State.COMPLETE

TIMELINE_COLUMNS = ["time", "seq", "pid", "asid", "syscall", "start", "end", "role", "vsz",
                    "reserved", "committed", "file", "shared", "released", "map_count", "uncertain"]


@dataclass
class _Space:
    asid: int | None
    space: AddressSpace
    exe: str | None = None
    go: bool = False
    fds: dict[int, str] | None = None
    jvm_heap: int | None = None      # -Xmx of a JVM (from its execve), once its heap is unseen
    jvm: bool = False
    v8: bool = False


_XMX = re.compile(r"^-Xmx(\d+)([kKmMgGtT]?)$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
JVM_CODE_CACHE = 251658240  # HotSpot's default ReservedCodeCacheSize (240 MiB)


def _runtime_of(sp: "_Space", d: Execve) -> None:
    name = d.path.rsplit("/", 1)[-1]
    sp.jvm = name in ("java", "javac", "jshell") or any(a.startswith("-XX:") for a in d.argv)
    sp.v8 = name in ("node", "nodejs", "electron", "chrome", "chromium", "deno")
    if sp.jvm:
        for arg in d.argv:
            m = _XMX.match(arg)
            if m:
                sp.jvm_heap = int(m.group(1)) * _UNITS[m.group(2).lower()]


class Replayer:
    """Applies typed events to address spaces and records a timeline row per change."""

    def __init__(self, page: int = PAGE, mprotect_uncharge: str = "never", overcommit_never: bool = False):
        self.page = page
        self.options = dict(page=page, mprotect_uncharge=mprotect_uncharge, overcommit_never=overcommit_never)
        self.spaces: dict[int | None, _Space] = {}
        self.task: dict[int | None, _Space] = {}
        self.shm_sizes: dict[int, int] = {}
        self.rows: list[tuple[Any, ...]] = []
        self.final: dict[int | None, _Space] = {}
        self.baseline: list[Any] | None = None
        self.baseline_pid: int | None = None

    # -- address spaces ---------------------------------------------------------------------------

    def _space_of(self, pid: int | None) -> _Space:
        sp = self.task.get(pid)
        if sp is None:
            # First sight of a task whose creation the trace did not show (-e trace=%memory,
            # -ff, attach): it is its own address space.
            sp = _Space(pid, AddressSpace(**self.options), fds={})
            self.task[pid] = sp
            self.spaces[pid] = sp
            if self.baseline is not None and (self.baseline_pid is None or self.baseline_pid == pid):
                self._apply_baseline(sp)
        return sp

    def _new_space(self, pid: int | None, exe: str | None) -> _Space:
        sp = _Space(pid, AddressSpace(**self.options), exe=exe, fds={})
        self.task[pid] = sp
        key = pid
        if key in self.spaces and self.spaces[key] is not sp:
            self.final[(key, len(self.final))] = self.spaces[key]  # type: ignore[index]
        self.spaces[key] = sp
        return sp

    def seed(self, regions: Any, pid: int | None = None) -> None:
        """Seed the first process's address space with a /proc/PID/maps (or smaps) snapshot: the
        mappings the kernel made at exec, which no syscall shows."""
        self.baseline = list(regions)
        self.baseline_pid = pid

    def _apply_baseline(self, sp: _Space) -> None:
        for k in self.baseline or []:
            shared = k.perms[3] == "s"
            anonymous = k.inode == 0 and not k.path.startswith("/")
            accounted = k.accounted if k.fields else (bool(k.prot & 2) and not shared)
            role = "kernel/exec baseline"
            sp.space.regions[k.start] = Region(k.start, k.end, k.prot, shared, anonymous, False, accounted,
                                               None if anonymous or k.path.startswith("[") else k.path, k.offset,
                                               role=role)
        self.baseline = None

    # -- replay -----------------------------------------------------------------------------------

    def apply_all(self, events: Iterable[SyscallEvent]) -> "Replayer":
        """Apply events in order with the cyclic garbage collector paused (restored after).

        A replay allocates one acyclic row and a few regions per event; with the collector
        running, its generation scans over the growing row list cost about 8% of a replay of
        700,000 memory calls (benchmarks/bench_replay.py)."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            apply = self.apply
            for event in events:
                apply(event)
        finally:
            if enabled:
                gc.enable()
        return self

    def apply(self, event: SyscallEvent) -> None:
        d = event.decoded
        kind = type(d)
        name = event.syscall
        if kind is Mmap and event.state is _COMPLETE and event.errno is None and not event.injected:
            self._mmap(event, d)
            return
        if kind is Munmap and event.state is _COMPLETE and event.errno is None and not event.injected:
            sp = self.task.get(event.pid) or self._space_of(event.pid)
            space = sp.space
            lo = d.addr
            hi = lo + -(-d.length // self.page) * self.page
            exact = space.regions.get(lo)
            role = exact.role if exact is not None else _role_at(space, lo)
            space.munmap(lo, d.length)
            g = space.regions  # self._row(...) inline: the commonest calls, the hottest lines of a replay
            self.rows.append((event.time, event.seq, event.pid, sp.asid, event.syscall, lo, hi, role, g.vsz,
                              g.reserved, g.committed, g.file, g.shared, space.released.total, len(g._k),
                              event.uncertain))
            return
        if kind is Mremap and event.state is _COMPLETE and event.errno is None and not event.injected:
            ret = event.ret
            if ret is None or ret < 0:
                return
            sp = self.task.get(event.pid) or self._space_of(event.pid)
            space = sp.space
            page = self.page
            old = d.old_addr
            old_hi = old + -(-d.old_length // page) * page
            new_hi = ret + -(-d.new_length // page) * page
            exact = space.regions.get(old)
            role = exact.role if exact is not None else _role_at(space, old)
            space.mremap(old, d.old_length, d.new_length, int(d.flags), ret)
            lo, hi = min(old, ret), max(old_hi, new_hi)
            g = space.regions  # self._row(...) inline: the commonest calls, the hottest lines of a replay
            self.rows.append((event.time, event.seq, event.pid, sp.asid, event.syscall, lo, hi, role, g.vsz,
                              g.reserved, g.committed, g.file, g.shared, space.released.total, len(g._k),
                              event.uncertain))
            return
        if name in ("openat", "open", "creat") and event.ret is not None and event.ret >= 0:
            path = _path_arg(event.args, name)
            if path is not None:
                sp = self._space_of(event.pid)
                assert sp.fds is not None
                sp.fds[event.ret] = path
            return
        if kind is Mprotect and event.errno == "ENOMEM" and not event.injected:
            self._mprotect_hole(event, d)
            return
        if d is None or event.state is not _COMPLETE or event.failed:
            if name == "shmget" and event.ret is not None and event.ret >= 0:
                self._shmget(event)
            return
        if kind is Clone:
            self._clone(event, d)
            return
        if kind is Execve:
            if event.ret == 0:
                fresh = event.pid not in self.task
                sp = self._new_space(event.pid, d.path)
                _runtime_of(sp, d)
                if fresh and self.baseline is not None and self.baseline_pid in (None, event.pid):
                    self._apply_baseline(sp)
                self._row(event, sp, None, None, "exec")
            return
        # Successful mmap, munmap and mremap took the fast paths above.
        sp = self._space_of(event.pid)
        space = sp.space
        page = self.page
        if kind is Mprotect:
            lo, hi = d.addr, d.addr + page_up(d.length, page)
            role = _role_at(space, lo)
            space.mprotect(d.addr, d.length, int(d.prot))
            if role == "thread stack":
                # glibc: an 8 MiB + 4 KiB PROT_NONE MAP_STACK mapping made RW but for its low page.
                for r in space._overlapping(lo - page, hi + page):
                    if r.role == "thread stack" and r.prot == 0:
                        space.regions[r.start] = replace(r, role="thread stack guard")
                if not d.prot & Prot.PROT_WRITE:
                    role = "thread stack guard"
            elif d.prot & Prot.PROT_WRITE and role == "glibc arena reservation":
                _relabel(space, lo, hi, "glibc malloc arena")
                role = "glibc malloc arena"
            self._row(event, sp, lo, hi, role)
        elif kind is Madvise:
            lo, hi = d.addr, d.addr + page_up(d.length, page)
            advice = int(d.advice)
            if event.platform == "darwin":
                # macOS: FREE 5, FREE_REUSABLE 7 hand pages back; FREE_REUSE 8 takes them again.
                advice = {4: 4, 5: 8, 7: 8, 10: 21, 8: 22, 3: 3}.get(advice, -1)
            space.madvise(d.addr, d.length, advice)
            self._row(event, sp, lo, hi, _role_at(space, lo))
        elif kind is Brk:
            ret = event.ret
            if ret is None:
                return
            old = space.brk_end
            lo = min(old or ret, ret)
            hi = max(old or ret, ret, d.addr if d.addr else 0)
            lo, hi = lo - lo % page, page_up(hi, page)
            space.brk(d.addr, ret)
            self._row(event, sp, lo, hi, "heap")
        elif kind is Shmat:
            ret = event.ret
            size = self.shm_sizes.get(d.shmid)
            if ret is None or ret < 0 or size is None:
                self._row(event, sp, ret, None, "shared memory (size unknown)", uncertain=True)
                return
            prot = Prot.PROT_READ | (0 if int(d.flags) & 0o10000 else Prot.PROT_WRITE)
            space.mmap(ret, size, int(prot), int(MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS), None, 0,
                       "SysV shared memory")
            self._row(event, sp, ret, ret + page_up(size, page), "SysV shared memory")
        elif kind is Shmdt:
            region = space.regions.get(d.addr)
            if region is not None and region.shared:
                space.munmap(region.start, region.size)
                self._row(event, sp, region.start, region.end, "SysV shared memory")
        elif kind is PrctlSetVma:
            lo, hi = d.addr, d.addr + page_up(d.length, page)
            role = _name_role(d.name)
            for r in space._carve(lo, hi):
                space.regions[r.start] = replace(r, name=d.name, role=role or r.role)
            space._merge_around(lo, hi)
            self._row(event, sp, lo, hi, role)

    def _mmap(self, event: SyscallEvent, d: Mmap) -> None:
        ret = event.ret
        if ret is None or ret < 0:
            return
        sp = self.task.get(event.pid) or self._space_of(event.pid)
        flags = int(d.flags)
        path = (d.fd_path or (sp.fds or {}).get(d.fd)) if not flags & _ANONYMOUS else None
        role = self._role_for_mmap(sp, d, ret, path, event)
        space = sp.space
        space.mmap(ret, d.length, int(d.prot), flags, path, d.offset, role)
        hi = ret + -(-d.length // self.page) * self.page
        g = space.regions  # self._row(...) inline: the commonest calls, the hottest lines of a replay
        self.rows.append((event.time, event.seq, event.pid, sp.asid, event.syscall, ret, hi, role, g.vsz,
                          g.reserved, g.committed, g.file, g.shared, space.released.total, len(g._k),
                          event.uncertain))

    def _mprotect_hole(self, event: SyscallEvent, d: Mprotect) -> None:
        """mprotect over a hole fails with ENOMEM but the kernel has already changed the mapped
        part before the hole (measured): apply that part and flag the row as uncertain."""
        sp = self._space_of(event.pid)
        space = sp.space
        lo, hi = d.addr, d.addr + page_up(d.length, self.page)
        end = lo
        for r in space._overlapping(lo, hi):
            if r.start > end:
                break
            end = min(r.end, hi)
        if end > lo:
            space.mprotect(lo, end - lo, int(d.prot))
        self._row(event, sp, lo, end, _role_at(space, lo), uncertain=True)

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
        parent = self._space_of(event.pid)
        if d.flags & CloneFlags.CLONE_VM:
            existing = self.task.get(child)
            if existing is None or (not existing.space.regions and existing.exe is None):
                self.task[child] = parent
            return
        if child in self.task and self.task[child].exe is not None:
            return  # the child exec'd before the parent's clone returned
        copy = _Space(child, parent.space.fork(), exe=parent.exe, go=parent.go, fds=dict(parent.fds or {}))
        self.task[child] = copy
        self.spaces[child] = copy
        self._row(event, copy, None, None, "fork copy", pid=child)

    # -- roles ------------------------------------------------------------------------------------

    def _role_for_mmap(self, sp: _Space, d: Mmap, ret: int, path: str | None, event: SyscallEvent) -> str:
        flags = int(d.flags)
        prot = int(d.prot)
        if path is not None:
            if sp.exe and (path == sp.exe or path.endswith("/" + sp.exe.lstrip("./"))):
                return "executable"
            return "shared library" if _LIB.search(path) else "file"
        if flags & _SHARED:
            return "shared anonymous"
        if flags & _STACK:
            return "thread stack"
        if flags & _GROWSDOWN:
            return "grows down (extends invisibly on faults)"
        if 0xC000000000 <= ret < 0xC100000000 or (d.addr and (d.addr >> 32) & 0xFF == 0xC0
                                                  and d.addr & 0xFFFFFFFF == 0 and GO_ARENA_HINT.match(hex(d.addr))):
            sp.go = True
            return "Go heap arena" if prot == 0 else "Go heap"
        if flags & _FIXED:
            inside = _role_at(sp.space, ret)
            if inside not in (None, "anonymous"):
                if inside == "glibc arena reservation":
                    return "glibc malloc arena"
                if inside.endswith("reservation"):
                    return inside.replace(" reservation", "")
                return inside
        if prot == 0 and flags & _NORESERVE and sp.jvm:
            if sp.jvm_heap is not None and d.length == sp.jvm_heap:
                sp.jvm_heap = None  # the first reservation of -Xmx bytes is the Java heap
                return "JVM heap reservation"
            if d.length == JVM_CODE_CACHE:
                return "JVM code cache reservation"
            if d.length >= 1 << 30:
                return "JVM class space reservation"
        if prot == 0 and flags & _NORESERVE and sp.v8 and d.length >= 4 << 30 and ret % (4 << 30) == 0:
            return "V8 pointer-compression cage reservation"
        if prot == 0 and flags & _NORESERVE and (
                d.length == 128 << 20 or (d.length == 64 << 20 and d.addr and d.addr % (64 << 20) == 0)):
            # glibc's new_heap: 128 MiB then trimmed to an aligned 64 MiB, or 64 MiB at an aligned hint.
            return "glibc arena reservation"
        if prot == 0 and flags & _NORESERVE:
            return "reservation (NORESERVE)"
        if prot == 0 and not flags & _NORESERVE and d.length >= 128 << 10:
            return "Go runtime reservation" if sp.go or _go_sizes(d.length) else "runtime reservation"
        if event.stack:
            for frame in event.stack:
                if not _LIBC_FRAME.search(frame):
                    return "anonymous (" + frame.split(" [")[0].rsplit("/", 1)[-1] + ")"
        return "anonymous"

    # -- rows -------------------------------------------------------------------------------------

    def _row(self, event: SyscallEvent, sp: _Space, lo: int | None, hi: int | None, role: str | None,
             uncertain: bool = False, pid: int | None = None) -> None:
        space = sp.space
        g = space.regions
        self.rows.append((event.time, event.seq, event.pid if pid is None else pid, sp.asid, event.syscall,
                          lo, hi, role, g.vsz, g.reserved, g.committed, g.file, g.shared,
                          space.released.total, len(g._k), uncertain or event.uncertain))

    def frame(self) -> Any:
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=TIMELINE_COLUMNS)
        for col in ("pid", "asid"):
            df[col] = df[col].astype("Int64")
        for col in ("start", "end", "vsz", "reserved", "committed", "file", "shared", "released"):
            df[col] = df[col].astype("UInt64")
        df["map_count"] = df["map_count"].astype("Int64")
        df["time"] = df["time"].astype("Float64")
        df["syscall"] = df["syscall"].astype("category")
        df["role"] = df["role"].astype("category")
        return df


def _name_role(name: str | None) -> str | None:
    """The role a PR_SET_VMA_ANON_NAME name gives: Go 1.25 " Go: heap" -> "Go heap", glibc 2.39
    " glibc: malloc arena" -> "glibc malloc arena", anything else "[anon:NAME]"."""
    if not name:
        return None
    for prefix, runtime in ((" Go: ", "Go"), (" glibc: ", "glibc")):
        if name.startswith(prefix):
            return f"{runtime} {name[len(prefix):]}"
    return f"[anon:{name}]"


def _role_at(space: AddressSpace, addr: int) -> str | None:
    exact = space.regions.get(addr)
    if exact is not None:
        return exact.role
    found = space._overlapping(addr, addr + 1)
    return found[0].role if found else None


def _relabel(space: AddressSpace, lo: int, hi: int, role: str) -> None:
    for r in space._overlapping(lo, hi):
        if r.start >= lo and r.end <= hi:
            space.regions[r.start] = replace(r, role=role)


def _go_sizes(length: int) -> bool:
    return length in (128 << 10, 1 << 20, 8 << 20, 64 << 20, 512 << 20)


_PATH = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _path_arg(args: str, name: str) -> str | None:
    m = _PATH.search(args)
    return m.group(1) if m else None


def replay(events: Iterable[SyscallEvent], **options: Any) -> Replayer:
    """Replay events (in order) and return the replayer with its spaces and timeline rows."""
    return Replayer(**options).apply_all(events)


def format_maps(space: AddressSpace, roles: bool = False) -> str:
    """The regions in /proc/PID/maps format (dev 00:00 and inode 0 where unknown)."""
    lines = []
    for r in space:
        perms = ("r" if r.prot & 1 else "-") + ("w" if r.prot & 2 else "-") + ("x" if r.prot & 4 else "-") + (
            "s" if r.shared else "p")
        name = r.path or (f"[anon:{r.name}]" if r.name else ("[heap]" if r.role == "heap" else ""))
        name = printable(name)
        line = f"{r.start:08x}-{r.end:08x} {perms} {r.offset if r.path else 0:08x} 00:00 0"
        if name:
            line += " " * max(1, 73 - len(line)) + name
        if roles:
            line += f"    # {printable(r.role)}"
        lines.append(line)
    return "\n".join(lines) + ("\n" if lines else "")
