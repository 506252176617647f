"""The distributions of the ``[uncertain]`` table and the check that a distribution fits its parameter's range.

An ensemble samples them by Latin hypercube (runs.uncertain); :func:`check_support` refuses a distribution
that could draw a value the parameter does not allow.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Choice",
    "Distribution",
    "LogNormal",
    "LogUniform",
    "Normal",
    "Triangular",
    "Uniform",
    "check_support",
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
