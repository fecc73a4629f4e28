"""Linux constants for memory and process syscalls, as enums.

Flag sets are ``enum.IntFlag`` with ``boundary=KEEP``: bits strace printed as hex because it did
not know them survive as numbers (``MAP_PRIVATE|0x800000`` keeps ``0x800000``). Single-valued
arguments (madvise advice) are ``IntEnum`` whose unknown values become pseudo-members named by
their hex value, so nothing a trace says is dropped.
"""

from __future__ import annotations

import enum
import errno as _errno
from typing import Self


class Prot(enum.IntFlag, boundary=enum.KEEP):
    PROT_NONE = 0x0
    PROT_READ = 0x1
    PROT_WRITE = 0x2
    PROT_EXEC = 0x4
    PROT_SEM = 0x8
    PROT_GROWSDOWN = 0x01000000
    PROT_GROWSUP = 0x02000000


class MapFlags(enum.IntFlag, boundary=enum.KEEP):
    MAP_SHARED = 0x01
    MAP_PRIVATE = 0x02
    MAP_SHARED_VALIDATE = 0x03
    MAP_FIXED = 0x10
    MAP_ANONYMOUS = 0x20
    MAP_32BIT = 0x40
    MAP_GROWSDOWN = 0x0100
    MAP_DENYWRITE = 0x0800
    MAP_EXECUTABLE = 0x1000
    MAP_LOCKED = 0x2000
    MAP_NORESERVE = 0x4000
    MAP_POPULATE = 0x8000
    MAP_NONBLOCK = 0x10000
    MAP_STACK = 0x20000
    MAP_HUGETLB = 0x40000
    MAP_SYNC = 0x80000
    MAP_FIXED_NOREPLACE = 0x100000
    MAP_UNINITIALIZED = 0x4000000


# strace prints the hugetlb page size as MAP_HUGE_2MB etc.: log2(size) << MAP_HUGE_SHIFT.
MAP_HUGE_SHIFT = 26
_HUGE_UNITS = {"KB": 10, "MB": 20, "GB": 30}


class MremapFlags(enum.IntFlag, boundary=enum.KEEP):
    MREMAP_MAYMOVE = 0x1
    MREMAP_FIXED = 0x2
    MREMAP_DONTUNMAP = 0x4


class ShmFlags(enum.IntFlag, boundary=enum.KEEP):
    SHM_RDONLY = 0o10000
    SHM_RND = 0o20000
    SHM_REMAP = 0o40000
    SHM_EXEC = 0o100000


class CloneFlags(enum.IntFlag, boundary=enum.KEEP):
    CLONE_NEWTIME = 0x80
    CLONE_VM = 0x100
    CLONE_FS = 0x200
    CLONE_FILES = 0x400
    CLONE_SIGHAND = 0x800
    CLONE_PIDFD = 0x1000
    CLONE_PTRACE = 0x2000
    CLONE_VFORK = 0x4000
    CLONE_PARENT = 0x8000
    CLONE_THREAD = 0x10000
    CLONE_NEWNS = 0x20000
    CLONE_SYSVSEM = 0x40000
    CLONE_SETTLS = 0x80000
    CLONE_PARENT_SETTID = 0x100000
    CLONE_CHILD_CLEARTID = 0x200000
    CLONE_DETACHED = 0x400000
    CLONE_UNTRACED = 0x800000
    CLONE_CHILD_SETTID = 0x1000000
    CLONE_NEWCGROUP = 0x2000000
    CLONE_NEWUTS = 0x4000000
    CLONE_NEWIPC = 0x8000000
    CLONE_NEWUSER = 0x10000000
    CLONE_NEWPID = 0x20000000
    CLONE_NEWNET = 0x40000000
    CLONE_IO = 0x80000000
    CLONE_CLEAR_SIGHAND = 0x100000000
    CLONE_INTO_CGROUP = 0x200000000


class MsealFlags(enum.IntFlag, boundary=enum.KEEP):
    """mseal() defines no flags yet; any bit is kept as a number."""


class MlockFlags(enum.IntFlag, boundary=enum.KEEP):
    MLOCK_ONFAULT = 0x1


class ExecveatFlags(enum.IntFlag, boundary=enum.KEEP):
    AT_SYMLINK_NOFOLLOW = 0x100
    AT_EMPTY_PATH = 0x1000


class _OpenEnum(enum.IntEnum):
    """An IntEnum that keeps unknown values as pseudo-members named by their hex value."""

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, int):
            return None
        member = int.__new__(cls, value)
        member._name_ = hex(value)
        member._value_ = value
        return member


class Advice(_OpenEnum):
    MADV_NORMAL = 0
    MADV_RANDOM = 1
    MADV_SEQUENTIAL = 2
    MADV_WILLNEED = 3
    MADV_DONTNEED = 4
    MADV_FREE = 8
    MADV_REMOVE = 9
    MADV_DONTFORK = 10
    MADV_DOFORK = 11
    MADV_MERGEABLE = 12
    MADV_UNMERGEABLE = 13
    MADV_HUGEPAGE = 14
    MADV_NOHUGEPAGE = 15
    MADV_DONTDUMP = 16
    MADV_DODUMP = 17
    MADV_WIPEONFORK = 18
    MADV_KEEPONFORK = 19
    MADV_COLD = 20
    MADV_PAGEOUT = 21
    MADV_POPULATE_READ = 22
    MADV_POPULATE_WRITE = 23
    MADV_DONTNEED_LOCKED = 24
    MADV_COLLAPSE = 25
    MADV_HWPOISON = 100
    MADV_SOFT_OFFLINE = 101
    MADV_GUARD_INSTALL = 102
    MADV_GUARD_REMOVE = 103


class PrctlOption(_OpenEnum):
    PR_SET_VMA = 0x53564D41


class PrctlVmaAttr(_OpenEnum):
    PR_SET_VMA_ANON_NAME = 0


# Signal numbers (x86_64/generic) for clone's exit signal in the low byte of its flags.
SIGNALS = {
    "SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6,
    "SIGBUS": 7, "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12,
    "SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15, "SIGSTKFLT": 16, "SIGCHLD": 17,
    "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23,
    "SIGXCPU": 24, "SIGXFSZ": 25, "SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28,
    "SIGIO": 29, "SIGPWR": 30, "SIGSYS": 31,
}

#: A flag set (IntFlag) or a single-valued argument (IntEnum) class.
FlagType = type[enum.IntFlag] | type[enum.IntEnum]

# Which enum decodes which flag-name prefix; used to turn "PROT_READ|PROT_WRITE" into a value.
FLAG_TYPES: dict[str, FlagType] = {
    "prot": Prot,
    "map": MapFlags,
    "mremap": MremapFlags,
    "shm": ShmFlags,
    "clone": CloneFlags,
    "advice": Advice,
    "mseal": MsealFlags,
    "execveat": ExecveatFlags,
}


def flag_value(enum_cls: FlagType, name: str) -> int | None:
    """The numeric value of one symbolic flag name for ``enum_cls``, or None if unknown."""
    member = enum_cls.__members__.get(name)
    if member is not None:
        return int(member)
    if enum_cls is MapFlags and name.startswith("MAP_HUGE_"):
        size = name[len("MAP_HUGE_"):]
        for unit, shift in _HUGE_UNITS.items():
            if size.endswith(unit) and size[: -len(unit)].isdigit():
                log2 = (int(size[: -len(unit)])).bit_length() - 1 + shift
                return log2 << MAP_HUGE_SHIFT
    if enum_cls is CloneFlags and name in SIGNALS:
        return SIGNALS[name]
    return None


def flag_names(value: int, enum_cls: FlagType) -> str:
    """Render a flag value as strace does: names joined by "|", unknown bits as hex."""
    if issubclass(enum_cls, enum.IntFlag):
        value = int(value)
        if enum_cls is Prot and value == 0:
            return "PROT_NONE"
        parts: list[str] = []
        rest = value
        huge = signal = 0  # set for MapFlags and CloneFlags below
        if enum_cls is MapFlags:
            kind = rest & 0x03
            parts.append({1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}.get(kind, ""))
            rest &= ~0x03
            huge = (rest >> MAP_HUGE_SHIFT) & 0x3F
            if huge and rest & MapFlags.MAP_HUGETLB:
                rest &= ~(0x3F << MAP_HUGE_SHIFT)
            else:
                huge = 0
        if enum_cls is CloneFlags:
            signal = rest & 0x7F if not rest & CloneFlags.CLONE_NEWTIME else 0
            rest &= ~0xFF if signal else ~0x7F
        for member in enum_cls:
            bit = int(member)
            if bit and bit & (bit - 1) == 0 and rest & bit:
                parts.append(member.name or "")  # (a canonical member always has its name)
                rest &= ~bit
        if enum_cls is MapFlags and huge:
            unit = "GB" if huge >= 30 else "MB" if huge >= 20 else "KB"
            parts.append(f"MAP_HUGE_{1 << (huge - {'GB': 30, 'MB': 20, 'KB': 10}[unit])}{unit}")
        if enum_cls is CloneFlags and signal:
            name = next((k for k, v in SIGNALS.items() if v == signal), hex(signal))
            parts.append(name)
        parts = [p for p in parts if p]
        if rest:
            parts.append(hex(rest))
        return "|".join(parts) if parts else "0"
    return enum_cls(int(value)).name


def errno_number(name: str | None) -> int | None:
    """The Linux errno number for a name such as "ENOMEM", or None."""
    if not name:
        return None
    return getattr(_errno, name, None)


class DarwinAdvice(_OpenEnum):
    """macOS madvise advice values (dtruss logs; here, not in tracemem.parse.dtruss, so that the
    replay reads them without importing Lark); unknown values become pseudo-members named by their hex."""

    MADV_NORMAL = 0
    MADV_RANDOM = 1
    MADV_SEQUENTIAL = 2
    MADV_WILLNEED = 3
    MADV_DONTNEED = 4
    MADV_FREE = 5
    MADV_ZERO_WIRED_PAGES = 6
    MADV_FREE_REUSABLE = 7
    MADV_FREE_REUSE = 8
    MADV_CAN_REUSE = 9
    MADV_PAGEOUT = 10
    MADV_ZERO = 11
