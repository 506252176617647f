r"""Stage 9, policy interventions (economy.params.policies holds their schema; docs/policies.md their equations).

A policy acts on the steps whose start year lies in ``[start, end)`` (:func:`active`); an absent policy has
``start = +inf``.  Each policy acts where the model's own mechanism sits, so the stage order of docs/model.md is
kept (economy/kernels/step.py lists the stages):

* stage 1 (decide): ``open_publication`` and ``safety_standard`` floors (:func:`policy_floors`);
* stage 2 (compute market, economy.kernels.factor_markets): ``export_controls`` refuse a share of restricted
  labs' purchases (:func:`export_budgets`); ``compute_tax`` takes ``rate / (1 + rate)`` of every purchase and buys
  public compute for small labs at the clearing price (:func:`compute_tax_run`);
* stage 4 (training, economy.kernels.training): ``compute_cap`` bounds each run's physical FLOP
  (:func:`capped_run_flop`); ``conditional_pause`` caps released capability (:func:`pause_cap`, triggered by
  :func:`pause_trigger` in the record stage, economy.kernels.record);
* stage 7 (money, economy.kernels.money): ``rnd_subsidy`` and ``windfall_tax`` in ``money_rows``, the windfall
  revenue paid out by :func:`windfall_run`; ``merger_review`` in :func:`merger_allowed` (called by the
  acquisitions' review hook);
* stage 8 (incidents): ``safety_standard`` liability (in ``incident_rows``);
* after stage 8, on the step's final shares: ``breakup`` (:func:`breakup_stage`), then, after the record, the
  pause's trigger.

Shares here are *inside* shares (of the alive labs' total, as the HHI).  Every kernel is serial per run or
row-local, so results do not depend on the thread count; each has a plain-Python twin in
tests/reference/naive_policies.py.
"""

import math

from economy.kernels.config import jit, kernel, kernel_inline
from economy.kernels.events import push_event
from economy.kernels.layout import (
    EVENT_BREAKUP,
    EVENT_PAUSE,
    M_N_BREAKUP_PARTS,
    M_PUBLIC_COMPUTE,
    M_TAX_REVENUE,
    P_BREAKUP_END_YEAR,
    P_BREAKUP_MAX_SHARE,
    P_BREAKUP_START_YEAR,
    P_COMPUTE_CAP_END_YEAR,
    P_COMPUTE_CAP_MAX_TRAINING_FLOP,
    P_COMPUTE_CAP_START_YEAR,
    P_COMPUTE_TAX_END_YEAR,
    P_COMPUTE_TAX_RATE,
    P_COMPUTE_TAX_SMALL_SHARE,
    P_COMPUTE_TAX_START_YEAR,
    P_CONDITIONAL_PAUSE_DURATION_YEARS,
    P_CONDITIONAL_PAUSE_END_YEAR,
    P_CONDITIONAL_PAUSE_START_YEAR,
    P_EXPORT_CONTROLS_COMPUTE_CUT,
    P_EXPORT_CONTROLS_END_YEAR,
    P_EXPORT_CONTROLS_RESTRICTED_BLOCS_BITS_0_31,
    P_EXPORT_CONTROLS_RESTRICTED_BLOCS_BITS_32_63,
    P_EXPORT_CONTROLS_START_YEAR,
    P_LN10_TIMES_CONDITIONAL_PAUSE_THRESHOLD_LOG10_EFF_COMPUTE,
    P_MERGER_REVIEW_DELTA_HHI,
    P_MERGER_REVIEW_END_YEAR,
    P_MERGER_REVIEW_MAX_MERGED_SHARE,
    P_MERGER_REVIEW_POST_HHI,
    P_MERGER_REVIEW_START_YEAR,
    P_OPEN_PUBLICATION_END_YEAR,
    P_OPEN_PUBLICATION_MIN_OPENNESS,
    P_OPEN_PUBLICATION_START_YEAR,
    P_SAFETY_STANDARD_END_YEAR,
    P_SAFETY_STANDARD_MIN_SAFETY,
    P_SAFETY_STANDARD_START_YEAR,
    P_WINDFALL_TAX_END_YEAR,
    P_WINDFALL_TAX_SMALL_SHARE,
    P_WINDFALL_TAX_START_YEAR,
)

__all__ = [
    "NEG_INF", "active", "breakup_run", "breakup_stage", "capped_run_flop", "compute_tax_run", "eligible_count",
    "export_budgets", "inside_total", "is_recipient", "merger_allowed", "pause_cap", "pause_event", "pause_trigger",
    "policy_floors", "restricted", "undeclared_run_flop", "windfall_run"
]

NEG_INF = -math.inf


@kernel
def active(par_row, start_col, end_col, year):
    """Whether the policy with window columns ``(start_col, end_col)`` acts on a step starting in ``year``."""
    return par_row[start_col] <= year < par_row[end_col]


# ---------------------------------------------------------------------------------------------- stage 1
@kernel
def policy_floors(par_row, year, openness, safety, evasion):
    """``(openness, safety)`` after the open-publication and safety-standard floors; a lab evading the safety
    standard (``evasion`` e > 0, economy.kernels.compliance) under-reports: it spends s_min - e (s_min - s)."""
    if active(par_row, P_OPEN_PUBLICATION_START_YEAR, P_OPEN_PUBLICATION_END_YEAR, year):
        openness = max(openness, par_row[P_OPEN_PUBLICATION_MIN_OPENNESS])
    if active(par_row, P_SAFETY_STANDARD_START_YEAR, P_SAFETY_STANDARD_END_YEAR, year):
        floor = par_row[P_SAFETY_STANDARD_MIN_SAFETY]
        if evasion > 0.0 and safety < floor:
            safety = floor - evasion * (floor - safety)
        else:
            safety = max(safety, floor)
    return openness, safety


# ---------------------------------------------------------------------------------------------- stage 2
@kernel
def restricted(par_row, bloc):
    """Whether ``bloc`` is one of the export-controlled blocs (two 32-bit masks held exactly in floats)."""
    if bloc < 32:
        return (int(par_row[P_EXPORT_CONTROLS_RESTRICTED_BLOCS_BITS_0_31]) >> bloc) & 1 == 1
    return (int(par_row[P_EXPORT_CONTROLS_RESTRICTED_BLOCS_BITS_32_63]) >> (bloc - 32)) & 1 == 1


@kernel_inline
def export_budgets(labs, par, b, year):
    """Export controls: restricted labs' compute budgets shrink by ``compute_cut`` (the rest stays cash); a lab
    evading them (``labs.evasion`` e > 0, economy.kernels.compliance) buys the share e of the refused compute
    through a third-party bloc (leakage), keeping 1 - cut (1 - e).  A lab the regulator banned buys nothing."""
    p = par[b]
    controls = active(p, P_EXPORT_CONTROLS_START_YEAR, P_EXPORT_CONTROLS_END_YEAR, year)
    cut = p[P_EXPORT_CONTROLS_COMPUTE_CUT]
    for i in range(labs.cash_usd.shape[1]):
        if not labs.alive[b, i]:
            continue
        if labs.ban_until_year[b, i] > year:
            labs.compute_budget_usd[b, i] = 0.0
        elif controls and restricted(p, labs.bloc[b, i]):
            evasion = labs.evasion[b, i]
            labs.compute_budget_usd[b, i] *= 1.0 - cut * (1.0 - evasion) if evasion > 0.0 else 1.0 - cut


@kernel
def inside_total(labs, b):
    """Sum of the alive labs' shares of run b."""
    inside = 0.0
    for i in range(labs.cash_usd.shape[1]):
        if labs.alive[b, i]:
            inside += labs.share[b, i]
    return inside


@kernel
def eligible_count(labs, b, limit):
    """Alive labs of run b whose inside share is below ``limit``; all alive labs when none is (so a transfer
    always finds recipients)."""
    inside = inside_total(labs, b)
    count = 0
    alive = 0
    for i in range(labs.cash_usd.shape[1]):
        if labs.alive[b, i]:
            alive += 1
            if labs.share[b, i] < limit * inside:
                count += 1
    return count, alive, inside


@kernel
def is_recipient(labs, b, i, limit, inside, all_alive):
    return labs.alive[b, i] and (all_alive or labs.share[b, i] < limit * inside)


@kernel_inline
def compute_tax_run(labs, par, b, year, price, spend, rec):
    """Compute tax in run b once the price is known; returns the share of each lab's budget that buys its own
    compute (1 without the tax).

    ``spend`` is the run's total compute spending: it all buys compute at ``price`` (so the price and the
    compute sold are as without the tax), ``rate / (1 + rate)`` of it as public compute, granted in equal parts
    to the labs below ``small_share`` (all alive labs if none is) before depreciation, as purchases are.
    """
    p = par[b]
    rec[b, M_TAX_REVENUE] = 0.0
    rec[b, M_PUBLIC_COMPUTE] = 0.0
    if not active(p, P_COMPUTE_TAX_START_YEAR, P_COMPUTE_TAX_END_YEAR, year) or price <= 0.0:
        return 1.0
    rate = p[P_COMPUTE_TAX_RATE]
    revenue = spend * rate / (1.0 + rate)
    count, alive, inside = eligible_count(labs, b, p[P_COMPUTE_TAX_SMALL_SHARE])
    if alive == 0:
        return 1.0
    all_alive = count == 0
    grant = revenue / price / (alive if all_alive else count)
    for i in range(labs.cash_usd.shape[1]):
        if is_recipient(labs, b, i, p[P_COMPUTE_TAX_SMALL_SHARE], inside, all_alive):
            labs.compute_flop_per_year[b, i] += grant
    rec[b, M_TAX_REVENUE] = revenue
    rec[b, M_PUBLIC_COMPUTE] = revenue / price
    return 1.0 / (1.0 + rate)


# ---------------------------------------------------------------------------------------------- stage 4
@kernel
def capped_run_flop(par_row, year, run_flop):
    """A training run's physical FLOP under the compute cap."""
    if active(par_row, P_COMPUTE_CAP_START_YEAR, P_COMPUTE_CAP_END_YEAR, year):
        return min(run_flop, par_row[P_COMPUTE_CAP_MAX_TRAINING_FLOP])
    return run_flop


@kernel
def undeclared_run_flop(run_flop, uncapped, cap, evasion):
    """A training run's physical FLOP after a step: ``uncapped`` without the cap, held at the larger of the cap and
    what the run already has (``run_flop``); a lab evading the cap (e > 0, economy.kernels.compliance) trains the
    share e of the excess in an undeclared run."""
    declared = max(run_flop, min(uncapped, cap))
    if evasion > 0.0:
        return declared + evasion * (uncapped - declared)
    return declared


@kernel
def pause_cap(world, b, year):
    """The highest ln E a release may reach in run b this step (+inf unless a pause holds)."""
    if world.pause_until[b] > year:
        return world.pause_cap_ln[b]
    return math.inf


@kernel
def pause_trigger(world, par, b, year, end_year, frontier_log_e):
    """Start the conditional pause of run b (once) when the frontier's ln E reaches the threshold on a step
    starting in the policy's window; ``end_year`` is the step's end, when the pause starts."""
    p = par[b]
    if world.pause_until[b] >= 0.0 or not active(p, P_CONDITIONAL_PAUSE_START_YEAR, P_CONDITIONAL_PAUSE_END_YEAR, year):
        return False
    if frontier_log_e < p[P_LN10_TIMES_CONDITIONAL_PAUSE_THRESHOLD_LOG10_EFF_COMPUTE]:
        return False
    world.pause_until[b] = end_year + p[P_CONDITIONAL_PAUSE_DURATION_YEARS]
    world.pause_cap_ln[b] = frontier_log_e
    return True


# ---------------------------------------------------------------------------------------------- stage 7
@kernel_inline
def windfall_run(labs, par, b, year, rec):
    """Pay run b's windfall-tax revenue (``labs.tax_usd``, taken in ``money_rows``) to the labs below
    ``small_share`` (all alive labs if none is), in equal parts, as cash; returns the revenue."""
    p = par[b]
    if not active(p, P_WINDFALL_TAX_START_YEAR, P_WINDFALL_TAX_END_YEAR, year):
        return 0.0
    revenue = 0.0
    for i in range(labs.cash_usd.shape[1]):
        if labs.alive[b, i]:
            revenue += labs.tax_usd[b, i]
    if revenue <= 0.0:
        return 0.0
    count, alive, inside = eligible_count(labs, b, p[P_WINDFALL_TAX_SMALL_SHARE])
    all_alive = count == 0
    grant = revenue / (alive if all_alive else count)
    for i in range(labs.cash_usd.shape[1]):
        if is_recipient(labs, b, i, p[P_WINDFALL_TAX_SMALL_SHARE], inside, all_alive):
            labs.cash_usd[b, i] += grant
    rec[b, M_TAX_REVENUE] += revenue
    return revenue


@jit
def merger_allowed(par_row, year, hhi_before, delta_hhi, merged_share):
    """Merger review (2023 US Merger Guidelines): blocked when post-deal HHI > ``post_hhi`` with a rise >
    ``delta_hhi``, or when the merged inside share exceeds ``max_merged_share``."""
    if not active(par_row, P_MERGER_REVIEW_START_YEAR, P_MERGER_REVIEW_END_YEAR, year):
        return True
    if hhi_before + delta_hhi > par_row[P_MERGER_REVIEW_POST_HHI] and delta_hhi > par_row[P_MERGER_REVIEW_DELTA_HHI]:
        return False
    return merged_share <= par_row[P_MERGER_REVIEW_MAX_MERGED_SHARE]


@kernel
def breakup_stage(labs, world, par, work, rec):
    """Stage 9 after stage 8, for every run of a batch: break-ups on the step's final shares
    (:func:`breakup_run`)."""
    for b in range(labs.cash_usd.shape[0]):
        # the window checked here too: a call that receives the lab and world state counts references to all their
        # arrays (docs/performance.md, "Reference counting")
        if active(par[b], P_BREAKUP_START_YEAR, P_BREAKUP_END_YEAR, work.start_year[b]):
            breakup_run(labs, world, par, b, work.start_year[b], work.end_year[b], rec)
        else:
            rec[b, M_N_BREAKUP_PARTS] = 0.0


@kernel
def breakup_run(labs, world, par, b, year, end_year, rec):
    """Split every alive lab of run b whose inside share exceeds ``max_share`` into ``k = ceil(s / max_share)``
    equal parts (fewer if free columns run out: the parts take never-used columns, as entrants do).

    Each part keeps the lab's knowledge (ln S, ln E, data are copied: a break-up cannot make anyone forget) and
    routine, and takes ``1/k`` of its cash, compute, researchers, customers, revenue and training run.
    """
    rec[b, M_N_BREAKUP_PARTS] = 0.0
    p = par[b]
    if not active(p, P_BREAKUP_START_YEAR, P_BREAKUP_END_YEAR, year):
        return
    limit = p[P_BREAKUP_MAX_SHARE]
    inside = inside_total(labs, b)
    if inside <= 0.0:
        return
    capacity = labs.cash_usd.shape[1]
    n = world.n_used[b]
    parts_made = 0
    for i in range(n):
        if not labs.alive[b, i] or labs.share[b, i] <= limit * inside:
            continue
        k = math.ceil(labs.share[b, i] / (limit * inside))
        k = min(k, 1 + capacity - world.n_used[b])
        if k < 2:
            continue
        fraction = 1.0 / k
        _scale_lab(labs, b, i, fraction)
        for _ in range(k - 1):
            j = world.n_used[b]
            world.n_used[b] = j + 1
            _copy_lab(labs, b, i, j)
            labs.founded_year[b, j] = end_year
            push_event(world, b, end_year, j, EVENT_BREAKUP, i, labs.share[b, j] / inside)
            parts_made += 1
    rec[b, M_N_BREAKUP_PARTS] = parts_made


@kernel
def _scale_lab(labs, b, i, fraction):
    for arr in (labs.cash_usd, labs.compute_flop_per_year, labs.researchers, labs.share, labs.customers,
                labs.revenue_usd_per_year, labs.run_flop, labs.profit_usd_per_year, labs.capital_usd,
                labs.compute_budget_usd, labs.spare_capacity_usd_per_year, labs.funding_inflow_usd_per_year,
                labs.tax_usd, labs.subsidy_usd, labs.incident_cost):
        arr[b, i] *= fraction


@kernel
def _copy_lab(labs, b, i, j):
    """Column j becomes a copy of column i (every field)."""
    for arr in (labs.cash_usd, labs.compute_flop_per_year, labs.log_software, labs.log_eff_compute,
                labs.researchers, labs.share, labs.customers, labs.data_tokens, labs.drift, labs.run_flop,
                labs.run_log_software, labs.run_elapsed_years, labs.spend_rate_per_year,
                labs.compute_spend_fraction, labs.train_fraction, labs.inference_fraction, labs.safety_base,
                labs.openness, labs.performance, labs.aspiration, labs.log_revenue, labs.revenue_growth,
                labs.profit_usd_per_year, labs.capital_usd, labs.founded_year, labs.safety, labs.automation,
                labs.quality, labs.revenue_usd_per_year, labs.singular_year, labs.ceiling_year, labs.incident_cost,
                labs.compute_budget_usd, labs.hire, labs.logit_weight, labs.spare_capacity_usd_per_year,
                labs.funding_inflow_usd_per_year, labs.tax_usd, labs.subsidy_usd):
        arr[b, j] = arr[b, i]
    labs.alive[b, j] = labs.alive[b, i]
    labs.exited[b, j] = False
    labs.kind[b, j] = labs.kind[b, i]
    labs.funding[b, j] = labs.funding[b, i]
    labs.bloc[b, j] = labs.bloc[b, i]
    labs.strategy[b, j] = labs.strategy[b, i]
    labs.incidents[b, j] = 0
    labs.strategy_changed[b, j] = 0
    labs.imitated[b, j] = -1
    labs.incident_flag[b, j] = 0


@kernel
def pause_event(world, b, end_year, lab, log_e):
    push_event(world, b, end_year, lab, EVENT_PAUSE, -1, log_e / math.log(10.0))
