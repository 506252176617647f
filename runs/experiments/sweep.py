"""Parameter sweeps: an ensemble at every point of a grid, summarised point by point.

Each grid point (:mod:`runs.experiments.grid`) is an ordinary ensemble (:func:`runs.experiments.ensemble.run_ensemble`)
of the scenario with the point's values applied as ``--set`` overrides, written to ``DIR/points/NNN/``.  Every
point uses the same root seed, so run ``i`` has the root ``SeedSequence(N, spawn_key=(i,))`` at every point
(common random numbers: differences between points come from the parameters, not from the draws).  One Dask
cluster serves the whole sweep (:meth:`runs.experiments.execution.Execution.shared`); ``workers=1`` runs
everything in this process.

Output folder (default ``runs/out/<name>-sweep/``)::

    points.parquet       one row per grid point: plane, swept values, statistics with 95 % intervals
    summary.json         the sweep's settings and the range of each statistic
    manifest.json        provenance (runs.experiments.outputs) with a ``sweep`` section; ``kind`` is "sweep"
    figures              of ``figures.sweep`` (the command line's: phase_diagram.png)
    points/NNN/          point NNN's ensemble (runs.parquet, summary.json, figures; its per-step market
                         series only with ``keep_series``)
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from economy.params import Scenario, ScenarioError
from runs.experiments.ensemble import check_runs_and_seed, run_ensemble
from runs.experiments.grid import GridPoint, Plane, check_planes, grid_points, keyhole_planes, scenario_value
from runs.experiments.outputs import OutputFolder, finite_or_none
from runs.experiments.result import ExperimentInputError, ExperimentResult, draw
from runs.experiments.setup import Setup
from runs.experiments.stats import POINT_STATISTICS, point_statistics
from runs.experiments.variants import scenario_data, variant

__all__ = ["is_keyhole", "read_points", "run_sweep"]

FORMAT = "multipolar-sweep/1"


def is_keyhole(planes: Sequence[Plane]) -> bool:
    """True for the default planes (:func:`runs.experiments.grid.keyhole_planes`)."""
    return [p.keys for p in planes] == [p.keys for p in keyhole_planes()]


def run_sweep(setup: Setup, *, runs: int, planes: Sequence[Plane] | None = None,
              keep_series: bool = False) -> ExperimentResult:
    """Run an ensemble of ``runs`` runs at every grid point and write points.parquet and the summary.

    Parameters
    ----------
    setup
        The scenario as loaded with its overrides (each point applies its own values to the scenario's TOML
        text after them), the root seed shared by every point (common random numbers), the folder (default
        ``runs/out/<name>-sweep``) and the execution (one local cluster serves the whole sweep;
        ``progress(done, total)`` counts runs over all points).  ``setup.figures.sweep`` draws the phase
        diagrams, ``setup.figures.ensemble`` every point's ensemble figures.
    runs
        Runs per point.
    planes
        The grid; default :func:`runs.experiments.grid.keyhole_planes`.
    keep_series
        Keep every point's per-step market series (``points/NNN/market/``); by default they are deleted once
        the point is summarised (they are about 45 kB per run).

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
    data = scenario_data(scenario, setup.scenario_text, sets)
    planes = tuple(planes) if planes else keyhole_planes()
    check_planes(planes, sets, tuple(scenario.uncertain))
    points = grid_points(planes, {key: scenario_value(scenario, key) for plane in planes for key in plane.keys})
    scenarios = [_point_scenario(data, scenario.name, sets, point) for point in points]
    for point_scenario in scenarios:
        execution.check_memory(point_scenario, min(execution.chunk_size(runs), runs))
    folder = OutputFolder.fresh("sweep", setup)
    target = folder.path
    settings = {
        "format": FORMAT, "runs_per_point": runs, "seed": seed, "chunk": execution.chunk, "keep_series": keep_series,
        "planes": [{"keys": list(p.keys), "values": {a.key: list(a.values) for a in p.axes},
                    "specs": [a.spec for a in p.axes]} for p in planes],
        "points": len(points), "keyhole": is_keyhole(planes),
        "seeds": "every point: run i uses SeedSequence(seed, spawn_key=(i,)) (common random numbers)",
    }
    folder.start(settings)

    width = max(3, len(str(len(points) - 1)))
    rows: list[dict[str, Any]] = []
    failed = 0
    total = len(points) * runs
    with execution.shared() as shared:
        for point, point_scenario in zip(points, scenarios, strict=True):
            name = f"points/{point.index:0{width}d}"

            def point_progress(done: int, _total: int, k: int = point.index) -> None:
                execution.report(k * runs + done, total)

            execution_k = replace(shared, progress=point_progress, resume=False)
            point_setup = replace(setup, scenario=point_scenario, overrides=(*sets, *point.overrides),
                                  out_dir=target / name, execution=execution_k)
            result = run_ensemble(point_setup, runs=runs)
            failed += result.failed_runs
            rows.append(_point_row(point, planes, name, result.table))
            if not keep_series:
                shutil.rmtree(target / name / "market", ignore_errors=True)
        execution.report(total, total)

    frame = pd.DataFrame(rows)
    folder.table(frame, "points.parquet")
    summary = finite_or_none(_summary(scenario, frame, settings, failed, wall0, target))
    drawn = draw(setup.figures.sweep, target, points=frame, planes=planes, scenario=scenario, runs_per_point=runs)
    folder.json(summary, "summary.json")
    folder.add(*drawn)
    return ExperimentResult(frame, summary, folder.complete(settings), target)


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
