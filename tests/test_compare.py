"""Comparing two runs (tracemem.compare, tracemem diff): alignment without addresses or pids,
the known differences of real pairs (tests/data/diff, made by tests/data/make_diff_pairs.sh) in
the right phase and role, the --fail-on gate in both directions and at its boundary, the JSON
output's keys and the overlay chart's series."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tracemem
from tracemem.cli import main
from tracemem.compare import GATE_FORM, compare, load_run, parse_gate, run_series
from tracemem.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT / "tests" / "data" / "diff"
SAMPLES = ROOT / "samples"
MiB = 1 << 20


@pytest.fixture(scope="module")
def same() -> tracemem.Comparison:
    return compare(PAIRS / "go-same-1.trace", PAIRS / "go-same-2.trace")


def _total(cmp: tracemem.Comparison, metric: str) -> dict:
    return cmp.totals.set_index("metric").loc[metric].to_dict()


def _role(cmp: tracemem.Comparison, role: str) -> dict:
    rows = cmp.roles[cmp.roles["role"] == role]
    assert len(rows) == 1, (role, list(cmp.roles["role"]))
    return rows.iloc[0].to_dict()


def _phase(cmp: tracemem.Comparison, phase: str) -> dict:
    rows = cmp.phases[cmp.phases["phase"] == phase]
    assert len(rows) == 1, (phase, list(cmp.phases["phase"]))
    return rows.iloc[0].to_dict()


def test_the_same_server_twice_diffs_as_near_zero(same: tracemem.Comparison) -> None:
    """ASLR and other pids: nothing is matched by address or pid, so the runs pair up."""
    assert (same.processes["status"] == "both").all()
    pids = same.processes.iloc[0]
    assert pids["pid_before"] != pids["pid_after"]
    for metric in ("vsz", "reserved", "committed"):
        row = _total(same, metric)
        assert row["before"] > 0
        assert abs(row["change"]) <= 0.03 * row["before"], (metric, row)
    assert (same.phases["status"] == "both").all()
    assert not len(same.regions[same.regions["size"] >= MiB])
    assert not any("not comparable" in n for n in same.notes)


def test_a_filtered_capture_makes_phases_not_comparable_not_gone() -> None:
    cmp = compare(PAIRS / "go-same-1.trace", PAIRS / "go-same-memory.trace")
    for metric in ("vsz", "committed"):
        row = _total(cmp, metric)
        assert abs(row["change"]) <= 0.03 * row["before"], (metric, row)
    main_phase = _phase(cmp, "main")
    assert main_phase["status"] == "not comparable"
    assert "socket" in main_phase["why"] or "openat" in main_phase["why"]
    assert "gone" not in set(cmp.phases["status"])
    assert any("after trace has no" in n for n in cmp.notes)


def test_a_larger_allocation_in_main_is_go_heap_committed_in_main() -> None:
    cmp = compare(PAIRS / "go-same-1.trace", PAIRS / "go-big.trace")
    grown = _total(cmp, "committed")["change"]
    assert grown >= 48 * MiB
    heap = _role(cmp, "Go heap")
    assert heap["committed_change"] >= 48 * MiB
    assert _phase(cmp, "main")["committed_change"] >= 48 * MiB
    # nothing large elsewhere: other phases and roles move by little
    for row in cmp.phases.to_dict("records"):
        if row["phase"] != "main":
            assert abs(row["committed_change"]) < 8 * MiB, row
    for row in cmp.roles.to_dict("records"):
        if row["role"] not in ("Go heap", "Go heap arena", "Go runtime reservation", "Go runtime"):
            assert abs(row["committed_change"]) < 8 * MiB, row


def test_an_extra_thread_is_one_more_stack_and_glibc_arena() -> None:
    cmp = compare(PAIRS / "c-base.trace", PAIRS / "c-thread.trace")
    stack = _role(cmp, "thread stack")
    assert stack["regions_change"] == 1 and stack["vsz_change"] >= 8 * MiB - 64 * 1024
    arena = _role(cmp, "glibc arena reservation")
    assert arena["vsz_change"] > 32 * MiB
    assert arena["committed_change"] == 0
    assert set(cmp.regions["status"]) == {"new"}
    assert {"thread stack", "glibc arena reservation"} <= set(cmp.regions["role"])
    # the thread's clone3 is the program's difference, not the capture's: no capture note
    assert not any("filter" in n for n in cmp.notes)
    # the mapping the two runs share (16 MiB, the same role, the same order) pairs up
    assert not len(cmp.regions[(cmp.regions["role"] == "anonymous") & (cmp.regions["size"] >= MiB)])


def test_a_larger_mmap_is_a_committed_anonymous_change() -> None:
    cmp = compare(PAIRS / "c-base.trace", PAIRS / "c-bigmap.trace")
    assert _total(cmp, "committed")["change"] == 32 * MiB
    assert _total(cmp, "vsz")["change"] == 32 * MiB
    row = _role(cmp, "anonymous")
    assert row["committed_change"] == 32 * MiB
    # 16 MiB and 48 MiB are in different size classes: one gone, one new, each with its line
    big = cmp.regions[cmp.regions["size"] >= MiB]
    assert sorted(zip(big["status"], big["size"])) == [("gone", 16 * MiB), ("new", 48 * MiB)]
    assert all(t.startswith("mmap(") for t in big["text"]) and big["line"].notna().all()


def test_go_against_c_is_large_and_the_gate_fails_growing_only(tmp_path: Path, capsys) -> None:
    go, c = str(PAIRS / "go-same-1.trace"), str(PAIRS / "c-base.trace")
    cmp = compare(c, go)
    assert _total(cmp, "vsz")["change"] > 256 * MiB
    assert set(cmp.processes["status"]) == {"new", "gone"}   # different programs: never forced
    assert main(["diff", c, go, "--fail-on", "vsz>+256MiB", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "threshold crossed: vsz>+256MiB: vsz changed +" in err
    assert main(["diff", go, c, "--fail-on", "vsz>+256MiB", "--no-progress"]) == 0
    assert "1 threshold(s) hold" in capsys.readouterr().err
    # the shrinking direction is caught by "<"
    assert main(["diff", go, c, "--fail-on", "vsz<-256MiB", "--no-progress"]) == 1


def test_gate_thresholds_at_the_boundary_and_both_ways(same: tracemem.Comparison) -> None:
    row = _total(cmp := compare(PAIRS / "c-base.trace", PAIRS / "c-bigmap.trace"), "committed")
    change, pct = row["change"], row["change_pct"]
    assert change == 32 * MiB
    assert parse_gate("committed>+32MiB").check(cmp) is None              # at the boundary: holds
    assert parse_gate("committed>+31MiB").check(cmp) is not None
    assert parse_gate(f"committed>+{change - 1}").check(cmp) is not None   # bytes without a unit
    assert parse_gate(f"committed>+{pct:.3f}%").check(cmp) is None
    assert parse_gate(f"committed>+{pct - 0.01:.3f}%").check(cmp) is not None
    assert parse_gate("committed<-1%").check(cmp) is None                   # it grew: "<" holds
    back = compare(PAIRS / "c-bigmap.trace", PAIRS / "c-base.trace")
    assert parse_gate("committed<-32MiB").check(back) is None
    assert parse_gate("committed<-31MiB").check(back) is not None
    assert parse_gate("committed>+1%").check(back) is None
    # levels (no sign): the after run's value
    after = row["after"]
    assert parse_gate(f"committed>{after}").check(cmp) is None
    assert parse_gate(f"committed>{after - 1}").check(cmp) is not None
    # counts, roles and phases
    assert parse_gate("map_count>+0").check(same) is None or _total(same, "map_count")["change"] > 0
    assert parse_gate("role:anonymous:committed>+32MiB").check(cmp) is None
    assert parse_gate("role:anonymous:committed>+31MiB").check(cmp) is not None
    gate = parse_gate("main:committed>+1MiB")
    assert gate.kind == "phase" and gate.scope == "main"
    with pytest.raises(UsageError, match="no phase 'nosuch'"):
        parse_gate("nosuch:committed>+1%").check(cmp)


def test_a_role_name_with_spaces_and_colons_parses() -> None:
    g = parse_gate("role:glibc malloc arena:committed>+32MiB")
    assert (g.kind, g.scope, g.metric, g.op, g.value, g.relative, g.change) == (
        "role", "glibc malloc arena", "committed", ">", 32 * MiB, False, True)
    g = parse_gate("runtime-init:reserved>+5%")
    assert (g.kind, g.scope, g.metric, g.value, g.relative) == ("phase", "runtime-init", "reserved", 5.0, True)
    assert parse_gate("map_count>+50").value == 50
    assert parse_gate("vsz<-1.5GiB").value == -1.5 * (1 << 30)


@pytest.mark.parametrize("bad", ["committed", "committed>>1%", "committed>+10%%", "vsz>+ten", "color>+1%",
                                 "map_count>+5MiB", "committed>10%", "runtime-init:map_count>+1", "",
                                 "role::vsz>+1", "vsz=+1"])
def test_bad_expressions_are_usage_errors_showing_the_form(bad: str, capsys) -> None:
    with pytest.raises(UsageError):
        parse_gate(bad)
    pair = [str(PAIRS / "c-base.trace"), str(PAIRS / "c-thread.trace")]
    assert main(["diff", *pair, "--fail-on", bad, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_the_form_is_shown_for_an_ill_formed_expression(capsys) -> None:
    assert main(["diff", str(PAIRS / "c-base.trace"), str(PAIRS / "c-base.trace"), "--fail-on", "committed",
                 "--no-progress"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "committed>+10%" in err and "role:ROLE:" in err
    assert GATE_FORM.startswith("[PHASE:|role:ROLE:]METRIC")


def test_json_output_keys(capsys) -> None:
    assert main(["diff", str(PAIRS / "c-base.trace"), str(PAIRS / "c-thread.trace"), "--json",
                 "--fail-on", "committed>+1%", "--no-progress"]) in (0, 1)
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"before", "after", "totals", "phases", "roles", "processes", "processes_total",
                         "regions", "regions_total", "notes", "gates"}
    assert set(data["before"]) == {"label", "files", "lines", "events", "errors", "time_kind", "vsz_label",
                                   "processes"}
    assert {r["metric"] for r in data["totals"]} == {"vsz", "reserved", "committed", "file", "shared",
                                                      "released", "map_count", "peak_vsz", "processes"}
    assert set(data["totals"][0]) == {"metric", "before", "after", "change", "change_pct"}
    role = data["roles"][0]
    assert {"role", "status", "vsz_before", "vsz_after", "vsz_change", "vsz_change_pct", "regions_change"} <= set(role)
    assert {"phase", "status", "why", "committed_change"} <= set(data["phases"][0])
    assert {"status", "process", "role", "size", "size_class", "nth", "line", "text"} <= set(data["regions"][0])
    assert data["gates"] == [{"expression": "committed>+1%", "crossed": data["gates"][0]["crossed"]}]


def test_sides_can_be_directories_globs_and_traces(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "trace.1").write_bytes((PAIRS / "c-base.trace").read_bytes())
    a = compare(folder, str(PAIRS / "c-b*e.trace"))
    assert _total(a, "vsz")["change"] == 0
    t = tracemem.read_trace(PAIRS / "c-base.trace")
    b = compare(t, [PAIRS / "c-base.trace"])
    assert _total(b, "committed")["change"] == 0


def test_process_option_picks_one_process(capsys) -> None:
    memdemo = str(SAMPLES / "memdemo.trace")
    cmp = compare(memdemo, memdemo, process="memdemo")
    assert _total(cmp, "processes")["after"] >= 1
    assert main(["diff", memdemo, memdemo, "--process", "nosuch", "--no-progress"]) == 2
    assert "no process ran a program" in capsys.readouterr().err


def test_overlay_series_equal_the_timelines(tmp_path: Path) -> None:
    """What the chart draws is the two runs' own timelines (summed over their processes)."""
    from tracemem.reporters.diffplot import diff_figure, overlay_series

    cmp = compare(PAIRS / "go-same-1.trace", PAIRS / "go-big.trace")
    data = overlay_series(cmp)
    for run in (cmp.before, cmp.after):
        tl = run.timeline
        zero = data["runs"][run.label]["zero"]
        for metric in ("vsz", "committed"):
            xs, ys = data["runs"][run.label]["series"][metric]
            assert list(ys) == list(tl[metric])          # one process: the timeline itself
            assert list(xs + zero) == pytest.approx(list(tl["time"]))
    fig = diff_figure(cmp)
    drawn = {line.get_label(): line for line in fig.axes[0].get_lines()}
    xs, ys = data["runs"]["after"]["series"]["committed"]
    assert list(drawn["committed after"].get_ydata()) == list(ys)
    assert list(drawn["committed after"].get_xdata()) == list(xs)
    out = tmp_path / "d.png"
    assert main(["diff", str(PAIRS / "go-same-1.trace"), str(PAIRS / "go-big.trace"), "-o", str(out),
                 "--no-progress"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert main(["diff", str(PAIRS / "go-same-1.trace"), str(PAIRS / "go-big.trace"), "-o",
                 str(tmp_path / "d.bmp"), "--no-progress"]) == 2
    assert main(["diff", str(PAIRS / "go-same-1.trace"), str(PAIRS / "go-big.trace"), "-o", str(out),
                 "--align", "nosuch", "--no-progress"]) == 2


def test_multi_process_series_are_the_sum_over_processes() -> None:
    run = load_run(SAMPLES / "memdemo.trace", "before")
    s = run_series(run, "vsz")
    tl = run.timeline
    last: dict = {}
    want = []
    for asid, v in zip(tl["asid"], tl["vsz"]):
        last[asid] = int(v)
        want.append(sum(last.values()))
    assert list(s["value"]) == want


def test_hostile_trace_text_is_escaped_in_the_tables(tmp_path: Path, capsys) -> None:
    text = (PAIRS / "c-base.trace").read_text()
    evil = tmp_path / "evil.trace"
    # a program path and an argument holding markup, a terminal escape and a control character
    evil.write_text(text.replace("execve(\"", "execve(\"/tmp/[red]x\\33[2J\\7", 1))
    assert main(["diff", str(PAIRS / "c-base.trace"), str(evil), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out


def test_a_threshold_on_a_phase_that_is_not_comparable_fails_with_the_reason(capsys) -> None:
    pair = [str(PAIRS / "go-same-1.trace"), str(PAIRS / "go-same-memory.trace")]
    assert main(["diff", *pair, "--fail-on", "main:committed>+1000%", "--no-progress"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "cannot be checked" in err and "not comparable" in err
    assert main(["diff", *pair, "--fail-on", "committed>+5%", "--no-progress"]) == 0


def test_phase_rules_compare_without_their_line_numbers() -> None:
    """The same rule in two runs, citing other lines, is the same rule (a multi-process diff
    would otherwise say "found by different rules" for every process)."""
    from tracemem.compare import _rule_of

    a = ("the program's own code starts at the first event after the dynamic loader's end (line 29, munmap "
         "of /etc/ld.so.cache, ld.so's last step before the program runs): line 30: mmap(NULL, 8192, ...) = 0x1")
    b = a.replace("line 29", "line 4129").replace("line 30", "line 4130")
    assert _rule_of(a) == _rule_of(b) == "the program's own code starts at the first event after the dynamic loader's end"
    assert _rule_of("the first thread is created: line 7: clone3(...) = 8") == "the first thread is created"


def test_a_recorded_trace_is_compared_with_its_exec_time_baseline(tmp_path: Path) -> None:
    """A trace with the FILE.maps/ folder `tracemem record` writes: diff seeds it as the other
    commands do ("VSZ", not "traced VSZ"), and the snapshot's mappings are in the totals."""
    from tracemem.record import load_recorded_baseline

    run = tmp_path / "run.trace"
    run.write_bytes((PAIRS / "c-base.trace").read_bytes())
    (tmp_path / "run.trace.maps").mkdir()
    snapshot = ROOT / "tests" / "data" / "captures" / "c-attach.smaps"
    pid = int(run.read_text().split(None, 1)[0])  # the pid of the trace's first line (its execve)
    (tmp_path / "run.trace.maps" / f"0000-exec-{pid}.smaps").write_bytes(snapshot.read_bytes())
    assert load_recorded_baseline(run) is not None
    cmp = compare(PAIRS / "c-base.trace", run)
    assert cmp.after.summary.baseline and not cmp.before.summary.baseline
    assert _total(cmp, "vsz")["after"] > _total(cmp, "vsz")["before"]
    assert any("baseline" in n for n in cmp.notes)


def test_traces_without_pids_compare(capsys) -> None:
    """A trace whose lines have no pid (strace without -f): its space id is missing in the
    tables (pandas' NA), which the matching reads as "no pid", never a traceback."""
    nopid = str(ROOT / "tests" / "data" / "strace" / "c-nof.trace")
    assert main(["diff", nopid, nopid, "--no-progress"]) == 0
    cmp = compare(nopid, nopid)
    assert _total(cmp, "vsz")["change"] == 0 and (cmp.processes["status"] == "both").all()


def test_unmatched_runs_do_not_claim_their_mappings_match(capsys) -> None:
    assert main(["diff", str(PAIRS / "c-base.trace"), str(PAIRS / "go-same-1.trace"), "--no-progress"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Mappings: not compared (no process of one run matches one of the other)" in out
