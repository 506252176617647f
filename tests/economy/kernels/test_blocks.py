"""Sums and searches over a large run's labs in blocks (economy.kernels.blocks) against their plain-Python twins.

The twins here add each block's values in lab order and the blocks' partial sums in block order with Python floats,
so the compiled kernels must give the same numbers bit for bit; the best-lab searches must give the columns of the
definition (tests/reference/naive.py).  A run whose alive labs all sit in the first block must get exactly what the
serial loops give, and the stages of a run of more than SUM_BLOCK labs still match their twins
(tests/economy/kernels/test_stages.py covers the step's stages; this file the run-level helpers).
"""

from __future__ import annotations

import math

import kernel_entries as entries
import numpy as np
import pytest
from reference import naive

from economy.kernels import layout as L
from economy.kernels.blocks import BLOCK_SLOTS, ROW_BLOCK, SUM_BLOCK, n_blocks, n_row_blocks, row_block_bounds
from economy.kernels.config import jit
from economy.kernels.metrics import concentration

N = 3 * SUM_BLOCK + 77
"""Lab columns of the test rows: three full blocks and a short fourth one."""
SCRATCH = np.full((n_blocks(N), BLOCK_SLOTS), np.nan)
"""A blocked sum's partial sums (economy.state.StepWork's ``block_sums``)."""


def blocked_sum_twin(values, mask) -> float:
    """Each block's sum in lab order (Python floats), then the blocks' sums in block order."""
    n = len(values)
    parts = []
    for lo in range(0, n, SUM_BLOCK):
        total = 0.0
        for i in range(lo, min(n, lo + SUM_BLOCK)):
            if mask[i]:
                total += float(values[i])
        parts.append(total)
    result = parts[0]
    for part in parts[1:]:
        result += part
    return result


def serial_sum(values, mask) -> float:
    total = 0.0
    for v, ok in zip(values, mask, strict=True):
        if ok:
            total += float(v)
    return total


@pytest.fixture
def rows() -> tuple[np.ndarray, np.ndarray]:
    """Three runs' rows: lognormal values with ties and a dead third of the labs; run 2 has no alive lab."""
    gen = np.random.default_rng(7)
    values = gen.lognormal(0.0, 3.0, (3, N))
    values[:, 100] = values[:, 9000] = values.max() + 1.0  # a tie for first, across blocks
    values[0, 5000] = values[0, 200] = values[0].max()  # and more ties in run 0
    alive = gen.random((3, N)) < 0.67
    alive[:, [100, 9000, 5000, 200]] = True
    alive[2] = False
    return values, alive


def test_n_blocks():
    assert [n_blocks(n) for n in (0, 1, SUM_BLOCK, SUM_BLOCK + 1, N)] == [1, 1, 1, 2, 4]


@jit
def _row_cover(n_runs, n):
    """How often the row kernels' loop (economy.kernels.blocks, a prange over (run, block) pairs) visits each
    (run, column), written as they write it, serially."""
    seen = np.zeros((n_runs, n), dtype=np.int64)
    row_blocks = n_row_blocks(n)
    for k in range(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            seen[b, i] += 1
    return seen, row_blocks


@pytest.mark.parametrize("n", [1, 28, ROW_BLOCK, ROW_BLOCK + 1, 10_000, N])
def test_the_row_kernels_blocks_visit_every_run_and_column_once(n):
    seen, row_blocks = _row_cover(3, n)
    assert (seen == 1).all()
    assert row_blocks == max(1, math.ceil(n / ROW_BLOCK))


def test_top_two_blocked_gives_the_definitions_columns(rows):
    values, alive = rows
    values = values.copy()
    values[1, :50] = -math.inf  # labs without a model
    candidates = np.empty((n_blocks(N), 2), np.int64)
    for b in range(3):
        got = entries.top_two_blocked(values, alive, b, candidates)
        assert got == naive.top_two(values[b], alive[b]), f"run {b}"
    # every second lab tied: the two lowest columns
    flat = np.ones((1, N))
    assert entries.top_two_blocked(flat, np.ones((1, N), bool), 0, candidates) == (0, 1)
    assert entries.top_two_blocked(flat, np.zeros((1, N), bool), 0, candidates) == (-1, -1)


def test_block_sums_match_their_twin_bit_for_bit(rows):
    values, alive = rows
    for b in range(3):
        assert entries.alive_sum_blocked(alive, values, b, SCRATCH) == blocked_sum_twin(values[b], alive[b])
        assert entries.row_sum_blocked(values, b) == blocked_sum_twin(values[b], np.ones(N, bool))
        # and the same sum as the serial one to rounding
        assert entries.alive_sum_blocked(alive, values, b, SCRATCH) == pytest.approx(serial_sum(values[b], alive[b]),
                                                                             rel=1e-12)
    counts = alive.astype(np.int64)
    assert entries.row_sum_blocked(counts, 0) == int(alive[0].sum())


def test_a_run_whose_labs_sit_in_the_first_block_gets_the_serial_sums(rows):
    values, alive = rows
    first = alive.copy()
    first[:, SUM_BLOCK:] = False
    assert first[0].sum() > 1000
    for b in range(2):
        assert entries.alive_sum_blocked(first, values, b, SCRATCH) == serial_sum(values[b], first[b])
        share = values[b] / values[b].sum()
        total = serial_sum(share, first[b])
        wide = np.tile(share, (1, 1))
        assert entries.concentration_blocked(wide, first[b:b + 1], 0, total, SCRATCH) == concentration(share, first[b])
        got, want = np.zeros(L.N_MARKET), np.zeros(L.N_MARKET)
        entries.knowledge_gap_blocked(np.log(values), first, b, got, SCRATCH)
        entries.record_knowledge_gap(np.log(values[b]), first[b], want)
        assert got.tobytes() == want.tobytes()


def test_concentration_and_knowledge_gap_in_blocks_match_the_serial_ones(rows):
    values, alive = rows
    for b in range(3):
        share = values[b] / values[b].sum()
        total = blocked_sum_twin(share, alive[b])
        got = entries.concentration_blocked(share[None, :], alive[b:b + 1], 0, total, SCRATCH)
        want = concentration(share, alive[b])
        np.testing.assert_allclose(got, want, rtol=1e-12)
        np.testing.assert_allclose(got, naive.concentration(share, alive[b]), rtol=1e-9)
        blocked, serial = np.zeros(L.N_MARKET), np.zeros(L.N_MARKET)
        entries.knowledge_gap_blocked(np.log(values), alive, b, blocked, SCRATCH)
        entries.record_knowledge_gap(np.log(values[b]), alive[b], serial)
        np.testing.assert_allclose(blocked, serial, rtol=1e-12)
    assert blocked[L.M_KNOWLEDGE_GAP_DISPERSION] == 0.0 and blocked[L.M_MEAN_LOG_SOFTWARE_GAP] == 0.0  # run 2


def test_first_year_blocked_is_the_earliest_non_negative_year():
    gen = np.random.default_rng(3)
    years = np.where(gen.random((1, N)) < 0.001, gen.uniform(2030.0, 2040.0, (1, N)), -1.0)
    earliest = years[years >= 0.0].min()
    assert entries.first_year_blocked(years, 0, -1.0, SCRATCH) == earliest
    assert entries.first_year_blocked(years, 0, 2029.0, SCRATCH) == 2029.0
    assert entries.first_year_blocked(years, 0, 2045.0, SCRATCH) == earliest
    assert entries.first_year_blocked(np.full((1, N), -1.0), 0, -1.0, SCRATCH) == -1.0
