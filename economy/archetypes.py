"""Archetype codes: the ``kind`` column of the lab state (docs/model.md "State"), and the funding and strategy
codes of :mod:`economy.kernels.codes` by name."""

from economy.kernels.codes import FUNDING_INVESTORS, FUNDING_STATE, STRATEGY_ADAPTIVE, STRATEGY_FIXED, STRATEGY_PYTHON

__all__ = [
    "FUNDING_INVESTORS", "FUNDING_STATE", "KIND_CODE", "KIND_NAMES", "STRATEGY_ADAPTIVE", "STRATEGY_CODE",
    "STRATEGY_FIXED", "STRATEGY_PYTHON",
]

KIND_NAMES: tuple[str, ...] = (
    "frontier",
    "open_weights",
    "fast_follower",
    "safety_focused",
    "state_programme",
    "startup",
)
KIND_CODE: dict[str, int] = {name: code for code, name in enumerate(KIND_NAMES)}

STRATEGY_CODE: dict[str, int] = {"adaptive": STRATEGY_ADAPTIVE, "fixed": STRATEGY_FIXED, "python": STRATEGY_PYTHON}
