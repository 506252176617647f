"""Policies addressed by name (economy/params/keys.py, loading.py, policy_files.py; docs/policies.md "Names").

Every numeric key of every policy kind is reached by ``--set``, by a sweep's ``--grid`` and by ``[uncertain]``
under its name ``policies.<name>.<key>``; bad names, keys and values fail with one line naming them; two
policies of one name are refused.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from economy.params import (
    POLICY_KINDS,
    Scenario,
    ScenarioError,
    leaves,
    load_policy_file,
    load_scenario,
    read_toml,
    uncertain_parameter_range,
    with_policy_files,
)
from economy.params.policies import POLICY_TABLES
from runs.experiments import RunScenarios, scenario_value, variant

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
POLICIES = ROOT / "runs" / "policies"


def _numeric_keys() -> list[tuple[str, str, Any]]:
    """``(kind, key, location)`` of every real-valued leaf of every policy kind (its trigger's too)."""
    out = []
    for table in POLICY_TABLES:
        kind = table.model_fields["kind"].annotation.__args__[0]
        for key, where in leaves(table):
            if where.type is float:
                out.append((kind, key, where))
    return out


NUMERIC = _numeric_keys()


def _value(current: float | None, where: Any, key: str) -> float:
    """A valid value other than ``current``: inside the key's range, off the current value."""
    lo, hi, _, _ = where.bounds()
    if key.endswith("year"):
        return (current or 2030.0) + 0.5
    if current is not None and current != 0.0:
        value = current * 0.9
    else:
        value = 0.3 if hi is None or hi >= 0.3 else hi / 2
    if lo is not None and value <= lo:
        value = lo + (abs(current) if current else 1.0) * 0.05
    return value


def _file(kind: str) -> Any:
    return load_policy_file(POLICIES / f"{kind}.toml")


def test_every_policy_kind_has_real_valued_keys_to_check() -> None:
    assert {kind for kind, _, _ in NUMERIC} == set(POLICY_KINDS)
    assert any(key.startswith("trigger.") for _, key, _ in NUMERIC)


@pytest.mark.parametrize(("kind", "key", "where"), [n for n in NUMERIC if not n[1].startswith("trigger.")],
                         ids=lambda x: x if isinstance(x, str) else "")
def test_every_policy_key_is_reached_by_set_grid_and_uncertain(kind: str, key: str, where: Any) -> None:
    policy_file = _file(kind)
    name = policy_file.tables[0]["name"]
    base, _ = load_scenario(BASELINE, [], [policy_file])
    current = getattr(base.policies[-1], key)
    value = _value(current, where, key)
    dotted = f"policies.{name}.{key}"
    # --set
    scenario, _ = load_scenario(BASELINE, [f"{dotted}={value!r}"], [policy_file])
    assert getattr(scenario.policies[-1], key) == pytest.approx(value)
    # --grid: the scenario's value under the name, and a grid point's variant
    if current is not None:
        assert scenario_value(base, dotted) == pytest.approx(current)
    data = with_policy_files(read_toml(BASELINE)[0], [policy_file], "baseline")
    point = variant(data, [], [f"{dotted}={value!r}"], source="baseline")
    assert getattr(point.policies[-1], key) == pytest.approx(value)
    # [uncertain]: a valid key with its range, and a run's drawn value lands in that policy
    if current is None:
        return
    lo, hi, _, _ = uncertain_parameter_range(base, dotted)
    assert (lo, hi) == where.bounds()[:2]
    drawn = RunScenarios(base, [dotted]).scenario([value])
    assert getattr(drawn.policies[-1], key) == pytest.approx(value)


def test_a_triggers_keys_are_reached_by_name() -> None:
    policy_file = _file("compute_tax")
    overrides = ["policies.compute_tax.trigger.observe=hhi", "policies.compute_tax.trigger.above=2500",
                 "policies.compute_tax.trigger.lag_years=0.5", "policies.compute_tax.trigger.for_years=1"]
    scenario, _ = load_scenario(BASELINE, overrides, [policy_file])
    trigger = scenario.policies[-1].trigger
    assert (trigger.observe, trigger.above, trigger.lag_years, trigger.for_years) == ("hhi", 2500.0, 0.5, 1.0)
    assert scenario_value(scenario, "policies.compute_tax.trigger.above") == 2500.0


def test_a_policy_is_named_by_its_name_field_its_file_stem_or_its_kind(tmp_path: Path) -> None:
    named = tmp_path / "whatever.toml"
    named.write_text('[[policies]]\nkind = "compute_tax"\nname = "carbon_style"\nstart_year = 2026.0\nrate = 0.1\n')
    stem = tmp_path / "strict_cap.toml"
    stem.write_text('[[policies]]\nkind = "compute_cap"\nstart_year = 2026.0\nmax_training_flop = 1e27\n')
    package = tmp_path / "package.toml"
    package.write_text('[[policies]]\nkind = "breakup"\nstart_year = 2026.0\nmax_share = 0.4\n'
                       '[[policies]]\nkind = "rnd_subsidy"\nstart_year = 2026.0\nrate = 0.2\n')
    files = [load_policy_file(p) for p in (named, stem, package)]
    scenario, _ = load_scenario(BASELINE, ["policies.strict_cap.max_training_flop=3e27",
                                           "policies.carbon_style.rate=0.2", "policies.breakup.max_share=0.3"], files)
    assert [p.label for p in scenario.policies] == ["carbon_style", "strict_cap", "breakup", "rnd_subsidy"]
    assert scenario.policies[1].max_training_flop == 3e27
    assert scenario.policies[0].rate == 0.2 and scenario.policies[2].max_share == 0.3
    # the index form keeps working
    by_index, _ = load_scenario(BASELINE, ["policies.1.max_training_flop=3e27"], files)
    assert by_index.policies[1].max_training_flop == 3e27


@pytest.mark.parametrize(("override", "words"), [
    ("policies.compute_cap.max_training_flop=-5", ["policies.compute_cap.max_training_flop", "-5"]),
    ("policies.compute_cap.max_training_flops=1e27", ["max_training_flops"]),
    ("policies.nosuch.rate=0.1", ["nosuch", "compute_cap"]),
    ("policies.compute_cap.start_year=1800", ["policies.compute_cap.start_year", "1800", "1900"]),
])
def test_a_bad_policy_key_or_value_names_the_key_the_value_and_the_range(override: str, words: list[str]) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASELINE, [override], [_file("compute_cap")])
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)


def test_two_policies_of_one_name_are_refused_naming_both(tmp_path: Path) -> None:
    clash = tmp_path / "clash.toml"
    clash.write_text('[[policies]]\nkind = "compute_tax"\nname = "compute_cap"\nstart_year = 2026.0\nrate = 0.1\n')
    with pytest.raises(ScenarioError, match=r"compute_cap.*already used by policies\.0"):
        load_scenario(BASELINE, [], [_file("compute_cap"), load_policy_file(clash)])
    data = read_toml(BASELINE)[0]
    data["policies"] = [{"kind": "compute_tax", "start_year": 2026.0, "rate": 0.1, "name": "same"},
                        {"kind": "compute_cap", "start_year": 2026.0, "max_training_flop": 1e27, "name": "same"}]
    with pytest.raises(ValueError, match=r"policies\.1 \(compute_cap\) and policies\.0 \(compute_tax\) are both named"):
        Scenario.model_validate(data)


def test_a_policy_file_given_twice_is_refused() -> None:
    with pytest.raises(ScenarioError, match="given twice"):
        load_scenario(BASELINE, [], [_file("compute_cap"), _file("compute_cap")])


def test_a_name_that_cannot_be_part_of_a_key_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "two words"\n[[policies]]\nkind = "compute_tax"\nstart_year = 2026.0\nrate = 0.1\n')
    with pytest.raises(ScenarioError, match="two words"):
        load_policy_file(bad)


def test_scenario_value_of_an_unknown_policy_name_is_nan() -> None:
    base, _ = load_scenario(BASELINE, [], [_file("compute_cap")])
    assert math.isnan(scenario_value(base, "policies.nosuch.rate"))
