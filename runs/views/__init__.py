"""The views room: everything that shows outputs, never computing them.

:mod:`~runs.views.style` (palette, thresholds, how figures are written), then one module per kind of output:
:mod:`~runs.views.run` (the overview and the figures of one run), :mod:`~runs.views.network`,
:mod:`~runs.views.ensemble` (fan charts), :mod:`~runs.views.compare` (the forest plot), :mod:`~runs.views.policy`
(effects tables, trade-off, dose-response and Pareto figures), :mod:`~runs.views.sweep` (phase diagrams),
:mod:`~runs.views.sensitivity`; :mod:`~runs.views.marks` (event markers, guide labels placed clear of the data,
year ticks); :mod:`~runs.views.report` (the HTML report of an output folder), :mod:`~runs.views.paramdoc` (the
parameter table of docs/model.md); the policy lab's controls and URL state (:mod:`~runs.views.controls`) and
figures (:mod:`~runs.views.page_figures`); and ``runs/views/dashboard.py`` with ``runs/views/session.py``, the
Solara app that ``multipolar dashboard`` serves (not imported here: they load Mesa).

:data:`FIGURES` bundles each kind's figure hook for the runners of :mod:`runs.experiments`
(``run_ensemble(..., figures=FIGURES)``): experiments never draw, views are passed in.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from runs.experiments.result import Figures
from runs.views.calibration import marginals_figure, predictive_figures
from runs.views.compare import forest_figure, write_compare_figures
from runs.views.controls import (
    CONTESTED,
    MAX_RUNS,
    MODES,
    Control,
    PageState,
    PolicyToggle,
    contested_controls,
    format_value,
    more_controls,
    policy_toggles,
    scenario_files,
)
from runs.views.ensemble import (
    FAN_LEVELS,
    ensemble_figure_set,
    fan_chart,
    leader_share_histogram,
    rank_share_chart,
    step_quantiles,
    write_ensemble_figures,
)
from runs.views.marks import (
    EVENT_STYLES,
    label_overlaps,
    mark_events,
    place_guide_labels,
    settle_layout,
    year_axis,
)
from runs.views.network import network_figure
from runs.views.page_figures import (
    ARM_COLOURS,
    capability_figure,
    concentration_figure,
    fan_figure,
    shares_figure,
)
from runs.views.paramdoc import BEGIN, END, archetype_table, parameter_rows, parameter_table, render_into
from runs.views.policy import (
    DOSE_PANELS,
    RESPOND_OUTCOMES,
    EffectRow,
    RespondRow,
    dose_response_figure,
    effect_rows,
    level_text,
    pareto_figure,
    respond_figure,
    respond_rows,
    shown,
    signed_text,
    tradeoff_figure,
    write_compare_policy_figures,
    write_optimize_figures,
    write_policy_sweep_figures,
)
from runs.views.report import (
    REPORT_NAME,
    Report,
    ReportInputError,
    build_report,
    detect_kind,
    render_html,
    write_report,
)
from runs.views.run import (
    LORENZ_COLUMNS,
    RUN_FIGURES,
    effective_labs_figure,
    gini_coefficient,
    hhi_panel,
    horizon_labs,
    lorenz_curve,
    lorenz_figure,
    overview_figure,
    quality_figure,
    quality_panel,
    rank_share_figure,
    run_figure_set,
    share_panel,
    top_shares_figure,
    write_run_figures,
)
from runs.views.sensitivity import index_figure, write_sensitivity_figures
from runs.views.style import (
    DPI,
    FORMATS,
    GUIDE,
    HHI_HIGH,
    HHI_MODERATE,
    OKABE_ITO,
    finite,
    is_real,
    save_figure,
    save_figure_atomic,
    write_figures,
)
from runs.views.sweep import (
    PHASE_STATISTICS,
    PhaseStatistic,
    axis_label,
    grid_cell,
    half_boundary,
    phase_figure,
    regime_guides,
    sweep_figure_set,
    write_sweep_figures,
)

__all__ = [
    "ARM_COLOURS",
    "BEGIN",
    "CONTESTED",
    "DOSE_PANELS",
    "DPI",
    "END",
    "EVENT_STYLES",
    "FAN_LEVELS",
    "FIGURES",
    "FORMATS",
    "GUIDE",
    "HHI_HIGH",
    "HHI_MODERATE",
    "LORENZ_COLUMNS",
    "MAX_RUNS",
    "MODES",
    "OKABE_ITO",
    "PHASE_STATISTICS",
    "REPORT_NAME",
    "RESPOND_OUTCOMES",
    "RUN_FIGURES",
    "Control",
    "EffectRow",
    "PageState",
    "PhaseStatistic",
    "PolicyToggle",
    "Report",
    "ReportInputError",
    "RespondRow",
    "archetype_table",
    "axis_label",
    "build_report",
    "capability_figure",
    "concentration_figure",
    "contested_controls",
    "detect_kind",
    "dose_response_figure",
    "effect_rows",
    "effective_labs_figure",
    "ensemble_figure_set",
    "fan_chart",
    "fan_figure",
    "figure_hooks",
    "finite",
    "forest_figure",
    "format_value",
    "gini_coefficient",
    "grid_cell",
    "half_boundary",
    "hhi_panel",
    "horizon_labs",
    "index_figure",
    "is_real",
    "label_overlaps",
    "leader_share_histogram",
    "level_text",
    "lorenz_curve",
    "lorenz_figure",
    "marginals_figure",
    "mark_events",
    "more_controls",
    "network_figure",
    "overview_figure",
    "parameter_rows",
    "parameter_table",
    "pareto_figure",
    "phase_figure",
    "place_guide_labels",
    "policy_toggles",
    "predictive_figures",
    "quality_figure",
    "quality_panel",
    "rank_share_chart",
    "rank_share_figure",
    "regime_guides",
    "render_html",
    "render_into",
    "respond_figure",
    "respond_rows",
    "run_figure_set",
    "save_figure",
    "save_figure_atomic",
    "scenario_files",
    "settle_layout",
    "share_panel",
    "shares_figure",
    "shown",
    "signed_text",
    "step_quantiles",
    "sweep_figure_set",
    "top_shares_figure",
    "tradeoff_figure",
    "write_compare_figures",
    "write_compare_policy_figures",
    "write_ensemble_figures",
    "write_figures",
    "write_optimize_figures",
    "write_policy_sweep_figures",
    "write_report",
    "write_run_figures",
    "write_sensitivity_figures",
    "write_sweep_figures",
    "year_axis",
]



def figure_hooks(formats: Sequence[str] = ("png",)) -> Figures:
    """The figure hooks of every kind of output, writing each figure in ``formats`` (``png``, ``svg``)."""
    if tuple(formats) == ("png",):
        return FIGURES
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"figure formats {list(formats)}: choose one or more of {', '.join(FORMATS)}")
    hooks = {name: functools.partial(getattr(FIGURES, name), formats=tuple(formats))
             for name in ("run", "ensemble", "sweep", "compare", "sensitivity", "policy_sweep", "optimize")}
    return Figures(**hooks)


FIGURES = Figures(run=write_run_figures, ensemble=write_ensemble_figures, sweep=write_sweep_figures,
                  compare=write_compare_figures, sensitivity=write_sensitivity_figures,
                  policy_sweep=write_policy_sweep_figures, optimize=write_optimize_figures)
"""The figures the command line writes, for every kind of output (as PNG; :func:`figure_hooks` for SVG)."""
