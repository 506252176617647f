r"""The market alone as a generalised Polya urn (docs/model.md, stage 6, urn mode).

With ``market.mode = "urn"`` each arriving customer joins lab i with probability proportional to
:math:`f(s_i) = s_i^g`.  For two labs started from one customer each (Hill, Lane & Sudderth 1980; Arthur 1989):
g > 1 locks in (one lab's share tends to 1), g < 1 equalises (shares tend to 1/2), and g = 1 is the classic
Polya urn whose limit share is uniform on (0, 1) (after N draws the count of lab 0 is exactly uniform on
0..N).  Every ensemble uses fixed seeds, so each test is deterministic.  The scenario and the ensemble runner are
shared with ``multipolar validate`` (:mod:`runs.checks.validation`), whose urn rows add quantitative limits.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from runs import checks

N_RUNS = 400
STEPS = 12
ARRIVALS = 1000  # per step: 12,000 customers per run


def urn_scenario(make_scenario, exponent: float, arrivals: int = ARRIVALS, initial: float = 1.0):
    """Two identical labs, shares driven by the urn alone (the scenario ``multipolar validate`` uses)."""
    return checks.urn_scenario(exponent, arrivals, steps=STEPS, initial=initial)


def limit_shares(scenario, seeds) -> np.ndarray:
    """Lab 0's share at the horizon, one entry per seed (one batch); the urn drew every customer."""
    shares = checks.urn_limit_shares(scenario, seeds)
    assert shares.shape == (len(seeds),) and np.all((shares > 0.0) & (shares < 1.0))
    return shares


@pytest.fixture(scope="module")
def ensembles(make_scenario) -> dict[float, np.ndarray]:
    return {g: limit_shares(urn_scenario(make_scenario, g), range(1000, 1000 + N_RUNS)) for g in (0.5, 1.0, 2.0)}


@pytest.mark.slow
def test_polya_urn_limit_is_uniform(ensembles):
    shares = ensembles[1.0]
    result = stats.kstest(shares, "uniform")
    assert result.pvalue > 0.01, result
    # and the test has power: the lock-in and equalising ensembles are far from uniform
    assert stats.kstest(ensembles[2.0], "uniform").pvalue < 1e-6
    assert stats.kstest(ensembles[0.5], "uniform").pvalue < 1e-6


@pytest.mark.slow
def test_increasing_returns_lock_in(ensembles):
    leader = np.maximum(ensembles[2.0], 1.0 - ensembles[2.0])
    assert np.median(leader) > 0.99
    assert np.mean(leader > 0.95) > 0.95
    # either lab can win: lock-in is symmetric, decided by early luck
    wins = np.mean(ensembles[2.0] > 0.5)
    assert 0.4 < wins < 0.6


@pytest.mark.slow
def test_decreasing_returns_equalise(ensembles, make_scenario):
    shares = ensembles[0.5]
    assert abs(np.mean(shares) - 0.5) < 0.005
    # far tighter than the uniform limit of g = 1 ...
    assert np.std(shares) < 0.1 * np.std(ensembles[1.0])
    # ... and tightening toward 1/2 as customers arrive: 25x the customers, about 1/5 of the spread (the
    # stochastic-approximation rate N^(-1/2), times sqrt(ln N) at g = 1/2 where h'(1/2) = g - 1 = -1/2: 0.24)
    seeds = range(1000, 1000 + N_RUNS)
    more = limit_shares(urn_scenario(make_scenario, 0.5, arrivals=5 * ARRIVALS), seeds)
    fewer = limit_shares(urn_scenario(make_scenario, 0.5, arrivals=ARRIVALS // 5), seeds)
    assert np.max(np.abs(more - 0.5)) < 0.03
    assert 0.15 < np.std(more) / np.std(fewer) < 0.35


@pytest.mark.slow
def test_lock_in_strengthens_with_more_customers(make_scenario):
    """With g > 1 the minority's share keeps falling as customers arrive (it gets finitely many)."""
    seeds = range(2000, 2100)
    few = limit_shares(urn_scenario(make_scenario, 2.0, arrivals=50), seeds)
    many = limit_shares(urn_scenario(make_scenario, 2.0, arrivals=2000), seeds)
    minority_few = np.minimum(few, 1.0 - few)
    minority_many = np.minimum(many, 1.0 - many)
    assert np.median(minority_many) < 0.2 * np.median(minority_few)
