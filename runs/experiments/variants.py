"""Variants of a loaded scenario: its TOML data with more overrides (a sweep's points) or policies (a comparison's
arms), each validated exactly like a scenario file with ``--set``.

An experiment receives the scenario as loaded (:func:`economy.params.load_scenario`) with its TOML text and
overrides.  A variant starts from the file's own data, not from the validated scenario, so a value left out of
the file keeps the default the schema gives it in the variant's context, as it would in a file written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from economy.params import (
    PolicyFile,
    Scenario,
    parse_toml,
    scenario_dict_with_overrides,
    validate_scenario,
    with_policy_files,
)
from runs.experiments.result import ExperimentInputError

__all__ = ["scenario_data", "variant"]


def scenario_data(scenario: Scenario, scenario_text: str, overrides: Sequence[str],
                  policy_files: Sequence[PolicyFile] = ()) -> dict[str, Any]:
    """The TOML data of ``scenario_text`` with the ``policy_files``' policies appended and ``overrides`` applied,
    checked to validate to ``scenario`` itself.

    Raises :class:`ExperimentInputError` when the three do not belong together.
    """
    source = f"scenario {scenario.name!r}"
    data = with_policy_files(parse_toml(scenario_text, source), policy_files, source)
    data = scenario_dict_with_overrides(data, overrides)
    if validate_scenario(data, overrides, source=source) != scenario:
        raise ExperimentInputError(f"{source}: its TOML text with the overrides does not give the scenario passed "
                                   "(load both with economy.params.load_scenario)")
    return data


def variant(data: dict[str, Any], overrides: Sequence[str], extra: Sequence[str], *, source: str) -> Scenario:
    """``data`` (with ``overrides`` already applied) with the ``extra`` overrides applied, validated.

    Raises :class:`economy.params.ScenarioError` naming ``source`` and the offending key.
    """
    return validate_scenario(scenario_dict_with_overrides(data, extra), [*overrides, *extra], source=source)
