"""Policy interventions: the validated ``[[policies]]`` tables of a scenario (stage 9 of docs/model.md).

Each policy is a table with a ``kind``, a ``start_year``, an optional ``end_year`` (active on steps starting in
``[start_year, end_year)``) and its own parameters; docs/policies.md gives every policy's equations and the
stage where it acts.  A scenario holds at most one policy of each kind: two compute caps would only mean the
tighter one, so a second table of a kind is refused rather than silently combined.

Kernels never see these objects: :func:`policy_values` flattens them into the ``pol_*`` columns of the packed
parameter row (economy.kernels.layout), with ``start = +inf`` for an absent policy.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from economy.params.fields import LN10_TIMES, UNSET_IS_NEVER, Section, Transform, param, setting

__all__ = [
    "POLICY_KINDS",
    "POLICY_PARAM_NAMES",
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
    "policy_values",
    "spillover_cut_window",
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

POLICY_PARAM_NAMES: tuple[str, ...] = (
    "pol_cap_start", "pol_cap_end", "pol_cap_flop",
    "pol_ctax_start", "pol_ctax_end", "pol_ctax_rate", "pol_ctax_small",
    "pol_wtax_start", "pol_wtax_end", "pol_wtax_rate", "pol_wtax_threshold", "pol_wtax_small",
    "pol_sub_start", "pol_sub_end", "pol_sub_rate", "pol_sub_max_share",
    "pol_open_start", "pol_open_end", "pol_open_min",
    "pol_merger_start", "pol_merger_end", "pol_merger_post", "pol_merger_delta", "pol_merger_share",
    "pol_breakup_start", "pol_breakup_end", "pol_breakup_share",
    "pol_export_start", "pol_export_end", "pol_export_blocs_lo", "pol_export_blocs_hi", "pol_export_cut",
    "pol_safety_start", "pol_safety_end", "pol_safety_min", "pol_safety_liability",
    "pol_pause_start", "pol_pause_end", "pol_pause_threshold_ln", "pol_pause_years",
)
"""Packed columns (economy.kernels.layout appends them to the scalar parameters)."""

_OFF = math.inf
LN10 = math.log(10.0)


def policy_values(policies: tuple[Any, ...]) -> dict[str, float]:
    """The ``pol_*`` columns of the packed row: every policy absent (start = +inf) unless given."""
    v: dict[str, float] = {name: 0.0 for name in POLICY_PARAM_NAMES}
    for prefix in ("cap", "ctax", "wtax", "sub", "open", "merger", "breakup", "export", "safety", "pause"):
        v[f"pol_{prefix}_start"] = _OFF
        v[f"pol_{prefix}_end"] = _OFF
    v["pol_merger_post"] = 10_000.0
    v["pol_merger_share"] = 1.0
    v["pol_breakup_share"] = 1.0
    for pol in policies:
        start, end = pol.window()
        match pol:
            case ComputeCap():
                v |= {"pol_cap_start": start, "pol_cap_end": end, "pol_cap_flop": pol.max_training_flop}
            case ComputeTax():
                v |= {"pol_ctax_start": start, "pol_ctax_end": end, "pol_ctax_rate": pol.rate,
                      "pol_ctax_small": pol.small_share}
            case WindfallTax():
                v |= {"pol_wtax_start": start, "pol_wtax_end": end, "pol_wtax_rate": pol.rate,
                      "pol_wtax_threshold": pol.threshold_usd_per_year, "pol_wtax_small": pol.small_share}
            case RndSubsidy():
                v |= {"pol_sub_start": start, "pol_sub_end": end, "pol_sub_rate": pol.rate,
                      "pol_sub_max_share": pol.max_share}
            case OpenPublication():
                v |= {"pol_open_start": start, "pol_open_end": end, "pol_open_min": pol.min_openness}
            case MergerReview():
                v |= {"pol_merger_start": start, "pol_merger_end": end, "pol_merger_post": pol.post_hhi,
                      "pol_merger_delta": pol.delta_hhi, "pol_merger_share": pol.max_merged_share}
            case Breakup():
                v |= {"pol_breakup_start": start, "pol_breakup_end": end, "pol_breakup_share": pol.max_share}
            case ExportControls():
                lo = sum(1 << c for c in set(pol.restricted_blocs) if c < 32)
                hi = sum(1 << (c - 32) for c in set(pol.restricted_blocs) if c >= 32)
                v |= {"pol_export_start": start, "pol_export_end": end, "pol_export_blocs_lo": float(lo),
                      "pol_export_blocs_hi": float(hi), "pol_export_cut": pol.compute_cut}
            case SafetyStandard():
                v |= {"pol_safety_start": start, "pol_safety_end": end, "pol_safety_min": pol.min_safety,
                      "pol_safety_liability": pol.liability}
            case ConditionalPause():
                v |= {"pol_pause_start": start, "pol_pause_end": end,
                      "pol_pause_threshold_ln": pol.threshold_log10_eff_compute * LN10,
                      "pol_pause_years": pol.duration_years}
            case _:  # pragma: no cover - the discriminated union admits nothing else
                raise TypeError(f"unknown policy {pol!r}")
    return v


def spillover_cut_window(policies: tuple[Any, ...]) -> tuple[float, float] | None:
    """The years ``[cut, reopen)`` in which export controls cut cross-bloc spillover edges, if they do."""
    for pol in policies:
        if isinstance(pol, ExportControls) and pol.cut_spillover:
            return pol.window()
    return None
