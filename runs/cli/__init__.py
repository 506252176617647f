"""The command-line room: the ``multipolar`` program (typer + rich), one module per command.

:mod:`~runs.cli.run` (``run`` and ``schema``), :mod:`~runs.cli.dashboard`, :mod:`~runs.cli.ensemble`,
:mod:`~runs.cli.sweep`, :mod:`~runs.cli.report`, :mod:`~runs.cli.validate`, :mod:`~runs.cli.sensitivity`,
:mod:`~runs.cli.compare`, :mod:`~runs.cli.optimize` and :mod:`~runs.cli.calibrate` parse options, call the
experiments (:mod:`runs.experiments`, :mod:`runs.checks`) with the views' figures (:data:`runs.views.FIGURES`) and
print; :mod:`~runs.cli.common` holds what they share (exit codes, options, the progress bar, the error handler).
``app`` is the console-script entry point; ``python -m runs.cli COMMAND`` runs it too.  The commands that run
ensembles import their machinery when called, so ``multipolar run`` and ``--help`` start without it
(docs/performance.md).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

from economy.kernels.config import configure
from runs.cli.calibrate import calibrate
from runs.cli.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED
from runs.cli.compare import compare
from runs.cli.dashboard import dashboard
from runs.cli.ensemble import ensemble
from runs.cli.optimize import optimize
from runs.cli.reference import REFERENCE_BEGIN, REFERENCE_END, command_reference, render_reference_into
from runs.cli.report import report
from runs.cli.run import run, schema
from runs.cli.sensitivity import sensitivity
from runs.cli.sweep import points_table, sweep
from runs.cli.tables import csv_rows
from runs.cli.validate import validate

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_RUN_FAILED",
    "REFERENCE_BEGIN",
    "REFERENCE_END",
    "app",
    "command_reference",
    "csv_rows",
    "points_table",
    "render_reference_into",
]

app = typer.Typer(
    name="multipolar",
    help="Simulator of the AI-lab economy: winner-take-all markets, reinvestment, recursive self-improvement.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for _name, _command in (("schema", schema), ("run", run), ("dashboard", dashboard), ("ensemble", ensemble),
                        ("sweep", sweep), ("report", report), ("validate", validate), ("sensitivity", sensitivity),
                        ("compare", compare), ("optimize", optimize), ("calibrate", calibrate)):
    app.command(_name)(_command)


def _print_version(given: bool) -> None:
    if given:
        typer.echo(f"multipolar {version('multipolar')}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _set_up_numba(
    _version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                           help="Print the installed version and exit.")] = False,
) -> None:
    # Before any command: numba's process set-up (economy.kernels.config.configure).  No docstring: typer would
    # show it as the program's help.
    configure()
