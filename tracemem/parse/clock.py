"""Stamp texts into seconds: -ttt epoch stamps, -t/-tt seconds since midnight (a day added at
each midnight rollover), -r stamps already summed by the reader."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import numpy as np

from .rows import Stamp

DAY = 86400.0


class _NotClock(Exception):
    """A stamp that is not a time of day met the time-of-day fast path."""


class _MinuteBases(dict[str, int]):
    """Seconds since midnight of each "HH:MM:" prefix, computed on first sight."""

    def __missing__(self, key: str) -> int:
        if key[2:3] != ":" or key[5:6] != ":":
            raise _NotClock(key)
        base = self[key] = int(key[:2]) * 3600 + int(key[3:5]) * 60
        return base


def _clock_array(stamps: list[str]) -> list[float | None] | None:
    """The seconds since midnight of "HH:MM:SS.ffffff" stamps (strace -tt), all of that width, in
    bulk with numpy; None when they are not all of that form. The same floats as
    ``HH * 3600 + MM * 60 + float("SS.ffffff")``: SS.ffffff is taken as the exact integer of its
    microseconds divided by 10**6 (one correctly rounded division, as float() rounds the text)."""
    import numpy as np

    if set(map(len, stamps)) != {15}:
        return None
    try:
        raw = "".join(stamps).encode("ascii")
    except UnicodeEncodeError:
        return None
    a = np.frombuffer(raw, dtype=np.uint8).reshape(len(stamps), 15)
    if not ((a[:, 2] == 58).all() and (a[:, 5] == 58).all() and (a[:, 8] == 46).all()):
        return None
    d = a[:, _DIGITS].astype(np.int64) - 48
    if ((d < 0) | (d > 9)).any():
        return None
    hours = d[:, 0] * 10 + d[:, 1]
    minutes = d[:, 2] * 10 + d[:, 3]
    micros = d[:, 4:] @ (10 ** np.arange(7, -1, -1, dtype=np.int64))
    base = (hours * 3600 + minutes * 60).astype(float)
    out: list[float | None] = (base + micros / 1e6).tolist()
    return out


#: the digit columns of "HH:MM:SS.ffffff"
_DIGITS = [0, 1, 3, 4, 6, 7, 9, 10, 11, 12, 13, 14]


class Clock:
    """Turns stamp texts into seconds (-ttt epoch, -t/-tt seconds since midnight; -r stamps arrive
    already summed as floats). Midnight rollover is a separate pass over rows in event order."""

    def __init__(self) -> None:
        self.last: float | None = None
        self.day = 0.0
        self.kinds: set[str] = set()
        self._hm = _MinuteBases()

    def times(self, stamps: Iterable[Stamp]) -> list[float | None]:
        if type(stamps) is list and stamps and set(map(type, stamps)) == {str} and "" not in stamps:
            # The usual batch: every row has a stamp of one form. One comprehension converts it
            # (a third of the time of the loop below, which also handles missing and -r stamps).
            try:
                if stamps[0][2:3] == ":":
                    if len(stamps) >= 256:
                        fast = _clock_array(stamps)
                        if fast is not None:
                            self.kinds.add("clock")
                            return fast
                    hm = self._hm
                    clock: list[float | None] = [hm[s[:6]] + float(s[6:]) for s in stamps]
                    self.kinds.add("clock")
                    return clock
                epoch: list[float | None] = [float(s) for s in stamps]
                self.kinds.add("epoch")
                return epoch
            except (_NotClock, ValueError):  # two forms in one batch
                pass
        return self._times(stamps)

    def _times(self, stamps: Iterable[Stamp]) -> list[float | None]:
        out: list[float | None] = []
        hm = self._hm
        kinds = self.kinds
        for stamp in stamps:
            if type(stamp) is str:
                if not stamp:
                    out.append(None)
                elif stamp[2:3] == ":":
                    base = hm.get(stamp[:6])
                    if base is None:
                        base = hm[stamp[:6]] = int(stamp[:2]) * 3600 + int(stamp[3:5]) * 60
                    if "clock" not in kinds:
                        kinds.add("clock")
                    out.append(base + float(stamp[6:]))
                else:
                    if "epoch" not in kinds:
                        kinds.add("epoch")
                    out.append(float(stamp))
            elif type(stamp) is float:
                # -r: the reader already summed the deltas (seconds since the first line).
                if "relative" not in kinds:
                    kinds.add("relative")
                out.append(stamp)
            else:
                out.append(None)
        return out

    def note(self, stamps: Iterable[Stamp]) -> None:
        """Record the kind of timestamps (for reports) without converting them."""
        for stamp in stamps:
            if type(stamp) is str:
                if stamp:
                    self.kinds.add("clock" if stamp[2:3] == ":" else "epoch")
                    return
            elif type(stamp) is float and stamp:
                self.kinds.add("relative")
                return

    def rollover(self, times: list[float | None]) -> list[float | None]:
        """-t/-tt stamps carry no date: add a day whenever the clock falls back by over 12 h."""
        if "clock" not in self.kinds:
            return times
        last = self.last
        day = self.day
        if times and day == 0.0:
            # The usual case, no midnight in this batch: checked in bulk, the list kept as it is.
            import numpy as np

            values = np.fromiter((v if v is not None else np.nan for v in times), float, len(times))
            values = values[~np.isnan(values)]
            if last is not None:
                values = np.concatenate(([last], values))
            if len(values) and not (np.diff(values) < -DAY / 2).any():
                self.last = float(values[-1])
                return times
        out: list[float | None] = []
        for value in times:  # (rollover_array is this loop on an array)
            if value is None:
                out.append(None)
                continue
            if last is not None and value + day < last - DAY / 2:
                day += DAY
            value += day
            last = value
            out.append(value)
        self.last, self.day = last, day
        return out

    def rollover_array(self, times: "np.ndarray") -> "np.ndarray":
        """:meth:`rollover` of an array of times (NaN: none), in event order."""
        import numpy as np

        if "clock" not in self.kinds or not len(times):
            return times
        present = ~np.isnan(times)
        values = times[present]
        if not len(values):
            return times
        prior = [self.last] if self.last is not None else []
        if self.day == 0.0 and not (np.diff(np.concatenate((prior, values))) < -DAY / 2).any():
            self.last = float(values[-1])
            return times
        rolled = np.array(self.rollover([float(v) for v in values]), dtype=float)
        out = times.copy()
        out[present] = rolled
        return out
