"""The program around the model, in rooms by layer (docs/architecture.md); imports point only rightwards:

``runs.cli`` (the ``multipolar`` command line) -> ``runs.checks`` (validation and calibration) -> ``runs.views``
(figures, the HTML report, the parameter docs, the dashboard) -> ``runs.experiments`` (runs, ensembles,
sweeps, comparisons, sensitivity, EMA; execution, outputs, statistics) -> ``agents`` -> ``economy``.

The scenario and policy files live here too: ``runs/baseline.toml``, ``runs/racing.toml``, ``runs/policies/``;
``economy/params/loading.py`` loads them.  Importing ``runs`` itself loads nothing.
"""
