r"""Statistics of experiments, from their runs tables: ensemble summaries, paired comparisons, sweep points.

**Ensembles** (:func:`summarise_ensemble`, summary.json): probabilities with Wilson 95 % intervals
(:func:`wilson_interval`) and quantiles over the runs that succeeded.

**Comparisons** (:func:`compare_tables`): paired differences between a policy arm and the baseline arm, run
by run.  Both arms ran the same seeds and the same uncertain draws (common random numbers,
:mod:`runs.experiments.compare`), so run ``i`` of the policy arm and run ``i`` of the baseline form a pair; the
statistics are over the pairs in which both runs succeeded.  Outcome definitions are those of the ensemble
summary (``economy.engine.Simulation.summary``): unipolar means leader share > 0.5 or HHI > 5,000 at the
horizon.  Two interval methods:

- **mean of paired differences** (continuous and count outcomes): :math:`\bar d \pm t_{0.975, n-1}\, s_d/\sqrt n`
  with :math:`d_i = y^{policy}_i - y^{base}_i` (Student t);
- **difference of paired proportions** (yes/no outcomes): :math:`\hat\theta = (b - c)/n` with :math:`b` the pairs
  where only the policy run has the outcome and :math:`c` those where only the baseline run has it, and the
  hybrid score interval of Newcombe (1998, method 10): Wilson intervals of the two marginal proportions
  combined with the phi correlation of the pairs; it stays inside [-1, 1] and is not degenerate at 0 or n.

- **capability delay** (``delay`` outcomes, :func:`paired_delay`): the mean paired difference of the years the
  frontier reaches a threshold (par-human, strongly superhuman effective compute), a run that never reaches it
  counted as reaching it at the horizon (right-censored, :data:`CENSORING`), with the censored runs counted.

Every compared outcome belongs to a group (:data:`GROUPS`: concentration, speed, welfare, money, safety), so a
policy's benefits and costs are read side by side, and carries a practical threshold: a difference is a
*finding* only when its 95 % interval excludes zero by more than that (:func:`is_finding`).

**Sweep points** (:func:`point_statistics`, one row of points.parquet): probabilities with Wilson intervals;
the median final HHI with the distribution-free 95 % interval of order statistics (:func:`median_interval`).

Newcombe, R. G. (1998). Improved confidence intervals for the difference between binomial proportions based
on paired data. Statistics in Medicine 17, 2635-2650.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "CENSORING",
    "GROUPS",
    "OUTCOME_KEYS",
    "PAIRED_OUTCOMES",
    "PAR_HUMAN",
    "POINT_STATISTICS",
    "QUANTILES",
    "STATISTIC",
    "SUPERHUMAN",
    "PairedOutcome",
    "compare_tables",
    "is_finding",
    "median_interval",
    "outcome_values",
    "paired_delay",
    "paired_mean",
    "paired_proportion",
    "point_statistics",
    "practical_threshold",
    "summarise_ensemble",
    "threshold_years",
    "wilson_interval",
]


# ---------------------------------------------------------------------------------------------- ensembles
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


def _share_finite(values: np.ndarray) -> float | None:
    """Share of runs with a finite value (None when the column is absent or there are no runs)."""
    return float(np.isfinite(values).mean()) if values.size else None


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


def summarise_ensemble(table: pd.DataFrame, *, scenario_name: str, seed: int, chunk: int,
              uncertain: Sequence[str]) -> dict[str, Any]:
    """The ensemble's outcomes from runs.parquet; probabilities and quantiles are over the runs that succeeded."""
    ok = table[table["status"] == "ok"]
    n_ok = len(ok)

    def flag(name: str) -> np.ndarray:
        return ok[name].to_numpy(dtype=bool) if name in ok else np.zeros(n_ok, bool)

    takeoff = _numeric(ok, "takeoff_years")
    singular = _numeric(ok, "singularity_year")
    automation_takeoff = _numeric(ok, "automation_takeoff_years")
    at_ceiling = _numeric(ok, "ceiling_year")
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
        "automation_takeoff_years": {"share_with": _share_finite(automation_takeoff),
                                     "quantiles": _quantiles(automation_takeoff)},
        "ceiling_year": {"share_with": _share_finite(at_ceiling), "quantiles": _quantiles(at_ceiling)},
        "catastrophe": _proportion(flag("catastrophe")),
    }


# ---------------------------------------------------------------------------------------------- comparisons
Z95 = 1.959963984540054


GROUPS: dict[str, str] = {
    "concentration": "market concentration",
    "speed": "capability speed",
    "welfare": "consumer welfare",
    "money": "money raised and redistributed",
    "safety": "safety",
}
"""The outcome groups of a comparison, in table order: a policy's benefits and its costs side by side."""


@dataclass(frozen=True)
class PairedOutcome:
    """One compared outcome: its runs.parquet column, how it is read and how it is shown.

    ``kind``: ``mean`` (mean of paired differences), ``binary`` (difference of paired proportions) or ``delay``
    (years until a capability threshold, censored at the horizon: :func:`paired_delay`).  ``min_effect`` is the
    practical threshold in the difference's raw unit (``relative``: as a fraction of the baseline's mean): a
    difference is a **finding** only when its 95 % interval excludes zero by more than it (:func:`is_finding`).
    """

    key: str
    label: str
    unit: str  # unit of the difference
    kind: Literal["mean", "binary", "delay"]
    column: str
    group: str
    min_effect: float
    relative: bool = False
    scale: float = 1.0  # shown value = value / scale (the JSON keeps raw units)
    fmt: str = ".3g"
    note: str = ""


PAR_HUMAN = "par-human"
SUPERHUMAN = "superhuman"

PAIRED_OUTCOMES: tuple[PairedOutcome, ...] = (
    PairedOutcome("final_hhi", "final HHI", "HHI points (0-10,000)", "mean", "final_hhi", "concentration", 100.0,
                  fmt=",.0f", note="practical threshold: the 100-point change of the 2023 Merger Guidelines"),
    PairedOutcome("leader_share", "leader's final share", "percentage points", "mean", "leader_share",
                  "concentration", 0.02, scale=0.01, fmt=".1f"),
    PairedOutcome("unipolar", "P(unipolar)", "percentage points", "binary", "unipolar", "concentration", 0.02,
                  fmt=".1%", note="leader share > 0.5 or HHI > 5,000 at the horizon"),
    PairedOutcome("delay_par_human", "capability delay, par-human", "years", "delay", PAR_HUMAN, "speed", 0.25,
                  fmt=".2f", note="years later the frontier reaches par-human effective compute; a run that never "
                  "reaches it counts as reaching it at the horizon (censored)"),
    PairedOutcome("delay_superhuman", "capability delay, superhuman", "years", "delay", SUPERHUMAN, "speed", 0.25,
                  fmt=".2f", note="as above for strongly superhuman effective compute"),
    PairedOutcome("takeoff_years", "takeoff duration", "years", "mean", "takeoff_years", "speed", 0.25, fmt=".2f",
                  note="years from par-human to strongly superhuman; pairs where both runs completed a takeoff"),
    PairedOutcome("singularity", "runs with a singularity", "percentage points", "binary", "singularity_year",
                  "speed", 0.02, fmt=".1%", note="a lab's ln S reached the ceiling (singularity_year defined)"),
    PairedOutcome("frontier_quality", "frontier quality at the horizon", "quality units u", "mean",
                  "frontier_quality", "speed", 0.01, relative=True, fmt=".3f"),
    PairedOutcome("consumer_value", "cumulative consumer value", "USD trillion", "mean", "consumer_value", "welfare",
                  0.01, relative=True, scale=1e12, fmt=",.0f"),
    PairedOutcome("tax_revenue", "tax revenue raised", "USD billion", "mean", "tax_revenue_usd", "money", 1e9,
                  scale=1e9, fmt=",.1f", note="compute and windfall taxes over the horizon"),
    PairedOutcome("subsidy", "subsidies paid", "USD billion", "mean", "subsidy_usd", "money", 1e9, scale=1e9,
                  fmt=",.1f", note="R&D subsidies and the taxes' redistribution over the horizon"),
    PairedOutcome("incidents", "incidents per run", "incidents", "mean", "incidents", "safety", 0.1, fmt=".2f"),
    PairedOutcome("catastrophe", "P(catastrophe)", "percentage points", "binary", "catastrophe", "safety", 0.01,
                  fmt=".1%"),
)
"""The outcomes ``multipolar compare`` and a policy sweep report, in table order (grouped by :data:`GROUPS`).

``min_effect`` defaults (overridable, ``--min-effect KEY=VALUE``): HHI 100 points (2023 Merger Guidelines),
shares and probabilities 2 percentage points (P(catastrophe) 1), years 0.25, quality and consumer value 1 % of
the baseline, money USD 1 billion, incidents 0.1 per run."""
OUTCOME_KEYS: tuple[str, ...] = tuple(o.key for o in PAIRED_OUTCOMES)


def outcome_values(table: pd.DataFrame, outcome: PairedOutcome) -> np.ndarray:
    """The outcome per row of a runs table as floats: 0/1 for yes/no outcomes, NaN where undefined; for a
    ``delay`` outcome the year the threshold was reached, NaN where it was not (:func:`threshold_years`)."""
    if outcome.kind == "delay":
        return threshold_years(table, outcome.column)[0]
    if outcome.column not in table:
        return np.full(len(table), np.nan)
    if outcome.key == "singularity":
        years = pd.to_numeric(table[outcome.column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return np.isfinite(years).astype(float)
    if outcome.kind == "binary":
        flags = table[outcome.column]
        return np.where(flags.isna(), np.nan, flags.astype("boolean").fillna(False).astype(float))
    return pd.to_numeric(table[outcome.column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def threshold_years(table: pd.DataFrame, threshold: str) -> tuple[np.ndarray, np.ndarray]:
    """Per run, the year the frontier reached ``threshold`` (:data:`PAR_HUMAN`: ``takeoff_start_year``;
    :data:`SUPERHUMAN`: that plus ``takeoff_years``; NaN if not reached) and the run's horizon (``final_year``)."""
    start = _column(table, "takeoff_start_year")
    year = start if threshold == PAR_HUMAN else start + _column(table, "takeoff_years")
    return year, _column(table, "final_year")


CENSORING = ("a run whose frontier never reaches the threshold within the horizon counts as reaching it at the "
             "horizon (right-censored): the delay is then a lower bound, and the number of such runs is given")


def paired_delay(policy: tuple[np.ndarray, np.ndarray], base: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    """Years of capability delay, policy - baseline run by run, each year censored at its run's horizon.

    ``policy`` and ``base`` are ``(year reached or NaN, horizon)`` per run (:func:`threshold_years`).  The mean
    paired difference with its Student t interval (:func:`paired_mean`) of the censored years (:data:`CENSORING`),
    with the counts of censored runs in each arm.
    """
    (p_year, p_end), (b_year, b_end) = policy, base
    p = np.where(np.isfinite(p_year), p_year, p_end)
    b = np.where(np.isfinite(b_year), b_year, b_end)
    out = paired_mean(p, b)
    both = np.isfinite(p) & np.isfinite(b)
    out.update({"method": "mean of paired differences of censored years, Student t interval",
                "censoring": CENSORING,
                "censored_policy": int((both & ~np.isfinite(p_year)).sum()),
                "censored_baseline": int((both & ~np.isfinite(b_year)).sum())})
    return out


def practical_threshold(outcome: PairedOutcome, stat: dict[str, Any], min_effect: float | None = None) -> float:
    """The practical threshold of ``outcome`` in raw units: ``min_effect`` (default the outcome's), as a fraction
    of the baseline's mean for a ``relative`` outcome."""
    value = outcome.min_effect if min_effect is None else float(min_effect)
    if outcome.relative:
        return value * abs(stat.get("baseline") or 0.0)
    return value


def is_finding(stat: dict[str, Any], threshold: float) -> bool:
    """True when the 95 % interval excludes zero by more than ``threshold`` (both bounds beyond it, one side)."""
    ci = stat.get("ci95")
    return ci is not None and (ci[0] > threshold or ci[1] < -threshold)


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


STATISTIC = {"mean": "mean of paired differences", "binary": "difference of proportions",
             "delay": "mean of paired differences"}
"""What a comparison's ``difference`` is, by outcome kind (tables and JSON say it)."""


def compare_tables(base: pd.DataFrame, policy: pd.DataFrame,
                   min_effects: dict[str, float] | None = None) -> dict[str, Any]:
    """Every outcome of :data:`PAIRED_OUTCOMES` as paired differences ``policy - base`` over runs ok in both tables.

    Tables are runs tables (runs.parquet of an ensemble); rows are paired by their ``run`` index.  Each outcome
    says its ``group``, which ``statistic`` the difference is, its practical threshold ``min_effect`` (raw units;
    ``min_effects`` overrides the defaults by key) and whether it is a ``finding`` (:func:`is_finding`).
    """
    ok_base = base[base["status"] == "ok"].set_index("run")
    ok_policy = policy[policy["status"] == "ok"].set_index("run")
    runs = ok_base.index.intersection(ok_policy.index).sort_values()
    ok_base, ok_policy = ok_base.loc[runs], ok_policy.loc[runs]
    result: dict[str, Any] = {"pairs": len(runs), "outcomes": {}}
    for outcome in PAIRED_OUTCOMES:
        if outcome.kind == "delay":
            stat = paired_delay(threshold_years(ok_policy, outcome.column), threshold_years(ok_base, outcome.column))
        else:
            x_policy, x_base = outcome_values(ok_policy, outcome), outcome_values(ok_base, outcome)
            stat = paired_proportion(x_policy, x_base) if outcome.kind == "binary" else paired_mean(x_policy, x_base)
        threshold = practical_threshold(outcome, stat, (min_effects or {}).get(outcome.key))
        result["outcomes"][outcome.key] = {"label": outcome.label, "unit": outcome.unit, "group": outcome.group,
                                           "statistic": STATISTIC[outcome.kind], **stat, "min_effect": threshold,
                                           "finding": is_finding(stat, threshold)}
    return result


# ---------------------------------------------------------------------------------------------- sweep points
POINT_STATISTICS: dict[str, str] = {
    "p_unipolar": "share of runs ending unipolar (leader share > 0.5 or HHI > 5,000)",
    "p_singularity": "share of runs with a singularity before the horizon",
    "median_final_hhi": "median final HHI (0-10,000)",
    "p_takeoff": "share of runs whose frontier went from par-human to strongly superhuman",
    "median_leader_share": "median final leader share of the labs' market",
    "median_singularity_year": "median singularity year of the runs with one",
    "p_catastrophe": "share of runs with a catastrophe",
    "mean_consumer_value": "mean cumulative consumer value (USD), Student t interval",
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
    value = numeric("consumer_value")
    value = value[np.isfinite(value)]
    out["mean_consumer_value"] = float(value.mean()) if value.size else math.nan
    out["mean_consumer_value_lo"], out["mean_consumer_value_hi"] = _mean_interval(value)
    return out


def _mean_interval(values: np.ndarray) -> tuple[float, float]:
    """Student t 95 % interval of the mean of ``values`` (NaN bounds with fewer than two)."""
    from scipy import stats

    n = values.size
    if n < 2:
        return math.nan, math.nan
    half = float(stats.t.ppf(0.975, n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
    return float(values.mean()) - half, float(values.mean()) + half
