"""The ``multipolar ensemble`` command (registered on the CLI app of :mod:`runs.cli` by :func:`register`).

Exit codes: 0 success, 1 some run failed (its row in runs.parquet says why) or the ensemble could not be
completed, 2 bad input (nothing computed).  ``python -m runs.ensemble_cli ...`` runs the command alone.
"""

from __future__ import annotations

import json
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

from runs.scenario import ScenarioError, load_scenario
from runs.single import OutputDirError

__all__ = ["EXIT_BAD_INPUT", "EXIT_RUN_FAILED", "ensemble", "register"]

EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2


def ensemble(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file, e.g. runs/baseline.toml.", show_default=False)],
    runs: Annotated[int, typer.Option("--runs", min=1, help="Number of runs R.", show_default=False)],
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**63 - 1,
                                      help="Root seed N; run i uses SeedSequence(N, spawn_key=(i,)).")] = 0,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="SECTION.KEY=VALUE",
                     help="Override one parameter (repeatable); VALUE is read as TOML, else as a string."),
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
        int | None, typer.Option("--chunk", min=1, help="Runs per chunk (one compiled batch) \\[default: "
                                 "min(200, R/8); on --resume: the interrupted ensemble's].")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory \\[default: runs/out/<scenario name>-ensemble/]."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Complete an interrupted ensemble in the output directory without "
                           "recomputing its finished chunks.")
    ] = False,
    record_labs: Annotated[
        bool, typer.Option("--record-labs", help="Also write every run's lab table (labs/; large).")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print exactly one JSON object (the summary) on stdout; the table goes "
                           "to stderr.")
    ] = False,
) -> None:
    """Run a Monte Carlo ensemble of a scenario on Dask and write runs.parquet, market/, summary and figures."""
    # imported here, not at the top: `multipolar run` and `--help` start faster without the ensemble machinery
    from runs.ensemble import EnsembleError, EnsembleInputError, run_ensemble

    sets = list(overrides or [])
    try:
        sc, text = load_scenario(scenario, sets)
    except ScenarioError as err:
        _bad_input(str(err))
    command = ["multipolar", "ensemble", str(scenario), "--runs", str(runs), "--seed", str(seed)]
    for item in sets:
        command += ["--set", item]
    for flag, value in (("--workers", workers), ("--threads", threads), ("--chunk", chunk), ("--out", out)):
        if value is not None:
            command += [flag, str(value)]
    if scheduler is not None:
        command += ["--scheduler", scheduler]
    command += [flag for flag, on in (("--resume", resume), ("--record-labs", record_labs), ("--json", as_json)) if on]

    err_console = Console(stderr=True)
    if scheduler is not None and workers is not None:
        err_console.print(f"note: --workers {workers} is ignored with --scheduler (the cluster has its own workers)")
    try:
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
            TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
        ) as bar:
            task = bar.add_task(f"{sc.name} ensemble", total=runs)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = run_ensemble(
                sc, text, runs=runs, seed=seed, overrides=sets, out_dir=out, chunk=chunk, workers=workers,
                threads=threads, scheduler=scheduler, resume=resume, record_labs=record_labs, progress=progress,
                command=command,
            )
    except (EnsembleInputError, OutputDirError, ScenarioError) as err:
        _bad_input(str(err))
    except EnsembleError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None

    summary = result.summary
    table_console = err_console if as_json else Console(file=sys.stdout)
    table_console.print(summary_table(summary))
    if as_json:
        typer.echo(json.dumps(summary, allow_nan=False))
    if result.failed_runs:
        typer.echo(f"error: {result.failed_runs} of {summary['runs']} runs failed; see the status and error "
                   f"columns of {result.out_dir / 'runs.parquet'}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED)


def register(app: typer.Typer) -> None:
    """Add the ``ensemble`` command to ``app``."""
    app.command("ensemble")(ensemble)


def _bad_input(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _num(value: Any, fmt: str, missing: str = "n/a") -> str:
    return missing if value is None else format(value, fmt)


def _quantile_text(q: dict[str, float] | None, fmt: str) -> str:
    if not q:
        return "n/a"
    return f"{_num(q['p50'], fmt)}  [{_num(q['p05'], fmt)} .. {_num(q['p95'], fmt)}]"


def _share_text(p: dict[str, Any]) -> str:
    if p.get("probability") is None:
        return "n/a"
    lo, hi = p["wilson95"]
    return f"{p['probability']:.1%}  (95 % CI {lo:.1%} .. {hi:.1%})"


def summary_table(s: dict[str, Any]) -> Table:
    """The summary as a two-column table (medians with the 5-95 % range)."""
    table = Table(title=Text(f"{s['scenario']} ensemble: {s['runs']} runs, seed {s['seed']}"), show_header=False,
                  title_justify="left")
    table.add_column("outcome", style="bold")
    table.add_column("value", justify="right")
    thr = s.get("throughput") or {}
    takeoff, singular = s["takeoff_years"], s["singularity_year"]
    rows = [
        ("runs ok / failed", f"{s['ok_runs']} / {s['failed_runs']}"),
        ("P(unipolar) (share > 0.5 or HHI > 5,000)", _share_text(s["unipolar"])),
        ("final HHI (0-10,000), median [5 .. 95 %]", _quantile_text(s["final_hhi"], ",.0f")),
        ("final leader share, median [5 .. 95 %]", _quantile_text(s["leader_share"], ".3f")),
        ("runs with a completed takeoff", _num(takeoff["share_with"], ".1%")),
        ("takeoff (years), median [5 .. 95 %]", _quantile_text(takeoff["quantiles"], ".2f")),
        ("runs with a singularity", _num(singular["share_with"], ".1%")),
        ("singularity year, median [5 .. 95 %]", _quantile_text(singular["quantiles"], ".1f")),
        ("P(catastrophe)", _share_text(s["catastrophe"])),
        ("throughput (runs/s)", _num(thr.get("runs_per_second"), ",.0f")),
        ("chunks computed / reused", f"{thr.get('chunks_computed')} / {thr.get('chunks_reused')}"),
        ("outputs", str(s.get("out_dir"))),
    ]
    for name, value in rows:
        table.add_row(Text(name), Text(value))
    return table


def _main() -> None:  # pragma: no cover - exercised through subprocess tests
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(ensemble)
    app()


if __name__ == "__main__":
    _main()
