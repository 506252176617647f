"""Slow, obviously-correct reference implementations the compiled kernels are tested against."""
