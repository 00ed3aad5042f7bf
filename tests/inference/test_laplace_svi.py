"""Laplace and SVI approximations against the exact posterior of a 2-weight model, computed by
numerical integration on a grid (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import initialize_model

from bayesirl.data.mdp import make_mdp
from bayesirl.inference import fit
from bayesirl.likelihoods import DemonstrationPairs
from bayesirl.models import Evidence, irl_model
from bayesirl.solvers import soft_value_iteration
from tests.conftest import random_mdp_arrays

#: Laplace/SVI are Gaussian approximations of a near-Gaussian posterior (60 pairs): their
#: means and standard deviations must agree with the grid's within this fraction of the sd.
TOL_SD_FRACTION = 0.25
#: Monte-Carlo error of 4 × 500 independent draws is ~0.03 sd; SVI's ELBO optimum adds more.
KWARGS = dict(prior="gaussian", betas={"boltzmann": 1.0}, q="soft")


@pytest.fixture(scope="module")
def problem():
    P = random_mdp_arrays(3, S=5, A=2, K=2)
    phi = np.random.default_rng(0).normal(size=(5, 2))
    mdp = make_mdp(P, features=phi, discount=0.9)
    rng = np.random.default_rng(1)
    states = rng.integers(0, 5, size=60)
    pi = np.asarray(soft_value_iteration(mdp, mdp.features @ jnp.asarray([0.8, -0.5])).policy)
    actions = (rng.random(60) < pi[states, 1]).astype(int)  # the soft-optimal demonstrator
    pairs = DemonstrationPairs(jnp.asarray(states), jnp.asarray(actions), jnp.zeros(60, int))
    evidence = Evidence(boltzmann=pairs)
    info = initialize_model(jax.random.PRNGKey(0), irl_model, model_args=(mdp, evidence),
                            model_kwargs=KWARGS, validate_grad=False)
    grid = np.linspace(-6, 6, 241)
    W = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    # lax.map in batches: a vmap over all points iterates each solver until the slowest
    # point converges (2-3x slower); the values are the same.
    logp = -np.asarray(jax.jit(lambda W: jax.lax.map(
        lambda w: info.potential_fn({"reward_weights": w}), W, batch_size=1024))(jnp.asarray(W)))
    p = np.exp(logp - logp.max())
    p /= p.sum()
    mean = p @ W
    sd = np.sqrt(p @ (W - mean) ** 2)
    assert np.all(np.abs(mean) + 4 * sd < 6)  # the grid holds the posterior
    return mdp, evidence, mean, sd


@pytest.mark.parametrize("method,kernel_kwargs", [("laplace", None),
                                                  ("svi", {"num_steps": 2000})])
def test_approximation_matches_grid_posterior(problem, method, kernel_kwargs):
    mdp, evidence, mean, sd = problem
    idata = fit(irl_model, mdp, evidence, method=method, num_samples=500, num_chains=4,
                progress_bar=False, kernel_kwargs=kernel_kwargs, **KWARGS)
    w = np.asarray(idata.posterior["reward_weights"]).reshape(-1, 2)
    assert idata.posterior["reward_weights"].shape == (4, 500, 2)
    np.testing.assert_array_less(np.abs(w.mean(0) - mean), TOL_SD_FRACTION * sd)
    np.testing.assert_array_less(np.abs(w.std(0) - sd), TOL_SD_FRACTION * sd)
