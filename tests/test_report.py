"""Postmortem reports (tracemem report, tracemem.reporters.report): the verdict's numbers are the
summary's and the timeline's, the sections come in order, the HTML is one inert self-contained
file, the Markdown's tables are well-formed and its chart links resolve, trace text is inert."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tracemem
from tracemem.cli import app
from tracemem.reporters.report import SECTION_ORDER, build_report, md_text, render_html, render_markdown, write_markdown
from tracemem.text import human
from tracemem.trace import MODEL_SYSCALLS

from conftest import DATA, DTRUSS, SAMPLES, STRACE_DATA

runner = CliRunner()
GO = SAMPLES / "go-http.trace"
DIFF = DATA / "diff"
TRACES = [GO, SAMPLES / "memdemo.trace", SAMPLES / "node-startup.trace", SAMPLES / "python-startup.trace",
          STRACE_DATA / "java-ttt.trace", DIFF / "c-base.trace", DATA / "captures" / "c-f-memory.trace"]


def _build(path: Path, **kw: object) -> tuple[tracemem.Trace, tracemem.RunSummary, object, object]:
    trace = tracemem.read_trace(path, only=MODEL_SYSCALLS)
    r = trace.replayer()
    summary = tracemem.summarize(trace, replayer=r)
    return trace, summary, r, build_report(trace, summary, replayer=r, **kw)  # type: ignore[arg-type]


def _texts(report: object) -> list[str]:
    return [st.text for sts in report.facts.values() for st in sts]  # type: ignore[attr-defined]


class _Doc(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag == "section":
            self.sections.append(dict(attrs)["id"] or "")


def _check_inert_html(text: str) -> _Doc:
    low = text.lower()
    assert "<script" not in low and "@import" not in low and "<link" not in low and "<iframe" not in low
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:|//|javascript:|data:)", low)
    assert "url(http" not in low and "url(//" not in low
    # the only absolute URLs are the SVG namespaces, which are names, not fetches
    assert set(re.findall(r"https?://[^\s\"'<>)]+", text)) <= {"http://www.w3.org/2000/svg",
                                                               "http://www.w3.org/1999/xlink",
                                                               "http://purl.org/dc/elements/1.1/",
                                                               "http://creativecommons.org/ns#",
                                                               "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}
    assert "\x1b" not in text and not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)
    doc = _Doc()
    doc.feed(text)
    doc.close()
    assert not any(name.startswith("on") for name, _ in doc.attrs)
    for svg in re.findall(r"<svg.*?</svg>", text, flags=re.S):
        ET.fromstring(svg)  # each inline chart is well-formed XML
    return doc


# -- the verdict's numbers ---------------------------------------------------------------------

def test_verdict_numbers_are_the_summary_and_timeline_figures() -> None:
    trace, summary, r, report = _build(GO)
    p = summary.processes[0]
    texts = _texts(report)
    joined = " ".join(texts)
    assert texts[0].startswith(f"traced VSZ {human(p.vsz)} at the end of the trace ({p.ended})")
    assert f"{human(p.reserved)} ({100 * p.reserved / p.vsz:.0f}% of it) is PROT_NONE" in joined
    assert f"{human(p.committed)} is committed" in joined
    roles = {t.role: t for t in p.roles}
    assert f"Go runtime reservation {human(roles['Go runtime reservation'].reserved)}" in joined
    assert f"thread stack {human(roles['thread stack'].committed)}" in joined
    # the ceiling: committed + file-backed (+ accessible uncharged anonymous) from the last timeline row
    tl = trace.timeline()
    last = tl[tl["asid"] == p.asid].sort_values("seq").iloc[-1]
    other = int(last["vsz"]) - int(last["committed"]) - int(last["reserved_uncharged"]) - int(last["file_uncharged"])
    ceiling = int(last["committed"]) + int(last["file_uncharged"]) + other
    assert int(last["vsz"]) == p.vsz and int(last["committed"]) == p.committed
    assert f"= {human(ceiling)}; the resident set is at most that" in joined
    assert "cannot show residency" in joined
    # thread stacks: count x size from the final regions; arenas: one per 64 MiB block
    assert f"{roles['thread stack'].regions} thread stacks (5 × 8.0 MiB) take {human(roles['thread stack'].vsz)}" in joined
    assert "5 glibc malloc arenas" in joined and "MALLOC_ARENA_MAX=2" in joined
    glibc = roles["glibc arena reservation"].vsz + roles["glibc malloc arena"].vsz
    assert f"{human(glibc)} of address space" in joined
    assert f"cap that at 64.0 MiB, {human(glibc - (64 << 20))} less VSZ" in joined
    assert "Go runtime reserved" in joined and "normal" in joined


def test_cited_lines_are_the_calls_behind_each_statement() -> None:
    trace, summary, r, report = _build(GO)
    lines = GO.read_text().splitlines()
    verdict = report.section("verdict")  # type: ignore[attr-defined]
    cited = [ref for b in verdict.blocks for ref in getattr(b, "refs", [])]
    assert cited
    for ref in cited:
        n = int(ref.split()[-1])
        assert re.search(r"\b(mmap|mprotect|munmap|brk|mremap|execve|clone3?)\(", lines[n - 1]), lines[n - 1]
    stacks = next(b for b in verdict.blocks if getattr(b, "text", "").startswith("5 thread stacks"))
    for ref in stacks.refs:  # each stack's mmap carries MAP_STACK
        assert "MAP_STACK" in lines[int(ref.split()[-1]) - 1]
    arenas = next(b for b in verdict.blocks if "glibc malloc arenas" in getattr(b, "text", ""))
    for ref in arenas.refs:
        assert "MAP_NORESERVE" in lines[int(ref.split()[-1]) - 1]


def test_jvm_heap_and_class_space_advice() -> None:
    trace, summary, r, report = _build(STRACE_DATA / "java-ttt.trace")
    joined = " ".join(_texts(report))
    p = summary.processes[0]
    roles = {t.role: t for t in p.roles}
    heap = sum(roles[k].vsz for k in ("JVM heap reservation", "JVM heap") if k in roles)
    assert f"The JVM heap reservation is {human(heap)}" in joined
    argv = [ln for ln in (STRACE_DATA / "java-ttt.trace").read_text().splitlines() if "execve(" in ln][-1]
    assert ("-Xmx" in argv) == ("sized by -Xmx" in joined)
    assert "compressed class space" in joined and "12 glibc malloc arenas" in joined


def test_no_advice_for_roles_the_trace_does_not_show() -> None:
    _, _, _, report = _build(DIFF / "c-base.trace")
    joined = " ".join(_texts(report))
    for word in ("Go runtime", "JVM", "V8", "MALLOC_ARENA_MAX"):
        assert word not in joined


# -- HTML --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_html_is_self_contained_and_in_section_order(path: Path) -> None:
    _, _, _, report = _build(path)
    text = render_html(report)  # type: ignore[arg-type]
    doc = _check_inert_html(text)
    expected = [k for k, _ in SECTION_ORDER if k != "comparison"]
    assert doc.sections == expected
    assert "<style>" in text and "@media print" in text and "max-width:700px" in text
    assert text.count("<svg") == 1
    assert '<g id="tmstep-0" class="step"><title>line ' in text  # hover: the call behind a step


def test_hover_titles_name_the_line_role_and_size() -> None:
    _, _, _, report = _build(GO)
    text = render_html(report)  # type: ignore[arg-type]
    titles = re.findall(r'class="step"><title>(.*?)</title>', text, flags=re.S)
    assert 10 <= len(titles) <= 40
    lines = GO.read_text().splitlines()
    for t in titles:
        m = re.match(r"line (\d+): (\w+)\(", t)
        assert m, t
        assert lines[int(m.group(1)) - 1].split()[2].startswith(m.group(2) + "(")
        assert "role: " in t and "ΔVSZ" in t
    assert any("+512.0 MiB" in t and "Go runtime reservation" in t for t in titles)


def test_html_of_the_go_sample_is_small(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", str(GO), "-o", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size < 1_000_000
    assert "Verdict" in res.output and "report written to" in res.output


@pytest.mark.skipif(not (DTRUSS / "eddycjy-blog__why-vsz-large__go-dtruss-a.txt").exists(),
                    reason="../shared/corpus/dtruss is not beside this checkout")
def test_dtruss_report() -> None:
    _, summary, _, report = _build(DTRUSS / "eddycjy-blog__why-vsz-large__go-dtruss-a.txt")
    text = render_html(report)  # type: ignore[arg-type]
    _check_inert_html(text)
    assert "(dtruss: no clock)" in text
    # madvise(..., 0x8) on macOS is MADV_FREE_REUSE (the table's decoded advice), not "?"
    assert "MADV_FREE_REUSE" in text


def test_multi_process_trace_gets_a_section_per_largest_space() -> None:
    _, summary, _, report = _build(SAMPLES / "memdemo.trace", spaces=1)
    verdict = report.section("verdict")  # type: ignore[attr-defined]
    heads = [b.text for b in verdict.blocks if getattr(b, "kind", "") == "heading"]
    assert len(heads) == 1 and str(summary.processes[0].asid) in heads[0]
    assert verdict.blocks[0].text.startswith(f"The trace shows {len(summary.processes)} address spaces")
    procs = next(b for b in report.section("activity").blocks if getattr(b, "title", "").startswith("Processes"))
    assert len(procs.rows) == len(summary.processes)
    failed = next(b for b in report.section("activity").blocks if getattr(b, "title", "").startswith("Failed"))
    assert {row[2] for row in failed.rows} == {"ENOMEM", "EINVAL"}
    assert [row[0] for row in failed.rows] == ["line 47", "line 49"]


def test_big_tables_are_cut_with_totals() -> None:
    _, summary, _, report = _build(STRACE_DATA / "java-ttt.trace", top=3)
    roles = next(b for b in report.section("regions").blocks if getattr(b, "title", "").startswith("Bytes per role"))
    assert len(roles.rows) == 3 and re.match(r"\d+ more roles not listed \(.* together\)", roles.note)
    p = summary.processes[0]
    rest = sum(t.vsz for t in p.roles[3:])
    assert human(rest) in roles.note


# -- Markdown ----------------------------------------------------------------------------------

def _md_rows(text: str) -> list[list[str]]:
    """Each table line split on the pipes that are not escaped."""
    return [re.split(r"(?<!\\)\|", line)[1:-1] for line in text.splitlines() if line.startswith("|")]


@pytest.mark.parametrize("path", [GO, STRACE_DATA / "java-ttt.trace", SAMPLES / "memdemo.trace"], ids=lambda p: p.name)
def test_markdown_tables_and_relative_chart_links(tmp_path: Path, path: Path) -> None:
    _, _, _, report = _build(path)
    out = tmp_path / "sub" / "report.md"
    out.parent.mkdir()
    written = write_markdown(report, out)  # type: ignore[arg-type]
    text = out.read_text()
    blocks = re.split(r"\n\n", text)
    tables = [b for b in blocks if b.startswith("|")]
    assert tables
    for t in tables:
        rows = _md_rows(t)
        assert len({len(r) for r in rows}) == 1, t[:300]
        assert re.fullmatch(r"\|((---|---:)\|)+", t.splitlines()[1])
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links == ["report-vsz.svg"]
    for link in links:
        assert not re.match(r"[a-z]+:|/", link)
        target = out.parent / link
        assert target.exists() and target in written
        ET.parse(target)
    heads = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert heads == [md_text(t) for k, t in SECTION_ORDER if k != "comparison"]


# -- hostile trace text ------------------------------------------------------------------------

EVIL = r"""./x<script>alert(1)</script>\"'](javascript:alert(1))|`tick`*b*_u_[l]\33[31mred\7\1end"""


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    text = (DIFF / "c-base.trace").read_text()
    text = text.replace('execve("./diffdemo", ["./diffdemo"]', f'execve("{EVIL}", ["{EVIL}", "{EVIL}"]', 1)
    assert EVIL in text
    path = tmp_path / "evil.trace"
    path.write_text(text)
    return path


def test_hostile_trace_is_inert_in_html(tmp_path: Path, hostile: Path) -> None:
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", str(hostile), "-o", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    _check_inert_html(text)
    assert 'href="javascript' not in text.lower()
    # still readable: the program's name shows, escaped
    assert "x&lt;script&gt;alert(1)&lt;/script&gt;" in text and "\\x1b[31mred\\x07" in text
    assert "\x1b" not in res.output


def test_hostile_trace_is_inert_in_markdown(tmp_path: Path, hostile: Path) -> None:
    out = tmp_path / "r.md"
    res = runner.invoke(app, ["report", str(hostile), "-o", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "<script" not in text.lower() and "\x1b" not in text and "\x07" not in text
    assert not re.search(r"(?<!\\)\]\(javascript", text) and "javascript:" not in text
    assert "`" not in text.replace("\\`", "")
    assert _md_rows(text) and all(len(r) == len(_md_rows(t)[0]) for t in re.split(r"\n\n", text)
                                  if t.startswith("|") for r in _md_rows(t))
    links = re.findall(r"(?<!\\)\]\((?!report)", text.replace("r-vsz.svg", "report"))
    assert links == []
    assert "x&lt;script&gt;alert(1)&lt;/script&gt;" in text  # readable
    for svg in tmp_path.glob("*.svg"):
        body = svg.read_text()
        assert "<script" not in body.lower() and "\x1b" not in body
        ET.parse(svg)


# -- command line ------------------------------------------------------------------------------

def test_terminal_report_without_output() -> None:
    res = runner.invoke(app, ["report", str(GO), "--no-progress"])
    assert res.exit_code == 0, res.output
    for word in ("Verdict", "PROT_NONE", "MALLOC_ARENA_MAX=2", "Phases of process", "Largest regions",
                 "Processes (address spaces)"):
        assert word in res.output


@pytest.mark.parametrize("args, message", [
    (["report", "missing.trace"], "missing.trace"),
    (["report", str(GO), "-o", "r.pdf"], "unknown report format"),
    (["report", str(GO), "-o", str(GO) + ".md", "--top", "0"], "--top"),
    (["report", str(GO), "-o", str(GO)], "unknown report format"),
    (["report", str(GO), "--pid", "999999"], "--pid 999999"),
    (["report", str(GO), "--baseline", "missing-before.trace"], "missing-before.trace"),
    (["report", str(GO), "-o", "/nonexistent-dir/r.html"], "/nonexistent-dir"),
    (["report", str(GO), "--overcommit", "sometimes"], "--overcommit"),
])
def test_bad_inputs_exit_2_with_a_message(tmp_path: Path, args: list[str], message: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, [*args, "--no-progress"])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("content, message", [
    ("", "nothing to report"),
    ("hello world\n", "no line looks like strace or dtruss output"),
    ('123 openat(AT_FDCWD, "/x", O_RDONLY) = 3\n', "nothing to plot"),
])
def test_traces_without_memory_calls_exit_2(tmp_path: Path, content: str, message: str) -> None:
    log = tmp_path / "run.trace"
    log.write_text(content)
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", str(log), "-o", str(out), "--no-progress"])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_output_may_not_overwrite_an_input(tmp_path: Path) -> None:
    log = tmp_path / "run.md"
    shutil.copy(GO, log)
    res = runner.invoke(app, ["report", str(log), "-o", str(log), "--no-progress"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert log.read_text() == GO.read_text()


def test_baseline_adds_the_comparison_section(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", str(DIFF / "c-thread.trace"), "--baseline", str(DIFF / "c-base.trace"),
                              "-o", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    doc = _check_inert_html(text)
    assert doc.sections == [k for k, _ in SECTION_ORDER]
    assert text.count("<svg") == 2
    comparison = text[text.index('<section id="comparison"'):text.index('<section id="accounting"')]
    assert "thread stack" in comparison and "Totals" in comparison and "+8.0 MiB" in comparison
    md = tmp_path / "r.md"
    res = runner.invoke(app, ["report", str(DIFF / "c-thread.trace"), "--baseline", str(DIFF / "c-base.trace"),
                              "-o", str(md), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md.read_text()) == ["r-vsz.svg", "r-diff.svg"]


def test_markdown_renderer_escapes_each_special_character() -> None:
    s = md_text("a|b`c*d_e[f]g<h>i](javascript:x) www.example.com \x1b[1m")
    assert "|" not in s.replace("\\|", "") and "<" not in s and ">" not in s
    assert not re.search(r"(?<!\\)\]\(", s) and "javascript:" not in s and "www." not in s and "\x1b" not in s
    report_md = render_markdown(_build(DIFF / "c-base.trace")[3])  # type: ignore[arg-type]
    assert report_md.startswith("# Memory report")


# -- a real browser ----------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
def test_chromium_renders_the_charts(tmp_path: Path) -> None:
    """Debian's Chromium, driven by Playwright (no browser downloaded), opens the HTML report from
    disk with the network blocked: no request leaves the page, nothing is logged as an error, and
    every chart is drawn (its box holds the chart's colours: committed red, reserved blue)."""
    import io

    from PIL import Image

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    out = tmp_path / "r.html"
    assert runner.invoke(app, ["report", str(GO), "-o", str(out), "--no-progress"]).exit_code == 0
    left: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 2000})

            def gate(route: object) -> None:
                url = route.request.url  # type: ignore[attr-defined]
                if url == out.as_uri():
                    route.continue_()  # type: ignore[attr-defined]
                else:
                    left.append(url)
                    route.abort()  # type: ignore[attr-defined]

            page.route("**/*", gate)
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(out.as_uri(), wait_until="load")
            charts = page.locator("svg")
            assert charts.count() >= 1
            shots = [Image.open(io.BytesIO(charts.nth(i).screenshot())).convert("RGB") for i in range(charts.count())]
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        finally:
            browser.close()
    assert left == [], f"requests left the page: {left}"
    assert errors == [], f"the page logged errors: {errors}"

    def near(im: Image.Image, rgb: tuple[int, int, int]) -> int:
        return sum(n for n, c in im.getcolors(maxcolors=1 << 22) or [] if all(abs(a - b) <= 12 for a, b in zip(c, rgb)))

    for im in shots:  # not blank: a drawn chart
        assert len(im.getcolors(maxcolors=1 << 22) or []) > 50
    first = shots[0]
    assert near(first, (0xd9, 0x53, 0x4f)) > 2000      # committed
    assert near(first, (0xc7, 0xd3, 0xe6)) > 20000     # reserved


def test_released_bytes_are_accounted_for_over_the_run() -> None:
    """What madvise handed back over the run = what is released at the end + what was unmapped,
    mapped again over or moved since (node's start-up unmaps 10.2 MiB of released heap)."""
    from tracemem.reporters.report import _released_flows

    trace = tracemem.read_trace(SAMPLES / "node-startup.trace")
    r = trace.replayer()
    summary = tracemem.summarize(trace, replayer=r)
    asids = [p.asid for p in summary.processes]
    handed, back = _released_flows(r.frame(), asids)
    assert handed > 0 and back.get("munmap", 0) > 0
    assert handed - sum(back.values()) == sum(p.released for p in summary.processes)
