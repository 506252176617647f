"""The step's random numbers drawn in compiled code (economy/kernels/draws.py) are the numbers the plain-Python loop
draws (``Simulation._draw_in_python``, the kernel's twin), from the same Generators, which both leave in the same
state; and a run in a batch large enough to draw in compiled code equals the run alone, which draws in Python
(docs/model.md, "Numerics and determinism")."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import deep_merge, load_baseline_dict

from economy.engine import COMPILED_DRAWS_FROM, DRAWN_STREAMS, Simulation
from economy.kernels import layout as L
from economy.params import Scenario, pack_parameters

RUNS = COMPILED_DRAWS_FROM
VARIANTS = {
    "baseline": {},
    "urn": {"market": {"mode": "urn", "urn_exponent": 1.5, "urn_arrivals_per_step": 20,
                       "urn_entry_probability": 0.1}},
    "agents_busy": {"adaptation": {"imitation_rate_per_year": 5.0, "search_rate_per_year": 5.0},
                    "entry": {"rate_per_year": 10.0}, "incidents": {"hazard_per_drift": 1.0},
                    "acquisitions": {"rate_per_year": 10.0, "max_target_share": 0.05}},
    "compliance": {"enforcement": {"evasion": True, "audit_budget_usd_per_year": 2e9},
                   "policies": [{"kind": "compute_cap", "start_year": 2025.0, "max_training_flop": 3e26}]},
}


def _scenario(variant: str, years: float = 1.0) -> Scenario:
    return Scenario.model_validate(deep_merge(deep_merge(load_baseline_dict(), {"sim": {"years": years}}),
                                              VARIANTS[variant]))


def _mixed_rows(sc: Scenario) -> np.ndarray:
    """Parameter rows whose runs switch the drawn mechanisms on and off in different patterns."""
    rows = np.tile(pack_parameters(sc), (RUNS, 1))
    rng = np.random.default_rng(5)
    for column in (L.P_ADAPTATION_IMITATION_RATE_PER_YEAR, L.P_ADAPTATION_SEARCH_RATE_PER_YEAR,
                   L.P_ENTRY_RATE_PER_YEAR, L.P_ACQUISITIONS_RATE_PER_YEAR, L.P_INCIDENTS_HAZARD_PER_DRIFT):
        rows[rng.random(RUNS) < 0.5, column] = 0.0
    return rows


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_compiled_draws_are_the_python_loops(variant: str) -> None:
    sc = _scenario(variant)
    rows = _mixed_rows(sc)
    seeds = list(range(100, 100 + RUNS))
    compiled, twin = Simulation(sc, seeds, rows), Simulation(sc, seeds, rows)
    for _ in range(3):
        compiled._draw()
        twin._draw_in_python()
        for name in compiled.draws._fields:
            np.testing.assert_array_equal(getattr(compiled.draws, name), getattr(twin.draws, name), err_msg=name)
        np.testing.assert_array_equal(compiled._shocks, twin._shocks)
        np.testing.assert_array_equal(compiled._urn, twin._urn)
    assert compiled._compiled_draws is not None and twin._compiled_draws is None  # each drew its own way
    for a, b in zip(compiled.streams, twin.streams, strict=True):  # the Generators left in the same state
        for name in DRAWN_STREAMS:
            assert a[name].bit_generator.state == b[name].bit_generator.state, name
    if variant == "urn":
        assert compiled._urn_draws.min() > 0 and np.count_nonzero(compiled._urn) > 0
    if variant == "compliance":
        assert (compiled.draws.compliance < 1.0).any()


@pytest.mark.parametrize("variant", ["agents_busy", "urn", "compliance"])
def test_a_run_in_a_compiled_draws_batch_equals_the_run_alone(variant: str) -> None:
    sc = _scenario(variant, years=0.5)
    rows = _mixed_rows(sc)
    seeds = list(range(7, 7 + RUNS))
    batch = Simulation(sc, seeds, rows, record_labs=False).run()
    assert batch._compiled_draws is not None
    for b in (0, RUNS // 2, RUNS - 1):
        alone = Simulation(sc, [seeds[b]], rows[b: b + 1], record_labs=False).run()
        assert alone._compiled_draws is None
        np.testing.assert_array_equal(batch.market[:, b, :], alone.market[:, 0, :], err_msg=f"run {b}")
        for name in ("log_software", "cash_usd", "alive", "customers"):
            np.testing.assert_array_equal(getattr(batch.labs, name)[b], getattr(alone.labs, name)[0], err_msg=name)


UNIFORM_DRAWS = ("imitate", "search", "entry", "acquire", "incident", "compliance")
NORMAL_DRAWS = ("search_step", "entry_size")


def _drawn_numbers(steps: int = 40) -> dict[str, np.ndarray]:
    """Every stream's numbers over ``steps`` compiled draws of a batch with every drawn mechanism on, by draw array,
    shape (steps, runs, numbers per run)."""
    sc = Scenario.model_validate(deep_merge(deep_merge(deep_merge(load_baseline_dict(), VARIANTS["urn"]),
                                                       VARIANTS["agents_busy"]), VARIANTS["compliance"]))
    sim = Simulation(sc, list(range(300, 300 + 2 * RUNS)), record_labs=False)
    assert all(switch.all() for switch in sim._switches()) and sim._urn_draws.min() == sim._urn.shape[1]
    out: dict[str, list[np.ndarray]] = {}
    for _ in range(steps):
        sim._draw()
        for name in (*UNIFORM_DRAWS, *NORMAL_DRAWS):
            out.setdefault(name, []).append(getattr(sim.draws, name).reshape(2 * RUNS, -1).copy())
        out.setdefault("shocks", []).append(sim._shocks.copy())
        out.setdefault("urn", []).append(sim._urn.copy())
    assert sim._compiled_draws is not None
    return {name: np.stack(parts) for name, parts in out.items()}


def test_every_stream_has_the_moments_and_distribution_it_should() -> None:
    """Moments within 5 standard errors and a Kolmogorov-Smirnov test per draw array (fixed seeds, so the outcome
    is fixed too; a wrong distribution, scale or a stream reused across arrays fails); runs and steps uncorrelated."""
    from scipy import stats

    drawn = _drawn_numbers()
    for name in ("shocks", "urn", *UNIFORM_DRAWS, *NORMAL_DRAWS):
        x = drawn[name].ravel()
        n = x.size
        assert n >= 1_000, (name, n)
        if name in ("shocks", *NORMAL_DRAWS):
            assert abs(x.mean()) < 5 / np.sqrt(n), name
            assert abs(x.var() - 1.0) < 5 * np.sqrt(2 / n), name
            assert abs(stats.skew(x)) < 5 * np.sqrt(6 / n), name
            assert abs(stats.kurtosis(x)) < 5 * np.sqrt(24 / n), name
            assert stats.kstest(x, "norm").pvalue > 1e-3, name
        else:
            assert x.min() >= 0.0 and x.max() < 1.0, name
            assert abs(x.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n), name
            assert abs(x.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n), name
            assert stats.kstest(x, "uniform").pvalue > 1e-3, name
        per_run = drawn[name].transpose(1, 0, 2).reshape(2 * RUNS, -1)  # (runs, steps x numbers)
        # no two runs share numbers, and consecutive steps of a run are uncorrelated
        assert np.unique(per_run, axis=0).shape[0] == 2 * RUNS, name
        correlation = np.corrcoef(per_run)[np.triu_indices(2 * RUNS, 1)]
        assert np.abs(correlation).max() < 6 / np.sqrt(per_run.shape[1]), name
        steps = drawn[name].reshape(drawn[name].shape[0], -1)
        lag = np.corrcoef(steps[:-1].ravel(), steps[1:].ravel())[0, 1]
        assert abs(lag) < 5 / np.sqrt(steps[1:].size), name


@pytest.mark.parametrize("variant", ["agents_busy", "urn", "compliance"])
def test_a_large_step_draws_compiled_on_any_number_of_threads(monkeypatch: pytest.MonkeyPatch, variant: str) -> None:
    """A batch stepped from Python draws in compiled code once its step draws DRAWS_COMPILED_FROM numbers (a run of
    some 10,000 labs or more), each stream whole on one of numba's threads: the numbers, the Generators' states
    after and the runs themselves are those of the Python loop, on one thread or two."""
    import numba

    from economy import engine

    sc = _scenario(variant, years=0.25)
    seeds = [11, 12, 13]
    twin = Simulation(sc, seeds)
    assert engine.DRAWS_COMPILED_FROM > twin._draw_capacity  # small: drawn in Python by default
    monkeypatch.setattr(engine, "DRAWS_COMPILED_FROM", 0)
    most = min(2, numba.config.NUMBA_NUM_THREADS)
    compiled = {threads: Simulation(sc, seeds) for threads in sorted({1, most})}
    previous = numba.get_num_threads()
    try:
        for _ in range(3):
            twin._draw_in_python()
            for threads, sim in compiled.items():
                numba.set_num_threads(threads)
                sim._draw()
                for name in twin.draws._fields:
                    np.testing.assert_array_equal(getattr(sim.draws, name), getattr(twin.draws, name), err_msg=name)
                np.testing.assert_array_equal(sim._shocks, twin._shocks)
                np.testing.assert_array_equal(sim._urn, twin._urn)
        for sim in compiled.values():
            assert sim._compiled_draws is not None
            for a, b in zip(sim.streams, twin.streams, strict=True):
                for name in DRAWN_STREAMS:
                    assert a[name].bit_generator.state == b[name].bit_generator.state, name
        numba.set_num_threads(most)
        compiled[most].run()
    finally:
        numba.set_num_threads(previous)
    monkeypatch.setattr(engine, "DRAWS_COMPILED_FROM", 1 << 62)
    twin.run()
    assert twin._compiled_draws is None
    np.testing.assert_array_equal(compiled[most].market, twin.market)
