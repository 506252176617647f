"""Network files: every bad input is a ValueError naming network.file, the file and the line, node or edge and
attribute, and value; expat reads no external entity and stops entity bombs (issue 21 item 5, economy/network.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from economy.network import MAX_EDGE_WEIGHT, load_graph_file

NAMES = ["Lab A", "Lab B", "Lab C"]
GRAPHML_HEAD = ('<?xml version="1.0"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
                '<key id="w" for="edge" attr.name="weight" attr.type="double"/>\n'
                '<key id="o" for="node" attr.name="openness" attr.type="double"/>\n'
                '<graph edgedefault="undirected">\n')
GRAPHML_TAIL = "</graph>\n</graphml>\n"


def _load(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_graph_file(path, NAMES)
    message = str(info.value)
    assert message.startswith(f"network.file {path}") and "\n" not in message
    return message


def test_a_duplicate_edge_line_does_not_hide_an_invalid_weight(tmp_path: Path) -> None:
    assert "line 1: edge (0, 1) has weight '-1'" in _load(tmp_path, "dup.txt", "0 1 -1\n0 1 2\n")
    assert "line 2: edge (1, 0) has weight '-1'" in _load(tmp_path, "dup2.txt", "0 1 2\n1 0 -1\n")


@pytest.mark.parametrize("weight", ["1e308", "inf", "nan", "1e13"])
def test_weights_that_would_overflow_the_totals_are_refused(tmp_path: Path, weight: str) -> None:
    assert f"has weight {weight!r}" in _load(tmp_path, "big.txt", f"0 1 {weight}\n1 2 1\n")
    ok = tmp_path / "ok.txt"
    ok.write_text(f"0 1 {MAX_EDGE_WEIGHT!r}\n")
    assert load_graph_file(ok, NAMES)[0][1]["weight"] == MAX_EDGE_WEIGHT


def test_malformed_xml_names_the_file(tmp_path: Path) -> None:
    assert "not a readable GraphML file" in _load(tmp_path, "bad.graphml", GRAPHML_HEAD + "<node id='0'>")


def test_an_entity_bomb_is_stopped_by_expat(tmp_path: Path) -> None:
    entities = ['<!ENTITY e0 "lol">'] + [f'<!ENTITY e{k} "{f"&e{k - 1};" * 10}">' for k in range(1, 10)]
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE graphml [' + "".join(entities) + "]>\n"
            '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">'
            '<node id="&e9;"/></graph></graphml>\n')
    assert "not a readable GraphML file" in _load(tmp_path, "bomb.graphml", bomb)


def test_an_external_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("0")
    xxe = ('<?xml version="1.0"?>\n<!DOCTYPE graphml [<!ENTITY x SYSTEM "' + secret.as_uri() + '">]>\n'
           '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
           '<key id="l" for="node" attr.name="lab_id" attr.type="int"/><graph edgedefault="undirected">'
           '<node id="a"><data key="l">&x;</data></node></graph></graphml>\n')
    message = _load(tmp_path, "xxe.graphml", xxe)
    assert "undefined entity" in message


def test_a_text_attribute_names_the_node_and_key(tmp_path: Path) -> None:
    text = GRAPHML_HEAD + '<node id="0"><data key="o">abc</data></node><node id="1"/>' + GRAPHML_TAIL
    assert "node '0' has openness = 'abc', which is not a number" in _load(tmp_path, "text.graphml", text)
    edge = (GRAPHML_HEAD + '<node id="0"/><node id="1"/><edge source="0" target="1"><data key="w">heavy</data>'
            "</edge>" + GRAPHML_TAIL)
    assert "edge ('0', '1') has weight = 'heavy'" in _load(tmp_path, "edge.graphml", edge)


def test_a_text_lab_id_names_the_node(tmp_path: Path) -> None:
    text = ('<?xml version="1.0"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
            '<key id="l" for="node" attr.name="lab_id" attr.type="string"/><graph edgedefault="undirected">'
            '<node id="a"><data key="l">x</data></node></graph></graphml>\n')
    assert "node 'a' has lab_id = 'x'" in _load(tmp_path, "labid.graphml", text)


def test_a_binary_edge_list_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bin.txt"
    path.write_bytes(b"0 1 \xff\xfe\n")
    with pytest.raises(ValueError, match="not a UTF-8 text edge list"):
        load_graph_file(path, NAMES)
