"""Policy interventions: the validated ``[[policies]]`` tables of a scenario (stage 9 of docs/model.md).

Each policy is a table with a ``kind``, a ``start_year``, an optional ``end_year`` (active on steps starting in
``[start_year, end_year)``) and its own parameters; docs/policies.md gives every policy's equations and the
stage where it acts.  A scenario holds at most one policy of each kind: two compute caps would only mean the
tighter one, so a second table of a kind is refused rather than silently combined.

Kernels never see these objects: each policy field declares its packed column (``P_<KIND>_<FIELD>`` of
economy.kernels.layout, one set per kind) and the column's ``absent`` value, which switches the policy off
(``start_year = +inf`` for a kind the scenario does not give).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from economy.params.fields import LN10_TIMES, UNSET_IS_NEVER, Section, Transform, param, setting

__all__ = [
    "POLICY_KINDS",
    "POLICY_TABLES",
    "Breakup",
    "ComputeCap",
    "ComputeTax",
    "ConditionalPause",
    "ExportControls",
    "MergerReview",
    "OpenPublication",
    "Policy",
    "RndSubsidy",
    "SafetyStandard",
    "WindfallTax",
]

REQUIRED = ...
OFF = math.inf
"""The start year of a policy the scenario does not give: it never acts."""


def _bloc_bits(blocs: tuple[int, ...]) -> tuple[float, float]:
    codes = set(blocs)
    return float(sum(1 << c for c in codes if c < 32)), float(sum(1 << (c - 32) for c in codes if c >= 32))


BLOC_BITS = Transform("", "bitmask of the codes", _bloc_bits, suffixes=("_BITS_0_31", "_BITS_32_63"))
"""A set of bloc codes (0-63) as two bitmasks that a float holds exactly."""


class _Policy(Section):
    start_year: float = param(REQUIRED, 1900.0, 2300.0, "year", "assumption: the policy's design",
                              "First step (by its start year) on which the policy acts.", route="row", absent=OFF)
    end_year: float | None = param(None, 1900.0, 2300.0, "year", "assumption: the policy's design",
                                   "The policy stops acting on steps starting at or after this year; unset: never.",
                                   route="row", transform=UNSET_IS_NEVER, absent=OFF)

    @model_validator(mode="after")
    def _window(self) -> Any:
        if self.end_year is not None and self.end_year <= self.start_year:
            raise ValueError(f"end_year = {self.end_year:g} must be after start_year = {self.start_year:g}")
        return self

    def window(self) -> tuple[float, float]:
        return self.start_year, math.inf if self.end_year is None else self.end_year


class ComputeCap(_Policy):
    """No training run may use more than ``max_training_flop`` physical FLOP (hardware FLOP, not effective)."""

    kind: Literal["compute_cap"]
    max_training_flop: float = param(REQUIRED, 0.0, None, "FLOP (physical)",
                                     "assumption: cf. the 1e26 FLOP reporting threshold of US EO 14110 (2023)",
                                     "Largest physical FLOP one training run may accumulate.", lo_open=True,
                                     route="row", absent=0.0)


class ComputeTax(_Policy):
    """A tax on compute purchases; the revenue buys public compute for small labs."""

    kind: Literal["compute_tax"]
    rate: float = param(REQUIRED, 0.0, 10.0, "USD tax per USD of compute", "assumption",
                        "Ad valorem: a lab spending B gets B / (1 + rate) of compute, the state B rate / (1 + rate).",
                        route="row", absent=0.0)
    small_share: float = param(0.05, 0.0, 1.0, "fraction", "assumption",
                               "Labs with an inside share below this receive the public compute, in equal parts.",
                               route="row", absent=0.0)


class WindfallTax(_Policy):
    """A tax on profits above a threshold; the revenue is paid to small labs as grants."""

    kind: Literal["windfall_tax"]
    rate: float = param(REQUIRED, 0.0, 1.0, "fraction", "assumption: cf. O'Keefe et al. 2020 (Windfall Clause)",
                        "Share of profit above the threshold taken.", route="row", absent=0.0)
    threshold_usd_per_year: float = param(REQUIRED, 0.0, None, "USD/year", "assumption",
                                          "Profit (operating profit after wages and depreciation) left untaxed.",
                                          route="row", absent=0.0)
    small_share: float = param(0.05, 0.0, 1.0, "fraction", "assumption",
                               "Labs with an inside market share below this receive the revenue, in equal parts.",
                               route="row", absent=0.0)


class RndSubsidy(_Policy):
    """The state pays a share of the research wage bill of small labs (new money)."""

    kind: Literal["rnd_subsidy"]
    rate: float = param(REQUIRED, 0.0, 1.0, "fraction of wages", "assumption",
                        "Share of a small lab's wage bill paid by the state.", route="row", absent=0.0)
    max_share: float = param(0.05, 0.0, 1.0, "fraction", "assumption",
                             "Labs with an inside market share below this are subsidised.", route="row",
                             absent=0.0)


class OpenPublication(_Policy):
    """Every lab publishes at least ``min_openness`` (the spillover network and entrants read openness)."""

    kind: Literal["open_publication"]
    min_openness: float = param(REQUIRED, 0.0, 1.0, "fraction", "assumption", "Floor on every lab's openness.",
                                route="row", absent=0.0)


class MergerReview(_Policy):
    """Acquisitions are blocked above HHI and share thresholds (2023 US Merger Guidelines)."""

    kind: Literal["merger_review"]
    post_hhi: float = param(1_800.0, 0.0, 10_000.0, "HHI (0-10,000)", "data: 2023 US Merger Guidelines",
                            "Blocked when the post-deal HHI exceeds this and the rise exceeds delta_hhi.",
                            route="row", absent=10_000.0)
    delta_hhi: float = param(100.0, 0.0, 10_000.0, "HHI (0-10,000)", "data: 2023 US Merger Guidelines",
                             "See post_hhi.", route="row", absent=0.0)
    max_merged_share: float = param(0.30, 0.0, 1.0, "fraction", "data: 2023 US Merger Guidelines (30 % share)",
                                    "Blocked when the merged lab's inside share exceeds this.",
                                    route="row", absent=1.0)


class Breakup(_Policy):
    """A lab whose inside share exceeds ``max_share`` is split into equal parts each at most ``max_share``."""

    kind: Literal["breakup"]
    max_share: float = param(REQUIRED, 0.0, 1.0, "fraction", "assumption",
                             "Largest inside market share a lab may hold after a step.", lo_open=True,
                             route="row", absent=1.0)


class ExportControls(_Policy):
    """Labs in the restricted blocs cannot buy (a share of) compute; spillover between blocs is cut."""

    kind: Literal["export_controls"]
    restricted_blocs: tuple[Annotated[int, Field(ge=0, le=63)], ...] = setting(
        REQUIRED, min_length=1, description="Bloc codes (labs.list[].bloc) whose labs are denied compute.",
        route="row", transform=BLOC_BITS, absent=(0.0, 0.0))
    compute_cut: float = param(1.0, 0.0, 1.0, "fraction", "assumption",
                               "Share of a restricted lab's compute purchases refused (its budget stays cash).",
                               route="row", absent=0.0)
    cut_spillover: bool = setting(True, description="Also cut spillover edges between labs of different blocs.",
                                  route="row", transform=None)


class SafetyStandard(_Policy):
    """A floor on every lab's safety share, and liability for incidents."""

    kind: Literal["safety_standard"]
    min_safety: float = param(REQUIRED, 0.0, 1.0, "fraction", "assumption",
                              "Floor on every lab's safety share (after racing).", hi_open=True,
                              route="row", absent=0.0)
    liability: float = param(1.0, 0.0, 100.0, "multiple of the incident's cash cost", "assumption",
                             "An incident also costs the lab this multiple of its cash loss (paid out of the model).",
                             route="row", absent=0.0)


class ConditionalPause(_Policy):
    """Once the frontier crosses a capability threshold, no model above it is released for a while."""

    kind: Literal["conditional_pause"]
    threshold_log10_eff_compute: float = param(REQUIRED, 0.0, 80.0, "log10(effective FLOP)", "assumption",
                                               "Frontier capability that triggers the pause.",
                                               route="row", transform=LN10_TIMES, absent=0.0)
    duration_years: float = param(REQUIRED, 0.0, 100.0, "year", "assumption", "Length of the pause.",
                                  lo_open=True, route="row", absent=0.0)


Policy = Annotated[
    ComputeCap | ComputeTax | WindfallTax | RndSubsidy | OpenPublication | MergerReview | Breakup | ExportControls
    | SafetyStandard | ConditionalPause,
    Field(discriminator="kind"),
]
POLICY_TABLES: tuple[type[_Policy], ...] = (
    ComputeCap, ComputeTax, WindfallTax, RndSubsidy, OpenPublication, MergerReview, Breakup, ExportControls,
    SafetyStandard, ConditionalPause,
)
"""The policy tables in the order of their packed columns."""
POLICY_KINDS: tuple[str, ...] = tuple(table.model_fields["kind"].annotation.__args__[0] for table in POLICY_TABLES)

