"""Policy outputs shown: the effects table's rows, the trade-off figure and the dose-response figure.

Values come from comparison.json (:func:`runs.experiments.compare.run_compare`) and from a policy sweep's
points.parquet and summary.json (:mod:`runs.experiments.sweep`); docs/policies.md says how to read them.

- :func:`effect_rows`: a comparison's outcomes as text, grouped (concentration, speed, welfare, money, safety),
  each difference labelled with the statistic it is (mean of paired differences, difference of proportions),
  never "-0", and ``finding`` true only when the 95 % interval excludes zero by more than the outcome's practical
  threshold (runs.experiments.stats.is_finding).  The command's tables and the HTML report print these rows.
- :func:`tradeoff_figure`: one point per policy arm, its benefit (change in P(unipolar)) against its costs
  (capability delay in years, change in consumer value), each with its 95 % interval bars.
- :func:`dose_response_figure`: the outcome against the policy's strength, with intervals, the no-policy
  level and where the outcome flips (``--target``).
- :func:`respond_rows` and :func:`respond_figure`: ``compare --respond``'s nominal (full compliance) against
  effective (evasion on) effects, the leakage and the compliance totals (runs.experiments.respond).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from runs.experiments.stats import GROUPS, PAIRED_OUTCOMES, PairedOutcome
from runs.views.style import DPI, GUIDE, OKABE_ITO, write_figures

__all__ = [
    "DOSE_PANELS",
    "RESPOND_OUTCOMES",
    "EffectRow",
    "RespondRow",
    "dose_response_figure",
    "effect_rows",
    "level_text",
    "pareto_figure",
    "respond_figure",
    "respond_rows",
    "shown",
    "signed_text",
    "tradeoff_figure",
    "write_compare_policy_figures",
    "write_optimize_figures",
    "write_policy_sweep_figures",
]

_FINDING = OKABE_ITO["vermillion"]
_OTHER = OKABE_ITO["blue"]
_REOPTIMISED = OKABE_ITO["bluish_green"]
_ZERO = re.compile(r"[+-]?[0.,]*%?")


def _unsigned_zero(text: str) -> str:
    """``text`` without its sign when the number shows as zero ("-0", "+0.0", "-0.0%" -> "0", "0.0", "0.0%")."""
    return text.lstrip("+-") if _ZERO.fullmatch(text) else text


def shown(outcome: PairedOutcome, value: float) -> float:
    """A raw value in the outcome's shown unit: percentage points for proportions, else ``value / scale``."""
    return 100.0 * value if outcome.kind == "binary" else value / outcome.scale


def level_text(outcome: PairedOutcome, value: float | None) -> str:
    """An arm's level of an outcome (a mean, a proportion or a censored mean year), "n/a" when undefined."""
    if value is None:
        return "n/a"
    return _unsigned_zero(format(value if outcome.kind == "binary" else value / outcome.scale, outcome.fmt))


def signed_text(outcome: PairedOutcome, value: float) -> str:
    """A difference with its sign (percentage points for proportions); a difference that shows as zero has none."""
    if outcome.kind == "binary":
        return _unsigned_zero(f"{100.0 * value:+.1f}")
    return _unsigned_zero(format(value / outcome.scale, "+" + outcome.fmt))


@dataclass(frozen=True)
class EffectRow:
    """One row of an effects table, as text."""

    group: str
    outcome: str
    baseline: str
    policy: str
    difference: str
    statistic: str
    min_effect: str
    pairs: str
    finding: bool
    note: str


def _unit(outcome: PairedOutcome) -> str:
    return "pp" if outcome.kind == "binary" or outcome.unit == "percentage points" else outcome.unit


def effect_rows(result: Mapping[str, Any]) -> list[EffectRow]:
    """The rows of one arm's effects (``comparison["comparisons"][arm]`` or a sweep point's effects), in the
    order of :data:`runs.experiments.stats.PAIRED_OUTCOMES`; outcomes the result lacks are left out."""
    rows = []
    for outcome in PAIRED_OUTCOMES:
        stat = result["outcomes"].get(outcome.key)
        if stat is None:
            continue
        difference = "n/a"
        if stat.get("difference") is not None:
            difference = signed_text(outcome, stat["difference"])
            if stat.get("ci95"):
                lo, hi = stat["ci95"]
                difference += f" [{signed_text(outcome, lo)}, {signed_text(outcome, hi)}]"
        threshold = stat.get("min_effect")
        min_effect = "n/a" if threshold is None else format(
            threshold * 100.0 if outcome.kind == "binary" else threshold / outcome.scale, ".3g")
        note = ""
        if outcome.kind == "delay" and (stat.get("censored_policy") or stat.get("censored_baseline")):
            note = (f"not reached within the horizon (counted at the horizon): {stat['censored_baseline']} baseline, "
                    f"{stat['censored_policy']} policy runs")
        elif outcome.key == "takeoff_years" and (stat.get("only_policy") or stat.get("only_baseline")):
            note = (f"takeoff completed in both arms in {stat['n_pairs']} runs, in the baseline only in "
                    f"{stat['only_baseline']}, with the policy only in {stat['only_policy']}")
        rows.append(EffectRow(GROUPS[outcome.group], f"{outcome.label} ({_unit(outcome)})",
                              level_text(outcome, stat.get("baseline")), level_text(outcome, stat.get("policy")),
                              difference, stat.get("statistic", ""), min_effect, str(stat.get("n_pairs", "")),
                              bool(stat.get("finding")), note))
    return rows


# ---------------------------------------------------------------------------------------------- trade-off
_BY_KEY = {o.key: o for o in PAIRED_OUTCOMES}
TRADEOFF_BENEFIT = "unipolar"
TRADEOFF_COSTS: tuple[str, ...] = ("delay_par_human", "consumer_value")


def _point(stat: Mapping[str, Any] | None, outcome: PairedOutcome) -> tuple[float, float, float] | None:
    if not stat or stat.get("difference") is None:
        return None
    x = shown(outcome, stat["difference"])
    lo, hi = (shown(outcome, v) for v in stat["ci95"]) if stat.get("ci95") else (x, x)
    return x, x - lo, hi - x


def tradeoff_figure(arms: Mapping[str, Mapping[str, Any]], *, title: str) -> Figure:
    """Benefit against cost, one point per arm with its 95 % interval bars: the change in P(unipolar) (y) against
    the capability delay to par-human (left) and the change in consumer value (right).

    ``arms`` maps an arm's name to its effects (``{"outcomes": {key: stat}}``, as in comparison.json).
    """
    benefit = _BY_KEY[TRADEOFF_BENEFIT]
    fig = Figure(figsize=(11.0, 4.6), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(TRADEOFF_COSTS), sharey=True, squeeze=False)[0]
    colours = list(OKABE_ITO.values())
    for ax, cost_key in zip(axes, TRADEOFF_COSTS, strict=True):
        cost = _BY_KEY[cost_key]
        ax.axhline(0.0, color=GUIDE, linewidth=0.8)
        ax.axvline(0.0, color=GUIDE, linewidth=0.8)
        for k, (arm, effects) in enumerate(arms.items()):
            xs = _point(effects["outcomes"].get(cost_key), cost)
            ys = _point(effects["outcomes"].get(TRADEOFF_BENEFIT), benefit)
            if xs is None or ys is None:
                continue
            colour = colours[k % len(colours)]
            ax.errorbar([xs[0]], [ys[0]], xerr=[[xs[1]], [xs[2]]], yerr=[[ys[1]], [ys[2]]], fmt="o",
                        color=colour, capsize=3, label=arm)
            ax.annotate(arm, (xs[0], ys[0]), textcoords="offset points", xytext=(5, 5), fontsize=8, color=colour)
        unit = "years" if cost.kind == "delay" else cost.unit
        ax.set_xlabel(f"{cost.label}: policy - baseline ({unit})", fontsize=9)
        ax.grid(alpha=0.3)
        ax.margins(0.2)
    axes[0].set_ylabel("P(unipolar): policy - baseline (percentage points)", fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.text(0.005, 0.003, "Lower is better on the vertical axis (less concentration); further right costs more "
             "capability delay (left panel). Bars: 95 % paired intervals. A threshold never reached counts at the "
             "horizon (censored), so a delay is then a lower bound.", fontsize=7, color=GUIDE, va="bottom")
    fig.get_layout_engine().set(rect=(0.0, 0.05, 1.0, 0.95))
    return fig


def write_compare_policy_figures(folder: Path, *, comparison: Mapping[str, Any],
                                 formats: Sequence[str] = ("png",)) -> list[str]:
    """``tradeoff.png`` of a comparison (:func:`tradeoff_figure`), and with ``--respond`` ``respond.png``
    (:func:`respond_figure`)."""
    title = (f"Benefit against cost on '{comparison['scenario']}': paired differences, "
             f"{comparison['runs_per_arm']} runs per arm (seed {comparison['seed']})")
    figures = {"tradeoff.png": tradeoff_figure(comparison["comparisons"], title=title)}
    if "respond" in comparison:
        reoptimised = " and re-optimised (evasion, routines re-chosen)" if "reoptimise" in comparison else ""
        figures["respond.png"] = respond_figure(
            comparison["respond"], title=f"Nominal (full compliance) against effective (evasion){reoptimised} effects "
            f"on '{comparison['scenario']}', {comparison['runs_per_arm']} runs per arm (seed {comparison['seed']})")
    return write_figures(folder, figures, formats)


# ---------------------------------------------------------------------------------------------- --respond
RESPOND_OUTCOMES: tuple[str, ...] = ("final_hhi", "unipolar", "delay_par_human", "frontier_quality",
                                     "consumer_value", "catastrophe")
"""The panels of :func:`respond_figure` (outcome keys of runs.experiments.stats.PAIRED_OUTCOMES)."""


@dataclass(frozen=True)
class RespondRow:
    """One row of a ``--respond`` table, as text: an outcome's nominal and effective effects and the leakage; with
    ``--reoptimise`` also the re-optimised effect and its leakage (else empty)."""

    outcome: str
    nominal: str
    effective: str
    leakage: str
    reoptimised: str = ""
    leakage_reoptimised: str = ""


def _with_interval(outcome: PairedOutcome, stat: Mapping[str, Any]) -> str:
    if stat.get("difference") is None:
        return "n/a"
    text = signed_text(outcome, stat["difference"])
    if stat.get("ci95"):
        text += f" [{signed_text(outcome, stat['ci95'][0])}, {signed_text(outcome, stat['ci95'][1])}]"
    return text


def _percent(value: float | None, interval: Sequence[float] | None) -> str:
    if value is None:
        return "n/a (no nominal effect)"
    text = _unsigned_zero(f"{100.0 * value:.0f}%")
    if interval:
        lo, hi = (_unsigned_zero(f"{100.0 * bound:.0f}%") for bound in interval)
        text += f" [{lo}, {hi}]"
    return text


def respond_rows(result: Mapping[str, Any]) -> list[RespondRow]:
    """One policy's ``--respond`` rows (``comparison["respond"]["arms"][name]``): every outcome's nominal and
    effective effect with its 95 % interval and the leakage (share of the nominal effect lost, paired-bootstrap
    interval), then the effective arm's compliance totals per run (mean [95 % interval])."""
    rows = []
    for outcome in PAIRED_OUTCOMES:
        stat = result["outcomes"].get(outcome.key)
        if stat is None:
            continue
        extra = ((_with_interval(outcome, stat["reoptimised"]),
                  _percent(stat["leakage_reoptimised"], stat["leakage_reoptimised_ci95"]))
                 if "reoptimised" in stat else ("", ""))
        rows.append(RespondRow(f"{outcome.label} ({_unit(outcome)})", _with_interval(outcome, stat["nominal"]),
                               _with_interval(outcome, stat["effective"]),
                               _percent(stat["leakage"], stat["leakage_ci95"]), *extra))
    for total in result["compliance"].values():
        if total["mean"] is None:
            continue
        text = format(total["mean"], ".3g")
        if total["ci95"]:
            text += f" [{total['ci95'][0]:.3g}, {total['ci95'][1]:.3g}]"
        rows.append(RespondRow(f"{total['label']} ({total['unit']})", "0 (full compliance)", text, ""))
    return rows


def respond_figure(respond: Mapping[str, Any], *, title: str) -> Figure:
    """Nominal against effective effects: a panel per outcome of :data:`RESPOND_OUTCOMES`, a row per policy, the
    nominal effect (open circle) and the effective effect (filled) with their 95 % intervals, joined by a line
    (its length is what evasion takes away); with ``--reoptimise`` a third marker (square), the effect with evasion
    and re-optimised routines, below them."""
    arms = list(respond["arms"].items())
    fig = Figure(figsize=(12.0, 1.2 + 0.5 * len(arms) * 2), dpi=DPI, layout="constrained")
    axes = fig.subplots(2, 3, squeeze=False).ravel()
    for ax, key in zip(axes, RESPOND_OUTCOMES, strict=True):
        outcome = _BY_KEY[key]
        ax.axvline(0.0, color=GUIDE, linewidth=0.8)
        for row, (_, result) in enumerate(arms):
            stat = result["outcomes"][key]
            nominal, effective = _point(stat["nominal"], outcome), _point(stat["effective"], outcome)
            if nominal is None or effective is None:
                continue
            y = len(arms) - 1 - row
            ax.plot([nominal[0], effective[0]], [y + 0.12, y - 0.12], color=GUIDE, linewidth=0.8)
            ax.errorbar([nominal[0]], [y + 0.12], xerr=[[nominal[1]], [nominal[2]]], fmt="o", mfc="white",
                        color=_OTHER, capsize=3, label="nominal (full compliance)" if row == 0 else None)
            ax.errorbar([effective[0]], [y - 0.12], xerr=[[effective[1]], [effective[2]]], fmt="o",
                        color=_FINDING, capsize=3, label="effective (evasion)" if row == 0 else None)
            reoptimised = _point(stat["reoptimised"], outcome) if "reoptimised" in stat else None
            if reoptimised is not None:
                ax.plot([effective[0], reoptimised[0]], [y - 0.12, y - 0.3], color=GUIDE, linewidth=0.8)
                ax.errorbar([reoptimised[0]], [y - 0.3], xerr=[[reoptimised[1]], [reoptimised[2]]], fmt="s",
                            color=_REOPTIMISED, capsize=3,
                            label="evasion and re-optimised routines" if row == 0 else None)
        ax.set_yticks(range(len(arms)), [name for name, _ in reversed(arms)], fontsize=8)
        unit = "years" if outcome.kind == "delay" else _unit(outcome)
        ax.set_title(f"{outcome.label} ({unit})", fontsize=9)
        ax.grid(alpha=0.3, axis="x")
        ax.margins(y=0.3)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    return fig


# ---------------------------------------------------------------------------------------------- dose-response
@dataclass(frozen=True)
class DosePanel:
    """One panel of the dose-response figure: a points.parquet column with its interval columns."""

    column: str
    label: str
    reference: str | None  # the no-policy level's column in the summary's reference entry
    scale: float = 1.0


DOSE_PANELS: tuple[DosePanel, ...] = (
    DosePanel("p_unipolar", "P(unipolar)", "p_unipolar"),
    DosePanel("median_final_hhi", "median final HHI", "median_final_hhi"),
    DosePanel("delay_par_human", "capability delay to par-human (years, paired mean)", None),
    DosePanel("mean_consumer_value", "consumer value (USD trillion, mean)", "mean_consumer_value", 1e12),
    DosePanel("p_catastrophe", "P(catastrophe)", "p_catastrophe"),
)
"""The panels of :func:`dose_response_figure`, each a column of points.parquet with ``_lo``/``_hi`` bounds."""


def dose_response_figure(points: pd.DataFrame, key: str, *, reference: Mapping[str, Any] | None,
                         flip: Mapping[str, Any] | None, log_x: bool, title: str) -> Figure:
    """The outcome against the swept policy parameter ``key``: one panel per :data:`DOSE_PANELS` entry with its
    95 % interval band, the no-policy level (dashed) and, with a ``flip`` (summary.json's ``target``), a vertical
    line where the target is first met."""
    frame = points.sort_values(key)
    x = frame[key].to_numpy(dtype=float)
    panels = [p for p in DOSE_PANELS if p.column in frame]
    fig = Figure(figsize=(4.0 * len(panels), 3.8), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=True):
        y = frame[panel.column].to_numpy(dtype=float) / panel.scale
        lo = frame.get(panel.column + "_lo")
        hi = frame.get(panel.column + "_hi")
        if lo is not None and hi is not None:
            ax.fill_between(x, lo.to_numpy(dtype=float) / panel.scale, hi.to_numpy(dtype=float) / panel.scale,
                            color=_OTHER, alpha=0.2, linewidth=0, label="95 % interval")
        ax.plot(x, y, marker="o", color=_OTHER, label="with the policy")
        if reference is not None and panel.reference is not None and reference.get(panel.reference) is not None:
            ax.axhline(float(reference[panel.reference]) / panel.scale, color=GUIDE, linestyle="--", linewidth=1.0,
                       label="no policy")
        if panel.column.startswith("delay"):
            ax.axhline(0.0, color=GUIDE, linestyle="--", linewidth=1.0, label="no policy")
        if flip and flip.get("crossing") is not None and math.isfinite(flip["crossing"]):
            ax.axvline(flip["crossing"], color=_FINDING, linewidth=1.2,
                       label=f"{flip['text']} from {flip['crossing']:.3g}")
        if log_x:
            ax.set_xscale("log")
        ax.set_title(panel.label, fontsize=9)
        ax.set_xlabel(key, fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=11)
    return fig


def write_policy_sweep_figures(folder: Path, *, points: pd.DataFrame, key: str, reference: Mapping[str, Any] | None,
                               flip: Mapping[str, Any] | None, log_x: bool, title: str,
                               effects: Sequence[tuple[str, Mapping[str, Any]]],
                               formats: Sequence[str] = ("png",)) -> list[str]:
    """A policy sweep's figures: ``dose_response.png`` and ``tradeoff.png`` (a point per grid value)."""
    figures = {"dose_response.png": dose_response_figure(points, key, reference=reference, flip=flip, log_x=log_x,
                                                         title=title)}
    if effects:
        arms = {name: value for name, value in effects}
        figures["tradeoff.png"] = tradeoff_figure(arms, title=f"Benefit against cost along {key}")
    return write_figures(folder, figures, formats)



# ---------------------------------------------------------------------------------------------- optimisation
def pareto_figure(trials: pd.DataFrame, objectives: Sequence[str], *, title: str) -> Figure:
    """The trials in the plane of the first two objectives (one objective: against the trial number), feasible
    trials filled, the Pareto front joined and labelled by trial."""
    columns = [text.split()[1] for text in objectives]
    x_col, y_col = (columns[0], columns[1]) if len(columns) > 1 else ("trial", columns[0])
    fig = Figure(figsize=(6.4, 4.8), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    feasible = trials["feasible"].to_numpy(dtype=bool)
    ax.scatter(trials.loc[~feasible, x_col], trials.loc[~feasible, y_col], facecolors="none", edgecolors=GUIDE,
               label="infeasible (a constraint fails)")
    ax.scatter(trials.loc[feasible, x_col], trials.loc[feasible, y_col], color=_OTHER, alpha=0.7, label="trial")
    front = trials[trials["pareto"]].sort_values(x_col)
    ax.plot(front[x_col], front[y_col], marker="o", color=_FINDING, label="Pareto front")
    for _, row in front.iterrows():
        ax.annotate(str(int(row["trial"])), (row[x_col], row[y_col]), textcoords="offset points", xytext=(4, 4),
                    fontsize=7, color=_FINDING)
    ax.set_xlabel(objectives[0] if len(columns) > 1 else "trial", fontsize=9)
    ax.set_ylabel(objectives[1] if len(columns) > 1 else objectives[0], fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(title, fontsize=10)
    return fig


def write_optimize_figures(folder: Path, *, trials: pd.DataFrame, objectives: Sequence[str], title: str,
                           formats: Sequence[str] = ("png",)) -> list[str]:
    """The optimisation's figure hook: ``pareto.png`` (:func:`pareto_figure`)."""
    return write_figures(folder, {"pareto.png": pareto_figure(trials, objectives, title=title)}, formats)
