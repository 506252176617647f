"""The views room: everything that shows outputs, never computing them.

:mod:`~runs.views.style` (palette, thresholds, how figures are written), then one module per kind of output:
:mod:`~runs.views.run` (the overview and the figures of one run), :mod:`~runs.views.network`,
:mod:`~runs.views.ensemble` (fan charts), :mod:`~runs.views.compare` (the forest plot),
:mod:`~runs.views.sweep` (phase diagrams), :mod:`~runs.views.sensitivity`; :mod:`~runs.views.report` (the HTML
report of an output folder), :mod:`~runs.views.paramdoc` (the parameter table of docs/model.md) and
``runs/views/dashboard.py``, the Solara app that ``multipolar dashboard`` serves (not imported here).

:data:`FIGURES` bundles each kind's figure hook for the runners of :mod:`runs.experiments`
(``run_ensemble(..., figures=FIGURES)``): experiments never draw, views are passed in.
"""

from __future__ import annotations

from runs.experiments.result import Figures
from runs.views.calibration import marginals_figure, predictive_figures
from runs.views.compare import forest_figure, write_compare_figures
from runs.views.ensemble import (
    FAN_LEVELS,
    ensemble_figure_set,
    fan_chart,
    leader_share_histogram,
    rank_share_chart,
    step_quantiles,
    write_ensemble_figures,
)
from runs.views.network import network_figure
from runs.views.paramdoc import BEGIN, END, archetype_table, parameter_rows, parameter_table, render_into
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
    phase_figure,
    regime_guides,
    sweep_figure_set,
    write_sweep_figures,
)

__all__ = [
    "BEGIN",
    "DPI",
    "END",
    "FAN_LEVELS",
    "FIGURES",
    "GUIDE",
    "HHI_HIGH",
    "HHI_MODERATE",
    "LORENZ_COLUMNS",
    "OKABE_ITO",
    "PHASE_STATISTICS",
    "REPORT_NAME",
    "RUN_FIGURES",
    "PhaseStatistic",
    "Report",
    "ReportInputError",
    "archetype_table",
    "axis_label",
    "build_report",
    "detect_kind",
    "effective_labs_figure",
    "ensemble_figure_set",
    "fan_chart",
    "finite",
    "forest_figure",
    "gini_coefficient",
    "hhi_panel",
    "horizon_labs",
    "index_figure",
    "is_real",
    "leader_share_histogram",
    "lorenz_curve",
    "lorenz_figure",
    "marginals_figure",
    "network_figure",
    "overview_figure",
    "parameter_rows",
    "parameter_table",
    "phase_figure",
    "predictive_figures",
    "quality_figure",
    "quality_panel",
    "rank_share_chart",
    "rank_share_figure",
    "regime_guides",
    "render_html",
    "render_into",
    "run_figure_set",
    "save_figure",
    "save_figure_atomic",
    "share_panel",
    "step_quantiles",
    "sweep_figure_set",
    "top_shares_figure",
    "write_compare_figures",
    "write_ensemble_figures",
    "write_figures",
    "write_report",
    "write_run_figures",
    "write_sensitivity_figures",
    "write_sweep_figures",
]

FIGURES = Figures(run=write_run_figures, ensemble=write_ensemble_figures, sweep=write_sweep_figures,
                  compare=write_compare_figures, sensitivity=write_sensitivity_figures)
"""The figures the command line writes, for every kind of output."""
