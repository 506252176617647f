r"""How robust an ensemble's unipolar/multipolar answer is: the parameter it hinges on and the distance to the flip.

Computed from the ensemble's own runs, no extra simulation: every run draws its ``[uncertain]`` keys (or a posterior's
parameter set), so the runs table holds the drawn values next to the outcome.  :func:`outcome_boundary` fits a
logistic regression of the outcome (``unipolar``, a yes/no per run) on the drawn values, standardised by the mean
and standard deviation of the draws (the prior's, or the posterior's with ``--posterior``):

.. math:: \Pr(\text{unipolar}) = \sigma\Big(b_0 + \sum_j b_j z_j\Big), \qquad z_j = (x_j - \bar x_j)/s_j,

fitted by Newton's method with a weak ridge penalty :math:`\tfrac12\lambda\lVert b\rVert^2` (:data:`RIDGE`,
intercept not penalised) so that a perfectly separating parameter still gives a finite fit.  Seed-to-seed noise
is the Bernoulli noise of the model.

- **Most sensitive parameter**: the key with the largest :math:`|b_j|` (log-odds per standard deviation of its
  draws), with its Wald z score (:math:`b_j` over its standard error from the penalised Hessian); below
  :data:`Z_CLEAR` the effect is reported as not distinguishable from seed noise.
- **Distance to the boundary**: with every key at the scenario's own value (the baseline, what ``multipolar run``
  uses), the change in the most sensitive key that moves the fitted probability to 0.5,
  :math:`x^* - x_0` with :math:`b_0 + \sum_{j\neq k} b_j z_{j,0} + b_k z_k^* = 0`, in the key's unit and in
  standard deviations of its draws, with a delta-method standard error.  If :math:`x^*` lies outside the range of
  the draws, there is **no boundary within the prior** (the fit would extrapolate); likewise when every run ended
  the same way (nothing to fit) or no key varies.

Cheap (a few Newton steps on ``runs x keys``) and honest about its limits: one key at a time, a logistic (monotone)
shape, and the other keys held at the baseline.  ``multipolar sensitivity`` gives variance-based indices over many
outcomes at the price of its own design.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from economy.params import BadKey, Scenario, locate, split_key

__all__ = ["RIDGE", "SINGLE_RUN_ROBUSTNESS", "Z_CLEAR", "fit_logistic", "outcome_boundary", "scenario_robustness"]

RIDGE = 1.0
"""Ridge penalty on the standardised coefficients (a Gaussian prior of sd 1 log-odds per sd); negligible against
hundreds of runs unless a parameter separates the outcomes perfectly."""
SINGLE_RUN_ROBUSTNESS = ("one run cannot say how robust its outcome is: multipolar ensemble with [uncertain] or "
                         "--posterior names the parameter it hinges on and the distance to the boundary "
                         "(docs/ensembles.md)")
"""What a single run's summary, report and overview say about robustness."""
Z_CLEAR = 2.0
"""Below this Wald z score the most sensitive key's effect is not distinguishable from seed noise."""


def fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """Penalised logistic regression of ``y`` (0/1) on ``x`` (standardised, ``(n, d)``) with an intercept.

    Returns the coefficients ``[b0, b1..bd]`` and their covariance (the inverse penalised Hessian).
    """
    n, d = x.shape
    design = np.column_stack([np.ones(n), x])
    penalty = np.full(d + 1, ridge)
    penalty[0] = 0.0
    beta = np.zeros(d + 1)
    p0 = min(max(y.mean(), 0.5 / n), 1.0 - 0.5 / n)
    beta[0] = math.log(p0 / (1.0 - p0))
    hessian = np.eye(d + 1)
    for _ in range(100):
        eta = design @ beta
        prob = 1.0 / (1.0 + np.exp(-eta))
        gradient = design.T @ (y - prob) - penalty * beta
        hessian = (design * (prob * (1.0 - prob))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    eta = design @ beta
    prob = 1.0 / (1.0 + np.exp(-eta))
    hessian = (design * (prob * (1.0 - prob))[:, None]).T @ design + np.diag(penalty)
    return beta, np.linalg.inv(hessian)


def outcome_boundary(values: pd.DataFrame, outcome: np.ndarray, baseline: dict[str, float],
                     units: dict[str, str] | None = None, *, outcome_name: str = "unipolar") -> dict[str, Any]:
    """The most influential key and the baseline's distance to the P = 0.5 boundary (module docs).

    ``values``: one column per drawn key, one row per run that succeeded; ``outcome``: that run's yes/no;
    ``baseline``: each key's value in the scenario itself; ``units``: each key's unit, for the text.
    The result has ``status`` (``boundary``, ``beyond_prior``, ``one_class``, ``no_variation``), the fitted
    coefficients, and ``text``, one line for the summary, the report and the figures.
    """
    units = units or {}
    y = np.asarray(outcome, dtype=np.float64)
    n = y.size
    method = ("logistic regression of the outcome on the drawn parameters standardised by their draws' mean and sd "
              f"(ridge {RIDGE:g}); boundary: the change in the most sensitive parameter, the others at the baseline, "
              "that moves the fitted probability to 0.5 (runs.experiments.robustness)")
    out: dict[str, Any] = {"outcome": outcome_name, "runs": n, "method": method}
    varying = [key for key in values.columns if n > 1 and float(np.std(values[key].to_numpy(dtype=float))) > 0.0]
    if not varying:
        out.update(status="no_variation", text=(
            f"no parameter varies between runs (no [uncertain] table or --posterior), so {n} runs say "
            "nothing about which parameter the outcome hinges on; add [uncertain], run from a posterior, or run "
            "multipolar sensitivity"))
        return out
    count = int(y.sum())
    if count in (0, n):
        ended = outcome_name if count == n else f"not {outcome_name}"
        out.update(status="one_class", keys=varying, text=(
            f"no boundary within the prior: all {n} runs ended {ended} over the drawn ranges of "
            f"{', '.join(varying)}"))
        return out
    x = values[varying].to_numpy(dtype=np.float64)
    mean, sd = x.mean(axis=0), x.std(axis=0, ddof=1)
    z = (x - mean) / sd
    beta, cov = fit_logistic(z, y)
    k = int(np.argmax(np.abs(beta[1:])))
    key = varying[k]
    z_score = float(beta[1 + k] / math.sqrt(cov[1 + k, 1 + k]))
    base = np.array([baseline[name] for name in varying], dtype=np.float64)
    z_base = (base - mean) / sd
    eta0 = float(beta[0] + beta[1:] @ z_base)
    others = eta0 - beta[1 + k] * z_base[k]
    z_star = -others / beta[1 + k]
    gradient = np.zeros(beta.size)  # of z_star with respect to the coefficients (delta method)
    gradient[0] = -1.0 / beta[1 + k]
    for j in range(len(varying)):
        gradient[1 + j] = -z_base[j] / beta[1 + k]
    gradient[1 + k] = -z_star / beta[1 + k]
    z_star_se = float(math.sqrt(max(gradient @ cov @ gradient, 0.0)))
    boundary = float(mean[k] + sd[k] * z_star)
    distance = boundary - float(base[k])
    lo, hi = float(x[:, k].min()), float(x[:, k].max())
    unit = units.get(key, "")
    out.update(
        keys=varying, most_sensitive=key, unit=unit,
        coefficients_per_sd={name: float(b) for name, b in zip(varying, beta[1:], strict=True)},
        z_score=z_score, clear=abs(z_score) >= Z_CLEAR, baseline_value=float(base[k]),
        fitted_probability_at_baseline=float(1.0 / (1.0 + math.exp(-eta0))), draws_sd=float(sd[k]),
        draws_range=[lo, hi], boundary_value=boundary, boundary_se=float(sd[k] * z_star_se),
        distance=distance, distance_sd=distance / float(sd[k]),
    )
    effect = f"{beta[1 + k]:+.2f} log-odds per sd ({sd[k]:.3g}{_unit(unit)}), z = {z_score:.1f}"
    head = f"most sensitive to {key} ({effect})"
    if not out["clear"]:
        head += ", not distinguishable from seed noise"
    if lo <= boundary <= hi:
        out["status"] = "boundary"
        out["text"] = (f"{head}; P({outcome_name}) = 0.5 at {key} = {boundary:.3g} +- {out['boundary_se']:.2g}, "
                       f"{distance:+.3g}{_unit(unit)} ({distance / sd[k]:+.2f} sd) from the baseline's "
                       f"{base[k]:.3g}")
    else:
        out["status"] = "beyond_prior"
        out["text"] = (f"{head}; no boundary within the prior: the fitted P({outcome_name}) reaches 0.5 only at "
                       f"{key} = {boundary:.3g}, outside the drawn range {lo:.3g}-{hi:.3g} (baseline {base[k]:.3g})")
    return out


def _unit(unit: str) -> str:
    return f" {unit}" if unit and unit not in ("1", "-", "dimensionless") else ""


def scenario_robustness(table: pd.DataFrame, keys: Sequence[str], scenario: Scenario) -> dict[str, Any]:
    """:func:`outcome_boundary` of an ensemble's runs table (runs that succeeded) on its drawn ``keys``, the
    baseline being the scenario's own values."""
    ok = table[table["status"] == "ok"] if "status" in table else table
    outcome = ok["unipolar"].to_numpy(dtype=bool) if "unipolar" in ok else np.zeros(len(ok), bool)
    baseline, units = {}, {}
    for key in keys:
        where = locate(scenario, split_key(key))
        baseline[key] = float(where.value)
        try:
            units[key] = locate(Scenario, split_key(key)).extra("unit") or ""
        except BadKey:
            units[key] = ""
    return outcome_boundary(ok[list(keys)], outcome, baseline, units)
