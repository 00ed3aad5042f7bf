"""A cache of optimal deterministic policies whose successor features make Q* of ANY reward
weights a look-up: the Q* oracle of PolicyWalk's independence proposal.

A cache holds K optimal deterministic policies π_k, each with its successor features
Ψ^{π_k} = (I − γ P_π)^{-1} Φ_π (S, F) and the action features
``G^{π}(s, a) = φ(s, a) + γ E[Ψ^π(s') | s, a]`` (S, A, F), so that ``Q^π = G^π w`` for any
weights w. For weights w' the cached policy with the largest ``Σ_s V^π(s) = (Σ_s Ψ^π(s)) · w'``
is the optimal one if any cached policy is (V^π ≤ V* pointwise, with equality only for an
optimal policy); it is accepted as optimal when it is greedy in its own ``Q^π`` up to the
policy-iteration tolerance (the policy improvement theorem; Puterman 1994, §6.4), and then
``Q* = G^π w'`` costs O(K F + S A F). Otherwise (a policy not yet seen) exact policy iteration
(Howard 1960) with dense O(S³) solves starts from that cached policy, and its result enters the
cache (oldest entry out). Memory O(K S A F); meant for up to a few hundred states.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from bayesirl._typing import Array
from bayesirl.data.mdp import MDP, reward_from_weights, state_action_reward
from bayesirl.solvers._linear import dense_system, expected_next_values

__all__ = ["DEFAULT_CACHE_SIZE", "DEFAULT_MAX_ROUNDS", "PolicyCache", "action_features",
           "cached_or_exact_q_values", "cached_q_values", "exact_q_values", "insert_policy",
           "policy_cache_init"]

#: Default number of optimal policies kept in the cache.
DEFAULT_CACHE_SIZE = 1024
#: Default cap on policy-iteration rounds of an exact solve.
DEFAULT_MAX_ROUNDS = 64


class PolicyCache(NamedTuple):
    """K optimal deterministic policies with what makes ``Q^π`` linear in the weights.

    Attributes:
        policies: (K, S) int32 policies.
        gains: (K, S, A, F) action features ``G^π``: ``Q^π = G^π @ w``.
        keys: (K, F) ``Σ_s Ψ^π(s)``: ``Σ_s V^π(s) = keys @ w``.
        valid: (K,) bool, the slot holds a policy.
        count: () int32 policies inserted so far (the next slot is ``count % K``).
    """

    policies: Array
    gains: Array
    keys: Array
    valid: Array
    count: Array


def action_features(mdp: MDP, dtype) -> Array:
    """(S, A, F) ``φ(s, a)`` of the MDP's features (state features broadcast over actions)."""
    num_features = mdp.features.shape[-1]
    return jax.vmap(lambda e: state_action_reward(mdp, reward_from_weights(mdp, e)),
                    out_axes=-1)(jnp.eye(num_features, dtype=dtype))


def _policy_gains(mdp: MDP, phi_sa: Array, policy: Array) -> tuple[Array, Array]:
    """Successor features Ψ^π (S, F) by one dense solve and the action features G^π (S, A, F)."""
    dtype = phi_sa.dtype
    system = dense_system(mdp, jax.nn.one_hot(policy, mdp.num_actions, dtype=dtype))
    phi_pi = jnp.take_along_axis(phi_sa, policy[:, None, None], axis=1)[:, 0]
    psi = jnp.linalg.solve(system, phi_pi)
    next_psi = jax.vmap(lambda v: expected_next_values(mdp, v), in_axes=1, out_axes=-1)(psi)
    return psi, phi_sa + mdp.discount.astype(dtype) * next_psi


def _greedy_gap(mdp: MDP, q: Array, policy: Array, tol) -> Array:
    """(S,) bool: the states where some action improves on ``policy`` (under ``q`` = Q^π) by
    more than ``tol · (1 + max|V^π|)``."""
    current = jnp.take_along_axis(q, policy[:, None], axis=1)[:, 0]
    gap = jnp.where(mdp.terminal, 0.0, jnp.max(q, axis=-1) - current)
    return gap > tol * (1.0 + jnp.max(jnp.abs(current)))


def exact_q_values(mdp: MDP, phi_sa: Array, weights: Array, policy: Array, *, tol,
                   max_rounds: int = DEFAULT_MAX_ROUNDS, gains: Array | None = None,
                   key: Array | None = None, known=True):
    """Policy iteration (Howard 1960) from ``policy`` with dense solves, for reward ``φ w``.

    Args:
        mdp: the MDP.
        phi_sa: (S, A, F) action features.
        weights: (F,) reward weights.
        policy: (S,) int32 starting deterministic policy.
        tol: relative improvement threshold (switch when the gain > tol · (1 + max|V|)).
        max_rounds: cap on rounds (dense solves).
        gains, key: optional (S, A, F) G^π and (F,) ``Σ_s Ψ^π(s)`` of the starting policy
            (e.g. from the cache): its evaluation is then skipped.
        known: () bool, whether ``gains`` and ``key`` are valid (a traced flag; ignored when
            they are None).

    Returns:
        ``(policy, gains, key, q_values, rounds, converged)``: (S,) optimal policy, (S, A, F)
        its G^π, (F,) its ``Σ_s Ψ^π(s)``, (S, A) Q*, () int32 solves, () bool no state
        improves (else ``max_rounds`` stopped it and Q is that of the last policy evaluated).
    """
    S, A, F = phi_sa.shape
    dtype = phi_sa.dtype

    def improve(policy, gains):
        q = gains @ weights
        better = _greedy_gap(mdp, q, policy, tol)
        return jnp.where(better, jnp.argmax(q, axis=-1).astype(policy.dtype), policy), better

    def body(carry):  # evaluate the policy, then improve it (one dense solve per round)
        policy, _, _, _, rounds, _ = carry
        psi, gains = _policy_gains(mdp, phi_sa, policy)
        improved, better = improve(policy, gains)
        return improved, policy, gains, psi.sum(0), rounds + 1, jnp.any(better)

    if gains is None:
        start = (policy, policy, jnp.zeros((S, A, F), dtype), jnp.zeros(F, dtype), jnp.int32(0),
                 jnp.bool_(True))
    else:
        improved, better = improve(policy, gains)
        known = jnp.asarray(known)
        start = (jnp.where(known, improved, policy), policy, gains, key, jnp.int32(0),
                 ~known | jnp.any(better))
    _, policy, gains, key, rounds, improving = lax.while_loop(
        lambda carry: (carry[4] < max_rounds) & carry[5], body, start)
    # ``policy`` is the last EVALUATED one (optimal unless the cap stopped the loop).
    return policy, gains, key, gains @ weights, rounds, ~improving


def policy_cache_init(num_states: int, num_actions: int, num_features: int,
                      cache_size: int, dtype) -> PolicyCache:
    """An empty cache of ``cache_size`` slots for S states, A actions and F features.

    Args:
        num_states, num_actions, num_features: S, A, F.
        cache_size: K slots (memory K·S·A·F floats of ``dtype``).
        dtype: floating dtype of the gains and keys.

    Returns:
        :class:`PolicyCache` with every slot empty (``valid`` all False, ``count`` 0). Does
        not validate: callers check ``cache_size``.
    """
    S, A, F, K = num_states, num_actions, num_features, cache_size
    return PolicyCache(jnp.zeros((K, S), jnp.int32), jnp.zeros((K, S, A, F), dtype),
                       jnp.zeros((K, F), dtype), jnp.zeros((K,), bool), jnp.int32(0))


def insert_policy(cache: PolicyCache, policy: Array, gains: Array, key: Array) -> PolicyCache:
    """The cache with ``(policy (S,), gains (S, A, F), key (F,))`` written into the next slot
    (``count % K``: the oldest entry leaves once the cache is full)."""
    slot = cache.count % cache.valid.shape[0]
    return PolicyCache(cache.policies.at[slot].set(policy), cache.gains.at[slot].set(gains),
                       cache.keys.at[slot].set(key), cache.valid.at[slot].set(True),
                       cache.count + 1)


def _argmax(scores: Array, block: int = 64) -> Array:
    """``argmax`` of (K,) scores in two stages over blocks (XLA's CPU argmax, a variadic
    reduction, was ~6× slower than max + a short argmax at K = 4096)."""
    K = scores.shape[0]
    if K % block or K <= 4 * block:
        return jnp.argmax(scores)
    blocks = scores.reshape(K // block, block)
    b = jnp.argmax(jnp.max(blocks, axis=1))
    return b * block + jnp.argmax(blocks[b])


def cached_q_values(mdp: MDP, cache: PolicyCache, weights: Array, *, tol):
    """Q* of ``weights`` (F,) from the cache when a cached policy is optimal.

    Among the cached policies the one with the largest ``Σ_s V^π(s)`` is optimal if any is (the
    optimal policy's values dominate every other policy's state by state); it is accepted
    only when it is greedy in its own ``Q^π`` up to the relative tolerance ``tol`` (Howard
    1960: then ``Q^π = Q*``).

    Args:
        mdp: the MDP (S states, A actions).
        cache: :class:`PolicyCache` (F features).
        weights: (F,) reward weights.
        tol: relative improvement threshold of the optimality test.

    Returns:
        ``(q_values (S, A), policy (S,), found (), slot ())``: when ``found`` is False the cache
        holds no optimal policy and ``q_values`` is only ``Q^π`` of the best cached policy π
        (in ``slot``; an empty slot when the cache is empty).
    """
    k = _argmax(jnp.where(cache.valid, cache.keys @ weights, -jnp.inf))
    policy = cache.policies[k]
    q = cache.gains[k] @ weights
    return q, policy, cache.valid[k] & ~jnp.any(_greedy_gap(mdp, q, policy, tol)), k


def cached_or_exact_q_values(mdp: MDP, phi_sa: Array, cache: PolicyCache, weights: Array, *,
                             tol, max_rounds: int = DEFAULT_MAX_ROUNDS):
    """Q* of C weight vectors: from the cache where a cached policy is optimal, else by exact
    policy iteration started from the best cached policy, one proposal at a time (each result
    enters the cache, so a later proposal of the same batch may already find it).

    Args:
        mdp: the MDP.
        phi_sa: (S, A, F) action features (:func:`action_features`).
        cache: :class:`PolicyCache`.
        weights: (C, F) reward weights.
        tol: relative improvement threshold of the optimality test and of policy iteration.
        max_rounds: cap on the rounds of one exact solve.

    Returns:
        ``(cache, q_values (C, S, A), policy (C, S), rounds (), converged (), solves ())``:
        the updated cache, Q* and the optimal policies, the largest number of policy-iteration
        rounds of an exact solve, whether every exact solve converged, and how many were needed.
    """
    q, policy, found, slot = jax.vmap(lambda w: cached_q_values(mdp, cache, w, tol=tol))(weights)
    todo = jnp.nonzero(~found, size=found.shape[0], fill_value=0)[0]

    def body(carry):
        j, cache, q, policy, rounds, conv = carry
        i = todo[j]
        # Start from the cached policy in the slot found, reusing its evaluation (one solve
        # less); read it from the CURRENT cache, which an earlier insert of this loop may have
        # overwritten: policy, gains and key of a slot always belong together.
        k = slot[i]
        pol, gains, key, q_i, r, c = exact_q_values(
            mdp, phi_sa, weights[i], cache.policies[k], tol=tol, max_rounds=max_rounds,
            gains=cache.gains[k], key=cache.keys[k], known=cache.valid[k])
        return (j + 1, insert_policy(cache, pol, gains, key), q.at[i].set(q_i),
                policy.at[i].set(pol), jnp.maximum(rounds, r), conv & c)

    num = jnp.sum(~found).astype(jnp.int32)
    _, cache, q, policy, rounds, conv = lax.while_loop(
        lambda carry: carry[0] < num, body,
        (jnp.int32(0), cache, q, policy, jnp.int32(0), jnp.bool_(True)))
    return cache, q, policy, rounds, conv, num
