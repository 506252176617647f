r"""Stage 3, research: the recursive self-improvement loop (docs/model.md, "Stage 3: research").

The stage is :func:`research_stage`; its docstring gives the equations.

The scalar helpers are inlined by the row kernel; each has a plain-Python twin in ``tests/reference/naive.py``.
"""

import math

from numba import prange

from economy.kernels.blocks import n_row_blocks, row_block_bounds
from economy.kernels.config import jit, kernel, kernel_parallel
from economy.kernels.layout import (
    LN_EXPERIMENT_COMPUTE_REF,
    P_LN10_TIMES_RESEARCH_AUTOMATION_MIDPOINT_LOG10_FLOP,
    P_LN10_TIMES_RESEARCH_AUTOMATION_WIDTH_OOMS,
    P_RESEARCH_AI_RESEARCHERS_PER_FLOP,
    P_RESEARCH_EXPERIMENT_SHARE,
    P_RESEARCH_MAX_AUTOMATION,
    P_RESEARCH_PARALLELISM,
    P_RESEARCH_PARALLELISM_OVER_RETURNS_TO_RESEARCH,
    P_RESEARCH_SHOCK_SD,
    P_RHO_OF_RESEARCH_SUBSTITUTION,
    P_RUN_START_LOG_THETA,
    P_SAFETY_DRIFT_RATE,
    P_SIM_DT,
    P_SIM_LOG_SOFTWARE_CEILING,
)
from economy.kernels.metrics import safe_log, top_two
from economy.kernels.spillover import mark_rows
from economy.kernels.training import (
    initial_capability,
    log_human_share,
    log_human_share_given,
    log_human_share_slope,
)

__all__ = [
    "NEG_INF", "advance_log_software", "automation_slope", "calibration_log_growth", "divergence_time",
    "lab_log_growth", "log_growth",
    "log_research_input", "research_rows", "research_stage", "start_run",
]

NEG_INF = -math.inf

LOG_MAX_AUTOMATION, LOG_HUMAN_FLOOR, LOG_AI_PER_FLOP, SHOCK_SCALE, SHOCK_DRIFT = 0, 1, 2, 3, 4
"""Stage 3's columns of ``work.factors`` (economy.state.StepWork): ln a_max, ln(1 - a_max), ln k, sd sqrt(dt) and
sd^2 dt / 2 of each run."""


@kernel
def research_stage(labs, world, par, net, work, shocks):
    r"""Stage 3 for every run of a batch: research, the recursive self-improvement loop (docs/model.md, "Stage 3").

    Semi-endogenous ideas production (Jones 1995; Davidson and Houlden 2025): each alive lab's algorithmic
    efficiency S grows at

    .. math::
        \frac{d \ln S_i}{dt} = g_i = \theta \, R_i^{\lambda} \, S_i^{-\beta} \,
            e^{\sigma \sqrt{\Delta t} \varepsilon_i - \sigma^2 \Delta t / 2}, \qquad
        R_i = (1 - \text{safety}_i) \, R_{cog}^{1-\eta} \, (C_{res} / C_{ref})^{\eta},

    with :math:`R_{cog}` the CES of human researchers L and AI researchers :math:`X = k C_{res} S`
    (:func:`log_research_input`; the human task share :math:`1 - a` enters as its logarithm,
    :func:`economy.kernels.training.log_human_share`, never as a difference that rounds to 0),
    :math:`C_{res} = (1 - \text{train} - \text{inference}) C` the compute left for research experiments,
    :math:`\varepsilon_i` the lab's research shock and :math:`\theta` calibrated at the start
    (:func:`calibration_log_growth`).  Over the step, ln S moves by the exact solution of
    :math:`dx/dt = g_0 e^{k (x - x_0)}` with :math:`k = d \ln g / d \ln S` (:func:`advance_log_software`).  A lab whose
    ln S reaches ``sim.log_software_ceiling`` is held there from its ``ceiling_year`` (a numerical guard); it is
    *singular* only if its growth really diverges, the growth exponent above one at the crossing
    (:math:`\kappa = k +` :func:`automation_slope` :math:`> 0`, the human bottleneck gone or fading fast enough); its
    singular year is then the analytic blow-up time, :math:`1 / (\kappa g_c)` after the crossing
    (:func:`divergence_time`), which does not depend on where the ceiling is.
    Value drift accumulates with automated progress made without safety effort,

    .. math:: \Delta \text{drift}_i = a_i \, \Delta \ln S_i \, (1 - \text{safety}_i) \, \text{drift\_rate}.

    Row-local (:func:`research_rows`).  The scalar helpers are inlined by the row kernels; each has a plain-Python
    twin in ``tests/reference/naive.py``.

    Parameters
    ----------
    labs, world : LabState, WorldState
        The batch's labs and the world they live in (economy.state), updated in place.
    par : ndarray, shape (runs, N_PARAMS)
        Packed parameters (columns ``economy.kernels.layout.P_*``).
    net : NetworkState
        With a spillover network, each lab's ln S at the step's start is kept first (``net.prev_log_software``, read
        by stage 5).
    work : StepWork
        Reads ``start_year`` (a lab's ceiling and singular years are counted from it).
    shocks : ndarray, shape (runs, capacity)
        Standard normals, each lab's research luck this step.
    """
    if net.indices.shape[0] > 0:
        mark_rows(labs, net)
    factors = work.factors  # per run, what every lab's row would compute alike (the same numbers)
    for b in range(labs.cash_usd.shape[0]):
        a_max = par[b, P_RESEARCH_MAX_AUTOMATION]
        factors[b, LOG_MAX_AUTOMATION] = math.log(a_max) if a_max > 0.0 else 0.0  # read only if a_max > 0
        factors[b, LOG_HUMAN_FLOOR] = math.log1p(-a_max) if a_max < 1.0 else 0.0  # read only if a_max < 1
        k_ai = par[b, P_RESEARCH_AI_RESEARCHERS_PER_FLOP]
        factors[b, LOG_AI_PER_FLOP] = math.log(k_ai) if k_ai > 0.0 else 0.0  # read only if k_ai > 0
        sd = par[b, P_RESEARCH_SHOCK_SD]
        dt = par[b, P_SIM_DT]
        factors[b, SHOCK_SCALE] = sd * math.sqrt(dt)
        factors[b, SHOCK_DRIFT] = 0.5 * sd * sd * dt
    research_rows(labs, par, work, shocks)


@kernel_parallel
def research_rows(labs, par, work, shocks):
    """Stage 3 per lab (:func:`research_stage`); ``shocks[run, lab]`` are standard normals.  Written in the loop body on
    arrays bound to locals, like every row kernel (docs/performance.md)."""
    alive, compute, staff, train, infer = (labs.alive, labs.compute_flop_per_year, labs.researchers,
                                           labs.train_fraction, labs.inference_fraction)
    log_s_col, singular, at_ceiling, automation, drift, safety = (labs.log_software, labs.singular_year,
                                                                  labs.ceiling_year, labs.automation, labs.drift,
                                                                  labs.safety)
    log_e_col = labs.log_eff_compute
    start_year, factors = work.start_year, work.factors
    n_runs, n = alive.shape
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            if not alive[b, i] or at_ceiling[b, i] >= 0.0:  # held at the ceiling once reached
                continue
            log_s = log_s_col[b, i]
            a_max = par[b, P_RESEARCH_MAX_AUTOMATION]
            log_h = 0.0 if a_max <= 0.0 else log_human_share_given(
                log_e_col[b, i], par[b, P_LN10_TIMES_RESEARCH_AUTOMATION_MIDPOINT_LOG10_FLOP],
                par[b, P_LN10_TIMES_RESEARCH_AUTOMATION_WIDTH_OOMS], a_max, factors[b, LOG_MAX_AUTOMATION],
                factors[b, LOG_HUMAN_FLOOR])
            log_g, slope = log_growth_given(compute[b, i], train[b, i], infer[b, i], log_s, staff[b, i],
                                            automation[b, i], log_h, safety[b, i], par[b], factors[b, LOG_AI_PER_FLOP],
                                            factors[b, SHOCK_SCALE] * shocks[b, i], factors[b, SHOCK_DRIFT])
            dt = par[b, P_SIM_DT]
            ceiling = par[b, P_SIM_LOG_SOFTWARE_CEILING]
            new_s, tau = advance_log_software(log_s, log_g, slope, dt, ceiling)
            if tau >= 0.0:
                at_ceiling[b, i] = start_year[b] + tau
                exponent = slope + automation_slope(log_e_col[b, i], slope, par[b])
                after = divergence_time(log_g + slope * (ceiling - log_s), exponent)
                if after >= 0.0:
                    singular[b, i] = start_year[b] + tau + after
            drift[b, i] += automation[b, i] * (new_s - log_s) * (1.0 - safety[b, i]) * par[b, P_SAFETY_DRIFT_RATE]
            log_s_col[b, i] = new_s


@kernel
def log_growth(compute, train_fraction, inference_fraction, log_s, researchers, automation, log_human, safety, par_row,
               shock):
    """ln of d ln S / dt of a lab with these columns, and its slope d ln g / d ln S (:func:`research_stage`);
    ``log_human`` is ln(1 - automation) (:func:`economy.kernels.training.log_human_share`).

    Takes the lab's values, not the lab state: called per row from a ``prange`` loop, a helper receiving the whole
    ``LabState`` costs several times the work (docs/performance.md).
    """
    k_ai = par_row[P_RESEARCH_AI_RESEARCHERS_PER_FLOP]
    sd = par_row[P_RESEARCH_SHOCK_SD]
    dt = par_row[P_SIM_DT]
    return log_growth_given(compute, train_fraction, inference_fraction, log_s, researchers, automation, log_human,
                            safety, par_row, math.log(k_ai) if k_ai > 0.0 else 0.0, sd * math.sqrt(dt) * shock,
                            0.5 * sd * sd * dt)


@kernel
def log_growth_given(compute, train_fraction, inference_fraction, log_s, researchers, automation, log_human, safety,
                     par_row, log_ai_per_flop, luck, drift):
    """:func:`log_growth` with the run's ln k (AI researchers per FLOP; read only if k > 0) and the lab's log-normal
    luck ``sd sqrt(dt) shock`` and its drift ``sd^2 dt / 2`` given: the row kernel computes the run's factors once per
    run, not per lab (the same numbers, added in the same order)."""
    research_compute = (1.0 - train_fraction - inference_fraction) * compute
    log_rc = safe_log(research_compute)
    k_ai = par_row[P_RESEARCH_AI_RESEARCHERS_PER_FLOP]
    log_ai = log_ai_per_flop + log_rc + log_s if (k_ai > 0.0 and log_rc > NEG_INF) else NEG_INF
    log_r, w_ai = log_research_input(
        researchers,
        log_ai,
        automation,
        log_human,
        par_row[P_RHO_OF_RESEARCH_SUBSTITUTION],
        log_rc - LN_EXPERIMENT_COMPUTE_REF,
        par_row[P_RESEARCH_EXPERIMENT_SHARE],
    )
    if log_r == NEG_INF or safety >= 1.0:
        return NEG_INF, 0.0
    log_r += math.log1p(-safety)
    lam = par_row[P_RESEARCH_PARALLELISM]
    beta = par_row[P_RESEARCH_PARALLELISM_OVER_RETURNS_TO_RESEARCH]
    log_g = par_row[P_RUN_START_LOG_THETA] + lam * log_r - beta * log_s + luck - drift
    return log_g, lam * w_ai - beta


@kernel
def lab_log_growth(labs, par, b, i, shock):
    """:func:`log_growth` of lab (b, i)."""
    log_h = log_human_share(labs.log_eff_compute[b, i], par[b, P_LN10_TIMES_RESEARCH_AUTOMATION_MIDPOINT_LOG10_FLOP],
                            par[b, P_LN10_TIMES_RESEARCH_AUTOMATION_WIDTH_OOMS], par[b, P_RESEARCH_MAX_AUTOMATION])
    return log_growth(labs.compute_flop_per_year[b, i], labs.train_fraction[b, i], labs.inference_fraction[b, i],
                      labs.log_software[b, i], labs.researchers[b, i], labs.automation[b, i], log_h,
                      labs.safety[b, i], par[b], shock)


@jit
def start_run(labs, par, b, n, log_g0):
    """The starting labs' served models (columns 0..n-1 of run b, :func:`economy.kernels.training.initial_capability`),
    then the run's research productivity theta: the software leader (the first lab of highest ln S) grows at the
    calibrated rate g0 with no shock, ln theta = ln g0 - :func:`calibration_log_growth` (at ln theta = 0), or
    ln theta = 0 if that growth is not finite (docs/model.md, stage 3).  ``log_g0`` = ln g0.  The run's one set-up
    call from Python (economy.engine.Simulation)."""
    initial_capability(labs, par, b, n)
    par[b, P_RUN_START_LOG_THETA] = 0.0
    ref, _ = top_two(labs.log_software[b, :n], labs.alive[b, :n])
    if ref < 0:  # no starting lab
        return
    log_g = calibration_log_growth(labs, par, b, ref)
    par[b, P_RUN_START_LOG_THETA] = log_g0 - log_g if math.isfinite(log_g) else 0.0


@kernel
def calibration_log_growth(labs, par, b, i):
    """ln of lab i's mean research growth rate with no shock (used to set theta at the start)."""
    log_g, _ = lab_log_growth(labs, par, b, i, 0.0)
    sd = par[b, P_RESEARCH_SHOCK_SD]
    return log_g + 0.5 * sd * sd * par[b, P_SIM_DT]


@jit
def log_research_input(researchers, log_ai_labour, automation, log_human, rho, log_experiment_ratio, experiment_share):
    r"""ln R and the elasticity of R with respect to AI labour.

    .. math::
        R_{cog} = \left[(1-a) L^\rho + a X^\rho\right]^{1/\rho},\qquad
        R = R_{cog}^{1-\eta} \, (C_{res}/C_{ref})^{\eta}

    with :math:`\rho = 0` read as the Cobb-Douglas limit :math:`L^{1-a} X^a`.  Computed in log space with a
    log-sum-exp, so a zero input with :math:`\rho < 0` gives R = 0 (a perfect bottleneck) instead of NaN.  The human
    weight enters as ``log_human`` = ln(1 - a), so it keeps its digits when a is within rounding of 1; the human term
    is absent only when 1 - a = exp(log_human) is 0 in double precision (below about 5e-324).
    Returns ``(ln R, d ln R / d ln X)``; ``ln R = -inf`` means no research input.
    """
    log_l = math.log(researchers) if researchers > 0.0 else NEG_INF
    eta = experiment_share
    human = math.exp(log_human)  # 1 - a, exact to rounding (never 1 - a computed by subtraction)
    if rho == 0.0:
        t = 0.0
        w_ai = automation
        if human > 0.0:
            t += human * log_l
        if automation > 0.0:
            t += automation * log_ai_labour
        if t == NEG_INF:  # a zero input: no research input (and no elasticity), as in the CES branch
            return NEG_INF, 0.0
        log_cog = t
    else:
        has_h = human > 0.0
        has_a = automation > 0.0
        t1 = log_human + rho * log_l if has_h else NEG_INF
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
def automation_slope(log_eff_compute, slope, par_row):
    r"""d ln g / d ln S through the human share: the part of the growth exponent the integrator's k leaves out.

    Within a step the automated fraction a is held (it moves with the served model's ln E, which follows ln S), so
    k = :math:`\lambda w_R - \beta` (:func:`log_growth`) misses how the human weight 1 - a shrinks as S grows:

    .. math:: \lambda \, \frac{\partial \ln R}{\partial \ln(1 - a)} \, \frac{d \ln(1 - a)}{d \ln E}
              = \lambda \, \frac{(1 - \eta) - w_R}{\rho} \,
                \frac{d \ln(1 - a)}{d \ln E},

    with :math:`w_R = (k + \beta) / \lambda` the elasticity of R to AI labour and
    :func:`economy.kernels.training.log_human_share_slope` the last factor (d ln E = d ln S at fixed compute).  With
    sigma < 1 (rho < 0) a shrinking human share relaxes the bottleneck (a positive term).  In the Cobb-Douglas
    limit (rho = 0) the human weight's elasticity is (1 - a) ln(L / X), which vanishes as a -> 1: taken as 0.
    """
    rho = par_row[P_RHO_OF_RESEARCH_SUBSTITUTION]
    if rho == 0.0:
        return 0.0
    lam = par_row[P_RESEARCH_PARALLELISM]
    w_research = (slope + par_row[P_RESEARCH_PARALLELISM_OVER_RETURNS_TO_RESEARCH]) / lam
    d_log_human = log_human_share_slope(log_eff_compute, par_row[P_LN10_TIMES_RESEARCH_AUTOMATION_MIDPOINT_LOG10_FLOP],
                                        par_row[P_LN10_TIMES_RESEARCH_AUTOMATION_WIDTH_OOMS],
                                        par_row[P_RESEARCH_MAX_AUTOMATION])
    return lam * ((1.0 - par_row[P_RESEARCH_EXPERIMENT_SHARE]) - w_research) / rho * d_log_human


@jit
def divergence_time(log_growth_at_crossing, exponent):
    r"""Years from the ceiling crossing to the blow-up of ln S, or -1 if the growth does not diverge.

    With growth :math:`g_c` at the crossing and the growth exponent above one, :math:`\kappa = d \ln g / d \ln S > 0`
    (the integrator's k plus :func:`automation_slope`), the solution of :math:`dx/dt = g_c e^{\kappa (x - x_c)}`
    diverges :math:`1 / (\kappa g_c)` after the crossing.  With a constant exponent (full automation, constant
    inputs) that is the closed-form blow-up :math:`t^* = 1 / (\kappa g_0)` from any earlier point, so the year does
    not depend on where the ceiling is (:math:`t + 1 / (\kappa g(x(t)))` is constant along the solution).  For
    :math:`\kappa \le 0` it never diverges, and reaching the ceiling is not a singularity.
    """
    if exponent <= 0.0:
        return -1.0
    return math.exp(-(math.log(exponent) + log_growth_at_crossing))
