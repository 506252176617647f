"""Loading a scenario: the TOML file, ``--set`` overrides, and one-line, user-facing errors.

A scenario is read as TOML into a nested dict, the ``--set section.key=value`` overrides are applied onto that
dict, and only then is the whole validated by :class:`economy.params.Scenario`, so an override is checked
exactly like the same value written in the file.  Every failure raises :class:`ScenarioError` whose message is
one line naming the offending key (dotted, e.g. ``research.returns_to_research``), the value given and the
allowed range or type.  Keys are resolved by the one walker of :mod:`economy.params.keys`.

Policy files (``--policy FILE``, economy.params.policy_files) join the scenario's data before the overrides
(:func:`with_policy_files`), so ``--set policies.<name>.<key>=value`` reaches their policies too.  A key names a
policy by its index or by its name (economy.params.keys); a bad value of a policy key named by name is reported
under that name.

This is the only scenario loader: the command line, the runners, the Mesa model and the notebooks use it.
The experiments also use :func:`read_toml` (policy files) and :func:`parse_toml`.
"""

from __future__ import annotations

import copy
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from economy.params.keys import BadKey, Key, Location, index_key, is_model, item_label, section_name, strip, walk
from economy.params.policies import POLICY_KINDS
from economy.params.scenario import Scenario

__all__ = [
    "Override",
    "PolicyTables",
    "ScenarioError",
    "load_scenario",
    "parse_override",
    "parse_toml",
    "read_toml",
    "scenario_dict_with_overrides",
    "validate_scenario",
    "with_policy_files",
]

class ScenarioError(ValueError):
    """Bad scenario input; ``str(err)`` is a one-line message for the user."""


class PolicyTables(Protocol):
    """What the loader reads of a policy file (economy.params.policy_files.PolicyFile): where it is and its
    tables, names filled in."""

    @property
    def path(self) -> Path: ...

    @property
    def tables(self) -> tuple[dict[str, Any], ...]: ...


class Override(typing.NamedTuple):
    """One parsed ``--set`` option."""

    key: Key
    value: Any
    text: str

    @property
    def dotted(self) -> str:
        return _dotted(self.key)


# ---------------------------------------------------------------------------------------------- public API
def load_scenario(path: str | Path, overrides: Sequence[str] = (),
                  policy_files: Sequence[PolicyTables] = ()) -> tuple[Scenario, str]:
    """Read, override and validate a scenario file.

    Parameters
    ----------
    path
        The TOML file.
    overrides
        ``section.key=value`` strings (the CLI's ``--set``); the value is parsed as a TOML value, falling back
        to a plain string.
    policy_files
        Policy files (``--policy``, economy.params.policy_files.load_policy_file) whose policies join the
        scenario's before the overrides are applied.

    Returns
    -------
    The validated scenario and the file's TOML text (for the manifest).

    Raises
    ------
    ScenarioError
        On a missing or unreadable file, malformed TOML, an unknown key, a wrong type, an out-of-range value,
        a failed cross-field check, or a malformed override.
    """
    data, text = read_toml(path)
    parsed = [parse_override(item) for item in overrides]
    source = str(path) + "".join(f" with {f.path}" for f in policy_files)
    data = _apply(with_policy_files(data, policy_files, str(path)), parsed)
    return validate_scenario(data, parsed, source=source), text


def with_policy_files(data: Mapping[str, Any], files: Sequence[PolicyTables], source: str) -> dict[str, Any]:
    """A copy of the scenario data ``data`` with the files' tables appended to its ``[[policies]]``.

    Raises :class:`ScenarioError` when two policies would have one name (naming both and where they come from)
    or a file is given twice; ``source`` names the scenario in the message.
    """
    out = dict(data)
    tables = list(out.get("policies") or [])
    origins = [f"policies.{k} of {source}" for k in range(len(tables))]
    paths: list[Path] = []
    for policy_file in files:
        if policy_file.path.resolve() in paths:
            raise ScenarioError(f"--policy {policy_file.path} is given twice")
        paths.append(policy_file.path.resolve())
        for k, table in enumerate(policy_file.tables):
            label = item_label(table)
            clash = [origin for origin, other in zip(origins, tables, strict=True) if item_label(other) == label]
            if clash:
                raise ScenarioError(f"--policy {policy_file.path}: policy name {label!r} (policies.{k} of the file) is "
                                    f"already used by {clash[0]}; give one of them another name = \"...\"")
            tables.append(dict(table))
            origins.append(f"policies.{k} of {policy_file.path}")
    out["policies"] = tables
    return out


def read_toml(path: str | Path, what: str = "scenario") -> tuple[dict[str, Any], str]:
    """Read a TOML file (a scenario, a policy file): its data and its text.

    Raises :class:`ScenarioError` (one line naming the file) when the file is missing, unreadable, not UTF-8
    or malformed; ``what`` names the kind of file in the message.
    """
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"{what} file not found: {path}")
    if not path.is_file():
        raise ScenarioError(f"{what} path is not a file: {path}")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise ScenarioError(f"cannot read {what} file {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {err.start}); a {what} is a TOML file") from None
    return parse_toml(text, str(path)), text


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """The data of a TOML text; malformed TOML raises :class:`ScenarioError` naming ``source``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{source}: malformed TOML: {_one_line(str(err))}") from None


def parse_override(text: str) -> Override:
    """Parse ``section.key=value``; the value as TOML (``3``, ``1e-3``, ``true``, ``"x"``, ``[1, 2]``) else a string.

    List items are addressed by their index (``labs.list.0.cash_usd=1e9``).  The key must name a scenario
    parameter; the value is checked later, with the rest of the scenario.
    """
    if "=" not in text:
        raise ScenarioError(f"--set {text!r}: expected section.key=value (for example research.parallelism=0.4)")
    raw_key, raw_value = text.split("=", 1)
    raw_key = raw_key.strip()
    if not raw_key or any(not part.strip() for part in raw_key.split(".")):
        raise ScenarioError(f"--set {text!r}: empty key; expected section.key=value")
    parts: list[str | int] = [int(p) if p.strip().isdigit() else p.strip() for p in raw_key.split(".")]
    key = _check_key(tuple(parts), text)
    return Override(key, _parse_value(raw_value.strip()), text)


def scenario_dict_with_overrides(data: Mapping[str, Any], overrides: Sequence[str | Override]) -> dict[str, Any]:
    """A deep copy of the scenario dict ``data`` with the overrides applied (not yet validated).

    A section the file leaves out is filled with its defaults before the override is applied, so
    ``archetypes.frontier.openness=0.5`` changes only that value and keeps the frontier's other defaults.
    """
    parsed = [item if isinstance(item, Override) else parse_override(item) for item in overrides]
    return _apply(data, parsed)


def validate_scenario(
    data: Mapping[str, Any], overrides: Sequence[str | Override] = (), *, source: str = "scenario"
) -> Scenario:
    """Validate a scenario dict; pydantic's errors become one :class:`ScenarioError` line.

    ``overrides`` (already applied to ``data``) only serve to say which bad value came from ``--set``.
    """
    parsed = [item if isinstance(item, Override) else parse_override(item) for item in overrides]
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_describe(err, parsed, source, data)) from None


# ---------------------------------------------------------------------------------------------- overrides
def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads("v = " + text)["v"]
    except tomllib.TOMLDecodeError:
        return text


def _check_key(key: Key, text: str) -> Key:
    """The key as the schema has it (table keys as strings); raise on a key the scenario does not have."""
    try:
        return walk(Scenario, key)[-1].key
    except BadKey as err:
        raise ScenarioError(f"--set {text!r}: {err}") from None


def _apply(data: Mapping[str, Any], overrides: Sequence[Override]) -> dict[str, Any]:
    out = copy.deepcopy(dict(data))
    for item in overrides:
        levels = walk(Scenario, item.key)
        node: Any = out
        for depth, part in enumerate(item.key[:-1]):
            where = _dotted(item.key[:depth + 1])
            if isinstance(node, list) and isinstance(part, str):  # an item named by its label (a policy's name)
                try:
                    part = index_key(node, (part,), _dotted(item.key[:depth]))[0]
                except BadKey as err:
                    raise ScenarioError(f"--set {item.text!r}: {err}") from None
            if isinstance(node, list):
                if not isinstance(part, int) or part >= len(node):
                    raise ScenarioError(
                        f"--set {item.text!r}: {_dotted(item.key[:depth])} has {len(node)} item(s), "
                        f"no index {part} (indices start at 0)"
                    )
                node = node[part]
            else:
                if part not in node:
                    node[part] = _default_dump(levels[depth])
                node = node[part]
            if not isinstance(node, (dict, list)):
                raise ScenarioError(f"--set {item.text!r}: {where} is {_show(node)} in the scenario, not a table")
        last = item.key[-1]
        if isinstance(node, list):
            if not isinstance(last, int) or last >= len(node):
                raise ScenarioError(f"--set {item.text!r}: no index {last} in a list of {len(node)}")
        node[last] = item.value
    return out


def _default_dump(level: Location) -> Any:
    """The default of a table the file leaves out, as plain data, so that an override changes only one value."""
    default = level.default
    if isinstance(default, BaseModel):
        return default.model_dump(mode="python")
    if isinstance(default, tuple):
        return list(default)
    return copy.deepcopy(default) if isinstance(default, (dict, list)) else {}


# ---------------------------------------------------------------------------------------------- error text
_TYPE_WORDS = {float: "a number", int: "an integer", str: "a string", bool: "true or false"}


def _describe(err: ValidationError, overrides: Sequence[Override], source: str, data: Mapping[str, Any]) -> str:
    problems = err.errors(include_url=False)
    lines = [_describe_one(problem, overrides, data) for problem in problems[:3]]
    more = f" (and {len(problems) - 3} more problem(s))" if len(problems) > 3 else ""
    return f"{source}: " + "; ".join(lines) + more


def _describe_one(problem: Mapping[str, Any], overrides: Sequence[Override], data: Mapping[str, Any]) -> str:
    loc: Key = tuple(problem["loc"])
    text = _problem_text(loc, problem)
    name = _dotted(loc)
    forms = []  # each flag with the key it sets, as typed and with a policy's name resolved to its index
    for item in overrides:
        try:
            indexed = _dotted(index_key(data, item.key))
        except BadKey:
            indexed = item.dotted
        forms.append((item, indexed))
    named = [(item, indexed) for item, indexed in forms
             if name in (item.dotted, indexed) or re.search(rf"(?<![\w.]){re.escape(item.dotted)}(?![\w])", text)]
    related = named or [(item, indexed) for item, indexed in forms
                        if name and any(name.startswith(form + ".") or form.startswith(name + ".")
                                        for form in (item.dotted, indexed))]
    # related: the flags the message names (a cross-field error), else those setting its table or key
    if not related:
        return _named_policy(text, loc, data)
    for item, indexed in related:
        if indexed != item.dotted:  # say it under the name the user gave: policies.<name>, not policies.<index>
            text = re.sub(rf"(?<![\w.]){re.escape(_dotted(index_key(data, item.key[:2])))}(?=\.)",
                          _dotted(item.key[:2]), text)
    return f"{text} (from " + ", ".join(f"--set {item.text}" for item, _ in related) + ")"


def _named_policy(text: str, loc: Key, data: Mapping[str, Any]) -> str:
    """Add the policy's name to a message about ``policies.<index>`` when its table has a name."""
    if len(loc) < 2 or loc[0] != "policies" or not isinstance(loc[1], int):
        return text
    tables = data.get("policies")
    if not isinstance(tables, list) or loc[1] >= len(tables):
        return text
    label = item_label(tables[loc[1]])
    return f"{text} (policy {label!r})" if label else text


def _problem_text(loc: Key, problem: Mapping[str, Any]) -> str:
    kind: str = problem["type"]
    given = problem.get("input")
    msg: str = _one_line(problem.get("msg", ""))
    ctx = problem.get("ctx") or {}
    name = _dotted(loc)
    if "[key]" in loc:
        at = _dotted(loc[:loc.index("[key]") - 1])
        return f"{at} has an invalid key {_show(given)}: {msg}"
    if kind == "extra_forbidden":
        parent_tp, _ = _locate(loc[:-1])
        valid = ", ".join(parent_tp.model_fields) if is_model(parent_tp) else "?"
        return f"unknown key {name} (given {_show(given)}); valid keys of {section_name(_dotted(loc[:-1]))}: {valid}"
    if kind == "missing":
        return f"missing required key {name}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        allowed = ", ".join(repr(k) for k in POLICY_KINDS)
        if kind == "union_tag_not_found":
            return f"{name} has no kind: give one of {allowed}"
        return f"{name}.kind = {_show(ctx.get('tag'))} is not a policy kind: allowed {allowed}"
    tp, info = _locate(loc)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"):
        unit = _extra(info, "unit")
        finite = "a finite number " if kind == "finite_number" else ""
        units = f" ({unit})" if unit else ""
        return f"{name} = {_show(given)} is out of range: allowed {finite}{_range(info, ctx)}{units}"
    if kind in ("value_error", "assertion_error"):
        text = _qualify(re.sub(r"^(Value|Assertion) error, ", "", msg), loc, tp)
        return text if not name or re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text) else f"{name}: {text}"
    if kind == "literal_error":
        return f"{name} = {_show(given)} is not allowed: must be {ctx.get('expected', '?')}"
    expected = _expected(tp)
    if expected is not None:
        rng = _range(info, ctx) if expected in ("a number", "an integer") else None
        within = f" in {rng}" if rng and rng != "(-inf, inf)" else ""
        return f"{name} = {_show(given)} has the wrong type: expected {expected}{within}"
    return f"{name} = {_show(given)}: {msg}"


def _locate(loc: Key) -> tuple[Any, FieldInfo | None]:
    """The type at pydantic's error location ``loc`` and the field that declares it (None, None if unknown)."""
    try:
        here = walk(Scenario, loc, tags=True)[-1] if loc else None
    except BadKey:
        return None, None
    return (strip(here.annotation), here.field) if here is not None else (Scenario, None)


def _expected(tp: Any) -> str | None:
    if tp in _TYPE_WORDS:
        return _TYPE_WORDS[tp]
    if is_model(tp):
        return "a table of keys (" + ", ".join(tp.model_fields) + ")"
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        return "an array"
    if origin is dict:
        return "a table"
    return None


def _extra(info: FieldInfo | None, name: str) -> str | None:
    extra = info.json_schema_extra if info is not None else None
    if isinstance(extra, dict) and isinstance(extra.get(name), str):
        return typing.cast(str, extra[name])
    return None


def _range(info: FieldInfo | None, ctx: Mapping[str, Any]) -> str:
    """The allowed range: the ``range`` written by ``economy.params.param``, else pydantic's constraints."""
    text = _extra(info, "range")
    if text:
        return text
    bounds: dict[str, float] = {}
    for meta in info.metadata if info is not None else ():
        for name in ("ge", "gt", "le", "lt"):
            if getattr(meta, name, None) is not None:
                bounds[name] = getattr(meta, name)
    for name in ("ge", "gt", "le", "lt"):
        if name in ctx:
            bounds[name] = ctx[name]
    left = f"[{bounds['ge']:g}" if "ge" in bounds else f"({bounds['gt']:g}" if "gt" in bounds else "(-inf"
    right = f"{bounds['le']:g}]" if "le" in bounds else f"{bounds['lt']:g})" if "lt" in bounds else "inf)"
    return f"{left}, {right}"


def _qualify(text: str, loc: Key, tp: Any) -> str:
    """Turn a validator's bare field names (``train_fraction`` or `` `n` ``) into dotted keys."""
    if not loc or not is_model(tp):
        return text
    prefix = _dotted(loc)
    fields = set(tp.model_fields)

    def quoted(match: re.Match[str]) -> str:
        return f"`{prefix}.{match.group(1)}`" if match.group(1) in fields else match.group(0)

    def bare(match: re.Match[str]) -> str:
        return f"{prefix}.{match.group(0)}" if match.group(0) in fields else match.group(0)

    text = re.sub(r"`(\w+)`", quoted, text)
    return re.sub(r"(?<![\w.`])[a-z][a-z0-9]*_[a-z0-9_]+(?![\w`])", bare, text)


def _dotted(key: Key) -> str:
    """``key`` as the user writes it: pydantic's discriminator tag of a policy table (policies.0.compute_cap.rate)
    is not part of the user's key (policies.0.rate)."""
    return ".".join(str(part) for k, part in enumerate(key)
                    if not (k >= 2 and key[k - 2] == "policies" and isinstance(key[k - 1], int)
                            and part in POLICY_KINDS))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())
