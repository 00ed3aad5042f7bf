"""Warm-started MAP (bayesirl.inference.map): the explicit log posterior against NumPyro's
potential of the same model, and the warm-started optimum against the cold one (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import initialize_model

from bayesirl.data.mdp import make_sparse_mdp
from bayesirl.inference.map import boltzmann_log_density, warm_start_map
from bayesirl.likelihoods import DemonstrationPairs
from bayesirl.models import boltzmann_irl_model
from bayesirl.solvers import soft_value_iteration

#: The explicit log posterior and NumPyro's potential are the same float64 expression up to
#: the solver's 1e-10 tolerance.
RTOL_POTENTIAL = 1e-8
#: Warm and cold MAPs agree to L-BFGS-B's stopping precision on a curvature-O(10) problem.
ATOL_MAP = 1e-4
S, F, P = 400, 3, 150  # above DENSE_SOLVE_MAX_STATES: GMRES Newton steps and adjoints


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(5)
    ns = rng.integers(0, S, size=(S, 3, 4))
    pr = rng.dirichlet(np.ones(4), size=(S, 3))
    mdp = make_sparse_mdp(ns, pr, features=rng.normal(size=(S, F)), discount=0.9)
    w_true = jnp.asarray([0.7, -0.4, 0.2])
    pi = np.asarray(soft_value_iteration(mdp, mdp.features @ w_true).policy)
    states = rng.integers(0, S, size=P)
    actions = np.array([rng.choice(3, p=pi[s]) for s in states])
    pairs = DemonstrationPairs(jnp.asarray(states), jnp.asarray(actions), jnp.zeros(P, int))
    return mdp, pairs


@pytest.mark.parametrize("q", ["soft", "hard"])
def test_log_density_is_minus_numpyro_potential(problem, q):
    mdp, pairs = problem
    kwargs = dict(prior="gaussian", prior_scale=2.0, beta=1.5, q=q)
    info = initialize_model(jax.random.PRNGKey(0), boltzmann_irl_model, model_args=(mdp, pairs),
                            model_kwargs=kwargs, validate_grad=False)
    log_density = boltzmann_log_density(mdp, pairs, prior_scale=2.0, beta=1.5, q=q)
    w = jnp.asarray([0.3, -0.9, 0.5])
    warm = soft_value_iteration(mdp, 1.5 * mdp.features @ (w + 0.1)).values  # a nearby start
    for init in (jnp.zeros(S), warm):
        (value, (values, _)), grad = jax.value_and_grad(log_density, has_aux=True)(w, init)
        expected, expected_grad = jax.value_and_grad(
            lambda x: -info.potential_fn({"reward_weights": x}))(w)
        np.testing.assert_allclose(value, expected, rtol=RTOL_POTENTIAL)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=1e-8)
    assert values.shape == (S,)


def test_warm_map_matches_cold_map_with_fewer_sweeps(problem):
    mdp, pairs = problem
    log_density = boltzmann_log_density(mdp, pairs, solver_kwargs={"method": "vi"})
    def cold_density(w, v):  # every solve from V = 0
        return log_density(w, jnp.zeros_like(v))

    w0 = np.array([0.5, 0.5, -0.5])
    warm = warm_start_map(log_density, w0, jnp.zeros(S))
    cold = warm_start_map(cold_density, w0, jnp.zeros(S))
    assert warm.converged and cold.converged
    np.testing.assert_allclose(warm.weights, cold.weights, atol=ATOL_MAP)
    assert np.max(np.abs(warm.gradient)) < 1e-3
    # same fixed points, fewer sweeps: the point of the warm start
    assert warm.solver_iterations < 0.75 * cold.solver_iterations
    values = soft_value_iteration(mdp, mdp.features @ jnp.asarray(warm.weights)).values
    np.testing.assert_allclose(warm.values, values, rtol=1e-8)


@pytest.mark.parametrize("kwargs,match", [
    (dict(q="greedy"), "q:"),
    (dict(solver_kwargs={"init_values": np.zeros(S)}), "init_values"),
    (dict(prior_scale=0.0), "prior_scale"),
    (dict(beta=-1.0), "beta"),
])
def test_log_density_rejects_bad_arguments(problem, kwargs, match):
    mdp, pairs = problem
    with pytest.raises(ValueError, match=match):
        boltzmann_log_density(mdp, pairs, **kwargs)


def test_warm_start_map_rejects_bad_start(problem):
    mdp, pairs = problem
    log_density = boltzmann_log_density(mdp, pairs)
    with pytest.raises(ValueError, match="init_weights"):
        warm_start_map(log_density, np.zeros((2, 3)), jnp.zeros(S))
