"""The ``multipolar ensemble`` command: a Monte Carlo ensemble of a scenario (docs/ensembles.md).

Exit codes as in :mod:`runs.cli.common`: 0 done, 1 some run failed (its row in runs.parquet says why) or the
ensemble could not be completed, 2 bad input (nothing computed).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from runs.cli.common import (
    AsJson,
    MaxMemory,
    Overrides,
    Overwrite,
    PolicyFiles,
    PosteriorFile,
    ScenarioFile,
    Scheduler,
    ThreadsPerWorker,
    TlsCaFile,
    TlsCert,
    TlsKey,
    Workers,
    chunk_option,
    command_errors,
    experiment_setup,
    fail,
    number,
    out_option,
    print_json,
    progress_bar,
    runs_option,
    seed_option,
)
from runs.cli.formats import FigureFormat, with_figure_formats
from runs.cli.tables import AsCsv, one_stdout, table_console, write_tables

__all__ = ["ensemble", "summary_table"]

Runs = runs_option("Number of runs R.")
Seed = seed_option("Root seed N; run i uses SeedSequence(N, spawn_key=(i,)).")
Chunk = chunk_option("Runs per chunk (one compiled batch) \\[default: R/8 within 16..200; on --resume: the interrupted "
                     "ensemble's].")
Out = out_option("runs/out/<scenario name>-ensemble/")
Resume = Annotated[bool, typer.Option("--resume", help="Complete an interrupted ensemble in the output directory "
                                      "without recomputing its finished chunks.")]
RecordLabs = Annotated[bool, typer.Option("--record-labs", help="Also write every run's lab table (labs/; large).")]


def ensemble(
    ctx: typer.Context,
    scenario: ScenarioFile,
    runs: Runs,
    seed: Seed = 0,
    overrides: Overrides = None,
    policy_files: PolicyFiles = None,
    posterior: PosteriorFile = None,
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
    resume: Resume = False,
    record_labs: RecordLabs = False,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
    figure_format: FigureFormat = "png",
) -> None:
    """Run a Monte Carlo ensemble of a scenario on Dask and write runs.parquet, market/, summary and figures."""
    one_stdout(as_json, as_csv)
    # imported here, not at the top: `multipolar run` and `--help` start faster without the ensemble machinery
    from runs.experiments import run_ensemble

    with command_errors():
        setup = with_figure_formats(experiment_setup(ctx), figure_format)
        with progress_bar(f"{setup.scenario.name} ensemble") as bar:
            result = run_ensemble(setup.with_progress(bar), runs=runs, record_labs=record_labs)

    summary = result.summary
    write_tables([summary_table(summary)], table_console(as_json, as_csv), as_csv)
    if as_json:
        print_json(summary)
    if result.failed_runs:
        fail(f"{result.failed_runs} of {summary['runs']} runs failed; see the status and error columns of "
             f"{result.out_dir / 'runs.parquet'}")


def _quantile_text(q: dict[str, float] | None, fmt: str) -> str:
    if not q:
        return "n/a"
    return f"{number(q['p50'], fmt)}  [{number(q['p05'], fmt)} .. {number(q['p95'], fmt)}]"


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
    posterior = s.get("posterior")
    unipolar = "P(unipolar) (share > 0.5 or HHI > 5,000)"
    rows = [
        ("runs ok / failed", f"{s['ok_runs']} / {s['failed_runs']}"),
        *([("posterior", f"{posterior['file']} ({posterior['rows']} rows, effective size "
                         f"{posterior['effective_sample_size']:.0f}); keys: {', '.join(posterior['keys'])}")]
          if posterior else []),
        (unipolar.replace(")", ", the posterior's)", 1) if posterior else unipolar, _share_text(s["unipolar"])),
        ("final HHI (0-10,000), median [5 .. 95 %]", _quantile_text(s["final_hhi"], ",.0f")),
        ("final leader share, median [5 .. 95 %]", _quantile_text(s["leader_share"], ".3f")),
        ("runs with a completed takeoff", number(takeoff["share_with"], ".1%")),
        ("takeoff (years), median [5 .. 95 %]", _quantile_text(takeoff["quantiles"], ".2f")),
        ("runs with a singularity", number(singular["share_with"], ".1%")),
        ("singularity year, median [5 .. 95 %]", _quantile_text(singular["quantiles"], ".1f")),
        ("P(catastrophe)", _share_text(s["catastrophe"])),
        ("robustness (unipolar)", (s.get("robustness") or {}).get("text", "n/a")),
        ("throughput (runs/s)", number(thr.get("runs_per_second"), ",.0f")),
        ("chunks computed / reused", f"{thr.get('chunks_computed')} / {thr.get('chunks_reused')}"),
        ("outputs", str(s.get("out_dir"))),
    ]
    for name, value in rows:
        table.add_row(Text(name), Text(value))
    return table
