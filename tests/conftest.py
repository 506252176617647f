"""Shared fixtures: the baseline scenario and small scenarios built from plain dictionaries; the quick benchmark
started in the background when the session collects tests/test_benchmarks.py."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from economy.kernels.config import configure
from economy.params import Scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE_PATH = ROOT / "runs" / "baseline.toml"

SMALL_LABS: tuple[dict[str, Any], ...] = (
    {"name": "Lab A", "kind": "frontier", "cash_usd": 1e10, "compute_flop_per_year": 3e27, "researchers": 1500.0,
     "log_software": 0.0},
    {"name": "Lab B", "kind": "open_weights", "cash_usd": 4e9, "compute_flop_per_year": 1.5e27,
     "researchers": 800.0, "log_software": -0.4},
    {"name": "Lab C", "kind": "state_programme", "cash_usd": 3e9, "compute_flop_per_year": 4e26,
     "researchers": 500.0, "log_software": -1.0, "bloc": 1},
)
"""Three labs of different archetypes (investor- and state-funded), all starting behind a common frontier."""


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``overrides`` merged in, nested dictionaries merged key by key."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def scenario_dict(lab_list: list[dict[str, Any]] | tuple[dict[str, Any], ...] | None = None,
                  **sections: dict[str, Any]) -> dict[str, Any]:
    """A small scenario as a plain dictionary: ``lab_list`` listed (default :data:`SMALL_LABS`), two years."""
    base: dict[str, Any] = {
        "name": "test",
        "sim": {"years": 2.0, "dt": 1 / 12},
        "labs": {"list": [dict(lab) for lab in (SMALL_LABS if lab_list is None else lab_list)]},
    }
    return deep_merge(base, sections)


def build_scenario(lab_list: list[dict[str, Any]] | tuple[dict[str, Any], ...] | None = None,
                   **sections: dict[str, Any]) -> Scenario:
    """Validate :func:`scenario_dict`; keyword arguments are scenario sections merged over the defaults."""
    return Scenario.model_validate(scenario_dict(lab_list, **sections))


def load_baseline_dict() -> dict[str, Any]:
    with BASELINE_PATH.open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="session")
def baseline_dict() -> dict[str, Any]:
    """runs/baseline.toml as parsed TOML (a fresh deep copy is the caller's job before changing it)."""
    return load_baseline_dict()


@pytest.fixture(scope="session")
def baseline(baseline_dict: dict[str, Any]) -> Scenario:
    """The validated baseline scenario."""
    return Scenario.model_validate(baseline_dict)


@pytest.fixture(scope="session")
def make_scenario() -> Callable[..., Scenario]:
    """The :func:`build_scenario` builder: ``make_scenario(lab_list=None, research={...}, labs={"n": 5})``."""
    return build_scenario


def pytest_configure(config: pytest.Config) -> None:
    """numba's process set-up (economy.kernels.config.configure): tests call kernels directly, not only through
    ``Simulation``."""
    configure()


# ---------------------------------------------------------------------------------------------- quick benchmark
QUICK_BENCHMARK = pytest.StashKey[dict[str, Any]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``benchmark`` run last: they wait for the background benchmark, which has run meanwhile."""
    items.sort(key=lambda item: item.get_closest_marker("benchmark") is not None)  # stable: the rest keep order


def pytest_collection_finish(session: pytest.Session) -> None:
    """Plan ``benchmarks/run.py --quick`` in the background if a test marked ``benchmark`` was collected.

    It runs for about 3.5 minutes, most of it single-threaded compilation (its cold start), so on CI's two cores
    it overlaps the rest of the suite instead of adding to it; tests/test_benchmarks.py waits for it and checks
    its outputs.  It starts once the first test is done (:func:`pytest_runtest_teardown`): in a fresh clone that
    test has compiled the kernels into the shared cache, which the benchmark's own warm-up then only loads.
    Its timings are not the machine's (it asserts none): docs/performance.md's figures come from a run of the
    script alone.
    """
    if session.config.option.collectonly or not any(item.get_closest_marker("benchmark") for item in session.items):
        return
    session.config.stash[QUICK_BENCHMARK] = {"process": None}


def pytest_runtest_teardown(item: pytest.Item) -> None:
    _start_quick_benchmark(item.config)


def _start_quick_benchmark(config: pytest.Config) -> None:
    planned = config.stash.get(QUICK_BENCHMARK, None)
    if planned is None or planned["process"] is not None:
        return
    folder = Path(tempfile.mkdtemp(prefix="multipolar-quick-benchmark-"))
    out = folder / "performance.json"
    stdout = (folder / "stdout.txt").open("w")
    stderr = (folder / "stderr.txt").open("w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
                            cwd=ROOT, stdout=stdout, stderr=stderr, text=True)
    planned.update(process=proc, out=out, folder=folder, files=(stdout, stderr))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop a quick benchmark still running (an interrupted or deselected session) and remove its folder."""
    started = session.config.stash.get(QUICK_BENCHMARK, None)
    if started is None or started["process"] is None:
        return
    proc = started["process"]
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for handle in started["files"]:
        handle.close()
    shutil.rmtree(started["folder"], ignore_errors=True)


@pytest.fixture
def quick_benchmark(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The background quick benchmark, finished: ``returncode``, ``out`` (its JSON path), ``stdout``, ``stderr``."""
    _start_quick_benchmark(request.config)  # not yet started when this is the session's first test
    started = request.config.stash.get(QUICK_BENCHMARK, None)
    if started is None:
        pytest.fail("the quick benchmark was not planned (pytest_collection_finish saw no test marked benchmark)")
    proc = started["process"]
    returncode = proc.wait(timeout=1800)
    for handle in started["files"]:
        handle.flush()
    folder = started["folder"]
    return {"returncode": returncode, "out": started["out"],
            "stdout": (folder / "stdout.txt").read_text(), "stderr": (folder / "stderr.txt").read_text()}
