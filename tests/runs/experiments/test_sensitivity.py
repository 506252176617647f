"""Global sensitivity analysis (runs/experiments/sensitivity.py, runs/cli/sensitivity.py).

The method is checked on the Ishigami function, whose Sobol' indices are known in closed form, through the same
:func:`runs.experiments.sensitivity_analysis` the model uses; the model path is checked end to end on a small
design (files, sizes, seeds, the dummy factor, failures).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from economy.params import LogUniform, Uniform
from runs.checks import baseline_scenario
from runs.cli import app
from runs.experiments import (
    DUMMY,
    RUN_OUTCOMES,
    Execution,
    ExperimentInputError,
    Factor,
    ModelEvaluator,
    Setup,
    default_factors,
    factors_for,
    outcome_value,
    run_sensitivity,
    sensitivity_analysis,
)
from runs.views import FIGURES

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
SHORT = ["--set", "sim.years=2"]

# ---------------------------------------------------------------------------------------------- Ishigami

A, B = 7.0, 0.1
_V1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
_V2 = A**2 / 8
_V13 = B**2 * math.pi**8 * (1 / 18 - 1 / 50)
_V = _V1 + _V2 + _V13
ISHIGAMI_S1 = (_V1 / _V, _V2 / _V, 0.0)
ISHIGAMI_ST = ((_V1 + _V13) / _V, _V2 / _V, _V13 / _V)
"""Closed-form indices (Ishigami & Homma 1990; Sobol' & Levitan 1999): S1 = (0.314, 0.442, 0), ST = (0.558,
0.442, 0.244)."""

ISHIGAMI_FACTORS = tuple(Factor(f"x{i}", Uniform(dist="uniform", low=-math.pi, high=math.pi)) for i in (1, 2, 3))


def ishigami(values: np.ndarray) -> dict[str, np.ndarray]:
    x1, x2, x3 = values.T
    return {"y": np.sin(x1) + A * np.sin(x2) ** 2 + B * x3**4 * np.sin(x1)}


def test_closed_form_indices_are_right():
    assert ISHIGAMI_S1[0] == pytest.approx(0.3139, abs=1e-4)
    assert ISHIGAMI_S1[1] == pytest.approx(0.4424, abs=1e-4)
    assert ISHIGAMI_ST[2] == pytest.approx(0.2437, abs=1e-4)


def test_sobol_recovers_the_ishigami_indices():
    result = sensitivity_analysis(ISHIGAMI_FACTORS, ishigami, method="sobol", samples=2048, seed=3)
    assert result.n_runs == 2048 * (4 + 2)  # three factors and the dummy
    table = result.table("y").set_index("factor")
    for j, name in enumerate(("x1", "x2", "x3")):
        assert table.loc[name, "S1"] == pytest.approx(ISHIGAMI_S1[j], abs=0.04), name
        assert table.loc[name, "ST"] == pytest.approx(ISHIGAMI_ST[j], abs=0.04), name
        # the bootstrap interval is honest: it covers the truth (with slack for the interval's own error)
        assert abs(table.loc[name, "ST"] - ISHIGAMI_ST[j]) <= 2 * table.loc[name, "ST_conf"] + 0.01
    # the function never reads the dummy: its indices are exactly zero
    assert table.loc[DUMMY, "S1"] == 0.0 and table.loc[DUMMY, "ST"] == 0.0
    assert result.noise_threshold("y") == 0.0


def test_sobol_is_deterministic_and_seeded():
    a = sensitivity_analysis(ISHIGAMI_FACTORS, ishigami, samples=256, seed=1)
    b = sensitivity_analysis(ISHIGAMI_FACTORS, ishigami, samples=256, seed=1)
    c = sensitivity_analysis(ISHIGAMI_FACTORS, ishigami, samples=256, seed=2)
    pd.testing.assert_frame_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)


def test_morris_ranks_the_ishigami_factors():
    result = sensitivity_analysis(ISHIGAMI_FACTORS, ishigami, method="morris", samples=200, seed=0, levels=4)
    assert result.n_runs == 200 * (4 + 1)
    table = result.table("y").set_index("factor")
    assert table.loc[DUMMY, "mu_star"] == 0.0 and table.loc[DUMMY, "sigma"] == 0.0
    assert (table.loc[["x1", "x2", "x3"], "mu_star"] > 0.5).all()
    # x3 acts only through its interaction with x1: its effects change sign and size (sigma > |mu|)
    assert table.loc["x3", "sigma"] > abs(table.loc["x3", "mu"])


def test_design_follows_each_factors_distribution():
    factors = (Factor("a", LogUniform(dist="loguniform", low=0.4, high=3.6)),
               Factor("b", Uniform(dist="uniform", low=2.0, high=40.0)))
    result = sensitivity_analysis(factors, lambda v: {"y": v[:, 0] * v[:, 1]}, samples=512, seed=0)
    a, b = result.values[:, 0], result.values[:, 1]
    assert a.min() >= 0.4 and a.max() <= 3.6 and b.min() >= 2.0 and b.max() <= 40.0
    assert np.median(a) == pytest.approx(1.2, rel=0.05)  # log-uniform: the geometric midpoint
    assert np.median(b) == pytest.approx(21.0, rel=0.05)


def test_bad_inputs_are_refused():
    with pytest.raises(ExperimentInputError, match="power of two"):
        sensitivity_analysis(ISHIGAMI_FACTORS, ishigami, samples=100)
    with pytest.raises(ExperimentInputError, match="method"):
        sensitivity_analysis(ISHIGAMI_FACTORS, ishigami, method="fast")  # type: ignore[arg-type]
    with pytest.raises(ExperimentInputError, match="no output"):
        sensitivity_analysis(ISHIGAMI_FACTORS, ishigami, samples=8, outputs=["z"])


def test_outputs_with_missing_values_are_skipped_not_analysed():
    def holes(values: np.ndarray) -> dict[str, np.ndarray]:
        y = ishigami(values)["y"]
        return {"y": y, "holed": np.where(values[:, 0] > 2.0, np.nan, y), "flat": np.ones(len(y))}

    result = sensitivity_analysis(ISHIGAMI_FACTORS, holes, samples=64, seed=0)
    assert set(result.skipped) == {"holed", "flat"}
    assert set(result.indices["output"]) == {"y"}


# ---------------------------------------------------------------------------------------------- the model


def test_default_factors_follow_the_scenario():
    sc = baseline_scenario()
    keys = [f.key for f in default_factors(sc)]
    assert "research.returns_to_research" in keys and "market.winner_take_all" in keys
    assert ("network.publication_rate_per_year" in keys) == (sc.network.kind != "none")
    without_network = sc.model_copy(update={"network": sc.network.model_copy(update={"kind": "none"})})
    assert not any(k.startswith("network.") for k in (f.key for f in default_factors(without_network)))
    # a scenario's own [uncertain] table joins the defaults, its distribution winning for a key in both
    with_table = type(sc).model_validate({**sc.model_dump(mode="python"), "uncertain": {
        "research.parallelism": {"dist": "uniform", "low": 0.3, "high": 0.6},
        "compute.supply_growth_per_year": {"dist": "uniform", "low": 1.5, "high": 2.5}}})
    factors = {f.key: f for f in factors_for(with_table)}
    assert list(factors) == [*keys, "compute.supply_growth_per_year"]
    assert factors["research.parallelism"].distribution == Uniform(dist="uniform", low=0.3, high=0.6)
    assert factors["research.returns_to_research"] == default_factors(sc)[0]


def test_the_baseline_keeps_its_default_factors_with_gamma_from_its_table():
    """runs/baseline.toml's [uncertain] table holds gamma only: the analysis keeps the 14 default factors (15 with the
    dummy, as docs/sensitivity.md's measured table), gamma drawn from the table's prior, the hindcast's posterior."""
    sc = baseline_scenario()
    assert list(sc.uncertain) == ["market.winner_take_all"]
    factors = factors_for(sc)
    assert [f.key for f in factors] == [f.key for f in default_factors(sc)] and len(factors) == 14
    gamma = {f.key: f for f in factors}["market.winner_take_all"]
    assert gamma.distribution == sc.uncertain["market.winner_take_all"] and gamma.distribution.dist == "normal"
    assert gamma.distribution != {f.key: f for f in default_factors(sc)}["market.winner_take_all"].distribution


def test_outcome_censoring():
    sc = baseline_scenario()
    assert outcome_value({"takeoff_years": None}, "takeoff_years", sc) == sc.sim.years
    assert outcome_value({"singularity_year": None}, "singularity_year", sc) == sc.sim.start_year + sc.sim.years
    assert math.isnan(outcome_value({"leader_gap_ooms": None}, "leader_gap_ooms", sc))
    assert outcome_value({"unipolar": True}, "unipolar", sc) == 1.0
    assert set(RUN_OUTCOMES) >= {"final_hhi", "takeoff_years", "unipolar", "leader_share"}


def test_model_evaluator_runs_design_rows_as_ensemble_runs():
    sc = baseline_scenario().model_copy(update={"sim": baseline_scenario().sim.model_copy(update={"years": 2.0})})
    factors = (Factor("market.winner_take_all", Uniform(dist="uniform", low=2.0, high=40.0)),)
    evaluator = ModelEvaluator(sc, ["market.winner_take_all"], seed=11, outcomes=("final_hhi", "leader_share"),
                               execution=Execution(workers=1, chunk=3))
    values = np.array([[5.0], [20.0], [35.0], [20.0], [5.0]])
    out = evaluator(values)
    table = evaluator.table
    assert list(table["run"]) == [0, 1, 2, 3, 4]
    assert list(table["market.winner_take_all"]) == [5.0, 20.0, 35.0, 20.0, 5.0]
    assert (table["status"] == "ok").all()
    assert np.isfinite(out["final_hhi"]).all()
    # run i is ensemble run i: the same seed and value give the same result in a different chunking
    again = ModelEvaluator(sc, ["market.winner_take_all"], seed=11, outcomes=("final_hhi",),
                           execution=Execution(workers=1, chunk=5))(values)
    np.testing.assert_array_equal(again["final_hhi"], out["final_hhi"])
    # different runs have different seeds, so equal values need not give equal outcomes ...
    assert out["final_hhi"][1] != out["final_hhi"][3]
    # ... and stronger winner-take-all concentrates the market more
    assert out["final_hhi"][2] > out["final_hhi"][0]
    assert factors[0].key in table


def test_invalid_draws_become_nan_and_are_reported(tmp_path):
    sc = baseline_scenario().model_copy(update={"sim": baseline_scenario().sim.model_copy(update={"years": 1.0})})
    # frontier train + inference fraction above 1 is refused by the schema for part of this range
    factors = (Factor("archetypes.frontier.train_fraction", Uniform(dist="uniform", low=0.3, high=0.9)),)
    study = run_sensitivity(Setup(sc, "", out_dir=tmp_path / "s", execution=Execution(workers=1)), method="sobol",
                            samples=8, outputs=("final_hhi",), factors=factors)
    result, target = study.details["analysis"], study.out_dir
    table = pd.read_parquet(target / "runs.parquet")
    assert (table["status"] == "invalid").any() and (table["status"] == "ok").any()
    assert "final_hhi" in result.skipped
    summary = json.loads((target / "sensitivity.json").read_text())
    assert summary["failed_runs"] == int((table["status"] != "ok").sum())


@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    sc = baseline_scenario()
    sc = sc.model_copy(update={"sim": sc.sim.model_copy(update={"years": 4.0})})
    factors = (Factor("market.winner_take_all", Uniform(dist="uniform", low=2.0, high=40.0)),
               Factor("research.returns_to_research", LogUniform(dist="loguniform", low=0.4, high=3.6)))
    out = tmp_path_factory.mktemp("sens") / "study"
    setup = Setup(sc, "name = 'x'", seed=4, out_dir=out, execution=Execution(workers=1), figures=FIGURES)
    study = run_sensitivity(setup, method="sobol", samples=16, outputs=("final_hhi", "frontier_log10_eff_compute"),
                            factors=factors)
    return study.details["analysis"], study.out_dir


def test_model_study_writes_its_outputs(small_study):
    result, target = small_study
    for name in ("runs.parquet", "indices.csv", "sensitivity.json", "sensitivity.png", "manifest.json"):
        assert (target / name).is_file(), name
    table = pd.read_parquet(target / "runs.parquet")
    assert len(table) == 16 * (3 + 2) == result.n_runs  # N (d + 2), d = 2 factors and the dummy
    assert DUMMY in table and (table["status"] == "ok").all()
    indices = pd.read_csv(target / "indices.csv")
    assert set(indices["output"]) == {"final_hhi", "frontier_log10_eff_compute"}
    assert set(indices["factor"]) == {"market.winner_take_all", "research.returns_to_research", DUMMY}
    summary = json.loads((target / "sensitivity.json").read_text())
    assert summary["runs"] == result.n_runs and summary["method"] == "sobol"
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["sensitivity"]["samples"] == 16
    # the takeoff speed (frontier compute) is driven by the returns to research, not by the market's logit
    frontier = result.table("frontier_log10_eff_compute").set_index("factor")
    assert frontier.loc["research.returns_to_research", "ST"] > frontier.loc["market.winner_take_all", "ST"]


def test_cli_sensitivity_json_and_table(tmp_path):
    result = CliRunner().invoke(app, ["sensitivity", str(BASELINE), *SHORT, "--method", "morris", "--samples", "3",
                                      "--outputs", "final_hhi,leader_share", "--out", str(tmp_path / "m"), "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["method"] == "morris"
    n_factors = len(default_factors(baseline_scenario())) + 1  # the baseline's gamma is one of them
    assert payload["runs"] == 3 * (n_factors + 1)
    assert len(payload["factors"]) == 14  # the real factors (the dummy is not listed)
    assert set(payload["outputs"]) == {"final_hhi", "leader_share"}
    assert "mu_star" in payload["outputs"]["final_hhi"]["indices"][0]
    assert "final_hhi (morris" in result.stderr  # the table went to stderr


def test_cli_sensitivity_bad_input(tmp_path):
    runner = CliRunner()
    bad_method = runner.invoke(app, ["sensitivity", str(BASELINE), "--method", "fast", "--out", str(tmp_path / "a")])
    assert bad_method.exit_code == 2 and "--method" in bad_method.stderr
    bad_output = runner.invoke(app, ["sensitivity", str(BASELINE), "--outputs", "hhi", "--out", str(tmp_path / "b")])
    assert bad_output.exit_code == 2 and "known:" in bad_output.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cli_sensitivity_rounds_samples_to_a_power_of_two(tmp_path):
    result = CliRunner().invoke(app, ["sensitivity", str(BASELINE), "--set", "sim.years=1", "--samples", "3",
                                      "--outputs", "final_hhi", "--no-dummy", "--out", str(tmp_path / "r"), "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "rounded up to 4" in result.stderr
    payload = json.loads(result.stdout)
    assert payload["samples"] == 4 and payload["dummy"] is False


@pytest.mark.slow
def test_dask_workers_give_the_same_runs(tmp_path):
    sc = baseline_scenario()
    sc = sc.model_copy(update={"sim": sc.sim.model_copy(update={"years": 2.0})})
    values = np.array([[5.0], [20.0], [35.0], [12.0]])
    alone = ModelEvaluator(sc, ["market.winner_take_all"], seed=2, outcomes=("final_hhi",),
                           execution=Execution(workers=1, chunk=1))(values)
    dask = ModelEvaluator(sc, ["market.winner_take_all"], seed=2, outcomes=("final_hhi",),
                          execution=Execution(workers=2, chunk=1))(values)
    np.testing.assert_array_equal(alone["final_hhi"], dask["final_hhi"])


def test_correlations_of_the_uncertain_table_are_not_applied_and_the_summary_says_so(tmp_path):
    from economy.params import validate_scenario

    data = baseline_scenario().model_dump(mode="python", exclude={"uncertain", "uncertain_correlations"})
    data["sim"]["years"] = 0.5
    data["uncertain"] = {"market.winner_take_all": {"dist": "uniform", "low": 4.0, "high": 16.0},
                         "research.returns_to_research": {"dist": "loguniform", "low": 0.4, "high": 3.6},
                         "correlations": [{"keys": ["market.winner_take_all", "research.returns_to_research"],
                                           "spearman": 0.8}]}
    sc = validate_scenario(data)
    study = run_sensitivity(Setup(sc, "", out_dir=tmp_path / "s", execution=Execution(workers=1)), method="sobol",
                            samples=8, outputs=("final_hhi",), dummy=False)
    assert "0.8" in study.summary["correlations_not_applied"]
    table = study.table
    u = table[["market.winner_take_all", "research.returns_to_research"]].rank().corr().iloc[0, 1]
    assert abs(u) < 0.6  # SALib's independent design, not the declared 0.8
