"""What a mapping is for: the role a new region gets from its flags, size, file and the runtime
behind the process (Go, glibc malloc, the JVM, V8), and the roles PR_SET_VMA_ANON_NAME names give.

The rules come from shared/reference/runtimes.md; README.md ("Address space") lists the roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..events import Execve, Mmap, SyscallEvent
from ..flags import MapFlags

if TYPE_CHECKING:
    from .addrspace import AddressSpace

#: A hint address of the Go runtime's heap arenas (0xc000000000 and up, amd64 and arm64).
GO_ARENA_HINT = re.compile(r"^0x[0-9a-f]{0,2}c0[0-9a-f]{8}$")
#: The sizes the Go runtime reserves with PROT_NONE (page-cache, arena index, ...).
GO_RESERVATION_SIZES = frozenset((128 << 10, 1 << 20, 8 << 20, 64 << 20, 512 << 20))
#: HotSpot's default ReservedCodeCacheSize (240 MiB) and CompressedClassSpaceSize (1 GiB; the
#: CDS archive, some MiB, is reserved with it).
JVM_CODE_CACHE = 251658240
JVM_CLASS_SPACE = 1 << 30
#: With compressed oops (the default below 32 GiB of heap) HotSpot places the Java heap so that
#: it ends at or below 32 GiB: the first such big reservation is the heap, -Xmx given or not
#: (ergonomics, JAVA_TOOL_OPTIONS and -XX:MaxRAMPercentage size it in containers).
JVM_OOPS_LIMIT = 32 << 30
#: Executables whose process is a JVM or a V8 runtime.
JVM_NAMES = frozenset(("java", "javac", "jshell"))
V8_NAMES = frozenset(("node", "nodejs", "electron", "chrome", "chromium", "deno"))

_LIB = re.compile(r"\.so(?:\.[0-9.]+)?$")
_LIBC_FRAME = re.compile(r"/(?:libc|ld-linux[^/]*|libpthread)[.-][^/]*\(")
_XMX = re.compile(r"^-Xmx(\d+)([kKmMgGtT]?)$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}

_SHARED = int(MapFlags.MAP_SHARED)
_STACK = int(MapFlags.MAP_STACK)
_FIXED = int(MapFlags.MAP_FIXED)
_NORESERVE = int(MapFlags.MAP_NORESERVE)
_GROWSDOWN = int(MapFlags.MAP_GROWSDOWN)


@dataclass
class Runtime:
    """What is known of the program behind an address space (from its execve and mappings)."""

    exe: str | None = None
    go: bool = False
    jvm: bool = False
    v8: bool = False
    jvm_heap: int | None = None      # -Xmx of a JVM (from its execve)
    jvm_heap_seen: bool = False
    fds: dict[int, str] = field(default_factory=dict)

    def exec(self, d: Execve) -> None:
        """Learn the runtime from a successful execve's path and argv."""
        name = d.path.rsplit("/", 1)[-1]
        self.jvm = name in JVM_NAMES or any(a.startswith("-XX:") for a in d.argv)
        self.v8 = name in V8_NAMES
        if self.jvm:
            for arg in d.argv:
                m = _XMX.match(arg)
                if m:
                    self.jvm_heap = int(m.group(1)) * _UNITS[m.group(2).lower()]


def role_for_mmap(rt: Runtime, space: "AddressSpace", d: Mmap, ret: int, path: str | None,
                  event: SyscallEvent) -> str:
    """The role of the region a successful mmap (returning ``ret``) creates."""
    flags = int(d.flags)
    prot = int(d.prot)
    if path is not None:
        if rt.exe and (path == rt.exe or path.endswith("/" + rt.exe.lstrip("./"))):
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
        rt.go = True
        return "Go heap arena" if prot == 0 else "Go heap"
    if flags & _FIXED:
        inside = space.role_at(ret)
        if inside not in (None, "anonymous"):
            if inside == "glibc arena reservation":
                return "glibc malloc arena"
            if inside.endswith("reservation"):
                return inside.replace(" reservation", "")
            return inside
    if prot == 0 and flags & _NORESERVE and rt.jvm:
        if not rt.jvm_heap_seen and (d.length == rt.jvm_heap or (
                rt.jvm_heap is None and d.length >= 1 << 24 and ret + d.length <= JVM_OOPS_LIMIT)):
            rt.jvm_heap_seen = True  # the first reservation of -Xmx bytes (or below 32 GiB) is the heap
            return "JVM heap reservation"
        if d.length == JVM_CODE_CACHE:
            return "JVM code cache reservation"
        if JVM_CLASS_SPACE <= d.length <= JVM_CLASS_SPACE + (256 << 20):
            return "JVM class space reservation"  # with the CDS archive in front of it, when shared
        if d.length >= 1 << 30:
            return "JVM reservation"  # big, and neither heap, code cache nor class space by its size
    if prot == 0 and flags & _NORESERVE and rt.v8 and d.length >= 4 << 30 and ret % (4 << 30) == 0:
        return "V8 pointer-compression cage reservation"
    if prot == 0 and flags & _NORESERVE and (
            d.length == 128 << 20 or (d.length == 64 << 20 and d.addr and d.addr % (64 << 20) == 0)):
        # glibc's new_heap: 128 MiB then trimmed to an aligned 64 MiB, or 64 MiB at an aligned hint.
        return "glibc arena reservation"
    if prot == 0 and flags & _NORESERVE:
        return "reservation (NORESERVE)"
    if prot == 0 and not flags & _NORESERVE and d.length >= 128 << 10:
        return "Go runtime reservation" if rt.go or d.length in GO_RESERVATION_SIZES else "runtime reservation"
    if event.stack:
        for frame in event.stack:
            if not _LIBC_FRAME.search(frame):
                return "anonymous (" + frame.split(" [")[0].rsplit("/", 1)[-1] + ")"
    return "anonymous"


def role_after_mprotect(space: "AddressSpace", lo: int, hi: int, prot: int, role: str | None,
                        page: int) -> str | None:
    """Relabel what an mprotect of [lo, hi) reveals (call it after applying the mprotect) and
    return the role of its timeline row:

    * glibc's thread stacks are an 8 MiB + 4 KiB PROT_NONE MAP_STACK mapping made RW but for its
      low page: the part left PROT_NONE is the guard;
    * write permission on part of a glibc arena reservation makes that part a malloc arena.
    """
    if role == "thread stack":
        for r in space.overlapping(lo - page, hi + page):
            if r.role == "thread stack" and r.prot == 0:
                space.set_role(r, "thread stack guard")
        return role if prot & 2 else "thread stack guard"
    if prot & 2 and role == "glibc arena reservation":
        space.relabel(lo, hi, "glibc malloc arena")
        return "glibc malloc arena"
    return role


def name_role(name: str | None) -> str | None:
    """The role a PR_SET_VMA_ANON_NAME name gives: Go 1.25 " Go: heap" -> "Go heap", glibc 2.39
    " glibc: malloc arena" -> "glibc malloc arena", anything else "[anon:NAME]"."""
    if not name:
        return None
    for prefix, runtime in ((" Go: ", "Go"), (" glibc: ", "glibc")):
        if name.startswith(prefix):
            return f"{runtime} {name[len(prefix):]}"
    return f"[anon:{name}]"


#: Roles that mark the language runtime reserving its address space (the runtime-init phase).
RUNTIME_RESERVATIONS = frozenset((
    "Go runtime reservation", "Go heap arena", "glibc arena reservation", "JVM heap reservation",
    "JVM class space reservation", "JVM code cache reservation", "JVM reservation",
    "V8 pointer-compression cage reservation", "runtime reservation",
))
