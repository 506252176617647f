"""Shared fixtures (the baseline scenario, small scenarios built from plain dictionaries) and the session's set-up:
numba configured, the kernels compiled once before pytest-xdist's workers start, the longest modules first."""

from __future__ import annotations

import copy
import time
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


def baseline_text_without_uncertain() -> str:
    """runs/baseline.toml's text without its ``[uncertain]`` table, for tests that append a table of their own."""
    sections, found, table = BASELINE_PATH.read_text().partition("\n[uncertain]\n")
    if not found or any(line.startswith("[") for line in table.splitlines()):
        raise ValueError("runs/baseline.toml: expected [uncertain] as its last table")
    return sections + "\n"


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


# ---------------------------------------------------------------------------------------------- test order
def pytest_configure(config: pytest.Config) -> None:
    """numba's process set-up (economy.kernels.config.configure): tests call kernels directly, not only through
    ``Simulation``."""
    configure()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Under pytest-xdist (``make test`` runs ``pytest -n 2``) the controller loads or compiles the kernels once
    before its workers start (this hook runs before xdist's, which starts them), so the workers and the processes
    they start (CLI commands, Dask workers, the dashboard's server, notebook kernels) load them from the cache
    instead of each compiling them.  In one process (``make check``) only an empty cache is filled, on every core
    at once (economy.precompile), which the first test would otherwise do on one."""
    config = session.config
    if hasattr(config, "workerinput"):
        return
    if getattr(config.option, "numprocesses", None):
        warm_kernels(config)
    else:
        from economy.precompile import ensure_compiled

        ensure_compiled(lambda message: None)


def warm_kernels(config: pytest.Config) -> None:
    """One step of the baseline (labs recorded, spillover network on): the kernels of every stage (the few others,
    e.g. a policy's or a Python strategy's, compile in the first test that calls them)."""
    from economy.engine import Simulation
    from economy.precompile import ensure_compiled

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("loading the kernels once for the workers (a fresh clone compiles them: a minute or two)")
    t0 = time.perf_counter()
    ensure_compiled(lambda message: None)  # a fresh clone: the step's kernels compiled on every core at once
    Simulation(Scenario.model_validate(load_baseline_dict()), [0], record_labs=True).step()
    if reporter is not None:
        reporter.write_line(f"kernels ready in {time.perf_counter() - t0:.1f} s")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest modules first, so that under ``pytest -n 2 --dist loadfile --no-loadscope-reorder`` the last module
    to finish is a short one (longest-processing-time-first scheduling): modules with a test marked ``benchmark``,
    then ``browser``, then ``slow``, then the rest, each group in collection order (the sort is stable)."""
    rank: dict[str, int] = {}
    for item in items:
        marks = {mark.name for mark in item.iter_markers()}
        weight = 0 if "benchmark" in marks else 1 if "browser" in marks else 2 if "slow" in marks else 3
        rank[item.nodeid.split("::")[0]] = min(rank.get(item.nodeid.split("::")[0], 3), weight)
    items.sort(key=lambda item: rank[item.nodeid.split("::")[0]])


STRONG_CAP = """
name = "strong_cap"
[[policies]]
kind = "compute_cap"
start_year = 2025.0
max_training_flop = 3e26
"""


@pytest.fixture(scope="session")
def strong_cap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A policy file ``strong_cap.toml``: a compute cap at 3e26 FLOP from 2025, binding on the baseline's frontier
    labs from the start (so every comparison with it has an effect to measure)."""
    path = tmp_path_factory.mktemp("policy") / "strong_cap.toml"
    path.write_text(STRONG_CAP)
    return path
