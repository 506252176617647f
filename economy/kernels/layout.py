"""Column layout of the packed parameter array and of the market record.

Kernels receive scenario parameters as one float64 array ``par[run, column]`` (one row per run of a batch,
so uncertain parameters may differ between runs) and write the market record as ``rec[run, column]``.
The names here are the only coupling between :mod:`economy.packing` and the kernels.
"""

from economy.params.policies import POLICY_PARAM_NAMES

SCALAR_PARAM_NAMES: tuple[str, ...] = (
    # time
    "dt", "start_year", "log_software_ceiling",
    # research (stage 3)
    "lambda", "beta", "rho", "max_automation", "automation_mid_ln", "automation_width_ln",
    "experiment_share", "ai_researchers_per_flop", "log_theta", "shock_sd",
    # compute (stage 2)
    "hw_ln_rate", "supply0", "supply_ln_growth", "depreciation", "hw_ai_feedback",
    # training and capability (stage 4)
    "run_years", "public_data_tokens", "tokens_per_parameter", "data_wall_efficiency",
    "synthetic_data_multiple", "alpha", "ln_loss_scale", "par_human_ln", "superhuman_ln",
    # market (stage 6)
    "market_mode", "gamma", "zeta", "switching_years", "outside_quality", "ln_demand0", "adoption_growth",
    "demand_quality_elasticity", "ln_gwp0", "gwp_growth", "max_gwp_fraction", "data_tokens_per_usd",
    "inference_flop_per_usd", "urn_exponent", "urn_arrivals", "frontier_quality0",
    # money (stage 7)
    "wage", "hire_speed", "opex_fraction", "funding_to_demand", "funding_rank_sensitivity", "state_budget",
    "talent_growth",
    # safety (stages 1 and 8)
    "racing_sensitivity", "racing_scale", "drift_rate",
    # spillover network (stage 5) and market segments (stage 6); docs/network.md
    "net_publication_rate", "net_absorb_half_staff", "net_talent_mobility", "net_talent_pay_weight",
    "net_distill_fraction", "net_normalise", "net_cut_year", "net_cross_segment",
    # racing rivals without a network, and whether the run has a network (stage 1)
    "racing_rivals", "net_on",
    # funding by growth, bounded (stage 7)
    "funding_growth_sensitivity", "funding_max_share", "exit_relative_share", "exit_grace_years",
    # adaptation (stage 1)
    "memory_years", "aspiration_years", "imitation_rate", "search_rate", "search_step",
    # entry (stage 7)
    "entry_rate", "entry_profit_sensitivity", "entry_lag_ln", "entry_open_threshold", "entry_size_sd",
    # acquisitions (stage 7)
    "acq_rate", "acq_min_acquirer_share", "acq_max_target_share", "acq_premium", "acq_review_post_hhi",
    "acq_review_delta_hhi",
    # incidents (stage 8)
    "inc_hazard_per_drift", "inc_threshold_log10", "inc_capability_sensitivity", "inc_safety_effectiveness",
    "inc_catastrophe_fraction",
    "inc_share_loss", "inc_cash_loss",
    # export controls may reopen the cross-bloc edges (stage 5)
    "net_reopen_year",
    # Simon's entry in the urn market mode (stage 6)
    "urn_entry_probability",
    *POLICY_PARAM_NAMES,
)
"""Scalar parameters; after them come the per-archetype table (``ARCH_FIELDS`` for each kind, used for
entrants) and the entry mix (cumulative weights per kind)."""
N_SCALAR_PARAMS = len(SCALAR_PARAM_NAMES)
(
    P_DT, P_START_YEAR, P_LOG_CEIL,
    P_LAMBDA, P_BETA, P_RHO, P_MAX_AUTO, P_AUTO_MID, P_AUTO_WIDTH,
    P_EXP_SHARE, P_K_AI, P_LOG_THETA, P_SHOCK_SD,
    P_HW_LN_RATE, P_SUPPLY0, P_SUPPLY_LN_GROWTH, P_DEPR, P_HW_FEEDBACK,
    P_RUN_YEARS, P_PUBLIC_DATA, P_TOKENS_PER_PARAM, P_WALL_EFF,
    P_SYNTH_MULT, P_ALPHA, P_LN_CC, P_PAR_HUMAN_LN, P_SUPERHUMAN_LN,
    P_MODE, P_GAMMA, P_ZETA, P_SWITCH, P_OUTSIDE_U, P_LN_DEMAND0, P_ADOPTION,
    P_DEMAND_ELAST, P_LN_GWP0, P_GWP_GROWTH, P_MAX_GWP_FRAC, P_DATA_PER_USD,
    P_INFER_FLOP_PER_USD, P_URN_G, P_URN_ARRIVALS, P_FRONTIER_U0,
    P_WAGE, P_HIRE_SPEED, P_OPEX, P_FUNDING_TO_DEMAND, P_FUNDING_RANK, P_STATE_BUDGET,
    P_TALENT_GROWTH,
    P_RACING_SENS, P_RACING_SCALE, P_DRIFT_RATE,
    P_NET_PUBLICATION, P_NET_ABSORB_HALF, P_NET_TALENT, P_NET_PAY_WEIGHT,
    P_NET_DISTILL, P_NET_NORMALISE, P_NET_CUT_YEAR, P_NET_CROSS_SEGMENT,
    P_RACING_RIVALS, P_NET_ON,
    P_FUNDING_GROWTH, P_FUNDING_MAX_SHARE, P_EXIT_SHARE, P_EXIT_GRACE,
    P_MEMORY_YEARS, P_ASPIRATION_YEARS, P_IMITATION_RATE, P_SEARCH_RATE, P_SEARCH_STEP,
    P_ENTRY_RATE, P_ENTRY_PROFIT_SENS, P_ENTRY_LAG, P_ENTRY_OPEN_THRESHOLD, P_ENTRY_SIZE_SD,
    P_ACQ_RATE, P_ACQ_MIN_ACQUIRER, P_ACQ_MAX_TARGET, P_ACQ_PREMIUM, P_ACQ_REVIEW_POST, P_ACQ_REVIEW_DELTA,
    P_INC_HAZARD, P_INC_THRESHOLD_LOG10, P_INC_CAP_SENS, P_INC_SAFETY, P_INC_CATASTROPHE, P_INC_SHARE_LOSS,
    P_INC_CASH_LOSS,
    P_NET_REOPEN_YEAR,
    P_URN_ENTRY,
    # policies (stage 9; economy.policies, docs/policies.md)
    P_CAP_START, P_CAP_END, P_CAP_FLOP,
    P_CTAX_START, P_CTAX_END, P_CTAX_RATE, P_CTAX_SMALL,
    P_WTAX_START, P_WTAX_END, P_WTAX_RATE, P_WTAX_THRESHOLD, P_WTAX_SMALL,
    P_SUB_START, P_SUB_END, P_SUB_RATE, P_SUB_MAX_SHARE,
    P_OPEN_START, P_OPEN_END, P_OPEN_MIN,
    P_MERGER_START, P_MERGER_END, P_MERGER_POST, P_MERGER_DELTA, P_MERGER_SHARE,
    P_BREAKUP_START, P_BREAKUP_END, P_BREAKUP_SHARE,
    P_EXPORT_START, P_EXPORT_END, P_EXPORT_BLOCS_LO, P_EXPORT_BLOCS_HI, P_EXPORT_CUT,
    P_SAFETY_START, P_SAFETY_END, P_SAFETY_MIN, P_SAFETY_LIABILITY,
    P_PAUSE_START, P_PAUSE_END, P_PAUSE_THRESHOLD_LN, P_PAUSE_YEARS,
) = range(N_SCALAR_PARAMS)

N_KINDS = 6
"""Archetypes, in the order of economy.archetypes.KIND_NAMES."""
ARCH_FIELDS: tuple[str, ...] = (
    "spend_rate_per_year", "compute_spend_fraction", "train_fraction", "inference_fraction", "safety_base",
    "openness", "funding", "strategy", "cash_usd", "researchers",
)
"""Per-archetype columns an entrant of that kind starts from (``funding`` and ``strategy`` as codes)."""
N_ARCH_FIELDS = len(ARCH_FIELDS)
(A_SPEND, A_COMPUTE_SPEND, A_TRAIN, A_INFERENCE, A_SAFETY, A_OPENNESS, A_FUNDING, A_STRATEGY, A_CASH,
 A_RESEARCHERS) = range(N_ARCH_FIELDS)
P_ARCH = N_SCALAR_PARAMS
"""Column of archetype ``k``'s field ``f``: ``P_ARCH + k * N_ARCH_FIELDS + f``."""
P_ENTRY_MIX = P_ARCH + N_KINDS * N_ARCH_FIELDS
"""Columns ``P_ENTRY_MIX + k``: cumulative entry weight of kinds 0..k (the last is 1)."""
PARAM_NAMES: tuple[str, ...] = (
    SCALAR_PARAM_NAMES
    + tuple(f"arch_{k}_{f}" for k in range(N_KINDS) for f in ARCH_FIELDS)
    + tuple(f"entry_mix_cumulative_{k}" for k in range(N_KINDS))
)
N_PARAMS = len(PARAM_NAMES)

ENTRY_SLOTS = 4
"""At most this many entrants per run per step (the Poisson count is capped here; with the default rates the
chance of more than one entrant in a month is below 1e-3)."""
REVENUE_FLOOR_USD = 1e6
"""Revenue growth is measured on ln(revenue + this), USD/year, so a lab with no revenue has a finite log."""
RIVAL_SLOTS = 16
"""Upper bound of ``safety.racing_rivals`` (the top-(K + 1) table is this long plus one)."""

MODE_LOGIT = 0.0
MODE_URN = 1.0

# Reference experiment compute: research input uses (C_res / C_REF) ** experiment_share.
LN_EXPERIMENT_COMPUTE_REF = 62.16979751083923  # ln(1e27 FLOP/year)

MARKET_COLUMNS: tuple[str, ...] = (
    "year", "hhi", "effective_labs", "top1_share", "top4_share", "outside_share", "gini_revenue",
    "leader_gap_ooms", "leader_gap_years", "frontier_quality", "runnerup_quality", "frontier_log10_eff_compute",
    "frontier_log_software", "frontier_automation", "compute_price", "price_floor", "total_demand",
    "total_revenue", "n_alive", "n_singular", "n_exits", "mean_safety", "max_drift",
    # stocks, for conservation checks
    "total_cash", "total_compute", "total_researchers", "talent_pool", "resale_compute",
    # flows during the step (sources and sinks)
    "cash_revenue", "cash_funding", "cash_state_budget", "cash_compute_spend", "cash_wages", "cash_opex",
    "cash_removed_at_exit", "compute_bought", "compute_depreciated", "compute_removed_at_exit",
    "people_growth",
    # spillover network (stage 5): ln S gap to the frontier after the step, flows during it
    "knowledge_gap_dispersion", "mean_log_software_gap", "spillover_log_software", "talent_flow", "n_distilled",
    "active_edges",
    # agents (stages 1, 7 and 8): events, their flows, the catastrophe outcome
    "n_strategy_changes", "n_entries", "n_acquisitions", "n_acquisitions_blocked", "incidents", "catastrophe",
    "cash_entry", "cash_acquisitions", "cash_incidents", "entry_rate", "industry_return", "events_dropped",
    # policies (stage 9; docs/policies.md)
    "tax_revenue", "public_compute", "cash_subsidy", "n_breakup_parts", "paused",
)
N_MARKET = len(MARKET_COLUMNS)
(
    M_YEAR, M_HHI, M_EFFECTIVE, M_TOP1, M_TOP4, M_OUTSIDE, M_GINI,
    M_GAP_OOMS, M_GAP_YEARS, M_FRONTIER_U, M_RUNNERUP_U, M_FRONTIER_LOG10E,
    M_FRONTIER_LNS, M_FRONTIER_AUTO, M_PRICE, M_PRICE_FLOOR, M_DEMAND,
    M_REVENUE, M_N_ALIVE, M_N_SINGULAR, M_N_EXITS, M_MEAN_SAFETY, M_MAX_DRIFT,
    M_CASH, M_COMPUTE, M_RESEARCHERS, M_POOL, M_RESALE,
    M_CASH_REVENUE, M_CASH_FUNDING, M_CASH_STATE, M_CASH_COMPUTE, M_CASH_WAGES, M_CASH_OPEX,
    M_CASH_EXIT, M_COMPUTE_BOUGHT, M_COMPUTE_DEPR, M_COMPUTE_EXIT,
    M_PEOPLE_GROWTH,
    M_GAP_DISPERSION, M_MEAN_GAP, M_SPILLOVER_GAIN, M_TALENT_FLOW, M_N_DISTILLED,
    M_ACTIVE_EDGES,
    M_N_STRATEGY, M_N_ENTRIES, M_N_ACQUISITIONS, M_N_BLOCKED, M_INCIDENTS, M_CATASTROPHE,
    M_CASH_ENTRY, M_CASH_ACQUISITIONS, M_CASH_INCIDENTS, M_ENTRY_RATE, M_INDUSTRY_RETURN, M_EVENTS_DROPPED,
    M_TAX_REVENUE, M_PUBLIC_COMPUTE, M_CASH_SUBSIDY, M_BREAKUP_PARTS, M_PAUSED,
) = range(N_MARKET)
COUNT_COLUMNS: tuple[str, ...] = (
    "n_alive", "n_singular", "n_exits", "n_distilled", "active_edges", "n_strategy_changes", "n_entries",
    "n_acquisitions", "n_acquisitions_blocked", "incidents", "catastrophe", "events_dropped", "n_breakup_parts",
    "paused",
)
"""Record columns holding counts (integers in the market frame)."""

# Events (economy.kernels.events): each run's buffer holds rows (year, lab, kind, other lab, value).
EVENT_FIELDS = 5
EV_YEAR, EV_LAB, EV_KIND, EV_OTHER, EV_VALUE = range(EVENT_FIELDS)
EVENT_KINDS: tuple[str, ...] = (
    "entry", "exit", "acquisition", "acquisition_blocked", "incident", "catastrophe", "strategy_change",
    "breakup", "pause",
)
"""Event kind codes (the index).  ``value``: entry, starting cash (USD; other = the open-frontier lab whose weights
it starts from, or -1); exit, cash at exit (USD: negative, written off; positive, returned to the owners);
acquisition, price paid (USD; lab = acquirer, other = target); acquisition_blocked, the HHI rise the review
refused; incident and catastrophe, cash lost (USD); strategy_change, the performance gap that moved it (1/year;
other = the lab imitated, -1 for a search); breakup, the new part's inside share (lab = the part, other = the
lab split); pause, the frontier's log10 E that triggered the conditional pause (lab = the frontier)."""
(EVENT_ENTRY, EVENT_EXIT, EVENT_ACQUISITION, EVENT_BLOCKED, EVENT_INCIDENT, EVENT_CATASTROPHE,
 EVENT_STRATEGY, EVENT_BREAKUP, EVENT_PAUSE) = range(len(EVENT_KINDS))

# Routine snapshot columns (stage 1 imitation reads other labs' routines from it)
ROUTINE_FIELDS = 6
R_SPEND, R_COMPUTE_SPEND, R_TRAIN, R_INFERENCE, R_SAFETY, R_OPENNESS = range(ROUTINE_FIELDS)
PEER_FIELDS = 4
"""Stage 1's packed record of what a lab's network neighbours read of it (one cache line per neighbour)."""
PEER_ALIVE, PEER_BLOC, PEER_QUALITY, PEER_PERFORMANCE = range(PEER_FIELDS)
SEARCH_DRAWS = 3
"""Normal draws per lab per step for a search step (compute-spend fraction, training fraction, safety share)."""

# Columns of the stage-5 snapshot record NetworkState.node[run, lab, :] (economy.kernels.spillover): one
# 64-byte record per lab, so reading a neighbour costs one cache line.
NODE_FIELDS = 8
NODE_ALIVE, NODE_BLOC, NODE_LOG_S, NODE_LOG_E, NODE_ATTRACT, NODE_STRENGTH, NODE_OPENNESS, NODE_PER_RATE = range(
    NODE_FIELDS)
