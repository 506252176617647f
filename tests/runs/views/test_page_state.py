"""The policy lab's opening state (runs/views/dashboard.py): ``multipolar dashboard --policy FILE`` opens with
that file's toggle on, unless the URL carries a state of its own; a page without a query (Solara's router gives
None) opens too.  Run in a subprocess because the page module reads its environment when imported (5-7 s each:
marked slow, they run in ``make test``)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CAP = ROOT / "runs" / "policies" / "compute_cap.toml"

SCRIPT = """
import importlib
import json
page = importlib.import_module("runs.views.dashboard")  # served by solara, not part of runs.views' API
TOGGLES, initial_state = page.TOGGLES, page.initial_state
print(json.dumps({"none": initial_state(None).policies, "empty": initial_state("").policies,
                  "query": initial_state("?scenario=baseline&seed=3").policies,
                  "toggles": [t.stem for t in TOGGLES]}))
import threading
for thread in threading.enumerate():  # the page's kernel warm-up: exiting under it can crash the interpreter
    if thread.name == "multipolar-warm-up":
        thread.join()
"""


def _states(policy_files: str) -> dict:
    env = {**os.environ, "MULTIPOLAR_POLICY_FILES": policy_files}
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_policy_files_given_to_the_command_open_switched_on(tmp_path):
    mine = tmp_path / "my_cap.toml"
    mine.write_text(CAP.read_text())
    states = _states(os.pathsep.join([str(mine)]))
    assert "my_cap" in states["toggles"] and "compute_cap" in states["toggles"]
    assert states["none"] == ["my_cap"] and states["empty"] == ["my_cap"]
    assert states["query"] == []  # the URL's own state wins


@pytest.mark.slow
def test_without_policy_files_the_page_opens_with_none_on():
    states = _states("")
    assert states["none"] == [] and states["empty"] == [] and "compute_cap" in states["toggles"]
