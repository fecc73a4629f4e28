"""The grammar is the authority: the fast paths must give exactly what plain Lark gives.

* every line of every corpus file: block regex + state machine vs Lark line by line, with and
  without the compiled scanner;
* parallel workers with tiny blocks (so that calls, frames and notices straddle block
  boundaries) vs one sequential pass;
* the fast argument parser and the fast typed decoders vs the Lark ``args`` rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tracemem.events import ParseReport
from tracemem.parse import strace
from tracemem.parse.lines import LineSyntaxError, fast_line, lark_line
from tracemem.parse.decode import decode
from tracemem.parse.fastargs import SPLITTABLE, fast_arg, fast_parse_args
from tracemem.parse.values import parse_arg, parse_args
from tracemem.parse.files import iter_batches

from conftest import ids, own_logs, peer_logs

ALL = peer_logs() + own_logs()


SCANNER = [pytest.param(True, id="scanner"), pytest.param(False, id="python")] if strace._SCAN else [
    pytest.param(False, id="python")]


def table(path: Path, scanner: bool | None = None, **kw: object) -> tuple[dict, tuple]:
    if scanner is not None:
        saved = strace.USE_SCANNER
        strace.USE_SCANNER = scanner
        try:
            return table(path, **kw)
        finally:
            strace.USE_SCANNER = saved
    report = ParseReport()
    merged: dict[str, list] = {}
    for batch in iter_batches(path, report=report, **kw):
        for key, values in batch.items():
            merged.setdefault(key, []).extend(values)
    merged.pop("decoded", None)
    account = (report.lines, report.parsed, report.skipped, len(report.errors), report.events,
               report.incomplete)
    return merged, account


@pytest.mark.parametrize("scanner", SCANNER)
@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_fast_path_equals_plain_lark(path: Path, scanner: bool) -> None:
    fast = table(path, scanner, fast=True, workers=1)
    slow = table(path, fast=False, workers=1)
    assert fast == slow


@pytest.mark.parametrize("scanner", SCANNER)
@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_parallel_blocks_equal_one_pass(path: Path, scanner: bool) -> None:
    one = table(path, False, workers=1)
    assert table(path, scanner, workers=2, block_size=2500) == one
    assert table(path, scanner, workers=1, block_size=1500) == one


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_fast_line_and_arguments_equal_lark(path: Path) -> None:
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        for text in fh.read().split("\n"):
            try:
                expected = lark_line(text)
            except LineSyntaxError:
                assert fast_line(text) is None
                continue
            got = fast_line(text)
            if got is not None:
                assert got == expected, text
            if expected.args:
                try:
                    values = parse_args(expected.args)
                except ValueError:
                    continue
                assert fast_parse_args(expected.args) == values, expected.args
                if expected.name in SPLITTABLE:
                    # each argument alone (the Lark-free reading of flag chains), as decoders split them
                    for part in expected.args.split(","):
                        try:
                            one = parse_arg(part)
                        except ValueError:
                            continue
                        assert fast_arg(part) == one, part
            if expected.name and expected.kind == "call":
                assert decode(expected.name, expected.args, True) == decode(expected.name, expected.args, False)
