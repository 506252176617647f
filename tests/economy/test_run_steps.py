"""A batch that draws in compiled code steps to its horizon in one compiled call (economy.kernels.step.run_steps):
the same numbers, events, lab records and lab names as each of its runs stepped alone one step at a time from
Python; the founding record it names the labs from matches its plain twin (tests/reference/naive_step.py); and a
founding that the events do not account for fails the run (docs/architecture.md, "The engine")."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import deep_merge, load_baseline_dict
from reference import naive_step

from economy.engine import COMPILED_DRAWS_FROM, PROGRESS_EVERY, Simulation
from economy.kernels import layout as L
from economy.kernels.step import FOUNDED_BY_ENTRY, FOUNDED_TWICE, NOT_FOUNDED, note_founders
from economy.params import Scenario

RUNS = COMPILED_DRAWS_FROM


def _scenario(years: float) -> Scenario:
    """Busy agents and a break-up policy: entrants and break-up parts to name, events in most steps."""
    data = deep_merge(load_baseline_dict(), {
        "sim": {"years": years},
        "entry": {"rate_per_year": 6.0},
        "acquisitions": {"rate_per_year": 4.0, "max_target_share": 0.05},
        "incidents": {"hazard_per_drift": 1.0},
        "output": {"labs_every": 5},
    })
    data["policies"] = [{"kind": "breakup", "start_year": 2025.5, "max_share": 0.2}]
    return Scenario.model_validate(data)


@pytest.fixture(scope="module")
def batch_and_alone() -> tuple[Simulation, list[Simulation], list[int]]:
    sc = _scenario(years=3.0)
    seeds = list(range(40, 40 + RUNS))
    calls: list[int] = []
    batch = Simulation(sc, seeds).run(progress=calls.append)
    picked = (0, RUNS // 2, RUNS - 1)
    alone = [Simulation(sc, [seeds[b]]).run() for b in picked]
    return batch, alone, calls


def test_the_batch_stepped_in_one_call_equals_each_run_stepped_alone(batch_and_alone) -> None:
    batch, alone, _ = batch_and_alone
    assert batch._compiled_draws is not None and all(sim._compiled_draws is None for sim in alone)
    for b, sim in zip((0, RUNS // 2, RUNS - 1), alone, strict=True):
        np.testing.assert_array_equal(batch.market[:, b, :], sim.market[:, 0, :], err_msg=f"run {b}")
        assert batch.names[b] == sim.names[0]
        a, c = batch.events_frame(b), sim.events_frame(0)
        assert len(a) > 0
        assert a.equals(c), f"run {b}"
        assert batch.labs_frame(b).equals(sim.labs_frame(0)), f"run {b}"


def test_the_batch_founds_entrants_and_break_up_parts_and_names_them(batch_and_alone) -> None:
    batch, _, _ = batch_and_alone
    names = [name for run in batch.names for name in run]
    assert any("-entrant-" in name for name in names)
    assert any("-part-" in name for name in names)
    for b, run in enumerate(batch.names):
        assert len(run) == int(batch.world.n_used[b]) == len(set(run))


def test_progress_is_reported_every_few_steps_up_to_the_horizon(batch_and_alone) -> None:
    batch, _, calls = batch_and_alone
    assert calls[-1] == batch.n_steps == 36
    assert calls == sorted(set(calls))
    assert max(np.diff([0, *calls])) <= PROGRESS_EVERY
    assert len(calls) < batch.n_steps  # not after every step
    # the lab table's steps (labs_every = 5) are stops of their own
    assert {k for k, _ in batch.lab_records} == {0, *range(5, 36, 5), 36}


def test_step_by_step_equals_the_whole_horizon_at_once() -> None:
    sc = _scenario(years=1.0)
    seeds = list(range(3, 3 + RUNS))
    whole = Simulation(sc, seeds, record_labs=False, keep_events=False).run()
    stepped = Simulation(sc, seeds, record_labs=False, keep_events=False)
    for _ in range(stepped.n_steps):
        stepped.step()
    np.testing.assert_array_equal(whole.market, stepped.market)
    assert whole.names == stepped.names
    with pytest.raises(RuntimeError, match="horizon"):
        stepped.step()


def _random_events(rng: np.random.Generator, runs: int, slots: int, capacity: int) -> tuple[np.ndarray, np.ndarray]:
    n_events = rng.integers(0, slots + 1, runs)
    events = np.zeros((runs, slots, L.EVENT_FIELDS))
    events[:, :, L.EV_KIND] = rng.choice([L.EVENT_ENTRY, L.EVENT_BREAKUP, L.EVENT_EXIT, L.EVENT_INCIDENT],
                                         (runs, slots))
    events[:, :, L.EV_LAB] = rng.integers(0, capacity, (runs, slots))
    events[:, :, L.EV_OTHER] = rng.integers(-1, capacity, (runs, slots))
    events[:, :, L.EV_YEAR] = 2030.0
    return n_events, events


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_note_founders_matches_its_twin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sim = Simulation(_scenario(years=0.25), [0])
    runs, capacity = 6, 10
    world = sim.world._replace(n_events=None, events=None)
    founders = np.full((runs, capacity), NOT_FOUNDED, np.int64)
    twin = founders.copy()
    for _ in range(4):  # several steps on the same record: a column founded again is marked
        n_events, events = _random_events(rng, runs, 5, capacity)
        note_founders(world._replace(n_events=n_events, events=events), founders)
        naive_step.note_founders(n_events, events, twin)
    np.testing.assert_array_equal(founders, twin)
    assert {FOUNDED_BY_ENTRY, FOUNDED_TWICE} <= set(founders.ravel().tolist())
    assert (founders >= 0).any()


def test_a_founding_the_events_do_not_account_for_fails_the_run() -> None:
    sim = Simulation(_scenario(years=0.25), [0], record_labs=False)
    sim.step()
    n = int(sim.world.n_used[0])
    sim.world.n_used[0] = n + 1  # a column in use that no event founded
    with pytest.raises(RuntimeError, match=f"lab column {n} is in use, but its founding is missing"):
        _ = sim.names
    sim.world.n_used[0] = n
    sim._founders[0, n + 2] = FOUNDED_BY_ENTRY  # an event founded a column beyond those in use
    with pytest.raises(RuntimeError, match=f"founded lab column {n + 2}, beyond the {n} columns in use"):
        _ = sim.names
