r"""Sums over the labs of a large run, in fixed blocks on numba's threads (docs/performance.md, "Sums in blocks").

A stage's per-run sums (the logit's denominator, the books, the record) are serial loops over the run's labs, in
lab order, so their last bits never depend on the thread count.  In a run of a million labs those loops are a
tenth of the step on two threads, which the second thread cannot share.  A run with more than :data:`SUM_BLOCK`
lab columns therefore sums in blocks: block ``k`` holds the columns ``k SUM_BLOCK .. (k + 1) SUM_BLOCK - 1``, each
block is summed in lab order on whichever thread takes it, and the blocks' partial sums are added in block order:

.. math:: \Sigma = ((p_0 + p_1) + p_2) + \dots, \qquad p_k = \text{the serial sum over block } k,

with the sum's starting value (the outside option's term of a logit denominator, say) at the start of
:math:`p_0`.  The blocks are fixed by the columns alone, so the result is the same bit for bit whatever the number
of threads, and a run whose labs all sit in the first block gets the serial loop's sum exactly (tests compare
both).  Maxima, minima, counts and the "best lab" searches are exact in any order; only sums of floating-point
numbers round differently from one long serial loop, in the last bits, in runs of more than ``SUM_BLOCK`` columns.

Runs of at most ``SUM_BLOCK`` columns (every ensemble's runs) keep their serial loops: a parallel region per run
and stage would cost them more than it saves.

The row kernels (each lab's own work, no sum) use blocks too, of :data:`ROW_BLOCK` columns, to choose their
parallel axis by shape: their ``prange`` runs over (run, block) pairs and an inner loop over the block's labs, so a
batch of small runs (one block each) is shared out by runs and a large run by its blocks.  It replaced a
``prange`` over every (run, lab) pair, whose index ``k`` gave the run as ``k // n``: a 64-bit division a lab in
every row kernel, and a loop LLVM could not optimise per run (docs/performance.md, "Rows in blocks").  Each lab's
work is the same arithmetic either way, so every result is the same bit for bit.
"""

import numpy as np
from numba import prange

from economy.kernels.config import jit, kernel, kernel_inline, kernel_parallel

__all__ = ["BLOCK_SLOTS", "ROW_BLOCK", "SUM_BLOCK", "add_blocks", "alive_sum", "alive_sum_blocked", "block_bounds",
           "merge_top_two", "n_blocks", "n_row_blocks", "row_block_bounds", "row_sum_blocked", "top_two_blocked",
           "top_two_in"]

BLOCK_SLOTS = 16
"""Partial sums a blocked reduction may keep per block (economy.state.StepWork's ``block_sums``; the record keeps
nine)."""

SUM_BLOCK = 4096
"""Lab columns per block; runs with more columns than this sum in blocks (the same size as the prefetch's
threshold, economy.kernels.prefetch.PREFETCH_MIN_LABS: below it a run's columns stay in the core's cache)."""

ROW_BLOCK = 512
"""Lab columns per block of a row kernel (each lab's own work): a run of at most this many columns is one block
(every ensemble's runs), so a batch is shared out by runs; a larger one by blocks of this size, small enough that
two threads share a 10,000-lab run evenly (20 blocks; with 4,096-column blocks, three, it ran slower on two threads
than on one)."""


@kernel_inline
def _block_count(n, size):
    """The number of blocks of ``size`` among ``n`` lab columns (at least 1)."""
    return max(1, (n + size - 1) // size)


@kernel_inline
def _block_range(k, n, size):
    """The columns ``lo .. hi - 1`` of block ``k`` of ``size`` among ``n`` columns."""
    lo = k * size
    return lo, min(n, lo + size)


@kernel_inline
def n_row_blocks(n):
    """The number of row-kernel blocks of ``n`` lab columns (at least 1)."""
    return _block_count(n, ROW_BLOCK)


@kernel_inline
def row_block_bounds(k, n):
    """The columns ``lo .. hi - 1`` of row-kernel block ``k`` of ``n`` columns."""
    return _block_range(k, n, ROW_BLOCK)


@jit
def n_blocks(n):
    """The number of blocks of ``n`` lab columns (at least 1)."""
    return _block_count(n, SUM_BLOCK)


@kernel_inline
def block_bounds(k, n):
    """The columns ``lo .. hi - 1`` of block ``k`` of ``n`` columns."""
    return _block_range(k, n, SUM_BLOCK)


@kernel
def top_two_in(values, alive, b, lo, hi):
    """economy.kernels.metrics.top_two over the columns ``lo .. hi - 1`` of run b of 2-D arrays: the largest and
    second-largest alive values' columns (ties: lowest column first; -1 if none)."""
    first = -1
    second = -1
    for i in range(lo, hi):
        if alive[b, i]:
            first, second = _admit(values, b, i, first, second)
    return first, second


@kernel
def _admit(values, b, i, first, second):
    """The best two columns ``(first, second)`` of run b once column i is seen after them (ties: the one seen
    first)."""
    if first < 0 or values[b, i] > values[b, first]:
        return i, first
    if second < 0 or values[b, i] > values[b, second]:
        return first, i
    return first, second


@kernel
def merge_top_two(values, b, candidates):
    """The largest and second-largest of run b over the blocks' candidates ``candidates[k] = (first, second)``
    (block order; -1 for none): the same columns as one serial pass, since each block's first is its lowest-column
    maximum and the run's runner-up is another block's first or its own block's second."""
    first = -1
    second = -1
    for k in range(candidates.shape[0]):
        for c in range(2):
            i = candidates[k, c]
            if i >= 0:
                first, second = _admit(values, b, i, first, second)
    return first, second


@kernel_parallel
def _top_two_blocks(values, alive, b, candidates):
    n = values.shape[1]
    for k in prange(candidates.shape[0]):
        lo, hi = block_bounds(k, n)
        candidates[k, 0], candidates[k, 1] = top_two_in(values, alive, b, lo, hi)


@kernel
def top_two_blocked(values, alive, b, candidates):
    """economy.kernels.metrics.top_two of run b's row, its blocks searched in parallel (``candidates`` is scratch of
    shape (n_blocks, 2))."""
    _top_two_blocks(values, alive, b, candidates)
    return merge_top_two(values, b, candidates)


@kernel_inline
def alive_sum(alive, column, b, lo, hi):
    """The sum of ``column[b, i]`` over run b's alive labs ``lo <= i < hi``, in lab order."""
    total = 0.0
    for i in range(lo, hi):
        if alive[b, i]:
            total += column[b, i]
    return total


@kernel_parallel
def _alive_sum_blocks(alive, column, b, scratch):
    n = alive.shape[1]
    for k in prange(n_blocks(n)):
        lo, hi = block_bounds(k, n)
        scratch[k, 0] = alive_sum(alive, column, b, lo, hi)


@kernel
def alive_sum_blocked(alive, column, b, scratch):
    """The sum of ``column[b, i]`` over run b's alive labs, in blocks (``scratch``: economy.state.StepWork's
    ``block_sums``)."""
    _alive_sum_blocks(alive, column, b, scratch)
    return add_blocks(scratch, 0, n_blocks(alive.shape[1]))


@kernel
def add_blocks(scratch, c, blocks):
    """The partial sums ``scratch[k, c]`` of the first ``blocks`` blocks added in block order."""
    total = scratch[0, c]
    for k in range(1, blocks):
        total += scratch[k, c]
    return total


@kernel_parallel
def _row_sum_blocks(column, b, part):
    n = column.shape[1]
    for k in prange(part.shape[0]):
        lo, hi = block_bounds(k, n)
        total = 0  # an integer column sums to an integer, a float one to a float (numba unifies the type)
        for i in range(lo, hi):
            total += column[b, i]
        part[k] = total


@kernel
def row_sum_blocked(column, b):
    """The sum of run b's row ``column[b, :]``, in blocks (integers stay integers)."""
    part = np.empty(n_blocks(column.shape[1]), column.dtype)
    _row_sum_blocks(column, b, part)
    total = part[0]
    for k in range(1, part.shape[0]):
        total += part[k]
    return total
