"""Validation cases: the model against closed forms, known limits and its own accounting (docs/validation.md).

Each case is a function ``case(quick) -> list[Row]``: it builds a small scenario, runs the engine (or a kernel)
and compares one measured number per row with the number theory or arithmetic gives, within a stated
tolerance.  :func:`run_cases` runs them all; ``multipolar validate`` (:mod:`runs.cli.validate`) prints the
table and exits 1 if a row fails.  ``quick`` shrinks the statistical cases (fewer runs, fewer customers) and
widens their tolerances by the same statistics, never by hand.

The analytic paths, the scenario builders and the budget residuals here are shared with the tests
(tests/economy/test_closed_form.py, tests/economy/test_urn.py, tests/runs/checks/test_validation.py), so the
property tests and this table check the same formulas on the same scenarios.

``python -m runs.checks.validation [--quick] [--markdown]`` prints the table (``--markdown``: the block of
docs/validation.md); ``--write docs/validation.md`` updates that block in place.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numba
import numpy as np

from economy.engine import Simulation
from economy.kernels import layout as L
from economy.kernels.metrics import concentration
from economy.params import Scenario
from runs.checks.calibration import baseline_scenario
from runs.checks.markdown import replace_block

__all__ = [
    "CASES",
    "HEADER",
    "SOLO_LAB",
    "Row",
    "ValidationReport",
    "analytic_log_software",
    "blow_up_time",
    "budget_residuals",
    "ceiling_time",
    "constant_input_scenario",
    "crossing_times",
    "doubling_time_factor",
    "hhi_merger_delta",
    "initial_growth",
    "isolation",
    "measured_doubling_factors",
    "run_cases",
    "scenario_from_sections",
    "simulated_log_software",
    "urn_limit_shares",
    "urn_scenario",
    "validation_table",
]

# ---------------------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Row:
    """One line of the validation table: ``|measured - expected| <= tolerance`` (times ``|expected|`` if relative).

    ``one_sided`` rows pass when ``measured <= expected + tolerance`` (an upper bound, e.g. a residual).
    ``also`` carries the case's secondary checks (stated in ``detail``); a row passes only if they hold too.
    """

    case: str
    source: str
    quantity: str
    expected: float
    measured: float
    tolerance: float
    relative: bool = False
    one_sided: bool = False
    detail: str = ""
    also: bool = True
    seconds: float = 0.0

    @property
    def bound(self) -> float:
        """The tolerance in the measured quantity's units."""
        return self.tolerance * abs(self.expected) if self.relative else self.tolerance

    @property
    def passed(self) -> bool:
        if not (self.also and math.isfinite(self.measured)):
            return False
        if self.one_sided:
            return self.measured <= self.expected + self.bound
        return abs(self.measured - self.expected) <= self.bound

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        return out

    def cells(self) -> tuple[str, str, str, str, str, str]:
        """The six displayed cells: case, source, expected, measured, tolerance, pass/fail."""
        tol = f"{self.tolerance:.3g} rel." if self.relative else f"{self.tolerance:.3g}"
        if self.one_sided:
            tol = f"<= {tol}"
        expected = f"{self.quantity} = {_num(self.expected)}"
        return self.case, self.source, expected, _num(self.measured), tol, "pass" if self.passed else "FAIL"


def _num(x: float) -> str:
    if x == 0.0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 1e-3 and abs(x) < 1e5:
        return f"{x:.6g}"
    return f"{x:.3e}"


# ---------------------------------------------------------------------------------------------- scenarios


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def scenario_from_sections(labs: Sequence[dict[str, Any]], name: str = "validation", *, isolated: bool = False,
                           **sections: dict[str, Any]) -> Scenario:
    """A validated scenario with ``labs`` listed and ``sections`` merged over the schema defaults.

    ``isolated`` first switches off every mechanism outside the one a case tests (:func:`isolation`).
    """
    data: dict[str, Any] = {"name": name, "labs": {"list": [dict(lab) for lab in labs]}}
    if isolated:
        data = _merge(data, isolation(labs))
    return Scenario.model_validate(_merge(data, sections))


_SWITCH_OFF: dict[str, dict[str, Any]] = {
    "entry": {"rate_per_year": 0.0},
    "acquisitions": {"rate_per_year": 0.0},
    "incidents": {"hazard_per_drift": 0.0},
}
"""Settings that switch off entry, acquisitions and incidents, for the schema sections that exist."""


def isolation(labs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Overrides that keep a closed-form or urn case free of the agents' mechanisms: no entry, no acquisitions,
    no incidents, and fixed routines for the listed labs' archetypes (where the schema has these settings)."""
    from economy.params import Archetype

    out: dict[str, Any] = {k: dict(v) for k, v in _SWITCH_OFF.items() if k in Scenario.model_fields}
    if "strategy" in Archetype.model_fields:
        out["archetypes"] = {lab["kind"]: {"strategy": "fixed"} for lab in labs}
    return out


# ---------------------------------------------------------------------------------------------- closed forms
#
# With full automation (a = 1), constant compute and no experiment-compute bottleneck (eta = 0), research input
# is R = k C_res S, so d ln S / dt = theta (k C_res)^lambda S^(lambda - beta) = g0 exp(-c x), with
# x = ln S - ln S0 and c = beta - lambda = lambda (1/r - 1).  With eta > 0 and constant experiment compute,
# R ~ S^(1 - eta) and c = beta - lambda (1 - eta) (docs/validation.md derives it).

SOLO_LAB = {"name": "Solo", "kind": "frontier", "cash_usd": 1e9, "compute_flop_per_year": 1e27, "researchers": 0.0,
            "log_software": 0.0}


def decay_exponent(r: float, lam: float, experiment_share: float = 0.0) -> float:
    """c in d ln S/dt = g0 exp(-c (ln S - ln S0)) at full automation and constant inputs: beta - lambda (1 - eta)."""
    return lam / r - lam * (1.0 - experiment_share)


def analytic_log_software(t: np.ndarray, r: float, g0: float, lam: float, x0: float = 0.0,
                          experiment_share: float = 0.0) -> np.ndarray:
    r"""ln S(t) in the three regimes: exponential (c = 0), power law (c > 0), blow-up (c < 0, NaN past t*).

    .. math:: \ln S = \ln S_0 + \frac{\ln(1 + c g_0 t)}{c}
    """
    c = decay_exponent(r, lam, experiment_share)
    t = np.asarray(t, dtype=np.float64)
    if c == 0.0:
        return x0 + g0 * t
    with np.errstate(invalid="ignore", divide="ignore"):
        return x0 + np.log(1.0 + c * g0 * t) / c


def blow_up_time(r: float, g0: float, lam: float, experiment_share: float = 0.0) -> float:
    """The finite time t* = 1 / (-c g0) at which ln S diverges (c < 0); inf if it never does."""
    c = decay_exponent(r, lam, experiment_share)
    return 1.0 / (-c * g0) if c < 0.0 else math.inf


def ceiling_time(r: float, g0: float, lam: float, gap: float, experiment_share: float = 0.0) -> float:
    """When ln S has risen by ``gap`` (the closed form solved for t): (1 - exp(c gap)) / (-c g0)."""
    c = decay_exponent(r, lam, experiment_share)
    if c == 0.0:
        return gap / g0
    return -math.expm1(c * gap) / (-c * g0)


def doubling_time_factor(r: float, lam: float, experiment_share: float = 0.0) -> float:
    """Each doubling of S multiplies the doubling time by 2^c = 2^(lambda/r - lambda (1 - eta)).

    At eta = 0 this is Davidson & Houlden's rule 2^(lambda (1/r - 1)).
    """
    return 2.0 ** decay_exponent(r, lam, experiment_share)


def constant_input_scenario(r: float, years: float, *, dt: float = 1 / 12, lam: float = 0.5,
                            doubling_months: float = 8.0, experiment_share: float = 0.0,
                            ceiling: float = 100.0) -> Scenario:
    """One lab, full automation, constant compute (no spending, no depreciation), no shocks, no safety share."""
    return scenario_from_sections(
        [SOLO_LAB],
        name="closed-form",
        isolated=True,
        sim={"years": years, "dt": dt, "log_software_ceiling": ceiling},
        research={"returns_to_research": r, "parallelism": lam, "max_automation": 1.0,
                  "automation_midpoint_log10_flop": 0.0, "automation_width_ooms": 0.01,
                  "experiment_share": experiment_share, "shock_sd": 0.0, "software_doubling_months": doubling_months},
        archetypes={"frontier": {"spend_rate_per_year": 0.0, "safety_base": 0.0}},
        compute={"depreciation_per_year": 0.0},
        money={"hire_speed_per_year": 0.0},
    )


def initial_growth(scenario: Scenario) -> float:
    """g0 = ln 2 / doubling time: the calibrated starting growth rate of the software leader."""
    return math.log(2.0) / (scenario.research.software_doubling_months / 12.0)


def simulated_log_software(sim: Simulation, lab: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Years since the start and ln S of one lab of run 0, at every recorded step."""
    frame = sim.labs_frame(0)
    frame = frame[frame["lab_id"] == lab]
    return frame["year"].to_numpy() - sim.scenario.sim.start_year, frame["log_software"].to_numpy()


def crossing_times(t: np.ndarray, x: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Times at which the increasing path ``x(t)`` first reaches each level (linear interpolation; NaN if never)."""
    out = np.full(len(levels), np.nan)
    for k, level in enumerate(levels):
        j = int(np.searchsorted(x, level, side="left"))
        if j == 0:
            out[k] = t[0] if x[0] >= level else np.nan
        elif j < len(x):
            x0, x1 = x[j - 1], x[j]
            out[k] = t[j - 1] + (t[j] - t[j - 1]) * (level - x0) / (x1 - x0)
    return out


def _path_error(r: float, years: float) -> tuple[Simulation, float]:
    sc = constant_input_scenario(r, years)
    sim = Simulation(sc, [0]).run()
    t, x = simulated_log_software(sim)
    expected = analytic_log_software(t, r, initial_growth(sc), 0.5)
    err = float(np.max(np.abs(x - expected) / np.maximum(1.0, np.abs(expected))))
    return sim, err


def case_growth_paths(quick: bool) -> list[Row]:
    """ln S(t) with constant inputs: exponential for r = 1 and the power law for r < 1, over 30 years."""
    rows = []
    years = 30.0
    for r, regime in ((1.0, "exponential"), (0.5, "power law")):
        sim, err = _path_error(r, years)
        sc = sim.scenario
        t_end = sim.steps_done * sc.sim.dt
        expected = float(analytic_log_software(np.array([t_end]), r, initial_growth(sc), 0.5)[0])
        measured = float(sim.labs.log_software[0, 0])
        rows.append(Row(
            case=f"research growth, {regime} (r = {r:g})",
            source="Jones 1995; docs/model.md stage 3",
            quantity=f"ln S after {years:g} y",
            expected=expected, measured=measured, tolerance=1e-9, relative=True,
            detail=f"also: the whole monthly path within 1e-9 (largest relative error {err:.1e}); lambda 0.5, "
                   "a = 1, 8-month starting doubling, constant compute",
            also=err <= 1e-9,
        ))
    return rows


def case_blow_up(quick: bool) -> list[Row]:
    """r > 1, full automation: the singularity is the closed-form blow-up t*, whatever the numerical ceiling; ln S
    reaches the ceiling (``ceiling_year``) at the closed-form time just before it."""
    r, lam, ceiling = 2.0, 0.5, 100.0
    g0 = initial_growth(constant_input_scenario(r, 1.0))
    t_star = blow_up_time(r, g0, lam)
    sc = constant_input_scenario(r, math.ceil(t_star + 2.0), ceiling=ceiling)
    sim = Simulation(sc, [0]).run()
    summary = sim.summary(0)
    singular, at_ceiling = summary["singularity_year"], summary["ceiling_year"]
    measured = (singular - sc.sim.start_year) if singular is not None else math.nan
    reached = (at_ceiling - sc.sim.start_year) if at_ceiling is not None else math.nan
    crossing = ceiling_time(r, g0, lam, ceiling)
    held = bool(np.isfinite(sim.labs.log_software).all()) and float(sim.labs.log_software[0, 0]) == ceiling
    on_time = abs(reached - crossing) <= 1e-9 * crossing
    return [Row(
        case=f"finite-time blow-up (r = {r:g})",
        source="Jones 1995; Davidson 2023; docs/model.md stage 3",
        quantity="years to the singularity",
        expected=t_star, measured=measured, tolerance=1e-9, relative=True,
        detail=f"ln S reaches the numerical ceiling {ceiling:g} at {reached:.6g} y (closed form {crossing:.6g} y: "
               f"{on_time}) and is held there, finite, to the horizon ({held})",
        also=held and on_time,
    )]


def measured_doubling_factors(r: float, experiment_share: float, doublings: int, dt: float) -> np.ndarray:
    """Ratios T_{k+1} / T_k of successive doubling times of S in a simulated constant-input run."""
    lam = 0.5
    probe = constant_input_scenario(r, 1.0, experiment_share=experiment_share)
    g0 = initial_growth(probe)
    gap = (doublings + 1) * math.log(2.0)
    years = ceiling_time(r, g0, lam, gap, experiment_share) * 1.02 + 4 * dt
    sc = constant_input_scenario(r, years, dt=dt, experiment_share=experiment_share)
    sim = Simulation(sc, [0]).run()
    t, x = simulated_log_software(sim)
    levels = x[0] + math.log(2.0) * np.arange(doublings + 2)
    times = crossing_times(t, x, levels)
    spans = np.diff(times)
    return spans[1:] / spans[:-1]


def case_doubling_rule(quick: bool) -> list[Row]:
    """Davidson & Houlden's rule: with research input proportional to S, each doubling of S multiplies the
    doubling time by 2^(lambda (1/r - 1)); here research input is k C_res S (a = 1) times the experiment-compute
    term, so the rule the model implies is 2^(lambda / r - lambda (1 - eta))."""
    rows = []
    dt = 1 / 240
    for r, eta, note in ((0.6, 0.0, "r < 1: doubling times lengthen"),
                         (2.0, 0.0, "r > 1: doubling times shorten (blow-up)"),
                         (1.2, 0.3, "baseline r, lambda, eta: r (1 - eta) = 0.84 < 1 lengthens")):
        factors = measured_doubling_factors(r, eta, doublings=8, dt=dt)
        expected = doubling_time_factor(r, 0.5, eta)
        measured = float(np.exp(np.mean(np.log(factors))))
        spread = float(np.max(np.abs(factors / expected - 1.0)))
        rows.append(Row(
            case=f"software doubling rule (r = {r:g}, eta = {eta:g})",
            source="Davidson & Houlden 2025",
            quantity="T(2S) / T(S)",
            expected=expected, measured=measured, tolerance=1e-4, relative=True,
            detail=f"{note}; geometric mean of 8 successive ratios; also: each ratio within 1e-4 (largest "
                   f"deviation {spread:.1e}); lambda 0.5, a = 1, constant compute, dt = 1/240 y, crossing times "
                   "interpolated linearly (error ~ dt^2)",
            also=spread <= 1e-4,
        ))
    return rows


# ---------------------------------------------------------------------------------------------- urn


def urn_scenario(exponent: float, arrivals: int, steps: int = 12, initial: float = 1.0) -> Scenario:
    """Two identical labs whose shares are driven by the generalised Polya urn alone."""
    labs = [{"name": name, "kind": "frontier", "cash_usd": 1e10, "compute_flop_per_year": 3e27,
             "researchers": 1500.0, "log_software": 0.0} for name in ("Lab A", "Lab B")]
    return scenario_from_sections(
        labs, name="urn", isolated=True,
        sim={"years": steps / 12, "dt": 1 / 12},
        market={"mode": "urn", "urn_exponent": exponent, "urn_arrivals_per_step": arrivals,
                "urn_initial_customers": initial},
    )


def urn_limit_shares(scenario: Scenario, seeds: Sequence[int]) -> np.ndarray:
    """Lab 0's share at the horizon, one entry per seed (one batch).

    Raises AssertionError unless the urn drew every customer and the shares are its customer shares.
    """
    sim = Simulation(scenario, list(seeds), record_labs=False).run()
    customers = sim.labs.customers
    drawn = 2.0 * scenario.market.urn_initial_customers + sim.n_steps * scenario.market.urn_arrivals_per_step
    total = customers.sum(axis=1)
    if not np.array_equal(total, np.full(len(seeds), drawn)):
        raise AssertionError("the urn did not draw every customer")
    if not np.allclose(sim.labs.share[:, 0], customers[:, 0] / total, rtol=1e-15, atol=0.0):
        raise AssertionError("the shares are not the urn's customer shares")
    return sim.labs.share[:, 0].copy()


def _urn_sizes(quick: bool) -> tuple[int, int]:
    """(runs, arrivals per step): 12 steps each."""
    return (200, 250) if quick else (400, 1000)


def case_urn(quick: bool) -> list[Row]:
    """Generalised Polya urn, f(x) = x^g, two labs from (1, 1): uniform limit, lock-in, equalisation."""
    from scipy import stats

    n_runs, arrivals = _urn_sizes(quick)
    seeds = range(1000, 1000 + n_runs)
    n_total = 2 + 12 * arrivals
    source = "Hill, Lane & Sudderth 1980; Arthur 1989"
    rows = []
    # g = 1: the classic Polya urn; lab 0's share is exactly uniform on {1..N+1}/(N+2), uniform in the limit
    shares = urn_limit_shares(urn_scenario(1.0, arrivals), seeds)
    ks = stats.kstest(shares, "uniform")
    critical = float(stats.kstwo.ppf(0.99, n_runs))
    rows.append(Row(
        case="Polya urn, g = 1: uniform limit", source=source, quantity="KS distance to U(0, 1)",
        expected=0.0, measured=float(ks.statistic), tolerance=critical, one_sided=True,
        detail=f"{n_runs} runs x {n_total - 2} customers; tolerance = 1% critical value of the KS test "
               f"(p = {ks.pvalue:.3f})",
    ))
    # g = 2: increasing returns lock in; the minority gets finitely many customers
    shares = urn_limit_shares(urn_scenario(2.0, arrivals), seeds)
    leader = np.maximum(shares, 1.0 - shares)
    wins = float(np.mean(shares > 0.5))
    rows.append(Row(
        case="Polya urn, g = 2: lock-in", source=source, quantity="median leader share",
        expected=1.0, measured=float(np.median(leader)), tolerance=0.01,
        detail=f"{n_runs} runs; {np.mean(leader > 0.95):.1%} of runs above 0.95; also: lab A wins within 3 "
               f"standard errors of 1/2 ({wins:.1%}; symmetric, decided by early luck)",
        also=abs(wins - 0.5) <= 3.0 * math.sqrt(0.25 / n_runs),
    ))
    # g = 1/4: decreasing returns equalise; the stochastic-approximation CLT gives the spread around 1/2
    g = 0.25
    shares = urn_limit_shares(urn_scenario(g, arrivals), seeds)
    expected_sd = math.sqrt(0.25 / ((1.0 - 2.0 * g) * n_total))
    measured_sd = float(np.std(shares, ddof=1))
    sampling = 3.0 / math.sqrt(2.0 * (n_runs - 1))  # three standard errors of a sample standard deviation
    rows.append(Row(
        case="Polya urn, g = 1/4: equalisation", source=f"{source}; Renlund 2010 (CLT)",
        quantity="sd of limit share",
        expected=expected_sd, measured=measured_sd, tolerance=sampling, relative=True,
        detail=f"sd = sqrt(1/4 / ((1 - 2g) N)) around 1/2 with N = {n_total}; tolerance = 3 standard errors of a "
               f"sample sd over {n_runs} runs; also: mean share within 3 standard errors of 1/2 "
               f"({np.mean(shares):.4f})",
        also=abs(float(np.mean(shares)) - 0.5) <= 3.0 * expected_sd / math.sqrt(n_runs),
    ))
    return rows


# ---------------------------------------------------------------------------------------------- Simon entry
#
# Simon (1955): each arriving customer founds a new lab with probability p, else joins an existing lab with
# probability proportional to its customers (the urn at g = 1).  Lab sizes then follow the Yule-Simon law
# P(k) = rho B(k, rho + 1) with rho = 1 / (1 - p), whose tail is Zipf-like: P(size >= k) ~ k^(-rho).


def simon_scenario(p: float, arrivals: int, steps: int = 12) -> Scenario:
    """Two starting labs in the urn mode (g = 1) with Simon's entry at probability ``p``, free columns for about
    six standard deviations more entrants than expected, and no exit by small share (only Simon's entry and the
    urn act: :func:`isolation`)."""
    labs = [{"name": name, "kind": "frontier", "cash_usd": 1e10, "compute_flop_per_year": 3e27,
             "researchers": 1500.0, "log_software": 0.0} for name in ("Lab A", "Lab B")]
    n = arrivals * steps
    free = int(p * n + 6.0 * math.sqrt(p * (1.0 - p) * n)) + 10
    data = _merge({"name": "simon", "labs": {"list": labs, "max_entrants": free}}, isolation(labs))
    return Scenario.model_validate(_merge(data, {
        "sim": {"years": steps / 12, "dt": 1 / 12},
        "market": {"mode": "urn", "urn_exponent": 1.0, "urn_arrivals_per_step": arrivals,
                   "urn_entry_probability": p},
        "money": {"exit_relative_share": 0.0},
    }))


def simon_sizes(scenario: Scenario, seeds: Sequence[int]) -> np.ndarray:
    """The customers of every lab founded by Simon's entry, pooled over ``seeds`` (one batch).

    Raises AssertionError unless every customer is in a live lab and no founder hit the column limit.
    """
    sim = Simulation(scenario, list(seeds), record_labs=False).run()
    n_start = scenario.n_labs
    drawn = n_start * scenario.market.urn_initial_customers + sim.n_steps * scenario.market.urn_arrivals_per_step
    labs = sim.labs
    if not np.array_equal((labs.customers * labs.alive).sum(axis=1), np.full(len(seeds), drawn)):
        raise AssertionError("some customers are lost or held by closed labs")
    if (sim.world.n_used >= sim.capacity).any():
        raise AssertionError("Simon's entry ran out of free columns")
    return np.concatenate([labs.customers[b, n_start:sim.world.n_used[b]] for b in range(len(seeds))])


def yule_simon_fit(sizes: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood rho of the Yule-Simon law P(k) = rho B(k, rho + 1), and its standard error (observed
    Fisher information)."""
    from scipy import optimize, special

    k = np.asarray(sizes, dtype=np.float64)

    def nll(rho: float) -> float:
        return -float(np.sum(math.log(rho) + special.betaln(k, rho + 1.0)))

    rho = float(optimize.minimize_scalar(nll, bounds=(0.05, 50.0), method="bounded",
                                         options={"xatol": 1e-10}).x)
    h = 1e-4 * rho
    info = (nll(rho + h) - 2.0 * nll(rho) + nll(rho - h)) / (h * h)
    return rho, 1.0 / math.sqrt(info)


def yule_simon_gof(sizes: np.ndarray, rho: float) -> float:
    """p-value of a chi-square test of the sizes against Yule-Simon(rho), in bins 1, 2, 3, 4-7, 8-15, 16+."""
    from scipy import stats

    edges = [1, 2, 3, 4, 8, 16]
    observed = np.array([np.sum((sizes >= lo) & (sizes < hi)) for lo, hi in itertools.pairwise(edges)]
                        + [np.sum(sizes >= edges[-1])], dtype=np.float64)
    ccdf = stats.yulesimon(rho).sf(np.array(edges) - 1)  # P(K >= edge)
    expected = len(sizes) * -np.diff(np.append(ccdf, 0.0))
    return float(stats.chisquare(observed, expected).pvalue)


def _simon_sizes(quick: bool) -> tuple[int, int]:
    """(runs, arrivals per step): 12 steps each."""
    return (3, 600) if quick else (5, 2000)


def case_simon(quick: bool) -> list[Row]:
    """Simon's entry process: lab sizes follow Yule-Simon with exponent 1 / (1 - p)."""
    n_runs, arrivals = _simon_sizes(quick)
    rows = []
    for p in (0.2, 0.5):
        sizes = simon_sizes(simon_scenario(p, arrivals), range(2000, 2000 + n_runs))
        rho, se = yule_simon_fit(sizes)
        expected = 1.0 / (1.0 - p)
        gof = yule_simon_gof(sizes, expected)
        top = np.sort(sizes)[::-1]
        rows.append(Row(
            case=f"Simon entry, p = {p:g}: Zipf-like sizes", source="Simon 1955; Ijiri & Simon 1977",
            quantity="Yule-Simon exponent 1/(1-p)",
            expected=expected, measured=rho, tolerance=3.0 * se,
            detail=f"{n_runs} runs x {12 * arrivals} customers; {len(sizes)} labs founded (largest "
                   f"{top[0]:.0f}, {top[min(9, len(top) - 1)]:.0f} at rank 10); maximum-likelihood fit of "
                   f"P(k) = rho B(k, rho + 1); tolerance = 3 standard errors ({se:.3g}); also: a chi-square test "
                   f"of the size counts (1, 2, 3, 4-7, 8-15, 16+) against the law at 1/(1-p) gives p = {gof:.3f} "
                   f"> 0.001",
            also=gof > 1e-3,
        ))
    return rows


# ---------------------------------------------------------------------------------------------- HHI


def hhi_merger_delta(shares: np.ndarray, i: int, j: int) -> tuple[float, float, float]:
    """(HHI before, HHI after, change) when labs i and j merge, each HHI from ``metrics.concentration``."""
    shares = np.asarray(shares, dtype=np.float64)
    alive = shares > 0.0
    before = concentration(shares, alive)[0]
    merged = shares.copy()
    merged[i] += merged[j]
    merged[j] = 0.0
    after = concentration(merged, merged > 0.0)[0]
    return before, after, after - before


MERGER_SHARES = (0.30, 0.22, 0.15, 0.10, 0.08, 0.05)
"""Customer shares of six labs, the rest (0.10) the outside option: the HHI is taken over inside shares."""


def case_hhi(quick: bool) -> list[Row]:
    """The HHI arithmetic of a merger through the engine's metric: Delta HHI = 2 s_i s_j x 10^4 (inside shares)."""
    share = np.asarray(MERGER_SHARES)
    i, j = 1, 2
    inside = share / share.sum()
    before, after, delta = hhi_merger_delta(share, i, j)
    expected = 2.0 * inside[i] * inside[j] * 1e4
    presumed = after > 1800.0 and delta > 100.0
    return [Row(
        case="HHI merger arithmetic", source="2023 US Merger Guidelines",
        quantity="Delta HHI (#2 + #3)",
        expected=float(expected), measured=float(delta), tolerance=1e-9, relative=True,
        detail=f"shares {', '.join(f'{x:g}' for x in MERGER_SHARES)} and an outside option of "
               f"{1 - share.sum():.2g}; inside shares {inside[i]:.4f} and {inside[j]:.4f}: HHI {before:.0f} -> "
               f"{after:.0f}; also: the 2023 presumption (post-merger HHI > 1800 and rise > 100) holds ({presumed})",
        also=presumed,
    )]


# ---------------------------------------------------------------------------------------------- accounting


MONEY_SOURCES: tuple[str, ...] = ("M_CASH_ENTRY", "M_CASH_SUBSIDY")
"""Record columns of documented money sources beyond revenue and funding (used where the layout has them)."""
MONEY_SINKS: tuple[str, ...] = ("M_CASH_ACQUISITIONS", "M_CASH_INCIDENTS")
"""Record columns of documented money sinks beyond opex, compute, wages and exits (where the layout has them)."""


def _columns(names: Sequence[str]) -> list[int]:
    return [getattr(L, name) for name in names if hasattr(L, name)]


def budget_residuals(sim: Simulation) -> dict[str, float]:
    """Largest relative residual, over every step and run, of the money, compute and people budgets.

    From the market record: the change in total cash equals revenue (1 - opex) + funding + state budgets + cash
    brought by entrants + research subsidies (policy) - compute spending - wages - cash removed at exit -
    acquisition prices - incident costs; compute' = (compute + bought) e^(-depreciation dt) - compute removed at
    exit; researchers + talent pool change only by the recorded talent growth.  Each
    residual is divided by the sum of the magnitudes of its terms.
    """
    m = sim.market[: sim.steps_done + 1]
    before, rec = m[:-1], m[1:]
    dt = sim.par[:, L.P_SIM_DT][None, :]
    depr = sim.par[:, L.P_COMPUTE_DEPRECIATION_PER_YEAR][None, :]
    sources = [L.M_CASH_REVENUE, L.M_CASH_FUNDING, L.M_CASH_STATE_BUDGET, *_columns(MONEY_SOURCES)]
    sinks = [L.M_CASH_OPEX, L.M_CASH_COMPUTE_SPEND, L.M_CASH_WAGES, L.M_CASH_REMOVED_AT_EXIT, *_columns(MONEY_SINKS)]
    money_terms = [rec[..., c] for c in sources + sinks]
    inflow = sum(rec[..., c] for c in sources)
    outflow = sum(rec[..., c] for c in sinks)
    money_scale = (
        sum(np.abs(t) for t in money_terms) + np.abs(before[..., L.M_TOTAL_CASH]) + np.abs(rec[..., L.M_TOTAL_CASH])
    )
    money = np.abs(rec[..., L.M_TOTAL_CASH] - before[..., L.M_TOTAL_CASH] - (inflow - outflow)) / np.maximum(
        money_scale, 1e-300
    )
    kept = (before[..., L.M_TOTAL_COMPUTE] + rec[..., L.M_COMPUTE_BOUGHT]) * np.exp(-depr * dt)
    compute_scale = (
        before[..., L.M_TOTAL_COMPUTE] + rec[..., L.M_COMPUTE_BOUGHT] + rec[..., L.M_COMPUTE_REMOVED_AT_EXIT]
    )
    compute = np.abs(rec[..., L.M_TOTAL_COMPUTE] - (kept - rec[..., L.M_COMPUTE_REMOVED_AT_EXIT])) / np.maximum(
        compute_scale, 1e-300
    )
    people_before = before[..., L.M_TOTAL_RESEARCHERS] + before[..., L.M_TALENT_POOL]
    people_after = rec[..., L.M_TOTAL_RESEARCHERS] + rec[..., L.M_TALENT_POOL]
    people = np.abs(people_after - people_before - rec[..., L.M_PEOPLE_GROWTH]) / np.maximum(
        people_before + people_after, 1e-300)
    return {"money": float(money.max()), "compute": float(compute.max()), "people": float(people.max())}


def conservation_scenarios() -> dict[str, Scenario]:
    """The baseline, and the baseline with ruinous wages and no funding (labs exit: the exit sinks are used)."""
    base = baseline_scenario()
    stressed = Scenario.model_validate(_merge(base.model_dump(mode="python"), {
        "name": "exits", "money": {"wage_usd_per_year": 5e7, "funding_to_demand": 0.0,
                                   "state_budget_usd_per_year": 0.0}}))
    return {"baseline": base, "exits": stressed}


def case_conservation(quick: bool) -> list[Row]:
    """Money, compute and people are conserved except at the recorded sources and sinks, every step."""
    worst = {"money": 0.0, "compute": 0.0, "people": 0.0}
    exits = 0
    steps = 0
    for sc in conservation_scenarios().values():
        sim = Simulation(sc, [0, 1, 2], record_labs=False).run()
        for name, value in budget_residuals(sim).items():
            worst[name] = max(worst[name], value)
        exits += int(sim.market[1:, :, L.M_N_EXITS].sum())
        steps += sim.steps_done * 3
    what = {"money": "cash: revenue - opex + funding (+ entrants' cash) - compute - wages - exits (- acquisitions "
                     "- incidents)",
            "compute": "FLOP/year: bought, depreciated, removed at exit",
            "people": "researchers + talent pool: talent growth only"}
    return [Row(
        case=f"conservation of {name}", source="docs/model.md stage 10 (budgets)",
        quantity="largest relative residual", expected=0.0, measured=worst[name], tolerance=1e-9, one_sided=True,
        detail=f"{what[name]}; baseline and an exit-heavy variant, 3 seeds each, {steps} run-steps, {exits} exits",
    ) for name in ("money", "compute", "people")]


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def case_determinism(quick: bool) -> list[Row]:
    """Same seed, same scenario: bit-identical results, alone or in a batch, with 1 or 2 numba threads."""
    sc = baseline_scenario()
    previous = numba.get_num_threads()
    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    try:
        numba.set_num_threads(1)
        alone = Simulation(sc, [7], record_labs=False).run()
        again = Simulation(sc, [7], record_labs=False).run()
        numba.set_num_threads(threads)
        batch = Simulation(sc, [5, 7, 9], record_labs=False).run()
    finally:
        numba.set_num_threads(previous)
    reference = _bits(alone.market[:, 0])
    differ_repeat = int(np.count_nonzero(_bits(again.market[:, 0]) != reference))
    differ_batch = int(np.count_nonzero(_bits(batch.market[:, 1]) != reference))
    state = sum(int(np.count_nonzero(_bits(getattr(alone.labs, f)[0]) != _bits(getattr(batch.labs, f)[1])))
                for f in ("cash_usd", "compute_flop_per_year", "log_software", "log_eff_compute", "share"))
    return [
        Row(case="determinism: same seed twice", source="docs/model.md numerics and determinism",
            quantity="values differing", expected=0.0, measured=float(differ_repeat), tolerance=0.0,
            detail=f"baseline, seed 7, 1 thread; {reference.size} market values compared bit for bit"),
        Row(case="determinism: batch and threads", source="docs/model.md numerics and determinism",
            quantity="values differing", expected=0.0, measured=float(differ_batch + state), tolerance=0.0,
            detail=f"seed 7 alone on 1 thread vs in a batch of 3 on {threads} threads; market record and final "
                   "lab state compared bit for bit"),
    ]


# ---------------------------------------------------------------------------------------------- the table

CASES: dict[str, Callable[[bool], list[Row]]] = {
    "growth": case_growth_paths,
    "blow-up": case_blow_up,
    "doubling": case_doubling_rule,
    "urn": case_urn,
    "simon": case_simon,
    "hhi": case_hhi,
    "conservation": case_conservation,
    "determinism": case_determinism,
}
"""Every case by its short name (``multipolar validate --case NAME``), in table order."""


@dataclass
class ValidationReport:
    rows: list[Row] = field(default_factory=list)
    quick: bool = False
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    def as_dict(self) -> dict[str, Any]:
        return {"quick": self.quick, "passed": self.passed, "seconds": self.seconds,
                "rows": [row.as_dict() for row in self.rows]}


def run_cases(quick: bool = False, names: Sequence[str] | None = None,
              progress: Callable[[str], None] | None = None) -> ValidationReport:
    """Run the named cases (default: all) in table order; a case that raises becomes a failing row."""
    unknown = [n for n in (names or ()) if n not in CASES]
    if unknown:
        raise KeyError(f"unknown validation case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    t0 = time.perf_counter()
    report = ValidationReport(quick=quick)
    for name in [n for n in CASES if names is None or n in names]:  # table order
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        try:
            rows = CASES[name](quick)
        except Exception as err:  # a crash is a failure of the case, reported in its row
            rows = [Row(case=name, source="-", quantity="case ran", expected=0.0, measured=math.nan, tolerance=0.0,
                        detail=f"{type(err).__name__}: {err}")]
        spent = time.perf_counter() - start
        report.rows += [Row(**{**asdict(row), "seconds": spent / len(rows)}) for row in rows]
    report.seconds = time.perf_counter() - t0
    return report


HEADER = ("case", "source", "expected", "measured", "tolerance", "result")


def validation_table(rows: Sequence[Row]) -> str:
    """The table as GitHub markdown (the block between the markers of docs/validation.md)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="print the markdown table of docs/validation.md")
    parser.add_argument("--write", type=Path, metavar="FILE",
                        help="replace the validation-table block of FILE (docs/validation.md) with the full table")
    args = parser.parse_args(argv)
    report = run_cases(quick=args.quick and not args.write)
    if args.write:
        args.write.write_text(replace_block(args.write.read_text(encoding="utf-8"), "validation-table",
                                            validation_table(report.rows)), encoding="utf-8")
    elif args.markdown:
        print(validation_table(report.rows))
    else:
        for row in report.rows:
            print(" | ".join(row.cells()), "|", row.detail)
    return 0 if report.passed else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
