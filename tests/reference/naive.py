"""Slow, obviously-correct plain-Python twins of the compiled kernels' scalar functions.

Each function here has the same arguments and results as the kernel of the same name, but is written the
plain way: loops over labs, the ``math`` module, the textbook formula rather than the kernel's numerical trick
(the CES aggregate evaluated directly instead of by log-sum-exp, the closed-form solution of the ideas ODE
evaluated in 60-digit decimal arithmetic instead of with ``log1p``, the Gini coefficient from its double-sum
definition instead of from a sorted cumulative sum, ``1 - e^-x`` in decimal instead of ``expm1``).  Where a
direct formula would overflow or underflow in floating point the twin falls back to a plain log-space
evaluation, and says so.

:mod:`tests.reference.naive_stages` builds the twins of the step's stages, and of the whole step, from these.
"""

from __future__ import annotations

import decimal
import math
from decimal import Decimal

from economy.kernels import layout as L

from . import naive_agents as agents

__all__ = [
    "advance_log_software",
    "automation_fraction",
    "automation_slope",
    "concentration",
    "divergence_time",
    "gini",
    "lab_log_growth",
    "log_human_share",
    "log_human_share_slope",
    "log_research_input",
    "released_log_eff_compute",
    "smooth_toward",
    "top_two",
    "urn_arrivals",
    "urn_run",
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


def log_human_share(log_eff_compute: float, mid_ln: float, width_ln: float, max_automation: float) -> float:
    """ln(1 - a) for a = a_max / (1 + exp(-(ln E - m) / w)), in 60-digit decimal arithmetic (no cancellation)."""
    if max_automation <= 0.0:
        return 0.0
    z = (log_eff_compute - mid_ln) / width_ln
    if z == NEG_INF:
        return 0.0
    with decimal.localcontext(_DECIMAL):
        # 1 - a_max / (1 + e^-z) written as a sum of positive terms, so the decimal digits are not lost either
        cap = Decimal(max_automation)
        human = (1 - cap) + cap / (1 + Decimal(z).exp())
        return float(human.ln())


def _ces(researchers: float, log_ai_labour: float, a: float, log_human: float, rho: float) -> tuple[float, float]:
    """ln of [(1-a) L^rho + a X^rho]^(1/rho) and the AI term's share of the sum (rho != 0).

    Evaluated directly in 60-digit decimal arithmetic, where neither overflow nor the cancellation of
    sigma near 1 can occur; the human weight 1 - a is exp(log_human), absent when that is 0 in double precision.
    A zero input with rho < 0 (complements) has an infinite term: zero output.
    """
    with decimal.localcontext(_DECIMAL):
        r = Decimal(rho)
        inputs = []  # (weight, ln value, None for a zero input)
        if math.exp(log_human) > 0.0:
            inputs.append((Decimal(log_human).exp(), Decimal(researchers).ln() if researchers > 0.0 else None))
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
    log_human: float,
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
        if math.exp(log_human) > 0.0:
            log_cog += math.exp(log_human) * _log(researchers)
        if a > 0.0:
            log_cog += a * log_ai_labour
        share_ai = a
    else:
        log_cog, share_ai = _ces(researchers, log_ai_labour, a, log_human, rho)
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


def divergence_time(log_growth_at_crossing: float, exponent: float) -> float:
    """Years from the ceiling crossing to the blow-up 1 / (kappa g_c) for an exponent kappa > 0; else -1."""
    if exponent <= 0.0:
        return -1.0
    with decimal.localcontext(_DECIMAL):
        return float(1 / (Decimal(exponent) * Decimal(log_growth_at_crossing).exp()))


def log_human_share_slope(log_eff_compute: float, mid_ln: float, width_ln: float, max_automation: float) -> float:
    """d ln(1 - a) / d ln E = -(da/dz) / ((1 - a) w), in 60-digit decimal arithmetic; 0 without a human share."""
    if max_automation <= 0.0 or log_eff_compute == NEG_INF:
        return 0.0
    with decimal.localcontext(_DECIMAL):
        z = (Decimal(log_eff_compute) - Decimal(mid_ln)) / Decimal(width_ln)
        cap = Decimal(max_automation)
        e = (-z).exp()
        sig = 1 / (1 + e)  # sigma(z)
        human = (1 - cap) + cap * e / (1 + e)  # 1 - a = (1 - a_max) + a_max sigma(-z)
        if human == 0:
            return 0.0
        return float(-cap * sig * (e / (1 + e)) / (human * Decimal(width_ln)))


def automation_slope(log_eff_compute: float, slope: float, p: dict) -> float:
    """lambda ((1 - eta) - w_R) / rho x d ln(1 - a) / d ln E, w_R = (k + beta) / lambda; 0 for rho = 0."""
    rho = p["rho_of_research_substitution"]
    if rho == 0.0:
        return 0.0
    lam = p["research_parallelism"]
    w_research = (slope + p["research_parallelism_over_returns_to_research"]) / lam
    d_log_human = log_human_share_slope(log_eff_compute, p["ln10_times_research_automation_midpoint_log10_flop"],
                                        p["ln10_times_research_automation_width_ooms"], p["research_max_automation"])
    return lam * ((1.0 - p["research_experiment_share"]) - w_research) / rho * d_log_human


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


def urn_run(labs: list[dict], run: dict, p: dict, uniforms: list[float], year: float, rec: list) -> None:
    """Stage 6 in the urn mode: the step's arrivals; with probability p an arrival founds a lab (Simon 1955)."""
    arrivals = int(p["market_urn_arrivals_per_step"])
    prob = p["market_urn_entry_probability"]
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
            counts = urn_arrivals(counts, alive, p["market_urn_exponent"], [uniforms[m]])
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
    k_ai = p["research_ai_researchers_per_flop"]
    log_ai = math.log(k_ai) + log_rc + log_s if (k_ai > 0.0 and log_rc > NEG_INF) else NEG_INF
    log_human = log_human_share(lab["log_eff_compute"], p["ln10_times_research_automation_midpoint_log10_flop"],
                                p["ln10_times_research_automation_width_ooms"], p["research_max_automation"])
    log_r, elasticity = log_research_input(
        lab["researchers"],
        log_ai,
        lab["automation"],
        log_human,
        p["rho_of_research_substitution"],
        log_rc - L.LN_EXPERIMENT_COMPUTE_REF,
        p["research_experiment_share"],
    )
    safety = lab["safety"]
    if log_r == NEG_INF or safety >= 1.0:
        return NEG_INF, 0.0
    log_r += math.log(1.0 - safety)
    sd, dt = p["research_shock_sd"], p["sim_dt"]
    log_g = (
        p["run_start_log_theta"]
        + p["research_parallelism"] * log_r
        - p["research_parallelism_over_returns_to_research"] * log_s
        + sd * math.sqrt(dt) * shock
        - 0.5 * sd * sd * dt
    )
    return log_g, p["research_parallelism"] * elasticity - p["research_parallelism_over_returns_to_research"]
