"""The figure hooks the runners of :mod:`runs.experiments` are given: :data:`FIGURES` and :func:`figure_hooks`.

Each hook names its view module and function and imports them when first called, so a command that writes no
figure (``--format none``, ``multipolar dashboard``, ``--help``) never loads matplotlib (docs/performance.md,
"Start-up").  The hooks pickle by name, for Dask workers.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runs.experiments.result import Figures

__all__ = ["FIGURES", "FORMATS", "figure_hooks"]

FORMATS: tuple[str, ...] = ("png", "svg")
"""The file formats a figure can be written in (``--format png,svg``)."""

_WRITERS = {"run": ("run", "write_run_figures"), "ensemble": ("ensemble", "write_ensemble_figures"),
            "sweep": ("sweep", "write_sweep_figures"), "compare": ("compare", "write_compare_figures"),
            "sensitivity": ("sensitivity", "write_sensitivity_figures"),
            "policy_sweep": ("policy", "write_policy_sweep_figures"), "optimize": ("policy", "write_optimize_figures")}
"""Each kind of output: the module of :mod:`runs.views` and the function that write its figures."""


@dataclass(frozen=True)
class _Hook:
    """``runs.views.<module>.<name>(..., formats=formats)``, imported at the first call."""

    module: str
    name: str
    formats: tuple[str, ...]

    def __call__(self, *args: Any, **kwargs: Any) -> Sequence[str]:
        writer = getattr(importlib.import_module(f"runs.views.{self.module}"), self.name)
        return writer(*args, formats=self.formats, **kwargs)


def figure_hooks(formats: Sequence[str] = ("png",)) -> Figures:
    """The figure hooks of every kind of output, writing each figure in ``formats`` (``png``, ``svg``)."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"figure formats {list(formats)}: choose one or more of {', '.join(FORMATS)}")
    return Figures(**{kind: _Hook(module, name, tuple(formats)) for kind, (module, name) in _WRITERS.items()})


FIGURES = figure_hooks()
"""The figures the command line writes, for every kind of output (as PNG; :func:`figure_hooks` for SVG)."""
