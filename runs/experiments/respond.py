"""Nominal against effective policy effects: what ``multipolar compare --respond`` adds (docs/policies.md,
"Nominal and effective effects").

With ``--respond`` every policy arm runs twice on the same seeds and uncertain draws as the baseline: **nominal**,
with full compliance (``enforcement.evasion = false``), and **effective**, with the labs free to evade the binding
rules and the regulator of the scenario's ``[enforcement]`` table looking for them (``enforcement.evasion =
true``).  The baseline runs with full compliance (it has no policy to evade).  Per arm and outcome:

- the nominal effect :math:`\\bar\\Delta_{nom} = \\overline{x_{nom} - x_{base}}` and the effective effect
  :math:`\\bar\\Delta_{eff} = \\overline{x_{eff} - x_{base}}`, each with the comparison's own 95 % interval
  (runs.experiments.stats.compare_tables);
- the leakage :math:`1 - \\bar\\Delta_{eff} / \\bar\\Delta_{nom}`, the share of the nominal effect evasion loses,
  with a 95 % percentile interval from a paired bootstrap over runs (each resample draws whole runs, keeping
  baseline, nominal and effective of a run together: the common random numbers), seeded by the comparison's seed;
  undefined (None) when the nominal effect is 0;
- the effective arm's compliance totals per run (evading lab-years, evaded gain, detections, fines, compute seized,
  audits, the regulator's spend), each a mean with its Student t interval.

With ``--reoptimise`` a third variant: the effective arm with each archetype's routine re-optimised under the rule
(runs.experiments.reoptimise), compared with the no-policy world whose routines the same search re-optimised on
the same seeds, so that the effect isolates the rule and not the re-optimisation; its leakage
``1 - reoptimised / nominal`` is the share of the nominal effect lost to evasion and strategic response.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from economy.params import Scenario
from runs.experiments.stats import PAIRED_OUTCOMES, PairedOutcome, outcome_values, paired_mean, threshold_years

__all__ = ["BOOTSTRAP_RESAMPLES", "COMPLIANCE_TOTALS", "EFFECTIVE_SUFFIX", "REOPTIMISED_SUFFIX", "respond_effects",
           "with_evasion"]

EFFECTIVE_SUFFIX = "-effective"
"""An effective arm's name: its policy arm's name and this (the nominal arm keeps the policy's name)."""
REOPTIMISED_SUFFIX = "-reoptimised"
"""``--reoptimise``: the arm with evasion on and re-optimised routines is its policy arm's name and this; the
no-policy reference with re-optimised routines is ``baseline-reoptimised``."""
BOOTSTRAP_RESAMPLES = 2000
"""Paired bootstrap resamples of the leakage interval."""
COMPLIANCE_TOTALS: dict[str, tuple[str, str]] = {
    "evading_lab_years": ("evading lab-years per run", "lab-years"),
    "evasion_gain_usd": ("evaded gain per run", "USD"),
    "detections": ("detections per run", "labs caught"),
    "fines_usd": ("fines per run", "USD"),
    "compute_seized": ("compute seized per run", "FLOP/year"),
    "audits": ("audits per run", "audits"),
    "regulator_spend_usd": ("regulator's spend per run", "USD"),
}
"""The effective arm's compliance columns of runs.parquet (economy.engine.Simulation.summary), label and unit."""


def with_evasion(scenario: Scenario, evasion: bool) -> Scenario:
    """``scenario`` with ``enforcement.evasion`` set (every other parameter kept)."""
    return scenario.model_copy(update={"enforcement": scenario.enforcement.model_copy(update={"evasion": evasion})})


def respond_effects(base: pd.DataFrame, nominal: pd.DataFrame, effective: pd.DataFrame,
                    nominal_effects: dict[str, Any], effective_effects: dict[str, Any], seed: int,
                    reoptimised: tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One policy's nominal and effective effects, leakage and compliance totals (module docstring).

    ``base``, ``nominal``, ``effective`` are the arms' runs tables (paired by ``run``, runs ok in all of them);
    ``nominal_effects`` and ``effective_effects`` their comparisons with the baseline (compare_tables).  With
    ``reoptimised = (reference, arm, effects)`` (``--reoptimise``: the no-policy world and the effective arm, both
    with re-optimised routines, and their comparison) each outcome also gets the re-optimised effect and
    ``leakage_reoptimised`` (the share of the nominal effect lost to evasion and strategic response).
    """
    frames = [base, nominal, effective, *(reoptimised[:2] if reoptimised is not None else ())]
    ok = [t[t["status"] == "ok"].set_index("run") for t in frames]
    runs = ok[0].index
    for table in ok[1:]:
        runs = runs.intersection(table.index)
    runs = runs.sort_values()
    ok = [t.loc[runs] for t in ok]
    base_ok, nominal_ok, effective_ok = ok[:3]
    gen = np.random.default_rng(seed)
    # each resample as the number of times it draws each run (whole runs: the arms of a run stay together)
    counts = np.stack([np.bincount(gen.integers(0, len(runs), len(runs)), minlength=len(runs))
                       for _ in range(BOOTSTRAP_RESAMPLES)]) if len(runs) > 1 else None
    outcomes: dict[str, Any] = {}
    for outcome in PAIRED_OUTCOMES:
        x_base, x_nominal, x_effective = (_per_run(t, outcome) for t in (base_ok, nominal_ok, effective_ok))
        both = np.isfinite(x_base) & np.isfinite(x_nominal) & np.isfinite(x_effective)
        leakage, interval = _leakage(x_nominal - x_base, x_effective - x_base, both, counts)
        outcomes[outcome.key] = {
            "label": outcome.label, "unit": outcome.unit,
            "nominal": _effect(nominal_effects["outcomes"][outcome.key]),
            "effective": _effect(effective_effects["outcomes"][outcome.key]),
            "leakage": leakage, "leakage_ci95": interval, "n_pairs": int(both.sum()),
        }
        if reoptimised is not None:
            x_reference, x_reoptimised = (_per_run(t, outcome) for t in ok[3:])
            every = both & np.isfinite(x_reference) & np.isfinite(x_reoptimised)
            leak, leak_interval = _leakage(x_nominal - x_base, x_reoptimised - x_reference, every, counts)
            outcomes[outcome.key].update({
                "reoptimised": _effect(reoptimised[2]["outcomes"][outcome.key]),
                "leakage_reoptimised": leak, "leakage_reoptimised_ci95": leak_interval,
                "n_pairs_reoptimised": int(every.sum()),
            })
    compliance = {}
    for column, (label, unit) in COMPLIANCE_TOTALS.items():
        values = pd.to_numeric(effective_ok[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan) \
            if column in effective_ok else np.full(len(runs), np.nan)
        stat = paired_mean(values, np.zeros_like(values))
        compliance[column] = {"label": label, "unit": unit, "mean": stat["difference"], "ci95": stat["ci95"]}
    return {"pairs": len(runs), "outcomes": outcomes, "compliance": compliance}


def _per_run(table: pd.DataFrame, outcome: PairedOutcome) -> np.ndarray:
    """The outcome per run as compared (a delay's year censored at the horizon, as compare_tables)."""
    if outcome.kind == "delay":
        year, horizon = threshold_years(table, outcome.column)
        return np.where(np.isfinite(year), year, horizon)
    return outcome_values(table, outcome)


def _effect(stat: dict[str, Any]) -> dict[str, Any]:
    return {"difference": stat.get("difference"), "ci95": stat.get("ci95"), "statistic": stat.get("statistic")}


def _leakage(d_nominal: np.ndarray, d_effective: np.ndarray, both: np.ndarray,
             counts: np.ndarray | None) -> tuple[float | None, list[float] | None]:
    """``1 - mean(d_eff) / mean(d_nom)`` over the runs where both are defined, and its paired-bootstrap 95 %
    percentile interval (``counts[r, i]``: how often resample r draws run i); None where undefined."""
    if not both.any() or d_nominal[both].mean() == 0.0:
        return None, None
    leakage = float(1.0 - d_effective[both].mean() / d_nominal[both].mean())
    if counts is None:
        return leakage, None
    weights = counts[:, both].astype(float)
    drawn = weights.sum(axis=1)
    nominal = weights @ d_nominal[both]
    effective = weights @ d_effective[both]
    defined = (drawn > 0) & (nominal != 0.0)
    if defined.sum() < 2:
        return leakage, None
    lo, hi = np.percentile(1.0 - effective[defined] / nominal[defined], [2.5, 97.5])
    return leakage, [float(lo), float(hi)]
