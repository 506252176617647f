r"""Market segments for stage 6: labs compete for customers within their bloc, and across blocs at a discount.

Customers of segment :math:`m` (a fixed share :math:`d_m` of total demand) choose by a multinomial logit
among all alive labs and the outside option, a lab of another segment entering their choice with weight
:math:`\kappa` (``cross_segment_intensity``):

.. math::
    Z_m = e^{w_0} + \sum_i \kappa_{m s_i} e^{w_i}, \qquad \kappa_{m s} = 1 \text{ if } m = s \text{ else } \kappa,
    \qquad s^*_i = e^{w_i} \sum_m d_m \kappa_{m s_i} / Z_m .

With :math:`\kappa = 1` every :math:`Z_m` is the global denominator and the targets are the global logit's;
with :math:`\kappa = 0` the segments are separate markets.  Targets plus the outside option sum to 1.
"""

import math

from economy.kernels.config import jit, kernel

__all__ = ["NEG_INF", "segment_log_norms"]

NEG_INF = -math.inf


@jit
def segment_log_norms(weight, alive, bloc, segment_demand, kappa, w0, m, seg_sum, out):
    r"""Per-segment logit normalisers of one run.

    Writes ``out[s] = -ln A_s`` with :math:`A_s = \sum_m d_m \kappa_{m s} / Z'_m` (here :math:`Z'_m` is
    :math:`Z_m e^{-m}`, everything shifted by the largest log-weight ``m``), so that lab i's target share is
    ``exp(weight[i] - m - out[bloc[i]])``; ``+inf`` where :math:`A_s = 0`.  ``seg_sum`` is scratch of the
    same length as ``out``.  Returns :math:`\sum_m d_m \ln Z'_m`, the demand-weighted log-sum for consumer
    value.

    Everything is summed in log space, each segment's labs shifted by that segment's own largest weight: a
    segment whose labs and outside option all lie far below the global largest weight ``m`` (more than ~745
    ln units, e.g. a strong winner-take-all and a lab far ahead in another bloc) keeps a finite normaliser
    instead of underflowing to ln 0.
    """
    slots = out.shape[0]
    for s in range(slots):
        out[s] = NEG_INF  # reused: the segment's largest lab weight
        seg_sum[s] = 0.0
    for i in range(weight.shape[0]):
        if alive[i] and weight[i] > out[bloc[i]]:
            out[bloc[i]] = weight[i]
    for i in range(weight.shape[0]):
        if alive[i] and weight[i] > NEG_INF:
            seg_sum[bloc[i]] += math.exp(weight[i] - out[bloc[i]])
    log_all = NEG_INF  # ln sum_i e^{w_i} over alive labs
    for s in range(slots):
        seg_sum[s] = out[s] + math.log(seg_sum[s]) if seg_sum[s] > 0.0 else NEG_INF  # ln of segment s's sum
        log_all = _log_add(log_all, seg_sum[s])
    log_kappa = math.log(kappa) if kappa > 0.0 else NEG_INF
    log_own = math.log1p(-kappa) if kappa < 1.0 else NEG_INF
    log_cross = NEG_INF  # ln sum_m d_m / Z_m
    log_sum = 0.0
    for s in range(slots):
        d = segment_demand[s]
        if d > 0.0:
            log_z = _log_add(_log_add(w0, log_kappa + log_all), log_own + seg_sum[s])  # ln Z_s
            log_sum += d * (log_z - m)
            seg_sum[s] = math.log(d) - log_z  # reused: ln(d_s / Z_s)
            log_cross = _log_add(log_cross, seg_sum[s])
        else:
            seg_sum[s] = NEG_INF
    for s in range(slots):
        log_a = _log_add(log_kappa + log_cross, log_own + seg_sum[s])  # ln A_s, unshifted
        out[s] = -(log_a + m) if log_a > NEG_INF else math.inf
    return log_sum


@kernel
def _log_add(a, b):
    """ln(e^a + e^b), with -inf standing for ln 0."""
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))
