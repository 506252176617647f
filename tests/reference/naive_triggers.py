"""Plain-Python twins of the trigger kernels (economy/kernels/triggers.py), written from docs/policies.md.

Two twins, sharing no code with the kernel or with each other:

- :func:`switch_records` reads a whole observed series and decides at each record by looking back over the
  window the trigger needs (no running state): the records at which a lever switches on and off;
- :func:`observe` and :func:`trigger_step` work step by step on a run's dict (as tests/reference/naive_stages.py
  holds a run), reading the policies' columns by their names in ``PARAM_NAMES``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from economy.kernels import layout as L
from economy.params import POLICY_KINDS, TRIGGER_OBSERVABLES

TOLERANCE = 1e-9
"""Years: the kernels' tolerance on durations."""


def _holds(value: float, above: bool, threshold: float) -> bool:
    if math.isnan(value):  # an undefined record (no served model: no frontier) is observed as 0
        value = 0.0
    return value > threshold if above else value < threshold


def switch_records(values: Sequence[float], *, above: bool, threshold: float, for_years: float, lag_years: float,
                   min_duration_years: float, from_year: float, end_year: float, dt: float,
                   start_year: float) -> list[tuple[str, int]]:
    """``[("on" | "off", s), ...]``: the records ``s`` (steps done) after which the lever switches, from the
    observable's value at every record ``values[0..n]`` (record 0: the starting state)."""
    lag = math.floor(lag_years / dt + 0.5)
    out: list[tuple[str, int]] = []
    on_at = None
    for s in range(1, len(values)):
        o = s - lag
        holds = o >= 0 and _holds(values[o], above, threshold)
        if on_at is None:
            if not holds:
                continue
            # the condition held on every observed record from o - m to o, m * dt >= for_years
            first = o
            while first - 1 >= 0 and _holds(values[first - 1], above, threshold):
                first -= 1
            next_start = start_year + s * dt
            if (o - first) * dt >= for_years - TOLERANCE and from_year <= next_start < end_year:
                out.append(("on", s))
                on_at = s
        elif not holds and (s - on_at) * dt >= min_duration_years - TOLERANCE:
            out.append(("off", s))
            on_at = None
    return out


def observe(run: dict, s: int, rec: list) -> None:
    """Twin of ``observe``: record ``s``'s observables into ``run["trigger_observed"]`` (a list of rows)."""
    ring = run["trigger_observed"]
    codes = {name: o.code for name, o in TRIGGER_OBSERVABLES.items()}
    row = ring[s % len(ring)]
    before = ring[(s - 1) % len(ring)][codes["incidents"] - 1] if s > 0 else 0.0
    defined = [value if math.isfinite(value) else 0.0  # no served model: no frontier, observed as 0
               for value in (rec[L.M_HHI], rec[L.M_TOP1_SHARE], rec[L.M_FRONTIER_LOG10_EFF_COMPUTE])]
    row[codes["hhi"] - 1], row[codes["leader_share"] - 1], row[codes["frontier_log10_eff_compute"] - 1] = defined
    row[codes["incidents"] - 1] = before + rec[L.M_INCIDENTS] if s > 0 else 0.0
    row[codes["catastrophe"] - 1] = rec[L.M_CATASTROPHE] if s > 0 else 0.0


def trigger_step(run: dict, p: dict, s: int, year: float, rec: list) -> list[tuple[str, int]]:
    """Twin of ``trigger_run`` on a run's dict and its parameters by name (``p``, written in place: the start
    column of a policy whose lever switches); returns ``[(event kind, policy kind index), ...]``."""
    observe(run, s, rec)
    ring = run["trigger_observed"]
    dt = p["sim_dt"]
    next_start = p["sim_start_year"] + s * dt
    events = []
    for k, kind in enumerate(POLICY_KINDS):
        code = int(p[f"{kind}_trigger_observe"])
        if code == 0:
            continue
        o = s - math.floor(p[f"{kind}_trigger_lag_years"] / dt + 0.5)
        holds = o >= 0 and _holds(ring[o % len(ring)][code - 1], p[f"{kind}_trigger_direction"] > 0,
                                  p[f"{kind}_trigger_threshold"])
        since, on = run["trigger_state"][k]
        since = (o if since < 0 else since) if holds else -1.0
        if s == 0:
            run["trigger_state"][k] = [float(since), float(on)]
            continue
        if on < 0:
            if (holds and (o - since) * dt >= p[f"{kind}_trigger_for_years"] - TOLERANCE
                    and p[f"{kind}_trigger_from_year"] <= next_start < p[f"{kind}_end_year"]):
                p[f"{kind}_start_year"] = next_start
                on = s
                events.append(("policy_on", k))
        elif not holds and (s - on) * dt >= p[f"{kind}_trigger_min_duration_years"] - TOLERANCE:
            p[f"{kind}_start_year"] = math.inf
            on = -1.0
            events.append(("policy_off", k))
        run["trigger_state"][k] = [float(since), float(on)]
    return events
