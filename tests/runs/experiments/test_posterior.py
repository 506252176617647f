"""Ensembles and comparisons over a calibration's posterior (runs/experiments/posterior.py, --posterior)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import baseline_text_without_uncertain
from typer.testing import CliRunner

from economy.engine import Simulation
from economy.params import load_scenario
from runs.cli import app
from runs.experiments import (
    POSTERIOR_STREAM_KEY,
    Execution,
    ExperimentInputError,
    Posterior,
    Setup,
    UncertainPlan,
    ensemble_design,
    read_market,
    run_compare,
    run_ensemble,
    run_root,
)

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
SHORT = ("sim.years=2",)
GAMMA, SOFTWARE, RETURNS = "market.winner_take_all", "research.software_doubling_months", "research.returns_to_research"


def _write(path: Path, columns: dict[str, list[float]]) -> Path:
    pd.DataFrame(columns).to_parquet(path, index=False)
    return path


@pytest.fixture
def posterior_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "posterior.parquet", {GAMMA: [6.0, 9.0, 13.0, 20.0], SOFTWARE: [6.0, 8.0, 10.0, 12.0],
                                                   "weight": [0.5, 0.3, 0.2, 0.0]})


def test_draws_follow_the_weights_and_each_run_has_its_own_stream(tmp_path: Path, posterior_file: Path) -> None:
    posterior = Posterior.load(posterior_file)
    rows = posterior.rows(seed=4, runs=20000)
    assert np.array_equal(posterior.rows(seed=4, runs=50), rows[:50])  # run i's draw does not depend on R
    freq = np.bincount(rows, minlength=4) / rows.size
    assert freq[3] == 0.0  # a zero weight is never drawn
    assert np.abs(freq[:3] - [0.5, 0.3, 0.2]).max() < 4 * np.sqrt(0.25 / rows.size)
    u = np.random.Generator(np.random.PCG64(np.random.SeedSequence(4, spawn_key=(7, POSTERIOR_STREAM_KEY)))).random()
    assert rows[7] == np.searchsorted(np.cumsum(posterior.weights), u, side="right")
    assert not np.array_equal(posterior.rows(seed=5, runs=50), rows[:50])
    assert posterior.sha256 == hashlib.sha256(posterior_file.read_bytes()).hexdigest()


def test_posterior_keys_replace_their_uncertain_sampling_and_the_rest_keep_theirs(tmp_path: Path) -> None:
    path = tmp_path / "case.toml"
    path.write_text(baseline_text_without_uncertain()
                    + f'\n[uncertain]\n"{GAMMA}" = {{ dist = "uniform", low = 6.0, high = 14.0 }}'
                    f'\n"{RETURNS}" = {{ dist = "loguniform", low = 0.4, high = 3.6 }}\n')
    scenario, _ = load_scenario(path)
    posterior = Posterior.load(_write(tmp_path / "p.parquet", {GAMMA: [7.0, 11.0], SOFTWARE: [6.0, 9.0],
                                                               "weight": [1.0, 3.0]}))
    plan = UncertainPlan.from_scenario(scenario)
    keys, design = ensemble_design(plan, posterior, 40, 2)
    assert keys == (RETURNS, GAMMA, SOFTWARE)
    assert np.array_equal(design[:, 0], plan.without([GAMMA]).design(40, 2)[:, 0])
    assert np.array_equal(design[:, 1:], posterior.values[posterior.rows(2, 40)])
    assert ensemble_design(plan, None, 40, 2)[1].tolist() == plan.design(40, 2).tolist()


@pytest.mark.parametrize(("columns", "needles"), [
    ({"market.no_such_key": [1.0], "weight": [1.0]}, ["market.no_such_key", "is not a parameter"]),
    ({GAMMA: [6.0, -3.0], "weight": [1.0, 1.0]}, [GAMMA, "-3", "row 1", "outside its allowed range"]),
    ({"sim.years": [5.0], "weight": [1.0]}, ["sim.years", "shared by all runs"]),
    ({GAMMA: [6.0], "weight": [-1.0]}, ["weight = -1", "row 0"]),
    ({GAMMA: [6.0]}, ["no 'weight' column"]),
    ({GAMMA: [np.nan], "weight": [1.0]}, [GAMMA, "not a finite number"]),
])
def test_bad_posteriors_are_refused_naming_the_key_value_and_file(tmp_path: Path, columns: dict,
                                                                  needles: list[str]) -> None:
    path = _write(tmp_path / "bad.parquet", columns)
    scenario, text = load_scenario(BASELINE, list(SHORT))
    out = tmp_path / "out"
    with pytest.raises(ExperimentInputError) as info:
        setup = Setup(scenario, text, overrides=SHORT, out_dir=out, posterior=Posterior.load(path))
        run_ensemble(setup, runs=2)
    for needle in (*needles, str(path)):
        assert needle in str(info.value)
    assert not out.exists()


def _posterior_ensemble(out: Path, posterior: Path, chunk: int) -> tuple[pd.DataFrame, dict, dict]:
    setup = Setup.load(BASELINE, SHORT, seed=9, out_dir=out, execution=Execution(workers=1, chunk=chunk),
                       posterior=Posterior.load(posterior))
    result = run_ensemble(setup, runs=6)
    return result.table, result.summary, json.loads((out / "manifest.json").read_text())


def test_posterior_ensemble_runs_the_drawn_sets_whatever_the_chunking(tmp_path: Path, posterior_file: Path) -> None:
    table, summary, manifest = _posterior_ensemble(tmp_path / "a", posterior_file, chunk=4)
    other, _, _ = _posterior_ensemble(tmp_path / "b", posterior_file, chunk=6)
    pd.testing.assert_frame_equal(table, other, check_exact=True)
    posterior = Posterior.load(posterior_file)
    assert np.array_equal(table[[GAMMA, SOFTWARE]].to_numpy(), posterior.draws(9, 6))
    sha = hashlib.sha256(posterior_file.read_bytes()).hexdigest()
    assert manifest["ensemble"]["posterior"]["sha256"] == sha
    assert manifest["ensemble"]["posterior"]["file"] == str(posterior_file)
    assert summary["posterior"]["sha256"] == sha and "posterior's" in summary["posterior"]["note"]
    assert summary["posterior"]["unipolar"] == summary["unipolar"] and summary["uncertain"] == [GAMMA, SOFTWARE]
    market = read_market(tmp_path / "a")
    sets = [*SHORT, *(f"{key}={float(table.loc[2, key])!r}" for key in (GAMMA, SOFTWARE))]
    direct, _ = load_scenario(BASELINE, sets)
    sim = Simulation(direct, [run_root(9, 2)], record_labs=False).run()
    got = market[market["run"] == 2].drop(columns="run").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, sim.market_frame(0), check_exact=True)


def test_compare_arms_draw_the_same_posterior_sets(tmp_path: Path, posterior_file: Path) -> None:
    setup = Setup.load(BASELINE, ("sim.years=1",), seed=2, out_dir=tmp_path / "cmp",
                       execution=Execution(workers=1), posterior=Posterior.load(posterior_file))
    result = run_compare(setup, policies=[ROOT / "runs" / "policies" / "compute_cap.toml"], runs=3)
    arms = [part for _, part in result.table.groupby("arm_index")]
    assert np.array_equal(arms[0][[GAMMA, SOFTWARE]].to_numpy(), arms[1][[GAMMA, SOFTWARE]].to_numpy())
    assert np.array_equal(arms[0][[GAMMA, SOFTWARE]].to_numpy(), Posterior.load(posterior_file).draws(2, 3))
    assert result.summary["posterior"]["sha256"] == Posterior.load(posterior_file).sha256
    assert result.summary["uncertain"] == [GAMMA, SOFTWARE]


def test_cli_posterior_option(tmp_path: Path, posterior_file: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    done = runner.invoke(app, ["ensemble", str(BASELINE), "--runs", "2", "--workers", "1", "--set", "sim.years=1",
                               "--posterior", str(posterior_file), "--out", str(out), "--json"],
                         env={"COLUMNS": "400"})
    assert done.exit_code == 0, done.stderr
    assert "the posterior's" in done.stderr and str(posterior_file) in done.stderr
    assert json.loads(done.stdout)["posterior"]["keys"] == [GAMMA, SOFTWARE]
    bad = _write(tmp_path / "bad.parquet", {GAMMA: [-5.0], "weight": [1.0]})
    refused = runner.invoke(app, ["compare", str(BASELINE), "--policy", str(ROOT / "runs/policies/compute_cap.toml"),
                                  "--runs", "2", "--workers", "1", "--posterior", str(bad), "--out",
                                  str(tmp_path / "x")])
    assert refused.exit_code == 2 and GAMMA in refused.stderr and "-5" in refused.stderr
    assert not (tmp_path / "x").exists()
    missing = runner.invoke(app, ["ensemble", str(BASELINE), "--runs", "2", "--posterior", str(tmp_path / "none"),
                                  "--out", str(tmp_path / "y")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
