"""The one place that sets JIT options (STYLE.md habit 3).

``cache=True`` keeps compiled kernels on disk between processes; ``nogil=True`` lets Dask threads overlap;
fastmath stays off (no benchmark has earned it, and it would break the NaN/inf guards); the numpy error
model lets a division by zero produce inf instead of raising, so every kernel guards its divisions itself.
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numba

_CORE = Path(__file__).resolve().parents[1]


def _cache_dir() -> str:
    """A numba cache folder keyed by the hash of every source file of the core.

    Numba invalidates a cached kernel only when its own file changes, so a kernel calling helpers in another
    module (step.py -> research.py, spillover.py, state.py) could run stale machine code, or crash, after
    an edit elsewhere.  Keying the folder on all of ``economy/`` makes any edit start a fresh cache.  A
    user's NUMBA_CACHE_DIR is kept as the parent folder.
    """
    digest = hashlib.sha256()
    for path in sorted(_CORE.rglob("*.py")):
        digest.update(path.relative_to(_CORE).as_posix().encode())
        digest.update(path.read_bytes())
    key = "numba-" + digest.hexdigest()[:16]
    user = os.environ.get("NUMBA_CACHE_DIR")
    candidates = [Path(user)] if user else [Path(__file__).parent / "__pycache__",
                                            Path(tempfile.gettempdir()) / "multipolar-numba-cache"]
    for parent in candidates:
        try:
            target = parent / key
            target.mkdir(parents=True, exist_ok=True)
            if not os.access(target, os.W_OK):
                continue
        except OSError:
            continue
        for old in parent.glob("numba-*"):
            if old.name != key:
                shutil.rmtree(old, ignore_errors=True)
        return str(target)
    return ""


numba.config.CACHE_DIR = _cache_dir()

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
