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

:data:`FIGURES` (:mod:`~runs.views.hooks`) bundles each kind's figure hook for the runners of
:mod:`runs.experiments` (``run_ensemble(..., figures=FIGURES)``): experiments never draw, views are passed in.
Every public name below is importable from here; each loads on first use (:mod:`economy.exports`), so a command
that draws nothing does not import matplotlib.
"""

from __future__ import annotations

from economy.exports import lazy_exports

_MODULES: dict[str, tuple[str, ...]] = {
    "calibration": ("marginals_figure", "predictive_figures"),
    "compare": ("forest_figure", "write_compare_figures"),
    "controls": ("CONTESTED", "Control", "MAX_RUNS", "MODES", "PageState", "PolicyToggle", "contested_controls",
                 "format_value", "more_controls", "policy_toggles", "scenario_files"),
    "ensemble": ("FAN_LEVELS", "ensemble_figure_set", "fan_chart", "leader_share_histogram", "rank_share_chart",
                 "step_quantiles", "write_ensemble_figures"),
    "hooks": ("FIGURES", "FORMATS", "figure_hooks"),
    "marks": ("EVENT_STYLES", "label_overlaps", "mark_events", "place_guide_labels", "settle_layout", "year_axis"),
    "network": ("network_figure",),
    "page_figures": ("ARM_COLOURS", "capability_figure", "concentration_figure", "fan_figure", "shares_figure"),
    "paramdoc": ("BEGIN", "END", "archetype_table", "parameter_rows", "parameter_table", "render_into"),
    "policy": ("DOSE_PANELS", "EffectRow", "RESPOND_OUTCOMES", "RespondRow", "dose_response_figure", "effect_rows",
               "level_text", "pareto_figure", "respond_figure", "respond_rows", "shown", "signed_text",
               "tradeoff_figure", "write_compare_policy_figures", "write_optimize_figures",
               "write_policy_sweep_figures"),
    "report": ("REPORT_NAME", "Report", "ReportInputError", "build_report", "detect_kind", "render_html",
               "write_report"),
    "run": ("LORENZ_COLUMNS", "RUN_FIGURES", "effective_labs_figure", "gini_coefficient", "hhi_panel", "horizon_labs",
            "lorenz_curve", "lorenz_figure", "overview_figure", "quality_figure", "quality_panel", "rank_share_figure",
            "run_figure_set", "share_panel", "top_shares_figure", "write_run_figures"),
    "sensitivity": ("index_figure", "write_sensitivity_figures"),
    "style": ("DPI", "GUIDE", "HHI_HIGH", "HHI_MODERATE", "OKABE_ITO", "finite", "is_real", "save_figure",
              "save_figure_atomic", "write_figures"),
    "sweep": ("PHASE_STATISTICS", "PhaseStatistic", "axis_label", "grid_cell", "half_boundary", "phase_figure",
              "regime_guides", "sweep_figure_set", "write_sweep_figures"),
}
"""Each module's public names (its ``__all__``; tests/test_architecture.py checks that the two agree)."""

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)
