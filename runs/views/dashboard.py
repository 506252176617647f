"""The interactive dashboard: a Mesa SolaraViz page over :class:`agents.AIEconomy`.

Serve it with ``multipolar dashboard [SCENARIO] [--port 8765]`` (127.0.0.1 only). The sliders set the
contested parameters; as in every SolaraViz app they apply when you press Reset. Plots: market shares by
lab, HHI with the 2023 Merger Guidelines lines, frontier and runner-up quality.

This module is imported by ``solara run``: the scenario comes from the environment variable
``MULTIPOLAR_SCENARIO`` (default: the packaged ``runs/baseline.toml``), its policy files (``--policy``) from
``MULTIPOLAR_POLICY_FILES`` (paths joined by ``os.pathsep``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import solara
from matplotlib.figure import Figure
from mesa.visualization import Slider, SolaraViz
from mesa.visualization.utils import update_counter

from agents import AIEconomy
from economy.params import Scenario, load_policy_file, load_scenario
from runs.views.run import hhi_panel, quality_panel, share_panel

__all__ = ["SLIDERS", "DashboardEconomy", "page"]

DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "baseline.toml"

SLIDERS: dict[str, tuple[str, str, float, float, float]] = {
    # constructor argument: (scenario key, label, min, max, step)
    "returns_to_research": ("research.returns_to_research", "Returns to research r", 0.2, 4.0, 0.1),
    "max_automation": ("research.max_automation", "Max automation (feedback bottleneck)", 0.0, 1.0, 0.05),
    "substitution": ("research.substitution", "Human/AI substitution sigma", 0.1, 2.0, 0.1),
    "winner_take_all": ("market.winner_take_all", "Winner-take-all gamma", 0.0, 40.0, 1.0),
    "data_flywheel": ("market.data_flywheel", "Data flywheel zeta", 0.0, 0.5, 0.01),
    "switching_years": ("market.switching_years", "Customer switching time (years)", 0.1, 5.0, 0.1),
}


def _load(overrides: list[str]) -> tuple[Scenario, str]:
    path = os.environ.get("MULTIPOLAR_SCENARIO") or str(DEFAULT_SCENARIO)
    files = [load_policy_file(item) for item in os.environ.get("MULTIPOLAR_POLICY_FILES", "").split(os.pathsep) if item]
    return load_scenario(path, overrides, files)


def _base_scenario() -> tuple[Scenario, str]:
    return _load([])


class DashboardEconomy(AIEconomy):
    """``AIEconomy`` whose contested parameters are constructor arguments, for SolaraViz's sliders."""

    def __init__(self, seed: int = 0, scenario: Any = None, **values: float) -> None:
        # SolaraViz's Reset passes Mesa's own ``scenario`` keyword (None here); ours comes from the environment.
        del scenario
        unknown = set(values) - set(SLIDERS)
        if unknown:
            raise TypeError(f"unknown dashboard parameters: {sorted(unknown)}")
        overrides = [f"{SLIDERS[name][0]}={value!r}" for name, value in values.items()]
        super().__init__(_load(overrides)[0], seed=int(seed))


def _slider_defaults(scenario: Scenario) -> dict[str, float]:
    out = {}
    for name, (key, *_rest) in SLIDERS.items():
        section, field = key.split(".")
        out[name] = float(getattr(getattr(scenario, section), field))
    return out


def _panel(model: AIEconomy, draw: Any, height: float) -> Any:
    """One matplotlib panel over the whole horizon (so the time axis does not rescale as the model runs)."""
    fig = Figure(figsize=(7, height), layout="constrained")
    ax = fig.subplots()
    draw(ax)
    sim = model.simulation.scenario.sim
    ax.set_xlim(sim.start_year, sim.start_year + sim.years)
    ax.xaxis.get_major_formatter().set_useOffset(False)
    return solara.FigureMatplotlib(fig, format="png")


@solara.component
def Shares(model: AIEconomy) -> Any:
    update_counter.get()
    return _panel(model, lambda ax: share_panel(ax, model.labs_frame(), top_labs=6), 3.2)


@solara.component
def Concentration(model: AIEconomy) -> Any:
    update_counter.get()
    return _panel(model, lambda ax: hhi_panel(ax, model.market_frame()), 3.0)


@solara.component
def Capability(model: AIEconomy) -> Any:
    update_counter.get()
    return _panel(model, lambda ax: quality_panel(ax, model.market_frame(), model.summary()), 3.0)


@solara.component
def Status(model: AIEconomy) -> Any:
    update_counter.get()
    s = model.summary()
    sing = "none" if s["singularity_year"] is None else f"{s['singularity_year']:.2f}"
    return solara.Text(
        f"Year {model.year:.2f} | HHI {s['final_hhi']:,.0f} | leader {s['leader']} "
        f"({100 * s['leader_share']:.1f}%) | labs alive {s['n_alive']} | singularity {sing}",
        classes=["mp-status"], style={"font-size": "1.1em", "font-weight": "500"},
    )


def _page() -> Any:
    scenario, _ = _base_scenario()
    defaults = _slider_defaults(scenario)
    params: dict[str, Any] = {"seed": Slider("Seed", value=0, min=0, max=99, step=1)}
    for name, (_key, label, lo, hi, step) in SLIDERS.items():
        params[name] = Slider(label, value=defaults[name], min=lo, max=hi, step=step)
    model = DashboardEconomy(seed=0, **defaults)
    return SolaraViz(
        model,
        components=[(Status, 0), (Shares, 0), (Concentration, 0), (Capability, 0)],
        model_params=params,
        name=f"Multipolar: {scenario.name}",
        play_interval=50,
    )


page = _page()
