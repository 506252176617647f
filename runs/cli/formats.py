"""``--format``: the file formats the figures of a command are written in (docs/cli.md).

Each command that draws figures (``run``, ``ensemble``, ``sweep``, ``compare``, ``sensitivity``) takes
``--format png`` (the default), ``--format svg`` or ``--format png,svg``, and passes it to its runner with
:func:`with_figure_formats` (the figure hooks of :func:`runs.views.figure_hooks`).  ``--format none`` draws no
figure at all: the tables, summary and manifest are written as always, a few seconds sooner per command (scripts
that read only the tables; the golden test).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from runs.cli.common import bad_input

if TYPE_CHECKING:
    from runs.experiments.setup import Setup

__all__ = ["FigureFormat", "with_figure_formats"]

FigureFormat = Annotated[str, typer.Option("--format", metavar="FORMATS",
                                           help="Figure file formats: png, svg, png,svg for both, or none (no "
                                           "figures; the tables are written as always).")]


def with_figure_formats(setup: Setup, formats: str) -> Setup:
    """``setup`` with figures written in each of ``formats`` (``"png,svg"``); an unknown format is bad input."""
    from runs.experiments.result import NO_FIGURES
    from runs.views.hooks import FORMATS, figure_hooks

    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats.split(",") if f.strip()))
    if chosen == ("none",):
        return replace(setup, figures=NO_FIGURES)
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        bad_input(f"--format {formats!r}: choose png, svg, both (png,svg) or none; known: {', '.join(FORMATS)}")
    return replace(setup, figures=figure_hooks(chosen))
