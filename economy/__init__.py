"""Multipolar's numerical core: state arrays, numba kernels, market, compute, research. No Mesa import.

The public names are re-exported here: a scenario (:class:`Scenario`, read with :func:`load_scenario`, whose bad
input raises :class:`ScenarioError`) and the engine that runs it (:class:`Simulation`).  The schema's other names
are in :mod:`economy.params`; the kernels' in their modules under :mod:`economy.kernels`.
"""

from economy.engine import Simulation
from economy.params import Scenario, ScenarioError, load_scenario

__all__ = ["Scenario", "ScenarioError", "Simulation", "load_scenario"]
