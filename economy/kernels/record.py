r"""Stage 10, the record: each run's market metrics and stocks, one row ``rec[run, :]`` a step (docs/model.md,
"Stage 10: record"; the columns are ``economy.kernels.layout.MARKET_COLUMNS``).

The stage is :func:`record_stage`; its docstring gives the equations.
"""

import math

import numpy as np
from numba import prange

from economy.kernels.blocks import BLOCK_SLOTS, SUM_BLOCK, add_blocks, block_bounds, n_blocks, top_two_blocked
from economy.kernels.config import jit, kernel, kernel_inline, kernel_nocount, kernel_parallel
from economy.kernels.layout import (
    M_COMPUTE_PRICE,
    M_EFFECTIVE_LABS,
    M_EVENTS_DROPPED,
    M_FRONTIER_AUTOMATION,
    M_FRONTIER_LOG10_EFF_COMPUTE,
    M_FRONTIER_LOG_SOFTWARE,
    M_FRONTIER_QUALITY,
    M_GINI_REVENUE,
    M_HHI,
    M_LEADER_GAP_OOMS,
    M_LEADER_GAP_YEARS,
    M_MAX_DRIFT,
    M_MEAN_SAFETY,
    M_N_ALIVE,
    M_N_SINGULAR,
    M_OUTSIDE_SHARE,
    M_PAUSED,
    M_PRICE_FLOOR,
    M_RESALE_COMPUTE,
    M_RUNNERUP_QUALITY,
    M_TALENT_POOL,
    M_TOP1_SHARE,
    M_TOP4_SHARE,
    M_TOTAL_CASH,
    M_TOTAL_COMPUTE,
    M_TOTAL_DEMAND,
    M_TOTAL_RESEARCHERS,
    M_TOTAL_REVENUE,
    M_YEAR,
    P_LN10_TIMES_CAPABILITY_PAR_HUMAN_LOG10_FLOP,
    P_LN10_TIMES_CAPABILITY_SUPERHUMAN_LOG10_FLOP,
    P_SIM_DT,
    P_SIM_START_YEAR,
)
from economy.kernels.metrics import concentration, concentration_blocked, gini_row, top_two
from economy.kernels.policies import pause_event, pause_trigger
from economy.kernels.spillover import knowledge_gap_blocked, record_knowledge_gap
from economy.kernels.triggers import trigger_run

__all__ = ["NAN", "NEG_INF", "record_initial", "record_metrics", "record_stage"]

NAN = math.nan
NEG_INF = -math.inf


@kernel_nocount
def record_stage(labs, world, par, work, rec):
    r"""Stage 10 for every run of a batch: the record (docs/model.md, "Stage 10: record").

    Per run, serially, on the step's final state: concentration of the inside market
    (shares renormalised over alive labs :math:`\hat s_i = s_i / \sum_j s_j`),

    .. math::
        HHI = 10^4 \sum_i \hat s_i^2, \qquad N_{eff} = 10^4 / HHI, \qquad
        G = \frac{\sum_i \sum_j |x_i - x_j|}{2 m \sum_i x_i} \;\; (x = \text{revenue}),

    the frontier (the best alive lab with a model) and its lead over the runner-up, in orders of magnitude of
    effective compute and in years at the frontier's growth over the last year (a ring buffer of its ln E),

    .. math:: \text{gap}_{years} = \frac{\ln E_1 - \ln E_2}{(\ln E_1(t) - \ln E_1(t - 1\,\text{yr})) / 1\,\text{yr}},

    the takeoff clock (the years the frontier crosses par-human and superhuman effective compute), the first
    singular lab's year and the first year a lab reached the ln S ceiling, and the stocks of money, compute and
    people (the conservation tests read them).  Then the conditional pause's trigger and the policies' triggers
    (stage 9) read the record, and the step count advances.

    Per run: :func:`record_metrics`, whether a pause held this step, the conditional pause's trigger on the recorded
    frontier and the policies' triggers (stage 9, economy.kernels.triggers.trigger_run), the events that did not
    fit, and the step count.

    Parameters
    ----------
    labs, world : LabState, WorldState
        The batch's labs and the world they live in (economy.state), updated in place.
    par : ndarray, shape (runs, N_PARAMS)
        Packed parameters (columns ``economy.kernels.layout.P_*``).
    work : StepWork
        Reads ``start_year`` and ``end_year``.
    rec : ndarray, shape (runs, N_MARKET)
        The step's record, ``rec[run, column]`` with the columns of ``economy.kernels.layout.MARKET_COLUMNS``.
    """
    frontier = work.frontier
    record_metrics(labs, world, par, work.end_year, 1, rec, frontier, work.block_sums, work.block_pairs)
    for b in range(labs.cash_usd.shape[0]):
        start_year = work.start_year[b]
        end_year = work.end_year[b]
        rec[b, M_PAUSED] = 1.0 if world.pause_until[b] > start_year else 0.0
        first = frontier[b]
        if first >= 0 and pause_trigger(world, par, b, start_year, end_year, labs.log_eff_compute[b, first]):
            pause_event(world, b, end_year, first, labs.log_eff_compute[b, first])
        trigger_run(world, par, b, world.step[b] + 1, end_year, rec[b])
        rec[b, M_EVENTS_DROPPED] = world.events_dropped[b]
        world.step[b] += 1


@kernel_nocount
def record_metrics(labs, world, par, years, steps_ahead, rec, frontier, block_sums, block_pairs):
    """Stage 10 for every run b: market metrics and stocks into ``rec[b]``, recorded at ``years[b]`` after
    ``s = world.step[b] + steps_ahead`` steps; ``frontier[b]`` becomes the column of the run's best alive lab by
    quality (-1 if none), which the record stage's pause trigger reads; ``block_sums`` and ``block_pairs`` are a
    large run's scratch (economy.state.StepWork).  One call for all the runs, the loop written inside, compiled
    without reference counting (docs/performance.md, "Reference counting").  Each sum runs over the run's columns in
    lab order (:func:`_stock_sums`, :func:`first_year`); a run of more than SUM_BLOCK labs takes the same sums in
    blocks (economy.kernels.blocks)."""
    for b in range(labs.cash_usd.shape[0]):
        year = years[b]
        s = world.step[b] + steps_ahead
        demand = world.demand[b]
        dt = par[b, P_SIM_DT]
        n = labs.cash_usd.shape[1]
        large = n > SUM_BLOCK
        if large:  # a large run: the same sums in blocks, on the threads (economy.kernels.blocks)
            sums = block_sums
            _stock_sum_blocks(labs.alive, labs.singular_year, labs.cash_usd, labs.compute_flop_per_year,
                              labs.researchers, labs.revenue_usd_per_year, labs.share, labs.safety, labs.drift, b,
                              sums)
            blocks = n_blocks(n)
            n_singular, n_alive = int(add_blocks(sums, 0, blocks)), int(add_blocks(sums, 1, blocks))
            total_cash, total_compute = add_blocks(sums, 2, blocks), add_blocks(sums, 3, blocks)
            staff, revenue = add_blocks(sums, 4, blocks), add_blocks(sums, 5, blocks)
            inside, safety = add_blocks(sums, 6, blocks), add_blocks(sums, 7, blocks)
            max_drift = sums[0, 8]
            for k in range(1, blocks):
                max_drift = max(max_drift, sums[k, 8])
        else:
            (n_singular, n_alive, total_cash, total_compute, staff, revenue, inside, safety,
             max_drift) = _stock_sums(labs.alive, labs.singular_year, labs.cash_usd, labs.compute_flop_per_year,
                                      labs.researchers, labs.revenue_usd_per_year, labs.share, labs.safety,
                                      labs.drift, b, 0, n)
        rec[b, M_YEAR] = year
        if large:
            hhi, eff, top1, top4 = concentration_blocked(labs.share, labs.alive, b, inside, block_sums)
        else:
            hhi, eff, top1, top4 = concentration(labs.share[b], labs.alive[b])
        rec[b, M_HHI] = hhi
        rec[b, M_EFFECTIVE_LABS] = eff
        rec[b, M_TOP1_SHARE] = top1
        rec[b, M_TOP4_SHARE] = top4
        rec[b, M_OUTSIDE_SHARE] = 1.0 - inside if n_alive > 0 else 1.0
        rec[b, M_GINI_REVENUE] = gini_row(labs.revenue_usd_per_year, labs.alive, labs.scratch, b)
        if large:
            first, second = top_two_blocked(labs.quality, labs.alive, b, block_pairs)
        else:
            first, second = top_two(labs.quality[b], labs.alive[b])
        frontier[b] = first
        # a lab with no trained model (ln E = -inf) is neither frontier nor runner-up: those columns are undefined
        if second >= 0 and labs.quality[b, second] == NEG_INF:
            second = -1
        if first >= 0 and labs.quality[b, first] == NEG_INF:
            first = -1
        if first >= 0:
            log_e = labs.log_eff_compute[b, first]
            rec[b, M_FRONTIER_QUALITY] = labs.quality[b, first]
            rec[b, M_FRONTIER_LOG10_EFF_COMPUTE] = log_e / math.log(10.0)
            rec[b, M_FRONTIER_LOG_SOFTWARE] = labs.log_software[b, first]
            rec[b, M_FRONTIER_AUTOMATION] = labs.automation[b, first]
            if world.takeoff_start_year[b] < 0.0 and log_e >= par[b, P_LN10_TIMES_CAPABILITY_PAR_HUMAN_LOG10_FLOP]:
                world.takeoff_start_year[b] = year
            if world.takeoff_end_year[b] < 0.0 and log_e >= par[b, P_LN10_TIMES_CAPABILITY_SUPERHUMAN_LOG10_FLOP]:
                world.takeoff_end_year[b] = year
        else:
            log_e = NEG_INF
            rec[b, M_FRONTIER_QUALITY] = NAN
            rec[b, M_FRONTIER_LOG10_EFF_COMPUTE] = NAN
            rec[b, M_FRONTIER_LOG_SOFTWARE] = NAN
            rec[b, M_FRONTIER_AUTOMATION] = NAN
        # frontier history over the last year, for the leader's gap in years
        hist = world.frontier_history[b]
        slots = hist.shape[0]
        hist[s % slots] = log_e
        back = min(s, slots - 1)
        rate = (log_e - hist[(s - back) % slots]) / (back * dt) if (first >= 0 and back > 0) else 0.0
        if first >= 0 and second >= 0:
            gap = labs.log_eff_compute[b, first] - labs.log_eff_compute[b, second]
            rec[b, M_RUNNERUP_QUALITY] = labs.quality[b, second]
            rec[b, M_LEADER_GAP_OOMS] = gap / math.log(10.0)
            rec[b, M_LEADER_GAP_YEARS] = gap / rate if (rate > 0.0 and rate < math.inf) else NAN
        else:
            rec[b, M_RUNNERUP_QUALITY] = NAN
            rec[b, M_LEADER_GAP_OOMS] = NAN
            rec[b, M_LEADER_GAP_YEARS] = NAN
        if large:
            world.singularity_year[b] = first_year_blocked(labs.singular_year, b, world.singularity_year[b],
                                                           block_sums)
            world.ceiling_year[b] = first_year_blocked(labs.ceiling_year, b, world.ceiling_year[b], block_sums)
        else:
            world.singularity_year[b] = first_year(labs.singular_year, b, 0, n, world.singularity_year[b])
            world.ceiling_year[b] = first_year(labs.ceiling_year, b, 0, n, world.ceiling_year[b])
        rec[b, M_COMPUTE_PRICE] = world.price[b]
        rec[b, M_TOTAL_DEMAND] = demand
        rec[b, M_TOTAL_REVENUE] = revenue
        rec[b, M_N_ALIVE] = n_alive
        rec[b, M_N_SINGULAR] = n_singular
        rec[b, M_MEAN_SAFETY] = safety / n_alive if n_alive > 0 else 0.0
        rec[b, M_MAX_DRIFT] = max_drift
        rec[b, M_TOTAL_CASH] = total_cash
        rec[b, M_TOTAL_COMPUTE] = total_compute
        rec[b, M_TOTAL_RESEARCHERS] = staff
        rec[b, M_TALENT_POOL] = world.talent_pool[b]
        rec[b, M_RESALE_COMPUTE] = world.resale_flop[b]
        if large:
            knowledge_gap_blocked(labs.log_software, labs.alive, b, rec[b], block_sums)
        else:
            record_knowledge_gap(labs.log_software[b], labs.alive[b], rec[b])


@jit
def record_initial(labs, world, par, rec):
    """The market record of the starting state (no flows yet), also the triggers' first observation."""
    n_runs, capacity = labs.cash_usd.shape
    record_metrics(labs, world, par, par[:, P_SIM_START_YEAR], 0, rec, np.empty(n_runs, np.int64),
                   np.empty((n_blocks(capacity), BLOCK_SLOTS)), np.empty((n_blocks(capacity), 2), np.int64))
    for b in range(labs.cash_usd.shape[0]):
        rec[b, M_PRICE_FLOOR] = math.exp(world.log_price_floor[b])
        trigger_run(world, par, b, 0, par[b, P_SIM_START_YEAR], rec[b])


@kernel_inline
def _stock_sums(alive, singular_year, cash, compute, researchers, revenue, share, safety, drift, b, lo, hi):
    """:func:`record_metrics`'s sums over run b's columns ``lo .. hi - 1`` in lab order: the singular and the
    alive labs, the alive labs' cash, compute, researchers, revenue, share and safety, and their largest drift."""
    n_singular = n_alive = 0
    total_cash = total_compute = staff = total_revenue = inside = total_safety = max_drift = 0.0
    for i in range(lo, hi):
        if singular_year[b, i] >= 0.0:
            n_singular += 1
        if not alive[b, i]:
            continue
        n_alive += 1
        total_cash += cash[b, i]
        total_compute += compute[b, i]
        staff += researchers[b, i]
        total_revenue += revenue[b, i]
        inside += share[b, i]
        total_safety += safety[b, i]
        max_drift = max(max_drift, drift[b, i])
    return (n_singular, n_alive, total_cash, total_compute, staff, total_revenue, inside, total_safety,
            max_drift)


@kernel_parallel
def _stock_sum_blocks(alive, singular_year, cash, compute, researchers, revenue, share, safety, drift, b, part):
    """:func:`_stock_sums` per block of a run of more than SUM_BLOCK labs (economy.kernels.blocks), in
    ``part[k, 0..8]`` (the counts exact in floating point)."""
    n = alive.shape[1]
    for k in prange(n_blocks(n)):
        lo, hi = block_bounds(k, n)
        sums = _stock_sums(alive, singular_year, cash, compute, researchers, revenue, share, safety, drift, b, lo, hi)
        part[k, 0], part[k, 1], part[k, 2], part[k, 3] = sums[0], sums[1], sums[2], sums[3]
        part[k, 4], part[k, 5], part[k, 6], part[k, 7], part[k, 8] = sums[4], sums[5], sums[6], sums[7], sums[8]


@kernel
def first_year_blocked(years, b, current, scratch):
    """The earliest non-negative ``years[b, i]`` and ``current`` (-1 stands for none), the columns in blocks: the
    first singular lab's year, the first year a lab reached the ceiling."""
    _first_year_blocks(years, b, scratch)
    for k in range(n_blocks(years.shape[1])):
        if scratch[k, 0] >= 0.0 and (current < 0.0 or scratch[k, 0] < current):
            current = scratch[k, 0]
    return current


@kernel_inline
def first_year(years, b, lo, hi, current):
    """The earliest of ``current`` and the non-negative ``years[b, i]``, ``lo <= i < hi`` (-1 stands for none)."""
    for i in range(lo, hi):
        if years[b, i] >= 0.0 and (current < 0.0 or years[b, i] < current):
            current = years[b, i]
    return current


@kernel_parallel
def _first_year_blocks(years, b, first):
    n = years.shape[1]
    for k in prange(n_blocks(n)):
        lo, hi = block_bounds(k, n)
        first[k, 0] = first_year(years, b, lo, hi, -1.0)
