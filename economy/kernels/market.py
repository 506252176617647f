"""Row helpers of the market stage (docs/model.md stage 6)."""

import math

from economy.kernels.config import jit

__all__ = ["smooth_toward", "urn_arrivals"]


@jit
def urn_arrivals(customers, alive, exponent, uniforms):
    r"""A generalised Polya urn: each arrival joins lab i with probability proportional to f(s_i).

    With :math:`f(x) = x^g` and :math:`s_i = c_i / \sum_j c_j`, the normaliser cancels and the weights are
    :math:`c_i^g`.  Arrivals are drawn one after the other (the urn is updated after each), from the
    pre-drawn ``uniforms``.  Labs with no customers or not alive are never picked.  At g = 1 the weights are the
    counts themselves (``x ** 1.0 == x`` exactly, so skipping the power changes no bit).
    """
    linear = exponent == 1.0
    n = customers.shape[0]
    for m in range(uniforms.shape[0]):
        total = 0.0
        for i in range(n):
            if alive[i] and customers[i] > 0.0:
                total += customers[i] if linear else customers[i] ** exponent
        if total <= 0.0:
            return
        target = uniforms[m] * total
        acc = 0.0
        last = -1
        for i in range(n):
            if alive[i] and customers[i] > 0.0:
                acc += customers[i] if linear else customers[i] ** exponent
                last = i
                if target < acc:
                    break
        customers[last] += 1.0


@jit
def smooth_toward(current, target, dt, time_constant):
    """Exponential approach: current + (target - current)(1 - e^{-dt/T})."""
    return current + (target - current) * (-math.expm1(-dt / time_constant))
