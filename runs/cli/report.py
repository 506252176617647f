"""The ``multipolar report`` command (registered on the CLI app of :mod:`runs.cli` by :func:`register`).

Exit codes: 0 the report was written, 2 bad input (not a folder, no or unreadable manifest.json, an output
path that cannot be written).  ``python -m runs.report_cli DIR`` runs the command alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runs.report import ReportInputError, write_report

__all__ = ["EXIT_BAD_INPUT", "register", "report"]

EXIT_BAD_INPUT = 2


def report(
    folder: Annotated[Path, typer.Argument(help="Output folder of multipolar run, ensemble or sweep.",
                                           show_default=False)],
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the HTML \\[default: FOLDER/report.html].")
    ] = None,
) -> None:
    """Write one self-contained HTML report (figures embedded) of an output folder."""
    try:
        path = write_report(folder, out)
    except ReportInputError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as err:
        typer.echo(f"error: cannot write the report ({err})", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to ``app``."""
    app.command("report")(report)


def _main() -> None:  # pragma: no cover - exercised through subprocess tests
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(report)
    app()


if __name__ == "__main__":
    _main()
