"""Parameter uncertainty for ensembles: Latin hypercube draws from the scenario's ``[uncertain]`` table.

A scenario's ``uncertain`` table (validated by :class:`economy.params.Scenario`) gives a distribution per
parameter key.  For an ensemble of ``R`` runs with root seed ``N`` the design is an ``(R, d)`` Latin
hypercube drawn from ``SeedSequence(N)`` itself (runs use its children ``SeedSequence(N, spawn_key=(i,))``,
so the design never shares a stream with a run), mapped through each distribution's inverse CDF.  Run ``i``
gets row ``i`` whatever the chunking, worker or retry.

Run ``i``'s scenario is the ensemble's scenario with its drawn values applied, validated like a ``--set``
override (:class:`RunScenarios`); validation costs about 40 microseconds per run, about 1 % of simulating
one baseline run, so every run is validated whole (cross-field checks included) rather than patched.

How a drawn value reaches the engine depends on where the engine reads it (:func:`key_route`, from the route
declared with the key's field in the schema, economy.params.fields):

- ``"row"`` keys only enter the packed parameter row (:func:`economy.params.pack_parameters`), so a chunk of
  runs is one batched :class:`economy.engine.Simulation` of the base scenario with per-run parameter rows;
- ``"init"`` keys are also read when a run's starting state is built (the lab population, archetypes, the
  starting price, demand, talent pool, the software calibration, the network's graph), so each run is
  simulated from its own scenario (a batch of one; slower, same results).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from economy.params import (
    BadKey,
    Choice,
    Distribution,
    LogNormal,
    LogUniform,
    Normal,
    Scenario,
    Triangular,
    Uniform,
    index_key,
    locate,
    pack_parameters,
    split_key,
    validate_scenario,
)

__all__ = [
    "RunScenarios",
    "UncertainPlan",
    "design_generator",
    "key_route",
    "latin_hypercube",
    "ppf",
]

_STD_NORMAL = NormalDist()
_TINY = 1e-300


def key_route(key: str) -> Literal["row", "init"]:
    """``"row"`` if ``key`` acts only through the packed parameter row, else ``"init"`` (see module docs).

    The route is the one the key's field declares (``route="row"``); a key read when the starting state is built
    (``"init"`` or ``"both"``) or declaring none takes the always-correct ``"init"`` route.  Tests check every
    ``"row"`` key against a full simulation.
    """
    try:
        packing = locate(Scenario, split_key(key)).packing
    except BadKey:
        return "init"
    return "row" if packing is not None and packing.route == "row" else "init"


def design_generator(seed: int) -> np.random.Generator:
    """The generator of an ensemble's design: ``SeedSequence(seed)`` itself, the parent of every run's root."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))


def latin_hypercube(n_runs: int, n_dims: int, rng: np.random.Generator) -> np.ndarray:
    r"""A Latin hypercube in :math:`[0, 1)^d`: in every column each of the ``n_runs`` strata holds one point.

    .. math:: u_{ij} = (\pi_j(i) + v_{ij}) / R, \quad v_{ij} \sim U[0, 1)

    with an independent random permutation :math:`\pi_j` per column (McKay, Beckman & Conover 1979).
    Column ``j`` uses the generator after columns ``0..j-1`` (a permutation, then ``R`` uniforms each).
    """
    if n_runs < 1 or n_dims < 0:
        raise ValueError(f"a design needs n_runs >= 1 and n_dims >= 0, got {n_runs}, {n_dims}")
    out = np.empty((n_runs, n_dims))
    for j in range(n_dims):
        perm = rng.permutation(n_runs)
        out[:, j] = (perm + rng.random(n_runs)) / n_runs
    return out


def ppf(dist: Distribution, u: np.ndarray) -> np.ndarray:
    """The inverse CDF of ``dist`` at probabilities ``u`` in [0, 1); every result lies in the support."""
    u = np.asarray(u, dtype=np.float64)
    if isinstance(dist, Uniform):
        return np.minimum(dist.low + u * (dist.high - dist.low), dist.high)
    if isinstance(dist, LogUniform):
        lo, hi = math.log(dist.low), math.log(dist.high)
        return np.clip(np.exp(lo + u * (hi - lo)), dist.low, dist.high)
    if isinstance(dist, Normal):
        a = -math.inf if dist.low is None else (dist.low - dist.mean) / dist.sd
        b = math.inf if dist.high is None else (dist.high - dist.mean) / dist.sd
        x = dist.mean + dist.sd * _truncated_standard_normal_ppf(a, b, u)
        return np.clip(x, -math.inf if dist.low is None else dist.low, math.inf if dist.high is None else dist.high)
    if isinstance(dist, LogNormal):
        mu = math.log(dist.median)
        a = -math.inf if dist.low is None else (math.log(dist.low) - mu) / dist.sigma
        b = math.inf if dist.high is None else (math.log(dist.high) - mu) / dist.sigma
        x = np.exp(mu + dist.sigma * _truncated_standard_normal_ppf(a, b, u))
        return np.clip(x, 0.0 if dist.low is None else dist.low, math.inf if dist.high is None else dist.high)
    if isinstance(dist, Triangular):
        lo, mode, hi = dist.low, dist.mode, dist.high
        cut = (mode - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (mode - lo))
        right = hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - mode))
        return np.clip(np.where(u < cut, left, right), lo, hi)
    if isinstance(dist, Choice):
        values = np.asarray(dist.values, dtype=np.float64)
        weights = np.ones(values.size) if dist.weights is None else np.asarray(dist.weights, dtype=np.float64)
        cum = np.cumsum(weights / weights.sum())
        idx = np.minimum(np.searchsorted(cum, u, side="right"), values.size - 1)
        return values[idx]
    raise TypeError(f"unknown distribution {dist!r}")


def _truncated_standard_normal_ppf(a: float, b: float, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of the standard normal truncated to [a, b]; the upper tail is handled by symmetry."""
    if a > 0.0:
        return -_truncated_standard_normal_ppf(-b, -a, 1.0 - u)
    fa, fb = _std_cdf(a), _std_cdf(b)
    p = np.clip(fa + u * (fb - fa), _TINY, 1.0 - 1e-16)
    z = np.fromiter((_STD_NORMAL.inv_cdf(float(q)) for q in p.ravel()), dtype=np.float64, count=p.size)
    return np.clip(z.reshape(p.shape), a, b)


def _std_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@dataclass(frozen=True)
class UncertainPlan:
    """The uncertain parameters of an ensemble, in the scenario's order, and how they reach the engine."""

    keys: tuple[str, ...]
    distributions: tuple[Distribution, ...]

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> UncertainPlan:
        return cls(tuple(scenario.uncertain), tuple(scenario.uncertain.values()))

    @property
    def per_run_init(self) -> bool:
        """True if some key is read when a run's starting state is built (each run then gets its own batch)."""
        return any(key_route(key) == "init" for key in self.keys)

    def design(self, n_runs: int, seed: int) -> np.ndarray:
        """The ``(n_runs, len(keys))`` drawn values; row ``i`` belongs to run ``i``."""
        u = latin_hypercube(n_runs, len(self.keys), design_generator(seed))
        out = np.empty_like(u)
        for j, dist in enumerate(self.distributions):
            out[:, j] = ppf(dist, u[:, j])
        return out


class RunScenarios:
    """Builds run scenarios: the ensemble's scenario with one run's drawn values applied, then validated.

    The base is dumped once to a plain dict (without its ``uncertain`` table, which a run does not need);
    for each run only the dicts along the drawn keys' paths are copied, so the cost is one validation.
    """

    def __init__(self, scenario: Scenario, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        self.base: dict[str, Any] = scenario.model_dump(mode="python", exclude={"uncertain"})
        self.paths = [index_key(self.base, split_key(key)) for key in self.keys]  # a policy's name -> its index
        self.source = f"scenario {scenario.name!r} with drawn values"

    def data(self, values: Sequence[float]) -> dict[str, Any]:
        """The scenario dict with ``values`` (one per key) applied; shared sub-dicts are not modified."""
        out = dict(self.base)
        for path, value in zip(self.paths, values, strict=True):
            node: Any = out
            for part in path[:-1]:
                child = node[part]
                child = list(child) if isinstance(child, (list, tuple)) else dict(child)
                node[part] = child
                node = child
            node[path[-1]] = float(value)
        return out

    def scenario(self, values: Sequence[float]) -> Scenario:
        """The validated run scenario; raises :class:`economy.params.ScenarioError` for an invalid combination."""
        return validate_scenario(self.data(values), source=self.source)

    def parameter_row(self, values: Sequence[float]) -> np.ndarray:
        """``pack_parameters`` of the run scenario."""
        return pack_parameters(self.scenario(values))
