"""numba's set-up (economy/kernels/config.py): nothing at import but naming the cache folder; configure() does the
rest, and every path to a kernel goes through it (numba issue #8578).

Each case runs in a fresh interpreter, since this one has long been configured.  numba keeps whether its threading
layer was launched in ``numba.np.ufunc.parallel._is_initialized`` (private, but the only witness there is).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
STALE = "numba-0123456789abcdef"

IMPORT_EVERYTHING = """
import importlib, pkgutil, economy, numba.np.ufunc.parallel as parallel
for module in pkgutil.walk_packages(economy.__path__, "economy."):
    importlib.import_module(module.name)
from economy.kernels import config
assert config.cache_folder().startswith(sys.argv[1]), config.cache_folder()
assert not parallel._is_initialized, "importing economy launched numba's threads"
"""

CONFIGURE_TWICE = """
import numba.np.ufunc.parallel as parallel
from economy.kernels.config import cache_folder, configure
configure()
configure()
assert parallel._is_initialized
print(cache_folder())
"""

SIMULATE = """
import numba.np.ufunc.parallel as parallel
from economy.engine import Simulation
from economy.params import load_scenario
scenario, _ = load_scenario("runs/baseline.toml", ["sim.years=0.25", "network.kind=complete"])
assert not parallel._is_initialized
simulation = Simulation(scenario, [0])
assert parallel._is_initialized, "a Simulation was built without economy.kernels.config.configure()"
simulation.run()
print(simulation.steps_done)
"""


def _python(code: str, cache: Path | None, *args: str) -> str:
    env = dict(os.environ)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    done = subprocess.run([sys.executable, "-c", "import sys\n" + code, *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, check=False, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_importing_the_core_starts_no_threads_and_deletes_nothing(tmp_path: Path) -> None:
    stale = tmp_path / STALE
    stale.mkdir()
    (stale / "kernel.nbi").write_text("an older version's cache")
    _python(IMPORT_EVERYTHING, tmp_path, str(tmp_path))
    assert (stale / "kernel.nbi").exists()


def test_configure_removes_older_cache_folders_and_launches_the_threads_once(tmp_path: Path) -> None:
    (tmp_path / STALE).mkdir()
    (tmp_path / "not-a-cache").mkdir()
    current = Path(_python(CONFIGURE_TWICE, tmp_path).strip())
    assert current.parent == tmp_path and current.name.startswith("numba-") and current.name != STALE
    assert not (tmp_path / STALE).exists()
    assert (tmp_path / "not-a-cache").exists()


def test_a_fresh_process_builds_and_steps_a_simulation_with_the_threads_launched() -> None:
    """The path of every command and notebook: import the engine, build a Simulation, step it (the kernels come
    from this worktree's cache, warm once any earlier test has compiled them)."""
    assert _python(SIMULATE, None).strip() == "3"


WAIT_POLICY = """
import ctypes, os, numba
from economy.kernels.config import configure
configure()
print(os.environ["OMP_WAIT_POLICY"])
if numba.threading_layer() == "omp":  # what libgomp itself took (it prints its settings on stderr)
    ctypes.CDLL("libgomp.so.1").omp_display_env(0)
"""


def _wait_policy(policy: str | None) -> tuple[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    done = subprocess.run([sys.executable, "-c", WAIT_POLICY], cwd=ROOT, env=env, text=True, capture_output=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip(), done.stderr


def test_idle_threads_sleep_unless_the_user_chose_otherwise() -> None:
    """configure() sets OMP_WAIT_POLICY=PASSIVE before numba's OpenMP pool starts (spinning threads took a core from
    every other process: docs/performance.md, "Idle threads"); a user's own value is kept."""
    chosen, displayed = _wait_policy(None)
    assert chosen == "PASSIVE"
    if "OMP_WAIT_POLICY" in displayed:  # the OpenMP layer: libgomp read it
        assert "OMP_WAIT_POLICY = 'PASSIVE'" in displayed
    chosen, displayed = _wait_policy("ACTIVE")
    assert chosen == "ACTIVE"
    if "OMP_WAIT_POLICY" in displayed:
        assert "OMP_WAIT_POLICY = 'ACTIVE'" in displayed
