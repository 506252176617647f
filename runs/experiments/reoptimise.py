r"""Labs that re-optimise under a rule: iterated best response of the archetypes' routines (docs/policies.md,
"Labs that re-optimise under a rule").

Each archetype's routine (the starting values its labs and entrants take: ``archetypes.<kind>.spend_rate_per_year``,
``compute_spend_fraction``, ``train_fraction``, ``safety_base``, ``openness``) is re-chosen by **iterated best
response**, coordinate-wise: in each round, one archetype at a time and one decision variable at a time, the
variable is set to the best of three values around its current one (:func:`grid_values`), the other archetypes'
routines held fixed.  Every candidate is scored by the same ``R`` runs (run ``i`` has the root
``SeedSequence(seed, spawn_key=(i,))`` whatever the candidate: common random numbers), so the difference of two
candidates' payoffs is paired run by run.  A candidate replaces the current value only when its mean paired gain
exceeds ``z`` standard errors (:data:`MOVE_Z`), so the search stops at a profile that no grid deviation beats
beyond the Monte Carlo error; it stops when a whole round moves nothing (converged) or after ``rounds`` rounds.

**Payoff.**  An archetype's payoff in a run is the mean over its starting labs of the lab's discounted free cash
flow over the horizon plus its discounted terminal capital (the compute it owns at the market price):

.. math::
    \Pi_i = \sum_k e^{-\rho k \Delta t} \big(\Delta \text{cash}_{i,k} - F_{i,k} \Delta t\big)
            + e^{-\rho T} p_T C_{i,T}

where :math:`\Delta\text{cash}_{i,k}` is the lab's change of cash over step ``k`` (revenue net of operating
costs, wages, compute purchases, taxes and subsidies, incident costs, fines, acquisitions: every flow the money
stage books, docs/model.md stage 7), :math:`F_{i,k}` the investor or state funding it received (money put in by
its owners is not a profit), :math:`\rho` the discount rate and :math:`p_T C_{i,T}` its compute at the final
market price.  Cash on hand is not added at the horizon: it is the sum of the flows already counted (adding it
would count them twice).  A lab that exits stops accruing (its last step is not counted).  State programmes keep
their routine: their objective is not profit, so only investor-funded archetypes present among the starting labs
are re-optimised.  Runs are scored by :func:`payoff_chunk`, a task of the one execution layer
(:meth:`runs.experiments.execution.Execution.map`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from economy.archetypes import KIND_CODE
from economy.engine import Simulation
from economy.kernels import layout as L
from economy.params import Archetype, Scenario
from runs.experiments.chunk import run_root, warm_up
from runs.experiments.execution import Execution, numba_threads
from runs.experiments.result import ExperimentInputError
from runs.experiments.uncertain import RunScenarios, UncertainPlan, key_route

__all__ = [
    "DECISION_VARIABLES",
    "DEFAULT_DISCOUNT_PER_YEAR",
    "MOVE_Z",
    "PayoffTask",
    "Reoptimisation",
    "ReoptimiseOptions",
    "grid_values",
    "payoff_chunk",
    "reoptimise_routines",
    "reoptimised_archetypes",
    "with_routines",
]

DECISION_VARIABLES: tuple[str, ...] = (
    "spend_rate_per_year", "compute_spend_fraction", "train_fraction", "safety_base", "openness",
)
"""The routine fields an archetype re-chooses (``archetypes.<kind>.<name>``; ``inference_fraction`` stays, so a
training share is a candidate only while training plus inference is at most 1)."""
RATE_VARIABLES = frozenset({"spend_rate_per_year"})
"""Variables gridded by a ratio (v / ratio, v, v ratio); the others, fractions, by a step (v - step, v, v + step)."""
DEFAULT_DISCOUNT_PER_YEAR = 0.08
"""rho: assumption, of the order of a technology firm's cost of capital."""
MOVE_Z = 2.0
"""A candidate replaces the current value when its mean paired gain exceeds this many standard errors."""


@dataclass(frozen=True)
class ReoptimiseOptions:
    """How the search runs (docs/policies.md); :meth:`check` names a bad value with its option.

    Attributes
    ----------
    runs
        Runs per candidate ``R`` (the same seeds for every candidate), at least 2 (``--reoptimise-runs``).
    rounds
        Rounds at most, 1..20 (``--reoptimise-rounds``).
    step
        A fraction's grid step, in (0, 0.5] (``--reoptimise-step``).
    ratio
        The spend rate's grid ratio, in (1, 10] (``--reoptimise-ratio``).
    variables
        The decision variables (a subset of :data:`DECISION_VARIABLES`).
    discount_per_year
        The payoff's discount rate rho, in [0, 1] (1/year).
    kinds
        The archetypes to re-optimise; None: the investor-funded kinds among the starting labs.
    """

    runs: int = 64
    rounds: int = 3
    step: float = 0.1
    ratio: float = 1.5
    variables: tuple[str, ...] = DECISION_VARIABLES
    discount_per_year: float = DEFAULT_DISCOUNT_PER_YEAR
    kinds: tuple[str, ...] | None = None

    def check(self) -> None:
        def bad(option: str, value: Any, allowed: str) -> ExperimentInputError:
            return ExperimentInputError(f"{option} {value!r}: {allowed}")

        if not isinstance(self.runs, int) or isinstance(self.runs, bool) or self.runs < 2:
            raise bad("--reoptimise-runs", self.runs, "need an integer >= 2 (paired standard errors)")
        if not isinstance(self.rounds, int) or isinstance(self.rounds, bool) or not 1 <= self.rounds <= 20:
            raise bad("--reoptimise-rounds", self.rounds, "need an integer in 1..20")
        if not (isinstance(self.step, (int, float)) and math.isfinite(self.step) and 0.0 < self.step <= 0.5):
            raise bad("--reoptimise-step", self.step, "need a number in (0, 0.5] (a fraction's grid step)")
        if not (isinstance(self.ratio, (int, float)) and math.isfinite(self.ratio) and 1.0 < self.ratio <= 10.0):
            raise bad("--reoptimise-ratio", self.ratio, "need a number in (1, 10] (the spend rate's grid ratio)")
        unknown = [v for v in self.variables if v not in DECISION_VARIABLES]
        if unknown or not self.variables:
            raise bad("variables", list(self.variables), f"choose from {', '.join(DECISION_VARIABLES)}")
        if not (math.isfinite(self.discount_per_year) and 0.0 <= self.discount_per_year <= 1.0):
            raise bad("discount_per_year", self.discount_per_year, "need a rate in [0, 1] (1/year)")
        if self.kinds is not None:
            unknown = [k for k in self.kinds if k not in KIND_CODE]
            if unknown or not self.kinds:
                raise bad("kinds", list(self.kinds), f"choose from {', '.join(KIND_CODE)}")


@dataclass
class Reoptimisation:
    """What :func:`reoptimise` found.

    Attributes
    ----------
    routines
        The chosen routine per archetype: ``{kind: {variable: value}}``.
    start
        The routines the search started from (the scenario's).
    rounds
        One row per candidate scored: ``round``, ``archetype``, ``variable``, ``value``, ``current`` (the value
        it was compared with), ``payoff_usd`` (the archetype's mean payoff), ``gain_usd`` (mean paired
        difference from the current value), ``se_usd`` (its Monte Carlo standard error), ``pairs``, ``chosen``.
    converged
        True when the last round moved nothing.
    rounds_run, runs, candidates
        Rounds computed, runs per candidate, candidates scored (each once: a profile seen before is reused).
    """

    routines: dict[str, dict[str, float]]
    start: dict[str, dict[str, float]]
    rounds: list[dict[str, Any]] = field(default_factory=list)
    converged: bool = False
    rounds_run: int = 0
    runs: int = 0
    candidates: int = 0

    def overrides(self) -> list[str]:
        """The chosen routine as ``--set`` strings (``archetypes.<kind>.<variable>=<value>``)."""
        return [f"archetypes.{kind}.{var}={value!r}" for kind, values in self.routines.items()
                for var, value in values.items()]

    def entry(self, options: ReoptimiseOptions) -> dict[str, Any]:
        """The JSON of the search (``comparison.json``'s ``reoptimise``)."""
        return {"routines": self.routines, "start": self.start, "converged": self.converged,
                "rounds_run": self.rounds_run, "max_rounds": options.rounds, "runs_per_candidate": self.runs,
                "candidates": self.candidates, "step": options.step, "ratio": options.ratio,
                "variables": list(options.variables), "discount_per_year": options.discount_per_year,
                "move_z": MOVE_Z, "table": self.rounds}


# ---------------------------------------------------------------------------------------------- the grid
def _bounds(variable: str) -> tuple[float, float]:
    lo = hi = None
    for meta in Archetype.model_fields[variable].metadata:
        lo = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else lo
        hi = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else hi
    return float(lo if lo is not None else -math.inf), float(hi if hi is not None else math.inf)


def grid_values(variable: str, value: float, step: float, ratio: float) -> list[float]:
    """The three candidate values around ``value`` (fewer at a bound), clipped to the schema's range of
    ``archetypes.<kind>.<variable>``: ``value / ratio, value, value * ratio`` for the spend rate, ``value - step,
    value, value + step`` for a fraction.  Sorted, without repeats, rounded to 12 decimals."""
    lo, hi = _bounds(variable)
    if variable in RATE_VARIABLES:
        raw = [value / ratio, value, value * ratio]
    else:
        raw = [value - step, value, value + step]
    return sorted({round(min(hi, max(lo, v)), 12) for v in raw})  # 0.35 - 0.1 is 0.25, not 0.24999999999999997


def reoptimised_archetypes(scenario: Scenario, kinds: Sequence[str] | None = None) -> tuple[str, ...]:
    """The kinds to re-optimise: ``kinds`` if given, else the investor-funded archetypes among the starting labs
    (listed labs, or the ``labs.mix`` kinds of positive weight), in archetype order."""
    if kinds is not None:
        return tuple(kinds)
    present = ({spec.kind for spec in scenario.labs.list} if scenario.labs.n is None
               else {kind for kind, weight in scenario.labs.mix.items() if weight > 0.0})
    return tuple(k for k in KIND_CODE if k in present and scenario.archetypes.of(k).funding == "investors")


def with_routines(scenario: Scenario, routines: dict[str, dict[str, float]]) -> Scenario:
    """``scenario`` with the archetypes' routine values replaced (each archetype validated: raises
    ``pydantic.ValidationError`` when, e.g., training plus inference passes 1)."""
    update = {kind: Archetype.model_validate({**scenario.archetypes.of(kind).model_dump(), **values})
              for kind, values in routines.items()}
    return scenario.model_copy(update={"archetypes": scenario.archetypes.model_copy(update=update)})


# ---------------------------------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class PayoffTask:
    """Runs ``start .. stop - 1`` of one candidate profile (``label``), scored per archetype in ``kinds``."""

    label: int
    start: int
    stop: int
    seed: int
    scenario: Scenario
    keys: tuple[str, ...]
    draws: np.ndarray  # (stop - start, len(keys)) drawn values of the scenario's [uncertain] keys
    kinds: tuple[str, ...]
    discount_per_year: float
    threads: int


def payoff_chunk(task: PayoffTask) -> tuple[int, int, np.ndarray]:
    """``(label, start, payoffs)``: each run's payoff per archetype (module docstring), ``(runs, kinds)`` USD; a run
    that fails or whose drawn values do not validate is NaN (left out of the pairs)."""
    n = task.stop - task.start
    out = np.full((n, len(task.kinds)), np.nan)
    groups: list[tuple[list[int], Scenario, np.ndarray | None]] = []
    if task.keys:
        builder = RunScenarios(task.scenario, task.keys)
        per_run_init = any(key_route(key) == "init" for key in task.keys)
        rows: list[int] = []
        packed = []
        for j in range(n):
            try:
                run_scenario = builder.scenario(task.draws[j])
            except ValueError:
                continue
            if per_run_init:
                groups.append(([j], run_scenario, None))
            else:
                rows.append(j)
                packed.append(builder.pack(run_scenario))
        if rows:
            groups.append((rows, task.scenario, np.stack(packed)))
    else:
        groups.append((list(range(n)), task.scenario, None))
    with numba_threads(task.threads):
        while groups:
            rows_of, scenario, params = groups.pop(0)
            try:
                sim = Simulation(scenario, [run_root(task.seed, task.start + j) for j in rows_of],
                                 parameter_rows=params, record_labs=False, keep_events=False)
                out[rows_of] = _archetype_payoffs(sim, task.kinds, task.discount_per_year)
            except Exception:
                if len(rows_of) > 1:  # retry one by one: only the runs that themselves fail stay NaN
                    groups[:0] = [([j], scenario, None if params is None else params[[q]])
                                  for q, j in enumerate(rows_of)]
    return task.label, task.start, out


def _archetype_payoffs(sim: Simulation, kinds: Sequence[str], discount_per_year: float) -> np.ndarray:
    """Step ``sim`` to its horizon and return each run's mean payoff over the starting labs of each kind."""
    labs, n0 = sim.labs, sim.n_labs
    dt = sim.par[:, L.P_SIM_DT]
    value = np.zeros((len(sim.roots), n0))
    while sim.steps_done < sim.n_steps:
        before = labs.cash_usd[:, :n0].copy()
        sim.step()
        alive = labs.alive[:, :n0]
        flow = labs.cash_usd[:, :n0] - before - labs.funding_inflow_usd_per_year[:, :n0] * dt[:, None]
        value += np.where(alive, flow, 0.0) * np.exp(-discount_per_year * sim.steps_done * dt)[:, None]
    alive = labs.alive[:, :n0]
    terminal = sim.world.price[:, None] * labs.compute_flop_per_year[:, :n0]
    value += np.where(alive, terminal, 0.0) * np.exp(-discount_per_year * sim.steps_done * dt)[:, None]
    kind = labs.kind[:, :n0]
    out = np.full((len(sim.roots), len(kinds)), np.nan)
    for q, name in enumerate(kinds):
        mine = kind == KIND_CODE[name]
        count = mine.sum(axis=1)
        out[:, q] = np.where(count > 0, np.where(mine, value, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan)
    return out


# ---------------------------------------------------------------------------------------------- the search
Profile = tuple[tuple[str, tuple[tuple[str, float], ...]], ...]


def _key(routines: dict[str, dict[str, float]]) -> Profile:
    return tuple((kind, tuple(sorted(values.items()))) for kind, values in sorted(routines.items()))


def reoptimise_routines(scenario: Scenario, *, seed: int, execution: Execution,
                        options: ReoptimiseOptions = ReoptimiseOptions()) -> Reoptimisation:
    """Iterated best response of the archetypes' routines in ``scenario`` (module docstring).

    ``execution`` computes the candidates' runs (:meth:`Execution.map`; one cluster serves the whole search; a
    candidate's runs go in two tasks unless ``execution.chunk`` is set) and is told the progress as
    ``progress(runs done, runs at most)``.  Raises :class:`ExperimentInputError` for bad options (before anything
    runs).
    """
    options.check()
    kinds = reoptimised_archetypes(scenario, options.kinds)
    start = {kind: {var: float(getattr(scenario.archetypes.of(kind), var)) for var in options.variables}
             for kind in kinds}
    result = Reoptimisation(routines={k: dict(v) for k, v in start.items()}, start=start, runs=options.runs)
    if not kinds:
        result.converged = True
        return result
    plan = UncertainPlan.from_scenario(scenario)
    keys = plan.keys
    design = plan.design(options.runs, seed) if keys else np.empty((options.runs, 0))
    # two tasks per candidate (unless --chunk says otherwise): a coordinate's two new candidates keep two workers busy,
    # and each task steps its runs as one batch (small batches spend their time in the per-step overhead)
    chunk = execution.chunk if execution.chunk is not None else max(1, math.ceil(options.runs / 2))
    cache: dict[Profile, np.ndarray] = {}
    total = options.rounds * len(kinds) * len(options.variables) * 2 * options.runs + options.runs
    done = [0]

    def score(profiles: list[dict[str, dict[str, float]]], shared: Execution) -> None:
        todo = [p for p in dict((_key(p), p) for p in profiles).values() if _key(p) not in cache]
        if not todo:
            return
        results = {k: np.full((options.runs, len(kinds)), np.nan) for k in range(len(todo))}
        tasks = [PayoffTask(k, s, min(options.runs, s + chunk), seed, with_routines(scenario, p), keys,
                            design[s:min(options.runs, s + chunk)], kinds, options.discount_per_year,
                            execution.n_threads)
                 for k, p in enumerate(todo) for s in range(0, options.runs, chunk)]

        def on_result(report: tuple[int, int, np.ndarray]) -> None:
            label, first, payoffs = report
            results[label][first:first + len(payoffs)] = payoffs
            done[0] += len(payoffs)
            execution.report(min(done[0], total), total)

        shared.map(payoff_chunk, tasks, on_result, n_tasks=len(tasks), warm_up=lambda: warm_up(scenario),
                   retry_hint="")
        for k, p in enumerate(todo):
            cache[_key(p)] = results[k]
        result.candidates += len(todo)

    with execution.shared() as shared:
        for round_no in range(1, options.rounds + 1):
            moved = False
            for q, kind in enumerate(kinds):
                for var in options.variables:
                    current = result.routines[kind][var]
                    profiles = []
                    for value in grid_values(var, current, options.step, options.ratio):
                        profile = {k: dict(v) for k, v in result.routines.items()}
                        profile[kind][var] = value
                        try:
                            with_routines(scenario, profile)
                        except ValueError:  # e.g. training plus inference above 1: not a candidate
                            continue
                        profiles.append(profile)
                    score(profiles, shared)
                    base = cache[_key(result.routines)][:, q]
                    rows = []
                    for profile in profiles:
                        cand = cache[_key(profile)][:, q]
                        both = np.isfinite(cand) & np.isfinite(base)
                        diff = cand[both] - base[both]
                        n = int(both.sum())
                        se = float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
                        rows.append({"round": round_no, "archetype": kind, "variable": var,
                                     "value": profile[kind][var], "current": current,
                                     "payoff_usd": float(np.nanmean(cand)) if np.isfinite(cand).any() else None,
                                     "gain_usd": float(diff.mean()) if n else 0.0, "se_usd": se, "pairs": n,
                                     "chosen": False})
                    best = max(rows, key=lambda r: r["gain_usd"])
                    if best["value"] != current and best["gain_usd"] > MOVE_Z * best["se_usd"]:
                        result.routines[kind][var] = best["value"]
                        moved = True
                    else:
                        best = next(r for r in rows if r["value"] == current)
                    best["chosen"] = True
                    result.rounds.extend(rows)
            result.rounds_run = round_no
            if not moved:
                result.converged = True
                break
    execution.report(total, total)
    return result
