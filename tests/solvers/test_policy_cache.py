"""The policy cache: Q* from the cache or from dense policy iteration equals value iteration's."""

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl.data.envs import gridworld
from bayesirl.solvers import value_iteration
from bayesirl.solvers.policy_cache import cached_q_values, exact_q_values, policy_cache_init

#: Q* agreement with value iteration (float64; VI tolerance 1e-10 relative).
Q_ATOL = 1e-7
TOL = 1e-10


def _action_features(mdp):
    return jnp.broadcast_to(mdp.features[:, None, :],
                            (mdp.num_states, mdp.num_actions, mdp.features.shape[-1]))


def test_exact_and_cached_q_equal_value_iteration():
    """Policy iteration from the all-zeros policy gives value iteration's Q*; once its policy is
    cached, the cache finds it for the same weights and agrees; for other weights the cache
    either finds an optimal policy (same Q*) or says it has none."""
    mdp = gridworld(4, 4, num_features=3, slip_probability=0.2, seed=3).mdp
    phi = _action_features(mdp)
    weights = jax.random.normal(jax.random.PRNGKey(0), (6, 3))
    exact = jax.jit(lambda w: exact_q_values(mdp, phi, w, jnp.zeros(16, jnp.int32), tol=TOL))
    cache = policy_cache_init(16, 4, 3, 4, jnp.float64)
    for w in weights[:3]:
        policy, gains, key, q, rounds, converged = exact(w)
        want = value_iteration(mdp, mdp.features @ w).q_values
        assert bool(converged) and int(rounds) >= 1
        np.testing.assert_allclose(q, want, atol=Q_ATOL)
        slot = int(cache.count)
        cache = cache._replace(policies=cache.policies.at[slot].set(policy),
                               gains=cache.gains.at[slot].set(gains),
                               keys=cache.keys.at[slot].set(key),
                               valid=cache.valid.at[slot].set(True), count=cache.count + 1)
        q_c, _, found, _ = cached_q_values(mdp, cache, w, tol=TOL)
        assert bool(found)
        np.testing.assert_allclose(q_c, want, atol=Q_ATOL)
    for w in weights[3:]:
        want = value_iteration(mdp, mdp.features @ w).q_values
        q_c, policy, found, slot = cached_q_values(mdp, cache, w, tol=TOL)
        if bool(found):
            np.testing.assert_allclose(q_c, want, atol=Q_ATOL)
        else:  # policy iteration from the cached policy, its evaluation reused
            *_, q, _, converged = exact_q_values(
                mdp, phi, w, policy, tol=TOL, gains=cache.gains[slot], key=cache.keys[slot])
            assert bool(converged)
            np.testing.assert_allclose(q, want, atol=Q_ATOL)


