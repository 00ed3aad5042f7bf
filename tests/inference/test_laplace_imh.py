"""Independence MH with a Laplace proposal (bayesirl.inference.independence_mh): the
accept/reject pass by hand, and the chains' posterior against numerical integration of a
2-weight posterior on a grid (float64, fixed seeds)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.data.mdp import make_mdp
from bayesirl.inference.independence_mh import (
    fit_laplace_imh,
    independence_chains,
    laplace_at_map,
    sample_laplace_imh,
)
from bayesirl.inference.map import boltzmann_log_density, warm_start_map
from bayesirl.likelihoods import DemonstrationPairs
from bayesirl.solvers import soft_value_iteration
from tests.conftest import random_mdp_arrays

#: Exact MH: the chains' means and sds agree with the grid's within this many Monte-Carlo
#: standard errors (sd/sqrt(ESS) for a mean, sd/sqrt(2 ESS) for an sd): a correct sampler
#: fails less than once in 10^4 runs.
Z_MC = 4.5
#: Central finite differences of float64 gradients / values (step 1e-5).
RTOL_FD = 1e-5


@pytest.fixture(scope="module")
def problem():
    """The 2-weight grid posterior of tests/inference/test_laplace_svi.py (60 pairs)."""
    P = random_mdp_arrays(3, S=5, A=2, K=2)
    phi = np.random.default_rng(0).normal(size=(5, 2))
    mdp = make_mdp(P, features=phi, discount=0.9)
    rng = np.random.default_rng(1)
    states = rng.integers(0, 5, size=60)
    pi = np.asarray(soft_value_iteration(mdp, mdp.features @ jnp.asarray([0.8, -0.5])).policy)
    actions = (rng.random(60) < pi[states, 1]).astype(int)
    pairs = DemonstrationPairs(jnp.asarray(states), jnp.asarray(actions), jnp.zeros(60, int))
    log_density = boltzmann_log_density(mdp, pairs)
    grid = np.linspace(-6, 6, 241)
    W = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    logp = np.asarray(jax.jit(jax.vmap(lambda w: log_density(w, jnp.zeros(5))[0]))(
        jnp.asarray(W)))
    p = np.exp(logp - logp.max())
    p /= p.sum()
    mean = p @ W
    sd = np.sqrt(p @ (W - mean) ** 2)
    assert np.all(np.abs(mean) + 4 * sd < 6)  # the grid holds the posterior
    return mdp, pairs, log_density, mean, sd


@pytest.fixture(scope="module")
def laplace(problem):
    _, _, log_density, _, _ = problem
    res = warm_start_map(log_density, np.zeros(2), jnp.zeros(5))
    return res, laplace_at_map(log_density, res.weights, res.values)


def test_independence_chains_accepts_by_the_weight_ratio():
    # equal weights: always accepted; a -inf proposal: never; a start at -inf: the first
    # finite proposal is accepted
    lw = jnp.asarray([[0.0, 0.0, 0.0], [0.0, -jnp.inf, 0.0], [-jnp.inf, 1.0, -50.0]])
    indices, accepted = independence_chains(jax.random.PRNGKey(0), lw,
                                            jnp.asarray([0.0, 0.0, -jnp.inf]))
    np.testing.assert_array_equal(indices, [[0, 1, 2], [0, 0, 2], [-1, 1, 1]])
    np.testing.assert_array_equal(accepted, [[1, 1, 1], [1, 0, 1], [0, 1, 0]])
    # acceptance probability exp(-1) from a state of log weight 0 to one of log weight -1
    lw = jnp.full((1, 20000), -1.0)
    _, accepted = independence_chains(jax.random.PRNGKey(1), lw, jnp.zeros(1))
    # after the first acceptance every later proposal ties: rate ≈ 1 minus the wait for it
    first = int(np.argmax(np.asarray(accepted[0])))
    assert first < 60  # P(first > 60) = (1 - e^-1)^60 ≈ 1e-12


def test_laplace_state_matches_finite_differences(problem, laplace):
    _, _, log_density, _, _ = problem
    res, laplace = laplace
    grad = jax.grad(lambda w: log_density(w, jnp.zeros(5))[0])
    values = lambda w: log_density(w, jnp.zeros(5))[1][0]
    h, m = 1e-5, jnp.asarray(res.weights)
    cols = [(grad(m + h * e) - grad(m - h * e)) / (2 * h) for e in jnp.eye(2)]
    np.testing.assert_allclose(np.linalg.inv(laplace.covariance), -np.stack(cols, 1),
                               rtol=RTOL_FD)
    jac = [(values(m + h * e) - values(m - h * e)) / (2 * h) for e in jnp.eye(2)]
    np.testing.assert_allclose(laplace.value_jacobian, np.stack(jac, 1), rtol=RTOL_FD)
    assert laplace.hessian_positive


def test_imh_chains_match_grid_posterior(problem, laplace):
    _, _, log_density, mean, sd = problem
    _, laplace = laplace
    out = sample_laplace_imh(jax.random.PRNGKey(3), log_density, laplace, num_chains=4,
                             draws_per_round=250, target_ess=800, max_draws=2000)
    assert out.converged and out.max_rhat <= 1.01 and out.min_ess >= 800
    w = out.draws.reshape(-1, 2)
    ess = out.min_ess
    np.testing.assert_array_less(np.abs(w.mean(0) - mean), Z_MC * sd / np.sqrt(ess))
    np.testing.assert_array_less(np.abs(w.std(0) - sd), Z_MC * sd / np.sqrt(2 * ess))
    assert 0.3 < out.accepted.mean() < 1.0


def test_fit_laplace_imh_returns_inference_data(problem):
    mdp, pairs, _, _, _ = problem
    idata = fit_laplace_imh(mdp, pairs, seed=1, num_chains=2, draws_per_round=100,
                            target_ess=50, max_draws=400)
    draws = idata.posterior["reward_weights"]
    assert draws.shape[0] == 2 and draws.shape[2] == 2
    attrs = idata.posterior.attrs
    assert attrs["converged"] == 1 and attrs["map_converged"] == 1
    assert attrs["evaluations"] == 2 * (draws.shape[1] + 10)  # 10 warm-up steps per chain
    assert idata.sample_stats["lp"].shape == draws.shape[:2]


@pytest.mark.parametrize("kwargs,error", [
    (dict(num_chains=1), ValueError), (dict(num_warmup=0), ValueError),
    (dict(df=0.0), ValueError), (dict(scale=-1.0), ValueError),
    (dict(draws_per_round=2.5), TypeError),
])
def test_sample_laplace_imh_rejects_bad_settings(problem, laplace, kwargs, error):
    _, _, log_density, _, _ = problem
    _, laplace = laplace
    with pytest.raises(error):
        sample_laplace_imh(jax.random.PRNGKey(0), log_density, laplace, **kwargs)

