"""benchmarks/run.py runs end to end and produces every figure (no timing assertions), in every CI run, so the
benchmark cannot rot.  At its ``--smoke`` size (the ``--quick`` code paths at N = 1e3 only, 2 repeats, ensembles of
20 runs on 1 and 2 workers and 40 on 2): the same sections and figures in about half the time of ``--quick``.

It runs with ``--no-cold-start``: the empty-cache run would compile every kernel again (about three minutes of a
core, while the session's own kernels are already compiled); the rest of that section (warm runs, imports, the
first step in a fresh process) still runs.  Under ``make test``
(pytest-xdist, two workers) it is scheduled first and the other worker goes on meanwhile.
``pytest -m "not benchmark"`` leaves it out of a local run.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def quick_benchmark(tmp_path: Path) -> dict:
    """``benchmarks/run.py --smoke --no-cold-start`` run to its end: ``returncode``, ``out`` (its JSON path),
    ``stdout``, ``stderr``."""
    out = tmp_path / "performance.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--no-cold-start",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
    return {"returncode": done.returncode, "out": out, "stdout": done.stdout, "stderr": done.stderr}


@pytest.mark.slow
@pytest.mark.benchmark
def test_quick_benchmark_produces_every_figure(quick_benchmark):
    assert quick_benchmark["returncode"] == 0, quick_benchmark["stderr"][-3000:]
    out = quick_benchmark["out"]
    result = json.loads(out.read_text())
    table = out.with_suffix(".md").read_text()
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert table.strip() in quick_benchmark["stdout"]

    figures = result["figures"]
    expected = (
        [f"step_ns_per_lab_{network}_n{n}_t{t}" for network in ("erdos_renyi", "none") for n in result["sizes"]
         for t in result["thread_counts"]]
        + [f"{name}_t{t}" for name in ("baseline_step_us", "batch_runs_per_s") for t in result["thread_counts"]]
        + ["mesa_ns_per_lab_n1000", "mesa_ratio_n1000", "ensemble_runs_per_s_w1", "ensemble_runs_per_s_w2",
           "ensemble_wall_s_w1", "ensemble_wall_s_w2", "ensemble_large_wall_s",
           "warm_start_s", "import_s", "first_step_fresh_process_s", "peak_bytes_per_lab",
           "bandwidth_gb_s", "bytes_per_lab_erdos_renyi", "bytes_per_lab_none", "floor_fraction_erdos_renyi",
           "floor_fraction_none"]
    )
    assert result["smoke"] and result["quick"] and result["sizes"] == [1_000]
    assert sorted(figures) == sorted(expected)
    assert result["cold_start"]["cold_s"] is None and "not measured (--no-cold-start)" in table
    for name, value in figures.items():
        assert isinstance(value, float) and math.isfinite(value) and value > 0.0, (name, value)

    # the machine is described
    # every target of issue 16 is reported, with its verdict (the empty-cache run is not measured here)
    assert len(result["targets"]) == 9
    for target in result["targets"]:
        if target["measured"] is None:
            assert target["figure"].startswith("first multipolar run") and target["met"] is None
            continue
        assert target["met"] == (target["measured"] <= target["target"] if target["kind"] == "at most"
                                 else target["measured"] >= target["target"])
        assert f"| {target['figure']} |" in table
    machine = result["machine"]
    for key in ("cores_available", "numba_threads", "numba", "numpy", "mesa", "load_average_before",
                "cpu_steal_fraction"):
        assert machine[key] is not None, key
    assert 0.0 <= machine["cpu_steal_fraction"] < 1.0
    assert result["ensemble"][0]["failed_runs"] == 0 and result["ensemble"][1]["failed_runs"] == 0
    assert result["ensemble_large"]["failed_runs"] == 0 and result["ensemble_large"]["runs"] == 40
    # the stage breakdown timed every kernel it knows (a changed kernel signature shows up here)
    assert result["breakdown"]["skipped"] == {}
    # the Mesa model ran the whole population
    assert result["mesa"][0]["alive_after"] > 0
    # more bytes move with the network than without it
    assert result["bytes"]["erdos_renyi"]["bytes_per_lab"] > result["bytes"]["none"]["bytes_per_lab"]


@pytest.mark.slow
@pytest.mark.benchmark
def test_the_vector_math_probe_runs_and_its_exponential_is_within_one_ulp(tmp_path):
    """benchmarks/vector_math.py (the design probe of docs/performance.md "What the rest would need") runs at a
    small size and writes every figure; its polynomial exponential is within 1 ulp of libm's on a million
    arguments (an error in its range reduction or coefficients would show as thousands of ulps)."""
    out = tmp_path / "vector_math.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "vector_math.py"), "--size", "256", "--repeats", "100",
               "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text())["figures"]
    for key in ("libm_exp_ns", "poly_exp_ns", "libm_log_ns", "exp_speed_up", "row_work_engine_ns_per_lab",
                "row_work_lanes_ns_per_lab", "row_work_speed_up"):
        assert math.isfinite(figures[key]) and figures[key] > 0.0, key
    assert figures["arguments_checked"] == 1_000_000
    assert figures["max_ulp_vs_libm"] <= 1
    assert figures["share_bit_identical_to_libm"] > 0.5
    assert figures["row_work_max_relative_difference"] < 1e-14  # the lanes compute the engine's rows, to rounding
