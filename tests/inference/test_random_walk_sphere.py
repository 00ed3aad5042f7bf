"""RandomWalkMH on the Bradley–Terry posterior over the unit L2 sphere (issue 10, row 6).

The exact reference is the posterior of w on S² (3 features), computed by numerical
integration over a (θ, φ) grid; both kernels (the polar walk with the batch's random numbers
drawn together, the default Gaussian walk of the latent) must reproduce its first and second
moments within a multiple of their Monte Carlo standard error. Fixed seeds throughout.
"""

import functools

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import random
from numpyro.infer import MCMC, init_to_uniform
from scipy.special import log_expit

from bayesirl.data.preferences import make_preferences
from bayesirl.data.trajectories import make_trajectories
from bayesirl.inference.random_walk_kernel import RandomWalkMH
from bayesirl.models import trajectory_evidence, trajectory_model

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

# Tolerances -------------------------------------------------------------------------------
MCSE_MULT = 4.0  # |MC estimate − exact| <= 4 MCSE (+ floor): ~6e-5 false alarms per check
GRID_FLOOR = 0.005  # the (θ, φ) midpoint grid's error on the moments is below 1e-4
MIN_ESS = 400  # below this the MCSE itself is too unreliable to base a test on

BETA = 3.0
NUM_CHAINS, NUM_WARMUP, NUM_SAMPLES = 16, 600, 1200
# 5 trajectories x 3 features, 6 comparisons (label 0: first preferred, 1: second)
PHI = np.array([[1.0, 0.2, -0.5], [0.3, 1.1, 0.4], [-0.8, 0.5, 0.9], [0.1, -1.0, 0.3],
                [0.6, 0.6, -1.2]])
COMPARISONS = [(0, 1, 0), (1, 2, 0), (0, 3, 0), (2, 4, 1), (3, 4, 1), (1, 3, 0)]
KERNELS = {
    "polar-shared": {"sphere_sites": ("reward_weights_raw",), "shared_random_numbers": True},
    "gaussian": {},
}


def exact_moments(n_theta=600, n_phi=1200):
    """E[w] (3,) and E[w²] (3,) under p(w) ∝ Π_p σ(β w·(Φ_win − Φ_lose)) on S² (uniform
    prior), by the midpoint rule in spherical coordinates (weight sin θ)."""
    theta = (np.arange(n_theta) + 0.5) * np.pi / n_theta
    phi = (np.arange(n_phi) + 0.5) * 2 * np.pi / n_phi
    T, P = np.meshgrid(theta, phi, indexing="ij")
    w = np.stack([np.sin(T) * np.cos(P), np.sin(T) * np.sin(P), np.cos(T)], axis=-1)
    logp = np.log(np.sin(T))
    for a, b, label in COMPARISONS:
        win, lose = (a, b) if label == 0 else (b, a)
        logp = logp + log_expit(BETA * w @ (PHI[win] - PHI[lose]))
    p = np.exp(logp - logp.max())
    p /= p.sum()
    return np.einsum("ij,ijk->k", p, w), np.einsum("ij,ijk->k", p, w**2)


@pytest.fixture(scope="module")
def evidence():
    prefs = make_preferences(len(PHI), COMPARISONS)
    return trajectory_evidence(make_trajectories(feature_counts=PHI), preferences=prefs,
                               dtype=jnp.float64)


def run(evidence, kernel_kwargs, seed):
    model = functools.partial(trajectory_model, prior="l2-sphere",
                              betas={"bradley-terry": BETA})
    kernel = RandomWalkMH(model, init_strategy=init_to_uniform(radius=1.0), **kernel_kwargs)
    mcmc = MCMC(kernel, num_warmup=NUM_WARMUP, num_samples=NUM_SAMPLES, num_chains=NUM_CHAINS,
                chain_method="vectorized", progress_bar=False)
    mcmc.run(random.PRNGKey(seed), evidence)
    return mcmc


def test_exact_reference_is_sane():
    mean, second = exact_moments()
    coarse_mean, coarse_second = exact_moments(300, 600)
    assert abs(second.sum() - 1.0) < 1e-10  # w² sums to 1 on the sphere
    np.testing.assert_allclose(mean, coarse_mean, atol=1e-4)
    np.testing.assert_allclose(second, coarse_second, atol=1e-4)
    assert np.linalg.norm(mean) > 0.3  # the preferences concentrate the posterior


@pytest.mark.parametrize("name", list(KERNELS))
def test_sphere_posterior_matches_numerical_integration(evidence, name):
    mcmc = run(evidence, KERNELS[name], seed=3)
    w = np.asarray(mcmc.get_samples(group_by_chain=True)["reward_weights"])  # (C, M, 3)
    assert w.shape == (NUM_CHAINS, NUM_SAMPLES, 3)
    np.testing.assert_allclose(np.linalg.norm(w, axis=-1), 1.0, rtol=1e-10)
    mean, second = exact_moments()
    for k in range(3):
        for draws, exact in ((w[..., k], mean[k]), (w[..., k] ** 2, second[k])):
            assert az.ess(draws) > MIN_ESS
            tol = MCSE_MULT * float(az.mcse(draws)) + GRID_FLOOR
            assert abs(draws.mean() - exact) < tol, (name, k, draws.mean(), exact, tol)


def test_shared_random_numbers_chains_are_distinct_and_reproducible():
    # U(z) = ‖z‖²/2: a standard normal in 3 dimensions, 4 vectorised chains.
    def potential_fn(z):
        return 0.5 * jnp.sum(z**2)

    def sample(seed):
        kernel = RandomWalkMH(potential_fn=potential_fn, shared_random_numbers=True)
        mcmc = MCMC(kernel, num_warmup=300, num_samples=3000, num_chains=4,
                    chain_method="vectorized", progress_bar=False)
        mcmc.run(random.PRNGKey(seed), init_params=jnp.zeros((4, 3)))
        return np.asarray(mcmc.get_samples(group_by_chain=True)), mcmc.last_state

    draws, last = sample(0)
    again, _ = sample(0)
    np.testing.assert_array_equal(draws, again)
    flat = draws.reshape(4, -1)
    assert all(not np.allclose(flat[i], flat[j]) for i in range(4) for j in range(i))
    corr = np.corrcoef(draws[..., 0])  # the chains do not move together
    assert np.max(np.abs(corr[np.triu_indices(4, 1)])) < 0.2
    tol = MCSE_MULT * float(az.mcse(draws[..., 0])) + 0.01
    assert abs(draws.mean()) < tol
    assert np.all(np.asarray(last.i) == 3300)
    assert jax.tree.leaves(last.rng_key)  # the per-chain keys stay in the state
