"""The distributions of the ``[uncertain]`` table, the check that a distribution fits its parameter's range, and
the rank correlations of parameters that move together (``[[uncertain.correlations]]``).

An ensemble samples them by Latin hypercube (runs.experiments.uncertain), with the declared rank correlations
imposed by the Iman-Conover method; :func:`check_support` refuses a distribution that could draw a value the
parameter does not allow, :func:`rank_correlation_matrix` a correlation that cannot be sampled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from economy.params.fields import setting

__all__ = [
    "Choice",
    "Distribution",
    "LogNormal",
    "LogUniform",
    "Normal",
    "RankCorrelation",
    "Triangular",
    "Uniform",
    "check_support",
    "normal_scores_correlation",
    "rank_correlation_matrix",
]


# ---------------------------------------------------------------------------------------------- uncertainty
class _Distribution(BaseModel):
    """A distribution of one uncertain parameter; sampled by ``runs.uncertain`` (Latin hypercube)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def support(self) -> tuple[float, float, bool, bool]:
        """``(low, high, low_included, high_included)``: the smallest interval holding every possible draw."""
        raise NotImplementedError

    def points(self) -> tuple[float, ...] | None:
        """The possible values of a discrete distribution; None for a continuous one."""
        return None


class Uniform(_Distribution):
    """Uniform on ``[low, high]``."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"uniform needs low < high, got low = {self.low:g}, high = {self.high:g}")
        return self

    def support(self) -> tuple[float, float, bool, bool]:
        return self.low, self.high, True, True


class LogUniform(_Distribution):
    """Log-uniform on ``[low, high]`` (uniform in ln x), ``0 < low < high``."""

    dist: Literal["loguniform"]
    low: float = Field(gt=0.0)
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> LogUniform:
        if not self.low < self.high:
            raise ValueError(f"loguniform needs 0 < low < high, got low = {self.low:g}, high = {self.high:g}")
        return self

    def support(self) -> tuple[float, float, bool, bool]:
        return self.low, self.high, True, True


def _normal_mass(mean: float, sd: float, low: float | None, high: float | None) -> float:
    def cdf(x: float | None, default: float) -> float:
        return default if x is None else 0.5 * math.erfc(-(x - mean) / (sd * math.sqrt(2.0)))

    return cdf(high, 1.0) - cdf(low, 0.0)


class Normal(_Distribution):
    """Normal with ``mean`` and ``sd``, truncated to ``[low, high]`` where given."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(gt=0.0)
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _truncation(self) -> Normal:
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"normal needs low < high, got low = {self.low:g}, high = {self.high:g}")
        if _normal_mass(self.mean, self.sd, self.low, self.high) < 1e-9:
            raise ValueError("normal: the truncation interval [low, high] holds almost none of the distribution")
        return self

    def support(self) -> tuple[float, float, bool, bool]:
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        return lo, hi, self.low is not None, self.high is not None


class LogNormal(_Distribution):
    """Log-normal: ln x is normal with mean ln(``median``) and sd ``sigma``; truncated to ``[low, high]``."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0.0)
    sigma: float = Field(gt=0.0)
    low: float | None = Field(None, gt=0.0)
    high: float | None = Field(None, gt=0.0)

    @model_validator(mode="after")
    def _truncation(self) -> LogNormal:
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"lognormal needs low < high, got low = {self.low:g}, high = {self.high:g}")
        log_low = None if self.low is None else math.log(self.low)
        log_high = None if self.high is None else math.log(self.high)
        if _normal_mass(math.log(self.median), self.sigma, log_low, log_high) < 1e-9:
            raise ValueError("lognormal: the truncation interval [low, high] holds almost none of the distribution")
        return self

    def support(self) -> tuple[float, float, bool, bool]:
        lo = 0.0 if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        return lo, hi, self.low is not None, self.high is not None


class Triangular(_Distribution):
    """Triangular on ``[low, high]`` with its peak at ``mode``."""

    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(
                f"triangular needs low <= mode <= high and low < high, got {self.low:g}, {self.mode:g}, {self.high:g}"
            )
        return self

    def support(self) -> tuple[float, float, bool, bool]:
        return self.low, self.high, True, True


class Choice(_Distribution):
    """One of ``values``, with probabilities proportional to ``weights`` (default: equal)."""

    dist: Literal["choice"]
    values: tuple[float, ...] = Field(min_length=1)
    weights: tuple[Annotated[float, Field(ge=0.0)], ...] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"choice: {len(self.weights)} weights for {len(self.values)} values")
            if not sum(self.weights) > 0.0:
                raise ValueError("choice: the weights must not all be zero")
        return self

    def support(self) -> tuple[float, float, bool, bool]:
        return min(self.values), max(self.values), True, True

    def points(self) -> tuple[float, ...]:
        return self.values


Distribution = Annotated[
    Uniform | LogUniform | Normal | LogNormal | Triangular | Choice, Field(discriminator="dist")
]


def check_support(key: str, dist: _Distribution, rng: tuple[float | None, float | None, bool, bool]) -> None:
    """Raise ValueError unless every value ``dist`` can draw lies in the parameter's range ``rng``."""
    lo, hi, lo_open, hi_open = rng
    allowed = f"{'(' if lo_open or lo is None else '['}{-math.inf if lo is None else lo:g}, " \
              f"{math.inf if hi is None else hi:g}{')' if hi_open or hi is None else ']'}"
    points = dist.points()
    if points is not None:
        for value in points:
            below = lo is not None and (value < lo or (lo_open and value == lo))
            above = hi is not None and (value > hi or (hi_open and value == hi))
            if below or above or not math.isfinite(value):
                raise ValueError(
                    f"uncertain key {key!r}: choice value {value:g} is outside the allowed range {allowed}"
                )
        return
    s_lo, s_hi, lo_in, hi_in = dist.support()
    below = lo is not None and (s_lo < lo or (s_lo == lo and lo_open and lo_in))
    above = hi is not None and (s_hi > hi or (s_hi == hi and hi_open and hi_in))
    if below or above:
        shown = f"{'[' if lo_in else '('}{s_lo:g}, {s_hi:g}{']' if hi_in else ')'}"
        hint = " (give low and high to truncate it)" if not (math.isfinite(s_lo) and math.isfinite(s_hi)) else ""
        raise ValueError(
            f"uncertain key {key!r}: the {dist.dist} support {shown} is not within the allowed range {allowed}{hint}"
        )


# ---------------------------------------------------------------------------------------------- correlations
class RankCorrelation(BaseModel):
    """Uncertain parameters that move together: one ``[[uncertain.correlations]]`` table.

    ``keys`` name parameters of the ``[uncertain]`` table; ``spearman`` is their rank correlation: one number for
    two keys, or a symmetric matrix with a unit diagonal (row and column ``i`` belong to ``keys[i]``) for more.
    The checks that need the whole table (keys present, values in [-1, 1], a pair given once, the combined matrix
    positive definite) are the scenario's (:func:`rank_correlation_matrix`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # route "init": read when an experiment builds its design, never packed (a run's scenario drops the table)
    keys: tuple[str, ...] = setting(route="init", min_length=2, description="The correlated [uncertain] keys.")
    spearman: float | tuple[tuple[float, ...], ...] = setting(
        route="init", description="Their Spearman rank correlation: a number for two keys, else a matrix.")

    def pairs(self) -> list[tuple[str, str, float]]:
        """``(key_a, key_b, rho)`` for every pair of distinct keys, in the order of ``keys``."""
        out = []
        for i, a in enumerate(self.keys):
            for j in range(i + 1, len(self.keys)):
                rho = self.spearman if isinstance(self.spearman, float) else self.spearman[i][j]
                out.append((a, self.keys[j], float(rho)))
        return out


def normal_scores_correlation(spearman: float | np.ndarray) -> float | np.ndarray:
    r"""The correlation of normal scores whose rank (Spearman) correlation is ``spearman``.

    For a bivariate normal, :math:`\rho_S = (6/\pi) \arcsin(\rho/2)`, so :math:`\rho = 2 \sin(\pi \rho_S / 6)`
    (Pearson 1907; Kruskal 1958): the Gaussian copula that gives the target rank correlation.
    """
    return 2.0 * np.sin(np.pi * np.asarray(spearman, dtype=np.float64) / 6.0)


def rank_correlation_matrix(uncertain_keys: Sequence[str],
                            correlations: Sequence[RankCorrelation]) -> tuple[tuple[str, ...], np.ndarray]:
    """The correlated keys (in ``uncertain_keys``' order) and their target Spearman matrix (0 where not declared).

    Raises ValueError naming the key or value: a key not in the ``[uncertain]`` table, a key twice in one table,
    a matrix of the wrong shape, not symmetric or without a unit diagonal, a correlation outside [-1, 1], a pair
    given twice, or a combined matrix (or its Gaussian copula's) that is not positive definite.
    """
    declared: dict[frozenset[str], tuple[float, int]] = {}
    for k, corr in enumerate(correlations):
        where = f"uncertain.correlations.{k}"
        for key in corr.keys:
            if key not in uncertain_keys:
                raise ValueError(f"{where}: key {key!r} is not in the [uncertain] table; give it a distribution there "
                                 "first")
        if len(set(corr.keys)) != len(corr.keys):
            raise ValueError(f"{where}: a key is listed twice in keys = {list(corr.keys)}")
        if isinstance(corr.spearman, float):
            if len(corr.keys) != 2:
                raise ValueError(f"{where}: one spearman value needs exactly two keys, got {len(corr.keys)}; give a "
                                 f"{len(corr.keys)} x {len(corr.keys)} matrix instead")
        else:
            n = len(corr.keys)
            if len(corr.spearman) != n or any(len(row) != n for row in corr.spearman):
                raise ValueError(f"{where}: spearman must be a {n} x {n} matrix for {n} keys")
            for i in range(n):
                if corr.spearman[i][i] != 1.0:
                    raise ValueError(f"{where}: spearman[{i}][{i}] = {corr.spearman[i][i]:g} ({corr.keys[i]!r}); the "
                                     "diagonal must be 1")
                for j in range(i):
                    if corr.spearman[i][j] != corr.spearman[j][i]:
                        raise ValueError(f"{where}: spearman is not symmetric: [{i}][{j}] = {corr.spearman[i][j]:g}, "
                                         f"[{j}][{i}] = {corr.spearman[j][i]:g}")
        for a, b, rho in corr.pairs():
            if not -1.0 <= rho <= 1.0:
                raise ValueError(f"{where}: the rank correlation of {a!r} and {b!r} is {rho:g}, outside [-1, 1]")
            pair = frozenset((a, b))
            if pair in declared:
                raise ValueError(f"{where}: the pair {a!r}, {b!r} is already given in uncertain.correlations."
                                 f"{declared[pair][1]}")
            declared[pair] = (rho, k)
    keys = tuple(key for key in uncertain_keys if any(key in pair for pair in declared))
    matrix = np.eye(len(keys))
    for pair, (rho, _) in declared.items():
        a, b = sorted(keys.index(key) for key in pair)
        matrix[a, b] = matrix[b, a] = rho
    for name, candidate in (("the rank correlation matrix", matrix),
                            ("its Gaussian copula's normal-score matrix, 2 sin(pi rho / 6),",
                             normal_scores_correlation(matrix))):
        if keys and np.linalg.eigvalsh(candidate)[0] <= 1e-10:
            values = ", ".join(f"{keys[a]}~{keys[b]} = {matrix[a, b]:g}" for a in range(len(keys))
                               for b in range(a + 1, len(keys)) if matrix[a, b] != 0.0)
            raise ValueError(f"uncertain.correlations: {name} of {', '.join(keys)} is not positive definite "
                             f"({values}); a correlation of +-1 or an impossible combination cannot be sampled")
    return keys, matrix
