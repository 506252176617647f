"""Plain-Python twins of the network kernels (economy.kernels.spillover and economy.kernels.segments).

The compiled stage 5 gathers, row by row, over CSR arrays built from the graph; the twin walks the networkx
graph's edge list once per channel, adding each edge's contribution to both of its ends (a per-edge loop
with scatter), in plain dictionaries.  The textbook formulas are used directly: ``1 - exp(-x)`` for the
exact catch-up factor, the logistic for automation, the per-segment logit denominators computed lab by lab
for every segment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import networkx as nx

__all__ = ["naive_knowledge_gap", "naive_segment_targets", "naive_spillover"]

NEG_INF = -math.inf


def naive_knowledge_gap(log_software: list[float]) -> tuple[float, float]:
    """(population standard deviation of ln S, mean gap to the largest ln S) over the given (alive) labs."""
    if not log_software:
        return 0.0, 0.0
    m = len(log_software)
    mean = math.fsum(log_software) / m
    var = math.fsum((x - mean) ** 2 for x in log_software) / m
    return math.sqrt(var), max(log_software) - mean


def naive_spillover(graph: nx.Graph, labs: list[dict], p: Mapping[str, float], year: float) -> dict:
    """One application of stage 5 to one run.

    ``labs[i]`` holds ``alive, bloc, log_software, log_software_start, log_eff_compute, researchers, cash_usd,
    openness, ceiling_year, data_tokens`` (``log_software_start`` is ln S before this step's research);
    ``p`` holds the packed parameter names of economy.kernels.layout.  Returns new per-lab lists
    ``log_software, researchers, log_eff_compute, quality, automation, weight`` and the flows ``gain, moved,
    distilled, active_edges`` (per lab) as a dict; the input is left untouched.
    """
    n = len(labs)
    dt = p["sim_dt"]
    normalise = p["network_normalise_weights"] != 0.0
    strength = [0.0] * n
    for u, v, w in graph.edges(data="weight", default=1.0):
        if u != v:
            strength[u] += w
            strength[v] += w

    def active(u: int, v: int) -> bool:
        return (
            u != v
            and labs[u]["alive"]
            and labs[v]["alive"]
            and (
                year < p["cross_bloc_cut_year"]
                or year >= p["cross_bloc_reopen_year"]
                or labs[u]["bloc"] == labs[v]["bloc"]
            )
        )

    def talent_w(w: float, u: int, v: int) -> float:
        if not normalise:
            return w
        s = max(strength[u], strength[v])
        return w / s if s > 0.0 else 0.0

    z = []
    for lab in labs:
        if not lab["alive"]:
            z.append(0.0)
            continue
        growth = (lab["log_software"] - lab["log_software_start"]) / dt
        pay = 0.0
        if p["network_talent_pay_weight"] != 0.0:
            runway = max(lab["cash_usd"], 0.0) / (p["money_wage_usd_per_year"] * max(lab["researchers"], 1.0))
            pay = p["network_talent_pay_weight"] * math.log(1.0 + runway)
        z.append(growth + pay)

    rate_sum = [0.0] * n
    gap_sum = [0.0] * n
    leave = [0.0] * n
    best_e = [NEG_INF] * n
    edges = [0] * n
    half = p["network_absorb_half_staff"]
    for u, v, w in graph.edges(data="weight", default=1.0):
        if not active(u, v):
            continue
        for i, j in ((u, v), (v, u)):  # i receives from j
            edges[i] += 1
            best_e[i] = max(best_e[i], labs[j]["log_eff_compute"])
            gap = labs[j]["log_software"] - labs[i]["log_software"]
            staff = labs[i]["researchers"]
            absorb = 1.0 if half <= 0.0 else (staff / (staff + half) if staff > 0.0 else 0.0)
            scale = (1.0 / strength[i] if strength[i] > 0.0 else 0.0) if normalise else 1.0
            k = p["network_publication_rate_per_year"] * absorb * scale * w * labs[j]["openness"]
            if gap > 0.0 and k > 0.0:
                rate_sum[i] += k
                gap_sum[i] += k * gap
            if p["network_talent_mobility"] > 0.0 and z[j] > z[i]:
                leave[i] += p["network_talent_mobility"] * talent_w(w, i, j) * (z[j] - z[i])

    log_software = [lab["log_software"] for lab in labs]
    gain = [0.0] * n
    for i, lab in enumerate(labs):
        if lab["alive"] and rate_sum[i] > 0.0 and lab["ceiling_year"] < 0.0:
            step = (1.0 - math.exp(-rate_sum[i] * dt)) * gap_sum[i] / rate_sum[i]
            log_software[i] = min(lab["log_software"] + step, p["sim_log_software_ceiling"])
            gain[i] = log_software[i] - lab["log_software"]

    researchers = [lab["researchers"] for lab in labs]
    moved = [0.0] * n
    for u, v, w in graph.edges(data="weight", default=1.0):
        if not active(u, v):
            continue
        for i, j in ((u, v), (v, u)):  # people leave i for j
            if z[j] > z[i] and leave[i] > 0.0:
                r = p["network_talent_mobility"] * talent_w(w, i, j) * (z[j] - z[i])
                flow = labs[i]["researchers"] * (1.0 - math.exp(-leave[i] * dt)) * r / leave[i]
                researchers[i] -= flow
                researchers[j] += flow
                moved[i] += flow

    log_e = [lab["log_eff_compute"] for lab in labs]
    quality = [lab.get("quality", NEG_INF) for lab in labs]
    automation = [lab.get("automation", 0.0) for lab in labs]
    logit_weight = [lab.get("logit_weight", NEG_INF) for lab in labs]
    distilled = [0.0] * n
    frac = p["network_distill_fraction"]
    for i, lab in enumerate(labs):
        if not lab["alive"] or frac <= 0.0 or best_e[i] == NEG_INF:
            continue
        floor = math.log(frac) + best_e[i]
        if floor > lab["log_eff_compute"]:
            log_e[i] = floor
            x = (floor - p["ln10_times_research_automation_midpoint_log10_flop"]) / p[
                "ln10_times_research_automation_width_ooms"
            ]
            automation[i] = p["research_max_automation"] / (1.0 + math.exp(-x)) if x > -700 else 0.0
            quality[i] = p["capability_alpha"] * (floor - p["ln_capability_loss_scale_flop"])
            logit_weight[i] = p["market_winner_take_all"] * quality[i] + p["market_data_flywheel"] * math.log(
                1.0 + lab["data_tokens"]
            )
            distilled[i] = 1.0
    return {
        "log_software": log_software, "researchers": researchers, "log_eff_compute": log_e, "quality": quality,
        "automation": automation, "logit_weight": logit_weight, "gain": gain, "moved": moved, "distilled": distilled,
        "active_edges": edges,
    }


def naive_segment_targets(weights: list[float], alive: list[bool], bloc: list[int], segment_demand: list[float],
                          kappa: float, w0: float) -> tuple[list[float], float]:
    """Target shares under segmented competition and the demand-weighted ln Z (unshifted), lab by lab.

    For every segment m with demand d_m > 0: Z_m = e^{w0} + sum_i k(m, bloc_i) e^{w_i}; lab i's target is
    sum_m d_m k(m, bloc_i) e^{w_i} / Z_m.  Computed with the largest weight subtracted (no overflow).
    """
    top = max([w0] + [w for w, a in zip(weights, alive, strict=True) if a])
    targets = [0.0] * len(weights)
    log_sum = 0.0
    for m, d in enumerate(segment_demand):
        if d <= 0.0:
            continue
        z = math.exp(w0 - top)
        for w, a, s in zip(weights, alive, bloc, strict=True):
            if a:
                z += (1.0 if s == m else kappa) * math.exp(w - top)
        log_sum += d * (math.log(z) + top)
        for i, (w, a, s) in enumerate(zip(weights, alive, bloc, strict=True)):
            if a:
                targets[i] += d * (1.0 if s == m else kappa) * math.exp(w - top) / z
    return targets, log_sum
