"""Worked examples of the Mesa side (docs/agents.md)."""
