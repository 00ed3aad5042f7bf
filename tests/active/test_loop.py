"""The active-learning loop: particle updates against numerical integration, the stop rule,
history, and errors."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.active.loop import (
    answers_log_likelihood,
    importance_ess,
    importance_posterior,
    make_answers,
    observe_action,
    observe_preference,
    rejuvenate,
    resample,
    run_active_learning,
    sufficiency_stop,
)
from bayesirl.data.envs import gridworld
from bayesirl.data.mdp import make_mdp
from bayesirl.solvers import value_iteration

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
        from bayesirl.active.acquisitions import action_log_probabilities

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


def test_sufficiency_stop():
    env = gridworld(4, 4, num_features=3, seed=1)
    mdp = env.mdp
    stop = sufficiency_stop(mdp, epsilon=0.05)
    truth = jnp.asarray(env.true_weights)
    optimal = value_iteration(mdp, env.true_reward).policy
    uniform = jnp.full((mdp.num_states, mdp.num_actions), 1.0 / mdp.num_actions)
    same = jnp.tile(truth, (100, 1))
    ok, bound = stop(same, optimal)
    assert ok and bound == pytest.approx(0.0, abs=1e-9)
    ok, bound = stop(same, uniform)
    assert not ok and bound == pytest.approx(1.0)
    assert stop(same[:10], optimal) == (False, None)  # 0.95^10 > 0.05: too few draws
    with pytest.raises(ValueError, match="epsilon"):
        sufficiency_stop(mdp, epsilon=0.0)


@pytest.fixture(scope="module")
def easy_env():
    return gridworld(4, 4, num_features=3, seed=2)


def test_loop_stops_when_sufficiency_holds(easy_env, tmp_path):
    path = tmp_path / "history.json"
    history = run_active_learning(easy_env, kind="state", acquisition="bald", budget=25,
                                  key=jax.random.PRNGKey(0), num_prior_samples=1000,
                                  num_posterior_samples=300, epsilon=0.1, progress=False,
                                  history_path=path)
    assert history[-1].sufficient and history[-1].bound < 0.1
    assert len(history) < 25  # stopped early
    assert not any(r.sufficient for r in history[:-1])
    assert all(r.bound is None or r.bound >= 0.1 for r in history[:-1])
    saved = json.loads(path.read_text())
    assert [r["step"] for r in saved] == [r.step for r in history]
    assert saved[-1]["sufficient"] is True
    # the policy the test certified is good under the true reward too
    assert history[-1].true_nevd < 0.1


def test_loop_without_stop_runs_the_budget_and_learns(easy_env, capsys):
    history = run_active_learning(easy_env, kind="preference", acquisition="mutual-information",
                                  budget=8, key=jax.random.PRNGKey(0), num_prior_samples=1000,
                                  num_candidates=12, stop=None, progress=True)
    assert len(history) == 8 and all(r.bound is None for r in history)
    assert history[-1].true_nevd <= history[0].true_nevd + 1e-9
    assert "query   8: preference" in capsys.readouterr().err
    # asked pairs are not repeated
    assert len({tuple(r.query) for r in history}) == 8


def test_loop_stop_callable_and_importance_updater(easy_env):
    calls = []

    def stop(draws, policy):
        calls.append(draws.shape)
        return len(calls) == 3, 0.0

    history = run_active_learning(easy_env, kind="state", acquisition="random", budget=10,
                                  key=jax.random.PRNGKey(0), num_prior_samples=500,
                                  updater="importance", stop=stop, progress=False)
    assert len(history) == 3 and history[-1].sufficient
    assert all(r.acceptance is None for r in history)  # importance updater never moves


def test_loop_ends_when_every_state_has_been_asked():
    env = gridworld(2, 2, num_features=2, seed=0, terminal_states=[3])
    history = run_active_learning(env, kind="state", acquisition="bald", budget=10,
                                  num_prior_samples=200, stop=None, progress=False)
    assert sorted(r.query[0] for r in history) == [0, 1, 2]


def test_simulated_expert_answers_ties_at_random():
    """All trajectories have return 0 under a zero true reward: a Bradley–Terry expert is
    indifferent, so the answers must not all be "A" (P = 2^-11 for 12 fair coin flips)."""
    env = gridworld(3, 3, num_features=2, seed=0, weights=np.zeros(2))
    history = run_active_learning(env, kind="preference", acquisition="random", budget=12,
                                  num_prior_samples=200, num_candidates=8, stop=None,
                                  key=jax.random.PRNGKey(4), progress=False)
    assert {r.answer for r in history} == {0, 1}


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="demo"), "kind"),
    (dict(acquisition="volume-removal"), "acquisition"),
    (dict(updater="mcmc"), "updater"),
    (dict(stop="never"), "stop"),
    (dict(budget=0), "budget"),
])
def test_loop_errors(easy_env, kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_active_learning(easy_env, **kwargs)


def test_action_answers_need_action_probabilities():
    mdp = _two_feature_mdp()
    post = importance_posterior(jax.random.PRNGKey(0), mdp, 10, "l2-sphere", with_actions=False)
    with pytest.raises(ValueError, match="with_actions"):
        observe_action(post, 0, 1)
    with pytest.raises(ValueError, match="capacity"):
        make_answers(1, 2, actions=[(0, 1), (1, 0)])
