"""The house style of every figure, and how figures are written.

Every figure is a :class:`matplotlib.figure.Figure` built directly on its own Agg canvas (no ``pyplot``, so no
global figure state leaks between calls or threads), drawn in the Okabe-Ito colour-blind-safe palette (or the
perceptually uniform ``cividis`` and ``viridis`` maps), with units on the axes and its source in a footer.
Plotting lives in this room, never on model classes.  :func:`save_figure` writes a PNG;
:func:`write_figures` writes a set of them atomically into an output folder (what the runners' figure hooks
call, :class:`runs.experiments.Figures`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
from matplotlib.figure import Figure

from runs.experiments.outputs import atomic_file

__all__ = [
    "DPI",
    "GUIDE",
    "HHI_HIGH",
    "HHI_MODERATE",
    "OKABE_ITO",
    "finite",
    "is_real",
    "save_figure",
    "save_figure_atomic",
    "write_figures",
]

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
GUIDE = "#555555"
"""Guide lines, annotations and footers."""
HHI_MODERATE = 1000.0  # 2023 US Merger Guidelines: above this a market is moderately concentrated
HHI_HIGH = 1800.0  # 2023 US Merger Guidelines: above this a market is highly concentrated
DPI = 120


def save_figure(fig: Figure, target: Path | IO[bytes], *, dpi: int = DPI) -> None:
    """Write a figure as PNG (Agg canvas, no pyplot) to a path or a binary file."""
    fig.savefig(target, dpi=dpi, format="png", metadata={"Software": "multipolar"})


def save_figure_atomic(fig: Figure, path: Path) -> None:
    """Write ``fig`` as PNG to a temporary name, then rename it into place."""
    with atomic_file(path) as tmp:
        save_figure(fig, tmp)


def write_figures(folder: Path, figures: Mapping[str, Figure]) -> list[str]:
    """Write each figure (keyed by file name) atomically into ``folder``; returns the names written."""
    for name, fig in figures.items():
        save_figure_atomic(fig, Path(folder) / name)
    return list(figures)


def finite(values: np.ndarray) -> np.ndarray:
    """``values`` with inf replaced by NaN (a gap in a line, not a spike)."""
    return np.where(np.isfinite(values), values, np.nan)


def is_real(value: Any) -> bool:
    """True for a finite int or float (not a bool, not None)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
