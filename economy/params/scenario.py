"""The root of the schema: a whole scenario (one TOML file under ``runs/``), and which keys may be uncertain.

Every scalar parameter is declared with :func:`economy.params.fields.param`, which records its unit, its valid
range, its provenance tag (``data``, ``estimate`` or ``assumption``, with a source) and how the engine reads it
(its route and packed column), so that ``multipolar schema``, docs/model.md and the kernels' column layout
(:mod:`economy.params.packing`) all come from the one declaration.  Kernels never see these objects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator, model_validator

from economy.params.behaviour import Acquisitions, Adaptation, Entry, Incidents, Safety
from economy.params.distributions import Distribution, RankCorrelation, check_support, rank_correlation_matrix
from economy.params.fields import Section
from economy.params.keys import BadKey, locate, split_key
from economy.params.labs import Archetypes, Labs
from economy.params.market import Market, Money
from economy.params.network import Network
from economy.params.policies import Enforcement, Policy
from economy.params.production import Capability, Compute, Research, Training
from economy.params.sim import Output, Sim

__all__ = ["Scenario", "uncertain_parameter_range"]

_UNCERTAIN_FIXED = {
    "sim": "the time axis and numerical guards (sim.*) are shared by all runs of an ensemble",
    "output": "output settings are not model parameters",
    "uncertain": "the uncertain table cannot be uncertain itself",
    "uncertain_correlations": "the uncertain table cannot be uncertain itself",
}


def uncertain_parameter_range(scenario: Scenario, key: str) -> tuple[float | None, float | None, bool, bool]:
    """Check that ``key`` (dotted, as in ``--set``) names a numeric parameter that may vary between runs.

    Returns the parameter's valid range ``(lo, hi, lo_open, hi_open)`` (None: unbounded); raises ValueError
    naming the key otherwise.  Keys that change the lab population (``labs.n``, the ``labs.list`` entries
    themselves) or the time axis (``sim.*``) are refused: every run of an ensemble shares its array shapes.
    """
    parts = key.split(".")
    head = f"uncertain key {key!r}"
    if parts[0] in _UNCERTAIN_FIXED:
        raise ValueError(f"{head}: {_UNCERTAIN_FIXED[parts[0]]}")
    if parts[0] == "labs":
        if parts[1:2] in (["n"], ["list"]) and (parts[1] == "n" or len(parts) < 4):
            raise ValueError(
                f"{head} changes the lab population (the number of labs, the arrays' shape); it cannot vary "
                "within one ensemble: run one ensemble per value"
            )
        if parts[1:2] in (["mix"], ["size_dispersion"]) and scenario.labs.n is None:
            raise ValueError(f"{head}: labs.{parts[1]} only matters for generated labs (labs.n), which is unset")
        if parts[1:2] == ["list"] and scenario.labs.n is not None:
            raise ValueError(f"{head}: labs.list is not used when labs.n generates the labs")
    try:
        where = locate(scenario, split_key(key))
    except BadKey as err:
        raise ValueError(f"{head}: {err}") from None
    if where.type is int:
        raise ValueError(f"{head} is an integer setting; only real-valued parameters can be uncertain")
    if where.type is not float:
        raise ValueError(f"{head} is not a numeric parameter")
    return where.bounds()


class Scenario(Section):
    """A whole scenario: one TOML file under ``runs/``."""

    name: str = Field("scenario", min_length=1, description="Short name; the default output folder.")
    description: str = Field("", description="What this scenario is for.")
    sim: Sim = Field(default_factory=Sim)
    labs: Labs
    archetypes: Archetypes = Field(default_factory=Archetypes)
    research: Research = Field(default_factory=Research)
    compute: Compute = Field(default_factory=Compute)
    training: Training = Field(default_factory=Training)
    capability: Capability = Field(default_factory=Capability)
    market: Market = Field(default_factory=Market)
    money: Money = Field(default_factory=Money)
    safety: Safety = Field(default_factory=Safety)
    network: Network = Field(default_factory=Network)
    entry: Entry = Field(default_factory=Entry)
    acquisitions: Acquisitions = Field(default_factory=Acquisitions)
    incidents: Incidents = Field(default_factory=Incidents)
    adaptation: Adaptation = Field(default_factory=Adaptation)
    output: Output = Field(default_factory=Output)
    enforcement: Enforcement = Field(default_factory=Enforcement)
    policies: tuple[Policy, ...] = Field(
        default=(),
        description="Policy interventions ([[policies]] tables; docs/policies.md), at most one of each kind.",
    )
    uncertain: dict[str, Distribution] = Field(
        default_factory=dict,
        description="Ensembles only: a distribution per uncertain parameter, keyed by its dotted name "
        "(research.returns_to_research); each run draws its values by Latin hypercube sampling. "
        "A single run uses the values in the sections.",
    )
    uncertain_correlations: tuple[RankCorrelation, ...] = Field(
        default=(),
        description="Ensembles only: rank (Spearman) correlations between [uncertain] keys, written "
        "[[uncertain.correlations]] keys = [...] spearman = r (two keys) or a matrix; imposed on the Latin "
        "hypercube by the Iman-Conover method (docs/ensembles.md).",
    )

    @model_validator(mode="before")
    @classmethod
    def _correlations_out_of_uncertain(cls, data: Any) -> Any:
        """``[[uncertain.correlations]]`` in the file is the field ``uncertain_correlations`` (the table of
        distributions keeps one entry per parameter)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("uncertain"), Mapping) \
                or "correlations" not in data["uncertain"]:
            return data
        if "uncertain_correlations" in data:
            raise ValueError("give the correlations once: [[uncertain.correlations]] or uncertain_correlations")
        out = dict(data)
        table = dict(data["uncertain"])
        out["uncertain_correlations"] = table.pop("correlations")
        out["uncertain"] = table
        return out

    @field_validator("uncertain", mode="before")
    @classmethod
    def _flatten_uncertain(cls, value: Any) -> Any:
        """Accept nested tables ([uncertain.research] returns_to_research = {...}) as dotted keys."""
        if not isinstance(value, Mapping):
            return value
        flat: dict[str, Any] = {}

        def walk(prefix: str, table: Mapping[str, Any]) -> None:
            for name, item in table.items():
                key = f"{prefix}.{name}" if prefix else str(name)
                if isinstance(item, Mapping) and "dist" not in item:
                    walk(key, item)
                elif key in flat:
                    raise ValueError(f"uncertain key {key!r} is given twice")
                else:
                    flat[key] = item

        walk("", value)
        return flat

    @model_validator(mode="after")
    def _one_policy_per_kind(self) -> Scenario:
        seen: dict[str, int] = {}
        for k, pol in enumerate(self.policies):
            if pol.kind in seen:
                raise ValueError(
                    f"policies.{k}.kind = {pol.kind!r} repeats policies.{seen[pol.kind]}: at most one policy of "
                    "each kind (merge their parameters into one table)"
                )
            seen[pol.kind] = k
        return self

    @model_validator(mode="after")
    def _unique_policy_names(self) -> Scenario:
        seen: dict[str, int] = {}
        for k, pol in enumerate(self.policies):
            if pol.label in seen:
                first = self.policies[seen[pol.label]]
                raise ValueError(
                    f"policies.{k} ({pol.kind}) and policies.{seen[pol.label]} ({first.kind}) are both named "
                    f"{pol.label!r}: a key policies.{pol.label}.<key> must name one policy; give one of them another "
                    "name = \"...\""
                )
            seen[pol.label] = k
        return self

    @model_validator(mode="after")
    def _uncertain_keys(self) -> Scenario:
        for key, dist in self.uncertain.items():
            check_support(key, dist, uncertain_parameter_range(self, key))
        rank_correlation_matrix(tuple(self.uncertain), self.uncertain_correlations)
        return self

    @model_validator(mode="after")
    def _simon_entry(self) -> Scenario:
        p = self.market.urn_entry_probability
        if p > 0.0 and self.market.mode != "urn":
            raise ValueError(f"market.urn_entry_probability = {p:g} acts only in the urn market mode; set "
                             f"market.mode = 'urn' (now {self.market.mode!r}) or the probability to 0")
        if p > 0.0 and self.labs.max_entrants == 0:
            raise ValueError(f"market.urn_entry_probability = {p:g} founds new labs, but labs.max_entrants = 0 "
                             "leaves no free column for them; raise labs.max_entrants")
        return self

    @model_validator(mode="after")
    def _sane(self) -> Scenario:
        if self.sim.n_steps > 100_000:
            raise ValueError(f"sim.years / sim.dt = {self.sim.years / self.sim.dt:g} steps, at most 100000")
        if not math.isfinite(self.sim.years / self.sim.dt):
            raise ValueError("sim.years / sim.dt is not finite")
        return self

    @property
    def n_labs(self) -> int:
        return self.labs.n if self.labs.n is not None else len(self.labs.list)
