"""Resource bounds (issue 21 item 4, economy/resources.py): a scenario whose memory estimate exceeds what is
available is refused before anything is allocated, naming the estimate and the memory."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from economy.params import ScenarioError, load_scenario
from economy.resources import available_memory, check_memory, expected_edges, format_bytes, memory_estimate, parse_size

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "runs" / "baseline.toml"


def test_the_complete_graph_at_1e5_labs_is_refused_before_any_allocation() -> None:
    scenario, _ = load_scenario(BASELINE, ("labs.n=100000", "network.kind=complete"))
    assert expected_edges(scenario) == 100_000 * 99_999 // 2
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ScenarioError) as info:
            check_memory(scenario, limit=64 << 30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5 and peak < 64 << 20  # no state, no graph built
    text = str(info.value)
    assert "labs.n = 100000" in text and "'complete'" in text and "4,999,950,000 edges" in text
    assert "TiB" in text and "--max-memory allows 64.0 GiB" in text


def test_without_a_limit_the_available_memory_is_the_bound() -> None:
    scenario, _ = load_scenario(BASELINE, ("labs.n=100000", "network.kind=complete"))
    available = available_memory()
    assert available is not None and available > 0
    with pytest.raises(ScenarioError, match=f"this machine has {format_bytes(available)[:-5]}"):
        check_memory(scenario)


def test_the_baseline_fits_and_a_batch_grows_the_estimate() -> None:
    scenario, _ = load_scenario(BASELINE)
    one = memory_estimate(scenario, 1)
    assert check_memory(scenario) == one
    assert memory_estimate(scenario, 10).total_bytes > 9 * one.total_bytes
    with pytest.raises(ScenarioError, match="4 batches at once"):
        check_memory(scenario, limit=3 * one.total_bytes, batches=4)


@pytest.mark.parametrize(("text", "size"), [("64G", 64 << 30), ("512M", 512 << 20), ("1.5T", 3 << 39),
                                            ("2GiB", 2 << 30), ("1000000", 1_000_000), ("8k", 8192)])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "", "-1G", "0", "nanG", "1e400"])
def test_parse_size_refuses_what_is_not_a_size(text: str) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(text)
