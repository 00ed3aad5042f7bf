"""Per-draw posterior quantities: solutions against per-draw solver calls, EVD / nEVD /
percent improvement against their definitions, ArviZ variables, HDIs, evaluation policies."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl.data.envs import gridworld
from bayesirl.solvers.evaluation import expected_return
from bayesirl.analysis.posterior import (
    add_posterior_quantities,
    credible_intervals,
    evaluation_policy,
    policy_losses,
    posterior_solutions,
    uniform_policy,
    weight_draws,
)
from bayesirl.solvers import value_iteration

#: float64 solves to 1e-10 relative; EVD compares two exact policy evaluations.
ATOL = 1e-8


@pytest.fixture(scope="module")
def problem():
    env = gridworld(3, 4, num_features=3, slip_probability=0.2, seed=2, terminal_states=[11])
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(2, 25, 3))
    stats = {"lp": rng.normal(size=(2, 25))}
    stats["lp"][1, 7] = 10.0  # the MAP draw
    idata = _arviz.from_draws({"reward_weights": draws}, dims={"reward_weights": ["feature"]},
                              sample_stats=stats, attrs={"method": "mh"})
    return env.mdp, draws, idata


def test_solutions_match_per_draw_value_iteration(problem):
    mdp, draws, _ = problem
    w = draws.reshape(-1, 3)[:6]
    sol = posterior_solutions(mdp, w)
    for m in range(6):
        ref = value_iteration(mdp, mdp.features @ w[m])
        np.testing.assert_allclose(sol.optimal_value[m], ref.values, atol=1e-7)
        np.testing.assert_allclose(sol.optimal_action_prob[m], ref.policy)
        np.testing.assert_allclose(sol.state_reward[m], mdp.features @ w[m])
        assert float(sol.optimal_return[m]) == pytest.approx(
            float(mdp.initial_distribution @ ref.values), abs=1e-7)
    assert bool(np.all(sol.converged))
    chunked = posterior_solutions(mdp, w, batch_size=4)
    np.testing.assert_allclose(chunked.optimal_value, sol.optimal_value)


def test_evd_is_zero_for_the_optimal_policy_and_positive_for_a_worse_one(problem):
    mdp, draws, _ = problem
    w = jnp.asarray(draws.reshape(-1, 3))
    for m in (0, 13):
        best = value_iteration(mdp, mdp.features @ w[m]).policy
        worst = value_iteration(mdp, -(mdp.features @ w[m])).policy
        loss_best = policy_losses(mdp, w[m:m + 1], best)
        loss_worst = policy_losses(mdp, w[m:m + 1], worst)
        assert float(loss_best.evd[0]) == pytest.approx(0.0, abs=ATOL)
        assert float(loss_best.nevd[0]) == pytest.approx(0.0, abs=ATOL)
        assert float(loss_worst.evd[0]) > 1e-3
        assert float(loss_worst.nevd[0]) > 1.0  # worse than acting at random


def test_losses_match_their_definitions(problem):
    mdp, draws, _ = problem
    w = jnp.asarray(draws.reshape(-1, 3)[:10])
    rng = np.random.default_rng(1)
    policy = jnp.asarray(rng.dirichlet(np.ones(4), size=12))
    base = jnp.asarray(rng.dirichlet(np.ones(4), size=12))
    loss = policy_losses(mdp, w, policy, baseline_policy=base)
    uniform = policy_losses(mdp, w, uniform_policy(mdp))
    for m in range(10):
        reward = mdp.features @ w[m]
        ret = float(expected_return(mdp, reward, policy))
        opt = float(mdp.initial_distribution @ value_iteration(mdp, reward).values)
        uni = float(expected_return(mdp, reward, uniform_policy(mdp)))
        b = float(expected_return(mdp, reward, base))
        assert float(loss.expected_return[m]) == pytest.approx(ret, abs=ATOL)
        assert float(loss.evd[m]) == pytest.approx(opt - ret, abs=1e-7)
        assert float(loss.nevd[m]) == pytest.approx((opt - ret) / (opt - uni), abs=1e-6)
        assert float(loss.percent_improvement[m]) == pytest.approx(100 * (ret - b) / abs(b),
                                                                   rel=1e-6)
    assert np.all(np.asarray(loss.evd) >= 0) and np.all(np.asarray(loss.nevd) >= 0)
    np.testing.assert_allclose(uniform.nevd, 1.0, atol=1e-9)  # nEVD of the uniform policy is 1


def test_add_posterior_quantities_makes_arviz_variables(problem):
    mdp, draws, idata = problem
    out = add_posterior_quantities(idata, mdp)
    post = out.posterior
    assert "evd" not in idata.posterior  # the input is not modified
    assert post["state_reward"].dims == ("chain", "draw", "state")
    assert post["optimal_value"].dims == ("chain", "draw", "state")
    assert post["optimal_action_prob"].dims == ("chain", "draw", "state", "action")
    assert post["evd"].dims == post["nevd"].dims == ("chain", "draw")
    assert post.attrs["evaluation_policy"] == "map"
    np.testing.assert_allclose(post["state_reward"].values,
                               np.einsum("sf,cdf->cds", np.asarray(mdp.features), draws))
    table = _arviz.summary(out, var_names=["evd", "nevd", "optimal_value"])
    assert {"evd", "nevd"} <= set(table.index) and "optimal_value[3]" in table.index
    # the MAP draw's own EVD is 0: the evaluation policy is its optimal policy
    assert float(post["evd"].values[1, 7]) == pytest.approx(0.0, abs=ATOL)
    with pytest.raises(ValueError, match="mdp"):
        add_posterior_quantities(idata, gridworld(3, 4, num_features=2, seed=0).mdp)


def test_evaluation_policies(problem):
    mdp, draws, idata = problem
    w_map = jnp.asarray(draws[1, 7])
    np.testing.assert_allclose(evaluation_policy(mdp, idata, "map"),
                               value_iteration(mdp, mdp.features @ w_map).policy)
    w_mean = jnp.asarray(draws.reshape(-1, 3).mean(0))
    np.testing.assert_allclose(evaluation_policy(mdp, idata, "mean"),
                               value_iteration(mdp, mdp.features @ w_mean).policy)
    no_lp = _arviz.from_draws({"reward_weights": draws}, dims={"reward_weights": ["feature"]})
    with pytest.raises(ValueError, match="sample_stats.lp"):
        evaluation_policy(mdp, no_lp, "map")
    with pytest.raises(ValueError, match="kind"):
        evaluation_policy(mdp, idata, "median")
    assert add_posterior_quantities(no_lp, mdp).posterior.attrs["evaluation_policy"] == "mean"


def test_credible_intervals_bracket_the_mean(problem):
    mdp, _, idata = problem
    out = add_posterior_quantities(idata, mdp)
    hdi = credible_intervals(out, ["reward_weights", "state_reward", "optimal_action_prob"], 0.9)
    for var in ("reward_weights", "state_reward"):  # continuous: the HDI holds the mean
        mean = out.posterior[var].mean(("chain", "draw"))
        assert np.all(hdi[var].sel(hdi="lower") <= mean + 1e-12)
        assert np.all(mean <= hdi[var].sel(hdi="higher") + 1e-12)
    probs = hdi["optimal_action_prob"]  # mostly 0/1 per draw: the HDI need not hold the mean
    assert probs.dims == ("state", "action", "hdi")
    assert np.all((probs >= 0) & (probs <= 1))
    assert np.all(probs.sel(hdi="lower") <= probs.sel(hdi="higher"))
    with pytest.raises(ValueError, match="hdi_prob"):
        credible_intervals(out, hdi_prob=1.5)


INVALID = [
    (lambda mdp, idata: weight_draws(idata, "beta"), "beta"),
    (lambda mdp, idata: policy_losses(mdp, np.zeros((3, 2)), uniform_policy(mdp)), "weights"),
    (lambda mdp, idata: policy_losses(mdp, np.zeros((3, 3)), np.ones((12, 4))), "policy"),
    (lambda mdp, idata: policy_losses(mdp, np.zeros((3, 3)), uniform_policy(mdp),
                                      baseline_policy=np.ones((3, 4))), "baseline_policy"),
]


@pytest.mark.parametrize("call, name", INVALID)
def test_invalid_arguments(problem, call, name):
    mdp, _, idata = problem
    with pytest.raises(ValueError, match=name):
        call(mdp, idata)


def test_runs_under_jit_free_vmap_of_many_draws(problem):
    mdp, _, _ = problem
    w = jax.random.normal(jax.random.PRNGKey(0), (400, 3))
    loss = policy_losses(mdp, w, uniform_policy(mdp))
    assert loss.evd.shape == (400,) and np.all(np.isfinite(np.asarray(loss.nevd)))


#: (id, call on (mdp, idata), exception, start of message).
NOT_A_POSTERIOR = [
    ("weight-draws-dict", lambda mdp, idata: weight_draws({"reward_weights": 1}), TypeError,
     "idata: expected an ArviZ InferenceData"),
    ("intervals-dict", lambda mdp, idata: credible_intervals({}), TypeError,
     "idata: expected an ArviZ InferenceData"),
    ("intervals-unknown-variable", lambda mdp, idata: credible_intervals(idata, ["nevd"]),
     ValueError, "var_names: not in the posterior: ['nevd']"),
    ("intervals-nan-probability", lambda mdp, idata: credible_intervals(idata, hdi_prob=np.nan),
     ValueError, "hdi_prob"),
    ("add-quantities-dict", lambda mdp, idata: add_posterior_quantities({}, mdp), TypeError,
     "idata: expected an ArviZ InferenceData"),
    ("losses-nan-weights", lambda mdp, idata: policy_losses(
        mdp, np.full((2, 3), np.nan), uniform_policy(mdp)), ValueError, "weights: expected finite"),
    ("losses-nan-policy", lambda mdp, idata: policy_losses(
        mdp, np.zeros((2, 3)), np.full((12, 4), np.nan)), ValueError,
     "policy: expected action probabilities"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in NOT_A_POSTERIOR],
                         ids=[c[0] for c in NOT_A_POSTERIOR])
def test_posterior_functions_say_what_they_expect(problem, call, error, match):
    mdp, draws, idata = problem
    before = np.array(idata.posterior["reward_weights"].values, copy=True)
    with pytest.raises(error, match="^" + re.escape(match)):
        call(mdp, idata)
    np.testing.assert_array_equal(idata.posterior["reward_weights"].values, before)
    assert list(idata.posterior.data_vars) == ["reward_weights"]
