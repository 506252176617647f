"""Ensembles over a calibration's posterior: parameter sets drawn, one per run, from a weighted posterior sample.

``multipolar calibrate`` (runs.checks.hindcast) writes ``posterior.parquet``: one column per calibrated
``[uncertain]`` key and ``weight`` (ABC-SMC importance weights).  An ensemble or comparison given that file
(``--posterior``) replaces the ``[uncertain]`` sampling of those keys by draws from it; keys of the scenario's
``[uncertain]`` table that the posterior does not hold keep their distributions (the Latin hypercube of those keys
alone, with the correlations among them: :meth:`UncertainPlan.without`).

**Draws.** Run ``i`` of an ensemble with root seed ``N`` takes row ``j`` of the posterior with probability
``weight[j]`` (multinomial resampling, one draw per run), from its own named stream
``SeedSequence(N, spawn_key=(i, POSTERIOR_STREAM_KEY))``: a child of the run's root under a key derived from the
name ``"posterior"`` (its CRC-32, far from the engine's stream indices ``0..k`` of economy.streams), so the draw
depends only on ``N`` and ``i``, never on the chunking, the worker count or the other runs, and every arm of a
comparison draws the same parameter sets (common random numbers).  No global random state.

**Checks** (before anything is written, :meth:`Posterior.check`): every column but ``weight`` must name a
real-valued parameter of the scenario that may vary between runs, and every value must lie in its valid range;
weights must be finite, non-negative and not all zero.  A failure raises :class:`ExperimentInputError` naming the
column (key), the value and the file.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from economy.params import Scenario, uncertain_parameter_range
from runs.experiments.result import ExperimentInputError
from runs.experiments.uncertain import UncertainPlan

__all__ = ["POSTERIOR_STREAM_KEY", "Posterior", "drawn_keys", "ensemble_design", "posterior_note"]

POSTERIOR_STREAM_KEY = zlib.crc32(b"posterior")
"""The spawn key, under a run's root, of the stream that picks the run's posterior draw (CRC-32 of its name)."""

WEIGHT = "weight"


@dataclass(frozen=True, eq=False)
class Posterior:
    """A weighted posterior sample read from a Parquet file (:meth:`load`)."""

    path: Path
    sha256: str
    keys: tuple[str, ...]
    values: np.ndarray  # (rows, keys)
    weights: np.ndarray  # (rows,), summing to 1

    @classmethod
    def load(cls, path: str | Path) -> Posterior:
        """Read ``path`` (one column per parameter key and ``weight``); raises :class:`ExperimentInputError`."""
        path = Path(path)
        head = f"--posterior {path}"
        try:
            data = path.read_bytes()
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as err:
            raise ExperimentInputError(f"{head}: cannot read it as Parquet ({type(err).__name__}: {err})") from None
        if WEIGHT not in frame.columns:
            raise ExperimentInputError(f"{head}: no 'weight' column (a posterior of multipolar calibrate has one "
                                       "column per parameter and 'weight')")
        keys = tuple(str(c) for c in frame.columns if c != WEIGHT)
        if not keys:
            raise ExperimentInputError(f"{head}: no parameter column besides 'weight'")
        if len(frame) == 0:
            raise ExperimentInputError(f"{head}: no rows")
        for column in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
                raise ExperimentInputError(f"{head}: column {column!r} is not numeric")
        values = frame[list(keys)].to_numpy(dtype=np.float64)
        weights = frame[WEIGHT].to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            row, col = map(int, np.argwhere(bad)[0])
            raise ExperimentInputError(f"{head}: {keys[col]} = {values[row, col]} in row {row} is not a finite number")
        invalid = np.flatnonzero(~(np.isfinite(weights) & (weights >= 0.0)))
        if invalid.size or not weights.sum() > 0.0:
            row = int(invalid[0]) if invalid.size else 0
            raise ExperimentInputError(f"{head}: weight = {weights[row]} in row {row}: weights must be finite, "
                                       ">= 0 and not all zero")
        return cls(path, hashlib.sha256(data).hexdigest(), keys, values, weights / weights.sum())

    def check(self, scenario: Scenario) -> None:
        """Every key a real-valued parameter of ``scenario`` that may vary, every value in its range."""
        head = f"--posterior {self.path}"
        for col, key in enumerate(self.keys):
            try:
                lo, hi, lo_open, hi_open = uncertain_parameter_range(scenario, key)
            except ValueError as err:
                raise ExperimentInputError(f"{head}: column {key!r} is not a parameter scenario {scenario.name!r} can "
                                           f"draw per run ({err})") from None
            column = self.values[:, col]
            below = np.zeros(column.size, bool) if lo is None else (column <= lo if lo_open else column < lo)
            above = np.zeros(column.size, bool) if hi is None else (column >= hi if hi_open else column > hi)
            outside = np.flatnonzero(below | above)
            if outside.size:
                row = int(outside[0])
                allowed = (f"{'(' if lo_open or lo is None else '['}{-math.inf if lo is None else lo:g}, "
                           f"{math.inf if hi is None else hi:g}{')' if hi_open or hi is None else ']'}")
                raise ExperimentInputError(f"{head}: {key} = {column[row]:g} in row {row} is outside its allowed range "
                                           f"{allowed} ({outside.size} row(s) outside)")

    @property
    def effective_sample_size(self) -> float:
        """Kish's effective sample size of the weights, 1 / sum(w^2)."""
        return float(1.0 / np.sum(self.weights ** 2))

    def rows(self, seed: int, runs: int) -> np.ndarray:
        """The posterior row each run draws; run ``i`` draws from its stream (module docs)."""
        cdf = np.cumsum(self.weights)
        cdf /= cdf[-1]
        u = np.fromiter((np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            seed, spawn_key=(i, POSTERIOR_STREAM_KEY)))).random() for i in range(runs)), dtype=np.float64, count=runs)
        return np.minimum(np.searchsorted(cdf, u, side="right"), self.weights.size - 1)

    def draws(self, seed: int, runs: int) -> np.ndarray:
        """``(runs, keys)``: run ``i``'s parameter set (:meth:`rows`)."""
        return self.values[self.rows(seed, runs)]

    def entry(self) -> dict[str, Any]:
        """The manifest's and summary's record of the posterior."""
        return {"file": str(self.path), "sha256": self.sha256, "keys": list(self.keys), "rows": int(self.weights.size),
                "effective_sample_size": self.effective_sample_size,
                "draws": "run i takes row j with probability weight[j], from SeedSequence(root_seed, spawn_key=(i, "
                         f"{POSTERIOR_STREAM_KEY})) (the run's 'posterior' stream)"}


def drawn_keys(plan: UncertainPlan, posterior: Posterior | None) -> tuple[str, ...]:
    """The keys drawn per run: the ``[uncertain]`` keys the posterior does not hold, then the posterior's."""
    if posterior is None:
        return plan.keys
    return (*plan.without(posterior.keys).keys, *posterior.keys)


def ensemble_design(plan: UncertainPlan, posterior: Posterior | None, runs: int,
                    seed: int) -> tuple[tuple[str, ...], np.ndarray]:
    """The keys drawn per run and the ``(runs, keys)`` values: the Latin hypercube of the ``[uncertain]`` keys not in
    the posterior (:meth:`UncertainPlan.design`), then the posterior draws (:meth:`Posterior.draws`)."""
    if posterior is None:
        return plan.keys, plan.design(runs, seed) if plan.keys else np.empty((runs, 0))
    rest = plan.without(posterior.keys)
    prior_part = rest.design(runs, seed) if rest.keys else np.empty((runs, 0))
    return drawn_keys(plan, posterior), np.hstack([prior_part, posterior.draws(seed, runs)])


def posterior_note(posterior: Posterior) -> str:
    """One line for the summaries: whose P(unipolar) it is."""
    return (f"over parameter sets drawn from the posterior {posterior.path} (sha256 {posterior.sha256[:12]}..., "
            f"{posterior.weights.size} weighted rows, effective size {posterior.effective_sample_size:.0f})")

