"""Paired policy comparison (runs/experiments/compare.py and stats.py, runs/cli/compare.py, runs/policies/).

Fast tests run every arm in this process (``workers=1``) on a three-year horizon; the Dask test is slow.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import baseline_text_without_uncertain
from scipy import stats
from typer.testing import CliRunner

from economy.params import POLICY_KINDS, ScenarioError, load_policy_file, load_scenario, scenario_dict_with_overrides
from runs.cli import app
from runs.experiments import (
    BASELINE_ARM,
    PAIRED_OUTCOMES,
    Execution,
    ExperimentInputError,
    ReoptimiseOptions,
    Setup,
    arm_scenario,
    build_arms,
    check_respond_names,
    compare_tables,
    outcome_values,
    paired_mean,
    paired_proportion,
    run_compare,
    run_ensemble,
)
from runs.views import FIGURES, forest_figure

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
POLICIES = ROOT / "runs" / "policies"
SHORT = ("sim.years=3",)
RUNS = 6
SEED = 3
UNCERTAIN = """
[uncertain]
"research.returns_to_research" = { dist = "loguniform", low = 0.4, high = 3.6 }
"market.winner_take_all" = { dist = "triangular", low = 5.0, mode = 10.0, high = 20.0 }
"""


# ---------------------------------------------------------------------------------------------- helpers
def _invoke(*args: object):
    return CliRunner().invoke(app, ["compare", *map(str, args)], catch_exceptions=False)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The baseline with two uncertain parameters (so the arms have draws to share)."""
    return _write(tmp_path_factory.mktemp("scenario") / "uncertain.toml", baseline_text_without_uncertain() + UNCERTAIN)


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory, scenario_file: Path) -> dict:
    """``multipolar compare`` of two shipped policies, in this process, with --json."""
    out = tmp_path_factory.mktemp("cmp") / "out"
    result = _invoke(scenario_file, "--policy", POLICIES / "compute_cap.toml", "--policy",
                     POLICIES / "merger_review.toml", "--runs", RUNS, "--seed", SEED, "--workers", 1,
                     "--set", SHORT[0], "--out", out, "--json")
    return {"result": result, "out": out}


# ---------------------------------------------------------------------------------------------- the command
def test_json_and_outputs(compared: dict) -> None:
    result, out = compared["result"], compared["out"]
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert payload == json.loads((out / "comparison.json").read_text())
    assert "final HHI" in result.stderr and "compute_cap - baseline" in result.stderr  # tables on stderr
    assert [a["name"] for a in payload["arms"]] == [BASELINE_ARM, "compute_cap", "merger_review"]
    assert set(payload["comparisons"]) == {"compute_cap", "merger_review"}
    for comp in payload["comparisons"].values():
        assert comp["pairs"] == RUNS
        assert set(comp["outcomes"]) == {o.key for o in PAIRED_OUTCOMES}
    assert payload["common_random_numbers"]["verified"] is True
    for name in ("runs.parquet", "comparison.json", "forest.png", "manifest.json"):
        assert (out / name).is_file(), name
    assert (out / "forest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "compare" and manifest["compare"]["status"] == "complete"
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"], name
    texts = {p["arm"]: p["toml"] for p in manifest["compare"]["policy_files"]}
    assert texts["compute_cap"] == (POLICIES / "compute_cap.toml").read_text()
    assert not list(out.rglob(".*.tmp-*"))
    assert not (out / "arms" / "0-baseline" / "market").exists()  # series deleted without --keep-series


def test_arms_share_seeds_and_draws(compared: dict) -> None:
    out = compared["out"]
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 3 * RUNS
    arms = [runs[runs["arm"] == name].reset_index(drop=True) for name in (BASELINE_ARM, "compute_cap",
                                                                         "merger_review")]
    drawn = ["research.returns_to_research", "market.winner_take_all"]
    for arm in arms:
        assert arm["run"].tolist() == list(range(RUNS))
        assert (arm["seed"] == SEED).all()
        assert [list(k) for k in arm["spawn_key"]] == [[i] for i in range(RUNS)]
        np.testing.assert_array_equal(arm[drawn].to_numpy(), arms[0][drawn].to_numpy())
    assert arms[0][drawn[0]].nunique() == RUNS  # real draws, one per run
    # each arm ran its own scenario: the policies are in the arm's resolved scenario
    for k, kind in ((1, "compute_cap"), (2, "merger_review")):
        name = f"{k}-{kind}"
        resolved = json.loads((out / "arms" / name / "manifest.json").read_text())["scenario"]["resolved"]
        assert [p["kind"] for p in resolved["policies"]] == [kind]
    base = json.loads((out / "arms" / "0-baseline" / "manifest.json").read_text())["scenario"]["resolved"]
    assert base["policies"] == []


def test_reported_differences_are_the_paired_ones(compared: dict) -> None:
    out = compared["out"]
    runs = pd.read_parquet(out / "runs.parquet")
    payload = json.loads((out / "comparison.json").read_text())
    base = runs[runs["arm"] == BASELINE_ARM].set_index("run")
    cap = runs[runs["arm"] == "compute_cap"].set_index("run")
    d = cap["final_hhi"] - base["final_hhi"]
    stat = payload["comparisons"]["compute_cap"]["outcomes"]["final_hhi"]
    assert stat["difference"] == pytest.approx(d.mean(), rel=1e-12)
    half = stats.t.ppf(0.975, RUNS - 1) * d.std(ddof=1) / math.sqrt(RUNS)
    assert stat["ci95"] == pytest.approx([d.mean() - half, d.mean() + half], rel=1e-9)
    uni = payload["comparisons"]["compute_cap"]["outcomes"]["unipolar"]
    assert uni["policy"] == pytest.approx(cap["unipolar"].mean())
    assert uni["baseline"] == pytest.approx(base["unipolar"].mean())
    assert runs["singularity"].tolist() == runs["singularity_year"].notna().tolist()


def test_common_random_numbers_narrow_the_interval(tmp_path: Path, scenario_file: Path, compared: dict,
                                                  strong_cap: Path) -> None:
    """The same policy against the same baseline: pairing on seeds gives a narrower interval than new seeds."""
    policy = load_policy_file(strong_cap)
    sc, text = load_scenario(scenario_file, list(SHORT))
    data = scenario_dict_with_overrides(tomllib.loads(scenario_file.read_text()), list(SHORT))
    capped = arm_scenario(data, list(SHORT), policy, str(scenario_file))
    tables = {}
    for label, scenario, seed in (("base", sc, 11), ("same", capped, 11), ("other", capped, 12)):
        res = run_ensemble(Setup(scenario, text, seed=seed, out_dir=tmp_path / label, execution=Execution(workers=1)),
                           runs=8)
        tables[label] = pd.read_parquet(res.out_dir / "runs.parquet")
    crn = compare_tables(tables["base"], tables["same"])["outcomes"]
    independent = compare_tables(tables["base"], tables["other"])["outcomes"]
    for key in ("final_hhi", "frontier_quality", "consumer_value"):
        width_crn = crn[key]["ci95"][1] - crn[key]["ci95"][0]
        width_ind = independent[key]["ci95"][1] - independent[key]["ci95"][0]
        assert 0.0 < width_crn < width_ind, (key, width_crn, width_ind)  # the cap has an effect, CRN sees it sharper
    assert crn["frontier_quality"]["ci95"][1] < 0.0  # a binding cap lowers frontier quality in every pair


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("text", "named"), [
    ('[[policies]]\nkind = "compute_kap"\nstart_year = 2026.0\n', "policies.0.kind"),
    ('[[policies]]\nkind = "compute_cap"\nstart_year = 2026.0\n', "max_training_flop"),
    ('[[policies]]\nkind = "compute_cap"\nstart_year = 2026.0\nend_year = 2026.0\nmax_training_flop = 1e28\n',
     "end_year"),
    ('[[policies]]\nkind = "breakup"\nstart_year = 2030.0\nend_year = 2029.0\nmax_share = 0.3\n', "end_year"),
    ('[[policies]]\nkind = "compute_tax"\nstart_year = 2026.0\nrate = -1.0\n', "rate = -1"),
    ('[[policies]]\nkind = "compute_cap"\nmax_training_flop = 1e28\n', "start_year"),
    ('[[policies]]\nstart_year = 2026.0\n', "policies.0.kind"),
    ('scenario = "x"\n[[policies]]\nkind = "breakup"\nstart_year = 2030.0\nmax_share = 0.3\n', "scenario"),
    ('name = "p"\n', "policies"),
    ('[[policies]]\nkind = "breakup"\nstart_year = 2030.0\nmax_share = 0.3\n[[policies]]\nkind = "breakup"\n'
     'start_year = 2031.0\nmax_share = 0.2\n', "policies.1.kind"),
])
def test_bad_policy_file_exits_2_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    policy = _write(tmp_path / "bad.toml", text)
    out = tmp_path / "out"
    result = _invoke(BASELINE, "--policy", policy, "--runs", 2, "--workers", 1, "--out", out)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error: ") and named in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize(("args", "named"), [
    (("--policy", "runs/policies/nope.toml", "--runs", 4), "runs/policies/nope.toml"),
    (("--policy", POLICIES / "breakup.toml", "--runs", 1), "--runs"),
    (("--policy", POLICIES / "breakup.toml", "--policy", POLICIES / "breakup.toml", "--runs", 4), "given twice"),
    (("--policy", POLICIES / "breakup.toml", "--runs", 4, "--set", "research.returns_to_research=99"),
     "research.returns_to_research"),
    (("--policy", POLICIES / "breakup.toml", "--runs", 4, "--chunk", 0), "--chunk"),
])
def test_bad_options_exit_2(tmp_path: Path, args: tuple, named: str) -> None:
    out = tmp_path / "out"
    result = _invoke(BASELINE, *args, "--workers", 1, "--out", out)
    assert result.exit_code == 2
    assert named in result.stderr, result.stderr
    assert not out.exists()


def test_arm_names_must_differ(tmp_path: Path) -> None:
    body = '[[policies]]\nkind = "breakup"\nstart_year = 2031.0\nmax_share = 0.4\n'
    for name in ("breakup", "baseline"):
        other = _write(tmp_path / f"{name}_copy.toml", f'name = "{name}"\n' + body)
        with pytest.raises(ExperimentInputError, match=f"arm name '{name}' is already used"):
            build_arms(*load_scenario(BASELINE), [POLICIES / "breakup.toml", other])


def test_respond_arm_names_are_checked_before_anything_runs(tmp_path: Path) -> None:
    body = '[[policies]]\nkind = "breakup"\nstart_year = 2031.0\nmax_share = 0.4\n'
    scenario = load_scenario(BASELINE)
    clash = _write(tmp_path / "clash.toml", 'name = "breakup-reoptimised"\n' + body)
    arms = build_arms(*scenario, [POLICIES / "breakup.toml", clash])
    check_respond_names(arms, reoptimise=False)  # no re-optimised arms without --reoptimise
    with pytest.raises(ExperimentInputError, match="'breakup-reoptimised' is both a policy arm and the reoptimised"):
        check_respond_names(arms, reoptimise=True)
    reserved = _write(tmp_path / "reserved.toml", 'name = "baseline-reoptimised"\n' + body)
    for reoptimise in (False, True):
        with pytest.raises(ExperimentInputError, match="'baseline-reoptimised' is kept for the no-policy arm"):
            check_respond_names(build_arms(*scenario, [reserved]), reoptimise=reoptimise)
    setup = Setup.load(BASELINE, seed=0, out_dir=tmp_path / "out", execution=Execution(workers=1))
    with pytest.raises(ExperimentInputError, match="breakup-reoptimised"):  # refused before the search runs
        run_compare(setup, policies=[POLICIES / "breakup.toml", clash], runs=2, respond=True,
                    reoptimise=ReoptimiseOptions())
    assert not (tmp_path / "out").exists()


def test_policy_repeating_a_scenario_policy_is_refused(tmp_path: Path) -> None:
    scenario = _write(tmp_path / "with_cap.toml", BASELINE.read_text() + "\n[[policies]]\nkind = \"compute_cap\"\n"
                      "start_year = 2030.0\nmax_training_flop = 1e30\n")
    with pytest.raises(ScenarioError, match=r"policy name 'compute_cap' .* already used by policies\.0"):
        build_arms(*load_scenario(scenario), [POLICIES / "compute_cap.toml"])
    renamed = _write(tmp_path / "strict_cap.toml", (POLICIES / "compute_cap.toml").read_text().replace(
        'name = "compute_cap"', 'name = "strict_cap"'))
    with pytest.raises(ScenarioError, match=r"policies\.1\.kind = 'compute_cap' repeats policies\.0"):
        build_arms(*load_scenario(scenario), [renamed])
    # a different kind is appended after the scenario's own policy
    arms = build_arms(*load_scenario(scenario), [POLICIES / "breakup.toml"])
    assert [arm.kinds for arm in arms] == [["compute_cap"], ["compute_cap", "breakup"]]


def test_refuses_a_directory_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = _invoke(BASELINE, "--policy", POLICIES / "breakup.toml", "--runs", 2, "--workers", 1, "--out", out)
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


# ---------------------------------------------------------------------------------------------- policy files
def test_every_shipped_policy_file_loads() -> None:
    files = sorted(POLICIES.glob("*.toml"))
    assert sorted(p.stem for p in files) == sorted(POLICY_KINDS)  # one file per kind
    arms = build_arms(*load_scenario(BASELINE), files)
    for path, arm in zip(files, arms[1:], strict=True):
        assert arm.name == path.stem and arm.kinds == [path.stem]
        assert path.read_text().startswith("# "), path  # a comment header says what and why
        assert "assumption" in path.read_text(), path


def test_shipped_values_are_the_documented_ones() -> None:
    arms = build_arms(*load_scenario(BASELINE), sorted(POLICIES.glob("*.toml")))
    pol = {arm.name: arm.scenario.policies[0] for arm in arms[1:]}
    assert (pol["compute_cap"].max_training_flop, pol["compute_cap"].start_year) == (1e28, 2027.0)
    assert (pol["compute_tax"].rate, pol["compute_tax"].small_share) == (0.5, 0.05)
    assert (pol["windfall_tax"].rate, pol["windfall_tax"].threshold_usd_per_year) == (0.5, 1e11)
    assert (pol["rnd_subsidy"].rate, pol["rnd_subsidy"].max_share) == (0.5, 0.05)
    assert pol["open_publication"].min_openness == 0.5
    assert (pol["merger_review"].post_hhi, pol["merger_review"].delta_hhi,
            pol["merger_review"].max_merged_share, pol["merger_review"].start_year) == (1800.0, 100.0, 0.30, 2025.0)
    assert (pol["breakup"].max_share, pol["breakup"].start_year) == (0.3, 2030.0)
    assert pol["export_controls"].restricted_blocs == (1, 2)
    assert (pol["safety_standard"].min_safety, pol["safety_standard"].liability) == (0.2, 1.0)
    assert (pol["conditional_pause"].threshold_log10_eff_compute, pol["conditional_pause"].duration_years) == (34, 2)
    baseline = load_scenario(BASELINE)[0]
    blocs = {lab.name: lab.bloc for lab in baseline.labs.list}
    assert (blocs["State I"], blocs["State J"]) == (1, 2)


def test_a_policy_package_adds_several_policies(tmp_path: Path) -> None:
    package = _write(tmp_path / "package.toml", 'description = "break-up and merger review"\n'
                     '[[policies]]\nkind = "breakup"\nstart_year = 2030.0\nmax_share = 0.3\n'
                     '[[policies]]\nkind = "merger_review"\nstart_year = 2025.0\n')
    arms = build_arms(*load_scenario(BASELINE), [package])
    assert arms[1].name == "package" and arms[1].kinds == ["breakup", "merger_review"]


# ---------------------------------------------------------------------------------------------- statistics
def test_paired_mean_is_the_paired_t_interval() -> None:
    rng = np.random.Generator(np.random.PCG64(7))
    base = rng.normal(size=30)
    policy = base + rng.normal(0.3, 0.5, size=30)
    policy[4] = np.nan  # undefined in one arm: the pair is left out
    stat = paired_mean(policy, base)
    keep = np.isfinite(policy)
    ref = stats.ttest_rel(policy[keep], base[keep]).confidence_interval(0.95)
    assert stat["n_pairs"] == 29 and stat["only_baseline"] == 1 and stat["only_policy"] == 0
    assert stat["ci95"] == pytest.approx([ref.low, ref.high], rel=1e-12)
    assert paired_mean(np.array([1.0]), np.array([0.0]))["ci95"] is None


def test_paired_proportion_covers_and_uses_the_pairing() -> None:
    """Newcombe's interval: about 95 % coverage on correlated pairs, and narrower than with the pairing broken."""
    rng = np.random.Generator(np.random.PCG64(12345))
    n, p_base, q10, q01, reps = 100, 0.3, 0.15, 0.1, 1000
    theta = (1 - p_base) * q01 - p_base * q10
    covered = 0
    for _ in range(reps):
        base = rng.random(n) < p_base
        u = rng.random(n)
        policy = np.where(base, u >= q10, u < q01).astype(float)
        lo, hi = paired_proportion(policy, base.astype(float))["ci95"]
        covered += lo <= theta <= hi
    assert 0.93 <= covered / reps <= 0.97
    # breaking the pairing keeps both proportions (and Wilson intervals) but loses the correlation
    paired = paired_proportion(policy, base.astype(float))
    unpaired = paired_proportion(policy, rng.permutation(base).astype(float))
    assert paired["difference"] == unpaired["difference"]
    assert paired["ci95"][1] - paired["ci95"][0] < unpaired["ci95"][1] - unpaired["ci95"][0]


def test_paired_proportion_edges() -> None:
    same = paired_proportion(np.ones(10), np.ones(10))
    assert same["difference"] == 0.0 and same["both"] == 10
    lo, hi = same["ci95"]
    assert -1.0 <= lo < 0.0 < hi <= 1.0  # no information about the margin at 1: not a zero-width interval
    flip = paired_proportion(np.ones(20), np.zeros(20))
    assert flip["difference"] == 1.0 and flip["ci95"][1] == 1.0 and flip["ci95"][0] > 0.7
    mirrored = paired_proportion(np.zeros(20), np.ones(20))
    assert mirrored["ci95"] == pytest.approx([-flip["ci95"][1], -flip["ci95"][0]])
    assert paired_proportion(np.array([np.nan, 1.0]), np.array([0.0, 1.0]))["n_pairs"] == 1


def test_outcome_values_follow_the_ensemble_definitions() -> None:
    table = pd.DataFrame({"singularity_year": [2031.5, None], "unipolar": [True, False], "final_hhi": [5000.0, 1.0],
                          "takeoff_years": [None, 2.5]})
    by_key = {o.key: o for o in PAIRED_OUTCOMES}
    assert outcome_values(table, by_key["singularity"]).tolist() == [1.0, 0.0]
    assert outcome_values(table, by_key["unipolar"]).tolist() == [1.0, 0.0]
    assert np.isnan(outcome_values(table, by_key["takeoff_years"])[0])


def test_forest_figure_has_a_panel_per_outcome(compared: dict) -> None:
    payload = json.loads((compared["out"] / "comparison.json").read_text())
    fig = forest_figure(payload)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == [o.label for o in PAIRED_OUTCOMES]
    ticks = dict(zip([t.get_text() for t in visible[0].get_yticklabels()], visible[0].get_yticks(), strict=True))
    assert set(ticks) == {"compute_cap", "merger_review"}
    assert ticks["compute_cap"] > ticks["merger_review"]  # arms top to bottom in command-line order


def test_shared_scheduler_in_process() -> None:
    with Execution(workers=1).shared() as shared:
        assert shared.scheduler is None and shared.in_process
    with Execution(workers=4, scheduler="tcp://example:8786").shared() as shared:
        assert shared.scheduler == "tcp://example:8786"


# ---------------------------------------------------------------------------------------------- Dask
@pytest.mark.slow
def test_local_cluster_gives_the_same_comparison(tmp_path: Path, scenario_file: Path, compared: dict) -> None:
    setup = Setup.load(scenario_file, SHORT, seed=SEED, out_dir=tmp_path / "dask", execution=Execution(workers=2),
                       figures=FIGURES)
    result = run_compare(setup, policies=[POLICIES / "compute_cap.toml", POLICIES / "merger_review.toml"], runs=RUNS)
    local = pd.read_parquet(compared["out"] / "runs.parquet")
    dask = pd.read_parquet(result.out_dir / "runs.parquet")
    pd.testing.assert_frame_equal(local, dask, check_exact=True)
    assert result.summary["comparisons"] == json.loads((compared["out"] / "comparison.json").read_text())[
        "comparisons"]


# ---------------------------------------------------------------------------------------------- costs, benefits, report
def test_every_outcome_group_is_reported_with_its_statistic_and_finding(compared: dict) -> None:
    payload = json.loads((compared["out"] / "comparison.json").read_text())
    for comp in payload["comparisons"].values():
        groups = {stat["group"] for stat in comp["outcomes"].values()}
        assert groups == {"concentration", "speed", "welfare", "money", "safety"}
        for key, stat in comp["outcomes"].items():
            assert stat["statistic"] in ("mean of paired differences", "difference of proportions"), key
            ci = stat["ci95"]
            expected = ci is not None and (ci[0] > stat["min_effect"] or ci[1] < -stat["min_effect"])
            assert stat["finding"] is expected, key
        delay = comp["outcomes"]["delay_par_human"]
        assert delay["n_pairs"] == RUNS  # censored runs count at the horizon, never "0 pairs"
        assert delay["censored_policy"] + delay["censored_baseline"] >= 0 and "censored" in delay["censoring"]
    assert (compared["out"] / "tradeoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_table_never_prints_minus_zero_and_names_its_statistics(compared: dict) -> None:
    text = compared["result"].stderr
    assert not re.search(r"(?<![\w.])-0(\.0+)?(?![\d.])", text)
    assert "mean of paired differences" in text and "means over runs" in text


def test_a_finding_needs_the_interval_beyond_the_practical_threshold() -> None:
    from runs.experiments import is_finding

    assert not is_finding({"ci95": [1.0, 30.0]}, 100.0)  # a 2-point HHI change is no finding
    assert is_finding({"ci95": [120.0, 300.0]}, 100.0)
    assert is_finding({"ci95": [-300.0, -120.0]}, 100.0)
    assert not is_finding({"ci95": None}, 0.0)


def test_the_compare_report_holds_the_effects_table_and_every_figure(compared: dict) -> None:
    from html.parser import HTMLParser

    result = CliRunner().invoke(app, ["report", str(compared["out"])], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr

    class Parsed(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.figures: list[str] = []
            self.captions: list[str] = []
            self.headers: list[str] = []
            self.cells: list[str] = []
            self.notes: list[str] = []
            self._in: str | None = None

        def handle_starttag(self, tag: str, attrs: list) -> None:
            attrs = dict(attrs)
            if tag == "figure":
                self.figures.append(attrs["id"])
            if tag in ("figcaption", "th", "td") or (tag == "p" and attrs.get("class") == "note"):
                self._in = tag if tag != "p" else "note"
                {"figcaption": self.captions, "th": self.headers, "td": self.cells, "note": self.notes}[
                    self._in].append("")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("figcaption", "th", "td", "p"):
                self._in = None

        def handle_data(self, data: str) -> None:
            if self._in is not None:
                target = {"figcaption": self.captions, "th": self.headers, "td": self.cells, "note": self.notes}
                target[self._in][-1] += data

    page = Parsed()
    page.feed((compared["out"] / "report.html").read_text())
    pngs = sorted(p.name for p in compared["out"].glob("*.png"))
    assert sorted(page.figures) == pngs and {"forest.png", "tradeoff.png"} <= set(pngs)
    for caption, name in zip(page.captions, page.figures, strict=True):
        assert caption.count(name) == 1, caption
    assert {"outcome", "baseline", "policy", "difference [95 % CI]", "min effect", "finding"} <= set(page.headers)
    assert "final HHI (HHI points (0-10,000))" in page.cells and "capability delay, par-human (years)" in page.cells
    assert not [note for note in page.notes if "not known" in note or "missing" in note]
