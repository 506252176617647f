"""One name per parameter from TOML to kernel: the packed row's columns come from the schema (issue 15).

Each packed leaf declares its route and transform with its field (economy.params.fields); economy.generate_layout
writes the column constants into economy/kernels/layout.py.  These tests check that the committed constants are
current, that each names the key it reads (and reads it), and that every key declared for the row is packed.
"""

from __future__ import annotations

import math
import re
import typing

import numpy as np
import pytest

from economy.archetypes import KIND_NAMES
from economy.generate_layout import LAYOUT_PATH, generated_block, render_into
from economy.kernels import layout as L
from economy.market_record import COUNT_COLUMNS, MARKET_COLUMNS
from economy.params import (
    Archetype,
    Scenario,
    leaves,
    pack_parameters,
    walk,
)
from economy.params.fields import IDENTITY
from economy.params.packing import DERIVED, RUN_START, archetype_columns, parameter_columns
from economy.params.policies import POLICY_TABLES


def _locate_column_key(key: str):
    """A column's key (``policies.<kind>.<field>`` for a policy's: any list item of that kind) resolved by the key
    walker."""
    parts: list[str | int] = list(key.split("."))
    if parts[0] == "policies":
        parts.insert(1, 0)
    return walk(Scenario, parts, tags=True)[-1]


def _index(column) -> int:
    return getattr(L, column.constant)


def test_the_generated_block_of_the_layout_is_current() -> None:
    text = LAYOUT_PATH.read_text()
    assert text.count(generated_block()) == 1, "run: python -m economy.generate_layout --write"
    assert render_into(text) == text


def test_every_parameter_constant_of_the_layout_is_a_declared_column() -> None:
    constants = {name for name in vars(L) if re.fullmatch(r"P_[A-Z0-9_]+", name)}
    assert constants == {column.constant for column in parameter_columns()} | {"P_ARCHETYPES"}
    columns = parameter_columns()
    starts = [_index(column) for column in columns]
    assert starts == list(np.cumsum([0] + [column.width for column in columns])[:-1])
    assert L.P_ARCHETYPES == starts[-1] + columns[-1].width
    assert L.N_PARAMS == L.P_ARCHETYPES + len(KIND_NAMES) * L.N_ARCH_FIELDS == len(L.PARAM_NAMES)


def test_every_column_constant_names_the_key_it_reads() -> None:
    """``P_<TRANSFORM><KEY>``: the transform's prefix, then the key with dots as underscores (a policy's without
    ``policies``); derived and run-start columns are declared in one place each."""
    derived = {d.constant for d in DERIVED}
    run_start = {constant for constant, _ in RUN_START}
    for column in parameter_columns():
        if column.constant in derived or column.constant in run_start:
            continue
        (key,) = column.keys
        transform = _locate_column_key(key).packing.transform
        words = key.split(".")[1:] if key.startswith("policies.") else key.split(".")
        names = {f"P_{transform.prefix}{'_'.join(words)}{suffix}".upper() for suffix in transform.suffixes}
        assert column.constant in names, (column.constant, key)
    for constant, name, transform in archetype_columns():
        assert constant == f"A_{transform.prefix}{name}".upper()
        assert getattr(L, constant) == L.ARCH_FIELDS.index(name)
    assert L.MARKET_COLUMNS == MARKET_COLUMNS and L.COUNT_COLUMNS == COUNT_COLUMNS
    for k, name in enumerate(MARKET_COLUMNS):
        assert getattr(L, f"M_{name.upper()}") == k
    # the example, spelled out
    assert L.P_MARKET_WINNER_TAKE_ALL == _index(next(c for c in parameter_columns()
                                                       if c.keys == ("market.winner_take_all",)))


def _changed(scenario: Scenario, section: str, name: str) -> tuple[float, Scenario]:
    """A valid value of ``section.name`` other than the scenario's, and the scenario with it."""
    where = walk(scenario, (section, name))[-1]
    lo, hi, _, _ = where.bounds()
    value, data = where.value, scenario.model_dump()
    for candidate in (value * 1.1 if value else 0.5, value * 0.9, (lo + hi) / 2 if lo is not None and hi else 1.0):
        if candidate == value or (lo is not None and candidate <= lo) or (hi is not None and candidate >= hi):
            continue
        try:
            return candidate, Scenario.model_validate({**data, section: {**data[section], name: candidate}})
        except ValueError:
            continue  # a cross-field check refuses it
    raise AssertionError(f"no other valid value of {section}.{name}")


def test_each_key_column_reads_its_key_and_only_its_columns_and_derived_ones_change(baseline: Scenario) -> None:
    """Changing a packed number changes its own column to the transformed value, and no column that does not
    read it."""
    urn = Scenario.model_validate({**baseline.model_dump(), "market": {**baseline.model_dump()["market"],
                                                                          "mode": "urn"}})
    base_row = pack_parameters(urn)
    checked = 0
    for column in parameter_columns():
        if len(column.keys) != 1 or column.keys[0].startswith("policies."):
            continue
        (key,) = column.keys
        section, name = key.split(".")
        where = _locate_column_key(key)
        if where.type is not float:
            continue
        value, changed = _changed(urn, section, name)
        row = pack_parameters(changed)
        start = _index(column)
        assert row[start:start + column.width].tolist() == list(where.packing.transform.apply(value)), key
        moved = {L.PARAM_NAMES[j] for j in np.flatnonzero(row != base_row)}
        allowed = {c.name for c in parameter_columns() if key in c.keys}
        assert moved <= allowed, (key, moved - allowed)
        checked += 1
    assert checked > 70


def test_the_archetype_table_holds_each_kinds_packed_fields(baseline: Scenario) -> None:
    row = pack_parameters(baseline)
    for k, kind in enumerate(KIND_NAMES):
        arch = baseline.archetypes.of(kind)
        for constant, name, transform in archetype_columns():
            assert row[L.P_ARCHETYPES + k * L.N_ARCH_FIELDS + getattr(L, constant)] == \
                transform.apply(getattr(arch, name))[0]


def test_an_absent_policy_packs_its_off_values(baseline: Scenario) -> None:
    assert baseline.policies == ()
    row = pack_parameters(baseline)
    for column in parameter_columns():
        if column.keys and column.keys[0].startswith("policies."):
            start = _index(column)
            assert tuple(row[start:start + column.width]) == column.absent
    assert all(row[getattr(L, f"P_{table.model_fields['kind'].annotation.__args__[0].upper()}_START_YEAR")]
               == math.inf for table in POLICY_TABLES)


def _declared_leaves() -> list[tuple[str, typing.Any]]:
    """``(key, location)`` of every leaf of every table: sections, list items, archetypes and each policy kind (but a
    policy's kind and name, which label it)."""
    out = [(key, where) for key, where in leaves(Scenario) if "." in key and not key.startswith("archetypes.")]
    out += [(f"archetypes.<kind>.{key}", where) for key, where in leaves(Archetype)]
    for table in POLICY_TABLES:
        kind = table.model_fields["kind"].annotation.__args__[0]
        out += [(f"policies.{kind}.{key}", where) for key, where in leaves(table) if key not in ("kind", "name")]
    return out


def test_every_leaf_declares_its_route() -> None:
    missing = [key for key, where in _declared_leaves() if where.packing is None]
    assert not missing, f"declare route= with these fields: {missing}"


def test_every_key_declared_for_the_row_is_packed() -> None:
    """A leaf routed through the row has its own column(s), or a derived column reads it; an ``init`` leaf has
    none."""
    derived_keys = {key for d in DERIVED for key in d.keys}
    own = {key for column in parameter_columns() for key in column.keys if len(column.keys) == 1}
    own |= {f"archetypes.<kind>.{name}" for _, name, _ in archetype_columns()}
    for key, where in _declared_leaves():
        packing = where.packing
        if packing.route == "init":
            assert packing.transform is None and key not in own, key
        elif packing.transform is not None:
            assert key in own, f"{key} is declared for the row but has no column"
        elif not any(key.startswith(table + ".") for table in own):  # a table packed whole (a trigger) reads it
            assert key in derived_keys, f"{key} is declared for the row without a column; no derived column reads it"
    for derived in DERIVED:
        for key in derived.keys:
            assert _locate_column_key(key).packing.route in ("row", "both"), (derived.constant, key)


def test_the_run_start_block_is_zero_in_a_packed_row(baseline: Scenario) -> None:
    row = pack_parameters(baseline)
    assert [row[getattr(L, constant)] for constant, _ in RUN_START] == [0.0] * len(RUN_START)


@pytest.mark.parametrize(("key", "transform_prefix"), [
    ("market.winner_take_all", ""), ("market.demand_usd_per_year", "LN_"), ("capability.par_human_log10_flop",
                                                                             "LN10_TIMES_"),
])
def test_named_examples(key: str, transform_prefix: str, baseline: Scenario) -> None:
    where = _locate_column_key(key)
    assert where.packing.transform.prefix == transform_prefix
    assert (where.packing.transform is IDENTITY) == (transform_prefix == "")
    column = getattr(L, f"P_{transform_prefix}{key.replace('.', '_').upper()}")
    section, name = key.split(".")
    assert pack_parameters(baseline)[column] == where.packing.transform.apply(getattr(getattr(baseline, section),
                                                                                      name))[0]
