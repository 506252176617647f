"""Struct-of-arrays state of a batch of runs.

``LabState`` holds one 2-D array per field, shape ``(runs, capacity)``: row ``b`` is run ``b`` of a batch
(a single run is a batch of one) and column ``i`` is lab ``i``; ``lab_id == column`` for the whole run and
the ``alive`` mask marks which columns are in play.  ``WorldState`` holds the world the labs of each run live
in (the compute and talent markets, demand, the run's outcomes and its event buffer), one entry per run; the
kernels call it ``world``, so that ``runs`` keeps one meaning (the package, ``runs.parquet``, ``--runs``).
Units are in the field comments.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from economy.kernels.blocks import BLOCK_SLOTS, SUM_BLOCK
from economy.kernels.layout import (
    COMPLIANCE_DRAWS,
    ENTRY_SLOTS,
    EVENT_FIELDS,
    N_POLICY_KINDS,
    N_TRIGGER_OBSERVABLES,
    NODE_FIELDS,
    PEER_FIELDS,
    RIVAL_SLOTS,
    ROUTINE_FIELDS,
    SEARCH_DRAWS,
)

__all__ = [
    "N_BLOC_SLOTS", "LabState", "NetworkState", "StepDraws", "StepWork", "WorldState", "allocate_draws",
    "allocate_labs", "allocate_network", "allocate_work", "allocate_world",
]


class LabState(NamedTuple):
    # identity and behaviour codes
    alive: np.ndarray  # bool
    kind: np.ndarray  # int8, economy.archetypes.KIND_CODE
    funding: np.ndarray  # int8, FUNDING_INVESTORS or FUNDING_STATE
    bloc: np.ndarray  # int16, jurisdiction / community
    # stocks
    cash_usd: np.ndarray  # USD
    compute_flop_per_year: np.ndarray  # owned capacity, FLOP/year
    log_software: np.ndarray  # ln S, algorithmic efficiency multiplier (2025 frontier = 0)
    log_eff_compute: np.ndarray  # ln E of the served model, ln(effective FLOP)
    researchers: np.ndarray  # people
    share: np.ndarray  # customer market share, fraction of AI demand
    customers: np.ndarray  # urn-mode customer count
    data_tokens: np.ndarray  # flywheel data, tokens
    drift: np.ndarray  # accumulated value drift, dimensionless
    # training run in progress
    run_flop: np.ndarray  # FLOP accumulated in the current run
    run_log_software: np.ndarray  # ln S frozen at the run's start
    run_elapsed_years: np.ndarray  # years since the run started
    # behaviour (set by strategies)
    spend_rate_per_year: np.ndarray  # 1/year, share of cash spent per year
    compute_spend_fraction: np.ndarray  # fraction of spending that buys compute
    train_fraction: np.ndarray  # fraction of compute on training
    inference_fraction: np.ndarray  # fraction of compute serving customers
    safety_base: np.ndarray  # safety share with no rival close
    openness: np.ndarray  # propensity to publish, fraction
    strategy: np.ndarray  # int8, economy.archetypes.STRATEGY_* (adaptive, fixed, python)
    # adaptation and outcomes (stages 1, 7 and 8)
    performance: np.ndarray  # smoothed return on capital, 1/year
    aspiration: np.ndarray  # aspiration level of performance, 1/year
    log_revenue: np.ndarray  # ln(revenue + REVENUE_FLOOR_USD) of the last step, ln(USD/year)
    revenue_growth: np.ndarray  # smoothed growth of ln revenue, 1/year
    profit_usd_per_year: np.ndarray  # operating profit this step: revenue (1 - opex) - wages - depreciation
    capital_usd: np.ndarray  # compute at the market price plus cash, USD
    incidents: np.ndarray  # int32, incidents so far
    founded_year: np.ndarray  # year the lab started (the start year for the starting labs)
    # derived each step
    safety: np.ndarray  # safety share of research effort this step
    automation: np.ndarray  # automated fraction of research tasks
    quality: np.ndarray  # u = alpha ln(E / C_c)
    revenue_usd_per_year: np.ndarray  # revenue rate this step
    singular_year: np.ndarray  # year the lab's ln S diverged (a real finite-time blow-up), -1 if never
    ceiling_year: np.ndarray  # year ln S reached sim.log_software_ceiling and was held there, -1 if never
    exited: np.ndarray  # bool, exited during the current step
    strategy_changed: np.ndarray  # int8, 1 imitated and 2 searched during the current step
    imitated: np.ndarray  # int32, the lab imitated during the current step (-1: none)
    incident_flag: np.ndarray  # int8, 1 incident and 2 catastrophic incident during the current step
    incident_cost: np.ndarray  # USD, cash an incident cost during the current step
    tax_usd: np.ndarray  # USD, windfall tax paid during the current step (stage 9)
    subsidy_usd: np.ndarray  # USD, research subsidy received during the current step (stage 9)
    funding_inflow_usd_per_year: np.ndarray  # USD/year, this step's investor or state funding (stage 7)
    # compliance and the regulator (stage 9, economy.kernels.compliance; all 0 with enforcement.evasion off)
    evasion: np.ndarray  # fraction of each binding rule the lab evades this step (its propensity, or 0)
    evasion_gain_usd: np.ndarray  # USD, the expected gain of this step's evasion (0 if it complies)
    detection_probability: np.ndarray  # probability the lab would be caught evading this step
    suspicion: np.ndarray  # regulator's log-odds that the lab evades, minus the prior's (0: the prior)
    ban_until_year: np.ndarray  # year a caught lab's ban ends (0: never banned)
    caught: np.ndarray  # int8, 1 if the regulator caught the lab this step
    # scratch, per step
    compute_budget_usd: np.ndarray  # USD spent on compute this step
    hire: np.ndarray  # desired change in staff this step, people
    logit_weight: np.ndarray  # w = gamma u + zeta ln(1 + data) in the customers' logit (stages 4-6), -inf: no model
    spare_capacity_usd_per_year: np.ndarray  # USD/year, inference capacity its own customers leave unused (stage 6)
    scratch: np.ndarray  # sort buffer for the record stage


class WorldState(NamedTuple):
    """Per-run state of the world the labs live in (the kernels' ``world`` argument)."""

    step: np.ndarray  # int64, steps taken
    log_price_floor: np.ndarray  # ln(USD per FLOP/year), hardware production cost
    price: np.ndarray  # USD per (FLOP/year), clearing price of the last step
    talent_pool: np.ndarray  # people not employed by any lab
    resale_flop: np.ndarray  # FLOP/year of compute returned by exits, for sale next step
    demand: np.ndarray  # USD/year, total AI demand of the last step
    singularity_year: np.ndarray  # year the first lab went singular, -1 if none
    ceiling_year: np.ndarray  # year the first lab's ln S reached the numerical ceiling, -1 if none
    takeoff_start_year: np.ndarray  # year the frontier crossed par-human, -1 if not yet
    takeoff_end_year: np.ndarray  # year the frontier crossed strongly superhuman, -1 if not yet
    frontier_history: np.ndarray  # (runs, H) ring buffer of frontier ln E over the last year
    consumer_value: np.ndarray  # cumulative consumer value, USD (demand-weighted quality surplus)
    n_used: np.ndarray  # int64, lab columns used so far (starting labs and entrants); the next entrant's column
    catastrophe_year: np.ndarray  # year of the first catastrophic incident, -1 if none
    n_events: np.ndarray  # int64, events recorded in ``events`` during the current step
    events_dropped: np.ndarray  # int64, events of the current step that did not fit in ``events``
    events: np.ndarray  # (runs, slots, EVENT_FIELDS) this step's events: year, lab, kind, other lab, value
    pause_until: np.ndarray  # year the conditional pause ends, -1 if it never started (stage 9)
    pause_cap_ln: np.ndarray  # ln E releases may not pass while the pause holds (read only then)
    trigger_observed: np.ndarray  # (runs, slots, observables) ring of the regulator's observables (stage 9 triggers)
    trigger_state: np.ndarray  # (runs, policy kinds, 2) record that started the condition / switched on, -1 if none


_LAB_DTYPES = {"alive": np.bool_, "exited": np.bool_, "kind": np.int8, "funding": np.int8, "bloc": np.int16,
               "strategy": np.int8, "incidents": np.int32, "strategy_changed": np.int8, "imitated": np.int32,
               "incident_flag": np.int8, "caught": np.int8}


def allocate_labs(n_runs: int, capacity: int) -> LabState:
    """Zeroed lab state; ``singular_year`` and ``ceiling_year`` start at -1 (never)."""
    arrays = {
        name: np.zeros((n_runs, capacity), dtype=_LAB_DTYPES.get(name, np.float64)) for name in LabState._fields
    }
    arrays["singular_year"][:] = -1.0
    arrays["ceiling_year"][:] = -1.0
    arrays["imitated"][:] = -1
    return LabState(**arrays)


def allocate_world(n_runs: int, history: int, event_slots: int = 1, observation_slots: int = 2) -> WorldState:
    """Zeroed run state with ``history`` slots of frontier history, ``event_slots`` event rows per step and
    ``observation_slots`` records in the triggers' observation ring; year fields start at -1 (never)."""
    return WorldState(
        step=np.zeros(n_runs, np.int64),
        log_price_floor=np.zeros(n_runs),
        price=np.zeros(n_runs),
        talent_pool=np.zeros(n_runs),
        resale_flop=np.zeros(n_runs),
        demand=np.zeros(n_runs),
        singularity_year=np.full(n_runs, -1.0),
        ceiling_year=np.full(n_runs, -1.0),
        takeoff_start_year=np.full(n_runs, -1.0),
        takeoff_end_year=np.full(n_runs, -1.0),
        frontier_history=np.zeros((n_runs, history)),
        consumer_value=np.zeros(n_runs),
        n_used=np.zeros(n_runs, np.int64),
        catastrophe_year=np.full(n_runs, -1.0),
        n_events=np.zeros(n_runs, np.int64),
        events_dropped=np.zeros(n_runs, np.int64),
        events=np.zeros((n_runs, max(1, event_slots), EVENT_FIELDS)),
        pause_until=np.full(n_runs, -1.0),
        pause_cap_ln=np.zeros(n_runs),
        trigger_observed=np.zeros((n_runs, max(2, observation_slots), N_TRIGGER_OBSERVABLES)),
        trigger_state=np.full((n_runs, N_POLICY_KINDS, 2), -1.0),
    )


N_BLOC_SLOTS = 64
"""Bloc codes run from 0 to N_BLOC_SLOTS - 1 (jurisdictions, communities and market segments)."""


class NetworkState(NamedTuple):
    """The batch's spillover network as CSR arrays (economy.network builds it; docs/network.md)."""

    # adjacency: run b's lab i has neighbours indices[indptr[b, i]:indptr[b, i + 1]] (absolute offsets)
    indptr: np.ndarray  # (runs, capacity + 1) int64
    indices: np.ndarray  # (edges,) int32, neighbour column within the run
    weight: np.ndarray  # (edges,) float64, edge weight (symmetric: both rows of an edge hold the same value)
    strength: np.ndarray  # (runs, capacity), sum of the row's edge weights at the start
    # market segments (stage 6)
    segment_demand: np.ndarray  # (runs, N_BLOC_SLOTS), each bloc's share of total demand
    n_segments: np.ndarray  # (runs,) int64, blocs with positive demand
    segment_scratch: np.ndarray  # (runs, N_BLOC_SLOTS) scratch
    # stage-5 snapshot: one 64-byte record per lab (columns economy.kernels.layout.NODE_*), so that reading a
    # neighbour costs one cache line instead of one per field
    node: np.ndarray  # (runs, capacity, NODE_FIELDS), columns economy.kernels.layout.NODE_*
    # per-lab values and flows, (runs, capacity)
    prev_log_software: np.ndarray  # ln S at the step's start (before research)
    snap_researchers: np.ndarray  # people at the start of stage 5
    leave_rate: np.ndarray  # talent leaving rate, 1/year
    gain: np.ndarray  # ln S gained from publication this step
    moved: np.ndarray  # researchers who left this lab this step, people
    distilled: np.ndarray  # 1.0 if distillation lifted ln E this step
    active_edges: np.ndarray  # int64, active edges at this lab this step


def allocate_network(n_runs: int, capacity: int, n_entries: int) -> NetworkState:
    """Zeroed network state with ``n_entries`` CSR entries (twice the undirected edges)."""
    per_lab = {name: np.zeros((n_runs, capacity)) for name in NetworkState._fields[8:]}
    per_lab["active_edges"] = np.zeros((n_runs, capacity), np.int64)
    # the node records start on a 64-byte boundary, so each lab's record is one cache line
    size = n_runs * capacity * NODE_FIELDS
    buffer = np.zeros(size + NODE_FIELDS)
    start = (-buffer.ctypes.data % 64) // buffer.itemsize
    node = buffer[start: start + size].reshape(n_runs, capacity, NODE_FIELDS)
    return NetworkState(
        indptr=np.zeros((n_runs, capacity + 1), np.int64),
        indices=np.zeros(n_entries, np.int32),
        weight=np.zeros(n_entries),
        strength=np.zeros((n_runs, capacity)),
        segment_demand=np.zeros((n_runs, N_BLOC_SLOTS)),
        n_segments=np.zeros(n_runs, np.int64),
        segment_scratch=np.zeros((n_runs, N_BLOC_SLOTS)),
        node=node,
        **per_lab,
    )


class StepDraws(NamedTuple):
    """The random numbers of one step besides the research shocks, drawn by the engine from each run's own
    streams (economy.engine) and read by the kernels, which hold no generator."""

    imitate: np.ndarray  # (runs, capacity) uniforms: does the lab look for a routine to imitate ("behaviour")
    search: np.ndarray  # (runs, capacity) uniforms: does an unsatisfied lab search ("behaviour")
    search_step: np.ndarray  # (runs, capacity, SEARCH_DRAWS) standard normals: the search step ("behaviour")
    entry: np.ndarray  # (runs, 1 + ENTRY_SLOTS) uniforms: the Poisson count, then each entrant's kind ("entry")
    entry_size: np.ndarray  # (runs, ENTRY_SLOTS) standard normals: each entrant's ln size ("entry")
    acquire: np.ndarray  # (runs, capacity) uniforms: does a large lab look for a deal ("entry")
    incident: np.ndarray  # (runs, capacity) uniforms: incidents ("incidents")
    compliance: np.ndarray  # (runs, capacity, COMPLIANCE_DRAWS) uniforms: detection and signals ("compliance")


def allocate_draws(n_runs: int, capacity: int) -> StepDraws:
    """Zeroed draws (a zero uniform never triggers an event whose probability is zero); the compliance uniforms
    start at 1, which no detection or signal passes."""
    return StepDraws(
        imitate=np.zeros((n_runs, capacity)),
        search=np.zeros((n_runs, capacity)),
        search_step=np.zeros((n_runs, capacity, SEARCH_DRAWS)),
        entry=np.zeros((n_runs, 1 + ENTRY_SLOTS)),
        entry_size=np.zeros((n_runs, ENTRY_SLOTS)),
        acquire=np.zeros((n_runs, capacity)),
        incident=np.zeros((n_runs, capacity)),
        compliance=np.ones((n_runs, capacity, COMPLIANCE_DRAWS)),
    )


class StepWork(NamedTuple):
    """Scratch of one step, allocated once per simulation (``work`` in the kernels): stage 1's snapshots, and the
    per-run values one stage hands on to a later one of the same step (each written before it is read;
    economy/kernels/step.py lists the stages)."""

    # stage 1 (economy.kernels.strategy)
    routine: np.ndarray  # (runs, capacity, ROUTINE_FIELDS) every lab's routine at the start of stage 1
    top: np.ndarray  # (runs, RIVAL_SLOTS + 1) int64, the best alive labs by quality, -1 padded
    best: np.ndarray  # (runs,) int64, the alive lab with the highest performance, -1 if none
    peer: np.ndarray  # (runs, capacity, PEER_FIELDS) alive, bloc, quality, performance (runs with a network)
    # the step's calendar (economy.kernels.step.begin_step)
    start_year: np.ndarray  # (runs,) year the step starts
    end_year: np.ndarray  # (runs,) year the step ends (start + dt): the year of its events and of its record
    # stage 2 (economy.kernels.factor_markets)
    own_compute_fraction: np.ndarray  # (runs,) share of a compute budget that buys the lab's own compute (< 1: tax)
    hire_fraction: np.ndarray  # (runs,) share of each requested hire the talent pool fills
    # stage 6 (economy.kernels.market)
    frontier_quality: np.ndarray  # (runs,) quality u of the best alive lab, or the outside option's if none
    max_logit_weight: np.ndarray  # (runs,) m, the largest logit weight, outside option included
    log_norm: np.ndarray  # (runs, N_BLOC_SLOTS) ln Z - m of each market segment, Z the logit's denominator
    investor_weight_total: np.ndarray  # (runs,) investors' weights summed over investor-funded labs with a model
    # start of stage 7 (economy.kernels.money)
    unserved_ratio: np.ndarray  # (runs,) fraction of each lab's spare capacity that unserved demand fills
    inside_share: np.ndarray  # (runs,) the alive labs' total share
    exit_share: np.ndarray  # (runs,) investor-funded labs below this share close, past their grace period...
    founded_by_year: np.ndarray  # (runs,) ... if founded no later than this year
    # scratch of the stages that run without numba's reference counting (economy.kernels.config.kernel_nocount),
    # which may not allocate
    factors: np.ndarray  # (runs, FACTOR_SLOTS) per-run factors a stage computes before its row kernel
    frontier: np.ndarray  # (runs,) int64, the record's frontier lab, for the pause trigger
    block_sums: np.ndarray  # (n_blocks, BLOCK_SLOTS) a large run's partial sums (economy.kernels.blocks)
    block_pairs: np.ndarray  # (n_blocks, 2) int64, a large run's best two labs per block


WORK_SCRATCH = ("factors", "frontier", "block_sums", "block_pairs")
"""The fields of :class:`StepWork` that are scratch, not values one stage hands on to a later one."""
FACTOR_SLOTS = 8
"""Per-run factors a stage may keep in ``work.factors`` (stage 3 keeps five, stage 1 four)."""


def _blocks(capacity: int) -> int:
    """economy.kernels.blocks.n_blocks in Python."""
    return max(1, -(-capacity // SUM_BLOCK))


def allocate_work(n_runs: int, capacity: int) -> StepWork:
    """Step scratch; stage 1's tables start empty (-1), every per-run value at 0 (each is written before read)."""
    per_run = {name: np.zeros(n_runs) for name in StepWork._fields[4:] if name not in ("log_norm", *WORK_SCRATCH)}
    return StepWork(
        routine=np.zeros((n_runs, capacity, ROUTINE_FIELDS)),
        top=np.full((n_runs, RIVAL_SLOTS + 1), -1, np.int64),
        best=np.full(n_runs, -1, np.int64),
        peer=np.zeros((n_runs, capacity, PEER_FIELDS)),
        log_norm=np.zeros((n_runs, N_BLOC_SLOTS)),
        factors=np.zeros((n_runs, FACTOR_SLOTS)),
        frontier=np.full(n_runs, -1, np.int64),
        block_sums=np.zeros((_blocks(capacity), BLOCK_SLOTS)),
        block_pairs=np.full((_blocks(capacity), 2), -1, np.int64),
        **per_run,
    )
