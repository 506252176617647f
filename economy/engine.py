"""The simulation driver: builds a batch of runs from a scenario and steps it through the compiled kernel.

A single run is a batch of one.  Each run has its own root ``SeedSequence`` and named streams; every
random number a kernel sees is drawn here from the run's own stream, so a run's results do not depend on
which batch, worker or thread computed it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from economy.archetypes import KIND_NAMES
from economy.kernels import layout as L
from economy.kernels.config import configure
from economy.kernels.draws import draw_step, draw_step_threads
from economy.kernels.metrics import ROC_BOUND
from economy.kernels.record import record_initial
from economy.kernels.research import start_run
from economy.kernels.step import FOUNDED_BY_ENTRY, NOT_FOUNDED, note_founders, run_steps, step_batch
from economy.kernels.triggers import observation_slots
from economy.market_record import COMPLIANCE_COLUMNS
from economy.network import CSRGraph, as_networkx, build_lab_graph, network_state
from economy.params import Scenario, pack_parameters
from economy.population import initial_population
from economy.state import LabState, WorldState, allocate_draws, allocate_labs, allocate_work, allocate_world
from economy.streams import generators, pcg64_words, root_sequence, set_pcg64_state
from economy.takeoff import automation_takeoff

__all__ = ["COMPILED_DRAWS_FROM", "COMPLIANCE_LAB_COLUMNS", "DRAWN_STREAMS", "DRAWS_COMPILED_FROM", "EVENT_COLUMNS",
           "LAB_COLUMNS", "PROGRESS_EVERY", "Simulation"]

COMPILED_DRAWS_FROM = 16
"""Batches of this many runs or more (an ensemble's chunks: 16 to 200 runs by default) draw their random numbers in
compiled code (``Simulation._draw``), and then step to the horizon in one compiled call
(economy.kernels.step.run_steps); smaller ones, single runs among them, in Python (docs/performance.md)."""
PROGRESS_EVERY = 12
"""A batch that draws in compiled code runs this many steps per compiled call when :meth:`Simulation.run` reports
progress (else to the horizon, or to the next step whose labs it records, in one call)."""
DRAWS_COMPILED_FROM = 1 << 16
"""A batch stepped from Python (fewer than :data:`COMPILED_DRAWS_FROM` runs) draws in compiled code too when its
step's draw arrays hold this many numbers or more (a run of some 10,000 labs or more), on numba's threads, a stream
whole on one thread (economy.kernels.draws.draw_step_threads), so the numbers never depend on the thread count.  A
million-lab step's draws took 43-45 ms in Python on one thread and 31 ms with numpy's Generators on two threads;
compiled, 16 ms on one thread and 11 ms on two (2026-12-07).  A small run draws in Python: its process never loads
the kernel."""
DRAWN_STREAMS: tuple[str, ...] = ("shocks", "market", "behaviour", "entry", "incidents", "compliance")
"""The streams of economy.streams a step draws from, in the order :func:`economy.kernels.draws.draw_step` takes
their Generators."""

LAB_COLUMNS: tuple[str, ...] = (
    "cash_usd", "compute_flop_per_year", "log_software", "log_eff_compute", "researchers", "share",
    "revenue_usd_per_year", "quality", "automation", "safety", "drift", "data_tokens", "openness",
    "compute_spend_fraction", "train_fraction", "inference_fraction", "safety_base", "performance", "aspiration",
    "incidents",
)
COMPLIANCE_LAB_COLUMNS: tuple[str, ...] = ("evasion", "evasion_gain_usd", "detection_probability", "suspicion",
                                           "caught")
"""Lab columns of the compliance stage (economy/kernels/compliance.py), recorded only with enforcement.evasion on."""
EVENT_COLUMNS: tuple[str, ...] = ("year", "lab_id", "lab", "kind", "other_lab_id", "other_lab", "value")
"""Columns of :meth:`Simulation.events_frame` (and of events.parquet)."""


class Simulation:
    """A batch of runs of one scenario.

    Parameters
    ----------
    scenario
        The validated scenario.
    seeds
        One root seed (int or ``SeedSequence``) per run.
    parameter_rows
        Optional ``(runs, N_PARAMS)`` packed parameters (uncertain draws); defaults to the scenario's.
    record_labs
        Keep the long lab table every ``output.labs_every`` steps.
    keep_events
        Keep every step's events for :meth:`events_frame`.  An ensemble's chunk, which reads none, passes False
        and saves copying them out of the kernels' buffer each step (the drain of a 200-run baseline batch: 2.9 -> 0.8
        us per run-step, docs/performance.md); entrants are named either way.
    """

    def __init__(
        self,
        scenario: Scenario,
        seeds: Sequence[int | np.random.SeedSequence],
        parameter_rows: np.ndarray | None = None,
        *,
        record_labs: bool = True,
        keep_events: bool = True,
    ) -> None:
        if len(seeds) == 0:
            raise ValueError("a batch needs at least one seed")
        configure()  # numba's process set-up, before any kernel runs (economy.kernels.config)
        self.scenario = scenario
        self.roots = [root_sequence(s) for s in seeds]
        self._streams = [generators(root) for root in self.roots]
        n_runs = len(self.roots)
        if parameter_rows is None:
            parameter_rows = np.tile(pack_parameters(scenario), (n_runs, 1))
        if parameter_rows.shape != (n_runs, L.N_PARAMS):
            raise ValueError(f"parameter_rows has shape {parameter_rows.shape}, expected {(n_runs, L.N_PARAMS)}")
        self.par = np.ascontiguousarray(parameter_rows, dtype=np.float64).copy()
        self.n_steps = scenario.sim.n_steps
        self.n_labs = scenario.n_labs
        self.capacity = self.n_labs + scenario.labs.max_entrants  # free columns for entrants
        self.labs: LabState = allocate_labs(n_runs, self.capacity)
        history = round(1.0 / scenario.sim.dt) + 1
        # a step's events: at most a strategy change, an exit or acquisition, an incident, one deal, one
        # break-up part and one detection per lab, plus the entrants, a pause and a trigger's switch per policy kind
        # (Simon's entry in the urn mode may found a lab per arrival)
        founders = (
            int(self.par[:, L.P_MARKET_URN_ARRIVALS_PER_STEP].max())
            if (self.par[:, L.P_MARKET_URN_ENTRY_PROBABILITY] > 0.0).any()
            else 0
        )
        event_slots = min(scenario.output.max_events_per_step,
                          6 * self.capacity + L.ENTRY_SLOTS + founders + 1 + L.N_POLICY_KINDS)
        self.world: WorldState = allocate_world(n_runs, max(2, history), event_slots, observation_slots(self.par))
        self.draws = allocate_draws(n_runs, self.capacity)
        self.work = allocate_work(n_runs, self.capacity)
        self.keep_events = keep_events
        self._events: list[list[np.ndarray]] = [[] for _ in range(n_runs)]
        self._names: list[list[str]] = []
        # who founded each column during the run (economy.kernels.step.note_founders), read to name the new labs
        self._founders = np.full((n_runs, self.capacity), NOT_FOUNDED, dtype=np.int64)
        # one starting graph per run: networkx, or CSR arrays for Erdos-Renyi and complete graphs (generate_network)
        self._graphs: list = []
        for b in range(n_runs):
            self._names.append(self._initialise_run(b))
        self._named = np.array([len(names) for names in self._names], dtype=np.int64)  # columns seen, per run
        self.net = network_state(self._graphs, self.labs)
        self.market = np.full((self.n_steps + 1, n_runs, L.N_MARKET), np.nan)
        self.market[0, :, :] = 0.0
        record_initial(self.labs, self.world, self.par, self.market[0])
        self.record_labs = record_labs
        # compliance (economy/kernels/compliance.py): a scenario setting, the same in every run of a batch
        self.evasion = scenario.enforcement.evasion
        self.lab_columns = LAB_COLUMNS + (COMPLIANCE_LAB_COLUMNS if self.evasion else ())
        self.lab_records: list[tuple[int, dict[str, np.ndarray]]] = []
        if record_labs:
            self._record_labs()
        self._shocks = np.zeros((n_runs, self.capacity))
        # urn mode: per run, a pick uniform per arrival, then (Simon's entry on) a found-or-join uniform per arrival
        urn = scenario.market.mode == "urn"
        self._urn_draws = np.array([
            int(p[L.P_MARKET_URN_ARRIVALS_PER_STEP]) * (2 if p[L.P_MARKET_URN_ENTRY_PROBABILITY] > 0.0 else 1)
            if urn
            else 0
            for p in self.par
        ], dtype=np.int64)
        self._urn = np.zeros((n_runs, int(self._urn_draws.max())))
        # the most numbers a step draws: the size of its draw arrays (DRAWS_COMPILED_FROM)
        self._draw_capacity = self._shocks.size + self._urn.size + sum(a.size for a in self.draws)
        self._compiled_draws: np.ndarray | None = None  # the drawn streams' PCG64 states, made on first use
        self._states_ahead = False  # the states have drawn since the Generators last got them back

    # ------------------------------------------------------------------ set-up
    def _initialise_run(self, b: int) -> list[str]:
        sc = self.scenario
        names, cols = initial_population(sc, self._streams[b]["init"])
        graph, cols = build_lab_graph(sc.network, names, cols, self._streams[b]["network"])
        self._graphs.append(graph)
        n = len(names)
        labs, par = self.labs, self.par
        labs.alive[b, :n] = True
        for field in ("kind", "funding", "strategy", "bloc", "cash_usd", "compute_flop_per_year", "researchers",
                      "log_software", "spend_rate_per_year", "compute_spend_fraction", "train_fraction",
                      "inference_fraction", "safety_base", "openness"):
            getattr(labs, field)[b, :n] = cols[field]
        labs.safety[b, :n] = cols["safety_base"]
        p = par[b]
        # the starting models, and theta: the starting software leader grows at the calibrated doubling time (no shock)
        g0 = math.log(2.0) / (sc.research.software_doubling_months / 12.0)
        start_run(labs, par, b, n, math.log(g0))
        elapsed = cols["run_phase"] * p[L.P_TRAINING_RUN_YEARS]
        labs.run_elapsed_years[b, :n] = elapsed
        labs.run_flop[b, :n] = labs.train_fraction[b, :n] * labs.compute_flop_per_year[b, :n] * elapsed
        labs.run_log_software[b, :n] = labs.log_software[b, :n]
        p[L.P_RUN_START_FRONTIER_QUALITY] = float(labs.quality[b, :n].max())
        # starting shares: listed ones, else logit targets; customers for the urn mode
        if sc.market.mode == "urn":
            labs.customers[b, :n] = sc.market.urn_initial_customers
            labs.share[b, :n] = 1.0 / n
        else:
            quality = labs.quality[b, :n]
            has_model = quality > -math.inf  # no model: log-weight -inf (as in the step), never 0 x -inf
            w = np.where(has_model, p[L.P_MARKET_WINNER_TAKE_ALL] * np.where(has_model, quality, 0.0), -math.inf)
            w0 = p[L.P_MARKET_WINNER_TAKE_ALL] * p[L.P_QUALITY_OF_MARKET_OUTSIDE_LOG10_FLOP]
            m = max(w.max(), w0)
            target = np.exp(w - m) / (np.exp(w0 - m) + np.exp(w - m).sum())
            share = np.where(np.isnan(cols["share"]), target, cols["share"])
            total = share.sum()
            labs.share[b, :n] = share / total if total > 1.0 else share
        world = self.world
        world.log_price_floor[b] = math.log(sc.compute.price_usd_per_flop_per_year)
        world.price[b] = sc.compute.price_usd_per_flop_per_year
        world.talent_pool[b] = sc.money.talent_pool
        world.demand[b] = sc.market.demand_usd_per_year
        capacity = (
            labs.inference_fraction[b, :n] * labs.compute_flop_per_year[b, :n] / p[L.P_MARKET_INFERENCE_FLOP_PER_USD]
        )
        labs.revenue_usd_per_year[b, :n] = np.minimum(labs.share[b, :n] * world.demand[b], capacity)
        world.n_used[b] = n
        labs.founded_year[b, :n] = sc.sim.start_year
        # performance bookkeeping (economy.kernels.money): start at the starting return on capital
        revenue = labs.revenue_usd_per_year[b, :n]
        price = world.price[b]
        profit = (
            revenue * (1.0 - p[L.P_MONEY_OPEX_FRACTION])
            - labs.researchers[b, :n] * p[L.P_MONEY_WAGE_USD_PER_YEAR]
            - p[L.P_COMPUTE_DEPRECIATION_PER_YEAR] * price * labs.compute_flop_per_year[b, :n]
        )
        capital = price * labs.compute_flop_per_year[b, :n] + np.maximum(labs.cash_usd[b, :n], 0.0)
        bounded = np.abs(profit) >= ROC_BOUND * capital
        ratio = np.divide(profit, capital, out=np.zeros(n), where=~bounded)
        roc = np.where(bounded, np.sign(profit) * ROC_BOUND, ratio)
        labs.profit_usd_per_year[b, :n] = profit
        labs.capital_usd[b, :n] = capital
        labs.performance[b, :n] = roc
        labs.aspiration[b, :n] = roc
        labs.log_revenue[b, :n] = np.log(revenue + L.REVENUE_FLOOR_USD)
        return names

    @property
    def graphs(self) -> list:
        """One networkx graph per run: the starting network (economy.network), built from the CSR arrays on
        first use where the run's graph was sampled straight into them (Erdos-Renyi)."""
        for b, graph in enumerate(self._graphs):
            if isinstance(graph, CSRGraph):
                self._graphs[b] = as_networkx(graph)
        return self._graphs

    def drop_graphs(self) -> None:
        """Forget the starting graphs (the kernels keep their CSR arrays); ``graphs`` is then empty."""
        self._graphs = []

    # ------------------------------------------------------------------ stepping
    @property
    def steps_done(self) -> int:
        return int(self.world.step[0])

    def step(self) -> None:
        """Advance every run by one ``dt``."""
        k = self.steps_done
        if k >= self.n_steps:
            raise RuntimeError(f"the horizon of {self.n_steps} steps is reached")
        if self._steps_compiled:
            self._run_compiled(k + 1)
            return
        self._draw()
        with np.errstate(invalid="raise", divide="raise", over="raise"):
            self.market[k + 1, :, :] = 0.0
            step_batch(self.labs, self.world, self.par, self.net, self._shocks, self._urn, self.draws, self.work,
                       self.market[k + 1])
        note_founders(self.world, self._founders)
        self._after_steps()

    @property
    def _steps_compiled(self) -> bool:
        """Whether the batch draws and steps in compiled code: :data:`COMPILED_DRAWS_FROM` runs or more."""
        return len(self._streams) >= COMPILED_DRAWS_FROM

    def _run_compiled(self, stop: int) -> None:
        """Step every run to step ``stop`` in compiled code (economy.kernels.step.run_steps), drawing there from the
        runs' streams; with ``keep_events`` it comes back to Python after each step that has events."""
        states = self._rng_states()
        switches = self._switches()  # read per call: Python may change parameters between calls
        while self.steps_done < stop:
            run_steps(self.labs, self.world, self.par, self.net, states, switches,
                      self._urn_draws, self._shocks, self._urn, self.draws, self.work, self.market, self._founders,
                      stop, self.keep_events)
            self._after_steps()

    def _after_steps(self) -> None:
        """Keep the last step's events (with ``keep_events``) and the labs of a recorded step."""
        k = self.steps_done
        if self.keep_events:
            world = self.world
            for b in np.flatnonzero(world.n_events).tolist():
                self._events[b].append(world.events[b, :int(world.n_events[b])].copy())
        if self.record_labs and (k % self.scenario.output.labs_every == 0 or k == self.n_steps):
            self._record_labs()

    def _switches(self) -> tuple[np.ndarray, ...]:
        """Per run, whether each drawn mechanism is on: behaviour, entry, acquisitions, incidents, compliance."""
        par = self.par
        return (
            (par[:, L.P_ADAPTATION_IMITATION_RATE_PER_YEAR] > 0.0)
            | (par[:, L.P_ADAPTATION_SEARCH_RATE_PER_YEAR] > 0.0),
            par[:, L.P_ENTRY_RATE_PER_YEAR] > 0.0,
            par[:, L.P_ACQUISITIONS_RATE_PER_YEAR] > 0.0,
            par[:, L.P_INCIDENTS_HAZARD_PER_DRIFT] > 0.0,
            par[:, L.P_ENFORCEMENT_EVASION] != 0.0,
        )

    def _draw(self) -> None:
        """One step's random numbers, drawn as this batch draws them: in compiled code from
        :data:`COMPILED_DRAWS_FROM` runs on (:func:`economy.kernels.draws.draw_step`, as
        :func:`economy.kernels.step.run_steps` does) or when the step draws :data:`DRAWS_COMPILED_FROM` numbers or
        more, else in Python (:meth:`_draw_in_python`)."""
        if self._steps_compiled:
            draw = draw_step
        elif self._draw_capacity >= DRAWS_COMPILED_FROM:
            draw = draw_step_threads
        else:
            self._draw_in_python()
            return
        draw(self._rng_states(), *self._switches(), self._urn_draws, self._shocks, self._urn, self.draws)

    def _rng_states(self) -> np.ndarray:
        """The PCG64 states of the runs' drawn streams, ``(runs, len(DRAWN_STREAMS), 4)`` words, which the compiled
        draws advance (economy.kernels.draws): copied from the Generators on first use; :attr:`streams` gives them
        back."""
        if self._compiled_draws is None:
            self._compiled_draws = np.array([[pcg64_words(streams[name]) for name in DRAWN_STREAMS]
                                             for streams in self._streams], dtype=np.uint64)
        self._states_ahead = True
        return self._compiled_draws

    @property
    def streams(self) -> list[dict[str, np.random.Generator]]:
        """Per run, its named Generators (economy.streams), in the state the run's draws have left them."""
        if self._states_ahead:
            for streams, words in zip(self._streams, self._compiled_draws.tolist(), strict=True):
                for name, (high, low, _, _) in zip(DRAWN_STREAMS, words, strict=True):
                    set_pcg64_state(streams[name], high << 64 | low)
            self._states_ahead = False
        return self._streams

    def _draw_in_python(self) -> None:
        """This step's random numbers in Python, the compiled draws' twin (tests/economy/test_draws.py): each run's
        stream drawn only while its mechanism is on in the run, its draws always in the same order.  A batch of
        :data:`COMPILED_DRAWS_FROM` runs or more, or whose step draws :data:`DRAWS_COMPILED_FROM` numbers or more,
        draws in compiled code instead (:func:`economy.kernels.draws.draw_step`, from the same streams, bit for bit
        the same numbers); a smaller one here, so a process that only makes small runs never loads that kernel."""
        draws = self.draws
        behaviour, entry, acquire, incident, compliance = (switch.tolist() for switch in self._switches())
        urn_draws = self._urn_draws.tolist()
        for b, streams in enumerate(self._streams):
            streams["shocks"].standard_normal(out=self._shocks[b])
            if urn_draws[b]:
                streams["market"].random(out=self._urn[b, :urn_draws[b]])
            if behaviour[b]:
                g = streams["behaviour"]
                g.random(out=draws.imitate[b])
                g.random(out=draws.search[b])
                g.standard_normal(out=draws.search_step[b])
            if entry[b]:
                streams["entry"].random(out=draws.entry[b])
                streams["entry"].standard_normal(out=draws.entry_size[b])
            if acquire[b]:
                streams["entry"].random(out=draws.acquire[b])
            if incident[b]:
                streams["incidents"].random(out=draws.incident[b])
            if compliance[b]:
                streams["compliance"].random(out=draws.compliance[b])

    @property
    def names(self) -> list[list[str]]:
        """Per run, every lab's name by column: the starting labs', then entrants (``<kind>-entrant-<column>``) and
        break-up parts (``<parent>-part-<column>``) in the order they were founded."""
        self._name_founded()
        return self._names

    def _name_founded(self) -> None:
        """Name the labs founded since the last call, in column order, from who founded each column
        (``self._founders``): ``<kind>-entrant-<column>`` or ``<parent>-part-<column>``."""
        used = self.world.n_used
        founders = self._founders
        for b in np.flatnonzero(used > self._named).tolist():
            names = self._names[b]
            for i in range(int(self._named[b]), int(used[b])):
                parent = int(founders[b, i])
                if parent == FOUNDED_BY_ENTRY:
                    names.append(f"{KIND_NAMES[int(self.labs.kind[b, i])]}-entrant-{i}")
                elif 0 <= parent < i:
                    names.append(f"{names[parent]}-part-{i}")
                else:
                    raise RuntimeError(f"run {b}: lab column {i} is in use, but its founding is "
                                       f"{'missing' if parent == NOT_FOUNDED else 'inconsistent'} in the events")
            self._named[b] = used[b]
        unused = founders != NOT_FOUNDED
        unused &= np.arange(self.capacity) >= used[:, None]
        if unused.any():
            b, i = (int(x) for x in np.argwhere(unused)[0])
            raise RuntimeError(f"run {b}: an event founded lab column {i}, beyond the {int(used[b])} columns in use")

    def run(self, progress: Callable[[int], None] | None = None) -> Simulation:
        """Step to the horizon; ``progress(steps_done)`` is called after each step, or after each
        :data:`PROGRESS_EVERY` steps when the batch steps in compiled code (:data:`COMPILED_DRAWS_FROM` runs or
        more: then the horizon, or the next step whose labs are recorded, is one compiled call)."""
        every = self.scenario.output.labs_every if self.record_labs else self.n_steps
        while self.steps_done < self.n_steps:
            if not self._steps_compiled:
                self.step()
            else:
                k = self.steps_done
                stop = min(self.n_steps, (k // every + 1) * every)
                if progress is not None:
                    stop = min(stop, k + PROGRESS_EVERY)
                self._run_compiled(stop)
            if progress is not None:
                progress(self.steps_done)
        self._name_founded()  # here, so events that do not add up fail the run, not a later read of its names
        return self

    def _record_labs(self) -> None:
        k = self.steps_done
        keep = self.labs.alive | self.labs.exited
        self.lab_records.append((k, {
            "keep": keep.copy(),
            **{name: getattr(self.labs, name).copy() for name in self.lab_columns},
            "alive": self.labs.alive.copy(),
        }))

    # ------------------------------------------------------------------ results
    def market_frame(self, run: int = 0) -> pd.DataFrame:
        """Market series of one run, one row per step (row 0 is the starting state); the compliance columns only
        with ``enforcement.evasion`` on."""
        done = self.steps_done + 1
        frame = pd.DataFrame(self.market[:done, run, :], columns=list(L.MARKET_COLUMNS))
        frame.insert(0, "step", np.arange(done, dtype=np.int64))
        for col in L.COUNT_COLUMNS:
            frame[col] = frame[col].astype(np.int64)
        if not self.evasion:
            frame = frame.drop(columns=list(COMPLIANCE_COLUMNS))
        return frame

    def events_frame(self, run: int = 0) -> pd.DataFrame:
        """Events of one run, in the order they happened: entries, exits, acquisitions (and blocked deals),
        incidents, catastrophes and strategy changes (``economy.kernels.layout.EVENT_KINDS``).

        Columns ``EVENT_COLUMNS``: ``year`` (the end of the step in which it happened), ``lab_id`` and ``lab``
        (name), ``kind``, ``other_lab_id`` and ``other_lab`` (the acquired lab, the lab imitated, the open
        frontier an entrant started from; -1 and None otherwise) and ``value`` (see ``EVENT_KINDS``).
        """
        if not self.keep_events:
            raise RuntimeError("this Simulation was built with keep_events=False: it kept no events")
        chunks = self._events[run]
        rows = np.concatenate(chunks) if chunks else np.zeros((0, L.EVENT_FIELDS))
        names = np.array(self.names[run] + [None], dtype=object)  # index -1: no lab
        lab = rows[:, L.EV_LAB].astype(np.int64)
        other = rows[:, L.EV_OTHER].astype(np.int64)
        return pd.DataFrame({
            "year": rows[:, L.EV_YEAR],
            "lab_id": lab,
            "lab": names[lab],
            "kind": np.array(L.EVENT_KINDS, dtype=object)[rows[:, L.EV_KIND].astype(np.int64)],
            "other_lab_id": other,
            "other_lab": names[other],
            "value": rows[:, L.EV_VALUE],
        }, columns=list(EVENT_COLUMNS))

    def labs_frame(self, run: int = 0) -> pd.DataFrame:
        """Lab series of one run in long format: one row per lab per recorded step."""
        dt, start = self.scenario.sim.dt, self.scenario.sim.start_year
        # the kept (alive or just exited) columns of every record, stacked once (not one frame per record)
        idx = [np.flatnonzero(rec["keep"][run]) for _, rec in self.lab_records]
        steps = np.repeat(np.array([k for k, _ in self.lab_records], np.int64), [i.size for i in idx])
        lab_id = np.concatenate(idx).astype(np.int64)
        names = np.array(self.names[run] + [None], dtype=object)  # every name (None pads an empty table)
        columns = {
            "step": steps,
            "year": start + steps * dt,
            "lab_id": lab_id,
            "name": names[lab_id],
            "kind": self.labs.kind[run][lab_id].astype(np.int64),
            "alive": np.concatenate([rec["alive"][run][i] for (_, rec), i in zip(self.lab_records, idx, strict=True)]),
        }
        for name in self.lab_columns:
            columns[name] = np.concatenate([rec[name][run][i] for (_, rec), i in zip(self.lab_records, idx,
                                                                                     strict=True)])
        frame = pd.DataFrame(columns)
        frame["log10_eff_compute"] = frame.pop("log_eff_compute") / math.log(10.0)
        return frame

    def summary(self, run: int = 0) -> dict[str, Any]:
        """Per-run outcomes (docs/model.md, "Stage 10: record")."""
        last = self.market[self.steps_done, run]
        flows = self.market[1:self.steps_done + 1, run]
        world = self.world
        sing = float(world.singularity_year[run])
        ceiling = float(world.ceiling_year[run])
        recorded = self.market[:self.steps_done + 1, run]
        start, end = float(world.takeoff_start_year[run]), float(world.takeoff_end_year[run])
        leader_share = float(last[L.M_TOP1_SHARE])
        hhi = float(last[L.M_HHI])
        alive = self.labs.alive[run]
        leader = int(np.argmax(np.where(alive, self.labs.share[run], -1.0))) if alive.any() else -1
        return {
            "seed": int(self.roots[run].entropy) if isinstance(self.roots[run].entropy, int) else None,
            "spawn_key": list(self.roots[run].spawn_key),
            "final_year": float(last[L.M_YEAR]),
            "final_hhi": hhi,
            "leader_share": leader_share,
            "leader": self.names[run][leader] if leader >= 0 else None,
            "effective_labs": float(last[L.M_EFFECTIVE_LABS]),
            "top4_share": float(last[L.M_TOP4_SHARE]),
            "n_alive": int(last[L.M_N_ALIVE]),
            "n_exits": int(flows[:, L.M_N_EXITS].sum()),
            "unipolar": bool(leader_share > 0.5 or hhi > 5000.0),
            "unipolar_by_share": bool(leader_share > 0.5),
            "unipolar_by_hhi": bool(hhi > 5000.0),
            "singularity_year": sing if sing >= 0.0 else None,
            "ceiling_year": ceiling if ceiling >= 0.0 else None,
            "takeoff_start_year": start if start >= 0.0 else None,
            "takeoff_years": end - start if (start >= 0.0 and end >= 0.0) else None,
            **automation_takeoff(recorded[:, L.M_YEAR], recorded[:, L.M_FRONTIER_AUTOMATION],
                                 float(self.par[run, L.P_RESEARCH_MAX_AUTOMATION])),
            "frontier_quality": float(last[L.M_FRONTIER_QUALITY]),
            "frontier_log10_eff_compute": float(last[L.M_FRONTIER_LOG10_EFF_COMPUTE]),
            "leader_gap_ooms": _finite_or_none(last[L.M_LEADER_GAP_OOMS]),
            "consumer_value": float(world.consumer_value[run]),
            "catastrophe": bool(world.catastrophe_year[run] >= 0.0),
            "catastrophe_year": float(world.catastrophe_year[run]) if world.catastrophe_year[run] >= 0.0 else None,
            "incidents": int(flows[:, L.M_INCIDENTS].sum()),
            "tax_revenue_usd": float(flows[:, L.M_TAX_REVENUE].sum()),
            "subsidy_usd": float(flows[:, L.M_CASH_SUBSIDY].sum()),
            "n_entries": int(flows[:, L.M_N_ENTRIES].sum()),
            "n_acquisitions": int(flows[:, L.M_N_ACQUISITIONS].sum()),
            **(self._compliance_summary(flows) if self.evasion else {}),
        }

    def _compliance_summary(self, flows: np.ndarray) -> dict[str, Any]:
        """The compliance stage's totals over a run (only with ``enforcement.evasion`` on)."""
        return {
            "evading_lab_years": float(flows[:, L.M_N_EVADING].sum()) * self.scenario.sim.dt,
            "evasion_gain_usd": float(flows[:, L.M_EVASION_GAIN_USD].sum()),
            "detections": int(flows[:, L.M_N_DETECTED].sum()),
            "fines_usd": float(flows[:, L.M_FINES_USD].sum()),
            "compute_seized": float(flows[:, L.M_COMPUTE_SEIZED].sum()),
            "audits": int(flows[:, L.M_AUDITS].sum()),
            "regulator_spend_usd": float(flows[:, L.M_REGULATOR_SPEND_USD].sum()),
        }


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
