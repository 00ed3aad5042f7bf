"""Adaptive random-walk Metropolis–Hastings: the pure functional kernel.

The sampler is written in three layers, in the style of blackjax:

1. :func:`mh_transition` — one plain, non-adaptive Metropolis–Hastings transition
   with the Gaussian random-walk proposal ``z' = z + step_size * L @ eps``.
2. :func:`mh_init` and :func:`build_kernel` — a pure functional adaptive kernel on an
   :class:`MHState`; during warm-up it tunes the step size toward a target acceptance
   rate and estimates a proposal covariance (the update lives in
   :mod:`bayesirl.inference.adaptation`), after warm-up it is a fixed MH kernel.
3. :class:`~bayesirl.inference.random_walk_kernel.RandomWalkMH` — the :class:`numpyro.infer.mcmc.MCMCKernel` wrapper usable with
   :class:`numpyro.infer.MCMC` for any NumPyro model (or a bare potential function), for
   ``chain_method`` ``"sequential"``, ``"parallel"`` and ``"vectorized"``.

Algorithm
---------
The state ``z`` lives in the *unconstrained* space (NumPyro transforms constrained sites);
it is flattened with :func:`jax.flatten_util.ravel_pytree` to a vector of length ``d``.
A proposal ``z' = z + step_size * L @ eps`` with ``eps ~ N(0, I_d)`` is symmetric, so it is
accepted with probability ``min(1, exp(U(z) - U(z')))`` where ``U`` is the potential energy
(negative log joint density in unconstrained space, Jacobian included). A proposal whose
potential is not finite (NaN or +-inf) is rejected (acceptance probability 0).

Warm-up (iterations ``0 <= i < num_warmup``) has three phases, with the fractions in
:data:`DEFAULT_COVARIANCE_WINDOW`:

* ``[0, 0.15 W)``: only the step size adapts (``L`` = identity).
* ``[0.15 W, 0.6 W)``: additionally the chain's states are accumulated with Welford's
  algorithm. At the end of this window the proposal switches to
  ``L L^T = (2.38^2 / d) * Sigma_hat`` (Roberts, Gelman & Gilks 1997; Haario, Saksman &
  Tamminen 2001), where ``Sigma_hat`` is the (Stan-regularised) sample covariance, diagonal
  or dense; the step size is reset to 1 and its adaptation restarts.
* ``[0.6 W, W)``: the step size re-adapts to the new proposal.

The step size is tuned on the log scale by the dual-averaging stochastic-approximation
scheme of Nesterov (2009) in the form of Hoffman & Gelman (2014, Algorithm 5), driven by
``target_accept_prob - accept_prob`` (a Robbins–Monro recursion in the sense of Andrieu &
Thoms 2008, Sec. 4-5). At the last warm-up iteration the step size is set to the averaged
iterate ``exp(log_step_size_avg)``. From iteration ``num_warmup`` on, step size and ``L`` are
frozen, so the retained draws form a valid (time-homogeneous, reversible) MH chain.

Covariance adaptation needs ``num_warmup >= MIN_WARMUP_FOR_COVARIANCE``; with a shorter
warm-up only the step size adapts.

In inverse reinforcement learning this is the sampler of Ramachandran & Amir (2007):
PolicyWalk is Metropolis–Hastings over reward functions. The kernel itself is generic and
samples any NumPyro model with continuous latent sites.

References
----------
* N. Metropolis, A. Rosenbluth, M. Rosenbluth, A. Teller, E. Teller (1953). Equation of
  state calculations by fast computing machines. J. Chem. Phys. 21(6).
* W. K. Hastings (1970). Monte Carlo sampling methods using Markov chains and their
  applications. Biometrika 57(1).
* G. O. Roberts, A. Gelman, W. R. Gilks (1997). Weak convergence and optimal scaling of
  random walk Metropolis algorithms. Ann. Appl. Probab. 7(1). (0.234 and 2.38^2/d)
* H. Haario, E. Saksman, J. Tamminen (2001). An adaptive Metropolis algorithm.
  Bernoulli 7(2).
* C. Andrieu, J. Thoms (2008). A tutorial on adaptive MCMC. Stat. Comput. 18(4).
* Y. Nesterov (2009). Primal-dual subgradient methods for convex problems. Math. Program.
  120(1).
* M. D. Hoffman, A. Gelman (2014). The No-U-Turn sampler. JMLR 15.
* D. Ramachandran, E. Amir (2007). Bayesian inverse reinforcement learning. IJCAI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax, random
from jax.flatten_util import ravel_pytree
from numpyro.util import identity

from bayesirl.inference.accept import log_uniform, metropolis_accept, select
from bayesirl.inference.adaptation import (
    DEFAULT_COVARIANCE_WINDOW,
    MIN_WARMUP_FOR_COVARIANCE,
    MHAdaptState,
    adapt_init,
    build_adaptation,
    check_num_warmup,
    check_step_size,
    covariance_window_bounds,
    default_target_accept_prob,
    float_dtype,
)
from bayesirl.inference.proposals import (
    check_sphere_blocks,
    gaussian_step,
    num_polar_normals,
    polar_proposal,
)

__all__ = [
    "DEFAULT_COVARIANCE_WINDOW",
    "MIN_WARMUP_FOR_COVARIANCE",
    "MHAdaptState",
    "MHState",
    "build_kernel",
    "covariance_window_bounds",
    "default_target_accept_prob",
    "mh_init",
    "mh_transition",
]


class MHState(NamedTuple):
    """State of the random-walk Metropolis–Hastings chain.

    Field names follow NumPyro's ``HMCState`` so that ``MCMC.print_summary``,
    ``extra_fields`` (e.g. ``"adapt_state.step_size"``, ``"accept_prob"``) and
    :func:`arviz.from_numpyro` work unchanged. With vectorized chains every leaf has an
    extra leading axis of length ``C``.

    Attributes:
        i: integer scalar, number of transitions made so far (0 at initialisation).
        z: pytree (dict of site name -> array for models), the current position in the
            unconstrained space.
        potential_energy: scalar, ``U(z)``, negative log joint density at ``z``.
        accept_prob: scalar in [0, 1], acceptance probability of the last transition.
        mean_accept_prob: scalar, mean of ``accept_prob`` since the start of the current
            phase: over the warm-up while ``i <= num_warmup``, over the retained
            (post-warm-up) transitions afterwards.
        diverging: bool scalar, always ``False`` (kept for NumPyro/ArviZ compatibility).
        adapt_state: :class:`MHAdaptState`.
        rng_key: PRNG key for the next transition.
    """

    i: jax.Array
    z: Any
    potential_energy: jax.Array
    accept_prob: jax.Array
    mean_accept_prob: jax.Array
    diverging: jax.Array
    adapt_state: MHAdaptState
    rng_key: jax.Array


# --------------------------------------------------------------------------------------
# Layer 1: one plain MH transition
# --------------------------------------------------------------------------------------
def mh_transition(
    rng_key: jax.Array,
    z: Any,
    potential_energy: jax.Array,
    potential_fn: Callable[[Any], jax.Array],
    step_size: jax.Array,
    scale: jax.Array,
    sphere_blocks: tuple[tuple[int, int], ...] = (),
    sphere_scale: jax.Array | None = None,
    draws: tuple[jax.Array, jax.Array] | None = None,
) -> tuple[Any, jax.Array, jax.Array, jax.Array]:
    """One Gaussian random-walk Metropolis–Hastings transition (Metropolis et al. 1953).

    Proposes ``z' = z + step_size * L @ eps`` with ``eps ~ N(0, I_d)`` (``L = diag(scale)``
    when ``scale`` is a vector) and accepts with probability
    ``min(1, exp(U(z) - U(z')))``. The proposal is symmetric so no Hastings correction is
    needed. Non-finite ``U(z')`` is rejected. Pure and jit/vmap-able. Coordinates in
    ``sphere_blocks`` are instead moved by :func:`~bayesirl.inference.proposals.polar_proposal` (independent randomness),
    whose Hastings correction is added to the log acceptance ratio.

    Args:
        rng_key: a PRNG key.
        z: pytree of floating arrays, the current unconstrained position (``d`` scalars in
            total).
        potential_energy: scalar, ``U(z)``.
        potential_fn: maps a pytree shaped like ``z`` to the scalar potential energy.
        step_size: scalar > 0.
        scale: ``(d,)`` per-coordinate scales or ``(d, d)`` lower-triangular factor ``L``.
        sphere_blocks: static ``((start, F), ...)`` slices of the flat position moved by
            polar proposals (default none).
        sphere_scale: ``(len(sphere_blocks), 2)`` multipliers of :func:`~bayesirl.inference.proposals.polar_proposal`.
        draws: optional pre-drawn randomness ``(normals (m,), log_u ())`` with ``m =``
            :func:`~bayesirl.inference.proposals.num_polar_normals` (the Gaussian ε when some coordinates are not in sphere blocks,
            then the polar noise) and ``log_u`` the log of a Uniform(0, 1); ``rng_key`` is then
            unused. Lets a batch of chains draw its random numbers in one call.

    Returns:
        ``(z_new, potential_energy_new, accept_prob, accepted)``: the next position (same
        structure and dtypes as ``z``), its potential energy (default float dtype), the
        acceptance probability in [0, 1] and a bool telling whether the proposal was taken.
    """
    dtype = float_dtype()
    z_flat, unravel = ravel_pytree(z)
    if draws is None:
        key_proposal, key_accept = random.split(rng_key)
    # When the sphere blocks cover every coordinate no Gaussian step is drawn (it would be
    # overwritten): half the random numbers of a step.
    d = z_flat.shape[0]
    gaussian = sum(size for _, size in sphere_blocks) < d
    z_prop_flat = z_flat
    if gaussian:
        eps = (random.normal(key_proposal, z_flat.shape, dtype=dtype) if draws is None
               else draws[0][:d].astype(dtype))
        z_prop_flat = gaussian_step(z_flat, eps, scale, step_size)
    log_hastings = jnp.zeros((), dtype=dtype)
    if sphere_blocks:
        key_polar = random.fold_in(key_proposal, 1) if draws is None else None
        noise = None if draws is None else draws[0][d if gaussian else 0:]
        z_prop_flat, log_hastings = polar_proposal(key_polar, z_flat, z_prop_flat,
                                                   sphere_blocks, step_size, sphere_scale, noise)
    z_prop = unravel(z_prop_flat)
    potential_energy = jnp.asarray(potential_energy, dtype=dtype)
    pe_prop = jnp.asarray(potential_fn(z_prop), dtype=dtype)
    log_u = (log_uniform(key_accept, (), dtype) if draws is None
             else jnp.asarray(draws[1], dtype))
    accept_prob, accepted = metropolis_accept(
        potential_energy - pe_prop + log_hastings.astype(dtype), log_u, jnp.isfinite(pe_prop))
    z_new = select(accepted, z_prop, z)
    pe_new = jnp.where(accepted, pe_prop, potential_energy)
    return z_new, pe_new, accept_prob, accepted


# --------------------------------------------------------------------------------------
# Layer 2: adaptive kernel on MHState
# --------------------------------------------------------------------------------------
def mh_init(
    z: Any,
    potential_fn: Callable[[Any], jax.Array],
    rng_key: jax.Array,
    *,
    step_size: float = 0.1,
    dense_covariance: bool = False,
    sphere_blocks: tuple[tuple[int, int], ...] = (),
) -> MHState:
    """Initial :class:`MHState` at position ``z`` (one chain; ``vmap`` it for several).

    Args:
        z: pytree of floating arrays, initial unconstrained position (``d`` scalars).
        potential_fn: maps a pytree shaped like ``z`` to the scalar potential energy.
        rng_key: PRNG key stored in the state for the first transition.
        step_size: initial step size (> 0); the initial proposal is ``N(z, step_size^2 I)``.
        dense_covariance: if true the proposal scale is a ``(d, d)`` Cholesky factor,
            otherwise a ``(d,)`` vector.
        sphere_blocks: static ``((start, F), ...)`` slices of the flat position moved by
            :func:`~bayesirl.inference.proposals.polar_proposal`; must match :func:`build_kernel`'s.

    Returns:
        An :class:`MHState` with ``i = 0``, ``accept_prob = mean_accept_prob = 0``.

    Raises:
        ValueError: if ``step_size`` is not a finite number > 0 or ``z`` has no elements.
    """
    check_step_size(step_size)
    z_flat, _ = ravel_pytree(z)
    if z_flat.shape[0] == 0:
        raise ValueError("z: expected at least one unconstrained parameter, got none")
    dtype = float_dtype()
    potential_energy = jnp.asarray(potential_fn(z), dtype=dtype)
    adapt_state = adapt_init(z_flat.shape[0], step_size, dense_covariance=dense_covariance,
                             dtype=dtype, sphere_blocks=check_sphere_blocks(sphere_blocks,
                                                                            z_flat.shape[0]))
    zero = jnp.zeros((), dtype=dtype)
    return MHState(
        i=jnp.zeros((), dtype=jnp.result_type(int)),
        z=z,
        potential_energy=potential_energy,
        accept_prob=zero,
        mean_accept_prob=zero,
        diverging=jnp.zeros((), dtype=bool),
        adapt_state=adapt_state,
        rng_key=rng_key,
    )

def build_kernel(
    num_warmup: int,
    target_accept_prob: float,
    *,
    adapt_step_size: bool = True,
    adapt_covariance: bool = True,
    dense_covariance: bool = False,
    covariance_window: tuple[float, float] = DEFAULT_COVARIANCE_WINDOW,
    sphere_blocks: tuple[tuple[int, int], ...] = (),
) -> Callable[[MHState, Callable[[Any], jax.Array]], MHState]:
    """Build the adaptive random-walk MH transition ``kernel(state, potential_fn) -> state``.

    The returned function is pure and jit/vmap-able. For ``state.i < num_warmup`` it makes
    one MH transition (:func:`mh_transition`) and then updates ``state.adapt_state`` as
    described in the module docstring (dual averaging of the log step size toward
    ``target_accept_prob``; Welford covariance over the window from
    :func:`covariance_window_bounds`, then the proposal ``(2.38^2/d) Sigma_hat``). For
    ``state.i >= num_warmup`` the adaptation state is left untouched, so the chain is a
    fixed, reversible MH chain.

    Args:
        num_warmup: number of warm-up (adaptation) iterations ``W`` >= 0.
        target_accept_prob: target mean acceptance probability in (0, 1), e.g.
            :func:`default_target_accept_prob`.
        adapt_step_size: tune the step size during warm-up; if false it stays exactly at
            the value given to :func:`mh_init`.
        adapt_covariance: estimate the proposal covariance during warm-up.
        dense_covariance: full (dense) rather than diagonal covariance; must match the
            ``dense_covariance`` given to :func:`mh_init`.
        covariance_window: fractions of the warm-up, see :func:`covariance_window_bounds`.
        sphere_blocks: static ``((start, F), ...)`` slices of the flat position moved by
            :func:`~bayesirl.inference.proposals.polar_proposal` instead of the Gaussian step (for latents whose target
            depends mainly on their direction, e.g. the sphere priors' ``reward_weights_raw``);
            must match :func:`mh_init`'s.

    Returns:
        ``kernel(state: MHState, potential_fn, warmup=None, draws=None) -> MHState``
        (``draws``: pre-drawn randomness as in :func:`mh_transition`; ``state.rng_key`` is then
        left as it is). ``warmup=None``
        decides by ``state.i < num_warmup`` inside the transition (a ``lax.cond``, which
        ``vmap`` turns into computing both branches); a caller that knows the phase for a
        whole batch of chains passes ``True`` (adapt) or ``False`` (frozen kernel, no
        adaptation work) — see :class:`~bayesirl.inference.random_walk_kernel.RandomWalkMH`.

    Raises:
        ValueError: if ``target_accept_prob`` is not in (0, 1), ``num_warmup < 0`` or
            ``covariance_window`` is invalid.
    """
    num_warmup = check_num_warmup(num_warmup)
    sphere_blocks = tuple((int(a), int(b)) for a, b in sphere_blocks)
    update = build_adaptation(
        num_warmup, target_accept_prob, adapt_step_size=adapt_step_size,
        adapt_covariance=adapt_covariance, dense_covariance=dense_covariance,
        covariance_window=covariance_window, sphere_blocks=sphere_blocks,
    )

    def kernel(state: MHState, potential_fn: Callable[[Any], jax.Array],
               warmup: bool | None = None, draws=None) -> MHState:
        if draws is None:
            rng_key, key_transition = random.split(state.rng_key)
        else:  # randomness drawn by the caller (a batch of chains): the key is not used
            rng_key, key_transition = state.rng_key, None
        adapt = state.adapt_state
        z, pe, accept_prob, _ = mh_transition(
            key_transition, state.z, state.potential_energy, potential_fn,
            adapt.step_size, adapt.scale, sphere_blocks, adapt.sphere_scale, draws,
        )
        t = state.i
        itr = t + 1
        # Running mean over warm-up, restarted for the retained draws.
        n = jnp.where(t < num_warmup, itr, itr - num_warmup).astype(accept_prob.dtype)
        mean_accept_prob = state.mean_accept_prob + (accept_prob - state.mean_accept_prob) / n
        if update is not None and warmup is None:
            adapt = lax.cond(t < num_warmup, lambda a: update(a, t, z, accept_prob), identity,
                             adapt)
        elif update is not None and warmup:
            adapt = update(adapt, t, z, accept_prob)
        return MHState(
            i=itr,
            z=z,
            potential_energy=pe.astype(state.potential_energy.dtype),
            accept_prob=accept_prob.astype(state.accept_prob.dtype),
            mean_accept_prob=mean_accept_prob.astype(state.mean_accept_prob.dtype),
            diverging=jnp.zeros((), dtype=bool),
            adapt_state=adapt,
            rng_key=rng_key,
        )

    return kernel
