"""Marks shared by the figures: events on a time series, guide labels placed where no data runs, year ticks.

- :func:`mark_events`: entries, exits, acquisitions, incidents and policy events (blocked deals, break-ups,
  pauses) of a run's ``events.parquet`` as markers on a series (the HHI line, say), one legend entry per kind.
- :func:`place_guide_labels`: the label of each horizontal guide line (an HHI threshold) at the first of a few
  candidate spots whose text box, measured from the drawn artists after the layout is final, touches no data
  line and no other label.
- :func:`year_axis`: whole-year ticks, no offset, no "2025.0".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox

from runs.views.style import GUIDE, OKABE_ITO

__all__ = ["EVENT_STYLES", "label_overlaps", "mark_events", "place_guide_labels", "settle_layout", "year_axis"]

EVENT_STYLES: dict[str, tuple[str, str, str]] = {
    # kind: (marker, colour, legend words)
    "entry": ("^", OKABE_ITO["bluish_green"], "entry"),
    "exit": ("v", "#777777", "exit"),
    "acquisition": ("D", OKABE_ITO["reddish_purple"], "acquisition"),
    "incident": ("X", OKABE_ITO["vermillion"], "safety incident"),
    "catastrophe": ("*", "#8B0000", "catastrophe"),
    "acquisition_blocked": ("s", OKABE_ITO["orange"], "deal blocked by review"),
    "breakup": ("P", OKABE_ITO["blue"], "break-up (policy)"),
    "pause": ("p", OKABE_ITO["sky_blue"], "pause (policy)"),
}
"""How each event kind is marked (strategy changes, the most numerous, are not)."""


def mark_events(ax: Any, events: pd.DataFrame | None, years: np.ndarray, values: np.ndarray, *,
                until: float | None = None, size: float = 6.0) -> tuple[list[Line2D], list[Line2D]]:
    """Markers at the events' years on the series ``(years, values)`` (interpolated); returns the drawn markers
    and one legend handle per kind, labelled with its count.

    Only the kinds of :data:`EVENT_STYLES` are marked; ``until`` leaves out later events (a run being watched).
    """
    drawn: list[Line2D] = []
    handles: list[Line2D] = []
    if events is None or len(events) == 0 or years.size == 0:
        return drawn, handles
    finite = np.isfinite(values)
    if not finite.any():
        return drawn, handles
    for kind, (marker, colour, words) in EVENT_STYLES.items():
        rows = events[events["kind"] == kind]
        if until is not None:
            rows = rows[rows["year"] <= until + 1e-9]
        if len(rows) == 0:
            continue
        when = rows["year"].to_numpy(dtype=float)
        where = np.interp(when, years[finite], values[finite])
        drawn += ax.plot(when, where, linestyle="none", marker=marker, markersize=size, color=colour,
                         markeredgecolor="white", markeredgewidth=0.6, zorder=6, label=f"_{kind}")
        handles.append(Line2D([], [], linestyle="none", marker=marker, color=colour, markeredgecolor="white",
                              label=f"{words} ({len(rows)})"))
    return drawn, handles


def year_axis(ax: Any, start: float, end: float, *, ticks: int = 10) -> None:
    """Whole years on the x axis from ``start`` to ``end``: at most ``ticks`` ticks, at integers in steps of 1, 2, 5
    or 10 years (2025, 2030, ...), written without decimals."""
    ax.set_xlim(start, end if end > start else start + 1.0)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=ticks, steps=[1, 2, 5, 10], integer=True, min_n_ticks=3))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f}"))


def settle_layout(fig: Figure) -> Any:
    """Run the figure's layout engine once and freeze it (positions are then final); returns a renderer.

    Saving does not lay the figure out again, so the text boxes measured afterwards are the ones drawn.
    """
    renderer = fig.canvas.get_renderer()
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine("none")
    return renderer


def _touches(bbox: Bbox, lines: Sequence[Line2D], taken: Sequence[Bbox]) -> bool:
    for other in taken:
        if bbox.overlaps(other):
            return True
    for line in lines:
        xy = line.get_transform().transform(np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float))
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy) == 0:
            continue
        if len(xy) == 1 or line.get_linestyle() in ("None", "none", "", " "):  # markers only: their points
            reach = bbox.padded(0.5 * line.get_markersize() * line.figure.dpi / 72.0)
            inside = (xy[:, 0] >= reach.x0) & (xy[:, 0] <= reach.x1) & (xy[:, 1] >= reach.y0) & (xy[:, 1] <= reach.y1)
            if inside.any():
                return True
            continue
        if MplPath(xy).intersects_bbox(bbox, filled=False):
            return True
    return False


def label_overlaps(text: Text, lines: Sequence[Line2D], renderer: Any, pad_px: float = 1.0) -> bool:
    """True if the drawn box of ``text`` touches any of ``lines`` (checked on the drawn geometry)."""
    return _touches(text.get_window_extent(renderer).padded(pad_px), lines, ())


_SPOTS = (0.01, 0.99, 0.5, 0.25, 0.75, 0.12, 0.88, 0.38, 0.62)
"""Candidate anchors along the axis (axes fraction), in order of preference."""


def place_guide_labels(ax: Any, guides: Sequence[tuple[float, str]], lines: Sequence[Line2D], renderer: Any, *,
                       fontsize: float = 8.0, colour: str = GUIDE) -> list[Text]:
    """Label each guide ``(level, text)`` at the first spot (ends, middle, quarters; above, then below the line)
    whose box touches none of ``lines`` and no label placed before; call after :func:`settle_layout`.

    With no clear spot the label goes just outside the axes' right edge, where no data runs.
    """
    placed: list[Text] = []
    boxes: list[Bbox] = []
    for level, words in guides:
        chosen = None
        for above in (True, False):
            for spot in _SPOTS:
                ha = "left" if spot < 0.3 else "right" if spot > 0.7 else "center"
                text = ax.annotate(words, xy=(spot, level), xycoords=("axes fraction", "data"),
                                   xytext=(0, 2 if above else -2), textcoords="offset points", ha=ha,
                                   va="bottom" if above else "top", fontsize=fontsize, color=colour, zorder=7)
                box = text.get_window_extent(renderer).padded(1.5)
                if not _touches(box, lines, boxes):
                    chosen = text
                    break
                text.remove()
            if chosen is not None:
                break
        if chosen is None:
            chosen = ax.annotate(words, xy=(1.0, level), xycoords=("axes fraction", "data"), xytext=(3, 0),
                                 textcoords="offset points", ha="left", va="center", fontsize=fontsize,
                                 color=colour, annotation_clip=False)
        boxes.append(chosen.get_window_extent(renderer).padded(1.5))
        placed.append(chosen)
    return placed
