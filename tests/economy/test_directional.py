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
    foom, _ = load_scenario("runs/baseline.toml", ["research.returns_to_research=3", "research.max_automation=1"])
    flat, _ = load_scenario("runs/baseline.toml", ["research.returns_to_research=0.5", "research.max_automation=1"])
    foom_sim = Simulation(foom, SEEDS[:4], record_labs=False).run()
    flat_sim = Simulation(flat, SEEDS[:4], record_labs=False).run()
    for b in range(4):
        year = foom_sim.summary(b)["singularity_year"]
        assert year is not None and 2025.0 < year < 2045.0
        assert flat_sim.summary(b)["singularity_year"] is None
