"""Notebooks 05 (calibration) and 06 (scenario discovery) execute end to end at small sizes (nbclient).

The cell tagged ``parameters`` holds each notebook's sizes; the test replaces it with small ones.  The kernel is
this interpreter, through a kernelspec written into a temporary ``JUPYTER_PATH`` (never installed globally).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "multipolar-validation-test"
SMALL = {
    "05_calibration": "SEEDS = 3\nYEARS = 5.0",
    "06_scenario_discovery": "N_SCENARIOS = 80\nSEED = 0\nREPLICATIONS = 1\nYEARS = 8.0\nMIN_DENSITY = 0.8",
}


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "multipolar validation test kernel", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # the frozen-modules note of the kernel's debugger
    return KERNEL


@pytest.mark.parametrize("name", sorted(SMALL))
def test_notebook_is_committed_without_outputs_or_model_code(name: str) -> None:
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert [c for c in code if "parameters" in c.metadata.get("tags", [])], "no parameters cell"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None
        assert "np.random." not in cell.source and "import random" not in cell.source
        for forbidden in ("Simulation(", "economy.kernels", "@jit"):
            assert forbidden not in cell.source, f"model code in the notebook: {forbidden}"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_notebook_executes_at_small_size(name: str, kernel: str) -> None:
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    params[0].source = SMALL[name]
    client = NotebookClient(nb, kernel_name=kernel, timeout=600, allow_errors=False,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert any("image/png" in out.get("data", {}) for out in outputs), "the notebook shows figures"
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    if name == "05_calibration":
        markdown = [out["data"]["text/markdown"] for out in outputs if "text/markdown" in out.get("data", {})]
        assert markdown and "largest training run, cost" in markdown[0]
        assert "at the floor" in text
    else:
        assert "end unipolar" in text and "coverage" in text
