"""The notebooks execute end to end (nbclient) and are committed without outputs or model code.

The kernel is this interpreter (the venv's python): a kernelspec pointing at ``sys.executable`` is written into
a temporary directory put first on ``JUPYTER_PATH`` for the test only, never installed globally.  The notebooks
write their outputs under ``$MULTIPOLAR_NOTEBOOK_OUT`` (a temporary directory here).  A notebook with a cell
tagged ``parameters`` (its sizes) runs with the smaller sizes of :data:`SMALL` in that cell's place.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("01_quickstart", "02_monte_carlo_concentration", "03_policy_experiment", "04_takeoff_keyhole",
             "05_calibration", "06_scenario_discovery")
SMALL = {
    "02_monte_carlo_concentration": "RUNS = 50",
    "05_calibration": "SEEDS = 3\nYEARS = 5.0",
    "06_scenario_discovery": "N_SCENARIOS = 80\nSEED = 0\nREPLICATIONS = 1\nYEARS = 8.0\nMIN_DENSITY = 0.8",
}
WRITES_MANIFEST = NOTEBOOKS[:4]
"""The notebooks whose outputs include a manifest under ``$MULTIPOLAR_NOTEBOOK_OUT``."""
KERNEL = "multipolar-test"
TIMEOUT = 600  # seconds per cell


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "multipolar test kernel", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MULTIPOLAR_NOTEBOOK_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # the frozen-modules note of the kernel's debugger
    return KERNEL


def _parameters(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_without_outputs_or_model_code(name: str) -> None:
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "a notebook without code"
    assert len(_parameters(nb)) == (name in SMALL), "a parameters cell without small sizes, or sizes without the cell"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None
        assert "np.random." not in cell.source and "import random" not in cell.source
        for forbidden in ("Simulation(", "economy.kernels", "@jit"):
            assert forbidden not in cell.source, f"model code in the notebook: {forbidden}"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(name: str, kernel: str, tmp_path: Path) -> None:
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    for cell in _parameters(nb):
        cell.source = SMALL[name]
    client = NotebookClient(nb, kernel_name=kernel, timeout=TIMEOUT, allow_errors=False,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert any("image/png" in out.get("data", {}) for out in outputs), "the notebook shows figures"
    if name in WRITES_MANIFEST:
        assert any((tmp_path / "out" / name).rglob("manifest.json")), "outputs went to MULTIPOLAR_NOTEBOOK_OUT"
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    if name == "05_calibration":
        markdown = [out["data"]["text/markdown"] for out in outputs if "text/markdown" in out.get("data", {})]
        assert markdown and "largest training run, cost" in markdown[0]
        assert "at the floor" in text
    if name == "06_scenario_discovery":
        assert "end unipolar" in text and "coverage" in text
