"""Public names re-exported by a package but loaded on first use (PEP 562), so importing the package is cheap.

A package that re-exports its modules' names (``from economy import Simulation``, ``from runs.views import
FIGURES``) would otherwise import every module, and their dependencies (numba, pandas, matplotlib), whenever
any one name or submodule is wanted: ``from economy.params import load_scenario`` would load the engine, and
``multipolar dashboard`` the figures.  :func:`lazy_exports` gives the package its ``__all__``, ``__getattr__``
and ``__dir__`` from a table of ``module: names``; a name's module is imported when the name is first looked up
(docs/performance.md, "Start-up").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, modules: Mapping[str, tuple[str, ...]]
                 ) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``, whose submodule ``module`` exports ``names``.

    A name is looked up in its module when first asked for and then kept in the package's namespace.
    """
    home = {name: module for module, names in modules.items() for name in names}
    namespace = vars(importlib.import_module(package))

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *home})

    return sorted(home), __getattr__, __dir__
