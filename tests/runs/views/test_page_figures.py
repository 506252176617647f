"""The dashboard's figures (runs/views/page_figures.py) have fixed margins, not a constrained layout: every text
they draw (titles, axis labels, tick labels, legends, guide labels) must still lie inside the figure, for one arm
and for a baseline beside a policy arm (longer legend entries, the narrow side-by-side shares)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.text import Text

from economy.params import load_policy_file, load_scenario
from runs.views import capability_figure, concentration_figure, fan_figure, shares_figure

session = importlib.import_module("runs.views.session")  # the page's own helpers, not part of runs.views' API
BASELINE, POLICY = session.BASELINE, session.POLICY
EnsembleArm, simulate_run = session.EnsembleArm, session.simulate_run


@pytest.fixture(scope="module")
def arms(tmp_path_factory, strong_cap) -> dict:
    base, _ = load_scenario("runs/baseline.toml", ["sim.years=8"])
    capped, _ = load_scenario("runs/baseline.toml", ["sim.years=8"], [load_policy_file(strong_cap)])
    return {BASELINE: simulate_run(BASELINE, base, 3), POLICY: simulate_run(POLICY, capped, 3)}


def _outside(fig) -> list[str]:
    """The texts drawn (at least partly) outside the figure, with where they are (pixels).  Tick labels count only
    where their tick is drawn (inside the axis' view interval); matplotlib keeps spare ones it does not draw."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    spare = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    spare |= {id(tick.label1), id(tick.label2)}
    out = []
    for text in fig.findobj(Text):
        if id(text) in spare or not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < canvas.x0 - 1 or box.y0 < canvas.y0 - 1 or box.x1 > canvas.x1 + 1 or box.y1 > canvas.y1 + 1:
            out.append(f"{text.get_text()!r} at {tuple(round(float(v)) for v in box.bounds)}")
    return out


def _horizon(view) -> tuple[float, float]:
    sim = view.scenario.sim
    return sim.start_year, sim.start_year + sim.years


@pytest.mark.parametrize("two_arms", [False, True])
def test_every_text_of_a_single_run_view_is_inside_its_figure(arms, two_arms) -> None:
    runs = arms if two_arms else {BASELINE: arms[BASELINE]}
    horizon = _horizon(arms[BASELINE])
    figures = [concentration_figure(runs, horizon, horizon[1]), capability_figure(runs, horizon, horizon[1])]
    figures += [shares_figure(name, view, horizon, horizon[1], narrow=two_arms) for name, view in runs.items()]
    for fig in figures:
        assert _outside(fig) == [], fig.axes[0].get_title(loc="left")


def test_every_text_of_the_ensemble_fan_is_inside_its_figure(arms) -> None:
    horizon = _horizon(arms[BASELINE])
    fan = {}
    for k, (name, view) in enumerate(arms.items()):
        arm = EnsembleArm(name, years=view.market["year"].to_numpy())
        hhi = view.market["hhi"].to_numpy()
        arm.hhi.append(np.column_stack([hhi, 0.9 * hhi, 1.1 * hhi]))
        arm.ok, arm.unipolar = 3, k
        fan[name] = arm
    fig = fan_figure(fan, horizon, 40)
    assert _outside(fig) == []


SHOWN = """
import importlib, json, threading
import matplotlib
from economy.params import load_scenario
page = importlib.import_module("runs.views.dashboard")  # served by solara, not part of runs.views' API
session = importlib.import_module("runs.views.session")
scenario, _ = load_scenario("runs/baseline.toml", ["sim.years=2"])
drawn = page.draw_views({session.BASELINE: session.simulate_run(session.BASELINE, scenario, 3)})
print(json.dumps({name: {"shown_svg": d.shown.lstrip().startswith(b"<?xml"), "shown_text": b"<text" in d.shown,
                         "png": d.png().startswith(b"\\x89PNG"), "svg_text": b"<text" in d.svg()}
                  for name, d in drawn.items()} | {"fonttype": matplotlib.rcParams["svg.fonttype"]}))
for thread in threading.enumerate():  # the page's kernel warm-up: exiting under it can crash the interpreter
    if thread.name == "multipolar-warm-up":
        thread.join()
"""


@pytest.mark.slow
def test_the_page_shows_svg_with_text_as_text_and_downloads_the_command_line_files() -> None:
    """The page shows each figure as an SVG whose text is text (quicker to write than a PNG, docs/views.md); the
    PNG and SVG downloads are the command line's (an SVG's text as paths); matplotlib's global setting is left as
    it was.  In a subprocess: the page module reads its environment and starts its warm-up when imported."""
    out = subprocess.run([sys.executable, "-c", SHOWN], cwd=Path(__file__).resolve().parents[3],
                         capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result.pop("fonttype") == "path"
    assert set(result) == {"concentration", "shares-baseline", "capability"}
    for name, checks in result.items():
        assert checks == {"shown_svg": True, "shown_text": True, "png": True, "svg_text": False}, name
