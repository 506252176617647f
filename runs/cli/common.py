"""What every command shares: exit codes, options, the progress bar, the error handler and the output.

- **Exit codes** (docs/cli.md): :data:`EXIT_OK` 0, the command did what it was asked; :data:`EXIT_RUN_FAILED` 1,
  a run or a task failed (what was finished is kept); :data:`EXIT_BAD_INPUT` 2, bad input, nothing written;
  :data:`EXIT_INTERRUPTED` 130, interrupted (Ctrl-C, the shell's 128 + SIGINT).
- **Options**: each shared option is declared once, as an ``Annotated`` alias (``Overrides``, ``AsJson``, ...)
  or, where commands word their help differently, as a function that builds the alias from the words that
  differ (``set_option(" in every arm")``).
- :func:`experiment_setup`: the :class:`runs.experiments.Setup` of a command, from its shared options (the
  scenario with ``--set``, ``--seed``, ``--out``, the execution options) and its command line.
- :func:`command_errors`: the one handler that turns bad input, a failed experiment and Ctrl-C into a
  one-line message and the exit code; :func:`progress_bar`: the one progress bar (on stderr);
  :func:`output_console`: where the tables go (stdout, or stderr with ``--json``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from runs.experiments.setup import Setup

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_RUN_FAILED",
    "AsJson",
    "Chunk",
    "MaxMemory",
    "Overrides",
    "Overwrite",
    "PolicyFiles",
    "PosteriorFile",
    "ScenarioFile",
    "Scheduler",
    "ThreadsPerWorker",
    "TlsCaFile",
    "TlsCert",
    "TlsKey",
    "Workers",
    "bad_input",
    "bad_input_errors",
    "chunk_option",
    "command_errors",
    "command_line",
    "experiment_setup",
    "fail",
    "json_option",
    "number",
    "out_option",
    "output_console",
    "print_json",
    "progress_bar",
    "runs_option",
    "scheduler_option",
    "seed_option",
    "set_option",
    "workers_option",
]

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def bad_input_errors() -> tuple[type[Exception], ...]:
    """The errors that mean bad input: a one-line message, exit code 2, nothing written.

    Imported when asked for, like every import of the core, the experiments and the views in this room: the
    command line imports every command's module to build ``multipolar``, so a module-level import here would be
    paid by every command, ``--help`` and ``multipolar dashboard`` included (docs/performance.md, "Start-up").
    """
    from economy.params import ScenarioError
    from runs.experiments.result import ExperimentInputError
    from runs.views.report import ReportInputError

    return ScenarioError, ExperimentInputError, ReportInputError

MAX_SEED = 2**63 - 1


# ---------------------------------------------------------------------------------------------- options
ScenarioFile = Annotated[
    Path, typer.Argument(help="Scenario TOML file, e.g. runs/baseline.toml.", show_default=False)
]


def set_option(where: str = "", value: str = "VALUE is read as TOML, else as a string.") -> Any:
    """``--set SECTION.KEY=VALUE`` (repeatable): "Override one parameter{where} (repeatable); {value}"."""
    return Annotated[
        list[str] | None,
        typer.Option("--set", metavar="SECTION.KEY=VALUE", help=f"Override one parameter{where} (repeatable); {value}"),
    ]


def seed_option(help: str, *, bounded: bool = True) -> Any:
    """``--seed``: a root seed, 0 .. 2^63 - 1 (``bounded``) or any non-negative integer."""
    return Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED if bounded else None, help=help)]


def runs_option(help: str, *, minimum: int | None = 1) -> Any:
    """``--runs R`` (required)."""
    return Annotated[int, typer.Option("--runs", min=minimum, help=help, show_default=False)]


def out_option(default: str) -> Any:
    """``--out DIR``: "Output directory [default: {default}]."."""
    return Annotated[Path | None, typer.Option("--out", help=f"Output directory \\[default: {default}].")]


def json_option(what: str = "the summary", tables: str = "the table goes") -> Any:
    """``--json``: "Print exactly one JSON object ({what}) on stdout; {tables} to stderr."."""
    subject = f" ({what})" if what else ""
    return Annotated[bool, typer.Option("--json", help=f"Print exactly one JSON object{subject} on stdout; {tables} "
                                        "to stderr.")]


def workers_option(help: str) -> Any:
    """``--workers W``: worker processes of the local Dask cluster (default one per core)."""
    return Annotated[int | None, typer.Option("--workers", min=1, help=help)]


def scheduler_option(help: str) -> Any:
    """``--scheduler ADDRESS`` (or the environment variable ``DASK_SCHEDULER_ADDRESS``)."""
    return Annotated[str | None, typer.Option("--scheduler", envvar="DASK_SCHEDULER_ADDRESS", metavar="ADDRESS",
                                              help=help)]


def chunk_option(help: str = "Runs per chunk \\[default: R/8 within 16..200].") -> Any:
    """``--chunk K``: runs per task."""
    return Annotated[int | None, typer.Option("--chunk", min=1, help=help)]


Overrides = set_option()
PolicyFiles = Annotated[list[Path] | None, typer.Option(
    "--policy", metavar="FILE", show_default=False,
    help="Policy file (repeatable), e.g. runs/policies/compute_cap.toml: its policies join the scenario's, each "
    "addressed by its name as policies.<name>.<key> (docs/policies.md).")]
PosteriorFile = Annotated[Path | None, typer.Option(
    "--posterior", metavar="FILE", show_default=False,
    help="A calibration's posterior.parquet (multipolar calibrate): each run draws one parameter set from it by "
    "weight, replacing the [uncertain] sampling of its keys (docs/calibration.md).")]
AsJson = json_option()
Workers = workers_option("Worker processes of the local Dask cluster; 1 runs in this process \\[default: one per "
                         "core]. Ignored with --scheduler.")
ThreadsPerWorker = Annotated[int | None, typer.Option("--threads", min=1, help="Numba threads per worker \\[default: "
                                                      "1].")]
Scheduler = scheduler_option("Use a running Dask scheduler (tcp://host:port) instead of a local cluster; the output "
                             "directory must be on a filesystem its workers share.")
Chunk = chunk_option()
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Also write into an output directory holding files "
                                         "Multipolar did not write; they are kept (only its own files are replaced).")]
MaxMemory = Annotated[str | None, typer.Option("--max-memory", metavar="SIZE", help="Memory the runs may use, e.g. "
                                               "64G or 512M \\[default: what is available when the command starts].")]
TlsCaFile = Annotated[Path | None, typer.Option("--tls-ca-file", metavar="FILE", help="With --scheduler tls://...: the "
                                                "CA certificate (PEM) that signed the scheduler's certificate.")]
TlsCert = Annotated[Path | None, typer.Option("--tls-cert", metavar="FILE", help="With --scheduler tls://...: this "
                                              "client's certificate (PEM).")]
TlsKey = Annotated[Path | None, typer.Option("--tls-key", metavar="FILE", help="With --scheduler tls://...: this "
                                             "client's private key (PEM), unless it is in the --tls-cert file.")]


# ---------------------------------------------------------------------------------------------- errors
def bad_input(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with :data:`EXIT_BAD_INPUT`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with :data:`EXIT_RUN_FAILED`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_RUN_FAILED)


@contextlib.contextmanager
def command_errors() -> Iterator[None]:
    """The one error handler of the commands: bad input (:func:`bad_input_errors`) exits 2, an experiment that
    could not be completed (:class:`runs.experiments.ExperimentError`) 1, Ctrl-C 130; each with one line on
    stderr."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as err:
        from runs.experiments.result import ExperimentError

        if isinstance(err, bad_input_errors()):
            bad_input(str(err))
        if isinstance(err, ExperimentError):
            fail(str(err))
        raise
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


# ---------------------------------------------------------------------------------------------- setup
EXECUTION_OPTIONS: tuple[str, ...] = ("workers", "threads", "scheduler", "chunk", "resume", "tls_ca_file", "tls_cert",
                                      "tls_key")
"""The shared options (by parameter name) that say how an experiment's runs are computed (with ``max_memory``)."""


def experiment_setup(ctx: typer.Context, *, loop: bool = True) -> Setup:
    """The setup every runner takes, from the running command's shared options (read by parameter name).

    ``scenario`` loaded with ``overrides`` (``--set``), ``seed``, ``out``, ``overwrite``, the
    :data:`EXECUTION_OPTIONS` the command has and ``--max-memory``, the command line (:func:`command_line`) and
    the figures the command line draws (:data:`runs.views.FIGURES`).  ``--workers`` given with ``--scheduler`` is
    noted on stderr (it is ignored).  A command with ``policy_files`` (``--policy``) loads them into the scenario
    before ``--set``; one with ``posterior`` (``--posterior``) reads the posterior file.  The kernels are compiled
    first if the cache lacks them (economy.precompile.ensure_compiled; ``loop=False`` for a command that runs a
    single run, which never calls the compiled loop of a batch).
    """
    from economy.kernels.config import configure
    from economy.precompile import ensure_compiled
    from economy.resources import parse_size
    from runs.experiments.execution import Execution
    from runs.experiments.result import ExperimentInputError
    from runs.experiments.setup import Setup
    from runs.views.hooks import FIGURES

    configure()  # numba's process set-up (economy.kernels.config), before any run or Dask worker starts
    given = ctx.params
    options = {name: given[name] for name in EXECUTION_OPTIONS if name in given}
    if given.get("max_memory") is not None:
        try:
            options["max_memory"] = parse_size(given["max_memory"])
        except ValueError as err:
            raise ExperimentInputError(f"--max-memory {err}") from None
    execution = Execution(**options)
    setup = Setup.load(given["scenario"], given.get("overrides") or (), given.get("policy_files") or (),
                       seed=given["seed"], out_dir=given.get("out"), overwrite=bool(given.get("overwrite")),
                       execution=execution, command=command_line(ctx),
                       figures=FIGURES,
                       posterior=None if given.get("posterior") is None else _posterior(given["posterior"]))
    if execution.scheduler is not None and given.get("workers") is not None:
        Console(stderr=True).print(f"note: --workers {given['workers']} is ignored with --scheduler (the cluster "
                                   "has its own workers)")
    if execution.scheduler is None:  # a cluster's workers compile for their own machines
        ensure_compiled(Console(stderr=True).print, loop=loop)
    return setup


def _posterior(path: Path) -> Any:
    from runs.experiments.posterior import Posterior

    return Posterior.load(path)


# ---------------------------------------------------------------------------------------------- output
@contextlib.contextmanager
def progress_bar(description: str, unit: str = "runs") -> Iterator[Any]:
    """The progress bar on stderr; yields ``update(done, total, label=None)`` (``label`` replaces the description).

    The bar appears with the first update, so bad input found before any run starts prints its one line alone,
    and is gone when the block ends.
    """
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                   TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                   transient=True)
    tasks: list[Any] = []

    def update(done: int, total: int, label: str | None = None) -> None:
        if not tasks:
            bar.start()
            tasks.append(bar.add_task(description, total=total))
        bar.update(tasks[0], completed=done, total=total, **({} if label is None else {"description": label}))

    try:
        yield update
    finally:
        if tasks:
            bar.stop()


def output_console(as_json: bool, *, width: int | None = None) -> Console:
    """Where a command prints its tables: stdout, or stderr when stdout carries the ``--json`` object."""
    return Console(stderr=True) if as_json else Console(file=None, width=width)


def print_json(value: Any, *, allow_nan: bool = False) -> None:
    """Print exactly one JSON object on stdout (standard JSON: no NaN, no inf, unless ``allow_nan``)."""
    typer.echo(json.dumps(value, allow_nan=allow_nan))


def number(value: Any, spec: str, missing: str = "n/a") -> str:
    """``value`` formatted with ``spec``, or ``missing`` for None."""
    return missing if value is None else format(value, spec)


def command_line(ctx: typer.Context) -> list[str]:
    """The running command as an equivalent command line, for the manifest (read from its context).

    Arguments and every option with a value, in the command's order: a flag when it is on (an on/off pair when
    it differs from its default), a repeatable option once per value, no option left at None.
    """
    out = ["multipolar", str(ctx.info_name)]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None:
            continue
        if getattr(param, "is_flag", False):
            if param.secondary_opts and value != param.default:
                out.append(param.opts[0] if value else param.secondary_opts[0])
            elif value and not param.secondary_opts:
                out.append(param.opts[0])
            continue
        flag = [] if param.param_type_name == "argument" else [param.opts[0]]
        for item in value if isinstance(value, (list, tuple)) else [value]:
            out += [*flag, str(item)]
    return out
