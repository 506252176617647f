"""What the tests of kernels against their plain-Python twins share (tests/economy/kernels/test_kernels.py and
test_stages.py).

The tolerances and the comparison of a kernel's state with its twin's, the copies, the step's random draws, and
the scenario cases: hand-picked (a single lab, twins, ties, zero inputs) and adversarial (all labs dead, no model
anywhere, every agent mechanism at high rates, the extremes of the valid ranges).
"""

from __future__ import annotations

import numpy as np

from economy.kernels import layout as L
from economy.state import LabState, NetworkState, StepDraws, StepWork, WorldState

RTOL = 1e-12
"""Relative tolerance where kernel and twin compute the same quantity by different arithmetic."""


def rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


EXACT_LAB_FIELDS = ("alive", "exited", "kind", "funding", "bloc", "customers", "strategy", "incidents",
                    "strategy_changed", "imitated", "incident_flag", "founded_year")
"""Masks, codes, counts and urn counts: the same arithmetic in kernel and twin, so identical."""
EXACT_RUN_FIELDS = ("step", "n_used", "n_events", "events_dropped", "catastrophe_year")


def copy_labs(labs: LabState) -> LabState:
    return LabState(*(a.copy() for a in labs))


def copy_world(world: WorldState) -> WorldState:
    return WorldState(*(a.copy() for a in world))


def copy_net(net: NetworkState) -> NetworkState:
    return NetworkState(*(a.copy() for a in net))


def copy_work(work: StepWork) -> StepWork:
    return StepWork(*(a.copy() for a in work))


NET_COMPARED = ("prev_log_software", "snap_researchers", "gain", "moved", "distilled", "active_edges")
"""Network arrays the step writes and the twin reproduces (the packed snapshot ``node`` and ``leave_rate`` are
intermediate)."""


def assert_equal(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """Identical (masks, codes, counts: the same arithmetic in kernel and twin)."""
    if not np.array_equal(got, want):
        np.testing.assert_array_equal(got, want, err_msg=what)


def assert_close(got: np.ndarray, want: np.ndarray, what: str, scale: np.ndarray | float = 0.0) -> None:
    """Equal to RTOL relative, or to RTOL times ``scale`` absolute where a difference cancels to near 0."""
    if np.array_equal(got, want, equal_nan=True):  # the common case, and a quick one
        return
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{what}: NaN pattern")
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want), err_msg=f"{what}: inf pattern")
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite], err_msg=what)
    tol = RTOL * np.maximum(np.abs(np.where(finite, want, 0.0)), scale)
    bad = finite & ~(np.abs(np.where(finite, got, 0.0) - np.where(finite, want, 0.0)) <= tol)
    assert not bad.any(), (f"{what}: got {got[bad].tolist()}, want {want[bad].tolist()} "
                           f"(tolerance {np.broadcast_to(tol, bad.shape)[bad].tolist()})")


def staff_scale(labs: LabState) -> np.ndarray:
    """Per run, the researchers in alive labs: the natural magnitude of talent flows between them."""
    return np.where(labs.alive, labs.researchers, 0.0).sum(axis=1)


def people_scale(labs: LabState, world: WorldState) -> np.ndarray:
    """Per run, the people in labs and in the talent pool: the natural magnitude of differences of head counts."""
    return staff_scale(labs) + world.talent_pool


def compute_scale(labs: LabState, world: WorldState, rec: np.ndarray) -> np.ndarray:
    """Per run, the compute owned, for resale and returned by exits this step (FLOP/year)."""
    return (np.where(labs.alive, labs.compute_flop_per_year, 0.0).sum(axis=1) + world.resale_flop
            + rec[:, L.M_COMPUTE_REMOVED_AT_EXIT])


def record_scales(rec: np.ndarray, labs: LabState, world: WorldState) -> dict[str, np.ndarray]:
    """Natural magnitudes of record columns that are differences (shares of 1, gaps of ln quantities, flows of
    people and compute), from the state, so that they hold at any stage of a step."""
    one = np.ones(rec.shape[0])
    log_s = 1.0 + np.abs(np.where(labs.alive, labs.log_software, 0.0)).max(axis=1, initial=0.0)
    return {
        "outside_share": one, "top1_share": one, "top4_share": one, "gini_revenue": one, "mean_safety": one,
        "frontier_automation": one,
        "leader_gap_ooms": np.abs(np.nan_to_num(rec[:, L.M_FRONTIER_LOG10_EFF_COMPUTE])),
        "knowledge_gap_dispersion": log_s, "mean_log_software_gap": log_s, "spillover_log_software": log_s,
        "talent_pool": people_scale(labs, world),
        "talent_flow": staff_scale(labs),
        "industry_return": one,
        "resale_compute": compute_scale(labs, world, rec),
    }


def assert_same_state(labs, world, rec, want_labs, want_world, want_rec, where: str, net=None, want_net=None) -> None:
    for name in LabState._fields:
        if name == "scratch":  # the record stage's sort buffer
            continue
        got, want = getattr(labs, name), getattr(want_labs, name)
        if name in EXACT_LAB_FIELDS:
            assert_equal(got, want, f"{where}: labs.{name}")
        else:
            assert_close(got, want, f"{where}: labs.{name}", lab_scale(name, want_labs))
    for name in WorldState._fields:
        got, want = getattr(world, name), getattr(want_world, name)
        if name in EXACT_RUN_FIELDS:
            assert_equal(got, want, f"{where}: world.{name}")
        elif name == "events":  # the rows filled this step (older rows are leftovers, never read)
            for b in range(got.shape[0]):
                k = int(want_world.n_events[b])
                assert_close(got[b, :k], want[b, :k], f"{where}: world.events[{b}]",
                              np.abs(want[b, :k]).max(initial=0))
        else:
            scale = people_scale(want_labs, want_world) if name == "talent_pool" else 0.0
            if name == "resale_flop":  # carried over times 1 - sold / available, which cancels when all is sold
                scale = compute_scale(want_labs, want_world, want_rec)
            assert_close(got, want, f"{where}: world.{name}", scale)
    scales = record_scales(want_rec, want_labs, want_world)
    for col, name in enumerate(L.MARKET_COLUMNS):
        if name in L.COUNT_COLUMNS:
            assert_equal(rec[:, col], want_rec[:, col], f"{where}: record {name}")
        else:
            assert_close(rec[:, col], want_rec[:, col], f"{where}: record {name}", scales.get(name, 0.0))
    if net is not None:
        for name in NET_COMPARED:
            got, want = getattr(net, name), getattr(want_net, name)
            if name in ("distilled", "active_edges"):
                np.testing.assert_array_equal(got, want, err_msg=f"{where}: net.{name}")
            elif name == "moved":  # talent flows: differences of attractiveness cancel, so to the run's staff
                assert_close(got, want, f"{where}: net.{name}", staff_scale(want_labs)[:, None])
            elif name == "gain":  # new minus old log_software: to the log_software it is the difference of, as the
                # record's spillover_log_software. The sums behind the new value run in another order in the twin;
                # one ulp of it is far more than RTOL of a small gain (measured: 5.6e-17 on a gain of 2.6e-5,
                # relative 2.1e-12, step 5 of the baseline with Open F started at a 0.0005 share)
                assert_close(got, want, f"{where}: net.{name}",
                             record_scales(want_rec, want_labs, want_world)["spillover_log_software"][:, None])
            else:
                assert_close(got, want, f"{where}: net.{name}", 0.0)


def lab_scale(name: str, labs: LabState) -> np.ndarray | float:
    """Natural magnitude, per run, of lab fields that can cancel to near 0."""
    if name in ("share", "safety", "automation", "openness", "performance", "aspiration", "revenue_growth",
                "safety_base", "compute_spend_fraction", "train_fraction", "inference_fraction"):
        return 1.0
    if name == "profit_usd_per_year":
        return np.max(np.abs(labs.revenue_usd_per_year) + labs.researchers * 1e6, axis=1, keepdims=True)
    if name in ("hire", "researchers"):  # an entrant hires from a talent pool summed in another order
        return np.max(np.abs(labs.researchers), axis=1, keepdims=True)
    if name in ("cash_usd", "logit_weight", "spare_capacity_usd_per_year", "funding_inflow_usd_per_year", "drift",
                "log_software", "run_log_software", "revenue_usd_per_year"):
        values = np.abs(getattr(labs, name))
        return np.max(np.where(np.isfinite(values), values, 0.0), axis=1, keepdims=True)
    return 0.0


def assert_untouched(before, pristine, what: str) -> None:
    for name, a, b in zip(before._fields, before, pristine, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=f"the twin changed its input {what}.{name}")


def random_draws(gen: np.random.Generator, n_runs: int, capacity: int) -> StepDraws:
    """Uniforms and normals for one step (the engine draws them from the runs' streams)."""
    return StepDraws(
        imitate=gen.random((n_runs, capacity)),
        search=gen.random((n_runs, capacity)),
        search_step=gen.standard_normal((n_runs, capacity, L.SEARCH_DRAWS)),
        entry=gen.random((n_runs, 1 + L.ENTRY_SLOTS)),
        entry_size=gen.standard_normal((n_runs, L.ENTRY_SLOTS)),
        acquire=gen.random((n_runs, capacity)),
        incident=gen.random((n_runs, capacity)),
        compliance=np.ones((n_runs, capacity, L.COMPLIANCE_DRAWS)),  # the stage twins model no compliance
    )



def kill_all(sim):
    sim.labs.alive[:] = False


def kill_one(sim):
    sim.labs.alive[:, 1] = False
    sim.labs.cash_usd[:, 1] = 0.0
    sim.labs.compute_flop_per_year[:, 1] = 0.0
    sim.labs.researchers[:, 1] = 0.0
    sim.labs.share[:, 1] = 0.0


_SINGLE = [{"name": "Solo", "kind": "frontier", "cash_usd": 1e10, "compute_flop_per_year": 3e27,
            "researchers": 1500.0, "log_software": 0.0}]
_TWINS = [{"name": "Twin A", "kind": "fast_follower", "cash_usd": 1e9, "compute_flop_per_year": 3e26,
           "researchers": 300.0, "log_software": -0.5},
          {"name": "Twin B", "kind": "fast_follower", "cash_usd": 1e9, "compute_flop_per_year": 3e26,
           "researchers": 300.0, "log_software": -0.5},
          {"name": "Other", "kind": "startup", "cash_usd": 5e8, "compute_flop_per_year": 3e25,
           "researchers": 60.0, "log_software": -1.5}]
_ZEROS = [{"name": "No compute", "kind": "frontier", "cash_usd": 1e10, "compute_flop_per_year": 0.0,
           "researchers": 1500.0, "log_software": 0.0},
          {"name": "No staff", "kind": "open_weights", "cash_usd": 5e9, "compute_flop_per_year": 2e27,
           "researchers": 0.0, "log_software": -0.2},
          {"name": "No cash", "kind": "startup", "cash_usd": 0.0, "compute_flop_per_year": 3e25,
           "researchers": 0.0, "log_software": -1.5}]

AGENTS_BUSY = {
    # every agent mechanism at high rates, so that a few steps see each kind of event
    "adaptation": {"imitation_rate_per_year": 6.0, "search_rate_per_year": 6.0, "search_step": 1.0,
                   "aspiration_years": 0.05},
    "entry": {"rate_per_year": 30.0, "size_dispersion": 2.0,
              "mix": {"startup": 1.0, "open_weights": 1.0, "state_programme": 1.0, "safety_focused": 1.0}},
    "acquisitions": {"rate_per_year": 20.0, "min_acquirer_share": 0.1, "max_target_share": 0.09},
    "incidents": {"hazard_per_drift": 50.0, "capability_threshold_log10_flop": 20.0, "catastrophe_fraction": 1.0,
                  "share_loss": 0.5, "cash_loss": 0.3},
    "safety": {"drift_rate": 50.0},
    "money": {"exit_relative_share": 0.3, "exit_grace_years": 0.5},
    "research": {"automation_midpoint_log10_flop": 26.0},
}
"""Scenario sections that make every agent mechanism fire within a couple of simulated years."""

STEP_CASES = {
    "small": ({}, None, None, [1, 2], 24),
    "one_lab": ({}, _SINGLE, None, [3], 24),
    "all_dead": ({}, None, kill_all, [4], 6),
    "one_dead": ({}, None, kill_one, [5], 12),
    "ties": ({"research": {"shock_sd": 0.0}}, _TWINS, None, [6], 24),
    "zero_inputs": ({}, _ZEROS, None, [7], 24),
    "automation_0": ({"research": {"max_automation": 0.0}}, None, None, [8], 12),
    "automation_1": ({"research": {"max_automation": 1.0, "automation_midpoint_log10_flop": 0.0,
                                   "automation_width_ooms": 0.01}}, None, None, [9], 12),
    "cobb_douglas": ({"research": {"substitution": 1.0}}, None, None, [10], 12),
    "no_experiments": ({"research": {"experiment_share": 0.0, "shock_sd": 2.0}}, None, None, [11], 12),
    "exits": ({"money": {"wage_usd_per_year": 5e7, "funding_to_demand": 0.0, "state_budget_usd_per_year": 0.0}},
              None, None, [12, 13], 12),
    "urn": ({"market": {"mode": "urn", "urn_exponent": 2.0, "urn_arrivals_per_step": 50}}, None, None, [14, 15], 12),
    # Simon's entry: arrivals found labs until the free columns run out (the second case: no open lab to trail)
    "urn_simon": ({"market": {"mode": "urn", "urn_arrivals_per_step": 20, "urn_entry_probability": 0.3},
                   "labs": {"max_entrants": 40}, "entry": {"rate_per_year": 3.0}}, None, None, [38, 39], 12),
    "urn_simon_no_open_lab": ({"market": {"mode": "urn", "urn_exponent": 1.5, "urn_arrivals_per_step": 10,
                                          "urn_entry_probability": 0.5},
                               "labs": {"max_entrants": 8}, "entry": {"open_threshold": 1.0}}, None, None, [40], 6),
    "singular": ({"sim": {"log_software_ceiling": 5.0}, "research": {
        "returns_to_research": 10.0, "max_automation": 1.0, "automation_midpoint_log10_flop": 0.0,
        "software_doubling_months": 0.5}}, None, None, [16], 24),
    "extreme_high": ({"sim": {"dt": 1.0, "years": 6.0}, "research": {
        "returns_to_research": 10.0, "parallelism": 1.0, "substitution": 10.0, "experiment_share": 0.95,
        "shock_sd": 2.0, "automation_width_ooms": 20.0}, "market": {
        "winner_take_all": 200.0, "data_flywheel": 5.0, "switching_years": 0.01, "adoption_growth_per_year": 5.0},
        "money": {"funding_rank_sensitivity": 1000.0, "hire_speed_per_year": 50.0, "talent_growth_per_year": 2.0},
        "compute": {"hw_doubling_years": 0.1, "hw_ai_feedback": 10.0, "depreciation_per_year": 5.0},
        "safety": {"racing_sensitivity": 1.0, "racing_scale": 1e-6}}, None, None, [17], 6),
    "extreme_low": ({"sim": {"dt": 0.01, "years": 1.0}, "research": {
        "returns_to_research": 0.05, "parallelism": 0.05, "substitution": 0.05, "max_automation": 1.0,
        "automation_width_ooms": 0.01}, "market": {"winner_take_all": 0.0, "switching_years": 50.0},
        "money": {"hire_speed_per_year": 0.0, "talent_pool": 0.0},
        "training": {"run_years": 0.01, "data_wall_efficiency": 0.0}}, None, None, [18], 30),
    "generated": ({"labs": {"n": 25, "list": []}}, None, None, [19, 20], 12),
    "network_complete": ({"network": {"kind": "complete", "talent_mobility": 5.0, "talent_pay_weight": 1.0,
                                      "publication_rate_per_year": 5.0, "distill_fraction": 0.5}},
                         None, None, [21, 22], 24),
    "network_sparse": ({"labs": {"n": 30, "list": []}, "network": {"kind": "erdos_renyi", "mean_degree": 3.0,
                                                                   "normalise_weights": False}},
                       None, None, [23, 24], 12),
    "segments": ({"network": {"kind": "stochastic_block", "cross_segment_intensity": 0.3,
                              "cut_cross_bloc_year": 2025.5}}, None, None, [25], 18),
    "separate_markets": ({"network": {"kind": "none", "cross_segment_intensity": 0.0}}, None, None, [26], 12),
    "no_model_anywhere": ({"archetypes": {k: {"train_fraction": 0.0} for k in (
        "frontier", "open_weights", "state_programme")}, "market": {"demand_quality_elasticity": 0.0}},
        None, None, [27], 12),
    "one_model": ({"archetypes": {k: {"train_fraction": 0.0} for k in ("open_weights", "state_programme")},
                   # no entrant with open weights, no copying of a training routine
                   "entry": {"rate_per_year": 0.0}, "adaptation": {"imitation_rate_per_year": 0.0,
                                                                   "search_rate_per_year": 0.0}},
                  None, None, [28], 12),
    "agents_busy": (AGENTS_BUSY, None, None, [30, 31], 24),
    "agents_busy_network": ({**AGENTS_BUSY, "network": {"kind": "erdos_renyi", "mean_degree": 3.0},
                             "labs": {"n": 12, "list": []}}, None, None, [32, 33], 24),
    "agents_generated_rivals": ({**AGENTS_BUSY, "labs": {"n": 20, "list": [], "max_entrants": 3},
                                 "safety": {"racing_rivals": 1}}, None, None, [34], 24),
    "merger_review_blocks": ({"entry": AGENTS_BUSY["entry"], "acquisitions": {
        "rate_per_year": 50.0, "min_acquirer_share": 0.1, "max_target_share": 0.09, "review_post_hhi": 0.0,
        "review_delta_hhi": 0.0}}, None, None, [35], 12),
    "no_open_lab": ({"entry": {"rate_per_year": 30.0, "open_threshold": 1.0}}, None, None, [36], 12),
    "event_buffer_full": ({**AGENTS_BUSY, "output": {"max_events_per_step": 1}}, None, None, [37], 12),
    "price_floor_vanishes": ({"sim": {"dt": 1.0, "years": 30.0}, "compute": {
        "hw_doubling_years": 0.1, "hw_ai_feedback": 10.0}, "research": {
        "max_automation": 1.0, "automation_midpoint_log10_flop": 0.0},
        "archetypes": {k: {"spend_rate_per_year": 0.0} for k in ("frontier", "open_weights", "state_programme")}},
        None, None, [29], 30),
}
