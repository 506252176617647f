"""The compiled step: the stages of docs/model.md in their fixed order, over a batch of runs.

:func:`step_batch` is the ordered list of stage calls; each stage is a compiled function in its own module, with
the equations it implements in its docstring and a plain-Python twin in ``tests/reference/``:

====  ===============================================  ==============================================
 9    compliance: evasion and the regulator, first     economy.kernels.compliance.compliance_stage
 1    observe and decide: adaptation, racing, budget   economy.kernels.strategy.strategy_stage
 2    compute and talent markets                       economy.kernels.factor_markets.factor_market_stage
 3    research (ln S)                                  economy.kernels.research.research_stage
 4    training runs and capability                     economy.kernels.training.training_stage
 5    knowledge-spillover network                      economy.kernels.spillover.spillover_stage
 6    demand and shares                                economy.kernels.market.demand_stage
 7    money, funding, exit, acquisitions, entry        economy.kernels.money.money_stage
 8    incidents                                        economy.kernels.incidents.incident_stage
 9    policies, inside the stages they regulate;       economy.kernels.policies (break-ups:
      break-ups on the step's final shares             economy.kernels.policies.breakup_stage)
10    the record                                       economy.kernels.record.record_stage
====  ===============================================  ==============================================

A stage is serial per run where it sums across labs, and hands row work to parallel kernels (``prange`` over
(run, lab) pairs) that write only their own row, so results are bitwise identical whatever the thread count.
Values one stage hands to a later one of the same step live in ``work`` (economy.state.StepWork), the per-run
state of the world in ``world`` (economy.state.WorldState).
"""

from economy.kernels.compliance import compliance_stage
from economy.kernels.config import jit
from economy.kernels.draws import draw_step
from economy.kernels.events import reset_events
from economy.kernels.factor_markets import factor_market_stage
from economy.kernels.incidents import incident_stage
from economy.kernels.layout import EV_KIND, EV_LAB, EV_OTHER, EVENT_BREAKUP, EVENT_ENTRY, P_SIM_DT, P_SIM_START_YEAR
from economy.kernels.market import demand_stage
from economy.kernels.money import money_stage
from economy.kernels.policies import breakup_stage
from economy.kernels.record import record_stage
from economy.kernels.research import research_stage
from economy.kernels.spillover import spillover_stage
from economy.kernels.strategy import strategy_stage
from economy.kernels.training import training_stage

__all__ = ["FOUNDED_BY_ENTRY", "FOUNDED_TWICE", "NOT_FOUNDED", "begin_step", "note_founders", "run_steps",
           "step_batch"]

NOT_FOUNDED = -2
"""``founders[run, column]`` of a column no event of the run has founded (the starting labs' and the free ones)."""
FOUNDED_BY_ENTRY = -1
"""``founders[run, column]`` of an entrant; a break-up part holds its parent's column (>= 0)."""
FOUNDED_TWICE = -3
"""``founders[run, column]`` of a column two events founded: the engine refuses to name such a run."""


@jit
def step_batch(labs, world, par, net, shocks, urn_uniforms, draws, work, rec):
    """Advance every run of a batch by one step ``dt`` and write its market record into ``rec[run, :]``.

    ``shocks[run, lab]`` are standard normals (research luck), ``urn_uniforms[run, arrival]`` uniforms on
    [0, 1) used only in the urn market mode, ``draws`` (economy.state.StepDraws) the uniforms and normals of
    adaptation, entry, acquisitions, incidents and compliance.  All are drawn by the caller from the run's own streams.
    ``net`` is the batch's spillover network (economy.state.NetworkState); with no edges stage 5 is skipped.
    ``work`` (economy.state.StepWork) is the step's scratch.  The step's events are left in ``world.events``.
    """
    begin_step(world, par, work)
    compliance_stage(labs, world, par, draws, work, rec)  # 9, compliance: what each lab evades this step
    strategy_stage(labs, world, par, net, work, draws, rec)  # 1
    factor_market_stage(labs, world, par, work, rec)  # 2
    research_stage(labs, world, par, net, work, shocks)  # 3
    training_stage(labs, world, par, work)  # 4
    spillover_stage(labs, world, par, net, rec)  # 5
    demand_stage(labs, world, par, net, urn_uniforms, work, rec)  # 6
    money_stage(labs, world, par, draws, work, rec)  # 7
    incident_stage(labs, world, par, draws, work, rec)  # 8
    breakup_stage(labs, world, par, work, rec)  # 9, on the step's final shares
    record_stage(labs, world, par, work, rec)  # 10


@jit
def begin_step(world, par, work):
    """Empty every run's event buffer and set the step's start and end years (``work.start_year``,
    ``work.end_year``), which every stage reads."""
    for b in range(world.step.shape[0]):
        reset_events(world, b)
        start = par[b, P_SIM_START_YEAR] + world.step[b] * par[b, P_SIM_DT]
        work.start_year[b] = start
        work.end_year[b] = start + par[b, P_SIM_DT]


@jit
def note_founders(world, founders):
    """Keep, from this step's events, who founded each new lab column: ``founders[run, column]`` becomes
    :data:`FOUNDED_BY_ENTRY` for an entrant, the parent's column for a break-up part (:data:`FOUNDED_TWICE` if a
    column is founded again).  The engine names the labs from it (economy.engine.Simulation.names), so a batch
    need not hand each step's events to Python."""
    for b in range(world.n_events.shape[0]):
        for e in range(world.n_events[b]):
            kind = world.events[b, e, EV_KIND]
            if kind == EVENT_ENTRY or kind == EVENT_BREAKUP:
                i = int(world.events[b, e, EV_LAB])
                if founders[b, i] != NOT_FOUNDED:
                    founders[b, i] = FOUNDED_TWICE
                elif kind == EVENT_ENTRY:
                    founders[b, i] = FOUNDED_BY_ENTRY
                else:
                    founders[b, i] = int(world.events[b, e, EV_OTHER])


@jit
def run_steps(labs, world, par, net, states, switches, urn_draws, shocks, urn_uniforms, draws, work, market, founders,
              stop, stop_on_events):
    """Advance every run of a batch from its current step to step ``stop`` in one compiled call: per step, the
    draws (economy.kernels.draws.draw_step, from the runs' own streams), :func:`step_batch` writing
    ``market[step + 1]``, then :func:`note_founders`.  Returns the steps done; with ``stop_on_events`` it returns
    after the first step in which some run has an event, so the caller can keep them before the next step empties
    the buffer.

    ``states`` are the PCG64 states of the runs' drawn streams (economy.kernels.draws) and ``switches`` the
    per-run switches of the drawn mechanisms, in draw_step's order; ``market`` is the batch's whole record (steps
    + 1, runs, N_MARKET), row 0 the starting record.  The same numbers as stepping one step at a time from Python,
    bit for bit (tests/economy/test_determinism.py).
    """
    k = world.step[0]
    while k < stop:
        draw_step(states, switches[0], switches[1], switches[2], switches[3], switches[4], urn_draws, shocks,
                  urn_uniforms, draws)
        rec = market[k + 1]
        rec[:, :] = 0.0
        step_batch(labs, world, par, net, shocks, urn_uniforms, draws, work, rec)
        note_founders(world, founders)
        k += 1
        if stop_on_events:
            for b in range(world.n_events.shape[0]):
                if world.n_events[b] > 0:
                    return k
    return k
