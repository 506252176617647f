"""Policy interventions (docs/policies.md): each policy's defining property, the kernels against their twins,
and bad policy input.

Conservation of money, compute and people with every policy on at once is checked step by step in
tests/economy/test_invariants.py (case ``all_policies``).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import kernel_entries as entries
import numpy as np
import pytest
from conftest import BASELINE_PATH, load_baseline_dict
from reference import naive_policies as naive
from typer.testing import CliRunner

from economy.engine import Simulation
from economy.kernels import layout as L
from economy.kernels import policies as K
from economy.kernels.metrics import concentration
from economy.network import lab_graph
from economy.params import Scenario
from economy.state import LabState, WorldState
from runs.cli import app

SEEDS = [0, 1]


def _scenario(*policies: dict[str, Any], years: float = 10.0, **sections: dict[str, Any]) -> Scenario:
    data = load_baseline_dict()
    data["sim"]["years"] = years
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    data["policies"] = list(policies)
    return Scenario.model_validate(data)


def _run(scenario: Scenario, check=None, seeds=SEEDS) -> Simulation:
    sim = Simulation(scenario, seeds)
    while sim.steps_done < sim.n_steps:
        year = sim.par[0, L.P_SIM_START_YEAR] + sim.steps_done * sim.par[0, L.P_SIM_DT]  # the step's start
        sim.step()
        if check is not None:
            check(sim, year)
    return sim


# ---------------------------------------------------------------------------------------------- defining properties
def test_compute_cap_is_never_exceeded_and_binds():
    cap = 1e28
    worst_after = []
    worst_before = []

    def check(sim, year):
        live = sim.labs.run_flop[sim.labs.alive]
        (worst_after if year >= 2027.0 else worst_before).append(live.max())

    _run(_scenario({"kind": "compute_cap", "start_year": 2027.0, "max_training_flop": cap}), check)
    assert max(worst_after) <= cap
    free = _run(_scenario(years=4.0))  # the same world without the cap trains past it
    assert free.labs.run_flop.max() > cap or max(worst_before) > 0.1 * cap


def test_compute_tax_revenue_is_fully_redistributed_as_public_compute():
    rate = 0.5
    sim = _run(_scenario({"kind": "compute_tax", "start_year": 2026.0, "rate": rate, "small_share": 0.05}))
    m = sim.market[1:]
    year = m[..., L.M_YEAR] - sim.par[0, L.P_SIM_DT]
    on = year >= 2026.0 - 1e-9
    assert (m[..., L.M_TAX_REVENUE][on] > 0).all() and (m[..., L.M_TAX_REVENUE][~on] == 0).all()
    np.testing.assert_allclose(m[..., L.M_TAX_REVENUE][on], m[..., L.M_CASH_COMPUTE_SPEND][on] * rate / (1 + rate),
                               rtol=1e-12)
    np.testing.assert_allclose(m[..., L.M_PUBLIC_COMPUTE][on] * m[..., L.M_COMPUTE_PRICE][on],
                               m[..., L.M_TAX_REVENUE][on], rtol=1e-12)


def test_compute_tax_kernel_matches_its_twin():
    sim = Simulation(_scenario({"kind": "compute_tax", "start_year": 2025.0, "rate": 0.7, "small_share": 0.1},
                               years=1.0), [5])
    sim.run()
    labs_k, labs_n = _copy_labs(sim.labs), _copy_labs(sim.labs)
    rec = np.zeros((1, L.N_MARKET))
    factor = entries.compute_tax_run(labs_k, sim.par, 0, 2026.0, 3.0, 1e30, rec)
    twin = naive.compute_tax(labs_n, sim.par, 0, 2026.0, 3.0, 1e30)
    assert factor == pytest.approx(twin[0], rel=1e-15)
    assert rec[0, L.M_TAX_REVENUE] == pytest.approx(twin[1], rel=1e-12)
    np.testing.assert_allclose(labs_k.compute_flop_per_year, labs_n.compute_flop_per_year, rtol=1e-12)
    received = labs_k.compute_flop_per_year - sim.labs.compute_flop_per_year
    assert rec[0, L.M_PUBLIC_COMPUTE] > 0
    assert received.sum() == pytest.approx(rec[0, L.M_PUBLIC_COMPUTE], rel=1e-9)


def test_windfall_tax_is_paid_out_in_full():
    sim = _run(_scenario({"kind": "windfall_tax", "start_year": 2026.0, "rate": 0.5,
                          "threshold_usd_per_year": 1e9}))
    assert sim.market[1:, :, L.M_TAX_REVENUE].sum() > 0
    # the kernel pays out exactly what it collected, to the same labs as its twin
    labs_k, labs_n = _copy_labs(sim.labs), _copy_labs(sim.labs)
    labs_k.tax_usd[0, :] = labs_n.tax_usd[0, :] = np.where(sim.labs.alive[0], np.arange(sim.capacity) * 1e9, 0.0)
    rec = np.zeros((2, L.N_MARKET))
    paid = entries.windfall_run(labs_k, sim.par, 0, 2030.0, rec)
    assert paid == pytest.approx(naive.windfall(labs_n, sim.par, 0, 2030.0), rel=1e-15)
    np.testing.assert_allclose(labs_k.cash_usd, labs_n.cash_usd, rtol=1e-13)
    assert paid > 0
    assert (labs_k.cash_usd - sim.labs.cash_usd).sum() == pytest.approx(paid, rel=1e-9)


def test_rnd_subsidy_pays_its_rate_of_small_labs_wages():
    sim = Simulation(_scenario({"kind": "rnd_subsidy", "start_year": 2025.0, "rate": 0.4, "max_share": 0.5},
                               years=1.0), [0])
    sim.step()
    wages = sim.labs.researchers * sim.par[0, L.P_MONEY_WAGE_USD_PER_YEAR] * sim.par[0, L.P_SIM_DT]
    paid = sim.labs.subsidy_usd[0]
    assert (paid > 0).sum() >= 3
    np.testing.assert_allclose(paid[paid > 0], 0.4 * wages[0][paid > 0], rtol=1e-12)
    assert sim.market[1, 0, L.M_CASH_SUBSIDY] == pytest.approx(paid.sum(), rel=1e-12)


def test_open_publication_and_safety_standard_floors_hold():
    def check(sim, year):
        alive = sim.labs.alive
        # the floors bind every lab's decision; an entrant of this step decides from the next step on
        alive = alive & (sim.labs.founded_year < year + sim.par[0, L.P_SIM_DT] - 1e-9)
        if year >= 2026.0:
            assert sim.labs.openness[alive].min() >= 0.5
            assert sim.labs.safety[alive].min() >= 0.2

    _run(_scenario({"kind": "open_publication", "start_year": 2026.0, "min_openness": 0.5},
                   {"kind": "safety_standard", "start_year": 2026.0, "min_safety": 0.2}), check)
    free = _run(_scenario(years=10.0))
    assert free.labs.safety[free.labs.alive].min() < 0.2  # the floor binds somewhere without the standard


def test_safety_liability_multiplies_incident_costs():
    racing = {"drift_rate": 5.0}
    base = _run(_scenario(years=10.0, safety=racing), seeds=[0])
    liable = _run(_scenario({"kind": "safety_standard", "start_year": 2025.0, "min_safety": 0.0, "liability": 3.0},
                            years=10.0, safety=racing), seeds=[0])
    # identical until the first incident (the floor of 0 changes nothing), then each incident costs 4x the loss
    first = np.flatnonzero(base.market[1:, 0, L.M_INCIDENTS] > 0)
    assert first.size, "no incident to price"
    k = first[0] + 1
    np.testing.assert_array_equal(base.market[:k, 0, L.M_TOTAL_CASH], liable.market[:k, 0, L.M_TOTAL_CASH])
    assert liable.market[k, 0, L.M_CASH_INCIDENTS] == pytest.approx(4 * base.market[k, 0, L.M_CASH_INCIDENTS],
                                                                     rel=1e-9)


def _acquisitive() -> dict[str, Any]:
    return {"rate_per_year": 30.0, "min_acquirer_share": 0.05, "max_target_share": 0.04, "premium": 0.0}


def test_blocked_mergers_never_happen():
    strict = {"kind": "merger_review", "start_year": 2025.0, "post_hhi": 0.0, "delta_hhi": 0.0}
    free = _run(_scenario(acquisitions=_acquisitive()))
    reviewed = _run(_scenario(strict, acquisitions=_acquisitive()))
    assert free.market[1:, :, L.M_N_ACQUISITIONS].sum() > 0
    assert reviewed.market[1:, :, L.M_N_ACQUISITIONS].sum() == 0
    assert reviewed.market[1:, :, L.M_N_ACQUISITIONS_BLOCKED].sum() > 0
    assert all((reviewed.events_frame(b)["kind"] != "acquisition").all() for b in range(2))


def test_merger_review_kernel_matches_its_twin_and_the_guidelines():
    par = _scenario({"kind": "merger_review", "start_year": 2030.0, "end_year": 2031.0}).model_dump()
    row = Simulation(Scenario.model_validate(par), [0]).par[0]
    rng = np.random.default_rng(0)
    for _ in range(2000):
        year = rng.uniform(2029.0, 2032.0)
        hhi, delta, merged = rng.uniform(0, 4000), rng.uniform(0, 400), rng.uniform(0, 0.6)
        assert K.merger_allowed(row, year, hhi, delta, merged) == naive.merger_allowed(row, year, hhi, delta, merged)
    assert not K.merger_allowed(row, 2030.5, 1750.0, 101.0, 0.2)  # post 1,851 > 1,800 and rise 101 > 100
    assert K.merger_allowed(row, 2030.5, 1750.0, 99.0, 0.2)
    assert not K.merger_allowed(row, 2030.5, 100.0, 10.0, 0.31)  # merged share above 30 %
    assert K.merger_allowed(row, 2031.0, 1750.0, 101.0, 0.31)  # the window has ended


def test_an_allowed_merger_changes_hhi_by_exactly_two_si_sj():

    sim = Simulation(_scenario(years=1.0), [0])
    sim.run()
    shares = sim.labs.share[0]
    inside = shares[sim.labs.alive[0]].sum()
    before, *_ = concentration(shares, sim.labs.alive[0])
    a, j = 0, 5
    s_a, s_j = shares[a] / inside, shares[j] / inside
    entries.merge(sim.labs, sim.par, 1.0, 0, a, j, 0.0)
    after, *_ = concentration(sim.labs.share[0], sim.labs.alive[0])
    assert after - before == pytest.approx(2e4 * s_a * s_j, rel=1e-9, abs=1e-9)


def test_breakup_leaves_no_lab_above_the_threshold():
    limit = 0.3
    parts = []

    def check(sim, year):
        if year >= 2030.0:
            alive = sim.labs.alive
            inside = np.where(alive, sim.labs.share, 0.0).sum(axis=1, keepdims=True)
            assert (np.where(alive, sim.labs.share, 0.0) <= limit * inside * (1 + 1e-12)).all()
        parts.append(sim.market[sim.steps_done, :, L.M_N_BREAKUP_PARTS].sum())

    sim = _run(_scenario({"kind": "breakup", "start_year": 2030.0, "max_share": limit}, years=20.0,
                         labs={"max_entrants": 64}), check)
    assert sum(parts) > 0
    table = sim.events_frame(0)
    split = table[table["kind"] == "breakup"]
    assert all(name.startswith(f"{orig}-part-") for name, orig in zip(split["lab"], split["other_lab"], strict=True))


def test_runs_that_keep_no_events_name_break_up_parts_and_entrants_alike():
    """``keep_events=False`` (an ensemble's chunks) changes nothing but the events table: the same market and the
    same lab names, break-up parts and entrants included; asking for the events then says why there are none."""
    scenario = _scenario({"kind": "breakup", "start_year": 2030.0, "max_share": 0.3}, years=20.0,
                         labs={"max_entrants": 64})
    kept = Simulation(scenario, SEEDS).run()
    lean = Simulation(scenario, SEEDS, keep_events=False).run()
    np.testing.assert_array_equal(kept.market, lean.market)
    assert lean.names == kept.names
    assert any("-part-" in name for names in lean.names for name in names)
    assert any("-entrant-" in name for names in lean.names for name in names)
    with pytest.raises(RuntimeError, match="keep_events=False"):
        lean.events_frame(0)


def test_breakup_kernel_matches_its_twin():
    sim = Simulation(_scenario(years=8.0), [1])
    sim.run()
    par = sim.par.copy()
    par[0, L.P_BREAKUP_START_YEAR], par[0, L.P_BREAKUP_END_YEAR], par[0, L.P_BREAKUP_MAX_SHARE] = 2000.0, 3000.0, 0.12
    labs_k, world_k = _copy_labs(sim.labs), _copy_world(sim.world)
    labs_n, world_n = _copy_labs(sim.labs), _copy_world(sim.world)
    rec = np.zeros((1, L.N_MARKET))
    entries.breakup_run(labs_k, world_k, par, 0, 2033.0, 2033.1, rec)
    made = naive.breakup(labs_n, world_n, par, 0, 2033.0, 2033.1)
    assert rec[0, L.M_N_BREAKUP_PARTS] == len(made) > 0
    assert world_k.n_used[0] == world_n.n_used[0]
    for name in LabState._fields:
        if name != "scratch":
            np.testing.assert_allclose(getattr(labs_k, name), getattr(labs_n, name), rtol=1e-13, err_msg=name)
    # money, compute, people and shares are only divided
    for name in ("cash_usd", "compute_flop_per_year", "researchers", "share"):
        assert getattr(labs_k, name).sum() == pytest.approx(getattr(sim.labs, name).sum(), rel=1e-12)


def test_export_controls_cut_cross_bloc_compute_and_spillover_from_the_start_year():
    start = 2028.0
    restricted = [1, 2]
    snapshot = {}

    def check(sim, year):
        mask = np.isin(sim.labs.bloc, restricted) & sim.labs.alive
        if abs(year - (start - sim.par[0, L.P_SIM_DT])) < 1e-6:  # the last step before the controls
            snapshot["compute"] = sim.labs.compute_flop_per_year.copy()
            snapshot["step"] = sim.steps_done
        if year >= start:
            assert (sim.labs.compute_budget_usd[mask] == 0).all()
            graph = lab_graph(sim, 0)
            bloc = {n: d["bloc"] for n, d in graph.nodes(data=True)}
            assert not any(d["active"] for u, v, d in graph.edges(data=True) if bloc[u] != bloc[v])

    pol = {"kind": "export_controls", "start_year": start, "restricted_blocs": restricted}
    sim = _run(_scenario(pol, years=6.0), check, seeds=[0])
    free = _run(_scenario(years=6.0), seeds=[0])
    mask = np.isin(sim.labs.bloc[0], restricted) & sim.labs.alive[0]
    assert mask.sum() == 2
    # from the start year restricted labs' compute only depreciates; without controls they keep buying
    decay = math.exp(
        -sim.par[0, L.P_COMPUTE_DEPRECIATION_PER_YEAR] * (sim.n_steps - snapshot["step"]) * sim.par[0, L.P_SIM_DT]
    )
    np.testing.assert_allclose(sim.labs.compute_flop_per_year[0][mask], snapshot["compute"][0][mask] * decay,
                               rtol=1e-12)
    assert (free.labs.compute_flop_per_year[0][mask] > sim.labs.compute_flop_per_year[0][mask]).all()


def test_conditional_pause_stops_frontier_growth_for_its_duration():
    pol = {"kind": "conditional_pause", "start_year": 2025.0, "threshold_log10_eff_compute": 32.0,
           "duration_years": 2.0}
    sim = _run(_scenario(pol, years=12.0), seeds=[0])
    m = sim.market[:, 0, :]
    paused = np.flatnonzero(m[:, L.M_PAUSED] > 0)
    assert paused.size == 24  # two years of monthly steps
    frontier = m[paused[0] - 1:paused[-1] + 1, L.M_FRONTIER_LOG10_EFF_COMPUTE]
    assert frontier[0] >= 32.0
    np.testing.assert_array_equal(frontier, frontier[0])  # flat for the whole pause
    assert m[-1, L.M_FRONTIER_LOG10_EFF_COMPUTE] > frontier[0]  # and it grows again afterwards
    table = sim.events_frame(0)
    assert (table["kind"] == "pause").sum() == 1


def test_policies_are_deterministic_across_thread_counts():
    import numba

    pols = [{"kind": "breakup", "start_year": 2027.0, "max_share": 0.25},
            {"kind": "compute_tax", "start_year": 2026.0, "rate": 0.3},
            {"kind": "windfall_tax", "start_year": 2026.0, "rate": 0.3, "threshold_usd_per_year": 1e10}]
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _run(_scenario(*pols, years=6.0)).market.copy()
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = _run(_scenario(*pols, years=6.0)).market.copy()
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(one, many)


# ---------------------------------------------------------------------------------------------- bad input
BAD = {
    "unknown-kind": ('kind = "ban"\nstart_year = 2026', ["policies.0", "ban"]),
    "missing-parameter": ('kind = "compute_cap"\nstart_year = 2026', ["policies.0.max_training_flop", "required"]),
    "end-before-start": ('kind = "breakup"\nstart_year = 2030\nend_year = 2029\nmax_share = 0.3',
                         ["policies.0", "end_year = 2029", "start_year = 2030"]),
    "out-of-range": ('kind = "compute_tax"\nstart_year = 2026\nrate = -1', ["policies.0.rate", "-1"]),
    "no-start": ('kind = "open_publication"\nmin_openness = 0.5', ["policies.0.start_year"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_policy_input_exits_2_naming_the_key(tmp_path: Path, case: str):
    table, needles = BAD[case]
    path = tmp_path / "scenario.toml"
    path.write_text(BASELINE_PATH.read_text() + f"\n[[policies]]\n{table}\n")
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 2, result.output
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_a_second_policy_of_one_kind_is_refused():
    data = copy.deepcopy(load_baseline_dict())
    data["policies"] = [{"kind": "breakup", "start_year": 2030.0, "max_share": 0.3},
                        {"kind": "breakup", "start_year": 2031.0, "max_share": 0.2}]
    with pytest.raises(ValueError, match=r"policies\.1\.kind = 'breakup' repeats policies\.0"):
        Scenario.model_validate(data)


# ---------------------------------------------------------------------------------------------- helpers
def _copy_labs(labs: LabState) -> LabState:
    return LabState(*(a.copy() for a in labs))


def _copy_world(world: WorldState) -> WorldState:
    return WorldState(*(a.copy() for a in world))
