"""The ``multipolar report`` command: one self-contained HTML report of an output folder (docs/views.md).

Exit codes as in :mod:`runs.cli.common`: 0 the report was written, 2 bad input (not a folder, no or unreadable
manifest.json, an output path that cannot be written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runs.cli.common import bad_input, command_errors
from runs.views.report import write_report

__all__ = ["report"]

Folder = Annotated[Path, typer.Argument(help="Output folder of multipolar run, ensemble or sweep.", show_default=False)]
Out = Annotated[Path | None, typer.Option("--out", help="Where to write the HTML \\[default: FOLDER/report.html].")]


def report(folder: Folder, out: Out = None) -> None:
    """Write one self-contained HTML report (figures embedded) of an output folder."""
    with command_errors():
        try:
            path = write_report(folder, out)
        except OSError as err:
            bad_input(f"cannot write the report ({err})")
    typer.echo(str(path))
