"""The Metropolis–Hastings accept step shared by every sampler of the package.

Every Metropolis–Hastings kernel here — the random walk over a NumPyro model's unconstrained
parameters, PolicyWalk (its sphere, adaptive and independence proposals), the Laplace
independence sampler and the particle moves of sequential Monte Carlo — ends the same way:
given ``log r = log π(x') − log π(x) + log q(x | x') − log q(x' | x)`` it accepts the proposal
with probability ``min(1, r)`` (Metropolis et al. 1953; Hastings 1970). This module is that step,
once, with one convention for what is not a number: a proposal whose log ratio is NaN, or that
the caller marks invalid (e.g. a potential of −∞), is rejected.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from bayesirl._typing import Array, PRNGKey

__all__ = ["log_uniform", "metropolis_accept", "select"]


def log_uniform(rng_key: PRNGKey, shape=(), dtype=None) -> Array:
    """``log U`` with ``U ~ Uniform(0, 1)``, the random number of :func:`metropolis_accept`.

    Args:
        rng_key: a PRNG key.
        shape: shape of the draw (e.g. (C,) for C chains).
        dtype: floating dtype (default: JAX's default float).

    Returns:
        ``shape`` array of ``log U`` (≤ 0).
    """
    dtype = jnp.result_type(float) if dtype is None else dtype
    return jnp.log(jax.random.uniform(rng_key, shape, dtype))


def metropolis_accept(log_ratio: Array, log_u: Array, valid: Array | bool = True
                      ) -> tuple[Array, Array]:
    """Accept or reject proposals with probability ``min(1, exp(log_ratio))``.

    ``log_ratio`` is the log Metropolis–Hastings ratio (target ratio times the Hastings
    correction); NaN, or ``valid`` False, means the proposal is rejected (acceptance
    probability 0). Pure and jit/vmap-compatible; all arguments broadcast.

    Args:
        log_ratio: (...) log acceptance ratios.
        log_u: (...) ``log U``, ``U ~ Uniform(0, 1)`` (:func:`log_uniform`).
        valid: (...) bool, proposals that may be accepted (e.g. a finite potential).

    Returns:
        ``(accept_prob, accepted)``: (...) acceptance probabilities in [0, 1] (the dtype of
        ``log_ratio``) and (...) bool decisions ``log_u < min(log_ratio, 0)``.
    """
    log_ratio = jnp.asarray(log_ratio)
    ok = jnp.asarray(valid) & ~jnp.isnan(log_ratio)
    log_accept = jnp.where(ok, jnp.minimum(log_ratio, 0.0), -jnp.inf)
    return jnp.exp(log_accept), jnp.asarray(log_u, log_accept.dtype) < log_accept


def select(accepted: Array, new: Any, old: Any) -> Any:
    """The pytree ``new`` where ``accepted`` and ``old`` elsewhere.

    ``accepted`` has the leading (batch) shape of the leaves, e.g. () for one chain or (C,)
    for C chains; it is broadcast over each leaf's trailing axes.

    Args:
        accepted: bool array of the leaves' leading shape.
        new, old: pytrees of the same structure.

    Returns:
        The selected pytree.
    """
    accepted = jnp.asarray(accepted)

    def pick(a, b):
        mask = accepted.reshape(accepted.shape + (1,) * (jnp.ndim(b) - accepted.ndim))
        return jnp.where(mask, a, b)

    return jax.tree.map(pick, new, old)
