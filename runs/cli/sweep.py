"""The ``multipolar sweep`` command: an ensemble at every point of a parameter grid (docs/views.md).

Exit codes as in :mod:`runs.cli.common`: 0 done, 1 some run failed (its point's runs.parquet says why) or a
point's ensemble could not be completed, 2 bad input (scenario, ``--set``, ``--grid``, options, output folder;
nothing computed).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from runs.cli.common import (
    AsJson,
    Chunk,
    ScenarioFile,
    ThreadsPerWorker,
    command_errors,
    experiment_setup,
    fail,
    out_option,
    print_json,
    progress_bar,
    runs_option,
    scheduler_option,
    seed_option,
    set_option,
    workers_option,
)
from runs.cli.formats import FigureFormat, with_figure_formats
from runs.cli.tables import AsCsv, one_stdout, table_console, write_tables
from runs.experiments.grid import KEYHOLE, Plane, parse_grid

__all__ = ["points_table", "sweep"]

_DEFAULT = ", ".join(f"{key}={spec}" for key, spec in KEYHOLE)

Runs = runs_option("Runs per grid point R.")
Grid = Annotated[
    list[str] | None,
    typer.Option("--grid", metavar="KEY=START:STOP:N",
                 help="A swept parameter: N evenly spaced values from START to STOP (append :log for a log scale); "
                 "one or two --grid options make one phase diagram. Without --grid: the takeoff keyhole, two planes "
                 f"({_DEFAULT}; r on both x axes)."),
]
Seed = seed_option("Root seed N, the same at every point (common random numbers).")
Overrides = set_option(" at every point", "VALUE is read as TOML.")
Workers = workers_option("Worker processes of the one local Dask cluster of the sweep; 1 runs in this process "
                         "\\[default: one per core].")
Scheduler = scheduler_option("Use a running Dask scheduler (tcp://host:port) instead of a local cluster.")
Out = out_option("runs/out/<scenario name>-sweep/")
KeepSeries = Annotated[bool, typer.Option("--keep-series", help="Keep every point's per-step market series "
                                          "(points/NNN/market/).")]


def sweep(
    ctx: typer.Context,
    scenario: ScenarioFile,
    runs: Runs,
    grid: Grid = None,
    seed: Seed = 0,
    overrides: Overrides = None,
    workers: Workers = None,
    threads: ThreadsPerWorker = None,
    scheduler: Scheduler = None,
    chunk: Chunk = None,
    out: Out = None,
    keep_series: KeepSeries = False,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
    figure_format: FigureFormat = "png",
) -> None:
    """Run an ensemble at every point of a parameter grid; write points.parquet and the phase diagrams."""
    one_stdout(as_json, as_csv)
    # imported here, not at the top: `multipolar run` and `--help` start faster without the ensemble machinery
    from runs.experiments import run_sweep

    with command_errors():
        planes = (Plane(tuple(parse_grid(item) for item in grid)),) if grid else None
        setup = with_figure_formats(experiment_setup(ctx), figure_format)
        with progress_bar("sweep") as bar:
            def progress(done: int, total: int) -> None:
                shown = min(done // runs + 1, total // runs)
                bar(done, total, label=f"sweep: point {shown}/{total // runs}")

            result = run_sweep(setup.with_progress(progress), runs=runs, planes=planes, keep_series=keep_series)

    write_tables([points_table(result.summary, result.table)], table_console(as_json, as_csv), as_csv)
    if as_json:
        print_json(result.summary)
    if result.failed_runs:
        fail(f"{result.failed_runs} runs failed; see the status and error columns of the points' runs.parquet under "
             f"{result.out_dir / 'points'}")


def points_table(summary: dict[str, Any], points: Any) -> Table:
    """One line per grid point: the swept values and the three headline statistics (fits 80 columns for two keys)."""
    keys = [key for plane in summary["planes"] for key in plane["keys"]]
    keys = list(dict.fromkeys(keys))
    table = Table(title=Text(f"{summary['scenario']} sweep: {summary['points']} points x {summary['runs_per_point']} "
                             f"runs, seed {summary['seed']}  ->  {summary['out_dir']}"), title_justify="left")
    # every column as wide as its longest header word or cell, so headers wrap between words (returns / to /
    # research), never inside one, and two swept keys fit 80 columns
    rows = [[f"{row[key]:g}" for key in keys] + [_share(row, "p_unipolar"), _share(row, "p_singularity"), _hhi(row)]
            for _, row in points.iterrows()]
    headers = [key.split(".")[-1].replace("_", " ") for key in keys]
    headers += ["P(unipolar) 95 % CI", "P(singularity) 95 % CI", "median final HHI"]
    for k, header in enumerate(headers):
        width = max([len(word) for word in header.split()] + [len(row[k]) for row in rows])
        table.add_column(header, justify="right", width=width)
    for cells in rows:
        table.add_row(*cells)
    return table


def _share(row: Any, name: str) -> str:
    value = row[name]
    return "n/a" if not math.isfinite(value) else f"{value:.0%} [{row[name + '_lo']:.0%}-{row[name + '_hi']:.0%}]"


def _hhi(row: Any) -> str:
    value = row["median_final_hhi"]
    return "n/a" if not math.isfinite(value) else f"{value:,.0f}"
