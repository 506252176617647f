"""Drive the model from the EMA workbench (exploratory modelling and scenario discovery; docs/sensitivity.md).

:func:`ema_model` builds an ``ema_workbench`` model whose

- **uncertainties** are the default contested parameters of :func:`runs.experiments.sensitivity.default_factors`
  and the scenario's ``[uncertain]`` keys, the table's distribution for a key in both
  (:func:`runs.experiments.sensitivity.factors_for`); each is a ``RealParameter`` whose sampling distribution
  is the factor's own (the same inverse CDF the ensembles use, :func:`runs.experiments.uncertain.ppf`), so EMA's
  Latin hypercube draws what an ensemble would;
- **levers** are the policy list and, optionally, scenario parameters: with ``policy_files`` (e.g.
  :func:`default_policy_files`, every ``runs/policies/*.toml``) a ``CategoricalParameter`` named
  :data:`POLICY_LEVER` chooses the arm, ``"none"`` (the scenario as given) or a file's name; that arm's scenario
  is the scenario with the file's ``[[policies]]`` tables appended
  (:func:`runs.experiments.compare.arm_scenario`, validated once per arm when the model is built).  Numeric
  levers are a documented subset of scenario parameters given like the uncertainties.  Without either there
  are no levers;
- **outcomes** are the per-run outcomes of :data:`runs.experiments.sensitivity.RUN_OUTCOMES` (the engine's
  summary), each a ``ScalarOutcome``; ``unipolar`` is 0/1, censored takeoff and singularity times are filled
  as documented there.

Each experiment applies its uncertainty (and numeric lever) values to its arm's scenario, validates it (a value
combination the schema refuses gives NaN outcomes, never an exception) and simulates one run; :func:`perform`
runs every arm on every uncertainty sample when the policy lever is the only lever.  Randomness: with
``replications=1`` every experiment uses the same root seed (common random numbers: differences between
experiments come from the parameters and the arm alone); with ``replications=k`` each experiment is run for seeds
``seed .. seed + k - 1`` (an EMA ``ReplicatorModel``) and every outcome is the mean over those seeds (for
``unipolar``: the share of seeds that end unipolar).

:func:`perform` evaluates the experiments through the package's :class:`~runs.experiments.execution.Execution`
(in this process by default, or on Dask in chunks), as EMA's own evaluators would: the evaluator is one object
passed to ``perform_experiments``, and the results do not depend on where an experiment ran.

The workbench is imported lazily, with its import-time warning about the optional ipyparallel backend silenced.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from economy.engine import Simulation
from economy.params import (
    Distribution,
    PolicyFile,
    Scenario,
    ScenarioError,
    check_support,
    load_policy_file,
    uncertain_parameter_range,
)
from runs.experiments.compare import arm_scenario
from runs.experiments.execution import Execution
from runs.experiments.sensitivity import RUN_OUTCOMES, Factor, factors_for, outcome_value
from runs.experiments.uncertain import RunScenarios, ppf

__all__ = ["DEFAULT_OUTCOMES", "NO_POLICY", "POLICY_LEVER", "POLICY_VARIABLE", "ScenarioRunner",
           "default_policy_files", "ema_model", "ema_names", "execution_evaluator", "experiment_frame", "frozen",
           "perform", "policy_arms", "quiet_import", "select_dense_box"]

DEFAULT_OUTCOMES: tuple[str, ...] = tuple(RUN_OUTCOMES)
NO_POLICY = "none"
"""The arm that runs the scenario as given (with its own ``[[policies]]``, if any)."""
POLICY_LEVER = "policy_arm"
"""EMA name of the categorical policy lever (its experiments column).  Not ``policy``: EMA's experiments table
already has a ``policy`` column (the lever sample's name; :func:`perform` names each sample after its arm)."""
POLICY_VARIABLE = "policy"
"""The keyword under which the model function receives the chosen arm."""
POLICY_DIR = Path(__file__).resolve().parents[1] / "policies"


@contextlib.contextmanager
def quiet_import() -> Iterator[None]:
    """Silence ema_workbench's import-time UserWarning about ipyparallel (an optional backend we do not use)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ipyparallel not installed", category=UserWarning)
        yield


class ScenarioQuantile(stats.rv_continuous):
    """A scipy distribution whose quantile function is a scenario distribution's
    (:func:`runs.experiments.uncertain.ppf`).

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
    """The model function EMA calls: ``runner(**{key: value, ..., "policy": arm, "seed": s}) -> {outcome: float}``.

    ``arms`` (from :func:`policy_arms`) maps each arm name to its validated scenario; the runner then needs a
    ``policy`` value naming one of them, and applies the keys' values to that arm's scenario.  Without ``arms``
    every experiment starts from ``scenario``.  Picklable (scenarios and plain settings; the per-arm scenario
    builders are rebuilt after unpickling), so it also works with EMA's multiprocessing evaluator.
    """

    def __init__(self, scenario: Scenario, keys: Sequence[str], outcomes: Sequence[str], seed: int = 0,
                 arms: Mapping[str, Scenario] | None = None) -> None:
        self.scenario = scenario
        self.keys = tuple(keys)
        self.outcomes = tuple(outcomes)
        self.seed = seed
        self.arms = dict(arms) if arms is not None else None
        self._builders: dict[str | None, RunScenarios] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_builders"] = {}
        return state

    def arm(self, name: str | None) -> Scenario:
        """The scenario of arm ``name`` (``None``: the runner has no arms); raises ``ValueError`` if unknown."""
        if self.arms is None:
            if name is not None:
                raise ValueError(f"policy {name!r} given, but this model has no policy lever (build it with "
                                 "ema_model(..., policy_files=...))")
            return self.scenario
        if name not in self.arms:
            raise ValueError(f"unknown policy {name!r}; the arms are {', '.join(self.arms)}")
        return self.arms[name]

    def __call__(self, **kwargs: Any) -> dict[str, float]:
        seed = int(kwargs.pop("seed", self.seed))
        arm = kwargs.pop(POLICY_VARIABLE, None)
        missing = [k for k in self.keys if k not in kwargs]
        if self.arms is not None and arm is None:
            missing.append(POLICY_VARIABLE)
        if missing:
            raise KeyError(f"the experiment gives no value for {', '.join(missing)}")
        name = None if arm is None else str(arm)
        scenario = self.arm(name)
        try:
            if self.keys:
                if name not in self._builders:
                    self._builders[name] = RunScenarios(scenario, self.keys)
                scenario = self._builders[name].scenario([float(kwargs[k]) for k in self.keys])
        except ScenarioError:
            return {name: math.nan for name in self.outcomes}
        summary = Simulation(scenario, [seed], record_labs=False, keep_events=False).run().summary(0)
        return {name: outcome_value(summary, name, scenario) for name in self.outcomes}


def default_policy_files() -> list[Path]:
    """The policy list: every ``runs/policies/*.toml`` (one file per policy kind), sorted by file name."""
    return sorted(POLICY_DIR.glob("*.toml"))


def policy_arms(scenario: Scenario, policy_files: Sequence[str | Path | PolicyFile]) -> dict[str, Scenario]:
    """``{"none": scenario, <arm name>: scenario with that file's policies appended, ...}`` in the files' order.

    Each arm is validated here (:func:`runs.experiments.compare.arm_scenario`): a malformed file, or one whose policies
    clash with the scenario's own (a kind given twice), raises :class:`economy.params.ScenarioError`; two files
    with the same arm name, or a file named ``"none"``, raise ``ValueError``.
    """
    arms: dict[str, Scenario] = {NO_POLICY: scenario}
    sources: dict[str, str] = {NO_POLICY: "the scenario as given"}
    data = scenario.model_dump(mode="python")
    for item in policy_files:
        policy = item if isinstance(item, PolicyFile) else load_policy_file(item)
        if policy.name in arms:
            raise ValueError(f"policy file {policy.path}: arm name {policy.name!r} is already used by "
                             f"{sources[policy.name]}; give the file another name = \"...\"")
        arms[policy.name] = arm_scenario(data, (), policy, f"scenario {scenario.name!r}")
        sources[policy.name] = str(policy.path)
    return arms


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
    policy_files: Sequence[str | Path | PolicyFile] | None = None,
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    seed: int = 0,
    replications: int = 1,
    name: str = "multipolar",
) -> Any:
    """An ``ema_workbench`` model of ``scenario`` (see the module docs for what each part is).

    Parameters
    ----------
    uncertainties
        Default: :func:`runs.experiments.sensitivity.factors_for` (the contested defaults and the ``[uncertain]``
        keys, the table's distribution for a key in both).
    levers
        Scenario parameters to treat as numeric levers, with the distribution EMA samples them from.
    policy_files
        The policy list (e.g. :func:`default_policy_files`): adds the categorical lever :data:`POLICY_LEVER`
        over ``"none"`` and the files' arm names (:func:`policy_arms`; a clash with the scenario's own
        policies raises here).  Default: no policy lever.
    outcomes
        Names in :data:`runs.experiments.sensitivity.RUN_OUTCOMES`.
    seed, replications
        Root seed of every experiment (``replications=1``) or the first of ``replications`` seeds.
    """
    with quiet_import():
        from ema_workbench import CategoricalParameter, Constant, Model, RealParameter, ReplicatorModel, ScalarOutcome

    unknown = [o for o in outcomes if o not in RUN_OUTCOMES]
    if unknown:
        raise ValueError(f"unknown outcome(s) {', '.join(unknown)}; known: {', '.join(RUN_OUTCOMES)}")
    if replications < 1:
        raise ValueError(f"replications {replications}: need at least 1")
    factors = _checked(scenario, uncertainties if uncertainties is not None else factors_for(scenario))
    lever_factors = _checked(scenario, levers)
    keys = [f.key for f in factors] + [f.key for f in lever_factors]
    if len(set(keys)) != len(keys):
        raise ValueError(f"a parameter is both an uncertainty and a lever, or given twice: {', '.join(keys)}")
    if policy_files is not None and not policy_files:
        raise ValueError("policy_files is empty: give at least one policy file, e.g. default_policy_files()")
    arms = policy_arms(scenario, policy_files) if policy_files is not None else None
    runner = ScenarioRunner(scenario, keys, outcomes, seed, arms)
    if replications == 1:
        model = Model(name, function=runner)
        model.constants = [Constant("seed", seed)]
    else:
        model = ReplicatorModel(name, function=runner)
        model.replications = [{"seed": seed + k} for k in range(replications)]
    names = ema_names(keys)
    if arms is not None and POLICY_LEVER in names.values():
        raise ValueError(f"a parameter's EMA name is {POLICY_LEVER!r}, the name of the policy lever")

    def parameter(f: Factor) -> Any:
        return RealParameter.from_dist(names[f.key], frozen(f.distribution, f.key), variable_name=f.key)

    model.uncertainties = [parameter(f) for f in factors]
    model.levers = [parameter(f) for f in lever_factors]
    if arms is not None:
        model.levers = [*model.levers,
                        CategoricalParameter(POLICY_LEVER, list(arms), variable_name=POLICY_VARIABLE)]
    if replications == 1:
        model.outcomes = [ScalarOutcome(o) for o in outcomes]
    else:  # the mean over the replications' seeds (for unipolar: the share of seeds ending unipolar)
        model.outcomes = [ScalarOutcome(o, function=_mean) for o in outcomes]
    return model


def _generator(seed: int, tag: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, tag])))


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(np.asarray(values, dtype=np.float64)))


def perform(model: Any, scenarios: int, *, policies: int | None = None, seed: int = 0,
            execution: Execution | None = None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Run ``scenarios`` Latin-hypercube experiments (times ``policies`` lever samples, default 4).

    When the policy lever is the model's only lever and ``policies`` is None, every arm is run on every
    uncertainty sample instead (``scenarios x arms`` experiments; EMA's ``policy`` column holds the arm's
    name), with the same seed: the arms differ by their policies alone.

    The designs are drawn from generators of ``SeedSequence([seed, 1])`` (uncertainties) and ``[seed, 2]``
    (levers), so the experiments are reproducible.  ``execution`` says where they run (default: in this
    process, one after the other; with workers, in chunks of ``execution.chunk`` experiments).
    """
    with quiet_import():
        from ema_workbench.em_framework.points import Sample

    kwargs: dict[str, Any] = {"uncertainty_sampling_kwargs": {"rng": _generator(seed, 1)}}
    levers = list(model.levers)
    lever_samples: int | list[Any]
    if policies is None and [lever.name for lever in levers] == [POLICY_LEVER]:
        arms = [category.value for category in levers[0].categories]
        lever_samples = [Sample(name=arm, **{POLICY_LEVER: arm}) for arm in arms]
    elif levers:
        lever_samples = policies if policies is not None else 4
        kwargs["lever_sampling_kwargs"] = {"rng": _generator(seed, 2)}
    else:
        lever_samples = 0
    with execution_evaluator(model, execution or Execution(workers=1)) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(
            scenarios=scenarios, policies=lever_samples, log_progress=True, **kwargs)
    return experiments, outcomes


def execution_evaluator(model: Any, execution: Execution) -> Any:
    """An EMA evaluator (``ema_workbench``'s ``BaseEvaluator``) that runs experiments through ``execution``.

    Experiments go in chunks of ``execution.chunk_size(n)`` to :meth:`Execution.map`, each chunk evaluated by
    EMA's own ``ExperimentRunner`` (:func:`_run_experiments`), and EMA's callback records every result in the
    driver, so the experiments table and outcomes are those of EMA's sequential evaluator.
    """
    with quiet_import():
        from ema_workbench.em_framework.evaluators import BaseEvaluator

    class ExecutionEvaluator(BaseEvaluator):
        def initialize(self) -> None:
            """Nothing to set up: the execution starts its workers for each call."""

        def finalize(self) -> None:
            """Nothing to tear down."""

        def evaluate_experiments(self, experiments: Any, callback: Any, **_kwargs: Any) -> None:
            todo = list(experiments)
            size = execution.chunk_size(len(todo))
            tasks = [(self._msis, todo[start:start + size]) for start in range(0, len(todo), size)]

            def record(results: list[tuple[Any, dict[str, Any]]]) -> None:
                for experiment, outcomes in results:
                    callback(experiment, outcomes)

            execution.map(_run_experiments, tasks, record, n_tasks=len(tasks))

    return ExecutionEvaluator(model)


def _run_experiments(task: tuple[list[Any], list[Any]]) -> list[tuple[Any, dict[str, Any]]]:
    """Evaluate a chunk of EMA experiments on their models (in whichever process the execution chose)."""
    with quiet_import():
        from ema_workbench.em_framework.experiment_runner import ExperimentRunner

    models, experiments = task
    cwd = os.getcwd()
    runner = ExperimentRunner(models)
    try:  # a model hands back its own outcomes dict, refilled by its next run: keep a copy of each
        return [(experiment, copy.deepcopy(runner.run_experiment(experiment))) for experiment in experiments]
    finally:
        runner.cleanup()
        os.chdir(cwd)


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
