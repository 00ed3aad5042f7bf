"""PolicyWalk with a fitted independence proposal and a policy cache: the cache does not change
the chain; the chain
samples exactly the posterior on the circle (numerical integration) and the uniform law on the
L1 sphere when the likelihood is flat; bad arguments are named."""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl.data.envs import gridworld
from bayesirl.inference.policy_walk import sample_policy_walk_independence
from bayesirl.solvers import value_iteration

#: Monte Carlo standard errors allowed between a chain mean and its exact value (a correct
#: sampler fails one comparison < 1e-5 of the time); plus an absolute floor for tiny errors.
NUM_SE = 5.0
ABS_FLOOR = 1e-3


class Pairs(NamedTuple):
    states: jax.Array
    actions: jax.Array


def _check_mean(x: np.ndarray, want: float) -> None:
    """``x`` (C, D) draws: |mean − want| < NUM_SE · sd / sqrt(bulk ESS) + ABS_FLOOR."""
    ess = float(_arviz.ess(_arviz.from_draws({"x": x}), method="bulk")["x"])
    se = x.std() / np.sqrt(ess)
    assert abs(x.mean() - want) < NUM_SE * se + ABS_FLOOR, (x.mean(), want, se, ess)


def _circle_problem():
    env = gridworld(3, 3, num_features=2, slip_probability=0.2, seed=1)
    mdp = env.mdp
    expert = value_iteration(mdp, mdp.features @ jnp.array([np.cos(2.0), np.sin(2.0)])).q_values
    pairs = Pairs(jnp.arange(9, dtype=jnp.int32), jnp.argmax(expert, -1).astype(jnp.int32))
    return mdp, pairs


def test_the_cache_does_not_change_the_chain():
    """Same seed, a 1-slot cache (almost every proposal re-solved) and a 64-slot one: the
    same draws, because a cached Q* is the exact one."""
    mdp, pairs = _circle_problem()
    run = partial(sample_policy_walk_independence, beta=5.0, norm=2, num_steps=120, burn_in=40)
    z0 = jax.random.normal(jax.random.PRNGKey(4), (3, 2))
    small = run(jax.random.PRNGKey(3), mdp, pairs, z0, cache_size=1)
    large = run(jax.random.PRNGKey(3), mdp, pairs, z0, cache_size=64)
    assert int(small.exact_solves) > int(large.exact_solves)
    np.testing.assert_allclose(small.samples.weights, large.samples.weights, atol=1e-12)


def test_samples_the_posterior_on_the_circle():
    """F = 2 on the unit L2 sphere, w = (cos θ, sin θ): posterior ∝ L(w(θ)) from a
    2000-point grid; the chains' means of cos θ, sin θ must match."""
    mdp, pairs = _circle_problem()
    beta = 5.0

    def log_lik(theta):
        w = jnp.array([jnp.cos(theta), jnp.sin(theta)])
        q = value_iteration(mdp, mdp.features @ w).q_values
        return jnp.sum(jax.nn.log_softmax(beta * q, axis=-1)[pairs.states, pairs.actions])

    grid = jnp.linspace(0.0, 2 * np.pi, 2000, endpoint=False)
    logp = np.asarray(jax.jit(jax.vmap(log_lik))(grid))
    p = np.exp(logp - logp.max())
    p /= p.sum()
    out = sample_policy_walk_independence(
        jax.random.PRNGKey(3), mdp, pairs, jax.random.normal(jax.random.PRNGKey(4), (8, 2)),
        beta=beta, norm=2, num_steps=2000, burn_in=400, thinning=2)
    draws = np.asarray(out.samples.weights)
    np.testing.assert_allclose(np.linalg.norm(draws, axis=-1), 1.0, atol=1e-12)
    _check_mean(draws[..., 0], float(p @ np.cos(grid)))
    _check_mean(draws[..., 1], float(p @ np.sin(grid)))
    assert float(out.independence_accept) > 0.3
    assert bool(out.samples.all_converged)


def test_flat_likelihood_gives_the_uniform_law_on_the_l1_sphere():
    """All pair weights 0: the target is the prior, uniform (cone measure) on the L1 sphere,
    where |w| ~ Dirichlet(1, 1, 1): E w_i = 0, E w_i² = 1/6 and E max_i |w_i| = 11/18 (F = 3;
    a wrong Hastings term of the Student-t proposal or radial prior moves them)."""
    env = gridworld(3, 3, num_features=3, slip_probability=0.2, seed=2)
    pairs = Pairs(jnp.zeros(2, jnp.int32), jnp.zeros(2, jnp.int32))
    out = sample_policy_walk_independence(
        jax.random.PRNGKey(5), env.mdp, pairs, jax.random.normal(jax.random.PRNGKey(6), (8, 3)),
        beta=1.0, norm=1, num_steps=2000, burn_in=400, pair_weights=jnp.zeros(2))
    draws = np.asarray(out.samples.weights)
    np.testing.assert_allclose(np.abs(draws).sum(-1), 1.0, atol=1e-12)
    for f in range(3):
        _check_mean(draws[..., f], 0.0)
        _check_mean(draws[..., f] ** 2, 1 / 6)
    _check_mean(np.abs(draws).max(-1), 11 / 18)


@pytest.mark.parametrize("kwargs, name", [
    ({"burn_in": 3}, "burn_in"),
    ({"step_size": 0.0}, "step_size"),
    ({"independence_prob": 1.5}, "independence_prob"),
    ({"inflation": 0.5}, "inflation"),
    ({"df": 0}, "df"),
    ({"cache_size": 0}, "cache_size"),
    ({"norm": 3}, "norm"),
    ({"num_steps": 10}, "num_steps"),
])
def test_invalid_arguments(kwargs, name):
    env = gridworld(3, 3, num_features=2, slip_probability=0.2, seed=1)
    pairs = Pairs(jnp.zeros(1, jnp.int32), jnp.zeros(1, jnp.int32))
    args = {"beta": 1.0, "num_steps": 20, "burn_in": 10} | kwargs
    with pytest.raises((ValueError, TypeError), match=name):
        sample_policy_walk_independence(jax.random.PRNGKey(0), env.mdp, pairs,
                                        jnp.ones((2, 2)), **args)


def test_initial_weights_must_be_one_row_per_chain():
    env = gridworld(3, 3, num_features=2, slip_probability=0.2, seed=1)
    pairs = Pairs(jnp.zeros(1, jnp.int32), jnp.zeros(1, jnp.int32))
    with pytest.raises(ValueError, match="initial_weights"):
        sample_policy_walk_independence(jax.random.PRNGKey(0), env.mdp, pairs, jnp.ones(2),
                                        beta=1.0, num_steps=20, burn_in=10)
