"""The building blocks of the scenario schema: :func:`param` and the frozen section base class.

Kept apart from economy.params so that economy.policies can use them without an import cycle.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Section", "param"]


def param(
    default: Any,
    lo: float | None,
    hi: float | None,
    unit: str,
    provenance: str,
    doc: str,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> Any:
    """Declare a scenario parameter.

    ``provenance`` starts with ``data``, ``estimate`` or ``assumption`` and names its source after a colon.
    The range is closed unless ``lo_open`` / ``hi_open`` say otherwise.
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
    return Field(default, description=doc, json_schema_extra=extra, **bounds)


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    left = "-inf" if lo is None else f"{lo:g}"
    right = "inf" if hi is None else f"{hi:g}"
    return f"{'(' if lo_open or lo is None else '['}{left}, {right}{')' if hi_open or hi is None else ']'}"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)
