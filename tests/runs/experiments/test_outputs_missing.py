"""Missing values in Parquet outputs are null, never NaN or infinity (issue 21 item 6,
runs/experiments/outputs.py): the -inf quality of a lab with no model yet, the frontier of a market with no
lab left, and no HHI or leader when the outside option takes all demand."""

from __future__ import annotations

import json
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
from runs.experiments import NO_AI_MARKET_OUTCOMES, NO_AI_MARKET_SERIES, non_finite_as_null, write_table_atomic

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



NO_AI_MARKET = ("--set", "sim.years=1", "--set", "market.outside_log10_flop=80", "--set", "capability.alpha=1",
                "--set", "labs.list.0.share=0", "--set", "labs.list.3.share=0")
"""An outside option far beyond every lab's model: it takes all demand from the first step (the baseline's two
starting shares from observed run rates, Frontier A's and Safety D's, set to 0: a listed share is where a lab
starts whatever the logit says)."""


def test_no_ai_market_has_no_hhi_and_no_leader(tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["run", str(BASELINE), *NO_AI_MARKET, "--out", str(tmp_path / "run"), "--json"])
    assert run.exit_code == 0, run.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["n_alive"] > 0 and summary["unipolar"] is False
    assert all(summary[key] is None for key in NO_AI_MARKET_OUTCOMES), summary
    market = pq.read_table(tmp_path / "run" / "market.parquet").to_pandas()
    none = market["outside_share"] >= 1.0
    assert none.iloc[1:].all()
    for column in NO_AI_MARKET_SERIES:
        assert market.loc[none, column].isna().all() and market.loc[~none, column].notna().all()
    ensemble = CliRunner().invoke(app, ["ensemble", str(BASELINE), *NO_AI_MARKET, "--runs", "2", "--workers", "1",
                                        "--out", str(tmp_path / "ens")])
    assert ensemble.exit_code == 0, ensemble.stderr
    runs = pd.read_parquet(tmp_path / "ens" / "runs.parquet")
    ranks = [c for c in runs if c.startswith("share_rank_")]
    assert ranks and runs[[*NO_AI_MARKET_OUTCOMES, *ranks]].isna().all().all()
    assert (runs["status"] == "ok").all()
