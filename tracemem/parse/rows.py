"""What the strace reader hands on: event rows, the markers a block-local worker leaves for the
stitcher, and the lines a block fast path took in bulk (left as columns, no rows made).

A :class:`Row` is one event as the reader builds it: texts as the line had them (conversions run
per column in :mod:`.columns`). The markers (:class:`Flush`, :class:`Orphan`) sit among the rows
of a block parsed with no knowledge of earlier blocks, where an earlier block could matter; the
main process replays them in order (:meth:`LineStateMachine.replay
<tracemem.parse.statemachine.LineStateMachine.replay>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, Union

from ..events import State

COMPLETE = State.COMPLETE.value
UNFINISHED = State.UNFINISHED.value
RESUMED_ONLY = State.RESUMED_ONLY.value
DETACHED = State.DETACHED.value

#: a stamp as the line had it; -r deltas arrive already summed (seconds since the first line)
Stamp = Union[str, float, None]


@dataclass(slots=True, init=False)
class Row:
    """One event: where it is, whose it is, and its texts (ret ... dur are "" when the line had
    none, None for a call that never returned). Made per line on the hot path, hence the plain
    ``__init__`` with the usual fields first."""

    line: int
    end: int
    pid: str | None
    stamp: Stamp
    name: str
    args: str
    state: str
    ret: str | None
    deco: str | None
    errno: str | None
    parens: str | None
    dur: str | None
    sysno: int | None
    ip: str | None
    #: ``-k`` frames, appended as their lines come
    stack: tuple[str, ...] | None

    def __init__(self, line: int, end: int, pid: str | None, stamp: Stamp, name: str, args: str,
                 state: str, ret: str | None = None, deco: str | None = None, errno: str | None = None,
                 parens: str | None = None, dur: str | None = None, sysno: int | None = None,
                 ip: str | None = None) -> None:
        self.line = line
        self.end = end
        self.pid = pid
        self.stamp = stamp
        self.name = name
        self.args = args
        self.state = state
        self.ret = ret
        self.deco = deco
        self.errno = errno
        self.parens = parens
        self.dur = dur
        self.sysno = sysno
        self.ip = ip
        self.stack = None

    def __reduce__(self) -> tuple[Any, ...]:
        # A worker's pending rows go to the main process: pickled as a plain tuple (the
        # dataclass default goes through fields() for every row).
        return (_row, (self.line, self.end, self.pid, self.stamp, self.name, self.args, self.state,
                       self.ret, self.deco, self.errno, self.parens, self.dur, self.sysno, self.ip,
                       self.stack))


def _row(line: int, end: int, pid: str | None, stamp: Stamp, name: str, args: str, state: str,
         ret: str | None, deco: str | None, errno: str | None, parens: str | None, dur: str | None,
         sysno: int | None, ip: str | None, stack: tuple[str, ...] | None) -> Row:
    row = Row(line, end, pid, stamp, name, args, state, ret, deco, errno, parens, dur, sysno, ip)
    row.stack = stack
    return row


@dataclass(slots=True)
class Flush:
    """A new call of task ``pid`` starts here: a call of it still pending from an earlier block
    ends here, unfinished."""

    pid: str | None

    def __reduce__(self) -> tuple[Any, ...]:
        return (Flush, (self.pid,))


@dataclass(slots=True)
class Orphan:
    """A resumed half with no start in its block: the stitcher joins it to the call of ``pid``
    pending from an earlier block, or makes it a resumed-only event. ``-k`` frames that follow
    collect in ``stack`` and go to whatever event it becomes."""

    pid: str | None
    name: str
    args: str
    line: int
    stamp: Stamp
    ret: str
    deco: str
    errno: str
    parens: str
    dur: str
    stack: tuple[str, ...] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (Orphan, (self.pid, self.name, self.args, self.line, self.stamp, self.ret, self.deco,
                         self.errno, self.parens, self.dur, self.stack))


Marker = Union[Flush, Orphan]
#: what ``feed_block`` returns: rows, and markers in block-local mode
Item = Union[Row, Flush, Orphan]
#: where ``-k`` frame lines attach
FrameTarget = Union[Row, Orphan]


@dataclass(slots=True)
class RegexBulk:
    """The complete calls of a block taken straight from the block regex's groups (indexed by
    line in the block; ``taken`` are the indexes of those lines, in order)."""

    start: int  #: line number of the line before the block
    taken: Sequence[int]
    pids: tuple[str, ...]
    stamps: tuple[str, ...]
    names: tuple[str, ...]
    args: tuple[str, ...]
    rets: tuple[str, ...]
    durs: tuple[str, ...]
    #: (line index, number of items it added to the rows) for the lines that made rows
    emitted: list[tuple[int, int]]


@dataclass(slots=True)
class ScannedBulk:
    """The events the compiled scanner took from a block: its column lists (see _scan.c)."""

    start: int  #: line number of the line before the block
    cols: tuple[list[Any], ...]
    #: (line index, number of items it added to the rows) for the lines that made rows
    emitted: list[tuple[int, int]]


Bulk = Union[RegexBulk, ScannedBulk]
