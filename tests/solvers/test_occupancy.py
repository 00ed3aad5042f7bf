"""Occupancy measures and the MaxEnt likelihood against brute-force enumeration of every
trajectory on tiny MDPs."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.data.demos import make_demonstrations
from bayesirl.likelihoods import maxent_log_likelihood, maxent_logits
from bayesirl.data.mdp import make_mdp
from bayesirl.solvers.occupancy import (
    discounted_occupancy,
    empirical_feature_counts,
    expected_feature_counts,
    state_visitation,
)
from bayesirl.solvers import soft_value_iteration
from tests import reference
from tests.conftest import random_mdp_arrays

#: float64 sums over at most a few hundred trajectories.
ATOL_ENUM = 1e-10


def enumerate_trajectories(P, p0, terminal, T):
    """Every (states, actions) of at most T steps; a trajectory ends on entering a terminal
    state (which is its last state, without an action). Yields (states, actions, log P(dyn))."""
    S, A, _ = P.shape

    def extend(states, actions, logp):
        s = states[-1]
        if s in terminal or len(states) == T:
            yield states, actions, logp
            return
        for a in range(A):
            if len(states) == T:
                continue
            for s2 in range(S):
                if P[s, a, s2] > 0:
                    yield from extend(states + [s2], actions + [a], logp + np.log(P[s, a, s2]))

    for s0 in range(S):
        if p0[s0] > 0:
            # the last state of a T-step trajectory also takes an action: enumerate it below
            for states, actions, logp in extend([s0], [], np.log(p0[s0])):
                if states[-1] in terminal:
                    yield states, actions, logp
                else:
                    for a in range(A):
                        yield states, actions + [a], logp


def make_tiny(kind, seed):
    S, A, T = 4, 2, 4
    if kind == "stochastic":
        P = random_mdp_arrays(seed, S, A, K=2)
    else:
        rng = np.random.default_rng(seed)
        P = np.zeros((S, A, S))
        P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(S, size=(S, A))] = 1.0
    p0 = np.array([0.6, 0.4, 0.0, 0.0])
    terminal = {3}
    phi = np.random.default_rng(seed + 10).normal(size=(S, 3))
    mdp = make_mdp(P, features=phi, discount=0.9, terminal_states=sorted(terminal),
                   initial_distribution=p0)
    w = np.array([0.5, -1.0, 0.8])
    trajs = list(enumerate_trajectories(P, p0, terminal, T))
    return dict(P=P, p0=p0, terminal=terminal, T=T, mdp=mdp, w=w, phi=phi, trajs=trajs, kind=kind)


@pytest.fixture(scope="module", params=[("stochastic", 1), ("deterministic", 2)])
def tiny(request):
    return make_tiny(*request.param)


def log_policy_reference(tiny, discount):
    V, Q = reference.finite_horizon_soft(tiny["P"], tiny["phi"] @ tiny["w"], discount,
                                         tiny["terminal"], tiny["T"])
    return Q - V[:-1, :, None]  # (T, S, A)


@pytest.mark.parametrize("discount", [1.0, 0.9])
def test_trajectory_probabilities_sum_to_one_and_match(tiny, discount):
    log_pi_ref = log_policy_reference(tiny, discount)
    log_pi = np.asarray(maxent_logits(tiny["mdp"], jnp.asarray(tiny["phi"] @ tiny["w"]),
                                      horizon=tiny["T"], discount=discount))
    live = [s for s in range(4) if s not in tiny["terminal"]]  # no action is taken in terminals
    np.testing.assert_allclose(log_pi[:, live], log_pi_ref[:, live], atol=1e-12)
    demos = make_demonstrations([(s, a) for s, a, _ in tiny["trajs"]])
    ll = np.asarray(maxent_log_likelihood(tiny["mdp"], jnp.asarray(tiny["phi"] @ tiny["w"]),
                                          demos, horizon=tiny["T"], discount=discount))
    expected = np.array([sum(log_pi_ref[t, s[t], a[t]] for t in range(len(a)))
                         for s, a, _ in tiny["trajs"]])
    np.testing.assert_allclose(ll, expected, atol=ATOL_ENUM)
    total = sum(np.exp(l + d) for l, (_, _, d) in zip(ll, tiny["trajs"]))
    assert total == pytest.approx(1.0, abs=ATOL_ENUM)


def test_visitation_matches_enumeration(tiny):
    log_pi = maxent_logits(tiny["mdp"], jnp.asarray(tiny["phi"] @ tiny["w"]), horizon=tiny["T"])
    D = np.asarray(state_visitation(tiny["mdp"], jnp.exp(log_pi)))
    D_enum = np.zeros_like(D)
    for states, actions, logp_dyn in tiny["trajs"]:
        p = np.exp(logp_dyn + sum(np.asarray(log_pi)[t, states[t], actions[t]]
                                  for t in range(len(actions))))
        for t, s in enumerate(states):
            D_enum[t, s] += p
    np.testing.assert_allclose(D, D_enum, atol=ATOL_ENUM)
    occ = discounted_occupancy(tiny["mdp"], jnp.exp(log_pi), discount=0.9)
    np.testing.assert_allclose(occ, (0.9 ** np.arange(tiny["T"])) @ D_enum, atol=ATOL_ENUM)


def test_maxent_gradient_is_empirical_minus_expected_features():
    """Deterministic dynamics, undiscounted: ∇_w log p(τ) = Φ(τ) − μ(π_w) (Ziebart 2008).
    (With stochastic dynamics the identity holds only in expectation over trajectories.)"""
    tiny = make_tiny("deterministic", 2)
    mdp, T = tiny["mdp"], tiny["T"]
    demos = make_demonstrations([(s, a) for s, a, _ in tiny["trajs"][:7]])

    def ll(w):
        return maxent_log_likelihood(mdp, mdp.features @ w, demos, horizon=T).sum()

    w = jnp.asarray(tiny["w"])
    grad = jax.grad(ll)(w)
    pi = jnp.exp(maxent_logits(mdp, mdp.features @ w, horizon=T))
    counts = empirical_feature_counts(mdp, demos, discount=1.0)
    # each demonstration starts from its own s0: expected counts from that start state
    expected = []
    for s0 in np.asarray(demos.states[:, 0]):
        start = mdp._replace(initial_distribution=jnp.eye(4)[s0])
        expected.append(expected_feature_counts(start, pi, discount=1.0))
    np.testing.assert_allclose(grad, counts.sum(0) - np.sum(expected, 0), atol=1e-9)


def test_discounted_occupancy_identity_with_policy_evaluation():
    """p0 · V^π = μ(π) · w for the infinite-horizon discounted occupancy."""
    from bayesirl.solvers.evaluation import expected_return

    P = random_mdp_arrays(5, 5, 3, K=3)
    mdp = make_mdp(P, features=np.random.default_rng(0).normal(size=(5, 2)), discount=0.8,
                   terminal_states=[4])
    w = jnp.asarray([1.0, -0.5])
    pi = soft_value_iteration(mdp, mdp.features @ w).policy
    mu = expected_feature_counts(mdp, pi)
    np.testing.assert_allclose(mu @ w, expected_return(mdp, mdp.features @ w, pi), atol=1e-10)
    # long finite horizon converges to the infinite-horizon occupancy
    np.testing.assert_allclose(discounted_occupancy(mdp, pi, horizon=300),
                               discounted_occupancy(mdp, pi), atol=1e-10)


def test_maxent_rejects_long_trajectories(tiny):
    demos = make_demonstrations([([0] * 6, [0] * 6)])
    with pytest.raises(ValueError, match="longer than the horizon"):
        maxent_log_likelihood(tiny["mdp"], jnp.zeros(4), demos, horizon=4)


@pytest.mark.parametrize("fn", [
    state_visitation,
    discounted_occupancy,
    lambda mdp, policy, horizon: discounted_occupancy(mdp, policy),  # the linear-solve path
    expected_feature_counts,
], ids=["visitation", "occupancy-finite", "occupancy-discounted", "feature-counts"])
@pytest.mark.parametrize("policy, kind", [
    (np.full((3, 2), 1.0), "rows summing to 2"),
    (np.array([[np.nan, 1.0], [0.5, 0.5], [0.5, 0.5]]), "NaN"),
    (np.array([[1.5, -0.5], [0.5, 0.5], [0.5, 0.5]]), "negative"),
], ids=["sum-2", "nan", "negative"])
def test_occupancy_refuses_a_policy_that_is_not_probabilities(fn, policy, kind):
    P = random_mdp_arrays(4, S=3, A=2, K=2)
    mdp = make_mdp(P, discount=0.9)
    before = policy.copy()
    with pytest.raises(ValueError, match="^policy: expected action probabilities"):
        fn(mdp, policy, 4)
    np.testing.assert_array_equal(policy, before)
