"""The per-run event buffer: entries, exits, acquisitions, incidents, catastrophes and strategy changes.

Events are variable in number, so each run has a fixed-size buffer ``world.events[run, slot, :]`` (columns
``layout.EV_*``: year, lab, kind code, other lab, value) and a counter ``world.n_events[run]``, both reset at the
start of every step; the engine drains the buffer after each step (``economy.engine.Simulation``), so memory
stays bounded per step.  Only serial per-run loops push events, in stage order and lab order, so the order of
events never depends on the thread count.  Events that do not fit are counted in ``world.events_dropped``.
"""

from economy.kernels.config import kernel
from economy.kernels.layout import EV_KIND, EV_LAB, EV_OTHER, EV_VALUE, EV_YEAR

__all__ = ["push_event", "reset_events"]


@kernel
def reset_events(world, b):
    """Empty run b's buffer at the start of a step."""
    world.n_events[b] = 0
    world.events_dropped[b] = 0


@kernel
def push_event(world, b, year, lab, kind, other, value):
    """Append one event to run b's buffer (or count it as dropped when the buffer is full)."""
    k = world.n_events[b]
    events = world.events
    if k >= events.shape[1]:
        world.events_dropped[b] += 1
        return
    events[b, k, EV_YEAR] = year
    events[b, k, EV_LAB] = lab
    events[b, k, EV_KIND] = kind
    events[b, k, EV_OTHER] = other
    events[b, k, EV_VALUE] = value
    world.n_events[b] = k + 1
