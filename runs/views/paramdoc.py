"""Render the scenario parameter table (name, meaning, unit, default, range, provenance) as Markdown.

docs/model.md embeds this table between markers; a test checks it is current, so the docs cannot drift
from the schema. Regenerate with ``python -m runs.views.paramdoc --write docs/model.md``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from economy.archetypes import KIND_NAMES
from economy.params import Archetype, Archetypes, Scenario, leaves

__all__ = ["BEGIN", "END", "archetype_table", "parameter_rows", "parameter_table", "render_into"]

BEGIN = "<!-- parameter-table:begin -->"
END = "<!-- parameter-table:end -->"


def _rows(model: type[BaseModel], prefix: str) -> list[dict[str, Any]]:
    """The documented parameters (those declared with a unit) under ``model``, found by the key walker."""
    return [
        {"key": key, "meaning": where.field.description or "", "unit": where.extra("unit"), "default": where.default,
         "range": where.extra("range"), "provenance": where.extra("provenance")}
        for key, where in leaves(model, prefix) if where.extra("unit") is not None
    ]


def parameter_rows() -> list[dict[str, Any]]:
    """Every numeric scenario parameter with its documentation, in schema order (a table's own parameters before
    the tables it holds); an archetype's are shown once, as ``archetypes.<kind>.*``, with the generic defaults."""
    rows: list[dict[str, Any]] = []
    for section, field in Scenario.model_fields.items():
        if section == "archetypes":
            rows.extend(_rows(Archetype, "archetypes.<kind>"))
        elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            rows.extend(_rows(field.annotation, section))
    return rows


def archetype_table() -> str:
    """Default behaviour and starting size of each archetype (the ``archetypes.<kind>`` defaults)."""
    defaults = Archetypes()
    fields = list(Archetype.model_fields)
    lines = ["| archetype | " + " | ".join(f"`{f}`" for f in fields) + " |", "|---" * (len(fields) + 1) + "|"]
    for kind in KIND_NAMES:
        arch = defaults.of(kind)
        lines.append(f"| {kind} | " + " | ".join(_fmt(getattr(arch, f)) for f in fields) + " |")
    return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def parameter_table() -> str:
    lines = [
        "| key | meaning | unit | default | range | provenance |",
        "|---|---|---|---|---|---|",
    ]
    for r in parameter_rows():
        meaning = r["meaning"].replace("|", "/")
        lines.append(
            f"| `{r['key']}` | {meaning} | {r['unit']} | {_fmt(r['default'])} | {r['range']} | {r['provenance']} |"
        )
    return "\n".join(lines) + "\n"


def render_into(text: str) -> str:
    """``text`` with the generated tables between the markers (which must both be present)."""
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"markers {BEGIN} / {END} not found")
    return head + BEGIN + "\n" + parameter_table() + "\n" + archetype_table() + END + tail


if __name__ == "__main__":
    import sys
    from pathlib import Path

    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        path = Path(sys.argv[2])
        path.write_text(render_into(path.read_text()))
    else:
        print(parameter_table() + "\n" + archetype_table(), end="")
