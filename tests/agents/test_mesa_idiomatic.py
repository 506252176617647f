"""The idiomatic Mesa model of benchmarks/mesa_idiomatic.py is the same model as the compiled engine.

benchmarks/run.py times it against the engine; these tests show that both compute the same economy in the
restricted configuration (no network, adaptation, entry, acquisitions or incidents): the same labs and the same
market record, step by step.
"""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from economy.engine import Simulation
from economy.kernels import layout as L
from economy.params import load_scenario, scenario_dict_with_overrides, validate_scenario

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from mesa_idiomatic import RESTRICTED_OVERRIDES, MesaEconomy, check_restricted  # noqa: E402

LAB_FIELDS = ("share", "cash_usd", "log_software", "log_eff_compute", "compute_flop_per_year", "researchers",
              "revenue_usd_per_year", "quality", "automation", "safety", "drift", "data_tokens", "performance",
              "aspiration", "revenue_growth", "run_flop")
RTOL = 1e-9


def _compare(sim: Simulation, model: MesaEconomy) -> dict[str, float]:
    """Assert the alive labs and the last market record agree; return the largest relative gap per lab field."""
    alive = np.flatnonzero(sim.labs.alive[0])
    assert sorted(lab.column for lab in model.agents) == alive.tolist()
    worst = {}
    for field in LAB_FIELDS:
        engine = getattr(sim.labs, field)[0, alive]
        mesa = np.array([getattr(lab, field) for lab in sorted(model.agents, key=lambda lab: lab.column)])
        np.testing.assert_allclose(mesa, engine, rtol=RTOL, atol=0.0, err_msg=field)
        scale = np.maximum(np.abs(engine), 1e-300)
        worst[field] = float(np.max(np.abs(mesa - engine) / scale)) if alive.size else 0.0
    record = sim.market[sim.steps_done, 0]
    for name, value in model.record.items():
        expected = record[L.MARKET_COLUMNS.index(name)]
        if math.isnan(expected):
            assert math.isnan(value), name
        else:
            assert value == pytest.approx(expected, rel=RTOL, abs=1e-300), name
    return worst


def test_baseline_twelve_labs_match_the_engine_step_by_step():
    scenario, _ = load_scenario(ROOT / "runs" / "baseline.toml", RESTRICTED_OVERRIDES)
    sim = Simulation(scenario, [3], record_labs=False)
    model = MesaEconomy(scenario, seed=3)
    assert len(model.agents) == 12
    for _ in range(24):
        sim.step()
        model.step()
        _compare(sim, model)
    # the economy moved: shares, cash and ln S are not their starting values
    assert not np.allclose(sim.labs.log_software[0, :12], Simulation(scenario, [3]).labs.log_software[0, :12])
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 24
    np.testing.assert_allclose(frame["HHI"].to_numpy(), sim.market[1:25, 0, L.M_HHI], rtol=RTOL)


def test_generated_labs_with_exits_match_the_engine():
    data = scenario_dict_with_overrides({"name": "mesa-check", "labs": {"n": 60}}, RESTRICTED_OVERRIDES)
    scenario = validate_scenario(data)
    sim = Simulation(scenario, [5], record_labs=False)
    model = MesaEconomy(scenario, seed=5)
    for _ in range(60):
        sim.step()
        model.step()
    _compare(sim, model)
    exits = int(sim.market[1:61, 0, L.M_N_EXITS].sum())
    assert exits > 0, "the case should exercise exits"
    assert len(model.exits) == exits
    gone = np.flatnonzero(~sim.labs.alive[0, :60]).tolist()
    assert sorted(column for _, column, _ in model.exits) == gone


def test_a_scenario_outside_the_restricted_configuration_is_refused():
    scenario, _ = load_scenario(ROOT / "runs" / "baseline.toml")
    with pytest.raises(ValueError, match=r"network\.kind"):
        check_restricted(scenario)
