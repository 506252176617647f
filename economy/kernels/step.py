"""The compiled step: docs/model.md stages 1-8 and 10 in their fixed order, over a batch of runs.

Row stages are parallel kernels looping ``prange`` over (run, lab) pairs, each writing only its own row;
cross-lab sums are taken serially within each run by the orchestrator ``step_batch``, so results are
bitwise identical whatever the thread count.
Stage 1 (strategies, adaptation, racing) lives in economy/kernels/strategy.py, stage 5 (the spillover network)
in economy/kernels/spillover.py, the market segments of stage 6 in economy/kernels/segments.py
(docs/network.md), funding and performance in economy/kernels/money.py, acquisitions and entry (end of stage 7)
in economy/kernels/acquisitions.py and economy/kernels/entry.py, stage 8 (incidents) in
economy/kernels/incidents.py, the event buffer in economy/kernels/events.py, and stage 9 (policies, which act
inside the stages they regulate) in economy/kernels/policies.py (docs/policies.md).
"""

import math

import numpy as np
from numba import prange

from economy.kernels.acquisitions import acquisitions_run
from economy.kernels.config import jit, jit_parallel
from economy.kernels.entry import entry_run, urn_stage
from economy.kernels.events import push_event, reset_events
from economy.kernels.incidents import incident_rows
from economy.kernels.layout import (
    EVENT_CATASTROPHE,
    EVENT_EXIT,
    EVENT_INCIDENT,
    LN_EXPERIMENT_COMPUTE_REF,
    M_CASH,
    M_CASH_COMPUTE,
    M_CASH_EXIT,
    M_CASH_FUNDING,
    M_CASH_INCIDENTS,
    M_CASH_OPEX,
    M_CASH_REVENUE,
    M_CASH_STATE,
    M_CASH_SUBSIDY,
    M_CASH_WAGES,
    M_CATASTROPHE,
    M_COMPUTE,
    M_COMPUTE_BOUGHT,
    M_COMPUTE_DEPR,
    M_COMPUTE_EXIT,
    M_DEMAND,
    M_EFFECTIVE,
    M_EVENTS_DROPPED,
    M_FRONTIER_AUTO,
    M_FRONTIER_LNS,
    M_FRONTIER_LOG10E,
    M_FRONTIER_U,
    M_GAP_OOMS,
    M_GAP_YEARS,
    M_GINI,
    M_HHI,
    M_INCIDENTS,
    M_MAX_DRIFT,
    M_MEAN_SAFETY,
    M_N_ALIVE,
    M_N_EXITS,
    M_N_SINGULAR,
    M_OUTSIDE,
    M_PAUSED,
    M_PEOPLE_GROWTH,
    M_POOL,
    M_PRICE,
    M_PRICE_FLOOR,
    M_RESALE,
    M_RESEARCHERS,
    M_REVENUE,
    M_RUNNERUP_U,
    M_TOP1,
    M_TOP4,
    M_YEAR,
    MODE_URN,
    P_ADOPTION,
    P_ALPHA,
    P_ASPIRATION_YEARS,
    P_AUTO_MID,
    P_AUTO_WIDTH,
    P_BETA,
    P_DATA_PER_USD,
    P_DEMAND_ELAST,
    P_DEPR,
    P_DRIFT_RATE,
    P_DT,
    P_EXIT_GRACE,
    P_EXIT_SHARE,
    P_EXP_SHARE,
    P_FRONTIER_U0,
    P_FUNDING_MAX_SHARE,
    P_FUNDING_TO_DEMAND,
    P_GAMMA,
    P_GWP_GROWTH,
    P_HW_FEEDBACK,
    P_HW_LN_RATE,
    P_INFER_FLOP_PER_USD,
    P_K_AI,
    P_LAMBDA,
    P_LN_CC,
    P_LN_DEMAND0,
    P_LN_GWP0,
    P_LOG_CEIL,
    P_LOG_THETA,
    P_MAX_AUTO,
    P_MAX_GWP_FRAC,
    P_MEMORY_YEARS,
    P_MODE,
    P_NET_CROSS_SEGMENT,
    P_OPEX,
    P_OUTSIDE_U,
    P_PAR_HUMAN_LN,
    P_PUBLIC_DATA,
    P_RHO,
    P_RUN_YEARS,
    P_SHOCK_SD,
    P_START_YEAR,
    P_STATE_BUDGET,
    P_SUB_END,
    P_SUB_MAX_SHARE,
    P_SUB_RATE,
    P_SUB_START,
    P_SUPERHUMAN_LN,
    P_SUPPLY0,
    P_SUPPLY_LN_GROWTH,
    P_SWITCH,
    P_SYNTH_MULT,
    P_TALENT_GROWTH,
    P_TOKENS_PER_PARAM,
    P_WAGE,
    P_WALL_EFF,
    P_WTAX_END,
    P_WTAX_RATE,
    P_WTAX_START,
    P_WTAX_THRESHOLD,
    P_ZETA,
)
from economy.kernels.market import smooth_toward
from economy.kernels.metrics import concentration, gini, safe_log, top_two
from economy.kernels.money import investor_weight, performance_step, return_on_capital
from economy.kernels.policies import (
    active,
    breakup_run,
    capped_run_flop,
    compute_tax_run,
    export_budgets,
    pause_cap,
    pause_event,
    pause_trigger,
    windfall_run,
)
from economy.kernels.research import (
    advance_log_software,
    automation_fraction,
    log_research_input,
    released_log_eff_compute,
)
from economy.kernels.segments import segment_log_norms
from economy.kernels.spillover import mark_rows, record_knowledge_gap, spillover_stage
from economy.kernels.strategy import strategy_stage

__all__ = [
    "NAN", "NEG_INF", "calibration_log_growth", "initial_capability", "lab_log_growth", "log_growth", "money_rows",
    "produce_rows", "record_initial", "record_metrics", "share_rows", "step_batch",
]

NAN = math.nan
NEG_INF = -math.inf


@jit
def log_growth(compute, train_fraction, inference_fraction, log_s, researchers, automation, safety, par_row, shock):
    """ln of d ln S / dt of a lab with these columns, and its slope d ln g / d ln S (docs/model.md stage 3).

    Takes the lab's values, not the lab state: called per row from a ``prange`` loop, a helper receiving the whole
    ``LabState`` costs several times the work (docs/performance.md).
    """
    research_compute = (1.0 - train_fraction - inference_fraction) * compute
    log_rc = safe_log(research_compute)
    k_ai = par_row[P_K_AI]
    log_ai = math.log(k_ai) + log_rc + log_s if (k_ai > 0.0 and log_rc > NEG_INF) else NEG_INF
    log_r, w_ai = log_research_input(
        researchers, log_ai, automation, par_row[P_RHO], log_rc - LN_EXPERIMENT_COMPUTE_REF, par_row[P_EXP_SHARE],
    )
    if log_r == NEG_INF or safety >= 1.0:
        return NEG_INF, 0.0
    log_r += math.log1p(-safety)
    lam = par_row[P_LAMBDA]
    beta = par_row[P_BETA]
    dt = par_row[P_DT]
    sd = par_row[P_SHOCK_SD]
    log_g = par_row[P_LOG_THETA] + lam * log_r - beta * log_s + sd * math.sqrt(dt) * shock - 0.5 * sd * sd * dt
    return log_g, lam * w_ai - beta


@jit
def lab_log_growth(labs, par, b, i, shock):
    """:func:`log_growth` of lab (b, i)."""
    return log_growth(labs.compute_flop_per_year[b, i], labs.train_fraction[b, i], labs.inference_fraction[b, i],
                      labs.log_software[b, i], labs.researchers[b, i], labs.automation[b, i], labs.safety[b, i],
                      par[b], shock)


@jit
def calibration_log_growth(labs, par, b, i):
    """ln of lab i's mean research growth rate with no shock (used to set theta at the start)."""
    log_g, _ = lab_log_growth(labs, par, b, i, 0.0)
    sd = par[b, P_SHOCK_SD]
    return log_g + 0.5 * sd * sd * par[b, P_DT]


@jit
def initial_capability(labs, par, b, n):
    """The starting labs' served models (run b, columns 0..n-1): the release of a full training run at the starting
    compute and software, its automation and quality (a lab with no model: quality -inf)."""
    p = par[b]
    for i in range(n):
        full_run = labs.train_fraction[b, i] * labs.compute_flop_per_year[b, i] * p[P_RUN_YEARS]
        log_e = released_log_eff_compute(full_run, labs.log_software[b, i], 0.0, 0.0, p[P_PUBLIC_DATA],
                                         p[P_TOKENS_PER_PARAM], p[P_SYNTH_MULT], p[P_WALL_EFF])
        labs.log_eff_compute[b, i] = log_e
        labs.automation[b, i] = automation_fraction(log_e, p[P_AUTO_MID], p[P_AUTO_WIDTH], p[P_MAX_AUTO])
        labs.quality[b, i] = p[P_ALPHA] * (log_e - p[P_LN_CC]) if log_e > NEG_INF else NEG_INF


@jit
def _frontier(labs, b):
    """Leader and runner-up by quality among alive labs of run b."""
    return top_two(labs.quality[b], labs.alive[b])


@jit_parallel
def produce_rows(labs, runs, par, price, purchase, hire_scale, shocks):
    """Stages 2-4 per lab: buy and depreciate compute, hire, research (ln S), train and release, capability.
    ``purchase[run]`` is the share of a compute budget that buys the lab's own compute (below 1 under a compute
    tax).

    The row's work is written in the loop body on arrays bound to locals (see :func:`money_rows`); the policies'
    per-run limits (compute cap, pause) are taken once per run before the loop.
    """
    alive, budget_col, cash, compute, hire, staff = (labs.alive, labs.compute_budget_usd, labs.cash_usd,
                                                     labs.compute_flop_per_year, labs.hire, labs.researchers)
    log_s_col, singular, automation, drift, safety = (labs.log_software, labs.singular_year, labs.automation,
                                                      labs.drift, labs.safety)
    run_flop, train, infer, elapsed, run_log_s = (labs.run_flop, labs.train_fraction, labs.inference_fraction,
                                                  labs.run_elapsed_years, labs.run_log_software)
    data, log_e_col, quality, weight = labs.data_tokens, labs.log_eff_compute, labs.quality, labs.weight
    n_runs, n = alive.shape
    year = np.empty(n_runs)
    flop_cap = np.empty(n_runs)
    release_cap = np.empty(n_runs)
    for b in range(n_runs):
        year[b] = par[b, P_START_YEAR] + runs.step[b] * par[b, P_DT]
        flop_cap[b] = capped_run_flop(par[b], year[b], math.inf)
        release_cap[b] = pause_cap(runs, b, year[b])
    for k in prange(n_runs * n):
        b = k // n
        i = k - b * n
        if not alive[b, i]:
            continue
        dt = par[b, P_DT]
        budget = budget_col[b, i]
        cash[b, i] -= budget
        c = compute[b, i] + (budget * purchase[b] / price[b] if price[b] > 0.0 else 0.0)
        c *= math.exp(-par[b, P_DEPR] * dt)
        compute[b, i] = c
        h = hire[b, i]
        staff[b, i] = max(0.0, staff[b, i] + (h * hire_scale[b] if h > 0.0 else h))
        # stage 3: research (frozen at the ceiling once singular)
        log_s = log_s_col[b, i]
        if singular[b, i] < 0.0:
            log_g, slope = log_growth(c, train[b, i], infer[b, i], log_s, staff[b, i], automation[b, i],
                                      safety[b, i], par[b], shocks[b, i])
            new_s, tau = advance_log_software(log_s, log_g, slope, dt, par[b, P_LOG_CEIL])
            if tau >= 0.0:
                singular[b, i] = year[b] + tau
            drift[b, i] += automation[b, i] * (new_s - log_s) * (1.0 - safety[b, i]) * par[b, P_DRIFT_RATE]
            log_s_col[b, i] = new_s
        # stage 4: discrete training runs
        run_flop[b, i] = min(run_flop[b, i] + train[b, i] * c * dt, flop_cap[b])
        elapsed[b, i] += dt
        run_years = par[b, P_RUN_YEARS]
        if elapsed[b, i] >= run_years * (1.0 - 1e-9):
            released = released_log_eff_compute(
                run_flop[b, i], run_log_s[b, i], data[b, i], automation[b, i],
                par[b, P_PUBLIC_DATA], par[b, P_TOKENS_PER_PARAM], par[b, P_SYNTH_MULT], par[b, P_WALL_EFF],
            )
            released = min(released, release_cap[b])
            if released > log_e_col[b, i]:
                log_e_col[b, i] = released
            left = max(0.0, elapsed[b, i] - run_years)
            elapsed[b, i] = left
            run_flop[b, i] = min(train[b, i] * c * left, flop_cap[b])
            run_log_s[b, i] = log_s_col[b, i]
        log_e = log_e_col[b, i]
        automation[b, i] = automation_fraction(log_e, par[b, P_AUTO_MID], par[b, P_AUTO_WIDTH], par[b, P_MAX_AUTO])
        if log_e > NEG_INF:
            quality[b, i] = par[b, P_ALPHA] * (log_e - par[b, P_LN_CC])
            weight[b, i] = par[b, P_GAMMA] * quality[b, i] + par[b, P_ZETA] * math.log1p(data[b, i])
        else:  # no model yet: nothing to sell
            quality[b, i] = NEG_INF
            weight[b, i] = NEG_INF


@jit_parallel
def share_rows(labs, par, demand, max_weight, log_norm):
    """Stage 6 per lab: shares move toward the logit targets; demand is served within inference capacity (written
    in the loop body on arrays bound to locals, like :func:`money_rows`)."""
    alive, revenue, weight, share, bloc = (labs.alive, labs.revenue_usd_per_year, labs.weight, labs.share,
                                           labs.bloc)
    infer, compute = labs.inference_fraction, labs.compute_flop_per_year
    n_runs, n = alive.shape
    for k in prange(n_runs * n):
        b = k // n
        i = k - b * n
        if not alive[b, i]:
            revenue[b, i] = 0.0
            continue
        if par[b, P_MODE] != MODE_URN:
            target = math.exp(weight[b, i] - max_weight[b] - log_norm[b, bloc[b, i]])
            share[b, i] = smooth_toward(share[b, i], target, par[b, P_DT], par[b, P_SWITCH])
        capacity = infer[b, i] * compute[b, i] / par[b, P_INFER_FLOP_PER_USD]
        revenue[b, i] = min(share[b, i] * demand[b], capacity)
        # spare capacity, for the unserved demand that goes to rivals
        weight[b, i] = capacity - revenue[b, i]


@jit_parallel
def money_rows(labs, par, price, demand, frontier_u, fund_total, unserved_ratio, exit_share, founded_by, inside,
               year):
    """Stage 7 per lab: unserved demand to rivals with spare capacity, data flywheel, funding, cash flows (with the
    research subsidy and the windfall tax of stage 9), exit, and the lab's performance bookkeeping
    (economy.kernels.money).  ``inside[run]`` is the alive labs' total share, ``year[run]`` the step's start.

    The row's work is written in the loop body on arrays bound to locals (a row helper taking the whole lab state
    would cost several times the work).
    """
    alive, exited, funding, quality, growth_col = (labs.alive, labs.exited, labs.funding, labs.quality,
                                                   labs.revenue_growth)
    revenue_col, weight_col, data, cash_col = labs.revenue_usd_per_year, labs.weight, labs.data_tokens, labs.cash_usd
    researchers, share, founded = labs.researchers, labs.share, labs.founded_year
    compute_col = labs.compute_flop_per_year
    performance, aspiration, log_revenue = labs.performance, labs.aspiration, labs.log_revenue
    profit_col, capital_col = labs.profit_usd_per_year, labs.capital_usd
    tax_col, subsidy_col = labs.tax_usd, labs.subsidy_usd
    n_runs, n = alive.shape
    for k in prange(n_runs * n):
        b = k // n
        i = k - b * n
        tax_col[b, i] = 0.0
        subsidy_col[b, i] = 0.0
        if not alive[b, i]:
            continue
        dt = par[b, P_DT]
        revenue = revenue_col[b, i] + weight_col[b, i] * unserved_ratio[b]
        revenue_col[b, i] = revenue
        data[b, i] += par[b, P_DATA_PER_USD] * revenue * dt
        if funding[b, i] == 0:
            inflow = 0.0
            if fund_total[b] > 0.0 and quality[b, i] > NEG_INF:
                pool = par[b, P_FUNDING_TO_DEMAND] * demand[b]
                weight = investor_weight(quality[b, i], growth_col[b, i], frontier_u[b], par, b)
                inflow = min(pool * weight / fund_total[b], par[b, P_FUNDING_MAX_SHARE] * pool)
        else:
            inflow = par[b, P_STATE_BUDGET]
        weight_col[b, i] = inflow  # reused: this step's funding rate, for the record
        wages = researchers[b, i] * par[b, P_WAGE] * dt
        cash = cash_col[b, i] + (revenue * (1.0 - par[b, P_OPEX]) + inflow) * dt - wages
        # stage 9: the state pays part of a small lab's wage bill
        if active(par[b], P_SUB_START, P_SUB_END, year[b]) and share[b, i] < par[b, P_SUB_MAX_SHARE] * inside[b]:
            subsidy = par[b, P_SUB_RATE] * wages
            subsidy_col[b, i] = subsidy
            cash += subsidy
        cash_col[b, i] = cash
        # exit: bankruptcy, or (investor-funded, past the grace period) a near-zero market share
        if cash < 0.0 or (funding[b, i] == 0 and share[b, i] < exit_share[b] and founded[b, i] <= founded_by[b]):
            exited[b, i] = True
            alive[b, i] = False
            continue
        # performance: return on capital (compute at the market price plus cash), aspiration, revenue growth
        compute = compute_col[b, i]
        profit = (revenue * (1.0 - par[b, P_OPEX]) - researchers[b, i] * par[b, P_WAGE]
                  - par[b, P_DEPR] * price[b] * compute)
        capital = price[b] * compute + max(cash, 0.0)
        # stage 9: windfall tax on profit above the threshold (paid out to small labs by windfall_run)
        if active(par[b], P_WTAX_START, P_WTAX_END, year[b]) and profit > par[b, P_WTAX_THRESHOLD]:
            tax = min(par[b, P_WTAX_RATE] * (profit - par[b, P_WTAX_THRESHOLD]) * dt, max(cash, 0.0))
            tax_col[b, i] = tax
            cash_col[b, i] = cash - tax
        profit_col[b, i] = profit
        capital_col[b, i] = capital
        perf, asp, growth, log_rev = performance_step(
            performance[b, i], aspiration[b, i], growth_col[b, i], log_revenue[b, i], revenue,
            return_on_capital(profit, capital), dt, par[b, P_MEMORY_YEARS], par[b, P_ASPIRATION_YEARS])
        performance[b, i] = perf
        aspiration[b, i] = asp
        growth_col[b, i] = growth
        log_revenue[b, i] = log_rev


@jit
def step_batch(labs, runs, par, net, shocks, urn_uniforms, draws, work, rec):
    """Advance every run of a batch by one step ``dt`` and write its market record into ``rec[run, :]``.

    ``shocks[run, lab]`` are standard normals (research luck), ``urn_uniforms[run, arrival]`` uniforms on
    [0, 1) used only in the urn market mode, ``draws`` (economy.state.StepDraws) the uniforms and normals of
    adaptation, entry, acquisitions and incidents.  All are drawn by the caller from the run's own streams.
    ``net`` is the batch's spillover network (economy.state.NetworkState); with no edges stage 5 is skipped.
    ``work`` (economy.state.StrategyWork) is stage 1's scratch.  The step's events are left in ``runs.events``.
    """
    n_runs, n = labs.cash_usd.shape

    # ---- per-run scalars: the leader from the last step (for the hardware feedback); empty event buffers
    lead = np.empty(n_runs, np.int64)
    for b in range(n_runs):
        first, _ = _frontier(labs, b)
        lead[b] = first
        reset_events(runs, b)

    # ---- stage 1: observe and decide: adaptation, racing, budgets (row-local; strategy events per run)
    strategy_stage(labs, runs, par, net, work, draws, rec)

    # ---- stage 2: compute market clearing and the talent market (per run)
    price = np.empty(n_runs)
    purchase = np.empty(n_runs)
    hire_scale = np.empty(n_runs)
    for b in range(n_runs):
        dt = par[b, P_DT]
        year = par[b, P_START_YEAR] + runs.step[b] * dt
        export_budgets(labs, par, b, year)  # stage 9: export controls refuse restricted labs' purchases
        budget = 0.0
        hires = 0.0
        fires = 0.0
        owned = 0.0
        for i in range(n):
            if labs.alive[b, i]:
                owned += labs.compute_flop_per_year[b, i]
                budget += labs.compute_budget_usd[b, i]
                h = labs.hire[b, i]
                if h > 0.0:
                    hires += h
                else:
                    fires -= h
        supply = math.exp(math.log(par[b, P_SUPPLY0]) + par[b, P_SUPPLY_LN_GROWTH] * (year - par[b, P_START_YEAR]))
        available = supply * dt + runs.resale_flop[b]
        floor = math.exp(runs.log_price_floor[b])
        p = max(floor, budget / available)
        price[b] = p
        runs.price[b] = p
        purchase[b] = compute_tax_run(labs, par, b, year, p, budget, rec)  # stage 9: public compute from the tax
        sold = budget / p if p > 0.0 else 0.0  # p = 0 only once the price floor has underflowed to 0
        if runs.resale_flop[b] > 0.0:
            runs.resale_flop[b] *= max(0.0, 1.0 - sold / available)
        rec[b, M_CASH_COMPUTE] = budget
        rec[b, M_COMPUTE_BOUGHT] = sold
        rec[b, M_COMPUTE_DEPR] = -math.expm1(-par[b, P_DEPR] * dt) * (owned + sold)
        rec[b, M_PRICE_FLOOR] = floor
        pool = runs.talent_pool[b] + fires
        hire_scale[b] = min(1.0, pool / hires) if hires > 0.0 else 1.0
        runs.talent_pool[b] = max(0.0, pool - hires * hire_scale[b])  # >= 0 despite rounding
        # hardware progress, optionally sped up by the frontier's automation (docs/model.md stage 2)
        auto = labs.automation[b, lead[b]] if lead[b] >= 0 else 0.0
        runs.log_price_floor[b] -= par[b, P_HW_LN_RATE] * (1.0 + par[b, P_HW_FEEDBACK] * auto) * dt

    # ---- stages 2-4 per lab: buy, depreciate, research, train, capability (row-local)
    spill = net.indices.shape[0] > 0
    if spill:
        mark_rows(labs, net)
    produce_rows(labs, runs, par, price, purchase, hire_scale, shocks)

    # ---- stage 5: knowledge spillover network (gather from a snapshot; row-local writes)
    if spill:
        spillover_stage(labs, runs, par, net, rec)

    # ---- stage 6: demand and the logit normaliser (per run)
    demand = np.empty(n_runs)
    # ln Z - m per market segment (bloc), with Z the logit denominator including the outside option
    log_norm = np.empty((n_runs, net.segment_demand.shape[1]))
    max_weight = np.empty(n_runs)
    fund_total = np.empty(n_runs)
    frontier_u = np.empty(n_runs)
    for b in range(n_runs):
        dt = par[b, P_DT]
        years_in = runs.step[b] * dt + dt
        first, _ = _frontier(labs, b)
        u_front = labs.quality[b, first] if first >= 0 else par[b, P_OUTSIDE_U]
        frontier_u[b] = u_front
        log_cap = math.log(par[b, P_MAX_GWP_FRAC]) + par[b, P_LN_GWP0] + par[b, P_GWP_GROWTH] * years_in
        log_d = par[b, P_LN_DEMAND0] + par[b, P_ADOPTION] * years_in
        if par[b, P_DEMAND_ELAST] != 0.0:  # skipped at 0: no 0 x -inf while no lab has a model
            log_d += par[b, P_DEMAND_ELAST] * (u_front - par[b, P_FRONTIER_U0])
        demand[b] = math.exp(min(log_cap, log_d))
        runs.demand[b] = demand[b]
        w0 = par[b, P_GAMMA] * par[b, P_OUTSIDE_U]
        m = w0
        for i in range(n):
            if labs.alive[b, i] and labs.weight[b, i] > m:
                m = labs.weight[b, i]
        z = math.exp(w0 - m)
        fund = 0.0
        for i in range(n):
            if labs.alive[b, i]:
                z += math.exp(labs.weight[b, i] - m)
                if labs.funding[b, i] == 0 and labs.quality[b, i] > NEG_INF:
                    fund += investor_weight(labs.quality[b, i], labs.revenue_growth[b, i], u_front, par, b)
        max_weight[b] = m
        log_z = math.log(z)
        fund_total[b] = fund
        kappa = par[b, P_NET_CROSS_SEGMENT]
        if net.n_segments[b] > 1 and kappa < 1.0 and par[b, P_MODE] != MODE_URN:
            log_z = segment_log_norms(labs.weight[b], labs.alive[b], labs.bloc[b], net.segment_demand[b], kappa,
                                      w0, m, net.segment_scratch[b], log_norm[b])
        else:
            log_norm[b, :] = log_z
        runs.consumer_value[b] += demand[b] * (log_z + m - w0) * dt
        if par[b, P_MODE] == MODE_URN:
            urn_stage(labs, runs, par, b, par[b, P_START_YEAR] + runs.step[b] * dt + dt, urn_uniforms[b], rec)
            inside = 0.0
            for i in range(n):
                if labs.alive[b, i]:
                    inside += labs.customers[b, i]
            for i in range(n):
                labs.share[b, i] = labs.customers[b, i] / inside if (labs.alive[b, i] and inside > 0.0) else 0.0

    # ---- stage 6 per lab: shares move toward logit targets; demand served within inference capacity
    share_rows(labs, par, demand, max_weight, log_norm)

    unserved_ratio = np.empty(n_runs)
    inside_share = np.empty(n_runs)
    start_year = np.empty(n_runs)
    exit_share = np.empty(n_runs)  # investor-funded labs below this share, past their grace period, close
    founded_by = np.empty(n_runs)  # ... if founded no later than this year
    for b in range(n_runs):
        unserved = 0.0
        spare = 0.0
        inside = 0.0
        alive = 0
        for i in range(n):
            if labs.alive[b, i]:
                unserved += labs.share[b, i] * demand[b] - labs.revenue_usd_per_year[b, i]
                spare += labs.weight[b, i]
                inside += labs.share[b, i]
                alive += 1
        unserved_ratio[b] = min(1.0, unserved / spare) if spare > 0.0 else 0.0
        inside_share[b] = inside
        start_year[b] = par[b, P_START_YEAR] + runs.step[b] * par[b, P_DT]
        exit_share[b] = par[b, P_EXIT_SHARE] * inside / alive if alive > 0 else 0.0
        founded_by[b] = par[b, P_START_YEAR] + (runs.step[b] + 1) * par[b, P_DT] - par[b, P_EXIT_GRACE]

    # ---- stage 7 per lab: money, data flywheel, funding, exit, performance
    money_rows(labs, par, price, demand, frontier_u, fund_total, unserved_ratio, exit_share, founded_by, inside_share,
               start_year)

    # ---- stage 7 per run: cash flows, exits (compute and people return), acquisitions, entry
    for b in range(n_runs):
        dt = par[b, P_DT]
        year = par[b, P_START_YEAR] + runs.step[b] * dt + dt
        cash_rev = 0.0
        cash_fund = 0.0
        cash_state = 0.0
        cash_wages = 0.0
        cash_opex = 0.0
        cash_exit = 0.0
        cash_subsidy = 0.0
        compute_exit = 0.0
        people_exit = 0.0
        n_exits = 0
        for i in range(n):
            if labs.alive[b, i] or labs.exited[b, i]:
                rev = labs.revenue_usd_per_year[b, i] * dt
                cash_rev += rev
                cash_opex += rev * par[b, P_OPEX]
                if labs.funding[b, i] == 0:
                    cash_fund += labs.weight[b, i] * dt
                else:
                    cash_state += labs.weight[b, i] * dt
                cash_wages += labs.researchers[b, i] * par[b, P_WAGE] * dt
                cash_subsidy += labs.subsidy_usd[b, i]
            if labs.exited[b, i]:
                n_exits += 1
                cash_exit += labs.cash_usd[b, i]
                compute_exit += labs.compute_flop_per_year[b, i]
                people_exit += labs.researchers[b, i]
                push_event(runs, b, year, i, EVENT_EXIT, -1, labs.cash_usd[b, i])
                labs.cash_usd[b, i] = 0.0
                labs.compute_flop_per_year[b, i] = 0.0
                labs.researchers[b, i] = 0.0
                labs.share[b, i] = 0.0
                labs.customers[b, i] = 0.0
                labs.revenue_usd_per_year[b, i] = 0.0
                labs.run_flop[b, i] = 0.0
        runs.resale_flop[b] += compute_exit
        runs.talent_pool[b] += people_exit
        rec[b, M_CASH_REVENUE] = cash_rev
        rec[b, M_CASH_FUNDING] = cash_fund
        rec[b, M_CASH_STATE] = cash_state
        rec[b, M_CASH_WAGES] = cash_wages
        rec[b, M_CASH_OPEX] = cash_opex
        rec[b, M_CASH_EXIT] = cash_exit
        rec[b, M_COMPUTE_EXIT] = compute_exit
        rec[b, M_N_EXITS] = n_exits
        rec[b, M_CASH_SUBSIDY] = cash_subsidy
        windfall_run(labs, par, b, start_year[b], rec)
        acquisitions_run(labs, runs, par, b, year, price[b], draws, rec)
        entry_run(labs, runs, par, b, year, draws, rec)

    # ---- stage 8 per lab: incidents
    incident_rows(labs, par, draws.incident, start_year)

    # ---- stage 8 per run (incident events, the catastrophe outcome), talent growth, break-up (stage 9), the
    # conditional pause's trigger (stage 9) and the stage 10 record
    for b in range(n_runs):
        dt = par[b, P_DT]
        year = par[b, P_START_YEAR] + runs.step[b] * dt + dt
        n_incidents = 0
        cash_incidents = 0.0
        for i in range(n):
            flag = labs.incident_flag[b, i]
            if flag == 0:
                continue
            n_incidents += 1
            cash_incidents += labs.incident_cost[b, i]
            if flag == 2:
                push_event(runs, b, year, i, EVENT_CATASTROPHE, -1, labs.incident_cost[b, i])
                if runs.catastrophe_year[b] < 0.0:
                    runs.catastrophe_year[b] = year
            else:
                push_event(runs, b, year, i, EVENT_INCIDENT, -1, labs.incident_cost[b, i])
        growth = par[b, P_TALENT_GROWTH] * (runs.talent_pool[b] + _staff(labs, b)) * dt
        runs.talent_pool[b] += growth
        breakup_run(labs, runs, par, b, start_year[b], year, rec)  # stage 9, on the step's final shares
        record_metrics(labs, runs, par, b, year, runs.step[b] + 1, demand[b], rec)
        rec[b, M_PAUSED] = 1.0 if runs.pause_until[b] > start_year[b] else 0.0
        first, _ = _frontier(labs, b)
        if first >= 0 and pause_trigger(runs, par, b, start_year[b], year, labs.log_eff_compute[b, first]):
            pause_event(runs, b, year, first, labs.log_eff_compute[b, first])
        rec[b, M_PEOPLE_GROWTH] = growth
        rec[b, M_INCIDENTS] = n_incidents
        rec[b, M_CASH_INCIDENTS] = cash_incidents
        rec[b, M_CATASTROPHE] = 1.0 if runs.catastrophe_year[b] >= 0.0 else 0.0
        rec[b, M_EVENTS_DROPPED] = runs.events_dropped[b]
        runs.step[b] += 1


@jit
def _staff(labs, b):
    staff = 0.0
    for i in range(labs.researchers.shape[1]):
        if labs.alive[b, i]:
            staff += labs.researchers[b, i]
    return staff


@jit
def record_metrics(labs, runs, par, b, year, s, demand, rec):
    """Stage 10 for run b: market metrics and stocks into ``rec[b]``; ``s`` is the number of steps done."""
    dt = par[b, P_DT]
    n = labs.cash_usd.shape[1]
    total_cash = 0.0
    total_compute = 0.0
    staff = 0.0
    revenue = 0.0
    inside = 0.0
    safety = 0.0
    max_drift = 0.0
    n_alive = 0
    n_singular = 0
    for i in range(n):
        if labs.singular_year[b, i] >= 0.0:
            n_singular += 1
        if not labs.alive[b, i]:
            continue
        n_alive += 1
        total_cash += labs.cash_usd[b, i]
        total_compute += labs.compute_flop_per_year[b, i]
        staff += labs.researchers[b, i]
        revenue += labs.revenue_usd_per_year[b, i]
        inside += labs.share[b, i]
        safety += labs.safety[b, i]
        max_drift = max(max_drift, labs.drift[b, i])
    rec[b, M_YEAR] = year
    hhi, eff, top1, top4 = concentration(labs.share[b], labs.alive[b])
    rec[b, M_HHI] = hhi
    rec[b, M_EFFECTIVE] = eff
    rec[b, M_TOP1] = top1
    rec[b, M_TOP4] = top4
    rec[b, M_OUTSIDE] = 1.0 - inside if n_alive > 0 else 1.0
    rec[b, M_GINI] = gini(labs.revenue_usd_per_year[b], labs.alive[b], labs.scratch[b])
    first, second = _frontier(labs, b)
    # a lab with no trained model (ln E = -inf) is neither frontier nor runner-up: those columns are undefined
    if second >= 0 and labs.quality[b, second] == NEG_INF:
        second = -1
    if first >= 0 and labs.quality[b, first] == NEG_INF:
        first = -1
    if first >= 0:
        log_e = labs.log_eff_compute[b, first]
        rec[b, M_FRONTIER_U] = labs.quality[b, first]
        rec[b, M_FRONTIER_LOG10E] = log_e / math.log(10.0)
        rec[b, M_FRONTIER_LNS] = labs.log_software[b, first]
        rec[b, M_FRONTIER_AUTO] = labs.automation[b, first]
        if runs.takeoff_start_year[b] < 0.0 and log_e >= par[b, P_PAR_HUMAN_LN]:
            runs.takeoff_start_year[b] = year
        if runs.takeoff_end_year[b] < 0.0 and log_e >= par[b, P_SUPERHUMAN_LN]:
            runs.takeoff_end_year[b] = year
    else:
        log_e = NEG_INF
        rec[b, M_FRONTIER_U] = NAN
        rec[b, M_FRONTIER_LOG10E] = NAN
        rec[b, M_FRONTIER_LNS] = NAN
        rec[b, M_FRONTIER_AUTO] = NAN
    # frontier history over the last year, for the leader's gap in years
    hist = runs.frontier_history[b]
    slots = hist.shape[0]
    hist[s % slots] = log_e
    back = min(s, slots - 1)
    rate = (log_e - hist[(s - back) % slots]) / (back * dt) if (first >= 0 and back > 0) else 0.0
    if first >= 0 and second >= 0:
        gap = labs.log_eff_compute[b, first] - labs.log_eff_compute[b, second]
        rec[b, M_RUNNERUP_U] = labs.quality[b, second]
        rec[b, M_GAP_OOMS] = gap / math.log(10.0)
        rec[b, M_GAP_YEARS] = gap / rate if (rate > 0.0 and rate < math.inf) else NAN
    else:
        rec[b, M_RUNNERUP_U] = NAN
        rec[b, M_GAP_OOMS] = NAN
        rec[b, M_GAP_YEARS] = NAN
    for i in range(n):
        if labs.singular_year[b, i] >= 0.0 and (runs.singularity_year[b] < 0.0
                                                or labs.singular_year[b, i] < runs.singularity_year[b]):
            runs.singularity_year[b] = labs.singular_year[b, i]
    rec[b, M_PRICE] = runs.price[b]
    rec[b, M_DEMAND] = demand
    rec[b, M_REVENUE] = revenue
    rec[b, M_N_ALIVE] = n_alive
    rec[b, M_N_SINGULAR] = n_singular
    rec[b, M_MEAN_SAFETY] = safety / n_alive if n_alive > 0 else 0.0
    rec[b, M_MAX_DRIFT] = max_drift
    rec[b, M_CASH] = total_cash
    rec[b, M_COMPUTE] = total_compute
    rec[b, M_RESEARCHERS] = staff
    rec[b, M_POOL] = runs.talent_pool[b]
    rec[b, M_RESALE] = runs.resale_flop[b]
    record_knowledge_gap(labs.log_software[b], labs.alive[b], rec[b])


@jit
def record_initial(labs, runs, par, rec):
    """The market record of the starting state (no flows yet)."""
    for b in range(labs.cash_usd.shape[0]):
        record_metrics(labs, runs, par, b, par[b, P_START_YEAR], 0, runs.demand[b], rec)
        rec[b, M_PRICE_FLOOR] = math.exp(runs.log_price_floor[b])
