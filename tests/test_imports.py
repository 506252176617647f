"""The packages are this repository's, the core runs without Mesa, and the command line starts light.

The dependency direction itself (no import into a room above, no cycle) is checked from the code by
tests/test_architecture.py.
"""

import subprocess
import sys
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
