"""An address space as /proc/PID/maps text (what ``tracemem maps`` prints)."""

from __future__ import annotations

from ..space.addrspace import AddressSpace, Region
from ..text import printable


def perms(r: Region) -> str:
    """The rwxp / rw-s column of /proc/PID/maps."""
    return (("r" if r.prot & 1 else "-") + ("w" if r.prot & 2 else "-") + ("x" if r.prot & 4 else "-")
            + ("s" if r.shared else "p"))


def format_maps(space: AddressSpace, roles: bool = False) -> str:
    """The regions in /proc/PID/maps format (dev 00:00 and inode 0 where unknown)."""
    lines = []
    for r in space:
        if r.name and r.name.startswith("["):
            name = r.name  # a kernel-made mapping from a baseline snapshot: [stack], [vdso] ...
        else:
            name = r.path or (f"[anon:{r.name}]" if r.name else ("[heap]" if r.role == "heap" else ""))
        name = printable(name)
        line = f"{r.start:08x}-{r.end:08x} {perms(r)} {r.offset if r.path else 0:08x} 00:00 0"
        if name:
            line += " " * max(1, 73 - len(line)) + name
        if roles:
            line += f"    # {printable(r.role)}"
        lines.append(line)
    return "\n".join(lines) + ("\n" if lines else "")
