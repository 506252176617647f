"""Compiled kernels: arrays in, ``out`` arrays written; no RNG objects, no Python objects.

Each module's ``__all__`` lists its kernels; import them from the module (``economy.kernels.step``).  The package
itself re-exports nothing, so that :mod:`economy.params` can read the column layout (``economy.kernels.layout``)
without importing numba.
"""

__all__: list[str] = []
