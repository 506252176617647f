"""``Regulator``: a Mesa agent that is a view on the compliance stage's state (docs/policies.md, "Compliance and the
regulator").

The numbers live in the kernel state like the labs' (economy/kernels/compliance.py): the regulator's suspicion of
each lab and the bans in ``model.simulation.labs``, its audits, detections, fines and spend in the market record,
its budget and channels in the packed parameters.  ``AIEconomy`` adds one ``Regulator`` when the scenario has
``enforcement.evasion`` on (``model.regulator``; None otherwise); it stores nothing of its own.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa

from agents.lab import RUN
from economy.kernels import layout as L

if TYPE_CHECKING:
    from agents.model import AIEconomy

__all__ = ["Regulator"]


class Regulator(mesa.Agent):
    """The run's regulator: its audit budget, what it suspects and what it has done so far (read-only views)."""

    model: AIEconomy

    def _par(self, column: int) -> float:
        return float(self.model.simulation.par[RUN, column])

    def _total(self, column: int) -> float:
        sim = self.model.simulation
        return float(sim.market[1:sim.steps_done + 1, RUN, column].sum())

    @property
    def audit_budget_usd_per_year(self) -> float:
        """Yearly audit budget [USD/year]."""
        return self._par(L.P_ENFORCEMENT_AUDIT_BUDGET_USD_PER_YEAR)

    @property
    def audits_per_year(self) -> float:
        """Audits the budget pays for per year [1/year]."""
        return self.audit_budget_usd_per_year / self._par(L.P_ENFORCEMENT_AUDIT_COST_USD)

    def suspicion(self, lab_id: int) -> float:
        """The regulator's posterior probability that lab ``lab_id`` evades [probability]."""
        prior = self._par(L.P_ENFORCEMENT_PRIOR_EVASION_PROBABILITY)
        log_odds = math.log(prior) - math.log1p(-prior) + float(self.model.simulation.labs.suspicion[RUN, lab_id])
        return 1.0 / (1.0 + math.exp(-log_odds))

    def banned(self, lab_id: int) -> bool:
        """Whether lab ``lab_id`` is serving a ban (no compute purchases, no evasion) at the current year."""
        return bool(self.model.simulation.labs.ban_until_year[RUN, lab_id] > self.model.year)

    @property
    def audits(self) -> int:
        """Audits made since the start."""
        return int(self._total(L.M_AUDITS))

    @property
    def detections(self) -> int:
        """Labs caught evading since the start."""
        return int(self._total(L.M_N_DETECTED))

    @property
    def fines_usd(self) -> float:
        """Fines collected since the start [USD]."""
        return self._total(L.M_FINES_USD)

    @property
    def spend_usd(self) -> float:
        """What the audits made so far cost [USD]."""
        return self._total(L.M_REGULATOR_SPEND_USD)
