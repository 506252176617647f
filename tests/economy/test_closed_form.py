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
    singular = sim.summary(0)["singularity_year"]
    assert singular is not None
    assert singular - start == pytest.approx(ceiling_time(r, G0, CEILING), rel=1e-9)
    assert abs(singular - start - t_star) < dt
    t, x = simulated_log_software(sim)
    before = t + start < singular
    np.testing.assert_allclose(x[before], analytic_log_software(t[before], r, G0), rtol=1e-9, atol=1e-10)
    # after the singularity ln S is held at the ceiling: finite, never inf or NaN
    assert np.all(x[~before] == CEILING)
    assert sim.summary(0)["n_alive"] == 1
