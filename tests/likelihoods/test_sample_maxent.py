"""Sample-based MaxEnt: exact on an enumerated deterministic MDP, converges with background
size, gradient = Boularias et al.'s self-normalised form, ESS and its warning."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.data.demos import make_demonstrations
from bayesirl.data.mdp import make_mdp, reward_from_weights
from bayesirl.likelihoods.maxent import maxent_log_likelihood
from bayesirl.likelihoods.sample_maxent import (
    ImportanceWeightWarning,
    check_importance_ess,
    importance_ess,
    log_partition_estimate,
    sample_maxent_log_likelihood,
)

RTOL_EXACT = 1e-9  # float64 enumeration vs float64 soft value iteration
#: |log Ẑ − log Z| after 20 000 uniform background trajectories (of 64 possible; the
#: standard error of log Ẑ is ~0.01 for these weights).
ATOL_LARGE_K = 0.05
S, A, T, F = 4, 2, 6, 3


@pytest.fixture(scope="module")
def chain_mdp():
    """A deterministic 4-state ring: action 0 stays, action 1 moves on; start in state 0."""
    P = np.zeros((S, A, S))
    for s in range(S):
        P[s, 0, s] = 1.0
        P[s, 1, (s + 1) % S] = 1.0
    features = np.random.default_rng(3).standard_normal((S, A, F))
    init = np.eye(S)[0]
    mdp = make_mdp(P, features, discount=0.9, initial_distribution=init)
    paths, counts = [], []
    for actions in itertools.product(range(A), repeat=T):
        s, states, phi = 0, [], np.zeros(F)
        for a in actions:
            states.append(s)
            phi += features[s, a]
            s = int(np.argmax(P[s, a]))
        paths.append({"states": states, "actions": list(actions)})
        counts.append(phi)
    return mdp, features, paths, np.asarray(counts)


def test_every_trajectory_uniform_background_is_exact_maxent(chain_mdp):
    mdp, features, paths, counts = chain_mdp
    K = counts.shape[0]
    w = jnp.asarray([0.7, -0.4, 0.2])
    demo_ids = [5, 17, 40]
    demos = make_demonstrations([paths[i] for i in demo_ids], S, A)
    exact = jnp.sum(maxent_log_likelihood(mdp, reward_from_weights(mdp, w), demos, beta=1.3,
                                          horizon=T))
    got = sample_maxent_log_likelihood(w, jnp.asarray(counts[demo_ids]), jnp.asarray(counts),
                                       jnp.full(K, -np.log(K)), beta=1.3)
    np.testing.assert_allclose(got, exact, rtol=RTOL_EXACT)
    # and against a numpy enumeration of log p(τ) = β w·Φ_τ − log Σ_τ' exp(β w·Φ_τ')
    logits = 1.3 * counts @ np.asarray(w)
    ref = np.sum(logits[demo_ids]) - 3 * np.log(np.sum(np.exp(logits)))
    np.testing.assert_allclose(got, ref, rtol=RTOL_EXACT)


def test_converges_as_background_grows(chain_mdp):
    _, _, _, counts = chain_mdp
    K_all = counts.shape[0]
    w = jnp.asarray([0.5, 0.3, -0.6])
    exact = np.log(np.sum(np.exp(counts @ np.asarray(w))))
    rng = np.random.default_rng(0)
    log_q = -T * np.log(A)  # a uniformly random policy from the fixed start: (1/A)^T
    errors = {}
    for K in (30, 300, 20_000):
        errs = []
        for _ in range(20):
            pick = rng.integers(0, K_all, K)
            est = log_partition_estimate(w, jnp.asarray(counts[pick]), jnp.full(K, log_q))
            errs.append(abs(float(est) - exact))
        errors[K] = float(np.mean(errs))
    assert errors[30] > errors[300] > errors[20_000]
    assert errors[20_000] < ATOL_LARGE_K


def test_gradient_is_demo_counts_minus_self_normalised_background(chain_mdp):
    _, _, _, counts = chain_mdp
    rng = np.random.default_rng(1)
    back = jnp.asarray(counts[rng.integers(0, counts.shape[0], 50)])
    log_q = jnp.asarray(rng.uniform(-6, -2, 50))
    demo = jnp.asarray(counts[:4])
    w = jnp.asarray([0.2, -0.1, 0.4])
    grad = jax.grad(sample_maxent_log_likelihood)(w, demo, back, log_q)
    logw = np.asarray(back @ w - log_q)
    sn = np.exp(logw - logw.max())
    sn /= sn.sum()
    np.testing.assert_allclose(grad, np.asarray(demo).sum(0) - 4 * sn @ np.asarray(back),
                               rtol=1e-9)


def test_importance_ess_extremes_and_warning():
    K, F_ = 40, 2
    back = np.zeros((K, F_))
    ess = importance_ess(jnp.ones((3, F_)), back, np.zeros(K))
    np.testing.assert_allclose(ess, K)  # equal weights: ESS = K
    back[0] = 100.0  # one trajectory carries all the weight
    ess = importance_ess(jnp.ones((2, F_)), back, np.zeros(K), beta=jnp.asarray([1.0, 2.0]))
    np.testing.assert_allclose(ess, 1.0, atol=1e-6)
    with pytest.warns(ImportanceWeightWarning, match="collapsed"):
        assert not check_importance_ess(np.asarray(ess), K)
    assert check_importance_ess(np.full(5, 30.0), K)
