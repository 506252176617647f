"""The checks room: the model held against what is known about it.

:mod:`~runs.checks.validation` (closed forms, known limits and the model's own accounting, one case per
function; ``multipolar validate``) and :mod:`~runs.checks.calibration` (the baseline's 2025-2030 path against the
observed trends); :mod:`~runs.checks.markdown` writes their tables into docs/validation.md and
docs/calibration.md.  Both measure and never change the model.
"""

from __future__ import annotations

from runs.checks.calibration import (
    BASELINE_PATH,
    TARGETS,
    Calibration,
    Target,
    baseline_scenario,
    calibrate,
    calibration_table,
    fit_log_trend,
    trend_paths,
)
from runs.checks.markdown import replace_block
from runs.checks.validation import (
    CASES,
    HEADER,
    Row,
    ValidationReport,
    analytic_log_software,
    blow_up_time,
    budget_residuals,
    ceiling_time,
    constant_input_scenario,
    crossing_times,
    doubling_time_factor,
    hhi_merger_delta,
    initial_growth,
    isolation,
    measured_doubling_factors,
    run_cases,
    scenario_from_sections,
    simulated_log_software,
    urn_limit_shares,
    urn_scenario,
    validation_table,
)

__all__ = [
    "BASELINE_PATH",
    "CASES",
    "HEADER",
    "TARGETS",
    "Calibration",
    "Row",
    "Target",
    "ValidationReport",
    "analytic_log_software",
    "baseline_scenario",
    "blow_up_time",
    "budget_residuals",
    "calibrate",
    "calibration_table",
    "ceiling_time",
    "constant_input_scenario",
    "crossing_times",
    "doubling_time_factor",
    "fit_log_trend",
    "hhi_merger_delta",
    "initial_growth",
    "isolation",
    "measured_doubling_factors",
    "replace_block",
    "run_cases",
    "scenario_from_sections",
    "simulated_log_software",
    "trend_paths",
    "urn_limit_shares",
    "urn_scenario",
    "validation_table",
]
