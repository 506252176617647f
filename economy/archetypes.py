"""Archetype codes: the ``kind`` column of the lab state (docs/model.md "State")."""

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

FUNDING_INVESTORS = 0
FUNDING_STATE = 1

STRATEGY_ADAPTIVE = 0
"""Built-in adaptive routine: imitation and satisficing search (economy.kernels.strategy)."""
STRATEGY_FIXED = 1
"""The routine never changes by itself (racing still moves the safety share)."""
STRATEGY_PYTHON = 2
"""A Python strategy (a Mesa ``Lab`` subclass overriding ``decide``) sets the routine; no built-in adaptation."""
STRATEGY_CODE: dict[str, int] = {"adaptive": STRATEGY_ADAPTIVE, "fixed": STRATEGY_FIXED, "python": STRATEGY_PYTHON}
