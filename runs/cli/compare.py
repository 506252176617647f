"""The ``multipolar compare`` command: policies against the baseline on common random numbers (docs/policies.md).

Exit codes as in :mod:`runs.cli.common`: 0 done, 1 some run failed (the comparison uses the pairs that
succeeded; runs.parquet says which failed and why) or an arm could not be completed, 2 bad input (nothing
written).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from runs.cli.common import (
    Chunk,
    MaxMemory,
    Overwrite,
    PosteriorFile,
    ScenarioFile,
    Scheduler,
    ThreadsPerWorker,
    TlsCaFile,
    TlsCert,
    TlsKey,
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
from runs.views.policy import effect_rows, respond_rows

__all__ = ["REOPTIMISE_NOTE", "RESPOND_NOTE", "SURVIVING_OUTCOMES", "TABLE_NOTE", "MinEffects", "compare",
           "comparison_tables", "effects_table", "parse_min_effects", "reoptimise_options", "respond_tables",
           "surviving_note"]

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
MinEffects = Annotated[list[str] | None, typer.Option(
    "--min-effect", metavar="OUTCOME=VALUE",
    help="Practical threshold of an outcome (repeatable), in the unit of its difference (P and shares: a fraction, "
    "0.02 = 2 pp; consumer value and frontier quality: a fraction of the baseline): an effect is highlighted as a "
    "finding only when its 95 % interval excludes 0 by more than this. Defaults: docs/policies.md.")]

Respond = Annotated[bool, typer.Option(
    "--respond", help="Run each policy twice on the same seeds: with full compliance (nominal) and with labs free to "
    "evade it under the regulator of the scenario's enforcement table (effective, arm NAME-effective); report both "
    "effects, the leakage (share of the nominal effect lost), detections, fines and the regulator's spend "
    "(docs/policies.md).")]
Reoptimise = Annotated[bool, typer.Option(
    "--reoptimise", help="With --respond, a third variant per policy: evasion on and each investor-funded archetype's "
    "routine re-optimised under the policy by iterated best response on the same seeds (arm NAME-reoptimised), "
    "compared with the no-policy world re-optimised by the same search (baseline-reoptimised) (docs/policies.md).")]
ReoptimiseRuns = Annotated[int | None, typer.Option(
    "--reoptimise-runs", metavar="R", show_default=False,
    help="Runs per candidate routine in the search (default 64, at least 2).")]
ReoptimiseRounds = Annotated[int | None, typer.Option(
    "--reoptimise-rounds", metavar="N", show_default=False,
    help="Rounds of best responses at most (default 3, 1..20).")]
ReoptimiseStep = Annotated[float | None, typer.Option(
    "--reoptimise-step", metavar="STEP", show_default=False,
    help="Grid step of the fractions (compute, training, safety shares, openness): v - STEP, v, v + STEP (default "
    "0.1, in (0, 0.5]).")]
ReoptimiseRatio = Annotated[float | None, typer.Option(
    "--reoptimise-ratio", metavar="RATIO", show_default=False,
    help="Grid ratio of the spend rate: v / RATIO, v, v x RATIO (default 1.5, in (1, 10]).")]


def reoptimise_options(reoptimise: bool, runs: int | None, rounds: int | None, step: float | None,
                       ratio: float | None) -> Any:
    """The search's options (runs.experiments.ReoptimiseOptions, checked: a bad value names its option), None without
    ``--reoptimise``; a tuning option without ``--reoptimise`` is bad input."""
    from runs.experiments import ExperimentInputError, ReoptimiseOptions

    given = {name: value for name, value in {"runs": runs, "rounds": rounds, "step": step, "ratio": ratio}.items()
             if value is not None}
    if not reoptimise:
        if given:
            name, value = next(iter(given.items()))
            raise ExperimentInputError(f"--reoptimise-{name} {value!r}: tunes the search of --reoptimise; give "
                                       "--reoptimise too")
        return None
    options = dataclasses.replace(ReoptimiseOptions(), **given)
    options.check()
    return options


def parse_min_effects(items: list[str] | None) -> dict[str, float]:
    """``--min-effect OUTCOME=VALUE`` options as a dict; raises :class:`ExperimentInputError` naming a bad one."""
    from runs.experiments import OUTCOME_KEYS, ExperimentInputError

    out: dict[str, float] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or key not in OUTCOME_KEYS:
            raise ExperimentInputError(f"--min-effect {item!r}: write OUTCOME=VALUE with OUTCOME one of "
                                       f"{', '.join(OUTCOME_KEYS)}")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0.0):
            raise ExperimentInputError(f"--min-effect {item!r}: the value must be a number >= 0")
        out[key] = value
    return out


def compare(
    ctx: typer.Context,
    scenario: ScenarioFile,
    policies: Policies,
    runs: Runs,
    seed: Seed = 0,
    overrides: Overrides = None,
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
    keep_series: KeepSeries = False,
    min_effects: MinEffects = None,
    respond: Respond = False,
    reoptimise: Reoptimise = False,
    reoptimise_runs: ReoptimiseRuns = None,
    reoptimise_rounds: ReoptimiseRounds = None,
    reoptimise_step: ReoptimiseStep = None,
    reoptimise_ratio: ReoptimiseRatio = None,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
    figure_format: FigureFormat = "png",
) -> None:
    """Compare policies with the baseline on common random numbers: paired differences with 95 % intervals.

    Writes runs.parquet, comparison.json, forest.png and tradeoff.png.
    """
    one_stdout(as_json, as_csv)
    # imported here, not at the top: `multipolar run` and `--help` start faster without the ensemble machinery
    from runs.experiments import run_compare

    with command_errors():
        search = reoptimise_options(reoptimise, reoptimise_runs, reoptimise_rounds, reoptimise_step,
                                    reoptimise_ratio)
        setup = with_figure_formats(experiment_setup(ctx), figure_format)
        arms = f"compare {len(policies)} polic{'y' if len(policies) == 1 else 'ies'} + baseline"
        with progress_bar(arms) as bar:
            result = run_compare(setup.with_progress(bar), policies=policies, runs=runs, keep_series=keep_series,
                                 min_effects=parse_min_effects(min_effects), respond=respond, reoptimise=search)

    comparison = result.summary
    console = table_console(as_json, as_csv)
    write_tables(comparison_tables(comparison) + respond_tables(comparison), console, as_csv)
    console.print(Text(TABLE_NOTE))
    if "posterior" in comparison:
        console.print(Text(comparison["posterior"]["note"]))
    if "respond" in comparison:
        console.print(Text(RESPOND_NOTE))
        if "reoptimise" in comparison:
            console.print(Text(REOPTIMISE_NOTE))
        console.print(Text(surviving_note(comparison)))
    console.print(Text(f"outputs: {result.out_dir}"))
    if as_json:
        print_json(comparison)
    if result.failed_runs:
        fail(f"{result.failed_runs} runs failed (the comparison uses the pairs that succeeded); see the status and "
             f"error columns of {result.out_dir / 'runs.parquet'}")


TABLE_NOTE = ("baseline, policy: means over runs (P: shares of runs; capability delay: censored mean years); "
              "difference: mean of paired differences policy - baseline (P: difference of paired proportions), runs "
              "paired by seed and uncertain draws; 95 % CI: Student t (means), Newcombe 1998 paired score (P); pp: "
              "percentage points; highlighted: a finding, the interval excludes 0 by more than the min effect "
              "(--min-effect); capability delay: a threshold not reached within the horizon counts at the horizon.")


RESPOND_NOTE = ("--respond: nominal = the policy obeyed in full (enforcement.evasion = false), effective = labs may "
                "evade it under the scenario's [enforcement] regulator (the arm NAME-effective); both are differences "
                "from the baseline with the intervals above; leakage = 1 - effective / nominal, the share of the "
                "nominal effect evasion loses (negative: evasion adds to it), 95 % paired-bootstrap interval; "
                "compliance rows: the effective arm's means per run with Student t intervals.")


REOPTIMISE_NOTE = ("--reoptimise: re-optimised = evasion on and each investor-funded archetype's routine re-chosen "
                   "under the policy by iterated best response (arm NAME-reoptimised), minus the no-policy world whose "
                   "routines the same search re-chose on the same seeds (baseline-reoptimised), so the effect isolates "
                   "the rule; its leakage = 1 - re-optimised / nominal, the share lost to evasion and strategic "
                   "response. The searches' routines and payoff tables are in comparison.json (reoptimise).")
SURVIVING_OUTCOMES: tuple[str, ...] = ("final_hhi", "unipolar", "frontier_quality", "consumer_value")
"""The outcomes the closing note of ``--respond`` sums up."""


def surviving_note(comparison: dict[str, Any]) -> str:
    """The closing note of ``--respond``: per policy, how much of its nominal effect survives evasion (and, with
    ``--reoptimise``, evasion and strategic response), as 1 - leakage with its interval, on the outcomes of
    :data:`SURVIVING_OUTCOMES`."""
    lines = []
    for arm, result in comparison.get("respond", {}).get("arms", {}).items():
        parts = []
        for key in SURVIVING_OUTCOMES:
            stat = result["outcomes"].get(key)
            if stat is None or stat["leakage"] is None:
                continue
            text = f"{stat['label']} {_survives(stat['leakage'], stat['leakage_ci95'])}"
            if stat.get("leakage_reoptimised") is not None:
                text += f" with evasion, {_survives(stat['leakage_reoptimised'], stat['leakage_reoptimised_ci95'])}"
                text += " with evasion and re-optimised routines"
            else:
                text += " with evasion"
            parts.append(text)
        lines.append(f"{arm}: share of the nominal effect that survives: " + ("; ".join(parts) or "no nominal effect"))
    return "\n".join(lines)


def _survives(leakage: float, interval: list[float] | None) -> str:
    text = f"{100.0 * (1.0 - leakage):.0f}%"
    if interval:
        text += f" [{100.0 * (1.0 - interval[1]):.0f}%, {100.0 * (1.0 - interval[0]):.0f}%]"
    return text


def respond_tables(comparison: dict[str, Any]) -> list[Table]:
    """With ``--respond``, one table per policy: nominal and effective effects, the leakage, compliance totals; with
    ``--reoptimise`` also the re-optimised effect and its leakage."""
    tables = []
    for arm, result in comparison.get("respond", {}).get("arms", {}).items():
        reoptimised = "reoptimised_arm" in result
        title = (f"{arm}: nominal (full compliance) against effective (evasion, {result['effective_arm']})"
                 + (f" and re-optimised ({result['reoptimised_arm']})" if reoptimised else "")
                 + f", {result['pairs']} paired runs")
        table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        names = ["outcome", "nominal [95 % CI]", "effective [95 % CI]", "leakage [95 % CI]"]
        if reoptimised:
            names += ["re-optimised [95 % CI]", "leakage, re-optimised [95 % CI]"]
        for name in names:
            table.add_column(name, justify="left" if name == "outcome" else "right", no_wrap=True)
        for row in respond_rows(result):
            cells = [row.outcome, row.nominal, row.effective, row.leakage]
            table.add_row(*cells, *((row.reoptimised, row.leakage_reoptimised) if reoptimised else ()))
        tables.append(table)
    return tables


def comparison_tables(comparison: dict[str, Any]) -> list[Table]:
    """One table per policy arm, grouped concentration, speed, welfare, money, safety: baseline and policy levels,
    the paired difference with its 95 % interval, the practical threshold and the pairs; findings highlighted."""
    tables = []
    reference = {entry["name"]: entry.get("reference", "baseline") for entry in comparison["arms"]}
    for arm, result in comparison["comparisons"].items():
        tables.append(effects_table(result, f"{arm} - {reference.get(arm, 'baseline')}: {result['pairs']} paired "
                                    f"runs of '{comparison['scenario']}', seed {comparison['seed']}"))
    return tables


def effects_table(result: dict[str, Any], title: str) -> Table:
    """An arm's effects (runs.views.policy.effect_rows) as a table titled ``title``."""
    table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in (("outcome", "left"), ("baseline", "right"), ("policy", "right"),
                          ("difference [95 % CI]", "right"), ("min effect", "right"), ("pairs", "right")):
        table.add_column(name, justify=justify, no_wrap=name not in ("pairs", "min effect"))  # type: ignore[arg-type]
    group = None
    notes = []
    for row in effect_rows(result):
        if row.group != group:
            group = row.group
            table.add_row(Text(group, style="italic"), end_section=False)
        style = "bold red" if row.finding else None
        table.add_row("  " + row.outcome, row.baseline, row.policy, Text(row.difference, style=style or ""),
                      row.min_effect, row.pairs, style=style)
        if row.note:
            notes.append(f"{row.outcome.split(' (')[0]}: {row.note}")
    if notes:
        table.caption = "; ".join(notes)
        table.caption_justify = "left"
    return table
