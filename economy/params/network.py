"""The ``[network]`` section: knowledge spillovers and competition over a graph of labs (stage 5 of docs/model.md;
equations in docs/network.md)."""

from __future__ import annotations

import typing
from typing import Literal

from pydantic import model_validator

from economy.params.fields import BOOLEAN, Section, codes, param, setting

__all__ = ["NETWORK_KIND_CODES", "Network", "NetworkKind"]

NetworkKind = Literal[
    "none", "complete", "erdos_renyi", "barabasi_albert", "watts_strogatz", "stochastic_block", "file"
]
NETWORK_KIND_CODES = codes({kind: float(code) for code, kind in enumerate(typing.get_args(NetworkKind))})
"""``network.kind`` in the packed row: 0 (none) switches the spillover stage off."""


class Network(Section):
    """Knowledge-spillover and competition network (docs/model.md stage 5; equations in docs/network.md)."""

    kind: NetworkKind = setting(
        "none",
        description="Graph over labs: none (no spillover stage), a networkx family seeded from the run's "
        "network stream, or a GraphML / weighted edge-list file.",
        route="both",
        transform=NETWORK_KIND_CODES,
    )
    mean_degree: float = param(
        4.0,
        0.0,
        1e6,
        "edges per lab",
        "assumption",
        "Size parameter of erdos_renyi (p = k/(n-1)), barabasi_albert (m = round(k/2)) and watts_strogatz "
        "(ring degree round(k)).",
        route="init",
    )
    rewire_probability: float = param(
        0.1,
        0.0,
        1.0,
        "probability",
        "assumption: Watts & Strogatz 1998 small-world regime",
        "watts_strogatz rewiring.",
        route="init",
    )
    blocs: int = param(
        0,
        0,
        64,
        "communities",
        "assumption",
        "stochastic_block communities: 0 uses the labs' bloc (jurisdiction); k >= 1 draws k communities at random.",
        route="init",
    )
    within_bloc_density: float = param(
        0.5, 0.0, 1.0, "probability", "assumption", "stochastic_block edge probability within a community.",
        route="init",
    )
    cross_bloc_density: float = param(
        0.05, 0.0, 1.0, "probability", "assumption", "stochastic_block edge probability between communities.",
        route="init",
    )
    file: str | None = setting(
        None,
        description="kind = file: path (relative to the working directory) of a GraphML file or a weighted edge "
        "list 'u v [weight]'; node attributes bloc, openness, log_software, researchers, cash_usd, "
        "compute_flop_per_year override the scenario's starting values where present.",
        route="init",
    )
    normalise_weights: bool = setting(
        True,
        description="Publication weights are divided by the receiver's total edge weight and talent weights by the "
        "larger of the two ends' totals, so rates do not grow with degree; false uses raw weights.",
        route="row",
        transform=BOOLEAN,
    )
    publication_rate_per_year: float = param(
        1.0,
        0.0,
        100.0,
        "1/year",
        "assumption: open models trail the closed frontier by about a year (Epoch 2024)",
        "Catch-up rate in ln S toward a fully open neighbour, for a lab of full absorptive capacity; 0 switches "
        "publication spillovers off.",
        route="row",
    )
    absorb_half_staff: float = param(
        100.0,
        0.0,
        None,
        "people",
        "assumption: absorptive capacity, Cohen & Levinthal 1990",
        "Research staff at which a lab absorbs half of what it could; 0 gives every lab full capacity.",
        route="row",
    )
    talent_mobility: float = param(
        0.2,
        0.0,
        100.0,
        "dimensionless",
        "assumption: ~10-20%/year researcher attrition at growth gaps of ~1/year",
        "Researchers leave along an edge at this times the attractiveness gap (1/year); 0 switches mobility off.",
        route="row",
    )
    talent_pay_weight: float = param(
        0.1,
        0.0,
        100.0,
        "1/year per ln(1 + years of payroll)",
        "assumption",
        "Weight of pay (the log of one plus cash per researcher in years of wages) in attractiveness, next to "
        "research growth.",
        route="row",
    )
    distill_fraction: float = param(
        0.01,
        0.0,
        1.0,
        "fraction of effective compute",
        "assumption: distilled models recover much of a teacher's capability at a small cost",
        "A lab's served E is at least this fraction of its best neighbour's (ln E_i >= ln f + ln E_j); 0 "
        "switches distillation off.",
        route="row",
    )
    cross_segment_intensity: float = param(
        1.0,
        0.0,
        1.0,
        "fraction",
        "assumption",
        "Weight of a lab from another bloc in a market segment's customer choice: 1 is one global market, 0 "
        "separate markets per bloc.",
        route="row",
    )
    cut_cross_bloc_year: float | None = param(
        None,
        1900.0,
        2300.0,
        "year",
        "assumption",
        "From the first step starting at or after this year, edges between labs of different blocs carry no "
        "flow (the export-control seam); unset: never.",
        route="row",
        transform=None,
    )

    @model_validator(mode="after")
    def _file_given(self) -> Network:
        if self.kind == "file" and not self.file:
            raise ValueError("network.kind = 'file' needs network.file (a GraphML file or an edge list)")
        return self
