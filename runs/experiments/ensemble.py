"""Monte Carlo ensembles: many runs of one scenario, in chunks, on Dask (or in this process).

Run ``i`` of an ensemble with root seed ``N`` has the root ``SeedSequence(N, spawn_key=(i,))`` (the same as
``SeedSequence(N).spawn(R)[i]``, built explicitly so it never depends on call order) and, when the scenario has
an ``[uncertain]`` table, row ``i`` of the Latin hypercube design (:mod:`runs.uncertain`).  Runs are grouped
in chunks of ``K`` consecutive indices; a chunk is one compiled batch over ``(runs, labs)`` arrays
(:class:`economy.engine.Simulation`).  Since each run only ever sees its own seed, parameters and rows, a run's
results are bit-identical whatever the worker count, chunk size, retries or resumption.

Output directory (default ``runs/out/<name>-ensemble/``)::

    runs.parquet           one row per run: run, seed, spawn_key, drawn parameters, status, error, outcomes
    market/market-C.parquet  per-step market series of chunk C, with a ``run`` column
    labs/labs-C.parquet      the long lab table of chunk C (only with ``record_labs``)
    chunks/runs-C.parquet    chunk C's rows of runs.parquet: written last, it marks the chunk as done
    summary.json, manifest.json, fan_hhi.png, fan_quality.png, leader_share.png, rank_shares.png

Chunk files are written by the worker that computed the chunk (so ``DIR`` must be on a filesystem the
workers share), each to a temporary name and then renamed, so a file is either whole or absent.  A killed
ensemble is completed by ``resume=True``: chunks whose marker exists are not recomputed.  Memory is bounded
by the chunk size: the driver holds per-run scalars only (and at most :data:`FAN_RUN_LIMIT` runs' series
for the fan charts).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import math
import os
import resource
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from economy.engine import Simulation
from economy.kernels.layout import MARKET_COLUMNS
from economy.params import Scenario
from economy.streams import STREAM_NAMES
from runs.ensemble_chunk import (
    ChunkTask,
    EnsembleError,
    OutputLayout,
    error_text,
    numba_threads,
    run_chunk,
    run_root,
    temporary_path,
    write_text_atomic,
)
from runs.ensemble_stats import summarise
from runs.manifest import build_manifest
from runs.single import default_output_dir, finite_or_none
from runs.uncertain import UncertainPlan

__all__ = [
    "DEFAULT_CHUNK",
    "FAN_RUN_LIMIT",
    "EnsembleError",
    "EnsembleInputError",
    "EnsembleResult",
    "check_directory",
    "check_options",
    "default_chunk",
    "default_ensemble_dir",
    "default_workers_threads",
    "fresh_directory",
    "local_cluster",
    "read_fan_series",
    "read_market",
    "run_ensemble",
    "run_root",
    "shared_scheduler",
]

FORMAT = "multipolar-ensemble/1"
DEFAULT_CHUNK = 200
"""Runs per chunk by default (about 15 MB of market series per chunk for a 20-year monthly scenario)."""
FAN_RUN_LIMIT = 20_000
"""Fan charts use the series of at most this many successful runs (the lowest run indices)."""
TASK_RETRIES = 2
"""Dask retries of a chunk task that raised (a run's own failure never raises: it is recorded)."""


class EnsembleInputError(ValueError):
    """Bad input (options, output directory, resume mismatch): nothing was computed.  CLI exit code 2."""


def default_chunk(n_runs: int) -> int:
    """Runs per chunk: :data:`DEFAULT_CHUNK`, or fewer so that small ensembles still make about 8 chunks."""
    return max(1, min(DEFAULT_CHUNK, math.ceil(n_runs / 8)))


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_workers_threads(workers: int | None, threads: int | None) -> tuple[int, int]:
    """Workers and numba threads per worker; by default one thread per worker and one worker per core.

    Parallelism comes from workers: the kernels of a chunk are small (runs x labs per step), so a second
    numba thread per worker buys little and, on a busy machine, OpenMP threads that wait for a core made
    a chunk ten times slower (docs/ensembles.md).  Threads are used when asked for.
    """
    threads = 1 if threads is None else threads
    if workers is None:
        workers = max(1, available_cores() // threads)
    return workers, threads


def default_ensemble_dir(scenario: Scenario) -> Path:
    """``runs/out/<name>-ensemble`` under the current directory."""
    return default_output_dir(scenario).with_name(f"{scenario.name}-ensemble")


# ---------------------------------------------------------------------------------------------- the driver
@dataclass
class EnsembleResult:
    """What :func:`run_ensemble` returns: the summary (as in summary.json) and where the outputs are."""

    summary: dict[str, Any]
    out_dir: Path
    failed_runs: int
    chunks_computed: int
    chunks_reused: int


Progress = Callable[[int, int], None]
"""``progress(runs_done, runs_total)``."""


@dataclass
class Execution:
    workers: int
    threads: int
    scheduler: str | None
    mode: str = ""
    peak_memory_mb: dict[str, Any] = field(default_factory=dict)
    startup_seconds: float = 0.0


def run_ensemble(
    scenario: Scenario,
    scenario_text: str,
    *,
    runs: int,
    seed: int = 0,
    overrides: Sequence[str] = (),
    out_dir: str | Path | None = None,
    chunk: int | None = None,
    workers: int | None = None,
    threads: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    record_labs: bool = False,
    progress: Progress | None = None,
    command: Sequence[str] | None = None,
) -> EnsembleResult:
    """Run ``runs`` seeds of ``scenario`` (with its uncertain draws) and write the ensemble outputs.

    Parameters
    ----------
    scenario, scenario_text
        The validated scenario and its TOML text (for the manifest).
    runs, seed
        Number of runs ``R`` and the ensemble's root seed ``N``: run ``i`` uses ``SeedSequence(N, spawn_key=(i,))``.
    out_dir
        Output directory; default :func:`default_ensemble_dir`.
    chunk
        Runs per chunk ``K``; default :func:`default_chunk` (on resume: the interrupted ensemble's).
    workers, threads
        Worker processes ``W`` of the embedded Dask LocalCluster (``W = 1`` runs in this process) and numba
        threads ``T`` per worker; by default ``T = 1`` and ``W`` is the number of cores available
        (:func:`default_workers_threads`).  ``workers`` is ignored with ``scheduler``.
    scheduler
        Address of a running Dask scheduler (``tcp://host:port``) to use instead of a LocalCluster.
    resume
        Complete the ensemble already in ``out_dir`` without recomputing its finished chunks.
    record_labs
        Also write the long lab table of every run (``labs/``).

    Raises
    ------
    EnsembleInputError
        Bad options, an output directory that cannot be used, or ``resume`` onto a different ensemble.
    EnsembleError
        A chunk task kept failing (its runs' own failures never do: they are recorded per run).
    """
    wall0 = time.perf_counter()
    check_options(runs, seed, chunk, workers, threads)
    target = Path(out_dir) if out_dir is not None else default_ensemble_dir(scenario)
    target = target.absolute()
    layout = OutputLayout(target)
    previous = _read_state(target)
    if resume and previous is not None and chunk is None:
        chunk = int(previous.get("chunk", 0)) or None
    chunk = chunk if chunk is not None else default_chunk(runs)
    identity = _identity(scenario, runs, seed, chunk, record_labs)
    fingerprint = _digest(identity)
    if resume and previous is not None:
        if previous.get("fingerprint") != fingerprint:
            raise EnsembleInputError(
                f"--resume: {target} holds a different ensemble ({_difference(previous.get('identity'), identity)} "
                "differs); rerun without --resume to replace it, or with the same scenario, --set, --runs, --seed, "
                "--chunk and --record-labs"
            )
    else:
        fresh_directory(target)
    layout.make(record_labs)
    _remove_temporaries(target)

    plan = UncertainPlan.from_scenario(scenario)
    design = plan.design(runs, seed) if plan.keys else np.empty((runs, 0))
    n_chunks = math.ceil(runs / chunk)
    todo = [c for c in range(n_chunks) if not layout.done(c, record_labs)]
    reused = n_chunks - len(todo)
    state = {"format": FORMAT, "fingerprint": fingerprint, "identity": identity, "chunk": chunk, "status": "running"}
    manifest_args = {"overrides": list(overrides), "command": command}
    running = _manifest(scenario, scenario_text, seed, state, [], **manifest_args)
    write_text_atomic(json.dumps(running, indent=2, allow_nan=False) + "\n", target / "manifest.json")

    workers_n, threads_n = default_workers_threads(workers, threads)
    execution = Execution(workers_n, threads_n, scheduler)
    tasks = (
        ChunkTask(c, c * chunk, min(runs, (c + 1) * chunk), seed, scenario, plan.keys,
                  design[c * chunk: min(runs, (c + 1) * chunk)], plan.per_run_init, record_labs, threads_n, str(target))
        for c in todo
    )
    done_runs = runs - sum(min(runs, (c + 1) * chunk) - c * chunk for c in todo)
    if progress is not None:
        progress(done_runs, runs)
    computed_runs = 0
    chunk_seconds = [0.0, 0.0]  # wall and CPU seconds spent in chunk tasks

    def on_done(report: dict[str, Any]) -> None:
        nonlocal done_runs, computed_runs
        done_runs += report["runs"]
        computed_runs += report["runs"]
        chunk_seconds[0] += report["seconds"]
        chunk_seconds[1] += report["cpu_seconds"]
        if progress is not None:
            progress(done_runs, runs)

    compute_seconds = _execute(execution, scenario, tasks, len(todo), on_done)
    summary_extra = {
        "runs_computed": computed_runs, "chunks_computed": len(todo), "chunks_reused": reused,
        "compute_seconds": compute_seconds,
        "runs_per_second": computed_runs / compute_seconds if compute_seconds > 0 and computed_runs else None,
        "workers": execution.workers if scheduler is None else None, "threads_per_worker": execution.threads,
        "execution": execution.mode, "peak_memory_mb": execution.peak_memory_mb,
        "startup_seconds": execution.startup_seconds,
        "chunk_wall_seconds": chunk_seconds[0], "chunk_cpu_seconds": chunk_seconds[1],
        "runs_per_cpu_second": computed_runs / chunk_seconds[1] if chunk_seconds[1] > 0 else None,
    }
    summary = _finalise(target, layout, scenario, scenario_text, seed, runs, chunk, n_chunks, plan.keys, state,
                        summary_extra, wall0, manifest_args)
    return EnsembleResult(summary, target, int(summary["failed_runs"]), len(todo), reused)


def check_options(runs: int, seed: int, chunk: int | None, workers: int | None, threads: int | None) -> None:
    """Raise :class:`EnsembleInputError` for bad ``--runs``, ``--seed``, ``--chunk``, ``--workers``, ``--threads``."""
    if not isinstance(runs, int) or runs < 1:
        raise EnsembleInputError(f"--runs {runs!r}: need at least one run")
    if not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise EnsembleInputError(f"--seed {seed!r}: need an integer in [0, 2^63)")
    for name, value in (("--chunk", chunk), ("--workers", workers), ("--threads", threads)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise EnsembleInputError(f"{name} {value!r}: need a positive integer")
    if threads is not None and threads > numba.config.NUMBA_NUM_THREADS:
        raise EnsembleInputError(
            f"--threads {threads} is out of range: allowed 1..{numba.config.NUMBA_NUM_THREADS} (NUMBA_NUM_THREADS)")


def _identity(scenario: Scenario, runs: int, seed: int, chunk: int, record_labs: bool) -> dict[str, Any]:
    """What makes two invocations the same ensemble (the resume check)."""
    try:
        version = importlib.metadata.version("multipolar")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - always installed here
        version = None
    return {
        "scenario": scenario.model_dump(mode="json"), "runs": runs, "seed": seed, "chunk": chunk,
        "record_labs": record_labs, "market_columns": list(MARKET_COLUMNS), "multipolar": version,
    }


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


def check_directory(target: Path) -> None:
    """Raise :class:`EnsembleInputError` unless ``target`` is absent, empty, or a previous output (manifest.json)."""
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise EnsembleInputError(f"output path {target} exists and is not a directory")
        if any(target.iterdir()) and not (target / "manifest.json").is_file():
            raise EnsembleInputError(
                f"output directory {target} is not empty and holds no manifest.json; refusing to replace it "
                "(choose another --out)")


def fresh_directory(target: Path) -> None:
    """Empty the target for a new ensemble: it must be absent, empty, or a previous output (manifest.json)."""
    check_directory(target)
    if target.exists():
        for entry in list(target.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    target.mkdir(parents=True, exist_ok=True)


def _remove_temporaries(target: Path) -> None:
    for sub in ("", "market", "labs", "chunks"):
        for path in (target / sub).glob(".*.tmp-*"):
            path.unlink(missing_ok=True)


def _manifest(scenario: Scenario, text: str, seed: int, state: dict[str, Any], files: Sequence[Path], *,
              overrides: Sequence[str], command: Sequence[str] | None) -> dict[str, Any]:
    runs_note = {
        "root_seed": seed,
        "run_root": "run i: SeedSequence(root_seed, spawn_key=(i,)) == SeedSequence(root_seed).spawn(runs)[i]",
        "run_streams": {name: f"SeedSequence(root_seed, spawn_key=(i, {k}))" for k, name in enumerate(STREAM_NAMES)},
        "design": "Latin hypercube from SeedSequence(root_seed) itself (runs.uncertain)",
    }
    return build_manifest(scenario, text, seeds=[], overrides=overrides, files=files, command=command,
                          extra={"root_seed": seed, "ensemble": {**state, "seeds": runs_note}})


# ---------------------------------------------------------------------------------------------- execution
def _execute(execution: Execution, scenario: Scenario, tasks: Iterator[ChunkTask], n_tasks: int,
             on_done: Callable[[dict[str, Any]], None]) -> float:
    """Run the chunk tasks; returns the seconds from the end of the warm-up to the last chunk."""
    start = time.perf_counter()
    if n_tasks == 0:
        execution.mode = "nothing to compute"
        return 0.0
    if execution.scheduler is None and execution.workers == 1:
        execution.mode = "in-process"
        with numba_threads(execution.threads):
            warm_up(scenario)
        t0 = time.perf_counter()
        execution.startup_seconds = t0 - start
        for task in tasks:
            on_done(run_chunk(task))
        seconds = time.perf_counter() - t0
        execution.peak_memory_mb = {"driver": _peak_rss_mb()}
        return seconds
    with dask_client(execution) as client:
        client.run(warm_up, scenario)
        t0 = time.perf_counter()
        execution.startup_seconds = t0 - start
        _submit_all(client, tasks, on_done)
        seconds = time.perf_counter() - t0
        with contextlib.suppress(Exception):
            execution.peak_memory_mb = {"driver": _peak_rss_mb(),
                                        "workers": sorted(client.run(_peak_rss_mb).values(), reverse=True)}
    return seconds


@contextlib.contextmanager
def dask_client(execution: Execution) -> Iterator[Any]:
    from distributed import Client

    if execution.scheduler is not None:
        execution.mode = f"scheduler {execution.scheduler}"
        try:
            client = Client(execution.scheduler, timeout="30s", set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise EnsembleInputError(f"--scheduler {execution.scheduler}: cannot connect ({err})") from None
        try:
            client.wait_for_workers(1, timeout=120)
            yield client
        finally:
            client.close(timeout=30)
        return
    execution.mode = "local-cluster"
    with local_cluster(execution.workers) as cluster:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close(timeout=30)


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A Dask LocalCluster of ``workers`` single-threaded worker processes, closed on exit.

    One thread per worker process: a chunk sets its own numba thread count (:func:`numba_threads`).  No dashboard,
    and the scheduler's HTTP endpoint (health, metrics) on a free port: two ensembles on one machine at the same
    time do not compete for port 8787.
    """
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
                           silence_logs=logging.ERROR)
    try:
        yield cluster
    finally:
        cluster.close(timeout=30)


@contextlib.contextmanager
def shared_scheduler(workers: int, scheduler: str | None) -> Iterator[str | None]:
    """The scheduler address several ensembles in a row share (pass it as ``run_ensemble(scheduler=...)``).

    ``scheduler`` itself when given; else, for ``workers > 1``, the address of a :func:`local_cluster` that
    lives for the block; else None (``workers == 1``: every ensemble runs in this process).
    """
    if scheduler is not None or workers == 1:
        yield scheduler
        return
    with local_cluster(workers) as cluster:
        yield cluster.scheduler_address


def _submit_all(client: Any, tasks: Iterator[ChunkTask], on_done: Callable[[dict[str, Any]], None]) -> None:
    """Keep about two chunks per worker thread in flight; the client never holds chunk data."""
    from distributed import as_completed

    def in_flight() -> int:
        return max(4, 2 * sum(client.nthreads().values()))

    def submit(task: ChunkTask) -> Any:
        return client.submit(run_chunk, task, pure=False, retries=TASK_RETRIES, key=f"ensemble-chunk-{task.index}-"
                             f"{uuid.uuid4().hex[:8]}")

    queue = as_completed([submit(task) for task in islice(tasks, in_flight())], loop=client.loop)
    for future in queue:
        try:
            report = future.result()
        except Exception as err:
            raise EnsembleError(
                f"a chunk task failed ({error_text(err)}); finished chunks are kept: rerun with --resume") from err
        on_done(report)
        future.release()
        while queue.count() < in_flight():
            task = next(tasks, None)
            if task is None:
                break
            queue.add(submit(task))


def warm_up(scenario: Scenario) -> float:
    """Load (or compile) the kernels in this process: one step of a one-run batch."""
    t0 = time.perf_counter()
    Simulation(scenario, [0], record_labs=False).step()
    return time.perf_counter() - t0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---------------------------------------------------------------------------------------------- finishing
def _finalise(target: Path, layout: OutputLayout, scenario: Scenario, text: str, seed: int, runs: int, chunk: int,
              n_chunks: int, keys: Sequence[str], state: dict[str, Any], extra: dict[str, Any], wall0: float,
              manifest_args: dict[str, Any]) -> dict[str, Any]:
    from runs.ensemble_figures import figure_set, save_figure_atomic

    finalise0 = time.perf_counter()
    parts = [layout.part(c) for c in range(n_chunks)]
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise EnsembleError(f"chunks missing after the run: {', '.join(missing[:5])}; rerun with --resume")
    _merge_parts(parts, target / "runs.parquet")
    table = pd.read_parquet(target / "runs.parquet")
    if len(table) != runs or not np.array_equal(table["run"].to_numpy(), np.arange(runs)):
        raise EnsembleError(f"runs.parquet does not hold runs 0..{runs - 1} exactly once")
    fan = read_fan_series(target, n_chunks)
    summary = summarise(table, scenario_name=scenario.name, seed=seed, chunk=chunk, uncertain=keys)
    summary["throughput"] = extra
    summary["out_dir"] = str(target)
    figures = figure_set(table, fan, scenario_name=scenario.name, n_runs=runs)
    for name, fig in figures.items():
        save_figure_atomic(fig, target / name)
    extra["finalise_seconds"] = time.perf_counter() - finalise0  # without the manifest's hashing
    extra["wall_seconds"] = time.perf_counter() - wall0
    summary = finite_or_none(summary)
    write_text_atomic(json.dumps(summary, indent=2, allow_nan=False) + "\n", target / "summary.json")
    files = [target / "runs.parquet", target / "summary.json", *(target / name for name in figures)]
    for sub in ("market", "labs", "chunks"):
        files += sorted((target / sub).glob("*.parquet"))
    done_state = {**state, "status": "complete"}
    manifest = _manifest(scenario, text, seed, done_state, files, **manifest_args)
    write_text_atomic(json.dumps(manifest, indent=2, allow_nan=False) + "\n", target / "manifest.json")
    return summary


def _merge_parts(parts: Sequence[Path], path: Path) -> None:
    """Concatenate the chunks' runs tables into one file, one row group per chunk (bounded memory)."""
    schemas = [pq.read_schema(p) for p in parts]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    tmp = temporary_path(path)
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for p in parts:
                table = pq.read_table(p)
                for name in schema.names:
                    if name not in table.column_names:
                        table = table.append_column(name, pa.nulls(len(table), schema.field(name).type))
                writer.write_table(table.select(schema.names).cast(schema))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
        steps = int(pc.max(table["step"]).as_py()) + 1
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


