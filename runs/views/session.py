"""What one dashboard session computes: the scenarios of a view, whole runs, ensembles in chunks, a watched model.

Nothing here draws or knows Solara; :mod:`runs.views.dashboard` calls it from its worker threads.

- :func:`view_scenarios`: the validated baseline scenario of a :class:`~runs.views.controls.PageState` and,
  with policies on, the same scenario with the policies' tables appended (the policy arm).
- :func:`simulate_run`: one run to the horizon (a fraction of a second), its tables, summary and network.
- :func:`run_ensemble`: ``R`` runs of each arm through the execution layer (:class:`runs.experiments.Execution`,
  in this process, in chunks of :func:`runs.experiments.simulate_chunk`), run ``i`` of every arm on the root
  ``SeedSequence(seed, spawn_key=(i,))`` (common random numbers, as ``multipolar compare``); the fan series and
  P(unipolar) with its Wilson interval are handed on after every chunk, and a cancel acts at the next chunk.
- :func:`watch_model`: an :class:`agents.AIEconomy` for watching a run unfold step by step (Mesa's model API; the
  same seed gives the same run as :func:`simulate_run`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd

from economy.engine import Simulation
from economy.network import lab_graph
from economy.params import Scenario, read_toml, scenario_dict_with_overrides, validate_scenario
from runs.experiments import (
    ChunkTask,
    Execution,
    UncertainPlan,
    run_summary,
    simulate_chunk,
    warm_up,
    wilson_interval,
)
from runs.views.controls import PageState, PolicyToggle

if TYPE_CHECKING:
    from agents import AIEconomy

__all__ = [
    "BASELINE",
    "POLICY",
    "Cancelled",
    "EnsembleArm",
    "RunView",
    "run_ensemble",
    "simulate_run",
    "view_scenarios",
    "watch_model",
]

BASELINE = "baseline"
POLICY = "with policies"
"""The two arms' names on the page."""


class Cancelled(Exception):
    """The session's work was cancelled (a newer view, or the page closed)."""


def view_scenarios(state: PageState, files: Mapping[str, Path],
                   toggles: Sequence[PolicyToggle]) -> dict[str, Scenario]:
    """``{BASELINE: scenario}``, and ``POLICY`` with the state's policies on; raises ``ScenarioError`` (one line).

    The baseline is the scenario file with the state's values (as ``--set`` overrides, so a value is checked
    exactly as on the command line); the policy arm appends each chosen policy file's tables, with the state's
    values of their fields, to the scenario's own policies.
    """
    path = files[state.scenario]
    data, _ = read_toml(path)
    overrides = state.overrides()
    data = scenario_dict_with_overrides(data, overrides)
    arms = {BASELINE: validate_scenario(data, overrides, source=path.name)}
    chosen = [t for t in toggles if t.stem in state.policies]
    if chosen:
        values = dict(state.policy_values)
        tables = [table for toggle in chosen for table in toggle.tables_with(values)]
        combined = {**data, "policies": [*(data.get("policies") or []), *tables]}
        names = ", ".join(t.stem for t in chosen)
        arms[POLICY] = validate_scenario(combined, overrides, source=f"{path.name} with {names}")
    return arms


@dataclass
class RunView:
    """One run as the page shows it: its tables (as ``multipolar run`` writes them), summary and network."""

    name: str
    scenario: Scenario
    market: pd.DataFrame
    labs: pd.DataFrame
    events: pd.DataFrame
    summary: dict[str, Any]
    graph: nx.Graph | None
    seconds: float

    @classmethod
    def of(cls, name: str, scenario: Scenario, sim: Simulation, seconds: float) -> RunView:
        graph = lab_graph(sim, 0) if scenario.network.kind != "none" else None
        return cls(name, scenario, sim.market_frame(0), sim.labs_frame(0), sim.events_frame(0),
                   run_summary(scenario, sim.summary(0)), graph, seconds)


def simulate_run(name: str, scenario: Scenario, seed: int, cancel: threading.Event | None = None) -> RunView:
    """One run of ``scenario`` to its horizon; raises :class:`Cancelled` as soon as ``cancel`` is set."""
    t0 = time.perf_counter()
    sim = Simulation(scenario, [seed])

    def check(_done: int) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled

    sim.run(check)
    return RunView.of(name, scenario, sim, time.perf_counter() - t0)


def watch_model(scenario: Scenario, seed: int) -> AIEconomy:
    """The Mesa model of one run, at its start, for Step and Play.  Mesa is imported here, on the first Step or Play,
    not with the page: its import took about 0.6-1.6 s of the page's start (docs/views.md)."""
    from agents import AIEconomy

    return AIEconomy(scenario, seed=seed)


@dataclass
class EnsembleArm:
    """One arm's runs so far: the fan series (``(steps, runs)``) and the outcome counts."""

    name: str
    years: np.ndarray = field(default_factory=lambda: np.empty(0))
    hhi: list[np.ndarray] = field(default_factory=list)
    quality: list[np.ndarray] = field(default_factory=list)
    ok: int = 0
    failed: int = 0
    unipolar: int = 0
    final_hhi: list[float] = field(default_factory=list)

    def add(self, runs: pd.DataFrame, market: pd.DataFrame) -> None:
        ok = runs[runs["status"] == "ok"]
        self.ok += len(ok)
        self.failed += len(runs) - len(ok)
        self.unipolar += int(ok["unipolar"].astype(bool).sum())
        self.final_hhi += ok["final_hhi"].astype(float).tolist()
        if len(market):
            steps = int(market["step"].max()) + 1
            n = len(market) // steps
            if self.years.size == 0:
                self.years = market["year"].to_numpy()[:steps]
            self.hhi.append(market["hhi"].to_numpy().reshape(n, steps).T)
            self.quality.append(market["frontier_quality"].to_numpy().reshape(n, steps).T)

    def series(self, column: str) -> np.ndarray:
        """``(steps, runs)`` of ``hhi`` or ``frontier_quality`` over the runs so far."""
        parts = self.hhi if column == "hhi" else self.quality
        return np.concatenate(parts, axis=1) if parts else np.empty((0, 0))

    def p_unipolar(self) -> tuple[float, float, float] | None:
        """P(unipolar) over the runs that succeeded, with its Wilson 95 % interval; None before any."""
        interval = wilson_interval(self.unipolar, self.ok)
        if interval is None:
            return None
        return self.unipolar / self.ok, interval[0], interval[1]


def run_ensemble(arms: Mapping[str, Scenario], seed: int, runs: int,
                 on_update: Callable[[dict[str, EnsembleArm], int, int], None], cancel: threading.Event, *,
                 chunk: int = 5) -> dict[str, EnsembleArm]:
    """``runs`` runs of every arm, chunk by chunk, through the execution layer (in this thread).

    Parameters
    ----------
    arms
        Arm name -> scenario (:func:`view_scenarios`).
    seed
        Root seed ``N``: run ``i`` of every arm uses ``SeedSequence(N, spawn_key=(i,))`` (common random numbers).
    runs
        Runs per arm.
    on_update
        Called after every chunk with the arms so far (:class:`EnsembleArm`), the runs done and the total.
    cancel
        Checked after every chunk: once set, :class:`Cancelled` is raised (so a chunk is the most work done
        after a cancel).
    chunk
        Runs per chunk (one compiled batch); small, so updates come often and a cancel acts quickly.
    """
    plans = {name: UncertainPlan.from_scenario(sc) for name, sc in arms.items()}
    designs = {name: plan.design(runs, seed) if plan.keys else np.empty((runs, 0)) for name, plan in plans.items()}
    state = {name: EnsembleArm(name) for name in arms}
    total = runs * len(arms)
    done = 0

    def tasks():
        for index, start in enumerate(range(0, runs, chunk)):
            stop = min(runs, start + chunk)
            for name, scenario in arms.items():
                plan = plans[name]
                yield name, ChunkTask(index, start, stop, seed, scenario, plan.keys, designs[name][start:stop],
                                      plan.per_run_init, False, 1, "")

    def compute(item: tuple[str, ChunkTask]) -> tuple[str, Any]:
        if cancel.is_set():
            raise Cancelled
        name, task = item
        return name, simulate_chunk(task)

    def on_result(result: tuple[str, Any]) -> None:
        nonlocal done
        name, data = result
        state[name].add(data.runs.to_pandas(), data.market.to_pandas())
        done += data.runs.num_rows
        if cancel.is_set():
            raise Cancelled
        on_update(state, done, total)

    first = next(iter(arms.values()))
    Execution(workers=1, threads=1).map(compute, tasks(), on_result, n_tasks=math.ceil(runs / chunk) * len(arms),
                                        warm_up=lambda: warm_up(first, min(chunk, runs)))
    return state
