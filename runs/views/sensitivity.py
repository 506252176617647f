"""The bar chart of a sensitivity study: one panel per output, one group of bars per factor.

Sobol': first-order (S1) and total-order (ST) indices with their 95 % bootstrap intervals; Morris: mu* (mean
absolute elementary effect, per unit of the factor's quantile range) and sigma.  The dummy factor's total index
is drawn as a dashed line: bars that do not clear it are not distinguishable from seed noise.  In the style of
:mod:`runs.views.style`; :func:`write_sensitivity_figures` is the study's figure hook.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from runs.views.style import DPI, GUIDE, OKABE_ITO, write_figures

if TYPE_CHECKING:
    from runs.experiments.sensitivity import SensitivityResult

__all__ = ["index_figure", "write_sensitivity_figures"]


def index_figure(result: SensitivityResult, *, title: str = "") -> Figure:
    """First- and total-order indices (or mu* and sigma) per factor, one panel per analysed output."""
    outputs = [o for o in result.outputs if o not in result.skipped]
    n = max(1, len(outputs))
    n_factors = len(result.names)
    fig = Figure(figsize=(9.0, 1.2 + n * (0.9 + 0.28 * n_factors)), dpi=DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(n, 1, squeeze=False)[:, 0])
    sobol = result.method == "sobol"
    first, total = ("S1", "ST") if sobol else ("mu_star", "sigma")
    labels = ("first order S1", "total order ST") if sobol else ("mu* (mean |effect|)", "sigma")
    colours = (OKABE_ITO["blue"], OKABE_ITO["vermillion"])
    for ax, output in zip(axes, outputs, strict=False):
        table = result.table(output)
        y = np.arange(len(table))
        height = 0.38
        for k, (column, label, colour) in enumerate(zip((first, total), labels, colours, strict=True)):
            values = table[column].to_numpy(dtype=float)
            conf = table.get(f"{column}_conf")
            err = None if conf is None else np.abs(conf.to_numpy(dtype=float))
            ax.barh(y + (k - 0.5) * height, values, height=height, color=colour, label=label, xerr=err,
                    error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"})
        threshold = result.noise_threshold(output)
        if threshold is not None:
            ax.axvline(max(threshold, 0.0), color=GUIDE, linestyle="--", linewidth=1.0,
                       label="dummy factor (noise threshold)")
        ax.set_yticks(y, table["factor"].tolist())
        ax.invert_yaxis()
        ax.axvline(0.0, color="#999999", linewidth=0.6)
        ax.set_title(output, loc="left", fontsize=10)
        ax.set_xlabel("index (share of output variance)" if sobol else "effect per unit quantile range")
        ax.legend(fontsize=8, loc="lower right")
    for ax in axes[len(outputs):]:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no output could be analysed", ha="center", va="center", transform=ax.transAxes)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    return fig


def write_sensitivity_figures(folder: Path, *, result: SensitivityResult, title: str,
                              formats: Sequence[str] = ("png",)) -> list[str]:
    """The study's figure hook: ``sensitivity.png`` (:func:`index_figure`) written into ``folder``."""
    return write_figures(folder, {"sensitivity.png": index_figure(result, title=title)}, formats)
