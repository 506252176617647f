"""Plain-Python twin of the compliance stage (economy/kernels/compliance.py), written from docs/policies.md
("Compliance and the regulator").

Like tests/reference/naive_policies.py it takes and modifies the same numpy arrays (a copy of a LabState /
WorldState), element by element, with no shared code; it returns the step's record values by column name.
tests/economy/test_compliance.py runs kernel and twin on copies of one state and compares.
"""

from __future__ import annotations

import math

from economy.kernels import layout as L

BOUND = 20.0


def _on(p, name: str, year: float) -> bool:
    return bool(p[getattr(L, f"P_{name}_START_YEAR")] <= year < p[getattr(L, f"P_{name}_END_YEAR")])


def _prob(rate_per_year: float, dt: float) -> float:
    """Probability of at least one event of a Poisson process within dt."""
    return 1.0 - math.exp(-rate_per_year * dt)


def _restricted(p, bloc: int) -> bool:
    low = int(p[L.P_EXPORT_CONTROLS_RESTRICTED_BLOCS_BITS_0_31])
    high = int(p[L.P_EXPORT_CONTROLS_RESTRICTED_BLOCS_BITS_32_63])
    return bool((low >> bloc) & 1) if bloc < 32 else bool((high >> (bloc - 32)) & 1)


def budget(labs, b: int, i: int, dt: float) -> float:
    """Stage 1's compute budget: phi x cash x (1 - exp(-kappa dt)), 0 without cash."""
    cash = float(labs.cash_usd[b, i])
    return labs.compute_spend_fraction[b, i] * cash * _prob(labs.spend_rate_per_year[b, i], dt) if cash > 0 else 0.0


def gain_usd(labs, p, b: int, i: int, year: float, price: float, demand: float) -> float:
    """Full evasion's gain over the step, summed over the binding rules (docs/policies.md)."""
    dt = p[L.P_SIM_DT]
    parts = []
    if _on(p, "COMPUTE_CAP", year):
        h = math.exp(p[L.P_LN_COMPUTE_TRAINING_EFFICIENCY_GROWTH_PER_YEAR] * (year - p[L.P_SIM_START_YEAR]))
        full_run = labs.train_fraction[b, i] * labs.compute_flop_per_year[b, i] * h * p[L.P_TRAINING_RUN_YEARS]
        ratio = full_run / p[L.P_COMPUTE_CAP_MAX_TRAINING_FLOP]
        if ratio > 1:
            lift = ratio ** (p[L.P_MARKET_WINNER_TAKE_ALL] * p[L.P_CAPABILITY_ALPHA]) - 1
            revenue = labs.revenue_usd_per_year[b, i]
            parts.append(min(revenue * lift, max(demand - revenue, 0.0)) * dt)
    if _on(p, "EXPORT_CONTROLS", year) and _restricted(p, int(labs.bloc[b, i])):
        parts.append(p[L.P_EXPORT_CONTROLS_COMPUTE_CUT] * budget(labs, b, i, dt))
    if _on(p, "SAFETY_STANDARD", year) and p[L.P_SAFETY_STANDARD_MIN_SAFETY] > labs.safety_base[b, i]:
        parts.append((p[L.P_SAFETY_STANDARD_MIN_SAFETY] - labs.safety_base[b, i]) * p[L.P_MONEY_WAGE_USD_PER_YEAR]
                     * labs.researchers[b, i] * dt)
    if _on(p, "WINDFALL_TAX", year) and labs.profit_usd_per_year[b, i] > p[L.P_WINDFALL_TAX_THRESHOLD_USD_PER_YEAR]:
        parts.append(p[L.P_WINDFALL_TAX_RATE] * (labs.profit_usd_per_year[b, i]
                                                 - p[L.P_WINDFALL_TAX_THRESHOLD_USD_PER_YEAR]) * dt)
    return math.fsum(parts)


def fine(labs, p, b: int, i: int) -> float:
    """The fine if caught: the larger of fine_usd and fine_turnover_fraction of the yearly revenue."""
    return max(p[L.P_ENFORCEMENT_FINE_USD],
               p[L.P_ENFORCEMENT_FINE_TURNOVER_FRACTION] * float(labs.revenue_usd_per_year[b, i]) * 1.0)


def penalty_usd(labs, p, b: int, i: int, price: float) -> float:
    """Fine + seized compute at the market price + the purchases the ban refuses."""
    dt = p[L.P_SIM_DT]
    return math.fsum([fine(labs, p, b, i),
                      p[L.P_ENFORCEMENT_SEIZURE_FRACTION] * price * labs.compute_flop_per_year[b, i],
                      p[L.P_ENFORCEMENT_BAN_YEARS] * budget(labs, b, i, dt) / dt])


def _lr(fired: bool, q: float, f: float) -> float:
    """Log likelihood ratio (evader : compliant) of a channel's outcome; -inf when only a compliant lab fits it."""
    if fired:
        return math.log(q / f) if q > 0 else -math.inf
    return math.log(1 - q) - math.log(1 - f) if q < 1 else -math.inf


def compliance(labs, world, par, uniforms, b: int, year: float, end_year: float) -> dict[str, float]:
    """One step of run b: decisions, detection, penalties, the regulator's update; returns the record."""
    p = par[b]
    dt = p[L.P_SIM_DT]
    prior = p[L.P_ENFORCEMENT_PRIOR_EVASION_PROBABILITY]
    lam0 = math.log(prior / (1 - prior))
    alive = [i for i in range(labs.alive.shape[1]) if labs.alive[b, i]]
    for i in range(labs.alive.shape[1]):
        labs.evasion[b, i] = 0.0
        labs.evasion_gain_usd[b, i] = 0.0
        labs.detection_probability[b, i] = 0.0
        labs.caught[b, i] = 0
    for i in alive:
        labs.suspicion[b, i] = labs.suspicion[b, i] * math.exp(-dt / p[L.P_ENFORCEMENT_SUSPICION_MEMORY_YEARS])
    sigma = {i: 1 / (1 + math.exp(-(lam0 + labs.suspicion[b, i]))) for i in alive}
    total = math.fsum(sigma.values())
    n_audits = p[L.P_ENFORCEMENT_AUDIT_BUDGET_USD_PER_YEAR] * dt / p[L.P_ENFORCEMENT_AUDIT_COST_USD]
    d = p[L.P_ENFORCEMENT_AUDIT_DETECTION_PROBABILITY]
    w = _prob(p[L.P_ENFORCEMENT_WHISTLEBLOWER_RATE_PER_YEAR], dt)
    channels = [(L.CD_ACCOUNTING, _prob(p[L.P_ENFORCEMENT_ACCOUNTING_SIGNAL_RATE_PER_YEAR], dt),
                 _prob(p[L.P_ENFORCEMENT_ACCOUNTING_FALSE_ALARM_RATE_PER_YEAR], dt)),
                (L.CD_ENERGY, _prob(p[L.P_ENFORCEMENT_ENERGY_SIGNAL_RATE_PER_YEAR], dt),
                 _prob(p[L.P_ENFORCEMENT_ENERGY_FALSE_ALARM_RATE_PER_YEAR], dt))]
    price = world.price[b]
    out = {"n_evading": 0, "evasion_gain_usd": [], "n_detected": 0, "fines_usd": [], "compute_seized": [],
           "audits": 0, "suspicion": []}
    for i in alive:
        audit = min(1.0, n_audits * sigma[i] / total) if total > 0 else 0.0
        caught_p = 1 - (1 - audit * d) * (1 - w)
        labs.detection_probability[b, i] = caught_p
        rho = p[L.P_ARCHETYPES + int(labs.kind[b, i]) * L.N_ARCH_FIELDS + L.A_EVASION_PROPENSITY]
        gain = rho * gain_usd(labs, p, b, i, year, price, world.demand[b])
        banned = labs.ban_until_year[b, i] > year
        evading = not banned and gain > caught_p * penalty_usd(labs, p, b, i, price)
        u = uniforms[b, i]
        audited = u[L.CD_AUDIT] < audit
        out["audits"] += int(audited)
        lam = lam0 + labs.suspicion[b, i]
        if evading and (u[L.CD_AUDIT] < audit * d or u[L.CD_WHISTLEBLOWER] < w):
            paid = min(fine(labs, p, b, i), max(float(labs.cash_usd[b, i]), 0.0))
            seized = p[L.P_ENFORCEMENT_SEIZURE_FRACTION] * labs.compute_flop_per_year[b, i]
            labs.cash_usd[b, i] -= paid
            labs.compute_flop_per_year[b, i] -= seized
            labs.ban_until_year[b, i] = end_year + p[L.P_ENFORCEMENT_BAN_YEARS]
            labs.caught[b, i] = 1
            lam = BOUND
            out["n_detected"] += 1
            out["fines_usd"].append(paid)
            out["compute_seized"].append(seized)
            k = int(world.n_events[b])
            world.events[b, k] = [end_year, i, L.EVENT_CAUGHT, -1, paid]
            world.n_events[b] = k + 1
        else:
            if audited:
                lam += math.log(1 - d) if d < 1 else -math.inf
            for column, q, f in channels:
                lam += _lr(u[column] < (q if evading else f), q, f)
            if evading:
                labs.evasion[b, i] = rho
                labs.evasion_gain_usd[b, i] = gain
                out["n_evading"] += 1
                out["evasion_gain_usd"].append(gain)
        lam = min(max(lam, -BOUND), BOUND)
        labs.suspicion[b, i] = lam - lam0
        out["suspicion"].append(1 / (1 + math.exp(-lam)))
    return {
        "n_evading": out["n_evading"], "evasion_gain_usd": math.fsum(out["evasion_gain_usd"]),
        "n_detected": out["n_detected"], "fines_usd": math.fsum(out["fines_usd"]),
        "compute_seized": math.fsum(out["compute_seized"]), "audits": out["audits"],
        "regulator_spend_usd": out["audits"] * p[L.P_ENFORCEMENT_AUDIT_COST_USD],
        "mean_suspicion": math.fsum(out["suspicion"]) / len(alive) if alive else 0.0,
    }
