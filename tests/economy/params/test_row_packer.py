"""The row packer (economy/params/packing.py ``RowPacker``): an ensemble run's packed row, the base's row with
only the drawn keys' columns computed again, is ``pack_parameters`` of the run's scenario, bit for bit, for every
real-valued key of every section and every policy kind, several keys at once, and keys no column reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from economy.params import (
    POLICY_KINDS,
    Scenario,
    ScenarioError,
    leaves,
    load_policy_file,
    load_scenario,
    pack_parameters,
)
from economy.params.keys import is_model
from economy.params.packing import parameter_columns
from economy.params.policies import POLICY_TABLES
from runs.experiments import RunScenarios

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
POLICIES = ROOT / "runs" / "policies"


@pytest.fixture(scope="module")
def with_every_policy() -> Scenario:
    """The baseline with one policy of every kind (the files in runs/policies/)."""
    files = [load_policy_file(POLICIES / f"{kind}.toml") for kind in POLICY_KINDS]
    scenario, _ = load_scenario(BASELINE, [], files)
    return scenario


def _other_values(current: float | None, where: Any, key: str) -> list[float]:
    """Candidate valid values other than ``current`` (the first that validates is used)."""
    lo, hi, _, _ = where.bounds()
    if key.endswith("year"):
        base = current if current is not None and np.isfinite(current) else 2030.0
        return [base + 0.5, base - 0.5]
    out = [current * 0.9, current * 1.1] if current else []
    out += [0.3, 0.5 * hi if hi else 2.0, lo + 0.01 if lo is not None else -1.0]
    return [v for v in out if v != current and (lo is None or v >= lo) and (hi is None or v <= hi)]


def _check(base: Scenario, dotted: str, candidates: list[float]) -> bool:
    """True if some candidate value of ``dotted`` validated and its packed rows agree (asserted)."""
    builder = RunScenarios(base, [dotted])
    for value in candidates:
        try:
            scenario = builder.scenario([value])
        except ScenarioError:
            continue
        full = pack_parameters(scenario)
        fast = builder.pack(scenario)
        assert fast.tobytes() == full.tobytes(), (dotted, value, np.flatnonzero(fast != full))
        return True
    return False


def test_every_section_key_packs_as_the_whole_row(with_every_policy: Scenario) -> None:
    """Each real-valued leaf of every section: the column keys (fast path) and the others (whole row)."""
    column_keys = {key for column in parameter_columns() for key in column.keys}
    checked = fast = 0
    for section, info in Scenario.model_fields.items():
        if section in ("policies", "uncertain", "uncertain_correlations", "labs", "archetypes") or not is_model(
                info.annotation):
            continue
        for key, where in leaves(info.annotation):
            if where.type is not float:
                continue
            dotted = f"{section}.{key}"
            current = getattr(getattr(with_every_policy, section), key, None) if "." not in key else None
            if _check(with_every_policy, dotted, _other_values(current, where, key)):
                checked += 1
                fast += dotted in column_keys
    assert checked > 70 and fast > 70, (checked, fast)


def test_every_policy_key_packs_as_the_whole_row(with_every_policy: Scenario) -> None:
    checked = set()
    for table in POLICY_TABLES:
        kind = table.model_fields["kind"].annotation.__args__[0]
        policy = next(p for p in with_every_policy.policies if p.kind == kind)
        for key, where in leaves(table):
            if where.type is not float or key.startswith("trigger."):
                continue
            current = getattr(policy, key)
            if current is None:
                continue
            if _check(with_every_policy, f"policies.{policy.label}.{key}", _other_values(current, where, key)):
                checked.add(kind)
    assert checked == set(POLICY_KINDS)


def test_several_keys_at_once_and_a_key_no_column_reads(with_every_policy: Scenario) -> None:
    tax = next(p for p in with_every_policy.policies if p.kind == "compute_tax")
    keys = ["market.winner_take_all", "research.returns_to_research", f"policies.{tax.label}.rate",
            "labs.list.0.cash_usd"]
    builder = RunScenarios(with_every_policy, keys)
    assert builder.pack(with_every_policy).tobytes() == pack_parameters(with_every_policy).tobytes()
    for values in ([9.0, 1.1, 0.2, 3e9], [11.5, 1.4, 0.05, 1e9]):
        scenario = builder.scenario(values)
        assert builder.pack(scenario).tobytes() == pack_parameters(scenario).tobytes()
        assert builder.parameter_row(values).tobytes() == pack_parameters(scenario).tobytes()
    # the derived column beta = lambda / r follows returns_to_research through the fast path
    fast_only = RunScenarios(with_every_policy, keys[:3])
    scenario = fast_only.scenario([9.0, 1.4, 0.2])
    assert not fast_only.packer.whole
    assert fast_only.pack(scenario).tobytes() == pack_parameters(scenario).tobytes()
    assert not np.array_equal(fast_only.pack(scenario), pack_parameters(with_every_policy))
