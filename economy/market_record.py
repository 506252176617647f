"""The market record: what each step of each run leaves in ``Simulation.market`` (and market.parquet).

This is the one declaration of its columns; :mod:`economy.generate_layout` writes their ``M_<NAME>`` indices into
economy/kernels/layout.py, where the kernels that fill the record read them.
"""

__all__ = ["COMPLIANCE_COLUMNS", "COUNT_COLUMNS", "MARKET_COLUMNS", "MARKET_COLUMN_GROUPS"]

COMPLIANCE_COLUMNS: tuple[str, ...] = (
    "n_evading", "evasion_gain_usd", "n_detected", "fines_usd", "compute_seized", "audits", "regulator_spend_usd",
    "mean_suspicion")
"""The compliance stage's columns (economy/kernels/compliance.py): recorded in every run, written to the market
series only when ``enforcement.evasion`` is on, so runs with full compliance keep their series unchanged."""

MARKET_COLUMN_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("outcomes", (
        "year", "hhi", "effective_labs", "top1_share", "top4_share", "outside_share", "gini_revenue",
        "leader_gap_ooms", "leader_gap_years", "frontier_quality", "runnerup_quality", "frontier_log10_eff_compute",
        "frontier_log_software", "frontier_automation", "compute_price", "price_floor", "total_demand",
        "total_revenue", "n_alive", "n_singular", "n_exits", "mean_safety", "max_drift")),
    ("stocks, for conservation checks", (
        "total_cash", "total_compute", "total_researchers", "talent_pool", "resale_compute")),
    ("flows during the step (sources and sinks)", (
        "cash_revenue", "cash_funding", "cash_state_budget", "cash_compute_spend", "cash_wages", "cash_opex",
        "cash_removed_at_exit", "compute_bought", "compute_depreciated", "compute_removed_at_exit",
        "people_growth")),
    ("spillover network (stage 5): ln S gap to the frontier after the step, flows during it", (
        "knowledge_gap_dispersion", "mean_log_software_gap", "spillover_log_software", "talent_flow", "n_distilled",
        "active_edges")),
    ("agents (stages 1, 7 and 8): events, their flows, the catastrophe outcome", (
        "n_strategy_changes", "n_entries", "n_acquisitions", "n_acquisitions_blocked", "incidents", "catastrophe",
        "cash_entry", "cash_acquisitions", "cash_incidents", "entry_rate", "industry_return", "events_dropped")),
    ("policies (stage 9; docs/policies.md)", (
        "tax_revenue", "public_compute", "cash_subsidy", "n_breakup_parts", "paused")),
    ("compliance and the regulator (stage 9; docs/policies.md, only with enforcement.evasion)", COMPLIANCE_COLUMNS),
)
"""The record's columns in order, in groups with what they hold."""
MARKET_COLUMNS: tuple[str, ...] = tuple(name for _, names in MARKET_COLUMN_GROUPS for name in names)

COUNT_COLUMNS: tuple[str, ...] = (
    "n_alive", "n_singular", "n_exits", "n_distilled", "active_edges", "n_strategy_changes", "n_entries",
    "n_acquisitions", "n_acquisitions_blocked", "incidents", "catastrophe", "events_dropped", "n_breakup_parts",
    "paused", "n_evading", "n_detected", "audits",
)
"""Record columns holding counts (integers in the market frame)."""
