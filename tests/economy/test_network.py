"""The spillover and competition network (docs/model.md stage 5, docs/network.md).

Kernel-level tests apply stage 5 alone (``spillover_stage``) to a state built by ``Simulation`` and then
edited; engine-level tests step whole runs.  Every random number comes from a seeded ``Generator``.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import kernel_entries as entries
import networkx as nx
import numba
import numpy as np
import pytest
from conftest import ROOT, build_scenario, deep_merge, load_baseline_dict
from reference.naive_network import naive_knowledge_gap, naive_segment_targets, naive_spillover

from economy.engine import Simulation
from economy.kernels import layout as L
from economy.kernels.segments import segment_log_norms
from economy.kernels.spillover import absorptive_capacity, catch_up, record_knowledge_gap
from economy.network import (
    FILE_LAB_ATTRIBUTES,
    GRAPH_KINDS,
    CompleteCSR,
    CSRGraph,
    as_networkx,
    build_lab_graph,
    complete_csr,
    generate_graph,
    generate_network,
    gnp_csr,
    lab_graph,
    load_graph_file,
    network_state,
    to_csr,
    write_graphml,
)
from economy.params import Network, Scenario
from economy.state import LabState, WorldState
from economy.streams import generators, root_sequence

RTOL = 1e-12
RANDOM_KINDS = ("erdos_renyi", "barabasi_albert", "watts_strogatz", "stochastic_block")


def rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def generated(n: int, **sections) -> Scenario:
    """A scenario of ``n`` labs generated from the archetype mix."""
    return Scenario.model_validate(deep_merge({"name": "net", "sim": {"years": 2.0}, "labs": {"n": n}}, sections))


def baseline_with(**sections) -> Scenario:
    return Scenario.model_validate(deep_merge(load_baseline_dict(), sections))


def apply_stage(sim: Simulation) -> np.ndarray:
    """Stage 5 alone on the simulation's state; returns the record rows it wrote."""
    rec = np.zeros((len(sim.roots), L.N_MARKET))
    with np.errstate(invalid="raise", divide="raise", over="raise"):
        entries.spillover_stage(sim.labs, sim.world, sim.par, sim.net, rec)
    return rec


def lab_dicts(sim: Simulation, b: int) -> list[dict]:
    labs, net = sim.labs, sim.net
    fields = ("alive", "bloc", "log_software", "log_eff_compute", "researchers", "cash_usd", "openness",
              "ceiling_year", "data_tokens", "quality", "automation", "logit_weight")
    out = []
    for i in range(labs.alive.shape[1]):
        row = {f: getattr(labs, f)[b, i].item() for f in fields}
        row["log_software_start"] = float(net.prev_log_software[b, i])
        out.append(row)
    return out


def copy_state(sim: Simulation) -> tuple[LabState, WorldState]:
    return (LabState(*(a.copy() for a in sim.labs)), WorldState(*(a.copy() for a in sim.world)))


# ---------------------------------------------------------------------------------------------- closed form


@pytest.mark.parametrize(("openness", "half", "staff", "rate"), [(0.9, 0.0, 300.0, 1.0), (0.5, 300.0, 300.0, 2.5)])
def test_two_labs_one_edge_gap_decays_at_analytic_rate(openness, half, staff, rate):
    """Publication alone: the laggard's gap g follows g(t) = g0 exp(-k t), k = rate * openness * L/(L + L_half)."""
    labs = [{"name": "Leader", "kind": "open_weights", "log_software": 0.0},
            {"name": "Laggard", "kind": "startup", "log_software": -1.3, "researchers": staff}]
    sc = build_scenario(labs, network={"kind": "complete", "publication_rate_per_year": rate,
                                       "absorb_half_staff": half, "talent_mobility": 0.0, "distill_fraction": 0.0})
    sim = Simulation(sc, [3])
    assert sim.graphs[0].number_of_edges() == 1
    sim.labs.openness[0, 0] = openness
    dt = sc.sim.dt
    k = rate * openness * (staff / (staff + half) if half > 0 else 1.0)
    g0 = 1.3
    for step in range(1, 61):
        apply_stage(sim)
        sim.world.step[:] += 1
        gap = sim.labs.log_software[0, 0] - sim.labs.log_software[0, 1]
        assert gap == pytest.approx(g0 * math.exp(-k * step * dt), rel=1e-12)
    assert sim.labs.log_software[0, 0] == 0.0  # the leader learns nothing from behind


def test_catch_up_tends_to_euler_and_never_overshoots():
    assert catch_up(1e-9, 2e-9, 1 / 12) == pytest.approx(2e-9 / 12, rel=1e-8)
    # a huge rate moves the lab to the rate-weighted mean of its sources, never past it
    assert catch_up(1e6, 0.7e6, 1.0) == pytest.approx(0.7, rel=1e-15)
    assert catch_up(0.0, 0.0, 1.0) == 0.0
    assert absorptive_capacity(100.0, 100.0) == 0.5
    assert absorptive_capacity(0.0, 100.0) == 0.0
    assert absorptive_capacity(0.0, 0.0) == 1.0


# ---------------------------------------------------------------------------------------------- kernel vs naive


def _random_state(sim: Simulation, gen: np.random.Generator, *, dead: float = 0.1, blocs: int = 2) -> None:
    labs, net = sim.labs, sim.net
    shape = labs.alive.shape
    labs.alive[:] = gen.random(shape) >= dead
    labs.bloc[:] = gen.integers(0, blocs, shape)
    labs.log_software[:] = gen.normal(-1.0, 1.0, shape)
    net.prev_log_software[:] = labs.log_software - gen.exponential(0.1, shape)
    labs.log_eff_compute[:] = gen.normal(60.0, 2.0, shape)
    labs.log_eff_compute[gen.random(shape) < 0.1] = -math.inf
    labs.researchers[:] = gen.lognormal(5.0, 1.5, shape) * (gen.random(shape) > 0.1)
    labs.cash_usd[:] = gen.lognormal(20.0, 2.0, shape)
    labs.openness[:] = gen.random(shape)
    labs.ceiling_year[:] = np.where(gen.random(shape) < 0.05, 2030.0, -1.0)
    labs.data_tokens[:] = gen.lognormal(20.0, 2.0, shape)


def _weighted(sim: Simulation, gen: np.random.Generator) -> None:
    for graph in sim.graphs:
        for u, v in graph.edges():
            graph[u][v]["weight"] = float(gen.uniform(0.0, 3.0))
    sim.net = network_state(sim.graphs, sim.labs)


NAIVE_CASES = {
    # name: (network section, lab count, state tweak)
    "random": ({"kind": "erdos_renyi", "mean_degree": 5.0}, 60, None),
    "raw_weights": ({"kind": "erdos_renyi", "mean_degree": 5.0, "normalise_weights": False}, 60, None),
    "cut": ({"kind": "complete", "cut_cross_bloc_year": 2025.0}, 30, None),
    "not_yet_cut": ({"kind": "complete", "cut_cross_bloc_year": 2025.1}, 30, None),
    "extreme": ({"kind": "barabasi_albert", "mean_degree": 6.0, "publication_rate_per_year": 100.0,
                 "talent_mobility": 100.0, "talent_pay_weight": 100.0, "distill_fraction": 1.0,
                 "absorb_half_staff": 0.0}, 50, "dt1"),
    "star": ({"kind": "file"}, 20, "star"),
    "isolated": ({"kind": "erdos_renyi", "mean_degree": 0.5}, 40, None),
    "no_pay": ({"kind": "watts_strogatz", "mean_degree": 4.0, "talent_pay_weight": 0.0}, 40, None),
    "ties": ({"kind": "complete"}, 12, "ties"),
    "zero_staff": ({"kind": "complete"}, 12, "zero_staff"),
    "all_dead": ({"kind": "complete"}, 8, "all_dead"),
    "one_lab": ({"kind": "complete"}, 1, None),
}


@pytest.mark.parametrize("name", sorted(NAIVE_CASES))
def test_spillover_kernel_matches_naive_edge_loop(name, tmp_path):
    section, n, tweak = NAIVE_CASES[name]
    if section["kind"] == "file":  # a star: the hub is lab 0
        path = tmp_path / "star.txt"
        path.write_text("".join(f"0 {i} {0.5 + i / n}\n" for i in range(1, n)))
        section = {**section, "file": str(path)}
    sim = Simulation(generated(n, network=section), [11, 12], record_labs=False)
    gen = rng(len(name) * 7919)
    if section["kind"] != "file":
        _weighted(sim, gen)
    _random_state(sim, gen)
    if tweak == "dt1":
        sim.par[:, L.P_SIM_DT] = 1.0
    elif tweak == "ties":
        sim.labs.log_software[:] = -0.5
        sim.net.prev_log_software[:] = -0.6
        sim.labs.cash_usd[:] = 1e9
        sim.labs.researchers[:] = 100.0
        sim.labs.log_eff_compute[:] = 61.0
    elif tweak == "zero_staff":
        sim.labs.researchers[:] = 0.0
    elif tweak == "all_dead":
        sim.labs.alive[:] = False
    before = copy_state(sim)
    wants = []
    for b in range(2):
        year = float(sim.par[b, L.P_SIM_START_YEAR] + sim.world.step[b] * sim.par[b, L.P_SIM_DT])
        p = dict(zip(L.PARAM_NAMES, sim.par[b].tolist(), strict=True))
        wants.append(naive_spillover(sim.graphs[b], lab_dicts(sim, b), p, year))
    rec = apply_stage(sim)
    labs, net = sim.labs, sim.net
    for b, want in enumerate(wants):
        for field in ("log_software", "log_eff_compute"):
            np.testing.assert_allclose(getattr(labs, field)[b], want[field], rtol=RTOL, atol=0.0,
                                       err_msg=f"{name}: {field}")
        # people: a lab emptied by a huge leaving rate differs from the edge-by-edge sum by rounding of the
        # flows through it, so the absolute tolerance is set by the run's head count
        people = max(1.0, float(before[0].researchers[b].sum()))
        np.testing.assert_allclose(labs.researchers[b], want["researchers"], rtol=RTOL, atol=1e-14 * people,
                                   err_msg=f"{name}: researchers")
        np.testing.assert_allclose(net.gain[b], want["gain"], rtol=1e-9, atol=1e-15, err_msg=f"{name}: gain")
        np.testing.assert_allclose(net.moved[b], want["moved"], rtol=1e-10, atol=1e-14 * people,
                                   err_msg=f"{name}: moved")
        np.testing.assert_array_equal(net.distilled[b], want["distilled"], err_msg=f"{name}: distilled")
        np.testing.assert_array_equal(net.active_edges[b], want["active_edges"], err_msg=f"{name}: edges")
        lifted = np.asarray(want["distilled"]) > 0
        for field in ("quality", "automation", "logit_weight"):
            np.testing.assert_allclose(getattr(labs, field)[b][lifted], np.asarray(want[field])[lifted], rtol=RTOL,
                                       err_msg=f"{name}: {field}")
            np.testing.assert_array_equal(getattr(labs, field)[b][~lifted], getattr(before[0], field)[b][~lifted])
        assert rec[b, L.M_ACTIVE_EDGES] == sum(want["active_edges"]) // 2
        assert rec[b, L.M_TALENT_FLOW] == pytest.approx(math.fsum(want["moved"]), rel=1e-10, abs=1e-12)
    # only the channels' fields moved
    for field in LabState._fields:
        if field not in ("log_software", "researchers", "log_eff_compute", "quality", "automation", "logit_weight"):
            np.testing.assert_array_equal(getattr(labs, field), getattr(before[0], field), err_msg=field)


def test_knowledge_gap_record_matches_naive():
    gen = rng(5)
    for n in (1, 2, 7, 300):
        x = gen.normal(0.0, 2.0, n)
        alive = gen.random(n) < 0.7
        alive[0] = True
        row = np.zeros(L.N_MARKET)
        record_knowledge_gap(x, alive, row)
        want = naive_knowledge_gap(x[alive].tolist())
        assert row[L.M_KNOWLEDGE_GAP_DISPERSION] == pytest.approx(want[0], rel=1e-12, abs=1e-15)
        assert row[L.M_MEAN_LOG_SOFTWARE_GAP] == pytest.approx(want[1], rel=1e-12, abs=1e-15)
    row = np.ones(L.N_MARKET)
    record_knowledge_gap(np.zeros(3), np.zeros(3, bool), row)
    assert row[L.M_KNOWLEDGE_GAP_DISPERSION] == 0.0 and row[L.M_MEAN_LOG_SOFTWARE_GAP] == 0.0


# ---------------------------------------------------------------------------------------------- segments


SEGMENT_CASES = [
    # n labs, blocs, kappa
    (12, 3, 0.3), (12, 3, 0.0), (40, 5, 0.9), (5, 2, 1.0), (1, 1, 0.0), (9, 3, 0.0),
]


@pytest.mark.parametrize(("n", "blocs", "kappa"), SEGMENT_CASES)
def test_segment_normalisers_match_naive(n, blocs, kappa):
    gen = rng(n * 31 + blocs)
    weights = gen.normal(0.0, 5.0, n)
    alive = gen.random(n) < 0.8
    alive[0] = True
    bloc = gen.integers(0, blocs, n).astype(np.int16)
    demand = np.zeros(64)
    demand[:blocs] = gen.dirichlet(np.ones(blocs))
    if n == 9:
        demand[2] = 0.0  # a segment with labs but no demand of its own
        demand[:2] /= demand[:2].sum()
    w0 = float(gen.normal(-3.0, 1.0))
    m = max(w0, float(weights[alive].max()))
    out = np.zeros(64)
    log_sum = segment_log_norms(weights, alive, bloc, demand, kappa, w0, m, np.zeros(64), out)
    targets, want_log = naive_segment_targets(weights.tolist(), alive.tolist(), bloc.tolist(), demand.tolist(),
                                              kappa, w0)
    got = np.where(alive, np.exp(weights - m - out[bloc]), 0.0)
    np.testing.assert_allclose(got, targets, rtol=1e-12, atol=1e-300)
    assert log_sum + m == pytest.approx(want_log, rel=1e-12)
    # targets and the outside option sum to at most 1
    assert got.sum() <= 1.0 + 1e-12


def test_full_cross_segment_intensity_is_the_global_market():
    gen = rng(2)
    weights = gen.normal(0.0, 3.0, 20)
    alive = np.ones(20, bool)
    bloc = gen.integers(0, 4, 20).astype(np.int16)
    demand = np.zeros(64)
    demand[:4] = 0.25
    m = float(weights.max())
    out = np.zeros(64)
    segment_log_norms(weights, alive, bloc, demand, 1.0, -2.0, m, np.zeros(64), out)
    z = math.exp(-2.0 - m) + np.exp(weights - m).sum()
    np.testing.assert_allclose(out[:4], math.log(z), rtol=1e-14)


def test_separate_markets_at_zero_intensity_through_the_engine():
    """kappa = 0: each bloc's labs share only that bloc's demand; shares stay a sub-distribution."""
    sc = baseline_with(network={"cross_segment_intensity": 0.0}, sim={"years": 8.0})  # > 5 switching times
    sim = Simulation(sc, [4]).run()
    net = sim.net
    assert net.n_segments[0] == 3
    np.testing.assert_allclose(net.segment_demand[0, :3], [10 / 12, 1 / 12, 1 / 12])
    share = sim.labs.share[0]
    assert share.sum() <= 1.0 + 1e-12
    home = sim.labs.bloc[0] == 0
    # the two state programmes are alone in their segments (1/12 of demand each): they hold nearly all of it
    for i in (8, 9):
        assert sim.labs.bloc[0, i] > 0
        assert 0.9 / 12 < share[i] <= 1 / 12 + 1e-12
    assert share[home].sum() <= 10 / 12 + 1e-3  # (shares still approach their targets with inertia)
    glob = Simulation(baseline_with(sim={"years": 8.0}), [4]).run()
    assert glob.labs.share[0, home].sum() > 10 / 12 + 0.05
    assert glob.labs.share[0, 8] < 0.9 / 12


# ---------------------------------------------------------------------------------------------- determinism


def test_same_seed_same_graph_for_every_generator():
    bloc = np.repeat(np.arange(3), 20).astype(np.int16)
    for kind in ("complete", *RANDOM_KINDS):
        for blocs in ((0, 4) if kind == "stochastic_block" else (0,)):
            net = Network(kind=kind, mean_degree=6.0, blocs=blocs, within_bloc_density=0.3)

            def build(seed, net=net):
                return generate_graph(net, 60, bloc, generators(root_sequence(seed))["network"])

            a, b, c = build(9), build(9), build(10)
            assert sorted(a.edges()) == sorted(b.edges()), kind
            assert a.number_of_nodes() == 60
            if kind != "complete":
                assert sorted(a.edges()) != sorted(c.edges()), kind
    # Simulation draws the graph from each run's own network stream, whatever the batch
    sc = generated(50, network={"kind": "barabasi_albert", "mean_degree": 4.0})
    batch = Simulation(sc, [5, 6])
    alone = Simulation(sc, [6])
    assert sorted(batch.graphs[1].edges()) == sorted(alone.graphs[0].edges())
    assert sorted(batch.graphs[0].edges()) != sorted(batch.graphs[1].edges())
    np.testing.assert_array_equal(batch.net.indices[batch.net.indptr[1, 0]:], alone.net.indices)


def _network_batch() -> Simulation:
    sc = generated(400, network={"kind": "erdos_renyi", "mean_degree": 8.0, "cross_segment_intensity": 0.4,
                                 "cut_cross_bloc_year": 2025.5, "distill_fraction": 0.05},
                   sim={"years": 1.0})
    sim = Simulation(sc, [21, 22], record_labs=False)
    gen = rng(8)
    sim.labs.bloc[:] = gen.integers(0, 3, sim.labs.bloc.shape)
    sim.net = network_state(sim.graphs, sim.labs)
    return sim.run()


def test_serial_and_parallel_runs_are_bitwise_equal():
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = _network_batch()
    finally:
        numba.set_num_threads(threads)
    parallel = _network_batch()
    assert numba.config.NUMBA_NUM_THREADS >= 1
    for name in LabState._fields:
        if name != "scratch":
            np.testing.assert_array_equal(getattr(serial.labs, name), getattr(parallel.labs, name), err_msg=name)
    np.testing.assert_array_equal(serial.market, parallel.market)
    assert serial.market[1:, :, L.M_TALENT_FLOW].sum() > 0.0


_SUBPROCESS = """
import hashlib, numpy as np, sys
sys.path[:0] = [{here!r}, {tests!r}]
from test_network import _network_batch
sim = _network_batch()
h = hashlib.sha256()
for a in (*sim.labs, sim.market):
    h.update(np.ascontiguousarray(a).tobytes())
print(h.hexdigest())
"""


@pytest.mark.slow
def test_numba_num_threads_1_build_matches_parallel_build():
    """NUMBA_NUM_THREADS=1 (a serial build) against the default thread count, in fresh processes."""
    code = _SUBPROCESS.format(here=str(Path(__file__).resolve().parent), tests=str(ROOT / "tests"))
    digests = []
    for threads in ("1", str(max(2, os.cpu_count() or 2))):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                             cwd=ROOT)
        digests.append(out.stdout.strip().splitlines()[-1])
    assert digests[0] == digests[1]


# ---------------------------------------------------------------------------------------------- invariants


def test_people_conserved_under_talent_mobility():
    sc = generated(300, network={"kind": "barabasi_albert", "mean_degree": 6.0, "talent_mobility": 50.0,
                                 "talent_pay_weight": 1.0, "publication_rate_per_year": 0.0,
                                 "distill_fraction": 0.0})
    sim = Simulation(sc, [1, 2], record_labs=False)
    gen = rng(3)
    for _ in range(20):
        _random_state(sim, gen, dead=0.2)
        before = sim.labs.researchers.copy()
        rec = apply_stage(sim)
        after = sim.labs.researchers
        assert (after >= 0.0).all()
        assert rec[:, L.M_TALENT_FLOW].min() > 0.0
        np.testing.assert_allclose(after.sum(axis=1), before.sum(axis=1), rtol=1e-13)
        np.testing.assert_array_equal(after[~sim.labs.alive], before[~sim.labs.alive])
        # people move toward the more attractive end of every edge
        gained = after - before
        z = sim.net.node[:, :, L.NODE_ATTRACT]
        for b in range(2):
            top = int(np.argmax(np.where(sim.labs.alive[b], z[b], -np.inf)))
            assert gained[b, top] >= 0.0


def test_people_ledger_holds_over_a_run_with_mobility():
    """Researchers in labs plus the pool change only by documented growth (the stage itself moves people)."""
    sc = baseline_with(network={"kind": "complete", "talent_mobility": 5.0}, sim={"years": 4.0})
    sim = Simulation(sc, [2], record_labs=False).run()
    rec = sim.market[:, 0]
    people = rec[:, L.M_TOTAL_RESEARCHERS] + rec[:, L.M_TALENT_POOL]
    np.testing.assert_allclose(np.diff(people), rec[1:, L.M_PEOPLE_GROWTH], rtol=1e-9, atol=1e-6)
    assert rec[1:, L.M_TALENT_FLOW].sum() > 0.0


def test_export_control_cut_removes_all_cross_bloc_flow():
    """From the cut year, stage 5 gives exactly what the graph without cross-bloc edges gives; before, not."""
    section = {"kind": "complete", "cut_cross_bloc_year": 2026.0, "distill_fraction": 0.05}
    sc = generated(30, network=section)
    sims = []
    for drop_cross in (False, True):
        sim = Simulation(sc, [8], record_labs=False)
        _random_state(sim, rng(17), dead=0.0, blocs=3)
        if drop_cross:
            bloc = sim.labs.bloc[0]
            graph = sim.graphs[0]
            graph.remove_edges_from([(u, v) for u, v in list(graph.edges()) if bloc[u] != bloc[v]])
        sim.net = network_state(sim.graphs, sim.labs)
        sims.append(sim)
    full, within = sims
    within.net.strength[:] = full.net.strength  # the same normalisation: a cut removes flow, adds none
    assert within.net.indices.shape[0] < full.net.indices.shape[0]
    for year_step, expect_equal in ((11, False), (13, True), (30, True)):
        results = []
        for sim in (full, within):
            sim.world.step[:] = year_step  # 2025 + step / 12
            work = copy_state(sim)
            labs, world = sim.labs, sim.world
            rec = np.zeros((1, L.N_MARKET))
            entries.spillover_stage(labs, world, sim.par, sim.net, rec)
            results.append((LabState(*(a.copy() for a in labs)), rec))
            for dst, src in zip(labs, work[0], strict=True):  # restore for the next year
                dst[...] = src
        (a, rec_a), (b, rec_b) = results
        same = all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("log_software", "researchers",
                                                                          "log_eff_compute"))
        assert same == expect_equal, year_step
        assert (rec_a[0, L.M_ACTIVE_EDGES] == rec_b[0, L.M_ACTIVE_EDGES]) == expect_equal


def test_cut_year_through_the_engine():
    sc = baseline_with(network={"kind": "complete", "cut_cross_bloc_year": 2027.01}, sim={"years": 4.0})
    sim = Simulation(sc, [3], record_labs=False).run()
    frame = sim.market_frame(0)
    bloc = sim.labs.bloc[0]
    within = sum(1 for u, v in sim.graphs[0].edges() if bloc[u] == bloc[v])
    before = frame[(frame.year > 2025.0) & (frame.year < 2027.1)]  # steps starting before the cut year
    after = frame[frame.year > 2027.1]
    assert len(before) == 25 and len(after) == 23
    assert (before.active_edges == 66).all()
    assert (after.active_edges == within).all() and within == 45
    ends = lab_graph(sim, 0)
    assert sum(1 for *_, act in ends.edges(data="active") if act) == within


def test_channels_off_is_bitwise_the_stage_skipped():
    """kind = none skips stage 5; a complete graph with every channel off leaves every number as it was."""
    off = {"publication_rate_per_year": 0.0, "talent_mobility": 0.0, "distill_fraction": 0.0}
    # stage 1 also reads the network (rivals for racing, neighbours to imitate): neutralised here
    stage1 = {"safety": {"racing_sensitivity": 0.0}, "adaptation": {"imitation_rate_per_year": 0.0}}
    runs = {}
    for kind in ("none", "complete", "erdos_renyi"):
        sc = baseline_with(network={"kind": kind, **off}, sim={"years": 3.0}, **stage1)
        runs[kind] = Simulation(sc, [1, 2], record_labs=False).run()
    none = runs["none"]
    assert none.net.indices.shape[0] == 0
    for kind in ("complete", "erdos_renyi"):
        sim = runs[kind]
        assert sim.market[-1, :, L.M_ACTIVE_EDGES].min() > 0
        for name in LabState._fields:
            np.testing.assert_array_equal(getattr(sim.labs, name), getattr(none.labs, name), err_msg=name)
        for name in WorldState._fields:
            np.testing.assert_array_equal(getattr(sim.world, name), getattr(none.world, name), err_msg=name)
        np.testing.assert_array_equal(sim.market[:, :, :L.M_ACTIVE_EDGES], none.market[:, :, :L.M_ACTIVE_EDGES])


# ---------------------------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize("kind", ["complete", "barabasi_albert"])
def test_raising_openness_shrinks_the_leaders_gap(kind):
    """Directional: all else fixed (common seeds), more openness gives a smaller leader's capability gap
    (leader over runner-up, in OOMs of effective compute, averaged over the last two years) in every seed."""
    seeds = [1, 2, 3, 4, 5, 6]
    gaps, mean_gaps = [], []
    for openness in (0.05, 0.5, 0.9):
        archetypes = {arch: {"openness": openness} for arch in
                      ("frontier", "open_weights", "fast_follower", "safety_focused", "state_programme", "startup")}
        # the spillover channel alone: no routine changes (imitation would copy openness), entry, deals or exits
        sc = baseline_with(network={"kind": kind, "distill_fraction": 0.0}, archetypes=archetypes,
                           sim={"years": 10.0},
                           adaptation={"imitation_rate_per_year": 0.0, "search_rate_per_year": 0.0},
                           entry={"rate_per_year": 0.0}, acquisitions={"rate_per_year": 0.0},
                           money={"exit_relative_share": 0.0})
        sim = Simulation(sc, seeds, record_labs=False).run()
        gaps.append(sim.market[-24:, :, L.M_LEADER_GAP_OOMS].mean(axis=0))
        mean_gaps.append(sim.market[-1, :, L.M_MEAN_LOG_SOFTWARE_GAP])
    for less, more in ((0, 1), (1, 2)):
        assert (gaps[more] < gaps[less]).all(), gaps
        assert (mean_gaps[more] < mean_gaps[less]).all(), mean_gaps


# ---------------------------------------------------------------------------------------------- kinds and files


@pytest.mark.parametrize("kind", [k for k in GRAPH_KINDS if k != "none"])
def test_each_kind_runs_through_simulation(kind, tmp_path):
    """What `--set network.kind=<kind>` gives: the baseline with that graph, a few steps, sane numbers."""
    section: dict = {"kind": kind}
    if kind == "file":
        path = tmp_path / "ring.csv"
        path.write_text("source,target,weight\n" + "".join(f"{i},{(i + 1) % 12},2.0\n" for i in range(12)))
        section["file"] = str(path)
    sc = baseline_with(network=section, sim={"years": 1.0})
    sim = Simulation(sc, [1, 2], record_labs=False).run()
    graph = sim.graphs[0]
    assert graph.number_of_nodes() == 12
    net = sim.net
    for b in range(2):
        indptr = net.indptr[b, :13]  # the twelve starting labs (entrants' columns have no edges)
        assert (net.indptr[b, 13:] == indptr[-1]).all()
        rows = np.repeat(np.arange(12), np.diff(indptr))
        cols = net.indices[indptr[0]:indptr[-1]]
        pairs = set(zip(rows.tolist(), cols.tolist(), strict=True))
        assert pairs == {(j, i) for i, j in pairs}  # symmetric
        assert len(pairs) == 2 * sim.graphs[b].number_of_edges()
    market = sim.market
    assert np.isfinite(market[1:, :, L.M_HHI]).all()
    edges = np.array([g.number_of_edges() for g in sim.graphs])
    assert (market[1, :, L.M_ACTIVE_EDGES] == edges).all() and edges.min() > 0
    assert (market[1:, :, L.M_ACTIVE_EDGES] <= edges).all()
    assert np.isfinite(sim.labs.log_software).all()
    assert market[1:, :, L.M_SPILLOVER_LOG_SOFTWARE].min() >= 0.0


def test_csr_matches_the_adjacency():
    """to_csr against the plain definition: row i = sorted neighbours with their weights; self-loops dropped."""
    gen = rng(12)
    graph = nx.gnm_random_graph(40, 120, seed=3)
    graph.add_nodes_from(range(40, 45))  # isolated labs
    for u, v in graph.edges():
        graph[u][v]["weight"] = float(gen.uniform(0.0, 2.0))
    graph.add_edge(7, 7, weight=5.0)
    indptr, indices, weight = to_csr(graph, 48)  # three more lab slots than nodes (capacity)
    assert indptr.shape == (49,) and indices.dtype == np.int32
    for i in range(48):
        row = slice(indptr[i], indptr[i + 1])
        want = sorted(j for j in graph.adj[i] if j != i) if i in graph else []
        assert indices[row].tolist() == want
        assert weight[row].tolist() == [graph[i][j]["weight"] for j in want]
    with pytest.raises(ValueError, match="integers"):
        to_csr(nx.path_graph(["a", "b"]), 2)
    with pytest.raises(ValueError, match="undirected"):
        to_csr(nx.DiGraph([(0, 1)]), 2)


GNP_CASES = [(2, 0.5, 0), (3, 0.99, 4), (10, 0.3, 1), (100, 0.05, 7), (1_000, 0.01, 2**63 - 2), (300, 0.9, 3),
             (5_000, 0.002, 12345), (50, 1e-9, 5), (400, 1e-4, 2**40 + 3)]


@pytest.mark.parametrize(("n", "p", "seed"), GNP_CASES)
def test_compiled_gnp_sampler_is_networkx_graph_edge_for_edge(n, p, seed):
    """The compiled Erdos-Renyi sampler against its plain-Python twin, networkx's fast_gnp_random_graph (the same
    geometric-skip walk over random.Random(seed)), through to_csr: every array equal, whatever the chunking."""
    want = to_csr(nx.fast_gnp_random_graph(n, p, seed=seed), n)
    for chunk in (1 << 20, 7, 1):
        got = gnp_csr(n, p, seed, chunk=chunk)
        for name, a, b in zip(CSRGraph._fields, want, got, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=f"{name}, chunk {chunk}")
            assert a.dtype == b.dtype, name


def test_gnp_sampler_grows_its_edge_buffer_and_refuses_bad_p():
    want = to_csr(nx.fast_gnp_random_graph(100, 0.5, seed=2), 100)
    got = gnp_csr(100, 0.5, 2, chunk=20_000)  # a chunk larger than the first edge buffer
    np.testing.assert_array_equal(want[1], got.indices)
    for p in (0.0, 1.0, 1e-17):
        with pytest.raises(ValueError, match="0 < p < 1"):
            gnp_csr(10, p, 0)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 12, 40])
def test_complete_csr_is_the_networkx_complete_graph(n):
    """The complete graph's CSR, built without networkx, is to_csr of networkx's complete graph array for array,
    and converts back to exactly that graph (no edge attributes, so GraphML files do not change)."""
    built = complete_csr(n)
    want = to_csr(nx.complete_graph(n), n)
    for name, a, b in zip(CSRGraph._fields, want, built, strict=True):
        np.testing.assert_array_equal(b, a, err_msg=name)
        assert b.dtype == a.dtype, name
    back = as_networkx(built)
    assert nx.utils.graphs_equal(back, nx.complete_graph(n))
    assert all(not d for _, _, d in back.edges(data=True))
    assert generate_network(Network(kind="complete"), n, np.zeros(n, np.int16), rng(0)).indptr.shape == (n + 1,)


def test_erdos_renyi_comes_as_csr_and_converts_to_the_networkx_graph():
    bloc = np.zeros(80, np.int16)
    net = Network(kind="erdos_renyi", mean_degree=5.0)
    sampled = generate_network(net, 80, bloc, generators(root_sequence(3))["network"])
    assert isinstance(sampled, CSRGraph) and sampled.number_of_nodes() == 80
    graph = as_networkx(sampled)
    assert graph.number_of_edges() == sampled.number_of_edges() > 0
    assert all(d["weight"] == 1.0 for _, _, d in graph.edges(data=True))
    rebuilt = to_csr(graph, 80)
    for a, b in zip(sampled, rebuilt, strict=True):
        np.testing.assert_array_equal(a, b)
    # the limits networkx treats apart: p = 1 is the complete graph, p = 0 no edges
    full = generate_network(Network(kind="erdos_renyi", mean_degree=79.0), 80, bloc, rng(1))
    assert isinstance(full, CompleteCSR) and full.number_of_edges() == 80 * 79 // 2
    empty = generate_network(Network(kind="erdos_renyi", mean_degree=0.0), 80, bloc, rng(1))
    assert empty.number_of_edges() == 0
    # a one-run Simulation keeps the sampled arrays as its CSR (no copy); graphs gives networkx on demand
    sim = Simulation(generated(60, network={"kind": "erdos_renyi", "mean_degree": 4.0}), [2], record_labs=False)
    indices = sim.net.indices
    assert isinstance(sim.graphs[0], nx.Graph)
    assert sim.graphs[0].number_of_edges() == indices.shape[0] // 2
    sim.drop_graphs()
    assert sim.graphs == [] and sim.net.indices is indices


def test_graphml_round_trip_through_the_file_loader(tmp_path):
    sc = baseline_with(network={"kind": "watts_strogatz", "mean_degree": 4.0, "rewire_probability": 0.5})
    sim = Simulation(sc, [7], record_labs=False)
    start = lab_graph(sim, 0)
    start.nodes[3]["openness"] = 0.77  # lab attributes in the file override the scenario's
    start.nodes[4]["bloc"] = 5
    for u, v in start.edges():
        start[u][v]["weight"] = 1.0 + (u + 2 * v) / 10
    path = tmp_path / "network_start.graphml"
    write_graphml(start, path)
    loaded = Simulation(baseline_with(network={"kind": "file", "file": str(path)}), [99], record_labs=False)
    indptr, indices, weight = to_csr(start, 12)
    np.testing.assert_array_equal(loaded.net.indptr[0, :13], indptr)
    np.testing.assert_array_equal(loaded.net.indices, indices)
    np.testing.assert_array_equal(loaded.net.weight, weight)
    assert loaded.labs.openness[0, 3] == 0.77
    assert loaded.labs.bloc[0, 4] == 5
    np.testing.assert_array_equal(loaded.labs.log_software, sim.labs.log_software)
    np.testing.assert_array_equal(loaded.labs.researchers, sim.labs.researchers)
    back = lab_graph(loaded, 0)
    assert nx.utils.graphs_equal(nx.Graph(back.edges()), nx.Graph(start.edges()))
    assert all(back.nodes[i]["name"] == start.nodes[i]["name"] for i in range(12))


def test_edge_list_by_lab_name_and_bad_files(tmp_path):
    names = ["Lab A", "Lab B", "Lab C"]
    ok = tmp_path / "names.txt"
    ok.write_text("# a comment\nLab_A Lab_B 2.5\n")
    with pytest.raises(ValueError, match="neither a lab id"):
        load_graph_file(ok, names)
    ok.write_text("# by id\n0 1 2.5   # trailing comment\n2,1\n1 0 4.0\n")
    graph = load_graph_file(ok, names)
    assert graph[0][1]["weight"] == 4.0 and graph[1][2]["weight"] == 1.0
    named = nx.Graph()
    named.add_edge("Lab A", "Lab C", weight=3.0)
    path = tmp_path / "named.graphml"
    nx.write_graphml(named, path)
    assert sorted(load_graph_file(path, names).edges(data="weight")) == [(0, 2, 3.0)]
    bad = tmp_path / "bad.txt"
    for text, match in (("0 1 -1\n", "finite, >= 0"), ("0 1 x\n", "not a number"), ("0 7\n", "outside"),
                        ("0 1 2 3\n", "expected")):
        bad.write_text(text)
        with pytest.raises(ValueError, match=match):
            load_graph_file(bad, names)
    with pytest.raises(FileNotFoundError):
        load_graph_file(tmp_path / "missing.graphml", names)
    attrs = nx.Graph()
    attrs.add_node(0, openness=1.5)
    attrs.add_edge(0, 1)
    apath = tmp_path / "attrs.graphml"
    nx.write_graphml(attrs, apath)
    with pytest.raises(ValueError, match="openness"):
        build_lab_graph(Network(kind="file", file=str(apath)), names,
                        {name: np.zeros(3) for name in FILE_LAB_ATTRIBUTES}, rng(0))


def test_network_section_validation():
    with pytest.raises(ValueError, match=r"network\.file"):
        Network(kind="file")
    with pytest.raises(ValueError):
        Network(kind="lattice")
    with pytest.raises(ValueError):
        Network(cross_segment_intensity=1.5)
    schema = Scenario.model_json_schema()["$defs"]["Network"]["properties"]
    numeric = [name for name in schema if name not in ("kind", "file", "normalise_weights")]
    assert len(numeric) == 12
    for name in numeric:
        assert {"unit", "provenance", "range"} <= set(schema[name]), name


def test_network_figure(tmp_path):
    from runs.views import network_figure

    sc = generated(60, network={"kind": "stochastic_block", "blocs": 3, "within_bloc_density": 0.3,
                                "cross_bloc_density": 0.02}, sim={"years": 1.0})
    sim = Simulation(sc, [4]).run()
    fig = network_figure(lab_graph(sim, 0), sim.market_frame(0), max_nodes=40)
    assert len(fig.axes) >= 5  # graph, colour bar, degrees, gap, flows (and its twin axis)
    assert "the 40 largest of 60 labs alive" in fig.axes[0].get_title(loc="left")  # by share (issue 20)
    path = tmp_path / "network.png"
    fig.savefig(path)
    assert path.stat().st_size > 10_000
