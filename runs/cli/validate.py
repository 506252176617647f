"""The ``multipolar validate`` command: the validation cases of :mod:`runs.checks.validation` (docs/validation.md).

Prints the table (case, source, expected, measured, tolerance, result).  Exit codes as in
:mod:`runs.cli.common`: 0 every row passed, 1 some row failed, 2 bad input (an unknown case).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from runs.checks.validation import CASES, HEADER, ValidationReport, run_cases
from runs.cli.common import bad_input, fail, json_option, print_json
from runs.cli.tables import AsCsv, one_stdout, table_console, write_tables

__all__ = ["report_table", "validate"]

Quick = Annotated[bool, typer.Option("--quick", help="Smaller statistical cases (fewer runs and customers); their "
                                     "tolerances shrink or widen with the sample, never by hand.")]
Cases = Annotated[list[str] | None,
                  typer.Option("--case", metavar="NAME", help=f"Run only this case (repeatable): {', '.join(CASES)}.")]
Details = Annotated[bool, typer.Option("--details", help="Add a column with each row's details.")]
AsJson = json_option("")


def validate(quick: Quick = False, cases: Cases = None, details: Details = False, as_json: AsJson = False,
             as_csv: AsCsv = False) -> None:
    """Check the model against closed forms, known limits and its own accounting (docs/validation.md)."""
    one_stdout(as_json, as_csv)
    names = list(cases or [])
    unknown = [n for n in names if n not in CASES]
    if unknown:
        bad_input(f"unknown validation case {', '.join(unknown)}; known: {', '.join(CASES)}")
    with Console(stderr=True).status("validating") as status:
        report = run_cases(quick=quick, names=names or None, progress=lambda name: status.update(f"case {name}"))
    console = table_console(as_json, as_csv, width=max(Console().width, 160))
    write_tables([report_table(report, details)], console, as_csv)
    failed = [row.case for row in report.rows if not row.passed]
    if as_json:
        print_json(report.as_dict(), allow_nan=True)  # a case that crashed measured NaN
    if failed:
        fail(f"{len(failed)} of {len(report.rows)} validation rows failed: {'; '.join(failed)}")


def report_table(report: ValidationReport, details: bool = False) -> Table:
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
