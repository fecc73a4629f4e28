"""The notebook's code runs against the bundled sample (its cells, in order, in one namespace)."""

from __future__ import annotations

import json
import os

from conftest import ROOT


def test_notebook_cells_run() -> None:
    nb = json.loads((ROOT / "notebooks" / "explore.ipynb").read_text())
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
