"""The ``multipolar dashboard`` command: serve the policy lab of ``runs/views/dashboard.py`` (docs/views.md).

The Solara server runs as a child process on 127.0.0.1; this process waits for it and forwards SIGTERM, SIGINT
and SIGHUP to it (and to anything it started, its process group), so stopping the command stops the server and
frees the port; on Linux the child also gets SIGTERM if this process dies without forwarding.
A browser session whose page closes is shut down after :data:`CULL_SECONDS` without a connection.

Exit codes: 0 when stopped (Ctrl-C or SIGTERM), the server's own code if it fails, 2 bad input (the scenario
does not load).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from runs.cli.common import EXIT_OK, PolicyFiles, command_errors

__all__ = ["CULL_SECONDS", "STOP_SECONDS", "dashboard"]

CULL_SECONDS = 3
"""A session whose page is gone (closed without a goodbye, or the connection lost) is closed after this long."""
STOP_SECONDS = 5.0
"""After a stop signal the server has this long to shut down before it is killed."""
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1

Scenario = Annotated[
    Path | None, typer.Argument(help="Scenario TOML file (default: runs/baseline.toml).", show_default=False)
]
DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "baseline.toml"
Port = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")]


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux for SIGTERM when the parent dies (no orphaned server)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait(child: subprocess.Popen, stopping: list[int]) -> int:
    """The child's exit code; once a stop signal came, at most :data:`STOP_SECONDS` before it is killed."""
    waited = 0.0
    while True:
        try:
            return child.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            if stopping:
                waited += 0.25
                if waited >= STOP_SECONDS:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.pid, signal.SIGKILL)


def dashboard(scenario: Scenario = None, port: Port = 8765, policy_files: PolicyFiles = None) -> None:
    """Serve the policy lab (a Solara page) on http://127.0.0.1:PORT until stopped (Ctrl-C or SIGTERM).

    --policy FILE adds the file's policies to the scenario the page starts from.

    Controls for the contested parameters and the policies; baseline and policy side by side on one seed.

    Ensembles with fan charts, the network, downloads; the view's state is in the page's URL (a link to share).
    """
    env = dict(os.environ, SOLARA_TELEMETRY_MIXPANEL_ENABLE="False", SOLARA_KERNEL_CULL_TIMEOUT=f"{CULL_SECONDS}s")
    if scenario is not None or policy_files:
        from economy.params import load_policy_file, load_scenario

        with command_errors():
            load_scenario(scenario or DEFAULT_SCENARIO, [], [load_policy_file(item) for item in policy_files or ()])
        env["MULTIPOLAR_SCENARIO"] = str((scenario or DEFAULT_SCENARIO).resolve())
        env["MULTIPOLAR_POLICY_FILES"] = os.pathsep.join(str(Path(item).resolve()) for item in policy_files or ())
    app_file = importlib.util.find_spec("runs.views.app").origin
    command = [sys.executable, "-m", "solara", "run", str(app_file), "--host", "127.0.0.1", "--port", str(port),
               "--production", "--no-open"]
    Console(stderr=True).print(f"Multipolar policy lab on http://127.0.0.1:{port} (Ctrl-C to stop)")
    child = subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=_die_with_parent)
    stopping: list[int] = []

    def forward(signum: int, _frame: Any) -> None:
        stopping.append(signum)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in _STOP_SIGNALS}
    try:
        code = _wait(child, stopping)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with contextlib.suppress(ProcessLookupError):  # anything the server started and left behind
            os.killpg(child.pid, signal.SIGKILL)
    raise typer.Exit(EXIT_OK if stopping else code)
