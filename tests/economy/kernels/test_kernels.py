"""The kernels' scalar functions against their twins in tests/reference/naive.py, and the whole step against the
whole-step twin (tests/reference/naive_stages.py; each stage alone is in tests/economy/kernels/test_stages.py).

Random cases come from a seeded ``Generator``; hand-picked and adversarial cases cover one lab, all labs dead,
zero compute, zero researchers, automation 0 and 1, rho = 0 (sigma = 1), ties and the extremes of each valid
range.  Where the kernel's arithmetic differs from the twin's (log-sum-exp against the direct formula,
``log1p`` against 60-digit decimals) the comparison is to ~1e-12 relative; where it is the same (the urn's
draws, orderings, masks, counts) it is exact.
"""

from __future__ import annotations

import math

import kernel_entries as entries
import numpy as np
import pytest
from reference import naive, naive_stages
from twin_checks import (
    RTOL,
    STEP_CASES,
    assert_same_state,
    assert_untouched,
    copy_labs,
    copy_net,
    copy_world,
    random_draws,
    rng,
)

from economy.engine import Simulation
from economy.kernels import layout as L
from economy.kernels.market import smooth_toward, urn_arrivals
from economy.kernels.metrics import (
    INSERTION_SORT_MAX,
    NUMPY_SORT_MIN,
    concentration,
    gini,
    safe_log,
    sort_values,
    top_two,
)
from economy.kernels.record import record_initial
from economy.kernels.research import (
    advance_log_software,
    automation_slope,
    divergence_time,
    log_research_input,
)
from economy.kernels.step import step_batch
from economy.kernels.training import (
    automation_fraction,
    log_human_share,
    log_human_share_slope,
    released_log_eff_compute,
)
from economy.state import LabState

LN10 = math.log(10.0)


def log_uniform(gen: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(gen.uniform(math.log(lo), math.log(hi))))


# ---------------------------------------------------------------------------------------------- automation


AUTOMATION_CASES = [
    # ln E, midpoint (ln), width (ln), a_max
    (-math.inf, 29.5 * LN10, LN10, 0.95),  # no model: no automation
    (29.5 * LN10, 29.5 * LN10, LN10, 0.95),  # at the midpoint: half of the cap
    (62.0, 0.0, 0.01 * LN10, 1.0),  # far above a low midpoint: a = a_max = 1 exactly
    (62.0, 60.0 * LN10, 0.01 * LN10, 1.0),  # far below: e^-z would overflow
    (62.0, 29.5 * LN10, 20.0 * LN10, 0.0),  # a_max = 0: never automated
    (300.0, 29.5 * LN10, LN10, 0.95),
]


@pytest.mark.parametrize("case", AUTOMATION_CASES)
def test_automation_fraction_hand_picked(case):
    got = automation_fraction(*case)
    want = naive.automation_fraction(*case)
    assert got == pytest.approx(want, rel=1e-13, abs=1e-300)
    assert 0.0 <= got <= case[3]


def test_automation_fraction_limits():
    assert automation_fraction(62.0, 0.0, 0.01 * LN10, 1.0) == 1.0
    assert automation_fraction(-math.inf, 0.0, LN10, 1.0) == 0.0
    assert automation_fraction(68.0, 68.0, LN10, 0.8) == 0.4


def test_automation_fraction_random():
    gen = rng(1)
    for _ in range(2000):
        case = (gen.uniform(0.0, 200.0), gen.uniform(0.0, 60.0) * LN10, gen.uniform(0.01, 20.0) * LN10,
                gen.uniform(0.0, 1.0))
        assert automation_fraction(*case) == pytest.approx(naive.automation_fraction(*case), rel=1e-13, abs=1e-300)


# ---------------------------------------------------------------------------------------------- research input


def _sigma_to_rho(sigma: float) -> float:
    return (sigma - 1.0) / sigma


def _with_human_share(case):
    """(researchers, ln X, a, rho, ratio, eta) with ln(1 - a) inserted after a (-inf for a = 1: no human term)."""
    researchers, log_ai, a, rho, log_ratio, eta = case
    return researchers, log_ai, a, math.log1p(-a) if a < 1.0 else -math.inf, rho, log_ratio, eta


def _assert_research_input(case):
    args = _with_human_share(case)
    log_r, elasticity = log_research_input(*args)
    want_r, want_e = naive.log_research_input(*args)
    researchers, log_ai, _, _, rho, log_ratio, _ = args
    if want_r == -math.inf:
        assert log_r == -math.inf, args
        assert elasticity == 0.0, args
        return
    # ln R is a weighted mean of ln L, ln X and the experiment ratio; the kernel's log-sum-exp loses about
    # one rounding of those logs divided by |rho| (the CES's own conditioning near sigma = 1)
    scale = 1.0 + abs(math.log(researchers) if researchers > 0 else 0.0) + abs(log_ai if log_ai > -math.inf else 0.0)
    scale += abs(log_ratio) if math.isfinite(log_ratio) else 0.0
    tol = 4e-16 * scale * max(1.0, 1.0 / abs(rho) if rho != 0.0 else 1.0) + 1e-14 * abs(want_r)
    assert abs(log_r - want_r) <= tol, (args, log_r, want_r)
    assert abs(elasticity - want_e) <= 1e-12 * max(1.0, 1.0 / abs(rho) if rho != 0.0 else 1.0), (args, elasticity,
                                                                                                   want_e)
    assert 0.0 <= elasticity <= 1.0


RESEARCH_CASES = [
    # researchers, ln X, a, rho, ln(C_res / C_ref), eta
    (1500.0, math.log(1500.0), 0.3, _sigma_to_rho(0.5), 0.0, 0.3),  # baseline-like
    (1500.0, math.log(300.0), 0.3, 0.0, -1.0, 0.3),  # rho = 0: Cobb-Douglas
    (1500.0, math.log(300.0), 0.0, _sigma_to_rho(0.5), 0.5, 0.0),  # automation 0: humans only
    (1500.0, math.log(300.0), 1.0, _sigma_to_rho(0.5), 0.5, 0.0),  # automation 1: AI only
    (0.0, math.log(300.0), 1.0, _sigma_to_rho(0.5), 0.5, 0.3),  # no researchers, full automation
    (0.0, math.log(300.0), 0.5, _sigma_to_rho(0.5), 0.5, 0.3),  # no researchers, complements: R = 0
    (0.0, math.log(300.0), 0.5, _sigma_to_rho(4.0), 0.5, 0.3),  # no researchers, substitutes: R > 0
    (0.0, math.log(300.0), 0.5, 0.0, 0.5, 0.3),  # no researchers, Cobb-Douglas: R = 0
    (1500.0, -math.inf, 0.5, _sigma_to_rho(0.5), -math.inf, 0.3),  # zero compute: no experiments
    (1500.0, -math.inf, 0.5, _sigma_to_rho(0.5), -math.inf, 0.0),  # zero compute, no experiment term
    (1500.0, -math.inf, 0.5, _sigma_to_rho(4.0), -math.inf, 0.0),  # zero compute, substitutes: humans work
    (1500.0, -math.inf, 0.0, 0.0, -math.inf, 0.0),  # zero compute, a = 0, rho = 0
    (0.0, -math.inf, 0.5, _sigma_to_rho(4.0), -math.inf, 0.0),  # nothing at all
    (1e6, 700.0, 0.95, _sigma_to_rho(0.05), 30.0, 0.95),  # extreme: sigma = 0.05 (rho = -19), huge X
    (1e6, 700.0, 0.95, _sigma_to_rho(10.0), 30.0, 0.95),  # extreme: sigma = 10
    (1e-3, -300.0, 1e-12, _sigma_to_rho(0.05), -40.0, 0.95),
    (2000.0, math.log(2000.0), 0.5, _sigma_to_rho(1.0 + 1e-9), 0.0, 0.0),  # sigma next to 1
]


@pytest.mark.parametrize("case", RESEARCH_CASES)
def test_log_research_input_hand_picked(case):
    _assert_research_input(case)


def test_log_research_input_known_values():
    # Cobb-Douglas with a = 1/2 is the geometric mean; eta = 0
    log_r, w = log_research_input(100.0, math.log(400.0), 0.5, math.log(0.5), 0.0, 0.0, 0.0)
    assert log_r == pytest.approx(math.log(200.0), rel=1e-14)
    assert w == 0.5
    # sigma = 1/2 (rho = -1), a = 1/2: the harmonic-mean form [(1/2)/L + (1/2)/X]^-1
    log_r, w = log_research_input(100.0, math.log(400.0), 0.5, math.log(0.5), -1.0, 0.0, 0.0)
    assert log_r == pytest.approx(math.log(1.0 / (0.5 / 100.0 + 0.5 / 400.0)), rel=1e-14)
    assert w == pytest.approx((0.5 / 400.0) / (0.5 / 100.0 + 0.5 / 400.0), rel=1e-14)


def test_human_share_keeps_its_digits_when_automation_rounds_to_one():
    # a = 1 - 1e-30 rounds to 1.0, but ln(1 - a) = ln(1e-30) keeps the human term: with sigma = 1/2 and X >> L the
    # CES is bounded by the humans, R = [1e-30 / L + 1 / X]^-1, about L / 1e-30 rather than X
    log_h = math.log(1e-30)
    log_x = 100.0
    log_r, w = log_research_input(100.0, log_x, 1.0, log_h, -1.0, 0.0, 0.0)
    assert log_r == pytest.approx(-math.log(1e-30 / 100.0 + math.exp(-log_x)), rel=1e-12)
    assert log_r < log_x - 20.0 and w < 1e-10
    # only a human share below the smallest double (ln(1 - a) = -inf here) drops the term: then R = X
    log_r, w = log_research_input(100.0, log_x, 1.0, -math.inf, -1.0, 0.0, 0.0)
    assert log_r == log_x and w == 1.0
    assert naive.log_research_input(100.0, log_x, 1.0, log_h, -1.0, 0.0, 0.0)[0] == pytest.approx(
        -math.log(1e-30 / 100.0 + math.exp(-log_x)), rel=1e-12)


@pytest.mark.parametrize("case", [(70.0, 68.0, LN10, 1.0), (200.0, 68.0, 0.01 * LN10, 1.0), (80.0, 68.0, LN10, 0.95),
                                  (-math.inf, 68.0, LN10, 0.95), (60.0, 68.0, LN10, 0.0), (3000.0, 0.0, LN10, 1.0)])
def test_log_human_share_matches_twin(case):
    got = log_human_share(*case)
    want = naive.log_human_share(*case)
    assert got == pytest.approx(want, rel=1e-13, abs=1e-15)
    a = automation_fraction(*case)
    if a < 0.999:  # away from 1 the difference is accurate too
        assert got == pytest.approx(math.log1p(-a), rel=1e-12, abs=1e-15)


def test_log_research_input_random():
    gen = rng(2)
    for _ in range(3000):
        researchers = 0.0 if gen.random() < 0.05 else log_uniform(gen, 1e-2, 1e7)
        log_ai = -math.inf if gen.random() < 0.05 else gen.uniform(-30.0, 120.0)
        a = float(gen.choice([0.0, 1.0, gen.uniform(0.0, 1.0), gen.uniform(0.0, 1.0)]))
        roll = gen.random()
        rho = 0.0 if roll < 0.1 else _sigma_to_rho(float(gen.uniform(0.05, 10.0)))
        eta = 0.0 if gen.random() < 0.3 else float(gen.uniform(0.0, 0.95))
        log_ratio = log_ai - 40.0 if log_ai > -math.inf else -math.inf
        _assert_research_input((researchers, log_ai, a, rho, log_ratio, eta))


# ---------------------------------------------------------------------------------------------- ln S integrator


def _assert_advance(x0, log_g, slope, dt, ceiling):
    x1, tau = advance_log_software(x0, log_g, slope, dt, ceiling)
    want_x1, want_tau = naive.advance_log_software(x0, log_g, slope, dt, ceiling)
    case = (x0, log_g, slope, dt, ceiling)
    assert (tau >= 0.0) == (want_tau >= 0.0), (case, tau, want_tau)
    # within 1e-12 of the increment, plus the rounding of the result itself
    tol = RTOL * abs(want_x1 - x0) + 2.0 * np.spacing(abs(want_x1))
    assert abs(x1 - want_x1) <= tol, (case, x1, want_x1)
    assert x1 <= ceiling
    if want_tau >= 0.0:
        assert x1 == ceiling
        assert abs(tau - want_tau) <= RTOL * want_tau + 1e-15 * dt, (case, tau, want_tau)
        assert 0.0 <= tau <= dt


ADVANCE_CASES = [
    # x0, ln g, slope k, dt, ceiling
    (0.0, math.log(1.04), 0.0, 1 / 12, 100.0),  # r = 1: exponential
    (0.0, math.log(1.04), -0.5, 1 / 12, 100.0),  # r < 1: power law
    (0.0, math.log(1.04), 0.25, 1 / 12, 100.0),  # r > 1: towards the blow-up
    (0.0, math.log(1.04), 0.25, 5.0, 100.0),  # blow-up within the step: k g dt > 1
    (0.0, math.log(1.04), 0.25, 1.0 / (0.25 * 1.04) * 0.999, 100.0),  # just before the blow-up time
    (99.999, math.log(1.04), 0.0, 1 / 12, 100.0),  # the ceiling within the step
    (99.999, math.log(1.04), -3.0, 1 / 12, 100.0),
    (100.0, math.log(1.04), 0.25, 1 / 12, 100.0),  # already at the ceiling
    (120.0, math.log(1.04), 0.25, 1 / 12, 100.0),  # beyond the ceiling (a lowered ceiling)
    (0.0, -math.inf, 0.25, 1 / 12, 100.0),  # no research input
    (0.0, -701.0, 0.25, 1 / 12, 100.0),  # negligible growth
    (0.0, 701.0, -19.0, 1.0, 700.0),  # capped growth
    (-50.0, 5.0, -20.0, 1.0, 700.0),  # extreme: beta = 20, fast growth
    (0.0, math.log(1.04), 1e-15, 1 / 12, 100.0),  # tiny slope: the linear branch
    (0.0, math.log(1.04), -1e-15, 1 / 12, 100.0),
    (5.0, math.log(0.3), 5.0, 0.01, 5.5),
]


@pytest.mark.parametrize("case", ADVANCE_CASES)
def test_advance_log_software_hand_picked(case):
    _assert_advance(*case)


def test_advance_log_software_random():
    gen = rng(3)
    for _ in range(3000):
        x0 = float(gen.uniform(-50.0, 120.0))
        log_g = float(gen.uniform(-12.0, 4.0))
        slope = float(gen.choice([0.0, gen.uniform(-20.0, 5.0), gen.uniform(-1.0, 1.0)]))
        dt = log_uniform(gen, 1e-3, 1.0)
        ceiling = float(gen.choice([100.0, gen.uniform(5.0, 700.0)]))
        k_g_dt = slope * math.exp(log_g) * dt
        if abs(1.0 - k_g_dt) < 1e-6:  # the result is ill-conditioned next to the blow-up time
            continue
        _assert_advance(x0, log_g, slope, dt, ceiling)


DIVERGENCE_CASES = [
    # ln g0, slope k, gap to the ceiling
    (math.log(1.04), 0.25, 100.0),  # r = 2 at full automation: diverges right after the ceiling
    (math.log(1.04), 0.0, 100.0),  # exponential growth: never
    (math.log(1.04), -0.1, 100.0),  # decelerating: never
    (math.log(1.04), 0.01, 100.0),  # weakly explosive: the blow-up comes decades after this ceiling
    (math.log(1.04), 0.01, 700.0),  # ... and soon after this one, at the same time from the step's start
    (5.0, 0.5, 0.0),  # already at the ceiling
]


@pytest.mark.parametrize("case", DIVERGENCE_CASES)
def test_divergence_time_matches_twin(case):
    log_g, k, gap = case
    got = divergence_time(log_g + k * gap, k)
    want = naive.divergence_time(log_g + k * gap, k)
    assert (got < 0.0) == (want < 0.0) == (k <= 0.0)
    if want >= 0.0:
        assert got == pytest.approx(want, rel=1e-12)
        # the crossing time plus the time left equals the blow-up time 1 / (k g0) from the step's start
        g0 = math.exp(log_g)
        crossing = -math.expm1(-k * gap) / (k * g0)
        assert crossing + got == pytest.approx(1.0 / (k * g0), rel=1e-12)


@pytest.mark.parametrize("case", [(70.0, 68.0, LN10, 1.0), (80.0, 68.0, LN10, 0.95), (60.0, 68.0, LN10, 0.5),
                                  (68.0, 68.0, 0.2 * LN10, 1.0), (-math.inf, 68.0, LN10, 1.0), (1e4, 0.0, LN10, 1.0)])
def test_log_human_share_slope_matches_twin_and_the_derivative(case):
    got = log_human_share_slope(*case)
    assert got == pytest.approx(naive.log_human_share_slope(*case), rel=1e-12, abs=1e-300)
    assert got <= 0.0
    log_e, mid, width, cap = case
    if math.isfinite(log_e) and log_e < 1e3:  # central difference of ln(1 - a)
        h = 1e-5
        fd = (log_human_share(log_e + h, mid, width, cap) - log_human_share(log_e - h, mid, width, cap)) / (2 * h)
        assert got == pytest.approx(fd, rel=1e-6, abs=1e-12)


def test_automation_slope_relaxes_the_bottleneck_only_for_complements():
    """sigma = 1/2, a_max = 1, far past the midpoint: the human share shrinks like E^(-1/w), so the exponent gains
    lambda (1 - eta - w_R) / (|rho| w); Cobb-Douglas (rho = 0) gains nothing (docs/model.md stage 3)."""
    p = {"rho_of_research_substitution": -1.0, "research_parallelism": 0.5,
         "research_parallelism_over_returns_to_research": 0.1, "research_experiment_share": 0.3,
         "ln10_times_research_automation_midpoint_log10_flop": 60.0, "ln10_times_research_automation_width_ooms": LN10,
         "research_max_automation": 1.0}
    slope = -0.1  # w_R = 0: the human term binds completely
    row = np.zeros(len(L.PARAM_NAMES))
    for name, value in p.items():
        row[getattr(L, "P_" + name.upper())] = value
    got = automation_slope(200.0, slope, row)
    assert got == pytest.approx(0.5 * 0.7 / LN10, rel=1e-9)
    assert got == pytest.approx(naive.automation_slope(200.0, slope, p), rel=1e-12)
    row[L.P_RHO_OF_RESEARCH_SUBSTITUTION] = 0.0
    assert automation_slope(200.0, slope, row) == 0.0


# ---------------------------------------------------------------------------------------------- data wall


RELEASE_CASES = [
    # run FLOP, ln S_run, data, a, public, tokens/param, synthetic multiple, wall efficiency
    (1e26, 0.0, 0.0, 0.0, 3e14, 20.0, 2.0, 0.5),  # below the wall
    (1e30, 2.0, 1e13, 0.5, 3e14, 20.0, 2.0, 0.5),  # above the wall
    (6.0 * (3e14) ** 2 / 20.0, 0.0, 0.0, 0.0, 3e14, 20.0, 2.0, 0.5),  # at the wall
    (0.0, 0.0, 0.0, 0.0, 3e14, 20.0, 2.0, 0.5),  # zero compute: no model
    (1e40, 100.0, 0.0, 1.0, 1e10, 1000.0, 0.0, 0.0),  # wall efficiency 0: data-limited
    (1e40, 100.0, 0.0, 1.0, 1e10, 1.0, 1000.0, 1.0),  # wall efficiency 1: no wall
    (1e35, -50.0, 1e300, 1.0, 1e300, 1.0, 1000.0, 0.5),  # the wall overflows a float
]


@pytest.mark.parametrize("case", RELEASE_CASES)
def test_released_log_eff_compute_hand_picked(case):
    got = released_log_eff_compute(*case)
    want = naive.released_log_eff_compute(*case)
    if want == -math.inf:
        assert got == -math.inf
    else:
        assert got == pytest.approx(want, rel=1e-13, abs=1e-13)


def test_released_log_eff_compute_random():
    gen = rng(4)
    for _ in range(2000):
        case = (log_uniform(gen, 1e18, 1e38), float(gen.uniform(-10.0, 100.0)), log_uniform(gen, 1.0, 1e17),
                float(gen.uniform(0.0, 1.0)), log_uniform(gen, 1e10, 1e17), float(gen.uniform(1.0, 1000.0)),
                float(gen.uniform(0.0, 1000.0)), float(gen.uniform(0.0, 1.0)))
        assert released_log_eff_compute(*case) == pytest.approx(naive.released_log_eff_compute(*case), rel=1e-13,
                                                                abs=1e-13)


# ---------------------------------------------------------------------------------------------- market


def _assert_urn(customers, alive, exponent, uniforms):
    got = np.array(customers, dtype=np.float64)
    urn_arrivals(got, np.array(alive, dtype=np.bool_), exponent, np.array(uniforms, dtype=np.float64))
    want = naive.urn_arrivals(customers, alive, exponent, uniforms)
    np.testing.assert_array_equal(got, np.array(want))  # same draws, same arithmetic: identical
    return got


def test_urn_arrivals_hand_picked():
    # (1, 1) with g = 1: u < 1/2 picks lab 0, u >= 1/2 picks lab 1
    got = _assert_urn([1.0, 1.0], [True, True], 1.0, [0.25, 0.75, 0.1])
    assert got.tolist() == [3.0, 2.0]
    # one lab takes everything
    assert _assert_urn([1.0], [True], 2.0, [0.3] * 7).tolist() == [8.0]
    # all dead, or no customers: nobody arrives
    assert _assert_urn([1.0, 2.0], [False, False], 1.0, [0.5] * 4).tolist() == [1.0, 2.0]
    assert _assert_urn([0.0, 0.0], [True, True], 1.0, [0.5] * 4).tolist() == [0.0, 0.0]
    # dead labs and labs without customers are never picked
    got = _assert_urn([5.0, 0.0, 3.0, 9.0], [True, True, True, False], 1.0, list(np.linspace(0.0, 0.999, 50)))
    assert got[1] == 0.0 and got[3] == 9.0 and got.sum() == 5.0 + 3.0 + 9.0 + 50
    # g = 0: every lab with customers is equally likely; ties of weights
    _assert_urn([1.0, 7.0, 3.0], [True, True, True], 0.0, [0.0, 0.3333, 0.34, 0.9999])
    # extreme exponent and a tiny starting count: weights underflow to zero, nobody is picked
    assert _assert_urn([1e-300, 1e-300], [True, True], 10.0, [0.5]).tolist() == [1e-300, 1e-300]


def test_urn_arrivals_random():
    gen = rng(5)
    for _ in range(300):
        n = int(gen.integers(1, 6))
        customers = [float(c) for c in gen.choice([0.0, 1.0, 2.0, 0.5, 10.0], size=n)]
        alive = [bool(x) for x in gen.random(n) < 0.8]
        exponent = float(gen.choice([0.0, 0.5, 1.0, 2.0, 10.0, gen.uniform(0.0, 10.0)]))
        uniforms = [float(u) for u in gen.random(int(gen.integers(0, 40)))]
        _assert_urn(customers, alive, exponent, uniforms)


@pytest.mark.parametrize("case", [
    (0.2, 0.6, 1 / 12, 1.0),
    (0.2, 0.6, 1.0, 0.01),  # T << dt: jumps to the target
    (0.2, 0.6, 1e-6, 50.0),  # dt << T: the small-x regime where 1 - e^-x needs care
    (0.0, 0.0, 1 / 12, 1.0),
    (0.5, 0.0, 1 / 12, 1.0),
    (0.3, 0.3, 1 / 12, 1.0),
])
def test_smooth_toward_hand_picked(case):
    got = smooth_toward(*case)
    assert got == pytest.approx(naive.smooth_toward(*case), rel=1e-14, abs=1e-16)
    lo, hi = sorted(case[:2])
    assert lo <= got <= hi


def test_smooth_toward_random():
    gen = rng(6)
    for _ in range(2000):
        case = (float(gen.random()), float(gen.random()), log_uniform(gen, 1e-4, 1.0), log_uniform(gen, 0.01, 50.0))
        assert smooth_toward(*case) == pytest.approx(naive.smooth_toward(*case), rel=1e-14, abs=1e-16)


# ---------------------------------------------------------------------------------------------- metrics


def _as_arrays(values, alive):
    return np.array(values, dtype=np.float64), np.array(alive, dtype=np.bool_)


def _assert_metrics(values, alive):
    v, a = _as_arrays(values, alive)
    got = concentration(v, a)
    want = naive.concentration(values, alive)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    got_g = gini(v, a, np.empty_like(v))
    assert got_g == pytest.approx(naive.gini(values, alive), rel=1e-12, abs=1e-14)
    assert top_two(v, a) == naive.top_two(values, alive)


METRIC_CASES = [
    ([0.3], [True]),  # one lab
    ([0.3, 0.2, 0.1], [False, False, False]),  # all dead
    ([0.0, 0.0], [True, True]),  # nothing sold
    ([0.25, 0.25, 0.25, 0.25], [True, True, True, True]),  # ties
    ([0.4, 0.4, 0.1, 0.1, 0.0], [True, True, True, True, True]),
    ([0.9, 0.05, 0.05], [False, True, True]),  # the dead leader is ignored
    ([0.1, 0.2, 0.3, 0.15, 0.05, 0.1], [True] * 6),  # more than four
    ([1e-300, 1e-300, 0.0], [True, True, True]),
    ([5e13, 1.0, 0.0, 2e13], [True, True, True, True]),  # revenue-like magnitudes
]


@pytest.mark.parametrize("case", METRIC_CASES)
def test_metrics_hand_picked(case):
    _assert_metrics(*case)


@pytest.mark.parametrize("m", [NUMPY_SORT_MIN * 3 + 17, INSERTION_SORT_MAX, 2])
@pytest.mark.parametrize("kind", ["revenues", "ties_and_zeros", "negative_zero", "tiny_and_huge", "negative",
                                  "nan", "small"])
def test_sort_values_equals_numpy_sort(kind, m):
    """The three routes (numpy's sort from NUMPY_SORT_MIN values on, a heap sort below, insertion up to
    INSERTION_SORT_MAX) give np.sort's array."""
    gen = rng(7)
    values = {
        "revenues": np.exp(gen.normal(20.0, 5.0, m)),
        "ties_and_zeros": gen.integers(0, 5, m).astype(np.float64) * 1e9,
        "negative_zero": np.where(gen.random(m) < 0.3, -0.0, gen.random(m)),
        "tiny_and_huge": np.concatenate([np.full(m // 4, 5e-324), np.full(m // 4, 1.7e308), gen.random(m - m // 2)]),
        "negative": gen.normal(0.0, 1.0, m),
        "nan": np.concatenate([gen.random(m - 2), [np.nan, -np.inf]])[gen.permutation(m)],
        "small": gen.random(NUMPY_SORT_MIN - 1 if m > NUMPY_SORT_MIN else m - 1),
    }[kind]
    want = np.sort(values)
    buffer = np.concatenate([values, [123.0]])  # a row of a larger buffer, as the record stage passes it
    sort_values(buffer[:values.shape[0]])
    np.testing.assert_array_equal(buffer[:-1], want)  # -0.0 == 0.0 here; the Gini below sees no difference
    assert buffer[-1] == 123.0
    if kind in ("revenues", "ties_and_zeros"):
        alive = np.ones(values.shape[0], dtype=np.bool_)
        ranked = np.sort(values)
        k = np.arange(1, ranked.shape[0] + 1)
        expected = 2.0 * (k * ranked).sum() / (ranked.shape[0] * ranked.sum()) - (ranked.shape[0] + 1) / ranked.shape[0]
        assert gini(values, alive, np.empty(values.shape[0])) == pytest.approx(expected, rel=1e-12)


def test_metrics_known_values():
    v, a = _as_arrays([0.5, 0.5], [True, True])
    hhi, eff, top1, top4 = concentration(v, a)
    assert (hhi, eff, top1, top4) == (5000.0, 2.0, 0.5, 1.0)
    # shares are renormalised to the inside market: 0.3 + 0.1 -> 0.75, 0.25
    v, a = _as_arrays([0.3, 0.1], [True, True])
    assert concentration(v, a)[0] == pytest.approx(10_000 * (0.75**2 + 0.25**2), rel=1e-14)
    # Gini: all equal -> 0; one holder of everything among m -> (m - 1) / m
    v, a = _as_arrays([2.0, 2.0, 2.0], [True, True, True])
    assert gini(v, a, np.empty(3)) == pytest.approx(0.0, abs=1e-15)
    v, a = _as_arrays([0.0, 0.0, 0.0, 8.0], [True] * 4)
    assert gini(v, a, np.empty(4)) == pytest.approx(0.75, rel=1e-14)
    # top two with ties: lowest index first; -inf (no model) still ranks; -1 when missing
    v, a = _as_arrays([1.0, 3.0, 3.0, 2.0], [True] * 4)
    assert top_two(v, a) == (1, 2)
    v, a = _as_arrays([-math.inf, -math.inf], [True, True])
    assert top_two(v, a) == (0, 1)
    v, a = _as_arrays([1.0, 2.0], [True, False])
    assert top_two(v, a) == (0, -1)
    v, a = _as_arrays([1.0, 2.0], [False, False])
    assert top_two(v, a) == (-1, -1)


def test_metrics_random():
    gen = rng(7)
    for _ in range(500):
        n = int(gen.integers(1, 12))
        roll = gen.random()
        if roll < 0.3:  # ties
            values = [float(x) for x in gen.choice([0.0, 0.1, 0.2], size=n)]
        elif roll < 0.6:  # a sub-distribution of shares
            raw = gen.random(n + 1)
            values = [float(x) for x in (raw / raw.sum())[:n]]
        else:  # revenue-like
            values = [log_uniform(gen, 1.0, 1e14) for _ in range(n)]
        alive = [bool(x) for x in gen.random(n) < 0.85]
        _assert_metrics(values, alive)


def test_safe_log():
    for x in (0.0, 1e-300, 1.0, 3.5e27):
        assert safe_log(x) == (math.log(x) if x > 0 else -math.inf)


# ---------------------------------------------------------------------------------------------- one lab's growth


def _lab_dict(labs: LabState, b: int, i: int) -> dict:
    return {name: getattr(labs, name)[b, i].item() for name in LabState._fields}


def _par_dict(par: np.ndarray, b: int) -> dict:
    return dict(zip(L.PARAM_NAMES, par[b].tolist(), strict=True))


def test_lab_log_growth_matches_twin(baseline):
    sim = Simulation(baseline, [11, 12], record_labs=False)
    gen = rng(8)
    for b in range(2):
        for i in range(sim.n_labs):
            shock = float(gen.standard_normal())
            got = entries.lab_log_growth(sim.labs, sim.par, b, i, shock)
            want = naive.lab_log_growth(_lab_dict(sim.labs, b, i), _par_dict(sim.par, b), shock)
            assert got[0] == pytest.approx(want[0], rel=1e-13, abs=1e-12)
            assert got[1] == pytest.approx(want[1], rel=1e-12, abs=1e-13)
            # the calibration rate is the shock-free mean growth
            sd, dt = sim.par[b, L.P_RESEARCH_SHOCK_SD], sim.par[b, L.P_SIM_DT]
            no_shock = naive.lab_log_growth(_lab_dict(sim.labs, b, i), _par_dict(sim.par, b), 0.0)[0]
            calibration = entries.calibration_log_growth(sim.labs, sim.par, b, i)
            assert calibration == pytest.approx(no_shock + 0.5 * sd * sd * dt, rel=1e-13, abs=1e-12)


def test_start_run_calibrates_the_software_leader_to_the_doubling_time(baseline):
    """After set-up (research.start_run), the first lab of highest ln S grows at ln 2 / doubling time with no shock."""
    sim = Simulation(baseline, [0, 1, 2], record_labs=False)
    g0 = math.log(2.0) / (baseline.research.software_doubling_months / 12.0)
    for b in range(3):
        n = int(sim.world.n_used[b])
        leader = int(np.argmax(sim.labs.log_software[b, :n]))
        assert sim.par[b, L.P_RUN_START_LOG_THETA] != 0.0
        assert entries.calibration_log_growth(sim.labs, sim.par, b, leader) == pytest.approx(math.log(g0),
                                                                                                     rel=1e-14)


# ---------------------------------------------------------------------------------------------- the whole step

def drive_against_twin(scenario, seeds, n_steps, prepare=None, seed=0) -> np.ndarray:
    """Step ``step_batch`` and ``naive_step`` from the same state each step; return the kernel's records."""
    sim = Simulation(scenario, seeds, record_labs=False)
    if prepare is not None:
        prepare(sim)
    labs, world, par, net = sim.labs, sim.world, sim.par, sim.net
    n_runs, capacity = labs.cash_usd.shape
    arrivals = scenario.market.urn_arrivals_per_step if scenario.market.mode == "urn" else 0
    if scenario.market.urn_entry_probability > 0.0:
        arrivals *= 2  # a found-or-join uniform per arrival after the picks
    gen = rng(seed)
    start_world = copy_world(world)
    start_rec = np.zeros((n_runs, L.N_MARKET))
    record_initial(labs, start_world, par, start_rec)
    want_world, want_rec = naive_stages.naive_record_initial(labs, world, par)
    assert_same_state(labs, start_world, start_rec, labs, want_world, want_rec, "initial record")
    records = []
    for k in range(n_steps):
        before = (copy_labs(labs), copy_world(world), copy_net(net))
        pristine = (copy_labs(labs), copy_world(world), copy_net(net))
        shocks = gen.standard_normal((n_runs, capacity))
        uniforms = gen.random((n_runs, arrivals))
        draws = random_draws(gen, n_runs, capacity)
        rec = np.zeros((n_runs, L.N_MARKET))
        with np.errstate(invalid="raise", divide="raise", over="raise"):
            step_batch(labs, world, par, net, shocks, uniforms, draws, sim.work, rec)
        want_labs, want_world, want_net, want_rec = naive_stages.naive_step(*before[:2], par, before[2], shocks,
                                                                           uniforms, draws)
        for what, a, b in zip(("labs", "world", "net"), before, pristine, strict=True):
            assert_untouched(a, b, what)
        spilled = net.indices.shape[0] > 0
        assert_same_state(labs, world, rec, want_labs, want_world, want_rec, f"step {k + 1}",
                           net if spilled else None, want_net)
        records.append(rec)
    return np.array(records)


def test_step_matches_twin_baseline(baseline):
    records = drive_against_twin(baseline, [101], 36)
    # labs alive = the twelve starting labs + entrants - exits - acquired labs
    flows = records[:, 0, :].sum(axis=0)
    assert records[-1, 0, L.M_N_ALIVE] == 12 + flows[L.M_N_ENTRIES] - flows[L.M_N_EXITS] - flows[L.M_N_ACQUISITIONS]
    assert flows[L.M_N_STRATEGY_CHANGES] > 0  # the random draws make labs imitate and search


@pytest.mark.parametrize("name", sorted(STEP_CASES))
def test_step_matches_twin(name, make_scenario):
    sections, labs, prepare, seeds, n_steps = STEP_CASES[name]
    scenario = make_scenario(labs, **sections)
    records = drive_against_twin(scenario, seeds, n_steps, prepare=prepare, seed=len(name))
    # the cases do what their names say
    if name == "exits":
        assert records[:, :, L.M_N_EXITS].sum() > 0
    if name == "singular":
        assert records[-1, 0, L.M_N_SINGULAR] > 0
    if name == "all_dead":
        assert (records[:, :, L.M_N_ALIVE] == 0).all()
    if name.startswith("network"):
        assert records[:, :, L.M_ACTIVE_EDGES].sum() > 0
        assert records[:, :, L.M_TALENT_FLOW].sum() > 0
    if name == "no_model_anywhere":
        assert np.isnan(records[:, :, L.M_FRONTIER_QUALITY]).all()
        assert (records[:, :, L.M_TOTAL_DEMAND] > 0).all()
    if name == "one_model":
        assert (
            np.isfinite(records[:, :, L.M_FRONTIER_QUALITY]).all()
            and np.isnan(records[:, :, L.M_LEADER_GAP_OOMS]).all()
        )
    if name == "price_floor_vanishes":
        assert records[-1, 0, L.M_PRICE_FLOOR] == 0.0
    flows = records.sum(axis=(0, 1))
    if name.startswith("agents_busy"):
        for col in (L.M_N_STRATEGY_CHANGES, L.M_N_ENTRIES, L.M_N_EXITS, L.M_N_ACQUISITIONS, L.M_INCIDENTS):
            assert flows[col] > 0, L.MARKET_COLUMNS[col]
        assert records[-1, :, L.M_CATASTROPHE].all()
    if name == "merger_review_blocks":
        assert flows[L.M_N_ACQUISITIONS_BLOCKED] > 0 and flows[L.M_N_ACQUISITIONS] == 0
    if name == "agents_generated_rivals":
        assert flows[L.M_N_ENTRIES] == 3  # the entry capacity, then no more
    if name == "urn_simon":  # both kinds of entry fired, and the columns ran out
        assert (records[:, :, L.M_N_ENTRIES].sum(axis=0) == 40).all() and records[:, :, L.M_N_ENTRIES].max() > 1
    if name == "urn_simon_no_open_lab":
        assert flows[L.M_N_ENTRIES] == 8
    if name == "event_buffer_full":
        assert flows[L.M_EVENTS_DROPPED] > 0
    if name == "network_complete":
        assert records[:, :, L.M_N_DISTILLED].sum() > 0
        assert records[:, :, L.M_SPILLOVER_LOG_SOFTWARE].sum() > 0
