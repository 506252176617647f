"""The manifest that travels with every output (STYLE.md habit 13).

It records what is needed to reproduce and to trust a run: the scenario (name, TOML text, every resolved
parameter, the overrides), the root seed and the spawn key of each named random stream, the git commit of
the code (and whether the working tree had uncommitted changes), the versions of Python and of the numeric
stack, the command line, a UTC timestamp, and the size and SHA-256 of every output file.

:func:`build_manifest` takes ``extra`` fields so the ensemble runner can add its own (seed lists, chunking).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from economy.params import Scenario
from economy.streams import STREAM_NAMES, child_sequence, root_sequence

__all__ = [
    "PACKAGES",
    "build_manifest",
    "file_entry",
    "git_state",
    "package_versions",
    "stream_keys",
    "write_manifest",
]

PACKAGES: tuple[str, ...] = (
    "multipolar", "numpy", "numba", "mesa", "networkx", "pandas", "pyarrow", "pydantic", "matplotlib",
)
REPO_ROOT = Path(__file__).resolve().parents[1]


def build_manifest(
    scenario: Scenario,
    scenario_text: str,
    *,
    seeds: Sequence[int],
    overrides: Sequence[str] = (),
    files: Iterable[Path] = (),
    command: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the manifest of one output directory.

    Parameters
    ----------
    scenario, scenario_text
        The validated scenario and the TOML text it was read from.
    seeds
        Root seeds (one for a single run; the ensemble passes all of them).
    overrides
        The ``--set`` strings applied on top of the file.
    files
        Output files to list with their size and SHA-256 (relative names are taken from each path's name).
    command
        The command line; defaults to ``sys.argv``.
    extra
        Further fields (an ensemble's settings); they must not replace the standard ones.
    """
    manifest: dict[str, Any] = {
        "format": "multipolar-manifest/1",
        "scenario": {
            "name": scenario.name,
            "toml": scenario_text,
            "overrides": list(overrides),
            "resolved": scenario.model_dump(mode="json"),
        },
        "seeds": [{"root_seed": int(seed), "streams": stream_keys(seed)} for seed in seeds],
        "git": git_state(),
        "versions": {"python": platform.python_version(), **package_versions()},
        "command": list(sys.argv if command is None else command),
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "files": {path.name: file_entry(path) for path in sorted(files, key=lambda p: p.name)},
    }
    if len(manifest["seeds"]) == 1:
        manifest["root_seed"] = manifest["seeds"][0]["root_seed"]
    for key, value in (extra or {}).items():
        if key in manifest:
            raise ValueError(f"manifest field {key!r} is standard; choose another name")
        manifest[key] = value
    return manifest


def write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(manifest, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def stream_keys(seed: int) -> dict[str, Any]:
    """Root entropy and the spawn key of each named stream (economy.streams) for one root seed."""
    root = root_sequence(seed)
    return {
        "entropy": int(root.entropy) if isinstance(root.entropy, (int, np.integer)) else str(root.entropy),
        "root_spawn_key": list(root.spawn_key),
        "spawn_keys": {name: list(child_sequence(root, name).spawn_key) for name in STREAM_NAMES},
    }


def git_state(repo: Path = REPO_ROOT) -> dict[str, Any] | None:
    """Commit and dirtiness of the code's git checkout; None outside git or without a git executable.

    Read-only: ``--no-optional-locks`` keeps ``git status`` from refreshing the index.
    """
    git = shutil.which("git")
    if git is None:
        return None
    try:
        commit = _git(git, repo, "rev-parse", "HEAD")
        status = _git(git, repo, "--no-optional-locks", "status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.strip(), "dirty": bool(status.strip())}


def _git(git: str, repo: Path, *args: str) -> str:
    result = subprocess.run([git, "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=True)
    return result.stdout


def package_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def file_entry(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}
