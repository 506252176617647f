r"""Stage 5, the knowledge-spillover network: row kernels over a batch's CSR adjacency (docs/network.md).

The stage is :func:`spillover_stage`; its docstring gives the equations.
"""

import math

import numpy as np
from numba import prange

from economy.kernels.blocks import (
    SUM_BLOCK,
    add_blocks,
    block_bounds,
    n_blocks,
    n_row_blocks,
    row_block_bounds,
    row_sum_blocked,
)
from economy.kernels.config import jit, kernel, kernel_inline, kernel_parallel
from economy.kernels.layout import (
    M_ACTIVE_EDGES,
    M_KNOWLEDGE_GAP_DISPERSION,
    M_MEAN_LOG_SOFTWARE_GAP,
    M_N_DISTILLED,
    M_SPILLOVER_LOG_SOFTWARE,
    M_TALENT_FLOW,
    NODE_ALIVE,
    NODE_ATTRACT,
    NODE_BLOC,
    NODE_LOG_E,
    NODE_LOG_S,
    NODE_OPENNESS,
    NODE_PER_RATE,
    NODE_STRENGTH,
    P_CROSS_BLOC_CUT_YEAR,
    P_CROSS_BLOC_REOPEN_YEAR,
    P_MONEY_WAGE_USD_PER_YEAR,
    P_NETWORK_ABSORB_HALF_STAFF,
    P_NETWORK_DISTILL_FRACTION,
    P_NETWORK_NORMALISE_WEIGHTS,
    P_NETWORK_PUBLICATION_RATE_PER_YEAR,
    P_NETWORK_TALENT_MOBILITY,
    P_NETWORK_TALENT_PAY_WEIGHT,
    P_SIM_DT,
    P_SIM_LOG_SOFTWARE_CEILING,
    P_SIM_START_YEAR,
)
from economy.kernels.prefetch import PREFETCH_EDGES, prefetch_limit, prefetch_record
from economy.kernels.training import capability

__all__ = [
    "NEG_INF", "absorptive_capacity", "attractiveness", "catch_up", "knowledge_gap_blocked", "leave_rows", "mark_rows",
    "record_knowledge_gap", "snapshot_rows", "spill_rows", "spillover_stage"
]

NEG_INF = -math.inf


@kernel
def spillover_stage(labs, world, par, net, rec):
    r"""Stage 5 for every run of a batch: the knowledge-spillover network (docs/network.md).

    Each lab (row) reads its neighbours from a snapshot taken at the start of the stage and writes only its own
    row, so the result never depends on the order in which threads visit rows; cross-lab sums (the market record)
    are taken serially per run.  An edge i - j of run ``b`` is *active* when both labs are alive and either the
    step's start year is before ``net_cut_year`` or both labs are in the same bloc (the export-control seam).

    Channels, each switched off by a zero parameter:

    * publication and open weights (``net_publication_rate``), the catch-up of stage 5 (docs/network.md),

      .. math:: \frac{d \ln S_i}{dt} \mathrel{+}= \sum_j k_{ij} \max(0, \ln S_j - \ln S_i), \qquad
                k_{ij} = \rho_{pub} \, \tilde w_{ij} \, o_j \, a_i, \quad a_i = \frac{L_i}{L_i + L_{1/2}},

      integrated exactly over the step with the sources held at their snapshot values;
    * talent mobility (``net_talent_mobility`` mu): researchers move along edges toward more attractive labs,
      conserving people,

      .. math:: r_{ij} = \mu \frac{w_{ij}}{\max(s_i, s_j)} \max(0, z_j - z_i), \qquad
                \text{flow}_{i \to j} = L_i \left(1 - e^{-R_i \Delta t}\right) \frac{r_{ij}}{R_i},
                \quad R_i = \textstyle\sum_j r_{ij};
    * distillation (``net_distill_fraction`` f): :math:`\ln E_i \ge \ln f + \max_j \ln E_j` over active
      neighbours.

    Three parallel passes (snapshot and attractiveness; talent leaving rates; the channels), then serial per-run
    sums; nothing when the batch has no edge.

    Parameters
    ----------
    labs, world : LabState, WorldState
        The batch's labs and the world they live in (economy.state), updated in place.
    par : ndarray, shape (runs, N_PARAMS)
        Packed parameters (columns ``economy.kernels.layout.P_*``).
    net : NetworkState
        The batch's CSR adjacency and the stage's snapshot and flows; ``prev_log_software`` must hold each lab's ln S
        at the step's start (economy.kernels.research.research_stage keeps it).
    rec : ndarray, shape (runs, N_MARKET)
        The step's record: talent flow, spillover gain, distilled labs, active edges.
    """
    if net.indices.shape[0] == 0:  # no edge in the batch: nothing flows
        return
    n_runs, n = labs.cash_usd.shape
    year = np.empty(n_runs)  # the step's start year, per run
    for b in range(n_runs):
        year[b] = par[b, P_SIM_START_YEAR] + world.step[b] * par[b, P_SIM_DT]
    snapshot_rows(labs, par, net)
    leave_rows(par, net, year)
    spill_rows(labs, par, net, year)
    for b in range(n_runs):
        moved = 0.0
        gain = 0.0
        distilled = 0.0
        edges = 0
        if n > SUM_BLOCK:  # a large run: the same sums in blocks, on the threads (economy.kernels.blocks)
            moved = row_sum_blocked(net.moved, b)
            gain = row_sum_blocked(net.gain, b)
            distilled = row_sum_blocked(net.distilled, b)
            edges = row_sum_blocked(net.active_edges, b)
        else:
            for i in range(n):
                moved += net.moved[b, i]
                gain += net.gain[b, i]
                distilled += net.distilled[b, i]
                edges += net.active_edges[b, i]
        rec[b, M_TALENT_FLOW] = moved
        rec[b, M_SPILLOVER_LOG_SOFTWARE] = gain
        rec[b, M_N_DISTILLED] = distilled
        rec[b, M_ACTIVE_EDGES] = edges // 2


@jit
def record_knowledge_gap(log_software, alive, rec_row):
    r"""Dispersion (population standard deviation) of ln S over alive labs and their mean gap to the frontier.

    .. math:: \bar g = \frac{1}{m} \sum_i (\max_j \ln S_j - \ln S_i), \qquad
              \sigma = \sqrt{\tfrac{1}{m} \textstyle\sum_i (\ln S_i - \overline{\ln S})^2}

    Serial, two passes (:func:`_software_sums`, :func:`_software_squares`); both are 0 when no lab is alive.
    """
    n = log_software.shape[0]
    rows, live = log_software.reshape(1, n), alive.reshape(1, n)  # the passes read 2-D rows, as the blocked ones
    m, total, top = _software_sums(rows, live, 0, 0, n)
    if m == 0:
        rec_row[M_KNOWLEDGE_GAP_DISPERSION] = 0.0
        rec_row[M_MEAN_LOG_SOFTWARE_GAP] = 0.0
        return
    mean = total / m
    rec_row[M_KNOWLEDGE_GAP_DISPERSION] = math.sqrt(_software_squares(rows, live, 0, mean, 0, n) / m)
    rec_row[M_MEAN_LOG_SOFTWARE_GAP] = top - mean


@kernel_inline
def _software_sums(log_software, alive, b, lo, hi):
    """Over run b's alive labs ``lo <= i < hi``, in lab order: their number, the sum of their ln S, the largest."""
    m = 0
    total = 0.0
    top = NEG_INF
    for i in range(lo, hi):
        if alive[b, i]:
            m += 1
            total += log_software[b, i]
            top = max(top, log_software[b, i])
    return m, total, top


@kernel_inline
def _software_squares(log_software, alive, b, mean, lo, hi):
    """The sum of ``(ln S_i - mean)^2`` over run b's alive labs ``lo <= i < hi``, in lab order."""
    ss = 0.0
    for i in range(lo, hi):
        if alive[b, i]:
            d = log_software[b, i] - mean
            ss += d * d
    return ss



@kernel
def knowledge_gap_blocked(log_software, alive, b, rec_row, scratch):
    """:func:`record_knowledge_gap` of run b of a run of more than SUM_BLOCK labs, its two passes in blocks
    (economy.kernels.blocks; ``scratch``: economy.state.StepWork's ``block_sums``)."""
    blocks = n_blocks(alive.shape[1])
    _software_sum_blocks(log_software, alive, b, scratch)  # per block: alive labs, the sum of ln S, the largest
    m = int(add_blocks(scratch, 0, blocks))
    total = add_blocks(scratch, 1, blocks)
    top = scratch[0, 2]
    for k in range(1, blocks):
        top = max(top, scratch[k, 2])
    if m == 0:
        rec_row[M_KNOWLEDGE_GAP_DISPERSION] = 0.0
        rec_row[M_MEAN_LOG_SOFTWARE_GAP] = 0.0
        return
    mean = total / m
    _software_square_blocks(log_software, alive, b, mean, scratch)
    rec_row[M_KNOWLEDGE_GAP_DISPERSION] = math.sqrt(add_blocks(scratch, 3, blocks) / m)
    rec_row[M_MEAN_LOG_SOFTWARE_GAP] = top - mean


@kernel_parallel
def _software_sum_blocks(log_software, alive, b, part):
    n = alive.shape[1]
    for k in prange(n_blocks(n)):
        lo, hi = block_bounds(k, n)
        part[k, 0], part[k, 1], part[k, 2] = _software_sums(log_software, alive, b, lo, hi)


@kernel_parallel
def _software_square_blocks(log_software, alive, b, mean, part):
    n = alive.shape[1]
    for k in prange(n_blocks(n)):
        lo, hi = block_bounds(k, n)
        part[k, 3] = _software_squares(log_software, alive, b, mean, lo, hi)

# ---------------------------------------------------------------------------------------------- scalar helpers
@jit
def absorptive_capacity(researchers, half_staff):
    r"""Receiver's absorptive capacity :math:`a = L / (L + L_{1/2})` (Cohen & Levinthal 1990); 1 if
    :math:`L_{1/2} = 0`."""
    if half_staff <= 0.0:
        return 1.0
    if researchers <= 0.0:
        return 0.0
    return researchers / (researchers + half_staff)


@jit
def catch_up(rate_sum, weighted_gap_sum, dt):
    r"""Increment of ln S over one step from linear catch-up toward fixed sources.

    With :math:`K = \sum_j k_{ij}` and :math:`G = \sum_j k_{ij} (\ln S_j - \ln S_i)` over sources ahead of
    the lab, :math:`d x / dt = G - K (x - x_0)` integrates exactly to

    .. math:: \Delta \ln S_i = (1 - e^{-K \Delta t}) \, G / K,

    which tends to the Euler step :math:`G \Delta t` as :math:`K \Delta t \to 0` and never passes the
    :math:`k`-weighted mean of the sources, however large :math:`K \Delta t`.
    """
    if rate_sum <= 0.0:
        return 0.0
    return -math.expm1(-rate_sum * dt) * weighted_gap_sum / rate_sum


@kernel
def attractiveness(log_software, log_software_start, cash_usd, researchers, dt, wage, pay_weight):
    r"""Attractiveness of a lab to researchers, in 1/year.

    .. math:: z_i = \frac{\ln S_i - \ln S_i^{start}}{\Delta t}
              + \omega \ln\!\left(1 + \frac{\max(\text{cash}_i, 0)}{w \max(L_i, 1)}\right)

    the lab's research growth over this step plus ``pay_weight`` times the log of one plus its payroll
    runway in years (cash per researcher over the wage: the room to pay more).
    """
    growth = (log_software - log_software_start) / dt
    if pay_weight == 0.0:
        return growth
    runway = max(cash_usd, 0.0) / (wage * max(researchers, 1.0))
    return growth + pay_weight * math.log1p(runway)


@kernel
def _talent_weight(w, s_i, s_j, normalise):
    """Symmetric edge weight for talent flows: w / max(s_i, s_j) when normalised, so the pair's rate agrees."""
    if not normalise:
        return w
    return w / max(s_i, s_j, 1e-300)  # a zero strength means every weight at that lab is zero


# ---------------------------------------------------------------------------------------------- row kernels
#
# Each pass writes its row's work in the loop body on arrays bound to locals: a row helper taking the whole lab
# or network state costs several times the work (its arrays are passed one by one; docs/performance.md).


@kernel_parallel
def mark_rows(labs, net):
    """Before stage 3: store each lab's ln S at the step's start (its research growth is read from it)."""
    log_s, prev = labs.log_software, net.prev_log_software
    n_runs, n = log_s.shape
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            prev[b, i] = log_s[b, i]


@kernel_parallel
def snapshot_rows(labs, par, net):
    """Pass 1: each lab's record (alive, bloc, ln S, ln E, attractiveness, strength, openness) and staff."""
    alive, bloc, log_s, log_e, openness = (labs.alive, labs.bloc, labs.log_software, labs.log_eff_compute,
                                           labs.openness)
    researchers, cash = labs.researchers, labs.cash_usd
    node, strength, snap, gain, distilled, active = (net.node, net.strength, net.snap_researchers, net.gain,
                                                     net.distilled, net.active_edges)
    prev = net.prev_log_software
    n_runs, n = alive.shape
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            node[b, i, NODE_ALIVE] = 1.0 if alive[b, i] else 0.0
            node[b, i, NODE_BLOC] = bloc[b, i]
            node[b, i, NODE_LOG_S] = log_s[b, i]
            node[b, i, NODE_LOG_E] = log_e[b, i]
            node[b, i, NODE_STRENGTH] = strength[b, i]
            node[b, i, NODE_OPENNESS] = openness[b, i]
            node[b, i, NODE_ATTRACT] = 0.0
            node[b, i, NODE_PER_RATE] = 0.0
            snap[b, i] = researchers[b, i]
            gain[b, i] = 0.0
            distilled[b, i] = 0.0
            active[b, i] = 0
            if alive[b, i]:
                node[b, i, NODE_ATTRACT] = attractiveness(
                    log_s[b, i],
                    prev[b, i],
                    cash[b, i],
                    researchers[b, i],
                    par[b, P_SIM_DT],
                    par[b, P_MONEY_WAGE_USD_PER_YEAR],
                    par[b, P_NETWORK_TALENT_PAY_WEIGHT],
                )


@kernel_parallel
def leave_rows(par, net, year):
    r"""Pass 2: each lab's leaving rate :math:`R_i = \sum_j \mu \hat w_{ij} \max(0, z_j - z_i)` (1/year), its
    outflow over the step :math:`L_i (1 - e^{-R_i \Delta t})` and that outflow per unit of rate (what a receiver j
    scales by its own edge's rate :math:`r_{ij}`), written into the lab's record (no other row reads that column
    during this pass)."""
    leave, moved, node, snap = net.leave_rate, net.moved, net.node, net.snap_researchers
    indptr, indices, weight = net.indptr, net.indices, net.weight
    n_runs, n = leave.shape
    limit = prefetch_limit(n, indices.shape[0])
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            leave[b, i] = 0.0
            moved[b, i] = 0.0
            mu = par[b, P_NETWORK_TALENT_MOBILITY]
            if node[b, i, NODE_ALIVE] == 0.0 or mu <= 0.0:
                continue
            normalise = par[b, P_NETWORK_NORMALISE_WEIGHTS] != 0.0
            open_border = year[b] < par[b, P_CROSS_BLOC_CUT_YEAR] or year[b] >= par[b, P_CROSS_BLOC_REOPEN_YEAR]
            z_i = node[b, i, NODE_ATTRACT]
            s_i = node[b, i, NODE_STRENGTH]
            bloc_i = node[b, i, NODE_BLOC]
            rate = 0.0
            for e in range(indptr[b, i], indptr[b, i + 1]):
                if e < limit:  # the record a later edge reads (economy.kernels.prefetch)
                    prefetch_record(node, b, indices[e + PREFETCH_EDGES])
                j = indices[e]
                if node[b, j, NODE_ALIVE] == 0.0 or not (open_border or node[b, j, NODE_BLOC] == bloc_i):
                    continue
                # branch-free: a zero term adds exactly nothing
                rate += (mu * _talent_weight(weight[e], s_i, node[b, j, NODE_STRENGTH], normalise)
                         * max(node[b, j, NODE_ATTRACT] - z_i, 0.0))
            leave[b, i] = rate
            if rate > 0.0:
                out = snap[b, i] * -math.expm1(-rate * par[b, P_SIM_DT])
                moved[b, i] = out
                node[b, i, NODE_PER_RATE] = out / rate


@kernel_parallel
def spill_rows(labs, par, net, year):
    """Pass 3: publication catch-up, talent mobility and distillation, each lab writing only its own row."""
    log_s_col, researchers, log_e_col, at_ceiling = (labs.log_software, labs.researchers, labs.log_eff_compute,
                                                     labs.ceiling_year)
    automation, quality, logit_weight, data = labs.automation, labs.quality, labs.logit_weight, labs.data_tokens
    node, snap, moved, gain, distilled, active_col = (net.node, net.snap_researchers, net.moved, net.gain,
                                                      net.distilled, net.active_edges)
    indptr, indices, weight = net.indptr, net.indices, net.weight
    n_runs, n = log_s_col.shape
    limit = prefetch_limit(n, indices.shape[0])
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            if node[b, i, NODE_ALIVE] == 0.0:
                continue
            dt = par[b, P_SIM_DT]
            normalise = par[b, P_NETWORK_NORMALISE_WEIGHTS] != 0.0
            mu = par[b, P_NETWORK_TALENT_MOBILITY]
            frac = par[b, P_NETWORK_DISTILL_FRACTION]
            open_border = year[b] < par[b, P_CROSS_BLOC_CUT_YEAR] or year[b] >= par[b, P_CROSS_BLOC_REOPEN_YEAR]
            s_i = node[b, i, NODE_STRENGTH]
            bloc_i = node[b, i, NODE_BLOC]
            log_s = node[b, i, NODE_LOG_S]
            z_i = node[b, i, NODE_ATTRACT]
            staff = snap[b, i]
            # publication: receiver-normalised weights, scaled by the receiver's absorptive capacity
            k_scale = par[b, P_NETWORK_PUBLICATION_RATE_PER_YEAR] * absorptive_capacity(
                staff, par[b, P_NETWORK_ABSORB_HALF_STAFF]
            )
            if normalise:
                k_scale = k_scale / s_i if s_i > 0.0 else 0.0
            rate_sum = 0.0
            gap_sum = 0.0
            inflow = 0.0
            best_e = NEG_INF
            active = 0
            for e in range(indptr[b, i], indptr[b, i + 1]):
                if e < limit:  # the record a later edge reads (economy.kernels.prefetch)
                    prefetch_record(node, b, indices[e + PREFETCH_EDGES])
                j = indices[e]
                if node[b, j, NODE_ALIVE] == 0.0 or not (open_border or node[b, j, NODE_BLOC] == bloc_i):
                    continue
                active += 1
                w = weight[e]
                # branch-free sums (a zero term adds exactly nothing): sources ahead of the lab only
                gap = node[b, j, NODE_LOG_S] - log_s
                kk = k_scale * w * node[b, j, NODE_OPENNESS] if gap > 0.0 else 0.0
                rate_sum += kk
                gap_sum += kk * gap
                # talent arriving from j: j's outflow times this edge's share r_ji / R_j of j's leaving rate
                inflow += node[b, j, NODE_PER_RATE] * (mu * _talent_weight(w, s_i, node[b, j, NODE_STRENGTH], normalise)
                                                       * max(z_i - node[b, j, NODE_ATTRACT], 0.0))
                best_e = max(best_e, node[b, j, NODE_LOG_E])
            active_col[b, i] = active
            # publication and open weights: ln S catches up (held at the ceiling once there)
            if rate_sum > 0.0 and at_ceiling[b, i] < 0.0:
                d = catch_up(rate_sum, gap_sum, dt)
                log_s_col[b, i] = min(log_s + d, par[b, P_SIM_LOG_SOFTWARE_CEILING])
                gain[b, i] = log_s_col[b, i] - log_s
            # talent mobility: people conserved pairwise (each flow is computed identically at both ends)
            out = moved[b, i]
            if out > 0.0 or inflow > 0.0:
                researchers[b, i] = staff - out + inflow
            # distillation: the served model is at least a fraction f of the best neighbour's, in effective compute
            if frac > 0.0 and best_e > NEG_INF:
                floor = math.log(frac) + best_e
                if floor > node[b, i, NODE_LOG_E]:
                    log_e_col[b, i] = floor
                    automation[b, i], quality[b, i], logit_weight[b, i] = capability(floor, data[b, i], par[b])
                    distilled[b, i] = 1.0
