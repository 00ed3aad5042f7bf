"""The Laplace whitening of the value-space model: its centre is the mode, its scale the inverse
Hessian, and NUTS on the whitened latent samples the same posterior (importance-sampling
reference)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl.data.mdp import make_mdp
from bayesirl.inference import fit
from bayesirl.inference.value_space import value_space_whitening, whitening_from_hessian
from bayesirl.likelihoods import DemonstrationPairs, reward_from_values
from bayesirl.likelihoods.value_space import value_space_log_posterior
from bayesirl.models import value_space_irl_model
from tests.conftest import random_mdp_arrays

BETA, SCALE = 2.0, 3.0
S, A = 4, 2
#: |NUTS mean − reference mean| per state reward, in units of its Monte Carlo standard error
#: (posterior sd / sqrt(min bulk ESS)); the reference's own error is ~20× smaller.
MEAN_TOL_MCSE = 4.0
#: |L Lᵀ H − I| with H = jax.hessian at the mode: the whitening's Hessian is a central
#: difference of step FD_STEP = 1e-2, error O(FD_STEP²) (measured 5e-5).
HESSIAN_ATOL = 1e-3


@pytest.fixture(scope="module")
def problem():
    mdp = make_mdp(random_mdp_arrays(9, S=S, A=A, K=2), discount=0.9, terminal_states=(3,))
    pairs = DemonstrationPairs(jnp.asarray([0, 1, 2, 0, 1, 2, 0]),
                               jnp.asarray([1, 0, 1, 1, 1, 0, 1]), jnp.zeros(7, int))
    return mdp, pairs


@pytest.fixture(scope="module")
def whitening(problem):
    mdp, pairs = problem
    return value_space_whitening(mdp, pairs, prior_scale=SCALE, beta=BETA)


def _neg_log_post(problem):
    mdp, pairs = problem
    return lambda v: -value_space_log_posterior(mdp, v, pairs.states, pairs.actions, SCALE, BETA)


def test_whitening_is_laplace_at_the_mode(problem, whitening):
    f = _neg_log_post(problem)
    grad = jax.grad(f)(whitening.loc)
    assert np.max(np.abs(grad)) < 1e-4
    hess = np.asarray(jax.hessian(f)(whitening.loc))
    assert np.all(np.linalg.eigvalsh(hess) > 0)
    cov = np.asarray(whitening.scale_tril @ whitening.scale_tril.T)
    np.testing.assert_allclose(cov @ hess, np.eye(S), atol=HESSIAN_ATOL)
    assert np.allclose(whitening.scale_tril, np.tril(whitening.scale_tril))


def test_whitening_floors_non_positive_curvature():
    w = whitening_from_hessian(np.zeros(2), np.diag([4.0, -1e-9]), min_precision=0.01)
    np.testing.assert_allclose(np.asarray(w.scale_tril), np.diag([0.5, 10.0]), atol=1e-12)


def test_invalid_arguments(problem):
    mdp, pairs = problem
    with pytest.raises(ValueError, match="prior_scale"):
        value_space_whitening(mdp, pairs, prior_scale=0.0)
    with pytest.raises(ValueError, match="beta"):
        value_space_whitening(mdp, pairs, beta=-1.0)


def test_whitened_nuts_matches_importance_sampling(problem, whitening):
    """Posterior mean of each state reward: NUTS on z vs self-normalised importance sampling
    with a widened Gaussian (Laplace ×1.5 scale) proposal in V, 400k draws."""
    mdp, pairs = problem
    rng = np.random.default_rng(0)
    L = 1.5 * np.asarray(whitening.scale_tril)
    eps = rng.standard_normal((400_000, S))
    v = np.asarray(whitening.loc) + eps @ L.T
    log_q = -0.5 * np.sum(eps**2, axis=1)  # up to a constant
    lp = jax.jit(jax.vmap(lambda x: value_space_log_posterior(mdp, x, pairs.states, pairs.actions,
                                                              SCALE, BETA)))(jnp.asarray(v))
    log_w = np.asarray(lp) - log_q
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    assert 1.0 / np.sum(w**2) > 50_000  # importance ESS: the reference is precise
    reward = np.asarray(jax.jit(jax.vmap(lambda x: reward_from_values(mdp, x).reward))(
        jnp.asarray(v))) / BETA
    ref_mean = w @ reward

    idata = fit(value_space_irl_model, mdp, pairs, method="nuts", num_chains=1, num_warmup=300,
                num_samples=1500, progress_bar=False, seed=1, prior_scale=SCALE, beta=BETA,
                whitening=whitening)
    r = np.asarray(idata.posterior["reward"])[0]
    ess = float(np.min(_arviz.ess(idata, var_names=["reward"])["reward"].values))
    mcse = r.std(axis=0) / np.sqrt(ess)
    assert np.all(np.abs(r.mean(axis=0) - ref_mean) < MEAN_TOL_MCSE * mcse)
    assert int(idata.sample_stats["diverging"].sum()) == 0
