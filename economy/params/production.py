"""How labs make progress: ``[research]`` (stage 3), ``[compute]`` (stage 2), ``[training]`` and ``[capability]``
(stage 4) of docs/model.md."""

from __future__ import annotations

from pydantic import model_validator

from economy.params.fields import LN, LN2_OVER, LN10_TIMES, Section, Transform, param

__all__ = ["RHO_OF", "Capability", "Compute", "Research", "Training"]

RHO_OF = Transform("RHO_OF_", "(x - 1) / x", lambda sigma: ((sigma - 1.0) / sigma,))
"""The CES exponent rho of an elasticity of substitution sigma."""


class Research(Section):
    """Semi-endogenous ideas production with automation (docs/model.md stage 3)."""

    returns_to_research: float = param(
        1.2,
        0.05,
        10.0,
        "dimensionless",
        "estimate: Davidson & Houlden 2025 prior 0.4-3.6, median ~1.2",
        "r = lambda / beta: < 1 flattens, = 1 exponential, > 1 with full automation blows up in finite time.",
        route="row",
        transform=None,
    )
    parallelism: float = param(
        0.5,
        0.05,
        1.0,
        "dimensionless",
        "estimate: Davidson & Houlden 2025 prior 0.2-0.8, median 0.5",
        "lambda: exponent on research input (stepping-on-toes).",
        route="row",
    )
    substitution: float = param(
        0.5,
        0.05,
        10.0,
        "dimensionless",
        "assumption: sigma < 1 makes the human bottleneck bind",
        "sigma: elasticity of substitution between human and AI research labour (1 = Cobb-Douglas).",
        route="row",
        transform=RHO_OF,
    )
    max_automation: float = param(
        0.95,
        0.0,
        1.0,
        "fraction",
        "assumption",
        "Cap on the automated fraction of research tasks; < 1 is a permanent feedback bottleneck.",
        route="row",
    )
    automation_midpoint_log10_flop: float = param(
        29.5,
        0.0,
        60.0,
        "log10(effective FLOP)",
        "assumption: cf. Davidson 2023, 20%-automation ~4 OOM below AGI requirements",
        "Effective compute of the served model at which half of research is automated.",
        route="row",
        transform=LN10_TIMES,
    )
    automation_width_ooms: float = param(
        1.0, 0.01, 20.0, "OOM", "assumption", "Width (scale) of the automation logistic in orders of magnitude.",
        route="row",
        transform=LN10_TIMES,
    )
    experiment_share: float = param(
        0.3,
        0.0,
        0.95,
        "fraction",
        "assumption: experiment compute as a Cobb-Douglas bottleneck (rho -> 0)",
        "Exponent of physical experiment compute in research input; 0 removes that bottleneck.",
        route="row",
    )
    ai_researchers_per_flop: float = param(
        1e-24,
        0.0,
        None,
        "researcher-equivalents per (FLOP/year)",
        "assumption",
        "k: researcher-equivalents supplied by one FLOP/year of research compute at S = 1.",
        lo_open=True,
        route="row",
    )
    software_doubling_months: float = param(
        8.0,
        0.5,
        240.0,
        "months",
        "data: Ho et al. 2024, 95% CI 5-14 months",
        "Calibration anchor: the starting software leader's doubling time of S; sets theta.",
        route="init",
    )
    shock_sd: float = param(
        0.1,
        0.0,
        2.0,
        "ln units",
        "assumption",
        "Standard deviation of the log-normal shock on each lab's research output per year^0.5.",
        route="row",
    )


class Compute(Section):
    """Compute market (docs/model.md stage 2)."""

    hw_doubling_years: float = param(
        2.5,
        0.1,
        50.0,
        "year",
        "estimate: Epoch, GPU FLOP/$ doubling 2.46 y",
        "Doubling time of hardware price-performance (FLOP per $).",
        route="row",
        transform=LN2_OVER,
    )
    price_usd_per_flop_per_year: float = param(
        3e-18,
        0.0,
        None,
        "USD per (FLOP/year)",
        "estimate: H100 ~$30k all-in for ~1.2e22 FLOP/year at 40% utilisation",
        "Price floor (production cost) of one FLOP/year of capacity at the start.",
        lo_open=True,
        route="init",
    )
    supply_flop_per_year: float = param(
        4e28,
        0.0,
        None,
        "FLOP/year added per year",
        "estimate: ~3M H100-equivalents shipped in 2025 (Epoch)",
        "New AI compute capacity the fabs can deliver per year at the start.",
        lo_open=True,
        route="row",
    )
    supply_growth_per_year: float = param(
        4.0,
        0.1,
        100.0,
        "x per year",
        "assumption: calibrated so the largest training run grows ~4.3x/year in 2025-2030 (Epoch trend 4-5x); "
        "Epoch's installed AI compute grew ~2.3x/year",
        "Growth factor of new-compute supply.",
        route="row",
        transform=LN,
    )
    depreciation_per_year: float = param(
        0.25, 0.0, 5.0, "1/year", "assumption: 4-year accounting life", "Depreciation rate of owned compute.",
        route="row",
    )
    hw_ai_feedback: float = param(
        0.0,
        0.0,
        10.0,
        "dimensionless",
        "assumption",
        "Frontier automation speeds hardware progress: doubling rate x (1 + this x a).",
        route="row",
    )
    training_efficiency_growth_per_year: float = param(
        1.0,
        0.1,
        10.0,
        "x per year",
        "estimate: 1.3-1.5x/year of training FLOP per hardware FLOP (number formats FP32 to BF16 to FP8, "
        "ML accelerators, utilisation) reconciles Epoch's 4-5x/year training compute with Cottier et al. 2024's "
        "2.4x/year cost and the 1.33x/year GPU FLOP per dollar (docs/calibration.md); 1 switches the trend off",
        "Growth of training FLOP per FLOP/year of owned compute (1 at sim.start_year): multiplies what a training run "
        "accumulates, not what the compute costs.",
        route="row",
        transform=LN,
    )


class Training(Section):
    """Discrete training runs and the data wall (docs/model.md stage 4)."""

    run_years: float = param(
        0.4,
        0.01,
        5.0,
        "year",
        "estimate: frontier runs take 3-6 months (Epoch)",
        "Duration of one training run; the model is released at its end.",
        route="row",
    )
    public_data_tokens: float = param(
        3e14,
        0.0,
        None,
        "tokens",
        "estimate: Epoch 2024, ~3e14 public text tokens",
        "Usable public data stock.",
        lo_open=True,
        route="row",
    )
    tokens_per_parameter: float = param(
        20.0,
        1.0,
        1000.0,
        "tokens/parameter",
        "data: Hoffmann et al. 2022",
        "Compute-optimal tokens per parameter (C = 6 N D).",
        route="row",
    )
    data_wall_efficiency: float = param(
        0.5,
        0.0,
        1.0,
        "fraction",
        "assumption: with D fixed only the parameter term of the Chinchilla loss falls",
        "Beyond the data wall, each extra ln of training compute buys this fraction of an ln of effective compute.",
        route="row",
    )
    synthetic_data_multiple: float = param(
        2.0,
        0.0,
        1000.0,
        "x public stock",
        "assumption",
        "Synthetic data available at full automation, as a multiple of the public stock.",
        route="row",
    )


class Capability(Section):
    """Scaling law from effective compute to quality (docs/model.md stage 4)."""

    alpha: float = param(
        0.05,
        0.001,
        1.0,
        "dimensionless",
        "estimate: Kaplan et al. 2020 compute exponent 0.050",
        "Loss exponent: L = L_inf + (C_c / E)^alpha; quality u = alpha ln(E / C_c).",
        route="row",
    )
    loss_scale_flop: float = param(
        2e28,
        0.0,
        None,
        "FLOP",
        "estimate: Kaplan et al. 2020, C_c = 2.3e8 PF-days",
        "C_c in the loss law.",
        lo_open=True,
        route="row",
        transform=LN,
    )
    par_human_log10_flop: float = param(
        32.0,
        0.0,
        80.0,
        "log10(effective FLOP)",
        "assumption: cf. Davidson 2023 (AGI ~1e36 2022-FLOP, 20% automation ~4 OOM less)",
        "Frontier crossing this starts the takeoff clock.",
        route="row",
        transform=LN10_TIMES,
    )
    superhuman_log10_flop: float = param(
        36.0,
        0.0,
        80.0,
        "log10(effective FLOP)",
        "assumption: cf. Davidson 2023",
        "Frontier crossing this stops the takeoff clock.",
        route="row",
        transform=LN10_TIMES,
    )

    @model_validator(mode="after")
    def _ordered(self) -> Capability:
        if self.superhuman_log10_flop <= self.par_human_log10_flop:
            raise ValueError(
                f"superhuman_log10_flop = {self.superhuman_log10_flop:g} must exceed "
                f"par_human_log10_flop = {self.par_human_log10_flop:g}"
            )
        return self
