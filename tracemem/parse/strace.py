"""Which strace parser runs: the compiled block scanner (``_scan.c``) when it is built, and the
switch that turns it off.

The strace parser itself, by job:

* :mod:`.reader` -- :class:`~.reader.StraceFileReader`: a file a block of lines at a time, the
  fast paths that take whole blocks (the block regex, this scanner);
* :mod:`.statemachine` -- the state that spans lines (pending unfinished calls, live tasks,
  frames, cut lines) and what each line does to it;
* :mod:`.patterns` -- the block regular expressions, built from the grammar's terminals;
* :mod:`.rows` -- the rows, the stitching markers and the bulk-taken lines the reader hands on;
* :mod:`.columns` -- rows and bulk-taken lines into output columns (:func:`~.columns.assemble`);
* :mod:`.clock` -- stamp texts into seconds, midnight rollover;
* :mod:`.lines` -- one line into a record (Lark, and the fast regular expressions);
* :mod:`.values`, :mod:`.fastargs` -- argument text into generic values (Lark; without it);
* :mod:`.decode` (:mod:`.decoders`, :mod:`.fastdecode`) -- typed arguments of memory and process
  syscalls.

``USE_SCANNER`` is read when a reader is made: tests set it here to compare both paths.
"""

from __future__ import annotations

import os
from typing import Any, AbstractSet, Callable

#: what the scanner returns for a block: (kinds, has_pid, missing_pid, pids, columns); see _scan.c
ScanResult = tuple[bytes, bool, bool, list[str], tuple[list[Any], ...]]

_SCAN: Callable[[str, AbstractSet[str] | None, int], ScanResult | None] | None
try:  # the compiled line splitter (tracemem/parse/_scan.c); optional, the pure-Python path is complete
    from . import _scan

    # a build left from an older _scan.c (an editable install not rebuilt) is not used
    _SCAN = _scan.scan if getattr(_scan, "ABI", None) == 4 else None
except ImportError:  # pragma: no cover - no compiler when the package was built
    _SCAN = None

#: use the compiled scanner when it is built (tests switch it off to compare both paths);
#: the environment variable TRACEMEM_PURE_PYTHON=1 switches it off too
USE_SCANNER = _SCAN is not None and not os.environ.get("TRACEMEM_PURE_PYTHON")

# The scanner's columns (_scan.c) and the output columns each one serves.
_SCAN_COLUMNS = {"line": 0, "end_line": 1, "pid": 2, "time": 3, "syscall": 4, "args": 5, "ret": 6,
                 "ret_text": 6, "errno": 7, "errmsg": 8, "ret_detail": 9, "duration": 10}
_ALL_SCAN = (1 << 11) - 1
#: the return value and errno columns only for the rows whose arguments are built (see _scan.c)
SPARSE = 1 << 11
#: mask bit: the rows whose name is not among the scanner's ``names`` are dropped by the caller
#: (read_trace(only=...)): only their line numbers, name and timestamp are built, None elsewhere
FILTER_BIT = 12


def scan_mask(columns: tuple[str, ...] | None) -> int:
    """The scanner columns a column selection needs."""
    if columns is None:
        return _ALL_SCAN
    # arguments always (decoding uses them); the return value and errno of the rows whose
    # arguments are built (SPARSE), which tell whether the model applies a decoded call
    # (columns.py checks the range of those it would)
    mask = 1 << 5 | SPARSE
    for name in columns:
        if name in _SCAN_COLUMNS:
            mask |= 1 << _SCAN_COLUMNS[name]
        elif name not in ("decoded", "decode_error", "sysno", "ip", "stack", "state", "injected"):
            return _ALL_SCAN
    return mask
