"""Slow, obviously-correct plain-Python twins of every compiled kernel (STYLE.md habit 7).

Each function here has the same arguments and results as the kernel of the same name, but is written the
plain way: loops over labs, the ``math`` module, the textbook formula rather than the kernel's numerical trick
(the CES aggregate evaluated directly instead of by log-sum-exp, the closed-form solution of the ideas ODE
evaluated in 60-digit decimal arithmetic instead of with ``log1p``, the Gini coefficient from its double-sum
definition instead of from a sorted cumulative sum, ``1 - e^-x`` in decimal instead of ``expm1``).  Where a
direct formula would overflow or underflow in floating point the twin falls back to a plain log-space
evaluation, and says so.

:func:`naive_step` is a twin of :func:`economy.kernels.step.step_batch`: it copies the state into Python
dictionaries (one per lab), runs the stages of one step in MODEL.md order with per-lab loops, and returns new
``LabState`` / ``RunState`` / ``NetworkState`` arrays and the market record, leaving its inputs untouched.
Stage 5 (the spillover network) and the market segments of stage 6 use the network twins of
:mod:`tests.reference.naive_network`, on a networkx graph rebuilt from the batch's CSR arrays; stage 1, funding,
exits, acquisitions, entry and stage 8 use the agent twins of :mod:`tests.reference.naive_agents`.
"""

from __future__ import annotations

import decimal
import math
from decimal import Decimal

import networkx as nx
import numpy as np

from economy.kernels import layout as L
from economy.state import LabState, NetworkState, RunState, StepDraws

from . import naive_agents as agents
from .naive_network import naive_knowledge_gap, naive_segment_targets, naive_spillover

__all__ = [
    "advance_log_software",
    "automation_fraction",
    "concentration",
    "gini",
    "lab_log_growth",
    "log_research_input",
    "naive_record_initial",
    "naive_step",
    "released_log_eff_compute",
    "smooth_toward",
    "top_two",
    "urn_arrivals",
    "urn_stage",
]

INF = math.inf
NEG_INF = -math.inf
NAN = math.nan
LN10 = math.log(10.0)

_DECIMAL = decimal.Context(prec=60, Emax=10**7, Emin=-(10**7))


def _log(x: float) -> float:
    """ln x with ln 0 = -inf."""
    return math.log(x) if x > 0.0 else NEG_INF


def _one_minus_exp_neg(x: float) -> float:
    """1 - e^(-x), evaluated in decimal so that small x keeps its digits."""
    with decimal.localcontext(_DECIMAL):
        return float(1 - (-Decimal(x)).exp())


# ---------------------------------------------------------------------------------------------- research


def automation_fraction(log_eff_compute: float, mid_ln: float, width_ln: float, max_automation: float) -> float:
    """a = a_max / (1 + exp(-(ln E - m) / w))."""
    z = (log_eff_compute - mid_ln) / width_ln
    if z == NEG_INF:
        return 0.0
    if z < -700.0:  # exp(-z) would overflow; 1 / (1 + e^-z) equals e^z to double precision here
        return max_automation * math.exp(z)
    return max_automation / (1.0 + math.exp(-z))


def _ces(researchers: float, log_ai_labour: float, a: float, rho: float) -> tuple[float, float]:
    """ln of [(1-a) L^rho + a X^rho]^(1/rho) and the AI term's share of the sum (rho != 0).

    Evaluated directly in 60-digit decimal arithmetic, where neither overflow nor the cancellation of
    sigma near 1 can occur.  A zero input with rho < 0 (complements) has an infinite term: zero output.
    """
    with decimal.localcontext(_DECIMAL):
        r = Decimal(rho)
        inputs = []  # (weight, ln value, None for a zero input)
        if a < 1.0:
            inputs.append((1 - Decimal(a), Decimal(researchers).ln() if researchers > 0.0 else None))
        if a > 0.0:
            inputs.append((Decimal(a), Decimal(log_ai_labour) if log_ai_labour > NEG_INF else None))
        terms = []
        for weight, log_v in inputs:
            if log_v is None:
                if rho < 0.0:
                    return NEG_INF, 0.0
                terms.append(Decimal(0))  # 0 ** rho = 0 for rho > 0
            else:
                terms.append(weight * (r * log_v).exp())  # w v^rho
        total = sum(terms, Decimal(0))
        if total == 0:
            return NEG_INF, 0.0
        share_ai = terms[-1] / total if a > 0.0 else Decimal(0)
        return float(total.ln() / r), float(share_ai)


def log_research_input(
    researchers: float,
    log_ai_labour: float,
    automation: float,
    rho: float,
    log_experiment_ratio: float,
    experiment_share: float,
) -> tuple[float, float]:
    """ln R and d ln R / d ln X for R = R_cog^(1-eta) (C_res / C_ref)^eta, with R_cog the CES of L and X.

    ``(-inf, 0.0)`` when there is no research input.
    """
    a = automation
    if rho == 0.0:  # Cobb-Douglas limit: ln R_cog = (1-a) ln L + a ln X
        log_cog = 0.0
        if a < 1.0:
            log_cog += (1.0 - a) * _log(researchers)
        if a > 0.0:
            log_cog += a * log_ai_labour
        share_ai = a
    else:
        log_cog, share_ai = _ces(researchers, log_ai_labour, a, rho)
    if log_cog == NEG_INF:
        return NEG_INF, 0.0
    eta = experiment_share
    if eta > 0.0:
        if log_experiment_ratio == NEG_INF:
            return NEG_INF, 0.0
        return (1.0 - eta) * log_cog + eta * log_experiment_ratio, (1.0 - eta) * share_ai
    return log_cog, share_ai


def advance_log_software(x0: float, log_growth: float, slope: float, dt: float, ceiling: float) -> tuple[float, float]:
    """The exact solution over one step of dx/dt = g0 exp(k (x - x0)), in 60-digit decimal arithmetic.

    x(t) = x0 - ln(1 - k g0 t) / k  (x0 + g0 t when k = 0); the ceiling is reached at
    t_c = (1 - exp(-k (ceiling - x0))) / (k g0)  (gap / g0 when k = 0), which for k > 0 always comes before
    the blow-up time 1 / (k g0).  Returns ``(x(dt), -1.0)``, or ``(ceiling, t_c)`` when t_c <= dt.
    The kernel's documented guards are kept: growth below e^-700 is none, growth above e^700 is capped.
    """
    if log_growth < -700.0:
        return x0, -1.0
    log_growth = min(log_growth, 700.0)
    if ceiling - x0 <= 0.0:
        return ceiling, 0.0
    with decimal.localcontext(_DECIMAL):
        g = Decimal(log_growth).exp()
        k = Decimal(slope)
        step = Decimal(dt)
        start = Decimal(x0)
        gap = Decimal(ceiling) - start
        t_ceiling = gap / g if k == 0 else (1 - (-k * gap).exp()) / (k * g)
        if t_ceiling <= step:
            return ceiling, float(t_ceiling)
        x1 = start + g * step if k == 0 else start - (1 - k * g * step).ln() / k
        return float(x1), -1.0


def released_log_eff_compute(
    run_flop: float,
    run_log_software: float,
    data_tokens: float,
    automation: float,
    par_public: float,
    par_tokens_per_param: float,
    par_synthetic_multiple: float,
    par_wall_efficiency: float,
) -> float:
    """ln E = ln S_run + ln C_eff, C_eff = C below the wall C_wall = 6 D^2 / t, C_wall (C / C_wall)^eps above."""
    if run_flop <= 0.0:
        return NEG_INF
    tokens = par_public + data_tokens + par_synthetic_multiple * par_public * automation
    try:
        wall = 6.0 * tokens * tokens / par_tokens_per_param
    except OverflowError:  # pragma: no cover - floats give inf, not an error
        wall = INF
    if math.isfinite(wall) and wall > 0.0:
        if run_flop <= wall:
            return math.log(run_flop) + run_log_software
        return math.log(wall) + par_wall_efficiency * math.log(run_flop / wall) + run_log_software
    # the wall overflows a float: the same formula in logs
    log_wall = math.log(6.0) + 2.0 * math.log(tokens) - math.log(par_tokens_per_param)
    log_c = math.log(run_flop)
    if log_c > log_wall:
        log_c = log_wall + par_wall_efficiency * (log_c - log_wall)
    return log_c + run_log_software


# ---------------------------------------------------------------------------------------------- market


def urn_arrivals(customers, alive, exponent: float, uniforms) -> list[float]:
    """Generalised Polya urn: arrival m joins the first lab whose cumulative weight c_i^g exceeds u_m * total.

    Returns the new customer counts (the input is not modified).
    """
    counts = [float(c) for c in customers]
    n = len(counts)
    for u in uniforms:
        eligible = [i for i in range(n) if alive[i] and counts[i] > 0.0]
        weights = [counts[i] ** exponent for i in eligible]
        total = 0.0
        for w in weights:
            total += w
        if total <= 0.0:
            break
        target = float(u) * total
        chosen = eligible[-1]
        cumulative = 0.0
        for i, w in zip(eligible, weights, strict=True):
            cumulative += w
            if target < cumulative:
                chosen = i
                break
        counts[chosen] += 1.0
    return counts


def urn_stage(labs: list[dict], run: dict, p: dict, uniforms: list[float], year: float, rec: list) -> None:
    """Stage 6 in the urn mode: the step's arrivals; with probability p an arrival founds a lab (Simon 1955)."""
    arrivals = int(p["urn_arrivals"])
    prob = p["urn_entry_probability"]
    alive = [lab["alive"] for lab in labs]
    counts = [lab["customers"] for lab in labs]
    cash_in = []
    founded = None  # (ret, source, reference) at the step's first foundation
    for m in range(arrivals):
        u = uniforms[arrivals + m] if prob > 0.0 else 1.0
        i = run["n_used"]
        if u < prob and i < len(labs):
            if founded is None:
                founded = (agents.industry_return(labs), *agents.source_and_reference(labs, p))
            ret, source, reference = founded
            run["n_used"] = i + 1
            for lab, c in zip(labs, counts, strict=True):
                lab["customers"] = c
            agents.found_lab(labs, run, p, i, agents.entrant_kind(p, u / prob), 1.0, source, reference, ret, year)
            labs[i]["customers"] = 1.0
            alive = [lab["alive"] for lab in labs]
            counts = [lab["customers"] for lab in labs]
            cash_in.append(labs[i]["cash_usd"])
            agents.push_event(run, year, i, L.EVENT_ENTRY, source, labs[i]["cash_usd"])
        else:
            counts = urn_arrivals(counts, alive, p["urn_exponent"], [uniforms[m]])
    for lab, c in zip(labs, counts, strict=True):
        lab["customers"] = c
    rec[L.M_N_ENTRIES] += len(cash_in)
    rec[L.M_CASH_ENTRY] += math.fsum(cash_in)


def smooth_toward(current: float, target: float, dt: float, time_constant: float) -> float:
    """current + (target - current)(1 - exp(-dt / T)), the exponential approach."""
    return current + (target - current) * _one_minus_exp_neg(dt / time_constant)


# ---------------------------------------------------------------------------------------------- metrics


def concentration(share, alive) -> tuple[float, float, float, float]:
    """HHI (0-10,000), effective number, top-1 and top-4 shares of the inside market (shares renormalised)."""
    inside = [float(s) for s, ok in zip(share, alive, strict=True) if ok]
    total = 0.0
    for s in inside:
        total += s
    if total <= 0.0:
        return 0.0, 0.0, 0.0, 0.0
    norm = [s / total for s in inside]
    hhi = 10_000.0 * math.fsum(s * s for s in norm)
    ranked = sorted(norm, reverse=True)
    return hhi, 10_000.0 / hhi, ranked[0], math.fsum(ranked[:4])


def gini(values, alive) -> float:
    """Gini coefficient over alive labs from its definition: sum_i sum_j |x_i - x_j| / (2 m sum_i x_i)."""
    x = [float(v) for v, ok in zip(values, alive, strict=True) if ok]
    m = len(x)
    if m == 0:
        return 0.0
    total = math.fsum(x)
    if total <= 0.0:
        return 0.0
    mean_abs_diff_sum = math.fsum(abs(xi - xj) for xi in x for xj in x)
    return mean_abs_diff_sum / (2.0 * m * total)


def top_two(values, alive) -> tuple[int, int]:
    """Indices of the largest and second-largest alive values; ties go to the lower index; -1 if missing."""
    order = sorted((i for i in range(len(values)) if alive[i]), key=lambda i: (-float(values[i]), i))
    first = order[0] if len(order) > 0 else -1
    second = order[1] if len(order) > 1 else -1
    return first, second


# ---------------------------------------------------------------------------------------------- one lab's growth


def lab_log_growth(lab: dict, p: dict, shock: float) -> tuple[float, float]:
    """ln of d ln S / dt = theta R^lambda S^-beta (lognormal shock) and its slope d ln g / d ln S.

    R is research input net of the safety share, R = (1 - safety) R_CES; AI labour is X = k C_res S, so
    d ln g / d ln S = lambda (d ln R / d ln X) - beta.
    """
    research_compute = (1.0 - lab["train_fraction"] - lab["inference_fraction"]) * lab["compute_flop_per_year"]
    log_rc = _log(research_compute)
    log_s = lab["log_software"]
    k_ai = p["ai_researchers_per_flop"]
    log_ai = math.log(k_ai) + log_rc + log_s if (k_ai > 0.0 and log_rc > NEG_INF) else NEG_INF
    log_r, elasticity = log_research_input(
        lab["researchers"], log_ai, lab["automation"], p["rho"], log_rc - L.LN_EXPERIMENT_COMPUTE_REF,
        p["experiment_share"],
    )
    safety = lab["safety"]
    if log_r == NEG_INF or safety >= 1.0:
        return NEG_INF, 0.0
    log_r += math.log(1.0 - safety)
    sd, dt = p["shock_sd"], p["dt"]
    log_g = (p["log_theta"] + p["lambda"] * log_r - p["beta"] * log_s
             + sd * math.sqrt(dt) * shock - 0.5 * sd * sd * dt)
    return log_g, p["lambda"] * elasticity - p["beta"]


# ---------------------------------------------------------------------------------------------- the whole step


def naive_step(labs: LabState, runs: RunState, par, net: NetworkState, shocks,
               urn_uniforms, draws: StepDraws) -> tuple[LabState, RunState, NetworkState, np.ndarray]:
    """One step of every run, stage by stage with per-lab Python loops; returns new state and the record.

    Same contract as :func:`economy.kernels.step.step_batch` (``shocks[run, lab]`` standard normals,
    ``urn_uniforms[run, arrival]`` uniforms, ``draws`` the other draws), but the inputs are left untouched.  Of the
    network's scratch
    arrays the returned ``NetworkState`` fills the step-start ln S, the staff at the start of stage 5 and the
    per-lab flows (``gain``, ``moved``, ``distilled``, ``active_edges``); the packed snapshot ``node`` and the
    intermediate ``leave_rate`` are left as given.
    """
    n_runs, n = labs.cash_usd.shape
    new_labs = {name: getattr(labs, name).copy() for name in LabState._fields}
    new_runs = {name: getattr(runs, name).copy() for name in RunState._fields}
    new_net = {name: getattr(net, name).copy() for name in NetworkState._fields}
    spill = net.indices.shape[0] > 0  # stage 5 runs for the whole batch when any run has an edge
    rec = np.zeros((n_runs, L.N_MARKET))
    for b in range(n_runs):
        lab_rows = [{name: new_labs[name][b, i].item() for name in LabState._fields} for i in range(n)]
        run = _run_dict(new_runs, b)
        p = dict(zip(L.OLD_PARAM_NAMES, np.asarray(par[b], dtype=float).tolist(), strict=True))
        run_draws = {name: getattr(draws, name)[b].tolist() for name in StepDraws._fields}
        network = {
            "spill": spill,
            "graph": _graph_from_csr(net, b, n),
            "segment_demand": net.segment_demand[b].tolist(),
            "n_segments": int(net.n_segments[b]),
        }
        record = [0.0] * L.N_MARKET
        flows = _step_run(lab_rows, run, p, [float(x) for x in shocks[b]], [float(u) for u in urn_uniforms[b]],
                          run_draws, record, network)
        for i, lab in enumerate(lab_rows):
            for name in LabState._fields:
                new_labs[name][b, i] = lab[name]
        for name in RunState._fields:
            new_runs[name][b] = run[name]
        for name, values in flows.items():
            new_net[name][b, :] = values
        rec[b] = record
    return LabState(**new_labs), RunState(**new_runs), NetworkState(**new_net), rec


def _run_dict(runs: dict, b: int) -> dict:
    """Run b's scalars as Python numbers, its frontier history and event buffer as lists."""
    run = {name: runs[name][b].item() for name in RunState._fields if name not in ("frontier_history", "events")}
    run["frontier_history"] = runs["frontier_history"][b].tolist()
    run["events"] = runs["events"][b].tolist()
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


def naive_record_initial(labs: LabState, runs: RunState, par) -> tuple[RunState, np.ndarray]:
    """Twin of :func:`economy.kernels.step.record_initial`: the record of the starting state (no flows)."""
    n_runs, n = labs.cash_usd.shape
    new_runs = {name: getattr(runs, name).copy() for name in RunState._fields}
    rec = np.zeros((n_runs, L.N_MARKET))
    for b in range(n_runs):
        lab_rows = [{name: getattr(labs, name)[b, i].item() for name in LabState._fields} for i in range(n)]
        run = _run_dict(new_runs, b)
        p = dict(zip(L.OLD_PARAM_NAMES, np.asarray(par[b], dtype=float).tolist(), strict=True))
        record = [0.0] * L.N_MARKET
        _record(lab_rows, run, p, p["start_year"], 0, run["demand"], record)
        record[L.M_PRICE_FLOOR] = math.exp(run["log_price_floor"])
        for name in RunState._fields:
            new_runs[name][b] = run[name]
        rec[b] = record
    return RunState(**new_runs), rec


def _step_run(labs: list[dict], run: dict, p: dict, shocks: list[float], uniforms: list[float], draws: dict,
              rec: list, network: dict) -> dict[str, list]:
    """One step of one run; returns the network flows (empty when stage 5 does not run)."""
    dt = p["dt"]
    year = p["start_year"] + run["step"] * dt
    year_end = year + dt
    run["n_events"] = 0
    run["events_dropped"] = 0

    # the leader as of the last step (for the hardware feedback)
    lead, _ = top_two([lab["quality"] for lab in labs], [lab["alive"] for lab in labs])

    # stage 1: observe and decide (adaptation, racing, budget), strategy events
    agents.decide_stage(labs, run, p, network["graph"], draws, year, rec)

    # stage 2: the compute market clears, the talent market rations hiring, hardware improves
    live = [lab for lab in labs if lab["alive"]]
    owned = math.fsum(lab["compute_flop_per_year"] for lab in live)
    budget = math.fsum(lab["compute_budget_usd"] for lab in live)
    hires = math.fsum(lab["hire"] for lab in live if lab["hire"] > 0.0)
    fires = math.fsum(-lab["hire"] for lab in live if lab["hire"] <= 0.0)
    supply = p["supply0"] * math.exp(p["supply_ln_growth"] * (year - p["start_year"]))
    available = supply * dt + run["resale_flop"]
    floor = math.exp(run["log_price_floor"])
    price = max(floor, budget / available)
    sold = budget / price if price > 0.0 else 0.0  # a zero price (floor underflowed, nothing bid) sells nothing
    if run["resale_flop"] > 0.0:
        run["resale_flop"] *= max(0.0, 1.0 - sold / available)
    run["price"] = price
    rec[L.M_CASH_COMPUTE] = budget
    rec[L.M_COMPUTE_BOUGHT] = sold
    rec[L.M_COMPUTE_DEPR] = _one_minus_exp_neg(p["depreciation"] * dt) * (owned + sold)
    rec[L.M_PRICE_FLOOR] = floor
    pool = run["talent_pool"] + fires
    hire_scale = min(1.0, pool / hires) if hires > 0.0 else 1.0
    run["talent_pool"] = max(0.0, pool - hires * hire_scale)  # rationed hiring empties the pool
    frontier_automation = labs[lead]["automation"] if lead >= 0 else 0.0
    run["log_price_floor"] -= p["hw_ln_rate"] * (1.0 + p["hw_ai_feedback"] * frontier_automation) * dt

    # stages 2-4 per lab: buy and depreciate compute, hire, research, train, capability
    step_start_log_software = [lab["log_software"] for lab in labs]
    for lab, shock in zip(labs, shocks, strict=True):
        if lab["alive"]:
            _produce(lab, p, year, price, hire_scale, shock)

    # stage 5: the knowledge-spillover network, from a snapshot of this point
    flows: dict[str, list] = {}
    if network["spill"]:
        flows = {
            "prev_log_software": step_start_log_software,
            "snap_researchers": [lab["researchers"] for lab in labs],
        }
        inputs = [{**lab, "log_software_start": start} for lab, start in zip(labs, step_start_log_software,
                                                                               strict=True)]
        out = naive_spillover(network["graph"], inputs, p, year)
        for i, lab in enumerate(labs):
            for name in ("log_software", "researchers", "log_eff_compute", "quality", "automation", "weight"):
                lab[name] = out[name][i]
        for name in ("gain", "moved", "distilled", "active_edges"):
            flows[name] = out[name]
        rec[L.M_TALENT_FLOW] = math.fsum(out["moved"])
        rec[L.M_SPILLOVER_GAIN] = math.fsum(out["gain"])
        rec[L.M_N_DISTILLED] = sum(out["distilled"])
        rec[L.M_ACTIVE_EDGES] = sum(out["active_edges"]) // 2

    # stage 6: demand, logit normaliser, investors' weights
    years_in = (run["step"] + 1) * dt
    alive = [lab["alive"] for lab in labs]
    first, _ = top_two([lab["quality"] for lab in labs], alive)
    u_front = labs[first]["quality"] if first >= 0 else p["outside_quality"]
    log_cap = math.log(p["max_gwp_fraction"]) + p["ln_gwp0"] + p["gwp_growth"] * years_in
    log_demand = p["ln_demand0"] + p["adoption_growth"] * years_in
    if p["demand_quality_elasticity"] != 0.0:  # demand independent of quality, even with no model anywhere
        log_demand += p["demand_quality_elasticity"] * (u_front - p["frontier_quality0"])
    demand = math.exp(min(log_cap, log_demand))
    run["demand"] = demand
    w_outside = p["gamma"] * p["outside_quality"]
    live = [lab for lab in labs if lab["alive"]]
    fund_total = math.fsum(
        agents.investor_weight(lab, p, u_front) for lab in live if lab["funding"] == 0 and lab["quality"] > NEG_INF
    )
    urn = p["market_mode"] == L.MODE_URN
    kappa = p["net_cross_segment"]
    if network["n_segments"] > 1 and kappa < 1.0 and not urn:  # segmented markets (blocs)
        targets, log_sum = naive_segment_targets([lab["weight"] for lab in labs], alive,
                                                 [lab["bloc"] for lab in labs], network["segment_demand"], kappa,
                                                 w_outside)
        run["consumer_value"] += demand * (log_sum - w_outside) * dt
    else:  # one market: multinomial logit with the outside option
        top = max([w_outside] + [lab["weight"] for lab in live])
        z = math.fsum([math.exp(w_outside - top)] + [math.exp(lab["weight"] - top) for lab in live])
        targets = [math.exp(lab["weight"] - top) / z if lab["alive"] else 0.0 for lab in labs]
        run["consumer_value"] += demand * (math.log(z) + top - w_outside) * dt
    if urn:
        urn_stage(labs, run, p, uniforms, year_end, rec)
        inside = math.fsum(lab["customers"] for lab in labs if lab["alive"])
        for lab in labs:
            lab["share"] = lab["customers"] / inside if (lab["alive"] and inside > 0.0) else 0.0

    # stage 6 per lab: shares move toward the logit targets; demand is served within inference capacity
    for lab, target in zip(labs, targets, strict=True):
        if not lab["alive"]:
            lab["revenue_usd_per_year"] = 0.0
            continue
        if not urn:
            lab["share"] = smooth_toward(lab["share"], target, dt, p["switching_years"])
        capacity = lab["inference_fraction"] * lab["compute_flop_per_year"] / p["inference_flop_per_usd"]
        lab["revenue_usd_per_year"] = min(lab["share"] * demand, capacity)
        lab["weight"] = capacity - lab["revenue_usd_per_year"]  # spare capacity
    live = [lab for lab in labs if lab["alive"]]
    unserved = math.fsum(lab["share"] * demand - lab["revenue_usd_per_year"] for lab in live)
    spare = math.fsum(lab["weight"] for lab in live)
    unserved_ratio = min(1.0, unserved / spare) if spare > 0.0 else 0.0
    # the exit rule's share threshold: a fraction of the alive labs' mean share
    exit_share = p["exit_relative_share"] * math.fsum(lab["share"] for lab in live) / len(live) if live else 0.0
    founded_by = year_end - p["exit_grace_years"]

    # stage 7: unserved demand to rivals with spare capacity, data flywheel, funding, cash flows, exit, performance
    for lab in live:
        agents.money(lab, p, price, demand, u_front, fund_total, unserved_ratio, exit_share, founded_by)

    # exits return compute and people; acquisitions; entry
    cash = {"revenue": [], "opex": [], "funding": [], "state": [], "wages": []}
    exit_cash, exit_compute, exit_people = [], [], []
    for i, lab in enumerate(labs):
        if lab["alive"] or lab["exited"]:
            revenue = lab["revenue_usd_per_year"] * dt
            cash["revenue"].append(revenue)
            cash["opex"].append(revenue * p["opex_fraction"])
            cash["funding" if lab["funding"] == 0 else "state"].append(lab["weight"] * dt)
            cash["wages"].append(lab["researchers"] * p["wage"] * dt)
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
    agents.acquisitions(labs, run, p, price, draws, year_end, rec)
    agents.entry(labs, run, p, draws, year_end, rec)

    # stage 8: incidents; the workforce grows; stage 10 record
    agents.incidents(labs, run, p, draws, year_end, rec)
    staff = math.fsum(lab["researchers"] for lab in labs if lab["alive"])
    growth = p["talent_growth"] * (run["talent_pool"] + staff) * dt
    run["talent_pool"] += growth
    rec[L.M_EVENTS_DROPPED] = run["events_dropped"]
    _record(labs, run, p, year_end, run["step"] + 1, demand, rec)
    rec[L.M_CASH_REVENUE] = math.fsum(cash["revenue"])
    rec[L.M_CASH_FUNDING] = math.fsum(cash["funding"])
    rec[L.M_CASH_STATE] = math.fsum(cash["state"])
    rec[L.M_CASH_WAGES] = math.fsum(cash["wages"])
    rec[L.M_CASH_OPEX] = math.fsum(cash["opex"])
    rec[L.M_CASH_EXIT] = math.fsum(exit_cash)
    rec[L.M_COMPUTE_EXIT] = math.fsum(exit_compute)
    rec[L.M_PEOPLE_GROWTH] = growth
    rec[L.M_N_EXITS] = len(exit_cash)
    run["step"] += 1
    return flows


def _produce(lab: dict, p: dict, year: float, price: float, hire_scale: float, shock: float) -> None:
    """Stages 2-4 for one alive lab."""
    dt = p["dt"]
    budget = lab["compute_budget_usd"]
    lab["cash_usd"] -= budget
    bought = budget / price if price > 0.0 else 0.0
    compute = (lab["compute_flop_per_year"] + bought) * math.exp(-p["depreciation"] * dt)
    lab["compute_flop_per_year"] = compute
    h = lab["hire"]
    lab["researchers"] = max(0.0, lab["researchers"] + (h * hire_scale if h > 0.0 else h))
    # stage 3: research, frozen at the ceiling once singular
    if lab["singular_year"] < 0.0:
        log_s = lab["log_software"]
        log_g, slope = lab_log_growth(lab, p, shock)
        new_s, tau = advance_log_software(log_s, log_g, slope, dt, p["log_software_ceiling"])
        if tau >= 0.0:
            lab["singular_year"] = year + tau
        lab["drift"] += lab["automation"] * (new_s - log_s) * (1.0 - lab["safety"]) * p["drift_rate"]
        lab["log_software"] = new_s
    # stage 4: a training run accumulates FLOP and is released when it has lasted run_years
    lab["run_flop"] += lab["train_fraction"] * compute * dt
    lab["run_elapsed_years"] += dt
    if lab["run_elapsed_years"] >= p["run_years"] * (1.0 - 1e-9):
        released = released_log_eff_compute(
            lab["run_flop"], lab["run_log_software"], lab["data_tokens"], lab["automation"], p["public_data_tokens"],
            p["tokens_per_parameter"], p["synthetic_data_multiple"], p["data_wall_efficiency"],
        )
        lab["log_eff_compute"] = max(lab["log_eff_compute"], released)
        left = max(0.0, lab["run_elapsed_years"] - p["run_years"])
        lab["run_elapsed_years"] = left
        lab["run_flop"] = lab["train_fraction"] * compute * left
        lab["run_log_software"] = lab["log_software"]
    log_e = lab["log_eff_compute"]
    lab["automation"] = automation_fraction(log_e, p["automation_mid_ln"], p["automation_width_ln"],
                                            p["max_automation"])
    if log_e > NEG_INF:
        lab["quality"] = p["alpha"] * (log_e - p["ln_loss_scale"])
        lab["weight"] = p["gamma"] * lab["quality"] + p["zeta"] * math.log1p(lab["data_tokens"])
    else:  # no model yet
        lab["quality"] = NEG_INF
        lab["weight"] = NEG_INF


def _record(labs: list[dict], run: dict, p: dict, year: float, steps_done: int, demand: float, rec: list) -> None:
    """Stage 10: market metrics and stocks."""
    dt = p["dt"]
    alive = [lab["alive"] for lab in labs]
    live = [lab for lab in labs if lab["alive"]]
    n_alive = len(live)
    rec[L.M_YEAR] = year
    hhi, effective, top1, top4 = concentration([lab["share"] for lab in labs], alive)
    rec[L.M_HHI], rec[L.M_EFFECTIVE], rec[L.M_TOP1], rec[L.M_TOP4] = hhi, effective, top1, top4
    rec[L.M_OUTSIDE] = 1.0 - math.fsum(lab["share"] for lab in live) if n_alive > 0 else 1.0
    rec[L.M_GINI] = gini([lab["revenue_usd_per_year"] for lab in labs], alive)
    # frontier and runner-up among alive labs with a trained model (quality > -inf)
    first, second = top_two([lab["quality"] for lab in labs],
                            [lab["alive"] and lab["quality"] > NEG_INF for lab in labs])
    if first >= 0:
        leader = labs[first]
        log_e = leader["log_eff_compute"]
        rec[L.M_FRONTIER_U] = leader["quality"]
        rec[L.M_FRONTIER_LOG10E] = log_e / LN10
        rec[L.M_FRONTIER_LNS] = leader["log_software"]
        rec[L.M_FRONTIER_AUTO] = leader["automation"]
        if run["takeoff_start_year"] < 0.0 and log_e >= p["par_human_ln"]:
            run["takeoff_start_year"] = year
        if run["takeoff_end_year"] < 0.0 and log_e >= p["superhuman_ln"]:
            run["takeoff_end_year"] = year
    else:
        log_e = NEG_INF
        for col in (L.M_FRONTIER_U, L.M_FRONTIER_LOG10E, L.M_FRONTIER_LNS, L.M_FRONTIER_AUTO):
            rec[col] = NAN
    # the frontier's ln E over the last year (a ring buffer), for the leader's gap in years
    history = run["frontier_history"]
    slots = len(history)
    history[steps_done % slots] = log_e
    back = min(steps_done, slots - 1)
    rate = (log_e - history[(steps_done - back) % slots]) / (back * dt) if (first >= 0 and back > 0) else 0.0
    if first >= 0 and second >= 0:
        gap = labs[first]["log_eff_compute"] - labs[second]["log_eff_compute"]
        rec[L.M_RUNNERUP_U] = labs[second]["quality"]
        rec[L.M_GAP_OOMS] = gap / LN10
        rec[L.M_GAP_YEARS] = gap / rate if 0.0 < rate < INF else NAN
    else:
        rec[L.M_RUNNERUP_U] = rec[L.M_GAP_OOMS] = rec[L.M_GAP_YEARS] = NAN
    singular = [lab["singular_year"] for lab in labs if lab["singular_year"] >= 0.0]
    if singular and (run["singularity_year"] < 0.0 or min(singular) < run["singularity_year"]):
        run["singularity_year"] = min(singular)
    rec[L.M_PRICE] = run["price"]
    rec[L.M_DEMAND] = demand
    rec[L.M_REVENUE] = math.fsum(lab["revenue_usd_per_year"] for lab in live)
    rec[L.M_N_ALIVE] = n_alive
    rec[L.M_N_SINGULAR] = len(singular)
    rec[L.M_MEAN_SAFETY] = math.fsum(lab["safety"] for lab in live) / n_alive if n_alive > 0 else 0.0
    rec[L.M_MAX_DRIFT] = max([0.0] + [lab["drift"] for lab in live])
    rec[L.M_CASH] = math.fsum(lab["cash_usd"] for lab in live)
    rec[L.M_COMPUTE] = math.fsum(lab["compute_flop_per_year"] for lab in live)
    rec[L.M_RESEARCHERS] = math.fsum(lab["researchers"] for lab in live)
    rec[L.M_POOL] = run["talent_pool"]
    rec[L.M_RESALE] = run["resale_flop"]
    # knowledge gap over alive labs (twin of economy.kernels.spillover.record_knowledge_gap)
    rec[L.M_GAP_DISPERSION], rec[L.M_MEAN_GAP] = naive_knowledge_gap([lab["log_software"] for lab in live])
