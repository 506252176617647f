"""Step times of the compiled economy and of the Mesa model around it.

Usage::

    python benchmarks/step_times.py [--quick] [--repeats R] [--threads N] [--out FILE.json]

Measures, with the kernels warm (loaded and run once before timing):

* ``Simulation.step()`` for generated populations of ``labs.n`` = 1e3, 1e5, 1e6 labs (``--quick``: 1e3, 1e4,
  1e5), one run, no lab table (``record_labs=False``, ``output.labs_every`` at its maximum): the median wall
  time of one step over the repeats, and the same per lab (ns per lab-step).  The draw of the step's research
  shocks (one standard normal per lab, done in Python before the compiled step) is timed on its own.
* ``AIEconomy.step()`` at N = 1e3 and 1e4 with and without Lab agents, against the bare ``Simulation.step()``
  of the same population (the three timed in turn, four times as many repeats), plus the cost of building the
  model and of ``AgentSet`` verbs (``model.agents.agg("share", sum)``, a Python loop reading a property per
  agent, and ``model.agents.groupby("kind").agg("share", sum)``) and of one ``DataCollector.collect``.

Prints a markdown table and writes JSON with the machine (cores, numba threads and threading layer,
versions, load average).  Wall and CPU times are both kept: on a machine shared with other processes, numba's
OpenMP threads can wait for a busy core (docs/agents.md, "Threads on a shared machine"); ``--threads 1``
gives the most stable numbers there.  This is a script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mesa
import numba
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.model import AIEconomy  # noqa: E402
from economy.engine import Simulation  # noqa: E402
from economy.kernels.config import configure  # noqa: E402
from economy.params import Scenario  # noqa: E402

FULL_SIM_SIZES = (1_000, 100_000, 1_000_000)
QUICK_SIM_SIZES = (1_000, 10_000, 100_000)
MESA_SIZES = (1_000, 10_000)
SEED = 20250101


def generated(n_labs: int, years: float = 20.0) -> Scenario:
    """A generated population of ``n_labs`` labs; no lab table."""
    return Scenario.model_validate({
        "name": f"bench-{n_labs}",
        "labs": {"n": n_labs},
        "sim": {"years": years},
        "output": {"labs_every": 100_000},
    })


def median_ns(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median, min and max wall time of ``fn()`` over ``repeats`` calls, and the median CPU time of the process
    (all threads), in ns.  On a shared machine the wall time includes waiting for a busy core."""
    wall, cpu = [], []
    for _ in range(repeats):
        c0 = time.process_time_ns()
        t0 = time.perf_counter_ns()
        fn()
        wall.append(time.perf_counter_ns() - t0)
        cpu.append(time.process_time_ns() - c0)
    return {"median_ns": float(statistics.median(wall)), "min_ns": float(min(wall)), "max_ns": float(max(wall)),
            "cpu_median_ns": float(statistics.median(cpu)), "repeats": repeats}


def warm_up() -> None:
    """Load (or compile) every kernel once, on a tiny population, before any timing."""
    model = AIEconomy(generated(20, years=0.25), seed=SEED, agents=True, record_labs=False)
    model.step()
    sim = Simulation(generated(20, years=0.25), [SEED], record_labs=False)
    sim.step()


def bench_simulation(n_labs: int, repeats: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    sim = Simulation(generated(n_labs), [SEED], record_labs=False)
    build_s = time.perf_counter() - t0
    sim.step()  # first step at this size (page faults of fresh arrays)
    steps_left = sim.n_steps - sim.steps_done
    if repeats > steps_left:
        raise ValueError(f"{repeats} repeats need more than the {steps_left} steps left")
    timing = median_ns(sim.step, repeats)
    draw_rng = np.random.Generator(np.random.PCG64(SEED))  # a throwaway stream, same size as the shock draw
    buffer = np.empty(n_labs)
    draw = median_ns(lambda: draw_rng.standard_normal(out=buffer), repeats)
    return {
        "n_labs": n_labs,
        "build_s": build_s,
        "step": timing,
        "ns_per_lab_step": timing["median_ns"] / n_labs,
        "cpu_ns_per_lab_step": timing["cpu_median_ns"] / n_labs,
        "shock_draw_ns": draw["median_ns"],
        "alive_after": int(sim.labs.alive[0].sum()),
    }


def interleaved_ns(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, dict[str, float]]:
    """``median_ns`` of several functions timed in turn, round after round, so that a change in the load of
    the machine hits all of them alike."""
    wall: dict[str, list[int]] = {name: [] for name in fns}
    cpu: dict[str, list[int]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            c0 = time.process_time_ns()
            t0 = time.perf_counter_ns()
            fn()
            wall[name].append(time.perf_counter_ns() - t0)
            cpu[name].append(time.process_time_ns() - c0)
    return {name: {"median_ns": float(statistics.median(wall[name])), "min_ns": float(min(wall[name])),
                   "max_ns": float(max(wall[name])), "cpu_median_ns": float(statistics.median(cpu[name])),
                   "repeats": repeats} for name in fns}


def bench_mesa(n_labs: int, repeats: int) -> dict[str, Any]:
    scenario = generated(n_labs)
    bare = Simulation(scenario, [SEED], record_labs=False)
    models: dict[str, AIEconomy] = {}
    out: dict[str, Any] = {"n_labs": n_labs}
    for mode, flag in (("agents", True), ("arrays_only", False)):
        t0 = time.perf_counter()
        models[mode] = AIEconomy(scenario, seed=SEED, agents=flag, record_labs=False)
        out[mode] = {"build_s": time.perf_counter() - t0, "n_agents": len(models[mode].agents)}
    repeats = min(repeats, bare.n_steps - 1)
    bare.step()
    for model in models.values():
        model.step()
    steps = interleaved_ns({"simulation": bare.step, **{mode: m.step for mode, m in models.items()}}, repeats)
    out["simulation_step"] = steps["simulation"]
    for mode, model in models.items():
        entry = out[mode]
        entry["step"] = steps[mode]
        entry["overhead_ns"] = steps[mode]["median_ns"] - steps["simulation"]["median_ns"]
        entry["collect"] = median_ns(lambda m=model: m.datacollector.collect(m), repeats)
    agents = models["agents"]
    verb = median_ns(lambda: agents.agents.agg("share", sum), repeats)
    out["agents"]["agg_share_sum"] = verb
    out["agents"]["agg_ns_per_agent"] = verb["median_ns"] / max(1, len(agents.agents))
    out["agents"]["groupby_kind_agg_share"] = median_ns(lambda: agents.agents.groupby("kind").agg("share", sum),
                                                        repeats)
    return out


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "cpu_count": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": numba.threading_layer(),  # the layer in use (after warm_up ran a parallel kernel)
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "mesa": mesa.__version__,
        "pandas": pd.__version__,
        "git_commit": commit,
        "load_average_before": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.3f}"


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| labs | Simulation.step median (ms) | min-max (ms) | ns per lab-step | CPU per step (ms) "
        "| CPU ns per lab-step | shock draw (ms) | build (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["simulation"]:
        s = row["step"]
        lines.append(f"| {row['n_labs']:,} | {_ms(s['median_ns'])} | {_ms(s['min_ns'])}-{_ms(s['max_ns'])} "
                     f"| {row['ns_per_lab_step']:.1f} | {_ms(s['cpu_median_ns'])} | {row['cpu_ns_per_lab_step']:.1f} "
                     f"| {_ms(row['shock_draw_ns'])} "
                     f"| {row['build_s']:.2f} |")
    lines += [
        "",
        "| labs | Simulation.step (ms) | AIEconomy.step, agents (ms) | AIEconomy.step, arrays only (ms) "
        "| build with agents (s) | build arrays only (s) | agents.agg(\"share\", sum) (ms) "
        "| agents.groupby(\"kind\").agg(\"share\", sum) (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["mesa"]:
        a, o = row["agents"], row["arrays_only"]
        lines.append(
            f"| {row['n_labs']:,} | {_ms(row['simulation_step']['median_ns'])} | {_ms(a['step']['median_ns'])} "
            f"| {_ms(o['step']['median_ns'])} | {a['build_s']:.3f} | {o['build_s']:.3f} "
            f"| {_ms(a['agg_share_sum']['median_ns'])} | {_ms(a['groupby_kind_agg_share']['median_ns'])} |")
    m = result["machine"]
    lines += ["", f"{m['cores_available']} cores available, {m['numba_threads']} numba threads "
              f"(threading layer {m['numba_threading_layer']}), numpy {m['numpy']}, numba {m['numba']}, "
              f"mesa {m['mesa']}, "
              f"peak RSS {result['peak_rss_mb']:.0f} MB."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller populations and fewer repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per case (default 25, quick 7)")
    parser.add_argument("--threads", type=int, default=None, help="numba threads (default: numba's default)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    configure()
    repeats = args.repeats or (7 if args.quick else 25)
    sizes = QUICK_SIM_SIZES if args.quick else FULL_SIM_SIZES
    if args.threads is not None:
        numba.set_num_threads(args.threads)
    warm_up()
    result: dict[str, Any] = {"quick": args.quick, "seed": SEED, "machine": machine(), "simulation": [], "mesa": []}
    for n in sizes:
        result["simulation"].append(bench_simulation(n, repeats))
        print(f"Simulation, {n:,} labs: done", file=sys.stderr)
    for n in MESA_SIZES:
        result["mesa"].append(bench_mesa(n, 4 * repeats))
        print(f"AIEconomy, {n:,} labs: done", file=sys.stderr)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result["load_average_after"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    print(markdown(result))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
