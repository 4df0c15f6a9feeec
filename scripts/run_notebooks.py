"""Re-executes the notebooks in ``notebooks/`` in place, so their committed outputs are fresh.

    python scripts/run_notebooks.py                 # every notebook, quick setting
    python scripts/run_notebooks.py notebooks/ds.ipynb --timeout 900

Each notebook runs with its own parameters cell (``QUICK = True`` as committed) in a fresh
temporary working directory (the run folders it writes are thrown away), and is written back
with its outputs but without the per-run noise: execution timestamps, the kernel's version
details. A cell that fails stops the script with the notebook's traceback; the file on disk is
then left as it was.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL = "python3"


def execute(path: Path, timeout: int) -> nbformat.NotebookNode:
    """The notebook at ``path`` executed top to bottom in a temporary working directory."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix=f"nb-{path.stem}-") as workdir:
        client = NotebookClient(
            notebook, timeout=timeout, kernel_name=KERNEL, resources={"metadata": {"path": workdir}}
        )
        client.execute()
    return notebook


def strip_run_noise(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drops what changes on every run without changing the content: cell timings and the
    kernel's version details (diffs of a re-run then show only changed outputs)."""
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    for path in paths:
        start = time.perf_counter()
        notebook = strip_run_noise(execute(path, args.timeout))
        nbformat.validate(notebook)
        nbformat.write(notebook, path)
        print(f"{path}: executed in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
