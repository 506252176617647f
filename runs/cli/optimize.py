"""The ``multipolar optimize`` command: policy parameters searched with Optuna for the best trade-off
(runs.experiments.optimize, docs/policies.md "Optimise").

Exit codes as in :mod:`runs.cli.common`: 0 done, 1 some run failed (its trial's runs.parquet says why) or an
ensemble could not be completed, 2 bad input (scenario, policy files, ``--set``, ``--search``, objectives,
constraints, options, output folder; nothing computed).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from runs.cli.common import (
    AsJson,
    Chunk,
    PolicyFiles,
    ScenarioFile,
    ThreadsPerWorker,
    command_errors,
    experiment_setup,
    fail,
    out_option,
    output_console,
    print_json,
    progress_bar,
    runs_option,
    scheduler_option,
    seed_option,
    set_option,
    workers_option,
)
from runs.cli.compare import MinEffects, parse_min_effects

__all__ = ["front_table", "optimize"]

Search = Annotated[list[str], typer.Option(
    "--search", metavar="KEY=LOW:HIGH[:log|:STEP]", show_default=False,
    help="A searched policy parameter (repeatable), e.g. policies.compute_cap.max_training_flop=1e26:1e29:log.")]
Objectives = Annotated[list[str], typer.Option(
    "--objective", metavar="\"min|max COLUMN\"", show_default=False,
    help="An outcome to minimise or maximise (repeatable; two or more: NSGA-II, one: TPE), e.g. \"min p_unipolar\", "
    "\"min capability_delay_years\".")]
Constraints = Annotated[list[str] | None, typer.Option(
    "--constraint", metavar="COLUMN<LEVEL",
    help="An outcome a trial must meet (repeatable; <, <=, >, >=), e.g. \"capability_delay_years<=1\".")]
Trials = Annotated[int, typer.Option("--trials", min=1, help="Optuna trials N.", show_default=False)]
Runs = runs_option("Runs per trial's ensemble R (common random numbers: the same seeds in every trial).")
Seed = seed_option("Root seed of every trial's ensemble and of the sampler (same seed, same trials).")
Overrides = set_option(" in every trial", "VALUE is read as TOML.")
Workers = workers_option("Worker processes of the one local Dask cluster of the search; 1 runs in this process "
                         "\\[default: one per core].")
Scheduler = scheduler_option("Use a running Dask scheduler (tcp://host:port) instead of a local cluster.")
Out = out_option("runs/out/<scenario name>-optimize/")


def optimize(
    ctx: typer.Context,
    scenario: ScenarioFile,
    search: Search,
    objectives: Objectives,
    trials: Trials,
    runs: Runs,
    constraints: Constraints = None,
    seed: Seed = 0,
    overrides: Overrides = None,
    policy_files: PolicyFiles = None,
    workers: Workers = None,
    threads: ThreadsPerWorker = None,
    scheduler: Scheduler = None,
    chunk: Chunk = None,
    out: Out = None,
    min_effects: MinEffects = None,
    as_json: AsJson = False,
) -> None:
    """Search policy parameters for the Pareto front of chosen outcomes; write trials.parquet, pareto.png and
    the best settings as policy files (best/*.toml)."""
    # imported here, not at the top: `multipolar run` and `--help` start faster without the ensemble machinery
    from runs.experiments.optimize import parse_objective, parse_search, run_optimize

    with command_errors():
        keys = [parse_search(item) for item in search]
        goals = [parse_objective(item) for item in objectives]
        setup = experiment_setup(ctx)
        with progress_bar("optimize") as bar:
            def progress(done: int, total: int) -> None:
                bar(done, total, label=f"optimize: ensemble {min(done // runs + 1, total // runs)}/{total // runs}")

            result = run_optimize(setup.with_progress(progress), search=keys, objectives=goals,
                                  constraints=constraints or (), trials=trials, runs=runs,
                                  min_effects=parse_min_effects(min_effects))

    console = output_console(as_json)
    console.print(front_table(result.summary))
    console.print(Text(f"outputs: {result.out_dir}"))
    if as_json:
        print_json(result.summary)
    failed = int((result.table["failed_runs"] > 0).sum()) if "failed_runs" in result.table else 0
    if failed:
        fail(f"{failed} trials had failed runs; see the status and error columns of their runs.parquet under "
             f"{result.out_dir / 'trials'}")


def front_table(summary: dict[str, Any]) -> Table:
    """The Pareto front: one line per trial on it, the searched values and the objectives."""
    keys = [item["key"] for item in summary["search"]]
    columns = [text.split()[1] for text in summary["objectives"]]
    table = Table(title=Text(f"{summary['scenario']}: Pareto front of {summary['trials']} trials x "
                             f"{summary['runs_per_trial']} runs ({summary['sampler']}, seed {summary['seed']}; "
                             f"{summary['feasible_trials']} feasible)  ->  {summary['out_dir']}"),
                  title_justify="left")
    for name in ("trial", *(k.split(".")[-1] for k in keys), *columns, "policy file"):
        table.add_column(name, justify="right", overflow="fold")
    files = dict(zip([item["trial"] for item in summary["front"]], summary["best_files"], strict=True))
    for item in summary["front"]:
        table.add_row(str(item["trial"]), *(f"{item[k]:.4g}" for k in keys),
                      *("n/a" if item[c] is None else f"{item[c]:.4g}" for c in columns), files[item["trial"]])
    if not summary["front"]:
        table.caption = "no feasible trial: relax a --constraint or widen the --search ranges"
    return table
