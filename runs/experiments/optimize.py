"""Policy optimisation: Optuna searches policy parameters for the best trade-off of chosen outcomes.

Every trial is a common-random-numbers ensemble (:func:`runs.experiments.ensemble.run_ensemble` on the shared
execution layer, the same root seed and uncertain draws in every trial) of the scenario with the trial's values of
the searched keys (``policies.<name>.<key>=low:high[:log]`` or ``low:high:step``), paired with one no-policy
ensemble (the scenario without the searched policies, runs.experiments.dose.reference_scenario) like a policy
sweep's points.  A trial's outcomes are the columns a policy sweep writes per point
(:data:`TRIAL_COLUMNS`: P(unipolar), median final HHI, the capability delay, consumer value, P(catastrophe), the
paired differences ``diff_<outcome>``).

``objectives`` (``"min p_unipolar"``, ``"min capability_delay_years"``) are minimised or maximised; with one
objective the sampler is TPE, with several NSGA-II (Deb et al. 2002), both seeded by ``seed`` so the same seed
gives the same trials.  ``constraints`` (``"capability_delay_years<=1"``, runs.experiments.dose.parse_target)
are set on each trial (``Trial.set_constraint``) for the sampler (a trial is feasible when every one holds),
and the front keeps feasible trials only.

Output folder (default ``runs/out/<name>-optimize/``)::

    trials.parquet     one row per trial: number, the searched values, the outcomes, constraint values, feasible,
                       pareto (on the feasible Pareto front), dir
    summary.json       the search, objectives, constraints, the front and the best files
    best/*.toml        every trial on the front as a ready-to-use policy file (``--policy``)
    pareto.png         of ``figures.optimize``: the trials in objective space, the front marked
    reference/         the no-policy ensemble; trials/NNN/: trial NNN's ensemble
    manifest.json      provenance, with an ``optimize`` section

Deb, K., Pratap, A., Agarwal, S., Meyarivan, T. (2002). A fast and elitist multiobjective genetic algorithm:
NSGA-II. IEEE Transactions on Evolutionary Computation 6(2), 182-197.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from economy.params import BadKey, ScenarioError, index_key, parse_override, split_key
from runs.experiments.dose import Target, effect_columns, is_policy_key, parse_target, reference_scenario
from runs.experiments.ensemble import arm_ensembles, check_runs_and_seed
from runs.experiments.outputs import OutputFolder, finite_or_none, write_text_atomic
from runs.experiments.result import ExperimentInputError, ExperimentResult, draw
from runs.experiments.setup import Setup
from runs.experiments.stats import PAIRED_OUTCOMES, POINT_STATISTICS, compare_tables, point_statistics
from runs.experiments.variants import scenario_data, variant

__all__ = ["TRIAL_COLUMNS", "Objective", "SearchKey", "parse_objective", "parse_search", "run_optimize"]

FORMAT = "multipolar-optimize/1"
TRIAL_COLUMNS: tuple[str, ...] = (
    *POINT_STATISTICS, "capability_delay_years", "delay_par_human", "delay_superhuman",
    *(f"diff_{o.key}" for o in PAIRED_OUTCOMES))
"""The outcomes an objective or a constraint may name (columns of trials.parquet)."""


@dataclass(frozen=True)
class SearchKey:
    """A searched policy parameter: ``low`` to ``high``, on a log scale or in steps of ``step``."""

    key: str
    low: float
    high: float
    log: bool = False
    step: float | None = None
    spec: str = ""


@dataclass(frozen=True)
class Objective:
    """``min COLUMN`` or ``max COLUMN``."""

    direction: str
    column: str

    @property
    def text(self) -> str:
        return f"{self.direction} {self.column}"


def parse_search(text: str) -> SearchKey:
    """``policies.<name>.<key>=low:high``, ``...=low:high:log`` or ``...=low:high:step``."""
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep:
        raise ExperimentInputError(f"--search {text!r}: expected policies.<name>.<key>=low:high[:log]")
    try:
        parse_override(f"{key}=0")
    except ScenarioError as err:
        raise ExperimentInputError(f"--search {text!r}: {err}") from None
    if not is_policy_key(key):
        raise ExperimentInputError(f"--search {text!r}: search a policy's parameter, policies.<name>.<key>")
    parts = [p.strip() for p in spec.split(":")]
    if len(parts) not in (2, 3):
        raise ExperimentInputError(f"--search {text!r}: expected {key}=low:high, low:high:log or low:high:step")
    try:
        low, high = float(parts[0]), float(parts[1])
        step = float(parts[2]) if len(parts) == 3 and parts[2].lower() != "log" else None
    except ValueError:
        raise ExperimentInputError(f"--search {text!r}: low, high (and a step) must be numbers") from None
    log = len(parts) == 3 and parts[2].lower() == "log"
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ExperimentInputError(f"--search {text!r}: need finite low < high")
    if log and low <= 0.0:
        raise ExperimentInputError(f"--search {text!r}: a log range needs low > 0")
    if step is not None and not (step > 0.0 and step <= high - low):
        raise ExperimentInputError(f"--search {text!r}: the step must be > 0 and at most high - low")
    return SearchKey(key, low, high, log, step, text)


def parse_objective(text: str) -> Objective:
    """``"min p_unipolar"`` -> :class:`Objective`; the column must be one of :data:`TRIAL_COLUMNS`."""
    found = re.fullmatch(r"\s*(min|max)\s+([A-Za-z_][A-Za-z0-9_]*)\s*", text)
    if not found:
        raise ExperimentInputError(f"--objective {text!r}: write \"min COLUMN\" or \"max COLUMN\", e.g. "
                                   "\"min p_unipolar\"")
    direction, column = found.groups()
    if column not in TRIAL_COLUMNS:
        raise ExperimentInputError(f"--objective {text!r}: {column} is not an outcome; one of "
                                   f"{', '.join(TRIAL_COLUMNS)}")
    return Objective(direction, column)


def _check_search(search: Sequence[SearchKey], data: dict[str, Any]) -> None:
    if not search:
        raise ExperimentInputError("--search: give at least one policies.<name>.<key>=low:high")
    keys = [s.key for s in search]
    if len(set(keys)) != len(keys):
        raise ExperimentInputError("--search: a key is given twice")
    for item in search:
        try:
            index_key(data, split_key(item.key))
        except BadKey as err:
            raise ExperimentInputError(f"--search {item.spec!r}: {err}") from None


def run_optimize(setup: Setup, *, search: Sequence[SearchKey], objectives: Sequence[Objective],
                 constraints: Sequence[str] = (), trials: int, runs: int,
                 min_effects: dict[str, float] | None = None) -> ExperimentResult:
    """Search the policy parameters ``search`` for the best ``objectives`` in ``trials`` Optuna trials.

    Parameters
    ----------
    setup
        The scenario with its policy files and overrides, the root seed (every trial's ensemble and the sampler),
        the folder (default ``runs/out/<name>-optimize``) and the execution (one cluster serves every trial).
        ``setup.figures.optimize`` draws pareto.png.
    search, objectives, constraints
        :func:`parse_search`, :func:`parse_objective`, and ``COLUMN<LEVEL`` strings over :data:`TRIAL_COLUMNS`.
    trials, runs
        Optuna trials, and runs per trial's ensemble.
    min_effects
        Practical thresholds of the paired effects (runs.experiments.stats).

    Raises
    ------
    ExperimentInputError
        Bad options, a searched key outside the scenario's policies, an invalid value in a trial's range.
    """
    import optuna

    wall0 = time.perf_counter()
    scenario, seed, execution = setup.scenario, setup.seed, setup.execution
    check_runs_and_seed(runs, seed)
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise ExperimentInputError(f"--trials {trials!r}: need at least one trial")
    if not objectives:
        raise ExperimentInputError("--objective: give at least one, e.g. --objective \"min p_unipolar\"")
    execution.check()
    sets = list(setup.overrides)
    data = scenario_data(scenario, setup.scenario_text, sets, setup.policy_files)
    _check_search(search, data)
    for item in search:  # both ends must make a valid scenario
        for value in (item.low, item.high):
            _trial_scenario(data, scenario.name, sets, {item.key: value})
    wanted = [parse_target(text, TRIAL_COLUMNS) for text in constraints]
    reference = reference_scenario(data, [s.key for s in search], tuple(scenario.uncertain),
                                   f"scenario {scenario.name!r}")
    folder = OutputFolder.fresh("optimize", setup)
    target = folder.path
    sampler_name = "TPE" if len(objectives) == 1 else "NSGA-II"
    settings = {
        "format": FORMAT, "runs_per_trial": runs, "trials": trials, "seed": seed, "sampler": sampler_name,
        "search": [{"key": s.key, "low": s.low, "high": s.high, "log": s.log, "step": s.step} for s in search],
        "objectives": [o.text for o in objectives], "constraints": [t.text for t in wanted],
        "policy_files": setup.policy_file_entries, "min_effects": dict(min_effects or {}),
        "seeds": "every trial and the no-policy arm: run i uses SeedSequence(seed, spawn_key=(i,)) (common random "
                 "numbers); the sampler is seeded with seed",
    }
    folder.start(settings)
    width = max(3, len(str(trials - 1)))
    total = (trials + 1) * runs
    rows: list[dict[str, Any]] = []
    with execution.shared() as shared:
        ensemble = arm_ensembles(setup, shared, target, runs=runs, total=total)

        reference_table = ensemble(0, reference, sets, "reference").table

        def evaluate(trial: Any) -> tuple[float, ...]:
            values = {s.key: _suggest(trial, s) for s in search}
            name = f"trials/{trial.number:0{width}d}"
            overrides = [f"{key}={value!r}" for key, value in values.items()]
            result = ensemble(trial.number + 1, _trial_scenario(data, scenario.name, sets, values),
                              (*sets, *overrides), name)
            row: dict[str, Any] = {"trial": trial.number, **values, **point_statistics(result.table)}
            row.update(effect_columns(compare_tables(reference_table, result.table, min_effects)))
            row["capability_delay_years"] = row["delay_par_human"]
            violations = [_violation(t, row[t.column]) for t in wanted]
            for t, v in zip(wanted, violations, strict=True):
                row[f"constraint: {t.text}"] = v
            row["feasible"] = all(v <= 0.0 for v in violations)
            row["dir"] = name
            for t, v in zip(wanted, violations, strict=True):
                trial.set_constraint(t.text, v)  # feasible when every value is <= 0
            rows.append(row)
            return tuple(_objective_value(row[o.column]) for o in objectives)

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = (optuna.samplers.TPESampler(seed=seed) if len(objectives) == 1
                   else optuna.samplers.NSGAIISampler(seed=seed))
        study = optuna.create_study(directions=["minimize" if o.direction == "min" else "maximize"
                                                for o in objectives], sampler=sampler)
        study.optimize(evaluate, n_trials=trials, catch=())
        execution.report(total, total)

    frame = pd.DataFrame(rows)
    frame["pareto"] = _front(frame, objectives)
    folder.table(frame, "trials.parquet")
    best = _write_best(target, frame[frame["pareto"]], data, scenario.name, sets, search, objectives)
    folder.add(*best)
    summary = {
        "kind": "optimize", "scenario": scenario.name, "seed": seed, "runs_per_trial": runs, "trials": trials,
        "sampler": sampler_name, "search": settings["search"], "objectives": settings["objectives"],
        "constraints": settings["constraints"], "feasible_trials": int(frame["feasible"].sum()),
        "front": [{"trial": int(r["trial"]), **{s.key: float(r[s.key]) for s in search},
                   **{o.column: float(r[o.column]) for o in objectives}, "dir": r["dir"]}
                  for _, r in frame[frame["pareto"]].iterrows()],
        "best_files": [str(p.relative_to(target)) for p in best],
        "reference": {"dir": "reference", **point_statistics(reference_table)},
        "wall_seconds": time.perf_counter() - wall0, "out_dir": str(target),
    }
    drawn = draw(setup.figures.optimize, target, trials=frame, objectives=[o.text for o in objectives],
                 title=f"Policy search on '{scenario.name}': {trials} trials x {runs} runs ({sampler_name}, "
                       f"seed {seed})")
    summary = finite_or_none(summary)
    folder.json(summary, "summary.json")
    folder.add(*drawn)
    return ExperimentResult(frame, summary, folder.complete(settings), target)


# ---------------------------------------------------------------------------------------------- helpers
def _suggest(trial: Any, item: SearchKey) -> float:
    return float(trial.suggest_float(item.key, item.low, item.high, log=item.log, step=item.step))


def _trial_scenario(data: dict[str, Any], name: str, sets: Sequence[str], values: dict[str, float]) -> Any:
    overrides = [f"{key}={value!r}" for key, value in values.items()]
    try:
        return variant(data, sets, overrides, source=f"scenario {name!r}")
    except ScenarioError as err:
        raise ExperimentInputError(f"--search {', '.join(overrides)}: {err}") from None


def _violation(target: Target, value: float) -> float:
    """Optuna's constraint value: <= 0 when ``target`` holds (the distance past its level otherwise; 1 if NaN)."""
    if not math.isfinite(value):
        return 1.0
    if target.met(value):
        return 0.0
    return abs(value - target.level) + 1e-12


def _objective_value(value: float) -> float:
    return float(value) if math.isfinite(value) else math.nan


def _front(frame: pd.DataFrame, objectives: Sequence[Objective]) -> np.ndarray:
    """True for the feasible trials no other feasible trial dominates (ties kept)."""
    signs = np.array([1.0 if o.direction == "min" else -1.0 for o in objectives])
    values = frame[[o.column for o in objectives]].to_numpy(dtype=float) * signs
    ok = frame["feasible"].to_numpy(dtype=bool) & np.isfinite(values).all(axis=1)
    front = np.zeros(len(frame), dtype=bool)
    for i in np.flatnonzero(ok):
        others = values[ok]
        dominated = ((others <= values[i]).all(axis=1) & (others < values[i]).any(axis=1)).any()
        front[i] = not dominated
    return front


def _write_best(target: Path, front: pd.DataFrame, data: dict[str, Any], name: str, sets: Sequence[str],
                search: Sequence[SearchKey], objectives: Sequence[Objective]) -> list[Path]:
    """Every trial on the front as a policy file ``best/trial-NNN.toml`` holding the searched policies."""
    out = []
    for _, row in front.iterrows():
        values = {s.key: float(row[s.key]) for s in search}
        trial_scenario = _trial_scenario(data, name, sets, values)
        indices = sorted({index_key(data, split_key(s.key))[1] for s in search})
        tables = [trial_scenario.policies[k].model_dump(mode="json", exclude_none=True) for k in indices]
        outcome = ", ".join(f"{o.column} = {float(row[o.column]):.4g}" for o in objectives)
        header = [f"# Trial {int(row['trial'])} of a policy search on '{name}' (multipolar optimize): {outcome}.",
                  "# Searched: " + ", ".join(f"{k} = {v:.6g}" for k, v in values.items()) + ".",
                  f'name = "trial-{int(row["trial"])}"',
                  f'description = "Pareto-optimal trial {int(row["trial"])}: {outcome}"', ""]
        body = [_toml_policy(table) for table in tables]
        path = target / "best" / f"trial-{int(row['trial']):03d}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        out.append(write_text_atomic("\n".join(header) + "\n".join(body), path))
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _toml_policy(table: dict[str, Any]) -> str:
    """One ``[[policies]]`` table (a nested table, the trigger, as ``[policies.trigger]``)."""
    lines = ["[[policies]]"]
    nested = {k: v for k, v in table.items() if isinstance(v, dict)}
    lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if k not in nested]
    for key, sub in nested.items():
        lines += ["", f"[policies.{key}]", *(f"{k} = {_toml_value(v)}" for k, v in sub.items())]
    return "\n".join(lines) + "\n"
