"""The automation takeoff read off the frontier's automated fraction (economy.takeoff, docs/model.md stage 10)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from economy.takeoff import automation_takeoff, first_crossing_year


def test_linear_path_gives_the_known_duration():
    """a(t) rising linearly from 0 in 2025 to 1 in 2035, recorded monthly: 20 % in 2027, 100 % in 2035, 8 years."""
    years = 2025.0 + np.arange(0, 121) / 12.0
    a = np.clip((years - 2025.0) / 10.0, 0.0, 1.0)
    out = automation_takeoff(years, a)
    assert out["automation_20_year"] == pytest.approx(2027.0, abs=1e-9)
    assert out["automation_95_year"] == pytest.approx(2034.5, abs=1e-9)
    assert out["automation_100_year"] == pytest.approx(2035.0, abs=1e-9)
    assert out["automation_takeoff_years"] == pytest.approx(8.0, abs=1e-9)
    assert out["automation_takeoff_to"] == 1.0


def test_interpolated_within_a_step_and_to_95_percent_without_full_automation():
    """Yearly records of a logistic capped at 0.97: the crossings are interpolated between records, the end is 95 %."""
    years = np.arange(2025.0, 2046.0)
    a = 0.97 / (1.0 + np.exp(-(years - 2035.0)))
    out = automation_takeoff(years, a)
    assert out["automation_100_year"] is None and out["automation_takeoff_to"] == 0.95
    k20 = int(np.flatnonzero(a >= 0.2)[0])
    want20 = years[k20 - 1] + (0.2 - a[k20 - 1]) / (a[k20] - a[k20 - 1])
    assert out["automation_20_year"] == pytest.approx(want20, abs=1e-12)
    assert years[k20 - 1] < out["automation_20_year"] < years[k20]
    assert out["automation_takeoff_years"] == pytest.approx(out["automation_95_year"] - want20, abs=1e-12)


def test_a_capped_automation_ends_its_takeoff_at_95_percent_of_the_cap():
    """max_automation = 0.95 (the baseline): a never reaches 0.95 itself; the takeoff ends at 0.9025."""
    years = 2025.0 + np.arange(0, 361) / 12.0
    a = 0.95 / (1.0 + np.exp(-(years - 2035.0)))
    out = automation_takeoff(years, a, max_automation=0.95)
    assert out["automation_takeoff_to"] == pytest.approx(0.9025)
    # the logistic's closed form: a = 0.95 sigma(t - 2035) reaches 0.2 and 0.9025 at 2035 + logit(0.2/0.95), ... (0.95)
    want = (math.log(0.95 / 0.05) - math.log((0.2 / 0.95) / (1 - 0.2 / 0.95)))
    assert out["automation_takeoff_years"] == pytest.approx(want, abs=2e-3)  # linear interpolation, monthly records


def test_no_takeoff_when_it_started_before_the_run_or_never_ends():
    years = np.arange(2025.0, 2030.0)
    assert automation_takeoff(years, np.full(5, 0.5))["automation_takeoff_years"] is None  # began above 20 %
    out = automation_takeoff(years, np.array([np.nan, 0.1, 0.3, 0.5, 0.6]))  # NaN: no model yet
    assert out["automation_20_year"] == pytest.approx(2026.5) and out["automation_takeoff_years"] is None
    assert first_crossing_year(years, np.full(5, np.nan), 0.2) is None
