"""``Lab``: a Mesa agent that is a view on one column of the simulation's lab arrays.

The arrays in ``model.simulation.labs`` are the truth.  A ``Lab`` stores only its
``lab_id`` (== the column in every array, for the whole run); each economic quantity is a property that reads
or writes the array element ``labs.<field>[0, lab_id]`` every time it is used, so Mesa's ``AgentSet`` verbs
(``select``, ``agg``, ``groupby``, ``do``) always see the current values and a write is seen by the kernels
on the next step.

Quantities the step recomputes from others (``safety``, ``automation``, ``quality``, ``revenue_usd_per_year``)
and the identity columns (``alive``, ``kind``, ``name``) are read-only: a write would be overwritten or would
break the conservation bookkeeping.  To steer a lab, write its stocks or its behaviour columns
(``spend_rate_per_year``, ``compute_spend_fraction``, ``train_fraction``, ``inference_fraction``,
``safety_base``, ``openness``), for instance from :meth:`Lab.decide` in a subclass.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa

from economy.archetypes import KIND_NAMES
from economy.state import N_BLOC_SLOTS

if TYPE_CHECKING:
    from agents.model import AIEconomy

__all__ = ["LAB_PROPERTIES", "Lab"]

LN10 = math.log(10.0)
RUN = 0
"""The model is a batch of one run: row 0 of every ``(runs, labs)`` array."""


def _float_column(field: str, unit: str, doc: str, *, lo: float = -math.inf, hi: float = math.inf,
                  writable: bool = True) -> property:
    """A float property reading and writing ``labs.<field>[0, lab_id]``; writes must be finite, in [lo, hi]."""

    def fget(self: Lab) -> float:
        return float(getattr(self.model.simulation.labs, field)[RUN, self.lab_id])

    def fset(self: Lab, value: float) -> None:
        if not writable:
            raise AttributeError(f"Lab.{field} is recomputed every step and is read-only")
        x = float(value)
        if not (math.isfinite(x) and lo <= x <= hi):
            raise ValueError(f"Lab.{field} = {value!r} is outside [{lo:g}, {hi:g}] ({unit})")
        getattr(self.model.simulation.labs, field)[RUN, self.lab_id] = x

    return property(fget, fset, doc=f"{doc} [{unit}]{'' if writable else ' (read-only)'}")


class Lab(mesa.Agent):
    """One AI lab: a live view on column ``lab_id`` of ``model.simulation.labs`` (run 0).

    Parameters
    ----------
    model
        The :class:`agents.model.AIEconomy` holding the arrays.
    lab_id
        The lab's column in every lab array.
    """

    model: AIEconomy

    def __init__(self, model: AIEconomy, lab_id: int) -> None:
        super().__init__(model)
        self.lab_id = int(lab_id)

    def decide(self) -> None:
        """Python strategy hook, called before each step when a subclass overrides it (default: none).

        An override may write this lab's stocks and behaviour columns; the compiled stage 1 then reads them
        (labs of such a class are not adapted by the built-in imitation and search).  It runs once per lab per
        step in Python, so it costs microseconds per lab (docs/agents.md; agents/examples/custom_strategy.py).
        """

    def __repr__(self) -> str:
        return f"Lab(lab_id={self.lab_id}, name={self.name!r}, kind={self.kind!r})"

    # ------------------------------------------------------------------ identity
    @property
    def name(self) -> str:
        """Display name."""
        return self.model.simulation.names[RUN][self.lab_id]

    @property
    def kind(self) -> str:
        """Archetype name (``economy.archetypes.KIND_NAMES``)."""
        return KIND_NAMES[int(self.model.simulation.labs.kind[RUN, self.lab_id])]

    @property
    def alive(self) -> bool:
        """Still in the market (read-only: exits go through the money stage's bookkeeping)."""
        return bool(self.model.simulation.labs.alive[RUN, self.lab_id])

    @property
    def bloc(self) -> int:
        """Jurisdiction or community code (also the market segment), in [0, N_BLOC_SLOTS)."""
        return int(self.model.simulation.labs.bloc[RUN, self.lab_id])

    @bloc.setter
    def bloc(self, value: int) -> None:
        code = int(value)
        if code != value or not 0 <= code < N_BLOC_SLOTS:
            raise ValueError(f"Lab.bloc = {value!r} is outside the bloc codes [0, {N_BLOC_SLOTS - 1}]")
        self.model.simulation.labs.bloc[RUN, self.lab_id] = code

    # ------------------------------------------------------------------ stocks
    cash_usd = _float_column("cash_usd", "USD", "Money on hand.", lo=0.0)
    compute_flop_per_year = _float_column("compute_flop_per_year", "FLOP/year", "Owned compute capacity.", lo=0.0)
    log_software = _float_column("log_software", "ln(multiplier)", "ln S, algorithmic efficiency.")
    researchers = _float_column("researchers", "people", "Human research staff.", lo=0.0)
    share = _float_column("share", "fraction", "Customer market share.", lo=0.0, hi=1.0)
    data_tokens = _float_column("data_tokens", "tokens", "Flywheel data.", lo=0.0)
    drift = _float_column("drift", "dimensionless", "Accumulated value drift.", lo=0.0)

    @property
    def log10_eff_compute(self) -> float:
        """log10 of the served model's effective compute [log10(FLOP)]; -inf before the first model."""
        return float(self.model.simulation.labs.log_eff_compute[RUN, self.lab_id]) / LN10

    @log10_eff_compute.setter
    def log10_eff_compute(self, value: float) -> None:
        x = float(value)
        if not math.isfinite(x):
            raise ValueError(f"Lab.log10_eff_compute = {value!r} is not finite")
        self.model.simulation.labs.log_eff_compute[RUN, self.lab_id] = x * LN10

    # ------------------------------------------------------------------ behaviour (read by stage 1)
    spend_rate_per_year = _float_column("spend_rate_per_year", "1/year", "Share of cash spent per year.", lo=0.0)
    compute_spend_fraction = _float_column("compute_spend_fraction", "fraction",
                                           "Fraction of spending that buys compute.", lo=0.0, hi=1.0)
    train_fraction = _float_column("train_fraction", "fraction", "Fraction of compute on training.", lo=0.0, hi=1.0)
    inference_fraction = _float_column("inference_fraction", "fraction", "Fraction of compute serving customers.",
                                       lo=0.0, hi=1.0)
    safety_base = _float_column("safety_base", "fraction", "Safety share with no rival close.", lo=0.0, hi=1.0)
    openness = _float_column("openness", "fraction", "Propensity to publish.", lo=0.0, hi=1.0)

    # ------------------------------------------------------------------ derived each step (read-only)
    revenue_usd_per_year = _float_column("revenue_usd_per_year", "USD/year", "Revenue rate this step.",
                                         writable=False)
    quality = _float_column("quality", "quality units", "u = alpha ln(E / C_c) of the served model.",
                            writable=False)
    automation = _float_column("automation", "fraction", "Automated fraction of research tasks.", writable=False)
    safety = _float_column("safety", "fraction", "Racing-adjusted safety share this step (write safety_base).",
                           writable=False)
    performance = _float_column("performance", "1/year", "Smoothed return on capital (what imitation compares).",
                                writable=False)
    aspiration = _float_column("aspiration", "1/year", "Aspiration level of performance (satisficing).",
                               writable=False)
    evasion = _float_column("evasion", "fraction", "Share of each binding rule evaded this step (enforcement.evasion; "
                            "docs/policies.md).", writable=False)

    @property
    def incidents(self) -> int:
        """Safety incidents this lab has had so far (read-only)."""
        return int(self.model.simulation.labs.incidents[RUN, self.lab_id])


LAB_PROPERTIES: tuple[str, ...] = tuple(
    name for name, value in vars(Lab).items() if isinstance(value, property)
)
"""Every economic property of a ``Lab`` (all of them views on the arrays)."""

