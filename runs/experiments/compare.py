"""Paired policy comparison: the baseline and one arm per policy file, on common random numbers.

Every arm is an ordinary ensemble (:func:`runs.experiments.ensemble.run_ensemble`) of ``R`` runs with the same
root seed ``N``: run ``i`` of every arm has the root ``SeedSequence(N, spawn_key=(i,))`` and row ``i`` of the
same Latin hypercube of the scenario's ``[uncertain]`` table (the design depends only on that table, ``R`` and
``N``, and a policy file cannot change the table; with a posterior, ``setup.posterior``, run ``i`` of every arm
draws the same row of it: runs.experiments.posterior).  So run ``i`` of a policy arm and run ``i`` of the baseline
differ by the policy alone, and :func:`runs.experiments.stats.compare_tables` reports paired differences.  The
baseline arm is the scenario as given (with its own ``[[policies]]``, if any); a policy arm appends a file's
``[[policies]]`` tables to them.  One Dask cluster serves every arm
(:meth:`runs.experiments.execution.Execution.shared`); ``workers=1`` runs in this process.

A policy file (economy.params.policy_files) holds ``[[policies]]`` tables and optionally ``name`` (the arm's
name; default the file's stem) and ``description``; any other top-level key is an error.  A file with several
tables is a policy package.  A policy's name (``policies.<name>.<key>``) is its table's ``name``, else the file's
name for a file of one table, else its kind.

Output folder (default ``runs/out/<name>-compare/``)::

    runs.parquet       one row per arm and run: arm, arm_index, policy_file, the ensemble's runs columns
    comparison.json    the paired differences with 95 % intervals (also what ``--json`` prints)
    figures            of ``figures.compare`` (the command line's: forest.png, a panel per outcome, a row per
                       policy arm: difference and 95 % interval)
    manifest.json      provenance (runs.experiments.outputs), with a ``compare`` section holding the policy
                       files' text
    arms/K-NAME/       arm K's ensemble (runs.parquet, summary.json, manifest.json, figures; its per-step
                       market series only with ``keep_series``)
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from economy.params import PolicyFile, Scenario, load_policy_file, validate_scenario, with_policy_files
from runs.experiments.ensemble import check_runs_and_seed, run_ensemble
from runs.experiments.execution import Execution
from runs.experiments.outputs import OutputFolder, finite_or_none
from runs.experiments.posterior import drawn_keys, posterior_note
from runs.experiments.reoptimise import Reoptimisation, ReoptimiseOptions, reoptimise_routines, with_routines
from runs.experiments.respond import EFFECTIVE_SUFFIX, REOPTIMISED_SUFFIX, respond_effects, with_evasion
from runs.experiments.result import ExperimentError, ExperimentInputError, ExperimentResult, draw
from runs.experiments.setup import Setup
from runs.experiments.stats import CENSORING, PAIRED_OUTCOMES, STATISTIC, compare_tables, outcome_values
from runs.experiments.uncertain import UncertainPlan
from runs.experiments.variants import scenario_data

__all__ = [
    "BASELINE_ARM",
    "Arm",
    "arm_scenario",
    "build_arms",
    "check_respond_names",
    "respond_arms",
    "run_compare",
]

FORMAT = "multipolar-compare/1"
BASELINE_ARM = "baseline"


@dataclass(frozen=True)
class Arm:
    """One arm of a comparison: the scenario it runs and where its policies came from."""

    name: str
    scenario: Scenario
    policy_file: PolicyFile | None
    reference: str = BASELINE_ARM
    """The arm its effects are differences from (``baseline-reoptimised`` for a re-optimised arm)."""

    @property
    def kinds(self) -> list[str]:
        return [pol.kind for pol in self.scenario.policies]


# ---------------------------------------------------------------------------------------------- input
def arm_scenario(data: dict[str, Any], overrides: Sequence[str], policy: PolicyFile, source: str) -> Scenario:
    """The scenario dict (``--set`` applied) with the file's policies appended to its own, validated.

    The file's tables are first validated alone (errors name ``policies.K`` as numbered in the file), then
    with the scenario's own policies (a kind or a name given twice is refused,
    :func:`economy.params.with_policy_files`); both raise :class:`ScenarioError`.
    """
    alone = dict(data)
    alone["policies"] = list(policy.tables)
    validate_scenario(alone, source=str(policy.path))
    combined = with_policy_files(data, [policy], source)
    return validate_scenario(combined, overrides, source=f"{source} with {policy.path}")


def build_arms(scenario: Scenario, scenario_text: str, policy_paths: Sequence[str | Path],
               overrides: Sequence[str] = ()) -> list[Arm]:
    """The baseline arm (``scenario`` itself) and one arm per policy file, in order.

    ``scenario`` is the scenario as loaded from ``scenario_text`` with ``overrides``.  Raises
    :class:`ScenarioError` on any bad file, key or value, and :class:`ExperimentInputError` when no policy
    file is given or two arms would have the same name.
    """
    if not policy_paths:
        raise ExperimentInputError("--policy: give at least one policy file, e.g. --policy "
                                   "runs/policies/compute_cap.toml")
    data = scenario_data(scenario, scenario_text, overrides)
    arms = [Arm(BASELINE_ARM, scenario, None)]
    seen = {BASELINE_ARM: "the baseline arm"}
    for item in policy_paths:
        policy = load_policy_file(item)
        if [Path(p).resolve() for p in policy_paths].count(Path(item).resolve()) > 1:
            raise ExperimentInputError(f"--policy {item} is given twice; each file is one arm")
        if policy.name in seen:
            raise ExperimentInputError(f"--policy {item}: arm name {policy.name!r} is already used by "
                                       f"{seen[policy.name]}; give the file another name = \"...\"")
        seen[policy.name] = str(item)
        arms.append(Arm(policy.name, arm_scenario(data, overrides, policy, f"scenario {scenario.name!r}"), policy))
    return arms


def respond_arms(arms: Sequence[Arm], reoptimised: dict[str, Reoptimisation] | None = None) -> list[Arm]:
    """``--respond``: the baseline with full compliance, then per policy arm its nominal arm (full compliance, the
    policy's name) and its effective arm (labs may evade, ``<name>-effective``; runs.experiments.respond).

    With ``reoptimised`` (``--reoptimise``: the searches' results by arm name, the baseline's under
    :data:`BASELINE_ARM`) also the no-policy arm ``baseline-reoptimised`` (second) and, after each effective arm,
    ``<name>-reoptimised``: evasion on and the routines the search chose under the policy, its effects taken from
    ``baseline-reoptimised``.  The arms' names are checked first, by :func:`check_respond_names`.
    """
    out = [replace(arms[0], scenario=with_evasion(arms[0].scenario, False))]
    reference = BASELINE_ARM + REOPTIMISED_SUFFIX
    if reoptimised is not None:
        out.append(Arm(reference, with_routines(with_evasion(arms[0].scenario, True),
                                                reoptimised[BASELINE_ARM].routines), None))
    for arm in arms[1:]:
        out += [replace(arm, scenario=with_evasion(arm.scenario, False)),
                Arm(arm.name + EFFECTIVE_SUFFIX, with_evasion(arm.scenario, True), arm.policy_file)]
        if reoptimised is not None:
            out.append(Arm(arm.name + REOPTIMISED_SUFFIX, with_routines(with_evasion(arm.scenario, True),
                                                                        reoptimised[arm.name].routines),
                           arm.policy_file, reference))
    return out


def check_respond_names(arms: Sequence[Arm], reoptimise: bool) -> None:
    """``--respond`` adds arms named after the policy arms (``<name>-effective``; with ``--reoptimise`` also
    ``<name>-reoptimised`` and ``baseline-reoptimised``, a name kept for that arm either way): refuse a policy arm
    whose name one of them would repeat.  Called before anything runs, so a clash is not found only after the
    minutes of ``--reoptimise``'s search."""
    reference = BASELINE_ARM + REOPTIMISED_SUFFIX
    names = {arm.name for arm in arms}
    suffixes = (EFFECTIVE_SUFFIX, REOPTIMISED_SUFFIX) if reoptimise else (EFFECTIVE_SUFFIX,)
    for arm in arms[1:]:
        if arm.name == reference:
            raise ExperimentInputError(f"--respond: arm name {reference!r} is kept for the no-policy arm of "
                                       f"--reoptimise; give the file another name = \"...\"")
        for suffix in suffixes:
            if arm.name + suffix in names:
                raise ExperimentInputError(f"--respond: arm name {arm.name + suffix!r} is both a policy arm and the "
                                           f"{suffix[1:]} arm of {arm.name!r}; give the file another name = \"...\"")


# ---------------------------------------------------------------------------------------------- the driver
def run_compare(setup: Setup, *, policies: Sequence[str | Path], runs: int, keep_series: bool = False,
                min_effects: dict[str, float] | None = None, respond: bool = False,
                reoptimise: ReoptimiseOptions | None = None) -> ExperimentResult:
    """Run the baseline and every policy arm on the same seeds and draws; write the paired comparison.

    Parameters
    ----------
    setup
        The scenario as loaded with its overrides (applied to every arm), the root seed ``N`` every arm
        shares, the folder (default ``runs/out/<name>-compare``) and the execution (one local cluster serves
        every arm; ``progress(done, total)`` counts runs over all arms).  ``setup.figures.compare`` draws the
        comparison's figures, ``setup.figures.ensemble`` every arm's.
    policies
        Policy files, one arm each (in order).
    runs
        Runs per arm ``R >= 2``.
    keep_series
        Keep every arm's per-step market series (``arms/K-NAME/market/``, about 45 kB per run).
    min_effects
        Practical thresholds by outcome key, replacing the defaults (runs.experiments.stats.PAIRED_OUTCOMES).
    respond
        Run each policy twice, with full compliance (nominal) and with evasion and the scenario's regulator
        (effective, arm ``<name>-effective``), and report the nominal and effective effects, the leakage and the
        compliance totals (``comparison["respond"]``; runs.experiments.respond).
    reoptimise
        With ``respond``: first re-optimise the archetypes' routines (runs.experiments.reoptimise) in the no-policy
        world and under each policy (evasion on), on the comparison's seed; then run each policy a third time with
        its routines (arm ``<name>-reoptimised``) against the no-policy world with its own (``baseline-reoptimised``),
        and report the re-optimised effects (``comparison["reoptimise"]``: each search's routines, rounds and
        payoff table).

    Returns
    -------
    runs.parquet (every arm's runs), the comparison (as in comparison.json), the manifest and the folder.

    Raises
    ------
    ScenarioError
        A bad policy file (nothing written).
    ExperimentInputError
        Bad options or an unusable output folder (nothing written).
    ExperimentError
        An arm's ensemble could not be completed, or the arms did not share their seeds and draws.
    """
    wall0 = time.perf_counter()
    scenario, seed, execution = setup.scenario, setup.seed, setup.execution
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 2:
        raise ExperimentInputError(f"--runs {runs!r}: need at least 2 runs per arm for paired intervals")
    check_runs_and_seed(runs, seed)
    execution.check()
    sets = list(setup.overrides)
    arms = build_arms(scenario, setup.scenario_text, policies, sets)
    if reoptimise is not None:
        if not respond:
            raise ExperimentInputError("--reoptimise: re-optimised routines are the third variant of --respond; "
                                       "give --respond too")
        if setup.posterior is not None:
            raise ExperimentInputError("--reoptimise does not take --posterior (the search scores the scenario's own "
                                       "draws)")
        reoptimise.check()
    plain_arms = arms
    if respond:
        check_respond_names(arms, reoptimise is not None)
        arms = respond_arms(arms)
    plan = UncertainPlan.from_scenario(scenario)
    for arm in arms:
        if UncertainPlan.from_scenario(arm.scenario) != plan:  # pragma: no cover - a policy file has no [uncertain]
            raise ExperimentInputError(f"arm {arm.name!r}: its [uncertain] table differs from the baseline's")
    if setup.posterior is not None:
        setup.posterior.check(scenario)
    keys = drawn_keys(plan, setup.posterior)
    for arm in arms:
        execution.check_memory(arm.scenario, min(execution.chunk_size(runs), runs))
    folder = OutputFolder.fresh("compare", setup)
    target = folder.path

    tables: list[pd.DataFrame] = []
    failed = 0
    searches: dict[str, Reoptimisation] = {}
    with execution.shared() as shared:
        if reoptimise is not None:
            searches = _searches(plain_arms, seed, execution, shared, reoptimise)
            arms = respond_arms(plain_arms, searches)
        width = len(str(len(arms) - 1))
        dirs = [f"arms/{k:0{width}d}-{_slug(arm.name)}" for k, arm in enumerate(arms)]
        settings = {
            "format": FORMAT, "runs_per_arm": runs, "seed": seed, "chunk": execution.chunk,
            "keep_series": keep_series, "arms": [_arm_entry(arm, d) for arm, d in zip(arms, dirs, strict=True)],
            "policy_files": [{"arm": arm.name, "path": str(arm.policy_file.path), "toml": arm.policy_file.text,
                              "sha256": hashlib.sha256(arm.policy_file.text.encode()).hexdigest()}
                             for arm in arms if arm.policy_file is not None],
            "seeds": "every arm: run i uses SeedSequence(seed, spawn_key=(i,)) and row i of the same uncertain design "
                     "(common random numbers)",
        }
        if setup.posterior is not None:
            settings["posterior"] = setup.posterior.entry()
        if reoptimise is not None:
            settings["reoptimise"] = {name: search.overrides() for name, search in searches.items()}
        folder.start(settings)
        total = len(arms) * runs
        for k, (arm, arm_dir) in enumerate(zip(arms, dirs, strict=True)):
            def arm_progress(done: int, _total: int, k: int = k) -> None:
                execution.report(k * runs + done, total)

            arm_setup = replace(setup, scenario=arm.scenario, out_dir=target / arm_dir,
                                execution=replace(shared, progress=arm_progress, resume=False))
            result = run_ensemble(arm_setup, runs=runs)
            failed += result.failed_runs
            tables.append(result.table)
            if not keep_series:
                shutil.rmtree(target / arm_dir / "market", ignore_errors=True)
    execution.report(total, total)
    _check_common_numbers(arms, tables, keys)

    index = {arm.name: k for k, arm in enumerate(arms)}
    comparison = {
        "kind": "compare", "format": FORMAT, "scenario": scenario.name, "runs_per_arm": runs, "seed": seed,
        "overrides": sets, "uncertain": list(keys),
        "common_random_numbers": {"verified": True, "seeds": settings["seeds"]},
        "methods": {
            "mean": "mean of paired differences (policy - baseline, run by run), Student t 95 % interval; the arms' "
                    "levels are means",
            "binary": "difference of paired proportions, Newcombe (1998) hybrid score 95 % interval (method 10); the "
                      "arms' levels are shares of runs",
            "delay": f"mean of paired differences of the years a capability threshold is reached; {CENSORING}",
            "finding": "the 95 % interval excludes 0 by more than the outcome's min_effect (practical threshold)",
            "pairs": "runs that succeeded in both arms",
        },
        "outcomes": [{"key": o.key, "label": o.label, "unit": o.unit, "kind": o.kind, "group": o.group,
                      "statistic": STATISTIC[o.kind], "note": o.note} for o in PAIRED_OUTCOMES],
        "min_effects": dict(min_effects or {}),
        "arms": [{**_arm_entry(arm, d), "ok_runs": int((t["status"] == "ok").sum()),
                  "failed_runs": int((t["status"] != "ok").sum())}
                 for arm, d, t in zip(arms, dirs, tables, strict=True)],
        "comparisons": {arm.name: compare_tables(tables[index[arm.reference]], table, min_effects)
                        for arm, table in zip(arms[1:], tables[1:], strict=True)},
        "failed_runs": failed,
    }
    if setup.posterior is not None:
        comparison["posterior"] = {**setup.posterior.entry(),
                                   "note": "every arm's runs " + posterior_note(setup.posterior) + "; run i of every "
                                   "arm draws the same row"}
    if respond:
        comparison["respond"] = _respond(plain_arms, index, tables, comparison["comparisons"], seed)
    if reoptimise is not None:
        comparison["reoptimise"] = {
            "method": "iterated best response of the investor-funded archetypes' routines, coordinate-wise over a "
                      "3-value grid, each candidate scored on the comparison's seeds (common random numbers) by the "
                      "archetype's mean discounted free cash flow plus terminal compute; a move needs a mean paired "
                      "gain above move_z standard errors (runs.experiments.reoptimise)",
            "searches": {name: search.entry(reoptimise) for name, search in searches.items()}}
    combined = _runs_table(arms, tables)
    folder.table(combined, "runs.parquet")
    drawn = draw(setup.figures.compare, target, comparison=comparison)
    comparison["wall_seconds"] = time.perf_counter() - wall0
    comparison["out_dir"] = str(target)
    comparison = finite_or_none(comparison)
    folder.json(comparison, "comparison.json")
    folder.add(*drawn)
    return ExperimentResult(combined, comparison, folder.complete(settings), target)


# ---------------------------------------------------------------------------------------------- helpers
def _searches(plain: Sequence[Arm], seed: int, execution: Execution, shared: Execution,
              options: ReoptimiseOptions) -> dict[str, Reoptimisation]:
    """``--reoptimise``: the routines re-optimised in the no-policy world and under each policy, evasion on (the
    baseline's under its own name); progress as the searches' runs done of their bound."""
    found = {}
    for k, arm in enumerate(plain):
        def search_progress(done: int, total: int, k: int = k) -> None:
            execution.report(k * total + done, len(plain) * total)

        found[arm.name] = reoptimise_routines(with_evasion(arm.scenario, True), seed=seed, options=options,
                                              execution=replace(shared, progress=search_progress, chunk=None))
    return found


def _respond(plain: Sequence[Arm], index: dict[str, int], tables: Sequence[pd.DataFrame],
             comparisons: dict[str, Any], seed: int) -> dict[str, Any]:
    """Per policy, its nominal arm against its effective arm (and, with ``--reoptimise``, its re-optimised arm
    against ``baseline-reoptimised``): runs.experiments.respond."""
    reference = BASELINE_ARM + REOPTIMISED_SUFFIX
    out: dict[str, Any] = {"method": "nominal: full compliance (enforcement.evasion = false); effective: labs may "
                           "evade (true); leakage = 1 - effective / nominal, 95 % paired-bootstrap percentile "
                           "interval over runs", "arms": {}}
    if reference in index:
        out["method"] += ("; reoptimised: evasion on and routines re-optimised under the policy, compared with the "
                          "no-policy world with routines re-optimised by the same search on the same seeds "
                          "(baseline-reoptimised); leakage_reoptimised = 1 - reoptimised / nominal")
    for arm in plain[1:]:
        nominal, effective = arm.name, arm.name + EFFECTIVE_SUFFIX
        reoptimised = arm.name + REOPTIMISED_SUFFIX
        extra = None
        if reoptimised in index:
            extra = (tables[index[reference]], tables[index[reoptimised]], comparisons[reoptimised])
        entry = {"effective_arm": effective, **({"reoptimised_arm": reoptimised} if extra is not None else {})}
        out["arms"][nominal] = {**entry, **respond_effects(
            tables[0], tables[index[nominal]], tables[index[effective]], comparisons[nominal],
            comparisons[effective], seed, extra)}
    return out


def _check_common_numbers(arms: Sequence[Arm], tables: Sequence[pd.DataFrame], keys: Sequence[str]) -> None:
    """Every arm's run i has the baseline's seed, spawn key and drawn values (bit for bit)."""
    ref = tables[0]
    for arm, table in zip(arms[1:], tables[1:], strict=True):
        same = len(table) == len(ref) and all(np.array_equal(table[c].to_numpy(), ref[c].to_numpy())
                                              for c in ("run", "seed", *keys))
        same = same and [list(k) for k in table["spawn_key"]] == [list(k) for k in ref["spawn_key"]]
        if not same:
            raise ExperimentError(f"arm {arm.name!r} did not run the baseline's seeds and draws")


def _runs_table(arms: Sequence[Arm], tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Every arm's runs, with the arm's name, index and policy file first and the singularity flag."""
    singular = next(o for o in PAIRED_OUTCOMES if o.key == "singularity")
    frames = []
    for k, (arm, table) in enumerate(zip(arms, tables, strict=True)):
        frame = table.copy()
        frame.insert(0, "arm", arm.name)
        frame.insert(1, "arm_index", np.int64(k))
        frame.insert(2, "policy_file", None if arm.policy_file is None else str(arm.policy_file.path))
        frame["singularity"] = np.where(frame["status"] == "ok", outcome_values(frame, singular) > 0.5, False)
        frames.append(frame)
    combined = pd.concat(frames, ignore_index=True)
    combined["policy_file"] = combined["policy_file"].astype("string")
    return combined


def _arm_entry(arm: Arm, arm_dir: str) -> dict[str, Any]:
    policy = arm.policy_file
    return {
        "name": arm.name, "dir": arm_dir, "policy_file": None if policy is None else str(policy.path),
        "description": None if policy is None else policy.description, "policies": arm.kinds,
        **({"reference": arm.reference} if arm.reference != BASELINE_ARM else {}),
    }


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "arm"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
