"""Throughput and peak memory of ``multipolar ensemble``.

Usage::

    python benchmarks/ensemble_throughput.py [--scenario runs/baseline.toml] [--runs 10000] [--workers 2]
                                             [--chunk K] [--set KEY=VALUE ...] [--out FILE.json]

Runs the ensemble command as a user does (a subprocess: ``python -m runs.cli ensemble ... --json``) into a
temporary directory, sampling the resident memory of the whole process tree (the command, the Dask scheduler,
nannies and workers) every 0.2 s.  Reports:

* ``runs_per_second``: the command's own measure, runs computed per second from the end of the warm-up (Dask
  cluster started, kernels loaded in every worker) to the last chunk, i.e. throughput after warm-up;
* ``runs_per_second_wall``: runs per second of the whole command, start-up, figures and manifest included;
* ``runs_per_cpu_second``: runs per CPU-second spent in chunk tasks, i.e. one worker's throughput when it has
  a core to itself (``chunk_cpu_over_wall`` below 1 means the workers waited for a core);
* peak resident memory: of the process tree at any instant, and of the largest single process.

Writes JSON with the machine (cores, load average before and after: other work on a shared machine slows
the run) and prints a short table.  This is a script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "ensemble_throughput.json"


class TreeMemory:
    """Samples the summed RSS of a process and its descendants in a background thread."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_total = 0
        self.peak_single = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            total, single, count = 0, 0, 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                single = max(single, rss)
                count += 1
            self.peak_total = max(self.peak_total, total)
            self.peak_single = max(self.peak_single, single)
            self.peak_processes = max(self.peak_processes, count)
            self._stop.wait(self.interval)


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ensemble-bench-") as tmp:
        out_dir = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "runs.cli", "ensemble", str(args.scenario), "--runs", str(args.runs),
               "--workers", str(args.workers), "--seed", str(args.seed), "--out", str(out_dir), "--json"]
        if args.chunk is not None:
            cmd += ["--chunk", str(args.chunk)]
        for item in args.set or []:
            cmd += ["--set", item]
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        with TreeMemory(proc.pid) as memory:
            stdout, stderr = proc.communicate()
        wall = time.perf_counter() - t0
        load_after = os.getloadavg()
        if proc.returncode not in (0, 1):
            raise SystemExit(f"the ensemble command failed ({proc.returncode}):\n{stderr}")
        summary = json.loads(stdout)
        sizes = {sub: sum(p.stat().st_size for p in (out_dir / sub).glob("*.parquet"))
                 for sub in ("market", "chunks")}
        sizes["runs.parquet"] = (out_dir / "runs.parquet").stat().st_size
    thr = summary["throughput"]
    return {
        "command": " ".join(cmd[1:]).replace(str(out_dir), "<tmp>"),
        "runs": summary["runs"],
        "failed_runs": summary["failed_runs"],
        "runs_per_second": thr["runs_per_second"],
        "runs_per_second_wall": summary["runs"] / wall,
        "runs_per_cpu_second": thr["runs_per_cpu_second"],
        "chunk_cpu_over_wall": thr["chunk_cpu_seconds"] / thr["chunk_wall_seconds"],
        "compute_seconds": thr["compute_seconds"],
        "startup_seconds": thr["startup_seconds"],
        "finalise_seconds": thr["finalise_seconds"],
        "wall_seconds": wall,
        "workers": thr["workers"],
        "threads_per_worker": thr["threads_per_worker"],
        "chunk": summary["chunk"],
        "peak_rss_mb_tree": memory.peak_total / 2**20,
        "peak_rss_mb_largest_process": memory.peak_single / 2**20,
        "peak_rss_mb_reported": thr["peak_memory_mb"],
        "processes": memory.peak_processes,
        "output_bytes": sizes,
        "summary": {k: summary[k] for k in ("unipolar", "final_hhi", "takeoff_years", "singularity_year")},
        "machine": {
            "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average_before": load_before, "load_average_after": load_after,
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "runs" / "baseline.toml")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        ("runs", f"{result['runs']} ({result['failed_runs']} failed)"),
        ("workers x threads", f"{result['workers']} x {result['threads_per_worker']}, chunk {result['chunk']}"),
        ("runs/s after warm-up", f"{result['runs_per_second']:.0f}"),
        ("runs/s, whole command", f"{result['runs_per_second_wall']:.0f}"),
        ("runs per CPU-second of a worker", f"{result['runs_per_cpu_second']:.0f}"),
        ("CPU / wall time in chunk tasks", f"{result['chunk_cpu_over_wall']:.2f}"),
        ("wall time (s): start-up / chunks / finishing", f"{result['wall_seconds']:.1f}: "
                                                         f"{result['startup_seconds']:.1f} / "
                                                         f"{result['compute_seconds']:.1f} / "
                                                         f"{result['finalise_seconds']:.1f}"),
        ("peak RSS, process tree (MB)", f"{result['peak_rss_mb_tree']:.0f}"),
        ("peak RSS, largest process (MB)", f"{result['peak_rss_mb_largest_process']:.0f}"),
        ("market series on disk (MB)", f"{result['output_bytes']['market'] / 1e6:.0f}"),
        ("load average before / after", f"{result['machine']['load_average_before'][0]:.2f} / "
                                        f"{result['machine']['load_average_after'][0]:.2f}"),
    ]
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
