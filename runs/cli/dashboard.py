"""The ``multipolar dashboard`` command: serve the Solara app of ``runs/views/dashboard.py`` (docs/views.md).

Exit codes: the server's own (0 when stopped with Ctrl-C), 2 bad input (the scenario does not load).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from economy.params import load_policy_file, load_scenario
from runs.cli.common import PolicyFiles, command_errors

__all__ = ["dashboard"]

Scenario = Annotated[
    Path | None, typer.Argument(help="Scenario TOML file (default: runs/baseline.toml).", show_default=False)
]
DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "baseline.toml"
Port = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")]


def dashboard(scenario: Scenario = None, port: Port = 8765, policy_files: PolicyFiles = None) -> None:
    """Serve the interactive dashboard (Mesa SolaraViz) on http://127.0.0.1:PORT until interrupted."""
    env = dict(os.environ, SOLARA_TELEMETRY_MIXPANEL_ENABLE="False")
    if scenario is not None or policy_files:
        with command_errors():
            load_scenario(scenario or DEFAULT_SCENARIO, [], [load_policy_file(item) for item in policy_files or ()])
        env["MULTIPOLAR_SCENARIO"] = str((scenario or DEFAULT_SCENARIO).resolve())
        env["MULTIPOLAR_POLICY_FILES"] = os.pathsep.join(str(Path(item).resolve()) for item in policy_files or ())
    app_file = importlib.util.find_spec("runs.views.dashboard").origin
    command = [sys.executable, "-m", "solara", "run", str(app_file), "--host", "127.0.0.1", "--port", str(port),
               "--production", "--no-open"]
    Console(stderr=True).print(f"Multipolar dashboard on http://127.0.0.1:{port} (Ctrl-C to stop)")
    try:
        code = subprocess.call(command, env=env)
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)
