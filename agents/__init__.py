"""The Mesa side: ``AIEconomy`` (a Mesa model around the compiled simulation) and ``Lab`` (an agent that is a
view on one column of the lab arrays), and ``Regulator`` (a view on the compliance stage's state).  See
docs/agents.md."""

from agents.lab import LAB_PROPERTIES, Lab
from agents.model import AGENT_LIMIT, MODEL_REPORTERS, AIEconomy
from agents.regulator import Regulator

__all__ = ["AGENT_LIMIT", "LAB_PROPERTIES", "MODEL_REPORTERS", "AIEconomy", "Lab", "Regulator"]
