"""Triggers (economy/kernels/triggers.py, docs/policies.md "Triggers"): a lever switched on by what a regulator
observes, with a lag, a holding time and a minimum duration.

The kernel is held against two twins (tests/reference/naive_triggers.py) on random and hand-picked series; a
whole run shows the lever switching on exactly when the recorded HHI says so, and a trigger that never fires
leaves the run bitwise equal to the run without the policy.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import kernel_entries as entries
import numpy as np
import pytest
from conftest import BASELINE_PATH, load_baseline_dict
from reference import naive_triggers as naive
from reference.naive_stages import _par_dict

from economy.engine import Simulation
from economy.kernels import layout as L
from economy.params import POLICY_KINDS, Scenario, ScenarioError, load_scenario, pack_parameters, validate_scenario
from economy.state import allocate_world

SEEDS = [0, 1]
TAX = {"kind": "compute_tax", "start_year": 2025.0, "rate": 0.5}


def _scenario(*policies: dict[str, Any], years: float = 8.0) -> Scenario:
    data = load_baseline_dict()
    data["sim"]["years"] = years
    data["policies"] = list(policies)
    return Scenario.model_validate(data)


def _run(scenario: Scenario) -> Simulation:
    return Simulation(scenario, SEEDS, record_labs=False).run()


def _events(sim: Simulation, run: int, kind: str) -> list[float]:
    frame = sim.events_frame(run)
    return frame.loc[frame["kind"] == kind, "year"].tolist()


# ---------------------------------------------------------------------------------------------- whole runs
@pytest.mark.slow
def test_an_hhi_trigger_fires_after_the_lag_once_the_hhi_held_above_its_level_and_never_before():
    free = _run(_scenario())
    trigger = {"observe": "hhi", "for_years": 1.0, "lag_years": 0.5, "min_duration_years": 2.0}
    dt = free.scenario.sim.dt
    for b in range(len(SEEDS)):
        hhi = free.market[:, b, L.M_HHI]
        level = float(np.quantile(hhi[1:], 0.4))
        expected = naive.switch_records(hhi.tolist(), above=True, threshold=level, for_years=1.0, lag_years=0.5,
                                        min_duration_years=2.0, from_year=2025.0, end_year=math.inf, dt=dt,
                                        start_year=2025.0)
        assert expected and expected[0][0] == "on", "the level must be crossed for the test to mean anything"
        s = expected[0][1]
        lagged = s - round(0.5 / dt)
        held = hhi[lagged - round(1.0 / dt):lagged + 1]
        assert (held > level).all() and not (hhi[lagged - round(1.0 / dt) - 1] > level and lagged > 12)
        sim = Simulation(_scenario({**TAX, "trigger": {**trigger, "above": level}}), [SEEDS[b]],
                         record_labs=False).run()
        assert _events(sim, 0, "policy_on")[0] == pytest.approx(free.market[s, b, L.M_YEAR], abs=1e-9)
        # before it switched on, the run is the run without the tax, bit for bit; after, the tax acts
        np.testing.assert_array_equal(sim.market[:s + 1, 0], free.market[:s + 1, b])
        assert sim.market[s + 1, 0, L.M_TAX_REVENUE] > 0.0
        assert (sim.market[:s + 1, 0, L.M_TAX_REVENUE] == 0.0).all()


@pytest.mark.slow
@pytest.mark.parametrize("policy", [
    TAX,
    {"kind": "compute_cap", "start_year": 2025.0, "max_training_flop": 1e27},
    {"kind": "breakup", "start_year": 2025.0, "max_share": 0.1},
    {"kind": "safety_standard", "start_year": 2025.0, "min_safety": 0.5, "liability": 3.0},
    {"kind": "export_controls", "start_year": 2025.0, "restricted_blocs": [1, 2], "cut_spillover": False},
], ids=lambda p: p["kind"])
def test_a_trigger_whose_condition_is_never_met_leaves_the_run_bitwise_equal(policy: dict[str, Any]):
    free = _run(_scenario(years=4.0))
    never = {"observe": "hhi", "above": 10_000.0}
    held = _run(_scenario({**policy, "trigger": never}, years=4.0))
    np.testing.assert_array_equal(held.market, free.market)
    for b in range(len(SEEDS)):
        assert held.events_frame(b).equals(free.events_frame(b))
        assert held.summary(b) == free.summary(b)


@pytest.mark.slow
def test_the_lever_switches_off_after_its_minimum_duration_when_the_condition_fails():
    # "frontier below a level it passes in the second year" holds at the start: on after the first step; off at
    # the first record at least min_duration_years later at which the recorded frontier is not below the level
    free = _run(_scenario(years=6.0))
    for b in range(len(SEEDS)):
        level = float(free.market[round(1.5 * 12), b, L.M_FRONTIER_LOG10_EFF_COMPUTE])
        trigger = {"observe": "frontier_log10_eff_compute", "below": level, "min_duration_years": 1.5}
        sim = Simulation(_scenario({**TAX, "trigger": trigger}, years=6.0), [SEEDS[b]], record_labs=False).run()
        frontier = sim.market[:, 0, L.M_FRONTIER_LOG10_EFF_COMPUTE]
        on, off = _events(sim, 0, "policy_on"), _events(sim, 0, "policy_off")
        assert on and on[0] == pytest.approx(2025.0 + 1 / 12)
        failing = np.flatnonzero(~(frontier < level))
        failing = failing[failing >= 1 + round(1.5 * 12)]
        assert failing.size, "the taxed frontier must pass the level within the horizon for the test to mean anything"
        want_off = int(failing[0])
        assert off and off[0] == pytest.approx(sim.market[want_off, 0, L.M_YEAR])
        paid = sim.market[:, 0, L.M_TAX_REVENUE] > 0.0
        assert paid[2:want_off + 1].all() and not paid[want_off + 1]


# ---------------------------------------------------------------------------------------------- the kernel
def _kernel_switches(values: np.ndarray, trigger: dict[str, Any], *, start: float = 2025.0, end: float | None = None,
                     dt: float = 1 / 12) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Feed ``values`` as the recorded HHI to the kernel and to the step twin; both as (kind, record) lists."""
    policy = {**TAX, "start_year": start, "trigger": trigger, **({"end_year": end} if end else {})}
    scenario = _scenario(policy)
    par = pack_parameters(scenario)[None, :].copy()
    par[0, L.P_SIM_DT] = dt
    slots = max(2, round(trigger.get("lag_years", 0.0) / dt) + 1)
    world = allocate_world(1, 2, 4, slots)
    run = {"trigger_observed": [[0.0] * L.N_TRIGGER_OBSERVABLES for _ in range(slots)],
           "trigger_state": [[-1.0, -1.0] for _ in L.POLICY_KINDS]}
    p = _par_dict(par, 0)
    kernel, twin = [], []
    for s, value in enumerate(values):
        rec = np.zeros(L.N_MARKET)
        rec[L.M_HHI] = value
        world.n_events[0] = 0
        entries.trigger_run(world, par, 0, s, 2025.0 + s * dt, rec)
        kinds = world.events[0, :world.n_events[0], L.EV_KIND].astype(int)
        kernel += [(L.EVENT_KINDS[k].removeprefix("policy_"), s) for k in kinds]
        twin += [(kind.removeprefix("policy_"), s) for kind, k in naive.trigger_step(run, p, s, 0.0, rec.tolist())]
        assert par[0, L.P_COMPUTE_TAX_START_YEAR] == p["compute_tax_start_year"]
    return kernel, twin


CASES = {
    "plain": {"observe": "hhi", "above": 2500.0},
    "held-and-lagged": {"observe": "hhi", "above": 2500.0, "for_years": 0.5, "lag_years": 0.25},
    "minimum-duration": {"observe": "hhi", "above": 2500.0, "min_duration_years": 1.0},
    "below": {"observe": "hhi", "below": 2000.0, "for_years": 0.25},
    "long-lag": {"observe": "hhi", "above": 2500.0, "lag_years": 10.0},
    "all": {"observe": "hhi", "above": 2200.0, "for_years": 1.0, "lag_years": 0.5, "min_duration_years": 2.0},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_trigger_kernel_matches_both_twins_on_random_series(case: str, seed: int):
    gen = np.random.default_rng(seed)
    values = 2500.0 + np.cumsum(gen.normal(0.0, 150.0, 60))  # a random walk around the level
    values[gen.random(60) < 0.05] = np.nan  # an undefined record is observed as 0 (below holds, above does not)
    trigger = CASES[case]
    kernel, twin = _kernel_switches(values, trigger)
    direction = trigger.get("above") is not None
    want = naive.switch_records(values.tolist(), above=direction, threshold=trigger.get("above", trigger.get("below")),
                                for_years=trigger.get("for_years", 0.0), lag_years=trigger.get("lag_years", 0.0),
                                min_duration_years=trigger.get("min_duration_years", 0.0), from_year=2025.0,
                                end_year=math.inf, dt=1 / 12, start_year=2025.0)
    assert kernel == want == twin


def test_a_trigger_switches_only_inside_the_declared_window():
    values = np.full(40, 3000.0)  # the condition holds from the start
    kernel, twin = _kernel_switches(values, {"observe": "hhi", "above": 2500.0}, start=2026.0, end=2027.0)
    assert kernel == twin == [("on", 12)]  # the first step starting in 2026; never again after it ended
    kernel, _ = _kernel_switches(values, {"observe": "hhi", "above": 2500.0, "for_years": 0.5})
    assert kernel == [("on", 6)]  # held from record 0 (the starting state) for half a year


def test_a_lag_beyond_the_horizon_never_fires():
    kernel, twin = _kernel_switches(np.full(30, 5000.0), {"observe": "hhi", "above": 2500.0, "lag_years": 5.0})
    assert kernel == twin == []


# ---------------------------------------------------------------------------------------------- the schema
@pytest.mark.parametrize(("trigger", "needle"), [
    ({"observe": "hhi"}, "give exactly one of"),
    ({"observe": "hhi", "above": 1.0, "below": 2.0}, "given: above, below"),
    ({"observe": "leader_share", "above": 1.5}, "out of range for leader_share"),
    ({"observe": "hhi", "above": 100.0, "lag_years": 11.0}, "lag_years"),
    ({"observe": "price", "above": 1.0}, "observe"),
])
def test_a_bad_trigger_is_refused_naming_the_key(trigger: dict[str, Any], needle: str):
    data = copy.deepcopy(load_baseline_dict())
    data["policies"] = [{**TAX, "trigger": trigger}]
    with pytest.raises(ScenarioError, match=r"policies\.0\.trigger") as err:
        validate_scenario(data)
    assert needle in str(err.value)


def test_a_triggered_export_control_must_leave_spillover_alone():
    data = copy.deepcopy(load_baseline_dict())
    data["policies"] = [{"kind": "export_controls", "start_year": 2026.0, "restricted_blocs": [1],
                         "trigger": {"observe": "hhi", "above": 3000.0}}]
    with pytest.raises(ScenarioError, match="cut_spillover = false"):
        validate_scenario(data)


def test_trigger_keys_are_reachable_by_name_with_set(tmp_path):
    path = tmp_path / "scenario.toml"
    path.write_text(BASELINE_PATH.read_text() + (
        '\n[[policies]]\nkind = "compute_tax"\nstart_year = 2026.0\nrate = 0.5\n'
        '[policies.trigger]\nobserve = "hhi"\nabove = 2500.0\nfor_years = 1.0\nlag_years = 0.5\n'))
    scenario, _ = load_scenario(path, ["policies.compute_tax.trigger.above=3100", "policies.compute_tax.rate=0.2"])
    (policy,) = scenario.policies
    assert policy.trigger.above == 3100.0 and policy.rate == 0.2
    row = pack_parameters(scenario)
    k = POLICY_KINDS.index("compute_tax")
    assert row[L.POLICY_TRIGGER_COLUMNS[k] + L.T_THRESHOLD] == 3100.0
    assert row[L.POLICY_START_COLUMNS[k]] == math.inf  # off until the trigger fires
    assert row[L.POLICY_TRIGGER_COLUMNS[k] + L.T_FROM_YEAR] == 2026.0
    with pytest.raises(ScenarioError, match=r"`?policies\.compute_tax\.trigger\.above`? = 20000 is out of range"):
        load_scenario(path, ["policies.compute_tax.trigger.above=20000"])

