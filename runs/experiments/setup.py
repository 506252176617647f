"""What every experiment is given besides its own options: one :class:`Setup`.

Every runner takes a setup first and its kind's options after it, and returns an
:class:`~runs.experiments.result.ExperimentResult`::

    run_single(setup)
    run_ensemble(setup, runs=1000, record_labs=False)
    run_sweep(setup, runs=50, planes=None, keep_series=False, target=None, min_effects=None)
    run_compare(setup, policies=[...], runs=1000, keep_series=False, min_effects=None)
    run_optimize(setup, search=[...], objectives=[...], constraints=(), trials=40, runs=100)
    run_sensitivity(setup, method="sobol", samples=256, outputs=(...), ...)

A sweep or a comparison runs its points or arms as ensembles of a derived setup (its own scenario, overrides,
folder and progress), so nested experiments need no further plumbing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from economy.params import PolicyFile, Scenario, load_policy_file, load_scenario
from runs.experiments.execution import Execution, Progress
from runs.experiments.outputs import default_output_dir
from runs.experiments.result import NO_FIGURES, Figures

if TYPE_CHECKING:  # imported by the experiments that draw from one (scipy, for a single run's start-up)
    from runs.experiments.posterior import Posterior

__all__ = ["Setup"]


@dataclass(frozen=True)
class Setup:
    """The scenario of an experiment and how to run and record it.

    Attributes
    ----------
    scenario, scenario_text
        The validated scenario and the TOML text it was read from (recorded in the manifest; a sweep's points
        and a comparison's arms are built from it, :mod:`runs.experiments.variants`).
    seed
        The root seed (an experiment of many runs gives run ``i`` the root ``SeedSequence(seed, spawn_key=(i,))``).
    overrides
        The ``--set`` strings the scenario was loaded with.
    policy_files
        The policy files (``--policy``, :func:`economy.params.load_policy_file`) whose policies joined the
        scenario's before the overrides (:func:`economy.params.load_scenario`); a sweep's points and a
        comparison's arms keep them.
    out_dir
        The output folder; default ``runs/out/<scenario name>`` (a run) or ``runs/out/<name>-<kind>``.
    overwrite
        Also write into an output folder holding files Multipolar did not write (they are kept;
        :func:`runs.experiments.outputs.check_output_dir`).
    execution
        Where and how the runs are computed (:class:`~runs.experiments.execution.Execution`).
    command
        The command line recorded in the manifest (default ``sys.argv``).
    figures
        The figure hooks to call (:class:`~runs.experiments.result.Figures`; ``runs.views.FIGURES`` draws what
        the command line draws); none by default.
    posterior
        A calibration's posterior (``--posterior``, :class:`~runs.experiments.posterior.Posterior`): an experiment
        of many runs draws its keys from it, one parameter set per run, instead of from ``[uncertain]``.
    fixed
        Keys an ensemble does not draw from the scenario's ``[uncertain]`` table, keeping the scenario's value in
        every run (a sweep's grid keys, each point's value set by ``--set``); the other ``[uncertain]`` keys are
        drawn as without them (:meth:`runs.experiments.uncertain.UncertainPlan.without`).
    """

    scenario: Scenario
    scenario_text: str
    seed: int = 0
    overrides: Sequence[str] = ()
    policy_files: Sequence[PolicyFile] = ()
    out_dir: str | Path | None = None
    overwrite: bool = False
    execution: Execution = field(default_factory=Execution)
    command: Sequence[str] | None = None
    figures: Figures = NO_FIGURES
    posterior: Posterior | None = None
    fixed: Sequence[str] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides", tuple(self.overrides))
        object.__setattr__(self, "fixed", tuple(self.fixed))
        object.__setattr__(self, "policy_files", tuple(self.policy_files))

    @classmethod
    def load(cls, path: str | Path, overrides: Sequence[str] = (), policy_paths: Sequence[str | Path] = (),
             **options: Any) -> Setup:
        """The setup of a scenario file with the policy files at ``policy_paths`` and ``overrides``
        (:func:`economy.params.load_scenario`)."""
        files = tuple(load_policy_file(item) for item in policy_paths)
        scenario, text = load_scenario(path, overrides, files)
        return cls(scenario, text, overrides=overrides, policy_files=files, **options)

    @property
    def policy_file_entries(self) -> list[dict[str, Any]]:
        """The policy files for the manifest: path, name, the names of their policies, text and SHA-256 (the
        resolved policies are in the manifest's ``scenario.resolved``)."""
        return [{"path": str(f.path), "name": f.name, "policies": f.policy_names, "toml": f.text,
                 "sha256": hashlib.sha256(f.text.encode()).hexdigest()} for f in self.policy_files]

    def with_progress(self, progress: Progress | None) -> Setup:
        """This setup with ``progress(done, total)`` told about the runs as they finish."""
        return replace(self, execution=self.execution.with_progress(progress))

    def output_dir(self, kind: str | None = None) -> Path:
        """``out_dir``, or the default folder of an experiment of this ``kind`` (None: a single run)."""
        return Path(self.out_dir) if self.out_dir is not None else default_output_dir(self.scenario, kind)
