"""The rooms and their arrows, checked from the code (docs/architecture.md).

Rooms, left to right: ``runs.cli -> runs.checks -> runs.views -> runs.experiments -> agents -> economy ->
economy.kernels``. A module may import only from its own room or from rooms to its right. Every import statement
counts: at module level, inside functions and under ``TYPE_CHECKING``. No two modules may depend on each other,
directly or around a loop, when they run (imports under ``TYPE_CHECKING``, which never run, are left out of that
check: an agent module may name its model's type, as in Mesa's examples). Each room of ``runs`` has a public API
(``__all__``), and the code outside the packages (tests, benchmarks, notebooks, docs) imports from those public
names only."""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("economy", "agents", "runs")
ROOMS = ("runs.cli", "runs.checks", "runs.views", "runs.experiments", "agents", "economy", "economy.kernels")
"""Left to right: a room may import from itself and from the rooms after it."""
PUBLIC = ("runs.cli", "runs.checks", "runs.views", "runs.experiments")
"""The packages whose public names the code outside them uses."""
OUTSIDE_IMPORTS = ("runs", *PUBLIC)
"""What tests, benchmarks, notebooks and docs may import from ``runs``."""


def _modules() -> dict[str, Path]:
    """Every module of the three packages by its dotted name."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _room(module: str) -> str:
    rooms = [room for room in ROOMS if module == room or module.startswith(room + ".")]
    return max(rooms, key=len) if rooms else module  # "runs" itself is no room


def _rank(module: str) -> int:
    room = _room(module)
    return ROOMS.index(room) if room in ROOMS else -1


def _type_only(tree: ast.Module) -> set[ast.AST]:
    """The import statements inside ``if TYPE_CHECKING:`` blocks."""
    blocks = [node for node in ast.walk(tree) if isinstance(node, ast.If)
              and "TYPE_CHECKING" in (getattr(node.test, "id", None), getattr(node.test, "attr", None))]
    return {inner for block in blocks for stmt in block.body for inner in ast.walk(stmt)}


def _imports(module: str, *, type_only: bool = True) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import of one of the three packages in ``module``, at any depth
    (without those under ``if TYPE_CHECKING:`` unless ``type_only``)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = set() if type_only else _type_only(tree)
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                yield node.lineno, target


def _graph() -> dict[str, set[str]]:
    """Which modules each module imports when it runs."""
    return {module: {target for _, target in _imports(module, type_only=False)
                     if target in MODULES and target != module} for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_loop_in(graph, set(component)) for component in components]


def _loop_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A closed path through a strongly connected component, starting and ending at its first module."""
    start = min(component)
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        for nxt in sorted(graph[path[-1]] & component):
            if nxt == start:
                return [*path, start]
            if nxt not in path:
                paths.append([*path, nxt])
    raise AssertionError(f"no loop through {sorted(component)}")


# ---------------------------------------------------------------------------------------------- the arrows
def test_the_rooms_cover_every_module() -> None:
    assert {_room(m) for m in MODULES} - set(ROOMS) == {"runs"}, "a module outside every room"
    for room in ROOMS:
        assert room in MODULES, f"room {room} has no package"


def _leftward() -> list[tuple[str, int, str]]:
    return [(m, line, target) for m in MODULES for line, target in _imports(m) if _rank(target) < _rank(m)]


def test_no_module_imports_from_a_room_above_it() -> None:
    wrong = [f"{MODULES[m].relative_to(ROOT)}:{line} imports {target} ({_room(target)} is left of {_room(m)})"
             for m, line, target in _leftward()]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checks_find_what_they_look_for() -> None:
    """The two checks above are not vacuous: a loop and an arrow pointing left are found."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert _rank("runs.experiments.ensemble") > _rank("runs.views.ensemble") > _rank("runs.checks.validation")
    assert _rank("runs.experiments") < _rank("agents.model") < _rank("economy.kernels.step")
    # imports at module level, inside a function and for type checking are seen; the last do not run
    assert {"runs.cli.common", "runs.experiments"} <= {target for _, target in _imports("runs.cli.ensemble")}
    assert "agents.model" in {target for _, target in _imports("agents.lab")}
    assert "agents.model" not in _graph()["agents.lab"]


# ---------------------------------------------------------------------------------------------- public API
@pytest.mark.parametrize("package", PUBLIC)
def test_each_room_lists_its_public_api(package: str) -> None:
    module = importlib.import_module(package)
    names = module.__all__
    assert len(set(names)) == len(names) and names, package
    for name in names:
        assert getattr(module, name) is not None, f"{package}.{name}"


SERVED = ("runs.views.app", "runs.views.dashboard", "runs.views.session")
"""The dashboard app and its session module: served by ``multipolar dashboard``, never imported by the room (they
load Mesa, which the command line must not import at start, tests/test_imports.py)."""


@pytest.mark.parametrize(("package", "extra"), [("runs.experiments", set()),
                                                ("runs.views", set()), ("runs.checks", set())])
def test_a_room_exports_every_public_name_of_its_modules(package: str, extra: set[str]) -> None:
    """The package's ``__all__`` is the union of its modules' (the dashboard app is served, not imported)."""
    union: set[str] = set()
    for name in MODULES:
        if name.startswith(package + ".") and name not in SERVED:
            union |= set(importlib.import_module(name).__all__)
    assert set(importlib.import_module(package).__all__) == union | extra


def _outside_sources() -> Iterator[tuple[str, str]]:
    for folder in ("tests", "benchmarks", "agents/examples"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        yield str(path.relative_to(ROOT)), "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def test_code_outside_the_packages_imports_their_public_names() -> None:
    pattern = re.compile(r"^\s*(?:from\s+(runs(?:\.\w+)*)\s+import|import\s+(runs(?:\.\w+)*))", re.MULTILINE)
    wrong = [f"{where}: {match.group(1) or match.group(2)}" for where, text in _outside_sources()
             for match in pattern.finditer(text) if (match.group(1) or match.group(2)) not in OUTSIDE_IMPORTS]
    assert not wrong, "imports from inside a room:\n" + "\n".join(wrong)
