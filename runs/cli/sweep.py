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
    MaxMemory,
    Overwrite,
    PolicyFiles,
    ScenarioFile,
    ThreadsPerWorker,
    TlsCaFile,
    TlsCert,
    TlsKey,
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
from runs.cli.compare import MinEffects, parse_min_effects
from runs.cli.formats import FigureFormat, with_figure_formats
from runs.cli.tables import AsCsv, one_stdout, table_console, write_tables
from runs.experiments.grid import KEYHOLE, Plane, parse_grid
from runs.experiments.stats import PAIRED_OUTCOMES
from runs.views.policy import signed_text

__all__ = ["dose_table", "points_table", "sweep"]

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
PointFigures = Annotated[bool, typer.Option("--point-figures", help="Also draw every point's ensemble figures "
                                            "(points/NNN/*.png; about 2 s per point).")]
TargetOption = Annotated[str | None, typer.Option(
    "--target", metavar="COLUMN<LEVEL",
    help="With one --grid key: mark where the outcome flips, e.g. \"p_unipolar<0.2\" (a column of points.parquet; "
    "<, <=, >, >=).")]


def sweep(
    ctx: typer.Context,
    scenario: ScenarioFile,
    runs: Runs,
    grid: Grid = None,
    seed: Seed = 0,
    overrides: Overrides = None,
    policy_files: PolicyFiles = None,
    workers: Workers = None,
    threads: ThreadsPerWorker = None,
    scheduler: Scheduler = None,
    tls_ca_file: TlsCaFile = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    chunk: Chunk = None,
    max_memory: MaxMemory = None,
    out: Out = None,
    overwrite: Overwrite = False,
    keep_series: KeepSeries = False,
    point_figures: PointFigures = False,
    target: TargetOption = None,
    min_effects: MinEffects = None,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
    figure_format: FigureFormat = "png",
) -> None:
    """Run an ensemble at every point of a parameter grid; write points.parquet and the phase diagrams. A grid
    over a policy's key (policies.<name>.<key>) is a dose-response sweep: it also runs the scenario without that
    policy on the same seeds and draws, and writes each point's paired effects, dose_response.png and
    tradeoff.png."""
    one_stdout(as_json, as_csv)
    # imported here, not at the top: `multipolar run` and `--help` start faster without the ensemble machinery
    from runs.experiments import run_sweep

    with command_errors():
        planes = (Plane(tuple(parse_grid(item) for item in grid)),) if grid else None
        setup = with_figure_formats(experiment_setup(ctx), figure_format)
        with progress_bar("sweep") as bar:
            def progress(done: int, total: int) -> None:
                shown = min(done // runs + 1, total // runs)
                bar(done, total, label=f"sweep: ensemble {shown}/{total // runs}")

            result = run_sweep(setup.with_progress(progress), runs=runs, planes=planes, keep_series=keep_series,
                               point_figures=point_figures, target=target, min_effects=parse_min_effects(min_effects))

    tables = [points_table(result.summary, result.table)]
    if result.summary.get("policy_sweep"):
        tables.append(dose_table(result.summary, result.table))
    write_tables(tables, table_console(as_json, as_csv), as_csv)
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


def dose_table(summary: dict[str, Any], points: Any) -> Table:
    """A policy sweep's points against the no-policy arm: the paired effects with 95 % intervals, and the flip."""
    section = summary["policy_sweep"]
    keys = section["keys"]
    table = Table(title=Text("paired effects against the scenario without the policy (same seeds and draws): mean "
                             "of paired differences [95 % CI]"), title_justify="left")
    for key in keys:
        table.add_column(key.split(".")[-1], justify="right", overflow="fold")
    by_key = {o.key: o for o in PAIRED_OUTCOMES}
    shown = ("unipolar", "final_hhi", "delay_par_human", "consumer_value", "catastrophe")
    for key in shown:
        table.add_column(f"{by_key[key].label} ({'pp' if by_key[key].kind == 'binary' else by_key[key].unit})",
                         justify="right", overflow="fold")
    for _, row in points.iterrows():
        cells = [f"{row[key]:g}" for key in keys]
        for key in shown:
            outcome = by_key[key]
            value, lo, hi = row[f"diff_{key}"], row[f"diff_{key}_lo"], row[f"diff_{key}_hi"]
            text = "n/a" if not math.isfinite(value) else signed_text(outcome, value)
            if math.isfinite(lo) and math.isfinite(hi):
                text += f" [{signed_text(outcome, lo)}, {signed_text(outcome, hi)}]"
            cells.append(Text(text, style="bold red" if row[f"finding_{key}"] else ""))
        table.add_row(*cells)
    flip = section.get("target")
    if flip:
        crossing = "never crossed on this grid" if flip["crossing"] is None else f"crossed at {flip['crossing']:.4g}"
        def at(value: float | None) -> str:
            return "nowhere on this grid" if value is None else f"at {value:.4g}"

        without = flip.get("no_policy")
        met = "" if without is None else (f" Without the policy: {without['estimate']:.4g}, the target is "
                                          f"{'met' if without['met'] else 'not met'}.")
        table.caption = (f"target {flip['target']}: {crossing}; first met {at(flip['first_met'])}, by the whole "
                         f"95 % interval {at(flip['first_met_by_interval'])}.{met} Capability delay: "
                         f"{section['censoring']}.")
        table.caption_justify = "left"
    return table


def _share(row: Any, name: str) -> str:
    value = row[name]
    return "n/a" if not math.isfinite(value) else f"{value:.0%} [{row[name + '_lo']:.0%}-{row[name + '_hi']:.0%}]"


def _hhi(row: Any) -> str:
    value = row["median_final_hhi"]
    return "n/a" if not math.isfinite(value) else f"{value:,.0f}"
