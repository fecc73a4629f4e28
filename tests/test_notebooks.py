"""Every notebook in notebooks/ runs clean in a real Jupyter kernel (nbclient), and every chart cell
shows its chart as an image/png output. The committed investigation notebook keeps its outputs (so
it reads on a code host), small, and current: a fresh run prints what the committed copy shows.

A chart cell is a code cell tagged "chart" in its metadata, or one that calls ``.plot(``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
INVESTIGATION = NOTEBOOKS / "go-vsz-investigation.ipynb"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))
#: The committed notebook with its outputs must stay light enough to read on a code host.
MAX_BYTES = 1 << 20
PLOT_CALL = re.compile(r"\.plot\(")


def is_chart_cell(cell: Any) -> bool:
    if cell["cell_type"] != "code":
        return False
    if "chart" in cell.get("metadata", {}).get("tags", []):
        return True
    code = "\n".join(line.split("#", 1)[0] for line in "".join(cell["source"]).splitlines())
    return bool(PLOT_CALL.search(code))


def has_png(cell: Any) -> bool:
    return any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def printed(cell: Any) -> str:
    """What a cell printed (its stdout), the outputs a notebook reader sees as text."""
    texts = [out.get("text", "") for out in cell.get("outputs", [])
             if out.get("output_type") == "stream" and out.get("name") == "stdout"]
    return "".join(t if isinstance(t, str) else "".join(t) for t in texts)  # saved JSON splits lines


def execute(path: Path) -> Any:
    nbformat = pytest.importorskip("nbformat", reason="nbformat comes with the test extras")
    nbclient = pytest.importorskip("nbclient", reason="nbclient comes with the test extras")
    nb = nbformat.read(path, as_version=4)
    # the kernel runs in notebooks/ as Jupyter would; a failing cell raises CellExecutionError
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def test_the_notebooks_are_found() -> None:
    assert INVESTIGATION in ALL and NOTEBOOKS / "explore.ipynb" in ALL


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_notebook_runs_in_a_kernel_and_shows_every_chart(path: Path) -> None:
    nb = execute(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(code) for o in c.outputs
              if o.output_type == "error"]
    assert not errors, errors
    stderr = [o.text for c in code for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr
    charts = [c for c in code if is_chart_cell(c)]
    assert charts, f"{path.name} has no chart cell"
    missing = [c.source for c in charts if not has_png(c)]
    assert not missing, f"chart cells without an image/png output: {missing}"


def test_investigation_is_committed_with_its_outputs() -> None:
    raw = INVESTIGATION.read_bytes()
    assert len(raw) < MAX_BYTES, len(raw)
    nb = json.loads(raw)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("outputs") for c in code), "a code cell has no saved output: execute and save it"
    assert not [o for c in code for o in c["outputs"] if o.get("output_type") == "error"]
    charts = [c for c in code if is_chart_cell(c)]
    assert charts and all(has_png(c) for c in charts)


def test_investigation_outputs_are_current() -> None:
    """The committed outputs are what the notebook prints today on the bundled traces (a changed
    sample or library means executing and saving the notebook again)."""
    committed = json.loads(INVESTIGATION.read_text())
    fresh = execute(INVESTIGATION)
    old = [printed(c) for c in committed["cells"] if c["cell_type"] == "code"]
    new = [printed(c) for c in fresh.cells if c.cell_type == "code"]
    assert old == new


def test_investigation_answers_with_the_data() -> None:
    """The figures it prints agree with the library's, and its markdown holds no figure of its own
    (sizes are printed by code cells; the programs' inputs are the only sizes the text names)."""
    import tracemem

    nb = json.loads(INVESTIGATION.read_text())
    text = "\n".join(printed(c) for c in nb["cells"] if c["cell_type"] == "code")
    proc = tracemem.summarize(tracemem.read_trace(ROOT / "samples" / "go-http.trace")).processes[0]
    assert f"at exit: {proc.vsz:,} bytes" in text
    assert f"{proc.reserved / proc.vsz:6.1%} of VSZ" in text
    assert "PROT_NONE" in text and "MAP_FIXED" in text  # the actual lines of the log
    # the question as it is asked, hello.go's allocation and diffserver's -mib 64
    inputs = {"1 GB", "8 MiB", "64 MiB"}
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    sizes = set(re.findall(r"\d[\d.,]*\s?(?:[KMGT]i?B|GB|MB|%)", markdown))
    assert sizes <= inputs, sizes - inputs
