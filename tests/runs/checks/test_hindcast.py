"""The calibration against runs/data/ (runs.checks.hindcast, ``multipolar calibrate``; docs/calibration.md)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from economy.params import load_scenario
from runs.checks import (
    FIT_END,
    CalibrationInputError,
    HindcastModel,
    abc_fit,
    build_targets,
    load_observations,
    run_seed,
    scaled_distance,
    simulate_path,
    statistics_of,
    weighted_quantile,
)
from runs.cli import app
from runs.experiments import check_output_dir

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "runs" / "data"
HINDCAST = ROOT / "runs" / "hindcast_2023.toml"


@pytest.fixture(scope="module")
def hindcast():
    return load_scenario(HINDCAST)[0]


def test_targets_hold_out_everything_from_2025(hindcast):
    targets = build_targets(load_observations(DATA), hindcast)
    fit = [t for t in targets if t.in_sample]
    held = [t for t in targets if not t.in_sample]
    assert fit and held
    assert all(t.date <= FIT_END.isoformat() for t in fit)
    assert all(t.date > FIT_END.isoformat() for t in held)
    assert all(t.scale > 0.0 and math.isfinite(t.observed) for t in targets)
    # the series the brief names are all compared: compute, cost, algorithms, counts, revenue, shares
    assert {t.series for t in fit} >= {"largest_training_run_flop", "training_compute_growth_frontier",
                                       "training_cost_growth", "algorithmic_progress_halving_time",
                                       "developers_above_1e25_flop", "lab_annualized_revenue",
                                       "llm_enterprise_api_share"}
    # a published interval sets the scale: Cottier et al.'s 2.0-2.9 (90 %) in ln units
    cost = next(t for t in fit if t.series == "training_cost_growth")
    assert cost.scale == pytest.approx((math.log(2.9) - math.log(2.0)) / (2 * 1.6448536269514722))


def test_statistics_of_a_run_are_finite_and_deterministic(hindcast):
    targets = build_targets(load_observations(DATA), hindcast)
    a = statistics_of(simulate_path(hindcast, 3), targets, hindcast)
    b = statistics_of(simulate_path(hindcast, 3), targets, hindcast)
    assert np.array_equal(a, b)
    assert np.all(np.isfinite(a))
    shares = np.array([t.statistic == "lab_share" for t in targets])
    assert np.all((a[shares] >= 0.0) & (a[shares] <= 1.0))


def test_scaled_distance_and_weighted_quantile():
    assert scaled_distance(np.array([1.0, 3.0]), np.array([0.0, 0.0]), np.array([1.0, 3.0])) == pytest.approx(1.0)
    assert scaled_distance(np.array([np.nan]), np.array([0.0]), np.array([1.0])) == math.inf
    values = np.arange(1000.0)
    assert weighted_quantile(values, np.ones(1000), [0.5])[0] == pytest.approx(499.5, abs=0.6)
    weights = (values < 100).astype(float)  # all the weight on the first 100
    assert weighted_quantile(values, weights, [0.95])[0] < 100
    assert run_seed(0, np.array([1.0, 2.0])) == run_seed(0, np.array([1.0, 2.0])) != run_seed(1, np.array([1.0, 2.0]))


def test_bad_observations_name_the_file(tmp_path):
    with pytest.raises(CalibrationInputError, match="not a folder"):
        load_observations(tmp_path / "missing")
    with pytest.raises(CalibrationInputError, match="no observation files"):
        load_observations(tmp_path)
    shutil.copy(DATA / "training_cost_v1.csv", tmp_path / "training_cost_v1.csv")
    frame = pd.read_csv(tmp_path / "training_cost_v1.csv", dtype=str, keep_default_na=False)
    frame.loc[0, "value"] = "lots"
    frame.to_csv(tmp_path / "training_cost_v1.csv", index=False)
    with pytest.raises(CalibrationInputError, match=r"training_cost_v1.csv, line 2: value 'lots'"):
        load_observations(tmp_path)


def _invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_calibrate_bad_input_exits_2(tmp_path):
    result = _invoke("calibrate", HINDCAST, "--data", tmp_path / "nowhere", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "nowhere" in result.output
    result = _invoke("calibrate", ROOT / "runs" / "racing.toml", "--data", DATA, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "[uncertain]" in result.output  # racing has no [uncertain] table
    result = _invoke("calibrate", tmp_path / "none.toml", "--data", DATA, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "none.toml" in result.output
    result = _invoke("calibrate", HINDCAST, "--data", DATA, "--populations", "0")
    assert result.exit_code == 2


def test_calibrate_keeps_a_folder_it_did_not_write(tmp_path):
    """The output-folder rules of every command hold for calibrate too: a folder with someone else's files (here a
    manifest.json not written by Multipolar) is refused with exit 2 before any work, and left as it was."""
    out = tmp_path / "mine"
    (out / "src").mkdir(parents=True)
    (out / "manifest.json").write_text("{}")
    (out / "src" / "a.js").write_text("hi")
    result = _invoke("calibrate", HINDCAST, "--data", DATA, "--out", out, "--quick")
    assert result.exit_code == 2 and str(out) in result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["manifest.json", "src", "src/a.js"]
    assert (out / "manifest.json").read_text() == "{}" and (out / "src" / "a.js").read_text() == "hi"


@pytest.mark.slow
def test_calibrate_quick_writes_every_output(tmp_path):
    out = tmp_path / "cal"
    result = _invoke("calibrate", HINDCAST, "--data", DATA, "--out", out, "--quick", "--population-size", "10",
                     "--predictive", "6", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    for name in ("posterior.parquet", "predictive.parquet", "coverage.parquet", "robustness.parquet",
                 "marginals.png", "summary.json"):
        assert (out / name).is_file(), name
        assert name in manifest["files"] and len(manifest["files"][name]) == 64  # SHA-256
    assert any(name.startswith("predictive_") and name.endswith(".png") for name in manifest["files"])
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert len(posterior) == 10 and posterior["weight"].sum() == pytest.approx(1.0)
    for key, m in summary["posterior"].items():
        assert m["p05"] <= m["median"] <= m["p95"], key
    coverage = pd.read_parquet(out / "coverage.parquet")
    assert not coverage["in_sample"].all() and summary["coverage"]["held_out"] == int((~coverage["in_sample"]).sum())
    assert 0.0 <= summary["forecast"]["p_unipolar"] <= 1.0
    assert [r["variant"] for r in summary["robustness"]] == ["posterior", "gamma=6", "gamma=10", "gamma=14",
                                                             "network=none"]
    assert not list(out.glob(".abc-*")), "pyabc's database is temporary"
    assert check_output_dir(out, "calibrate").name == "cal"  # its own folder: a rerun may replace it (no raise)


# ---------------------------------------------------------------------------------------------- simulation-based
SBC_KEYS = ("compute.supply_growth_per_year", "research.software_doubling_months")
SBC_TRIALS = 8


def _sbc_scenario(hindcast):
    """The hindcast over its fit window only (2 years), calibrating two keys the targets identify."""
    from economy.params import validate_scenario

    data = hindcast.model_dump(mode="python")
    data["sim"] = {**data["sim"], "years": 2.0}
    data["uncertain"] = {k: v for k, v in data["uncertain"].items() if k in SBC_KEYS}
    return validate_scenario(data, source="sbc")


def _synthetic_fit(model, targets, u_true, seed):
    """The in-sample targets with their observed values replaced by the model's statistics at ``u_true``."""
    from dataclasses import replace

    scenario = model.runs.scenario(model.values(u_true))
    stats = statistics_of(simulate_path(scenario, seed), targets, scenario)
    return [replace(t, observed=float(v)) for t, v in zip(targets, stats, strict=True)]


@pytest.mark.slow
def test_simulation_based_calibration(hindcast, tmp_path):
    """Synthetic observations from known parameters (drawn from the prior, fixed seeds): the 90 % posterior
    intervals cover the truth in at least 12 of 16 cases (the binomial(16, 0.9) 2 % lower tail; ABC with a
    finite tolerance errs wide, so no upper bound), and the posterior narrows as observations are added (one
    target, then all of them) for the key that one target does not identify."""

    scenario = _sbc_scenario(hindcast)
    targets = [t for t in build_targets(load_observations(DATA), scenario) if t.in_sample]
    model = HindcastModel(scenario, targets, seed=0)
    rng = np.random.default_rng(17)
    covered, widths_all, widths_one = [], [], []
    for trial in range(SBC_TRIALS):
        u_true = rng.random(len(SBC_KEYS))
        fit = _synthetic_fit(model, targets, u_true, seed=1000 + trial)
        u, w, _, _ = abc_fit(model, fit, seed=trial, populations=3, population_size=20,
                             database=tmp_path / f"sbc{trial}.db")
        for j in range(len(SBC_KEYS)):
            lo, hi = weighted_quantile(u[:, j], w, [0.05, 0.95])
            covered.append(lo <= u_true[j] <= hi)
            widths_all.append(hi - lo)
        if trial < 2:
            one = [t for t in fit if t.statistic == "compute_growth"][:1]
            model_one = HindcastModel(scenario, one, seed=0)
            u1, w1, _, _ = abc_fit(model_one, one, seed=trial, populations=3, population_size=20,
                                   database=tmp_path / f"one{trial}.db")
            widths_one += [float(np.diff(weighted_quantile(u1[:, j], w1, [0.05, 0.95]))[0])
                           for j in range(len(SBC_KEYS))]
    assert sum(covered) >= 12, covered
    assert np.mean(widths_all) < 0.9  # narrower than the prior's 90 % interval on the unit cube
    # adding observations narrows the posterior of what one target leaves open: compute growth alone identifies
    # the compute supply's growth about as well as all the targets do (ABC at 3 x 20 particles: widths within a
    # few hundredths either way, which order the platform's last bits decide), but not the software doubling time
    k = SBC_KEYS.index("research.software_doubling_months")
    assert np.mean(widths_all[k::len(SBC_KEYS)]) < np.mean(widths_one[k::len(SBC_KEYS)])
