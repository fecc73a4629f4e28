"""The notebook runs in a real Jupyter kernel (nbclient) against the bundled samples, and shows its
chart as an image; its cells also run in one namespace here, for the values they compute."""

from __future__ import annotations

import json
import os

import pytest

from conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"


def test_notebook_cells_run() -> None:
    nb = json.loads(NOTEBOOK.read_text())
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(ROOT / "notebooks")
    try:
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                exec(compile("".join(cell["source"]), "explore.ipynb", "exec"), namespace)
    finally:
        os.chdir(cwd)
    assert len(namespace["arena"]) == 2
    assert [p.name for p in namespace["phases"]][:3] == ["exec", "loader", "runtime-init"]
    assert namespace["fig"].axes
    assert namespace["summary"].processes[0].reserved > 500 << 20


def test_notebook_in_a_jupyter_kernel_shows_the_chart() -> None:
    nbformat = pytest.importorskip("nbformat", reason="nbformat comes with the test extras")
    nbclient = pytest.importorskip("nbclient", reason="nbclient comes with the test extras")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    last = code[-1]
    assert "fig" in last.source
    images = [o for o in last.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, [o.get("data", {}).keys() for o in last.outputs]
    # the summary cell shows a table
    assert any("text/html" in o.get("data", {}) for c in code if "summarize" in c.source for o in c.outputs)
