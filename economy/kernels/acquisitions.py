r"""Acquisitions of small labs by large ones (docs/model.md, stage 7), and the merger-review seam.

Serial per run, after exits.  Shares are inside-market shares (normalised by the alive labs' total, as the
HHI is).  Each investor-funded lab with a share of at least ``min_acquirer_share`` looks for a deal with
probability :math:`1 - e^{-r \Delta t}` (in lab-id order); :func:`candidate_target` picks the deal it would
make, and :func:`review_acquisition` (the hook the merger-review policy extends) may veto it.

*Candidates* (the "when profitable" rule: assets move to a lab that earns more on them): alive,
investor-funded, share at most ``max_target_share``, performance (smoothed return on capital) below the
acquirer's, and a price the acquirer's cash covers,

.. math:: \text{price}_j = (1 + \text{premium}) (\text{cash}_j + p \, C_j);

among them the one with the best served model (ties: the lowest id).  *Review*: with HHI on the 0-10,000
scale, the deal raises it by :math:`\Delta = 2 \cdot 10^4 s_a s_j`; it is blocked when
:math:`HHI + \Delta` > ``review_post_hhi`` and :math:`\Delta` > ``review_delta_hhi`` (the 2023 US Merger
Guidelines' presumption with 1,800 and 100; ``review_post_hhi`` = 10,000, the default, means no review).

*The deal*: the acquirer pays the price to the target's owners (money leaving the model:
``cash_acquisitions``) and takes over the target's cash, compute, researchers, customers and revenue, flywheel
data, and the better of the two ln S and ln E; the target's column dies (never reused).  Money apart from the
price, compute, people and shares are conserved.
"""

import math

from economy.kernels.codes import FUNDING_INVESTORS
from economy.kernels.config import kernel, kernel_inline
from economy.kernels.events import push_event
from economy.kernels.layout import (
    EVENT_ACQUISITION,
    EVENT_BLOCKED,
    M_CASH_ACQUISITIONS,
    M_N_ACQUISITIONS,
    M_N_ACQUISITIONS_BLOCKED,
    P_ACQUISITIONS_MAX_TARGET_SHARE,
    P_ACQUISITIONS_MIN_ACQUIRER_SHARE,
    P_ACQUISITIONS_PREMIUM,
    P_ACQUISITIONS_RATE_PER_YEAR,
    P_ACQUISITIONS_REVIEW_DELTA_HHI,
    P_ACQUISITIONS_REVIEW_POST_HHI,
    P_SIM_DT,
)
from economy.kernels.policies import merger_allowed
from economy.kernels.training import refresh_capability

__all__ = ["acquirer_looks", "acquisition_price", "acquisitions_run", "candidate_target", "look_probability",
           "review_acquisition"]


@kernel
def review_acquisition(hhi_before, delta_hhi, merged_share, par_row, year):
    """The merger-review hook: True lets the deal go ahead, False blocks it.  The standing review of
    ``acquisitions.review_*`` (a limit of 10,000: none) and the ``merger_review`` policy in its window
    (economy.kernels.policies.merger_allowed) must both allow it."""
    limit = par_row[P_ACQUISITIONS_REVIEW_POST_HHI]
    if limit < 10_000.0 and hhi_before + delta_hhi > limit and delta_hhi > par_row[P_ACQUISITIONS_REVIEW_DELTA_HHI]:
        return False
    return merger_allowed(par_row, year, hhi_before, delta_hhi, merged_share)


@kernel
def acquisition_price(labs, par_row, price, b, j):
    """(1 + premium) x (cash + compute at the market price) of lab j."""
    return (1.0 + par_row[P_ACQUISITIONS_PREMIUM]) * (
        max(labs.cash_usd[b, j], 0.0) + price * labs.compute_flop_per_year[b, j]
    )


@kernel
def candidate_target(labs, par_row, price, inside, b, a):
    """The lab that lab ``a`` would acquire (see the module docs); -1 if none."""
    best = -1
    cap = par_row[P_ACQUISITIONS_MAX_TARGET_SHARE] * inside
    markup = 1.0 + par_row[P_ACQUISITIONS_PREMIUM]
    alive, funding, share, performance = labs.alive, labs.funding, labs.share, labs.performance
    cash, compute, log_e = labs.cash_usd, labs.compute_flop_per_year, labs.log_eff_compute
    budget = cash[b, a]
    for j in range(cash.shape[1]):
        if (j == a or not alive[b, j] or funding[b, j] != FUNDING_INVESTORS or share[b, j] > cap
                or performance[b, j] >= performance[b, a]):
            continue
        if markup * (max(cash[b, j], 0.0) + price * compute[b, j]) > budget:  # acquisition_price, inline
            continue
        if best < 0 or log_e[b, j] > log_e[b, best]:
            best = j
    return best


@kernel
def look_probability(par, b):
    """The probability ``1 - exp(-rate dt)`` that a lab of run b looks for a target this step."""
    return -math.expm1(-par[b, P_ACQUISITIONS_RATE_PER_YEAR] * par[b, P_SIM_DT])


@kernel
def acquirer_looks(alive, acquire, par, b):
    """Whether any alive lab of run b looks for a target this step (its uniform below :func:`look_probability`),
    the first condition :func:`acquisitions_run` puts on an acquirer: when none does, that function only records
    zeros.  Its callers check this first, with three arrays instead of the lab and world state, whose every array a
    call counts references to (docs/performance.md, "Reference counting")."""
    if par[b, P_ACQUISITIONS_RATE_PER_YEAR] <= 0.0:
        return False
    look = look_probability(par, b)
    for a in range(alive.shape[1]):
        if alive[b, a] and acquire[b, a] < look:
            return True
    return False


@kernel_inline
def acquisitions_run(labs, world, par, b, year, price, draws, rec):
    """Acquisitions in run b; ``price`` is the step's compute price, ``year`` the step's end."""
    rec[b, M_N_ACQUISITIONS] = 0.0
    rec[b, M_N_ACQUISITIONS_BLOCKED] = 0.0
    rec[b, M_CASH_ACQUISITIONS] = 0.0
    p = par[b]
    if p[P_ACQUISITIONS_RATE_PER_YEAR] <= 0.0:
        return
    n = labs.cash_usd.shape[1]
    inside = 0.0
    for i in range(n):
        if labs.alive[b, i]:
            inside += labs.share[b, i]
    if inside <= 0.0:
        return
    hhi = 0.0
    for i in range(n):
        if labs.alive[b, i]:
            s = labs.share[b, i] / inside
            hhi += s * s
    hhi *= 10_000.0
    look = look_probability(par, b)
    done = 0
    blocked = 0
    paid = 0.0
    for a in range(n):
        if (not labs.alive[b, a] or labs.funding[b, a] != FUNDING_INVESTORS
                or labs.share[b, a] < p[P_ACQUISITIONS_MIN_ACQUIRER_SHARE] * inside or draws.acquire[b, a] >= look):
            continue
        j = candidate_target(labs, p, price, inside, b, a)
        if j < 0:
            continue
        delta = 20_000.0 * (labs.share[b, a] / inside) * (labs.share[b, j] / inside)
        merged = (labs.share[b, a] + labs.share[b, j]) / inside
        if not review_acquisition(hhi, delta, merged, p, year - p[P_SIM_DT]):
            blocked += 1
            push_event(world, b, year, a, EVENT_BLOCKED, j, delta)
            continue
        cost = acquisition_price(labs, p, price, b, j)
        _merge(labs, par, price, b, a, j, cost)
        hhi += delta
        done += 1
        paid += cost
        push_event(world, b, year, a, EVENT_ACQUISITION, j, cost)
    rec[b, M_N_ACQUISITIONS] = done
    rec[b, M_N_ACQUISITIONS_BLOCKED] = blocked
    rec[b, M_CASH_ACQUISITIONS] = paid


@kernel
def _merge(labs, par, price, b, a, j, cost):
    """Lab a takes over lab j, paying ``cost`` to j's owners."""
    labs.cash_usd[b, a] += labs.cash_usd[b, j] - cost
    labs.compute_flop_per_year[b, a] += labs.compute_flop_per_year[b, j]
    labs.researchers[b, a] += labs.researchers[b, j]
    labs.share[b, a] += labs.share[b, j]
    labs.customers[b, a] += labs.customers[b, j]
    labs.revenue_usd_per_year[b, a] += labs.revenue_usd_per_year[b, j]
    labs.data_tokens[b, a] += labs.data_tokens[b, j]
    labs.profit_usd_per_year[b, a] += labs.profit_usd_per_year[b, j]
    labs.capital_usd[b, a] = price * labs.compute_flop_per_year[b, a] + max(labs.cash_usd[b, a], 0.0)
    if labs.log_software[b, j] > labs.log_software[b, a]:
        labs.log_software[b, a] = labs.log_software[b, j]
    if labs.log_eff_compute[b, j] > labs.log_eff_compute[b, a]:
        labs.log_eff_compute[b, a] = labs.log_eff_compute[b, j]
        refresh_capability(labs, par, b, a)
    labs.alive[b, j] = False
    for arr in (labs.cash_usd, labs.compute_flop_per_year, labs.researchers, labs.share, labs.customers,
                labs.revenue_usd_per_year, labs.data_tokens, labs.run_flop, labs.profit_usd_per_year,
                labs.capital_usd):
        arr[b, j] = 0.0
