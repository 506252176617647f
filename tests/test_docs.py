"""The documentation cannot drift from the code it describes."""

import os
from pathlib import Path

from runs.views import BEGIN, END, parameter_rows, render_into

ROOT = Path(__file__).resolve().parents[1]


def test_model_doc_parameter_table_is_current():
    text = (ROOT / "docs" / "model.md").read_text()
    assert BEGIN in text and END in text
    assert render_into(text) == text, "run: python -m runs.views.paramdoc --write docs/model.md"


def test_every_parameter_has_unit_range_and_provenance():
    rows = parameter_rows()
    assert len(rows) > 50
    for row in rows:
        assert row["unit"], row["key"]
        assert row["range"].startswith(("[", "(")), row["key"]
        assert row["provenance"].split(":")[0] in {"data", "estimate", "assumption"}, row["key"]


def test_issue_public_parameter_names_exist():
    keys = {row["key"] for row in parameter_rows()}
    for key in ("sim.start_year", "sim.years", "sim.dt", "labs.n", "research.returns_to_research",
                "research.parallelism", "research.substitution", "research.max_automation",
                "market.winner_take_all", "market.switching_years", "market.data_flywheel",
                "compute.hw_doubling_years"):
        assert key in keys, key


def test_cli_doc_command_reference_is_current():
    from runs.cli import REFERENCE_BEGIN, REFERENCE_END, app, render_reference_into

    path = ROOT / "docs" / "cli.md"
    text = path.read_text()
    assert REFERENCE_BEGIN in text and REFERENCE_END in text
    if os.environ.get("MULTIPOLAR_WRITE_DOCS"):
        path.write_text(render_reference_into(text, app))
        text = path.read_text()
    assert render_reference_into(text, app) == text, "run: MULTIPOLAR_WRITE_DOCS=1 pytest tests/test_docs.py"
    assert "### `multipolar dashboard`" in text and "`--format FORMATS`" in text
