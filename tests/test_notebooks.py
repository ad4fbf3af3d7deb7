"""The notebooks in notebooks/ are committed without outputs and run top to bottom in a fresh
kernel (nbclient, kernel ``python3`` resolved to this venv's Python)."""
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01-quickstart.ipynb", "02-quality-frontier.ipynb", "03-hosts.ipynb"]
WIDGET = "application/vnd.jupyter.widget-view+json"


def run(nb, cwd: Path):
    """Execute ``nb`` in place with bounded timeouts; a failing cell raises CellExecutionError."""
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=180, startup_timeout=60,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def text_of(nb) -> str:
    return "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_the_notebooks_are_committed_without_outputs():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name} has outputs"


def test_kernel_python3_is_this_venv(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys, lutplug.widgets\nprint(sys.prefix)")])
    assert text_of(run(nb, tmp_path)).strip() == sys.prefix


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, tmp_path, monkeypatch):
    monkeypatch.setenv("LUTPLUG_NOTEBOOK_OUT", str(tmp_path))  # 01 writes its .nlut here
    nb = run(nbformat.read(NOTEBOOKS / name, as_version=4), NOTEBOOKS)
    text = text_of(nb)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    widgets = [o for o in outputs if WIDGET in o.get("data", {})]
    if name.startswith("01"):
        assert (tmp_path / "freshluts_cool_cinema.nlut").is_file()
        assert "against the .cube" in text and "LUT domain  ΔE00 mean" in text
        assert len(widgets) == 2  # the CompareWidget and the PackBrowser
    elif name.startswith("02"):
        assert any("image/png" in o.get("data", {}) for o in outputs)  # the frontier plot
        assert "smallest cube meeting T1" in text
    else:
        assert "GLSL compute shader" in text and "all hosts agree" in text
        assert len(widgets) == 1
