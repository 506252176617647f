"""The command line, the run outputs, the manifest and the overview figure (runs/cli/run.py, experiments/single.py)."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

from economy.engine import LAB_COLUMNS
from economy.kernels.layout import MARKET_COLUMNS
from economy.market_record import COMPLIANCE_COLUMNS
from economy.params import Research, Scenario
from economy.streams import STREAM_NAMES
from runs.cli import app
from runs.experiments import NETWORK_FILES, OUTPUT_FILES, finite_or_none
from runs.views import HHI_HIGH, HHI_MODERATE, RUN_FIGURES, overview_figure

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
SHORT = ["--set", "sim.years=3"]  # baseline labs over three years: fast, still every output
WRITTEN = OUTPUT_FILES + NETWORK_FILES + RUN_FIGURES + ("network.png",)
"""What ``multipolar run`` writes for the baseline (it has a network)."""
REQUIRED = ("final_hhi", "leader_share", "effective_labs", "n_alive", "singularity_year", "takeoff_years",
            "frontier_quality", "catastrophe", "seed")


def _run(*args: str) -> object:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def _no_nan(text: str) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"JSON contains {name}")

    obj = json.loads(text, parse_constant=refuse)
    assert isinstance(obj, dict)
    return obj


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, object]:
    out = tmp_path_factory.mktemp("cli") / "base"
    result = _run("run", BASELINE, "--seed", "7", "--out", out, "--json", *SHORT)
    assert result.exit_code == 0, result.stderr
    return out, _no_nan(result.stdout), result


# ---------------------------------------------------------------------------------------------- bad input
BAD_INPUT = [
    pytest.param(["--set", "research.returns_to_research=20"],
                 ["research.returns_to_research", "20", Research.model_fields["returns_to_research"]
                  .json_schema_extra["range"]], id="out-of-range"),
    pytest.param(["--set", "research.returns_to_research=fast"],
                 ["research.returns_to_research", "'fast'", "a number"], id="wrong-type"),
    pytest.param(["--set", "research.foo=1"], ["research.foo", "returns_to_research", "max_automation"],
                 id="unknown-key"),
    pytest.param(["--set", "research.returns_to_research"], ["research.returns_to_research", "section.key=value"],
                 id="missing-equals"),
    pytest.param(["--set", "capability.par_human_log10_flop=40"],
                 ["capability.par_human_log10_flop = 40", "capability.superhuman_log10_flop"], id="cross-field"),
    pytest.param(["--threads", "0"], ["--threads 0", f"1..{numba.config.NUMBA_NUM_THREADS}"], id="threads-low"),
    pytest.param(["--threads", str(numba.config.NUMBA_NUM_THREADS + 1)],
                 [f"--threads {numba.config.NUMBA_NUM_THREADS + 1}"], id="threads-high"),
    pytest.param(["--seed", "-1"], ["--seed"], id="negative-seed"),
]


@pytest.mark.parametrize(("args", "needles"), BAD_INPUT)
def test_bad_input_exits_2_names_the_problem_and_writes_nothing(tmp_path: Path, args: list[str],
                                                                needles: list[str]) -> None:
    out = tmp_path / "out" / "run"
    result = _run("run", BASELINE, "--out", out, "--json", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    for needle in needles:
        assert needle in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_scenario_files_exit_2(tmp_path: Path) -> None:
    cases = {
        "missing": (tmp_path / "absent.toml", ["absent.toml", "not found"]),
        "malformed": (tmp_path / "bad.toml", ["malformed TOML", "line 2"]),
        "unknown": (tmp_path / "unknown.toml", ["unknown key market.lockin", "winner_take_all"]),
    }
    (tmp_path / "bad.toml").write_text('name = "bad"\n[sim\n')
    (tmp_path / "unknown.toml").write_text(BASELINE.read_text().replace("[market]\n", "[market]\nlockin = 2\n"))
    for path, needles in cases.values():
        result = _run("run", path, "--out", tmp_path / "out")
        assert result.exit_code == 2, path
        assert all(n in result.stderr for n in needles), result.stderr
        assert not (tmp_path / "out").exists()


def test_setup_errors_are_bad_input(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-graph.txt"
    result = _run("run", BASELINE, "--out", tmp_path / "out" / "x", "--set", "network.kind=file",
                  "--set", f"network.file={missing}")
    assert result.exit_code == 2
    assert "network.file" in result.stderr and str(missing) in result.stderr
    assert not (tmp_path / "out").exists()


def test_default_output_dir_is_not_created_on_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _run("run", BASELINE, "--set", "market.winner_take_all=-1")
    assert result.exit_code == 2 and "market.winner_take_all = -1" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_replace_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    result = _run("run", BASELINE, "--out", target, *SHORT)
    assert result.exit_code == 2 and "refusing" in result.stderr
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    file_target = tmp_path / "afile"
    file_target.write_text("x")
    result = _run("run", BASELINE, "--out", file_target, *SHORT)
    assert result.exit_code == 2 and "not a directory" in result.stderr


# ---------------------------------------------------------------------------------------------- happy path
def test_run_writes_all_outputs(baseline_run: tuple[Path, dict, object]) -> None:
    out, summary, _ = baseline_run
    assert sorted(p.name for p in out.iterdir()) == sorted(WRITTEN)
    market = pd.read_parquet(out / "market.parquet")
    labs = pd.read_parquet(out / "labs.parquet")
    n_steps = round(3.0 / (1 / 12))
    # full compliance (the baseline): the compliance stage's columns are not written (docs/policies.md)
    assert list(market.columns) == ["step", *(c for c in MARKET_COLUMNS if c not in COMPLIANCE_COLUMNS)]
    assert len(market) == n_steps + 1 and market["step"].tolist() == list(range(n_steps + 1))
    assert {"step", "year", "lab_id", "name", "kind", "alive", "log10_eff_compute"} <= set(labs.columns)
    assert set(LAB_COLUMNS) - {"log_eff_compute"} <= set(labs.columns)
    assert len(labs) == 12 * (n_steps + 1)  # twelve labs, recorded every step and at the start
    written = _no_nan((out / "summary.json").read_text())
    assert written == {k: v for k, v in summary.items() if k != "out_dir"}
    assert summary["final_hhi"] == pytest.approx(market["hhi"].iloc[-1])
    assert (out / "overview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_stdout_is_one_object_with_the_required_keys(baseline_run: tuple[Path, dict, object]) -> None:
    _, summary, result = baseline_run
    assert result.stdout.strip().count("\n") == 0  # exactly one line: one JSON object
    for key in REQUIRED:
        assert key in summary
    assert summary["seed"] == 7
    assert 0.0 <= summary["final_hhi"] <= 10_000.0
    assert 0.0 <= summary["leader_share"] <= 1.0
    assert summary["n_alive"] == 12 and summary["catastrophe"] is False
    assert "final HHI" in result.stderr  # the summary table went to stderr


def test_table_goes_to_stdout_without_json(tmp_path: Path) -> None:
    result = _run("run", BASELINE, "--out", tmp_path / "r", "--threads", "1", *SHORT)
    assert result.exit_code == 0
    assert "final HHI" in result.stdout and "effective number of labs" in result.stdout
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS  # restored after the run


def test_manifest(baseline_run: tuple[Path, dict, object]) -> None:
    out, _, _ = baseline_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"]["toml"] == BASELINE.read_text()
    assert manifest["scenario"]["overrides"] == ["sim.years=3"]
    resolved = Scenario.model_validate(manifest["scenario"]["resolved"])
    assert resolved.sim.years == 3.0 and resolved.name == "baseline"
    assert manifest["root_seed"] == 7
    streams = manifest["seeds"][0]["streams"]
    assert streams["entropy"] == 7
    assert streams["spawn_keys"] == {name: [i] for i, name in enumerate(STREAM_NAMES)}
    assert set(manifest["versions"]) >= {"python", "numpy", "numba", "mesa", "networkx", "pandas", "pyarrow",
                                         "pydantic"}
    assert all(manifest["versions"][k] for k in ("numpy", "numba", "pandas"))
    git = manifest["git"]
    assert git is None or (len(git["commit"]) == 40 and isinstance(git["dirty"], bool))
    assert manifest["command"][:2] == ["multipolar", "run"] and "--json" in manifest["command"]
    assert manifest["created_utc"].endswith("+00:00")
    assert set(manifest["files"]) == set(WRITTEN) - {"manifest.json"}
    for name, entry in manifest["files"].items():
        data = (out / name).read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.slow
def test_same_seed_same_tables_whatever_the_threads(tmp_path: Path) -> None:
    tables = {}
    most = str(numba.config.NUMBA_NUM_THREADS)
    for tag, seed, threads in (("a", 3, most), ("b", 3, "1"), ("c", 4, most)):
        result = _run("run", BASELINE, "--seed", seed, "--threads", threads, "--out", tmp_path / tag, *SHORT)
        assert result.exit_code == 0
        tables[tag] = [pd.read_parquet(tmp_path / tag / f) for f in ("market.parquet", "labs.parquet")]
    for left, right in zip(tables["a"], tables["b"], strict=True):
        pd.testing.assert_frame_equal(left, right, check_exact=True)
    assert not tables["a"][1].equals(tables["c"][1])


def test_rerun_replaces_a_previous_output_without_leftovers(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _run("run", BASELINE, "--seed", 1, "--out", out, *SHORT).exit_code == 0
    assert _run("run", BASELINE, "--seed", 2, "--out", out, *SHORT).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_failure_leaves_the_target_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    assert _run("run", BASELINE, "--seed", 1, "--out", out, *SHORT).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*_args: object, **_kw: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("runs.views.style.save_figure", broken)
    result = _run("run", BASELINE, "--seed", 2, "--out", out, *SHORT)
    assert result.exit_code == 1 and "disk full" in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    fresh = tmp_path / "new" / "deeper"
    assert _run("run", BASELINE, "--out", fresh, *SHORT).exit_code == 1
    assert not (tmp_path / "new").exists()  # parents created for the run are removed again


def test_default_output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _run("run", BASELINE, "--set", "name=tiny", *SHORT)
    assert result.exit_code == 0
    written = sorted(p.name for p in (tmp_path / "runs" / "out" / "tiny").iterdir())
    assert written == sorted(WRITTEN)
    assert written == sorted(WRITTEN)
    result = _run("run", BASELINE, "--set", "name=../escape", *SHORT)
    assert result.exit_code == 2 and "--out" in result.stderr


@pytest.mark.slow
def test_returns_to_research_decides_the_singularity(tmp_path: Path) -> None:
    fast = _run("run", BASELINE, "--out", tmp_path / "fast", "--json",
                "--set", "research.returns_to_research=6", "--set", "research.max_automation=1")
    slow = _run("run", BASELINE, "--out", tmp_path / "slow", "--json", "--set", "research.returns_to_research=0.5")
    fast_summary, slow_summary = _no_nan(fast.stdout), _no_nan(slow.stdout)
    sing = fast_summary["singularity_year"]
    assert isinstance(sing, float) and 2025.0 < sing <= 2045.0
    assert slow_summary["singularity_year"] is None


def test_schema_prints_json_with_every_public_parameter() -> None:
    result = _run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema == Scenario.model_json_schema()
    text = result.stdout
    for name, field in Scenario.model_fields.items():
        assert f'"{name}"' in text
        section = field.annotation
        if isinstance(section, type) and hasattr(section, "model_fields"):
            for key in section.model_fields:
                assert f'"{key}"' in text, key
    assert schema["$defs"]["Research"]["properties"]["returns_to_research"]["range"] == "[0.05, 10]"


@pytest.mark.slow
def test_console_script_subprocess(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "multipolar"
    if not exe.exists():
        exe = ROOT / ".venv" / "bin" / "multipolar"
    done = subprocess.run([str(exe), "run", str(BASELINE), "--out", str(tmp_path / "r"), "--json", "--seed", "5",
                           *SHORT], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    summary = _no_nan(done.stdout)
    assert summary["seed"] == 5 and set(REQUIRED) <= set(summary)
    bad = subprocess.run([str(exe), "run", str(BASELINE), "--out", str(tmp_path / "bad"), "--set", "sim.dt=0"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2 and "sim.dt = 0" in bad.stderr and bad.stdout == ""
    assert not (tmp_path / "bad").exists()


# ---------------------------------------------------------------------------------------------- pieces
def test_finite_or_none() -> None:
    cleaned = finite_or_none({"a": math.nan, "b": [1.0, math.inf, {"c": -math.inf}], "d": 2, "e": "x"})
    assert cleaned == {"a": None, "b": [1.0, None, {"c": None}], "d": 2, "e": "x"}


def _tiny_frames(singularity: float | None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    years = 2025.0 + np.arange(13) / 12
    market = pd.DataFrame({
        "year": years, "hhi": np.linspace(1500, 4000, 13), "outside_share": 0.1,
        "frontier_quality": np.linspace(0, 1, 13), "runnerup_quality": np.r_[-np.inf, np.linspace(0, 0.8, 12)],
    })
    rows = [{"year": y, "lab_id": i, "name": f"L{i}", "share": 0.9 / 9} for y in years for i in range(9)]
    summary = {"scenario": "t", "seed": 0, "singularity_year": singularity, "takeoff_start_year": None,
               "takeoff_years": None, "par_human_quality": 0.4, "superhuman_quality": 0.9}
    return market, pd.DataFrame(rows), summary


def test_overview_figure_panels_guidelines_and_singularity(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    market, labs, summary = _tiny_frames(2025.5)
    fig = overview_figure(market, labs, summary, top_labs=6)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    ax_share, ax_hhi, ax_quality = fig.axes
    labels = [t.get_text() for t in ax_share.get_legend().get_texts()]
    assert "others (3 labs)" in labels and any("outside option" in t for t in labels)
    assert sum(t.startswith("L") for t in labels) == 6
    levels = {round(line.get_ydata()[0]) for line in ax_hhi.lines if len(set(line.get_ydata())) == 1}
    assert {HHI_MODERATE, HHI_HIGH} <= levels
    texts = " ".join(t.get_text() for t in ax_hhi.texts)
    assert "1,000" in texts and "1,800" in texts  # short labels, placed clear of the line
    assert "Merger Guidelines" in " ".join(t.get_text() for t in fig.texts)  # the source, in the footnote
    verticals = [line for line in ax_quality.lines if len(set(line.get_xdata())) == 1]
    assert [line.get_xdata()[0] for line in verticals] == [2025.5]
    assert plt.get_fignums() == []  # no pyplot state
    no_sing = overview_figure(*_tiny_frames(None))
    assert not [line for line in no_sing.axes[2].lines if len(set(line.get_xdata())) == 1]


def test_run_with_a_network_writes_graphml_and_network_figure(tmp_path):
    import networkx as nx
    from typer.testing import CliRunner

    from runs.cli import app

    out = tmp_path / "net"
    result = CliRunner().invoke(app, ["run", "runs/baseline.toml", "--set", "network.kind=erdos_renyi",
                                      "--set", "sim.years=1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("network_start.graphml", "network_end.graphml", "network.png"):
        assert (out / name).stat().st_size > 0, name
    start, end = nx.read_graphml(out / "network_start.graphml"), nx.read_graphml(out / "network_end.graphml")
    assert start.number_of_nodes() == 12 and end.number_of_nodes() >= 12  # entrants join as isolated nodes
    assert all(end.degree(node) == 0 for node in set(end.nodes) - set(start.nodes))
    assert set(start.edges) == set(end.edges)
    shares = [d["share"] for _, d in end.nodes(data=True)]
    assert shares != [d["share"] for _, d in start.nodes(data=True)]
    manifest = (out / "manifest.json").read_text()
    assert "network_end.graphml" in manifest


def test_run_events_log_and_events_parquet(tmp_path: Path) -> None:
    from economy.engine import EVENT_COLUMNS

    out = tmp_path / "ev"
    result = _run("run", BASELINE, "--out", out, "--events", "--set", "entry.rate_per_year=20",
                  "--set", "incidents.hazard_per_drift=1", *SHORT)
    assert result.exit_code == 0, result.stderr
    events = pd.read_parquet(out / "events.parquet")
    assert list(events.columns) == list(EVENT_COLUMNS)
    summary = json.loads((out / "summary.json").read_text())
    assert (events["kind"] == "entry").sum() == summary["n_entries"] > 0
    assert events["kind"].isin(["incident", "catastrophe"]).sum() == summary["incidents"] > 0
    # the printed log: every event but the strategy changes, which are counted
    shown = events[events["kind"] != "strategy_change"]
    assert f"events ({len(shown)}; all {len(events)} in events.parquet)" in result.stdout
    assert "starts with $" in result.stdout and "strategy changes:" in result.stdout
    assert "--events" in json.loads((out / "manifest.json").read_text())["command"]


# ---------------------------------------------------------------------------------------------- policies by name
CAP_FILE = ROOT / "runs" / "policies" / "compute_cap.toml"


@pytest.mark.parametrize("command", ["run", "ensemble", "sweep"])
@pytest.mark.parametrize(("override", "words"), [
    ("policies.compute_cap.max_training_flop=-1", ["policies.compute_cap.max_training_flop", "-1", "allowed (0, inf)"]),
    ("policies.strict.max_training_flop=1e27", ["strict", "compute_cap"]),
])
def test_a_bad_policy_key_or_value_exits_2_naming_it(command: str, override: str, words: list[str],
                                                     tmp_path: Path) -> None:
    extra = {"run": [], "ensemble": ["--runs", "2"], "sweep": ["--runs", "2", "--grid", "sim.years=1:2:2"]}[command]
    result = _run(command, BASELINE, "--policy", CAP_FILE, "--set", override, "--out", tmp_path / "out", *extra)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert not (tmp_path / "out").exists()


def test_two_policy_files_giving_one_name_exit_2_naming_both(tmp_path: Path) -> None:
    other = tmp_path / "compute_cap.toml"
    other.write_text('[[policies]]\nkind = "compute_tax"\nstart_year = 2026.0\nrate = 0.1\n')
    result = _run("run", BASELINE, "--policy", CAP_FILE, "--policy", other, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "'compute_cap'" in result.stderr and str(other) in result.stderr and str(CAP_FILE) in result.stderr


def test_the_resolved_policy_and_its_file_are_in_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "capped"
    result = _run("run", BASELINE, "--policy", CAP_FILE, "--set", "policies.compute_cap.max_training_flop=2e27",
                  "--set", "sim.years=1", "--out", out)
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    policies = manifest["scenario"]["resolved"]["policies"]
    assert [(p["name"], p["kind"], p["max_training_flop"]) for p in policies] == [
        ("compute_cap", "compute_cap", 2e27)]
    (entry,) = manifest["policy_files"]
    assert entry["path"] == str(CAP_FILE) and entry["policies"] == ["compute_cap"]
    assert entry["sha256"] == hashlib.sha256(CAP_FILE.read_text().encode()).hexdigest()
    assert manifest["command"].count("--policy") == 1
