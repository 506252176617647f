"""The command-line room: the ``multipolar`` program (typer + rich), one module per command.

:mod:`~runs.cli.run` (``run`` and ``schema``), :mod:`~runs.cli.dashboard`, :mod:`~runs.cli.ensemble`,
:mod:`~runs.cli.sweep`, :mod:`~runs.cli.report`, :mod:`~runs.cli.validate`, :mod:`~runs.cli.sensitivity`,
:mod:`~runs.cli.compare`, :mod:`~runs.cli.optimize` and :mod:`~runs.cli.calibrate` parse options, call the
experiments (:mod:`runs.experiments`, :mod:`runs.checks`) with the views' figures (:data:`runs.views.FIGURES`) and
print; :mod:`~runs.cli.common` holds what they share (exit codes, options, the progress bar, the error handler).
:func:`main` is the console-script entry point (``python -m runs.cli COMMAND`` runs it too): it builds the
program with only the command it is asked for (:func:`program`), and each command imports the core, the
experiments and the views when it runs, so ``multipolar dashboard`` and ``--help`` start in a fraction of a
second and ``multipolar run`` loads neither the ensemble machinery nor, with ``--format none``, matplotlib
(docs/performance.md, "Start-up").  :data:`app` is the whole program (what the tests invoke).
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Iterable
from importlib.metadata import version
from typing import Annotated, Any

import typer

from runs.cli.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED
from runs.cli.reference import REFERENCE_BEGIN, REFERENCE_END, command_reference, render_reference_into
from runs.cli.tables import csv_rows

__all__ = [
    "COMMANDS",
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_RUN_FAILED",
    "REFERENCE_BEGIN",
    "REFERENCE_END",
    "app",
    "command_reference",
    "csv_rows",
    "main",
    "points_table",
    "program",
    "render_reference_into",
]

COMMANDS: dict[str, str] = {"schema": "run", "run": "run", "dashboard": "dashboard", "ensemble": "ensemble",
                            "sweep": "sweep", "report": "report", "validate": "validate",
                            "sensitivity": "sensitivity", "compare": "compare", "optimize": "optimize",
                            "calibrate": "calibrate"}
"""Each command of ``multipolar``, in the order of its help, and its module in this room (the function has the
command's name)."""


def _print_version(given: bool) -> None:
    if given:
        typer.echo(f"multipolar {version('multipolar')}")
        raise typer.Exit(EXIT_OK)


def _options(
    _version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                           help="Print the installed version and exit.")] = False,
) -> None:
    # The program's own options.  No docstring: typer would show it as the program's help.  Numba's process set-up
    # (economy.kernels.config.configure) is done by the commands that run the model (runs.cli.common.experiment_setup,
    # economy.Simulation), so --help and multipolar dashboard start without importing numba.
    return


def program(names: Iterable[str] = tuple(COMMANDS)) -> typer.Typer:
    """The ``multipolar`` program with the commands ``names`` (all by default), importing their modules."""
    built = typer.Typer(
        name="multipolar",
        help="Simulator of the AI-lab economy: winner-take-all markets, reinvestment, recursive self-improvement.",
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    for name in names:
        built.command(name)(getattr(importlib.import_module(f"{__name__}.{COMMANDS[name]}"), name))
    built.callback()(_options)
    return built


def main(argv: list[str] | None = None) -> None:
    """The console script: ``multipolar`` with only the command named on the command line.

    Building the program imports each command's module; most import the core, the experiments or the views
    only when they run, but loading all eleven would still be paid by every command.  So the program is built
    with the one command named (the first word that is not an option: the program's own options take no
    value), and with all of them when none is named or the word is not a command (``--help``, a typo:
    click then lists or suggests them).  The command behaves exactly as in :data:`app`
    (tests/runs/cli/test_cli_help.py); docs/performance.md, "Start-up".

    As the console script (``argv`` None) the process ends with the command, so the objects it made are frozen
    out of the garbage collector first (:func:`gc.freeze`): the interpreter's last collections at exit would
    otherwise walk them all (numba's compiled libraries, pandas', matplotlib's), 0.18 s of a 2.0 s
    ``multipolar run``.  Everything else at exit still happens: atexit handlers, the flush of stdout and stderr,
    the finalizers of objects freed by reference counting; the command has closed its own files before it returns.
    """
    args = sys.argv[1:] if argv is None else argv
    words = [word for word in args if not word.startswith("-")]
    named = words[0] if words and words[0] in COMMANDS else None
    if named is None and "--version" in args and "--help" not in args:
        names: tuple[str, ...] = ()  # the version alone needs no command
    else:
        names = (named,) if named else tuple(COMMANDS)
    try:
        program(names)(args=args, prog_name="multipolar")
    finally:
        if argv is None:
            gc.freeze()


def __getattr__(name: str) -> Any:
    # app (the whole program) is built on first use; points_table loads the sweep command's module
    if name == "app":
        value = program()
    elif name == "points_table":
        value = importlib.import_module(f"{__name__}.sweep").points_table
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
