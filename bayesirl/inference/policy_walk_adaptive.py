"""PolicyWalk with a burn-in-adapted dense proposal (opt-in), for BIRL on feature gridworlds.

The isotropic step of :func:`~bayesirl.inference.policy_walk.sample_policy_walk` cannot follow
the narrow ridge of a BIRL posterior (one-hot features leave a near-unidentified constant
shift). This walk adapts a dense proposal covariance and a step scale during burn-in (NumPyro's
Welford estimator, through :mod:`bayesirl.inference.random_walk_adaptation`), freezes them, and
walks on the UNNORMALISED weights z with a radial prior, so the kept draws are an exact MH chain
whose direction marginal is the uniform-prior posterior on the sphere
(:func:`build_adaptive_kernel` derives it). Q* stays exact through PolicyWalk's warm-started
policy iteration (:mod:`bayesirl.inference.policy_walk_solver`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.data.mdp import MDP
from bayesirl.inference.policy_walk import (
    DEFAULT_MAX_ROUNDS,
    DEFAULT_MAX_SWITCHES,
    DEFAULT_REFRESH_EVERY,
    PolicyWalkInfo,
    PolicyWalkSamples,
    PolicyWalkState,
    build_kernel,
    check_chain_lengths,
    default_tolerance,
    initial_stats,
    policy_walk_init,
    refresh_inverse,
    reward_of,
    samples_from_stats,
    scan_kept_draws,
    update_stats,
)
from bayesirl.inference.policy_walk_solver import warm_policy_iteration
from bayesirl.inference.random_walk_adaptation import adapt_init, build_adaptation
from bayesirl.likelihoods import DemonstrationPairs, boltzmann_log_likelihood
from bayesirl.models import project_to_sphere

__all__ = [
    "RADIAL_LOG_SD",
    "build_adaptive_kernel",
    "log_radial_prior",
    "sample_policy_walk_adaptive",
]


# ---------------------------------------------------------------------------------------------
# Opt-in: PolicyWalk with a burn-in-adapted proposal covariance
# ---------------------------------------------------------------------------------------------

#: Standard deviation s of log ‖z‖ under the radial prior of the adaptive walk.
RADIAL_LOG_SD = 0.25


def log_radial_prior(z: Array, norm: int) -> Array:
    """log p(z) of z (..., F), shape (...), up to a constant, for ``log ‖z‖ ~ N(0, s²)`` and
    ``z / ‖z‖`` uniform (cone measure for L1): ``p(z) = p_r(r) / r^{F−1}`` with ``p_r`` log-normal, so
    ``log p(z) = −(log r)² / (2 s²) − F log r``."""
    log_r = jnp.log(jnp.linalg.norm(z, ord=norm, axis=-1))
    return -0.5 * (log_r / RADIAL_LOG_SD) ** 2 - z.shape[-1] * log_r


def build_adaptive_kernel(*, beta, norm: int = 1, tol: float | None = None,
                          max_switches: int = DEFAULT_MAX_SWITCHES,
                          max_rounds: int = DEFAULT_MAX_ROUNDS, axis_name=None):
    """One PolicyWalk MH transition with a correlated Gaussian step in the UNNORMALISED space.

    Why not ``normalise(w + L ε)``: that projection is symmetric only for an isotropic step
    (L ∝ I on the L2 sphere); for a general L the density of ``w' | w`` after projecting
    differs from that of ``w | w'`` and would need a Hastings ratio. Instead the chain lives
    on ``z ∈ R^F`` with target ``π(z) ∝ p(z) · L(z / ‖z‖)`` where ``p(z) = p_r(r) / r^{F−1}``,
    ``r = ‖z‖`` (L1 or L2) and ``log r ~ N(0, RADIAL_LOG_SD²)``. Writing ``z = r w``,
    ``dz ∝ r^{F−1} dr dσ(w)`` (σ: surface measure for L2, cone measure for L1), so
    ``π(r, w) ∝ p_r(r) · L(w)``: the radius is independent of w and w's marginal is exactly
    the uniform-prior posterior on the sphere. The proposal ``z' = z + scale · L ε``,
    ε ~ N(0, I), is symmetric in z, so the acceptance probability is
    ``min(1, L(w') p(z') / (L(w) p(z)))`` with no further Hastings factor.

    Args:
        beta, norm, tol, max_switches, max_rounds, axis_name: see :func:`build_kernel`.

    Returns:
        ``kernel(rng_key, state, z, mdp, pairs, pair_weights, chol, scale) ->
        (state, z, info)`` with z (F,), chol (F, F) lower-triangular and scale () > 0; pure
        and jit/vmap-compatible.

    Raises:
        ValueError: as :func:`~bayesirl.inference.policy_walk.build_kernel`.
    """
    build_kernel(beta=beta, step_size=1.0, norm=norm, tol=tol, max_switches=max_switches,
                 max_rounds=max_rounds)  # validates the arguments

    def kernel(rng_key, state, z, mdp, pairs, pair_weights, chol, scale):
        dtype = state.inverse.dtype
        threshold = default_tolerance(dtype) if tol is None else tol
        key_step, key_accept = jax.random.split(rng_key)
        z_new = z + scale * (chol @ jax.random.normal(key_step, z.shape, dtype))
        proposal = project_to_sphere(z_new, norm)
        policy, inverse, values, q, rounds, converged = warm_policy_iteration(
            mdp, reward_of(mdp, proposal), state.policy, state.inverse, tol=threshold,
            max_switches=min(max_switches, mdp.num_states), max_rounds=max_rounds,
            axis_name=axis_name)
        log_lik = boltzmann_log_likelihood(beta * q, pairs, pair_weights)
        log_ratio = (log_lik - state.log_likelihood + log_radial_prior(z_new, norm)
                     - log_radial_prior(z, norm))
        log_ratio = jnp.where(jnp.isnan(log_ratio), -jnp.inf, log_ratio)
        accept_prob = jnp.exp(jnp.minimum(log_ratio, 0.0))
        accepted = jax.random.uniform(key_accept, (), dtype) < accept_prob
        new = PolicyWalkState(proposal, log_lik, policy, inverse, values, q)
        state = jax.tree.map(lambda a, b: jnp.where(accepted, a, b), new, state)
        return state, jnp.where(accepted, z_new, z), PolicyWalkInfo(accept_prob, accepted,
                                                                    rounds, converged)

    return kernel


def sample_policy_walk_adaptive(
    rng_key: PRNGKey, mdp: MDP, pairs: DemonstrationPairs, initial_weights: Array, *, beta,
    num_steps: int, burn_in: int, thinning: int = 1, step_size: float = 0.5, norm: int = 1,
    target_accept_prob: float = 0.3, pair_weights: Array | None = None,
    refresh_every: int = DEFAULT_REFRESH_EVERY, tol: float | None = None,
    max_switches: int = DEFAULT_MAX_SWITCHES, max_rounds: int = DEFAULT_MAX_ROUNDS,
    axis_name=None,
) -> PolicyWalkSamples:
    """Run ONE PolicyWalk chain whose proposal covariance is adapted during burn-in.

    During the ``burn_in`` steps the step scale is tuned by dual averaging towards
    ``target_accept_prob`` and the covariance of z is estimated with Welford's algorithm,
    then regularised (Stan) and scaled by 2.38²/F (Haario et al. 2001; Roberts, Gelman &
    Gilks 1997) — :func:`~bayesirl.inference.random_walk_adaptation.build_adaptation` with a
    dense covariance. Both are FROZEN after burn-in, so the kept draws come from a
    time-homogeneous MH chain with the target of :func:`build_adaptive_kernel` (whose w
    marginal is the uniform-prior posterior on the sphere). Batch with ``jax.vmap``. The
    arguments not listed below (``rng_key``, ``mdp``, ``pairs``, ``beta``, ``num_steps``,
    ``thinning``, ``norm``, ``refresh_every``, ``tol``, ``max_switches``, ``max_rounds``,
    ``axis_name``) are those of :func:`~bayesirl.inference.policy_walk.sample_policy_walk`.

    Args:
        initial_weights: (F,) starting reward weights (normalised onto the sphere).
        pair_weights: optional (N,) weight per demonstrated pair (0 for padding).
        burn_in: adaptation steps (discarded), >= 1.
        step_size: initial step scale (weight units), > 0.
        target_accept_prob: acceptance rate the scale is tuned to, in (0, 1).

    Returns:
        The chain's samples (a ``PolicyWalkSamples``): weights (D, F) on the unit sphere,
        with D the number of kept draws, ``(num_steps - burn_in) // thinning``, and its MAP.

    Raises:
        ValueError: as :func:`sample_policy_walk`; ``burn_in`` < 1; ``step_size`` not > 0;
            ``target_accept_prob`` not in (0, 1).
    """
    num_steps, burn_in, thinning, refresh_every, num_kept = check_chain_lengths(
        num_steps, burn_in, thinning, refresh_every)
    check_scalar(burn_in, "burn_in", low=1, integer=True)
    check_scalar(step_size, "step_size", low=0.0, low_open=True)
    update = build_adaptation(burn_in, target_accept_prob, dense_covariance=True)
    kernel = build_adaptive_kernel(beta=beta, norm=norm, tol=tol, max_switches=max_switches,
                                   max_rounds=max_rounds, axis_name=axis_name)
    dtype = mdp.next_probs.dtype
    pair_weights = jnp.asarray(jnp.ones(pairs.states.shape, dtype) if pair_weights is None
                               else pair_weights, dtype)
    _, key_burn, key_keep = jax.random.split(rng_key, 3)
    z0 = project_to_sphere(jnp.asarray(initial_weights, dtype), norm)
    state = policy_walk_init(z0, mdp, pairs, beta=beta, pair_weights=pair_weights, tol=tol,
                             max_switches=max_switches, max_rounds=max_rounds,
                             axis_name=axis_name)
    adapt = adapt_init(z0.shape[-1], step_size, dense_covariance=True, dtype=dtype)

    def one_step(carry, inputs):
        state, z, stats, adapt = carry
        key, step_index = inputs
        state, z, info = kernel(key, state, z, mdp, pairs, pair_weights, adapt.scale,
                                adapt.step_size)
        state = lax.cond((step_index + 1) % refresh_every == 0,
                         lambda s: refresh_inverse(mdp, s), lambda s: s, state)
        return (state, z, update_stats(stats, state, info), adapt), info.accept_prob

    def burn_step(carry, inputs):
        carry, accept_prob = one_step(carry, inputs)
        state, z, stats, adapt = carry
        return (state, z, stats, update(adapt, inputs[1], z, accept_prob)), None

    stats = initial_stats(state, jnp.int32(0), jnp.bool_(True))
    (state, z, stats, adapt), _ = lax.scan(
        burn_step, (state, z0, stats, adapt),
        (jax.random.split(key_burn, burn_in), jnp.arange(burn_in)))
    stats = initial_stats(state, stats.max_rounds, stats.all_converged)

    (_, _, stats, _), draws = scan_kept_draws(
        one_step, (state, z, stats, adapt), key_keep, num_kept, thinning, burn_in,
        mdp.initial_distribution.astype(dtype))
    return samples_from_stats(draws, stats, num_kept * thinning)
