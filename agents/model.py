"""``AIEconomy``: the Mesa model of the AI-lab economy, a thin shell around one compiled ``Simulation``.

The economy lives in ``model.simulation`` (an :class:`economy.engine.Simulation`, a batch of one run): its
struct-of-arrays state is the truth and its compiled step does all the work.  The Mesa side adds what users
of Mesa expect: ``model.step()``, ``model.running``, ``model.rng``, a ``DataCollector`` of market-level
reporters, and one :class:`agents.lab.Lab` agent per live lab, each a view on its column of the arrays.
For large populations the agents are left out ("array-only mode"); everything else works the same.

Seeds: the run's root ``SeedSequence`` is ``economy.streams.root_sequence(seed)``; the economy draws from its
named streams, Mesa gets ``rng=`` a generator on the ``"mesa"`` stream, so nothing done with ``model.rng`` or
``model.random`` changes the economy, and a model matches a bare ``Simulation`` of the same seed bit for bit.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Literal

import mesa
import numpy as np
import pandas as pd

from agents.lab import RUN, Lab
from agents.regulator import Regulator
from economy.archetypes import STRATEGY_PYTHON
from economy.engine import Simulation
from economy.kernels import layout as L
from economy.kernels.config import configure
from economy.params import Scenario, load_scenario
from economy.state import LabState
from economy.streams import child_sequence, root_sequence

__all__ = ["AGENT_LIMIT", "MODEL_REPORTERS", "AIEconomy"]

AGENT_LIMIT = 10_000
"""With ``agents="auto"``, Lab agents are created only for populations of at most this many labs."""

MODEL_REPORTERS: dict[str, int] = {
    "Year": L.M_YEAR,
    "HHI": L.M_HHI,
    "EffectiveLabs": L.M_EFFECTIVE_LABS,
    "Top1": L.M_TOP1_SHARE,
    "Top4": L.M_TOP4_SHARE,
    "OutsideShare": L.M_OUTSIDE_SHARE,
    "GiniRevenue": L.M_GINI_REVENUE,
    "LeaderGapOOMs": L.M_LEADER_GAP_OOMS,
    "LeaderGapYears": L.M_LEADER_GAP_YEARS,
    "FrontierQuality": L.M_FRONTIER_QUALITY,
    "FrontierLog10EffCompute": L.M_FRONTIER_LOG10_EFF_COMPUTE,
    "FrontierAutomation": L.M_FRONTIER_AUTOMATION,
    "ComputePrice": L.M_COMPUTE_PRICE,
    "TotalDemand": L.M_TOTAL_DEMAND,
    "TotalRevenue": L.M_TOTAL_REVENUE,
    "MeanSafety": L.M_MEAN_SAFETY,
    "MaxDrift": L.M_MAX_DRIFT,
    "Alive": L.M_N_ALIVE,
    "Singular": L.M_N_SINGULAR,
    "Exits": L.M_N_EXITS,
    "Entries": L.M_N_ENTRIES,
    "Acquisitions": L.M_N_ACQUISITIONS,
    "Incidents": L.M_INCIDENTS,
    "Catastrophe": L.M_CATASTROPHE,
}
"""DataCollector model reporters: name -> market-record column (``economy.kernels.layout.M_*``)."""

_COUNTS = frozenset({"Alive", "Singular", "Exits", "Entries", "Acquisitions", "Incidents", "Catastrophe"})


def _market_value(model: AIEconomy, column: int, count: bool) -> float | int:
    """The latest market-record value of ``column`` (the row of the step just taken)."""
    sim = model.simulation
    value = sim.market[sim.steps_done, RUN, column]
    return int(value) if count else float(value)


class AIEconomy(mesa.Model):
    """The AI-lab economy as a Mesa model: one run of a scenario.

    Parameters
    ----------
    scenario
        A validated :class:`economy.params.Scenario`, or the path of a scenario TOML file.
    seed
        The run's root seed (a non-negative int or a ``SeedSequence``).
    agents
        ``True``: one :class:`Lab` agent per live lab; ``False``: array-only mode (no agents);
        ``"auto"``: agents when the scenario has at most ``AGENT_LIMIT`` labs.
    record_labs
        Keep the simulation's long lab table (``model.simulation.labs_frame()``).
    lab_class
        The agent class (a :class:`Lab` subclass, e.g. one overriding :meth:`Lab.decide`).

    Attributes
    ----------
    simulation
        The compiled economy (the truth); ``model.labs`` is its lab state.
    datacollector
        Model reporters ``MODEL_REPORTERS``, collected at the start and after every step.
    regulator
        The :class:`agents.regulator.Regulator` when ``enforcement.evasion`` is on, else None.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        seed: int | np.random.SeedSequence = 0,
        *,
        agents: bool | Literal["auto"] = "auto",
        record_labs: bool = True,
        lab_class: type[Lab] = Lab,
    ) -> None:
        configure()
        scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)[0]
        root = root_sequence(seed)
        super().__init__(rng=np.random.Generator(np.random.PCG64(child_sequence(root, "mesa"))))
        if agents == "auto":
            agent_mode = scenario.n_labs <= AGENT_LIMIT
        elif isinstance(agents, bool):
            agent_mode = agents
        else:
            raise ValueError(f"agents must be True, False or 'auto', got {agents!r}")
        if not (isinstance(lab_class, type) and issubclass(lab_class, Lab)):
            raise TypeError(f"lab_class must be a subclass of agents.lab.Lab, got {lab_class!r}")
        self._python_strategy = lab_class.decide is not Lab.decide
        if self._python_strategy and not agent_mode:
            raise ValueError(f"{lab_class.__name__} overrides decide(), which needs agents (agents=False was asked)")
        self.root = root
        self.simulation = Simulation(scenario, [root], record_labs=record_labs)
        self.agent_mode = agent_mode
        self.lab_class = lab_class
        self._lab_agents: dict[int, Lab] = {}
        self._has_agent = np.zeros(0, dtype=np.bool_)
        if agent_mode:
            self._sync_agents()
        # the regulator of the compliance stage (docs/policies.md), a view like the labs
        self.regulator = Regulator(self) if scenario.enforcement.evasion else None
        self.datacollector = mesa.DataCollector(
            model_reporters={name: partial(_market_value, column=col, count=name in _COUNTS)
                             for name, col in MODEL_REPORTERS.items()}
        )
        self.running = self.simulation.steps_done < self.simulation.n_steps
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """Advance the economy by one ``dt``, drop the agents of labs that exited, collect the reporters.

        With a ``lab_class`` overriding :meth:`Lab.decide`, each live lab's ``decide()`` runs first, in
        ``lab_id`` order; those labs' ``strategy`` code is ``STRATEGY_PYTHON``, so the compiled stage 1 does not
        adapt their routines (entrants included).  Stepping past the horizon raises ``RuntimeError``.
        """
        sim = self.simulation
        if sim.steps_done >= sim.n_steps:
            self.running = False
            raise RuntimeError(f"the horizon of {sim.n_steps} steps is reached")
        if self._python_strategy:
            for lab in list(self._lab_agents.values()):
                lab.decide()
        sim.step()
        if self.agent_mode:
            self._sync_agents()
        self.running = sim.steps_done < sim.n_steps
        self.datacollector.collect(self)

    def _sync_agents(self) -> None:
        """Make the agents match the ``alive`` mask: remove exited labs' agents, add agents for new labs."""
        alive = self.simulation.labs.alive[RUN]
        if self._has_agent.shape[0] != alive.shape[0]:  # capacity grew (entrants)
            grown = np.zeros(alive.shape[0], dtype=np.bool_)
            grown[: self._has_agent.shape[0]] = self._has_agent
            self._has_agent = grown
        for i in np.flatnonzero(self._has_agent & ~alive).tolist():
            self._lab_agents.pop(i).remove()
            self._has_agent[i] = False
        for i in np.flatnonzero(alive & ~self._has_agent).tolist():
            self._lab_agents[i] = self.lab_class(self, i)
            self._has_agent[i] = True
            if self._python_strategy:  # the Python strategy sets the routine: no built-in adaptation for this lab
                self.simulation.labs.strategy[RUN, i] = STRATEGY_PYTHON

    # ------------------------------------------------------------------ views and results
    @property
    def labs(self) -> LabState:
        """The lab arrays (shape ``(1, capacity)``; column ``lab_id``); the truth the agents view."""
        return self.simulation.labs

    @property
    def year(self) -> float:
        """Calendar year of the current state."""
        return float(self.simulation.market[self.simulation.steps_done, RUN, L.M_YEAR])

    def lab(self, lab_id: int) -> Lab:
        """The agent of a live lab (agent mode only)."""
        if not self.agent_mode:
            raise LookupError("array-only mode: no Lab agents; read model.labs.<field>[0, lab_id]")
        try:
            return self._lab_agents[int(lab_id)]
        except KeyError:
            raise LookupError(f"no live lab with lab_id {lab_id}") from None

    def market_frame(self) -> pd.DataFrame:
        """All market-record columns, one row per step (row 0 is the starting state)."""
        return self.simulation.market_frame(RUN)

    def labs_frame(self) -> pd.DataFrame:
        """The long lab table (needs ``record_labs=True``)."""
        return self.simulation.labs_frame(RUN)

    def summary(self) -> dict[str, Any]:
        """Per-run outcomes (``Simulation.summary``)."""
        return self.simulation.summary(RUN)
