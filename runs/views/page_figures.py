"""The dashboard's figures: small, quick to draw, titled with what they show at the year shown.

Each takes the runs of a view keyed by arm (:data:`runs.views.session.BASELINE` and, with policies on,
:data:`runs.views.session.POLICY`; the same seed, so common random numbers) and the year shown (the horizon, or
the year a watched run has reached), and returns a :class:`matplotlib.figure.Figure` in the house style
(:mod:`runs.views.style`), whole years on the time axis (:func:`runs.views.marks.year_axis`):

- :func:`concentration_figure`: HHI of each arm with the Merger Guidelines bands and each arm's events;
- :func:`shares_figure`: customer shares by lab of one arm (side by side on the page);
- :func:`capability_figure`: frontier quality of each arm with the takeoff thresholds;
- :func:`fan_figure`: an ensemble's HHI fan of each arm, titled with P(unipolar) and its Wilson interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from runs.views.ensemble import step_quantiles
from runs.views.marks import mark_events, place_guide_labels, settle_layout, year_axis
from runs.views.run import HHI_GUIDES, share_panel
from runs.views.style import GUIDE, HHI_HIGH, HHI_MODERATE, OKABE_ITO, finite, is_real

__all__ = ["ARM_COLOURS", "capability_figure", "concentration_figure", "fan_figure", "shares_figure"]

ARM_COLOURS: tuple[str, ...] = (OKABE_ITO["blue"], OKABE_ITO["vermillion"])
"""Baseline, then the policy arm."""
PAGE_DPI = 96
_ARM_STYLES = ("-", "--")
_LEFT, _LEGEND, _TOP, _BOTTOM = 0.8, 2.25, 0.4, 0.5
"""The page figures' margins in inches: the y label, the legend right of the axes, the title, the year ticks."""


def _figure(height: float, width: float = 7.6, *, right: float = _LEGEND, top: float = _TOP,
            bottom: float = _BOTTOM) -> tuple[Figure, Any]:
    """One axes with fixed margins in inches (``right``: room for a legend beside the axes).  Fixed, not
    constrained: a constrained layout measured every text box before each draw and made the page's three figures
    take 0.7-1.1 s to draw instead of 0.4 s (docs/views.md); tests/runs/views/test_page_figures.py checks that
    every text stays inside the figure."""
    fig = Figure(figsize=(width, height), dpi=PAGE_DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=_LEFT / width, right=1.0 - right / width, bottom=bottom / height, top=1.0 - top / height)
    return fig, fig.subplots()


def _upto(frame: pd.DataFrame, year: float) -> pd.DataFrame:
    return frame[frame["year"] <= year + 1e-9]


def concentration_figure(runs: Mapping[str, Any], horizon: tuple[float, float], year: float) -> Figure:
    """HHI over time of each arm up to ``year``, Merger Guidelines bands, events on each arm's line.

    ``runs`` maps an arm's name to an object with ``market`` and ``events`` tables (a
    :class:`runs.views.session.RunView`).
    """
    fig, ax = _figure(3.1)
    ax.axhspan(HHI_HIGH, 10_000.0, color=OKABE_ITO["vermillion"], alpha=0.06, linewidth=0)
    ax.axhspan(HHI_MODERATE, HHI_HIGH, color=OKABE_ITO["orange"], alpha=0.07, linewidth=0)
    for level, _ in HHI_GUIDES:
        ax.axhline(level, color=GUIDE, linestyle="--", linewidth=0.8)
    avoid = []
    arm_lines = []
    handles = []
    words = []
    for k, (name, view) in enumerate(runs.items()):
        market = _upto(view.market, year)
        years, hhi = market["year"].to_numpy(dtype=float), market["hhi"].to_numpy(dtype=float)
        (line,) = ax.plot(years, hhi, color=ARM_COLOURS[k % 2], linestyle=_ARM_STYLES[k % 2], linewidth=2.0,
                          label=name, zorder=4)
        drawn, marks = mark_events(ax, view.events, years, hhi, until=year, size=5.5)
        avoid += [line, *drawn]
        arm_lines.append(line)
        handles.append(line)
        if k == 0:
            handles += marks
        if hhi.size and np.isfinite(hhi[-1]):
            words.append(f"{hhi[-1]:,.0f} {name}")
    peak = max([float(np.nanmax(h.get_ydata())) for h in arm_lines if np.isfinite(h.get_ydata()).any()], default=0.0)
    ax.set_ylim(0.0, min(10_000.0, max(1.3 * peak, 2_600.0)))
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
    ax.set_ylabel("HHI (0-10,000)")
    year_axis(ax, *horizon, ticks=8)
    ax.grid(alpha=0.25)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False,
              title="line: arm; marks: events\n(of the first arm)", title_fontsize=8)
    ax.set_title(f"Concentration in {year:.0f}: HHI " + (", ".join(words) or "n/a"), loc="left", fontsize=10)
    place_guide_labels(ax, HHI_GUIDES, avoid, settle_layout(fig), fontsize=7.5)
    return fig


def shares_figure(name: str, view: Any, horizon: tuple[float, float], year: float, *, top_labs: int = 5,
                  narrow: bool = False) -> Figure:
    """Customer shares by lab of one arm up to ``year`` (the outside option on top); ``narrow`` for side by side."""
    fig, ax = _figure(3.4, 5.2, right=0.25, bottom=0.95) if narrow else _figure(3.1)
    labs = _upto(view.labs, year)
    share_panel(ax, labs, top_labs)
    ax.set_ylabel("share of AI demand")
    year_axis(ax, *horizon, ticks=5 if narrow else 8)
    market = _upto(view.market, year)
    leader = ""
    if len(market):
        last = market.iloc[-1]
        leader = f": top lab {last['top1_share']:.0%} of the labs' market"
    ax.set_title(f"Shares in {year:.0f}, {name}{leader}", loc="left", fontsize=9 if narrow else 10)
    if narrow:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=7, frameon=False, reverse=True)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7.5, frameon=False, reverse=True)
    return fig


def capability_figure(runs: Mapping[str, Any], horizon: tuple[float, float], year: float) -> Figure:
    """Frontier quality of each arm up to ``year``, with the par-human and strongly superhuman thresholds."""
    fig, ax = _figure(2.8)
    summary = next(iter(runs.values())).summary
    for key, words, style in (("par_human_quality", "par-human", ":"), ("superhuman_quality", "superhuman", "-.")):
        level = summary.get(key)
        if is_real(level):
            ax.axhline(level, color=GUIDE, linestyle=style, linewidth=1.0, label=f"{words} threshold")
    values = []
    for k, (name, view) in enumerate(runs.items()):
        market = _upto(view.market, year)
        frontier = finite(market["frontier_quality"].to_numpy(dtype=float))
        ax.plot(market["year"], frontier, color=ARM_COLOURS[k % 2], linestyle=_ARM_STYLES[k % 2], linewidth=2.0,
                label=f"frontier, {name}")
        if np.isfinite(frontier).any():
            values.append(f"{frontier[np.isfinite(frontier)][-1]:.2f} {name}")
        sing = view.summary.get("singularity_year")
        if is_real(sing) and sing <= year:
            ax.axvline(sing, color=ARM_COLOURS[k % 2], linewidth=1.2, label=f"singularity {sing:.1f}, {name}")
    year_axis(ax, *horizon, ticks=8)
    ax.set_ylabel("quality u")
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_title(f"Capability in {year:.0f}: frontier quality " + (", ".join(values) or "n/a"), loc="left",
                 fontsize=10)
    return fig


def fan_figure(arms: Mapping[str, Any], horizon: tuple[float, float], runs_total: int) -> Figure:
    """HHI fan (5-95 % and 25-75 % of runs, median) of each arm, and P(unipolar) with its Wilson 95 % interval.

    ``arms`` maps an arm's name to a :class:`runs.views.session.EnsembleArm`.
    """
    fig, ax = _figure(3.3, right=1.8, top=0.6)
    words = []
    top = 0.0
    for k, (name, arm) in enumerate(arms.items()):
        series = arm.series("hhi")
        colour = ARM_COLOURS[k % 2]
        if series.size:
            q = step_quantiles(series)
            top = max(top, float(np.nanmax(q[4])) if np.isfinite(q[4]).any() else 0.0)
            ax.fill_between(arm.years, q[0], q[4], color=colour, alpha=0.13, linewidth=0)
            ax.fill_between(arm.years, q[1], q[3], color=colour, alpha=0.28, linewidth=0)
            ax.plot(arm.years, q[2], color=colour, linestyle=_ARM_STYLES[k % 2], linewidth=2.0,
                    label=f"{name}: median, 25-75 %, 5-95 % of {arm.ok} runs")
        p = arm.p_unipolar()
        if p is not None:
            words.append(f"{name} {p[0]:.0%} [{p[1]:.0%}, {p[2]:.0%}]")
    for level, text in HHI_GUIDES:
        ax.axhline(level, color=GUIDE, linestyle="--", linewidth=0.8)
        ax.annotate(text, (1.0, level), xycoords=("axes fraction", "data"), xytext=(3, 0), textcoords="offset points",
                    fontsize=7, color=GUIDE, va="center", annotation_clip=False)
    ax.set_ylim(0.0, min(10_000.0, max(1.3 * top, 2_600.0)))
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
    ax.set_ylabel("HHI (0-10,000)")
    year_axis(ax, *horizon, ticks=8)
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    done = sum(arm.ok + arm.failed for arm in arms.values()) // max(1, len(arms))
    ax.set_title(f"HHI of an ensemble, {done} of {runs_total} runs per arm\nP(unipolar) with its 95 % Wilson "
                 "interval: " + ("; ".join(words) or "n/a"), loc="left", fontsize=9.5)
    return fig
