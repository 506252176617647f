"""The experiments room: everything that runs the model many times and writes what came out.

One module per kind of experiment, each runner with the same signature (``run_KIND(setup, *, the kind's options)``:
a :class:`Setup` holds the scenario, seed, overrides, output folder, execution, command line and figure hooks) and
the same result (:class:`ExperimentResult`): :mod:`~runs.experiments.single` (one run),
:mod:`~runs.experiments.ensemble` (Monte Carlo, in chunks: :mod:`~runs.experiments.chunk`),
:mod:`~runs.experiments.sweep` (an ensemble per point of a :mod:`~runs.experiments.grid`),
:mod:`~runs.experiments.compare` (policy arms on common random numbers; with ``--respond`` nominal against
effective effects, :mod:`~runs.experiments.respond`, and with ``--reoptimise`` routines re-optimised by iterated best
response, :mod:`~runs.experiments.reoptimise`), :mod:`~runs.experiments.dose` (a policy
sweep's dose-response), :mod:`~runs.experiments.optimize` (policy parameters searched with Optuna),
:mod:`~runs.experiments.sensitivity` (Sobol' and Morris) and :mod:`~runs.experiments.ema` (the EMA workbench). The
shared layers: :mod:`~runs.experiments.execution` (where runs are computed: one :class:`Execution`, one Dask driver
path), :mod:`~runs.experiments.outputs` (output folders, atomic writers, manifests), :mod:`~runs.experiments.stats`
(the statistics), :mod:`~runs.experiments.uncertain` (the ``[uncertain]`` design), :mod:`~runs.experiments.posterior`
(draws from a calibration's posterior instead), :mod:`~runs.experiments.variants`
(a scenario's points and arms), :mod:`~runs.experiments.robustness` (which parameter an ensemble's answer hinges
on), :mod:`~runs.experiments.setup` and :mod:`~runs.experiments.result`.

Experiments never draw (figures come in through :class:`Figures`) and never print.

Every public name below is importable from here (``from runs.experiments import run_ensemble``).  They load on
first use, so that ``multipolar run`` and ``multipolar --help`` do not import the ensemble machinery and Dask.
"""

from __future__ import annotations

from economy.exports import lazy_exports

_MODULES: dict[str, tuple[str, ...]] = {
    "chunk": ("RANK_LIMIT", "ChunkData", "ChunkTask", "OutputLayout", "chunk_runs_table", "run_chunk", "run_root",
              "simulate_chunk", "warm_up"),
    "compare": ("BASELINE_ARM", "Arm", "arm_scenario", "build_arms", "check_respond_names", "respond_arms",
                "run_compare"),
    "ema": ("DEFAULT_OUTCOMES", "NO_POLICY", "POLICY_LEVER", "POLICY_VARIABLE", "ScenarioRunner",
            "default_policy_files", "ema_model", "ema_names", "execution_evaluator", "experiment_frame", "frozen",
            "perform", "policy_arms", "quiet_import", "select_dense_box"),
    "dose": ("Target", "effect_columns", "flips", "is_policy_key", "parse_target", "reference_scenario"),
    "ensemble": ("FAN_RUN_LIMIT", "arm_ensembles", "check_runs_and_seed", "read_fan_series", "read_market",
                 "run_ensemble"),
    "execution": ("CONNECT_TIMEOUT", "DEFAULT_CHUNK", "LOOPBACK", "Execution", "ExecutionReport", "Progress",
                  "available_cores", "default_chunk", "error_text", "local_cluster", "numba_threads"),
    "grid": ("KEYHOLE", "GridAxis", "GridPoint", "Plane", "check_planes", "format_value", "grid_points",
             "keyhole_planes", "parse_grid", "scenario_value"),
    "outputs": ("FOLDER_LAYOUTS", "MANIFEST_FORMAT", "NO_AI_MARKET_OUTCOMES", "NO_AI_MARKET_SERIES", "PACKAGES",
                "FolderLayout", "FolderSurvey", "OutputFolder", "atomic_file", "atomic_output_dir", "build_manifest",
                "check_output_dir", "check_output_location", "clear_output_dir", "default_output_dir",
                "experiment_manifest", "file_entry", "finite_or_none", "fresh_output_dir", "git_state",
                "is_stale_temporary", "no_ai_market_as_null", "non_finite_as_null", "output_clashes",
                "package_versions", "read_manifest", "remove_stale_temporaries", "stream_keys", "survey_folder",
                "temporary_name", "temporary_path", "without_ai_market", "write_json_atomic", "write_manifest",
                "write_table_atomic", "write_text_atomic"),
    "posterior": ("POSTERIOR_STREAM_KEY", "Posterior", "drawn_keys", "ensemble_design", "posterior_note"),
    "robustness": ("RIDGE", "SINGLE_RUN_ROBUSTNESS", "Z_CLEAR", "fit_logistic", "outcome_boundary",
                   "scenario_robustness"),
    "reoptimise": ("DECISION_VARIABLES", "DEFAULT_DISCOUNT_PER_YEAR", "MOVE_Z", "PayoffTask", "Reoptimisation",
                   "ReoptimiseOptions", "grid_values", "payoff_chunk", "reoptimise_routines", "reoptimised_archetypes",
                   "with_routines"),
    "respond": ("BOOTSTRAP_RESAMPLES", "COMPLIANCE_TOTALS", "EFFECTIVE_SUFFIX", "REOPTIMISED_SUFFIX", "respond_effects",
                "with_evasion"),
    "result": ("ExperimentError", "ExperimentInputError", "ExperimentResult", "Figures"),
    "setup": ("Setup",),
    "sensitivity": ("DUMMY", "METHODS", "RUN_OUTCOMES", "Factor", "ModelEvaluator", "RunOutcome", "SensitivityResult",
                    "check_design", "default_factors", "factors_for", "outcome_array", "outcome_value",
                    "round_up_power_of_two", "run_sensitivity", "sensitivity_analysis"),
    "single": ("GRAPHML_MAX_LABS", "NETWORK_FILES", "OUTPUT_FILES", "run_single", "run_summary", "simulate"),
    "stats": ("CENSORING", "GROUPS", "OUTCOME_KEYS", "PAIRED_OUTCOMES", "PAR_HUMAN", "POINT_STATISTICS",
              "QUANTILES", "STATISTIC", "SUPERHUMAN", "PairedOutcome", "compare_tables", "is_finding",
              "median_interval", "outcome_values", "paired_delay", "paired_mean", "paired_proportion",
              "point_statistics", "practical_threshold", "summarise_ensemble", "threshold_years", "wilson_interval"),
    "optimize": ("TRIAL_COLUMNS", "Objective", "SearchKey", "parse_objective", "parse_search", "run_optimize"),
    "sweep": ("REFERENCE_DIR", "is_keyhole", "read_points", "run_sweep"),
    "uncertain": ("RunScenarios", "UncertainPlan", "design_generator", "iman_conover", "key_route",
                  "latin_hypercube", "ppf"),
    "variants": ("scenario_data", "variant"),
}
"""Each module's public names (its ``__all__``; tests/test_architecture.py checks that the two agree)."""

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)
