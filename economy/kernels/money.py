r"""Row helpers of stage 7 (money): investors' weights and each lab's performance bookkeeping.

Investors put ``funding_to_demand x D`` a year into investor-funded labs with a model, in proportion to

.. math:: w_i = \exp\big(\rho (u_i - u_{front}) + \eta \, \mathrm{clip}(g_i, -1, 1)\big),

:math:`\rho` the rank sensitivity, :math:`\eta` the growth sensitivity and :math:`g_i` the lab's smoothed
revenue growth; no lab takes more than ``funding_max_share`` of the pool.

A lab is judged (by itself, its rivals and entrants) by its return on capital,

.. math:: \pi_i = \frac{R_i (1 - o) - w L_i - \delta p C_i}{p C_i + \max(\text{cash}_i, 0)} \in [-10, 10],

operating profit after wages and the depreciation of its compute at the market price, over compute at the
market price plus cash; its *performance* is :math:`\pi_i` smoothed over ``memory_years`` and its *aspiration*
follows its performance over ``aspiration_years`` (Cyert and March's adaptive aspirations).
"""

import math

from economy.kernels.config import jit
from economy.kernels.layout import P_FUNDING_GROWTH, P_FUNDING_RANK, REVENUE_FLOOR_USD

__all__ = ["ROC_BOUND", "investor_weight", "performance_step", "return_on_capital"]

ROC_BOUND = 10.0
"""Return on capital is clipped to [-ROC_BOUND, ROC_BOUND] per year (a lab with almost no capital)."""


@jit
def investor_weight(quality, growth, frontier_quality, par, b):
    """Investors' weight of a lab of run b with a model: rank (quality below the frontier) and revenue growth."""
    g = min(max(growth, -1.0), 1.0)
    return math.exp(par[b, P_FUNDING_RANK] * (quality - frontier_quality) + par[b, P_FUNDING_GROWTH] * g)


@jit
def return_on_capital(profit, capital):
    """profit / capital clipped to [-ROC_BOUND, ROC_BOUND]; the bound's sign when capital is 0."""
    if abs(profit) >= ROC_BOUND * capital:  # also capital <= 0
        if profit > 0.0:
            return ROC_BOUND
        if profit < 0.0:
            return -ROC_BOUND
        return 0.0
    return profit / capital


@jit
def performance_step(performance, aspiration, growth, log_revenue, revenue, roc, dt, memory_years, aspiration_years):
    """One step of a lab's bookkeeping: smoothed return on capital, aspiration, and revenue growth.

    Returns ``(performance, aspiration, growth, log_revenue)`` after the step; ``roc`` is this step's return on
    capital, ``revenue`` its revenue rate (USD/year) and ``log_revenue`` the last step's ln(revenue + floor).
    """
    memory = -math.expm1(-dt / memory_years)
    performance = performance + (roc - performance) * memory
    aspiration = aspiration + (performance - aspiration) * -math.expm1(-dt / aspiration_years)
    new_log_revenue = math.log(revenue + REVENUE_FLOOR_USD)
    growth = growth + ((new_log_revenue - log_revenue) / dt - growth) * memory
    return performance, aspiration, growth, new_log_revenue
