"""The command line as a new user meets it: --version, help text without markup losses, tables at 80 columns."""

from __future__ import annotations

import csv
import io
import json
from importlib.metadata import version

import pandas as pd
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from runs.cli import app, csv_rows, points_table

ENV = {"COLUMNS": "80", "TERM": "dumb", "NO_COLOR": "1", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"], env=ENV)
    assert result.exit_code == 0
    assert result.output == f"multipolar {version('multipolar')}\n"


def test_help_keeps_square_brackets_that_rich_would_read_as_markup() -> None:
    result = CliRunner().invoke(app, ["sensitivity", "--help"], env=ENV)
    assert "the [uncertain] keys with their priors" in " ".join(result.output.split())


def test_run_help_lists_every_output_file() -> None:
    result = CliRunner().invoke(app, ["run", "--help"], env=ENV)
    text = " ".join(result.output.split())
    for name in ("market.parquet", "labs.parquet", "events.parquet", "summary.json", "manifest.json", "overview.png",
                 "network.png", "network_start.graphml", "network_end.graphml"):
        assert name in text, name


def test_the_sweep_table_fits_80_columns_and_wraps_headers_between_words() -> None:
    summary = {"planes": [{"keys": ["research.returns_to_research", "market.winner_take_all"]}],
               "scenario": "baseline", "points": 4, "runs_per_point": 100, "seed": 0,
               "out_dir": "runs/out/baseline-sweep"}
    rows = [{"research.returns_to_research": r, "market.winner_take_all": g, "p_unipolar": 0.115,
             "p_unipolar_lo": 0.06, "p_unipolar_hi": 0.2, "p_singularity": 1.0, "p_singularity_lo": 0.96,
             "p_singularity_hi": 1.0, "median_final_hhi": 2345.0} for r in (0.5, 3.0) for g in (5.0, 40.0)]
    buffer = io.StringIO()
    Console(file=buffer, width=80).print(points_table(summary, pd.DataFrame(rows)))
    lines = buffer.getvalue().splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    cells = [cell.strip() for line in lines for cell in line.strip("┃│").split("┃" if "┃" in line else "│")]
    words = {word for cell in cells for word in cell.split()}
    for word in ("returns", "research", "winner", "P(unipolar)", "P(singularity)", "median", "final", "HHI"):
        assert word in words, (word, buffer.getvalue())
    assert sum("12% [6%-20%]" in line and "100% [96%-100%]" in line and "2,345" in line for line in lines) == 4


def test_format_writes_the_figures_as_png_and_svg_and_rejects_an_unknown_format(tmp_path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "runs/baseline.toml", "--set", "sim.years=1", "--format", "png,svg",
                                      "--out", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    for name in ("overview", "network"):
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        assert (out / f"{name}.svg").read_bytes().lstrip().startswith(b"<?xml")
    bad = CliRunner().invoke(app, ["run", "runs/baseline.toml", "--format", "pdf", "--out", str(tmp_path / "bad")],
                             env=ENV)
    assert bad.exit_code == 2
    assert "--format 'pdf'" in bad.output and not (tmp_path / "bad").exists()


def test_format_none_writes_the_tables_and_no_figure(tmp_path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "runs/baseline.toml", "--set", "sim.years=1", "--format", "none",
                                      "--out", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    assert (out / "market.parquet").is_file() and (out / "summary.json").is_file()
    assert not list(out.glob("*.png")) and not list(out.glob("*.svg"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert not [name for name in manifest["files"] if name.endswith((".png", ".svg"))]
    mixed = CliRunner().invoke(app, ["run", "runs/baseline.toml", "--format", "png,none", "--out",
                                     str(tmp_path / "mixed")], env=ENV)
    assert mixed.exit_code == 2 and "--format 'png,none'" in mixed.output


def test_csv_prints_the_table_alone_on_stdout_and_refuses_json_too(tmp_path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "runs/baseline.toml", "--set", "sim.years=1", "--csv", "--out", str(out)],
                                env=ENV)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["outcome", "value"] and len(rows) > 10
    values = dict(rows[1:])
    summary = json.loads((out / "summary.json").read_text())
    assert values["final HHI (0-10,000)"] == f"{summary['final_hhi']:,.0f}"
    for order in (["--csv", "--json"], ["--json", "--csv"]):
        both = CliRunner().invoke(app, ["run", "runs/baseline.toml", *order, "--out", str(tmp_path / "both")], env=ENV)
        assert both.exit_code == 2 and "--csv and --json" in both.output
        assert not (tmp_path / "both").exists()


def test_several_tables_share_one_csv_with_a_table_column() -> None:
    tables = []
    for title in ("hhi", "share"):
        table = Table(title=title)
        table.add_column("factor")
        table.add_column("total effect")
        table.add_row("gamma", "0.61")
        tables.append(table)
    other = Table(title="notes")
    other.add_column("note")
    other.add_row("a, b")
    assert csv_rows([*tables, other]) == [["table", "factor", "total effect"], ["hhi", "gamma", "0.61"],
                                          ["share", "gamma", "0.61"], [], ["table", "note"], ["notes", "a, b"]]
    assert csv_rows(tables[:1]) == [["factor", "total effect"], ["gamma", "0.61"]]
