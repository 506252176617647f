"""The starting lab population: listed labs, or ``labs.n`` labs generated from the archetype mix."""

from __future__ import annotations

import numpy as np

from economy.archetypes import FUNDING_INVESTORS, FUNDING_STATE, KIND_CODE, KIND_NAMES, STRATEGY_CODE
from economy.params import Scenario

__all__ = ["REFERENCE_INDUSTRY_LABS", "initial_population"]

REFERENCE_INDUSTRY_LABS = 12.0
"""Generated populations keep the 2025 industry's total size: sizes sum to this many archetype templates."""

_BEHAVIOUR = ("spend_rate_per_year", "compute_spend_fraction", "train_fraction", "inference_fraction",
              "safety_base", "openness")
_SIZE = ("cash_usd", "compute_flop_per_year", "researchers")


def initial_population(scenario: Scenario, rng: np.random.Generator) -> tuple[list[str], dict[str, np.ndarray]]:
    """Names and starting columns (1-D, one entry per lab); shares are NaN where the scenario leaves them."""
    labs = scenario.labs
    if labs.n is None:
        kinds = [spec.kind for spec in labs.list]
        names = [spec.name for spec in labs.list]
        size = np.ones(len(kinds))
        specs = list(labs.list)
    else:
        weights = np.array([labs.mix.get(name, 0.0) for name in KIND_NAMES])
        codes = rng.choice(len(KIND_NAMES), size=labs.n, p=weights / weights.sum())
        kinds = [KIND_NAMES[c] for c in codes]
        names = [f"{kind}-{i}" for i, kind in enumerate(kinds)]
        size = rng.lognormal(0.0, labs.size_dispersion, labs.n) if labs.size_dispersion > 0 else np.ones(labs.n)
        size *= REFERENCE_INDUSTRY_LABS / size.sum()
        specs = [None] * labs.n
    n = len(kinds)
    # per-archetype tables indexed by each lab's kind code (KIND_CODE is the position in KIND_NAMES): a million
    # generated labs take no Python loop here
    code = np.array([KIND_CODE[k] for k in kinds], dtype=np.int8) if labs.n is None else codes.astype(np.int8)
    archetypes = [scenario.archetypes.of(name) for name in KIND_NAMES]

    def table(values: list, dtype: type = np.float64) -> np.ndarray:
        return np.array(values, dtype=dtype)[code]

    cols: dict[str, np.ndarray] = {
        "kind": code,
        "funding": table([FUNDING_STATE if a.funding == "state" else FUNDING_INVESTORS for a in archetypes], np.int8),
        "strategy": table([STRATEGY_CODE[a.strategy] for a in archetypes], np.int8),
        "bloc": (np.array([spec.bloc for spec in specs], dtype=np.int16) if labs.n is None
                 else np.zeros(n, np.int16)),
        "share": np.full(n, np.nan),
    }
    for field in _BEHAVIOUR:
        cols[field] = table([getattr(a, field) for a in archetypes])
    for field in (*_SIZE, "log_software"):
        template = table([getattr(a, field) for a in archetypes])
        cols[field] = template * size if field in _SIZE else template
    if labs.n is not None:
        # smaller labs start further behind the frontier
        cols["log_software"] += 0.3 * np.log(size / size.max())
    for idx, spec in enumerate(specs):
        if spec is None:
            continue
        for field in (*_SIZE, "log_software", "share"):
            value = getattr(spec, field)
            if value is not None:
                cols[field][idx] = value
    # training runs start out of phase
    cols["run_phase"] = rng.uniform(0.0, 1.0, n)
    return names, cols
