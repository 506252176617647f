"""Named random streams: one root ``SeedSequence`` per run, split into fixed, named children.

The child for a name is the root's spawn child at that name's fixed index, built explicitly (not by
``root.spawn``, which depends on how often it was called), so a stream never changes when another is added
at the end of ``STREAM_NAMES``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREAM_NAMES", "child_sequence", "generators", "pcg64_words", "root_sequence", "set_pcg64_state"]

_WORD = (1 << 64) - 1

STREAM_NAMES: tuple[str, ...] = ("init", "shocks", "network", "behaviour", "entry", "mesa", "market", "incidents",
                                 "compliance")


def root_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def child_sequence(root: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    index = STREAM_NAMES.index(name)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, index), pool_size=root.pool_size)


def generators(root: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """One PCG64 generator per named stream."""
    return {name: np.random.Generator(np.random.PCG64(child_sequence(root, name))) for name in STREAM_NAMES}


def pcg64_words(generator: np.random.Generator) -> tuple[int, int, int, int]:
    """A PCG64 Generator's state as the four 64-bit words the compiled draws advance (economy.kernels.draws): the
    128-bit state's high and low words, then the increment's."""
    state = generator.bit_generator.state
    if state["bit_generator"] != "PCG64":
        raise TypeError(f"the compiled draws need PCG64 Generators, got {state['bit_generator']}")
    value, inc = state["state"]["state"], state["state"]["inc"]
    return value >> 64, value & _WORD, inc >> 64, inc & _WORD


def set_pcg64_state(generator: np.random.Generator, value: int) -> None:
    """Set a PCG64 Generator's 128-bit state to ``value``, keeping its increment and its buffered 32 bits."""
    state = generator.bit_generator.state
    state["state"]["state"] = value
    generator.bit_generator.state = state
