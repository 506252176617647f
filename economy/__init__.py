"""Multipolar's numerical core: state arrays, numba kernels, market, compute, research. No Mesa import."""
