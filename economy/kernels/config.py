"""The one place that sets JIT options and numba's process set-up.

``cache=True`` keeps compiled kernels on disk between processes; ``nogil=True`` lets Dask threads overlap;
fastmath stays off (no benchmark has earned it, and it would break the NaN/inf guards); the numpy error
model lets a division by zero produce inf instead of raising, so every kernel guards its divisions itself
(docs/model.md "Numerics and determinism").

Two kinds of kernel: ``jit`` and ``jit_parallel`` for the kernels Python calls (the step, the compiled draws, the
set-up kernels, and the small helpers the tests check against their twins directly), ``kernel`` and
``kernel_parallel`` for everything only compiled code calls (the stages and their helpers).  The second kind is
compiled without the wrappers through which Python calls a kernel (:class:`InternalDispatcher`), which halves the
compile time of the stages; Python (a test, a benchmark) runs one with :func:`call_compiled`.
tests/economy/kernels/test_entry_points.py checks that no Python code calls a ``kernel`` directly.  With
``NUMBA_DISABLE_JIT=1`` (numba's debugging switch) both kinds are plain Python functions.

Importing this module does one thing, which cannot wait: numba's cache locator reads ``numba.config.CACHE_DIR``
when a ``cache=True`` kernel is decorated, that is when its module is imported, so the cache folder is named
here (:func:`cache_folder`, a pure and memoised hash that creates nothing).  Everything else with an effect on
the process or the disk happens in :func:`configure`, which the entry points call (the command line,
:class:`economy.engine.Simulation`, the Mesa model, the benchmarks, the test session): it removes cache folders
left by other versions of the code and launches numba's thread pool.
"""

import functools
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
from numba.core.registry import CPUDispatcher

__all__ = ["JIT_OPTIONS", "InternalDispatcher", "cache_folder", "call_compiled", "configure", "jit", "jit_parallel",
           "kernel", "kernel_inline", "kernel_nocount", "kernel_parallel"]

_CORE = Path(__file__).resolve().parents[1]


@functools.cache
def cache_folder() -> str:
    """The numba cache folder: one per version of the core, named by the hash of every source file of ``economy/``.

    Numba invalidates a cached kernel only when its own file changes, so a kernel calling helpers in another
    module (step.py -> research.py, spillover.py, state.py) could run stale machine code, or crash, after
    an edit elsewhere.  Keying the folder on all of ``economy/`` makes any edit start a fresh cache.  A
    user's NUMBA_CACHE_DIR is kept as the parent folder; otherwise the first writable of this package's
    ``__pycache__`` and a folder in the temporary directory.  ``""`` (numba's default) if none is writable.
    Reads files, writes nothing.
    """
    digest = hashlib.sha256()
    for path in sorted(_CORE.rglob("*.py")):
        digest.update(path.relative_to(_CORE).as_posix().encode())
        digest.update(path.read_bytes())
    key = "numba-" + digest.hexdigest()[:16]
    user = os.environ.get("NUMBA_CACHE_DIR")
    parents = [Path(user)] if user else [Path(__file__).parent / "__pycache__",
                                         Path(tempfile.gettempdir()) / "multipolar-numba-cache"]
    for parent in parents:
        if _can_write(parent / key):
            return str(parent / key)
    return ""


def _can_write(path: Path) -> bool:
    """Whether ``path`` is, or can be created as, a writable folder (its nearest existing ancestor is one)."""
    for folder in (path, *path.parents):
        if folder.exists():
            return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
    return False


numba.config.CACHE_DIR = cache_folder()

JIT_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}

jit = numba.njit(**JIT_OPTIONS)
"""Serial kernels that Python calls (the step, the set-up kernels, and the small helpers the tests compare with their
twins directly): compiled with the entry point through which Python calls them."""

jit_parallel = numba.njit(parallel=True, **JIT_OPTIONS)
"""Kernels with ``prange`` loops that Python calls: each iteration writes only its own row."""


class InternalDispatcher(CPUDispatcher):
    """A kernel only compiled code calls: compiled without numba's CPython and C-callable wrappers.

    Numba builds both wrappers for every function it compiles, whoever calls it. A wrapper unboxes each argument
    from Python objects, so for a function receiving the state tuples (some 120 arrays) it is a large function of
    its own, compiled, optimised and cached with every helper. Without them, money_stage and its 33 helpers
    compiled in 17.0 s against 35.4 s (docs/performance.md, "Compile time"). Such a kernel has no Python entry
    point: calling it from Python raises TypeError here (numba would jump to a null entry point and crash)."""

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.py_func.__module__}.{self.py_func.__qualname__} has no Python entry point "
                        "(economy.kernels.config.kernel): call it from Python as call_compiled(kernel, *args)")


def _internal(**options) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator like ``numba.njit(**options, **JIT_OPTIONS)``, without the wrappers (:class:`InternalDispatcher`)."""
    targetoptions = {"nopython": True, **{k: v for k, v in JIT_OPTIONS.items() if k != "cache"},
                     "no_cpython_wrapper": True, "no_cfunc_wrapper": True, **options}

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        if numba.config.DISABLE_JIT:  # NUMBA_DISABLE_JIT=1 (debugging): plain Python, as numba.njit gives
            return function
        dispatcher = InternalDispatcher(py_func=function, locals={}, targetoptions=targetoptions)
        if JIT_OPTIONS["cache"]:
            dispatcher.enable_caching()
        return dispatcher
    return decorate


kernel = _internal()
"""Serial kernels and helpers that only compiled code calls (:class:`InternalDispatcher`)."""

kernel_parallel = _internal(parallel=True)
"""``prange`` kernels that only compiled code calls (:class:`InternalDispatcher`)."""

kernel_nocount = _internal(_nrt=False)
"""Per-run stage kernels compiled without numba's reference counting (its ``_nrt=False``), with every function they
call: a stage looping over a batch's runs counted references to the arrays it handed to its helpers, run by run,
each an atomic instruction (docs/performance.md, "Reference counting").  Such a kernel, and everything it calls,
may not allocate: its scratch is in ``work`` (economy.state.StepWork); numba refuses to compile one that does."""

kernel_inline = _internal(inline="always")
"""Per-run helpers that receive the state tuples, written into each caller (numba's ``inline="always"``).

A call that receives ``labs`` (56 arrays) and ``world`` counts a reference to each of their arrays on the way in and
out, an atomic operation each (numba's ``NRT_incref`` / ``NRT_decref``) that numba's pruning of such pairs does not
remove here; writing the helper into its caller saves the call, but numba's inlining copies the tuples it hands
over and counts them too.  What removed most of the counting (docs/performance.md, "Reference counting") is
calling these helpers only in the runs and steps where they act (a policy in its window, a lab looking for a target
or entering) and writing per-run loops inside the stage rather than in helpers called per run."""


@numba.njit(nogil=True)
def call_compiled(kernel, *args):
    """``kernel(*args)`` from compiled code: how Python (a benchmark, a quick check) calls a kernel that has no Python
    entry point (:class:`InternalDispatcher`); passing the arguments costs what passing them to the kernel would.

    Compiled once per kernel and argument types in each process, with the wrapper the kernel itself does without
    and the kernel's machine code linked in again (3.5 s for ``money_stage``, 0.07 s for a scalar helper).  Not
    cached: numba cannot cache a function receiving another as an argument (writing the cache index fails with
    ``ReferenceError: underlying object has vanished`` once it holds a kernel from another process).  The tests'
    often-called entry points are cached functions of their own (``tests/kernel_entries.py``)."""
    return kernel(*args)


_configured = False
_lock = threading.Lock()


def configure() -> None:
    """Set up numba for this process: remove stale cache folders and launch the thread pool.  Idempotent.

    The cache folders of other versions of the core (siblings of :func:`cache_folder` named ``numba-*``) are
    deleted, so edits do not pile up compiled code.  Numba's threading layer is launched because a cached serial
    kernel that calls parallel kernels (step_batch -> economy.kernels.spillover.spillover_stage -> its row
    kernels) does not launch it when it is loaded from the on-disk cache, and its first call then crashes the
    process (numba issue #8578, open; seen with numba 0.68.1 when no parallel kernel had been called directly
    first); ``numba.get_num_threads()`` launches it.

    Before that, ``OMP_WAIT_POLICY`` is set to ``PASSIVE`` unless the user set it: numba's threading layer here is
    OpenMP (``omp``), whose idle threads otherwise spin between parallel regions, taking a core from whatever else
    runs (another process, a Dask worker, the Python work between two kernel calls). Measured on 2 cores, 528 tests
    of ``tests/economy`` on two pytest-xdist workers: 445 s of wall and 387 s of CPU spinning, 129 s and 67 s
    passive (docs/performance.md, "Idle threads").  Child processes inherit the setting.
    """
    global _configured
    with _lock:
        if _configured:
            return
        folder = cache_folder()
        if folder:
            current = Path(folder)
            for old in current.parent.glob("numba-*"):
                if old.name != current.name:
                    shutil.rmtree(old, ignore_errors=True)
        # idle OpenMP threads sleep instead of spinning (a user's own OMP_WAIT_POLICY is kept); set before the pool
        # starts, when libgomp reads it
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        numba.get_num_threads()
        _configured = True
