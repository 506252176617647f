"""The command reference of docs/cli.md, generated from the typer app so it cannot go stale.

:func:`command_reference` writes, for every command of the app (:data:`runs.cli.app`) in the order
``multipolar --help`` lists them, its usage line, its help text and a table of its arguments and options (name,
default, meaning), then the exit codes of :mod:`runs.cli.common`.  :func:`render_reference_into` puts it between
:data:`REFERENCE_BEGIN` and :data:`REFERENCE_END` in a Markdown text;
``tests/test_docs.py`` fails when docs/cli.md differs, and rewrites it when run with ``MULTIPOLAR_WRITE_DOCS=1``.
"""

from __future__ import annotations

import re
from typing import Any

import typer

from runs.cli.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED

__all__ = ["REFERENCE_BEGIN", "REFERENCE_END", "command_reference", "render_reference_into"]

REFERENCE_BEGIN = "<!-- command-reference:begin (MULTIPOLAR_WRITE_DOCS=1 pytest tests/test_docs.py) -->"
REFERENCE_END = "<!-- command-reference:end -->"
EXIT_CODES = ((EXIT_OK, "done (for `dashboard`: stopped with Ctrl-C or SIGTERM)"),
              (EXIT_RUN_FAILED, "the work could not be completed (a run failed, a check did not pass); one line "
                                "on stderr"),
              (EXIT_BAD_INPUT, "bad input (a file, key, value or option); one line on stderr, nothing written"),
              (EXIT_INTERRUPTED, "interrupted (Ctrl-C during a computation)"))


_DEFAULT_IN_HELP = re.compile(r"\s*\[default: ([^]]+)\]")


def _plain(text: str | None) -> str:
    """Help text as Markdown: rich's escapes undone, lines joined."""
    return " ".join((text or "").replace("\\[", "[").split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default_and_meaning(param: Any) -> tuple[str, str]:
    """The default (from the help text when the help states it) and the help without it."""
    meaning = _plain(param.help)
    stated = _DEFAULT_IN_HELP.search(meaning)
    if stated:
        return f"`{stated.group(1)}`", _DEFAULT_IN_HELP.sub("", meaning)
    if param.required:
        return "(required)", meaning
    if getattr(param, "is_flag", False):
        return ("on" if param.default else "off"), meaning
    if param.default is None or param.default == []:
        return "none", meaning
    return f"`{param.default}`", meaning


def _name(param: Any) -> str:
    if isinstance(param, typer.core.TyperArgument):
        return f"`{param.name.upper()}`"
    names = " / ".join(param.opts + param.secondary_opts)
    if getattr(param, "is_flag", False):
        return f"`{names}`"
    return f"`{names} {param.metavar or param.name.upper()}`"


def _usage(name: str, command: Any) -> str:
    parts = [f"multipolar {name}"]
    for param in command.params:
        if isinstance(param, typer.core.TyperArgument):
            parts.append(param.name.upper() if param.required else f"[{param.name.upper()}]")
    return " ".join(parts) + " [OPTIONS]"


def command_reference(app: typer.Typer) -> str:
    """Every command's usage, help and options, then the exit codes, as Markdown."""
    group = typer.main.get_command(app)
    lines = [f"`multipolar` has {len(group.commands)} commands: "
             + ", ".join(f"`{name}`" for name in group.commands) + ". `multipolar --version` prints the "
             "installed version; `multipolar COMMAND --help` prints what is below for one command.", ""]
    for name, command in group.commands.items():
        lines += [f"### `multipolar {name}`", "", "```", _usage(name, command), "```", ""]
        for paragraph in (command.help or "").split("\n\n"):
            if paragraph.strip():
                lines += [_plain(paragraph), ""]
        if not command.params:
            lines += ["No arguments or options.", ""]
            continue
        lines += ["| argument or option | default | meaning |", "|---|---|---|"]
        for param in command.params:
            default, meaning = _default_and_meaning(param)
            envvar = f" (environment: `{param.envvar}`)" if getattr(param, "envvar", None) else ""
            lines.append(f"| {_cell(_name(param))} | {_cell(default)} | {_cell(meaning)}{envvar} |")
        lines.append("")
    lines += ["### Exit codes", "", "| code | meaning |", "|---|---|"]
    lines += [f"| {code} | {words} |" for code, words in EXIT_CODES]
    return "\n".join(lines) + "\n"


def render_reference_into(text: str, app: typer.Typer) -> str:
    """``text`` with the generated reference of ``app`` between the markers (which must both be present)."""
    head, sep, rest = text.partition(REFERENCE_BEGIN)
    _, sep2, tail = rest.partition(REFERENCE_END)
    if not sep or not sep2:
        raise ValueError(f"markers {REFERENCE_BEGIN} / {REFERENCE_END} not found")
    return head + REFERENCE_BEGIN + "\n\n" + command_reference(app) + "\n" + REFERENCE_END + tail

