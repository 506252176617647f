"""Flatten a validated scenario into the float row the kernels read (see economy.kernels.layout)."""

from __future__ import annotations

import math

import numpy as np

from economy.archetypes import FUNDING_INVESTORS, FUNDING_STATE, KIND_NAMES, STRATEGY_CODE
from economy.kernels import layout as L
from economy.params.policies import policy_values, spillover_cut_window
from economy.params.scenario import Scenario

__all__ = ["pack_parameters"]

LN10 = math.log(10.0)


def pack_parameters(scenario: Scenario) -> np.ndarray:
    """One row of ``par``; ``log_theta`` and ``frontier_quality0`` are set later from the initial state.

    After the scalar parameters come the archetype table (each kind's ``layout.ARCH_FIELDS``, which entrants of
    that kind start from) and the entry mix as cumulative weights, so uncertain archetype values reach entrants.
    """
    s = scenario
    r, c, t, q, m, mo, sa = s.research, s.compute, s.training, s.capability, s.market, s.money, s.safety
    nw, en, aq, inc, ad = s.network, s.entry, s.acquisitions, s.incidents, s.adaptation
    ln_cc = math.log(q.loss_scale_flop)
    values = {
        "dt": s.sim.dt,
        "start_year": s.sim.start_year,
        "log_software_ceiling": s.sim.log_software_ceiling,
        "lambda": r.parallelism,
        "beta": r.parallelism / r.returns_to_research,
        "rho": (r.substitution - 1.0) / r.substitution,
        "max_automation": r.max_automation,
        "automation_mid_ln": r.automation_midpoint_log10_flop * LN10,
        "automation_width_ln": r.automation_width_ooms * LN10,
        "experiment_share": r.experiment_share,
        "ai_researchers_per_flop": r.ai_researchers_per_flop,
        "log_theta": 0.0,
        "shock_sd": r.shock_sd,
        "hw_ln_rate": math.log(2.0) / c.hw_doubling_years,
        "supply0": c.supply_flop_per_year,
        "supply_ln_growth": math.log(c.supply_growth_per_year),
        "depreciation": c.depreciation_per_year,
        "hw_ai_feedback": c.hw_ai_feedback,
        "run_years": t.run_years,
        "public_data_tokens": t.public_data_tokens,
        "tokens_per_parameter": t.tokens_per_parameter,
        "data_wall_efficiency": t.data_wall_efficiency,
        "synthetic_data_multiple": t.synthetic_data_multiple,
        "alpha": q.alpha,
        "ln_loss_scale": ln_cc,
        "par_human_ln": q.par_human_log10_flop * LN10,
        "superhuman_ln": q.superhuman_log10_flop * LN10,
        "market_mode": L.MODE_URN if m.mode == "urn" else L.MODE_LOGIT,
        "gamma": m.winner_take_all,
        "zeta": m.data_flywheel,
        "switching_years": m.switching_years,
        "outside_quality": q.alpha * (m.outside_log10_flop * LN10 - ln_cc),
        "ln_demand0": math.log(m.demand_usd_per_year),
        "adoption_growth": m.adoption_growth_per_year,
        "demand_quality_elasticity": m.demand_quality_elasticity,
        "ln_gwp0": math.log(m.gwp_usd_per_year),
        "gwp_growth": m.gwp_growth_per_year,
        "max_gwp_fraction": m.max_gwp_fraction,
        "data_tokens_per_usd": m.data_tokens_per_usd,
        "inference_flop_per_usd": m.inference_flop_per_usd,
        "urn_exponent": m.urn_exponent,
        "urn_arrivals": float(m.urn_arrivals_per_step),
        "urn_entry_probability": m.urn_entry_probability,
        "frontier_quality0": 0.0,
        "wage": mo.wage_usd_per_year,
        "hire_speed": mo.hire_speed_per_year,
        "opex_fraction": mo.opex_fraction,
        "funding_to_demand": mo.funding_to_demand,
        "funding_rank_sensitivity": mo.funding_rank_sensitivity,
        "state_budget": mo.state_budget_usd_per_year,
        "talent_growth": mo.talent_growth_per_year,
        "racing_sensitivity": sa.racing_sensitivity,
        "racing_scale": sa.racing_scale,
        "drift_rate": sa.drift_rate,
        "net_publication_rate": nw.publication_rate_per_year,
        "net_absorb_half_staff": nw.absorb_half_staff,
        "net_talent_mobility": nw.talent_mobility,
        "net_talent_pay_weight": nw.talent_pay_weight,
        "net_distill_fraction": nw.distill_fraction,
        "net_normalise": 1.0 if nw.normalise_weights else 0.0,
        "net_cut_year": math.inf if nw.cut_cross_bloc_year is None else nw.cut_cross_bloc_year,
        "net_cross_segment": nw.cross_segment_intensity,
        "racing_rivals": float(sa.racing_rivals),
        "net_on": 0.0 if nw.kind == "none" else 1.0,
        "funding_growth_sensitivity": mo.funding_growth_sensitivity,
        "funding_max_share": mo.funding_max_share,
        "exit_relative_share": mo.exit_relative_share,
        "exit_grace_years": mo.exit_grace_years,
        "memory_years": ad.memory_years,
        "aspiration_years": ad.aspiration_years,
        "imitation_rate": ad.imitation_rate_per_year,
        "search_rate": ad.search_rate_per_year,
        "search_step": ad.search_step,
        "entry_rate": en.rate_per_year,
        "entry_profit_sensitivity": en.profit_sensitivity,
        "entry_lag_ln": en.lag_ln,
        "entry_open_threshold": en.open_threshold,
        "entry_size_sd": en.size_dispersion,
        "acq_rate": aq.rate_per_year,
        "acq_min_acquirer_share": aq.min_acquirer_share,
        "acq_max_target_share": aq.max_target_share,
        "acq_premium": aq.premium,
        "acq_review_post_hhi": aq.review_post_hhi,
        "acq_review_delta_hhi": aq.review_delta_hhi,
        "inc_hazard_per_drift": inc.hazard_per_drift,
        "inc_threshold_log10": inc.capability_threshold_log10_flop,
        "inc_capability_sensitivity": inc.capability_sensitivity,
        "inc_safety_effectiveness": inc.safety_effectiveness,
        "inc_catastrophe_fraction": inc.catastrophe_fraction,
        "inc_share_loss": inc.share_loss,
        "inc_cash_loss": inc.cash_loss,
        "net_reopen_year": math.inf,
    }
    values |= policy_values(s.policies)
    cut = spillover_cut_window(s.policies)
    if cut is not None:  # export controls cut cross-bloc edges for their window
        values["net_cut_year"] = min(values["net_cut_year"], cut[0])
        if nw.cut_cross_bloc_year is None:
            values["net_reopen_year"] = cut[1]
    for k, kind in enumerate(KIND_NAMES):
        arch = s.archetypes.of(kind)
        for field in L.ARCH_FIELDS:
            if field == "funding":
                value = float(FUNDING_STATE if arch.funding == "state" else FUNDING_INVESTORS)
            elif field == "strategy":
                value = float(STRATEGY_CODE[arch.strategy])
            else:
                value = float(getattr(arch, field))
            values[f"arch_{k}_{field}"] = value
    weights = [en.mix.get(kind, 0.0) for kind in KIND_NAMES]
    total = sum(weights)
    cumulative = 0.0
    for k, w in enumerate(weights):
        cumulative += w
        values[f"entry_mix_cumulative_{k}"] = cumulative / total if k < len(weights) - 1 else 1.0
    missing = set(L.PARAM_NAMES) ^ set(values)
    if missing:
        raise RuntimeError(f"packing and layout disagree on {sorted(missing)}")
    return np.array([values[name] for name in L.PARAM_NAMES], dtype=np.float64)
