"""The building blocks of the scenario schema: :func:`param`, :func:`setting` and the frozen section base class.

Every leaf of the schema says, in its own metadata (a :class:`Packing`), how the engine reads it
(docs/model.md "Parameters"):

- ``route="row"``: only through the packed parameter row ``par[run, column]`` the kernels read, so runs of one
  batch may differ in it (an uncertain key of this route costs nothing extra in an ensemble);
- ``route="init"``: only when a run's starting state is built (the lab population, the network, the starting
  price), never through the row;
- ``route="both"``: in both places.

A ``row`` or ``both`` leaf has its own column(s) unless its ``transform`` is None (then only a derived column of
:mod:`economy.params.packing` reads it).  The transform says how the value becomes its column and shows in the
column's constant: ``market.demand_usd_per_year`` packed as its natural log is ``P_LN_MARKET_DEMAND_USD_PER_YEAR``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

__all__ = [
    "BOOLEAN",
    "IDENTITY",
    "LN",
    "LN2_OVER",
    "LN10_TIMES",
    "UNSET_IS_NEVER",
    "Packing",
    "Route",
    "Section",
    "Transform",
    "codes",
    "packing_of",
    "param",
    "setting",
]

Route = Literal["row", "init", "both"]
"""Where the engine reads a leaf: the packed row, the starting state, or both."""


@dataclass(frozen=True)
class Transform:
    """How a leaf's value becomes its packed column(s).

    ``prefix`` starts the column constant's name after ``P_`` (``LN_`` for a natural log); a transform
    filling several columns gives one constant per ``suffixes`` entry, each the start of ``width`` columns.
    ``codes`` names the numbers a choice (a ``Literal``) is packed as.  A policy field's transform with
    ``reads_table`` is applied to the whole policy table, not to the field's value (a trigger packs its policy's
    window too).
    """

    prefix: str
    formula: str
    apply: Callable[[Any], tuple[float, ...]]
    suffixes: tuple[str, ...] = ("",)
    width: int = 1
    codes: Mapping[str, float] = field(default_factory=dict)
    reads_table: bool = False

    @property
    def n_columns(self) -> int:
        return len(self.suffixes) * self.width


IDENTITY = Transform("", "x", lambda x: (float(x),))
"""The value itself (an integer as a float)."""
LN = Transform("LN_", "ln(x)", lambda x: (math.log(x),))
"""Its natural logarithm."""
LN10_TIMES = Transform("LN10_TIMES_", "x ln(10)", lambda x: (x * math.log(10.0),))
"""A log10 value (or a width in orders of magnitude) in natural-log units."""
LN2_OVER = Transform("LN2_OVER_", "ln(2) / x", lambda x: (math.log(2.0) / x,))
"""A doubling time as a continuous growth rate."""
BOOLEAN = Transform("", "1 if x else 0", lambda x: (1.0 if x else 0.0,))
"""A switch as 1 or 0."""
UNSET_IS_NEVER = Transform("", "x, or +inf if unset", lambda x: (math.inf if x is None else float(x),))
"""An optional year: unset packs as +inf (never)."""


def codes(mapping: Mapping[str, float]) -> Transform:
    """A choice packed as the number ``mapping`` gives each option (the layout also names the codes)."""
    table = dict(mapping)
    return Transform("", "code of x", lambda x: (float(table[x]),), codes=table)


@dataclass(frozen=True)
class Packing:
    """A leaf's route, its column's transform (None: no column of its own) and, for a policy, the column's value
    when no policy of that kind is given."""

    route: Route
    transform: Transform | None
    absent: tuple[float, ...] | None = None


def packing_of(info: FieldInfo | None) -> Packing | None:
    """The :class:`Packing` a field was declared with (None for a section or a container)."""
    for meta in info.metadata if info is not None else ():
        if isinstance(meta, Packing):
            return meta
    return None


_UNSET: Any = object()


def _packing(route: Route, transform: Transform | None, absent: float | tuple[float, ...] | None) -> Packing:
    if route not in ("row", "init", "both"):
        raise ValueError(f"route must be row, init or both, not {route!r}")
    if route == "init":
        if transform is not _UNSET:
            raise ValueError("a leaf read only at init has no packed column: give no transform")
        transform = None
    elif transform is _UNSET:
        transform = IDENTITY
    if absent is not None and not isinstance(absent, tuple):
        absent = (float(absent),)
    return Packing(route, transform, absent)


def param(
    default: Any,
    lo: float | None,
    hi: float | None,
    unit: str,
    provenance: str,
    doc: str,
    *,
    route: Route,
    transform: Transform | None = _UNSET,
    absent: float | tuple[float, ...] | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> Any:
    """Declare a numeric scenario parameter.

    ``provenance`` starts with ``data``, ``estimate`` or ``assumption`` and names its source after a colon.
    The range is closed unless ``lo_open`` / ``hi_open`` say otherwise.  ``route``, ``transform`` and
    ``absent`` are its :class:`Packing` (the transform defaults to :data:`IDENTITY` for a packed leaf).
    """
    tag = provenance.split(":", 1)[0].strip()
    if tag not in ("data", "estimate", "assumption"):
        raise ValueError(f"provenance tag must be data, estimate or assumption, not {tag!r}")
    bounds: dict[str, float] = {}
    if lo is not None:
        bounds["gt" if lo_open else "ge"] = lo
    if hi is not None:
        bounds["lt" if hi_open else "le"] = hi
    extra = {"unit": unit, "provenance": provenance, "range": _range_text(lo, hi, lo_open, hi_open)}
    info = Field(default, description=doc, json_schema_extra=extra, **bounds)
    info.metadata.append(_packing(route, transform, absent))
    return info


def setting(
    default: Any = _UNSET,
    *,
    route: Route,
    transform: Transform | None = _UNSET,
    absent: float | tuple[float, ...] | None = None,
    **field_options: Any,
) -> Any:
    """Declare a non-numeric leaf (a choice, a switch, a table, a name) with its :class:`Packing`;
    ``field_options`` (``description``, ``default_factory``, ``min_length``, ...) go to pydantic's ``Field``."""
    if default is not _UNSET:
        field_options["default"] = default
    info = Field(**field_options)
    info.metadata.append(_packing(route, transform, absent))
    return info


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    left = "-inf" if lo is None else f"{lo:g}"
    right = "inf" if hi is None else f"{hi:g}"
    return f"{'(' if lo_open or lo is None else '['}{left}, {right}{')' if hi_open or hi is None else ']'}"


class Section(BaseModel):
    """A frozen table of the scenario: unknown keys, NaN and inf are refused; defaults are validated too."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)
