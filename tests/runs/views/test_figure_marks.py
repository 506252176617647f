"""Figures read at a glance, checked from the drawn artists: labels clear of the data, the scenario's star in its
cell, the P = 0.5 line between the cells it separates, whole-year ticks, no label cut off at the figure edge."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from economy.params import load_scenario
from runs.experiments import Plane, Setup, parse_grid, run_single
from runs.views import (
    fan_chart,
    grid_cell,
    half_boundary,
    label_overlaps,
    overview_figure,
    phase_figure,
    rank_share_chart,
    save_figure,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory: pytest.TempPathFactory):
    """The whole 20-year baseline, seed 0: its HHI crosses the 1,800 threshold and it has incidents."""
    out = tmp_path_factory.mktemp("marks") / "run"
    sc, text = load_scenario(ROOT / "runs" / "baseline.toml", [])
    run_single(Setup(sc, text, seed=0, out_dir=out))
    return (pd.read_parquet(out / "market.parquet"), pd.read_parquet(out / "labs.parquet"),
            pd.read_parquet(out / "events.parquet"), json.loads((out / "summary.json").read_text()))


def test_overview_threshold_labels_touch_no_data_line_and_events_are_marked(baseline_run) -> None:
    market, labs, events, summary = baseline_run
    hhi = market["hhi"].to_numpy()
    assert hhi.min() < 1_800 < hhi.max(), "the case that overlapped: the HHI line crosses a threshold"
    fig = overview_figure(market, labs, summary, events=events)
    ax = next(a for a in fig.axes if "Herfindahl" in a.get_ylabel())
    renderer = fig.canvas.get_renderer()
    data = [line for line in ax.get_lines() if len(line.get_xdata()) > 2 or line.get_linestyle() in ("None", "")]
    labels = [t for t in ax.texts if "concentrated" in t.get_text()]
    assert len(labels) == 2 and data
    for text in labels:
        assert not label_overlaps(text, data, renderer), text.get_text()
    kinds = set(events["kind"]) - {"strategy_change"}
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts()) if ax.get_legend() else ""
    assert kinds and all(kind.replace("_", " ").split()[0] in legend for kind in kinds if kind != "incident")
    if "incident" in kinds:
        assert "incident" in legend


def _keyhole_points():
    r, g = parse_grid("research.returns_to_research=0.4:3.6:6"), parse_grid("market.winner_take_all=0:40:6")
    rows = []
    for j, gv in enumerate(g.values):
        for i, rv in enumerate(r.values):
            p = float(1.0 / (1.0 + np.exp(-3.0 * (rv - 1.6) - (gv - 15.0) / 6.0)))
            rows.append({"point": len(rows), "plane": 0, "x_index": i, "y_index": j, r.key: rv, g.key: gv,
                         "p_unipolar": p, "p_unipolar_lo": 0.8 * p, "p_unipolar_hi": min(1.0, 1.2 * p),
                         "p_singularity": 0.5 * p, "p_singularity_lo": 0.0, "p_singularity_hi": 1.0,
                         "median_final_hhi": 9_000.0 * p, "median_final_hhi_lo": 0.0, "median_final_hhi_hi": 1e4})
    return Plane((r, g)), pd.DataFrame(rows)


def test_the_scenario_star_lies_in_the_cell_of_its_nearest_grid_point(tmp_path: Path) -> None:
    plane, points = _keyhole_points()
    base = {"research.returns_to_research": 1.2, "market.winner_take_all": 10.0}
    fig = phase_figure(points, [plane], title="keyhole", runs_per_point=50, base=base)
    save_figure(fig, tmp_path / "phase.png")
    x_values, y_values = plane.axes[0].values, plane.axes[1].values
    nearest = (int(np.argmin(np.abs(np.subtract(x_values, 1.2)))), int(np.argmin(np.abs(np.subtract(y_values, 10.0)))))
    assert nearest == (1, 1)  # r 1.04, gamma 8
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    for ax in panels:
        (star,) = [line for line in ax.get_lines() if line.get_marker() == "*"]
        mesh = ax.collections[0]
        x_edges = np.unique(mesh.get_coordinates()[..., 0])
        y_edges = np.unique(mesh.get_coordinates()[..., 1])
        cell = (grid_cell(float(star.get_xdata()[0]), x_edges), grid_cell(float(star.get_ydata()[0]), y_edges))
        assert cell == nearest
        shown = [t for t in ax.texts if np.allclose(t.get_position(), (x_values[1], y_values[1]))]
        assert len(shown) == 1, "the cell's own value is written at its grid point"
    assert "returns_to_research 1.2" in fig.texts[-1].get_text()


def test_the_half_line_runs_between_the_cells_it_separates() -> None:
    plane, points = _keyhole_points()
    fig = phase_figure(points, [plane], title="keyhole", runs_per_point=50)
    ax = fig.axes[0]
    boundary = [c for c in ax.collections if c.get_label() == "P = 0.5"]
    assert len(boundary) == 1
    grid = points.sort_values(["y_index", "x_index"])["p_unipolar"].to_numpy().reshape(6, 6)
    assert len(boundary[0].get_segments()) >= 6
    # a hand-made case: one cell above 0.5 in a 2 x 2 grid has two inner edges
    segments = half_boundary(np.array([[0.1, 0.2], [0.3, 0.9]]), np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0]))
    assert sorted(tuple(map(tuple, s)) for s in segments) == [((1.0, 1.0), (1.0, 2.0)), ((1.0, 1.0), (2.0, 1.0))]
    assert half_boundary(np.array([[np.nan, 0.9]]), np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0])) == []
    assert grid.max() > 0.5 > grid.min()


def test_fan_chart_ticks_are_whole_years_and_rank_share_label_is_not_cut() -> None:
    years = 2025.0 + np.arange(241) / 12.0
    values = np.linspace(1_000.0, 3_000.0, 241)[:, None] + np.arange(10)[None, :]
    fig = fan_chart(years, values, ylabel="HHI", title="t", footer="f", hhi_guides=True)
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    labels = [t.get_text() for t, v in zip(ax.get_xticklabels(), ax.get_xticks(), strict=True) if lo <= v <= hi]
    assert len(labels) >= 3 and all(label.isdigit() and len(label) == 4 for label in labels), labels
    assert len({b - a for a, b in zip(map(int, labels), map(int, labels[1:]), strict=False)} & {1, 2, 5, 10}) == 1
    shares = np.sort(np.random.default_rng(0).dirichlet(np.ones(6), size=50), axis=1)[:, ::-1]
    fig = rank_share_chart(shares, title="t", footer="f")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.axes[0].yaxis.label.get_window_extent(renderer)
    assert box.y0 >= 0 and box.y1 <= fig.bbox.height and box.x0 >= 0
