"""Phase diagrams of a parameter sweep (``multipolar sweep``): outcomes over one or two swept parameters.

:func:`phase_figure` draws one row per plane of the sweep and one column per statistic (P(unipolar), the share
of runs with a singularity, the median final HHI).  A 2-D plane is a heat map with each cell's value written
in it; a 1-D plane is a line with its 95 % interval.  Guides mark the regime boundaries the model brief names:
``r = 1`` for returns to research (flatline below, explosive growth possible above with full automation) and
``gamma alpha = 1`` for winner-take-all strength (Arthur's lock-in regime above); a star marks the scenario's
own point.  In the style of :mod:`runs.views.style` (the ``cividis`` and ``viridis`` maps for the cells,
Okabe-Ito for lines).  :func:`write_sweep_figures` is the sweep's figure hook.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib import patheffects as pe
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from economy.params import Scenario
from runs.experiments.grid import Plane, scenario_value
from runs.views.style import DPI, GUIDE, OKABE_ITO, write_figures

__all__ = ["PHASE_STATISTICS", "PhaseStatistic", "axis_label", "grid_cell", "half_boundary", "phase_figure",
           "regime_guides", "sweep_figure_set", "write_sweep_figures"]


@dataclass(frozen=True)
class PhaseStatistic:
    """A column of points.parquet drawn as a phase diagram."""

    column: str
    title: str
    label: str
    cmap: str
    limits: tuple[float, float]
    probability: bool
    interval: tuple[str, str]


PHASE_STATISTICS: tuple[PhaseStatistic, ...] = (
    PhaseStatistic("p_unipolar", "P(unipolar)", "share of runs ending unipolar\n(leader > 50 % or HHI > 5,000)",
                   "cividis", (0.0, 1.0), True, ("p_unipolar_lo", "p_unipolar_hi")),
    PhaseStatistic("p_singularity", "P(singularity)", "share of runs with a singularity\nbefore the horizon",
                   "cividis", (0.0, 1.0), True, ("p_singularity_lo", "p_singularity_hi")),
    PhaseStatistic("median_final_hhi", "median final HHI", "median final HHI (0-10,000)", "viridis",
                   (0.0, 10_000.0), False, ("median_final_hhi_lo", "median_final_hhi_hi")),
)

_NAMES: dict[str, str] = {
    "research.returns_to_research": "returns to research r",
    "market.winner_take_all": "winner-take-all strength gamma",
    "research.max_automation": "automation cap (max. automated fraction)",
    "research.parallelism": "parallelism lambda",
    "research.substitution": "human/AI substitution sigma",
    "market.data_flywheel": "data flywheel zeta",
}
_LINE = OKABE_ITO["vermillion"]


def sweep_figure_set(points: pd.DataFrame, planes: Sequence[Plane], *, scenario: Scenario,
                     runs_per_point: int) -> dict[str, Figure]:
    """The sweep's figures keyed by file name (``phase_diagram.png``)."""
    keyhole = [p.keys for p in planes] == [("research.returns_to_research", "market.winner_take_all"),
                                           ("research.returns_to_research", "research.max_automation")]
    title = (f"Flatline or foom: the takeoff keyhole (scenario '{scenario.name}')" if keyhole
             else f"Phase diagrams: scenario '{scenario.name}'")
    base = {key: scenario_value(scenario, key) for plane in planes for key in plane.keys}
    return {"phase_diagram.png": phase_figure(points, planes, title=title, runs_per_point=runs_per_point,
                                              guides=regime_guides(scenario), base=base, scenario_name=scenario.name)}


def write_sweep_figures(folder: Path, *, points: pd.DataFrame, planes: Sequence[Plane], scenario: Scenario,
                        runs_per_point: int, formats: Sequence[str] = ("png",)) -> list[str]:
    """The sweep's figure hook: :func:`sweep_figure_set` written into ``folder`` in each of ``formats``."""
    figures = sweep_figure_set(points, planes, scenario=scenario, runs_per_point=runs_per_point)
    return write_figures(folder, figures, formats)


def regime_guides(scenario: Scenario) -> dict[str, tuple[float, str]]:
    """Regime boundaries per key: ``r = 1`` and ``gamma = 1 / alpha`` (``gamma alpha = 1``)."""
    return {
        "research.returns_to_research": (1.0, "r = 1"),
        "market.winner_take_all": (1.0 / scenario.capability.alpha, "gamma alpha = 1 (lock-in)"),
    }


def phase_figure(
    points: pd.DataFrame,
    planes: Sequence[Plane],
    *,
    title: str,
    runs_per_point: int,
    guides: Mapping[str, tuple[float, str]] | None = None,
    base: Mapping[str, float] | None = None,
    statistics: Sequence[PhaseStatistic] = PHASE_STATISTICS,
    scenario_name: str = "scenario",
) -> Figure:
    """One row per plane, one column per statistic; ``points`` is points.parquet.

    ``guides`` maps a key to a regime boundary ``(value, text)`` (:func:`regime_guides`); ``base`` holds the
    scenario's own value of each swept key (drawn as a star).
    """
    guides = dict(guides or {})
    base = dict(base or {})
    rows = max(1, len(planes))
    fig = Figure(figsize=(5.6 * len(statistics), 4.9 * rows + 0.9), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_2d(fig.subplots(rows, len(statistics), squeeze=False))
    for p, plane in enumerate(planes):
        part = points[points["plane"] == p]
        for s, stat in enumerate(statistics):
            ax = axes[p, s]
            if len(plane.axes) == 2:
                _heat_panel(fig, ax, part, plane, stat, guides, base)
            else:
                _line_panel(ax, part, plane, stat, guides, base)
            ax.set_title(stat.title if len(planes) == 1 else f"{stat.title}: {_short(plane)}", fontsize=11, pad=14)
    fig.suptitle(title, fontsize=13)
    notes = [f"Source: Multipolar sweep, scenario '{scenario_name}': {len(points)} grid points x {runs_per_point} "
             "runs, the same seeds at every point (common random numbers)."]
    if any(len(plane.axes) == 2 for plane in planes):
        own = ", ".join(f"{key.split('.')[-1]} {base[key]:g}" for key in dict.fromkeys(
            k for plane in planes if len(plane.axes) == 2 for k in plane.keys) if key in base)
        notes.append(f"Star: the scenario's own values ({own}), in the cell of the nearest grid point (the cell "
                     "shows that point's value, not the scenario's). Dashed: regime boundaries. Orange line: "
                     "P = 0.5, between the cells above and below it.")
    if any(len(plane.axes) == 1 for plane in planes):
        notes.append("Bands: 95 % intervals (Wilson for shares, order statistics for the median).")
    fig.text(0.005, 0.003, " ".join(notes), fontsize=7.5, color=GUIDE, ha="left", va="bottom", wrap=True)
    fig.get_layout_engine().set(rect=(0.0, 0.05, 1.0, 0.95), h_pad=0.08)
    return fig


def axis_label(key: str) -> str:
    """``key`` with a readable name and its unit from the schema (``labs.list.0.x`` as ``labs.list[].x``)."""
    parts = key.split(".")
    generic = ".".join("[]" if p.isdigit() else p for p in parts).replace(".[]", "[]")
    if parts[0] == "archetypes" and len(parts) == 3:
        generic = f"archetypes.<kind>.{parts[2]}"
    unit = _units().get(generic)
    name = _NAMES.get(key)
    if name:
        return f"{name}\n({key}, {unit})" if unit else f"{name}\n({key})"
    return f"{key}\n({unit})" if unit else key


# ---------------------------------------------------------------------------------------------- panels
def _heat_panel(fig: Figure, ax: Any, part: pd.DataFrame, plane: Plane, stat: PhaseStatistic,
                guides: Mapping[str, tuple[float, str]], base: Mapping[str, float]) -> None:
    x_axis, y_axis = plane.axes
    nx, ny = len(x_axis.values), len(y_axis.values)
    grid = np.full((ny, nx), np.nan)
    for _, row in part.iterrows():
        grid[int(row["y_index"]), int(row["x_index"])] = row[stat.column]
    x_edges, y_edges = _edges(x_axis.values, x_axis.log), _edges(y_axis.values, y_axis.log)
    cmap = colormaps[stat.cmap]
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(grid), cmap=cmap, vmin=stat.limits[0],
                         vmax=stat.limits[1], shading="flat", edgecolors="white", linewidth=0.6)
    bar = fig.colorbar(mesh, ax=ax, shrink=0.92, pad=0.02)
    bar.set_label(stat.label, fontsize=8.5)
    if stat.probability:
        bar.formatter = PercentFormatter(1.0)
        bar.update_ticks()
    small = nx * ny > 100
    for j in range(ny):
        for i in range(nx):
            value = grid[j, i]
            xc, yc = _centre(x_edges, i, x_axis.log), _centre(y_edges, j, y_axis.log)
            text = "n/a" if not math.isfinite(value) else (f"{value:.0%}" if stat.probability else f"{value:,.0f}")
            shade = cmap((value - stat.limits[0]) / (stat.limits[1] - stat.limits[0])) if math.isfinite(value) \
                else (1.0, 1.0, 1.0, 1.0)
            light = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] > 0.55
            ink, halo = ("black", "white") if light else ("white", "black")
            ax.text(xc, yc, text, ha="center", va="center", fontsize=6.5 if small else 8.5, color=ink, zorder=8,
                    path_effects=[pe.withStroke(linewidth=1.6, foreground=halo, alpha=0.6)])
    if stat.probability:
        segments = half_boundary(grid, x_edges, y_edges)
        if segments:
            ax.add_collection(LineCollection(segments, colors=[OKABE_ITO["orange"]], linewidths=3.0, zorder=6,
                                             path_effects=[pe.withStroke(linewidth=5.0, foreground="white")],
                                             label="P = 0.5"))
    for axis, vertical in ((x_axis, True), (y_axis, False)):
        _guide(ax, axis.key, guides, vertical, (axis.values[0], axis.values[-1]))
    _scenario_star(ax, base, plane, x_edges, y_edges)
    _scale(ax, x_axis, "x")
    _scale(ax, y_axis, "y")
    ax.set_xlabel(axis_label(x_axis.key), fontsize=9)
    ax.set_ylabel(axis_label(y_axis.key), fontsize=9)


def _line_panel(ax: Any, part: pd.DataFrame, plane: Plane, stat: PhaseStatistic,
                guides: Mapping[str, tuple[float, str]], base: Mapping[str, float]) -> None:
    (x_axis,) = plane.axes
    part = part.sort_values("x_index")
    x = part[x_axis.key].to_numpy(dtype=float)
    y = part[stat.column].to_numpy(dtype=float)
    lo, hi = (part[c].to_numpy(dtype=float) for c in stat.interval)
    ax.fill_between(x, lo, hi, color=OKABE_ITO["sky_blue"], alpha=0.35, linewidth=0, label="95 % interval")
    ax.plot(x, y, color=OKABE_ITO["blue"], marker="o", linewidth=2.0, label=stat.title)
    _guide(ax, x_axis.key, guides, True, (x_axis.values[0], x_axis.values[-1]))
    value = base.get(x_axis.key)
    if value is not None and math.isfinite(value) and min(x_axis.values) <= value <= max(x_axis.values):
        ax.axvline(value, color=OKABE_ITO["reddish_purple"], linewidth=1.2, linestyle=":", label="scenario's value")
    ax.set_ylim(*stat.limits)
    if stat.probability:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
    _scale(ax, x_axis, "x")
    ax.set_xlabel(axis_label(x_axis.key), fontsize=9)
    ax.set_ylabel(stat.label, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8, frameon=False)


# ---------------------------------------------------------------------------------------------- helpers
def _guide(ax: Any, key: str, guides: Mapping[str, tuple[float, str]], vertical: bool,
           span: tuple[float, float]) -> None:
    if key not in guides:
        return
    level, text = guides[key]
    lo, hi = min(span), max(span)
    if not lo <= level <= hi:
        return
    stroke = [pe.withStroke(linewidth=2.6, foreground="white")]
    line = ax.axvline if vertical else ax.axhline
    line(level, color="black", linestyle=(0, (4, 3)), linewidth=1.1, path_effects=stroke, zorder=5)
    if vertical:  # the label sits above the axes, clear of the cells' numbers
        ax.annotate(text, (level, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8, annotation_clip=False)
    else:
        ax.annotate(text, (1.0, level), xycoords=("axes fraction", "data"), xytext=(-3, 3), textcoords="offset points",
                    ha="right", va="bottom", fontsize=8, path_effects=stroke, zorder=6)


def half_boundary(grid: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray,
                  level: float = 0.5) -> list[list[tuple[float, float]]]:
    """The cell edges between a cell at or above ``level`` and its neighbour below it (``grid`` is ``(ny, nx)``).

    The P = 0.5 line of a heat map drawn along the cells it separates, so it reads with the cells' values (a
    contour through the cell centres would cut cells in two and, on a coarse grid, shrink to a sliver).
    """
    ny, nx = grid.shape
    above = np.where(np.isfinite(grid), grid >= level, np.nan)
    segments = []
    for j in range(ny):
        for i in range(nx):
            if i + 1 < nx and np.isfinite(above[j, i] + above[j, i + 1]) and above[j, i] != above[j, i + 1]:
                segments.append([(x_edges[i + 1], y_edges[j]), (x_edges[i + 1], y_edges[j + 1])])
            if j + 1 < ny and np.isfinite(above[j, i] + above[j + 1, i]) and above[j, i] != above[j + 1, i]:
                segments.append([(x_edges[i], y_edges[j + 1]), (x_edges[i + 1], y_edges[j + 1])])
    return segments


def grid_cell(value: float, edges: np.ndarray) -> int | None:
    """The index of the cell (between consecutive ``edges``) that holds ``value``, or None outside them."""
    if not math.isfinite(value) or not edges[0] <= value <= edges[-1]:
        return None
    return int(min(len(edges) - 2, max(0, np.searchsorted(edges, value, side="right") - 1)))


def _scenario_star(ax: Any, base: Mapping[str, float], plane: Plane, x_edges: np.ndarray,
                   y_edges: np.ndarray) -> None:
    """Mark the scenario's own values in the cell of their nearest grid point (its upper-left corner, clear of
    the cell's number), if they lie inside the plane; the footnote says the cell's value is the grid point's."""
    x_axis, y_axis = plane.axes
    i = grid_cell(base.get(x_axis.key, math.nan), x_edges)
    j = grid_cell(base.get(y_axis.key, math.nan), y_edges)
    if i is None or j is None:
        return
    x = _between(x_edges[i], x_edges[i + 1], 0.2, x_axis.log)
    y = _between(y_edges[j], y_edges[j + 1], 0.78, y_axis.log)
    ax.plot(x, y, marker="*", markersize=15, color=OKABE_ITO["reddish_purple"], markeredgecolor="white",
            markeredgewidth=1.2, zorder=7, linestyle="none", label="scenario")


def _between(lo: float, hi: float, fraction: float, log: bool) -> float:
    return float(lo * (hi / lo) ** fraction if log else lo + fraction * (hi - lo))


def _edges(values: Sequence[float], log: bool) -> np.ndarray:
    v = np.log(np.asarray(values, dtype=float)) if log else np.asarray(values, dtype=float)
    if v.size == 1:
        half = 0.5 * abs(v[0]) if v[0] != 0 else 0.5
        edges = np.array([v[0] - half, v[0] + half])
    else:
        mid = 0.5 * (v[1:] + v[:-1])
        edges = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(edges) if log else edges


def _centre(edges: np.ndarray, k: int, log: bool) -> float:
    return float(math.sqrt(edges[k] * edges[k + 1]) if log else 0.5 * (edges[k] + edges[k + 1]))


def _scale(ax: Any, axis: Any, which: str) -> None:
    if axis.log:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    ticks = list(axis.values)
    if len(ticks) <= 12:
        (ax.set_xticks if which == "x" else ax.set_yticks)(ticks, [f"{t:.3g}" for t in ticks], minor=False)
        if axis.log:
            (ax.xaxis if which == "x" else ax.yaxis).set_minor_formatter(lambda *_: "")


def _short(plane: Plane) -> str:
    return " x ".join(_NAMES.get(k, k).split(" (")[0] for k in plane.keys)


_UNIT_CACHE: dict[str, str] = {}


def _units() -> dict[str, str]:
    if not _UNIT_CACHE:
        from runs.views.paramdoc import parameter_rows

        _UNIT_CACHE.update({row["key"]: row["unit"] for row in parameter_rows()})
    return _UNIT_CACHE
