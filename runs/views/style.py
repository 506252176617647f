"""Figures of run outputs (plotting lives here, never on model classes: STYLE.md habit 11).

Every function builds a :class:`matplotlib.figure.Figure` directly (no ``pyplot``, so no global figure state
leaks between calls or threads) and draws with the Okabe-Ito colour-blind-safe palette.  Axes carry units;
each figure names its source in a footer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

__all__ = ["OKABE_ITO", "overview_figure", "save_figure"]

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision deficiencies.
OKABE_ITO: dict[str, str] = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
_LAB_COLOURS = ("blue", "orange", "bluish_green", "reddish_purple", "sky_blue", "vermillion", "yellow")
_OTHERS = "#9E9E9E"
_OUTSIDE = "#F2F2F2"
_GUIDE = "#555555"
HHI_MODERATE = 1000.0  # 2023 US Merger Guidelines: above this a market is moderately concentrated
HHI_HIGH = 1800.0  # 2023 US Merger Guidelines: above this a market is highly concentrated
DPI = 120


def overview_figure(
    market_df: pd.DataFrame,
    labs_df: pd.DataFrame,
    summary: Mapping[str, Any],
    *,
    top_labs: int = 6,
) -> Figure:
    """Three panels over time: market shares, concentration (HHI), frontier and runner-up quality.

    Parameters
    ----------
    market_df
        The market table (one row per step; columns of ``economy.kernels.layout.MARKET_COLUMNS`` plus ``step``).
    labs_df
        The long lab table (``year``, ``lab_id``, ``name``, ``share``, ...).
    summary
        The run summary (``runs.single.run_summary``); used, each optional: ``scenario``, ``seed``, ``leader``,
        ``leader_share``, ``effective_labs``, ``singularity_year``, ``takeoff_start_year``, ``takeoff_years``,
        ``par_human_quality``, ``superhuman_quality``, ``par_human_log10_flop``, ``superhuman_log10_flop``.
    top_labs
        Labs named in the share panel (largest by time-averaged share); the rest are grouped as "others".
    """
    fig = Figure(figsize=(10.0, 11.0), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg canvas, attached to this figure only (no pyplot, no global backend switch)
    ax_share, ax_hhi, ax_quality = fig.subplots(3, 1, sharex=True, height_ratios=(1.25, 1.0, 1.1))
    share_panel(ax_share, labs_df, top_labs)
    hhi_panel(ax_hhi, market_df)
    quality_panel(ax_quality, market_df, summary)
    ax_quality.set_xlabel("year")
    ax_quality.xaxis.set_major_locator(MaxNLocator(integer=True))
    years = market_df["year"].to_numpy(dtype=float)
    if years.size:
        ax_quality.set_xlim(years[0], years[-1] if years[-1] > years[0] else years[0] + 1.0)
    name = summary.get("scenario", "scenario")
    seed = summary.get("seed")
    fig.suptitle(f"Multipolar: scenario '{name}', seed {seed}\n{_headline(summary)}", fontsize=12)
    fig.text(
        0.01, 0.002,
        f"Source: Multipolar simulation (scenario '{name}', seed {seed}). Concentration thresholds: "
        "2023 US Merger Guidelines. Quality: u = alpha ln(E / C_c), Kaplan et al. 2020 scaling law.",
        fontsize=7.5, color=_GUIDE, ha="left", va="bottom",
    )
    fig.get_layout_engine().set(h_pad=0.06, hspace=0.04, rect=(0.0, 0.015, 1.0, 0.985))
    return fig


def save_figure(fig: Figure, path: Path, *, dpi: int = DPI) -> None:
    """Write a figure as PNG (Agg canvas, no pyplot)."""
    fig.savefig(path, dpi=dpi, format="png", metadata={"Software": "multipolar"})


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


def hhi_panel(ax: Any, market_df: pd.DataFrame) -> None:
    years = market_df["year"].to_numpy(dtype=float)
    hhi = market_df["hhi"].to_numpy(dtype=float)
    ax.axhspan(HHI_HIGH, 10_000.0, color=OKABE_ITO["vermillion"], alpha=0.06, linewidth=0)
    ax.axhspan(HHI_MODERATE, HHI_HIGH, color=OKABE_ITO["orange"], alpha=0.07, linewidth=0)
    side = _clear_side(hhi, (HHI_MODERATE, HHI_HIGH), band=900.0)
    for level, text, va, dy in ((HHI_MODERATE, "1,000: moderately concentrated", "top", -3),
                                (HHI_HIGH, "1,800: highly concentrated", "bottom", 3)):
        ax.axhline(level, color=_GUIDE, linestyle="--", linewidth=0.9)
        ax.annotate(f"{text} (2023 US Merger Guidelines)", xy=(side, level), xycoords=("axes fraction", "data"),
                    xytext=(4 - 8 * side, dy), textcoords="offset points", ha="right" if side else "left", va=va,
                    fontsize=8, color=_GUIDE,
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "alpha": 0.7, "linewidth": 0})
    (line,) = ax.plot(years, hhi, color=OKABE_ITO["blue"], linewidth=2.0, zorder=4)
    handles = [
        line,
        Patch(facecolor=OKABE_ITO["vermillion"], alpha=0.12, label="highly concentrated (> 1,800)"),
        Patch(facecolor=OKABE_ITO["orange"], alpha=0.14, label="moderately concentrated\n(1,000-1,800)"),
        Patch(facecolor="white", edgecolor="#BDBDBD", label="unconcentrated (< 1,000)"),
    ]
    hhi_label = "HHI: sum of squared % shares of\nthe labs' market (outside option\nexcluded)"
    labels = [hhi_label, *(h.get_label() for h in handles[1:])]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False,
              title="2023 US Merger Guidelines", title_fontsize=9)
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


def quality_panel(ax: Any, market_df: pd.DataFrame, summary: Mapping[str, Any]) -> None:
    years = market_df["year"].to_numpy(dtype=float)
    frontier = _finite(market_df["frontier_quality"].to_numpy(dtype=float))
    runner = _finite(market_df["runnerup_quality"].to_numpy(dtype=float))
    start, span = summary.get("takeoff_start_year"), summary.get("takeoff_years")
    if _real(start) and _real(span):
        ax.axvspan(start, start + span, color=OKABE_ITO["sky_blue"], alpha=0.15, linewidth=0,
                   label=f"takeoff ({span:.1f} years)")
    elif _real(start) and years.size:
        ax.axvspan(start, years[-1], color=OKABE_ITO["sky_blue"], alpha=0.08, linewidth=0,
                   label="takeoff started, not completed")
    lo, hi = _quality_limits(frontier, runner, summary)
    for key, text, style in (("par_human", "par-human", ":"), ("superhuman", "strongly superhuman", "-.")):
        level, flop = summary.get(f"{key}_quality"), summary.get(f"{key}_log10_flop")
        if _real(level):
            where = f"\n(1e{flop:g} effective FLOP)" if _real(flop) else ""
            off = "" if lo <= level <= hi else ", off scale"
            ax.axhline(level, color=_GUIDE, linestyle=style, linewidth=1.0, label=f"{text} threshold{where}{off}")
    ax.plot(years, frontier, color=OKABE_ITO["blue"], linewidth=2.0, label="frontier (best served model)")
    none = "" if np.isfinite(runner).any() else " (none)"
    ax.plot(years, runner, color=OKABE_ITO["orange"], linewidth=1.8, linestyle="--", label=f"runner-up lab{none}")
    sing = summary.get("singularity_year")
    if _real(sing):
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
        if _real(level) and (key == "par_human_quality" or level <= hi + 0.5 * span):
            lo, hi = min(lo, level), max(hi, level)
    pad = 0.06 * (hi - lo if hi > lo else 1.0)
    return lo - pad, hi + pad


def _clear_side(values: np.ndarray, levels: tuple[float, ...], band: float) -> float:
    """0.0 (left) or 1.0 (right): the end of the panel where the curve stays farther from the guideline labels."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 1.0
    k = max(1, finite.size * 2 // 5)
    lo, hi = min(levels) - band, max(levels) + band

    def crowding(part: np.ndarray) -> float:
        return float(np.mean((part > lo) & (part < hi)))

    return 0.0 if crowding(finite[:k]) < crowding(finite[-k:]) else 1.0


def _headline(summary: Mapping[str, Any]) -> str:
    parts = []
    leader, share = summary.get("leader"), summary.get("leader_share")
    if leader is not None and _real(share):
        parts.append(f"leader {leader} with {share:.0%} of the labs' market")
    if _real(summary.get("effective_labs")):
        parts.append(f"{summary['effective_labs']:.1f} effective labs")
    sing = summary.get("singularity_year")
    parts.append(f"singularity in {sing:.1f}" if _real(sing) else "no singularity")
    span = summary.get("takeoff_years")
    parts.append(f"takeoff {span:.1f} years" if _real(span) else "takeoff not completed")
    return "; ".join(parts)


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
