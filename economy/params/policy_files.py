"""Policy files (``--policy FILE``): ``[[policies]]`` tables kept apart from a scenario, and how they join one.

A policy file holds one or more ``[[policies]]`` tables and optionally ``name`` and ``description``; any other
top-level key is an error.  A file with several tables is a policy package.  Every policy has a **name**, the
part of a key that addresses it (``policies.<name>.<key>``, economy.params.keys):

- a table's own ``name = "..."``;
- else, for a file with one table, the file's ``name``, else the file's stem (``runs/policies/compute_cap.toml``
  gives ``compute_cap``);
- else (a package's tables, and the tables of a scenario's own ``[[policies]]``) its kind.

:func:`economy.params.loading.with_policy_files` appends the files' tables, their names written in, to a
scenario's data; two policies of one name are refused with a message naming both (the scenario validates the
names again, :class:`economy.params.Scenario`).  The files' own parameters are validated with the scenario they join.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from economy.params.keys import item_label
from economy.params.loading import ScenarioError, read_toml
from economy.params.policies import NAME_PATTERN, POLICY_KINDS

__all__ = ["POLICY_FILE_KEYS", "PolicyFile", "load_policy_file"]

POLICY_FILE_KEYS: tuple[str, ...] = ("policies", "name", "description")
"""The top-level keys a policy file may hold."""


@dataclass(frozen=True)
class PolicyFile:
    """A parsed policy file: its ``[[policies]]`` tables with their names filled in (not yet validated), its
    name (the file's ``name`` or stem: a comparison's arm) and its text (for the manifest)."""

    path: Path
    name: str
    description: str | None
    tables: tuple[dict[str, Any], ...]
    text: str

    @property
    def policy_names(self) -> list[str]:
        return [str(item_label(table)) for table in self.tables]


def load_policy_file(path: str | Path) -> PolicyFile:
    """Read a policy file; raises :class:`ScenarioError` (one line naming the file and the key) on a malformed one.

    Only the file's shape, each table's ``kind`` and the names are checked here; the parameters are validated
    with the scenario the file joins.
    """
    path = Path(path)
    try:
        data, text = read_toml(path, "policy")
    except ScenarioError as err:
        raise ScenarioError(f"--policy: {err}") from None
    unknown = [key for key in data if key not in POLICY_FILE_KEYS]
    if unknown:
        raise ScenarioError(f"{path}: unknown key {unknown[0]} (given {_show(data[unknown[0]])}); a policy file holds "
                            "[[policies]] tables and optionally name and description")
    tables = data.get("policies")
    if not isinstance(tables, list) or not tables:
        raise ScenarioError(f"{path}: policies is missing or empty; a policy file holds one or more [[policies]] "
                            "tables")
    for k, table in enumerate(tables):
        if not isinstance(table, dict):
            raise ScenarioError(f"{path}: policies.{k} = {_show(table)} is not a table; write [[policies]] tables")
        if "kind" not in table:
            raise ScenarioError(f"{path}: missing required key policies.{k}.kind; allowed: {', '.join(POLICY_KINDS)}")
        if table["kind"] not in POLICY_KINDS:
            raise ScenarioError(f"{path}: policies.{k}.kind = {_show(table['kind'])} is not a policy kind; allowed: "
                                f"{', '.join(POLICY_KINDS)}")
    for key in ("name", "description"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            raise ScenarioError(f"{path}: {key} = {_show(data[key])} must be a non-empty string")
    name = data.get("name", path.stem).strip()
    named = []
    for k, table in enumerate(tables):
        table = dict(table)
        if "name" not in table:
            table["name"] = name if len(tables) == 1 else table["kind"]
        if not isinstance(table["name"], str) or not re.match(NAME_PATTERN, table["name"]):
            where = f"policies.{k}.name" if "name" in tables[k] else ("name" if "name" in data else "the file's stem")
            raise ScenarioError(f"{path}: {where} gives the policy the name {table['name']!r}, which cannot be part "
                                "of a key policies.<name>.<key>: use letters, digits, _ and - (starting with a letter "
                                "or _), e.g. name = \"strict_cap\"")
        named.append(table)
    return PolicyFile(path, name, data.get("description"), tuple(named), text)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
