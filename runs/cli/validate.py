"""The ``multipolar validate`` command (registered on the CLI app of :mod:`runs.cli` by :func:`register`).

Runs every validation case of :mod:`runs.validation` and prints the table (case, source, expected, measured,
tolerance, result).  Exit codes: 0 every row passed, 1 some row failed, 2 bad input (an unknown case).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from runs.validation import CASES, HEADER, Report, run_cases

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "register", "report_table", "validate"]

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def validate(
    quick: Annotated[bool, typer.Option("--quick", help="Smaller statistical cases (fewer runs and customers); "
                                        "their tolerances shrink or widen with the sample, never by hand.")] = False,
    cases: Annotated[
        list[str] | None,
        typer.Option("--case", metavar="NAME", help=f"Run only this case (repeatable): {', '.join(CASES)}."),
    ] = None,
    details: Annotated[bool, typer.Option("--details", help="Add a column with each row's details.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout; the table goes "
                                          "to stderr.")] = False,
) -> None:
    """Check the model against closed forms, known limits and its own accounting (docs/validation.md)."""
    names = list(cases or [])
    unknown = [n for n in names if n not in CASES]
    if unknown:
        typer.echo(f"error: unknown validation case {', '.join(unknown)}; known: {', '.join(CASES)}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    err_console = Console(stderr=True)
    with err_console.status("validating") as status:
        report = run_cases(quick=quick, names=names or None, progress=lambda name: status.update(f"case {name}"))
    console = err_console if as_json else Console(file=sys.stdout, width=max(Console().width, 160))
    console.print(report_table(report, details))
    failed = [row.case for row in report.rows if not row.passed]
    if as_json:
        typer.echo(json.dumps(report.as_dict(), allow_nan=True))
    if failed:
        typer.echo(f"error: {len(failed)} of {len(report.rows)} validation rows failed: {'; '.join(failed)}", err=True)
        raise typer.Exit(EXIT_FAILED)


def report_table(report: Report, details: bool = False) -> Table:
    """The validation rows as a rich table."""
    passed = sum(row.passed for row in report.rows)
    title = (f"validation{' (quick)' if report.quick else ''}: {passed} of {len(report.rows)} rows pass "
             f"in {report.seconds:.1f} s")
    table = Table(title=Text(title), title_justify="left")
    for name in HEADER:
        table.add_column(name, justify="right" if name in ("measured", "tolerance") else "left",
                         overflow="fold")
    if details:
        table.add_column("details", overflow="fold")
    for row in report.rows:
        cells = list(row.cells())
        result = Text(cells[-1], style="green" if row.passed else "bold red")
        extra = [Text(row.detail)] if details else []
        table.add_row(*(Text(c) for c in cells[:-1]), result, *extra)
    return table


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command to ``app``."""
    app.command("validate")(validate)


if __name__ == "__main__":  # pragma: no cover
    _app = typer.Typer(add_completion=False)
    register(_app)
    _app()
