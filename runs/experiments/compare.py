"""Paired policy comparison: the baseline and one arm per policy file, on common random numbers.

Every arm is an ordinary ensemble (:func:`runs.ensemble.run_ensemble`) of ``R`` runs with the same root seed
``N``: run ``i`` of every arm has the root ``SeedSequence(N, spawn_key=(i,))`` and row ``i`` of the same Latin
hypercube of the scenario's ``[uncertain]`` table (the design depends only on that table, ``R`` and ``N``, and
a policy file cannot change the table).  So run ``i`` of a policy arm and run ``i`` of the baseline differ by
the policy alone, and :mod:`runs.compare_stats` reports paired differences.  The baseline arm is the scenario as
given (with its own ``[[policies]]``, if any); a policy arm appends a file's ``[[policies]]`` tables to them.
One Dask cluster serves every arm (:func:`runs.ensemble.shared_scheduler`); ``workers=1`` runs in this process.

A policy file holds ``[[policies]]`` tables and optionally ``name`` (the arm's name; default the file's stem)
and ``description``; any other top-level key is an error.  A file with several tables is a policy package.

Output directory (default ``runs/out/<name>-compare/``)::

    runs.parquet       one row per arm and run: arm, arm_index, policy_file, the ensemble's runs columns
    comparison.json    the paired differences with 95 % intervals (also what ``--json`` prints)
    forest.png         a panel per outcome, a row per policy arm: difference and 95 % interval
    manifest.json      provenance (runs.manifest), with a ``compare`` section holding the policy files' text
    arms/K-NAME/       arm K's ensemble (runs.parquet, summary.json, manifest.json, figures; its per-step
                       market series only with ``keep_series``)
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from economy.params import Scenario
from economy.policies import POLICY_KINDS
from runs.compare_stats import OUTCOMES, compare_tables, outcome_values
from runs.ensemble import (
    EnsembleError,
    check_directory,
    check_options,
    default_workers_threads,
    fresh_directory,
    run_ensemble,
    shared_scheduler,
)
from runs.ensemble_chunk import write_table_atomic, write_text_atomic
from runs.ensemble_figures import save_figure_atomic
from runs.manifest import build_manifest
from runs.scenario import ScenarioError, parse_override, scenario_dict_with_overrides, validate_scenario
from runs.single import default_output_dir, finite_or_none
from runs.uncertain import UncertainPlan

__all__ = [
    "BASELINE_ARM",
    "FORMAT",
    "Arm",
    "CompareInputError",
    "CompareResult",
    "PolicyFile",
    "Prepared",
    "arm_scenario",
    "build_arms",
    "default_compare_dir",
    "load_policy_file",
    "prepare_compare",
    "run_compare",
]

FORMAT = "multipolar-compare/1"
BASELINE_ARM = "baseline"
POLICY_FILE_KEYS: tuple[str, ...] = ("policies", "name", "description")

Progress = Callable[[int, int], None]
"""``progress(runs_done, runs_total)`` over all arms."""


class CompareInputError(ValueError):
    """Bad options (nothing was computed or written).  CLI exit code 2."""


@dataclass(frozen=True)
class PolicyFile:
    """A parsed policy file: its ``[[policies]]`` tables (not yet validated) and the arm's name."""

    path: Path
    name: str
    description: str | None
    tables: tuple[dict[str, Any], ...]
    text: str


@dataclass(frozen=True)
class Arm:
    """One arm of a comparison: the scenario it runs and where its policies came from."""

    name: str
    scenario: Scenario
    policy_file: PolicyFile | None

    @property
    def kinds(self) -> list[str]:
        return [pol.kind for pol in self.scenario.policies]


@dataclass
class CompareResult:
    """What :func:`run_compare` returns: the comparison (as in comparison.json) and where the outputs are."""

    comparison: dict[str, Any]
    out_dir: Path
    failed_runs: int


def default_compare_dir(scenario: Scenario) -> Path:
    """``runs/out/<name>-compare`` under the current directory."""
    return default_output_dir(scenario).with_name(f"{scenario.name}-compare")


# ---------------------------------------------------------------------------------------------- input
def load_policy_file(path: str | Path) -> PolicyFile:
    """Read a policy file; raises :class:`ScenarioError` (one line naming the key) on a malformed one.

    Only the file's shape and each table's ``kind`` are checked here; the parameters are validated with the
    scenario (:func:`arm_scenario`).
    """
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"--policy: policy file not found: {path}")
    if not path.is_file():
        raise ScenarioError(f"--policy: policy path is not a file: {path}")
    try:
        text = path.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except OSError as err:
        raise ScenarioError(f"--policy: cannot read {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {err.start}); a policy file is a TOML file") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: malformed TOML: {' '.join(str(err).split())}") from None
    unknown = [key for key in data if key not in POLICY_FILE_KEYS]
    if unknown:
        raise ScenarioError(f"{path}: unknown key {unknown[0]} (given {_show(data[unknown[0]])}); a policy file holds "
                            "[[policies]] tables and optionally name and description")
    tables = data.get("policies")
    if not isinstance(tables, list) or not tables:
        raise ScenarioError(f"{path}: policies is missing or empty; a policy file holds one or more [[policies]] "
                            "tables")
    for k, table in enumerate(tables):
        if not isinstance(table, dict):
            raise ScenarioError(f"{path}: policies.{k} = {_show(table)} is not a table; write [[policies]] tables")
        if "kind" not in table:
            raise ScenarioError(f"{path}: missing required key policies.{k}.kind; allowed: {', '.join(POLICY_KINDS)}")
        if table["kind"] not in POLICY_KINDS:
            raise ScenarioError(f"{path}: policies.{k}.kind = {_show(table['kind'])} is not a policy kind; allowed: "
                                f"{', '.join(POLICY_KINDS)}")
    for key in ("name", "description"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            raise ScenarioError(f"{path}: {key} = {_show(data[key])} must be a non-empty string")
    name = data.get("name", path.stem).strip()
    return PolicyFile(path, name, data.get("description"), tuple(tables), text)


def arm_scenario(data: dict[str, Any], overrides: Sequence[str], policy: PolicyFile, scenario_path: str) -> Scenario:
    """The scenario dict (``--set`` applied) with the file's policies appended to its own, validated.

    The file's tables are first validated alone (errors name ``policies.K`` as numbered in the file), then
    with the scenario's own policies (a kind given twice is refused); both raise :class:`ScenarioError`.
    """
    alone = dict(data)
    alone["policies"] = list(policy.tables)
    validate_scenario(alone, source=str(policy.path))
    combined = dict(data)
    combined["policies"] = [*(data.get("policies") or []), *policy.tables]
    return validate_scenario(combined, overrides, source=f"{scenario_path} with {policy.path}")


def build_arms(scenario_path: str | Path, policy_paths: Sequence[str | Path],
               overrides: Sequence[str] = ()) -> tuple[Scenario, str, list[Arm]]:
    """Load the scenario (with ``--set``) and every policy file; the baseline arm first.

    Raises :class:`ScenarioError` on any bad file, key or value, and :class:`CompareInputError` when no policy
    file is given or two arms would have the same name.
    """
    if not policy_paths:
        raise CompareInputError("--policy: give at least one policy file, e.g. --policy runs/policies/compute_cap.toml")
    path = Path(scenario_path)
    if not path.exists():
        raise ScenarioError(f"scenario file not found: {path}")
    if not path.is_file():
        raise ScenarioError(f"scenario path is not a file: {path}")
    try:
        text = path.read_bytes().decode("utf-8")
        raw = tomllib.loads(text)
    except OSError as err:
        raise ScenarioError(f"cannot read scenario file {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {err.start}); a scenario is a TOML file") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: malformed TOML: {' '.join(str(err).split())}") from None
    parsed = [parse_override(item) for item in overrides]
    data = scenario_dict_with_overrides(raw, parsed)
    base = validate_scenario(data, parsed, source=str(path))
    arms = [Arm(BASELINE_ARM, base, None)]
    seen = {BASELINE_ARM: "the baseline arm"}
    for item in policy_paths:
        policy = load_policy_file(item)
        if [Path(p).resolve() for p in policy_paths].count(Path(item).resolve()) > 1:
            raise CompareInputError(f"--policy {item} is given twice; each file is one arm")
        if policy.name in seen:
            raise CompareInputError(f"--policy {item}: arm name {policy.name!r} is already used by {seen[policy.name]};"
                                    " give the file another name = \"...\"")
        seen[policy.name] = str(item)
        arms.append(Arm(policy.name, arm_scenario(data, overrides, policy, str(path)), policy))
    return base, text, arms


# ---------------------------------------------------------------------------------------------- the driver
@dataclass(frozen=True)
class Prepared:
    """A checked comparison, ready to run: nothing has been written yet."""

    base: Scenario
    text: str
    arms: list[Arm]
    plan: UncertainPlan
    target: Path


def prepare_compare(
    scenario_path: str | Path,
    policy_paths: Sequence[str | Path],
    *,
    runs: int,
    seed: int = 0,
    overrides: Sequence[str] = (),
    out_dir: str | Path | None = None,
    chunk: int | None = None,
    workers: int | None = None,
    threads: int | None = None,
) -> Prepared:
    """Every check :func:`run_compare` makes before it writes anything (the CLI calls it before its progress bar).

    Raises :class:`ScenarioError`, :class:`CompareInputError` or :class:`runs.ensemble.EnsembleInputError`.
    """
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 2:
        raise CompareInputError(f"--runs {runs!r}: need at least 2 runs per arm for paired intervals")
    check_options(runs, seed, chunk, workers, threads)
    base, text, arms = build_arms(scenario_path, policy_paths, list(overrides))
    plan = UncertainPlan.from_scenario(base)
    for arm in arms:
        if UncertainPlan.from_scenario(arm.scenario) != plan:  # pragma: no cover - a policy file has no [uncertain]
            raise CompareInputError(f"arm {arm.name!r}: its [uncertain] table differs from the baseline's")
    target = (Path(out_dir) if out_dir is not None else default_compare_dir(base)).absolute()
    check_directory(target)
    return Prepared(base, text, arms, plan, target)


def run_compare(
    scenario_path: str | Path,
    policy_paths: Sequence[str | Path],
    *,
    runs: int,
    seed: int = 0,
    overrides: Sequence[str] = (),
    out_dir: str | Path | None = None,
    chunk: int | None = None,
    workers: int | None = None,
    threads: int | None = None,
    scheduler: str | None = None,
    keep_series: bool = False,
    progress: Progress | None = None,
    command: Sequence[str] | None = None,
) -> CompareResult:
    """Run the baseline and every policy arm on the same seeds and draws; write the paired comparison.

    Parameters
    ----------
    scenario_path, overrides
        The scenario TOML file and its ``--set`` overrides (applied to every arm).
    policy_paths
        Policy files, one arm each (in order).
    runs, seed
        Runs per arm ``R >= 2`` and the root seed ``N`` every arm shares.
    chunk, workers, threads, scheduler
        As for :func:`runs.ensemble.run_ensemble`; one local cluster of ``workers`` processes (default one per
        core) serves every arm unless ``workers == 1`` (in this process) or ``scheduler`` is given.
    keep_series
        Keep every arm's per-step market series (``arms/K-NAME/market/``, about 45 kB per run).

    Raises
    ------
    ScenarioError
        A bad scenario, override or policy file (nothing written).
    CompareInputError, runs.ensemble.EnsembleInputError
        Bad options or an unusable output directory (nothing written).
    runs.ensemble.EnsembleError
        An arm's ensemble could not be completed, or the arms did not share their seeds and draws.
    """
    wall0 = time.perf_counter()
    sets = list(overrides)
    prepared = prepare_compare(scenario_path, policy_paths, runs=runs, seed=seed, overrides=sets, out_dir=out_dir,
                               chunk=chunk, workers=workers, threads=threads)
    base, text, arms, plan, target = (prepared.base, prepared.text, prepared.arms, prepared.plan, prepared.target)
    fresh_directory(target)

    width = len(str(len(arms) - 1))
    dirs = [f"arms/{k:0{width}d}-{_slug(arm.name)}" for k, arm in enumerate(arms)]
    settings = {
        "format": FORMAT, "runs_per_arm": runs, "seed": seed, "chunk": chunk, "keep_series": keep_series,
        "arms": [_arm_entry(arm, d) for arm, d in zip(arms, dirs, strict=True)],
        "policy_files": [{"arm": arm.name, "path": str(arm.policy_file.path), "toml": arm.policy_file.text,
                          "sha256": hashlib.sha256(arm.policy_file.text.encode()).hexdigest()}
                         for arm in arms if arm.policy_file is not None],
        "seeds": "every arm: run i uses SeedSequence(seed, spawn_key=(i,)) and row i of the same uncertain design "
                 "(common random numbers)",
    }
    manifest_args = {"overrides": sets, "command": command}
    write_text_atomic(_manifest_text(base, text, seed, {**settings, "status": "running"}, [], **manifest_args),
                      target / "manifest.json")

    tables: list[pd.DataFrame] = []
    failed = 0
    total = len(arms) * runs
    workers_n, threads_n = default_workers_threads(workers, threads)
    with shared_scheduler(workers_n, scheduler) as address:
        for k, (arm, arm_dir) in enumerate(zip(arms, dirs, strict=True)):
            def arm_progress(done: int, _total: int, k: int = k) -> None:
                if progress is not None:
                    progress(k * runs + done, total)

            result = run_ensemble(
                arm.scenario, text, runs=runs, seed=seed, overrides=sets, out_dir=target / arm_dir, chunk=chunk,
                workers=1 if address is None else None, threads=threads_n, scheduler=address, progress=arm_progress,
                command=command,
            )
            failed += result.failed_runs
            tables.append(pd.read_parquet(target / arm_dir / "runs.parquet"))
            if not keep_series:
                shutil.rmtree(target / arm_dir / "market", ignore_errors=True)
    if progress is not None:
        progress(total, total)
    _check_common_numbers(arms, tables, plan.keys)

    comparison = {
        "kind": "compare", "format": FORMAT, "scenario": base.name, "runs_per_arm": runs, "seed": seed,
        "overrides": sets, "uncertain": list(plan.keys),
        "common_random_numbers": {"verified": True, "seeds": settings["seeds"]},
        "methods": {
            "mean": "mean of paired differences (policy - baseline, run by run), Student t 95 % interval",
            "binary": "difference of paired proportions, Newcombe (1998) hybrid score 95 % interval (method 10)",
            "pairs": "runs that succeeded in both arms",
        },
        "outcomes": [{"key": o.key, "label": o.label, "unit": o.unit, "kind": o.kind, "note": o.note}
                     for o in OUTCOMES],
        "arms": [{**_arm_entry(arm, d), "ok_runs": int((t["status"] == "ok").sum()),
                  "failed_runs": int((t["status"] != "ok").sum())}
                 for arm, d, t in zip(arms, dirs, tables, strict=True)],
        "comparisons": {arm.name: compare_tables(tables[0], table)
                        for arm, table in zip(arms[1:], tables[1:], strict=True)},
        "failed_runs": failed,
    }
    _write_runs(target / "runs.parquet", arms, tables)
    from runs.compare_figures import forest_figure

    save_figure_atomic(forest_figure(comparison), target / "forest.png")
    comparison["wall_seconds"] = time.perf_counter() - wall0
    comparison["out_dir"] = str(target)
    comparison = finite_or_none(comparison)
    write_text_atomic(json.dumps(comparison, indent=2, allow_nan=False) + "\n", target / "comparison.json")
    files = [target / "runs.parquet", target / "comparison.json", target / "forest.png"]
    write_text_atomic(_manifest_text(base, text, seed, {**settings, "status": "complete"}, files, **manifest_args),
                      target / "manifest.json")
    return CompareResult(comparison, target, failed)


# ---------------------------------------------------------------------------------------------- helpers
def _check_common_numbers(arms: Sequence[Arm], tables: Sequence[pd.DataFrame], keys: Sequence[str]) -> None:
    """Every arm's run i has the baseline's seed, spawn key and drawn values (bit for bit)."""
    ref = tables[0]
    for arm, table in zip(arms[1:], tables[1:], strict=True):
        same = len(table) == len(ref) and all(np.array_equal(table[c].to_numpy(), ref[c].to_numpy())
                                              for c in ("run", "seed", *keys))
        same = same and [list(k) for k in table["spawn_key"]] == [list(k) for k in ref["spawn_key"]]
        if not same:
            raise EnsembleError(f"arm {arm.name!r} did not run the baseline's seeds and draws")


def _write_runs(path: Path, arms: Sequence[Arm], tables: Sequence[pd.DataFrame]) -> None:
    singular = next(o for o in OUTCOMES if o.key == "singularity")
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
    write_table_atomic(pa.Table.from_pandas(combined, preserve_index=False), path)


def _arm_entry(arm: Arm, arm_dir: str) -> dict[str, Any]:
    policy = arm.policy_file
    return {
        "name": arm.name, "dir": arm_dir, "policy_file": None if policy is None else str(policy.path),
        "description": None if policy is None else policy.description, "policies": arm.kinds,
    }


def _manifest_text(scenario: Scenario, text: str, seed: int, state: dict[str, Any], files: Sequence[Path], *,
                   overrides: Sequence[str], command: Sequence[str] | None) -> str:
    manifest = build_manifest(scenario, text, seeds=[], overrides=overrides, files=files, command=command,
                              extra={"kind": "compare", "root_seed": seed, "compare": state})
    return json.dumps(finite_or_none(manifest), indent=2, allow_nan=False) + "\n"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "arm"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
