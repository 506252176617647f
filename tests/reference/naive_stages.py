"""Plain-Python twins of the step's stages (economy/kernels/step.py), one function per stage kernel.

Each stage twin works on one run, written the plain way: a list of labs (one dict each), the run's world as a
dict, the parameters by name, and ``work``, a dict of the per-run values one stage hands to a later one (the
twin of ``economy.state.StepWork``'s per-run fields, under the same names).  Sums are ``math.fsum``, maxima and
orderings are ``max`` and ``sorted``, and the scalar formulas are the twins of :mod:`tests.reference.naive`;
stages 1, 5, 7's acquisitions and entry, and 8 are the twins of :mod:`tests.reference.naive_agents` and
:mod:`tests.reference.naive_network`.

:func:`naive_stage` runs one stage twin over a batch (the arrays are copied into dicts and back, the inputs are
left untouched), so that a test can hold each stage kernel against its own twin on any state;
:func:`naive_step` runs them all in the order of ``step_batch``.  The twins model no policy (stage 9): their
scenarios have none, and the policies' own twins are in :mod:`tests.reference.naive_policies`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import networkx as nx
import numpy as np

from economy.kernels import layout as L
from economy.state import WORK_SCRATCH, LabState, NetworkState, StepDraws, StepWork, WorldState, allocate_work

from . import naive, naive_triggers
from . import naive_agents as agents
from .naive_network import naive_knowledge_gap, naive_segment_targets, naive_spillover

__all__ = [
    "STAGES",
    "begin_step",
    "demand_stage",
    "factor_market_stage",
    "incident_stage",
    "money_stage",
    "naive_record_initial",
    "naive_stage",
    "naive_step",
    "record_stage",
    "research_stage",
    "spillover_stage",
    "strategy_stage",
    "training_stage",
]

NEG_INF = -math.inf
NAN = math.nan
LN10 = math.log(10.0)

WORK_PER_RUN = tuple(name for name in StepWork._fields[4:] if name not in ("log_norm", *WORK_SCRATCH))
"""``StepWork``'s per-run scalars: the keys of a stage twin's ``work`` dict (the logit's per-segment normalisers
``log_norm`` are the kernel's numerical device, the twin computes the shares' targets directly; the kernels'
scratch is not state)."""
NET_FLOWS = ("prev_log_software", "snap_researchers", "gain", "moved", "distilled", "active_edges")
"""The per-lab network arrays the stage twins write (``NetworkState``)."""

Stage = Callable[[list[dict], dict, dict, dict, dict, list], None]


# ---------------------------------------------------------------------------------------------- the stages


def begin_step(labs: list[dict], run: dict, p: dict, work: dict, inputs: dict, rec: list) -> None:
    """Empty the event buffer; the step's start and end years."""
    run["n_events"] = 0
    run["events_dropped"] = 0
    work["start_year"] = p["sim_start_year"] + run["step"] * p["sim_dt"]
    work["end_year"] = work["start_year"] + p["sim_dt"]


def strategy_stage(labs: list[dict], run: dict, p: dict, work: dict, inputs: dict, rec: list) -> None:
    """Stage 1: adaptation, racing, budget (:func:`tests.reference.naive_agents.decide_stage`)."""
    agents.decide_stage(labs, run, p, inputs["network"]["graph"], inputs["draws"], work["start_year"], rec)


def factor_market_stage(labs: list[dict], run: dict, p: dict, work: dict, inputs: dict, rec: list) -> None:
    """Stage 2: the compute market clears at one price, the talent pool fills hires in proportion, the hardware
    floor falls; then every alive lab pays, buys, depreciates and hires."""
    dt = p["sim_dt"]
    year = work["start_year"]
    live = [lab for lab in labs if lab["alive"]]
    owned = math.fsum(lab["compute_flop_per_year"] for lab in live)
    budget = math.fsum(lab["compute_budget_usd"] for lab in live)
    hires = math.fsum(lab["hire"] for lab in live if lab["hire"] > 0.0)
    fires = math.fsum(-lab["hire"] for lab in live if lab["hire"] <= 0.0)
    supply = p["compute_supply_flop_per_year"] * math.exp(
        p["ln_compute_supply_growth_per_year"] * (year - p["sim_start_year"])
    )
    available = supply * dt + run["resale_flop"]
    floor = math.exp(run["log_price_floor"])
    price = max(floor, budget / available)
    sold = budget / price if price > 0.0 else 0.0  # a zero price (floor underflowed, nothing bid) sells nothing
    if run["resale_flop"] > 0.0:
        run["resale_flop"] *= max(0.0, 1.0 - sold / available)
    run["price"] = price
    rec[L.M_CASH_COMPUTE_SPEND] = budget
    rec[L.M_COMPUTE_BOUGHT] = sold
    rec[L.M_COMPUTE_DEPRECIATED] = naive._one_minus_exp_neg(p["compute_depreciation_per_year"] * dt) * (owned + sold)
    rec[L.M_PRICE_FLOOR] = floor
    pool = run["talent_pool"] + fires
    fill = min(1.0, pool / hires) if hires > 0.0 else 1.0
    run["talent_pool"] = max(0.0, pool - hires * fill)  # rationed hiring empties the pool
    # the leader as of the last step (stage 1 changes no quality)
    lead, _ = naive.top_two([lab["quality"] for lab in labs], [lab["alive"] for lab in labs])
    frontier_automation = labs[lead]["automation"] if lead >= 0 else 0.0
    run["log_price_floor"] -= (
        p["ln2_over_compute_hw_doubling_years"] * (1.0 + p["compute_hw_ai_feedback"] * frontier_automation) * dt
    )
    work["own_compute_fraction"] = 1.0  # no compute tax
    work["hire_fraction"] = fill
    for lab in live:
        lab["cash_usd"] -= lab["compute_budget_usd"]
        bought = lab["compute_budget_usd"] / price if price > 0.0 else 0.0
        lab["compute_flop_per_year"] = (lab["compute_flop_per_year"] + bought) * math.exp(
            -p["compute_depreciation_per_year"] * dt
        )
        h = lab["hire"]
        lab["researchers"] = max(0.0, lab["researchers"] + (h * fill if h > 0.0 else h))


def research_stage(labs: list[dict], run: dict, p: dict, work: dict, inputs: dict, rec: list) -> None:
    """Stage 3: every alive lab not held at the ceiling advances ln S; its drift grows with automated progress.
    Reaching the ceiling sets its ceiling year, and its singular year too (the analytic blow-up) if the growth diverges.
    With a network, the step-start ln S is kept for stage 5."""
    if inputs["network"]["spill"]:
        inputs["flows"]["prev_log_software"] = [lab["log_software"] for lab in labs]
    for lab, shock in zip(labs, inputs["shocks"], strict=True):
        if not lab["alive"] or lab["ceiling_year"] >= 0.0:
            continue
        log_s = lab["log_software"]
        log_g, slope = naive.lab_log_growth(lab, p, shock)
        ceiling = p["sim_log_software_ceiling"]
        new_s, tau = naive.advance_log_software(log_s, log_g, slope, p["sim_dt"], ceiling)
        if tau >= 0.0:
            lab["ceiling_year"] = work["start_year"] + tau
            exponent = slope + naive.automation_slope(lab["log_eff_compute"], slope, p)
            after = naive.divergence_time(log_g + slope * (ceiling - log_s), exponent)
            if after >= 0.0:
                lab["singular_year"] = work["start_year"] + tau + after
        lab["drift"] += lab["automation"] * (new_s - log_s) * (1.0 - lab["safety"]) * p["safety_drift_rate"]
        lab["log_software"] = new_s


def training_stage(labs: list[dict], run: dict, p: dict, work: dict, inputs: dict, rec: list) -> None:
    """Stage 4: a training run accumulates FLOP and is released when it has lasted run_years; automation,
    quality and logit weight follow the served model."""
    dt = p["sim_dt"]
    for lab in labs:
        if not lab["alive"]:
            continue
        # training FLOP per FLOP/year of owned compute grows from 1 at the start year
        efficiency = math.exp(p["ln_compute_training_efficiency_growth_per_year"] * (work["start_year"]
                                                                                      - p["sim_start_year"]))
        compute = lab["compute_flop_per_year"] * efficiency
        lab["run_flop"] += lab["train_fraction"] * compute * dt
        lab["run_elapsed_years"] += dt
        if lab["run_elapsed_years"] >= p["training_run_years"] * (1.0 - 1e-9):
            released = naive.released_log_eff_compute(
                lab["run_flop"],
                lab["run_log_software"],
                lab["data_tokens"],
                lab["automation"],
                p["training_public_data_tokens"],
                p["training_tokens_per_parameter"],
                p["training_synthetic_data_multiple"],
                p["training_data_wall_efficiency"],
            )
            lab["log_eff_compute"] = max(lab["log_eff_compute"], released)
            left = max(0.0, lab["run_elapsed_years"] - p["training_run_years"])
            lab["run_elapsed_years"] = left
            lab["run_flop"] = lab["train_fraction"] * compute * left
            lab["run_log_software"] = lab["log_software"]
        log_e = lab["log_eff_compute"]
        lab["automation"] = naive.automation_fraction(
            log_e,
            p["ln10_times_research_automation_midpoint_log10_flop"],
            p["ln10_times_research_automation_width_ooms"],
            p["research_max_automation"],
        )
        if log_e > NEG_INF:
            lab["quality"] = p["capability_alpha"] * (log_e - p["ln_capability_loss_scale_flop"])
            lab["logit_weight"] = p["market_winner_take_all"] * lab["quality"] + p["market_data_flywheel"] * math.log1p(
                lab["data_tokens"]
            )
        else:  # no model yet
            lab["quality"] = NEG_INF
            lab["logit_weight"] = NEG_INF


def spillover_stage(labs: list[dict], run: dict, p: dict, work: dict, inputs: dict, rec: list) -> None:
    """Stage 5: the knowledge-spillover network (:func:`tests.reference.naive_network.naive_spillover`), for
    every run of a batch in which any run has an edge."""
    if not inputs["network"]["spill"]:
        return
    flows = inputs["flows"]
    flows["snap_researchers"] = [lab["researchers"] for lab in labs]
    rows = [{**lab, "log_software_start": start} for lab, start in zip(labs, flows["prev_log_software"],
                                                                       strict=True)]
    out = naive_spillover(inputs["network"]["graph"], rows, p, work["start_year"])
    for i, lab in enumerate(labs):
        for name in ("log_software", "researchers", "log_eff_compute", "quality", "automation", "logit_weight"):
            lab[name] = out[name][i]
    for name in ("gain", "moved", "distilled", "active_edges"):
        flows[name] = out[name]
    rec[L.M_TALENT_FLOW] = math.fsum(out["moved"])
    rec[L.M_SPILLOVER_LOG_SOFTWARE] = math.fsum(out["gain"])
    rec[L.M_N_DISTILLED] = sum(out["distilled"])
    rec[L.M_ACTIVE_EDGES] = sum(out["active_edges"]) // 2


def demand_stage(labs: list[dict], run: dict, p: dict, work: dict, inputs: dict, rec: list) -> None:
    """Stage 6: demand, the logit's targets (one market or segments), consumer value, the investors' total
    weight for stage 7, the urn; then every alive lab's share, revenue and spare capacity."""
    dt = p["sim_dt"]
    years_in = (run["step"] + 1) * dt
    alive = [lab["alive"] for lab in labs]
    live = [lab for lab in labs if lab["alive"]]
    first, _ = naive.top_two([lab["quality"] for lab in labs], alive)
    u_front = labs[first]["quality"] if first >= 0 else p["quality_of_market_outside_log10_flop"]
    log_cap = (
        math.log(p["market_max_gwp_fraction"])
        + p["ln_market_gwp_usd_per_year"]
        + p["market_gwp_growth_per_year"] * years_in
    )
    log_demand = p["ln_market_demand_usd_per_year"] + p["market_adoption_growth_per_year"] * years_in
    if p["market_demand_quality_elasticity"] != 0.0:  # demand independent of quality, even with no model anywhere
        log_demand += p["market_demand_quality_elasticity"] * (u_front - p["run_start_frontier_quality"])
    demand = math.exp(min(log_cap, log_demand))
    run["demand"] = demand
    w_outside = p["market_winner_take_all"] * p["quality_of_market_outside_log10_flop"]
    top = max([w_outside] + [lab["logit_weight"] for lab in live])
    work["frontier_quality"] = u_front
    work["max_logit_weight"] = top
    work["investor_weight_total"] = math.fsum(
        agents.investor_weight(lab, p, u_front) for lab in live if lab["funding"] == 0 and lab["quality"] > NEG_INF
    )
    urn = p["market_mode"] == L.MARKET_MODE_URN
    network = inputs["network"]
    kappa = p["network_cross_segment_intensity"]
    if network["n_segments"] > 1 and kappa < 1.0 and not urn:  # segmented markets (blocs)
        targets, log_sum = naive_segment_targets([lab["logit_weight"] for lab in labs], alive,
                                                 [lab["bloc"] for lab in labs], network["segment_demand"], kappa,
                                                 w_outside)
        run["consumer_value"] += demand * (log_sum - w_outside) * dt
    else:  # one market: multinomial logit with the outside option
        z = math.fsum([math.exp(w_outside - top)] + [math.exp(lab["logit_weight"] - top) for lab in live])
        targets = [math.exp(lab["logit_weight"] - top) / z if lab["alive"] else 0.0 for lab in labs]
        run["consumer_value"] += demand * (math.log(z) + top - w_outside) * dt
    if urn:
        naive.urn_run(labs, run, p, inputs["urn_uniforms"], work["end_year"], rec)
        inside = math.fsum(lab["customers"] for lab in labs if lab["alive"])
        for lab in labs:
            lab["share"] = lab["customers"] / inside if (lab["alive"] and inside > 0.0) else 0.0
    for lab, target in zip(labs, targets, strict=True):
        if not lab["alive"]:
            lab["revenue_usd_per_year"] = 0.0
            continue
        if not urn:
            lab["share"] = naive.smooth_toward(lab["share"], target, dt, p["market_switching_years"])
        capacity = lab["inference_fraction"] * lab["compute_flop_per_year"] / p["market_inference_flop_per_usd"]
        lab["revenue_usd_per_year"] = min(lab["share"] * demand, capacity)
        lab["spare_capacity_usd_per_year"] = capacity - lab["revenue_usd_per_year"]


def money_stage(labs: list[dict], run: dict, p: dict, work: dict, inputs: dict, rec: list) -> None:
    """Stage 7: unserved demand to rivals with spare capacity, each lab's money and exit
    (:func:`tests.reference.naive_agents.money`), the step's cash flows, exits returning compute and people,
    acquisitions, entry, and the workforce's growth."""
    dt = p["sim_dt"]
    year_end = work["end_year"]
    demand = run["demand"]
    live = [lab for lab in labs if lab["alive"]]
    unserved = math.fsum(lab["share"] * demand - lab["revenue_usd_per_year"] for lab in live)
    spare = math.fsum(lab["spare_capacity_usd_per_year"] for lab in live)
    work["unserved_ratio"] = min(1.0, unserved / spare) if spare > 0.0 else 0.0
    work["inside_share"] = math.fsum(lab["share"] for lab in live)
    # the exit rule's share threshold: a fraction of the alive labs' mean share
    work["exit_share"] = p["money_exit_relative_share"] * work["inside_share"] / len(live) if live else 0.0
    work["founded_by_year"] = year_end - p["money_exit_grace_years"]
    for lab in labs:
        lab["tax_usd"] = lab["subsidy_usd"] = 0.0  # no windfall tax, no subsidy
    for lab in live:
        agents.money(lab, p, run["price"], demand, work["frontier_quality"], work["investor_weight_total"],
                     work["unserved_ratio"], work["exit_share"], work["founded_by_year"])
    cash = {"revenue": [], "opex": [], "funding": [], "state": [], "wages": []}
    exit_cash, exit_compute, exit_people = [], [], []
    for i, lab in enumerate(labs):
        if lab["alive"] or lab["exited"]:
            revenue = lab["revenue_usd_per_year"] * dt
            cash["revenue"].append(revenue)
            cash["opex"].append(revenue * p["money_opex_fraction"])
            cash["funding" if lab["funding"] == 0 else "state"].append(lab["funding_inflow_usd_per_year"] * dt)
            cash["wages"].append(lab["researchers"] * p["money_wage_usd_per_year"] * dt)
        if lab["exited"]:
            exit_cash.append(lab["cash_usd"])
            exit_compute.append(lab["compute_flop_per_year"])
            exit_people.append(lab["researchers"])
            agents.push_event(run, year_end, i, L.EVENT_EXIT, -1, lab["cash_usd"])
            for name in ("cash_usd", "compute_flop_per_year", "researchers", "share", "customers",
                         "revenue_usd_per_year", "run_flop"):
                lab[name] = 0.0
    run["resale_flop"] += math.fsum(exit_compute)
    run["talent_pool"] += math.fsum(exit_people)
    rec[L.M_CASH_REVENUE] = math.fsum(cash["revenue"])
    rec[L.M_CASH_FUNDING] = math.fsum(cash["funding"])
    rec[L.M_CASH_STATE_BUDGET] = math.fsum(cash["state"])
    rec[L.M_CASH_WAGES] = math.fsum(cash["wages"])
    rec[L.M_CASH_OPEX] = math.fsum(cash["opex"])
    rec[L.M_CASH_REMOVED_AT_EXIT] = math.fsum(exit_cash)
    rec[L.M_COMPUTE_REMOVED_AT_EXIT] = math.fsum(exit_compute)
    rec[L.M_N_EXITS] = len(exit_cash)
    rec[L.M_CASH_SUBSIDY] = 0.0
    agents.acquisitions(labs, run, p, run["price"], inputs["draws"], year_end, rec)
    agents.entry(labs, run, p, inputs["draws"], year_end, rec)
    staff = math.fsum(lab["researchers"] for lab in labs if lab["alive"])
    growth = p["money_talent_growth_per_year"] * (run["talent_pool"] + staff) * dt
    run["talent_pool"] += growth
    rec[L.M_PEOPLE_GROWTH] = growth


def incident_stage(labs: list[dict], run: dict, p: dict, work: dict, inputs: dict, rec: list) -> None:
    """Stage 8: incidents (:func:`tests.reference.naive_agents.incidents`)."""
    agents.incidents(labs, run, p, inputs["draws"], work["end_year"], rec)


def record_stage(labs: list[dict], run: dict, p: dict, work: dict, inputs: dict, rec: list) -> None:
    """Stage 10: the record, whether a pause held (none does without policies), the triggers' observation (twin in
    tests/reference/naive_triggers.py), the events that did not fit, the step count."""
    record(labs, run, p, work["end_year"], run["step"] + 1, run["demand"], rec)
    rec[L.M_PAUSED] = 1.0 if run["pause_until"] > work["start_year"] else 0.0
    naive_triggers.trigger_step(run, p, run["step"] + 1, work["end_year"], rec)
    rec[L.M_EVENTS_DROPPED] = run["events_dropped"]
    run["step"] += 1


def record(labs: list[dict], run: dict, p: dict, year: float, steps_done: int, demand: float, rec: list) -> None:
    """The market metrics and stocks (twin of ``economy.kernels.record.record_metrics``)."""
    dt = p["sim_dt"]
    alive = [lab["alive"] for lab in labs]
    live = [lab for lab in labs if lab["alive"]]
    n_alive = len(live)
    rec[L.M_YEAR] = year
    hhi, effective, top1, top4 = naive.concentration([lab["share"] for lab in labs], alive)
    rec[L.M_HHI], rec[L.M_EFFECTIVE_LABS], rec[L.M_TOP1_SHARE], rec[L.M_TOP4_SHARE] = hhi, effective, top1, top4
    rec[L.M_OUTSIDE_SHARE] = 1.0 - math.fsum(lab["share"] for lab in live) if n_alive > 0 else 1.0
    rec[L.M_GINI_REVENUE] = naive.gini([lab["revenue_usd_per_year"] for lab in labs], alive)
    # frontier and runner-up among alive labs with a trained model (quality > -inf)
    first, second = naive.top_two([lab["quality"] for lab in labs],
                                  [lab["alive"] and lab["quality"] > NEG_INF for lab in labs])
    if first >= 0:
        leader = labs[first]
        log_e = leader["log_eff_compute"]
        rec[L.M_FRONTIER_QUALITY] = leader["quality"]
        rec[L.M_FRONTIER_LOG10_EFF_COMPUTE] = log_e / LN10
        rec[L.M_FRONTIER_LOG_SOFTWARE] = leader["log_software"]
        rec[L.M_FRONTIER_AUTOMATION] = leader["automation"]
        if run["takeoff_start_year"] < 0.0 and log_e >= p["ln10_times_capability_par_human_log10_flop"]:
            run["takeoff_start_year"] = year
        if run["takeoff_end_year"] < 0.0 and log_e >= p["ln10_times_capability_superhuman_log10_flop"]:
            run["takeoff_end_year"] = year
    else:
        log_e = NEG_INF
        for col in (
            L.M_FRONTIER_QUALITY,
            L.M_FRONTIER_LOG10_EFF_COMPUTE,
            L.M_FRONTIER_LOG_SOFTWARE,
            L.M_FRONTIER_AUTOMATION,
        ):
            rec[col] = NAN
    # the frontier's ln E over the last year (a ring buffer), for the leader's gap in years
    history = run["frontier_history"]
    slots = len(history)
    history[steps_done % slots] = log_e
    back = min(steps_done, slots - 1)
    rate = (log_e - history[(steps_done - back) % slots]) / (back * dt) if (first >= 0 and back > 0) else 0.0
    if first >= 0 and second >= 0:
        gap = labs[first]["log_eff_compute"] - labs[second]["log_eff_compute"]
        rec[L.M_RUNNERUP_QUALITY] = labs[second]["quality"]
        rec[L.M_LEADER_GAP_OOMS] = gap / LN10
        rec[L.M_LEADER_GAP_YEARS] = gap / rate if 0.0 < rate < math.inf else NAN
    else:
        rec[L.M_RUNNERUP_QUALITY] = rec[L.M_LEADER_GAP_OOMS] = rec[L.M_LEADER_GAP_YEARS] = NAN
    singular = [lab["singular_year"] for lab in labs if lab["singular_year"] >= 0.0]
    if singular and (run["singularity_year"] < 0.0 or min(singular) < run["singularity_year"]):
        run["singularity_year"] = min(singular)
    at_ceiling = [lab["ceiling_year"] for lab in labs if lab["ceiling_year"] >= 0.0]
    if at_ceiling and (run["ceiling_year"] < 0.0 or min(at_ceiling) < run["ceiling_year"]):
        run["ceiling_year"] = min(at_ceiling)
    rec[L.M_COMPUTE_PRICE] = run["price"]
    rec[L.M_TOTAL_DEMAND] = demand
    rec[L.M_TOTAL_REVENUE] = math.fsum(lab["revenue_usd_per_year"] for lab in live)
    rec[L.M_N_ALIVE] = n_alive
    rec[L.M_N_SINGULAR] = len(singular)
    rec[L.M_MEAN_SAFETY] = math.fsum(lab["safety"] for lab in live) / n_alive if n_alive > 0 else 0.0
    rec[L.M_MAX_DRIFT] = max([0.0] + [lab["drift"] for lab in live])
    rec[L.M_TOTAL_CASH] = math.fsum(lab["cash_usd"] for lab in live)
    rec[L.M_TOTAL_COMPUTE] = math.fsum(lab["compute_flop_per_year"] for lab in live)
    rec[L.M_TOTAL_RESEARCHERS] = math.fsum(lab["researchers"] for lab in live)
    rec[L.M_TALENT_POOL] = run["talent_pool"]
    rec[L.M_RESALE_COMPUTE] = run["resale_flop"]
    # knowledge gap over alive labs (twin of economy.kernels.spillover.record_knowledge_gap)
    rec[L.M_KNOWLEDGE_GAP_DISPERSION], rec[L.M_MEAN_LOG_SOFTWARE_GAP] = naive_knowledge_gap(
        [lab["log_software"] for lab in live]
    )


STAGES: dict[str, Stage] = {
    "strategy": strategy_stage,
    "factor_markets": factor_market_stage,
    "research": research_stage,
    "training": training_stage,
    "spillover": spillover_stage,
    "demand": demand_stage,
    "money": money_stage,
    "incidents": incident_stage,
    "record": record_stage,
}
"""The stage twins in the order of ``economy.kernels.step.step_batch`` (stage 9's break-ups, a policy, have
their twin in :mod:`tests.reference.naive_policies`)."""


# ---------------------------------------------------------------------------------------------- over a batch


def naive_stage(stage: str, labs: LabState, world: WorldState, par, net: NetworkState, work: StepWork, shocks,
                urn_uniforms, draws: StepDraws,
                rec: np.ndarray) -> tuple[LabState, WorldState, NetworkState, StepWork, np.ndarray]:
    """The twin of one stage kernel (a key of :data:`STAGES`) on every run of a batch, from the state and the
    step's ``work`` left by the stages before it; returns new state, work and record, leaving the inputs
    untouched.  ``work.start_year`` and ``work.end_year`` must be set (``begin_step``)."""
    return _over_runs((STAGES[stage],), labs, world, par, net, work, shocks, urn_uniforms, draws, rec)


def naive_step(labs: LabState, world: WorldState, par, net: NetworkState, shocks, urn_uniforms,
               draws: StepDraws) -> tuple[LabState, WorldState, NetworkState, np.ndarray]:
    """One step of every run, stage by stage (:data:`STAGES`); returns new state and the record, leaving the
    inputs untouched.

    Same contract as :func:`economy.kernels.step.step_batch` (``shocks[run, lab]`` standard normals,
    ``urn_uniforms[run, arrival]`` uniforms, ``draws`` the other draws).  Of the network's scratch arrays the
    returned ``NetworkState`` fills the step-start ln S, the staff at the start of stage 5 and the per-lab flows
    (``gain``, ``moved``, ``distilled``, ``active_edges``); the packed snapshot ``node`` and the intermediate
    ``leave_rate`` are left as given.
    """
    n_runs, n = labs.cash_usd.shape
    labs, world, net, _, rec = _over_runs((begin_step, *STAGES.values()), labs, world, par, net,
                                          allocate_work(n_runs, n), shocks, urn_uniforms, draws,
                                          np.zeros((n_runs, L.N_MARKET)))
    return labs, world, net, rec


def naive_record_initial(labs: LabState, world: WorldState, par) -> tuple[WorldState, np.ndarray]:
    """Twin of :func:`economy.kernels.record.record_initial`: the record of the starting state (no flows)."""
    n_runs, n = labs.cash_usd.shape
    new_world = {name: getattr(world, name).copy() for name in WorldState._fields}
    rec = np.zeros((n_runs, L.N_MARKET))
    for b in range(n_runs):
        lab_rows = [{name: getattr(labs, name)[b, i].item() for name in LabState._fields} for i in range(n)]
        run = _run_dict(new_world, b)
        p = _par_dict(par, b)
        record_row = [0.0] * L.N_MARKET
        record(lab_rows, run, p, p["sim_start_year"], 0, run["demand"], record_row)
        record_row[L.M_PRICE_FLOOR] = math.exp(run["log_price_floor"])
        naive_triggers.trigger_step(run, p, 0, p["sim_start_year"], record_row)
        for name in WorldState._fields:
            new_world[name][b] = run[name]
        rec[b] = record_row
    return WorldState(**new_world), rec


def _over_runs(stages: Sequence[Stage], labs: LabState, world: WorldState, par, net: NetworkState, work: StepWork,
               shocks, urn_uniforms, draws: StepDraws,
               rec: np.ndarray) -> tuple[LabState, WorldState, NetworkState, StepWork, np.ndarray]:
    """Run ``stages`` in order on every run of a batch, on dict copies of the state; return new arrays."""
    n_runs, n = labs.cash_usd.shape
    new_labs = {name: getattr(labs, name).copy() for name in LabState._fields}
    new_world = {name: getattr(world, name).copy() for name in WorldState._fields}
    new_net = {name: getattr(net, name).copy() for name in NetworkState._fields}
    new_work = {name: getattr(work, name).copy() for name in StepWork._fields}
    new_rec = rec.copy()
    spill = net.indices.shape[0] > 0  # stage 5 runs for the whole batch when any run has an edge
    needs_graph = any(stage in (strategy_stage, spillover_stage) for stage in stages)
    for b in range(n_runs):
        lab_rows = [{name: new_labs[name][b, i].item() for name in LabState._fields} for i in range(n)]
        run = _run_dict(new_world, b)
        run_work = {name: new_work[name][b].item() for name in WORK_PER_RUN}
        inputs = {
            "shocks": [float(x) for x in shocks[b]],
            "urn_uniforms": [float(u) for u in urn_uniforms[b]],
            "draws": {name: getattr(draws, name)[b].tolist() for name in StepDraws._fields},
            "network": {
                "spill": spill,
                "graph": _graph_from_csr(net, b, n) if needs_graph else None,
                "segment_demand": net.segment_demand[b].tolist(),
                "n_segments": int(net.n_segments[b]),
            },
            "flows": {name: new_net[name][b].tolist() for name in NET_FLOWS},
        }
        record_row = new_rec[b].tolist()
        p = _par_dict(par, b)
        for stage in stages:
            stage(lab_rows, run, p, run_work, inputs, record_row)
        for i, lab in enumerate(lab_rows):
            for name in LabState._fields:
                new_labs[name][b, i] = lab[name]
        for name in WorldState._fields:
            new_world[name][b] = run[name]
        for name in WORK_PER_RUN:
            new_work[name][b] = run_work[name]
        for name in NET_FLOWS:
            new_net[name][b, :] = inputs["flows"][name]
        new_rec[b] = record_row
    return (LabState(**new_labs), WorldState(**new_world), NetworkState(**new_net), StepWork(**new_work),
            new_rec)


def _par_dict(par, b: int) -> dict:
    return dict(zip(L.PARAM_NAMES, np.asarray(par[b], dtype=float).tolist(), strict=True))


def _run_dict(world: dict, b: int) -> dict:
    """Run b's scalars as Python numbers, its frontier history, event buffer and trigger arrays as lists."""
    lists = ("frontier_history", "events", "trigger_observed", "trigger_state")
    run = {name: world[name][b].item() for name in WorldState._fields if name not in lists}
    for name in lists:
        run[name] = world[name][b].tolist()
    return run


def _graph_from_csr(net: NetworkState, b: int, n: int) -> nx.Graph:
    """Run b's undirected weighted graph, read back from the CSR rows (each edge is stored at both ends)."""
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for i in range(n):
        for e in range(int(net.indptr[b, i]), int(net.indptr[b, i + 1])):
            j = int(net.indices[e])
            if i < j:
                graph.add_edge(i, j, weight=float(net.weight[e]))
    return graph
