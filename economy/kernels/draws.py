"""A step's random numbers, drawn in compiled code from each run's own numpy Generators (economy.streams).

numba passes a ``numpy.random.Generator`` by reference to its bit generator's state, and implements ``random()``
and ``standard_normal()`` with numpy's own algorithms (the 256-step ziggurat for normals), so a draw here is the
draw numpy would make, and it advances the very Generator the Python side holds: the runs' results are the same
bit for bit as when ``Simulation.step`` drew them in Python, one run at a time (tests/economy/test_draws.py checks
this against that loop, its plain-Python twin).  Each run draws only from its own streams, in a fixed order, so
a run's numbers do not depend on the batch it is in.  What it saves is Python's call overhead: about 8 Generator
calls per run and step (docs/performance.md).
"""

from economy.kernels.config import jit, kernel

__all__ = ["draw_step"]


@kernel
def _uniforms(rng, out):
    for i in range(out.shape[0]):
        out[i] = rng.random()


@kernel
def _normals(rng, out):
    for i in range(out.shape[0]):
        out[i] = rng.standard_normal()


@kernel
def _uniforms_2d(rng, out):
    for i in range(out.shape[0]):  # row by row: the order numpy fills ``out=`` of a C-ordered array
        for j in range(out.shape[1]):
            out[i, j] = rng.random()


@kernel
def _normals_2d(rng, out):
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = rng.standard_normal()


@jit
def draw_step(shocks_rngs, market_rngs, behaviour_rngs, entry_rngs, incident_rngs, compliance_rngs, behaviour,
              entry, acquire, incident, compliance, urn_draws, shocks, urn, draws):
    """Fill one step's draws of every run ``b``, stream by stream, each only while its mechanism is on in the run.

    ``*_rngs`` are typed lists of the runs' Generators of that stream; ``behaviour`` .. ``compliance`` the per-run
    switches (bool arrays); ``urn_draws[b]`` the urn uniforms run ``b`` draws; ``shocks`` (runs, capacity) and
    ``urn`` (runs, max urn draws) and the :class:`economy.state.StepDraws` arrays are written.  The order is the
    order the Python loop drew in: shocks; urn; behaviour's imitate, search, search steps; entry's entry, entry
    sizes, then acquisitions (also the entry stream); incidents; compliance.
    """
    for b in range(shocks.shape[0]):
        _normals(shocks_rngs[b], shocks[b])
        if urn_draws[b] > 0:
            _uniforms(market_rngs[b], urn[b, :urn_draws[b]])
        if behaviour[b]:
            _uniforms(behaviour_rngs[b], draws.imitate[b])
            _uniforms(behaviour_rngs[b], draws.search[b])
            _normals_2d(behaviour_rngs[b], draws.search_step[b])
        if entry[b]:
            _uniforms(entry_rngs[b], draws.entry[b])
            _normals(entry_rngs[b], draws.entry_size[b])
        if acquire[b]:
            _uniforms(entry_rngs[b], draws.acquire[b])
        if incident[b]:
            _uniforms(incident_rngs[b], draws.incident[b])
        if compliance[b]:
            _uniforms_2d(compliance_rngs[b], draws.compliance[b])
