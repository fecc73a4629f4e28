"""Typed records passed between stages: syscall events, their decoded arguments, line accounting."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Union

from .flags import Advice, CloneFlags, ExecveatFlags, MapFlags, MremapFlags, MsealFlags, Prot, ShmFlags

if TYPE_CHECKING:
    from .flags import DarwinAdvice


class Skip(str, enum.Enum):
    """Why a line that is not part of an event was skipped. Values are what reports print."""

    BLANK = "blank"
    SIGNAL = "signal"
    EXIT = "exit"
    NOTICE = "strace notice"
    SUMMARY = "summary table"
    PROGRAM_OUTPUT = "program output"
    ORPHAN_FRAME = "stack frame without a syscall"
    TRUNCATED = "truncated last line"
    HEADER = "header"
    ELISION = "elision"
    DTRACE = "dtrace message"
    #: dtruss -f prints a synthetic "fork() = 0 0" line for the first syscall of each thread
    FIRST_SEEN = "thread first seen"


class State(str, enum.Enum):
    """How complete an event is."""

    COMPLETE = "complete"
    #: "<unfinished ...>" never followed by its "<... resumed>" (task killed, trace cut).
    UNFINISHED = "unfinished"
    #: "<... resumed>" with no start (attached to a blocked task, or log cut at the top).
    RESUMED_ONLY = "resumed-only"
    #: "<detached ...>": strace let go of the task during the call.
    DETACHED = "detached"


# ----------------------------------------------------------------------------------------------
# Decoded arguments of memory and process syscalls
# ----------------------------------------------------------------------------------------------


class Mmap(NamedTuple):
    """mmap / mmap2 (offset in bytes; mmap2's page offset already multiplied).

    ``flags`` are Linux-semantic MapFlags on every platform; for dtruss logs ``raw_flags`` keeps
    the macOS value and ``vm_tag`` the VM_MEMORY_* tag carried in an anonymous map's fd."""

    addr: int
    length: int
    prot: Prot
    flags: MapFlags
    fd: int
    offset: int
    fd_path: str | None = None
    raw_flags: int | None = None
    vm_tag: int | None = None


class Munmap(NamedTuple):
    addr: int
    length: int


class Mprotect(NamedTuple):
    """mprotect and pkey_mprotect (pkey is None for mprotect)."""

    addr: int
    length: int
    prot: Prot
    pkey: int | None = None


class Madvise(NamedTuple):
    """madvise; ``advice`` is the macOS value (DarwinAdvice) in a dtruss log."""

    addr: int
    length: int
    advice: Advice | DarwinAdvice


class ProcessMadvise(NamedTuple):
    pidfd: int
    iovec: tuple[tuple[int, int], ...]
    vlen: int
    advice: Advice
    flags: int


class Brk(NamedTuple):
    addr: int


class Mremap(NamedTuple):
    old_addr: int
    old_length: int
    new_length: int
    flags: MremapFlags
    new_addr: int | None = None


class Mseal(NamedTuple):
    addr: int
    length: int
    flags: int  # reserved (0): mseal defines no flags


class Mlock(NamedTuple):
    """mlock / mlock2 (lock=True; ``onfault`` for MLOCK_ONFAULT) and munlock (lock=False)."""

    addr: int
    length: int
    lock: bool
    onfault: bool = False


class Shmat(NamedTuple):
    shmid: int
    addr: int
    flags: ShmFlags


class Shmdt(NamedTuple):
    addr: int


class PrctlSetVma(NamedTuple):
    """prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, length, name); name None clears it."""

    attr: int
    addr: int
    length: int
    name: str | None


class Execve(NamedTuple):
    """execve / execveat. env_count is known when strace printed "/* N vars */"."""

    path: str
    argv: tuple[str, ...]
    env_count: int | None = None
    env: tuple[str, ...] | None = None
    dirfd: int | None = None
    flags: ExecveatFlags | None = None
    truncated: bool = False


class Clone(NamedTuple):
    """clone, clone3, fork, vfork. fork and vfork are clone with fixed flags."""

    flags: CloneFlags
    exit_signal: int | None = None
    child_stack: int | None = None
    stack_size: int | None = None
    tls: int | None = None


class Exit(NamedTuple):
    """exit / exit_group."""

    status: int


Decoded = Union[
    Mmap, Munmap, Mprotect, Madvise, ProcessMadvise, Brk, Mremap, Mseal, Mlock, Shmat, Shmdt,
    PrctlSetVma, Execve, Clone, Exit,
]


# ----------------------------------------------------------------------------------------------
# The event
# ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class SyscallEvent:
    """One syscall as strace or dtruss recorded it (halves of a split call already joined).

    ``time`` is seconds: since the epoch (-ttt), since midnight of the first day (-t, -tt; a
    day is added at each midnight rollover), or since the first line (-r). ``time_kind`` says
    which. ``ret`` is None for "= ?" and for unfinished calls. ``decoded`` holds the typed
    arguments of memory and process syscalls; other syscalls keep ``args`` as raw text and can
    be parsed on demand with :func:`tracemem.parse.values.parse_args`.
    """

    seq: int
    file: str
    line: int
    pid: int | None
    syscall: str
    args: str
    ret: int | None = None
    errno: str | None = None
    errmsg: str | None = None
    time: float | None = None
    duration: float | None = None
    end_line: int | None = None
    ret_text: str | None = None
    ret_detail: str | None = None
    injected: bool = False
    state: State = State.COMPLETE
    sysno: int | None = None
    ip: str | None = None
    stack: tuple[str, ...] = ()
    decoded: Decoded | None = None
    decode_error: str | None = None
    uncertain: bool = False
    platform: str = "linux"
    tid: int | None = None
    relative_us: int | None = None
    cpu_us: int | None = None

    @property
    def failed(self) -> bool:
        """True when the kernel did not apply the call (an error return or an injected result)."""
        return self.errno is not None or self.injected or (self.ret is not None and self.ret < 0 and self.ret_text == "-1")

    @property
    def succeeded(self) -> bool:
        return self.state is State.COMPLETE and not self.failed and self.ret is not None


@dataclass(slots=True)
class LineIssue:
    """An input line that is an error: where it is and why."""

    file: str
    line: int
    column: int
    text: str
    reason: str


@dataclass
class ParseReport:
    """The account of every input line: part of an event, skipped with a reason, or an error."""

    lines: int = 0
    parsed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[LineIssue] = field(default_factory=list)
    events: int = 0
    incomplete: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    time_kind: str | None = None
    page_sizes: dict[str, int] = field(default_factory=dict)
    #: What the trace could not show and was inferred, in words (e.g. a terminal capture's first
    #: events given to their task); the summary repeats them.
    notes: list[str] = field(default_factory=list)
    #: Child processes a SIGCHLD names (``si_pid``) -> the task it was delivered to: in a trace
    #: whose filter hides fork, the evidence that a task is a process and not a thread.
    children: dict[int, int] = field(default_factory=dict)
    #: How each task ended, as its last ``+++ ... +++`` line says: pid -> (line number, text),
    #: e.g. "exited with 0", "killed by SIGKILL", "killed by SIGSEGV (core dumped)".
    ends: dict[int, tuple[int, str]] = field(default_factory=dict)

    def skip(self, reason: Skip, n: int = 1) -> None:
        self.skipped[reason.value] = self.skipped.get(reason.value, 0) + n

    @property
    def balanced(self) -> bool:
        """lines == parsed + sum(skipped) + errors."""
        return self.lines == self.parsed + sum(self.skipped.values()) + len(self.errors)
