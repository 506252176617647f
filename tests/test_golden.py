"""The golden test: four commands give, bit for bit, the results stored in tests/golden/ (issue 15).

It guards restructurings that must not move a number.  A change meant to move results regenerates the
fixture with ``tests/golden/make_golden.py`` and says why in its commit.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"


def _maker():
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def computed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    return _maker().compute(tmp_path_factory.mktemp("golden"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.parquet")))
def test_results_equal_the_golden_fixture_bit_for_bit(computed: dict[str, pd.DataFrame], name: str) -> None:
    stored = pd.read_parquet(GOLDEN / f"{name}.parquet")
    fresh = computed[name]
    if list(stored.columns) == ["key", "value"]:  # JSON documents: compare them parsed, every float exact
        assert dict(zip(stored.key, map(json.loads, stored.value), strict=True)) == \
            dict(zip(fresh.key, map(json.loads, fresh.value), strict=True))
    else:
        pd.testing.assert_frame_equal(fresh.reset_index(drop=True), stored, check_exact=True)


def test_the_fixture_covers_the_four_cases() -> None:
    names = {p.stem for p in GOLDEN.glob("*.parquet")}
    assert {"baseline_market", "racing_market", "ensemble_runs", "compare_runs"} <= names
