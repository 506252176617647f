"""The compliance layer and the regulator (economy/kernels/compliance.py; docs/policies.md, "Compliance and the
regulator"): the kernel against its plain-Python twin (tests/reference/naive_compliance.py) on random, hand-picked
and adversarial states; deterrence exactly at the boundary gain = P x penalty; perfect detection with an
overwhelming penalty, and evasion off, reproduce full compliance bit for bit; monotonicity under common random
numbers (a larger audit budget or fine never raises mean evasion, a higher propensity never lowers it)."""

from __future__ import annotations

import itertools
import math

import kernel_entries as entries
import numpy as np
import pytest
from conftest import deep_merge, load_baseline_dict
from reference import naive_compliance
from twin_checks import assert_close, copy_labs, copy_world

from economy.archetypes import KIND_NAMES
from economy.engine import Simulation
from economy.kernels import layout as L
from economy.kernels.step import begin_step
from economy.market_record import COMPLIANCE_COLUMNS
from economy.params import Scenario
from economy.state import allocate_draws

POLICIES = (
    {"kind": "compute_cap", "start_year": 2025.0, "max_training_flop": 3e26},
    {"kind": "export_controls", "start_year": 2025.0, "restricted_blocs": [1]},
    {"kind": "safety_standard", "start_year": 2025.0, "min_safety": 0.2},
    {"kind": "windfall_tax", "start_year": 2025.0, "rate": 0.5, "threshold_usd_per_year": 1e8},
)
"""Every rule labs can evade, binding from the start (the baseline's State I is bloc 1)."""
COMPARED = ("evasion", "evasion_gain_usd", "detection_probability", "suspicion", "ban_until_year", "caught",
            "cash_usd", "compute_flop_per_year")


def scenario(years: float = 2.0, policies=POLICIES, **enforcement) -> Scenario:
    data = deep_merge(load_baseline_dict(), {"sim": {"years": years}})
    data["policies"] = [dict(p) for p in policies]
    data["enforcement"] = {"evasion": True, **enforcement}
    return Scenario.model_validate(data)


def check_against_twin(sim: Simulation, uniforms: np.ndarray, where: str) -> None:
    """The compliance stage on the live state and its twin on a copy; every compared array and the record."""
    labs, world = copy_labs(sim.labs), copy_world(sim.world)
    want = [naive_compliance.compliance(labs, world, sim.par, uniforms, b, sim.work.start_year[b],
                                        sim.work.end_year[b]) for b in range(labs.alive.shape[0])]
    draws = allocate_draws(*sim.labs.alive.shape)
    draws.compliance[:] = uniforms
    rec = np.zeros((labs.alive.shape[0], L.N_MARKET))
    entries.compliance_stage(sim.labs, sim.world, sim.par, draws, sim.work, rec)
    for name in COMPARED:
        got, expected = getattr(sim.labs, name), getattr(labs, name)
        if name == "caught":
            np.testing.assert_array_equal(got, expected, err_msg=f"{where}: labs.{name}")
        else:
            assert_close(got, expected, f"{where}: labs.{name}", 1.0 if name == "suspicion" else 0.0)
    for b, values in enumerate(want):
        for name in COMPLIANCE_COLUMNS:
            assert_close(rec[b:b + 1, getattr(L, f"M_{name.upper()}")], np.array([values[name]]),
                         f"{where}: run {b} record {name}", 1.0 if name == "mean_suspicion" else 0.0)
    np.testing.assert_array_equal(sim.world.n_events, world.n_events)
    for b in range(labs.alive.shape[0]):
        k = int(world.n_events[b])
        assert_close(sim.world.events[b, :k], world.events[b, :k], f"{where}: run {b} events", 0.0)


def scramble(sim: Simulation, gen: np.random.Generator) -> None:
    """Random states within the valid ranges: suspicion, bans, cash, profits, kinds, training runs."""
    labs = sim.labs
    shape = labs.alive.shape
    labs.suspicion[:] = gen.normal(0.0, 4.0, shape)
    labs.ban_until_year[:] = np.where(gen.random(shape) < 0.2, sim.work.start_year[:, None] + 0.5, 0.0)
    labs.cash_usd[:] *= gen.uniform(0.0, 3.0, shape)
    labs.cash_usd[:, 0] = np.where(gen.random(shape[0]) < 0.3, -1e8, labs.cash_usd[:, 0])
    labs.profit_usd_per_year[:] = gen.uniform(-1e9, 5e10, shape)
    labs.kind[:] = gen.integers(0, len(KIND_NAMES), shape)
    labs.run_flop[:] = gen.uniform(0.0, 6e26, shape)


CASES = {
    "defaults": {},
    "busy regulator": {"audit_budget_usd_per_year": 5e9, "whistleblower_rate_per_year": 3.0,
                       "accounting_signal_rate_per_year": 20.0, "energy_false_alarm_rate_per_year": 5.0},
    "certain audits": {"audit_budget_usd_per_year": 1e12, "audit_cost_usd": 1e6, "audit_detection_probability": 1.0},
    "no budget, no fine": {"audit_budget_usd_per_year": 0.0, "fine_usd": 0.0, "fine_turnover_fraction": 0.0,
                           "seizure_fraction": 0.0, "ban_years": 0.0},
    "extreme prior": {"prior_evasion_probability": 0.999, "suspicion_memory_years": 0.01,
                      "accounting_signal_rate_per_year": 0.0},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_kernel_equals_its_twin_on_random_states(case: str) -> None:
    sim = Simulation(scenario(**CASES[case]), [1, 2, 3])
    gen = np.random.default_rng(7)
    for k in range(6):
        begin_step(sim.world, sim.par, sim.work)
        if k % 2:
            scramble(sim, gen)
        check_against_twin(sim, gen.random((*sim.labs.alive.shape, L.COMPLIANCE_DRAWS)), f"{case}, state {k}")
        sim.step()


def test_the_kernel_equals_its_twin_with_one_lab_and_with_none() -> None:
    sim = Simulation(scenario(audit_budget_usd_per_year=1e10), [4, 5])
    gen = np.random.default_rng(3)
    sim.labs.alive[0, 1:] = False  # run 0: one lab
    sim.labs.alive[1, :] = False  # run 1: none
    for k in range(3):
        begin_step(sim.world, sim.par, sim.work)
        check_against_twin(sim, gen.random((*sim.labs.alive.shape, L.COMPLIANCE_DRAWS)), f"one lab, state {k}")
    assert not sim.labs.evasion[1].any()


# ---------------------------------------------------------------------------------------------- deterrence
@pytest.mark.parametrize("policy", POLICIES, ids=[p["kind"] for p in POLICIES])
@pytest.mark.parametrize("side", [-1, 1])
def test_a_lab_evades_exactly_when_its_gain_beats_the_expected_penalty(policy: dict, side: int) -> None:
    """One lab, one rule; detection only by whistle-blowers (P = 1 - exp(-r dt)), a fixed fine F: the lab evades
    when rho G > P F and complies when rho G < P F, a relative hair either side of the boundary."""
    sim = Simulation(scenario(policies=(policy,), audit_budget_usd_per_year=0.0, whistleblower_rate_per_year=0.5,
                              fine_turnover_fraction=0.0, seizure_fraction=0.0, ban_years=0.0), [9])
    sim.labs.alive[0, 1:] = False
    lab = 8 if policy["kind"] == "export_controls" else 0  # State I (bloc 1) for the export controls
    sim.labs.alive[0, :] = False
    sim.labs.alive[0, lab] = True
    sim.labs.profit_usd_per_year[0, lab] = 4e9
    sim.labs.run_flop[0, lab] = 2.9e26
    sim.labs.safety_base[0, lab] = 0.05
    begin_step(sim.world, sim.par, sim.work)
    year = sim.work.start_year[0]
    p = sim.par[0]
    rho = p[L.P_ARCHETYPES + int(sim.labs.kind[0, lab]) * L.N_ARCH_FIELDS + L.A_EVASION_PROPENSITY]
    gain = rho * naive_compliance.gain_usd(sim.labs, p, 0, lab, year, sim.world.price[0], sim.world.demand[0])
    assert gain > 0.0, "the rule must bind the lab"
    detection = 1.0 - math.exp(-0.5 * p[L.P_SIM_DT])
    sim.par[0, L.P_ENFORCEMENT_FINE_USD] = gain / detection * (1.0 - side * 1e-9)
    draws = allocate_draws(*sim.labs.alive.shape)
    draws.compliance[:] = 1.0  # nobody is caught: the choice alone is recorded
    entries.compliance_stage(sim.labs, sim.world, sim.par, draws, sim.work, np.zeros((1, L.N_MARKET)))
    np.testing.assert_allclose(sim.labs.detection_probability[0, lab], detection, rtol=1e-12)
    assert sim.labs.evasion[0, lab] == (rho if side > 0 else 0.0)


# ---------------------------------------------------------------------------------------------- full compliance
def _market(sim: Simulation, run: int):
    return sim.market_frame(run).drop(columns=[c for c in COMPLIANCE_COLUMNS if c in sim.market_frame(run)])


def test_perfect_detection_and_an_overwhelming_penalty_reproduce_full_compliance_bitwise() -> None:
    seeds = [11, 12]
    obeyed = Simulation(scenario(years=3.0, evasion=False), seeds).run()
    deterred = Simulation(scenario(years=3.0, audit_budget_usd_per_year=1e15, audit_cost_usd=1.0,
                                   audit_detection_probability=1.0, fine_usd=1e30), seeds).run()
    lax = Simulation(scenario(years=3.0, audit_budget_usd_per_year=0.0, whistleblower_rate_per_year=0.0), seeds).run()
    for run in range(len(seeds)):
        assert _market(deterred, run).equals(_market(obeyed, run))
        assert lax.summary(run)["evading_lab_years"] > 0.0  # the rules bind: without enforcement labs evade
        assert deterred.summary(run)["evading_lab_years"] == 0.0
    for name in ("cash_usd", "compute_flop_per_year", "log_software", "log_eff_compute", "share", "safety"):
        np.testing.assert_array_equal(getattr(deterred.labs, name), getattr(obeyed.labs, name), err_msg=name)


def test_evasion_off_changes_nothing_and_adds_no_columns() -> None:
    """An [enforcement] table with evasion off acts on nothing: the same series as without one, no new columns
    (the golden test, tests/test_golden.py, holds the same for the stored fixture)."""
    data = deep_merge(load_baseline_dict(), {"sim": {"years": 2.0}})
    data["policies"] = [dict(p) for p in POLICIES]
    plain = Simulation(Scenario.model_validate(data), [21]).run()
    data["enforcement"] = {"evasion": False, "audit_budget_usd_per_year": 0.0, "fine_usd": 0.0}
    off = Simulation(Scenario.model_validate(data), [21]).run()
    pd_plain, pd_off = plain.market_frame(0), off.market_frame(0)
    assert pd_off.equals(pd_plain)
    assert not set(COMPLIANCE_COLUMNS) & set(pd_off.columns)
    assert "evasion" not in off.labs_frame(0).columns and "detections" not in off.summary(0)
    assert not off.labs.evasion.any()


# ---------------------------------------------------------------------------------------------- monotonicity
@pytest.mark.parametrize(("key", "values", "direction"), [
    ("P_ENFORCEMENT_AUDIT_BUDGET_USD_PER_YEAR", (0.0, 1e8, 1e9, 1e10, 1e11), -1),
    ("P_ENFORCEMENT_FINE_USD", (0.0, 1e8, 1e9, 1e10, 1e11), -1),
    ("A_EVASION_PROPENSITY", (0.0, 0.1, 0.3, 0.6, 1.0), 1),
])
def test_each_choice_is_monotone_in_budget_fine_and_propensity_on_one_state(key: str, values, direction: int) -> None:
    """On one (random) state and the same draws, lab by lab: a larger budget or fine never turns a complying lab
    into an evader, a higher propensity never turns an evader into a complying lab."""
    base = Simulation(scenario(audit_budget_usd_per_year=1e8), [31, 32, 33])
    gen = np.random.default_rng(5)
    begin_step(base.world, base.par, base.work)
    scramble(base, gen)
    draws = allocate_draws(*base.labs.alive.shape)  # uniforms of 1: nobody caught, only the choices
    choices = []
    for value in values:
        labs, world, par = copy_labs(base.labs), copy_world(base.world), base.par.copy()
        if key.startswith("A_"):
            for kind in range(len(KIND_NAMES)):
                par[:, L.P_ARCHETYPES + kind * L.N_ARCH_FIELDS + getattr(L, key)] = value
        else:
            par[:, getattr(L, key)] = value
        entries.compliance_stage(labs, world, par, draws, base.work, np.zeros((3, L.N_MARKET)))
        choices.append(labs.evasion > 0.0)
    assert choices[0].sum() != choices[-1].sum(), "the range of values must move some choice"
    for weaker, stronger in itertools.pairwise(choices):
        moved = stronger & ~weaker if direction < 0 else weaker & ~stronger
        assert not moved.any(), f"{key}: {np.argwhere(moved)}"


SEEDS = list(range(100, 108))


def mean_evasion(**enforcement) -> float:
    sim = Simulation(scenario(years=4.0, **enforcement), SEEDS).run()
    return float(np.mean([sim.summary(b)["evading_lab_years"] for b in range(len(SEEDS))]))


def test_a_larger_audit_budget_never_raises_mean_evasion() -> None:
    levels = [mean_evasion(audit_budget_usd_per_year=budget) for budget in (0.0, 5e7, 2e8, 1e9)]
    assert levels[0] > levels[-1]
    assert all(a >= b for a, b in itertools.pairwise(levels)), levels


def test_a_higher_fine_never_raises_mean_evasion() -> None:
    levels = [mean_evasion(fine_usd=fine) for fine in (0.0, 1e9, 1e10, 1e11)]
    assert levels[0] > levels[-1]
    assert all(a >= b for a, b in itertools.pairwise(levels)), levels


def test_a_higher_propensity_never_lowers_mean_evasion() -> None:
    def with_propensity(scale: float) -> float:
        data = deep_merge(load_baseline_dict(), {"sim": {"years": 4.0}})
        data["policies"] = [dict(p) for p in POLICIES]
        data["enforcement"] = {"evasion": True}
        base = Scenario.model_validate(data).archetypes
        data["archetypes"] = {kind: {"evasion_propensity": min(1.0, scale * getattr(base, kind).evasion_propensity)}
                              for kind in KIND_NAMES}
        sim = Simulation(Scenario.model_validate(data), SEEDS).run()
        return float(np.mean([sim.summary(b)["evading_lab_years"] for b in range(len(SEEDS))]))

    levels = [with_propensity(scale) for scale in (0.25, 0.5, 1.0, 2.0)]
    assert levels[-1] > levels[0]
    assert all(a <= b for a, b in itertools.pairwise(levels)), levels
