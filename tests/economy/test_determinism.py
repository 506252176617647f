"""Same seed, same scenario: bit-identical results, whatever the thread count or batch (docs/model.md,
"Numerics and determinism").

* the same seed gives identical market and lab frames; different seeds give different ones;
* ``NUMBA_NUM_THREADS=1`` and ``=2`` give bitwise-equal arrays (two subprocesses, the saved bytes compared);
* a run computed inside a batch of three equals the same run computed alone (batch invariance).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, deep_merge, load_baseline_dict

from economy.engine import Simulation
from economy.kernels import layout as L
from economy.params import Scenario, pack_parameters
from economy.state import LabState, WorldState

VARIANTS = {
    "baseline": {},
    "generated": {"labs": {"n": 30, "list": []}},
    "urn": {"market": {"mode": "urn", "urn_exponent": 1.5, "urn_arrivals_per_step": 20}},
    "network": {"network": {"kind": "erdos_renyi", "mean_degree": 4.0}},
    "agents_busy": {"adaptation": {"imitation_rate_per_year": 5.0, "search_rate_per_year": 5.0},
                    "entry": {"rate_per_year": 10.0}, "incidents": {"hazard_per_drift": 1.0},
                    "acquisitions": {"rate_per_year": 10.0, "max_target_share": 0.05}},
    "compliance": {"enforcement": {"evasion": True, "audit_budget_usd_per_year": 2e9},
                   "policies": [{"kind": "compute_cap", "start_year": 2025.0, "max_training_flop": 3e26},
                                {"kind": "export_controls", "start_year": 2025.0, "restricted_blocs": [1]},
                                {"kind": "windfall_tax", "start_year": 2025.0, "rate": 0.5,
                                 "threshold_usd_per_year": 1e8}]},
}


def scenario(variant: str):
    data = deep_merge(load_baseline_dict(), {"sim": {"years": 3.0}})
    data = deep_merge(data, VARIANTS[variant])
    return Scenario.model_validate(data)


def test_same_seed_same_frames():
    sc = scenario("baseline")
    a = Simulation(sc, [42]).run()
    b = Simulation(sc, [42]).run()
    pd.testing.assert_frame_equal(a.market_frame(0), b.market_frame(0), check_exact=True)
    pd.testing.assert_frame_equal(a.labs_frame(0), b.labs_frame(0), check_exact=True)
    assert a.summary(0) == b.summary(0)


def test_different_seeds_differ():
    sc = scenario("baseline")
    a = Simulation(sc, [42]).run()
    b = Simulation(sc, [43]).run()
    assert not a.market_frame(0).equals(b.market_frame(0))
    assert not np.array_equal(a.labs.log_software, b.labs.log_software)
    # the seeds change the research shocks, not the scenario: the same labs at the same start
    np.testing.assert_array_equal(a.lab_records[0][1]["cash_usd"], b.lab_records[0][1]["cash_usd"])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_batch_invariance(variant):
    sc = scenario(variant)
    seeds = [7, 8, 9]
    batch = Simulation(sc, seeds).run()
    for b, seed in enumerate(seeds):
        alone = Simulation(sc, [seed]).run()
        np.testing.assert_array_equal(batch.market[:, b, :], alone.market[:, 0, :], err_msg=f"run {b}")
        pd.testing.assert_frame_equal(batch.labs_frame(b), alone.labs_frame(0), check_exact=True)
        for name in LabState._fields:
            if name == "scratch":
                continue
            np.testing.assert_array_equal(getattr(batch.labs, name)[b], getattr(alone.labs, name)[0],
                                          err_msg=f"labs.{name}, run {b}")
        for name in WorldState._fields:
            np.testing.assert_array_equal(getattr(batch.world, name)[b], getattr(alone.world, name)[0],
                                          err_msg=f"world.{name}, run {b}")
        assert batch.summary(b) == alone.summary(0)


def test_batch_invariance_with_parameters_differing_by_run():
    """Uncertain parameters: each run of a batch has its own packed parameter row."""
    sc = scenario("network")
    rows = np.tile(pack_parameters(sc), (3, 1))
    beta = rows[:, L.P_RESEARCH_PARALLELISM] / np.array([0.5, 1.2, 3.0])  # returns to research r = 0.5, 1.2, 3
    rows[:, L.P_RESEARCH_PARALLELISM_OVER_RETURNS_TO_RESEARCH] = beta
    rows[:, L.P_MARKET_WINNER_TAKE_ALL] = [0.0, 10.0, 200.0]
    rows[:, L.P_COMPUTE_DEPRECIATION_PER_YEAR] = [0.0, 0.25, 5.0]
    seeds = [11, 12, 13]
    batch = Simulation(sc, seeds, parameter_rows=rows).run()
    assert len(set(batch.market[-1, :, L.M_HHI])) == 3  # the runs really differ
    for b, seed in enumerate(seeds):
        alone = Simulation(sc, [seed], parameter_rows=rows[b: b + 1]).run()
        np.testing.assert_array_equal(batch.market[:, b, :], alone.market[:, 0, :], err_msg=f"run {b}")
        np.testing.assert_array_equal(batch.par[b], alone.par[0])
        assert alone.par[0, L.P_RESEARCH_PARALLELISM_OVER_RETURNS_TO_RESEARCH] == beta[b]


THREAD_SCRIPT = textwrap.dedent("""
    import sys, tomllib
    import numba
    import numpy as np
    from economy.engine import Simulation
    from economy.params import Scenario

    expected_threads, out = int(sys.argv[1]), sys.argv[2]
    assert numba.get_num_threads() == expected_threads, numba.get_num_threads()
    with open(sys.argv[3], "rb") as handle:
        data = tomllib.load(handle)
    data["sim"]["years"] = 5.0
    data["network"] = {"kind": "erdos_renyi", "mean_degree": 4.0}  # the parallel stage-5 kernels too
    generated = dict(data, labs={"n": 200}, network={"kind": "watts_strogatz"})
    policies = [{"kind": "compute_cap", "start_year": 2025.0, "max_training_flop": 3e26},
                {"kind": "export_controls", "start_year": 2025.0, "restricted_blocs": [1]}]
    compliance = dict(data, enforcement={"evasion": True, "audit_budget_usd_per_year": 2e9}, policies=policies)
    # more than SUM_BLOCK labs: the runs' sums in blocks on the threads (economy.kernels.blocks), the prefetching
    # gathers and the draws on threads
    large = dict(data, labs={"n": 3 * 4096 + 77}, sim=dict(data["sim"], years=1.0))
    arrays = {}
    for tag, scenario, seeds in (("baseline", data, [1, 2, 3, 4]), ("generated", generated, [5, 6]),
                                 ("compliance", compliance, [7, 8]), ("large", large, [9])):
        sim = Simulation(Scenario.model_validate(scenario), seeds).run()
        arrays[tag + "_market"] = sim.market
        arrays.update({tag + "_labs_" + name: getattr(sim.labs, name) for name in sim.labs._fields
                       if name != "scratch"})
        arrays.update({tag + "_world_" + name: getattr(sim.world, name) for name in sim.world._fields})
    np.savez(out, **arrays)
""")


def _run_with_threads(threads: int, out, baseline_path) -> dict[str, bytes]:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    subprocess.run([sys.executable, "-c", THREAD_SCRIPT, str(threads), str(out), str(baseline_path)], check=True,
                   env=env, cwd=ROOT, timeout=600)
    with np.load(out) as saved:
        return {name: saved[name].tobytes() for name in saved.files}


@pytest.mark.slow
def test_thread_count_does_not_change_results(tmp_path):
    baseline_path = ROOT / "runs" / "baseline.toml"
    one = _run_with_threads(1, tmp_path / "one.npz", baseline_path)
    two = _run_with_threads(2, tmp_path / "two.npz", baseline_path)
    assert one.keys() == two.keys()
    different = [name for name in one if one[name] != two[name]]
    assert not different, f"arrays differ between 1 and 2 threads: {different}"
    assert len(one["baseline_market"]) > 0 and len(one["generated_market"]) > 0 and len(one["large_market"]) > 0
