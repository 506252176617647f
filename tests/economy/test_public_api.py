"""Every package and module of the core says what it exports (``__all__``), and each name exists (issue 15)."""

from __future__ import annotations

import importlib
import pkgutil

import economy


def _modules() -> list[str]:
    return ["economy", *(m.name for m in pkgutil.walk_packages(economy.__path__, "economy."))]


def test_every_economy_module_declares_its_public_names() -> None:
    missing, dangling = [], []
    for name in _modules():
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            missing.append(name)
            continue
        dangling += [f"{name}.{item}" for item in exported if not hasattr(module, item)]
        assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    assert not missing, f"no __all__ in {missing}"
    assert not dangling, f"__all__ names what the module does not define: {dangling}"
    assert len(_modules()) > 30


def test_the_core_reexports_the_scenario_loader_and_the_engine() -> None:
    from economy import Scenario, ScenarioError, Simulation, load_scenario
    from economy.engine import Simulation as EngineSimulation
    from economy.params import load_scenario as params_load_scenario

    assert Simulation is EngineSimulation and load_scenario is params_load_scenario
    assert issubclass(ScenarioError, ValueError) and Scenario.__module__ == "economy.params.scenario"
