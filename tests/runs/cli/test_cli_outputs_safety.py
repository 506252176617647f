"""Output folders are never wiped by mistake (issue 21 items 1 and 2, runs/experiments/outputs.py): a folder
Multipolar did not write is refused (or, with --overwrite, kept byte for byte), the current folder and its
parents are refused, every check happens before anything is touched, and stale temporaries are removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runs.cli import app
from runs.experiments import MANIFEST_FORMAT, read_manifest

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
POLICY = ROOT / "runs" / "policies" / "compute_cap.toml"
SHORT = ("--set", "sim.years=1")
COMMANDS = {
    "run": ("run", BASELINE, *SHORT),
    "ensemble": ("ensemble", BASELINE, "--runs", 2, "--workers", 1, *SHORT),
    "compare": ("compare", BASELINE, "--policy", POLICY, "--runs", 2, "--workers", 1, *SHORT),
    "sweep": ("sweep", BASELINE, "--runs", 1, "--grid", "market.winner_take_all=5:30:2", "--workers", 1, *SHORT),
}


def _run(*args: object) -> object:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` (relative path: bytes, None for a folder)."""
    return {p.relative_to(folder).as_posix(): None if p.is_dir() else p.read_bytes() for p in folder.rglob("*")}


def _foreign_folder(folder: Path) -> Path:
    """The issue's repro: a folder holding a ``manifest.json`` that is not Multipolar's and a source tree."""
    (folder / "src").mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    (folder / "src" / "a.js").write_text("hi\n")
    return folder


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_foreign_folder_is_refused_and_left_byte_for_byte(tmp_path: Path, command: str) -> None:
    out = _foreign_folder(tmp_path / "x")
    before = _tree(out)
    result = _run(*COMMANDS[command], "--out", out)
    assert result.exit_code == 2, result.stderr
    assert str(out) in result.stderr and "src" in result.stderr and "--overwrite" in result.stderr
    assert _tree(out) == before


@pytest.mark.parametrize("command", ["run", "ensemble"])
def test_overwrite_writes_beside_foreign_files_and_keeps_them(tmp_path: Path, command: str) -> None:
    out = tmp_path / "x"
    (out / "src").mkdir(parents=True)
    (out / "src" / "a.js").write_text("hi\n")
    (out / "notes.txt").write_bytes(b"\x00keep\xff")
    foreign = _tree(out)
    first = _run(*COMMANDS[command], "--out", out, "--overwrite")
    assert first.exit_code == 0, first.stderr
    manifest = read_manifest(out)
    assert manifest is not None and manifest["format"] == MANIFEST_FORMAT and manifest["command"]
    again = _run(*COMMANDS[command], "--out", out)  # now a Multipolar folder: accepted, foreign files still kept
    assert again.exit_code == 0, again.stderr
    after = _tree(out)
    assert {k: after[k] for k in foreign} == foreign


def test_a_foreign_file_where_multipolar_writes_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "x"
    out.mkdir()
    (out / "summary.json").write_text("mine")
    result = _run(*COMMANDS["run"], "--out", out, "--overwrite")
    assert result.exit_code == 2 and "summary.json" in result.stderr
    assert _tree(out) == {"summary.json": b"mine"}


@pytest.mark.parametrize("relative", [".", "..", "../proj", "../..", "sub/.."])
def test_the_current_folder_and_its_parents_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         relative: str) -> None:
    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    (proj / "code.py").write_text("x = 1\n")
    monkeypatch.chdir(proj)
    before = _tree(tmp_path)
    result = _run(*COMMANDS["run"], "--out", relative, "--overwrite")
    assert result.exit_code == 2, result.stderr
    assert f"output path {relative} " in result.stderr or f"output directory {relative} " in result.stderr
    assert _tree(tmp_path) == before


def test_a_symlink_to_the_current_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (tmp_path / "link").symlink_to(proj)
    monkeypatch.chdir(proj)
    result = _run(*COMMANDS["run"], "--out", tmp_path / "link" / ".." / "proj", "--overwrite")
    assert result.exit_code == 2 and "current folder" in result.stderr
    assert list(proj.iterdir()) == []


def test_a_read_only_output_folder_is_refused_before_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    if os.access(parent, os.W_OK):  # root writes anywhere: pretend the folder is read-only for it too
        access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode: access(path, mode) and Path(path) != parent)
    try:
        started = time.perf_counter()
        result = _run("ensemble", BASELINE, "--runs", 2, "--workers", 1, "--set", "sim.years=30", "--out",
                      parent / "ens")
        assert result.exit_code == 2 and "read-only" in result.stderr and "Traceback" not in result.stderr
        assert time.perf_counter() - started < 5  # refused before a single run
    finally:
        parent.chmod(0o755)


@pytest.mark.slow
def test_a_finished_ensemble_survives_an_unreachable_scheduler(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    assert _run(*COMMANDS["ensemble"], "--out", out).exit_code == 0
    before = _tree(out)
    started = time.perf_counter()
    result = _run(*COMMANDS["ensemble"], "--out", out, "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == 2 and "tcp://127.0.0.1:1" in result.stderr
    assert time.perf_counter() - started < 10
    assert _tree(out) == before


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    dead = tmp_path / ".run.tmp-999999999-0123456789ab"  # a pid no process has
    legacy = tmp_path / ".run.tmp-abcdef012345"
    dead.mkdir()
    (dead / "market.parquet").write_text("partial")
    legacy.mkdir()
    other = tmp_path / ".other.tmp-999999999-0123456789ab"  # another target's: not this run's business
    other.mkdir()
    old = time.time() - 60
    for path in (dead, legacy, other):
        os.utime(path, (old, old))
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(1.5)
        live = tmp_path / f".run.tmp-{holder.pid}-0123456789ab"  # written by a live process: work in progress
        live.mkdir()
        time.sleep(0.1)
        assert _run(*COMMANDS["run"], "--out", out).exit_code == 0
    finally:
        holder.kill()
        holder.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["run", live.name, other.name])


def test_manifest_carries_the_format_marker_and_command(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _run(*COMMANDS["run"], "--out", out).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == MANIFEST_FORMAT and manifest["command"][:2] == ["multipolar", "run"]
