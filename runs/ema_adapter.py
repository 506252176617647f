"""Drive the model from the EMA workbench (exploratory modelling and scenario discovery; docs/sensitivity.md).

:func:`ema_model` builds an ``ema_workbench`` model whose

- **uncertainties** are the scenario's ``[uncertain]`` table, or the default contested parameters of
  :func:`runs.sensitivity.default_factors`; each is a ``RealParameter`` whose sampling distribution is the
  factor's own (the same inverse CDF the ensembles use, :func:`runs.uncertain.ppf`), so EMA's Latin hypercube
  draws what an ensemble would;
- **levers** are an optional, documented subset of scenario parameters given the same way (policies are a
  later stage of the model; until then levers default to none);
- **outcomes** are the per-run outcomes of :data:`runs.sensitivity.OUTCOMES` (the engine's summary), each a
  ``ScalarOutcome``; ``unipolar`` is 0/1, censored takeoff and singularity times are filled as documented there.

Each experiment validates its scenario (a value combination the schema refuses gives NaN outcomes, never an
exception) and simulates one run.  Randomness: with ``replications=1`` every experiment uses the same root seed
(common random numbers: differences between experiments come from the parameters alone); with
``replications=k`` each experiment is run for seeds ``seed .. seed + k - 1`` (an EMA ``ReplicatorModel``) and
every outcome is the mean over those seeds (for ``unipolar``: the share of seeds that end unipolar).

The workbench is imported lazily, with its import-time warning about the optional ipyparallel backend silenced.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from economy.engine import Simulation
from economy.params import Distribution, Scenario, check_support, uncertain_parameter_range
from runs.scenario import ScenarioError
from runs.sensitivity import OUTCOMES, Factor, factors_for, outcome_value
from runs.uncertain import RunScenarios, ppf

__all__ = ["DEFAULT_OUTCOMES", "ScenarioRunner", "ema_model", "ema_names", "experiment_frame", "perform",
           "quiet_import", "select_dense_box"]

DEFAULT_OUTCOMES: tuple[str, ...] = tuple(OUTCOMES)


@contextlib.contextmanager
def quiet_import() -> Iterator[None]:
    """Silence ema_workbench's import-time UserWarning about ipyparallel (an optional backend we do not use)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ipyparallel not installed", category=UserWarning)
        yield


class ScenarioQuantile(stats.rv_continuous):
    """A scipy distribution whose quantile function is a scenario distribution's (:func:`runs.uncertain.ppf`).

    The scenario distribution rides in the constructor parameters so that scipy's freezing, copying and
    pickling (EMA's multiprocessing evaluator pickles the model) keep it.
    """

    def __init__(self, spec: Distribution | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def _updated_ctor_param(self) -> dict[str, Any]:
        params = super()._updated_ctor_param()
        params["spec"] = self.spec
        return params

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        return ppf(self.spec, q)


def frozen(dist: Distribution, name: str) -> Any:
    """A frozen scipy distribution with ``dist``'s support and quantile function."""
    lo, hi, _, _ = dist.support()
    return ScenarioQuantile(spec=dist, a=lo, b=hi, name=name.replace(".", "_"))()


class ScenarioRunner:
    """The model function EMA calls: ``runner(**{key: value, ..., "seed": s}) -> {outcome: float}``.

    Picklable (a scenario and plain settings), so it also works with EMA's multiprocessing evaluator.
    """

    def __init__(self, scenario: Scenario, keys: Sequence[str], outcomes: Sequence[str], seed: int = 0) -> None:
        self.scenario = scenario
        self.keys = tuple(keys)
        self.outcomes = tuple(outcomes)
        self.seed = seed
        self._builder: RunScenarios | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_builder"] = None
        return state

    def __call__(self, **kwargs: Any) -> dict[str, float]:
        seed = int(kwargs.pop("seed", self.seed))
        missing = [k for k in self.keys if k not in kwargs]
        if missing:
            raise KeyError(f"the experiment gives no value for {', '.join(missing)}")
        if self._builder is None:
            self._builder = RunScenarios(self.scenario, self.keys)
        try:
            scenario = self._builder.scenario([float(kwargs[k]) for k in self.keys]) if self.keys else self.scenario
        except ScenarioError:
            return {name: math.nan for name in self.outcomes}
        summary = Simulation(scenario, [seed], record_labs=False).run().summary(0)
        return {name: outcome_value(summary, name, scenario) for name in self.outcomes}


def ema_names(keys: Sequence[str]) -> dict[str, str]:
    """EMA names (Python identifiers) for dotted scenario keys: the last part when unique, else section_last.

    ``research.returns_to_research`` is ``returns_to_research``; the model function still receives the dotted
    key (the parameter's ``variable_name``).
    """
    last = [key.rsplit(".", 1)[-1] for key in keys]
    out = {}
    for key, short in zip(keys, last, strict=True):
        name = short if last.count(short) == 1 else key.replace(".", "_")
        out[key] = name if name.isidentifier() else "p_" + "".join(c if c.isalnum() else "_" for c in name)
    if len(set(out.values())) != len(out):
        raise ValueError(f"keys {', '.join(keys)} do not have distinct EMA names")
    return out


def _checked(scenario: Scenario, factors: Sequence[Factor]) -> tuple[Factor, ...]:
    for factor in factors:
        check_support(factor.key, factor.distribution, uncertain_parameter_range(scenario, factor.key))
    return tuple(factors)


def ema_model(
    scenario: Scenario,
    *,
    uncertainties: Sequence[Factor] | None = None,
    levers: Sequence[Factor] = (),
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    seed: int = 0,
    replications: int = 1,
    name: str = "multipolar",
) -> Any:
    """An ``ema_workbench`` model of ``scenario`` (see the module docs for what each part is).

    Parameters
    ----------
    uncertainties
        Default: :func:`runs.sensitivity.factors_for` (the ``[uncertain]`` table or the contested defaults).
    levers
        Scenario parameters to treat as policy levers, with the distribution EMA samples them from.
    outcomes
        Names in :data:`runs.sensitivity.OUTCOMES`.
    seed, replications
        Root seed of every experiment (``replications=1``) or the first of ``replications`` seeds.
    """
    with quiet_import():
        from ema_workbench import Constant, Model, RealParameter, ReplicatorModel, ScalarOutcome

    unknown = [o for o in outcomes if o not in OUTCOMES]
    if unknown:
        raise ValueError(f"unknown outcome(s) {', '.join(unknown)}; known: {', '.join(OUTCOMES)}")
    if replications < 1:
        raise ValueError(f"replications {replications}: need at least 1")
    factors = _checked(scenario, uncertainties if uncertainties is not None else factors_for(scenario))
    lever_factors = _checked(scenario, levers)
    keys = [f.key for f in factors] + [f.key for f in lever_factors]
    if len(set(keys)) != len(keys):
        raise ValueError(f"a parameter is both an uncertainty and a lever, or given twice: {', '.join(keys)}")
    runner = ScenarioRunner(scenario, keys, outcomes, seed)
    if replications == 1:
        model = Model(name, function=runner)
        model.constants = [Constant("seed", seed)]
    else:
        model = ReplicatorModel(name, function=runner)
        model.replications = [{"seed": seed + k} for k in range(replications)]
    names = ema_names(keys)

    def parameter(f: Factor) -> Any:
        return RealParameter.from_dist(names[f.key], frozen(f.distribution, f.key), variable_name=f.key)

    model.uncertainties = [parameter(f) for f in factors]
    model.levers = [parameter(f) for f in lever_factors]
    if replications == 1:
        model.outcomes = [ScalarOutcome(o) for o in outcomes]
    else:  # the mean over the replications' seeds (for unipolar: the share of seeds ending unipolar)
        model.outcomes = [ScalarOutcome(o, function=_mean) for o in outcomes]
    return model


def _generator(seed: int, tag: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, tag])))


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(np.asarray(values, dtype=np.float64)))


def perform(model: Any, scenarios: int, *, policies: int | None = None,
            seed: int = 0) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Run ``scenarios`` Latin-hypercube experiments (times ``policies`` lever samples, default 4) sequentially.

    The designs are drawn from generators of ``SeedSequence([seed, 1])`` (uncertainties) and ``[seed, 2]``
    (levers), so the experiments are reproducible.
    """
    with quiet_import():
        from ema_workbench import SequentialEvaluator

    kwargs: dict[str, Any] = {"uncertainty_sampling_kwargs": {"rng": _generator(seed, 1)}}
    n_policies = policies if policies is not None else 4
    if model.levers:
        kwargs["lever_sampling_kwargs"] = {"rng": _generator(seed, 2)}
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(
            scenarios=scenarios, policies=n_policies if model.levers else 0, log_progress=True, **kwargs)
    return experiments, outcomes


def experiment_frame(experiments: pd.DataFrame, outcomes: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Experiments and outcomes side by side, one row per experiment."""
    frame = experiments.copy()
    for name, values in outcomes.items():
        values = np.asarray(values, dtype=np.float64)
        frame[name] = values.mean(axis=1) if values.ndim == 2 else values
    return frame


def select_dense_box(box: Any, min_density: float = 0.8) -> int:
    """Select, on a PRIM box's peeling trajectory, the box of largest coverage whose density is at least
    ``min_density`` (the usual scenario-discovery choice); returns its index.  Falls back to the densest box."""
    trajectory = box.peeling_trajectory
    dense = trajectory[trajectory["density"] >= min_density]
    index = int(dense["coverage"].idxmax()) if len(dense) else int(trajectory["density"].idxmax())
    box.select(index)
    return index
