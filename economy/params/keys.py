"""Dotted keys: the one walk from a key such as ``labs.list.0.cash_usd`` to the schema field it names.

A key is written as in ``--set`` and ``[uncertain]``: section and field names joined by dots, list items by
their index (``labs.list.0.cash_usd``, ``policies.0.rate``), table entries by their key
(``archetypes.frontier.openness``, ``labs.mix.startup``).  An item of a list of tagged tables (the policies) may
also be named by its label, its ``name`` or else its ``kind`` (``policies.compute_cap.max_training_flop``):
:func:`item_label`, resolved to its index against a scenario's values by :func:`index_key`.  :func:`walk`
follows a key through the schema, and through a scenario's values when it is given one, and says what it found at
each step: the annotation, the field that declares it (unit, range, default, route) and the value.  The ``--set``
checks and error messages of :mod:`economy.params.loading`, the ``[uncertain]`` checks, the routes of uncertain keys
(runs.uncertain) and the parameter table of docs/model.md (runs.views.paramdoc) all use it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from economy.params.fields import Packing, packing_of

__all__ = [
    "NO_VALUE",
    "BadKey",
    "Key",
    "Location",
    "dotted",
    "index_key",
    "is_model",
    "item_label",
    "label_index",
    "leaves",
    "locate",
    "section_name",
    "split_key",
    "strip",
    "walk",
]

Key = tuple[str | int, ...]
"""A dotted key split at its dots; list indices are ints."""

NO_VALUE: Any = type("NoValue", (), {"__repr__": lambda self: "NO_VALUE"})()
"""The value of a :class:`Location` walked through the schema alone."""


class BadKey(ValueError):
    """A key the schema (or the scenario) does not have; ``str(err)`` is one line that names the key but not where
    it came from (the caller adds ``--set ...`` or ``uncertain key ...``)."""


@dataclass(frozen=True)
class Location:
    """What a key (or a prefix of it) names.

    Attributes
    ----------
    key
        The key up to here.
    annotation
        Its declared annotation (``Annotated`` and ``| None`` kept; :attr:`type` strips them).
    field
        The field that declares it: a section's field, or the constraint of a list item or a table entry
        (``Annotated[float, Field(ge=0)]``); None where there is none.
    packing
        The route and column transform of the nearest field on the way that declares one (a table entry has its
        table's).
    value
        The scenario's value here, or :data:`NO_VALUE` when walked through the schema alone.
    default
        The schema's default here (a table's default instance supplies its fields': ``archetypes.frontier.openness``
        defaults to the frontier's, not to a generic archetype's); None where there is none.
    """

    key: Key
    annotation: Any
    field: FieldInfo | None
    packing: Packing | None
    value: Any = NO_VALUE
    default: Any = None

    @property
    def type(self) -> Any:
        return strip(self.annotation)

    @property
    def dotted(self) -> str:
        return dotted(self.key)

    def bounds(self) -> tuple[float | None, float | None, bool, bool]:
        """The valid range ``(lo, hi, lo_open, hi_open)`` of a number (None: unbounded)."""
        found: dict[str, float] = {}
        for meta in self.field.metadata if self.field is not None else ():
            for name in ("ge", "gt", "le", "lt"):
                if getattr(meta, name, None) is not None:
                    found[name] = float(getattr(meta, name))
        lo = found.get("gt", found.get("ge"))
        hi = found.get("lt", found.get("le"))
        return lo, hi, "gt" in found, "lt" in found

    def extra(self, name: str) -> str | None:
        """``unit``, ``provenance`` or ``range`` as :func:`economy.params.fields.param` wrote them."""
        extra = self.field.json_schema_extra if self.field is not None else None
        if isinstance(extra, dict) and isinstance(extra.get(name), str):
            return typing.cast(str, extra[name])
        return None



def item_label(item: Any) -> str | None:
    """The label of a list item that is a tagged table: its ``name`` if set, else its ``kind`` (None otherwise);
    ``item`` is a validated table or its TOML data."""
    if isinstance(item, BaseModel):
        name, kind = getattr(item, "name", None), getattr(item, "kind", None)
    elif isinstance(item, dict):
        name, kind = item.get("name"), item.get("kind")
    else:
        return None
    label = name if isinstance(name, str) and name else kind
    return label if isinstance(label, str) else None


def label_index(items: Sequence[Any], label: str) -> int | None:
    """The index of the item labelled ``label`` (:func:`item_label`), or None."""
    found = [k for k, item in enumerate(items) if item_label(item) == label]
    return found[0] if found else None


def index_key(root: Any, key: Sequence[str | int], what: str = "") -> Key:
    """``key`` with every list item named by its label replaced by its index in ``root`` (a validated model or
    its data); raises :class:`BadKey` for a label no item has.  Other parts are kept as they are."""
    node, out = root, []
    for depth, part in enumerate(key):
        if isinstance(node, (list, tuple)):
            if isinstance(part, str) and not part.strip().isdigit():
                index = label_index(node, part)
                if index is None:
                    labels = [item_label(item) for item in node]
                    named = ", ".join(str(label) for label in labels) if labels else "none"
                    raise BadKey(f"{dotted(key[:depth]) or what} has no item named {part!r} (names: {named})")
                part = index
            part = int(part)
            node = node[part] if part < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, BaseModel):
            node = getattr(node, str(part), None)
        else:
            node = None
        out.append(part)
    return tuple(out)


def split_key(text: str) -> Key:
    """``"labs.list.0.cash_usd"`` -> ``("labs", "list", 0, "cash_usd")``."""
    return tuple(int(part) if part.strip().isdigit() else part.strip() for part in text.split("."))


def dotted(key: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in key)


def section_name(where: str) -> str:
    return f"[{where}]" if where else "the top level"


def strip(tp: Any) -> Any:
    """Remove ``Annotated`` and ``| None`` wrappers."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def walk(root: type[BaseModel] | BaseModel, key: Sequence[str | int], *, tags: bool = False) -> list[Location]:
    """The :class:`Location` of every prefix of ``key``, from its first part to the whole key.

    ``root`` is a model class (walk the schema) or an instance (walk its values too, so list indices and table
    keys are checked against what is there).  A part that names one member of a union of tables (the
    ``kind`` of a policy) picks that member when ``tags`` is true, as in pydantic's error locations; otherwise a
    union is resolved by the value, or, without one, by the first member that has the next part.  Raises
    :class:`BadKey` at the first part that does not exist.
    """
    tp: Any = root if isinstance(root, type) else type(root)
    value: Any = NO_VALUE if isinstance(root, type) else root
    field: FieldInfo | None = None
    packing: Packing | None = None
    default: Any = None
    out: list[Location] = []
    for depth, part in enumerate(key):
        here, parent = tuple(key[:depth + 1]), dotted(key[:depth])
        base = strip(tp)
        members = _union_models(base)
        if members:
            if tags and any(part in _tags(member) for member in members):
                tp = next(member for member in members if part in _tags(member))
                out.append(Location(here, tp, field, packing, value, default))
                continue
            if isinstance(value, BaseModel):
                base = type(value)
            else:
                having = [member for member in members if part in member.model_fields]
                if not having:
                    raise BadKey(f"{parent} has no key {part!r} in any of its kinds")
                base = having[0]
        if is_model(base):
            fields = base.model_fields
            if not isinstance(part, str) or part not in fields:
                raise BadKey(f"unknown key {dotted(here)}; valid keys of {section_name(parent)}: {', '.join(fields)}")
            field = fields[part]
            packing = packing_of(field) or packing
            tp = field.annotation
            value = getattr(value, part) if isinstance(value, BaseModel) else NO_VALUE
            default = getattr(default, part) if isinstance(default, BaseModel) else _field_default(field)
        elif typing.get_origin(base) in (tuple, list):
            index = int(part) if isinstance(part, str) and part.isdigit() else part
            item_tp = typing.get_args(base)[0]
            members = _union_models(strip(item_tp))
            if not isinstance(index, int) and members and all(_tags(m) for m in members):
                # an item named by its label: a policy's name, else its kind
                if value is not NO_VALUE:
                    found = label_index(value, str(index))
                    if found is None:
                        names = ", ".join(str(item_label(item)) for item in value) or "none"
                        raise BadKey(f"{parent} has no item named {index!r} (names: {names})")
                    value = value[found]
                    tp = item_tp
                else:
                    tagged = [m for m in members if index in _tags(m)]
                    tp = tagged[0] if tagged else item_tp
                field = _annotated_field(item_tp)
                default = None
                out.append(Location(here, tp, field, packing, value, default))
                continue
            if not isinstance(index, int):
                raise BadKey(f"{parent} is a list; address an item by its index, e.g. {parent}.0")
            if value is not NO_VALUE:
                if index >= len(value):
                    raise BadKey(f"{parent} has {len(value)} item(s), no index {index} (indices start at 0)")
                value = value[index]
            default = default[index] if isinstance(default, (tuple, list)) and index < len(default) else None
            tp = typing.get_args(base)[0]
            field = _annotated_field(tp)
            here = (*key[:depth], index)
        elif typing.get_origin(base) is dict:
            name = str(part)
            if value is not NO_VALUE:
                if name not in value:
                    raise BadKey(f"{parent} has no key {name!r} (keys: {', '.join(value)})")
                value = value[name]
            default = default.get(name) if isinstance(default, dict) else None
            tp = typing.get_args(base)[1]
            field = _annotated_field(tp)
            here = (*key[:depth], name)
        else:
            raise BadKey(f"{parent} is a single value and has no key {part!r}")
        out.append(Location(here, tp, field, packing, value, default))
    return out


def locate(root: type[BaseModel] | BaseModel, key: Sequence[str | int]) -> Location:
    """The :class:`Location` of the whole ``key`` (see :func:`walk`)."""
    if not key:
        raise BadKey("empty key")
    return walk(root, key)[-1]


def leaves(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Location]]:
    """Every leaf under ``model`` as ``(key, location)``, a model's own leaves before its nested tables.

    A list of tables contributes its item's leaves as ``<list>[].<leaf>``; unions and tables of values (the
    policies, ``labs.mix``, ``uncertain``) are leaves themselves.
    """
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}.{name}" if prefix else name
        base = strip(field.annotation)
        if is_model(base):
            nested.append((key, base))
        elif typing.get_origin(base) in (tuple, list) and is_model(strip(typing.get_args(base)[0])):
            nested.append((key + "[]", strip(typing.get_args(base)[0])))
        else:
            yield key, Location(tuple(key.split(".")), field.annotation, field, packing_of(field),
                                default=_field_default(field))
    for key, sub in nested:
        yield from leaves(sub, key)


def _field_default(field: FieldInfo) -> Any:
    return None if field.is_required() else field.get_default(call_default_factory=True)


def _union_models(tp: Any) -> list[type[BaseModel]]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        members = [strip(a) for a in typing.get_args(tp)]
        if members and all(is_model(m) for m in members):
            return members
    return []


def _tags(model: type[BaseModel]) -> tuple[Any, ...]:
    kind = model.model_fields.get("kind")
    return typing.get_args(kind.annotation) if kind is not None else ()


def _annotated_field(tp: Any) -> FieldInfo | None:
    if typing.get_origin(tp) is Annotated:
        for meta in typing.get_args(tp)[1:]:
            if isinstance(meta, FieldInfo):
                return meta
    return None
