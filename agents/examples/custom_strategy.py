"""Worked example: a lab strategy written in Python (docs/agents.md, "Python strategies").

The built-in strategies are compiled (economy/kernels/strategy.py).  To try a rule of your own, subclass the
Mesa agent :class:`agents.lab.Lab`, override :meth:`~agents.lab.Lab.decide`, and pass the class to
:class:`agents.model.AIEconomy`: before every compiled step, each live lab's ``decide()`` runs in Python and
writes the lab's behaviour columns (its routine), which stage 1 then reads.  Labs run by a Python strategy
are left alone by the built-in adaptation (no imitation, no search); racing pressure still applies.

``SafetyBrake`` is a lab that watches its own value drift: once drift passes ``drift_limit`` it raises its
safety share to ``brake_safety`` and slows its spending, so its AI drifts (and fails) less, at the price of
slower research.  On runs/racing.toml (high drift, low safety) it gives fewer incidents and lower drift than
the built-in strategies with the same seeds; ``python -m agents.examples.custom_strategy`` prints the
comparison (the numbers are in docs/agents.md).
"""

from __future__ import annotations

import time
from pathlib import Path

from agents.lab import Lab
from agents.model import AIEconomy
from economy.params import load_scenario

__all__ = ["SafetyBrake", "compare"]

RACING = Path(__file__).resolve().parents[2] / "runs" / "racing.toml"


class SafetyBrake(Lab):
    """Raise the safety share and spend more slowly once the lab's own drift passes a limit."""

    drift_limit = 1.0
    """Drift (dimensionless) above which the lab brakes."""
    brake_safety = 0.5
    """Safety share with no rival close while braking (racing still cuts it)."""
    brake_spend_rate = 1.0
    """Spending rate while braking, 1/year (the archetypes spend 1.5-2)."""

    def decide(self) -> None:
        if self.drift > self.drift_limit:
            self.safety_base = max(self.safety_base, self.brake_safety)
            self.spend_rate_per_year = min(self.spend_rate_per_year, self.brake_spend_rate)


def compare(seeds: range = range(10), scenario: str | Path = RACING) -> dict[str, dict[str, float]]:
    """Run the scenario with the built-in strategies and with SafetyBrake labs, same seeds; return totals."""
    sc, _ = load_scenario(scenario)
    out: dict[str, dict[str, float]] = {}
    for name, lab_class in (("built-in", Lab), ("SafetyBrake", SafetyBrake)):
        incidents = catastrophes = 0
        drift = 0.0
        began = time.perf_counter()
        for seed in seeds:
            model = AIEconomy(sc, seed=seed, lab_class=lab_class, record_labs=False)
            model.run_model()
            summary = model.summary()
            incidents += summary["incidents"]
            catastrophes += int(summary["catastrophe"])
            drift += float(model.market_frame()["max_drift"].iloc[-1])
        out[name] = {"runs": len(seeds), "incidents": incidents, "catastrophes": catastrophes,
                     "mean_final_max_drift": drift / len(seeds), "seconds": time.perf_counter() - began}
    return out


if __name__ == "__main__":  # pragma: no cover
    for name, row in compare().items():
        print(f"{name:12s} " + "  ".join(f"{k} {v:.3g}" for k, v in row.items()))
