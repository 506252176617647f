"""Cost of the spillover network at scale: graph building (networkx, CSR conversion) and the stage-5 kernel.

Usage::

    python benchmarks/network_cost.py [--n 1000000] [--degree 10] [--repeats 5] [--kinds erdos_renyi,...]
                                      [--threads N] [--out FILE.json]

Measures, for ``n`` labs at mean degree ``degree``:

* per graph kind: networkx generation (seeded as the engine seeds it), the conversion to CSR
  (:func:`economy.network.to_csr`), the number of edges, and the growth of peak RSS;
* the stage-5 kernel (:func:`economy.kernels.spillover.spillover_stage`, all channels on) on a generated
  population (``labs.n = n``) with an Erdos-Renyi graph, warm: median wall time over the repeats, per directed
  CSR entry and per undirected edge; and one whole ``Simulation.step()`` with and without the network.

Prints a markdown table and writes JSON with the machine (cores, numba threads, versions).  This is a script,
not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from economy.engine import Simulation  # noqa: E402
from economy.kernels import layout as L  # noqa: E402
from economy.kernels.config import call_compiled, configure  # noqa: E402
from economy.kernels.spillover import mark_rows, spillover_stage  # noqa: E402
from economy.network import generate_graph, to_csr  # noqa: E402
from economy.params import Network, Scenario  # noqa: E402
from economy.streams import generators, root_sequence  # noqa: E402

KINDS = ("erdos_renyi", "barabasi_albert", "watts_strogatz")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_graphs(n: int, degree: float, kinds: list[str]) -> list[dict[str, Any]]:
    rows = []
    bloc = np.zeros(n, np.int16)
    for kind in kinds:
        network = Network(kind=kind, mean_degree=degree)
        rss0 = peak_rss_mb()
        t0 = time.perf_counter()
        graph = generate_graph(network, n, bloc, generators(root_sequence(1))["network"])
        t1 = time.perf_counter()
        indptr, indices, weight = to_csr(graph, n)
        t2 = time.perf_counter()
        rows.append({
            "kind": kind, "n": n, "edges": graph.number_of_edges(), "mean_degree": 2 * graph.number_of_edges() / n,
            "networkx_s": t1 - t0, "csr_s": t2 - t1, "peak_rss_growth_mb": peak_rss_mb() - rss0,
            "csr_mb": (indptr.nbytes + indices.nbytes + weight.nbytes) / 2**20,
        })
        print(f"  {kind}: networkx {t1 - t0:.1f} s, CSR {t2 - t1:.1f} s, {graph.number_of_edges()} edges", flush=True)
        del graph
    return rows


def time_kernel(n: int, degree: float, repeats: int) -> dict[str, Any]:
    sections = {"name": "bench", "labs": {"n": n}, "sim": {"years": 1.0}, "output": {"labs_every": 100000}}
    timings: dict[str, Any] = {}
    sims = {}
    for kind in ("none", "erdos_renyi"):
        sc = Scenario.model_validate({**sections, "network": {"kind": kind, "mean_degree": degree,
                                                              "talent_mobility": 0.2, "distill_fraction": 0.01}})
        t0 = time.perf_counter()
        sims[kind] = Simulation(sc, [1], record_labs=False)
        timings[f"simulation_init_{kind}_s"] = time.perf_counter() - t0
        sims[kind].step()  # warm
        steps = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            sims[kind].step()
            steps.append(time.perf_counter() - t0)
        timings[f"step_{kind}_s"] = statistics.median(steps)
    sim = sims["erdos_renyi"]
    rec = np.zeros((1, L.N_MARKET))
    call_compiled(mark_rows, sim.labs, sim.net)
    call_compiled(spillover_stage, sim.labs, sim.world, sim.par, sim.net, rec)  # warm
    stage = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call_compiled(spillover_stage, sim.labs, sim.world, sim.par, sim.net, rec)
        stage.append(time.perf_counter() - t0)
    entries = int(sim.net.indices.shape[0])
    median = statistics.median(stage)
    timings.update({
        "n": n, "csr_entries": entries, "undirected_edges": entries // 2, "stage5_s": median,
        "stage5_ns_per_entry": 1e9 * median / entries, "stage5_ns_per_edge": 2e9 * median / entries,
        "stage5_ns_per_lab": 1e9 * median / n, "talent_flow_people": float(rec[0, L.M_TALENT_FLOW]),
    })
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--degree", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--threads", type=int, default=None, help="numba threads (default: numba's default)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "network_cost.json")
    args = parser.parse_args()
    configure()
    if args.threads is not None:
        numba.set_num_threads(args.threads)
    kinds = [k for k in args.kinds.split(",") if k]
    print(f"graph building, n = {args.n}, mean degree {args.degree}", flush=True)
    graphs = time_graphs(args.n, args.degree, kinds)
    print("stage-5 kernel", flush=True)
    kernel = time_kernel(args.n, args.degree, args.repeats)
    result = {
        "machine": {"cores": os.cpu_count(), "numba_threads": numba.get_num_threads(),
                    "python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
                    "networkx": nx.__version__, "platform": platform.platform()},
        "graphs": graphs, "kernel": kernel, "load_average_after": list(os.getloadavg()),
    }
    print("\n| kind | edges | networkx (s) | CSR (s) | peak RSS growth (MB) |\n|---|---|---|---|---|")
    for row in graphs:
        print(f"| {row['kind']} | {row['edges']} | {row['networkx_s']:.2f} | {row['csr_s']:.2f} | "
              f"{row['peak_rss_growth_mb']:.0f} |")
    print(f"\nstage 5 at n = {kernel['n']}: {kernel['stage5_s'] * 1e3:.1f} ms per step, "
          f"{kernel['stage5_ns_per_edge']:.1f} ns per undirected edge ({kernel['stage5_ns_per_entry']:.1f} ns per "
          f"CSR entry); whole step {kernel['step_erdos_renyi_s'] * 1e3:.0f} ms with the network, "
          f"{kernel['step_none_s'] * 1e3:.0f} ms without; Simulation() {kernel['simulation_init_erdos_renyi_s']:.1f} s "
          f"with the network, {kernel['simulation_init_none_s']:.1f} s without")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
