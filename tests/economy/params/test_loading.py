"""Scenario loading: TOML, --set overrides, and the one-line error messages (economy/params/loading.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from economy.params import (
    Archetypes,
    Capability,
    Research,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_override,
    scenario_dict_with_overrides,
)

BASELINE = Path(__file__).resolve().parents[3] / "runs" / "baseline.toml"
SMALL = """\
name = "small"

[sim]
years = 2.0

[research]
returns_to_research = 1.2

[[labs.list]]
name = "A"
kind = "frontier"

[[labs.list]]
name = "B"
kind = "startup"
"""


def _range(section: type, key: str) -> str:
    """The range text economy.params.param wrote into the field's schema."""
    return section.model_fields[key].json_schema_extra["range"]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def _error(path: Path, overrides: list[str] = ()) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    message = str(info.value)
    assert "\n" not in message, "the message must be one line"
    return message


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------- happy path
def test_baseline_loads_and_returns_its_text() -> None:
    scenario, text = load_scenario(BASELINE, [])
    assert isinstance(scenario, Scenario)
    assert scenario.name == "baseline"
    assert text == BASELINE.read_text()
    assert scenario == Scenario.model_validate(tomllib.loads(text))


def test_override_equals_the_same_value_in_the_file(small: Path, tmp_path: Path) -> None:
    overridden, _ = load_scenario(small, ["research.returns_to_research=2.5", "sim.dt=0.25"])
    edited = _write(tmp_path, SMALL.replace("returns_to_research = 1.2", "returns_to_research = 2.5")
                    .replace("years = 2.0", "years = 2.0\ndt = 0.25"))
    from_file, _ = load_scenario(edited, [])
    assert overridden == from_file
    assert overridden.research.returns_to_research == 2.5


def test_override_of_a_missing_section_keeps_that_sections_other_defaults(small: Path) -> None:
    scenario, _ = load_scenario(small, ["archetypes.frontier.openness=0.5"])
    expected = Archetypes().frontier.model_copy(update={"openness": 0.5})
    assert scenario.archetypes.frontier == expected
    assert scenario.archetypes.startup == Archetypes().startup


def test_override_list_item_and_dict_key(small: Path) -> None:
    scenario, _ = load_scenario(small, ["labs.list.1.cash_usd=7e8", "labs.list.0.name=Zed"])
    assert scenario.labs.list[1].cash_usd == 7e8
    assert scenario.labs.list[0].name == "Zed"
    scenario, _ = load_scenario(small, ["labs.n=5", "labs.mix.startup=3"])
    assert scenario.labs.mix["startup"] == 3.0
    assert scenario.labs.mix["frontier"] == 0.1  # the rest of the default mix survives


@pytest.mark.parametrize(
    ("text", "value"),
    [("3", 3), ("2.5", 2.5), ("1e-3", 1e-3), ("true", True), ('"quoted"', "quoted"), ("[1, 2]", [1, 2]),
     ("plain words", "plain words"), ("", "")],
)
def test_override_values_parse_as_toml_else_string(text: str, value: object) -> None:
    assert parse_override(f"name={text}").value == value


def test_scenario_dict_with_overrides_does_not_mutate_its_input() -> None:
    data = tomllib.loads(SMALL)
    before = repr(data)
    out = scenario_dict_with_overrides(data, ["research.parallelism=0.3", "labs.list.0.cash_usd=1"])
    assert repr(data) == before
    assert out["research"]["parallelism"] == 0.3
    assert out["labs"]["list"][0]["cash_usd"] == 1


# ---------------------------------------------------------------------------------------------- file errors
def test_missing_file(tmp_path: Path) -> None:
    message = _error(tmp_path / "nope.toml")
    assert "not found" in message and "nope.toml" in message


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name = "x"\n[research]\nreturns_to_research = = 3\n')
    message = _error(path)
    assert "malformed TOML" in message and "line 3" in message


def test_unknown_key_lists_the_sections_valid_keys(small: Path, tmp_path: Path) -> None:
    message = _error(_write(tmp_path, SMALL.replace("[research]\n", "[research]\nreturn_to_research = 2\n")))
    assert "research.return_to_research" in message and "2" in message
    for key in Research.model_fields:
        assert key in message


def test_unknown_section(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, SMALL + "\n[policy]\ncap = 1\n"))
    assert "unknown key policy" in message and "research" in message and "market" in message


def test_wrong_type_names_key_value_and_range(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, SMALL.replace("returns_to_research = 1.2", 'returns_to_research = "fast"')))
    assert "research.returns_to_research" in message
    assert "'fast'" in message and "a number" in message
    assert _range(Research, "returns_to_research") in message


def test_out_of_range_names_key_value_range_and_unit(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, SMALL.replace("returns_to_research = 1.2", "returns_to_research = 20")))
    assert "research.returns_to_research = 20" in message
    assert f"allowed {_range(Research, 'returns_to_research')}" in message
    assert "dimensionless" in message


def test_out_of_range_in_a_list_item(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, SMALL.replace('kind = "startup"', 'kind = "startup"\ncash_usd = -5')))
    assert "labs.list.1.cash_usd = -5" in message and "[0, inf)" in message


def test_infinite_values_are_rejected(small: Path) -> None:
    message = _error(small, ["compute.supply_flop_per_year=inf"])
    assert "compute.supply_flop_per_year = inf" in message and "finite" in message


def test_literal_choice(small: Path) -> None:
    message = _error(small, ["market.mode=auction"])
    assert "market.mode = 'auction'" in message and "'logit'" in message and "'urn'" in message


def test_cross_field_validator_names_dotted_keys(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, SMALL + "\n[capability]\npar_human_log10_flop = 40\n"))
    assert "capability.superhuman_log10_flop" in message and "capability.par_human_log10_flop = 40" in message
    assert Capability().superhuman_log10_flop == 36.0 and "36" in message


def test_archetype_cross_field(small: Path) -> None:
    message = _error(small, ["archetypes.frontier.train_fraction=0.9"])
    assert "archetypes.frontier.train_fraction" in message and "archetypes.frontier.inference_fraction" in message
    assert "--set archetypes.frontier.train_fraction=0.9" in message


def test_scenario_level_validator_with_override(small: Path) -> None:
    message = _error(small, ["sim.dt=1e-7"])
    assert "sim.years / sim.dt" in message and "100000" in message and "--set sim.dt=1e-7" in message


def test_simon_entry_needs_the_urn_mode_and_free_columns(small: Path) -> None:
    message = _error(small, ["market.urn_entry_probability=0.3"])
    assert "market.urn_entry_probability = 0.3" in message and "market.mode" in message
    message = _error(small, ["market.mode=urn", "market.urn_entry_probability=0.3", "labs.max_entrants=0"])
    assert "labs.max_entrants = 0" in message
    message = _error(small, ["market.mode=urn", "market.urn_entry_probability=1"])
    assert "market.urn_entry_probability" in message  # p = 1 would never let a customer join a lab


# ---------------------------------------------------------------------------------------------- --set errors
def test_set_unknown_key_lists_valid_keys(small: Path) -> None:
    message = _error(small, ["research.foo=1"])
    assert "unknown key research.foo" in message
    assert all(key in message for key in Research.model_fields)


def test_set_unknown_section(small: Path) -> None:
    message = _error(small, ["policy.cap=1"])
    assert "unknown key policy" in message and "the top level" in message and "research" in message


def test_set_without_equals(small: Path) -> None:
    message = _error(small, ["research.returns_to_research"])
    assert "research.returns_to_research" in message and "section.key=value" in message


def test_set_bad_value_type(small: Path) -> None:
    message = _error(small, ["research.returns_to_research=abc"])
    assert "research.returns_to_research = 'abc'" in message and "a number" in message
    assert _range(Research, "returns_to_research") in message
    assert "--set research.returns_to_research=abc" in message


def test_set_bad_value_range(small: Path) -> None:
    message = _error(small, ["research.max_automation=1.5"])
    assert "research.max_automation = 1.5" in message and _range(Research, "max_automation") in message


def test_set_integer_field_with_a_fraction(small: Path) -> None:
    message = _error(small, ["labs.n=2.5"])
    assert "labs.n = 2.5" in message and "an integer" in message


def test_set_key_below_a_value(small: Path) -> None:
    message = _error(small, ["sim.years.first=1"])
    assert "sim.years" in message and "'first'" in message


def test_set_list_index_out_of_range(small: Path) -> None:
    message = _error(small, ["labs.list.7.cash_usd=1"])
    assert "labs.list" in message and "7" in message and "2 item(s)" in message


def test_set_list_needs_an_index(small: Path) -> None:
    message = _error(small, ["labs.list.cash_usd=1"])
    assert "labs.list" in message and "index" in message


def test_set_unknown_key_in_a_list_item(small: Path) -> None:
    message = _error(small, ["labs.list.0.size=1"])
    assert "labs.list.0.size" in message and "compute_flop_per_year" in message


def test_partial_archetype_table_keeps_that_kinds_defaults():
    from economy.params import Archetypes

    merged = Archetypes.model_validate({"frontier": {"openness": 0.5}})
    defaults = Archetypes()
    assert merged.frontier.openness == 0.5
    assert merged.frontier.cash_usd == defaults.frontier.cash_usd
    assert merged.frontier.compute_spend_fraction == defaults.frontier.compute_spend_fraction
    assert merged.frontier != defaults.frontier
