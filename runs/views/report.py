"""A self-contained HTML report of an output folder (``multipolar report DIR``).

The report is one file, ``DIR/report.html``, with no external resource: the figures are embedded as base64
PNG and the style sheet is inline, so it can be mailed or archived as it is.  It holds what was run (from
``manifest.json``: scenario, overrides, seeds, command, git commit, versions), the summary table, the
figures, and in collapsed sections the scenario file and the output files with their SHA-256.

The kind of folder is read from its manifest (:func:`detect_kind`):

- ``run`` (``multipolar run``): the figures are drawn afresh from ``market.parquet`` and ``labs.parquet``
  (:func:`runs.views.run.run_figure_set`), plus any other PNG in the folder (the network);
- ``ensemble`` and ``sweep``: the figures the command wrote, and for a sweep the table of grid points (a policy
  sweep also its paired effects against the no-policy arm and where the outcome flips);
- ``compare``: comparison.json's arms and, per policy arm, the effects table (runs.views.policy.effect_rows:
  grouped, findings marked), the forest and trade-off figures;
- ``optimize``: the search, the Pareto front with its policy files, the trials and pareto.png;
- any other kind: the manifest, ``summary.json`` flattened into a table and every PNG in the folder.  Missing or
  unreadable parts are reported in the page, never fatal.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from runs.experiments.outputs import write_text_atomic
from runs.experiments.robustness import SINGLE_RUN_ROBUSTNESS
from runs.views.policy import effect_rows
from runs.views.run import run_figure_set
from runs.views.style import save_figure

__all__ = ["REPORT_NAME", "Report", "ReportInputError", "build_report", "detect_kind", "render_html", "write_report"]

REPORT_NAME = "report.html"
_CAPTIONS: dict[str, str] = {
    "overview.png": "Overview: customer shares by lab, concentration (HHI) and frontier quality over time.",
    "effective_labs.png": "Effective number of labs (10,000 / HHI) against the number of labs alive.",
    "top_shares.png": "Top-1 and top-4 shares of the labs' market.",
    "lorenz.png": "Lorenz curves of revenue and compute across the labs alive at the horizon, with Gini.",
    "quality.png": "Frontier and runner-up quality with the par-human and strongly superhuman thresholds.",
    "rank_shares.png": "Market share by rank.",
    "network.png": "The knowledge-spillover network at the horizon.",
    "fan_hhi.png": "Market concentration over time: quantiles over runs.",
    "fan_quality.png": "Frontier quality over time: quantiles over runs.",
    "leader_share.png": "Distribution of the final leader's share over runs.",
    "phase_diagram.png": "Phase diagrams: P(unipolar), share of runs with a singularity and median final HHI at "
                         "each grid point.",
    "forest.png": "Policy effects: paired differences policy - baseline with 95 % intervals, one panel per outcome; "
                  "findings (the interval excludes 0 by more than the practical threshold) in vermillion.",
    "tradeoff.png": "Benefit against cost: change in P(unipolar) against capability delay and change in consumer "
                    "value, one point per arm with 95 % paired intervals.",
    "dose_response.png": "Dose-response: the outcomes against the policy's strength with 95 % intervals, the "
                         "no-policy level dashed and where the target is met.",
    "pareto.png": "Policy search: the trials in the plane of the objectives, the Pareto front joined.",
}
_ORDER = {
    "ensemble": ("fan_hhi.png", "fan_quality.png", "leader_share.png", "rank_shares.png"),
    "sweep": ("dose_response.png", "tradeoff.png", "phase_diagram.png"),
    "compare": ("forest.png", "tradeoff.png"),
    "optimize": ("pareto.png",),
}
_RUN_LABELS: dict[str, tuple[str, str]] = {
    "final_year": ("final year", ".2f"),
    "final_hhi": ("final HHI (0-10,000)", ",.0f"),
    "effective_labs": ("effective number of labs", ".2f"),
    "leader": ("leader", ""),
    "leader_share": ("leader's share of the labs' market", ".1%"),
    "top4_share": ("top-4 share", ".1%"),
    "unipolar": ("unipolar (share > 0.5 or HHI > 5,000)", ""),
    "n_alive": ("labs alive", ""),
    "n_exits": ("exits", ""),
    "singularity_year": ("singularity year", ".2f"),
    "takeoff_start_year": ("takeoff start (par-human) year", ".2f"),
    "takeoff_years": ("takeoff duration (years, par-human to superhuman)", ".2f"),
    "frontier_quality": ("frontier quality u", ".3f"),
    "frontier_log10_eff_compute": ("frontier effective compute (log10 FLOP)", ".2f"),
    "leader_gap_ooms": ("leader's gap over the runner-up (OOMs)", ".2f"),
    "consumer_value": ("cumulative consumer value (USD)", ".3g"),
    "catastrophe": ("catastrophe", ""),
}

_RUN_SKIP = frozenset({"scenario", "seed", "spawn_key", "out_dir", "par_human_quality", "superhuman_quality",
                       "par_human_log10_flop", "superhuman_log10_flop"})


class ReportInputError(ValueError):
    """The folder cannot be reported on (not a folder, no or unreadable manifest).  CLI exit code 2."""


@dataclass
class Report:
    """The parts of a report before rendering (tests and notebooks can inspect them)."""

    kind: str
    title: str
    run_rows: list[tuple[str, str]]
    summary_rows: list[tuple[str, str]]
    figures: dict[str, bytes]  # file name -> PNG bytes
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)  # (summary line, preformatted text)


def detect_kind(manifest: Mapping[str, Any]) -> str:
    """``run``, ``ensemble``, ``sweep``, the manifest's own ``kind`` (e.g. ``compare``), or ``unknown``."""
    kind = manifest.get("kind")
    if isinstance(kind, str) and kind:
        return kind
    for name in ("sweep", "ensemble", "compare"):
        if isinstance(manifest.get(name), Mapping):
            return name
    files = manifest.get("files") or {}
    if "market.parquet" in files and "labs.parquet" in files:
        return "run"
    return "unknown"


def build_report(out_dir: str | Path) -> Report:
    """Read the folder and assemble its report (figures drawn where the kind needs it)."""
    folder = Path(out_dir)
    manifest = _read_manifest(folder)
    kind = detect_kind(manifest)
    scenario = manifest.get("scenario") if isinstance(manifest.get("scenario"), Mapping) else {}
    name = scenario.get("name", "?")
    report = Report(kind=kind, title=f"Multipolar {kind} report: scenario '{name}'", run_rows=_run_rows(manifest, kind),
                    summary_rows=[], figures={})
    summary = _read_json(folder / "summary.json", report.notes) if kind != "compare" else None
    if kind == "run":
        report.summary_rows = _run_summary_rows(summary)
        report.figures.update(_run_figures(folder, summary, report.notes))
    elif kind == "ensemble":
        report.summary_rows = _ensemble_summary_rows(summary)
    elif kind == "sweep":
        report.summary_rows = _sweep_summary_rows(summary)
        points = _read_points(folder, report.notes)
        if points is not None:
            report.tables.append(("Grid points", _points_frame(points, summary)))
        if summary and isinstance(summary.get("policy_sweep"), Mapping):
            _policy_sweep_parts(summary["policy_sweep"], report)
    elif kind == "compare":
        _compare_parts(folder, report)
    elif kind == "optimize":
        _optimize_parts(folder, summary, report)
    else:
        report.notes.append(f"Output kind {kind!r} is not known to this version of the report: the manifest, the "
                            "summary and every figure in the folder are shown as they are.")
        report.summary_rows = _flat_rows(summary) if summary else []
    for path in _pngs(folder, _ORDER.get(kind, ())):
        report.figures.setdefault(path.name, path.read_bytes())
    if summary:
        report.details.append(("summary.json (all fields)", json.dumps(summary, indent=2)))
    toml = scenario.get("toml")
    if isinstance(toml, str):
        report.details.append(("Scenario file (TOML)", toml))
    files = manifest.get("files")
    if isinstance(files, Mapping) and files:
        lines = [f"{fname}  {entry.get('bytes', '?')} bytes  sha256 {entry.get('sha256', '?')}"
                 for fname, entry in files.items() if isinstance(entry, Mapping)]
        report.details.append(("Output files (from manifest.json)", "\n".join(lines)))
    return report


def write_report(out_dir: str | Path, path: str | Path | None = None) -> Path:
    """Build the report of ``out_dir`` and write it (default ``out_dir/report.html``) atomically."""
    folder = Path(out_dir)
    report = build_report(folder)
    target = Path(path) if path is not None else folder / REPORT_NAME
    write_text_atomic(render_html(report), target)
    return target


# ---------------------------------------------------------------------------------------------- reading
def _read_manifest(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        raise ReportInputError(f"{folder} does not exist")
    if not folder.is_dir():
        raise ReportInputError(f"{folder} is not a folder; give the output folder of multipolar run, ensemble or "
                               "sweep")
    path = folder / "manifest.json"
    if not path.is_file():
        raise ReportInputError(f"{folder} holds no manifest.json, so it is not a multipolar output folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ReportInputError(f"{path} cannot be read as JSON ({err})") from None
    if not isinstance(manifest, dict):
        raise ReportInputError(f"{path} is not a JSON object")
    return manifest


def _read_json(path: Path, notes: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        notes.append(f"{path.name} is missing.")
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        notes.append(f"{path.name} could not be read ({err}).")
        return None
    return value if isinstance(value, dict) else None


def _read_points(folder: Path, notes: list[str]) -> pd.DataFrame | None:
    path = folder / "points.parquet"
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as err:
        notes.append(f"points.parquet could not be read ({type(err).__name__}).")
        return None


def _pngs(folder: Path, first: Iterable[str]) -> list[Path]:
    order = {name: k for k, name in enumerate(first)}
    found = [p for p in folder.glob("*.png") if p.is_file() and not p.name.startswith(".")]
    return sorted(found, key=lambda p: (order.get(p.name, len(order)), p.name))


def _run_figures(folder: Path, summary: Mapping[str, Any] | None, notes: list[str]) -> dict[str, bytes]:
    try:
        market = pd.read_parquet(folder / "market.parquet")
        labs = pd.read_parquet(folder / "labs.parquet")
    except (OSError, ValueError) as err:
        notes.append(f"The run's tables could not be read ({type(err).__name__}); only the PNG files in the folder "
                     "are shown.")
        return {}
    out = {}
    for name, fig in run_figure_set(market, labs, summary or {}).items():
        buffer = io.BytesIO()
        save_figure(fig, buffer)
        out[name] = buffer.getvalue()
    return out


# ---------------------------------------------------------------------------------------------- rows
def _run_rows(manifest: Mapping[str, Any], kind: str) -> list[tuple[str, str]]:
    scenario = manifest.get("scenario") if isinstance(manifest.get("scenario"), Mapping) else {}
    resolved = scenario.get("resolved") if isinstance(scenario.get("resolved"), Mapping) else {}
    rows = [("kind", kind), ("scenario", str(scenario.get("name", "?")))]
    if resolved.get("description"):
        rows.append(("description", str(resolved["description"])))
    sim = resolved.get("sim") if isinstance(resolved.get("sim"), Mapping) else {}
    if sim:
        rows.append(("horizon", f"{sim.get('start_year')} + {sim.get('years')} years, step {_fmt(sim.get('dt'))} "
                                "year"))
    overrides = scenario.get("overrides") or []
    rows.append(("overrides (--set)", ", ".join(map(str, overrides)) if overrides else "none"))
    seed = manifest.get("root_seed")
    if seed is None and manifest.get("seeds"):
        seed = ", ".join(str(s.get("root_seed")) for s in manifest["seeds"] if isinstance(s, Mapping))
    rows.append(("root seed", str(seed) if seed is not None else "n/a"))
    ensemble = manifest.get("ensemble")
    if isinstance(ensemble, Mapping):
        identity = ensemble.get("identity") if isinstance(ensemble.get("identity"), Mapping) else {}
        rows.append(("runs", f"{identity.get('runs', '?')} in chunks of {ensemble.get('chunk', '?')}; "
                             f"status {ensemble.get('status', '?')}"))
        uncertain = (identity.get("scenario") or {}).get("uncertain") if isinstance(identity, Mapping) else None
        if uncertain:
            rows.append(("uncertain parameters", ", ".join(uncertain)))
    sweep = manifest.get("sweep")
    if isinstance(sweep, Mapping):
        rows.append(("runs per point", f"{sweep.get('runs_per_point')} (the same seeds at every point); "
                                       f"{sweep.get('points')} points; status {sweep.get('status', '?')}"))
        for k, plane in enumerate(sweep.get("planes") or []):
            specs = plane.get("specs") if isinstance(plane, Mapping) else None
            rows.append((f"plane {k}", " x ".join(specs) if specs else str(plane)))
    command = manifest.get("command")
    if isinstance(command, list):
        rows.append(("command", shlex.join(map(str, command))))
    git = manifest.get("git")
    if isinstance(git, Mapping):
        rows.append(("git commit", f"{git.get('commit')}{' (uncommitted changes)' if git.get('dirty') else ''}"))
    else:
        rows.append(("git commit", "unknown (not run from a git checkout)"))
    versions = manifest.get("versions")
    if isinstance(versions, Mapping):
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    rows.append(("created (UTC)", str(manifest.get("created_utc", "?"))))
    rows.append(("manifest format", str(manifest.get("format", "?"))))
    return rows


def _run_summary_rows(summary: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The known outcomes with their labels, then any other scalar outcome under its own name."""
    if not summary:
        return []
    rows = [(label, _fmt(summary.get(key), spec, "none")) for key, (label, spec) in _RUN_LABELS.items()
            if key in summary]
    rows += [(key, _fmt(value, "", "none")) for key, value in summary.items()
             if key not in _RUN_LABELS and key not in _RUN_SKIP and not isinstance(value, (dict, list))]
    return [*rows, ("robustness", SINGLE_RUN_ROBUSTNESS)]


def _ensemble_summary_rows(s: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not s:
        return []

    def share(p: Any) -> str:
        if not isinstance(p, Mapping) or p.get("probability") is None:
            return "n/a"
        lo, hi = p.get("wilson95") or (math.nan, math.nan)
        return f"{p['probability']:.1%} (95 % CI {lo:.1%} to {hi:.1%}; {p.get('count')} of {p.get('of')})"

    def quant(q: Any, spec: str) -> str:
        if not isinstance(q, Mapping):
            return "n/a"
        return f"{_fmt(q.get('p50'), spec)} [5 %: {_fmt(q.get('p05'), spec)}, 95 %: {_fmt(q.get('p95'), spec)}]"

    takeoff = s.get("takeoff_years") or {}
    sing = s.get("singularity_year") or {}
    return [
        ("runs ok / failed", f"{s.get('ok_runs')} / {s.get('failed_runs')}"),
        ("P(unipolar) (share > 0.5 or HHI > 5,000)", share(s.get("unipolar"))),
        ("final HHI, median [5 %, 95 %]", quant(s.get("final_hhi"), ",.0f")),
        ("final leader share, median [5 %, 95 %]", quant(s.get("leader_share"), ".3f")),
        ("runs with a completed takeoff", _fmt(takeoff.get("share_with"), ".1%")),
        ("takeoff duration (years), median [5 %, 95 %]", quant(takeoff.get("quantiles"), ".2f")),
        ("runs with a singularity", _fmt(sing.get("share_with"), ".1%")),
        ("singularity year, median [5 %, 95 %]", quant(sing.get("quantiles"), ".1f")),
        ("P(catastrophe)", share(s.get("catastrophe"))),
        ("robustness (unipolar)", str((s.get("robustness") or {}).get("text", "n/a"))),
    ]


def _sweep_summary_rows(s: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not s:
        return []
    rows = [("grid points x runs", f"{s.get('points')} x {s.get('runs_per_point')} = {s.get('total_runs')} runs "
                                   f"({s.get('failed_runs')} failed)")]
    for name, label in (("p_unipolar", "P(unipolar)"), ("p_singularity", "P(singularity)"),
                        ("median_final_hhi", "median final HHI"), ("p_takeoff", "P(completed takeoff)")):
        r = (s.get("statistics") or {}).get(name)
        spec = ",.0f" if name == "median_final_hhi" else ".0%"
        if isinstance(r, Mapping):
            rows.append((f"{label}: lowest / highest",
                         f"{_fmt(r.get('min'), spec)} (point {r.get('min_point')}) / "
                         f"{_fmt(r.get('max'), spec)} (point {r.get('max_point')})"))
    return rows


def _points_frame(points: pd.DataFrame, summary: Mapping[str, Any] | None) -> pd.DataFrame:
    keys = []
    for plane in (summary or {}).get("planes") or []:
        keys += [k for k in plane.get("keys", []) if k in points and k not in keys]
    out = pd.DataFrame({"point": points["point"], "plane": points["plane"]})
    for key in keys:
        out[key] = points[key].map(lambda v: f"{v:g}")
    for name, label in (("p_unipolar", "P(unipolar) [95 % CI]"), ("p_singularity", "P(singularity) [95 % CI]")):
        if name in points:
            out[label] = [f"{v:.0%} [{lo:.0%}-{hi:.0%}]" if math.isfinite(v) else "n/a"
                          for v, lo, hi in zip(points[name], points[f"{name}_lo"], points[f"{name}_hi"], strict=True)]
    if "median_final_hhi" in points:
        out["median final HHI [95 % CI]"] = [
            f"{v:,.0f} [{lo:,.0f}-{hi:,.0f}]" if math.isfinite(v) else "n/a"
            for v, lo, hi in zip(points["median_final_hhi"], points["median_final_hhi_lo"],
                                 points["median_final_hhi_hi"], strict=True)]
    if "p_takeoff" in points:
        out["P(completed takeoff)"] = points["p_takeoff"].map(lambda v: f"{v:.0%}" if math.isfinite(v) else "n/a")
    if "dir" in points:
        out["folder"] = points["dir"]
    return out


# ---------------------------------------------------------------------------------------------- policies
def _effects_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """One arm's effects (runs.views.policy.effect_rows) as a table, findings marked."""
    rows = effect_rows(result)
    return pd.DataFrame({
        "group": [r.group for r in rows], "outcome": [r.outcome for r in rows],
        "baseline": [r.baseline for r in rows], "policy": [r.policy for r in rows],
        "difference [95 % CI]": [r.difference for r in rows], "statistic": [r.statistic for r in rows],
        "min effect": [r.min_effect for r in rows], "finding": ["finding" if r.finding else "" for r in rows],
        "pairs": [r.pairs for r in rows], "note": [r.note for r in rows],
    })


def _compare_parts(folder: Path, report: Report) -> None:
    """A comparison: what its arms are, and each policy arm's effects table."""
    comparison = _read_json(folder / "comparison.json", report.notes)
    if not comparison:
        return
    report.summary_rows = [
        ("runs per arm", f"{comparison.get('runs_per_arm')} (seed {comparison.get('seed')}; every arm runs the same "
                         "seeds and uncertain draws)"),
        *((f"arm {arm.get('name')}", f"{arm.get('policy_file') or 'the scenario as given'}: policies "
           f"{', '.join(arm.get('policies') or []) or 'none'}; {arm.get('ok_runs')} runs ok, {arm.get('failed_runs')} "
           "failed") for arm in comparison.get("arms") or []),
        *((f"method: {k}", str(v)) for k, v in (comparison.get("methods") or {}).items()),
    ]
    for arm, result in (comparison.get("comparisons") or {}).items():
        report.tables.append((f"Effects of {arm} against the baseline ({result.get('pairs')} paired runs)",
                              _effects_frame(result)))
    report.details.append(("comparison.json (all fields)", json.dumps(comparison, indent=2)))


def _policy_sweep_parts(section: Mapping[str, Any], report: Report) -> None:
    """A policy sweep: the flip and each grid point's effects against the no-policy arm."""
    flip = section.get("target")
    if isinstance(flip, Mapping):
        crossing = flip.get("crossing")
        report.summary_rows.append((f"target {flip.get('target')}",
                                    ("never crossed on this grid" if crossing is None else f"crossed at {crossing:.4g}")
                                    + f"; first met at {_fmt(flip.get('first_met'))}, by the whole 95 % interval at "
                                    f"{_fmt(flip.get('first_met_by_interval'))}"))
        without = flip.get("no_policy")
        if isinstance(without, Mapping):
            report.summary_rows.append(("without the policy", f"{flip.get('column')} = {_fmt(without.get('estimate'))}"
                                        f" (target {'met' if without.get('met') else 'not met'})"))
    report.summary_rows.append(("capability delay", str(section.get("censoring", ""))))
    for entry in section.get("effects") or []:
        values = ", ".join(f"{key.split('.')[-1]} = {_fmt(value)}" for key, value in entry["values"].items())
        report.tables.append((f"Effects at {values} against the scenario without the policy", _effects_frame(entry)))


def _optimize_parts(folder: Path, summary: Mapping[str, Any] | None, report: Report) -> None:
    """A policy search: its settings, the Pareto front with its policy files and the trials."""
    if not summary:
        return
    report.summary_rows = [
        ("search", "; ".join(f"{s['key']} in [{s['low']:g}, {s['high']:g}]" + (" (log)" if s.get("log") else "")
                             for s in summary.get("search") or [])),
        ("objectives", ", ".join(summary.get("objectives") or [])),
        ("constraints", ", ".join(summary.get("constraints") or []) or "none"),
        ("trials", f"{summary.get('trials')} x {summary.get('runs_per_trial')} runs ({summary.get('sampler')}, seed "
                   f"{summary.get('seed')}); {summary.get('feasible_trials')} feasible"),
    ]
    front = pd.DataFrame(summary.get("front") or [])
    if not front.empty:
        front["policy file"] = summary.get("best_files") or [""] * len(front)
        report.tables.append(("Pareto front (ready-to-use policy files under best/)", front))
    trials = folder / "trials.parquet"
    if trials.is_file():
        frame = pd.read_parquet(trials)
        keep = ["trial", *(s["key"] for s in summary.get("search") or []),
                *(text.split()[1] for text in summary.get("objectives") or []), "feasible", "pareto"]
        report.tables.append(("Trials", frame[[c for c in dict.fromkeys(keep) if c in frame]]))


def _flat_rows(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows += _flat_rows(item, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list) and all(not isinstance(v, (Mapping, list)) for v in value):
        return [(prefix, "[" + ", ".join(_fmt(v) for v in value) + "]")]
    if isinstance(value, list):
        return [(prefix, json.dumps(value))]
    return [(prefix, _fmt(value))]


def _fmt(value: Any, spec: str = "", missing: str = "n/a") -> str:
    if value is None:
        return missing
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return missing
    if spec:
        return format(value, spec)
    return f"{value:.6g}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------------------------- HTML
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; margin: 0;
       background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 2rem 3rem; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.25rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.meta { color: #555; font-size: 0.9rem; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
tr:nth-child(even) td { background: #f5f5f5; } th { background: #eef3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { overflow-x: auto; }
table.fit { font-size: 0.82rem; } table.fit td.num { white-space: normal; } table.fit th { min-width: 3.5em; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.9rem; margin-top: 0.3rem; }
pre { background: #f5f5f5; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
.note { background: #fff6e0; border-left: 4px solid #E69F00; padding: 0.4rem 0.8rem; }
"""


def render_html(report: Report) -> str:
    """The report as one HTML document (no external resources)."""
    esc = html.escape
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(report.title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>", "<main>",
        f"<h1>{esc(report.title)}</h1>",
        f'<p class="meta">Report written {esc(now)} by <code>multipolar report</code>; every figure is embedded, '
        "this file needs nothing else.</p>",
    ]
    parts += [f'<p class="note">{esc(note)}</p>' for note in report.notes]
    parts += ["<h2>What was run</h2>", _table(report.run_rows)]
    parts.append("<h2>Summary</h2>")
    parts.append(_table(report.summary_rows) if report.summary_rows else "<p>No summary available.</p>")
    parts.append("<h2>Figures</h2>")
    if not report.figures:
        parts.append("<p>No figures found.</p>")
    for name, data in report.figures.items():
        caption = _CAPTIONS.get(name)
        encoded = base64.b64encode(data).decode("ascii")
        text = f"{esc(caption)} <code>{esc(name)}</code>" if caption else f"<code>{esc(name)}</code>"
        parts.append(f'<figure id="{esc(name)}"><img alt="{esc(caption or name)}" '
                     f'src="data:image/png;base64,{encoded}"><figcaption>{text}</figcaption></figure>')
    for title, frame in report.tables:
        parts += [f"<h2>{esc(title)}</h2>", '<div class="scroll">', _frame_table(frame), "</div>"]
    if report.details:
        parts.append("<h2>Details</h2>")
    for title, text in report.details:
        parts.append(f"<details><summary>{esc(title)}</summary><pre>{esc(text)}</pre></details>")
    parts += ["</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _table(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _frame_table(frame: pd.DataFrame) -> str:
    """A table that fits the page: headers wrap between words (a key's underscores shown as spaces, the full key
    in the tooltip), cells wrap at their spaces (a value, then its interval)."""
    head = "".join(f'<th title="{html.escape(str(c))}">{html.escape(_header_words(str(c)))}</th>'
                   for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = "".join(f'<td class="num">{html.escape(str(v))}</td>' for v in values)
        rows.append(f"<tr>{cells}</tr>")
    return f'<table class="fit"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _header_words(column: str) -> str:
    """A column's header as words that can wrap: the last part of a dotted key, underscores as spaces."""
    return column.split(".")[-1].replace("_", " ")
