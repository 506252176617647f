"""The baseline's starting state against the observations it is taken from (runs/baseline.toml, runs/data/).

The baseline maps companies to its generic labs (the file's header, docs/calibration.md "The baseline's starting
state"); a mapped lab with an observed revenue run rate starts at share = run rate / starting demand, so that its
starting revenue (share x demand, docs/model.md stage 6) is the observed run rate. These tests read runs/data/ and
hold the file to that, and the mapping to the hindcast's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from economy.engine import Simulation
from economy.params import load_scenario
from runs.checks import ENTITY_LABS, load_observations

DATA = Path(__file__).resolve().parents[3] / "runs" / "data"
HINDCAST = Path(__file__).resolve().parents[3] / "runs" / "hindcast_2023.toml"

BASELINE_ENTITY_LABS = {
    "OpenAI": "Frontier A",
    "Anthropic": "Safety D",
    "Google": "Frontier C",
    "Meta (Llama)": "Open E",
}
"""The observations' companies and the baseline's labs they stand for (runs/baseline.toml's header)."""

CROSS_CHECK_ONLY = "Mistral AI"
"""A company in the observations the baseline maps to no lab: its share of the model's demand is below the
acquisition threshold (runs/baseline.toml's header, docs/calibration.md)."""

RUN_RATE = "lab_annualized_revenue"

START_WINDOW_YEARS = 0.25
"""A run rate counts as the starting state when it is dated within a quarter of a year of sim.start_year."""


@pytest.fixture(scope="module")
def observations() -> pd.DataFrame:
    return load_observations(DATA)


def starting_run_rates(observations: pd.DataFrame, start_year: float) -> dict[str, pd.Series]:
    """Per mapped lab, the run-rate row dated nearest the start, if one lies within :data:`START_WINDOW_YEARS`."""
    out = {}
    rates = observations[observations["series"] == RUN_RATE]
    for entity, lab in BASELINE_ENTITY_LABS.items():
        rows = rates[rates["entity"] == entity]
        if rows.empty:
            continue
        distance = (rows["date_year"] - start_year).abs()
        nearest = rows.loc[distance.idxmin()]
        if abs(nearest["date_year"] - start_year) <= START_WINDOW_YEARS:
            out[lab] = nearest
    return out


def test_starting_shares_are_the_observed_run_rates_over_demand(baseline, observations):
    rates = starting_run_rates(observations, baseline.sim.start_year)
    assert set(rates) == {"Frontier A", "Safety D"}  # Google's and Meta's run rates are not published
    demand = baseline.market.demand_usd_per_year
    specs = {spec.name: spec for spec in baseline.labs.list}
    for lab, row in rates.items():
        assert specs[lab].share == pytest.approx(row["value"] / demand, rel=1e-12), (lab, row["file"], row["date"])
    # a share in the file is a claim to data: no lab without a starting observation carries one
    assert {name for name, spec in specs.items() if spec.share is not None} == set(rates)


def test_starting_revenue_is_the_observed_run_rate(baseline, observations):
    """Through the engine's own start (serving capacity could cap revenue below share x demand; it must not)."""
    rates = starting_run_rates(observations, baseline.sim.start_year)
    simulation = Simulation(baseline, [0])
    names = simulation.names[0]
    for lab, row in rates.items():
        revenue = simulation.labs.revenue_usd_per_year[0, names.index(lab)]
        assert revenue == pytest.approx(row["value"], rel=1e-12), lab
    assert np.isclose(simulation.world.demand[0], baseline.market.demand_usd_per_year)


def test_mistral_is_a_cross_check_because_its_share_would_be_bought_at_once(baseline, observations):
    """Mistral AI's starting run rate over the starting demand is a share the leader may acquire straight away, so
    no lab takes it (Open F keeps the model's starting share) and its rows stay in runs/data/ as a cross-check."""
    rates = observations[(observations["series"] == RUN_RATE) & (observations["entity"] == CROSS_CHECK_ONLY)]
    nearest = rates.loc[(rates["date_year"] - baseline.sim.start_year).abs().idxmin()]
    assert abs(nearest["date_year"] - baseline.sim.start_year) <= START_WINDOW_YEARS
    share = nearest["value"] / baseline.market.demand_usd_per_year
    assert share < baseline.acquisitions.max_target_share / 10
    assert CROSS_CHECK_ONLY not in BASELINE_ENTITY_LABS
    assert {spec.name: spec.share for spec in baseline.labs.list}["Open F"] is None


def test_mapping_agrees_with_the_hindcast(baseline):
    """A company stands for the same archetype in the 2023 hindcast and in the 2025 baseline."""
    hindcast = load_scenario(HINDCAST)[0]
    kind_2023 = {spec.name: spec.kind for spec in hindcast.labs.list}
    kind_2025 = {spec.name: spec.kind for spec in baseline.labs.list}
    shared = set(ENTITY_LABS) & set(BASELINE_ENTITY_LABS)
    assert shared == {"OpenAI", "Anthropic", "Google", "Meta (Llama)"}
    for entity in shared:
        assert kind_2023[ENTITY_LABS[entity]] == kind_2025[BASELINE_ENTITY_LABS[entity]], entity


def test_gamma_prior_is_the_recorded_posterior(baseline):
    """[uncertain] gamma: the hindcast posterior of docs/calibration.md (median 9.75, 90 % 4.6-13.2) as a normal."""
    prior = baseline.uncertain["market.winner_take_all"]
    assert (prior.dist, prior.mean, prior.low, prior.high) == ("normal", 9.75, 4.0, 16.0)
    assert prior.sd == pytest.approx((13.2 - 4.6) / (2 * 1.6448536269514722), abs=0.02)
    assert baseline.market.winner_take_all == 10.0  # the single run keeps the file's point value
