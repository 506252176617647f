"""What every experiment returns, the two ways it can fail, and the figure hooks the caller passes in.

Every runner (:func:`~runs.experiments.single.run_single`, ``run_ensemble``, ``run_sweep``, ``run_compare``,
``run_sensitivity``) takes a :class:`~runs.experiments.setup.Setup` and returns one :class:`ExperimentResult`:
its main table, its summary (what it wrote as JSON), its manifest and its output folder.  Bad input raises
:class:`ExperimentInputError` before anything is computed (the command line exits 2); an experiment that cannot
be completed raises :class:`ExperimentError` (exit 1).  A scenario that does not validate raises
:class:`economy.params.ScenarioError` (exit 2).

Experiments never draw: a caller that wants figures in the output folder passes :class:`Figures`, a bundle of
drawing functions (``runs.views.FIGURES`` holds the package's own), so an experiment also runs without them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["ExperimentError", "ExperimentInputError", "ExperimentResult", "Figures"]


class ExperimentInputError(ValueError):
    """Bad input (options, a grid, a policy list, the output folder): nothing was computed.  CLI exit code 2."""


class ExperimentError(RuntimeError):
    """The experiment could not be completed (a task kept failing); finished parts stay where they are."""


@dataclass
class ExperimentResult:
    """What a runner returns.

    Attributes
    ----------
    table
        The experiment's main table as written: ``market.parquet`` of a run (one row per step),
        ``runs.parquet`` of an ensemble, a comparison or a sensitivity study (one row per run, and per arm),
        ``points.parquet`` of a sweep (one row per grid point).
    summary
        The summary as written (``summary.json``; ``comparison.json`` of a comparison; ``sensitivity.json``).
    manifest
        The manifest as written (``manifest.json``).
    out_dir
        The output folder.
    details
        What only one kind has (a sensitivity study's :class:`~runs.experiments.sensitivity.SensitivityResult`
        under ``"analysis"``); empty for the others.
    """

    table: pd.DataFrame
    summary: dict[str, Any]
    manifest: dict[str, Any]
    out_dir: Path
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_runs(self) -> int:
        """Runs that did not finish with status ok (0 for a single run, which raises instead)."""
        return int(self.summary.get("failed_runs") or 0)


RunFigures = Callable[..., Sequence[str]]
"""``run(folder, *, market, labs, summary, graph, events)``: draws one run's figures into ``folder``, returns the
names.  ``graph`` is the lab network at the horizon (None without a network), ``events`` events.parquet."""
EnsembleFigures = Callable[..., Sequence[str]]
"""``ensemble(folder, *, table, fan, scenario_name, n_runs)``: ``table`` is runs.parquet, ``fan`` the year axis
and ``(steps, runs)`` arrays of ``hhi`` and ``frontier_quality``."""
SweepFigures = Callable[..., Sequence[str]]
"""``sweep(folder, *, points, planes, scenario, runs_per_point)``: ``points`` is points.parquet."""
CompareFigures = Callable[..., Sequence[str]]
"""``compare(folder, *, comparison)``: ``comparison`` is comparison.json."""
PolicySweepFigures = Callable[..., Sequence[str]]
"""``policy_sweep(folder, *, points, key, reference, flip, log_x, title, effects)``: a policy sweep's figures
(runs.experiments.sweep); ``effects`` pairs each grid value's label with its paired effects."""
OptimizeFigures = Callable[..., Sequence[str]]
"""``optimize(folder, *, trials, objectives, title)``: ``trials`` is trials.parquet (runs.experiments.optimize)."""
SensitivityFigures = Callable[..., Sequence[str]]
"""``sensitivity(folder, *, result, title)``: ``result`` is the study's SensitivityResult."""


@dataclass(frozen=True)
class Figures:
    """Drawing functions, one per output kind; each writes PNG files into a folder and returns their names.

    A runner calls the one of its kind (a sweep or a comparison also the ensemble one for each of its points
    or arms) after its tables are written and before its manifest, which lists the figures with the other
    outputs.  A kind left None draws nothing.
    """

    run: RunFigures | None = None
    ensemble: EnsembleFigures | None = None
    sweep: SweepFigures | None = None
    compare: CompareFigures | None = None
    sensitivity: SensitivityFigures | None = None
    policy_sweep: PolicySweepFigures | None = None
    optimize: OptimizeFigures | None = None


NO_FIGURES = Figures()


def draw(writer: Callable[..., Sequence[str]] | None, folder: Path, **data: Any) -> list[Path]:
    """Call a figure writer (if any) and return the paths of the files it wrote."""
    if writer is None:
        return []
    return [folder / name for name in writer(folder, **data)]

