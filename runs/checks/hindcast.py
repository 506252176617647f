"""Bayesian calibration of a scenario's ``[uncertain]`` keys against the observations in runs/data/ (issue 17).

The procedure (docs/calibration.md):

1. :func:`load_observations` reads the versioned CSV files (runs/data/README.md) and :func:`build_targets` turns
   the rows the model can be compared with into :class:`ObservedTarget` s: a model statistic, the observed value in the
   statistic's space (ln for positive quantities, linear for counts and shares), the scale that divides the
   difference (the published interval's standard deviation where one is published, a documented default where
   not: :data:`DEFAULT_SCALES`), and whether the row is in the fit window (dated up to :data:`FIT_END`) or held
   out.  Held-out rows are never seen by the fit.
2. :func:`simulate_path` runs the scenario once with one seed and :func:`statistics_of` reads every target's
   statistic from the path (:data:`STATISTICS` says how each is defined in the model).
3. :func:`calibrate_hindcast` runs pyabc's ABC-SMC (:func:`abc_fit`) over the unit cube of the ``[uncertain]``
   keys (each coordinate mapped to its parameter by the prior's inverse CDF,
   :func:`runs.experiments.uncertain.ppf`, so every distribution of the ``[uncertain]`` table is a prior; with
   ``[[uncertain.correlations]]`` the cube is first mapped through their Gaussian copula,
   :meth:`runs.experiments.UncertainPlan.copula`, because pyabc's ``Distribution`` holds independent
   variables only: the prior on the parameters is then the correlated one, exactly), with
   the distance :func:`scaled_distance` over the in-sample targets: the root mean square of
   (model - observed) / scale.  Sampling runs in this process or on Dask (pyabc's
   ``DaskDistributedSampler`` on the execution's cluster or scheduler).
4. The posterior predictive: ``predictive`` draws resampled from the weighted posterior (with the seed) are
   simulated over the scenario's horizon, every target is read (in-sample and held-out), and the held-out
   coverage is the share of held-out targets inside the 90 % predictive interval.  The same draws, run to
   ``forecast_years``, give P(unipolar) at the horizon with its Wilson interval, and again with
   ``market.winner_take_all`` set to each of :data:`ROBUSTNESS_GAMMAS` and with the spillover network off: the
   headline's robustness.

pyabc draws its proposals from NumPy's global generator; :func:`abc_fit` seeds it from ``seed`` (the one place the
project uses global random state, because the library requires it) and each simulation takes its own seed
from a hash of its parameter values and ``seed``.  In this process the result is reproducible; on Dask the order
in which workers return particles is not, so the posterior is reproducible only in distribution.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from economy.engine import Simulation
from economy.kernels import layout as L
from economy.params import Scenario, ScenarioError
from runs.experiments.execution import Execution, numba_threads
from runs.experiments.outputs import MANIFEST_FORMAT
from runs.experiments.result import ExperimentInputError
from runs.experiments.stats import wilson_interval
from runs.experiments.uncertain import RunScenarios, UncertainPlan, ppf

__all__ = [
    "DEFAULT_SCALES",
    "ENTITY_LABS",
    "FIT_END",
    "ROBUSTNESS_GAMMAS",
    "STATISTICS",
    "CalibrationInputError",
    "CalibrationResult",
    "ForecastTask",
    "HindcastModel",
    "ObservedTarget",
    "RunPath",
    "ScaledDistance",
    "abc_fit",
    "build_targets",
    "calibrate_hindcast",
    "forecast",
    "load_observations",
    "run_seed",
    "scaled_distance",
    "simulate_path",
    "statistics_of",
    "variant_data",
    "weighted_quantile",
]

FIT_END = date(2024, 12, 31)
"""Observations dated up to this day are fitted; every later one is held out (runs/data/README.md)."""

OBSERVATION_COLUMNS = ("series", "date", "window_start", "value", "unit", "low", "high", "interval", "entity",
                       "method", "source", "dataset", "locator", "note")

Z_OF_INTERVAL = {"80%CI": 1.2815515655446004, "90%CI": 1.6448536269514722, "95%CI": 1.959963984540054}
"""Half-width of a central interval in standard deviations of a normal (a ``range`` is read as a 90 % interval)."""

ENTITY_LABS = {"OpenAI": "Frontier A", "Anthropic": "Safety B", "Google": "Frontier C", "Meta (Llama)": "Open D"}
"""The observations' companies and the generic labs of runs/hindcast_2023.toml they are compared with (the mapping
documented in that file and in docs/calibration.md); rows of other entities are not per-lab targets."""

STATISTICS = {
    "largest_training_run_flop": ("largest_run_flop", "log",
                                  "max over the calendar year's steps and alive labs of train_fraction x compute x "
                                  "training.run_years x training efficiency (FLOP)"),
    "developers_above_1e25_flop": ("developers_1e25", "linear",
                                   "labs whose largest run in the calendar year (as above) is at least 1e25 FLOP"),
    "largest_training_run_cost": ("largest_run_cost", "log",
                                  "max over the year of that run's hardware FLOP x compute price x depreciation "
                                  "(USD; the price is nominal, the observation constant 2023 USD)"),
    "training_compute_growth_frontier": ("compute_growth", "log",
                                         "x/year of the least-squares trend of ln(largest run FLOP) over the fit "
                                         "window's steps"),
    "training_cost_growth": ("cost_growth", "log", "x/year of the trend of ln(largest run cost), same window"),
    "algorithmic_progress_halving_time": ("software_doubling_months", "log",
                                          "months per doubling of S (max ln S over labs), trend over the fit window"),
    "algorithmic_progress_rate": ("software_growth", "log",
                                  "x/year of S (max ln S over labs) from the observation's date minus one year"),
    "lab_annualized_revenue": ("lab_revenue", "log", "the mapped lab's revenue_usd_per_year at the date"),
    "llm_enterprise_api_share": ("lab_share", "linear", "the mapped lab's market share at the date"),
}
"""Observed series -> (model statistic, space, definition).  Series not named here (hardware price-performance,
which the model takes as an input; per-model counts, as the model has labs, not models; calendar-year revenue;
cumulative counts) are not targets."""

DEFAULT_SCALES = {
    "largest_run_flop": 1.0,  # ln: Epoch's per-model compute estimates carry confidence labels, no interval;
    # 'Likely' means within a factor of about 3 (ln 3 = 1.1)
    "largest_run_cost": 1.0,  # ln: the same, for Epoch's per-model cost estimates
    "lab_revenue": 0.25,  # ln: reports of one lab's run rate in one month differ by about 25 % ($1.6B vs $2B)
    "lab_share": 0.05,  # absolute: survey shares are rounded to whole percents; survey noise a few points
    "software_growth": 0.5,  # ln: Epoch's 3x/year statement has no interval
    "developers_1e25": 1.0,  # counts: at least 1, else sqrt(count) (Poisson), see _scale
}
"""Scales where the source publishes no interval (the statistic's space: ln units or absolute)."""

ROBUSTNESS_GAMMAS = (6.0, 10.0, 14.0)
"""``market.winner_take_all`` values at which the posterior forecast's P(unipolar) is recomputed."""


class CalibrationInputError(ExperimentInputError):
    """Bad observations, scenario or options: the message names the file, key or value.  CLI exit code 2."""


# ---------------------------------------------------------------------------------------------- observations
def load_observations(data_dir: str | Path) -> pd.DataFrame:
    """Every ``*_v<N>.csv`` under ``data_dir`` as one frame with a ``file`` column and a ``date_year`` (decimal)."""
    folder = Path(data_dir)
    if not folder.is_dir():
        raise CalibrationInputError(f"--data {folder}: not a folder")
    files = sorted(folder.glob("*_v*.csv"))
    if not files:
        raise CalibrationInputError(f"--data {folder}: no observation files (*_v<N>.csv)")
    frames = []
    for path in files:
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError, pd.errors.ParserError) as err:
            raise CalibrationInputError(f"{path}: cannot be read as CSV ({err})") from None
        if tuple(frame.columns) != OBSERVATION_COLUMNS:
            raise CalibrationInputError(f"{path}: columns {list(frame.columns)}, expected {list(OBSERVATION_COLUMNS)}")
        for row, value in enumerate(frame["value"], start=2):
            try:
                number = float(value)
            except ValueError:
                raise CalibrationInputError(f"{path}, line {row}: value {value!r} is not a number") from None
            if not math.isfinite(number):
                raise CalibrationInputError(f"{path}, line {row}: value {value!r} is not finite")
        for row, text in enumerate(frame["date"], start=2):
            try:
                date.fromisoformat(text)
            except ValueError:
                raise CalibrationInputError(f"{path}, line {row}: date {text!r} is not YYYY-MM-DD") from None
        frame.insert(0, "file", path.name)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["value"] = out["value"].astype(float)
    out["date_year"] = [_decimal_year(date.fromisoformat(d)) for d in out["date"]]
    return out


def _decimal_year(day: date) -> float:
    start = date(day.year, 1, 1)
    length = (date(day.year + 1, 1, 1) - start).days
    return day.year + (day - start).days / length


@dataclass(frozen=True)
class ObservedTarget:
    """One observation the model is compared with, in the statistic's space (ln or linear)."""

    series: str
    statistic: str
    date: str
    year: float
    entity: str
    lab: str
    observed: float
    scale: float
    in_sample: bool
    log: bool
    source_file: str

    @property
    def natural(self) -> float:
        """The observed value in its unit."""
        return math.exp(self.observed) if self.log else self.observed


def _scale(row: pd.Series, statistic: str, log: bool) -> float:
    low, high, kind = row["low"], row["high"], row["interval"]
    if low and high:
        z = Z_OF_INTERVAL.get(kind, Z_OF_INTERVAL["90%CI"])
        lo, hi = float(low), float(high)
        return (math.log(hi) - math.log(lo)) / (2 * z) if log else (hi - lo) / (2 * z)
    if statistic == "developers_1e25":
        return max(1.0, math.sqrt(float(row["value"])))
    return DEFAULT_SCALES[statistic]


def build_targets(observations: pd.DataFrame, scenario: Scenario) -> list[ObservedTarget]:
    """The rows the model can be compared with, one target each, inside the scenario's window.

    A row is a target when its series is in :data:`STATISTICS`, its date lies in the simulated window (a growth
    trend or a halving time also when its fit window ends after the start: the model's own trend over the fit
    window is compared with it), and, for per-lab series, its entity is mapped to a lab of the scenario by
    :data:`ENTITY_LABS`.  Duplicate rows (same series, date, window and entity, e.g. a second interval) keep the
    first.  In-sample: dated up to :data:`FIT_END`.
    """
    start = scenario.sim.start_year
    end = start + scenario.sim.years
    lab_names = {spec.name for spec in scenario.labs.list}
    out: list[ObservedTarget] = []
    seen: set[tuple[str, str, str, str]] = set()
    for _, row in observations.iterrows():
        series = row["series"]
        if series not in STATISTICS:
            continue
        statistic, space, _ = STATISTICS[series]
        key = (series, row["date"], row["window_start"], row["entity"])
        if key in seen:
            continue
        year = float(row["date_year"])
        if not start < year <= end:
            continue
        if series == "training_compute_growth_frontier" and row["window_start"] < "2018":
            continue  # the pre-2018 trends describe another era than the simulated one
        lab = ""
        if statistic in ("lab_revenue", "lab_share"):
            lab = ENTITY_LABS.get(row["entity"], "")
            if lab not in lab_names:
                continue
        value = float(row["value"])
        log = space == "log"
        if log and value <= 0.0:
            continue
        seen.add(key)
        out.append(ObservedTarget(
            series=series, statistic=statistic, date=row["date"], year=year, entity=row["entity"], lab=lab,
            observed=math.log(value) if log else value, scale=_scale(row, statistic, log),
            in_sample=date.fromisoformat(row["date"]) <= FIT_END, log=log, source_file=row["file"],
        ))
    if not any(t.in_sample for t in out):
        raise CalibrationInputError(f"no observation dated {start:g}-{FIT_END.isoformat()} can be compared with "
                                    f"scenario {scenario.name!r}")
    return out


# ---------------------------------------------------------------------------------------------- the model side
@dataclass
class RunPath:
    """The per-step series of one run that the statistics read."""

    year: np.ndarray  # (steps + 1,)
    run_hw_flop: np.ndarray  # (steps + 1, labs): train_fraction x compute x run_years, 0 if not alive
    efficiency: np.ndarray  # (steps + 1,)
    price: np.ndarray  # (steps + 1,)
    log_software: np.ndarray  # (steps + 1,): max over alive labs
    revenue: np.ndarray  # (steps + 1, labs)
    share: np.ndarray  # (steps + 1, labs)
    names: list[str] = field(default_factory=list)
    unipolar: bool = False


def simulate_path(scenario: Scenario, seed: int) -> RunPath:
    """Run ``scenario`` with one seed and keep the series :func:`statistics_of` reads.

    On one numba thread: a one-run batch is far too small for threads, which on a busy machine made a run a hundred
    times slower (docs/ensembles.md).
    """
    with numba_threads(1):
        return _simulate_path(scenario, seed)


def _simulate_path(scenario: Scenario, seed: int) -> RunPath:
    sim = Simulation(scenario, [seed], record_labs=False)
    n = sim.n_steps
    cap = sim.labs.alive.shape[1]
    run_hw = np.zeros((n + 1, cap))
    revenue = np.zeros((n + 1, cap))
    share = np.zeros((n + 1, cap))
    log_s = np.empty(n + 1)
    run_years = scenario.training.run_years
    for k in range(n + 1):
        labs = sim.labs
        alive = labs.alive[0]
        run_hw[k] = np.where(alive, labs.train_fraction[0] * labs.compute_flop_per_year[0] * run_years, 0.0)
        revenue[k] = np.where(alive, labs.revenue_usd_per_year[0], 0.0)
        share[k] = np.where(alive, labs.share[0], 0.0)
        log_s[k] = np.where(alive, labs.log_software[0], -np.inf).max()
        if k < n:
            sim.step()
    market = sim.market[: n + 1, 0]
    year = market[:, L.M_YEAR].copy()
    growth = math.log(scenario.compute.training_efficiency_growth_per_year)
    names = list(sim.names[0]) + [""] * (cap - len(sim.names[0]))
    return RunPath(year=year, run_hw_flop=run_hw, efficiency=np.exp(growth * (year - scenario.sim.start_year)),
                 price=market[:, L.M_COMPUTE_PRICE].copy(), log_software=log_s, revenue=revenue, share=share,
                 names=names, unipolar=bool(sim.summary(0)["unipolar"]))


def _trend(t: np.ndarray, y: np.ndarray) -> float:
    tc = t - t.mean()
    return float(np.dot(tc, y - y.mean()) / np.dot(tc, tc))


def statistics_of(path: RunPath, targets: Sequence[ObservedTarget], scenario: Scenario) -> np.ndarray:
    """Every target's statistic on one simulated path, in the target's space (:data:`STATISTICS`)."""
    year = path.year
    flop = path.run_hw_flop * path.efficiency[:, None]
    largest = flop.max(axis=1)
    cost = scenario.compute.depreciation_per_year * path.price * path.run_hw_flop.max(axis=1)
    start = scenario.sim.start_year
    fit = (year >= start) & (year <= _decimal_year(FIT_END) + 1e-9)
    out = np.empty(len(targets))
    tiny = 1e-300
    for j, t in enumerate(targets):
        step = int(np.argmin(np.abs(year - t.year)))
        in_year = (year > math.floor(t.year - 1e-9)) & (year <= t.year + 1e-9)
        if t.statistic == "largest_run_flop":
            value = math.log(max(largest[in_year].max(), tiny))
        elif t.statistic == "developers_1e25":
            value = float(np.count_nonzero(flop[in_year].max(axis=0) >= 1e25))
        elif t.statistic == "largest_run_cost":
            value = math.log(max(cost[in_year].max(), tiny))
        elif t.statistic == "compute_growth":  # ln(x/year) is the slope of the log trend itself
            value = _trend(year[fit], np.log(np.maximum(largest[fit], tiny)))
        elif t.statistic == "cost_growth":
            value = _trend(year[fit], np.log(np.maximum(cost[fit], tiny)))
        elif t.statistic == "software_doubling_months":
            slope = _trend(year[fit], path.log_software[fit])
            value = math.log(12.0 * math.log(2.0) / slope) if slope > 0.0 else math.inf
        elif t.statistic == "software_growth":
            window = (year >= t.year - 1.0) & (year <= t.year + 1e-9)
            value = _trend(year[window], path.log_software[window])
        else:
            i = path.names.index(t.lab) if t.lab in path.names else -1
            column = path.revenue if t.statistic == "lab_revenue" else path.share
            level = float(column[step, i]) if i >= 0 else 0.0
            value = math.log(max(level, 1.0)) if t.statistic == "lab_revenue" else level
        out[j] = value
    return out


# ---------------------------------------------------------------------------------------------- distance
class ScaledDistance:
    """Root mean square of (model - observed) / scale over the in-sample targets; inf if a statistic is not finite."""

    def __init__(self, scales: np.ndarray) -> None:
        self.scales = np.asarray(scales, dtype=np.float64)

    def __call__(self, x: dict[str, np.ndarray], x0: dict[str, np.ndarray]) -> float:
        return scaled_distance(x["s"], x0["s"], self.scales)


def scaled_distance(model: np.ndarray, observed: np.ndarray, scales: np.ndarray) -> float:
    """sqrt(mean(((model - observed) / scale)^2)); inf when a model statistic is not finite."""
    z = (np.asarray(model) - np.asarray(observed)) / scales
    if not np.all(np.isfinite(z)):
        return math.inf
    return float(math.sqrt(np.mean(z * z)))


def run_seed(seed: int, values: np.ndarray) -> int:
    """The simulation seed of one parameter vector: a hash of ``seed`` and the values (so reruns agree)."""
    digest = hashlib.blake2b(np.asarray(values, dtype=np.float64).tobytes(), digest_size=7,
                             key=int(seed).to_bytes(8, "little")).digest()
    return int.from_bytes(digest, "little")


class HindcastModel:
    """pyabc's model: a point of the unit cube -> the scenario with those parameter values -> the statistics."""

    def __init__(self, scenario: Scenario, targets: Sequence[ObservedTarget], seed: int) -> None:
        self.plan = UncertainPlan.from_scenario(scenario)
        self.runs = RunScenarios(scenario, self.plan.keys)
        self.targets = list(targets)
        self.seed = seed

    def values(self, u: np.ndarray) -> np.ndarray:
        """Parameter values of the unit-cube point ``u``: through the Gaussian copula of the prior's rank
        correlations (:meth:`UncertainPlan.copula`; the identity without them), then each coordinate through its
        prior's inverse CDF."""
        return np.array([float(ppf(dist, np.array([min(max(x, 1e-12), 1.0 - 1e-12)]))[0])
                         for dist, x in zip(self.plan.distributions, self.plan.copula(np.asarray(u)), strict=True)])

    def __call__(self, par: dict[str, float]) -> dict[str, np.ndarray]:
        u = np.array([par[f"u{j}"] for j in range(len(self.plan.keys))])
        values = self.values(u)
        try:
            scenario = self.runs.scenario(values)
        except ScenarioError:
            return {"s": np.full(len(self.targets), np.nan)}
        path = simulate_path(scenario, run_seed(self.seed, values))
        return {"s": statistics_of(path, self.targets, scenario)}


# ---------------------------------------------------------------------------------------------- forecasts
@dataclass(frozen=True)
class ForecastTask:
    """One posterior draw simulated to the forecast horizon, under one variant (posterior, a gamma, no network)."""

    draw: int
    variant: str
    data: dict[str, Any]
    seed: int
    targets: tuple[ObservedTarget, ...]


def forecast(task: ForecastTask) -> dict[str, Any]:
    """Run a :class:`ForecastTask`: the statistics of every target and the horizon's unipolar flag."""
    from economy.params import validate_scenario

    scenario = validate_scenario(task.data, source=f"posterior draw {task.draw} ({task.variant})")
    path = simulate_path(scenario, task.seed)
    return {"draw": task.draw, "variant": task.variant, "unipolar": path.unipolar,
            "statistics": statistics_of(path, task.targets, scenario) if task.targets else np.empty(0)}


def variant_data(runs: RunScenarios, values: np.ndarray, variant: str, years: float) -> dict[str, Any]:
    """The scenario dict of one draw under ``variant`` ("posterior", "gamma=G" or "network=none")."""
    data = runs.data(values)
    data["sim"] = {**data["sim"], "years": years}
    if variant.startswith("gamma="):
        data["market"] = {**data["market"], "winner_take_all": float(variant.split("=", 1)[1])}
    elif variant == "network=none":
        data["network"] = {**data["network"], "kind": "none"}
    return data


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample (the weighted empirical CDF, interpolated at the midpoints)."""
    order = np.argsort(values)
    v, w = np.asarray(values, dtype=np.float64)[order], np.asarray(weights, dtype=np.float64)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cdf, v)


# ---------------------------------------------------------------------------------------------- the procedure
@dataclass
class CalibrationResult:
    """What :func:`calibrate_hindcast` computed (also written to the output folder)."""

    posterior: pd.DataFrame  # one column per parameter key, plus "weight"
    predictive: pd.DataFrame  # one row per draw and target
    coverage: pd.DataFrame  # one row per target: observed, predictive 5/50/95 %, inside
    robustness: pd.DataFrame  # one row per variant: P(unipolar) at the horizon, Wilson 95 %
    summary: dict[str, Any]
    files: list[str] = field(default_factory=list)


def calibrate_hindcast(scenario: Scenario, observations: pd.DataFrame, *, out_dir: Path, seed: int = 0,
              populations: int = 4, population_size: int = 100, predictive: int = 100,
              forecast_years: float | None = None, execution: Execution | None = None,
              progress: Callable[[int, int, str], None] | None = None,
              command: Sequence[str] = ("multipolar", "calibrate")) -> CalibrationResult:
    """ABC-SMC of ``scenario``'s ``[uncertain]`` keys against the in-sample targets; the posterior predictive, the
    held-out coverage and the forecast's P(unipolar) with its robustness (module docs).

    ``forecast_years``: the horizon of the forecast runs (default: to 2045, the baseline's end, from the start).
    """
    from distributed import Client

    if not scenario.uncertain:
        raise CalibrationInputError(f"scenario {scenario.name!r} has no [uncertain] table: nothing to calibrate")
    for name, value in (("--populations", populations), ("--population-size", population_size),
                        ("predictive draws", predictive)):
        if value < 1:
            raise CalibrationInputError(f"{name} {value}: need a positive integer")
    execution = execution or Execution(workers=1)
    execution.check()
    targets = build_targets(observations, scenario)
    fit = [t for t in targets if t.in_sample]
    model = HindcastModel(scenario, fit, seed)
    keys = model.plan.keys
    horizon = forecast_years if forecast_years is not None else 2045.0 - scenario.sim.start_year
    horizon = max(horizon, scenario.sim.years)
    report = progress or (lambda done, total, label: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".abc-", dir=out_dir) as tmp, execution.shared() as shared:
        client = None if shared.in_process else Client(shared.scheduler, set_as_default=False)
        try:
            if client is not None:
                client.run(_warm_up, scenario)
            u, weights, populations_table, n_simulations = abc_fit(
                model, fit, seed=seed, populations=populations, population_size=population_size,
                database=Path(tmp) / "abc.db", client=client, progress=report)
            fit_seconds = time.perf_counter() - t0
            values = np.array([model.values(row) for row in u])
            posterior = pd.DataFrame(values, columns=list(keys))
            posterior["weight"] = weights / weights.sum()
            # the posterior predictive and the forecast, through the execution layer
            rng = np.random.default_rng(seed)
            picks = rng.choice(len(posterior), size=predictive, p=posterior["weight"].to_numpy())
            variants = ["posterior", *(f"gamma={g:g}" for g in ROBUSTNESS_GAMMAS), "network=none"]
            tasks = [ForecastTask(draw=d, variant=v, data=variant_data(model.runs, values[i], v, horizon),
                                  seed=run_seed(seed + 1, values[i]) + d,
                                  targets=tuple(targets) if v == "posterior" else ())
                     for d, i in enumerate(picks) for v in variants]
            results: list[dict[str, Any]] = []

            def collect(result: dict[str, Any]) -> None:
                results.append(result)
                report(populations, populations + 1, f"forecasts {len(results)}/{len(tasks)}")

            shared.map(forecast, tasks, collect, n_tasks=len(tasks), warm_up=lambda: _warm_up(scenario))
        finally:
            if client is not None:
                client.close(timeout=30)
    seconds = time.perf_counter() - t0
    return _write(scenario, observations, targets, posterior, picks, results, variants, populations_table,
                  n_simulations, fit_seconds, seconds, out_dir, seed=seed, populations=populations,
                  population_size=population_size, horizon=horizon, mode=("in-process" if client is None
                                                                          else f"dask {shared.scheduler}"),
                  command=command)


def abc_fit(model: HindcastModel, fit: Sequence[ObservedTarget], *, seed: int, populations: int, population_size: int,
            database: Path, client: Any = None, progress: Callable[[int, int, str], None] | None = None,
            ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, int]:
    """pyabc's ABC-SMC of ``model`` against the targets ``fit``: the last population's unit-cube points, their
    normalised weights, pyabc's table of populations (epsilon, samples) and the number of simulations.

    The prior is uniform on the unit cube (the model maps a point through the priors' Gaussian copula, if they are
    correlated, and each coordinate through its parameter's prior: :meth:`HindcastModel.values`);
    the distance is :class:`ScaledDistance`; the epsilon schedule is pyabc's default (the median of the previous
    population's distances); the sampler runs in this process, or on ``client``'s Dask cluster.
    """
    import pyabc

    n = len(model.plan.keys)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - pyabc samples from NumPy's global generator (module docs)
    prior = pyabc.Distribution(**{f"u{j}": pyabc.RV("uniform", 0.0, 1.0) for j in range(n)})
    distance = ScaledDistance(np.array([t.scale for t in fit]))
    observed = {"s": np.array([t.observed for t in fit])}
    sampler = (pyabc.sampler.SingleCoreSampler() if client is None
               else pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=4))
    logging.getLogger("ABC").setLevel(logging.WARNING)  # pyabc's per-population lines; summary.json has them
    abc = pyabc.ABCSMC(model, prior, distance, population_size=population_size, sampler=sampler)
    abc.new(f"sqlite:///{database}", observed)
    if progress is not None:
        progress(0, populations + 1, f"ABC-SMC, {populations} populations of {population_size}")
    history = abc.run(max_nr_populations=populations)
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    u = frame[[f"u{j}" for j in range(n)]].to_numpy()
    return u, weights / weights.sum(), history.get_all_populations(), int(history.total_nr_simulations)


def _finite_or_none(value: Any) -> Any:
    """``value`` with every non-finite float (pyabc's first epsilon is inf) replaced by None, for standard JSON."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _warm_up(scenario: Scenario) -> None:
    Simulation(scenario, [0], record_labs=False).step()


def _write(scenario: Scenario, observations: pd.DataFrame, targets: Sequence[ObservedTarget], posterior: pd.DataFrame,
           picks: np.ndarray, results: list[dict[str, Any]], variants: Sequence[str],
           populations_table: pd.DataFrame, n_simulations: int, fit_seconds: float, seconds: float, out_dir: Path,
           *, seed: int, populations: int, population_size: int, horizon: float, mode: str,
           command: Sequence[str]) -> CalibrationResult:
    """The output folder: posterior.parquet, predictive.parquet, coverage.parquet, robustness.parquet, the
    figures, summary.json and manifest.json."""
    from runs.views.calibration import marginals_figure, predictive_figures

    by_variant: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for r in results:
        by_variant[r["variant"]].append(r)
    main = sorted(by_variant["posterior"], key=lambda r: r["draw"])
    rows = []
    for r in main:
        for j, t in enumerate(targets):
            value = float(r["statistics"][j])
            rows.append({"draw": r["draw"], "target": j, "series": t.series, "statistic": t.statistic,
                         "date": t.date, "year": t.year, "entity": t.entity, "lab": t.lab, "in_sample": t.in_sample,
                         "value": math.exp(value) if t.log and math.isfinite(value) else value,
                         "observed": t.natural})
    predictive_frame = pd.DataFrame(rows)
    coverage_rows = []
    for j, t in enumerate(targets):
        stats = np.array([float(r["statistics"][j]) for r in main])
        stats = stats[np.isfinite(stats)]
        lo, mid, hi = (np.quantile(stats, [0.05, 0.5, 0.95]) if stats.size else (math.nan,) * 3)
        natural = (lambda x: math.exp(x)) if t.log else (lambda x: x)
        coverage_rows.append({"series": t.series, "date": t.date, "entity": t.entity, "lab": t.lab,
                              "in_sample": t.in_sample, "observed": t.natural, "scale": t.scale,
                              "log_scale": t.log, "p05": natural(lo), "p50": natural(mid), "p95": natural(hi),
                              "inside_90": bool(stats.size and lo <= t.observed <= hi),
                              "z": (float(mid) - t.observed) / t.scale if stats.size else math.nan,
                              "file": t.source_file})
    coverage = pd.DataFrame(coverage_rows)
    robustness_rows = []
    for v in variants:
        flags = np.array([r["unipolar"] for r in by_variant[v]], dtype=bool)
        k, n = int(flags.sum()), int(flags.size)
        interval = wilson_interval(k, n)
        robustness_rows.append({"variant": v, "p_unipolar": k / n if n else math.nan, "count": k, "of": n,
                                "wilson_lo": interval[0] if interval else math.nan,
                                "wilson_hi": interval[1] if interval else math.nan})
    robustness = pd.DataFrame(robustness_rows)
    weights = posterior["weight"].to_numpy()
    marginals = {}
    plan = UncertainPlan.from_scenario(scenario)
    for key, dist in zip(plan.keys, plan.distributions, strict=True):
        q = weighted_quantile(posterior[key].to_numpy(), weights, [0.05, 0.5, 0.95])
        prior_q = ppf(dist, np.array([0.05, 0.5, 0.95]))
        marginals[key] = {"median": float(q[1]), "p05": float(q[0]), "p95": float(q[2]),
                          "prior_median": float(prior_q[1]), "prior_p05": float(prior_q[0]),
                          "prior_p95": float(prior_q[2])}
    held = coverage[~coverage["in_sample"]]
    fitted = coverage[coverage["in_sample"]]
    base = robustness.set_index("variant").loc["posterior"]
    summary = {
        "scenario": scenario.name, "seed": seed, "mode": mode,
        "data_files": sorted(set(observations["file"])), "fit_end": FIT_END.isoformat(),
        "targets": {"in_sample": len(fitted), "held_out": len(held)},
        "abc": {"populations": populations, "population_size": population_size, "simulations": n_simulations,
                "epsilons": [float(e) for e in populations_table["epsilon"]],
                "effective_sample_size": float(weights.sum() ** 2 / np.sum(weights ** 2)),
                "seconds": round(fit_seconds, 2)},
        "posterior": marginals,
        "coverage": {"held_out_inside_90": float(held["inside_90"].mean()) if len(held) else None,
                     "held_out": len(held),
                     "in_sample_inside_90": float(fitted["inside_90"].mean()) if len(fitted) else None,
                     "held_out_mean_abs_z": float(held["z"].abs().mean()) if len(held) else None},
        "forecast": {"horizon_year": scenario.sim.start_year + horizon, "draws": len(picks),
                     "p_unipolar": float(base["p_unipolar"]),
                     "wilson95": [float(base["wilson_lo"]), float(base["wilson_hi"])]},
        "robustness": robustness.to_dict(orient="records"),
        "seconds": round(seconds, 2),
    }
    posterior.to_parquet(out_dir / "posterior.parquet", index=False)
    predictive_frame.to_parquet(out_dir / "predictive.parquet", index=False)
    coverage.to_parquet(out_dir / "coverage.parquet", index=False)
    robustness.to_parquet(out_dir / "robustness.parquet", index=False)
    files = ["posterior.parquet", "predictive.parquet", "coverage.parquet", "robustness.parquet"]
    files += predictive_figures(predictive_frame, coverage, out_dir)
    files.append(marginals_figure(posterior, scenario, out_dir))
    summary = _finite_or_none(summary)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    files.append("summary.json")
    listed = sorted(files)
    manifest = {"format": MANIFEST_FORMAT, "command": list(command), "kind": "calibrate",
                "scenario": scenario.name, "seed": seed,
                "files": {name: hashlib.sha256((out_dir / name).read_bytes()).hexdigest() for name in listed},
                "data_files": summary["data_files"], "targets": [asdict(t) for t in targets]}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    files.append("manifest.json")
    return CalibrationResult(posterior=posterior, predictive=predictive_frame, coverage=coverage,
                             robustness=robustness, summary=summary, files=files)
