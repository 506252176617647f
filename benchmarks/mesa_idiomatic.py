"""The economy written the idiomatic Mesa way, as the yardstick of benchmarks/run.py.

A typical Mesa model: one :class:`Lab` agent per lab, each holding its state as its own Python attributes, and
per-agent Python methods, one per stage, written with plain Python scalars and the ``math`` module and calling
small scalar functions; the model activates the agents stage by stage with ``model.agents.shuffle_do(...)``
(Mesa 3's replacement of ``StagedActivation``: every agent does stage 1, then every agent does stage 2, ...),
computes the market-wide quantities between stages with Python loops over the agents, removes exiting labs with
``agent.remove()`` and collects market reporters with a ``mesa.DataCollector``.

It implements the same model as the compiled engine (:class:`economy.engine.Simulation`, stage order of
economy/kernels/step.py) for a restricted but real configuration, :data:`RESTRICTED_OVERRIDES`:

* logit market in one segment (``market.mode = "logit"``, ``network.cross_segment_intensity = 1``);
* no spillover network (``network.kind = "none"``): racing rivals are the best other labs by quality;
* no adaptation, entry, acquisitions or incidents (their rates are 0), no policies;

while stages 1 (racing safety, budgets), 2 (compute and talent markets, hardware progress), 3 (research, with
the lognormal shocks), 4 (training runs and releases), 6 (demand, logit shares, capacity), 7 (unserved demand,
data flywheel, funding, wages, exits, performance bookkeeping), the talent growth and the market record
(stage 10) all run.  The research shocks come from the same named stream as the engine's (one standard normal
per lab column per step), and the starting state is the engine's own (the model builds a ``Simulation`` of
the scenario and copies its starting columns into the agents), so tests/agents/test_mesa_idiomatic.py can check that
both give the same labs and market series.  The step is what is measured, not the set-up.
"""

from __future__ import annotations

import math
from typing import Any

import mesa
import numpy as np

from economy.archetypes import FUNDING_INVESTORS
from economy.engine import Simulation
from economy.kernels import layout as L
from economy.params import Scenario
from economy.streams import child_sequence, generators

__all__ = ["RESTRICTED_OVERRIDES", "Lab", "MesaEconomy", "check_restricted"]

NEG_INF = -math.inf
LN10 = math.log(10.0)
ROC_BOUND = 10.0
REVENUE_FLOOR_USD = L.REVENUE_FLOOR_USD
LN_EXPERIMENT_COMPUTE_REF = L.LN_EXPERIMENT_COMPUTE_REF

RESTRICTED_OVERRIDES: tuple[str, ...] = (
    'network.kind="none"',
    'market.mode="logit"',
    "network.cross_segment_intensity=1.0",
    "adaptation.imitation_rate_per_year=0.0",
    "adaptation.search_rate_per_year=0.0",
    "entry.rate_per_year=0.0",
    "acquisitions.rate_per_year=0.0",
    "incidents.hazard_per_drift=0.0",
)
"""``--set`` overrides that put a scenario in the configuration this model implements."""


def check_restricted(scenario: Scenario) -> None:
    """Raise ``ValueError`` naming the first setting this model does not implement."""
    problems = {
        "network.kind": (scenario.network.kind, "none"),
        "market.mode": (scenario.market.mode, "logit"),
        "network.cross_segment_intensity": (scenario.network.cross_segment_intensity, 1.0),
        "adaptation.imitation_rate_per_year": (scenario.adaptation.imitation_rate_per_year, 0.0),
        "adaptation.search_rate_per_year": (scenario.adaptation.search_rate_per_year, 0.0),
        "entry.rate_per_year": (scenario.entry.rate_per_year, 0.0),
        "acquisitions.rate_per_year": (scenario.acquisitions.rate_per_year, 0.0),
        "incidents.hazard_per_drift": (scenario.incidents.hazard_per_drift, 0.0),
        "policies": (len(scenario.policies), 0),
    }
    for key, (value, wanted) in problems.items():
        if value != wanted:
            raise ValueError(f"{key} = {value!r}: the idiomatic Mesa model implements only {key} = {wanted!r}")


# ---------------------------------------------------------------------------------------------- scalar functions
# Plain Python, one number in and out, as a Mesa user would write them (the formulas of docs/model.md).


def automation_fraction(log_e: float, mid: float, width: float, max_automation: float) -> float:
    z = (log_e - mid) / width
    if z >= 0.0:
        return max_automation / (1.0 + math.exp(-z))
    e = math.exp(z)
    return max_automation * e / (1.0 + e)


def log_research_input(researchers: float, log_ai: float, a: float, rho: float, log_exp_ratio: float,
                       eta: float) -> tuple[float, float]:
    """ln R and d ln R / d ln X of the CES of researchers and AI labour times the experiment-compute term."""
    log_l = math.log(researchers) if researchers > 0.0 else NEG_INF
    if rho == 0.0:
        t = 0.0
        if a < 1.0:
            t += (1.0 - a) * log_l
        if a > 0.0:
            t += a * log_ai
        if t == NEG_INF:
            return NEG_INF, 0.0
        log_cog, w_ai = t, a
    else:
        t1 = math.log(1.0 - a) + rho * log_l if a < 1.0 else NEG_INF
        t2 = math.log(a) + rho * log_ai if a > 0.0 else NEG_INF
        if (a < 1.0 and t1 == math.inf) or (a > 0.0 and t2 == math.inf):
            return NEG_INF, 0.0
        m = max(t1, t2)
        if m == NEG_INF:
            return NEG_INF, 0.0
        lse = m + math.log(math.exp(t1 - m) + math.exp(t2 - m))
        log_cog = lse / rho
        w_ai = math.exp(t2 - lse) if a > 0.0 else 0.0
    if eta > 0.0:
        if log_exp_ratio == NEG_INF:
            return NEG_INF, 0.0
        return (1.0 - eta) * log_cog + eta * log_exp_ratio, (1.0 - eta) * w_ai
    return log_cog, w_ai


def advance_log_software(x0: float, log_g: float, slope: float, dt: float, ceiling: float) -> tuple[float, float]:
    """ln S after one step of dx/dt = g0 exp(k (x - x0)), and the time into the step the ceiling was reached
    (-1: not reached)."""
    if log_g < -700.0:
        return x0, -1.0
    g = math.exp(min(log_g, 700.0))
    gap = ceiling - x0
    if gap <= 0.0:
        return ceiling, 0.0
    kg = slope * g
    if abs(kg * dt) < 1e-12:
        x1 = x0 + g * dt
        return (ceiling, gap / g) if x1 >= ceiling else (x1, -1.0)
    tau = -math.expm1(-slope * gap) / kg
    if slope > 0.0:
        if tau <= dt:
            return ceiling, max(tau, 0.0)
        return x0 - math.log1p(-kg * dt) / slope, -1.0
    x1 = x0 - math.log1p(-kg * dt) / slope
    if x1 >= ceiling:
        return ceiling, min(max(tau, 0.0), dt)
    return x1, -1.0


def released_log_eff_compute(run_flop: float, run_log_s: float, data_tokens: float, automation: float,
                             p: dict[str, float]) -> float:
    """ln E of a released model, with the data wall."""
    if run_flop <= 0.0:
        return NEG_INF
    log_c = math.log(run_flop)
    tokens = (
        p["training_public_data_tokens"]
        + data_tokens
        + p["training_synthetic_data_multiple"] * p["training_public_data_tokens"] * automation
    )
    log_wall = math.log(6.0) + 2.0 * math.log(tokens) - math.log(p["training_tokens_per_parameter"])
    if log_c > log_wall:
        log_c = log_wall + p["training_data_wall_efficiency"] * (log_c - log_wall)
    return log_c + run_log_s


def closeness(u_i: float, u_j: float, scale: float) -> float:
    if u_i == NEG_INF or u_j == NEG_INF:
        return 0.0
    return math.exp(-abs(u_i - u_j) / scale)


def smooth_toward(current: float, target: float, dt: float, time_constant: float) -> float:
    return current + (target - current) * (-math.expm1(-dt / time_constant))


def investor_weight(quality: float, growth: float, frontier_u: float, p: dict[str, float]) -> float:
    g = min(max(growth, -1.0), 1.0)
    return math.exp(
        p["money_funding_rank_sensitivity"] * (quality - frontier_u) + p["money_funding_growth_sensitivity"] * g
    )


def return_on_capital(profit: float, capital: float) -> float:
    if abs(profit) >= ROC_BOUND * capital:
        if profit > 0.0:
            return ROC_BOUND
        if profit < 0.0:
            return -ROC_BOUND
        return 0.0
    return profit / capital


# ---------------------------------------------------------------------------------------------- the agent
class Lab(mesa.Agent):
    """One AI lab; ``column`` is its lab id in the engine's arrays."""

    def __init__(self, model: MesaEconomy, column: int, state: dict[str, Any]) -> None:
        super().__init__(model)
        self.column = column
        for name, value in state.items():
            setattr(self, name, value)
        self.exited = False
        self.spare_capacity = 0.0
        self.funding_inflow = 0.0

    # stage 1: racing pressure lowers the safety share; spending, compute budget and hiring
    def decide(self) -> None:
        model, p = self.model, self.model.p
        dt = p["sim_dt"]
        keep = 1.0
        seen = 0
        for rival in model.ranking:
            if seen >= model.wanted_rivals:
                break
            if rival is self:
                continue
            seen += 1
            keep *= 1.0 - closeness(self.quality, rival.quality, p["safety_racing_scale"])
        self.safety = self.safety_base * (1.0 - p["safety_racing_sensitivity"] * (1.0 - keep))
        spend = self.cash_usd * -math.expm1(-self.spend_rate_per_year * dt) if self.cash_usd > 0.0 else 0.0
        phi = self.compute_spend_fraction
        self.compute_budget_usd = phi * spend
        target_staff = (1.0 - phi) * spend / dt / p["money_wage_usd_per_year"]
        self.hire = (target_staff - self.researchers) * -math.expm1(-p["money_hire_speed_per_year"] * dt)

    # stages 2-4: buy and depreciate compute, hire, research, train and release, capability
    def produce(self) -> None:
        model, p = self.model, self.model.p
        dt = p["sim_dt"]
        budget = self.compute_budget_usd
        self.cash_usd -= budget
        c = self.compute_flop_per_year + (budget / model.price if model.price > 0.0 else 0.0)
        c *= math.exp(-p["compute_depreciation_per_year"] * dt)
        self.compute_flop_per_year = c
        h = self.hire
        self.researchers = max(0.0, self.researchers + (h * model.hire_scale if h > 0.0 else h))
        if self.singular_year < 0.0:
            log_s = self.log_software
            log_g, slope = self.log_growth(model.shocks[self.column])
            new_s, tau = advance_log_software(log_s, log_g, slope, dt, p["sim_log_software_ceiling"])
            if tau >= 0.0:
                self.singular_year = model.year + tau
            self.drift += self.automation * (new_s - log_s) * (1.0 - self.safety) * p["safety_drift_rate"]
            self.log_software = new_s
        self.run_flop += self.train_fraction * c * dt
        self.run_elapsed_years += dt
        if self.run_elapsed_years >= p["training_run_years"] * (1.0 - 1e-9):
            released = released_log_eff_compute(self.run_flop, self.run_log_software, self.data_tokens,
                                                self.automation, p)
            if released > self.log_eff_compute:
                self.log_eff_compute = released
            left = max(0.0, self.run_elapsed_years - p["training_run_years"])
            self.run_elapsed_years = left
            self.run_flop = self.train_fraction * c * left
            self.run_log_software = self.log_software
        log_e = self.log_eff_compute
        self.automation = automation_fraction(
            log_e,
            p["ln10_times_research_automation_midpoint_log10_flop"],
            p["ln10_times_research_automation_width_ooms"],
            p["research_max_automation"],
        )
        if log_e > NEG_INF:
            self.quality = p["capability_alpha"] * (log_e - p["ln_capability_loss_scale_flop"])
            self.log_weight = p["market_winner_take_all"] * self.quality + p["market_data_flywheel"] * math.log1p(
                self.data_tokens
            )
        else:
            self.quality = NEG_INF
            self.log_weight = NEG_INF

    def log_growth(self, shock: float) -> tuple[float, float]:
        """ln of d ln S / dt and its slope d ln g / d ln S."""
        p = self.model.p
        research_compute = (1.0 - self.train_fraction - self.inference_fraction) * self.compute_flop_per_year
        log_rc = math.log(research_compute) if research_compute > 0.0 else NEG_INF
        k_ai = p["research_ai_researchers_per_flop"]
        log_ai = math.log(k_ai) + log_rc + self.log_software if (k_ai > 0.0 and log_rc > NEG_INF) else NEG_INF
        log_r, w_ai = log_research_input(self.researchers, log_ai, self.automation, p["rho_of_research_substitution"],
                                         log_rc - LN_EXPERIMENT_COMPUTE_REF, p["research_experiment_share"])
        if log_r == NEG_INF or self.safety >= 1.0:
            return NEG_INF, 0.0
        log_r += math.log1p(-self.safety)
        lam, beta, dt, sd = (
            p["research_parallelism"],
            p["research_parallelism_over_returns_to_research"],
            p["sim_dt"],
            p["research_shock_sd"],
        )
        log_g = (p["run_start_log_theta"] + lam * log_r - beta * self.log_software + sd * math.sqrt(dt) * shock
                 - 0.5 * sd * sd * dt)
        return log_g, lam * w_ai - beta

    # stage 6: the share moves toward its logit target; demand is served within inference capacity
    def sell(self) -> None:
        model, p = self.model, self.model.p
        target = math.exp(self.log_weight - model.max_weight - model.log_norm)
        self.share = smooth_toward(self.share, target, p["sim_dt"], p["market_switching_years"])
        capacity = self.inference_fraction * self.compute_flop_per_year / p["market_inference_flop_per_usd"]
        self.revenue_usd_per_year = min(self.share * model.demand, capacity)
        self.spare_capacity = capacity - self.revenue_usd_per_year

    # stage 7: unserved demand, data flywheel, funding, wages, exit, performance bookkeeping
    def bank(self) -> None:
        model, p = self.model, self.model.p
        dt = p["sim_dt"]
        revenue = self.revenue_usd_per_year + self.spare_capacity * model.unserved_ratio
        self.revenue_usd_per_year = revenue
        self.data_tokens += p["market_data_tokens_per_usd"] * revenue * dt
        if self.funding == FUNDING_INVESTORS:
            inflow = 0.0
            if model.fund_total > 0.0 and self.quality > NEG_INF:
                pool = p["money_funding_to_demand"] * model.demand
                weight = investor_weight(self.quality, self.revenue_growth, model.frontier_u, p)
                inflow = min(pool * weight / model.fund_total, p["money_funding_max_share"] * pool)
        else:
            inflow = p["money_state_budget_usd_per_year"]
        self.funding_inflow = inflow
        wages = self.researchers * p["money_wage_usd_per_year"] * dt
        cash = self.cash_usd + (revenue * (1.0 - p["money_opex_fraction"]) + inflow) * dt - wages
        self.cash_usd = cash
        if cash < 0.0 or (self.funding == FUNDING_INVESTORS and self.share < model.exit_share
                          and self.founded_year <= model.founded_by):
            self.exited = True
            return
        profit = (revenue * (1.0 - p["money_opex_fraction"]) - self.researchers * p["money_wage_usd_per_year"]
                  - p["compute_depreciation_per_year"] * model.price * self.compute_flop_per_year)
        capital = model.price * self.compute_flop_per_year + max(cash, 0.0)
        self.profit_usd_per_year = profit
        self.capital_usd = capital
        roc = return_on_capital(profit, capital)
        memory = -math.expm1(-dt / p["adaptation_memory_years"])
        self.performance += (roc - self.performance) * memory
        self.aspiration += (self.performance - self.aspiration) * -math.expm1(-dt / p["adaptation_aspiration_years"])
        new_log_revenue = math.log(revenue + REVENUE_FLOOR_USD)
        self.revenue_growth += ((new_log_revenue - self.log_revenue) / dt - self.revenue_growth) * memory
        self.log_revenue = new_log_revenue


# ---------------------------------------------------------------------------------------------- the model
AGENT_FIELDS: tuple[str, ...] = (
    "kind", "funding", "bloc", "strategy", "cash_usd", "compute_flop_per_year", "log_software", "log_eff_compute",
    "researchers", "share", "data_tokens", "drift", "run_flop", "run_log_software", "run_elapsed_years",
    "spend_rate_per_year", "compute_spend_fraction", "train_fraction", "inference_fraction", "safety_base",
    "openness", "performance", "aspiration", "log_revenue", "revenue_growth", "profit_usd_per_year", "capital_usd",
    "founded_year", "safety", "automation", "quality", "revenue_usd_per_year", "singular_year",
)


class MesaEconomy(mesa.Model):
    """One run of a restricted scenario (:data:`RESTRICTED_OVERRIDES`), agent by agent in Python.

    ``model.record`` is the market record of the last step, keyed by ``economy.kernels.layout.MARKET_COLUMNS``
    names (the columns this configuration computes).
    """

    def __init__(self, scenario: Scenario, seed: int = 0) -> None:
        check_restricted(scenario)
        start = Simulation(scenario, [seed], record_labs=False)  # the engine's starting state, copied below
        root = start.roots[0]
        super().__init__(rng=np.random.Generator(np.random.PCG64(child_sequence(root, "mesa"))))
        self.settings = scenario  # (mesa.Model.scenario is Mesa's own)
        self.shock_stream = generators(root)["shocks"]
        self.capacity = start.capacity
        self.p = dict(zip(L.PARAM_NAMES, start.par[0].tolist(), strict=True))
        self.wanted_rivals = int(self.p["safety_racing_rivals"])
        world = start.world
        self.steps_done = 0
        self.log_price_floor = float(world.log_price_floor[0])
        self.price = float(world.price[0])
        self.talent_pool = float(world.talent_pool[0])
        self.resale_flop = float(world.resale_flop[0])
        self.demand = float(world.demand[0])
        self.consumer_value = float(world.consumer_value[0])
        self.singularity_year = float(world.singularity_year[0])
        self.takeoff_start_year = float(world.takeoff_start_year[0])
        self.takeoff_end_year = float(world.takeoff_end_year[0])
        self.frontier_history = world.frontier_history[0].tolist()
        self.singular_removed = 0  # labs removed (exited) after going singular still count in n_singular
        self.exits: list[tuple[float, int, float]] = []  # (year, lab column, cash at exit)
        labs = start.labs
        for i in range(start.n_labs):
            if labs.alive[0, i]:
                Lab(self, i, {name: getattr(labs, name)[0, i].item() for name in AGENT_FIELDS})
        self.record: dict[str, float] = {}
        reporters = {"Year": "year", "HHI": "hhi", "EffectiveLabs": "effective_labs", "Top1": "top1_share",
                     "Top4": "top4_share", "GiniRevenue": "gini_revenue", "FrontierQuality": "frontier_quality",
                     "ComputePrice": "compute_price", "TotalDemand": "total_demand", "Alive": "n_alive"}
        self.datacollector = mesa.DataCollector(
            model_reporters={label: (lambda m, key=key: m.record[key]) for label, key in reporters.items()})

    def step(self) -> None:
        p = self.p
        dt = p["sim_dt"]
        self.year = p["sim_start_year"] + self.steps_done * dt
        self.shocks = self.shock_stream.standard_normal(self.capacity)
        labs = list(self.agents)  # in lab-id order (agents are created in that order)
        lead = self.frontier(labs)

        # stage 1: every lab sees the best labs by quality (its racing rivals) and decides
        self.ranking = sorted(labs, key=lambda lab: (-lab.quality, lab.column))[: self.wanted_rivals + 1]
        self.agents.shuffle_do("decide")

        # stage 2: the compute market clears, hiring is rationed by the talent pool, hardware improves
        owned = budget = hires = fires = 0.0
        for lab in labs:
            owned += lab.compute_flop_per_year
            budget += lab.compute_budget_usd
            if lab.hire > 0.0:
                hires += lab.hire
            else:
                fires -= lab.hire
        supply = math.exp(
            math.log(p["compute_supply_flop_per_year"])
            + p["ln_compute_supply_growth_per_year"] * (self.year - p["sim_start_year"])
        )
        available = supply * dt + self.resale_flop
        floor = math.exp(self.log_price_floor)
        self.price = price = max(floor, budget / available)
        sold = budget / price if price > 0.0 else 0.0
        if self.resale_flop > 0.0:
            self.resale_flop *= max(0.0, 1.0 - sold / available)
        record = {"cash_compute_spend": budget, "compute_bought": sold, "price_floor": floor,
                  "compute_depreciated": -math.expm1(-p["compute_depreciation_per_year"] * dt) * (owned + sold)}
        pool = self.talent_pool + fires
        self.hire_scale = min(1.0, pool / hires) if hires > 0.0 else 1.0
        self.talent_pool = max(0.0, pool - hires * self.hire_scale)
        automation = lead.automation if lead is not None else 0.0
        self.log_price_floor -= (
            p["ln2_over_compute_hw_doubling_years"] * (1.0 + p["compute_hw_ai_feedback"] * automation) * dt
        )

        # stages 2-4 per lab
        self.agents.shuffle_do("produce")

        # stage 6: demand, the logit normaliser (with the outside option), investors' total weight
        years_in = self.steps_done * dt + dt
        first = self.frontier(labs)
        self.frontier_u = first.quality if first is not None else p["quality_of_market_outside_log10_flop"]
        log_cap = (
            math.log(p["market_max_gwp_fraction"])
            + p["ln_market_gwp_usd_per_year"]
            + p["market_gwp_growth_per_year"] * years_in
        )
        log_d = p["ln_market_demand_usd_per_year"] + p["market_adoption_growth_per_year"] * years_in
        if p["market_demand_quality_elasticity"] != 0.0:
            log_d += p["market_demand_quality_elasticity"] * (self.frontier_u - p["run_start_frontier_quality"])
        self.demand = demand = math.exp(min(log_cap, log_d))
        w0 = p["market_winner_take_all"] * p["quality_of_market_outside_log10_flop"]
        m = w0
        for lab in labs:
            if lab.log_weight > m:
                m = lab.log_weight
        z = math.exp(w0 - m)
        fund = 0.0
        for lab in labs:
            z += math.exp(lab.log_weight - m)
            if lab.funding == FUNDING_INVESTORS and lab.quality > NEG_INF:
                fund += investor_weight(lab.quality, lab.revenue_growth, self.frontier_u, p)
        self.max_weight = m
        self.log_norm = math.log(z)
        self.fund_total = fund
        self.consumer_value += demand * (self.log_norm + m - w0) * dt
        self.agents.shuffle_do("sell")

        unserved = spare = inside = 0.0
        for lab in labs:
            unserved += lab.share * demand - lab.revenue_usd_per_year
            spare += lab.spare_capacity
            inside += lab.share
        self.unserved_ratio = min(1.0, unserved / spare) if spare > 0.0 else 0.0
        self.exit_share = p["money_exit_relative_share"] * inside / len(labs) if labs else 0.0
        self.founded_by = p["sim_start_year"] + (self.steps_done + 1) * dt - p["money_exit_grace_years"]

        # stage 7: money; then the cash flows of the step and the exits (compute and people return)
        self.agents.shuffle_do("bank")
        year_end = self.year + dt
        flows = dict.fromkeys(("cash_revenue", "cash_funding", "cash_state_budget", "cash_wages", "cash_opex",
                               "cash_removed_at_exit", "compute_removed_at_exit"), 0.0)
        people_exit = 0.0
        n_exits = 0
        for lab in labs:
            revenue = lab.revenue_usd_per_year * dt
            flows["cash_revenue"] += revenue
            flows["cash_opex"] += revenue * p["money_opex_fraction"]
            if lab.funding == FUNDING_INVESTORS:
                flows["cash_funding"] += lab.funding_inflow * dt
            else:
                flows["cash_state_budget"] += lab.funding_inflow * dt
            flows["cash_wages"] += lab.researchers * p["money_wage_usd_per_year"] * dt
            if lab.exited:
                n_exits += 1
                flows["cash_removed_at_exit"] += lab.cash_usd
                flows["compute_removed_at_exit"] += lab.compute_flop_per_year
                people_exit += lab.researchers
                self.exits.append((year_end, lab.column, lab.cash_usd))
                if lab.singular_year >= 0.0:
                    self.singular_removed += 1
                    if self.singularity_year < 0.0 or lab.singular_year < self.singularity_year:
                        self.singularity_year = lab.singular_year
                lab.remove()
        self.resale_flop += flows["compute_removed_at_exit"]
        self.talent_pool += people_exit
        record.update(flows)
        record["n_exits"] = n_exits

        # the research workforce grows; stage 10, the market record
        labs = list(self.agents)
        staff = 0.0
        for lab in labs:
            staff += lab.researchers
        growth = p["money_talent_growth_per_year"] * (self.talent_pool + staff) * dt
        self.talent_pool += growth
        self.steps_done += 1
        record["people_growth"] = growth
        self.record = self.market_record(labs, year_end, record)
        self.datacollector.collect(self)

    @staticmethod
    def frontier(labs: list[Lab]) -> Lab | None:
        """The lab with the best quality (ties: the lowest id)."""
        best = None
        for lab in labs:
            if best is None or lab.quality > best.quality:
                best = lab
        return best

    def market_record(self, labs: list[Lab], year: float, record: dict[str, float]) -> dict[str, float]:
        """Stage 10: concentration, Gini of revenue, the frontier and the gap to the runner-up, stocks."""
        p = self.p
        dt = p["sim_dt"]
        n_alive = len(labs)
        total_cash = total_compute = staff = revenue = inside = safety = max_drift = 0.0
        n_singular = self.singular_removed
        for lab in labs:
            if lab.singular_year >= 0.0:
                n_singular += 1
            total_cash += lab.cash_usd
            total_compute += lab.compute_flop_per_year
            staff += lab.researchers
            revenue += lab.revenue_usd_per_year
            inside += lab.share
            safety += lab.safety
            max_drift = max(max_drift, lab.drift)
        record["year"] = year
        if inside > 0.0:
            hhi = 0.0
            shares = []
            for lab in labs:
                s = lab.share / inside
                hhi += s * s
                shares.append(s)
            top = [*sorted(shares, reverse=True)[:4], 0.0, 0.0, 0.0, 0.0]
            hhi *= 10_000.0
            record.update(hhi=hhi, effective_labs=10_000.0 / hhi, top1_share=top[0],
                          top4_share=top[0] + top[1] + top[2] + top[3])
        else:
            record.update(hhi=0.0, effective_labs=0.0, top1_share=0.0, top4_share=0.0)
        record["outside_share"] = 1.0 - inside if n_alive > 0 else 1.0
        ranked = sorted(lab.revenue_usd_per_year for lab in labs)
        total = weighted = 0.0
        for k, x in enumerate(ranked):
            total += x
            weighted += (k + 1) * x
        record["gini_revenue"] = 2.0 * weighted / (n_alive * total) - (n_alive + 1.0) / n_alive if total > 0.0 else 0.0
        # frontier and runner-up among labs with a trained model
        first = second = None
        for lab in labs:
            if first is None or lab.quality > first.quality:
                first, second = lab, first
            elif second is None or lab.quality > second.quality:
                second = lab
        if second is not None and second.quality == NEG_INF:
            second = None
        if first is not None and first.quality == NEG_INF:
            first = None
        log_e = NEG_INF
        if first is not None:
            log_e = first.log_eff_compute
            record.update(frontier_quality=first.quality, frontier_log10_eff_compute=log_e / LN10,
                          frontier_log_software=first.log_software, frontier_automation=first.automation)
            if self.takeoff_start_year < 0.0 and log_e >= p["ln10_times_capability_par_human_log10_flop"]:
                self.takeoff_start_year = year
            if self.takeoff_end_year < 0.0 and log_e >= p["ln10_times_capability_superhuman_log10_flop"]:
                self.takeoff_end_year = year
        else:
            record.update(frontier_quality=math.nan, frontier_log10_eff_compute=math.nan,
                          frontier_log_software=math.nan, frontier_automation=math.nan)
        history, s = self.frontier_history, self.steps_done
        history[s % len(history)] = log_e
        back = min(s, len(history) - 1)
        rate = (log_e - history[(s - back) % len(history)]) / (back * dt) if (first is not None and back > 0) else 0.0
        if first is not None and second is not None:
            gap = first.log_eff_compute - second.log_eff_compute
            record.update(runnerup_quality=second.quality, leader_gap_ooms=gap / LN10,
                          leader_gap_years=gap / rate if 0.0 < rate < math.inf else math.nan)
        else:
            record.update(runnerup_quality=math.nan, leader_gap_ooms=math.nan, leader_gap_years=math.nan)
        for lab in labs:
            if lab.singular_year >= 0.0 and (self.singularity_year < 0.0 or lab.singular_year < self.singularity_year):
                self.singularity_year = lab.singular_year
        record.update(compute_price=self.price, total_demand=self.demand, total_revenue=revenue, n_alive=n_alive,
                      n_singular=n_singular, mean_safety=safety / n_alive if n_alive > 0 else 0.0,
                      max_drift=max_drift, total_cash=total_cash, total_compute=total_compute,
                      total_researchers=staff, talent_pool=self.talent_pool, resale_compute=self.resale_flop)
        # knowledge gap: dispersion of ln S and the mean gap to the best
        if n_alive:
            top_s = max(lab.log_software for lab in labs)
            mean = 0.0
            for lab in labs:
                mean += lab.log_software
            mean /= n_alive
            ss = 0.0
            for lab in labs:
                ss += (lab.log_software - mean) ** 2
            record.update(knowledge_gap_dispersion=math.sqrt(ss / n_alive), mean_log_software_gap=top_s - mean)
        else:
            record.update(knowledge_gap_dispersion=0.0, mean_log_software_gap=0.0)
        return record
