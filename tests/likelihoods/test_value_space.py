"""The value-space (ValueWalk) model: its reward recovery inverts the soft solver, its Jacobian
term is the exact change of variables, and its posterior equals the reward-space posterior."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density

from bayesirl.data.mdp import make_mdp
from bayesirl.likelihoods import DemonstrationPairs, reward_from_values
from bayesirl.likelihoods.value_space import (
    ValueSpaceWhitening,
    value_space_log_posterior,
)
from bayesirl.models import boltzmann_irl_model, value_space_irl_model
from bayesirl.solvers import soft_value_iteration
from tests.conftest import random_mdp_arrays

BETA = 2.0
S, A = 4, 2


@pytest.fixture(scope="module")
def problem():
    mdp = make_mdp(random_mdp_arrays(9, S=S, A=A, K=2), discount=0.9, terminal_states=(3,))
    pairs = DemonstrationPairs(jnp.asarray([0, 1, 2, 0, 1]), jnp.asarray([1, 0, 1, 1, 1]),
                               jnp.zeros(5, int))
    return mdp, pairs


def test_reward_recovery_inverts_the_soft_solver(problem):
    mdp, _ = problem
    theta = jnp.asarray(np.random.default_rng(0).normal(size=S))
    sol = soft_value_iteration(mdp, theta)
    rec = reward_from_values(mdp, sol.values)
    np.testing.assert_allclose(rec.reward, theta, atol=1e-9)
    np.testing.assert_allclose(rec.logits, sol.q_values, atol=1e-9)
    jac = jax.jacfwd(lambda v: reward_from_values(mdp, v).reward)(sol.values)
    np.testing.assert_allclose(rec.log_abs_det_jacobian, np.linalg.slogdet(np.asarray(jac))[1],
                               atol=1e-10)


def test_density_is_reward_space_density_times_jacobian(problem):
    """log p_V(V) = log p_R(R(V)) + log|det ∂R/∂V| at random V, so the posteriors agree."""
    mdp, pairs = problem
    for seed in range(3):
        v = jnp.asarray(np.random.default_rng(seed).normal(scale=3.0, size=S))
        lv, _ = log_density(value_space_irl_model, (mdp, pairs), dict(prior_scale=10.0, beta=BETA),
                            {"values": v})
        rec = reward_from_values(mdp, v)
        reward = rec.reward / BETA
        lr, _ = log_density(boltzmann_irl_model, (mdp, pairs),
                            dict(prior="gaussian", prior_scale=10.0, beta=BETA, q="soft"),
                            {"reward_weights": reward})
        jac = jax.jacfwd(lambda x: reward_from_values(mdp, x).reward / BETA)(v)
        np.testing.assert_allclose(lv, lr + np.linalg.slogdet(np.asarray(jac))[1], atol=1e-8)


def test_log_posterior_is_the_model_log_density(problem):
    """value_space_log_posterior (the whitening's objective) is exactly the model's log joint."""
    mdp, pairs = problem
    for seed in range(3):
        v = jnp.asarray(np.random.default_rng(seed).normal(scale=3.0, size=S))
        lv, _ = log_density(value_space_irl_model, (mdp, pairs), dict(prior_scale=10.0, beta=BETA),
                            {"values": v})
        lp = value_space_log_posterior(mdp, v, pairs.states, pairs.actions, 10.0, BETA)
        np.testing.assert_allclose(lp, lv, atol=1e-10)


def test_whitened_model_is_the_same_density(problem):
    """With V = loc + L z the log density of z equals that of V (constant Jacobian dropped)."""
    mdp, pairs = problem
    rng = np.random.default_rng(5)
    loc = jnp.asarray(rng.normal(size=S))
    tril = jnp.asarray(np.tril(rng.normal(size=(S, S)), -1) + np.diag(rng.uniform(0.5, 2, S)))
    kw = {"prior_scale": 10.0, "beta": BETA}
    for seed in range(3):
        z = jnp.asarray(np.random.default_rng(seed).normal(size=S))
        lz, tr = log_density(value_space_irl_model, (mdp, pairs),
                             dict(kw, whitening=ValueSpaceWhitening(loc, tril)),
                             {"values_whitened": z})
        lv, _ = log_density(value_space_irl_model, (mdp, pairs), kw, {"values": loc + tril @ z})
        np.testing.assert_allclose(lz, lv, atol=1e-10)
        np.testing.assert_allclose(tr["values"]["value"], loc + tril @ z, atol=1e-12)
