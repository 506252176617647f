"""Robustness of the unipolar answer from an ensemble's own runs (runs/experiments/robustness.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import baseline_text_without_uncertain

from economy.params import load_scenario
from runs.experiments import outcome_boundary, scenario_robustness

ROOT = Path(__file__).resolve().parents[3]

BOUNDARY, SLOPE = 0.62, 12.0
"""The synthetic truth: P(unipolar) = sigmoid(SLOPE (a - BOUNDARY)), nothing else matters."""


def _synthetic(seed: int, n: int = 4000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = pd.DataFrame({"a": rng.uniform(0.0, 1.0, n), "b": rng.lognormal(1.0, 0.5, n),
                           "c": rng.uniform(-5.0, 5.0, n)})
    p = 1.0 / (1.0 + np.exp(-SLOPE * (values["a"].to_numpy() - BOUNDARY)))
    return values, rng.random(n) < p


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_known_key_and_boundary_are_found_within_monte_carlo_error(seed: int) -> None:
    values, outcome = _synthetic(seed)
    out = outcome_boundary(values, outcome, {"a": 0.3, "b": 2.0, "c": 1.0}, {"a": "x"})
    assert out["status"] == "boundary" and out["most_sensitive"] == "a" and out["clear"]
    assert abs(out["boundary_value"] - BOUNDARY) < 3.0 * out["boundary_se"]
    assert out["boundary_se"] < 0.02
    assert out["distance"] == pytest.approx(out["boundary_value"] - 0.3)
    assert out["distance_sd"] == pytest.approx(out["distance"] / values["a"].std())
    sd = values["a"].std()
    assert out["coefficients_per_sd"]["a"] == pytest.approx(SLOPE * sd, rel=0.15)
    assert max(abs(out["coefficients_per_sd"]["b"]), abs(out["coefficients_per_sd"]["c"])) < 0.3
    assert "most sensitive to a" in out["text"] and "P(unipolar) = 0.5 at a = 0.6" in out["text"]


def test_all_one_class_says_no_boundary_within_the_prior() -> None:
    values, _ = _synthetic(0, 200)
    out = outcome_boundary(values, np.zeros(200, bool), {"a": 0.3, "b": 2.0, "c": 1.0})
    assert out["status"] == "one_class" and "no boundary within the prior" in out["text"]
    assert "all 200 runs ended not unipolar" in out["text"]
    assert outcome_boundary(values, np.ones(200, bool), {"a": 0.3, "b": 2.0, "c": 1.0})["status"] == "one_class"


def test_a_boundary_outside_the_draws_is_not_extrapolated() -> None:
    rng = np.random.default_rng(5)
    values = pd.DataFrame({"a": rng.uniform(0.0, 0.3, 3000)})
    outcome = rng.random(3000) < 1.0 / (1.0 + np.exp(-8.0 * (values["a"].to_numpy() - 0.6)))
    out = outcome_boundary(values, outcome, {"a": 0.1})
    assert out["status"] == "beyond_prior" and "no boundary within the prior" in out["text"]
    assert out["boundary_value"] > 0.3


def test_separating_parameter_gives_a_finite_fit_and_no_variation_is_said() -> None:
    values = pd.DataFrame({"a": np.linspace(0.0, 1.0, 101)})
    out = outcome_boundary(values, values["a"].to_numpy() > 0.5, {"a": 0.2})
    assert out["status"] == "boundary" and abs(out["boundary_value"] - 0.5) < 0.05
    same = outcome_boundary(pd.DataFrame({"a": np.ones(10)}), np.arange(10) < 5, {"a": 1.0})
    assert same["status"] == "no_variation" and "no parameter varies" in same["text"]
    assert outcome_boundary(pd.DataFrame(index=range(10)), np.arange(10) < 5, {})["status"] == "no_variation"


def test_noise_only_is_flagged_as_not_distinguishable() -> None:
    rng = np.random.default_rng(9)
    values = pd.DataFrame({"a": rng.uniform(0.0, 1.0, 300), "b": rng.uniform(0.0, 1.0, 300)})
    out = outcome_boundary(values, rng.random(300) < 0.3, {"a": 0.5, "b": 0.5})
    assert not out["clear"] and "not distinguishable from seed noise" in out["text"]


def test_scenario_robustness_reads_the_baseline_and_units_from_the_scenario() -> None:
    scenario, _ = load_scenario(ROOT / "runs" / "baseline.toml")
    rng = np.random.default_rng(2)
    gamma = rng.uniform(6.0, 14.0, 1000)
    table = pd.DataFrame({"run": np.arange(1000), "status": ["ok"] * 999 + ["failed"],
                          "market.winner_take_all": gamma,
                          "unipolar": rng.random(1000) < 1.0 / (1.0 + np.exp(-2.0 * (gamma - 12.0)))})
    out = scenario_robustness(table, ["market.winner_take_all"], scenario)
    assert out["runs"] == 999 and out["baseline_value"] == scenario.market.winner_take_all == 10.0
    assert out["unit"] == "1/quality unit" and abs(out["boundary_value"] - 12.0) < 3.0 * out["boundary_se"]
    assert "from the baseline's 10" in out["text"]


def test_the_ensemble_summary_report_and_figures_carry_the_robustness_line(tmp_path: Path) -> None:
    from runs.experiments import Execution, Setup, run_ensemble
    from runs.views import FIGURES, build_report

    path = tmp_path / "case.toml"
    path.write_text(baseline_text_without_uncertain()
                    + '\n[uncertain]\n"market.winner_take_all" = { dist = "uniform", low = 4.0, high = 16.0 }\n')
    setup = Setup.load(path, ("sim.years=1",), out_dir=tmp_path / "ens", figures=FIGURES,
                       execution=Execution(workers=1))
    result = run_ensemble(setup, runs=8)
    robustness = result.summary["robustness"]
    assert robustness["runs"] == 8 and robustness["status"] in ("boundary", "beyond_prior", "one_class")
    assert "market.winner_take_all" in robustness["text"]
    rows = dict(build_report(result.out_dir).summary_rows)
    assert rows["robustness (unipolar)"] == robustness["text"]
    assert (result.out_dir / "fan_hhi.png").is_file()
    plain = run_ensemble(Setup.load(ROOT / "runs" / "racing.toml", ("sim.years=1",), out_dir=tmp_path / "plain",
                                    execution=Execution(workers=1)), runs=3)  # racing has no [uncertain] table
    assert plain.summary["robustness"]["status"] == "no_variation"
