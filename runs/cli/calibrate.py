"""The ``multipolar calibrate`` command: ABC-SMC of a scenario's ``[uncertain]`` keys against runs/data/
(:mod:`runs.checks.hindcast`, docs/calibration.md).

Exit codes as in :mod:`runs.cli.common`: 0 done, 1 the calibration could not be completed, 2 bad input (the
message names the file, key or value).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from economy.params import ScenarioError, load_scenario
from runs.cli.common import (
    AsJson,
    Overwrite,
    ScenarioFile,
    Scheduler,
    bad_input,
    command_errors,
    command_line,
    number,
    output_console,
    print_json,
    progress_bar,
    seed_option,
    workers_option,
)

__all__ = ["QUICK", "calibrate"]

QUICK = {"populations": 2, "population_size": 20, "predictive": 10, "forecast_years": 6.0}
"""--quick: sizes for CI (well under a minute once the kernels are compiled)."""

Workers = workers_option("Worker processes: 1 runs in this process (reproducible), W > 1 runs pyabc's Dask sampler on "
                         "a local cluster of W processes. Ignored with --scheduler.")
Data = Annotated[Path, typer.Option("--data", help="Folder of observation files (*_v<N>.csv, runs/data/README.md).")]
Out = Annotated[Path | None, typer.Option("--out", help="Output directory \\[default: runs/out/<scenario "
                                          "name>-calibrate].")]
Quick = Annotated[bool, typer.Option("--quick", help="Small sizes for CI: 2 populations of 20, 10 predictive draws, "
                                     "a 6-year forecast (explicit options override).")]
Seed = seed_option("Root seed: pyabc's proposals, each simulation's seed, the predictive resampling.")
Populations = Annotated[int | None, typer.Option("--populations", min=1, help="ABC-SMC populations \\[default: 4].")]
PopulationSize = Annotated[int | None, typer.Option("--population-size", min=1,
                                                    help="Accepted particles per population \\[default: 100].")]
Predictive = Annotated[int | None, typer.Option("--predictive", min=1,
                                                help="Posterior predictive draws \\[default: 100].")]


def calibrate(ctx: typer.Context, scenario: ScenarioFile, data: Data = Path("runs/data"), workers: Workers = 1,
              scheduler: Scheduler = None, out: Out = None, overwrite: Overwrite = False, quick: Quick = False,
              seed: Seed = 0,
              populations: Populations = None, population_size: PopulationSize = None,
              predictive: Predictive = None, as_json: AsJson = False) -> None:
    """Calibrate a scenario's \\[uncertain] keys against observations (ABC-SMC; docs/calibration.md)."""
    from runs.checks import calibrate_hindcast, load_observations
    from runs.experiments.execution import Execution
    from runs.experiments.outputs import fresh_output_dir

    try:
        sc, _ = load_scenario(scenario)
    except (OSError, ScenarioError) as err:
        bad_input(f"{scenario}: {err}")
    sizes = {"populations": 4, "population_size": 100, "predictive": 100, "forecast_years": None}
    if quick:
        sizes.update(QUICK)
    for name, value in (("populations", populations), ("population_size", population_size),
                        ("predictive", predictive)):
        if value is not None:
            sizes[name] = value
    out_dir = out if out is not None else Path("runs/out") / f"{sc.name}-calibrate"
    with command_errors():
        observations = load_observations(data)
        # the folder rules of every command (docs/cli.md, "Outputs"), checked before any work
        fresh_output_dir(out_dir.absolute(), "calibrate", overwrite=overwrite, before=time.time())
        with progress_bar("calibrate", unit="steps") as update:
            result = calibrate_hindcast(sc, observations, out_dir=out_dir, seed=seed, execution=Execution(
                workers=workers, scheduler=scheduler), progress=update, command=command_line(ctx), **sizes)
    s = result.summary
    if as_json:
        print_json(s)
    table = Table(title=f"calibration of {sc.name}: {s['abc']['simulations']} simulations in {s['seconds']:.0f} s")
    for name in ("parameter", "prior 5-95 %", "posterior median", "posterior 5-95 %"):
        table.add_column(name)
    for key, m in s["posterior"].items():
        table.add_row(key, f"{m['prior_p05']:.3g} - {m['prior_p95']:.3g}", f"{m['median']:.3g}",
                      f"{m['p05']:.3g} - {m['p95']:.3g}")
    console = output_console(as_json)
    console.print(table)
    cov = s["coverage"]
    fc = s["forecast"]
    console.print(f"held-out observations inside the 90 % predictive interval: "
                  f"{number(cov['held_out_inside_90'], '.0%')} of {cov['held_out']}")
    console.print(f"P(unipolar) in {fc['horizon_year']:.0f}: {fc['p_unipolar']:.1%} "
                  f"(Wilson 95 % {fc['wilson95'][0]:.1%} - {fc['wilson95'][1]:.1%}, {fc['draws']} posterior draws)")
    for row in s["robustness"][1:]:
        console.print(f"  with {row['variant']}: {row['p_unipolar']:.1%} "
                      f"({row['wilson_lo']:.1%} - {row['wilson_hi']:.1%})")
    Console(stderr=True).print(f"wrote {out_dir}")
