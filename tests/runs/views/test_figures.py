"""The standalone run figures (runs/views/run.py) and the phase diagrams of sweeps (runs/views/sweep.py).

Each figure is drawn from a small real output (a two-year baseline run; a 2 x 2 sweep of three runs per point),
written as PNG, and checked: the file is a PNG of the figure's pixel size, the axes carry the expected labels
with units, and the drawn data are the output's.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from economy.params import load_scenario
from runs.experiments import Execution, Plane, Setup, parse_grid, run_single, run_sweep
from runs.views import (
    DPI,
    PHASE_STATISTICS,
    axis_label,
    effective_labs_figure,
    gini_coefficient,
    horizon_labs,
    lorenz_curve,
    lorenz_figure,
    phase_figure,
    quality_figure,
    rank_share_figure,
    regime_guides,
    run_figure_set,
    save_figure,
    sweep_figure_set,
    top_shares_figure,
)

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"


@pytest.fixture(scope="module")
def run_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    out = tmp_path_factory.mktemp("figures") / "run"
    sc, text = load_scenario(BASELINE, ["sim.years=2"])
    run_single(Setup(sc, text, seed=5, out_dir=out))
    summary = json.loads((out / "summary.json").read_text())
    return pd.read_parquet(out / "market.parquet"), pd.read_parquet(out / "labs.parquet"), summary


@pytest.fixture(scope="module")
def sweep_output(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("figures") / "sweep"
    planes = (Plane((parse_grid("research.returns_to_research=0.6:2:2"), parse_grid("market.winner_take_all=5:30:2"))),)
    result = run_sweep(Setup.load(BASELINE, ["sim.years=1"], out_dir=out, execution=Execution(workers=1)), runs=3,
                       planes=planes)
    return result, planes


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _check_png(fig: Figure, path: Path) -> None:
    save_figure(fig, path)
    assert path.stat().st_size > 10_000, "a figure with data is more than a few kB"
    w, h = fig.get_size_inches()
    assert _png_size(path) == (round(w * DPI), round(h * DPI))


def _labels(fig: Figure) -> str:
    return " | ".join(f"{ax.get_xlabel()} / {ax.get_ylabel()} / {ax.get_title(loc='left')} {ax.get_title()}"
                      for ax in fig.axes)


def _footer(fig: Figure) -> str:
    return " ".join(t.get_text() for t in fig.texts)


# ---------------------------------------------------------------------------------------------- run figures
def test_effective_labs_figure(run_output, tmp_path: Path) -> None:
    market, _, summary = run_output
    fig = effective_labs_figure(market, summary)
    _check_png(fig, tmp_path / "effective.png")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "year" and "10,000 / HHI" in ax.get_ylabel()
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["effective number of labs"].get_ydata(), market["effective_labs"])
    assert f"{market['effective_labs'].iloc[-1]:.2f}" in ax.get_title(loc="left")
    assert "Source: Multipolar" in _footer(fig) and "Merger Guidelines" in _footer(fig)


def test_top_shares_figure(run_output, tmp_path: Path) -> None:
    market, _, summary = run_output
    fig = top_shares_figure(market, summary)
    _check_png(fig, tmp_path / "top.png")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "year" and "share of the labs' market" in ax.get_ylabel()
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["top-1 share (the leader)"].get_ydata(), market["top1_share"])
    np.testing.assert_allclose(lines["top-4 share"].get_ydata(), market["top4_share"])
    assert ax.get_ylim() == (0.0, 1.0)


def test_lorenz_figure_and_gini_match_the_market_series(run_output, tmp_path: Path) -> None:
    market, labs, summary = run_output
    fig = lorenz_figure(labs, summary)
    _check_png(fig, tmp_path / "lorenz.png")
    ax = fig.axes[0]
    assert "cumulative share of labs alive" in ax.get_xlabel() and "cumulative share" in ax.get_ylabel()
    final = horizon_labs(labs)
    assert final["step"].nunique() == 1 and final["step"].iloc[0] == labs["step"].max()
    gini = gini_coefficient(final["revenue_usd_per_year"])
    step = int(final["step"].iloc[0])
    assert gini == pytest.approx(float(market.loc[market["step"] == step, "gini_revenue"].iloc[0]), rel=1e-9)
    labels = [line.get_label() for line in ax.get_lines()]
    assert f"revenue (USD/year): Gini {gini:.2f}" in labels
    assert any(label.startswith("owned compute (FLOP/year): Gini") for label in labels)


def test_gini_and_lorenz_closed_forms() -> None:
    assert gini_coefficient([3.0, 3.0, 3.0]) == pytest.approx(0.0)
    assert gini_coefficient([0.0, 0.0, 0.0, 5.0]) == pytest.approx(0.75)  # (m - 1) / m
    assert gini_coefficient([1.0, 2.0, 3.0, 4.0]) == pytest.approx(0.25)  # mean abs difference / (2 mean)
    assert math.isnan(gini_coefficient([]))
    x, y = lorenz_curve([1.0, 3.0])
    np.testing.assert_allclose(x, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(y, [0.0, 0.25, 1.0])
    x, y = lorenz_curve([0.0, 0.0])
    np.testing.assert_allclose(y, x)


def test_quality_figure(run_output, tmp_path: Path) -> None:
    market, _, summary = run_output
    fig = quality_figure(market, summary)
    _check_png(fig, tmp_path / "quality.png")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "year" and "quality" in ax.get_ylabel() and "FLOP" in ax.get_ylabel()
    labels = [line.get_label() for line in ax.get_lines()]
    assert "frontier (best served model)" in labels and any("par-human threshold" in s for s in labels)
    levels = [line.get_ydata()[0] for line in ax.get_lines() if "par-human threshold" in line.get_label()]
    assert levels[0] == pytest.approx(summary["par_human_quality"])


def test_rank_share_figure(run_output, tmp_path: Path) -> None:
    _, labs, summary = run_output
    fig = rank_share_figure(labs, summary, n_dates=3)
    _check_png(fig, tmp_path / "rank.png")
    ax = fig.axes[0]
    assert "rank" in ax.get_xlabel() and "log scale" in ax.get_ylabel() and ax.get_yscale() == "log"
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]  # the dated profiles
    assert len(lines) == 3
    final = horizon_labs(labs)
    expected = np.sort(final["share"] / final["share"].sum())[::-1]
    np.testing.assert_allclose(lines[-1].get_ydata(), expected[expected > 0])
    assert np.all(np.diff(lines[-1].get_ydata()) <= 0)


def test_run_figure_set_names(run_output) -> None:
    market, labs, summary = run_output
    figures = run_figure_set(market, labs, summary)
    assert list(figures) == ["overview.png", "effective_labs.png", "top_shares.png", "lorenz.png", "quality.png",
                             "rank_shares.png"]
    assert all(isinstance(f, Figure) for f in figures.values())


# ---------------------------------------------------------------------------------------------- phase diagrams
def test_phase_figure_from_a_real_sweep(sweep_output, tmp_path: Path) -> None:
    result, planes = sweep_output
    sc, _ = load_scenario(BASELINE, ["sim.years=1"])
    figures = sweep_figure_set(result.table, planes, scenario=sc, runs_per_point=3)
    fig = figures["phase_diagram.png"]
    _check_png(fig, tmp_path / "phase.png")
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == len(PHASE_STATISTICS)
    for ax, stat in zip(panels, PHASE_STATISTICS, strict=True):
        assert ax.get_xlabel() == axis_label("research.returns_to_research")
        assert "dimensionless" in ax.get_xlabel() and "1/quality unit" in ax.get_ylabel()
        assert ax.get_title().startswith(stat.title)
        mesh = ax.collections[0]
        grid = np.asarray(mesh.get_array()).reshape(2, 2)
        expected = result.table.sort_values(["y_index", "x_index"])[stat.column].to_numpy().reshape(2, 2)
        np.testing.assert_allclose(grid, expected)
        texts = [t.get_text() for t in ax.texts]
        assert len([t for t in texts if t.endswith("%") or t[0].isdigit()]) >= 4  # every cell is labelled
    assert "common random numbers" in _footer(fig)


def test_phase_figure_one_axis_draws_lines_with_intervals(tmp_path: Path) -> None:
    plane = Plane((parse_grid("research.max_automation=0.5:1:3"),))
    points = pd.DataFrame({
        "point": [0, 1, 2], "plane": [0, 0, 0], "x_index": [0, 1, 2], "research.max_automation": [0.5, 0.75, 1.0],
        "p_unipolar": [0.1, 0.5, 0.9], "p_unipolar_lo": [0.0, 0.3, 0.7], "p_unipolar_hi": [0.3, 0.7, 1.0],
        "p_singularity": [0.0, 0.0, 0.2], "p_singularity_lo": [0.0, 0.0, 0.05], "p_singularity_hi": [0.2, 0.2, 0.5],
        "median_final_hhi": [1500.0, 2500.0, 4000.0], "median_final_hhi_lo": [1400.0, 2300.0, 3500.0],
        "median_final_hhi_hi": [1600.0, 2800.0, 4500.0],
    })
    fig = phase_figure(points, [plane], title="t", runs_per_point=10, base={"research.max_automation": 0.95})
    _check_png(fig, tmp_path / "line.png")
    for ax, stat in zip(fig.axes, PHASE_STATISTICS, strict=True):
        main = next(line for line in ax.get_lines() if line.get_label() == stat.title)
        np.testing.assert_allclose(main.get_ydata(), points[stat.column])
        assert "max_automation" in ax.get_xlabel() and ax.get_ylabel()


def test_regime_guides_follow_the_scenario() -> None:
    sc, _ = load_scenario(BASELINE, ["capability.alpha=0.04"])
    guides = regime_guides(sc)
    assert guides["research.returns_to_research"][0] == 1.0
    assert guides["market.winner_take_all"][0] == pytest.approx(25.0)  # gamma alpha = 1


def test_axis_label_units_for_list_items() -> None:
    assert axis_label("labs.list.0.cash_usd").endswith("(USD)")
    assert "(1/quality unit" not in axis_label("research.parallelism")


def test_save_figure_lays_out_once_and_writes_what_savefig_writes(tmp_path: Path) -> None:
    """save_figure lays a constrained figure out itself and saves it without its engine (one layout, not two):
    the PNG is byte for byte the one matplotlib's own savefig writes, and the figure keeps its engine."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    def build() -> Figure:
        fig = Figure(figsize=(6.0, 4.0), dpi=120, layout="constrained")
        FigureCanvasAgg(fig)
        ax_line, ax_image = fig.subplots(1, 2)
        ax_line.plot([0.0, 1.0, 2.0], [3.0, 1.0, 2.0], label="a long legend label")
        ax_line.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax_line.set_title("a title that takes room", loc="left")
        fig.colorbar(ax_image.imshow(np.arange(12.0).reshape(3, 4)), ax=ax_image, label="value")
        fig.suptitle("constrained layout with a colorbar")
        return fig

    reference = build()
    reference.savefig(tmp_path / "reference.png", dpi=120, format="png", metadata={"Software": "multipolar"},
                      pil_kwargs={"compress_level": 1})
    fig = build()
    save_figure(fig, tmp_path / "ours.png")
    assert (tmp_path / "ours.png").read_bytes() == (tmp_path / "reference.png").read_bytes()
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    save_figure(fig, tmp_path / "again.svg", fmt="svg")  # other formats: matplotlib's own path
    assert (tmp_path / "again.svg").stat().st_size > 0
