"""The house style of every figure, and how figures are written.

Every figure is a :class:`matplotlib.figure.Figure` built directly on its own Agg canvas (no ``pyplot``, so no
global figure state leaks between calls or threads), drawn in the Okabe-Ito colour-blind-safe palette (or the
perceptually uniform ``cividis`` and ``viridis`` maps), with units on the axes and its source in a footer.
Plotting lives in this room, never on model classes.  :func:`save_figure` writes a PNG or an SVG;
:func:`write_figures` writes a set of them atomically into an output folder, in one or more :data:`FORMATS`
(what the runners' figure hooks call, :class:`runs.experiments.Figures`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
from matplotlib.figure import Figure

from runs.experiments.outputs import atomic_file
from runs.views.hooks import FORMATS

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


def save_figure(fig: Figure, target: Path | IO[bytes], *, dpi: int = DPI, fmt: str = "png") -> None:
    """Write a figure as PNG or SVG (Agg canvas, no pyplot) to a path or a binary file."""
    if fmt not in FORMATS:
        raise ValueError(f"figure format {fmt!r}: choose from {', '.join(FORMATS)}")
    # SVG: text as text (searchable, small); no timestamp, so equal figures give equal files
    metadata = {"Creator": "multipolar", "Date": None} if fmt == "svg" else {"Software": "multipolar"}
    # PNG: zlib level 1 (files about 7 % larger, 0.1 s less per figure than the default level 6)
    extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}
    engine = fig.get_layout_engine()
    if engine is None or fmt != "png" or dpi != fig.dpi:
        fig.savefig(target, dpi=dpi, format=fmt, metadata=metadata, **extra)
        return
    # A figure with a layout engine is drawn twice by savefig: once, rendering nothing, to lay it out, then for
    # real (laying it out again).  At the canvas's own dpi that first pass is the layout this call runs: laid out
    # here once and saved without its engine, the PNG is the same byte for byte and 0.04-0.05 s sooner per figure
    # (the run's overview and network figures, docs/performance.md); the engine is back on the figure afterwards.
    engine.execute(fig)
    fig.set_layout_engine(None)
    try:
        fig.savefig(target, dpi=dpi, format=fmt, metadata=metadata, **extra)
    finally:
        fig.set_layout_engine(engine)


def save_figure_atomic(fig: Figure, path: Path) -> None:
    """Write ``fig`` to a temporary name, then rename it into place; the format is the path's suffix."""
    with atomic_file(path) as tmp:
        save_figure(fig, tmp, fmt=Path(path).suffix.lstrip(".").lower())


def write_figures(folder: Path, figures: Mapping[str, Figure], formats: Sequence[str] = ("png",)) -> list[str]:
    """Write each figure (keyed by its ``.png`` file name) atomically into ``folder`` in every one of ``formats``;
    returns the names written (``overview.png``, ``overview.svg``, ...)."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"figure formats {list(formats)}: choose one or more of {', '.join(FORMATS)}")
    written = []
    for name, fig in figures.items():
        for fmt in formats:
            target = Path(folder) / Path(name).with_suffix(f".{fmt}").name
            save_figure_atomic(fig, target)
            written.append(target.name)
    return written


def finite(values: np.ndarray) -> np.ndarray:
    """``values`` with inf replaced by NaN (a gap in a line, not a spike)."""
    return np.where(np.isfinite(values), values, np.nan)


def is_real(value: Any) -> bool:
    """True for a finite int or float (not a bool, not None)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
