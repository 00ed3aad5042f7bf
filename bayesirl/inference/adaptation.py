"""Warm-up adaptation of the Metropolis–Hastings samplers: the one place where proposals learn.

* the random-walk kernels (NumPyro models, PolicyWalk's adaptive proposal): dual averaging of
  the step size and a Welford covariance (below);
* the independence proposals (PolicyWalk's, fitted to a batch of chains): pooled moments,
  :func:`fit_gaussian` and a Robbins–Monro scale (:func:`robbins_monro_log_scale`).

Adaptation happens during warm-up only, so the kept draws come from a fixed, time-homogeneous
Metropolis–Hastings chain.

The step size is tuned on the log scale by the dual-averaging stochastic-approximation
scheme of Nesterov (2009) in the form of Hoffman & Gelman (2014, Algorithm 5), driven by
``target_accept_prob - accept_prob`` (a Robbins–Monro recursion in the sense of Andrieu &
Thoms 2008, Sec. 4-5). During the window of :func:`covariance_window_bounds` the chain's
states are accumulated with Welford's algorithm; at its end the proposal switches to
``L L^T = (2.38^2 / d) * Sigma_hat`` (Roberts, Gelman & Gilks 1997; Haario, Saksman &
Tamminen 2001) with the Stan-regularised sample covariance ``Sigma_hat``, and the step-size
adaptation restarts from 1. At the last warm-up iteration the step size is set to the
averaged iterate. ``d`` is the number of unconstrained scalar parameters.

The transition itself and the kernel built on this adaptation are in
:mod:`bayesirl.inference.random_walk`; the NumPyro wrapper in
:mod:`bayesirl.inference.random_walk_kernel`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.flatten_util import ravel_pytree
from numpyro.infer.hmc_util import welford_covariance
from numpyro.util import identity

__all__ = [
    "fit_gaussian",
    "moments_init",
    "moments_update",
    "robbins_monro_log_scale",
    "DEFAULT_COVARIANCE_WINDOW",
    "MIN_WARMUP_FOR_COVARIANCE",
    "MHAdaptState",
    "adapt_init",
    "build_adaptation",
    "covariance_window_bounds",
    "default_target_accept_prob",
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



class MHAdaptState(NamedTuple):
    """Warm-up adaptation state of :func:`build_kernel` (all leaves are JAX arrays).

    ``d`` is the length of the flattened unconstrained parameter vector. With vectorized
    chains every leaf has an extra leading axis of length ``C``.

    Attributes:
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
        sphere_welford: ``(mean (p,), m2 (p,), n)``, diagonal Welford accumulators of the
            polar coordinates ``(u, log ρ)`` of the sphere blocks (``p = Σ (F_b + 1)``; empty
            without sphere blocks).
        sphere_scale: ``(B, 2)`` angular and log-radius multipliers of the B sphere blocks'
            polar proposals (:func:`~bayesirl.inference.proposals.polar_proposal`); ones
            until the covariance switch.
    """

    step_size: jax.Array
    log_step_size: jax.Array
    log_step_size_avg: jax.Array
    grad_avg: jax.Array
    da_count: jax.Array
    prox_center: jax.Array
    welford_state: tuple
    scale: jax.Array
    sphere_welford: tuple = ()
    sphere_scale: jax.Array | None = None


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


def check_step_size(step_size) -> None:
    """Raise ``ValueError`` unless ``step_size`` is a finite number > 0 (tracers pass)."""
    value = _as_python_scalar(step_size, "step_size")
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError(f"step_size: expected a finite number > 0, got {value}")


def check_target_accept_prob(target_accept_prob) -> None:
    """Raise ``ValueError`` unless ``target_accept_prob`` is in (0, 1) (tracers pass)."""
    value = _as_python_scalar(target_accept_prob, "target_accept_prob")
    if value is not None and not (0.0 < value < 1.0):
        raise ValueError(
            f"target_accept_prob: expected a number in the open interval (0, 1), got {value}"
        )


def check_num_warmup(num_warmup) -> int:
    """Return ``num_warmup`` as an int; ``TypeError``/``ValueError`` unless an integer >= 0."""
    if isinstance(num_warmup, bool) or not isinstance(num_warmup, numbers.Integral):
        raise TypeError(f"num_warmup: expected a non-negative integer, got {num_warmup!r}")
    if num_warmup < 0:
        raise ValueError(f"num_warmup: expected a non-negative integer, got {num_warmup}")
    return int(num_warmup)


def float_dtype():
    """The default JAX floating dtype (float64 when x64 is enabled)."""
    return jnp.result_type(float)


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
    num_warmup = check_num_warmup(num_warmup)
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
# Adaptation state and its update
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


def polar_size(sphere_blocks: tuple[tuple[int, int], ...]) -> int:
    """Length ``p = Σ (F_b + 1)`` of the polar coordinates ``(u_b, log ρ_b)`` of the blocks."""
    return sum(size + 1 for _, size in sphere_blocks)


def polar_coordinates(z_flat: jax.Array, sphere_blocks) -> jax.Array:
    """``(p,)`` concatenated ``(u_b, log ρ_b)`` of the blocks ``x_b = ρ_b u_b`` of ``z_flat``."""
    parts = []
    for start, size in sphere_blocks:
        x = lax.dynamic_slice_in_dim(z_flat, start, size)
        rho = jnp.linalg.norm(x)
        parts += [x / rho, jnp.log(rho)[None]]
    return jnp.concatenate(parts) if parts else jnp.zeros((0,), z_flat.dtype)


def _sphere_scale(adapt: "MHAdaptState", sphere_blocks, num_dims: int) -> jax.Array:
    """``(B, 2)`` polar multipliers ``2.38/√d · (sd per tangent direction, sd of log ρ)``.

    The angular spread per tangent direction is ``√((Σ_i Var u_i) / (F − 1))`` (the total
    variance of a unit vector spread over its F − 1 tangent directions); both variances are
    Stan-regularised as the covariance is.
    """
    mean, m2, n = adapt.sphere_welford
    dtype = m2.dtype
    n_f = n.astype(dtype)
    var = (n_f / (n_f + 5.0)) * m2 / (n_f - 1.0) + 1e-3 * (5.0 / (n_f + 5.0))
    rows, offset = [], 0
    for _, size in sphere_blocks:
        angular = jnp.sum(var[offset:offset + size]) / max(size - 1, 1)
        rows.append(jnp.stack([jnp.sqrt(angular), jnp.sqrt(var[offset + size])]))
        offset += size + 1
    return (_RGG_SCALE / math.sqrt(num_dims)) * jnp.stack(rows)


def adapt_init(num_dims: int, step_size, *, dense_covariance: bool = False,
               dtype=None, sphere_blocks: tuple[tuple[int, int], ...] = ()) -> MHAdaptState:
    """Initial :class:`MHAdaptState`: step size ``step_size`` and an identity proposal scale.

    Args:
        num_dims: ``d``, the number of unconstrained scalar parameters (>= 1).
        step_size: initial step size, a scalar > 0.
        dense_covariance: if true the proposal scale is a ``(d, d)`` Cholesky factor,
            otherwise a ``(d,)`` vector of standard deviations.
        dtype: floating dtype of the state; default :func:`float_dtype`.
        sphere_blocks: static ``((start, F), ...)`` slices of the flat position moved by
            polar proposals.

    Returns:
        An :class:`MHAdaptState` with empty Welford accumulators.
    """
    dtype = float_dtype() if dtype is None else dtype
    welford_init = welford_covariance(diagonal=not dense_covariance)[0]
    mean, m2, n = welford_init(num_dims)
    scale = (jnp.eye(num_dims, dtype=dtype) if dense_covariance
             else jnp.ones(num_dims, dtype=dtype))
    step_size = jnp.asarray(step_size, dtype=dtype)
    p_mean, p_m2, p_n = welford_covariance(diagonal=True)[0](polar_size(sphere_blocks))
    return MHAdaptState(
        step_size=step_size,
        welford_state=(mean.astype(dtype), m2.astype(dtype), n),
        scale=scale,
        sphere_welford=(p_mean.astype(dtype), p_m2.astype(dtype), p_n),
        sphere_scale=jnp.ones((len(sphere_blocks), 2), dtype=dtype),
        **_dual_averaging_init(jnp.log(step_size), dtype),
    )


def _regularised_scale(adapt: MHAdaptState, dense_covariance: bool) -> jax.Array:
    """Proposal scale ``sqrt((2.38^2/d) Sigma_hat)`` from the Welford accumulators."""
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
        return jnp.linalg.cholesky(factor * cov)
    cov = (n_f / (n_f + 5.0)) * cov + shrink
    return jnp.sqrt(factor * cov)


def _dual_averaging_update(adapt: MHAdaptState, target_accept_prob, accept_prob):
    """One dual-averaging step of the log step size (Hoffman & Gelman 2014, Alg. 5)."""
    dtype = adapt.grad_avg.dtype
    count = adapt.da_count + 1
    count_f = count.astype(dtype)
    g = jnp.asarray(target_accept_prob, dtype=dtype) - accept_prob.astype(dtype)
    grad_avg = (1.0 - 1.0 / (count_f + _DA_T0)) * adapt.grad_avg + g / (count_f + _DA_T0)
    x = adapt.prox_center - jnp.sqrt(count_f) / _DA_GAMMA * grad_avg
    x = jnp.clip(x, -_LOG_STEP_SIZE_BOUND, _LOG_STEP_SIZE_BOUND)
    weight = count_f ** (-_DA_KAPPA)
    x_avg = (1.0 - weight) * adapt.log_step_size_avg + weight * x
    return adapt._replace(step_size=jnp.exp(x), log_step_size=x, log_step_size_avg=x_avg,
                          grad_avg=grad_avg, da_count=count)


def build_adaptation(
    num_warmup: int,
    target_accept_prob: float,
    *,
    adapt_step_size: bool = True,
    adapt_covariance: bool = True,
    dense_covariance: bool = False,
    covariance_window: tuple[float, float] = DEFAULT_COVARIANCE_WINDOW,
    sphere_blocks: tuple[tuple[int, int], ...] = (),
) -> Callable[[MHAdaptState, jax.Array, Any, jax.Array], MHAdaptState] | None:
    """Build the warm-up update ``update(adapt, t, z, accept_prob) -> adapt``.

    ``t`` is the index (``0 <= t < num_warmup``) of the warm-up transition just made, ``z``
    the chain's position after it and ``accept_prob`` its acceptance probability. Pure and
    jit/vmap-able; see the module docstring for the scheme.

    Args:
        num_warmup: number of warm-up iterations ``W`` >= 0.
        target_accept_prob: target mean acceptance probability in (0, 1).
        adapt_step_size: tune the step size.
        adapt_covariance: estimate the proposal covariance.
        dense_covariance: dense ``(d, d)`` rather than diagonal ``(d,)`` proposal scale.
        covariance_window: fractions of the warm-up, see :func:`covariance_window_bounds`.
        sphere_blocks: static ``((start, F), ...)`` slices moved by polar proposals; their
            polar coordinates are accumulated over the same window and set the angular and
            log-radius multipliers at the switch (:func:`_sphere_scale`).

    Returns:
        The update function, or ``None`` when nothing adapts (``num_warmup == 0`` or both
        adaptations off).

    Raises:
        ValueError: if ``target_accept_prob`` is not in (0, 1), ``num_warmup < 0`` or
            ``covariance_window`` is invalid.
    """
    num_warmup = check_num_warmup(num_warmup)
    check_target_accept_prob(target_accept_prob)
    cov_start, cov_end = covariance_window_bounds(num_warmup, adapt_covariance,
                                                  covariance_window)
    do_cov = cov_end > cov_start
    if num_warmup == 0 or not (adapt_step_size or do_cov):
        return None
    _, welford_update, _ = welford_covariance(diagonal=not dense_covariance)
    _, polar_update, _ = welford_covariance(diagonal=True)

    def switch_covariance(adapt: MHAdaptState) -> MHAdaptState:
        new_scale = _regularised_scale(adapt, dense_covariance)
        ok = jnp.all(jnp.isfinite(new_scale))
        adapt = adapt._replace(scale=jnp.where(ok, new_scale, adapt.scale))
        if sphere_blocks:
            d = adapt.welford_state[0].shape[0]
            new_sphere = _sphere_scale(adapt, sphere_blocks, d)
            ok = jnp.all(jnp.isfinite(new_sphere) & (new_sphere > 0))
            adapt = adapt._replace(sphere_scale=jnp.where(ok, new_sphere, adapt.sphere_scale))
        if adapt_step_size:
            # The 2.38^2/d scaling is already optimal for a Gaussian target: restart the
            # step-size adaptation from 1.
            one = jnp.ones((), dtype=adapt.step_size.dtype)
            adapt = adapt._replace(step_size=one, **_dual_averaging_init(0.0 * one, one.dtype))
        return adapt

    def update(adapt: MHAdaptState, t, z, accept_prob) -> MHAdaptState:
        if adapt_step_size:
            adapt = _dual_averaging_update(adapt, target_accept_prob, accept_prob)
        if do_cov:
            in_window = (t >= cov_start) & (t < cov_end)
            z_flat, _ = ravel_pytree(z)
            updated = welford_update(z_flat.astype(adapt.welford_state[0].dtype),
                                     adapt.welford_state)
            welford_state = jax.tree.map(
                lambda new, old: jnp.where(in_window, new, old), updated, adapt.welford_state
            )
            adapt = adapt._replace(welford_state=welford_state)
            if sphere_blocks:
                polar = polar_coordinates(z_flat, sphere_blocks).astype(welford_state[0].dtype)
                updated = polar_update(polar, adapt.sphere_welford)
                adapt = adapt._replace(sphere_welford=jax.tree.map(
                    lambda new, old: jnp.where(in_window, new, old), updated,
                    adapt.sphere_welford))
            adapt = lax.cond(t == cov_end - 1, switch_covariance, identity, adapt)
        if adapt_step_size:
            final_step = jnp.exp(adapt.log_step_size_avg)
            adapt = adapt._replace(
                step_size=jnp.where(t == num_warmup - 1, final_step, adapt.step_size)
            )
        return adapt

    return update


# --------------------------------------------------------------------------------------
# Pooled moments of a batch of chains (independence proposals)
# --------------------------------------------------------------------------------------
def moments_init(num_dims: int, dtype) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Empty pooled moments ``(Σ x (d,), Σ x xᵀ (d, d), n ())`` of chain states."""
    return (jnp.zeros(num_dims, dtype), jnp.zeros((num_dims, num_dims), dtype),
            jnp.zeros((), dtype))


def moments_update(moments, x: jax.Array, include) -> tuple:
    """Add the states ``x`` (C, d) of a batch of chains to the pooled moments when
    ``include`` (a traced bool) is true."""
    total, outer, n = moments
    add = jnp.where(include, 1.0, 0.0).astype(total.dtype)
    return total + add * x.sum(0), outer + add * (x.T @ x), n + add * x.shape[0]


def fit_gaussian(moments, inflation=1.0) -> tuple[jax.Array, jax.Array]:
    """Mean and scaled Cholesky factor of the (Stan-regularised) covariance of pooled moments.

    The covariance is shrunk towards ``1e-3 I`` with weight ``5 / (n + 5)`` (as Stan and the
    random-walk adaptation above do) and its Cholesky factor multiplied by ``inflation``.

    Args:
        moments: ``(Σ x, Σ x xᵀ, n)`` from :func:`moments_update`, n > 0.
        inflation: factor c >= 1 on the standard deviations.

    Returns:
        ``(mean (d,), chol (d, d))`` with ``chol cholᵀ = c² Σ̂``.
    """
    total, outer, n = moments
    dtype = total.dtype
    mean = total / n
    cov = outer / n - jnp.outer(mean, mean)
    eye = jnp.eye(mean.shape[0], dtype=dtype)
    cov = cov * (n / (n + 5.0)) + 1e-3 * (5.0 / (n + 5.0)) * eye
    return mean, inflation * jnp.linalg.cholesky(cov + 1e-9 * eye)


def robbins_monro_log_scale(log_scale, accept_rate, target_accept_prob, t, num_warmup):
    """One Robbins–Monro step of a proposal's log scale towards a target acceptance rate:
    ``log h + (accept − target) / √(1 + t)`` for ``0 < t < num_warmup``, unchanged otherwise
    (Andrieu & Thoms 2008, §5; the gain sequence 1/√(1+t) satisfies their conditions)."""
    dtype = jnp.asarray(log_scale).dtype
    gain = jnp.where((t > 0) & (t < num_warmup), 1.0 / jnp.sqrt(1.0 + t.astype(dtype)), 0.0)
    return log_scale + gain * (accept_rate - target_accept_prob)
