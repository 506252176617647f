"""Parameter sweeps: an ensemble at every point of a grid, summarised point by point.

Each grid point (:mod:`runs.experiments.grid`) is an ordinary ensemble (:func:`runs.experiments.ensemble.run_ensemble`)
of the scenario with the point's values applied as ``--set`` overrides, written to ``DIR/points/NNN/``.  Every
point uses the same root seed, so run ``i`` has the root ``SeedSequence(N, spawn_key=(i,))`` at every point
(common random numbers: differences between points come from the parameters, not from the draws).  A swept key
that the scenario's ``[uncertain]`` table draws is not drawn at any point (``Setup.fixed``, as a posterior's keys
replace their ``[uncertain]`` sampling): every run of a point has the point's value, and the table's other keys
are drawn as usual, the same draws at every point.  One Dask
cluster serves the whole sweep (:meth:`runs.experiments.execution.Execution.shared`); ``workers=1`` runs
everything in this process.

Output folder (default ``runs/out/<name>-sweep/``)::

    points.parquet       one row per grid point: plane, swept values, statistics with 95 % intervals
    summary.json         the sweep's settings and the range of each statistic
    manifest.json        provenance (runs.experiments.outputs) with a ``sweep`` section; ``kind`` is "sweep"
    figures              of ``figures.sweep`` (the command line's: phase_diagram.png)
    points/NNN/          point NNN's ensemble (runs.parquet, summary.json, figures; its per-step market
                         series only with ``keep_series``)

A **policy sweep** (a grid key ``policies.<name>.<key>``, runs.experiments.dose) also runs the no-policy arm
into ``reference/`` on the same seeds and draws; points.parquet then holds each point's paired effects against
it (``diff_<outcome>``, ``_lo``, ``_hi``, ``finding_<outcome>``, the capability delays ``delay_par_human`` and
``delay_superhuman``), summary.json a ``policy_sweep`` section (the no-policy arm's statistics, each point's
effects and, with a ``target``, where the outcome flips), and ``figures.policy_sweep`` draws dose_response.png
and tradeoff.png.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from economy.params import Scenario, ScenarioError
from runs.experiments.dose import Target, effect_columns, flips, is_policy_key, parse_target, reference_scenario
from runs.experiments.ensemble import arm_ensembles, check_runs_and_seed
from runs.experiments.grid import GridPoint, Plane, check_planes, grid_points, keyhole_planes, scenario_value
from runs.experiments.outputs import OutputFolder, finite_or_none
from runs.experiments.result import ExperimentInputError, ExperimentResult, draw
from runs.experiments.setup import Setup
from runs.experiments.stats import CENSORING, PAIRED_OUTCOMES, POINT_STATISTICS, compare_tables, point_statistics
from runs.experiments.variants import scenario_data, variant

__all__ = ["REFERENCE_DIR", "is_keyhole", "read_points", "run_sweep"]

FORMAT = "multipolar-sweep/1"


def is_keyhole(planes: Sequence[Plane]) -> bool:
    """True for the default planes (:func:`runs.experiments.grid.keyhole_planes`)."""
    return [p.keys for p in planes] == [p.keys for p in keyhole_planes()]


def run_sweep(setup: Setup, *, runs: int, planes: Sequence[Plane] | None = None, keep_series: bool = False,
              point_figures: bool = False, target: str | None = None,
              min_effects: dict[str, float] | None = None) -> ExperimentResult:
    """Run an ensemble of ``runs`` runs at every grid point and write points.parquet and the summary.

    Parameters
    ----------
    setup
        The scenario as loaded with its overrides (each point applies its own values to the scenario's TOML
        text after them), the root seed shared by every point (common random numbers), the folder (default
        ``runs/out/<name>-sweep``) and the execution (one local cluster serves the whole sweep;
        ``progress(done, total)`` counts runs over all points).  ``setup.figures.sweep`` draws the phase
        diagrams, ``setup.figures.ensemble`` every point's ensemble figures when ``point_figures``.
    runs
        Runs per point.
    planes
        The grid; default :func:`runs.experiments.grid.keyhole_planes`.
    keep_series
        Keep every point's per-step market series (``points/NNN/market/``); by default they are deleted once
        the point is summarised (they are about 45 kB per run).
    point_figures
        Draw every point's ensemble figures (``points/NNN/*.png``, about 2 s per point); off by default.
    target
        ``"COLUMN<LEVEL"`` (runs.experiments.dose.parse_target): where along a one-key grid the outcome flips.
    min_effects
        Practical thresholds of a policy sweep's paired effects, by outcome key (runs.experiments.stats).

    Returns
    -------
    points.parquet, the summary (as in summary.json), the manifest and the folder.

    Raises
    ------
    ExperimentInputError
        A bad grid or option, an invalid scenario at some grid point, or an unusable output folder.
    runs.experiments.result.ExperimentError
        A point's ensemble could not be completed.
    """
    wall0 = time.perf_counter()
    scenario, seed, execution = setup.scenario, setup.seed, setup.execution
    check_runs_and_seed(runs, seed)
    execution.check()
    sets = list(setup.overrides)
    data = scenario_data(scenario, setup.scenario_text, sets, setup.policy_files)
    planes = tuple(planes) if planes else keyhole_planes()
    check_planes(planes, sets)
    points = grid_points(planes, {key: scenario_value(scenario, key) for plane in planes for key in plane.keys})
    scenarios = [_point_scenario(data, scenario.name, sets, point) for point in points]
    for point_scenario in scenarios:
        execution.check_memory(point_scenario, min(execution.chunk_size(runs), runs))
    policy_keys = [key for plane in planes for key in plane.keys if is_policy_key(key)]
    reference = (reference_scenario(data, policy_keys, tuple(scenario.uncertain), f"scenario {scenario.name!r}")
                 if policy_keys else None)
    wanted = _target(target, planes, bool(policy_keys))
    folder = OutputFolder.fresh("sweep", setup)
    target = folder.path
    settings = {
        "format": FORMAT, "runs_per_point": runs, "seed": seed, "chunk": execution.chunk, "keep_series": keep_series,
        "point_figures": point_figures,
        "planes": [{"keys": list(p.keys), "values": {a.key: list(a.values) for a in p.axes},
                    "specs": [a.spec for a in p.axes]} for p in planes],
        "points": len(points), "keyhole": is_keyhole(planes),
        "seeds": "every point: run i uses SeedSequence(seed, spawn_key=(i,)) (common random numbers)",
        "policy_files": setup.policy_file_entries,
        "policy_sweep": {"keys": policy_keys, "reference_dir": REFERENCE_DIR,
                         "target": None if wanted is None else wanted.text,
                         "min_effects": dict(min_effects or {})} if policy_keys else None,
    }
    folder.start(settings)

    width = max(3, len(str(len(points) - 1)))
    rows: list[dict[str, Any]] = []
    effects: list[dict[str, Any]] = []
    failed = 0
    arms = len(points) + (reference is not None)
    total = arms * runs
    reference_table = None
    swept = tuple(dict.fromkeys(key for plane in planes for key in plane.keys))
    with execution.shared() as shared:
        ensemble = arm_ensembles(replace(setup, fixed=swept), shared, target, runs=runs, total=total,
                                 keep_series=keep_series, figures=point_figures)
        if reference is not None:
            result = ensemble(0, reference, sets, REFERENCE_DIR)
            failed += result.failed_runs
            reference_table = result.table
        for point, point_scenario in zip(points, scenarios, strict=True):
            name = f"points/{point.index:0{width}d}"
            result = ensemble(point.index + (reference is not None), point_scenario, (*sets, *point.overrides), name)
            failed += result.failed_runs
            row = _point_row(point, planes, name, result.table)
            if reference_table is not None:
                paired = compare_tables(reference_table, result.table, min_effects)
                row.update(effect_columns(paired))
                effects.append({"point": point.index, "values": {key: point.values[key] for key in policy_keys},
                                **paired})
            rows.append(row)
        execution.report(total, total)

    frame = pd.DataFrame(rows)
    folder.table(frame, "points.parquet")
    summary = _summary(scenario, frame, settings, failed, wall0, target)
    drawn = draw(setup.figures.sweep, target, points=frame, planes=planes, scenario=scenario, runs_per_point=runs)
    if reference_table is not None:
        summary["policy_sweep"] = _policy_sweep(frame, planes, policy_keys, reference_table, effects, wanted)
        drawn += _policy_figures(setup, target, frame, planes, summary["policy_sweep"], scenario.name, runs)
    summary = finite_or_none(summary)
    folder.json(summary, "summary.json")
    folder.add(*drawn)
    return ExperimentResult(frame, summary, folder.complete(settings), target)


REFERENCE_DIR = "reference"
"""A policy sweep's no-policy arm, under the sweep's folder."""


def _target(text: str | None, planes: Sequence[Plane], policy_sweep: bool) -> Target | None:
    if text is None:
        return None
    if len(planes) != 1 or len(planes[0].keys) != 1:
        raise ExperimentInputError(f"--target {text!r}: give exactly one --grid key (a dose-response curve)")
    columns = [*POINT_STATISTICS, "mean_consumer_value"]
    if policy_sweep:
        columns += ["delay_par_human", "delay_superhuman", *(f"diff_{o.key}" for o in PAIRED_OUTCOMES)]
    return parse_target(text, columns)


def _policy_sweep(frame: pd.DataFrame, planes: Sequence[Plane], keys: Sequence[str], reference: pd.DataFrame,
                  effects: list[dict[str, Any]], target: Target | None) -> dict[str, Any]:
    """summary.json's ``policy_sweep`` section."""
    out: dict[str, Any] = {
        "keys": list(keys), "reference_dir": REFERENCE_DIR,
        "reference": {"description": "the scenario without the swept policies, same seeds and draws",
                      **point_statistics(reference)},
        "censoring": CENSORING, "effects": effects, "target": None,
    }
    if target is not None:
        axis = planes[0].axes[0]
        out["target"] = flips(frame, axis.key, target, log=axis.log)
        reference_value = out["reference"].get(target.column)
        if reference_value is not None:  # a column the no-policy arm has (not a paired difference)
            out["target"]["no_policy"] = {"estimate": reference_value, "met": target.met(reference_value)}
    return out


def _policy_figures(setup: Setup, target: Path, frame: pd.DataFrame, planes: Sequence[Plane],
                    section: dict[str, Any], name: str, runs: int) -> list[Path]:
    if len(planes) != 1 or len(planes[0].keys) != 1:
        return []
    axis = planes[0].axes[0]
    short = axis.key.split(".")[-1]
    labelled = [(f"{short} = {entry['values'][axis.key]:.3g}", entry) for entry in section["effects"]]
    return draw(setup.figures.policy_sweep, target, points=frame, key=axis.key, reference=section["reference"],
                flip=section["target"], log_x=axis.log, effects=labelled,
                title=f"Dose-response on '{name}': {axis.key}, {runs} runs per point (common random numbers)")


def read_points(out_dir: str | Path) -> pd.DataFrame:
    """points.parquet of a sweep."""
    return pd.read_parquet(Path(out_dir) / "points.parquet")


# ---------------------------------------------------------------------------------------------- points
def _point_scenario(data: dict[str, Any], name: str, sets: Sequence[str], point: GridPoint) -> Scenario:
    try:
        return variant(data, sets, point.overrides, source=f"scenario {name!r}")
    except ScenarioError as err:
        raise ExperimentInputError(f"grid point {', '.join(point.overrides)}: {err}") from None


def _point_row(point: GridPoint, planes: Sequence[Plane], name: str, table: pd.DataFrame) -> dict[str, Any]:
    plane = planes[point.plane]
    row: dict[str, Any] = {"point": point.index, "plane": point.plane, "plane_name": plane.name}
    row.update(point.values)
    row.update({f"{axis}_index": k for axis, k in zip(("x", "y"), point.position, strict=False)})
    row.update(point_statistics(table))
    row["dir"] = name
    return row


def _summary(base: Scenario, frame: pd.DataFrame, settings: dict[str, Any], failed: int, wall0: float,
             target: Path) -> dict[str, Any]:
    ranges = {}
    for name in POINT_STATISTICS:
        values = frame[name].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size:
            lo, hi = int(np.argmin(np.where(np.isfinite(values), values, np.inf))), int(np.nanargmax(values))
            ranges[name] = {"min": float(finite.min()), "min_point": int(frame["point"].iloc[lo]),
                            "max": float(finite.max()), "max_point": int(frame["point"].iloc[hi])}
        else:
            ranges[name] = None
    return {
        "kind": "sweep", "scenario": base.name, "seed": settings["seed"], "runs_per_point": settings["runs_per_point"],
        "points": len(frame), "total_runs": int(frame["runs"].sum()), "failed_runs": failed,
        "planes": [{"name": " x ".join(p["keys"]), **p} for p in settings["planes"]],
        "keyhole": settings["keyhole"], "statistics": ranges,
        "wall_seconds": time.perf_counter() - wall0, "out_dir": str(target),
    }
