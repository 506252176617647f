"""The dashboard's controls and state, generated from the schema, and the state as a URL query string.

Every numeric scenario parameter becomes a :class:`Control` with the schema's unit, range and one-line
description (:func:`runs.views.paramdoc.parameter_rows`); :data:`CONTESTED` names the ones shown first, as
sliders over a practical span inside the schema's range, the rest are "more" (number fields).  Every policy
file in ``runs/policies/`` becomes a :class:`PolicyToggle` whose numeric fields are controls too.

:class:`PageState` is what a view shows (scenario, seed, changed values, policies on and their values, single
run or ensemble) and round-trips through a query string (:meth:`PageState.to_query`,
:meth:`PageState.from_query`), so a view can be shared as a link and reloads to the same state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from economy.params import POLICY_KINDS, Scenario, read_toml
from economy.params.policies import POLICY_TABLES
from runs.experiments.grid import scenario_value
from runs.views.paramdoc import parameter_rows

__all__ = [
    "CONTESTED",
    "MAX_RUNS",
    "MODES",
    "Control",
    "PageState",
    "PolicyToggle",
    "contested_controls",
    "format_value",
    "more_controls",
    "policy_toggles",
    "scenario_files",
]

RUNS_DIR = Path(__file__).resolve().parents[1]
"""The packaged scenario files (``runs/*.toml``) and policy files (``runs/policies/*.toml``)."""
MODES: tuple[str, ...] = ("single", "ensemble")
MAX_RUNS = 400
"""Largest ensemble the page runs (a server shared by several people stays responsive)."""

CONTESTED: dict[str, tuple[str, float, float, float]] = {
    # key: (label, slider min, slider max, step); inside the schema's range
    "market.winner_take_all": ("Winner-take-all gamma", 0.0, 40.0, 1.0),
    "research.returns_to_research": ("Returns to research r", 0.2, 4.0, 0.1),
    "research.max_automation": ("Max automation (feedback bottleneck)", 0.0, 1.0, 0.05),
    "research.substitution": ("Human/AI substitution sigma", 0.1, 2.0, 0.1),
    "research.parallelism": ("Research parallelism lambda", 0.1, 1.0, 0.05),
    "market.data_flywheel": ("Data flywheel zeta", 0.0, 0.5, 0.01),
    "market.switching_years": ("Customer switching time", 0.1, 5.0, 0.1),
    "compute.hw_doubling_years": ("Hardware price-performance doubling", 1.0, 5.0, 0.1),
    "safety.racing_sensitivity": ("Racing sensitivity of safety", 0.0, 1.0, 0.05),
}
"""The contested parameters, shown first as sliders: (label, min, max, step)."""

_MORE_SECTIONS = ("research", "compute", "training", "capability", "market", "money", "safety", "network", "entry",
                  "acquisitions", "incidents", "adaptation")
"""Sections whose scalar parameters are offered under "more" (the run's shape, ``sim``, ``labs`` and ``output``,
stays the scenario file's)."""


@dataclass(frozen=True)
class Control:
    """One numeric parameter as the page shows it.

    ``key`` is the dotted scenario key (``market.winner_take_all``) or, for a policy's field,
    ``<policy file stem>.<field>``; ``lo``/``hi``/``step`` are the slider's span (None: a number field).
    """

    key: str
    label: str
    unit: str
    range_text: str
    description: str
    integer: bool = False
    lo: float | None = None
    hi: float | None = None
    step: float | None = None

    @property
    def slider(self) -> bool:
        return self.lo is not None

    def explain(self) -> str:
        """The one line under the control: what it is, its unit and allowed range."""
        return f"{self.description} Unit: {self.unit}; allowed {self.range_text}."


@dataclass(frozen=True)
class PolicyToggle:
    """A policy file of ``runs/policies/``: its name, what it does, its tables and the controls of its fields."""

    stem: str
    path: Path
    description: str
    tables: tuple[dict[str, Any], ...]
    controls: tuple[Control, ...]

    def default(self, field_key: str) -> float:
        """The file's value of ``<stem>.<field>`` (fields of the first table of the file's kind)."""
        name = field_key.split(".", 1)[1]
        return float(self.tables[0][name])

    def tables_with(self, values: Mapping[str, float]) -> list[dict[str, Any]]:
        """The file's ``[[policies]]`` tables with the page's values of its fields."""
        tables = [dict(t) for t in self.tables]
        for key, value in values.items():
            stem, name = key.split(".", 1)
            if stem == self.stem:
                tables[0][name] = value
        return tables


def format_value(value: float, integer: bool = False) -> str:
    """A control's value as the page and the URL write it (``14``, ``0.95``, ``1e+28``)."""
    if integer:
        return str(round(value))
    return f"{value:.6g}"


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    head, dot, _ = text.partition(". ")
    return head + "." if dot else text if text.endswith(".") else text + "."


def _label(key: str) -> str:
    return key.split(".", 1)[1].replace("_", " ")


@cache
def _rows() -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in parameter_rows()}


def _control(key: str, label: str, span: tuple[float, float, float] | None = None) -> Control:
    row = _rows()[key]
    integer = isinstance(row["default"], int) and not isinstance(row["default"], bool)
    lo, hi, step = span if span is not None else (None, None, None)
    return Control(key, label, row["unit"], row["range"], _first_sentence(row["meaning"]), integer, lo, hi, step)


@cache
def contested_controls() -> tuple[Control, ...]:
    """The :data:`CONTESTED` parameters as sliders, in that order."""
    return tuple(_control(key, label, (lo, hi, step)) for key, (label, lo, hi, step) in CONTESTED.items())


@cache
def more_controls() -> tuple[Control, ...]:
    """Every other scalar numeric parameter of the :data:`_MORE_SECTIONS`, in schema order (number fields)."""
    out = []
    for key, row in _rows().items():
        section = key.split(".", 1)[0]
        if section in _MORE_SECTIONS and key not in CONTESTED and row["default"] is not None and "[" not in key:
            out.append(_control(key, _label(key)))
    return tuple(out)


_POLICY_SCHEMAS = {cls.model_fields["kind"].annotation.__args__[0]: cls for cls in POLICY_TABLES}
"""Policy kind -> its schema (the ``Literal`` of its ``kind`` field)."""


@cache
def policy_toggles(folder: Path = RUNS_DIR / "policies", extra: tuple[str, ...] = ()) -> tuple[PolicyToggle, ...]:
    """One toggle per policy file of ``folder`` (sorted by name), then one per file of ``extra`` (the command's
    ``--policy`` files, replacing a packaged file of the same stem), each with a control per numeric field of its
    first table."""
    paths = {path.stem: path for path in sorted(folder.glob("*.toml"))}
    paths.update({Path(item).stem: Path(item).resolve() for item in extra})
    toggles = (_policy_toggle(path) for path in paths.values())
    return tuple(toggle for toggle in toggles if toggle is not None)


def _policy_toggle(path: Path) -> PolicyToggle | None:
    data, _ = read_toml(path, "policy")
    tables = tuple(data.get("policies") or ())
    if not tables or tables[0].get("kind") not in POLICY_KINDS:
        return None
    schema = _POLICY_SCHEMAS[tables[0]["kind"]]
    controls = []
    for name, value in tables[0].items():
        info = schema.model_fields.get(name)
        extra = (info.json_schema_extra or {}) if info is not None else {}
        if name == "kind" or not isinstance(value, (int, float)) or isinstance(value, bool) or "unit" not in extra:
            continue
        controls.append(Control(f"{path.stem}.{name}", name.replace("_", " "), str(extra["unit"]),
                                str(extra["range"]), _first_sentence(info.description or "")))
    return PolicyToggle(path.stem, path, str(data.get("description", path.stem)), tables, tuple(controls))


def scenario_files(extra: str | Path | None = None) -> dict[str, Path]:
    """The scenario picker's choices: ``runs/*.toml`` by stem, and ``extra`` (the command's SCENARIO) first."""
    files = {path.stem: path for path in sorted(RUNS_DIR.glob("*.toml"))}
    if extra is not None:
        path = Path(extra).resolve()
        files = {path.stem: path, **{k: v for k, v in files.items() if v != path}}
    return files


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class PageState:
    """What a view of the dashboard shows; equal states show equal pages.

    ``values`` holds the scenario keys the user changed (dotted key -> value), ``policy_values`` the policy
    fields changed (``<stem>.<field>`` -> value); both sorted, so equal states compare equal.
    """

    scenario: str = "baseline"
    seed: int = 0
    values: tuple[tuple[str, float], ...] = ()
    policies: tuple[str, ...] = ()
    policy_values: tuple[tuple[str, float], ...] = ()
    mode: str = "single"
    runs: int = 40
    notes: tuple[str, ...] = field(default=(), compare=False)

    def value(self, key: str, scenario: Scenario) -> float:
        """The page's value of a scenario key: the user's, else the scenario's."""
        given = dict(self.values)
        return float(given[key]) if key in given else float(scenario_value(scenario, key))

    def with_value(self, key: str, value: float | None) -> PageState:
        """This state with ``key`` set (None: back to the scenario's value)."""
        values = {k: v for k, v in self.values if k != key}
        if value is not None:
            values[key] = float(value)
        return replace(self, values=tuple(sorted(values.items())))

    def with_policy_value(self, key: str, value: float | None) -> PageState:
        values = {k: v for k, v in self.policy_values if k != key}
        if value is not None:
            values[key] = float(value)
        return replace(self, policy_values=tuple(sorted(values.items())))

    def with_policy(self, stem: str, on: bool) -> PageState:
        policies = [p for p in self.policies if p != stem] + ([stem] if on else [])
        return replace(self, policies=tuple(sorted(policies)))

    def overrides(self) -> list[str]:
        """The changed values as ``--set`` strings."""
        return [f"{key}={format_value(value)}" for key, value in self.values]

    def to_query(self) -> str:
        """The state as a URL query string (defaults left out)."""
        items: list[tuple[str, str]] = [("scenario", self.scenario)]
        if self.seed:
            items.append(("seed", str(self.seed)))
        if self.mode != "single":
            items += [("mode", self.mode), ("runs", str(self.runs))]
        if self.policies:
            items.append(("policies", ",".join(self.policies)))
        items += [(key, format_value(value)) for key, value in self.values]
        items += [(f"policy.{key}", format_value(value)) for key, value in self.policy_values]
        return urlencode(items, safe=",")

    @classmethod
    def from_query(cls, query: str | None, scenarios: Iterable[str], policies: Sequence[PolicyToggle],
                   controls: Iterable[Control]) -> PageState:
        """Read a query string; what cannot be used is left out and said in ``notes`` (never an error)."""
        known_keys = {c.key: c for c in controls}
        known_policies = {p.stem: p for p in policies}
        policy_keys = {c.key for p in policies for c in p.controls}
        state: dict[str, Any] = {}
        values: dict[str, float] = {}
        policy_values: dict[str, float] = {}
        notes: list[str] = []
        scenarios = list(scenarios)
        for key, text in parse_qsl(query or "", keep_blank_values=True):
            if key == "scenario":
                if text in scenarios:
                    state["scenario"] = text
                else:
                    notes.append(f"unknown scenario {text!r}")
            elif key in ("seed", "runs"):
                if text.isdigit() and (key == "seed" or 2 <= int(text) <= MAX_RUNS):
                    state[key] = int(text)
                else:
                    notes.append(f"{key}={text!r} is not allowed")
            elif key == "mode":
                if text in MODES:
                    state["mode"] = text
                else:
                    notes.append(f"mode={text!r}: choose {' or '.join(MODES)}")
            elif key == "policies":
                chosen = [p for p in text.split(",") if p]
                notes += [f"unknown policy {p!r}" for p in chosen if p not in known_policies]
                state["policies"] = tuple(sorted(p for p in chosen if p in known_policies))
            elif key.startswith("policy."):
                name, number = key.removeprefix("policy."), _number(text)
                if name in policy_keys and number is not None:
                    policy_values[name] = number
                else:
                    notes.append(f"{key}={text!r} is not a policy value")
            elif key in known_keys and _number(text) is not None:
                values[key] = float(text)
            else:
                notes.append(f"{key}={text!r} is not a parameter of the page")
        if state.get("scenario") is None and scenarios:
            state["scenario"] = "baseline" if "baseline" in scenarios else scenarios[0]
        return cls(values=tuple(sorted(values.items())), policy_values=tuple(sorted(policy_values.items())),
                   notes=tuple(notes), **state)

