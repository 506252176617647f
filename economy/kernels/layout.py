"""Column layout of the packed parameter array and of the market record.

Kernels receive scenario parameters as one float64 array ``par[run, column]`` (one row per run of a batch,
so uncertain parameters may differ between runs) and write the market record as ``rec[run, column]``.
The names here are the only coupling between :mod:`economy.packing` and the kernels.
"""

PARAM_NAMES: tuple[str, ...] = (
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
)
N_PARAMS = len(PARAM_NAMES)
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
) = range(N_PARAMS)

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
) = range(N_MARKET)

# Columns of the stage-5 snapshot record NetworkState.node[run, lab, :] (economy.kernels.spillover): one
# 64-byte record per lab, so reading a neighbour costs one cache line.
NODE_FIELDS = 8
NODE_ALIVE, NODE_BLOC, NODE_LOG_S, NODE_LOG_E, NODE_ATTRACT, NODE_STRENGTH, NODE_OPENNESS, NODE_PER_RATE = range(
    NODE_FIELDS)
