r"""Entry of new labs (docs/model.md, stage 7), serial per run after exits and acquisitions.

Entrants arrive as a Poisson process whose rate rises with industry profits,

.. math:: \lambda = \lambda_0 \exp\big(\sigma \min(\pi, 1)\big), \qquad
          \pi = \frac{\sum_i \text{profit}_i}{\sum_i \text{capital}_i}

over alive labs (the industry's return on capital, clipped to [-10, 10]); the step's count is the Poisson
quantile of a pre-drawn uniform, at most ``ENTRY_SLOTS``.  Each entrant takes the first never-used column
(``world.n_used``; a column is never reused, so lab ids stay unique) and stops once ``labs.max_entrants``
columns are used.  An entrant of kind k (drawn from ``entry.mix``) and size :math:`s = e^{\text{sd} z}` starts
with its archetype's routine, cash ``s x cash_usd`` (brought by its founders and investors: a documented
source of money, ``cash_entry``), researchers ``s x researchers`` hired from the talent pool (as many as it
holds) and no compute (it buys compute from the next step on).  It starts behind the *open frontier*, the
alive lab with the best served model among those whose openness is at least ``entry.open_threshold``:

.. math:: \ln S_e = \ln S_{open} - \ell, \qquad \ln E_e = \ln E_{open} - \ell

(fine-tuned open weights; :math:`\ell` = ``entry.lag_ln``), in that lab's bloc.  Without an open lab it starts
:math:`\ell` behind the alive lab with the lowest ln S, in that lab's bloc, with no model.  Its performance and
aspiration start at the industry's return.  In the urn market mode an entrant holds no customers, so the urn
never picks it.

**Simon's entry** (urn mode, ``market.urn_entry_probability`` p > 0; ``urn_run`` in economy.kernels.market,
stage 6): each arriving customer founds a new lab with probability p (while free columns last) and otherwise joins
an existing lab by the urn rule.  The new lab is an entrant as above, of size 1 (no size draw), whose kind comes
from the same uniform (``u / p`` is uniform on [0, 1) given ``u < p``), holding that one customer; the open
frontier (or laggard) it starts behind is the one at its step's first foundation.  With urn exponent 1 this is
Simon's (1955) process, whose firm sizes follow the Yule-Simon law with tail exponent 1/(1 - p)
(docs/validation.md).
"""

import math

from economy.kernels.blocks import SUM_BLOCK, alive_sum_blocked
from economy.kernels.config import kernel, kernel_inline
from economy.kernels.events import push_event
from economy.kernels.layout import (
    A_CASH_USD,
    A_COMPUTE_SPEND_FRACTION,
    A_FUNDING,
    A_INFERENCE_FRACTION,
    A_OPENNESS,
    A_RESEARCHERS,
    A_SAFETY_BASE,
    A_SPEND_RATE_PER_YEAR,
    A_STRATEGY,
    A_TRAIN_FRACTION,
    ENTRY_SLOTS,
    EVENT_ENTRY,
    M_CASH_ENTRY,
    M_ENTRY_RATE,
    M_INDUSTRY_RETURN,
    M_N_ENTRIES,
    N_ARCH_FIELDS,
    N_KINDS,
    P_ARCHETYPES,
    P_CUMULATIVE_ENTRY_MIX,
    P_ENTRY_LAG_LN,
    P_ENTRY_OPEN_THRESHOLD,
    P_ENTRY_PROFIT_SENSITIVITY,
    P_ENTRY_RATE_PER_YEAR,
    P_ENTRY_SIZE_DISPERSION,
    P_SIM_DT,
    REVENUE_FLOOR_USD,
)
from economy.kernels.metrics import return_on_capital
from economy.kernels.training import refresh_capability

__all__ = [
    "NEG_INF", "enter", "entrant_kind", "entry_count", "entry_run", "industry_return", "laggard", "open_frontier",
    "poisson_count",
]

NEG_INF = -math.inf


@kernel
def poisson_count(mean, u, cap):
    """The Poisson(``mean``) quantile of the uniform ``u`` (inverse CDF), at most ``cap``."""
    p = math.exp(-mean)
    cdf = p
    k = 0
    while u >= cdf and k < cap:
        k += 1
        p *= mean / k
        cdf += p
    return k


@kernel
def entrant_kind(par_row, u):
    """The archetype code whose cumulative entry weight first exceeds the uniform ``u``."""
    for k in range(N_KINDS - 1):
        if u < par_row[P_CUMULATIVE_ENTRY_MIX + k]:
            return k
    return N_KINDS - 1


@kernel
def industry_return(alive, profit_usd_per_year, capital_usd, b, scratch):
    """Sum of run b's alive labs' profit over the sum of their capital (clipped like a lab's return); a large run
    sums in blocks (economy.kernels.blocks), ``scratch`` being economy.state.StepWork's ``block_sums``."""
    if alive.shape[1] > SUM_BLOCK:
        profit = alive_sum_blocked(alive, profit_usd_per_year, b, scratch)
        return return_on_capital(profit, alive_sum_blocked(alive, capital_usd, b, scratch))
    profit = 0.0
    capital = 0.0
    for i in range(alive.shape[1]):  # one pass for both sums (this runs in every step of every run)
        if alive[b, i]:
            profit += profit_usd_per_year[b, i]
            capital += capital_usd[b, i]
    return return_on_capital(profit, capital)


@kernel
def open_frontier(labs, par_row, b):
    """The alive lab with the highest ln E among those open enough (ties: lowest id); -1 if none."""
    best = -1
    threshold = par_row[P_ENTRY_OPEN_THRESHOLD]
    for i in range(labs.cash_usd.shape[1]):
        if labs.alive[b, i] and labs.openness[b, i] >= threshold and (
                best < 0 or labs.log_eff_compute[b, i] > labs.log_eff_compute[b, best]):
            best = i
    return best


@kernel
def laggard(labs, b):
    """The alive lab with the lowest ln S (ties: lowest id); -1 if none."""
    worst = -1
    for i in range(labs.cash_usd.shape[1]):
        if labs.alive[b, i] and (worst < 0 or labs.log_software[b, i] < labs.log_software[b, worst]):
            worst = i
    return worst


@kernel
def entry_count(alive, profit_usd_per_year, capital_usd, entry_draws, par, b, n_used, rec, scratch):
    """Entry for run b at the end of stage 7, first part: the industry's return and the entry rate (recorded), and
    how many labs enter this step (0 when no free column is left); returns ``(count, industry return)``.

    Apart from :func:`entry_run`, which founds the entrants, and on arrays rather than the lab state: it runs every
    step of every run, while labs enter in a few steps, and a call that receives the lab and world state counts
    references to all their arrays (docs/performance.md, "Reference counting").
    """
    p = par[b]
    ret = industry_return(alive, profit_usd_per_year, capital_usd, b, scratch)
    rec[b, M_INDUSTRY_RETURN] = ret
    rate = (
        p[P_ENTRY_RATE_PER_YEAR] * math.exp(p[P_ENTRY_PROFIT_SENSITIVITY] * min(ret, 1.0))
        if p[P_ENTRY_RATE_PER_YEAR] > 0.0
        else 0.0
    )
    rec[b, M_ENTRY_RATE] = rate
    if rate <= 0.0 or n_used >= alive.shape[1]:
        return 0, ret
    return poisson_count(rate * p[P_SIM_DT], entry_draws[b, 0], ENTRY_SLOTS), ret


@kernel_inline
def entry_run(labs, world, par, b, year, draws, rec, count, ret):
    """Entry for run b at the end of stage 7, second part: ``count`` labs enter (:func:`entry_count` gives it and
    the industry's return ``ret``); ``year`` is the step's end (the events' year)."""
    capacity = labs.cash_usd.shape[1]
    p = par[b]
    source = open_frontier(labs, p, b)
    reference = source if source >= 0 else laggard(labs, b)
    entered = 0
    cash_in = 0.0
    for m in range(count):
        i = world.n_used[b]
        if i >= capacity:
            break
        world.n_used[b] = i + 1
        kind = entrant_kind(p, draws.entry[b, 1 + m])
        size = math.exp(p[P_ENTRY_SIZE_DISPERSION] * draws.entry_size[b, m])
        enter(labs, world, par, b, i, kind, size, source, reference, ret)
        labs.founded_year[b, i] = year
        cash_in += labs.cash_usd[b, i]
        entered += 1
        push_event(world, b, year, i, EVENT_ENTRY, source, labs.cash_usd[b, i])
    rec[b, M_N_ENTRIES] += entered  # added to Simon's entrants of stage 6 (the record starts at zero)
    rec[b, M_CASH_ENTRY] += cash_in


@kernel
def enter(labs, world, par, b, i, kind, size, source, reference, ret):
    """Column i of run b becomes a new lab of archetype ``kind`` (see the module docs)."""
    p = par[b]
    arch = P_ARCHETYPES + kind * N_ARCH_FIELDS
    lag = p[P_ENTRY_LAG_LN]
    labs.alive[b, i] = True
    labs.exited[b, i] = False
    labs.kind[b, i] = kind
    labs.funding[b, i] = int(p[arch + A_FUNDING])
    labs.strategy[b, i] = int(p[arch + A_STRATEGY])
    labs.bloc[b, i] = labs.bloc[b, reference] if reference >= 0 else 0
    labs.cash_usd[b, i] = p[arch + A_CASH_USD] * size
    staff = min(p[arch + A_RESEARCHERS] * size, world.talent_pool[b])
    labs.researchers[b, i] = staff
    world.talent_pool[b] = max(0.0, world.talent_pool[b] - staff)
    labs.spend_rate_per_year[b, i] = p[arch + A_SPEND_RATE_PER_YEAR]
    labs.compute_spend_fraction[b, i] = p[arch + A_COMPUTE_SPEND_FRACTION]
    labs.train_fraction[b, i] = p[arch + A_TRAIN_FRACTION]
    labs.inference_fraction[b, i] = p[arch + A_INFERENCE_FRACTION]
    labs.safety_base[b, i] = p[arch + A_SAFETY_BASE]
    labs.safety[b, i] = p[arch + A_SAFETY_BASE]
    labs.openness[b, i] = p[arch + A_OPENNESS]
    labs.compute_flop_per_year[b, i] = 0.0
    labs.share[b, i] = 0.0
    labs.customers[b, i] = 0.0
    labs.data_tokens[b, i] = 0.0
    labs.drift[b, i] = 0.0
    labs.revenue_usd_per_year[b, i] = 0.0
    labs.singular_year[b, i] = -1.0
    labs.ceiling_year[b, i] = -1.0
    labs.run_flop[b, i] = 0.0
    labs.run_elapsed_years[b, i] = 0.0
    labs.compute_budget_usd[b, i] = 0.0
    labs.hire[b, i] = 0.0
    labs.performance[b, i] = ret
    labs.aspiration[b, i] = ret
    labs.log_revenue[b, i] = math.log(REVENUE_FLOOR_USD)
    labs.revenue_growth[b, i] = 0.0
    labs.profit_usd_per_year[b, i] = 0.0
    labs.capital_usd[b, i] = labs.cash_usd[b, i]
    labs.incidents[b, i] = 0
    labs.strategy_changed[b, i] = 0
    labs.imitated[b, i] = -1
    labs.incident_flag[b, i] = 0
    labs.incident_cost[b, i] = 0.0
    if source >= 0:
        labs.log_software[b, i] = labs.log_software[b, source] - lag
        labs.log_eff_compute[b, i] = labs.log_eff_compute[b, source] - lag
    elif reference >= 0:
        labs.log_software[b, i] = labs.log_software[b, reference] - lag
        labs.log_eff_compute[b, i] = NEG_INF
    else:
        labs.log_software[b, i] = -lag
        labs.log_eff_compute[b, i] = NEG_INF
    labs.run_log_software[b, i] = labs.log_software[b, i]
    if labs.log_eff_compute[b, i] > NEG_INF:
        refresh_capability(labs, par, b, i)
    else:
        labs.automation[b, i] = 0.0
        labs.quality[b, i] = NEG_INF
        labs.logit_weight[b, i] = NEG_INF
    labs.funding_inflow_usd_per_year[b, i] = 0.0
