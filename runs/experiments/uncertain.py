"""Parameter uncertainty for ensembles: Latin hypercube draws from the scenario's ``[uncertain]`` table.

A scenario's ``uncertain`` table (validated by :class:`economy.params.Scenario`) gives a distribution per
parameter key.  For an ensemble of ``R`` runs with root seed ``N`` the design is an ``(R, d)`` Latin
hypercube drawn from ``SeedSequence(N)`` itself (runs use its children ``SeedSequence(N, spawn_key=(i,))``,
so the design never shares a stream with a run), mapped through each distribution's inverse CDF.  Run ``i``
gets row ``i`` whatever the chunking, worker or retry.

**Correlated priors.**  ``[[uncertain.correlations]]`` tables give rank (Spearman) correlations between keys
(:class:`economy.params.RankCorrelation`).  They are imposed on the Latin hypercube by the method of Iman and
Conover (1982): each correlated column keeps its values (so its strata and its marginal are exactly those of the
independent design) and is only reordered, so that the van der Waerden normal scores of its ranks take the
correlation of a Gaussian copula with the target rank correlation (:func:`iman_conover`).  The reordering is
deterministic given the design (no further random numbers); a table without correlations gives bit for bit the
independent design.  Calibration maps a point of the unit cube through the same Gaussian copula
(:meth:`UncertainPlan.copula`).

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
    RowPacker,
    Scenario,
    Triangular,
    Uniform,
    index_key,
    locate,
    normal_scores_correlation,
    rank_correlation_matrix,
    split_key,
    validate_scenario,
)

__all__ = [
    "RunScenarios",
    "UncertainPlan",
    "design_generator",
    "iman_conover",
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


def iman_conover(u: np.ndarray, spearman: np.ndarray) -> np.ndarray:
    r"""The columns of ``u`` reordered so that their rank correlation approaches ``spearman`` (Iman & Conover 1982).

    With :math:`R` the van der Waerden scores :math:`\Phi^{-1}(\mathrm{rank}/(n+1))` of ``u``'s columns, :math:`T`
    their correlation and :math:`C = 2\sin(\pi\,\mathrm{spearman}/6)` the normal-score correlation of the target
    (:func:`economy.params.normal_scores_correlation`), :math:`R^* = R\,(P Q^{-1})^\top` with :math:`C = PP^\top`,
    :math:`T = QQ^\top` (Cholesky) has correlation :math:`C` exactly; column :math:`j` of the result holds the
    values of column :math:`j` of ``u`` in the rank order of column :math:`j` of :math:`R^*`.  Each column keeps its
    values (its marginal and its Latin-hypercube strata).  When :math:`T` is singular (fewer runs than columns, or
    two identical rank orders) :math:`Q = I`; with one run nothing changes.
    """
    u = np.asarray(u, dtype=np.float64)
    n, d = u.shape
    if n < 2 or d < 2:
        return u.copy()
    ranks = np.argsort(np.argsort(u, axis=0, kind="stable"), axis=0, kind="stable")
    from scipy.special import ndtri  # here: importing scipy.special takes ~0.1 s, in every chunk worker

    scores = ndtri((ranks + 1.0) / (n + 1.0))
    target = normal_scores_correlation(np.asarray(spearman, dtype=np.float64))
    p = np.linalg.cholesky(target)
    try:
        q = np.linalg.cholesky(np.corrcoef(scores, rowvar=False))
    except np.linalg.LinAlgError:
        q = np.eye(d)
    correlated = scores @ np.linalg.solve(q.T, p.T)  # R Q^-T P^T = R (P Q^-1)^T
    out = np.empty_like(u)
    for j in range(d):
        order = np.argsort(np.argsort(correlated[:, j], kind="stable"), kind="stable")
        out[:, j] = np.sort(u[:, j], kind="stable")[order]
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
    correlated: tuple[str, ...] = ()
    """The keys with a declared rank correlation (a subset of ``keys``, in their order)."""
    spearman: tuple[tuple[float, ...], ...] = ()
    """Their target Spearman matrix (0 where no correlation is declared)."""

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> UncertainPlan:
        keys = tuple(scenario.uncertain)
        correlated, matrix = rank_correlation_matrix(keys, scenario.uncertain_correlations)
        return cls(keys, tuple(scenario.uncertain.values()), correlated, tuple(tuple(row) for row in matrix.tolist()))

    def without(self, drop: Sequence[str]) -> UncertainPlan:
        """The plan of the keys not in ``drop``, with the correlations among them (a pair with a dropped key goes)."""
        kept = [j for j, key in enumerate(self.keys) if key not in drop]
        stay = [a for a, key in enumerate(self.correlated) if key not in drop]
        matrix = np.asarray(self.spearman, dtype=np.float64).reshape(len(self.correlated), len(self.correlated))
        sub = matrix[np.ix_(stay, stay)]
        linked = [a for a in range(len(stay)) if np.count_nonzero(sub[a]) > 1]
        return UncertainPlan(tuple(self.keys[j] for j in kept), tuple(self.distributions[j] for j in kept),
                             tuple(self.correlated[stay[a]] for a in linked),
                             tuple(tuple(row) for row in sub[np.ix_(linked, linked)].tolist()))

    def correlate(self, u: np.ndarray) -> np.ndarray:
        """The design ``u`` (rows: runs, columns: ``keys``), its correlated columns reordered (:func:`iman_conover`)."""
        if not self.correlated:
            return u
        columns = [self.keys.index(key) for key in self.correlated]
        out = u.copy()
        out[:, columns] = iman_conover(u[:, columns], np.asarray(self.spearman))
        return out

    def copula(self, u: np.ndarray) -> np.ndarray:
        r"""A point (or rows of points) ``u`` of the unit cube mapped through the Gaussian copula of the correlations:
        :math:`u' = \Phi(L\,\Phi^{-1}(u))` on the correlated coordinates, :math:`LL^\top` the normal-score
        correlation.  Uniform ``u`` gives uniform marginals with the target rank correlation exactly (the prior of
        a calibration, runs.checks.hindcast); without correlations ``u`` itself."""
        if not self.correlated:
            return u
        u = np.asarray(u, dtype=np.float64)
        columns = [self.keys.index(key) for key in self.correlated]
        chol = np.linalg.cholesky(normal_scores_correlation(np.asarray(self.spearman)))
        out = u.copy()
        inside = np.clip(u[..., columns], 1e-12, 1.0 - 1e-12)  # the cube's faces map to finite scores
        from scipy.special import ndtr, ndtri  # here, as above

        out[..., columns] = ndtr(ndtri(inside) @ chol.T)
        return out

    @property
    def per_run_init(self) -> bool:
        """True if some key is read when a run's starting state is built (each run then gets its own batch)."""
        return any(key_route(key) == "init" for key in self.keys)

    def design(self, n_runs: int, seed: int) -> np.ndarray:
        """The ``(n_runs, len(keys))`` drawn values; row ``i`` belongs to run ``i``."""
        u = self.correlate(latin_hypercube(n_runs, len(self.keys), design_generator(seed)))
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
        self.base: dict[str, Any] = scenario.model_dump(mode="python", exclude={"uncertain", "uncertain_correlations"})
        self.paths = [index_key(self.base, split_key(key)) for key in self.keys]  # a policy's name -> its index
        self.source = f"scenario {scenario.name!r} with drawn values"
        self._scenario = scenario
        self._packer: RowPacker | None = None

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
        return self.pack(self.scenario(values))

    def pack(self, scenario: Scenario) -> np.ndarray:
        """``pack_parameters(scenario)`` of a scenario this builder made: the base's row with the columns of the
        drawn keys computed again (:class:`economy.params.RowPacker`)."""
        return self.packer.pack(scenario)

    @property
    def packer(self) -> RowPacker:
        """The row packer of the base scenario and the drawn keys (made on first use)."""
        if self._packer is None:
            self._packer = RowPacker(self._scenario, [self._column_key(path) for path in self.paths])
        return self._packer

    def _column_key(self, path: tuple[str | int, ...]) -> str:
        """A drawn key as the packed columns name it: a policy by its kind, not its name or index."""
        if path[0] == "policies" and len(path) == 3 and isinstance(path[1], int):
            return f"policies.{self._scenario.policies[path[1]].kind}.{path[2]}"
        return ".".join(str(part) for part in path)
