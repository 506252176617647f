"""Render the scenario parameter table (name, meaning, unit, default, range, provenance) as Markdown.

docs/model.md embeds this table between markers; a test checks it is current, so the docs cannot drift
from the schema. Regenerate with ``python -m runs.paramdoc --write docs/model.md``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from economy.archetypes import KIND_NAMES
from economy.params import Archetype, Archetypes, Labs, LabSpec, Scenario

__all__ = ["BEGIN", "END", "archetype_table", "parameter_rows", "parameter_table", "render_into"]

BEGIN = "<!-- parameter-table:begin -->"
END = "<!-- parameter-table:end -->"


def _rows(model: type[BaseModel], prefix: str, defaults: BaseModel | None) -> list[dict[str, Any]]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        value = getattr(defaults, name) if defaults is not None else field.default
        if isinstance(value, BaseModel):
            rows.extend(_rows(type(value), key + ".", value))
            continue
        if "unit" not in extra:
            continue
        rows.append({
            "key": key, "meaning": field.description or "", "unit": extra["unit"], "default": value,
            "range": extra["range"], "provenance": extra["provenance"],
        })
    return rows


def parameter_rows() -> list[dict[str, Any]]:
    """Every numeric scenario parameter with its documentation, in schema order."""
    rows: list[dict[str, Any]] = []
    for section, field in Scenario.model_fields.items():
        annotation = field.annotation
        if section == "labs":
            rows.extend(_rows(Labs, "labs.", None))
            rows.extend(_rows(LabSpec, "labs.list[].", None))
        elif section == "archetypes":
            rows.extend(_rows(Archetype, "archetypes.<kind>.", None))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(_rows(annotation, f"{section}.", annotation()))
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
