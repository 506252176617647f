"""``multipolar compare --respond --reoptimise`` (runs/experiments/compare.py, runs/experiments/respond.py,
runs/experiments/reoptimise.py, runs/cli/compare.py, runs/views/policy.py): the third variant per policy, evasion on
and routines re-optimised, against the no-policy world re-optimised by the same search; its tables, JSON, CSV and
figure; bad search options.  Everything runs in this process on short horizons and tiny searches."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from runs.cli import app
from runs.experiments import (
    EFFECTIVE_SUFFIX,
    REOPTIMISED_SUFFIX,
    Execution,
    ReoptimiseOptions,
    Setup,
    run_compare,
)
from runs.views import respond_figure

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
RUNS = 3


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory, strong_cap: Path):
    out = tmp_path_factory.mktemp("reoptimise") / "out"
    setup = Setup.load(BASELINE, ["sim.years=2"], execution=Execution(workers=1), out_dir=out)
    options = ReoptimiseOptions(runs=2, rounds=1, variables=("spend_rate_per_year", "safety_base"))
    return run_compare(setup, policies=[strong_cap], runs=RUNS, respond=True, reoptimise=options), out


def test_each_policy_runs_a_third_time_with_reoptimised_routines(compared) -> None:
    result, out = compared
    comparison = result.summary
    names = [arm["name"] for arm in comparison["arms"]]
    assert names == ["baseline", "baseline" + REOPTIMISED_SUFFIX, "strong_cap", "strong_cap" + EFFECTIVE_SUFFIX,
                     "strong_cap" + REOPTIMISED_SUFFIX]
    assert comparison["arms"][4]["reference"] == "baseline-reoptimised"
    assert comparison["common_random_numbers"]["verified"]
    searches = comparison["reoptimise"]["searches"]
    assert set(searches) == {"baseline", "strong_cap"}
    for search in searches.values():
        assert set(search["routines"]) == {"frontier", "open_weights", "fast_follower", "safety_focused", "startup"}
        assert search["rounds_run"] == 1 and search["runs_per_candidate"] == 2
        assert {row["variable"] for row in search["table"]} == {"spend_rate_per_year", "safety_base"}
        assert sum(row["chosen"] for row in search["table"]) == 5 * 2  # one choice per archetype and variable
    # the re-optimised arm runs the routines its search chose (its arm manifest's resolved scenario)
    manifest = json.loads((out / "arms" / "4-strong_cap-reoptimised" / "manifest.json").read_text())
    archetypes = manifest["scenario"]["resolved"]["archetypes"]
    for kind, values in searches["strong_cap"]["routines"].items():
        for var, value in values.items():
            assert archetypes[kind][var] == value
    assert manifest["scenario"]["resolved"]["enforcement"]["evasion"] is True


def test_the_reoptimised_effect_is_taken_from_the_reoptimised_no_policy_world(compared) -> None:
    result, _ = compared
    comparison = result.summary
    runs = result.table
    stat = comparison["respond"]["arms"]["strong_cap"]
    assert stat["reoptimised_arm"] == "strong_cap-reoptimised"
    hhi = stat["outcomes"]["final_hhi"]
    arm = runs[runs["arm"] == "strong_cap-reoptimised"].set_index("run")["final_hhi"]
    reference = runs[runs["arm"] == "baseline-reoptimised"].set_index("run")["final_hhi"]
    assert hhi["reoptimised"]["difference"] == pytest.approx(float((arm - reference).mean()))
    assert hhi["reoptimised"]["difference"] == comparison["comparisons"]["strong_cap-reoptimised"]["outcomes"][
        "final_hhi"]["difference"]
    assert hhi["leakage_reoptimised"] == pytest.approx(
        1.0 - hhi["reoptimised"]["difference"] / hhi["nominal"]["difference"])
    lo, hi = hhi["leakage_reoptimised_ci95"]
    assert lo <= hi and np.isfinite([lo, hi]).all()


@pytest.mark.parametrize(("options", "message"), [
    (["--reoptimise-rounds", "0"], "--reoptimise-rounds 0"),
    (["--reoptimise-step", "0.7"], "--reoptimise-step 0.7"),
    (["--reoptimise-runs", "1"], "--reoptimise-runs 1"),
    (["--reoptimise-ratio", "1"], "--reoptimise-ratio 1.0"),
])
def test_bad_search_options_exit_2_naming_them_and_write_nothing(tmp_path: Path, strong_cap: Path, options: list[str],
                                                                  message: str) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["compare", str(BASELINE), "--policy", str(strong_cap), "--runs", "2",
                                      "--workers", "1", "--respond", "--reoptimise", *options, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(("options", "message"), [
    (["--reoptimise"], "give --respond too"),
    (["--respond", "--reoptimise-runs", "8"], "--reoptimise-runs 8: tunes the search of --reoptimise"),
])
def test_reoptimise_belongs_to_respond(tmp_path: Path, strong_cap: Path, options: list[str], message: str) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["compare", str(BASELINE), "--policy", str(strong_cap), "--runs", "2",
                                      "--workers", "1", *options, "--out", str(out)])
    assert result.exit_code == 2 and message in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_the_command_prints_the_third_variant_and_the_surviving_share(tmp_path: Path, strong_cap: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["compare", str(BASELINE), "--policy", str(strong_cap), "--runs", "2",
                                      "--workers", "1", "--set", "sim.years=1", "--respond", "--reoptimise",
                                      "--reoptimise-runs", "2", "--reoptimise-rounds", "1", "--out", str(out),
                                      "--csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    headers = [row for row in rows if row and row[0] == "table"]
    assert any("re-optimised [95 % CI]" in h and "leakage, re-optimised [95 % CI]" in h for h in headers)
    assert any(row and row[0].startswith("baseline-reoptimised - baseline") for row in rows)
    assert any(row and row[0].startswith("strong_cap-reoptimised - baseline-reoptimised") for row in rows)
    assert "strong_cap: share of the nominal effect that survives" in result.stderr
    assert "with evasion and re-optimised routines" in result.stderr
    assert (out / "respond.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(pd.read_parquet(out / "runs.parquet")["arm"]) == {
        "baseline", "baseline-reoptimised", "strong_cap", "strong_cap-effective", "strong_cap-reoptimised"}


def test_the_respond_figure_draws_the_third_marker(compared) -> None:
    result, _ = compared
    figure = respond_figure(result.summary["respond"], title="t")
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert labels == ["nominal (full compliance)", "effective (evasion)", "evasion and re-optimised routines"]
    without = {arm: {**stat, "outcomes": {key: {k: v for k, v in outcome.items() if k != "reoptimised"}
                                          for key, outcome in stat["outcomes"].items()}}
               for arm, stat in result.summary["respond"]["arms"].items()}
    assert "evasion and re-optimised routines" not in respond_figure(
        {"arms": without}, title="t").axes[0].get_legend_handles_labels()[1]
