"""Write the golden fixture of tests/test_golden.py: what the command line produces today, stored small.

Run it only when a change is meant to move results (new random streams, a model fix), and say so in the commit:

    .venv/bin/python tests/golden/make_golden.py

It runs four commands through the ``multipolar`` program (so the fixture does not depend on where modules live)
and stores, per case, the summary or outcome table and the market series (the series of ensemble and compare
runs as one SHA-256 per run, to keep the fixture small), and in ``platform.json`` what numerics the machine that
made them used (:func:`platform_fingerprint`): the last bits of a result depend on it, see tests/test_golden.py.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent
PROGRAM = [sys.executable, "-c", "from runs.cli import app; app()"]

UNCERTAIN = """
[uncertain]
"market.winner_take_all" = { dist = "uniform", low = 6.0, high = 14.0 }
"research.software_doubling_months" = { dist = "lognormal", median = 8.0, sigma = 0.3, low = 5.0, high = 14.0 }
"""
"""Two uncertain keys: one that acts through the packed parameter row, one through the starting state.  They
replace the baseline's own ``[uncertain]`` table (its last table, see :func:`baseline_sections`), so the ensemble
case keeps covering both routes whatever that table holds."""


def baseline_sections() -> str:
    """runs/baseline.toml without its ``[uncertain]`` table (which must be the file's last table)."""
    text = (ROOT / "runs" / "baseline.toml").read_text()
    sections, _, table = text.partition("\n[uncertain]\n")
    if any(line.startswith("[") for line in table.splitlines()):
        raise ValueError("runs/baseline.toml: [uncertain] must be the last table for the golden ensemble case")
    return sections + "\n"

VOLATILE = ("wall_seconds", "runs_per_second", "out_dir", "elapsed", "seconds", "peak_rss_mb", "started", "finished",
            "timestamp", "workers", "threads", "throughput")
"""Summary fields that say how and when a command ran, not what it computed."""


def _run(args: list[str]) -> None:
    """One command, without figures (``--format none``: they are not part of the fixture)."""
    subprocess.run([*PROGRAM, *args, "--format", "none"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def _series_digest(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    rows = []
    for key, part in frame.sort_values([by, "step"]).groupby(by, sort=True):
        data = np.ascontiguousarray(part.drop(columns=[by]).to_numpy(dtype=np.float64))
        rows.append({by: key, "sha256": hashlib.sha256(data.tobytes()).hexdigest(), "n_rows": len(part)})
    return pd.DataFrame(rows)


def _stable(summary: dict) -> dict:
    return {k: _stable(v) if isinstance(v, dict) else v for k, v in summary.items()
            if not any(word in k for word in VOLATILE)}


def compute(work: Path) -> dict[str, pd.DataFrame]:
    """Run the four golden cases in ``work`` and return their tables (name -> frame)."""
    out: dict[str, pd.DataFrame] = {}
    for name in ("baseline", "racing"):
        target = work / name
        _run(["run", f"runs/{name}.toml", "--seed", "3", "--out", str(target)])
        summary = json.loads((target / "summary.json").read_text())
        out[f"{name}_summary"] = pd.DataFrame({"key": list(summary), "value": [json.dumps(summary[k])
                                                                              for k in summary]})
        out[f"{name}_market"] = pd.read_parquet(target / "market.parquet")
        out[f"{name}_events"] = pd.read_parquet(target / "events.parquet")

    scenario = work / "golden_uncertain.toml"
    scenario.write_text(baseline_sections() + UNCERTAIN)
    target = work / "ensemble"
    _run(["ensemble", str(scenario), "--runs", "50", "--seed", "11", "--workers", "1", "--chunk", "16",
          "--set", "sim.years=5", "--out", str(target)])
    runs = pd.read_parquet(target / "runs.parquet")
    out["ensemble_runs"] = runs.drop(columns=[c for c in runs.columns if any(w in c for w in VOLATILE)])
    market = pd.concat([pd.read_parquet(p) for p in sorted((target / "market").glob("*.parquet"))])
    out["ensemble_market"] = _series_digest(market, "run")
    summary = _stable(json.loads((target / "summary.json").read_text()))
    out["ensemble_summary"] = pd.DataFrame({"key": ["summary"], "value": [json.dumps(summary, sort_keys=True)]})

    target = work / "compare"
    _run(["compare", "runs/baseline.toml", "--policy", "runs/policies/compute_cap.toml", "--policy",
          "runs/policies/merger_review.toml", "--runs", "12", "--seed", "5", "--workers", "1",
          "--set", "sim.years=6", "--out", str(target)])
    runs = pd.read_parquet(target / "runs.parquet")
    out["compare_runs"] = runs.drop(columns=[c for c in runs.columns if any(w in c for w in VOLATILE)])
    comparison = _stable(json.loads((target / "comparison.json").read_text()))
    out["compare_effects"] = pd.DataFrame({"key": ["comparison"], "value": [json.dumps(comparison, sort_keys=True)]})
    return out


def platform_fingerprint() -> dict[str, object]:
    """What decides the last bits of a result on this machine, besides the code: the processor architecture, the C
    library (its libm), numpy's version and the SIMD targets its kernels dispatch to on this processor (numpy's
    exp, log and sums have AVX2 and AVX-512 variants that can differ in the last bit), and the kernel OpenBLAS
    chose for this processor (the robustness regression of an ensemble's summary goes through it)."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    from threadpoolctl import threadpool_info

    np.ones((2, 2)) @ np.ones((2, 2))  # OpenBLAS loaded
    blas = sorted(f"{lib.get('internal_api')} {lib.get('version')} {lib.get('architecture')}"
                  for lib in threadpool_info() if lib.get("user_api") == "blas")
    return {"machine": platform.machine(), "libc": " ".join(platform.libc_ver()), "numpy": np.__version__,
            "numpy_simd": [target for target in __cpu_dispatch__ if __cpu_features__.get(target)], "blas": blas}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in compute(Path(tmp)).items():
            frame.to_parquet(GOLDEN / f"{name}.parquet", index=False)
            print(f"{name}: {frame.shape}")
    (GOLDEN / "platform.json").write_text(json.dumps(platform_fingerprint(), indent=1) + "\n")
    print(f"platform.json: {platform_fingerprint()}")


if __name__ == "__main__":
    main()
