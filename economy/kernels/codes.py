"""Integer codes the kernels compare lab columns with (the ``funding`` and ``strategy`` columns of the lab state).

They live with the kernels so that no kernel imports from ``economy/`` above it; :mod:`economy.archetypes` names
them for the rest of the program (docs/model.md "State").
"""

__all__ = ["FUNDING_INVESTORS", "FUNDING_STATE", "STRATEGY_ADAPTIVE", "STRATEGY_FIXED", "STRATEGY_PYTHON"]

FUNDING_INVESTORS = 0
FUNDING_STATE = 1

STRATEGY_ADAPTIVE = 0
"""Built-in adaptive routine: imitation and satisficing search (economy.kernels.strategy)."""
STRATEGY_FIXED = 1
"""The routine never changes by itself (racing still moves the safety share)."""
STRATEGY_PYTHON = 2
"""A Python strategy (a Mesa ``Lab`` subclass overriding ``decide``) sets the routine; no built-in adaptation."""
