"""The grid of a parameter sweep: ``--grid key=start:stop:n`` axes, planes of axes, and the grid points.

A sweep is one or more **planes**; a plane is the Cartesian product of one or two axes (a 1-D line or a 2-D
phase diagram).  ``multipolar sweep`` builds one plane from its ``--grid`` options, or without any, the
default :func:`keyhole_planes`: the "flatline or foom" keyhole, two planes through the scenario's own point,
returns to research x winner-take-all strength and returns to research x the automation cap.  In a plane the
keys of the other planes keep the scenario's value, which is recorded with the point.  A swept key the scenario's
``[uncertain]`` table draws is not drawn at any point (runs.experiments.sweep): it is the grid value in its plane
and the scenario's value in the others, while the table's other keys are drawn as usual.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from economy.params import BadKey, Scenario, ScenarioError, index_key, parse_override, split_key
from runs.experiments.result import ExperimentInputError

__all__ = [
    "KEYHOLE",
    "GridAxis",
    "GridPoint",
    "Plane",
    "check_planes",
    "format_value",
    "grid_points",
    "keyhole_planes",
    "parse_grid",
    "scenario_value",
]

KEYHOLE: tuple[tuple[str, str], ...] = (
    ("research.returns_to_research", "0.4:3.6:6"),  # Davidson & Houlden (2025) prior range of r
    ("market.winner_take_all", "0:40:6"),  # gamma; gamma * alpha = 1 (lock-in) at 20 with alpha = 0.05
    ("research.max_automation", "0.5:1:6"),  # 1 = no permanent feedback bottleneck
)
"""The keyhole's axes: r on the x axis of both planes, gamma and the automation cap on the y axes."""


@dataclass(frozen=True)
class GridAxis:
    """One swept parameter: its dotted key and its values (in the order given)."""

    key: str
    values: tuple[float, ...]
    spec: str
    log: bool = False


@dataclass(frozen=True)
class Plane:
    """One or two axes whose Cartesian product is swept (x first, then y)."""

    axes: tuple[GridAxis, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(axis.key for axis in self.axes)

    @property
    def name(self) -> str:
        return " x ".join(self.keys)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(axis.values) for axis in self.axes)


@dataclass(frozen=True)
class GridPoint:
    """One point of the sweep: its plane, its values of every swept key, and the ``--set`` strings to apply."""

    index: int
    plane: int
    values: dict[str, float]
    overrides: tuple[str, ...]
    position: tuple[int, ...]  # index along each axis of its plane


def parse_grid(text: str) -> GridAxis:
    """Parse ``key=start:stop:n`` (``n`` evenly spaced values, ends included) or ``key=start:stop:n:log``.

    The key must name a scenario parameter (checked against the schema like ``--set``); the values are checked
    later, with the whole scenario at every point.
    """
    if "=" not in text:
        raise ExperimentInputError(
            f"--grid {text!r}: expected key=start:stop:n (e.g. research.returns_to_research=0.4:3.6:6)")
    key, spec = (part.strip() for part in text.split("=", 1))
    try:
        override = parse_override(f"{key}=0")
    except ScenarioError as err:
        message, prefix = str(err), f"--set {f'{key}=0'!r}: "
        raise ExperimentInputError(f"--grid {text!r}: {message.removeprefix(prefix)}") from None
    parts = [p.strip() for p in spec.split(":")]
    log = len(parts) == 4 and parts[3].lower() == "log"
    if len(parts) not in (3, 4) or (len(parts) == 4 and not log):
        raise ExperimentInputError(f"--grid {text!r}: expected {key}=start:stop:n or {key}=start:stop:n:log")
    try:
        start, stop = float(parts[0]), float(parts[1])
        n = int(parts[2])
    except ValueError:
        raise ExperimentInputError(f"--grid {text!r}: start and stop must be numbers and n an integer") from None
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise ExperimentInputError(f"--grid {text!r}: start and stop must be finite")
    if n < 1:
        raise ExperimentInputError(f"--grid {text!r}: n = {n}, need at least one value")
    if n == 1 and start != stop:
        raise ExperimentInputError(f"--grid {text!r}: one value needs start == stop")
    if log and (start <= 0.0 or stop <= 0.0):
        raise ExperimentInputError(f"--grid {text!r}: a log grid needs start and stop > 0")
    raw = np.geomspace(start, stop, n) if log else np.linspace(start, stop, n)
    values = tuple(float(f"{v:.12g}") for v in raw)
    if len(set(values)) != len(values):
        raise ExperimentInputError(f"--grid {text!r}: the values are not distinct")
    return GridAxis(override.dotted, values, text, log)


def keyhole_planes() -> tuple[Plane, ...]:
    """The default sweep: r x gamma and r x max_automation (:data:`KEYHOLE`)."""
    r, gamma, automation = (parse_grid(f"{key}={spec}") for key, spec in KEYHOLE)
    return Plane((r, gamma)), Plane((r, automation))


def check_planes(planes: Sequence[Plane], overrides: Sequence[str]) -> None:
    """A plane has one or two distinct keys, none also given by ``--set``."""
    if not planes:
        raise ExperimentInputError("a sweep needs at least one --grid")
    set_keys = {parse_override(item).dotted for item in overrides}
    for plane in planes:
        if not 1 <= len(plane.axes) <= 2:
            raise ExperimentInputError(f"{len(plane.axes)} --grid keys: a phase diagram has one or two "
                                  "(run one sweep per pair of keys)")
        if len(set(plane.keys)) != len(plane.keys):
            raise ExperimentInputError(f"--grid {plane.keys[0]} is given twice")
        for key in plane.keys:
            if key in set_keys:
                raise ExperimentInputError(f"--grid {key} is also given by --set; drop one of them")


def grid_points(planes: Sequence[Plane], base_values: dict[str, float]) -> list[GridPoint]:
    """Every point of every plane (the x axis varies fastest), numbered from 0.

    ``base_values`` holds the scenario's value of each swept key; a key outside a point's plane keeps it.
    """
    points: list[GridPoint] = []
    for p, plane in enumerate(planes):
        for position in np.ndindex(*reversed(plane.shape)):
            position = tuple(reversed(position))  # (x index, y index)
            values = dict(base_values)
            sets = []
            for axis, k in zip(plane.axes, position, strict=True):
                values[axis.key] = axis.values[k]
                sets.append(f"{axis.key}={format_value(axis.values[k])}")
            points.append(GridPoint(len(points), p, values, tuple(sets), tuple(int(k) for k in position)))
    return points


def format_value(value: Any) -> str:
    """A value as ``--set`` text: integers without a decimal point (so integer keys accept them)."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def scenario_value(scenario: Scenario, key: str) -> float:
    """The scenario's value of a dotted numeric key, a policy named by index or name (NaN if it is unset, not a
    number or names no policy)."""
    node: Any = scenario.model_dump(mode="python")
    try:
        parts = [str(part) for part in index_key(node, split_key(key))]
    except BadKey:
        return math.nan
    for part in parts:
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return math.nan
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else math.nan
