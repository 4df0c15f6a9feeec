"""The notebooks in ``notebooks/`` (one per paper) run top to bottom on their quick setting.

Each notebook is executed in a fresh kernel with nbclient, from a temporary working directory
(run folders it writes go there), under the suite's strict rank promotion; any cell error fails
its test. ``QUICK = True`` is the committed default, so the tests run what a reader runs. The
committed files are also checked: valid nbformat, the quick parameter, a figure at the end, and
no per-run noise (``scripts/run_notebooks.py`` re-executes and cleans them).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
PAPERS = ("ds", "mo", "ic", "inv")
CELL_TIMEOUT = 600  # seconds; a quick notebook takes about a minute in all on a 2-core CPU


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _shows_figure(cell) -> bool:
    return any("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


def test_one_notebook_per_paper():
    assert sorted(path.stem for path in NOTEBOOKS) == sorted(PAPERS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebook_is_clean(path):
    notebook = _read(path)
    nbformat.validate(notebook)
    parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert [c.source.strip() for c in parameters] == ["QUICK = True"]
    assert _code_cells(notebook)[0] is parameters[0], "the parameters cell comes first"
    assert _shows_figure(_code_cells(notebook)[-1]), "committed with its closing figure"
    for cell in _code_cells(notebook):
        assert "execution" not in cell.metadata, "timestamps: re-run scripts/run_notebooks.py"
        for output in cell.outputs:
            assert output.output_type != "error"
            assert output.get("name") != "stderr", f"warnings in the committed outputs: {output}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("JAX_NUMPY_RANK_PROMOTION", "raise")  # the kernel inherits it
    notebook = _read(path)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    assert _shows_figure(_code_cells(notebook)[-1]), "the paper's figure was not drawn"
