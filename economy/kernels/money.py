r"""Stage 7, money: revenue, funding, cash, exit, then acquisitions and entry (docs/model.md, "Stage 7").

The stage is :func:`money_stage`; its docstring gives the equations.
"""

import math

from numba import prange

from economy.kernels.acquisitions import acquirer_looks, acquisitions_run
from economy.kernels.blocks import (
    SUM_BLOCK,
    add_blocks,
    alive_sum,
    alive_sum_blocked,
    block_bounds,
    n_blocks,
    n_row_blocks,
    row_block_bounds,
)
from economy.kernels.config import jit, kernel, kernel_inline, kernel_nocount, kernel_parallel
from economy.kernels.entry import entry_count, entry_run
from economy.kernels.events import push_event
from economy.kernels.layout import (
    EVENT_EXIT,
    M_CASH_ACQUISITIONS,
    M_CASH_FUNDING,
    M_CASH_OPEX,
    M_CASH_REMOVED_AT_EXIT,
    M_CASH_REVENUE,
    M_CASH_STATE_BUDGET,
    M_CASH_SUBSIDY,
    M_CASH_WAGES,
    M_COMPUTE_REMOVED_AT_EXIT,
    M_N_ACQUISITIONS,
    M_N_ACQUISITIONS_BLOCKED,
    M_N_EXITS,
    M_PEOPLE_GROWTH,
    P_ADAPTATION_ASPIRATION_YEARS,
    P_ADAPTATION_MEMORY_YEARS,
    P_COMPUTE_DEPRECIATION_PER_YEAR,
    P_MARKET_DATA_TOKENS_PER_USD,
    P_MONEY_EXIT_GRACE_YEARS,
    P_MONEY_EXIT_RELATIVE_SHARE,
    P_MONEY_FUNDING_GROWTH_SENSITIVITY,
    P_MONEY_FUNDING_MAX_SHARE,
    P_MONEY_FUNDING_RANK_SENSITIVITY,
    P_MONEY_FUNDING_TO_DEMAND,
    P_MONEY_OPEX_FRACTION,
    P_MONEY_STATE_BUDGET_USD_PER_YEAR,
    P_MONEY_TALENT_GROWTH_PER_YEAR,
    P_MONEY_WAGE_USD_PER_YEAR,
    P_RND_SUBSIDY_END_YEAR,
    P_RND_SUBSIDY_MAX_SHARE,
    P_RND_SUBSIDY_RATE,
    P_RND_SUBSIDY_START_YEAR,
    P_SIM_DT,
    P_SIM_START_YEAR,
    P_WINDFALL_TAX_END_YEAR,
    P_WINDFALL_TAX_RATE,
    P_WINDFALL_TAX_START_YEAR,
    P_WINDFALL_TAX_THRESHOLD_USD_PER_YEAR,
    REVENUE_FLOOR_USD,
)
from economy.kernels.metrics import return_on_capital
from economy.kernels.policies import active, windfall_run

__all__ = ["NEG_INF", "investor_weight", "money_rows", "money_stage", "performance_step"]

NEG_INF = -math.inf


@kernel_nocount
def money_stage(labs, world, par, draws, work, rec):
    r"""Stage 7 for every run of a batch: money, funding, exit, acquisitions and entry (docs/model.md, "Stage 7").

    At the start of the stage, per run: the demand rivals could not serve goes to labs with
    spare capacity in proportion to it, and the exit rule's share threshold is set,

    .. math::
        \rho = \min\Big(1, \; \frac{\sum_i (s_i D - \text{revenue}_i)}{\sum_i \text{spare}_i}\Big), \qquad
        s_{exit} = \text{exit\_relative\_share} \cdot \frac{\sum_i s_i}{n_{alive}}.

    Per lab (:func:`money_rows`, row-local): revenue gains :math:`\rho \, \text{spare}_i`, the data flywheel gathers
    ``data_tokens_per_usd`` tokens per dollar served, investors put :math:`F = \text{funding\_to\_demand} \cdot D` a
    year into investor-funded labs with a model, by rank and revenue growth and within a bound (state programmes
    receive ``state_budget_usd_per_year``),

    .. math::
        w_i = \exp\big(\rho_{rank} (u_i - u_{front}) + \eta \, \mathrm{clip}(g_i, -1, 1)\big), \qquad
        \text{funding}_i = \min\Big(F \frac{w_i}{\sum_j w_j}, \; \text{funding\_max\_share} \cdot F\Big),

    and cash moves by

    .. math::
        \text{cash}_i \mathrel{+}= \big(\text{revenue}_i (1 - o) + \text{funding}_i\big) \Delta t - w L_i \Delta t.

    A lab exits when its cash is negative, or when it is investor-funded, past ``exit_grace_years`` and below
    :math:`s_{exit}`.  A surviving lab is judged by its return on capital

    .. math::
        \pi_i = \frac{\text{revenue}_i (1 - o) - w L_i - \delta p C_i}{p C_i + \max(\text{cash}_i, 0)} \in [-10, 10],

    smoothed over ``memory_years`` into its *performance*, which its *aspiration* follows over ``aspiration_years``
    (Cyert and March's adaptive aspirations; :func:`performance_step`).

    Then per run, serially: the cash flows are recorded, exited labs' compute goes to the
    resale pool, their researchers to the talent pool and their cash out of the model; the windfall tax is paid out
    (stage 9), acquisitions (economy.kernels.acquisitions) and entry (economy.kernels.entry) follow in lab order, and
    the research workforce grows, :math:`\Delta P = g_L (P + \sum_i L_i) \Delta t` (a documented source).  Stage 9
    also acts in the rows: the research subsidy pays part of a small lab's wage bill, the windfall tax takes part
    of a large profit.

    Parameters
    ----------
    labs, world : LabState, WorldState
        The batch's labs and the world they live in (economy.state), updated in place.
    par : ndarray, shape (runs, N_PARAMS)
        Packed parameters (columns ``economy.kernels.layout.P_*``).
    draws : StepDraws
        The acquisition and entry uniforms and normals.
    work : StepWork
        Reads ``start_year``, ``end_year``, ``frontier_quality`` and ``investor_weight_total``; writes
        ``unserved_ratio``, ``inside_share``, ``exit_share`` and ``founded_by_year``.
    rec : ndarray, shape (runs, N_MARKET)
        The step's record: the cash flows, exits, acquisitions, entry and the workforce's growth.
    """
    n_runs, n = labs.cash_usd.shape
    for b in range(n_runs):
        if n > SUM_BLOCK:  # a large run: the same sums in blocks, on the threads (economy.kernels.blocks)
            unserved, spare, inside, alive = _market_sums_blocked(labs.alive, labs.share, labs.revenue_usd_per_year,
                                                                  labs.spare_capacity_usd_per_year, world.demand[b], b,
                                                                  work.block_sums)
        else:
            unserved, spare, inside, alive = _market_sums(labs.alive, labs.share, labs.revenue_usd_per_year,
                                                          labs.spare_capacity_usd_per_year, world.demand[b], b, 0, n)
        work.unserved_ratio[b] = min(1.0, unserved / spare) if spare > 0.0 else 0.0
        work.inside_share[b] = inside
        work.exit_share[b] = par[b, P_MONEY_EXIT_RELATIVE_SHARE] * inside / alive if alive > 0 else 0.0
        work.founded_by_year[b] = (
            par[b, P_SIM_START_YEAR] + (world.step[b] + 1) * par[b, P_SIM_DT] - par[b, P_MONEY_EXIT_GRACE_YEARS]
        )
    memory = work.factors  # per run: performance_step's two smoothing factors (columns 0 and 1)
    for b in range(n_runs):
        dt = par[b, P_SIM_DT]
        memory[b, 0] = -math.expm1(-dt / par[b, P_ADAPTATION_MEMORY_YEARS])
        memory[b, 1] = -math.expm1(-dt / par[b, P_ADAPTATION_ASPIRATION_YEARS])
    money_rows(labs, world, par, work, memory)
    # then per run, closing the books: written here, not in a helper, because a helper receiving the lab and world
    # state counts references to all their arrays at every call (docs/performance.md, "Reference counting")
    for b in range(n_runs):
        n = labs.cash_usd.shape[1]
        dt = par[b, P_SIM_DT]
        year = work.end_year[b]
        n_exits = 0
        if n > SUM_BLOCK:  # a large run: the sums in blocks, on the threads (economy.kernels.blocks)
            flows = work.block_sums
            _books_blocks(labs.alive, labs.exited, labs.funding, labs.revenue_usd_per_year,
                          labs.funding_inflow_usd_per_year, labs.researchers, labs.subsidy_usd, labs.cash_usd,
                          labs.compute_flop_per_year, par, b, flows)
            blocks = n_blocks(n)
            cash_rev, cash_opex = add_blocks(flows, 0, blocks), add_blocks(flows, 1, blocks)
            cash_fund, cash_state = add_blocks(flows, 2, blocks), add_blocks(flows, 3, blocks)
            cash_wages, cash_subsidy = add_blocks(flows, 4, blocks), add_blocks(flows, 5, blocks)
            cash_exit, compute_exit = add_blocks(flows, 6, blocks), add_blocks(flows, 7, blocks)
            people_exit = add_blocks(flows, 8, blocks)
        else:
            (cash_rev, cash_opex, cash_fund, cash_state, cash_wages, cash_subsidy, cash_exit, compute_exit,
             people_exit) = _books(labs.alive, labs.exited, labs.funding, labs.revenue_usd_per_year,
                                   labs.funding_inflow_usd_per_year, labs.researchers, labs.subsidy_usd,
                                   labs.cash_usd, labs.compute_flop_per_year, par, b, 0, n)
        for i in range(n):  # the exits, in lab order: their events, and what leaves the model with them
            if labs.exited[b, i]:
                n_exits += 1
                push_event(world, b, year, i, EVENT_EXIT, -1, labs.cash_usd[b, i])
                labs.cash_usd[b, i] = 0.0
                labs.compute_flop_per_year[b, i] = 0.0
                labs.researchers[b, i] = 0.0
                labs.share[b, i] = 0.0
                labs.customers[b, i] = 0.0
                labs.revenue_usd_per_year[b, i] = 0.0
                labs.run_flop[b, i] = 0.0
        world.resale_flop[b] += compute_exit
        world.talent_pool[b] += people_exit
        rec[b, M_CASH_REVENUE] = cash_rev
        rec[b, M_CASH_FUNDING] = cash_fund
        rec[b, M_CASH_STATE_BUDGET] = cash_state
        rec[b, M_CASH_WAGES] = cash_wages
        rec[b, M_CASH_OPEX] = cash_opex
        rec[b, M_CASH_REMOVED_AT_EXIT] = cash_exit
        rec[b, M_COMPUTE_REMOVED_AT_EXIT] = compute_exit
        rec[b, M_N_EXITS] = n_exits
        rec[b, M_CASH_SUBSIDY] = cash_subsidy
        # the helpers that receive the state are called only when they have something to do (windfall tax on, a
        # lab looking for a target, a lab entering): each call counts references to all the state's arrays
        if active(par[b], P_WINDFALL_TAX_START_YEAR, P_WINDFALL_TAX_END_YEAR, work.start_year[b]):
            windfall_run(labs, par, b, work.start_year[b], rec)
        if acquirer_looks(labs.alive, draws.acquire, par, b):
            acquisitions_run(labs, world, par, b, year, world.price[b], draws, rec)
        else:  # what acquisitions_run records when no lab looks for a target
            rec[b, M_N_ACQUISITIONS] = 0.0
            rec[b, M_N_ACQUISITIONS_BLOCKED] = 0.0
            rec[b, M_CASH_ACQUISITIONS] = 0.0
        count, ret = entry_count(labs.alive, labs.profit_usd_per_year, labs.capital_usd, draws.entry, par, b,
                                 world.n_used[b], rec, work.block_sums)
        if count > 0:
            entry_run(labs, world, par, b, year, draws, rec, count, ret)
        if n > SUM_BLOCK:
            staff = alive_sum_blocked(labs.alive, labs.researchers, b, work.block_sums)
        else:
            staff = alive_sum(labs.alive, labs.researchers, b, 0, n)
        growth = par[b, P_MONEY_TALENT_GROWTH_PER_YEAR] * (world.talent_pool[b] + staff) * dt
        world.talent_pool[b] += growth
        rec[b, M_PEOPLE_GROWTH] = growth


@kernel
def _market_sums_blocked(alive, share, revenue, spare, demand, b, scratch):
    """:func:`money_stage`'s first sums for a run of more than SUM_BLOCK labs, in blocks (economy.kernels.blocks):
    the demand not served, the spare capacity, the inside share and the alive labs; returns the four."""
    _market_sum_blocks(alive, share, revenue, spare, demand, b, scratch)
    blocks = n_blocks(alive.shape[1])
    return (add_blocks(scratch, 0, blocks), add_blocks(scratch, 1, blocks), add_blocks(scratch, 2, blocks),
            int(add_blocks(scratch, 3, blocks)))


@kernel_inline
def _market_sums(alive, share, revenue, spare, demand, b, lo, hi):
    """:func:`money_stage`'s first sums over run b's columns ``lo .. hi - 1`` in lab order: the demand not served,
    the spare capacity, the inside share and the alive labs."""
    unserved = 0.0
    room = 0.0
    inside = 0.0
    count = 0
    for i in range(lo, hi):
        if alive[b, i]:
            unserved += share[b, i] * demand - revenue[b, i]
            room += spare[b, i]
            inside += share[b, i]
            count += 1
    return unserved, room, inside, count


@kernel_parallel
def _market_sum_blocks(alive, share, revenue, spare, demand, b, part):
    n = alive.shape[1]
    for k in prange(n_blocks(n)):
        lo, hi = block_bounds(k, n)
        part[k, 0], part[k, 1], part[k, 2], part[k, 3] = _market_sums(alive, share, revenue, spare, demand, b, lo, hi)


@kernel_inline
def _books(alive, exited, funding, revenue, inflow, researchers, subsidy, cash, compute, par, b, lo, hi):
    """:func:`money_stage`'s books over run b's columns ``lo .. hi - 1`` in lab order: the cash flows of the labs
    alive or exited this step (revenue, opex, investors' and state funding, wages, subsidies) and what the exited
    labs take out (cash, compute, researchers)."""
    dt = par[b, P_SIM_DT]
    cash_rev = cash_opex = cash_fund = cash_state = cash_wages = cash_subsidy = 0.0
    cash_exit = compute_exit = people_exit = 0.0
    for i in range(lo, hi):
        if alive[b, i] or exited[b, i]:
            rev = revenue[b, i] * dt
            cash_rev += rev
            cash_opex += rev * par[b, P_MONEY_OPEX_FRACTION]
            if funding[b, i] == 0:
                cash_fund += inflow[b, i] * dt
            else:
                cash_state += inflow[b, i] * dt
            cash_wages += researchers[b, i] * par[b, P_MONEY_WAGE_USD_PER_YEAR] * dt
            cash_subsidy += subsidy[b, i]
        if exited[b, i]:
            cash_exit += cash[b, i]
            compute_exit += compute[b, i]
            people_exit += researchers[b, i]
    return cash_rev, cash_opex, cash_fund, cash_state, cash_wages, cash_subsidy, cash_exit, compute_exit, people_exit


@kernel_parallel
def _books_blocks(alive, exited, funding, revenue, inflow, researchers, subsidy, cash, compute, par, b, part):
    """:func:`_books` per block of a run of more than SUM_BLOCK labs (economy.kernels.blocks), in
    ``part[k, 0..8]``."""
    n = alive.shape[1]
    for k in prange(n_blocks(n)):
        lo, hi = block_bounds(k, n)
        flows = _books(alive, exited, funding, revenue, inflow, researchers, subsidy, cash, compute, par, b, lo, hi)
        for c in range(9):
            part[k, c] = flows[c]


@kernel_parallel
def money_rows(labs, world, par, work, memory):
    """Stage 7 per lab: unserved demand, data flywheel, funding, cash flows (with the research subsidy and the
    windfall tax of stage 9), exit, and the performance bookkeeping (:func:`money_stage`).

    The row's work is written in the loop body on arrays bound to locals (a row helper taking the whole lab state
    would cost several times the work; docs/performance.md).
    """
    alive, exited, funding, quality, growth_col = (labs.alive, labs.exited, labs.funding, labs.quality,
                                                   labs.revenue_growth)
    revenue_col, spare, data, cash_col = (labs.revenue_usd_per_year, labs.spare_capacity_usd_per_year,
                                          labs.data_tokens, labs.cash_usd)
    researchers, share, founded = labs.researchers, labs.share, labs.founded_year
    compute_col = labs.compute_flop_per_year
    performance, aspiration, log_revenue = labs.performance, labs.aspiration, labs.log_revenue
    profit_col, capital_col = labs.profit_usd_per_year, labs.capital_usd
    tax_col, subsidy_col, inflow_col = labs.tax_usd, labs.subsidy_usd, labs.funding_inflow_usd_per_year
    evasion = labs.evasion
    price, demand, year = world.price, world.demand, work.start_year
    frontier_u, fund_total, unserved_ratio = work.frontier_quality, work.investor_weight_total, work.unserved_ratio
    inside, exit_share, founded_by = work.inside_share, work.exit_share, work.founded_by_year
    n_runs, n = alive.shape
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            tax_col[b, i] = 0.0
            subsidy_col[b, i] = 0.0
            if not alive[b, i]:
                continue
            dt = par[b, P_SIM_DT]
            revenue = revenue_col[b, i] + spare[b, i] * unserved_ratio[b]
            revenue_col[b, i] = revenue
            data[b, i] += par[b, P_MARKET_DATA_TOKENS_PER_USD] * revenue * dt
            if funding[b, i] == 0:
                inflow = 0.0
                if fund_total[b] > 0.0 and quality[b, i] > NEG_INF:
                    pool = par[b, P_MONEY_FUNDING_TO_DEMAND] * demand[b]
                    weight = investor_weight(quality[b, i], growth_col[b, i], frontier_u[b], par, b)
                    inflow = min(pool * weight / fund_total[b], par[b, P_MONEY_FUNDING_MAX_SHARE] * pool)
            else:
                inflow = par[b, P_MONEY_STATE_BUDGET_USD_PER_YEAR]
            inflow_col[b, i] = inflow
            wages = researchers[b, i] * par[b, P_MONEY_WAGE_USD_PER_YEAR] * dt
            cash = cash_col[b, i] + (revenue * (1.0 - par[b, P_MONEY_OPEX_FRACTION]) + inflow) * dt - wages
            # stage 9: the state pays part of a small lab's wage bill
            if (
                active(par[b], P_RND_SUBSIDY_START_YEAR, P_RND_SUBSIDY_END_YEAR, year[b])
                and share[b, i] < par[b, P_RND_SUBSIDY_MAX_SHARE] * inside[b]
            ):
                subsidy = par[b, P_RND_SUBSIDY_RATE] * wages
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
            profit = (
                revenue * (1.0 - par[b, P_MONEY_OPEX_FRACTION])
                - researchers[b, i] * par[b, P_MONEY_WAGE_USD_PER_YEAR]
                - par[b, P_COMPUTE_DEPRECIATION_PER_YEAR] * price[b] * compute
            )
            capital = price[b] * compute + max(cash, 0.0)
            # stage 9: windfall tax on profit above the threshold (paid out to small labs by windfall_run)
            if (
                active(par[b], P_WINDFALL_TAX_START_YEAR, P_WINDFALL_TAX_END_YEAR, year[b])
                and profit > par[b, P_WINDFALL_TAX_THRESHOLD_USD_PER_YEAR]
            ):
                tax = min(
                    par[b, P_WINDFALL_TAX_RATE] * (profit - par[b, P_WINDFALL_TAX_THRESHOLD_USD_PER_YEAR]) * dt
                    * (1.0 - evasion[b, i]),  # the share a lab evading it (economy.kernels.compliance) hides
                    max(cash, 0.0),
                )
                tax_col[b, i] = tax
                cash_col[b, i] = cash - tax
            profit_col[b, i] = profit
            capital_col[b, i] = capital
            perf, asp, growth, log_rev = performance_step(
                performance[b, i],
                aspiration[b, i],
                growth_col[b, i],
                log_revenue[b, i],
                revenue,
                return_on_capital(profit, capital),
                dt,
                memory[b, 0],
                memory[b, 1],
            )
            performance[b, i] = perf
            aspiration[b, i] = asp
            growth_col[b, i] = growth
            log_revenue[b, i] = log_rev


@jit
def investor_weight(quality, growth, frontier_quality, par, b):
    """Investors' weight of a lab of run b with a model: rank (quality below the frontier) and revenue growth."""
    g = min(max(growth, -1.0), 1.0)
    return math.exp(
        par[b, P_MONEY_FUNDING_RANK_SENSITIVITY] * (quality - frontier_quality)
        + par[b, P_MONEY_FUNDING_GROWTH_SENSITIVITY] * g
    )


@kernel
def performance_step(performance, aspiration, growth, log_revenue, revenue, roc, dt, memory, toward_performance):
    """One step of a lab's bookkeeping: smoothed return on capital, aspiration, and revenue growth.

    Returns ``(performance, aspiration, growth, log_revenue)`` after the step; ``roc`` is this step's return on
    capital, ``revenue`` its revenue rate (USD/year) and ``log_revenue`` the last step's ln(revenue + floor);
    ``memory`` = 1 - e^{-dt / memory_years} and ``toward_performance`` = 1 - e^{-dt / aspiration_years}, the run's
    two smoothing factors (computed once per run by :func:`money_stage`, not per lab).
    """
    performance = performance + (roc - performance) * memory
    aspiration = aspiration + (performance - aspiration) * toward_performance
    new_log_revenue = math.log(revenue + REVENUE_FLOOR_USD)
    growth = growth + ((new_log_revenue - log_revenue) / dt - growth) * memory
    return performance, aspiration, growth, new_log_revenue
