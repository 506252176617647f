"""Plain-Python twin of the step loop's founding record (economy/kernels/step.py ``note_founders``), written from
its docstring: who founded each lab column, read from one step's events.

It takes and modifies the same numpy arrays, element by element, with no shared code: tests/economy/test_run_steps.py
runs kernel and twin on copies of one event buffer and compares.
"""

from __future__ import annotations

from economy.kernels import layout as L

NOT_FOUNDED, ENTRY, TWICE = -2, -1, -3


def note_founders(n_events, events, founders) -> None:
    """``founders[b, i]``: -1 when an entry event of run b founded column i, the parent's column when a break-up
    event did, -3 when a second event founded it again; other columns keep their value."""
    for b in range(len(n_events)):
        for row in events[b][: int(n_events[b])]:
            kind = int(row[L.EV_KIND])
            if kind not in (L.EVENT_ENTRY, L.EVENT_BREAKUP):
                continue
            i = int(row[L.EV_LAB])
            if founders[b][i] != NOT_FOUNDED:
                founders[b][i] = TWICE
            else:
                founders[b][i] = ENTRY if kind == L.EVENT_ENTRY else int(row[L.EV_OTHER])
