"""Re-optimised routines (runs.experiments.reoptimise): the grid, the options, and the closed-form case, a symmetric
two-lab Tullock contest reduced to the engine (tests/runs/experiments/tullock.toml; docs/policies.md, "The
closed-form test")."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from economy.engine import Simulation
from economy.params import load_scenario
from runs.experiments import (
    MOVE_Z,
    Execution,
    ExperimentInputError,
    PayoffTask,
    ReoptimiseOptions,
    grid_values,
    payoff_chunk,
    reoptimise_routines,
    reoptimised_archetypes,
    with_routines,
)

ROOT = Path(__file__).resolve().parents[3]
TULLOCK = Path(__file__).with_name("tullock.toml")
KINDS = ("frontier", "startup")


@pytest.fixture(scope="module")
def contest():
    scenario, _ = load_scenario(TULLOCK)
    return scenario


def _contest_numbers(scenario):
    """r, V (USD/year), the cash that turns a spend rate into spending x = rate x cash, and x* = r V / 4."""
    r = scenario.market.winner_take_all * scenario.capability.alpha
    prize = scenario.market.demand_usd_per_year
    cash = scenario.labs.list[0].cash_usd
    return r, prize, cash, r * prize / 4.0


def _rates(scenario, rate_a, rate_b):
    return with_routines(scenario, {"frontier": {"spend_rate_per_year": rate_a},
                                    "startup": {"spend_rate_per_year": rate_b}})


# ---------------------------------------------------------------------------------------------- grid and options
def test_grid_values_ratio_for_the_spend_rate_step_for_fractions_clipped_to_the_schema():
    assert grid_values("spend_rate_per_year", 1.5, 0.1, 2.0) == [0.75, 1.5, 3.0]
    assert grid_values("spend_rate_per_year", 20.0, 0.1, 2.0) == [10.0, 20.0, 24.0]  # range [0, 24]
    assert grid_values("train_fraction", 0.35, 0.1, 1.5) == pytest.approx([0.25, 0.35, 0.45])
    assert grid_values("openness", 0.05, 0.1, 1.5) == pytest.approx([0.0, 0.05, 0.15])
    assert grid_values("safety_base", 1.0, 0.1, 1.5) == pytest.approx([0.9, 1.0])


@pytest.mark.parametrize(("options", "message"), [
    (ReoptimiseOptions(runs=1), "--reoptimise-runs 1"),
    (ReoptimiseOptions(rounds=0), "--reoptimise-rounds 0"),
    (ReoptimiseOptions(rounds=21), "--reoptimise-rounds 21"),
    (ReoptimiseOptions(step=0.0), "--reoptimise-step 0.0"),
    (ReoptimiseOptions(step=0.6), "--reoptimise-step 0.6"),
    (ReoptimiseOptions(ratio=1.0), "--reoptimise-ratio 1.0"),
    (ReoptimiseOptions(ratio=math.nan), "--reoptimise-ratio nan"),
    (ReoptimiseOptions(variables=("inference_fraction",)), "variables"),
])
def test_bad_options_name_the_option_and_value(contest, options, message):
    with pytest.raises(ExperimentInputError, match=message.replace("[", r"\[")):
        reoptimise_routines(contest, seed=0, execution=Execution(workers=1), options=options)


def test_state_programmes_keep_their_routine():
    scenario, _ = load_scenario(ROOT / "runs" / "baseline.toml")
    kinds = reoptimised_archetypes(scenario)
    assert "state_programme" not in kinds
    assert set(kinds) == {"frontier", "open_weights", "fast_follower", "safety_focused", "startup"}


def test_a_candidate_breaking_the_archetype_rules_is_refused(contest):
    with pytest.raises(ValueError, match="train_fraction"):
        with_routines(contest, {"frontier": {"train_fraction": 0.6}})  # + inference 0.5 > 1


def test_the_payoff_is_the_free_cash_flow_plus_the_compute_left(contest):
    """Undiscounted, the two labs' payoffs add up to the money stage's books: revenue less compute purchases (the
    only flows of this economy), plus the compute owned at the horizon at the market price."""
    label, start, payoffs = payoff_chunk(PayoffTask(7, 0, 3, 0, contest, (), np.empty((3, 0)), KINDS, 0.0, 1))
    assert (label, start, payoffs.shape) == (7, 0, (3, 2))
    for run in range(3):
        sim = Simulation(contest, [np.random.SeedSequence(0, spawn_key=(run,))], record_labs=False).run()
        market = sim.market_frame(0)
        books = (market["cash_revenue"] - market["cash_opex"] - market["cash_compute_spend"] - market["cash_wages"])
        expected = books.iloc[1:].sum() + market["compute_price"].iloc[-1] * market["total_compute"].iloc[-1]
        assert payoffs[run].sum() == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------------------------------------- the closed form
def test_the_engine_reduces_to_the_contest_share(contest):
    """The engine's inside shares at the horizon are x_i^r / (x_A^r + x_B^r) at two spend levels, within the
    training runs' phase (a run holds between R and R + dt of compute: a factor in [1, 1 + dt / R] per lab)."""
    r, _, cash, x_star = _contest_numbers(contest)
    phase = (1.0 + contest.sim.dt / contest.training.run_years) ** r
    for ratio in (1.0, 2.0):
        sim = Simulation(_rates(contest, ratio * x_star / cash, x_star / cash), list(range(8)), record_labs=False)
        sim.run()
        share = sim.labs.share[:, :2]
        assert share.sum(axis=1) == pytest.approx(1.0, abs=1e-9)  # the outside option is negligible
        measured = share[:, 0] / share[:, 1]
        assert np.all(measured >= ratio**r / phase - 1e-9) and np.all(measured <= ratio**r * phase + 1e-9)
        # ln S does not move and spending is the rate times a cash that stays 1e15 to 1e-5
        assert np.all(sim.labs.log_software[:, :2] == 0.0)
        assert np.all(np.abs(sim.labs.cash_usd[:, :2] / cash - 1.0) < 1e-5)


def _equilibrium_bounds(scenario):
    """The engine's symmetric equilibrium x_e as a multiple of x* = r V / 4 (docs/policies.md): the revenue runs
    from the labs' first releases (within one run R, plus the customers' switching) to the horizon T, the spending
    over all of T less the compute left at T, c = dt / (exp(delta dt) - 1) years of spending, and the runs' phases
    lower the contest's marginal return by at most the factor 4 t (1 - t), t = 1 / (2 + dt / R)."""
    years, dt, run = scenario.sim.years, scenario.sim.dt, scenario.training.run_years
    credit = dt / math.expm1(scenario.compute.depreciation_per_year * dt)
    lag = run + 5.0 * scenario.market.switching_years
    t = 1.0 / (2.0 + dt / run)
    return (years - lag) / (years - credit) * 4.0 * t * (1.0 - t), years / (years - credit)


def test_the_search_finds_the_contest_equilibrium(contest):
    """Starting both labs at 2 x*, iterated best response on the grid {x / 2, x, 2 x} ends at x* for both, and
    there no unilateral grid deviation gains beyond the Monte Carlo error."""
    _, _, cash, x_star = _contest_numbers(contest)
    lo, hi = _equilibrium_bounds(contest)
    assert 0.9 < lo <= hi < 1.1
    grid = x_star * 2.0 ** np.arange(-3, 4)
    nearest = {float(grid[np.argmin(np.abs(np.log(grid / (x_star * f))))]) for f in (lo, hi)}
    assert nearest == {x_star}  # the derived equilibrium rounds to x* on the ratio-2 grid

    start = _rates(contest, 2.0 * x_star / cash, 2.0 * x_star / cash)
    options = ReoptimiseOptions(runs=16, rounds=4, ratio=2.0, variables=("spend_rate_per_year",),
                                discount_per_year=0.0)
    found = reoptimise_routines(start, seed=0, execution=Execution(workers=1), options=options)
    assert found.converged
    for kind in KINDS:
        assert found.routines[kind]["spend_rate_per_year"] * cash == pytest.approx(x_star, rel=1e-12)
    last = [row for row in found.rounds if row["round"] == found.rounds_run]
    assert {row["archetype"] for row in last} == set(KINDS)
    for row in last:
        if row["value"] != row["current"]:
            assert row["gain_usd"] <= MOVE_Z * row["se_usd"]
            assert row["gain_usd"] < 0.0  # the deviations lose, by far more than the error here
        assert row["chosen"] == (row["value"] == row["current"])
