"""The ``multipolar sweep`` command (registered on the CLI app of :mod:`runs.cli` by :func:`register`).

Exit codes: 0 success, 1 some run failed (its point's runs.parquet says why) or a point's ensemble could not
be completed, 2 bad input (scenario, ``--set``, ``--grid``, options, output directory; nothing computed).
``python -m runs.sweep_cli ...`` runs the command alone.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from runs.scenario import ScenarioError
from runs.single import OutputDirError
from runs.sweep_grid import KEYHOLE, Plane, SweepInputError, parse_grid

__all__ = ["EXIT_BAD_INPUT", "EXIT_RUN_FAILED", "points_table", "register", "sweep"]

EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
_DEFAULT = ", ".join(f"{key}={spec}" for key, spec in KEYHOLE)


def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file, e.g. runs/baseline.toml.", show_default=False)],
    runs: Annotated[int, typer.Option("--runs", min=1, help="Runs per grid point R.", show_default=False)],
    grid: Annotated[
        list[str] | None,
        typer.Option("--grid", metavar="KEY=START:STOP:N",
                     help="A swept parameter: N evenly spaced values from START to STOP (append :log for a log "
                     "scale); one or two --grid options make one phase diagram. Without --grid: the takeoff "
                     f"keyhole, two planes ({_DEFAULT}; r on both x axes)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**63 - 1,
                                      help="Root seed N, the same at every point (common random numbers).")] = 0,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="SECTION.KEY=VALUE",
                     help="Override one parameter at every point (repeatable); VALUE is read as TOML."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Worker processes of the one local Dask cluster of the "
                                 "sweep; 1 runs in this process \\[default: one per core].")
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Numba threads per worker \\[default: 1].")
                       ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", envvar="DASK_SCHEDULER_ADDRESS", metavar="ADDRESS",
                                 help="Use a running Dask scheduler (tcp://host:port) instead of a local cluster.")
    ] = None,
    chunk: Annotated[int | None, typer.Option("--chunk", min=1, help="Runs per chunk \\[default: min(200, R/8)].")
                     ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output directory \\[default: runs/out/<scenario name>-sweep/].")
    ] = None,
    keep_series: Annotated[
        bool, typer.Option("--keep-series", help="Keep every point's per-step market series (points/NNN/market/).")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print exactly one JSON object (the summary) on stdout; the table goes "
                           "to stderr.")
    ] = False,
) -> None:
    """Run an ensemble at every point of a parameter grid; write points.parquet and the phase diagrams."""
    # imported here, not at the top: `multipolar run` and `--help` start faster without the ensemble machinery
    from runs.ensemble import EnsembleError, EnsembleInputError
    from runs.sweep import run_sweep

    sets = list(overrides or [])
    try:
        planes = (Plane(tuple(parse_grid(item) for item in grid)),) if grid else None
    except SweepInputError as err:
        _bad_input(str(err))
    command = ["multipolar", "sweep", str(scenario), "--runs", str(runs), "--seed", str(seed)]
    for item in grid or []:
        command += ["--grid", item]
    for item in sets:
        command += ["--set", item]
    for flag, value in (("--workers", workers), ("--threads", threads), ("--chunk", chunk), ("--out", out),
                        ("--scheduler", scheduler)):
        if value is not None:
            command += [flag, str(value)]
    command += [flag for flag, on in (("--keep-series", keep_series), ("--json", as_json)) if on]

    err_console = Console(stderr=True)
    try:
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
            TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
        ) as bar:
            task = bar.add_task("sweep", total=None)

            def progress(done: int, total: int, point: int, points: int) -> None:
                shown = min(point + 1, points)
                bar.update(task, completed=done, total=total, description=f"sweep: point {shown}/{points}")

            result = run_sweep(
                scenario, runs=runs, planes=planes, seed=seed, overrides=sets, out_dir=out, chunk=chunk,
                workers=workers, threads=threads, scheduler=scheduler, keep_series=keep_series, progress=progress,
                command=command,
            )
    except (ScenarioError, SweepInputError, EnsembleInputError, OutputDirError) as err:
        _bad_input(str(err))
    except EnsembleError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None

    table_console = err_console if as_json else Console(file=sys.stdout)
    table_console.print(points_table(result.summary, result.points))
    if as_json:
        typer.echo(json.dumps(result.summary, allow_nan=False))
    if result.failed_runs:
        typer.echo(f"error: {result.failed_runs} runs failed; see the status and error columns of the points' "
                   f"runs.parquet under {result.out_dir / 'points'}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED)


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` command to ``app``."""
    app.command("sweep")(sweep)


def points_table(summary: dict[str, Any], points: Any) -> Table:
    """One line per grid point: the swept values and the three headline statistics."""
    keys = [key for plane in summary["planes"] for key in plane["keys"]]
    keys = list(dict.fromkeys(keys))
    table = Table(title=Text(f"{summary['scenario']} sweep: {summary['points']} points x {summary['runs_per_point']} "
                             f"runs, seed {summary['seed']}  ->  {summary['out_dir']}"), title_justify="left")
    for key in keys:
        table.add_column(key.split(".")[-1], justify="right", overflow="fold")
    for name in ("P(unipolar) [95 % CI]", "P(singularity) [95 % CI]", "median final HHI"):
        table.add_column(name, justify="right", overflow="fold")
    for _, row in points.iterrows():
        cells = [f"{row[key]:g}" for key in keys]
        cells += [_share(row, "p_unipolar"), _share(row, "p_singularity"), _hhi(row)]
        table.add_row(*cells)
    return table


def _share(row: Any, name: str) -> str:
    value = row[name]
    return "n/a" if not math.isfinite(value) else f"{value:.0%} [{row[name + '_lo']:.0%}, {row[name + '_hi']:.0%}]"


def _hhi(row: Any) -> str:
    value = row["median_final_hhi"]
    return "n/a" if not math.isfinite(value) else f"{value:,.0f}"


def _bad_input(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _main() -> None:  # pragma: no cover - exercised through subprocess tests
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(sweep)
    app()


if __name__ == "__main__":
    _main()
