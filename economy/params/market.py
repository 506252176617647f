"""The customer market and the money: ``[market]`` (stage 6) and ``[money]`` (stage 7) of docs/model.md."""

from __future__ import annotations

from typing import Literal

from economy.params.fields import LN, Section, codes, param, setting

__all__ = ["MODE_CODES", "Market", "Money"]

MODE_CODES = codes({"logit": 0.0, "urn": 1.0})
"""``market.mode`` in the packed row (economy.kernels.layout.MARKET_MODE_*)."""


class Market(Section):
    """Winner-take-all customer market and demand (docs/model.md stage 6)."""

    mode: Literal["logit", "urn"] = setting(
        "logit",
        description="logit: shares move toward multinomial-logit targets; urn: a generalised Polya urn "
        "drives shares alone (each arriving customer picks lab i with probability proportional to share_i^g).",
        route="both",
        transform=MODE_CODES,
    )
    winner_take_all: float = param(
        10.0,
        0.0,
        200.0,
        "1/quality unit",
        "assumption: gamma x alpha = 0.5, below Arthur's lock-in regime",
        "gamma: logit weight on quality; shares scale like E^(gamma alpha).",
        route="row",
    )
    data_flywheel: float = param(
        0.05, 0.0, 5.0, "dimensionless", "assumption", "zeta: logit weight on ln(1 + flywheel data).",
        route="row",
    )
    switching_years: float = param(
        1.0, 0.01, 50.0, "year", "assumption", "Customer inertia (time constant).", route="row"
    )
    outside_log10_flop: float = param(
        25.0,
        0.0,
        80.0,
        "log10(effective FLOP)",
        "assumption",
        "Quality of the outside option (not buying frontier AI), as the effective compute of an equal model.",
        route="row",
        transform=None,
    )
    demand_usd_per_year: float = param(
        4e10,
        0.0,
        None,
        "USD/year",
        "estimate: 2025 frontier-lab revenue run-rates (company statements)",
        "Total AI demand at the start.",
        lo_open=True,
        route="both",
        transform=LN,
    )
    adoption_growth_per_year: float = param(
        0.8,
        0.0,
        5.0,
        "ln units/year",
        "assumption: with the quality term, demand grows ~3.7x/year in 2025-2030 (2024-2025 lab revenue ~3x/year)",
        "Growth of demand from adoption at constant quality.",
        route="row",
    )
    demand_quality_elasticity: float = param(
        4.0,
        0.0,
        100.0,
        "ln(USD) per quality unit",
        "assumption: with adoption, ~3x revenue growth per year in 2024-2025",
        "Growth of demand with the frontier's quality.",
        route="row",
    )
    gwp_usd_per_year: float = param(
        1.1e14,
        0.0,
        None,
        "USD/year",
        "data: IMF WEO 2025, world GDP ~$110T",
        "Gross world product at the start.",
        lo_open=True,
        route="row",
        transform=LN,
    )
    gwp_growth_per_year: float = param(
        0.03, -0.1, 1.0, "1/year", "data: IMF WEO long-run average", "GWP growth.", route="row"
    )
    max_gwp_fraction: float = param(
        0.3, 0.0, 1.0, "fraction", "assumption", "Cap on AI demand as a share of GWP.", lo_open=True,
        route="row",
    )
    data_tokens_per_usd: float = param(
        1e3, 0.0, None, "tokens/USD", "assumption", "Flywheel data gathered per dollar of revenue served.",
        route="row",
    )
    inference_flop_per_usd: float = param(
        1e17,
        0.0,
        None,
        "(FLOP/year) per (USD/year)",
        "estimate: ~40% of a frontier lab's compute serves ~$1e10/year",
        "Inference capacity needed per dollar of yearly revenue.",
        lo_open=True,
        route="row",
    )
    urn_exponent: float = param(
        1.0,
        0.0,
        10.0,
        "dimensionless",
        "assumption: Arthur 1989; Hill, Lane & Sudderth 1980",
        "g in the urn mode: f(x) = x^g.",
        route="row",
    )
    urn_arrivals_per_step: int = param(
        10, 1, 100000, "customers/step", "assumption", "Customers arriving per step in the urn mode.",
        route="row",
    )
    urn_initial_customers: float = param(
        1.0,
        0.0,
        None,
        "customers",
        "assumption",
        "Each lab's starting customers in the urn mode (1, 1 is the classic start).",
        lo_open=True,
        route="init",
    )
    urn_entry_probability: float = param(
        0.0,
        0.0,
        1.0,
        "probability per arrival",
        "assumption: Simon 1955 (firm sizes with a Zipf-like tail of exponent 1/(1 - p))",
        "Urn mode only: the probability p that an arriving customer founds a new lab (an entrant of [entry].mix "
        "kinds and size 1, holding that customer, in a free column of labs.max_entrants) instead of joining one; "
        "0 switches Simon's entry off.",
        hi_open=True,
        route="row",
    )


class Money(Section):
    """Cash flows, wages, funding and the talent pool (docs/model.md stage 7)."""

    wage_usd_per_year: float = param(
        5e5,
        0.0,
        None,
        "USD/year/person",
        "estimate: Levels.fyi 2025 frontier-lab research total compensation",
        "Fully loaded cost of one researcher.",
        lo_open=True,
        route="row",
    )
    hire_speed_per_year: float = param(
        2.0, 0.0, 50.0, "1/year", "assumption", "Rate at which staff move toward the wage budget's target.",
        route="row",
    )
    opex_fraction: float = param(
        0.2, 0.0, 1.0, "fraction of revenue", "assumption", "Operating costs other than compute and research wages.",
        route="row",
    )
    funding_to_demand: float = param(
        2.5,
        0.0,
        100.0,
        "USD per USD of demand",
        "estimate: 2025 AI venture funding ~$100B+ against ~$40-60B revenue",
        "Yearly investor funding per dollar of AI demand.",
        route="row",
    )
    funding_rank_sensitivity: float = param(
        20.0, 0.0, 1000.0, "1/quality unit", "assumption", "Investors weight labs by exp(this x (u_i - u_max)).",
        route="row",
    )
    state_budget_usd_per_year: float = param(
        2e10, 0.0, None, "USD/year", "assumption", "Yearly budget of each state programme.",
        route="row",
    )
    talent_pool: float = param(
        3e4,
        0.0,
        None,
        "people",
        "estimate: ~30k researchers able to work at frontier labs",
        "Researchers not employed by any lab at the start.",
        route="init",
    )
    talent_growth_per_year: float = param(
        0.1, 0.0, 2.0, "1/year", "assumption", "Growth rate of the total research workforce (a documented source).",
        route="row",
    )
    exit_relative_share: float = param(
        0.05,
        0.0,
        1.0,
        "fraction of the mean share",
        "assumption: near-zero-share firms exit, Dosi, Fagiolo & Roventini 2010",
        "An investor-funded lab past its grace period whose market share is below this fraction of the alive "
        "labs' mean share is closed (cash returned to its owners); 0: only bankruptcy ends a lab.",
        route="row",
    )
    exit_grace_years: float = param(
        3.0, 0.0, 200.0, "year", "assumption", "Age before which the market-share exit rule does not apply.",
        route="row",
    )
    funding_growth_sensitivity: float = param(
        0.5,
        0.0,
        10.0,
        "year",
        "assumption: investors chase revenue growth as well as rank",
        "Investors also weight a lab by exp(this x g), g its smoothed revenue growth (ln units/year) clipped to "
        "[-1, 1].",
        route="row",
    )
    funding_max_share: float = param(
        1.0,
        0.0,
        1.0,
        "fraction",
        "assumption",
        "Bound on the share of the year's investor funding one lab can take; what the bound holds back is not "
        "invested. 1: no bound.",
        lo_open=True,
        route="row",
    )
