"""Parameter uncertainty: the [uncertain] schema, Latin hypercube draws, run scenarios (experiments/uncertain.py)."""

from __future__ import annotations

import math
import tomllib
import typing
from pathlib import Path

import numpy as np
import pytest
from conftest import scenario_dict
from pydantic import BaseModel

from economy.engine import Simulation
from economy.params import (
    Choice,
    LogNormal,
    LogUniform,
    Normal,
    Scenario,
    ScenarioError,
    Triangular,
    Uniform,
    load_scenario,
    pack_parameters,
    packing_of,
    uncertain_parameter_range,
    validate_scenario,
)
from runs.experiments import (
    RunScenarios,
    UncertainPlan,
    design_generator,
    key_route,
    latin_hypercube,
    ppf,
)

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"


def _baseline_with(uncertain: dict) -> dict:
    data = tomllib.loads(BASELINE.read_text())
    data["uncertain"] = uncertain
    return data


def _error(uncertain: dict) -> str:
    with pytest.raises(ScenarioError) as info:
        validate_scenario(_baseline_with(uncertain))
    return str(info.value)


# ---------------------------------------------------------------------------------------------- schema
def test_uncertain_table_accepts_dotted_and_nested_keys() -> None:
    sc = Scenario.model_validate(_baseline_with({
        "research": {"returns_to_research": {"dist": "loguniform", "low": 0.4, "high": 3.6}},
        "market.winner_take_all": {"dist": "triangular", "low": 5.0, "mode": 10.0, "high": 20.0},
        "labs.list.3.cash_usd": {"dist": "normal", "mean": 8e9, "sd": 1e9, "low": 1e9},
        "archetypes.startup.openness": {"dist": "choice", "values": [0.1, 0.3, 0.9], "weights": [1, 1, 2]},
    }))
    assert list(sc.uncertain) == ["research.returns_to_research", "market.winner_take_all", "labs.list.3.cash_usd",
                                  "archetypes.startup.openness"]
    assert isinstance(sc.uncertain["research.returns_to_research"], LogUniform)
    assert isinstance(sc.uncertain["archetypes.startup.openness"], Choice)
    assert "uncertain" in Scenario.model_json_schema()["properties"]


def test_uncertain_defaults_to_empty_and_does_not_change_the_packed_row(baseline: Scenario) -> None:
    data = tomllib.loads(BASELINE.read_text())
    del data["uncertain"]  # the baseline has a table (gamma); without it the scenario has none
    plain = Scenario.model_validate(data)
    assert plain.uncertain == {} and baseline.uncertain != {}
    sc = Scenario.model_validate(_baseline_with(
        {"research.parallelism": {"dist": "uniform", "low": 0.2, "high": 0.8}}))
    assert np.array_equal(pack_parameters(sc), pack_parameters(plain))
    assert np.array_equal(pack_parameters(baseline), pack_parameters(plain))


@pytest.mark.parametrize(("uncertain", "needles"), [
    pytest.param({"labs.n": {"dist": "uniform", "low": 2, "high": 5}}, ["labs.n", "population"], id="labs.n"),
    pytest.param({"labs.list": {"dist": "uniform", "low": 2, "high": 5}}, ["labs.list", "population"],
                 id="labs.list"),
    pytest.param({"sim.years": {"dist": "uniform", "low": 2, "high": 5}}, ["sim.years", "time axis"], id="sim"),
    pytest.param({"output.labs_every": {"dist": "choice", "values": [1, 2]}}, ["output.labs_every"], id="output"),
    pytest.param({"research.nonsense": {"dist": "uniform", "low": 2, "high": 5}},
                 ["research.nonsense", "unknown key", "returns_to_research"], id="unknown"),
    pytest.param({"market.urn_arrivals_per_step": {"dist": "choice", "values": [5, 10]}},
                 ["market.urn_arrivals_per_step", "integer"], id="integer"),
    pytest.param({"market.mode": {"dist": "choice", "values": [0, 1]}}, ["market.mode", "not a numeric"],
                 id="literal"),
    pytest.param({"research.returns_to_research": {"dist": "uniform", "low": 0.01, "high": 2}},
                 ["research.returns_to_research", "[0.01, 2]", "[0.05, 10]"], id="below-range"),
    pytest.param({"research.max_automation": {"dist": "triangular", "low": 0.5, "mode": 0.9, "high": 1.2}},
                 ["research.max_automation", "[0, 1]"], id="above-range"),
    pytest.param({"research.returns_to_research": {"dist": "normal", "mean": 1.2, "sd": 0.3}},
                 ["research.returns_to_research", "truncate"], id="unbounded-normal"),
    pytest.param({"compute.price_usd_per_flop_per_year": {"dist": "uniform", "low": 0.0, "high": 1e-17}},
                 ["compute.price_usd_per_flop_per_year", "(0, inf)"], id="open-bound"),
    pytest.param({"research.parallelism": {"dist": "choice", "values": [0.5, 2.0]}},
                 ["research.parallelism", "choice value 2"], id="choice-outside"),
    pytest.param({"labs.list.12.cash_usd": {"dist": "uniform", "low": 1e9, "high": 2e9}},
                 ["labs.list.12.cash_usd", "no index 12"], id="list-index"),
    pytest.param({"labs.mix.startup": {"dist": "uniform", "low": 0.1, "high": 0.5}},
                 ["labs.mix.startup", "labs.n"], id="mix-unused"),
    pytest.param({"research.parallelism": {"dist": "uniform", "low": 0.6, "high": 0.4}},
                 ["low < high"], id="reversed"),
    pytest.param({"research.parallelism": {"dist": "gamma", "low": 0.6}}, ["research.parallelism", "gamma"],
                 id="unknown-distribution"),
    pytest.param({"research.parallelism": {"dist": "normal", "mean": 0.5, "sd": 0.01, "low": 0.9, "high": 1.0}},
                 ["almost none"], id="empty-truncation"),
    pytest.param({"research": {"parallelism": {"dist": "uniform", "low": 0.2, "high": 0.4}},
                  "research.parallelism": {"dist": "uniform", "low": 0.2, "high": 0.4}}, ["given twice"], id="twice"),
])
def test_bad_uncertain_keys_are_refused_with_a_message(uncertain: dict, needles: list[str]) -> None:
    message = _error(uncertain)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_range_of_open_bound_parameter() -> None:
    sc = Scenario.model_validate(_baseline_with({}))
    assert uncertain_parameter_range(sc, "compute.price_usd_per_flop_per_year") == (0.0, None, True, False)
    assert uncertain_parameter_range(sc, "research.returns_to_research") == (0.05, 10.0, False, False)
    # a log-normal without a lower truncation never reaches 0, so it fits an open lower bound
    Scenario.model_validate(_baseline_with(
        {"compute.price_usd_per_flop_per_year": {"dist": "lognormal", "median": 3e-18, "sigma": 0.5}}))


# ---------------------------------------------------------------------------------------------- the design
def test_latin_hypercube_has_one_point_per_stratum_and_is_reproducible() -> None:
    n, d = 997, 4
    u = latin_hypercube(n, d, design_generator(11))
    assert u.shape == (n, d)
    assert ((u >= 0.0) & (u < 1.0)).all()
    for j in range(d):
        assert np.array_equal(np.sort(np.floor(u[:, j] * n).astype(int)), np.arange(n))
    assert np.array_equal(u, latin_hypercube(n, d, design_generator(11)))
    assert not np.array_equal(u, latin_hypercube(n, d, design_generator(12)))
    # the columns are not copies of one another
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.15


def test_design_does_not_share_a_stream_with_any_run() -> None:
    design = design_generator(5).random(8)
    for run in range(4):
        run_root = np.random.SeedSequence(5, spawn_key=(run,))
        assert not np.array_equal(np.random.Generator(np.random.PCG64(run_root)).random(8), design)


DISTRIBUTIONS = [
    Uniform(dist="uniform", low=0.2, high=0.8),
    LogUniform(dist="loguniform", low=0.4, high=3.6),
    Normal(dist="normal", mean=1.0, sd=0.5, low=0.3, high=2.0),
    Normal(dist="normal", mean=0.0, sd=1.0, low=4.0, high=6.0),  # far upper tail: computed by symmetry
    LogNormal(dist="lognormal", median=1.2, sigma=0.6, low=0.1, high=10.0),
    LogNormal(dist="lognormal", median=1e-17, sigma=1.0),
    Triangular(dist="triangular", low=5.0, mode=10.0, high=20.0),
    Triangular(dist="triangular", low=0.0, mode=0.0, high=1.0),
]


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.dist)
def test_ppf_stays_in_the_support_at_the_edges(dist) -> None:
    u = np.array([0.0, 1e-300, 1e-12, 0.5, 1.0 - 1e-12, np.nextafter(1.0, 0.0)])
    x = ppf(dist, u)
    lo, hi, _, _ = dist.support()
    assert np.isfinite(x).all()
    assert ((x >= lo) & (x <= hi)).all()
    assert (np.diff(x) >= 0.0).all(), "an inverse CDF is non-decreasing"


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.dist)
def test_ppf_matches_scipy(dist) -> None:
    stats = pytest.importorskip("scipy.stats")
    u = np.linspace(0.001, 0.999, 101)
    assert np.allclose(ppf(dist, u), _scipy_dist(stats, dist).ppf(u), rtol=1e-9, atol=1e-12)


def _scipy_dist(stats, dist):
    if isinstance(dist, Uniform):
        return stats.uniform(dist.low, dist.high - dist.low)
    if isinstance(dist, LogUniform):
        return stats.loguniform(dist.low, dist.high)
    if isinstance(dist, Normal):
        return stats.truncnorm((dist.low - dist.mean) / dist.sd, (dist.high - dist.mean) / dist.sd,
                               loc=dist.mean, scale=dist.sd)
    if isinstance(dist, LogNormal):
        return _TruncatedLogNormal(stats, dist)
    if isinstance(dist, Triangular):
        return stats.triang((dist.mode - dist.low) / (dist.high - dist.low), loc=dist.low, scale=dist.high - dist.low)
    raise TypeError(dist)


class _TruncatedLogNormal:
    """exp of a truncated normal (scipy has no truncated log-normal)."""

    def __init__(self, stats, dist) -> None:
        mu = math.log(dist.median)
        a = -np.inf if dist.low is None else (math.log(dist.low) - mu) / dist.sigma
        b = np.inf if dist.high is None else (math.log(dist.high) - mu) / dist.sigma
        self.inner = stats.truncnorm(a, b, loc=mu, scale=dist.sigma)

    def ppf(self, u):
        return np.exp(self.inner.ppf(u))

    def cdf(self, x):
        return self.inner.cdf(np.log(x))


@pytest.mark.slow
@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.dist)
def test_latin_hypercube_marginals_follow_their_distributions(dist) -> None:
    """Kolmogorov-Smirnov test of each column of a design against its distribution (fixed seeds)."""
    stats = pytest.importorskip("scipy.stats")
    plan = UncertainPlan(("research.parallelism", "research.shock_sd"), (dist, Uniform(dist="uniform", low=0, high=1)))
    draws = plan.design(2000, seed=2024)
    result = stats.kstest(draws[:, 0], _scipy_dist(stats, dist).cdf)
    assert result.pvalue > 0.01, result
    # the second column is uniform and independent of the first
    assert stats.kstest(draws[:, 1], "uniform").pvalue > 0.01
    assert abs(stats.spearmanr(draws[:, 0], draws[:, 1]).statistic) < 0.08


def test_choice_frequencies_are_stratified() -> None:
    dist = Choice(dist="choice", values=(0.1, 0.5, 0.9), weights=(1.0, 2.0, 5.0))
    n = 1000
    draws = ppf(dist, latin_hypercube(n, 1, design_generator(3))[:, 0])
    counts = np.array([np.count_nonzero(draws == v) for v in dist.values])
    assert counts.sum() == n
    expected = n * np.array(dist.weights) / sum(dist.weights)
    assert (np.abs(counts - expected) < 2.0).all(), (counts, expected)
    equal = ppf(Choice(dist="choice", values=(1.0, 2.0)), np.array([0.0, 0.49, 0.5, 0.99]))
    assert equal.tolist() == [1.0, 1.0, 2.0, 2.0]


# ---------------------------------------------------------------------------------------------- run scenarios
def test_parameter_row_equals_pack_parameters_of_the_overridden_scenario(tmp_path: Path) -> None:
    sc = Scenario.model_validate(_baseline_with({
        "research.returns_to_research": {"dist": "loguniform", "low": 0.4, "high": 3.6},
        "market.winner_take_all": {"dist": "triangular", "low": 5.0, "mode": 10.0, "high": 20.0},
        "capability.alpha": {"dist": "normal", "mean": 0.05, "sd": 0.01, "low": 0.02, "high": 0.08},
        "labs.list.3.cash_usd": {"dist": "lognormal", "median": 8e9, "sigma": 0.5},
        "archetypes.frontier.train_fraction": {"dist": "uniform", "low": 0.3, "high": 0.5},
    }))
    plan = UncertainPlan.from_scenario(sc)
    builder = RunScenarios(sc, plan.keys)
    draws = plan.design(5, seed=9)
    for values in draws:
        sets = [f"{key}={float(value)!r}" for key, value in zip(plan.keys, values, strict=True)]
        direct, _ = load_scenario(BASELINE, sets)
        assert np.array_equal(builder.parameter_row(values), pack_parameters(direct))
        run_sc = builder.scenario(values)
        assert run_sc.research.returns_to_research == values[0]
        assert run_sc.labs.list[3].cash_usd == values[3]
        assert run_sc.archetypes.frontier.train_fraction == values[4]
        assert run_sc.uncertain == {}
    # the base scenario is left untouched
    assert sc.labs.list[3].cash_usd == 8e9
    assert builder.base["labs"]["list"][3]["cash_usd"] == 8e9


def test_run_scenario_with_an_invalid_combination_raises() -> None:
    sc = Scenario.model_validate(_baseline_with(
        {"capability.par_human_log10_flop": {"dist": "uniform", "low": 30.0, "high": 38.0}}))
    builder = RunScenarios(sc, ("capability.par_human_log10_flop",))
    builder.scenario([33.0])
    with pytest.raises(ScenarioError, match="superhuman_log10_flop"):
        builder.scenario([37.0])


# ---------------------------------------------------------------------------------------------- routes
def _float_keys() -> dict[str, str]:
    """Every real-valued parameter of a section that may be uncertain -> its declared route."""
    keys = {}
    for section, field in Scenario.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or section in ("sim", "output", "labs"):
            continue
        for name, info in model.model_fields.items():
            base = info.annotation
            if typing.get_origin(base) is not None:
                args = [a for a in typing.get_args(base) if a is not type(None)]
                base = args[0] if len(args) == 1 else base
            if base is float:
                keys[f"{section}.{name}"] = packing_of(info).route
    return keys


ROW_KEYS = sorted(key for key, route in _float_keys().items() if route == "row")
INIT_KEYS = sorted(key for key, route in _float_keys().items()
                   if route != "row" and key.split(".")[0] not in ("archetypes", "network"))
"""Keys read when the starting state is built, each of which changes a run of the small scenario."""


def _candidates(sc: Scenario, key: str) -> list[float]:
    """Valid changed values of ``key``, small changes first, then larger ones."""
    section, name = key.split(".")
    default = getattr(getattr(sc, section), name)
    lo, hi, lo_open, hi_open = uncertain_parameter_range(sc, key)
    raw = [] if default is None else [default * 1.1, default * 0.9, default * 3.0, default / 3.0, default * 100.0,
                                      default / 100.0]
    if lo is not None and hi is not None:
        raw += [lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo)]
    raw.append((lo or 0.0) + 0.1)
    out = []
    for value in raw:
        inside = (lo is None or value > lo or (value == lo and not lo_open)) and (
            hi is None or value < hi or (value == hi and not hi_open))
        if inside and value != default and value not in out:
            out.append(value)
    return out


def _state_equal(a: Simulation, b: Simulation) -> bool:
    if not np.array_equal(a.market, b.market, equal_nan=True):
        return False
    for state_a, state_b in ((a.labs, b.labs), (a.world, b.world)):
        if not all(np.array_equal(getattr(state_a, f), getattr(state_b, f), equal_nan=True) for f in state_a._fields):
            return False
    return True


def _route_case(key: str) -> tuple[Simulation, Simulation, bool]:
    """Runs of the scenario with ``key`` changed, built in full and via the packed row; and whether it mattered.

    The change is the first candidate that alters the run (so the comparison is not vacuous), if any.
    """
    base_dict = scenario_dict(sim={"years": 1.0}, market={"mode": "urn"} if "urn" in key else {},
                              network={"kind": "complete"} if key.startswith("network.") else {})
    base = Scenario.model_validate(base_dict)
    seeds = [np.random.SeedSequence(4, spawn_key=(i,)) for i in range(2)]
    unchanged = Simulation(base, seeds, record_labs=False).run()
    section, name = key.split(".")
    result = None
    for value in _candidates(base, key):
        try:
            changed = Scenario.model_validate({**base_dict, section: {**base_dict.get(section, {}), name: value}})
        except ValueError:
            continue  # a cross-field check refuses this value
        full = Simulation(changed, seeds, record_labs=False).run()
        rows = np.tile(pack_parameters(changed), (len(seeds), 1))
        via_rows = Simulation(base, seeds, parameter_rows=rows, record_labs=False).run()
        result = (full, via_rows, not _state_equal(full, unchanged))
        if result[2]:
            break
    assert result is not None, f"no valid change of {key}"
    return result


def test_row_keys_cover_the_sections() -> None:
    assert len(ROW_KEYS) > 30
    assert all(key_route(key) == "row" for key in ROW_KEYS)
    assert key_route("labs.list.0.cash_usd") == key_route("archetypes.frontier.openness") == "init"
    assert key_route("network.mean_degree") == "init"
    assert key_route("network.publication_rate_per_year") == key_route("policies.0.rate") == "row"
    assert INIT_KEYS == ["compute.price_usd_per_flop_per_year", "market.demand_usd_per_year",
                         "market.urn_initial_customers", "money.talent_pool", "research.software_doubling_months"]


@pytest.mark.parametrize("key", ROW_KEYS)
def test_row_key_acts_only_through_the_parameter_row(key: str) -> None:
    """A run of the changed scenario equals a run of the base scenario given the changed packed row."""
    full, via_rows, _ = _route_case(key)
    assert _state_equal(full, via_rows), f"{key} is also read outside the packed row: route it 'init'"


@pytest.mark.parametrize("key", INIT_KEYS)
def test_init_key_is_read_outside_the_parameter_row(key: str) -> None:
    """The 'init' keys are needed: the packed row alone does not reproduce the changed scenario."""
    full, via_rows, mattered = _route_case(key)
    assert mattered
    assert not _state_equal(full, via_rows), f"{key} acts only through the packed row: it may be a 'row' key"
