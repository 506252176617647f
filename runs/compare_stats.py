r"""Paired differences between a policy arm and the baseline arm, run by run, with 95 % intervals.

Both arms ran the same seeds and the same uncertain draws (common random numbers, :mod:`runs.compare`), so run
``i`` of the policy arm and run ``i`` of the baseline form a pair; the statistics below are over the pairs in
which both runs succeeded.  Outcome definitions are those of the ensemble summary (:mod:`runs.ensemble_stats`,
``economy.engine.Simulation.summary``): unipolar means leader share > 0.5 or HHI > 5,000 at the horizon.

Two interval methods:

- **mean of paired differences** (continuous and count outcomes): :math:`\bar d \pm t_{0.975, n-1}\, s_d/\sqrt n`
  with :math:`d_i = y^{policy}_i - y^{base}_i` (Student t);
- **difference of paired proportions** (yes/no outcomes): :math:`\hat\theta = (b - c)/n` with :math:`b` the pairs
  where only the policy run has the outcome and :math:`c` those where only the baseline run has it, and the
  hybrid score interval of Newcombe (1998, method 10): Wilson intervals of the two marginal proportions
  combined with the phi correlation of the pairs; it stays inside [-1, 1] and is not degenerate at 0 or n.

Newcombe, R. G. (1998). Improved confidence intervals for the difference between binomial proportions based
on paired data. Statistics in Medicine 17, 2635-2650.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from runs.ensemble_stats import wilson_interval

__all__ = [
    "OUTCOMES",
    "Outcome",
    "compare_tables",
    "outcome_values",
    "paired_mean",
    "paired_proportion",
]

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Outcome:
    """One compared outcome: its runs.parquet column, how it is read and how it is shown."""

    key: str
    label: str
    unit: str  # unit of the difference
    kind: Literal["mean", "binary"]
    column: str
    scale: float = 1.0  # shown value = value / scale (the JSON keeps raw units)
    fmt: str = ".3g"
    note: str = ""


OUTCOMES: tuple[Outcome, ...] = (
    Outcome("final_hhi", "final HHI", "HHI points (0-10,000)", "mean", "final_hhi", fmt=",.0f"),
    Outcome("unipolar", "P(unipolar)", "percentage points", "binary", "unipolar", fmt=".1%",
            note="leader share > 0.5 or HHI > 5,000 at the horizon"),
    Outcome("takeoff_years", "takeoff duration", "years", "mean", "takeoff_years", fmt=".2f",
            note="years from par-human to strongly superhuman; pairs where both runs completed a takeoff"),
    Outcome("singularity", "runs with a singularity", "percentage points", "binary", "singularity_year",
            fmt=".1%", note="a lab's ln S reached the ceiling (singularity_year defined)"),
    Outcome("catastrophe", "P(catastrophe)", "percentage points", "binary", "catastrophe", fmt=".1%"),
    Outcome("incidents", "incidents per run", "incidents", "mean", "incidents", fmt=".2f"),
    Outcome("consumer_value", "cumulative consumer value", "USD trillion", "mean", "consumer_value", scale=1e12,
            fmt=",.0f"),
    Outcome("frontier_quality", "frontier quality at the horizon", "quality units u", "mean", "frontier_quality",
            fmt=".3f"),
)
"""The outcomes ``multipolar compare`` reports, in table order."""


def outcome_values(table: pd.DataFrame, outcome: Outcome) -> np.ndarray:
    """The outcome per row of a runs table as floats: 0/1 for yes/no outcomes, NaN where undefined."""
    if outcome.column not in table:
        return np.full(len(table), np.nan)
    if outcome.key == "singularity":
        years = pd.to_numeric(table[outcome.column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return np.isfinite(years).astype(float)
    if outcome.kind == "binary":
        flags = table[outcome.column]
        return np.where(flags.isna(), np.nan, flags.astype("boolean").fillna(False).astype(float))
    return pd.to_numeric(table[outcome.column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def paired_mean(policy: np.ndarray, base: np.ndarray) -> dict[str, Any]:
    """Mean paired difference with a Student-t 95 % interval, over pairs where both values are finite.

    With fewer than two pairs there is no interval (``ci95`` None); when every pair differs by the same amount
    the interval has zero width.
    """
    from scipy import stats

    policy = np.asarray(policy, dtype=float)
    base = np.asarray(base, dtype=float)
    both = np.isfinite(policy) & np.isfinite(base)
    d = policy[both] - base[both]
    n = int(d.size)
    out: dict[str, Any] = {
        "method": "mean of paired differences, Student t interval",
        "n_pairs": n,
        "only_policy": int((np.isfinite(policy) & ~np.isfinite(base)).sum()),
        "only_baseline": int((~np.isfinite(policy) & np.isfinite(base)).sum()),
        "baseline": float(base[both].mean()) if n else None,
        "policy": float(policy[both].mean()) if n else None,
        "difference": float(d.mean()) if n else None,
        "median_difference": float(np.median(d)) if n else None,
        "sd_difference": float(d.std(ddof=1)) if n > 1 else None,
        "ci95": None,
    }
    if n > 1:
        half = float(stats.t.ppf(0.975, n - 1)) * out["sd_difference"] / math.sqrt(n)
        out["ci95"] = [out["difference"] - half, out["difference"] + half]
    return out


def paired_proportion(policy: np.ndarray, base: np.ndarray, z: float = Z95) -> dict[str, Any]:
    r"""Difference of two paired proportions with Newcombe's (1998) hybrid score interval (method 10).

    With the 2 x 2 table of pairs (``a`` both yes, ``b`` policy only, ``c`` baseline only, ``d`` neither),
    :math:`\hat p_1 = (a + b)/n`, :math:`\hat p_2 = (a + c)/n`, Wilson intervals :math:`[l_i, u_i]` and

    .. math::
        \phi = \frac{ad - bc}{\sqrt{(a+b)(c+d)(a+c)(b+d)}} \quad (0 \text{ if a margin is empty}),

        L = \hat\theta - \sqrt{(\hat p_1 - l_1)^2 - 2\phi(\hat p_1 - l_1)(u_2 - \hat p_2) + (u_2 - \hat p_2)^2},

        U = \hat\theta + \sqrt{(u_1 - \hat p_1)^2 - 2\phi(u_1 - \hat p_1)(\hat p_2 - l_2) + (\hat p_2 - l_2)^2}.

    Pairs with an undefined value (NaN) are left out.
    """
    policy = np.asarray(policy, dtype=float)
    base = np.asarray(base, dtype=float)
    keep = np.isfinite(policy) & np.isfinite(base)
    x1 = policy[keep] > 0.5
    x2 = base[keep] > 0.5
    n = int(x1.size)
    a = int((x1 & x2).sum())
    b = int((x1 & ~x2).sum())
    c = int((~x1 & x2).sum())
    d = n - a - b - c
    out: dict[str, Any] = {
        "method": "difference of paired proportions, Newcombe (1998) hybrid score interval",
        "n_pairs": n,
        "both": a, "only_policy": b, "only_baseline": c, "neither": d,
        "baseline": (a + c) / n if n else None,
        "policy": (a + b) / n if n else None,
        "difference": (b - c) / n if n else None,
        "ci95": None,
    }
    if n == 0:
        return out
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, z)  # type: ignore[misc]
    l2, u2 = wilson_interval(a + c, n, z)  # type: ignore[misc]
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(margins) if margins > 0 else 0.0
    theta = p1 - p2
    lower = theta - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    upper = theta + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    out["ci95"] = [max(-1.0, lower), min(1.0, upper)]
    return out


def compare_tables(base: pd.DataFrame, policy: pd.DataFrame) -> dict[str, Any]:
    """Every outcome of :data:`OUTCOMES` as paired differences ``policy - base`` over runs ok in both tables.

    Tables are runs tables (runs.parquet of an ensemble); rows are paired by their ``run`` index.
    """
    ok_base = base[base["status"] == "ok"].set_index("run")
    ok_policy = policy[policy["status"] == "ok"].set_index("run")
    runs = ok_base.index.intersection(ok_policy.index).sort_values()
    ok_base, ok_policy = ok_base.loc[runs], ok_policy.loc[runs]
    result: dict[str, Any] = {"pairs": len(runs), "outcomes": {}}
    for outcome in OUTCOMES:
        x_policy, x_base = outcome_values(ok_policy, outcome), outcome_values(ok_base, outcome)
        stat = paired_proportion(x_policy, x_base) if outcome.kind == "binary" else paired_mean(x_policy, x_base)
        result["outcomes"][outcome.key] = {"label": outcome.label, "unit": outcome.unit, **stat}
    return result
