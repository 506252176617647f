r"""Stage 1, observe and decide: adaptive routines, racing pressure and the budget (docs/model.md, stage 1).

The stage is :func:`strategy_stage`; its docstring gives the equations.
"""

import math

from numba import prange

from economy.kernels.blocks import n_row_blocks, row_block_bounds
from economy.kernels.codes import STRATEGY_ADAPTIVE
from economy.kernels.config import kernel, kernel_nocount, kernel_parallel
from economy.kernels.events import push_event
from economy.kernels.layout import (
    EVENT_STRATEGY,
    M_N_STRATEGY_CHANGES,
    P_ADAPTATION_IMITATION_RATE_PER_YEAR,
    P_ADAPTATION_SEARCH_RATE_PER_YEAR,
    P_ADAPTATION_SEARCH_STEP,
    P_CROSS_BLOC_CUT_YEAR,
    P_CROSS_BLOC_REOPEN_YEAR,
    P_MONEY_HIRE_SPEED_PER_YEAR,
    P_MONEY_WAGE_USD_PER_YEAR,
    P_NETWORK_KIND,
    P_SAFETY_RACING_RIVALS,
    P_SAFETY_RACING_SCALE,
    P_SAFETY_RACING_SENSITIVITY,
    P_SIM_DT,
    P_SIM_START_YEAR,
    PEER_ALIVE,
    PEER_BLOC,
    PEER_PERFORMANCE,
    PEER_QUALITY,
    R_COMPUTE_SPEND,
    R_INFERENCE,
    R_OPENNESS,
    R_SAFETY,
    R_SPEND,
    R_TRAIN,
)
from economy.kernels.policies import policy_floors
from economy.kernels.prefetch import PREFETCH_EDGES, prefetch_limit, prefetch_record

__all__ = [
    "NEG_INF", "best_performer", "closeness", "decide_rows", "observed_best", "racing_pressure", "rival_table",
    "shift_log_odds", "snapshot_peers", "snapshot_routines", "strategy_stage"
]

NEG_INF = -math.inf

YEAR, IMITATION, SEARCH, HIRING = 0, 1, 2, 3
"""Stage 1's columns of ``work.factors`` (economy.state.StepWork)."""


@kernel_nocount
def strategy_stage(labs, world, par, net, work, draws, rec):
    r"""Stage 1 for every run of a batch: observe and decide (docs/model.md, "Stage 1: observe and decide").

    A lab's *routine* is its behaviour columns (spend rate, compute-spend fraction, training and inference
    fractions, safety share with no rival close, openness).  Each step, in this order:

    1. **Adaptation** (labs whose ``strategy`` is adaptive; Nelson and Winter 1982).  *Imitation*: with
       probability :math:`1 - e^{-\mu \Delta t}` the lab looks at the labs it observes (its active network
       neighbours when the scenario has a network, else every alive lab), takes the one with the highest
       performance (ties: the lowest id) and, if that beats its own, copies its routine as it was at the start of
       the step.  *Satisficing search*: otherwise, a lab whose performance is below its aspiration tries, with
       probability :math:`1 - e^{-\nu \Delta t}`, a perturbed routine: the log-odds of its compute-spend fraction,
       training fraction and safety share each move by ``search_step`` times a standard normal (the inference
       fraction is cut if training plus inference would pass 1).
    2. **Racing** (Armstrong, Bostrom and Shulman 2016): with :math:`c_{ij} = e^{-|u_i - u_j| / \text{scale}}` the
       closeness of rival j,

       .. math:: P_i = 1 - \prod_{j \in \text{rivals}(i)} (1 - c_{ij}), \qquad
                 \text{safety}_i = \text{safety\_base}_i \, (1 - \text{sensitivity} \, P_i),

       so more rivals and smaller gaps both lower the safety share.  Rivals are the active network neighbours
       with a network, else the ``racing_rivals`` best other labs by quality (1: the leader, and for the leader the
       runner-up).  A rival without a model, or a lab without one, exerts no pressure.
    3. **Budget**: spending, the compute budget and desired hiring from the (new) routine.

    Rows are parallel and write only their own row; what a row reads of other labs (performance, quality,
    alive, bloc and the routine snapshot) is not written during the stage, so results do not depend on the
    order of rows.  Strategy-change events are pushed serially afterwards.

    Parameters
    ----------
    labs, world : LabState, WorldState
        The batch's labs and the world they live in (economy.state), updated in place.
    par : ndarray, shape (runs, N_PARAMS)
        Packed parameters (columns ``economy.kernels.layout.P_*``).
    net : NetworkState
        With a network, a lab observes and races its active neighbours.
    work : StepWork
        Stage 1's tables (``routine``, ``top``, ``best``, ``peer``), rebuilt here (``top`` and ``best`` only for runs
        without a network, the only ones that read them).
    draws : StepDraws
        The imitation and search uniforms and the search steps.
    rec : ndarray, shape (runs, N_MARKET)
        The step's record: the strategy changes.
    """
    n_runs, n = labs.cash_usd.shape
    imitation = False
    network = False
    # per run: the step's start year, the imitation and search probabilities, the share of a hiring gap closed
    factors = work.factors
    for b in range(n_runs):
        factors[b, YEAR] = par[b, P_SIM_START_YEAR] + world.step[b] * par[b, P_SIM_DT]
        dt = par[b, P_SIM_DT]
        factors[b, IMITATION] = -math.expm1(-par[b, P_ADAPTATION_IMITATION_RATE_PER_YEAR] * dt)
        factors[b, SEARCH] = -math.expm1(-par[b, P_ADAPTATION_SEARCH_RATE_PER_YEAR] * dt)
        factors[b, HIRING] = -math.expm1(-par[b, P_MONEY_HIRE_SPEED_PER_YEAR] * dt)
        if par[b, P_ADAPTATION_IMITATION_RATE_PER_YEAR] > 0.0:
            imitation = True
        if par[b, P_NETWORK_KIND] != 0.0:
            network = True  # rivals and the observed best are the neighbours: the run's tables are not read
        else:
            rival_table(labs.quality[b], labs.alive[b], work.top[b])
            work.best[b] = best_performer(labs.performance[b], labs.alive[b])
    if imitation:
        snapshot_routines(labs, work.routine)
    if network:
        snapshot_peers(labs, work.peer)
    decide_rows(labs, par, net, work, draws, factors)
    for b in range(n_runs):
        end_year = factors[b, YEAR] + par[b, P_SIM_DT]
        count = 0
        for i in range(n):
            code = labs.strategy_changed[b, i]
            if code == 0:
                continue
            count += 1
            j = labs.imitated[b, i]
            if code == 1:
                value = labs.performance[b, j] - labs.performance[b, i]
            else:
                value = labs.aspiration[b, i] - labs.performance[b, i]
            push_event(world, b, end_year, i, EVENT_STRATEGY, j, value)
        rec[b, M_N_STRATEGY_CHANGES] = count


@kernel
def rival_table(quality, alive, top):
    """The ``top.shape[0]`` best alive labs by quality (descending; ties: lower id first), -1 padded."""
    slots = top.shape[0]
    for m in range(slots):
        top[m] = -1
    filled = 0
    for i in range(quality.shape[0]):
        if not alive[i]:
            continue
        u = quality[i]
        # position: after every filled slot whose quality is >= u (earlier ids win ties)
        pos = filled
        while pos > 0 and quality[top[pos - 1]] < u:
            pos -= 1
        if pos >= slots:
            continue
        last = min(filled, slots - 1)
        for m in range(last, pos, -1):
            top[m] = top[m - 1]
        top[pos] = i
        if filled < slots:
            filled += 1


@kernel
def best_performer(performance, alive):
    """The alive lab with the highest performance (ties: the lowest id); -1 if none."""
    best = -1
    for i in range(performance.shape[0]):
        if alive[i] and (best < 0 or performance[i] > performance[best]):
            best = i
    return best


@kernel_parallel
def snapshot_routines(labs, routine):
    """Every lab's routine at the start of the stage (imitation copies from here)."""
    spend, phi, train = labs.spend_rate_per_year, labs.compute_spend_fraction, labs.train_fraction
    infer, safety, openness = labs.inference_fraction, labs.safety_base, labs.openness
    n_runs, n = spend.shape
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            routine[b, i, R_SPEND] = spend[b, i]
            routine[b, i, R_COMPUTE_SPEND] = phi[b, i]
            routine[b, i, R_TRAIN] = train[b, i]
            routine[b, i, R_INFERENCE] = infer[b, i]
            routine[b, i, R_SAFETY] = safety[b, i]
            routine[b, i, R_OPENNESS] = openness[b, i]


@kernel_parallel
def snapshot_peers(labs, peer):
    """What network neighbours read of each lab in stage 1, packed per lab (alive, bloc, quality, performance):
    a neighbour then costs one cache line instead of four at large N.  None of it changes during the stage."""
    alive, bloc, quality, performance = labs.alive, labs.bloc, labs.quality, labs.performance
    n_runs, n = alive.shape
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            peer[b, i, PEER_ALIVE] = 1.0 if alive[b, i] else 0.0
            peer[b, i, PEER_BLOC] = bloc[b, i]
            peer[b, i, PEER_QUALITY] = quality[b, i]
            peer[b, i, PEER_PERFORMANCE] = performance[b, i]


@kernel
def shift_log_odds(x, step):
    """The fraction whose log-odds are those of ``x`` plus ``step`` (0 and 1 stay put)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    t = math.exp(step)
    return x * t / (1.0 - x + x * t)


@kernel
def closeness(u_i, u_j, scale):
    """exp(-|u_i - u_j| / scale); 0 when either has no model (quality -inf)."""
    if u_i == NEG_INF or u_j == NEG_INF:
        return 0.0
    return math.exp(-abs(u_i - u_j) / scale)


@kernel
def observed_best(peer, indptr, indices, best, network, open_border, b, i, limit):
    """The most profitable lab that lab i of run b observes: an active neighbour (ties: the lowest id, CSR rows
    are sorted), or without a network the run's best performer ``best[b]`` unless that is i itself; -1 if none.
    ``peer`` is stage 1's packed record (:func:`snapshot_peers`); edges ``e < limit`` prefetch a later edge's
    record (economy.kernels.prefetch.prefetch_limit)."""
    if not network:
        j = best[b]
        return j if j != i else -1
    found = -1
    bloc_i = peer[b, i, PEER_BLOC]
    for e in range(indptr[b, i], indptr[b, i + 1]):
        if e < limit:  # the record a later edge reads (economy.kernels.prefetch)
            prefetch_record(peer, b, indices[e + PREFETCH_EDGES])
        j = indices[e]
        if peer[b, j, PEER_ALIVE] != 0.0 and (open_border or peer[b, j, PEER_BLOC] == bloc_i) and (
                found < 0 or peer[b, j, PEER_PERFORMANCE] > peer[b, found, PEER_PERFORMANCE]):
            found = j
    return found


@kernel
def racing_pressure(quality, peer, indptr, indices, top, wanted, scale, network, open_border, b, i, limit):
    """P_i = 1 - prod over rivals j of (1 - closeness(u_i, u_j)): active neighbours with a network (read from
    the packed record ``peer``; edges ``e < limit`` prefetch a later edge's record), else the ``wanted`` best
    other labs of the rival table ``top[b]``."""
    u_i = quality[b, i]
    keep = 1.0
    if network:
        bloc_i = peer[b, i, PEER_BLOC]
        for e in range(indptr[b, i], indptr[b, i + 1]):
            if e < limit:  # the record a later edge reads (economy.kernels.prefetch)
                prefetch_record(peer, b, indices[e + PREFETCH_EDGES])
            j = indices[e]
            if peer[b, j, PEER_ALIVE] != 0.0 and (open_border or peer[b, j, PEER_BLOC] == bloc_i):
                keep *= 1.0 - closeness(u_i, peer[b, j, PEER_QUALITY], scale)
    else:
        seen = 0
        for m in range(top.shape[1]):
            j = top[b, m]
            if j < 0 or seen >= wanted:
                break
            if j == i:
                continue
            seen += 1
            keep *= 1.0 - closeness(u_i, quality[b, j], scale)
    return 1.0 - keep


@kernel_parallel
def decide_rows(labs, par, net, work, draws, factors):
    """Adaptation, racing-adjusted safety share, compute budget and desired hiring, row by row.

    ``factors[run]`` holds the step's start year (column :data:`YEAR`), the run's per-step probabilities of
    imitation and of search and the share of a hiring gap closed in a step (1 - e^{-rate dt} each; columns
    :data:`IMITATION`, :data:`SEARCH`, :data:`HIRING`), computed once per run by :func:`strategy_stage`, not per
    lab.

    The row's work is written in the loop body on arrays bound to locals: a row helper taking the whole lab,
    network and draw state would cost several times the work itself (its arrays are passed one by one).
    """
    alive, exited, strategy, changed, imitated = (labs.alive, labs.exited, labs.strategy, labs.strategy_changed,
                                                  labs.imitated)
    spend_rate, phi_col, train_col, infer_col = (labs.spend_rate_per_year, labs.compute_spend_fraction,
                                                 labs.train_fraction, labs.inference_fraction)
    safety_base, openness, safety, evasion = labs.safety_base, labs.openness, labs.safety, labs.evasion
    performance, aspiration, quality = labs.performance, labs.aspiration, labs.quality
    cash_col, researchers, budget, hire = labs.cash_usd, labs.researchers, labs.compute_budget_usd, labs.hire
    routine, top, best, peer = work.routine, work.top, work.best, work.peer
    indptr, indices = net.indptr, net.indices
    u_imitate, u_search, z = draws.imitate, draws.search, draws.search_step
    n_runs, n = alive.shape
    limit = prefetch_limit(n, indices.shape[0])
    row_blocks = n_row_blocks(n)  # a run's columns in blocks: small runs one each (economy.kernels.blocks)
    for k in prange(n_runs * row_blocks):
        b = k // row_blocks
        lo, hi = row_block_bounds(k - b * row_blocks, n)
        for i in range(lo, hi):
            exited[b, i] = False
            changed[b, i] = 0
            imitated[b, i] = -1
            if not alive[b, i]:
                budget[b, i] = 0.0
                hire[b, i] = 0.0
                continue
            dt = par[b, P_SIM_DT]
            network = par[b, P_NETWORK_KIND] != 0.0
            year = factors[b, YEAR]
            open_border = year < par[b, P_CROSS_BLOC_CUT_YEAR] or year >= par[b, P_CROSS_BLOC_REOPEN_YEAR]
            # adaptation: imitation of the most profitable observed lab, else satisficing search
            if strategy[b, i] == STRATEGY_ADAPTIVE:
                source = -1
                if u_imitate[b, i] < factors[b, IMITATION]:
                    j = observed_best(peer, indptr, indices, best, network, open_border, b, i, limit)
                    if j >= 0 and performance[b, j] > performance[b, i]:
                        source = j
                if source >= 0:
                    spend_rate[b, i] = routine[b, source, R_SPEND]
                    phi_col[b, i] = routine[b, source, R_COMPUTE_SPEND]
                    train_col[b, i] = routine[b, source, R_TRAIN]
                    infer_col[b, i] = routine[b, source, R_INFERENCE]
                    safety_base[b, i] = routine[b, source, R_SAFETY]
                    openness[b, i] = routine[b, source, R_OPENNESS]
                    changed[b, i] = 1
                    imitated[b, i] = source
                elif performance[b, i] < aspiration[b, i] and u_search[b, i] < factors[b, SEARCH]:
                    step = par[b, P_ADAPTATION_SEARCH_STEP]
                    phi_col[b, i] = shift_log_odds(phi_col[b, i], step * z[b, i, 0])
                    train = shift_log_odds(train_col[b, i], step * z[b, i, 1])
                    train_col[b, i] = train
                    if train + infer_col[b, i] > 1.0:
                        infer_col[b, i] = 1.0 - train
                    safety_base[b, i] = shift_log_odds(safety_base[b, i], step * z[b, i, 2])
                    changed[b, i] = 2
            # racing
            pressure = racing_pressure(quality, peer, indptr, indices, top, int(par[b, P_SAFETY_RACING_RIVALS]),
                                       par[b, P_SAFETY_RACING_SCALE], network, open_border, b, i, limit)
            safety[b, i] = safety_base[b, i] * (1.0 - par[b, P_SAFETY_RACING_SENSITIVITY] * pressure)
            # stage 9: publication and safety floors
            openness[b, i], safety[b, i] = policy_floors(par[b], year, openness[b, i], safety[b, i], evasion[b, i])
            # budget
            cash = cash_col[b, i]
            spend = cash * -math.expm1(-spend_rate[b, i] * dt) if cash > 0.0 else 0.0
            phi = phi_col[b, i]
            budget[b, i] = phi * spend
            target_staff = (1.0 - phi) * spend / dt / par[b, P_MONEY_WAGE_USD_PER_YEAR]
            hire[b, i] = (target_staff - researchers[b, i]) * factors[b, HIRING]
