"""The ``multipolar`` command line (typer + rich).

``multipolar schema`` prints the scenario JSON schema; ``multipolar run SCENARIO`` runs one seed and writes
its outputs (see :mod:`runs.single` and docs/cli.md).  Exit codes: 0 success, 1 the run itself failed,
2 bad input (nothing written).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import numba
import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from economy.params import Scenario
from runs.compare_cli import register as register_compare
from runs.ensemble_cli import register as register_ensemble
from runs.report_cli import register as register_report
from runs.scenario import ScenarioError, load_scenario
from runs.sensitivity_cli import register as register_sensitivity
from runs.single import OutputDirError, check_output_dir, default_output_dir, run_single
from runs.sweep_cli import register as register_sweep
from runs.validate_cli import register as register_validate

__all__ = ["EXIT_BAD_INPUT", "EXIT_RUN_FAILED", "app"]

EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="multipolar",
    help="Simulator of the AI-lab economy: winner-take-all markets, reinvestment, recursive self-improvement.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def schema() -> None:
    """Print the JSON schema of a scenario file (every parameter with unit, range and provenance)."""
    typer.echo(json.dumps(Scenario.model_json_schema(), indent=2))


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file, e.g. runs/baseline.toml.", show_default=False)],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Root seed of the run (non-negative integer).")] = 0,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="SECTION.KEY=VALUE",
                     help="Override one parameter (repeatable); VALUE is read as TOML, else as a string."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory \\[default: runs/out/<scenario name>/ in the current directory]."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print exactly one JSON object (the summary) on stdout; the table goes to stderr."),
    ] = False,
    threads: Annotated[
        int | None, typer.Option("--threads", help="Numba threads, 1..NUMBA_NUM_THREADS \\[default: all].")
    ] = None,
    events: Annotated[
        bool,
        typer.Option("--events", help="Print the event log (entries, exits, acquisitions, incidents, catastrophes; "
                                      "strategy changes as a count) after the summary."),
    ] = False,
) -> None:
    """Run one seed of a scenario and write market.parquet, labs.parquet, events.parquet, summary.json,
    manifest.json, overview.png."""
    sets = list(overrides or [])
    try:
        sc, text = load_scenario(scenario, sets)
        target = check_output_dir(out if out is not None else default_output_dir(sc))
    except (ScenarioError, OutputDirError) as err:
        _bad_input(str(err))
    n_threads = _numba_threads(threads)
    command = ["multipolar", "run", str(scenario), "--seed", str(seed)]
    for item in sets:
        command += ["--set", item]
    if out is not None:
        command += ["--out", str(out)]
    if as_json:
        command.append("--json")
    if threads is not None:
        command += ["--threads", str(threads)]
    if events:
        command.append("--events")

    err_console = Console(stderr=True)
    previous = numba.get_num_threads()
    try:
        if n_threads is not None:
            numba.set_num_threads(n_threads)
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("steps"),
            TimeElapsedColumn(), console=err_console, transient=True,
        ) as bar:
            task = bar.add_task(f"{sc.name} seed {seed}", total=sc.sim.n_steps)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = run_single(sc, text, seed, target, progress, overrides=sets, command=command)
    except (ScenarioError, OutputDirError) as err:
        _bad_input(str(err))
    except Exception as err:
        typer.echo(f"error: the run failed ({type(err).__name__}: {err}); {target} was not changed", err=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None
    finally:
        numba.set_num_threads(previous)

    payload = {**summary, "out_dir": str(target)}
    table_console = err_console if as_json else Console(file=sys.stdout)
    table_console.print(_summary_table(payload))
    if events:
        for item in _event_log(pd.read_parquet(target / "events.parquet")):
            table_console.print(item)
    if as_json:
        typer.echo(json.dumps(payload, allow_nan=False))


@app.command()
def dashboard(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario TOML file (default: runs/baseline.toml).", show_default=False)
    ] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")] = 8765,
) -> None:
    """Serve the interactive dashboard (Mesa SolaraViz) on http://127.0.0.1:PORT until interrupted."""
    import os
    import subprocess

    env = dict(os.environ, SOLARA_TELEMETRY_MIXPANEL_ENABLE="False")
    if scenario is not None:
        try:
            load_scenario(scenario, [])
        except ScenarioError as exc:
            _bad_input(str(exc))
        env["MULTIPOLAR_SCENARIO"] = str(scenario.resolve())
    app_file = Path(__file__).with_name("dashboard.py")
    command = [sys.executable, "-m", "solara", "run", str(app_file), "--host", "127.0.0.1", "--port", str(port),
               "--production", "--no-open"]
    Console(stderr=True).print(f"Multipolar dashboard on http://127.0.0.1:{port} (Ctrl-C to stop)")
    try:
        code = subprocess.call(command, env=env)
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


def _numba_threads(threads: int | None) -> int | None:
    if threads is None:
        return None
    limit = numba.config.NUMBA_NUM_THREADS
    if not 1 <= threads <= limit:
        _bad_input(f"--threads {threads} is out of range: allowed 1..{limit} (numba.config.NUMBA_NUM_THREADS)")
    return threads


def _bad_input(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _summary_table(s: dict[str, Any]) -> Table:
    table = Table(title=Text(f"{s.get('scenario')} (seed {s.get('seed')})"), show_header=False, title_justify="left")
    table.add_column("outcome", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("final year", _num(s.get("final_year"), ".2f")),
        ("final HHI (0-10,000)", _num(s.get("final_hhi"), ",.0f")),
        ("effective number of labs", _num(s.get("effective_labs"), ".2f")),
        ("leader", f"{s.get('leader')} ({_num(s.get('leader_share'), '.1%')})"),
        ("top-4 share", _num(s.get("top4_share"), ".1%")),
        ("unipolar (share > 0.5 or HHI > 5,000)", str(s.get("unipolar"))),
        ("labs alive / exits", f"{s.get('n_alive')} / {s.get('n_exits')}"),
        ("singularity year", _num(s.get("singularity_year"), ".2f", "none")),
        ("takeoff (years, par-human to superhuman)", _num(s.get("takeoff_years"), ".2f", "not completed")),
        ("frontier quality u", _num(s.get("frontier_quality"), ".3f")),
        ("frontier effective compute (log10 FLOP)", _num(s.get("frontier_log10_eff_compute"), ".2f")),
        ("entries / acquisitions", f"{s.get('n_entries')} / {s.get('n_acquisitions')}"),
        ("incidents", str(s.get("incidents"))),
        ("catastrophe", str(s.get("catastrophe")) + (f" ({s['catastrophe_year']:.2f})"
                                                      if s.get("catastrophe_year") is not None else "")),
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


def _num(value: Any, spec: str, missing: str = "n/a") -> str:
    return missing if value is None else format(value, spec)


register_ensemble(app)
register_sweep(app)
register_report(app)
register_validate(app)
register_sensitivity(app)
register_compare(app)

if __name__ == "__main__":  # pragma: no cover
    app()
