"""Learned Q-functions: the implied reward by hand, the value-space model's density against a
numpy reference, and each fit's shapes after a few steps."""

import numpy as np
import pytest

pytest.importorskip("equinox")
pytest.importorskip("optax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from numpyro.infer.util import log_density  # noqa: E402
from scipy.special import logsumexp  # noqa: E402
from scipy.stats import norm  # noqa: E402

from bayesirl.continuous import (  # noqa: E402
    action_log_prob,
    action_probabilities,
    fit,
    fit_cloning,
    fit_standardizer,
    fit_value_space,
    fit_variational,
    implied_reward,
    make_network,
    policy_function,
    q_values,
    reward_draws,
    reward_summary,
    value_space_model,
)
from bayesirl.continuous.networks import site_names, stack_draws  # noqa: E402
from bayesirl.data.continuous import make_transitions  # noqa: E402

#: float32 networks against float64 numpy references.
RTOL_F32 = 1e-5


@pytest.fixture(scope="module")
def transitions():
    rng = np.random.default_rng(1)
    obs = rng.standard_normal((12, 3))
    nxt = obs + 0.1 * rng.standard_normal((12, 3))
    actions = (obs[:, 0] > 0).astype(int)  # a separable "expert"
    dones = np.zeros(12, bool)
    dones[5] = True
    ids = np.repeat([0, 1], 6)
    return make_transitions(obs, actions, nxt, dones, ids, 2)


def test_implied_reward_by_hand():
    q, next_q = jnp.array([1.0, 2.0]), jnp.array([0.5, 1.5])
    gamma, beta = 0.9, 2.0
    soft_v = logsumexp(beta * np.array([0.5, 1.5])) / beta
    r = implied_reward(q, 1, next_q, False, gamma, beta, soft=True)
    np.testing.assert_allclose(r, 2.0 - gamma * soft_v, rtol=RTOL_F32)
    np.testing.assert_allclose(implied_reward(q, 0, next_q, False, gamma, beta, soft=False),
                               1.0 - gamma * 1.5, rtol=RTOL_F32)
    np.testing.assert_allclose(implied_reward(q, 1, next_q, True, gamma, beta), 2.0, rtol=RTOL_F32)


def _numpy_mlp(params, x):
    (w1, b1), (w2, b2) = [(np.asarray(layer.weight, np.float64), np.asarray(layer.bias, np.float64))
                          for layer in params.layers]
    return np.tanh(x @ w1.T + b1) @ w2.T + b2


def test_value_space_density_matches_numpy_reference(transitions):
    net = make_network(3, 2, width=4)
    std = fit_standardizer(transitions.observations)
    obs = np.asarray(std(jnp.asarray(transitions.observations, jnp.float32)), np.float64)
    nxt = np.asarray(std(jnp.asarray(transitions.next_observations, jnp.float32)), np.float64)
    rng = np.random.default_rng(2)
    names = site_names("q", net)
    leaves = jax.tree_util.tree_leaves(net)
    params = {n: jnp.asarray(rng.standard_normal(x.shape), jnp.float32)
              for n, x in zip(names, [x for x in leaves if hasattr(x, "shape")])}
    gamma, beta, sr, sw = 0.9, 2.5, 0.7, 1.3
    logp, _ = log_density(value_space_model,
                          (jnp.asarray(obs, jnp.float32), jnp.asarray(transitions.actions),
                           jnp.asarray(nxt, jnp.float32), jnp.asarray(transitions.dones)),
                          dict(network=net, discount=gamma, beta=beta, reward_scale=sr,
                               weight_scale=sw), params)
    weights = stack_draws("q", net, {k: v[None] for k, v in params.items()})
    weights = jax.tree_util.tree_map(lambda x: x[0], weights)
    q, next_q = _numpy_mlp(weights, obs), _numpy_mlp(weights, nxt)
    a = transitions.actions
    v_next = np.where(transitions.dones, 0.0, logsumexp(beta * next_q, axis=1) / beta)
    rewards = q[np.arange(12), a] - gamma * v_next
    ref = (sum(norm.logpdf(np.asarray(p, np.float64), 0, sw).sum() for p in params.values())
           + norm.logpdf(rewards, 0, sr).sum()
           + (beta * q[np.arange(12), a] - logsumexp(beta * q, axis=1)).sum())
    np.testing.assert_allclose(float(logp), ref, rtol=RTOL_F32)


def test_value_space_svi_shapes_and_rewards(transitions):
    post = fit_value_space(transitions, method="svi", width=4, svi_steps=5, num_samples=3)
    assert post.num_draws == 3 and post.method == "value-svi"
    q = q_values(post, transitions.observations)
    assert q.shape == (3, 12, 2)
    for mode in ("mean_q", "predictive"):
        probs = action_probabilities(post, transitions.observations, mode)
        np.testing.assert_allclose(np.asarray(probs).sum(axis=1), 1.0, rtol=RTOL_F32)
    next_q = np.asarray(q_values(post, transitions.next_observations), np.float64)
    v = np.where(transitions.dones, 0.0, logsumexp(3.0 * next_q, axis=2) / 3.0)
    ref = np.asarray(q, np.float64)[:, np.arange(12), transitions.actions] - 0.95 * v
    np.testing.assert_allclose(reward_draws(post, transitions), ref, rtol=1e-4, atol=1e-5)
    mean, sd = reward_summary(post, transitions)
    assert mean.shape == sd.shape == (12,) and (np.asarray(sd) >= 0).all()
    greedy = policy_function(post)(transitions.observations[:4])
    assert set(np.unique(greedy)) <= {0.0, 1.0} and (greedy.sum(axis=1) == 1).all()


@pytest.mark.slow  # compiling NUTS takes ~20 s on 2 cores
def test_value_space_nuts_reports_diagnostics(transitions):
    post = fit_value_space(transitions, method="nuts", width=2, num_warmup=10, num_samples=10,
                           num_chains=1)
    assert post.num_draws == 10
    assert {"divergences", "r_hat", "wall_s"} <= set(post.diagnostics)


def test_variational_gives_a_reward_posterior(transitions):
    post = fit_variational(transitions, width=4, num_steps=5)
    assert post.num_draws == 1 and post.encoder is not None
    mean, sd = reward_summary(post, transitions)
    assert mean.shape == sd.shape == (12,) and (np.asarray(sd) > 0).all()


def test_cloning_fits_a_separable_expert(transitions):
    post = fit_cloning(transitions, width=4, num_steps=300, learning_rate=0.05)
    assert action_log_prob(post, transitions) > -0.1  # nats per action on the training set


def test_fit_dispatch_rejects_unknown_methods(transitions):
    with pytest.raises(ValueError, match="^method:"):
        fit(transitions, "value-walk")
    with pytest.raises(ValueError, match="^method:"):
        fit_value_space(transitions, method="hmc")
    with pytest.raises(ValueError, match="^discount:"):
        fit_value_space(transitions, discount=1.0)


def test_stack_draws_names_a_missing_site():
    net = make_network(3, 2, width=4)
    with pytest.raises(ValueError, match="q/layers\\[0\\].weight"):
        stack_draws("q", net, {})
