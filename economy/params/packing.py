"""The packed parameter row the kernels read: its columns, generated from the schema, and how a scenario fills them.

Kernels receive a scenario as one float64 array ``par[run, column]`` (one row per run of a batch, so uncertain
parameters may differ between runs).  Its columns come from the schema's own metadata
(:class:`economy.params.fields.Packing`), in this order:

1. one column (or block) per packed leaf of each section, ``P_<TRANSFORM><SECTION>_<FIELD>``: the constant names
   the key it reads (``P_MARKET_WINNER_TAKE_ALL`` reads ``market.winner_take_all``; ``P_LN_...`` its natural
   log);
2. :data:`DERIVED` values computed from several keys, each declared here once with the keys it reads;
3. :data:`RUN_START` values, set when a run's starting state is built (economy.engine), not scenario parameters;
4. per policy kind, its packed fields, ``P_<KIND>_<FIELD>``, holding the field's ``absent`` value (start year
   +inf: off) when the scenario gives no policy of that kind;
5. the archetype table: the packed fields of :class:`economy.params.labs.Archetype` for each kind (entrants start
   from them), at ``P_ARCHETYPES + kind * N_ARCH_FIELDS + A_<FIELD>``.

:mod:`economy.generate_layout` writes these constants into economy/kernels/layout.py (a test checks they are
current); :func:`pack_parameters` fills a row in that layout's order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from economy.archetypes import KIND_NAMES
from economy.kernels import layout
from economy.params.fields import Transform, packing_of
from economy.params.keys import is_model
from economy.params.labs import Archetype
from economy.params.policies import POLICY_TABLES, ExportControls
from economy.params.scenario import Scenario

__all__ = [
    "DERIVED",
    "RUN_START",
    "Column",
    "Derived",
    "RowPacker",
    "archetype_columns",
    "pack_parameters",
    "parameter_columns",
    "parameter_names",
]

LN10 = math.log(10.0)


@dataclass(frozen=True)
class Column:
    """One named column (or block of ``width`` columns) of the packed row.

    ``constant`` is its index's name in economy.kernels.layout; ``keys`` the scenario keys it reads (dotted;
    ``policies.<kind>.<field>`` for a policy's, ``archetypes.<kind>.<field>`` for the archetype table's);
    ``formula`` how they become the value (``x`` for the key itself); ``value`` computes it from a scenario;
    ``absent`` is a policy column's value when the scenario gives no policy of its kind.
    """

    constant: str
    keys: tuple[str, ...]
    formula: str
    value: Callable[[Scenario], tuple[float, ...]]
    width: int = 1
    absent: tuple[float, ...] | None = None

    @property
    def name(self) -> str:
        """The column's name in ``PARAM_NAMES``: the constant without ``P_``, in lower case."""
        return self.constant.removeprefix("P_").lower()


@dataclass(frozen=True)
class Derived:
    """A column computed from several keys."""

    constant: str
    keys: tuple[str, ...]
    formula: str
    value: Callable[[Scenario], float]


def _export_cut(scenario: Scenario) -> tuple[float, float] | None:
    """The years ``[cut, reopen)`` in which export controls cut cross-bloc spillover edges, if they do."""
    for pol in scenario.policies:
        if isinstance(pol, ExportControls) and pol.cut_spillover:
            return pol.window()
    return None


def _cross_bloc_cut_year(scenario: Scenario) -> float:
    own = scenario.network.cut_cross_bloc_year
    year = math.inf if own is None else own
    cut = _export_cut(scenario)
    return year if cut is None else min(year, cut[0])


def _cross_bloc_reopen_year(scenario: Scenario) -> float:
    cut = _export_cut(scenario)
    return cut[1] if cut is not None and scenario.network.cut_cross_bloc_year is None else math.inf


_EXPORT_KEYS = ("policies.export_controls.start_year", "policies.export_controls.end_year",
                "policies.export_controls.cut_spillover")

DERIVED: tuple[Derived, ...] = (
    Derived("P_RESEARCH_PARALLELISM_OVER_RETURNS_TO_RESEARCH", ("research.parallelism", "research.returns_to_research"),
            "beta = lambda / r (docs/model.md stage 3)",
            lambda s: s.research.parallelism / s.research.returns_to_research),
    Derived("P_QUALITY_OF_MARKET_OUTSIDE_LOG10_FLOP",
            ("market.outside_log10_flop", "capability.alpha", "capability.loss_scale_flop"),
            "u_out = alpha (outside_log10_flop ln 10 - ln C_c), the outside option's quality (stage 6)",
            lambda s: s.capability.alpha * (s.market.outside_log10_flop * LN10
                                            - math.log(s.capability.loss_scale_flop))),
    Derived("P_CROSS_BLOC_CUT_YEAR", ("network.cut_cross_bloc_year", *_EXPORT_KEYS),
            "the first year whose steps carry no flow on cross-bloc edges (+inf: never; stage 5)",
            _cross_bloc_cut_year),
    Derived("P_CROSS_BLOC_REOPEN_YEAR", ("network.cut_cross_bloc_year", *_EXPORT_KEYS),
            "the year export controls end their cut (+inf: never; stage 5)", _cross_bloc_reopen_year),
)
"""Values computed from several keys, each in one place."""

RUN_START: tuple[tuple[str, str], ...] = (
    ("P_RUN_START_LOG_THETA", "ln theta of the research equation, calibrated when a run starts so that its "
                              "starting software leader grows at research.software_doubling_months (stage 3)"),
    ("P_RUN_START_FRONTIER_QUALITY", "the best starting quality u, from which demand grows with quality (stage 6)"),
)
"""Columns set by economy.engine.Simulation when it builds a run's starting state; 0 in a packed row."""


def _packed_fields(model: type) -> Iterator[tuple[str, Transform]]:
    for name, info in model.model_fields.items():
        packing = packing_of(info)
        if packing is not None and packing.transform is not None:
            yield name, packing.transform


def _section_column(section: str, name: str, transform: Transform, k: int) -> Column:
    suffix = transform.suffixes[k]
    constant = f"P_{transform.prefix}{section}_{name}{suffix}".upper()
    formula = transform.formula + (f" ({suffix.strip('_').lower()})" if suffix else "")

    def value(s: Scenario) -> tuple[float, ...]:
        full = transform.apply(getattr(getattr(s, section), name))
        return full[k * transform.width:(k + 1) * transform.width]

    return Column(constant, (f"{section}.{name}",), formula, value, transform.width)


def _policy_column(table: type, name: str, transform: Transform, k: int) -> Column:
    kind = table.model_fields["kind"].annotation.__args__[0]
    absent = packing_of(table.model_fields[name]).absent
    if absent is None or len(absent) != transform.n_columns:
        raise ValueError(f"policies.{kind}.{name}: a packed policy field needs the value of each column when no "
                         f"{kind} policy is given (param(..., absent=...))")
    suffix = transform.suffixes[k]
    constant = f"P_{transform.prefix}{kind}_{name}{suffix}".upper()
    span = slice(k * transform.width, (k + 1) * transform.width)

    def value(s: Scenario) -> tuple[float, ...]:
        for pol in s.policies:
            if isinstance(pol, table):
                return transform.apply(pol if transform.reads_table else getattr(pol, name))[span]
        return absent[span]

    formula = transform.formula + (f" ({suffix.strip('_').lower()})" if suffix else "")
    return Column(constant, (f"policies.{kind}.{name}",), formula, value, transform.width, absent[span])


@cache
def parameter_columns() -> tuple[Column, ...]:
    """The scalar columns of the packed row (everything before the archetype table), in order."""
    columns: list[Column] = []
    for section, info in Scenario.model_fields.items():
        model = info.annotation
        if not is_model(model) or section == "archetypes":
            continue
        for name, transform in _packed_fields(model):
            columns.extend(_section_column(section, name, transform, k) for k in range(len(transform.suffixes)))
    for derived in DERIVED:
        columns.append(Column(derived.constant, derived.keys, derived.formula,
                              lambda s, f=derived.value: (f(s),)))
    for constant, doc in RUN_START:
        columns.append(Column(constant, (), doc, lambda s: (0.0,)))
    for table in POLICY_TABLES:
        for name, transform in _packed_fields(table):
            columns.extend(_policy_column(table, name, transform, k) for k in range(len(transform.suffixes)))
    return tuple(columns)


@cache
def archetype_columns() -> tuple[tuple[str, str, Transform], ...]:
    """``(constant, field, transform)`` of each column of one archetype's record in the archetype table."""
    out = []
    for name, transform in _packed_fields(Archetype):
        if transform.n_columns != 1:
            raise ValueError(f"archetypes.<kind>.{name}: an archetype field packs into one column")
        out.append((f"A_{transform.prefix}{name}".upper(), name, transform))
    return tuple(out)


@cache
def parameter_names() -> tuple[str, ...]:
    """The name of every column of the packed row, in order (``PARAM_NAMES`` of economy.kernels.layout); a block's
    columns are numbered, archetype ``k``'s record is ``archetypes_<k>_<field>``."""
    names: list[str] = []
    for column in parameter_columns():
        names.extend([column.name] if column.width == 1 else [f"{column.name}_{k}" for k in range(column.width)])
    names.extend(f"archetypes_{k}_{name}" for k in range(len(KIND_NAMES)) for _, name, _ in archetype_columns())
    return tuple(names)


@cache
def _check_layout() -> None:
    if parameter_names() != layout.PARAM_NAMES:
        raise RuntimeError("economy/kernels/layout.py does not match the schema's packed columns: regenerate it "
                           "(python -m economy.generate_layout --write)")


def pack_parameters(scenario: Scenario) -> np.ndarray:
    """One row of ``par`` in the order of ``economy.kernels.layout.PARAM_NAMES``; the :data:`RUN_START` columns are 0
    (economy.engine sets them from the starting state)."""
    _check_layout()
    values: list[float] = []
    for column in parameter_columns():
        values.extend(column.value(scenario))
    values.extend(_archetype_table(scenario))
    return np.array(values, dtype=np.float64)


def _archetype_table(scenario: Scenario) -> list[float]:
    """The archetype table's values, kind after kind (the end of the packed row)."""
    values: list[float] = []
    for kind in KIND_NAMES:
        arch: Any = scenario.archetypes.of(kind)
        values.extend(transform.apply(getattr(arch, name))[0] for _, name, transform in archetype_columns())
    return values


class RowPacker:
    """:func:`pack_parameters` of scenarios that differ from one base scenario only at the given keys.

    The base's row is packed once; a scenario's row is that row with only the columns reading a changed key
    computed again from the scenario (an ensemble's runs share everything but their drawn values: a full row of
    the baseline costs about 70 us, as much as a run's validation).  ``keys`` are the columns' own keys
    (:attr:`Column.keys`): ``section.field``, ``policies.<kind>.<field>`` (every column reading a field of that
    kind is computed again, since some read the whole policy table), ``archetypes.<kind>.<field>`` (the archetype
    table is packed again).  A key no column reads falls back to packing the whole row, so the result is
    :func:`pack_parameters`'s whatever the keys (tests/economy/params/test_row_packer.py checks every key).
    """

    def __init__(self, base: Scenario, keys: Iterable[str]) -> None:
        self.base_row = pack_parameters(base)
        keys = tuple(keys)
        kinds = {key.split(".")[1] for key in keys if key.startswith("policies.")}
        self.archetypes = any(key.startswith("archetypes.") for key in keys)
        column_keys = {key for column in parameter_columns() for key in column.keys}
        self.whole = any(not (key in column_keys or key.startswith(("policies.", "archetypes."))) for key in keys)
        self.spans: list[tuple[int, int, Column]] = []
        policy_prefixes = tuple(f"policies.{kind}." for kind in kinds)
        start = 0
        for column in parameter_columns():
            if any(key in keys or (policy_prefixes and key.startswith(policy_prefixes)) for key in column.keys):
                self.spans.append((start, start + column.width, column))
            start += column.width
        self.table_start = start

    def pack(self, scenario: Scenario) -> np.ndarray:
        """The packed row of ``scenario``, equal to ``pack_parameters(scenario)``."""
        if self.whole:
            return pack_parameters(scenario)
        row = self.base_row.copy()
        for start, stop, column in self.spans:
            row[start:stop] = column.value(scenario)
        if self.archetypes:
            row[self.table_start:] = _archetype_table(scenario)
        return row
