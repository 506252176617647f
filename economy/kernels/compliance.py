r"""Stage 9's compliance layer: labs that may evade binding rules, and a regulator that looks for them.

The stage is :func:`compliance_stage`, run at the start of each step (before stage 1, so that the labs' choices
act in the stages the rules regulate); its docstring gives the equations, docs/policies.md ("Compliance and the
regulator") the model.  It acts only in runs with ``enforcement.evasion`` on; otherwise every lab's ``evasion``
stays 0 and the rules' own kernels (economy.kernels.policies) are exactly those of full compliance.

Where the chosen evasion acts (one factor each, in economy.kernels.policies): ``compute_cap``
(:func:`economy.kernels.policies.undeclared_run_flop`, stage 4), ``export_controls`` and the ban
(:func:`economy.kernels.policies.export_budgets`, stage 2), ``safety_standard``
(:func:`economy.kernels.policies.policy_floors`, stage 1) and ``windfall_tax`` (``money_rows``, stage 7).
"""

import math

from economy.kernels.config import kernel
from economy.kernels.events import push_event
from economy.kernels.layout import (
    A_EVASION_PROPENSITY,
    CD_ACCOUNTING,
    CD_AUDIT,
    CD_ENERGY,
    CD_WHISTLEBLOWER,
    EVENT_CAUGHT,
    M_AUDITS,
    M_COMPUTE_SEIZED,
    M_EVASION_GAIN_USD,
    M_FINES_USD,
    M_MEAN_SUSPICION,
    M_N_DETECTED,
    M_N_EVADING,
    M_REGULATOR_SPEND_USD,
    N_ARCH_FIELDS,
    P_ARCHETYPES,
    P_CAPABILITY_ALPHA,
    P_COMPUTE_CAP_END_YEAR,
    P_COMPUTE_CAP_MAX_TRAINING_FLOP,
    P_COMPUTE_CAP_START_YEAR,
    P_ENFORCEMENT_ACCOUNTING_FALSE_ALARM_RATE_PER_YEAR,
    P_ENFORCEMENT_ACCOUNTING_SIGNAL_RATE_PER_YEAR,
    P_ENFORCEMENT_AUDIT_BUDGET_USD_PER_YEAR,
    P_ENFORCEMENT_AUDIT_COST_USD,
    P_ENFORCEMENT_AUDIT_DETECTION_PROBABILITY,
    P_ENFORCEMENT_BAN_YEARS,
    P_ENFORCEMENT_ENERGY_FALSE_ALARM_RATE_PER_YEAR,
    P_ENFORCEMENT_ENERGY_SIGNAL_RATE_PER_YEAR,
    P_ENFORCEMENT_EVASION,
    P_ENFORCEMENT_FINE_TURNOVER_FRACTION,
    P_ENFORCEMENT_FINE_USD,
    P_ENFORCEMENT_PRIOR_EVASION_PROBABILITY,
    P_ENFORCEMENT_SEIZURE_FRACTION,
    P_ENFORCEMENT_SUSPICION_MEMORY_YEARS,
    P_ENFORCEMENT_WHISTLEBLOWER_RATE_PER_YEAR,
    P_EXPORT_CONTROLS_COMPUTE_CUT,
    P_EXPORT_CONTROLS_END_YEAR,
    P_EXPORT_CONTROLS_START_YEAR,
    P_MARKET_WINNER_TAKE_ALL,
    P_MONEY_WAGE_USD_PER_YEAR,
    P_SAFETY_STANDARD_END_YEAR,
    P_SAFETY_STANDARD_MIN_SAFETY,
    P_SAFETY_STANDARD_START_YEAR,
    P_SIM_DT,
    P_TRAINING_RUN_YEARS,
    P_WINDFALL_TAX_END_YEAR,
    P_WINDFALL_TAX_RATE,
    P_WINDFALL_TAX_START_YEAR,
    P_WINDFALL_TAX_THRESHOLD_USD_PER_YEAR,
)
from economy.kernels.policies import active, restricted
from economy.kernels.training import training_efficiency

__all__ = [
    "SUSPICION_BOUND",
    "compliance_run",
    "compliance_stage",
    "evades",
    "evasion_gain_usd",
    "evasion_penalty_usd",
    "signal_update",
]

SUSPICION_BOUND = 20.0
"""The regulator's posterior log-odds of a lab's evasion is kept in [-20, 20] (a proof sets it to 20, a certain
clearance to -20)."""


@kernel
def compliance_stage(labs, world, par, draws, work, rec):
    r"""Compliance and the regulator for every run of a batch with ``enforcement.evasion`` on (docs/policies.md).

    **The regulator** keeps, per lab, its posterior log-odds :math:`\lambda_i` that the lab evades (stored as
    ``labs.suspicion``, :math:`\lambda_i - \lambda_0`, :math:`\lambda_0 = \text{logit}(\pi_0)` the prior).  Each
    step it first forgets, :math:`\lambda_i \leftarrow \lambda_0 + (\lambda_i - \lambda_0) e^{-\Delta t / T_m}`,
    then spends its budget on :math:`A = B \Delta t / c` audits, directed to the most suspected labs: lab i is
    audited with probability

    .. math:: a_i = \min\!\left(1, A\,\sigma_i / \textstyle\sum_j \sigma_j\right), \qquad
              \sigma_i = 1 / (1 + e^{-\lambda_i}).

    **A lab** evading this step is caught with probability
    :math:`P_i = 1 - (1 - a_i d)(1 - w)`, :math:`d` = ``audit_detection_probability``,
    :math:`w = 1 - e^{-r_w \Delta t}` (whistle-blowers), which it knows.  Its gain from evading every binding rule
    is :math:`\rho_i G_i` (:func:`evasion_gain_usd`; :math:`\rho_i` its archetype's ``evasion_propensity``, the
    share of each rule it evades) and the penalty if caught :math:`F_i` (:func:`evasion_penalty_usd`); it evades,
    :math:`e_i = \rho_i`, exactly when

    .. math:: \rho_i G_i > P_i F_i

    and it is not banned (:func:`evades`); else :math:`e_i = 0`.

    **Detection.** With the run's ``compliance`` uniforms (per lab: audit, whistle-blower, accounting, energy), an
    evading lab is caught when :math:`u_{audit} < a_i d` or :math:`u_{whistle} < w`; it then pays the fine (at most
    its cash; out of the model, ``fines_usd``), loses ``seizure_fraction`` of its compute (``compute_seized``), is
    banned for ``ban_years`` (no compute purchases, no evasion), its evasion this step is stopped
    (:math:`e_i = 0`), and :math:`\lambda_i = 20`.  Otherwise the regulator updates :math:`\lambda_i` by the
    likelihood ratio of what it saw (:func:`signal_update`): a clean audit (:math:`u_{audit} < a_i`) adds
    :math:`\ln(1 - d)`; the accounting and energy channels fire with per-step probability
    :math:`q_c = 1 - e^{-r_c \Delta t}` for an evader and :math:`f_c = 1 - e^{-r^{false}_c \Delta t}` for a compliant
    lab, adding :math:`\ln(q_c / f_c)` when they fire and :math:`\ln((1 - q_c)/(1 - f_c))` when they do not.

    Recorded per step: labs evading (after detection), their evaded gain, detections, fines, compute seized,
    audits made and their cost (the regulator's spend), the mean suspicion; per lab ``evasion``,
    ``evasion_gain_usd``, ``detection_probability``, ``caught``; an event ``caught`` (value: the fine paid).
    """
    for b in range(labs.cash_usd.shape[0]):
        if par[b, P_ENFORCEMENT_EVASION] != 0.0:
            compliance_run(labs, world, par, draws.compliance, b, work.start_year[b], work.end_year[b], rec)


@kernel
def compliance_run(labs, world, par, uniforms, b, year, end_year, rec):
    """:func:`compliance_stage` for run b (serial over its labs); ``year`` is the step's start, ``end_year`` its end
    (the year of a ban's start and of the events)."""
    p = par[b]
    n = labs.cash_usd.shape[1]
    dt = p[P_SIM_DT]
    prior = p[P_ENFORCEMENT_PRIOR_EVASION_PROBABILITY]
    lam0 = math.log(prior) - math.log1p(-prior)
    keep = math.exp(-dt / p[P_ENFORCEMENT_SUSPICION_MEMORY_YEARS])
    total = 0.0
    for i in range(n):
        labs.evasion[b, i] = 0.0
        labs.evasion_gain_usd[b, i] = 0.0
        labs.detection_probability[b, i] = 0.0
        labs.caught[b, i] = 0
        if labs.alive[b, i]:
            labs.suspicion[b, i] *= keep
            total += _posterior(lam0 + labs.suspicion[b, i])
    audits_planned = p[P_ENFORCEMENT_AUDIT_BUDGET_USD_PER_YEAR] * dt / p[P_ENFORCEMENT_AUDIT_COST_USD]
    d = p[P_ENFORCEMENT_AUDIT_DETECTION_PROBABILITY]
    w = -math.expm1(-p[P_ENFORCEMENT_WHISTLEBLOWER_RATE_PER_YEAR] * dt)
    q_acc = -math.expm1(-p[P_ENFORCEMENT_ACCOUNTING_SIGNAL_RATE_PER_YEAR] * dt)
    f_acc = -math.expm1(-p[P_ENFORCEMENT_ACCOUNTING_FALSE_ALARM_RATE_PER_YEAR] * dt)
    q_en = -math.expm1(-p[P_ENFORCEMENT_ENERGY_SIGNAL_RATE_PER_YEAR] * dt)
    f_en = -math.expm1(-p[P_ENFORCEMENT_ENERGY_FALSE_ALARM_RATE_PER_YEAR] * dt)
    price = world.price[b]
    n_evading = 0
    gain_total = 0.0
    n_detected = 0
    fines = 0.0
    seized_total = 0.0
    audits = 0
    suspicion_total = 0.0
    n_alive = 0
    for i in range(n):
        if not labs.alive[b, i]:
            continue
        lam = lam0 + labs.suspicion[b, i]
        audit = min(1.0, audits_planned * _posterior(lam) / total) if total > 0.0 else 0.0
        caught_p = 1.0 - (1.0 - audit * d) * (1.0 - w)
        labs.detection_probability[b, i] = caught_p
        rho = p[P_ARCHETYPES + labs.kind[b, i] * N_ARCH_FIELDS + A_EVASION_PROPENSITY]
        gain = rho * evasion_gain_usd(labs, p, b, i, year, price, world.demand[b])
        penalty = evasion_penalty_usd(labs, p, b, i, price)
        evading = evades(gain, caught_p, penalty, labs.ban_until_year[b, i] > year)
        u = uniforms[b, i]
        if u[CD_AUDIT] < audit:
            audits += 1
        if evading and (u[CD_AUDIT] < audit * d or u[CD_WHISTLEBLOWER] < w):
            fine = min(fine_usd(labs, p, b, i), max(labs.cash_usd[b, i], 0.0))
            seized = p[P_ENFORCEMENT_SEIZURE_FRACTION] * labs.compute_flop_per_year[b, i]
            labs.cash_usd[b, i] -= fine
            labs.compute_flop_per_year[b, i] -= seized
            labs.ban_until_year[b, i] = end_year + p[P_ENFORCEMENT_BAN_YEARS]
            labs.caught[b, i] = 1
            lam = SUSPICION_BOUND
            n_detected += 1
            fines += fine
            seized_total += seized
            push_event(world, b, end_year, i, EVENT_CAUGHT, -1, fine)
        else:
            if u[CD_AUDIT] < audit:  # a clean audit: likelihood 1 - d if evading, 1 if not
                lam = -math.inf if d >= 1.0 else lam + math.log1p(-d)
            lam = signal_update(lam, u[CD_ACCOUNTING] < (q_acc if evading else f_acc), q_acc, f_acc)
            lam = signal_update(lam, u[CD_ENERGY] < (q_en if evading else f_en), q_en, f_en)
            if evading:
                labs.evasion[b, i] = rho
                labs.evasion_gain_usd[b, i] = gain
                n_evading += 1
                gain_total += gain
        lam = min(max(lam, -SUSPICION_BOUND), SUSPICION_BOUND)
        labs.suspicion[b, i] = lam - lam0
        suspicion_total += _posterior(lam)
        n_alive += 1
    rec[b, M_N_EVADING] = n_evading
    rec[b, M_EVASION_GAIN_USD] = gain_total
    rec[b, M_N_DETECTED] = n_detected
    rec[b, M_FINES_USD] = fines
    rec[b, M_COMPUTE_SEIZED] = seized_total
    rec[b, M_AUDITS] = audits
    rec[b, M_REGULATOR_SPEND_USD] = audits * p[P_ENFORCEMENT_AUDIT_COST_USD]
    rec[b, M_MEAN_SUSPICION] = suspicion_total / n_alive if n_alive > 0 else 0.0


@kernel
def evades(gain_usd, detection_probability, penalty_usd, banned):
    """The lab's choice: evade exactly when its gain beats the expected penalty (ties comply), unless banned."""
    return (not banned) and gain_usd > detection_probability * penalty_usd


@kernel
def evasion_gain_usd(labs, p, b, i, year, price, demand):
    r"""What evading every binding rule in full would gain lab i of run b over the step (USD), from its own state
    at the step's start and the last step's compute price and demand (the propensity scales it):

    * compute cap: the revenue the larger model buys over the step: a run of
      :math:`X = f_{train} C h T_{run}` FLOP instead of the cap :math:`\bar F` raises the lab's logit weight by
      :math:`\gamma \alpha \ln(X / \bar F)` (docs/model.md, stages 4 and 6), so, with its share small,
      :math:`\Delta t \min(\text{revenue}\,((X / \bar F)^{\gamma\alpha} - 1), D - \text{revenue})` (at most
      the whole demand D);
    * export controls (a restricted lab): the compute purchases refused, ``compute_cut`` times its budget
      :math:`\phi\, \text{cash} (1 - e^{-\kappa \Delta t})`;
    * safety standard: the research wages the floor moves to safety, :math:`(s_{min} - s_{base}) w L \Delta t`;
    * windfall tax: the tax on last step's profit, :math:`\tau \max(0, \pi - \text{threshold}) \Delta t`.
    """
    dt = p[P_SIM_DT]
    gain = 0.0
    if active(p, P_COMPUTE_CAP_START_YEAR, P_COMPUTE_CAP_END_YEAR, year):
        run = (labs.train_fraction[b, i] * labs.compute_flop_per_year[b, i] * training_efficiency(p, year)
               * p[P_TRAINING_RUN_YEARS])
        cap = p[P_COMPUTE_CAP_MAX_TRAINING_FLOP]
        if run > cap:
            revenue = labs.revenue_usd_per_year[b, i]
            lift = revenue * math.expm1(p[P_MARKET_WINNER_TAKE_ALL] * p[P_CAPABILITY_ALPHA] * math.log(run / cap))
            gain += min(lift, max(demand - revenue, 0.0)) * dt
    if active(p, P_EXPORT_CONTROLS_START_YEAR, P_EXPORT_CONTROLS_END_YEAR, year) and restricted(p, labs.bloc[b, i]):
        gain += p[P_EXPORT_CONTROLS_COMPUTE_CUT] * _budget_usd(labs, b, i, dt)
    if active(p, P_SAFETY_STANDARD_START_YEAR, P_SAFETY_STANDARD_END_YEAR, year):
        short = p[P_SAFETY_STANDARD_MIN_SAFETY] - labs.safety_base[b, i]
        if short > 0.0:
            gain += short * p[P_MONEY_WAGE_USD_PER_YEAR] * labs.researchers[b, i] * dt
    if active(p, P_WINDFALL_TAX_START_YEAR, P_WINDFALL_TAX_END_YEAR, year):
        excess = labs.profit_usd_per_year[b, i] - p[P_WINDFALL_TAX_THRESHOLD_USD_PER_YEAR]
        if excess > 0.0:
            gain += p[P_WINDFALL_TAX_RATE] * excess * dt
    return gain


@kernel
def evasion_penalty_usd(labs, p, b, i, price):
    r"""What being caught costs lab i of run b (USD): the fine, the compute seized at the market price and the
    compute purchases the ban refuses (its budget rate over ``ban_years``):

    .. math:: F_i = \max(\text{fine}, f_{turnover}\, \text{revenue} \times 1\,\text{year})
                    + \text{seizure}\, p\, C + \text{ban\_years}\, \text{budget} / \Delta t.
    """
    dt = p[P_SIM_DT]
    return (fine_usd(labs, p, b, i)
            + p[P_ENFORCEMENT_SEIZURE_FRACTION] * price * labs.compute_flop_per_year[b, i]
            + p[P_ENFORCEMENT_BAN_YEARS] * _budget_usd(labs, b, i, dt) / dt)


@kernel
def fine_usd(labs, p, b, i):
    """The fine on lab i of run b if caught (USD): the larger of ``fine_usd`` and ``fine_turnover_fraction`` of its
    yearly revenue (the AI Act's "whichever is higher", Regulation (EU) 2024/1689 Art. 99(3))."""
    return max(p[P_ENFORCEMENT_FINE_USD],
               p[P_ENFORCEMENT_FINE_TURNOVER_FRACTION] * labs.revenue_usd_per_year[b, i] * 1.0)


@kernel
def signal_update(lam, fired, q, f):
    """Posterior log-odds after a channel that fires with probability ``q`` for an evader and ``f`` for a compliant
    lab (``0 < f < 1``): -inf (cleared; the caller clamps to -20) when only a compliant lab could give that outcome
    (a channel with ``q = 0`` that fires, or with ``q = 1`` that stays silent)."""
    if fired:
        return lam + math.log(q / f) if q > 0.0 else -math.inf
    if q >= 1.0:
        return -math.inf
    return lam + math.log1p(-q) - math.log1p(-f)


@kernel
def _budget_usd(labs, b, i, dt):
    """Stage 1's compute budget of lab i, from its cash and routine at the step's start."""
    cash = labs.cash_usd[b, i]
    if cash <= 0.0:
        return 0.0
    return labs.compute_spend_fraction[b, i] * cash * -math.expm1(-labs.spend_rate_per_year[b, i] * dt)


@kernel
def _posterior(lam):
    return 1.0 / (1.0 + math.exp(-lam))
