"""Software prefetch for the neighbour gathers: ask the CPU for a lab's packed record some edges before the loop
reads it (docs/performance.md, "Neighbour gathers").

Stage 1 (racing, imitation) and stage 5 (talent leaving rates, catch-up, distillation) each walk a lab's CSR row
and read the packed record of every neighbour: ``peer[b, j, :]`` (economy.kernels.strategy) or
``node[b, j, :]`` (economy.kernels.spillover).  On a large random graph these reads land anywhere in memory and
nearly every one misses the cache; the loop then waits for memory once per edge.  Telling the CPU which record the
loop will read :data:`PREFETCH_EDGES` edges later lets those loads overlap: on this machine a synthetic racing
gather at 1e6 labs (degree 10, 32-byte records) went from 155 to 71-74 ns per lab.  A prefetch is only a hint (it
never faults, and changes no value), so every result stays bit for bit what it was.

:func:`prefetch_record` is a numba intrinsic: LLVM's ``llvm.prefetch`` of the record's first and last bytes (a
record need not sit in one cache line), written straight into the calling kernel.  (Through ``numba.extending.
overload``, which would also give plain Python a function to call, the same gather took 284 ns per lab instead of
74.)  With ``NUMBA_DISABLE_JIT=1`` it is a Python function that does nothing.  A gather asks for the record of edge
``e + PREFETCH_EDGES`` while ``e < limit``, the limit :func:`prefetch_limit` sets once (0, never, in small runs).
"""

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from economy.kernels.config import jit

__all__ = ["PREFETCH_EDGES", "PREFETCH_MIN_LABS", "prefetch_limit", "prefetch_record"]

PREFETCH_EDGES = 32
"""How many edges ahead of the one being read a gather asks for its neighbour's record (about three labs' rows at
degree 10).  Measured on the step at 1e6 labs with the degree-10 network, one thread: stages 1 and 5 took 271
and 316 ns per lab without prefetching; 227 and 249 with 4 edges ahead, 221 and 243 with 8, 223 and 216 with 16,
216 and 208 with 32."""

PREFETCH_MIN_LABS = 4096
"""Runs with fewer lab columns than this do not prefetch: their records (at most 256 KB a run) stay in the
core's cache, and the hint would be one more instruction an edge (the 12-lab baseline ensemble was 1.7% slower
with it).  A gather prefetches while ``e < limit``, :func:`prefetch_limit`."""


@intrinsic
def _prefetch(typingctx, records, b, j):
    """``llvm.prefetch`` (read, keep in every cache level) of ``records[b, j, 0]`` and ``records[b, j, -1]``."""
    if not (isinstance(records, types.Array) and records.ndim == 3 and isinstance(b, types.Integer)
            and isinstance(j, types.Integer)):
        return None
    signature = types.void(records, b, j)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        row = context.cast(builder, args[1], sig.args[1], types.intp)
        column = context.cast(builder, args[2], sig.args[2], types.intp)
        last = builder.sub(cgutils.unpack_tuple(builder, array.shape, 3)[2], context.get_constant(types.intp, 1))
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]), "llvm.prefetch.p0i8")
        for field in (context.get_constant(types.intp, 0), last):
            pointer = cgutils.get_item_pointer(context, builder, array_type, array, [row, column, field],
                                               wraparound=False)
            # read (0), keep in every cache level (3), data cache (1)
            builder.call(function, [builder.bitcast(pointer, byte_pointer), ir.Constant(i32, 0),
                                    ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return signature, codegen


def _no_prefetch(records, b, j):
    """What :func:`prefetch_record` is with ``NUMBA_DISABLE_JIT=1``: nothing."""
    return None


prefetch_record = _no_prefetch if numba.config.DISABLE_JIT else _prefetch
"""``prefetch_record(records, b, j)``: ask the CPU to bring ``records[b, j, :]`` into its caches; changes nothing."""


@jit
def prefetch_limit(n_labs, n_edges):
    """The edges ``e < limit`` of a batch's CSR (``n_edges`` in all) for which a gather over runs of ``n_labs`` lab
    columns prefetches the record of edge ``e + PREFETCH_EDGES``: none below :data:`PREFETCH_MIN_LABS`."""
    return n_edges - PREFETCH_EDGES if n_labs >= PREFETCH_MIN_LABS else 0
