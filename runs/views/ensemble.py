"""Figures of an ensemble: fan charts over time, the final leader's share, shares by rank.

In the style of :mod:`runs.views.style`; quantiles are taken over the runs that succeeded.
:func:`write_ensemble_figures` is the ensemble's figure hook (the four figures of :func:`ensemble_figure_set`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from runs.views.marks import year_axis
from runs.views.style import DPI, GUIDE, HHI_HIGH, HHI_MODERATE, OKABE_ITO, write_figures

__all__ = [
    "FAN_LEVELS",
    "ensemble_figure_set",
    "fan_chart",
    "leader_share_histogram",
    "rank_share_chart",
    "step_quantiles",
    "write_ensemble_figures",
]

FAN_LEVELS: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
_MAIN = OKABE_ITO["blue"]
_ACCENT = OKABE_ITO["vermillion"]
_FOOTER_CHARS = 170
"""Characters per footer line at 7 points on a 9-inch figure."""


def step_quantiles(values: np.ndarray, levels: tuple[float, ...] = FAN_LEVELS) -> np.ndarray:
    """Quantiles over runs at each step: ``values`` is ``(steps, runs)``; returns ``(len(levels), steps)``.

    Non-finite entries (a run with no lab alive has frontier quality -inf) are left out at that step; a step
    with no finite value gets NaN.
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.full((len(levels), values.shape[0]), np.nan)
    if values.size == 0:
        return out
    finite = np.isfinite(values)
    if finite.all():
        return np.quantile(values, levels, axis=1)
    for k in range(values.shape[0]):
        row = values[k][finite[k]]
        if row.size:
            out[:, k] = np.quantile(row, levels)
    return out


def fan_chart(years: np.ndarray, values: np.ndarray, *, ylabel: str, title: str, footer: str,
              hhi_guides: bool = False) -> Figure:
    """5-95 % and 25-75 % bands and the median of ``values`` (``(steps, runs)``) over ``years``."""
    fig = Figure(figsize=(9.0, 5.0), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    q = step_quantiles(values)
    if years.size:
        ax.fill_between(years, q[0], q[4], color=_MAIN, alpha=0.18, linewidth=0, label="5-95 % of runs")
        ax.fill_between(years, q[1], q[3], color=_MAIN, alpha=0.38, linewidth=0, label="25-75 % of runs")
        ax.plot(years, q[2], color=_MAIN, linewidth=2.0, label="median")
        year_axis(ax, float(years[0]), float(years[-1]))
    if hhi_guides:
        for level, text in ((HHI_MODERATE, "1,000: moderately concentrated"),
                            (HHI_HIGH, "1,800: highly concentrated")):
            ax.axhline(level, color=GUIDE, linewidth=0.8, linestyle="--")
            ax.annotate(text, (0.005, level), xycoords=("axes fraction", "data"), fontsize=8, color=GUIDE,
                        va="bottom")
        ax.set_ylim(0.0, 10_000.0)
    ax.set_xlabel("year")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    _footer(fig, footer)
    return fig


def leader_share_histogram(leader_share: np.ndarray, *, title: str, footer: str) -> Figure:
    """Histogram of the final leader's market share, with the unipolar threshold (0.5)."""
    fig = Figure(figsize=(8.0, 4.8), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    values = leader_share[np.isfinite(leader_share)]
    ax.hist(values, bins=np.linspace(0.0, 1.0, 41), color=_MAIN, edgecolor="white", linewidth=0.5)
    ax.axvline(0.5, color=_ACCENT, linewidth=1.5, linestyle="--", label="0.5: unipolar by share")
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("final leader's market share (fraction of lab sales, outside option excluded)")
    ax.set_ylabel("runs (count)")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="upper left", fontsize=9)
    _footer(fig, footer)
    return fig


def rank_share_chart(rank_shares: np.ndarray, *, title: str, footer: str) -> Figure:
    """Final market share of the #1..#k lab: median bar, 25-75 % and 5-95 % ranges over runs.

    ``rank_shares`` is ``(runs, k)``, each row sorted from the largest share down.
    """
    fig = Figure(figsize=(8.0, 4.8), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    k = rank_shares.shape[1] if rank_shares.ndim == 2 else 0
    ranks = np.arange(1, k + 1)
    if k and rank_shares.shape[0]:
        q = np.quantile(rank_shares, FAN_LEVELS, axis=0)
        ax.bar(ranks, q[2], color=_MAIN, alpha=0.85, label="median")
        ax.vlines(ranks, q[0], q[4], color=GUIDE, linewidth=1.0, label="5-95 % of runs")
        ax.vlines(ranks, q[1], q[3], color=_ACCENT, linewidth=4.0, label="25-75 % of runs")
        ax.legend(loc="upper right", fontsize=9)
    ax.set_xticks(ranks)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("rank of the lab at the horizon (1 = leader)")
    ax.set_ylabel("final market share\n(fraction of lab sales, outside option excluded)")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    _footer(fig, footer)
    return fig


def ensemble_figure_set(table: pd.DataFrame, fan: Mapping[str, np.ndarray], *, scenario_name: str,
               n_runs: int, robustness: str | None = None) -> dict[str, Figure]:
    """The four ensemble figures, keyed by file name, from runs.parquet and the fan series; the concentration fan
    chart's footer carries the ``robustness`` line (summary.json's ``robustness.text``) when given."""
    ok = table[table["status"] == "ok"]
    n_fan = fan["hhi"].shape[1] if fan["hhi"].ndim == 2 else 0
    source = f"Source: Multipolar ensemble, scenario '{scenario_name}'"
    footer_all = f"{source}; {len(ok)} of {n_runs} runs succeeded."
    footer_fan = f"{source}; quantiles over {n_fan} of {n_runs} runs at each step."
    rank_cols = sorted((c for c in ok.columns if c.startswith("share_rank_")), key=lambda c: int(c.rsplit("_", 1)[1]))
    return {
        "fan_hhi.png": fan_chart(
            fan["year"], fan["hhi"], ylabel="HHI (0-10,000 scale)", hhi_guides=True,
            title=f"Market concentration over time: '{scenario_name}'",
            footer=footer_fan if robustness is None else f"{footer_fan}\nRobustness of P(unipolar): {robustness}"),
        "fan_quality.png": fan_chart(
            fan["year"], fan["frontier_quality"], ylabel="frontier quality u = alpha ln(E / C_c) (quality units)",
            title=f"Frontier model quality over time: '{scenario_name}'", footer=footer_fan),
        "leader_share.png": leader_share_histogram(
            ok["leader_share"].to_numpy(dtype=float, na_value=np.nan) if len(ok) else np.empty(0),
            title=f"Final leader's share: '{scenario_name}'", footer=footer_all),
        "rank_shares.png": rank_share_chart(
            ok[rank_cols].to_numpy(dtype=float) if rank_cols else np.empty((0, 0)),
            title=f"Final market share by rank: '{scenario_name}'", footer=footer_all),
    }


def _footer(fig: Figure, text: str) -> None:
    """Source lines under the axes, wrapped to the figure's width; the layout keeps a strip free for them."""
    lines = [part for line in text.split("\n") for part in textwrap.wrap(line, _FOOTER_CHARS)]
    fig.text(0.01, 0.005, "\n".join(lines), fontsize=7, color=GUIDE, va="bottom")
    strip = 0.013 + 0.022 * len(lines)  # one line: the strip of 0.035 the figures always had
    fig.get_layout_engine().set(rect=(0.0, strip, 1.0, 1.0 - strip))


def write_ensemble_figures(folder: Path, *, table: pd.DataFrame, fan: Mapping[str, np.ndarray], scenario_name: str,
                           n_runs: int, robustness: str | None = None, formats: Sequence[str] = ("png",)) -> list[str]:
    """The ensemble's figure hook: :func:`ensemble_figure_set` written into ``folder``."""
    figures = ensemble_figure_set(table, fan, scenario_name=scenario_name, n_runs=n_runs, robustness=robustness)
    return write_figures(folder, figures, formats)
