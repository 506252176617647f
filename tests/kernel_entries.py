"""Python entry points, for the tests, of kernels that have none (economy.kernels.config.kernel).

Each function here passes its arguments to the kernel of the same name (``merge`` to acquisitions' ``_merge``) from
compiled code, so a test calls a stage as it would a ``jit`` kernel.  Unlike ``economy.kernels.config.call_compiled``
(which numba cannot cache, since it receives the kernel as an argument), these are cached: a test session compiles
each once (a few seconds for a stage: its Python wrapper, and its machine code linked in again), not in every
process that calls it.
"""

from __future__ import annotations

from economy.kernels import (
    acquisitions,
    blocks,
    compliance,
    factor_markets,
    incidents,
    market,
    metrics,
    money,
    policies,
    record,
    research,
    spillover,
    strategy,
    training,
    triggers,
)
from economy.kernels.config import jit

__all__ = ["alive_sum_blocked", "breakup_run", "breakup_stage", "calibration_log_growth", "compliance_stage",
           "compute_tax_run", "concentration_blocked", "demand_stage", "factor_market_stage", "first_year_blocked",
           "incident_stage", "knowledge_gap_blocked", "lab_log_growth", "merge", "money_stage", "record_knowledge_gap",
           "record_stage", "research_stage", "row_sum_blocked", "spillover_stage", "strategy_stage", "top_two_blocked",
           "training_stage", "trigger_run", "windfall_run"]


@jit
def strategy_stage(labs, world, par, net, work, draws, rec):
    return strategy.strategy_stage(labs, world, par, net, work, draws, rec)


@jit
def factor_market_stage(labs, world, par, work, rec):
    return factor_markets.factor_market_stage(labs, world, par, work, rec)


@jit
def research_stage(labs, world, par, net, work, shocks):
    return research.research_stage(labs, world, par, net, work, shocks)


@jit
def training_stage(labs, world, par, work):
    return training.training_stage(labs, world, par, work)


@jit
def spillover_stage(labs, world, par, net, rec):
    return spillover.spillover_stage(labs, world, par, net, rec)


@jit
def demand_stage(labs, world, par, net, urn_uniforms, work, rec):
    return market.demand_stage(labs, world, par, net, urn_uniforms, work, rec)


@jit
def money_stage(labs, world, par, draws, work, rec):
    return money.money_stage(labs, world, par, draws, work, rec)


@jit
def incident_stage(labs, world, par, draws, work, rec):
    return incidents.incident_stage(labs, world, par, draws, work, rec)


@jit
def record_stage(labs, world, par, work, rec):
    return record.record_stage(labs, world, par, work, rec)


@jit
def breakup_stage(labs, world, par, work, rec):
    return policies.breakup_stage(labs, world, par, work, rec)


@jit
def compliance_stage(labs, world, par, draws, work, rec):
    return compliance.compliance_stage(labs, world, par, draws, work, rec)


@jit
def compute_tax_run(labs, par, b, year, price, spend, rec):
    return policies.compute_tax_run(labs, par, b, year, price, spend, rec)


@jit
def windfall_run(labs, par, b, year, rec):
    return policies.windfall_run(labs, par, b, year, rec)


@jit
def breakup_run(labs, world, par, b, year, end_year, rec):
    return policies.breakup_run(labs, world, par, b, year, end_year, rec)


@jit
def merge(labs, par, price, b, a, j, cost):
    return acquisitions._merge(labs, par, price, b, a, j, cost)


@jit
def lab_log_growth(labs, par, b, i, shock):
    return research.lab_log_growth(labs, par, b, i, shock)


@jit
def calibration_log_growth(labs, par, b, i):
    return research.calibration_log_growth(labs, par, b, i)


@jit
def trigger_run(world, par, b, s, year, rec_row):
    return triggers.trigger_run(world, par, b, s, year, rec_row)


@jit
def top_two_blocked(values, alive, b, candidates):
    return blocks.top_two_blocked(values, alive, b, candidates)


@jit
def alive_sum_blocked(alive, column, b, scratch):
    return blocks.alive_sum_blocked(alive, column, b, scratch)


@jit
def row_sum_blocked(column, b):
    return blocks.row_sum_blocked(column, b)


@jit
def concentration_blocked(share, alive, b, total, scratch):
    return metrics.concentration_blocked(share, alive, b, total, scratch)


@jit
def knowledge_gap_blocked(log_software, alive, b, rec_row, scratch):
    return spillover.knowledge_gap_blocked(log_software, alive, b, rec_row, scratch)


@jit
def record_knowledge_gap(log_software, alive, rec_row):
    return spillover.record_knowledge_gap(log_software, alive, rec_row)


@jit
def first_year_blocked(years, b, current, scratch):
    return record.first_year_blocked(years, b, current, scratch)
