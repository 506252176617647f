"""The agents issue (docs/model.md stages 1, 7 and 8): directional properties with common seeds, and the mechanisms'
own contracts (entry capacity, merger review, funding bounds, events).

Directional tests compare runs that share their seeds, so the research shocks and every other draw are the
same; each asserts seed by seed where the property holds seed by seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from economy.archetypes import KIND_CODE
from economy.engine import EVENT_COLUMNS, Simulation
from economy.kernels import layout as L
from economy.kernels.money import investor_weight
from economy.params import load_scenario, pack_parameters

SEEDS = [1, 2, 3]
QUIET = {
    # everything the agents issue adds, switched off (each test switches on what it looks at)
    "adaptation": {"imitation_rate_per_year": 0.0, "search_rate_per_year": 0.0},
    "entry": {"rate_per_year": 0.0},
    "acquisitions": {"rate_per_year": 0.0},
    "incidents": {"hazard_per_drift": 0.0},
}


def frontier_labs(log_software: list[float]) -> list[dict]:
    """Equal frontier labs that differ only in their starting ln S."""
    return [{"name": f"L{i}", "kind": "frontier", "cash_usd": 1e10, "compute_flop_per_year": 3e27,
             "researchers": 1500.0, "log_software": x} for i, x in enumerate(log_software)]


def mean_safety(make_scenario, labs: list[dict], **sections) -> np.ndarray:
    """Mean safety share over alive labs in the first simulated year, one value per seed."""
    sc = make_scenario(labs, **{**QUIET, "sim": {"years": 1.0}, **sections})
    sim = Simulation(sc, SEEDS, record_labs=False).run()
    return sim.market[1:, :, L.M_MEAN_SAFETY].mean(axis=0)


# ---------------------------------------------------------------------------------------------- racing


@pytest.mark.parametrize("network", ["none", "complete"])
def test_more_rivals_lower_the_mean_safety_share(make_scenario, network):
    three = mean_safety(make_scenario, frontier_labs([0.0, -0.5, -1.0]), network={"kind": network})
    six = mean_safety(make_scenario, frontier_labs([0.0, -0.25, -0.5, -0.75, -1.0, -1.25]),
                      network={"kind": network})
    assert (six < three).all(), (three, six)


def test_watching_more_rivals_lowers_the_mean_safety_share(make_scenario):
    labs = frontier_labs([0.0, -0.25, -0.5, -0.75, -1.0, -1.25])
    one, two, four = (mean_safety(make_scenario, labs, safety={"racing_rivals": k}) for k in (1, 2, 4))
    assert (four < two).all() and (two < one).all(), (one, two, four)


@pytest.mark.parametrize("network", ["none", "complete"])
def test_a_smaller_gap_lowers_the_mean_safety_share(make_scenario, network):
    narrow, base, wide = (mean_safety(make_scenario, frontier_labs([0.0, -0.5 * f, -1.0 * f]),
                                      network={"kind": network}) for f in (0.5, 1.0, 2.0))
    assert (narrow < base).all() and (base < wide).all(), (narrow, base, wide)


def test_no_racing_sensitivity_keeps_the_base_safety_share(make_scenario):
    labs = frontier_labs([0.0, 0.0, -0.1])
    sc = make_scenario(labs, **{**QUIET, "sim": {"years": 0.5}, "safety": {"racing_sensitivity": 0.0}})
    sim = Simulation(sc, SEEDS).run()
    np.testing.assert_array_equal(sim.labs.safety, sim.labs.safety_base)


# ---------------------------------------------------------------------------------------------- Nelson-Winter


def test_easier_imitation_lowers_long_run_concentration(make_scenario):
    """Four labs with a good routine, eight equal labs with a poor one (little spending, little training):
    the easier the poor labs copy the more profitable routine, the less concentrated the market ends up."""
    size = {"cash_usd": 5e9, "compute_flop_per_year": 1e27, "researchers": 800.0, "log_software": -0.2}
    labs = ([{"name": f"Good {i}", "kind": "frontier", **size} for i in range(4)]
            + [{"name": f"Poor {i}", "kind": "startup", **size} for i in range(8)])
    seeds = list(range(6))
    late_hhi = []
    for rate in (0.0, 0.5, 2.0):
        poor = {"spend_rate_per_year": 0.5, "compute_spend_fraction": 0.5, "train_fraction": 0.2}
        sc = make_scenario(labs, **{**QUIET, "sim": {"years": 12.0}, "archetypes": {"startup": poor},
                                    "adaptation": {"imitation_rate_per_year": rate, "search_rate_per_year": 0.0}})
        sim = Simulation(sc, seeds, record_labs=False).run()
        late_hhi.append(sim.market[-24:, :, L.M_HHI].mean(axis=0))  # the last two years
    none, some, easy = late_hhi
    assert none.mean() > some.mean() > easy.mean(), late_hhi
    assert (easy < none).all(), late_hhi


def test_satisficing_search_moves_only_labs_below_their_aspiration(make_scenario):
    sc = make_scenario(None, **{**QUIET, "sim": {"years": 3.0},
                                "adaptation": {"search_rate_per_year": 50.0, "imitation_rate_per_year": 0.0}})
    sim = Simulation(sc, SEEDS, record_labs=False)
    searched = 0
    while sim.steps_done < sim.n_steps:
        below = sim.labs.performance < sim.labs.aspiration
        sim.step()
        changed = sim.labs.strategy_changed == 2
        assert not (changed & ~below).any()
        searched += int(changed.sum())
    assert searched > 0
    # the state programme's routine is fixed (archetypes.state_programme.strategy = "fixed")
    state = sim.labs.kind == KIND_CODE["state_programme"]
    assert state.any()
    for b in range(len(SEEDS)):
        events = sim.events_frame(b)
        changed = events.loc[events["kind"] == "strategy_change", "lab_id"].to_numpy()
        assert not state[b, changed].any()


def test_imitation_copies_the_whole_routine_of_a_more_profitable_lab(make_scenario):
    sc = make_scenario(None, **{**QUIET, "sim": {"years": 2.0},
                                "adaptation": {"imitation_rate_per_year": 20.0, "search_rate_per_year": 0.0}})
    sim = Simulation(sc, SEEDS, record_labs=False)
    fields = ("spend_rate_per_year", "compute_spend_fraction", "train_fraction", "inference_fraction", "safety_base",
              "openness")
    copies = 0
    while sim.steps_done < sim.n_steps:
        before = {f: getattr(sim.labs, f).copy() for f in fields}
        performance = sim.labs.performance.copy()
        sim.step()
        for b, i in zip(*np.nonzero(sim.labs.strategy_changed == 1), strict=True):
            j = sim.labs.imitated[b, i]
            assert performance[b, j] > performance[b, i]
            for f in fields:
                assert getattr(sim.labs, f)[b, i] == before[f][b, j]
            copies += 1
    assert copies > 0


# ---------------------------------------------------------------------------------------------- incidents


def _baseline(*overrides: str) -> Simulation:
    scenario, _ = load_scenario("runs/baseline.toml", list(overrides))
    return Simulation(scenario, [0, 1, 2, 3], record_labs=False).run()


def test_zero_drift_rate_gives_zero_incidents():
    drifting = _baseline()
    still = _baseline("safety.drift_rate=0")
    assert drifting.market[:, :, L.M_INCIDENTS].sum() > 0
    assert still.market[:, :, L.M_INCIDENTS].sum() == 0
    assert (still.market[:, :, L.M_MAX_DRIFT] == 0).all()
    assert not any(still.summary(b)["catastrophe"] for b in range(4))


def test_incident_hazard_rises_with_drift():
    """A higher drift rate (more drift per unit of self-improvement) gives more incidents, with common seeds."""
    low, high = (_baseline(f"safety.drift_rate={rate}").market[:, :, L.M_INCIDENTS].sum() for rate in (0.5, 4.0))
    assert high > low


def test_summary_reports_incidents_and_the_catastrophe_outcome():
    sim = _baseline("incidents.catastrophe_fraction=1", "incidents.hazard_per_drift=0.05")
    for b in range(4):
        summary = sim.summary(b)
        record = sim.market[:, b, :]
        assert summary["incidents"] == int(record[1:, L.M_INCIDENTS].sum()) > 0
        assert summary["catastrophe"] is True
        first = int(np.argmax(record[:, L.M_CATASTROPHE] > 0))
        assert summary["catastrophe_year"] == pytest.approx(record[first, L.M_YEAR])
        assert (record[first:, L.M_CATASTROPHE] == 1).all()  # absorbing
        events = sim.events_frame(b)
        assert events.loc[events["kind"] == "catastrophe", "year"].min() == pytest.approx(summary["catastrophe_year"])


# ---------------------------------------------------------------------------------------------- entry and exit


def test_baseline_events_show_entries_exits_and_incidents():
    """Done-when of the issue: the baseline's 20-year events table (seed 0) has entries, exits and incidents."""
    scenario, _ = load_scenario("runs/baseline.toml", [])
    sim = Simulation(scenario, [0], record_labs=False).run()
    events = sim.events_frame(0)
    assert list(events.columns) == list(EVENT_COLUMNS)
    kinds = set(events["kind"])
    assert {"entry", "exit", "incident", "strategy_change"} <= kinds, kinds
    assert kinds <= set(L.EVENT_KINDS)
    assert (np.diff(events["year"].to_numpy()) >= 0).all()
    entered = events[events["kind"] == "entry"]
    assert entered["lab"].str.contains("-entrant-").all()
    assert (entered["value"] > 0).all()  # starting cash


def test_entrants_start_behind_the_open_frontier(make_scenario):
    sc = make_scenario(None, **{**QUIET, "sim": {"years": 1.0},
                                "entry": {"rate_per_year": 40.0, "lag_ln": 0.7, "open_threshold": 0.5}})
    sim = Simulation(sc, SEEDS, record_labs=False)
    seen = 0
    while sim.steps_done < sim.n_steps:
        pool = sim.world.talent_pool.copy()
        sim.step()
        for b in range(len(SEEDS)):
            k = int(sim.world.n_events[b])
            for row in sim.world.events[b, :k]:
                if row[L.EV_KIND] != L.EVENT_ENTRY:
                    continue
                i, source = int(row[L.EV_LAB]), int(row[L.EV_OTHER])
                labs = sim.labs
                assert source >= 0 and labs.openness[b, source] >= 0.5  # Lab B, the open-weights lab
                assert labs.log_software[b, i] == labs.log_software[b, source] - 0.7
                assert labs.log_eff_compute[b, i] == labs.log_eff_compute[b, source] - 0.7
                assert labs.compute_flop_per_year[b, i] == 0.0 and labs.share[b, i] == 0.0
                assert labs.researchers[b, i] <= pool[b] + 1e-9 * max(pool[b], 1.0)
                assert labs.bloc[b, i] == labs.bloc[b, source]
                seen += 1
    assert seen > 0


def test_entry_stops_at_the_entry_capacity(make_scenario):
    busy = {**QUIET, "sim": {"years": 2.0}, "entry": {"rate_per_year": 50.0}}
    none = Simulation(make_scenario(None, **{**busy, "labs": {"max_entrants": 0}}), SEEDS, record_labs=False).run()
    assert none.capacity == none.n_labs == 3 and none.market[:, :, L.M_N_ENTRIES].sum() == 0
    two = Simulation(make_scenario(None, **{**busy, "labs": {"max_entrants": 2}}), SEEDS, record_labs=False).run()
    assert two.capacity == 5
    assert (two.market[:, :, L.M_N_ENTRIES].sum(axis=0) == 2).all()
    assert (two.world.n_used == 5).all() and two.labs.alive.all()
    assert all(len(names) == 5 for names in two.names)


def test_small_labs_exit_after_their_grace_period(make_scenario):
    """The market-share exit rule (investor-funded labs far below the mean share) and its grace period."""
    tiny = {"name": "Tiny", "kind": "startup", "cash_usd": 1e9, "compute_flop_per_year": 1e24, "researchers": 10.0,
            "log_software": -3.0}
    labs = [*frontier_labs([0.0, -0.1]), tiny]
    rule = {"exit_relative_share": 0.2, "exit_grace_years": 1.0}
    sim = Simulation(make_scenario(labs, **{**QUIET, "money": rule}), SEEDS).run()
    for b in range(len(SEEDS)):
        exits = sim.events_frame(b).query("kind == 'exit'")
        assert list(exits["lab"]) == ["Tiny"]
        assert exits["year"].iloc[0] >= 2026.0 - 1e-9  # not before its first year is over
        assert exits["value"].iloc[0] > 0  # closed with cash, returned to its owners
    kept = Simulation(make_scenario(labs, **{**QUIET, "money": {**rule, "exit_relative_share": 0.0}}), SEEDS).run()
    assert kept.market[:, :, L.M_N_EXITS].sum() == 0


# ---------------------------------------------------------------------------------------------- acquisitions


def test_merger_review_vetoes_acquisitions(make_scenario):
    deals = {"rate_per_year": 20.0, "min_acquirer_share": 0.1, "max_target_share": 0.09}
    busy = {**QUIET, "sim": {"years": 3.0}, "entry": {"rate_per_year": 20.0}}
    free = Simulation(make_scenario(None, **{**busy, "acquisitions": deals}), SEEDS, record_labs=False).run()
    reviewed = Simulation(make_scenario(None, **{**busy, "acquisitions": {
        **deals, "review_post_hhi": 1800.0, "review_delta_hhi": 0.0}}), SEEDS, record_labs=False).run()
    assert free.market[:, :, L.M_N_ACQUISITIONS].sum() > 0 and free.market[:, :, L.M_N_ACQUISITIONS_BLOCKED].sum() == 0
    # three starting labs keep the HHI above 1,800: only deals that do not raise it (targets without customers
    # yet) go through
    assert reviewed.market[:, :, L.M_N_ACQUISITIONS_BLOCKED].sum() > 0
    assert reviewed.market[:, :, L.M_N_ACQUISITIONS].sum() < free.market[:, :, L.M_N_ACQUISITIONS].sum()
    for b in range(len(SEEDS)):
        blocked = reviewed.events_frame(b).query("kind == 'acquisition_blocked'")
        assert (blocked["value"] > 0).all() and (blocked["other_lab_id"] >= 0).all()


def test_an_acquisition_moves_the_targets_assets(make_scenario):
    sc = make_scenario(None, **{**QUIET, "sim": {"years": 3.0}, "entry": {"rate_per_year": 20.0},
                                "acquisitions": {"rate_per_year": 30.0, "min_acquirer_share": 0.1,
                                                 "max_target_share": 0.09}})
    sim = Simulation(sc, SEEDS, record_labs=False)
    deals = 0
    while sim.steps_done < sim.n_steps:
        sim.step()
        labs = sim.labs
        for b in range(len(SEEDS)):
            for row in sim.world.events[b, :int(sim.world.n_events[b])]:
                if row[L.EV_KIND] == L.EVENT_ACQUISITION:
                    a, j = int(row[L.EV_LAB]), int(row[L.EV_OTHER])
                    assert labs.alive[b, a] and not labs.alive[b, j] and not labs.exited[b, j]
                    assert labs.cash_usd[b, j] == labs.compute_flop_per_year[b, j] == labs.share[b, j] == 0.0
                    assert row[L.EV_VALUE] > 0
                    deals += 1
    assert deals > 0


# ---------------------------------------------------------------------------------------------- funding


def test_investor_weight_rises_with_rank_and_growth(baseline):
    par = pack_parameters(baseline)[None, :]
    assert investor_weight(0.0, 0.0, 0.0, par, 0) == 1.0
    assert investor_weight(-0.1, 0.0, 0.0, par, 0) < 1.0
    growth = baseline.money.funding_growth_sensitivity
    assert investor_weight(0.0, 0.5, 0.0, par, 0) == pytest.approx(math.exp(0.5 * growth))
    assert investor_weight(0.0, 5.0, 0.0, par, 0) == investor_weight(0.0, 1.0, 0.0, par, 0)  # growth is clipped


def test_no_lab_takes_more_than_the_funding_bound(make_scenario):
    sc = make_scenario(None, **{**QUIET, "sim": {"years": 2.0}, "money": {"funding_max_share": 0.3}})
    sim = Simulation(sc, SEEDS, record_labs=False)
    while sim.steps_done < sim.n_steps:
        sim.step()
        pool = sc.money.funding_to_demand * sim.world.demand[:, None]
        investors = sim.labs.alive & (sim.labs.funding == 0)
        funding = np.where(investors, sim.labs.funding_inflow_usd_per_year, 0.0)
        assert (funding <= 0.3 * pool * (1 + 1e-12)).all()
        assert (funding.max(axis=1) >= 0.3 * pool[:, 0] * (1 - 1e-12)).all()  # the bound binds for the leader


# ---------------------------------------------------------------------------------------------- racing.toml


@pytest.mark.slow
def test_racing_scenario_has_catastrophes_and_a_safety_mix_has_fewer():
    """runs/racing.toml over 50 seeds: catastrophes in some seeds, not all; the safety-focused mix fewer
    catastrophes and fewer incidents (the numbers are in docs/agents.md)."""
    seeds = list(range(50))
    outcomes = {}
    for tag, overrides in (("racing", []), ("safety", ["labs.mix={safety_focused = 1.0}"])):
        scenario, _ = load_scenario("runs/racing.toml", overrides)
        sim = Simulation(scenario, seeds, record_labs=False).run()
        outcomes[tag] = (sum(sim.summary(b)["catastrophe"] for b in range(50)),
                         sum(sim.summary(b)["incidents"] for b in range(50)))
    assert 0 < outcomes["racing"][0] < 50
    assert outcomes["safety"][0] < outcomes["racing"][0]
    assert outcomes["safety"][1] < outcomes["racing"][1]


# ---------------------------------------------------------------------------------------------- Python strategies


def test_custom_python_strategy_example_changes_outcomes_as_documented():
    """agents/examples/custom_strategy.py: SafetyBrake labs on runs/racing.toml have fewer incidents and less drift
    than the built-in strategies with the same seeds, and the built-in adaptation leaves their routine alone."""
    from agents.examples.custom_strategy import RACING, SafetyBrake, compare
    from agents.model import AIEconomy
    from economy.archetypes import STRATEGY_PYTHON

    result = compare(seeds=range(3))
    built_in, brake = result["built-in"], result["SafetyBrake"]
    assert brake["incidents"] < built_in["incidents"]
    assert brake["mean_final_max_drift"] < built_in["mean_final_max_drift"]
    model = AIEconomy(load_scenario(RACING)[0], seed=5, lab_class=SafetyBrake, record_labs=False)
    for _ in range(60):
        model.step()
    labs = model.labs
    used = np.arange(labs.alive.shape[1]) < model.simulation.world.n_used[0]
    assert (labs.strategy[0][used] == STRATEGY_PYTHON).all()  # entrants too
    assert not (model.simulation.events_frame(0)["kind"] == "strategy_change").any()
    braking = labs.alive[0] & (labs.drift[0] > SafetyBrake.drift_limit)
    assert braking.any() and (labs.safety_base[0][braking] >= SafetyBrake.brake_safety).all()
