"""Non-causal MaxEnt IRL (Ziebart et al. 2008) against brute-force path enumeration, and its
documented difference from the causal model on stochastic dynamics."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bayesirl as birl
from bayesirl import baselines

#: Float64 comparisons with exact enumeration.
RTOL_EXACT = 1e-9


def tiny_deterministic():
    """S = 4 (state 3 terminal), A = 2, random deterministic successors, 2 features."""
    rng = np.random.default_rng(3)
    S, A = 4, 2
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            P[s, a, rng.integers(S)] = 1.0
    P[0, 0] = np.eye(S)[3]  # make the terminal state reachable
    return birl.make_mdp(P, rng.normal(size=(S, 2)), discount=0.9, terminal_states=[3])


def enumerate_paths(mdp, start, horizon):
    """Every (states, actions) path of the path distribution from ``start``: T steps, or fewer
    when it enters a terminal state (no action recorded there)."""
    nxt = np.asarray(mdp.next_states)[:, :, 0]
    terminal = np.asarray(mdp.terminal)
    paths = []
    for actions in itertools.product(range(mdp.num_actions), repeat=horizon):
        s, states, acts = start, [], []
        for t in range(horizon):
            states.append(s)
            if terminal[s]:
                acts.append(0)
                break
            acts.append(actions[t])
            s = nxt[s, actions[t]]
        paths.append((tuple(states), tuple(acts)))
    return sorted(set(paths))  # terminal prefixes were produced once per continuation


def test_partition_function_likelihood_and_gradient_equal_enumeration():
    mdp = tiny_deterministic()
    T = 4
    w = jnp.array([0.7, -0.4])
    phi = np.asarray(mdp.features)
    sol = baselines.noncausal_backward_pass(mdp, mdp.features @ w, T)
    for start in range(3):
        paths = enumerate_paths(mdp, start, T)
        f = np.array([phi[list(states)].sum(0) for states, _ in paths])
        returns = f @ np.asarray(w)
        log_z = np.log(np.exp(returns).sum())
        assert float(sol.values[0, start]) == pytest.approx(log_z, rel=RTOL_EXACT)
        # each path's log-likelihood, and the gradient = f_ζ − E[f] (Ziebart 2008, Eq. 6)
        demos = birl.make_demonstrations([paths[0], paths[-1]], 4, 2)
        ll = baselines.noncausal_log_likelihood(mdp, mdp.features @ w, demos, T)
        np.testing.assert_allclose(ll, returns[[0, -1]] - log_z, rtol=RTOL_EXACT)
        expected_f = np.exp(returns - log_z) @ f
        grad = jax.grad(lambda v, demos=demos: jnp.sum(baselines.noncausal_log_likelihood(
            mdp, mdp.features @ v, demos, T)))(w)
        np.testing.assert_allclose(grad, f[0] + f[-1] - 2 * expected_f, rtol=1e-8, atol=1e-12)
        # Algorithm 1's forward pass equals the exact expectation on deterministic dynamics
        at_start = mdp._replace(initial_distribution=jnp.eye(4)[start])
        forward = baselines.noncausal_feature_expectations(at_start, at_start.features @ w, T)
        np.testing.assert_allclose(forward, expected_f, rtol=1e-8, atol=1e-12)


def test_map_weights_zero_the_gradient():
    mdp = tiny_deterministic()
    paths = enumerate_paths(mdp, 1, 4)
    demos = birl.make_demonstrations([paths[0], paths[-1], paths[1]], 4, 2)
    res = baselines.maxent_noncausal(mdp, demos, horizon=4, prior_scale=2.0)
    assert res.converged and float(res.gradient_norm) < 1e-4
    assert res.policy.shape == (4, 4, 2)


def lottery():
    """State 0: action 0 'safe' → state 1 (reward 0.5); action 1 'risky' → state 2 (reward 1)
    or state 3 (reward 0), half each. States 1–3 are terminal. Equal expected rewards."""
    P = np.zeros((4, 2, 4))
    P[0, 0, 1] = 1.0
    P[0, 1, 2] = P[0, 1, 3] = 0.5
    P[1:, :, 1:] = np.eye(3)[:, None, :]
    return birl.make_mdp(P, np.eye(4), discount=0.9, terminal_states=[1, 2, 3])


def test_noncausal_is_risk_seeking_on_stochastic_dynamics():
    mdp = lottery()
    reward = jnp.array([0.0, 0.5, 1.0, 0.0])
    noncausal = baselines.noncausal_backward_pass(mdp, reward, 2)
    causal = birl.finite_horizon_soft_value_iteration(mdp, reward, 2, discount=1.0)
    # Jensen: log E exp V >= E V, so Q_noncausal >= Q_causal everywhere …
    assert np.all(np.asarray(noncausal.q_values) >= np.asarray(causal.q_values) - 1e-12)
    # … with equality for deterministic successors (the safe action) …
    assert float(noncausal.q_values[0, 0, 0]) == pytest.approx(float(causal.q_values[0, 0, 0]))
    # … and a strict gap for the lottery: the causal model is indifferent, the non-causal one
    # prefers the risky action (log(½e + ½) − ½ > 0)
    assert float(causal.policy[0, 0, 1]) == pytest.approx(0.5)
    gap = np.log(0.5 * np.e + 0.5) - 0.5
    assert float(noncausal.q_values[0, 0, 1] - noncausal.q_values[0, 0, 0]) == pytest.approx(gap)
    assert float(noncausal.policy[0, 0, 1]) > 0.5


def test_rejects_demonstrations_longer_than_horizon():
    mdp = tiny_deterministic()
    demos = birl.make_demonstrations([enumerate_paths(mdp, 1, 4)[-1]], 4, 2)
    with pytest.raises(ValueError, match="horizon"):
        baselines.noncausal_log_likelihood(mdp, jnp.zeros(4), demos, horizon=2)
