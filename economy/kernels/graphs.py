"""Random-graph samplers compiled for large populations (economy.network uses them)."""

import math

from economy.kernels.config import jit

__all__ = ["csr_from_edges", "gnp_skip"]


@jit
def gnp_skip(uniforms, log_q, n, state, out_v, out_w):
    """Batagelj and Brandes' geometric skipping for G(n, p), exactly as networkx's ``fast_gnp_random_graph``.

    ``log_q`` = ln(1 - p); ``state`` = [v, w] carries the walk between chunks of ``uniforms`` (the generator's
    doubles in order).  Writes the edges found into ``out_v`` (> ``out_w``); returns (edges written, uniforms used).
    Stops when the walk passes the last node (``state[0] >= n``) or the chunk is used up.
    """
    v = state[0]
    w = state[1]
    found = 0
    used = 0
    while v < n and used < uniforms.shape[0]:
        lr = math.log(1.0 - uniforms[used])
        used += 1
        w = w + 1 + int(lr / log_q)
        while w >= v and v < n:
            w = w - v
            v = v + 1
        if v < n:
            out_v[found] = v
            out_w[found] = w
            found += 1
    state[0] = v
    state[1] = w
    return found, used


@jit
def csr_from_edges(n, edge_v, edge_w, indptr, indices):
    """Fill the CSR of the undirected edges (edge_v[k] > edge_w[k]) listed in the order the walk found them.

    That order (v increasing, then w increasing) puts each row's neighbours in increasing order without a
    sort: row i first receives its smaller neighbours (when v = i), then its larger ones (as v grows past i).
    ``indptr`` (n + 1,) is filled here; ``indices`` has room for 2 x edges.
    """
    indptr[:] = 0
    for k in range(edge_v.shape[0]):
        indptr[edge_v[k] + 1] += 1
        indptr[edge_w[k] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    cursor = indptr[:n].copy()
    for k in range(edge_v.shape[0]):
        v = edge_v[k]
        w = edge_w[k]
        indices[cursor[v]] = w
        cursor[v] += 1
        indices[cursor[w]] = v
        cursor[w] += 1
