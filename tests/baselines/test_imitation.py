"""Bayesian behavioural cloning (closed-form Dirichlet posterior), DAgger and SMILe."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bayesirl as birl
from bayesirl import baselines

#: Monte Carlo checks: M draws, tolerance in standard errors (a correct implementation
#: fails far less than once in 10^4 runs at 5 s.e.; the seed is fixed anyway).
NUM_DRAWS = 20_000
NUM_SE = 5.0


@pytest.fixture(scope="module")
def world():
    env = birl.gridworld(3, 3, num_features=2, slip_probability=0.2, seed=1, discount=0.9)
    expert = birl.greedy_policy(birl.value_iteration(env.mdp, env.true_reward).q_values)
    return env, expert


def test_bc_posterior_is_the_closed_form_dirichlet(world):
    env, _ = world
    trajs = [([0, 1, 2, 5], [3, 3, 1, 1]), ([0, 3], [1, 3]), ([1], [3])]
    demos = birl.make_demonstrations(trajs, 9, 4)
    post = baselines.behavioural_cloning(env.mdp, demos, prior_concentration=0.5)
    counts = np.zeros((9, 4))
    for states, actions in trajs:
        for s, a in zip(states, actions):
            counts[s, a] += 1
    alpha = 0.5 + counts
    np.testing.assert_array_equal(post.counts, counts)
    np.testing.assert_allclose(post.concentration, alpha)
    np.testing.assert_allclose(post.mean_policy, alpha / alpha.sum(1, keepdims=True))
    # fallback: unvisited states keep the prior (uniform mean, uniform point policy)
    unvisited = counts.sum(1) == 0
    np.testing.assert_array_equal(post.visited, ~unvisited)
    np.testing.assert_allclose(post.policy[unvisited], 0.25)
    np.testing.assert_allclose(post.policy[1], [0.0, 0.0, 0.0, 1.0])
    # draws: Dirichlet moments and the Beta-marginal credible intervals' coverage
    draws = np.asarray(baselines.sample_bc_policies(jax.random.PRNGKey(0), post, NUM_DRAWS))
    a0 = alpha.sum(1, keepdims=True)
    mean, var = alpha / a0, alpha * (a0 - alpha) / (a0 ** 2 * (a0 + 1))
    assert np.all(np.abs(draws.mean(0) - mean) <= NUM_SE * np.sqrt(var / NUM_DRAWS))
    lower, upper = (np.asarray(x) for x in baselines.bc_credible_intervals(post, 0.9))
    inside = ((draws >= lower) & (draws <= upper)).mean(0)
    assert np.all(np.abs(inside - 0.9) <= NUM_SE * np.sqrt(0.9 * 0.1 / NUM_DRAWS))


def test_bc_rejects_bad_prior(world):
    env, _ = world
    demos = birl.make_demonstrations([([0], [1])], 9, 4)
    with pytest.raises(ValueError, match="prior_concentration"):
        baselines.behavioural_cloning(env.mdp, demos, prior_concentration=0.0)
    with pytest.raises(ValueError, match="prior_concentration"):
        baselines.behavioural_cloning(env.mdp, demos, prior_concentration=np.ones((2, 2)))


def test_dagger_dataset_grows_as_stated(world):
    env, expert = world
    demos = birl.Demonstrations(*birl.rollout(jax.random.PRNGKey(1), env.mdp, expert, 30))
    demos = birl.Demonstrations(*(x[None] for x in demos))
    res = baselines.dagger(jax.random.PRNGKey(2), env.mdp, expert, budget=100, horizon=30,
                           demos=demos)
    # no terminal states: every rollout adds `horizon` labels until the budget is reached
    np.testing.assert_array_equal(res.dataset_sizes, [30, 60, 90, 100])
    assert res.converged and res.iterations == 4 and res.states.shape == (100,)
    # every label is the expert's action (the expert is deterministic where it has no tie)
    certain = np.asarray(expert).max(1) == 1.0
    s, a = np.asarray(res.states), np.asarray(res.actions)
    np.testing.assert_array_equal(a[certain[s]], np.asarray(expert).argmax(1)[s[certain[s]]])
    np.testing.assert_array_equal(res.posterior.counts.sum(), 100)


def test_smile_mixture_weights_and_budget(world):
    env, expert = world
    res = baselines.smile(jax.random.PRNGKey(3), env.mdp, expert, budget=70, horizon=30,
                          alpha=0.3)
    assert res.iterations == 3 and res.num_labels == 70 and res.converged
    w = 0.3 * 0.7 ** np.arange(3) / (1 - 0.7 ** 3)
    np.testing.assert_allclose(res.mixture_weights, w)
    np.testing.assert_allclose(res.policy, np.einsum("j,jsa->sa", w, res.policies))
    np.testing.assert_allclose(np.asarray(res.policy).sum(1), 1.0)


def test_interactive_learners_reject_bad_expert(world):
    env, _ = world
    with pytest.raises(ValueError, match="expert_policy"):
        baselines.dagger(jax.random.PRNGKey(0), env.mdp, jnp.ones((9, 4)), budget=5, horizon=3)
    with pytest.raises(ValueError, match="budget"):
        baselines.smile(jax.random.PRNGKey(0), env.mdp, jnp.full((9, 4), 0.25), budget=0,
                        horizon=3)
