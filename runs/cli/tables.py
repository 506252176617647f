"""``--csv``: the tables a command prints, as CSV on stdout (docs/cli.md).

Every command that prints a table (``run``, ``ensemble``, ``sweep``, ``compare``, ``sensitivity``,
``validate``) takes ``--csv``: the table goes to stdout as CSV (a header line, then one line per row, the cells'
text as the table shows it) and everything else the command prints (notes, the output folder) goes to stderr.
A command that prints several tables adds a first column ``table`` with each table's title; tables with other
columns follow after an empty line with their own header.  ``--csv`` and ``--json`` both want stdout, so they
do not go together.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from runs.cli.common import bad_input, output_console

__all__ = ["AsCsv", "csv_rows", "one_stdout", "table_console", "write_tables"]

AsCsv = Annotated[bool, typer.Option("--csv", help="Print the table as CSV on stdout (notes go to stderr).")]


def one_stdout(as_json: bool, as_csv: bool) -> None:
    """Bad input (before any work) when both ``--json`` and ``--csv`` ask for stdout."""
    if as_json and as_csv:
        bad_input("--csv and --json both print on stdout: choose one")


def table_console(as_json: bool, as_csv: bool, *, width: int | None = None) -> Console:
    """Where the command's other lines go: stderr when stdout carries the JSON object or the CSV."""
    return output_console(as_json or as_csv, width=width)


def _text(cell: Any) -> str:
    return " ".join(str(getattr(cell, "plain", cell)).split())


def csv_rows(tables: Sequence[Table]) -> list[list[str]]:
    """The rows of ``tables`` as text (see the module docstring for several tables)."""
    rows: list[list[str]] = []
    several = len(tables) > 1
    header: list[str] | None = None
    for table in tables:
        names = [_text(column.header) for column in table.columns]
        if names != header:
            if header is not None:
                rows.append([])
            rows.append(["table", *names] if several else names)
            header = names
        columns = [[_text(cell) for cell in column.cells] for column in table.columns]
        title = _text(table.title or "")
        for cells in zip(*columns, strict=True):
            rows.append([title, *cells] if several else list(cells))
    return rows


def write_tables(tables: Sequence[Table], console: Console, as_csv: bool) -> None:
    """Print ``tables`` on ``console``, or as CSV on stdout."""
    if as_csv:
        csv.writer(sys.stdout, lineterminator="\n").writerows(csv_rows(tables))
        return
    for table in tables:
        console.print(table)
