r"""Stage 2, the factor markets: compute and talent (docs/model.md, "Stage 2: compute market").

The stage is :func:`factor_market_stage`; its docstring gives the equations.
"""

import math

from numba import prange

from economy.kernels.blocks import (
    SUM_BLOCK,
    add_blocks,
    block_bounds,
    n_blocks,
    n_row_blocks,
    row_block_bounds,
    top_two_blocked,
)
from economy.kernels.config import kernel, kernel_inline, kernel_nocount, kernel_parallel
from economy.kernels.layout import (
    M_CASH_COMPUTE_SPEND,
    M_COMPUTE_BOUGHT,
    M_COMPUTE_DEPRECIATED,
    M_PRICE_FLOOR,
    M_PUBLIC_COMPUTE,
    M_TAX_REVENUE,
    P_COMPUTE_DEPRECIATION_PER_YEAR,
    P_COMPUTE_HW_AI_FEEDBACK,
    P_COMPUTE_SUPPLY_FLOP_PER_YEAR,
    P_COMPUTE_TAX_END_YEAR,
    P_COMPUTE_TAX_START_YEAR,
    P_ENFORCEMENT_EVASION,
    P_EXPORT_CONTROLS_END_YEAR,
    P_EXPORT_CONTROLS_START_YEAR,
    P_LN2_OVER_COMPUTE_HW_DOUBLING_YEARS,
    P_LN_COMPUTE_SUPPLY_GROWTH_PER_YEAR,
    P_SIM_DT,
    P_SIM_START_YEAR,
)
from economy.kernels.metrics import top_two
from economy.kernels.policies import active, compute_tax_run, export_budgets

__all__ = ["factor_market_stage", "purchase_rows"]


@kernel_nocount
def factor_market_stage(labs, world, par, work, rec):
    r"""Stage 2 for every run of a batch: the compute and talent markets (docs/model.md, "Stage 2").

    Per run, serially: new compute supply grows with fab capacity, the compute
    returned by exits last step is resold, and one price clears the market for the labs' compute budgets
    :math:`B_i` (stage 1):

    .. math::
        Q(t) = Q_0 \, e^{g_Q (t - t_0)}, \qquad
        p = \max\Big(p_{floor}, \; \frac{\sum_i B_i}{Q \, \Delta t + \text{resale}}\Big),

    so the FLOP sold, :math:`\sum_i B_i / p`, never exceed the FLOP available; unsold resale compute is carried over
    in proportion.  Researchers are hired from the talent pool :math:`P`: staff let go (:math:`h_i < 0`) return to
    it first, and when it cannot fill every request (:math:`h_i > 0`) each is filled in the same proportion,

    .. math:: f = \min\Big(1, \; \frac{P + \sum_{h_i < 0} |h_i|}{\sum_{h_i > 0} h_i}\Big).

    The hardware price floor then falls with price-performance, faster when the frontier's research is automated
    (:math:`a_{front}`, the leader of the last step; stage 1 changes no quality):

    .. math:: \frac{d \ln p_{floor}}{dt} = -\frac{\ln 2}{T_{hw}} \big(1 + f_{hw} \, a_{front}\big).

    Per lab (:func:`purchase_rows`, row-local): the lab pays its budget, buys :math:`B_i \phi / p` FLOP/year
    (:math:`\phi < 1` under a compute tax), its compute depreciates, and its staff moves by the filled request:

    .. math::
        \text{cash}_i \mathrel{-}= B_i, \qquad
        C_i \leftarrow (C_i + B_i \phi / p) \, e^{-\delta \Delta t}, \qquad
        L_i \leftarrow \max\big(0, L_i + (f h_i \text{ if } h_i > 0 \text{ else } h_i)\big).

    Stage 9 acts here: export controls cut restricted labs' budgets before the market clears
    (:func:`economy.kernels.policies.export_budgets`) and the compute tax buys public compute for small labs at the
    clearing price (:func:`economy.kernels.policies.compute_tax_run`, which returns :math:`\phi`).

    Parameters
    ----------
    labs, world : LabState, WorldState
        The batch's labs and the world they live in (economy.state), updated in place.
    par : ndarray, shape (runs, N_PARAMS)
        Packed parameters (columns ``economy.kernels.layout.P_*``).
    work : StepWork
        Reads ``start_year``; writes ``own_compute_fraction`` and ``hire_fraction`` (read by :func:`purchase_rows`).
    rec : ndarray, shape (runs, N_MARKET)
        The step's record: the compute spent, bought and depreciated, the price floor.
    """
    n_runs, n = labs.cash_usd.shape
    for b in range(n_runs):
        dt = par[b, P_SIM_DT]
        year = work.start_year[b]
        # stage 9: export controls refuse restricted labs' purchases, and a banned lab buys nothing.  Bans exist only
        # with enforcement on (economy.kernels.compliance); checked here because a call that receives the lab
        # state counts references to all its arrays (docs/performance.md, "Reference counting")
        if par[b, P_ENFORCEMENT_EVASION] != 0.0 or active(par[b], P_EXPORT_CONTROLS_START_YEAR,
                                                         P_EXPORT_CONTROLS_END_YEAR, year):
            export_budgets(labs, par, b, year)
        if n > SUM_BLOCK:  # a large run: the same sums in blocks, on the threads (economy.kernels.blocks)
            owned, budget, hires, fires = _order_sums_blocked(labs.alive, labs.compute_flop_per_year,
                                                              labs.compute_budget_usd, labs.hire, b, work.block_sums)
        else:
            owned, budget, hires, fires = _order_sums(labs.alive, labs.compute_flop_per_year, labs.compute_budget_usd,
                                                      labs.hire, b, 0, n)
        supply = math.exp(
            math.log(par[b, P_COMPUTE_SUPPLY_FLOP_PER_YEAR])
            + par[b, P_LN_COMPUTE_SUPPLY_GROWTH_PER_YEAR] * (year - par[b, P_SIM_START_YEAR])
        )
        available = supply * dt + world.resale_flop[b]
        floor = math.exp(world.log_price_floor[b])
        price = max(floor, budget / available)
        world.price[b] = price
        # stage 9: public compute from the compute tax (checked here for the reason above)
        if active(par[b], P_COMPUTE_TAX_START_YEAR, P_COMPUTE_TAX_END_YEAR, year):
            work.own_compute_fraction[b] = compute_tax_run(labs, par, b, year, price, budget, rec)
        else:
            rec[b, M_TAX_REVENUE] = 0.0
            rec[b, M_PUBLIC_COMPUTE] = 0.0
            work.own_compute_fraction[b] = 1.0
        sold = budget / price if price > 0.0 else 0.0  # price = 0 only once the floor has underflowed to 0
        if world.resale_flop[b] > 0.0:
            world.resale_flop[b] *= max(0.0, 1.0 - sold / available)
        rec[b, M_CASH_COMPUTE_SPEND] = budget
        rec[b, M_COMPUTE_BOUGHT] = sold
        rec[b, M_COMPUTE_DEPRECIATED] = -math.expm1(-par[b, P_COMPUTE_DEPRECIATION_PER_YEAR] * dt) * (owned + sold)
        rec[b, M_PRICE_FLOOR] = floor
        pool = world.talent_pool[b] + fires
        fill = min(1.0, pool / hires) if hires > 0.0 else 1.0
        work.hire_fraction[b] = fill
        world.talent_pool[b] = max(0.0, pool - hires * fill)  # >= 0 despite rounding
        if n > SUM_BLOCK:
            leader, _ = top_two_blocked(labs.quality, labs.alive, b, work.block_pairs)
        else:
            leader, _ = top_two(labs.quality[b], labs.alive[b])
        automation = labs.automation[b, leader] if leader >= 0 else 0.0
        world.log_price_floor[b] -= (
            par[b, P_LN2_OVER_COMPUTE_HW_DOUBLING_YEARS] * (1.0 + par[b, P_COMPUTE_HW_AI_FEEDBACK] * automation) * dt
        )
    kept = work.factors[:, 0]  # per run: the share of compute a step's depreciation leaves
    for b in range(n_runs):
        kept[b] = math.exp(-par[b, P_COMPUTE_DEPRECIATION_PER_YEAR] * par[b, P_SIM_DT])
    purchase_rows(labs, world, par, work, kept)


@kernel
def _order_sums_blocked(alive, compute, budget, hire, b, scratch):
    """:func:`factor_market_stage`'s sums for a run of more than SUM_BLOCK labs, in blocks (economy.kernels.blocks):
    the alive labs' compute, compute budgets, hiring and firing; returns the four."""
    _order_sum_blocks(alive, compute, budget, hire, b, scratch)
    blocks = n_blocks(alive.shape[1])
    return (add_blocks(scratch, 0, blocks), add_blocks(scratch, 1, blocks), add_blocks(scratch, 2, blocks),
            add_blocks(scratch, 3, blocks))


@kernel_inline
def _order_sums(alive, compute, budget, hire, b, lo, hi):
    """Over run b's alive labs ``lo <= i < hi``, in lab order: their compute, compute budgets, hiring and firing."""
    owned = spend = hires = fires = 0.0
    for i in range(lo, hi):
        if alive[b, i]:
            owned += compute[b, i]
            spend += budget[b, i]
            h = hire[b, i]
            if h > 0.0:
                hires += h
            else:
                fires -= h
    return owned, spend, hires, fires


@kernel_parallel
def _order_sum_blocks(alive, compute, budget, hire, b, part):
    n = alive.shape[1]
    for k in prange(n_blocks(n)):
        lo, hi = block_bounds(k, n)
        part[k, 0], part[k, 1], part[k, 2], part[k, 3] = _order_sums(alive, compute, budget, hire, b, lo, hi)


@kernel_parallel
def purchase_rows(labs, world, par, work, kept):
    """Stage 2 per lab: pay the compute budget, buy at the clearing price, depreciate, hire or let go
    (:func:`factor_market_stage`).  The row's work is written in the loop body on arrays bound to locals: a row
    helper taking the whole lab state would cost several times the work (docs/performance.md)."""
    alive, budget_col, cash, compute, hire, staff = (labs.alive, labs.compute_budget_usd, labs.cash_usd,
                                                     labs.compute_flop_per_year, labs.hire, labs.researchers)
    price, own, fill = world.price, work.own_compute_fraction, work.hire_fraction
    n_runs, n = alive.shape
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            if not alive[b, i]:
                continue
            budget = budget_col[b, i]
            cash[b, i] -= budget
            c = compute[b, i] + (budget * own[b] / price[b] if price[b] > 0.0 else 0.0)
            c *= kept[b]  # e^{-depreciation dt}, computed once per run
            compute[b, i] = c
            h = hire[b, i]
            staff[b, i] = max(0.0, staff[b, i] + (h * fill[b] if h > 0.0 else h))
