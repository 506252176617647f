"""The ``multipolar run`` and ``multipolar schema`` commands: one seed of a scenario (docs/cli.md).

``multipolar schema`` prints the scenario JSON schema; ``multipolar run SCENARIO`` runs one seed and writes its
outputs (:func:`runs.experiments.single.run_single`, with the figures of :data:`runs.views.FIGURES`).
Exit codes as in :mod:`runs.cli.common`: 0 done, 1 the run itself failed (the output folder is as it was),
2 bad input (nothing written).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from runs.cli.common import (
    AsJson,
    MaxMemory,
    Overrides,
    Overwrite,
    PolicyFiles,
    ScenarioFile,
    bad_input_errors,
    command_errors,
    experiment_setup,
    fail,
    number,
    out_option,
    print_json,
    progress_bar,
    seed_option,
)
from runs.cli.formats import FigureFormat, with_figure_formats
from runs.cli.tables import AsCsv, one_stdout, table_console, write_tables

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["run", "schema"]

Seed = seed_option("Root seed of the run (non-negative integer).", bounded=False)
Out = out_option("runs/out/<scenario name>/ in the current directory")
Threads = Annotated[int | None, typer.Option("--threads", help="Numba threads, 1..NUMBA_NUM_THREADS \\[default: all].")]
Events = Annotated[bool, typer.Option("--events", help="Print the event log (entries, exits, acquisitions, incidents, "
                                      "catastrophes; strategy changes as a count) after the summary.")]


def schema() -> None:
    """Print the JSON schema of a scenario file (every parameter with unit, range and provenance)."""
    from economy.params import Scenario

    typer.echo(json.dumps(Scenario.model_json_schema(), indent=2))


def run(
    ctx: typer.Context,
    scenario: ScenarioFile,
    seed: Seed = 0,
    overrides: Overrides = None,
    policy_files: PolicyFiles = None,
    out: Out = None,
    overwrite: Overwrite = False,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
    figure_format: FigureFormat = "png",
    threads: Threads = None,
    max_memory: MaxMemory = None,
    events: Events = False,
) -> None:
    """Run one seed of a scenario and write its tables, summary, manifest and figures.

    Outputs: market.parquet, labs.parquet, events.parquet, summary.json, manifest.json, overview.png (.svg too
    with --format png,svg).

    With a network (network.kind other than "none"): also network.png, network_start.graphml, network_end.graphml.
    """
    from runs.experiments.single import run_single

    one_stdout(as_json, as_csv)
    with command_errors():
        setup = with_figure_formats(experiment_setup(ctx, loop=False), figure_format)
        target = setup.output_dir()
        try:
            with progress_bar(f"{setup.scenario.name} seed {seed}", "steps") as bar:
                result = run_single(setup.with_progress(bar))
        except Exception as err:
            if isinstance(err, bad_input_errors()):
                raise
            fail(f"the run failed ({type(err).__name__}: {err}); {target} was not changed")

    payload = {**result.summary, "out_dir": str(target)}
    console = table_console(as_json, as_csv)
    write_tables([_summary_table(payload)], console, as_csv)
    if events:
        import pandas as pd

        for item in _event_log(pd.read_parquet(target / "events.parquet")):
            console.print(item)
    if as_json:
        print_json(payload)


def _summary_table(s: dict[str, Any]) -> Table:
    from runs.experiments.robustness import SINGLE_RUN_ROBUSTNESS

    table = Table(title=Text(f"{s.get('scenario')} (seed {s.get('seed')})"), show_header=False, title_justify="left")
    table.add_column("outcome", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("final year", number(s.get("final_year"), ".2f")),
        ("final HHI (0-10,000)", number(s.get("final_hhi"), ",.0f")),
        ("effective number of labs", number(s.get("effective_labs"), ".2f")),
        ("leader", f"{s.get('leader')} ({number(s.get('leader_share'), '.1%')})"),
        ("top-4 share", number(s.get("top4_share"), ".1%")),
        ("unipolar (share > 0.5 or HHI > 5,000)", str(s.get("unipolar"))),
        ("labs alive / exits", f"{s.get('n_alive')} / {s.get('n_exits')}"),
        ("singularity year", number(s.get("singularity_year"), ".2f", "none")),
        ("takeoff (years, par-human to superhuman)", number(s.get("takeoff_years"), ".2f", "not completed")),
        (f"automation takeoff (years, 20% to {s.get('automation_takeoff_to') or 1:.0%} of research tasks)",
         number(s.get("automation_takeoff_years"), ".2f", "not completed")),
        ("ln S numerical ceiling reached", number(s.get("ceiling_year"), ".2f", "never")),
        ("frontier quality u", number(s.get("frontier_quality"), ".3f")),
        ("frontier effective compute (log10 FLOP)", number(s.get("frontier_log10_eff_compute"), ".2f")),
        ("entries / acquisitions", f"{s.get('n_entries')} / {s.get('n_acquisitions')}"),
        ("incidents", str(s.get("incidents"))),
        ("catastrophe", str(s.get("catastrophe")) + (f" ({s['catastrophe_year']:.2f})"
                                                      if s.get("catastrophe_year") is not None else "")),
        ("robustness", SINGLE_RUN_ROBUSTNESS),
        ("outputs", str(s.get("out_dir"))),
    ]
    for name, value in rows:
        table.add_row(Text(name), Text(value))
    return table


def _event_log(events: pd.DataFrame) -> list[Any]:
    """The run's events as a table (strategy changes, usually the most numerous, as a count line)."""
    shown = events[events["kind"] != "strategy_change"]
    table = Table(title=Text(f"events ({len(shown)}; all {len(events)} in events.parquet)"), title_justify="left")
    for name, justify in (("year", "right"), ("event", "left"), ("lab", "left"), ("detail", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in shown.itertuples(index=False):
        table.add_row(f"{row.year:.2f}", row.kind.replace("_", " "), str(row.lab), _event_detail(row))
    changes = events[events["kind"] == "strategy_change"]
    imitated = int((changes["other_lab_id"] >= 0).sum())
    note = Text(f"strategy changes: {len(changes)} ({imitated} imitations, {len(changes) - imitated} searches)")
    return [table, note]


def _event_detail(row: Any) -> str:
    usd = f"${row.value / 1e9:,.2f}B"
    if row.kind == "entry":
        start = f"{row.other_lab}'s open weights" if row.other_lab_id >= 0 else "no open model"
        return f"starts with {usd} cash, behind {start}"
    if row.kind == "exit":
        return f"{'cash returned ' if row.value >= 0 else 'debt written off '}${abs(row.value) / 1e9:,.2f}B"
    if row.kind == "acquisition":
        return f"buys {row.other_lab} for {usd}"
    if row.kind == "acquisition_blocked":
        return f"deal for {row.other_lab} blocked by review (HHI +{row.value:,.0f})"
    if row.kind in ("incident", "catastrophe"):
        return f"costs {usd}"
    return str(row.value)
