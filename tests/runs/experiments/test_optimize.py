"""The policy optimiser (runs/experiments/optimize.py, runs/cli/optimize.py; docs/policies.md "Optimise").

A compute tax raises revenue B r / (1 + r) from a lab spending B (docs/policies.md), increasing in the rate r on
common random numbers; so "the least revenue that still raises at least R(0.25)" has its optimum at r = 0.25,
which the search must find within its step.  The same seed gives the same trials.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from economy.params import load_policy_file, load_scenario
from runs.cli import app
from runs.experiments import (
    Execution,
    ExperimentInputError,
    Objective,
    Setup,
    parse_objective,
    parse_search,
    run_ensemble,
    run_optimize,
)
from runs.views import FIGURES

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
TAX = ROOT / "runs" / "policies" / "compute_tax.toml"
SHORT = ("sim.years=0.25", "policies.compute_tax.start_year=2025")
RUNS = 2
SEED = 11


def _setup(out: Path) -> Setup:
    return Setup.load(BASELINE, SHORT, [TAX], seed=SEED, out_dir=out, execution=Execution(workers=1),
                      figures=FIGURES)


def test_parse_search_and_objective() -> None:
    item = parse_search("policies.compute_cap.max_training_flop=1e26:1e29:log")
    assert (item.key, item.low, item.high, item.log, item.step) == (
        "policies.compute_cap.max_training_flop", 1e26, 1e29, True, None)
    assert parse_search("policies.compute_tax.rate=0:0.5:0.05").step == 0.05
    assert parse_objective("min p_unipolar") == Objective("min", "p_unipolar")
    assert parse_objective("max diff_tax_revenue").direction == "max"
    for bad in ("research.returns_to_research=0.5:2", "policies.compute_tax.rate=0.5:0.1",
                "policies.compute_tax.rate=0:1:log"):
        with pytest.raises(ExperimentInputError, match="--search"):
            parse_search(bad)
    with pytest.raises(ExperimentInputError, match="not an outcome"):
        parse_objective("min nosuch")


@pytest.mark.slow
def test_it_finds_the_rate_where_the_revenue_constraint_binds(tmp_path: Path) -> None:
    setup = _setup(tmp_path / "opt")
    at_quarter = replace(setup, scenario=load_scenario(BASELINE, [*SHORT, "policies.compute_tax.rate=0.25"],
                                                       [load_policy_file(TAX)])[0], out_dir=tmp_path / "quarter")
    revenue = float(run_ensemble(at_quarter, runs=RUNS).table["tax_revenue_usd"].mean())
    assert revenue > 0.0
    result = run_optimize(setup, search=[parse_search("policies.compute_tax.rate=0.05:0.5:0.05")],
                          objectives=[parse_objective("min diff_tax_revenue")],
                          constraints=[f"diff_tax_revenue>={revenue * (1 - 1e-9)!r}"], trials=14, runs=RUNS)
    trials = result.table
    rates = trials["policies.compute_tax.rate"]
    # monotone on common random numbers: feasible exactly from 0.25 up
    assert (trials["feasible"] == (rates >= 0.25 - 1e-9)).all()
    best = trials[trials["pareto"]]
    assert not best.empty and (abs(best["policies.compute_tax.rate"] - 0.25) <= 0.05 + 1e-9).all()
    summary = json.loads((result.out_dir / "summary.json").read_text())
    assert summary["sampler"] == "TPE" and summary["front"]
    (first, *_) = summary["best_files"]
    policy = tomllib.loads((result.out_dir / first).read_text())
    assert policy["policies"][0]["kind"] == "compute_tax"
    assert policy["policies"][0]["rate"] == pytest.approx(summary["front"][0]["policies.compute_tax.rate"])
    load_scenario(BASELINE, [], [load_policy_file(result.out_dir / first)])  # ready to use with --policy
    assert (result.out_dir / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_the_same_seed_gives_the_same_trials(tmp_path: Path) -> None:
    def trials(name: str) -> pd.DataFrame:
        result = CliRunner().invoke(app, [
            "optimize", str(BASELINE), "--policy", str(TAX), "--set", SHORT[0], "--set", SHORT[1],
            "--search", "policies.compute_tax.rate=0.05:0.5", "--search", "policies.compute_tax.small_share=0:0.2",
            "--objective", "max diff_tax_revenue", "--objective", "min median_final_hhi", "--trials", "3",
            "--runs", str(RUNS), "--seed", str(SEED), "--workers", "1", "--out", str(tmp_path / name)],
            catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return pd.read_parquet(tmp_path / name / "trials.parquet")

    first, second = trials("a"), trials("b")
    columns = ["policies.compute_tax.rate", "policies.compute_tax.small_share", "diff_tax_revenue",
               "median_final_hhi"]
    pd.testing.assert_frame_equal(first[columns], second[columns], check_exact=True)
    assert first["policies.compute_tax.rate"].nunique() == 3


def test_a_search_key_outside_the_scenarios_policies_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "optimize", str(BASELINE), "--search", "policies.compute_cap.max_training_flop=1e26:1e29:log",
        "--objective", "min p_unipolar", "--trials", "2", "--runs", "2", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "compute_cap" in result.stderr
    assert not (tmp_path / "x").exists()
