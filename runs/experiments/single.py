"""One run of a scenario, written to an output folder with its manifest.

Outputs (all in one folder, by default ``runs/out/<scenario.name>/`` under the current folder):

- ``market.parquet``: the market series, one row per step (row 0 is the starting state);
- ``labs.parquet``: the lab series in long format, one row per lab per recorded step;
- ``events.parquet``: the run's events (``economy.engine.Simulation.events_frame``: year, lab_id, lab, kind,
  other_lab_id, other_lab, value), one row per entry, exit, acquisition (or blocked acquisition), incident,
  catastrophe and strategy change, in the order they happened;
- ``summary.json``: the run's outcomes (``economy.engine.Simulation.summary`` plus the scenario name and the
  takeoff thresholds in quality units), NaN and inf written as null;
- ``network_start.graphml``, ``network_end.graphml``: the lab network, when the scenario has one (up to
  :data:`GRAPHML_MAX_LABS` labs);
- the figures of ``figures.run`` (the command line's: ``overview.png``, and ``network.png`` with a network);
- ``manifest.json``: provenance (:mod:`runs.experiments.outputs`), with the size and SHA-256 of the files above.

The folder is built beside the target and put in place at the end
(:func:`runs.experiments.outputs.atomic_output_dir`): on any failure the target is left as it was; files in it
that Multipolar did not write are kept.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from economy.engine import Simulation
from economy.network import lab_graph, write_graphml
from economy.params import Scenario, ScenarioError
from economy.resources import check_memory
from runs.experiments.execution import numba_threads
from runs.experiments.outputs import (
    atomic_output_dir,
    build_manifest,
    check_output_dir,
    finite_or_none,
    no_ai_market_as_null,
    non_finite_as_null,
    without_ai_market,
    write_json_atomic,
    write_manifest,
)
from runs.experiments.result import ExperimentResult, draw
from runs.experiments.setup import Setup

__all__ = ["GRAPHML_MAX_LABS", "NETWORK_FILES", "OUTPUT_FILES", "run_single", "run_summary", "simulate"]

OUTPUT_FILES: tuple[str, ...] = ("market.parquet", "labs.parquet", "events.parquet", "summary.json",
                                 "manifest.json")
"""Written by every run (figures come on top, from ``figures.run``)."""
NETWORK_FILES: tuple[str, ...] = ("network_start.graphml", "network_end.graphml")
"""Written as well when the scenario has a network (only up to :data:`GRAPHML_MAX_LABS` labs)."""
GRAPHML_MAX_LABS = 10_000


def run_single(setup: Setup) -> ExperimentResult:
    """Run one seed (``setup.seed``) of the setup's scenario and write its outputs into its folder.

    Of the execution only ``threads`` (numba threads for this run; default numba's own) and ``progress``
    (called with the steps done and the number of steps) apply: a single run runs in this process.
    ``setup.figures.run`` draws the run's figures into the folder.

    Returns
    -------
    The market series, the summary as written to ``summary.json`` (non-finite numbers as ``None``), the
    manifest and the folder.
    """
    started = time.time()
    scenario, execution = setup.scenario, setup.execution
    execution.check()
    check_memory(scenario, 1, limit=execution.max_memory)
    target = check_output_dir(setup.output_dir(), "run", overwrite=setup.overwrite)
    graphs: dict[str, Any] = {}
    has_network = scenario.network.kind != "none"

    def keep_start(sim: Simulation) -> None:
        graphs["start"] = lab_graph(sim, 0)

    threads = numba_threads(execution.threads) if execution.threads is not None else nullcontext()
    with threads:
        sim = simulate(scenario, setup.seed, execution.report, before_run=keep_start if has_network else None)
    market, labs, events = sim.market_frame(0), sim.labs_frame(0), sim.events_frame(0)
    summary = run_summary(scenario, without_ai_market(sim.summary(0), float(market["outside_share"].iloc[-1])))
    with atomic_output_dir(target, before=started) as tmp:
        files = [tmp / name for name in OUTPUT_FILES if name != "manifest.json"]
        end = lab_graph(sim, 0) if has_network else None
        if end is not None and scenario.n_labs <= GRAPHML_MAX_LABS:
            write_graphml(graphs["start"], tmp / "network_start.graphml")
            write_graphml(end, tmp / "network_end.graphml")
            files += [tmp / name for name in NETWORK_FILES]
        for frame, name in ((market, "market.parquet"), (labs, "labs.parquet"), (events, "events.parquet")):
            table = no_ai_market_as_null(non_finite_as_null(pa.Table.from_pandas(frame, preserve_index=False)))
            pq.write_table(table, tmp / name, compression="snappy")
        write_json_atomic(summary, tmp / "summary.json")
        files += draw(setup.figures.run, tmp, market=market, labs=labs, summary=summary, graph=end, events=events)
        manifest = build_manifest(scenario, setup.scenario_text, seeds=[setup.seed], overrides=setup.overrides,
                                  command=setup.command, files=files,
                                  extra={"policy_files": setup.policy_file_entries})
        write_manifest(manifest, tmp)
    return ExperimentResult(market, summary, manifest, target)


def simulate(
    scenario: Scenario,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
    before_run: Callable[[Simulation], None] | None = None,
) -> Simulation:
    """Run the engine for one seed; ``progress(steps_done, n_steps)`` after every step.

    Errors while setting the run up from the scenario (a network file that is missing or malformed, say) are
    bad input and raise :class:`economy.params.ScenarioError`; errors while stepping propagate as they are.
    """
    try:
        sim = Simulation(scenario, [seed])
    except (ValueError, OSError) as err:
        raise ScenarioError(f"cannot set up the run: {_one_line(str(err))}") from err
    if before_run is not None:
        before_run(sim)
    n_steps = sim.n_steps
    sim.run(None if progress is None else (lambda done: progress(done, n_steps)))
    return sim


def run_summary(scenario: Scenario, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's summary plus the scenario name and the takeoff thresholds in quality units."""
    cap = scenario.capability
    ln_cc = math.log(cap.loss_scale_flop)
    out = {"scenario": scenario.name, **summary}
    out["par_human_quality"] = cap.alpha * (cap.par_human_log10_flop * math.log(10.0) - ln_cc)
    out["superhuman_quality"] = cap.alpha * (cap.superhuman_log10_flop * math.log(10.0) - ln_cc)
    out["par_human_log10_flop"] = cap.par_human_log10_flop
    out["superhuman_log10_flop"] = cap.superhuman_log10_flop
    return finite_or_none(out)


def _one_line(text: str) -> str:
    return " ".join(text.split())
