"""Compiling the step's kernels on several cores (economy/precompile.py): the shares cover every stage once, and
the argument types it compiles for are exactly those a simulation passes, so step_batch finds every stage in the
cache (a type that differed would silently compile a second version, costing the time this module saves)."""

import inspect
import subprocess
import sys
from pathlib import Path

import numba
import pytest

from economy import precompile
from economy.engine import Simulation
from economy.kernels import step as step_module
from economy.params import Scenario


def test_stage_calls_are_step_batch_statements_in_order():
    calls = precompile.stage_calls()
    parameters = set(inspect.signature(step_module.step_batch.py_func).parameters)
    assert [name for name, _ in calls][:3] == ["begin_step", "compliance_stage", "strategy_stage"]
    assert calls[-1][0] == "record_stage"
    for name, arguments in calls:
        assert isinstance(getattr(step_module, name), numba.core.registry.CPUDispatcher), name
        assert set(arguments) <= parameters, name


def test_a_step_calling_anything_else_is_refused():
    def literal(labs, work):
        stage(labs, 1)  # noqa: F821 (parsed, never run)

    def keyword(labs, work):
        stage(labs, work=work)  # noqa: F821

    with pytest.raises(ValueError, match=r"stage\(labs, 1\)"):
        precompile.stage_calls(literal)
    with pytest.raises(ValueError, match="work=work"):
        precompile.stage_calls(keyword)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_shares_cover_every_stage_once_and_balance(n):
    names = [name for name, _ in precompile.stage_calls()]
    shares = precompile.shares(n)
    assert len(shares) == n
    assert sorted(name for share in shares for name in share) == sorted(names)
    cost = precompile.COMPILE_SECONDS
    loads = [sum(cost[name] for name in share) for share in shares]
    assert max(loads) - min(loads) <= max(cost.values())  # longest-first greedy: within one stage of even


@pytest.mark.parametrize("seeds", [[0], [0, 1, 2]])
def test_argument_types_are_those_a_simulation_passes(baseline_dict, seeds):
    sim = Simulation(Scenario.model_validate(baseline_dict), seeds, record_labs=False)
    passed = {"labs": sim.labs, "world": sim.world, "par": sim.par, "net": sim.net, "shocks": sim._shocks,
              "urn_uniforms": sim._urn, "draws": sim.draws, "work": sim.work, "rec": sim.market[1]}
    assert list(passed) == list(inspect.signature(step_module.step_batch.py_func).parameters)
    allocated = precompile._step_arguments()
    for name, value in passed.items():
        assert numba.typeof(allocated[name]) == numba.typeof(value), name


def test_a_warm_cache_is_left_alone(monkeypatch):
    said = []
    monkeypatch.setattr(precompile, "compile_kernels", lambda processes=None, loop=True: pytest.fail("compiled again"))
    monkeypatch.setattr(precompile, "compile_run_steps", lambda: pytest.fail("compiled again"))
    assert precompile.is_compiled(loop=True)  # the session compiled them (tests/conftest.py)
    assert precompile.ensure_compiled(said.append) is None
    assert precompile.ensure_compiled(said.append, loop=False) is None
    assert said == []


@pytest.mark.parametrize("loop", [True, False])
def test_an_empty_cache_is_filled_and_said(monkeypatch, loop):
    said, calls = [], []
    monkeypatch.setattr(precompile, "is_compiled", lambda loop=False: False)
    monkeypatch.setattr(precompile, "compile_kernels", lambda processes=None, loop=True: calls.append(loop) or 12.3)
    assert precompile.ensure_compiled(said.append, loop=loop) == 12.3
    assert calls == [loop]  # a single run's command does not compile the loop of a batch
    assert len(said) == 2 and "once" in said[0] and said[1] == "kernels compiled in 12 s"


def test_a_cache_without_the_loop_of_a_batch_compiles_only_that(monkeypatch):
    said, calls = [], []
    monkeypatch.setattr(precompile, "is_compiled", lambda loop=False: not loop)  # the step cached, the loop not
    monkeypatch.setattr(precompile, "compile_kernels", lambda processes=None, loop=True: pytest.fail("everything"))
    monkeypatch.setattr(precompile, "compile_run_steps", lambda: calls.append("loop"))
    assert precompile.ensure_compiled(said.append, loop=False) is None  # a single run needs nothing more
    assert precompile.ensure_compiled(said.append) is not None
    assert calls == ["loop"] and "loop of a batch" in said[0] and said[1].startswith("kernels compiled in")


SETUP_SIGNATURES = """
import importlib
import pkgutil
import sys
import numba
from economy import kernels, precompile
from economy.engine import COMPILED_DRAWS_FROM, Simulation
from economy.params import load_scenario


def signatures():
    out = set()
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(f"economy.kernels.{info.name}")
        for attribute, value in vars(module).items():
            if isinstance(value, numba.core.registry.CPUDispatcher):
                out |= {(info.name, attribute, str(sig)) for sig in value.signatures}
    return out


precompile.compile_setup()
before = signatures()
scenario, _ = load_scenario(sys.argv[1])
Simulation(scenario, [0, 1, 2])
Simulation(scenario, list(range(COMPILED_DRAWS_FROM)))._draw()  # a chunk's step draws, in compiled code
print(sorted(signatures() - before))
print(sorted({f"{module}.{kernel}" for module, kernel, _ in before}))
"""


def test_the_setup_item_compiles_the_types_the_baseline_set_up_passes():
    """In a fresh process: after the small simulation of compile_setup, setting up the baseline (its lab table,
    network and policies) and drawing a chunk's step in compiled code need no kernel signature the item did not
    already compile."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", SETUP_SIGNATURES, str(root / "runs" / "baseline.toml")], cwd=root,
                          capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    new, called = done.stdout.strip().splitlines()[-2:]
    assert new == "[]", new
    assert "record.record_initial" in called  # the item did set a simulation up
    assert "draws.draw_step" in called  # and drew a batch's step
