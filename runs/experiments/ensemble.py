"""Monte Carlo ensembles: many runs of one scenario, in chunks, on Dask (or in this process).

Run ``i`` of an ensemble with root seed ``N`` has the root ``SeedSequence(N, spawn_key=(i,))`` (the same as
``SeedSequence(N).spawn(R)[i]``, built explicitly so it never depends on call order) and, when the scenario has
an ``[uncertain]`` table, row ``i`` of the Latin hypercube design (:mod:`runs.experiments.uncertain`); with a
posterior (``setup.posterior``), its keys are drawn from it instead (:mod:`runs.experiments.posterior`); keys the
setup fixes (``setup.fixed``, a sweep's grid keys) are not drawn and keep the scenario's value.  Runs are
grouped in chunks of ``K`` consecutive indices; a chunk is one compiled batch over ``(runs, labs)`` arrays
(:class:`economy.engine.Simulation`).  Since each run only ever sees its own seed, parameters and rows, a run's
results are bit-identical whatever the worker count, chunk size, retries or resumption.

Output folder (default ``runs/out/<name>-ensemble/``)::

    runs.parquet           one row per run: run, seed, spawn_key, drawn parameters, status, error, outcomes
    market/market-C.parquet  per-step market series of chunk C, with a ``run`` column
    labs/labs-C.parquet      the long lab table of chunk C (only with ``record_labs``)
    chunks/runs-C.parquet    chunk C's rows of runs.parquet: written last, it marks the chunk as done
    summary.json (with ``robustness``: runs.experiments.robustness), manifest.json, and the figures of
    ``figures.ensemble`` (the command line's: fan_hhi.png, fan_quality.png, leader_share.png, rank_shares.png)

Chunk files are written by the worker that computed the chunk (:mod:`runs.experiments.chunk`; so ``DIR`` must
be on a filesystem the workers share), each to a temporary name and then renamed, so a file is either whole or
absent.  A killed ensemble is completed by ``resume``: chunks whose marker exists are not recomputed.  Memory is
bounded by the chunk size: the driver holds per-run scalars only (and at most :data:`FAN_RUN_LIMIT` runs' series
for the fan charts).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from economy.kernels.layout import MARKET_COLUMNS
from economy.params import Scenario
from economy.streams import STREAM_NAMES
from runs.experiments.chunk import ChunkTask, OutputLayout, run_chunk, warm_up
from runs.experiments.execution import Execution
from runs.experiments.outputs import OutputFolder, atomic_file, finite_or_none
from runs.experiments.posterior import POSTERIOR_STREAM_KEY, Posterior, ensemble_design, posterior_note
from runs.experiments.result import ExperimentError, ExperimentInputError, ExperimentResult, draw
from runs.experiments.robustness import scenario_robustness
from runs.experiments.setup import Setup
from runs.experiments.stats import summarise_ensemble
from runs.experiments.uncertain import UncertainPlan, key_route

__all__ = ["FAN_RUN_LIMIT", "arm_ensembles", "check_runs_and_seed", "read_fan_series", "read_market", "run_ensemble"]

FORMAT = "multipolar-ensemble/1"
FAN_RUN_LIMIT = 20_000
"""Fan charts use the series of at most this many successful runs (the lowest run indices)."""


def arm_ensembles(setup: Setup, shared: Execution, target: Path, *, runs: int, total: int,
                  keep_series: bool = False, figures: bool = False
                  ) -> Callable[[int, Scenario, Sequence[str], str], ExperimentResult]:
    """The ensemble of each arm of an experiment with several (a sweep's points, an optimiser's trials).

    ``ensemble(k, scenario, overrides, name)`` runs ``runs`` seeds of arm ``k`` into ``target / name`` (``target``:
    the experiment's folder being written) on ``shared`` (the execution of an enclosing :meth:`Execution.shared`
    block), reporting progress through the setup's execution as runs ``k * runs + done`` of ``total``; without
    ``keep_series`` the arm's per-run market series are removed after its summary is written.  Each arm's
    ensemble figures (``setup.figures.ensemble``) are drawn only with ``figures``: at about 2 s per arm they took
    most of a many-point sweep's time, and the experiment's own figures summarise the arms.
    """
    if not figures:
        setup = replace(setup, figures=replace(setup.figures, ensemble=None))

    def ensemble(k: int, arm_scenario: Scenario, overrides: Sequence[str], name: str) -> ExperimentResult:
        def arm_progress(done: int, _total: int) -> None:
            setup.execution.report(k * runs + done, total)

        arm_setup = replace(setup, scenario=arm_scenario, overrides=tuple(overrides), out_dir=target / name,
                            execution=replace(shared, progress=arm_progress, resume=False))
        result = run_ensemble(arm_setup, runs=runs)
        if not keep_series:
            shutil.rmtree(target / name / "market", ignore_errors=True)
        return result

    return ensemble


def run_ensemble(setup: Setup, *, runs: int, record_labs: bool = False) -> ExperimentResult:
    """Run ``runs`` seeds of the setup's scenario (with its uncertain draws) and write the ensemble outputs.

    Parameters
    ----------
    setup
        The scenario, the root seed ``N`` (run ``i`` uses ``SeedSequence(N, spawn_key=(i,))``), the folder
        (default ``runs/out/<name>-ensemble``), and the execution: where the chunks run, their size ``K``
        (default :func:`runs.experiments.execution.default_chunk`; on resume: the interrupted ensemble's),
        progress, and ``resume`` (complete the ensemble already in the folder without recomputing its finished
        chunks).  ``setup.figures.ensemble`` draws the ensemble's figures into the folder.
    runs
        Number of runs ``R``.
    record_labs
        Also write the long lab table of every run (``labs/``).

    Returns
    -------
    runs.parquet, the summary (as in summary.json; ``summary["throughput"]`` says where the time went and
    how many chunks were computed or reused), the manifest and the folder.

    Raises
    ------
    ExperimentInputError
        Bad options, an output folder that cannot be used, or ``resume`` onto a different ensemble.
    ExperimentError
        A chunk task kept failing (its runs' own failures never do: they are recorded per run).
    """
    wall0 = time.perf_counter()
    scenario, seed, execution = setup.scenario, setup.seed, setup.execution
    check_runs_and_seed(runs, seed)
    execution.check()
    plan = UncertainPlan.from_scenario(scenario).without(setup.fixed)
    if setup.posterior is not None:
        setup.posterior.check(scenario)
    target = setup.output_dir("ensemble").absolute()
    layout = OutputLayout(target)
    previous = _read_state(target)
    chunk = execution.chunk
    if execution.resume and previous is not None and chunk is None:
        chunk = int(previous.get("chunk", 0)) or None
    chunk = chunk if chunk is not None else execution.chunk_size(runs)
    execution.check_memory(scenario, min(chunk, runs), record_labs=record_labs)
    identity = _identity(scenario, runs, seed, chunk, record_labs, setup.posterior, setup.fixed)
    fingerprint = _digest(identity)
    if execution.resume and previous is not None:
        if previous.get("fingerprint") != fingerprint:
            raise ExperimentInputError(
                f"--resume: {target} holds a different ensemble ({_difference(previous.get('identity'), identity)} "
                "differs); rerun without --resume to replace it, or with the same scenario, --set, --runs, --seed, "
                "--chunk, --record-labs and --posterior"
            )
        folder = OutputFolder.reused("ensemble", setup)
    else:
        folder = OutputFolder.fresh("ensemble", setup)
    layout.make(record_labs)
    folder.remove_stale_temporaries("market", "labs", "chunks")

    keys, design = ensemble_design(plan, setup.posterior, runs, seed)
    per_run_init = any(key_route(key) == "init" for key in keys)
    n_chunks = math.ceil(runs / chunk)
    todo = [c for c in range(n_chunks) if not layout.done(c, record_labs)]
    reused = n_chunks - len(todo)
    state = {"format": FORMAT, "fingerprint": fingerprint, "identity": identity, "chunk": chunk,
             "seeds": _seeds_note(seed, setup.posterior), "policy_files": setup.policy_file_entries}
    if setup.posterior is not None:
        state["posterior"] = setup.posterior.entry()
    folder.start(state)

    threads = execution.n_threads
    tasks = (
        ChunkTask(c, c * chunk, min(runs, (c + 1) * chunk), seed, scenario, keys,
                  design[c * chunk: min(runs, (c + 1) * chunk)], per_run_init, record_labs, threads, str(target))
        for c in todo
    )
    done_runs = runs - sum(min(runs, (c + 1) * chunk) - c * chunk for c in todo)
    execution.report(done_runs, runs)
    computed_runs = 0
    chunk_seconds = [0.0, 0.0]  # wall and CPU seconds spent in chunk tasks

    def on_done(report: dict[str, Any]) -> None:
        nonlocal done_runs, computed_runs
        done_runs += report["runs"]
        computed_runs += report["runs"]
        chunk_seconds[0] += report["seconds"]
        chunk_seconds[1] += report["cpu_seconds"]
        execution.report(done_runs, runs)

    ran = execution.map(run_chunk, tasks, on_done, n_tasks=len(todo),
                        warm_up=functools.partial(warm_up, scenario, min(chunk, runs)),
                        retry_hint="; finished chunks are kept: rerun with --resume")
    compute_seconds = ran.compute_seconds
    throughput = {
        "runs_computed": computed_runs, "chunks_computed": len(todo), "chunks_reused": reused,
        "compute_seconds": compute_seconds,
        "runs_per_second": computed_runs / compute_seconds if compute_seconds > 0 and computed_runs else None,
        "workers": execution.n_workers if execution.scheduler is None else None, "threads_per_worker": threads,
        "execution": ran.mode, "peak_memory_mb": ran.peak_memory_mb, "startup_seconds": ran.startup_seconds,
        "chunk_wall_seconds": chunk_seconds[0], "chunk_cpu_seconds": chunk_seconds[1],
        "runs_per_cpu_second": computed_runs / chunk_seconds[1] if chunk_seconds[1] > 0 else None,
    }
    return _finalise(setup, folder, layout, runs, chunk, n_chunks, keys, state, throughput, wall0)


def check_runs_and_seed(runs: int, seed: int) -> None:
    """Raise :class:`ExperimentInputError` for bad ``--runs`` or ``--seed``."""
    if not isinstance(runs, int) or runs < 1:
        raise ExperimentInputError(f"--runs {runs!r}: need at least one run")
    if not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ExperimentInputError(f"--seed {seed!r}: need an integer in [0, 2^63)")


def _identity(scenario: Scenario, runs: int, seed: int, chunk: int, record_labs: bool,
              posterior: Posterior | None, fixed: Sequence[str]) -> dict[str, Any]:
    """What makes two invocations the same ensemble (the resume check; a posterior by its SHA-256)."""
    try:
        version = importlib.metadata.version("multipolar")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - always installed here
        version = None
    identity = {
        "scenario": scenario.model_dump(mode="json"), "runs": runs, "seed": seed, "chunk": chunk,
        "record_labs": record_labs, "market_columns": list(MARKET_COLUMNS), "multipolar": version,
    }
    if posterior is not None:
        identity["posterior"] = posterior.sha256
    if fixed:
        identity["fixed"] = sorted(fixed)
    return identity


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, allow_nan=True).encode()).hexdigest()


def _difference(old: Any, new: dict[str, Any]) -> str:
    if not isinstance(old, dict):
        return "its manifest"
    keys = [key for key in new if old.get(key) != new[key]]
    if keys == ["scenario"]:
        sub = [k for k in new["scenario"] if (old.get("scenario") or {}).get(k) != new["scenario"][k]]
        return "the scenario (" + ", ".join(sub) + ")"
    return ", ".join(keys) or "its manifest"


def _read_state(target: Path) -> dict[str, Any] | None:
    path = target / "manifest.json"
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8")).get("ensemble")
    except (OSError, ValueError, AttributeError):
        return None
    return state if isinstance(state, dict) and state.get("format") == FORMAT else None


def _seeds_note(seed: int, posterior: Posterior | None) -> dict[str, Any]:
    """How the runs' seeds and draws derive from the root seed (the manifest's ``ensemble.seeds``)."""
    note = {
        "root_seed": seed,
        "run_root": "run i: SeedSequence(root_seed, spawn_key=(i,)) == SeedSequence(root_seed).spawn(runs)[i]",
        "run_streams": {name: f"SeedSequence(root_seed, spawn_key=(i, {k}))" for k, name in enumerate(STREAM_NAMES)},
        "design": "Latin hypercube from SeedSequence(root_seed) itself (runs.experiments.uncertain)",
    }
    if posterior is not None:
        note["posterior"] = (f"run i: one row of the posterior, drawn by weight from SeedSequence(root_seed, "
                             f"spawn_key=(i, {POSTERIOR_STREAM_KEY})) (runs.experiments.posterior)")
    return note


# ---------------------------------------------------------------------------------------------- finishing
def _finalise(setup: Setup, folder: OutputFolder, layout: OutputLayout, runs: int, chunk: int, n_chunks: int,
              keys: Sequence[str], state: dict[str, Any], throughput: dict[str, Any], wall0: float) -> ExperimentResult:
    finalise0 = time.perf_counter()
    scenario, figures, target = setup.scenario, setup.figures, folder.path
    parts = [layout.part(c) for c in range(n_chunks)]
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise ExperimentError(f"chunks missing after the run: {', '.join(missing[:5])}; rerun with --resume")
    _merge_parts(parts, target / "runs.parquet")
    folder.add(target / "runs.parquet")
    table = pd.read_parquet(target / "runs.parquet")
    if len(table) != runs or not np.array_equal(table["run"].to_numpy(), np.arange(runs)):
        raise ExperimentError(f"runs.parquet does not hold runs 0..{runs - 1} exactly once")
    summary = summarise_ensemble(table, scenario_name=scenario.name, seed=setup.seed, chunk=chunk, uncertain=keys)
    summary["robustness"] = scenario_robustness(table, keys, scenario)
    if setup.posterior is not None:
        summary["posterior"] = {**setup.posterior.entry(), "unipolar": summary["unipolar"],
                                "note": "P(unipolar) is the posterior's: " + posterior_note(setup.posterior)}
    summary["throughput"] = throughput
    summary["out_dir"] = str(target)
    drawn = [] if figures.ensemble is None else draw(
        figures.ensemble, target, table=table, fan=read_fan_series(target, n_chunks), scenario_name=scenario.name,
        n_runs=runs, robustness=summary["robustness"]["text"])
    throughput["finalise_seconds"] = time.perf_counter() - finalise0  # without the manifest's hashing
    throughput["wall_seconds"] = time.perf_counter() - wall0
    summary = finite_or_none(summary)
    folder.json(summary, "summary.json")
    folder.add(*drawn)
    for sub in ("market", "labs", "chunks"):
        folder.add(*sorted((target / sub).glob("*.parquet")))
    return ExperimentResult(table, summary, folder.complete(state), target)


def _merge_parts(parts: Sequence[Path], path: Path) -> None:
    """Concatenate the chunks' runs tables into one file, one row group per chunk (bounded memory)."""
    schemas = [pq.read_schema(p) for p in parts]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    with atomic_file(path) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for p in parts:
            table = pq.read_table(p)
            for name in schema.names:
                if name not in table.column_names:
                    table = table.append_column(name, pa.nulls(len(table), schema.field(name).type))
            writer.write_table(table.select(schema.names).cast(schema))


def read_market(out_dir: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """All runs' market series of an ensemble (sorted by run and step); mind the size for big ensembles."""
    files = sorted((Path(out_dir) / "market").glob("market-*.parquet"))
    cols = None if columns is None else list(dict.fromkeys(["run", "step", *columns]))
    frames = [frame for frame in (pd.read_parquet(f, columns=cols) for f in files) if len(frame)]
    if not frames:
        return pd.read_parquet(files[0], columns=cols) if files else pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True).sort_values(["run", "step"], kind="stable", ignore_index=True)


def read_fan_series(out_dir: Path, n_chunks: int, limit: int = FAN_RUN_LIMIT) -> dict[str, np.ndarray]:
    """Year axis and ``(steps, runs)`` arrays of HHI and frontier quality for at most ``limit`` runs."""
    years: np.ndarray | None = None
    hhi: list[np.ndarray] = []
    quality: list[np.ndarray] = []
    taken = 0
    for c in range(n_chunks):
        if taken >= limit:
            break
        path = OutputLayout(out_dir).market(c)
        table = pq.read_table(path, columns=["run", "step", "year", "hhi", "frontier_quality"])
        if table.num_rows == 0:
            continue
        steps = len(pc.unique(table["step"]))  # the recorded steps (output.market_every), the same in every run
        n = table.num_rows // steps
        keep = min(n, limit - taken)
        if years is None:
            years = table["year"].to_numpy()[:steps]
        hhi.append(table["hhi"].to_numpy().reshape(n, steps)[:keep].T)
        quality.append(table["frontier_quality"].to_numpy().reshape(n, steps)[:keep].T)
        taken += keep
    if years is None:
        return {"year": np.empty(0), "hhi": np.empty((0, 0)), "frontier_quality": np.empty((0, 0))}
    return {"year": years, "hhi": np.concatenate(hhi, axis=1), "frontier_quality": np.concatenate(quality, axis=1)}
