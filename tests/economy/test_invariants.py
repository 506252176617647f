"""Conservation, sub-distribution and finiteness invariants (docs/model.md, "Numerics and determinism").

Per step, from the market record's stock and flow columns:

* money: the change in total cash equals revenue (1 - opex) + investor funding + state budgets + cash brought by
  entrants - compute spending - wages - cash removed at exit - prices paid for acquisitions (to the targets'
  owners) - incident costs;
* compute: stock' = (stock + bought) e^(-depreciation dt) - compute removed at exit, recomputed here from the
  depreciation rate (not from the recorded depreciation, which is checked against it too);
* people: researchers plus the talent pool change only by the recorded talent growth (hiring, firing, exits,
  acquisitions, entrants hiring from the pool and talent mobility along the network move people, never create
  or destroy them);
* labs: alive labs change by entries - exits - acquisitions, every event of the step is in the event table with
  the record's counts, lab ids stay unique (columns are never reused) and the catastrophe flag is absorbing;
* shares: each in [0, 1] and their sum at most 1 (the outside option keeps the rest);
* no NaN and no inf in any state array or record column, except the NaN the record documents (the leader's
  gap and the runner-up while fewer than two alive labs have a trained model, the frontier columns while none
  has) and ln 0 = -inf in ln E and quality of a lab with no trained model.

The sweep draws scenarios with hypothesis (derandomized, so it is deterministic) from the scenario schema
itself: every numeric parameter of every section is, independently, left at its default or set to the low end,
the high end or an interior point of its valid range (open or unbounded ends: a millionth or a million times the
default).  Horizons are short.  The sweep must include runs in which labs exit.
"""

from __future__ import annotations

import math
from typing import Any, Literal, get_args, get_origin

import numpy as np
import pytest
from annotated_types import Ge, Gt, Le, Lt
from conftest import scenario_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from economy.engine import LAB_COLUMNS, Simulation
from economy.kernels import layout as L
from economy.params import (
    Acquisitions,
    Adaptation,
    Archetype,
    Capability,
    Compute,
    Entry,
    Incidents,
    Market,
    Money,
    Network,
    Research,
    Safety,
    Scenario,
    Training,
)

SWEPT_SECTIONS = {
    "research": Research, "compute": Compute, "training": Training, "capability": Capability, "market": Market,
    "money": Money, "safety": Safety, "network": Network, "entry": Entry, "acquisitions": Acquisitions,
    "incidents": Incidents, "adaptation": Adaptation,
}
CAPS = {
    ("market", "urn_arrivals_per_step"): 500,  # keeps each example fast
    ("network", "mean_degree"): 50.0,
}
EXCLUDED = {("network", "kind"): ("file",), ("network", "file"): None}
LOG_FIELDS = ("log_eff_compute", "quality", "logit_weight")
"""Lab fields holding ln of a quantity that is 0 for a lab with no trained model: -inf is their ln 0."""
NAN_WITH_FEWER_THAN_TWO_MODELS = ("leader_gap_ooms", "leader_gap_years", "runnerup_quality")
"""Record columns that are NaN while fewer than two alive labs have a trained model."""
NAN_WITHOUT_MODEL = ("frontier_quality", "frontier_log10_eff_compute", "frontier_log_software",
                       "frontier_automation")
"""Record columns that are NaN while no alive lab has a trained model."""


# ---------------------------------------------------------------------------------------------- the sweep


def _bounds(info) -> tuple[float | None, bool, float | None, bool]:
    lo = hi = None
    lo_open = hi_open = False
    for item in info.metadata:
        if isinstance(item, Ge):
            lo = item.ge
        elif isinstance(item, Gt):
            lo, lo_open = item.gt, True
        elif isinstance(item, Le):
            hi = item.le
        elif isinstance(item, Lt):
            hi, hi_open = item.lt, True
    return lo, lo_open, hi, hi_open


def _numeric_choices(info, default: float, integer: bool) -> dict[str, Any]:
    """The low end, the high end and an interior point of a parameter's valid range."""
    lo, lo_open, hi, hi_open = _bounds(info)
    scale = abs(default) if default else 1.0
    low = (lo if not lo_open else (lo + scale * 1e-6 if lo == 0 else lo * (1 + 1e-9))) if lo is not None else -scale
    high = (hi if not hi_open else hi * (1 - 1e-9)) if hi is not None else scale * 1e6
    if integer:
        low, high = math.ceil(low), math.floor(high)
    return {"lo": low, "hi": high}


def _field_strategy(section: str, name: str, info) -> st.SearchStrategy | None:
    key = (section, name)
    if key in EXCLUDED and EXCLUDED[key] is None:
        return None
    annotation = info.annotation
    default = info.default
    if get_origin(annotation) is Literal:
        options = [v for v in get_args(annotation) if v not in EXCLUDED.get(key, ())]
        return st.sampled_from(options)
    if annotation is bool:
        return st.booleans()
    optional = get_origin(annotation) is not None and type(None) in get_args(annotation)
    base = next(a for a in get_args(annotation) if a is not type(None)) if optional else annotation
    if base not in (int, float):
        return None
    integer = base is int
    reference = default if default is not None else (_bounds(info)[0] or 1.0)
    ends = _numeric_choices(info, reference, integer)
    if key in CAPS:
        ends["hi"] = min(ends["hi"], CAPS[key])
    lo, hi = ends["lo"], ends["hi"]
    if integer:
        interior = st.integers(lo, hi)
    elif lo > 0 and hi / lo > 1e3:
        interior = st.floats(math.log(lo), math.log(hi)).map(math.exp).map(lambda x, lo=lo, hi=hi: min(max(x, lo), hi))
    else:
        interior = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    choices = [st.just(default)] * 3 + [st.just(lo), st.just(hi), interior]
    return st.one_of(*choices)


def _section_strategy(section: str, model) -> st.SearchStrategy:
    fields = {}
    for name, info in model.model_fields.items():
        strategy = _field_strategy(section, name, info)
        if strategy is not None:
            fields[name] = strategy
    return st.fixed_dictionaries(fields)


def _archetype_strategy() -> st.SearchStrategy:
    fields = {}
    for name, info in Archetype.model_fields.items():
        if name in ("cash_usd", "compute_flop_per_year", "researchers", "log_software"):
            continue  # sizes come from the labs' list below
        strategy = _field_strategy("archetypes", name, info)
        if strategy is not None:
            fields[name] = strategy
    return st.fixed_dictionaries(fields)


_LAB = st.fixed_dictionaries({
    "kind": st.sampled_from(["frontier", "open_weights", "fast_follower", "safety_focused", "state_programme",
                             "startup"]),
    "cash_usd": st.sampled_from([1e10, 1e10, 0.0, 1e3, 1e14]),
    "compute_flop_per_year": st.sampled_from([3e27, 3e27, 0.0, 1e18, 1e31]),
    "researchers": st.sampled_from([1500.0, 1500.0, 0.0, 1.0, 1e6]),
    "log_software": st.sampled_from([0.0, -1.0, -50.0, 50.0]),
    "bloc": st.sampled_from([0, 0, 1, 63]),
})


@st.composite
def scenarios(draw) -> dict[str, Any]:
    sections = {name: draw(_section_strategy(name, model)) for name, model in SWEPT_SECTIONS.items()}
    acquisitions = sections["acquisitions"]
    if acquisitions["max_target_share"] >= acquisitions["min_acquirer_share"]:  # the schema requires <
        acquisitions["min_acquirer_share"] = max(acquisitions["min_acquirer_share"], 0.1)
        acquisitions["max_target_share"] = acquisitions["min_acquirer_share"] * 0.5
    if sections["market"]["mode"] != "urn":  # Simon's entry acts only in the urn mode (the schema requires it)
        sections["market"]["urn_entry_probability"] = 0.0
    capability = sections["capability"]
    if capability["superhuman_log10_flop"] <= capability["par_human_log10_flop"]:
        capability["par_human_log10_flop"] = min(capability["par_human_log10_flop"], 79.0)
        capability["superhuman_log10_flop"] = capability["par_human_log10_flop"] + 1.0
    archetypes = {}
    for kind in ("frontier", "open_weights", "fast_follower", "safety_focused", "state_programme", "startup"):
        arch = draw(_archetype_strategy())
        total = arch["train_fraction"] + arch["inference_fraction"]
        if total > 1.0:
            arch["train_fraction"] /= total
            arch["inference_fraction"] = 1.0 - arch["train_fraction"]
        archetypes[kind] = arch
    sections["archetypes"] = archetypes
    dt = draw(st.sampled_from([1 / 12, 1.0, 0.01, 0.25]))
    steps = draw(st.integers(1, 24))
    sections["sim"] = {"dt": dt, "years": steps * dt, "start_year": draw(st.sampled_from([2025.0, 1950.0, 2200.0])),
                       "log_software_ceiling": draw(st.sampled_from([100.0, 5.0, 700.0]))}
    if draw(st.integers(0, 4)) == 0:
        labs = {"n": draw(st.sampled_from([1, 7, 40])), "size_dispersion": draw(st.sampled_from([0.0, 1.5, 5.0]))}
        data = scenario_dict(**sections)
        data["labs"] = {**labs, "list": []}
        return data
    listed = draw(st.lists(_LAB, min_size=1, max_size=4))
    for i, lab in enumerate(listed):
        lab["name"] = f"Lab {i}"
    return scenario_dict(listed, **sections)


# ---------------------------------------------------------------------------------------------- the checks


def _close(lhs: float, rhs: float, magnitude: float, what: str, rel: float = 1e-9) -> None:
    assert abs(lhs - rhs) <= rel * magnitude + 1e-300, f"{what}: {lhs!r} != {rhs!r} (magnitude {magnitude:g})"


def check_invariants(sim: Simulation) -> dict[str, int]:
    """Run ``sim`` to its horizon, checking every invariant after every step; return what happened."""
    exits = 0
    singular = 0
    events = {"entry": 0, "acquisition": 0, "incident": 0}
    n_runs = sim.labs.cash_usd.shape[0]
    check_state(sim, 0)
    while sim.steps_done < sim.n_steps:
        sim.step()
        k = sim.steps_done
        check_state(sim, k)
        for b in range(n_runs):
            before, rec = sim.market[k - 1, b], sim.market[k, b]
            dt = sim.par[b, L.P_SIM_DT]
            # money
            inflow = (rec[L.M_CASH_REVENUE] - rec[L.M_CASH_OPEX] + rec[L.M_CASH_FUNDING] + rec[L.M_CASH_STATE_BUDGET]
                      + rec[L.M_CASH_ENTRY] + rec[L.M_CASH_SUBSIDY])
            outflow = (
                rec[L.M_CASH_COMPUTE_SPEND]
                + rec[L.M_CASH_WAGES]
                + rec[L.M_CASH_REMOVED_AT_EXIT]
                + rec[L.M_CASH_ACQUISITIONS]
                + rec[L.M_CASH_INCIDENTS]
            )
            magnitude = sum(
                abs(rec[c])
                for c in (
                    L.M_CASH_REVENUE,
                    L.M_CASH_OPEX,
                    L.M_CASH_FUNDING,
                    L.M_CASH_STATE_BUDGET,
                    L.M_CASH_COMPUTE_SPEND,
                    L.M_CASH_WAGES,
                    L.M_CASH_REMOVED_AT_EXIT,
                    L.M_CASH_ENTRY,
                    L.M_CASH_ACQUISITIONS,
                    L.M_CASH_INCIDENTS,
                    L.M_CASH_SUBSIDY,
                    L.M_TAX_REVENUE,
                )
            )
            magnitude += abs(before[L.M_TOTAL_CASH]) + abs(rec[L.M_TOTAL_CASH])
            _close(
                rec[L.M_TOTAL_CASH] - before[L.M_TOTAL_CASH], inflow - outflow, magnitude, f"money, run {b}, step {k}"
            )
            assert rec[L.M_CASH_REVENUE] >= 0 and rec[L.M_CASH_COMPUTE_SPEND] >= 0 and rec[L.M_CASH_WAGES] >= 0
            assert 0 <= rec[L.M_CASH_OPEX] <= rec[L.M_CASH_REVENUE] * (1 + 1e-12)
            assert rec[L.M_CASH_FUNDING] >= 0 and rec[L.M_CASH_STATE_BUDGET] >= 0
            assert rec[L.M_CASH_ENTRY] >= 0 and rec[L.M_CASH_ACQUISITIONS] >= 0 and rec[L.M_CASH_INCIDENTS] >= 0
            # labs: alive = before + entries + break-up parts - exits - acquisitions; the catastrophe flag never
            # resets
            assert rec[L.M_N_ALIVE] == (before[L.M_N_ALIVE] + rec[L.M_N_ENTRIES] + rec[L.M_N_BREAKUP_PARTS]
                                        - rec[L.M_N_EXITS] - rec[L.M_N_ACQUISITIONS]), f"labs alive, run {b}, step {k}"
            assert rec[L.M_CATASTROPHE] >= before[L.M_CATASTROPHE]
            events["entry"] += int(rec[L.M_N_ENTRIES])
            events["acquisition"] += int(rec[L.M_N_ACQUISITIONS])
            events["incident"] += int(rec[L.M_INCIDENTS])
            # compute, with depreciation recomputed from the rate
            decay = math.exp(-sim.par[b, L.P_COMPUTE_DEPRECIATION_PER_YEAR] * dt)
            kept = (before[L.M_TOTAL_COMPUTE] + rec[L.M_COMPUTE_BOUGHT]) * decay
            magnitude = before[L.M_TOTAL_COMPUTE] + rec[L.M_COMPUTE_BOUGHT] + rec[L.M_COMPUTE_REMOVED_AT_EXIT]
            _close(
                rec[L.M_TOTAL_COMPUTE],
                kept - rec[L.M_COMPUTE_REMOVED_AT_EXIT],
                magnitude,
                f"compute, run {b}, step {k}",
            )
            _close(
                rec[L.M_COMPUTE_DEPRECIATED],
                (before[L.M_TOTAL_COMPUTE] + rec[L.M_COMPUTE_BOUGHT]) * (1 - decay),
                magnitude,
                f"recorded depreciation, run {b}, step {k}",
            )
            assert rec[L.M_COMPUTE_BOUGHT] >= 0 and rec[L.M_COMPUTE_REMOVED_AT_EXIT] >= 0
            # compute sold back at exit waits in the resale pool, which only ever sells part of itself
            assert (
                0
                <= rec[L.M_RESALE_COMPUTE]
                <= before[L.M_RESALE_COMPUTE] + rec[L.M_COMPUTE_REMOVED_AT_EXIT] + 1e-9 * magnitude
            )
            # people
            people_before = before[L.M_TOTAL_RESEARCHERS] + before[L.M_TALENT_POOL]
            people_after = rec[L.M_TOTAL_RESEARCHERS] + rec[L.M_TALENT_POOL]
            _close(people_after - people_before, rec[L.M_PEOPLE_GROWTH], people_before + people_after,
                   f"people, run {b}, step {k}")
            growth = (
                sim.par[b, L.P_MONEY_TALENT_GROWTH_PER_YEAR]
                * people_after
                / (1 + sim.par[b, L.P_MONEY_TALENT_GROWTH_PER_YEAR] * dt)
                * dt
            )
            _close(rec[L.M_PEOPLE_GROWTH], growth, people_after, f"talent growth, run {b}, step {k}")
            assert rec[L.M_TALENT_POOL] >= 0 and rec[L.M_TOTAL_RESEARCHERS] >= 0
            exits += int(rec[L.M_N_EXITS])
            singular = max(singular, int(rec[L.M_N_SINGULAR]))
    for b in range(n_runs):
        check_events(sim, b)
    return {"exits": exits, "singular": singular, **events}


def check_events(sim: Simulation, b: int) -> None:
    """The event table of run b agrees with the record's counts, step by step; lab ids are unique."""
    table = sim.events_frame(b)
    dt, start = sim.par[b, L.P_SIM_DT], sim.par[b, L.P_SIM_START_YEAR]
    steps = np.rint((table["year"].to_numpy() - start) / dt).astype(np.int64)
    counts = {
        "entry": L.M_N_ENTRIES,
        "exit": L.M_N_EXITS,
        "acquisition": L.M_N_ACQUISITIONS,
        "acquisition_blocked": L.M_N_ACQUISITIONS_BLOCKED,
        "strategy_change": L.M_N_STRATEGY_CHANGES,
        "breakup": L.M_N_BREAKUP_PARTS,
    }
    records = sim.market[:, b, :]
    dropped = records[1:, L.M_EVENTS_DROPPED].sum()
    for kind, col in counts.items():
        per_step = np.bincount(steps[table["kind"].to_numpy() == kind], minlength=sim.n_steps + 1)
        if dropped == 0:
            np.testing.assert_array_equal(per_step[1:], records[1:, col], err_msg=f"{kind} events, run {b}")
    incidents = np.bincount(steps[table["kind"].isin(["incident", "catastrophe"]).to_numpy()],
                            minlength=sim.n_steps + 1)
    if dropped == 0:
        np.testing.assert_array_equal(incidents[1:], records[1:, L.M_INCIDENTS], err_msg=f"incidents, run {b}")
    entered = table.loc[table["kind"] == "entry", "lab_id"].to_numpy()
    assert len(set(entered)) == len(entered) and (entered >= sim.n_labs).all()
    parts = table.loc[table["kind"] == "breakup", "lab_id"].to_numpy()
    assert len(set(parts)) == len(parts) and not set(parts) & set(entered) and (parts >= sim.n_labs).all()
    assert sim.world.n_used[b] == sim.n_labs + len(entered) + len(parts) <= sim.capacity
    assert len(sim.names[b]) == sim.world.n_used[b] and len(set(sim.names[b])) == len(sim.names[b])


def check_state(sim: Simulation, k: int) -> None:
    """Shares, finiteness of every state array and record column after ``k`` steps."""
    labs, world = sim.labs, sim.world
    where = f"after step {k}"
    # shares: a sub-distribution; dead labs hold none
    share = labs.share
    assert np.all((share >= 0.0) & (share <= 1.0)), where
    assert np.all(np.where(labs.alive, share, 0.0).sum(axis=1) <= 1.0 + 1e-12), where
    assert np.all(share[~labs.alive & labs.exited] == 0.0), where
    # state arrays
    for name in labs._fields:
        values = getattr(labs, name)
        if values.dtype.kind != "f" or name == "scratch":
            continue
        if name in LOG_FIELDS:
            assert not np.isnan(values).any() and not (values == np.inf).any(), f"labs.{name} {where}"
        else:
            assert np.isfinite(values).all(), f"labs.{name} not finite {where}: {values[~np.isfinite(values)]}"
    # ln 0 marks exactly the labs with no trained model: ln E and quality agree on which
    np.testing.assert_array_equal(labs.log_eff_compute == -np.inf, labs.quality == -np.inf, err_msg=where)
    for name in world._fields:
        values = getattr(world, name)
        if name == "frontier_history":
            assert not np.isnan(values).any() and not (values == np.inf).any(), f"world.{name} {where}"
        else:
            assert np.isfinite(values).all(), f"world.{name} not finite {where}: {values}"
    # the record: NaN only where a column is undefined
    rec = sim.market[k]
    with_model = (labs.alive & (labs.quality > -np.inf)).sum(axis=1)
    for c, name in enumerate(L.MARKET_COLUMNS):
        column = rec[:, c]
        allowed_nan = np.zeros(column.shape, bool)
        if name in NAN_WITH_FEWER_THAN_TWO_MODELS:
            allowed_nan = with_model < 2
            if name == "leader_gap_years":  # also while the frontier has not grown over the last year
                allowed_nan[:] = True
        if name in NAN_WITHOUT_MODEL:
            allowed_nan = with_model == 0
        bad = ~np.isfinite(column) & ~(np.isnan(column) & allowed_nan)
        assert not bad.any(), f"record {name} {where}: {column}"
        assert not (np.isnan(column) & ~allowed_nan).any(), f"record {name} {where}: {column}"
    # the lab table
    if sim.record_labs and sim.lab_records:
        step, table = sim.lab_records[-1]
        for name in LAB_COLUMNS:
            values = table[name][table["keep"]]
            if name in LOG_FIELDS:
                assert not np.isnan(values).any() and not (values == np.inf).any(), f"lab table {name}"
            else:
                assert np.isfinite(values).all(), f"lab table {name} at step {step}: {values}"


SWEEP_SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.slow
def test_invariants_over_the_valid_parameter_space():
    seen: list[dict[str, int]] = []

    @SWEEP_SETTINGS
    @given(data=scenarios(), seed=st.integers(0, 2**32 - 1))
    def sweep(data, seed):
        scenario = Scenario.model_validate(data)
        with np.errstate(invalid="raise", divide="raise", over="raise"):
            sim = Simulation(scenario, [seed, seed + 1])
        seen.append(check_invariants(sim))

    sweep()
    assert len(seen) >= 20
    # the sweep reached the sinks it is meant to check
    assert sum(s["exits"] > 0 for s in seen) >= 2, seen
    assert sum(s["exits"] == 0 for s in seen) >= 2, seen


# ---------------------------------------------------------------------------------------------- fixed cases


ALL_POLICIES = [
    {"kind": "compute_cap", "start_year": 2025.0, "max_training_flop": 1e26},
    {"kind": "compute_tax", "start_year": 2025.0, "rate": 0.5, "small_share": 0.3},
    {"kind": "windfall_tax", "start_year": 2025.0, "rate": 0.5, "threshold_usd_per_year": 0.0, "small_share": 0.3},
    {"kind": "rnd_subsidy", "start_year": 2025.0, "rate": 0.5, "max_share": 0.3},
    {"kind": "open_publication", "start_year": 2025.5, "min_openness": 0.5},
    {"kind": "merger_review", "start_year": 2025.0, "post_hhi": 0.0, "delta_hhi": 0.0},
    {"kind": "breakup", "start_year": 2025.5, "max_share": 0.2},
    {"kind": "export_controls", "start_year": 2025.5, "end_year": 2026.5, "restricted_blocs": [1]},
    {"kind": "safety_standard", "start_year": 2025.0, "min_safety": 0.3, "liability": 2.0},
    {"kind": "conditional_pause", "start_year": 2025.0, "threshold_log10_eff_compute": 20.0, "duration_years": 0.5},
]
"""Every policy at once, most from the start (docs/policies.md): conservation must hold through all of them."""

FIXED = {
    "baseline_like": ({}, None),
    "exits": ({"money": {"wage_usd_per_year": 5e7, "funding_to_demand": 0.0, "state_budget_usd_per_year": 0.0}},
              None),
    "no_model_anywhere": ({"archetypes": {k: {"train_fraction": 0.0} for k in (
        "frontier", "open_weights", "state_programme")}, "market": {"demand_quality_elasticity": 0.0}}, None),
    "no_compute_anywhere": ({}, [{"name": "Empty", "kind": "startup", "cash_usd": 0.0, "compute_flop_per_year": 0.0,
                                  "researchers": 0.0, "log_software": 0.0}]),
    "network": ({"network": {"kind": "complete", "talent_mobility": 100.0, "talent_pay_weight": 100.0,
                             "publication_rate_per_year": 100.0, "distill_fraction": 1.0}}, None),
    "segments": ({"network": {"kind": "erdos_renyi", "cross_segment_intensity": 0.0, "cut_cross_bloc_year": 1900.0}},
                 None),
    "urn": ({"market": {"mode": "urn", "urn_exponent": 10.0}}, None),
    "agents_busy": ({
        "adaptation": {"imitation_rate_per_year": 6.0, "search_rate_per_year": 6.0, "search_step": 1.0},
        "entry": {"rate_per_year": 30.0, "mix": {"startup": 1.0, "state_programme": 1.0, "open_weights": 1.0}},
        "acquisitions": {"rate_per_year": 20.0, "min_acquirer_share": 0.1, "max_target_share": 0.09},
        "incidents": {"hazard_per_drift": 50.0, "capability_threshold_log10_flop": 20.0, "share_loss": 0.5,
                      "cash_loss": 0.3},
        "safety": {"drift_rate": 50.0}, "money": {"exit_relative_share": 0.3, "exit_grace_years": 0.5},
        "research": {"automation_midpoint_log10_flop": 26.0}}, None),
    "urn_with_entry": ({"market": {"mode": "urn"}, "entry": {"rate_per_year": 30.0}}, None),
    "all_policies": ({"policies": ALL_POLICIES, "acquisitions": {"rate_per_year": 20.0, "min_acquirer_share": 0.1,
                                                                 "max_target_share": 0.09},
                      "entry": {"rate_per_year": 3.0}, "labs": {"max_entrants": 32},
                      "incidents": {"hazard_per_drift": 50.0},
                      "safety": {"drift_rate": 50.0}}, None),
    "singular": ({"sim": {"log_software_ceiling": 5.0}, "research": {
        "returns_to_research": 10.0, "max_automation": 1.0, "automation_midpoint_log10_flop": 0.0,
        "software_doubling_months": 0.5}}, None),
    "price_floor_vanishes": ({"sim": {"dt": 1.0, "years": 30.0}, "compute": {
        "hw_doubling_years": 0.1, "hw_ai_feedback": 10.0}, "research": {
        "max_automation": 1.0, "automation_midpoint_log10_flop": 0.0},
        "archetypes": {k: {"spend_rate_per_year": 0.0} for k in (
            "frontier", "open_weights", "state_programme")}}, None),
}


@pytest.mark.parametrize("name", sorted(FIXED))
def test_invariants_fixed_cases(name, make_scenario):
    sections, labs = FIXED[name]
    sim = Simulation(make_scenario(labs, **sections), [3, 4])
    outcome = check_invariants(sim)
    if name == "exits":
        assert outcome["exits"] > 0
    if name == "singular":
        assert outcome["singular"] > 0
    if name == "all_policies":
        m = sim.market[1:]
        assert (m[..., L.M_TAX_REVENUE] > 0).any() and (m[..., L.M_CASH_SUBSIDY] > 0).any()
        assert (m[..., L.M_N_BREAKUP_PARTS] > 0).any() and (m[..., L.M_PAUSED] > 0).any()
    if name == "agents_busy":  # conservation held through entries, exits, acquisitions and incidents
        assert outcome["exits"] > 0 and outcome["entry"] > 0 and outcome["acquisition"] > 0 and outcome["incident"] > 0
