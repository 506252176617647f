"""The Mesa side: AIEconomy wraps one Simulation bit for bit; Lab agents are live views on the arrays."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import deep_merge, load_baseline_dict

from agents import AGENT_LIMIT, LAB_PROPERTIES, MODEL_REPORTERS, AIEconomy, Lab, Regulator
from economy.archetypes import KIND_NAMES, STRATEGY_PYTHON
from economy.engine import Simulation
from economy.params import Scenario
from economy.state import N_BLOC_SLOTS
from economy.streams import STREAM_NAMES, root_sequence

BASELINE = Path(__file__).resolve().parents[2] / "runs" / "baseline.toml"
# the ``baseline`` fixture (runs/baseline.toml, validated) comes from tests/conftest.py


def _short(scenario: Scenario, years: float) -> Scenario:
    data = scenario.model_dump()
    data["sim"]["years"] = years
    return Scenario.model_validate(data)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _assert_same_state(sim_a: Simulation, sim_b: Simulation) -> None:
    assert sim_a.steps_done == sim_b.steps_done
    assert _same_bits(sim_a.market, sim_b.market)
    for field in sim_a.labs._fields:
        assert _same_bits(getattr(sim_a.labs, field), getattr(sim_b.labs, field)), field
    for field in sim_a.world._fields:
        assert _same_bits(getattr(sim_a.world, field), getattr(sim_b.world, field)), field


def test_builds_from_baseline_with_one_agent_per_lab(baseline):
    model = AIEconomy(BASELINE, seed=1)
    assert model.agent_mode
    assert len(model.agents) == baseline.n_labs == 12
    assert sorted(lab.lab_id for lab in model.agents) == list(range(12))
    assert [lab.name for lab in model.agents] == [spec.name for spec in baseline.labs.list]
    assert [lab.kind for lab in model.agents] == [spec.kind for spec in baseline.labs.list]
    assert all(isinstance(lab, Lab) and lab.alive for lab in model.agents)
    assert model.lab(8).bloc == 1 and model.lab(9).bloc == 2
    assert model.year == baseline.sim.start_year
    assert model.running and model.steps == 0
    # a Scenario object and its file give the same model
    other = AIEconomy(baseline, seed=1)
    _assert_same_state(model.simulation, other.simulation)


def test_step_is_one_dt_and_matches_a_bare_simulation(baseline):
    model = AIEconomy(baseline, seed=5)
    bare = Simulation(baseline, [5])
    dt = baseline.sim.dt
    for k in range(1, 4):
        model.step()
        bare.step()
        assert model.steps == k and model.simulation.steps_done == k
        assert model.year == pytest.approx(baseline.sim.start_year + k * dt, abs=1e-9)
        _assert_same_state(model.simulation, bare)
        # Mesa's own generators are separate streams: using them does not touch the economy
        model.rng.random(7)
        model.random.random()
    assert model.market_frame().equals(bare.market_frame())


def test_reporters_equal_the_market_record(baseline):
    model = AIEconomy(baseline, seed=2)
    for _ in range(6):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 7  # the starting state plus one row per step
    for name in ("HHI", "Top4", "FrontierQuality", "ComputePrice", "EffectiveLabs", "Alive"):
        assert name in frame.columns
    record = model.simulation.market[:7, 0, :]
    for name, column in MODEL_REPORTERS.items():
        expected = record[:, column]
        got = frame[name].to_numpy(dtype=np.float64)
        assert np.array_equal(got, expected, equal_nan=True), name
    assert frame["Alive"].tolist() == [12] * 7
    assert frame["Year"].iloc[-1] == pytest.approx(baseline.sim.start_year + 6 * baseline.sim.dt)
    assert frame["HHI"].iloc[-1] != frame["HHI"].iloc[0]  # the market moved


def test_properties_are_live_views(baseline):
    model = AIEconomy(baseline, seed=3)
    model.step()
    labs = model.labs
    lab = model.lab(4)
    # reads follow the arrays
    for name in ("cash_usd", "compute_flop_per_year", "log_software", "researchers", "share", "quality",
                 "revenue_usd_per_year", "automation", "safety", "drift", "openness", "data_tokens"):
        assert getattr(lab, name) == getattr(labs, name)[0, 4], name
    assert lab.log10_eff_compute == labs.log_eff_compute[0, 4] / math.log(10.0)
    labs.cash_usd[0, 4] = 123.0
    assert lab.cash_usd == 123.0
    # writes land in the arrays
    lab.researchers = 777.0
    assert labs.researchers[0, 4] == 777.0
    lab.log10_eff_compute = 27.5
    assert labs.log_eff_compute[0, 4] == pytest.approx(27.5 * math.log(10.0))
    lab.bloc = 3
    assert labs.bloc[0, 4] == 3
    # AgentSet verbs see live values
    alive = labs.alive[0]
    assert model.agents.agg("share", sum) == pytest.approx(labs.share[0][alive].sum(), rel=1e-12)
    labs.share[0, :] = 0.0
    labs.share[0, 7] = 0.4
    assert model.agents.agg("share", sum) == pytest.approx(0.4)
    assert [a.lab_id for a in model.agents.select(lambda a: a.share > 0.1)] == [7]
    lab.share = 0.25
    assert model.agents.agg("share", [sum, max]) == [pytest.approx(0.65), 0.4]
    groups = model.agents.groupby("kind").groups
    kinds = labs.kind[0][alive]  # the columns of live labs (the rest is entry capacity)
    assert {kind: len(group) for kind, group in groups.items()} == {
        kind: int(np.sum(kinds == code)) for code, kind in enumerate(KIND_NAMES) if np.any(kinds == code)
    }
    model.agents.select(lambda a: a.kind == "startup").do(lambda a: setattr(a, "openness", 0.9))
    assert np.all(labs.openness[0][labs.kind[0] == KIND_NAMES.index("startup")] == 0.9)
    # derived and identity columns are read-only; bad values fail loudly
    with pytest.raises(AttributeError):
        lab.quality = 1.0
    with pytest.raises(AttributeError):
        lab.alive = False
    with pytest.raises(ValueError, match="share"):
        lab.share = 1.5
    with pytest.raises(ValueError, match="cash_usd"):
        lab.cash_usd = math.nan
    with pytest.raises(ValueError, match="bloc"):
        lab.bloc = N_BLOC_SLOTS  # would index past the segment arrays
    assert labs.bloc[0, 4] == 3
    assert "cash_usd" in LAB_PROPERTIES and "kind" in LAB_PROPERTIES
    # the agent holds no economic state of its own
    assert set(vars(lab)) <= {"model", "unique_id", "pos", "lab_id"}


def test_array_only_mode_gives_the_same_numbers(baseline):
    with_agents = AIEconomy(baseline, seed=4, agents=True)
    arrays_only = AIEconomy(baseline, seed=4, agents=False)
    assert len(with_agents.agents) == 12 and len(arrays_only.agents) == 0
    assert not arrays_only.agent_mode
    for _ in range(5):
        with_agents.step()
        arrays_only.step()
    _assert_same_state(with_agents.simulation, arrays_only.simulation)
    frames = [m.datacollector.get_model_vars_dataframe() for m in (with_agents, arrays_only)]
    assert frames[0].equals(frames[1])  # NaN-aware, exact
    with pytest.raises(LookupError):
        arrays_only.lab(0)


def test_auto_mode_drops_agents_above_the_limit():
    def generated(n: int) -> Scenario:
        return Scenario.model_validate({"labs": {"n": n}, "sim": {"years": 1.0}})

    small = AIEconomy(generated(50), seed=1, record_labs=False)
    large = AIEconomy(generated(AGENT_LIMIT + 1), seed=1, record_labs=False)
    assert small.agent_mode and len(small.agents) == 50
    assert not large.agent_mode and len(large.agents) == 0
    large.step()
    assert large.datacollector.model_vars["Alive"][-1] == int(large.labs.alive[0].sum())
    with pytest.raises(ValueError, match="agents"):
        AIEconomy(generated(5), seed=1, agents="yes")


def test_same_seed_same_model(baseline):
    a = AIEconomy(baseline, seed=11)
    b = AIEconomy(baseline, seed=11)
    c = AIEconomy(baseline, seed=12)
    for _ in range(4):
        for model in (a, b, c):
            model.step()
    _assert_same_state(a.simulation, b.simulation)
    assert not _same_bits(a.simulation.market, c.simulation.market)
    # Mesa's generators are reproducible and sit on the run's named "mesa" stream
    assert np.array_equal(a.rng.random(5), b.rng.random(5))
    assert a.random.random() == b.random.random()
    assert not np.array_equal(a.rng.random(5), c.rng.random(5))
    seq = a.rng.bit_generator.seed_seq
    root = root_sequence(11)
    assert seq.entropy == root.entropy
    assert seq.spawn_key == (*root.spawn_key, STREAM_NAMES.index("mesa"))
    # the same holds for a SeedSequence seed (e.g. a child of an ensemble)
    child = np.random.SeedSequence(99).spawn(2)[1]
    d, e = AIEconomy(baseline, seed=child), AIEconomy(baseline, seed=child)
    d.step()
    e.step()
    _assert_same_state(d.simulation, e.simulation)
    assert d.rng.bit_generator.seed_seq.spawn_key == (*child.spawn_key, STREAM_NAMES.index("mesa"))


def test_exits_remove_agents(baseline):
    # without the network: talent mobility would carry the doomed lab's staff (and wage bill) to its rivals
    baseline = type(baseline).model_validate({**baseline.model_dump(), "network": {"kind": "none"}})
    model = AIEconomy(baseline, seed=6)
    bare = Simulation(baseline, [6])
    doomed = model.lab(11)
    # no cash and an unpayable wage bill: the lab exits at the money stage of the next step
    doomed.cash_usd = 0.0
    doomed.researchers = 1e5  # (1e9 would flood its rivals through talent mobility and bankrupt them too)
    bare.labs.cash_usd[0, 11] = 0.0
    bare.labs.researchers[0, 11] = 1e5
    model.step()
    bare.step()
    _assert_same_state(model.simulation, bare)
    assert not model.labs.alive[0, 11]
    assert doomed not in model.agents
    assert len(model.agents) == 11
    assert sorted(lab.lab_id for lab in model.agents) == list(range(11))
    assert model.datacollector.model_vars["Alive"][-2:] == [12, 11]
    assert model.datacollector.model_vars["Exits"][-1] == 1
    with pytest.raises(LookupError):
        model.lab(11)
    model.step()
    assert len(model.agents) == int(model.labs.alive[0].sum()) == 11


def test_running_stops_at_the_horizon(baseline):
    model = AIEconomy(_short(baseline, 0.25), seed=1)
    model.run_model()
    assert not model.running
    assert model.steps == model.simulation.n_steps == 3
    assert len(model.datacollector.get_model_vars_dataframe()) == 4
    with pytest.raises(RuntimeError, match="horizon"):
        model.step()
    assert model.simulation.steps_done == 3


class _AllCompute(Lab):
    """A Python strategy: spend everything on compute."""

    def decide(self) -> None:
        self.compute_spend_fraction = 1.0


def test_python_strategy_runs_before_the_step(baseline):
    model = AIEconomy(baseline, seed=8, lab_class=_AllCompute)
    bare = Simulation(baseline, [8])
    default = Simulation(baseline, [8])
    for _ in range(3):
        model.step()
        bare.labs.compute_spend_fraction[0, bare.labs.alive[0]] = 1.0
        bare.labs.strategy[0, bare.labs.alive[0]] = STRATEGY_PYTHON  # Python-run labs are not adapted
        bare.step()
        bare.labs.strategy[0, bare.labs.alive[0]] = STRATEGY_PYTHON  # entrants get their agent after the step
        default.step()
    _assert_same_state(model.simulation, bare)
    assert not _same_bits(model.simulation.market, default.market)
    assert all(isinstance(lab, _AllCompute) for lab in model.agents)
    with pytest.raises(ValueError, match="decide"):
        AIEconomy(baseline, seed=8, agents=False, lab_class=_AllCompute)


def test_the_regulator_is_a_view_on_the_compliance_state() -> None:
    """With enforcement.evasion on, model.regulator reads the kernels' state (docs/policies.md); off, it is None."""
    def scenario(evasion: bool) -> Scenario:
        enforcement = {"evasion": evasion, "whistleblower_rate_per_year": 0.0, "audit_cost_usd": 4e7}
        data = deep_merge(load_baseline_dict(), {"sim": {"years": 1.0}, "enforcement": enforcement})
        data["policies"] = [{"kind": "compute_cap", "start_year": 2025.0, "max_training_flop": 3e26}]
        return Scenario.model_validate(data)

    assert AIEconomy(scenario(False), seed=1).regulator is None
    model = AIEconomy(scenario(True), seed=1)
    assert isinstance(model.regulator, Regulator)
    for _ in range(12):
        model.step()
    regulator, summary = model.regulator, model.summary()
    assert regulator.detections == summary["detections"] and regulator.audits == summary["audits"]
    assert regulator.spend_usd == summary["regulator_spend_usd"] > 0.0
    assert regulator.audits_per_year == pytest.approx(5.0)  # the default budget over the audit cost
    assert model.labs_frame()["evasion"].max() > 0.0, "a compute cap binding from the start is evaded"
    assert all(lab.evasion == model.labs.evasion[0, lab.lab_id] for lab in model.agents_by_type[Lab])
    assert all(0.0 < regulator.suspicion(lab.lab_id) < 1.0 for lab in model.agents_by_type[Lab])
