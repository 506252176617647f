"""``multipolar compare --respond`` (runs/experiments/respond.py, runs/experiments/compare.py, runs/cli/compare.py,
runs/views/policy.py): nominal against effective effects, the leakage with its paired bootstrap, the compliance
totals, the tables, JSON, CSV and respond.png.  Every arm runs in this process on a short horizon."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from runs.cli import app
from runs.experiments import (
    COMPLIANCE_TOTALS,
    EFFECTIVE_SUFFIX,
    PAIRED_OUTCOMES,
    compare_tables,
    respond_effects,
    with_evasion,
)
from runs.views import respond_figure, respond_rows

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
RUNS = 5


@pytest.fixture(scope="module")
def responded(tmp_path_factory: pytest.TempPathFactory, strong_cap: Path) -> dict:
    folder = tmp_path_factory.mktemp("respond")
    policy = strong_cap
    out = folder / "out"
    result = CliRunner().invoke(app, ["compare", str(BASELINE), "--policy", str(policy), "--runs", str(RUNS),
                                      "--workers", "1", "--set", "sim.years=3", "--respond", "--out", str(out),
                                      "--json"], catch_exceptions=False)
    return {"result": result, "out": out, "policy": policy}


@pytest.mark.slow
def test_respond_runs_each_policy_nominal_and_effective(responded: dict) -> None:
    result, out = responded["result"], responded["out"]
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [a["name"] for a in payload["arms"]] == ["baseline", "strong_cap", "strong_cap" + EFFECTIVE_SUFFIX]
    respond = payload["respond"]["arms"]["strong_cap"]
    assert respond["effective_arm"] == "strong_cap-effective" and respond["pairs"] == RUNS
    assert set(respond["outcomes"]) == {o.key for o in PAIRED_OUTCOMES}
    assert set(respond["compliance"]) == set(COMPLIANCE_TOTALS)
    runs = pd.read_parquet(out / "runs.parquet")
    effective = runs[runs["arm"] == "strong_cap-effective"]
    assert (effective["evading_lab_years"] > 0).all()  # the cap binds from the start: labs evade it
    assert runs.loc[runs["arm"] == "strong_cap", "evading_lab_years"].isna().all()  # full compliance: no columns
    # the nominal and effective effects are the comparison's own, the leakage their ratio's complement
    cap = respond["outcomes"]["frontier_quality"]
    assert cap["nominal"]["difference"] == payload["comparisons"]["strong_cap"]["outcomes"]["frontier_quality"][
        "difference"]
    assert cap["leakage"] == pytest.approx(1 - cap["effective"]["difference"] / cap["nominal"]["difference"])
    assert cap["leakage_ci95"][0] <= cap["leakage"] <= cap["leakage_ci95"][1]
    assert "nominal (full compliance) against effective" in result.stderr and "leakage" in result.stderr
    assert (out / "respond.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_without_respond_nothing_of_it_is_reported(tmp_path: Path, responded: dict) -> None:
    result = CliRunner().invoke(app, ["compare", str(BASELINE), "--policy", str(responded["policy"]), "--runs", "2",
                                      "--workers", "1", "--set", "sim.years=1", "--out", str(tmp_path / "o"),
                                      "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert "respond" not in payload and not (tmp_path / "o" / "respond.png").exists()


@pytest.mark.slow
def test_respond_as_csv_holds_the_leakage_rows(tmp_path: Path, responded: dict) -> None:
    result = CliRunner().invoke(app, ["compare", str(BASELINE), "--policy", str(responded["policy"]), "--runs", "2",
                                      "--workers", "1", "--set", "sim.years=1", "--respond", "--out",
                                      str(tmp_path / "o"), "--csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "leakage [95 % CI]" in result.stdout and "detections per run (labs caught)" in result.stdout


# ---------------------------------------------------------------------------------------------- the statistics
def _table(values: dict[str, np.ndarray]) -> pd.DataFrame:
    n = len(next(iter(values.values())))
    return pd.DataFrame({"run": np.arange(n), "status": "ok", **values})


def test_leakage_is_the_share_of_the_nominal_effect_lost_with_a_seeded_bootstrap() -> None:
    gen = np.random.default_rng(0)
    base = gen.normal(1000.0, 50.0, 40)
    nominal = base - 300.0 + gen.normal(0.0, 5.0, 40)
    effective = base - 120.0 + gen.normal(0.0, 5.0, 40)
    tables = [_table({"final_hhi": x, "evading_lab_years": np.full(40, 2.0)}) for x in (base, nominal, effective)]
    effects = [compare_tables(tables[0], t) for t in tables[1:]]
    one = respond_effects(*tables, *effects, seed=4)
    hhi = one["outcomes"]["final_hhi"]
    want = 1.0 - (effective - base).mean() / (nominal - base).mean()
    assert hhi["leakage"] == pytest.approx(want, rel=1e-12)
    lo, hi = hhi["leakage_ci95"]
    assert lo < want < hi and hi - lo < 0.1
    assert respond_effects(*tables, *effects, seed=4) == one  # the same seed, the same interval
    assert one["compliance"]["evading_lab_years"]["mean"] == 2.0
    assert one["outcomes"]["tax_revenue"]["leakage"] is None  # no nominal effect: no leakage


def test_with_evasion_switches_only_the_evasion() -> None:
    from economy.params import load_scenario

    scenario = load_scenario(BASELINE)[0]
    on = with_evasion(scenario, True)
    assert on.enforcement.evasion and not scenario.enforcement.evasion
    assert on.model_dump(exclude={"enforcement"}) == scenario.model_dump(exclude={"enforcement"})
    assert on.enforcement.model_dump(exclude={"evasion"}) == scenario.enforcement.model_dump(exclude={"evasion"})


@pytest.mark.slow
def test_respond_rows_and_figure(responded: dict) -> None:
    payload = json.loads(responded["result"].stdout)
    rows = respond_rows(payload["respond"]["arms"]["strong_cap"])
    assert len(rows) == len(PAIRED_OUTCOMES) + len(COMPLIANCE_TOTALS)
    assert not any(re.match(r"-0(\.0*)?( |%|$)", text) for row in rows for text in (row.nominal, row.effective))
    assert any(row.leakage.endswith("]") for row in rows)
    fig = respond_figure(payload["respond"], title="t")
    assert len(fig.axes) == 6
