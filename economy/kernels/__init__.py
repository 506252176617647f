"""Compiled kernels: arrays in, ``out`` arrays written; no RNG objects, no Python objects."""
