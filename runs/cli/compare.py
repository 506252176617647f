"""The ``multipolar compare`` command: policies against the baseline on common random numbers (docs/policies.md).

Exit codes as in :mod:`runs.cli.common`: 0 done, 1 some run failed (the comparison uses the pairs that
succeeded; runs.parquet says which failed and why) or an arm could not be completed, 2 bad input (nothing
written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from runs.cli.common import (
    Chunk,
    ScenarioFile,
    Scheduler,
    ThreadsPerWorker,
    Workers,
    command_errors,
    experiment_setup,
    fail,
    json_option,
    out_option,
    print_json,
    progress_bar,
    runs_option,
    seed_option,
    set_option,
)
from runs.cli.formats import FigureFormat, with_figure_formats
from runs.cli.tables import AsCsv, one_stdout, table_console, write_tables
from runs.experiments.stats import PAIRED_OUTCOMES, PairedOutcome

__all__ = ["TABLE_NOTE", "compare", "comparison_tables"]

Policies = Annotated[list[Path], typer.Option("--policy", metavar="FILE", show_default=False,
                                              help="Policy file (repeatable), e.g. runs/policies/compute_cap.toml: "
                                              "one arm each.")]
Runs = runs_option("Runs per arm R (at least 2).", minimum=None)
Seed = seed_option("Root seed N shared by every arm; run i uses SeedSequence(N, spawn_key=(i,)).")
Overrides = set_option(" in every arm")
Out = out_option("runs/out/<scenario name>-compare/")
KeepSeries = Annotated[bool, typer.Option("--keep-series", help="Keep every arm's per-step market series "
                                          "(arms/*/market/).")]
AsJson = json_option("comparison.json", "the tables go")


def compare(
    ctx: typer.Context,
    scenario: ScenarioFile,
    policies: Policies,
    runs: Runs,
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
    """Compare policies with the baseline on common random numbers: paired differences with 95 % intervals.

    Writes runs.parquet, comparison.json and forest.png.
    """
    one_stdout(as_json, as_csv)
    # imported here, not at the top: `multipolar run` and `--help` start faster without the ensemble machinery
    from runs.experiments import run_compare

    with command_errors():
        setup = with_figure_formats(experiment_setup(ctx), figure_format)
        arms = f"compare {len(policies)} polic{'y' if len(policies) == 1 else 'ies'} + baseline"
        with progress_bar(arms) as bar:
            result = run_compare(setup.with_progress(bar), policies=policies, runs=runs, keep_series=keep_series)

    comparison = result.summary
    console = table_console(as_json, as_csv)
    write_tables(comparison_tables(comparison), console, as_csv)
    console.print(Text(TABLE_NOTE))
    console.print(Text(f"outputs: {result.out_dir}"))
    if as_json:
        print_json(comparison)
    if result.failed_runs:
        fail(f"{result.failed_runs} runs failed (the comparison uses the pairs that succeeded); see the status and "
             f"error columns of {result.out_dir / 'runs.parquet'}")


def _level(outcome: PairedOutcome, value: float | None) -> str:
    if value is None:
        return "n/a"
    return format(value if outcome.kind == "binary" else value / outcome.scale, outcome.fmt)


def _signed(outcome: PairedOutcome, value: float) -> str:
    if outcome.kind == "binary":
        return f"{100.0 * value:+.1f}"
    return format(value / outcome.scale, "+" + outcome.fmt)


def _difference(outcome: PairedOutcome, stat: dict[str, Any]) -> str:
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
        for outcome in PAIRED_OUTCOMES:
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
