"""The forest plot of a policy comparison: a panel per outcome, a row per policy arm, difference and 95 % CI.

In the style of :mod:`runs.views.style`; values come from comparison.json
(:func:`runs.experiments.compare.run_compare`).  :func:`write_compare_figures` is the comparison's figure hook.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from runs.experiments.stats import PAIRED_OUTCOMES
from runs.views.policy import shown, write_compare_policy_figures
from runs.views.style import DPI, GUIDE, OKABE_ITO, write_figures

__all__ = ["forest_figure", "write_compare_figures"]

_CLEAR = OKABE_ITO["vermillion"]  # a finding: the interval excludes zero by more than the practical threshold
_SPANS = OKABE_ITO["blue"]  # not a finding
_COLUMNS = 4


def forest_figure(comparison: Mapping[str, Any]) -> Figure:
    """Forest plot of ``comparison["comparisons"]`` (policy - baseline, run by run) for every outcome."""
    arms = list(comparison["comparisons"])
    n_rows = math.ceil(len(PAIRED_OUTCOMES) / _COLUMNS)
    height = 1.6 + n_rows * (0.9 + 0.32 * max(1, len(arms)))
    fig = Figure(figsize=(15.0, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(n_rows, _COLUMNS, sharey=True, squeeze=False)
    positions = list(range(len(arms)))[::-1]  # first arm at the top
    for index, outcome in enumerate(PAIRED_OUTCOMES):
        ax = axes[index // _COLUMNS][index % _COLUMNS]
        ax.axvline(0.0, color=GUIDE, linewidth=1.0, zorder=1)
        for y, arm in zip(positions, arms, strict=True):
            stat = comparison["comparisons"][arm]["outcomes"][outcome.key]
            diff, ci = stat.get("difference"), stat.get("ci95")
            if diff is None:
                ax.annotate(f"n/a ({stat.get('n_pairs', 0)} pairs)", (0.5, y), xycoords=("axes fraction", "data"),
                            ha="center", va="center", fontsize=8, color=GUIDE,
                            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})
                continue
            x = shown(outcome, diff)
            if ci is None:
                ax.plot([x], [y], marker="o", color=_SPANS, zorder=3)
                continue
            lo, hi = shown(outcome, ci[0]), shown(outcome, ci[1])
            colour = _CLEAR if stat.get("finding") else _SPANS
            ax.plot([lo, hi], [y, y], color=colour, linewidth=2.2, solid_capstyle="butt", zorder=2)
            ax.plot([x], [y], marker="o", markersize=6, color=colour, zorder=3)
        unit = "percentage points" if outcome.kind == "binary" else outcome.unit
        ax.set_title(outcome.label, fontsize=10)
        ax.set_xlabel(f"policy - baseline ({unit})", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.15)
    for ax in axes.flat[len(PAIRED_OUTCOMES):]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_yticks(positions, arms, fontsize=9)
        row[0].set_ylim(-0.7, len(arms) - 0.3)
    handles = [Line2D([], [], color=_CLEAR, marker="o", linewidth=2.2,
                      label="finding: 95 % interval excludes 0 by more than the practical threshold"),
               Line2D([], [], color=_SPANS, marker="o", linewidth=2.2, label="not a finding")]
    fig.legend(handles=handles, loc="outside upper right", fontsize=8, ncols=2, frameon=False)
    fig.suptitle(f"Policy effects on '{comparison['scenario']}': paired differences, "
                 f"{comparison['runs_per_arm']} runs per arm (seed {comparison['seed']})", fontsize=12)
    footer = ("Each run of a policy arm is paired with the baseline run of the same seed and uncertain draws "
              "(common random numbers). 95 % intervals: Student t on the mean paired difference; Newcombe (1998) "
              "hybrid score for proportions. Takeoff: pairs where both runs completed one. Capability delay: a "
              "threshold never reached counts at the horizon (censored).")
    fig.text(0.005, 0.003, footer, fontsize=7, color=GUIDE, va="bottom")
    fig.get_layout_engine().set(rect=(0.0, 0.03, 1.0, 0.97))
    return fig


def write_compare_figures(folder: Path, *, comparison: Mapping[str, Any],
                          formats: Sequence[str] = ("png",)) -> list[str]:
    """The comparison's figure hook: ``forest.png`` (:func:`forest_figure`) and ``tradeoff.png``
    (:func:`runs.views.policy.tradeoff_figure`) written into ``folder``."""
    return [*write_figures(folder, {"forest.png": forest_figure(comparison)}, formats),
            *write_compare_policy_figures(folder, comparison=comparison, formats=formats)]
