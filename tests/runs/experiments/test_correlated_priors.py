"""Correlated priors: [[uncertain.correlations]], validated by the schema and imposed on the Latin hypercube by the
Iman-Conover method (experiments/uncertain.py), and the Gaussian copula a calibration maps its cube through."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from economy.params import ScenarioError, validate_scenario
from runs.experiments import UncertainPlan, design_generator, iman_conover, latin_hypercube, ppf

ROOT = Path(__file__).resolve().parents[3]
HINDCAST = ROOT / "runs" / "hindcast_2023.toml"
SUPPLY, EFFICIENCY, SOFTWARE, GAMMA, DEMAND = (
    "compute.supply_growth_per_year", "compute.training_efficiency_growth_per_year",
    "research.software_doubling_months", "market.winner_take_all", "market.demand_usd_per_year")
TARGET = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.0], [-0.3, 0.0, 1.0]])
"""A target over (SUPPLY, GAMMA, DEMAND), with a zero entry that must stay near zero."""
TOLERANCE = 0.04
"""Largest |sampled - target| Spearman correlation accepted at 2,000 runs: the sampling spread of a rank correlation
there is about (1 - rho^2) / sqrt(n) <= 0.022; the normal scores' correlation is the target exactly."""


def _data(correlations: object) -> dict:
    data = tomllib.loads(HINDCAST.read_text())
    data["uncertain"]["correlations"] = correlations
    return data


def _plan(correlations: object) -> UncertainPlan:
    return UncertainPlan.from_scenario(validate_scenario(_data(correlations)))


MATRIX = [{"keys": [SUPPLY, GAMMA, DEMAND], "spearman": TARGET.tolist()}]


def test_correlations_leave_the_distribution_table_and_keep_the_scenario_order() -> None:
    plan = _plan([{"keys": [DEMAND, GAMMA], "spearman": 0.5}])
    assert plan.keys == (SUPPLY, EFFICIENCY, SOFTWARE, GAMMA, DEMAND)
    assert plan.correlated == (GAMMA, DEMAND)
    assert plan.spearman == ((1.0, 0.5), (0.5, 1.0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sampled_rank_correlation_matches_the_target(seed: int) -> None:
    plan = _plan(MATRIX)
    values = plan.design(2000, seed)
    columns = [plan.keys.index(key) for key in (SUPPLY, GAMMA, DEMAND)]
    sampled = stats.spearmanr(values[:, columns]).statistic
    assert np.abs(sampled - TARGET).max() < TOLERANCE
    others = [plan.keys.index(key) for key in (EFFICIENCY, SOFTWARE)]  # undeclared pairs stay independent
    assert np.abs(stats.spearmanr(values[:, others + columns]).statistic[:2, 2:]).max() < 0.1


def test_marginals_are_unchanged_values_reordered_and_still_follow_their_distributions() -> None:
    runs, seed = 500, 4
    independent, correlated = _plan([]), _plan(MATRIX)
    a, b = independent.design(runs, seed), correlated.design(runs, seed)
    assert np.array_equal(np.sort(a, axis=0), np.sort(b, axis=0))  # the same values: strata and marginals kept
    assert not np.array_equal(a, b)
    for j, dist in enumerate(correlated.distributions):
        cdf = np.interp(b[:, j], ppf(dist, np.linspace(0.0, 1.0 - 1e-9, 20001)), np.linspace(0.0, 1.0, 20001))
        assert stats.kstest(cdf, "uniform").pvalue > 0.01


def test_without_correlations_the_design_is_bit_for_bit_the_independent_one() -> None:
    plan = _plan([])
    u = latin_hypercube(300, len(plan.keys), design_generator(7))
    expected = np.column_stack([ppf(dist, u[:, j]) for j, dist in enumerate(plan.distributions)])
    assert plan.correlated == ()
    assert np.array_equal(plan.design(300, 7), expected)
    assert np.array_equal(plan.copula(u), u)


def test_iman_conover_on_tiny_designs_keeps_the_values() -> None:
    u = latin_hypercube(2, 3, design_generator(0))
    out = iman_conover(u, TARGET)
    assert np.array_equal(np.sort(out, axis=0), np.sort(u, axis=0))
    assert np.array_equal(iman_conover(u[:1], TARGET), u[:1])


def test_copula_gives_uniform_marginals_and_the_target_rank_correlation() -> None:
    plan = _plan(MATRIX)
    u = np.random.default_rng(0).random((20000, len(plan.keys)))
    v = plan.copula(u)
    columns = [plan.keys.index(key) for key in (SUPPLY, GAMMA, DEMAND)]
    assert np.abs(stats.spearmanr(v[:, columns]).statistic - TARGET).max() < 0.02
    for j in range(len(plan.keys)):
        assert stats.kstest(v[:, j], "uniform").pvalue > 0.01
    assert np.array_equal(v[:, 1], u[:, 1])  # an uncorrelated coordinate is untouched


def test_without_drops_the_pairs_of_a_dropped_key() -> None:
    plan = _plan([{"keys": [SUPPLY, GAMMA], "spearman": 0.4}, {"keys": [GAMMA, DEMAND], "spearman": -0.2}])
    kept = plan.without([SUPPLY])
    assert kept.keys == (EFFICIENCY, SOFTWARE, GAMMA, DEMAND)
    assert kept.correlated == (GAMMA, DEMAND) and kept.spearman == ((1.0, -0.2), (-0.2, 1.0))
    assert plan.without([GAMMA]).correlated == ()


@pytest.mark.parametrize(("correlations", "needles"), [
    ([{"keys": [GAMMA, DEMAND], "spearman": 1.5}], ["uncertain.correlations.0", GAMMA, DEMAND, "1.5", "[-1, 1]"]),
    ([{"keys": [GAMMA, "research.returns_to_research"], "spearman": 0.2}],
     ["research.returns_to_research", "not in the [uncertain] table"]),
    ([{"keys": [GAMMA, DEMAND], "spearman": 1.0}], ["not positive definite", f"{GAMMA}~{DEMAND} = 1"]),
    ([{"keys": [SUPPLY, GAMMA, DEMAND], "spearman": [[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]]}],
     ["not positive definite", "-0.9"]),
    ([{"keys": [SUPPLY, GAMMA, DEMAND], "spearman": [[1, 0.2, 0], [0.3, 1, 0], [0, 0, 1]]}],
     ["not symmetric", "0.3", "0.2"]),
    ([{"keys": [SUPPLY, GAMMA, DEMAND], "spearman": [[1, 0.2], [0.2, 1]]}], ["3 x 3 matrix"]),
    ([{"keys": [SUPPLY, GAMMA, DEMAND], "spearman": 0.2}], ["exactly two keys"]),
    ([{"keys": [GAMMA, DEMAND], "spearman": 0.2}, {"keys": [DEMAND, GAMMA], "spearman": 0.1}],
     ["uncertain.correlations.1", "already given in uncertain.correlations.0"]),
    ([{"keys": [GAMMA, DEMAND], "spearman": [[2, 0.2], [0.2, 1]]}], ["diagonal must be 1", GAMMA]),
])
def test_bad_correlations_are_refused_naming_the_key_and_value(correlations: list, needles: list[str]) -> None:
    with pytest.raises(ScenarioError) as info:
        validate_scenario(_data(correlations))
    for needle in needles:
        assert needle in str(info.value)


def test_a_correlated_scenario_validates_after_its_draws_are_applied() -> None:
    from runs.experiments import RunScenarios

    scenario = validate_scenario(_data(MATRIX))
    plan = UncertainPlan.from_scenario(scenario)
    run = RunScenarios(scenario, plan.keys).scenario(plan.design(3, 0)[0])
    assert run.uncertain == {} and run.uncertain_correlations == ()


def test_calibration_prior_maps_the_cube_through_the_copula() -> None:
    from runs.checks import HindcastModel

    scenario = validate_scenario(_data(MATRIX))
    model = HindcastModel(scenario, [], 0)
    u = np.array([0.2, 0.5, 0.7, 0.9, 0.1])
    mapped = UncertainPlan.from_scenario(scenario).copula(u)
    expected = [float(ppf(dist, np.array([x]))[0]) for dist, x in zip(model.plan.distributions, mapped, strict=True)]
    assert np.array_equal(model.values(u), expected)
    assert not np.array_equal(mapped, u)
