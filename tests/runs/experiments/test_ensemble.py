"""Monte Carlo ensembles (runs/experiments/ensemble.py and chunk.py, runs/cli/ensemble.py, runs/views/ensemble.py).

Fast tests run ensembles in this process (``workers=1``) on short horizons.  Tests that start Dask (a local
cluster, or a scheduler and two workers as subprocesses), kill processes or check statistics are marked slow;
every process they start is stopped in the fixture's teardown, with timeouts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import baseline_text_without_uncertain
from matplotlib.figure import Figure
from typer.testing import CliRunner

from economy.engine import Simulation
from economy.kernels.layout import MARKET_COLUMNS
from economy.market_record import COMPLIANCE_COLUMNS
from economy.params import load_scenario
from runs.cli import app
from runs.experiments import (
    Execution,
    ExperimentInputError,
    ExperimentResult,
    Setup,
    UncertainPlan,
    default_chunk,
    local_cluster,
    read_fan_series,
    read_market,
    run_ensemble,
    run_root,
    summarise_ensemble,
    wilson_interval,
)
from runs.experiments import chunk as chunk_module
from runs.views import FAN_LEVELS, FIGURES, ensemble_figure_set, step_quantiles

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
BIN = Path(sys.executable).parent
SHORT = ("sim.years=2",)
PROCESS_TIMEOUT = 300

UNCERTAIN_ROW = """
[uncertain]
"research.returns_to_research" = { dist = "loguniform", low = 0.4, high = 3.6 }
"market.winner_take_all" = { dist = "triangular", low = 5.0, mode = 10.0, high = 20.0 }
"capability.alpha" = { dist = "normal", mean = 0.05, sd = 0.01, low = 0.03, high = 0.07 }
"""
UNCERTAIN_INIT = """
[uncertain]
"research.software_doubling_months" = { dist = "lognormal", median = 8.0, sigma = 0.3, low = 5.0, high = 14.0 }
"labs.list.0.cash_usd" = { dist = "uniform", low = 5e9, high = 3e10 }
"archetypes.startup.openness" = { dist = "choice", values = [0.1, 0.9] }
"""


# ---------------------------------------------------------------------------------------------- helpers
def _scenario_file(tmp_path: Path, extra: str, name: str = "case.toml") -> Path:
    path = tmp_path / name
    path.write_text(baseline_text_without_uncertain() + extra)
    return path


def _ensemble(out: Path, *, runs: int = 12, seed: int = 3, path: Path = BASELINE,
              overrides: tuple[str, ...] = SHORT, workers: int = 1, chunk: int | None = None, resume: bool = False,
              **kw) -> ExperimentResult:
    setup = Setup.load(path, overrides, seed=seed, out_dir=out, figures=FIGURES,
                       execution=Execution(workers=workers, chunk=chunk, resume=resume))
    return run_ensemble(setup, runs=runs, **kw)


def _chunks(result: ExperimentResult) -> tuple[int, int]:
    """Chunks computed and reused."""
    return result.summary["throughput"]["chunks_computed"], result.summary["throughput"]["chunks_reused"]


def _runs(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "runs.parquet")


def _assert_same_results(a: Path, b: Path) -> None:
    """Bit-identical runs tables and market series."""
    pd.testing.assert_frame_equal(_runs(a), _runs(b), check_exact=True)
    pd.testing.assert_frame_equal(read_market(a), read_market(b), check_exact=True)


def _cli(*args: object, timeout: float = PROCESS_TIMEOUT, **popen) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "runs.cli", "ensemble", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, **popen)


def _invoke(*args: object):
    return CliRunner().invoke(app, ["ensemble", *map(str, args)], catch_exceptions=False)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The baseline without its [uncertain] table: every run has the file's point values, so a run can be compared
    with a serial simulation of the scenario (the draws have their own tests below)."""
    return _scenario_file(tmp_path_factory.mktemp("plain"), "", "baseline_plain.toml")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, plain: Path) -> ExperimentResult:
    """12 baseline runs (point values) over two years in chunks of 5 (the last chunk is short)."""
    return _ensemble(tmp_path_factory.mktemp("ens") / "small", runs=12, chunk=5, path=plain)


# ---------------------------------------------------------------------------------------------- outputs
def test_outputs_are_complete(small: ExperimentResult) -> None:
    out = small.out_dir
    runs = _runs(out)
    assert runs["run"].tolist() == list(range(12))
    assert (runs["seed"] == 3).all()
    assert [list(k) for k in runs["spawn_key"]] == [[i] for i in range(12)]
    assert (runs["status"] == "ok").all() and runs["error"].isna().all()
    assert [f"share_rank_{k}" for k in range(1, 11)] == [c for c in runs.columns if c.startswith("share_rank_")]
    ranks = runs[[f"share_rank_{k}" for k in range(1, 11)]].to_numpy()
    assert (np.diff(ranks, axis=1) <= 0.0).all()
    assert np.allclose(ranks[:, 0], runs["leader_share"], rtol=0, atol=1e-12)

    market = read_market(out)
    # full compliance (the baseline): the compliance stage's columns are not written (docs/policies.md)
    assert list(market.columns) == ["run", "step", *(c for c in MARKET_COLUMNS if c not in COMPLIANCE_COLUMNS)]
    assert len(market) == 12 * 25
    assert (market.groupby("run")["step"].apply(list) == [list(range(25))] * 12).all()
    assert sorted(p.name for p in (out / "market").iterdir()) == [f"market-0000{c}.parquet" for c in range(3)]
    assert not (out / "labs").exists()
    for name in ("summary.json", "manifest.json", "fan_hhi.png", "fan_quality.png", "leader_share.png",
                 "rank_shares.png"):
        assert (out / name).is_file(), name
    assert not list(out.rglob(".*.tmp-*")), "temporary files left behind"


def test_manifest_lists_every_output_with_its_hash(small: ExperimentResult) -> None:
    out = small.out_dir
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["root_seed"] == 3
    assert manifest["ensemble"]["status"] == "complete"
    assert manifest["ensemble"]["identity"]["runs"] == 12 and manifest["ensemble"]["chunk"] == 5
    assert manifest["scenario"]["overrides"] == list(SHORT)
    files = manifest["files"]
    for name in ("runs.parquet", "summary.json", "fan_hhi.png", "market-00002.parquet", "runs-00000.parquet"):
        assert name in files, name
    digest = hashlib.sha256((out / "runs.parquet").read_bytes()).hexdigest()
    assert files["runs.parquet"]["sha256"] == digest


def test_summary_agrees_with_the_runs_table(small: ExperimentResult) -> None:
    summary = json.loads((small.out_dir / "summary.json").read_text())
    assert summary == json.loads(json.dumps(small.summary))
    runs = _runs(small.out_dir)
    assert summary["runs"] == 12 and summary["failed_runs"] == 0 and small.failed_runs == 0
    k = int(runs["unipolar"].sum())
    assert summary["unipolar"]["count"] == k
    assert summary["unipolar"]["probability"] == pytest.approx(k / 12)
    lo, hi = summary["unipolar"]["wilson95"]
    assert lo <= k / 12 <= hi
    assert summary["final_hhi"]["p50"] == pytest.approx(float(np.median(runs["final_hhi"])))
    assert summary["final_hhi"]["p05"] <= summary["final_hhi"]["p50"] <= summary["final_hhi"]["p95"]
    assert summary["throughput"]["runs_computed"] == 12 and summary["throughput"]["runs_per_second"] > 0
    assert summary["throughput"]["chunks_computed"] == 3 and summary["throughput"]["chunks_reused"] == 0


def test_each_run_equals_its_serial_simulation(small: ExperimentResult, plain: Path) -> None:
    sc, _ = load_scenario(plain, list(SHORT))
    runs = _runs(small.out_dir).set_index("run")
    market = read_market(small.out_dir)
    for i in (0, 4, 5, 11):
        sim = Simulation(sc, [np.random.SeedSequence(3).spawn(12)[i]], record_labs=False).run()
        expected = sim.market_frame(0)
        got = market[market["run"] == i].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        summary = sim.summary(0)
        assert summary["spawn_key"] == [i]
        for key in ("final_hhi", "leader_share", "leader", "n_alive", "unipolar", "frontier_quality",
                    "consumer_value"):
            assert runs.loc[i, key] == summary[key], key


def test_run_roots_are_the_spawned_children() -> None:
    children = np.random.SeedSequence(17).spawn(5)
    for i, child in enumerate(children):
        assert run_root(17, i).generate_state(4).tolist() == child.generate_state(4).tolist()


def test_results_do_not_depend_on_the_chunk_size(small: ExperimentResult, tmp_path: Path, plain: Path) -> None:
    for chunk in (1, 12):
        other = _ensemble(tmp_path / f"chunk{chunk}", runs=12, chunk=chunk, path=plain)
        assert _chunks(other)[0] == 12 // chunk
        _assert_same_results(small.out_dir, other.out_dir)


@pytest.mark.parametrize(("runs", "chunk"), [(1, 1), (8, 8), (16, 16), (100, 16), (129, 17), (1600, 200),
                                             (10_000, 200)])
def test_default_chunks_are_at_least_sixteen_runs_and_at_most_two_hundred(runs: int, chunk: int) -> None:
    """About 8 chunks, but never fewer than MIN_CHUNK runs (a batch's fixed costs) nor more than DEFAULT_CHUNK."""
    assert default_chunk(runs) == chunk
    assert default_chunk(runs) == Execution().chunk_size(runs)
    assert Execution(chunk=3).chunk_size(runs) == 3


def test_the_market_series_are_written_at_the_recording_interval(small: ExperimentResult, tmp_path: Path,
                                                                 plain: Path) -> None:
    """``output.market_every``: each run's series keeps every K-th step and the last; the outcomes (runs.parquet,
    computed from every step in the worker) and the kept rows are those of the full series; the fan chart reads
    the shorter series."""
    every = _ensemble(tmp_path / "every7", runs=12, chunk=5, path=plain, overrides=(*SHORT, "output.market_every=7"))
    pd.testing.assert_frame_equal(_runs(small.out_dir), _runs(every.out_dir), check_exact=True)
    full, kept = read_market(small.out_dir), read_market(every.out_dir)
    last = int(full["step"].max())
    assert last == 24 and sorted(kept["step"].unique()) == [0, 7, 14, 21, 24]
    expected = full[full["step"].isin([0, 7, 14, 21, 24])].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, expected, check_exact=True)
    fan = read_fan_series(every.out_dir, n_chunks=3)
    assert fan["hhi"].shape == (5, 12) and list(fan["year"]) == list(expected["year"][:5])


def test_record_labs_writes_the_lab_tables(tmp_path: Path, plain: Path) -> None:
    result = _ensemble(tmp_path / "labs", runs=3, chunk=2, record_labs=True, path=plain)
    labs = pd.concat([pd.read_parquet(p) for p in sorted((result.out_dir / "labs").iterdir())], ignore_index=True)
    assert sorted(labs["run"].unique()) == [0, 1, 2]
    sc, _ = load_scenario(plain, list(SHORT))
    expected = Simulation(sc, [run_root(3, 2)]).run().labs_frame(0)
    got = labs[labs["run"] == 2].drop(columns="run").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


# ---------------------------------------------------------------------------------------------- uncertainty
@pytest.mark.parametrize("table", [UNCERTAIN_ROW, UNCERTAIN_INIT], ids=["row-keys", "init-keys"])
def test_uncertain_runs_equal_the_scenario_with_their_drawn_values(tmp_path: Path, table: str) -> None:
    path = _scenario_file(tmp_path, table)
    result = _ensemble(tmp_path / "unc", runs=6, seed=8, path=path, chunk=4)
    sc, _ = load_scenario(path, list(SHORT))
    plan = UncertainPlan.from_scenario(sc)
    runs = _runs(result.out_dir)
    assert np.array_equal(runs[list(plan.keys)].to_numpy(), plan.design(6, seed=8))
    assert runs[list(plan.keys)].nunique().min() > 1
    market = read_market(result.out_dir)
    for i in (0, 5):
        sets = [*SHORT, *(f"{key}={float(runs.loc[i, key])!r}" for key in plan.keys)]
        direct, _ = load_scenario(path, sets)
        sim = Simulation(direct, [run_root(8, i)], record_labs=False).run()
        got = market[market["run"] == i].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, sim.market_frame(0), check_exact=True)
        assert runs.loc[i, "final_hhi"] == sim.summary(0)["final_hhi"]
    other = _ensemble(tmp_path / "unc-chunk", runs=6, seed=8, path=path, chunk=6)
    _assert_same_results(result.out_dir, other.out_dir)


def test_invalid_draws_are_recorded_and_the_ensemble_goes_on(tmp_path: Path) -> None:
    path = _scenario_file(tmp_path, '\n[uncertain]\n"capability.par_human_log10_flop" = '
                                    '{ dist = "uniform", low = 30.0, high = 38.0 }\n')
    result = _ensemble(tmp_path / "bad", runs=8, path=path, chunk=3)
    runs = _runs(result.out_dir)
    invalid = runs["capability.par_human_log10_flop"] >= 36.0
    assert invalid.any() and (~invalid).any()
    assert (runs.loc[invalid, "status"] == "invalid").all()
    assert runs.loc[invalid, "error"].str.contains("superhuman_log10_flop").all()
    assert runs.loc[invalid, "final_hhi"].isna().all()
    assert (runs.loc[~invalid, "status"] == "ok").all()
    assert result.failed_runs == int(invalid.sum()) == result.summary["failed_by_status"]["invalid"]
    assert set(read_market(result.out_dir)["run"]) == set(runs.loc[~invalid, "run"])


def test_a_run_that_raises_is_recorded_and_the_others_are_unchanged(small: ExperimentResult, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     plain: Path) -> None:
    real = chunk_module._simulate

    def flaky(scenario, roots, rows, record_labs):
        if any(root.spawn_key == (4,) for root in roots):
            raise FloatingPointError("injected failure of run 4")
        return real(scenario, roots, rows, record_labs)

    monkeypatch.setattr(chunk_module, "_simulate", flaky)
    result = _ensemble(tmp_path / "flaky", runs=12, chunk=5, path=plain)
    runs = _runs(result.out_dir)
    assert result.failed_runs == 1
    assert runs.loc[4, "status"] == "failed"
    assert runs.loc[4, "error"] == "FloatingPointError: injected failure of run 4"
    good = _runs(small.out_dir)
    keep = runs["run"] != 4
    # (integer columns come back as floats when a failed run leaves them null)
    pd.testing.assert_frame_equal(runs[keep], good[keep], check_exact=True, check_dtype=False)
    market = read_market(result.out_dir)
    expected = read_market(small.out_dir)
    pd.testing.assert_frame_equal(market, expected[expected["run"] != 4].reset_index(drop=True), check_exact=True)


# ---------------------------------------------------------------------------------------------- resume
def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def test_resume_recomputes_only_the_missing_chunks(small: ExperimentResult, tmp_path: Path, plain: Path) -> None:
    out = tmp_path / "resume"
    _ensemble(out, runs=12, chunk=5, path=plain)
    (out / "chunks" / "runs-00001.parquet").unlink()
    (out / "runs.parquet").unlink()
    (out / "market" / ".market-00001.parquet.tmp-deadbeef0000").write_bytes(b"partial")
    kept = {p: _stamp(p) for p in (out / "chunks" / "runs-00000.parquet", out / "market" / "market-00002.parquet")}
    result = _ensemble(out, runs=12, resume=True, path=plain)  # --chunk is taken from the interrupted ensemble
    assert _chunks(result) == (1, 2)
    assert {p: _stamp(p) for p in kept} == kept
    assert not list(out.rglob(".*.tmp-*"))
    _assert_same_results(small.out_dir, out)
    again = _ensemble(out, runs=12, resume=True, workers=2, path=plain)  # complete: no cluster is started
    assert _chunks(again) == (0, 3)
    assert again.summary["throughput"]["execution"] == "nothing to compute"
    _assert_same_results(small.out_dir, out)


def test_resume_refuses_a_different_ensemble(small: ExperimentResult, tmp_path: Path) -> None:
    out = tmp_path / "mismatch"
    _ensemble(out, runs=4, chunk=2)
    with pytest.raises(ExperimentInputError, match="seed"):
        _ensemble(out, runs=4, seed=4, chunk=2, resume=True)
    with pytest.raises(ExperimentInputError, match=r"scenario \(sim\)"):
        _ensemble(out, runs=4, chunk=2, resume=True, overrides=("sim.years=1",))
    result = _ensemble(out, runs=4, seed=4, chunk=2)  # without --resume the old ensemble is replaced
    assert (_runs(out)["seed"] == 4).all() and _chunks(result)[0] == 2


def test_a_foreign_directory_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "foreign"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ExperimentInputError, match=r"no Multipolar manifest\.json"):
        _ensemble(out, runs=2)
    assert (out / "notes.txt").read_text() == "mine"


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_json_summary_and_exit_codes(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = _invoke(BASELINE, "--runs", 3, "--workers", 1, "--seed", 5, "--set", "sim.years=1", "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["runs"] == 3 and summary["seed"] == 5 and summary["out_dir"] == str(out.absolute())
    assert "P(unipolar)" in result.stderr  # the table goes to stderr with --json

    bad = _invoke(BASELINE, "--runs", 3, "--workers", 1, "--set", "research.parallelism=7", "--out", tmp_path / "x")
    assert bad.exit_code == 2 and "research.parallelism" in bad.stderr
    assert not (tmp_path / "x").exists()
    assert _invoke(BASELINE, "--runs", 0).exit_code == 2
    bad_unc = _scenario_file(tmp_path, '\n[uncertain]\n"labs.n" = { dist = "uniform", low = 2, high = 5 }\n')
    refused = _invoke(bad_unc, "--runs", 2, "--workers", 1, "--out", tmp_path / "y")
    assert refused.exit_code == 2 and "labs.n" in refused.stderr
    mismatch = _invoke(BASELINE, "--runs", 4, "--workers", 1, "--set", "sim.years=1", "--out", out, "--resume")
    assert mismatch.exit_code == 2 and "--resume" in mismatch.stderr


def test_cli_exit_code_is_one_when_a_run_fails(tmp_path: Path) -> None:
    path = _scenario_file(tmp_path, '\n[uncertain]\n"capability.par_human_log10_flop" = '
                                    '{ dist = "uniform", low = 33.0, high = 38.0 }\n')
    result = _invoke(path, "--runs", 4, "--workers", 1, "--set", "sim.years=1", "--out", tmp_path / "f")
    assert result.exit_code == 1
    assert "runs failed" in result.stderr
    assert (tmp_path / "f" / "summary.json").is_file()


# ---------------------------------------------------------------------------------------------- statistics
def test_wilson_interval_known_values() -> None:
    assert wilson_interval(0, 0) is None
    lo, hi = wilson_interval(5, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.2366, 0.7634)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and round(hi, 4) == 0.2775
    lo, hi = wilson_interval(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)


def test_summarise_counts_failures_and_quantiles() -> None:
    n = 21
    table = pd.DataFrame({
        "run": range(n), "status": ["ok"] * 20 + ["failed"],
        "unipolar": [True] * 5 + [False] * 15 + [None], "unipolar_by_share": [True] * 5 + [False] * 15 + [None],
        "unipolar_by_hhi": [False] * 20 + [None], "catastrophe": [False] * 19 + [True] + [None],
        "final_hhi": [*np.arange(20) * 100.0, np.nan], "leader_share": [*np.linspace(0.2, 0.9, 20), np.nan],
        "takeoff_years": [2.0, 4.0] + [None] * 19, "singularity_year": [None] * 21,
    })
    s = summarise_ensemble(table, scenario_name="t", seed=1, chunk=5, uncertain=())
    assert (s["runs"], s["ok_runs"], s["failed_runs"]) == (21, 20, 1)
    assert s["unipolar"]["probability"] == 0.25 and s["unipolar"]["of"] == 20
    assert s["catastrophe"]["count"] == 1
    assert s["final_hhi"]["p50"] == pytest.approx(950.0) and s["final_hhi"]["p05"] == pytest.approx(95.0)
    assert s["takeoff_years"]["share_with"] == pytest.approx(0.1)
    assert s["takeoff_years"]["quantiles"]["p50"] == pytest.approx(3.0)
    assert s["singularity_year"] == {"share_with": 0.0, "quantiles": None}


# ---------------------------------------------------------------------------------------------- figures
def test_step_quantiles_skip_non_finite_values() -> None:
    values = np.array([[1.0, 2.0, 3.0, -np.inf], [np.nan, -np.inf, np.nan, np.inf], [5.0, 5.0, 5.0, 5.0]])
    q = step_quantiles(values)
    assert q.shape == (len(FAN_LEVELS), 3)
    assert q[2, 0] == 2.0 and np.isnan(q[:, 1]).all() and (q[:, 2] == 5.0).all()


def test_figures_have_units_and_data(small: ExperimentResult) -> None:
    runs = _runs(small.out_dir)
    fan = read_fan_series(small.out_dir, 3)
    assert fan["hhi"].shape == (25, 12)
    figures = ensemble_figure_set(runs, fan, scenario_name="baseline", n_runs=12)
    assert set(figures) == {"fan_hhi.png", "fan_quality.png", "leader_share.png", "rank_shares.png"}
    labels = {name: (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) for name, fig in figures.items()}
    assert all(isinstance(fig, Figure) for fig in figures.values())
    assert labels["fan_hhi.png"] == ("year", "HHI (0-10,000 scale)")
    assert "quality units" in labels["fan_quality.png"][1]
    assert "fraction" in labels["leader_share.png"][0] and "count" in labels["leader_share.png"][1]
    assert "fraction" in labels["rank_shares.png"][1]
    median = figures["fan_hhi.png"].axes[0].lines[0].get_ydata()
    assert np.allclose(median, np.median(fan["hhi"], axis=1))


# ---------------------------------------------------------------------------------------------- slow: Dask
@pytest.mark.slow
def test_two_local_workers_give_the_serial_results(tmp_path: Path) -> None:
    path = _scenario_file(tmp_path, UNCERTAIN_ROW)
    serial = _ensemble(tmp_path / "serial", runs=30, seed=6, chunk=4, path=path)
    done = _cli(path, "--runs", 30, "--seed", 6, "--set", "sim.years=2", "--workers", 2, "--chunk", 7,
                "--out", tmp_path / "two", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["throughput"]["execution"] == "local-cluster" and summary["throughput"]["workers"] == 2
    _assert_same_results(serial.out_dir, tmp_path / "two")


def test_two_local_clusters_at_once_do_not_compete_for_a_port() -> None:
    """Two ensembles on one machine at the same time: each local cluster's scheduler serves its HTTP endpoint on a
    free port (no dashboard), so neither warns that port 8787 is taken (warnings are errors here)."""
    with local_cluster(1) as first, local_cluster(1) as second:
        ports = [cluster.scheduler.http_server.port for cluster in (first, second)]
        assert ports[0] != ports[1] and 8787 not in ports


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A ``dask scheduler`` and two ``dask worker`` processes (no nanny) on 127.0.0.1."""
    scheduler_file = tmp_path / "scheduler.json"
    procs: list[subprocess.Popen] = []
    logs: list[Path] = []
    with contextlib.ExitStack() as stack:
        try:
            log = stack.enter_context((tmp_path / "scheduler.log").open("w"))
            procs.append(subprocess.Popen(
                [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", scheduler_file], stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT))
            _wait_for(lambda: scheduler_file.is_file() and "address" in scheduler_file.read_text(), 60, "scheduler")
            address = json.loads(scheduler_file.read_text())["address"]
            for k in range(2):
                logs.append(tmp_path / f"worker{k}.log")
                log = stack.enter_context(logs[-1].open("w"))
                procs.append(subprocess.Popen(
                    [BIN / "dask", "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                     "--host", "127.0.0.1", "--name", f"w{k}", "--memory-limit", "0"],
                    stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT))
            _wait_for(lambda: all("Registered to" in p.read_text() for p in logs), 60, "two workers")
            yield address, procs[1:]
        finally:
            for proc in reversed(procs):
                _stop(proc)


KILLED_YEARS = "sim.years=8"
"""The killed ensembles' horizon: 30-40 chunks of 10 runs still outlast the kill by far, at 40 % of the baseline's
cost."""


@pytest.mark.slow
def test_scheduler_with_a_worker_killed_mid_ensemble(tmp_path: Path, dask_cluster) -> None:
    address, workers = dask_cluster
    runs, chunk = 400, 10
    out = tmp_path / "killed"
    env = {**os.environ, "DASK_SCHEDULER_ADDRESS": address}  # the environment variable instead of --scheduler
    proc = subprocess.Popen(
        [sys.executable, "-m", "runs.cli", "ensemble", BASELINE, "--runs", str(runs), "--seed", "9", "--chunk",
         str(chunk), "--set", KILLED_YEARS, "--out", out, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        _wait_for(lambda: len(list((out / "chunks").glob("runs-*.parquet"))) >= 2, 120, "two chunks")
        workers[0].send_signal(signal.SIGKILL)
        finished_at_kill = len(list((out / "chunks").glob("runs-*.parquet")))
        stdout, stderr = proc.communicate(timeout=PROCESS_TIMEOUT)
    finally:
        _stop(proc)
    assert workers[0].wait(timeout=10) == -signal.SIGKILL
    assert finished_at_kill < runs // chunk, "the ensemble ended before the worker was killed"
    assert proc.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["runs"] == runs and summary["failed_runs"] == 0
    assert summary["throughput"]["execution"] == f"scheduler {address}"
    market = read_market(out, ["hhi"])
    assert not market.duplicated(["run", "step"]).any()
    serial = _ensemble(tmp_path / "serial", runs=runs, seed=9, chunk=50, overrides=(KILLED_YEARS,))
    _assert_same_results(serial.out_dir, out)


@pytest.mark.slow
def test_a_killed_ensemble_is_completed_by_resume(tmp_path: Path) -> None:
    runs, chunk = 300, 10
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(
        [sys.executable, "-m", "runs.cli", "ensemble", BASELINE, "--runs", str(runs), "--seed", "2", "--chunk",
         str(chunk), "--set", KILLED_YEARS, "--workers", "1", "--out", out],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
    try:
        _wait_for(lambda: len(list((out / "chunks").glob("runs-*.parquet"))) >= 3, 120, "three chunks")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        _stop(proc)
    finished = sorted((out / "chunks").glob("runs-*.parquet"))
    assert 3 <= len(finished) < runs // chunk and not (out / "runs.parquet").exists()
    paths = [*finished, *(out / "market" / p.name.replace("runs-", "market-") for p in finished)]
    stamps = {p: _stamp(p) for p in paths}
    done = _cli(BASELINE, "--runs", runs, "--seed", 2, "--set", KILLED_YEARS, "--workers", 1, "--out", out, "--resume",
                "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["throughput"]["chunks_reused"] >= len(finished)
    assert summary["throughput"]["chunks_computed"] == runs // chunk - summary["throughput"]["chunks_reused"]
    assert {p: _stamp(p) for p in stamps} == stamps, "finished chunks were rewritten"
    whole = _ensemble(tmp_path / "whole", runs=runs, seed=2, chunk=chunk, overrides=(KILLED_YEARS,))
    _assert_same_results(whole.out_dir, out)


# ---------------------------------------------------------------------------------------------- slow: urn
URN_LABS = """
name = "urn"
[sim]
years = 5.0
[market]
mode = "urn"
urn_arrivals_per_step = 100
[entry]
rate_per_year = 0.0       # the urn alone: no entrants, acquisitions, incidents or exits
[acquisitions]
rate_per_year = 0.0
[incidents]
hazard_per_drift = 0.0
[money]
exit_relative_share = 0.0
[[labs.list]]
name = "A"
kind = "frontier"
[[labs.list]]
name = "B"
kind = "frontier"
"""


@pytest.mark.slow
def test_polya_urn_limits_through_the_ensemble_runner(tmp_path: Path) -> None:
    """Two labs in the urn mode: g = 1 from (1, 1) gives a uniform limit share, g > 1 locks in, g < 1 equalises."""
    stats = pytest.importorskip("scipy.stats")
    path = tmp_path / "urn.toml"
    path.write_text(URN_LABS)
    shares = {}
    for g in (0.5, 1.0, 2.0):
        result = _ensemble(tmp_path / f"urn{g}", runs=400, seed=12, path=path, chunk=100,
                           overrides=(f"market.urn_exponent={g}",))
        runs = _runs(result.out_dir)
        assert (runs["status"] == "ok").all() and (runs["n_alive"] == 2).all()
        assert np.allclose(runs["share_rank_1"] + runs["share_rank_2"], 1.0)
        shares[g] = runs["share_rank_1"].to_numpy()
    # g = 1: lab A's share is uniform on (0, 1), so the leader's is uniform on (1/2, 1)
    assert stats.kstest(shares[1.0], stats.uniform(0.5, 0.5).cdf).pvalue > 0.01
    assert np.quantile(shares[2.0], 0.1) > 0.98  # lock-in
    assert np.quantile(shares[0.5], 0.9) < 0.56  # equalisation
