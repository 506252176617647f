"""Multipolar's numerical core: state arrays, numba kernels, market, compute, research. No Mesa import.

The public names are re-exported here: a scenario (:class:`Scenario`, read with :func:`load_scenario`, whose bad
input raises :class:`ScenarioError`) and the engine that runs it (:class:`Simulation`).  The schema's other names
are in :mod:`economy.params`; the kernels' in their modules under :mod:`economy.kernels`.  The names load on first
use (:mod:`economy.exports`), so ``from economy.params import ...`` does not import the engine and numba.
"""

from economy.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {"engine": ("Simulation",),
                                                        "params": ("Scenario", "ScenarioError", "load_scenario")})
