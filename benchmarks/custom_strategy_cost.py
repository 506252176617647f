"""What a Python strategy costs: ``AIEconomy.step()`` with the built-in (compiled) strategies against the same
model whose labs run a Python ``decide()`` (agents/examples/custom_strategy.py).

Usage::

    python benchmarks/custom_strategy_cost.py [--repeats R] [--threads N] [--out FILE.json]

For the baseline (12 labs, network on) and generated populations of 1,000 and 10,000 labs (network none), with
the kernels warm, times in turn (interleaved, so load on a shared machine hits every variant alike):

* ``Simulation.step()``, the compiled economy alone;
* ``AIEconomy.step()`` with the default ``Lab`` (built-in strategies, agents as views);
* ``AIEconomy.step()`` with a ``Lab`` subclass whose ``decide()`` does nothing (the cost of the hook itself);
* ``AIEconomy.step()`` with ``SafetyBrake``, the worked example (reads drift, writes two columns when braking).

and the Python hooks alone (every live lab's ``decide()``, as ``AIEconomy.step`` calls them).  Reports median wall
times per step, the hook's cost per lab and the slowdown (built-in step + hook) / built-in step, and writes JSON.
(The difference of two step times is within the noise of a shared machine, hence the hook timed alone.)  This
is a script, not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numba

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.examples.custom_strategy import SafetyBrake  # noqa: E402
from agents.lab import Lab  # noqa: E402
from agents.model import AIEconomy  # noqa: E402
from economy.engine import Simulation  # noqa: E402
from economy.kernels.config import configure  # noqa: E402
from economy.params import Scenario, load_scenario  # noqa: E402


class DoNothing(Lab):
    """A Python strategy that decides nothing: the cost of calling the hook."""

    def decide(self) -> None:
        return None


def populations() -> dict[str, Scenario]:
    base, _ = load_scenario(ROOT / "runs" / "baseline.toml")
    out = {"baseline (12 labs)": base}
    for n in (1_000, 10_000):
        out[f"{n:,} generated labs"] = Scenario.model_validate(
            {"name": f"bench-{n}", "labs": {"n": n}, "sim": {"years": 20.0}})
    return out


def time_steps(step, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        step()
        times.append(time.perf_counter() - began)
    return times


def measure(scenario: Scenario, repeats: int) -> dict[str, float]:
    variants = {
        "Simulation.step": Simulation(scenario, [7], record_labs=False),
        "AIEconomy, built-in": AIEconomy(scenario, seed=7, record_labs=False),
        "AIEconomy, decide() doing nothing": AIEconomy(scenario, seed=7, record_labs=False, lab_class=DoNothing),
        "AIEconomy, SafetyBrake": AIEconomy(scenario, seed=7, record_labs=False, lab_class=SafetyBrake),
    }
    for model in variants.values():  # warm: kernels loaded, first-step allocations done
        model.step()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    hooks: dict[str, list[float]] = {"decide() no-op alone": [], "SafetyBrake decide() alone": []}
    for _ in range(repeats):
        for name, model in variants.items():
            samples[name] += time_steps(model.step, 1)
        # the Python hooks alone, as AIEconomy.step calls them (less noisy than a difference of step times)
        for name, model in (("decide() no-op alone", variants["AIEconomy, decide() doing nothing"]),
                            ("SafetyBrake decide() alone", variants["AIEconomy, SafetyBrake"])):
            agents = list(model._lab_agents.values())
            began = time.perf_counter()
            for lab in agents:
                lab.decide()
            hooks[name].append(time.perf_counter() - began)
    out = {name: statistics.median(values) for name, values in samples.items()}
    out.update({name: statistics.median(values) for name, values in hooks.items()})
    out["labs with an agent"] = float(len(variants["AIEconomy, SafetyBrake"].agents))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "custom_strategy_cost.json")
    args = parser.parse_args()
    configure()
    numba.set_num_threads(args.threads)
    results = {}
    print("| population | Simulation.step | AIEconomy, built-in | decide() no-op | SafetyBrake | no-op hook alone "
          "| SafetyBrake hook alone | us per lab (SafetyBrake hook) | slowdown (hook / built-in step) |")
    print("|---" * 9 + "|")
    for label, scenario in populations().items():
        medians = measure(scenario, args.repeats)
        agents = medians.pop("labs with an agent")
        base = medians["AIEconomy, built-in"]
        hook = medians["SafetyBrake decide() alone"]
        row = {**{k: v * 1e3 for k, v in medians.items()}, "labs_with_agents": agents,
               "us_per_lab_safety_brake": hook / agents * 1e6, "slowdown_safety_brake": (base + hook) / base,
               "slowdown_noop": (base + medians["decide() no-op alone"]) / base}
        results[label] = row
        print(f"| {label} | " + " | ".join(f"{row[k]:.3f} ms" for k in medians)
              + f" | {row['us_per_lab_safety_brake']:.2f} | {row['slowdown_safety_brake']:.2f}x |")
    payload = {"median_ms_per_step": results, "threads": args.threads, "repeats": args.repeats,
               "machine": platform.platform(), "python": platform.python_version(), "numba": numba.__version__}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
