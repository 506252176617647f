"""The packages are this repository's, the core runs without Mesa, and the command line starts light.

The dependency direction itself (no import into a room above, no cycle) is checked from the code by
tests/test_architecture.py.
"""

import ast
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import agents
import economy
import runs

ROOT = Path(__file__).resolve().parents[1]


def test_packages_come_from_this_repository():
    for package in (economy, agents, runs):
        path = Path(package.__file__).resolve()
        assert path.is_relative_to(ROOT), f"{package.__name__} imported from {path}, not from {ROOT}"


def test_core_never_imports_mesa():
    code = (
        "import sys, importlib, pkgutil, economy\n"
        "for m in pkgutil.walk_packages(economy.__path__, 'economy.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m == 'mesa' or m.startswith('mesa.')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_the_command_line_loads_no_ensemble_machinery_until_a_subcommand_needs_it():
    """``multipolar run`` and ``--help`` import neither the ensemble runners nor Dask (their start-up time is the
    warm `multipolar run` figure of docs/performance.md); the subcommands import them when called."""
    code = (
        "import sys, runs.cli\n"
        "heavy = ('runs.experiments.ensemble', 'runs.experiments.compare', 'runs.experiments.sweep', 'distributed',\n"
        "         'mesa', 'runs.views.dashboard')\n"
        "bad = [m for m in heavy if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _modules_after(argv: list[str], tmp_path: Path) -> set[str]:
    """The modules loaded by ``multipolar ARGV`` (the console script's entry point, in a fresh process)."""
    code = ("import json, sys\nfrom runs.cli import main\ntry:\n    main(sys.argv[2:])\nexcept SystemExit as stop:\n"
            "    assert not stop.code, stop.code\nopen(sys.argv[1], 'w').write(json.dumps(sorted(sys.modules)))\n")
    listing = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", code, str(listing), *argv], check=True, cwd=ROOT, capture_output=True)
    return set(json.loads(listing.read_text()))


def test_the_dashboard_command_and_the_version_start_without_the_core():
    """``multipolar dashboard`` (whose server is a child process) and ``--version`` load neither numba, pandas,
    matplotlib nor the model: the page's start-up time (issue 20) begins with this process's."""
    heavy = {"numba", "pandas", "matplotlib", "economy.engine", "economy.params", "runs.experiments.result"}
    for argv in (["dashboard", "--help"], ["--version"]):
        assert not heavy & _modules_after(argv, Path(tempfile.mkdtemp())), argv


def test_a_run_without_figures_loads_no_plotting_and_no_other_command(tmp_path: Path):
    """``multipolar run --format none`` imports no matplotlib, no scipy (the posterior's sampling) and no other
    command's module (the warm single-run figure of docs/performance.md)."""
    loaded = _modules_after(["run", "runs/baseline.toml", "--format", "none", "--set", "sim.years=1", "--out",
                             str(tmp_path / "out")], tmp_path)
    assert "runs.experiments.single" in loaded
    heavy = {"matplotlib", "runs.experiments.posterior", "distributed", "runs.cli.sweep", "runs.cli.validate",
             "runs.views.run"}
    assert not heavy & loaded


def test_the_served_app_imports_only_solara_before_the_server_listens():
    """runs/views/app.py is what the Solara server imports before it listens (the page ready figure of issue 20):
    at module level it imports only Solara and the standard library; the policy lab loads in its thread."""
    tree = ast.parse((ROOT / "runs" / "views" / "app.py").read_text())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            top.add((node.module or "").split(".")[0])
    assert top == {"__future__", "threading", "solara"}
    loads = [node for node in ast.walk(tree) if isinstance(node, ast.Import)
             and any(alias.name == "runs.views.dashboard" for alias in node.names)]
    assert loads, "the policy lab is imported by the app's loading thread"
