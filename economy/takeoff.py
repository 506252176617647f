"""The automation takeoff of a run, comparable with the full takeoff model (docs/model.md, "Stage 10: record").

Davidson's full takeoff model (2023) and its successors report takeoff as the years from 20 % to 100 % of (AI R&D)
tasks automated.  Here that is read off the frontier's automated fraction of research tasks a(t), recorded after
every step (the market record's ``frontier_automation``): the year a first reaches each threshold, interpolated
linearly within the step in which it does.  The automation logistic reaches exactly 1 only with
``research.max_automation`` = 1 (and then only once a rounds to 1 in double precision), so a run that never
reaches 100 % reports its takeoff to 95 % of the automatable share instead, 0.95 x ``research.max_automation``
(0.95 with full automation possible; the logistic never reaches its cap itself); ``automation_takeoff_to`` says
which level ended it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["AUTOMATION_THRESHOLDS", "automation_takeoff", "first_crossing_year"]

AUTOMATION_THRESHOLDS: tuple[float, float, float] = (0.2, 0.95, 1.0)
"""The takeoff starts at 20 % of research tasks automated and ends at 100 %, or at 95 % of the automatable share
(0.95 x max_automation) when 100 % is not reached."""


def first_crossing_year(years: np.ndarray, values: np.ndarray, level: float) -> float | None:
    """The year ``values`` first reaches ``level``, interpolated linearly between the two records around it.

    NaN records (no frontier model yet) are skipped.  A series that starts at or above ``level`` gives its first
    year (the crossing is not inside the run); one that never reaches it gives None.
    """
    years = np.asarray(years, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    known = np.flatnonzero(np.isfinite(values))
    if known.size == 0:
        return None
    t, a = years[known], values[known]
    above = np.flatnonzero(a >= level)
    if above.size == 0:
        return None
    k = int(above[0])
    if k == 0:
        return float(t[0])
    a0, a1 = a[k - 1], a[k]
    return float(t[k - 1] + (t[k] - t[k - 1]) * (level - a0) / (a1 - a0))


def automation_takeoff(years: np.ndarray, frontier_automation: np.ndarray,
                       max_automation: float = 1.0) -> dict[str, Any]:
    """Years at which the frontier's automation reaches 20 %, 95 % of ``max_automation`` and 100 %, and the takeoff.

    Returns ``automation_20_year``, ``automation_95_year`` (the year a reaches 0.95 x ``max_automation``),
    ``automation_100_year`` (None if never reached), ``automation_takeoff_years`` (years from 20 % to 100 %, or to
    0.95 x ``max_automation`` when 100 % is not reached; None when 20 % was reached before the run started, when
    the end was not reached, or with no 20 % crossing) and ``automation_takeoff_to`` (the level that ended it; None
    with no takeoff).
    """
    start_level, high_fraction, full_level = AUTOMATION_THRESHOLDS
    high_level = high_fraction * max_automation
    start, high, full = (first_crossing_year(years, frontier_automation, q)
                         for q in (start_level, high_level, full_level))
    known = np.asarray(frontier_automation, dtype=np.float64)
    known = known[np.isfinite(known)]
    began_inside = start is not None and bool(known[0] < start_level)
    end, to = (full, full_level) if full is not None else (high, high_level)
    takeoff = end - start if (began_inside and end is not None and end >= start) else None
    return {
        "automation_20_year": start,
        "automation_95_year": high,
        "automation_100_year": full,
        "automation_takeoff_years": takeoff,
        "automation_takeoff_to": to if takeoff is not None else None,
    }
