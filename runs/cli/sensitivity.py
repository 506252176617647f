"""The ``multipolar sensitivity`` command (registered on the CLI app of :mod:`runs.cli` by :func:`register`).

Exit codes: 0 success, 1 some run failed or an output could not be analysed (the summary says which), 2 bad
input (nothing computed).  ``python -m runs.sensitivity_cli ...`` runs the command alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from runs.scenario import ScenarioError, load_scenario
from runs.sensitivity import (
    DUMMY,
    METHODS,
    OUTCOMES,
    SensitivityInputError,
    SensitivityResult,
    round_up_power_of_two,
    run_sensitivity,
)

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "index_table", "register", "sensitivity"]

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
DEFAULT_OUTPUTS = "final_hhi,leader_share,takeoff_years,frontier_log10_eff_compute"


def sensitivity(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file, e.g. runs/baseline.toml.", show_default=False)],
    method: Annotated[str, typer.Option("--method", help="sobol (first- and total-order indices) or morris "
                                        "(elementary effects).")] = "sobol",
    samples: Annotated[int, typer.Option("--samples", min=2, help="Sobol': base samples N, rounded up to a power "
                                         "of two (N (d + 2) runs for d factors with the dummy); Morris: "
                                         "trajectories (N (d + 1) runs).")] = 256,
    outputs: Annotated[str, typer.Option("--outputs", help=f"Comma-separated outcomes; known: {', '.join(OUTCOMES)}.")
                       ] = DEFAULT_OUTPUTS,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**63 - 1, help="Root seed N: design row i is run i, "
                                      "SeedSequence(N, spawn_key=(i,)); it also seeds the design.")] = 0,
    levels: Annotated[int, typer.Option("--levels", min=2, help="Morris grid levels.")] = 4,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="SECTION.KEY=VALUE",
                     help="Override one parameter (repeatable); VALUE is read as TOML, else as a string."),
    ] = None,
    dummy: Annotated[bool, typer.Option("--dummy/--no-dummy", help="Add a factor the model never reads; its index "
                                        "is the noise threshold.")] = True,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes of a local Dask cluster; 1 runs "
                                         "in this process.")] = 1,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Numba threads per worker.")] = 1,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory \\[default: "
                                             "runs/out/<scenario name>-sensitivity/].")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object (the summary) on stdout; "
                                          "the tables go to stderr.")] = False,
) -> None:
    """Global sensitivity of a scenario's outcomes to its uncertain parameters (SALib Sobol' or Morris).

    Factors: the scenario's [uncertain] table, or the default set of contested parameters (docs/sensitivity.md).
    """
    sets = list(overrides or [])
    names = [o.strip() for o in outputs.split(",") if o.strip()]
    if method not in METHODS:
        _bad_input(f"--method {method!r}: choose one of {', '.join(METHODS)}")
    unknown = [o for o in names if o not in OUTCOMES]
    if unknown or not names:
        _bad_input(f"--outputs: unknown {', '.join(unknown) or '(none given)'}; known: {', '.join(OUTCOMES)}")
    err_console = Console(stderr=True)
    if method == "sobol" and samples != round_up_power_of_two(samples):
        err_console.print(f"note: --samples {samples} rounded up to {round_up_power_of_two(samples)} (Sobol' "
                          "sequences need a power of two)")
        samples = round_up_power_of_two(samples)
    try:
        sc, text = load_scenario(scenario, sets)
    except ScenarioError as err:
        _bad_input(str(err))
    command = ["multipolar", "sensitivity", str(scenario), "--method", method, "--samples", str(samples),
               "--outputs", ",".join(names), "--seed", str(seed), "--levels", str(levels)]
    for item in sets:
        command += ["--set", item]
    command += ["--workers", str(workers), "--threads", str(threads)]
    if out is not None:
        command += ["--out", str(out)]
    if not dummy:
        command.append("--no-dummy")
    try:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
                      TimeElapsedColumn(), console=err_console, transient=True) as bar:
            task = bar.add_task(f"{sc.name} {method}", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result, target = run_sensitivity(
                sc, text, method=method, samples=samples, outputs=names, seed=seed, levels=levels, dummy=dummy,
                workers=workers, threads=threads, out_dir=out, overrides=sets, command=command, progress=progress)
    except (SensitivityInputError, ScenarioError) as err:
        _bad_input(str(err))
    console = err_console if as_json else Console(file=sys.stdout)
    for name in names:
        console.print(index_table(result, name))
    console.print(f"outputs in {target}")
    summary = json.loads((target / "sensitivity.json").read_text(encoding="utf-8"))
    if as_json:
        typer.echo(json.dumps(summary, allow_nan=False))
    problems = [f"{name}: {why}" for name, why in result.skipped.items()]
    if summary.get("failed_runs"):
        problems.append(f"{summary['failed_runs']} runs failed (status column of runs.parquet)")
    if problems:
        typer.echo("error: " + "; ".join(problems), err=True)
        raise typer.Exit(EXIT_FAILED)


def index_table(result: SensitivityResult, output: str) -> Table:
    """One output's indices as a rich table, factors sorted by total effect."""
    if output in result.skipped:
        table = Table(title=Text(f"{output}: not analysed ({result.skipped[output]})"), title_justify="left")
        return table
    frame = result.table(output)
    sobol = result.method == "sobol"
    key = "ST" if sobol else "mu_star"
    frame = frame.sort_values(key, ascending=False, kind="stable")
    threshold = result.noise_threshold(output)
    note = f", noise threshold {threshold:.3g}" if threshold is not None else ""
    censored = result.censored.get(output, 0)
    note += f", {censored} runs censored" if censored else ""
    table = Table(title=Text(f"{output} ({result.method}, {result.n_runs} runs{note})"), title_justify="left")
    table.add_column("factor")
    columns = ("S1", "S1_conf", "ST", "ST_conf") if sobol else ("mu_star", "mu_star_conf", "sigma", "mu")
    for column in columns:
        table.add_column(column.replace("_conf", " +-"), justify="right")
    for row in frame.itertuples(index=False):
        values = [getattr(row, c) for c in columns]
        below = threshold is not None and row.factor != DUMMY and getattr(row, key) <= threshold
        style = "dim" if (row.factor == DUMMY or below) else ""
        table.add_row(Text(str(row.factor), style=style), *(Text(f"{v:.3f}", style=style) for v in values))
    return table


def register(app: typer.Typer) -> None:
    """Add the ``sensitivity`` command to ``app``."""
    app.command("sensitivity")(sensitivity)


def _bad_input(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


if __name__ == "__main__":  # pragma: no cover
    _app = typer.Typer(add_completion=False)
    register(_app)
    _app()
