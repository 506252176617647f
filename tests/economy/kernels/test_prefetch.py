"""The neighbour gathers' software prefetch (economy/kernels/prefetch.py): it reaches the machine code, it changes
no value, and small runs do not use it."""

from __future__ import annotations

import math

import numba
import numpy as np

from economy.kernels.prefetch import PREFETCH_EDGES, PREFETCH_MIN_LABS, prefetch_limit, prefetch_record


@numba.njit(cache=False)
def _racing_gather(peer, indptr, indices, out, limit):
    """The shape of stage 1's racing gather (economy.kernels.strategy.racing_pressure)."""
    for i in range(peer.shape[1]):
        keep = 1.0
        for e in range(indptr[0, i], indptr[0, i + 1]):
            if e < limit:
                prefetch_record(peer, 0, indices[e + PREFETCH_EDGES])
            j = indices[e]
            if peer[0, j, 0] != 0.0:
                keep *= 1.0 - math.exp(-abs(peer[0, i, 2] - peer[0, j, 2]) / 0.7)
        out[i] = 1.0 - keep


def _graph(n: int, degree: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    indptr = np.arange(0, n * degree + 1, degree, dtype=np.int64).reshape(1, -1)
    indices = np.sort(rng.integers(0, n, (n, degree)), axis=1).ravel()
    peer = rng.random((1, n, 4))
    peer[0, :, 0] = rng.random(n) < 0.8  # some neighbours are not alive
    return peer, indptr, indices


def test_the_prefetch_is_in_the_machine_code_and_changes_no_value() -> None:
    peer, indptr, indices = _graph(5_000, 10, 3)
    with_prefetch, without = np.empty(5_000), np.empty(5_000)
    _racing_gather(peer, indptr, indices, with_prefetch, indices.shape[0] - PREFETCH_EDGES)
    _racing_gather(peer, indptr, indices, without, 0)
    assert np.array_equal(with_prefetch, without)
    assert np.isfinite(with_prefetch).all() and (with_prefetch > 0.0).any()
    llvm = next(iter(_racing_gather.inspect_llvm().values()))
    assert llvm.count("call void @llvm.prefetch") >= 2  # the record's first and last field (LLVM may copy loops)
    assert "prefetch" in next(iter(_racing_gather.inspect_asm().values()))


def test_only_runs_of_many_labs_prefetch_and_never_past_the_last_edge() -> None:
    assert prefetch_limit(PREFETCH_MIN_LABS - 1, 10_000) == 0
    assert prefetch_limit(12, 10_000) == 0
    assert prefetch_limit(PREFETCH_MIN_LABS, 10_000) == 10_000 - PREFETCH_EDGES
    assert prefetch_limit.py_func(1_000_000, 10_000_000) == 10_000_000 - PREFETCH_EDGES
    # the last edge a gather asks for is the batch's last edge
    assert prefetch_limit(PREFETCH_MIN_LABS, 100) - 1 + PREFETCH_EDGES == 99


def test_plain_python_prefetch_does_nothing() -> None:
    """What NUMBA_DISABLE_JIT=1 runs (tests/economy/kernels/test_entry_points.py runs the engine that way)."""
    from economy.kernels.prefetch import _no_prefetch

    assert _no_prefetch(np.zeros((1, 3, 4)), 0, 2) is None
