"""PolicyWalk: Metropolis–Hastings over reward weights on the unit sphere with exact hard-max
Q*, one kernel with three proposals.

Ramachandran & Amir (IJCAI 2007, Alg. "PolicyWalk") walk over rewards and re-solve the MDP
starting from the current optimal policy, because a small step rarely changes much; Brown &
Niekum (AAAI 2018) keep the weights on the unit L1 sphere and use a Boltzmann likelihood over
hard Q*. The target is always theirs — a uniform prior on the unit L1 or L2 sphere times
``Π_(s,a) exp(β Q*_w(s, a)) / Σ_b exp(β Q*_w(s, b))`` (Eq. 2–3 of the paper) — and the kernel
(:func:`policy_walk`, blackjax-style ``init`` + ``step``) differs only in its proposal:

* ``"sphere"`` — Brown & Niekum's ``w' = normalise(w + h ε)`` on the sphere (fixed h);
  symmetric on the L2 sphere, only approximately so on the L1 sphere, where we, like them,
  accept with the likelihood ratio alone;
* ``"adaptive"`` — ``z' = z + h L ε`` on the UNNORMALISED weights z, with h and a dense L
  adapted per chain during burn-in (:mod:`bayesirl.inference.adaptation`) and then frozen;
* ``"independence"`` — a state-independent mixture (Tierney 1994) of that random walk and a
  Student-t independence proposal fitted to the pooled chain states during burn-in; fastest on
  a few features (ESS per step ~0.3 on Brown's gridworlds).

The last two walk on ``z ∈ R^F`` with target ``π(z) ∝ p(z) · L(z / ‖z‖)``,
``p(z) = p_r(‖z‖) / ‖z‖^{F−1}`` and ``log ‖z‖ ~ N(0, RADIAL_LOG_SD²)``. Writing ``z = r w``,
``dz ∝ r^{F−1} dr dσ(w)`` (σ: surface measure for L2, cone measure for L1), so
``π(r, w) ∝ p_r(r) · L(w)``: the radius is independent of w and w's marginal is exactly the
uniform-prior posterior on the sphere (:func:`log_radial_prior`).

How Q* stays exact and cheap (the "Q* oracle"): the sphere and adaptive proposals keep, per
chain, the current optimal policy π and ``(I − γ P_π)^{-1}`` and find a proposal's Q* by
policy iteration from π with Woodbury updates
(:func:`bayesirl.solvers.warm_policy_iteration.warm_policy_iteration`; O(S²) memory per
chain, up to a few thousand states); the independence proposal shares among the chains a cache
of optimal policies with their successor features
(:mod:`bayesirl.solvers.policy_cache`; up to a few hundred states). The chains are a batch
(C, ...) because the cache is shared; the chain loop is :func:`bayesirl.inference.chain.run_chain`
and the accept step :func:`bayesirl.inference.accept.metropolis_accept`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.data.mdp import MDP, reward_from_weights, state_action_reward
from bayesirl.inference.accept import log_uniform, metropolis_accept, select
from bayesirl.inference.adaptation import (
    adapt_init,
    build_adaptation,
    fit_gaussian,
    moments_init,
    moments_update,
    robbins_monro_log_scale,
)
from bayesirl.inference.chain import (
    ChainStats,
    check_chain_lengths,
    run_chain,
    stats_init,
    stats_reset,
    stats_update,
)
from bayesirl.inference.proposals import (
    gaussian_step,
    mixture_choice,
    sphere_step,
    student_t_draw,
    student_t_log_density,
)
from bayesirl.likelihoods import DemonstrationPairs, boltzmann_log_likelihood
from bayesirl.models import project_to_sphere
from bayesirl.solvers import value_iteration
from bayesirl.solvers._linear import tolerances
from bayesirl.solvers.policy_cache import (
    DEFAULT_CACHE_SIZE,
    action_features,
    cached_or_exact_q_values,
    policy_cache_init,
)
from bayesirl.solvers.warm_policy_iteration import (
    evaluate_with_inverse,
    policy_inverse,
    warm_policy_iteration,
)

__all__ = [
    "DEFAULT_MAX_ROUNDS",
    "DEFAULT_MAX_SWITCHES",
    "DEFAULT_REFRESH_EVERY",
    "PROPOSALS",
    "RADIAL_LOG_SD",
    "IndependenceSamples",
    "PolicyWalk",
    "PolicyWalkSamples",
    "PolicyWalkState",
    "log_radial_prior",
    "policy_walk",
    "sample_policy_walk",
    "sample_policy_walk_adaptive",
    "sample_policy_walk_independence",
]

#: Proposals of :func:`policy_walk`.
PROPOSALS = ("sphere", "adaptive", "independence")
#: Default number of states switched per policy-iteration round (Woodbury block size k).
DEFAULT_MAX_SWITCHES = 8
#: Default cap on policy-iteration rounds per proposal.
DEFAULT_MAX_ROUNDS = 64
#: Steps between recomputations of (I − γ P_π)^{-1} from scratch (round-off control).
DEFAULT_REFRESH_EVERY = 1000
#: Standard deviation s of log ‖z‖ under the radial prior of the adaptive and independence
#: proposals.
RADIAL_LOG_SD = 0.25
#: Target acceptance of the random-walk moves (Roberts, Gelman & Gilks 1997).
RW_TARGET_ACCEPT = 0.234
#: The vmap axis of the chains inside the Woodbury oracle (one shared loop condition).
_CHAINS = "policy_walk_chains"


def log_radial_prior(z: Array, norm: int) -> Array:
    """log p(z) of z (..., F), shape (...), up to a constant, for ``log ‖z‖ ~ N(0, s²)`` and
    ``z / ‖z‖`` uniform (cone measure for L1): ``p(z) = p_r(r) / r^{F−1}`` with ``p_r``
    log-normal, so ``log p(z) = −(log r)² / (2 s²) − F log r`` (s = :data:`RADIAL_LOG_SD`)."""
    log_r = jnp.log(jnp.linalg.norm(z, ord=norm, axis=-1))
    return -0.5 * (log_r / RADIAL_LOG_SD) ** 2 - z.shape[-1] * log_r


def _reward_of(mdp: MDP, weights: Array) -> Array:
    """(S, A) reward ``φ w`` of the weights (F,)."""
    return state_action_reward(mdp, reward_from_weights(mdp, weights))


def _default_tolerance(dtype) -> float:
    """Policy-switch tolerance by dtype (1e-5 float32, 1e-10 float64)."""
    return tolerances(dtype, None, None)[0]


class PolicyWalkState(NamedTuple):
    """State of C PolicyWalk chains (every leaf has a leading axis C but the shared cache).

    Attributes:
        z: (C, F) position: unit weights (sphere proposal) or unnormalised weights.
        log_likelihood: (C,) Boltzmann log-likelihood of the demonstrations (nats).
        log_target: (C,) log target of z (log-likelihood, plus the radial prior off the sphere).
        policy: (C, S) int32 optimal deterministic policy of the weights ``z / ‖z‖``.
        optimal_return: (C,) ``p0 · V*`` of the weights (reward units).
        oracle: the Q* oracle's state: ``(inverse (C, S, S), q_values (C, S, A))`` of the
            Woodbury solver, or the shared :class:`~bayesirl.solvers.policy_cache.PolicyCache`
            with the (S, A, F) action features.
    """

    z: Array
    log_likelihood: Array
    log_target: Array
    policy: Array
    optimal_return: Array
    oracle: Any


class _Carry(NamedTuple):
    state: PolicyWalkState
    adapt: Any  # the proposal's adaptation state
    stats: ChainStats
    independent: Array  # (2,) summed acceptance and count of independence moves (kept part)


class _Fitted(NamedTuple):
    """Independence proposal fitted to the pooled chains (and the random walk's direction)."""

    mean: Array  # (F,)
    chol: Array  # (F, F)
    inv_chol: Array  # (F, F)
    rw_chol: Array  # (F, F)
    log_scale: Array  # () random-walk log step scale
    moments: tuple  # pooled moments of the current fitting window


class PolicyWalk(NamedTuple):
    """A PolicyWalk kernel: ``init(weights, mdp, pairs, pair_weights) -> carry`` and
    ``step(carry, (rng_key, t), mdp, pairs, pair_weights) -> carry``, pure and jit-compatible,
    with ``samples(carry)`` reading what a chain records (see :func:`policy_walk`)."""

    init: Callable
    step: Callable
    record: Callable
    end_warmup: Callable


class PolicyWalkSamples(NamedTuple):
    """Draws of PolicyWalk chains (D kept draws; C chains, the C axis absent for one chain
    given as (F,) weights).

    Attributes:
        weights: (C, D, F) kept weights on the unit sphere.
        log_likelihood: (C, D) their log-likelihoods.
        optimal_return: (C, D) ``ρ(π*_w, w) = p0 · V*_w``, to compute EVDs without re-solving.
        map_weights: (C, F) the weights with the largest log-likelihood seen after burn-in (the
            MAP under the uniform prior), over every step, not only kept ones.
        map_policy: (C, S) int32 their optimal policy.
        map_log_likelihood: (C,).
        acceptance_rate: (C,) mean acceptance probability after burn-in.
        max_rounds: () int32 largest number of policy-iteration rounds of any proposal of the
            batch.
        all_converged: () bool, every proposal's policy iteration converged.
    """

    weights: Array
    log_likelihood: Array
    optimal_return: Array
    map_weights: Array
    map_policy: Array
    map_log_likelihood: Array
    acceptance_rate: Array
    max_rounds: Array
    all_converged: Array


class IndependenceSamples(NamedTuple):
    """What :func:`sample_policy_walk_independence` returns.

    Attributes:
        samples: :class:`PolicyWalkSamples` (C chains).
        independence_accept: () mean acceptance probability of the independence proposals
            after burn-in.
        exact_solves: () int32 proposals whose Q* needed policy iteration (not in the cache),
            burn-in included.
        proposals: () int32 proposals evaluated (C × the transitions run: ``burn_in +
            D · thinning``).
    """

    samples: PolicyWalkSamples
    independence_accept: Array
    exact_solves: Array
    proposals: Array


# ---------------------------------------------------------------------------------------------
# The Q* oracles
# ---------------------------------------------------------------------------------------------


def _woodbury_oracle(mdp, *, tol, max_switches, max_rounds, axis_name):
    """(init, solve, refresh) of the per-chain Woodbury policy iteration (vmapped, one loop
    condition for the batch and any enclosing ``axis_name``)."""
    k = min(max_switches, mdp.num_states)
    axes = _CHAINS if axis_name is None else (_CHAINS, axis_name)
    solve_one = partial(warm_policy_iteration, tol=tol, max_switches=k, max_rounds=max_rounds,
                        axis_name=axes)

    def init(weights):
        dtype = weights.dtype

        def one(w):
            reward_sa = _reward_of(mdp, w)
            policy = jnp.argmax(value_iteration(mdp, reward_sa).q_values, -1).astype(jnp.int32)
            inverse = policy_inverse(mdp, policy, dtype)
            policy, inverse, _, q, _, _ = solve_one(mdp, reward_sa, policy, inverse)
            return policy, (inverse, q), q

        return jax.vmap(one, axis_name=_CHAINS)(weights)

    def solve(oracle, policy, weights):
        def one(w, pol, inverse):
            pol, inverse, _, q, rounds, conv = solve_one(mdp, _reward_of(mdp, w), pol, inverse)
            return pol, (inverse, q), rounds, conv

        policy, oracle, rounds, conv = jax.vmap(one, axis_name=_CHAINS)(weights, policy,
                                                                        oracle[0])
        return oracle, oracle[1], policy, jnp.max(rounds), jnp.all(conv), jnp.int32(0)

    def refresh(oracle, policy, weights):
        def one(w, pol):
            inverse = policy_inverse(mdp, pol, oracle[0].dtype)
            return inverse, evaluate_with_inverse(mdp, _reward_of(mdp, w), pol, inverse)[1]

        return jax.vmap(one)(weights, policy)

    return init, solve, refresh


def _cache_oracle(mdp, *, tol, max_rounds, cache_size, dtype):
    """(init, solve, refresh) of the shared policy cache (the refresh is a no-op)."""
    def solve(oracle, policy, weights):
        del policy
        cache, phi_sa = oracle
        cache, q, policy, rounds, conv, solves = cached_or_exact_q_values(
            mdp, phi_sa, cache, weights, tol=tol, max_rounds=max_rounds)
        return (cache, phi_sa), q, policy, rounds, conv, solves

    def init(weights):
        # An empty cache and no Q* yet: the first step re-evaluates the starting points in place
        # (log target −∞ before it, so it is accepted), with the step's own compiled solve.
        C, F = weights.shape
        cache = policy_cache_init(mdp.num_states, mdp.num_actions, F, cache_size, dtype)
        policy = jnp.zeros((C, mdp.num_states), jnp.int32)
        q = jnp.zeros((C, mdp.num_states, mdp.num_actions), dtype)
        return policy, (cache, action_features(mdp, dtype)), q

    def refresh(oracle, policy, weights):
        return oracle

    return init, solve, refresh


# ---------------------------------------------------------------------------------------------
# The kernel
# ---------------------------------------------------------------------------------------------


def _check_kernel(proposal, norm, beta, step_size, max_switches, max_rounds, refresh_every,
                  target_accept_prob, independence_prob, df, inflation, cache_size):
    if proposal not in PROPOSALS:
        raise ValueError(f"proposal: expected one of {PROPOSALS}, got {proposal!r}")
    if norm not in (1, 2):
        raise ValueError(f"norm: expected 1 or 2, got {norm!r}")
    check_scalar(beta, "beta", low=0.0, low_open=True)
    check_scalar(step_size, "step_size", low=0.0, low_open=True)
    check_scalar(max_switches, "max_switches", low=1, integer=True)
    check_scalar(max_rounds, "max_rounds", low=1, integer=True)
    check_scalar(refresh_every, "refresh_every", low=1, integer=True)
    check_scalar(target_accept_prob, "target_accept_prob", low=0.0, high=1.0, low_open=True,
                 high_open=True)
    check_scalar(independence_prob, "independence_prob", low=0.0, high=1.0)
    check_scalar(df, "df", low=1, integer=True)
    check_scalar(inflation, "inflation", low=1.0)
    check_scalar(cache_size, "cache_size", low=1, integer=True)


def policy_walk(
    mdp: MDP,
    *,
    beta,
    proposal: str = "sphere",
    burn_in: int = 0,
    norm: int = 1,
    step_size: float = 0.1,
    tol: float | None = None,
    max_switches: int = DEFAULT_MAX_SWITCHES,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    refresh_every: int = DEFAULT_REFRESH_EVERY,
    target_accept_prob: float = 0.3,
    independence_prob: float = 0.8,
    df: int = 7,
    inflation: float = 1.15,
    cache_size: int = DEFAULT_CACHE_SIZE,
    axis_name=None,
) -> PolicyWalk:
    """The PolicyWalk kernel of C chains (see the module docstring for the target and
    proposals; Ramachandran & Amir 2007, Brown & Niekum 2018).

    Args:
        mdp: the MDP (features (S, F) or (S, A, F)); used for its shapes, dtype and, by the
            cache oracle, its action features (the kernel's functions take the MDP again).
        beta: rationality β > 0 (1/reward units).
        proposal: one of :data:`PROPOSALS`.
        burn_in: warm-up transitions W (adaptation happens at t < W; static).
        norm: 1 (L1 sphere, Brown & Niekum) or 2.
        step_size: the sphere step h (weight units), or the initial random-walk scale of the
            other proposals, > 0.
        tol: relative improvement threshold of policy iteration; default by dtype (1e-10
            float64, 1e-5 float32).
        max_switches: k, states switched per Woodbury round (sphere, adaptive).
        max_rounds: cap on policy-iteration rounds per proposal.
        refresh_every: recompute ``(I − γ P_π)^{-1}`` from scratch after this many steps.
        target_accept_prob: acceptance the adaptive proposal's scale is tuned to, in (0, 1).
        independence_prob: probability of an independence move after the first half of the
            burn-in (independence proposal), in [0, 1].
        df: degrees of freedom ν >= 1 (integer) of the Student-t independence proposal.
        inflation: factor c >= 1 on its fitted standard deviations.
        cache_size: K, optimal policies in the cache (memory K·S·A·F floats).
        axis_name: name of an enclosing ``vmap`` axis over chains, so that its Woodbury loops
            share one condition (faster; same results).

    Returns:
        :class:`PolicyWalk`: ``init(weights (C, F), mdp, pairs, pair_weights)`` (the weights
        are projected onto the sphere), ``step(carry, (rng_key, t), mdp, pairs,
        pair_weights)``, ``record(carry) -> (weights (C, F), log_likelihood (C,),
        optimal_return (C,))`` and ``end_warmup(carry)`` (resets the statistics).

    Raises:
        ValueError / TypeError: an argument out of range (named).
    """
    _check_kernel(proposal, norm, beta, step_size, max_switches, max_rounds, refresh_every,
                  target_accept_prob, independence_prob, df, inflation, cache_size)
    burn_in = check_scalar(burn_in, "burn_in", low=0, integer=True)
    dtype = mdp.next_probs.dtype
    tol = _default_tolerance(dtype) if tol is None else tol
    on_sphere = proposal == "sphere"
    num_features = mdp.features.shape[-1]
    half = burn_in // 2
    rw_update = (build_adaptation(burn_in, target_accept_prob, dense_covariance=True)
                 if proposal == "adaptive" and burn_in else None)

    def oracle_of(mdp):
        if proposal == "independence":
            return _cache_oracle(mdp, tol=tol, max_rounds=max_rounds, cache_size=cache_size,
                                 dtype=dtype)
        return _woodbury_oracle(mdp, tol=tol, max_switches=max_switches, max_rounds=max_rounds,
                                axis_name=axis_name)

    def evaluate(mdp, pairs, pair_weights, z, q, policy):
        log_lik = jax.vmap(lambda x: boltzmann_log_likelihood(beta * x, pairs, pair_weights))(q)
        values = jnp.take_along_axis(q, policy[..., None], axis=-1)[..., 0]
        ret = values @ mdp.initial_distribution.astype(q.dtype)
        return log_lik, log_lik + (0.0 if on_sphere else log_radial_prior(z, norm)), ret

    def init(weights, mdp, pairs, pair_weights):
        z = project_to_sphere(jnp.asarray(weights, dtype), norm)
        policy, oracle, q = oracle_of(mdp)[0](z)
        log_lik, log_target, ret = evaluate(mdp, pairs, pair_weights, z, q, policy)
        if proposal == "independence":  # not evaluated yet (see the cache oracle's init)
            log_lik = log_target = jnp.full_like(log_lik, -jnp.inf)
        state = PolicyWalkState(z, log_lik, log_target, policy, ret, oracle)
        C = z.shape[0]
        if proposal == "adaptive":
            adapt = jax.vmap(lambda _: adapt_init(num_features, step_size, dense_covariance=True,
                                                  dtype=dtype))(jnp.arange(C))
        elif proposal == "independence":
            eye = jnp.eye(num_features, dtype=dtype)
            adapt = _Fitted(jnp.zeros(num_features, dtype), eye, eye, eye,
                            jnp.asarray(jnp.log(step_size), dtype),
                            moments_init(num_features, dtype))
        else:
            adapt = None
        solver = (jnp.int32(0), jnp.bool_(True), jnp.int32(0))
        stats = stats_init(log_lik, (project_to_sphere(z, norm), policy), solver)
        return _Carry(state, adapt, stats, jnp.zeros(2, dtype))

    def propose(key, carry, t):
        state, adapt = carry.state, carry.adapt
        C = state.z.shape[0]
        zero = jnp.zeros((C,), dtype)
        if proposal == "sphere":
            k_step, k_acc = jax.random.split(key)
            eps = jax.random.normal(k_step, state.z.shape, dtype)
            z_new = jax.vmap(lambda w, e: sphere_step(w, e, step_size, norm))(state.z, eps)
            return z_new, zero, jnp.zeros((C,), bool), k_acc
        if proposal == "adaptive":
            k_step, k_acc = jax.random.split(key)
            eps = jax.random.normal(k_step, state.z.shape, dtype)
            z_new = jax.vmap(gaussian_step)(state.z, eps, adapt.scale, adapt.step_size)
            return z_new, zero, jnp.zeros((C,), bool), k_acc
        k_normal, k_kind, k_acc = jax.random.split(key, 3)
        normals = jax.random.normal(k_normal, (C, 2 * num_features + df), dtype)
        independent = mixture_choice(jax.random.uniform(k_kind, (C,), dtype),
                                     jnp.where(t < half, 0.0, independence_prob))
        scale = jnp.where(t == 0, 0.0, jnp.exp(adapt.log_scale))  # step 0 evaluates the start
        walk = state.z + scale * (normals[:, :num_features] @ adapt.rw_chol.T)
        draw = student_t_draw(adapt.mean, adapt.chol, normals[:, num_features:2 * num_features],
                              normals[:, 2 * num_features:])
        z_new = jnp.where(independent[:, None], draw, walk)
        log_t = partial(student_t_log_density, mean=adapt.mean, inv_chol=adapt.inv_chol, df=df)
        hastings = jnp.where(independent, log_t(state.z) - log_t(z_new), 0.0)
        return z_new, hastings, independent, k_acc

    def adapt_step(adapt, z, accept_prob, independent, t):
        if proposal == "sphere" or not burn_in:
            return adapt
        if proposal == "adaptive":
            return lax.cond(t < burn_in,
                            lambda a: jax.vmap(lambda ai, zi, pi: rw_update(ai, t, zi, pi))(
                                a, z, accept_prob),
                            lambda a: a, adapt)
        walk = ~independent
        rw_acc = jnp.sum(jnp.where(walk, accept_prob, 0.0)) / jnp.maximum(jnp.sum(walk), 1)
        log_scale = robbins_monro_log_scale(adapt.log_scale, rw_acc, RW_TARGET_ACCEPT, t,
                                            burn_in)
        in_window = (((t >= half // 2) & (t < half))
                     | ((t >= half + (burn_in - half) // 2) & (t < burn_in)))
        moments = moments_update(adapt.moments, z, in_window)

        def refit(_):
            mean, chol = fit_gaussian(moments, inflation)
            eye = jnp.eye(num_features, dtype=dtype)
            inv_chol = jax.scipy.linalg.solve_triangular(chol, eye, lower=True)
            return _Fitted(mean, chol, inv_chol, chol / inflation,
                           jnp.asarray(jnp.log(2.38 / jnp.sqrt(num_features)), dtype),
                           moments_init(num_features, dtype))

        return lax.cond((t == half - 1) | (t == burn_in - 1), refit,
                        lambda _: adapt._replace(log_scale=log_scale, moments=moments), None)

    def step(carry, inputs, mdp, pairs, pair_weights):
        key, t = inputs
        state = carry.state
        _, solve, refresh = oracle_of(mdp)
        z_new, hastings, independent, k_acc = propose(key, carry, t)
        w_new = z_new if on_sphere else project_to_sphere(z_new, norm)
        oracle, q, policy, rounds, conv, solves = solve(state.oracle, state.policy, w_new)
        log_lik, log_target, ret = evaluate(mdp, pairs, pair_weights, z_new, q, policy)
        C = z_new.shape[0]
        log_u = log_uniform(k_acc, (C,), dtype)
        accept_prob, accepted = metropolis_accept(log_target - state.log_target + hastings,
                                                  log_u)
        new = PolicyWalkState(z_new, log_lik, log_target, policy, ret, None)
        kept = select(accepted, new._replace(oracle=None), state._replace(oracle=None))
        oracle = (oracle if proposal == "independence"
                  else select(accepted, oracle, state.oracle))
        state = kept._replace(oracle=oracle)
        if proposal != "independence":
            state = lax.cond((t + 1) % refresh_every == 0,
                             lambda s: s._replace(oracle=refresh(s.oracle, s.policy,
                                                                 project_to_sphere(s.z, norm))),
                             lambda s: s, state)
        adapt = adapt_step(carry.adapt, state.z, accept_prob, independent, t)
        stats = stats_update(carry.stats, accept_prob, state.log_likelihood,
                             (project_to_sphere(state.z, norm), state.policy),
                             (rounds, conv, solves),
                             lambda a, b: (jnp.maximum(a[0], b[0]), a[1] & b[1], a[2] + b[2]))
        independent_sum = carry.independent + jnp.where(t >= burn_in, jnp.stack([
            jnp.sum(jnp.where(independent, accept_prob, 0.0)),
            jnp.sum(independent).astype(dtype)]), 0.0)
        return _Carry(state, adapt, stats, independent_sum)

    def record(carry):
        s = carry.state
        return project_to_sphere(s.z, norm), s.log_likelihood, s.optimal_return

    def end_warmup(carry):
        return carry._replace(stats=stats_reset(carry.stats))

    return PolicyWalk(init, step, record, end_warmup)


def _check_initial(initial_weights, num_features, dtype, batch_only: bool):
    z0 = jnp.asarray(initial_weights, dtype)
    ok = z0.ndim == 2 if batch_only else z0.ndim in (1, 2)
    if not ok or z0.shape[-1] != num_features:
        want = f"(C, {num_features})" if batch_only else f"({num_features},) or (C, {num_features})"
        raise ValueError(f"initial_weights: expected shape {want}, got {tuple(z0.shape)}")
    return z0


def _run(rng_key, mdp, pairs, initial_weights, *, num_steps, burn_in, thinning, pair_weights,
         batch_only=False, **options):
    """Validate, then run a batch of PolicyWalk chains as one compiled program (the MDP, the
    pairs and the starting weights are its arguments: another problem of the same shapes does
    not recompile). Returns ``(PolicyWalkSamples, final carry)``."""
    num_steps, burn_in, thinning, num_kept = check_chain_lengths(num_steps, burn_in, thinning)
    policy_walk(mdp, burn_in=burn_in, **options)  # validates the kernel's arguments
    dtype = mdp.next_probs.dtype
    z0 = _check_initial(initial_weights, mdp.features.shape[-1], dtype, batch_only)
    one_chain = z0.ndim == 1
    z0 = z0[None] if one_chain else z0
    pair_weights = jnp.asarray(jnp.ones(pairs.states.shape, dtype) if pair_weights is None
                               else pair_weights, dtype)
    samples, carry = _sample(rng_key, mdp, pairs, z0, pair_weights, burn_in=burn_in,
                             num_kept=num_kept, thinning=thinning,
                             options=tuple(sorted(options.items())))
    if one_chain:
        samples = samples._replace(**{name: getattr(samples, name)[0] for name in (
            "weights", "log_likelihood", "optimal_return", "map_weights", "map_policy",
            "map_log_likelihood", "acceptance_rate")})
    return samples, carry


@partial(jax.jit, static_argnames=("burn_in", "num_kept", "thinning", "options"))
def _sample(rng_key, mdp, pairs, z0, pair_weights, *, burn_in, num_kept, thinning, options):
    kernel = policy_walk(mdp, burn_in=burn_in, **dict(options))
    carry = kernel.init(z0, mdp, pairs, pair_weights)
    num_steps = burn_in + num_kept * thinning
    keys = jax.random.split(rng_key, num_steps)
    carry, (weights, log_lik, ret) = run_chain(
        lambda c, x: kernel.step(c, x, mdp, pairs, pair_weights), carry,
        (keys, jnp.arange(num_steps)), num_warmup=burn_in, num_kept=num_kept, thinning=thinning,
        record=kernel.record, on_warmup_end=kernel.end_warmup)
    stats = carry.stats
    samples = PolicyWalkSamples(
        weights=jnp.swapaxes(weights, 0, 1), log_likelihood=log_lik.T, optimal_return=ret.T,
        map_weights=stats.best[0], map_policy=stats.best[1],
        map_log_likelihood=stats.best_log_density,
        acceptance_rate=stats.accept_sum / (num_kept * thinning),
        max_rounds=stats.solver[0], all_converged=stats.solver[1])
    return samples, carry


def sample_policy_walk(
    rng_key: PRNGKey,
    mdp: MDP,
    pairs: DemonstrationPairs,
    initial_weights: Array,
    *,
    beta,
    step_size: float,
    num_steps: int,
    burn_in: int = 0,
    thinning: int = 1,
    norm: int = 1,
    proposal: str = "sphere",
    pair_weights: Array | None = None,
    **options,
) -> PolicyWalkSamples:
    """Run PolicyWalk chains: ``num_steps`` transitions, drop ``burn_in``, keep every
    ``thinning``-th (Brown & Niekum 2018: 10,000 steps, step 0.01, burn 100, thin 20).

    Kept draws are the states after steps ``burn_in + thinning, burn_in + 2·thinning, …``:
    ``D = (num_steps − burn_in) // thinning`` of them. One chain for (F,) initial weights, C
    chains run together for (C, F); batch over problems with ``jax.vmap`` (the integer
    arguments are static: wrap with ``functools.partial`` first).

    Args:
        rng_key: PRNG key.
        mdp: the MDP (features (S, F) or (S, A, F)).
        pairs: P demonstration pairs; pad with ``pair_weights = 0`` to batch problems with
            different numbers of pairs.
        initial_weights: (F,) or (C, F) starting weights (projected onto the sphere).
        beta, step_size, norm, proposal: see :func:`policy_walk`.
        num_steps, burn_in, thinning: chain length, discarded prefix, keep interval.
        pair_weights: (P,) pair multiplicities; default ones.
        **options: the other arguments of :func:`policy_walk` (``tol``, ``max_switches``,
            ``max_rounds``, ``refresh_every``, ``target_accept_prob``, ``independence_prob``,
            ``df``, ``inflation``, ``cache_size``, ``axis_name``).

    Returns:
        :class:`PolicyWalkSamples` (without the chain axis for one chain).

    Raises:
        ValueError: non-positive ``num_steps``/``thinning``/``refresh_every``, negative
            ``burn_in``, no draw kept (``num_steps − burn_in < thinning``), bad weights shape,
            or a kernel argument out of range.
    """
    return _run(rng_key, mdp, pairs, initial_weights, num_steps=num_steps, burn_in=burn_in,
                thinning=thinning, pair_weights=pair_weights, beta=beta, step_size=step_size,
                norm=norm, proposal=proposal, **options)[0]


def sample_policy_walk_adaptive(
    rng_key: PRNGKey, mdp: MDP, pairs: DemonstrationPairs, initial_weights: Array, *, beta,
    num_steps: int, burn_in: int, thinning: int = 1, step_size: float = 0.5, norm: int = 1,
    target_accept_prob: float = 0.3, pair_weights: Array | None = None, **options,
) -> PolicyWalkSamples:
    """:func:`sample_policy_walk` with the adaptive proposal: a dense covariance and scale
    adapted per chain during burn-in (dual averaging towards ``target_accept_prob``; Welford
    covariance, Stan-regularised, scaled by 2.38²/F: Haario et al. 2001; Roberts, Gelman &
    Gilks 1997), then frozen. Arguments as :func:`sample_policy_walk` (``initial_weights``
    (F,) or (C, F)); ``step_size`` is the initial scale and ``target_accept_prob`` the
    acceptance it is tuned to.

    Returns:
        :class:`PolicyWalkSamples`, weights (D, F) or (C, D, F).

    Raises:
        ValueError: as :func:`sample_policy_walk`; ``burn_in`` < 1.
    """
    check_scalar(burn_in, "burn_in", low=1, integer=True)
    return sample_policy_walk(rng_key, mdp, pairs, initial_weights, beta=beta,
                              step_size=step_size, num_steps=num_steps, burn_in=burn_in,
                              thinning=thinning, norm=norm, proposal="adaptive",
                              target_accept_prob=target_accept_prob, pair_weights=pair_weights,
                              **options)


def sample_policy_walk_independence(
    rng_key: PRNGKey, mdp: MDP, pairs: DemonstrationPairs, initial_weights: Array, *, beta,
    num_steps: int, burn_in: int, thinning: int = 1, norm: int = 2,
    independence_prob: float = 0.8, df: int = 7, inflation: float = 1.15,
    step_size: float = 0.3, pair_weights: Array | None = None,
    cache_size: int = DEFAULT_CACHE_SIZE, tol: float | None = None,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
) -> IndependenceSamples:
    """Run C PolicyWalk chains with the independence proposal and a shared policy cache.

    During ``burn_in`` (discarded) the first half uses random-walk steps only, with the scale
    tuned towards acceptance 0.234 and L from the pooled covariance of the chains; the
    Student-t is fitted to the pooled chain states of the second quarter, refitted at the end
    of burn-in from its second half, and everything is FROZEN for the kept draws.

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
        independence_prob, df, inflation, step_size, cache_size, tol, max_rounds: see
            :func:`policy_walk`.
        pair_weights: (P,) pair multiplicities; default ones.

    Returns:
        :class:`IndependenceSamples`.

    Raises:
        ValueError: ``initial_weights`` not (C, F); bad lengths; ``burn_in`` < 4; a kernel
            argument out of range.
    """
    check_scalar(burn_in, "burn_in", low=4, integer=True)
    samples, carry = _run(rng_key, mdp, pairs, initial_weights, num_steps=num_steps,
                          burn_in=burn_in, thinning=thinning, pair_weights=pair_weights,
                          batch_only=True, beta=beta, step_size=step_size, norm=norm,
                          proposal="independence", independence_prob=independence_prob, df=df,
                          inflation=inflation, cache_size=cache_size, tol=tol,
                          max_rounds=max_rounds)
    ind = carry.independent
    steps = burn_in + samples.weights.shape[1] * thinning
    return IndependenceSamples(samples, ind[0] / jnp.maximum(ind[1], 1), carry.stats.solver[2],
                               jnp.int32(steps * samples.weights.shape[0]))
