r"""Stage 9, triggers: a policy's lever switched on and off by what a regulator observes (docs/policies.md,
"Triggers"; the schema is economy.params.policies.Trigger).

After each record (stage 10, economy.kernels.record) the regulator's observables of run b are written into its
observation ring ``world.trigger_observed[b, slot, :]`` (:func:`observe`): the HHI, the leader's inside share,
the frontier's log10 effective compute, the incidents since the start and the catastrophe flag; a value the
record leaves undefined (NaN: no served model, so no frontier) is observed as 0, so the ring stays finite.
Then, for each policy kind with a trigger (:func:`trigger_run`), with :math:`s` the steps done, :math:`L` the lag
in whole steps (:math:`\operatorname{round}(\text{lag\_years}/dt)`) and :math:`o = s - L` the record the
regulator sees:

.. math::
    c_o = [x_o > \theta] \text{ (above) or } [x_o < \theta] \text{ (below)}, \qquad
    \sigma = \text{the first record of the current run of } c = 1,

the lever switches **on** (the policy's start column in the run's row becomes the next step's start year, an
event ``policy_on``) when :math:`c_o` holds with :math:`(o - \sigma)\,dt \ge` ``for_years`` and the next step
starts in the declared window ``[start_year, end_year)``; it switches **off** (start column +inf, an event
``policy_off``) at the first record at least ``min_duration_years`` after it switched on at which :math:`c_o`
fails.  Before the first observed record (:math:`o < 0`) the condition does not hold.  The starting state is
record 0 (observed, with no lag, before the first step); decisions are taken after each step.  Durations are
compared with a tolerance of :data:`TOLERANCE_YEARS`.

Every other stage reads the lever through the policy's window columns (``economy.kernels.policies.active``), so a
trigger needs no other change: a triggered policy is packed with its start column at +inf (off), and the row
this stage writes is the run's own (economy.engine copies the packed rows per batch).  A trigger that never fires
leaves the run bitwise equal to the run without the policy.  Serial per run; the plain-Python twin is
tests/reference/naive_triggers.py.
"""

import math

import numpy as np

from economy.kernels.config import jit, kernel, kernel_inline
from economy.kernels.events import push_event
from economy.kernels.layout import (
    EVENT_POLICY_OFF,
    EVENT_POLICY_ON,
    M_CATASTROPHE,
    M_FRONTIER_LOG10_EFF_COMPUTE,
    M_HHI,
    M_INCIDENTS,
    M_TOP1_SHARE,
    N_POLICY_KINDS,
    N_TRIGGER_OBSERVABLES,
    P_SIM_DT,
    P_SIM_START_YEAR,
    POLICY_END_COLUMNS,
    POLICY_START_COLUMNS,
    POLICY_TRIGGER_COLUMNS,
    T_DIRECTION,
    T_FOR_YEARS,
    T_FROM_YEAR,
    T_LAG_YEARS,
    T_MIN_DURATION_YEARS,
    T_OBSERVE,
    T_THRESHOLD,
    TRIGGER_OBSERVE_CATASTROPHE,
    TRIGGER_OBSERVE_FRONTIER_LOG10_EFF_COMPUTE,
    TRIGGER_OBSERVE_HHI,
    TRIGGER_OBSERVE_INCIDENTS,
    TRIGGER_OBSERVE_LEADER_SHARE,
)

__all__ = ["SINCE", "SWITCHED_ON", "TOLERANCE_YEARS", "lag_steps", "observation_slots", "observe", "trigger_run"]

TOLERANCE_YEARS = 1e-9
"""Durations (``for_years``, ``min_duration_years``) are met within this many years (float rounding of dt)."""
SINCE, SWITCHED_ON = 0, 1
"""``world.trigger_state[run, kind, :]``: the observed record that started the condition's current run (-1: it
does not hold) and the record at which the lever switched on (-1: off)."""


def observation_slots(par: np.ndarray) -> int:
    """The length of the observation ring a batch needs: its longest trigger lag in steps, plus one (at least 2)."""
    longest = 0
    for row in par:
        for k in range(N_POLICY_KINDS):
            t = POLICY_TRIGGER_COLUMNS[k]
            if row[t + T_OBSERVE] != 0.0:
                longest = max(longest, lag_steps(row[t + T_LAG_YEARS], row[P_SIM_DT]))
    return max(2, longest + 1)


@jit
def lag_steps(lag_years, dt):
    """The observation lag in whole steps (rounded half up)."""
    return math.floor(lag_years / dt + 0.5)


@kernel
def _defined(x):
    """A recorded value as observed: an undefined one (no served model has no frontier) is observed as 0."""
    return x if math.isfinite(x) else 0.0


@kernel
def observe(world, b, s, rec_row):
    """Write record ``s`` of run b (its ``rec`` row) into the run's observation ring (undefined values as 0)."""
    ring = world.trigger_observed[b]
    slot = s % ring.shape[0]
    before = ring[(s - 1) % ring.shape[0], TRIGGER_OBSERVE_INCIDENTS - 1] if s > 0 else 0.0
    ring[slot, TRIGGER_OBSERVE_HHI - 1] = _defined(rec_row[M_HHI])
    ring[slot, TRIGGER_OBSERVE_LEADER_SHARE - 1] = _defined(rec_row[M_TOP1_SHARE])
    ring[slot, TRIGGER_OBSERVE_FRONTIER_LOG10_EFF_COMPUTE - 1] = _defined(rec_row[M_FRONTIER_LOG10_EFF_COMPUTE])
    ring[slot, TRIGGER_OBSERVE_INCIDENTS - 1] = before + (rec_row[M_INCIDENTS] if s > 0 else 0.0)
    ring[slot, TRIGGER_OBSERVE_CATASTROPHE - 1] = rec_row[M_CATASTROPHE] if s > 0 else 0.0


@kernel_inline
def trigger_run(world, par, b, s, year, rec_row):
    """Triggers of run b after its record ``s`` (``s`` steps done, the record made at ``year``): observe, then
    switch each triggered policy's lever on or off (see the module docs)."""
    observe(world, b, s, rec_row)
    p = par[b]
    dt = p[P_SIM_DT]
    next_start = p[P_SIM_START_YEAR] + s * dt  # the next step's start year, as economy.kernels.step computes it
    ring = world.trigger_observed[b]
    for k in range(N_POLICY_KINDS):
        t = POLICY_TRIGGER_COLUMNS[k]
        code = int(p[t + T_OBSERVE])
        if code == 0 or code > N_TRIGGER_OBSERVABLES:
            continue
        o = s - lag_steps(p[t + T_LAG_YEARS], dt)
        holds = False
        if o >= 0:
            value = ring[o % ring.shape[0], code - 1]
            threshold = p[t + T_THRESHOLD]
            holds = value > threshold if p[t + T_DIRECTION] > 0.0 else value < threshold
        state = world.trigger_state[b, k]
        if not holds:
            state[SINCE] = -1.0
        elif state[SINCE] < 0.0:
            state[SINCE] = o
        if s == 0:  # the starting state is observed; the first decision follows the first step
            continue
        if state[SWITCHED_ON] < 0.0:
            if (holds and (o - state[SINCE]) * dt >= p[t + T_FOR_YEARS] - TOLERANCE_YEARS
                    and p[t + T_FROM_YEAR] <= next_start < p[POLICY_END_COLUMNS[k]]):
                p[POLICY_START_COLUMNS[k]] = next_start
                state[SWITCHED_ON] = s
                push_event(world, b, year, -1, EVENT_POLICY_ON, -1, k)
        elif not holds and (s - state[SWITCHED_ON]) * dt >= p[t + T_MIN_DURATION_YEARS] - TOLERANCE_YEARS:
            p[POLICY_START_COLUMNS[k]] = math.inf
            state[SWITCHED_ON] = -1.0
            push_event(world, b, year, -1, EVENT_POLICY_OFF, -1, k)
