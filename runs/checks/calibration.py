"""Calibration check: does the baseline's 2025-2030 path match the observed trends within their uncertainty?

The procedure (docs/calibration.md): simulate the scenario (default runs/baseline.toml) for ``seeds`` seeds over
the window (default the first five years), read four series per run at every step, fit a log-linear trend to
each (ordinary least squares of ln y on time), and compare the fitted growth with the published trend and its
interval:

==================================  ==============================================================  ===========
series                              definition in the model                                         target
==================================  ==============================================================  ===========
largest training run (FLOP)         max over alive labs of train x compute x run_years x h          4-5x / year
software (algorithmic efficiency)   max over alive labs of ln S; doubling time in months            8 (5-14) mo
hardware FLOP per dollar            1 / price floor; doubling time in years                         2.46 y
largest training-run cost (USD)     its hardware FLOP (no h) x compute price x depreciation         2.4x / year
==================================  ==============================================================  ===========

h is the training efficiency (training FLOP per hardware FLOP, ``compute.training_efficiency_growth_per_year``).
The run cost is the amortised hardware cost (Cottier et al.'s definition): a run of F FLOP over T years
occupies F / T FLOP/year of capacity, bought at the price p (USD per FLOP/year) and written off at the
depreciation rate delta, so it costs p (F / T) delta T = delta p F.  Nothing here changes the model: the
script measures; proposals go to the docs.

``python -m runs.checks.calibration [--scenario FILE] [--seeds N] [--json | --markdown | --write
docs/calibration.md]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from economy.engine import Simulation
from economy.kernels import layout as L
from economy.params import Scenario, load_scenario
from runs.checks.markdown import replace_block

__all__ = [
    "BASELINE_PATH",
    "TARGETS",
    "Calibration",
    "Target",
    "baseline_scenario",
    "calibrate",
    "calibration_table",
    "fit_log_trend",
    "trend_paths",
]

BASELINE_PATH = Path(__file__).resolve().parents[1] / "baseline.toml"


def baseline_scenario() -> Scenario:
    """runs/baseline.toml, loaded like any scenario file (:func:`economy.params.load_scenario`)."""
    return load_scenario(BASELINE_PATH)[0]


@dataclass(frozen=True)
class Target:
    """An observed trend: central value and interval, in the unit the literature reports."""

    key: str
    label: str
    unit: str
    central: float
    low: float
    high: float
    source: str


TARGETS: tuple[Target, ...] = (
    Target("training_compute_growth", "largest training run, compute", "x / year", 4.5, 4.0, 5.0,
           "Epoch 2024: frontier training compute 4-5x/year (2010-2024)"),
    Target("software_doubling_months", "algorithmic efficiency, doubling time", "months", 8.0, 5.0, 14.0,
           "Ho et al. 2024: 8 months, 95% CI 5-14"),
    Target("flop_per_dollar_doubling_years", "GPU FLOP per dollar, doubling time", "years", 2.46, 2.24, 2.72,
           "Hobbhahn & Besiroglu 2022 (Epoch): 2.46 y, 95% CI 2.24-2.72"),
    Target("training_cost_growth", "largest training run, cost", "x / year", 2.4, 2.0, 2.9,
           "Cottier et al. 2024: 2.4x/year, 90% CI 2.0-2.9"),
)
"""The calibration anchors (docs/calibration.md) with their published intervals."""


def fit_log_trend(t: np.ndarray, y: np.ndarray) -> float:
    """Slope of the least-squares line through (t, ln y): the continuous growth rate per unit of t."""
    t = np.asarray(t, dtype=np.float64)
    log_y = np.log(np.asarray(y, dtype=np.float64))
    tc = t - t.mean()
    return float(np.dot(tc, log_y - log_y.mean()) / np.dot(tc, tc))


def trend_paths(scenario: Scenario, seeds: Sequence[int], years: float = 5.0) -> dict[str, np.ndarray]:
    """The four calibration series, each ``(steps + 1, runs)``, and ``year`` (steps + 1,).

    Row k is the state after k steps: the largest run a lab would start then, the software frontier, the
    hardware price floor, and the compute price paid in step k (row 0: the starting price).  Also ``demand``
    (total AI demand, USD/year) and ``price`` (the market-clearing compute price) for context.
    """
    window = scenario.model_copy(update={"sim": scenario.sim.model_copy(update={"years": years})})
    sim = Simulation(window, list(seeds), record_labs=False)
    n_steps = sim.n_steps
    n_runs = len(seeds)
    run_flop = np.empty((n_steps + 1, n_runs))
    log_software = np.empty((n_steps + 1, n_runs))
    log_floor = np.empty((n_steps + 1, n_runs))
    run_years = scenario.training.run_years
    efficiency_growth = math.log(scenario.compute.training_efficiency_growth_per_year)
    for k in range(n_steps + 1):
        labs = sim.labs
        rate = np.where(labs.alive, labs.train_fraction * labs.compute_flop_per_year, 0.0)
        run_flop[k] = rate.max(axis=1) * run_years  # hardware FLOP/year x run length
        log_software[k] = np.where(labs.alive, labs.log_software, -np.inf).max(axis=1)
        log_floor[k] = sim.world.log_price_floor
        if k < n_steps:
            sim.step()
    market = sim.market[: n_steps + 1]
    price = market[:, :, L.M_COMPUTE_PRICE]
    depreciation = scenario.compute.depreciation_per_year
    year = market[:, 0, L.M_YEAR].copy()
    # training FLOP per hardware FLOP (compute.training_efficiency_growth_per_year, docs/model.md stage 4): it
    # multiplies the run's FLOP, not its cost
    efficiency = np.exp(efficiency_growth * (year - scenario.sim.start_year))[:, None]
    return {
        "year": year,
        "largest_run_flop": run_flop * efficiency,
        "log_software": log_software,
        "flop_per_dollar": np.exp(-log_floor),
        "largest_run_cost_usd": depreciation * price * run_flop,
        "price": price.copy(),
        "demand": market[:, :, L.M_TOTAL_DEMAND].copy(),
    }


def measure(paths: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-run fitted values in the targets' units (OLS on the whole window), and the endpoint rates."""
    t = paths["year"]
    span = t[-1] - t[0]
    out: dict[str, np.ndarray] = {}
    n_runs = paths["largest_run_flop"].shape[1]
    for suffix, slope in (("", lambda y: fit_log_trend(t, y)), ("_endpoint", lambda y: math.log(y[-1] / y[0]) / span)):
        compute = np.array([slope(paths["largest_run_flop"][:, b]) for b in range(n_runs)])
        software = np.array([slope(np.exp(paths["log_software"][:, b])) for b in range(n_runs)])
        hardware = np.array([slope(paths["flop_per_dollar"][:, b]) for b in range(n_runs)])
        cost = np.array([slope(paths["largest_run_cost_usd"][:, b]) for b in range(n_runs)])
        demand = np.array([slope(paths["demand"][:, b]) for b in range(n_runs)])
        out["training_compute_growth" + suffix] = np.exp(compute)
        out["software_doubling_months" + suffix] = 12.0 * math.log(2.0) / software
        out["flop_per_dollar_doubling_years" + suffix] = math.log(2.0) / hardware
        out["training_cost_growth" + suffix] = np.exp(cost)
        out["demand_growth" + suffix] = np.exp(demand)
    return out


@dataclass(frozen=True)
class CalibrationRow:
    target: Target
    mean: float
    low: float
    high: float
    endpoint_mean: float
    within: float  # fraction of seeds inside the target interval

    @property
    def passed(self) -> bool:
        return self.target.low <= self.mean <= self.target.high

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self.target), "fitted_mean": self.mean, "fitted_min": self.low, "fitted_max": self.high,
                "endpoint_mean": self.endpoint_mean, "share_of_seeds_within": self.within, "passed": self.passed}


@dataclass(frozen=True)
class Calibration:
    scenario: str
    seeds: tuple[int, ...]
    window: tuple[float, float]
    rows: tuple[CalibrationRow, ...]
    demand_growth: float
    cost_floor_growth: float  # compute growth / hardware growth: the lowest cost growth the accounting allows

    def as_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "seeds": list(self.seeds), "window": list(self.window),
                "rows": [row.as_dict() for row in self.rows], "demand_growth": self.demand_growth,
                "cost_growth_at_the_price_floor": self.cost_floor_growth}


def calibrate(scenario: Scenario | None = None, seeds: Sequence[int] = range(20), years: float = 5.0) -> Calibration:
    """Fit the four trends over ``years`` from the start, for each seed, and compare them with :data:`TARGETS`."""
    scenario = baseline_scenario() if scenario is None else scenario
    seeds = tuple(int(s) for s in seeds)
    paths = trend_paths(scenario, seeds, years)
    values = measure(paths)
    rows = []
    for target in TARGETS:
        v = values[target.key]
        rows.append(CalibrationRow(target, float(v.mean()), float(v.min()), float(v.max()),
                                   float(values[target.key + "_endpoint"].mean()),
                                   float(np.mean((v >= target.low) & (v <= target.high)))))
    hw_growth = 2.0 ** (1.0 / values["flop_per_dollar_doubling_years"])
    floor = float(np.mean(values["training_compute_growth"] / hw_growth))
    start = float(paths["year"][0])
    return Calibration(scenario.name, seeds, (start, float(paths["year"][-1])), tuple(rows),
                       float(values["demand_growth"].mean()), floor)


def calibration_table(cal: Calibration) -> str:
    """Targets next to the fitted values (mean and range over seeds)."""
    lines = ["| trend | target | source | fitted (mean over seeds) | range over seeds | endpoint rate | "
             "seeds within | result |", "|---|---|---|---|---|---|---|---|"]
    for row in cal.rows:
        t = row.target
        lines.append(
            f"| {t.label} ({t.unit}) | {t.central:g} [{t.low:g}, {t.high:g}] | {t.source} | {row.mean:.2f} | "
            f"{row.low:.2f} - {row.high:.2f} | {row.endpoint_mean:.2f} | {row.within:.0%} | "
            f"{'within' if row.passed else 'OUTSIDE'} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=BASELINE_PATH)
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 (default 20)")
    parser.add_argument("--years", type=float, default=5.0, help="window from the start year (default 5)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--write", type=Path, metavar="FILE",
                        help="replace the calibration-table block of FILE (docs/calibration.md) with the table")
    args = parser.parse_args(argv)
    scenario, _ = load_scenario(args.scenario)
    cal = calibrate(scenario, range(args.seeds), args.years)
    if args.write:
        args.write.write_text(replace_block(args.write.read_text(encoding="utf-8"), "calibration-table",
                                            calibration_table(cal)), encoding="utf-8")
    elif args.json:
        print(json.dumps(cal.as_dict(), indent=2))
    else:
        print(calibration_table(cal))
        print(f"\nwindow {cal.window[0]:g}-{cal.window[1]:g}, {len(cal.seeds)} seeds; demand grows "
              f"{cal.demand_growth:.2f}x/year; at the hardware price floor the run cost would grow "
              f"{cal.cost_floor_growth:.2f}x/year (compute growth / FLOP-per-dollar growth)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
