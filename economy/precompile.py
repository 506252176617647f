"""Compile the step's kernels on several cores at once, before their first use.

Compiling is serial inside one process, and with an empty cache the first step of a simulation spends minutes
compiling (docs/performance.md, "Compile time"): almost all of it in the stage kernels that
:func:`economy.kernels.step.step_batch` calls, each compiled on its own before the step itself.  Here the stages
are shared out over ``processes`` processes (longest first, each to the least loaded, by the compile times in
:data:`COMPILE_SECONDS`); each compiles its share from the argument types alone (``Dispatcher.compile``, nothing
is executed) and writes it to the on-disk cache (economy.kernels.config); this process then compiles
``step_batch``, which loads every stage from the cache instead of compiling it.  Meanwhile one more process
compiles the kernels a simulation calls while it is set up (the starting capability, growth and record) by
building a small simulation (:func:`compile_setup`, nothing is stepped): the step's own compile is serial, and
this keeps a second core busy during it.  Last, this process compiles the loop of a batch that draws in compiled
code (:func:`compile_run_steps`, economy.kernels.step.run_steps), which links the step and the draws from the
cache.  The machine code is the one a
first call would produce: the same functions for the same argument types, so results are unchanged.

The stages and the arguments each receives are read from ``step_batch``'s own source, so this list cannot drift
from the step: a stage call is a statement ``stage(arg, ...)`` whose arguments are ``step_batch``'s parameters.

``python -m economy.precompile [--processes N]`` does it from the command line; ``python -m economy.precompile
--share I --of N`` compiles one share (what the helper processes run).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numba
import numpy as np

from economy.kernels import layout as L
from economy.kernels import step as step_module
from economy.kernels.config import cache_folder, configure
from economy.kernels.draws import draw_step_threads
from economy.network import CSRGraph, network_state
from economy.state import allocate_draws, allocate_labs, allocate_work, allocate_world

__all__ = ["COMPILE_SECONDS", "compile_kernels", "compile_run_steps", "compile_setup", "compile_share",
           "ensure_compiled", "is_compiled", "shares", "stage_calls"]

COMPILE_SECONDS: dict[str, float] = {
    "money_stage": 34.3, "demand_stage": 22.7, "strategy_stage": 21.0, "spillover_stage": 15.5,
    "factor_market_stage": 15.4, "breakup_stage": 13.8, "research_stage": 11.9, "record_stage": 11.6,
    "compliance_stage": 11.2, "incident_stage": 9.0, "training_stage": 6.0, "begin_step": 1.0,
}
"""Seconds each stage took to compile with an empty cache (this 2-core machine, numba 0.68.1, commit 7a285a4),
callees included; they only balance the shares (a stage missing here counts as the mean).  The set-up kernels
(:func:`compile_setup`) took 11.9 s, ``step_batch`` itself 13 s once its stages were cached (commit 02a5ed7).
Since the stages and their helpers compile without numba's wrappers (economy.kernels.config.kernel, 2026-12-07)
each takes about half as long, and the two shares these figures make still finish together (38.7 s each, then
``step_batch`` 9.9 s beside the set-up kernels)."""


def _step_arguments() -> dict[str, Any]:
    """One tiny value of each of ``step_batch``'s arguments, allocated as economy.engine.Simulation allocates them
    (so ``numba.typeof`` gives the types a simulation passes), by parameter name."""
    labs = allocate_labs(1, 1)
    empty = CSRGraph(np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0))
    return {
        "labs": labs, "world": allocate_world(1, 2), "par": np.zeros((1, L.N_PARAMS)),
        "net": network_state([empty], labs), "shocks": np.zeros((1, 1)), "urn_uniforms": np.zeros((1, 1)),
        "draws": allocate_draws(1, 1), "work": allocate_work(1, 1), "rec": np.zeros((1, L.N_MARKET)),
    }


def _argument_types(names: Sequence[str]) -> tuple[Any, ...]:
    """The numba types of the named ``step_batch`` arguments, in order (:func:`_step_arguments`)."""
    arguments = _step_arguments()
    return tuple(numba.typeof(arguments[name]) for name in names)


def stage_calls(step: Callable[..., Any] | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """The stage calls of ``step`` (default ``step_batch``'s Python source) in order: (kernel name, the names of the
    parameters it passes).  ValueError on a statement that calls anything else than ``name(parameter, ...)``."""
    source = textwrap.dedent(inspect.getsource(step or step_module.step_batch.py_func))
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    parameters = {arg.arg for arg in function.args.args}
    calls = []
    for statement in function.body:
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
            continue
        call = statement.value
        if not isinstance(call.func, ast.Name) or call.keywords:
            raise ValueError(f"step_batch: a stage call must be name(args), got {ast.unparse(call)}")
        names = tuple(arg.id for arg in call.args if isinstance(arg, ast.Name) and arg.id in parameters)
        if len(names) != len(call.args):
            raise ValueError(f"step_batch: a stage receives only step_batch's parameters, got {ast.unparse(call)}")
        calls.append((call.func.id, names))
    return calls


def shares(n: int) -> list[list[str]]:
    """The stages split into ``n`` shares of about equal compile time: longest first, each to the least loaded."""
    names = [name for name, _ in stage_calls()]
    mean = sum(COMPILE_SECONDS.values()) / len(COMPILE_SECONDS)
    cost = {name: COMPILE_SECONDS.get(name, mean) for name in names}
    out: list[list[str]] = [[] for _ in range(n)]
    load = [0.0] * n
    for name in sorted(names, key=lambda name: (-cost[name], names.index(name))):
        i = load.index(min(load))
        out[i].append(name)
        load[i] += cost[name]
    return out


def compile_share(share: int, of: int) -> None:
    """Compile share ``share`` of ``of`` (:func:`shares`) for the argument types a simulation passes."""
    configure()
    calls = dict(stage_calls())
    for name in shares(of)[share]:
        getattr(step_module, name).compile(_argument_types(calls[name]))


def compile_setup() -> None:
    """Build a small simulation: its set-up kernels compile (and are cached) for the types every simulation
    passes, and so do the compiled draws of a batch (:func:`economy.kernels.draws.draw_step`, one step's draws
    of a batch of ``COMPILED_DRAWS_FROM`` runs) and of a large step (``draw_step_threads``); nothing is stepped,
    so ``step_batch`` is left to :func:`compile_kernels`."""
    from economy.engine import COMPILED_DRAWS_FROM, Simulation  # the engine imports the kernels; only this needs it

    sim = Simulation(_small_scenario(), list(range(COMPILED_DRAWS_FROM)))
    sim._draw()
    # a large step's draws (economy.engine.DRAWS_COMPILED_FROM): the same argument types
    draw_step_threads(sim._rng_states(), *sim._switches(), sim._urn_draws, sim._shocks, sim._urn, sim.draws)
    step_module.note_founders(sim.world, sim._founders)  # what a batch that draws in Python calls after each step


def _small_scenario():
    from economy.params import Scenario

    return Scenario.model_validate({"name": "precompile", "labs": {"n": 4}, "sim": {"years": 1.0}})


def compile_run_steps() -> None:
    """Step a small batch of ``COMPILED_DRAWS_FROM`` runs once: :func:`economy.kernels.step.run_steps`, the loop of
    a batch that draws in compiled code, compiles, linking ``step_batch`` and ``draw_step`` from the cache."""
    from economy.engine import COMPILED_DRAWS_FROM, Simulation

    Simulation(_small_scenario(), list(range(COMPILED_DRAWS_FROM)), keep_events=False).step()


def is_compiled(loop: bool = False) -> bool:
    """Whether the cache already holds ``step_batch`` (then a first call loads it in seconds), and with ``loop`` the
    loop of a batch that draws in compiled code too (``run_steps``, :func:`compile_run_steps`)."""
    folder = cache_folder()
    names = ("step.step_batch", "step.run_steps") if loop else ("step.step_batch",)
    return bool(folder) and all(any(Path(folder).glob(f"*/{name}-*.nbi")) for name in names)


def _cores() -> int:
    """The cores this process may use, at most 4 (more shares than stages of similar size buy nothing)."""
    return min(4, len(os.sched_getaffinity(0)))


def compile_kernels(processes: int | None = None, loop: bool = True) -> float:
    """Compile the step's kernels, shared out over ``processes`` processes (default: the cores this process may
    use, at most 4), then ``step_batch`` here, then (``loop``) :func:`compile_run_steps`; return the seconds taken.
    With one process it is the first call's compile.  A helper process that fails only costs time: whatever it did
    not cache, ``step_batch`` compiles."""
    configure()
    t0 = time.perf_counter()
    n = processes or _cores()
    helpers = [
        subprocess.Popen([sys.executable, "-m", "economy.precompile", "--share", str(i), "--of", str(n)])
        for i in range(1, n)
    ]
    try:
        compile_share(0, n)
    finally:
        for helper in helpers:
            helper.wait()
    setup = subprocess.Popen([sys.executable, "-m", "economy.precompile", "--setup"]) if n > 1 else None
    try:
        step_module.step_batch.compile(
            _argument_types(tuple(inspect.signature(step_module.step_batch.py_func).parameters)))
    finally:
        if setup is not None:
            setup.wait()
    if setup is None or setup.returncode != 0:
        compile_setup()  # one process, or the helper failed: here (it loads whatever the helper cached)
    if loop:
        compile_run_steps()
    return time.perf_counter() - t0


def ensure_compiled(say: Callable[[str], None], loop: bool = True) -> float | None:
    """:func:`compile_kernels` if the cache does not hold the step yet (:func:`is_compiled`), telling ``say`` what
    it does and how long it took; the seconds, or None when there was nothing to do.  ``loop``: the command runs
    batches of :data:`economy.engine.COMPILED_DRAWS_FROM` runs or more, so their compiled loop is compiled too (a
    single run, ``multipolar run``, passes False: the loop costs some 7 s to compile and a single run never calls
    it); with the step cached and only the loop missing, only the loop."""
    if is_compiled(loop):
        return None
    if is_compiled():
        say("compiling the loop of a batch of runs for this version of the code, once (seconds)")
        t0 = time.perf_counter()
        compile_run_steps()
        seconds = time.perf_counter() - t0
    else:
        n = _cores()
        say(f"compiling the kernels for this version of the code, once, on {n} processes (a minute or two)")
        seconds = compile_kernels(n, loop)
    say(f"kernels compiled in {seconds:.0f} s")
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m economy.precompile", description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=None, help="processes to compile with (default: cores, <= 4)")
    parser.add_argument("--share", type=int, default=None, help="compile only this share (helper processes)")
    parser.add_argument("--of", type=int, default=1, help="the number of shares")
    parser.add_argument("--setup", action="store_true", help="compile only the set-up kernels (a helper process)")
    args = parser.parse_args(argv)
    if args.setup:
        configure()
        compile_setup()
        return
    if args.share is not None:
        compile_share(args.share, args.of)
        return
    print(f"kernels compiled in {compile_kernels(args.processes):.1f} s")


if __name__ == "__main__":
    main()
