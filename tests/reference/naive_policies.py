"""Plain-Python twins of the policy kernels (economy/kernels/policies.py), written from docs/policies.md.

They take and modify the same numpy arrays (a copy of a LabState / WorldState), element by element, with no
shared code: tests/economy/test_policies.py runs kernel and twin on copies of one state and compares.
"""

from __future__ import annotations

import math

from economy.kernels import layout as L


def _on(p, start: int, end: int, year: float) -> bool:
    return bool(p[start] <= year < p[end])


def _recipients(labs, b: int, limit: float) -> list[int]:
    alive = [i for i in range(labs.alive.shape[1]) if labs.alive[b, i]]
    inside = math.fsum(labs.share[b, i] for i in alive)
    small = [i for i in alive if labs.share[b, i] < limit * inside]
    return small if small else alive


def compute_tax(labs, par, b: int, year: float, price: float, spend: float) -> tuple[float, float, float]:
    """Returns (purchase factor, revenue, public compute); grants compute in place."""
    p = par[b]
    if not _on(p, L.P_COMPUTE_TAX_START_YEAR, L.P_COMPUTE_TAX_END_YEAR, year) or price <= 0:
        return 1.0, 0.0, 0.0
    rate = p[L.P_COMPUTE_TAX_RATE]
    revenue = spend * rate / (1 + rate)
    who = _recipients(labs, b, p[L.P_COMPUTE_TAX_SMALL_SHARE])
    if not who:
        return 1.0, 0.0, 0.0
    for i in who:
        labs.compute_flop_per_year[b, i] += revenue / price / len(who)
    return 1 / (1 + rate), revenue, revenue / price


def windfall(labs, par, b: int, year: float) -> float:
    p = par[b]
    if not _on(p, L.P_WINDFALL_TAX_START_YEAR, L.P_WINDFALL_TAX_END_YEAR, year):
        return 0.0
    revenue = sum(labs.tax_usd[b, i] for i in range(labs.alive.shape[1]) if labs.alive[b, i])
    if revenue <= 0:
        return 0.0
    who = _recipients(labs, b, p[L.P_WINDFALL_TAX_SMALL_SHARE])
    for i in who:
        labs.cash_usd[b, i] += revenue / len(who)
    return revenue


def merger_allowed(p, year: float, hhi: float, delta: float, merged: float) -> bool:
    if not _on(p, L.P_MERGER_REVIEW_START_YEAR, L.P_MERGER_REVIEW_END_YEAR, year):
        return True
    presumed = hhi + delta > p[L.P_MERGER_REVIEW_POST_HHI] and delta > p[L.P_MERGER_REVIEW_DELTA_HHI]
    return not presumed and merged <= p[L.P_MERGER_REVIEW_MAX_MERGED_SHARE]


SPLIT = ("cash_usd", "compute_flop_per_year", "researchers", "share", "customers", "revenue_usd_per_year",
         "run_flop", "profit_usd_per_year", "capital_usd", "compute_budget_usd", "spare_capacity_usd_per_year",
         "funding_inflow_usd_per_year", "tax_usd",
         "subsidy_usd", "incident_cost")


def breakup(labs, world, par, b: int, year: float, end_year: float) -> list[tuple[int, int]]:
    """Returns the (part, original) pairs made, in order."""
    p = par[b]
    if not _on(p, L.P_BREAKUP_START_YEAR, L.P_BREAKUP_END_YEAR, year):
        return []
    limit = p[L.P_BREAKUP_MAX_SHARE]
    inside = sum(labs.share[b, i] for i in range(labs.alive.shape[1]) if labs.alive[b, i])
    if inside <= 0:
        return []
    made = []
    capacity = labs.alive.shape[1]
    for i in range(int(world.n_used[b])):
        if not labs.alive[b, i] or labs.share[b, i] <= limit * inside:
            continue
        k = min(math.ceil(labs.share[b, i] / (limit * inside)), 1 + capacity - int(world.n_used[b]))
        if k < 2:
            continue
        for name in SPLIT:
            getattr(labs, name)[b, i] /= k
        for _ in range(k - 1):
            j = int(world.n_used[b])
            world.n_used[b] = j + 1
            for name in labs._fields:
                if name in ("scratch",):
                    continue
                getattr(labs, name)[b, j] = getattr(labs, name)[b, i]
            labs.exited[b, j] = False
            labs.incidents[b, j] = 0
            labs.strategy_changed[b, j] = 0
            labs.imitated[b, j] = -1
            labs.incident_flag[b, j] = 0
            labs.founded_year[b, j] = end_year
            made.append((j, i))
    return made
