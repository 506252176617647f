"""Row-of-a-run reductions for the record stage (docs/model.md, "Stage 10: record").

Serial loops over one run's labs, so their last bits never depend on the thread count.
"""

import math

import numba
from numba import prange

from economy.kernels.blocks import add_blocks, alive_sum, block_bounds, n_blocks
from economy.kernels.config import jit, kernel, kernel_inline, kernel_parallel

__all__ = [
    "INSERTION_SORT_MAX", "NUMPY_SORT_MIN", "ROC_BOUND", "concentration", "concentration_blocked", "gini",
    "gini_of_sorted", "gini_row", "heap_sort", "insert_top_four", "insertion_sort", "return_on_capital", "safe_log",
    "sort_row", "sort_values", "top_two"
]


@jit
def concentration(share, alive):
    r"""HHI (0-10,000), effective number of labs, top-1 and top-4 shares of the inside market.

    Shares are normalised by the inside total :math:`\sum_i s_i` (the outside option is not a firm):

    .. math:: HHI = 10^4 \sum_i (s_i / \textstyle\sum_j s_j)^2, \qquad n_{eff} = 10^4 / HHI
    """
    n = share.shape[0]
    rows, live = share[None, :], alive[None, :]  # the per-range helpers read 2-D rows, as the blocked version's
    total = alive_sum(live, rows, 0, 0, n)
    if total <= 0.0:
        return 0.0, 0.0, 0.0, 0.0
    squares, t0, t1, t2, t3 = _concentration_part(rows, live, 0, total, 0, n)
    return _concentration_of(squares, t0, t1, t2, t3)


@kernel
def concentration_blocked(share, alive, b, total, scratch):
    """:func:`concentration` of run b's row of a run of more than SUM_BLOCK labs, in blocks
    (economy.kernels.blocks); ``total`` is the alive labs' share summed the same way, ``scratch`` the blocks'
    partial results (economy.state.StepWork's ``block_sums``).  The top four shares are the same numbers whatever
    the blocks; the HHI's sum of squares is summed in blocks."""
    if total <= 0.0:
        return 0.0, 0.0, 0.0, 0.0
    _concentration_blocks(share, alive, b, total, scratch)  # per block: the sum of squares, the four largest shares
    blocks = n_blocks(share.shape[1])
    t0 = t1 = t2 = t3 = 0.0
    for k in range(blocks):
        for c in range(1, 5):
            t0, t1, t2, t3 = insert_top_four(t0, t1, t2, t3, scratch[k, c])
    return _concentration_of(add_blocks(scratch, 0, blocks), t0, t1, t2, t3)


@kernel_parallel
def _concentration_blocks(share, alive, b, total, part):
    n = share.shape[1]
    for k in prange(n_blocks(n)):
        lo, hi = block_bounds(k, n)
        part[k, 0], part[k, 1], part[k, 2], part[k, 3], part[k, 4] = _concentration_part(share, alive, b, total,
                                                                                          lo, hi)


@kernel_inline
def _concentration_part(share, alive, b, total, lo, hi):
    """Over run b's alive labs ``lo <= i < hi``, in lab order: the sum of the squared shares of ``total`` and the
    four largest such shares (in scalars: an array here was an allocation per run and step)."""
    hhi = 0.0
    t0 = t1 = t2 = t3 = 0.0
    for i in range(lo, hi):
        if alive[b, i]:
            s = share[b, i] / total
            hhi += s * s
            t0, t1, t2, t3 = insert_top_four(t0, t1, t2, t3, s)
    return hhi, t0, t1, t2, t3


@kernel_inline
def _concentration_of(squares, t0, t1, t2, t3):
    """(HHI, effective number, top-1, top-4) from the sum of squared shares and the four largest shares."""
    hhi = squares * 10_000.0
    return hhi, 10_000.0 / hhi, t0, t0 + t1 + t2 + t3


@kernel
def insert_top_four(t0, t1, t2, t3, s):
    """The running top four ``t0 >= t1 >= t2 >= t3`` with ``s`` inserted (a value not above ``t3`` is left out; one
    equal to a kept value goes after it)."""
    if not s > t3:
        return t0, t1, t2, t3
    if not s > t2:
        return t0, t1, t2, s
    if not s > t1:
        return t0, t1, s, t2
    if not s > t0:
        return t0, s, t1, t2
    return s, t0, t1, t2


INSERTION_SORT_MAX = 32
"""Up to this many values, :func:`sort_values` sorts by insertion: a baseline run's two dozen revenues, sorted every
step for the Gini, took 1.7% of an ensemble's time in numba's quicksort (``perf``)."""


@jit
def insertion_sort(part):
    """Sort ``part`` in place, ascending, NaN last (the order ``np.sort`` gives): insertion, for a few values."""
    for k in range(1, part.shape[0]):
        x = part[k]
        j = k
        while j > 0 and _before(x, part[j - 1]):
            part[j] = part[j - 1]
            j -= 1
        part[j] = x


@jit
def _before(a, b):
    """``a`` sorts before ``b``: ascending, NaN last."""
    return a < b or (b != b and a == a)


@jit
def _sift_down(part, start, end):
    """Restore the max-heap (by :func:`_before`) of ``part[start:end]`` below ``start``."""
    root = start
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and _before(part[child], part[child + 1]):
            child += 1
        if not _before(part[root], part[child]):
            return
        part[root], part[child] = part[child], part[root]
        root = child


@jit
def heap_sort(part):
    """Sort ``part`` in place, ascending, NaN last (the order ``np.sort`` gives), without allocating."""
    n = part.shape[0]
    for start in range(n // 2 - 1, -1, -1):
        _sift_down(part, start, n)
    for end in range(n - 1, 0, -1):
        part[0], part[end] = part[end], part[0]
        _sift_down(part, 0, end)


NUMPY_SORT_MIN = 4096
"""From this many values on, :func:`sort_values` hands the sort to numpy."""


@numba.njit(cache=True, error_model="numpy")  # not nogil: its object-mode block holds the GIL anyway
def sort_values(part):
    """Sort ``part`` in place, ascending (NaN last), as ``np.sort`` does.

    numba's own sort takes about 165 ms for a million revenues against numpy's 12 ms (measured), so large
    arrays (the Gini of every step's record at scale) are sorted by numpy in an object-mode block, which costs
    about 4 microseconds a call: smaller arrays stay in compiled code, sorted by insertion up to
    :data:`INSERTION_SORT_MAX` values and by a heap sort above (numba's quicksort keeps its stack in a list, an
    allocation, which the record stage, compiled without reference counting, may not make).  Equal values are the
    same numbers (or +0.0 and -0.0, equal in every sum), so every route gives the same Gini.
    """
    if part.shape[0] <= INSERTION_SORT_MAX:
        insertion_sort(part)
        return
    if part.shape[0] < NUMPY_SORT_MIN:
        heap_sort(part)
        return
    with numba.objmode():
        part.sort()


@numba.njit(cache=True, error_model="numpy")  # not nogil, as sort_values
def sort_row(rows, b, m):
    """:func:`sort_values` of ``rows[b, :m]``.  Its object-mode route sorts through ``rows``, the array Python
    handed in: a view made in a kernel compiled without reference counting (economy.kernels.config.kernel_nocount)
    would reach Python as a copy, sorted in vain."""
    if m < NUMPY_SORT_MIN:
        sort_values(rows[b, :m])
        return
    with numba.objmode():
        rows[b, :m].sort()


@jit
def gini(values, alive, buffer):
    r"""Gini coefficient of ``values`` over alive labs, sorting a copy in ``buffer`` (:func:`gini_row` of a
    one-row run)."""
    return gini_row(values[None, :], alive[None, :], buffer[None, :], 0)


@jit
def gini_row(values, alive, rows, b):
    """:func:`gini` of run b's row ``values[b]`` over its alive labs, sorting a copy in ``rows[b]`` (the record
    stage's, compiled without reference counting: :func:`sort_row`)."""
    m = 0
    for i in range(values.shape[1]):
        if alive[b, i]:
            rows[b, m] = values[b, i]
            m += 1
    if m == 0:
        return 0.0
    sort_row(rows, b, m)
    return gini_of_sorted(rows[b, :m])


@jit
def gini_of_sorted(part):
    r"""Gini coefficient of the values ``part``, sorted ascending:

    .. math:: G = \frac{2 \sum_{k=1}^{m} k x_{(k)}}{m \sum_k x_{(k)}} - \frac{m + 1}{m}
    """
    m = part.shape[0]
    total = 0.0
    weighted = 0.0
    for k in range(m):
        total += part[k]
        weighted += (k + 1) * part[k]
    if total <= 0.0:
        return 0.0
    return 2.0 * weighted / (m * total) - (m + 1.0) / m


@jit
def top_two(values, alive):
    """Indices of the largest and second-largest alive values (ties: lowest index first; -1 if none)."""
    first = -1
    second = -1
    for i in range(values.shape[0]):
        if not alive[i]:
            continue
        if first < 0 or values[i] > values[first]:
            second = first
            first = i
        elif second < 0 or values[i] > values[second]:
            second = i
    return first, second


ROC_BOUND = 10.0
"""Return on capital is clipped to [-ROC_BOUND, ROC_BOUND] per year (a lab with almost no capital)."""


@kernel
def return_on_capital(profit, capital):
    """profit / capital clipped to [-ROC_BOUND, ROC_BOUND] (a lab's performance, stage 7, and the industry's return
    that drives entry); the bound's sign when capital is 0."""
    if abs(profit) >= ROC_BOUND * capital:  # also capital <= 0
        if profit > 0.0:
            return ROC_BOUND
        if profit < 0.0:
            return -ROC_BOUND
        return 0.0
    return profit / capital


@jit
def safe_log(x):
    """ln x, with ln 0 = -inf (never NaN for x >= 0)."""
    return math.log(x) if x > 0.0 else -math.inf
