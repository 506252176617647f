"""Summary statistics of an ensemble from its runs table (the table, ``--json`` and summary.json)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["QUANTILES", "summarise", "wilson_interval"]

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)


def wilson_interval(successes: int, trials: int, z: float = 1.959963984540054) -> tuple[float, float] | None:
    r"""Wilson score interval for a binomial proportion (95 % by default); None without trials.

    .. math:: \frac{\hat p + z^2/2n \pm z \sqrt{\hat p (1 - \hat p)/n + z^2/4n^2}}{1 + z^2/n}
    """
    if trials <= 0:
        return None
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4 * trials * trials)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends: no rounding residue at 0 or n
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return lo, hi


def _quantiles(values: np.ndarray) -> dict[str, float] | None:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    qs = np.quantile(values, QUANTILES)
    return {f"p{round(q * 100):02d}": float(v) for q, v in zip(QUANTILES, qs, strict=True)}


def _proportion(flags: np.ndarray) -> dict[str, Any]:
    n = int(flags.size)
    k = int(np.count_nonzero(flags))
    interval = wilson_interval(k, n)
    return {"probability": k / n if n else None, "count": k, "of": n,
            "wilson95": list(interval) if interval is not None else None}


def _numeric(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table:
        return np.empty(0)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def summarise(table: pd.DataFrame, *, scenario_name: str, seed: int, chunk: int,
              uncertain: Sequence[str]) -> dict[str, Any]:
    """The ensemble's outcomes from runs.parquet; probabilities and quantiles are over the runs that succeeded."""
    ok = table[table["status"] == "ok"]
    n_ok = len(ok)

    def flag(name: str) -> np.ndarray:
        return ok[name].to_numpy(dtype=bool) if name in ok else np.zeros(n_ok, bool)

    takeoff = _numeric(ok, "takeoff_years")
    singular = _numeric(ok, "singularity_year")
    status_counts = table["status"].value_counts()
    return {
        "scenario": scenario_name,
        "runs": len(table),
        "ok_runs": n_ok,
        "failed_runs": len(table) - n_ok,
        "failed_by_status": {str(k): int(v) for k, v in status_counts.items() if k != "ok"},
        "seed": seed,
        "chunk": chunk,
        "uncertain": list(uncertain),
        "unipolar": {**_proportion(flag("unipolar")),
                     "by_share": _proportion(flag("unipolar_by_share"))["probability"],
                     "by_hhi": _proportion(flag("unipolar_by_hhi"))["probability"]},
        "final_hhi": _quantiles(_numeric(ok, "final_hhi")),
        "leader_share": _quantiles(_numeric(ok, "leader_share")),
        "takeoff_years": {"share_with": float(np.isfinite(takeoff).mean()) if n_ok else None,
                          "quantiles": _quantiles(takeoff)},
        "singularity_year": {"share_with": float(np.isfinite(singular).mean()) if n_ok else None,
                             "quantiles": _quantiles(singular)},
        "catastrophe": _proportion(flag("catastrophe")),
    }
