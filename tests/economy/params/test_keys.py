"""The one walker of dotted keys (economy/params/keys.py): what a key names in the schema and in a scenario."""

from __future__ import annotations

import pytest
from conftest import scenario_dict

from economy.params import (
    BadKey,
    ComputeTax,
    Scenario,
    ScenarioError,
    leaves,
    load_scenario,
    locate,
    split_key,
    walk,
)
from economy.params.loading import parse_override, scenario_dict_with_overrides, validate_scenario


def test_split_key_makes_list_indices_ints() -> None:
    assert split_key("labs.list.0.cash_usd") == ("labs", "list", 0, "cash_usd")
    assert split_key("research.parallelism") == ("research", "parallelism")


def test_a_section_parameter_has_its_unit_range_default_and_route() -> None:
    where = locate(Scenario, split_key("research.parallelism"))
    assert where.type is float
    assert where.bounds() == (0.05, 1.0, False, False)
    assert where.extra("unit") == "dimensionless" and where.extra("range") == "[0.05, 1]"
    assert where.default == 0.5
    assert where.packing.route == "row"
    assert locate(Scenario, split_key("compute.price_usd_per_flop_per_year")).bounds() == (0.0, None, True, False)


def test_a_table_default_gives_its_fields_defaults() -> None:
    """``archetypes.frontier.openness`` defaults to the frontier's, not to a generic archetype's."""
    assert locate(Scenario, split_key("archetypes.frontier.openness")).default == 0.05
    assert locate(Scenario, split_key("archetypes.open_weights.openness")).default == 0.9
    assert dict(leaves(Scenario))["archetypes.frontier.openness"].default == 0.1  # the field's own default


def test_walking_a_scenario_gives_its_values_and_checks_indices(make_scenario) -> None:
    sc = make_scenario(research={"parallelism": 0.4})
    assert locate(sc, split_key("research.parallelism")).value == 0.4
    assert locate(sc, split_key("labs.list.1.cash_usd")).value == sc.labs.list[1].cash_usd
    assert locate(Scenario, split_key("labs.list.7.cash_usd")).packing.route == "init"  # the schema has no length
    with pytest.raises(BadKey, match=r"labs.list has 3 item\(s\), no index 7"):
        locate(sc, split_key("labs.list.7.cash_usd"))
    with pytest.raises(BadKey, match=r"labs\.mix has no key 'robots'"):
        locate(Scenario.model_validate(scenario_dict(labs={"n": 4, "list": []})), split_key("labs.mix.robots"))


def test_table_entries_take_their_constraint_and_their_tables_route() -> None:
    where = locate(Scenario, split_key("entry.mix.startup"))
    assert where.type is float and where.bounds() == (0.0, None, False, False)
    assert where.packing.route == "row" and where.packing.transform.prefix == "CUMULATIVE_"
    assert locate(Scenario, split_key("labs.mix.startup")).packing.route == "init"


@pytest.mark.parametrize(("key", "message"), [
    ("research.nonsense", "unknown key research.nonsense; valid keys of [research]: returns_to_research"),
    ("nonsense", "unknown key nonsense; valid keys of the top level: name"),
    ("labs.list.cash_usd", "labs.list is a list; address an item by its index, e.g. labs.list.0"),
    ("research.parallelism.x", "research.parallelism is a single value and has no key 'x'"),
    ("policies.0.nonsense", "policies.0 has no key 'nonsense' in any of its kinds"),
])
def test_a_key_the_schema_does_not_have_is_refused_with_one_line(key: str, message: str) -> None:
    with pytest.raises(BadKey) as info:
        locate(Scenario, split_key(key))
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_a_policy_key_resolves_through_the_policy_the_scenario_has(make_scenario) -> None:
    sc = make_scenario(policies=[{"kind": "compute_tax", "start_year": 2026.0, "rate": 0.5}])
    where = locate(sc, split_key("policies.0.rate"))
    assert where.value == 0.5 and where.bounds() == (0.0, 10.0, False, False)  # the compute tax's range
    assert where.packing.route == "row"
    # pydantic's error locations name the kind: the walker follows them when asked
    tagged = walk(Scenario, ("policies", 0, "windfall_tax", "rate"), tags=True)
    assert tagged[2].type is not ComputeTax and tagged[-1].bounds() == (0.0, 1.0, False, False)


def test_set_reaches_a_policy_parameter(tmp_path) -> None:
    """``--set policies.0.rate=...`` is checked by the walker like any other key, then validated."""
    path = tmp_path / "tax.toml"
    path.write_text('name = "tax"\n[labs]\nn = 4\n[[policies]]\nkind = "compute_tax"\nstart_year = 2026.0\n'
                    "rate = 0.5\n")
    scenario, _ = load_scenario(path, ["policies.0.rate=0.25"])
    assert scenario.policies[0].rate == 0.25
    with pytest.raises(ScenarioError, match=r"policies\.0\.rate = 20 is out of range: allowed"):
        load_scenario(path, ["policies.0.rate=20"])
    with pytest.raises(ScenarioError, match="policies has 1 item"):
        load_scenario(path, ["policies.3.rate=0.1"])


def test_an_override_fills_a_missing_table_with_its_defaults() -> None:
    data = scenario_dict()
    out = scenario_dict_with_overrides(data, [parse_override("archetypes.frontier.openness=0.5")])
    assert out["archetypes"]["frontier"]["openness"] == 0.5
    assert out["archetypes"]["frontier"]["cash_usd"] == 1e10  # the frontier's own default, kept
    assert "archetypes" not in data
    assert validate_scenario(out).archetypes.frontier.openness == 0.5
