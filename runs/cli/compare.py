"""The ``multipolar compare`` command (registered on the CLI app of :mod:`runs.cli` by :func:`register`).

Exit codes: 0 success, 1 some run failed (the comparison uses the pairs that succeeded; runs.parquet says
which failed and why) or an arm could not be completed, 2 bad input (nothing written).
``python -m runs.compare_cli ...`` runs the command alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich import box
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

from runs.compare_stats import OUTCOMES, Outcome
from runs.scenario import ScenarioError
from runs.single import OutputDirError

__all__ = ["EXIT_BAD_INPUT", "EXIT_RUN_FAILED", "TABLE_NOTE", "compare", "comparison_tables", "register"]

EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2


def compare(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file, e.g. runs/baseline.toml.", show_default=False)],
    policies: Annotated[
        list[Path], typer.Option("--policy", metavar="FILE", show_default=False,
                                 help="Policy file (repeatable), e.g. runs/policies/compute_cap.toml: one arm each.")
    ],
    runs: Annotated[int, typer.Option("--runs", help="Runs per arm R (at least 2).", show_default=False)],
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**63 - 1,
                                      help="Root seed N shared by every arm; run i uses SeedSequence(N, "
                                      "spawn_key=(i,)).")] = 0,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="SECTION.KEY=VALUE",
                     help="Override one parameter in every arm (repeatable); VALUE is read as TOML, else as a "
                     "string."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Worker processes of the local Dask cluster; 1 runs in "
                                 "this process \\[default: one per core]. Ignored with --scheduler.")
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="Numba threads per worker \\[default: 1].")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", envvar="DASK_SCHEDULER_ADDRESS", metavar="ADDRESS",
                                 help="Use a running Dask scheduler (tcp://host:port) instead of a local cluster; "
                                 "the output directory must be on a filesystem its workers share.")
    ] = None,
    chunk: Annotated[
        int | None, typer.Option("--chunk", min=1, help="Runs per chunk \\[default: min(200, R/8)].")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory \\[default: runs/out/<scenario name>-compare/]."),
    ] = None,
    keep_series: Annotated[
        bool, typer.Option("--keep-series", help="Keep every arm's per-step market series (arms/*/market/).")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print exactly one JSON object (comparison.json) on stdout; the tables "
                           "go to stderr.")
    ] = False,
) -> None:
    """Compare policies with the baseline on common random numbers: paired differences with 95 % intervals,
    runs.parquet, comparison.json and forest.png."""
    # imported here, not at the top: `multipolar run` and `--help` start faster without the ensemble machinery
    from runs.compare import CompareInputError, prepare_compare, run_compare
    from runs.ensemble import EnsembleError, EnsembleInputError

    sets = list(overrides or [])
    command = ["multipolar", "compare", str(scenario)]
    for item in policies:
        command += ["--policy", str(item)]
    command += ["--runs", str(runs), "--seed", str(seed)]
    for item in sets:
        command += ["--set", item]
    for flag, value in (("--workers", workers), ("--threads", threads), ("--chunk", chunk), ("--out", out)):
        if value is not None:
            command += [flag, str(value)]
    if scheduler is not None:
        command += ["--scheduler", scheduler]
    command += [flag for flag, on in (("--keep-series", keep_series), ("--json", as_json)) if on]

    try:  # every check before the progress bar starts: bad input prints one line and writes nothing
        prepare_compare(scenario, policies, runs=runs, seed=seed, overrides=sets, out_dir=out, chunk=chunk,
                        workers=workers, threads=threads)
    except (ScenarioError, CompareInputError, EnsembleInputError, OutputDirError) as err:
        _bad_input(str(err))
    err_console = Console(stderr=True)
    if scheduler is not None and workers is not None:
        err_console.print(f"note: --workers {workers} is ignored with --scheduler (the cluster has its own workers)")
    try:
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
            TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
        ) as bar:
            task = bar.add_task(f"compare {len(policies)} polic{'y' if len(policies) == 1 else 'ies'} + baseline",
                                total=(len(policies) + 1) * runs)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = run_compare(
                scenario, policies, runs=runs, seed=seed, overrides=sets, out_dir=out, chunk=chunk, workers=workers,
                threads=threads, scheduler=scheduler, keep_series=keep_series, progress=progress, command=command,
            )
    except (ScenarioError, CompareInputError, EnsembleInputError, OutputDirError) as err:
        _bad_input(str(err))
    except EnsembleError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None

    comparison = result.comparison
    table_console = err_console if as_json else Console(file=sys.stdout)
    for table in comparison_tables(comparison):
        table_console.print(table)
    table_console.print(Text(TABLE_NOTE))
    table_console.print(Text(f"outputs: {result.out_dir}"))
    if as_json:
        typer.echo(json.dumps(comparison, allow_nan=False))
    if result.failed_runs:
        typer.echo(f"error: {result.failed_runs} runs failed (the comparison uses the pairs that succeeded); see the "
                   f"status and error columns of {result.out_dir / 'runs.parquet'}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED)


def register(app: typer.Typer) -> None:
    """Add the ``compare`` command to ``app``."""
    app.command("compare")(compare)


def _bad_input(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _level(outcome: Outcome, value: float | None) -> str:
    if value is None:
        return "n/a"
    return format(value if outcome.kind == "binary" else value / outcome.scale, outcome.fmt)


def _signed(outcome: Outcome, value: float) -> str:
    if outcome.kind == "binary":
        return f"{100.0 * value:+.1f}"
    return format(value / outcome.scale, "+" + outcome.fmt)


def _difference(outcome: Outcome, stat: dict[str, Any]) -> str:
    if stat.get("difference") is None:
        return "n/a"
    text = _signed(outcome, stat["difference"])
    if stat.get("ci95"):
        lo, hi = stat["ci95"]
        text += f" [{_signed(outcome, lo)}, {_signed(outcome, hi)}]"
    return text + (" pp" if outcome.kind == "binary" else "")


ROW_LABELS: dict[str, str] = {
    "final_hhi": "final HHI (0-10,000)",
    "unipolar": "P(unipolar)",
    "takeoff_years": "takeoff (years)",
    "singularity": "P(singularity)",
    "catastrophe": "P(catastrophe)",
    "incidents": "incidents per run",
    "consumer_value": "consumer value (USD T)",
    "frontier_quality": "frontier quality (u)",
}
"""Short row labels with units, so a table fits 80 columns."""
TABLE_NOTE = ("difference: mean over runs of policy - baseline, runs paired by seed and uncertain draws; 95 % CI: "
              "Student t (means), Newcombe 1998 paired score (P); pp: percentage points; takeoff: over runs where "
              "both arms completed a takeoff.")


def comparison_tables(comparison: dict[str, Any]) -> list[Table]:
    """One table per policy arm: baseline and policy levels, the paired difference and its 95 % interval."""
    tables = []
    for arm, result in comparison["comparisons"].items():
        title = Text(f"{arm} - baseline: {result['pairs']} paired runs of '{comparison['scenario']}', "
                     f"seed {comparison['seed']}")
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for name, justify in (("outcome", "left"), ("baseline", "right"), ("policy", "right"),
                              ("difference [95 % CI]", "right"), ("pairs", "right")):
            table.add_column(name, justify=justify, no_wrap=name != "pairs")  # type: ignore[arg-type]
        for outcome in OUTCOMES:
            stat = result["outcomes"][outcome.key]
            table.add_row(ROW_LABELS.get(outcome.key, outcome.label), _level(outcome, stat["baseline"]),
                          _level(outcome, stat["policy"]), _difference(outcome, stat), str(stat["n_pairs"]))
        takeoff = result["outcomes"].get("takeoff_years")
        if takeoff is not None and (takeoff["only_policy"] or takeoff["only_baseline"]):
            table.caption = (f"takeoff completed in both arms in {takeoff['n_pairs']} runs, in the baseline only in "
                             f"{takeoff['only_baseline']}, with the policy only in {takeoff['only_policy']}")
            table.caption_justify = "left"
        tables.append(table)
    return tables


def _main() -> None:  # pragma: no cover - exercised through subprocess tests
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(compare)
    app()


if __name__ == "__main__":
    _main()
