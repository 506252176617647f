r"""Closed forms of the ideas production function (docs/model.md stage 3).

With full automation (a = 1), constant inputs and no market feedback, research input is R = k C_res S, so

.. math:: \frac{d \ln S}{dt} = \theta (k C_{res})^\lambda S^{\lambda - \beta} = g_0 e^{\beta (r - 1)(\ln S - \ln S_0)}

with :math:`r = \lambda / \beta`.  Its solutions: exponential growth of S for r = 1
(:math:`\ln S = \ln S_0 + g_0 t`), a power law for r < 1
(:math:`S / S_0 = (1 + \beta (1 - r) g_0 t)^{1 / (\beta (1 - r))}`), and for r > 1 a finite-time blow-up at
:math:`t^* = 1 / (\beta (r - 1) g_0)`.  Checked on the kernel (``advance_log_software`` iterated) and through
``Simulation`` with a one-lab scenario whose inputs are constant, where theta is calibrated so that the
starting growth rate is :math:`g_0 = \ln 2 / (\text{software\_doubling\_months} / 12)`.  The closed forms and the
one-lab scenario are shared with ``multipolar validate`` (:mod:`runs.checks.validation`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from economy.engine import Simulation
from economy.kernels.research import advance_log_software
from runs import checks

LAMBDA = 0.5
DOUBLING_MONTHS = 8.0
G0 = math.log(2.0) / (DOUBLING_MONTHS / 12.0)
CEILING = 100.0


def analytic_log_software(t: np.ndarray, r: float, g0: float, x0: float = 0.0) -> np.ndarray:
    """ln S(t) in the three regimes (the closed form shared with ``multipolar validate``)."""
    return checks.analytic_log_software(t, r, g0, LAMBDA, x0)


def blow_up_time(r: float, g0: float) -> float:
    return checks.blow_up_time(r, g0, LAMBDA)


def ceiling_time(r: float, g0: float, gap: float) -> float:
    """When ln S reaches the ceiling, ``gap`` above its start: the solution for r > 1 solved for t."""
    return checks.ceiling_time(r, g0, LAMBDA, gap)


def test_shared_closed_form_is_the_textbook_blow_up():
    """The shared form ln(1 + c g0 t) / c is the textbook blow-up -ln(1 - t / t*) / (beta (r - 1)) for r > 1."""
    r = 2.0
    c = LAMBDA / r * (r - 1.0)
    t_star = 1.0 / (c * G0)
    t = np.linspace(0.0, 0.99 * t_star, 50)
    np.testing.assert_allclose(analytic_log_software(t, r, G0), -np.log(1.0 - t / t_star) / c, rtol=1e-12)
    assert blow_up_time(r, G0) == pytest.approx(t_star, rel=1e-15)


# ---------------------------------------------------------------------------------------------- the kernel


def iterate_kernel(r: float, dt: float, n_steps: int, x0: float = 0.0) -> tuple[np.ndarray, float]:
    """ln S on the grid t = n dt from the integrator, and the time the ceiling was reached (-1 if not)."""
    slope = LAMBDA - LAMBDA / r  # d ln g / d ln S = lambda - beta = beta (r - 1)
    x = np.empty(n_steps + 1)
    x[0] = x0
    hit = -1.0
    for n in range(n_steps):
        log_g = math.log(G0) + slope * (x[n] - x0)
        x[n + 1], tau = advance_log_software(x[n], log_g, slope, dt, CEILING)
        if tau >= 0.0:
            hit = n * dt + tau
            x[n + 2:] = CEILING
            x[n + 1] = CEILING
            break
    return x, hit


@pytest.mark.parametrize("dt", [1 / 12, 0.5])
@pytest.mark.parametrize("r", [1.0, 0.5, 0.2])
def test_kernel_follows_exponential_and_power_law(r, dt):
    n_steps = round(40.0 / dt)
    x, hit = iterate_kernel(r, dt, n_steps)
    assert hit < 0.0
    t = dt * np.arange(n_steps + 1)
    np.testing.assert_allclose(x, analytic_log_software(t, r, G0), rtol=1e-12, atol=1e-12)
    if r < 1.0:  # sub-exponential: the growth rate of ln S falls like 1 / t
        rate = np.diff(x) / dt
        assert rate[-1] < 0.2 * rate[0]


@pytest.mark.parametrize("dt", [1 / 12, 0.25])
@pytest.mark.parametrize("r", [1.5, 2.0, 3.6])
def test_kernel_blows_up_at_the_analytic_time(r, dt):
    t_star = blow_up_time(r, G0)
    n_steps = round((t_star + 2.0) / dt)
    x, hit = iterate_kernel(r, dt, n_steps)
    assert hit >= 0.0, "no singularity"
    # the ceiling is reached exactly when the closed form says, and within one step of the blow-up time
    assert hit == pytest.approx(ceiling_time(r, G0, CEILING), rel=1e-10)
    assert abs(hit - t_star) < dt
    before = dt * np.arange(n_steps + 1) < hit
    t = dt * np.arange(n_steps + 1)
    np.testing.assert_allclose(x[before], analytic_log_software(t[before], r, G0), rtol=1e-10, atol=1e-12)
    assert np.all(x[~before] == CEILING)


# ---------------------------------------------------------------------------------------------- the simulator


def constant_input_scenario(make_scenario, r: float, years: float, dt: float = 1 / 12):
    """One lab, full automation, constant compute, no shocks, no safety share, every other mechanism off."""
    return checks.constant_input_scenario(r, years, dt=dt, lam=LAMBDA, doubling_months=DOUBLING_MONTHS,
                                              ceiling=CEILING)


def simulated_log_software(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    return checks.simulated_log_software(sim)


@pytest.mark.parametrize("r", [1.0, 0.5])
def test_simulation_follows_exponential_and_power_law(r, make_scenario):
    sim = Simulation(constant_input_scenario(make_scenario, r, years=30.0), [0]).run()
    # the inputs really are constant and automation is full
    frame = sim.labs_frame(0)
    assert (frame["automation"] == 1.0).all()
    assert (frame["compute_flop_per_year"] == 1e27).all()
    t, x = simulated_log_software(sim)
    np.testing.assert_allclose(x, analytic_log_software(t, r, G0), rtol=1e-10, atol=1e-10)
    assert sim.summary(0)["singularity_year"] is None


@pytest.mark.parametrize("dt", [1 / 12, 0.25])
@pytest.mark.parametrize("r", [1.5, 2.0, 3.6])
def test_simulation_blows_up_at_the_analytic_time(r, dt, make_scenario):
    t_star = blow_up_time(r, G0)
    sim = Simulation(constant_input_scenario(make_scenario, r, years=math.ceil(t_star + 2.0), dt=dt), [0]).run()
    start = sim.scenario.sim.start_year
    summary = sim.summary(0)
    singular, at_ceiling = summary["singularity_year"], summary["ceiling_year"]
    assert singular is not None and at_ceiling is not None
    # the singularity is the closed-form blow-up; the ceiling is reached at its closed-form time, just before
    assert singular - start == pytest.approx(t_star, rel=1e-9)
    assert at_ceiling - start == pytest.approx(ceiling_time(r, G0, CEILING), rel=1e-9)
    t, x = simulated_log_software(sim)
    before = t + start < at_ceiling
    np.testing.assert_allclose(x[before], analytic_log_software(t[before], r, G0), rtol=1e-9, atol=1e-10)
    # after the crossing ln S is held at the ceiling: finite, never inf or NaN
    assert np.all(x[~before] == CEILING)
    assert summary["n_alive"] == 1


@pytest.mark.parametrize("r", [2.0, 1.2])
def test_singularity_year_does_not_depend_on_the_ceiling(r):
    """One lab, full automation: the analytic blow-up within one step at ceilings 100 and 700 (docs/model.md)."""
    dt = 1 / 12
    t_star = blow_up_time(r, G0)
    years = {}
    for ceiling in (100.0, 700.0):
        sc = checks.constant_input_scenario(r, math.ceil(t_star + 2.0), dt=dt, lam=LAMBDA,
                                            doubling_months=DOUBLING_MONTHS, ceiling=ceiling)
        summary = Simulation(sc, [0]).run().summary(0)
        assert summary["ceiling_year"] is not None
        years[ceiling] = summary["singularity_year"] - sc.sim.start_year
        assert abs(years[ceiling] - t_star) < dt
    assert abs(years[100.0] - years[700.0]) < dt


def automation_curve_scenario(r: float, width_ooms: float, ceiling: float, years: float):
    """One lab with researchers, r, max_automation = 1 and the automation logistic of the given width."""
    return checks.scenario_from_sections(
        [{**checks.SOLO_LAB, "researchers": 1000.0}], name="automation-curve", isolated=True,
        sim={"years": years, "dt": 1 / 12, "log_software_ceiling": ceiling},
        research={"returns_to_research": r, "parallelism": LAMBDA, "max_automation": 1.0, "shock_sd": 0.0,
                  "automation_width_ooms": width_ooms, "software_doubling_months": DOUBLING_MONTHS,
                  "experiment_share": 0.0},
        archetypes={"frontier": {"spend_rate_per_year": 0.0, "safety_base": 0.0}},
        compute={"depreciation_per_year": 0.0}, money={"hire_speed_per_year": 0.0})


def test_real_automation_curve_singular_only_when_the_exponent_crosses_one():
    """r = 2, max_automation = 1, sigma = 1/2: R_cog ~ [(1 - a) / L + a / X]^-1 with X ~ S and
    1 - a ~ E^(-1 / (w ln 10)).  With w = 0.2 OOM the human term fades faster than 1 / X, w_AI -> 1 and the exponent
    lambda w_AI / beta crosses one: a singularity, at the same time (within a step) at ceilings 100 and 700.  With
    w = 1 OOM the human term outlasts the AI one, the exponent stays below one: at most a ceiling year, never a
    singularity, even though the human share keeps shrinking toward 0 (docs/model.md, stage 3)."""
    fast = [Simulation(automation_curve_scenario(2.0, 0.2, c, 80.0), [0]).run().summary(0) for c in (100.0, 700.0)]
    assert all(s["singularity_year"] is not None for s in fast)
    assert abs(fast[0]["singularity_year"] - fast[1]["singularity_year"]) < 1 / 12
    assert fast[0]["ceiling_year"] <= fast[0]["singularity_year"]
    for ceiling in (100.0, 700.0):
        slow = Simulation(automation_curve_scenario(2.0, 1.0, ceiling, 80.0), [0]).run().summary(0)
        assert slow["singularity_year"] is None


@pytest.mark.parametrize("r", [1.0, 0.8])
def test_reaching_the_ceiling_alone_is_not_a_singularity(r, make_scenario):
    """r <= 1 never diverges: ln S reaching a (low) ceiling is recorded as ceiling_year only."""
    sim = Simulation(checks.constant_input_scenario(r, 25.0, lam=LAMBDA, doubling_months=DOUBLING_MONTHS,
                                                    ceiling=10.0), [0]).run()
    summary = sim.summary(0)
    assert summary["ceiling_year"] is not None
    assert summary["ceiling_year"] - sim.scenario.sim.start_year == pytest.approx(
        analytic_crossing(r, 10.0), rel=1e-6)
    assert summary["singularity_year"] is None


def analytic_crossing(r: float, gap: float) -> float:
    """Years for ln S to rise by ``gap`` at full automation and constant inputs, r <= 1 (inverse of the closed form)."""
    c = LAMBDA * (1.0 / r - 1.0)
    return gap / G0 if c == 0.0 else math.expm1(c * gap) / (c * G0)
