"""Policy interventions: the validated ``[[policies]]`` tables of a scenario (MODEL.md stage 9).

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

from economy.fields import Section as _Section
from economy.fields import param

__all__ = [
    "POLICY_KINDS",
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
]

REQUIRED = ...
LN10 = math.log(10.0)


class _Policy(_Section):
    start_year: float = param(REQUIRED, 1900.0, 2300.0, "year", "assumption: the policy's design",
                              "First step (by its start year) on which the policy acts.")
    end_year: float | None = param(None, 1900.0, 2300.0, "year", "assumption: the policy's design",
                                   "The policy stops acting on steps starting at or after this year; unset: never.")

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
                                     "Largest physical FLOP one training run may accumulate.", lo_open=True)


class ComputeTax(_Policy):
    """A tax on compute purchases; the revenue buys public compute for small labs."""

    kind: Literal["compute_tax"]
    rate: float = param(REQUIRED, 0.0, 10.0, "USD tax per USD of compute", "assumption",
                        "Ad valorem: a lab spending B gets B / (1 + rate) of compute, the state B rate / (1 + rate).")
    small_share: float = param(0.05, 0.0, 1.0, "fraction", "assumption",
                               "Labs with an inside share below this receive the public compute, in equal parts.")


class WindfallTax(_Policy):
    """A tax on profits above a threshold; the revenue is paid to small labs as grants."""

    kind: Literal["windfall_tax"]
    rate: float = param(REQUIRED, 0.0, 1.0, "fraction", "assumption: cf. O'Keefe et al. 2020 (Windfall Clause)",
                        "Share of profit above the threshold taken.")
    threshold_usd_per_year: float = param(REQUIRED, 0.0, None, "USD/year", "assumption",
                                          "Profit (operating profit after wages and depreciation) left untaxed.")
    small_share: float = param(0.05, 0.0, 1.0, "fraction", "assumption",
                               "Labs with an inside market share below this receive the revenue, in equal parts.")


class RndSubsidy(_Policy):
    """The state pays a share of the research wage bill of small labs (new money)."""

    kind: Literal["rnd_subsidy"]
    rate: float = param(REQUIRED, 0.0, 1.0, "fraction of wages", "assumption",
                        "Share of a small lab's wage bill paid by the state.")
    max_share: float = param(0.05, 0.0, 1.0, "fraction", "assumption",
                             "Labs with an inside market share below this are subsidised.")


class OpenPublication(_Policy):
    """Every lab publishes at least ``min_openness`` (the spillover network and entrants read openness)."""

    kind: Literal["open_publication"]
    min_openness: float = param(REQUIRED, 0.0, 1.0, "fraction", "assumption", "Floor on every lab's openness.")


class MergerReview(_Policy):
    """Acquisitions are blocked above HHI and share thresholds (2023 US Merger Guidelines)."""

    kind: Literal["merger_review"]
    post_hhi: float = param(1_800.0, 0.0, 10_000.0, "HHI (0-10,000)", "data: 2023 US Merger Guidelines",
                            "Blocked when the post-deal HHI exceeds this and the rise exceeds delta_hhi.")
    delta_hhi: float = param(100.0, 0.0, 10_000.0, "HHI (0-10,000)", "data: 2023 US Merger Guidelines",
                             "See post_hhi.")
    max_merged_share: float = param(0.30, 0.0, 1.0, "fraction", "data: 2023 US Merger Guidelines (30 % share)",
                                    "Blocked when the merged lab's inside share exceeds this.")


class Breakup(_Policy):
    """A lab whose inside share exceeds ``max_share`` is split into equal parts each at most ``max_share``."""

    kind: Literal["breakup"]
    max_share: float = param(REQUIRED, 0.0, 1.0, "fraction", "assumption",
                             "Largest inside market share a lab may hold after a step.", lo_open=True)


class ExportControls(_Policy):
    """Labs in the restricted blocs cannot buy (a share of) compute; spillover between blocs is cut."""

    kind: Literal["export_controls"]
    restricted_blocs: tuple[Annotated[int, Field(ge=0, le=63)], ...] = Field(
        REQUIRED, min_length=1, description="Bloc codes (labs.list[].bloc) whose labs are denied compute.")
    compute_cut: float = param(1.0, 0.0, 1.0, "fraction", "assumption",
                               "Share of a restricted lab's compute purchases refused (its budget stays cash).")
    cut_spillover: bool = Field(True, description="Also cut spillover edges between labs of different blocs.")


class SafetyStandard(_Policy):
    """A floor on every lab's safety share, and liability for incidents."""

    kind: Literal["safety_standard"]
    min_safety: float = param(REQUIRED, 0.0, 1.0, "fraction", "assumption",
                              "Floor on every lab's safety share (after racing).", hi_open=True)
    liability: float = param(1.0, 0.0, 100.0, "multiple of the incident's cash cost", "assumption",
                             "An incident also costs the lab this multiple of its cash loss (paid out of the model).")


class ConditionalPause(_Policy):
    """Once the frontier crosses a capability threshold, no model above it is released for a while."""

    kind: Literal["conditional_pause"]
    threshold_log10_eff_compute: float = param(REQUIRED, 0.0, 80.0, "log10(effective FLOP)", "assumption",
                                               "Frontier capability that triggers the pause.")
    duration_years: float = param(REQUIRED, 0.0, 100.0, "year", "assumption", "Length of the pause.",
                                  lo_open=True)


Policy = Annotated[
    ComputeCap | ComputeTax | WindfallTax | RndSubsidy | OpenPublication | MergerReview | Breakup | ExportControls
    | SafetyStandard | ConditionalPause,
    Field(discriminator="kind"),
]
POLICY_KINDS: tuple[str, ...] = (
    "compute_cap", "compute_tax", "windfall_tax", "rnd_subsidy", "open_publication", "merger_review", "breakup",
    "export_controls", "safety_standard", "conditional_pause",
)

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
