"""Parameter sweeps: an ensemble at every point of a grid, and phase diagrams of the outcomes.

Each grid point (:mod:`runs.sweep_grid`) is an ordinary ensemble (:func:`runs.ensemble.run_ensemble`) of the
scenario with the point's values applied as ``--set`` overrides, written to ``DIR/points/NNN/``.  Every point
uses the same root seed, so run ``i`` has the root ``SeedSequence(N, spawn_key=(i,))`` at every point
(common random numbers: differences between points come from the parameters, not from the draws).  One Dask
cluster serves the whole sweep (its scheduler address is handed to every point's ensemble); ``workers=1``
runs everything in this process.

Output directory (default ``runs/out/<name>-sweep/``)::

    points.parquet       one row per grid point: plane, swept values, statistics with 95 % intervals
    summary.json         the sweep's settings and the range of each statistic
    manifest.json        provenance (runs.manifest) with a ``sweep`` section; ``kind`` is "sweep"
    phase_diagram.png    P(unipolar), share of runs with a singularity, median final HHI over each plane
    points/NNN/          point NNN's ensemble (runs.parquet, summary.json, figures; its per-step market
                         series only with ``keep_series``)
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from economy.params import Scenario
from runs.ensemble import default_workers_threads, run_ensemble, shared_scheduler
from runs.ensemble_chunk import write_table_atomic, write_text_atomic
from runs.ensemble_figures import save_figure_atomic
from runs.manifest import build_manifest
from runs.scenario import ScenarioError, load_scenario
from runs.single import default_output_dir, finite_or_none
from runs.sweep_grid import (
    GridPoint,
    Plane,
    SweepInputError,
    check_planes,
    grid_points,
    keyhole_planes,
    scenario_value,
)
from runs.sweep_stats import POINT_STATISTICS, point_statistics

__all__ = [
    "FORMAT",
    "SweepInputError",
    "SweepResult",
    "default_sweep_dir",
    "is_keyhole",
    "read_points",
    "run_sweep",
]

FORMAT = "multipolar-sweep/1"

Progress = Callable[[int, int, int, int], None]
"""``progress(runs_done, runs_total, points_done, points_total)``."""


@dataclass
class SweepResult:
    """What :func:`run_sweep` returns: the summary (as in summary.json), the points table and the directory."""

    summary: dict[str, Any]
    points: pd.DataFrame
    out_dir: Path
    failed_runs: int


def default_sweep_dir(scenario: Scenario) -> Path:
    """``runs/out/<name>-sweep`` under the current directory."""
    return default_output_dir(scenario).with_name(f"{scenario.name}-sweep")


def is_keyhole(planes: Sequence[Plane]) -> bool:
    """True for the default planes (:func:`runs.sweep_grid.keyhole_planes`)."""
    return [p.keys for p in planes] == [p.keys for p in keyhole_planes()]


def run_sweep(
    scenario_path: str | Path,
    *,
    runs: int,
    planes: Sequence[Plane] | None = None,
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
) -> SweepResult:
    """Run an ensemble of ``runs`` runs at every grid point and write points.parquet and the phase diagrams.

    Parameters
    ----------
    scenario_path
        The scenario TOML file; ``overrides`` (``--set``) apply at every point, before the point's values.
    planes
        The grid; default :func:`runs.sweep_grid.keyhole_planes`.
    runs, seed
        Runs per point and the root seed shared by every point (common random numbers).
    chunk, workers, threads, scheduler
        As for :func:`runs.ensemble.run_ensemble`; one local cluster of ``workers`` processes (default one
        per core) is started for the whole sweep unless ``workers == 1`` or ``scheduler`` is given.
    keep_series
        Keep every point's per-step market series (``points/NNN/market/``); by default they are deleted once
        the point is summarised (they are about 45 kB per run).

    Raises
    ------
    ScenarioError
        The scenario file or an override is bad.
    SweepInputError
        A bad grid or option, an invalid scenario at some grid point, or an unusable output directory.
    runs.ensemble.EnsembleError
        A point's ensemble could not be completed.
    """
    wall0 = time.perf_counter()
    if not isinstance(runs, int) or runs < 1:
        raise SweepInputError(f"--runs {runs!r}: need at least one run per point")
    sets = list(overrides)
    base, text = load_scenario(scenario_path, sets)
    planes = tuple(planes) if planes else keyhole_planes()
    check_planes(planes, sets, tuple(base.uncertain))
    points = grid_points(planes, {key: scenario_value(base, key) for plane in planes for key in plane.keys})
    scenarios = [_point_scenario(scenario_path, sets, point) for point in points]
    target = Path(out_dir) if out_dir is not None else default_sweep_dir(base)
    target = target.absolute()
    _fresh_directory(target)
    settings = {
        "format": FORMAT, "runs_per_point": runs, "seed": seed, "chunk": chunk, "keep_series": keep_series,
        "planes": [{"keys": list(p.keys), "values": {a.key: list(a.values) for a in p.axes},
                    "specs": [a.spec for a in p.axes]} for p in planes],
        "points": len(points), "keyhole": is_keyhole(planes),
        "seeds": "every point: run i uses SeedSequence(seed, spawn_key=(i,)) (common random numbers)",
    }
    manifest_args = {"overrides": sets, "command": command}
    write_text_atomic(_manifest_text(base, text, seed, {**settings, "status": "running"}, [], **manifest_args),
                      target / "manifest.json")

    width = max(3, len(str(len(points) - 1)))
    rows: list[dict[str, Any]] = []
    failed = 0
    workers_n, threads_n = default_workers_threads(workers, threads)
    with shared_scheduler(workers_n, scheduler) as address:
        for point, scenario in zip(points, scenarios, strict=True):
            name = f"points/{point.index:0{width}d}"

            def point_progress(done: int, total: int, k: int = point.index) -> None:
                if progress is not None:
                    progress(k * runs + done, len(points) * runs, k, len(points))

            result = run_ensemble(
                scenario, text, runs=runs, seed=seed, overrides=[*sets, *point.overrides], out_dir=target / name,
                chunk=chunk, workers=1 if address is None else None, threads=threads_n, scheduler=address,
                progress=point_progress, command=command,
            )
            failed += result.failed_runs
            table = pd.read_parquet(target / name / "runs.parquet")
            rows.append(_point_row(point, planes, name, table))
            if not keep_series:
                shutil.rmtree(target / name / "market", ignore_errors=True)
        if progress is not None:
            progress(len(points) * runs, len(points) * runs, len(points), len(points))

    frame = pd.DataFrame(rows)
    write_table_atomic(pa.Table.from_pandas(frame, preserve_index=False), target / "points.parquet")
    summary = finite_or_none(_summary(base, frame, settings, failed, wall0, target))
    figures = _figures(frame, planes, base, runs)
    for file_name, fig in figures.items():
        save_figure_atomic(fig, target / file_name)
    write_text_atomic(json.dumps(summary, indent=2, allow_nan=False) + "\n", target / "summary.json")
    files = [target / "points.parquet", target / "summary.json", *(target / f for f in figures)]
    write_text_atomic(_manifest_text(base, text, seed, {**settings, "status": "complete"}, files, **manifest_args),
                      target / "manifest.json")
    return SweepResult(summary, frame, target, failed)


def read_points(out_dir: str | Path) -> pd.DataFrame:
    """points.parquet of a sweep."""
    return pd.read_parquet(Path(out_dir) / "points.parquet")


# ---------------------------------------------------------------------------------------------- points
def _point_scenario(path: str | Path, sets: Sequence[str], point: GridPoint) -> Scenario:
    try:
        scenario, _ = load_scenario(path, [*sets, *point.overrides])
    except ScenarioError as err:
        raise SweepInputError(f"grid point {', '.join(point.overrides)}: {err}") from None
    return scenario


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


def _figures(frame: pd.DataFrame, planes: Sequence[Plane], base: Scenario, runs: int) -> dict[str, Any]:
    from runs.phase_figures import sweep_figure_set

    return sweep_figure_set(frame, planes, scenario=base, runs_per_point=runs)


# ---------------------------------------------------------------------------------------------- machinery
def _fresh_directory(target: Path) -> None:
    """The target must be absent, empty, or an earlier output (it holds manifest.json); it is emptied."""
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise SweepInputError(f"output path {target} exists and is not a directory")
        entries = list(target.iterdir())
        if entries and not (target / "manifest.json").is_file():
            raise SweepInputError(f"output directory {target} is not empty and holds no manifest.json; refusing to "
                                  "replace it (choose another --out)")
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    target.mkdir(parents=True, exist_ok=True)


def _manifest_text(scenario: Scenario, text: str, seed: int, state: dict[str, Any], files: Sequence[Path], *,
                   overrides: Sequence[str], command: Sequence[str] | None) -> str:
    manifest = build_manifest(scenario, text, seeds=[], overrides=overrides, files=files, command=command,
                              extra={"kind": "sweep", "root_seed": seed, "sweep": state})
    return json.dumps(finite_or_none(manifest), indent=2, allow_nan=False) + "\n"
