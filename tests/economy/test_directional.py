"""Directional properties of the whole model, with common seeds (issue 2's "done when")."""

import numpy as np

from economy.engine import Simulation
from economy.params import load_scenario

SEEDS = list(range(8))


def _final_hhi(*overrides: str) -> np.ndarray:
    scenario, _ = load_scenario("runs/baseline.toml", ["sim.years=10", *overrides])
    sim = Simulation(scenario, SEEDS, record_labs=False).run()
    return np.array([sim.summary(b)["final_hhi"] for b in range(len(SEEDS))])


def test_stronger_winner_take_all_raises_mean_final_hhi():
    weak, base, strong = (_final_hhi(f"market.winner_take_all={g}") for g in (5, 10, 20))
    assert weak.mean() < base.mean() < strong.mean()
    assert (strong > weak).all()  # seed by seed, not just on average


def test_returns_to_research_decides_flatline_or_foom():
    """At full automation with sigma = 1/2 the human share shrinks like E^(-1/w), so the growth exponent is
    lambda (1 - eta) / (|rho| w ln 10) / beta ~ 0.15 / beta: above one for r = 6 (a singularity), below for r = 3
    (ln S only climbs to the numerical ceiling: a ceiling year, no singularity) and r = 0.5 (docs/model.md)."""
    runs = {}
    for r in (6, 3, 0.5):
        scenario, _ = load_scenario("runs/baseline.toml", [f"research.returns_to_research={r}",
                                                            "research.max_automation=1"])
        sim = Simulation(scenario, SEEDS[:4], record_labs=False).run()
        runs[r] = [sim.summary(b) for b in range(4)]
    for b in range(4):
        year = runs[6][b]["singularity_year"]
        assert year is not None and 2025.0 < year < 2045.0
        assert runs[6][b]["ceiling_year"] <= year
        assert runs[3][b]["singularity_year"] is None and runs[3][b]["ceiling_year"] is not None
        assert runs[0.5][b]["singularity_year"] is None
