"""The command line's help texts and bad-input exit code, snapshotted before the restructure (issue 15).

A change meant to alter a help text regenerates the snapshots with
``MULTIPOLAR_WRITE_HELP=1 .venv/bin/pytest tests/runs/cli/test_cli_help.py`` and says why in its commit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import runs.cli
from runs.cli import app, program

HELP = Path(__file__).resolve().parents[2] / "golden" / "help"
COMMANDS = ("", "schema", "run", "dashboard", "ensemble", "sweep", "report", "validate", "sensitivity", "compare",
            "optimize", "calibrate")
ENV = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}


def _help(command: str) -> str:
    result = CliRunner().invoke(app, [*([command] if command else []), "--help"], env=ENV)
    assert result.exit_code == 0, result.output
    return "\n".join(line.rstrip() for line in result.output.splitlines()) + "\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_text_is_unchanged(command: str) -> None:
    path = HELP / f"{command or 'multipolar'}.txt"
    text = _help(command)
    if os.environ.get("MULTIPOLAR_WRITE_HELP"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in ("", "schema", "validate", "report")])
def test_a_missing_scenario_file_is_bad_input(command: str, tmp_path: Path) -> None:
    extra = {"ensemble": ["--runs", "2"], "compare": ["--runs", "2", "--policy", "runs/policies/compute_cap.toml"],
             "sweep": ["--runs", "2"], "sensitivity": [],
             "optimize": ["--runs", "2", "--trials", "2", "--objective", "min p_unipolar", "--search",
                          "policies.compute_cap.max_training_flop=1e26:1e29:log"]}.get(command, [])
    result = CliRunner().invoke(app, [command, str(tmp_path / "missing.toml"), *extra], env=ENV)
    assert result.exit_code == 2, result.output
    assert "missing.toml" in result.output


@pytest.mark.parametrize("command", [c for c in COMMANDS if c])
def test_a_program_built_with_one_command_shows_the_same_help(command: str) -> None:
    """The console script builds ``multipolar`` with only the command named (runs.cli.main): its help is the
    snapshot of the whole program's."""
    result = CliRunner().invoke(program((command,)), [command, "--help"], env=ENV)
    assert result.exit_code == 0, result.output
    text = "\n".join(line.rstrip() for line in result.output.splitlines()) + "\n"
    assert text == (HELP / f"{command}.txt").read_text()


@pytest.mark.parametrize(("argv", "names"), [
    (["run", "runs/baseline.toml", "--format", "none"], ("run",)),
    (["--version"], ()),
    (["dashboard", "--port", "9000"], ("dashboard",)),
    (["--help"], tuple(runs.cli.COMMANDS)),
    ([], tuple(runs.cli.COMMANDS)),
    (["rnu"], tuple(runs.cli.COMMANDS)),  # not a command: click suggests among all of them
    (["--version", "--help"], tuple(runs.cli.COMMANDS)),
])
def test_the_console_script_builds_the_program_with_the_command_named(
        argv: list[str], names: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[tuple[str, ...]] = []
    calls: list[list[str]] = []
    monkeypatch.setattr(runs.cli, "program", lambda chosen: built.append(tuple(chosen)) or
                        (lambda *, args, prog_name: calls.append([prog_name, *args])))
    runs.cli.main(argv)
    assert built == [names] and calls == [["multipolar", *argv]]


@pytest.mark.parametrize(("argv", "frozen"), [(None, True), (["--version"], False)])
def test_the_console_script_freezes_its_heap_as_it_ends(argv: list[str] | None, frozen: bool) -> None:
    """Run as the console script (no argv), main leaves every object frozen out of the garbage collector, so the
    interpreter's collections at exit skip them; called with argv (in a process that goes on), it does not."""
    import subprocess
    import sys

    code = ("import gc, sys\nfrom runs.cli import main\nsys.argv = ['multipolar', '--version']\n"
            "before = gc.get_freeze_count()\n"  # the interpreter starts with a few hundred frozen objects
            f"try:\n    main({argv!r})\nexcept SystemExit as stop:\n    assert stop.code in (None, 0)\n"
            "print(gc.get_freeze_count() - before)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[3], check=True)
    added = int(done.stdout.split()[-1])
    assert (added > 1000) == frozen, done.stdout
