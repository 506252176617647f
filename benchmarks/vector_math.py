"""Probe for issue 16's missing factor: what a vectorised exponential would buy, measured, not estimated.

The engine's stages call libm's scalar ``exp``/``expm1``/``log``/``log1p`` once per lab and per use (a third of a
baseline ensemble's compiled time, docs/performance.md).  LLVM vectorises a numba loop only if every call in it
has a vector form; this machine's llvmlite has no SVML (``numba -s``), so ``math.exp`` stays one scalar call per
element.  An exponential written in numba itself (range reduction by ln 2, a degree-13 polynomial, the power of two
from the exponent's bits) is plain arithmetic, so LLVM vectorises it, and without fastmath (no contraction into
FMAs) a vector lane computes exactly what the scalar loop computes: the same bits whatever a run's position in a
batch, which SVML's vector and scalar paths would not give.

This script times, per element, over arrays that fit in cache:

1. ``math.exp`` in a numba loop (libm, one call per element: what the stages do);
2. the polynomial exponential in a numba loop (vectorised by LLVM);
3. ``math.log`` in a numba loop, for scale (not vectorised here: a polynomial log is the same exercise);

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


@jit
def poly_exp(x, out, scale_bits):
    """e^x for x in [-700, 700]: out = p(r) 2^n with n = round(x / ln 2), r = x - n ln 2 (two parts).

    Two loops, both vectorised: the first writes p(r) and the bits of 2^n (the exponent field n + 1023), the
    second multiplies by 2^n read through a float64 view of those bits (``scale_bits.view(np.float64)``).
    """
    c = C
    for i in range(x.shape[0]):
        xi = x[i]
        n = math.floor(xi * INV_LN2 + 0.5)
        r = (xi - n * LN2_HI) - n * LN2_LO
        p = c[DEGREE]
        for k in range(DEGREE - 1, -1, -1):  # Horner; a constant trip count, which LLVM unrolls
            p = p * r + c[k]
        out[i] = p
        scale_bits[i] = (np.int64(n) + 1023) << 52


@jit
def times_scale(out, scale):
    for i in range(out.shape[0]):
        out[i] = out[i] * scale[i]


def poly_exp_full(x: np.ndarray, out: np.ndarray, bits: np.ndarray) -> None:
    poly_exp(x, out, bits)
    times_scale(out, bits.view(np.float64))


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
    out, bits = np.empty_like(x), np.empty(x.size, dtype=np.int64)
    pos = rng.uniform(1e-6, 1e6, args.size)

    def loop(fn):
        def go():
            for _ in range(50):
                fn()
        return go

    n = 50 * args.size
    figures = {
        "libm_exp_ns": best_ns(loop(lambda: libm_exp(x, out)), n, args.repeats // 50),
        "poly_exp_ns": best_ns(loop(lambda: poly_exp_full(x, out, bits)), n, args.repeats // 50),
        "libm_log_ns": best_ns(loop(lambda: libm_log(pos, out)), n, args.repeats // 50),
    }
    figures["exp_speed_up"] = figures["libm_exp_ns"] / figures["poly_exp_ns"]
    wide = rng.uniform(-700.0, 700.0, 1_000_000)
    ref, mine = np.empty_like(wide), np.empty_like(wide)
    libm_exp(wide, ref)
    poly_exp_full(wide, mine, np.empty(wide.size, dtype=np.int64))
    err = ulps(mine, ref)
    figures.update({
        "max_ulp_vs_libm": int(err.max()),
        "share_bit_identical_to_libm": float(np.mean(err == 0)),
        "arguments_checked": int(wide.size),
    })
    machine = {"python": platform.python_version(), "numba": numba.__version__,
               "processor": platform.processor() or platform.machine(), "svml": bool(numba.config.USING_SVML)}
    result = {"machine": machine, "size": args.size, "figures": figures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key:32s} {value:.4g}" if isinstance(value, float) else f"{key:32s} {value}")


if __name__ == "__main__":
    main()
