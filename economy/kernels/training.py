r"""Stage 4, training runs, the data wall and capability (docs/model.md, "Stage 4").

The stage is :func:`training_stage`; its docstring gives the equations.
"""

import math

import numpy as np
from numba import prange

from economy.kernels.blocks import n_row_blocks, row_block_bounds
from economy.kernels.config import jit, kernel, kernel_parallel
from economy.kernels.layout import (
    P_CAPABILITY_ALPHA,
    P_LN10_TIMES_RESEARCH_AUTOMATION_MIDPOINT_LOG10_FLOP,
    P_LN10_TIMES_RESEARCH_AUTOMATION_WIDTH_OOMS,
    P_LN_CAPABILITY_LOSS_SCALE_FLOP,
    P_LN_COMPUTE_TRAINING_EFFICIENCY_GROWTH_PER_YEAR,
    P_MARKET_DATA_FLYWHEEL,
    P_MARKET_WINNER_TAKE_ALL,
    P_RESEARCH_MAX_AUTOMATION,
    P_SIM_DT,
    P_SIM_START_YEAR,
    P_TRAINING_DATA_WALL_EFFICIENCY,
    P_TRAINING_PUBLIC_DATA_TOKENS,
    P_TRAINING_RUN_YEARS,
    P_TRAINING_SYNTHETIC_DATA_MULTIPLE,
    P_TRAINING_TOKENS_PER_PARAMETER,
)
from economy.kernels.policies import capped_run_flop, pause_cap, undeclared_run_flop

__all__ = [
    "NEG_INF", "automation_fraction", "capability", "initial_capability", "log_human_share", "log_human_share_given",
    "log_human_share_slope",
    "refresh_capability",
    "released_log_eff_compute", "training_efficiency", "training_stage"
]

NEG_INF = -math.inf


@kernel_parallel
def training_stage(labs, world, par, work):
    r"""Stage 4 for every run of a batch: training runs, the data wall and capability (docs/model.md, "Stage 4").

    A lab's training run accumulates :math:`\text{train}_i \, C_i \, h(t) \, \Delta t` FLOP a step (at most the
    compute cap's bound, stage 9), with :math:`h(t) = g_h^{\,t - t_0}` the training FLOP per FLOP/year of owned compute
    (``compute.training_efficiency_growth_per_year``, 1 at the start year; :func:`training_efficiency`: number
    formats, accelerators and utilisation raise what a run gets out of the hardware, not what the hardware costs),
    and is released when it has lasted ``training.run_years``; the served model is the best released so far, and
    software progress made during a run waits for the next one (the run uses the ln S of its start):

    .. math::
        \ln E_{new} = \ln S_{run} + \begin{cases} \ln C_{run} & C_{run} \le C_{wall} \\
            \ln C_{wall} + \epsilon (\ln C_{run} - \ln C_{wall}) & \text{otherwise} \end{cases}, \qquad
        C_{wall} = \frac{6 D^2}{t}

    (:func:`released_log_eff_compute`; D the usable tokens, t tokens per parameter, :math:`\epsilon` the efficiency
    past the wall; a conditional pause, stage 9, caps the release).  From the served model's ln E (:func:`capability`):
    the automated fraction of research, quality (Kaplan et al. 2020) and the lab's weight in the customers' logit,

    .. math::
        a = \frac{a_{max}}{1 + e^{-(\ln E - \ln E_{mid}) / w}}, \qquad
        u = \alpha (\ln E - \ln C_c), \qquad
        w^{logit} = \gamma u + \zeta \ln(1 + \text{data});

    a lab with no model yet (:math:`\ln E = -\infty`) has quality and logit weight :math:`-\infty`: nothing to sell.
    Row-local.

    The policies' per-run limits (compute cap, pause) are taken once per run before the row loop; the row's work
    is written in the loop body on arrays bound to locals (docs/performance.md).

    Parameters
    ----------
    labs, world : LabState, WorldState
        The batch's labs and the world they live in (economy.state), updated in place.
    par : ndarray, shape (runs, N_PARAMS)
        Packed parameters (columns ``economy.kernels.layout.P_*``).
    work : StepWork
        Reads ``start_year`` (the compute cap's and the pause's windows, stage 9).
    """
    alive, compute, train, data = labs.alive, labs.compute_flop_per_year, labs.train_fraction, labs.data_tokens
    evasion = labs.evasion
    run_flop, elapsed, run_log_s, log_s_col = (labs.run_flop, labs.run_elapsed_years, labs.run_log_software,
                                               labs.log_software)
    log_e_col, automation, quality, logit_weight = (labs.log_eff_compute, labs.automation, labs.quality,
                                                    labs.logit_weight)
    n_runs, n = alive.shape
    flop_cap = np.empty(n_runs)
    release_cap = np.empty(n_runs)
    efficiency = np.empty(n_runs)
    for b in range(n_runs):
        flop_cap[b] = capped_run_flop(par[b], work.start_year[b], math.inf)
        release_cap[b] = pause_cap(world, b, work.start_year[b])
        efficiency[b] = training_efficiency(par[b], work.start_year[b])
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            if not alive[b, i]:
                continue
            dt = par[b, P_SIM_DT]
            c = compute[b, i] * efficiency[b]
            run_flop[b, i] = undeclared_run_flop(run_flop[b, i], run_flop[b, i] + train[b, i] * c * dt, flop_cap[b],
                                                 evasion[b, i])
            elapsed[b, i] += dt
            run_years = par[b, P_TRAINING_RUN_YEARS]
            if elapsed[b, i] >= run_years * (1.0 - 1e-9):
                released = released_log_eff_compute(
                    run_flop[b, i],
                    run_log_s[b, i],
                    data[b, i],
                    automation[b, i],
                    par[b, P_TRAINING_PUBLIC_DATA_TOKENS],
                    par[b, P_TRAINING_TOKENS_PER_PARAMETER],
                    par[b, P_TRAINING_SYNTHETIC_DATA_MULTIPLE],
                    par[b, P_TRAINING_DATA_WALL_EFFICIENCY],
                )
                released = min(released, release_cap[b])
                if released > log_e_col[b, i]:
                    log_e_col[b, i] = released
                left = max(0.0, elapsed[b, i] - run_years)
                elapsed[b, i] = left
                run_flop[b, i] = undeclared_run_flop(0.0, train[b, i] * c * left, flop_cap[b], evasion[b, i])
                run_log_s[b, i] = log_s_col[b, i]
            log_e = log_e_col[b, i]
            automation[b, i] = automation_fraction(
                log_e,
                par[b, P_LN10_TIMES_RESEARCH_AUTOMATION_MIDPOINT_LOG10_FLOP],
                par[b, P_LN10_TIMES_RESEARCH_AUTOMATION_WIDTH_OOMS],
                par[b, P_RESEARCH_MAX_AUTOMATION],
            )
            if log_e > NEG_INF:
                quality[b, i] = par[b, P_CAPABILITY_ALPHA] * (log_e - par[b, P_LN_CAPABILITY_LOSS_SCALE_FLOP])
                logit_weight[b, i] = par[b, P_MARKET_WINNER_TAKE_ALL] * quality[b, i] + par[
                    b, P_MARKET_DATA_FLYWHEEL
                ] * math.log1p(data[b, i])
            else:  # no model yet: nothing to sell
                quality[b, i] = NEG_INF
                logit_weight[b, i] = NEG_INF


@kernel
def initial_capability(labs, par, b, n):
    """The starting labs' served models (run b, columns 0..n-1): the release of a full training run at the starting
    compute and software, its automation and quality (a lab with no model: quality -inf)."""
    p = par[b]
    for i in range(n):
        full_run = labs.train_fraction[b, i] * labs.compute_flop_per_year[b, i] * p[P_TRAINING_RUN_YEARS]
        log_e = released_log_eff_compute(
            full_run,
            labs.log_software[b, i],
            0.0,
            0.0,
            p[P_TRAINING_PUBLIC_DATA_TOKENS],
            p[P_TRAINING_TOKENS_PER_PARAMETER],
            p[P_TRAINING_SYNTHETIC_DATA_MULTIPLE],
            p[P_TRAINING_DATA_WALL_EFFICIENCY],
        )
        labs.log_eff_compute[b, i] = log_e
        labs.automation[b, i] = automation_fraction(
            log_e,
            p[P_LN10_TIMES_RESEARCH_AUTOMATION_MIDPOINT_LOG10_FLOP],
            p[P_LN10_TIMES_RESEARCH_AUTOMATION_WIDTH_OOMS],
            p[P_RESEARCH_MAX_AUTOMATION],
        )
        labs.quality[b, i] = (
            p[P_CAPABILITY_ALPHA] * (log_e - p[P_LN_CAPABILITY_LOSS_SCALE_FLOP]) if log_e > NEG_INF else NEG_INF
        )


@kernel
def capability(log_e, data_tokens, par_row):
    """Automation, quality and logit weight of a lab serving a model of effective compute ln E > -inf
    (:func:`training_stage`)."""
    automation = automation_fraction(
        log_e,
        par_row[P_LN10_TIMES_RESEARCH_AUTOMATION_MIDPOINT_LOG10_FLOP],
        par_row[P_LN10_TIMES_RESEARCH_AUTOMATION_WIDTH_OOMS],
        par_row[P_RESEARCH_MAX_AUTOMATION],
    )
    quality = par_row[P_CAPABILITY_ALPHA] * (log_e - par_row[P_LN_CAPABILITY_LOSS_SCALE_FLOP])
    return (
        automation,
        quality,
        par_row[P_MARKET_WINNER_TAKE_ALL] * quality + par_row[P_MARKET_DATA_FLYWHEEL] * math.log1p(data_tokens),
    )


@kernel
def refresh_capability(labs, par, b, i):
    """Automation, quality and logit weight of lab (b, i) from its ln E > -inf (:func:`capability`): after
    distillation (stage 5), an acquisition or an entry (stage 7) gives it a better model."""
    labs.automation[b, i], labs.quality[b, i], labs.logit_weight[b, i] = capability(
        labs.log_eff_compute[b, i], labs.data_tokens[b, i], par[b])


@kernel
def training_efficiency(par_row, year):
    r"""Training FLOP per FLOP/year of owned compute in ``year``: :math:`h = g_h^{\,t - t_0}`, 1 at ``sim.start_year``.

    The run's FLOP grows with it, its cost (the compute it occupies, bought at the market price) does not.
    """
    return math.exp(par_row[P_LN_COMPUTE_TRAINING_EFFICIENCY_GROWTH_PER_YEAR] * (year - par_row[P_SIM_START_YEAR]))


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


@jit
def log_human_share(log_eff_compute, mid_ln, width_ln, max_automation):
    r"""ln(1 - a), the log of the share of research tasks left to humans, computed without cancellation.

    .. math::
        1 - a = (1 - a_{max}) + a_{max} \, \sigma(-z), \qquad \sigma(-z) = \frac{1}{1 + e^{z}}, \qquad
        z = (\ln E - m) / w

    so that with :math:`a_{max} = 1` the human share keeps its digits, :math:`\ln(1 - a) = -z - \ln(1 + e^{-z})`,
    instead of rounding to 0 once :math:`a` rounds to 1 (docs/model.md, stage 3).  No model (ln E = -inf): 0.
    """
    if max_automation <= 0.0:
        return 0.0
    log_rest = math.log1p(-max_automation) if max_automation < 1.0 else 0.0  # ln(1 - a_max), read if a_max < 1
    return log_human_share_given(log_eff_compute, mid_ln, width_ln, max_automation, math.log(max_automation),
                                 log_rest)


@jit
def log_human_share_given(log_eff_compute, mid_ln, width_ln, max_automation, log_max, log_rest):
    """:func:`log_human_share` with ``ln a_max`` and ``ln(1 - a_max)`` given: a row kernel computes them once per
    run, not per lab (the same numbers); ``max_automation`` > 0, ``log_rest`` read only if ``max_automation`` < 1."""
    z = (log_eff_compute - mid_ln) / width_ln
    if z >= 0.0:
        log_sig = -z - math.log1p(math.exp(-z))  # ln sigma(-z)
    else:
        log_sig = -math.log1p(math.exp(z))
    log_cap = log_max + log_sig  # ln(a_max sigma(-z))
    if max_automation >= 1.0:
        return log_cap
    m = max(log_rest, log_cap)
    return m + math.log(math.exp(log_rest - m) + math.exp(log_cap - m))


@jit
def log_human_share_slope(log_eff_compute, mid_ln, width_ln, max_automation):
    r"""d ln(1 - a) / d ln E (at most 0): how fast the human share of research tasks shrinks with effective compute.

    .. math:: \frac{d \ln(1 - a)}{d \ln E} = -\frac{a_{max} \, \sigma(z) \, \sigma(-z)}{(1 - a) \, w}

    (:func:`log_human_share`), :math:`-\sigma(z) / w` for :math:`a_{max} = 1`; 0 with no model, no automation or a
    human share that is exactly 0.
    """
    if max_automation <= 0.0 or log_eff_compute == NEG_INF:
        return 0.0
    log_h = log_human_share(log_eff_compute, mid_ln, width_ln, max_automation)
    if log_h == NEG_INF:
        return 0.0
    z = (log_eff_compute - mid_ln) / width_ln
    if z >= 0.0:
        log_sig_pos = -math.log1p(math.exp(-z))  # ln sigma(z)
        log_sig_neg = -z - math.log1p(math.exp(-z))  # ln sigma(-z)
    else:
        log_sig_pos = z - math.log1p(math.exp(z))
        log_sig_neg = -math.log1p(math.exp(z))
    return -math.exp(math.log(max_automation) + log_sig_pos + log_sig_neg - log_h) / width_ln
