"""The policy lab: the Solara page that ``multipolar dashboard [SCENARIO] [--port]`` serves on 127.0.0.1.

Every control change recomputes the whole horizon at once (a run takes a fraction of a second; a slider drag
is debounced by :data:`DEBOUNCE_SECONDS`, and a newer change cancels the older computation): the baseline and,
with policies on, the same scenario with the policies, on the same seed (common random numbers), side by side.
Play and Step watch the run unfold through Mesa's model API (:class:`agents.AIEconomy`, one model per arm).
The ensemble mode runs ``R`` runs per arm through the execution layer and redraws the fan chart and
P(unipolar) with its Wilson interval as each chunk arrives.  Controls are generated from the schema
(:mod:`runs.views.controls`); the state lives in the URL's query string, so a link shares a view.

Each browser session (a Solara virtual kernel) has its own state, models and worker threads; when its page
closes, the kernel closes, the components unmount and every worker stops at its next check (a step, a
chunk).  The scenario the command was given comes from the environment variable ``MULTIPOLAR_SCENARIO``, its
policy files (``--policy``; toggles switched on when the page opens without a query) from
``MULTIPOLAR_POLICY_FILES`` (paths joined by ``os.pathsep``).
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import solara
from matplotlib import rc_context
from matplotlib.figure import Figure

from economy.params import ScenarioError
from runs.experiments import warm_up
from runs.views.controls import (
    MAX_RUNS,
    Control,
    PageState,
    contested_controls,
    format_value,
    more_controls,
    policy_toggles,
    scenario_files,
)
from runs.views.network import network_figure
from runs.views.page_figures import (
    PAGE_DPI,
    capability_figure,
    concentration_figure,
    fan_figure,
    shares_figure,
)
from runs.views.session import (
    Cancelled,
    RunView,
    run_ensemble,
    simulate_run,
    view_scenarios,
    watch_model,
)
from runs.views.style import save_figure

__all__ = ["DEBOUNCE_SECONDS", "Page", "draw_views", "initial_state"]

DEBOUNCE_SECONDS = 0.05
"""A computation starts this long after the last control change (slider drags send many)."""
PLAY_STEPS = 3
"""Steps per frame while playing (a quarter of a year at monthly steps)."""
PLAY_PAUSE_SECONDS = 0.1

SCENARIOS = scenario_files(os.environ.get("MULTIPOLAR_SCENARIO") or None)
GIVEN_POLICIES = tuple(item for item in os.environ.get("MULTIPOLAR_POLICY_FILES", "").split(os.pathsep) if item)
TOGGLES = policy_toggles(extra=GIVEN_POLICIES)
CONTESTED = contested_controls()
MORE = more_controls()
_MORE_SECTIONS = tuple(dict.fromkeys(c.key.split(".", 1)[0] for c in MORE))
_CAPTION = {"font-size": "0.8em", "color": "#555", "line-height": "1.25"}


@dataclass(frozen=True)
class Drawn:
    """A figure on the page: the SVG it is shown as, and the figure itself (for the PNG and SVG downloads).

    The page shows an SVG whose text is text (the browser sets it in the same DejaVu Sans), not a PNG: on the
    2-core machine of docs/performance.md the three figures of a change took 0.21-0.23 s as such SVGs against
    0.28-0.42 s as PNGs, the rasterising and the glyph-by-glyph drawing of text being the difference.  The
    downloads are written as the command line writes its files (:func:`runs.views.style.save_figure`).
    """

    name: str
    shown: bytes
    figure: Figure

    def png(self) -> bytes:
        return self._saved("png")

    def svg(self) -> bytes:
        return self._saved("svg")

    def _saved(self, fmt: str) -> bytes:
        buffer = io.BytesIO()
        with _SAVING:
            save_figure(self.figure, buffer, dpi=PAGE_DPI, fmt=fmt)
        return buffer.getvalue()


_SAVING = threading.Lock()
"""Held while a figure is saved: the shown SVGs set matplotlib's global ``svg.fonttype`` for the time of the save
(:func:`_drawn`), and no other thread of the server may save an SVG in between, nor restore the setting out of
order."""


def _drawn(name: str, fig: Figure) -> Drawn:
    buffer = io.BytesIO()
    with _SAVING, rc_context({"svg.fonttype": "none"}):
        save_figure(fig, buffer, dpi=PAGE_DPI, fmt="svg")
    return Drawn(name, buffer.getvalue(), fig)


def draw_views(runs: Mapping[str, RunView], year: float | None = None, network: bool = False) -> dict[str, Drawn]:
    """The page's figures of the runs of a view (keyed by arm) as they stand at ``year`` (default the horizon)."""
    sim = next(iter(runs.values())).scenario.sim
    horizon = (sim.start_year, sim.start_year + sim.years)
    year = horizon[1] if year is None else year
    figures = [_drawn("concentration", concentration_figure(runs, horizon, year))]
    figures += [_drawn(f"shares-{_slug(name)}", shares_figure(name, view, horizon, year, narrow=len(runs) > 1))
                for name, view in runs.items()]
    figures.append(_drawn("capability", capability_figure(runs, horizon, year)))
    if network:
        figures += [_drawn(f"network-{_slug(name)}", network_figure(view.graph, view.market, title=f"Spillover "
                                                                    f"network, {name}, in {year:.0f}"))
                    for name, view in runs.items() if view.graph is not None]
    return {d.name: d for d in figures}


def _slug(name: str) -> str:
    return name.replace(" ", "-")


@dataclass
class ViewResult:
    """One computed view: its runs, their figures, how long it took; or the one-line error."""

    runs: dict[str, RunView]
    figures: dict[str, Drawn]
    seconds: float
    error: str | None = None


def compute_view(state: PageState, network: bool, cancel: threading.Event) -> ViewResult:
    """Every arm of ``state`` to its horizon and the page's figures (after the debounce pause)."""
    if cancel.wait(DEBOUNCE_SECONDS):
        raise Cancelled
    t0 = time.perf_counter()
    try:
        arms = view_scenarios(state, SCENARIOS, TOGGLES)
    except ScenarioError as err:
        return ViewResult({}, {}, 0.0, str(err))
    runs = {name: simulate_run(name, scenario, state.seed, cancel) for name, scenario in arms.items()}
    figures = draw_views(runs, network=network)
    return ViewResult(runs, figures, time.perf_counter() - t0)


class Watch:
    """The arms of a view as Mesa models, stepped together (Step, Play); a lock keeps steps whole."""

    def __init__(self, state: PageState) -> None:
        self.scenarios = view_scenarios(state, SCENARIOS, TOGGLES)
        self.models = {name: watch_model(sc, state.seed) for name, sc in self.scenarios.items()}
        self.lock = threading.Lock()

    @property
    def model(self) -> Any:
        return next(iter(self.models.values()))

    @property
    def running(self) -> bool:
        return all(m.running for m in self.models.values())

    def step(self, n: int) -> None:
        with self.lock:
            for _ in range(n):
                if not self.running:
                    return
                for model in self.models.values():
                    model.step()

    def views(self) -> dict[str, RunView]:
        with self.lock:
            return {name: RunView.of(name, self.scenarios[name], model.simulation, 0.0)
                    for name, model in self.models.items()}

    def draw(self, network: bool) -> dict[str, Drawn]:
        return draw_views(self.views(), year=self.model.year, network=network)


@dataclass(frozen=True)
class EnsembleView:
    """What the ensemble has so far: the fan chart, the runs done, P(unipolar) per arm, or an error."""

    figure: Drawn | None
    done: int
    total: int
    p_unipolar: dict[str, tuple[float, float, float] | None]
    error: str | None = None


# ---------------------------------------------------------------------------------------------- components
def initial_state(query: str | None) -> PageState:
    """The state a new page opens in: the URL's query (None or "" when it has none), else the command's scenario
    with its ``--policy`` files on."""
    state = PageState.from_query(query, SCENARIOS, TOGGLES, CONTESTED + MORE)
    if (query or "").strip("?") or not GIVEN_POLICIES:
        return state
    return replace(state, policies=tuple(Path(item).stem for item in GIVEN_POLICIES))


@solara.component
def FigureCard(drawn: Drawn | None, classes: list[str], alt: str) -> None:
    """One figure with its PNG and SVG downloads."""
    with solara.Column(classes=classes, gap="2px", style={"margin-bottom": "10px"}):
        if drawn is None:
            solara.Text(f"{alt}: computing ...", style=_CAPTION)
            return
        solara.Image(drawn.shown, format="svg+xml", width="100%")
        with solara.Row(gap="4px"):
            solara.FileDownload(drawn.png, filename=f"{drawn.name}.png", label="PNG", mime_type="image/png")
            solara.FileDownload(drawn.svg, filename=f"{drawn.name}.svg", label="SVG", mime_type="image/svg+xml")


@solara.component
def ControlRow(control: Control, value: float, changed: bool, on_value: Callable[[float | None], None]) -> None:
    """A parameter: its name, value and unit always shown, the slider or number field, one line of explanation."""
    with solara.Column(gap="0px", style={"margin-bottom": "6px"}):
        mark = " (changed)" if changed else ""
        solara.Text(f"{control.label}: {format_value(value, control.integer)} {control.unit}{mark}",
                    classes=["mp-value"], style={"font-weight": "500", "font-size": "0.9em"})
        if control.slider:
            solara.SliderFloat(control.label, value=value, min=control.lo, max=control.hi, step=control.step,
                               on_value=on_value, thumb_label=False)
        else:
            solara.InputFloat(control.label, value=value, on_value=on_value, continuous_update=False)
        solara.Text(control.explain(), style=_CAPTION)


@solara.component
def Controls(state: PageState, set_state: Callable[[Any], None], base: Any) -> None:
    """The sidebar: scenario, seed, mode, the contested parameters, policies with their values, "more"."""
    section, set_section = solara.use_state(_MORE_SECTIONS[0])
    _heading("Scenario")
    solara.Select("Scenario file (runs/*.toml)", values=list(SCENARIOS), value=state.scenario,
                  on_value=lambda v: set_state(lambda s: replace(s, scenario=v)))
    solara.InputInt("Seed (root of the run's random streams)", value=state.seed, continuous_update=False,
                    on_value=lambda v: set_state(lambda s: replace(s, seed=max(0, int(v or 0)))))
    solara.ToggleButtonsSingle(value=state.mode, values=["single", "ensemble"],
                               on_value=lambda v: set_state(lambda s: replace(s, mode=v)))
    if state.mode == "ensemble":
        solara.InputInt(f"Runs per arm (2-{MAX_RUNS})", value=state.runs, continuous_update=False,
                        on_value=lambda v: set_state(lambda s: replace(s, runs=min(MAX_RUNS, max(2, int(v or 2))))))
    _heading("Contested parameters")
    values = dict(state.values)
    for control in CONTESTED:
        ControlRow(control, state.value(control.key, base), control.key in values,
                   lambda v, key=control.key: set_state(lambda s: s.with_value(key, v)))
    if state.values:
        solara.Button("Back to the scenario's values", text=True,
                      on_click=lambda: set_state(lambda s: replace(s, values=())))
    _heading("Policies (side by side with the baseline, same seed)")
    policy_values = dict(state.policy_values)
    for toggle in TOGGLES:
        on = toggle.stem in state.policies
        solara.Checkbox(label=f"{toggle.stem.replace('_', ' ')}: {toggle.description}", value=on,
                        on_value=lambda v, stem=toggle.stem: set_state(lambda s: s.with_policy(stem, v)))
        if on:
            for control in toggle.controls:
                value = policy_values.get(control.key, toggle.default(control.key))
                ControlRow(control, value, control.key in policy_values,
                           lambda v, key=control.key: set_state(lambda s: s.with_policy_value(key, v)))
    with solara.Details(f"More parameters ({len(MORE)})"):
        solara.Select("Section", values=list(_MORE_SECTIONS), value=section, on_value=set_section)
        for control in MORE:
            if control.key.startswith(section + "."):
                ControlRow(control, state.value(control.key, base), control.key in values,
                           lambda v, key=control.key: set_state(lambda s: s.with_value(key, v)))


def _table_bytes(view: RunView, table: str, fmt: str) -> Callable[[], bytes]:
    def make() -> bytes:
        frame = getattr(view, table)
        buffer = io.BytesIO()
        if fmt == "parquet":
            frame.to_parquet(buffer, index=False, engine="pyarrow")
        else:
            buffer.write(frame.to_csv(index=False).encode())
        return buffer.getvalue()

    return make


@solara.component
def Downloads(runs: Mapping[str, RunView]) -> None:
    _heading("Download the run (the tables of multipolar run)")
    for name, view in runs.items():
        with solara.Row(gap="4px", style={"flex-wrap": "wrap", "align-items": "center"}):
            solara.Text(f"{name}:", style={"min-width": "8em"})
            for table in ("market", "labs", "events"):
                for fmt in ("parquet", "csv"):
                    filename = f"{_slug(name)}-{table}.{fmt}"
                    solara.FileDownload(_table_bytes(view, table, fmt), filename=filename, label=filename,
                                        mime_type="application/octet-stream" if fmt == "parquet" else "text/csv")


def _status(runs: Mapping[str, RunView], year: float) -> str:
    parts = []
    for name, view in runs.items():
        s = view.summary
        sing = s.get("singularity_year")
        parts.append(f"{name} {year:.2f}: HHI {s['final_hhi']:,.0f}, leader {s.get('leader')} "
                     f"({100 * (s.get('leader_share') or 0):.0f} %), {s.get('n_alive')} labs alive, "
                     f"singularity {'none' if sing is None else f'{sing:.1f}'}")
    return " | ".join(parts)


def _outcome_rows(runs: Mapping[str, RunView]) -> str:
    """The outcomes of each arm as the rows of an HTML table."""
    rows = [("final HHI (0-10,000)", "final_hhi", ",.0f"), ("leader's share", "leader_share", ".0%"),
            ("effective labs", "effective_labs", ".1f"), ("unipolar", "unipolar", ""),
            ("singularity year", "singularity_year", ".1f"), ("takeoff (years)", "takeoff_years", ".1f"),
            ("incidents", "incidents", "d"), ("entries / exits", None, "")]
    head = "".join(f"<th style='padding:2px 10px'>{html.escape(name)}</th>" for name in runs)
    lines = [f"<tr><th style='text-align:left'>outcome</th>{head}</tr>"]
    for words, key, spec in rows:
        cells = []
        for view in runs.values():
            s = view.summary
            if key is None:
                text = f"{s.get('n_entries')} / {s.get('n_exits')}"
            elif s.get(key) is None:
                text = "none"
            else:
                text = format(s[key], spec) if spec else str(s[key])
            cells.append(f"<td style='text-align:right;padding:2px 10px'>{html.escape(text)}</td>")
        lines.append(f"<tr><td>{html.escape(words)}</td>{''.join(cells)}</tr>")
    return "".join(lines)


def _heading(text: str) -> None:
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(text), style={"margin": "12px 0 4px 0", "font-size": "1.05em"})


@solara.component
def Page() -> None:
    router = solara.use_router()
    initial = solara.use_memo(lambda: initial_state(router.search), [])
    state, set_state = solara.use_state(initial)
    show_network, set_show_network = solara.use_state(False)
    watch, set_watch = solara.use_state(None)
    watch_figures, set_watch_figures = solara.use_state(None)
    playing, set_playing = solara.use_state(False)
    ensemble, set_ensemble = solara.use_state(None)
    single = replace(state, mode="single", runs=0, notes=())

    def push_url() -> None:
        query = state.to_query()
        if (router.search or "") != query:
            router.push(f"{router.path or '/'}?{query}")

    solara.use_effect(push_url, [state])

    def forget_watch() -> None:
        set_playing(False)
        set_watch(None)
        set_watch_figures(None)

    solara.use_effect(forget_watch, [single])
    view = solara.use_thread(lambda cancel: compute_view(single, show_network, cancel), [single, show_network],
                             intrusive_cancel=False)

    def run_ensemble_arms(cancel: threading.Event) -> None:
        if state.mode != "ensemble":
            set_ensemble(None)
            return
        set_ensemble(EnsembleView(None, 0, state.runs, {}))
        try:
            arms = view_scenarios(state, SCENARIOS, TOGGLES)
        except ScenarioError as err:
            set_ensemble(EnsembleView(None, 0, state.runs, {}, str(err)))
            return
        sim = next(iter(arms.values())).sim
        horizon = (sim.start_year, sim.start_year + sim.years)

        def update(so_far: Mapping[str, Any], done: int, total: int) -> None:
            figure = _drawn("ensemble-hhi", fan_figure(so_far, horizon, state.runs))
            set_ensemble(EnsembleView(figure, done, total, {n: a.p_unipolar() for n, a in so_far.items()}))

        try:
            run_ensemble(arms, state.seed, state.runs, update, cancel)
        except Cancelled:
            return

    solara.use_thread(run_ensemble_arms, [state if state.mode == "ensemble" else None], intrusive_cancel=False)

    def play(cancel: threading.Event) -> None:
        if not playing or watch is None:
            return
        while not cancel.is_set() and watch.running:
            watch.step(PLAY_STEPS)
            set_watch_figures(watch.draw(show_network))
            cancel.wait(PLAY_PAUSE_SECONDS)
        if not cancel.is_set():
            set_playing(False)

    solara.use_thread(play, [playing, watch], intrusive_cancel=False)

    def start_watch() -> Watch | None:
        try:
            fresh = Watch(single)
        except ScenarioError:
            return None
        set_watch(fresh)
        set_watch_figures(fresh.draw(show_network))
        return fresh

    def step_once() -> None:
        current = watch or start_watch()
        if current is not None and not playing:
            current.step(1)
            set_watch_figures(current.draw(show_network))

    result: ViewResult | None = view.value
    scenario_name = state.scenario
    solara.Title(f"Multipolar policy lab: {scenario_name}")
    with solara.Sidebar():
        base = None
        try:
            base = view_scenarios(replace(single, values=(), policies=()), SCENARIOS, TOGGLES)["baseline"]
        except ScenarioError as err:
            solara.Error(str(err))
        if base is not None:
            Controls(state, set_state, base)
    with solara.Column(style={"padding": "8px 16px", "max-width": "1100px"}):
        solara.HTML(tag="h2", unsafe_innerHTML=html.escape(f"Multipolar policy lab: scenario {scenario_name}, seed "
                                                          f"{state.seed}"))
        for note in state.notes:
            solara.Warning(f"Link: {note} (left out)")
        if view.error is not None and not isinstance(view.error, Cancelled):
            solara.Error(f"{type(view.error).__name__}: {view.error}")
        if result is not None and result.error:
            solara.Error(result.error)
        busy = view.state in (solara.ResultState.STARTING, solara.ResultState.RUNNING, solara.ResultState.WAITING)
        runs = result.runs if result is not None else {}
        watching = watch is not None and watch_figures is not None
        figures = watch_figures if watching else (result.figures if result is not None else {})
        took = ""
        if runs:
            year = watch.model.year if watching else max(v.summary["final_year"] for v in runs.values())
            solara.Text(_status(watch.views() if watching else runs, year), classes=["mp-status"],
                        style={"font-weight": "500"})
            took = ": watching the run step by step" if watching else f": computed in {result.seconds:.2f} s"
        solara.Text("recomputing ..." if busy else f"up to date{took}", classes=["mp-busy" if busy else "mp-ready"],
                    style=_CAPTION)
        with solara.Row(gap="6px", style={"align-items": "center"}):
            solara.Button("Reset", on_click=start_watch, disabled=playing)
            solara.Button("Step", on_click=step_once, disabled=playing)
            if playing:
                solara.Button("Pause", on_click=lambda: set_playing(False))
            else:
                solara.Button("Play", on_click=lambda: (watch or start_watch()) and set_playing(True))
            solara.Button("Whole run", on_click=forget_watch, disabled=not watching)
            when = f"Time: {watch.model.year:.2f} (step {watch.model.simulation.steps_done} of " \
                   f"{watch.model.simulation.n_steps})" if watching else "Time: the whole horizon"
            solara.Text(when, classes=["mp-time"])
            solara.Switch(label="network view", value=show_network, on_value=set_show_network)
        if state.mode == "ensemble":
            EnsemblePanel(ensemble, state)
        FigureCard(figures.get("concentration"), ["mp-hhi"], "Concentration")
        shares = [name for name in figures if name.startswith("shares-")]
        with solara.Columns([1] * max(1, len(shares)), classes=["mp-shares"]):
            for name in shares:
                FigureCard(figures[name], [f"mp-{name}"], name)
        FigureCard(figures.get("capability"), ["mp-capability"], "Capability")
        for name in [n for n in figures if n.startswith("network-")]:
            FigureCard(figures[name], [f"mp-{name}"], name)
        if runs:
            solara.HTML(tag="table", unsafe_innerHTML=_outcome_rows(runs), classes=["mp-outcomes"],
                        style={"font-size": "0.9em", "margin": "8px 0"})
            Downloads(runs)


@solara.component
def EnsemblePanel(ensemble: EnsembleView | None, state: PageState) -> None:
    with solara.Column(classes=["mp-ensemble"], gap="2px"):
        if ensemble is None:
            solara.Text("ensemble: starting ...", style=_CAPTION)
            return
        if ensemble.error:
            solara.Error(ensemble.error)
        words = [f"{name}: P(unipolar) {p[0]:.0%} [{p[1]:.0%}, {p[2]:.0%}]" for name, p in
                 ensemble.p_unipolar.items() if p is not None]
        arms = max(1, len(ensemble.p_unipolar))
        solara.Text(f"ensemble: {ensemble.done // arms} of {ensemble.total // arms} runs per arm; " + "; ".join(words),
                    classes=["mp-ensemble-status"])
        FigureCard(ensemble.figure, ["mp-fan"], "Ensemble")


def _warm_up() -> None:
    """Load the compiled kernels while the server starts, so the first view is as quick as the next."""
    with contextlib.suppress(Exception):  # a scenario that does not load is reported on the page
        warm_up(view_scenarios(PageState(scenario=next(iter(SCENARIOS))), SCENARIOS, TOGGLES)["baseline"])


threading.Thread(target=_warm_up, name="multipolar-warm-up", daemon=True).start()
