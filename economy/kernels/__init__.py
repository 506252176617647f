"""Compiled kernels: arrays in, ``out`` arrays written; no RNG objects, no Python objects.

Each module's ``__all__`` lists its kernels.  The package re-exports nothing: the kernels are the engine's
internals (users run them through :class:`economy.Simulation`), and the engine, the tests and the benchmarks
import each one from its module (``economy.kernels.step``).
"""

__all__: list[str] = []
