"""Missing values in Parquet outputs are null, never NaN or infinity (issue 21 item 6,
runs/experiments/outputs.py): the -inf quality of a lab with no model yet, the frontier of a market with no
lab left."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from economy.engine import Simulation
from runs.cli import app
from runs.experiments import non_finite_as_null, write_table_atomic

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"


def test_non_finite_floats_become_null_and_nothing_else_moves(tmp_path: Path) -> None:
    table = pa.table({"quality": [1.5, -math.inf, math.nan, math.inf, None], "n": [1, 2, 3, 4, 5],
                      "name": ["a", "b", None, "d", "e"]})
    out = non_finite_as_null(table)
    assert out.column("quality").to_pylist() == [1.5, None, None, None, None]
    assert out.column("n").equals(table.column("n")) and out.column("name").equals(table.column("name"))
    clean = pa.table({"x": [1.0, 2.0]})
    assert non_finite_as_null(clean) is clean
    path = write_table_atomic(table, tmp_path / "t.parquet", series=True)
    assert pq.read_table(path).column("quality").null_count == 4


def test_a_run_writes_no_model_yet_as_null(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    labs_frame = Simulation.labs_frame

    def without_model(self: Simulation, run: int = 0) -> pd.DataFrame:  # the first lab has no model yet
        frame = labs_frame(self, run)
        first = frame["lab_id"] == 0
        frame.loc[first, "quality"] = -np.inf
        frame.loc[first, "log10_eff_compute"] = -np.inf
        return frame

    monkeypatch.setattr(Simulation, "labs_frame", without_model)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(BASELINE), "--set", "sim.years=1", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    labs = pq.read_table(out / "labs.parquet")
    first = labs.column("lab_id").to_numpy() == 0
    for name in ("quality", "log10_eff_compute"):
        values = labs.column(name).to_numpy(zero_copy_only=False)
        assert np.isnan(values[first]).all() and np.isfinite(values[~first]).all()
        assert labs.column(name).null_count == int(first.sum())

