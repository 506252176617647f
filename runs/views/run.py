"""Standalone figures of one run: concentration, inequality, capability and the rank-share profile.

The companions of the overview figure (:func:`runs.figures.overview_figure`), one question per figure, drawn
from the outputs of ``multipolar run`` (``market.parquet``, ``labs.parquet``, ``summary.json``):

- :func:`effective_labs_figure`: the effective number of labs ``10,000 / HHI`` against the labs alive;
- :func:`top_shares_figure`: the top-1 and top-4 shares of the labs' market;
- :func:`lorenz_figure`: Lorenz curves of revenue and compute across the labs alive at the horizon, with Gini;
- :func:`quality_figure`: frontier and runner-up quality with the par-human and superhuman thresholds;
- :func:`rank_share_figure`: market share by rank at a few dates (a Zipf-style plot on a log scale).

As in :mod:`runs.figures` (whose palette, guidelines and panels are reused), every function builds a
:class:`matplotlib.figure.Figure` on its own Agg canvas (no ``pyplot`` state), uses the Okabe-Ito palette,
labels axes with units and names its source in a footer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from runs.figures import DPI, HHI_HIGH, HHI_MODERATE, OKABE_ITO, overview_figure, quality_panel

__all__ = [
    "LORENZ_COLUMNS",
    "effective_labs_figure",
    "gini_coefficient",
    "horizon_labs",
    "lorenz_curve",
    "lorenz_figure",
    "quality_figure",
    "rank_share_figure",
    "run_figure_set",
    "top_shares_figure",
]

LORENZ_COLUMNS: dict[str, str] = {
    "revenue_usd_per_year": "revenue (USD/year)",
    "compute_flop_per_year": "owned compute (FLOP/year)",
}
"""Lab columns drawn by :func:`lorenz_figure` by default, with their axis words."""
HHI_UNIPOLAR = 5000.0  # the run summary's unipolar flag: HHI above this (or a leader share above 0.5)
_GUIDE = "#555555"
_RANK_COLOURS = ("sky_blue", "bluish_green", "orange", "blue")


# ---------------------------------------------------------------------------------------------- figures
def effective_labs_figure(market_df: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """Effective number of labs ``10,000 / HHI`` over time, under the number of labs alive.

    Guide lines mark the effective numbers at the 2023 US Merger Guidelines thresholds (HHI 1,000 and
    1,800: 10 and 5.6 labs) and at the unipolar threshold of the run summary (HHI 5,000: 2 labs).
    """
    fig, ax = _figure((9.0, 5.0))
    years = market_df["year"].to_numpy(dtype=float)
    effective = _finite(market_df["effective_labs"].to_numpy(dtype=float))
    alive = market_df["n_alive"].to_numpy(dtype=float)
    ax.step(years, alive, where="post", color=_GUIDE, linewidth=1.2, label="labs alive (upper bound)")
    ax.plot(years, effective, color=OKABE_ITO["blue"], linewidth=2.2, label="effective number of labs")
    top = max(float(np.nanmax(alive)) if alive.size else 1.0, float(np.nanmax(effective)) if _any(effective) else 1.0)
    for hhi, text in ((HHI_MODERATE, "HHI 1,000: moderately concentrated below"),
                      (HHI_HIGH, "HHI 1,800: highly concentrated below"),
                      (HHI_UNIPOLAR, "HHI 5,000: unipolar below")):
        level = 10_000.0 / hhi
        if level <= 1.15 * top:
            ax.axhline(level, color=_GUIDE, linestyle="--", linewidth=0.8)
            ax.annotate(f"{level:.3g} labs = {text}", (0.995, level), xycoords=("axes fraction", "data"),
                        ha="right", va="bottom", fontsize=8, color=_GUIDE)
    ax.set_ylim(0.0, 1.15 * top)
    ax.set_ylabel("number of labs (effective: 10,000 / HHI)")
    _time_axis(ax, years)
    last = effective[np.isfinite(effective)]
    headline = f"final {last[-1]:.2f} effective labs" if last.size else "no lab alive"
    ax.set_title(f"Effective number of labs: {headline}", loc="left", fontsize=11)
    ax.legend(loc="upper right", fontsize=9, frameon=False)
    _finish(fig, summary, "Effective number: 10,000 / HHI of the labs' market (outside option excluded); "
            "thresholds: 2023 US Merger Guidelines.")
    return fig


def top_shares_figure(market_df: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """The leader's (top-1) and the four largest labs' (top-4) shares of the labs' market over time."""
    fig, ax = _figure((9.0, 5.0))
    years = market_df["year"].to_numpy(dtype=float)
    top1 = _finite(market_df["top1_share"].to_numpy(dtype=float))
    top4 = _finite(market_df["top4_share"].to_numpy(dtype=float))
    ax.fill_between(years, top1, top4, color=OKABE_ITO["sky_blue"], alpha=0.25, linewidth=0,
                    label="labs ranked #2 to #4")
    ax.plot(years, top4, color=OKABE_ITO["bluish_green"], linewidth=2.0, label="top-4 share")
    ax.plot(years, top1, color=OKABE_ITO["blue"], linewidth=2.2, label="top-1 share (the leader)")
    ax.axhline(0.5, color=OKABE_ITO["vermillion"], linestyle="--", linewidth=1.2,
               label="0.5: unipolar by leader share")
    ax.set_ylim(0.0, 1.0)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("share of the labs' market\n(outside option excluded)")
    _time_axis(ax, years)
    if _any(top1):
        ax.set_title(f"Top-1 and top-4 shares: final {top1[np.isfinite(top1)][-1]:.0%} and "
                     f"{top4[np.isfinite(top4)][-1]:.0%}", loc="left", fontsize=11)
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    _finish(fig, summary, "Shares of the labs' market: each lab's customer share over the alive labs' total.")
    return fig


def lorenz_figure(labs_df: pd.DataFrame, summary: Mapping[str, Any],
                  columns: Mapping[str, str] | None = None) -> Figure:
    """Lorenz curves across the labs alive at the horizon (the last step in ``labs_df``), with the Gini of each.

    ``columns`` maps lab columns to axis words (default :data:`LORENZ_COLUMNS`: revenue and owned compute).
    The revenue Gini equals the market series' ``gini_revenue`` at that step (same definition).
    """
    columns = dict(LORENZ_COLUMNS if columns is None else columns)
    fig, ax = _figure((7.0, 6.4))
    final = horizon_labs(labs_df)
    year = float(final["year"].iloc[0]) if len(final) else math.nan
    ax.plot([0.0, 1.0], [0.0, 1.0], color=_GUIDE, linewidth=1.0, linestyle=":", label="perfect equality (Gini 0)")
    palette = (OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["bluish_green"], OKABE_ITO["reddish_purple"])
    styles = ("-", "--", "-.", ":")
    for k, (column, words) in enumerate(columns.items()):
        values = final[column].to_numpy(dtype=float) if column in final else np.empty(0)
        x, y = lorenz_curve(values)
        g = gini_coefficient(values)
        label = f"{words}: Gini {g:.2f}" if math.isfinite(g) else f"{words}: no data"
        ax.plot(x, y, color=palette[k % len(palette)], linestyle=styles[k % len(styles)], linewidth=2.0,
                marker="o", markersize=3.5, label=label)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_aspect("equal")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(f"cumulative share of labs alive, smallest first ({len(final)} labs)")
    ax.set_ylabel("cumulative share of the total")
    when = f" in {year:.1f}" if math.isfinite(year) else ""
    ax.set_title(f"Inequality across labs{when} (Lorenz curves)", loc="left", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    _finish(fig, summary, "Lorenz (1905) curves; Gini over the labs alive.")
    return fig


def quality_figure(market_df: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """Frontier and runner-up quality with the par-human and strongly superhuman thresholds and the takeoff."""
    fig, ax = _figure((10.0, 5.2))
    quality_panel(ax, market_df, summary)
    _time_axis(ax, market_df["year"].to_numpy(dtype=float))
    _finish(fig, summary, "Quality u = alpha ln(E / C_c) (Kaplan et al. 2020); thresholds: capability.*_log10_flop.")
    return fig


def rank_share_figure(labs_df: pd.DataFrame, summary: Mapping[str, Any], *, n_dates: int = 4) -> Figure:
    """Share of the labs' market by rank (1 = leader) at ``n_dates`` dates from the start to the horizon.

    Shares are over the labs alive at each date; the y axis is logarithmic so that a power law (Zipf) is a
    straight line and small labs stay visible.
    """
    fig, ax = _figure((8.0, 5.2))
    steps = np.sort(labs_df["step"].unique()) if len(labs_df) else np.empty(0, dtype=np.int64)
    picks = steps[np.unique(np.linspace(0, steps.size - 1, min(n_dates, steps.size)).round().astype(int))] \
        if steps.size else steps
    max_rank = 1
    smallest = 1.0
    for k, step in enumerate(picks):
        rows = labs_df[(labs_df["step"] == step) & labs_df["alive"].astype(bool)]
        shares = _ranked_shares(rows["share"].to_numpy(dtype=float))
        shown = shares[shares > 0.0]
        if shown.size == 0:
            continue
        ranks = np.arange(1, shown.size + 1)
        colour = OKABE_ITO[_RANK_COLOURS[max(0, len(_RANK_COLOURS) - len(picks) + k) % len(_RANK_COLOURS)]]
        ax.plot(ranks, shown, marker="o", markersize=4, linewidth=1.8 if k == len(picks) - 1 else 1.3,
                color=colour, label=f"{float(rows['year'].iloc[0]):.1f}")
        max_rank = max(max_rank, int(shown.size))
        smallest = min(smallest, float(shown.min()))
    ax.axhline(0.5, color=OKABE_ITO["vermillion"], linestyle="--", linewidth=1.0)
    ax.annotate("0.5: unipolar by leader share", (0.995, 0.5), xycoords=("axes fraction", "data"), ha="right",
                va="bottom", fontsize=8, color=OKABE_ITO["vermillion"])
    ax.set_yscale("log")
    ax.set_ylim(max(smallest / 2.0, 1e-6), 1.0)
    ax.set_xlim(0.5, max_rank + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    ax.set_xlabel("rank of the lab at that date (1 = leader)")
    ax.set_ylabel("share of the labs' market (log scale)")
    ax.set_title("Market share by rank over time", loc="left", fontsize=11)
    ax.grid(alpha=0.3, which="both")
    ax.legend(title="year", loc="lower left", fontsize=9, frameon=False)
    _finish(fig, summary, "Shares of the labs' market: each lab's customer share over the alive labs' total.")
    return fig


def run_figure_set(market_df: pd.DataFrame, labs_df: pd.DataFrame, summary: Mapping[str, Any]) -> dict[str, Figure]:
    """Every figure of one run, keyed by a file name: the overview and the five standalone figures."""
    return {
        "overview.png": overview_figure(market_df, labs_df, summary),
        "effective_labs.png": effective_labs_figure(market_df, summary),
        "top_shares.png": top_shares_figure(market_df, summary),
        "lorenz.png": lorenz_figure(labs_df, summary),
        "quality.png": quality_figure(market_df, summary),
        "rank_shares.png": rank_share_figure(labs_df, summary),
    }


# ---------------------------------------------------------------------------------------------- statistics
def horizon_labs(labs_df: pd.DataFrame) -> pd.DataFrame:
    """The rows of the last recorded step whose lab is alive."""
    if len(labs_df) == 0:
        return labs_df
    last = labs_df[labs_df["step"] == labs_df["step"].max()]
    return last[last["alive"].astype(bool)]


def lorenz_curve(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(k/m, sum of the k smallest / total)`` for ``k = 0..m``; the diagonal if the total is zero."""
    x = np.sort(np.asarray(values, dtype=float))
    m = x.size
    frac = np.linspace(0.0, 1.0, m + 1)
    total = float(x.sum())
    if m == 0 or total <= 0.0:
        return frac, frac.copy()
    return frac, np.concatenate([[0.0], np.cumsum(x) / total])


def gini_coefficient(values: Sequence[float] | np.ndarray) -> float:
    r"""Gini coefficient of non-negative ``values``: 0 if equal, :math:`(m-1)/m` if one holds everything.

    .. math:: G = \frac{2 \sum_{k=1}^{m} k x_{(k)}}{m \sum_k x_{(k)}} - \frac{m + 1}{m}

    (the definition of the market series' ``gini_revenue``); NaN without values, 0 if the total is zero.
    """
    x = np.sort(np.asarray(values, dtype=float))
    m = x.size
    if m == 0:
        return math.nan
    total = float(x.sum())
    if total <= 0.0:
        return 0.0
    return float(2.0 * np.sum(np.arange(1, m + 1) * x) / (m * total) - (m + 1.0) / m)


# ---------------------------------------------------------------------------------------------- helpers
def _ranked_shares(shares: np.ndarray) -> np.ndarray:
    total = float(shares.sum())
    return np.sort(shares / total if total > 0.0 else shares)[::-1]


def _figure(size: tuple[float, float]) -> tuple[Figure, Any]:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _time_axis(ax: Any, years: np.ndarray) -> None:
    ax.set_xlabel("year")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if years.size:
        ax.set_xlim(years[0], years[-1] if years[-1] > years[0] else years[0] + 1.0)
    ax.grid(alpha=0.3)


def _finish(fig: Figure, summary: Mapping[str, Any], note: str) -> None:
    name, seed = summary.get("scenario", "scenario"), summary.get("seed")
    fig.text(0.01, 0.004, f"Source: Multipolar simulation (scenario '{name}', seed {seed}). {note}",
             fontsize=7, color=_GUIDE, ha="left", va="bottom", wrap=True)
    fig.get_layout_engine().set(rect=(0.0, 0.04, 1.0, 0.96))


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _any(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).any())
