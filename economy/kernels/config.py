"""The one place that sets JIT options (STYLE.md habit 3).

``cache=True`` keeps compiled kernels on disk between processes; ``nogil=True`` lets Dask threads overlap;
fastmath stays off (no benchmark has earned it, and it would break the NaN/inf guards); the numpy error
model lets a division by zero produce inf instead of raising, so every kernel guards its divisions itself.
"""

import numba

JIT_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}

jit = numba.njit(**JIT_OPTIONS)
"""Serial kernels and the row helpers the parallel kernels inline."""

jit_parallel = numba.njit(parallel=True, **JIT_OPTIONS)
"""Kernels with ``prange`` loops: each iteration writes only its own row."""

# Launch numba's threading layer at import.  A cached serial kernel that calls parallel kernels (step_batch ->
# economy.kernels.spillover.spillover_stage -> its row kernels) does not launch it when it is loaded from the
# on-disk cache, and its first call then crashes the process (numba issue #8578, open; seen with numba 0.68.1 when
# no parallel kernel had been called directly first).  numba.get_num_threads() launches it.
numba.get_num_threads()
