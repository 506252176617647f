"""One chunk of an ensemble: simulate consecutive runs as one compiled batch and write their files.

A worker receives a :class:`ChunkTask` (the chunk's run indices, the ensemble's scenario and root seed, and the
chunk's rows of the uncertain design), simulates the runs (:func:`simulate_chunk`) and writes three files into
the shared output folder, each to a temporary name then renamed: ``market/market-C.parquet``,
``labs/labs-C.parquet`` (with ``record_labs``) and last ``chunks/runs-C.parquet``, whose presence marks the
chunk as done.  It returns a few numbers to the driver (:mod:`runs.experiments.ensemble`), never the series.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from economy.engine import COMPILED_DRAWS_FROM, Simulation
from economy.kernels.layout import M_OUTSIDE_SHARE, MARKET_COLUMNS
from economy.params import Scenario, ScenarioError
from runs.experiments.execution import error_text, numba_threads
from runs.experiments.outputs import finite_or_none, no_ai_market_as_null, without_ai_market, write_table_atomic
from runs.experiments.result import ExperimentError
from runs.experiments.uncertain import RunScenarios

__all__ = [
    "RANK_LIMIT",
    "ChunkData",
    "ChunkTask",
    "OutputLayout",
    "chunk_runs_table",
    "run_chunk",
    "run_root",
    "simulate_chunk",
    "warm_up",
]

RANK_LIMIT = 10
"""runs.parquet records the final inside-market shares of the #1..#k labs, k = min(labs, RANK_LIMIT)."""

_SUMMARY_TYPES: dict[str, pa.DataType] = {
    "final_year": pa.float64(), "final_hhi": pa.float64(), "leader_share": pa.float64(), "leader": pa.string(),
    "effective_labs": pa.float64(), "top4_share": pa.float64(), "n_alive": pa.int64(), "n_exits": pa.int64(),
    "unipolar": pa.bool_(), "unipolar_by_share": pa.bool_(), "unipolar_by_hhi": pa.bool_(),
    "singularity_year": pa.float64(), "takeoff_start_year": pa.float64(), "takeoff_years": pa.float64(),
    "frontier_quality": pa.float64(), "frontier_log10_eff_compute": pa.float64(),
    "leader_gap_ooms": pa.float64(), "consumer_value": pa.float64(), "catastrophe": pa.bool_(),
    "ceiling_year": pa.float64(), "automation_20_year": pa.float64(), "automation_95_year": pa.float64(),
    "automation_100_year": pa.float64(), "automation_takeoff_years": pa.float64(),
    "automation_takeoff_to": pa.float64(),
}
"""Column types of the engine's per-run summary; keys the engine adds later are typed from their values."""


def run_root(seed: int, run: int) -> np.random.SeedSequence:
    """Run ``run``'s root: ``SeedSequence(seed).spawn(R)[run]``, built without spawning."""
    return np.random.SeedSequence(seed, spawn_key=(run,))


def warm_up(scenario: Scenario, runs: int = 1) -> float:
    """Load (or compile) the kernels a batch of ``runs`` runs calls in this process: one step of a batch of
    ``min(runs, COMPILED_DRAWS_FROM)`` runs (from ``COMPILED_DRAWS_FROM`` runs on, a batch steps in compiled code,
    economy.kernels.step.run_steps, which carries its own copy of the step: about 0.3 s the first time in a
    process); returns the seconds."""
    t0 = time.perf_counter()
    Simulation(scenario, list(range(max(1, min(runs, COMPILED_DRAWS_FROM)))), record_labs=False,
               keep_events=False).step()
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class OutputLayout:
    """Where an ensemble's chunk files live under its output directory."""

    root: Path

    def market(self, chunk: int) -> Path:
        return self.root / "market" / f"market-{chunk:05d}.parquet"

    def labs(self, chunk: int) -> Path:
        return self.root / "labs" / f"labs-{chunk:05d}.parquet"

    def part(self, chunk: int) -> Path:
        return self.root / "chunks" / f"runs-{chunk:05d}.parquet"

    def done(self, chunk: int, record_labs: bool) -> bool:
        return self.part(chunk).is_file() and self.market(chunk).is_file() and (
            not record_labs or self.labs(chunk).is_file())

    def make(self, record_labs: bool) -> None:
        for sub in ("market", "chunks", *(("labs",) if record_labs else ())):
            (self.root / sub).mkdir(parents=True, exist_ok=True)


# ---------------------------------------------------------------------------------------------- one chunk
@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs to compute and write one chunk (small: the draws are the chunk's rows)."""

    index: int
    start: int
    stop: int
    seed: int
    scenario: Scenario
    keys: tuple[str, ...]
    draws: np.ndarray  # (stop - start, len(keys)) drawn values
    per_run_init: bool
    record_labs: bool
    threads: int
    out_dir: str  # absolute; on a filesystem the workers share


@dataclass
class ChunkData:
    """A computed chunk: its rows of runs.parquet, its market series and (optionally) its lab table."""

    runs: pa.Table
    market: pa.Table
    labs: pa.Table | None
    failed: int


def run_chunk(task: ChunkTask) -> dict[str, Any]:
    """Compute one chunk and write its files (market, labs, then the marker); returns a small report."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    layout = OutputLayout(Path(task.out_dir))
    if not layout.part(task.index).parent.is_dir():
        raise ExperimentError(f"output directory {layout.root} is not visible on this worker (it must be shared)")
    with numba_threads(task.threads):
        data = simulate_chunk(task)
    write_table_atomic(no_ai_market_as_null(data.market), layout.market(task.index), series=True)
    if data.labs is not None:
        write_table_atomic(data.labs, layout.labs(task.index), series=True)
    write_table_atomic(data.runs, layout.part(task.index))
    return {"index": task.index, "runs": task.stop - task.start, "failed": data.failed,
            "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - cpu0, "pid": os.getpid()}


def chunk_runs_table(task: ChunkTask) -> pa.Table:
    """One chunk's rows of a runs table, without writing files or keeping the series (a sensitivity design).

    The chunk's index rides in the schema metadata (``b"chunk"``), so results can arrive in any order.
    """
    with numba_threads(task.threads):
        table = simulate_chunk(task).runs
    return table.replace_schema_metadata({b"chunk": str(task.index).encode()})


def _simulate(scenario: Scenario, roots: Sequence[np.random.SeedSequence], rows: np.ndarray | None,
              record_labs: bool) -> Simulation:
    """Build and run one batch (the seam tests use to inject a failing run)."""
    sim = Simulation(scenario, list(roots), parameter_rows=rows, record_labs=record_labs, keep_events=False)
    sim.run()
    return sim


def simulate_chunk(task: ChunkTask) -> ChunkData:
    """Simulate the runs ``task.start .. task.stop - 1``; a run that fails is recorded, never raised.

    Runs whose drawn values fail validation get status ``invalid``; the others are simulated as one batch
    (or one batch per run when a key is read at initialisation).  If a batch raises, its runs are retried one
    by one so only the runs that themselves raise get status ``failed``.
    """
    run_ids = list(range(task.start, task.stop))
    rows: dict[int, dict[str, Any]] = {}
    for j, run in enumerate(run_ids):
        row: dict[str, Any] = {"run": run, "seed": task.seed, "spawn_key": [run]}
        row.update({key: float(task.draws[j, q]) for q, key in enumerate(task.keys)})
        row.update({"status": "ok", "error": None})
        rows[run] = row

    scenarios: dict[int, Scenario] = {}
    params: dict[int, np.ndarray] = {}
    if task.keys:
        builder = RunScenarios(task.scenario, task.keys)
        for j, run in enumerate(run_ids):
            try:
                sc = builder.scenario(task.draws[j])
            except ScenarioError as err:
                rows[run].update(status="invalid", error=error_text(err))
                continue
            if task.per_run_init:
                scenarios[run] = sc
            else:
                params[run] = builder.pack(sc)
    valid = [run for run in run_ids if rows[run]["status"] == "ok"]

    groups: list[list[int]]
    groups = [[run] for run in valid] if task.per_run_init else ([valid] if valid else [])
    market_parts: list[pa.Table] = []
    labs_parts: list[pa.Table] = []
    n_ranks = min(task.scenario.n_labs, RANK_LIMIT)
    pending = list(groups)
    while pending:
        group = pending.pop(0)
        scenario = scenarios[group[0]] if task.per_run_init else task.scenario
        stacked = np.stack([params[run] for run in group]) if params else None
        try:
            sim = _simulate(scenario, [run_root(task.seed, run) for run in group], stacked, task.record_labs)
        except Exception as err:
            if len(group) > 1:
                pending[:0] = [[run] for run in group]
            else:
                rows[group[0]].update(status="failed", error=error_text(err))
            continue
        for b, run in enumerate(group):
            rows[run].update(_outcomes(sim, b, task.seed, run, n_ranks))
        market_parts.append(_market_table(sim, group))
        if task.record_labs:
            labs_parts.append(_labs_table(sim, group))

    runs_table = _runs_table([rows[run] for run in run_ids], task.keys, n_ranks)
    market = pa.concat_tables(market_parts) if market_parts else _empty_market()
    labs = None
    if task.record_labs:
        labs = pa.concat_tables(labs_parts, promote_options="default") if labs_parts else pa.table({"run": []})
    failed = sum(1 for run in run_ids if rows[run]["status"] != "ok")
    return ChunkData(runs_table, market, labs, failed)


def _outcomes(sim: Simulation, b: int, seed: int, run: int, n_ranks: int) -> dict[str, Any]:
    summary = sim.summary(b)
    if summary.pop("seed") != seed or summary.pop("spawn_key") != [run]:
        raise RuntimeError(f"run {run}: the simulation's root seed is not SeedSequence({seed}, spawn_key=({run},))")
    # shares of the inside market (the outside option is not a firm), as the engine's HHI and leader share
    inside = np.where(sim.labs.alive[b], sim.labs.share[b], 0.0)
    total = inside.sum()
    shares = np.sort(inside / total if total > 0.0 else inside)[::-1]
    ranked = np.zeros(n_ranks)
    ranked[: min(n_ranks, shares.size)] = shares[:n_ranks]
    summary.update({f"share_rank_{k + 1}": float(ranked[k]) for k in range(n_ranks)})
    return without_ai_market(summary, float(sim.market[sim.steps_done, b, M_OUTSIDE_SHARE]))


def _recorded_steps(n_steps: int, every: int) -> np.ndarray:
    """The steps an ensemble writes of each run's market series: 0, ``every``, 2 ``every``, ... and the last."""
    return np.unique(np.append(np.arange(0, n_steps + 1, every, dtype=np.int64), n_steps))


def _market_table(sim: Simulation, runs: Sequence[int]) -> pa.Table:
    steps = _recorded_steps(sim.steps_done, sim.scenario.output.market_every)
    n_rows = steps.size
    block = np.ascontiguousarray(sim.market[steps].transpose(2, 1, 0))  # (columns, runs, recorded steps)
    columns: dict[str, np.ndarray] = {
        "run": np.repeat(np.asarray(runs, dtype=np.int64), n_rows),
        "step": np.tile(steps, len(runs)),
    }
    # the columns and their types as the engine's own market_frame gives them (counts are integers; the compliance
    # columns only with enforcement.evasion on)
    dtypes = sim.market_frame(0).iloc[:0].dtypes
    for j, name in enumerate(MARKET_COLUMNS):
        if name in dtypes:
            columns[name] = block[j].reshape(-1).astype(dtypes[name], copy=False)
    return pa.table(columns)


def _empty_market() -> pa.Table:
    """The market table of a chunk whose runs all failed (readers skip empty files)."""
    fields = [pa.field("run", pa.int64()), pa.field("step", pa.int64())]
    fields += [pa.field(name, pa.float64()) for name in MARKET_COLUMNS]
    return pa.schema(fields).empty_table()


def _labs_table(sim: Simulation, runs: Sequence[int]) -> pa.Table:
    frames = []
    for b, run in enumerate(runs):
        frame = sim.labs_frame(b)
        frame.insert(0, "run", np.int64(run))
        frames.append(frame)
    return pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)


def _runs_table(rows: list[dict[str, Any]], keys: Sequence[str], n_ranks: int) -> pa.Table:
    fields = [pa.field("run", pa.int64()), pa.field("seed", pa.int64()), pa.field("spawn_key", pa.list_(pa.int64()))]
    fields += [pa.field(key, pa.float64()) for key in keys]
    fields += [pa.field("status", pa.string()), pa.field("error", pa.string())]
    fields += [pa.field(name, kind) for name, kind in _SUMMARY_TYPES.items()]
    known = {f.name for f in fields} | {f"share_rank_{k + 1}" for k in range(n_ranks)}
    extra = sorted({name for row in rows for name in row} - known)
    fields += [pa.field(name, _infer_type([row.get(name) for row in rows])) for name in extra]
    fields += [pa.field(f"share_rank_{k + 1}", pa.float64()) for k in range(n_ranks)]
    schema = pa.schema(fields)
    cleaned = [{name: _plain(row.get(name)) for name in schema.names} for row in rows]
    return pa.Table.from_pylist(cleaned, schema=schema)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, np.integer)) for v in value):
        return [int(v) for v in value]
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(finite_or_none(value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _infer_type(values: Iterable[Any]) -> pa.DataType:
    for value in values:
        if value is None:
            continue
        if isinstance(value, (bool, np.bool_)):
            return pa.bool_()
        if isinstance(value, (int, np.integer)):
            return pa.int64()
        if isinstance(value, (float, np.floating)):
            return pa.float64()
        return pa.string()
    return pa.float64()
