"""Policy interventions: the validated ``[[policies]]`` tables of a scenario (stage 9 of docs/model.md).

Each policy is a table with a ``kind``, a ``start_year``, an optional ``end_year`` (active on steps starting in
``[start_year, end_year)``) and its own parameters; docs/policies.md gives every policy's equations and the
stage where it acts.  A scenario holds at most one policy of each kind: two compute caps would only mean the
tighter one, so a second table of a kind is refused rather than silently combined.

A policy has a **name** (``name =``, else its kind; a policy file gives its tables the file's name or stem,
economy.params.policy_files), by which keys address it: ``policies.<name>.<key>`` as well as
``policies.<index>.<key>`` (economy.params.keys).  Two policies of one name are refused.

Any policy may carry a **trigger** (``[policies.trigger]``, :class:`Trigger`): the lever then acts only while an
observable condition, watched with a lag, switches it on (docs/policies.md, "Triggers"; the kernel is
economy/kernels/triggers.py).

Kernels never see these objects: each policy field declares its packed column (``P_<KIND>_<FIELD>`` of
economy.kernels.layout, one set per kind) and the column's ``absent`` value, which switches the policy off
(``start_year = +inf`` for a kind the scenario does not give).  A triggered policy packs its start column as
+inf too, switched off until its trigger fires (the trigger stage then writes the run's own row); its declared
window is kept in the trigger's columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from economy.params.fields import BOOLEAN, LN10_TIMES, UNSET_IS_NEVER, Section, Transform, param, setting

__all__ = [
    "POLICY_KINDS",
    "POLICY_TABLES",
    "TRIGGER_FIELDS",
    "TRIGGER_OBSERVABLES",
    "Breakup",
    "ComputeCap",
    "ComputeTax",
    "ConditionalPause",
    "Enforcement",
    "ExportControls",
    "MergerReview",
    "OpenPublication",
    "Policy",
    "RndSubsidy",
    "SafetyStandard",
    "Trigger",
    "WindfallTax",
    "policy_label",
]

REQUIRED = ...
OFF = math.inf
"""The start year of a policy the scenario does not give: it never acts."""
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
"""A policy's name is one part of a dotted key: a letter or underscore, then letters, digits, ``_`` or ``-``."""
MAX_LAG_YEARS = 10.0
"""The longest observation lag of a trigger (it bounds the kernels' observation ring)."""


@dataclass(frozen=True)
class Observable:
    """What a trigger can watch: its code in the packed row, its unit and the range a threshold may take."""

    code: int
    unit: str
    lo: float
    hi: float | None
    doc: str


TRIGGER_OBSERVABLES: dict[str, Observable] = {
    "hhi": Observable(1, "HHI (0-10,000)", 0.0, 10_000.0, "the recorded HHI of the inside market"),
    "leader_share": Observable(2, "fraction", 0.0, 1.0, "the largest lab's inside market share"),
    "frontier_log10_eff_compute": Observable(3, "log10(effective FLOP)", 0.0, 80.0,
                                             "the frontier model's effective compute (capability)"),
    "incidents": Observable(4, "incidents", 0.0, None, "incidents since the run started (catastrophes included)"),
    "catastrophe": Observable(5, "0 or 1", 0.0, 1.0, "1 once a catastrophe has happened"),
}
"""The observables of a trigger, by name (codes 1..5; 0 packs "no trigger")."""
TRIGGER_FIELDS: tuple[str, ...] = (
    "observe", "direction", "threshold", "for_years", "lag_years", "min_duration_years", "from_year")
"""The packed columns of a trigger, in order (``P_<KIND>_TRIGGER_<FIELD>``): the observable's code, +1 (above) or
-1 (below), the threshold, the three durations, and the policy's declared start (its start column is live)."""


class Trigger(Section):
    """Switch a lever on by an observable condition (docs/policies.md, "Triggers").

    The regulator sees the market record ``lag_years`` late (rounded to whole steps).  The lever switches on at
    the first step after a record at which the observed value has been above (or below) the threshold on every
    recorded step for ``for_years``, if that step starts in the policy's window; it stays on at least
    ``min_duration_years`` and then until the observed condition no longer holds; it can switch on again.
    """

    observe: Literal["hhi", "leader_share", "frontier_log10_eff_compute", "incidents", "catastrophe"] = setting(
        REQUIRED, route="row", transform=None,
        description="What the regulator watches: " + "; ".join(f"{name}, {o.doc} ({o.unit})"
                                                              for name, o in TRIGGER_OBSERVABLES.items()) + ".")
    above: float | None = param(None, None, None, "unit of the observable", "assumption: the policy's design",
                                "Switch on when the observed value is above this (give above or below).",
                                route="row", transform=None)
    below: float | None = param(None, None, None, "unit of the observable", "assumption: the policy's design",
                                "Switch on when the observed value is below this (give above or below).",
                                route="row", transform=None)
    for_years: float = param(0.0, 0.0, 100.0, "year", "assumption: the policy's design",
                             "How long the observed condition must have held (0: one record).", route="row",
                             transform=None)
    lag_years: float = param(0.0, 0.0, MAX_LAG_YEARS, "year", "assumption: the policy's design",
                             "Observation lag: the regulator sees the record this long after it is made "
                             "(rounded to whole steps).", route="row", transform=None)
    min_duration_years: float = param(0.0, 0.0, 100.0, "year", "assumption: the policy's design",
                                      "Once on, the lever stays on at least this long.", route="row", transform=None)

    @model_validator(mode="after")
    def _threshold(self) -> Any:
        given = [name for name in ("above", "below") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `above` and `below` (the threshold the observed value must "
                             f"pass); given: {', '.join(given) or 'neither'}")
        value = getattr(self, given[0])
        o = TRIGGER_OBSERVABLES[self.observe]
        if not (o.lo <= value and (o.hi is None or value <= o.hi)):
            high = "inf)" if o.hi is None else f"{o.hi:g}]"
            raise ValueError(f"`{given[0]}` = {value:g} is out of range for {self.observe}: allowed [{o.lo:g}, "
                             f"{high} ({o.unit})")
        return self

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else self.below  # type: ignore[return-value]

    @property
    def direction(self) -> float:
        return 1.0 if self.above is not None else -1.0


def _trigger_columns(policy: Any) -> tuple[float, ...]:
    trigger: Trigger | None = policy.trigger
    if trigger is None:
        return (0.0,) * len(TRIGGER_FIELDS)
    return (float(TRIGGER_OBSERVABLES[trigger.observe].code), trigger.direction, trigger.threshold,
            trigger.for_years, trigger.lag_years, trigger.min_duration_years, policy.start_year)


def _live_start(policy: Any) -> tuple[float, ...]:
    return (OFF if policy.trigger is not None else policy.start_year,)


TRIGGER = Transform("", "trigger field", _trigger_columns,
                    suffixes=tuple("_" + name.upper() for name in TRIGGER_FIELDS), reads_table=True)
"""A trigger as its packed columns; it reads the whole policy (its declared window too)."""
LIVE_START = Transform("", "start_year; +inf for a triggered policy until its trigger fires", _live_start,
                       reads_table=True)
"""The start column the kernels test: the declared start, or +inf (off) while a trigger holds the lever back."""


def policy_label(table: Any) -> str:
    """A policy's name: its ``name``, else its kind (a validated policy or its TOML table)."""
    if isinstance(table, dict):
        return str(table.get("name") or table.get("kind"))
    return str(table.name or table.kind)


def _bloc_bits(blocs: tuple[int, ...]) -> tuple[float, float]:
    codes = set(blocs)
    return float(sum(1 << c for c in codes if c < 32)), float(sum(1 << (c - 32) for c in codes if c >= 32))


BLOC_BITS = Transform("", "bitmask of the codes", _bloc_bits, suffixes=("_BITS_0_31", "_BITS_32_63"))
"""A set of bloc codes (0-63) as two bitmasks that a float holds exactly."""


class _Policy(Section):
    name: str | None = Field(None, pattern=NAME_PATTERN,
                             description="The policy's name in keys (policies.<name>.<key>); default its kind.")
    start_year: float = param(REQUIRED, 1900.0, 2300.0, "year", "assumption: the policy's design",
                              "First step (by its start year) on which the policy acts.", route="row",
                              transform=LIVE_START, absent=OFF)
    end_year: float | None = param(None, 1900.0, 2300.0, "year", "assumption: the policy's design",
                                   "The policy stops acting on steps starting at or after this year; unset: never.",
                                   route="row", transform=UNSET_IS_NEVER, absent=OFF)
    trigger: Trigger | None = setting(None, route="row", transform=TRIGGER, absent=(0.0,) * len(TRIGGER_FIELDS),
                                      description="Switch the lever on by an observable condition "
                                      "([policies.trigger]; docs/policies.md, Triggers); unset: on in its window.")

    @model_validator(mode="after")
    def _window(self) -> Any:
        if self.end_year is not None and self.end_year <= self.start_year:
            raise ValueError(f"end_year = {self.end_year:g} must be after start_year = {self.start_year:g}")
        return self

    def window(self) -> tuple[float, float]:
        return self.start_year, math.inf if self.end_year is None else self.end_year

    @property
    def label(self) -> str:
        """The policy's name (:func:`policy_label`)."""
        return policy_label(self)


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

    @model_validator(mode="after")
    def _trigger_cuts_compute_only(self) -> Any:
        if self.trigger is not None and self.cut_spillover:
            raise ValueError("a triggered export control switches its compute cut only: set cut_spillover = false "
                             "(the spillover cut follows the declared window)")
        return self


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



class Enforcement(Section):
    """Compliance and the regulator (docs/policies.md, "Compliance and the regulator"; economy/kernels/compliance.py).

    With ``evasion = false`` (the default) every binding rule is obeyed exactly and nothing here acts.  With
    ``evasion = true`` each lab, each step, weighs the gain of evading the binding rules (compute cap, export
    controls, safety standard, windfall tax) at its archetype's ``evasion_propensity`` against the expected
    penalty, and a regulator with an audit budget and four detection channels looks for evaders.
    """

    evasion: bool = setting(False, description="Labs may evade binding rules (compute_cap, export_controls, "
                            "safety_standard, windfall_tax) when the expected gain beats the expected penalty; "
                            "false: full compliance.", route="row", transform=BOOLEAN)
    audit_budget_usd_per_year: float = param(
        2e8, 0.0, None, "USD/year", "estimate: US BIS export-enforcement budget, about USD 0.2 billion a year (FY2024)",
        "Regulator's yearly audit budget.", route="row")
    audit_cost_usd: float = param(
        2e7, 0.0, None, "USD/audit", "assumption: a few dozen auditors for a year at a frontier lab",
        "Cost of one audit (audits per step = budget dt / cost).", lo_open=True, route="row")
    audit_detection_probability: float = param(
        0.5, 0.0, 1.0, "probability", "assumption", "Probability an audit of an evading lab proves the evasion.",
        route="row")
    whistleblower_rate_per_year: float = param(
        0.2, 0.0, 100.0, "1/year", "assumption: cf. SEC whistle-blower tips leading to enforcement",
        "Rate at which an insider proves an evading lab's evasion (no false reports).", route="row")
    accounting_signal_rate_per_year: float = param(
        1.0, 0.0, 100.0, "1/year", "assumption: chip-registry and cloud know-your-customer reports",
        "Rate at which compute accounting flags an evading lab (raises suspicion, proves nothing).", route="row")
    accounting_false_alarm_rate_per_year: float = param(
        0.2, 0.0, 100.0, "1/year", "assumption",
        "Rate at which compute accounting flags a compliant lab.", lo_open=True, route="row")
    energy_signal_rate_per_year: float = param(
        0.5, 0.0, 100.0, "1/year", "assumption: data-centre power draw and satellite signals",
        "Rate at which energy and data-centre signals flag an evading lab.", route="row")
    energy_false_alarm_rate_per_year: float = param(
        0.2, 0.0, 100.0, "1/year", "assumption",
        "Rate at which energy and data-centre signals flag a compliant lab.", lo_open=True, route="row")
    prior_evasion_probability: float = param(
        0.1, 0.0, 1.0, "probability", "assumption",
        "The regulator's prior that a lab evades; suspicion decays back to it.", lo_open=True, hi_open=True,
        route="row")
    suspicion_memory_years: float = param(
        2.0, 0.01, 100.0, "year", "assumption",
        "Time constant with which the regulator's suspicion of a lab returns to the prior.", route="row")
    fine_usd: float = param(
        3.8e7, 0.0, None, "USD",
        "data: Regulation (EU) 2024/1689 (AI Act) Art. 99(3), fines up to EUR 35 million or 7 % of worldwide annual "
        "turnover, whichever is higher (EUR 35 million ~ USD 38 million)",
        "Fixed floor of the fine on a caught lab: the fine is the larger of this and fine_turnover_fraction of its "
        "yearly revenue (paid at most from its cash, out of the model).", route="row")
    fine_turnover_fraction: float = param(
        0.07, 0.0, 1.0, "fraction of yearly revenue",
        "data: Regulation (EU) 2024/1689 (AI Act) Art. 99(3), up to 7 % of total worldwide annual turnover",
        "Fine on a caught lab as a share of its yearly revenue (its revenue rate x 1 year), when above fine_usd.",
        route="row")
    seizure_fraction: float = param(
        0.2, 0.0, 1.0, "fraction of compute", "assumption",
        "Share of a caught lab's compute seized (removed from the economy).", route="row")
    ban_years: float = param(
        1.0, 0.0, 100.0, "year", "assumption",
        "A caught lab may buy no compute (its compute budget stays cash) and cannot evade for this long.",
        route="row")
