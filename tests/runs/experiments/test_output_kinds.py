"""Every kind of output folder the code writes has a layout in runs.experiments.FOLDER_LAYOUTS, so rerunning into
its own folder is recognised (a kind without one failed with KeyError on the second run)."""

import re
from pathlib import Path

import pytest

from runs.experiments import FOLDER_LAYOUTS, check_output_dir

ROOT = Path(__file__).resolve().parents[3]
KIND_AT_CALL = re.compile(r'(?:OutputFolder\.(?:fresh|reused)\('
                          r'|(?:check|fresh)_output_dir\((?:[^()\n]|\([^()\n]*\))*?,\s*)"([a-z_]+)"')


def _kinds_in_code() -> set[str]:
    return {m.group(1) for path in (ROOT / "runs").rglob("*.py") for m in KIND_AT_CALL.finditer(path.read_text())}


def test_every_kind_written_has_a_layout():
    kinds = _kinds_in_code()
    assert {"ensemble", "sweep", "compare", "sensitivity", "optimize", "calibrate"} <= kinds
    assert kinds <= set(FOLDER_LAYOUTS)


@pytest.mark.parametrize("kind", sorted(FOLDER_LAYOUTS))
def test_a_folder_a_kind_wrote_may_be_written_again(tmp_path, kind):
    kind_entry = "" if kind == "run" else f', "kind": "{kind}"'
    (tmp_path / "manifest.json").write_text('{"format": "multipolar-manifest/1", "command": ["multipolar"]'
                                            + kind_entry + "}")
    for name in FOLDER_LAYOUTS[kind].files:
        (tmp_path / name).write_text("x")
    assert check_output_dir(tmp_path, kind) == check_output_dir(tmp_path, kind)  # accepted, twice, no error
