"""Figures of a calibration (``multipolar calibrate``, runs.checks.hindcast; docs/calibration.md).

One posterior predictive figure per observed series (the 5-95 % and 25-75 % bands of the posterior predictive
draws at each observation, the observations as points: filled in the fit window, open and orange when held
out) and one figure of the prior and posterior marginals of the calibrated parameters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from economy.params import Scenario
from runs.experiments.uncertain import UncertainPlan, ppf
from runs.views.style import DPI, GUIDE, OKABE_ITO, write_figures

__all__ = ["marginals_figure", "predictive_figures"]

LOG_SERIES = {"largest_training_run_flop", "largest_training_run_cost", "lab_annualized_revenue",
              "training_compute_growth_frontier", "training_cost_growth", "algorithmic_progress_halving_time",
              "algorithmic_progress_rate"}
"""Series drawn on a log axis."""


def predictive_figures(predictive: pd.DataFrame, coverage: pd.DataFrame, out_dir: Path) -> list[str]:
    """``predictive_<series>.png`` for each observed series; returns the file names written."""
    figures = {}
    for series, rows in coverage.groupby("series", sort=True):
        fig = Figure(figsize=(7.0, 3.6), dpi=DPI, layout="constrained")
        ax = fig.add_subplot()
        groups = rows.groupby("entity", sort=True, dropna=False) if rows["lab"].any() else [("", rows)]
        colours = [OKABE_ITO["blue"], OKABE_ITO["bluish_green"], OKABE_ITO["reddish_purple"], OKABE_ITO["black"]]
        for k, (entity, group) in enumerate(groups):
            colour = colours[k % len(colours)]
            years = pd.to_datetime(group["date"]).dt.year + pd.to_datetime(group["date"]).dt.day_of_year / 366.0
            draws = predictive[(predictive["series"] == series) & (predictive["entity"] == group["entity"].iloc[0])]
            mid = draws.groupby("date")["value"].quantile([0.25, 0.75]).unstack() if len(draws) else None
            order = np.argsort(years.to_numpy())
            x = years.to_numpy()[order]
            ax.vlines(x, group["p05"].to_numpy()[order], group["p95"].to_numpy()[order], color=colour, alpha=0.35,
                      linewidth=6, label=f"{entity or 'model'}: predictive 5-95 %")
            if mid is not None:
                m = mid.reindex(group["date"].to_numpy()[order])
                ax.vlines(x, m[0.25].to_numpy(), m[0.75].to_numpy(), color=colour, alpha=0.7, linewidth=6)
            inside = group["in_sample"].to_numpy()[order]
            observed = group["observed"].to_numpy()[order]
            ax.scatter(x[inside], observed[inside], color=colour, zorder=3, label="observed (fit)")
            ax.scatter(x[~inside], observed[~inside], facecolor="white", edgecolor=OKABE_ITO["vermillion"],
                       linewidth=1.5, zorder=3, label="observed (held out)")
        if series in LOG_SERIES:
            ax.set_yscale("log")
        ax.set_title(series)
        ax.set_xlabel("year")
        ax.set_ylabel(str(series).replace("_", " "))
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        ax.legend(unique.values(), unique.keys(), fontsize=7, loc="best")
        fig.text(0.01, 0.005, "source: runs/data/ (runs/data/README.md); model: multipolar calibrate", fontsize=6,
                 color=GUIDE)
        figures[f"predictive_{series}.png"] = fig
    return write_figures(out_dir, figures)


def marginals_figure(posterior: pd.DataFrame, scenario: Scenario, out_dir: Path) -> str:
    """``marginals.png``: each calibrated parameter's prior (grey) and weighted posterior (blue) histogram."""
    plan = UncertainPlan.from_scenario(scenario)
    n = len(plan.keys)
    fig = Figure(figsize=(3.2 * min(n, 3), 2.6 * ((n + 2) // 3)), dpi=DPI, layout="constrained")
    weights = posterior["weight"].to_numpy()
    prior_u = (np.arange(2000) + 0.5) / 2000
    for j, (key, dist) in enumerate(zip(plan.keys, plan.distributions, strict=True)):
        ax = fig.add_subplot((n + 2) // 3, min(n, 3), j + 1)
        prior = ppf(dist, prior_u)
        bins = np.linspace(prior.min(), prior.max(), 25)
        ax.hist(prior, bins=bins, density=True, color=GUIDE, alpha=0.35, label="prior")
        ax.hist(posterior[key].to_numpy(), bins=bins, weights=weights, density=True, color=OKABE_ITO["blue"],
                alpha=0.7, label="posterior")
        ax.set_title(key, fontsize=8)
        ax.tick_params(labelsize=7)
        if j == 0:
            ax.legend(fontsize=7)
    return write_figures(out_dir, {"marginals.png": fig})[0]
