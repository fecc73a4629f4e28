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


def _model_read(path: Path, workers: int) -> object:
    import tracemem
    from tracemem.trace import MODEL_SYSCALLS

    return tracemem.read_trace(path, only=MODEL_SYSCALLS, workers=workers)


#: and the kernel-checked captures (filtered, -k, -r, -z, terminal, attach ...): every capture form
CAPTURED = sorted(p for folder in ("captures", "groundtruth", "phases")
                  for p in (Path(__file__).parent / "data" / folder).glob("*.trace"))


@pytest.mark.parametrize("path", ALL + CAPTURED, ids=ids(ALL + CAPTURED))
def test_rows_dropped_where_the_block_is_parsed_equal_the_whole_table(path: Path, monkeypatch) -> None:
    """read_trace(only=...) drops the other syscalls' rows where each block is parsed, in a pool's
    workers too (only the kept rows are sent back, numbered among all rows, with every row's pid
    and time for the tasks' first and last events). With tiny blocks (calls, frames and
    notices straddle them; the markers' rows are spliced in among the kept ones), in two workers
    and in one process, it is the whole table's kept rows, counts and spans."""
    import tracemem
    from tracemem.errors import TracememError
    from tracemem.parse import files
    from tracemem.trace import MODEL_SYSCALLS

    try:
        full = tracemem.read_trace(path, workers=1)
    except TracememError:
        pytest.skip("not a trace tracemem reads")
    kept = full.df[full.df["syscall"].isin(MODEL_SYSCALLS)].reset_index(drop=True).astype(object)
    monkeypatch.setattr(files, "CHUNK", 2500)
    monkeypatch.setattr(files, "LOCAL_CHUNK", 1500)
    for workers in (2, 1):
        model = _model_read(path, workers)
        assert model.df.astype(object).equals(kept), workers
        assert (model.report.lines, model.report.events, model.report.incomplete, len(model.report.errors)) == (
            full.report.lines, full.report.events, full.report.incomplete, len(full.report.errors))
        assert model.event_spans() == full.event_spans()
        assert dict(model.decoded.kept) == {s: d for s, d in full.decoded.kept.items() if s in set(kept["seq"])}


def test_dropped_rows_across_midnight_in_workers(tmp_path: Path, monkeypatch) -> None:
    """A -tt trace whose midnight falls among rows that are dropped (reads), in blocks parsed by
    workers: the kept rows' times and each task's first and last event are rolled over as the
    whole table's are, including a task seen only in dropped rows after midnight."""
    import tracemem
    from tracemem.parse import files

    lines = []
    t = 23 * 3600 + 59 * 60 + 58.0
    for i in range(900):
        stamp = t + i * 0.005
        hh, rest = divmod(stamp % 86400, 3600)
        mm, ss = divmod(rest, 60)
        clock = f"{int(hh):02d}:{int(mm):02d}:{ss:09.6f}"
        pid = 100 if i < 600 else 101
        if i % 97 == 0 and pid == 100:
            lines.append(f"{pid} {clock} mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
                         f" = 0x7f00000{i:05x}000")
        elif i % 13 == 0:
            lines.append(f"{pid} {clock} read(3,  <unfinished ...>")
            lines.append(f"{pid} {clock} <... read resumed>\"x\", 1) = 1")
        else:
            lines.append(f'{pid} {clock} read(3, "x", 1) = 1')
    log = tmp_path / "midnight.trace"
    log.write_text("\n".join(lines) + "\n")
    full = tracemem.read_trace(log, workers=1)
    assert full.df["time"].max() > 86400     # the trace crosses midnight
    monkeypatch.setattr(files, "CHUNK", 3000)
    for workers in (2, 1):
        model = _model_read(log, workers)
        kept = full.df[full.df["syscall"] == "mmap"].reset_index(drop=True)
        assert model.df.astype(object).equals(kept.astype(object))
        assert model.event_spans() == full.event_spans()
        first_101 = full.df.loc[full.df["pid"] == 101, ["time", "seq"]].iloc[[0, -1]].values.tolist()
        assert model.task_spans[101] == tuple((t, int(s)) for t, s in first_101)   # only read()s
        assert first_101[0][0] > 86400


def test_a_block_never_starts_with_a_frame_line_whatever_its_size() -> None:
    """-k frames stay with their call: a block read up to the first space of a frame line (" "
    of " > ...") was cut there, and the next block started with frames, which then lost their
    call (a stack of 16 frames kept 4, in the -k capture with 6,000-byte blocks)."""
    from tracemem.parse.source import expand, iter_byte_blocks

    path = Path(__file__).parent / "data" / "captures" / "go-f-k.trace"
    source = expand([str(path)])[0]
    whole = path.read_bytes()
    for size in range(2000, 9000, 7):
        blocks = list(iter_byte_blocks(source, size))
        assert b"".join(b for b, _ in blocks) == whole
        assert not any(b.startswith(b" >") for b, _ in blocks), size
