"""The particle (SMC) posterior: reweighting and resample–move against numerical integration
on a circle of rewards, Bayes' rule, resampling, deprecated keywords and errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.data.mdp import make_mdp
from bayesirl.inference.smc import (
    answers_log_likelihood,
    importance_ess,
    importance_posterior,
    make_answers,
    observe_action,
    observe_preference,
    rejuvenate,
    resample,
)
from bayesirl.likelihoods import action_log_probabilities

# Tolerance of the posterior-mean angle (radians) for M = 4000 particles. The posteriors
# below have sd ≈ 0.3 rad, so the Monte Carlo standard error is ≈ 0.3 / sqrt(ESS ~ 1500) ≈
# 0.008: 0.025 is 3 standard errors, and smaller than the 0.044 rad by which the L1- and
# L2-sphere posteriors of the action test differ (a wrong prior density would fail).
ANGLE_TOL = 0.025


def _two_feature_mdp():
    """4 states in a line, 2 actions (left, right), deterministic, 2 features."""
    S, A = 4, 2
    P = np.zeros((S, A, S))
    for s in range(S):
        P[s, 0, max(s - 1, 0)] = 1.0
        P[s, 1, min(s + 1, S - 1)] = 1.0
    phi = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-0.5, 0.3]])
    return make_mdp(P, phi, discount=0.9)


def _grid_posterior_mean_angle(log_lik_of_weights):
    """Posterior mean of the angle θ of w = (cos θ, sin θ) under a uniform prior on the
    circle, by quadrature on a fine grid (the angle is unimodal away from ±π here)."""
    theta = np.linspace(-np.pi, np.pi, 20001)[:-1]
    w = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    ll = np.asarray(log_lik_of_weights(jnp.asarray(w)))
    p = np.exp(ll - ll.max())
    p /= p.sum()
    m = np.sum(p * np.exp(1j * theta))
    assert 0.1 < np.sqrt(-2 * np.log(abs(m))) < 0.6  # informative, not degenerate
    return np.angle(m)


def _particle_mean_angle(post):
    theta = np.arctan2(np.asarray(post.weights[:, 1]), np.asarray(post.weights[:, 0]))
    p = np.asarray(jax.nn.softmax(post.log_weight))
    return np.angle(np.sum(p * np.exp(1j * theta)))


def test_resample_move_matches_numerical_integration_for_preferences():
    mdp = _two_feature_mdp()
    diffs = np.array([[1.0, -0.2], [0.3, 1.0], [-0.5, 0.4], [1.0, 1.0], [0.2, -1.0]])
    labels = [0, 0, 1, 0, 0]
    beta = 3.0
    post = importance_posterior(jax.random.PRNGKey(0), mdp, 4000, "l2-sphere", beta,
                                with_actions=False)
    key = jax.random.PRNGKey(1)
    for i, (d, label) in enumerate(zip(diffs, labels)):
        post = observe_preference(post, jnp.asarray(d), jnp.zeros(2), label)
        answers = make_answers(len(diffs), 2, preferences=list(zip(diffs[: i + 1], labels)))
        key, k = jax.random.split(key)
        post, rate = rejuvenate(k, post, mdp, answers, prior="l2-sphere", num_steps=5)
        assert 0.05 < rate < 0.95
    answers = make_answers(len(diffs), 2, preferences=list(zip(diffs, labels)))
    exact = _grid_posterior_mean_angle(
        jax.vmap(lambda w: answers_log_likelihood(w, None, answers, beta)))
    # the particles' stored log-likelihood is that of all answers
    np.testing.assert_allclose(
        post.log_likelihood,
        jax.vmap(lambda w: answers_log_likelihood(w, None, answers, beta))(post.weights),
        rtol=1e-6, atol=1e-8)
    assert abs(_particle_mean_angle(post) - exact) < ANGLE_TOL


@pytest.mark.parametrize("prior", ["l1-sphere", "l2-sphere"])
def test_resample_move_matches_numerical_integration_for_actions(prior):
    mdp = _two_feature_mdp()
    beta = 5.0
    observed = [(1, 1), (1, 1), (2, 0), (0, 1), (3, 0), (1, 1)]
    post = importance_posterior(jax.random.PRNGKey(2), mdp, 4000, prior, beta, q="soft")
    key = jax.random.PRNGKey(3)
    for i, (s, a) in enumerate(observed):
        post = observe_action(post, s, a)
        answers = make_answers(len(observed), 2, actions=observed[: i + 1])
        key, k = jax.random.split(key)
        post, _ = rejuvenate(k, post, mdp, answers, prior=prior, num_steps=5)
    answers = make_answers(len(observed), 2, actions=observed)

    def log_lik(w):
        alp = action_log_probabilities(mdp, w, beta, "soft")
        return jax.vmap(lambda v, p: answers_log_likelihood(v, p, answers, beta))(w, alp)

    if prior == "l2-sphere":
        exact = _grid_posterior_mean_angle(log_lik)
    else:  # uniform on the L1 sphere: w = (cos θ, sin θ)/(|cos θ| + |sin θ|) has density
        # ∝ 1/(|cos θ| + |sin θ|)^2 in θ (the Jacobian of the radial projection)
        theta = np.linspace(-np.pi, np.pi, 20001)[:-1]
        u = np.stack([np.cos(theta), np.sin(theta)], axis=1)
        norm1 = np.abs(u).sum(1)
        ll = np.asarray(log_lik(jnp.asarray(u / norm1[:, None]))) - 2 * np.log(norm1)
        p = np.exp(ll - ll.max())
        m = np.sum(p / p.sum() * np.exp(1j * theta))
        assert 0.1 < np.sqrt(-2 * np.log(abs(m))) < 0.6
        exact = np.angle(m)
    assert abs(_particle_mean_angle(post) - exact) < ANGLE_TOL


def test_importance_reweighting_is_bayes_rule():
    mdp = _two_feature_mdp()
    post = importance_posterior(jax.random.PRNGKey(0), mdp, 50, "l2-sphere", 2.0)
    after = observe_action(post, 1, 0)
    np.testing.assert_allclose(after.log_weight - post.log_weight,
                               post.action_log_probs[:, 1, 0])
    assert importance_ess(post) == pytest.approx(50.0)
    assert importance_ess(after) < 50.0
    idx = resample(jax.random.PRNGKey(1), after, 50)
    assert idx.shape == (50,) and int(idx.max()) < 50


def test_action_answers_need_action_probabilities():
    mdp = _two_feature_mdp()
    post = importance_posterior(jax.random.PRNGKey(0), mdp, 10, "l2-sphere", with_actions=False)
    with pytest.raises(ValueError, match="with_actions"):
        observe_action(post, 0, 1)
    with pytest.raises(ValueError, match="capacity"):
        make_answers(1, 2, actions=[(0, 1), (1, 0)])


def test_deprecated_keywords_still_work():
    mdp = _two_feature_mdp()
    new = importance_posterior(jax.random.PRNGKey(0), mdp, num_particles=20, with_actions=False)
    with pytest.warns(DeprecationWarning, match="deprecated") as record:
        old = importance_posterior(key=jax.random.PRNGKey(0), mdp=mdp, num_samples=20,
                                   with_actions=False)
    assert {str(w.message).split("'")[-2] for w in record} == {"rng_key", "num_particles"}
    np.testing.assert_array_equal(old.weights, new.weights)
    with pytest.warns(DeprecationWarning, match="margin"):
        observe_preference(new, jnp.ones(2), jnp.zeros(2), 2, delta=0.5)
    with pytest.raises(TypeError, match="margin"):
        observe_preference(new, jnp.ones(2), jnp.zeros(2), 2, delta=0.5, margin=0.5)
