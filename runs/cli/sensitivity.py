"""The ``multipolar sensitivity`` command: Sobol' or Morris indices of a scenario's outcomes (docs/sensitivity.md).

Exit codes as in :mod:`runs.cli.common`: 0 done, 1 some run failed or an output could not be analysed (the
summary says which), 2 bad input (nothing computed).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from runs.cli.common import (
    MaxMemory,
    Overrides,
    Overwrite,
    ScenarioFile,
    bad_input,
    command_errors,
    experiment_setup,
    fail,
    json_option,
    out_option,
    print_json,
    progress_bar,
    seed_option,
)
from runs.cli.formats import FigureFormat, with_figure_formats
from runs.cli.tables import AsCsv, one_stdout, table_console, write_tables
from runs.experiments.sensitivity import (
    DUMMY,
    METHODS,
    RUN_OUTCOMES,
    SensitivityResult,
    round_up_power_of_two,
    run_sensitivity,
)

__all__ = ["index_table", "sensitivity"]

DEFAULT_OUTPUTS = "final_hhi,leader_share,takeoff_years,frontier_log10_eff_compute"

Method = Annotated[str, typer.Option("--method", help="sobol (first- and total-order indices) or morris (elementary "
                                     "effects).")]
Samples = Annotated[int, typer.Option("--samples", min=2, help="Sobol': base samples N, rounded up to a power of two "
                                      "(N (d + 2) runs for d factors with the dummy); Morris: trajectories (N (d + 1) "
                                      "runs).")]
Outputs = Annotated[str, typer.Option("--outputs", help=f"Comma-separated outcomes; known: {', '.join(RUN_OUTCOMES)}.")]
Seed = seed_option("Root seed N: design row i is run i, SeedSequence(N, spawn_key=(i,)); it also seeds the design.")
Levels = Annotated[int, typer.Option("--levels", min=2, help="Morris grid levels.")]
Dummy = Annotated[bool, typer.Option("--dummy/--no-dummy", help="Add a factor the model never reads; its index is the "
                                     "noise threshold.")]
Workers = Annotated[int, typer.Option("--workers", min=1, help="Worker processes of a local Dask cluster; 1 runs in "
                                      "this process.")]
Threads = Annotated[int, typer.Option("--threads", min=1, help="Numba threads per worker.")]
Out = out_option("runs/out/<scenario name>-sensitivity/")
AsJson = json_option("the summary", "the tables go")


def sensitivity(
    ctx: typer.Context,
    scenario: ScenarioFile,
    method: Method = "sobol",
    samples: Samples = 256,
    outputs: Outputs = DEFAULT_OUTPUTS,
    seed: Seed = 0,
    levels: Levels = 4,
    overrides: Overrides = None,
    dummy: Dummy = True,
    workers: Workers = 1,
    threads: Threads = 1,
    max_memory: MaxMemory = None,
    out: Out = None,
    overwrite: Overwrite = False,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
    figure_format: FigureFormat = "png",
) -> None:
    """Global sensitivity of a scenario's outcomes to its uncertain parameters (SALib Sobol' or Morris).

    Factors: the default contested parameters and the \\[uncertain] keys with their priors (docs/sensitivity.md).
    """
    one_stdout(as_json, as_csv)

    names = [o.strip() for o in outputs.split(",") if o.strip()]
    if method not in METHODS:
        bad_input(f"--method {method!r}: choose one of {', '.join(METHODS)}")
    unknown = [o for o in names if o not in RUN_OUTCOMES]
    if unknown or not names:
        bad_input(f"--outputs: unknown {', '.join(unknown) or '(none given)'}; known: {', '.join(RUN_OUTCOMES)}")
    if method == "sobol" and samples != round_up_power_of_two(samples):
        Console(stderr=True).print(f"note: --samples {samples} rounded up to {round_up_power_of_two(samples)} "
                                   "(Sobol' sequences need a power of two)")
        samples = round_up_power_of_two(samples)
    with command_errors():
        setup = with_figure_formats(experiment_setup(ctx), figure_format)
        with progress_bar(f"{setup.scenario.name} {method}") as bar:
            result = run_sensitivity(setup.with_progress(bar), method=method, samples=samples, outputs=names,
                                     levels=levels, dummy=dummy)
    analysis = result.details["analysis"]
    console = table_console(as_json, as_csv)
    write_tables([index_table(analysis, name) for name in names], console, as_csv)
    console.print(f"outputs in {result.out_dir}")
    if "correlations_not_applied" in result.summary:
        console.print(Text(f"note: {result.summary['correlations_not_applied']}"))
    if as_json:
        print_json(result.summary)
    problems = [f"{name}: {why}" for name, why in analysis.skipped.items()]
    if result.failed_runs:
        problems.append(f"{result.failed_runs} runs failed (status column of runs.parquet)")
    if problems:
        fail("; ".join(problems))


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
