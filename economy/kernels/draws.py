"""A step's random numbers, drawn in compiled code from each run's own PCG64 streams (economy.streams).

A batch that draws in compiled code copies the state of each run's numpy Generators (PCG64, one per named stream)
into a ``uint64`` array, ``states[run, stream] = (state high, state low, increment high, increment low)``, and
advances them here with numpy's own algorithms: PCG64's 128-bit step and XSL-RR output, ``random()`` as the
top 53 bits over 2^53, ``standard_normal()`` by numpy's 256-step ziggurat (its tables, as numba ships them).  So a
draw here is the draw numpy would make from the same Generator, bit for bit, and the engine writes the states back
into the Generators when Python reads them (economy.engine.Simulation.streams); tests/economy/test_draws.py checks
both against the Python loop, the kernel's twin.  Each run draws only from its own streams, in a fixed order, so
a run's numbers do not depend on the batch it is in.

Passing plain arrays instead of the Generators themselves (numba typed lists of them, before 2026-12-07) spares a
batch the lists' construction (about 25 us a Generator, six a run) and its compiled loop numba's reference
counting (docs/performance.md).
"""

import numba
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic
from numba.np.random._constants import fi_double, ki_double, wi_double, ziggurat_nor_inv_r, ziggurat_nor_r

from economy.kernels.config import jit, jit_parallel, kernel, kernel_inline

__all__ = ["DRAW_ORDER", "N_STATE", "S_BEHAVIOUR", "S_COMPLIANCE", "S_ENTRY", "S_INCIDENTS", "S_MARKET", "S_SHOCKS",
           "draw_step", "draw_step_threads", "pcg64_step"]

S_SHOCKS, S_MARKET, S_BEHAVIOUR, S_ENTRY, S_INCIDENTS, S_COMPLIANCE = range(6)
"""Columns of ``states[run]``: the drawn streams in economy.engine.DRAWN_STREAMS' order."""
N_STATE = 4
"""A stream's state words: the 128-bit state's high and low 64 bits, then the increment's."""

MULTIPLIER_HIGH = np.uint64(0x2360ED051FC65DA4)
MULTIPLIER_LOW = np.uint64(0x4385DF649FCCF645)
"""PCG64's 128-bit multiplier (O'Neill 2014; numpy's ``PCG_DEFAULT_MULTIPLIER_128``)."""
TWO_TO_MINUS_53 = 1.0 / 9007199254740992.0
WI, KI, FI = wi_double, ki_double, fi_double
"""numpy's ziggurat tables for the standard normal (widths, integer thresholds, densities)."""
SIGNIFICAND = np.uint64(0x000FFFFFFFFFFFFF)
BYTE = np.uint64(0xFF)
ONE = np.uint64(1)


@intrinsic
def _high_product(typingctx, a, b):
    """The high 64 bits of the 128-bit product of two ``uint64`` (one ``mul`` on x86-64)."""
    if not (a == types.uint64 and b == types.uint64):
        return None

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        return builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))

    return types.uint64(types.uint64, types.uint64), codegen


def _high_product_python(a, b):
    """What :func:`_high_product` is with ``NUMBA_DISABLE_JIT=1``."""
    return np.uint64((int(a) * int(b)) >> 64)


high_product = _high_product_python if numba.config.DISABLE_JIT else _high_product


@kernel_inline
def pcg64_step(high, low, inc_high, inc_low):
    """One PCG64 step: state <- state x multiplier + increment (mod 2^128); returns the new state's two words and
    its 64-bit output (XSL-RR: the two words' xor rotated right by the state's top six bits)."""
    new_low = low * MULTIPLIER_LOW
    new_high = high_product(low, MULTIPLIER_LOW) + low * MULTIPLIER_HIGH + high * MULTIPLIER_LOW
    low = new_low + inc_low
    high = new_high + inc_high + (ONE if low < new_low else np.uint64(0))
    value = high ^ low
    rotation = high >> np.uint64(58)
    return high, low, (value >> rotation) | (value << ((np.uint64(64) - rotation) & np.uint64(63)))


@kernel_inline
def _double(output):
    """numpy's ``random()`` from a 64-bit output: its top 53 bits over 2^53."""
    return np.float64(output >> np.uint64(11)) * TWO_TO_MINUS_53


@kernel_inline
def _normal(high, low, inc_high, inc_low):
    """numpy's ``standard_normal()`` (the ziggurat of ``random_standard_normal``); returns the state and the draw."""
    while True:
        high, low, r = pcg64_step(high, low, inc_high, inc_low)
        idx = r & BYTE
        r >>= np.uint64(8)
        rabs = (r >> ONE) & SIGNIFICAND
        x = np.float64(rabs) * WI[idx]
        if r & ONE:
            x = -x
        if rabs < KI[idx]:
            return high, low, x
        if idx == 0:  # the tail beyond the last step
            while True:
                high, low, r1 = pcg64_step(high, low, inc_high, inc_low)
                xx = -ziggurat_nor_inv_r * np.log1p(-_double(r1))
                high, low, r2 = pcg64_step(high, low, inc_high, inc_low)
                yy = -np.log1p(-_double(r2))
                if yy + yy > xx * xx:
                    return high, low, (-(ziggurat_nor_r + xx) if (rabs >> np.uint64(8)) & ONE
                                       else ziggurat_nor_r + xx)
        else:
            high, low, r1 = pcg64_step(high, low, inc_high, inc_low)
            if (FI[idx - ONE] - FI[idx]) * _double(r1) + FI[idx] < np.exp(-0.5 * x * x):
                return high, low, x


@kernel_inline
def _uniforms(states, b, s, out):
    """Fill ``out`` (1-D; a C-ordered 2-D array is passed flattened, the order numpy fills ``out=`` in) with stream
    ``s`` of run ``b``; the state stays in registers while it draws."""
    high, low, inc_high, inc_low = states[b, s, 0], states[b, s, 1], states[b, s, 2], states[b, s, 3]
    for i in range(out.shape[0]):
        high, low, r = pcg64_step(high, low, inc_high, inc_low)
        out[i] = _double(r)
    states[b, s, 0], states[b, s, 1] = high, low


@kernel_inline
def _normals(states, b, s, out):
    high, low, inc_high, inc_low = states[b, s, 0], states[b, s, 1], states[b, s, 2], states[b, s, 3]
    for i in range(out.shape[0]):
        high, low, out[i] = _normal(high, low, inc_high, inc_low)
    states[b, s, 0], states[b, s, 1] = high, low


DRAW_ORDER = (S_BEHAVIOUR, S_MARKET, S_COMPLIANCE, S_SHOCKS, S_ENTRY, S_INCIDENTS)
"""The streams in the order :func:`draw_step_threads`' threads take them: numba hands each of two threads three
consecutive items, so the behaviour stream (five numbers a lab, in a run with adaptation on) shares its thread with
the two that usually draw little, and the shocks, entry and incident streams (one number a lab each) take the
other."""


@kernel
def _draw_stream(states, s, behaviour, entry, acquire, incident, compliance, urn_draws, shocks, urn, draws):
    """Every run's draws of stream ``s`` this step, run after run, in the order the Python loop draws them
    (behaviour's imitate, search, search steps; entry's entry, entry sizes, then acquisitions), in the runs whose
    mechanism is on.  Compiled once and called per stream (written into :func:`draw_step_threads`' parallel loop
    it took 10.6 s to compile)."""
    for b in range(shocks.shape[0]):
        if s == S_SHOCKS:
            _normals(states, b, S_SHOCKS, shocks[b])
        elif s == S_MARKET:
            if urn_draws[b] > 0:
                _uniforms(states, b, S_MARKET, urn[b, :urn_draws[b]])
        elif s == S_BEHAVIOUR:
            if behaviour[b]:
                _uniforms(states, b, S_BEHAVIOUR, draws.imitate[b])
                _uniforms(states, b, S_BEHAVIOUR, draws.search[b])
                _normals(states, b, S_BEHAVIOUR, draws.search_step[b].reshape(-1))
        elif s == S_ENTRY:
            if entry[b]:
                _uniforms(states, b, S_ENTRY, draws.entry[b])
                _normals(states, b, S_ENTRY, draws.entry_size[b])
            if acquire[b]:
                _uniforms(states, b, S_ENTRY, draws.acquire[b])
        elif s == S_INCIDENTS:
            if incident[b]:
                _uniforms(states, b, S_INCIDENTS, draws.incident[b])
        elif compliance[b]:
            _uniforms(states, b, S_COMPLIANCE, draws.compliance[b].reshape(-1))


@jit
def draw_step(states, behaviour, entry, acquire, incident, compliance, urn_draws, shocks, urn, draws):
    """Fill one step's draws of every run ``b``, stream by stream, each only while its mechanism is on in the run
    (a batch's draws, on one thread).

    ``states`` (runs, 6, :data:`N_STATE`) are the runs' PCG64 states (columns :data:`S_SHOCKS` ..
    :data:`S_COMPLIANCE`), advanced in place; ``behaviour`` .. ``compliance`` the per-run switches (bool arrays);
    ``urn_draws[b]`` the urn uniforms run ``b`` draws; ``shocks`` (runs, capacity) and ``urn`` (runs, max urn
    draws) and the :class:`economy.state.StepDraws` arrays are written.  The order is the order the Python loop
    draws in: shocks; urn; behaviour's imitate, search, search steps; entry's entry, entry sizes, then
    acquisitions (also the entry stream); incidents; compliance.  Written out rather than through
    :func:`_draw_stream`: a loop over the streams through a shared helper made a baseline ensemble 7-9% slower.
    """
    for b in range(shocks.shape[0]):
        _normals(states, b, S_SHOCKS, shocks[b])
        if urn_draws[b] > 0:
            _uniforms(states, b, S_MARKET, urn[b, :urn_draws[b]])
        if behaviour[b]:
            _uniforms(states, b, S_BEHAVIOUR, draws.imitate[b])
            _uniforms(states, b, S_BEHAVIOUR, draws.search[b])
            _normals(states, b, S_BEHAVIOUR, draws.search_step[b].reshape(-1))
        if entry[b]:
            _uniforms(states, b, S_ENTRY, draws.entry[b])
            _normals(states, b, S_ENTRY, draws.entry_size[b])
        if acquire[b]:
            _uniforms(states, b, S_ENTRY, draws.acquire[b])
        if incident[b]:
            _uniforms(states, b, S_INCIDENTS, draws.incident[b])
        if compliance[b]:
            _uniforms(states, b, S_COMPLIANCE, draws.compliance[b].reshape(-1))


@jit_parallel
def draw_step_threads(states, behaviour, entry, acquire, incident, compliance, urn_draws, shocks, urn, draws):
    """:func:`draw_step` with the streams on numba's threads, each whole on one (:data:`DRAW_ORDER`), run after run
    within a stream: the same numbers whatever the thread count, since the streams are independent (a large step,
    economy.engine.DRAWS_COMPILED_FROM)."""
    for t in prange(len(DRAW_ORDER)):
        _draw_stream(states, DRAW_ORDER[t], behaviour, entry, acquire, incident, compliance, urn_draws, shocks, urn,
                     draws)
