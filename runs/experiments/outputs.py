"""Output folders, atomic writers and manifests: the layer every experiment writes its outputs through.

**Folders.** An experiment writes into ``--out DIR`` or :func:`default_output_dir` (``runs/out/<name>`` for a
run, ``runs/out/<name>-<kind>`` for the others).  :func:`check_output_dir` is the one check of a target: it
must be absent, empty, or an earlier output (it holds ``manifest.json``), never a file; anything else is
refused (bad input), so ``--out .`` cannot wipe a working folder.  :func:`fresh_output_dir` empties an
accepted target; :func:`atomic_output_dir` builds a run's folder beside the target and swaps it in whole.

**Files.** :func:`write_table_atomic`, :func:`write_text_atomic` and :func:`write_json_atomic` write to a
temporary name and rename, so a file is either whole or absent (what lets an interrupted ensemble resume).

**An experiment's folder.** :class:`OutputFolder` is the three steps every experiment of many runs takes:
start (the folder emptied, ``manifest.json`` written with status "running"), write its files (each listed for
the manifest), complete (``manifest.json`` again, status "complete", with every file's hash).

**Manifests.** Every output folder carries ``manifest.json`` (:func:`build_manifest`): what is needed to
reproduce and to trust it: the scenario (name, TOML text, every resolved parameter, the overrides), the root
seed and the spawn key of each named random stream, the git commit of the code (and whether the working tree
had uncommitted changes), the versions of Python and of the numeric stack, the command line, a UTC timestamp,
and the size and SHA-256 of every output file.  :func:`experiment_manifest` adds an experiment's own section.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from economy.params import Scenario
from economy.streams import STREAM_NAMES, child_sequence, root_sequence
from runs.experiments.result import ExperimentInputError

if TYPE_CHECKING:
    from runs.experiments.setup import Setup

__all__ = [
    "PACKAGES",
    "OutputFolder",
    "atomic_file",
    "atomic_output_dir",
    "build_manifest",
    "check_output_dir",
    "default_output_dir",
    "experiment_manifest",
    "file_entry",
    "finite_or_none",
    "fresh_output_dir",
    "git_state",
    "package_versions",
    "stream_keys",
    "temporary_path",
    "write_json_atomic",
    "write_manifest",
    "write_table_atomic",
    "write_text_atomic",
]

PACKAGES: tuple[str, ...] = (
    "multipolar", "numpy", "numba", "mesa", "networkx", "pandas", "pyarrow", "pydantic", "matplotlib",
)
REPO_ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------- folders
def default_output_dir(scenario: Scenario, kind: str | None = None) -> Path:
    """``runs/out/<scenario name>`` (a run) or ``runs/out/<scenario name>-<kind>``, under the current folder."""
    name = scenario.name
    if name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ExperimentInputError(f"scenario name {name!r} cannot be used as a folder name; give --out")
    return Path("runs") / "out" / (name if kind is None else f"{name}-{kind}")


def check_output_dir(out_dir: str | Path) -> Path:
    """Refuse a target that is a file, or a non-empty folder that is not an earlier output (no manifest.json).

    Raises :class:`ExperimentInputError` (nothing is written); returns the target as a Path.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir() or out_dir.is_symlink():
            raise ExperimentInputError(f"output path {out_dir} exists and is not a directory")
        if any(out_dir.iterdir()) and not (out_dir / "manifest.json").is_file():
            raise ExperimentInputError(
                f"output directory {out_dir} is not empty and holds no manifest.json; "
                "refusing to replace it (choose another --out)"
            )
    if out_dir.name in ("", ".", ".."):
        raise ExperimentInputError(f"output path {out_dir} must name a directory (not . or ..)")
    return out_dir


def fresh_output_dir(target: Path) -> None:
    """Empty an accepted target (:func:`check_output_dir`) for a new experiment, creating it if absent."""
    check_output_dir(target)
    if target.exists():
        for entry in list(target.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    target.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def atomic_output_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``target``; on success it replaces ``target``, on failure it is removed.

    A previous ``target`` is moved aside first and deleted only once the new folder is in place (two
    renames: POSIX cannot rename over a non-empty folder).  Parent folders created here are removed again on
    failure if they are still empty.
    """
    target = Path(target)
    created = _make_parents(target.parent)
    try:
        tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()  # honours the umask, unlike tempfile.mkdtemp's 0o700
    except BaseException:
        _remove_empty(created)
        raise
    try:
        yield tmp
        aside = None
        if target.exists():
            aside = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
            os.rename(target, aside)
        try:
            os.rename(tmp, target)
        except BaseException:
            if aside is not None:
                os.rename(aside, target)
            raise
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(created)
        raise


def _make_parents(parent: Path) -> list[Path]:
    missing = []
    p = parent.absolute()
    while not p.exists():
        missing.append(p)
        p = p.parent
    for p in reversed(missing):
        p.mkdir()
    return missing


def _remove_empty(created: list[Path]) -> None:
    for p in created:  # deepest first
        with contextlib.suppress(OSError):
            p.rmdir()


@dataclass
class OutputFolder:
    """The output folder of an experiment of many runs, the files written into it so far, and its manifest.

    ``kind`` names the experiment (the manifest's ``kind`` and the section holding its ``state``).
    """

    kind: str
    setup: Setup
    path: Path
    files: list[Path] = field(default_factory=list)

    @classmethod
    def fresh(cls, kind: str, setup: Setup) -> OutputFolder:
        """The setup's folder for this kind (:func:`check_output_dir`, then emptied and created)."""
        path = setup.output_dir(kind).absolute()
        fresh_output_dir(path)
        return cls(kind, setup, path)

    def start(self, state: Mapping[str, Any]) -> None:
        """Write the manifest with ``state`` and status "running" (an interrupted experiment says so)."""
        write_manifest(experiment_manifest(self.kind, self.setup, state={**state, "status": "running"}), self.path)

    def table(self, frame: pd.DataFrame, name: str) -> None:
        """Write ``frame`` as the Parquet file ``name`` (atomically) and list it."""
        self.add(write_table_atomic(pa.Table.from_pandas(frame, preserve_index=False), self.path / name))

    def json(self, value: Any, name: str) -> None:
        """Write ``value`` as the JSON file ``name`` (atomically; NaN and inf as null) and list it."""
        self.add(write_json_atomic(value, self.path / name))

    def text(self, text: str, name: str) -> None:
        """Write ``text`` as the file ``name`` (atomically) and list it."""
        self.add(write_text_atomic(text, self.path / name))

    def add(self, *paths: Path) -> None:
        """List files written by others (the figures, the chunk files) for the manifest."""
        self.files += paths

    def complete(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """Write the manifest with ``state``, status "complete" and every listed file's hash; return it."""
        manifest = experiment_manifest(self.kind, self.setup, state={**state, "status": "complete"}, files=self.files)
        write_manifest(manifest, self.path)
        return manifest


# ---------------------------------------------------------------------------------------------- files
def temporary_path(path: Path) -> Path:
    """A hidden sibling name for ``path`` (``.NAME.tmp-XXXX``), renamed into place when written."""
    return path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:12]}")


def _series_options(table: pa.Table) -> dict[str, Any]:
    """Parquet options for per-step series: numbers byte-stream-split, no dictionaries except for text.

    For the market series this writes about 4x faster than the defaults and 30 % smaller.
    """
    numeric = [f.name for f in table.schema if pa.types.is_floating(f.type) or pa.types.is_integer(f.type)]
    text = [f.name for f in table.schema if pa.types.is_string(f.type)]
    return {"compression": "zstd", "compression_level": 1, "use_dictionary": text, "use_byte_stream_split": numeric}


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; it replaces ``path`` when the block ends, and is removed
    if the block fails, so ``path`` is always whole or absent."""
    tmp = temporary_path(Path(path))
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_table_atomic(table: pa.Table, path: Path, *, series: bool = False) -> Path:
    """Write a Parquet file atomically (``series``: the options for per-step series); returns its path."""
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp, **(_series_options(table) if series else {"compression": "zstd"}))
    return path


def write_text_atomic(text: str, path: Path) -> Path:
    """Write a UTF-8 text file atomically; returns its path."""
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_json_atomic(value: Any, path: Path) -> Path:
    """Write ``value`` as indented standard JSON (NaN and inf as null, :func:`finite_or_none`) atomically."""
    return write_text_atomic(json.dumps(finite_or_none(value), indent=2, allow_nan=False) + "\n", path)


def finite_or_none(value: Any) -> Any:
    """Replace NaN and inf (also inside dicts and lists) by None, so JSON stays standard."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------- manifests
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
    """Assemble the manifest of one output folder.

    Parameters
    ----------
    scenario, scenario_text
        The validated scenario and the TOML text it was read from.
    seeds
        Root seeds listed with their streams' spawn keys (a single run's one seed; experiments of many runs
        give none and describe their seeds in their own section).
    overrides
        The ``--set`` strings applied on top of the file.
    files
        Output files to list with their size and SHA-256 (relative names are taken from each path's name).
    command
        The command line; defaults to ``sys.argv``.
    extra
        Further fields (an experiment's section); they must not replace the standard ones.
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


def experiment_manifest(kind: str, setup: Setup, *, state: Mapping[str, Any],
                        files: Iterable[Path] = ()) -> dict[str, Any]:
    """The manifest of an experiment of many runs (its :class:`~runs.experiments.setup.Setup`): ``kind``, its
    ``root_seed`` and its section ``kind: state``."""
    return build_manifest(setup.scenario, setup.scenario_text, seeds=[], overrides=setup.overrides, files=files,
                          command=setup.command, extra={"kind": kind, "root_seed": setup.seed, kind: dict(state)})


def write_manifest(manifest: Mapping[str, Any], folder: Path) -> None:
    """Write ``folder/manifest.json`` atomically."""
    write_json_atomic(manifest, folder / "manifest.json")


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
