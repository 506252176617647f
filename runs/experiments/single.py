"""One run of a scenario, written to an output directory with its manifest.

Outputs (all in one directory, by default ``runs/out/<scenario.name>/`` under the current directory):

- ``market.parquet``: the market series, one row per step (row 0 is the starting state);
- ``labs.parquet``: the lab series in long format, one row per lab per recorded step;
- ``events.parquet``: the run's events (``economy.engine.Simulation.events_frame``: year, lab_id, lab, kind,
  other_lab_id, other_lab, value), one row per entry, exit, acquisition (or blocked acquisition), incident,
  catastrophe and strategy change, in the order they happened;
- ``summary.json``: the run's outcomes (``economy.engine.Simulation.summary`` plus the scenario name and the
  takeoff thresholds in quality units), NaN and inf written as null;
- ``overview.png``: the overview figure (:func:`runs.figures.overview_figure`);
- ``manifest.json``: provenance (:mod:`runs.manifest`), with the size and SHA-256 of the files above.

Writes are atomic at the directory level: everything is built in a temporary sibling directory which then
replaces the target by ``rename``; on any failure the target is left as it was and the temporary directory is
removed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from economy.engine import Simulation
from economy.network import lab_graph, write_graphml
from economy.params import Scenario
from runs.figures import overview_figure, save_figure
from runs.manifest import build_manifest, write_manifest
from runs.network_figure import network_figure
from runs.scenario import ScenarioError

__all__ = [
    "OUTPUT_FILES",
    "OutputDirError",
    "atomic_output_dir",
    "check_output_dir",
    "default_output_dir",
    "finite_or_none",
    "run_single",
]

OUTPUT_FILES: tuple[str, ...] = ("market.parquet", "labs.parquet", "events.parquet", "summary.json", "overview.png",
                                 "manifest.json")
NETWORK_FILES: tuple[str, ...] = ("network_start.graphml", "network_end.graphml", "network.png")
"""Written as well when the scenario has a network (GraphML only up to GRAPHML_MAX_LABS labs)."""
GRAPHML_MAX_LABS = 10_000

Progress = Callable[[int, int], None]
"""``progress(steps_done, n_steps)``, called after every step."""


class OutputDirError(ValueError):
    """The output directory cannot be used; nothing was written."""


def default_output_dir(scenario: Scenario) -> Path:
    """``runs/out/<scenario.name>`` relative to the current directory."""
    name = scenario.name
    if name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise OutputDirError(f"scenario name {name!r} cannot be used as a folder name; give --out")
    return Path("runs") / "out" / name


def check_output_dir(out_dir: Path) -> Path:
    """Refuse a target that is a file, or a non-empty directory that is not a previous run's output.

    A previous output directory (one holding ``manifest.json``) or an empty one is replaced whole.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir() or out_dir.is_symlink():
            raise OutputDirError(f"output path {out_dir} exists and is not a directory")
        if any(out_dir.iterdir()) and not (out_dir / "manifest.json").is_file():
            raise OutputDirError(
                f"output directory {out_dir} is not empty and holds no manifest.json; "
                "refusing to replace it (choose another --out)"
            )
    if out_dir.name in ("", ".", ".."):
        raise OutputDirError(f"output path {out_dir} must name a directory (not . or ..)")
    return out_dir


def run_single(
    scenario: Scenario,
    scenario_text: str,
    seed: int,
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
    *,
    overrides: Sequence[str] = (),
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run one seed of ``scenario`` and write the output files (``OUTPUT_FILES``) into ``out_dir``.

    Returns the summary as written to ``summary.json`` (non-finite numbers as ``None``).
    """
    target = check_output_dir(Path(out_dir) if out_dir is not None else default_output_dir(scenario))
    graphs: dict[str, Any] = {}
    has_network = scenario.network.kind != "none"
    if has_network:
        def keep_start(sim: Simulation) -> None:
            graphs["start"] = lab_graph(sim, 0)
    sim = simulate(scenario, seed, progress, before_run=keep_start if has_network else None)
    market, labs, events = sim.market_frame(0), sim.labs_frame(0), sim.events_frame(0)
    summary = run_summary(scenario, sim.summary(0))
    files = [name for name in OUTPUT_FILES if name != "manifest.json"]
    with atomic_output_dir(target) as tmp:
        if has_network:
            end = lab_graph(sim, 0)
            if scenario.n_labs <= GRAPHML_MAX_LABS:
                write_graphml(graphs["start"], tmp / "network_start.graphml")
                write_graphml(end, tmp / "network_end.graphml")
                files += ["network_start.graphml", "network_end.graphml"]
            save_figure(network_figure(end, market), tmp / "network.png")
            files.append("network.png")
        market.to_parquet(tmp / "market.parquet", index=False, engine="pyarrow")
        labs.to_parquet(tmp / "labs.parquet", index=False, engine="pyarrow")
        events.to_parquet(tmp / "events.parquet", index=False, engine="pyarrow")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        save_figure(overview_figure(market, labs, summary), tmp / "overview.png")
        manifest = build_manifest(
            scenario, scenario_text, seeds=[seed], overrides=overrides, command=command,
            files=[tmp / name for name in files],
        )
        write_manifest(tmp / "manifest.json", manifest)
    return summary


def simulate(
    scenario: Scenario,
    seed: int,
    progress: Progress | None = None,
    before_run: Callable[[Simulation], None] | None = None,
) -> Simulation:
    """Run the engine for one seed (the seam where a later change may route a run through the Mesa model).

    Errors while setting the run up from the scenario (a network file that is missing or malformed, say) are
    bad input and raise :class:`runs.scenario.ScenarioError`; errors while stepping propagate as they are.
    """
    try:
        sim = Simulation(scenario, [seed])
    except (ValueError, OSError) as err:
        raise ScenarioError(f"cannot set up the run: {_one_line(str(err))}") from err
    if before_run is not None:
        before_run(sim)
    n_steps = sim.n_steps
    sim.run(None if progress is None else (lambda done: progress(done, n_steps)))
    return sim


def run_summary(scenario: Scenario, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's summary plus the scenario name and the takeoff thresholds in quality units."""
    cap = scenario.capability
    ln_cc = math.log(cap.loss_scale_flop)
    out = {"scenario": scenario.name, **summary}
    out["par_human_quality"] = cap.alpha * (cap.par_human_log10_flop * math.log(10.0) - ln_cc)
    out["superhuman_quality"] = cap.alpha * (cap.superhuman_log10_flop * math.log(10.0) - ln_cc)
    out["par_human_log10_flop"] = cap.par_human_log10_flop
    out["superhuman_log10_flop"] = cap.superhuman_log10_flop
    return finite_or_none(out)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def finite_or_none(value: Any) -> Any:
    """Replace NaN and inf (also inside dicts and lists) by None, so JSON stays standard."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


@contextlib.contextmanager
def atomic_output_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``target``; on success it replaces ``target``, on failure it is removed.

    A previous ``target`` is moved aside first and deleted only once the new directory is in place (two
    renames: POSIX cannot rename over a non-empty directory).  Parent directories created here are removed
    again on failure if they are still empty.
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
