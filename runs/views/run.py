"""Figures of one run: the overview (shares, concentration, capability), its panels, and one question per
figure, drawn from the outputs of ``multipolar run`` (``market.parquet``, ``labs.parquet``, ``summary.json``):

- :func:`overview_figure`: three panels over time (:func:`share_panel`, :func:`hhi_panel`,
  :func:`quality_panel`, also the dashboard's plots);
- :func:`effective_labs_figure`: the effective number of labs ``10,000 / HHI`` against the labs alive;
- :func:`top_shares_figure`: the top-1 and top-4 shares of the labs' market;
- :func:`lorenz_figure`: Lorenz curves of revenue and compute across the labs alive at the horizon, with Gini;
- :func:`quality_figure`: frontier and runner-up quality with the par-human and superhuman thresholds;
- :func:`rank_share_figure`: market share by rank at a few dates (a Zipf-style plot on a log scale).

:func:`write_run_figures` is the run's figure hook (``overview.png``, and ``network.png`` with a network).
The style is :mod:`runs.views.style`'s.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from runs.experiments.robustness import SINGLE_RUN_ROBUSTNESS
from runs.views.marks import mark_events, place_guide_labels, settle_layout, year_axis
from runs.views.network import network_figure
from runs.views.style import DPI, GUIDE, HHI_HIGH, HHI_MODERATE, OKABE_ITO, finite, is_real, write_figures

__all__ = [
    "LORENZ_COLUMNS",
    "RUN_FIGURES",
    "effective_labs_figure",
    "gini_coefficient",
    "hhi_panel",
    "horizon_labs",
    "lorenz_curve",
    "lorenz_figure",
    "overview_figure",
    "quality_figure",
    "quality_panel",
    "rank_share_figure",
    "run_figure_set",
    "share_panel",
    "top_shares_figure",
    "write_run_figures",
]

LORENZ_COLUMNS: dict[str, str] = {
    "revenue_usd_per_year": "revenue (USD/year)",
    "compute_flop_per_year": "owned compute (FLOP/year)",
}
"""Lab columns drawn by :func:`lorenz_figure` by default, with their axis words."""
HHI_UNIPOLAR = 5000.0  # the run summary's unipolar flag: HHI above this (or a leader share above 0.5)
_LAB_COLOURS = ("blue", "orange", "bluish_green", "reddish_purple", "sky_blue", "vermillion", "yellow")
_OTHERS = "#9E9E9E"
_OUTSIDE = "#F2F2F2"
RUN_FIGURES: tuple[str, ...] = ("overview.png",)
"""What :func:`write_run_figures` draws for every run (plus ``network.png`` when the run has a network)."""
_RANK_COLOURS = ("sky_blue", "bluish_green", "orange", "blue")


# ---------------------------------------------------------------------------------------------- figures
def overview_figure(
    market_df: pd.DataFrame,
    labs_df: pd.DataFrame,
    summary: Mapping[str, Any],
    *,
    events: pd.DataFrame | None = None,
    top_labs: int = 6,
) -> Figure:
    """Three panels over time: market shares, concentration (HHI) with the run's events, frontier and runner-up
    quality.  The threshold labels of the HHI panel sit where the drawn HHI line and event markers leave room
    (:func:`runs.views.marks.place_guide_labels`, measured after the layout is final).

    Parameters
    ----------
    market_df
        The market table (one row per step; columns of ``economy.kernels.layout.MARKET_COLUMNS`` plus ``step``).
    labs_df
        The long lab table (``year``, ``lab_id``, ``name``, ``share``, ...).
    summary
        The run summary (``runs.experiments.run_summary``); used, each optional: ``scenario``, ``seed``, ``leader``,
        ``leader_share``, ``effective_labs``, ``singularity_year``, ``takeoff_start_year``, ``takeoff_years``,
        ``par_human_quality``, ``superhuman_quality``, ``par_human_log10_flop``, ``superhuman_log10_flop``.
    events
        The run's events (``events.parquet``): entries, exits, acquisitions, incidents and policy events are
        marked on the HHI line (:data:`runs.views.marks.EVENT_STYLES`); None marks nothing.
    top_labs
        Labs named in the share panel (largest by time-averaged share); the rest are grouped as "others".
    """
    fig = Figure(figsize=(10.0, 11.0), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg canvas, attached to this figure only (no pyplot, no global backend switch)
    ax_share, ax_hhi, ax_quality = fig.subplots(3, 1, sharex=True, height_ratios=(1.25, 1.0, 1.1))
    share_panel(ax_share, labs_df, top_labs)
    avoid = hhi_panel(ax_hhi, market_df, events)
    quality_panel(ax_quality, market_df, summary)
    ax_quality.set_xlabel("year")
    years = market_df["year"].to_numpy(dtype=float)
    if years.size:
        year_axis(ax_quality, years[0], years[-1])
    name = summary.get("scenario", "scenario")
    seed = summary.get("seed")
    fig.suptitle(f"Multipolar: scenario '{name}', seed {seed}\n{_headline(summary)}", fontsize=12)
    fig.text(
        0.01, 0.002,
        f"Source: Multipolar simulation (scenario '{name}', seed {seed}). Concentration thresholds: "
        "2023 US Merger Guidelines. Quality: u = alpha ln(E / C_c), Kaplan et al. 2020 scaling law.\n"
        + "\n".join(textwrap.wrap(f"Robustness: {SINGLE_RUN_ROBUSTNESS}.", 190)),
        fontsize=7.5, color=GUIDE, ha="left", va="bottom",
    )
    fig.get_layout_engine().set(h_pad=0.06, hspace=0.04, rect=(0.0, 0.028, 1.0, 0.972))
    place_guide_labels(ax_hhi, HHI_GUIDES, avoid, settle_layout(fig))
    return fig


def write_run_figures(folder: Path, *, market: pd.DataFrame, labs: pd.DataFrame, summary: Mapping[str, Any],
                      graph: nx.Graph | None = None, events: pd.DataFrame | None = None,
                      formats: Sequence[str] = ("png",)) -> list[str]:
    """The run's figure hook: ``overview`` (with the run's events), and ``network``
    (:func:`runs.views.network.network_figure`) when the run has a lab network; written into ``folder`` in each
    of ``formats`` (``png``, ``svg``)."""
    figures = {"overview.png": overview_figure(market, labs, summary, events=events)}
    if graph is not None:
        figures = {"network.png": network_figure(graph, market, title=_network_title(summary)), **figures}
    return write_figures(folder, figures, formats)


def _network_title(summary: Mapping[str, Any]) -> str:
    year = summary.get("final_year")
    when = f" in {year:.0f}" if is_real(year) else ""
    return f"Multipolar: the knowledge-spillover network{when} (scenario '{summary.get('scenario', 'scenario')}')"


def effective_labs_figure(market_df: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """Effective number of labs ``10,000 / HHI`` over time, under the number of labs alive.

    Guide lines mark the effective numbers at the 2023 US Merger Guidelines thresholds (HHI 1,000 and
    1,800: 10 and 5.6 labs) and at the unipolar threshold of the run summary (HHI 5,000: 2 labs).
    """
    fig, ax = _figure((9.0, 5.0))
    years = market_df["year"].to_numpy(dtype=float)
    effective = finite(market_df["effective_labs"].to_numpy(dtype=float))
    alive = market_df["n_alive"].to_numpy(dtype=float)
    ax.step(years, alive, where="post", color=GUIDE, linewidth=1.2, label="labs alive (upper bound)")
    ax.plot(years, effective, color=OKABE_ITO["blue"], linewidth=2.2, label="effective number of labs")
    top = max(float(np.nanmax(alive)) if alive.size else 1.0, float(np.nanmax(effective)) if _any(effective) else 1.0)
    for hhi, text in ((HHI_MODERATE, "HHI 1,000: moderately concentrated below"),
                      (HHI_HIGH, "HHI 1,800: highly concentrated below"),
                      (HHI_UNIPOLAR, "HHI 5,000: unipolar below")):
        level = 10_000.0 / hhi
        if level <= 1.15 * top:
            ax.axhline(level, color=GUIDE, linestyle="--", linewidth=0.8)
            ax.annotate(f"{level:.3g} labs = {text}", (0.995, level), xycoords=("axes fraction", "data"),
                        ha="right", va="bottom", fontsize=8, color=GUIDE)
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
    top1 = finite(market_df["top1_share"].to_numpy(dtype=float))
    top4 = finite(market_df["top4_share"].to_numpy(dtype=float))
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
    ax.plot([0.0, 1.0], [0.0, 1.0], color=GUIDE, linewidth=1.0, linestyle=":", label="perfect equality (Gini 0)")
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


# ---------------------------------------------------------------------------------------------- panels
def share_panel(ax: Any, labs_df: pd.DataFrame, top_labs: int) -> None:
    shares = labs_df.pivot_table(index="year", columns="lab_id", values="share", aggfunc="sum", fill_value=0.0)
    shares = shares.sort_index()
    names = labs_df.drop_duplicates("lab_id").set_index("lab_id")["name"]
    order = shares.mean(axis=0).sort_values(ascending=False, kind="stable").index
    named = list(order[:top_labs])
    rest = list(order[top_labs:])
    years = shares.index.to_numpy(dtype=float)
    layers = [shares[i].to_numpy(dtype=float) for i in named]
    labels = [str(names[i]) for i in named]
    colours = [OKABE_ITO[_LAB_COLOURS[k % len(_LAB_COLOURS)]] for k in range(len(named))]
    if rest:
        layers.append(shares[rest].sum(axis=1).to_numpy(dtype=float))
        labels.append(f"others ({len(rest)} labs)")
        colours.append(_OTHERS)
    total = np.sum(layers, axis=0) if layers else np.zeros_like(years)
    layers.append(np.clip(1.0 - total, 0.0, 1.0))
    labels.append("outside option (no AI purchase)")
    colours.append(_OUTSIDE)
    polys = ax.stackplot(years, *layers, labels=labels, colors=colours, edgecolor="white", linewidth=0.4)
    polys[-1].set_hatch("//")
    polys[-1].set_edgecolor("#BDBDBD")
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel("market share\n(fraction of AI demand)")
    ax.set_title("Who serves the market: customer shares by lab", loc="left", fontsize=11)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False, title="lab",
              title_fontsize=9, reverse=True)
    ax.margins(x=0.0)


HHI_GUIDES: tuple[tuple[float, str], ...] = ((HHI_MODERATE, "1,000: moderately concentrated"),
                                              (HHI_HIGH, "1,800: highly concentrated"))
"""The 2023 US Merger Guidelines thresholds and their labels."""


def hhi_panel(ax: Any, market_df: pd.DataFrame, events: pd.DataFrame | None = None) -> list[Any]:
    """The HHI over time with the Merger Guidelines bands and the run's events; returns the drawn data lines
    (what the threshold labels of :data:`HHI_GUIDES` must avoid, :func:`runs.views.marks.place_guide_labels`)."""
    years = market_df["year"].to_numpy(dtype=float)
    hhi = market_df["hhi"].to_numpy(dtype=float)
    ax.axhspan(HHI_HIGH, 10_000.0, color=OKABE_ITO["vermillion"], alpha=0.06, linewidth=0)
    ax.axhspan(HHI_MODERATE, HHI_HIGH, color=OKABE_ITO["orange"], alpha=0.07, linewidth=0)
    for level, _text in HHI_GUIDES:
        ax.axhline(level, color=GUIDE, linestyle="--", linewidth=0.9)
    (line,) = ax.plot(years, hhi, color=OKABE_ITO["blue"], linewidth=2.0, zorder=4)
    drawn, marks = mark_events(ax, events, years, hhi)
    handles = [
        line,
        Patch(facecolor=OKABE_ITO["vermillion"], alpha=0.12, label="highly concentrated (> 1,800)"),
        Patch(facecolor=OKABE_ITO["orange"], alpha=0.14, label="moderately concentrated\n(1,000-1,800)"),
        Patch(facecolor="white", edgecolor="#BDBDBD", label="unconcentrated (< 1,000)"),
        *marks,
    ]
    hhi_label = "HHI: sum of squared % shares of\nthe labs' market (outside option\nexcluded)"
    labels = [hhi_label, *(h.get_label() for h in handles[1:])]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False,
              title="2023 US Merger Guidelines" + ("; events" if marks else ""), title_fontsize=9)
    ax.set_ylim(0.0, 10_000.0)
    ax.set_yticks([0, 2000, 4000, 6000, 8000, 10000])
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
    ax.set_ylabel("Herfindahl-Hirschman index\n(0-10,000)")
    finite = np.isfinite(hhi)
    if finite.any():
        last = hhi[finite][-1]
        effective = 10_000.0 / last if last > 0 else math.inf
        ax.set_title(f"Concentration: final HHI {last:,.0f} ({effective:.1f} effective labs)", loc="left",
                     fontsize=11)
    ax.margins(x=0.0)
    return [line, *drawn]


def quality_panel(ax: Any, market_df: pd.DataFrame, summary: Mapping[str, Any]) -> None:
    years = market_df["year"].to_numpy(dtype=float)
    frontier = finite(market_df["frontier_quality"].to_numpy(dtype=float))
    runner = finite(market_df["runnerup_quality"].to_numpy(dtype=float))
    start, span = summary.get("takeoff_start_year"), summary.get("takeoff_years")
    if is_real(start) and is_real(span):
        ax.axvspan(start, start + span, color=OKABE_ITO["sky_blue"], alpha=0.15, linewidth=0,
                   label=f"takeoff ({span:.1f} years)")
    elif is_real(start) and years.size:
        ax.axvspan(start, years[-1], color=OKABE_ITO["sky_blue"], alpha=0.08, linewidth=0,
                   label="takeoff started, not completed")
    lo, hi = _quality_limits(frontier, runner, summary)
    for key, text, style in (("par_human", "par-human", ":"), ("superhuman", "strongly superhuman", "-.")):
        level, flop = summary.get(f"{key}_quality"), summary.get(f"{key}_log10_flop")
        if is_real(level):
            where = f"\n(1e{flop:g} effective FLOP)" if is_real(flop) else ""
            off = "" if lo <= level <= hi else ", off scale"
            ax.axhline(level, color=GUIDE, linestyle=style, linewidth=1.0, label=f"{text} threshold{where}{off}")
    ax.plot(years, frontier, color=OKABE_ITO["blue"], linewidth=2.0, label="frontier (best served model)")
    none = "" if np.isfinite(runner).any() else " (none)"
    ax.plot(years, runner, color=OKABE_ITO["orange"], linewidth=1.8, linestyle="--", label=f"runner-up lab{none}")
    sing = summary.get("singularity_year")
    if is_real(sing):
        ax.axvline(sing, color=OKABE_ITO["vermillion"], linewidth=1.6, label=f"singularity ({sing:.1f})")
    # plain text, not mathtext: a first draw with this label took 0.16 s as mathtext, 0.06 s as plain text
    ax.set_ylabel("quality u = \u03b1 ln(E / C_c)\n(E: effective training FLOP)")
    ax.set_title("Capability: frontier and runner-up quality", loc="left", fontsize=11)
    ax.set_ylim(lo, hi)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False)
    ax.margins(x=0.0)


def _quality_limits(frontier: np.ndarray, runner: np.ndarray, summary: Mapping[str, Any]) -> tuple[float, float]:
    """Y range: the data and the par-human threshold; the superhuman one too if the data comes near it."""
    values = np.concatenate([frontier[np.isfinite(frontier)], runner[np.isfinite(runner)]])
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    span = hi - lo
    for key in ("par_human_quality", "superhuman_quality"):
        level = summary.get(key)
        if is_real(level) and (key == "par_human_quality" or level <= hi + 0.5 * span):
            lo, hi = min(lo, level), max(hi, level)
    pad = 0.06 * (hi - lo if hi > lo else 1.0)
    return lo - pad, hi + pad


def _headline(summary: Mapping[str, Any]) -> str:
    parts = []
    leader, share = summary.get("leader"), summary.get("leader_share")
    if leader is not None and is_real(share):
        parts.append(f"leader {leader} with {share:.0%} of the labs' market")
    if is_real(summary.get("effective_labs")):
        parts.append(f"{summary['effective_labs']:.1f} effective labs")
    sing = summary.get("singularity_year")
    parts.append(f"singularity in {sing:.1f}" if is_real(sing) else "no singularity")
    span = summary.get("takeoff_years")
    parts.append(f"takeoff {span:.1f} years" if is_real(span) else "takeoff not completed")
    return "; ".join(parts)


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
    if years.size:
        year_axis(ax, float(years[0]), float(years[-1]))
    ax.grid(alpha=0.3)


def _finish(fig: Figure, summary: Mapping[str, Any], note: str) -> None:
    name, seed = summary.get("scenario", "scenario"), summary.get("seed")
    fig.text(0.01, 0.004, f"Source: Multipolar simulation (scenario '{name}', seed {seed}). {note}",
             fontsize=7, color=GUIDE, ha="left", va="bottom", wrap=True)
    fig.get_layout_engine().set(rect=(0.0, 0.04, 1.0, 0.96))


def _any(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).any())
