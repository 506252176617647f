r"""Stage 6, the product market: demand and shares (docs/model.md, "Stage 6: market").

The stage is :func:`demand_stage`; its docstring gives the equations.
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
from economy.kernels.config import jit, kernel, kernel_inline, kernel_nocount, kernel_parallel
from economy.kernels.entry import enter, entrant_kind, industry_return, laggard, open_frontier
from economy.kernels.events import push_event
from economy.kernels.layout import (
    EVENT_ENTRY,
    M_CASH_ENTRY,
    M_N_ENTRIES,
    MARKET_MODE_URN,
    P_LN_MARKET_DEMAND_USD_PER_YEAR,
    P_LN_MARKET_GWP_USD_PER_YEAR,
    P_MARKET_ADOPTION_GROWTH_PER_YEAR,
    P_MARKET_DEMAND_QUALITY_ELASTICITY,
    P_MARKET_GWP_GROWTH_PER_YEAR,
    P_MARKET_INFERENCE_FLOP_PER_USD,
    P_MARKET_MAX_GWP_FRACTION,
    P_MARKET_MODE,
    P_MARKET_SWITCHING_YEARS,
    P_MARKET_URN_ARRIVALS_PER_STEP,
    P_MARKET_URN_ENTRY_PROBABILITY,
    P_MARKET_URN_EXPONENT,
    P_MARKET_WINNER_TAKE_ALL,
    P_NETWORK_CROSS_SEGMENT_INTENSITY,
    P_QUALITY_OF_MARKET_OUTSIDE_LOG10_FLOP,
    P_RUN_START_FRONTIER_QUALITY,
    P_SIM_DT,
)
from economy.kernels.metrics import top_two
from economy.kernels.money import investor_weight
from economy.kernels.segments import segment_log_norms

__all__ = ["NEG_INF", "demand_stage", "share_rows", "smooth_by", "smooth_toward", "urn_arrivals", "urn_run"]

NEG_INF = -math.inf


@kernel_nocount
def demand_stage(labs, world, par, net, urn_uniforms, work, rec):
    r"""Stage 6 for every run of a batch: demand and shares (docs/model.md, "Stage 6").

    Per run, serially: total AI demand grows with adoption and with the frontier's quality,
    capped at a share of world output,

    .. math::
        \ln D = \min\big(\ln(\text{max\_gwp\_fraction} \cdot GWP_0) + g_{gwp} (t - t_0), \;
            \ln D_0 + g_{adopt} (t - t_0) + \epsilon_u (u_{front} - u_{front,0})\big),

    and customers choose by a multinomial logit among the alive labs and an outside option of quality
    :math:`u_{out}`: with :math:`w_i` the labs' logit weights (stage 4) and :math:`w_0 = \gamma u_{out}`,

    .. math::
        s^*_i = \frac{e^{w_i}}{e^{w_0} + \sum_j e^{w_j}}, \qquad
        \text{consumer value} \mathrel{+}= D \, \big(\ln(e^{w_0} + \textstyle\sum_j e^{w_j}) - w_0\big) \, \Delta t

    (Small and Rosen 1981), evaluated as :math:`m + \ln \sum e^{w - m}` with :math:`m` the largest weight, and per
    market segment when blocs buy apart (economy.kernels.segments).  The investors' weights of stage 7 are summed
    here too, before the urn's entrants arrive.  Per lab (:func:`share_rows`, row-local): shares move toward their
    targets with customer inertia, and a lab serves what its inference compute allows,

    .. math::
        s_i \mathrel{+}= (s^*_i - s_i)(1 - e^{-\Delta t / T_{switch}}), \qquad
        \text{revenue}_i = \min(s_i D, \; K_i), \qquad K_i = \frac{\text{inference}_i \, C_i}{\text{FLOP per USD}},

    leaving :math:`K_i - \text{revenue}_i` of spare capacity for the demand rivals cannot serve (stage 7).

    **Urn mode** (``market.mode = "urn"``, :func:`urn_run`): shares are customer counts of a generalised Polya urn
    instead of logit targets; each arrival joins lab i with probability proportional to :math:`c_i^g`
    (:func:`urn_arrivals`), or, with Simon's entry on, founds a new lab (economy.kernels.entry).

    Parameters
    ----------
    labs, world : LabState, WorldState
        The batch's labs and the world they live in (economy.state), updated in place.
    par : ndarray, shape (runs, N_PARAMS)
        Packed parameters (columns ``economy.kernels.layout.P_*``).
    net : NetworkState
        The market segments (``segment_demand``, ``n_segments``).
    urn_uniforms : ndarray, shape (runs, arrivals)
        Uniforms on [0, 1), used only in the urn mode.
    work : StepWork
        Reads ``end_year``; writes ``frontier_quality``, ``max_logit_weight``, ``log_norm`` and
        ``investor_weight_total`` (the last two read in stage 7).
    rec : ndarray, shape (runs, N_MARKET)
        The step's record: Simon's entrants, in the urn mode.
    """
    n_runs, n = labs.cash_usd.shape
    for b in range(n_runs):
        dt = par[b, P_SIM_DT]
        years_in = world.step[b] * dt + dt
        if n > SUM_BLOCK:
            first, _ = top_two_blocked(labs.quality, labs.alive, b, work.block_pairs)
        else:
            first, _ = top_two(labs.quality[b], labs.alive[b])
        u_front = labs.quality[b, first] if first >= 0 else par[b, P_QUALITY_OF_MARKET_OUTSIDE_LOG10_FLOP]
        work.frontier_quality[b] = u_front
        log_cap = (
            math.log(par[b, P_MARKET_MAX_GWP_FRACTION])
            + par[b, P_LN_MARKET_GWP_USD_PER_YEAR]
            + par[b, P_MARKET_GWP_GROWTH_PER_YEAR] * years_in
        )
        log_d = par[b, P_LN_MARKET_DEMAND_USD_PER_YEAR] + par[b, P_MARKET_ADOPTION_GROWTH_PER_YEAR] * years_in
        if par[b, P_MARKET_DEMAND_QUALITY_ELASTICITY] != 0.0:  # skipped at 0: no 0 x -inf while no lab has a model
            log_d += par[b, P_MARKET_DEMAND_QUALITY_ELASTICITY] * (u_front - par[b, P_RUN_START_FRONTIER_QUALITY])
        demand = math.exp(min(log_cap, log_d))
        world.demand[b] = demand
        w0 = par[b, P_MARKET_WINNER_TAKE_ALL] * par[b, P_QUALITY_OF_MARKET_OUTSIDE_LOG10_FLOP]
        if n > SUM_BLOCK:  # a large run: the same sums in blocks, on the threads (economy.kernels.blocks)
            m, z, fund = _logit_sums_blocked(labs.alive, labs.logit_weight, labs.funding, labs.quality,
                                             labs.revenue_growth, par, b, w0, u_front, work.block_sums)
        else:
            m = _largest_weight(labs.alive, labs.logit_weight, b, w0, 0, n)
            z, fund = _logit_sums(labs.alive, labs.logit_weight, labs.funding, labs.quality, labs.revenue_growth, par,
                                  b, m, math.exp(w0 - m), u_front, 0, n)
        work.max_logit_weight[b] = m
        work.investor_weight_total[b] = fund
        log_z = math.log(z)  # ln Z - m, Z the logit's denominator with the outside option
        kappa = par[b, P_NETWORK_CROSS_SEGMENT_INTENSITY]
        if net.n_segments[b] > 1 and kappa < 1.0 and par[b, P_MARKET_MODE] != MARKET_MODE_URN:
            log_z = segment_log_norms(labs.logit_weight[b], labs.alive[b], labs.bloc[b], net.segment_demand[b],
                                      kappa, w0, m, net.segment_scratch[b], work.log_norm[b])
        else:
            work.log_norm[b, :] = log_z
        world.consumer_value[b] += demand * (log_z + m - w0) * dt
        if par[b, P_MARKET_MODE] == MARKET_MODE_URN:
            urn_run(labs, world, par, b, work.end_year[b], urn_uniforms[b], rec, work.block_sums)
            inside = 0.0
            for i in range(n):
                if labs.alive[b, i]:
                    inside += labs.customers[b, i]
            for i in range(n):
                labs.share[b, i] = labs.customers[b, i] / inside if (labs.alive[b, i] and inside > 0.0) else 0.0
    closing = work.factors[:, 0]  # per run: the share of the gap to the target closed in a step (smooth_toward's)
    for b in range(n_runs):
        closing[b] = -math.expm1(-par[b, P_SIM_DT] / par[b, P_MARKET_SWITCHING_YEARS])
    share_rows(labs, world, par, work, closing)


@kernel
def _logit_sums_blocked(alive, weight, funding, quality, growth, par, b, w0, u_front, scratch):
    """:func:`demand_stage`'s sums for a run of more than SUM_BLOCK labs, in blocks (economy.kernels.blocks): the
    largest weight ``m`` (at least ``w0``), the denominator ``e^{w0 - m} + sum_i e^{w_i - m}`` and the investors'
    weights' total; returns ``(m, z, fund)``."""
    blocks = n_blocks(alive.shape[1])
    _largest_weight_blocks(alive, weight, b, w0, scratch)
    m = w0
    for k in range(blocks):
        m = max(m, scratch[k, 0])
    _logit_sum_blocks(alive, weight, funding, quality, growth, par, b, m, math.exp(w0 - m), u_front, scratch)
    return m, add_blocks(scratch, 0, blocks), add_blocks(scratch, 1, blocks)


@kernel_inline
def _largest_weight(alive, weight, b, w0, lo, hi):
    """The largest logit weight of run b's alive labs ``lo <= i < hi``, at least ``w0``."""
    m = w0
    for i in range(lo, hi):
        if alive[b, i] and weight[b, i] > m:
            m = weight[b, i]
    return m


@kernel_inline
def _logit_sums(alive, weight, funding, quality, growth, par, b, m, z0, u_front, lo, hi):
    """Over run b's alive labs ``lo <= i < hi``, in lab order: ``z0 + sum_i e^{w_i - m}`` and the investors'
    weights of the investor-funded labs with a model (:func:`demand_stage`)."""
    z = z0
    fund = 0.0
    for i in range(lo, hi):
        if alive[b, i]:
            z += math.exp(weight[b, i] - m)
            if funding[b, i] == 0 and quality[b, i] > NEG_INF:
                fund += investor_weight(quality[b, i], growth[b, i], u_front, par, b)
    return z, fund


@kernel_parallel
def _largest_weight_blocks(alive, weight, b, w0, largest):
    n = alive.shape[1]
    for k in prange(n_blocks(n)):
        lo, hi = block_bounds(k, n)
        largest[k, 0] = _largest_weight(alive, weight, b, w0, lo, hi)


@kernel_parallel
def _logit_sum_blocks(alive, weight, funding, quality, growth, par, b, m, z0, u_front, part):
    n = alive.shape[1]
    for k in prange(n_blocks(n)):
        lo, hi = block_bounds(k, n)
        # the outside option's term starts the first block, as it starts the serial sum
        part[k, 0], part[k, 1] = _logit_sums(alive, weight, funding, quality, growth, par, b, m,
                                             z0 if k == 0 else 0.0, u_front, lo, hi)


@kernel_parallel
def share_rows(labs, world, par, work, closing):
    """Stage 6 per lab: the share moves toward its logit target (not in the urn mode; :func:`smooth_toward`, with
    its factor ``closing[run]`` computed once per run), demand is served within inference capacity, and the spare
    capacity is kept for stage 7 (:func:`demand_stage`).  Written in the loop body on arrays bound to locals
    (docs/performance.md)."""
    alive, revenue, logit_weight, share, bloc = (labs.alive, labs.revenue_usd_per_year, labs.logit_weight,
                                                 labs.share, labs.bloc)
    infer, compute, spare = labs.inference_fraction, labs.compute_flop_per_year, labs.spare_capacity_usd_per_year
    demand, max_weight, log_norm = world.demand, work.max_logit_weight, work.log_norm
    n_runs, n = alive.shape
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            if not alive[b, i]:
                revenue[b, i] = 0.0
                continue
            if par[b, P_MARKET_MODE] != MARKET_MODE_URN:
                target = math.exp(logit_weight[b, i] - max_weight[b] - log_norm[b, bloc[b, i]])
                share[b, i] = smooth_by(share[b, i], target, closing[b])
            capacity = infer[b, i] * compute[b, i] / par[b, P_MARKET_INFERENCE_FLOP_PER_USD]
            revenue[b, i] = min(share[b, i] * demand[b], capacity)
            spare[b, i] = capacity - revenue[b, i]


@kernel
def urn_run(labs, world, par, b, year, uniforms, rec, scratch):
    """This step's customers in the urn mode for run b, with Simon's entry when p > 0 (:func:`demand_stage` and
    economy.kernels.entry).

    ``uniforms`` holds the step's pick uniforms (one per arrival) followed, when p > 0, by one uniform per arrival
    deciding whether it founds a lab; ``year`` is the step's end (the entrants' founding year and the events').
    Entrants and their cash are counted in ``rec`` (M_N_ENTRIES, M_CASH_ENTRY), which start the step at zero;
    ``scratch`` is economy.state.StepWork's ``block_sums`` (the industry's return of a large run, in blocks).
    """
    p = par[b]
    arrivals = int(p[P_MARKET_URN_ARRIVALS_PER_STEP])
    prob = p[P_MARKET_URN_ENTRY_PROBABILITY]
    customers = labs.customers[b]
    alive = labs.alive[b]
    if prob <= 0.0:
        urn_arrivals(customers, alive, p[P_MARKET_URN_EXPONENT], uniforms[:arrivals])
        return
    capacity = labs.cash_usd.shape[1]
    entered = 0
    cash_in = 0.0
    source = -1
    reference = -1
    ret = 0.0
    for m in range(arrivals):
        u = uniforms[arrivals + m]
        i = world.n_used[b]
        if u < prob and i < capacity:
            if entered == 0:
                ret = industry_return(labs.alive, labs.profit_usd_per_year, labs.capital_usd, b, scratch)
                source = open_frontier(labs, p, b)
                reference = source if source >= 0 else laggard(labs, b)
            world.n_used[b] = i + 1
            enter(labs, world, par, b, i, entrant_kind(p, u / prob), 1.0, source, reference, ret)
            labs.founded_year[b, i] = year
            customers[i] = 1.0
            cash_in += labs.cash_usd[b, i]
            entered += 1
            push_event(world, b, year, i, EVENT_ENTRY, source, labs.cash_usd[b, i])
        else:
            urn_arrivals(customers, alive, p[P_MARKET_URN_EXPONENT], uniforms[m:m + 1])
    rec[b, M_N_ENTRIES] += entered
    rec[b, M_CASH_ENTRY] += cash_in


@jit
def urn_arrivals(customers, alive, exponent, uniforms):
    r"""A generalised Polya urn: each arrival joins lab i with probability proportional to f(s_i).

    With :math:`f(x) = x^g` and :math:`s_i = c_i / \sum_j c_j`, the normaliser cancels and the weights are
    :math:`c_i^g`.  Arrivals are drawn one after the other (the urn is updated after each), from the
    pre-drawn ``uniforms``.  Labs with no customers or not alive are never picked.  At g = 1 the weights are the
    counts themselves (``x ** 1.0 == x`` exactly, so skipping the power changes no bit).
    """
    linear = exponent == 1.0
    n = customers.shape[0]
    for m in range(uniforms.shape[0]):
        total = 0.0
        for i in range(n):
            if alive[i] and customers[i] > 0.0:
                total += customers[i] if linear else customers[i] ** exponent
        if total <= 0.0:
            return
        target = uniforms[m] * total
        acc = 0.0
        last = -1
        for i in range(n):
            if alive[i] and customers[i] > 0.0:
                acc += customers[i] if linear else customers[i] ** exponent
                last = i
                if target < acc:
                    break
        customers[last] += 1.0


@jit
def smooth_toward(current, target, dt, time_constant):
    """Exponential approach: current + (target - current)(1 - e^{-dt/T})."""
    return smooth_by(current, target, -math.expm1(-dt / time_constant))


@kernel
def smooth_by(current, target, closing):
    """:func:`smooth_toward` with its factor ``closing`` = 1 - e^{-dt/T} given (a row kernel computes it once per
    run)."""
    return current + (target - current) * closing
