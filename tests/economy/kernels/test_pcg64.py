"""The compiled PCG64 and its draws (economy/kernels/draws.py) against numpy's own Generator, their twin: the same
64-bit outputs, uniforms and normals bit for bit over enough draws to reach every branch of the ziggurat (the tail
beyond its last step and the wedges), and the same state afterwards; the state words round-trip through
economy.streams."""

from __future__ import annotations

import numpy as np
import pytest

from economy.kernels.draws import N_STATE, S_MARKET, S_SHOCKS, draw_step
from economy.state import allocate_draws
from economy.streams import pcg64_words, set_pcg64_state

NORMALS = 200_000  # the ziggurat's tail (idx 0) is taken about once in 400 draws of its first step, ~500 times here


def _generator(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))


def _draw(states: np.ndarray, normals: int, uniforms: int) -> tuple[np.ndarray, np.ndarray]:
    """One ``draw_step`` of one run with only its shocks (normals) and urn uniforms drawn."""
    off = np.zeros(1, dtype=np.bool_)
    shocks, urn = np.zeros((1, normals)), np.zeros((1, max(1, uniforms)))
    draw_step(states, off, off, off, off, off, np.array([uniforms], dtype=np.int64), shocks, urn,
              allocate_draws(1, 1))
    return shocks[0], urn[0, :uniforms]


def _states(shocks: np.random.Generator, market: np.random.Generator) -> np.ndarray:
    states = np.zeros((1, 6, N_STATE), dtype=np.uint64)
    states[0, S_SHOCKS] = pcg64_words(shocks)
    states[0, S_MARKET] = pcg64_words(market)
    return states


@pytest.mark.parametrize("seed", [0, 1, 2**63 + 12345])
def test_the_compiled_draws_are_numpys_bit_for_bit(seed: int) -> None:
    twin_shocks, twin_market = _generator(seed), _generator(seed + 1)
    states = _states(_generator(seed), _generator(seed + 1))
    normals, uniforms = _draw(states, NORMALS, 50_000)
    np.testing.assert_array_equal(normals, twin_shocks.standard_normal(NORMALS))
    np.testing.assert_array_equal(uniforms, twin_market.random(50_000))
    # both streams end where numpy's do, and go on drawing the same numbers
    assert tuple(states[0, S_SHOCKS].tolist()) == pcg64_words(twin_shocks)
    assert tuple(states[0, S_MARKET].tolist()) == pcg64_words(twin_market)
    normals, uniforms = _draw(states, 7, 3)
    np.testing.assert_array_equal(normals, twin_shocks.standard_normal(7))
    np.testing.assert_array_equal(uniforms, twin_market.random(3))


def test_the_draws_reach_the_ziggurats_tail() -> None:
    """Normals beyond the ziggurat's last step (|x| > 3.654, numpy's ``ziggurat_nor_r``) come only from its tail
    branch: the comparison above covered it."""
    normals, _ = _draw(_states(_generator(0), _generator(1)), NORMALS, 0)
    assert np.sum(np.abs(normals) > 3.6541528853610088) > 5


def test_the_steps_compared_include_carries_from_the_low_word() -> None:
    """The 128-bit step's addition carries from the low word into the high one in about half the steps (counted
    here in Python integers), so the comparisons above cover the carry."""
    multiplier, word = 0x2360ED051FC65DA44385DF649FCCF645, 2**64
    high, low, inc_high, inc_low = pcg64_words(_generator(0))
    state, inc, carries = high << 64 | low, inc_high << 64 | inc_low, 0
    for _ in range(1000):
        product = state * multiplier % 2**128
        carries += (product % word) + inc_low >= word
        state = (product + inc) % 2**128
    assert 300 < carries < 700


def test_state_words_round_trip_and_keep_the_increment_and_buffer() -> None:
    generator = _generator(3)
    generator.integers(0, 2**31, dtype=np.uint32)  # leaves 32 buffered bits
    before = generator.bit_generator.state
    high, low, _, _ = pcg64_words(generator)
    set_pcg64_state(generator, high << 64 | low)
    assert generator.bit_generator.state == before
    with pytest.raises(TypeError, match="PCG64"):
        pcg64_words(np.random.Generator(np.random.MT19937(0)))
