"""What labs do besides producing and selling: ``[safety]`` (stages 1 and 8), ``[entry]`` and ``[acquisitions]``
(stage 7), ``[incidents]`` (stage 8) and ``[adaptation]`` (stage 1) of docs/model.md."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field, model_validator

from economy.archetypes import KIND_NAMES
from economy.params.fields import Section, Transform, param, setting
from economy.params.labs import Kind

__all__ = ["CUMULATIVE_MIX", "Acquisitions", "Adaptation", "Entry", "Incidents", "Safety"]


def _cumulative_mix(mix: Mapping[str, float]) -> tuple[float, ...]:
    weights = [mix.get(kind, 0.0) for kind in KIND_NAMES]
    total = sum(weights)
    out = []
    cumulative = 0.0
    for k, weight in enumerate(weights):
        cumulative += weight
        out.append(cumulative / total if k < len(weights) - 1 else 1.0)
    return tuple(out)


CUMULATIVE_MIX = Transform("CUMULATIVE_", "cumulative normalised weight of the kinds 0..k (KIND_NAMES order)",
                           _cumulative_mix, width=len(KIND_NAMES))
"""An archetype mix as cumulative weights, one column per kind; the last is 1."""


class Safety(Section):
    """Racing and value drift (docs/model.md stages 1 and 8); incidents are in the [incidents] section."""

    racing_sensitivity: float = param(
        0.5,
        0.0,
        1.0,
        "fraction",
        "assumption: Armstrong, Bostrom & Shulman 2016",
        "Largest fractional cut in the safety share when a rival is level.",
        route="row",
    )
    racing_scale: float = param(
        0.05, 1e-6, 10.0, "quality units", "assumption", "Quality gap at which racing pressure falls by a factor e.",
        route="row",
    )
    drift_rate: float = param(
        1.0,
        0.0,
        100.0,
        "1/ln(multiplier)",
        "assumption",
        "Drift per unit of automated software growth without safety effort.",
        route="row",
    )
    racing_rivals: int = param(
        3,
        1,
        16,
        "labs",
        "assumption",
        "Without a network, a lab watches the this-many best other labs (by quality) as rivals; with a network, "
        "its active neighbours. 1: the leader for everyone, the runner-up for the leader.",
        route="row",
    )


class Entry(Section):
    """Entry of new labs (docs/model.md stage 7)."""

    rate_per_year: float = param(
        0.5,
        0.0,
        100.0,
        "entrants/year",
        "assumption: of the order of one notable new model developer a year (cf. Epoch notable AI models, "
        "2023-2025)",
        "Poisson entry rate at zero industry return on capital; 0 switches entry off.",
        route="row",
    )
    profit_sensitivity: float = param(
        2.0,
        0.0,
        50.0,
        "year",
        "assumption",
        "Entry rate x exp(this x industry return on capital), the return (1/year) capped at 1: entry rises "
        "with industry profits.",
        route="row",
    )
    lag_ln: float = param(
        0.7,
        0.0,
        50.0,
        "ln units",
        "assumption: open models trail the closed frontier by about a year (Epoch 2024)",
        "Entrants start this far behind the open frontier, in ln S and in ln E of a served model (fine-tuned "
        "open weights).",
        route="row",
    )
    open_threshold: float = param(
        0.5,
        0.0,
        1.0,
        "fraction",
        "assumption",
        "Labs with openness at least this publish their weights: the best of them is the open frontier.",
        route="row",
    )
    size_dispersion: float = param(
        1.0, 0.0, 5.0, "ln units", "assumption", "Standard deviation of ln(size) of an entrant (size 1 = archetype).",
        route="row",
    )
    mix: dict[Kind, Annotated[float, Field(ge=0.0)]] = setting(
        default_factory=lambda: {"startup": 0.7, "fast_follower": 0.2, "open_weights": 0.1},
        description="Archetype weights of entrants (normalised); an entrant starts with its archetype's cash and "
        "staff times its size, and no compute.",
        route="row",
        transform=CUMULATIVE_MIX,
    )

    @model_validator(mode="after")
    def _mix(self) -> Entry:
        if sum(self.mix.values()) <= 0.0:
            raise ValueError("entry.mix: weights must not all be zero")
        return self


class Acquisitions(Section):
    """Acquisitions of small labs by large ones, and the merger-review seam (docs/model.md stage 7)."""

    rate_per_year: float = param(
        0.25,
        0.0,
        100.0,
        "1/year",
        "assumption",
        "Rate at which each large lab looks for a deal; 0 switches acquisitions off.",
        route="row",
    )
    min_acquirer_share: float = param(
        0.1, 0.0, 1.0, "fraction", "assumption", "A lab with at least this inside-market share may acquire.",
        route="row",
    )
    max_target_share: float = param(
        0.02, 0.0, 1.0, "fraction", "assumption", "A lab with at most this inside-market share may be acquired.",
        route="row",
    )
    premium: float = param(
        0.3,
        0.0,
        10.0,
        "fraction of book value",
        "estimate: control premia of 20-40% in public takeovers (e.g. Betton, Eckbo & Thorburn 2008)",
        "Price = (1 + premium) x (target's cash + compute at the market price), paid to its owners.",
        route="row",
    )
    review_post_hhi: float = param(
        10_000.0,
        0.0,
        10_000.0,
        "HHI (0-10,000)",
        "data: 2023 US Merger Guidelines presume harm above 1,800 with a rise above 100",
        "Merger review: a deal is blocked when the post-deal HHI exceeds this and its rise exceeds "
        "review_delta_hhi; 10,000: no review.",
        route="row",
    )
    review_delta_hhi: float = param(
        100.0, 0.0, 10_000.0, "HHI (0-10,000)", "data: 2023 US Merger Guidelines", "See review_post_hhi.",
        route="row",
    )

    @model_validator(mode="after")
    def _sizes(self) -> Acquisitions:
        if self.max_target_share >= self.min_acquirer_share:
            raise ValueError(
                f"acquisitions.max_target_share = {self.max_target_share:g} must be below "
                f"min_acquirer_share = {self.min_acquirer_share:g}"
            )
        return self


class Incidents(Section):
    """Safety incidents and the catastrophe outcome (docs/model.md stage 8)."""

    hazard_per_drift: float = param(
        0.002,
        0.0,
        100.0,
        "1/year per unit of drift",
        "assumption",
        "Incident hazard per unit of accumulated drift, at or below the capability threshold and with no safety "
        "effort; 0 switches incidents off.",
        route="row",
    )
    capability_threshold_log10_flop: float = param(
        32.0,
        0.0,
        80.0,
        "log10(effective FLOP)",
        "assumption: the par-human level (capability.par_human_log10_flop)",
        "Above this effective compute of its served model a lab's hazard rises with capability.",
        route="row",
    )
    capability_sensitivity: float = param(
        0.3,
        0.0,
        10.0,
        "ln units per OOM",
        "assumption",
        "Hazard x exp(this x OOMs of effective compute above the threshold).",
        route="row",
    )
    safety_effectiveness: float = param(
        5.0,
        0.0,
        100.0,
        "1/fraction",
        "assumption: safety work (evaluations, monitoring, control) catches problems before they become incidents",
        "Hazard x exp(-this x the lab's current safety share); 0: safety effort acts only through slower drift.",
        route="row",
    )
    catastrophe_fraction: float = param(
        0.02,
        0.0,
        1.0,
        "fraction",
        "assumption",
        "Share of a lab's incidents that are catastrophic, times its research automation a (loss of oversight).",
        route="row",
    )
    share_loss: float = param(
        0.2, 0.0, 1.0, "fraction", "assumption", "Fraction of its market share (and urn customers) an incident costs.",
        route="row",
    )
    cash_loss: float = param(
        0.05,
        0.0,
        1.0,
        "fraction",
        "assumption",
        "Fraction of its cash an incident costs (remediation, fines), a documented sink.",
        route="row",
    )


class Adaptation(Section):
    """Adaptive routines: imitation of more profitable labs and satisficing search (Nelson and Winter 1982)."""

    memory_years: float = param(
        1.0,
        0.01,
        50.0,
        "year",
        "assumption",
        "Time constant of the smoothed performance (return on capital) and revenue growth a lab is judged by.",
        route="row",
    )
    aspiration_years: float = param(
        3.0,
        0.01,
        100.0,
        "year",
        "assumption: adaptive aspirations, Cyert & March 1963",
        "Time constant with which a lab's aspiration follows its own performance.",
        route="row",
    )
    imitation_rate_per_year: float = param(
        0.5,
        0.0,
        100.0,
        "1/year",
        "assumption: Nelson & Winter 1982",
        "Rate at which a lab looks at the labs it observes and copies the routine of the most profitable one if "
        "it beats its own; 0 switches imitation off.",
        route="row",
    )
    search_rate_per_year: float = param(
        1.0,
        0.0,
        100.0,
        "1/year",
        "assumption: Nelson & Winter 1982 satisficing",
        "Rate at which a lab whose performance is below its aspiration tries a perturbed routine; 0 switches "
        "search off.",
        route="row",
    )
    search_step: float = param(
        0.3,
        0.0,
        2.0,
        "ln odds",
        "assumption",
        "Standard deviation of a search step on the log-odds of the compute-spend fraction, the training fraction "
        "and the safety share.",
        route="row",
    )
