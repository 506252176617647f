"""Struct-of-arrays state of a batch of runs.

``LabState`` holds one 2-D array per field, shape ``(runs, capacity)``: row ``b`` is run ``b`` of a batch
(a single run is a batch of one) and column ``i`` is lab ``i``; ``lab_id == column`` for the whole run and
the ``alive`` mask marks which columns are in play.  ``RunState`` holds the per-run market state, one
entry per run.  Units are in the field comments.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["LabState", "RunState", "allocate_labs", "allocate_runs"]


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
    # derived each step
    safety: np.ndarray  # safety share of research effort this step
    automation: np.ndarray  # automated fraction of research tasks
    quality: np.ndarray  # u = alpha ln(E / C_c)
    revenue_usd_per_year: np.ndarray  # revenue rate this step
    singular_year: np.ndarray  # year ln S reached the ceiling, -1 if never
    exited: np.ndarray  # bool, exited during the current step
    # scratch, per step
    compute_budget_usd: np.ndarray  # USD spent on compute this step
    hire: np.ndarray  # desired change in staff this step, people
    weight: np.ndarray  # logit log-weight, or investor weight
    scratch: np.ndarray  # sort buffer for the record stage


class RunState(NamedTuple):
    step: np.ndarray  # int64, steps taken
    log_price_floor: np.ndarray  # ln(USD per FLOP/year), hardware production cost
    price: np.ndarray  # USD per (FLOP/year), clearing price of the last step
    talent_pool: np.ndarray  # people not employed by any lab
    resale_flop: np.ndarray  # FLOP/year of compute returned by exits, for sale next step
    demand: np.ndarray  # USD/year, total AI demand of the last step
    singularity_year: np.ndarray  # year the first lab went singular, -1 if none
    takeoff_start_year: np.ndarray  # year the frontier crossed par-human, -1 if not yet
    takeoff_end_year: np.ndarray  # year the frontier crossed strongly superhuman, -1 if not yet
    frontier_history: np.ndarray  # (runs, H) ring buffer of frontier ln E over the last year
    consumer_value: np.ndarray  # cumulative consumer value, USD (demand-weighted quality surplus)


_LAB_DTYPES = {"alive": np.bool_, "exited": np.bool_, "kind": np.int8, "funding": np.int8, "bloc": np.int16}


def allocate_labs(n_runs: int, capacity: int) -> LabState:
    """Zeroed lab state; ``singular_year`` starts at -1 (never)."""
    arrays = {
        name: np.zeros((n_runs, capacity), dtype=_LAB_DTYPES.get(name, np.float64)) for name in LabState._fields
    }
    arrays["singular_year"][:] = -1.0
    return LabState(**arrays)


def allocate_runs(n_runs: int, history: int) -> RunState:
    """Zeroed run state with ``history`` slots of frontier history; year fields start at -1 (never)."""
    runs = RunState(
        step=np.zeros(n_runs, np.int64),
        log_price_floor=np.zeros(n_runs),
        price=np.zeros(n_runs),
        talent_pool=np.zeros(n_runs),
        resale_flop=np.zeros(n_runs),
        demand=np.zeros(n_runs),
        singularity_year=np.full(n_runs, -1.0),
        takeoff_start_year=np.full(n_runs, -1.0),
        takeoff_end_year=np.full(n_runs, -1.0),
        frontier_history=np.zeros((n_runs, history)),
        consumer_value=np.zeros(n_runs),
    )
    return runs
