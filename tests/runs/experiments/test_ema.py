"""The EMA workbench adapter (runs/experiments/ema.py): a small experiment set end to end, and PRIM on its result."""

from __future__ import annotations

import math
import pickle
import tomllib
from pathlib import Path

import numpy as np
import pytest

from economy.engine import Simulation
from economy.params import LogNormal, ScenarioError, Uniform, validate_scenario
from runs.checks import baseline_scenario
from runs.experiments import (
    NO_POLICY,
    POLICY_LEVER,
    RUN_OUTCOMES,
    Execution,
    Factor,
    ScenarioRunner,
    default_factors,
    default_policy_files,
    ema_model,
    ema_names,
    experiment_frame,
    frozen,
    outcome_value,
    perform,
    policy_arms,
    quiet_import,
    select_dense_box,
)


@pytest.fixture(scope="module")
def short_baseline():
    sc = baseline_scenario()  # without its [uncertain] table: these tests exercise the default factors
    return sc.model_copy(update={"sim": sc.sim.model_copy(update={"years": 3.0}), "uncertain": {}})


@pytest.mark.slow
def test_model_is_generated_from_the_scenario(short_baseline):
    model = ema_model(short_baseline)
    factors = default_factors(short_baseline)
    names = ema_names([f.key for f in factors])
    assert [u.name for u in model.uncertainties] == [names[f.key] for f in factors]
    assert [u.variable_name for u in model.uncertainties] == [[f.key] for f in factors]
    assert [o.name for o in model.outcomes] == list(RUN_OUTCOMES)
    assert list(model.levers) == []
    assert names["research.returns_to_research"] == "returns_to_research"
    # bounds come from the factor distributions
    u = {p.name: p for p in model.uncertainties}
    assert u["winner_take_all"].lower_bound == pytest.approx(2.0)
    assert u["winner_take_all"].upper_bound == pytest.approx(40.0)


def test_ema_names_are_identifiers_and_distinct():
    names = ema_names(["research.alpha", "capability.alpha", "market.gamma", "labs.list.0.cash_usd"])
    assert names == {"research.alpha": "research_alpha", "capability.alpha": "capability_alpha",
                     "market.gamma": "gamma", "labs.list.0.cash_usd": "cash_usd"}
    assert all(n.isidentifier() for n in names.values())


def test_frozen_distribution_uses_the_ensemble_quantiles():
    spec = LogNormal(dist="lognormal", median=1.2, sigma=0.5, low=0.4, high=3.6)
    dist = frozen(spec, "research.returns_to_research")
    assert dist.ppf(0.5) == pytest.approx(1.2)
    assert dist.ppf(0.0) == pytest.approx(0.4) and dist.ppf(1.0) == pytest.approx(3.6)
    assert pickle.loads(pickle.dumps(dist)).ppf(0.25) == dist.ppf(0.25)  # multiprocessing evaluators pickle it


def test_runner_matches_a_direct_simulation(short_baseline):
    runner = ScenarioRunner(short_baseline, ["market.winner_take_all"], ["final_hhi", "takeoff_years"], seed=3)
    got = runner(**{"market.winner_take_all": 25.0})
    market = {**short_baseline.market.model_dump(), "winner_take_all": 25.0}
    sc = type(short_baseline).model_validate({**short_baseline.model_dump(mode="python"), "market": market})
    summary = Simulation(sc, [3], record_labs=False).run().summary(0)
    assert got["final_hhi"] == summary["final_hhi"]
    assert got["takeoff_years"] == outcome_value(summary, "takeoff_years", sc)
    # a seed given by a replication overrides the default
    assert runner(**{"market.winner_take_all": 25.0, "seed": 4})["final_hhi"] != got["final_hhi"]
    assert pickle.loads(pickle.dumps(runner))(**{"market.winner_take_all": 25.0}) == got


def test_small_experiment_set_end_to_end(short_baseline):
    model = ema_model(short_baseline, outcomes=("unipolar", "final_hhi", "leader_share", "takeoff_years"))
    experiments, outcomes = perform(model, 12, seed=5)
    assert len(experiments) == 12
    frame = experiment_frame(experiments, outcomes)
    for factor in default_factors(short_baseline):
        name = ema_names([f.key for f in default_factors(short_baseline)])[factor.key]
        lo, hi, _, _ = factor.distribution.support()
        assert frame[name].between(lo, hi).all(), name
        # a Latin hypercube: one draw per stratum of each factor's own quantiles
        strata = np.floor(np.asarray([_cdf(factor, v) for v in frame[name]]) * 12).astype(int)
        assert sorted(strata) == list(range(12)), name
    assert np.isfinite(frame["final_hhi"]).all()
    assert set(np.unique(frame["unipolar"])) <= {0.0, 1.0}
    assert ((frame["final_hhi"] > 5000) | (frame["leader_share"] > 0.5) == (frame["unipolar"] == 1.0)).all()
    # reproducible: same seed, same experiments and outcomes
    again, again_out = perform(ema_model(short_baseline, outcomes=("final_hhi",)), 12, seed=5)
    cols = [c for c in experiments.columns if c not in ("scenario", "policy", "model")]
    assert experiments[cols].equals(again[cols])
    np.testing.assert_array_equal(again_out["final_hhi"], outcomes["final_hhi"])


def test_experiments_in_chunks_equal_one_by_one(short_baseline):
    """The execution evaluator runs EMA's experiments in chunks; each keeps its own outcomes (an EMA model hands
    back one outcomes dict that its next run refills)."""
    model = ema_model(short_baseline, outcomes=("final_hhi",))
    _, one = perform(model, 6, seed=2, execution=Execution(workers=1, chunk=1))
    _, chunked = perform(model, 6, seed=2, execution=Execution(workers=1, chunk=4))
    assert len(np.unique(one["final_hhi"])) == 6
    np.testing.assert_array_equal(chunked["final_hhi"], one["final_hhi"])


@pytest.mark.slow
def test_experiments_on_dask_workers_equal_the_sequential_ones(short_baseline):
    """EMA's experiments through the execution's Dask path (two workers, chunks of 3) give the sequential results."""
    model = ema_model(short_baseline, outcomes=("final_hhi", "unipolar"))
    experiments, outcomes = perform(model, 8, seed=3)
    on_dask, dask_outcomes = perform(model, 8, seed=3, execution=Execution(workers=2, chunk=3))
    cols = [c for c in experiments.columns if c not in ("scenario", "policy", "model")]
    assert experiments[cols].equals(on_dask[cols])
    for name in ("final_hhi", "unipolar"):
        np.testing.assert_array_equal(dask_outcomes[name], outcomes[name])


def _cdf(factor: Factor, value: float) -> float:
    dist = factor.distribution
    if isinstance(dist, Uniform):
        return (value - dist.low) / (dist.high - dist.low)
    return math.log(value / dist.low) / math.log(dist.high / dist.low)  # loguniform


def test_invalid_combinations_give_nan_not_errors(short_baseline):
    bad = Factor("archetypes.frontier.train_fraction", Uniform(dist="uniform", low=0.3, high=0.9))
    model = ema_model(short_baseline, uncertainties=[bad], outcomes=("final_hhi",))
    experiments, outcomes = perform(model, 8, seed=0)
    invalid = experiments["train_fraction"] > 0.6  # the frontier archetype serves 40 % of its compute
    assert invalid.any() and (~invalid).any()
    assert np.isnan(outcomes["final_hhi"][invalid.to_numpy()]).all()
    assert np.isfinite(outcomes["final_hhi"][~invalid.to_numpy()]).all()


def test_replications_and_levers(short_baseline):
    model = ema_model(short_baseline, uncertainties=default_factors(short_baseline)[:2], outcomes=("unipolar",),
                      replications=3,
                      levers=[Factor("network.publication_rate_per_year", Uniform(dist="uniform", low=0.0, high=3.0))])
    experiments, outcomes = perform(model, 3, policies=2, seed=1)
    assert len(experiments) == 6  # 3 scenarios x 2 policies
    assert experiments["publication_rate_per_year"].nunique() == 2
    share = outcomes["unipolar"]
    assert share.shape == (6,)
    assert np.all((share >= 0.0) & (share <= 1.0))
    assert np.all(np.isclose(share * 3, np.round(share * 3)))  # a share of three seeds
    with pytest.raises(ValueError, match="both an uncertainty and a lever"):
        ema_model(short_baseline, uncertainties=default_factors(short_baseline)[:1],
                  levers=default_factors(short_baseline)[:1])


# ema_workbench 3.0's PRIM calls DataFrame.drop(inplace=True), deprecated in pandas 3.1 (their code, not ours)
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame:pandas.errors.Pandas4Warning")
def test_prim_finds_the_winner_take_all_box(short_baseline):
    """Scenario discovery on a small set: unipolar worlds are those with strong winner-take-all."""
    with quiet_import():
        from ema_workbench.analysis import prim

    sc = short_baseline.model_copy(update={"sim": short_baseline.sim.model_copy(update={"years": 8.0})})
    model = ema_model(sc, outcomes=("unipolar",))
    experiments, outcomes = perform(model, 120, seed=0)
    x = experiments.drop(columns=["scenario", "policy", "model"])
    y = outcomes["unipolar"] == 1.0
    assert 0.1 < y.mean() < 0.9
    box = prim.Prim(x, y).find_box()
    select_dense_box(box, 0.8)
    assert box.density >= 0.8 and box.coverage > 0.5
    limits = box.box_lim
    assert limits.loc[0, "winner_take_all"] > 10.0  # the box's lower edge on gamma moved well up from 2


# ---------------------------------------------------------------------------------------------- the policy lever
POLICY_DIR = Path(__file__).resolve().parents[3] / "runs" / "policies"


def _with_policy_file(scenario, name):
    """The scenario with runs/policies/NAME.toml's tables appended, built without the adapter."""
    tables = tomllib.loads((POLICY_DIR / f"{name}.toml").read_text())["policies"]
    data = scenario.model_dump(mode="python")
    return validate_scenario({**data, "policies": [*data["policies"], *tables]})


def test_policy_lever_lists_none_and_the_policy_files(short_baseline):
    files = default_policy_files()
    assert files == sorted(POLICY_DIR.glob("*.toml")) and len(files) >= 2
    model = ema_model(short_baseline, policy_files=files)
    (lever,) = model.levers
    assert lever.name == POLICY_LEVER and lever.variable_name == ["policy"]
    names = [tomllib.loads(f.read_text()).get("name", f.stem) for f in files]
    assert [c.value for c in lever.categories] == [NO_POLICY, *names]
    # numeric levers keep working next to it
    rate = Factor("network.publication_rate_per_year", Uniform(dist="uniform", low=0.0, high=3.0))
    both = ema_model(short_baseline, uncertainties=default_factors(short_baseline)[:2], levers=[rate],
                     policy_files=files[:1])
    assert [p.name for p in both.levers] == ["publication_rate_per_year", POLICY_LEVER]
    with pytest.raises(ValueError, match="at least one policy file"):
        ema_model(short_baseline, policy_files=[])


def test_runner_applies_the_chosen_policy(short_baseline):
    outcomes = tuple(RUN_OUTCOMES)
    arms = policy_arms(short_baseline, [POLICY_DIR / "compute_cap.toml", POLICY_DIR / "compute_tax.toml"])
    runner = ScenarioRunner(short_baseline, [], outcomes, seed=3, arms=arms)
    for name in ("compute_cap", "compute_tax"):
        sc = _with_policy_file(short_baseline, name)
        summary = Simulation(sc, [3], record_labs=False).run().summary(0)
        assert runner(policy=name) == {o: outcome_value(summary, o, sc) for o in outcomes}, name
    plain = Simulation(short_baseline, [3], record_labs=False).run().summary(0)
    assert runner(policy=NO_POLICY) == {o: outcome_value(plain, o, short_baseline) for o in outcomes}
    assert runner(policy="compute_tax")["final_hhi"] != runner(policy=NO_POLICY)["final_hhi"]  # the policy acts
    # uncertainties apply on top of the arm
    keyed = ScenarioRunner(short_baseline, ["market.winner_take_all"], ("final_hhi",), seed=3, arms=arms)
    got = keyed(**{"market.winner_take_all": 25.0, "policy": "compute_cap"})
    sc = _with_policy_file(short_baseline, "compute_cap")
    market = {**sc.market.model_dump(), "winner_take_all": 25.0}
    sc = validate_scenario({**sc.model_dump(mode="python"), "market": market})
    assert got["final_hhi"] == Simulation(sc, [3], record_labs=False).run().summary(0)["final_hhi"]
    # picklable (EMA's multiprocessing evaluator), and the same after the round trip
    assert pickle.loads(pickle.dumps(keyed))(**{"market.winner_take_all": 25.0, "policy": "compute_cap"}) == got
    assert pickle.loads(pickle.dumps(runner))(policy="compute_tax") == runner(policy="compute_tax")
    with pytest.raises(ValueError, match="unknown policy 'windfall'"):
        runner(policy="windfall")
    with pytest.raises(KeyError, match="no value for policy"):
        runner()
    with pytest.raises(ValueError, match="no policy lever"):
        ScenarioRunner(short_baseline, [], outcomes)(policy="compute_cap")


def test_policy_clashing_with_the_scenario_fails_when_the_model_is_built(short_baseline, tmp_path):
    capped = _with_policy_file(short_baseline, "compute_cap")
    clash = r"compute_cap\.toml: policy name 'compute_cap' \(policies\.0 of the file\) is already used by policies\.0"
    with pytest.raises(ScenarioError, match=clash):
        ema_model(capped, policy_files=default_policy_files())
    twin = tmp_path / "twin.toml"
    twin.write_text((POLICY_DIR / "compute_tax.toml").read_text())  # same name = "compute_tax"
    with pytest.raises(ValueError, match="arm name 'compute_tax' is already used"):
        ema_model(short_baseline, policy_files=[POLICY_DIR / "compute_tax.toml", twin])
    named_none = tmp_path / "none.toml"
    named_none.write_text('[[policies]]\nkind = "compute_tax"\n')
    with pytest.raises(ValueError, match="arm name 'none' is already used by the scenario as given"):
        ema_model(short_baseline, policy_files=[named_none])


def test_perform_runs_every_arm_on_every_scenario(short_baseline):
    factors = default_factors(short_baseline)[:3]
    outcomes = ("final_hhi", "leader_share")
    files = [POLICY_DIR / "compute_cap.toml", POLICY_DIR / "compute_tax.toml"]
    model = ema_model(short_baseline, uncertainties=factors, outcomes=outcomes, policy_files=files, seed=2)
    model = pickle.loads(pickle.dumps(model))  # the whole model pickles, too
    experiments, results = perform(model, 2, seed=7)
    assert len(experiments) == 2 * 3
    arms = [NO_POLICY, "compute_cap", "compute_tax"]
    assert sorted(experiments["policy"].astype(str)) == sorted(arms * 2)
    assert (experiments["policy"].astype(str) == experiments[POLICY_LEVER].astype(str)).all()
    names = list(ema_names([f.key for f in factors]).values())
    for _, group in experiments.groupby("scenario", observed=True):
        assert sorted(group["policy"].astype(str)) == sorted(arms)
        assert (group[names].nunique() == 1).all()  # every arm sees the same uncertainty sample
    # the "none" rows are what the model without the policy lever gives (same design, same seed)
    plain_exp, plain_out = perform(ema_model(short_baseline, uncertainties=factors, outcomes=outcomes, seed=2), 2,
                                   seed=7)
    none = (experiments["policy"].astype(str) == NO_POLICY).to_numpy()
    np.testing.assert_array_equal(experiments.loc[none, names].to_numpy(), plain_exp[names].to_numpy())
    np.testing.assert_array_equal(results["final_hhi"][none], plain_out["final_hhi"])
    # a policy arm is the direct simulation of its scenario with the drawn values
    row = experiments.index[(experiments["policy"].astype(str) == "compute_tax").to_numpy()][0]
    runner = ScenarioRunner(_with_policy_file(short_baseline, "compute_tax"), [f.key for f in factors], outcomes,
                            seed=2)
    direct = runner(**{f.key: experiments.loc[row, n] for f, n in zip(factors, names, strict=True)})
    assert results["final_hhi"][row] == direct["final_hhi"]
    # with a sample count the lever is sampled as before
    sampled, _ = perform(model, 2, policies=2, seed=7)
    assert len(sampled) == 4 and set(sampled[POLICY_LEVER].astype(str)) <= set(arms)
