"""Dose-response sweeps over a policy's parameter (runs/experiments/dose.py, sweep.py; docs/policies.md).

A policy sweep runs the no-policy arm on the same seeds and draws as every grid point, so each point's paired
differences against it are read run by run; a monotone lever gives differences of the documented sign at every
step, and the flip of a target is found between the grid values that bracket it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from runs.cli import app
from runs.experiments import ExperimentInputError, Target, flips, parse_target

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
CAP = ROOT / "runs" / "policies" / "compute_cap.toml"
RUNS = 4


def test_parse_target() -> None:
    assert parse_target("p_unipolar<0.2", ["p_unipolar"]) == Target("p_unipolar", "<", 0.2)
    assert parse_target(" median_final_hhi >= 1800 ", ["median_final_hhi"]).text == "median_final_hhi >= 1800"
    for bad in ("p_unipolar", "p_unipolar<x", "nosuch<1"):
        with pytest.raises(ExperimentInputError, match="--target"):
            parse_target(bad, ["p_unipolar"])


def test_flips_interpolates_the_crossing_on_a_log_axis() -> None:
    frame = pd.DataFrame({"cap": [1e26, 1e27, 1e28, 1e29], "p_unipolar": [0.05, 0.1, 0.3, 0.5],
                          "p_unipolar_lo": [0.0, 0.05, 0.2, 0.4], "p_unipolar_hi": [0.1, 0.25, 0.4, 0.6]})
    flip = flips(frame, "cap", Target("p_unipolar", "<", 0.2), log=True)
    assert [c["between"] for c in flip["crossings"]] == [[1e27, 1e28]]
    assert flip["crossing"] == pytest.approx(10 ** 27.5)  # halfway from 0.1 to 0.3, in log10 of the cap
    assert flip["first_met"] == 1e26 and flip["first_met_by_interval"] == 1e26
    assert [p["met"] for p in flip["points"]] == [True, True, False, False]
    assert [p["met_by_interval"] for p in flip["points"]] == [True, False, False, False]
    never = flips(frame, "cap", Target("p_unipolar", ">", 0.9), log=True)
    assert never["crossing"] is None and never["first_met"] is None


@pytest.fixture(scope="module")
def dose(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("dose") / "cap"
    result = CliRunner().invoke(app, [
        "sweep", str(BASELINE), "--policy", str(CAP), "--grid",
        "policies.compute_cap.max_training_flop=1e26:1e29:4:log", "--set", "policies.compute_cap.start_year=2025",
        "--set", "sim.years=4", "--runs", str(RUNS), "--seed", "5", "--workers", "1", "--target",
        "diff_consumer_value>-3e14", "--out", str(out), "--json"], catch_exceptions=False)
    return {"result": result, "out": out}


@pytest.mark.slow
def test_a_stricter_cap_costs_more_at_every_step_on_common_random_numbers(dose: dict) -> None:
    result, out = dose["result"], dose["out"]
    assert result.exit_code == 0, result.stderr
    points = pd.read_parquet(out / "points.parquet").sort_values("policies.compute_cap.max_training_flop")
    # the no-policy arm and every point ran the same seeds and draws
    reference = pd.read_parquet(out / "reference" / "runs.parquet")
    for name in points["dir"]:
        table = pd.read_parquet(out / name / "runs.parquet")
        assert table["seed"].tolist() == reference["seed"].tolist()
        assert [list(k) for k in table["spawn_key"]] == [list(k) for k in reference["spawn_key"]]
    # documented signs (docs/policies.md, Dose-response): a cap never adds consumer value or frontier quality,
    # and a stricter cap (smaller max_training_flop) costs at least as much, step by step
    value = points["diff_consumer_value"].to_numpy()
    quality = points["diff_frontier_quality"].to_numpy()
    assert (value < 0.0).all() and (quality <= 0.0).all()
    assert (np.diff(value) > 0.0).all()  # less negative as the cap loosens
    assert (np.diff(quality) >= 0.0).all()
    assert (points["delay_par_human"] >= 0.0).all()
    summary = json.loads((out / "summary.json").read_text())
    section = summary["policy_sweep"]
    assert section["keys"] == ["policies.compute_cap.max_training_flop"]
    assert len(section["effects"]) == 4 and section["reference"]["runs"] == RUNS
    flip = section["target"]
    assert flip["target"] == "diff_consumer_value > -3e+14"
    met = [p["met"] for p in flip["points"]]
    assert met == [v > -3e14 for v in value]
    if flip["crossing"] is not None:
        low, high = flip["crossings"][0]["between"]
        assert low < flip["crossing"] < high
    for name in ("dose_response.png", "tradeoff.png", "phase_diagram.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert "paired effects against the scenario without the policy" in result.stderr


@pytest.mark.slow
def test_the_policy_sweep_report_shows_the_flip_and_the_effects(dose: dict) -> None:
    result = CliRunner().invoke(app, ["report", str(dose["out"])], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    page = (dose["out"] / "report.html").read_text()
    assert 'id="dose_response.png"' in page and 'id="tradeoff.png"' in page
    assert "target diff_consumer_value &gt; -3e+14" in page
    assert page.count("against the scenario without the policy") == 4


def test_a_target_needs_one_grid_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "sweep", str(BASELINE), "--policy", str(CAP), "--grid", "policies.compute_cap.max_training_flop=1e26:1e29:2",
        "--grid", "research.returns_to_research=1:2:2", "--runs", "2", "--target", "p_unipolar<0.2",
        "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "exactly one --grid key" in result.stderr
