r"""Stage 8, safety incidents and the catastrophe outcome (docs/model.md, "Stage 8").

The stage is :func:`incident_stage`; its docstring gives the equations.
"""

import math

import numpy as np
from numba import prange

from economy.kernels.blocks import n_row_blocks, row_block_bounds
from economy.kernels.config import kernel, kernel_parallel
from economy.kernels.events import push_event
from economy.kernels.layout import (
    EVENT_CATASTROPHE,
    EVENT_INCIDENT,
    M_CASH_INCIDENTS,
    M_CATASTROPHE,
    M_INCIDENTS,
    P_INCIDENTS_CAPABILITY_SENSITIVITY,
    P_INCIDENTS_CAPABILITY_THRESHOLD_LOG10_FLOP,
    P_INCIDENTS_CASH_LOSS,
    P_INCIDENTS_CATASTROPHE_FRACTION,
    P_INCIDENTS_HAZARD_PER_DRIFT,
    P_INCIDENTS_SAFETY_EFFECTIVENESS,
    P_INCIDENTS_SHARE_LOSS,
    P_SAFETY_STANDARD_END_YEAR,
    P_SAFETY_STANDARD_LIABILITY,
    P_SAFETY_STANDARD_START_YEAR,
    P_SIM_DT,
)
from economy.kernels.policies import active

__all__ = ["LN10", "LOG_CAP", "incident_probability", "incident_rows", "incident_stage"]

LN10 = math.log(10.0)
LOG_CAP = 700.0


@kernel
def incident_stage(labs, world, par, draws, work, rec):
    r"""Stage 8 for every run of a batch: safety incidents and the catastrophe outcome (docs/model.md, "Stage 8").

    Value drift accumulates in stage 3 (:math:`d\,\text{drift}_i = a_i \, d\ln S_i \, (1 - \text{safety}_i) \,
    \text{drift\_rate}`).  Each alive lab then has an incident hazard that rises with its drift and with the
    capability of its served model above a threshold,

    .. math:: h_i = h_0 \, \text{drift}_i \, e^{-\epsilon \, \text{safety}_i} \,
              e^{\kappa \max(0, \log_{10} E_i - \theta)}  \quad (1/\text{year}),

    (:math:`\epsilon` = ``safety_effectiveness``: the current safety effort also catches problems before they become
    incidents), so no drift means no incidents; an incident happens in the step with probability
    :math:`1 - e^{-h_i \Delta t}`
    (a pre-drawn uniform :math:`v_i` below it).  It is *catastrophic* with probability
    :math:`q_i = \text{catastrophe\_fraction} \times a_i` (the lab's research automation: loss of oversight), drawn
    from the same uniform (:math:`v_i < (1 - e^{-h_i \Delta t}) q_i`).  An incident costs the lab
    ``share_loss`` of its market share (and urn customers; the outside option takes them) and ``cash_loss`` of its
    cash (a documented sink, ``cash_incidents``).  A catastrophe is an absorbing outcome of the run: the year of
    the first is kept (``world.catastrophe_year``), the record's ``catastrophe`` column is 1 from then on and the
    run's summary reports it; the economy itself keeps being simulated, so later incidents are still recorded.

    Per lab (:func:`incident_rows`), then per run, in lab order, the incident and catastrophe events and the year
    of the first catastrophe.

    Parameters
    ----------
    labs, world : LabState, WorldState
        The batch's labs and the world they live in (economy.state), updated in place.
    par : ndarray, shape (runs, N_PARAMS)
        Packed parameters (columns ``economy.kernels.layout.P_*``).
    draws : StepDraws
        ``draws.incident``, one uniform per lab.
    work : StepWork
        Reads ``start_year`` (the safety standard's window, stage 9) and ``end_year`` (the events' year).
    rec : ndarray, shape (runs, N_MARKET)
        The step's record: incidents, their cost, the catastrophe flag.
    """
    n_runs, n = labs.cash_usd.shape
    logs = np.zeros((n_runs, 2))  # per run: ln(hazard per drift) and ln(dt), for incident_probability
    for b in range(n_runs):
        if par[b, P_INCIDENTS_HAZARD_PER_DRIFT] > 0.0:
            logs[b, 0] = math.log(par[b, P_INCIDENTS_HAZARD_PER_DRIFT])
        logs[b, 1] = math.log(par[b, P_SIM_DT])
    incident_rows(labs, par, draws.incident, work.start_year, logs)
    for b in range(n_runs):
        year = work.end_year[b]
        n_incidents = 0
        cash_incidents = 0.0
        for i in range(n):
            flag = labs.incident_flag[b, i]
            if flag == 0:
                continue
            n_incidents += 1
            cash_incidents += labs.incident_cost[b, i]
            if flag == 2:
                push_event(world, b, year, i, EVENT_CATASTROPHE, -1, labs.incident_cost[b, i])
                if world.catastrophe_year[b] < 0.0:
                    world.catastrophe_year[b] = year
            else:
                push_event(world, b, year, i, EVENT_INCIDENT, -1, labs.incident_cost[b, i])
        rec[b, M_INCIDENTS] = n_incidents
        rec[b, M_CASH_INCIDENTS] = cash_incidents
        rec[b, M_CATASTROPHE] = 1.0 if world.catastrophe_year[b] >= 0.0 else 0.0


@kernel
def incident_probability(drift, log_eff_compute, safety, par, b, logs):
    """Probability of an incident within the step, 1 - exp(-h dt), computed in logs (never inf or NaN);
    ``logs[run]`` holds ln(hazard per drift) and ln(dt) of each run (computed once per run by
    :func:`incident_stage`)."""
    hazard = par[b, P_INCIDENTS_HAZARD_PER_DRIFT]
    if drift <= 0.0 or hazard <= 0.0:
        return 0.0
    excess = max(0.0, log_eff_compute / LN10 - par[b, P_INCIDENTS_CAPABILITY_THRESHOLD_LOG10_FLOP])  # 0 with no model
    log_rate = (logs[b, 0] + math.log(drift) - par[b, P_INCIDENTS_SAFETY_EFFECTIVENESS] * safety
                + min(par[b, P_INCIDENTS_CAPABILITY_SENSITIVITY] * excess, LOG_CAP) + logs[b, 1])
    return -math.expm1(-math.exp(min(log_rate, LOG_CAP)))


@kernel_parallel
def incident_rows(labs, par, uniforms, year, logs):
    """Stage 8 per lab: incident draw, its cost in share and cash (with the safety standard's liability, stage
    9: ``1 + liability`` times the loss, at most the lab's cash), the catastrophe flag; ``year[run]`` is the
    step's start; ``logs`` the runs' logarithms :func:`incident_probability` needs.

    The row's work is written in the loop body on arrays bound to locals (no row helper taking the whole lab
    state: that call would cost more than the work)."""
    alive, drift, log_e, safety, automation = labs.alive, labs.drift, labs.log_eff_compute, labs.safety, labs.automation
    cash, share, customers, count = labs.cash_usd, labs.share, labs.customers, labs.incidents
    flag, cost_out = labs.incident_flag, labs.incident_cost
    n_runs, n = cash.shape
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            flag[b, i] = 0
            cost_out[b, i] = 0.0
            if not alive[b, i]:
                continue
            p = incident_probability(drift[b, i], log_e[b, i], safety[b, i], par, b, logs)
            v = uniforms[b, i]
            if not v < p:
                continue
            flag[b, i] = 2 if v < p * par[b, P_INCIDENTS_CATASTROPHE_FRACTION] * automation[b, i] else 1
            cost = par[b, P_INCIDENTS_CASH_LOSS] * max(cash[b, i], 0.0)
            if active(par[b], P_SAFETY_STANDARD_START_YEAR, P_SAFETY_STANDARD_END_YEAR, year[b]):
                cost = min(cost * (1.0 + par[b, P_SAFETY_STANDARD_LIABILITY]), max(cash[b, i], 0.0))
            cash[b, i] -= cost
            cost_out[b, i] = cost
            keep = 1.0 - par[b, P_INCIDENTS_SHARE_LOSS]
            share[b, i] *= keep
            customers[b, i] *= keep
            count[b, i] += 1
