"""Fuzzed input files (issue 21): scenario files, policy tables and files, edge lists and GraphML.  Every input
either runs (exit 0) or is refused (exit 2) with one line naming what is wrong; never a traceback, never exit 1,
never a file outside --out."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from economy.params import POLICY_KINDS, Scenario
from runs.cli import app

pytestmark = pytest.mark.slow

EXAMPLES = 12
SIZE_KEYS = {("sim", "years"), ("sim", "dt"), ("labs", "n"), ("labs", "max_entrants"), ("output", "labs_every"),
             ("output", "max_events_per_step")}
"""Keys that size a run: fuzzed with a few small values only, so that a valid draw runs in about a second."""
SECTIONS = {name: tuple(info.annotation.model_fields) for name, info in Scenario.model_fields.items()
            if hasattr(info.annotation, "model_fields")}
LABS = ('[[labs.list]]\nname = "Lab A"\nkind = "frontier"\ncash_usd = 1e10\ncompute_flop_per_year = 3e27\n'
        'researchers = 1500.0\n\n[[labs.list]]\nname = "Lab B"\nkind = "open_weights"\ncash_usd = 4e9\n'
        'compute_flop_per_year = 1.5e27\nresearchers = 800.0\n\n[[labs.list]]\nname = "Lab C"\n'
        'kind = "state_programme"\ncash_usd = 3e9\ncompute_flop_per_year = 4e26\nresearchers = 500.0\nbloc = 1\n')
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e308, 0.0, -1.0, 1e-320, 2.5]),
    st.integers(-(2**70), 2**70), st.booleans(), st.text(max_size=6), st.lists(st.integers(0, 3), max_size=3),
)
small_values = st.sampled_from([0, -1, 0.25, 0.5, 1, 2, 1e308, math.nan, "x", True])


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, (int, list)):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=True)


@st.composite
def scenario_edits(draw: st.DrawFn) -> dict[str, dict[str, object]]:
    edits: dict[str, dict[str, object]] = {}
    for _ in range(draw(st.integers(1, 3))):
        section = draw(st.sampled_from(sorted(SECTIONS)))
        key = draw(st.one_of(st.sampled_from(SECTIONS[section]), st.sampled_from(["bogus", "n_labs"])))
        value = draw(small_values if (section, key) in SIZE_KEYS else values)
        edits.setdefault(section, {})[key] = value
    return edits


def _scenario_text(edits: dict[str, dict[str, object]], extra: str = "") -> str:
    sim = {"years": 0.5, "dt": 0.25, **edits.get("sim", {})}
    tables = {**edits, "sim": sim}
    body = "".join(f"[{section}]\n" + "".join(f"{key} = {_toml(v)}\n" for key, v in keys.items()) + "\n"
                   for section, keys in tables.items())
    return f'name = "fuzz"\n\n{body}{LABS}{extra}'


@contextmanager
def _sandbox() -> Iterator[Path]:
    """A fresh current folder (hypothesis reuses the test's fixtures across examples)."""
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(here)


def _check(root: Path, inputs: set[str], args: list[str], *needles: str) -> None:
    """Run ``multipolar ARGS --out root/out``: exit 0, or exit 2 with one ``error:`` line naming one of
    ``needles``; no traceback; nothing written outside ``root/out`` but the inputs."""
    result = CliRunner().invoke(app, [*args, "--out", str(root / "out")])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert any(needle in lines[0] for needle in needles), (needles, lines[0])
    else:
        assert (root / "out" / "manifest.json").is_file()
    assert {p.name for p in root.iterdir()} <= {"out", *inputs}


@SETTINGS
@given(edits=scenario_edits())
def test_fuzzed_scenario_files(edits: dict[str, dict[str, object]]) -> None:
    with _sandbox() as root:
        path = root / "scenario.toml"
        path.write_text(_scenario_text(edits))
        keys = [f"{section}.{key}" for section, table in edits.items() for key in table]
        _check(root, {path.name}, ["run", str(path)], str(path), *keys, "scenario 'fuzz'")


policy_tables = st.fixed_dictionaries(
    {"kind": st.one_of(st.sampled_from(POLICY_KINDS), st.text(max_size=4))},
    optional={"start_year": st.one_of(st.floats(2000, 2100), values), "rate": values, "max_training_flop": values,
              "bogus": values, "end_year": values},
)


@SETTINGS
@given(table=policy_tables)
def test_fuzzed_policy_tables_in_a_scenario(table: dict[str, object]) -> None:
    with _sandbox() as root:
        path = root / "scenario.toml"
        extra = "\n[[policies]]\n" + "".join(f"{key} = {_toml(v)}\n" for key, v in table.items())
        path.write_text(_scenario_text({}, extra))
        _check(root, {path.name}, ["run", str(path)], str(path), "policies.0")


@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(table=policy_tables)
def test_fuzzed_policy_files_in_a_comparison(table: dict[str, object]) -> None:
    with _sandbox() as root:
        scenario = root / "scenario.toml"
        scenario.write_text(_scenario_text({}))
        policy = root / "policy.toml"
        policy.write_text("[[policies]]\n" + "".join(f"{key} = {_toml(v)}\n" for key, v in table.items()))
        _check(root, {scenario.name, policy.name},
               ["compare", str(scenario), "--policy", str(policy), "--runs", "2", "--workers", "1"],
               str(policy), "policies.0")


tokens = st.sampled_from(["0", "1", "2", "7", "-1", "1e308", "inf", "nan", "abc", "2.5", "Lab_A", "#", ",",
                          "source", "target", "0x1", "\u00e9"])
edge_lists = st.lists(st.lists(tokens, min_size=0, max_size=4).map(" ".join), max_size=6).map("\n".join)


@SETTINGS
@given(text=edge_lists)
def test_fuzzed_edge_lists(text: str) -> None:
    with _sandbox() as root:
        edges = root / "edges.txt"
        edges.write_text(text + "\n")
        path = root / "scenario.toml"
        path.write_text(_scenario_text({"network": {"kind": "file", "file": str(edges)}}))
        _check(root, {path.name, edges.name}, ["run", str(path)], "network.file")


GRAPHML_KEYS = ('<key id="w" for="edge" attr.name="weight" attr.type="double"/>'
                '<key id="o" for="node" attr.name="openness" attr.type="{otype}"/>'
                '<key id="l" for="node" attr.name="lab_id" attr.type="{ltype}"/>')
BOMB = ('<!DOCTYPE graphml [<!ENTITY a "aaaaaaaaaa">' + "".join(
    f'<!ENTITY {chr(98 + k)} "{f"&{chr(97 + k)};" * 10}">' for k in range(8)) + "]>")


@st.composite
def graphml_texts(draw: st.DrawFn) -> str:
    node_ids = draw(st.lists(st.sampled_from(["0", "1", "2", "9", "Lab A", "x", "&i;"]), max_size=4))
    nodes = "".join(
        f'<node id="{v}">'
        + (f'<data key="o">{draw(st.sampled_from(["0.5", "abc", "2", "nan", ""]))}</data>' if draw(st.booleans())
           else "")
        + (f'<data key="l">{draw(st.sampled_from(["0", "1", "5", "-1", "q"]))}</data>' if draw(st.booleans())
           else "")
        + "</node>" for v in node_ids)
    ends = st.sampled_from(node_ids or ["0", "1"])
    edges = "".join(
        f'<edge source="{draw(ends)}" target="{draw(ends)}">'
        f'<data key="w">{draw(st.sampled_from(["1", "-1", "1e308", "inf", "heavy", "0"]))}</data></edge>'
        for _ in range(draw(st.integers(0, 3))))
    doctype = draw(st.sampled_from(["", BOMB, '<!DOCTYPE graphml [<!ENTITY i SYSTEM "file:///etc/hostname">]>']))
    keys = GRAPHML_KEYS.format(otype=draw(st.sampled_from(["double", "string"])),
                               ltype=draw(st.sampled_from(["int", "string"])))
    text = (f'<?xml version="1.0"?>{doctype}<graphml xmlns="http://graphml.graphdrawing.org/xmlns">{keys}'
            f'<graph edgedefault="{draw(st.sampled_from(["undirected", "directed"]))}">{nodes}{edges}</graph>'
            "</graphml>")
    cut = draw(st.integers(0, len(text)))
    return text if draw(st.booleans()) else text[:cut]


@SETTINGS
@given(text=graphml_texts())
def test_fuzzed_graphml(text: str) -> None:
    with _sandbox() as root:
        graph = root / "graph.graphml"
        graph.write_text(text)
        path = root / "scenario.toml"
        path.write_text(_scenario_text({"network": {"kind": "file", "file": str(graph)}}))
        _check(root, {path.name, graph.name}, ["run", str(path)], "network.file")
