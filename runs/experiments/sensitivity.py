"""Global sensitivity analysis (Sobol' or Morris, with SALib) on the ensemble machinery (docs/sensitivity.md).

Factors are :func:`default_factors` (the contested parameters of docs/model.md, "The essays' claims and the switch
for each", with documented ranges) and the scenario's ``[uncertain]`` keys, a key in both taking the table's
distribution (:func:`factors_for`).  SALib
draws the design in the unit cube; each column is mapped through its factor's inverse CDF
(:func:`runs.experiments.uncertain.ppf`, the same mapping the ensembles use), so the indices decompose the
output variance over the factors' own distributions.  Those indices are defined for independent factors, so a
scenario's ``[[uncertain.correlations]]`` are not applied here: each factor is drawn from its own marginal, and the
summary says so (``correlations_not_applied``); ensembles and calibration do apply them.

Design point ``i`` is run ``i`` of an ensemble with root seed ``N``: root ``SeedSequence(N, spawn_key=(i,))``,
simulated in chunks by :func:`runs.experiments.chunk.simulate_chunk` (validation per run, batched rows,
failures recorded per run), wherever the :class:`~runs.experiments.execution.Execution` says.  Every design
point has its own seed, so seed-to-seed noise is part of the output variance.  A **dummy factor** that the model
never reads is added to the design: its estimated indices measure that noise plus the estimator's error, the
threshold below which a factor's index is indistinguishable from zero (Khorashadi Zadeh et al. 2017).

:func:`sensitivity_analysis` is the whole method for any ``evaluate(values) -> {output: array}``; the model is
one evaluator (:class:`ModelEvaluator`), the Ishigami test function another
(tests/runs/experiments/test_sensitivity.py).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from economy.params import (
    Distribution,
    LogUniform,
    Scenario,
    Uniform,
    check_support,
    uncertain_parameter_range,
)
from runs.experiments.chunk import ChunkTask, chunk_runs_table, warm_up
from runs.experiments.execution import DEFAULT_CHUNK, Execution
from runs.experiments.outputs import OutputFolder, finite_or_none
from runs.experiments.result import ExperimentInputError, ExperimentResult, draw
from runs.experiments.setup import Setup
from runs.experiments.uncertain import key_route, ppf

__all__ = [
    "DUMMY",
    "METHODS",
    "RUN_OUTCOMES",
    "Factor",
    "ModelEvaluator",
    "RunOutcome",
    "SensitivityResult",
    "check_design",
    "default_factors",
    "factors_for",
    "outcome_array",
    "outcome_value",
    "round_up_power_of_two",
    "run_sensitivity",
    "sensitivity_analysis",
]

Method = Literal["sobol", "morris"]
METHODS: tuple[str, ...] = ("sobol", "morris")
DUMMY = "dummy"
"""Name of the factor the model never reads (the noise and estimator threshold)."""


# ---------------------------------------------------------------------------------------------- factors


@dataclass(frozen=True)
class Factor:
    """One uncertain input: a dotted scenario key (or any name, for a test function) and its distribution."""

    key: str
    distribution: Distribution
    note: str = ""


_DEFAULTS: tuple[tuple[str, Distribution, str], ...] = (
    ("research.returns_to_research", LogUniform(dist="loguniform", low=0.4, high=3.6),
     "Davidson & Houlden 2025 prior 0.4-3.6, geometric midpoint 1.2"),
    ("research.parallelism", Uniform(dist="uniform", low=0.2, high=0.8), "Davidson & Houlden 2025 prior 0.2-0.8"),
    ("research.substitution", LogUniform(dist="loguniform", low=0.2, high=5.0),
     "assumption: strong complements to strong substitutes"),
    ("research.max_automation", Uniform(dist="uniform", low=0.5, high=1.0), "assumption: the feedback bottleneck"),
    ("research.experiment_share", Uniform(dist="uniform", low=0.0, high=0.6),
     "assumption: experiment compute bottleneck"),
    ("research.automation_midpoint_log10_flop", Uniform(dist="uniform", low=28.0, high=32.0),
     "assumption: cf. Davidson 2023"),
    ("training.run_years", Uniform(dist="uniform", low=0.2, high=0.8), "estimate: runs of 3-6 months, lengthening"),
    ("training.data_wall_efficiency", Uniform(dist="uniform", low=0.2, high=0.8), "assumption"),
    ("market.winner_take_all", Uniform(dist="uniform", low=2.0, high=40.0),
     "assumption: gamma x alpha 0.1-2 spans Arthur's lock-in threshold 1"),
    ("market.data_flywheel", Uniform(dist="uniform", low=0.0, high=0.3), "assumption"),
    ("market.switching_years", LogUniform(dist="loguniform", low=0.25, high=4.0), "assumption: customer inertia"),
)
_ENTRY_DEFAULTS: tuple[tuple[str, Distribution, str], ...] = (
    ("entry.rate_per_year", Uniform(dist="uniform", low=0.0, high=2.0),
     "assumption: about one notable new model developer a year"),
)
_NETWORK_DEFAULTS: tuple[tuple[str, Distribution, str], ...] = (
    ("network.publication_rate_per_year", Uniform(dist="uniform", low=0.0, high=3.0), "assumption"),
    ("network.distill_fraction", Uniform(dist="uniform", low=0.0, high=0.1), "assumption"),
)


def default_factors(scenario: Scenario) -> tuple[Factor, ...]:
    """The contested parameters (the switch table of docs/model.md) with documented ranges inside their valid ranges.

    The spillover parameters are included only when the scenario has a network (``network.kind`` not "none"):
    otherwise the model never reads them; the entry rate only where the schema has an entry process.
    """
    table = _DEFAULTS + (_ENTRY_DEFAULTS if "entry" in type(scenario).model_fields else ())
    table += _NETWORK_DEFAULTS if scenario.network.kind != "none" else ()
    factors = []
    for key, dist, note in table:
        check_support(key, dist, uncertain_parameter_range(scenario, key))
        factors.append(Factor(key, dist, note))
    return tuple(factors)


def factors_for(scenario: Scenario) -> tuple[Factor, ...]:
    """:func:`default_factors` and the scenario's ``[uncertain]`` keys (after them, in the table's order).

    A key in both takes the table's distribution: the table is what the scenario knows about that parameter (the
    baseline's gamma is the hindcast's posterior), while the other contested parameters stay in the analysis, so a
    table of one or two keys does not hide the rest of the model's sensitivity.
    """
    table = {key: Factor(key, dist, "scenario [uncertain]") for key, dist in scenario.uncertain.items()}
    factors = [table.pop(factor.key, factor) for factor in default_factors(scenario)]
    return (*factors, *table.values())


def describe(dist: Distribution) -> str:
    """A one-line description of a distribution, e.g. ``uniform [0.2, 0.8]``."""
    fields = dist.model_dump(exclude={"dist"}, exclude_none=True)
    return f"{dist.dist} " + ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items())


# ---------------------------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class RunOutcome:
    """A per-run outcome (a key of ``Simulation.summary``) as a number; ``censor`` says how a null is filled."""

    name: str
    description: str
    censor: Literal["horizon", "end_year"] | None = None


RUN_OUTCOMES: dict[str, RunOutcome] = {o.name: o for o in (
    RunOutcome("final_hhi", "HHI of the inside market at the horizon (0-10,000)"),
    RunOutcome("leader_share", "the leader's inside-market share at the horizon"),
    RunOutcome("effective_labs", "10,000 / HHI at the horizon"),
    RunOutcome("top4_share", "top-4 inside-market share at the horizon"),
    RunOutcome("unipolar", "1 if the leader's share > 0.5 or HHI > 5,000 at the horizon, else 0"),
    RunOutcome("n_alive", "labs alive at the horizon"),
    RunOutcome("n_exits", "labs that exited"),
    RunOutcome("takeoff_years", "years from par-human to superhuman frontier; not completed: the horizon length",
            censor="horizon"),
    RunOutcome("singularity_year", "first year a lab went singular; none: the end year", censor="end_year"),
    RunOutcome("frontier_quality", "frontier quality u at the horizon"),
    RunOutcome("frontier_log10_eff_compute", "log10 effective compute of the frontier model at the horizon"),
    RunOutcome("leader_gap_ooms", "leader's lead over the runner-up in OOMs of effective compute"),
    RunOutcome("consumer_value", "cumulative consumer value (USD x utils)"),
)}


def outcome_value(summary: Mapping[str, Any], name: str, scenario: Scenario) -> float:
    """One run's outcome as a float (NaN if undefined and not censored)."""
    spec = RUN_OUTCOMES[name]
    value = summary.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if spec.censor == "horizon":
            return float(scenario.sim.years)
        if spec.censor == "end_year":
            return float(scenario.sim.start_year + scenario.sim.years)
        return math.nan
    return float(value)


def outcome_array(table: pd.DataFrame, name: str, scenario: Scenario) -> np.ndarray:
    """An outcome column of a runs table as floats; failed runs (status not ok) are NaN."""
    ok = (table["status"] == "ok").to_numpy() if "status" in table else np.ones(len(table), bool)
    values = [outcome_value(row, name, scenario) if good else math.nan
              for row, good in zip(table.to_dict("records"), ok, strict=True)]
    return np.asarray(values, dtype=np.float64)


# ---------------------------------------------------------------------------------------------- the method


def round_up_power_of_two(n: int) -> int:
    return 1 << max(0, (int(n) - 1).bit_length())


def _problem(names: Sequence[str]) -> dict[str, Any]:
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def _sub_seed(seed: int, tag: int) -> int:
    """A positive integer seed for SALib derived from the root seed (SALib treats seed 0 as 'unseeded')."""
    return int(np.random.SeedSequence([seed, tag]).generate_state(1)[0]) + 1


def design(method: Method, n_factors: int, samples: int, seed: int, levels: int = 4) -> np.ndarray:
    """The SALib design in the unit cube: Saltelli/Sobol' (N (d + 2) rows) or Morris (N (d + 1) rows)."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    problem = _problem([f"x{j}" for j in range(n_factors)])
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 1])))
    if method == "sobol":
        u = sobol_sample.sample(problem, samples, calc_second_order=False, scramble=True, seed=rng)
    elif method == "morris":
        u = morris_sample.sample(problem, samples, num_levels=levels, seed=rng)
    else:
        raise ExperimentInputError(f"--method {method!r}: choose one of {', '.join(METHODS)}")
    return np.clip(u, 0.0, 1.0)


def to_values(factors: Sequence[Factor], u: np.ndarray) -> np.ndarray:
    """Map unit-cube columns through each factor's inverse CDF."""
    out = np.empty_like(u)
    for j, factor in enumerate(factors):
        out[:, j] = ppf(factor.distribution, u[:, j])
    return out


def analyse(method: Method, names: Sequence[str], u: np.ndarray, y: np.ndarray, seed: int,
            levels: int = 4) -> pd.DataFrame:
    """SALib's indices of one output, one row per factor."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    problem = _problem(names)
    if method == "sobol":
        res = sobol_analyze.analyze(problem, y, calc_second_order=False, num_resamples=200, conf_level=0.95,
                                    seed=_sub_seed(seed, 2))
        return pd.DataFrame({"factor": list(names), "S1": res["S1"], "S1_conf": res["S1_conf"], "ST": res["ST"],
                             "ST_conf": res["ST_conf"]})
    res = morris_analyze.analyze(problem, u, y, num_resamples=200, conf_level=0.95, num_levels=levels,
                                 seed=_sub_seed(seed, 2))
    return pd.DataFrame({"factor": list(names), "mu_star": np.asarray(res["mu_star"]),
                         "mu_star_conf": np.asarray(res["mu_star_conf"]), "sigma": np.asarray(res["sigma"]),
                         "mu": np.asarray(res["mu"])})


Evaluate = Callable[[np.ndarray], Mapping[str, np.ndarray]]
"""``evaluate(values)``: ``values`` is ``(runs, factors)`` (the real factors, no dummy); returns one float array
of length ``runs`` per output name (NaN for a failed run)."""


@dataclass
class SensitivityResult:
    """What :func:`sensitivity_analysis` returns."""

    method: Method
    samples: int
    factors: tuple[Factor, ...]
    names: tuple[str, ...]  # factor names in the design, the dummy last when present
    indices: pd.DataFrame  # long: output, factor, then the method's columns
    outputs: dict[str, np.ndarray]
    values: np.ndarray  # (runs, len(names)) design in the factors' units (dummy: its unit value)
    skipped: dict[str, str] = field(default_factory=dict)
    censored: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def n_runs(self) -> int:
        return int(self.values.shape[0])

    def table(self, output: str) -> pd.DataFrame:
        """The indices of one output, one row per factor."""
        return self.indices[self.indices["output"] == output].drop(columns="output").reset_index(drop=True)

    def noise_threshold(self, output: str) -> float | None:
        """The dummy's index (ST for Sobol, mu* for Morris): factors at or below it are not distinguishable."""
        if DUMMY not in self.names or output not in set(self.indices["output"]):
            return None
        t = self.table(output).set_index("factor")
        column = "ST" if self.method == "sobol" else "mu_star"
        return float(t.loc[DUMMY, column])

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: method, sizes, factors, and per output the indices and the noise threshold."""
        per_output: dict[str, Any] = {}
        for name in self.outputs:
            if name in self.skipped:
                per_output[name] = {"skipped": self.skipped[name]}
                continue
            per_output[name] = {"noise_threshold": self.noise_threshold(name),
                                "censored_runs": self.censored.get(name, 0),
                                "indices": self.table(name).to_dict("records")}
        return finite_or_none({
            "method": self.method, "samples": self.samples, "runs": self.n_runs, "seconds": self.seconds,
            "factors": [{"key": f.key, "distribution": describe(f.distribution), "note": f.note} for f in self.factors],
            "dummy": DUMMY in self.names, "outputs": per_output,
        })


def check_design(factors: Sequence[Factor], method: str, samples: int, dummy: bool) -> tuple[str, ...]:
    """Raise :class:`ExperimentInputError` for a bad method, sample size or factor list; return the design's names."""
    if method not in METHODS:
        raise ExperimentInputError(f"method {method!r}: choose one of {', '.join(METHODS)}")
    if not factors:
        raise ExperimentInputError("no factors to analyse")
    if method == "sobol" and (samples < 2 or samples != round_up_power_of_two(samples)):
        raise ExperimentInputError(f"samples {samples}: Sobol' needs a power of two >= 2 (e.g. "
                                    f"{round_up_power_of_two(max(samples, 2))})")
    if method == "morris" and samples < 2:
        raise ExperimentInputError(f"samples {samples}: Morris needs at least 2 trajectories")
    names = tuple(f.key for f in factors) + ((DUMMY,) if dummy else ())
    if len(set(names)) != len(names):
        raise ExperimentInputError(f"factor names must be distinct (and not {DUMMY!r}): {', '.join(names)}")
    return names


def sensitivity_analysis(
    factors: Sequence[Factor],
    evaluate: Evaluate,
    *,
    method: Method = "sobol",
    samples: int = 256,
    outputs: Sequence[str] | None = None,
    seed: int = 0,
    levels: int = 4,
    dummy: bool = True,
    censored: Mapping[str, int] | None = None,
) -> SensitivityResult:
    """Sample, evaluate and analyse: first- and total-order Sobol' indices or Morris elementary effects.

    Parameters
    ----------
    factors
        The uncertain inputs with their distributions.
    evaluate
        Maps the ``(runs, factors)`` design to outputs (see :data:`Evaluate`).
    method, samples
        ``"sobol"``: ``samples`` base points N (a power of two; N (d + 2) evaluations, Saltelli 2010 / Jansen
        estimators); ``"morris"``: ``samples`` trajectories (N (d + 1) evaluations) on a ``levels``-level grid.
    outputs
        Which outputs to analyse (default: all that ``evaluate`` returns).  An output with a NaN (a failed run
        or an undefined value) is skipped, with the reason in ``skipped``.
    dummy
        Add a factor the evaluator never sees (see the module docs).
    """
    t0 = time.perf_counter()
    names = check_design(factors, method, samples, dummy)
    u = design(method, len(names), samples, seed, levels)
    values = to_values(factors, u[:, : len(factors)])
    evaluated = {k: np.asarray(v, dtype=np.float64) for k, v in evaluate(values).items()}
    wanted = list(outputs) if outputs is not None else list(evaluated)
    missing = [o for o in wanted if o not in evaluated]
    if missing:
        raise ExperimentInputError(f"the evaluator gave no output {', '.join(missing)}")
    frames = []
    skipped: dict[str, str] = {}
    for name in wanted:
        y = evaluated[name]
        bad = int(np.count_nonzero(~np.isfinite(y)))
        if bad:
            skipped[name] = f"{bad} of {y.size} runs have no finite value"
            continue
        if float(np.ptp(y)) <= np.finfo(float).eps * max(1.0, float(np.abs(y).max())):
            skipped[name] = "the output is constant over the design"
            continue
        frame = analyse(method, names, u, y, seed, levels)
        frame.insert(0, "output", name)
        frames.append(frame)
    columns = ["output", "factor", *(("S1", "S1_conf", "ST", "ST_conf") if method == "sobol"
                                      else ("mu_star", "mu_star_conf", "sigma", "mu"))]
    indices = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    full_values = np.column_stack([values, u[:, len(factors):]]) if dummy else values
    return SensitivityResult(method, samples, tuple(factors), names, indices, {k: evaluated[k] for k in wanted},
                             full_values, skipped, dict(censored or {}), time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------- the model


class ModelEvaluator:
    """Evaluates a design on the engine: design row i is run i (root ``SeedSequence(seed, spawn_key=(i,))``).

    Chunks of runs go through :func:`runs.experiments.chunk.simulate_chunk`, wherever ``execution`` says
    (default: in this process).  After a call, ``table`` holds the runs table (drawn values, status, outcomes)
    and ``censored`` the number of censored values per outcome.
    """

    def __init__(self, scenario: Scenario, keys: Sequence[str], *, seed: int = 0, outcomes: Sequence[str] = (),
                 execution: Execution | None = None) -> None:
        self.scenario = scenario
        self.keys = tuple(keys)
        self.seed = seed
        self.outcomes = tuple(outcomes) or tuple(RUN_OUTCOMES)
        self.execution = execution or Execution(workers=1)
        self.table: pd.DataFrame | None = None
        self.censored: dict[str, int] = {}
        self.per_run_init = any(key_route(k) == "init" for k in self.keys)

    def tasks(self, values: np.ndarray) -> list[ChunkTask]:
        n = values.shape[0]
        size = self.execution.chunk_size(n)
        return [ChunkTask(c, start, min(n, start + size), self.seed, self.scenario, self.keys,
                          values[start: min(n, start + size)], self.per_run_init, False, self.execution.n_threads, "")
                for c, start in enumerate(range(0, n, size))]

    def __call__(self, values: np.ndarray) -> dict[str, np.ndarray]:
        tasks = self.tasks(values)
        n = values.shape[0]
        parts: dict[int, pa.Table] = {}
        self.execution.report(0, n)

        def collect(part: pa.Table) -> None:
            parts[int(part.schema.metadata[b"chunk"])] = part
            self.execution.report(sum(p.num_rows for p in parts.values()), n)

        self.execution.map(chunk_runs_table, tasks, collect, n_tasks=len(tasks),
                           warm_up=functools.partial(warm_up, self.scenario))
        table = pa.concat_tables([parts[t.index] for t in tasks], promote_options="permissive").to_pandas()
        self.table = table
        out = {}
        for name in self.outcomes:
            out[name] = outcome_array(table, name, self.scenario)
            raw = table[name] if name in table else pd.Series([None] * len(table))
            self.censored[name] = int(raw.isna().sum()) if RUN_OUTCOMES[name].censor else 0
        return out


# ---------------------------------------------------------------------------------------------- a whole study


def run_sensitivity(
    setup: Setup,
    *,
    method: Method = "sobol",
    samples: int = 256,
    outputs: Sequence[str] = ("final_hhi", "leader_share", "takeoff_years", "frontier_log10_eff_compute"),
    levels: int = 4,
    factors: Sequence[Factor] | None = None,
    dummy: bool = True,
) -> ExperimentResult:
    """A sensitivity study of the setup's scenario (:func:`sensitivity_analysis` on :class:`ModelEvaluator`).

    Written to the setup's folder (default ``runs/out/<name>-sensitivity``): ``runs.parquet`` (the design and
    every run's outcomes), ``indices.csv``, ``sensitivity.json`` (the summary), the figures of
    ``setup.figures.sensitivity`` (the command line's: ``sensitivity.png``, the bar chart) and
    ``manifest.json``.  The setup's execution says where the design's chunks run; its seed seeds the runs and
    the design.  The result's ``details["analysis"]`` is the :class:`SensitivityResult`.
    """
    scenario, seed, execution = setup.scenario, setup.seed, setup.execution
    execution.check()
    unknown = [o for o in outputs if o not in RUN_OUTCOMES]
    if unknown or not outputs:
        raise ExperimentInputError(f"--outputs: unknown {', '.join(unknown) or '(none given)'}; known: "
                                   f"{', '.join(RUN_OUTCOMES)}")
    factors = tuple(factors) if factors is not None else factors_for(scenario)
    check_design(factors, method, samples, dummy)
    execution.check_memory(scenario, execution.chunk or DEFAULT_CHUNK)
    folder = OutputFolder.fresh("sensitivity", setup)
    state = {"method": method, "samples": samples, "levels": levels, "dummy": dummy,
             "run_root": "design row i: SeedSequence(root_seed, spawn_key=(i,))",
             "design": "SALib in the unit cube, mapped by runs.experiments.uncertain.ppf"}
    folder.start(state)
    evaluator = ModelEvaluator(scenario, [f.key for f in factors], seed=seed, outcomes=outputs, execution=execution)
    result = sensitivity_analysis(factors, evaluator, method=method, samples=samples, outputs=outputs, seed=seed,
                                  levels=levels, dummy=dummy)
    result.censored = dict(evaluator.censored)
    table = evaluator.table if evaluator.table is not None else pd.DataFrame()
    if dummy:
        table.insert(3, DUMMY, result.values[:, -1])
    folder.table(table, "runs.parquet")
    folder.text(result.indices.to_csv(index=False), "indices.csv")
    failed = int((table["status"] != "ok").sum()) if "status" in table else 0
    summary = finite_or_none({**result.summary(), "scenario": scenario.name, "seed": seed, "failed_runs": failed,
                              "out_dir": str(folder.path)})
    if scenario.uncertain_correlations and factors_for(scenario) == factors:
        pairs = [f"{a} ~ {b}: {rho:g}" for corr in scenario.uncertain_correlations for a, b, rho in corr.pairs()]
        summary["correlations_not_applied"] = (
            "Sobol' and Morris indices are defined for independent factors: each factor is drawn from its own "
            "marginal, the scenario's rank correlations (" + "; ".join(pairs) + ") are not applied")
    folder.json(summary, "sensitivity.json")
    folder.add(*draw(setup.figures.sensitivity, folder.path, result=result,
                     title=f"{scenario.name}: {method} ({result.n_runs} runs)"))
    return ExperimentResult(table, summary, folder.complete(state), folder.path, {"analysis": result})
