"""The ``[sim]`` and ``[output]`` sections: the time axis, the numerical guard, and what a run records."""

from __future__ import annotations

from pydantic import model_validator

from economy.params.fields import Section, param

__all__ = ["Output", "Sim"]


class Sim(Section):
    """Time axis and numerical guards."""

    start_year: float = param(2025.0, 1950.0, 2200.0, "year", "assumption", "Start year.", route="both")
    years: float = param(20.0, 0.0, 200.0, "year", "assumption", "Horizon.", lo_open=True, route="init")
    dt: float = param(1 / 12, 0.0, 1.0, "year", "assumption", "Time step.", lo_open=True, route="both")
    log_software_ceiling: float = param(
        100.0,
        5.0,
        700.0,
        "ln(multiplier)",
        "assumption",
        "Numerical guard: a lab whose ln S reaches this ceiling is held there and the year is recorded "
        "(ceiling_year); it is a singularity only if its growth diverges within a step of the crossing "
        "(docs/model.md, stage 3).",
        route="row",
    )

    @model_validator(mode="after")
    def _step_within_horizon(self) -> Sim:
        if self.dt > self.years:
            raise ValueError(f"sim.dt = {self.dt:g} is longer than sim.years = {self.years:g}: a run would step a "
                             "whole dt past its horizon; use sim.dt <= sim.years")
        return self

    @property
    def n_steps(self) -> int:
        return max(1, round(self.years / self.dt))


class Output(Section):
    """What a run records."""

    labs_every: int = param(
        1, 1, 100000, "steps", "assumption", "Record the lab table every this many steps.", route="init"
    )
    market_every: int = param(
        1, 1, 100000, "steps", "assumption",
        "An ensemble writes each run's market series every this many steps (and the last); its outcomes use every "
        "step.", route="init"
    )
    max_events_per_step: int = param(
        10_000,
        1,
        10_000_000,
        "events",
        "assumption",
        "Size of each run's event buffer per step; events beyond it are counted (events_dropped), not kept.",
        route="init",
    )
