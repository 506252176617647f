"""Parameter sweeps (runs/experiments/sweep.py, grid.py and stats.py; runs/cli/sweep.py).

Fast tests run in this process (``workers=1``) on a 2 x 2 grid of three runs per point over one or two years.
The test that starts a local Dask cluster is marked slow.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import baseline_text_without_uncertain
from scipy import stats
from typer.testing import CliRunner

from economy.params import load_scenario
from runs.cli import app
from runs.experiments import (
    KEYHOLE,
    Execution,
    ExperimentInputError,
    ExperimentResult,
    Plane,
    Setup,
    format_value,
    grid_points,
    keyhole_planes,
    median_interval,
    parse_grid,
    point_statistics,
    read_points,
    run_ensemble,
    run_sweep,
)
from runs.views import FIGURES

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
SHORT = ("sim.years=2",)
FIGURES_OF_AN_ENSEMBLE = ("fan_hhi.png", "fan_quality.png", "leader_share.png", "rank_shares.png")
GRID = ("research.returns_to_research=0.6:2.4:2", "market.winner_take_all=5:30:2")


def _invoke(*args: str):
    return CliRunner().invoke(app, ["sweep", *map(str, args)], catch_exceptions=False)


def _sweep(out: Path, planes: tuple[Plane, ...], *, runs: int, overrides: tuple[str, ...] | list[str], seed: int = 0,
           **kw) -> ExperimentResult:
    execution = Execution(workers=kw.pop("workers", 1), progress=kw.pop("progress", None))
    setup = Setup.load(BASELINE, overrides, seed=seed, out_dir=out, execution=execution, figures=FIGURES)
    return run_sweep(setup, runs=runs, planes=planes, **kw)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> ExperimentResult:
    out = tmp_path_factory.mktemp("sweep") / "small"
    planes = (Plane(tuple(parse_grid(g) for g in GRID)),)
    return _sweep(out, planes, runs=3, seed=4, overrides=list(SHORT))


# ---------------------------------------------------------------------------------------------- outputs
def test_points_parquet_has_one_row_per_grid_point(small: ExperimentResult) -> None:
    points = read_points(small.out_dir)
    assert len(points) == 4
    assert points["point"].tolist() == [0, 1, 2, 3]
    pairs = list(zip(points["research.returns_to_research"], points["market.winner_take_all"], strict=True))
    assert pairs == [(0.6, 5.0), (2.4, 5.0), (0.6, 30.0), (2.4, 30.0)]  # x varies fastest
    assert points["x_index"].tolist() == [0, 1, 0, 1] and points["y_index"].tolist() == [0, 0, 1, 1]
    assert (points["runs"] == 3).all() and (points["failed_runs"] == 0).all()
    for name in ("p_unipolar", "p_singularity", "p_takeoff", "p_catastrophe"):
        assert ((points[f"{name}_lo"] <= points[name]) & (points[name] <= points[f"{name}_hi"])).all(), name
        assert points[name].between(0.0, 1.0).all()
    assert points["median_final_hhi"].between(0.0, 10_000.0).all()
    for name in ("points.parquet", "summary.json", "manifest.json", "phase_diagram.png"):
        assert (small.out_dir / name).is_file(), name


def test_each_point_is_the_ensemble_of_its_scenario(small: ExperimentResult, tmp_path: Path) -> None:
    points = read_points(small.out_dir)
    row = points.iloc[3]
    sets = [*SHORT, "research.returns_to_research=2.4", "market.winner_take_all=30"]
    path = tmp_path / "plain.toml"  # the baseline draws gamma, which the sweep holds at the grid value instead
    path.write_text(baseline_text_without_uncertain())
    sc, text = load_scenario(path, sets)
    alone = run_ensemble(Setup(sc, text, seed=4, out_dir=tmp_path / "alone", execution=Execution(workers=1)), runs=3)
    table = pd.read_parquet(alone.out_dir / "runs.parquet")
    point_table = pd.read_parquet(small.out_dir / row["dir"] / "runs.parquet")
    for column in ("final_hhi", "leader_share", "frontier_quality"):
        np.testing.assert_array_equal(point_table[column], table[column])  # bit-identical
    expected = point_statistics(table)
    for name in ("p_unipolar", "p_singularity", "median_final_hhi"):
        assert row[name] == pytest.approx(expected[name], nan_ok=True)


def test_every_point_uses_the_same_seeds(small: ExperimentResult) -> None:
    keys = []
    for folder in read_points(small.out_dir)["dir"]:
        table = pd.read_parquet(small.out_dir / folder / "runs.parquet")
        keys.append((table["seed"].tolist(), [list(k) for k in table["spawn_key"]]))
    assert all(k == keys[0] for k in keys)
    assert keys[0] == ([4, 4, 4], [[0], [1], [2]])


def test_statistics_come_from_the_points_runs(small: ExperimentResult) -> None:
    for _, row in read_points(small.out_dir).iterrows():
        table = pd.read_parquet(small.out_dir / row["dir"] / "runs.parquet")
        assert row["p_unipolar"] == pytest.approx(table["unipolar"].mean())
        assert row["p_singularity"] == pytest.approx(table["singularity_year"].notna().mean())
        assert row["median_final_hhi"] == pytest.approx(table["final_hhi"].median())


def test_series_are_removed_unless_kept(small: ExperimentResult, tmp_path: Path) -> None:
    first = small.out_dir / read_points(small.out_dir)["dir"].iloc[0]
    assert (first / "runs.parquet").is_file() and not (first / "market").exists()
    planes = (Plane((parse_grid("market.winner_take_all=5:5:1"),)),)
    kept = _sweep(tmp_path / "kept", planes, runs=2, overrides=["sim.years=1"], keep_series=True)
    assert any((kept.out_dir / kept.table["dir"].iloc[0] / "market").glob("*.parquet"))


def test_point_figures_are_drawn_only_when_asked(small: ExperimentResult, tmp_path: Path) -> None:
    assert not list((small.out_dir / "points").rglob("*.png"))
    planes = (Plane((parse_grid("market.winner_take_all=5:5:1"),)),)
    drawn = _sweep(tmp_path / "drawn", planes, runs=2, overrides=["sim.years=1"], point_figures=True)
    point = drawn.out_dir / drawn.table["dir"].iloc[0]
    assert sorted(path.name for path in point.glob("*.png")) == sorted(FIGURES_OF_AN_ENSEMBLE)
    manifest = json.loads((point / "manifest.json").read_text())
    assert set(FIGURES_OF_AN_ENSEMBLE) <= set(manifest["files"])


def test_manifest_and_summary(small: ExperimentResult) -> None:
    manifest = json.loads((small.out_dir / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["sweep"]["status"] == "complete"
    assert manifest["sweep"]["runs_per_point"] == 3 and manifest["root_seed"] == 4
    assert manifest["sweep"]["planes"][0]["keys"] == ["research.returns_to_research", "market.winner_take_all"]
    assert manifest["scenario"]["overrides"] == list(SHORT)
    assert set(manifest["files"]) == {"points.parquet", "summary.json", "phase_diagram.png"}
    summary = json.loads((small.out_dir / "summary.json").read_text())
    assert summary["points"] == 4 and summary["total_runs"] == 12 and summary["failed_runs"] == 0
    hhi = summary["statistics"]["median_final_hhi"]
    assert hhi["max"] == pytest.approx(small.table["median_final_hhi"].max())


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    calls = []
    planes = (Plane((parse_grid("market.winner_take_all=5:30:2"),)),)
    _sweep(tmp_path / "p", planes, runs=2, overrides=["sim.years=1"], progress=lambda *args: calls.append(args))
    done = [c[0] for c in calls]
    assert done == sorted(done) and calls[-1] == (4, 4)


# ---------------------------------------------------------------------------------------------- grid
def test_parse_grid_values() -> None:
    axis = parse_grid("research.returns_to_research=0.4:3.6:5")
    assert axis.key == "research.returns_to_research"
    assert axis.values == (0.4, 1.2, 2.0, 2.8, 3.6)
    log = parse_grid("market.winner_take_all=1:100:3:log")
    assert log.values == (1.0, 10.0, 100.0) and log.log
    assert parse_grid("labs.list.0.cash_usd=1e9:1e9:1").values == (1e9,)


@pytest.mark.parametrize(("text", "words"), [
    ("research.returns_to_reserch=0:1:2", ["returns_to_reserch", "unknown key"]),
    ("nosuch.key=0:1:2", ["nosuch"]),
    ("research.returns_to_research", ["key=start:stop:n"]),
    ("research.returns_to_research=0:1", ["start:stop:n"]),
    ("research.returns_to_research=a:1:2", ["numbers"]),
    ("research.returns_to_research=0:1:0", ["at least one"]),
    ("research.returns_to_research=0:1:3:log", ["log grid"]),
])
def test_parse_grid_refuses_bad_input(text: str, words: list[str]) -> None:
    with pytest.raises(ExperimentInputError) as info:
        parse_grid(text)
    for word in words:
        assert word in str(info.value)


def test_keyhole_planes_and_grid_points() -> None:
    planes = keyhole_planes()
    assert [p.keys for p in planes] == [(KEYHOLE[0][0], KEYHOLE[1][0]), (KEYHOLE[0][0], KEYHOLE[2][0])]
    base = {"research.returns_to_research": 1.2, "market.winner_take_all": 10.0, "research.max_automation": 0.95}
    points = grid_points(planes, base)
    assert len(points) == 72
    second = points[36]
    assert second.plane == 1 and second.values["market.winner_take_all"] == 10.0  # the scenario's value
    assert second.overrides == ("research.returns_to_research=0.4", "research.max_automation=0.5")
    assert format_value(40.0) == "40" and format_value(0.5) == "0.5"


# ---------------------------------------------------------------------------------------------- statistics
def test_median_interval_matches_the_binomial_order_statistics() -> None:
    values = np.arange(1.0, 51.0)  # x_(k) = k
    assert median_interval(values) == (18.0, 33.0)  # the textbook ranks for n = 50
    for n in (6, 7, 20, 101, 1000):
        lo, hi = median_interval(np.arange(1.0, n + 1.0))
        l, u = int(lo), int(hi)
        assert u == n + 1 - l
        coverage = stats.binom.cdf(u - 1, n, 0.5) - stats.binom.cdf(l - 1, n, 0.5)
        assert coverage >= 0.95
        assert stats.binom.cdf(l, n, 0.5) > 0.025  # l + 1 would undercover: l is the largest
    assert all(math.isnan(v) for v in median_interval(np.arange(5.0)))


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_json_and_table(tmp_path: Path) -> None:
    result = _invoke(BASELINE, "--runs", "2", "--grid", "market.winner_take_all=5:30:2", "--set", "sim.years=1",
                     "--workers", "1", "--out", tmp_path / "cli", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["points"] == 2 and summary["kind"] == "sweep"
    assert "winner" in result.stderr and "P(unipolar)" in result.stderr  # "winner take all", wrapped between words
    assert len(pd.read_parquet(tmp_path / "cli" / "points.parquet")) == 2


@pytest.mark.parametrize(("args", "words"), [
    (["--grid", "research.nosuch=0:1:2"], ["research.nosuch"]),
    (["--grid", "research.returns_to_research=0.4:30:2"], ["research.returns_to_research", "30", "out of range"]),
    (["--grid", "market.winner_take_all=0:1:2", "--set", "market.winner_take_all=3"], ["--set"]),
    (["--grid", "market.winner_take_all=0:1:2"] * 2, ["twice"]),
    (["--grid", "market.winner_take_all=0:1:2", "--grid", "research.parallelism=0.3:0.6:2", "--grid",
      "research.substitution=0.3:0.6:2"], ["one or two"]),
    (["--set", "research.nosuch=1"], ["research.nosuch"]),
])
def test_cli_bad_input_exits_2_naming_the_key(tmp_path: Path, args: list[str], words: list[str]) -> None:
    out = tmp_path / "bad"
    result = _invoke(BASELINE, "--runs", "2", *args, "--workers", "1", "--out", out)
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.stderr
    assert not (out / "points.parquet").exists()


def test_registered_on_the_multipolar_app(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sweep", str(BASELINE), "--runs", "2", "--grid", "research.nosuch=0:1:2",
                                      "--out", str(tmp_path / "x")], catch_exceptions=False)
    assert result.exit_code == 2 and "research.nosuch" in result.stderr


SOFTWARE_PRIOR = '"research.software_doubling_months" = { dist = "uniform", low = 6.0, high = 12.0 }\n'


def test_a_grid_key_overrides_its_uncertain_draw_and_the_other_keys_are_still_drawn(tmp_path: Path) -> None:
    """Every run of a point has the grid value of a key [uncertain] draws; the table's other key still varies, with
    the draws of an ensemble whose table lacks the swept key (run for run the same outcomes)."""
    drawn = tmp_path / "drawn.toml"
    drawn.write_text(baseline_text_without_uncertain() + '\n[uncertain]\n"market.winner_take_all" = { dist = '
                     '"uniform", low = 5.0, high = 20.0 }\n' + SOFTWARE_PRIOR)
    setup = Setup.load(drawn, ("sim.years=1",), seed=2, out_dir=tmp_path / "sweep", execution=Execution(workers=1))
    result = run_sweep(setup, runs=4, planes=(Plane((parse_grid("market.winner_take_all=6:30:2"),)),))
    other = tmp_path / "other.toml"
    other.write_text(baseline_text_without_uncertain() + "\n[uncertain]\n" + SOFTWARE_PRIOR)
    for _, row in read_points(result.out_dir).iterrows():
        point = pd.read_parquet(result.out_dir / row["dir"] / "runs.parquet")
        assert "market.winner_take_all" not in point  # not drawn: the grid value, set for the point
        assert point["research.software_doubling_months"].nunique() == 4
        gamma = format_value(row["market.winner_take_all"])
        alone = run_ensemble(Setup.load(other, ("sim.years=1", f"market.winner_take_all={gamma}"), seed=2,
                                        out_dir=tmp_path / f"alone-{gamma}", execution=Execution(workers=1)), runs=4)
        table = pd.read_parquet(alone.out_dir / "runs.parquet")
        for column in ("research.software_doubling_months", "final_hhi", "leader_share", "frontier_quality"):
            np.testing.assert_array_equal(point[column], table[column])  # bit-identical
    first, last = (pd.read_parquet(result.out_dir / d / "runs.parquet") for d in read_points(result.out_dir)["dir"])
    assert not np.array_equal(first["final_hhi"], last["final_hhi"])  # the grid value acts


def test_a_foreign_directory_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = _invoke(BASELINE, "--runs", "2", "--grid", "market.winner_take_all=0:1:2", "--workers", "1",
                     "--out", out)
    assert result.exit_code == 2 and "manifest.json" in result.stderr
    assert (out / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_one_local_cluster_gives_the_in_process_results(small: ExperimentResult, tmp_path: Path) -> None:
    planes = (Plane(tuple(parse_grid(g) for g in GRID)),)
    dask = _sweep(tmp_path / "dask", planes, runs=3, seed=4, overrides=list(SHORT), workers=2)
    columns = ["p_unipolar", "p_singularity", "median_final_hhi", "median_leader_share"]
    pd.testing.assert_frame_equal(dask.table[columns], small.table[columns])
    for folder in small.table["dir"]:
        a = pd.read_parquet(small.out_dir / folder / "runs.parquet")
        b = pd.read_parquet(dask.out_dir / folder / "runs.parquet")
        np.testing.assert_array_equal(a["final_hhi"], b["final_hhi"])
        manifest = json.loads((dask.out_dir / folder / "manifest.json").read_text())
        assert manifest["ensemble"]["status"] == "complete"
