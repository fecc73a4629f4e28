"""Progress of the long commands on stderr: a transient rich display, one line, of the stage at
work: "reading FILE" (bytes read of the size on disk, with a percentage where the size is known),
"building the event table", "replaying" (events applied) and the stages the caller names.

Shown only inside :func:`shown`, and there only on a terminal. The readers and the replayer
report through :func:`current`, which is None when no progress is shown: the hooks cost one
context-variable look-up per block of input (1 MiB or more) or per 8,192 events, and the
display is updated at most ten times a second, never per line. The display writes to its
console only (stderr), never to stdout, and leaves nothing behind: it is erased when done.

rich is imported only when progress is shown."""

from __future__ import annotations

import os
import stat
import sys
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, Sized

if TYPE_CHECKING:
    from rich.console import Console

    from .parse.source import Source
    from .trace import Trace

#: Environment variable that turns the progress display off (any non-empty value).
NO_PROGRESS_ENV = "TRACEMEM_NO_PROGRESS"

#: The least time between two updates of the display (seconds).
PERIOD = 0.1

_SHOWN: ContextVar["Display | None"] = ContextVar("tracemem_progress", default=None)

_now = time.monotonic  # (the throttle's clock; a test sets its own)


def current() -> "Display | None":
    """The display shown in this context, or None (then the hooks do nothing)."""
    return _SHOWN.get()


def wanted(console: "Console", enabled: bool | None = None) -> bool:
    """Whether :func:`shown` shows progress on ``console``: never with ``enabled=False``, nor on
    a console that is not a terminal or is a dumb one (``TERM=dumb``); with ``enabled=True`` on
    any other; by default (None) only when the console's file is a terminal (isatty: FORCE_COLOR
    does not make a pipe one) and ``TRACEMEM_NO_PROGRESS`` is not set."""
    if enabled is False or not console.is_terminal or console.is_dumb_terminal:  # (rich reads TERM)
        return False
    if enabled:
        return True
    if os.environ.get(NO_PROGRESS_ENV):
        return False
    isatty = getattr(console.file, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except (OSError, ValueError):
        return False


@contextmanager
def shown(out: "Console | IO[str] | None" = None, *, enabled: bool | None = None) -> Iterator["Display | None"]:
    """Show progress on ``out`` (a rich Console, a text stream, or by default stderr) while the
    block runs, when :func:`wanted` says so; yields the :class:`Display`, or None when nothing is
    shown. Nested inside another, it shows nothing more (the outer display goes on)."""
    outer = _SHOWN.get()
    if outer is not None:
        yield outer
        return
    from rich.console import Console

    console = out if isinstance(out, Console) else Console(file=out if out is not None else sys.stderr)
    if not wanted(console, enabled):
        yield None
        return
    display = Display(console)
    token = _SHOWN.set(display)
    display.start()
    try:
        yield display
    finally:
        _SHOWN.reset(token)
        display.close()


def stage(name: str) -> None:
    """Name the work that follows (a spinner and the time it has taken) until the next stage;
    nothing when no progress is shown."""
    display = _SHOWN.get()
    if display is not None:
        display.stage(name)


def expect_replay(trace: "Trace") -> None:
    """Give the replays of ``trace`` to come their total (the events :meth:`Trace.replay_events`
    yields), so that "replaying" shows a percentage; nothing when no progress is shown."""
    display = _SHOWN.get()
    if display is not None:
        from .trace import REPLAY_SYSCALLS

        display.replay_total = int(trace.df["syscall"].isin(REPLAY_SYSCALLS).sum())


def _size(path: str) -> int | None:
    """Bytes left to read of an input when it is a regular file (standard input too when it is
    redirected from one); None for a pipe, a terminal, a device."""
    try:
        if path == "-":
            stream = sys.stdin.buffer if sys.stdin is not None else None
            if stream is None:
                return None
            st = os.fstat(stream.fileno())
            return st.st_size - stream.tell() if stat.S_ISREG(st.st_mode) else None
        st = os.stat(path)
        return st.st_size if stat.S_ISREG(st.st_mode) else None
    except (OSError, ValueError, AttributeError):
        return None


def _tell(raw: Any) -> int | None:
    """The position of a raw input stream, None when it has none (a pipe)."""
    try:
        if not raw.seekable():
            return None
        pos: int = raw.tell()
        return pos
    except (OSError, ValueError, AttributeError):
        return None


def _name(text: str) -> str:
    """A file name (or any text) for the one line of the display, as rich markup: control
    characters and line ends as escapes (tracemem.text.printable), brackets escaped."""
    from rich.markup import escape

    from .text import printable

    return escape(printable(text).replace("\n", "\\n"))


def _bytes(n: float, total: float | None = None) -> str:
    """``n`` bytes of ``total`` in the binary unit ``total`` calls for; ``n`` alone as
    tracemem.text.human writes it."""
    if total is None:
        from .text import human

        return human(n)
    scale = total
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if scale >= size:
            break
    else:
        unit, size = "B", 1
    digits = 0 if size == 1 else 1
    return f"{n / size:,.{digits}f}/{total / size:,.{digits}f} {unit}"


def _events(n: float, total: float | None = None) -> str:
    return f"{n:,.0f}/{total:,.0f} events" if total is not None else f"{n:,.0f} events"


def _nothing(n: float, total: float | None = None) -> str:
    return ""


class _Ticker(threading.Thread):
    """Redraws the display while a stage without reports runs (its spinner and time go on). It
    runs only in such stages: never while reading, when the parser may fork its workers."""

    def __init__(self, redraw: Callable[[], None]) -> None:
        super().__init__(name="tracemem-progress", daemon=True)
        self.redraw = redraw
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(PERIOD):
            self.redraw()

    def stop(self) -> None:
        self.done.set()
        self.join()


class Display:
    """One line of rich progress on a console: the current stage, its bar, percentage (when its
    total is known), amount and elapsed time. Drawn when a stage starts and ends and at most
    every :data:`PERIOD` seconds between (no refresh thread of rich's: see :class:`_Ticker`)."""

    def __init__(self, console: "Console") -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
        from rich.text import Text

        class Bar(BarColumn):
            """A bar where the total is known (else the spinner says that work goes on)."""

            def render(self, task: Any) -> Any:
                return super().render(task) if task.total is not None else Text("")

        self.console = console
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), Bar(), TaskProgressColumn(),
                            TextColumn("{task.fields[amount]}"), TimeElapsedColumn(),
                            console=console, transient=True, auto_refresh=False,
                            redirect_stdout=False, redirect_stderr=False)
        self.task: Any = None
        self.total: int | None = None
        self.amount: Callable[[float, float | None], str] = _nothing
        self.next = 0.0  # when the next update may be drawn (_now)
        self.ticker: _Ticker | None = None
        self.active = False
        #: the total of the replays to come (see expect_replay)
        self.replay_total: int | None = None
        self.applied = 0  # events of the replay at work applied so far
        # reading: every input's size (None: not known), the inputs begun, bytes of those done
        self.sizes: list[int | None] = []
        self.files = 0
        self.done_bytes = 0
        self.last_pos = 0
        self.read_total: int | None = None

    # -- the display ------------------------------------------------------------------------------

    def start(self) -> None:
        self.bar.start()
        self.active = True

    def close(self) -> None:
        self._stop_ticker()
        self.active = False
        self.bar.stop()

    def _stop_ticker(self) -> None:
        if self.ticker is not None:
            self.ticker.stop()
            self.ticker = None

    def _begin(self, description: str, total: int | None, amount: Callable[[float, float | None], str],
               idle: bool = False) -> None:
        """A new stage in place of the last one, drawn now; ``idle``: one without reports."""
        if not self.active:
            return
        self._stop_ticker()
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.total = total if total else None
        self.amount = amount
        # (the description is rich markup: a name like "[/x]" is escaped by the caller)
        self.task = self.bar.add_task(description, total=self.total, amount=amount(0, self.total))  # (drawn)
        self.next = _now() + PERIOD
        if idle:
            self.ticker = _Ticker(self.bar.refresh)
            self.ticker.start()

    def _advance(self, completed: float, force: bool = False) -> None:
        """The stage's count so far: drawn if the last draw is :data:`PERIOD` old (or ``force``)."""
        if not self.active or self.task is None:
            return
        now = _now()
        if not force and now < self.next:
            return
        self.next = now + PERIOD
        self.bar.update(self.task, completed=completed, amount=self.amount(completed, self.total))
        self.bar.refresh()

    def stage(self, name: str) -> None:
        """A stage without reports: its name, a spinner and its time."""
        self._begin(_name(name), None, _nothing, idle=True)

    # -- reading (tracemem.parse) -----------------------------------------------------------------

    def reading(self, sources: Sequence["Source"]) -> None:
        """The inputs about to be read: the total is the sum of their sizes, when all are known."""
        self.sizes = [_size(s.path) for s in sources]
        self.files = 0
        self.done_bytes = 0
        self.last_pos = 0
        known = [s for s in self.sizes if s is not None]
        self.read_total = sum(known) if len(known) == len(self.sizes) else None

    def file(self, source: "Source", raw: Any) -> Callable[[int], None]:
        """One input opened (``raw``: the stream its bytes are read from); returns what the reader
        calls with the length of each (decompressed) block it reads: the bytes read are the raw
        stream's position (compressed bytes, for a compressed file) or, on a pipe, the sum."""
        index = self.files
        if index:  # the inputs before: their size, or what was read of them
            before = self.sizes[index - 1] if index - 1 < len(self.sizes) else None
            self.done_bytes += before if before is not None else self.last_pos
        self.files += 1
        self.last_pos = 0
        count = len(self.sizes)
        label = f"reading {_name(source.label)}" + (f" ({index + 1}/{count})" if count > 1 else "")
        if index == 0 or self.task is None:
            total = self.read_total if count else _size(source.path)
            self._begin(label, total, _bytes)
        elif self.task is not None:
            self.bar.update(self.task, description=label)
        start = _tell(raw)
        base = self.done_bytes
        piped = [0]

        def read(n: int) -> None:
            if start is not None:
                try:
                    pos = raw.tell() - start
                except (OSError, ValueError):
                    pos = self.last_pos
            else:
                piped[0] += n
                pos = piped[0]
            self.last_pos = pos
            self._advance(base + pos)

        return read

    def read_done(self) -> None:
        """Every input read: the bar full, then the table is built."""
        last = self.sizes[-1] if self.sizes and len(self.sizes) == self.files else None
        self._advance(self.done_bytes + (last if last is not None else self.last_pos), force=True)
        self._begin("building the event table", None, _nothing, idle=True)

    # -- replaying (tracemem.space.replay) --------------------------------------------------------

    def replaying(self, events: Iterable[Any]) -> Callable[[int], None]:
        """A replay begins; returns what it calls with the number of events applied since."""
        total = len(events) if isinstance(events, Sized) else self.replay_total
        self._begin("replaying", total, _events)
        self.applied = 0

        def applied(n: int) -> None:
            self.applied += n
            self._advance(self.applied)

        return applied

    def replayed(self) -> None:
        """The replay done: then its results are built."""
        self._advance(self.applied, force=True)
        self._begin("building the results", None, _nothing, idle=True)
