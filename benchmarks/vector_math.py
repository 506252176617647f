"""Probe for issue 16's missing factor: what a vectorised exponential would buy, measured, not estimated.

The engine's stages call libm's scalar ``exp``/``expm1``/``log``/``log1p`` once per lab and per use (a third of a
baseline ensemble's compiled time, docs/performance.md).  LLVM vectorises a numba loop only if every call in it
has a vector form; this machine's llvmlite has no SVML (``numba -s``), so ``math.exp`` stays one scalar call per
element.  An exponential written in numba itself (range reduction by ln 2, a degree-13 polynomial, the power of two
from a table) is plain arithmetic, so LLVM vectorises it, and without fastmath (no contraction into
FMAs) a vector lane computes exactly what the scalar loop computes: the same bits whatever a run's position in a
batch, which SVML's vector and scalar paths would not give.

This script times, per element, over arrays that fit in cache:

1. ``math.exp`` in a numba loop (libm, one call per element: what the stages do);
2. the polynomial exponential in a numba loop (vectorised by LLVM);
3. ``math.log`` in a numba loop, for scale (not vectorised here: a polynomial log is the same exercise);

4. a stage's row work (stage 6's share update and revenue, one exponential a lab, the run's constants read per
   run) over a batch of 500 runs of 28 lab columns, one thread: as the engine lays it out and writes it (state
   ``[run, column]``, a branch on the lab being alive, libm's ``exp``), and with the runs in SIMD lanes (state
   ``[column, run]``, branch-free, the polynomial exponential);

and reports the polynomial's error against libm in units in the last place over a million arguments in
[-700, 700] (libm's ``exp`` is itself correctly rounded in all but rare cases).  Writes the figures to JSON
(default benchmarks/results/vector_math.json) and prints them.  Not used by the engine: it measures the design
docs/performance.md ("What the rest would need") proposes.

Usage::

    python benchmarks/vector_math.py [--out FILE.json] [--size N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from economy.kernels.config import JIT_OPTIONS

jit = numba.njit(**JIT_OPTIONS)  # the engine's kernels' options (no fastmath, numpy's error model)

INV_LN2 = 1.44269504088896338700e00
LN2_HI = 6.93147180369123816490e-01  # ln 2's leading bits: n * LN2_HI is exact for |n| < 2^11 (fdlibm's split)
LN2_LO = 1.90821492927058770002e-10
DEGREE = 13  # Taylor terms on |r| <= ln(2)/2: the first term left out is below 2^-58 of the result
COEFFS = tuple(1.0 / math.factorial(k) for k in range(DEGREE + 1))
C = np.array(COEFFS)


@jit
def libm_exp(x, out):
    for i in range(x.shape[0]):
        out[i] = math.exp(x[i])


@jit
def libm_log(x, out):
    for i in range(x.shape[0]):
        out[i] = math.log(x[i])


POW2_MIN, POW2_MAX = -1022, 1023
POW2 = np.array([math.ldexp(1.0, k) for k in range(POW2_MIN, POW2_MAX + 1)])
"""2^n for the normal exponents, read by :func:`exp_lane` (a gather LLVM vectorises)."""


@numba.njit(inline="always", **JIT_OPTIONS)
def exp_lane(x):
    """e^x = p(r) 2^n with n = round(x / ln 2), r = x - n ln 2 (in two parts), p the degree-13 Taylor polynomial, 2^n
    from :data:`POW2` (x clamped to [-708, 709], where 2^n is a normal number)."""
    x = min(max(x, -708.0), 709.0)
    n = math.floor(x * INV_LN2 + 0.5)
    r = (x - n * LN2_HI) - n * LN2_LO
    c = C
    p = c[DEGREE]
    for k in range(DEGREE - 1, -1, -1):  # Horner; a constant trip count, which LLVM unrolls
        p = p * r + c[k]
    return p * POW2[np.int64(n) - POW2_MIN]


@jit
def poly_exp(x, out):
    """:func:`exp_lane` of every element (one loop, vectorised)."""
    for i in range(x.shape[0]):
        out[i] = exp_lane(x[i])


@jit
def rows_as_engine(alive, quality, share, infer, compute, revenue, spare, adjust, demand, inv_flop):
    """Stage 6's row work as the engine writes it: state ``[run, column]``, run after run, the run's columns in an
    inner loop (economy.kernels.blocks, one block per small run), a branch on the lab being alive, libm's exp."""
    n_runs, n = alive.shape
    for b in range(n_runs):
        for i in range(n):
            if not alive[b, i]:
                revenue[b, i] = 0.0
                continue
            target = math.exp(quality[b, i] - 1.0)
            s = share[b, i] + (target - share[b, i]) * adjust[b]
            share[b, i] = s
            capacity = infer[b, i] * compute[b, i] * inv_flop[b]
            revenue[b, i] = min(s * demand[b], capacity)
            spare[b, i] = capacity - revenue[b, i]


@jit
def rows_in_lanes(alive, quality, share, infer, compute, revenue, spare, adjust, demand, inv_flop):
    """The same work with the runs in SIMD lanes: state ``[column, run]``, branch-free (selects), :func:`exp_lane`."""
    n, n_runs = alive.shape
    for i in range(n):
        for b in range(n_runs):
            live = alive[i, b]
            target = exp_lane(quality[i, b] - 1.0)
            old = share[i, b]
            s = old + (target - old) * adjust[b]
            capacity = infer[i, b] * compute[i, b] * inv_flop[b]
            r = min(s * demand[b], capacity)
            share[i, b] = s if live else old
            revenue[i, b] = r if live else 0.0
            spare[i, b] = capacity - r if live else spare[i, b]


def row_work(rng: np.random.Generator, runs: int = 500, columns: int = 28, repeats: int = 400) -> dict[str, float]:
    """ns per lab column of :func:`rows_as_engine` and :func:`rows_in_lanes` on the same random batch (a quarter
    of the columns dead), and the largest relative difference of their revenues (the two exponentials differ in the
    last bit)."""
    shape = (runs, columns)
    state = {"alive": rng.random(shape) < 0.75, "quality": rng.uniform(-3.0, 2.0, shape),
             "share": rng.uniform(0.0, 0.2, shape), "infer": rng.uniform(0.1, 0.5, shape),
             "compute": rng.uniform(1e24, 1e26, shape), "revenue": np.zeros(shape), "spare": np.zeros(shape)}
    per_run = {"adjust": rng.uniform(0.05, 0.1, runs), "demand": rng.uniform(1e10, 1e11, runs),
               "inv_flop": rng.uniform(1e-16, 1e-15, runs)}
    engine = {k: v.copy() for k, v in state.items()}
    lanes = {k: np.ascontiguousarray(v.T) for k, v in state.items()}
    engine_args = [engine[k] for k in state] + list(per_run.values())
    lanes_args = [lanes[k] for k in state] + list(per_run.values())
    rows_as_engine(*engine_args)
    rows_in_lanes(*lanes_args)
    gap = float(np.max(np.abs(lanes["revenue"].T - engine["revenue"]) / np.maximum(engine["revenue"], 1e-300)))
    n = runs * columns
    return {"row_work_engine_ns_per_lab": best_ns(lambda: rows_as_engine(*engine_args), n, repeats),
            "row_work_lanes_ns_per_lab": best_ns(lambda: rows_in_lanes(*lanes_args), n, repeats),
            "row_work_max_relative_difference": gap}


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| in units in the last place of b (positive finite doubles: their bit patterns are ordered)."""
    return np.abs(a.view(np.int64) - b.view(np.int64))


def best_ns(fn, n: int, repeats: int) -> float:
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "vector_math.json")
    ap.add_argument("--size", type=int, default=4096, help="elements per call (in cache)")
    ap.add_argument("--repeats", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(20261207)
    x = rng.uniform(-30.0, 30.0, args.size)  # the range the stages' arguments span
    out = np.empty_like(x)
    pos = rng.uniform(1e-6, 1e6, args.size)

    def loop(fn):
        def go():
            for _ in range(50):
                fn()
        return go

    n = 50 * args.size
    figures = {
        "libm_exp_ns": best_ns(loop(lambda: libm_exp(x, out)), n, args.repeats // 50),
        "poly_exp_ns": best_ns(loop(lambda: poly_exp(x, out)), n, args.repeats // 50),
        "libm_log_ns": best_ns(loop(lambda: libm_log(pos, out)), n, args.repeats // 50),
    }
    figures["exp_speed_up"] = figures["libm_exp_ns"] / figures["poly_exp_ns"]
    wide = rng.uniform(-700.0, 700.0, 1_000_000)
    ref, mine = np.empty_like(wide), np.empty_like(wide)
    libm_exp(wide, ref)
    poly_exp(wide, mine)
    err = ulps(mine, ref)
    figures.update({
        "max_ulp_vs_libm": int(err.max()),
        "share_bit_identical_to_libm": float(np.mean(err == 0)),
        "arguments_checked": int(wide.size),
    })
    figures.update(row_work(rng, repeats=max(20, args.repeats // 5)))
    figures["row_work_speed_up"] = figures["row_work_engine_ns_per_lab"] / figures["row_work_lanes_ns_per_lab"]
    machine = {"python": platform.python_version(), "numba": numba.__version__,
               "processor": platform.processor() or platform.machine(), "svml": bool(numba.config.USING_SVML)}
    result = {"machine": machine, "size": args.size, "figures": figures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key:32s} {value:.4g}" if isinstance(value, float) else f"{key:32s} {value}")


if __name__ == "__main__":
    main()
