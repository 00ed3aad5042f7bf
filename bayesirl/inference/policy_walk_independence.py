"""PolicyWalk with a fitted independence proposal and a cache of optimal policies (opt-in).

The posterior of BIRL over a few reward weights on the sphere is low-dimensional and, with
many demonstrations, close to a (skewed) Gaussian blob. This sampler runs C chains together on
the UNNORMALISED weights z with the radial prior of
:func:`~bayesirl.inference.policy_walk_adaptive.build_adaptive_kernel` (so the direction
``w = z / ‖z‖`` has exactly the uniform-prior posterior on the sphere) and a MIXTURE of two
Metropolis–Hastings kernels, each chosen independently of the state (so each leaves the target
invariant and so does the mixture; Tierney 1994):

* with probability ``1 − independence_prob``: a random-walk step ``z' = z + scale · L ε``;
* with probability ``independence_prob``: an independence proposal ``z' ~ t_ν(m, c² Σ)``
  (multivariate Student t) accepted with ``min(1, π(z') q(z) / (π(z) q(z')))``
  (Hastings 1970; Tierney 1994, §2.3.3).

During ``burn_in`` (discarded) the first half uses random-walk steps only, with the scale tuned
towards acceptance 0.234 and L from the pooled covariance of the chains; m and Σ are then
fitted to the pooled chain states of the second quarter, refitted at the end of burn-in from
its second half, and everything is FROZEN for the kept draws: they come from a
time-homogeneous exact MH chain.

How Q* stays exact and cheap: a cache of K optimal deterministic policies π_k, each with its
successor features Ψ^{π_k} = (I − γ P_π)^{-1} Φ_π (S, F) and the action features
``G^{π}(s, a) = φ(s, a) + γ E[Ψ^π(s') | s, a]`` (S, A, F), so that ``Q^π = G^π w`` for ANY
weights w. For a proposal w' the cached policy with the largest ``Σ_s V^π(s) = (Σ_s Ψ^π(s)) · w'``
is the optimal one if any cached policy is (V^π ≤ V* pointwise, with equality only for an optimal
policy); it is accepted as optimal when it is greedy in its own ``Q^π`` up to the policy-iteration
tolerance (the policy improvement theorem; Puterman 1994, §6.4), and then ``Q* = G^π w'``
costs O(K F + S A F). Otherwise (a policy not yet seen) exact policy iteration (Howard 1960)
with dense O(S³) solves starts from that cached policy, and its result enters the cache
(oldest entry out). Memory O(K S A F); meant for up to a few hundred states.

Batching: the C chains share the cache, so this function runs the whole batch itself (it is
not meant to be ``vmap``-ped over chains; ``vmap`` over problems turns the rare exact solves into
selects that every problem pays).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.data.mdp import MDP
from bayesirl.inference.policy_walk import (PolicyWalkSamples, check_chain_lengths,
                                           default_tolerance, reward_of)
from bayesirl.inference.policy_walk_adaptive import log_radial_prior
from bayesirl.likelihoods import DemonstrationPairs, boltzmann_log_likelihood
from bayesirl.models import project_to_sphere
from bayesirl.solvers import expected_next_values
from bayesirl.solvers._linear import dense_system

__all__ = ["PolicyCache", "cached_q_values", "exact_q_values", "policy_cache_init",
           "sample_policy_walk_independence"]

#: Default number of optimal policies kept in the cache.
DEFAULT_CACHE_SIZE = 1024
#: Default cap on policy-iteration rounds of an exact solve.
DEFAULT_MAX_ROUNDS = 64
#: Target acceptance of the random-walk component during burn-in (Roberts et al. 1997).
RW_TARGET_ACCEPT = 0.234


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


def _action_features(mdp: MDP, dtype) -> Array:
    """(S, A, F) ``φ(s, a)`` of the MDP's features (state features broadcast over actions)."""
    num_features = mdp.features.shape[-1]
    return jax.vmap(lambda e: reward_of(mdp, e), out_axes=-1)(jnp.eye(num_features, dtype=dtype))


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
        not validate: :func:`sample_policy_walk_independence` checks ``cache_size``.
    """
    S, A, F, K = num_states, num_actions, num_features, cache_size
    return PolicyCache(jnp.zeros((K, S), jnp.int32), jnp.zeros((K, S, A, F), dtype),
                       jnp.zeros((K, F), dtype), jnp.zeros((K,), bool), jnp.int32(0))


def _insert(cache: PolicyCache, policy, gains, key) -> PolicyCache:
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


class IndependenceSamples(NamedTuple):
    """Output of :func:`sample_policy_walk_independence` (C chains, D kept draws each).

    Attributes:
        samples: :class:`~bayesirl.inference.policy_walk.PolicyWalkSamples` with a leading
            chain axis: weights (C, D, F), log_likelihood (C, D), optimal_return (C, D),
            map_weights (C, F), map_policy (C, S), map_log_likelihood (C,), acceptance_rate
            (C,), max_rounds (), all_converged ().
        independence_accept: () mean acceptance probability of the independence proposals
            after burn-in.
        exact_solves: () int32 proposals whose Q* needed policy iteration (not in the cache),
            burn-in included.
        proposals: () int32 proposals evaluated (``C · num_steps``).
    """

    samples: PolicyWalkSamples
    independence_accept: Array
    exact_solves: Array
    proposals: Array


class _Chains(NamedTuple):
    z: Array  # (C, F) unnormalised weights
    log_lik: Array  # (C,)
    log_target: Array  # (C,) log likelihood + log radial prior
    policy: Array  # (C, S)
    optimal_return: Array  # (C,)


class _Proposal(NamedTuple):
    mean: Array  # (F,) centre of the independence proposal
    chol: Array  # (F, F) Cholesky factor of its scale matrix
    inv_chol: Array  # (F, F) its inverse
    rw_chol: Array  # (F, F) random-walk direction factor
    log_scale: Array  # () random-walk log step scale
    moments: tuple  # pooled (Σ z, Σ z zᵀ, n) of the current fitting window


class _Run(NamedTuple):
    chains: _Chains
    cache: PolicyCache
    proposal: _Proposal
    map_log_lik: Array
    map_weights: Array
    map_policy: Array
    accept_sum: Array
    ind_accept: Array  # (2,) summed acceptance and count of independence moves (kept part)
    max_rounds: Array
    all_converged: Array
    exact_solves: Array


def _log_t(z, mean, inv_chol, df):
    """log density of the multivariate t_ν(mean, L Lᵀ) at z (..., F), up to a constant, from
    ``inv_chol`` = L⁻¹."""
    x = (z - mean) @ inv_chol.T
    return -0.5 * (df + z.shape[-1]) * jnp.log1p(jnp.sum(x * x, axis=-1) / df)


def _fit(moments, dtype, inflation):
    """(mean, Cholesky of inflation² · regularised covariance) of pooled moments."""
    total, outer, n = moments
    mean = total / n
    cov = outer / n - jnp.outer(mean, mean)
    eye = jnp.eye(mean.shape[0], dtype=dtype)
    cov = cov * (n / (n + 5.0)) + 1e-3 * (5.0 / (n + 5.0)) * eye  # Stan's regularisation
    return mean, inflation * jnp.linalg.cholesky(cov + 1e-9 * eye)


def _empty_moments(F, dtype):
    return jnp.zeros(F, dtype), jnp.zeros((F, F), dtype), jnp.zeros((), dtype)


def _exact_fallback(mdp, phi_sa, cache, weights, q, policy, found, slot, *, tol, max_rounds):
    """Exact Q* (policy iteration from the best cached policy) for the proposals (C, F) the
    cache did not cover, one by one; each result enters the cache. Returns ``(cache, q, policy,
    max rounds, all converged, number of solves)``."""
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
        return (j + 1, _insert(cache, pol, gains, key), q.at[i].set(q_i),
                policy.at[i].set(pol), jnp.maximum(rounds, r), conv & c)

    num = jnp.sum(~found).astype(jnp.int32)
    _, cache, q, policy, rounds, conv = lax.while_loop(
        lambda carry: carry[0] < num, body,
        (jnp.int32(0), cache, q, policy, jnp.int32(0), jnp.bool_(True)))
    return cache, q, policy, rounds, conv, num


class _Noise(NamedTuple):
    """Random numbers of one step for C chains, drawn for the whole run at once (no PRNG
    inside the loop: smaller program, faster compile)."""

    walk: Array  # (C, F) standard normal
    draw: Array  # (C, F) standard normal
    chi: Array  # (C, ν) standard normal
    kind: Array  # (C,) uniform
    accept: Array  # (C,) uniform


def _noise(rng_key, num_steps, num_chains, num_features, df, dtype) -> _Noise:
    k_normal, k_uniform = jax.random.split(rng_key)
    F = num_features
    normal = jax.random.normal(k_normal, (num_steps, num_chains, 2 * F + df), dtype)
    uniform = jax.random.uniform(k_uniform, (num_steps, num_chains, 2), dtype)
    return _Noise(normal[..., :F], normal[..., F:2 * F], normal[..., 2 * F:], uniform[..., 0],
                  uniform[..., 1])


def _propose(noise: _Noise, chains, proposal, independence_prob, df, walk_scale):
    """(C, F) proposals and (C,) bool "independence move" (else random walk)."""
    independent = noise.kind < independence_prob
    walk = chains.z + walk_scale * (noise.walk @ proposal.rw_chol.T)
    # χ²_ν as a sum of ν squared normals (ν integer): jax.random.gamma costs ~2 s of compile.
    chi2 = jnp.sum(noise.chi ** 2, axis=-1)
    draw = proposal.mean + (noise.draw @ proposal.chol.T) * jnp.sqrt(df / chi2)[:, None]
    return jnp.where(independent[:, None], draw, walk), independent


def _build_step(mdp, pairs, pair_weights, phi_sa, *, beta, norm, tol, max_rounds, df,
                inflation, independence_prob, burn_in):
    """One transition of all chains: ``(run, (noise, t)) -> (run, (weights, log_lik, return))``."""
    half = burn_in // 2
    p0 = mdp.initial_distribution.astype(phi_sa.dtype)

    def evaluate(cache, z):
        w = project_to_sphere(z, norm)
        q, policy, found, slot = jax.vmap(lambda x: cached_q_values(mdp, cache, x, tol=tol))(w)
        return _exact_fallback(mdp, phi_sa, cache, w, q, policy, found, slot, tol=tol,
                               max_rounds=max_rounds)

    def step(run: _Run, inputs):
        noise, t = inputs
        chains, prop = run.chains, run.proposal
        dtype = chains.z.dtype
        # Step 0 re-evaluates the starting points in place (log target −∞ before: accepted).
        z_new, independent = _propose(noise, chains, prop,
                                      jnp.where(t < half, 0.0, independence_prob), df,
                                      jnp.where(t == 0, 0.0, jnp.exp(prop.log_scale)))
        cache, q, policy, rounds, conv, solves = evaluate(run.cache, z_new)
        log_lik = jax.vmap(lambda x: boltzmann_log_likelihood(beta * x, pairs, pair_weights))(q)
        log_target = log_lik + log_radial_prior(z_new, norm)
        hastings = jnp.where(independent, _log_t(chains.z, prop.mean, prop.inv_chol, df)
                             - _log_t(z_new, prop.mean, prop.inv_chol, df), 0.0)
        log_ratio = log_target - chains.log_target + hastings
        log_ratio = jnp.where(jnp.isnan(log_ratio), -jnp.inf, log_ratio)
        log_ratio = jnp.where(jnp.isneginf(chains.log_target), 0.0, log_ratio)
        accept_prob = jnp.exp(jnp.minimum(log_ratio, 0.0))
        accepted = noise.accept < accept_prob
        values = jnp.take_along_axis(q, policy[..., None], axis=-1)[..., 0]
        new = _Chains(z_new, log_lik, log_target, policy, values @ p0)
        chains = jax.tree.map(
            lambda a, b: jnp.where(accepted.reshape(accepted.shape + (1,) * (a.ndim - 1)), a, b),
            new, chains)
        prop = _adapt(prop, chains.z, accept_prob, independent, t, half, burn_in, inflation)
        kept = t >= burn_in
        better = kept & (chains.log_lik > run.map_log_lik)
        w = project_to_sphere(chains.z, norm)
        ind_accept = run.ind_accept + jnp.where(kept, jnp.stack([
            jnp.sum(jnp.where(independent, accept_prob, 0.0)),
            jnp.sum(independent).astype(dtype)]), 0.0)
        run = _Run(chains, cache, prop, jnp.where(better, chains.log_lik, run.map_log_lik),
                   jnp.where(better[:, None], w, run.map_weights),
                   jnp.where(better[:, None], chains.policy, run.map_policy),
                   run.accept_sum + jnp.where(kept, accept_prob, 0.0), ind_accept,
                   jnp.maximum(run.max_rounds, rounds), run.all_converged & conv,
                   run.exact_solves + solves)
        return run, (w, chains.log_lik, chains.optimal_return)

    return step


def _adapt(prop: _Proposal, z, accept_prob, independent, t, half, burn_in, inflation):
    """Burn-in adaptation (a no-op from step ``burn_in`` on): Robbins–Monro on the random-walk
    scale; pooled moments of the chain states over [half/2, half) and [3·half/2, burn_in);
    refits of the independence proposal (and the random-walk direction) at the window ends."""
    dtype = z.dtype
    F = z.shape[-1]
    walk = ~independent
    rw_acc = jnp.sum(jnp.where(walk, accept_prob, 0.0)) / jnp.maximum(jnp.sum(walk), 1)
    gain = jnp.where((t > 0) & (t < burn_in), 1.0 / jnp.sqrt(1.0 + t.astype(dtype)), 0.0)
    log_scale = prop.log_scale + gain * (rw_acc - RW_TARGET_ACCEPT)
    in_window = ((t >= half // 2) & (t < half)) | ((t >= half + (burn_in - half) // 2)
                                                  & (t < burn_in))
    total, outer, n = prop.moments
    add = jnp.where(in_window, 1.0, 0.0).astype(dtype)
    moments = (total + add * z.sum(0), outer + add * (z.T @ z), n + add * z.shape[0])
    refit = (t == half - 1) | (t == burn_in - 1)

    def do_refit(_):
        mean, chol = _fit(moments, dtype, inflation)
        inv_chol = jax.scipy.linalg.solve_triangular(chol, jnp.eye(F, dtype=dtype), lower=True)
        return _Proposal(mean, chol, inv_chol, chol / inflation,
                         jnp.asarray(jnp.log(2.38 / jnp.sqrt(F)), dtype), _empty_moments(F, dtype))

    return lax.cond(refit, do_refit, lambda _: prop._replace(log_scale=log_scale, moments=moments),
                    None)


def sample_policy_walk_independence(
    rng_key: PRNGKey, mdp: MDP, pairs: DemonstrationPairs, initial_weights: Array, *, beta,
    num_steps: int, burn_in: int, thinning: int = 1, norm: int = 2,
    independence_prob: float = 0.8, df: int = 7, inflation: float = 1.15,
    step_size: float = 0.3, pair_weights: Array | None = None,
    cache_size: int = DEFAULT_CACHE_SIZE, tol: float | None = None,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
) -> IndependenceSamples:
    """Run C PolicyWalk chains with a burn-in-fitted independence proposal (module docstring).

    Target (exact): on z ∈ R^F, ``π(z) ∝ p(z) · L(z / ‖z‖)`` with the radial prior of
    :func:`~bayesirl.inference.policy_walk_adaptive.build_adaptive_kernel`, whose direction
    marginal is the uniform-prior posterior on the unit L1/L2 sphere times the Boltzmann
    likelihood over hard Q* (Ramachandran & Amir 2007, Eq. 2–3). Kept draws are the states
    after steps ``burn_in + thinning − 1, burn_in + 2·thinning − 1, …`` (0-based).

    Args:
        rng_key: PRNG key.
        mdp: the MDP (features (S, F) or (S, A, F)).
        pairs: P demonstration pairs.
        initial_weights: (C, F) starting weights, one row per chain (e.g. prior draws).
        beta: rationality β > 0.
        num_steps: transitions per chain, burn-in included.
        burn_in: discarded adaptation steps, >= 4.
        thinning: keep every ``thinning``-th state.
        norm: 1 or 2, the sphere of the weights.
        independence_prob: probability of an independence move (after the first half of
            burn-in), in [0, 1].
        df: degrees of freedom ν >= 1 (integer) of the Student-t independence proposal.
        inflation: factor c >= 1 on the fitted standard deviations of the proposal.
        step_size: initial random-walk scale (weight units), > 0.
        pair_weights: (P,) pair multiplicities; default ones.
        cache_size: K, optimal policies kept (memory K·S·A·F floats).
        tol: relative improvement threshold of the optimality test; default by dtype.
        max_rounds: cap on policy-iteration rounds of one exact solve.

    Returns:
        :class:`IndependenceSamples`.

    Raises:
        ValueError: ``initial_weights`` not (C, F); bad lengths (as
            :func:`~bayesirl.inference.policy_walk.sample_policy_walk`), ``burn_in`` < 4;
            ``norm`` not 1 or 2; ``beta``, ``step_size`` not > 0;
            ``df`` not an integer >= 1; ``inflation`` < 1;
            ``independence_prob`` not in [0, 1]; ``cache_size`` or ``max_rounds`` < 1.
    """
    check_scalar(burn_in, "burn_in", low=4, integer=True)
    num_steps, burn_in, thinning, _, num_kept = check_chain_lengths(num_steps, burn_in, thinning,
                                                                    refresh_every=1)
    if norm not in (1, 2):
        raise ValueError(f"norm: expected 1 or 2, got {norm!r}")
    for name, value in (("beta", beta), ("step_size", step_size)):
        check_scalar(value, name, low=0.0, low_open=True)
    df = check_scalar(df, "df", low=1, integer=True)
    check_scalar(inflation, "inflation", low=1.0)
    check_scalar(independence_prob, "independence_prob", low=0.0, high=1.0)
    cache_size = check_scalar(cache_size, "cache_size", low=1, integer=True)
    max_rounds = check_scalar(max_rounds, "max_rounds", low=1, integer=True)
    dtype = mdp.next_probs.dtype
    z0 = jnp.asarray(initial_weights, dtype)
    if z0.ndim != 2 or z0.shape[1] != mdp.features.shape[-1]:
        raise ValueError(f"initial_weights: expected shape (C, {mdp.features.shape[-1]}), got "
                         f"{tuple(z0.shape)}")
    pair_weights = jnp.asarray(jnp.ones(pairs.states.shape, dtype) if pair_weights is None
                               else pair_weights, dtype)
    tol = default_tolerance(dtype) if tol is None else tol
    run = _initial_run(project_to_sphere(z0, norm), mdp.num_states, mdp.num_actions, norm=norm,
                       cache_size=cache_size, step_size=step_size)
    step = _build_step(mdp, pairs, pair_weights, _action_features(mdp, dtype), beta=beta,
                       norm=norm, tol=tol, max_rounds=max_rounds, df=df, inflation=inflation,
                       independence_prob=independence_prob, burn_in=burn_in)
    noise = _noise(rng_key, num_steps, z0.shape[0], z0.shape[1], df, dtype)
    run, (w, log_lik, opt_return) = lax.scan(step, run, (noise, jnp.arange(num_steps)))
    idx = burn_in + thinning - 1 + thinning * jnp.arange(num_kept)
    samples = PolicyWalkSamples(
        weights=jnp.swapaxes(w[idx], 0, 1), log_likelihood=log_lik[idx].T,
        optimal_return=opt_return[idx].T, map_weights=run.map_weights,
        map_policy=run.map_policy, map_log_likelihood=run.map_log_lik,
        acceptance_rate=run.accept_sum / (num_steps - burn_in), max_rounds=run.max_rounds,
        all_converged=run.all_converged)
    return IndependenceSamples(samples, run.ind_accept[0] / jnp.maximum(run.ind_accept[1], 1),
                               run.exact_solves, jnp.int32(num_steps * z0.shape[0]))


def _initial_run(w0, num_states, num_actions, *, norm, cache_size, step_size) -> _Run:
    """Chains at ``w0`` (C, F) with log target −∞ (step 0 re-evaluates them in place and always
    accepts) and an empty policy cache."""
    dtype = w0.dtype
    C, F = w0.shape
    cache = policy_cache_init(num_states, num_actions, F, cache_size, dtype)
    policy = jnp.zeros((C, num_states), jnp.int32)
    minus_inf = jnp.full((C,), -jnp.inf, dtype)
    chains = _Chains(w0, minus_inf, minus_inf, policy, jnp.zeros((C,), dtype))
    eye = jnp.eye(F, dtype=dtype)
    proposal = _Proposal(jnp.zeros(F, dtype), eye, eye, eye, jnp.asarray(jnp.log(step_size), dtype),
                         _empty_moments(F, dtype))
    return _Run(chains, cache, proposal, minus_inf, w0, policy, jnp.zeros((C,), dtype),
                jnp.zeros(2, dtype), jnp.int32(0), jnp.bool_(True), jnp.int32(0))
