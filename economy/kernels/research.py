"""Row helpers of the research and training stages (docs/model.md stages 3 and 4).

Pure scalar functions, inlined by the step kernel; each has a plain-Python twin in
``tests/reference/naive.py``.
"""

import math

from economy.kernels.config import jit

__all__ = ["NEG_INF", "advance_log_software", "automation_fraction", "log_research_input", "released_log_eff_compute"]

NEG_INF = -math.inf


@jit
def automation_fraction(log_eff_compute, mid_ln, width_ln, max_automation):
    r"""Automated fraction of research tasks, a logistic in ln effective compute.

    .. math:: a = \frac{a_{max}}{1 + e^{-(\ln E - m) / w}}
    """
    z = (log_eff_compute - mid_ln) / width_ln
    if z >= 0.0:
        return max_automation / (1.0 + math.exp(-z))
    e = math.exp(z)
    return max_automation * e / (1.0 + e)


@jit
def log_research_input(researchers, log_ai_labour, automation, rho, log_experiment_ratio, experiment_share):
    r"""ln R and the elasticity of R with respect to AI labour.

    .. math::
        R_{cog} = \left[(1-a) L^\rho + a X^\rho\right]^{1/\rho},\qquad
        R = R_{cog}^{1-\eta} \, (C_{res}/C_{ref})^{\eta}

    with :math:`\rho = 0` read as the Cobb-Douglas limit :math:`L^{1-a} X^a`.  Computed in log space with a
    log-sum-exp, so a zero input with :math:`\rho < 0` gives R = 0 (a perfect bottleneck) instead of NaN.
    Returns ``(ln R, d ln R / d ln X)``; ``ln R = -inf`` means no research input.
    """
    log_l = math.log(researchers) if researchers > 0.0 else NEG_INF
    eta = experiment_share
    if rho == 0.0:
        t = 0.0
        w_ai = automation
        if automation < 1.0:
            t += (1.0 - automation) * log_l
        if automation > 0.0:
            t += automation * log_ai_labour
        if t == NEG_INF:  # a zero input: no research input (and no elasticity), as in the CES branch
            return NEG_INF, 0.0
        log_cog = t
    else:
        has_h = automation < 1.0
        has_a = automation > 0.0
        t1 = math.log(1.0 - automation) + rho * log_l if has_h else NEG_INF
        t2 = math.log(automation) + rho * log_ai_labour if has_a else NEG_INF
        # rho < 0 and a zero input: that term is +inf and the CES is 0.
        if (has_h and t1 == math.inf) or (has_a and t2 == math.inf):
            return NEG_INF, 0.0
        m = max(t1, t2)
        if m == NEG_INF:
            return NEG_INF, 0.0
        lse = m + math.log(math.exp(t1 - m) + math.exp(t2 - m))
        log_cog = lse / rho
        w_ai = math.exp(t2 - lse) if has_a else 0.0
    if eta > 0.0:
        if log_experiment_ratio == NEG_INF:
            return NEG_INF, 0.0
        return (1.0 - eta) * log_cog + eta * log_experiment_ratio, (1.0 - eta) * w_ai
    return log_cog, w_ai


@jit
def advance_log_software(x0, log_growth, slope, dt, ceiling):
    r"""Advance ln S over one step with the exponential integrator.

    Over the step the growth rate is taken as :math:`g(x) = g_0 e^{k (x - x_0)}`, with :math:`g_0` and
    :math:`k = d\ln g / d\ln S` evaluated at the step's start, and integrated exactly:

    .. math:: x_1 = x_0 - \frac{\ln(1 - k g_0 \Delta t)}{k}

    This is exact for the closed-form cases (full automation, constant inputs): exponential for k = 0, the
    power law for k < 0, and a finite-time blow-up at :math:`t^* = 1 / (k g_0)` for k > 0.  When x reaches
    ``ceiling`` within the step, returns ``(ceiling, tau)`` with tau the time into the step at which it
    does; otherwise ``(x1, -1.0)``.
    """
    if log_growth < -700.0:
        return x0, -1.0
    g = math.exp(min(log_growth, 700.0))
    gap = ceiling - x0
    if gap <= 0.0:
        return ceiling, 0.0
    kg = slope * g
    if abs(kg * dt) < 1e-12:
        x1 = x0 + g * dt
        if x1 >= ceiling:
            return ceiling, gap / g
        return x1, -1.0
    tau = -math.expm1(-slope * gap) / kg
    if slope > 0.0:
        if tau <= dt:
            return ceiling, max(tau, 0.0)
        return x0 - math.log1p(-kg * dt) / slope, -1.0
    x1 = x0 - math.log1p(-kg * dt) / slope
    if x1 >= ceiling:
        return ceiling, min(max(tau, 0.0), dt)
    return x1, -1.0


@jit
def released_log_eff_compute(run_flop, run_log_software, data_tokens, automation, par_public, par_tokens_per_param,
                             par_synthetic_multiple, par_wall_efficiency):
    r"""ln E of a model whose training run used ``run_flop`` FLOP, with the data wall.

    Compute-optimal training (Chinchilla, :math:`C = 6ND`, :math:`D = t N`) needs
    :math:`C_{wall} = 6 D^2 / t` FLOP to use :math:`D` tokens.  Usable data is the public stock plus the
    lab's flywheel data plus synthetic data (a multiple of the public stock scaled by the automation level).
    Past the wall each extra ln of compute buys ``wall_efficiency`` ln of effective compute:

    .. math::
        \ln E = \ln S_{run} + \begin{cases} \ln C & \ln C \le \ln C_{wall} \\
        \ln C_{wall} + \epsilon (\ln C - \ln C_{wall}) & \text{otherwise} \end{cases}
    """
    if run_flop <= 0.0:
        return NEG_INF
    log_c = math.log(run_flop)
    tokens = par_public + data_tokens + par_synthetic_multiple * par_public * automation
    log_wall = math.log(6.0) + 2.0 * math.log(tokens) - math.log(par_tokens_per_param)
    if log_c > log_wall:
        log_c = log_wall + par_wall_efficiency * (log_c - log_wall)
    return log_c + run_log_software
