"""Reading /proc/PID/maps and /proc/PID/smaps text (a baseline, or the kernel's ground truth)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

_LINE = re.compile(
    r"^([0-9a-f]+)-([0-9a-f]+)\s+([r-][w-][x-][ps])\s+([0-9a-f]+)\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)\s*(.*)$")
_FIELD = re.compile(r"^([A-Za-z_]+):\s+(.*)$")

KERNEL_MADE = ("[stack]", "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]")


@dataclass
class KernelRegion:
    start: int
    end: int
    perms: str
    offset: int
    dev: str
    inode: int
    path: str
    fields: dict[str, str] = field(default_factory=dict)
    #: The snapshot line it came from (1-based; 0: not read from text).
    line: int = 0

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def prot(self) -> int:
        return (1 if self.perms[0] == "r" else 0) | (2 if self.perms[1] == "w" else 0) | (4 if self.perms[2] == "x" else 0)

    @property
    def vmflags(self) -> set[str]:
        return set(self.fields.get("VmFlags", "").split())

    @property
    def accounted(self) -> bool:
        return "ac" in self.vmflags

    @property
    def shared_anonymous(self) -> bool:
        return self.perms[3] == "s" and (self.inode == 0 or self.path.startswith("/SYSV") or
                                         self.path.startswith("/dev/zero") or self.path.startswith("[anon"))


def parse_maps(text: str, label: str = "maps") -> list[KernelRegion]:
    """Regions of /proc/PID/maps or smaps text; other lines (status, program output) are ignored."""
    regions: list[KernelRegion] = []
    for number, line in enumerate(text.splitlines(), 1):
        m = _LINE.match(line)
        if m:
            start, end, perms, off, dev, inode, path = m.groups()
            regions.append(KernelRegion(int(start, 16), int(end, 16), perms, int(off, 16), dev, int(inode), path.strip(),
                                        line=number))
            continue
        f = _FIELD.match(line)
        if f and regions and f.group(1) in ("VmFlags", "Size", "Rss", "Anonymous", "LazyFree", "AnonHugePages"):
            regions[-1].fields[f.group(1)] = f.group(2)
    if not regions:
        raise InputError(f"{label}: no /proc/PID/maps lines found (expected 'start-end perms offset dev inode path')")
    return regions


# macOS vmmap / vmmap --wide: "MALLOC_TINY   7f8a5c800000-7f8a5c900000   [ 1024K  16K  16K  0K] rw-/rwx SM=PRV  detail"
_VMMAP = re.compile(
    r"^(?P<type>\S.*?)\s+(?P<start>[0-9a-fA-F]+)-(?P<end>[0-9a-fA-F]+)\s+\[[^\]]*\]\s+"
    r"(?P<prot>[r-][w-][x-])/(?P<max>[r-][w-][x-])\s+SM=(?P<sm>\w+)\s*(?P<detail>.*)$")


def parse_vmmap(text: str, label: str = "vmmap") -> list[KernelRegion]:
    """Regions of macOS ``vmmap`` or ``vmmap --wide`` output (the region type becomes the path
    when there is no file detail, e.g. "[MALLOC_TINY]"). Summary tables are ignored."""
    regions: list[KernelRegion] = []
    for number, line in enumerate(text.splitlines(), 1):
        m = _VMMAP.match(line.strip())
        if not m:
            continue
        shared = m.group("sm") in ("SHM", "ALI", "S/A", "COW") and m.group("sm") != "COW"
        detail = m.group("detail").strip()
        path = detail if detail.startswith("/") else f"[{m.group('type').strip()}]"
        regions.append(KernelRegion(int(m.group("start"), 16), int(m.group("end"), 16),
                                    m.group("prot") + ("s" if shared else "p"), 0, "00:00",
                                    1 if detail.startswith("/") else 0, path, line=number))
    if not regions:
        raise InputError(f"{label}: no vmmap region lines found (expected 'TYPE start-end [ sizes ] prot/max SM=...')")
    return regions


def read_snapshot(path: "str | os.PathLike[str]") -> list[KernelRegion]:
    """:func:`parse_snapshot` of a file (InputError when it cannot be read)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_snapshot(text, str(path))


def parse_snapshot(text: str, label: str = "baseline") -> list[KernelRegion]:
    """A baseline snapshot in any supported form: /proc/PID/maps, smaps, or macOS vmmap;
    checked as one address space (:func:`check_snapshot`)."""
    try:
        regions = parse_maps(text, label)
    except InputError:
        try:
            regions = parse_vmmap(text, label)
        except InputError:
            raise InputError(f"{label}: neither /proc/PID/maps or smaps lines nor macOS vmmap output") from None
    check_snapshot(regions, label)
    return regions


#: The end of a 64-bit address space: no mapping reaches past it.
_TOP = 1 << 64
_ALIGN = 4096


def check_snapshot(regions: "list[KernelRegion]", label: str = "baseline") -> None:
    """Raise InputError unless the regions can be one address space as the kernel lists it:
    each one non-empty, start below end, both page aligned (4 KiB, which 16 KiB pages are too),
    within 64 bits, and no two overlapping (a maps file of two processes, or two snapshots of
    one, would count the same bytes twice)."""
    def where(k: KernelRegion) -> str:
        return f"{label}:{k.line}" if k.line else f"{label}: mapping {k.start:#x}-{k.end:#x}"

    for k in regions:
        if k.end <= k.start:
            raise InputError(f"{where(k)}: the mapping {k.start:x}-{k.end:x} does not end after it starts; "
                             f"a /proc/PID/maps line is start-end with start < end")
        if k.end > _TOP:
            raise InputError(f"{where(k)}: the mapping {k.start:x}-{k.end:x} ends beyond the 64-bit address space")
        if k.start % _ALIGN or k.end % _ALIGN:
            raise InputError(f"{where(k)}: the mapping {k.start:x}-{k.end:x} is not page aligned (4 KiB); "
                             f"the kernel lists whole pages")
    ordered = sorted(regions, key=lambda k: (k.start, k.end))
    for a, b in zip(ordered, ordered[1:]):
        if b.start < a.end:
            raise InputError(f"{where(b)}: the mapping {b.start:x}-{b.end:x} overlaps {a.start:x}-{a.end:x}"
                             f"{f' (line {a.line})' if a.line else ''}: a snapshot holds one address space, "
                             f"each byte once (two processes' maps, or two snapshots, in one file?)")


def status_fields(text: str) -> dict[str, int]:
    """VmSize, VmData ... (kB) from /proc/PID/status text mixed into the same output."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(Vm\w+|RssAnon|RssFile|RssShmem):\s+(\d+) kB", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


class ExecBaselines(dict[int, list[list[KernelRegion]]]):
    """The snapshot taken right after each successful execve, per pid in exec order (what
    ``tracemem record`` keeps beside a trace): a baseline for every image a task ran, not only
    the first process's first one. Passed wherever a baseline goes (``summarize``,
    ``Trace.replayer`` ...)."""

