"""``multipolar report``: one self-contained HTML file per output folder (runs/views/report.py, runs/cli/report.py)."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from economy.params import load_scenario
from runs.cli import app
from runs.experiments import Execution, Plane, Setup, parse_grid, run_ensemble, run_single, run_sweep
from runs.views import FIGURES, REPORT_NAME, build_report, detect_kind, run_figure_set, write_report

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
IMG = re.compile(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">')


def _report(*args: str):
    return CliRunner().invoke(app, ["report", *map(str, args)], catch_exceptions=False)


def _images(text: str) -> list[bytes]:
    images = [base64.b64decode(m, validate=True) for m in IMG.findall(text)]
    assert text.count("<img") == len(images), "every <img> embeds a base64 PNG"
    assert all(data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000 for data in images)
    return images


def _self_contained(text: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", text), "no external resource"
    assert "<link" not in text and "<script" not in text and "@import" not in text


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("report")
    sc, text = load_scenario(BASELINE, ["sim.years=2"])
    setup = Setup(sc, text, overrides=["sim.years=2"], execution=Execution(workers=1), figures=FIGURES)
    run_single(replace(setup, seed=3, out_dir=base / "run"))
    run_ensemble(replace(setup, seed=1, out_dir=base / "ensemble"), runs=6)
    planes = (Plane((parse_grid("market.winner_take_all=5:30:2"),)),)
    run_sweep(Setup.load(BASELINE, ["sim.years=1"], out_dir=base / "sweep", execution=Execution(workers=1),
                         figures=FIGURES), runs=2, planes=planes)
    return {"run": base / "run", "ensemble": base / "ensemble", "sweep": base / "sweep"}


def test_run_report_embeds_every_figure(outputs: dict[str, Path]) -> None:
    folder = outputs["run"]
    result = _report(folder)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(folder / REPORT_NAME)
    text = (folder / REPORT_NAME).read_text(encoding="utf-8")
    _self_contained(text)
    generated = run_figure_set(pd.read_parquet(folder / "market.parquet"), pd.read_parquet(folder / "labs.parquet"),
                               json.loads((folder / "summary.json").read_text()))
    pngs = {p.name for p in folder.glob("*.png")}
    expected = set(generated) | pngs  # the figures drawn from the tables, plus the network the run wrote
    assert "network.png" in pngs
    assert len(_images(text)) == len(expected)
    for name in expected:
        assert f'<figure id="{name}">' in text
    for words in ("What was run", "baseline", "sim.years=2", "root seed", "3", "git commit", "numpy",
                  "final HHI (0-10,000)", "effective number of labs", "Scenario file (TOML)"):
        assert words in text, words


def test_ensemble_report(outputs: dict[str, Path]) -> None:
    folder = outputs["ensemble"]
    path = write_report(folder)
    text = path.read_text(encoding="utf-8")
    _self_contained(text)
    assert "Multipolar ensemble report" in text and "P(unipolar)" in text
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert len(pngs) == 4 and len(_images(text)) == 4
    positions = [text.index(f'<figure id="{name}">') for name in
                 ("fan_hhi.png", "fan_quality.png", "leader_share.png", "rank_shares.png")]
    assert positions == sorted(positions)
    assert "6 in chunks of" in text


def test_sweep_report_has_the_points_table(outputs: dict[str, Path]) -> None:
    folder = outputs["sweep"]
    report = build_report(folder)
    assert report.kind == "sweep" and list(report.figures) == ["phase_diagram.png"]
    text = write_report(folder).read_text(encoding="utf-8")
    assert len(_images(text)) == 1
    assert "Grid points" in text and "winner_take_all" in text and "P(unipolar) [95 % CI]" in text
    assert text.count('<td class="num">points/') == 2
    # the table fits the page: no header or cell holds a word longer than a short number with its interval, and
    # the widest unbreakable piece of every column adds up to far less than the page's ~1,100 px (about 7 px a
    # character at 0.82rem, plus padding)
    table = text[text.index('<table class="fit">'):]
    table = table[:table.index("</table>")]
    columns: dict[int, int] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table):
        for k, cell in enumerate(re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)):
            columns[k] = max(columns.get(k, 0), max(len(word) for word in html.unescape(cell).split()))
    assert max(columns.values()) <= 14, columns
    assert sum(7 * width + 17 for width in columns.values()) < 1_100, columns


def test_unknown_kind_degrades_gracefully(outputs: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "later"
    folder.mkdir()
    manifest = json.loads((outputs["run"] / "manifest.json").read_text())
    manifest["kind"] = "a_later_kind"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "summary.json").write_text(json.dumps({"difference": {"p_unipolar": 0.25, "ci": [0.1, 0.4]}}))
    shutil.copy(outputs["run"] / "overview.png", folder / "delta.png")
    result = _report(folder)
    assert result.exit_code == 0, result.output
    text = (folder / REPORT_NAME).read_text(encoding="utf-8")
    assert "not known to this version" in text and "difference.p_unipolar" in text and "[0.1, 0.4]" in text
    assert len(_images(text)) == 1


def test_missing_tables_are_noted_not_fatal(outputs: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "partial"
    shutil.copytree(outputs["run"], folder)
    (folder / "labs.parquet").unlink()
    (folder / "summary.json").unlink()
    text = write_report(folder).read_text(encoding="utf-8")
    assert "summary.json is missing" in text and "could not be read" in text
    assert len(_images(text)) == len(list(folder.glob("*.png")))  # the PNG files the run wrote


def test_detect_kind() -> None:
    assert detect_kind({"files": {"market.parquet": {}, "labs.parquet": {}}}) == "run"
    assert detect_kind({"ensemble": {"format": "x"}}) == "ensemble"
    assert detect_kind({"kind": "sweep", "sweep": {}}) == "sweep"
    assert detect_kind({"kind": "compare"}) == "compare"
    assert detect_kind({}) == "unknown"


@pytest.mark.parametrize("case", ["missing", "file", "no-manifest", "bad-json"])
def test_bad_input_exits_2(tmp_path: Path, case: str) -> None:
    target = tmp_path / "target"
    if case == "file":
        target.write_text("x")
    elif case == "no-manifest":
        target.mkdir()
    elif case == "bad-json":
        target.mkdir()
        (target / "manifest.json").write_text("{not json")
    result = _report(target)
    assert result.exit_code == 2
    expected = {"missing": "does not exist", "file": "is not a folder", "no-manifest": "no manifest.json",
                "bad-json": "cannot be read as JSON"}[case]
    assert expected in result.stderr and str(target) in result.stderr
    assert not (tmp_path / "target" / REPORT_NAME).exists() if target.is_dir() else True


def test_registered_on_the_multipolar_app(outputs: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["report", str(outputs["sweep"])], catch_exceptions=False)
    assert result.exit_code == 0 and (outputs["sweep"] / REPORT_NAME).is_file()


def test_module_entry_point(outputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "elsewhere.html"
    done = subprocess.run([sys.executable, "-m", "runs.cli", "report", str(outputs["ensemble"]), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and len(_images(out.read_text(encoding="utf-8"))) == 4
