"""The knowledge-spillover and competition network: graphs from networkx, a file loader, the batch's CSR arrays.

A run's graph is built once, at the start, seeded from the run's ``network`` stream, and converted once to CSR
arrays (:class:`economy.state.NetworkState`) for the compiled stage 5 (:mod:`economy.kernels.spillover`).
networkx builds every kind but one: an Erdos-Renyi graph is sampled straight into CSR arrays by a compiled
kernel (:func:`gnp_csr`) that makes exactly the graph networkx's ``fast_gnp_random_graph`` makes from the same
seed, at a fraction of the time and memory (docs/performance.md).  The user-facing networkx object,
``Simulation.graphs[run]``, is then built from the CSR arrays when first asked for.  Node ``i`` is lab ``i``
(``lab_id``); graphs are undirected, edge attribute ``weight`` (1 if absent).  See docs/network.md for each
kind and channel.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from economy.archetypes import KIND_NAMES
from economy.kernels import layout as L
from economy.kernels.graphs import csr_from_edges, gnp_skip
from economy.params import Network
from economy.state import N_BLOC_SLOTS, LabState, NetworkState, allocate_network

if TYPE_CHECKING:  # networkx is imported where it is used: building a complete or Erdos-Renyi network (an ensemble
    import networkx as nx  # chunk's usual case) needs none of it, and it takes ~0.08 s to import

__all__ = [
    "FILE_LAB_ATTRIBUTES",
    "GRAPH_KINDS",
    "MAX_EDGE_WEIGHT",
    "CSRGraph",
    "CompleteCSR",
    "as_networkx",
    "build_lab_graph",
    "complete_csr",
    "empty_csr",
    "file_lab_attributes",
    "generate_graph",
    "generate_network",
    "gnp_csr",
    "lab_graph",
    "load_graph_file",
    "network_state",
    "to_csr",
    "write_graphml",
]

GRAPH_KINDS: tuple[str, ...] = (
    "none", "complete", "erdos_renyi", "barabasi_albert", "watts_strogatz", "stochastic_block", "file",
)

MAX_EDGE_WEIGHT = 1e12
"""The largest edge weight a network file may carry: larger ones overflow a lab's total edge weight (the
normalisation of docs/network.md), which would silently zero its spillovers."""

FILE_LAB_ATTRIBUTES: dict[str, tuple[float, float]] = {
    "bloc": (0, N_BLOC_SLOTS - 1),
    "openness": (0.0, 1.0),
    "log_software": (-50.0, 50.0),
    "researchers": (0.0, math.inf),
    "cash_usd": (0.0, math.inf),
    "compute_flop_per_year": (0.0, math.inf),
}
"""Node attributes a network file may carry, with their valid ranges; present ones override the scenario's."""

_LIVE_FLOATS = ("cash_usd", "compute_flop_per_year", "log_software", "log_eff_compute", "researchers", "share",
                "openness", "quality", "automation", "safety", "drift", "revenue_usd_per_year")


# ------------------------------------------------------------------------------------------------ building
def build_lab_graph(
    network: Network,
    names: Sequence[str],
    cols: Mapping[str, np.ndarray],
    rng: np.random.Generator,
) -> tuple[nx.Graph | CSRGraph, dict[str, np.ndarray]]:
    """The starting graph of one run and its lab columns (a ``file`` may override some, see ``FILE_LAB_ATTRIBUTES``).

    ``rng`` is the run's ``network`` stream; every random graph is drawn from it.  Returns a graph (networkx, or
    a :class:`CSRGraph` for Erdos-Renyi and complete graphs: :func:`generate_network`) on nodes
    ``0 .. len(names) - 1`` and a copy of ``cols`` with the file's lab attributes applied.
    """
    n = len(names)
    cols = {k: np.array(v, copy=True) for k, v in cols.items()}
    if network.kind == "file":
        if network.file is None:
            raise ValueError("network.kind = 'file' needs network.file")
        graph = load_graph_file(network.file, names)
        for name, values in file_lab_attributes(graph, n).items():
            present = ~np.isnan(values)
            cols[name][present] = values[present].astype(cols[name].dtype)
        return graph, cols
    return generate_network(network, n, np.asarray(cols["bloc"]), rng), cols


class CSRGraph(NamedTuple):
    """An undirected graph on nodes ``0 .. n-1`` as CSR arrays (the layout of :func:`to_csr`): row i lists i's
    neighbours in increasing order, each undirected edge in both rows with the same weight."""

    indptr: np.ndarray  # (n + 1,) int64
    indices: np.ndarray  # (2m,) int32
    weight: np.ndarray  # (2m,) float64

    def number_of_nodes(self) -> int:
        return self.indptr.shape[0] - 1

    def number_of_edges(self) -> int:
        return self.indices.shape[0] // 2


class CompleteCSR(CSRGraph):
    """The complete graph on ``n`` nodes as CSR arrays (:func:`complete_csr`), which converts back to
    ``networkx.complete_graph(n)``, without edge attributes, exactly the graph it replaces."""

    __slots__ = ()


def empty_csr(n: int) -> CSRGraph:
    """``n`` nodes and no edges, as CSR arrays (converts back to ``networkx.empty_graph(n)``)."""
    return CSRGraph(np.zeros(n + 1, np.int64), np.zeros(0, np.int32), np.zeros(0))


def complete_csr(n: int) -> CompleteCSR:
    """The complete graph on nodes ``0 .. n-1`` in :func:`to_csr`'s layout (unit weights), built without networkx:
    the same arrays as ``to_csr(networkx.complete_graph(n), n)`` (tested), 38 us against 290 us for the baseline's
    12 labs (measured), which a baseline ensemble pays once per run."""
    indptr = np.arange(n + 1, dtype=np.int64) * (n - 1)  # [0] for n = 0, [0, 0] for n = 1
    indices = np.tile(np.arange(n, dtype=np.int32), (n, 1))[~np.eye(n, dtype=bool)]  # row i without i
    return CompleteCSR(indptr, indices, np.ones(indices.shape[0]))


def as_networkx(graph: nx.Graph | CSRGraph) -> nx.Graph:
    """The networkx graph of a :class:`CSRGraph` (nodes 0..n-1, edge attribute ``weight``); a networkx graph
    is returned as it is."""
    import networkx as nx
    if isinstance(graph, nx.Graph):
        return graph
    n = graph.number_of_nodes()
    if isinstance(graph, CompleteCSR):
        return nx.complete_graph(n)
    rows = np.repeat(np.arange(n), np.diff(graph.indptr))
    cols = graph.indices.astype(np.int64)
    upper = cols > rows
    out = nx.empty_graph(n)
    out.add_edges_from((int(u), int(v), {"weight": float(w)})
                       for u, v, w in zip(rows[upper], cols[upper], graph.weight[upper], strict=True))
    return out


def gnp_csr(n: int, p: float, seed: int, *, chunk: int = 1 << 20) -> CSRGraph:
    """The Erdos-Renyi graph G(n, p) that ``networkx.fast_gnp_random_graph(n, p, seed=seed)`` draws, as CSR.

    Same graph, edge for edge: networkx walks the node pairs with geometric skips (Batagelj and Brandes 2005)
    drawing doubles from ``random.Random(seed)``; here numpy's legacy ``RandomState`` is set to that Mersenne
    Twister state (it draws the same doubles, in bulk) and the compiled walk :func:`economy.kernels.graphs.gnp_skip`
    takes the same steps.  For 0 < p < 1 with ln(1 - p) < 0 (the caller handles the rest).  No networkx object
    is built: at a million labs of mean degree 10 this takes about a second and the CSR arrays' 120 bytes per
    lab, where networkx needs tens of seconds and about 2 KB per lab (docs/performance.md).  ``chunk``: doubles
    drawn at a time (the graph does not depend on it).
    """
    if not (0.0 < p < 1.0 and math.log(1.0 - p) < 0.0):
        raise ValueError(f"gnp_csr needs 0 < p < 1 with ln(1 - p) < 0, got p = {p!r}")
    python_state = random.Random(seed).getstate()[1]
    mt = np.random.RandomState()
    mt.set_state(("MT19937", np.array(python_state[:624], dtype=np.uint32), python_state[624]))
    log_q = math.log(1.0 - p)
    expected = p * n * (n - 1) / 2.0
    size = int(expected + 6.0 * math.sqrt(expected) + 1024)  # room for the edges (grown if ever exceeded)
    edge_v = np.empty(size, np.int32)
    edge_w = np.empty(size, np.int32)
    walk = np.array([1, -1], np.int64)  # networkx's (v, w) at the start
    found = 0
    while walk[0] < n:
        if size - found < chunk:  # each double gives at most one edge
            while size - found < chunk:
                size = 2 * size
            edge_v = np.concatenate([edge_v[:found], np.empty(size - found, np.int32)])
            edge_w = np.concatenate([edge_w[:found], np.empty(size - found, np.int32)])
        written, _ = gnp_skip(mt.random_sample(chunk), log_q, n, walk, edge_v[found:], edge_w[found:])
        found += written
    indptr = np.empty(n + 1, np.int64)
    indices = np.empty(2 * found, np.int32)
    csr_from_edges(n, edge_v[:found], edge_w[:found], indptr, indices)
    return CSRGraph(indptr, indices, np.ones(2 * found))


def generate_graph(network: Network, n: int, bloc: np.ndarray, rng: np.random.Generator) -> nx.Graph:
    """:func:`generate_network` as a networkx graph."""
    return as_networkx(generate_network(network, n, bloc, rng))


def generate_network(network: Network, n: int, bloc: np.ndarray, rng: np.random.Generator) -> nx.Graph | CSRGraph:
    """A random (or complete) graph of the scenario's kind on ``n`` labs, seeded from ``rng``.

    ``mean_degree`` k sets each family's size parameter: Erdos-Renyi p = k / (n - 1); Barabasi-Albert
    m = max(1, round(k / 2)) edges per new node; Watts-Strogatz ring degree round(k) (networkx uses its even
    part) rewired with ``rewire_probability``.  The stochastic block model uses ``within_bloc_density`` and
    ``cross_bloc_density`` and, as communities, the labs' ``bloc`` (``blocs = 0``) or ``blocs`` communities
    drawn uniformly at random.  networkx gets an integer seed drawn from ``rng`` (one draw per graph).
    Erdos-Renyi graphs come as a :class:`CSRGraph` from :func:`gnp_csr` (networkx's graph for that seed), complete
    graphs (and Erdos-Renyi with p = 1) as a :class:`CompleteCSR` from :func:`complete_csr`, graphs without edges
    from :func:`empty_csr`, the other kinds as networkx graphs (networkx is imported only for those: about 0.06 s
    of a warm `multipolar run`, whose baseline network is complete).
    """
    kind = network.kind
    if kind == "stochastic_block" and network.blocs > 0:
        community = rng.integers(0, network.blocs, n)
    else:
        community = np.asarray(bloc, dtype=np.int64)
    seed = int(rng.integers(0, 2**63 - 1))
    k = network.mean_degree
    if kind == "none" or n < 2:
        return empty_csr(n)
    elif kind == "complete":
        return complete_csr(n)
    elif kind == "erdos_renyi":
        p = min(1.0, k / (n - 1))
        # networkx divides by ln(1 - p): a valid p so small that 1 - p rounds to 1 means no edges
        no_edges = 0.0 < p < 1.0 and math.log(1.0 - p) == 0.0
        if no_edges or p <= 0.0:
            return empty_csr(n)
        elif p < 1.0:
            return gnp_csr(n, p, seed)
        else:
            return complete_csr(n)  # what networkx's fast_gnp_random_graph gives for p = 1
    elif kind == "barabasi_albert":
        import networkx as nx
        graph = nx.barabasi_albert_graph(n, min(n - 1, max(1, round(k / 2))), seed=seed)
    elif kind == "watts_strogatz":
        import networkx as nx
        graph = nx.watts_strogatz_graph(n, min(n - 1, round(k)), network.rewire_probability, seed=seed)
    elif kind == "stochastic_block":
        graph = _stochastic_block(community, network.within_bloc_density, network.cross_bloc_density, seed)
    else:
        raise ValueError(f"network.kind = {kind!r} is not generated (file graphs come from load_graph_file)")
    return graph


def _stochastic_block(community: np.ndarray, p_in: float, p_out: float, seed: int) -> nx.Graph:
    import networkx as nx
    labels = np.unique(community)
    order = np.argsort(community, kind="stable")
    sizes = [int((community == c).sum()) for c in labels]
    # networkx's sparse sampler divides by ln(1 - p): a p so small that 1 - p rounds to 1 is taken as 0
    p_in, p_out = (p if 1.0 - p < 1.0 else 0.0 for p in (p_in, p_out))
    probs = [[p_in if a == c else p_out for c in range(len(labels))] for a in range(len(labels))]
    graph = nx.stochastic_block_model(sizes, probs, nodelist=[int(i) for i in order], seed=seed)
    out = nx.Graph()
    out.add_nodes_from(range(community.shape[0]))
    out.add_edges_from(graph.edges())
    return out


# ------------------------------------------------------------------------------------------------ files
def load_graph_file(path: str | Path, names: Sequence[str]) -> nx.Graph:
    """Read a GraphML file (``.graphml``, ``.xml``) or a weighted edge list (anything else) onto lab rows.

    Edge list: one edge per line, ``u v [weight]`` separated by whitespace or commas, ``#`` comments, an
    optional ``source target [weight]`` header.  Nodes are matched to labs by a ``lab_id`` attribute (GraphML),
    else by integer id ``0 .. n-1``, else by lab name (node id or ``name`` attribute).  The graph is read as
    undirected: a pair listed twice (or linked both ways in a directed file) keeps the larger weight.  Every
    weight must be a finite number in ``[0, MAX_EDGE_WEIGHT]``, each checked where it is written; self-loops
    are dropped.  GraphML is parsed by expat (Python's ``xml.etree``), which reads no external entity and stops
    entity expansion bombs.  Returns a graph on nodes ``0 .. n-1`` keeping the file's node attributes.

    Raises ValueError naming ``network.file``, the file and the line, node or edge and attribute at fault
    (FileNotFoundError for a missing file).
    """
    import networkx as nx
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"network.file: {path} does not exist")
    raw = _read_graphml(path) if path.suffix.lower() in (".graphml", ".xml") else _read_edge_list(path)
    n = len(names)
    mapping = _node_rows(raw, names, path)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for node, data in raw.nodes(data=True):
        graph.nodes[mapping[node]].update(data)
    for u, v, data in raw.edges(data=True):
        w = _edge_weight(data.get("weight", 1.0), f"network.file {path}: edge ({u}, {v}) has weight")
        a, b = mapping[u], mapping[v]
        if a == b:
            continue
        if graph.has_edge(a, b):
            w = max(w, graph[a][b]["weight"])
        graph.add_edge(a, b, weight=w)
    return graph


def _edge_weight(value: Any, where: str) -> float:
    """``value`` as an edge weight, or ValueError starting with ``where``."""
    try:
        w = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} {value!r}, which is not a number") from None
    if not (math.isfinite(w) and 0.0 <= w <= MAX_EDGE_WEIGHT):
        raise ValueError(f"{where} {value!r}; weights must be finite, >= 0 and <= {MAX_EDGE_WEIGHT:g}")
    return w


def _read_graphml(path: Path) -> nx.Graph:
    import networkx as nx
    try:
        return nx.read_graphml(path)
    except (ET.ParseError, nx.NetworkXError, KeyError, TypeError, ValueError, IndexError) as err:
        detail = _graphml_bad_value(path) if isinstance(err, ValueError) else None
        text = " ".join(str(err).split()) or type(err).__name__
        raise ValueError(f"network.file {path}: not a readable GraphML file: {detail or text}") from None


def _graphml_bad_value(path: Path) -> str | None:
    """The first node or edge attribute of a GraphML file whose text does not fit its declared type."""
    kinds = {"int": int, "long": int, "float": float, "double": float}
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return None
    keys = {}
    for key in root.iter():
        if key.tag.rsplit("}", 1)[-1] == "key" and key.get("attr.type") in kinds:
            keys[key.get("id")] = (key.get("attr.name") or key.get("id"), kinds[key.get("attr.type", "")])
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag not in ("node", "edge"):
            continue
        what = f"node {element.get('id')!r}" if tag == "node" else f"edge ({element.get('source')!r}, " \
                                                                   f"{element.get('target')!r})"
        for data in element:
            if data.tag.rsplit("}", 1)[-1] != "data" or data.get("key") not in keys:
                continue
            name, kind = keys[data.get("key")]
            try:
                kind(data.text)
            except (TypeError, ValueError):
                return f"{what} has {name} = {data.text!r}, which is not {'an integer' if kind is int else 'a number'}"
    return None


def _read_edge_list(path: Path) -> nx.Graph:
    import networkx as nx
    graph = nx.Graph()
    first = True
    try:
        text_lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"network.file {path}: not a UTF-8 text edge list ({err.reason} at byte {err.start})"
                         ) from None
    for lineno, line in enumerate(text_lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        tokens = [t for t in re.split(r"[,\s]+", text) if t]
        if first and [t.lower() for t in tokens[:2]] == ["source", "target"]:
            first = False
            continue
        first = False
        if len(tokens) not in (2, 3):
            raise ValueError(f"network.file {path}, line {lineno}: expected 'u v [weight]', got {text!r}")
        where = f"network.file {path}, line {lineno}: edge ({tokens[0]}, {tokens[1]}) has weight"
        w = _edge_weight(tokens[2], where) if len(tokens) == 3 else 1.0
        if graph.has_edge(tokens[0], tokens[1]):
            w = max(w, graph[tokens[0]][tokens[1]]["weight"])
        graph.add_edge(tokens[0], tokens[1], weight=w)
    return graph


def _node_rows(raw: nx.Graph, names: Sequence[str], path: Path) -> dict[Any, int]:
    n = len(names)
    nodes = list(raw.nodes)
    if nodes and all("lab_id" in raw.nodes[v] for v in nodes):
        rows = {}
        for v in nodes:
            row = _as_int(raw.nodes[v]["lab_id"])
            if row is None:
                raise ValueError(f"network.file {path}: node {v!r} has lab_id = {raw.nodes[v]['lab_id']!r}, which is "
                                 f"not a lab row 0..{n - 1}")
            rows[v] = row
        how = "lab_id attribute"
    elif all(_as_int(v) is not None for v in nodes):
        rows = {v: _as_int(v) for v in nodes}
        how = "integer node id"
    else:
        index = {name: i for i, name in enumerate(names)}
        rows = {}
        for v in nodes:
            key = raw.nodes[v].get("name", v)
            if key not in index:
                raise ValueError(f"network.file {path}: node {v!r} is neither a lab id 0..{n - 1} nor a lab name")
            rows[v] = index[key]
        how = "lab name"
    bad = sorted({r for r in rows.values() if not 0 <= r < n})
    if bad:
        raise ValueError(f"network.file {path}: lab rows {bad[:5]} (by {how}) are outside 0..{n - 1}")
    if len(set(rows.values())) != len(rows):
        raise ValueError(f"network.file {path}: two nodes map to the same lab (by {how})")
    if len(rows) > n:
        raise ValueError(f"network.file {path}: {len(rows)} nodes for {n} labs")
    return rows


def _as_int(v: Any) -> int | None:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"[0-9]+", v):
        return int(v)
    return None


def file_lab_attributes(graph: nx.Graph, n: int) -> dict[str, np.ndarray]:
    """Lab attributes carried by a loaded graph's nodes: one array per ``FILE_LAB_ATTRIBUTES`` name, NaN where
    a node does not carry it.  Values outside the attribute's range raise an error naming node and value."""
    out: dict[str, np.ndarray] = {}
    for name, (lo, hi) in FILE_LAB_ATTRIBUTES.items():
        values = np.full(n, np.nan)
        for node, data in graph.nodes(data=True):
            if name not in data:
                continue
            try:
                x = float(data[name])
            except (TypeError, ValueError):
                x = math.nan
            if not (math.isfinite(x) and lo <= x <= hi) or (name == "bloc" and x != int(x)):
                raise ValueError(f"network.file: node {node} has {name} = {data[name]!r}, allowed [{lo:g}, {hi:g}]")
            values[node] = x
        if not np.isnan(values).all():
            out[name] = values
    return out


# ------------------------------------------------------------------------------------------------ CSR
def to_csr(graph: nx.Graph, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of an undirected graph on nodes ``0 .. n-1``: ``indptr`` (n+1,), ``indices`` (2m,), ``weight`` (2m,).

    Row i lists i's neighbours in increasing order with the edge weight (1 if absent); each undirected edge
    appears in both rows with the same weight; self-loops are dropped.  Reads the adjacency dictionaries
    once (``Graph.adjacency``), about 0.2 s per million edges.
    """
    if graph.is_directed():
        raise ValueError("the spillover network is undirected; convert a directed graph first (load_graph_file does)")
    pairs = list(graph.adjacency())
    if len(pairs) > n or any(not (isinstance(u, (int, np.integer)) and 0 <= u < n) for u, _ in pairs):
        raise ValueError(f"graph nodes must be the integers 0..{n - 1}")
    nodes = np.fromiter((u for u, _ in pairs), dtype=np.int64, count=len(pairs))
    degree = np.fromiter((len(nbrs) for _, nbrs in pairs), dtype=np.int64, count=len(pairs))
    total = int(degree.sum())
    cols = np.fromiter(itertools.chain.from_iterable(nbrs for _, nbrs in pairs), dtype=np.int64, count=total)
    weight = np.fromiter((d.get("weight", 1.0) for _, nbrs in pairs for d in nbrs.values()), dtype=np.float64,
                         count=total)
    rows = np.repeat(nodes, degree)
    keep = rows != cols
    rows, cols, weight = rows[keep], cols[keep], weight[keep]
    order = np.argsort(rows * n + cols, kind="stable")
    rows, cols, weight = rows[order], cols[order], weight[order]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, cols.astype(np.int32), np.ascontiguousarray(weight)


def network_state(graphs: Sequence[nx.Graph | CSRGraph], labs: LabState) -> NetworkState:
    """The batch's CSR arrays, row strengths and market-segment demand weights, from one graph per run
    (networkx graphs or :class:`CSRGraph`).

    Run b's rows are ``indptr[b, i] .. indptr[b, i+1]`` of the flat ``indices`` / ``weight`` (offsets are
    absolute, runs laid out one after the other); columns of ``labs`` beyond a graph's nodes (capacity for
    entrants) have no edges.  Segment demand: each bloc's share of the alive labs at the start.  A batch of one
    run uses a :class:`CSRGraph`'s arrays as they are (no copy).
    """
    n_runs, capacity = labs.alive.shape
    if len(graphs) != n_runs:
        raise ValueError(f"{len(graphs)} graphs for {n_runs} runs")
    parts = []
    for graph in graphs:
        n = graph.number_of_nodes()
        if n > capacity:
            raise ValueError(f"a graph has {n} nodes for {capacity} lab slots")
        parts.append(graph if isinstance(graph, CSRGraph) else CSRGraph(*to_csr(graph, n)))
    shared = n_runs == 1 and isinstance(graphs[0], CSRGraph)
    net = allocate_network(n_runs, capacity, 0 if shared else sum(p.indices.shape[0] for p in parts))
    if shared:
        net = net._replace(indices=parts[0].indices, weight=parts[0].weight)
    offset = 0
    for b, (indptr, indices, weight) in enumerate(parts):
        n = indptr.shape[0] - 1
        nnz = indices.shape[0]
        net.indptr[b, : n + 1] = indptr + offset
        net.indptr[b, n + 1:] = offset + nnz
        if not shared:
            net.indices[offset: offset + nnz] = indices
            net.weight[offset: offset + nnz] = weight
        rows = np.repeat(np.arange(n), np.diff(indptr))
        net.strength[b, :n] = np.bincount(rows, weights=weight, minlength=n)
        offset += nnz
        alive = labs.alive[b]
        counts = np.bincount(labs.bloc[b][alive].astype(np.int64), minlength=N_BLOC_SLOTS)
        if counts.shape[0] > N_BLOC_SLOTS:
            raise ValueError(f"bloc codes must be below {N_BLOC_SLOTS}")
        if alive.any():
            net.segment_demand[b] = counts / counts.sum()
        net.n_segments[b] = int((counts > 0).sum())
    return net


# ------------------------------------------------------------------------------------------------ views
def lab_graph(sim: Any, run: int = 0) -> nx.Graph:
    """Run ``run``'s network, as the kernels see it, with node attributes read from the live state.

    ``sim`` is an :class:`economy.engine.Simulation`; the graph is rebuilt from its CSR arrays, so it is exactly
    what stage 5 uses.  Nodes ``0 .. n-1`` (``n`` = the run's starting labs) carry ``lab_id``, ``name``, ``kind``
    (archetype name), ``bloc``, ``alive`` and the live stocks (``cash_usd``, ``log_software``, ``researchers``,
    ``share``, ...); edges carry ``weight`` and ``active`` (False while cut by
    ``network.cut_cross_bloc_year`` or export controls, or when an end is not alive).  Graph attributes:
    ``year`` (of the state) and ``run``.  This is the object the Mesa model, the figures and
    ``network_start.graphml`` / ``network_end.graphml`` use.
    """
    import networkx as nx
    labs, net = sim.labs, sim.net
    par = sim.par[run]
    year = float(par[L.P_SIM_START_YEAR] + sim.world.step[run] * par[L.P_SIM_DT])
    cut = float(par[L.P_CROSS_BLOC_CUT_YEAR])
    reopen = float(par[L.P_CROSS_BLOC_REOPEN_YEAR])
    n = len(sim.names[run])
    graph = nx.Graph(year=year, run=run)
    for i in range(n):
        attrs = {
            "lab_id": i,
            "name": str(sim.names[run][i]),
            "kind": KIND_NAMES[int(labs.kind[run, i])],
            "bloc": int(labs.bloc[run, i]),
            "alive": bool(labs.alive[run, i]),
        }
        for field in _LIVE_FLOATS:
            attrs[field] = float(getattr(labs, field)[run, i])
        graph.add_node(i, **attrs)
    indptr = net.indptr[run, : n + 1]
    rows = np.repeat(np.arange(n), np.diff(indptr))
    cols = net.indices[indptr[0]: indptr[-1]].astype(np.int64)
    weight = net.weight[indptr[0]: indptr[-1]]
    upper = cols > rows
    u, v, w = rows[upper], cols[upper], weight[upper]
    alive, bloc = labs.alive[run], labs.bloc[run]
    active = alive[u] & alive[v] & ((year < cut) | (year >= reopen) | (bloc[u] == bloc[v]))
    graph.add_edges_from(
        (int(a), int(b), {"weight": float(x), "active": bool(on)})
        for a, b, x, on in zip(u, v, w, active, strict=True)
    )
    return graph


def write_graphml(graph: nx.Graph, path: str | Path) -> None:
    """Write a graph (e.g. :func:`lab_graph`, as ``network_start.graphml`` / ``network_end.graphml``) to GraphML.

    Non-finite floats are written as ``inf`` / ``-inf`` / ``NaN``, which :func:`load_graph_file` reads back.
    """
    import networkx as nx
    nx.write_graphml(graph, str(path))
