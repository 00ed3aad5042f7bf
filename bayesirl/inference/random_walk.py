"""Adaptive random-walk Metropolis–Hastings as a NumPyro ``MCMCKernel``.

This module is written in three layers, in the style of blackjax:

1. :func:`mh_transition` — one plain, non-adaptive Metropolis–Hastings transition
   with the Gaussian random-walk proposal ``z' = z + step_size * L @ eps``.
2. :func:`mh_init` and :func:`build_kernel` — a pure functional adaptive kernel on an
   :class:`MHState`; during warm-up it tunes the step size toward a target acceptance
   rate and estimates a proposal covariance, after warm-up it is a fixed MH kernel.
3. :class:`RandomWalkMH` — the :class:`numpyro.infer.mcmc.MCMCKernel` wrapper usable with
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

import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax, random, vmap
from jax.flatten_util import ravel_pytree
from numpyro.infer.hmc_util import welford_covariance
from numpyro.infer.mcmc import MCMCKernel
from numpyro.infer.util import ParamInfo, init_to_uniform, initialize_model
from numpyro.util import identity, is_prng_key

__all__ = [
    "DEFAULT_COVARIANCE_WINDOW",
    "MIN_WARMUP_FOR_COVARIANCE",
    "MHAdaptState",
    "MHState",
    "RandomWalkMH",
    "build_kernel",
    "covariance_window_bounds",
    "default_target_accept_prob",
    "mh_init",
    "mh_transition",
]

#: Fractions ``(start, end)`` of the warm-up during which states are accumulated for the
#: proposal covariance. Before ``start`` only the step size adapts (burn-in towards the
#: typical set); after ``end`` the step size re-adapts to the new proposal.
DEFAULT_COVARIANCE_WINDOW: tuple[float, float] = (0.15, 0.6)

#: Shortest warm-up (iterations) for which the proposal covariance is adapted.
MIN_WARMUP_FOR_COVARIANCE: int = 20

# Dual-averaging constants of Hoffman & Gelman (2014), as in Stan and NumPyro.
_DA_T0 = 10.0
_DA_KAPPA = 0.75
_DA_GAMMA = 0.05
# The log step size is clipped to this range so that a flat/improper target cannot drive
# it to +-inf (exp overflow); it has no effect on any sensibly scaled problem.
_LOG_STEP_SIZE_BOUND = 50.0
# Optimal isotropic random-walk scaling constant (Roberts, Gelman & Gilks 1997).
_RGG_SCALE = 2.38


# --------------------------------------------------------------------------------------
# States
# --------------------------------------------------------------------------------------
class MHAdaptState(NamedTuple):
    """Warm-up adaptation state of :func:`build_kernel` (all leaves are JAX arrays).

    ``d`` is the length of the flattened unconstrained parameter vector. With vectorized
    chains every leaf has an extra leading axis of length ``C``.

    Fields:
        step_size: scalar > 0, the current multiplier of the proposal scale (units of the
            unconstrained parameters when ``scale`` is the identity).
        log_step_size: scalar, the current dual-averaging iterate ``x_t``.
        log_step_size_avg: scalar, the averaged iterate ``x_bar_t``; ``exp`` of it becomes
            the step size at the end of warm-up.
        grad_avg: scalar, running mean of ``target_accept_prob - accept_prob``.
        da_count: integer scalar, number of dual-averaging updates since the last restart.
        prox_center: scalar, log step size the dual averaging shrinks towards.
        welford_state: ``(mean (d,), m2 (d,) or (d, d), n ())``, Welford accumulators of
            :func:`numpyro.infer.hmc_util.welford_covariance`.
        scale: ``(d,)`` standard deviations (diagonal proposal) or ``(d, d)`` lower
            Cholesky factor ``L`` (dense proposal); identity until the covariance switch.
    """

    step_size: jax.Array
    log_step_size: jax.Array
    log_step_size_avg: jax.Array
    grad_avg: jax.Array
    da_count: jax.Array
    prox_center: jax.Array
    welford_state: tuple
    scale: jax.Array


class MHState(NamedTuple):
    """State of the random-walk Metropolis–Hastings chain.

    Field names follow NumPyro's ``HMCState`` so that ``MCMC.print_summary``,
    ``extra_fields`` (e.g. ``"adapt_state.step_size"``, ``"accept_prob"``) and
    :func:`arviz.from_numpyro` work unchanged. With vectorized chains every leaf has an
    extra leading axis of length ``C``.

    Fields:
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
# Argument checks (eager, outside jit)
# --------------------------------------------------------------------------------------
def _as_python_scalar(value, name: str):
    """Return ``value`` as a Python/numpy scalar for checking; ``None`` for tracers."""
    if isinstance(value, jax.core.Tracer):
        return None
    if isinstance(value, jax.Array):
        value = np.asarray(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | np.generic):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    arr = np.asarray(value)
    if arr.ndim != 0:
        raise TypeError(f"{name}: expected a scalar, got shape {arr.shape}")
    return float(arr)


def _check_step_size(step_size) -> None:
    value = _as_python_scalar(step_size, "step_size")
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError(f"step_size: expected a finite number > 0, got {value}")


def _check_target_accept_prob(target_accept_prob) -> None:
    value = _as_python_scalar(target_accept_prob, "target_accept_prob")
    if value is not None and not (0.0 < value < 1.0):
        raise ValueError(
            f"target_accept_prob: expected a number in the open interval (0, 1), got {value}"
        )


def _check_num_warmup(num_warmup) -> int:
    if isinstance(num_warmup, bool) or not isinstance(num_warmup, numbers.Integral):
        raise TypeError(f"num_warmup: expected a non-negative integer, got {num_warmup!r}")
    if num_warmup < 0:
        raise ValueError(f"num_warmup: expected a non-negative integer, got {num_warmup}")
    return int(num_warmup)


def _float_dtype():
    return jnp.result_type(float)


# --------------------------------------------------------------------------------------
# Layer 0: rules of thumb
# --------------------------------------------------------------------------------------
def default_target_accept_prob(dim: int) -> float:
    """Default target acceptance rate for a ``dim``-dimensional random-walk proposal.

    Rule: 0.44 for ``dim == 1``, 0.234 for ``dim >= 5`` and linear interpolation in between
    (0.3915, 0.343, 0.2825 for ``dim`` = 2, 3, 4). 0.234 is the asymptotic optimum of
    Roberts, Gelman & Gilks (1997); 0.44 is the one-dimensional optimum for a Gaussian
    target (Gelman, Roberts & Gilks 1996); the interpolation is a simple documented rule.

    Args:
        dim: number of unconstrained scalar parameters ``d`` (>= 1).

    Returns:
        A float in [0.234, 0.44].

    Raises:
        ValueError: if ``dim < 1``.
        TypeError: if ``dim`` is not an integer.
    """
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"dim: expected a positive integer, got {dim!r}")
    if dim < 1:
        raise ValueError(f"dim: expected a positive integer, got {dim}")
    frac = min(int(dim) - 1, 4) / 4.0
    return 0.44 + (0.234 - 0.44) * frac


def covariance_window_bounds(
    num_warmup: int,
    adapt_covariance: bool = True,
    window: tuple[float, float] = DEFAULT_COVARIANCE_WINDOW,
) -> tuple[int, int]:
    """Iterations ``[start, end)`` of the warm-up whose states estimate the covariance.

    Args:
        num_warmup: number of warm-up iterations ``W`` (>= 0).
        adapt_covariance: whether covariance adaptation is requested.
        window: fractions ``(a, b)`` with ``0 <= a < b < 1``; the window is
            ``[floor(a W), floor(b W))``.

    Returns:
        ``(start, end)`` as Python ints; ``(0, 0)`` means no covariance adaptation (when
        ``adapt_covariance`` is false or ``num_warmup < MIN_WARMUP_FOR_COVARIANCE``).
        Otherwise ``end - start >= 2`` and ``end < num_warmup`` so the step size is
        re-adapted after the switch.

    Raises:
        ValueError: if ``window`` is not two fractions with ``0 <= a < b < 1`` or
            ``num_warmup`` is negative.
    """
    num_warmup = _check_num_warmup(num_warmup)
    try:
        a, b = (float(w) for w in window)
    except (TypeError, ValueError) as err:
        raise ValueError(f"window: expected two fractions (a, b), got {window!r}") from err
    if not (0.0 <= a < b < 1.0):
        raise ValueError(f"window: expected fractions with 0 <= a < b < 1, got {window!r}")
    if not adapt_covariance or num_warmup < MIN_WARMUP_FOR_COVARIANCE:
        return 0, 0
    start = int(math.floor(a * num_warmup))
    end = int(math.floor(b * num_warmup))
    end = min(max(end, start + 2), num_warmup - 1)
    if end - start < 2:
        return 0, 0
    return start, end


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
) -> tuple[Any, jax.Array, jax.Array, jax.Array]:
    """One Gaussian random-walk Metropolis–Hastings transition (Metropolis et al. 1953).

    Proposes ``z' = z + step_size * L @ eps`` with ``eps ~ N(0, I_d)`` (``L = diag(scale)``
    when ``scale`` is a vector) and accepts with probability
    ``min(1, exp(U(z) - U(z')))``. The proposal is symmetric so no Hastings correction is
    needed. Non-finite ``U(z')`` is rejected. Pure and jit/vmap-able.

    Args:
        rng_key: a PRNG key.
        z: pytree of floating arrays, the current unconstrained position (``d`` scalars in
            total).
        potential_energy: scalar, ``U(z)``.
        potential_fn: maps a pytree shaped like ``z`` to the scalar potential energy.
        step_size: scalar > 0.
        scale: ``(d,)`` per-coordinate scales or ``(d, d)`` lower-triangular factor ``L``.

    Returns:
        ``(z_new, potential_energy_new, accept_prob, accepted)``: the next position (same
        structure and dtypes as ``z``), its potential energy (default float dtype), the
        acceptance probability in [0, 1] and a bool telling whether the proposal was taken.
    """
    float_dtype = _float_dtype()
    z_flat, unravel = ravel_pytree(z)
    key_proposal, key_accept = random.split(rng_key)
    eps = random.normal(key_proposal, z_flat.shape, dtype=float_dtype)
    noise = scale @ eps if scale.ndim == 2 else scale * eps
    z_prop_flat = z_flat + (step_size * noise).astype(z_flat.dtype)
    z_prop = unravel(z_prop_flat)
    potential_energy = jnp.asarray(potential_energy, dtype=float_dtype)
    pe_prop = jnp.asarray(potential_fn(z_prop), dtype=float_dtype)
    log_ratio = potential_energy - pe_prop
    valid = jnp.isfinite(pe_prop) & ~jnp.isnan(log_ratio)
    log_accept = jnp.where(valid, jnp.minimum(log_ratio, 0.0), -jnp.inf)
    accept_prob = jnp.exp(log_accept)
    log_u = jnp.log(random.uniform(key_accept, dtype=float_dtype))
    accepted = log_u < log_accept
    z_new = jax.tree.map(lambda new, old: jnp.where(accepted, new, old), z_prop, z)
    pe_new = jnp.where(accepted, pe_prop, potential_energy)
    return z_new, pe_new, accept_prob, accepted


# --------------------------------------------------------------------------------------
# Layer 2: adaptive kernel on MHState
# --------------------------------------------------------------------------------------
def _dual_averaging_init(log_step_size, dtype) -> dict:
    x = jnp.asarray(log_step_size, dtype=dtype)
    return dict(
        log_step_size=x,
        log_step_size_avg=x,
        grad_avg=jnp.zeros((), dtype=dtype),
        da_count=jnp.zeros((), dtype=jnp.result_type(int)),
        prox_center=x,
    )


def mh_init(
    z: Any,
    potential_fn: Callable[[Any], jax.Array],
    rng_key: jax.Array,
    *,
    step_size: float = 0.1,
    dense_covariance: bool = False,
) -> MHState:
    """Initial :class:`MHState` at position ``z`` (one chain; ``vmap`` it for several).

    Args:
        z: pytree of floating arrays, initial unconstrained position (``d`` scalars).
        potential_fn: maps a pytree shaped like ``z`` to the scalar potential energy.
        rng_key: PRNG key stored in the state for the first transition.
        step_size: initial step size (> 0); the initial proposal is ``N(z, step_size^2 I)``.
        dense_covariance: if true the proposal scale is a ``(d, d)`` Cholesky factor,
            otherwise a ``(d,)`` vector.

    Returns:
        An :class:`MHState` with ``i = 0``, ``accept_prob = mean_accept_prob = 0``.

    Raises:
        ValueError: if ``step_size`` is not a finite number > 0 or ``z`` has no elements.
    """
    _check_step_size(step_size)
    dtype = _float_dtype()
    z_flat, _ = ravel_pytree(z)
    d = z_flat.shape[0]
    if d == 0:
        raise ValueError("z: expected at least one unconstrained parameter, got none")
    potential_energy = jnp.asarray(potential_fn(z), dtype=dtype)
    welford_init, _ = welford_covariance(diagonal=not dense_covariance)[:2]
    welford_state = welford_init(d)
    welford_state = (welford_state[0].astype(dtype), welford_state[1].astype(dtype),
                     welford_state[2])
    scale = jnp.eye(d, dtype=dtype) if dense_covariance else jnp.ones(d, dtype=dtype)
    step_size_arr = jnp.asarray(step_size, dtype=dtype)
    adapt_state = MHAdaptState(
        step_size=step_size_arr,
        welford_state=welford_state,
        scale=scale,
        **_dual_averaging_init(jnp.log(step_size_arr), dtype),
    )
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

    Returns:
        ``kernel(state: MHState, potential_fn) -> MHState``.

    Raises:
        ValueError: if ``target_accept_prob`` is not in (0, 1), ``num_warmup < 0`` or
            ``covariance_window`` is invalid.
    """
    num_warmup = _check_num_warmup(num_warmup)
    _check_target_accept_prob(target_accept_prob)
    cov_start, cov_end = covariance_window_bounds(
        num_warmup, adapt_covariance, covariance_window
    )
    do_cov = cov_end > cov_start
    _, welford_update, _ = welford_covariance(diagonal=not dense_covariance)

    def _switch_covariance(adapt: MHAdaptState) -> MHAdaptState:
        mean, m2, n = adapt.welford_state
        dtype = m2.dtype
        d = mean.shape[0]
        n_f = n.astype(dtype)
        cov = m2 / (n_f - 1.0)
        # Stan's regularisation: shrink towards 1e-3 * I with weight 5 / (n + 5).
        shrink = 1e-3 * (5.0 / (n_f + 5.0))
        factor = _RGG_SCALE**2 / d
        if dense_covariance:
            cov = (n_f / (n_f + 5.0)) * cov + shrink * jnp.eye(d, dtype=dtype)
            new_scale = jnp.linalg.cholesky(factor * cov)
        else:
            cov = (n_f / (n_f + 5.0)) * cov + shrink
            new_scale = jnp.sqrt(factor * cov)
        ok = jnp.all(jnp.isfinite(new_scale))
        scale = jnp.where(ok, new_scale, adapt.scale)
        adapt = adapt._replace(scale=scale)
        if adapt_step_size:
            # The 2.38^2/d scaling is already optimal for a Gaussian target: restart the
            # step-size adaptation from 1.
            one = jnp.ones((), dtype=adapt.step_size.dtype)
            adapt = adapt._replace(step_size=one, **_dual_averaging_init(0.0 * one, one.dtype))
        return adapt

    def _adapt(adapt: MHAdaptState, t, z, accept_prob) -> MHAdaptState:
        if adapt_step_size:
            dtype = adapt.grad_avg.dtype
            count = adapt.da_count + 1
            count_f = count.astype(dtype)
            g = jnp.asarray(target_accept_prob, dtype=dtype) - accept_prob.astype(dtype)
            grad_avg = (1.0 - 1.0 / (count_f + _DA_T0)) * adapt.grad_avg + g / (
                count_f + _DA_T0
            )
            x = adapt.prox_center - jnp.sqrt(count_f) / _DA_GAMMA * grad_avg
            x = jnp.clip(x, -_LOG_STEP_SIZE_BOUND, _LOG_STEP_SIZE_BOUND)
            weight = count_f ** (-_DA_KAPPA)
            x_avg = (1.0 - weight) * adapt.log_step_size_avg + weight * x
            adapt = adapt._replace(
                step_size=jnp.exp(x),
                log_step_size=x,
                log_step_size_avg=x_avg,
                grad_avg=grad_avg,
                da_count=count,
            )
        if do_cov:
            in_window = (t >= cov_start) & (t < cov_end)
            z_flat, _ = ravel_pytree(z)
            updated = welford_update(z_flat.astype(adapt.welford_state[0].dtype),
                                     adapt.welford_state)
            welford_state = jax.tree.map(
                lambda new, old: jnp.where(in_window, new, old), updated, adapt.welford_state
            )
            adapt = adapt._replace(welford_state=welford_state)
            adapt = lax.cond(t == cov_end - 1, _switch_covariance, identity, adapt)
        if adapt_step_size:
            final_step = jnp.exp(adapt.log_step_size_avg)
            adapt = adapt._replace(
                step_size=jnp.where(t == num_warmup - 1, final_step, adapt.step_size)
            )
        return adapt

    def kernel(state: MHState, potential_fn: Callable[[Any], jax.Array]) -> MHState:
        rng_key, key_transition = random.split(state.rng_key)
        adapt = state.adapt_state
        z, pe, accept_prob, _ = mh_transition(
            key_transition, state.z, state.potential_energy, potential_fn,
            adapt.step_size, adapt.scale,
        )
        t = state.i
        itr = t + 1
        # Running mean over warm-up, restarted for the retained draws.
        n = jnp.where(t < num_warmup, itr, itr - num_warmup).astype(accept_prob.dtype)
        mean_accept_prob = state.mean_accept_prob + (accept_prob - state.mean_accept_prob) / n
        if num_warmup > 0 and (adapt_step_size or do_cov):
            adapt = lax.cond(
                t < num_warmup,
                lambda a: _adapt(a, t, z, accept_prob),
                identity,
                adapt,
            )
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


# --------------------------------------------------------------------------------------
# Layer 3: NumPyro MCMCKernel
# --------------------------------------------------------------------------------------
class RandomWalkMH(MCMCKernel):
    """Adaptive Gaussian random-walk Metropolis–Hastings kernel for :class:`numpyro.infer.MCMC`.

    Gradient-free: only the potential energy is evaluated, once per iteration. Works with
    ``chain_method`` ``"sequential"``, ``"parallel"`` and ``"vectorized"`` (for vectorized
    chains :meth:`init` receives a batch of keys and ``vmap``-s the single-chain init and
    transition). See the module docstring for the algorithm and its references
    (Metropolis et al. 1953; Hastings 1970; Haario et al. 2001; Roberts, Gelman & Gilks
    1997; Andrieu & Thoms 2008). In IRL this is the PolicyWalk-style sampler of
    Ramachandran & Amir (2007) — but any NumPyro model with continuous latents works.

    The kernel keeps state (the compiled transition, ``postprocess_fn``) from its last
    :meth:`init`; build a new kernel for each :class:`~numpyro.infer.MCMC` object.

    Args:
        model: a NumPyro model (Python callable with ``numpyro.sample`` statements).
        potential_fn: alternatively, a function from an unconstrained pytree to the scalar
            potential energy (negative log density); then ``init_params`` must be passed to
            ``MCMC.run`` (with a leading axis ``C`` for several chains).
        step_size: initial proposal step size (> 0), in units of the unconstrained
            parameters while the proposal scale is the identity. With
            ``adapt_step_size=False`` it is used unchanged throughout.
        target_accept_prob: target acceptance probability in (0, 1) for the step-size
            adaptation; ``None`` picks :func:`default_target_accept_prob` of the number
            ``d`` of unconstrained scalars (0.44 for d = 1 ... 0.234 for d >= 5).
        adapt_step_size: adapt the step size during warm-up.
        adapt_covariance: adapt the proposal covariance during warm-up (needs
            ``num_warmup >= MIN_WARMUP_FOR_COVARIANCE``).
        dense_covariance: dense instead of diagonal proposal covariance (``O(d^2)`` memory
            and ``O(d^2)`` work per step).
        init_strategy: NumPyro init strategy for the model's latent sites
            (default :func:`numpyro.infer.init_to_uniform`).

    Raises:
        ValueError: if both or neither of ``model`` and ``potential_fn`` are given
            (message names ``model``/``potential_fn``), ``step_size`` is not a finite number
            > 0, or ``target_accept_prob`` is not in (0, 1).

    Example::

        kernel = RandomWalkMH(model)
        mcmc = MCMC(kernel, num_warmup=2000, num_samples=2000, num_chains=4,
                    chain_method="vectorized")
        mcmc.run(jax.random.key(0), data)
        mcmc.print_summary()
    """

    sample_field = "z"

    def __init__(
        self,
        model=None,
        potential_fn=None,
        *,
        step_size: float = 0.1,
        target_accept_prob: float | None = None,
        adapt_step_size: bool = True,
        adapt_covariance: bool = True,
        dense_covariance: bool = False,
        init_strategy=init_to_uniform,
    ):
        if model is None and potential_fn is None:
            raise ValueError("model, potential_fn: expected exactly one of them, got neither")
        if model is not None and potential_fn is not None:
            raise ValueError("model, potential_fn: expected exactly one of them, got both")
        if model is not None and not callable(model):
            raise ValueError(f"model: expected a callable NumPyro model, got {model!r}")
        if potential_fn is not None and not callable(potential_fn):
            raise ValueError(f"potential_fn: expected a callable, got {potential_fn!r}")
        _check_step_size(step_size)
        if target_accept_prob is not None:
            _check_target_accept_prob(target_accept_prob)
        self._model = model
        self._potential_fn = potential_fn
        self._step_size = step_size
        self._target_accept_prob = target_accept_prob
        self._adapt_step_size = bool(adapt_step_size)
        self._adapt_covariance = bool(adapt_covariance)
        self._dense_covariance = bool(dense_covariance)
        self._init_strategy = init_strategy
        # Set by init().
        self._potential_fn_gen = None
        self._postprocess_fn = None
        self._sample_fn = None
        self._resolved_target_accept_prob = target_accept_prob
        self._num_dims = None

    # ---- properties used by MCMC / ArviZ ---------------------------------------------
    @property
    def model(self):
        """The NumPyro model, or ``None`` when built from ``potential_fn``."""
        return self._model

    @property
    def default_fields(self) -> tuple[str, ...]:
        """Fields collected by default.

        ``("z", "diverging", "accept_prob", "potential_energy")``; ArviZ turns the last two
        into ``acceptance_rate`` and ``lp`` (= -potential_energy).
        """
        return ("z", "diverging", "accept_prob", "potential_energy")

    @property
    def target_accept_prob(self) -> float | None:
        """The target acceptance probability in use (resolved from ``d`` after :meth:`init`)."""
        return self._resolved_target_accept_prob

    @property
    def num_dims(self) -> int | None:
        """Number ``d`` of unconstrained scalar parameters (known after :meth:`init`)."""
        return self._num_dims

    def get_diagnostics_str(self, state: MHState) -> str:
        """Progress-bar text: mean acceptance probability and current step size."""
        return "acc. prob={:.2f}, step size={:.2e}".format(
            float(np.mean(state.mean_accept_prob)), float(np.mean(state.adapt_state.step_size))
        )

    def postprocess_fn(self, args, kwargs):
        """Function mapping unconstrained samples to constrained sites (plus deterministics).

        Args:
            args: model positional arguments (tuple).
            kwargs: model keyword arguments (dict).

        Returns:
            A callable ``z -> dict`` for models, the identity for a bare ``potential_fn``.
        """
        if self._postprocess_fn is None:
            return identity
        return self._postprocess_fn(*args, **(kwargs or {}))

    def _get_potential_fn(self, model_args, model_kwargs):
        if self._potential_fn_gen is not None:
            return self._potential_fn_gen(*model_args, **(model_kwargs or {}))
        return self._potential_fn

    # ---- MCMCKernel API ---------------------------------------------------------------
    def init(self, rng_key, num_warmup, init_params=None, model_args=(), model_kwargs=None):
        """Initialise the chain(s) and build the transition function.

        Args:
            rng_key: one PRNG key (single chain) or a batch of ``C`` keys (vectorized
                chains: shape ``(C, 2)`` for raw ``uint32`` keys, ``(C,)`` for typed keys).
            num_warmup: number of warm-up iterations ``W`` >= 0 (adaptation happens only
                during them).
            init_params: optional initial unconstrained position (pytree; leading axis
                ``C`` for vectorized chains). Required with ``potential_fn``. A NumPyro
                ``ParamInfo`` is accepted (its ``z`` is used).
            model_args: positional arguments of the model.
            model_kwargs: keyword arguments of the model.

        Returns:
            An :class:`MHState` (leaves with a leading ``C`` axis when vectorized).

        Raises:
            ValueError: if ``init_params`` is missing with ``potential_fn``, the position
                has no unconstrained parameters, or ``num_warmup < 0``.
            RuntimeError: (from NumPyro) if no valid initial parameters are found.
        """
        model_kwargs = {} if model_kwargs is None else model_kwargs
        vectorized = not is_prng_key(rng_key)
        if vectorized:
            rng_key, key_init_model = jnp.swapaxes(vmap(random.split)(rng_key), 0, 1)
        else:
            rng_key, key_init_model = random.split(rng_key)

        if self._model is not None:
            model_info = initialize_model(
                key_init_model,
                self._model,
                init_strategy=self._init_strategy,
                dynamic_args=True,
                model_args=model_args,
                model_kwargs=model_kwargs,
                validate_grad=False,
            )
            if init_params is None:
                init_params = model_info.param_info.z
            self._potential_fn_gen = model_info.potential_fn
            self._postprocess_fn = model_info.postprocess_fn
        elif init_params is None:
            raise ValueError(
                "init_params: a valid initial position must be given with potential_fn"
            )
        if isinstance(init_params, ParamInfo):
            init_params = init_params.z

        z_one = jax.tree.map(lambda x: x[0], init_params) if vectorized else init_params
        d = int(ravel_pytree(z_one)[0].shape[0])
        if d == 0:
            raise ValueError("init_params: expected at least one unconstrained parameter")
        self._num_dims = d
        target = self._target_accept_prob
        if target is None:
            target = default_target_accept_prob(d)
        self._resolved_target_accept_prob = float(target)

        kernel = build_kernel(
            num_warmup,
            target,
            adapt_step_size=self._adapt_step_size,
            adapt_covariance=self._adapt_covariance,
            dense_covariance=self._dense_covariance,
        )
        potential_fn = self._get_potential_fn(model_args, model_kwargs)
        step_size = self._step_size
        dense = self._dense_covariance

        def init_one(z, key):
            return mh_init(z, potential_fn, key, step_size=step_size, dense_covariance=dense)

        def sample_one(state, args, kwargs):
            return kernel(state, self._get_potential_fn(args, kwargs))

        if vectorized:
            state = vmap(init_one)(init_params, rng_key)
            self._sample_fn = vmap(sample_one, in_axes=(0, None, None))
        else:
            state = init_one(init_params, rng_key)
            self._sample_fn = sample_one
        return state

    def sample(self, state: MHState, model_args, model_kwargs) -> MHState:
        """One adaptive RW-MH transition from ``state`` (see :func:`build_kernel`).

        Args:
            state: current :class:`MHState` (batched when vectorized).
            model_args: positional model arguments.
            model_kwargs: keyword model arguments.

        Returns:
            The next :class:`MHState`.

        Raises:
            RuntimeError: if :meth:`init` has not been called.
        """
        if self._sample_fn is None:
            raise RuntimeError("RandomWalkMH.sample: call init() before sample()")
        return self._sample_fn(state, model_args, model_kwargs)

    def refresh(self, state: MHState, model_args, model_kwargs) -> MHState:
        """Recompute ``potential_energy`` at ``state.z`` for new model arguments.

        Used by composite (Gibbs-type) kernels when the conditioning values change.

        Args:
            state: current :class:`MHState` (single chain or batched).
            model_args: positional model arguments.
            model_kwargs: keyword model arguments.

        Returns:
            ``state`` with a refreshed ``potential_energy``.
        """
        pe_fn = self._get_potential_fn(model_args, model_kwargs)
        dtype = state.potential_energy.dtype
        if jnp.ndim(state.potential_energy) == 0:
            pe = jnp.asarray(pe_fn(state.z), dtype=dtype)
        else:
            pe = vmap(lambda z: jnp.asarray(pe_fn(z), dtype=dtype))(state.z)
        return state._replace(potential_energy=pe)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_sample_fn"] = None
        return state
