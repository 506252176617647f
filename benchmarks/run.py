"""The performance benchmark of issues 8 and 16: every figure and its target (issue 16's), measured in one run.

Usage::

    python benchmarks/run.py [--quick | --smoke] [--no-cold-start] [--out FILE.json] [--threads N] [--figure FILE.png]

Measures, in this order (docs/performance.md explains the method and discusses the numbers):

1. this machine's memory bandwidth: a numpy copy and a numba STREAM triad of 256 MB arrays, best of 5;
2. ns per lab-step of ``Simulation.step()`` for generated populations of N = 1e3, 1e4, 1e5, 1e6 labs
   (``--quick``: 1e3, 1e4) with the spillover network (Erdos-Renyi, mean degree 10) and without it, kernels
   warm, median over repeats; the thread counts (1 and all cores, or ``--threads N``) are timed in turn, so a
   change of load on a shared machine hits them alike.  The time spent drawing the step's random numbers (in
   Python, or in compiled code for a large step) is measured inside the same steps (``Simulation._draw`` is
   wrapped by a timer);
3. where the step's time goes at the largest N with the network: each compiled stage kernel timed alone on
   the state of a real step, ``step_batch`` whole, the Gini sort, and the same per-lab work (stage 6's) written
   as a row helper that takes the whole lab state (the pattern the row kernels avoid) and in the loop body on
   local arrays (the pattern of every row kernel, e.g. ``money_rows``);
4. the bytes one step moves per lab (from the itemsizes of the per-lab arrays it reads and writes; see
   :func:`bytes_per_lab`) and the fraction of the bandwidth floor (bytes / bandwidth) the step reaches;
5. the same model written the idiomatic Mesa way (benchmarks/mesa_idiomatic.py) at N = 1e3 and 1e4
   (``--quick``: 1e3), against the engine on the same restricted scenario, and the ratio;
6. ensemble throughput of runs/baseline.toml (runs/s after warm-up, :func:`runs.experiments.run_ensemble`) with
   1 and 2 workers on the same runs (2,000; ``--quick`` 200, ``--smoke`` 20), whose wall times give the second
   worker's gain; 10,000 runs on 2 workers, wall with the local cluster's start (``--quick`` 1,000, ``--smoke``
   40); and a chunk's simulation alone (one compiled batch of baseline runs, in this process);
7. peak memory per lab at N = 1e6 (``--quick``: 1e4) with the network: the peak resident memory of a child
   process that builds and steps that simulation, minus that of a child that only loads the kernels, over N;
8. cold start: wall time of ``multipolar run runs/baseline.toml`` with an empty kernel cache (a fresh
   ``NUMBA_CACHE_DIR``, which economy/kernels/config.py uses as the parent of its cache folder), then with that
   cache warm; and what the warm command spends on imports and on the simulation itself (``--no-cold-start``: all
   but the empty-cache run).

Prints a markdown table (also written next to the JSON, ``.md``), writes the JSON (default
benchmarks/results/performance.json, ``--quick``: performance_quick.json) with the machine (cores, load
average, numba threads, versions) and a log-log figure of ns per lab-step against N (default
docs/figures/performance_scaling.png; ``--quick``: next to the JSON).  This is a script, not a test: the numbers
depend on the machine and on what else runs on it; tests/test_benchmarks.py only checks that every figure is
produced.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import inspect
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba import prange

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mesa_idiomatic import RESTRICTED_OVERRIDES, MesaEconomy  # noqa: E402
from step_times import machine  # noqa: E402

from economy.engine import Simulation  # noqa: E402
from economy.kernels import layout as L  # noqa: E402
from economy.kernels.config import InternalDispatcher, call_compiled, configure  # noqa: E402
from economy.params import (  # noqa: E402
    Scenario,
    load_scenario,
    scenario_dict_with_overrides,
    validate_scenario,
)

SEED = 20250101
MEAN_DEGREE = 10.0
FULL_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
SMOKE_SIZES = (1_000,)
NETWORKS = ("erdos_renyi", "none")
TARGETS = {  # issue 16's
    "ensemble_runs_per_s": 2000.0,  # baseline ensemble with 2 workers, steady state, at least
    "ensemble_large_wall_s": 10.0,  # 10,000-run baseline ensemble, wall with the cluster's start, at most
    "ensemble_wall_ratio": 0.6,  # wall time of the same ensemble with 2 workers / 1 worker, at most
    "step_no_network_ns": 150.0,  # ns per lab-step at N = 1e6 without the network, at most
    "step_network_ns": 400.0,  # ... with the degree-10 network, at most
    "mesa_ratio": 300.0,  # at least this many times faster than the idiomatic Mesa model at N = 1e4
    "warm_run_s": 2.0,  # multipolar run runs/baseline.toml with a warm cache, at most
    "cold_run_s": 60.0,  # the same with an empty kernel cache, at most
    "peak_bytes_per_lab": 1024.0,  # at N = 1e6 with the graph, at most
}
LARGE_ENSEMBLE = 10_000
"""Runs of the large ensemble (issue 16's 10,000; ``--quick`` 1,000 and ``--smoke`` 40, against the target scaled
to their size)."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cpu_times() -> list[int] | None:
    """The machine's cumulative CPU time counters (the ``cpu`` line of /proc/stat), or None off Linux."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    return [int(x) for x in fields[1:]] if fields and fields[0] == "cpu" else None


def steal_fraction(before: list[int] | None, after: list[int] | None) -> float | None:
    """The share of CPU time the hypervisor gave to other guests between two :func:`cpu_times` (the ``steal``
    counter, 8th field): on a shared VM, the part of the run's timings that other jobs took."""
    if before is None or after is None or len(before) < 8 or len(after) < 8:
        return None
    total = sum(after[:8]) - sum(before[:8])
    return (after[7] - before[7]) / total if total > 0 else None


def generated(n: int, network: str, years: float = 20.0) -> Scenario:
    """``n`` generated labs, 20 years, no lab table; ``network`` "none" or a graph kind of mean degree 10."""
    return Scenario.model_validate({
        "name": f"bench-{n}-{network}",
        "labs": {"n": n},
        "sim": {"years": years},
        "output": {"labs_every": 100_000},
        "network": {"kind": network, "mean_degree": MEAN_DEGREE},
    })


def restricted(n: int) -> Scenario:
    """The configuration the idiomatic Mesa model implements (benchmarks/mesa_idiomatic.py), ``n`` labs."""
    data = {"name": f"bench-mesa-{n}", "labs": {"n": n}, "sim": {"years": 20.0}, "output": {"labs_every": 100_000}}
    return validate_scenario(scenario_dict_with_overrides(data, RESTRICTED_OVERRIDES))


def summary_ns(samples: list[float]) -> dict[str, float]:
    return {"median_ns": float(statistics.median(samples)), "min_ns": float(min(samples)),
            "max_ns": float(max(samples)), "repeats": len(samples)}


def with_threads(threads: int, fn: Callable[[], Any]) -> Any:
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return fn()
    finally:
        numba.set_num_threads(previous)


# ---------------------------------------------------------------------------------------------- 1. bandwidth
@numba.njit(parallel=True, cache=True)
def _triad(a, b, c, scalar):
    for i in prange(a.shape[0]):
        a[i] = b[i] + scalar * c[i]


def bench_bandwidth(thread_counts: list[int], n: int = 2**25, repeats: int = 5) -> dict[str, Any]:
    """Memory bandwidth in GB/s (1e9 bytes/s): numpy copy (2 x 8n bytes: read and write) and the STREAM triad
    ``a = b + s c`` (3 x 8n bytes, STREAM's convention: write-allocate traffic not counted), best of ``repeats``."""
    a = np.zeros(n)
    b = np.ones(n)
    c = np.full(n, 2.0)
    _triad(a[:16], b[:16], c[:16], 3.0)  # compile
    copies = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(a, b)
        copies.append(time.perf_counter() - t0)
    triad: dict[str, float] = {}
    for threads in thread_counts:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            with_threads(threads, lambda: _triad(a, b, c, 3.0))
            times.append(time.perf_counter() - t0)
        triad[str(threads)] = 3 * 8 * n / min(times) / 1e9
    copy = 2 * 8 * n / min(copies) / 1e9
    return {"array_mb": 8 * n / 2**20, "numpy_copy_gb_s": copy, "triad_gb_s_by_threads": triad,
            "best_gb_s": max(copy, *triad.values())}


# ---------------------------------------------------------------------------------------------- 2. step scaling
def time_draws(sim: Simulation) -> list[int]:
    """Time ``sim``'s draws (``Simulation._draw``, which a step stepped from Python calls, in Python or, for a large
    step, in compiled code): each call adds its wall time (ns) to the returned ``clock[0]``."""
    clock = [0]
    draw = sim._draw

    def timed() -> None:
        t0 = time.perf_counter_ns()
        try:
            draw()
        finally:
            clock[0] += time.perf_counter_ns() - t0

    sim._draw = timed  # type: ignore[method-assign]
    return clock


def bench_steps(n: int, network: str, thread_counts: list[int], repeats: int) -> tuple[list[dict[str, Any]],
                                                                                        Simulation]:
    t0 = time.perf_counter()
    sim = Simulation(generated(n, network), [SEED], record_labs=False)
    build_s = time.perf_counter() - t0
    clock = time_draws(sim)
    for threads in thread_counts:  # first steps at this size: page faults of fresh arrays, kernels warm
        with_threads(threads, sim.step)
    wall: dict[int, list[float]] = {t: [] for t in thread_counts}
    cpu: dict[int, list[float]] = {t: [] for t in thread_counts}
    draws: dict[int, list[float]] = {t: [] for t in thread_counts}
    for _ in range(repeats):
        for threads in thread_counts:
            clock[0] = 0
            c0 = time.process_time_ns()
            t0 = time.perf_counter_ns()
            with_threads(threads, sim.step)
            wall[threads].append(time.perf_counter_ns() - t0)
            cpu[threads].append(time.process_time_ns() - c0)
            draws[threads].append(clock[0])
    edges = int(sim.net.indices.shape[0]) // 2
    rows = []
    for threads in thread_counts:
        step = summary_ns(wall[threads])
        rest = [w - d for w, d in zip(wall[threads], draws[threads], strict=True)]
        rows.append({
            "n_labs": n, "network": network, "threads": threads, "edges": edges, "build_s": build_s, "step": step,
            "ns_per_lab_step": step["median_ns"] / n,
            "cpu_ns_per_lab_step": statistics.median(cpu[threads]) / n,
            "draws_ns_per_lab_step": statistics.median(draws[threads]) / n,
            "without_draws_ns_per_lab_step": statistics.median(rest) / n,
        })
    return rows, sim


# ---------------------------------------------------------------------------------------------- 3. breakdown
@numba.njit(cache=True)
def _no_work(*args):
    return len(args)


@numba.njit(cache=True)
def _share_like_row(labs, par, demand, b, i):
    """Stage 6's per-lab work (share smoothing, capacity, revenue, spare capacity) as a row helper."""
    if not labs.alive[b, i]:
        labs.revenue_usd_per_year[b, i] = 0.0
        return
    target = math.exp(labs.quality[b, i] - 1.0)
    share = labs.share[b, i] + (target - labs.share[b, i]) * -math.expm1(
        -par[b, L.P_SIM_DT] / par[b, L.P_MARKET_SWITCHING_YEARS]
    )
    labs.share[b, i] = share
    capacity = (
        labs.inference_fraction[b, i] * labs.compute_flop_per_year[b, i] / par[b, L.P_MARKET_INFERENCE_FLOP_PER_USD]
    )
    labs.revenue_usd_per_year[b, i] = min(share * demand[b], capacity)
    labs.spare_capacity_usd_per_year[b, i] = capacity - labs.revenue_usd_per_year[b, i]


@numba.njit(parallel=True, cache=True)
def _with_row_helper(labs, par, demand):
    """A helper taking the whole lab state (a namedtuple of every lab column), called once per row: the pattern
    the engine's row kernels avoid (docs/performance.md)."""
    n_runs, n = labs.cash_usd.shape
    for k in prange(n_runs * n):
        b = k // n
        _share_like_row(labs, par, demand, b, k - b * n)


@numba.njit(parallel=True, cache=True)
def _in_loop_body(labs, par, demand):
    """The same work written in the loop body on arrays bound to locals (the pattern of money_rows)."""
    alive, revenue_col, quality, share_col = labs.alive, labs.revenue_usd_per_year, labs.quality, labs.share
    infer, compute, spare = labs.inference_fraction, labs.compute_flop_per_year, labs.spare_capacity_usd_per_year
    n_runs, n = alive.shape
    for k in prange(n_runs * n):
        b = k // n
        i = k - b * n
        if not alive[b, i]:
            revenue_col[b, i] = 0.0
            continue
        target = math.exp(quality[b, i] - 1.0)
        share = share_col[b, i] + (target - share_col[b, i]) * -math.expm1(
            -par[b, L.P_SIM_DT] / par[b, L.P_MARKET_SWITCHING_YEARS]
        )
        share_col[b, i] = share
        capacity = infer[b, i] * compute[b, i] / par[b, L.P_MARKET_INFERENCE_FLOP_PER_USD]
        revenue_col[b, i] = min(share * demand[b], capacity)
        spare[b, i] = capacity - revenue_col[b, i]


def _state_arrays(sim: Simulation) -> list[np.ndarray]:
    arrays = []
    for group in (sim.labs, sim.world, sim.net, sim.work, sim.draws):
        arrays += [a for a in group if isinstance(a, np.ndarray)]
    return arrays


def _kernel_arguments(sim: Simulation) -> dict[str, Any]:
    """The stage kernels' arguments on the state a real step left: its ``work`` holds the per-run values each
    stage hands on to the next (economy.state.StepWork), so every stage can be called alone."""
    n_runs = sim.labs.cash_usd.shape[0]
    return {
        "labs": sim.labs, "world": sim.world, "par": sim.par, "net": sim.net, "work": sim.work, "draws": sim.draws,
        "rec": np.zeros((n_runs, L.N_MARKET)), "shocks": sim._shocks, "urn_uniforms": sim._urn,
    }


SMOKE_BREAKDOWN = ("stage 6 (demand_stage)", "whole compiled step (step_batch)", "the same work in the loop body")
"""The parts ``--smoke`` times.  Each part compiles its own argument-passing probe (2-3 s each) and the row-helper
pattern alone compiles for 11 s; the smoke run checks the code path (every kernel's arguments are still matched),
not every part's figure."""


def bench_breakdown(sim: Simulation, thread_counts: list[int], repeats: int,
                    only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Each stage kernel alone, ``step_batch`` whole, the Gini of the record stage, and the row-helper pattern.

    Every call starts from the state the last real step left (restored before each call, outside the timing),
    whose step scratch holds the values a stage receives from the stages before it (:func:`_kernel_arguments`).
    The cost of passing the arguments from Python (a compiled function that receives them and does nothing) is
    timed too and subtracted in ``net_ns_per_lab``: inside ``step_batch`` the kernels are called from compiled
    code and do not pay it.
    Arguments are matched to each kernel's parameter names, so a kernel whose arguments changed is reported as
    skipped, not mis-called.
    """
    from economy.kernels import (
        factor_markets,
        incidents,
        market,
        metrics,
        money,
        policies,
        record,
        research,
        spillover,
        step,
        strategy,
        training,
    )

    n = sim.n_labs
    args = _kernel_arguments(sim)
    par = sim.par
    dt = par[:, L.P_SIM_DT]
    per_run = {  # the per-run factors each stage computes before its row kernel (the same formulas)
        "kept": np.exp(-par[:, L.P_COMPUTE_DEPRECIATION_PER_YEAR] * dt),
        "closing": -np.expm1(-dt / par[:, L.P_MARKET_SWITCHING_YEARS]),
        "memory": np.ascontiguousarray(np.stack([-np.expm1(-dt / par[:, L.P_ADAPTATION_MEMORY_YEARS]),
                                                 -np.expm1(-dt / par[:, L.P_ADAPTATION_ASPIRATION_YEARS])], axis=1)),
    }
    kernels: dict[str, tuple[Any, dict[str, Any]]] = {
        "stage 1 (strategy_stage)": (strategy.strategy_stage, {}),
        "stage 2 (factor_market_stage)": (factor_markets.factor_market_stage, {}),
        "stage 2 per lab (purchase_rows)": (factor_markets.purchase_rows, {"kept": per_run["kept"]}),
        "stage 3 (research_stage)": (research.research_stage, {}),
        "stage 4 (training_stage)": (training.training_stage, {}),
        "stage 5 (spillover_stage)": (spillover.spillover_stage, {}),
        "stage 6 (demand_stage)": (market.demand_stage, {}),
        "stage 6 per lab (share_rows)": (market.share_rows, {"closing": per_run["closing"]}),
        "stage 7 (money_stage)": (money.money_stage, {}),
        "stage 7 per lab (money_rows)": (money.money_rows, {"memory": per_run["memory"]}),
        "stage 8 (incident_stage)": (incidents.incident_stage, {}),
        "stage 9 after stage 8 (breakup_stage)": (policies.breakup_stage, {}),
        "stage 10 (record_stage)": (record.record_stage, {}),
        "Gini sort alone (metrics.gini)": (metrics.gini, {"values": sim.labs.revenue_usd_per_year[0],
                                                          "alive": sim.labs.alive[0], "buffer": sim.labs.scratch[0]}),
        "whole compiled step (step_batch)": (step.step_batch, {}),
        "stage-6-like row work, in a row helper taking the lab state": (_with_row_helper, {"demand": sim.world.demand}),
        "the same work in the loop body": (_in_loop_body, {"demand": sim.world.demand}),
    }
    if sim.net.indices.shape[0] == 0:
        del kernels["stage 5 (spillover_stage)"]
    arrays = _state_arrays(sim)
    saved = [a.copy() for a in arrays]

    def restore() -> None:
        for a, s in zip(arrays, saved, strict=True):
            np.copyto(a, s)

    calls: dict[str, Callable[[], Any]] = {}
    skipped: dict[str, str] = {}
    for label, (kernel, own) in kernels.items():
        names = list(inspect.signature(kernel.py_func).parameters)
        values = {**args, **own}
        missing = [name for name in names if name not in values]
        if missing:
            skipped[label] = f"unknown argument(s) {', '.join(missing)}"
            continue
        if only is not None and label not in only:
            continue  # its arguments were still matched: a changed signature is reported as skipped
        positional = [values[name] for name in names]  # by position: numba's keyword path is slower
        if isinstance(kernel, InternalDispatcher):
            calls[label] = lambda kernel=kernel, positional=positional: call_compiled(kernel, *positional)
        else:
            calls[label] = lambda kernel=kernel, positional=positional: kernel(*positional)
        calls[f"{label} [passing its arguments]"] = lambda positional=positional: _no_work(*positional)
    samples: dict[tuple[str, int], list[float]] = {}
    with np.errstate(all="ignore"):
        for call in calls.values():  # compile (the helpers of this script) and warm
            restore()
            call()
        for _ in range(repeats):
            for threads in thread_counts:
                for label, call in calls.items():
                    restore()
                    t0 = time.perf_counter_ns()
                    with_threads(threads, call)
                    samples.setdefault((label, threads), []).append(time.perf_counter_ns() - t0)
    restore()
    rows = []
    for (label, threads), values in samples.items():
        if label.endswith("[passing its arguments]"):
            continue
        median = statistics.median(values)
        passing = statistics.median(samples[(f"{label} [passing its arguments]", threads)])
        rows.append({"part": label, "threads": threads, "ns_per_lab": median / n, "median_ms": median / 1e6,
                     "passing_arguments_ms": passing / 1e6, "net_ns_per_lab": (median - passing) / n})
    return {"n_labs": n, "network": "erdos_renyi" if sim.net.indices.shape[0] else "none", "repeats": repeats,
            "rows": rows, "skipped": skipped}


@numba.njit(parallel=True, cache=True)
def _tiny_parallel(a):
    for i in prange(a.shape[0]):
        a[i] += 1.0


@numba.njit(cache=True)
def _tiny_serial(a):
    for i in range(a.shape[0]):
        a[i] += 1.0


@numba.njit(cache=True)
def _launch_parallel(a, times):
    for _ in range(times):
        _tiny_parallel(a)


@numba.njit(cache=True)
def _launch_serial(a, times):
    for _ in range(times):
        _tiny_serial(a)


def bench_small(thread_counts: list[int], steps: int) -> dict[str, Any]:
    """The baseline (12 labs, the ensemble's unit of work): what one step costs and where, per thread count.

    ``Simulation.step()`` and its random draws (timed inside the step), ``step_batch`` called alone from Python,
    a compiled function that does nothing but receive ``step_batch``'s arguments (the cost of passing the state
    from Python), and the cost of launching one ``prange`` kernel of 12 iterations from compiled code against a
    serial loop (numba's parallel runtime is entered even with one thread).
    """
    from economy.kernels import step as step_module

    scenario, _ = load_scenario(ROOT / "runs" / "baseline.toml")
    out: dict[str, Any] = {"n_labs": scenario.n_labs, "by_threads": {}}
    a = np.zeros(scenario.n_labs)
    _launch_parallel(a, 1)
    _launch_serial(a, 1)
    launches = 2000
    steps = min(steps, scenario.sim.n_steps - 1)
    for threads in thread_counts:
        sim = Simulation(scenario, [0], record_labs=False)
        clock = time_draws(sim)
        with_threads(threads, sim.step)
        wall, draws = [], []
        for _ in range(steps):
            clock[0] = 0
            t0 = time.perf_counter_ns()
            with_threads(threads, sim.step)
            wall.append(time.perf_counter_ns() - t0)
            draws.append(clock[0])
        args = _kernel_arguments(sim)
        names = list(inspect.signature(step_module.step_batch.py_func).parameters)
        positional = [args[name] for name in names] if all(name in args for name in names) else None
        batch, passing = [], []
        if positional is not None:
            _no_work(*positional)
            for _ in range(steps):
                t0 = time.perf_counter_ns()
                with_threads(threads, lambda positional=positional: step_module.step_batch(*positional))
                batch.append(time.perf_counter_ns() - t0)
                t0 = time.perf_counter_ns()
                _no_work(*positional)
                passing.append(time.perf_counter_ns() - t0)
        launch = {}
        for kind, fn in (("parallel", _launch_parallel), ("serial", _launch_serial)):
            t0 = time.perf_counter_ns()
            with_threads(threads, lambda fn=fn: fn(a, launches))
            launch[kind] = (time.perf_counter_ns() - t0) / launches / 1e3
        out["by_threads"][str(threads)] = {
            "step_us": statistics.median(wall) / 1e3,
            "draws_us": statistics.median(draws) / 1e3,
            "step_batch_us": statistics.median(batch) / 1e3 if batch else None,
            "passing_state_us": statistics.median(passing) / 1e3 if passing else None,
            "prange_launch_us": launch["parallel"],
            "serial_call_us": launch["serial"],
            "steps_per_run": scenario.sim.n_steps,
            "run_ms_from_steps": statistics.median(wall) * scenario.sim.n_steps / 1e6,
        }
    return out


# ---------------------------------------------------------------------------------------------- 4. bytes per lab
def bytes_per_lab(n: int = 10_000) -> dict[str, Any]:
    """Bytes one step moves per lab, counted from the itemsizes of the per-lab arrays.

    Per-lab arrays are those of ``LabState``, ``StepDraws`` (and the research shocks), ``StepWork`` and, with
    the network, ``NetworkState`` (its per-lab columns, the 64-byte node records and the CSR rows: ``indptr``
    and, per lab, ``mean degree`` entries of ``indices`` and ``weight``).  The count is one read of every array
    and one more write of each array a real step changed (found by comparing the arrays before and after a
    step at ``n`` labs), i.e. a single pass over the state: a floor on the traffic, since the engine sweeps the
    columns several times (one pass per stage) and random neighbour reads cost whole cache lines.
    """
    out: dict[str, Any] = {"n_labs": n}
    for network in NETWORKS:
        sim = Simulation(generated(n, network), [SEED], record_labs=False)
        sim.step()
        labs_per_run = sim.capacity  # one run: per-lab arrays have shape (1, capacity, ...)
        groups: dict[str, list[tuple[str, np.ndarray]]] = {
            "labs": list(zip(sim.labs._fields, sim.labs, strict=True)),
            "draws": [*zip(sim.draws._fields, sim.draws, strict=True), ("shocks", sim._shocks)],
            "work": list(zip(sim.work._fields, sim.work, strict=True)),
        }
        if network != "none":
            groups["network"] = list(zip(sim.net._fields, sim.net, strict=True))
        before = {(g, name): a.copy() for g, items in groups.items() for name, a in items}
        sim.step()
        detail: dict[str, Any] = {}
        for g, items in groups.items():
            read = written = 0.0
            changed = []
            for name, a in items:
                per_lab_array = a.ndim >= 2 and a.shape[1] in (labs_per_run, labs_per_run + 1)
                csr_entries = g == "network" and name in ("indices", "weight")
                if not (per_lab_array or csr_entries):
                    continue  # per run (event buffers, rival table, segment demand, ...), not per lab
                per_lab = a.nbytes / labs_per_run
                read += per_lab
                if not np.array_equal(before[(g, name)], a, equal_nan=True):
                    written += per_lab
                    changed.append(name)
            detail[g] = {"read_bytes": read, "written_bytes": written, "changed": changed}
        out[network] = {"groups": detail,
                        "bytes_per_lab": sum(d["read_bytes"] + d["written_bytes"] for d in detail.values())}
    return out


# ---------------------------------------------------------------------------------------------- 5. Mesa
def bench_mesa(n: int, steps: int, thread_counts: list[int]) -> dict[str, Any]:
    scenario = restricted(n)
    t0 = time.perf_counter()
    sim = Simulation(scenario, [SEED], record_labs=False)
    engine_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = MesaEconomy(scenario, seed=SEED)
    mesa_build = time.perf_counter() - t0
    for threads in thread_counts:
        with_threads(threads, sim.step)
    model.step()
    engine: dict[int, list[float]] = {t: [] for t in thread_counts}
    mesa_times: list[float] = []
    for _ in range(steps):
        for threads in thread_counts:
            t0 = time.perf_counter_ns()
            with_threads(threads, sim.step)
            engine[threads].append(time.perf_counter_ns() - t0)
        t0 = time.perf_counter_ns()
        model.step()
        mesa_times.append(time.perf_counter_ns() - t0)
    mesa_step = summary_ns(mesa_times)
    by_threads = {}
    for threads in thread_counts:
        step = summary_ns(engine[threads])
        by_threads[str(threads)] = {"step": step, "ns_per_lab_step": step["median_ns"] / n,
                                    "ratio": mesa_step["median_ns"] / step["median_ns"]}
    best = min(by_threads.values(), key=lambda row: row["step"]["median_ns"])
    return {"n_labs": n, "steps": steps, "mesa_step": mesa_step, "mesa_ns_per_lab_step": mesa_step["median_ns"] / n,
            "mesa_build_s": mesa_build, "engine_build_s": engine_build, "engine": by_threads,
            "ratio": best["ratio"], "alive_after": len(model.agents)}


# ---------------------------------------------------------------------------------------------- 6. ensembles
def bench_ensemble(workers: int, runs: int) -> dict[str, Any]:
    from runs.experiments import Execution, Setup, run_ensemble
    from runs.views import FIGURES

    scenario, text = load_scenario(ROOT / "runs" / "baseline.toml")
    with tempfile.TemporaryDirectory(prefix="bench-ensemble-") as tmp:
        t0 = time.perf_counter()
        setup = Setup(scenario, text, out_dir=Path(tmp) / "out", execution=Execution(workers=workers, threads=1),
                      figures=FIGURES)
        result = run_ensemble(setup, runs=runs)
        wall = time.perf_counter() - t0
    thr = result.summary["throughput"]
    return {"workers": workers, "threads_per_worker": 1, "runs": runs, "failed_runs": result.failed_runs,
            "runs_per_second": thr["runs_per_second"], "runs_per_cpu_second": thr.get("runs_per_cpu_second"),
            "startup_s": thr.get("startup_seconds"), "compute_s": thr.get("compute_seconds"),
            "finalise_s": thr.get("finalise_seconds"), "wall_s": wall, "execution": thr.get("execution")}


def bench_batch(runs: int, thread_counts: list[int]) -> dict[str, Any]:
    """A chunk's work without the ensemble machinery: ``Simulation(baseline, runs seeds).run()`` in this process
    (one compiled batch, as an ensemble worker runs a chunk), runs per second."""
    scenario, _ = load_scenario(ROOT / "runs" / "baseline.toml")
    out = {"runs": runs}
    for threads in thread_counts:
        t0 = time.perf_counter()
        with_threads(threads, lambda: Simulation(scenario, list(range(runs)), record_labs=False).run())
        out[str(threads)] = runs / (time.perf_counter() - t0)
    return out


# ---------------------------------------------------------------------------------------------- 7. memory
def memory_child(n: int, network: str) -> None:
    """Child process: load the kernels on a tiny population, then (n > 0) build and step ``n`` labs; print JSON."""
    t0 = time.perf_counter()
    Simulation(generated(50, network), [SEED], record_labs=False).step()
    out: dict[str, Any] = {"n_labs": n, "network": network, "warm_up_s": time.perf_counter() - t0,
                           "hwm_after_warm_up_kb": _proc_status()["VmHWM"]}
    try:  # reset the peak RSS (VmHWM) to the current RSS (Linux 4.0+), for the same-process measure
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        out["hwm_reset"] = True
    except OSError:
        out["hwm_reset"] = False
    out["rss_before_build_kb"] = _proc_status()["VmRSS"]
    if n > 0:
        t0 = time.perf_counter()
        sim = Simulation(generated(n, network), [SEED], record_labs=False)
        out["build_s"] = time.perf_counter() - t0
        sim.step()
        sim.step()
        out["edges"] = int(sim.net.indices.shape[0]) // 2
        out["state_bytes"] = {
            "labs": sum(a.nbytes for a in sim.labs), "network": sum(a.nbytes for a in sim.net),
            "work": sum(a.nbytes for a in sim.work), "draws": sum(a.nbytes for a in sim.draws) + sim._shocks.nbytes,
            "market_record": sim.market.nbytes,
        }
    # ru_maxrss of a child started by a large parent reports the parent's peak (Linux carries the old memory map's
    # high-water mark over exec), so the child's own peak is VmHWM: that of its own memory map
    out["ru_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status = _proc_status()
    out["rss_now_kb"] = status["VmRSS"]
    out["hwm_kb"] = status["VmHWM"]
    out["peak_kb"] = max(out["hwm_after_warm_up_kb"], status["VmHWM"])
    if n > 0:  # what the starting graphs kept on the simulation hold: the RSS freed by dropping them
        sim.drop_graphs()
        gc.collect()
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        out["rss_without_graphs_kb"] = _proc_status()["VmRSS"]
    print(json.dumps(out))


def _proc_status() -> dict[str, int]:
    """VmRSS and VmHWM of this process, kB."""
    values = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def _child(n: int, network: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", str(n), "--memory-network", network]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_memory(n: int, network: str = "erdos_renyi") -> dict[str, Any]:
    """Peak RSS per lab: (child building and stepping n labs) - (child only loading the kernels), over n.

    A child's peak is its VmHWM (the high-water mark of its own memory map; its ``ru_maxrss`` would report this
    process's peak instead, since Linux carries the parent's high-water mark over the fork and exec).

    The baseline child runs before and after; the smaller of its two peaks is used (a child that had to compile
    a kernel has a larger peak), which errs towards a larger figure per lab.  A cross-check within the big child:
    its peak RSS from just after loading the kernels (VmHWM reset through /proc/self/clear_refs) minus its RSS
    then, over n.  Also the resident memory freed by dropping the starting graphs the simulation keeps
    (``Simulation.drop_graphs``; an Erdos-Renyi graph is kept as CSR arrays the kernels share, so next to nothing),
    over n."""
    before = _child(0, network)
    big = _child(n, network)
    after = _child(0, network)
    base = min(before, after, key=lambda c: c["peak_kb"])
    state = sum(big["state_bytes"].values())
    return {
        "n_labs": n, "network": network, "mean_degree": MEAN_DEGREE, "edges": big["edges"],
        "peak_bytes_per_lab": (big["peak_kb"] - base["peak_kb"]) * 1024 / n,
        "resident_after_steps_bytes_per_lab": (big["rss_now_kb"] - base["rss_now_kb"]) * 1024 / n,
        "same_process_peak_bytes_per_lab": ((big["hwm_kb"] - big["rss_before_build_kb"]) * 1024 / n
                                            if big["hwm_reset"] else None),
        "state_arrays_bytes_per_lab": state / n,
        "freed_by_dropping_graphs_bytes_per_lab": (big["rss_now_kb"] - big["rss_without_graphs_kb"]) * 1024 / n,
        "state_bytes_per_lab": {k: v / n for k, v in big["state_bytes"].items()},
        "children": {"baseline_before": before, "simulation": big, "baseline_after": after},
    }


# ---------------------------------------------------------------------------------------------- 8. cold start
def _multipolar() -> list[str]:
    script = Path(sys.executable).with_name("multipolar")
    return [str(script)] if script.exists() else [sys.executable, "-m", "runs.cli"]


def _timed_run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall


def bench_cold_start(thread_counts: list[int], cold: bool = True, smoke: bool = False) -> dict[str, Any]:
    """``multipolar run runs/baseline.toml`` with an empty kernel cache, then warm (twice, and with --threads 1);
    the command's imports (:data:`RUN_IMPORTS`); the first step of the baseline in a fresh process (the
    kernels loaded from the warm cache); the baseline simulation alone, in this process.  ``cold=False`` (the
    ``--no-cold-start`` option) skips the empty-cache run, which compiles every kernel (minutes), and measures the
    rest with the cache this process uses: ``cold_s`` is then None.  ``smoke``: one warm run and no ``--threads 1``
    run (``warm_threads_1_s`` None), about 14 s less."""
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba-cache")} if cold else dict(os.environ)
        cmd = [*_multipolar(), "run", "runs/baseline.toml", "--json", "--out"]
        cold_s = _timed_run([*cmd, str(Path(tmp) / "cold")], env) if cold else None
        warm = [_timed_run([*cmd, str(Path(tmp) / f"warm{k}")], env) for k in range(1 if smoke else 2)]
        warm_one = None if smoke else _timed_run([*cmd, str(Path(tmp) / "warm-t1"), "--threads", "1"], env)
        imports = _timed_run([sys.executable, "-c", RUN_IMPORTS], env)
        first_step = _first_step(env)
    scenario, _ = load_scenario(ROOT / "runs" / "baseline.toml")
    simulation: dict[str, float] = {}
    for threads in thread_counts:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            with_threads(threads, lambda: Simulation(scenario, [0]).run())
            times.append(time.perf_counter() - t0)
        simulation[str(threads)] = statistics.median(times)
    return {"cold_s": cold_s, "warm_s": min(warm), "warm_runs_s": warm, "warm_threads_1_s": warm_one,
            "import_s": imports, "first_step_fresh_process_s": first_step,
            "simulation_in_process_s_by_threads": simulation}


RUN_IMPORTS = "import runs.cli, runs.cli.run, runs.experiments.single, runs.views.run"
"""The modules a warm ``multipolar run`` with figures imports before its first step (docs/performance.md,
"Start-up")."""

FIRST_STEP = """
import time
from economy.params import load_scenario
from economy.engine import Simulation
scenario, _ = load_scenario("runs/baseline.toml")
sim = Simulation(scenario, [0])
t0 = time.perf_counter()
sim.step()
print(time.perf_counter() - t0)
"""


def _first_step(env: dict[str, str]) -> float:
    """The first step of the baseline in a fresh process: loading the compiled kernels from the cache."""
    done = subprocess.run([sys.executable, "-c", FIRST_STEP], capture_output=True, text=True, cwd=ROOT, env=env,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"first-step child failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------- report
def _best(rows: list[dict[str, Any]], n: int, network: str) -> dict[str, Any]:
    return min((r for r in rows if r["n_labs"] == n and r["network"] == network), key=lambda r: r["ns_per_lab_step"])


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    steps = result["steps"]
    largest = max(r["n_labs"] for r in steps)
    net = _best(steps, largest, "erdos_renyi")
    bare = _best(steps, largest, "none")
    mesa = max(result["mesa"], key=lambda m: m["n_labs"])
    one, two = (min((e for e in result["ensemble"] if e["workers"] == w), key=lambda e: e["wall_s"]) for w in (1, 2))
    large = result["ensemble_large"]
    large_target = TARGETS["ensemble_large_wall_s"] * large["runs"] / LARGE_ENSEMBLE
    scaled = "" if large["runs"] == LARGE_ENSEMBLE else f" (target scaled from {LARGE_ENSEMBLE:,} runs)"
    mem = result["memory"]
    cold = result["cold_start"]
    rows = [
        ("baseline ensemble, steady state, runs/s", f"2 workers, {two['runs']:,} runs", two["runs_per_second"],
         TARGETS["ensemble_runs_per_s"], "min"),
        (f"{large['runs']:,}-run baseline ensemble, wall with the cluster's start, s", f"2 workers{scaled}",
         large["wall_s"], large_target, "max"),
        (f"{one['runs']:,}-run wall time, 2 workers / 1 worker", f"{two['wall_s']:.1f} s / {one['wall_s']:.1f} s",
         two["wall_s"] / one["wall_s"], TARGETS["ensemble_wall_ratio"], "max"),
        ("step without the network, ns per lab-step", f"N = {largest:,}, {bare['threads']} thread(s)",
         bare["ns_per_lab_step"], TARGETS["step_no_network_ns"], "max"),
        ("step with the degree-10 network, ns per lab-step", f"N = {largest:,}, {net['threads']} thread(s)",
         net["ns_per_lab_step"], TARGETS["step_network_ns"], "max"),
        ("speed-up over the idiomatic Mesa model", f"N = {mesa['n_labs']:,}", mesa["ratio"], TARGETS["mesa_ratio"],
         "min"),
        ("multipolar run runs/baseline.toml, warm cache, s", f"wall, best of {len(cold['warm_runs_s'])}",
         cold["warm_s"], TARGETS["warm_run_s"], "max"),
        ("first multipolar run with an empty kernel cache, s", "wall", cold["cold_s"], TARGETS["cold_run_s"], "max"),
        ("peak memory, bytes per lab (graph included)", f"N = {mem['n_labs']:,}", mem["peak_bytes_per_lab"],
         TARGETS["peak_bytes_per_lab"], "max"),
    ]
    return [{"figure": figure, "where": where, "measured": value, "target": target,
             "kind": "at most" if kind == "max" else "at least",
             "met": None if value is None else bool(value <= target) if kind == "max" else bool(value >= target)}
            for figure, where, value, target, kind in rows]


def figures(result: dict[str, Any]) -> dict[str, float]:
    """The headline numbers, flat (every one finite and positive in a sound run; tests/test_benchmarks.py)."""
    out: dict[str, float] = {}
    for r in result["steps"]:
        out[f"step_ns_per_lab_{r['network']}_n{r['n_labs']}_t{r['threads']}"] = r["ns_per_lab_step"]
    for m in result["mesa"]:
        out[f"mesa_ns_per_lab_n{m['n_labs']}"] = m["mesa_ns_per_lab_step"]
        out[f"mesa_ratio_n{m['n_labs']}"] = m["ratio"]
    for e in result["ensemble"]:
        out[f"ensemble_runs_per_s_w{e['workers']}"] = e["runs_per_second"]
        out[f"ensemble_wall_s_w{e['workers']}"] = e["wall_s"]
    out["ensemble_large_wall_s"] = result["ensemble_large"]["wall_s"]
    for threads, row in result["small"]["by_threads"].items():
        out[f"baseline_step_us_t{threads}"] = row["step_us"]
    for threads in result["thread_counts"]:
        out[f"batch_runs_per_s_t{threads}"] = result["batch"][str(threads)]
    if result["cold_start"]["cold_s"] is not None:
        out["cold_start_s"] = result["cold_start"]["cold_s"]
    out["import_s"] = result["cold_start"]["import_s"]
    out["first_step_fresh_process_s"] = result["cold_start"]["first_step_fresh_process_s"]
    out["warm_start_s"] = result["cold_start"]["warm_s"]
    out["peak_bytes_per_lab"] = result["memory"]["peak_bytes_per_lab"]
    out["bandwidth_gb_s"] = result["bandwidth"]["best_gb_s"]
    for network in NETWORKS:
        out[f"bytes_per_lab_{network}"] = result["bytes"][network]["bytes_per_lab"]
        out[f"floor_fraction_{network}"] = result["floor"][network]["fraction"]
    return out


def bandwidth_floor(result: dict[str, Any]) -> dict[str, Any]:
    steps = result["steps"]
    largest = max(r["n_labs"] for r in steps)
    gb_s = result["bandwidth"]["best_gb_s"]
    out = {}
    for network in NETWORKS:
        row = _best(steps, largest, network)
        moved = result["bytes"][network]["bytes_per_lab"]
        floor_ns = moved / gb_s  # bytes / (1e9 bytes/s) = ns
        out[network] = {"n_labs": largest, "threads": row["threads"], "bytes_per_lab": moved,
                        "floor_ns_per_lab_step": floor_ns, "measured_ns_per_lab_step": row["ns_per_lab_step"],
                        "fraction": floor_ns / row["ns_per_lab_step"]}
    return out


def _num(x: float, digits: int = 1) -> str:
    if x >= 1e5:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    load = m.get("load_average_before") or [math.nan]
    steal = m.get("cpu_steal_fraction")
    lines = [
        f"Machine: {m['cores_available']} cores, numba {m['numba']} ({m['numba_threading_layer']} layer), numpy "
        f"{m['numpy']}, mesa {m['mesa']}, Python {m['python']}; load average {load[0]:.2f} before, "
        f"{result['load_average_after'][0]:.2f} after; CPU time stolen by other guests of the host during the run "
        f"{'n/a' if steal is None else f'{steal:.1%}'}; {'quick' if result['quick'] else 'full'} run "
        f"of {result['wall_s'] / 60:.1f} min.",
        "",
        "| figure | where | measured | target | met |",
        "|---|---|---:|---:|---|",
    ]
    for t in result["targets"]:
        measured = "not measured (--no-cold-start)" if t["measured"] is None else _num(t["measured"], 2)
        met = "n/a" if t["met"] is None else "yes" if t["met"] else "no"
        lines.append(f"| {t['figure']} | {t['where']} | {measured} | {t['kind']} {_num(t['target'], 1)} | {met} |")
    lines += ["", "| labs | network | threads | ns per lab-step | ms per step | CPU ns per lab-step "
              "| of which random draws (ns per lab) | build (s) |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in result["steps"]:
        lines.append(f"| {r['n_labs']:,} | {r['network']} | {r['threads']} | {_num(r['ns_per_lab_step'])} "
                     f"| {r['step']['median_ns'] / 1e6:,.2f} | {_num(r['cpu_ns_per_lab_step'])} "
                     f"| {_num(r['draws_ns_per_lab_step'])} | {r['build_s']:.1f} |")
    lines += ["", "| labs (restricted scenario) | idiomatic Mesa, ms per step | Mesa ns per lab-step "
              "| engine ns per lab-step (threads) | Mesa / engine |", "|---:|---:|---:|---|---:|"]
    for row in result["mesa"]:
        engine = ", ".join(f"{_num(e['ns_per_lab_step'])} ({t})" for t, e in row["engine"].items())
        lines.append(f"| {row['n_labs']:,} | {row['mesa_step']['median_ns'] / 1e6:,.1f} "
                     f"| {_num(row['mesa_ns_per_lab_step'], 0)} | {engine} | {row['ratio']:,.0f} |")
    bw = result["bandwidth"]
    triad = ", ".join(f"{v:.1f} ({t} thr.)" for t, v in bw["triad_gb_s_by_threads"].items())
    lines += ["", f"Memory bandwidth: numpy copy {bw['numpy_copy_gb_s']:.1f} GB/s, STREAM triad {triad} GB/s.", "",
              "| network | bytes per lab-step (floor count) | floor ns per lab-step | measured | fraction of floor |",
              "|---|---:|---:|---:|---:|"]
    for network, f in result["floor"].items():
        lines.append(f"| {network} | {f['bytes_per_lab']:.0f} | {f['floor_ns_per_lab_step']:.1f} "
                     f"| {_num(f['measured_ns_per_lab_step'])} (N = {f['n_labs']:,}) | {f['fraction']:.1%} |")
    b = result["breakdown"]
    lines += ["", f"Where the step goes (N = {b['n_labs']:,}, network {b['network']}; each part alone):", "",
              "| part | threads | ns per lab | ms | of which passing the arguments from Python (ms) |",
              "|---|---:|---:|---:|---:|"]
    for row in b["rows"]:
        lines.append(f"| {row['part']} | {row['threads']} | {_num(row['ns_per_lab'])} | {row['median_ms']:,.2f} "
                     f"| {row['passing_arguments_ms']:,.3f} |")
    for label, why in b["skipped"].items():
        lines.append(f"| {label} | - | skipped: {why} | - |")
    small = result["small"]
    lines += ["", f"The baseline's step ({small['n_labs']} labs), microseconds:", "",
              "| threads | Simulation.step | of which random draws | step_batch called from Python "
              "| passing the state from Python | one prange launch (12 iterations) | one serial call |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    for threads, row in small["by_threads"].items():
        batch_us = f"{row['step_batch_us']:.0f}" if row["step_batch_us"] is not None else "-"
        passing_us = f"{row['passing_state_us']:.0f}" if row["passing_state_us"] is not None else "-"
        lines.append(f"| {threads} | {row['step_us']:.0f} | {row['draws_us']:.0f} | {batch_us} | {passing_us} "
                     f"| {row['prange_launch_us']:.2f} | {row['serial_call_us']:.3f} |")
    lines += ["", "| baseline ensemble | runs | runs/s after warm-up | runs per CPU-second | wall (s) |",
              "|---|---:|---:|---:|---:|"]
    for e in [*result["ensemble"], result["ensemble_large"]]:
        lines.append(f"| {e['workers']} worker(s) | {e['runs']} | {e['runs_per_second']:.0f} "
                     f"| {e['runs_per_cpu_second'] or math.nan:.0f} | {e['wall_s']:.1f} |")
    batch = ", ".join(f"{v:.0f} ({t} thr.)" for t, v in result["batch"].items() if t != "runs")
    lines += ["", f"A chunk's work alone (one compiled batch of {result['batch']['runs']} baseline runs, "
                  f"`Simulation(...).run()` in this process): {batch} runs/s."]
    c = result["cold_start"]
    sims = ", ".join(f"{v:.2f} s ({t} thr.)" for t, v in c["simulation_in_process_s_by_threads"].items())
    mem = result["memory"]
    cold = "not measured (--no-cold-start)" if c["cold_s"] is None else f"{c['cold_s']:.1f} s"
    one = "not measured (--smoke)" if c["warm_threads_1_s"] is None else f"{c['warm_threads_1_s']:.1f} s"
    lines += [
        "",
        f"`multipolar run runs/baseline.toml`: {cold} with an empty kernel cache, {c['warm_s']:.1f} s "
        f"warm ({one} with --threads 1); of which imports {c['import_s']:.1f} s, loading "
        f"the compiled kernels (the first step in a fresh process) {c['first_step_fresh_process_s']:.1f} s and the "
        f"simulation {sims}.",
        "",
        f"Memory at N = {mem['n_labs']:,} with the network ({mem['edges']:,} edges): peak "
        f"{mem['peak_bytes_per_lab']:,.0f} bytes per lab, {mem['resident_after_steps_bytes_per_lab']:,.0f} resident "
        f"after two steps, of which the state arrays {mem['state_arrays_bytes_per_lab']:,.0f}; dropping the starting "
        f"graphs (`Simulation.drop_graphs()`) frees {mem['freed_by_dropping_graphs_bytes_per_lab']:,.0f}.",
    ]
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10.0, 5.0))
    styles = {"erdos_renyi": ("tab:blue", "with the network (mean degree 10)"), "none": ("tab:orange", "no network")}
    markers = ["o", "s", "^", "D"]
    thread_counts = sorted({r["threads"] for r in result["steps"]})
    for network, (colour, label) in styles.items():
        for k, threads in enumerate(thread_counts):
            rows = sorted((r for r in result["steps"] if r["network"] == network and r["threads"] == threads),
                          key=lambda r: r["n_labs"])
            ax.plot([r["n_labs"] for r in rows], [r["ns_per_lab_step"] for r in rows], marker=markers[k % 4],
                    color=colour, linestyle="-" if k == len(thread_counts) - 1 else "--",
                    label=f"engine, {label}, {threads} thread{'s' if threads > 1 else ''}")
    mesa = sorted(result["mesa"], key=lambda m: m["n_labs"])
    ax.plot([m["n_labs"] for m in mesa], [m["mesa_ns_per_lab_step"] for m in mesa], marker="x", color="tab:red",
            label="idiomatic Mesa (no network, restricted)")
    ax.axhline(TARGETS["step_network_ns"], color="tab:blue", linewidth=0.8, linestyle=":")
    ax.axhline(TARGETS["step_no_network_ns"], color="tab:orange", linewidth=0.8, linestyle=":")
    ax.text(min(r["n_labs"] for r in result["steps"]), TARGETS["step_network_ns"], " target with network",
            va="bottom", fontsize=8, color="tab:blue")
    ax.text(min(r["n_labs"] for r in result["steps"]), TARGETS["step_no_network_ns"], " target without",
            va="bottom", fontsize=8, color="tab:orange")
    right = max(r["n_labs"] for r in result["steps"])
    for network, f in result["floor"].items():
        ax.axhline(f["floor_ns_per_lab_step"], color=styles[network][0], linewidth=0.8, linestyle="-.")
        ax.text(right, f["floor_ns_per_lab_step"], f"bandwidth floor, {'network' if network != 'none' else 'none'} ",
                ha="right", va="top", fontsize=7, color=styles[network][0])
    engine = sorted(result["mesa"], key=lambda m: m["n_labs"])
    ax.plot([m["n_labs"] for m in engine], [min(e["ns_per_lab_step"] for e in m["engine"].values()) for m in engine],
            marker="+", color="tab:red", linestyle=":", label="engine on the same restricted scenario")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("labs N")
    ax.set_ylabel("wall time per lab-step (ns)")
    load = result["machine"].get("load_average_before") or [math.nan]
    after = result.get("load_average_after") or [math.nan]
    ax.set_title(f"Simulation.step(): wall time per lab-step (median); load average {load[0]:.1f} before the run, "
                 f"{after[0]:.1f} after", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, which="both", alpha=0.3)
    fig.text(0.01, 0.01, "dotted: targets; dash-dot: bandwidth floor (bytes moved / measured bandwidth)",
             fontsize=7, color="0.4")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def uncommitted_changes() -> list[str] | None:
    """Files of the code measured (economy/, agents/, runs/) that differ from the recorded commit; None without git."""
    try:
        done = subprocess.run(["git", "status", "--porcelain", "--", "economy", "agents", "runs"], cwd=ROOT,
                              capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return [line[3:] for line in done.stdout.splitlines() if line.strip()]


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 1e3 and 1e4 only, few repeats and runs")
    parser.add_argument("--smoke", action="store_true",
                        help="smaller than --quick (implies it): N = 1e3, 2 repeats, tiny ensembles; for the test "
                             "that keeps the script from rotting, not for figures")
    parser.add_argument("--out", type=Path, default=None, help="JSON output (the table goes next to it, .md)")
    parser.add_argument("--no-cold-start", action="store_true",
                        help="skip the run with an empty kernel cache (it compiles every kernel: minutes)")
    parser.add_argument("--threads", type=int, default=None,
                        help="numba threads for the engine (default: 1 and all cores, timed in turn)")
    parser.add_argument("--figure", type=Path, default=None, help="the log-log figure (PNG)")
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--memory-network", default="erdos_renyi", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    configure()
    if args.memory_child is not None:
        memory_child(args.memory_child, args.memory_network)
        return None
    began = time.perf_counter()
    cpu_before = cpu_times()
    smoke = args.smoke
    quick = args.quick or smoke
    out = args.out or ROOT / "benchmarks" / "results" / ("performance_quick.json" if quick else "performance.json")
    default_figure = out.with_suffix(".png") if quick else ROOT / "docs" / "figures" / "performance_scaling.png"
    figure = args.figure or default_figure
    cores = numba.config.NUMBA_NUM_THREADS
    if args.threads is not None:
        if not 1 <= args.threads <= cores:
            parser.error(f"--threads {args.threads}: must be between 1 and {cores}")
        thread_counts = [args.threads]
    else:
        thread_counts = sorted({1, cores})
    sizes = SMOKE_SIZES if smoke else QUICK_SIZES if quick else FULL_SIZES

    partial = out.with_name(f"{out.stem}.partial.json")

    def checkpoint() -> None:  # the sections done so far, in case the run is interrupted
        write_atomic(partial, json.dumps(result, indent=2) + "\n")

    log("warm-up: loading (or compiling) the kernels")
    Simulation(generated(50, "erdos_renyi", years=1.0), [SEED], record_labs=False).step()
    Simulation(restricted(20), [SEED], record_labs=False).step()
    result: dict[str, Any] = {"quick": quick, "smoke": smoke, "sizes": list(sizes), "seed": SEED,
                              "thread_counts": thread_counts, "machine": machine(),
                              "targets_definition": TARGETS}
    result["machine"]["git_uncommitted_changes"] = uncommitted_changes()
    checkpoint()
    log("memory bandwidth")
    result["bandwidth"] = bench_bandwidth(thread_counts)
    result["steps"] = []
    breakdown_sim = None
    for n in sizes:
        repeats = 2 if smoke else 5 if quick else (25 if n <= 10_000 else (11 if n <= 100_000 else 7))
        for network in NETWORKS:
            checkpoint()
            log(f"step, N = {n:,}, network {network}, {repeats} repeats")
            rows, sim = bench_steps(n, network, thread_counts, repeats)
            result["steps"] += rows
            if n == sizes[-1] and network == "erdos_renyi":
                breakdown_sim = sim
            del sim
    checkpoint()
    log(f"where the step goes, N = {sizes[-1]:,}")
    result["breakdown"] = bench_breakdown(breakdown_sim, thread_counts, 3, SMOKE_BREAKDOWN if smoke else None)
    del breakdown_sim
    checkpoint()
    log("the baseline's step (12 labs)")
    result["small"] = bench_small(thread_counts, 10 if smoke else 50 if quick else 200)
    checkpoint()
    log("bytes per lab")
    result["bytes"] = bytes_per_lab()
    result["floor"] = bandwidth_floor(result)
    result["mesa"] = []
    for n, steps in (((1_000, 2 if smoke else 3),) if quick else ((1_000, 10), (10_000, 5))):
        checkpoint()
        log(f"idiomatic Mesa, N = {n:,}, {steps} steps")
        result["mesa"].append(bench_mesa(n, steps, thread_counts))
    result["ensemble"] = []
    for workers, runs in (((1, 20), (2, 20)) if smoke else ((1, 200), (2, 200)) if quick
                          else ((1, 2000), (2, 2000))):
        checkpoint()
        log(f"ensemble, {workers} worker(s), {runs} runs")
        result["ensemble"].append(bench_ensemble(workers, runs))
    large = 40 if smoke else LARGE_ENSEMBLE // 10 if quick else LARGE_ENSEMBLE
    checkpoint()
    log(f"ensemble, 2 workers, {large:,} runs (wall with the cluster's start)")
    result["ensemble_large"] = bench_ensemble(2, large)
    checkpoint()
    log("a batch of baseline runs in this process")
    result["batch"] = bench_batch(10 if smoke else 25 if quick else 200, thread_counts)
    mem_n = 10_000 if quick else 1_000_000
    checkpoint()
    log(f"peak memory, N = {mem_n:,}")
    result["memory"] = bench_memory(mem_n)
    checkpoint()
    log("start-up" if args.no_cold_start else "cold start (compiles every kernel into an empty cache: minutes)")
    result["cold_start"] = bench_cold_start(thread_counts, cold=not args.no_cold_start, smoke=smoke)
    result["targets"] = targets(result)
    result["figures"] = figures(result)
    result["load_average_after"] = list(os.getloadavg())
    result["machine"]["cpu_steal_fraction"] = steal_fraction(cpu_before, cpu_times())
    result["wall_s"] = time.perf_counter() - began
    table = markdown(result)
    print(table)
    write_atomic(out, json.dumps(result, indent=2) + "\n")
    write_atomic(out.with_suffix(".md"), table + "\n")
    plot(result, figure)
    partial.unlink(missing_ok=True)
    log(f"wrote {out}, {out.with_suffix('.md')} and {figure}")
    return result


if __name__ == "__main__":
    main()
