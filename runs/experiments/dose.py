"""Dose-response: a sweep over a policy's parameters, each grid point paired with the no-policy arm.

A sweep whose grid names a policy key (``--grid policies.<name>.<key>=a:b:n[:log]``, runs.experiments.sweep) is
a **policy sweep**.  Besides its grid points it runs one more ensemble, the **no-policy arm**: the scenario
without the swept policies, on the same seeds and uncertain draws (common random numbers, as every point).  Each
point then carries, next to its own statistics, the paired effects against that arm
(:func:`runs.experiments.stats.compare_tables`: concentration, speed with the capability delay, welfare, money,
safety; each with its 95 % interval and whether it is a finding) as the columns of :func:`effect_columns`.

A **target** (``--target "p_unipolar<0.2"``, :func:`parse_target`) names a column of points.parquet, a comparison
and a level; :func:`flips` finds where along a one-key grid the estimate crosses it (linear interpolation between
the neighbouring grid values, in log space on a log axis) and the first grid values where the estimate, and where
its whole 95 % interval, meets it.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from economy.params import BadKey, Scenario, ScenarioError, index_key, split_key, validate_scenario
from runs.experiments.result import ExperimentInputError
from runs.experiments.stats import PAIRED_OUTCOMES

__all__ = ["Target", "effect_columns", "flips", "is_policy_key", "parse_target", "reference_scenario"]

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
}


@dataclass(frozen=True)
class Target:
    """``column op level``: a condition on a column of points.parquet."""

    column: str
    op: str
    level: float

    @property
    def text(self) -> str:
        return f"{self.column} {self.op} {self.level:g}"

    def met(self, value: float) -> bool:
        return bool(math.isfinite(value) and _OPERATORS[self.op](float(value), self.level))

    def met_by_interval(self, lo: float, hi: float) -> bool:
        """The whole interval meets the condition (its far bound does)."""
        return self.met(hi if self.op in ("<", "<=") else lo)


def parse_target(text: str, columns: Sequence[str]) -> Target:
    """``"p_unipolar<0.2"`` -> :class:`Target`; ``columns`` are the allowed column names."""
    found = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*", text)
    if not found:
        raise ExperimentInputError(f"--target {text!r}: write COLUMN<LEVEL (or <=, >, >=), e.g. "
                                   "--target \"p_unipolar<0.2\"")
    column, op, level = found.groups()
    if column not in columns:
        raise ExperimentInputError(f"--target {text!r}: {column} is not a column of points.parquet; one of "
                                   f"{', '.join(columns)}")
    try:
        value = float(level)
    except ValueError:
        raise ExperimentInputError(f"--target {text!r}: {level!r} is not a number") from None
    return Target(column, op, value)


def is_policy_key(key: str) -> bool:
    """True for a key of a policy (``policies.<name or index>.<key>``)."""
    return key.split(".", 1)[0] == "policies"


def reference_scenario(data: Mapping[str, Any], keys: Sequence[str], uncertain: Sequence[str],
                       source: str) -> Scenario:
    """The no-policy arm: ``data`` (the sweep's scenario with its ``--set``) without the policies the policy
    ``keys`` name.  Refused (:class:`ExperimentInputError`) when an ``[uncertain]`` key names one of them."""
    indices = set()
    for key in keys:
        try:
            indices.add(index_key(data, split_key(key))[1])
        except BadKey as err:
            raise ExperimentInputError(f"--grid {key}: {err}") from None
    for key in uncertain:
        parts = split_key(key)
        if parts[0] == "policies":
            try:
                index = index_key(data, parts)[1]
            except BadKey:
                continue
            if index in indices:
                raise ExperimentInputError(f"[uncertain] {key} draws a parameter of a swept policy, which the "
                                           "no-policy arm leaves out; remove it from [uncertain]")
    out = dict(data)
    out["policies"] = [table for k, table in enumerate(data.get("policies") or []) if k not in indices]
    try:
        return validate_scenario(out, source=f"{source} without the swept policies")
    except ScenarioError as err:
        raise ExperimentInputError(str(err)) from None


def effect_columns(effects: Mapping[str, Any]) -> dict[str, Any]:
    """A point's paired effects against the no-policy arm as points.parquet columns.

    Per outcome ``<key>`` of :data:`runs.experiments.stats.PAIRED_OUTCOMES`: ``diff_<key>`` (the paired
    difference), ``diff_<key>_lo``, ``diff_<key>_hi`` (its 95 % interval) and ``finding_<key>``; the capability
    delays also as ``delay_par_human`` / ``delay_superhuman`` with ``_lo``, ``_hi`` and the censored runs.
    """
    out: dict[str, Any] = {}
    for outcome in PAIRED_OUTCOMES:
        stat = effects["outcomes"][outcome.key]
        lo, hi = stat["ci95"] if stat.get("ci95") else (math.nan, math.nan)
        value = math.nan if stat.get("difference") is None else float(stat["difference"])
        out[f"diff_{outcome.key}"], out[f"diff_{outcome.key}_lo"], out[f"diff_{outcome.key}_hi"] = value, lo, hi
        out[f"finding_{outcome.key}"] = bool(stat.get("finding"))
        if outcome.kind == "delay":
            out[outcome.key], out[f"{outcome.key}_lo"], out[f"{outcome.key}_hi"] = value, lo, hi
            out[f"{outcome.key}_censored_policy"] = int(stat.get("censored_policy") or 0)
            out[f"{outcome.key}_censored_baseline"] = int(stat.get("censored_baseline") or 0)
    return out


def _interpolate(x0: float, x1: float, y0: float, y1: float, level: float, log: bool) -> float:
    if y1 == y0:
        return x1
    t = (level - y0) / (y1 - y0)
    if log and x0 > 0.0 and x1 > 0.0:
        return float(math.exp(math.log(x0) + t * (math.log(x1) - math.log(x0))))
    return float(x0 + t * (x1 - x0))


def flips(points: pd.DataFrame, key: str, target: Target, *, log: bool) -> dict[str, Any]:
    """Where along ``key`` the estimate of ``target.column`` crosses the target, in grid order.

    Returns the target, the grid values in order with the estimate and whether it (and its whole interval, where
    ``<column>_lo``/``_hi`` exist) meets the target, ``crossings`` (interpolated values of ``key`` between two
    neighbouring grid values of which one meets it and one does not, with the two values), ``crossing`` (the first
    crossing, or None), ``first_met`` and ``first_met_by_interval`` (the first grid values that meet it, or None).
    """
    frame = points.reset_index(drop=True)
    x = frame[key].to_numpy(dtype=float)
    y = frame[target.column].to_numpy(dtype=float)
    has_interval = f"{target.column}_lo" in frame and f"{target.column}_hi" in frame
    lo = frame[f"{target.column}_lo"].to_numpy(dtype=float) if has_interval else y
    hi = frame[f"{target.column}_hi"].to_numpy(dtype=float) if has_interval else y
    met = [target.met(v) for v in y]
    sure = [target.met_by_interval(a, b) for a, b in zip(lo, hi, strict=True)]
    crossings = []
    for k in range(len(x) - 1):
        if met[k] != met[k + 1] and np.isfinite(y[k]) and np.isfinite(y[k + 1]):
            crossings.append({"between": [float(x[k]), float(x[k + 1])],
                              "value": _interpolate(x[k], x[k + 1], y[k], y[k + 1], target.level, log),
                              "direction": "starts meeting" if met[k + 1] else "stops meeting"})
    first = next((float(v) for v, ok in zip(x, met, strict=True) if ok), None)
    first_sure = next((float(v) for v, ok in zip(x, sure, strict=True) if ok), None)
    return {
        "target": target.text, "text": target.text, "column": target.column, "op": target.op,
        "level": target.level, "key": key,
        "points": [{"value": float(v), "estimate": float(e), "met": m, "met_by_interval": s}
                   for v, e, m, s in zip(x, y, met, sure, strict=True)],
        "crossings": crossings, "crossing": crossings[0]["value"] if crossings else None,
        "first_met": first, "first_met_by_interval": first_sure,
    }
