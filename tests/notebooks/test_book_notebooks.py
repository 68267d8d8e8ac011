"""The book's notebooks run cell by cell on loom in a real Jupyter kernel (nbclient), with ``import loom as keras``.

Each notebook under this directory holds the cells of one of the book's chapters that run on Keras 3 with the
torch backend, written as the book writes them (datasets replaced by local arrays of the same shape). A cell
that raises fails the test and names the cell.
"""

import os
import pathlib
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = pathlib.Path(__file__).parent
NOTEBOOKS = sorted(p.name for p in HERE.glob("*.ipynb"))
ROOT = HERE.parent.parent


def _run(name: str, workdir: pathlib.Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(HERE / name, as_version=4)
    env_path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    os.environ["PYTHONPATH"] = env_path  # the kernel imports this checkout's loom
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
    except CellExecutionError as e:
        pytest.fail(f"{name}: a cell failed on loom:\n{str(e)[:3000]}")
    return notebook


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_cell_by_cell(name, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = _run(name, tmp_path)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert code_cells and all(c.execution_count for c in code_cells)
    texts = "".join(o.get("text", "") for c in code_cells for o in c.get("outputs", []))
    assert "Traceback" not in texts
    if name.startswith("chapter07"):
        assert "result: 1.00" in texts and "Mean of values: 2.00" in texts
        assert (tmp_path / "ticket_classifier.png").exists() and (tmp_path / "checkpoint_path.keras").exists()
        last = code_cells[-1]["outputs"][-1]["data"]["text/plain"]
        assert "sparse_categorical_accuracy" in last
    else:
        assert "Search space summary" in texts and "Results summary" in texts and "Best epoch:" in texts


