"""Plain-Python twins of the agent kernels: stage 1 (adaptation, racing, budget), funding and performance, exits,
acquisitions, entry and incidents (economy/kernels/strategy.py, money.py, acquisitions.py, entry.py,
incidents.py, events.py).

Written the plain way, one lab (a dict) at a time: rivals and best performers by sorting, imitation sources as
``min`` over ``(-performance, id)``, the Poisson count by summing the probability mass function term by term,
sums with ``math.fsum``.  The stage twins of :mod:`tests.reference.naive_stages` call these.
"""

from __future__ import annotations

import math

import networkx as nx

from economy.archetypes import FUNDING_INVESTORS, STRATEGY_ADAPTIVE
from economy.kernels import layout as L

NEG_INF = -math.inf
ROC_BOUND = 10.0
ROUTINE = ("spend_rate_per_year", "compute_spend_fraction", "train_fraction", "inference_fraction", "safety_base",
           "openness")


# ---------------------------------------------------------------------------------------------- events


def push_event(run: dict, year: float, lab: int, kind: int, other: int, value: float) -> None:
    """Append an event to the run's buffer (a list of rows), or count it as dropped when full."""
    k = run["n_events"]
    if k >= len(run["events"]):
        run["events_dropped"] += 1
        return
    run["events"][k] = [year, float(lab), float(kind), float(other), value]
    run["n_events"] = k + 1


# ---------------------------------------------------------------------------------------------- helpers


def _one_minus_exp_neg(x: float) -> float:
    return -math.expm1(-x)


def return_on_capital(profit: float, capital: float) -> float:
    """profit / capital, clipped to [-10, 10] per year; the bound's sign (or 0) when capital is 0."""
    if capital <= 0.0:
        return math.copysign(ROC_BOUND, profit) if profit != 0.0 else 0.0
    ratio = profit / capital if abs(profit) < ROC_BOUND * capital else math.copysign(ROC_BOUND, profit)
    return max(-ROC_BOUND, min(ROC_BOUND, ratio))


def investor_weight(lab: dict, p: dict, u_front: float) -> float:
    growth = max(-1.0, min(1.0, lab["revenue_growth"]))
    return math.exp(p["money_funding_rank_sensitivity"] * (lab["quality"] - u_front)
                    + p["money_funding_growth_sensitivity"] * growth)


def refresh_capability(lab: dict, p: dict) -> None:
    """Automation, quality and logit weight from the lab's ln E (the end of stage 4)."""
    log_e = lab["log_eff_compute"]
    z = (log_e - p["ln10_times_research_automation_midpoint_log10_flop"]) / p[
        "ln10_times_research_automation_width_ooms"
    ]
    if z < -700.0:
        lab["automation"] = p["research_max_automation"] * math.exp(z)
    else:
        lab["automation"] = p["research_max_automation"] / (1.0 + math.exp(-z))
    lab["quality"] = p["capability_alpha"] * (log_e - p["ln_capability_loss_scale_flop"])
    lab["logit_weight"] = p["market_winner_take_all"] * lab["quality"] + p["market_data_flywheel"] * math.log1p(
        lab["data_tokens"]
    )


def _active(labs: list[dict], p: dict, year: float, i: int, j: int) -> bool:
    open_border = year < p["cross_bloc_cut_year"] or year >= p["cross_bloc_reopen_year"]
    return labs[j]["alive"] and (open_border or labs[j]["bloc"] == labs[i]["bloc"])


# ---------------------------------------------------------------------------------------------- stage 1


def decide_stage(labs: list[dict], run: dict, p: dict, graph: nx.Graph, draws: dict, year: float,
                 rec: list) -> None:
    """Stage 1 of one run: adaptation, racing, budget; then the strategy-change events, in lab order."""
    alive = [i for i, lab in enumerate(labs) if lab["alive"]]
    by_quality = sorted(alive, key=lambda i: (-labs[i]["quality"], i))
    best = min(alive, key=lambda i: (-labs[i]["performance"], i)) if alive else -1
    routines = [{name: lab[name] for name in ROUTINE} for lab in labs]
    network = p["network_kind"] != 0.0
    for i, lab in enumerate(labs):
        lab["exited"] = False
        lab["strategy_changed"] = 0
        lab["imitated"] = -1
        if not lab["alive"]:
            lab["compute_budget_usd"] = 0.0
            lab["hire"] = 0.0
            continue
        if network:
            neighbours = [j for j in sorted(graph.neighbors(i)) if _active(labs, p, year, i, j)]
        else:
            neighbours = []
        if lab["strategy"] == STRATEGY_ADAPTIVE:
            _adapt(lab, i, labs, routines, p, draws, neighbours if network else None, best)
        if network:
            rivals = neighbours
        else:
            rivals = [j for j in by_quality if j != i][: int(p["safety_racing_rivals"])]
        keep = 1.0
        for j in rivals:
            keep *= 1.0 - _closeness(lab["quality"], labs[j]["quality"], p["safety_racing_scale"])
        lab["safety"] = lab["safety_base"] * (1.0 - p["safety_racing_sensitivity"] * (1.0 - keep))
        dt = p["sim_dt"]
        cash = lab["cash_usd"]
        spend = cash * _one_minus_exp_neg(lab["spend_rate_per_year"] * dt) if cash > 0.0 else 0.0
        phi = lab["compute_spend_fraction"]
        lab["compute_budget_usd"] = phi * spend
        target_staff = (1.0 - phi) * spend / dt / p["money_wage_usd_per_year"]
        lab["hire"] = (target_staff - lab["researchers"]) * _one_minus_exp_neg(p["money_hire_speed_per_year"] * dt)
    end_year = year + p["sim_dt"]
    count = 0
    for i, lab in enumerate(labs):
        if lab["strategy_changed"] == 0:
            continue
        count += 1
        j = lab["imitated"]
        if lab["strategy_changed"] == 1:
            value = labs[j]["performance"] - lab["performance"]
        else:
            value = lab["aspiration"] - lab["performance"]
        push_event(run, end_year, i, L.EVENT_STRATEGY, j, value)
    rec[L.M_N_STRATEGY_CHANGES] = count


def _closeness(u_i: float, u_j: float, scale: float) -> float:
    if u_i == NEG_INF or u_j == NEG_INF:
        return 0.0
    return math.exp(-abs(u_i - u_j) / scale)


def _shift_log_odds(x: float, step: float) -> float:
    """The fraction with log-odds ln(x / (1 - x)) + step (0 and 1 stay)."""
    if x <= 0.0 or x >= 1.0:
        return min(max(x, 0.0), 1.0)
    odds = x / (1.0 - x) * math.exp(step)
    return odds / (1.0 + odds)


def _adapt(lab: dict, i: int, labs: list[dict], routines: list[dict], p: dict, draws: dict,
           neighbours: list[int] | None, best: int) -> None:
    dt = p["sim_dt"]
    if draws["imitate"][i] < _one_minus_exp_neg(p["adaptation_imitation_rate_per_year"] * dt):
        if neighbours is None:
            source = best if best != i else -1
        else:
            source = min(neighbours, key=lambda j: (-labs[j]["performance"], j)) if neighbours else -1
        if source >= 0 and labs[source]["performance"] > lab["performance"]:
            lab.update(routines[source])
            lab["strategy_changed"] = 1
            lab["imitated"] = source
            return
    if lab["performance"] < lab["aspiration"] and draws["search"][i] < _one_minus_exp_neg(
        p["adaptation_search_rate_per_year"] * dt
    ):
        z = draws["search_step"][i]
        step = p["adaptation_search_step"]
        lab["compute_spend_fraction"] = _shift_log_odds(lab["compute_spend_fraction"], step * z[0])
        lab["train_fraction"] = _shift_log_odds(lab["train_fraction"], step * z[1])
        if lab["train_fraction"] + lab["inference_fraction"] > 1.0:
            lab["inference_fraction"] = 1.0 - lab["train_fraction"]
        lab["safety_base"] = _shift_log_odds(lab["safety_base"], step * z[2])
        lab["strategy_changed"] = 2


# ---------------------------------------------------------------------------------------------- stage 7


def money(lab: dict, p: dict, price: float, demand: float, u_front: float, fund_total: float,
          unserved_ratio: float, exit_share: float, founded_by: float) -> None:
    """Stage 7 for one alive lab: revenue, data, funding (rank and growth, bounded), cash, exit, performance."""
    dt = p["sim_dt"]
    revenue = lab["revenue_usd_per_year"] + lab["spare_capacity_usd_per_year"] * unserved_ratio
    lab["revenue_usd_per_year"] = revenue
    lab["data_tokens"] += p["market_data_tokens_per_usd"] * revenue * dt
    if lab["funding"] == FUNDING_INVESTORS:
        inflow = 0.0
        if fund_total > 0.0 and lab["quality"] > NEG_INF:
            pool = p["money_funding_to_demand"] * demand
            inflow = min(pool * investor_weight(lab, p, u_front) / fund_total, p["money_funding_max_share"] * pool)
    else:
        inflow = p["money_state_budget_usd_per_year"]
    lab["funding_inflow_usd_per_year"] = inflow
    wages = lab["researchers"] * p["money_wage_usd_per_year"] * dt
    lab["cash_usd"] += (revenue * (1.0 - p["money_opex_fraction"]) + inflow) * dt - wages
    small = lab["funding"] == FUNDING_INVESTORS and lab["share"] < exit_share and lab["founded_year"] <= founded_by
    if lab["cash_usd"] < 0.0 or small:
        lab["exited"] = True
        lab["alive"] = False
        return
    # performance: return on capital, aspiration, revenue growth
    compute = lab["compute_flop_per_year"]
    profit = (
        revenue * (1.0 - p["money_opex_fraction"])
        - lab["researchers"] * p["money_wage_usd_per_year"]
        - p["compute_depreciation_per_year"] * price * compute
    )
    capital = price * compute + max(lab["cash_usd"], 0.0)
    lab["profit_usd_per_year"] = profit
    lab["capital_usd"] = capital
    memory = _one_minus_exp_neg(dt / p["adaptation_memory_years"])
    lab["performance"] += (return_on_capital(profit, capital) - lab["performance"]) * memory
    lab["aspiration"] += (lab["performance"] - lab["aspiration"]) * _one_minus_exp_neg(
        dt / p["adaptation_aspiration_years"]
    )
    log_revenue = math.log(revenue + L.REVENUE_FLOOR_USD)
    lab["revenue_growth"] += ((log_revenue - lab["log_revenue"]) / dt - lab["revenue_growth"]) * memory
    lab["log_revenue"] = log_revenue


def acquisitions(labs: list[dict], run: dict, p: dict, price: float, draws: dict, year: float, rec: list) -> None:
    """Acquisitions of one run, acquirers in lab order (economy/kernels/acquisitions.py)."""
    rec[L.M_N_ACQUISITIONS] = rec[L.M_N_ACQUISITIONS_BLOCKED] = rec[L.M_CASH_ACQUISITIONS] = 0.0
    if p["acquisitions_rate_per_year"] <= 0.0:
        return
    inside = math.fsum(lab["share"] for lab in labs if lab["alive"])
    if inside <= 0.0:
        return
    hhi = 10_000.0 * math.fsum((lab["share"] / inside) ** 2 for lab in labs if lab["alive"])
    look = _one_minus_exp_neg(p["acquisitions_rate_per_year"] * p["sim_dt"])
    done, blocked, paid = 0, 0, []

    def price_of(j: int) -> float:
        return (1.0 + p["acquisitions_premium"]) * (
            max(labs[j]["cash_usd"], 0.0) + price * labs[j]["compute_flop_per_year"]
        )

    for a, buyer in enumerate(labs):
        if (not buyer["alive"] or buyer["funding"] != FUNDING_INVESTORS
                or buyer["share"] / inside < p["acquisitions_min_acquirer_share"] or draws["acquire"][a] >= look):
            continue
        candidates = [j for j, lab in enumerate(labs)
                      if j != a and lab["alive"] and lab["funding"] == FUNDING_INVESTORS
                      and lab["share"] / inside <= p["acquisitions_max_target_share"]
                      and lab["performance"] < buyer["performance"] and price_of(j) <= buyer["cash_usd"]]
        if not candidates:
            continue
        j = min(candidates, key=lambda k: (-labs[k]["log_eff_compute"], k))
        delta = 20_000.0 * (buyer["share"] / inside) * (labs[j]["share"] / inside)
        reviewed = p["acquisitions_review_post_hhi"] < 10_000.0
        if reviewed and hhi + delta > p["acquisitions_review_post_hhi"] and delta > p["acquisitions_review_delta_hhi"]:
            blocked += 1
            push_event(run, year, a, L.EVENT_BLOCKED, j, delta)
            continue
        cost = price_of(j)
        target = labs[j]
        buyer["cash_usd"] += target["cash_usd"] - cost
        for name in ("compute_flop_per_year", "researchers", "share", "customers", "revenue_usd_per_year",
                     "data_tokens", "profit_usd_per_year"):
            buyer[name] += target[name]
        buyer["capital_usd"] = price * buyer["compute_flop_per_year"] + max(buyer["cash_usd"], 0.0)
        buyer["log_software"] = max(buyer["log_software"], target["log_software"])
        if target["log_eff_compute"] > buyer["log_eff_compute"]:
            buyer["log_eff_compute"] = target["log_eff_compute"]
            refresh_capability(buyer, p)
        target["alive"] = False
        for name in ("cash_usd", "compute_flop_per_year", "researchers", "share", "customers", "revenue_usd_per_year",
                     "data_tokens", "run_flop", "profit_usd_per_year", "capital_usd"):
            target[name] = 0.0
        hhi += delta
        done += 1
        paid.append(cost)
        push_event(run, year, a, L.EVENT_ACQUISITION, j, cost)
    rec[L.M_N_ACQUISITIONS] = done
    rec[L.M_N_ACQUISITIONS_BLOCKED] = blocked
    rec[L.M_CASH_ACQUISITIONS] = math.fsum(paid)


def source_and_reference(labs: list[dict], p: dict) -> tuple[int, int]:
    """The open frontier an entrant starts behind (-1 if none), and the lab it takes its bloc from."""
    open_labs = [i for i, lab in enumerate(labs) if lab["alive"] and lab["openness"] >= p["entry_open_threshold"]]
    source = min(open_labs, key=lambda i: (-labs[i]["log_eff_compute"], i)) if open_labs else -1
    alive = [i for i, lab in enumerate(labs) if lab["alive"]]
    reference = source if source >= 0 else (min(alive, key=lambda i: (labs[i]["log_software"], i)) if alive else -1)
    return source, reference


def found_lab(labs: list[dict], run: dict, p: dict, i: int, kind: int, size: float, source: int, reference: int,
           ret: float, year: float) -> None:
    """Column i becomes an entrant of archetype ``kind`` and size ``size`` (economy/kernels/entry.py)."""
    lag = p["entry_lag_ln"]

    def arch(field: str) -> float:
        return p[f"archetypes_{kind}_{field}"]

    lab = labs[i]
    staff = min(arch("researchers") * size, run["talent_pool"])
    run["talent_pool"] = max(0.0, run["talent_pool"] - staff)
    lab.update({
        "alive": True, "exited": False, "kind": kind, "funding": int(arch("funding")),
        "strategy": int(arch("strategy")), "bloc": labs[reference]["bloc"] if reference >= 0 else 0,
        "cash_usd": arch("cash_usd") * size, "researchers": staff, "compute_flop_per_year": 0.0,
        "share": 0.0, "customers": 0.0, "data_tokens": 0.0, "drift": 0.0, "revenue_usd_per_year": 0.0,
        "singular_year": -1.0, "ceiling_year": -1.0, "run_flop": 0.0, "run_elapsed_years": 0.0,
        "compute_budget_usd": 0.0, "hire": 0.0, "performance": ret, "aspiration": ret,
        "log_revenue": math.log(L.REVENUE_FLOOR_USD), "revenue_growth": 0.0, "profit_usd_per_year": 0.0,
        "incidents": 0, "strategy_changed": 0, "imitated": -1, "incident_flag": 0, "incident_cost": 0.0,
        "founded_year": year,
    })
    for name in ROUTINE:
        lab[name] = arch(name)
    lab["safety"] = lab["safety_base"]
    lab["capital_usd"] = lab["cash_usd"]
    if source >= 0:
        lab["log_software"] = labs[source]["log_software"] - lag
        lab["log_eff_compute"] = labs[source]["log_eff_compute"] - lag
    else:
        lab["log_software"] = (labs[reference]["log_software"] if reference >= 0 else 0.0) - lag
        lab["log_eff_compute"] = NEG_INF
    lab["run_log_software"] = lab["log_software"]
    if lab["log_eff_compute"] > NEG_INF:
        refresh_capability(lab, p)
    else:
        lab["automation"], lab["quality"], lab["logit_weight"] = 0.0, NEG_INF, NEG_INF
    lab["funding_inflow_usd_per_year"] = 0.0


def entrant_kind(p: dict, u: float) -> int:
    return next((c for c in range(L.N_KINDS - 1) if u < p[f"cumulative_entry_mix_{c}"]), L.N_KINDS - 1)


def industry_return(labs: list[dict]) -> float:
    live = [lab for lab in labs if lab["alive"]]
    return return_on_capital(math.fsum(lab["profit_usd_per_year"] for lab in live),
                             math.fsum(lab["capital_usd"] for lab in live))


def entry(labs: list[dict], run: dict, p: dict, draws: dict, year: float, rec: list) -> None:
    """Entry of one run after exits and acquisitions (economy/kernels/entry.py); adds to the stage-6 entrants."""
    ret = industry_return(labs)
    rec[L.M_INDUSTRY_RETURN] = ret
    rate = (
        p["entry_rate_per_year"] * math.exp(p["entry_profit_sensitivity"] * min(ret, 1.0))
        if p["entry_rate_per_year"] > 0
        else 0.0
    )
    rec[L.M_ENTRY_RATE] = rate
    capacity = len(labs)
    if rate <= 0.0 or run["n_used"] >= capacity:
        return
    # Poisson count: the smallest k whose cumulative probability passes the uniform, at most ENTRY_SLOTS
    mean = rate * p["sim_dt"]
    u = draws["entry"][0]
    k, cumulative = 0, math.exp(-mean)
    while u >= cumulative and k < L.ENTRY_SLOTS:
        k += 1
        cumulative += math.exp(-mean) * mean**k / math.factorial(k)
    if k == 0:
        return
    source, reference = source_and_reference(labs, p)
    cash_in = []
    for m in range(k):
        i = run["n_used"]
        if i >= capacity:
            break
        run["n_used"] = i + 1
        size = math.exp(p["entry_size_dispersion"] * draws["entry_size"][m])
        found_lab(labs, run, p, i, entrant_kind(p, draws["entry"][1 + m]), size, source, reference, ret, year)
        cash_in.append(labs[i]["cash_usd"])
        push_event(run, year, i, L.EVENT_ENTRY, source, labs[i]["cash_usd"])
    rec[L.M_N_ENTRIES] += len(cash_in)
    rec[L.M_CASH_ENTRY] += math.fsum(cash_in)


# ---------------------------------------------------------------------------------------------- stage 8


def incidents(labs: list[dict], run: dict, p: dict, draws: dict, year: float, rec: list) -> None:
    """Stage 8 of one run: each alive lab's incident draw and cost, then the events and the catastrophe year."""
    costs = []
    for i, lab in enumerate(labs):
        lab["incident_flag"] = 0
        lab["incident_cost"] = 0.0
        if not lab["alive"] or lab["drift"] <= 0.0 or p["incidents_hazard_per_drift"] <= 0.0:
            continue
        log10_e = lab["log_eff_compute"] / math.log(10.0)
        excess = max(0.0, log10_e - p["incidents_capability_threshold_log10_flop"])
        log_rate = (
            math.log(p["incidents_hazard_per_drift"] * lab["drift"])
            - p["incidents_safety_effectiveness"] * lab["safety"]
            + min(p["incidents_capability_sensitivity"] * excess, 700.0)
            + math.log(p["sim_dt"])
        )
        probability = _one_minus_exp_neg(math.exp(min(log_rate, 700.0)))
        v = draws["incident"][i]
        if not v < probability:
            continue
        catastrophic = v < probability * p["incidents_catastrophe_fraction"] * lab["automation"]
        lab["incident_flag"] = 2 if catastrophic else 1
        cost = p["incidents_cash_loss"] * max(lab["cash_usd"], 0.0)
        lab["cash_usd"] -= cost
        lab["incident_cost"] = cost
        lab["share"] *= 1.0 - p["incidents_share_loss"]
        lab["customers"] *= 1.0 - p["incidents_share_loss"]
        lab["incidents"] += 1
        costs.append(cost)
        if catastrophic:
            push_event(run, year, i, L.EVENT_CATASTROPHE, -1, cost)
            if run["catastrophe_year"] < 0.0:
                run["catastrophe_year"] = year
        else:
            push_event(run, year, i, L.EVENT_INCIDENT, -1, cost)
    rec[L.M_INCIDENTS] = len(costs)
    rec[L.M_CASH_INCIDENTS] = math.fsum(costs)
    rec[L.M_CATASTROPHE] = 1.0 if run["catastrophe_year"] >= 0.0 else 0.0
