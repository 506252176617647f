"""Which kernels Python may call (economy/kernels/config.py): only ``jit`` kernels have a Python entry point; a
``kernel`` one, compiled without numba's wrappers, raises TypeError when Python calls it, and runs through
``call_compiled`` (or the tests' cached entry points, tests/kernel_entries.py).  A static check keeps every Python
caller in the code base on kernels that have an entry point."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import numba
import pytest

import economy.kernels
from economy.kernels.config import InternalDispatcher, call_compiled
from economy.kernels.metrics import return_on_capital

ROOT = Path(__file__).resolve().parents[3]
PYTHON_CALLERS = ("economy", "agents", "runs", "benchmarks")
"""Packages whose Python code may call kernels (the kernels' own modules count for their undecorated functions)."""


def kernel_modules() -> dict[str, object]:
    return {module.name: importlib.import_module(module.name)
            for module in pkgutil.iter_modules(economy.kernels.__path__, "economy.kernels.")}


def internal_kernels() -> dict[str, set[str]]:
    """Per kernel module, the names of its kernels without a Python entry point."""
    return {name: {attr for attr, value in vars(module).items()
                   if isinstance(value, InternalDispatcher) and value.py_func.__module__ == name}
            for name, module in kernel_modules().items()}


def test_an_internal_kernel_refuses_a_python_call_and_runs_through_call_compiled() -> None:
    with pytest.raises(TypeError, match=r"economy\.kernels\.metrics\.return_on_capital has no Python entry point"):
        return_on_capital(1.0, 2.0)
    assert call_compiled(return_on_capital, 1.0, 2.0) == return_on_capital.py_func(1.0, 2.0) == 0.5
    assert call_compiled(return_on_capital, -50.0, 2.0) == return_on_capital.py_func(-50.0, 2.0)


def test_internal_kernels_are_compiled_without_wrappers_and_the_step_with_its_entry_point() -> None:
    from economy.kernels.step import step_batch

    internal = [kernel for names in internal_kernels().values() for kernel in names]
    assert len(internal) > 60, internal  # the helpers and the stages
    assert return_on_capital.targetoptions["no_cpython_wrapper"] is True
    assert return_on_capital.targetoptions["no_cfunc_wrapper"] is True
    assert type(step_batch) is numba.core.registry.CPUDispatcher
    assert "no_cpython_wrapper" not in step_batch.targetoptions


def _python_calls(tree: ast.AST, kernel_aliases: dict[str, set[str]],
                  imported: dict[str, str]) -> list[tuple[int, str]]:
    """(line, kernel) for each call of an internal kernel in ``tree``'s undecorated code: by a name imported from a
    kernel module, or as ``module.name`` of an imported kernel module."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in imported:
            found.append((node.lineno, imported[func.id]))
        elif (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
              and func.attr in kernel_aliases.get(func.value.id, set())):
            found.append((node.lineno, f"{func.value.id}.{func.attr}"))
    return found


def _undecorated(tree: ast.Module) -> list[ast.AST]:
    """The module's code outside compiled functions (their bodies are compiled code)."""
    def compiled(node: ast.AST) -> bool:
        return isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Name) and d.id.startswith(("jit", "kernel")) for d in node.decorator_list)
    return [node for node in tree.body if not compiled(node)]


def test_no_python_code_calls_a_kernel_without_entry_point() -> None:
    internal = internal_kernels()
    offences = []
    files = [path for package in PYTHON_CALLERS for path in sorted((ROOT / package).rglob("*.py"))]
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        own = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        imported = {name: f"{own}.{name}" for name in internal.get(own, set())}  # its own kernels, by name
        aliases: dict[str, set[str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in internal:
                for alias in node.names:
                    if alias.name in internal[node.module]:
                        imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.ImportFrom) and node.module == "economy.kernels":
                for alias in node.names:
                    aliases[alias.asname or alias.name] = internal.get(f"economy.kernels.{alias.name}", set())
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in internal and alias.asname:
                        aliases[alias.asname] = internal[alias.name]
        body = _undecorated(tree) if own.startswith("economy.kernels.") else [tree]
        for part in body:
            offences += [f"{path.relative_to(ROOT)}:{line} calls {name}"
                         for line, name in _python_calls(part, aliases, imported)]
    assert not offences, "\n".join(offences)


def test_the_static_check_sees_a_python_caller() -> None:
    source = ("from economy.kernels.metrics import return_on_capital\n"
              "from economy.kernels import money as M\n"
              "def f():\n    return return_on_capital(1.0, 2.0) + M.performance_step(0, 0, 0, 0, 0)\n")
    internal = internal_kernels()
    tree = ast.parse(source)
    calls = _python_calls(tree, {"M": internal["economy.kernels.money"]},
                          {"return_on_capital": "economy.kernels.metrics.return_on_capital"})
    assert sorted(name for _, name in calls) == ["M.performance_step", "economy.kernels.metrics.return_on_capital"]


DISABLED_JIT_RUN = """
import sys
import numpy as np
from economy.engine import Simulation
from economy.params.loading import load_scenario
scenario, _ = load_scenario("runs/baseline.toml", ["sim.years=0.25"])
np.save(sys.argv[1], Simulation(scenario, [0], record_labs=False).run().market[:, 0, :])
"""


def test_with_numba_disabled_every_kernel_runs_as_plain_python(tmp_path: Path) -> None:
    """NUMBA_DISABLE_JIT=1 (numba's debugging switch) makes ``kernel`` functions plain Python like ``jit`` ones, so a
    run still works, and gives the compiled run's record (to rounding: libm against numba's intrinsics)."""
    import os
    import subprocess
    import sys

    import numpy as np

    from economy.engine import Simulation
    from economy.params.loading import load_scenario

    out = tmp_path / "market.npy"
    subprocess.run([sys.executable, "-c", DISABLED_JIT_RUN, str(out)], cwd=ROOT, check=True, timeout=300,
                   env={**os.environ, "NUMBA_DISABLE_JIT": "1"})
    scenario, _ = load_scenario(ROOT / "runs" / "baseline.toml", ["sim.years=0.25"])
    compiled = Simulation(scenario, [0], record_labs=False).run().market[:, 0, :]
    np.testing.assert_allclose(np.load(out), compiled, rtol=1e-9, atol=0.0, equal_nan=True)
