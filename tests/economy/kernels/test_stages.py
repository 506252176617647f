"""Each stage of the step against its own plain-Python twin (tests/reference/naive_stages.py), one stage at a time.

:func:`drive_stages` takes a batch through ``step_batch``'s stages one by one: before each stage it copies the
state, runs the stage kernel on the live state and the twin on the copy, and compares everything (the lab, world
and network arrays, the per-run values the stage hands on in ``work``, the record), then goes on from the kernel's
state.  Cases: the scenario cases of tests/twin_checks.py (one lab, all dead, one dead, ties, zero compute, staff
and cash, a lab with no model yet and no model anywhere, automation 0 and 1, extreme parameters, urn, networks,
market segments, every agent mechanism busy); random states, scrambled within their valid ranges before each step;
and hand-picked states whose results are known in closed form (stages 2, 6, 7 and 10).  The whole step against the
whole-step twin is in tests/economy/kernels/test_kernels.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import kernel_entries as entries
import numpy as np
import pytest
from reference import naive_policies, naive_stages
from twin_checks import (
    RTOL,
    STEP_CASES,
    assert_close,
    assert_same_state,
    copy_labs,
    copy_net,
    copy_work,
    copy_world,
    random_draws,
    rng,
)

from economy.engine import Simulation
from economy.kernels import layout as L
from economy.kernels.step import begin_step


class StepInputs(NamedTuple):
    """The random numbers of one step and the record it fills."""

    shocks: np.ndarray
    urn_uniforms: np.ndarray
    draws: object
    rec: np.ndarray


KERNELS: dict[str, Callable[[Simulation, StepInputs], None]] = {
    "strategy": lambda s, x: entries.strategy_stage(s.labs, s.world, s.par, s.net, s.work, x.draws, x.rec),
    "factor_markets": lambda s, x: entries.factor_market_stage(s.labs, s.world, s.par, s.work, x.rec),
    "research": lambda s, x: entries.research_stage(s.labs, s.world, s.par, s.net, s.work, x.shocks),
    "training": lambda s, x: entries.training_stage(s.labs, s.world, s.par, s.work),
    "spillover": lambda s, x: entries.spillover_stage(s.labs, s.world, s.par, s.net, x.rec),
    "demand": lambda s, x: entries.demand_stage(s.labs, s.world, s.par, s.net, x.urn_uniforms, s.work, x.rec),
    "money": lambda s, x: entries.money_stage(s.labs, s.world, s.par, x.draws, s.work, x.rec),
    "incidents": lambda s, x: entries.incident_stage(s.labs, s.world, s.par, x.draws, s.work, x.rec),
    "record": lambda s, x: entries.record_stage(s.labs, s.world, s.par, s.work, x.rec),
}
"""Each stage kernel of ``step_batch`` (but stage 9's break-ups, :func:`check_breakup_stage`), by the name of its
twin in ``naive_stages.STAGES``, in the step's order."""

WORK_SCALES = {"unserved_ratio": 1.0, "inside_share": 1.0, "exit_share": 1.0, "hire_fraction": 1.0,
               "own_compute_fraction": 1.0}
"""Natural magnitudes of the per-run work values that can cancel to near 0."""


def step_inputs(sim: Simulation, gen: np.random.Generator) -> StepInputs:
    n_runs, capacity = sim.labs.cash_usd.shape
    arrivals = sim._urn.shape[1]
    return StepInputs(gen.standard_normal((n_runs, capacity)), gen.random((n_runs, arrivals)),
                      random_draws(gen, n_runs, capacity), np.zeros((n_runs, L.N_MARKET)))


def check_stage(sim: Simulation, name: str, inputs: StepInputs, where: str) -> None:
    """Run stage ``name``'s kernel on the live state and its twin on a copy; compare every array."""
    labs, world, net, work = copy_labs(sim.labs), copy_world(sim.world), copy_net(sim.net), copy_work(sim.work)
    rec = inputs.rec.copy()
    want = naive_stages.naive_stage(name, labs, world, sim.par, net, work, inputs.shocks, inputs.urn_uniforms,
                                    inputs.draws, rec)
    with np.errstate(invalid="raise", divide="raise", over="raise"):
        KERNELS[name](sim, inputs)
    want_labs, want_world, want_net, want_work, want_rec = want
    spilled = sim.net.indices.shape[0] > 0
    assert_same_state(sim.labs, sim.world, inputs.rec, want_labs, want_world, want_rec, f"{where}, stage {name}",
                      sim.net if spilled else None, want_net)
    for field in naive_stages.WORK_PER_RUN:
        assert_close(getattr(sim.work, field), getattr(want_work, field), f"{where}, stage {name}: work.{field}",
                     WORK_SCALES.get(field, 0.0))


def check_breakup_stage(sim: Simulation, inputs: StepInputs, where: str) -> None:
    """Stage 9 after stage 8 against the break-up twin of tests/reference/naive_policies.py."""
    labs, world = copy_labs(sim.labs), copy_world(sim.world)
    made = [naive_policies.breakup(labs, world, sim.par, b, sim.work.start_year[b], sim.work.end_year[b])
            for b in range(labs.alive.shape[0])]
    events_before = sim.world.n_events.copy()
    entries.breakup_stage(sim.labs, sim.world, sim.par, sim.work, inputs.rec)
    for name in sim.labs._fields:
        if name != "scratch":
            np.testing.assert_allclose(getattr(sim.labs, name), getattr(labs, name), rtol=RTOL,
                                       err_msg=f"{where}, stage breakup: labs.{name}")
    np.testing.assert_array_equal(sim.world.n_used, world.n_used)
    np.testing.assert_array_equal(inputs.rec[:, L.M_N_BREAKUP_PARTS], [len(parts) for parts in made])
    np.testing.assert_array_equal(sim.world.n_events - events_before, [len(parts) for parts in made])


def drive_stages(sim: Simulation, n_steps: int, seed: int,
                 scramble: Callable[[Simulation, np.random.Generator], None] | None = None) -> np.ndarray:
    """``n_steps`` steps, each stage held against its twin; returns the records (steps, runs, columns)."""
    gen = rng(seed)
    records = []
    for k in range(n_steps):
        if scramble is not None:
            scramble(sim, gen)
        inputs = step_inputs(sim, gen)
        begin_step(sim.world, sim.par, sim.work)
        for name in KERNELS:
            if name == "record":
                check_breakup_stage(sim, inputs, f"step {k + 1}")
            check_stage(sim, name, inputs, f"step {k + 1}")
        records.append(inputs.rec)
    return np.array(records)


# ---------------------------------------------------------------------------------------------- hand-picked and
# adversarial scenarios (tests/twin_checks.py)


@pytest.mark.parametrize("name", sorted(STEP_CASES))
def test_each_stage_matches_its_twin(name, make_scenario):
    sections, lab_list, prepare, seeds, n_steps = STEP_CASES[name]
    sim = Simulation(make_scenario(lab_list, **sections), seeds, record_labs=False)
    if prepare is not None:
        prepare(sim)
    records = drive_stages(sim, min(n_steps, 8), seed=len(name))
    assert np.isfinite(records[:, :, L.M_YEAR]).all()  # every step recorded


def test_stages_after_a_year_of_agent_events(make_scenario):
    """The busiest case, stage by stage, after a year of whole steps (entrants, exits, acquisitions in the state)."""
    sections, lab_list, _, seeds, _ = STEP_CASES["agents_busy"]
    sim = Simulation(make_scenario(lab_list, **sections), seeds, record_labs=False)
    for _ in range(12):
        sim.step()
    records = drive_stages(sim, 6, seed=3)
    flows = records.sum(axis=(0, 1))
    assert flows[L.M_N_STRATEGY_CHANGES] > 0 and flows[L.M_INCIDENTS] > 0


# ---------------------------------------------------------------------------------------------- random states


def scramble(sim: Simulation, gen: np.random.Generator) -> None:
    """Random lab state within the valid ranges: some labs dead, with no model, no compute, no staff or negative
    cash; shares a sub-distribution; capability columns consistent with ln E (as stage 4 leaves them)."""
    labs, par = sim.labs, sim.par
    n_runs, capacity = labs.cash_usd.shape
    used = sim.world.n_used[:, None] > np.arange(capacity)[None, :]
    shape = (n_runs, capacity)
    labs.alive[:] = used & (gen.random(shape) < 0.8)
    labs.exited[:] = False
    labs.cash_usd[:] = np.where(gen.random(shape) < 0.1, -1.0, 1.0) * np.exp(gen.uniform(17.0, 25.0, shape))
    labs.compute_flop_per_year[:] = np.where(gen.random(shape) < 0.1, 0.0, np.exp(gen.uniform(55.0, 65.0, shape)))
    labs.researchers[:] = np.where(gen.random(shape) < 0.1, 0.0, gen.uniform(1.0, 3000.0, shape))
    labs.compute_budget_usd[:] = np.exp(gen.uniform(15.0, 23.0, shape))
    labs.hire[:] = gen.uniform(-200.0, 400.0, shape)
    raw = gen.random(shape) * labs.alive
    labs.share[:] = raw / (raw.sum(axis=1, keepdims=True) + gen.uniform(0.0, 1.0, (n_runs, 1)) + 1e-300)
    labs.customers[:] = labs.share * 100.0
    labs.data_tokens[:] = np.exp(gen.uniform(0.0, 30.0, shape))
    labs.revenue_growth[:] = gen.uniform(-2.0, 2.0, shape)
    labs.performance[:] = gen.uniform(-1.0, 1.0, shape)
    labs.aspiration[:] = gen.uniform(-1.0, 1.0, shape)
    labs.founded_year[:] = par[:, [L.P_SIM_START_YEAR]] + gen.uniform(-5.0, 2.0, shape)
    labs.drift[:] = gen.uniform(0.0, 2.0, shape)
    no_model = gen.random(shape) < 0.15
    log_e = np.where(no_model, -np.inf, gen.uniform(55.0, 75.0, shape))
    labs.log_eff_compute[:] = log_e
    for b in range(n_runs):
        p = par[b]
        with np.errstate(invalid="ignore"):
            quality = np.where(
                no_model[b], -np.inf, p[L.P_CAPABILITY_ALPHA] * (log_e[b] - p[L.P_LN_CAPABILITY_LOSS_SCALE_FLOP])
            )
            weight = p[L.P_MARKET_WINNER_TAKE_ALL] * quality + p[L.P_MARKET_DATA_FLYWHEEL] * np.log1p(
                labs.data_tokens[b]
            )
        labs.logit_weight[b] = np.where(no_model[b], -np.inf, weight)
        labs.quality[b] = quality
        z = np.where(
            no_model[b],
            -np.inf,
            (log_e[b] - p[L.P_LN10_TIMES_RESEARCH_AUTOMATION_MIDPOINT_LOG10_FLOP])
            / p[L.P_LN10_TIMES_RESEARCH_AUTOMATION_WIDTH_OOMS],
        )
        labs.automation[b] = p[L.P_RESEARCH_MAX_AUTOMATION] / (1.0 + np.exp(-np.maximum(z, -700.0))) * ~no_model[b]


@pytest.mark.parametrize("case", ["generated", "network_sparse", "segments", "agents_busy", "urn"])
def test_each_stage_matches_its_twin_on_random_states(case, make_scenario):
    sections, lab_list, _, seeds, _ = STEP_CASES[case]
    sim = Simulation(make_scenario(lab_list, **sections), seeds, record_labs=False)
    sim.step()
    records = drive_stages(sim, 5, seed=100 + len(case), scramble=scramble)
    assert (records[:, :, L.M_N_ALIVE] > 0).all()


def test_stages_that_prefetch_match_their_twins(make_scenario):
    """From PREFETCH_MIN_LABS lab columns on, stages 1 and 5 prefetch their neighbours' records
    (economy.kernels.prefetch); every stage still matches its twin there."""
    from economy.kernels.prefetch import PREFETCH_MIN_LABS

    sections = {"labs": {"n": PREFETCH_MIN_LABS, "list": []}, "network": {"kind": "erdos_renyi", "mean_degree": 4.0}}
    sim = Simulation(make_scenario(None, **sections), [31], record_labs=False)
    assert sim.labs.alive.shape[1] >= PREFETCH_MIN_LABS and sim.net.indices.shape[0] > 0
    records = drive_stages(sim, 1, seed=31)
    assert records[0, 0, L.M_ACTIVE_EDGES] > 0



@pytest.mark.parametrize("case", ["network", "urn_simon"])
def test_stages_that_sum_in_blocks_match_their_twins(make_scenario, case):
    """A run of more than SUM_BLOCK lab columns sums in blocks on the threads (economy.kernels.blocks): every stage
    still matches its twin, whose sums run serially, with entry, exits and the network on, or in the urn market
    with Simon's entry (whose industry return sums in blocks inside the demand stage)."""
    from economy.kernels.blocks import SUM_BLOCK

    sections = {"labs": {"n": SUM_BLOCK + 500, "list": []}, "network": {"kind": "erdos_renyi", "mean_degree": 4.0}}
    if case == "urn_simon":
        sections = {"labs": {"n": SUM_BLOCK + 500, "list": [], "max_entrants": 40},
                    "market": {"mode": "urn", "urn_arrivals_per_step": 2000, "urn_entry_probability": 0.01}}
    sim = Simulation(make_scenario(None, **sections), [32], record_labs=False)
    assert sim.labs.alive.shape[1] > SUM_BLOCK
    records = drive_stages(sim, 1, seed=32)
    assert records[0, 0, L.M_N_ALIVE] > SUM_BLOCK and records[0, 0, L.M_HHI] > 0.0
    if case == "urn_simon":
        assert records[0, 0, L.M_N_ENTRIES] > 0

# ---------------------------------------------------------------------------------------------- closed forms


@pytest.fixture
def duo(make_scenario) -> Simulation:
    """Two investor-funded labs and a state programme, one run, at the start (nothing random yet)."""
    sim = Simulation(make_scenario(None, entry={"rate_per_year": 0.0}, acquisitions={"rate_per_year": 0.0},
                                   incidents={"hazard_per_drift": 0.0}), [0], record_labs=False)
    begin_step(sim.world, sim.par, sim.work)
    return sim


def _twin(sim: Simulation, stage: str, inputs: StepInputs):
    return naive_stages.naive_stage(stage, sim.labs, sim.world, sim.par, sim.net, sim.work, inputs.shocks,
                                    inputs.urn_uniforms, inputs.draws, inputs.rec)


def test_factor_markets_clear_at_the_closed_form_price_and_ration_hiring(duo):
    """Budgets 1 and 3 GUSD bid for Q dt FLOP/year: p = 4e9 / (Q dt); 30 hires from a pool of 10 plus 10 let
    go are filled at 20 / 30."""
    sim, labs, world, p = duo, duo.labs, duo.world, duo.par[0]
    labs.alive[0, 2] = False
    labs.compute_budget_usd[0, :2] = [1e9, 3e9]
    labs.hire[0, :2] = [30.0, -10.0]
    world.talent_pool[0] = 10.0
    world.resale_flop[0] = 0.0
    world.log_price_floor[0] = math.log(1e-40)  # far below the clearing price
    cash, compute, staff = labs.cash_usd.copy(), labs.compute_flop_per_year.copy(), labs.researchers.copy()
    inputs = step_inputs(sim, rng(0))
    want = _twin(sim, "factor_markets", inputs)
    KERNELS["factor_markets"](sim, inputs)
    dt = p[L.P_SIM_DT]
    price = 4e9 / (p[L.P_COMPUTE_SUPPLY_FLOP_PER_YEAR] * dt)
    assert world.price[0] == pytest.approx(price, rel=1e-14)
    assert inputs.rec[0, L.M_COMPUTE_BOUGHT] == pytest.approx(4e9 / price, rel=1e-14)
    keep = math.exp(-p[L.P_COMPUTE_DEPRECIATION_PER_YEAR] * dt)
    np.testing.assert_allclose(labs.compute_flop_per_year[0, :2],
                               (compute[0, :2] + np.array([1e9, 3e9]) / price) * keep, rtol=1e-14)
    np.testing.assert_allclose(labs.cash_usd[0, :2], cash[0, :2] - [1e9, 3e9], rtol=1e-15)
    assert sim.work.hire_fraction[0] == pytest.approx(2.0 / 3.0, rel=1e-15)
    np.testing.assert_allclose(labs.researchers[0, :2], staff[0, :2] + [20.0, -10.0], rtol=1e-15)
    assert world.talent_pool[0] == pytest.approx(0.0, abs=1e-12)
    assert labs.compute_flop_per_year[0, 2] == compute[0, 2] and labs.cash_usd[0, 2] == cash[0, 2]  # dead: as it was
    assert world.price[0] == pytest.approx(want[1].price[0], rel=1e-14)
    np.testing.assert_allclose(labs.researchers, want[0].researchers, rtol=1e-15)


def test_demand_stage_gives_equal_labs_equal_shares_and_caps_revenue_at_capacity(duo):
    """Two labs with one logit weight w share the logit equally, s* = e^w / (e^w0 + 2 e^w); the first serves
    only what its inference compute allows and the second keeps the rest of its capacity spare."""
    sim, labs, world, p = duo, duo.labs, duo.world, duo.par[0]
    labs.alive[0, 2] = False
    w = p[L.P_MARKET_WINNER_TAKE_ALL] * p[L.P_QUALITY_OF_MARKET_OUTSIDE_LOG10_FLOP] + 1.0
    labs.logit_weight[0, :2] = w
    labs.share[0, :2] = [0.1, 0.3]
    labs.quality[0, :2] = labs.quality[0, 0]
    labs.compute_flop_per_year[0, :2] = [1e20, 1e30]
    inputs = step_inputs(sim, rng(1))
    want = _twin(sim, "demand", inputs)
    KERNELS["demand"](sim, inputs)
    w0 = p[L.P_MARKET_WINNER_TAKE_ALL] * p[L.P_QUALITY_OF_MARKET_OUTSIDE_LOG10_FLOP]
    target = math.exp(w - w0) / (1.0 + 2.0 * math.exp(w - w0))
    move = -math.expm1(-p[L.P_SIM_DT] / p[L.P_MARKET_SWITCHING_YEARS])
    np.testing.assert_allclose(labs.share[0, :2], np.array([0.1, 0.3]) + (target - np.array([0.1, 0.3])) * move,
                               rtol=1e-13)
    capacity = labs.inference_fraction[0, :2] * labs.compute_flop_per_year[0, :2] / p[L.P_MARKET_INFERENCE_FLOP_PER_USD]
    demand = world.demand[0]
    assert labs.revenue_usd_per_year[0, 0] == capacity[0] < labs.share[0, 0] * demand  # capacity binds
    assert labs.spare_capacity_usd_per_year[0, 0] == 0.0
    assert labs.revenue_usd_per_year[0, 1] == pytest.approx(labs.share[0, 1] * demand, rel=1e-15)
    assert labs.spare_capacity_usd_per_year[0, 1] == pytest.approx(capacity[1] - labs.share[0, 1] * demand, rel=1e-15)
    assert sim.work.max_logit_weight[0] == w
    np.testing.assert_allclose(labs.share, want[0].share, rtol=1e-12)
    assert world.demand[0] == pytest.approx(want[1].demand[0], rel=1e-13)


def test_money_stage_moves_unserved_demand_to_spare_capacity_and_closes_a_bankrupt_lab(duo):
    """Lab 0 cannot serve 1 GUSD/year of its demand; lab 1 has 4 GUSD/year spare: it gains 1 GUSD/year (ratio
    1/4).  The state programme, deep in debt, goes bankrupt: its compute is resold."""
    sim, labs, world, p = duo, duo.labs, duo.world, duo.par[0]
    world.demand[0] = 10e9
    labs.share[0, :3] = [0.5, 0.25, 0.125]  # exact in binary: the unserved demand is exactly 1 GUSD/year
    labs.revenue_usd_per_year[0, :3] = [4e9, 2.5e9, 1.25e9]
    labs.spare_capacity_usd_per_year[0, :3] = [0.0, 4e9, 0.0]
    labs.cash_usd[0, 2] = -1e12
    labs.founded_year[0, :] = p[L.P_SIM_START_YEAR]  # all within the grace period: only bankruptcy closes a lab
    sim.work.frontier_quality[0] = labs.quality[0, :2].max()
    sim.work.investor_weight_total[0] = 1.0
    compute_2, resale = labs.compute_flop_per_year[0, 2], world.resale_flop[0]
    inputs = step_inputs(sim, rng(2))
    want = _twin(sim, "money", inputs)
    KERNELS["money"](sim, inputs)
    assert sim.work.unserved_ratio[0] == 0.25
    assert labs.revenue_usd_per_year[0, 1] == 3.5e9
    assert labs.revenue_usd_per_year[0, 0] == 4e9
    assert not labs.alive[0, 2] and labs.exited[0, 2] and labs.compute_flop_per_year[0, 2] == 0.0
    assert world.resale_flop[0] == resale + compute_2
    assert inputs.rec[0, L.M_N_EXITS] == 1 and inputs.rec[0, L.M_COMPUTE_REMOVED_AT_EXIT] == compute_2
    assert labs.funding_inflow_usd_per_year[0, 2] == p[L.P_MONEY_STATE_BUDGET_USD_PER_YEAR]  # paid, yet not enough
    np.testing.assert_allclose(labs.cash_usd, want[0].cash_usd, rtol=1e-12)
    np.testing.assert_array_equal(labs.alive, want[0].alive)


def test_record_stage_gives_the_closed_form_concentration_gini_and_gap(duo):
    """Shares 0.4 and 0.4 of alive labs (a dead lab's share not counted): HHI 5,000 over the inside market;
    revenue 1 and 3: Gini = |1 - 3| x 2 / (2 x 2 x 4) = 0.25; the leader 2 OOMs ahead of the runner-up."""
    sim, labs, world, p = duo, duo.labs, duo.world, duo.par[0]
    labs.alive[0, 2] = False
    labs.share[0, :3] = [0.4, 0.4, 0.2]
    labs.revenue_usd_per_year[0, :3] = [1e9, 3e9, 5e9]
    labs.log_eff_compute[0, :2] = [60.0, 60.0 - 2.0 * math.log(10.0)]
    labs.quality[0, :2] = p[L.P_CAPABILITY_ALPHA] * (labs.log_eff_compute[0, :2] - p[L.P_LN_CAPABILITY_LOSS_SCALE_FLOP])
    inputs = step_inputs(sim, rng(3))
    want = _twin(sim, "record", inputs)
    KERNELS["record"](sim, inputs)
    rec = inputs.rec[0]
    assert rec[L.M_HHI] == pytest.approx(5000.0, rel=1e-15)
    assert rec[L.M_EFFECTIVE_LABS] == pytest.approx(2.0, rel=1e-15)
    assert rec[L.M_OUTSIDE_SHARE] == pytest.approx(0.2, rel=1e-15)
    assert rec[L.M_GINI_REVENUE] == pytest.approx(0.25, rel=1e-15)
    assert rec[L.M_LEADER_GAP_OOMS] == pytest.approx(2.0, rel=1e-14)
    assert rec[L.M_N_ALIVE] == 2 and rec[L.M_YEAR] == sim.work.end_year[0] and world.step[0] == 1
    np.testing.assert_allclose(rec, want[4][0], rtol=1e-13)
