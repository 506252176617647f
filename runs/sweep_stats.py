"""Statistics of one grid point of a sweep, from its ensemble's runs table (one row of points.parquet).

Probabilities carry Wilson 95 % intervals (:func:`runs.ensemble_stats.wilson_interval`); the median final HHI
carries the distribution-free 95 % interval of order statistics (:func:`median_interval`).  Everything is
over the runs that succeeded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from runs.ensemble_stats import wilson_interval

__all__ = ["POINT_STATISTICS", "median_interval", "point_statistics"]

POINT_STATISTICS: dict[str, str] = {
    "p_unipolar": "share of runs ending unipolar (leader share > 0.5 or HHI > 5,000)",
    "p_singularity": "share of runs with a singularity before the horizon",
    "median_final_hhi": "median final HHI (0-10,000)",
    "p_takeoff": "share of runs whose frontier went from par-human to strongly superhuman",
    "median_leader_share": "median final leader share of the labs' market",
    "median_singularity_year": "median singularity year of the runs with one",
    "p_catastrophe": "share of runs with a catastrophe",
}
"""The headline columns of points.parquet (``p_*`` have ``_lo``/``_hi`` Wilson bounds; the HHI median too)."""


def median_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    r"""Distribution-free interval for the median: order statistics :math:`(x_{(l)}, x_{(n+1-l)})`.

    :math:`l` is the largest integer with :math:`P(B < l) \le (1 - level)/2` for :math:`B \sim Bin(n, 1/2)`, so
    the coverage is at least ``level`` whatever the distribution (Conover 1999, sec. 3.2).  NaN bounds if
    ``n`` is too small for that coverage (``n < 6`` at 95 %); non-finite values are left out.
    """
    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    k = np.arange(n + 1)
    cdf = np.cumsum(np.exp(log_fact[n] - log_fact[k] - log_fact[n - k] - n * math.log(2.0)))
    # P(B < l) = cdf[l - 1]; the largest l >= 1 with cdf[l - 1] <= tail
    l = int(np.searchsorted(cdf, tail * (1.0 + 1e-12), side="right"))
    if l < 1:
        return math.nan, math.nan
    return float(x[l - 1]), float(x[n - l])


def point_statistics(table: pd.DataFrame) -> dict[str, Any]:
    """The statistics of one point from its runs table (runs.parquet of its ensemble)."""
    ok = table[table["status"] == "ok"]
    n = len(ok)
    out: dict[str, Any] = {"runs": len(table), "ok_runs": n, "failed_runs": len(table) - n}

    def numeric(name: str) -> np.ndarray:
        if name not in ok:
            return np.full(n, np.nan)
        return pd.to_numeric(ok[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    def proportion(name: str, flags: np.ndarray) -> None:
        count = int(np.count_nonzero(flags))
        interval = wilson_interval(count, n)
        out[name] = count / n if n else math.nan
        out[f"{name}_lo"], out[f"{name}_hi"] = interval if interval is not None else (math.nan, math.nan)

    def flag(name: str) -> np.ndarray:
        return ok[name].to_numpy(dtype=bool) if name in ok else np.zeros(n, dtype=bool)

    singularity = numeric("singularity_year")
    hhi = numeric("final_hhi")
    proportion("p_unipolar", flag("unipolar"))
    proportion("p_singularity", np.isfinite(singularity))
    finite_hhi = hhi[np.isfinite(hhi)]
    out["median_final_hhi"] = float(np.median(finite_hhi)) if finite_hhi.size else math.nan
    out["median_final_hhi_lo"], out["median_final_hhi_hi"] = median_interval(finite_hhi)
    out["final_hhi_p05"], out["final_hhi_p95"] = (
        (float(v) for v in np.quantile(finite_hhi, (0.05, 0.95))) if finite_hhi.size else (math.nan, math.nan))
    proportion("p_takeoff", np.isfinite(numeric("takeoff_years")))
    leader = numeric("leader_share")
    out["median_leader_share"] = float(np.nanmedian(leader)) if np.isfinite(leader).any() else math.nan
    years = singularity[np.isfinite(singularity)]
    out["median_singularity_year"] = float(np.median(years)) if years.size else math.nan
    proportion("p_catastrophe", flag("catastrophe"))
    return out
